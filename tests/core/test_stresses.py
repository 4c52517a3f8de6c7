import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from fialloc import BondBook, CashflowStream, Curve
from fialloc.stresses import StressScenario, default_scenarios, load_scenarios, run_stresses

VD = dt.date(2026, 1, 15)


def _zero(sid, years, face=100.0):
    return {
        "security_id": sid,
        "coupon": 0.0,
        "maturity": dt.date(VD.year + years, VD.month, VD.day),
        "frequency": 0,
        "day_count": "ACT/365F",
        "face": face,
    }


@pytest.fixture
def setup():
    curve = Curve.from_zero_rates([1, 5, 10, 30], [0.03, 0.04, 0.045, 0.05], VD)
    book = BondBook.from_frame(
        pd.DataFrame([_zero("Z1", 1), _zero("Z6", 6), _zero("Z20", 20), _zero("T20", 20)]), VD
    )
    liab = CashflowStream([dt.date(2046, 1, 15)], [150.0], VD)
    return curve, book, liab


def test_default_set_has_every_family():
    scenarios = default_scenarios()
    groups = {s.group for s in scenarios}
    assert {"parallel", "curve", "credit", "liquidity", "combined", "ny7"} <= groups
    assert sum(s.group == "ny7" for s in scenarios) == 7
    assert len({s.name for s in scenarios}) == len(scenarios)


def test_parallel_shift_is_full_repricing(setup):
    curve, book, liab = setup
    res = run_stresses(
        book,
        liab,
        curve,
        load_scenarios([{"name": "base"}, {"name": "up", "rate_shifts_bp": {"1": 300}}]),
    )
    t = np.array([curve.time(d) for d in book.frame["maturity"]])
    ratio = res.asset_values.loc["up"].to_numpy() / res.asset_values.loc["base"].to_numpy()
    np.testing.assert_allclose(ratio, np.exp(-0.03 * t), rtol=1e-13)
    lt = curve.time(dt.date(2046, 1, 15))
    assert res.liability_values["up"] / res.liability_values["base"] == pytest.approx(
        np.exp(-0.03 * lt), rel=1e-13
    )
    # not a duration approximation: convexity shows
    approx = 1 - 0.03 * t
    assert np.all(ratio > approx)


def test_steepener_pivots_and_is_flat_beyond_its_ends(setup):
    curve, book, liab = setup
    scen = [s for s in default_scenarios() if s.name in ("base", "steepener_2s10s_100")]
    res = run_stresses(book, liab, curve, scen)
    t = np.array([curve.time(d) for d in book.frame["maturity"]])
    shift = np.interp(t, [2, 10], [-0.005, 0.005])
    ratio = res.asset_values.iloc[1].to_numpy() / res.asset_values.iloc[0].to_numpy()
    np.testing.assert_allclose(ratio, np.exp(-shift * t), rtol=1e-12)


def test_credit_widening_by_rating_exempts_governments(setup):
    curve, book, liab = setup
    scen = [s for s in default_scenarios() if s.name in ("base", "credit_widening_200")]
    res = run_stresses(
        book,
        liab,
        curve,
        scen,
        z_spread=0.01,
        ratings=["AAA", "BBB+", "CCC", "AA-"],
        sectors=["corporate", "corporate", "corporate", "treasury"],
    )
    t = np.array([curve.time(d) for d in book.frame["maturity"]])
    ratio = res.asset_values.iloc[1].to_numpy() / res.asset_values.iloc[0].to_numpy()
    np.testing.assert_allclose(ratio, np.exp(-np.array([0.0025, 0.01, 0.02, 0.0]) * t), rtol=1e-12)
    assert res.liability_values.iloc[1] == res.liability_values.iloc[0]


def test_combined_adds_components():
    combo = load_scenarios(
        [
            {"name": "base"},
            {"name": "up", "rate_shifts_bp": {"2": 100, "10": 50}},
            {"name": "flat", "rate_shifts_bp": {"5": 20}},
            {"name": "liq", "bid_ask_multiplier": 3},
            {"name": "both", "combine": ["up", "flat", "liq"]},
        ]
    )
    both = combo[-1]
    assert both.rate_shifts_bp == {2.0: 120.0, 5.0: pytest.approx(81.25 + 20.0), 10.0: 70.0}
    knots, values = both.rate_overlay()
    t = np.linspace(0, 40, 81)
    expected = np.interp(t, [2, 10], [0.01, 0.005]) + 0.002
    np.testing.assert_allclose(np.interp(t, knots, values), expected, atol=1e-15)
    assert both.bid_ask_multiplier == 3


