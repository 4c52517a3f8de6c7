// fialloc: Apache-2.0
#pragma once
//! Several G2++ economies (currencies, real rates) correlated through one driver correlation,
//! linked by lognormal exchange rates (FX, consumer price index), simulated exactly.

/*! Economy e has its own G2++ (a_e, sigma_e, b_e, eta_e, rho_e) fitted to its curve; every
    economy but the base (e = 0) has a parent p(e) < e and a link L_e, the price in the parent's
    units of one unit of e (an FX rate, or a price index ratio for real rates), with
    \f[ dL_e / L_e = (r_{p(e)} - r_e)\,dt + \nu_e\,dW_{L_e} \f]
    under the parent's risk-neutral measure (covered interest parity; Jarrow-Yildirim for real
    rates). Everything is simulated under the base economy's measure: each Brownian driver j
    specified under economy m's measure gets the constant drift
    \f$ \mu_j = -\sum_{\ell \in \mathrm{chain}(m)} \rho_{j\ell} \nu_\ell \f$ over the links from m
    up to the base (the quanto adjustment). Drivers are ordered (x_0, y_0, x_1, y_1, ...,
    x_{E-1}, y_{E-1}, L_1, ..., L_{E-1}); `correlation` is their (2E + E - 1)-square matrix, and
    its (x_e, y_e) entry must equal rho_e. Each step draws the joint Gaussian of every factor,
    its time integral and every link's Brownian increment, so discount factors and links are
    exact on the grid. Normals come from the counter-based generator keyed by (seed, path, step):
    economy e's factors from sub-streams 2e and 2e + 1 (economy 0 as a single G2++ draws them),
    links from sub-streams 32 + (e - 1) / 2, so results do not depend on threads or chunks. */

#include <cstdint>
#include <vector>

#include "fialloc/g2.hpp"
#include "fialloc/types.hpp"

namespace fialloc {

struct G2MultiPaths {
  std::vector<RowMatrixXd> x;         //!< per economy, paths x times
  std::vector<RowMatrixXd> y;         //!< per economy, paths x times
  std::vector<RowMatrixXd> discount;  //!< per economy, D_e(0, t) = exp(-int r_e), paths x times
  std::vector<RowMatrixXd> link;      //!< per economy (empty for the base), L_e(t), paths x times
};

/*! `params` is economies x 5 (a, sigma, b, eta, rho); `log_dfs` economies x times (today's
    ln P_e(0, t)); `parents` one per economy (-1 for economy 0, then an earlier economy);
    `link_spots` today's L_e (positive; entry 0 unused) and `link_vols` nu_e (>= 0, entry 0
    unused). Throws std::invalid_argument naming the bad input. */
G2MultiPaths simulate_g2_multi(ConstMatRef params, ConstVecRef times, ConstMatRef log_dfs,
                               ConstIdxRef parents, ConstVecRef link_spots,
                               ConstVecRef link_vols, ConstMatRef correlation,
                               std::int64_t first_path, std::int64_t n_paths, std::uint64_t seed,
                               int threads);

}  // namespace fialloc
