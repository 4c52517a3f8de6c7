// fialloc: Apache-2.0
#include "fialloc/bond.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "fialloc/errors.hpp"
#include "fialloc/flow_book.hpp"
#include "fialloc/lanes.hpp"
#include "fialloc/solver.hpp"
#include "fialloc/vexp.hpp"

namespace fialloc {

namespace {

constexpr double kXtol = 1e-15;
// A Halley step of size dx leaves an error of order C dx^3 (C a ratio of the price's
// derivatives, below 1e3 for bonds up to 100 years): after a step under 1e-8, below 1e-18.
constexpr double kHalleyStop = 1e-8;
constexpr int kMaxIter = 200;

void check_per_stream(const CashflowView& cf, ConstVecRef x, const char* where, const char* name) {
  FIALLOC_REQUIRE(x.size() == cf.n_streams(), where << ": `" << name << "` has " << x.size()
                                                     << " entries for " << cf.n_streams()
                                                     << " streams");
  for (Eigen::Index s = 0; s < x.size(); ++s) {
    FIALLOC_REQUIRE(std::isfinite(x[s]),
                    where << ": `" << name << "` of stream " << s << " is " << x[s]);
  }
}

void check_freq(const CashflowView& cf, ConstVecRef freq, const char* where) {
  check_per_stream(cf, freq, where, "freq");
  for (Eigen::Index s = 0; s < freq.size(); ++s) {
    FIALLOC_REQUIRE(freq[s] >= 0.0,
                    where << ": `freq` of stream " << s << " is " << freq[s]
                          << "; expected 0 (continuous) or a positive number per year");
  }
}

double yield_lower_bound(double f) { return f == 0.0 ? -1.0 : -0.5 * std::fmin(f, 1.0); }
constexpr double kYieldUpper = 5.0;

// Per-flow terms at continuous rate k (one per flow: its stream's): w = a e^{-k tau}, w tau and
// w tau^2.
FIALLOC_TARGET_CLONES void rate_terms(const double* __restrict tau, const double* __restrict a,
                                      const double* __restrict k, Eigen::Index n,
                                      double* __restrict w, double* __restrict wt,
                                      double* __restrict wtt) {
  for (Eigen::Index i = 0; i < n; ++i) w[i] = -k[i] * tau[i];
  exp_inplace(w, n);  // its intrinsics builds: the inline exp_value's table lookup runs scalar
  for (Eigen::Index i = 0; i < n; ++i) {
    const double x = w[i] * a[i];
    w[i] = x;
    wt[i] = x * tau[i];
    wtt[i] = wt[i] * tau[i];
  }
}

// {sum w, sum w tau, sum w tau (tau + c)} of the flows [o, o + n) of a rate_terms pass.
std::array<double, 3> stream_sums(const std::vector<double>& w, const std::vector<double>& wt,
                                  const std::vector<double>& wtt, Eigen::Index o, Eigen::Index n,
                                  double c) {
  const auto r = lane_sums<3>({w.data() + o, wt.data() + o, wtt.data() + o}, n);
  return {r[0], r[1], r[2] + c * r[1]};
}

/* A stream's price as a function of its rate x (a yield or a z-spread) through the continuous
   rate k(x): pv = sum a e^{-k tau}, dpv/dx = -sum a tau e^{-k tau} / base and
   d2pv/dx2 = sum a tau (tau + c) e^{-k tau} / base^2. A yield compounded f times a year has
   k = f ln(1 + y/f), base = 1 + y/f, c = 1/f; a continuous yield or a z-spread k = x, base = 1,
   c = 0. */
struct RateBasis {
  double k;
  double base;
  double c;
};
RateBasis continuous_basis(double x) { return {x, 1.0, 0.0}; }
RateBasis yield_basis_of(double y, double f) {
  if (f == 0.0) return continuous_basis(y);
  return {f * std::log1p(y / f), 1.0 + y / f, 1.0 / f};
}

/* Rates x_s in (lo_s, hi) with pv_s(x_s) = target_s for every stream. Streams go in chunks of
   at most 512 flows (their columns stay in cache); a chunk's streams take Halley steps together,
   one vectorized pass over the chunk's flows per step (one exponential per flow). A price is
   convex in its rate, so from x0 a few steps reach the root; a stream whose step leaves the
   bracket or has a derivative that is not positive, or that has not converged in 20 steps,
   goes to the bracketed Newton solver instead. `basis(s, x)` gives stream s's RateBasis; `fail`
   is called with a stream whose price no rate in its bracket reaches. */
template <class Basis, class Lo, class Fail>
VectorXd solve_rates(const CashflowView& cf, ConstVecRef targets, double x0, Lo&& lo, double hi,
                     Basis&& basis, Fail&& fail, const char* what) {
  constexpr Eigen::Index kChunk = 512;
  constexpr int kSteps = 20;
  const Eigen::Index ns = cf.n_streams();
  const auto width = static_cast<std::size_t>(std::max(kChunk, cf.max_stream_length()));
  std::vector<double> k(width), w(width), wt(width), wtt(width);
  VectorXd x = VectorXd::Constant(ns, x0);
  std::vector<char> state(static_cast<std::size_t>(ns), 0);  // 0 running, 1 done, 2 fallback
  std::vector<RateBasis> rbs(static_cast<std::size_t>(ns));
  for (Eigen::Index s0 = 0; s0 < ns;) {
    const Eigen::Index b = cf.begin(s0);
    Eigen::Index s1 = s0 + 1;
    while (s1 < ns && cf.end(s1) - b <= kChunk) ++s1;
    const Eigen::Index n = cf.end(s1 - 1) - b;
    for (int step = 0; step < kSteps; ++step) {
      bool running = false;
      for (Eigen::Index s = s0; s < s1; ++s) {
        const RateBasis rb = rbs[static_cast<std::size_t>(s)] = basis(s, x[s]);
        std::fill(k.begin() + (cf.begin(s) - b), k.begin() + (cf.end(s) - b), rb.k);
      }
      rate_terms(cf.times.data() + b, cf.amounts.data() + b, k.data(), n, w.data(), wt.data(),
                 wtt.data());
      for (Eigen::Index s = s0; s < s1; ++s) {
        auto& st = state[static_cast<std::size_t>(s)];
        if (st != 0) continue;
        const RateBasis& rb = rbs[static_cast<std::size_t>(s)];
        const auto [pv, pvt, pvtt] =
            stream_sums(w, wt, wtt, cf.begin(s) - b, cf.end(s) - cf.begin(s), rb.c);
        // g = target - pv increases in x: g' = pvt / base > 0, g'' = -pvtt / base^2.
        const double g = targets[s] - pv, dg = pvt / rb.base, d2g = -pvtt / (rb.base * rb.base);
        const double denom = 2.0 * dg * dg - g * d2g;
        const double dx = denom > 0.0 ? 2.0 * g * dg / denom : g / dg;
        if (!(dg > 0.0) || !std::isfinite(dx)) {
          st = 2;
          continue;
        }
        x[s] -= dx;
        if (!(x[s] > lo(s) && x[s] < hi)) {
          st = 2;
        } else if (std::fabs(dx) < (denom > 0.0 ? kHalleyStop : kXtol)) {
          st = 1;
        } else {
          running = true;
        }
      }
      if (!running) break;
    }
    for (Eigen::Index s = s0; s < s1; ++s) {
      if (state[static_cast<std::size_t>(s)] == 1) continue;
      const Eigen::Index bs = cf.begin(s), n_s = cf.end(s) - bs;
      auto fn = [&](double xx) {
        const RateBasis rb = basis(s, xx);
        std::fill(k.begin(), k.begin() + n_s, rb.k);
        rate_terms(cf.times.data() + bs, cf.amounts.data() + bs, k.data(), n_s, w.data(),
                   wt.data(), wtt.data());
        const auto r = lane_sums<2>({w.data(), wt.data()}, n_s);
        return std::make_pair(targets[s] - r[0], r[1] / rb.base);
      };
      try {
        x[s] = solve_bracketed_newton(fn, lo(s), hi, x0, kXtol, kMaxIter, what);
      } catch (const std::domain_error&) {
        fail(s);
      }
    }
    s0 = s1;
  }
  return x;
}

// The per-stream sums {pv, pv tau, pv tau (tau + c)} at each stream's own basis, one pass in
// chunks of at most 512 flows (as solve_rates).
template <class Basis>
void rate_sums(const CashflowView& cf, Basis&& basis, double* pv, double* pvt, double* pvtt) {
  constexpr Eigen::Index kChunk = 512;
  const Eigen::Index ns = cf.n_streams();
  const auto width = static_cast<std::size_t>(std::max(kChunk, cf.max_stream_length()));
  std::vector<double> k(width), w(width), wt(width), wtt(width);
  std::vector<RateBasis> rbs(width);  // a chunk has at most `width` streams
  for (Eigen::Index s0 = 0; s0 < ns;) {
    const Eigen::Index b = cf.begin(s0);
    Eigen::Index s1 = s0 + 1;
    while (s1 < ns && cf.end(s1) - b <= kChunk) ++s1;
    for (Eigen::Index s = s0; s < s1; ++s) {
      rbs[static_cast<std::size_t>(s - s0)] = basis(s);
      std::fill(k.begin() + (cf.begin(s) - b), k.begin() + (cf.end(s) - b),
                rbs[static_cast<std::size_t>(s - s0)].k);
    }
    rate_terms(cf.times.data() + b, cf.amounts.data() + b, k.data(), cf.end(s1 - 1) - b, w.data(),
               wt.data(), wtt.data());
    for (Eigen::Index s = s0; s < s1; ++s) {
      const auto r = stream_sums(w, wt, wtt, cf.begin(s) - b, cf.end(s) - cf.begin(s),
                                 rbs[static_cast<std::size_t>(s - s0)].c);
      pv[s] = r[0];
      if (pvt != nullptr) pvt[s] = r[1];
      if (pvtt != nullptr) pvtt[s] = r[2];
    }
    s0 = s1;
  }
}

}  // namespace

VectorXd discounted_flows(const CashflowView& cf, const ZeroCurve& curve, ConstVecRef z_spreads) {
  check_offsets(cf, "discounted_flows");
  return discounted_flows_on(cf, curve, flow_segments(cf, curve), z_spreads);
}

VectorXd price_streams(const CashflowView& cf, const ZeroCurve& curve, ConstVecRef z_spreads) {
  check_offsets(cf, "price_streams");
  return price_streams_on(cf, curve, flow_segments(cf, curve), z_spreads);
}

VectorXd z_spreads_from_prices(const CashflowView& cf, const ZeroCurve& curve, ConstVecRef prices) {
  check_per_stream(cf, prices, "z_spreads_from_prices", "prices");
  const VectorXd v = discounted_flows(cf, curve, VectorXd::Zero(cf.n_streams()));
  // pv(z) = sum v e^{-z t}, the flows discounted at zero spread.
  return solve_rates(
      CashflowView{cf.offsets, cf.times, v}, prices, 0.0, [](Eigen::Index) { return -1.0; }, 5.0,
      [](Eigen::Index, double zz) { return continuous_basis(zz); },
      [&](Eigen::Index s) {
        std::ostringstream os;
        os << "z_spreads_from_prices: price " << prices[s] << " of stream " << s
           << " implies a z-spread outside [-100%, 500%]";
        throw std::domain_error(os.str());
      },
      "z_spreads_from_prices");
}

VectorXd prices_from_yields(const CashflowView& ycf, ConstVecRef freq, ConstVecRef yields) {
  check_layout(ycf, "prices_from_yields");
  return prices_from_yields_valid(ycf, freq, yields);
}

VectorXd prices_from_yields_valid(const CashflowView& ycf, ConstVecRef freq, ConstVecRef yields) {
  check_freq(ycf, freq, "prices_from_yields");
  check_per_stream(ycf, yields, "prices_from_yields", "yields");
  for (Eigen::Index s = 0; s < ycf.n_streams(); ++s) {
    FIALLOC_REQUIRE(yields[s] > yield_lower_bound(freq[s]),
                    "prices_from_yields: `yields` of stream " << s << " is " << yields[s]
                                                              << ", below the compounding floor");
  }
  VectorXd pv(ycf.n_streams());
  rate_sums(ycf, [&](Eigen::Index s) { return yield_basis_of(yields[s], freq[s]); }, pv.data(),
            nullptr, nullptr);
  return pv;
}

VectorXd yields_from_prices(const CashflowView& ycf, ConstVecRef freq, ConstVecRef prices) {
  check_layout(ycf, "yields_from_prices");
  return yields_from_prices_valid(ycf, freq, prices);
}

VectorXd yields_from_prices_valid(const CashflowView& ycf, ConstVecRef freq, ConstVecRef prices) {
  check_freq(ycf, freq, "yields_from_prices");
  check_per_stream(ycf, prices, "yields_from_prices", "prices");
  auto lo = [&](Eigen::Index s) { return yield_lower_bound(freq[s]) * 0.999; };
  return solve_rates(
      ycf, prices, 0.05, lo, kYieldUpper,
      [&](Eigen::Index s, double y) { return yield_basis_of(y, freq[s]); },
      [&](Eigen::Index s) {
        std::ostringstream os;
        os << "yields_from_prices: price " << prices[s] << " of stream " << s
           << " implies a yield outside [" << lo(s) << ", " << kYieldUpper << "]";
        throw std::domain_error(os.str());
      },
      "yields_from_prices");
}

YieldRisk yield_risk(const CashflowView& ycf, ConstVecRef freq, ConstVecRef yields) {
  check_layout(ycf, "yield_risk");
  return yield_risk_valid(ycf, freq, yields);
}

YieldRisk yield_risk_valid(const CashflowView& ycf, ConstVecRef freq, ConstVecRef yields) {
  check_freq(ycf, freq, "yield_risk");
  check_per_stream(ycf, yields, "yield_risk", "yields");
  const Eigen::Index n = ycf.n_streams();
  for (Eigen::Index s = 0; s < n; ++s) {
    FIALLOC_REQUIRE(yields[s] > yield_lower_bound(freq[s]), "yield_risk: `yields` of stream "
                                                                << s << " is " << yields[s]
                                                                << ", below the compounding floor");
  }
  VectorXd p(n), pt(n), ptt(n);
  auto basis = [&](Eigen::Index s) { return yield_basis_of(yields[s], freq[s]); };
  rate_sums(ycf, basis, p.data(), pt.data(), ptt.data());
  YieldRisk r{VectorXd(n), VectorXd(n), VectorXd(n)};
  for (Eigen::Index s = 0; s < n; ++s) {
    const double base = basis(s).base;
    r.macaulay[s] = pt[s] / p[s];
    r.modified[s] = pt[s] / p[s] / base;
    r.convexity[s] = ptt[s] / p[s] / (base * base);
  }
  return r;
}

}  // namespace fialloc
