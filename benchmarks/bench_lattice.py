"""Callable bonds on the Hull-White lattice: fialloc vs QuantLib-Python in the same run.

Group ``callable_lattice``: 40 random callable and putable bonds (2-25 years, the reference
tests' generator), each priced on its own tree at 48 steps a year, by
``fialloc.callables.lattice_prices`` (on one and on two threads: the bonds are split over
them, bitwise the same values) and by QuantLib's ``TreeCallableFixedRateBondEngine``
on ``HullWhite`` with the same steps. The two agree to 1e-9 of price.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fialloc import Curve
from fialloc.bonds import BondBook
from fialloc.callables import exercise_schedule, lattice_prices
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
