"""The demo general account: size, shape, consistency with today's market, speed, files."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc.data import rating_notch

LETTER_SCALE = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC")


@pytest.fixture(scope="module")
def demo(demo_portfolio):
    return demo_portfolio


def test_twenty_seven_managers_with_distinct_styles(demo):
    # The 25 US managers, the global aggregate manager (fialloc.data.demo_global) and the
    # TIPS manager (fialloc.data.demo_tips).
    m = demo.managers
    assert len(m) == 27
    assert m["manager_id"].is_unique
    assert m["name"].is_unique
    assert m["style"].nunique() >= 12
    assert set(m["style"]) >= {
        "long_government",
        "long_credit",
        "core",
        "core_plus",
        "ig_credit",
        "high_yield",
        "structured",
        "short_duration",
        "municipal",
        "emerging_markets",
        "private_placement",
        "global_government",
    }
    assert m["current_allocation"].sum() == pytest.approx(1.0, abs=1e-12)
    assert m["current_allocation"].between(0.01, 0.20).all()  # inside the default mandate


def test_five_hundred_securities_some_shared(demo):
    sec, hold = demo.securities, demo.holdings
    assert len(sec) >= 500
    assert sec["security_id"].is_unique
    assert set(hold["security_id"]) == set(sec["security_id"])  # every bond is held
    held_by = hold.groupby("security_id")["manager_id"].nunique()
    assert (held_by >= 2).sum() >= 50
    assert held_by.max() >= 4
    assert (hold["par"] > 0).all()
    assert sec["sector"].nunique() >= 10
    assert sec["issuer"].nunique() >= 100
    # Only the global manager holds other currencies: 10 sovereigns in each of four.
    foreign = hold["security_id"].map(sec.set_index("security_id")["currency"]) != "USD"
    assert set(hold.loc[foreign, "manager_id"]) == {"M26"}
    assert sec.loc[sec["currency"] != "USD", "currency"].value_counts().to_dict() == dict.fromkeys(
        ("EUR", "GBP", "JPY", "CAD"), 10
    )


def test_security_master_is_plausible(demo):
    sec = demo.securities
    notches = sec["rating"].map(rating_notch)
    assert notches.min() == 1  # AAA
    assert notches.max() >= rating_notch("B-")  # a high-yield tail
    assert sec["rating"].str.rstrip("+-").isin(LETTER_SCALE).all()
    years = np.array([(d - demo.valuation_date).days / 365.25 for d in sec["maturity"]])
    assert years.min() > 0.5
    assert years.max() > 29
    nominal = ~sec["security_id"].isin(demo.linkers["security_id"])
    coupons = sec.loc[(sec["frequency"] > 0) & nominal, "coupon"]
    assert coupons.between(0.005, 0.12).all()
    real = sec.loc[~nominal, "coupon"]  # TIPS pay real coupons from 1/8%
    assert real.between(0.00125, 0.04).all()
    assert (sec.loc[sec["frequency"] == 0, "coupon"] == 0).all()  # strips
    assert (sec["adv"] < sec["issue_size"]).all()
    assert (sec["bid_ask_bp"] > 0).all()
    # Liquid treasuries trade tighter than high yield and private placements.
    by_sector = sec.groupby("sector")["bid_ask_bp"].median()
    assert by_sector["treasury"] < by_sector["high_yield"] < by_sector["private_placement"]
    assert set(sec.loc[sec["sector"] == "treasury", "liquidity_tier"]) == {"level1"}


def test_forty_billion_and_weights_match_market_values(demo):
    assert demo.total_assets == pytest.approx(40e9, rel=1e-6)
    np.testing.assert_allclose(
        (demo.manager_values / demo.total_assets).to_numpy(),
        demo.current_weights.to_numpy(),
        rtol=1e-6,
    )
    weights = demo.sleeve_weights
    assert weights.shape == (27, len(demo.book.security_ids))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)
    assert (weights.to_numpy() >= 0).all()


def test_sixty_year_annuity_run_off(demo):
    lia = demo.liabilities
    years = np.array([(d - demo.valuation_date).days / 365.25 for d in lia["date"]])
    assert len(lia) == 60
    assert years[0] < 1.0
    assert 59.0 < years[-1] <= 60.0
    assert np.all(np.diff(years) > 0.9)
    assert (lia["amount"] > 0).all()
    # Run-off: payments shrink in the tail, and there is a real 20-40 year block.
    assert lia["amount"].iloc[-1] < 0.2 * lia["amount"].iloc[0]
    assert lia["amount"].iloc[20:40].sum() > 0.25 * lia["amount"].sum()
    stream = demo.liability_stream.analyze(demo.curve)
    assert stream.market_value[0] == pytest.approx(0.9 * demo.total_assets, rel=1e-6)


def test_long_end_key_rate_gap(demo, demo_truth):
    a = demo.analytics
    dollar_krd = (a.krd * a.market_value[:, None]).sum(axis=0)
    lia = demo.liability_stream.analyze(demo.curve)
    lia_krd = lia.krd[0] * lia.market_value[0]
    tenors = list(a.key_tenors)
    ratio = dict(zip(tenors, dollar_krd / lia_krd, strict=True))
    truth = demo_truth
    assert truth.long_end_gap_tenors == (20.0, 30.0)
    for tenor in truth.long_end_gap_tenors:
        assert ratio[tenor] < 0.6, ratio
    # Only the long end is short: the belly is over-hedged, so the gap is a curve gap.
    for tenor in (2.0, 3.0, 5.0, 7.0, 10.0):
        assert ratio[tenor] > 0.9, ratio
    assert ratio[30.0] < ratio[20.0]


def test_history_is_sixty_months_ending_on_today(demo):
    zeros, spreads = demo.zero_history, demo.spread_history
    assert len(zeros) == len(spreads) == 60
    assert zeros.index[-1] == demo.valuation_date
    assert list(zeros.columns) == [0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0]
    assert set(spreads.columns) == set(LETTER_SCALE)
    months = pd.to_datetime(pd.Series(zeros.index)).dt.to_period("M")
    assert (months.diff().iloc[1:] == pd.offsets.MonthEnd(1)).all()  # one row per month
    # The last month is today's market: the bootstrapped curve and today's spreads.
    np.testing.assert_allclose(
        zeros.iloc[-1].to_numpy(), demo.curve.zero_rate(zeros.columns.to_numpy()), atol=1e-12
    )
    today = demo.spreads.set_index("rating")["spread"]
    np.testing.assert_allclose(spreads.iloc[-1][today.index], today.to_numpy(), atol=1e-12)
    # Spreads stay ordered by rating on average and positive every month.
    assert (spreads > 0).all().all()
    assert list(spreads.mean()[list(LETTER_SCALE)].rank()) == [1, 2, 3, 4, 5, 6, 7]
    # Monthly moves are of a realistic size (tens of bp at most).
    assert zeros.diff().abs().max().max() < 0.01


def test_manager_returns_are_monthly_decimals(demo):
    r, b = demo.returns, demo.benchmark_returns
    assert r.shape == b.shape == (60, 27)
    assert r.notna().all().all()
    assert r.index[-1] == demo.valuation_date
    assert r.abs().max().max() < 0.1
    assert 0.0 < r.mean().mean() < 0.01
    ch = demo.manager_characteristics
    assert ch is not None
    assert len(ch) == 60 * 27


def test_deterministic_for_a_seed():
    # The input tables and truths: what the seed decides (the analytics on them are checked
    # byte for byte in tests/io/test_store.py).
    (a, truth_a), (b, truth_b) = data.demo_tables(11), data.demo_tables(11)
    c, _ = data.demo_tables(12)
    for name in ("securities", "holdings", "manager_returns", "market_history", "liabilities"):
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["manager_returns"].equals(c["manager_returns"])
    assert truth_a == truth_b


def test_write_demo_loads_back_to_the_same_book(tmp_path, demo):
    path = data.write_demo(str(tmp_path / "demo"), seed=7)
    names = {p.name for p in (tmp_path / "demo").iterdir()}
    assert {"mandate.json", "valuation.json", "SCHEMA.md", "holdings.csv"} <= names
    again = data.load(path)
    assert again.valuation_date == demo.valuation_date == data.DEMO_VALUATION
    assert again.mandate == demo.mandate
    for name in ("securities", "holdings", "managers", "manager_returns", "market_history"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(demo, name))
    np.testing.assert_array_equal(again.analytics.krd, demo.analytics.krd)
    schema = (tmp_path / "demo" / "SCHEMA.md").read_text()
    for table in ("securities", "holdings", "managers", "liabilities"):
        assert f"## {table} (required)" in schema
    for table in ("curve_quotes", "curve"):
        assert f"## {table} (one of curve_quotes and curve is required)" in schema
    assert "## valuation.json (required)" in schema


def test_demo_valuation_date_is_a_month_end():
    vd = data.DEMO_VALUATION
    assert (vd + dt.timedelta(days=1)).day == 1


def _fingerprints(tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Each table's hash: its values and index, plus its column names and dtypes."""
    out = {}
    for name, table in sorted(tables.items()):
        layout = pd.Series([f"{c}:{table[c].dtype}" for c in table.columns], dtype=object)
        values = int(pd.util.hash_pandas_object(table, index=True).sum())
        out[name] = (values + int(pd.util.hash_pandas_object(layout, index=False).sum())) % 2**64
    return out


