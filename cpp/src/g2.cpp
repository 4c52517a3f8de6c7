// fialloc: Apache-2.0
#include "fialloc/g2.hpp"

#include <Eigen/Cholesky>
#include <array>
#include <algorithm>
#include <cmath>
#include <vector>

#include "fialloc/errors.hpp"
#include "fialloc/kernel_support.hpp"
#include "fialloc/rng.hpp"
#include "fialloc/g2_calibration.hpp"
#include "fialloc/vexp.hpp"

namespace fialloc {

using detail::b_fn;
using detail::check_finite;
using detail::check_grid;
using detail::parallel_for;

namespace {

constexpr double kMaxReversion = 100.0;
constexpr double kMinVol = 1e-6;
constexpr double kMaxVol = 1.0;

// Paths simulated together: the random-number rounds of a block run as vector instructions.
// A short last block repeats its last path, so every path takes the same instructions.
constexpr int kLanes = 16;

// The four normals of one step for a block of paths keyed (lo32, hi32): sub-stream 0 gives z0,
// z1 and sub-stream 1 gives z2, z3, exactly as Philox::normals draws them one counter at a time.
FIALLOC_KERNEL_CLONES
void step_normals(const Philox& rng, std::uint32_t step, const std::uint32_t* lo32,
                  const std::uint32_t* hi32, double* z) {
  alignas(32) std::uint32_t c0[2 * kLanes], c1[2 * kLanes], c2[2 * kLanes], c3[2 * kLanes];
  for (int i = 0; i < 2 * kLanes; ++i) {
    c0[i] = step;
    c1[i] = lo32[i % kLanes];
    c2[i] = hi32[i % kLanes];
    c3[i] = i < kLanes ? 0u : 1u;
  }
  rng.apply_fast<2 * kLanes>(c0, c1, c2, c3);
  Philox::box_muller<kLanes>(c0, c1, c2, c3, z, z + kLanes);
  Philox::box_muller<kLanes>(c0 + kLanes, c1 + kLanes, c2 + kLanes, c3 + kLanes, z + 2 * kLanes,
                             z + 3 * kLanes);
}

// One exact step of the block's factors and their integrals: eps = L z (summed in column order,
// as Eigen's fixed-size product does), then the decayed states plus eps; ln D(0, t) = drift -
// (integral of x) - (integral of y) goes to `ln_disc`. The step's constants are copied to
// locals and the lane arrays are restrict: otherwise the compiler must assume a store to x[l]
// may change chol or d and leaves the loop scalar (a quarter of the kernel's time).
FIALLOC_KERNEL_CLONES
void advance(const Eigen::Matrix4d& chol, const std::array<double, 4>& d, double drift,
             const double* __restrict sign, const double* __restrict z, double* __restrict x,
             double* __restrict y, double* __restrict ix, double* __restrict iy,
             double* __restrict ln_disc) {
  double c[4][4];
  for (int r = 0; r < 4; ++r) {
    for (int q = 0; q < 4; ++q) c[r][q] = chol(r, q);
  }
  const double d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3];
  for (int l = 0; l < kLanes; ++l) {
    const double z0 = sign[l] * z[l], z1 = sign[l] * z[kLanes + l];
    const double z2 = sign[l] * z[2 * kLanes + l], z3 = sign[l] * z[3 * kLanes + l];
    double eps[4];
    for (int r = 0; r < 4; ++r) {
      eps[r] = ((c[r][0] * z0 + c[r][1] * z1) + c[r][2] * z2) + c[r][3] * z3;
    }
    const double ixl = ix[l] + (x[l] * d2 + eps[2]);
    const double iyl = iy[l] + (y[l] * d3 + eps[3]);
    ix[l] = ixl;
    iy[l] = iyl;
    x[l] = x[l] * d0 + eps[0];
    y[l] = y[l] * d1 + eps[1];
    ln_disc[l] = (drift - ixl) - iyl;
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

  G2Paths out{RowMatrixXd(3 * n_paths, nt)};
  double* const x_out = out.states.data();
  double* const y_out = x_out + n_paths * nt;
  double* const d_out = y_out + n_paths * nt;
  const Philox rng(seed);
  const std::int64_t blocks = (n_paths + kLanes - 1) / kLanes;
  parallel_for(blocks, threads, [&](std::int64_t lo, std::int64_t hi) {
    alignas(32) double z[4 * kLanes];
    std::uint32_t lo32[kLanes], hi32[kLanes];
    double sign[kLanes], x[kLanes], y[kLanes], ix[kLanes], iy[kLanes], disc[kLanes];
    for (std::int64_t blk = lo; blk < hi; ++blk) {
      const std::int64_t r0 = blk * kLanes, nb = std::min<std::int64_t>(kLanes, n_paths - r0);
      for (int l = 0; l < kLanes; ++l) {
        const std::int64_t path = first_path + r0 + std::min<std::int64_t>(l, nb - 1);
        const std::uint64_t key = antithetic ? static_cast<std::uint64_t>(path) / 2
                                             : static_cast<std::uint64_t>(path);
        lo32[l] = static_cast<std::uint32_t>(key);
        hi32[l] = static_cast<std::uint32_t>(key >> 32);
        sign[l] = (antithetic && (path % 2 == 1)) ? -1.0 : 1.0;
        x[l] = y[l] = ix[l] = iy[l] = 0.0;
      }
      for (Eigen::Index k = 0; k < nt; ++k) {
        const auto ks = static_cast<std::size_t>(k);
        step_normals(rng, static_cast<std::uint32_t>(k), lo32, hi32, z);
        advance(chol[ks], decay[ks], drift[ks], sign, z, x, y, ix, iy, disc);
        exp_inplace(disc, kLanes);
        for (std::int64_t l = 0; l < nb; ++l) {
          const std::int64_t at = (r0 + l) * nt + k;
          x_out[at] = x[l];
          y_out[at] = y[l];
          d_out[at] = disc[l];
        }
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

RowMatrixXd g2_factor_normals(std::uint64_t seed, std::int64_t first_path, std::int64_t n_paths,
                              std::int64_t n_steps, std::int64_t n_factors, bool antithetic,
                              std::int64_t first_stream) {
  const char* where = "g2_factor_normals";
  // Sub-streams below 16 belong to the rate factors of simulate_g2; a caller drawing several
  // independent sets (one per economy) gives each its own first sub-stream.
  FIALLOC_REQUIRE(first_stream >= 16 && first_stream <= (std::int64_t{1} << 31),
                  where << ": `first_stream` must be in [16, 2^31], got " << first_stream);
  FIALLOC_REQUIRE(n_paths >= 1 && n_steps >= 1 && n_factors >= 1 && n_factors <= 1000 &&
                      n_steps <= (std::int64_t{1} << 31) && first_path >= 0 &&
                      first_path <= (std::int64_t{1} << 48),  // first_path + row must not overflow
                  where << ": bad sizes (paths " << n_paths << ", steps " << n_steps << ", factors "
                        << n_factors << ", first path " << first_path << ")");
  RowMatrixXd out(n_paths, n_steps * n_factors);
  const Philox rng(seed);
  const std::int64_t pairs = (n_factors + 1) / 2;
  // Eight paths at a time through the vector Philox rounds (the same bits as one counter at a
  // time); a short last block repeats its last path and keeps only its own lanes.
  std::uint32_t lo32[kLanes], hi32[kLanes];
  double z0[kLanes], z1[kLanes], sign[kLanes];
  for (std::int64_t r0 = 0; r0 < n_paths; r0 += kLanes) {
    const std::int64_t nb = std::min<std::int64_t>(kLanes, n_paths - r0);
    for (int l = 0; l < kLanes; ++l) {
      const std::int64_t path = first_path + r0 + std::min<std::int64_t>(l, nb - 1);
      const auto key = antithetic ? static_cast<std::uint64_t>(path) / 2 : static_cast<std::uint64_t>(path);
      lo32[l] = static_cast<std::uint32_t>(key);
      hi32[l] = static_cast<std::uint32_t>(key >> 32);
      sign[l] = (antithetic && path % 2 == 1) ? -1.0 : 1.0;
    }
    for (std::int64_t k = 0; k < n_steps; ++k) {
      for (std::int64_t j = 0; j < pairs; ++j) {
        // Sub-streams 0 and 1 belong to the rate factors; extra factors start at first_stream.
        rng.lane_normals<kLanes>(static_cast<std::uint32_t>(k),
                                 static_cast<std::uint32_t>(first_stream + j), lo32, hi32, z0, z1);
        for (std::int64_t l = 0; l < nb; ++l) {
          out(r0 + l, k * n_factors + 2 * j) = sign[l] * z0[l];
          if (2 * j + 1 < n_factors) out(r0 + l, k * n_factors + 2 * j + 1) = sign[l] * z1[l];
        }
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
