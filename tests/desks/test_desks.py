"""The four desks on the demo book: the planted truths are found, and nothing else is flagged."""

import dataclasses
import datetime as dt
import json

import numpy as np
import pytest

from fialloc.analytics.context import DeskContext
from fialloc.desks import duration, liquidity, performance, run_desks
from fialloc.schedule import add_months


@pytest.fixture(scope="module")
def results(demo_portfolio):
    return run_desks(DeskContext(demo_portfolio))


@pytest.fixture(scope="module")
def truth(demo_truth):
    return demo_truth


def _subjects(result, code):
    return {f.subject for f in result.findings_of(code)}


def test_duration_desk_shows_option_adjusted_risk_of_the_callables(results, demo_portfolio):
    desk = results["duration"]
    callables = desk.tables["callables"]
    schedule = demo_portfolio.call_schedule
    # The demo's Bermudan calls are shown; its make-whole calls are bullets.
    assert set(callables.index) == set(
        schedule.loc[~schedule["make_whole"].astype(bool), "security_id"]
    )
    assert (callables["effective_duration"] < callables["duration_to_maturity"]).all()
    assert (callables["oas"] < callables["z_spread"]).all()
    (finding,) = desk.findings_of("callable_duration")
    assert finding.metrics["book_duration_change"] < 0
    s = desk.summary
    assert s["asset_duration"] < s["asset_duration_to_maturity"]
    # One gap definition: liability measures scaled by L / A, as the key-rate gaps are.
    ctx = DeskContext(demo_portfolio)
    ratio = float(ctx.liabilities["market_value"].iloc[0]) / ctx.total_assets
    expected = s["asset_convexity"] - s["liability_convexity"] * ratio
    assert s["convexity_gap"] == pytest.approx(expected, rel=1e-12)


def test_duration_desk_values_the_annuity_blocks_with_behaviour(results, demo_portfolio):
    desk = results["duration"]
    stresses = desk.tables["liability_stresses"]
    # Longevity costs money and mass lapse releases surrender charges: both well outside
    # their Monte Carlo errors.
    assert stresses.loc["longevity", "change"] > 10 * stresses.loc["longevity", "change_se"]
    assert stresses.loc["mass_lapse", "change"] < -10 * stresses.loc["mass_lapse", "change_se"]
    s = desk.summary
    # Policyholders' surrender option: shorter and more convex than the expected flows.
    assert s["liability_duration_with_behaviour"] < s["liability_duration"]
    risk = demo_portfolio.behaviour_risk
    assert risk is not None
    assert s["liability_convexity"] == risk.effective_convexity > risk.static_convexity


def test_liquidity_desk_treats_a_mass_lapse_as_a_cash_call(results):
    desk = results["liquidity"]
    # 40% of the four fixed annuities' 2.1B account value, less the 6% surrender charge.
    assert desk.summary["mass_lapse_cash_call"] == pytest.approx(0.4 * 2.1e9 * 0.94)
    surge = desk.tables["lapse_surge"]
    assert set(surge["regime"]) == {"normal", "moderate", "severe"}
    assert (surge["redemption"] == desk.summary["mass_lapse_cash_call"]).all()
    assert not desk.findings_of("lapse_surge_shortfall")  # the demo's buffer covers it


def test_a_mass_lapse_too_large_to_sell_in_time_is_flagged(demo_portfolio):
    demo = demo_portfolio
    products = demo.liability_products.assign(
        account_value=demo.liability_products["account_value"] * 20
    )
    desk = liquidity.analyze(DeskContext(dataclasses.replace(demo, liability_products=products)))
    flagged = desk.findings_of("lapse_surge_shortfall")
    assert {f.subject for f in flagged} >= {"severe"}
    for f in flagged:
        assert 0 < f.metrics["shortfall"] <= f.metrics["cash_call"]


def test_fixed_liabilities_alone_keep_their_measures(demo_portfolio):
    """Without annuity blocks the liabilities are the fixed flows and nothing behaves."""
    fixed = dataclasses.replace(demo_portfolio, liability_products=None, mortality=None)
    assert fixed.liability_flows is fixed.liabilities
    assert fixed.behaviour_risk is None
    ctx = DeskContext(fixed)
    desk = duration.analyze(ctx)
    lia = ctx.liabilities.iloc[0]
    assert desk.summary["liability_convexity"] == lia["effective_convexity"]
    assert desk.summary["liability_duration_with_behaviour"] == lia["effective_duration"]
    assert desk.tables["liability_stresses"].empty
    cash = liquidity.analyze(ctx)
    assert cash.summary["mass_lapse_cash_call"] == 0.0
    assert cash.tables["lapse_surge"].empty


def test_duration_desk_finds_only_the_long_end_gap(results, truth):
    gaps = _subjects(results["duration"], "krd_gap")
    assert gaps == {f"{t:g}y" for t in truth.long_end_gap_tenors}
    for finding in results["duration"].findings_of("krd_gap"):
        assert finding.metrics["gap_years"] < 0  # assets under-match
    assert (
        results["duration"].summary["krd_distance_after"]
        < results["duration"].summary["krd_distance_before"]
    )


