"""The offline agents' workflow on the demo book against the pipeline it wraps (issue 7 goal:
the five agents, the graph and the analyses add under one second to the analytics).

Both run the same pipeline parameters (1,000 G2++ paths, the default); the workflow replaces
the pipeline's four desks with the five agents' graph and builds the response with their
analyses, so the difference of the two times is what the agents add. The second group isolates that
difference from the noisy scenario and optimizer stages: the pipeline's four desks against the
agents' graph on the same priced context.
"""

import pytest

import fialloc.data as data
from fialloc import pipeline
from fialloc.agents import AGENT_NAMES, run_agents, run_workflow
from fialloc.analytics.context import DeskContext
from fialloc.desks import run_desks
from fialloc.results import build_response

N_PATHS = 1000


@pytest.fixture(scope="module")
def book():
    return data.demo()


@pytest.mark.benchmark(group="agents")
def test_agents_pipeline_run(benchmark, book):
    def analytics():
        run = pipeline.run(book, n_paths=N_PATHS)
        return build_response(run)

    response = benchmark.pedantic(analytics, rounds=3, iterations=1, warmup_rounds=1)
    assert response.model == "none"


@pytest.mark.benchmark(group="agents")
def test_agents_fialloc_offline_workflow(benchmark, book):
    flow = benchmark.pedantic(
        run_workflow,
        (book,),
        {"n_paths": N_PATHS},
        rounds=3,
        iterations=1,
        warmup_rounds=1,
    )
    assert flow.response.model == "offline"
    assert all(not flow.agents[n].unverified_numbers for n in AGENT_NAMES)


@pytest.mark.benchmark(group="agents-desks")
def test_agents_desks_run_desks(benchmark, book):
    # A new context each round on both sides (the agents keep desk results per context), so
    # both also pay for the same pricing of the book; the difference is the agents' cost.
    results = benchmark.pedantic(
        lambda: run_desks(DeskContext(book)), rounds=5, iterations=1, warmup_rounds=1
    )
    assert set(results) == set(AGENT_NAMES)


@pytest.mark.benchmark(group="agents-desks")
def test_agents_desks_fialloc_graph(benchmark, book):
    out = benchmark.pedantic(
        lambda: run_agents(DeskContext(book)), rounds=5, iterations=1, warmup_rounds=1
    )
    assert set(out.agents) == set(AGENT_NAMES)
