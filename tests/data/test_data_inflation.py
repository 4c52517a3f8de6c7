"""Inflation inputs: linkers, CPI history and inflation swaps through files, mapping and checks."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from fialloc.data import InputError, from_tables, load, validate
from fialloc.data.demo import DEMO_VALUATION
from fialloc.data.demo_tips import SWAPS, TIPS_MANAGER, TIPS_WEIGHT
from fialloc.inflation import cpi_fixings


@pytest.fixture(scope="module")
def demo(demo_portfolio):
    return demo_portfolio


def _edited(demo_dir, tmp_path, table, edit):
    target = tmp_path / "inputs"
    shutil.copytree(demo_dir, target)
    frame = pd.read_csv(target / f"{table}.csv", dtype=str, keep_default_na=False)
    edited = edit(frame)
    (edited if isinstance(edited, pd.DataFrame) else frame).to_csv(
        target / f"{table}.csv", index=False
    )
    return target


def test_the_tips_sleeve_is_a_realistic_linker_book(demo):
    linkers = demo.linker_analytics
    assert linkers is not None
    assert len(linkers) == 10
    manager = TIPS_MANAGER[0]
    assert demo.manager_values[manager] / demo.total_assets == pytest.approx(TIPS_WEIGHT)
    assert demo.total_assets == pytest.approx(40e9, rel=1e-6)
    # Index ratios from 1.2 (2021 issues) to 2 (the 1998 bond); real yields of 1-2%;
    # breakevens near the swaps; no floor in the money after five years of inflation.
    assert linkers["index_ratio"].between(1.2, 2.1).all()
    assert linkers["real_yield"].between(0.005, 0.025).all()
    assert (linkers["breakeven"] - 0.0240).abs().max() < 0.004
    assert (linkers["floor_value"] == 0).all()
    assert linkers["inflation_duration"].max() > 15  # the 2049 bond
    # The book carries the invoice price: real price times the index ratio.
    book = demo.analytics.to_frame().loc[linkers.index]
    np.testing.assert_allclose(book["dirty_price"], linkers["dirty_price"], rtol=1e-14)
    np.testing.assert_allclose(
        book["clean_price"], linkers["real_clean_price"] * linkers["index_ratio"], rtol=1e-13
    )
    curve = demo.breakeven_curves["USCPI"]
    assert curve.base_month.isoformat() == "2026-06-01"
    assert len(demo.inflation_swaps) == len(SWAPS)


def test_written_and_loaded_the_linkers_value_the_same(demo, demo_read_back):
    loaded = demo_read_back
    pd.testing.assert_frame_equal(
        loaded.linker_analytics, demo.linker_analytics, check_exact=False, rtol=1e-12
    )


@pytest.mark.parametrize(
    ("table", "edit", "expected"),
    [
        (
            "linkers",
            lambda f: f.loc.__setitem__((3, "lag_months"), "13"),
            "linkers.csv, row 5, column lag_months: 13.0 must be <= 12",
        ),
        (
            "linkers",
            lambda f: f.loc.__setitem__((0, "interpolation"), "cubic"),
            "linkers.csv, row 2, column interpolation: 'cubic' is not one of linear, flat",
        ),
        (
            "linkers",
            lambda f: f.loc.__setitem__((1, "floor"), "maybe"),
            "linkers.csv, row 3, column floor: 'maybe' is not true or false",
        ),
        (
            "linkers",
            lambda f: f.loc.__setitem__((2, "base_cpi"), "-190"),
            "linkers.csv, row 4, column base_cpi: -190.0 must be > 0",
        ),
        (
            "linkers",
            lambda f: f.loc.__setitem__((0, "security_id"), "NOPE"),
            "linkers.csv, row 2, column security_id: 'NOPE' has no row in the security master",
        ),
        (
            "linkers",
            lambda f: f.loc.__setitem__((4, "index"), "UKRPI"),
            "linkers.csv, row 6, column index: index 'UKRPI' has no rows in cpi_history",
        ),
        (
            "cpi_history",
            lambda f: f.drop(index=100),
            "cpi_history.csv, column month: index USCPI: a gap of 1 month",
        ),
        (
            "cpi_history",
            lambda f: f.loc.__setitem__((5, "value"), "0"),
            "cpi_history.csv, row 7, column value: 0.0 must be > 0",
        ),
        (
            "inflation_swaps",
            lambda f: f.loc.__setitem__((2, "rate"), "2.38"),
            "inflation_swaps.csv, row 4, column rate: 2.38 looks like a percentage",
        ),
        (
            "inflation_swaps",
            lambda f: f.loc.__setitem__((1, "tenor"), "18M"),
            "inflation_swaps.csv, row 3, column tenor: '18M' is not a whole number of years",
        ),
        (
            "cpi_history",
            lambda f: f.iloc[:-3],
            "inflation_swaps.csv: cannot build the breakeven curves: inflation swaps of USCPI: "
            "the base month 2026-06",
        ),
    ],
)
def test_bad_inflation_inputs_are_named(demo_dir, tmp_path, table, edit, expected):
    target = _edited(demo_dir, tmp_path, table, edit)
    problems = [str(p) for p in validate(target)]
    assert any(expected in p for p in problems), problems
    with pytest.raises(InputError):
        load(target)


def test_inflation_tables_without_linkers_are_refused(demo, demo_inputs):
    tables = demo_inputs
    tables.pop("linkers")
    with pytest.raises(InputError, match="cpi_history: given without linkers"):
        from_tables(tables, DEMO_VALUATION)


def test_a_mapping_file_adapts_a_custodians_inflation_export(demo_dir, demo_read_back, tmp_path):
    target = tmp_path / "inputs"
    shutil.copytree(demo_dir, target)
    swaps = pd.read_csv(target / "inflation_swaps.csv")
    swaps.rename(columns={"index": "Index", "tenor": "Maturity", "rate": "ZC Rate %"}).assign(
        **{"ZC Rate %": swaps["rate"] * 100}
    ).to_csv(target / "zc_swaps.csv", index=False)
    (target / "inflation_swaps.csv").unlink()
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "tables:\n"
        "  inflation_swaps:\n"
        "    file: zc_swaps.csv\n"
        "    columns: {Index: index, Maturity: tenor, 'ZC Rate %': rate}\n"
        "    units: {rate: percent}\n"
    )
    loaded = load(target, mapping=mapping)
    assert loaded.breakeven_curves["USCPI"].rates == pytest.approx(
        demo_read_back.breakeven_curves["USCPI"].rates, rel=1e-12
    )


def test_the_curve_set_holds_the_real_curve_the_linkers_price_on(demo):
    """The USD real slot: government less CPI breakevens, pillars on the first of each month.

    Exact at its pillars; between them log-linear discount factors against the index's daily
    interpolation leave the real prices within 1e-6 (measured 5e-7).
    """
    real = demo.curve_set.curve("USD", "real")
    nominal = demo.curve_set.curve("USD", "government")
    book, table = demo.linker_book, demo.linker_analytics
    for i in range(len(book)):
        times, amounts = book.real.layout.stream(i)
        value = float(np.sum(amounts * real.discount(times)))
        assert value == pytest.approx(table["real_dirty_price"].iloc[i], rel=1e-6)
    # Breakevens (continuous) between 2.3% and 2.5%: the swaps' 2.35-2.45% annual.
    t = np.array([2.0, 5.0, 10.0, 30.0])
    breakeven = np.asarray(nominal.zero_rate(t)) - np.asarray(real.zero_rate(t))
    assert np.all((breakeven > 0.022) & (breakeven < 0.025))


def test_linker_prices_without_swaps_give_the_breakeven_and_real_curves(demo, demo_dir, tmp_path):
    target = tmp_path / "inputs"
    shutil.copytree(demo_dir, target)
    (target / "inflation_swaps.csv").unlink()
    linkers = demo.linker_analytics
    quotes = pd.DataFrame(
        {
            "security_id": linkers.index,
            "date": DEMO_VALUATION.isoformat(),
            "price": linkers["real_clean_price"].round(6).to_numpy(),
            "price_type": "clean",
            "source": "vendor",
        }
    )
    quotes.to_csv(target / "prices.csv", index=False)
    loaded = load(target)
    curve = loaded.breakeven_curves["USCPI"]
    # The base is the last published fixing; one pillar per linker.
    assert loaded.cpi_history is not None
    assert curve.base_month == cpi_fixings(loaded.cpi_history, "USCPI").index[-1]
    assert len(curve.pillars) == len(linkers)
    table = loaded.linker_analytics
    assert table is not None
    np.testing.assert_allclose(table["real_clean_price"], quotes["price"], rtol=1e-10)
    # Priced off the curve their prices built: no spread left over the government curve.
    assert np.abs(loaded.z_spreads[linkers.index]).max() < 1e-10
    assert (loaded.spread_sources.loc[linkers.index, "source"] == "price").all()
    # The demo's prices came from the swaps' curve: the breakevens agree within a basis
    # point where the linkers are (the swaps' 1-30 years).
    t = np.array([2.0, 5.0, 10.0, 20.0])
    real, swap_real = loaded.curve_set.curve("USD", "real"), demo.curve_set.curve("USD", "real")
    gap = np.asarray(real.zero_rate(t)) - np.asarray(swap_real.zero_rate(t))
    assert np.abs(gap).max() < 1e-4


def test_an_index_without_swaps_or_linker_prices_is_refused(demo_dir, tmp_path):
    target = tmp_path / "inputs"
    shutil.copytree(demo_dir, target)
    (target / "inflation_swaps.csv").unlink()
    problems = [str(p) for p in validate(target)]
    expected = "index 'USCPI' has no rows in inflation_swaps (the file is missing)"
    assert any(expected in p and "or a price of one of its linkers" in p for p in problems)
