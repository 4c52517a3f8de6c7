// fialloc: Apache-2.0
#include "fialloc/bootstrap.hpp"

#include <Eigen/LU>
#include <algorithm>
#include <cmath>

#include "fialloc/errors.hpp"
#include "fialloc/solver.hpp"

namespace fialloc {

namespace {
constexpr double kXtol = 1e-15;
constexpr double kPassTol = 1e-14;
constexpr double kRepriceTol = 1e-13;  // Newton fallback: largest pricing error accepted
constexpr int kMaxPasses = 200;
// Zero rates searched in [-20%, +100%]: wide enough for any market, narrow enough to bracket.
constexpr double kZeroLo = -0.2;
constexpr double kZeroHi = 1.0;

// Solve one pillar's log discount factor; `fn(x)` returns the residual and its derivative. The
// bracket starts around the guess and widens step by step: a spline reaching for an extreme node
// oscillates, so the widest bracket can lose the sign change a narrow one has.
template <class Residual>
double solve_pillar(const Residual& fn, double guess, double tj, Eigen::Index j) {
  const double z_guess = std::clamp(-guess / tj, kZeroLo, kZeroHi);
  double width = 0.01;
  double lo = 0.0, hi = 0.0, flo = 0.0, fhi = 0.0;
  bool bracketed = false;
  for (int widen = 0; widen < 8 && !bracketed; ++widen, width *= 3.0) {
    lo = -std::min(z_guess + width, kZeroHi) * tj;
    hi = -std::max(z_guess - width, kZeroLo) * tj;
    flo = fn(lo).first;
    fhi = fn(hi).first;
    bracketed = (flo > 0.0) != (fhi > 0.0);
  }
  if (!bracketed) {
    std::ostringstream os;
    os << "bootstrap_curve: instrument " << j << " (maturity " << tj
       << " years) cannot be repriced with a zero rate in [" << kZeroLo << ", " << kZeroHi
       << "]; check its quote";
    throw std::domain_error(os.str());
  }
  return solve_bracketed_newton(fn, lo, hi, flo, fhi, guess, kXtol, 200, "bootstrap_curve");
}

// Newton's method on all pillars at once, for curves whose one-pillar-at-a-time passes fail:
// moving one pillar reshapes the curve before it, and with a short gap after a long one the
// sequential updates can diverge or lose their bracket. For log-linear, linear-zero and spline
// curves ln P(t) is linear in the pillar log discount factors, ln P(t_i) = sum_k H_ik l_k, where
// column k of H is the curve through the unit vector e_k; so the Jacobian is exact and H is
// built once. Monotone convex forwards change form with the data, so there H is the central
// difference of ln P at the current pillars, rebuilt every step. Starts from the log-linear
// solution; on success stores the pillars' log discount factors in `out`, and fails unless every
// instrument reprices within kRepriceTol.
bool solve_all_pillars(const CashflowView& inst, ConstVecRef targets, const VectorXd& pillars,
                       Interpolation interp, VectorXd& out) {
  const Eigen::Index n = pillars.size(), nf = inst.times.size();
  const bool linear = interp != Interpolation::MonotoneConvex;
  VectorXd ldf = bootstrap_curve(inst, targets, Interpolation::LogLinear).log_dfs;
  auto log_p = [&](const VectorXd& x) {
    const ZeroCurve curve(pillars.data(), x.data(), n, interp);
    VectorXd lp(nf);
    for (Eigen::Index i = 0; i < nf; ++i) lp[i] = curve.log_discount(inst.times[i]);
    return lp;
  };
  RowMatrixXd h(nf, n);
  auto build_h = [&](const VectorXd& at) {
    VectorXd x = at;
    for (Eigen::Index k = 0; k < n; ++k) {
      const double step = linear ? 0.0 : 1e-6 * (1.0 + std::fabs(at[k]));
      x[k] = linear ? 1.0 : at[k] + step;
      const VectorXd up = log_p(linear ? VectorXd::Unit(n, k) : x);
      if (linear) {
        h.col(k) = up;
      } else {
        x[k] = at[k] - step;
        h.col(k) = (up - log_p(x)) / (2.0 * step);
      }
      x[k] = at[k];
    }
  };
  build_h(ldf);
  auto residuals = [&](const VectorXd& x, VectorXd& v) {
    v = (linear ? VectorXd(h * x) : log_p(x)).array().exp().matrix().cwiseProduct(inst.amounts);
    VectorXd r(n);
    for (Eigen::Index j = 0; j < n; ++j) {
      r[j] = v.segment(inst.begin(j), inst.end(j) - inst.begin(j)).sum() - targets[j];
    }
    return r;
  };
  VectorXd v;
  VectorXd r = residuals(ldf, v);
  for (int it = 0; it < 100 && r.allFinite(); ++it) {
    if (r.lpNorm<Eigen::Infinity>() < 1e-15) break;
    if (!linear && it > 0) build_h(ldf);
    Eigen::MatrixXd jac(n, n);
    for (Eigen::Index j = 0; j < n; ++j) {
      const Eigen::Index b = inst.begin(j), m = inst.end(j) - b;
      jac.row(j) = v.segment(b, m).transpose() * h.middleRows(b, m);
    }
    const VectorXd step = jac.partialPivLu().solve(-r);
    if (!step.allFinite()) return false;
    // Halve the step until the residual falls (damped Newton).
    double lambda = 1.0;
    VectorXd trial_v;
    VectorXd trial = ldf + step;
    VectorXd trial_r = residuals(trial, trial_v);
    while (!(trial_r.lpNorm<Eigen::Infinity>() < r.lpNorm<Eigen::Infinity>()) && lambda > 1e-6) {
      lambda *= 0.5;
      trial = ldf + lambda * step;
      trial_r = residuals(trial, trial_v);
    }
    if (!(trial_r.lpNorm<Eigen::Infinity>() < r.lpNorm<Eigen::Infinity>())) break;
    ldf = trial;
    r = trial_r;
    v = trial_v;
  }
  // Judge on the curve itself, evaluated as every user of the result will.
  const ZeroCurve curve(pillars.data(), ldf.data(), n, interp);
  for (Eigen::Index j = 0; j < n; ++j) {
    double pv = 0.0;
    for (Eigen::Index i = inst.begin(j); i < inst.end(j); ++i) {
      pv += inst.amounts[i] * std::exp(curve.log_discount(inst.times[i]));
    }
    if (!(std::fabs(pv - targets[j]) <= kRepriceTol * std::fmax(1.0, std::fabs(targets[j])))) {
      return false;
    }
  }
  out = ldf;
  return true;
}

}  // namespace

BootstrapResult bootstrap_curve(const CashflowView& inst, ConstVecRef targets, Interpolation interp) {
  check_layout(inst, "bootstrap_curve");
  const Eigen::Index n = inst.n_streams();
  FIALLOC_REQUIRE(n >= 1, "bootstrap_curve: no instruments");
  FIALLOC_REQUIRE(targets.size() == n, "bootstrap_curve: `targets` has " << targets.size()
                                                                          << " entries for " << n
                                                                          << " instruments");
  FIALLOC_REQUIRE(interp == Interpolation::LogLinear || interp == Interpolation::NaturalCubicZero ||
                      interp == Interpolation::LinearZero ||
                      interp == Interpolation::MonotoneConvex,
                  "bootstrap_curve: unknown `interpolation` code " << static_cast<int>(interp)
                                                                   << "; expected 0, 1, 2 or 3");
  VectorXd pillars(n);
  for (Eigen::Index j = 0; j < n; ++j) {
    FIALLOC_REQUIRE(std::isfinite(targets[j]) && targets[j] > 0.0,
                    "bootstrap_curve: `targets` of instrument " << j << " is " << targets[j]
                                                                << "; expected a positive price");
    FIALLOC_REQUIRE(inst.times[inst.begin(j)] > 0.0,
                    "bootstrap_curve: instrument " << j << " has a flow at time "
                                                   << inst.times[inst.begin(j)]
                                                   << "; flows must fall after the valuation date");
    pillars[j] = inst.times[inst.end(j) - 1];
    FIALLOC_REQUIRE(j == 0 || pillars[j] > pillars[j - 1],
                    "bootstrap_curve: instrument " << j << " matures at " << pillars[j]
                                                   << " years, not after instrument " << (j - 1)
                                                   << " at " << pillars[j - 1]
                                                   << "; maturities must be strictly increasing");
  }

  VectorXd ldf = VectorXd::Zero(n);
  if (interp == Interpolation::LogLinear) {
    // Exact in one pass: flows up to the previous pillar are already priced, and the rest sit
    // on the last segment, where ln P is linear in the unknown, so the residual and its
    // derivative are closed-form.
    for (Eigen::Index j = 0; j < n; ++j) {
      const double t0 = j == 0 ? 0.0 : pillars[j - 1];
      const double l0 = j == 0 ? 0.0 : ldf[j - 1];
      const double tj = pillars[j];
      double fixed = 0.0;
      Eigen::Index first_free = inst.begin(j);
      // Flows up to the last solved pillar, on the log-linear curve through pillars 0..j-1:
      // l_k + u (l_{k+1} - l_k) / (t_{k+1} - t_k) on [t_k, t_{k+1}), the operations ZeroCurve
      // makes (its higher coefficients are zero), so the values are the same to the bit.
      for (Eigen::Index k = -1; first_free < inst.end(j) && inst.times[first_free] <= t0;
           ++first_free) {
        const double t = inst.times[first_free];
        while (k + 1 < j && t >= pillars[k + 1]) ++k;  // pillars[k] <= t (k = -1: t = 0)
        const double tk = k < 0 ? 0.0 : pillars[k], lk = k < 0 ? 0.0 : ldf[k];
        const double log_p =
            k + 1 < j ? lk + (t - tk) * ((ldf[k + 1] - lk) / (pillars[k + 1] - tk)) : lk;
        fixed += inst.amounts[first_free] * std::exp(log_p);
      }
      auto fn = [&](double x) {
        double pv = fixed, dpv = 0.0;
        for (Eigen::Index i = first_free; i < inst.end(j); ++i) {
          const double w = (inst.times[i] - t0) / (tj - t0);
          const double v = inst.amounts[i] * std::exp(l0 + w * (x - l0));
          pv += v;
          dpv += w * v;
        }
        return std::make_pair(pv - targets[j], dpv);
      };
      const double guess = j == 0 ? -0.03 * tj : l0 * tj / t0;
      ldf[j] = solve_pillar(fn, guess, tj, j);
    }
    return {pillars, ldf, 1};
  }

  // Monotone convex passes settle slowly (each pillar reshapes its neighbours' forwards), so
  // Newton on all pillars goes first there; the passes remain the fallback.
  if (interp == Interpolation::MonotoneConvex && solve_all_pillars(inst, targets, pillars, interp, ldf)) {
    return {pillars, ldf, 0};
  }
  // Other interpolations reach back: the first pass uses the pillars solved so far, later
  // passes the whole curve, until no pillar moves. Should the passes fail (a pillar without a
  // bracket, or passes that do not settle), Newton on all pillars at once takes over from the
  // log-linear solution.
  int pass = 0;
  try {
    for (; pass < kMaxPasses; ++pass) {
      double moved = 0.0;
      for (Eigen::Index j = 0; j < n; ++j) {
        const Eigen::Index m = pass == 0 ? j + 1 : n;
        const double guess =
            pass > 0 ? ldf[j] : (j == 0 ? -0.03 * pillars[0] : ldf[j - 1] * pillars[j] / pillars[j - 1]);
        const double old = ldf[j];
        auto residual = [&](double x) {
          ldf[j] = x;
          const ZeroCurve curve(pillars.data(), ldf.data(), m, interp);
          double pv = 0.0;
          for (Eigen::Index i = inst.begin(j); i < inst.end(j); ++i) {
            pv += inst.amounts[i] * std::exp(curve.log_discount(inst.times[i]));
          }
          return pv - targets[j];
        };
        // Derivative by a central difference: the safeguarded Newton needs only its sign and scale.
        auto fn = [&](double x) {
          const double h = 1e-7 * (1.0 + std::fabs(x));
          const double d = (residual(x + h) - residual(x - h)) / (2.0 * h);
          return std::make_pair(residual(x), d);
        };
        ldf[j] = solve_pillar(fn, guess, pillars[j], j);
        if (pass > 0) moved = std::fmax(moved, std::fabs(ldf[j] - old));
      }
      if (pass > 0 && moved < kPassTol) break;
    }
    if (pass == kMaxPasses) {
      throw ConvergenceError("bootstrap_curve: spline bootstrap did not settle after 200 passes");
    }
  } catch (const std::domain_error&) {
    if (!solve_all_pillars(inst, targets, pillars, interp, ldf)) throw;
  } catch (const ConvergenceError&) {
    if (!solve_all_pillars(inst, targets, pillars, interp, ldf)) throw;
  }
  return {pillars, ldf, pass + 1};
}

QuotedCurve bootstrap_quotes(std::int64_t valuation, ConstIdxRef maturities,
                             ConstIdxRef frequencies, ConstIdxRef day_counts, ConstVecRef rates,
                             Interpolation interp) {
  InstrumentFlows flows = instrument_flows(valuation, maturities, frequencies, day_counts);
  const Eigen::Index n = maturities.size();
  FIALLOC_REQUIRE(rates.size() == n, "bootstrap_quotes: `rates` has " << rates.size()
                                                                      << " entries for " << n
                                                                      << " instruments");
  VectorXd amounts(flows.times.size());
  for (Eigen::Index j = 0; j < n; ++j) {
    FIALLOC_REQUIRE(std::isfinite(rates[j]),
                    "bootstrap_quotes: `rates` of instrument " << j << " is " << rates[j]);
    for (Eigen::Index i = flows.offsets[j]; i < flows.offsets[j + 1]; ++i) {
      amounts[i] = rates[j] * flows.accruals[i] + flows.principal[i];
    }
  }
  BootstrapResult curve = bootstrap_curve(CashflowView{flows.offsets, flows.times, amounts},
                                          VectorXd::Ones(n), interp);
  return {std::move(flows), std::move(curve)};
}

}  // namespace fialloc
