// fialloc: Apache-2.0
#pragma once
//! The AVX-512 price pass of a cached book: one stream at a time, eight flows per instruction.

/*! The portable pass (flow_book.cpp) prices a chunk of streams in three loops: it spreads each
    stream's z-spread over its flows, maps every flow to its discounted value (gathering its
    segment's coefficients by index and taking exp_value), then sums each stream in four fixed
    lanes. This pass does the same operations on the same operands in the same order, one
    stream at a time in registers: the z-spread is a broadcast, the coefficients of a curve of
    at most 16 segments come from two registers by permutation (a real gather beyond), the
    exponential is exp_value's sequence in eight lanes and the four lane sums are a 256-bit
    accumulator fed the two halves of each eight-flow block (a short stream's last block is
    masked: adding +0.0 to a sum that started at +0.0 changes no bit). Every result is therefore
    bitwise the portable pass's, which `tests/core/test_pricing_kernel.py` checks against the
    uncached functions (always portable). */

#include <cstdint>
#include <vector>

#include "fialloc/curve.hpp"
#include "fialloc/types.hpp"

namespace fialloc::detail {

//! A layout cut into blocks of at most eight flows of one stream, in flow order.
struct StreamBlocks {
  std::vector<std::int64_t> start;   //!< the block's first flow
  std::vector<std::int32_t> stream;  //!< the stream it belongs to
  std::vector<std::uint8_t> mask;    //!< bit l set when flow start + l is in the block
};

//! The blocks of a validated layout (they depend on its offsets only).
StreamBlocks stream_blocks(const CashflowView& cf);

//! True when this process runs price_streams_avx512 (an x86-64 CPU with AVX-512F).
bool avx512_prices_available();

/*! pv[s] = sum over stream s's flows of a_i P(0, t_i) exp(-z_s t_i), with seg/u from
    flow_segments on `curve`'s knots. Bitwise the portable pass; call only when
    avx512_prices_available(). No validation: the caller has checked the layout and spreads. */
void price_streams_avx512(const CashflowView& cf, const StreamBlocks& blocks,
                          const ZeroCurve& curve, const std::int32_t* seg, const double* u,
                          const double* z_spreads, double* pv);

}  // namespace fialloc::detail
