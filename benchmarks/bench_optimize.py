"""Optimizer solve times: the demo's 25 managers, and a synthetic 250-manager problem."""

import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc.data import Mandate
from fialloc.desks import DeskContext
from fialloc.optimize import AllocationProblem, build_problem, check_constraints, optimize


@pytest.mark.benchmark(group="optimize")
def test_optimize_demo_25_managers(benchmark):
    portfolio = data.demo()
    problem = build_problem(DeskContext(portfolio))
    result = benchmark(optimize, problem, portfolio.mandate)
    assert check_constraints(problem, portfolio.mandate, result.weights.to_numpy())["ok"].all()


def _synthetic(n: int, seed: int = 0) -> AllocationProblem:
    rng = np.random.default_rng(seed)
    managers = pd.Index([f"M{i:03d}" for i in range(n)])
    factors = [f"krd_{t}" for t in ("1y", "5y", "10y", "30y")] + ["sd_A", "sd_BBB"]
    x = pd.DataFrame(rng.uniform(0, 4, (n, len(factors))), index=managers, columns=factors)
    moves = rng.normal(0, 0.002, (120, len(factors)))
    cov = pd.DataFrame(np.cov(moves.T) * 12, index=factors, columns=factors)
    s = lambda v: pd.Series(v, index=managers)  # noqa: E731
    return AllocationProblem(
        exposures=x,
        liability=pd.Series(x.mean().to_numpy() * 1.1, index=factors),
        covariance=cov,
        residual_vol=s(rng.uniform(0.002, 0.02, n)),
        yields=s(rng.uniform(0.04, 0.055, n)),
        skill=s(rng.normal(0, 1, n)),
        liquid_share=s(rng.uniform(0.05, 0.6, n)),
        illiquid_share=s(rng.uniform(0.0, 0.3, n)),
        notch=s(rng.uniform(3, 9, n)),
        sectors=pd.DataFrame(rng.dirichlet(np.ones(5), n), index=managers),
        current=s(np.full(n, 1.0 / n)),
        assets=4e10,
        liabilities=3.6e10,
    )


@pytest.mark.benchmark(group="optimize")
def test_optimize_synthetic_250_managers(benchmark):
    problem = _synthetic(250)
    mandate = Mandate(min_allocation=0.001, max_allocation=0.05, max_shift=0.01, target_yield=0.045)
    result = benchmark.pedantic(optimize, (problem, mandate), rounds=3, iterations=1)
    assert check_constraints(problem, mandate, result.weights.to_numpy())["ok"].all()
