// fialloc: Apache-2.0
#pragma once
//! Agency MBS pass-throughs: monthly pool cash flows under a prepayment rule, valued on rate paths.

/*! A pool of level-payment mortgages with gross coupon WAC (decimal a year) and `wam` months
    left pays, in projection month k = 1..wam, on a current balance B (per unit of today's face):

    - scheduled principal \f$ S = B\,c / ((1 + c)^{n} - 1) \f$ with \f$ c = \mathrm{WAC}/12 \f$
      and \f$ n = \mathrm{wam} - k + 1 \f$ (B / n when c = 0), the level payment less interest;
    - prepayment \f$ \mathrm{SMM}\,(B - S) \f$, \f$ \mathrm{SMM} = 1 - (1 - \mathrm{CPR})^{1/12} \f$;
    - interest to the investor \f$ B \cdot \mathrm{net\_coupon} / 12 \f$ (the servicing and
      guarantee fee is WAC less net coupon);

    the investor's cash flow in month k is interest + S + prepayment, paid at k/12 years (no
    payment delay is modelled). CPR is constant, a PSA speed (6% a year x min(loan age, 30) / 30
    x speed / 100) or the rate-dependent model of PrepayModel. */

#include <array>
#include <cstdint>

#include "fialloc/g2.hpp"
#include "fialloc/types.hpp"

namespace fialloc {

//! How a pool prepays; `speed` is read per kind.
enum class PrepayKind : std::int64_t {
  ConstantCpr = 0,  //!< speed = CPR, decimal a year
  Psa = 1,          //!< speed = PSA percent (100 = the standard ramp to 6% CPR at 30 months)
  RateModel = 2,    //!< speed = multiplier on the rate-dependent model's CPR
};

/*! Rate-dependent prepayment in the multiplicative form of Richard and Roll (1989), with the
    multipliers acting on the single monthly mortality (a monthly hazard rate, as hazard-rate
    prepayment models write it):
    \f$ \mathrm{SMM} = \mathrm{speed} \cdot S(I) \cdot \min(1, \mathrm{age} / \mathrm{ramp})
        \cdot M_{\mathrm{month}} \cdot (b + (1 - b)\,\mathrm{factor}) \f$, capped below 1, where
    the refinancing incentive \f$ I = \mathrm{WAC} - r_{\mathrm{mortgage}} \f$ enters the
    logistic S-curve \f$ S(I) = s_{lo} + (s_{hi} - s_{lo}) / (1 + e^{-(I - I_{mid}) / w}) \f$
    between the SMMs \f$ s_{lo}, s_{hi} \f$ of `cpr_low` and `cpr_high`, `factor` is the pool's
    remaining share of its original balance (burnout) and \f$ M_{\mathrm{month}} \f$ the
    seasonality of the calendar month the prepayment falls in. A seasoned pool with its original
    balance in a month of multiplier 1 prepays between `cpr_low` and `cpr_high` exactly. */
struct PrepayModel {
  double cpr_low;        //!< R far out of the money (turnover), decimal a year
  double cpr_high;       //!< R far in the money, decimal a year
  double incentive_mid;  //!< incentive at the S-curve's midpoint, decimal
  double incentive_width;  //!< logistic scale of the incentive, decimal (> 0)
  double ramp_months;    //!< seasoning ramp length, months (> 0)
  double burnout_floor;  //!< b: the burnout multiplier of a pool with nothing left
  std::array<double, 12> seasonality;  //!< multipliers for January .. December
};

//! Throws std::invalid_argument naming the bad parameter.
void check_prepay_model(const PrepayModel& m, const char* where);

//! One row per pool.
struct MbsPoolsView {
  ConstVecRef wac;         //!< gross weighted-average coupon, decimal a year
  ConstVecRef net_coupon;  //!< pass-through coupon, decimal a year
  ConstIdxRef wam;         //!< remaining term, months (>= 1)
  ConstIdxRef age;         //!< loan age today, months (>= 0)
  ConstVecRef factor;      //!< current balance / original balance, in (0, 1]
  ConstIdxRef kind;        //!< PrepayKind per pool
  ConstVecRef speed;       //!< CPR, PSA percent or model multiplier (>= 0)
};

struct MbsValues {
  VectorXd value;        //!< per 100 of today's face at the OAS (mean over paths)
  VectorXd oas;          //!< option-adjusted spread, decimal, continuously compounded
  VectorXd std_error;    //!< Monte Carlo standard error of `value` (from the paths' spread)
  VectorXd spread_dv;    //!< -d value / d OAS, per 100 face per unit of spread
  RowMatrixXd principal;  //!< pools x months: mean principal paid (scheduled + prepaid) per unit face
};

//! Throws std::invalid_argument naming the pool and column; `months` is the paths' grid length.
void check_mbs_pools(const MbsPoolsView& pools, Eigen::Index months, const char* where);

namespace mbs_detail {

//! Single monthly mortality of an annual CPR (capped below a month that takes everything).
double smm_of(double cpr);
//! Scheduled principal per unit balance with `n` level payments left at monthly rate `c`.
double amortization(double c, std::int64_t n);

/*! Projection month `k` (1 = the month after today) of pool `i` on `np` paths: `rate` holds
    each path's mortgage rate at the month's start (read by the rate model only), `bal` the
    balances per unit of today's face (updated), `flow` receives each path's cash (interest
    plus principal) times `weight`, `paid` its principal; `work` is `np` doubles of scratch.
    Every kernel that projects a pool steps it with this one function. */
void pool_month(const MbsPoolsView& pools, std::int64_t i, const PrepayModel& model,
                int calendar_month, std::int64_t k, Eigen::Index np, const double* rate,
                const double* weight, double* bal, double* flow, double* paid, double* work);

}  // namespace mbs_detail

/*! Mortgage rates on paths: `spread` plus the `tenor`-year continuously compounded zero yield
    \f$ -\ln P(t, t + \tau \mid x, y) / \tau \f$ of G2++ at each of `times` (years, >= 0,
    increasing). `log_df_t` and `log_df_t_tenor` are ln P^M(0, t) and ln P^M(0, t + tenor) per
    time; `x` and `y` are paths x times. Returns paths x times (decimal a year). */
RowMatrixXd mbs_mortgage_rates(const G2Params& p, ConstVecRef times, ConstVecRef log_df_t,
                               ConstVecRef log_df_t_tenor, ConstMatRef x, ConstMatRef y,
                               double tenor, double spread);

/*! Value pools on paths. `discount` is paths x months with column k-1 the discount factor
    D(0, k/12) of the path; `mortgage_rate` (same shape) holds the rate each path sees at the
    start of month k, which drives month k's prepayment. The grid must cover every pool's `wam`.
    `calendar_month` (1..12) is the calendar month of projection month 1.

    With `solve`, `target` holds dirty prices per 100 face and the OAS that matches each is
    found (bracketed Newton on the path-mean discounted flows, to 1e-12); otherwise `target`
    holds the OAS (decimal) to value at. With `antithetic` (an even number of paths, pairs
    2i, 2i+1 mirrored), the standard error is taken over pair means. Pools are split over
    `threads`; every result depends only on the inputs, not on the thread count. */
MbsValues mbs_value(const MbsPoolsView& pools, const PrepayModel& model, int calendar_month,
                    ConstMatRef discount, ConstMatRef mortgage_rate, ConstVecRef target,
                    bool solve, bool antithetic, int threads);

}  // namespace fialloc
