"""Callable bonds on the Hull-White lattice: fialloc vs QuantLib-Python in the same run.

Group ``callable_lattice``: 40 random callable and putable bonds (2-25 years, the reference
tests' generator), each priced on its own tree at 48 steps a year, by
``fialloc.callables.lattice_prices`` (on one and on two threads: the bonds are split over
them, bitwise the same values) and by QuantLib's ``TreeCallableFixedRateBondEngine``
on ``HullWhite`` with the same steps. The two agree to 1e-9 of price.

Group ``callable_risk``: the values behind the option-adjusted risk (today's curve, the
parallel 25 bp moves and the two key-rate walks of ``fialloc.callables.risk_bumps``: 19
curves) of 10 of those bonds at 12 steps a year, at given spreads: fialloc on one lattice
geometry per bond for all the curves (``lattice_prices_on_curves``, one thread), fialloc on a
fresh lattice per curve (``lattice_prices``, as before issue 18's round 4), and QuantLib's
tree engine on each bumped curve (``PiecewiseZeroSpreadedTermStructure``). All three agree to
1e-9 of price.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc import Curve
from fialloc.bonds import BondBook
from fialloc.callables import (
    exercise_schedule,
    lattice_prices,
    lattice_prices_on_curves,
    risk_bumps,
)
from fialloc.hull_white import HullWhite

ql = pytest.importorskip("QuantLib")
qlh = pytest.importorskip("quantlib_helpers")
refs = pytest.importorskip("test_quantlib_callables")

STEPS_PER_YEAR = 48
N_BONDS = 40


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(11)
    curve = refs._curve(rng)
    model = HullWhite(curve, 0.05, 0.01)
    rows = [refs._random_bond(rng, k) for k in range(N_BONDS)]
    calls = [refs._random_schedule(rng, r) for r in rows]
    book = BondBook.from_frame(rows, refs.VD)
    sched = exercise_schedule(book, pd.DataFrame([c for cs in calls for c in cs]))
    return curve, model, rows, calls, book, sched


def _quantlib_prices(curve: Curve, model: HullWhite, rows, calls, book) -> np.ndarray:
    qlh.set_evaluation_date(refs.VD)
    handle = qlh.discount_curve(curve, refs.VD)
    last = book.layout.times[book.layout.offsets[1:] - 1]
    out = []
    for row, rs, t_last in zip(rows, calls, last, strict=True):
        bond = refs._quantlib_bond(row, rs)
        steps = int(np.ceil(t_last * STEPS_PER_YEAR))
        bond.setPricingEngine(
            ql.TreeCallableFixedRateBondEngine(ql.HullWhite(handle, model.a, model.sigma), steps)
        )
        out.append(bond.NPV())
    return np.array(out)


@pytest.mark.benchmark(group="callable_lattice")
@pytest.mark.parametrize("threads", [1, 2])
def test_lattice_fialloc(benchmark, case, threads):
    curve, model, rows, calls, book, sched = case
    ours = benchmark(lattice_prices, book.layout, sched, model, None, 0.0, STEPS_PER_YEAR, threads)
    np.testing.assert_allclose(ours, _quantlib_prices(curve, model, rows, calls, book), rtol=1e-9)
    # Bonds are split over threads; each one's tree is its own: the same bits on one thread.
    one = lattice_prices(book.layout, sched, model, None, 0.0, STEPS_PER_YEAR, 1)
    np.testing.assert_array_equal(ours, one)


@pytest.mark.benchmark(group="callable_lattice")
def test_lattice_quantlib(benchmark, case):
    curve, model, rows, calls, book, _ = case
    theirs = benchmark(_quantlib_prices, curve, model, rows, calls, book)
    assert theirs.shape == (N_BONDS,)


RISK_BONDS = 10
RISK_STEPS_PER_YEAR = 12


@pytest.fixture(scope="module")
def risk_case(case):
    curve, model, rows, calls, book, sched = case
    keep = np.arange(RISK_BONDS)
    sub_book, sub_sched = book.take(keep), sched.select(keep)
    tenors = refs.KEY_DAYS / 365.0
    bumps = risk_bumps(len(tenors), 25e-4)
    spreads = np.random.default_rng(12).uniform(-0.002, 0.02, RISK_BONDS)
    return curve, model, rows[:RISK_BONDS], calls[:RISK_BONDS], sub_book, sub_sched, bumps, spreads


def _risk_fresh(model, book, sched, bumps, spreads):
    tenors = refs.KEY_DAYS / 365.0
    return np.column_stack(
        [
            lattice_prices(
                book.layout,
                sched,
                model,
                model.curve.with_overlay(tenors, b),
                spreads,
                RISK_STEPS_PER_YEAR,
                threads=1,
            )
            for b in bumps
        ]
    )


def _risk_quantlib(curve, model, rows, calls, book, bumps, spreads):
    qlh.set_evaluation_date(refs.VD)
    handle = qlh.discount_curve(curve, refs.VD)
    dates = [qlh.qdate(refs.VD + dt.timedelta(days=int(d))) for d in refs.KEY_DAYS]
    last = book.layout.times[book.layout.offsets[1:] - 1]
    out = np.empty((len(rows), len(bumps)))
    for c, moves in enumerate(bumps):
        quotes = [ql.QuoteHandle(ql.SimpleQuote(float(m))) for m in moves]
        bumped = ql.PiecewiseZeroSpreadedTermStructure(handle, quotes, dates)
        bumped.enableExtrapolation()
        moved = ql.YieldTermStructureHandle(bumped)
        for i, (row, rs, t_last) in enumerate(zip(rows, calls, last, strict=True)):
            bond = refs._quantlib_bond(row, rs)
            steps = int(np.ceil(t_last * RISK_STEPS_PER_YEAR))
            bond.setPricingEngine(
                ql.TreeCallableFixedRateBondEngine(ql.HullWhite(moved, model.a, model.sigma), steps)
            )
            clean = bond.cleanPriceOAS(
                float(spreads[i]), moved, ql.Actual365Fixed(), ql.Continuous, ql.NoFrequency
            )
            out[i, c] = clean + bond.accruedAmount()
    return out


@pytest.mark.benchmark(group="callable_risk")
def test_risk_fialloc_one_geometry(benchmark, risk_case):
    curve, model, rows, calls, book, sched, bumps, spreads = risk_case
    tenors = refs.KEY_DAYS / 365.0
    ours = benchmark(
        lattice_prices_on_curves,
        book.layout,
        sched,
        model,
        tenors,
        bumps,
        spreads,
        RISK_STEPS_PER_YEAR,
        1,
    )
    theirs = _risk_quantlib(curve, model, rows, calls, book, bumps, spreads)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    np.testing.assert_allclose(ours, _risk_fresh(model, book, sched, bumps, spreads), rtol=1e-11)


@pytest.mark.benchmark(group="callable_risk")
def test_risk_fialloc_fresh_lattices(benchmark, risk_case):
    _, model, _, _, book, sched, bumps, spreads = risk_case
    values = benchmark(_risk_fresh, model, book, sched, bumps, spreads)
    assert values.shape == (RISK_BONDS, len(bumps))


@pytest.mark.benchmark(group="callable_risk")
def test_risk_quantlib(benchmark, risk_case):
    curve, model, rows, calls, book, _, bumps, spreads = risk_case
    values = benchmark.pedantic(
        _risk_quantlib, (curve, model, rows, calls, book, bumps, spreads), rounds=3
    )
    assert values.shape == (RISK_BONDS, len(bumps))
