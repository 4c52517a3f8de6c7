"""Callable and putable bonds: properties of the lattice, the schedule table and HW calibration.

Hypothesis checks, on random bonds, curves and schedules: a callable is worth no more than the
bullet and a putable no less (at the same spread); the OAS solved from a lattice value returns
the spread it was priced at; a bond whose schedule holds only make-whole calls is the bullet.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc import BondBook, Curve
from fialloc.analytics.context import DeskContext
from fialloc.callables import (
    exercise_schedule,
    lattice_prices,
    lattice_prices_on_curves,
    option_adjusted,
    option_adjusted_spreads,
)
from fialloc.hull_white import HullWhite
from fialloc.scenarios import G2pp
from fialloc.schedule import add_months

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
given = hypothesis.given

VD = dt.date(2026, 1, 15)


def _bond(coupon: float, years: int, freq: int) -> dict[str, object]:
    return {
        "security_id": "X",
        "coupon": coupon,
        "maturity": add_months(VD, 12 * years),
        "frequency": freq,
        "day_count": "30/360",
        "face": 100.0,
    }


def _schedule(row: dict[str, object], first: int, kind: str, price: float) -> pd.DataFrame:
    months = 12 // int(row["frequency"])  # type: ignore[call-overload]
    maturity = row["maturity"]
    assert isinstance(maturity, dt.date)
    dates, k = [], 1
    while (d := add_months(maturity, -k * months)) > add_months(VD, first):
        dates.append(d)
        k += 1
    return pd.DataFrame({"security_id": "X", "date": dates, "price": price, "kind": kind})


bonds = st.builds(
    _bond,
    st.floats(0.0, 0.09),
    st.integers(2, 20),
    st.sampled_from([1, 2, 4]),
)
models = st.builds(
    lambda rate, a, s: HullWhite(Curve.flat(rate, VD), a, s),
    st.floats(-0.01, 0.08),
    st.floats(0.005, 0.5),
    st.floats(0.001, 0.02),
)


@given(bonds, models, st.integers(0, 18), st.floats(-0.005, 0.03))
def test_callable_below_bullet_below_putable(row, model, lockout, oas):
    book = BondBook.from_frame([row], VD)
    bullet = book.dirty_prices(model.curve, oas)[0]
    values = {}
    for kind in ("call", "put"):
        table = _schedule(row, lockout, kind, 100.0)
        sched = exercise_schedule(book, table)
        values[kind] = lattice_prices(book.layout, sched, model, oas=oas, steps_per_year=12)[0]
    # The lattice reprices the bullet to its discretization error, far below 1e-6 of price.
    tol = 1e-6 * bullet
    assert values["call"] <= bullet + tol
    assert values["put"] >= bullet - tol


@given(bonds, models, st.integers(0, 18), st.floats(-0.005, 0.05), st.sampled_from(["call", "put"]))
def test_oas_round_trip(row, model, lockout, oas, kind):
    book = BondBook.from_frame([row], VD)
    sched = exercise_schedule(book, _schedule(row, lockout, kind, 100.5))
    price = lattice_prices(book.layout, sched, model, oas=oas, steps_per_year=12)
    back = option_adjusted_spreads(book.layout, sched, model, price, steps_per_year=12)
    assert back[0] == pytest.approx(oas, abs=1e-9)


def test_bullet_lattice_reprices_the_curve():
    rng = np.random.default_rng(3)
    days = np.array([182, 365, 730, 1826, 3652, 7305, 10957])
    curve = Curve.from_zero_rates(days / 365.0, 0.03 + np.cumsum(rng.normal(0, 0.002, 7)), VD)
    rows = [dict(_bond(0.045, y, 2), security_id=f"B{y}") for y in (1, 3, 7, 15, 29)]
    book = BondBook.from_frame(rows, VD)
    none = exercise_schedule(book, None)
    got = lattice_prices(book.layout, none, HullWhite(curve, 0.04, 0.012), steps_per_year=24)
    np.testing.assert_allclose(got, book.dirty_prices(curve), rtol=1e-12)


def test_make_whole_calls_are_bullets_and_past_dates_ignored():
    row = _bond(0.05, 10, 2)
    book = BondBook.from_frame([row], VD)
    table = _schedule(row, 12, "call", 100.0).assign(make_whole=True)
    past = pd.DataFrame(
        {
            "security_id": ["X"],
            "date": [VD - dt.timedelta(days=30)],
            "price": [100.0],
            "kind": ["call"],
        }
    )
    sched = exercise_schedule(book, pd.concat([table, past], ignore_index=True))
    assert not sched.has_option.any()
    model = HullWhite(Curve.flat(0.04, VD), 0.05, 0.01)
    assert option_adjusted(book, sched, model, book.dirty_prices(model.curve)).empty


def test_option_adjusted_risk_of_a_deep_callable_is_short():
    """A 5% 20-year bond callable at par in a year, with rates at 3%: its option-adjusted
    duration is far below the bullet's and its convexity is negative."""
    row = _bond(0.05, 20, 2)
    book = BondBook.from_frame([row], VD)
    sched = exercise_schedule(book, _schedule(row, 11, "call", 100.0))
    model = HullWhite(Curve.flat(0.03, VD), 0.05, 0.01)
    dirty = lattice_prices(book.layout, sched, model, oas=0.01)
    out = option_adjusted(book, sched, model, dirty).iloc[0]
    bullet = book.analyze(model.curve, z_spread=0.01).effective_duration[0]
    assert out["option"] == "callable"
    assert out["oas"] == pytest.approx(0.01, abs=1e-9)
    assert out["option_value"] > 5.0
    assert out["effective_duration"] < 0.5 * bullet
    assert out["effective_convexity"] < 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "redeem"}, "row 0, column kind: 'redeem'"),
        ({"price": -1.0}, "row 0, column price"),
        ({"date": add_months(VD, 12 * 11)}, "on or after X's maturity"),
        ({"date": "2027-02-30"}, "row 0, column date"),
    ],
)
def test_schedule_errors_name_row_and_column(change, message):
    row = _bond(0.05, 10, 2)
    book = BondBook.from_frame([row], VD)
    table = pd.DataFrame(
        {"security_id": ["X"], "date": [add_months(VD, 24)], "price": [100.0], "kind": ["call"]}
    ).assign(**{k: [v] for k, v in change.items()})
    with pytest.raises(ValueError, match=message):
        exercise_schedule(book, table)


