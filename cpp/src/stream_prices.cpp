// fialloc: Apache-2.0
#include "fialloc/stream_prices.hpp"

#include "fialloc/vexp.hpp"

#include <algorithm>
#include <array>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FIALLOC_HAVE_AVX512_KERNEL 1
#include <immintrin.h>
#endif

namespace fialloc::detail {

#if FIALLOC_HAVE_AVX512_KERNEL

bool avx512_prices_available() {
  static const bool ok = __builtin_cpu_supports("avx512f");
  return ok;
}

namespace {

#define FIALLOC_AVX512 __attribute__((target("avx512f"), always_inline)) inline

// Blocks in flight at once: the exponential is a chain of ~30 dependent operations, so the loop
// interleaves independent blocks' chains explicitly instead of leaving it to the scheduler.
constexpr int kInterleave = 4;
struct Lanes {
  __m512d v[kInterleave];
};

// exp_value in eight lanes of kInterleave vectors (vexp.hpp's exp8_avx512, the same bits).
FIALLOC_AVX512 Lanes exp_lanes(const Lanes& x, const ExpTablesAvx512& tab) {
  Lanes out;
  for (int q = 0; q < kInterleave; ++q) out.v[q] = exp8_avx512(x.v[q], tab);
  return out;
}

// A curve's coefficient column (padded to 16 entries), read by segment index: from two registers
// when the curve has at most 16 segments, else gathered.
struct Column {
  const double* data;
  __m512d lo, hi;
};

template <bool Small>
FIALLOC_AVX512 __m512d lookup(const Column& c, __m256i seg) {
  if constexpr (Small) {
    return _mm512_permutex2var_pd(c.lo, _mm512_cvtepi32_epi64(seg), c.hi);
  } else {
    return _mm512_i32gather_pd(seg, c.data, 8);
  }
}

// A stream's total from its four lane sums, (l0 + l1) + (l2 + l3) as lane_sums; returns the
// zeroed sums of the next stream.
FIALLOC_AVX512 __m256d finish_stream(__m256d acc, double* pv) {
  const __m128d lo = _mm256_castpd256_pd128(acc), hi = _mm256_extractf128_pd(acc, 1);
  *pv = (_mm_cvtsd_f64(lo) + _mm_cvtsd_f64(_mm_unpackhi_pd(lo, lo))) +
        (_mm_cvtsd_f64(hi) + _mm_cvtsd_f64(_mm_unpackhi_pd(hi, hi)));
  return _mm256_setzero_pd();
}

template <int Deg, bool Small>
__attribute__((target("avx512f"))) void price_pass(const CashflowView& cf,
                                                   const std::array<const double*, 5>& coef,
                                                   const StreamBlocks& blocks,
                                                   const std::int32_t* seg, const double* u,
                                                   const double* z_spreads, double* pv) {
  const ExpTablesAvx512 tab = exp_tables_avx512();
  std::array<Column, 5> col;
  for (std::size_t d = 0; d < 5; ++d) {
    col[d] = Column{coef[d], _mm512_loadu_pd(coef[d]), _mm512_loadu_pd(coef[d] + 8)};
  }
  const double* t = cf.times.data();
  const double* a = cf.amounts.data();
  const std::int64_t* start = blocks.start.data();
  const std::int32_t* stream = blocks.stream.data();
  const std::uint8_t* lanes = blocks.mask.data();
  const auto nb = static_cast<Eigen::Index>(blocks.start.size());
  // Each stream's blocks in order, summed as they are made: lane l takes entries l, l + 4, ...
  // as lane_sums does (the low half of a block, then its high half), and a stream's total is
  // (l0 + l1) + (l2 + l3). Streams without flows are +0.0, as lane_sums leaves them.
  Eigen::Index s = 0;
  __m256d acc = _mm256_setzero_pd();
  // kInterleave blocks at a time.
  for (Eigen::Index k0 = 0; k0 < nb; k0 += kInterleave) {
    Lanes arg, amount;
    __mmask8 m[kInterleave];
    for (int q = 0; q < kInterleave; ++q) {
      const auto k = k0 + static_cast<Eigen::Index>(q);
      const std::int64_t i = start[k];
      m[q] = lanes[k];
      const __m256i j = _mm512_castsi512_si256(_mm512_maskz_loadu_epi32(m[q], seg + i));
      const __m512d uu = _mm512_maskz_loadu_pd(m[q], u + i);
      const __m512d x = _mm512_maskz_loadu_pd(m[q], t + i);
      amount.v[q] = _mm512_maskz_loadu_pd(m[q], a + i);
      // ln P from the segment's polynomial, Horner as discounted<Deg> in flow_book.cpp.
      __m512d p;
      if constexpr (Deg == 1) {
        p = _mm512_add_pd(_mm512_mul_pd(lookup<Small>(col[1], j), uu), lookup<Small>(col[0], j));
      } else {
        p = lookup<Small>(col[Deg], j);
        for (int d = Deg - 1; d >= 0; --d) {
          p = _mm512_add_pd(_mm512_mul_pd(p, uu), lookup<Small>(col[static_cast<std::size_t>(d)], j));
        }
      }
      arg.v[q] = _mm512_sub_pd(p, _mm512_mul_pd(_mm512_set1_pd(z_spreads[stream[k]]), x));
    }
    const Lanes e = exp_lanes(arg, tab);
    for (int q = 0; q < kInterleave; ++q) {
      const auto k = k0 + static_cast<Eigen::Index>(q);
      for (; s < stream[k]; ++s) acc = finish_stream(acc, pv + s);
      // Lanes past the stream's end are +0.0, which leaves a lane sum unchanged.
      const __m512d v = _mm512_maskz_mov_pd(m[q], _mm512_mul_pd(e.v[q], amount.v[q]));
      acc = _mm256_add_pd(acc, _mm512_castpd512_pd256(v));
      acc = _mm256_add_pd(acc, _mm512_extractf64x4_pd(v, 1));
    }
  }
  for (; s < cf.n_streams(); ++s) acc = finish_stream(acc, pv + s);
}

}  // namespace

StreamBlocks stream_blocks(const CashflowView& cf) {
  StreamBlocks out;
  for (Eigen::Index s = 0; s < cf.n_streams(); ++s) {
    for (Eigen::Index i = cf.begin(s); i < cf.end(s); i += 8) {
      const Eigen::Index n = std::min<Eigen::Index>(cf.end(s) - i, 8);
      out.start.push_back(i);
      out.stream.push_back(static_cast<std::int32_t>(s));
      out.mask.push_back(static_cast<std::uint8_t>((1u << n) - 1u));
    }
  }
  // Empty blocks (no lanes, on the last stream) up to a multiple of kInterleave: they add +0.0.
  while (!out.start.empty() && out.start.size() % kInterleave != 0) {
    out.start.push_back(out.start.back());
    out.stream.push_back(out.stream.back());
    out.mask.push_back(0);
  }
  return out;
}

void price_streams_avx512(const CashflowView& cf, const StreamBlocks& blocks,
                          const ZeroCurve& curve, const std::int32_t* seg, const double* u,
                          const double* z_spreads, double* pv) {
  const auto n = static_cast<std::size_t>(curve.knots().size());
  const bool small = n <= 16;
  std::array<std::vector<double>, 5> data;
  std::array<const double*, 5> coef{};
  for (std::size_t d = 0; d < 5; ++d) {
    data[d].assign(std::max<std::size_t>(n, 16), 0.0);
    for (std::size_t j = 0; j < n; ++j) {
      data[d][j] = curve.coefficient(static_cast<Eigen::Index>(j), static_cast<int>(d));
    }
    coef[d] = data[d].data();
  }
  const auto run = [&](auto pass) { pass(cf, coef, blocks, seg, u, z_spreads, pv); };
  const int degree = curve.degree();
  if (small) {
    if (degree == 1) run(price_pass<1, true>);
    else if (degree == 2) run(price_pass<2, true>);
    else run(price_pass<4, true>);
  } else {
    if (degree == 1) run(price_pass<1, false>);
    else if (degree == 2) run(price_pass<2, false>);
    else run(price_pass<4, false>);
  }
}

#else

bool avx512_prices_available() { return false; }

StreamBlocks stream_blocks(const CashflowView&) { return {}; }

void price_streams_avx512(const CashflowView&, const StreamBlocks&, const ZeroCurve&,
                          const std::int32_t*, const double*, const double*, double*) {}

#endif

}  // namespace fialloc::detail
