"""The agents' graph inside the pipeline: order, parallelism, typed results, scenario variant."""

import dataclasses
import json
from typing import Any

import numpy as np
import pytest

from fialloc import pipeline
from fialloc.agents import AGENT_NAMES, WorkflowResult, run_agents, run_workflow
from fialloc.agents.roles import ROLES
from fialloc.agents.workflow import INTEGRATION
from fialloc.analytics.context import DeskContext
from fialloc.results import RunResponse

# The session's demo run (conftest.demo_pipeline_run): the graph's run is compared with it.
N_PATHS, SEED = 200, 3
# The runs that only check the agents' order or fallback: the smallest the pipeline takes.
SMALL_RUN: dict[str, Any] = {"n_paths": 20, "horizons": 2, "frontier_points": 2}


@pytest.fixture(scope="module")
def book(demo_portfolio):
    return demo_portfolio


@pytest.fixture(scope="module")
def stages():
    return []


@pytest.fixture(scope="module")
def flow(book, stages) -> WorkflowResult:
    return run_workflow(
        book, n_paths=N_PATHS, scenario_seed=SEED, scenarios=True, progress=stages.append
    )


@pytest.fixture(scope="module")
def serial(book) -> WorkflowResult:
    return run_workflow(book, parallelism=1, **SMALL_RUN)


def _window(flow, name):
    r = flow.agents[name]
    return r.started, r.finished


def test_each_agent_runs_once_in_dependency_order(flow):
    order = flow.execution_order
    assert sorted(order) == sorted((*AGENT_NAMES, INTEGRATION))
    pos = {n: order.index(n) for n in order}
    assert pos["duration"] == 0
    assert pos["duration"] < pos["credit"] < pos["liquidity"]
    assert pos["duration"] < pos["curve"] < pos["liquidity"]
    assert pos["liquidity"] < pos["performance"] < pos[INTEGRATION]
    # Start/finish times agree with the order: nobody starts before its dependencies finish.
    for name in ("credit", "curve"):
        assert _window(flow, name)[0] >= _window(flow, "duration")[1]
    for name in ("credit", "curve"):
        assert _window(flow, "liquidity")[0] >= _window(flow, name)[1]
    for name in ("duration", "credit", "curve", "liquidity"):
        assert _window(flow, "performance")[0] >= _window(flow, name)[1]


def test_credit_and_curve_overlap_in_time(flow):
    c0, c1 = _window(flow, "credit")
    v0, v1 = _window(flow, "curve")
    assert c0 < v1
    assert v0 < c1


def test_parallelism_one_runs_credit_and_curve_one_after_the_other(serial):
    c0, c1 = _window(serial, "credit")
    v0, v1 = _window(serial, "curve")
    assert c1 <= v0 or v1 <= c0
    assert serial.response.detailed_results["agents"]["parallelism"] == 1


def test_the_graphs_results_are_the_runs_desks(flow, demo_pipeline_run):
    assert set(flow.run.desks) == set(AGENT_NAMES)
    direct = demo_pipeline_run[0].desks  # run_desks on the demo's context, without the agents
    for name, desk in direct.items():
        assert flow.run.desks[name].to_dict() == desk.to_dict()
        assert flow.agents[name].desk == desk.to_dict()


def test_the_allocation_is_the_pipelines(flow, demo_pipeline_run):
    plain = demo_pipeline_run[0]
    assert plain.parameters["n_paths"] == N_PATHS
    assert plain.parameters["scenario_seed"] == SEED
    np.testing.assert_allclose(
        flow.run.allocation.weights.to_numpy(), plain.allocation.weights.to_numpy(), atol=1e-9
    )
    shown = {r.manager_id: r.recommended_weight for r in flow.response.allocation_recommendations}
    assert shown == pytest.approx(plain.allocation.weights.to_dict(), abs=1e-9)


