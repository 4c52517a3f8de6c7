// fialloc: Apache-2.0
#include "fialloc/curve.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "fialloc/errors.hpp"

namespace fialloc {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Coefficients of p(u + d) given those of p(u): repeated synthetic division (Taylor shift).
std::array<double, 5> shift_poly(std::array<double, 5> c, double d) {
  for (int i = 0; i < 4; ++i) {
    for (int j = 3; j >= i; --j) c[static_cast<std::size_t>(j)] += d * c[static_cast<std::size_t>(j) + 1];
  }
  return c;
}

}  // namespace

ZeroCurve::ZeroCurve(const double* pillar_times, const double* log_dfs, Eigen::Index n,
                     Interpolation interp, const double* spread_knots, const double* spread_values,
                     Eigen::Index n_spread)
    : n_pillars_(n) {
  FIALLOC_REQUIRE(n >= 1, "ZeroCurve: needs at least one pillar, got " << n);
  FIALLOC_REQUIRE(interp == Interpolation::LogLinear || interp == Interpolation::NaturalCubicZero,
                  "ZeroCurve: unknown `interpolation` code " << static_cast<int>(interp));
  const auto np1 = static_cast<std::size_t>(n) + 1;
  std::vector<double> t(np1, 0.0), l(np1, 0.0);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i) + 1;
    t[k] = pillar_times[i];
    l[k] = log_dfs[i];
    FIALLOC_REQUIRE(std::isfinite(t[k]) && t[k] > t[k - 1],
                    "ZeroCurve: `pillar_times` must be finite, positive and strictly increasing; "
                    "pillar " << i << " is " << t[k] << " after " << t[k - 1]);
    FIALLOC_REQUIRE(std::isfinite(l[k]), "ZeroCurve: `log_dfs` must be finite; pillar "
                                             << i << " is " << l[k]);
  }
  knots_ = t;
  coef_.assign(np1, Poly{0.0, 0.0, 0.0, 0.0, 0.0});
  if (interp == Interpolation::LogLinear) {
    for (std::size_t j = 0; j + 1 < np1; ++j) {
      coef_[j][0] = l[j];
      coef_[j][1] = (l[j + 1] - l[j]) / (t[j + 1] - t[j]);
    }
  } else {
    // Natural cubic spline through zero rates z_j = -l_j / t_j, with z_0 = z_1 at t = 0.
    std::vector<double> z(np1), m(np1, 0.0), c(np1, 0.0), d(np1, 0.0);
    for (std::size_t i = 1; i < np1; ++i) z[i] = -l[i] / t[i];
    z[0] = z[1];
    for (std::size_t i = 1; i + 1 < np1; ++i) {  // Thomas algorithm, m_0 = m_n = 0
      const double h0 = t[i] - t[i - 1], h1 = t[i + 1] - t[i];
      const double rhs = 6.0 * ((z[i + 1] - z[i]) / h1 - (z[i] - z[i - 1]) / h0);
      const double denom = 2.0 * (h0 + h1) - h0 * c[i - 1];
      c[i] = h1 / denom;
      d[i] = (rhs - h0 * d[i - 1]) / denom;
    }
    for (std::size_t i = np1 - 2; i >= 1; --i) m[i] = d[i] - c[i] * m[i + 1];
    for (std::size_t j = 0; j + 1 < np1; ++j) {
      const double h = t[j + 1] - t[j];
      // z(u) = a0 + a1 u + a2 u^2 + a3 u^3 on [t_j, t_{j+1}); ln P = -z(u) (t_j + u).
      const double a0 = z[j];
      const double a1 = (z[j + 1] - z[j]) / h - h * (2.0 * m[j] + m[j + 1]) / 6.0;
      const double a2 = 0.5 * m[j];
      const double a3 = (m[j + 1] - m[j]) / (6.0 * h);
      const double tj = t[j];
      coef_[j] = Poly{-tj * a0, -(a0 + tj * a1), -(a1 + tj * a2), -(a2 + tj * a3), -a3};
    }
  }
  // Flat forward beyond the last pillar, at the forward the last segment ends with.
  {
    const std::size_t j = np1 - 2;
    const Poly& c = coef_[j];
    const double u = t[np1 - 1] - t[j];
    const double f_last = -(c[1] + u * (2.0 * c[2] + u * (3.0 * c[3] + u * 4.0 * c[4])));
    coef_[np1 - 1] = Poly{l[np1 - 1], -f_last, 0.0, 0.0, 0.0};
  }
  degree_ = interp == Interpolation::LogLinear ? 1 : 4;
  if (n_spread > 0) add_overlay(spread_knots, spread_values, n_spread);
  build_buckets();
}

namespace {
// Runs before the delegated constructor reads the arrays, so mismatched lengths never index
// past an end.
const double* checked_pillars(ConstVecRef pillar_times, ConstVecRef log_dfs,
                              ConstVecRef spread_knots, ConstVecRef spread_values) {
  FIALLOC_REQUIRE(pillar_times.size() == log_dfs.size(),
                  "ZeroCurve: `pillar_times` has " << pillar_times.size()
                                                   << " entries but `log_dfs` has "
                                                   << log_dfs.size());
  FIALLOC_REQUIRE(spread_knots.size() == spread_values.size(),
                  "ZeroCurve: `spread_knots` has " << spread_knots.size()
                                                   << " entries but `spread_values` has "
                                                   << spread_values.size());
  return pillar_times.data();
}
}  // namespace

