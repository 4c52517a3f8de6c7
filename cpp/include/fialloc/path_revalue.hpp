// fialloc: Apache-2.0
#pragma once
//! Revaluation of cash-flow books on G2++ paths, summed straight into their holders.

#include <cstdint>
#include <vector>

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

namespace detail {
//! One horizon's work, independent of the paths: the dates still to come (a suffix of the sorted
//! dates), the deterministic part of each date's zero bond, and each holder's weights per date.
struct HorizonPlan {
  Eigen::Index first_node = 0;            // first global date after the horizon
  std::vector<double> ln_a, ba, bb, tau;  // per live date
  std::vector<std::int64_t> group;        // per live date
  std::vector<Eigen::Index> row;          // holders + 1 offsets into `node` and `coef`
  std::vector<std::int32_t> node;         // live date index
  std::vector<double> coef;               // units x amount x z-spread discount, summed
};
}  // namespace detail

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

/*! g2_revalue in two parts: the path-independent plan (dates, zero-bond coefficients, holders'
    weights per date) built once for a book, its holders and horizons, then applied to any
    number of path sets, e.g. the chunks of one run, each giving bitwise what g2_revalue gives.
    `n_groups` is the number of spread groups (ignored without `groups`). Immutable once built:
    threads may share it. */
class G2Revaluation {
 public:
  G2Revaluation(const G2Params& p, const CashflowView& cf, ConstVecRef log_df_flows,
                ConstVecRef z_spreads, ConstVecRef horizons, ConstVecRef log_df_h,
                const Holdings& holdings, ConstIdxRef groups, Eigen::Index n_groups);
  //! Paths x (horizons * holders), as g2_revalue with this plan's other arguments.
  RowMatrixXd revalue(ConstMatRef x, ConstMatRef y, ConstMatRef spread_moves, int threads) const;

 private:
  std::vector<detail::HorizonPlan> plans_;
  Eigen::Index n_horizons_ = 0, n_holders_ = 0, n_groups_ = 0;
  bool moves_ = false;
};

/*! Cash banked month by month to the horizons: block b pays `cashes[b](r, k * holders + m)`
    to holder m in month k (0-based), r = 0 on every path when the block has one row, else the
    path, weighted by `weights[b](p, k)` (paths x months). Per path and holder, each month's cash
    sums the blocks in order from 0 (0 + w_0 c_0 + w_1 c_1 + ...) and the running sum adds the
    months in order; its value after month `cols[j]` fills out(p, j * holders + m). The same
    operations in the same order as numpy's whole-array `month += w[:, k, None] * c[:, k, :]`
    and `banked = banked + month`, so the results are theirs bit for bit. Returns paths x
    (cols * holders). */
RowMatrixXd bank_monthly_cash(const std::vector<ConstMatRef>& weights,
                              const std::vector<ConstMatRef>& cashes, Eigen::Index n_paths,
                              Eigen::Index holders, ConstIdxRef cols);

}  // namespace fialloc
