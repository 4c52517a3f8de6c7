// fialloc: Apache-2.0
#pragma once
//! MBS pools on scenario paths: the path's own prepayment, banked, and the pool left at each horizon.

/*! Along each G2++ path a pool pays, in month k (at k/12 years), the interest and principal of
    the prepayment rule, its mortgage rate at the month's start being the path's `tenor`-year
    zero yield plus a spread (as in mbs_value), seasoning and burnout carried along the path.
    Each month's cash times the path's bank weight (the deflator D(0, k/12), or D times an FX
    rate) is summed to each horizon, and the balance left at each horizon is kept.

    With `realized`, the path's own flows after each horizon are summed too, discounted to the
    horizon on the path (bank weights over the horizon's) and at a spread, with their
    time-weighted sum (minus the derivative in the spread): averaged over paths from one state
    they are the Monte Carlo value and spread sensitivity there, which a regression on the
    horizon state estimates (Longstaff and Schwartz). */

#include <cstdint>

#include "fialloc/g2.hpp"
#include "fialloc/mbs.hpp"
#include "fialloc/types.hpp"

namespace fialloc {

struct MbsPathValues {
  RowMatrixXd banked;    //!< paths x (horizons x pools, pool innermost): sum of cash x weight
  RowMatrixXd balance;   //!< same layout: balance left at the horizon per unit of today's face
  RowMatrixXd realized;  //!< same layout (with `realized`): later flows discounted to the horizon
  RowMatrixXd realized_dv;  //!< same layout (with `realized`): -d realized / d spread (years)
};

/*! Pools on paths (see the file notes). Money per 100 of today's face.

    `log_df` holds ln P^M(0, k/12) and `log_df_tenor` ln P^M(0, k/12 + tenor) for k = 0..K-1,
    K the grid's months. `x`, `y` and `bank` are paths x K on the grid k/12, k = 1..K (`bank`
    weighs a flow paid at k/12); `horizon_months` (1..K, increasing) are the horizons in months.
    With `realized` the grid must cover every pool's months left and `spread` (one per pool,
    decimal) discounts the later flows. Pools are split over `threads`; every number depends
    only on its own path and pool, so any thread count and any split of the paths give the
    same bits. */
MbsPathValues mbs_path_values(const MbsPoolsView& pools, const PrepayModel& model,
                              int calendar_month, const G2Params& g2, ConstVecRef log_df,
                              ConstVecRef log_df_tenor, double tenor, double mortgage_spread,
                              ConstMatRef x, ConstMatRef y, ConstMatRef bank,
                              ConstIdxRef horizon_months, ConstVecRef spread, bool realized,
                              int threads);

}  // namespace fialloc
