// fialloc: Apache-2.0
#pragma once
//! One-dimensional root finding: Newton's method safeguarded by a bracket (bisection fallback).

#include <cmath>
#include <utility>

#include "fialloc/errors.hpp"

namespace fialloc {

//! solve_bracketed_newton (below) with f's values at the bracket's ends known: `flo` = f(lo),
//! `fhi` = f(hi).
template <class F>
double solve_bracketed_newton(F&& f, double lo, double hi, double flo, double fhi, double x0,
                              double xtol, int max_iter, const char* what) {
  if (flo == 0.0) return lo;
  if (fhi == 0.0) return hi;
  if ((flo > 0.0) == (fhi > 0.0)) {
    std::ostringstream os;
    os << what << ": no solution in [" << lo << ", " << hi << "] (function values " << flo << ", "
       << fhi << ")";
    throw std::domain_error(os.str());
  }
  // Orient so that f(lo) < 0 < f(hi).
  if (flo > 0.0) std::swap(lo, hi);
  double x = (x0 > std::fmin(lo, hi) && x0 < std::fmax(lo, hi)) ? x0 : 0.5 * (lo + hi);
  double dx_old = std::fabs(hi - lo);
  double dx = dx_old;
  auto [fx, dfx] = f(x);
  for (int it = 0; it < max_iter; ++it) {
    const bool newton_out = ((x - hi) * dfx - fx) * ((x - lo) * dfx - fx) > 0.0;
    const bool newton_slow = std::fabs(2.0 * fx) > std::fabs(dx_old * dfx);
    if (newton_out || newton_slow || dfx == 0.0) {
      dx_old = dx;
      dx = 0.5 * (hi - lo);
      x = lo + dx;
    } else {
      dx_old = dx;
      dx = fx / dfx;
      x -= dx;
    }
    if (std::fabs(dx) < xtol) return x;
    std::tie(fx, dfx) = f(x);
    if (fx == 0.0) return x;
    if (fx < 0.0) {
      lo = x;
    } else {
      hi = x;
    }
  }
  std::ostringstream os;
  os << what << ": no convergence after " << max_iter << " iterations (last x " << x << ", f " << fx
     << ")";
  throw ConvergenceError(os.str());
}

/*! Find x in [lo, hi] with f(x) = 0, where `f(x)` returns {value, derivative}.

    The bracket must hold a sign change; a Newton step that leaves the current bracket, or fails
    to halve it, is replaced by bisection, so the iteration converges whenever a root is
    bracketed. Stops when a step is below `xtol`. `what` prefixes error messages. */
template <class F>
double solve_bracketed_newton(F&& f, double lo, double hi, double x0, double xtol, int max_iter,
                              const char* what) {
  const double flo = f(lo).first;
  const double fhi = f(hi).first;
  return solve_bracketed_newton(std::forward<F>(f), lo, hi, flo, fhi, x0, xtol, max_iter, what);
}

}  // namespace fialloc
