"""The main job on the demo book: every stage runs, and the answer meets the mandate."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc import pipeline
from fialloc.results import RunResponse, build_response


@pytest.fixture(scope="module")
def run(demo_pipeline_run):
    return demo_pipeline_run


def test_every_stage_runs_in_order_and_is_timed(run):
    result, stages = run
    assert tuple(stages) == pipeline.STAGES
    assert set(result.timings) == set(pipeline.STAGES)
    assert all(t >= 0 for t in result.timings.values())
    assert result.parameters["n_paths"] == 200
    assert result.parameters["scenario_seed"] == 3
    # The demo's foreign bonds and TIPS put every currency and the US real rates on the paths.
    assert result.parameters["economies"] == ["USD", "EUR", "GBP", "JPY", "CAD", "USD-real"]


def test_the_recommendation_meets_the_mandate_and_closes_gaps(run):
    result, _ = run
    a = result.allocation
    allowed = a.constraints["allowed"]
    assert allowed.all(), a.constraints[~allowed]
    # Every limit but the key-rate gaps is met; six gaps exceed the 0.1-year tolerance today,
    # so constraints_met is false, and the long end closes.
    open_limits = a.constraints[~a.constraints["ok"]]
    assert set(open_limits["kind"]) == {"gap"}
    assert not a.summary["constraints_met"]
    assert a.summary["yield_after"] >= 0.045 - 1e-9
    assert a.summary["tracking_error_after"] < a.summary["tracking_error_before"]
    beyond = a.gaps["gap_before"].abs() > a.gaps["tolerance"]
    after, before = a.gaps["gap_after"].abs(), a.gaps["gap_before"].abs()
    assert (after[beyond] <= before[beyond] + 1e-6).all()  # no gap beyond tolerance widens
    assert (after[~beyond] <= a.gaps["tolerance"][~beyond] + 1e-6).all()  # the rest stay in
    assert a.gaps["gap_after"].abs().sum() < a.gaps["gap_before"].abs().sum()
    for tenor in ("20y", "30y"):
        assert abs(a.gaps.at[tenor, "gap_after"]) < abs(a.gaps.at[tenor, "gap_before"]) - 0.3
    # One gap definition: the run's gap table (assets against liabilities scaled to assets).
    np.testing.assert_allclose(
        a.gaps["gap_before"].to_numpy(), result.gaps["gap"].to_numpy(), atol=1e-12
    )
    # The objective improves on today in money: yield and posterior alpha up, risk down.
    terms = a.objective["change_bp"]
    assert terms["total"] > 0
    assert (terms[["yield", "alpha", "surplus risk"]] > 0).all()


def test_stress_by_manager_is_computed_once_and_adds_up_to_the_book(run):
    result, _ = run
    by_manager = result.stress_by_manager
    assert by_manager.index.name == "manager_id"
    assert set(by_manager.index) == set(result.portfolio.managers.index)
    assert list(by_manager.columns) == list(result.stresses.asset_values.index)
    # Every security's face is split among its holders, so the managers' changes (hedges
    # included) add up to the book's asset change under every stress; none under the first.
    summary = result.stresses.summary()
    np.testing.assert_allclose(
        by_manager.sum(axis=0).to_numpy(), summary["assets_change"].to_numpy(), rtol=1e-9, atol=1.0
    )
    np.testing.assert_allclose(by_manager.iloc[:, 0].to_numpy(), 0.0, atol=1e-6)


def test_the_optimizer_reads_the_skill_evidence(run, demo_truth):
    result, _ = run
    from fialloc.desks import performance

    evidence = performance.manager_evidence(result.desks["performance"])
    pd.testing.assert_series_equal(
        result.problem.alpha,
        evidence["alpha_posterior"].reindex(result.problem.managers).astype(float),
        check_names=False,
    )
    truth = demo_truth
    change = result.allocation.change
    # No capital goes to a manager whose excess return is BBB beta, and no skilled manager
    # is cut.
    for manager in truth.bbb_beta_managers:
        assert change[manager] <= 1e-6, (manager, change[manager])
    assert (change[list(truth.skilled_managers)] >= -1e-6).all()


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
    assert strategy["constraints_met"] is False  # key-rate gaps beyond the tolerance
    assert set(strategy["limits_not_met"].values()) <= {"closing", "not met"}
    assert strategy["objective_bp_after"] > strategy["objective_bp_before"]
    # No allocation the engine computed (least shortfall, frontier points) beats the
    # recommendation on yield, tracking error and expected shortfall together.
    assert strategy["dominated_by"] == []
    frontier = result.frontier
    net = strategy["yield_after"] - strategy["expected_loss_after"]
    better = (frontier["expected_return"] >= net - 1e-12) & (
        frontier["tracking_error"] <= strategy["tracking_error_after"] + 1e-12
    )
    assert not (better & (frontier["expected_return"] > net + 1e-9)).any()
    assert strategy["max_key_rate_gap_after"] < strategy["max_key_rate_gap_before"]
    # One gap: the headline is the largest of the per-tenor gaps the CLI shows, and those are
    # the optimizer's key-rate constraint values.
    profile = pd.DataFrame(doc["detailed_results"]["optimizer"]["key_rate_gaps"]).set_index("tenor")
    for when in ("before", "after"):
        assert strategy[f"max_key_rate_gap_{when}"] == profile[f"gap_{when}"].abs().max()
        assert strategy[f"max_key_rate_gap_dv01_{when}"] == pytest.approx(
            strategy[f"max_key_rate_gap_{when}"] * strategy["assets"] * 1e-4
        )
    limits = result.allocation.constraints
    for key, row in profile.iterrows():
        value = limits.loc[f"key-rate gap {key}", "value"]
        assert value == pytest.approx(abs(row["gap_after"]), abs=1e-12)
    recs = {r["manager_id"]: r for r in doc["allocation_recommendations"]}
    assert set(recs) == set(result.allocation.weights.index)
    for mid, rec in recs.items():
        assert rec["recommended_weight"] == pytest.approx(result.allocation.weights[mid])
        assert rec["change"] == pytest.approx(rec["recommended_weight"] - rec["current_weight"])
        assert rec["reasons"], mid
    assert doc["detailed_results"]["duration"]["analysis"] == "Long end is short."
    assert doc["detailed_results"]["credit"]["analysis"] is None
    phases = doc["implementation_plan"]["phases"]
    moved = sum(sum(p["trades"].values()) for p in phases)
    # Sales pay for the overlay's STRIPS (bought with cash); swaps and futures need none.
    strips = sum(
        v for p in phases for i, v in p.get("overlay_trades", {}).items() if i.startswith("strips")
    )
    assert moved + strips == pytest.approx(0.0, abs=1e-3 * result.problem.assets)
    assert RunResponse.model_validate(doc) == response
    with pytest.raises(ValueError, match="desks the run does not have"):
        build_response(result, analyses={"astrology": "..."})


def test_a_mandate_without_overlay_runs_on_weights_alone(demo_portfolio):
    off = {"swap_notional": 0.0, "futures_notional": 0.0, "strips": 0.0}
    portfolio = demo_portfolio
    portfolio = dataclasses.replace(
        portfolio,
        mandate=portfolio.mandate.model_copy(
            update={"overlay": portfolio.mandate.overlay.model_copy(update=off)}
        ),
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


def test_a_dominating_allocation_is_named_with_the_trade(run):
    import dataclasses

    result, _ = run
    rec = result.allocation.summary
    better = {
        **result.robust_allocation.summary,
        "yield_after": rec["yield_after"] + 1e-3,
        "tracking_error_after": rec["tracking_error_after"] - 1e-3,
    }
    robust = dataclasses.replace(result.robust_allocation, summary=better)
    doc = build_response(dataclasses.replace(result, robust_allocation=robust))
    strategy = doc.integrated_strategy
    names = [d["allocation"] for d in strategy["dominated_by"]]
    at = result.robustness.paths.xs(10.0, level="horizon")["expected_shortfall_95"]
    assert at["least_shortfall"] > at["recommended"]  # its tail is better by construction
    assert names == ["least_shortfall"]
    given_up = strategy["dominated_by"][0]["objective_bp_given_up"]
    assert given_up == pytest.approx(rec["objective_bp_after"] - better["objective_bp_after"])
    assert "the recommendation takes that trade" in strategy["summary"]


def test_a_book_built_in_memory_is_refused_for_what_a_run_needs_before_any_stage(
    demo_tables_and_truth,
):
    """from_tables checks each table; the run checks what its stages read, as load does."""
    from fialloc.data.demo import DEMO_VALUATION
    from fialloc.errors import InputError

    tables = demo_tables_and_truth[0]
    thousands = tables["liabilities"].assign(amount=lambda t: t["amount"] / 1000.0)
    portfolio = data.from_tables({**tables, "liabilities": thousands}, DEMO_VALUATION)
    stages: list[str] = []
    with pytest.raises(InputError, match=r"liabilities.*same units") as caught:
        pipeline.run(portfolio, n_paths=20, horizons=2, progress=stages.append)
    assert stages == []
    assert [p.file for p in caught.value.problems] == ["liabilities.csv"]
    months = tables["manager_returns"]["month"]
    short = tables["manager_returns"][months != months.max()].iloc[1:]
    portfolio = data.from_tables({**tables, "manager_returns": short}, DEMO_VALUATION)
    with pytest.raises(InputError, match="every manager needs the same months"):
        pipeline.run(portfolio, n_paths=20, horizons=2)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("n_paths", 200.5),
        ("horizons", True),
        ("phases", 0),
        ("phase_days", 0),
        ("frontier_points", 1),
        ("path_chunk", 0),
        ("path_chunk", 2.5),
        ("scenario_seed", -1),
        ("phases", np.int64(251)),
    ],
)
def test_a_setting_out_of_range_is_refused_before_any_stage(demo_portfolio, setting, value):
    """Each setting is checked up front: before, phases=0 ran the stresses and scenarios and
    then failed on a non-finite trading impact (with numpy's divide warning), path_chunk=0 and
    frontier_points=1 failed after the desks, and 200.5 paths reached the simulation."""
    stages: list[str] = []
    with pytest.raises(ValueError, match=rf"run: .*{setting}") as caught:
        pipeline.run(
            demo_portfolio, **{"n_paths": 20, "horizons": 2, setting: value}, progress=stages.append
        )
    assert stages == []
    assert repr(value) in str(caught.value)
