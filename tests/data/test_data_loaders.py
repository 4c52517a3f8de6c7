"""Loaders: CSV, Parquet and JSON directories, in-memory tables, and every problem named.

The bad-input cases here complement tests/data/test_data.py: each one edits a single cell (or
column) of the written demo and checks the message names the file, row and column and says
what was expected; load() then refuses the whole directory.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from fialloc.data import InputError, from_tables, load, validate, write_tables
from fialloc.data.loaders import OPTIONAL, REQUIRED
from fialloc.schedule import DAY_COUNTS

# The demo gives spreads, not observed prices, and benchmark constituents, not
# characteristics (tests/data/test_data_prices.py and
# tests/analytics/test_benchmark_characteristics.py cover those).
TABLES = tuple(
    name
    for name in (*REQUIRED, "curve_quotes", *OPTIONAL)
    if name not in ("prices", "benchmark_characteristics")
)


@pytest.fixture(scope="module")
def demo(demo_portfolio):
    return demo_portfolio


def _copy(demo_dir, tmp_path):
    target = tmp_path / "inputs"
    shutil.copytree(demo_dir, target)
    return target


def _edit(target, table, edit):
    frame = pd.read_csv(target / f"{table}.csv", dtype=str, keep_default_na=False)
    edited = edit(frame)
    frame = edited if isinstance(edited, pd.DataFrame) else frame
    frame.to_csv(target / f"{table}.csv", index=False)
    return target


def _assert_same(a, b):
    assert a.valuation_date == b.valuation_date
    assert a.mandate == b.mandate
    for name in TABLES:
        left, right = getattr(a, name), getattr(b, name)
        pd.testing.assert_frame_equal(
            left.reset_index(drop=True), right.reset_index(drop=True), check_dtype=False
        )


def test_every_table_round_trips_exactly_through_csv(demo, demo_read_back):
    again = demo_read_back
    _assert_same(again, demo)
    np.testing.assert_array_equal(again.analytics.krd, demo.analytics.krd)
    assert again.total_assets == demo.total_assets


@pytest.mark.parametrize("suffix", [".parquet", ".json"])
def test_parquet_and_json_directories_load_to_the_same_portfolio(tmp_path, demo, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    for name in TABLES:
        frame = getattr(demo, name).reset_index(drop=True)
        frame = frame.map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
        path = tmp_path / f"{name}{suffix}"
        if suffix == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            path.write_text(frame.to_json(orient="records", double_precision=15))
    for meta in ("valuation.json", "mandate.json"):
        shutil.copy(write_tables(demo, tmp_path / "csv") / meta, tmp_path / meta)
    again = load(tmp_path)
    assert again.valuation_date == demo.valuation_date
    pd.testing.assert_frame_equal(
        again.holdings.reset_index(drop=True), demo.holdings.reset_index(drop=True)
    )
    np.testing.assert_allclose(again.analytics.dirty_price, demo.analytics.dirty_price, rtol=1e-12)
    assert again.total_assets == pytest.approx(demo.total_assets, rel=1e-12)


def test_a_directory_may_mix_formats(tmp_path, demo_dir, demo):
    target = _copy(demo_dir, tmp_path)
    records = pd.read_csv(target / "managers.csv").to_dict(orient="records")
    (target / "managers.json").write_text(json.dumps(records))
    (target / "managers.csv").unlink()
    assert list(load(target).managers["manager_id"]) == list(demo.managers["manager_id"])


def test_in_memory_frames_and_records(demo):
    tables = {name: getattr(demo, name).reset_index(drop=True) for name in TABLES}
    tables["managers"] = tables["managers"].to_dict(orient="records")
    again = from_tables(tables, demo.valuation_date.isoformat(), {"turnover": 0.08})
    assert again.mandate.turnover == 0.08
    assert again.mandate.max_allocation == 0.20
    pd.testing.assert_frame_equal(again.managers, demo.managers)


def test_in_memory_problems_use_table_names(demo):
    tables = {
        name: getattr(demo, name).reset_index(drop=True).copy()
        for name in (*REQUIRED, "curve_quotes", "fx_spot")
    }
    tables["holdings"].loc[4, "par"] = -1.0
    tables["securities"].loc[2, "rating"] = "AAA+"
    with pytest.raises(InputError) as info:
        from_tables(tables, demo.valuation_date, {"max_shfit": 0.1})
    text = str(info.value)
    assert "holdings, row 4, column par: -1.0 must be > 0" in text
    assert "securities, row 2, column rating: 'AAA+' is not a rating" in text
    assert "mandate.json, column max_shfit: Extra inputs are not permitted" in text
    assert len(info.value.problems) == 3


def test_in_memory_unknown_and_missing_tables(demo):
    with pytest.raises(InputError) as info:
        from_tables({"holding": demo.holdings, "securities": demo.securities}, "2026-09-30")
    text = str(info.value)
    assert "holding: unknown table" in text
    for name in ("holdings", "managers", "liabilities", "curve_quotes"):
        assert f"{name}: required table is missing" in text


# One cell or column broken at a time; the expected text names file, row and column.
CASES = [
    pytest.param(
        "securities",
        lambda f: f.pop("coupon"),
        "securities.csv, column coupon: required column is missing",
        id="missing-column",
    ),
    pytest.param(
        "managers",
        lambda f: f.loc.__setitem__((3, "manager_id"), "M02"),
        "managers.csv, row 5, column manager_id: duplicate key (manager_id='M02')",
        id="duplicate-manager",
    ),
    pytest.param(
        "holdings",
        lambda f: f.loc.__setitem__((6, "security_id"), f.loc[5, "security_id"]),
        "holdings.csv, row 8, column manager_id: duplicate key",
        id="duplicate-holding",
    ),
    pytest.param(
        "holdings",
        lambda f: f.loc.__setitem__((2, "par"), "1,000,000"),
        "holdings.csv, row 4, column par: '1,000,000' is not a number",
        id="par-not-a-number",
    ),
    pytest.param(
        "holdings",
        lambda f: f.loc.__setitem__((2, "par"), ""),
        "holdings.csv, row 4, column par: value is missing",
        id="par-missing",
    ),
    pytest.param(
        "liabilities",
        lambda f: f.loc.__setitem__((4, "date"), "03/30/2031"),
        "liabilities.csv, row 6, column date: '03/30/2031' is not a date in YYYY-MM-DD format",
        id="liability-date-format",
    ),
    pytest.param(
        "liabilities",
        lambda f: f.loc.__setitem__((0, "date"), "2020-01-31"),
        "liabilities.csv, row 2, column date: 2020-01-31 is on or before the valuation date",
        id="liability-in-the-past",
    ),
    pytest.param(
        "securities",
        lambda f: f.loc.__setitem__((11, "rating"), "D"),
        "securities.csv, row 13, column rating: 'D' (in default) is not a place on the rating",
        id="rating-off-scale",
    ),
    pytest.param(
        "securities",
        lambda f: f.loc.__setitem__((12, "frequency"), "3"),
        "securities.csv, row 14, column frequency: 3 is not a coupon frequency",
        id="frequency",
    ),
    pytest.param(
        "securities",
        lambda f: f.loc.__setitem__((13, "liquidity_tier"), "tier9"),
        "securities.csv, row 15, column liquidity_tier: 'tier9' is not a known liquidity tier",
        id="liquidity-tier",
    ),
    pytest.param(
        "securities",
        lambda f: f.loc.__setitem__((14, "maturity"), "2026-09-30"),
        "securities.csv, row 16, column maturity: 2026-09-30 is on or before the valuation date",
        id="matured-bond",
    ),
    pytest.param(
        "managers",
        lambda f: f.loc.__setitem__((1, "current_allocation"), "1.5"),
        "managers.csv, row 3, column current_allocation: 1.5 must be <= 1",
        id="allocation-above-one",
    ),
    pytest.param(
        "manager_returns",
        lambda f: f.loc.__setitem__((9, "manager_id"), "M77"),
        "manager_returns.csv, row 11, column manager_id: unknown manager id 'M77'",
        id="returns-unknown-manager",
    ),
    pytest.param(
        "manager_returns",
        lambda f: f[f["manager_id"] != "M25"],
        "manager_returns.csv, column manager_id: no returns for manager(s) M25",
        id="returns-missing-manager",
    ),
    pytest.param(
        "curve_quotes",
        lambda f: f.loc.__setitem__((4, "rate"), "3.52"),
        "curve_quotes.csv, row 6, column rate: 3.52 looks like a percentage",
        id="quote-in-percent",
    ),
    pytest.param(
        "call_schedule",
        lambda f: f.loc.__setitem__((3, "security_id"), "NOPE1"),
        "call_schedule.csv, row 5, column security_id: 'NOPE1' has no row in the security master",
        id="call-unknown-bond",
    ),
    pytest.param(
        "call_schedule",
        lambda f: f.loc.__setitem__((0, "date"), "2099-01-15"),
        "call_schedule.csv, row 2, column date: 2099-01-15 is on or after",
        id="call-after-maturity",
    ),
    pytest.param(
        "call_schedule",
        lambda f: f.loc.__setitem__((1, "kind"), "redeem"),
        "call_schedule.csv, row 3, column kind",
        id="call-kind",
    ),
    pytest.param(
        "call_schedule",
        lambda f: f.loc.__setitem__((2, "make_whole"), "maybe"),
        "call_schedule.csv, row 4, column make_whole: 'maybe' is not true or false",
        id="call-make-whole",
    ),
    pytest.param(
        "liability_products",
        lambda f: f.loc.__setitem__((1, "credited_rate"), ""),
        "liability_products.csv, row 3, column credited_rate: a fixed annuity needs a value",
        id="annuity-missing-rate",
    ),
    pytest.param(
        "liability_products",
        lambda f: f.loc.__setitem__((4, "next_anniversary"), "2028-03-30"),
        "liability_products.csv, row 6, column next_anniversary: 2028-03-30 is not within a year",
        id="annuity-anniversary",
    ),
    pytest.param(
        "liability_products",
        lambda f: f.loc.__setitem__((0, "credited_rate"), "3.75"),
        "liability_products.csv, row 2, column credited_rate: 3.75 looks like a percentage",
        id="annuity-rate-in-percent",
    ),
    pytest.param(
        "mortality",
        lambda f: f.drop(index=5),
        "mortality.csv, column age: ages must be consecutive",
        id="mortality-gap",
    ),
    pytest.param(
        "mortality",
        lambda f: f.loc.__setitem__((3, "qx"), "1.5"),
        "mortality.csv, row 5, column qx: 1.5 must be <= 1",
        id="mortality-above-one",
    ),
    pytest.param(
        "market_history",
        lambda f: f.loc.__setitem__((20, "month"), "2024/05/31"),
        "market_history.csv, row 22, column month: '2024/05/31' is not a date",
        id="history-date-format",
    ),
]


@pytest.mark.parametrize(("table", "edit", "expected"), CASES)
def test_each_bad_input_is_named(tmp_path, demo_dir, table, edit, expected):
    target = _edit(_copy(demo_dir, tmp_path), table, edit)
    problems = [str(p) for p in validate(target)]
    assert any(expected in p for p in problems), problems
    with pytest.raises(InputError) as info:
        load(target)
    assert any(expected in str(p) for p in info.value.problems)


def test_problems_in_several_files_are_all_listed(tmp_path, demo_dir):
    target = _copy(demo_dir, tmp_path)
    _edit(target, "holdings", lambda f: f.loc.__setitem__((1, "par"), "-3"))
    _edit(target, "securities", lambda f: f.loc.__setitem__((2, "rating"), "Aa4"))
    _edit(target, "liabilities", lambda f: f.loc.__setitem__((3, "amount"), "n/a"))
    found = {(p.file, p.row, p.column) for p in validate(target)}
    assert found == {
        ("holdings.csv", 3, "par"),
        ("securities.csv", 4, "rating"),
        ("liabilities.csv", 5, "amount"),
    }
    with pytest.raises(InputError, match=r"^3 problems in the inputs"):
        load(target)


def test_bad_valuation_date_and_mandate_values(tmp_path, demo_dir):
    target = _copy(demo_dir, tmp_path)
    (target / "valuation.json").write_text('{"valuation_date": "30.09.2026"}')
    (target / "mandate.json").write_text('{"max_allocation": 1.5, "turnover": -0.1}')
    problems = [str(p) for p in validate(target)]
    assert any(
        p.startswith("valuation.json, column valuation_date: '30.09.2026' is not a date")
        for p in problems
    )
    assert any(p.startswith("mandate.json, column max_allocation:") for p in problems)
    assert any(p.startswith("mandate.json, column turnover:") for p in problems)


def test_unreadable_files_are_problems_not_crashes(tmp_path, demo_dir):
    target = _copy(demo_dir, tmp_path)
    (target / "spreads.csv").unlink()
    (target / "spreads.json").write_text('{"rating": "AAA"}')
    (target / "holdings.csv").unlink()
    (target / "holdings.parquet").write_bytes(b"not a parquet file")
    problems = [str(p) for p in validate(target)]
    assert "spreads.json: expected a JSON list of records" in problems
    assert any(p.startswith("holdings.parquet: cannot be read") for p in problems)


def test_not_a_directory(tmp_path):
    missing = tmp_path / "nowhere"
    assert [str(p) for p in validate(missing)] == [f"{missing}: is not a directory"]
    with pytest.raises(InputError, match="is not a directory"):
        load(missing)


def test_day_count_spellings_load_as_their_canonical_names(tmp_path, demo_dir):
    target = _copy(demo_dir, tmp_path)
    spellings = ["a/360", "Actual/Actual (ISDA)", "30E/360", "ACT/365 Fixed", "30/360 Bond Basis"]
    canonical = ["ACT/360", "ACT/ACT ISDA", "30E/360", "ACT/365F", "30/360"]

    def spell(frame):
        frame.loc[: len(spellings) - 1, "day_count"] = spellings

    loaded = load(_edit(target, "securities", spell))
    assert loaded.securities["day_count"].iloc[: len(spellings)].tolist() == canonical
    assert set(loaded.book.frame["day_count"]) <= set(DAY_COUNTS)


def test_annuity_blocks_need_their_mortality(tmp_path, demo_dir):
    target = _copy(demo_dir, tmp_path)
    (target / "mortality.csv").unlink()
    problems = [str(p) for p in validate(target)]
    assert any(
        "liability_products.csv: annuity blocks need a mortality table" in p for p in problems
    )
