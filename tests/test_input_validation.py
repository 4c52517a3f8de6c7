"""Bad input raises a clear ValueError naming the field and row; nothing crashes the process."""

from __future__ import annotations

import contextlib
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc import BondBook, CashflowStream, Curve, _core, bootstrap

VD = dt.date(2026, 6, 30)
GOOD_QUOTES = [
    {"kind": "deposit", "tenor": "3M", "rate": 0.04},
    {"kind": "swap", "tenor": "2Y", "rate": 0.041},
    {"kind": "swap", "tenor": "10Y", "rate": 0.043},
]
GOOD_BOND = {
    "security_id": "A",
    "coupon": 0.05,
    "maturity": "2031-06-30",
    "frequency": 2,
    "day_count": "30/360",
    "face": 1e6,
}


def _with(records, row, **changes):
    out = [dict(r) for r in records]
    out[row].update(changes)
    return out


@pytest.mark.parametrize(
    ("quotes", "match"),
    [
        (_with(GOOD_QUOTES, 2, tenor="1Y"), r"quotes row 2: maturity .* not after row 1"),
        (_with(GOOD_QUOTES, 1, tenor="3M"), r"quotes row 1: .*without duplicates"),
        (
            _with(GOOD_QUOTES, 1, rate=float("nan")),
            r"quotes row 1, column rate: nan is not finite",
        ),
        (_with(GOOD_QUOTES, 2, rate=float("inf")), r"quotes row 2, column rate"),
        (
            _with(GOOD_QUOTES, 0, rate=4.0),
            r"quotes row 0, column rate: 4.0 looks like a percentage",
        ),
        (_with(GOOD_QUOTES, 0, rate="abc"), r"quotes row 0, column rate: 'abc' is not a number"),
        (_with(GOOD_QUOTES, 1, kind="future"), r"quotes row 1, column kind: unknown kind 'future'"),
        (_with(GOOD_QUOTES, 1, tenor="2X"), r"quotes row 1, column tenor: cannot read tenor '2X'"),
        (
            _with(GOOD_QUOTES, 1, tenor=None, maturity="2026-13-01"),
            r"quotes row 1, column maturity",
        ),
        (
            _with(GOOD_QUOTES, 0, tenor=None, maturity="2026-06-30"),
            r"quotes row 0: maturity .* not after",
        ),
        (
            _with(GOOD_QUOTES, 1, day_count="ACT/999"),
            r"quotes row 1, column day_count: unknown day count",
        ),
        (_with(GOOD_QUOTES, 2, frequency=3), r"quotes row 2, column frequency"),
        ([{"kind": "swap", "rate": 0.04}], r"missing column\(s\) tenor or maturity"),
        ([], r"no rows"),
    ],
)
def test_bad_quotes(quotes, match):
    with pytest.raises(ValueError, match=match):
        bootstrap(quotes, VD)


def test_bad_interpolation_and_valuation_date():
    with pytest.raises(ValueError, match="unknown interpolation 'spline'"):
        bootstrap(GOOD_QUOTES, VD, "spline")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="valuation_date: expected a date as YYYY-MM-DD"):
        bootstrap(GOOD_QUOTES, "30/06/2026")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"face": 0.0}, r"row 0 \(A\), column face: 0.0 must be positive"),
        ({"face": -5.0}, r"row 0 \(A\), column face"),
        ({"day_count": "ACT/360"}, r"row 0 \(A\), column day_count: unknown day count 'ACT/360'"),
        (
            {"maturity": "2026-06-30"},
            r"row 0 \(A\), column maturity: .* on or before the valuation",
        ),
        ({"maturity": "2020-01-01"}, r"column maturity"),
        (
            {"maturity": "30.06.2031"},
            r"row 0 \(A\), column maturity: expected a date as YYYY-MM-DD",
        ),
        ({"coupon": 5.0}, r"row 0 \(A\), column coupon: 5.0 is outside \[0, 1\)"),
        ({"coupon": float("nan")}, r"row 0 \(A\), column coupon: nan is not finite"),
        ({"frequency": 3}, r"row 0 \(A\), column frequency"),
    ],
)
def test_bad_bond_rows(change, match):
    rows = [dict(GOOD_BOND, **change)]
    with pytest.raises(ValueError, match=match):
        BondBook.from_frame(pd.DataFrame(rows), VD)


def test_bad_bond_tables():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['face'\]"):
        BondBook.from_frame(pd.DataFrame([GOOD_BOND]).drop(columns="face"), VD)
    with pytest.raises(ValueError, match=r"row 1, column security_id: duplicate id 'A'"):
        BondBook.from_frame(pd.DataFrame([GOOD_BOND, GOOD_BOND]), VD)
    with pytest.raises(ValueError, match="no rows"):
        BondBook.from_frame(pd.DataFrame(columns=list(GOOD_BOND)), VD)


