// fialloc: Apache-2.0
#include "fialloc/bond.hpp"

#include <cmath>

#include "fialloc/errors.hpp"
#include "fialloc/flow_book.hpp"
#include "fialloc/solver.hpp"

namespace fialloc {

namespace {

constexpr double kXtol = 1e-15;
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

// Yield y compounded f times a year (f == 0: continuously) discounts time tau by exp(-k tau),
// and d/dy of that is -tau exp(-k tau) / base. Computed once per yield, not per flow.
struct YieldBasis {
  double k;
  double base;
};
inline YieldBasis yield_basis(double y, double f) {
  if (f == 0.0) return {y, 1.0};
  return {f * std::log1p(y / f), 1.0 + y / f};
}

double yield_lower_bound(double f) { return f == 0.0 ? -1.0 : -0.5 * std::fmin(f, 1.0); }
constexpr double kYieldUpper = 5.0;

}  // namespace

VectorXd discounted_flows(const CashflowView& cf, const ZeroCurve& curve, ConstVecRef z_spreads) {
  check_offsets(cf, "discounted_flows");
  return discounted_flows_on(cf, curve, flow_segments(cf, curve).data(), z_spreads);
}

VectorXd price_streams(const CashflowView& cf, const ZeroCurve& curve, ConstVecRef z_spreads) {
  check_offsets(cf, "price_streams");
  return price_streams_on(cf, curve, flow_segments(cf, curve).data(), z_spreads);
}

VectorXd z_spreads_from_prices(const CashflowView& cf, const ZeroCurve& curve, ConstVecRef prices) {
  check_per_stream(cf, prices, "z_spreads_from_prices", "prices");
  const VectorXd v = discounted_flows(cf, curve, VectorXd::Zero(cf.n_streams()));
  VectorXd z(cf.n_streams());
  for (Eigen::Index s = 0; s < cf.n_streams(); ++s) {
    const Eigen::Index b = cf.begin(s), e = cf.end(s);
    const double target = prices[s];
    auto fn = [&](double zz) {
      double pv = 0.0, dpv = 0.0;
      for (Eigen::Index i = b; i < e; ++i) {
        const double w = v[i] * std::exp(-zz * cf.times[i]);
        pv += w;
        dpv -= cf.times[i] * w;
      }
      // Decreasing in z; solve target - pv(z) = 0, which increases.
      return std::make_pair(target - pv, -dpv);
    };
    try {
      z[s] = solve_bracketed_newton(fn, -1.0, 5.0, 0.0, kXtol, kMaxIter, "z_spreads_from_prices");
    } catch (const std::domain_error&) {
      std::ostringstream os;
      os << "z_spreads_from_prices: price " << target << " of stream " << s
         << " implies a z-spread outside [-100%, 500%]";
      throw std::domain_error(os.str());
    }
  }
  return z;
}

VectorXd prices_from_yields(const CashflowView& ycf, ConstVecRef freq, ConstVecRef yields) {
  check_layout(ycf, "prices_from_yields");
  check_freq(ycf, freq, "prices_from_yields");
  check_per_stream(ycf, yields, "prices_from_yields", "yields");
  VectorXd pv(ycf.n_streams());
  for (Eigen::Index s = 0; s < ycf.n_streams(); ++s) {
    FIALLOC_REQUIRE(yields[s] > yield_lower_bound(freq[s]),
                    "prices_from_yields: `yields` of stream " << s << " is " << yields[s]
                                                              << ", below the compounding floor");
    const YieldBasis yb = yield_basis(yields[s], freq[s]);
    double p = 0.0;
    for (Eigen::Index i = ycf.begin(s); i < ycf.end(s); ++i) {
      p += ycf.amounts[i] * std::exp(-yb.k * ycf.times[i]);
    }
    pv[s] = p;
  }
  return pv;
}

VectorXd yields_from_prices(const CashflowView& ycf, ConstVecRef freq, ConstVecRef prices) {
  check_layout(ycf, "yields_from_prices");
  check_freq(ycf, freq, "yields_from_prices");
  check_per_stream(ycf, prices, "yields_from_prices", "prices");
  VectorXd y(ycf.n_streams());
  for (Eigen::Index s = 0; s < ycf.n_streams(); ++s) {
    const Eigen::Index b = ycf.begin(s), e = ycf.end(s);
    const double f = freq[s];
    const double target = prices[s];
    auto fn = [&](double yy) {
      const YieldBasis yb = yield_basis(yy, f);
      double pv = 0.0, pvt = 0.0;
      for (Eigen::Index i = b; i < e; ++i) {
        const double w = ycf.amounts[i] * std::exp(-yb.k * ycf.times[i]);
        pv += w;
        pvt += w * ycf.times[i];
      }
      return std::make_pair(target - pv, pvt / yb.base);
    };
    const double lo = yield_lower_bound(f) * 0.999;
    try {
      y[s] = solve_bracketed_newton(fn, lo, kYieldUpper, 0.05, kXtol, kMaxIter, "yields_from_prices");
    } catch (const std::domain_error&) {
      std::ostringstream os;
      os << "yields_from_prices: price " << target << " of stream " << s
         << " implies a yield outside [" << lo << ", " << kYieldUpper << "]";
      throw std::domain_error(os.str());
    }
  }
  return y;
}

YieldRisk yield_risk(const CashflowView& ycf, ConstVecRef freq, ConstVecRef yields) {
  check_layout(ycf, "yield_risk");
  check_freq(ycf, freq, "yield_risk");
  check_per_stream(ycf, yields, "yield_risk", "yields");
  const Eigen::Index n = ycf.n_streams();
  YieldRisk r{VectorXd(n), VectorXd(n), VectorXd(n)};
  for (Eigen::Index s = 0; s < n; ++s) {
    const double f = freq[s], y = yields[s];
    FIALLOC_REQUIRE(y > yield_lower_bound(f), "yield_risk: `yields` of stream "
                                                  << s << " is " << y
                                                  << ", below the compounding floor");
    const YieldBasis yb = yield_basis(y, f);
    double p = 0.0, pt = 0.0, ptt = 0.0;
    for (Eigen::Index i = ycf.begin(s); i < ycf.end(s); ++i) {
      const double tau = ycf.times[i];
      const double w = ycf.amounts[i] * std::exp(-yb.k * tau);
      p += w;
      pt += w * tau;
      // d2/dy2 of (1+y/f)^(-f tau) = tau (tau + 1/f) (1+y/f)^(-f tau - 2); continuous: tau^2 e^{-y tau}
      ptt += w * tau * (f == 0.0 ? tau : tau + 1.0 / f);
    }
    r.macaulay[s] = pt / p;
    r.modified[s] = pt / p / yb.base;
    r.convexity[s] = ptt / p / (yb.base * yb.base);
  }
  return r;
}

}  // namespace fialloc
