"""Observed prices as an input: spreads solved per bond, the precedence, and the round trip.

The demo written to files with today's clean prices in place of its z-spreads must give the
same analytics and headline numbers as the in-memory demo (relative 1e-10): the solver
reprices to 1e-15 and the observed value is used as given.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc import pipeline
from fialloc.bonds import BondBook
from fialloc.curves import bootstrap
from fialloc.data import InputError, from_tables, load, validate, write_tables
from fialloc.data.demo_universe import CURVE_QUOTES, DEMO_VALUATION

RTOL = 1e-10


@pytest.fixture(scope="module")
def demo(demo_portfolio):
    return demo_portfolio


def _priced_copy(demo, demo_dir, target, price_type="clean"):
    """The written demo with today's prices in place of every z-spread (and of the prices its
    holdings carry for the MBS pools)."""
    shutil.copytree(demo_dir, target)
    securities = pd.read_csv(target / "securities.csv", dtype=str, keep_default_na=False)
    securities.drop(columns="z_spread").to_csv(target / "securities.csv", index=False)
    holdings = pd.read_csv(target / "holdings.csv", dtype=str, keep_default_na=False)
    holdings.drop(columns=["price", "price_type"], errors="ignore").to_csv(
        target / "holdings.csv", index=False
    )
    a = demo.analytics
    price = a.clean_price if price_type == "clean" else a.dirty_price
    # Linkers are quoted in real terms: the invoice price over today's index ratio.
    if demo.linker_analytics is not None:
        ratio = demo.linker_analytics["index_ratio"].reindex(a.ids).fillna(1.0).to_numpy()
        price = price / ratio
    pd.DataFrame(
        {
            "security_id": list(a.ids),
            "date": demo.valuation_date.isoformat(),
            "price": [repr(float(x)) for x in price],
            "price_type": price_type,
            "source": "vendor",
        }
    ).to_csv(target / "prices.csv", index=False)
    return target


@pytest.fixture(scope="module")
def priced(demo, demo_dir, tmp_path_factory):
    return load(_priced_copy(demo, demo_dir, tmp_path_factory.mktemp("p") / "inputs"))


def test_prices_in_place_of_spreads_give_the_same_analytics(demo, priced):
    assert (priced.spread_sources["source"] == "price").all()
    assert (priced.spread_sources["price_source"] == "vendor").all()
    left = demo.analytics.to_frame()
    right = priced.analytics.to_frame()
    assert list(left.index) == list(right.index)
    for column in left.columns:
        np.testing.assert_allclose(
            right[column], left[column], rtol=RTOL, atol=1e-13, err_msg=column
        )
    # The observed value is used as given, not a repricing of it (a linker's, quoted real,
    # times today's index ratio).
    observed = priced.spread_sources["price"]
    ratio = priced.linker_analytics["index_ratio"]
    nominal = ~right.index.isin(ratio.index)
    np.testing.assert_array_equal(right.loc[nominal, "clean_price"], observed[nominal])
    np.testing.assert_allclose(
        right.loc[ratio.index, "clean_price"], observed[ratio.index] * ratio, rtol=1e-15
    )


def test_dirty_prices_are_read_as_dirty(demo, demo_dir, tmp_path):
    book = load(_priced_copy(demo, demo_dir, tmp_path / "inputs", price_type="dirty"))
    np.testing.assert_allclose(
        book.z_spreads.reindex(demo.book.security_ids),
        demo.z_spreads.reindex(demo.book.security_ids),
        rtol=0,
        atol=1e-13,
    )


def test_the_run_on_prices_repeats_the_run_on_spreads(demo_pipeline_run, priced):
    before = demo_pipeline_run[0]  # the session's demo run: 200 paths, scenario seed 3
    after = pipeline.run(priced, n_paths=200, scenario_seed=3)
    left, right = before.summary(), after.summary()
    for key, value in left.items():
        assert right[key] == pytest.approx(value, rel=RTOL, abs=1e-12), key
    np.testing.assert_allclose(
        after.allocation.weights, before.allocation.weights, rtol=0, atol=1e-8
    )
    for column in ("market_value", "ytm", "z_spread", "effective_duration", "krd_30y"):
        np.testing.assert_allclose(
            after.securities[column],
            before.securities[column],
            rtol=RTOL,
            atol=1e-13,
            err_msg=column,
        )


def _tables(tables):
    """The demo's tables (copies) without the prices its holdings carry for the MBS pools:
    every bond's spread then comes from its z_spread, and each test adds the prices it needs."""
    tables["holdings"] = tables["holdings"].drop(columns=["price", "price_type"])
    return tables


