// fialloc: Apache-2.0
#pragma once
//! Vectorized exponential for the pricing kernels.

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <cstring>

// Runtime dispatch between baseline, AVX2 and AVX-512 builds of the same loop (GCC/Clang on ELF).
#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#define FIALLOC_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FIALLOC_TARGET_CLONES
#endif

namespace fialloc {

/*! exp(x) within 1 ulp of std::exp for x in [-708, 709] (inputs are clamped to that range; NaN
    stays NaN). Inline so that the pricing loops, compiled with FIALLOC_TARGET_CLONES, vectorize
    it together with the rest of their body.

    Cody–Waite reduction x = k ln 2 + r and a degree-13 Taylor polynomial for e^r. No fused
    multiply-adds are used, so every CPU gives bitwise the same results. */
inline double exp_value(double x) {
  constexpr double log2e = 1.4426950408889634;
  constexpr double ln2_hi = 6.93147180369123816490e-01;
  constexpr double ln2_lo = 1.90821492927058770002e-10;
  // Adding 1.5 * 2^52 rounds to the nearest integer and leaves it in the low mantissa bits.
  constexpr double shifter = 6755399441055744.0;
  const double v = std::min(std::max(x, -708.0), 709.0);
  const double y = v * log2e + shifter;
  const double k = y - shifter;
  const double r = (v - k * ln2_hi) - k * ln2_lo;  // |r| <= ln(2) / 2
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  std::int64_t bits;
  std::memcpy(&bits, &y, sizeof bits);
  const std::int64_t scale_bits = (bits + 1023) << 52;  // 2^k
  double scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  return p * scale;
}

//! x[i] <- exp_value(x[i]) for i < n; on x86-64 Linux an AVX2 clone is picked at run time.
void exp_inplace(double* x, Eigen::Index n);

}  // namespace fialloc
