"""Hull-White calibration against the scalar implementation it replaced.

:meth:`HullWhite.calibrate` prices every quote at once per trial (a, sigma), with a vectorized
Newton search for Jamshidian's critical states. The reference below is the earlier code: one
quote at a time, the critical state by ``brentq``, the same two-start ``least_squares`` fit.
The fitted parameters sit on a flat valley of the objective: the earlier code itself lands a
few 1e-7 (relative) from the optimum ``least_squares`` reaches with tight tolerances, and
prices that agree to 1e-12 move it by as much. So the fits are compared at that precision,
and the new fit must be as good: its sum of squared relative vol errors no larger than the
reference's but for rounding.

The books :func:`fialloc.data.synthetic` builds, for any seed and size, share the demo's curve
quotes, so the demo's curves (each currency, with the default G2++ parameters a run uses, and
with perturbed ones) stand for them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq, least_squares
from scipy.special import ndtr

from fialloc import Curve
from fialloc.data.portfolio import Portfolio
from fialloc.hull_white import DEFAULT_SWAPTIONS, HullWhite
from fialloc.scenarios import G2pp, _fixed_leg

#: Relative agreement of (a, sigma) with the reference fit, and of the fits' objectives.
PARAMETER_RTOL = 2e-6
OBJECTIVE_RTOL = 1e-9


def _reference_payer(model: HullWhite, expiry: float, tenor: float) -> float:
    """The ATM payer swaption by the earlier scalar Jamshidian code (brentq critical state)."""
    pay, acc = _fixed_leg(expiry, tenor, 1)
    strike = model.forward_swap_rate(expiry, tenor, 1)
    a, s = model.a, model.sigma
    c = strike * acc
    c[-1] += 1.0
    log_t = float(np.log(model.curve.discount(expiry)))
    log_pay = np.log(np.asarray(model.curve.discount(pay), dtype=float))
    bees = -np.expm1(-a * (pay - expiry)) / a
    var_x = s * s * -np.expm1(-2 * a * expiry) / (2 * a)
    log_a = log_pay - log_t - 0.5 * bees * bees * var_x

    def excess(x: float) -> float:
        return float(np.dot(c, np.exp(log_a - bees * x)) - 1.0)

    lo, hi = -10 * np.sqrt(var_x), 10 * np.sqrt(var_x)
    while excess(lo) < 0:
        lo *= 2
    while excess(hi) > 0:
        hi *= 2
    x_star = brentq(excess, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=200)
    strikes = np.exp(log_a - bees * x_star)
    sigma_p = np.sqrt(var_x) * bees
    h = (log_pay - log_t - np.log(strikes)) / sigma_p + sigma_p / 2
    legs = strikes * np.exp(log_t) * ndtr(-h + sigma_p) - np.exp(log_pay) * ndtr(-h)
    return float(np.dot(c, legs))


def _reference_fit(curve: Curve, vols: np.ndarray) -> np.ndarray:
    """The earlier calibration: (a, sigma) from two least-squares starts, the better kept."""

    def residuals(x: np.ndarray) -> np.ndarray:
        m = HullWhite(curve, float(x[0]), float(x[1]))
        model = [
            _reference_payer(m, e, t) / m._price_per_normal_vol(e, t, 1)
            for e, t in DEFAULT_SWAPTIONS
        ]
        return (np.array(model) - vols) / vols

    bounds = (np.array([1e-4, 1e-6]), np.array([3.0, 0.1]))
    fits = [
        least_squares(residuals, x0, bounds=bounds, x_scale="jac", max_nfev=400)
        for x0 in (np.array([0.05, float(np.median(vols))]), np.array([0.5, 0.02]))
    ]
    return np.asarray(min(fits, key=lambda f: f.cost).x)


def _objective(report: pd.DataFrame) -> float:
    return float(((report["model_vol_bp"] / report["market_vol_bp"] - 1.0) ** 2).sum())


def _g2_cases() -> list[tuple[str, dict[str, float]]]:
    rng = np.random.default_rng(20)
    cases: list[tuple[str, dict[str, float]]] = [
        (c, {}) for c in ("USD", "EUR", "GBP", "JPY", "CAD")
    ]
    for i in range(15):
        params = {
            "a": float(rng.uniform(0.02, 1.0)),
            "sigma": float(rng.uniform(0.003, 0.02)),
            "b": float(rng.uniform(0.01, 0.5)),
            "eta": float(rng.uniform(0.003, 0.015)),
            "rho": float(rng.uniform(-0.9, 0.3)),
        }
        cases.append((("USD", "EUR", "GBP", "JPY", "CAD")[i % 5], params))
    return cases


@pytest.mark.parametrize(("currency", "g2_params"), _g2_cases())
def test_fit_matches_the_scalar_reference(
    demo_portfolio: Portfolio, currency: str, g2_params: dict[str, float]
) -> None:
    g2 = G2pp(demo_portfolio.curve_set.curve(currency), **g2_params)
    model, report = HullWhite.from_g2(g2)
    expected = _reference_fit(model.curve, report["market_vol_bp"].to_numpy() / 1e4)
    assert (model.a, model.sigma) == pytest.approx(tuple(expected), rel=PARAMETER_RTOL)
    reference = HullWhite(model.curve, float(expected[0]), float(expected[1]))
    reference_vols = [
        _reference_payer(reference, e, t) / reference._price_per_normal_vol(e, t, 1) * 1e4
        for e, t in DEFAULT_SWAPTIONS
    ]
    assert _objective(report) <= _objective(report.assign(model_vol_bp=reference_vols)) * (
        1 + OBJECTIVE_RTOL
    )


def test_vectorized_swaptions_match_the_scalar_reference() -> None:
    """Each ATM quote's price, over a spread of (a, sigma), to rounding."""
    curve = Curve.flat(0.035, pd.Timestamp("2026-01-15").date())
    for a in (1e-4, 0.03, 0.4, 3.0):
        for sigma in (0.002, 0.01, 0.05):
            model = HullWhite(curve, a, sigma)
            for e, t in DEFAULT_SWAPTIONS:
                assert model.swaption(e, t) == pytest.approx(
                    _reference_payer(model, e, t), rel=1e-11
                )