def test_a_missing_z_spread_falls_back_for_that_bond_only(demo, demo_inputs):
    tables = _tables(demo_inputs)
    sec = tables["securities"]
    corp = sec.index[sec["sector"].eq("industrial")][0]
    sec.loc[corp, "z_spread"] = np.nan
    book = from_tables(tables, DEMO_VALUATION)
    sid = sec.at[corp, "security_id"]
    sources = book.spread_sources
    assert sources.at[sid, "source"] == "rating"
    letter = sec.at[corp, "rating"].rstrip("+-")
    spread = tables["spreads"].set_index("rating").at[letter, "spread"]
    assert sources.at[sid, "z_spread"] == spread
    others = sources.drop(index=sid)
    assert (others["source"] == "z_spread").all()
    np.testing.assert_array_equal(
        others["z_spread"], sec.set_index("security_id").loc[others.index, "z_spread"]
    )


def test_the_precedence_is_price_then_z_spread_then_rating(demo, demo_inputs):
    tables = _tables(demo_inputs)
    sec = tables["securities"]
    ids = sec["security_id"]
    gov = ids[sec["sector"].eq("treasury")].iloc[0]
    corp, priced = ids[sec["sector"].eq("utility")].iloc[:2]
    sec.loc[ids.isin([gov, corp]), "z_spread"] = np.nan
    clean = float(demo.analytics.to_frame().at[priced, "clean_price"]) - 1.0
    tables["prices"] = pd.DataFrame(
        {"security_id": [priced], "date": [DEMO_VALUATION], "price": [clean],
         "price_type": ["clean"]}
    )  # fmt: skip
    book = from_tables(tables, DEMO_VALUATION)
    s = book.spread_sources
    assert s.at[gov, "source"] == "government"
    assert s.at[gov, "z_spread"] == 0.0
    assert s.at[corp, "source"] == "rating"
    assert s.at[priced, "source"] == "price"
    assert s.at[priced, "price_source"] == "prices"
    # A point lower price is a wider spread, and the bond is worth what it was priced at.
    assert s.at[priced, "z_spread"] > demo.z_spreads[priced]
    assert book.analytics.to_frame().at[priced, "clean_price"] == clean
    assert s["source"].value_counts()["z_spread"] == len(s) - 3


def test_prices_in_the_holdings_count_and_must_agree(demo, demo_inputs):
    tables = _tables(demo_inputs)
    holdings = tables["holdings"]
    sid = holdings["security_id"].value_counts().index[0]  # held by several managers
    rows = holdings.index[holdings["security_id"] == sid]
    assert len(rows) > 1
    holdings["price"] = np.nan
    holdings.loc[rows, "price"] = 97.5
    book = from_tables(tables, DEMO_VALUATION)
    assert book.spread_sources.at[sid, "source"] == "price"
    assert book.spread_sources.at[sid, "price_source"] == "holdings"
    holdings.loc[rows[-1], "price"] = 97.25
    with pytest.raises(InputError) as err:
        from_tables(tables, DEMO_VALUATION)
    (problem,) = err.value.problems
    assert problem.column == "price"
    assert problem.row == int(rows[-1])
    assert "97.25" in problem.message
    assert "97.5" in problem.message


def test_price_problems_are_named(demo, demo_inputs):
    tables = _tables(demo_inputs)
    sec = tables["securities"]
    sec.loc[0, "z_spread"] = np.nan
    tables["spreads"] = tables["spreads"][tables["spreads"]["rating"] != "BBB"]
    tables["prices"] = pd.DataFrame(
        {
            "security_id": ["NOPE", sec.at[1, "security_id"]],
            "date": [DEMO_VALUATION, DEMO_VALUATION.replace(day=1).replace(month=10)],
            "price": [100.0, 100.0],
            "price_type": ["clean", "dirty"],
        }
    )
    with pytest.raises(InputError) as err:
        from_tables(tables, DEMO_VALUATION)
    text = str(err.value)
    assert "prices, row 0, column security_id: 'NOPE' has no row" in text
    assert "prices, row 1, column date: 2026-10-01 is after the valuation date" in text


