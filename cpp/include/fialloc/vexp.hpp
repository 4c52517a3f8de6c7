// fialloc: Apache-2.0
#pragma once
//! Vectorized exponential for the pricing kernels.

#include <Eigen/Core>

namespace fialloc {

/*! x[i] <- exp(x[i]) for i < n, within 1 ulp of std::exp for x in [-708, 709] (inputs are
    clamped to that range; NaN stays NaN).

    Cody–Waite reduction x = k ln 2 + r and a degree-13 Taylor polynomial for e^r, written so the
    compiler vectorizes it; on x86-64 Linux an AVX2 clone is picked at run time. No fused
    multiply-adds are used, so every CPU gives bitwise the same results. */
void exp_inplace(double* x, Eigen::Index n);

}  // namespace fialloc