ZeroCurve::ZeroCurve(ConstVecRef pillar_times, ConstVecRef log_dfs, Interpolation interp,
                     ConstVecRef spread_knots, ConstVecRef spread_values)
    : ZeroCurve(checked_pillars(pillar_times, log_dfs, spread_knots, spread_values),
                log_dfs.data(), pillar_times.size(), interp, spread_knots.data(),
                spread_values.data(), spread_knots.size()) {}

void ZeroCurve::add_overlay(const double* sk, const double* sv, Eigen::Index n) {
  for (Eigen::Index i = 0; i < n; ++i) {
    FIALLOC_REQUIRE(std::isfinite(sk[i]) && (i == 0 || sk[i] > sk[i - 1]),
                    "ZeroCurve: `spread_knots` must be finite and strictly increasing; knot "
                        << i << " is " << sk[i]);
    FIALLOC_REQUIRE(std::isfinite(sv[i]), "ZeroCurve: `spread_values` must be finite; value "
                                              << i << " is " << sv[i]);
  }
  std::vector<double> merged(knots_);
  for (Eigen::Index i = 0; i < n; ++i) {
    if (sk[i] > 0.0) merged.push_back(sk[i]);
  }
  std::sort(merged.begin(), merged.end());
  merged.erase(std::unique(merged.begin(), merged.end()), merged.end());

  std::vector<Poly> coef(merged.size());
  for (std::size_t j = 0; j < merged.size(); ++j) {
    const double k = merged[j];
    const auto b = static_cast<std::size_t>(segment(k));
    Poly c = shift_poly(coef_[b], k - knots_[b]);
    // Overlay on [k, next knot): s(t) = s0 + s1 (t - k), flat outside the overlay's knots.
    double s0, s1 = 0.0;
    if (k < sk[0]) {
      s0 = sv[0];
    } else if (k >= sk[n - 1]) {
      s0 = sv[n - 1];
    } else {
      const auto i = static_cast<Eigen::Index>(std::upper_bound(sk, sk + n, k) - sk) - 1;
      s1 = (sv[i + 1] - sv[i]) / (sk[i + 1] - sk[i]);
      s0 = sv[i] + s1 * (k - sk[i]);
    }
    // ln P gains -s(t) t = -(s0 + s1 u)(k + u).
    c[0] -= s0 * k;
    c[1] -= s0 + s1 * k;
    c[2] -= s1;
    coef[j] = c;
  }
  knots_ = std::move(merged);
  coef_ = std::move(coef);
  degree_ = std::max(degree_, 2);
}

Eigen::Index ZeroCurve::segment(double t) const {
  const auto it = std::upper_bound(knots_.begin() + 1, knots_.end(), t);
  return static_cast<Eigen::Index>(it - knots_.begin()) - 1;
}

void ZeroCurve::build_buckets() {
  const double t_last = knots_.back();
  const auto nb = static_cast<std::size_t>(t_last * kBucketsPerYear) + 2;
  bucket_.resize(nb);
  std::size_t j = 0;
  for (std::size_t b = 0; b < nb; ++b) {
    const double x = static_cast<double>(b) / kBucketsPerYear;
    while (j + 1 < knots_.size() && x >= knots_[j + 1]) ++j;
    bucket_[b] = static_cast<std::int32_t>(j);
  }
}

template <int Deg>
void ZeroCurve::log_discount_walk(const double* t, double z, double* out, Eigen::Index n) const {
  // The segment comes from a bucket table plus a rarely taken step, so no iteration waits on the
  // previous one (a knot-by-knot walk chains every flow to the last through a load).
  const auto last = static_cast<Eigen::Index>(knots_.size()) - 1;
  const double* knots = knots_.data();
  const Poly* coef = coef_.data();
  const std::int32_t* bucket = bucket_.data();
  const double max_bucket = static_cast<double>(bucket_.size() - 1);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double x = t[i];
    const double b = std::min(std::max(x * kBucketsPerYear, 0.0), max_bucket);
    Eigen::Index j = bucket[static_cast<int>(b)];
    while (j < last && x >= knots[j + 1]) ++j;
    const Poly& c = coef[j];
    const double u = x - knots[j];
    double p = c[Deg];
    for (int d = Deg - 1; d >= 0; --d) p = p * u + c[static_cast<std::size_t>(d)];
    out[i] = p - z * x;
  }
}

bool ZeroCurve::log_discount_sorted(const double* t, double z, double* out, Eigen::Index n) const {
  // Validity first, in a loop the compiler vectorizes; NaN fails every comparison.
  if (n == 0) return true;
  Eigen::Index bad = !(t[0] >= 0.0) + !(t[n - 1] < kInf);
  for (Eigen::Index i = 1; i < n; ++i) bad += !(t[i] >= t[i - 1]);
  if (bad != 0) return false;  // the bucket lookup below needs finite, non-negative times
  switch (degree_) {
    case 1: log_discount_walk<1>(t, z, out, n); break;
    case 2: log_discount_walk<2>(t, z, out, n); break;
    default: log_discount_walk<4>(t, z, out, n); break;
  }
  return bad == 0;
}

double ZeroCurve::forward(double t) const {
  const auto j = static_cast<std::size_t>(segment(t));
  const Poly& c = coef_[j];
  const double u = t - knots_[j];
  return -(c[1] + u * (2.0 * c[2] + u * (3.0 * c[3] + u * 4.0 * c[4])));
}

double ZeroCurve::zero_rate(double t) const {
  // ln P(0, t) ~ c1 t near 0 on the first segment, so the limit is -c1.
  if (t <= 0.0) return -coef_[0][1];
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