def test_a_bond_without_price_spread_or_rating_spread_is_refused(demo, demo_inputs):
    tables = _tables(demo_inputs)
    sec = tables["securities"]
    bbb = sec.index[sec["rating"].str.startswith("BBB") & sec["sector"].eq("financial")][0]
    sec.loc[bbb, "z_spread"] = np.nan
    tables["spreads"] = tables["spreads"][tables["spreads"]["rating"] != "BBB"]
    with pytest.raises(InputError) as err:
        from_tables(tables, DEMO_VALUATION)
    (problem,) = err.value.problems
    assert (problem.file, problem.row, problem.column) == ("securities", int(bbb), "z_spread")
    assert "no price" in problem.message
    assert "no BBB spread" in problem.message


def test_matured_bonds_may_stay_in_the_master_unless_held_today(demo, demo_inputs):
    tables = demo_inputs
    old = (
        tables["securities"].iloc[[0]].assign(security_id="MATURED1", maturity=dt_date(2024, 5, 15))
    )
    tables["securities"] = pd.concat([tables["securities"], old], ignore_index=True)
    book = from_tables(tables, DEMO_VALUATION)
    assert "MATURED1" not in book.book.security_ids
    assert book.total_assets == pytest.approx(demo.total_assets, rel=1e-15)
    tables["holdings"] = pd.concat(
        [tables["holdings"], pd.DataFrame({"manager_id": ["M01"], "security_id": ["MATURED1"],
                                           "par": [1e6]})],
        ignore_index=True,
    )  # fmt: skip
    with pytest.raises(InputError, match="held today"):
        from_tables(tables, DEMO_VALUATION)


def dt_date(y, m, d):
    import datetime as dt

    return dt.date(y, m, d)


def test_weights_within_the_load_tolerance_are_renormalized(demo, demo_inputs):
    tables = _tables(demo_inputs)
    tables["managers"].loc[0, "current_allocation"] += 9e-7
    book = from_tables(tables, DEMO_VALUATION)
    assert book.current_weights.sum() == pytest.approx(1.0, abs=1e-15)
    tables["managers"].loc[0, "current_allocation"] += 2e-6
    with pytest.raises(InputError, match=r"sum to 1\.000003"):
        from_tables(tables, DEMO_VALUATION)


@pytest.mark.parametrize("seed", range(20))
def test_solved_spreads_reprice_observed_prices(seed):
    """Random bonds and prices; NaN prices are skipped; the spread reprices to 1e-10 per 100."""
    rng = np.random.default_rng(seed)
    n = 60
    frame = pd.DataFrame(
        {
            "security_id": [f"B{k}" for k in range(n)],
            "coupon": rng.choice([0.0, 0.02, 0.045, 0.07], n),
            "maturity": [
                DEMO_VALUATION + pd.Timedelta(days=int(d)) for d in rng.integers(30, 40 * 365, n)
            ],
            "frequency": rng.choice([1, 2, 4, 12], n),
            "day_count": rng.choice(["ACT/365F", "30/360", "ACT/ACT ICMA"], n),
            "face": 100.0,
        }
    )
    frame["maturity"] = [d.date() for d in pd.to_datetime(frame["maturity"])]
    book = BondBook.from_frame(frame, DEMO_VALUATION)
    curve = bootstrap(pd.DataFrame(CURVE_QUOTES, columns=["kind", "tenor", "rate"]), DEMO_VALUATION)
    z = rng.uniform(-0.005, 0.08, n)
    dirty = book.dirty_prices(curve, z)
    given = dirty.copy()
    given[rng.random(n) < 0.3] = np.nan
    solved = book.z_spreads(curve, given)
    assert np.array_equal(np.isnan(solved), np.isnan(given))
    ok = ~np.isnan(given)
    np.testing.assert_allclose(solved[ok], z[ok], rtol=0, atol=1e-12)
    np.testing.assert_allclose(book.dirty_prices(curve, np.where(ok, solved, 0))[ok], given[ok],
                               rtol=0, atol=1e-10)  # fmt: skip


