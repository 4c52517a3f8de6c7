// fialloc: Apache-2.0
#pragma once
//! Hull-White one-factor trinomial lattice for bonds with call and put schedules.

/*! The short rate is \f$ r(t) = x(t) + \varphi(t) + s \f$ with \f$ dx = -a x\,dt + \sigma dW \f$,
    \f$ x(0) = 0 \f$, and \f$ s \f$ a constant option-adjusted spread (OAS, continuous, added
    to every node's rate). The tree follows Hull and White (1994) as QuantLib builds it
    (``TrinomialTree`` + ``HullWhite::tree``), so the two agree to rounding on the same grid:

    - the grid holds every flow and exercise time; between them, steps of equal length, as
      many as the nearest integer to the gap over \f$ T_{last} / n_{steps} \f$ (at least one);
    - at step \f$ i \f$ nodes are \f$ x = j\,\Delta x_i \f$ with \f$ \Delta x_{i+1} =
      \sqrt{3 V_i} \f$, \f$ V_i = \sigma^2 (1 - e^{-2a\Delta t_i}) / (2a) \f$; each node
      branches to the three nodes around the nearest one to its conditional mean
      \f$ x e^{-a\Delta t_i} \f$, with probabilities matching that mean and \f$ V_i \f$;
    - \f$ \varphi_i \f$ is fitted step by step (forward induction on Arrow-Debreu prices, at
      zero spread) so the tree reprices the curve's discount factor at every grid time.

    Rolling back, at each grid time an exercise is applied first (a call caps the value at its
    price, a put floors it), then the flows paid at that time are added, so the holder keeps a
    coupon paid on an exercise date. Exercise prices are dirty (clean price plus accrued). */

#include "fialloc/curve.hpp"
#include "fialloc/types.hpp"

namespace fialloc {

struct HullWhiteParams {
  double a;      //!< mean reversion (per year), in [1e-6, 100]
  double sigma;  //!< volatility of the short rate (decimal per sqrt(year)), in [1e-6, 1]
};

//! Throws std::invalid_argument naming the bad parameter; `where` prefixes the message.
void check_hull_white(const HullWhiteParams& p, const char* where);

/*! Exercise schedules of many streams, stored like cash flows: stream i owns entries
    offsets[i] .. offsets[i+1]-1 (possibly none). Times in years (Act/365F from the valuation
    date, strictly increasing within a stream, after 0 and before the stream's last flow);
    prices are dirty, per the same face as the flows; kinds are +1 for a call (the issuer's
    option: the value is capped) and -1 for a put (the holder's: the value is floored). */
struct ExerciseView {
  ConstIdxRef offsets;
  ConstVecRef times;
  ConstVecRef prices;
  ConstIdxRef kinds;
};

/*! Dirty value of each stream's flows with its exercise schedule, at spread `spreads[s]` over
    the fitted short rate, on a lattice of about `steps[s]` steps (at least one per gap between
    flow and exercise times). Streams are split over `threads` (all cores when <= 0); each
    stream's value depends only on its own inputs, so the result is bitwise the same for any
    thread count. */
VectorXd hw_lattice_prices(const HullWhiteParams& p, const CashflowView& cf,
                           const ExerciseView& ex, const ZeroCurve& curve, ConstVecRef spreads,
                           ConstIdxRef steps, int threads);

/*! Option-adjusted spread of each stream: the spread at which the lattice value equals
    `prices[s]` (dirty). Newton's method on the exact derivative of the rolled-back value,
    safeguarded by bisection on [-100%, 500%]. Threads as hw_lattice_prices. */
VectorXd hw_lattice_spreads(const HullWhiteParams& p, const CashflowView& cf,
                            const ExerciseView& ex, const ZeroCurve& curve, ConstVecRef prices,
                            ConstIdxRef steps, int threads);

/*! Dirty value of each stream (rows) on several curves at once (columns): curve c is `curve`
    with its zero rates moved by `bumps(c, :)` (decimal) at `knots` (years, strictly
    increasing), linearly between them and flat beyond, so ln P_c(t) = ln P(t) - t b_c(t).
    Each stream's lattice geometry (time grid, node spacing, branching) is built once, as
    hw_lattice_prices builds it, and only the fitted drift differs between curves: risk
    measures from these values see the curve's move and nothing of the tree's construction.
    Spreads, steps and threads as hw_lattice_prices (bitwise the same for any thread count). */
RowMatrixXd hw_lattice_prices_on_curves(const HullWhiteParams& p, const CashflowView& cf,
                                        const ExerciseView& ex, const ZeroCurve& curve,
                                        ConstVecRef knots, ConstMatRef bumps, ConstVecRef spreads,
                                        ConstIdxRef steps, int threads);

}  // namespace fialloc
