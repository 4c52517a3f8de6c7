// fialloc: Apache-2.0
#include "fialloc/g2_multi.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "fialloc/errors.hpp"
#include "fialloc/kernel_support.hpp"
#include "fialloc/rng.hpp"
#include "fialloc/vexp.hpp"

namespace fialloc {

namespace {

using detail::b_fn;

// Most economies one call takes: factor sub-streams 2e, 2e + 1 must stay below the links' 32.
constexpr Eigen::Index kMaxEconomies = 16;
constexpr double kMaxLinkVol = 2.0;
constexpr double kSymmetryTol = 1e-12;
constexpr double kPsdTol = 1e-10;

// A Brownian driver: a G2++ factor (mean reversion k > 0) or a link (k = 0, no state).
struct Driver {
  double k;
  double vol;
  bool factor;
};

// Covariance over one step of length dt of the Gaussian pieces two drivers contribute: a
// factor's value (what = 0) and time integral (what = 1), or a link's Brownian increment.
double piece_cov(const Driver& u, int what_u, const Driver& v, int what_v, double rho, double dt) {
  const double c = rho * u.vol * v.vol;
  if (!u.factor && !v.factor) return c * dt;
  if (!u.factor) return piece_cov(v, what_v, u, what_u, rho, dt);
  if (!v.factor) {  // factor piece against a link increment
    return what_u == 0 ? c * b_fn(u.k, dt) : c * (dt - b_fn(u.k, dt)) / u.k;
  }
  if (what_u == 0 && what_v == 0) return c * b_fn(u.k + v.k, dt);
  if (what_u == 1 && what_v == 1) {
    return c / (u.k * v.k) * (dt - b_fn(u.k, dt) - b_fn(v.k, dt) + b_fn(u.k + v.k, dt));
  }
  const Driver& val = what_u == 0 ? u : v;
  const Driver& integral = what_u == 0 ? v : u;
  return c / integral.k * (b_fn(val.k, dt) - b_fn(val.k + integral.k, dt));
}

// Paths simulated together, as in simulate_g2: a short last block repeats its last path.
constexpr int kLanes = 8;

// eps[s][w] = sum over q < last[s] of root(s, q) z[q][w]: the step's correlated increments for a
// block (root is P' L D^(1/2), whose row s ends at its pivot's column).
FIALLOC_KERNEL_CLONES
void correlate(const double* root, const Eigen::Index* last, Eigen::Index ns, const double* z,
               double* eps) {
  for (Eigen::Index s = 0; s < ns; ++s) {
    double acc[kLanes] = {};
    const double* row = root + s * ns;
    for (Eigen::Index q = 0; q < last[s]; ++q) {
      const double c = row[q];
      const double* zq = z + q * kLanes;
      for (int w = 0; w < kLanes; ++w) acc[w] += c * zq[w];
    }
    for (int w = 0; w < kLanes; ++w) eps[s * kLanes + w] = acc[w];
  }
}

}  // namespace

G2MultiPaths simulate_g2_multi(ConstMatRef params, ConstVecRef times, ConstMatRef log_dfs,
                               ConstIdxRef parents, ConstVecRef link_spots,
                               ConstVecRef link_vols, ConstMatRef correlation,
                               std::int64_t first_path, std::int64_t n_paths, std::uint64_t seed,
                               int threads) {
  const char* where = "simulate_g2_multi";
  const Eigen::Index ne = params.rows();
  FIALLOC_REQUIRE(ne >= 1 && ne <= kMaxEconomies && params.cols() == 5,
                  where << ": `params` must be economies x 5 (a, sigma, b, eta, rho) with 1 to "
                        << kMaxEconomies << " economies, got " << params.rows() << "x"
                        << params.cols());
  std::vector<G2Params> g2(static_cast<std::size_t>(ne));
  for (Eigen::Index e = 0; e < ne; ++e) {
    g2[static_cast<std::size_t>(e)] = {params(e, 0), params(e, 1), params(e, 2), params(e, 3),
                                       params(e, 4)};
    const std::string name = std::string(where) + ": economy " + std::to_string(e);
    check_g2(g2[static_cast<std::size_t>(e)], name.c_str());
  }
  detail::check_grid(times, where, "times", false);
  const Eigen::Index nt = times.size();
  FIALLOC_REQUIRE(log_dfs.rows() == ne && log_dfs.cols() == nt && log_dfs.allFinite(),
                  where << ": `log_dfs` must be finite, economies x times (" << ne << "x" << nt
                        << "), got " << log_dfs.rows() << "x" << log_dfs.cols());
  FIALLOC_REQUIRE(parents.size() == ne && link_spots.size() == ne && link_vols.size() == ne,
                  where << ": `parents`, `link_spots` and `link_vols` need one entry per economy ("
                        << ne << ")");
  FIALLOC_REQUIRE(parents[0] == -1, where << ": economy 0 is the base and has no parent (-1), got "
                                          << parents[0]);
  for (Eigen::Index e = 1; e < ne; ++e) {
    FIALLOC_REQUIRE(parents[e] >= 0 && parents[e] < e,
                    where << ": economy " << e << " has parent " << parents[e]
                          << "; expected an earlier economy (0.." << (e - 1) << ")");
    FIALLOC_REQUIRE(std::isfinite(link_spots[e]) && link_spots[e] > 0.0,
                    where << ": link spot of economy " << e << " must be positive, got "
                          << link_spots[e]);
    FIALLOC_REQUIRE(std::isfinite(link_vols[e]) && link_vols[e] >= 0.0 && link_vols[e] <= kMaxLinkVol,
                    where << ": link volatility of economy " << e << " must be in [0, 2], got "
                          << link_vols[e]);
  }
  FIALLOC_REQUIRE(n_paths >= 1 && n_paths <= (std::int64_t{1} << 40),
                  where << ": `n_paths` must be positive, got " << n_paths);
  FIALLOC_REQUIRE(first_path >= 0 && first_path <= (std::int64_t{1} << 48),
                  where << ": `first_path` must be >= 0, got " << first_path);

  // Drivers: (x_e, y_e) per economy, then one link per economy after the base.
  const Eigen::Index nd = 3 * ne - 1;
  FIALLOC_REQUIRE(correlation.rows() == nd && correlation.cols() == nd,
                  where << ": `correlation` must be " << nd << "x" << nd << " (2 factors per economy"
                        << " and one link per economy after the base), got " << correlation.rows()
                        << "x" << correlation.cols());
  FIALLOC_REQUIRE(correlation.allFinite(), where << ": `correlation` must be finite");
  for (Eigen::Index i = 0; i < nd; ++i) {
    FIALLOC_REQUIRE(std::abs(correlation(i, i) - 1.0) <= kSymmetryTol,
                    where << ": `correlation` diagonal entry " << i << " is " << correlation(i, i)
                          << "; expected 1");
    for (Eigen::Index j = 0; j < i; ++j) {
      FIALLOC_REQUIRE(std::abs(correlation(i, j) - correlation(j, i)) <= kSymmetryTol &&
                          std::abs(correlation(i, j)) <= 1.0,
                      where << ": `correlation` must be symmetric with entries in [-1, 1]; entry ("
                            << i << ", " << j << ") is " << correlation(i, j) << " and (" << j
                            << ", " << i << ") is " << correlation(j, i));
    }
  }
  for (Eigen::Index e = 0; e < ne; ++e) {
    FIALLOC_REQUIRE(std::abs(correlation(2 * e, 2 * e + 1) - params(e, 4)) <= kSymmetryTol,
                    where << ": `correlation` entry (" << 2 * e << ", " << 2 * e + 1 << ") is "
                          << correlation(2 * e, 2 * e + 1) << " but economy " << e << " has rho "
                          << params(e, 4));
  }
  {
    const Eigen::MatrixXd sym = 0.5 * (correlation + correlation.transpose());
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(sym, Eigen::EigenvaluesOnly);
    const double smallest = eig.eigenvalues().minCoeff();
    FIALLOC_REQUIRE(smallest >= -kPsdTol,
                    where << ": `correlation` is not positive semi-definite (smallest eigenvalue "
                          << smallest << "); no joint law has these correlations");
  }

  std::vector<Driver> drivers(static_cast<std::size_t>(nd));
  std::vector<Eigen::Index> measure(static_cast<std::size_t>(nd));  // economy whose measure
  for (Eigen::Index e = 0; e < ne; ++e) {
    const G2Params& p = g2[static_cast<std::size_t>(e)];
    drivers[static_cast<std::size_t>(2 * e)] = {p.a, p.sigma, true};
    drivers[static_cast<std::size_t>(2 * e + 1)] = {p.b, p.eta, true};
    measure[static_cast<std::size_t>(2 * e)] = measure[static_cast<std::size_t>(2 * e + 1)] = e;
  }
  auto link_driver = [&](Eigen::Index e) { return 2 * ne + e - 1; };
  for (Eigen::Index e = 1; e < ne; ++e) {
    drivers[static_cast<std::size_t>(link_driver(e))] = {0.0, link_vols[e], false};
    measure[static_cast<std::size_t>(link_driver(e))] = parents[e];
  }
  // Quanto drift of each driver under the base measure, in units of its Brownian motion.
  Eigen::VectorXd mu = Eigen::VectorXd::Zero(nd);
  for (Eigen::Index j = 0; j < nd; ++j) {
    for (Eigen::Index m = measure[static_cast<std::size_t>(j)]; m > 0; m = parents[m]) {
      mu[j] -= correlation(j, link_driver(m)) * link_vols[m];
    }
  }

  // State pieces: per economy (x value, y value, x integral, y integral), then the links.
  const Eigen::Index ns = 5 * ne - 1;
  auto piece = [&](Eigen::Index s) -> std::pair<Eigen::Index, int> {  // (driver, what)
    if (s >= 4 * ne) return {2 * ne + (s - 4 * ne), 0};
    const Eigen::Index e = s / 4, r = s % 4;
    return {2 * e + r % 2, static_cast<int>(r / 2)};
  };
  // Per step, C = P' L D L' P (LDLT with pivoting, so perfectly correlated drivers are fine):
  // the increments are P' L (D^(1/2) z), a triangular product.
  struct StepFactor {
    RowMatrixXd root;                 // P' L D^(1/2), row-major
    std::vector<Eigen::Index> last;   // per row, one past its last non-zero column
  };
  std::vector<StepFactor> factor(static_cast<std::size_t>(nt));
  std::vector<Eigen::VectorXd> decay(static_cast<std::size_t>(nt)), integ(static_cast<std::size_t>(nt));
  std::vector<Eigen::VectorXd> mean_val(static_cast<std::size_t>(nt)), mean_int(static_cast<std::size_t>(nt));
  for (Eigen::Index k = 0; k < nt; ++k) {
    const double dt = times[k] - (k == 0 ? 0.0 : times[k - 1]);
    Eigen::MatrixXd c(ns, ns);
    for (Eigen::Index s = 0; s < ns; ++s) {
      const auto [ds, ws] = piece(s);
      for (Eigen::Index q = 0; q <= s; ++q) {
        const auto [dq, wq] = piece(q);
        c(s, q) = c(q, s) = piece_cov(drivers[static_cast<std::size_t>(ds)], ws,
                                      drivers[static_cast<std::size_t>(dq)], wq, correlation(ds, dq), dt);
      }
    }
    // Semi-definite-safe square root A with A A' = C (perfectly correlated drivers allowed).
    Eigen::LDLT<Eigen::MatrixXd> ldlt(c);
    FIALLOC_REQUIRE(ldlt.info() == Eigen::Success,
                    where << ": step " << k << " (" << dt << " years) has no factorization");
    StepFactor& fk = factor[static_cast<std::size_t>(k)];
    const Eigen::VectorXd root_d = ldlt.vectorD().cwiseMax(0.0).cwiseSqrt();
    const Eigen::MatrixXd lower = Eigen::MatrixXd(ldlt.matrixL()) * root_d.asDiagonal();
    fk.root = ldlt.transpositionsP().transpose() * lower;
    fk.last.assign(static_cast<std::size_t>(ns), 0);
    for (Eigen::Index r = 0; r < ns; ++r) {
      for (Eigen::Index q = ns; q > 0; --q) {
        if (fk.root(r, q - 1) != 0.0) {
          fk.last[static_cast<std::size_t>(r)] = q;
          break;
        }
      }
    }
    Eigen::VectorXd dec(2 * ne), itg(2 * ne), mv(nd), mi(2 * ne);
    for (Eigen::Index j = 0; j < nd; ++j) {
      const Driver& dr = drivers[static_cast<std::size_t>(j)];
      if (!dr.factor) {
        mv[j] = dr.vol * mu[j] * dt;
        continue;
      }
      dec[j] = std::exp(-dr.k * dt);
      itg[j] = b_fn(dr.k, dt);
      mv[j] = dr.vol * mu[j] * itg[j];
      mi[j] = dr.vol * mu[j] * (dt - itg[j]) / dr.k;
    }
    decay[static_cast<std::size_t>(k)] = dec;
    integ[static_cast<std::size_t>(k)] = itg;
    mean_val[static_cast<std::size_t>(k)] = mv;
    mean_int[static_cast<std::size_t>(k)] = mi;
  }
  // Deterministic part of each economy's log discount factor: ln P_e(0, t) - V_e(0, t) / 2.
  RowMatrixXd drift(ne, nt);
  for (Eigen::Index e = 0; e < ne; ++e) {
    for (Eigen::Index k = 0; k < nt; ++k) {
      drift(e, k) = log_dfs(e, k) - 0.5 * g2_v(g2[static_cast<std::size_t>(e)], times[k]);
    }
  }

  G2MultiPaths out;
  for (Eigen::Index e = 0; e < ne; ++e) {
    out.x.emplace_back(n_paths, nt);
    out.y.emplace_back(n_paths, nt);
    out.discount.emplace_back(n_paths, nt);
    out.link.emplace_back(e == 0 ? 0 : n_paths, e == 0 ? 0 : nt);
  }
  const Philox rng(seed);
  const std::int64_t blocks = (n_paths + kLanes - 1) / kLanes;
  const auto lanes = static_cast<Eigen::Index>(kLanes);
  detail::parallel_for(blocks, threads, [&](std::int64_t lo, std::int64_t hi) {
    // Per block: normals and increments (pieces x lanes), factors and integrals (drivers x
    // lanes), links' accumulated shocks and log discount factors (economies x lanes).
    std::vector<double> z(static_cast<std::size_t>(ns * lanes)), eps(z.size());
    std::vector<double> f(static_cast<std::size_t>(2 * ne * lanes)), integral(f.size());
    std::vector<double> w(static_cast<std::size_t>(ne * lanes)), log_d(w.size());
    std::uint32_t lo32[kLanes], hi32[kLanes];
    for (std::int64_t blk = lo; blk < hi; ++blk) {
      const std::int64_t r0 = blk * kLanes, nb = std::min<std::int64_t>(kLanes, n_paths - r0);
      for (int l = 0; l < kLanes; ++l) {
        const auto key = static_cast<std::uint64_t>(first_path + r0 + std::min<std::int64_t>(l, nb - 1));
        lo32[l] = static_cast<std::uint32_t>(key);
        hi32[l] = static_cast<std::uint32_t>(key >> 32);
      }
      std::fill(f.begin(), f.end(), 0.0);
      std::fill(integral.begin(), integral.end(), 0.0);
      std::fill(w.begin(), w.end(), 0.0);
      for (Eigen::Index k = 0; k < nt; ++k) {
        const auto step = static_cast<std::uint32_t>(k);
        double* zp = z.data();
        for (Eigen::Index e = 0; e < ne; ++e) {
          const auto sub = static_cast<std::uint32_t>(2 * e);
          rng.lane_normals<kLanes>(step, sub, lo32, hi32, zp + (4 * e) * lanes,
                                   zp + (4 * e + 1) * lanes);
          rng.lane_normals<kLanes>(step, sub + 1, lo32, hi32, zp + (4 * e + 2) * lanes,
                                   zp + (4 * e + 3) * lanes);
        }
        double spare[kLanes];
        for (Eigen::Index i = 0; i + 1 < ne; i += 2) {
          double* second = i + 1 < ne - 1 ? zp + (4 * ne + i + 1) * lanes : spare;
          rng.lane_normals<kLanes>(step, static_cast<std::uint32_t>(32 + i / 2), lo32, hi32,
                                   zp + (4 * ne + i) * lanes, second);
        }
        const StepFactor& fk = factor[static_cast<std::size_t>(k)];
        correlate(fk.root.data(), fk.last.data(), ns, zp, eps.data());
        const Eigen::VectorXd& dec = decay[static_cast<std::size_t>(k)];
        const Eigen::VectorXd& itg = integ[static_cast<std::size_t>(k)];
        const Eigen::VectorXd& mv = mean_val[static_cast<std::size_t>(k)];
        const Eigen::VectorXd& mi = mean_int[static_cast<std::size_t>(k)];
        for (Eigen::Index e = 0; e < ne; ++e) {
          for (int q = 0; q < 2; ++q) {
            const Eigen::Index j = 2 * e + q;
            const double* e_val = eps.data() + (4 * e + q) * lanes;
            const double* e_int = eps.data() + (4 * e + 2 + q) * lanes;
            double* fj = f.data() + j * lanes;
            double* ij = integral.data() + j * lanes;
            for (int l = 0; l < kLanes; ++l) {
              ij[l] += fj[l] * itg[j] + mi[j] + e_int[l];
              fj[l] = fj[l] * dec[j] + mv[j] + e_val[l];
            }
          }
          double* ld = log_d.data() + e * lanes;
          for (int l = 0; l < kLanes; ++l) {
            ld[l] = drift(e, k) - integral[static_cast<std::size_t>(2 * e * lanes + l)] -
                    integral[static_cast<std::size_t>((2 * e + 1) * lanes + l)];
          }
          for (std::int64_t l = 0; l < nb; ++l) {
            out.x[static_cast<std::size_t>(e)](r0 + l, k) = f[static_cast<std::size_t>(2 * e * lanes + l)];
            out.y[static_cast<std::size_t>(e)](r0 + l, k) = f[static_cast<std::size_t>((2 * e + 1) * lanes + l)];
            out.discount[static_cast<std::size_t>(e)](r0 + l, k) = ld[l];  // exponentiated below
          }
        }
        for (Eigen::Index e = 1; e < ne; ++e) {
          const Eigen::Index j = link_driver(e);
          const double nu = link_vols[e];
          const double shift = std::log(link_spots[e]) - 0.5 * nu * nu * times[k];
          const double* e_w = eps.data() + (4 * ne + e - 1) * lanes;
          double* we = w.data() + e * lanes;
          const double* ld = log_d.data() + e * lanes;
          const double* lp = log_d.data() + parents[e] * lanes;
          for (int l = 0; l < kLanes; ++l) we[l] += mv[j] + e_w[l];
          for (std::int64_t l = 0; l < nb; ++l) {
            out.link[static_cast<std::size_t>(e)](r0 + l, k) = shift + (ld[l] - lp[l]) + we[l];
          }
        }
      }
      for (Eigen::Index e = 0; e < ne; ++e) {
        for (std::int64_t l = 0; l < nb; ++l) {
          exp_inplace(&out.discount[static_cast<std::size_t>(e)](r0 + l, 0), nt);
          if (e > 0) exp_inplace(&out.link[static_cast<std::size_t>(e)](r0 + l, 0), nt);
        }
      }
    }
  });
  return out;
}

}  // namespace fialloc
