// fialloc: Apache-2.0
#include "fialloc/curve.hpp"

#include <algorithm>
#include <cmath>

#include "fialloc/errors.hpp"

namespace fialloc {

Eigen::Index segment_index(const std::vector<double>& knots, double x) {
  const auto n = static_cast<Eigen::Index>(knots.size());
  const auto it = std::upper_bound(knots.begin(), knots.end(), x);
  const auto j = static_cast<Eigen::Index>(it - knots.begin()) - 1;
  return std::clamp<Eigen::Index>(j, 0, n - 2);
}

ZeroCurve::ZeroCurve(const double* pillar_times, const double* log_dfs, Eigen::Index n,
                     Interpolation interp, const double* spread_knots, const double* spread_values,
                     Eigen::Index n_spread)
    : interp_(interp) {
  FIALLOC_REQUIRE(n >= 1, "ZeroCurve: needs at least one pillar, got " << n);
  FIALLOC_REQUIRE(interp == Interpolation::LogLinear || interp == Interpolation::NaturalCubicZero,
                  "ZeroCurve: unknown `interpolation` code " << static_cast<int>(interp));
  t_.reserve(static_cast<std::size_t>(n) + 1);
  ldf_.reserve(static_cast<std::size_t>(n) + 1);
  t_.push_back(0.0);
  ldf_.push_back(0.0);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double t = pillar_times[i];
    const double l = log_dfs[i];
    FIALLOC_REQUIRE(std::isfinite(t) && t > t_.back(),
                    "ZeroCurve: `pillar_times` must be finite, positive and strictly increasing; "
                    "pillar " << i << " is " << t << " after " << t_.back());
    FIALLOC_REQUIRE(std::isfinite(l), "ZeroCurve: `log_dfs` must be finite; pillar " << i
                                                                                  << " is " << l);
    t_.push_back(t);
    ldf_.push_back(l);
  }
  for (Eigen::Index i = 0; i < n_spread; ++i) {
    const double k = spread_knots[i];
    const double v = spread_values[i];
    FIALLOC_REQUIRE(std::isfinite(k) && (sk_.empty() || k > sk_.back()),
                    "ZeroCurve: `spread_knots` must be finite and strictly increasing; knot "
                        << i << " is " << k);
    FIALLOC_REQUIRE(std::isfinite(v), "ZeroCurve: `spread_values` must be finite; value "
                                          << i << " is " << v);
    sk_.push_back(k);
    sv_.push_back(v);
  }
  if (interp_ == Interpolation::NaturalCubicZero) {
    fit_spline();
  }
  f_last_ = base_forward(t_.back());
}

ZeroCurve::ZeroCurve(ConstVecRef pillar_times, ConstVecRef log_dfs, Interpolation interp,
                     ConstVecRef spread_knots, ConstVecRef spread_values)
    : ZeroCurve(pillar_times.data(), log_dfs.data(), pillar_times.size(), interp,
                spread_knots.data(), spread_values.data(), spread_knots.size()) {
  FIALLOC_REQUIRE(pillar_times.size() == log_dfs.size(),
                  "ZeroCurve: `pillar_times` has " << pillar_times.size() << " entries but `log_dfs` has "
                                                   << log_dfs.size());
  FIALLOC_REQUIRE(spread_knots.size() == spread_values.size(),
                  "ZeroCurve: `spread_knots` has " << spread_knots.size()
                                                   << " entries but `spread_values` has "
                                                   << spread_values.size());
}

void ZeroCurve::fit_spline() {
  const std::size_t n = t_.size();
  z_.assign(n, 0.0);
  for (std::size_t i = 1; i < n; ++i) z_[i] = -ldf_[i] / t_[i];
  z_[0] = z_[1];
  // Natural spline: second derivatives vanish at both ends; tridiagonal system (Thomas algorithm).
  m_.assign(n, 0.0);
  if (n < 3) return;
  std::vector<double> c(n, 0.0), d(n, 0.0);
  for (std::size_t i = 1; i + 1 < n; ++i) {
    const double h0 = t_[i] - t_[i - 1];
    const double h1 = t_[i + 1] - t_[i];
    const double rhs = 6.0 * ((z_[i + 1] - z_[i]) / h1 - (z_[i] - z_[i - 1]) / h0);
    const double a = h0, b = 2.0 * (h0 + h1), cc = h1;
    const double denom = b - a * c[i - 1];
    c[i] = cc / denom;
    d[i] = (rhs - a * d[i - 1]) / denom;
  }
  for (std::size_t i = n - 2; i >= 1; --i) {
    m_[i] = d[i] - c[i] * m_[i + 1];
  }
}

