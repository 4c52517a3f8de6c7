"""`validate` sees what `run` sees: corrupted books are either refused or run, never crash.

Hypothesis corrupts the written demo (with its histories) and small ``data.synthetic`` books
at random, one to three faults at a time: columns dropped or renamed, cells emptied, negated,
made huge, of the wrong type or impossible dates, rows duplicated, dropped or shuffled, ids
unknown, decimals given in percent, tenors unreadable. Then either ``validate`` reports a
problem, or ``load`` and a quick ``run`` complete. The one refusal ``run`` may still give is
the optimizer's "the mandate cannot be met; relax ..." (a statement about the mandate, with
the limits to relax, not a fault in the files). Any other exception fails the test.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from fialloc import data, pipeline

FAULTS = (
    "drop_column",
    "rename_column",
    "empty_cell",
    "negate",
    "huge",
    "wrong_type",
    "bad_date",
    "duplicate_row",
    "drop_rows",
    "shuffle",
    "unknown_id",
    "percent",
    "bad_tenor",
)
HUGE = ("1e308", "1e20", "inf", "-1e308", "9" * 400)
BAD_DATES = ("2030-02-30", "31/12/2030", "2030-13-01", "0000-01-01", "9999-12-31", "soon")
BAD_TENORS = ("1Q", "9000Y", "3000000D", "0M", "-5Y", "Y")


def _written(book: data.Portfolio, directory: Path) -> dict[str, pd.DataFrame]:
    data.write_tables(book, directory)
    return {
        path.stem: pd.read_csv(path, dtype=str, keep_default_na=False)
        for path in directory.glob("*.csv")
    }


@pytest.fixture(scope="module")
def books(tmp_path_factory, demo_portfolio):
    root = tmp_path_factory.mktemp("books")
    out = {}
    for name, book in (("demo", demo_portfolio), ("synthetic", data.synthetic(8, 300, seed=3))):
        out[name] = (root / name, _written(book, root / name))
    return out


def _numeric(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if pd.to_numeric(frame[c], errors="coerce").notna().all()]


def _corrupt(tables: dict[str, pd.DataFrame], fault: str, draw) -> str:
    """Apply `fault` to one table in place; return what was done (for the failure report)."""
    name = draw(st.sampled_from(sorted(tables)))
    frame = tables[name]
    if frame.empty:
        return f"{name}: empty, left"
    row = draw(st.integers(0, len(frame) - 1))
    column = draw(st.sampled_from(list(frame.columns)))
    numeric = _numeric(frame) or [column]
    if fault == "drop_column":
        tables[name] = frame.drop(columns=column)
    elif fault == "rename_column":
        tables[name] = frame.rename(columns={column: column.upper() + "_X"})
    elif fault == "empty_cell":
        frame.loc[row, column] = draw(st.sampled_from(["", "NaN", "nan", " "]))
    elif fault == "negate":
        column = draw(st.sampled_from(numeric))
        frame[column] = ["-" + v.lstrip("-") for v in frame[column]]
    elif fault == "huge":
        frame.loc[row, draw(st.sampled_from(numeric))] = draw(st.sampled_from(HUGE))
    elif fault == "wrong_type":
        frame.loc[row, column] = draw(st.sampled_from(["abc", "1,000", "true", "{}", "1e"]))
    elif fault == "bad_date":
        dates = [c for c in frame.columns if c in ("month", "date", "maturity")] or [column]
        frame.loc[row, draw(st.sampled_from(dates))] = draw(st.sampled_from(BAD_DATES))
    elif fault == "duplicate_row":
        tables[name] = pd.concat([frame, frame.iloc[[row]]], ignore_index=True)
    elif fault == "drop_rows":
        keep = draw(st.integers(0, len(frame) - 1))
        tables[name] = frame.iloc[:keep].reset_index(drop=True)
    elif fault == "shuffle":
        seed = draw(st.integers(0, 2**16))
        tables[name] = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    elif fault == "unknown_id":
        ids = [c for c in frame.columns if c.endswith("_id")] or [column]
        frame.loc[row, draw(st.sampled_from(ids))] = "ZZ99"
    elif fault == "percent":
        column = draw(st.sampled_from(numeric))
        frame[column] = [repr(float(v) * 100) for v in frame[column]]
    else:  # bad_tenor
        quotes = tables["curve_quotes"]
        quotes.loc[draw(st.integers(0, len(quotes) - 1)), "tenor"] = draw(
            st.sampled_from(BAD_TENORS)
        )
        return f"curve_quotes: {fault}"
    return f"{name}: {fault} at row {row}, column {column}"


def _refused_or_run(directory: Path) -> str:
    problems = data.validate(directory)
    if problems:
        assert all(p.file and p.message for p in problems)
        return "refused"
    book = data.load(directory)
    try:
        pipeline.run(book, n_paths=20, horizons=2, phases=1, frontier_points=2)
    except ValueError as exc:
        if not str(exc).startswith("optimize: the mandate cannot be met"):
            raise
        return "infeasible mandate"
    return "ran"


@settings(
    max_examples=24,
    deadline=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # the note names the faults
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.sampled_from(["demo", "synthetic"]),
    st.lists(st.sampled_from(FAULTS), min_size=1, max_size=3),
    st.data(),
)
def test_corrupted_books_are_refused_or_run(books, base, faults, draw):
    source, written = books[base]
    tables = {name: frame.copy() for name, frame in written.items()}
    note(str([_corrupt(tables, fault, draw.draw) for fault in faults]))
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "book"
        shutil.copytree(source, target)
        for name, frame in tables.items():
            frame.to_csv(target / f"{name}.csv", index=False)
        event(_refused_or_run(target))  # raises on anything but the three outcomes


def test_the_uncorrupted_books_run(books):
    for source, _ in books.values():
        assert _refused_or_run(source) == "ran"