def test_two_exercises_on_one_date_are_refused():
    row = _bond(0.05, 10, 2)
    book = BondBook.from_frame([row], VD)
    d = add_months(VD, 24)
    table = pd.DataFrame(
        {
            "security_id": ["X", "X"],
            "date": [d, d],
            "price": [100.0, 100.0],
            "kind": ["call", "put"],
        }
    )
    with pytest.raises(ValueError, match="two exercises on one date"):
        exercise_schedule(book, table)


def test_calibration_recovers_known_parameters():
    days = np.array([182, 365, 730, 1826, 3652, 7305, 10957])
    curve = Curve.from_zero_rates(
        days / 365.0, [0.04, 0.039, 0.037, 0.036, 0.038, 0.041, 0.042], VD
    )
    truth = HullWhite(curve, 0.07, 0.0105)
    grid = [(e, t) for e in (1, 2, 5, 10) for t in (2, 5, 10)]
    quotes = pd.DataFrame(
        [{"expiry": e, "tenor": t, "normal_vol": truth.normal_vol(e, t)} for e, t in grid]
    )
    fitted, report = HullWhite.calibrate(curve, quotes)
    assert report["error_bp"].abs().max() < 1e-3
    assert (fitted.a, fitted.sigma) == pytest.approx((0.07, 0.0105), rel=1e-4)


def test_from_g2_fits_the_scenario_model_vols():
    """One factor cannot reproduce G2++'s humped vols exactly; it fits them to a few bp."""
    curve = Curve.flat(0.04, VD)
    model, report = HullWhite.from_g2(G2pp(curve))
    assert model.curve is curve
    assert report["error_bp"].abs().max() < 10.0
    assert report["market_vol_bp"].between(50, 200).all()


