// fialloc: Apache-2.0
#include "fialloc/vexp.hpp"

#include "fialloc/errors.hpp"

namespace fialloc {

namespace {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

__attribute__((target("avx512f"))) void exp_avx512(double* x, Eigen::Index n) {
  const detail::ExpTablesAvx512 tab = detail::exp_tables_avx512();
  Eigen::Index i = 0;
  for (; i + 8 <= n; i += 8) _mm512_storeu_pd(x + i, detail::exp8_avx512(_mm512_loadu_pd(x + i), tab));
  for (; i < n; ++i) x[i] = exp_value(x[i]);
}

__attribute__((target("avx2"), always_inline)) inline __m256d add_mul_avx2(__m256d c, __m256d a, __m256d b) {
  return _mm256_add_pd(c, _mm256_mul_pd(a, b));  // two roundings: never contracted
}

// exp_value in four AVX2 lanes, the table entries gathered.
__attribute__((target("avx2"))) void exp_avx2(double* x, Eigen::Index n) {
  using namespace detail;
  const __m256d shifter = _mm256_set1_pd(kExpShifter);
  const __m256i low4 = _mm256_set1_epi64x(15);
  const auto* table_bits = reinterpret_cast<const long long*>(kExp2Bits);
  Eigen::Index i = 0;
  for (; i + 4 <= n; i += 4) {
    // vmaxpd(lo, x) is (lo > x ? lo : x), std::max(x, lo) is (x < lo ? lo : x): both keep a NaN.
    const __m256d v = _mm256_min_pd(_mm256_set1_pd(kExpClampHi),
                                    _mm256_max_pd(_mm256_set1_pd(kExpClampLo), _mm256_loadu_pd(x + i)));
    const __m256d y = add_mul_avx2(shifter, v, _mm256_set1_pd(kExpSixteenOverLn2));
    const __m256d k = _mm256_sub_pd(y, shifter);
    const __m256d r = _mm256_sub_pd(_mm256_sub_pd(v, _mm256_mul_pd(k, _mm256_set1_pd(kExpLn2Hi16))),
                                    _mm256_mul_pd(k, _mm256_set1_pd(kExpLn2Lo16)));
    const __m256i bits = _mm256_castpd_si256(y);
    const __m256i j = _mm256_and_si256(bits, low4);
    const __m256i table = _mm256_i64gather_epi64(table_bits, j, 8);
    const __m256d scale = _mm256_castsi256_pd(
        _mm256_add_epi64(table, _mm256_slli_epi64(_mm256_srli_epi64(bits, 4), 52)));
    const __m256d tail = _mm256_i64gather_pd(kExp2Tail, j, 8);
    const __m256d r2 = _mm256_mul_pd(r, r);
    const __m256d p01 = add_mul_avx2(_mm256_set1_pd(0.5), r, _mm256_set1_pd(1.0 / 6.0));
    const __m256d p23 = add_mul_avx2(_mm256_set1_pd(1.0 / 24.0), r, _mm256_set1_pd(1.0 / 120.0));
    const __m256d p45 = add_mul_avx2(_mm256_set1_pd(1.0 / 720.0), r, _mm256_set1_pd(1.0 / 5040.0));
    const __m256d p05 = add_mul_avx2(p01, r2, add_mul_avx2(p23, r2, p45));
    const __m256d t = add_mul_avx2(_mm256_add_pd(tail, r), r2, p05);
    _mm256_storeu_pd(x + i, add_mul_avx2(scale, scale, t));
  }
  for (; i < n; ++i) x[i] = exp_value(x[i]);
}

#endif

}  // namespace

ExpIsa exp_isa() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const ExpIsa isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return ExpIsa::Avx512;
    if (__builtin_cpu_supports("avx2")) return ExpIsa::Avx2;
    return ExpIsa::Portable;
  }();
  return isa;
#else
  return ExpIsa::Portable;
#endif
}

const char* exp_isa_name(ExpIsa isa) {
  return isa == ExpIsa::Avx512 ? "avx512" : isa == ExpIsa::Avx2 ? "avx2" : "portable";
}

void exp_inplace(double* x, Eigen::Index n, ExpIsa isa) {
  FIALLOC_REQUIRE(static_cast<int>(isa) <= static_cast<int>(exp_isa()),
                  "exp_inplace: this CPU cannot run the " << exp_isa_name(isa) << " build (its best is "
                                                          << exp_isa_name(exp_isa()) << ")");
  switch (isa) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    case ExpIsa::Avx512:
      exp_avx512(x, n);
      return;
    case ExpIsa::Avx2:
      exp_avx2(x, n);
      return;
#endif
    default:
      for (Eigen::Index i = 0; i < n; ++i) x[i] = exp_value(x[i]);
  }
}

void exp_inplace(double* x, Eigen::Index n) { exp_inplace(x, n, exp_isa()); }

}  // namespace fialloc
