"""G2++ zero-coupon bonds and swaptions against QuantLib's G2 model; calibration recovery."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc import Curve
from fialloc.scenarios import G2pp
from fialloc.schedule import add_months

qlh = pytest.importorskip("quantlib_helpers")
ql = qlh.ql

pytestmark = pytest.mark.reference

VD = dt.date(2026, 1, 15)
DAYS = np.array([182, 365, 730, 1826, 3652, 7305, 10957, 18262])


def _curve(rng):
    zeros = 0.035 + np.cumsum(rng.normal(0, 0.002, len(DAYS)))
    return Curve.from_zero_rates(DAYS / 365.0, zeros, VD)


def _random_params(rng):
    a, b = sorted(rng.uniform(0.01, 1.2, 2))
    return (
        float(a),
        float(rng.uniform(0.003, 0.02)),
        float(b),
        float(rng.uniform(0.003, 0.02)),
        float(rng.uniform(-0.95, 0.6)),
    )


@pytest.mark.parametrize("seed", range(5))
def test_zero_bonds_match_quantlib(seed):
    rng = np.random.default_rng(seed)
    curve = _curve(rng)
    params = _random_params(rng)
    qlh.set_evaluation_date(VD)
    reference = ql.G2(qlh.discount_curve(curve, VD), *params)
    model = G2pp(curve, *params)
    for t in (0.0, 0.7, 3.0, 12.5):
        maturities = t + np.array([0.25, 1.0, 5.0, 17.3, 35.0])
        x, y = rng.normal(0, 0.01, 6), rng.normal(0, 0.01, 6)
        ours = model.zero_bond(t, maturities, x, y)
        theirs = np.array(
            [
                [
                    reference.discountBond(t, float(m), ql.Array([float(a), float(b)]))
                    for m in maturities
                ]
                for a, b in zip(x, y, strict=True)
            ]
        )
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed", range(4))
def test_swaptions_match_quantlib_g2_engine(seed):
    rng = np.random.default_rng(100 + seed)
    curve = _curve(rng)
    params = _random_params(rng)
    qlh.set_evaluation_date(VD)
    handle = qlh.discount_curve(curve, VD)
    reference = ql.G2(handle, *params)
    model = G2pp(curve, *params)
    index = ql.IborIndex(
        "idx",
        ql.Period(6, ql.Months),
        0,
        ql.USDCurrency(),
        ql.NullCalendar(),
        ql.Unadjusted,
        False,
        ql.Actual365Fixed(),
        handle,
    )
    for expiry_months, tenor_years in ((12, 5), (60, 10), (120, 20)):
        expiry = add_months(VD, expiry_months)
        end = add_months(expiry, 12 * tenor_years)
        fixed = qlh.schedule(expiry, end, 1)
        dates = [qlh.pydate(d) for d in fixed]
        times = np.array([(d - VD).days / 365.0 for d in dates])
        accruals, pay = np.diff(times), times[1:]
        t_exp = times[0]
        forward = float(
            (curve.discount(t_exp) - curve.discount(pay[-1]))
            / np.dot(accruals, curve.discount(pay))
        )
        for strike in (0.8 * forward, forward, 1.25 * forward):
            for payer in (True, False):
                swap = ql.VanillaSwap(
                    ql.Swap.Payer if payer else ql.Swap.Receiver,
                    1.0,
                    fixed,
                    strike,
                    ql.Actual365Fixed(),
                    qlh.schedule(expiry, end, 2),
                    index,
                    0.0,
                    ql.Actual365Fixed(),
                )
                option = ql.Swaption(swap, ql.EuropeanExercise(qlh.qdate(expiry)))
                option.setPricingEngine(ql.G2SwaptionEngine(reference, 8.0, 400))
                from fialloc import _core

                ours = _core.g2_swaption(
                    *model.params,
                    t_exp,
                    float(np.log(curve.discount(t_exp))),
                    pay,
                    accruals,
                    np.log(curve.discount(pay)),
                    float(strike),
                    payer,
                )
                assert ours == pytest.approx(option.NPV(), rel=1e-9, abs=1e-12), (
                    f"expiry {expiry_months}m tenor {tenor_years}y strike {strike:.4%} "
                    f"payer {payer}: "
                    f"calculated {ours}, expected {option.NPV()}"
                )


def test_calibration_recovers_known_parameters():
    curve = Curve.from_zero_rates(
        DAYS / 365.0, [0.04, 0.039, 0.037, 0.036, 0.038, 0.041, 0.042, 0.041], VD
    )
    truth = G2pp(curve, 0.06, 0.011, 0.7, 0.009, -0.6)
    grid = [(e, t) for e in (1, 2, 5, 10) for t in (2, 5, 10, 20)]
    quotes = pd.DataFrame(
        [{"expiry": e, "tenor": t, "normal_vol": truth.normal_vol(e, t)} for e, t in grid]
    )
    fitted, report = G2pp.calibrate(curve, quotes, starts=4, seed=1)
    assert report["error_bp"].abs().max() < 1e-6
    a, s, b, e, r = fitted.params
    assert a < b
    np.testing.assert_allclose([a, s, b, e, r], truth.params, rtol=1e-8)


def test_calibration_validates_quotes():
    curve = Curve.flat(0.03, VD)
    with pytest.raises(ValueError, match="normal_vol must be positive decimals"):
        G2pp.calibrate(curve, pd.DataFrame({"expiry": [1.0], "tenor": [5.0], "normal_vol": [95.0]}))
    with pytest.raises(ValueError, match="missing"):
        G2pp.calibrate(curve, pd.DataFrame({"expiry": [1.0]}))