def test_model_and_kernel_validate_arguments():
    curve = Curve.flat(0.04, VD)
    with pytest.raises(ValueError, match="`a`"):
        HullWhite(curve, 0.0, 0.01)
    with pytest.raises(ValueError, match="`sigma`"):
        HullWhite(curve, 0.1, float("nan"))
    row = _bond(0.05, 10, 2)
    book = BondBook.from_frame([row], VD)
    sched = exercise_schedule(book, _schedule(row, 12, "call", 100.0))
    model = HullWhite(curve, 0.05, 0.01)
    with pytest.raises(ValueError, match="steps_per_year"):
        lattice_prices(book.layout, sched, model, steps_per_year=0)
    with pytest.raises(ValueError, match="option-adjusted spread outside"):
        option_adjusted_spreads(book.layout, sched, model, np.array([1e-9]))
    with pytest.raises(ValueError, match="2 dirty prices for 1 bonds"):
        option_adjusted(book, sched, model, np.array([100.0, 100.0]))


def _random_callables(seed: int, n: int) -> tuple[BondBook, pd.DataFrame]:
    """`n` random callable and putable bonds (2-25 years) and their schedules."""
    rng = np.random.default_rng(seed)
    rows, tables = [], []
    for i in range(n):
        row = dict(
            _bond(float(rng.uniform(0.0, 0.08)), int(rng.integers(2, 26)), int(rng.choice([1, 2]))),
            security_id=f"X{i}",
        )
        table = _schedule(row, int(rng.integers(0, 24)), str(rng.choice(["call", "put"])), 100.0)
        rows.append(row)
        tables.append(table.assign(security_id=f"X{i}"))
    return BondBook.from_frame(rows, VD), pd.concat(tables, ignore_index=True)


def test_lattice_threads_give_the_same_bits():
    """The lattice splits bonds over threads; every value and OAS is bitwise the same."""
    book, table = _random_callables(11, 9)
    sched = exercise_schedule(book, table)
    model = HullWhite(Curve.flat(0.035, VD), 0.05, 0.01)
    oas = np.linspace(-0.002, 0.02, len(book))
    one = lattice_prices(book.layout, sched, model, oas=oas, steps_per_year=12, threads=1)
    spreads = option_adjusted_spreads(book.layout, sched, model, one, 12, threads=1)
    for threads in (2, 3, 8, 0):
        many = lattice_prices(
            book.layout, sched, model, oas=oas, steps_per_year=12, threads=threads
        )
        assert np.array_equal(one, many)
        again = option_adjusted_spreads(book.layout, sched, model, one, 12, threads=threads)
        assert np.array_equal(spreads, again)


def test_option_adjusted_krds_of_a_far_option_are_the_bullets():
    """A call struck at 200 is never exercised: the lattice KRDs (25 bp tents, OAS held) are
    the bullet's (1 bp tents at the same spread) to 0.005 years, from 0.5 to 30 years; its OAS
    the z-spread to 1e-5 (the lattice's discounting over its steps)."""
    rng = np.random.default_rng(5)
    tenors = (0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0)
    days = np.array([182, 365, 730, 1826, 3652, 7305, 10957])
    for k in range(4):
        curve = Curve.from_zero_rates(days / 365.0, 0.03 + np.cumsum(rng.normal(0, 0.002, 7)), VD)
        row = _bond(float(rng.uniform(0.02, 0.07)), int(rng.integers(5, 30)), 2)
        book = BondBook.from_frame([row], VD)
        sched = exercise_schedule(book, _schedule(row, 12, "call", 200.0))
        model = HullWhite(curve, 0.05, 0.01)
        dirty = book.dirty_prices(curve, 0.01 * k)
        out = option_adjusted(book, sched, model, dirty, key_tenors=tenors).iloc[0]
        bullet = book.analyze(curve, z_spread=0.01 * k, key_tenors=tenors)
        got = out[[f"krd_{t:g}y" for t in tenors]].to_numpy(dtype=float)
        np.testing.assert_allclose(got, bullet.krd[0], atol=5e-3)
        assert out["oas"] == pytest.approx(0.01 * k, abs=1e-5)


TENORS = (0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0)


