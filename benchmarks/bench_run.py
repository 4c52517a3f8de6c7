"""`fialloc run` on the demo book with 1,000 scenario paths: the whole command and each stage.

The reference, measured in the same session, is the computation alone (``pipeline.run`` and
``build_response``, no command line, store or report): the ratio is what the command adds.
The command is also timed at the default path count (:data:`fialloc.mc_estimators.DEFAULT_PATHS`,
what `fialloc run` uses without ``--paths``), against the 1,000 paths it used before.
Each stage's time (loading, the pipeline's stages, the response, the store and the report)
is kept in the benchmark's ``extra_info["stages"]`` (seconds) of ``--benchmark-json``.
"""

import json
import time

import pytest

import fialloc.data as data
from fialloc import pipeline, report, store
from fialloc.cli import main
from fialloc.mc_estimators import DEFAULT_PATHS
from fialloc.results import build_response

PATHS = 1000


def _stages(root: str) -> dict[str, float]:
    """Run what `fialloc run` runs, one step at a time; seconds per step."""
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    portfolio = data.demo()
    seconds["load"] = time.perf_counter() - start
    result = pipeline.run(portfolio, n_paths=PATHS)
    seconds.update(result.timings)
    start = time.perf_counter()
    response = build_response(result)
    seconds["response"] = time.perf_counter() - start

    def timed_render(stored: store.StoredRun) -> str:
        begin = time.perf_counter()
        html = report.render_stored(stored)
        seconds["report"] = time.perf_counter() - begin
        return html

    start = time.perf_counter()
    store.write_run(root, result, response, render=timed_render)
    seconds["store"] = time.perf_counter() - start - seconds["report"]
    return seconds


@pytest.mark.benchmark(group="run")
def test_run_fialloc_command_demo_1000_paths(benchmark, tmp_path):
    args = ["run", "--out", str(tmp_path / "runs"), "--paths", str(PATHS)]
    code = benchmark.pedantic(main, (args,), rounds=3, iterations=1)
    assert code == 0
    stages = _stages(str(tmp_path / "stages"))
    stages["total"] = sum(stages.values())
    benchmark.extra_info["stages"] = stages
    print("\nstages of `fialloc run` (s):", json.dumps({k: round(v, 3) for k, v in stages.items()}))
    assert set(pipeline.STAGES) < set(stages)


@pytest.mark.benchmark(group="run")
def test_run_fialloc_command_demo_default_paths(benchmark, tmp_path):
    args = ["run", "--out", str(tmp_path / "runs")]
    code = benchmark.pedantic(main, (args,), rounds=3, iterations=1)
    assert code == 0
    benchmark.extra_info["paths"] = DEFAULT_PATHS


@pytest.mark.benchmark(group="run")
def test_run_pipeline_only_reference(benchmark):
    portfolio = data.demo()

    def compute():
        return build_response(pipeline.run(portfolio, n_paths=PATHS))

    response = benchmark.pedantic(compute, rounds=3, iterations=1)
    # The demo's key-rate gaps beyond tolerance are closing, not met: every other limit is met.
    assert set(response.integrated_strategy["limits_not_met"].values()) <= {"closing"}
