// fialloc: Apache-2.0
#include "fialloc/g2_calibration.hpp"

#include <cmath>
#include <vector>

#include "fialloc/errors.hpp"
#include "fialloc/solver.hpp"

namespace fialloc {

namespace {

// A value and its derivatives in the five G2++ parameters (forward-mode differentiation).
struct Dual {
  double v = 0.0;
  std::array<double, 5> d{};

  Dual() = default;
  Dual(double value) : v(value) {}  // NOLINT: constants mix freely with duals
  Dual(double value, int k) : v(value) { d[static_cast<std::size_t>(k)] = 1.0; }
};

Dual scaled(const Dual& x, double value, double slope) {
  Dual r(value);
  for (std::size_t k = 0; k < 5; ++k) r.d[k] = x.d[k] * slope;
  return r;
}
Dual operator+(const Dual& a, const Dual& b) {
  Dual r(a.v + b.v);
  for (std::size_t k = 0; k < 5; ++k) r.d[k] = a.d[k] + b.d[k];
  return r;
}
Dual operator-(const Dual& a, const Dual& b) {
  Dual r(a.v - b.v);
  for (std::size_t k = 0; k < 5; ++k) r.d[k] = a.d[k] - b.d[k];
  return r;
}
Dual operator-(const Dual& a) { return scaled(a, -a.v, -1.0); }
Dual operator*(const Dual& a, const Dual& b) {
  Dual r(a.v * b.v);
  for (std::size_t k = 0; k < 5; ++k) r.d[k] = a.d[k] * b.v + a.v * b.d[k];
  return r;
}
Dual operator/(const Dual& a, const Dual& b) {
  const double q = a.v / b.v;
  Dual r(q);
  for (std::size_t k = 0; k < 5; ++k) r.d[k] = (a.d[k] - q * b.d[k]) / b.v;
  return r;
}
Dual& operator+=(Dual& a, const Dual& b) { return a = a + b; }
// The exponential for plain values and duals (the library's: these loops are scalar, where
// its table-driven exp beats the core's vectorizable polynomial).
double xexp(double x) { return std::exp(x); }
Dual xexp(const Dual& x) {
  const double e = std::exp(x.v);
  return scaled(x, e, e);
}
Dual expm1(const Dual& x) { return scaled(x, std::expm1(x.v), std::exp(x.v)); }
Dual sqrt(const Dual& x) {
  const double s = std::sqrt(x.v);
  return scaled(x, s, 0.5 / s);
}

constexpr double kInvSqrt2Pi = 0.3989422804014327;
double norm_cdf(double v) { return 0.5 * std::erfc(-v / std::sqrt(2.0)); }
Dual norm_cdf(const Dual& x) { return scaled(x, norm_cdf(x.v), kInvSqrt2Pi * std::exp(-0.5 * x.v * x.v)); }

double value(double x) { return x; }
double value(const Dual& x) { return x.v; }

// 8-point Gauss-Legendre nodes and weights on [-1, 1].
constexpr std::array<double, 8> kGLx = {-0.9602898564975363, -0.7966664774136267,
                                        -0.5255324099163290, -0.1834346424956498,
                                        0.1834346424956498,  0.5255324099163290,
                                        0.7966664774136267,  0.9602898564975363};
constexpr std::array<double, 8> kGLw = {0.1012285362903763, 0.2223810344533745,
                                        0.3137066458778873, 0.3626837833783620,
                                        0.3626837833783620, 0.3137066458778873,
                                        0.2223810344533745, 0.1012285362903763};

template <class T>
T b_fn(const T& k, double tau) {
  using std::expm1;
  return -expm1(-k * tau) / k;
}

// V(t, T) of g2.hpp for T - t = tau.
template <class T>
T g2_v_t(const std::array<T, 5>& p, double tau) {
  const T &a = p[0], &s = p[1], &b = p[2], &e = p[3], &r = p[4];
  const T ea = xexp(-a * tau), eb = xexp(-b * tau), eab = xexp(-(a + b) * tau);
  const T vx = s * s / (a * a) * (T(tau) + 2.0 / a * ea - 0.5 / a * ea * ea - 1.5 / a);
  const T vy = e * e / (b * b) * (T(tau) + 2.0 / b * eb - 0.5 / b * eb * eb - 1.5 / b);
  const T vxy = 2.0 * r * s * e / (a * b) * (T(tau) + (ea - 1.0) / a + (eb - 1.0) / b - (eab - 1.0) / (a + b));
  return vx + vy + vxy;
}

/* The critical y at which the fixed leg sum S(y) = sum lambda_i e^{-bb_i y} is worth par.
   Newton's method on ln S, which is convex, decreasing and close to linear far from the root (a
   log-sum-exp), so it converges from any start without the long overshoots Newton on S makes;
   it starts from the previous nodes' roots extrapolated to this node. A bracket is found and the
   safeguarded solver used only if Newton fails to settle. */
double critical_y(const std::vector<double>& lambda, const std::vector<double>& bb, double start,
                  double muy, double sy, const char* where) {
  const std::size_t n = lambda.size();
  auto fn = [&](double yv) {
    double f = -1.0, d = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double t = lambda[i] * xexp(-bb[i] * yv);
      f += t;
      d -= bb[i] * t;
    }
    return std::make_pair(f, d);
  };
  // The error after a step dy is of order dy^2 times the curvature of ln S over its slope (at
  // most the longest bb, the tenor in years): a step under 1e-9 leaves an error below 1e-16.
  double y = start;
  for (int it = 0; it < 60; ++it) {
    const auto [f, d] = fn(y);
    const double dy = std::log1p(f) * (f + 1.0) / d;
    if (!std::isfinite(dy)) break;
    y -= dy;
    if (std::fabs(dy) < 1e-9) return y;
  }
  double lo = muy - 10.0 * sy, hi = muy + 10.0 * sy, step = 10.0 * sy;
  for (int k = 0; fn(lo).first < 0.0; ++k, step *= 2.0) {
    FIALLOC_REQUIRE(k < 200 && std::isfinite(lo), where << ": no bracket for the swap's critical y");
    lo -= step;
  }
  step = 10.0 * sy;
  for (int k = 0; fn(hi).first > 0.0; ++k, step *= 2.0) {
    FIALLOC_REQUIRE(k < 200 && std::isfinite(hi), where << ": no bracket for the swap's critical y");
    hi += step;
  }
  return solve_bracketed_newton([&](double yv) {
    const auto [f, d] = fn(yv);
    return std::make_pair(-f, -d);  // increasing form for the solver
  }, lo, hi, muy, 1e-14, 200, where);
}

// One swaption's price per unit notional (omega = 1 payer, -1 receiver), in T = double or Dual.
template <class T>
T swaption_price(const std::array<T, 5>& p, double expiry, double log_df_expiry, const double* pay,
                 const double* acc, const double* log_df_pay, Eigen::Index n, double strike,
                 double omega, double range, int intervals, const char* where) {
  using std::sqrt;
  const T &a = p[0], &s = p[1], &b = p[2], &e = p[3], &r = p[4];
  const double Tx = expiry;
  const T mux = -(s * s / (a * a) + r * s * e / (a * b)) * (1.0 - xexp(-a * Tx)) +
                s * s / (2.0 * a * a) * (1.0 - xexp(-2.0 * a * Tx)) +
                r * s * e / (b * (a + b)) * (1.0 - xexp(-(a + b) * Tx));
  const T muy = -(e * e / (b * b) + r * s * e / (a * b)) * (1.0 - xexp(-b * Tx)) +
                e * e / (2.0 * b * b) * (1.0 - xexp(-2.0 * b * Tx)) +
                r * s * e / (a * (a + b)) * (1.0 - xexp(-(a + b) * Tx));
  const T sx = s * sqrt(b_fn(2.0 * a, Tx));
  const T sy = e * sqrt(b_fn(2.0 * b, Tx));
  const T rxy = r * s * e / ((a + b) * sx * sy) * (1.0 - xexp(-(a + b) * Tx));
  const T srt = sqrt(1.0 - rxy * rxy);

  const auto nn = static_cast<std::size_t>(n);
  const T sy_srt = sy * srt;
  const T half_var = 0.5 * srt * srt * sy * sy;
  // Per payment: ln(c A), B_a and B_b of its time from expiry, the shift of its h2 over h1 and
  // the constant part of its kappa; hoisted out of the nodes, which only add x-dependent terms.
  std::vector<T> ln_ca(nn), ba(nn), bb(nn), shift(nn), kappa0(nn), arg(nn);
  std::vector<double> lam_v(nn), bb_v(nn);
  const T vT = g2_v_t(p, Tx);
  for (std::size_t i = 0; i < nn; ++i) {
    const double c = strike * acc[i] + (i + 1 == nn ? 1.0 : 0.0);
    const double tau = pay[i] - Tx;
    ln_ca[i] = (std::log(c) + log_df_pay[i] - log_df_expiry) +
               0.5 * (g2_v_t(p, tau) - g2_v_t(p, pay[i]) + vT);
    ba[i] = b_fn(a, tau);
    bb[i] = b_fn(b, tau);
    bb_v[i] = value(bb[i]);
    shift[i] = bb[i] * sy_srt;
    kappa0[i] = half_var * bb[i] * bb[i];
  }
  // The critical y of the last two nodes: the next one starts from their line through x.
  double x0 = 0.0, y0 = value(muy), x1 = 0.0, y1 = value(muy);
  int seen = 0;
  auto integrand = [&](const T& xv) {
    // lambda_i = c_i A_i e^{-B_a x} = e^{arg_i}.
    for (std::size_t i = 0; i < nn; ++i) {
      arg[i] = ln_ca[i] - ba[i] * xv;
      lam_v[i] = xexp(value(arg[i]));
    }
    const double xd = value(xv);
    const double start = seen >= 2 ? y1 + (y1 - y0) / (x1 - x0) * (xd - x1) : y1;
    const double yb = critical_y(lam_v, bb_v, start, value(muy), value(sy), where);
    x0 = x1;
    y0 = y1;
    x1 = xd;
    y1 = yb;
    ++seen;
    // One Newton correction in T: zero in value, the implicit derivative in the duals.
    T f = T(-1.0);
    double dfdy = 0.0;
    for (std::size_t i = 0; i < nn; ++i) {
      const T t = xexp(arg[i] - bb[i] * yb);
      f += t;
      dfdy -= bb_v[i] * value(t);
    }
    const T ybar = yb - f / dfdy;
    const T dxm = xv - mux;
    const T h1 = (ybar - muy) / sy_srt - rxy * dxm / (sx * srt);
    // kappa_i = -B_b (muy - half_var B_b + rxy sy (x - mux) / sx) = kappa0_i - B_b drift.
    const T drift = muy + rxy * sy * dxm / sx;
    T sum = T(0.0);
    for (std::size_t i = 0; i < nn; ++i) {
      sum += xexp(arg[i] + kappa0[i] - bb[i] * drift) * norm_cdf(-omega * (h1 + shift[i]));
    }
    const T z = dxm / sx;
    return xexp(-0.5 * z * z) / (sx * 2.5066282746310002) * (norm_cdf(-omega * h1) - sum);
  };
  const T lo = mux - range * sx, width = 2.0 * range * sx / static_cast<double>(intervals);
  T total = T(0.0);
  for (int k = 0; k < intervals; ++k) {
    const T mid = lo + (static_cast<double>(k) + 0.5) * width, half = 0.5 * width;
    for (std::size_t q = 0; q < kGLx.size(); ++q) total += kGLw[q] * half * integrand(mid + half * kGLx[q]);
  }
  return omega * std::exp(log_df_expiry) * total;
}

}  // namespace

