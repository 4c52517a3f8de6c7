// fialloc: Apache-2.0
#pragma once
//! Curve risk of many cash-flow streams in one pass: effective duration/convexity, spread duration
//! and key-rate durations from tent bumps on zero rates.

/*! Key tenors \f$ T_0 < \dots < T_{K-1} \f$ define tents \f$ w_k(t) \f$: 1 at \f$ T_k \f$, linear to
    0 at the neighbouring tenors, flat 1 before \f$ T_0 \f$ (for k = 0) and after \f$ T_{K-1} \f$
    (for k = K-1); the tents sum to 1 at every t. A bump \f$ h \f$ moves zero rates by
    \f$ h\, w_k(t) \f$, and with central differences
    \f[ KRD_k = \frac{P(-h w_k) - P(+h w_k)}{2 h P} = \frac{1}{h P}\sum_i v_i \sinh(h\, w_k(t_i)\, t_i) \f]
    evaluated in the sinh form, which is the same number without the cancellation. Likewise for a
    parallel bump (effective duration) and \f$ C = (P_+ + P_- - 2P) / (h^2 P) \f$. */

#include "fialloc/curve.hpp"
#include "fialloc/types.hpp"

namespace fialloc {

struct CurveRisk {
  VectorXd pv;                   //!< present value
  VectorXd effective_duration;   //!< years
  VectorXd effective_convexity;  //!< years^2
  VectorXd spread_duration;      //!< years, analytic -dPV/dz / PV
  RowMatrixXd krd;               //!< streams x key tenors, years
};

/*! Throws std::invalid_argument unless `key_tenors` are positive and strictly increasing (years)
    and `bump` is in (0, 0.1) (decimal). */
void check_risk_args(ConstVecRef key_tenors, double bump);

/*! `key_tenors` strictly increasing, positive (years); `bump` is the zero-rate bump in decimals
    (1e-4 = 1 bp). */
CurveRisk curve_risk(const CashflowView& cf, const ZeroCurve& curve, ConstVecRef z_spreads,
                     ConstVecRef key_tenors, double bump);

}  // namespace fialloc
