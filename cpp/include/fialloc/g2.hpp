// fialloc: Apache-2.0
#pragma once
//! Two-factor Gaussian short-rate model G2++ (Brigo and Mercurio, ch. 4), fitted to today's curve.

/*! \f[ r(t) = x(t) + y(t) + \varphi(t), \quad dx = -a x\,dt + \sigma dW_1, \quad
        dy = -b y\,dt + \eta dW_2, \quad dW_1 dW_2 = \rho\,dt, \f]
    with \f$ x(0) = y(0) = 0 \f$ and \f$ \varphi \f$ chosen so the model reprices the market
    discount factors \f$ P^M(0, T) \f$ exactly. Zero-coupon bonds are
    \f[ P(t, T) = \frac{P^M(0,T)}{P^M(0,t)} \exp\{\tfrac12[V(t,T) - V(0,T) + V(0,t)]
        - B_a(T-t) x(t) - B_b(T-t) y(t)\}, \quad B_k(\tau) = (1 - e^{-k\tau})/k. \f]
    Paths are simulated exactly: each step draws the joint Gaussian of the factors and their
    integrals, so the stochastic discount factor
    \f$ D(0,t) = P^M(0,t) \exp\{-\tfrac12 V(0,t) - \int_0^t (x + y)\,ds\} \f$ is exact too. */

#include <cstdint>

#include "fialloc/types.hpp"

namespace fialloc {

struct G2Params {
  double a;
  double sigma;
  double b;
  double eta;
  double rho;
};

//! Throws std::invalid_argument naming the bad parameter; `where` prefixes the message.
void check_g2(const G2Params& p, const char* where);

//! V(t, T): variance of the integrated short rate over [t, T] (T - t = tau years).
double g2_v(const G2Params& p, double tau);

/*! x, y and the stochastic discount factor D(0, t), each paths x times, stacked in one matrix:
    one allocation, which the C library reuses from call to call instead of mapping (and the
    kernel zeroing) fresh pages for three. */
struct G2Paths {
  RowMatrixXd states;  //!< rows [0, n): x; [n, 2n): y; [2n, 3n): D(0, t)

  Eigen::Index n_paths() const { return states.rows() / 3; }
  auto x() const { return states.topRows(n_paths()); }
  auto y() const { return states.middleRows(n_paths(), n_paths()); }
  auto discount() const { return states.bottomRows(n_paths()); }
};

/*! Simulate paths `first_path` .. `first_path + n_paths - 1` on `times` (years, strictly
    increasing, first > 0). `log_dfs` are today's ln P^M(0, t) at those times. Path p draws its
    normals from the counter (step, p) under `seed`, so any split of the paths into chunks gives
    the same paths; with `antithetic`, odd paths negate the previous path's draws.
    `threads` <= 0 means all hardware threads. */
G2Paths simulate_g2(const G2Params& p, ConstVecRef times, ConstVecRef log_dfs,
                    std::int64_t first_path, std::int64_t n_paths, std::uint64_t seed,
                    bool antithetic, int threads);

/*! P(t, T_j | x_i, y_i) for states i and maturities j (years, T_j >= t): a states x maturities
    matrix. `log_df_t` = ln P^M(0, t), `log_df_T` = ln P^M(0, T_j). */
RowMatrixXd g2_zero_bonds(const G2Params& p, double t, double log_df_t, ConstVecRef maturities,
                          ConstVecRef log_df_T, ConstVecRef x, ConstVecRef y);

/*! Standard normals for extra risk factors (spreads, inflation): paths x (steps * factors),
    step-major, from the same counter-based generator as the rate paths but a separate
    sub-stream, so they too depend only on (seed, path). */
RowMatrixXd g2_factor_normals(std::uint64_t seed, std::int64_t first_path, std::int64_t n_paths,
                              std::int64_t n_steps, std::int64_t n_factors, bool antithetic);

/*! European swaption price per unit notional (Brigo-Mercurio 4.31): expiry `expiry` (years),
    fixed-leg payment times `pay_times` (years, after expiry) with accrual fractions `accruals`,
    strike `strike` (decimal), payer if `payer`. `log_df_expiry` = ln P^M(0, expiry) and
    `log_df_pay` = ln P^M(0, t_i). One-dimensional integral by Gauss-Legendre on
    mean +- `range` standard deviations with `intervals` panels. */
double g2_swaption(const G2Params& p, double expiry, double log_df_expiry, ConstVecRef pay_times,
                   ConstVecRef accruals, ConstVecRef log_df_pay, double strike, bool payer,
                   double range = 8.0, int intervals = 64);

}  // namespace fialloc