def test_bad_analytics_arguments():
    book = BondBook.from_frame(pd.DataFrame([GOOD_BOND, dict(GOOD_BOND, security_id="B")]), VD)
    curve = bootstrap(GOOD_QUOTES, VD)
    with pytest.raises(ValueError, match=r"`z_spread` has shape \(3,\); expected a scalar or 2"):
        book.analyze(curve, z_spread=[0.01, 0.02, 0.03])
    with pytest.raises(ValueError, match=r"`yield_` row 1 is nan"):
        book.analyze(curve, yield_=[0.05, np.nan])
    with pytest.raises(ValueError, match="at most one of"):
        book.analyze(curve, z_spread=0.01, yield_=0.05)
    with pytest.raises(ValueError, match="key_tenors` must be strictly increasing"):
        book.analyze(curve, key_tenors=[1.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="bump_bp"):
        book.analyze(curve, bump_bp=-1.0)
    with pytest.raises(ValueError, match="krd_domain"):
        book.analyze(curve, krd_domain="dollar")  # type: ignore[arg-type]
    other = bootstrap(GOOD_QUOTES, dt.date(2026, 7, 1))
    with pytest.raises(ValueError, match="curve valuation date 2026-07-01 differs"):
        book.analyze(other)
    with pytest.raises(
        ValueError, match=r"`clean_price` row 0 \(A\) is -50.0; expected a positive"
    ):
        book.analyze(curve, clean_price=[-50.0, 100.0])
    with pytest.raises(ValueError, match="implies a z-spread outside"):
        book.analyze(curve, clean_price=[1e-6, 100.0])
    with pytest.raises(ValueError, match="par_bumped: the curve was not bootstrapped"):
        book.analyze(Curve.flat(0.04, VD), krd_domain="par")


def test_bad_curves_and_times():
    curve = Curve.flat(0.04, VD)
    with pytest.raises(ValueError, match=r"`t` must be finite and >= 0 \(years\); entry 1 is -1"):
        curve.discount([1.0, -1.0])
    with pytest.raises(ValueError, match="entry 0 is nan"):
        curve.zero_rate([np.nan])
    with pytest.raises(ValueError, match="strictly increasing; pillar 1"):
        Curve([1.0, 1.0], [-0.01, -0.02])
    with pytest.raises(ValueError, match="`log_dfs` must be finite; pillar 0"):
        Curve([1.0], [np.inf])
    with pytest.raises(ValueError, match="2 times but 3 zero rates"):
        Curve.from_zero_rates([1.0, 2.0], [0.01, 0.02, 0.03])
    with pytest.raises(ValueError, match=r"tenor 4\.0 is not one of the key tenors"):
        curve.key_rate_bumped(4.0, 1.0)


def test_bad_liability_streams():
    with pytest.raises(ValueError, match="2 dates but 1 amounts"):
        CashflowStream(["2030-01-01", "2031-01-01"], [1.0], VD)
    with pytest.raises(ValueError, match=r"dates row 1: 2026-06-30 is on or before the valuation"):
        CashflowStream(["2030-01-01", "2026-06-30"], [1.0, 2.0], VD)
    with pytest.raises(ValueError, match=r"amounts row 0: nan is not finite"):
        CashflowStream(["2030-01-01"], [np.nan], VD)
    with pytest.raises(ValueError, match=r"dates row 0: expected a date"):
        CashflowStream(["next year"], [1.0], VD)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['amount'\]"):
        CashflowStream.from_frame(pd.DataFrame({"date": ["2030-01-01"]}), VD)


def test_validation_changes_nothing():
    frame = pd.DataFrame([GOOD_BOND, dict(GOOD_BOND, security_id="B", face=-1.0)])
    before = frame.copy()
    with pytest.raises(ValueError, match="column face"):
        BondBook.from_frame(frame, VD)
    pd.testing.assert_frame_equal(frame, before)


# ---- fuzzing the compiled kernels: any input gives a result or a Python exception ----------

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
hnp = pytest.importorskip("hypothesis.extra.numpy")

ALLOWED = (ValueError, TypeError, _core.ConvergenceError)
floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
arrays = hnp.arrays(np.float64, st.integers(0, 12), elements=floats)
offsets = hnp.arrays(np.int64, st.integers(0, 5), elements=st.integers(-3, 15))


@hypothesis.given(
    offsets,
    arrays,
    arrays,
    arrays,
    arrays,
    st.integers(-1, 3),
    arrays,
    arrays,
    arrays,
    arrays,
    floats,
)
@hypothesis.settings(max_examples=300, deadline=None)
def test_fuzz_kernels(off, t, a, pt, ldf, interp, sk, sv, z, keys, bump):
    calls = [
        lambda: _core.discount_factors(pt, ldf, interp, sk, sv, t),
        lambda: _core.zero_rates(pt, ldf, interp, sk, sv, t),
        lambda: _core.forward_rates(pt, ldf, interp, sk, sv, t),
        lambda: _core.price_streams(off, t, a, pt, ldf, interp, sk, sv, z),
        lambda: _core.z_spreads_from_prices(off, t, a, pt, ldf, interp, sk, sv, z),
        lambda: _core.curve_risk(off, t, a, pt, ldf, interp, sk, sv, z, keys, bump),
        lambda: _core.bootstrap_curve(off, t, a, z, interp),
        lambda: _core.prices_from_yields(off, t, a, z, pt),
        lambda: _core.yields_from_prices(off, t, a, z, pt),
        lambda: _core.yield_risk(off, t, a, z, pt),
    ]
    for call in calls:
        with contextlib.suppress(ALLOWED):
            call()


@hypothesis.given(
    st.integers(1, 6).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.float64, n, elements=st.floats(0.01, 60)),
            hnp.arrays(np.float64, n, elements=st.floats(-5, 5)),
            hnp.arrays(np.float64, n, elements=st.floats(1e-6, 2.0)),
        )
    ),
    st.sampled_from([0, 1]),
)
@hypothesis.settings(max_examples=300, deadline=None)
def test_fuzz_bootstrap_with_valid_shapes(data, interp):
    times, amounts, targets = data
    offsets = np.arange(len(times) + 1, dtype=np.int64)
    try:
        _, log_dfs, _ = _core.bootstrap_curve(offsets, np.sort(times), amounts, targets, interp)
        assert np.all(np.isfinite(log_dfs))
    except ALLOWED:
        pass
