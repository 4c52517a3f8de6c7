// fialloc: Apache-2.0
#pragma once
//! Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11), keyed by a seed.

/*! Every draw is a pure function of (seed, counter), so a path's numbers do not depend on
    which thread or chunk computes it, nor on the order of evaluation. */

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FIALLOC_PHILOX_AVX2 1
#endif

namespace fialloc {

class Philox {
 public:
  using Counter = std::array<std::uint32_t, 4>;

  explicit Philox(std::uint64_t seed)
      : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)} {}

  //! Ten Philox rounds on a counter: four independent 32-bit words.
  Counter operator()(Counter c) const {
    std::uint32_t k0 = key_[0], k1 = key_[1];
    for (int round = 0; round < 10; ++round) {
      const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * c[0];
      const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * c[2];
      c = {static_cast<std::uint32_t>(p1 >> 32) ^ c[1] ^ k0, static_cast<std::uint32_t>(p1),
           static_cast<std::uint32_t>(p0 >> 32) ^ c[3] ^ k1, static_cast<std::uint32_t>(p0)};
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    return c;
  }

  /*! Philox on `N` counters at once, stored word by word (counter i is c0[i], c1[i], c2[i],
      c3[i]), replaced by their outputs: the same bits as operator() on each counter, in a form
      compilers vectorize. */
  template <int N>
  void apply(std::uint32_t* c0, std::uint32_t* c1, std::uint32_t* c2, std::uint32_t* c3) const {
    std::uint32_t k0 = key_[0], k1 = key_[1];
    for (int round = 0; round < 10; ++round) {
      for (int i = 0; i < N; ++i) {
        const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * c0[i];
        const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * c2[i];
        c0[i] = static_cast<std::uint32_t>(p1 >> 32) ^ c1[i] ^ k0;
        c1[i] = static_cast<std::uint32_t>(p1);
        c2[i] = static_cast<std::uint32_t>(p0 >> 32) ^ c3[i] ^ k1;
        c3[i] = static_cast<std::uint32_t>(p0);
      }
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
  }

  //! apply<N>() with AVX-512 or AVX2 instructions where the CPU has them (the same bits).
  template <int N>
  void apply_fast(std::uint32_t* c0, std::uint32_t* c1, std::uint32_t* c2, std::uint32_t* c3) const {
#ifdef FIALLOC_PHILOX_AVX2
    if (N % 16 == 0 && has_avx512()) {
      for (int i = 0; i < N; i += 16) apply16_avx512(c0 + i, c1 + i, c2 + i, c3 + i);
      return;
    }
    if (N % 8 == 0 && has_avx2()) {
      for (int i = 0; i < N; i += 8) apply8_avx2(c0 + i, c1 + i, c2 + i, c3 + i);
      return;
    }
#endif
    apply<N>(c0, c1, c2, c3);
  }

  /*! Two normals for each of `N` lanes from sub-stream `sub` of step `step`, the lanes' 64-bit
      path indices split in `lo32` and `hi32`: exactly normals({step, lo32[l], hi32[l], sub}). */
  template <int N>
  void lane_normals(std::uint32_t step, std::uint32_t sub, const std::uint32_t* lo32,
                    const std::uint32_t* hi32, double* z0, double* z1) const {
    alignas(32) std::uint32_t c0[N], c1[N], c2[N], c3[N];
    for (int l = 0; l < N; ++l) {
      c0[l] = step;
      c1[l] = lo32[l];
      c2[l] = hi32[l];
      c3[l] = sub;
    }
    apply_fast<N>(c0, c1, c2, c3);
    box_muller<N>(c0, c1, c2, c3, z0, z1);
  }

  //! Two standard normals (Box-Muller) from one counter.
  std::array<double, 2> normals(const Counter& c) const { return box_muller((*this)(c)); }

  //! Two standard normals (Box-Muller) from Philox's output `r`.
  static std::array<double, 2> box_muller(const Counter& r) {
    std::array<double, 2> z;
    box_muller_one(r[0], r[1], r[2], r[3], z[0], z[1]);
    return z;
  }

  /*! Box-Muller on `N` Philox outputs stored word by word (as apply() leaves them): z0[i],
      z1[i] are the normals of output i, bitwise those of box_muller(). */
  template <int N>
  static void box_muller(const std::uint32_t* c0, const std::uint32_t* c1, const std::uint32_t* c2,
                         const std::uint32_t* c3, double* z0, double* z1) {
    for (int i = 0; i < N; ++i) box_muller_one(c0[i], c1[i], c2[i], c3[i], z0[i], z1[i]);
  }

 private:
#ifdef FIALLOC_PHILOX_AVX2
  static bool has_avx2() {
    static const bool yes = [] {
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2") != 0;
    }();
    return yes;
  }

  static bool has_avx512() {
    static const bool yes = [] {
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f") != 0;
    }();
    return yes;
  }

  // apply8_avx2 on sixteen counters: the same products, halves and blends in 512-bit registers.
  __attribute__((target("avx512f"))) void apply16_avx512(std::uint32_t* c0, std::uint32_t* c1,
                                                         std::uint32_t* c2, std::uint32_t* c3) const {
    __m512i a = _mm512_loadu_si512(c0);
    __m512i b = _mm512_loadu_si512(c1);
    __m512i c = _mm512_loadu_si512(c2);
    __m512i d = _mm512_loadu_si512(c3);
    const __m512i m0 = _mm512_set1_epi64(0xD2511F53u), m1 = _mm512_set1_epi64(0xCD9E8D57u);
    __m512i k0 = _mm512_set1_epi32(static_cast<int>(key_[0]));
    __m512i k1 = _mm512_set1_epi32(static_cast<int>(key_[1]));
    const __m512i w0 = _mm512_set1_epi32(static_cast<int>(0x9E3779B9u));
    const __m512i w1 = _mm512_set1_epi32(static_cast<int>(0xBB67AE85u));
    const __mmask16 odd = 0xAAAA;
    for (int round = 0; round < 10; ++round) {
      const __m512i pe0 = _mm512_mul_epu32(a, m0);
      const __m512i po0 = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m0);
      const __m512i pe1 = _mm512_mul_epu32(c, m1);
      const __m512i po1 = _mm512_mul_epu32(_mm512_srli_epi64(c, 32), m1);
      const __m512i lo0 = _mm512_mask_blend_epi32(odd, pe0, _mm512_slli_epi64(po0, 32));
      const __m512i hi0 = _mm512_mask_blend_epi32(odd, _mm512_srli_epi64(pe0, 32), po0);
      const __m512i lo1 = _mm512_mask_blend_epi32(odd, pe1, _mm512_slli_epi64(po1, 32));
      const __m512i hi1 = _mm512_mask_blend_epi32(odd, _mm512_srli_epi64(pe1, 32), po1);
      a = _mm512_xor_si512(_mm512_xor_si512(hi1, b), k0);
      b = lo1;
      c = _mm512_xor_si512(_mm512_xor_si512(hi0, d), k1);
      d = lo0;
      k0 = _mm512_add_epi32(k0, w0);
      k1 = _mm512_add_epi32(k1, w1);
    }
    _mm512_storeu_si512(c0, a);
    _mm512_storeu_si512(c1, b);
    _mm512_storeu_si512(c2, c);
    _mm512_storeu_si512(c3, d);
  }

  // Eight counters in 32-bit lanes: the even and odd lanes' 32 x 32 -> 64-bit products by
  // two multiplies, their halves put back in place by blends (no shuffles across lanes).
  __attribute__((target("avx2"))) void apply8_avx2(std::uint32_t* c0, std::uint32_t* c1,
                                                   std::uint32_t* c2, std::uint32_t* c3) const {
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c0));
    __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c1));
    __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c2));
    __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c3));
    const __m256i m0 = _mm256_set1_epi64x(0xD2511F53u), m1 = _mm256_set1_epi64x(0xCD9E8D57u);
    __m256i k0 = _mm256_set1_epi32(static_cast<int>(key_[0]));
    __m256i k1 = _mm256_set1_epi32(static_cast<int>(key_[1]));
    const __m256i w0 = _mm256_set1_epi32(static_cast<int>(0x9E3779B9u));
    const __m256i w1 = _mm256_set1_epi32(static_cast<int>(0xBB67AE85u));
    for (int round = 0; round < 10; ++round) {
      const __m256i pe0 = _mm256_mul_epu32(a, m0);
      const __m256i po0 = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m0);
      const __m256i pe1 = _mm256_mul_epu32(c, m1);
      const __m256i po1 = _mm256_mul_epu32(_mm256_srli_epi64(c, 32), m1);
      const __m256i lo0 = _mm256_blend_epi32(pe0, _mm256_slli_epi64(po0, 32), 0xAA);
      const __m256i hi0 = _mm256_blend_epi32(_mm256_srli_epi64(pe0, 32), po0, 0xAA);
      const __m256i lo1 = _mm256_blend_epi32(pe1, _mm256_slli_epi64(po1, 32), 0xAA);
      const __m256i hi1 = _mm256_blend_epi32(_mm256_srli_epi64(pe1, 32), po1, 0xAA);
      a = _mm256_xor_si256(_mm256_xor_si256(hi1, b), k0);
      b = lo1;
      c = _mm256_xor_si256(_mm256_xor_si256(hi0, d), k1);
      d = lo0;
      k0 = _mm256_add_epi32(k0, w0);
      k1 = _mm256_add_epi32(k1, w1);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c0), a);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c1), b);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c2), c);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c3), d);
  }
