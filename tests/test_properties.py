"""Property tests (hypothesis) of curves and bond analytics."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc import BondBook, Curve, bootstrap
from fialloc.curves import read_quotes

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
hnp = pytest.importorskip("hypothesis.extra.numpy")
given = hypothesis.given

VD = dt.date(2026, 3, 31)
TENORS = (0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0)

forwards = hnp.arrays(np.float64, 8, elements=st.floats(0.0005, 0.12))
gaps = hnp.arrays(np.float64, 8, elements=st.floats(0.05, 8.0))


def _curve(fwd, gap, interpolation="log_linear"):
    t = np.cumsum(gap)
    ldf = -np.cumsum(fwd * gap)
    return Curve(t, ldf, interpolation, VD)


@st.composite
def bonds(draw, zero=None):
    freq = draw(st.sampled_from([0, 1, 2, 4, 12])) if zero is None else 0
    days = draw(st.integers(20, 40 * 365))
    return {
        "security_id": "B",
        "coupon": 0.0 if freq == 0 else draw(st.floats(0.0, 0.15)),
        "maturity": VD + dt.timedelta(days=days),
        "frequency": freq,
        "day_count": draw(st.sampled_from(["ACT/365F", "30/360", "ACT/ACT ICMA"])),
        "face": draw(st.floats(1.0, 1e9)),
    }


@given(forwards, gaps, hnp.arrays(np.float64, 50, elements=st.floats(0.0, 80.0)))
def test_discount_factors_in_unit_interval_and_decreasing(fwd, gap, t):
    curve = _curve(fwd, gap)
    t = np.sort(t)
    df = curve.discount(t)
    assert np.all(df > 0)
    assert np.all(df <= 1.0)
    assert np.all(np.diff(df) <= 0)


@given(forwards, gaps, st.floats(-300, 300))
def test_shift_round_trip_and_zero_rate_offset(fwd, gap, bp):
    curve = _curve(fwd, gap, "natural_cubic")
    t = np.linspace(0.01, 60, 40)
    np.testing.assert_allclose(
        curve.shifted(bp).shifted(-bp).discount(t), curve.discount(t), rtol=1e-13
    )
    np.testing.assert_allclose(
        curve.shifted(bp).zero_rate(t) - curve.zero_rate(t), bp * 1e-4, atol=1e-14
    )


@given(bonds(), st.floats(-0.02, 0.3), st.floats(1e-4, 0.2))
def test_price_strictly_decreases_with_yield(row, y, dy):
    book = BondBook.from_frame(pd.DataFrame([row]), VD)
    flat = Curve.flat(0.03, VD)
    low = book.analyze(flat, yield_=y).dirty_price[0]
    high = book.analyze(flat, yield_=y + dy).dirty_price[0]
    assert high < low


@given(bonds(), forwards, gaps, st.floats(0.0, 0.05))
def test_krds_sum_to_effective_duration(row, fwd, gap, z):
    book = BondBook.from_frame(pd.DataFrame([row]), VD)
    a = book.analyze(_curve(fwd, gap), z_spread=z)
    assert a.krd.sum() == pytest.approx(a.effective_duration[0], rel=1e-2)
    assert a.krd.sum() == pytest.approx(a.effective_duration[0], rel=1e-6)  # tents sum to one


@given(bonds(), forwards, gaps, st.floats(-0.01, 0.05))
def test_krd_kernel_equals_bump_and_reprice(row, fwd, gap, z):
    book = BondBook.from_frame(pd.DataFrame([row]), VD)
    curve = _curve(fwd, gap, "natural_cubic")
    a = book.analyze(curve, z_spread=z)
    p0 = a.dirty_price[0]
    for j, tenor in enumerate(TENORS):
        down = book.dirty_prices(curve.key_rate_bumped(tenor, -1.0), z)[0]
        up = book.dirty_prices(curve.key_rate_bumped(tenor, 1.0), z)[0]
        assert a.krd[0, j] == pytest.approx((down - up) / (2e-4 * p0), abs=1e-8)


@given(st.integers(20, 60 * 365), forwards, gaps)
def test_zero_coupon_macaulay_duration_equals_maturity(days, fwd, gap):
    row = {
        "security_id": "Z",
        "coupon": 0.0,
        "maturity": VD + dt.timedelta(days=days),
        "frequency": 0,
        "day_count": "ACT/365F",
        "face": 100.0,
    }
    a = BondBook.from_frame(pd.DataFrame([row]), VD).analyze(_curve(fwd, gap))
    assert a.macaulay_duration[0] == pytest.approx(days / 365.0, rel=1e-12)
    assert a.spread_duration[0] == pytest.approx(days / 365.0, rel=1e-12)


@given(bonds(), st.floats(-0.01, 0.25))
def test_yield_price_round_trip(row, y):
    book = BondBook.from_frame(pd.DataFrame([row]), VD)
    flat = Curve.flat(0.03, VD)
    a = book.analyze(flat, yield_=y)
    b = book.analyze(flat, clean_price=a.clean_price)
    assert b.ytm[0] == pytest.approx(y, abs=1e-10)
    assert b.z_spread[0] == pytest.approx(a.z_spread[0], abs=1e-10)


@given(
    hnp.arrays(np.float64, 12, elements=st.floats(-0.002, 0.002)),
    st.floats(0.0, 0.08),
    st.sampled_from(["log_linear", "natural_cubic"]),
)
def test_bootstrap_reprices_every_instrument(steps, level, interpolation):
    tenors = ["1M", "3M", "6M", "1Y", "2Y", "3Y", "5Y", "7Y", "10Y", "15Y", "20Y", "30Y"]
    rates = level + np.cumsum(steps)
    kinds = ["deposit"] * 3 + ["swap", "par_bond"] * 4 + ["swap"]
    quotes = [
        {"kind": k, "tenor": t, "rate": float(r)}
        for k, t, r in zip(kinds, tenors, rates, strict=True)
    ]
    curve = bootstrap(quotes, VD, interpolation)
    for q in read_quotes(quotes, VD):
        times, amounts = q.flows(VD)
        assert abs(float(np.dot(amounts, curve.discount(np.array(times)))) - 1.0) < 1e-12


@given(hnp.arrays(np.float64, 5, elements=st.floats(-0.01, 0.01)))
def test_requote_equals_fresh_bootstrap(moves):
    quotes = [
        {"kind": "deposit", "tenor": "6M", "rate": 0.04},
        {"kind": "swap", "tenor": "2Y", "rate": 0.041},
        {"kind": "par_bond", "tenor": "5Y", "rate": 0.042},
        {"kind": "swap", "tenor": "10Y", "rate": 0.043, "frequency": 2},
        {"kind": "swap", "tenor": "30Y", "rate": 0.044},
    ]
    for interpolation in ("log_linear", "natural_cubic"):
        curve = bootstrap(quotes, VD, interpolation)
        rates = np.array([q["rate"] for q in quotes]) + moves
        moved = [dict(q, rate=float(r)) for q, r in zip(quotes, rates, strict=True)]
        fresh = bootstrap(moved, VD, interpolation)
        np.testing.assert_array_equal(curve.requote(rates).log_dfs, fresh.log_dfs)
