"""Today's curve as a table of points, its settings, market-history forms and key tenors."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from fialloc.analytics.context import DeskContext
from fialloc.data import InputError, load, validate, write_tables
from fialloc.data.mandate_files import parse_mandate


@pytest.fixture(scope="module")
def demo(demo_portfolio):
    return demo_portfolio


def _drop_base_quotes(target) -> None:
    """Keep only the quotes of the other curves (the global sleeve's): a curve table gives USD's."""
    quotes = pd.read_csv(target / "curve_quotes.csv", dtype=str, keep_default_na=False)
    usd = (quotes["currency"] == "USD") & (quotes["curve"] == "government")
    quotes[~usd].to_csv(target / "curve_quotes.csv", index=False)


def _as_points(demo, form: str) -> pd.DataFrame:
    """The demo's bootstrapped curve written out at its pillars, in `form`."""
    curve = demo.curve
    t, log_dfs = curve.pillar_times, curve.log_dfs
    value = {
        "zero_continuous": -log_dfs / t,
        "zero_annual": np.expm1(-log_dfs / t),
        "zero_semiannual": 2.0 * np.expm1(-log_dfs / (2.0 * t)),
        "discount_factor": np.exp(log_dfs),
    }[form]
    return pd.DataFrame(
        {
            "maturity": [q.maturity.isoformat() for q in curve.quotes],
            # repr: the shortest text that reads back to the same float
            "value": [repr(float(v)) for v in value],
            "form": form,
        }
    )


@pytest.mark.parametrize(
    "form", ["zero_continuous", "zero_annual", "zero_semiannual", "discount_factor"]
)
def test_demo_curve_as_points_prices_like_the_bootstrap(tmp_path, demo, demo_dir, form):
    # The demo bootstraps log-linear discount factors: the same points with the same
    # interpolation are the same curve, so every price agrees to 1e-10 per 100.
    target = tmp_path / "inputs"
    shutil.copytree(demo_dir, target)
    _drop_base_quotes(target)
    _as_points(demo, form).to_csv(target / "curve.csv", index=False)
    again = load(target)
    assert set(again.curve_quotes["currency"]) == {"USD", "EUR", "GBP", "JPY", "CAD"}
    assert again.curve.interpolation == "log_linear"
    np.testing.assert_allclose(again.curve.pillar_times, demo.curve.pillar_times, rtol=0, atol=0)
    np.testing.assert_allclose(again.curve.log_dfs, demo.curve.log_dfs, rtol=0, atol=1e-14)
    gap = np.abs(again.analytics.dirty_price - demo.analytics.dirty_price).max()
    assert gap <= 1e-10, gap
    lia_now, lia_then = (DeskContext(p).liabilities.iloc[0]["market_value"] for p in (again, demo))
    assert lia_now == pytest.approx(lia_then, rel=1e-12)


def test_a_written_curve_table_loads_back(tmp_path, demo):
    points = _as_points(demo, "zero_annual").assign(interpolation="monotone_convex")
    quotes = demo.curve_quotes
    with_points = dataclasses.replace(
        demo,
        curve_quotes=quotes[(quotes["currency"] != "USD") | (quotes["curve"] != "government")],
        curve_points=points,
        interpolation="monotone_convex",
        extrapolation="flat_zero",
    )
    again = load(write_tables(with_points, tmp_path / "out"))
    assert (again.interpolation, again.extrapolation) == ("monotone_convex", "flat_zero")
    t = np.linspace(0.0, 60.0, 241)
    np.testing.assert_array_equal(again.curve.discount(t), with_points.curve.discount(t))


def _inputs(tmp_path, demo_dir, points=None, valuation=None):
    target = tmp_path / "inputs"
    shutil.copytree(demo_dir, target)
    if points is not None:
        _drop_base_quotes(target)
        points.to_csv(target / "curve.csv", index=False)
    if valuation is not None:
        (target / "valuation.json").write_text(json.dumps(valuation))
    return target


def _problems(target) -> list[str]:
    return [str(p) for p in validate(target)]


def test_curve_settings_come_from_the_table_or_valuation_json(tmp_path, demo, demo_dir):
    points = _as_points(demo, "zero_continuous").assign(interpolation="linear_zero")
    vd = demo.valuation_date.isoformat()
    target = _inputs(
        tmp_path, demo_dir, points, {"valuation_date": vd, "extrapolation": "flat_zero"}
    )
    again = load(target)
    assert (again.curve.interpolation, again.curve.extrapolation) == ("linear_zero", "flat_zero")
    # The quotes take the settings too.
    quotes = _inputs(
        tmp_path / "quotes",
        demo_dir,
        None,
        {"valuation_date": vd, "interpolation": "monotone_convex"},
    )
    assert load(quotes).curve.interpolation == "monotone_convex"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda p: p.assign(form=["zero_annual"] + ["zero_continuous"] * (len(p) - 1)),
            "curve.csv, column form: one curve has one form; the table mixes",
        ),
        (
            lambda p: p.assign(maturity=["", *list(p["maturity"][1:])]),
            "curve.csv, row 2, column tenor: give a tenor (10Y) or a maturity date",
        ),
        (
            lambda p: p.assign(form="zero_quarterly"),
            "curve.csv, row 2, column form: 'zero_quarterly' is not one of",
        ),
        (lambda p: p.iloc[::-1], "is not after row 2's; points must be sorted by maturity"),
        (
            lambda p: p.assign(value=["4.5", *list(p["value"][1:])]),
            "curve.csv: cannot build today's curve: row 2, column value: 4.5 looks like a "
            "percentage",
        ),
        (
            lambda p: p.assign(interpolation="cubic"),
            "curve.csv, row 2, column interpolation: 'cubic' is not one of log_linear",
        ),
    ],
)
def test_bad_curve_tables_are_reported(tmp_path, demo, demo_dir, edit, expected):
    points = edit(_as_points(demo, "zero_continuous"))
    problems = _problems(_inputs(tmp_path, demo_dir, points))
    assert any(expected in p for p in problems), problems


