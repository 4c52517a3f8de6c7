// fialloc: Apache-2.0
#include "fialloc/g2.hpp"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <vector>

#include "fialloc/errors.hpp"
#include "fialloc/parallel.hpp"
#include "fialloc/rng.hpp"
#include "fialloc/g2_calibration.hpp"
#include "fialloc/vexp.hpp"

namespace fialloc {

namespace {

double b_fn(double k, double tau) { return -std::expm1(-k * tau) / k; }

constexpr double kMaxReversion = 100.0;
constexpr double kMinVol = 1e-6;
constexpr double kMaxVol = 1.0;

void check_grid(ConstVecRef times, const char* where, const char* name, bool allow_zero) {
  FIALLOC_REQUIRE(times.size() >= 1, where << ": `" << name << "` is empty");
  for (Eigen::Index i = 0; i < times.size(); ++i) {
    const double lo = i == 0 ? 0.0 : times[i - 1];
    const bool ok = std::isfinite(times[i]) && (times[i] > lo || (allow_zero && i == 0 && times[i] == 0.0));
    FIALLOC_REQUIRE(ok, where << ": `" << name << "` must be finite, "
                              << (allow_zero ? "non-negative" : "positive")
                              << " and strictly increasing; entry " << i << " is " << times[i]);
  }
}

void check_finite(ConstVecRef v, Eigen::Index n, const char* where, const char* name) {
  FIALLOC_REQUIRE(v.size() == n, where << ": `" << name << "` has " << v.size() << " entries, expected "
                                       << n);
  for (Eigen::Index i = 0; i < n; ++i) {
    FIALLOC_REQUIRE(std::isfinite(v[i]), where << ": `" << name << "` entry " << i << " is " << v[i]);
  }
}

}  // namespace

void check_g2(const G2Params& p, const char* where) {
  // Ranges any rate model of a real market lies in (mean reversion up to 100 a year, normal
  // volatility from 1e-6 (0.01 bp) to 1 (10,000 bp) a year); outside them the formulas lose
  // every digit or the root searches run for ever.
  FIALLOC_REQUIRE(std::isfinite(p.a) && p.a > 0.0 && p.a <= kMaxReversion,
                  where << ": `a` (mean reversion of x) must be in (0, 100], got " << p.a);
  FIALLOC_REQUIRE(std::isfinite(p.sigma) && p.sigma >= kMinVol && p.sigma <= kMaxVol,
                  where << ": `sigma` (volatility of x) must be in [1e-6, 1], got " << p.sigma);
  FIALLOC_REQUIRE(std::isfinite(p.b) && p.b > 0.0 && p.b <= kMaxReversion,
                  where << ": `b` (mean reversion of y) must be in (0, 100], got " << p.b);
  FIALLOC_REQUIRE(std::isfinite(p.eta) && p.eta >= kMinVol && p.eta <= kMaxVol,
                  where << ": `eta` (volatility of y) must be in [1e-6, 1], got " << p.eta);
  FIALLOC_REQUIRE(std::isfinite(p.rho) && p.rho > -1.0 && p.rho < 1.0,
                  where << ": `rho` must be in (-1, 1), got " << p.rho);
}

double g2_v(const G2Params& p, double tau) {
  const double a = p.a, b = p.b;
  const double ea = std::exp(-a * tau), eb = std::exp(-b * tau), eab = std::exp(-(a + b) * tau);
  const double vx = p.sigma * p.sigma / (a * a) * (tau + 2.0 / a * ea - 0.5 / a * ea * ea - 1.5 / a);
  const double vy = p.eta * p.eta / (b * b) * (tau + 2.0 / b * eb - 0.5 / b * eb * eb - 1.5 / b);
  const double vxy = 2.0 * p.rho * p.sigma * p.eta / (a * b) *
                     (tau + (ea - 1.0) / a + (eb - 1.0) / b - (eab - 1.0) / (a + b));
  return vx + vy + vxy;
}

G2Paths simulate_g2(const G2Params& p, ConstVecRef times, ConstVecRef log_dfs,
                    std::int64_t first_path, std::int64_t n_paths, std::uint64_t seed,
                    bool antithetic, int threads) {
  const char* where = "simulate_g2";
  check_g2(p, where);
  check_grid(times, where, "times", false);
  check_finite(log_dfs, times.size(), where, "log_dfs");
  FIALLOC_REQUIRE(n_paths >= 1 && n_paths <= (std::int64_t{1} << 40),
                  where << ": `n_paths` must be positive, got " << n_paths);
  FIALLOC_REQUIRE(first_path >= 0 && first_path <= (std::int64_t{1} << 48),
                  where << ": `first_path` must be >= 0, got " << first_path);
  const Eigen::Index nt = times.size();

  // Per step: mean-reversion factors and the Cholesky factor of the joint Gaussian of
  // (x, y, integral of x, integral of y) increments.
  std::vector<Eigen::Matrix4d> chol(static_cast<std::size_t>(nt));
  std::vector<std::array<double, 4>> decay(static_cast<std::size_t>(nt));
  std::vector<double> drift(static_cast<std::size_t>(nt));
  const double a = p.a, b = p.b, s = p.sigma, e = p.eta, r = p.rho;
  for (Eigen::Index k = 0; k < nt; ++k) {
    const double dt = times[k] - (k == 0 ? 0.0 : times[k - 1]);
    const double ea = std::exp(-a * dt), eb = std::exp(-b * dt);
    const double ia = b_fn(a, dt), ib = b_fn(b, dt), iab = b_fn(a + b, dt);
    const double i2a = b_fn(2.0 * a, dt), i2b = b_fn(2.0 * b, dt);
    Eigen::Matrix4d c;
    c(0, 0) = s * s * i2a;
    c(1, 1) = e * e * i2b;
    c(2, 2) = s * s / (a * a) * (dt - 2.0 * ia + i2a);
    c(3, 3) = e * e / (b * b) * (dt - 2.0 * ib + i2b);
    c(0, 1) = r * s * e * iab;
    c(0, 2) = s * s / a * (ia - i2a);
    c(0, 3) = r * s * e / b * (ia - iab);
    c(1, 2) = r * s * e / a * (ib - iab);
    c(1, 3) = e * e / b * (ib - i2b);
    c(2, 3) = r * s * e / (a * b) * (dt - ia - ib + iab);
    c = c.selfadjointView<Eigen::Upper>();
    Eigen::LLT<Eigen::Matrix4d> llt(c);
    if (llt.info() != Eigen::Success) {
      std::ostringstream os;
      os << where << ": step " << k << " (" << dt << " years) has a singular covariance; "
         << "check the grid and parameters";
      throw std::domain_error(os.str());
    }
    chol[static_cast<std::size_t>(k)] = llt.matrixL();
    decay[static_cast<std::size_t>(k)] = {ea, eb, ia, ib};
    drift[static_cast<std::size_t>(k)] = log_dfs[k] - 0.5 * g2_v(p, times[k]);
  }

  G2Paths out{RowMatrixXd(n_paths, nt), RowMatrixXd(n_paths, nt), RowMatrixXd(n_paths, nt)};
  const Philox rng(seed);
  parallel_for(n_paths, threads, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t row = lo; row < hi; ++row) {
      const std::int64_t path = first_path + row;
      const std::uint64_t key = antithetic ? static_cast<std::uint64_t>(path) / 2
                                           : static_cast<std::uint64_t>(path);
      const double sign = (antithetic && (path % 2 == 1)) ? -1.0 : 1.0;
      double x = 0.0, y = 0.0, ix = 0.0, iy = 0.0;
      for (Eigen::Index k = 0; k < nt; ++k) {
        const auto step = static_cast<std::uint32_t>(k);
        const auto lo32 = static_cast<std::uint32_t>(key), hi32 = static_cast<std::uint32_t>(key >> 32);
        const auto z01 = rng.normals({step, lo32, hi32, 0u});
        const auto z23 = rng.normals({step, lo32, hi32, 1u});
        const Eigen::Vector4d z(sign * z01[0], sign * z01[1], sign * z23[0], sign * z23[1]);
        const Eigen::Vector4d eps = chol[static_cast<std::size_t>(k)] * z;
        const auto& d = decay[static_cast<std::size_t>(k)];
        ix += x * d[2] + eps[2];
        iy += y * d[3] + eps[3];
        x = x * d[0] + eps[0];
        y = y * d[1] + eps[1];
        out.x(row, k) = x;
        out.y(row, k) = y;
        out.discount(row, k) = std::exp(drift[static_cast<std::size_t>(k)] - ix - iy);
      }
    }
  });
  return out;
}