#endif

  // radius sqrt(-2 ln u1) and angle 2 pi u2. The logarithm and the sine and cosine are the
  // branch-free kernels below rather than the C library's, so a block of draws runs as vector
  // instructions and every CPU and library version gives the same bits.
  static void box_muller_one(std::uint32_t r0, std::uint32_t r1, std::uint32_t r2,
                             std::uint32_t r3, double& z0, double& z1) {
    const double radius = std::sqrt(-2.0 * log_unit(uniform(r0, r1)));
    double c, s;
    sincos_turn(uniform(r2, r3), c, s);
    z0 = radius * c;
    z1 = radius * s;
  }

  //! A double in (0, 1) from 53 random bits; never 0, so log is safe. Both halves convert
  //! exactly from 32-bit integers, so the sum is the 53-bit integer exactly.
  static double uniform(std::uint32_t a, std::uint32_t b) {
    const double hi = static_cast<double>(static_cast<std::int32_t>(a >> 5));
    const double lo = static_cast<double>(static_cast<std::int32_t>(b >> 6));
    return (hi * 67108864.0 + lo + 0.5) * (1.0 / 9007199254740992.0);
  }

  //! ln u for a normal u in (0, 1): fdlibm's e_log reduction u = 2^k m, m in [sqrt(1/2),
  //! sqrt(2)), and its polynomial in s = (m - 1) / (m + 1); within 1 ulp.
  static double log_unit(double u) {
    constexpr std::uint64_t kSqrtHalf = 0x3fe6a09e667f3bcdull;  // mantissa bits of sqrt(1/2)
    std::uint64_t bits;
    std::memcpy(&bits, &u, sizeof bits);
    const std::uint64_t shifted = bits + (0x3ff0000000000000ull - kSqrtHalf);
    const std::int32_t k = static_cast<std::int32_t>(shifted >> 52) - 1023;
    const std::uint64_t mbits = (shifted & 0x000fffffffffffffull) + kSqrtHalf;
    double m;
    std::memcpy(&m, &mbits, sizeof m);
    const double f = m - 1.0;
    const double s = f / (2.0 + f), z = s * s, w = z * z;
    const double t1 = w * (3.999999999940941908e-01 +
                           w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    const double t2 =
        z * (6.666666666666735130e-01 +
             w * (2.857142874366239149e-01 +
                  w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    const double r = t2 + t1, hfsq = 0.5 * f * f, dk = static_cast<double>(k);
    return dk * 6.93147180369123816490e-01 -
           ((hfsq - (s * (hfsq + r) + dk * 1.90821492927058770002e-10)) - f);
  }

  //! cos and sin of 2 pi u for u in [0, 1]: u less the nearest quarter turn (exact) times
  //! 2 pi in two parts, then fdlibm's sine and cosine kernels on [-pi/4, pi/4]; within 1 ulp of
  //! the angle's rounding.
  static void sincos_turn(double u, double& c, double& s) {
    const double q = std::floor(4.0 * u + 0.5);
    const double r = u - 0.25 * q;
    const double x = r * 6.283185307179586 + r * 2.4492935982947064e-16;
    const double z = x * x;
    const double ps =
        8.33333333332248946124e-03 +
        z * (-1.98412698298579493134e-04 +
             z * (2.75573137070700676789e-06 +
                  z * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10)));
    const double sn = x + (z * x) * (-1.66666666666666324348e-01 + z * ps);
    const double pc =
        z * (4.16666666666666019037e-02 +
             z * (-1.38888888888741095749e-03 +
                  z * (2.48015872894767294178e-05 +
                       z * (-2.75573143513906633035e-07 +
                            z * (2.08757232129817482790e-09 + z * -1.13596475577881948265e-11)))));
    const double hz = 0.5 * z, w = 1.0 - hz;
    const double cs = w + (((1.0 - w) - hz) + z * pc);
    const int quadrant = static_cast<int>(q) & 3;
    c = quadrant == 0 ? cs : quadrant == 1 ? -sn : quadrant == 2 ? -cs : sn;
    s = quadrant == 0 ? sn : quadrant == 1 ? cs : quadrant == 2 ? -sn : -cs;
  }

  std::array<std::uint32_t, 2> key_;
};

}  // namespace fialloc
