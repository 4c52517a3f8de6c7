"""The whole pipeline on a scaled synthetic book: in this process vs a 2-worker local cluster.

Full size (with ``--benchmark-only``): 100 managers, 10,000 securities, 10,000 G2++ paths. In a
smoke run (``--benchmark-disable``) the book and the paths are reduced so CI stays fast; the
results are checked either way (the cluster's run must equal the in-process one). Each side
runs once: a full-size run takes minutes. Stage times go to each benchmark's ``extra_info``.
"""

import numpy as np
import pytest

import fialloc.data as data
from fialloc import pipeline
from fialloc.distributed import open_executor

FULL = {"n_managers": 100, "n_securities": 10_000, "n_paths": 10_000}
SMOKE = {"n_managers": 30, "n_securities": 600, "n_paths": 200}


@pytest.fixture(scope="module")
def size(request):
    return SMOKE if request.config.getoption("benchmark_disable") else FULL


@pytest.fixture(scope="module")
def book(size):
    return data.synthetic(size["n_managers"], size["n_securities"], seed=0)


@pytest.fixture(scope="module")
def cluster():
    with open_executor(workers=2) as executor:
        # Workers import fialloc (and cvxpy) on their first task: not part of the timing.
        pipeline.run(data.demo(), n_paths=20, frontier_points=2, executor=executor)
        yield executor


@pytest.fixture(scope="module")
def runs():
    return {}


def _run(benchmark, book, size, executor=None):
    result = benchmark.pedantic(
        pipeline.run,
        (book,),
        {"n_paths": size["n_paths"], "scenario_seed": 1, "executor": executor},
        rounds=1,
        iterations=1,
    )
    benchmark.extra_info.update({f"stage_{k}": v for k, v in result.timings.items()})
    benchmark.extra_info.update(size)
    return result


@pytest.mark.benchmark(group="distributed")
def test_distributed_in_process(benchmark, book, size, runs):
    runs["in_process"] = _run(benchmark, book, size)
    assert len(runs["in_process"].managers) == size["n_managers"]


@pytest.mark.benchmark(group="distributed")
def test_distributed_fialloc_dask_2_workers(benchmark, book, size, cluster, runs):
    result = _run(benchmark, book, size, cluster)
    here = runs.get("in_process") or pipeline.run(book, n_paths=size["n_paths"], scenario_seed=1)
    # Bitwise: the same tasks ran, only elsewhere.
    assert result.surplus_paths.equals(here.surplus_paths)
    assert result.robustness.paths.equals(here.robustness.paths)
    assert result.robustness.stresses.equals(here.robustness.stresses)
    assert result.frontier.equals(here.frontier)
    np.testing.assert_array_equal(result.allocation.weights, here.allocation.weights)
    np.testing.assert_array_equal(result.robust_allocation.weights, here.robust_allocation.weights)
