"""Maps on a real local Dask cluster (2 worker processes): same results as in-process.

Workers import fialloc from the environment they inherit (PYTHONPATH=src when run from a
checkout). Functions defined here travel to the workers by value (cloudpickle), since the
workers cannot import this test module.
"""

import os
import sys
from functools import partial

import cloudpickle
import dask
import distributed  # noqa: F401  (loads its config defaults: see `cluster`)
import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc import pipeline
from fialloc.cli import main
from fialloc.currency_paths import run_spread_model
from fialloc.currency_scenarios import Economy, MultiCurrencyG2, real_economy
from fialloc.curves import Curve
from fialloc.distributed import (
    DaskExecutor,
    DistributedError,
    InProcess,
    open_executor,
    task_threads,
)
from fialloc.robustness import simulate_sleeves
from fialloc.scenarios import G2pp
from fialloc.stresses import stress_portfolio

cloudpickle.register_pickle_by_value(sys.modules[__name__])

N_PATHS = 120
CHUNK = 50  # three chunks, the last one short
RUN = {"n_paths": N_PATHS, "scenario_seed": 11, "frontier_points": 4, "path_chunk": CHUNK}


@pytest.fixture(scope="module")
def cluster():
    # One worker death per task is survivable, a second fails the map: keeps the
    # unrecoverable case short. `distributed` is imported above, before this set: a key set
    # while its section is absent is removed whole on exit, which would drop every
    # `distributed.*` default for the tests that run after this module in the same process.
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        open_executor(workers=2) as executor,
    ):
        yield executor


@pytest.fixture
def executor(cluster):
    assert isinstance(cluster, DaskExecutor)
    cluster.client.wait_for_workers(2, timeout=60)
    info = cluster.client.scheduler_info()["workers"].values()
    assert [w["nthreads"] for w in info] == [1, 1]  # two single-threaded worker processes
    # Without glibc's adaptive mmap threshold turned off (see open_executor).
    trims = cluster.client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()
    assert list(trims) == [None, None]
    pids = set(cluster.client.run(os.getpid).values())
    assert len(pids) == 2
    assert os.getpid() not in pids
    return cluster


@pytest.fixture(scope="module")
def portfolio(demo_portfolio):
    return demo_portfolio


@pytest.fixture(scope="module")
def local_run(portfolio):
    return pipeline.run(portfolio, **RUN)


def _same_run(a: pipeline.RunResult, b: pipeline.RunResult) -> None:
    """Every result of the run: aggregates to 1e-12 relative (in fact bitwise)."""
    exact = {"check_exact": False, "rtol": 1e-12, "atol": 0.0}
    pd.testing.assert_frame_equal(a.surplus_paths, b.surplus_paths, **exact)
    pd.testing.assert_frame_equal(a.robustness.paths, b.robustness.paths, **exact)
    pd.testing.assert_frame_equal(a.robustness.tracking_error, b.robustness.tracking_error, **exact)
    pd.testing.assert_frame_equal(a.robustness.stresses, b.robustness.stresses, **exact)
    pd.testing.assert_frame_equal(a.stresses.summary(), b.stresses.summary(), **exact)
    pd.testing.assert_frame_equal(a.stresses.path_values, b.stresses.path_values, **exact)
    pd.testing.assert_frame_equal(a.frontier, b.frontier, **exact)
    for name in ("allocation", "robust_allocation"):
        pd.testing.assert_series_equal(
            getattr(a, name).weights, getattr(b, name).weights, atol=1e-12, rtol=0.0
        )
    assert a.parameters == b.parameters