@hypothesis.settings(max_examples=40, deadline=None)
@given(
    bonds,
    models,
    st.integers(0, 18),
    st.floats(-0.005, 0.03),
    st.sampled_from(["call", "put"]),
    st.floats(99.0, 104.0),
)
def test_option_adjusted_krds_add_up_to_the_effective_duration(
    row, model, lockout, oas, kind, strike
):
    """On random callables and putables the KRDs add up to the effective duration (the target
    was 0.02 years; the split is exact to rounding), and a key rate whose tent ends before the
    bond's last flow has a KRD of exactly zero."""
    book = BondBook.from_frame([row], VD)
    sched = exercise_schedule(book, _schedule(row, lockout, kind, strike))
    hypothesis.assume(sched.has_option.any())
    dirty = lattice_prices(book.layout, sched, model, oas=oas, steps_per_year=12)
    out = option_adjusted(book, sched, model, dirty, steps_per_year=12, key_tenors=TENORS)
    krd = out[[f"krd_{t:g}y" for t in TENORS]].to_numpy(dtype=float)[0]
    assert krd.sum() == pytest.approx(out["effective_duration"].iloc[0], abs=1e-9)
    last = book.layout.times[-1]
    beyond = np.array([k > 0 and TENORS[k - 1] >= last for k in range(len(TENORS))])
    assert np.all(krd[beyond] == 0.0)


def test_option_adjusted_krds_are_their_tents_central_differences():
    """Each KRD (the split of the parallel move) is its own 25 bp tent's central difference on
    the same lattice to 0.06 years on random callables and putables at the default 48 steps a
    year (HW a = 0.05, sigma = 0.01: node spacing 25 bp; largest seen 0.041): the two differ
    by third-order terms of the value in the curve."""
    h, k = 25e-4, len(TENORS)
    tents = np.vstack([np.zeros(k), *(h * s * np.eye(k) for s in (-1, 1))])
    gaps = []
    for seed in range(3):
        book, table = _random_callables(seed, 8)
        sched = exercise_schedule(book, table)
        model = HullWhite(Curve.flat(0.03 + 0.01 * seed, VD), 0.05, 0.01)
        dirty = lattice_prices(book.layout, sched, model, oas=0.005)
        out = option_adjusted(book, sched, model, dirty, key_tenors=TENORS)
        krd = out[[f"krd_{t:g}y" for t in TENORS]].to_numpy(dtype=float)
        v = lattice_prices_on_curves(book.layout, sched, model, TENORS, tents, out["oas"])
        central = (v[:, 1 : k + 1] - v[:, k + 1 :]) / (2 * h * v[:, :1])
        gaps.append(np.abs(krd - central).max())
    assert max(gaps) < 0.06


def test_option_adjusted_krds_move_smoothly_with_the_curve():
    """KRDs of random callables and putables (48 steps a year) move by at most 0.03 years when
    the curve moves by 1 bp: 25 bp moves span many of the exercise boundary's node-by-node
    kinks (the same split of 1 bp moves jumps by tenths of a year)."""
    jumps = []
    for seed in range(2):
        book, table = _random_callables(seed, 6)
        sched = exercise_schedule(book, table)
        oas = np.full(len(book), 0.005)
        krds = []
        for level in 0.03 + 1e-4 * np.arange(5):
            model = HullWhite(Curve.flat(level, VD), 0.05, 0.01)
            dirty = lattice_prices(book.layout, sched, model, oas=oas)
            out = option_adjusted(book, sched, model, dirty, key_tenors=TENORS)
            krds.append(out[[f"krd_{t:g}y" for t in TENORS]].to_numpy(dtype=float))
        jumps.append(np.abs(np.diff(np.array(krds), axis=0)).max())
    assert max(jumps) < 0.03


def test_option_adjusted_refuses_unordered_key_tenors():
    row = _bond(0.05, 10, 2)
    book = BondBook.from_frame([row], VD)
    sched = exercise_schedule(book, _schedule(row, 12, "call", 100.0))
    model = HullWhite(Curve.flat(0.04, VD), 0.05, 0.01)
    with pytest.raises(ValueError, match="`key_tenors` must be positive and increasing"):
        option_adjusted(book, sched, model, book.dirty_prices(model.curve), key_tenors=[5, 2])


