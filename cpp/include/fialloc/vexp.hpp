// fialloc: Apache-2.0
#pragma once
//! Vectorized exponential and logarithm for the pricing kernels.

#include <Eigen/Core>

namespace fialloc {

/*! x[i] <- exp(x[i]) for i < n, within 1 ulp of std::exp for x in [-708, 709] (inputs are
    clamped to that range; NaN stays NaN).

    Cody–Waite reduction x = k ln 2 + r and a degree-13 Taylor polynomial for e^r, written so the
    compiler vectorizes it; on x86-64 Linux an AVX2 clone is picked at run time. No fused
    multiply-adds are used, so every CPU gives bitwise the same results. */
void exp_inplace(double* x, Eigen::Index n);

/*! x[i] <- log(x[i]) for i < n, within 2 ulp of std::log for positive normal x (the caller
    guarantees that: zero, negative, subnormal, infinite or NaN inputs give unspecified values).

    x = 2^e m with m in [sqrt(1/2), sqrt(2)), then log m = 2 atanh(s), s = (m - 1) / (m + 1),
    by its odd series to s^23 (|s| <= 0.172), written so the compiler vectorizes it. */
void log_inplace(double* x, Eigen::Index n);

}  // namespace fialloc