def test_a_price_out_of_reach_names_every_bond():
    frame = pd.DataFrame(
        {"security_id": ["A", "B", "C"], "coupon": [0.05] * 3,
         "maturity": [dt_date(2036, 9, 30)] * 3, "frequency": [2] * 3,
         "day_count": ["30/360"] * 3, "face": [100.0] * 3}
    )  # fmt: skip
    book = BondBook.from_frame(frame, DEMO_VALUATION)
    curve = bootstrap(pd.DataFrame(CURVE_QUOTES, columns=["kind", "tenor", "rate"]), DEMO_VALUATION)
    with pytest.raises(ValueError, match=r"A at 1e\+07, C at 0\.0001 imply a z-spread outside"):
        book.z_spreads(curve, [1e7, 101.0, 0.0001])


def test_validate_reports_what_load_refuses(demo, demo_dir, tmp_path):
    target = _priced_copy(demo, demo_dir, tmp_path / "inputs")
    prices = pd.read_csv(target / "prices.csv", dtype=str, keep_default_na=False)
    prices.loc[3, "price_type"] = "mid"
    prices.to_csv(target / "prices.csv", index=False)
    problems = validate(target)
    # Rows are the CSV file's line numbers: data row 3 is line 5.
    assert [(p.file, p.row, p.column) for p in problems] == [("prices.csv", 5, "price_type")]


def test_history_prices_in_place_of_security_spreads_give_the_same_attribution(demo, demo_inputs):
    """Dirty prices at every month-end but the last stand in for the security spreads."""
    from fialloc.analytics.holdings_attribution import holdings_attribution

    base = holdings_attribution(demo)
    sec = base.securities
    months = sec.months[:-1]
    k, j = np.meshgrid(np.arange(len(months)), np.arange(len(sec.security_ids)), indexing="ij")
    tables = _tables(demo_inputs)
    spreads = tables["security_spreads"]
    tables["security_spreads"] = spreads[spreads["month"] == sec.months[-1]]
    tables["prices"] = pd.DataFrame(
        {
            "security_id": np.asarray(sec.security_ids, dtype=object)[j.ravel()],
            "date": np.asarray(months, dtype=object)[k.ravel()],
            "price": sec.start_price.ravel(),
            "price_type": "dirty",
        }
    )
    priced = from_tables(tables, DEMO_VALUATION)
    again = holdings_attribution(priced)
    np.testing.assert_allclose(again.securities.start_price, sec.start_price, rtol=1e-13)
    np.testing.assert_allclose(again.effects.values, base.effects.values, rtol=RTOL, atol=1e-13)