RowMatrixXd g2_zero_bonds(const G2Params& p, double t, double log_df_t, ConstVecRef maturities,
                          ConstVecRef log_df_T, ConstVecRef x, ConstVecRef y) {
  const char* where = "g2_zero_bonds";
  check_g2(p, where);
  FIALLOC_REQUIRE(std::isfinite(t) && t >= 0.0, where << ": `t` must be >= 0 years, got " << t);
  FIALLOC_REQUIRE(std::isfinite(log_df_t), where << ": `log_df_t` is " << log_df_t);
  check_finite(log_df_T, maturities.size(), where, "log_df_T");
  check_finite(y, x.size(), where, "y");
  check_finite(x, x.size(), where, "x");
  const Eigen::Index m = maturities.size();
  Eigen::ArrayXd ln_a(m), ba(m), bb(m);
  for (Eigen::Index j = 0; j < m; ++j) {
    const double tau = maturities[j] - t;
    FIALLOC_REQUIRE(std::isfinite(tau) && tau >= 0.0,
                    where << ": maturity " << j << " (" << maturities[j] << ") is before t = " << t);
    ln_a[j] = log_df_T[j] - log_df_t + 0.5 * (g2_v(p, tau) - g2_v(p, maturities[j]) + g2_v(p, t));
    ba[j] = b_fn(p.a, tau);
    bb[j] = b_fn(p.b, tau);
  }
  RowMatrixXd out(x.size(), m);
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    out.row(i) = (ln_a - ba * x[i] - bb * y[i]).exp().matrix().transpose();
  }
  return out;
}

