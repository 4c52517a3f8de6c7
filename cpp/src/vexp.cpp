// fialloc: Apache-2.0
#include "fialloc/vexp.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

// Runtime dispatch between a baseline and an AVX2 build of the same loop (GCC/Clang on ELF).
#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#define FIALLOC_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FIALLOC_TARGET_CLONES
#endif

namespace fialloc {

FIALLOC_TARGET_CLONES
void exp_inplace(double* x, Eigen::Index n) {
  constexpr double log2e = 1.4426950408889634;
  constexpr double ln2_hi = 6.93147180369123816490e-01;
  constexpr double ln2_lo = 1.90821492927058770002e-10;
  // Adding 1.5 * 2^52 rounds to the nearest integer and leaves it in the low mantissa bits.
  constexpr double shifter = 6755399441055744.0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double v = std::min(std::max(x[i], -708.0), 709.0);
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
    x[i] = p * scale;
  }
}

}  // namespace fialloc
