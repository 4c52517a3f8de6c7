"""Currency inputs: FX spots, per-currency curve quotes, hedge ratios; bad ones named by row.

Every refusal names the table, the row and the column and says what was expected; nothing is
loaded. The tables are the hand-worked two-manager book of test_analytics_currency_exposure.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from currency_book import VD, book_tables

from fialloc import pipeline
from fialloc.data import InputError, from_tables, validate, write_tables
from fialloc.data.loaders import read_table
from fialloc.data.mapping import parse_mapping


def problems_of(tables, **kwargs) -> list[str]:
    with pytest.raises(InputError) as info:
        from_tables(tables, VD, **kwargs)
    return [str(p) for p in info.value.problems]


def edited(table: str, edit) -> dict[str, pd.DataFrame]:
    tables = book_tables()
    frame = tables[table].copy()
    result = edit(frame)
    tables[table] = frame if result is None else result
    return tables


@pytest.mark.parametrize(
    ("table", "edit", "expected"),
    [
        (
            "fx_spot",
            lambda f: f.loc.__setitem__((0, "rate"), -1.1),
            "fx_spot, row 0, column rate: -1.1 must be > 0",
        ),
        (
            "fx_spot",
            lambda f: f.loc.__setitem__((1, "currency"), "CHF"),
            "fx_spot, row 1, column currency: 'CHF' is not one of USD, EUR, GBP, JPY, CAD",
        ),
        (
            "fx_spot",
            lambda f: f.loc.__setitem__((0, "quoted"), "per_dollar"),
            "fx_spot, row 0, column quoted: 'per_dollar' is not one of base_per_unit",
        ),
        (
            "fx_spot",
            lambda f: f.loc.__setitem__((0, "basis"), 12.0),
            "fx_spot, row 0, column basis: 12.0 looks like a percentage",
        ),
        (
            "fx_spot",
            lambda f: pd.concat([f, pd.DataFrame([{"currency": "USD", "rate": 1.2}])]),
            "fx_spot, row 2, column currency: USD is the base currency (worth 1, no basis)",
        ),
        (
            "fx_spot",
            lambda f: f.iloc[1:],
            "securities, row 1, column currency: EUR bonds are held but the inputs lack an FX "
            "spot into USD",
        ),
        (
            "curve_quotes",
            lambda f: f[f["currency"] != "GBP"],
            "securities, row 2, column currency: GBP bonds are held but the inputs lack a "
            "government curve",
        ),
        (
            "curve_quotes",
            lambda f: f.loc.__setitem__((4, "curve"), "real"),
            "curve_quotes, row 4, column curve: 'real' is not one of government, ois",
        ),
        (
            "curve_quotes",
            lambda f: f.loc.__setitem__((5, "rate"), 4.1),
            "curve_quotes, row 5, column rate: 4.1 looks like a percentage",
        ),
        (
            "curve_quotes",
            lambda f: f.loc.__setitem__((7, "tenor"), "6M"),
            "curve_quotes: cannot build today's curves: row 7 (EUR ois curve): maturity",
        ),
        (
            "securities",
            lambda f: f.loc.__setitem__((1, "currency"), "eur"),
            "securities, row 1, column currency: 'eur' is not one of USD, EUR, GBP, JPY, CAD",
        ),
        (
            "holdings",
            lambda f: f.loc.__setitem__((1, "hedge_ratio"), 1.5),
            "holdings, row 1, column hedge_ratio: 1.5 must be <= 1",
        ),
    ],
)
def test_bad_currency_inputs_are_named(table, edit, expected):
    found = problems_of(edited(table, edit))
    assert any(expected in p for p in found), found


def test_another_base_currency_values_everything_in_it():
    # The same book with a EUR base: USD is now the foreign currency, liabilities in EUR.
    tables = book_tables()
    fx = pd.DataFrame(
        {"currency": ["USD", "GBP"], "rate": [1 / 1.10, 1.30 / 1.10], "quoted": "base_per_unit"}
    )
    eur = from_tables({**tables, "fx_spot": fx}, VD, {"base_currency": "EUR"})
    usd = from_tables(tables, VD)
    assert eur.curve_set.base_currency == "EUR"
    assert eur.total_assets == pytest.approx(usd.total_assets / 1.10, rel=1e-12)
    assert eur.curve.discount(10.0) == pytest.approx(usd.curve_set.curve("EUR").discount(10.0))


def test_an_unknown_base_currency_is_refused():
    found = problems_of(book_tables(), mandate={"base_currency": "CHF"})
    assert any("mandate.json, column base_currency" in p for p in found), found


def test_currency_tables_round_trip_through_files(tmp_path):
    # The book has no return or market history, which `load` needs to run: read the files.
    book = from_tables(book_tables(), VD)
    folder = write_tables(book, tmp_path / "book")
    again = from_tables({t: read_table(folder / f"{t}.csv") for t in book_tables()}, VD)
    pd.testing.assert_frame_equal(
        again.fx_spot.reset_index(drop=True), book.fx_spot.reset_index(drop=True)
    )
    assert again.total_assets == book.total_assets
    assert list(again.holdings["hedge_ratio"]) == [0.0, 0.6, 0.0]


def test_missing_optional_cells_stay_missing():
    # A column given for some rows only (the EUR basis, one curve's day counts): pandas' string
    # dtype once sent these through a fast path that filled them with the last distinct value.
    tables = book_tables()
    quotes = tables["curve_quotes"].astype({"day_count": "str"})
    quotes.loc[quotes["currency"] == "GBP", "day_count"] = None
    book = from_tables({**tables, "curve_quotes": quotes}, VD)
    assert book.curve_quotes.loc[quotes["currency"] == "GBP", "day_count"].isna().all()
    assert book.fx_spot["basis"].isna().tolist() == [False, True]


def test_a_book_without_its_currencies_history_is_refused_before_running(
    tmp_path, demo_portfolio, demo_dir
):
    folder = shutil.copytree(demo_dir, tmp_path / "demo")
    history = pd.read_csv(folder / "market_history.csv", dtype=str, keep_default_na=False)
    history[~history["series"].str.startswith("fx_JPY")].to_csv(
        folder / "market_history.csv", index=False
    )
    found = [str(p) for p in validate(folder)]
    assert any(
        "market_history.csv, column series: JPY bonds are held: run needs at least 12 months "
        "of JPY zero rates (series zero_JPY_<years>y) and FX spots (fx_JPY)" in p
        for p in found
    ), found
    with pytest.raises(ValueError, match="a book holding CAD, EUR, GBP, JPY bonds needs"):
        pipeline.run(demo_portfolio, covariance="scenarios", n_paths=20)


def test_a_mapping_file_reads_a_desks_fx_export(tmp_path):
    # FX spots as a desk exports them: its own file and column names, basis in bp.
    mapping = parse_mapping(
        {
            "tables": {
                "fx_spot": {
                    "file": "fx_rates.csv",
                    "columns": {
                        "Ccy": "currency",
                        "Mid": "rate",
                        "Quote": "quoted",
                        "Basis (bp)": "basis",
                    },
                    "units": {"basis": "bp"},
                }
            }
        }
    )
    export = pd.DataFrame(
        {
            "Ccy": ["EUR", "GBP"],
            "Mid": ["1.10", "0.7692307692307693"],
            "Quote": ["base_per_unit", "units_per_base"],
            "Basis (bp)": ["-20", ""],
        }
    )
    frame, found = mapping.table("fx_spot").translate(export, "fx_rates.csv")
    assert found == []
    book = from_tables({**book_tables(), "fx_spot": frame}, VD)
    assert book.curve_set.fx_basis == {"EUR": -0.002}
    assert book.curve_set.spot("GBP") == pytest.approx(1.30, rel=1e-15)
