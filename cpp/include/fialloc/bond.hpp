// fialloc: Apache-2.0
#pragma once
//! Vectorized pricing of fixed cash-flow streams: off a curve plus z-spread, or from a yield.

/*! Curve pricing of stream s with continuously compounded z-spread \f$ z_s \f$:
    \f[ PV_s = \sum_i a_i \, P(0, t_i)\, e^{-z_s t_i} \f]
    Yield pricing with compounding frequency \f$ f_s \f$ (street convention; \f$ f_s = 0 \f$ means
    continuous), on yield times \f$ \tau_i \f$ measured in the stream's own day count:
    \f[ PV_s = \sum_i a_i (1 + y_s / f_s)^{-f_s \tau_i} \f] */

#include "fialloc/curve.hpp"
#include "fialloc/types.hpp"

namespace fialloc {

//! v_i = a_i P(0, t_i) exp(-z_s t_i) for every flow (the discounted flows every risk measure sums).
VectorXd discounted_flows(const CashflowView& cf, const ZeroCurve& curve, ConstVecRef z_spreads);

//! Present value of each stream (money per unit of the amounts' face).
VectorXd price_streams(const CashflowView& cf, const ZeroCurve& curve, ConstVecRef z_spreads);

//! Continuously compounded z-spread of each stream so that its present value equals `prices`.
VectorXd z_spreads_from_prices(const CashflowView& cf, const ZeroCurve& curve, ConstVecRef prices);

//! Present value of each stream at yield `yields` compounded `freq` times a year (0: continuous).
VectorXd prices_from_yields(const CashflowView& ycf, ConstVecRef freq, ConstVecRef yields);

//! Yield of each stream that reprices it to `prices`, compounded `freq` times a year.
VectorXd yields_from_prices(const CashflowView& ycf, ConstVecRef freq, ConstVecRef prices);

//! Yield-based risk: Macaulay and modified duration (years), convexity (years^2).
struct YieldRisk {
  VectorXd macaulay;
  VectorXd modified;
  VectorXd convexity;
};
YieldRisk yield_risk(const CashflowView& ycf, ConstVecRef freq, ConstVecRef yields);

/*! The three yield functions on a layout already validated by check_layout (a FlowBook's), which
    they then do not check again; the other arguments are checked. */
VectorXd prices_from_yields_valid(const CashflowView& ycf, ConstVecRef freq, ConstVecRef yields);
VectorXd yields_from_prices_valid(const CashflowView& ycf, ConstVecRef freq, ConstVecRef prices);
YieldRisk yield_risk_valid(const CashflowView& ycf, ConstVecRef freq, ConstVecRef yields);

}  // namespace fialloc
