// fialloc: Apache-2.0
#pragma once
//! Discount curve on pillar times: log-linear discount factors or a natural cubic spline on zero rates.

/*! The curve is defined by pillars \f$ 0 < t_1 < \dots < t_n \f$ with log discount factors
    \f$ \ell_i = \ln P(0, t_i) \f$ and \f$ \ell_0 = 0 \f$ at \f$ t_0 = 0 \f$.

    - LogLinear: \f$ \ln P \f$ linear between pillars (piecewise-flat instantaneous forwards).
    - NaturalCubicZero: natural cubic spline through zero rates \f$ z_i = -\ell_i / t_i \f$,
      with \f$ z_0 = z_1 \f$ at \f$ t = 0 \f$ (as QuantLib's zero-curve bootstrap does).

    Beyond \f$ t_n \f$ the instantaneous forward is held flat at its value at \f$ t_n \f$.

    An optional zero-rate overlay \f$ s(t) \f$, piecewise linear on its knots and flat outside
    them, gives bumped curves: \f$ P'(t) = P(t)\, e^{-s(t)\, t} \f$. A parallel shift is a single
    knot; a key-rate bump is a tent. */

#include <vector>

#include "fialloc/types.hpp"

namespace fialloc {

enum class Interpolation : int { LogLinear = 0, NaturalCubicZero = 1 };

class ZeroCurve {
 public:
  /*! `pillar_times` strictly increasing and positive (years), `log_dfs` finite, same length.
      `spread_knots` strictly increasing (years) and `spread_values` (decimal zero-rate shifts),
      both empty for no overlay. */
  ZeroCurve(const double* pillar_times, const double* log_dfs, Eigen::Index n, Interpolation interp,
            const double* spread_knots = nullptr, const double* spread_values = nullptr,
            Eigen::Index n_spread = 0);
  ZeroCurve(ConstVecRef pillar_times, ConstVecRef log_dfs, Interpolation interp,
            ConstVecRef spread_knots, ConstVecRef spread_values);

  //! ln P(0, t) for t >= 0 (no check on t: callers validate).
  double log_discount(double t) const;
  //! Instantaneous forward f(0, t) = -d ln P / dt (right derivative at pillars).
  double forward(double t) const;
  //! Continuously compounded zero rate; at t = 0 the limit, i.e. the short rate.
  double zero_rate(double t) const;

  //! out[j] = ln P(0, t[j]) for n points.
  void log_discount(const double* t, double* out, Eigen::Index n) const;

  Eigen::Index size() const { return static_cast<Eigen::Index>(t_.size()) - 1; }

 private:
  double base_log_discount(double t) const;
  double base_forward(double t) const;
  double overlay(double t) const;
  double overlay_slope(double t) const;
  void fit_spline();

  Interpolation interp_;
  std::vector<double> t_;    // includes t_0 = 0
  std::vector<double> ldf_;  // ln P at t_
  std::vector<double> z_;    // zero rates at t_ (cubic only)
  std::vector<double> m_;    // spline second derivatives (cubic only)
  double f_last_ = 0.0;      // flat extrapolation forward
  std::vector<double> sk_, sv_;
};

//! Discount factors P(0, t) at times `t` (years, finite and >= 0).
VectorXd discount_factors(const ZeroCurve& curve, ConstVecRef t);
//! Continuously compounded zero rates at times `t` (decimals).
VectorXd zero_rates(const ZeroCurve& curve, ConstVecRef t);
//! Instantaneous forward rates at times `t` (decimals).
VectorXd forward_rates(const ZeroCurve& curve, ConstVecRef t);

//! Index j of the segment [t_j, t_{j+1}) that contains x, clamped to [0, n-2].
Eigen::Index segment_index(const std::vector<double>& knots, double x);

}  // namespace fialloc