RowMatrixXd g2_revalue(const G2Params& p, const CashflowView& cf, ConstVecRef log_df_flows,
                       ConstVecRef z_spreads, ConstVecRef horizons, ConstVecRef log_df_h,
                       ConstMatRef x, ConstMatRef y, ConstVecRef weights, ConstIdxRef groups,
                       ConstMatRef spread_moves, int threads) {
  const char* where = "g2_revalue";
  check_g2(p, where);
  check_layout(cf, where);
  const Eigen::Index nf = cf.times.size(), ns = cf.n_streams(), nh = horizons.size();
  check_finite(log_df_flows, nf, where, "log_df_flows");
  check_finite(z_spreads, ns, where, "z_spreads");
  check_grid(horizons, where, "horizons", true);
  check_finite(log_df_h, nh, where, "log_df_h");
  FIALLOC_REQUIRE(x.cols() == nh && y.cols() == nh && x.rows() == y.rows(),
                  where << ": `x` and `y` must both be paths x " << nh << " horizons, got "
                        << x.rows() << "x" << x.cols() << " and " << y.rows() << "x" << y.cols());
  FIALLOC_REQUIRE(x.allFinite() && y.allFinite(), where << ": `x` and `y` must be finite");
  const bool aggregate = weights.size() > 0;
  if (aggregate) check_finite(weights, ns, where, "weights");
  const Eigen::Index np = x.rows();
  const bool moves = groups.size() > 0;
  Eigen::Index ng = 0;
  if (moves) {
    FIALLOC_REQUIRE(groups.size() == ns, where << ": `groups` has " << groups.size()
                                               << " entries for " << ns << " streams");
    ng = nh > 0 ? spread_moves.cols() / nh : 0;
    FIALLOC_REQUIRE(spread_moves.rows() == np && ng >= 1 && spread_moves.cols() == nh * ng,
                    where << ": `spread_moves` must be paths x (horizons * groups), got "
                          << spread_moves.rows() << "x" << spread_moves.cols());
    FIALLOC_REQUIRE(spread_moves.allFinite(), where << ": `spread_moves` must be finite");
    for (Eigen::Index s = 0; s < ns; ++s) {
      FIALLOC_REQUIRE(groups[s] >= -1 && groups[s] < ng,
                      where << ": `groups` of stream " << s << " is " << groups[s]
                            << "; expected -1 or 0.." << (ng - 1));
    }
  }

  // Per horizon, only the flows still to come (a suffix of each stream, since times are sorted):
  // ln of the deterministic part of P(h, t_i), the factor loadings and the (weighted) amount,
  // packed contiguously with each stream's range.
  struct Packed {
    Eigen::ArrayXd ln_a, ba, bb, amt, tau;
    std::vector<Eigen::Index> start;  // ns + 1 offsets into the packed arrays
  };
  std::vector<Packed> packed(static_cast<std::size_t>(nh));
  for (Eigen::Index h = 0; h < nh; ++h) {
    const double th = horizons[h], vh = g2_v(p, th);
    Packed& pk = packed[static_cast<std::size_t>(h)];
    pk.start.assign(static_cast<std::size_t>(ns) + 1, 0);
    std::vector<Eigen::Index> first(static_cast<std::size_t>(ns));
    Eigen::Index count = 0;
    for (Eigen::Index s = 0; s < ns; ++s) {
      Eigen::Index i = cf.begin(s);
      while (i < cf.end(s) && cf.times[i] <= th) ++i;
      first[static_cast<std::size_t>(s)] = i;
      pk.start[static_cast<std::size_t>(s)] = count;
      count += cf.end(s) - i;
    }
    pk.start[static_cast<std::size_t>(ns)] = count;
    pk.ln_a.resize(count);
    pk.ba.resize(count);
    pk.bb.resize(count);
    pk.amt.resize(count);
    pk.tau.resize(count);
    for (Eigen::Index s = 0; s < ns; ++s) {
      const double scale = aggregate ? weights[s] : 1.0;
      Eigen::Index k = pk.start[static_cast<std::size_t>(s)];
      for (Eigen::Index i = first[static_cast<std::size_t>(s)]; i < cf.end(s); ++i, ++k) {
        const double tau = cf.times[i] - th;
        pk.ln_a[k] = log_df_flows[i] - log_df_h[h] +
                     0.5 * (g2_v(p, tau) - g2_v(p, cf.times[i]) + vh) - z_spreads[s] * tau;
        pk.ba[k] = b_fn(p.a, tau);
        pk.bb[k] = b_fn(p.b, tau);
        pk.amt[k] = cf.amounts[i] * scale;
        pk.tau[k] = tau;
      }
    }
  }
  RowMatrixXd out(np, aggregate ? nh : nh * ns);
  parallel_for(np, threads, [&](std::int64_t lo, std::int64_t hi) {
    Eigen::ArrayXd buf;
    for (std::int64_t path = lo; path < hi; ++path) {
      for (Eigen::Index h = 0; h < nh; ++h) {
        const Packed& pk = packed[static_cast<std::size_t>(h)];
        buf = pk.ln_a - pk.ba * x(path, h) - pk.bb * y(path, h);
        if (moves) {
          for (Eigen::Index s = 0; s < ns; ++s) {
            if (groups[s] < 0) continue;
            const double ds = spread_moves(path, h * ng + groups[s]);
            const Eigen::Index b0 = pk.start[static_cast<std::size_t>(s)];
            const Eigen::Index len = pk.start[static_cast<std::size_t>(s) + 1] - b0;
            buf.segment(b0, len) -= ds * pk.tau.segment(b0, len);
          }
        }
        exp_inplace(buf.data(), buf.size());
        buf *= pk.amt;
        if (aggregate) {
          out(path, h) = buf.sum();
        } else {
          for (Eigen::Index s = 0; s < ns; ++s) {
            const Eigen::Index b0 = pk.start[static_cast<std::size_t>(s)];
            out(path, h * ns + s) = buf.segment(b0, pk.start[static_cast<std::size_t>(s) + 1] - b0).sum();
          }
        }
      }
    }
  });
  return out;
}

