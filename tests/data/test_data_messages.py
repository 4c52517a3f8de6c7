"""Messages a user reads: file lines, every problem of a file, real dates, capped lists, hints.

Each test breaks the written demo the way a user's file breaks and reads the message; the
line-number test checks, on random rows, that the named line of the file holds the value.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from fialloc import data
from fialloc.cli import main
from fialloc.data import validate
from fialloc.data.schema import PROBLEM_LIMIT


@pytest.fixture
def book(tmp_path, demo_dir):
    target = tmp_path / "book"
    shutil.copytree(demo_dir, target)
    return target


def _edit(book, table, edit):
    path = book / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    edited = edit(frame)
    (frame if edited is None else edited).to_csv(path, index=False)


@pytest.mark.parametrize("seed", range(6))
def test_the_named_row_is_the_line_of_the_file_holding_the_value(book, seed):
    rng = np.random.default_rng(seed)
    table = ("holdings", "securities", "liabilities")[seed % 3]
    column = {"holdings": "par", "securities": "coupon", "liabilities": "amount"}[table]
    n = len(pd.read_csv(book / f"{table}.csv"))
    rows = sorted(rng.choice(n, size=3, replace=False).tolist())
    marks = [f"bad{seed}x{k}" for k in range(3)]

    def edit(frame):
        for row, mark in zip(rows, marks, strict=True):
            frame.loc[row, column] = mark

    _edit(book, table, edit)
    lines = (book / f"{table}.csv").read_text().splitlines()
    found = [p for p in validate(book) if p.file == f"{table}.csv" and p.column == column]
    assert len(found) == 3
    for problem, mark in zip(found, marks, strict=True):
        assert problem.row is not None
        assert mark in lines[problem.row - 1]  # line numbers count from 1, header included
        assert f"row {problem.row}, column {column}: '{mark}' is not a number" in str(problem)


def test_a_missing_column_hides_no_other_problem(book):
    def edit(frame):
        frame.loc[3, "rating"] = "Baa7"
        frame.loc[5, "maturity"] = "2031-13-01"
        return frame.drop(columns="coupon")

    _edit(book, "securities", edit)
    found = {str(p) for p in validate(book) if p.file == "securities.csv"}
    assert "securities.csv, column coupon: required column is missing" in found
    assert any(p.startswith("securities.csv, row 5, column rating: 'Baa7'") for p in found)
    assert "securities.csv, row 7, column maturity: 2031-13-01 is not a real date" in found


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2030-02-30", "2030-02-30 is not a real date"),
        ("2031-04-31", "2031-04-31 is not a real date"),
        ("30/02/2030", "'30/02/2030' is not a date in YYYY-MM-DD format"),
    ],
)
def test_impossible_dates_and_other_formats_are_told_apart(book, value, message):
    _edit(book, "liabilities", lambda f: f.loc.__setitem__((2, "date"), value))
    assert any(message in str(p) for p in validate(book))


def test_problems_of_one_rule_are_capped_and_counted(book):
    _edit(book, "holdings", lambda f: f.assign(par="x"))
    n = len(pd.read_csv(book / "holdings.csv"))
    found = [p for p in validate(book) if p.file == "holdings.csv"]
    assert len(found) == PROBLEM_LIMIT + 1
    assert found[-1].message.startswith(f"... and {n - PROBLEM_LIMIT} more like this one")
    assert found[-1].row is None


def test_a_large_file_of_junk_rows_is_told_in_a_few_lines_per_rule(book):
    """A file of 60,000 junk rows (about 2 MB; 700,000 rows, 20 MB: see BENCHMARKS.md)."""
    path = book / "holdings.csv"
    good = len(pd.read_csv(path))
    junk = 60_000
    with path.open("a") as f:
        f.writelines(f"MX{i % 97},JUNK{i},abc{i},,,x\n" for i in range(junk))
    found = [p for p in validate(book) if p.file == "holdings.csv"]
    # Four rules (par and hedge ratio not numbers, unknown security and manager), each shown
    # for its first rows and counted.
    by_column = {c: [p for p in found if p.column == c] for c in {p.column for p in found}}
    assert set(by_column) == {"par", "hedge_ratio", "security_id", "manager_id"}
    for column, problems in by_column.items():
        assert len(problems) == PROBLEM_LIMIT + 1, column
        first_line = good + 2  # the header is line 1
        assert [p.row for p in problems[:PROBLEM_LIMIT]] == list(
            range(first_line, first_line + PROBLEM_LIMIT)
        )
        assert problems[-1].row is None
        assert problems[-1].message.startswith(f"... and {junk - PROBLEM_LIMIT} more like this")
    assert "'abc0' is not a number" in by_column["par"][0].message
    lines = path.read_text().splitlines()
    line = by_column["par"][3].row
    assert line is not None
    assert lines[line - 1].split(",")[2] == "abc3"


def test_a_table_of_repeated_rows_is_told_in_a_few_lines_without_a_message_per_row(
    demo_tables_and_truth,
):
    """200 MB of repeated holdings once took minutes building a message for each row."""
    from fialloc.data.schema import SCHEMAS

    holdings = demo_tables_and_truth[0]["holdings"]
    repeated = pd.concat([holdings] * 50, ignore_index=True)
    _, found = SCHEMAS["holdings"].validate(repeated, "holdings.csv")
    n = len(repeated) - len(holdings)
    assert len(found) == PROBLEM_LIMIT + 1
    assert [p.row for p in found[:PROBLEM_LIMIT]] == list(range(len(holdings), len(holdings) + 20))
    assert found[0].message.startswith("duplicate key (manager_id=")
    assert found[-1].message.startswith(f"... and {n - PROBLEM_LIMIT} more like this one")


def test_unknown_ids_in_a_long_holdings_table_are_each_found(book):
    def rename(frame):
        frame = pd.concat([frame] * 20, ignore_index=True)
        frame["security_id"] = frame["security_id"] + "-" + frame.index.astype(str)
        frame.loc[7, "manager_id"] = "M99"
        return frame

    _edit(book, "holdings", rename)
    found = [p for p in validate(book) if p.file == "holdings.csv"]
    unknown = [p for p in found if p.column == "manager_id"]
    assert [(p.row, p.message) for p in unknown] == [(9, "unknown manager id 'M99'")]
    missing = [p for p in found if p.column == "security_id"]
    assert len(missing) == PROBLEM_LIMIT + 1
    assert "has no row in the security master" in missing[0].message


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        (lambda a: -a, "is negative; liabilities are the payments the insurer owes"),
        (lambda a: a.where(a.index != 4, -a), "row 6, column amount: -"),
        (lambda a: a * 0, "every amount is zero; nothing is owed"),
    ],
)
def test_negative_or_zero_liabilities_are_refused(book, amounts, expected):
    def edit(frame):
        frame["amount"] = amounts(frame["amount"].astype(float))

    _edit(book, "liabilities", edit)
    found = [str(p) for p in validate(book)]
    assert found
    assert any(expected in p for p in found), found


def test_allocation_without_holdings_and_absurd_amounts(book):
    _edit(book, "holdings", lambda f: f[f["manager_id"] != "M07"])
    _edit(book, "liabilities", lambda f: f.loc.__setitem__((1, "amount"), "1e308"))
    found = [str(p) for p in validate(book)]
    assert any("manager 'M07' has an allocation of 0.0282 and no holdings" in p for p in found)
    assert "liabilities.csv, row 3, column amount: 1e+308 must be <= 1e+15" in found


def test_unknown_exit_manager_in_the_mandate_file(book):
    mandate = json.loads((book / "mandate.json").read_text())
    (book / "mandate.json").write_text(json.dumps({**mandate, "exit_managers": ["M99"]}))
    (found,) = validate(book)
    assert str(found).startswith("mandate.json, column exit_managers: unknown manager 'M99'")
    assert "M01, M02" in found.message


@pytest.mark.usefixtures("commands_share_the_demo")
def test_cli_refuses_unknown_exit_and_percentages(tmp_path, capsys):
    out = ["--out", str(tmp_path)]
    assert main(["run", "--exit", "M99", *out]) == 2
    err = capsys.readouterr().err
    assert "--exit, column exit_managers: unknown manager 'M99'; the managers are M01" in err
    assert main(["run", "--target-yield", "4.5", *out]) == 2
    err = capsys.readouterr().err
    assert "target_yield: 4.5 looks like a percentage; did you mean 0.045?" in err
    mandate = tmp_path / "mandate.yaml"
    mandate.write_text("exit_managers: [M03, Z1]\n")
    assert main(["run", "--mandate", str(mandate), *out]) == 2
    assert "mandate.yaml, column exit_managers: unknown manager 'Z1'" in capsys.readouterr().err
    assert not list(tmp_path.glob("*/results.json"))  # nothing ran


@pytest.mark.usefixtures("commands_share_the_demo")
def test_demo_write_refuses_a_non_empty_directory(tmp_path, capsys):
    target = tmp_path / "inputs"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    assert main(["demo", "--write", str(target)]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    assert main(["demo", "--write", str(target), "--force"]) == 0
    assert (target / "holdings.csv").exists()


def test_csvs_carry_the_shortest_digits_that_read_back_exactly(demo_dir):
    number = re.compile(r"^-?\d+\.\d+(e[-+]\d+)?$")
    for path in demo_dir.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in frame.columns:
            for cell in frame[column].head(500):
                if number.match(cell):
                    assert cell == repr(float(cell)), (path.name, column, cell)
    assert "0.045," in (demo_dir / "securities.csv").read_text()


def test_schema_doc_lists_allowed_values_and_the_json_files(demo_dir):
    doc = (demo_dir / "SCHEMA.md").read_text()
    rows: dict[str, str] = {}
    for line in doc.splitlines():
        if line.startswith("| "):  # a column may be in several tables: keep all its lines
            name = line.split("|")[1].strip()
            rows[name] = rows.get(name, "") + line
    assert "Baa2 = BBB" in rows["rating"]
    assert "NR, WR, D refused" in rows["rating"]
    assert "0, 1, 2, 4, 12" in rows["frequency"]
    for day_count in ("ACT/365F", "ACT/360", "ACT/ACT ISDA", "ACT/ACT ICMA", "30/360", "30E/360"):
        assert day_count in rows["day_count"]
    assert "deposit, swap, par_bond" in rows["kind"]
    assert "level1, level2a" in rows["liquidity_tier"]
    assert "treasury, treasury_strip" in rows["sector"]
    assert "## valuation.json (required)" in doc
    assert "## mandate.json (optional)" in doc
    for field in data.Mandate.model_fields:
        assert f"| {field} |" in doc


@pytest.mark.parametrize(
    ("table", "edit", "expected"),
    [
        (
            "market_history",
            lambda f: f[~f["series"].str.startswith("zero_")],
            "no zero rates in market_history for",
        ),
        (
            "market_history",
            lambda f: f[f["series"] != "spread_CCC"],
            "no series spread_CCC",
        ),
        (
            "market_history",
            lambda f: f[
                (f["series"] != "spread_BBB") | (f["month"] >= sorted(set(f["month"]))[-6])
            ],
            "6 months have every key-tenor zero rate and letter spread; run needs at least 12",
        ),
        (
            "manager_returns",
            lambda f: f[f["month"] != sorted(set(f["month"]))[7]],
            "manager_returns.csv, column month: manager_id M01: a gap of 1 month",
        ),
        (
            "manager_returns",
            lambda f: f[(f["manager_id"] != "M05") | (f["month"] != min(f["month"]))],
            "manager M05 has returns for other months than M01",
        ),
        (
            "manager_returns",
            lambda f: f.iloc[:0],
            "manager_returns.csv: required to run: each manager's monthly returns",
        ),
        (
            "liabilities",
            # The fixed flows in thousands (the demo's annuity blocks keep their units).
            lambda f: f.assign(amount=[repr(float(a) * 1000) for a in f["amount"]]),
            "the liabilities are worth 820 times",
        ),
    ],
)
def test_what_run_reads_is_checked_by_validate(book, table, edit, expected):
    # Each of these passed validate and stopped run with a traceback before.
    _edit(book, table, edit)
    found = [str(p) for p in validate(book)]
    assert any(expected in p for p in found), found


def test_allocations_within_the_tolerance_are_renormalized(book):
    def edit(frame):
        frame["current_allocation"] = [
            repr(float(w) * (1 + 5e-7)) for w in frame["current_allocation"]
        ]

    _edit(book, "managers", edit)
    assert validate(book) == []
    assert data.load(book).current_weights.sum() == pytest.approx(1.0, abs=1e-12)


def _set(row, column, value):
    return lambda f: f.loc.__setitem__((row, column), value)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda f: f.iloc[[0, 2, 1, *range(3, len(f))]], "quotes must be sorted by maturity"),
        (lambda f: pd.concat([f.iloc[:3], f.iloc[2:]]), "without duplicates"),
        (_set(3, "tenor", "1Q"), "cannot read tenor '1Q'"),
        (_set(12, "tenor", "9000Y"), "out of range"),
        (_set(12, "tenor", "3000000D"), "out of range"),
        (_set(5, "rate", "-0.99"), "cannot be repriced"),
    ],
)
def test_curves_run_cannot_build_are_refused_by_validate(book, edit, expected):
    # The cases: validate said valid, then run stopped (OverflowError for 9000Y).
    _edit(book, "curve_quotes", edit)
    found = [str(p) for p in validate(book)]
    assert any(p.startswith("curve_quotes.csv") and expected in p for p in found), found


def test_a_percentage_in_a_decimal_column_gets_the_decimal_it_meant(book):
    _edit(book, "securities", _set(4, "coupon", "5.25"))
    _edit(book, "curve_quotes", _set(2, "rate", "3.9"))
    found = [str(p) for p in validate(book)]
    assert any(
        p.startswith(
            "securities.csv, row 6, column coupon: 5.25 looks like a percentage; "
            "did you mean 0.0525?"
        )
        for p in found
    ), found
    assert any("did you mean 0.039?" in p for p in found)
