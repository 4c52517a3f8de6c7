// fialloc: Apache-2.0
#pragma once
//! The pricing kernel: a validated cash-flow layout that remembers where its flows fall on each
//! curve's knot grid and each key-tenor grid, priced and risked in one fused pass per flow.

/*! Every price, spread and curve-risk figure of a bond book comes from here. A pass reads each
    flow once: the segment of the curve it falls in and its offset into it (cached per knot grid,
    so repricing under new curve values with the same pillars skips the search and the
    subtraction), ln P from that segment's polynomial,
    one exponential, and for risk the sinh terms of the parallel and tent bumps (their tent
    weights cached per key-tenor grid). Flows are processed in chunks of consecutive streams that
    fit in the first-level cache, and every sum runs in four fixed lanes, so results are the same
    bit for bit on every CPU and with or without the caches. */

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "fialloc/bond.hpp"
#include "fialloc/curve.hpp"
#include "fialloc/krd.hpp"
#include "fialloc/stream_prices.hpp"
#include "fialloc/types.hpp"

namespace fialloc {

//! Key-rate tents of every flow: the left key tenor's index and the two tent weights.
struct FlowTents {
  VectorXd key_tenors;
  std::vector<std::int32_t> left;
  std::vector<double> w_left;
  std::vector<double> w_right;
};

//! Where every flow falls on a curve's knot grid (it depends on the knots, not the values).
struct FlowSegments {
  std::vector<std::int32_t> seg;  //!< the flow's polynomial segment
  std::vector<double> u;          //!< t - the segment's knot (years): the polynomial's argument
};

/*! Segment of every flow of `cf` on `curve`'s knots. Throws std::invalid_argument naming the
    stream and flow (see check_layout) unless times are finite, >= 0 and sorted per stream. */
FlowSegments flow_segments(const CashflowView& cf, const ZeroCurve& curve);

//! Tent weights of every flow of `cf` (times validated) for strictly increasing `key_tenors`.
FlowTents flow_tents(const CashflowView& cf, ConstVecRef key_tenors);

/*! v_i = a_i P(0, t_i) exp(-z_s t_i) for every flow, with `seg` from flow_segments. Throws
    std::domain_error if a discounted flow is not finite. */
VectorXd discounted_flows_on(const CashflowView& cf, const ZeroCurve& curve,
                             const FlowSegments& seg, ConstVecRef z_spreads);

//! Present value of each stream, with `seg` from flow_segments.
VectorXd price_streams_on(const CashflowView& cf, const ZeroCurve& curve,
                          const FlowSegments& seg, ConstVecRef z_spreads);

//! curve_risk (see krd.hpp) with `seg` from flow_segments and `tents` from flow_tents.
CurveRisk curve_risk_on(const CashflowView& cf, const ZeroCurve& curve, const FlowSegments& seg,
                        const FlowTents& tents, ConstVecRef z_spreads, double bump);

/*! A cash-flow layout validated and copied once, with its per-grid caches. Safe to share between
    threads: the caches are guarded and their entries immutable. */
class FlowBook {
 public:
  //! Validates as check_layout does (`where` = "FlowBook") and copies the arrays.
  FlowBook(ConstIdxRef offsets, ConstVecRef times, ConstVecRef amounts);

  CashflowView view() const { return CashflowView{offsets_, times_, amounts_}; }
  const VectorXi64& offsets() const { return offsets_; }
  const VectorXd& times() const { return times_; }
  const VectorXd& amounts() const { return amounts_; }

  //! Present value of each stream off `curve` plus continuously compounded `z_spreads`.
  VectorXd price(const ZeroCurve& curve, ConstVecRef z_spreads) const;
  //! Discounted flows a_i P(0, t_i) exp(-z_s t_i).
  VectorXd discounted_flows(const ZeroCurve& curve, ConstVecRef z_spreads) const;
  //! Curve risk as curve_risk() in krd.hpp.
  CurveRisk curve_risk(const ZeroCurve& curve, ConstVecRef z_spreads, ConstVecRef key_tenors,
                       double bump) const;
  /*! Yield functions of bond.hpp, the times read as yield times (a book built on them); the
      layout is not checked again. */
  VectorXd prices_from_yields(ConstVecRef freq, ConstVecRef yields) const {
    return prices_from_yields_valid(view(), freq, yields);
  }
  VectorXd yields_from_prices(ConstVecRef freq, ConstVecRef prices) const {
    return yields_from_prices_valid(view(), freq, prices);
  }
  YieldRisk yield_risk(ConstVecRef freq, ConstVecRef yields) const {
    return yield_risk_valid(view(), freq, yields);
  }

 private:
  using Segments = FlowSegments;
  std::shared_ptr<const Segments> segments(const ZeroCurve& curve) const;
  std::shared_ptr<const FlowTents> tents(ConstVecRef key_tenors) const;

  VectorXi64 offsets_;
  VectorXd times_;
  VectorXd amounts_;
  detail::StreamBlocks blocks_;  // for the AVX-512 price pass, where the CPU runs it
  // A few recent grids each: a run prices under a handful of pillar and key-tenor sets.
  static constexpr std::size_t kCacheSize = 8;
  mutable std::mutex mutex_;
  mutable std::vector<std::pair<std::vector<double>, std::shared_ptr<const Segments>>> seg_cache_;
  mutable std::vector<std::shared_ptr<const FlowTents>> tent_cache_;
};

}  // namespace fialloc