def test_lattice_on_curves_is_a_fresh_lattice_per_curve():
    """Values on many curves from one geometry per bond equal a lattice built on each bumped
    curve (:meth:`Curve.with_overlay`) to rounding, bitwise alike on any thread count; bad
    bumps are refused by name."""
    book, table = _random_callables(4, 7)
    sched = exercise_schedule(book, table)
    rng = np.random.default_rng(4)
    days = np.array([182, 365, 730, 1826, 3652, 7305, 10957])
    curve = Curve.from_zero_rates(days / 365.0, 0.03 + np.cumsum(rng.normal(0, 0.002, 7)), VD)
    model = HullWhite(curve, 0.05, 0.01)
    knots = np.array(TENORS)
    bumps = rng.normal(0, 0.005, (6, len(knots)))
    oas = rng.uniform(-0.002, 0.02, len(book))
    many = lattice_prices_on_curves(book.layout, sched, model, knots, bumps, oas, 24, threads=1)
    for c, bump in enumerate(bumps):
        fresh = lattice_prices(book.layout, sched, model, curve.with_overlay(knots, bump), oas, 24)
        np.testing.assert_allclose(many[:, c], fresh, rtol=1e-12)
    for threads in (2, 3, 0):
        again = lattice_prices_on_curves(book.layout, sched, model, knots, bumps, oas, 24, threads)
        assert np.array_equal(many, again)
    with pytest.raises(ValueError, match="`bumps` is 6 x 9; expected one row per curve and 8"):
        lattice_prices_on_curves(book.layout, sched, model, knots[:-1], bumps, oas, 24)
    with pytest.raises(ValueError, match="`knots` must be finite and strictly increasing"):
        lattice_prices_on_curves(book.layout, sched, model, knots[::-1], bumps, oas, 24)


def test_portfolio_risk_is_option_adjusted_on_each_currencys_lattice(demo_portfolio):
    """A callable EUR bond is valued on a lattice fitted to the EUR curve (not as a bullet);
    every callable's duration, convexity, spread duration, KRDs and DV01 in the run's
    analytics, and so in every manager's exposures, are the lattice's."""
    p = demo_portfolio
    eur = p.book.frame[(p.book.frame["currency"] == "EUR")]
    bond = eur.loc[eur["maturity"].idxmax()]
    sid = str(bond["security_id"])
    years = int((bond["maturity"] - p.valuation_date).days // 365)
    dates = [add_months(p.valuation_date, 12 * k) for k in range(2, years)]
    calls = pd.DataFrame({"security_id": sid, "date": dates, "price": 100.0, "kind": "call"})
    q = dataclasses.replace(p, call_schedule=pd.concat([p.call_schedule, calls]))
    oa = q.option_adjusted
    assert oa.loc[sid, "currency"] == "EUR"
    assert set(p.option_adjusted.index) < set(oa.index)
    at = np.flatnonzero(q.book.security_ids == sid)
    book = q.book.take(at)
    model, _ = HullWhite.from_g2(G2pp(q.curve_set.curve("EUR")))
    tenors = q.mandate.key_tenors
    ref = option_adjusted(
        book,
        exercise_schedule(book, calls),
        model,
        q.analytics_to_maturity.dirty_price[at],
        key_tenors=tenors,
    ).iloc[0]
    assert oa.loc[sid, "oas"] == pytest.approx(ref["oas"], abs=1e-12)
    assert oa.loc[sid, "effective_duration"] < 0.9 * oa.loc[sid, "duration_to_maturity"]
    a = q.analytics
    rows = q.book.security_ids.get_indexer(oa.index)
    keys = [f"krd_{t:g}y" for t in tenors]
    for name in ("effective_duration", "effective_convexity", "spread_duration"):
        np.testing.assert_array_equal(getattr(a, name)[rows], oa[name].to_numpy(dtype=float))
    np.testing.assert_array_equal(a.krd[rows], oa[keys].to_numpy(dtype=float))
    np.testing.assert_allclose(
        a.dv01[rows], oa["effective_duration"] * a.market_value[rows] * 1e-4, rtol=1e-12
    )
    # The EUR bond's KRDs sit on the EUR curve's columns of the desks' exposures.
    sec = DeskContext(q).securities
    assert sec.loc[sid, "krd_EUR_10y"] == pytest.approx(ref["krd_10y"], abs=1e-12)
    assert sec.loc[sid, "krd_10y"] == 0.0
