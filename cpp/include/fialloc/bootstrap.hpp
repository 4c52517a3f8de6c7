// fialloc: Apache-2.0
#pragma once
//! Curve bootstrap: solve pillar discount factors so that every instrument reprices exactly.

/*! Instrument j is a cash-flow stream with \f$ \sum_i a_i P(0, t_i) = \text{target}_j \f$ (a deposit:
    one flow \f$ 1 + r\tau \f$ against 1; a par swap or par bond: coupons plus final 1 against 1).
    Its pillar is its last flow time; pillars must be strictly increasing. Log-linear curves are
    solved in one sequential pass; linear-zero and natural cubic curves, where a pillar moves the
    curve before it, iterate sequential passes until no pillar moves, and when those fail (a short
    gap after a long one can make them diverge), Newton's method on all pillars at once, started
    from the log-linear solution. Monotone convex curves, whose passes settle slowly, take Newton
    first and the passes as the fallback. */

#include "fialloc/curve.hpp"
#include "fialloc/schedule.hpp"
#include "fialloc/types.hpp"

namespace fialloc {

//! Pillar times (the last flow of each instrument) and their solved log discount factors.
struct BootstrapResult {
  VectorXd pillar_times;
  VectorXd log_dfs;
  int passes;
};

BootstrapResult bootstrap_curve(const CashflowView& instruments, ConstVecRef targets,
                                Interpolation interp);

//! A curve solved from quotes, with the instruments' schedules behind it.
struct QuotedCurve {
  InstrumentFlows flows;  //!< as instrument_flows gives them
  BootstrapResult curve;
};

/*! Quotes to curve in one call: the instruments' schedules (instrument_flows), their flows per
    unit notional (`rates` times the accruals, plus the principal) and the bootstrap of those
    flows against par. Throws std::invalid_argument naming the argument or instrument. */
QuotedCurve bootstrap_quotes(std::int64_t valuation, ConstIdxRef maturities,
                             ConstIdxRef frequencies, ConstIdxRef day_counts, ConstVecRef rates,
                             Interpolation interp);

}  // namespace fialloc
