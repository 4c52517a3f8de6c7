// fialloc: Apache-2.0
#pragma once
//! G2++ swaption prices with exact gradients in the five parameters, for calibration.

/*! The price is Brigo and Mercurio's one-dimensional integral (4.31) over the x factor, with the
    swap's critical y solved at each node; see g2_swaption in g2.hpp. The gradient is forward-mode
    automatic differentiation of the same arithmetic (dual numbers carrying d/d(a, sigma, b, eta,
    rho)); the critical y, found in plain doubles, enters through one Newton correction in dual
    numbers, which carries the implicit function theorem's derivative. So the gradient is exact
    to rounding for the quadrature actually used, not a finite difference. */

#include <array>

#include "fialloc/g2.hpp"
#include "fialloc/types.hpp"

namespace fialloc {

//! Many swaptions laid out back to back: swaption i's fixed leg is flows offsets[i]..offsets[i+1].
struct SwaptionBook {
  ConstVecRef expiry;         //!< years
  ConstVecRef log_df_expiry;  //!< ln P^M(0, expiry)
  ConstIdxRef offsets;
  ConstVecRef pay_times;    //!< years, after the expiry, increasing per swaption
  ConstVecRef accruals;     //!< fixed-leg accrual fractions
  ConstVecRef log_df_pay;   //!< ln P^M(0, pay time)
  ConstVecRef strike;       //!< decimal
};

struct SwaptionPrices {
  VectorXd price;     //!< per unit notional, payer swaptions
  RowMatrixXd grad;   //!< swaptions x 5: d price / d(a, sigma, b, eta, rho); empty if not asked
};

/*! One swaption's price per unit notional (`omega` 1 payer, -1 receiver), inputs as g2_swaption
    takes them (checked there); the pricing integral behind g2_swaption and g2_swaption_prices. */
double g2_swaption_price(const G2Params& p, double expiry, double log_df_expiry, const double* pay,
                         const double* accruals, const double* log_df_pay, Eigen::Index n,
                         double strike, double omega, double range, int intervals);

/*! Payer swaption prices (and with `gradient`, their gradients) for every swaption of `book`,
    integrating on mean +- `range` standard deviations of x with `intervals` Gauss-Legendre panels
    of 8 nodes. Throws std::invalid_argument naming the bad argument. */
SwaptionPrices g2_swaption_prices(const G2Params& p, const SwaptionBook& book, bool gradient,
                                  double range, int intervals);

}  // namespace fialloc