# Hashed from main (d69a47b) before the generators were made faster: speed-ups to the demo
# and synthetic builders must leave every table bit for bit where it was.
_DEMO_FINGERPRINTS = {
    "benchmark_holdings": 9726435397060524815,
    "benchmarks": 13634398893928535578,
    "call_schedule": 16024099845210973563,
    "cpi_history": 16254607350860027419,
    "curve_quotes": 12408908021759237962,
    "fx_spot": 12560289038005972645,
    "holdings": 1143032587428908871,
    "holdings_history": 10488193262210135709,
    "inflation_swaps": 10229997779167577118,
    "liabilities": 15043234593963987702,
    "liability_products": 12528764769019852885,
    "linkers": 14137520998917186858,
    "manager_characteristics": 10079414527517337722,
    "manager_returns": 18133988661652572878,
    "managers": 14379009970678144027,
    "market_history": 15949321155475623706,
    "mbs_pools": 5901417218198744144,
    "mortality": 1448271623483411424,
    "overlay_futures": 18129411395164747054,
    "pool_factors": 13307978118834012705,
    "securities": 2913230053312612764,
    "security_spreads": 4447540555075942265,
    "spreads": 7561384438092346125,
}

_SYNTHETIC_FINGERPRINTS = {
    (1, 100, 0, False): {
        "call_schedule": 6954547774230367794,
        "curve_quotes": 180783219084367782,
        "holdings": 10668008539437589769,
        "liabilities": 15043234593963987702,
        "liability_products": 12528764769019852885,
        "manager_characteristics": 7475579390911635976,
        "manager_returns": 4464572655329767281,
        "managers": 2020470292698797408,
        "market_history": 13503064461968896651,
        "mortality": 1448271623483411424,
        "overlay_futures": 18129411395164747054,
        "securities": 9414477111430666773,
        "spreads": 7561384438092346125,
    },
    (5, 250, 3, False): {
        "call_schedule": 7512971244347210826,
        "curve_quotes": 180783219084367782,
        "holdings": 1757763848400701594,
        "liabilities": 15043234593963987702,
        "liability_products": 12528764769019852885,
        "manager_characteristics": 17682549175676792535,
        "manager_returns": 2855181167491174744,
        "managers": 13140256604252872750,
        "market_history": 1458893678796850464,
        "mortality": 1448271623483411424,
        "overlay_futures": 18129411395164747054,
        "securities": 13314989619923487586,
        "spreads": 7561384438092346125,
    },
    (30, 600, 11, False): {
        "call_schedule": 15363892070005192462,
        "curve_quotes": 180783219084367782,
        "holdings": 11773084814866044714,
        "liabilities": 15043234593963987702,
        "liability_products": 12528764769019852885,
        "manager_characteristics": 12956162830647564249,
        "manager_returns": 17635592121440566241,
        "managers": 16627858850217415261,
        "market_history": 3519517692665312027,
        "mortality": 1448271623483411424,
        "overlay_futures": 18129411395164747054,
        "securities": 14722238922309205531,
        "spreads": 7561384438092346125,
    },
    (12, 400, 2, True): {
        "call_schedule": 15869114837601026429,
        "curve_quotes": 12408908021759237962,
        "fx_spot": 12560289038005972645,
        "holdings": 5467119874774570796,
        "liabilities": 15043234593963987702,
        "liability_products": 12528764769019852885,
        "manager_characteristics": 6860686906278890674,
        "manager_returns": 10651319631576189348,
        "managers": 14206106931252262426,
        "market_history": 15205788046325932463,
        "mortality": 1448271623483411424,
        "overlay_futures": 18129411395164747054,
        "securities": 6896694148618123871,
        "spreads": 7561384438092346125,
    },
}


def test_the_demo_tables_are_pinned_bit_for_bit(demo_tables_and_truth):
    tables, _ = demo_tables_and_truth
    assert _fingerprints(tables) == _DEMO_FINGERPRINTS


@pytest.mark.parametrize("case", list(_SYNTHETIC_FINGERPRINTS), ids=str)
def test_the_synthetic_tables_are_pinned_bit_for_bit(case):
    n_managers, n_securities, seed, global_sleeve = case
    tables, _ = data.synthetic_tables(n_managers, n_securities, seed, global_sleeve=global_sleeve)
    assert _fingerprints(tables) == _SYNTHETIC_FINGERPRINTS[case]