def test_valuation_json_settings_are_checked(tmp_path, demo, demo_dir):
    vd = demo.valuation_date.isoformat()
    points = _as_points(demo, "zero_continuous").assign(interpolation="linear_zero")
    problems = _problems(
        _inputs(
            tmp_path,
            demo_dir,
            points,
            {
                "valuation_date": vd,
                "interpolation": "log_linear",
                "extrapolate": "flat_zero",
                "extrapolation": "flat",
            },
        )
    )
    assert any("valuation.json, column extrapolate: unknown key" in p for p in problems)
    assert any("valuation.json, column extrapolation: 'flat' is not one of" in p for p in problems)
    assert any(
        "curve.csv, column interpolation: linear_zero here but log_linear in valuation.json" in p
        for p in problems
    )


def test_two_curves_or_none_are_refused(tmp_path, demo, demo_dir):
    target = _inputs(tmp_path, demo_dir)
    _as_points(demo, "zero_continuous").to_csv(target / "curve.csv", index=False)
    assert any("today's curve is given twice" in p for p in _problems(target))
    (target / "curve.csv").unlink()
    (target / "curve_quotes.csv").unlink()
    assert any(
        "curve_quotes.csv: required file is missing: today's curve as curve_quotes.csv or "
        "curve.csv" in p
        for p in _problems(target)
    )


@pytest.mark.parametrize("form", ["zero_annual", "zero_semiannual", "discount_factor"])
def test_market_history_in_other_forms_gives_the_same_zero_history(demo, form):
    history = demo.market_history.copy()
    zero = history["series"].str.fullmatch(r"zero_[0-9.]+y")  # the base currency's
    t = history.loc[zero, "series"].str.removeprefix("zero_").str.removesuffix("y").astype(float)
    z = history.loc[zero, "value"].astype(float)
    history.loc[zero, "value"] = {
        "zero_annual": np.expm1(z),
        "zero_semiannual": 2.0 * np.expm1(z / 2.0),
        "discount_factor": np.exp(-z * t),
    }[form]
    history["form"] = None
    history.loc[zero, "form"] = form
    again = dataclasses.replace(demo, market_history=history)
    pd.testing.assert_frame_equal(again.zero_history, demo.zero_history, rtol=1e-14, atol=1e-15)
    pd.testing.assert_frame_equal(again.spread_history, demo.spread_history)


