"""`fialloc run` on the multi-currency demo against the single-currency demo, same session.

What `fialloc run` runs at its default 2,000 paths (build the inputs, pipeline, response,
store and report), on the demo with its global sovereign manager (EUR, GBP, JPY and CAD bonds,
part hedged: per-currency curves, FX spots and hedges, foreign key-rate and FX factors, 33
stresses) and on the demo without it (``data.demo(global_sleeve=False)``: one currency, the
reference). The target is a ratio of at most 1.5. Each round's process CPU seconds are kept in
``extra_info`` beside the wall times, since a loaded machine stretches wall time unevenly; the
ratio of the minimums of three rounds is the figure BENCHMARKS.md reports.
"""

import time

import pytest

import fialloc.data as data
from fialloc import pipeline, report, store
from fialloc.mc_estimators import DEFAULT_PATHS
from fialloc.results import build_response


def _run(global_sleeve: bool, root: str) -> None:
    portfolio = data.demo(global_sleeve=global_sleeve)
    result = pipeline.run(portfolio, n_paths=DEFAULT_PATHS)
    store.write_run(root, result, build_response(result), render=report.render_stored)


def _timed(benchmark, tmp_path, global_sleeve: bool) -> None:
    cpu: list[float] = []

    def once() -> None:
        start = time.process_time()
        _run(global_sleeve, str(tmp_path / f"runs{len(cpu)}"))
        cpu.append(time.process_time() - start)

    benchmark.pedantic(once, rounds=3, iterations=1)
    benchmark.extra_info["cpu_seconds"] = cpu


@pytest.mark.benchmark(group="currencies")
def test_run_multi_currency_demo(benchmark, tmp_path):
    _timed(benchmark, tmp_path, global_sleeve=True)


@pytest.mark.benchmark(group="currencies")
def test_run_single_currency_demo_reference(benchmark, tmp_path):
    _timed(benchmark, tmp_path, global_sleeve=False)
