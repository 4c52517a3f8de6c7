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

FIALLOC_TARGET_CLONES
void log_inplace(double* x, Eigen::Index n) {
  constexpr double ln2_hi = 6.93147180369123816490e-01;
  constexpr double ln2_lo = 1.90821492927058770002e-10;
  constexpr std::uint64_t mantissa_mask = (std::uint64_t{1} << 52) - 1;
  constexpr std::uint64_t one_bits = std::uint64_t{1023} << 52;
  for (Eigen::Index i = 0; i < n; ++i) {
    std::uint64_t bits;
    std::memcpy(&bits, &x[i], sizeof bits);
    double m;
    const std::uint64_t m_bits = (bits & mantissa_mask) | one_bits;  // m in [1, 2)
    std::memcpy(&m, &m_bits, sizeof m);
    double e = static_cast<double>(static_cast<std::int64_t>(bits >> 52) - 1023);
    const bool high = m > 1.4142135623730951;
    m = high ? 0.5 * m : m;
    e = high ? e + 1.0 : e;
    const double s = (m - 1.0) / (m + 1.0);
    const double s2 = s * s;
    double p = 1.0 / 23.0;
    p = p * s2 + 1.0 / 21.0;
    p = p * s2 + 1.0 / 19.0;
    p = p * s2 + 1.0 / 17.0;
    p = p * s2 + 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    const double log_m = 2.0 * s + 2.0 * s * s2 * p;
    x[i] = (e * ln2_hi + log_m) + e * ln2_lo;
  }
}

}  // namespace fialloc