def test_ny7_floor_and_path_values(setup):
    curve, book, liab = setup
    ny = {s.name: s for s in default_scenarios() if s.group == "ny7"}
    res = run_stresses(book, liab, curve, [ny["ny7_level"], ny["ny7_pop_down"]])
    t = np.array([curve.time(d) for d in book.frame["maturity"]])
    z5 = float(curve.zero_rate(5.0))
    ratio = res.asset_values.iloc[1].to_numpy() / res.asset_values.iloc[0].to_numpy()
    # -300 bp is floored where the 5y rate halves: 4% -> 2%, so -200 bp
    np.testing.assert_allclose(ratio, np.exp(0.5 * z5 * t), rtol=1e-12)
    level = res.path_values[res.path_values.scenario == "ny7_level"].set_index("horizon")
    assets0 = res.asset_values.iloc[0].sum()
    for h in (1.0, 5.0, 10.0):
        assert level.loc[h, "assets"] == pytest.approx(
            assets0 / float(curve.discount(h)), rel=1e-12
        )
    assert len(level) == 11


def test_liquidity_cost_and_by_manager(setup):
    curve, book, liab = setup
    scen = [s for s in default_scenarios() if s.name in ("base", "liquidity_crunch")]
    res = run_stresses(book, liab, curve, scen, bid_ask_bp=[2.0, 4.0, 10.0, 1.0])
    mv = res.asset_values.iloc[0].to_numpy()
    np.testing.assert_allclose(
        res.liquidity_cost.iloc[1].to_numpy(), mv * np.array([2, 4, 10, 1]) * 1e-4 / 2 * 3
    )
    up = load_scenarios([{"name": "base"}, {"name": "up", "rate_shifts_bp": {"1": 100}}])
    res = run_stresses(book, liab, curve, up)
    w = pd.DataFrame(
        [[1.0, 0.5, 0, 0], [0, 0.5, 1.0, 1.0]], index=["M1", "M2"], columns=book.security_ids
    )
    by = res.by_manager(w)
    change = (res.asset_values.iloc[1] - res.asset_values.iloc[0]).to_numpy()
    assert by.loc["M1", "up"] == pytest.approx(change[0] + 0.5 * change[1])
    assert by.loc[["M1", "M2"], "up"].sum() == pytest.approx(change.sum())
    summary = res.summary()
    assert summary.loc["up", "surplus_change"] == pytest.approx(
        summary.loc["up", "assets_change"] - summary.loc["up", "liabilities_change"]
    )


@pytest.mark.parametrize(
    ("records", "fragment"),
    [
        ([{"name": "x", "rate_shifts_bp": {"1": 30000}}], "rate_shifts_bp"),
        ([{"name": "x", "spread_shifts_bp": {"BAA": 10}}], "spread_shifts_bp"),
        ([{"name": "x", "colour": "red"}], "colour"),
        ([{"name": "x", "combine": ["nope"]}], "unknown scenario 'nope'"),
        ([{"name": "x"}, {"name": "x"}], "appears twice"),
        ([{"name": "x", "rate_shifts_bp": {"-2": 10}}], "rate_shifts_bp"),
        ([{"name": "x", "bid_ask_multiplier": -1}], "bid_ask_multiplier"),
    ],
)
def test_bad_definitions_name_the_scenario_and_field(records, fragment):
    with pytest.raises(ValueError, match="scenario") as info:
        load_scenarios(records)
    assert fragment in str(info.value)


def test_bad_json_file_names_file_and_line(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('[{"name": "a"},\n {"name": }]')
    with pytest.raises(ValueError, match=r"s\.json: not valid JSON \(line 2"):
        load_scenarios(path)
    path.write_text(json.dumps([{"name": "a", "path_bp": []}]))
    with pytest.raises(ValueError, match="path_bp"):
        load_scenarios(path)


def test_spread_scenarios_need_valid_ratings(setup):
    curve, book, liab = setup
    scen = [s for s in default_scenarios() if s.name == "credit_widening_200"]
    with pytest.raises(ValueError, match="one rating per security"):
        run_stresses(book, liab, curve, scen)
    with pytest.raises(ValueError, match=r"ratings row 2 \(Z20\).*'D'"):
        run_stresses(book, liab, curve, scen, ratings=["AAA", "A", "D", "A"])


def test_scenario_model_is_frozen():
    s = StressScenario(name="a")
    with pytest.raises(Exception, match="frozen"):
        s.name = "b"  # type: ignore[misc]
