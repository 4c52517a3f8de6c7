// fialloc: Apache-2.0
#pragma once
//! Vectorized exponential for the pricing kernels.

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

// Runtime dispatch between baseline, AVX2 and AVX-512 builds of the same loop (GCC/Clang on ELF).
#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#define FIALLOC_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FIALLOC_TARGET_CLONES
#endif

namespace fialloc {

namespace detail {

//! Bits of 2^(j/16) rounded to nearest, j = 0..15: the table of exp_value's reduction.
inline constexpr std::uint64_t kExp2Bits[16] = {
    0x3ff0000000000000ull, 0x3ff0b5586cf9890full, 0x3ff172b83c7d517bull, 0x3ff2387a6e756238ull,
    0x3ff306fe0a31b715ull, 0x3ff3dea64c123422ull, 0x3ff4bfdad5362a27ull, 0x3ff5ab07dd485429ull,
    0x3ff6a09e667f3bcdull, 0x3ff7a11473eb0187ull, 0x3ff8ace5422aa0dbull, 0x3ff9c49182a3f090ull,
    0x3ffae89f995ad3adull, 0x3ffc199bdd85529cull, 0x3ffd5818dcfba487ull, 0x3ffea4afa2a490daull};
//! (2^(j/16) - T_j) / T_j for the rounded entries T_j above: their rounding error, put back.
inline constexpr double kExp2Tail[16] = {
    0.0,                     0x1.79aa65d837b6dp-54,  -0x1.01b15eaa59348p-55, 0x1.68efde3a8a894p-54,
    0x1.34d754db0abb6p-55,   0x1.59f48a72a4c6dp-55,  0x1.690cebb7aafb0p-56,  0x1.063e1e21c5409p-54,
    -0x1.3b3efbf5e2228p-54,  -0x1.b32dcb94da51dp-56, 0x1.db72fc1f0eab4p-55,  0x1.1affc2b91ce27p-56,
    0x1.c1a7792cb3387p-55,   0x1.36eae30af0cb3p-56,  0x1.4a385a63d07a7p-56,  -0x1.ff7128fd391f0p-55};

// The reduction's constants, shared with the AVX-512 copy of exp_value (stream_prices.cpp).
inline constexpr double kExpClampLo = -708.0;
inline constexpr double kExpClampHi = 709.0;
inline constexpr double kExpSixteenOverLn2 = 23.083120654223414;
// ln(2) / 16 in two parts; the first has 32 significant bits, so n times it is exact.
inline constexpr double kExpLn2Hi16 = 6.93147180369123816490e-01 / 16.0;
inline constexpr double kExpLn2Lo16 = 1.90821492927058770002e-10 / 16.0;
// Adding 1.5 * 2^52 rounds to the nearest integer and leaves it in the low mantissa bits.
inline constexpr double kExpShifter = 6755399441055744.0;

}  // namespace detail

/*! exp(x) for x in [-708, 709] (inputs are clamped to that range; NaN stays NaN), within 0.56
    ulp of the exact value on [-12, 1] (the pricing and path arguments) and 0.77 ulp on the whole
    range (10^7 random arguments each against a long-double exp; `tests/core/test_exp_kernel.py`
    checks a sample against mpmath). Loops over many values call exp_inplace, whose vector
    builds give these bits; this inline form is the reference they follow.

    x = (16 m + j) ln(2) / 16 + r with |r| <= ln(2) / 32 (Cody-Waite, two-part constant), so
    e^x = 2^m 2^(j/16) e^r: 2^(j/16) from a 16-entry table with its rounding error as a
    correction term, e^r - 1 a degree-7 Taylor polynomial (truncation below 1.3e-18 relative),
    evaluated in pairs so its dependency chain is short. No fused multiply-adds are used and the
    order of every operation is fixed, so every CPU and vector width gives bitwise the same
    results. */
inline double exp_value(double x) {
  using namespace detail;
  const double v = std::min(std::max(x, kExpClampLo), kExpClampHi);
  const double y = v * kExpSixteenOverLn2 + kExpShifter;
  const double n = y - kExpShifter;
  const double r = (v - n * kExpLn2Hi16) - n * kExpLn2Lo16;
  std::uint64_t bits;
  std::memcpy(&bits, &y, sizeof bits);
  const std::uint64_t j = bits & 15u;
  // 2^m 2^(j/16): m lands in the exponent field modulo 2^12, which the table entry's exponent
  // (1023) brings back into range for every m of the clamped inputs (-1022 to 1022).
  const std::uint64_t scale_bits = kExp2Bits[j] + ((bits >> 4) << 52);
  double scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  const double r2 = r * r;
  const double p01 = 0.5 + r * (1.0 / 6.0);
  const double p23 = 1.0 / 24.0 + r * (1.0 / 120.0);
  const double p45 = 1.0 / 720.0 + r * (1.0 / 5040.0);
  const double p25 = p23 + r2 * p45;
  const double p05 = p01 + r2 * p25;
  const double t = (kExp2Tail[j] + r) + r2 * p05;  // e^r - 1 and the table's correction
  return scale + scale * t;
}

/*! x[i] <- exp_value(x[i]) for i < n, bitwise. On x86-64 it runs exp_value's sequence in
    AVX-512 (table entries by permutation) or AVX2 (by gather) intrinsics where the CPU has
    them: compilers vectorize the inline exp_value's table lookup as scalar loads, which made
    loops calling it slower than this. */
void exp_inplace(double* x, Eigen::Index n);

//! The builds of exp_inplace, all bitwise exp_value.
enum class ExpIsa { Portable = 0, Avx2 = 1, Avx512 = 2 };

//! The fastest build this CPU runs (what exp_inplace uses).
ExpIsa exp_isa();

//! "portable", "avx2" or "avx512".
const char* exp_isa_name(ExpIsa isa);

//! exp_inplace with a given build; throws std::invalid_argument if this CPU cannot run it.
void exp_inplace(double* x, Eigen::Index n, ExpIsa isa);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
namespace detail {

//! The table of exp_value in four AVX-512 registers, for exp8_avx512.
struct ExpTablesAvx512 {
  __m512d bits_lo, bits_hi, tail_lo, tail_hi;
};

__attribute__((target("avx512f"), always_inline)) inline ExpTablesAvx512 exp_tables_avx512() {
  return {_mm512_loadu_pd(reinterpret_cast<const double*>(kExp2Bits)),
          _mm512_loadu_pd(reinterpret_cast<const double*>(kExp2Bits) + 8),
          _mm512_loadu_pd(kExp2Tail), _mm512_loadu_pd(kExp2Tail + 8)};
}

/*! exp_value in eight lanes: the same clamp, reduction, table entries (picked by permutation
    on the low four bits of y), polynomial and scaling, each a separately rounded IEEE operation
    (callers are compiled without contraction). */
__attribute__((target("avx512f"), always_inline)) inline __m512d add_mul_avx512(__m512d c, __m512d a,
                                                                             __m512d b) {
  return _mm512_add_pd(c, _mm512_mul_pd(a, b));  // two roundings: never contracted
}

__attribute__((target("avx512f"), always_inline)) inline __m512d exp8_avx512(
    __m512d x, const ExpTablesAvx512& tab) {
  const __m512d shifter = _mm512_set1_pd(kExpShifter);
  // std::max(x, lo) is (x < lo ? lo : x) and vmaxpd(lo, x) is (lo > x ? lo : x): both keep a NaN.
  const __m512d v = _mm512_min_pd(_mm512_set1_pd(kExpClampHi),
                                  _mm512_max_pd(_mm512_set1_pd(kExpClampLo), x));
  const __m512d y = add_mul_avx512(shifter, v, _mm512_set1_pd(kExpSixteenOverLn2));
  const __m512d n = _mm512_sub_pd(y, shifter);
  const __m512d r = _mm512_sub_pd(_mm512_sub_pd(v, _mm512_mul_pd(n, _mm512_set1_pd(kExpLn2Hi16))),
                                  _mm512_mul_pd(n, _mm512_set1_pd(kExpLn2Lo16)));
  const __m512i bits = _mm512_castpd_si512(y);
  const __m512i table = _mm512_castpd_si512(_mm512_permutex2var_pd(tab.bits_lo, bits, tab.bits_hi));
  const __m512d scale = _mm512_castsi512_pd(
      _mm512_add_epi64(table, _mm512_slli_epi64(_mm512_srli_epi64(bits, 4), 52)));
  const __m512d tail = _mm512_permutex2var_pd(tab.tail_lo, bits, tab.tail_hi);
  const __m512d r2 = _mm512_mul_pd(r, r);
  const __m512d p01 = add_mul_avx512(_mm512_set1_pd(0.5), r, _mm512_set1_pd(1.0 / 6.0));
  const __m512d p23 = add_mul_avx512(_mm512_set1_pd(1.0 / 24.0), r, _mm512_set1_pd(1.0 / 120.0));
  const __m512d p45 = add_mul_avx512(_mm512_set1_pd(1.0 / 720.0), r, _mm512_set1_pd(1.0 / 5040.0));
  const __m512d p05 = add_mul_avx512(p01, r2, add_mul_avx512(p23, r2, p45));
  const __m512d t = add_mul_avx512(_mm512_add_pd(tail, r), r2, p05);
  return add_mul_avx512(scale, scale, t);
}

}  // namespace detail
#endif

}  // namespace fialloc
