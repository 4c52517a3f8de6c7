// fialloc: Apache-2.0
#pragma once
//! Revaluation of cash-flow books on G2++ paths, summed straight into their holders.

#include "fialloc/g2.hpp"
#include "fialloc/types.hpp"

namespace fialloc {

/*! Who holds what: a sparse holders x streams matrix in compressed rows. Holder m holds
    `units[k]` of stream `streams[k]` for k in offsets[m] .. offsets[m+1]-1 (a sleeve's face /
    100 of each bond, 1 of a liability stream, one instrument per holder for per-stream values). */
struct Holdings {
  ConstIdxRef offsets;
  ConstIdxRef streams;
  ConstVecRef units;

  Eigen::Index n_holders() const { return offsets.size() - 1; }
};

/*! Value at each horizon, on each path, of every holder's flows after the horizon:
    \f[ V_m(h) = \sum_{s} u_{ms} \sum_{t_i > h} a_i P(h, t_i | x_h, y_h)
        e^{-(z_s + \Delta s_{g(s)}) (t_i - h)}. \f]
    `log_df_flows` = ln P^M(0, t_i) per flow, `log_df_h` per horizon; `x`, `y` are paths x
    horizons. Optional spread moves: `groups` gives each stream's group (-1 for none) and
    `spread_moves` is paths x (horizons * groups), horizon-major (decimal changes of the
    group's spread); both empty for none. Returns paths x (horizons * holders), horizon-major.

    One pass per horizon: flows falling on the same date (and spread group) share one zero-bond
    exponential per path, and each holder's path-independent weights (units, amounts, z-spread
    discount) are summed once; a block of paths then costs one exponential per distinct date and
    one multiply-add per (holder, date) held. Memory beyond the result is one horizon's dates for
    a block of eight paths per thread. Every value is summed in a fixed order, so results do not
    depend on `threads` or on how the paths are split into calls. */
RowMatrixXd g2_revalue(const G2Params& p, const CashflowView& cf, ConstVecRef log_df_flows,
                       ConstVecRef z_spreads, ConstVecRef horizons, ConstVecRef log_df_h,
                       ConstMatRef x, ConstMatRef y, const Holdings& holdings, ConstIdxRef groups,
                       ConstMatRef spread_moves, int threads);

}  // namespace fialloc