double ZeroCurve::base_log_discount(double t) const {
  const double tn = t_.back();
  if (t > tn) return ldf_.back() - f_last_ * (t - tn);
  const Eigen::Index j = segment_index(t_, t);
  const double t0 = t_[static_cast<std::size_t>(j)], t1 = t_[static_cast<std::size_t>(j) + 1];
  if (interp_ == Interpolation::LogLinear) {
    const double w = (t - t0) / (t1 - t0);
    return ldf_[static_cast<std::size_t>(j)] * (1.0 - w) + ldf_[static_cast<std::size_t>(j) + 1] * w;
  }
  const auto k = static_cast<std::size_t>(j);
  const double h = t1 - t0;
  const double A = (t1 - t) / h, B = (t - t0) / h;
  const double z =
      A * z_[k] + B * z_[k + 1] + ((A * A * A - A) * m_[k] + (B * B * B - B) * m_[k + 1]) * h * h / 6.0;
  return -z * t;
}

double ZeroCurve::base_forward(double t) const {
  const double tn = t_.back();
  if (t > tn) return f_last_;
  // At t_n itself use the left segment so the extrapolated forward continues the curve.
  const Eigen::Index j = (t == tn) ? static_cast<Eigen::Index>(t_.size()) - 2 : segment_index(t_, t);
  const auto k = static_cast<std::size_t>(j);
  const double t0 = t_[k], t1 = t_[k + 1];
  const double h = t1 - t0;
  if (interp_ == Interpolation::LogLinear) return -(ldf_[k + 1] - ldf_[k]) / h;
  const double A = (t1 - t) / h, B = (t - t0) / h;
  const double z =
      A * z_[k] + B * z_[k + 1] + ((A * A * A - A) * m_[k] + (B * B * B - B) * m_[k + 1]) * h * h / 6.0;
  const double dz = (z_[k + 1] - z_[k]) / h - (3.0 * A * A - 1.0) / 6.0 * h * m_[k] +
                    (3.0 * B * B - 1.0) / 6.0 * h * m_[k + 1];
  return z + t * dz;
}

double ZeroCurve::overlay(double t) const {
  if (sk_.empty()) return 0.0;
  if (t <= sk_.front()) return sv_.front();
  if (t >= sk_.back()) return sv_.back();
  const auto k = static_cast<std::size_t>(segment_index(sk_, t));
  const double w = (t - sk_[k]) / (sk_[k + 1] - sk_[k]);
  return sv_[k] * (1.0 - w) + sv_[k + 1] * w;
}

double ZeroCurve::overlay_slope(double t) const {
  if (sk_.size() < 2 || t < sk_.front() || t >= sk_.back()) return 0.0;
  const auto k = static_cast<std::size_t>(segment_index(sk_, t));
  return (sv_[k + 1] - sv_[k]) / (sk_[k + 1] - sk_[k]);
}

double ZeroCurve::log_discount(double t) const {
  return base_log_discount(t) - overlay(t) * t;
}

void ZeroCurve::log_discount(const double* t, double* out, Eigen::Index n) const {
  for (Eigen::Index i = 0; i < n; ++i) out[i] = log_discount(t[i]);
}

double ZeroCurve::forward(double t) const {
  return base_forward(t) + overlay(t) + overlay_slope(t) * t;
}

double ZeroCurve::zero_rate(double t) const {
  if (t <= 0.0) {
    const double z0 = (interp_ == Interpolation::LogLinear) ? base_forward(0.0) : z_[0];
    return z0 + overlay(0.0);
  }
  return -log_discount(t) / t;
}

namespace {
template <class F>
VectorXd map_times(ConstVecRef t, const char* where, F&& f) {
  VectorXd out(t.size());
  for (Eigen::Index i = 0; i < t.size(); ++i) {
    FIALLOC_REQUIRE(std::isfinite(t[i]) && t[i] >= 0.0,
                    where << ": `t` must be finite and >= 0 (years); entry " << i << " is " << t[i]);
    out[i] = f(t[i]);
  }
  return out;
}
}  // namespace

VectorXd discount_factors(const ZeroCurve& curve, ConstVecRef t) {
  return map_times(t, "discount_factors", [&](double x) { return std::exp(curve.log_discount(x)); });
}

VectorXd zero_rates(const ZeroCurve& curve, ConstVecRef t) {
  return map_times(t, "zero_rates", [&](double x) { return curve.zero_rate(x); });
}

VectorXd forward_rates(const ZeroCurve& curve, ConstVecRef t) {
  return map_times(t, "forward_rates", [&](double x) { return curve.forward(x); });
}

}  // namespace fialloc