def test_credit_desk_separates_beta_from_skill(results, truth):
    assert _subjects(results["credit"], "credit_beta") == set(truth.bbb_beta_managers)
    assert _subjects(results["credit"], "credit_alpha") == set(truth.skilled_managers)
    skill = results["credit"].tables["manager_skill"]
    for manager in truth.bbb_beta_managers:
        assert skill.loc[manager, "beta_bbb"] > 0.15
        assert skill.loc[manager, "credit_p"] < 0.01
        assert skill.loc[manager, "alpha_q"] > 0.10
    # The credit desk's verdicts are the performance desk's: one definition.
    evidence = performance.manager_evidence(results["performance"])
    np.testing.assert_allclose(skill["alpha_q"], evidence["alpha_q"].loc[skill.index])
    cuts = {r.subject for r in results["credit"].recommendations if r.weight_change < 0}
    assert cuts == set(truth.bbb_beta_managers)


def test_drifting_managers_are_found_with_their_start(results, truth):
    # M23 lengthened (the duration desk), M22 went into high yield (the credit desk).
    assert _subjects(results["duration"], "duration_drift") == {"M23"}
    assert _subjects(results["credit"], "rating_drift") == {"M22"}
    for finding in results["duration"].findings + results["credit"].findings:
        if finding.code.endswith("_drift"):
            start = dt.date.fromisoformat(finding.message.split(" from ", 1)[1][:10])
            planted = truth.drifting_managers[finding.subject]
            assert add_months(planted, -2) <= start <= add_months(planted, 2)
            assert "against its benchmark" in finding.message


def test_liquidity_desk_measures_the_buffer_after_haircuts(results):
    liq = results["liquidity"]
    # the demo holds a buffer above 10% and under 30% illiquid; only a fifth of the assets in a
    # single day is more than a 20% share of daily volume can raise
    assert {f.code for f in liq.findings} == {"redemption_shortfall"}
    assert all("20% cash call over 1 days" in f.message for f in liq.findings)
    buffer = liq.tables["buffer"]
    assert buffer.loc["hqla", "stressed"] <= buffer.loc["hqla", "normal"]
    assert 0.10 < liq.summary["buffer_share"] < 1.0
    assert set(liq.tables["redemptions"]["regime"]) == {"normal", "moderate", "severe"}


def test_curve_desk_decomposes_and_exposes(results):
    c = results["curve"]
    assert c.summary["nss_rmse_bp"] < 5.0
    assert c.summary["explained_level"] > 0.8
    exposure = c.tables["manager_exposure"]
    assert exposure.loc["M01", "level"] > exposure.loc["M09", "level"]  # long government vs short
    assert {f.severity for f in c.findings} <= {"info"}


def test_results_serialize_to_json(results):
    for result in results.values():
        json.dumps(result.to_dict())


def test_curve_view_recommendations_and_bad_conviction(demo_portfolio):
    from fialloc.desks import curve

    ctx = DeskContext(demo_portfolio)
    result = curve.analyze(ctx, view="steepener", conviction=1.0)
    changes = {r.subject: r.weight_change for r in result.recommendations}
    assert sum(changes.values()) == pytest.approx(0.0)
    slope = result.tables["manager_exposure"]["slope"]
    assert all(slope[m] < slope.median() for m, w in changes.items() if w > 0)
    with pytest.raises(ValueError, match="conviction"):
        curve.analyze(ctx, view="flattener", conviction=2.0)


def test_credit_shifts_respect_the_mandate(results, demo_portfolio):
    s = results["credit"].summary
    m = demo_portfolio.mandate
    assert s["yield_after"] >= min(m.target_yield, s["yield_before"]) - 1e-12
    assert abs(s["notch_after"] - s["notch_before"]) <= m.max_rating_drift
    assert s["max_sector_increase"] <= m.max_sector_overweight
    assert sum(r.weight_change for r in results["credit"].recommendations) == pytest.approx(
        0.0, abs=1e-9
    )


def test_credit_shifts_shrink_when_the_yield_floor_binds(demo_portfolio):
    from fialloc.desks import credit

    portfolio = demo_portfolio
    tighter = portfolio.mandate.model_copy(
        update={"target_yield": 0.0468, "max_rating_drift": 0.001}
    )
    strict = dataclasses.replace(portfolio, mandate=tighter)
    result = credit.analyze(DeskContext(strict))
    assert result.summary["shift_scale"] < 1.0
    assert abs(result.summary["notch_after"] - result.summary["notch_before"]) <= 0.001 + 1e-12


def test_a_failed_key_rate_rebalance_is_a_finding_and_the_desk_stands(monkeypatch, demo_portfolio):
    from fialloc.desks import duration
    from fialloc.errors import ConvergenceError

    def failing(*args, **kwargs):
        msg = "rebalance_for_krd: the solver found no rebalance (numerical)"
        raise ConvergenceError(msg)

    monkeypatch.setattr(duration, "rebalance_for_krd", failing)
    result = duration.analyze(DeskContext(demo_portfolio))
    (finding,) = result.findings_of("krd_rebalance_unavailable")
    assert "solver found no rebalance" in finding.message
    weights = result.tables["recommended_weights"]
    np.testing.assert_allclose(weights["change"], 0.0, atol=1e-12)
    assert result.recommendations == []
    assert result.findings_of("krd_gap")  # the gaps are still measured


def test_an_absurd_liability_profile_still_gets_a_rebalance_toward_it(demo_portfolio):
    """Liabilities a million times the assets' durations once made the solver give up."""
    from fialloc.desks import duration

    p = demo_portfolio
    extreme = p.liabilities.assign(amount=p.liabilities["amount"] * 1e6)
    ctx = DeskContext(dataclasses.replace(p, liabilities=extreme))
    result = duration.analyze(ctx)
    assert not result.findings_of("krd_rebalance_unavailable")
    change = result.tables["recommended_weights"]["change"]
    assert change.abs().max() > 1e-3
