"""The main job on the demo book: every stage runs, and the answer meets the mandate."""

import json

import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc import pipeline
from fialloc.results import RunResponse, build_response


@pytest.fixture(scope="module")
def run():
    stages = []
    result = pipeline.run(data.demo(), n_paths=200, scenario_seed=3, progress=stages.append)
    return result, stages


def test_every_stage_runs_in_order_and_is_timed(run):
    result, stages = run
    assert tuple(stages) == pipeline.STAGES
    assert set(result.timings) == set(pipeline.STAGES)
    assert all(t >= 0 for t in result.timings.values())
    assert result.parameters["n_paths"] == 200
    assert result.parameters["scenario_seed"] == 3


def test_the_recommendation_meets_the_mandate_and_closes_gaps(run):
    result, _ = run
    a = result.allocation
    assert a.constraints["ok"].all(), a.constraints[~a.constraints["ok"]]
    assert a.summary["yield_after"] >= 0.045 - 1e-9
    assert a.summary["tracking_error_after"] <= 0.08
    assert a.summary["tracking_error_after"] < a.summary["tracking_error_before"]
    gaps = a.constraints[a.constraints.index.str.startswith("key-rate gap")]
    keys = [c for c in result.problem.exposures.columns if c.startswith("krd_")]
    scale = result.problem.liabilities / result.problem.assets
    target = result.problem.liability[keys].to_numpy() * scale
    before = np.abs(result.problem.exposures[keys].to_numpy().T @ result.problem.current - target)
    assert np.abs(gaps["value"]).sum() < before.sum()
    truth = data.demo_truth()
    beta = list(truth.bbb_beta_managers)
    assert a.weights[beta].sum() < result.problem.current[beta].sum()


def test_the_optimizer_scores_skill_from_the_performance_desk(run):
    result, _ = run
    from fialloc.desks import performance

    desk = result.desks["performance"]
    pd.testing.assert_series_equal(
        result.problem.skill,
        performance.skill_scores(desk).reindex(result.problem.managers),
        check_names=False,
    )
    truth = data.demo_truth()
    change = result.allocation.change
    # Capital leaves every manager whose excess return is BBB beta, and the skilled managers
    # gain on balance (none loses).
    for manager in truth.bbb_beta_managers:
        assert change[manager] < -1e-3, (manager, change[manager])
    skilled = list(truth.skilled_managers)
    assert (change[skilled] >= -1e-6).all()
    assert change[skilled].sum() > 0.02


def test_robustness_compares_the_same_paths_for_every_allocation(run):
    result, _ = run
    paths = result.robustness.paths
    allocations = ["current", "recommended", "least_shortfall", "recommended_without_overlay"]
    assert set(paths.index.get_level_values("allocation")) == set(allocations)
    at = paths.xs(10.0, level="horizon")
    # The least-shortfall weights and overlay minimize the tail at the last horizon among
    # mandate-abiding allocations, so they beat the recommendation there.
    assert (
        at.loc["least_shortfall", "expected_shortfall_95"]
        >= at.loc["recommended", "expected_shortfall_95"] - 1e-6 * result.problem.assets
    )
    np.testing.assert_allclose(
        result.surplus_paths["mean"], paths.loc["current"]["mean"], rtol=0, atol=0
    )
    assert list(result.robustness.stresses.columns) == allocations
    assert result.plan.costs["constraints_ok"].all()
    assert np.isclose(result.plan.weights.iloc[:, -1], result.allocation.weights).all()


def test_the_response_carries_the_run_numbers_and_validates_against_its_schema(run):
    result, _ = run
    response = build_response(result, analyses={"duration": "Long end is short."}, model="offline")
    doc = json.loads(response.model_dump_json())
    assert set(doc) == {
        "integrated_strategy",
        "allocation_recommendations",
        "implementation_plan",
        "detailed_results",
        "timings",
        "model",
    }
    strategy = doc["integrated_strategy"]
    assert strategy["yield_after"] == pytest.approx(result.allocation.summary["yield_after"])
    assert strategy["constraints_met"] is True
    assert strategy["max_key_rate_gap_after"] < strategy["max_key_rate_gap_before"]
    # One gap: the headline is the largest of the per-tenor gaps the CLI shows, and those are
    # the optimizer's key-rate constraint values.
    profile = pd.DataFrame(doc["detailed_results"]["optimizer"]["key_rate_gaps"]).set_index("index")
    for which, when in (("current", "before"), ("recommended", "after")):
        assert strategy[f"max_key_rate_gap_{when}"] == profile[f"{which}_years"].abs().max()
        assert strategy[f"max_key_rate_gap_dv01_{when}"] == pytest.approx(
            strategy[f"max_key_rate_gap_{when}"] * strategy["assets"] * 1e-4
        )
    limits = result.allocation.constraints
    for key, row in profile.iterrows():
        value = limits.loc[f"key-rate gap {key.removeprefix('krd_')}", "value"]
        assert value == pytest.approx(abs(row["recommended_years"]), abs=1e-12)
    recs = {r["manager_id"]: r for r in doc["allocation_recommendations"]}
    assert set(recs) == set(result.allocation.weights.index)
    for mid, rec in recs.items():
        assert rec["recommended_weight"] == pytest.approx(result.allocation.weights[mid])
        assert rec["change"] == pytest.approx(rec["recommended_weight"] - rec["current_weight"])
        assert rec["reasons"], mid
    assert doc["detailed_results"]["duration"]["analysis"] == "Long end is short."
    assert doc["detailed_results"]["credit"]["analysis"] is None
    moved = sum(sum(p["trades"].values()) for p in doc["implementation_plan"]["phases"])
    assert moved == pytest.approx(0.0, abs=1e-3 * result.problem.assets)
    assert RunResponse.model_validate(doc) == response
    with pytest.raises(ValueError, match="desks the run does not have"):
        build_response(result, analyses={"astrology": "..."})


def test_a_mandate_without_overlay_runs_on_weights_alone():
    off = {"swap_notional": 0.0, "futures_notional": 0.0, "strips": 0.0}
    portfolio = data.demo()
    portfolio = data.Portfolio(
        **{
            **portfolio.__dict__,
            "mandate": portfolio.mandate.model_copy(
                update={"overlay": portfolio.mandate.overlay.model_copy(update=off)}
            ),
        }
    )
    result = pipeline.run(portfolio, n_paths=40, horizons=2, frontier_points=2)
    assert result.overlay is None
    assert result.allocation_without_overlay is None
    assert result.allocation.overlay is None
    assert result.plan.overlay_trades is None
    assert "recommended_without_overlay" not in result.robustness.stresses.columns
    response = build_response(result)
    assert "overlay" not in response.detailed_results
    assert response.integrated_strategy["without_overlay"] is None
