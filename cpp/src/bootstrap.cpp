// fialloc: Apache-2.0
#include "fialloc/bootstrap.hpp"

#include <algorithm>
#include <cmath>

#include "fialloc/errors.hpp"
#include "fialloc/solver.hpp"

namespace fialloc {

namespace {
constexpr double kXtol = 1e-15;
constexpr double kPassTol = 1e-14;
constexpr int kMaxPasses = 200;
// Zero rates searched in [-20%, +100%]: wide enough for any market, narrow enough to bracket.
constexpr double kZeroLo = -0.2;
constexpr double kZeroHi = 1.0;
}  // namespace

BootstrapResult bootstrap_curve(const CashflowView& inst, ConstVecRef targets, Interpolation interp) {
  check_layout(inst, "bootstrap_curve");
  const Eigen::Index n = inst.n_streams();
  FIALLOC_REQUIRE(n >= 1, "bootstrap_curve: no instruments");
  FIALLOC_REQUIRE(targets.size() == n, "bootstrap_curve: `targets` has " << targets.size()
                                                                          << " entries for " << n
                                                                          << " instruments");
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

  VectorXd ldf(n);
  const bool global = interp != Interpolation::LogLinear;
  int pass = 0;
  for (; pass < kMaxPasses; ++pass) {
    double moved = 0.0;
    for (Eigen::Index j = 0; j < n; ++j) {
      // First pass: only the pillars solved so far; later passes (splines): the whole curve.
      const Eigen::Index m = pass == 0 ? j + 1 : n;
      const double guess = pass > 0 ? ldf[j] : (j == 0 ? -0.03 * pillars[0] : ldf[j - 1] * pillars[j] / pillars[j - 1]);
      const double old = pass > 0 ? ldf[j] : 0.0;
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
      // Bracket around the guess and widen step by step: a spline reaching for an extreme node
      // oscillates, so the widest bracket can lose its sign change where a narrow one has it.
      const double tj = pillars[j];
      const double z_guess = std::clamp(-guess / tj, kZeroLo, kZeroHi);
      double width = 0.01;
      double lo = 0.0, hi = 0.0;
      bool bracketed = false;
      for (int widen = 0; widen < 8 && !bracketed; ++widen, width *= 3.0) {
        lo = -std::min(z_guess + width, kZeroHi) * tj;
        hi = -std::max(z_guess - width, kZeroLo) * tj;
        bracketed = (residual(lo) > 0.0) != (residual(hi) > 0.0);
      }
      if (!bracketed) {
        std::ostringstream os;
        os << "bootstrap_curve: instrument " << j << " (maturity " << tj
           << " years) cannot be repriced with a zero rate in [" << kZeroLo << ", " << kZeroHi
           << "]; check its quote";
        throw std::domain_error(os.str());
      }
      ldf[j] = solve_bracketed_newton(fn, lo, hi, guess, kXtol, 200, "bootstrap_curve");
      if (pass > 0) moved = std::fmax(moved, std::fabs(ldf[j] - old));
    }
    if (!global || (pass > 0 && moved < kPassTol)) break;
  }
  if (pass == kMaxPasses) {
    throw ConvergenceError("bootstrap_curve: spline bootstrap did not settle after 200 passes");
  }
  return {pillars, ldf, pass + 1};
}

}  // namespace fialloc