RowMatrixXd g2_factor_normals(std::uint64_t seed, std::int64_t first_path, std::int64_t n_paths,
                              std::int64_t n_steps, std::int64_t n_factors, bool antithetic) {
  const char* where = "g2_factor_normals";
  FIALLOC_REQUIRE(n_paths >= 1 && n_steps >= 1 && n_factors >= 1 && n_factors <= 1000 &&
                      n_steps <= (std::int64_t{1} << 31) && first_path >= 0 &&
                      first_path <= (std::int64_t{1} << 48),  // first_path + row must not overflow
                  where << ": bad sizes (paths " << n_paths << ", steps " << n_steps << ", factors "
                        << n_factors << ", first path " << first_path << ")");
  RowMatrixXd out(n_paths, n_steps * n_factors);
  const Philox rng(seed);
  const std::int64_t pairs = (n_factors + 1) / 2;
  for (std::int64_t row = 0; row < n_paths; ++row) {
    const std::int64_t path = first_path + row;
    const auto key = antithetic ? static_cast<std::uint64_t>(path) / 2 : static_cast<std::uint64_t>(path);
    const double sign = (antithetic && path % 2 == 1) ? -1.0 : 1.0;
    for (std::int64_t k = 0; k < n_steps; ++k) {
      for (std::int64_t j = 0; j < pairs; ++j) {
        // Sub-streams 0 and 1 belong to the rate factors; extra factors start at 16.
        const auto z = rng.normals({static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(key),
                                    static_cast<std::uint32_t>(key >> 32),
                                    static_cast<std::uint32_t>(16 + j)});
        out(row, k * n_factors + 2 * j) = sign * z[0];
        if (2 * j + 1 < n_factors) out(row, k * n_factors + 2 * j + 1) = sign * z[1];
      }
    }
  }
  return out;
}

