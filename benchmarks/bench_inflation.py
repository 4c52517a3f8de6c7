"""Inflation-linked bonds: reprice 300 linkers after the breakeven curve moves, fialloc vs QuantLib.

The problem of ``tests/core/test_quantlib_inflation.py`` (random lags of 2, 3 and 8 months, linear
and flat interpolation, 30 years of maturities): a parallel move of the zero-coupon inflation
curve, then every linker's invoice (dirty) price. fialloc forecasts each flow's index ratio
and prices the money flows in one compiled call (:meth:`LinkerBook.money_amounts`, then the
pricing kernel); QuantLib relinks its ``ZeroInflationCurve`` and recomputes each ``CPIBond``.
Both give the same prices (checked to 1e-12 relative before timing).
"""

from __future__ import annotations

import numpy as np
import pytest

from fialloc import _core
from fialloc.inflation import LinkerBook

ql = pytest.importorskip("QuantLib")
tq = pytest.importorskip("test_quantlib_inflation")
qlh = tq.qlh
N_LINKERS = 300


@pytest.fixture(scope="module")
def problem():
    tq.LINKERS_PER_CASE = N_LINKERS
    vd, history, curve, nominal, frame = tq._case(3)
    index, discount = tq._quantlib(vd, history, curve, nominal)
    handle = ql.RelinkableZeroInflationTermStructureHandle()
    index = ql.USCPI(handle)
    for month, value in zip(history["month"], history["value"], strict=True):
        index.addFixing(qlh.qdate(month), float(value), True)
    bonds = [tq._ql_bonds(row, vd, index, discount)[0] for _, row in frame.iterrows()]
    book = LinkerBook.from_frame(frame, vd)
    dates = [qlh.qdate(curve.base_month)] + [qlh.qdate(p) for p in curve.pillars]

    def relink(bp: float) -> None:
        rates = curve.shifted(bp).rates.tolist()
        zc = ql.ZeroInflationCurve(
            qlh.qdate(vd), dates, [rates[0], *rates], ql.Monthly, ql.Actual365Fixed()
        )
        handle.linkTo(zc)

    return book, curve, nominal, bonds, relink


def _fialloc(book, curve, nominal, bp):
    amounts = book.money_amounts({"USCPI": curve.shifted(bp)})
    layout = book.real.layout
    return _core.price_streams(
        layout.offsets, layout.times, amounts, *nominal.core_args(), np.zeros(len(book))
    )


def _quantlib(bonds, relink, bp):
    relink(bp)
    return np.array([b.dirtyPrice() for b in bonds])


@pytest.mark.benchmark(group="linkers: reprice 300 after a breakeven move")
def test_fialloc_linkers(benchmark, problem):
    book, curve, nominal, bonds, relink = problem
    ours = _fialloc(book, curve, nominal, 10.0)
    np.testing.assert_allclose(ours, _quantlib(bonds, relink, 10.0), rtol=1e-12)
    shifts = iter(np.tile([10.0, -10.0], 10_000))
    benchmark(lambda: _fialloc(book, curve, nominal, next(shifts)))


@pytest.mark.benchmark(group="linkers: reprice 300 after a breakeven move")
def test_quantlib_linkers(benchmark, problem):
    _, _, _, bonds, relink = problem
    shifts = iter(np.tile([10.0, -10.0], 10_000))
    benchmark(lambda: _quantlib(bonds, relink, next(shifts)))