def test_clean_history_prices_add_that_months_accrued_interest(demo, demo_inputs):
    from fialloc.history_market import history_market
    from fialloc.holdings_revaluation import history_curve

    months = sorted(set(demo.holdings_history["month"]))[-3:]
    ids = ["FIN0116", "TRE0001", "SEC0436"]  # 30/360, ACT/ACT ICMA, monthly coupons
    master = demo.securities.loc[ids].reset_index(drop=True).assign(face=100.0)
    book = BondBook.from_frame(master, months[0])
    market = history_market(demo, months, book)
    rows = []
    for k, month in enumerate(months[:2]):
        at = BondBook.from_frame(master, month)
        dirty = at.dirty_prices(history_curve(market.tenors, market.zeros[k]), market.spreads[k])
        rows += [
            {"security_id": s, "date": month, "price": d - a - 0.5, "price_type": "clean"}
            for s, d, a in zip(ids, dirty, at.accrued, strict=True)
        ]
    tables = _tables(demo_inputs)
    tables["prices"] = pd.DataFrame(rows)
    priced = from_tables(tables, DEMO_VALUATION)
    again = history_market(priced, months, book)
    # Half a point cheaper is a wider spread; the month without a price keeps its spread.
    assert (again.spreads[:2] > market.spreads[:2]).all()
    np.testing.assert_array_equal(again.spreads[2], market.spreads[2])
    for k, month in enumerate(months[:2]):
        at = BondBook.from_frame(master, month)
        repriced = at.dirty_prices(history_curve(again.tenors, again.zeros[k]), again.spreads[k])
        want = [r["price"] for r in rows[3 * k : 3 * k + 3]] + at.accrued
        np.testing.assert_allclose(repriced, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize(("n_managers", "n_securities", "seed"), [(10, 300, 1), (40, 2000, 2)])
def test_prices_in_place_of_spreads_on_generated_books(tmp_path, n_managers, n_securities, seed):
    """Other books, sizes and seeds: the same analytics and assets from prices as from spreads."""
    book = data.synthetic(n_managers, n_securities, seed)
    target = write_tables(book, tmp_path / "spreads")
    rebuilt = _priced_copy(book, target, tmp_path / "prices")
    priced = load(rebuilt)
    assert (priced.spread_sources["source"] == "price").all()
    left, right = book.analytics.to_frame(), priced.analytics.to_frame()
    for column in left.columns:
        np.testing.assert_allclose(right[column], left[column], rtol=RTOL, atol=1e-13)
    assert priced.total_assets == pytest.approx(book.total_assets, rel=1e-13)


def test_a_price_not_per_100_is_refused(demo, demo_inputs):
    tables = _tables(demo_inputs)
    sid = tables["securities"].at[0, "security_id"]
    tables["prices"] = pd.DataFrame(
        {"security_id": [sid], "date": [DEMO_VALUATION], "price": [98_500.0],
         "price_type": ["clean"]}
    )  # fmt: skip
    with pytest.raises(InputError, match=r"prices, row 0, column price: 98500\.0 must be <= 1000"):
        from_tables(tables, DEMO_VALUATION)


def test_a_price_implying_a_spread_of_100_percent_is_named(demo, demo_inputs):
    tables = _tables(demo_inputs)
    sid = tables["holdings"]["security_id"].iloc[0]
    tables["prices"] = pd.DataFrame(
        {"security_id": [sid], "date": [DEMO_VALUATION], "price": [0.0001],
         "price_type": ["clean"]}
    )  # fmt: skip
    with pytest.raises(InputError, match=rf"{sid} at 0\.0001 \(\d+%\) imply z-spreads of 100%"):
        from_tables(tables, DEMO_VALUATION)


def test_prices_and_a_zero_curve_together_repeat_the_in_memory_demo(
    demo, demo_dir, tmp_path, demo_pipeline_run
):
    # The check: the demo written with prices instead of spreads AND its curve as zero
    # rates (continuously compounded at the bootstrapped pillars, log-linear discount factors:
    # the curve the quotes bootstrap to) gives the in-memory demo's numbers.
    target = _priced_copy(demo, demo_dir, tmp_path / "inputs")
    curve = demo.curve
    # The base (USD) curve as zero rates; the global sleeve's other curves stay as quotes.
    quotes = pd.read_csv(target / "curve_quotes.csv", dtype=str, keep_default_na=False)
    usd = (quotes["currency"] == "USD") & (quotes["curve"] == "government")
    quotes[~usd].to_csv(target / "curve_quotes.csv", index=False)
    pd.DataFrame(
        {
            "maturity": [q.maturity.isoformat() for q in curve.quotes],
            "value": [repr(float(v)) for v in -curve.log_dfs / curve.pillar_times],
            "form": "zero_continuous",
        }
    ).to_csv(target / "curve.csv", index=False)
    both = load(target)
    left = both.curve_quotes
    assert not ((left["currency"] == "USD") & (left["curve"] == "government")).any()
    assert (both.spread_sources["source"] == "price").all()
    before = demo_pipeline_run[0]  # the session's demo run: 200 paths, scenario seed 3
    after = pipeline.run(both, n_paths=200, scenario_seed=3)
    for key, value in before.summary().items():
        assert after.summary()[key] == pytest.approx(value, rel=RTOL, abs=1e-12), key
    # Callables' durations are bumped lattice values at an OAS solved from the price: the
    # price read back from its file moves them by up to 2e-8 relative, 6e-8 years on a small
    # key rate (1e-10 elsewhere).
    lattice = before.securities.index.isin(demo.call_schedule["security_id"])
    for column in ("market_value", "ytm", "z_spread", "effective_duration", "krd_30y"):
        for rows, rtol, atol in ((~lattice, RTOL, 1e-13), (lattice, 1e-7, 1e-6)):
            np.testing.assert_allclose(
                after.securities[column][rows], before.securities[column][rows], rtol=rtol,
                atol=atol, err_msg=column,
            )  # fmt: skip