double g2_swaption(const G2Params& p, double expiry, double log_df_expiry, ConstVecRef pay_times,
                   ConstVecRef accruals, ConstVecRef log_df_pay, double strike, bool payer,
                   double range, int intervals) {
  const char* where = "g2_swaption";
  check_g2(p, where);
  FIALLOC_REQUIRE(std::isfinite(expiry) && expiry > 0.0,
                  where << ": `expiry` must be positive years, got " << expiry);
  FIALLOC_REQUIRE(std::isfinite(log_df_expiry), where << ": `log_df_expiry` is " << log_df_expiry);
  const Eigen::Index n = pay_times.size();
  FIALLOC_REQUIRE(n >= 1, where << ": no fixed-leg payments");
  check_finite(accruals, n, where, "accruals");
  check_finite(log_df_pay, n, where, "log_df_pay");
  for (Eigen::Index i = 0; i < n; ++i) {
    FIALLOC_REQUIRE(std::isfinite(pay_times[i]) && pay_times[i] > (i == 0 ? expiry : pay_times[i - 1]),
                    where << ": `pay_times` must be after the expiry and increasing; entry " << i
                          << " is " << pay_times[i]);
    FIALLOC_REQUIRE(accruals[i] > 0.0, where << ": accrual " << i << " is " << accruals[i]);
  }
  FIALLOC_REQUIRE(std::isfinite(strike) && strike >= 0.0,
                  where << ": `strike` must be a non-negative decimal rate, got " << strike);
  FIALLOC_REQUIRE(range > 0.0 && intervals >= 1, where << ": bad integration settings");

  return g2_swaption_price(p, expiry, log_df_expiry, pay_times.data(), accruals.data(),
                           log_df_pay.data(), n, strike, payer ? 1.0 : -1.0, range, intervals);
}

}  // namespace fialloc
