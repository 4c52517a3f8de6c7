"""Holdings, benchmark and spread histories: validation names the table, row, column and fix."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc.data import DEMO_VALUATION, InputError, from_tables, load, write_tables
from fialloc.data.schema import month_sequence_problem


@pytest.fixture(scope="module")
def tables(demo_tables_and_truth):
    return demo_tables_and_truth[0]


def _problems(tables, name, edit):
    edited = dict(tables)
    frame = tables[name].copy()
    out = edit(frame)
    edited[name] = frame if out is None else out
    with pytest.raises(InputError) as info:
        from_tables(edited, DEMO_VALUATION)
    return str(info.value)


def test_month_sequences():
    ends = [dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)]
    thirtieths = [dt.date(2024, 1, 30), dt.date(2024, 2, 29), dt.date(2024, 3, 30)]
    assert month_sequence_problem(ends) is None
    assert month_sequence_problem(thirtieths) is None
    gap = month_sequence_problem([ends[0], ends[2]])
    assert gap is not None
    assert "a gap of 1 month between 2024-01-31 and 2024-03-31" in gap
    two = month_sequence_problem([dt.date(2024, 1, 15), ends[0]])
    assert two is not None
    assert "two dates in" in two
    odd = month_sequence_problem([ends[0], dt.date(2024, 2, 15), ends[2]])
    assert odd is not None
    assert "2024-02-15 is neither a month-end" in odd


def test_the_demo_histories_are_valid_and_complete(tables):
    p = from_tables(tables, DEMO_VALUATION)
    assert p.holdings_history is not None
    assert p.benchmark_holdings is not None
    assert p.security_spreads is not None
    months = sorted(set(p.holdings_history["month"]))
    assert len(months) == 60
    assert months[-1] == DEMO_VALUATION
    sums = p.benchmark_holdings.groupby(["benchmark_id", "month"])["weight"].sum()
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)
    assert p.holdings_history.groupby("manager_id")["month"].nunique().eq(60).all()
    # Today's spreads end the spread history. The MBS pools' history is their OAS (the spread
    # the demo drew for them); today their z-spread on scheduled flows comes from the vendor
    # price and is a different measure.
    assert p.mbs_pools is not None
    assert p.mbs_valuation is not None
    last = p.security_spreads[p.security_spreads["month"] == DEMO_VALUATION]
    ended = last.set_index("security_id")["spread"].reindex(p.securities.index)
    pools = p.securities.index.isin(p.mbs_pools["security_id"])
    np.testing.assert_allclose(ended[~pools], p.z_spreads[~pools])
    oas = pd.Series(p.mbs_valuation.oas, index=p.mbs_valuation.ids)
    np.testing.assert_allclose(ended[pools], oas.reindex(ended.index[pools]), atol=1e-9)


def test_histories_round_trip_through_files(tmp_path, tables):
    p = from_tables(tables, DEMO_VALUATION)
    again = load(write_tables(p, tmp_path / "inputs"))
    for name in ("holdings_history", "benchmark_holdings", "security_spreads"):
        pd.testing.assert_frame_equal(
            getattr(again, name).reset_index(drop=True),
            getattr(p, name).reset_index(drop=True),
            check_exact=True,
        )


def test_a_gap_in_a_managers_holdings_history(tables):
    month = sorted(set(tables["holdings_history"]["month"]))[20]

    def drop(f):
        return f[~((f["manager_id"] == "M03") & (f["month"] == month))]

    text = _problems(tables, "holdings_history", drop)
    assert "holdings_history, column month: manager_id M03: a gap of 1 month" in text


def test_a_month_that_is_not_a_month_end(tables):
    def move(f):
        first = f.index[f["manager_id"] == "M04"][0]
        f.loc[f["manager_id"].eq("M04") & f["month"].eq(f.loc[first, "month"]), "month"] = dt.date(
            2021, 10, 15
        )

    text = _problems(tables, "holdings_history", move)
    assert "manager_id M04: 2021-10-15 is neither a month-end" in text


def test_a_benchmark_missing_for_a_manager(tables):
    text = _problems(tables, "benchmark_holdings", lambda f: f[f["benchmark_id"] != "B07"])
    assert (
        "benchmark_holdings, column benchmark_id: no holdings of benchmark B07 (manager M07's) "
        "at 2021-10-30" in text
    )


def test_benchmark_weights_in_percent_or_not_summing_to_one(tables):
    def percent(f):
        f["weight"] = f["weight"] * 100.0

    text = _problems(tables, "benchmark_holdings", percent)
    assert "benchmark_holdings, row 0, column weight:" in text
    assert "looks like a percentage; weights are decimals that sum to 1" in text

    def halve(f):
        f.loc[f["benchmark_id"] == "B02", "weight"] *= 0.5

    text = _problems(tables, "benchmark_holdings", halve)
    assert "benchmark B02 at 2021-10-30: weights sum to 0.500000; expected 1" in text


def test_unknown_ids_negative_par_nan_and_missing_columns(tables):
    def unknown(f):
        f.loc[3, "manager_id"] = "M99"
        f.loc[5, "security_id"] = "NOPE"

    text = _problems(tables, "holdings_history", unknown)
    assert "holdings_history, row 3, column manager_id: unknown manager id 'M99'" in text
    assert "holdings_history, row 5, column security_id: unknown security id 'NOPE'" in text

    def negative(f):
        f.loc[7, "par"] = -5.0
        f.loc[8, "par"] = np.nan

    text = _problems(tables, "holdings_history", negative)
    assert "holdings_history, row 7, column par: -5.0 must be > 0" in text
    assert "holdings_history, row 8, column par: value is missing" in text
    text = _problems(tables, "benchmark_holdings", lambda f: f.drop(columns="weight"))
    assert "benchmark_holdings, column weight: required column is missing" in text


def test_security_spreads_in_percent_or_missing(tables):
    def percent(f):
        f.loc[4, "spread"] = 1.25

    text = _problems(tables, "security_spreads", percent)
    assert "security_spreads, row 4, column spread: 1.25 looks like a percentage" in text

    def drop(f):
        return f[f["security_id"] != "TRE0000"]

    text = _problems(tables, "security_spreads", drop)
    assert "no spread or price for security 'TRE0000' at 2021-10-30, which ends a month" in text


def test_histories_need_each_other_and_the_market_history(tables):
    edited = {k: v for k, v in tables.items() if k != "benchmark_holdings"}
    with pytest.raises(InputError, match="benchmark_holdings: required with holdings_history"):
        from_tables(edited, DEMO_VALUATION)

    def early(f):
        first = min(f["month"])
        return f[f["month"] != first]

    text = _problems(tables, "market_history", early)
    assert "no zero rates in market_history for 2021-10-30" in text
    later = dict(tables)
    with pytest.raises(InputError, match="is after the valuation date 2026-08-30"):
        from_tables(later, dt.date(2026, 8, 30))


def test_vectorized_coercion_matches_the_cell_by_cell_rules():
    from fialloc.data.schema import Column, _coerce, _coerce_fast, _convert

    cases = [
        (Column("x", "float", decimal=True), ["0.0125", " 0.5", "1e-3", "-0.25"]),
        (Column("x", "float", minimum=0.0, exclusive_minimum=True), [1.5, 2.0, 1e9]),
        (Column("x", "str"), [" M01", "M02 ", "M03"]),
        (Column("x", "str", choices=("a", "b")), ["a", " b"]),
        (Column("x", "date"), ["2024-01-31", " 2024-02-29"]),
        (Column("x", "date"), [dt.date(2024, 1, 31), dt.date(2024, 2, 29)]),
    ]
    for col, values in cases:
        series = pd.Series(values, dtype=object)
        fast = _coerce_fast(series, col)
        assert fast is not None
        assert fast.tolist() == [_convert(v, col) for v in values]
    # Anything the fast path cannot vouch for goes to the loop, which names the cell.
    bad = [
        (Column("x", "float", decimal=True), ["0.01", "4.5"], "looks like a percentage"),
        (Column("x", "float", minimum=0.0, exclusive_minimum=True), [1.0, -2.0], "must be > 0"),
        (Column("x", "str", choices=("a", "b")), ["a", "c"], "'c' is not one of a, b"),
        (Column("x", "date"), ["2024-01-31", "31/01/2024"], "is not a date"),
        (Column("x", "str"), ["M01", ""], "value is missing"),
    ]
    for col, values, message in bad:
        series = pd.Series(values, dtype=object)
        assert _coerce_fast(series, col) is None
        _, problems = _coerce(series, col, "t")
        assert len(problems) == 1
        assert problems[0].row == 1
        assert message in problems[0].message