def test_response_carries_analyses_agents_timings_and_model(flow, stages):
    resp = flow.response
    assert isinstance(resp, RunResponse)
    assert resp.model == "offline"
    for name in AGENT_NAMES:
        assert resp.detailed_results[name]["analysis"] == flow.agents[name].analysis
        entry = resp.detailed_results["agents"][name]
        assert entry["model"] == "offline"
        assert entry["fallback"] is None
        assert entry["unverified_numbers"] == []
        assert 0 <= entry["started"] < entry["finished"]
        assert resp.timings[f"agent_{name}"] > 0
        assert resp.timings[f"agent_{name}_start"] == entry["started"]
        assert resp.timings[f"agent_{name}_finish"] == entry["finished"]
    assert resp.detailed_results["agents"]["execution_order"] == list(flow.execution_order)
    assert resp.integrated_strategy["unverified_numbers"] == {n: [] for n in AGENT_NAMES}
    assert resp.integrated_strategy["model_fallback"] is None
    assert resp.timings["agents"] <= resp.timings["desks"]
    assert stages == [*pipeline.STAGES[:4], "agents", *pipeline.STAGES[4:]]
    json.dumps(resp.model_dump())  # JSON-ready
    combined = resp.detailed_results["agents"]["combined_views"]
    assert set(combined["desks"]) == set(AGENT_NAMES)


def test_scenario_variant_reports_robustness_with_95_percent_intervals(flow, serial):
    rob = flow.response.integrated_strategy["robustness"]
    assert rob["n_paths"] == N_PATHS
    assert rob["confidence_level"] == 0.95
    paths = flow.run.robustness.paths.xs(rob["horizon_years"], level="horizon")
    for name in ("current", "recommended", "least_shortfall"):
        a = rob["allocations"][name]
        p = a["shortfall_probability"]
        assert p == paths.loc[name, "shortfall_probability"]
        assert a["expected_shortfall_95"] == paths.loc[name, "expected_shortfall_95"]
        assert 0.0 <= a["shortfall_probability_low"] <= p <= a["shortfall_probability_high"] <= 1.0
        assert a["tracking_error"]["mean"] > 0
    assert "recommended allocation falls short" in rob["summary"]
    assert "robustness" not in serial.response.integrated_strategy


def test_an_unreachable_model_falls_back_once_and_every_agent_says_so(book):
    flow = run_workflow(book, model="llamacpp:qwen@http://127.0.0.1:9", **SMALL_RUN)
    first = flow.agents["duration"].fallback
    assert first is not None
    assert first.startswith("llamacpp:qwen failed")
    for name in AGENT_NAMES[1:]:
        assert (flow.agents[name].fallback or "").startswith("the configured model failed earlier")
    assert {r.model for r in flow.agents.values()} == {"offline"}
    assert flow.response.integrated_strategy["model_fallback"] == first
    assert flow.response.model == "offline"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"parallelism": 0}, "parallelism must be an integer from 1 to 5"),
        ({"parallelism": True}, "parallelism"),
        ({"timeout": 0}, "timeout"),
        ({"n_path": 100}, "unknown pipeline parameters \\['n_path'\\]"),
        ({"model": "gpt9"}, "unknown provider"),
        ({"n_paths": 5}, "n_paths"),
    ],
)
def test_bad_requests_are_refused(book, kwargs, match):
    with pytest.raises(ValueError, match=match):
        run_workflow(book, **kwargs)


def test_a_non_portfolio_is_refused():
    with pytest.raises(ValueError, match="must be a fialloc Portfolio"):
        run_workflow({"managers": []})  # type: ignore[arg-type]


def test_run_agents_on_a_context_gives_the_same_results(flow, book):
    out = run_agents(DeskContext(book), parallelism=3)
    assert out.execution_order[0] == "duration"
    assert out.execution_order[-1] == INTEGRATION
    for name in AGENT_NAMES:
        assert out.agents[name].analysis == flow.agents[name].analysis
        assert out.desks[name].to_dict() == flow.run.desks[name].to_dict()
    with pytest.raises(ValueError, match="ctx must be a DeskContext"):
        run_agents(book)  # type: ignore[arg-type]


def test_a_desk_error_is_the_requests_error(monkeypatch, book):
    def broken(ctx):
        msg = "curve desk: the zero-rate history has a gap"
        raise ValueError(msg)

    monkeypatch.setitem(ROLES, "curve", dataclasses.replace(ROLES["curve"], analyze=broken))
    with pytest.raises(ValueError, match="zero-rate history has a gap"):
        run_workflow(book, **SMALL_RUN)