double g2_swaption_price(const G2Params& p, double expiry, double log_df_expiry, const double* pay,
                         const double* accruals, const double* log_df_pay, Eigen::Index n,
                         double strike, double omega, double range, int intervals) {
  return swaption_price(std::array<double, 5>{p.a, p.sigma, p.b, p.eta, p.rho}, expiry,
                        log_df_expiry, pay, accruals, log_df_pay, n, strike, omega, range,
                        intervals, "g2_swaption");
}

SwaptionPrices g2_swaption_prices(const G2Params& p, const SwaptionBook& book, bool gradient,
                                  double range, int intervals) {
  const char* where = "g2_swaption_prices";
  check_g2(p, where);
  const Eigen::Index ns = book.expiry.size();
  FIALLOC_REQUIRE(book.log_df_expiry.size() == ns && book.strike.size() == ns &&
                      book.offsets.size() == ns + 1,
                  where << ": `expiry`, `log_df_expiry` and `strike` need one entry per swaption and "
                           "`offsets` one more; got "
                        << ns << ", " << book.log_df_expiry.size() << ", " << book.strike.size()
                        << " and " << book.offsets.size());
  const Eigen::Index nf = book.pay_times.size();
  FIALLOC_REQUIRE(book.accruals.size() == nf && book.log_df_pay.size() == nf,
                  where << ": `pay_times`, `accruals` and `log_df_pay` have " << nf << ", "
                        << book.accruals.size() << " and " << book.log_df_pay.size() << " entries");
  FIALLOC_REQUIRE(ns == 0 || (book.offsets[0] == 0 && book.offsets[ns] == nf),
                  where << ": `offsets` must run from 0 to the number of payments " << nf);
  FIALLOC_REQUIRE(std::isfinite(range) && range > 0.0 && intervals >= 1 && intervals <= 10000,
                  where << ": `range` must be positive and `intervals` in 1..10000");
  for (Eigen::Index i = 0; i < ns; ++i) {
    const Eigen::Index b = book.offsets[i], e = book.offsets[i + 1];
    FIALLOC_REQUIRE(e > b, where << ": swaption " << i << " has no fixed-leg payments");
    FIALLOC_REQUIRE(std::isfinite(book.expiry[i]) && book.expiry[i] > 0.0 &&
                        std::isfinite(book.log_df_expiry[i]) && std::isfinite(book.strike[i]) &&
                        book.strike[i] >= 0.0,
                    where << ": swaption " << i << " needs a positive expiry, a finite log "
                                                   "discount factor and a non-negative strike");
    for (Eigen::Index j = b; j < e; ++j) {
      FIALLOC_REQUIRE(std::isfinite(book.pay_times[j]) &&
                          book.pay_times[j] > (j == b ? book.expiry[i] : book.pay_times[j - 1]) &&
                          std::isfinite(book.accruals[j]) && book.accruals[j] > 0.0 &&
                          std::isfinite(book.log_df_pay[j]),
                      where << ": swaption " << i << " payment " << (j - b)
                            << " must be after the expiry and the previous payment, with a "
                               "positive accrual and a finite log discount factor");
    }
  }
  SwaptionPrices out{VectorXd(ns), gradient ? RowMatrixXd(ns, 5) : RowMatrixXd(0, 5)};
  const std::array<double, 5> pd{p.a, p.sigma, p.b, p.eta, p.rho};
  std::array<Dual, 5> pdual;
  for (int k = 0; k < 5; ++k) pdual[static_cast<std::size_t>(k)] = Dual(pd[static_cast<std::size_t>(k)], k);
  for (Eigen::Index i = 0; i < ns; ++i) {
    const Eigen::Index b = book.offsets[i], n = book.offsets[i + 1] - b;
    const double* pay = book.pay_times.data() + b;
    const double* acc = book.accruals.data() + b;
    const double* ldf = book.log_df_pay.data() + b;
    if (gradient) {
      const Dual v = swaption_price(pdual, book.expiry[i], book.log_df_expiry[i], pay, acc, ldf, n,
                                    book.strike[i], 1.0, range, intervals, where);
      out.price[i] = v.v;
      for (Eigen::Index k = 0; k < 5; ++k) out.grad(i, k) = v.d[static_cast<std::size_t>(k)];
    } else {
      out.price[i] = swaption_price(pd, book.expiry[i], book.log_df_expiry[i], pay, acc, ldf, n,
                                    book.strike[i], 1.0, range, intervals, where);
    }
  }
  return out;
}

}  // namespace fialloc
