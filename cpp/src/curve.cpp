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
                     Interpolation interp, Extrapolation extrap, const double* spread_knots,
                     const double* spread_values, Eigen::Index n_spread)
    : n_pillars_(n) {
  FIALLOC_REQUIRE(n >= 1, "ZeroCurve: needs at least one pillar, got " << n);
  FIALLOC_REQUIRE(interp == Interpolation::LogLinear || interp == Interpolation::NaturalCubicZero ||
                      interp == Interpolation::LinearZero ||
                      interp == Interpolation::MonotoneConvex,
                  "ZeroCurve: unknown `interpolation` code " << static_cast<int>(interp)
                                                             << "; expected 0, 1, 2 or 3");
  FIALLOC_REQUIRE(extrap == Extrapolation::FlatForward || extrap == Extrapolation::FlatZero,
                  "ZeroCurve: unknown `extrapolation` code " << static_cast<int>(extrap)
                                                             << "; expected 0 or 1");
  const auto np1 = static_cast<std::size_t>(n) + 1;
  std::vector<double> t(np1, 0.0), l(np1, 0.0);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i) + 1;
    t[k] = pillar_times[i];
    l[k] = log_dfs[i];
    FIALLOC_REQUIRE(std::isfinite(t[k]) && t[k] > t[k - 1],
                    "ZeroCurve: `pillar_times` must be finite, positive and strictly increasing; "
                    "pillar " << i << " is " << t[k] << " after " << t[k - 1]);
    FIALLOC_REQUIRE(t[k] <= kMaxPillarYears,
                    "ZeroCurve: `pillar_times` are years and end by " << kMaxPillarYears
                                                                      << "; pillar " << i << " is "
                                                                      << t[k]
                                                                      << " (days or seconds?)");
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
    degree_ = 1;
  } else if (interp == Interpolation::LinearZero) {
    // z(u) = z_j + s u on [t_j, t_{j+1}), z_0 = z_1; ln P = -(z_j + s u)(t_j + u).
    for (std::size_t j = 0; j + 1 < np1; ++j) {
      const double zj = j == 0 ? -l[1] / t[1] : -l[j] / t[j];
      const double s = j == 0 ? 0.0 : (-l[j + 1] / t[j + 1] - zj) / (t[j + 1] - t[j]);
      coef_[j] = Poly{l[j], -(zj + s * t[j]), -s, 0.0, 0.0};
    }
    degree_ = 2;
  } else if (interp == Interpolation::MonotoneConvex) {
    build_monotone_convex(t, l);
    degree_ = 4;  // cubic pieces; the walk has no degree-3 instance
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
    degree_ = 4;
  }
  // The open-ended segment beyond the last pillar.
  {
    const std::size_t last = knots_.size() - 1;
    const Poly& c = coef_[last - 1];
    const double u = knots_[last] - knots_[last - 1];
    const double f_last = -(c[1] + u * (2.0 * c[2] + u * (3.0 * c[3] + u * 4.0 * c[4])));
    const double slope = extrap == Extrapolation::FlatForward ? -f_last : l[np1 - 1] / t[np1 - 1];
    coef_[last] = Poly{l[np1 - 1], slope, 0.0, 0.0, 0.0};
  }
  if (n_spread > 0) add_overlay(spread_knots, spread_values, n_spread);
  build_buckets();
}

