// fialloc: Apache-2.0
#pragma once
//! Discount curve on pillar times, with a choice of interpolation and extrapolation.

/*! The curve is defined by pillars \f$ 0 < t_1 < \dots < t_n \f$ with log discount factors
    \f$ \ell_i = \ln P(0, t_i) \f$ and \f$ \ell_0 = 0 \f$ at \f$ t_0 = 0 \f$.

    - LogLinear: \f$ \ln P \f$ linear between pillars (piecewise-flat instantaneous forwards).
    - NaturalCubicZero: natural cubic spline through zero rates \f$ z_i = -\ell_i / t_i \f$,
      with \f$ z_0 = z_1 \f$ at \f$ t = 0 \f$ (as QuantLib's zero-curve bootstrap does).
    - LinearZero: zero rates linear between pillars, \f$ z_0 = z_1 \f$ at \f$ t = 0 \f$.
    - MonotoneConvex: Hagan and West's monotone convex forwards (Applied Math. Finance 13(2),
      2006), without their positivity amendment: the instantaneous forward on
      \f$ [t_{i-1}, t_i] \f$ is the discrete forward \f$ f^d_i = -(\ell_i - \ell_{i-1}) / (t_i -
      t_{i-1}) \f$ plus a piecewise quadratic \f$ g \f$ with zero integral (so every pillar is
      repriced), chosen by the sector of \f$ (g(0), g(1)) \f$; node forwards are the
      length-weighted averages of the neighbouring discrete forwards, the end ones extrapolated
      linearly. Each quadratic piece is its own polynomial segment (up to two per pillar gap).

    Beyond \f$ t_n \f$: FlatForward holds the instantaneous forward at its value at \f$ t_n \f$;
    FlatZero holds the zero rate \f$ z_n \f$ (the forward jumps to \f$ z_n \f$ there).

    An optional zero-rate overlay \f$ s(t) \f$, piecewise linear on its knots and flat outside
    them, gives bumped curves: \f$ P'(t) = P(t)\, e^{-s(t)\, t} \f$. A parallel shift is a single
    knot; a key-rate bump is a tent. */

#include <array>
#include <cstdint>
#include <vector>

#include "fialloc/types.hpp"

namespace fialloc {

enum class Interpolation : int { LogLinear = 0, NaturalCubicZero = 1, LinearZero = 2, MonotoneConvex = 3 };
enum class Extrapolation : int { FlatForward = 0, FlatZero = 1 };

class ZeroCurve {
 public:
  /*! `pillar_times` strictly increasing and positive (years), `log_dfs` finite, same length.
      `spread_knots` strictly increasing (years) and `spread_values` (decimal zero-rate shifts),
      both empty for no overlay. */
  ZeroCurve(const double* pillar_times, const double* log_dfs, Eigen::Index n, Interpolation interp,
            Extrapolation extrap = Extrapolation::FlatForward, const double* spread_knots = nullptr,
            const double* spread_values = nullptr, Eigen::Index n_spread = 0);
  ZeroCurve(ConstVecRef pillar_times, ConstVecRef log_dfs, Interpolation interp,
            Extrapolation extrap, ConstVecRef spread_knots, ConstVecRef spread_values);

  //! ln P(0, t) for t >= 0 (no check on t: callers validate).
  double log_discount(double t) const { return eval(segment(t), t); }
  //! Instantaneous forward f(0, t) = -d ln P / dt (right derivative at knots).
  double forward(double t) const;
  //! Continuously compounded zero rate; at t = 0 the limit, i.e. the short rate.
  double zero_rate(double t) const;

  /*! seg[j] = index of the polynomial segment holding t[j], for n sorted times. The search uses a
      bucket table instead of bisecting; pricing kernels cache the result per cash-flow layout
      (it depends on the knots only). Returns false, leaving `seg` untouched, unless the times are
      finite, >= 0 and non-decreasing. */
  bool segments_sorted(const double* t, std::int32_t* seg, Eigen::Index n) const;

  //! Segment start times: the pillars (with 0) plus overlay and monotone convex knots.
  const std::vector<double>& knots() const { return knots_; }
  //! Coefficient `d` (0..4) of ln P on segment `j`, as a polynomial in t - knots()[j].
  double coefficient(Eigen::Index j, int d) const {
    return coef_[static_cast<std::size_t>(j)][static_cast<std::size_t>(d)];
  }
  //! Highest power with a non-zero coefficient on some segment (1, 2 or 4).
  int degree() const { return degree_; }

  //! Number of pillars (excluding t = 0).
  Eigen::Index size() const { return n_pillars_; }

 private:
  // ln P on segment j is a polynomial of degree <= 4 in u = t - knots_[j]; the last segment is
  // open-ended (the extrapolation). Overlays are folded into the same polynomials. Knots are the
  // pillars plus, for monotone convex curves, the points where a gap's quadratic changes form.
  using Poly = std::array<double, 5>;
  Eigen::Index segment(double t) const;
  double eval(Eigen::Index j, double t) const {
    const Poly& c = coef_[static_cast<std::size_t>(j)];
    const double u = t - knots_[static_cast<std::size_t>(j)];
    return c[0] + u * (c[1] + u * (c[2] + u * (c[3] + u * c[4])));
  }
  void add_overlay(const double* knots, const double* values, Eigen::Index n);
  void build_monotone_convex(const std::vector<double>& t, const std::vector<double>& l);
  void build_buckets();
  static constexpr double kBucketsPerYear = 4.0;
  // The longest pillar accepted: longer is a unit mistake, and the bucket table grows with it.
  static constexpr double kMaxPillarYears = 1000.0;

  Eigen::Index n_pillars_;
  std::vector<double> knots_;
  std::vector<Poly> coef_;
  std::vector<std::int32_t> bucket_;  // segment at the start of each quarter-year bucket
  int degree_ = 4;  // highest non-zero power in coef_ (1 for log-linear without overlay)
};

//! Discount factors P(0, t) at times `t` (years, finite and >= 0).
VectorXd discount_factors(const ZeroCurve& curve, ConstVecRef t);
//! Continuously compounded zero rates at times `t` (decimals).
VectorXd zero_rates(const ZeroCurve& curve, ConstVecRef t);
//! Instantaneous forward rates at times `t` (decimals).
VectorXd forward_rates(const ZeroCurve& curve, ConstVecRef t);


}  // namespace fialloc
