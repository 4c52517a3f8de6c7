"""The book's spread durations by rating and month: by hand and against the pricing core."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc.analytics.context import DeskContext
from fialloc.bonds import BondBook
from fialloc.curves import Curve
from fialloc.data.portfolio import GOVERNMENT_SECTORS
from fialloc.factor_returns import spread_durations_by_rating

MONTH = dt.date(2024, 1, 31)


def _market(rate=0.04, spread=0.01):
    zeros = pd.DataFrame({1.0: [rate], 30.0: [rate]}, index=[MONTH])
    spreads = pd.DataFrame({"BBB": [spread], "BB": [2 * spread]}, index=[MONTH])
    return zeros, spreads


def test_zero_coupon_and_annual_bond_by_hand():
    securities = pd.DataFrame(
        {
            "coupon": [0.0, 0.05],
            "maturity": [dt.date(2029, 1, 30), dt.date(2026, 1, 30)],  # 1826 and 730 days
            "frequency": [0, 1],
            "rating": ["BBB+", "BB"],
            "sector": ["industrial", "industrial"],
        }
    )
    zeros, spreads = _market()
    out = spread_durations_by_rating(securities, np.array([1.0, 1.0]), zeros, spreads)
    # A zero coupon's spread duration is its time to maturity.
    assert out.loc[MONTH, "BBB"] == pytest.approx(1826 / 365, rel=1e-12)
    # Two annual flows, 0.05 at 365 days before maturity and 1.05 at maturity, at 4% + 2%.
    t2 = 730 / 365
    t1 = t2 - 1.0
    pv1, pv2 = 0.05 * np.exp(-0.06 * t1), 1.05 * np.exp(-0.06 * t2)
    assert out.loc[MONTH, "BB"] == pytest.approx((t1 * pv1 + t2 * pv2) / (pv1 + pv2), rel=1e-12)


def test_a_rating_the_book_does_not_hold_falls_back_to_the_master_then_the_book():
    securities = pd.DataFrame(
        {
            "coupon": [0.0, 0.0, 0.0],
            "maturity": [dt.date(2029, 1, 30), dt.date(2027, 1, 30), dt.date(2034, 1, 28)],
            "frequency": [0, 0, 0],
            "rating": ["BBB", "BB-", "AA"],
            "sector": ["industrial", "industrial", "treasury"],
        }
    )
    zeros, spreads = _market()
    spreads["A"] = 0.005
    out = spread_durations_by_rating(securities, np.array([1.0, 0.0, 5.0]), zeros, spreads)
    assert out.loc[MONTH, "BB"] == pytest.approx(1095 / 365)  # not held: the master's BB bond
    assert out.loc[MONTH, "A"] == pytest.approx(1826 / 365)  # none: the held credit bonds
    with pytest.raises(ValueError, match="no zero rates at or before"):
        spread_durations_by_rating(
            securities, np.ones(3), zeros.set_axis([dt.date(2024, 2, 29)]), spreads
        )


@pytest.mark.parametrize("month", [0, 20, 40, 59])
def test_demo_book_durations_match_the_pricing_core(month, demo_portfolio):
    p = demo_portfolio
    ctx = DeskContext(p)
    when = p.spread_history.index[month]
    sec = p.securities
    letters = sec["rating"].str.rstrip("+-")
    live = (sec["maturity"] > when) & ~sec["sector"].isin(GOVERNMENT_SECTORS)
    book = BondBook.from_frame(sec[live].reset_index(drop=True).assign(face=100.0), when)
    zeros = p.zero_history.loc[when]
    curve = Curve.from_zero_rates(zeros.index.to_numpy(float), zeros.to_numpy(float), when)
    z = p.spread_history.loc[when].reindex(letters[live]).to_numpy(float)
    core = pd.Series(book.curve_risk(curve, z).spread_duration, index=sec.index[live])
    held = p.market_values.sum(axis=0).reindex(sec.index[live]).fillna(0.0)
    for letter in ("A", "BBB", "BB"):
        mask = (letters[live] == letter) & (held > 0)
        expected = float(np.average(core[mask], weights=held[mask]))
        # Coupon dates stepped back from maturity in whole periods: within 0.1 year of the
        # core's schedule-exact figure on the value-weighted average.
        assert ctx.spread_durations.loc[when, letter] == pytest.approx(expected, abs=0.1)


def _imported_modules(path):
    import ast

    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_the_data_package_never_imports_the_layers_above_it():
    # Data flows one way: the generators plant credit loadings on the factors of
    # fialloc.factor_returns, not on anything of the analytics or the desks.
    from pathlib import Path

    import fialloc.data

    package = Path(fialloc.data.__file__).parent
    upward = {
        f"{path.name}: {module}"
        for path in package.glob("*.py")
        for module in _imported_modules(path)
        if module.startswith(("fialloc.analytics", "fialloc.desks", "fialloc.optimize"))
    }
    assert not upward