void ZeroCurve::build_monotone_convex(const std::vector<double>& t, const std::vector<double>& l) {
  const std::size_t n = t.size() - 1;  // pillar gaps
  std::vector<double> fd(n + 1, 0.0), f(n + 1, 0.0);  // fd[i]: discrete forward on gap i (1-based)
  for (std::size_t i = 1; i <= n; ++i) fd[i] = -(l[i] - l[i - 1]) / (t[i] - t[i - 1]);
  for (std::size_t i = 1; i < n; ++i) {
    const double w = t[i + 1] - t[i - 1];
    f[i] = (t[i] - t[i - 1]) / w * fd[i + 1] + (t[i + 1] - t[i]) / w * fd[i];
  }
  if (n == 1) {
    f[0] = f[1] = fd[1];
  } else {
    f[0] = fd[1] - 0.5 * (f[1] - fd[1]);
    f[n] = fd[n] - 0.5 * (f[n - 1] - fd[n]);
  }
  std::vector<double> knots;
  std::vector<Poly> coef;
  for (std::size_t i = 1; i <= n; ++i) {
    const double t0 = t[i - 1], h = t[i] - t0;
    const double g0 = f[i - 1] - fd[i], g1 = f[i] - fd[i];
    // Pieces of g on x = (t - t0) / h in [0, 1]: start x_a and g = p0 + p1 y + p2 y^2, y = x - x_a.
    struct Piece {
      double xa, p0, p1, p2;
    };
    std::array<Piece, 2> pieces{};
    std::size_t np = 1;
    if (g0 == 0.0 && g1 == 0.0) {
      pieces[0] = {0.0, 0.0, 0.0, 0.0};
    } else if ((g0 < 0.0 && -0.5 * g0 <= g1 && g1 <= -2.0 * g0) ||
               (g0 > 0.0 && -0.5 * g0 >= g1 && g1 >= -2.0 * g0)) {
      pieces[0] = {0.0, g0, -4.0 * g0 - 2.0 * g1, 3.0 * (g0 + g1)};
    } else if ((g0 < 0.0 && g1 > -2.0 * g0) || (g0 > 0.0 && g1 < -2.0 * g0)) {
      const double eta = (g1 + 2.0 * g0) / (g1 - g0);
      pieces = {Piece{0.0, g0, 0.0, 0.0},
                Piece{eta, g0, 0.0, (g1 - g0) / ((1.0 - eta) * (1.0 - eta))}};
      np = 2;
    } else if ((g0 > 0.0 && 0.0 > g1 && g1 > -0.5 * g0) ||
               (g0 < 0.0 && 0.0 < g1 && g1 < -0.5 * g0)) {
      const double eta = 3.0 * g1 / (g1 - g0);
      pieces = {Piece{0.0, g0, -2.0 * (g0 - g1) / eta, (g0 - g1) / (eta * eta)},
                Piece{eta, g1, 0.0, 0.0}};
      np = 2;
    } else {  // same signs, or one of them zero
      const double eta = g1 / (g1 + g0);
      const double a = -g0 * g1 / (g0 + g1);
      const Piece left{0.0, g0, eta > 0.0 ? -2.0 * (g0 - a) / eta : 0.0,
                       eta > 0.0 ? (g0 - a) / (eta * eta) : 0.0};
      const Piece right{eta, a, 0.0, eta < 1.0 ? (g1 - a) / ((1.0 - eta) * (1.0 - eta)) : 0.0};
      if (eta <= 0.0) {
        pieces[0] = {0.0, a, 0.0, right.p2};
      } else if (eta >= 1.0) {
        pieces[0] = left;
      } else {
        pieces = {left, right};
        np = 2;
      }
    }
    // ln P(k + v) = L_k - (fd + p0) v - p1 v^2 / (2h) - p2 v^3 / (3h^2) from each piece's knot k.
    // A piece too thin to get a knot strictly inside the gap gives way to its neighbour.
    auto poly = [&](const Piece& pc, double lk) {
      return Poly{lk, -(fd[i] + pc.p0), -pc.p1 / (2.0 * h), -pc.p2 / (3.0 * h * h), 0.0};
    };
    knots.push_back(t0);
    coef.push_back(poly(pieces[0], l[i - 1]));
    if (np == 2) {
      const double k = t0 + pieces[1].xa * h;
      if (!(k > t0)) {
        coef.back() = poly(pieces[1], l[i - 1]);
      } else if (k < t[i]) {
        const Poly& c = coef.back();
        const double v = k - t0;
        knots.push_back(k);
        coef.push_back(poly(pieces[1], c[0] + v * (c[1] + v * (c[2] + v * c[3]))));
      }
    }
  }
  knots.push_back(t[n]);
  coef.push_back(Poly{l[n], 0.0, 0.0, 0.0, 0.0});  // replaced by the extrapolation
  knots_ = std::move(knots);
  coef_ = std::move(coef);
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
                     Extrapolation extrap, ConstVecRef spread_knots, ConstVecRef spread_values)
    : ZeroCurve(checked_pillars(pillar_times, log_dfs, spread_knots, spread_values),
                log_dfs.data(), pillar_times.size(), interp, extrap, spread_knots.data(),
                spread_values.data(), spread_knots.size()) {}

void ZeroCurve::add_overlay(const double* sk, const double* sv, Eigen::Index n) {
  for (Eigen::Index i = 0; i < n; ++i) {
    FIALLOC_REQUIRE(std::isfinite(sk[i]) && (i == 0 || sk[i] > sk[i - 1]),
                    "ZeroCurve: `spread_knots` must be finite and strictly increasing; knot "
                        << i << " is " << sk[i]);
    FIALLOC_REQUIRE(sk[i] <= kMaxPillarYears, "ZeroCurve: `spread_knots` are years and end by "
                                                  << kMaxPillarYears << "; knot " << i << " is "
                                                  << sk[i] << " (days or seconds?)");
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

bool ZeroCurve::segments_sorted(const double* t, std::int32_t* seg, Eigen::Index n) const {
  // Validity first, in a loop the compiler vectorizes; NaN fails every comparison.
  if (n == 0) return true;
  Eigen::Index bad = !(t[0] >= 0.0) + !(t[n - 1] < kInf);
  for (Eigen::Index i = 1; i < n; ++i) bad += !(t[i] >= t[i - 1]);
  if (bad != 0) return false;  // the bucket lookup below needs finite, non-negative times
  // A bucket table plus a rarely taken step, so no iteration waits on the previous one (a
  // knot-by-knot walk chains every flow to the last through a load).
  const auto last = static_cast<std::int32_t>(knots_.size()) - 1;
  const double* knots = knots_.data();
  const std::int32_t* bucket = bucket_.data();
  const double max_bucket = static_cast<double>(bucket_.size() - 1);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double x = t[i];
    const double b = std::min(x * kBucketsPerYear, max_bucket);
    std::int32_t j = bucket[static_cast<int>(b)];
    while (j < last && x >= knots[j + 1]) ++j;
    seg[i] = j;
  }
  return true;
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
