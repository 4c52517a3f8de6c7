"""G2++ swaption prices with exact gradients, and the calibration built on them.

The batched pricer must repeat g2_swaption (itself checked against QuantLib's G2 engine in
test_quantlib_g2.py) and its forward-mode gradient must match central finite differences; the
calibration must recover known parameters from exact vols on generated curves and parameter
sets (the rate is reported in BENCHMARKS.md).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc import Curve, _core
from fialloc.scenarios import G2pp, _SwaptionBook

VD = dt.date(2026, 1, 15)
DAYS = np.array([182, 365, 730, 1095, 1826, 3652, 7305, 10957])


def random_case(seed: int):
    """A curve and G2++ parameters with b at least 1.5 a: two factors the vols can tell apart
    (closer reversions are nearly one factor; BENCHMARKS.md reports recovery over all)."""
    rng = np.random.default_rng(seed)
    zeros = 0.035 + np.cumsum(rng.normal(0, 0.002, len(DAYS)))
    curve = Curve.from_zero_rates(DAYS / 365.0, zeros, VD)
    a = rng.uniform(0.02, 0.8)
    b = a * rng.uniform(1.5, 8.0)
    params = (
        float(a),
        float(rng.uniform(0.004, 0.02)),
        float(b),
        float(rng.uniform(0.004, 0.02)),
        float(rng.uniform(-0.9, 0.5)),
    )
    return rng, curve, params


def swaption_book(curve, grid):
    q = pd.DataFrame(grid, columns=["expiry", "tenor"])
    return _SwaptionBook.atm(curve, q["expiry"], q["tenor"], pd.Series(1, index=q.index))


GRID = [(e, t) for e in (1, 2, 5, 10) for t in (1, 2, 5, 10, 20)]


@pytest.mark.parametrize("seed", range(8))
def test_batched_prices_repeat_g2_swaption_and_gradients_match_finite_differences(seed):
    _, curve, params = random_case(seed)
    book = swaption_book(curve, GRID)
    price, grad = book.prices(np.array(params), gradient=True)
    value_only, _ = book.prices(np.array(params), gradient=False)
    np.testing.assert_allclose(value_only, price, rtol=1e-14)
    model = G2pp(curve, *params)
    reference = np.array([model.swaption(e, t) for e, t in GRID])
    np.testing.assert_allclose(price, reference, rtol=1e-12)
    x = np.array(params)
    for k in range(5):
        h = 1e-5 * (abs(x[k]) if k < 4 else 1.0)
        up, down = x.copy(), x.copy()
        up[k] += h
        down[k] -= h
        fd = (book.prices(up, False)[0] - book.prices(down, False)[0]) / (2 * h)
        np.testing.assert_allclose(grad[:, k], fd, rtol=1e-5, atol=1e-9 * np.abs(fd).max())


@pytest.mark.parametrize("seed", range(6))
def test_calibration_recovers_generated_parameters_to_1e6(seed):
    _, curve, params = random_case(100 + seed)
    truth = G2pp(curve, *params)
    quotes = pd.DataFrame(
        [{"expiry": e, "tenor": t, "normal_vol": truth.normal_vol(e, t)} for e, t in GRID]
    )
    fitted, report = G2pp.calibrate(curve, quotes, seed=seed)
    np.testing.assert_allclose(fitted.params, params, rtol=1e-6)
    assert report["error_bp"].abs().max() < 1e-6


def test_batched_pricer_refuses_bad_books_by_name():
    args = [np.array([1.0]), np.array([-0.04]), np.array([0, 1], dtype=np.int64)]
    args += [np.array([2.0]), np.array([1.0]), np.array([-0.08]), np.array([0.04])]
    early = [*args[:3], np.array([0.5]), *args[4:]]
    with pytest.raises(ValueError, match="swaption 0 payment 0 must be after the expiry"):
        _core.g2_swaption_prices(0.05, 0.01, 0.5, 0.008, -0.7, *early, False)
    short = [*args[:2], np.array([0, 1, 1], dtype=np.int64), *args[3:]]
    with pytest.raises(ValueError, match="one more"):
        _core.g2_swaption_prices(0.05, 0.01, 0.5, 0.008, -0.7, *short, False)
    with pytest.raises(ValueError, match=r"`intervals` in 1\.\.10000"):
        _core.g2_swaption_prices(0.05, 0.01, 0.5, 0.008, -0.7, *args, False, 8.0, 0)
    with pytest.raises(ValueError, match="rho"):
        _core.g2_swaption_prices(0.05, 0.01, 0.5, 0.008, -1.5, *args, False)


@pytest.mark.parametrize("seed", range(3))
def test_calibration_prices_no_point_twice_and_stops_at_an_exact_fit(seed, monkeypatch):
    # Every pricing pass is most of a fit's time: none may repeat a point already priced (a
    # value pass after a gradient pass at the same point is a repeat too), and the first point
    # that reproduces every quote to 1e-12 ends the search (only the report's prices of the
    # factor-swapped twin may follow).
    _, curve, params = random_case(200 + seed)
    truth = G2pp(curve, *params)
    quotes = pd.DataFrame(
        [{"expiry": e, "tenor": t, "normal_vol": truth.normal_vol(e, t)} for e, t in GRID]
    )
    vols = quotes["normal_vol"].to_numpy()
    calls: list[tuple[bytes, bool]] = []
    exact: list[bool] = []
    prices = _SwaptionBook.prices

    def counted(self, x, gradient):
        out = prices(self, x, gradient)
        calls.append((np.asarray(x, dtype=np.float64).tobytes(), gradient))
        exact.append(bool(np.max(np.abs(out[0] / (self.bachelier_unit * vols) - 1.0)) <= 1e-12))
        return out

    monkeypatch.setattr(_SwaptionBook, "prices", counted)
    fitted, _ = G2pp.calibrate(curve, quotes, starts=8, seed=seed)
    np.testing.assert_allclose(fitted.params, params, rtol=1e-6)
    assert len(set(calls)) == len(calls), "a point was priced twice"
    for k, (x, gradient) in enumerate(calls):
        assert gradient or (x, True) not in calls[:k], f"pass {k}: value after a gradient pass"
    if any(exact):  # MINPACK's own tests may end a fit just short of 1e-12
        after = calls[exact.index(True) + 1 :]
        assert len(after) <= 1, f"{len(after)} passes after the exact fit"
        assert not any(g for _, g in after), "a gradient pass after the exact fit"