def _die_once(marker: str, fn, *args):
    """Kill this worker process the first time any task of the map runs, then behave."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return fn(*args)
    os.close(fd)
    os._exit(1)


def _always_die(fn, *args):
    os._exit(1)


def _fail(item, shared):
    msg = f"bad chunk {item}"
    raise RuntimeError(msg)


def _refuse(item, shared):
    msg = f"bad input {item}"
    raise ValueError(msg)


class _Wrapped:
    """Wraps every task of the scenario-path map in `wrapper` (maps of other stages pass)."""

    def __init__(self, inner, wrapper):
        self.inner = inner
        self.wrapper = wrapper

    def map(self, fn, items, *, shared=None):
        if fn.__name__ == "_sleeve_chunk":
            fn = partial(self.wrapper, fn)
        return self.inner.map(fn, items, shared=shared)


def test_chunked_paths_are_bitwise_one_run(portfolio):
    model = G2pp(portfolio.curve)
    grid = np.arange(1, 61) / 12.0
    years = np.arange(1.0, 6.0)
    one = simulate_sleeves(portfolio, model, 70, grid, years, 5, chunk=70)
    for chunk in (1, 23, 69):
        part = simulate_sleeves(portfolio, model, 70, grid, years, 5, chunk=chunk)
        assert np.array_equal(part.sleeves, one.sleeves)
        assert np.array_equal(part.liabilities, one.liabilities)
        assert np.array_equal(part.states, one.states)
    assert one.sleeves.shape == (70, 5, len(portfolio.managers))
    # A block further down the stream is those paths of the longer run.
    tail = simulate_sleeves(portfolio, model, 30, grid, years, 5, chunk=7, first_path=40)
    assert np.array_equal(tail.sleeves, one.sleeves[40:])
    assert np.array_equal(tail.states, one.states[40:])
    with pytest.raises(ValueError, match="first_path"):
        simulate_sleeves(portfolio, model, 30, grid, years, 5, first_path=-1)
    # Another seed gives other paths: the comparison above can fail.
    other = simulate_sleeves(portfolio, model, 70, grid, years, 6, chunk=70)
    assert not np.array_equal(other.sleeves, one.sleeves)


def test_cluster_multi_currency_paths_are_bitwise_the_in_process_ones(executor, portfolio):
    # The demo holds EUR, GBP, JPY and CAD bonds, FX hedges and TIPS: every economy's paths,
    # and credit spreads moving on them.
    model = G2pp(portfolio.curve)
    grid = np.arange(1, 37) / 12.0
    years = np.arange(1.0, 4.0)
    credit = run_spread_model(portfolio)
    here = simulate_sleeves(portfolio, model, 30, grid, years, 4, chunk=30, credit=credit)
    there = simulate_sleeves(
        portfolio, model, 30, grid, years, 4, chunk=11, executor=executor, credit=credit
    )
    assert np.array_equal(there.sleeves, here.sleeves)
    assert np.array_equal(there.liabilities, here.liabilities)
    assert np.array_equal(there.states, here.states)


def test_cluster_paths_and_stresses_are_bitwise_the_in_process_ones(executor):
    # Big enough that a BLAS product would sum differently on 2 threads (here) and on 1
    # (Dask workers): the sleeves and stresses must not depend on it.
    book = data.synthetic(30, 2000, seed=2)
    model = G2pp(book.curve)
    grid = np.arange(1, 61) / 12.0
    years = np.arange(1.0, 6.0)
    here = simulate_sleeves(book, model, 40, grid, years, 5, chunk=40)
    there = simulate_sleeves(book, model, 40, grid, years, 5, chunk=15, executor=executor)
    assert np.array_equal(there.sleeves, here.sleeves)
    assert np.array_equal(there.liabilities, here.liabilities)
    assert np.array_equal(there.states, here.states)
    pd.testing.assert_series_equal(there.today, here.today)
    stressed_here = stress_portfolio(book)
    stressed_there = stress_portfolio(book, executor=executor)
    assert stressed_there.asset_values.equals(stressed_here.asset_values)
    assert stressed_there.path_values.equals(stressed_here.path_values)
    assert stressed_there.summary().equals(stressed_here.summary())


def test_multi_currency_paths_on_the_cluster_are_bitwise_one_run(executor, portfolio):
    usd = Economy("USD", portfolio.curve)
    eur = Economy(
        "EUR",
        Curve.flat(0.025, portfolio.curve.valuation_date),
        parent="USD",
        spot=1.1,
        volatility=0.08,
    )
    model = MultiCurrencyG2([usd, eur, real_economy(usd), real_economy(eur, 0.02)])
    grid = np.arange(1, 25) / 12.0
    here = model.simulate(70, grid, seed=8, threads=2)
    there = model.simulate_in_chunks(70, grid, seed=8, chunk=25, executor=executor)
    for field in ("x", "y", "discount", "link"):
        for a, b in zip(getattr(here, field), getattr(there, field), strict=True):
            assert np.array_equal(a, b), field


def test_pipeline_on_the_cluster_matches_in_process_and_a_killed_worker_changes_nothing(
    portfolio, local_run, executor, tmp_path
):
    # One run on the cluster serves both subjects (a run is seconds of fixed cost): a worker
    # dies at the first task of the scenario map, whose task runs again; the other
    # chunks and the stress map run on the cluster as if nothing had happened.
    marker = tmp_path / "killed"
    killer = _Wrapped(executor, partial(_die_once, str(marker)))
    remote = pipeline.run(portfolio, executor=killer, **RUN)
    assert marker.exists()  # a worker really died during the scenario stage
    _same_run(remote, local_run)
    # Bitwise, in fact: the same tasks ran, only elsewhere.
    assert remote.surplus_paths.equals(local_run.surplus_paths)
    assert remote.stresses.asset_values.equals(local_run.stresses.asset_values)


def test_a_task_that_keeps_raising_names_the_task_and_the_cause(executor):
    with pytest.raises(
        DistributedError,
        match=r"_fail: task \d of 3 \(item '([abc])'\).*RuntimeError: bad chunk \1",
    ):
        executor.map(_fail, ["a", "b", "c"], shared=1)
    # Bad input is the same ValueError wherever it runs.
    with pytest.raises(ValueError, match="bad input a"):
        executor.map(_refuse, ["a"], shared=1)


def test_maps_keep_order_and_pass_shared_inputs(executor):
    items = list(range(7))
    assert executor.map(pow, items, shared=2) == [i**2 for i in items]
    assert executor.map(abs, [-3, 2]) == [3, 2]
    assert executor.map(abs, []) == []
    assert InProcess().map(pow, items, shared=3) == [i**3 for i in items]
    # A tuple travels as one shared object, not one per element.
    assert executor.map(_pair, [0, 1], shared=(5, 6)) == [(0, (5, 6)), (1, (5, 6))]


def _pair(item, shared):
    return item, shared


def test_kernels_take_one_thread_per_task_on_workers_and_every_core_here(executor):
    assert executor.map(_threads, [0, 1]) == [1, 1]
    assert task_threads() is None


def _threads(item):
    return task_threads()


def test_in_process_is_the_default_and_bad_settings_are_refused():
    with open_executor() as ex:
        assert isinstance(ex, InProcess)
    for kwargs, match in (
        ({"workers": 2, "scheduler": "tcp://h:8786"}, "not both"),
        ({"workers": 0}, "workers"),
        ({"workers": 1.5}, "workers"),
        ({"workers": True}, "workers"),
        ({"scheduler": " "}, "scheduler"),
    ):
        with pytest.raises(ValueError, match=match), open_executor(**kwargs):
            pass
    with pytest.raises(ValueError, match="retries"):
        DaskExecutor(None, retries=-1)


def test_an_unreachable_scheduler_is_an_os_error():
    with (
        pytest.raises(OSError, match="cannot reach the Dask scheduler"),
        open_executor(scheduler="tcp://127.0.0.1:1", connect_timeout=1.0),
    ):
        pass


def test_bad_chunks_are_refused(portfolio):
    model = G2pp(portfolio.curve)
    for chunk in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="chunk"):
            simulate_sleeves(portfolio, model, 10, [1.0, 2.0], [1.0, 2.0], chunk=chunk)
    with pytest.raises(ValueError, match="chunk"):
        pipeline.run(portfolio, n_paths=20, path_chunk=0)


def test_lost_paths_are_an_error_not_a_short_result(portfolio):
    class Drops:
        def map(self, fn, items, *, shared=None):
            return [fn(item, shared) for item in items][:-1]

    model = G2pp(portfolio.curve)
    with pytest.raises(DistributedError, match="2 chunks came back for 3"):
        simulate_sleeves(portfolio, model, 30, [1.0, 2.0], [1.0, 2.0], chunk=10, executor=Drops())


def test_a_task_that_keeps_killing_workers_fails_with_a_clear_error(portfolio, executor):
    # Either the task is blamed for two deaths (KilledWorker), or both workers that held the
    # shared inputs died first (lost data): a named failure either way.
    with pytest.raises(
        DistributedError, match=r"_always_die: task \d of 3 \(item \(\d+, \d+\)\) failed for good"
    ) as failure:
        pipeline.run(portfolio, executor=_Wrapped(executor, _always_die), **RUN)
    assert "KilledWorker" in str(failure.value) or "lost" in str(failure.value).lower()


def test_cli_refuses_bad_cluster_settings(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["run", "--workers", "0", "--paths", "20", "--out", str(tmp_path)])
    assert "must be a positive whole number, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "--workers", "2", "--scheduler", "tcp://h:8786"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_the_cluster_takes_a_free_port_not_dasks_default(cluster):
    """Two clusters starting at once on one host would race for port 8787 and one fail."""
    services = cluster.client.scheduler_info()["services"]
    assert services["dashboard"] != 8787
