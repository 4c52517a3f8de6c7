"""Benchmarks keyed by benchmark id: characteristics from constituents or as given, shared
benchmarks in attribution, and the loader's checks.

Characteristics from constituents are checked against an independent path: each month's
bonds rebuilt from their terms at that month-end (their own schedules, not the rolled
flows) and risked off that month's zero curve, weighted by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fialloc.analytics.holdings_attribution import holdings_attribution
from fialloc.benchmark_characteristics import benchmark_characteristics
from fialloc.bonds import BondBook, krd_column
from fialloc.curves import DEFAULT_KEY_TENORS
from fialloc.data import InputError, from_tables
from fialloc.data.demo import DEMO_VALUATION
from fialloc.data.vocabulary import rating_notch
from fialloc.history_market import history_market
from fialloc.holdings_revaluation import history_curve


@pytest.fixture(scope="module")
def demo(demo_portfolio):
    return demo_portfolio


@pytest.fixture(scope="module")
def chars(demo):
    return benchmark_characteristics(demo)


def test_every_benchmark_and_month_from_the_constituents(demo, chars):
    months = sorted(set(demo.benchmark_holdings["month"]))
    assert chars.index.names == ["benchmark_id", "month"]
    assert len(chars) == len(demo.benchmarks) * len(months)
    assert (chars["source"] == "holdings").all()
    for prefix in ("sector_", "rating_"):
        mix = [c for c in chars.columns if c.startswith(prefix)]
        np.testing.assert_allclose(chars[mix].sum(axis=1), 1.0, atol=1e-12)
    bbb = demo.securities["rating"].str.rstrip("+-") == "BBB"
    rows = demo.benchmark_holdings
    by_hand = (
        (rows["weight"] * rows["security_id"].map(bbb))
        .groupby([rows["benchmark_id"], rows["month"]])
        .sum()
    )
    np.testing.assert_allclose(chars["rating_BBB"], by_hand.reindex(chars.index), atol=1e-15)
    assert list(chars.columns[:4]) == [
        "duration",
        "spread_duration",
        "credit_notch",
        "high_yield_share",
    ]


@pytest.mark.parametrize("k", [0, 17, 59])
def test_constituent_characteristics_match_bonds_rebuilt_at_the_month(demo, chars, k):
    months = sorted(set(demo.benchmark_holdings["month"]))
    month = months[k]
    rows = demo.benchmark_holdings[demo.benchmark_holdings["month"] == month]
    ids = sorted(set(rows["security_id"]))
    master = demo.securities.loc[ids].reset_index(drop=True).assign(face=100.0)
    book = BondBook.from_frame(master, month)
    everything = sorted(set(demo.benchmark_holdings["security_id"]))
    full = BondBook.from_frame(
        demo.securities.loc[everything].reset_index(drop=True).assign(face=100.0), months[0]
    )
    market = history_market(demo, months, full)
    spreads = pd.Series(market.spreads[k], index=everything).loc[ids].to_numpy()
    curve = history_curve(market.tenors, market.zeros[k], valuation_date=month)
    risk = book.curve_risk(curve, spreads)
    for benchmark, group in rows.groupby("benchmark_id"):
        at = pd.Index(ids).get_indexer(group["security_id"])
        w = group["weight"].to_numpy()
        got = chars.loc[(benchmark, month)]
        assert got["duration"] == pytest.approx(w @ risk.effective_duration[at], rel=1e-12)
        assert got["spread_duration"] == pytest.approx(w @ risk.spread_duration[at], rel=1e-12)
        for j, tenor in enumerate(DEFAULT_KEY_TENORS):
            assert got[krd_column(tenor)] == pytest.approx(
                w @ risk.krd[at, j], rel=1e-11, abs=1e-14
            )
        terms = demo.securities.loc[group["security_id"]]
        notch = terms["rating"].map(rating_notch).to_numpy(dtype=float)
        assert got["credit_notch"] == pytest.approx(w @ notch, rel=1e-14)
        high_yield = terms["rating"].str.rstrip("+-").isin(["BB", "B", "CCC"]).to_numpy()
        assert got["high_yield_share"] == pytest.approx(w @ high_yield, abs=1e-15)


def test_given_characteristics_stand_and_fill_benchmarks_without_constituents(
    demo, chars, demo_inputs
):
    tables = demo_inputs
    months = sorted(set(tables["benchmark_holdings"]["month"]))
    bh = tables["benchmark_holdings"]
    # B25 only as characteristics; B24's last month given both ways.
    tables["benchmark_holdings"] = bh[bh["benchmark_id"] != "B25"]
    given = pd.DataFrame(
        {"month": months, "benchmark_id": "B25", "duration": 2.5, "credit_notch": 13.0,
         "high_yield_share": 1.0, "sector_high_yield": 1.0}
    )  # fmt: skip
    both = pd.DataFrame({"month": [months[-1]], "benchmark_id": ["B24"], "duration": [17.0]})
    tables["benchmark_characteristics"] = pd.concat([given, both], ignore_index=True)
    # Without the history tables' manager B25 would need constituents for attribution.
    for name in ("holdings_history", "security_spreads"):
        tables.pop(name)
    p = from_tables(tables, DEMO_VALUATION)
    out = benchmark_characteristics(p)
    b25 = out.loc["B25"]
    assert (b25["source"] == "characteristics").all()
    assert (b25["duration"] == 2.5).all()
    assert b25["spread_duration"].isna().all()
    assert (b25["sector_high_yield"] == 1.0).all()
    assert out.loc[("B24", months[-1]), "duration"] == 17.0
    assert out.loc[("B24", months[-1]), "source"] == "characteristics"
    earlier = out.loc[("B24", months[-2])]
    assert earlier["source"] == "holdings"
    assert earlier["duration"] == pytest.approx(chars.loc[("B24", months[-2]), "duration"])


def test_managers_sharing_a_benchmark_read_the_same_constituents(demo, demo_inputs):
    tables = demo_inputs
    managers = tables["managers"]
    managers.loc[managers["manager_id"] == "M16", "benchmark"] = "B03"  # both "Aggregate"
    short = sorted(set(tables["holdings_history"]["month"]))[-4:]
    for name in ("holdings_history", "benchmark_holdings", "security_spreads"):
        tables[name] = tables[name][tables[name]["month"].isin(short)]
    p = from_tables(tables, DEMO_VALUATION)
    h = holdings_attribution(p)
    m03, m16 = h.portfolios.index("M03"), h.portfolios.index("M16")
    np.testing.assert_array_equal(
        h.effects.benchmark_return[:, m03], h.effects.benchmark_return[:, m16]
    )


def test_benchmark_problems_are_named(demo_inputs):
    tables = demo_inputs
    tables["managers"].loc[2, "benchmark"] = "Aggregate"
    tables["benchmark_characteristics"] = pd.DataFrame(
        {"month": [DEMO_VALUATION, DEMO_VALUATION.replace(month=10, day=31)],
         "benchmark_id": ["B01", "NOPE"], "duration": [5.0, 6.0],
         "sector_treasury": ["0.4", "40"], "krd_0.25y": ["0.01", "abc"]}
    )  # fmt: skip
    with pytest.raises(InputError) as err:
        from_tables(tables, DEMO_VALUATION)
    text = str(err.value)
    assert "managers, row 2, column benchmark: 'Aggregate' is not a benchmark_id" in text
    assert "benchmark_characteristics, row 1, column sector_treasury: '40' is not a weight" in text
    assert "row 1, column krd_0.25y: 'abc' is not a key-rate duration (years)" in text
    assert "benchmark_characteristics, row 1, column benchmark_id: unknown benchmark id 'NOPE'" in (
        text
    )
    assert "benchmark_characteristics, row 1, column month: 2026-10-31 is after" in text
    tables = demo_inputs
    del tables["benchmarks"]
    with pytest.raises(InputError, match="given without the benchmarks table"):
        from_tables(tables, DEMO_VALUATION)


def test_weights_within_the_load_tolerance_are_renormalized_per_benchmark_month(demo_inputs):
    tables = demo_inputs
    bh = tables["benchmark_holdings"]
    first = bh.index[bh["benchmark_id"] == "B05"][0]
    bh.loc[first, "weight"] += 8e-7
    p = from_tables(tables, DEMO_VALUATION)
    sums = p.benchmark_holdings.groupby(["benchmark_id", "month"])["weight"].sum()
    assert (sums - 1.0).abs().max() < 1e-15
    holdings_attribution(p)  # accepted at load, accepted by attribution