def test_market_history_values_are_checked(tmp_path, demo_dir):
    target = _inputs(tmp_path, demo_dir)
    frame = pd.read_csv(target / "market_history.csv", dtype=str, keep_default_na=False)
    frame["form"] = ""
    spread_row = int(np.flatnonzero(frame["series"].str.startswith("spread_"))[0])
    frame.loc[0, "form"] = "discount_factor"
    frame.loc[0, "value"] = "-0.5"
    frame.loc[1, "value"] = "4.2"
    frame.loc[spread_row, "form"] = "discount_factor"
    frame.to_csv(target / "market_history.csv", index=False)
    problems = _problems(target)
    # Rows are the CSV file's line numbers: data row i is line i + 2.
    assert any("row 2, column value: -0.5 is not a positive discount factor" in p for p in problems)
    assert any("row 3, column value: 4.2 looks like a percentage" in p for p in problems)
    assert any(
        f"row {spread_row + 2}, column form: only zero-rate series" in p for p in problems
    ), problems


def test_key_tenors_are_a_setting_every_key_rate_follows(demo):
    tenors = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0)
    p = dataclasses.replace(demo, mandate=demo.mandate.model_copy(update={"key_tenors": tenors}))
    ctx = DeskContext(p)
    assert p.analytics.key_tenors == tenors
    assert ctx.key_columns[0] == "krd_0.25y"
    assert len(ctx.key_columns) == len(tenors)
    assert list(ctx.liabilities.columns[ctx.liabilities.columns.str.startswith("krd_")]) == (
        ctx.key_columns
    )
    # Tents add up to one everywhere, so the key-rate durations of fixed flows add up to the
    # effective duration (up to the bump's second-order terms) with the extra tenor as without
    # it. MBS pools' option-adjusted ones add up to within the option's third-order terms;
    # callables' lattice ones to within the exercise boundary's node-by-node moves (0.08 years
    # on the demo), and to the same sum with the extra tenor as without it.
    a, before = p.analytics, demo.analytics
    pool = a.ids.isin(p.mbs_pools["security_id"])
    callable_ = a.ids.isin(p.call_schedule["security_id"])
    assert pool.sum() == 45
    assert callable_.sum() == 16
    fixed = ~pool & ~callable_
    np.testing.assert_allclose(a.krd[fixed].sum(axis=1), a.effective_duration[fixed], rtol=1e-5)
    np.testing.assert_allclose(a.krd[pool].sum(axis=1), a.effective_duration[pool], atol=0.05)
    np.testing.assert_allclose(
        a.krd[callable_].sum(axis=1), a.effective_duration[callable_], atol=0.1
    )
    np.testing.assert_allclose(
        a.krd[callable_].sum(axis=1), before.krd[callable_].sum(axis=1), rtol=1e-7
    )
    np.testing.assert_allclose(a.krd[fixed].sum(axis=1), before.krd[fixed].sum(axis=1), rtol=1e-9)
    # The 0.25y tenor takes its share from the 0.5y one only.
    np.testing.assert_allclose(a.krd[fixed, 2:], before.krd[fixed, 1:], atol=1e-12)
    np.testing.assert_allclose(a.krd[fixed, 0] + a.krd[fixed, 1], before.krd[fixed, 0], rtol=1e-9)


@pytest.mark.parametrize(
    ("tenors", "fragment"),
    [
        ((), "give at least one tenor"),
        ((1.0, 0.5), "must be strictly increasing"),
        ((0.0, 1.0), "0.0 is not a tenor in (0, 60] years"),
        ((1.0, math.inf), "inf is not a tenor"),
    ],
)
def test_bad_key_tenors_are_refused(tenors, fragment):
    with pytest.raises(InputError, match=re.escape(fragment)):
        parse_mandate({"key_tenors": list(tenors)}, source="mandate.json")


def test_valuation_json_key_tenors_reach_the_mandate(tmp_path, demo, demo_dir):
    vd = demo.valuation_date.isoformat()
    target = _inputs(tmp_path, demo_dir, None, {"valuation_date": vd, "key_tenors": [0.25, 1, 5]})
    mandate = json.loads((target / "mandate.json").read_text())
    assert mandate.pop("key_tenors") == list(demo.mandate.key_tenors)  # the demo writes them
    (target / "mandate.json").write_text(json.dumps(mandate))
    # 0.25y is not in the history: each month's curve through the quoted tenors gives it.
    assert load(target).mandate.key_tenors == (0.25, 1.0, 5.0)
    (target / "mandate.json").write_text(json.dumps({**mandate, "key_tenors": [1, 5]}))
    assert any(
        "mandate.json, column key_tenors: key_tenors differ from valuation.json's" in p
        for p in _problems(target)
    )
