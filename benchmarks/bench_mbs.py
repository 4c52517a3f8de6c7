"""MBS benchmark: the OAS of 200 agency pools on 1,000 G2++ paths x 360 months, fialloc's
compiled kernel against a vectorized numpy implementation of the same formulas in the same run.

Groups: ``mbs_oas`` (paths given: project every path's flows under the rate-dependent
prepayment model, discount them and solve each pool's OAS from its price) and ``mbs_oas_paths``
(the same with the 1,000 paths simulated first). Both sides must agree on every OAS to 1e-10.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from mbs_reference import path_flows, solve_oas

from fialloc.mbs import MbsPaths, MbsPools, PrepaymentModel, path_values, value_pools
from fialloc.scenarios import G2pp

N_POOLS = 200
N_PATHS = 1000
MONTHS = 360
CHUNK = 10  # pools per numpy pass: 10 x 1,000 x 360 doubles is 29 MB


@pytest.fixture(scope="module")
def mbs_problem(problem):
    rng = np.random.default_rng(2026)
    model = PrepaymentModel()
    g2 = G2pp(problem.curve)
    mortgage = model.mortgage_spread + problem.curve.zero_rate(model.mortgage_tenor)
    wac = mortgage + rng.uniform(-0.02, 0.02, N_POOLS)
    frame = pd.DataFrame(
        {
            "security_id": [f"MBS{i:03d}" for i in range(N_POOLS)],
            "wac": wac,
            "net_coupon": wac - rng.uniform(0.0025, 0.0075, N_POOLS),
            "wam": rng.integers(240, MONTHS + 1, N_POOLS),
            "age": rng.integers(0, 120, N_POOLS),
            "factor": rng.uniform(0.3, 1.0, N_POOLS),
            "prepayment": "model",
        }
    )
    pools = MbsPools.from_frame(frame)
    paths = MbsPaths.simulate(g2, model, n_paths=N_PATHS, months=MONTHS, seed=7)
    prices = rng.uniform(92.0, 106.0, N_POOLS)
    return g2, model, pools, paths, prices


def numpy_oas(pools, model, paths, prices):
    out = []
    for lo in range(0, len(pools), CHUNK):
        part = slice(lo, lo + CHUNK)
        chunk = dataclasses.replace(
            pools,
            **{
                f.name: getattr(pools, f.name)[part]
                for f in dataclasses.fields(pools)
                if f.name != "ids"
            },
        )
        flows = path_flows(chunk, model, paths.calendar_month, paths.discount, paths.mortgage_rate)
        out.append(solve_oas(flows, prices[part]))
    return np.concatenate(out)


@pytest.fixture(scope="module")
def reference(mbs_problem):
    _, model, pools, paths, prices = mbs_problem
    return numpy_oas(pools, model, paths, prices)


@pytest.mark.benchmark(group="mbs_oas")
@pytest.mark.parametrize("threads", [1, 2])
def test_oas_fialloc(benchmark, mbs_problem, reference, threads):
    _, model, pools, paths, prices = mbs_problem
    got = benchmark(
        value_pools, pools, paths, prices=prices, model=model, bump_bp=0, threads=threads
    )
    np.testing.assert_allclose(got.oas, reference, rtol=0, atol=1e-10)


@pytest.mark.benchmark(group="mbs_oas")
def test_oas_numpy(benchmark, mbs_problem, reference):
    _, model, pools, paths, prices = mbs_problem
    got = benchmark.pedantic(numpy_oas, (pools, model, paths, prices), rounds=3, iterations=1)
    np.testing.assert_allclose(got, reference, rtol=0, atol=1e-12)


@pytest.mark.benchmark(group="mbs_oas_paths")
def test_oas_with_paths_fialloc(benchmark, mbs_problem, reference):
    g2, model, pools, _, prices = mbs_problem

    def run():
        paths = MbsPaths.simulate(g2, model, n_paths=N_PATHS, months=MONTHS, seed=7)
        return value_pools(pools, paths, prices=prices, model=model, bump_bp=0)

    got = benchmark(run)
    np.testing.assert_allclose(got.oas, reference, rtol=0, atol=1e-10)


@pytest.mark.benchmark(group="mbs_oas_paths")
def test_oas_with_paths_numpy(benchmark, mbs_problem, reference):
    g2, model, pools, _, prices = mbs_problem

    def run():
        paths = MbsPaths.simulate(g2, model, n_paths=N_PATHS, months=MONTHS, seed=7)
        return numpy_oas(pools, model, paths, prices)

    got = benchmark.pedantic(run, rounds=3, iterations=1)
    np.testing.assert_allclose(got, reference, rtol=0, atol=1e-12)


# ---- pools on the run's scenario paths (issue 18, round 5) -------------------------------------
# The demo's shape: 45 pools with 25-120 months left on 1,000 paths of 120 months, 10 annual
# horizons; each path's flows banked to every horizon, the balance left and the later flows at
# the OAS (what the horizon-value regression reads). numpy: the reference's month loop over all
# pools and paths, then the sums. Both agree to 1e-11.
RUN_POOLS, RUN_MONTHS = 45, 120
RUN_HORIZONS = np.arange(1, 11.0)


@pytest.fixture(scope="module")
def run_problem(problem):
    rng = np.random.default_rng(18)
    model = PrepaymentModel()
    g2 = G2pp(problem.curve)
    wac = (
        model.mortgage_spread + problem.curve.zero_rate(10.0) + rng.uniform(-0.02, 0.02, RUN_POOLS)
    )
    frame = pd.DataFrame(
        {
            "security_id": [f"RUN{i:02d}" for i in range(RUN_POOLS)],
            "wac": wac,
            "net_coupon": wac - 0.005,
            "wam": rng.integers(25, RUN_MONTHS + 1, RUN_POOLS),
            "age": rng.integers(60, 300, RUN_POOLS),
            "factor": rng.uniform(0.1, 0.6, RUN_POOLS),
        }
    )
    pools = MbsPools.from_frame(frame)
    paths = g2.simulate(N_PATHS, np.arange(1, RUN_MONTHS + 1) / 12.0, seed=3)
    return g2, model, pools, paths, np.full(RUN_POOLS, 0.003)


def numpy_path_values(g2, model, pools, paths, spread):
    x = np.hstack([np.zeros((paths.n_paths, 1)), paths.x[:, :-1]])
    y = np.hstack([np.zeros((paths.n_paths, 1)), paths.y[:, :-1]])
    starts = np.arange(RUN_MONTHS) / 12.0
    # The G2++ zero bond over the mortgage tenor at each month start, as in fialloc.scenarios.
    rates = np.stack(
        [
            model.mortgage_spread
            - np.log(g2.zero_bond(t, t + model.mortgage_tenor, x[:, k], y[:, k])[:, 0])
            / model.mortgage_tenor
            for k, t in enumerate(starts)
        ],
        axis=1,
    )
    vd = g2.curve.valuation_date
    flows = path_flows(pools, model, 1 if vd is None else vd.month % 12 + 1, paths.discount, rates)
    months = np.arange(1, RUN_MONTHS + 1)
    banked, later = [], []
    for h in RUN_HORIZONS:
        m = int(h * 12)
        banked.append(flows[:, :, :m].sum(axis=2))
        grow = np.exp(-np.outer(spread, np.maximum(months - m, 0) / 12.0)) * (months > m)
        later.append(np.einsum("npk,nk->np", flows, grow) / paths.discount[None, :, m - 1])
    return np.stack(banked, axis=1).T, np.stack(later, axis=1).T


@pytest.fixture(scope="module")
def run_reference(run_problem):
    return numpy_path_values(*run_problem)


@pytest.mark.benchmark(group="mbs_run_paths")
@pytest.mark.parametrize("threads", [1, 2])
def test_run_paths_fialloc(benchmark, run_problem, run_reference, threads):
    g2, model, pools, paths, spread = run_problem
    got = benchmark(
        path_values, pools, g2, paths, RUN_HORIZONS, model=model, spread=spread, threads=threads
    )
    np.testing.assert_allclose(got.banked, run_reference[0], rtol=1e-11)
    np.testing.assert_allclose(got.realized, run_reference[1], rtol=1e-11, atol=1e-12)


@pytest.mark.benchmark(group="mbs_run_paths")
def test_run_paths_numpy(benchmark, run_problem, run_reference):
    got = benchmark.pedantic(numpy_path_values, run_problem, rounds=3, iterations=1)
    np.testing.assert_allclose(got[0], run_reference[0], rtol=1e-12)
