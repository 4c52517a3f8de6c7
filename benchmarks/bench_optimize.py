"""Optimizer solve times: the demo's 25 managers, synthetic 250-manager problems, and a
compiled program re-solved against a fresh compile of the same program in the same run."""

import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc.analytics.context import DeskContext
from fialloc.analytics.liquidity_costs import HQLA_LEVELS
from fialloc.data import Mandate
from fialloc.desks import performance
from fialloc.optimize import (
    AllocationProblem,
    AllocationProgram,
    OverlayInputs,
    build_problem,
    check_constraints,
    optimize,
    pareto_frontier,
)
from fialloc.overlay import overlay_universe
from fialloc.robustness import min_expected_shortfall, sleeve_paths
from fialloc.scenarios import G2pp


@pytest.mark.benchmark(group="optimize")
def test_optimize_demo_25_managers(benchmark):
    portfolio = data.demo()
    problem = build_problem(DeskContext(portfolio))
    result = benchmark(optimize, problem, portfolio.mandate)
    assert check_constraints(problem, portfolio.mandate, result.weights.to_numpy())["allowed"].all()


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
        expected_loss=s(rng.uniform(0.0, 0.004, n)),
        alpha=s(rng.normal(0, 0.005, n)),
        trading_cost=s(rng.uniform(1e-4, 1e-3, n)),
        trading_impact=s(rng.uniform(1e-3, 1e-2, n)),
        tradable_share=s(np.ones(n)),
        hqla=pd.DataFrame(
            rng.dirichlet(np.ones(4), n)[:, :3], index=managers, columns=list(HQLA_LEVELS)
        ),
        illiquid_share=s(rng.uniform(0.0, 0.3, n)),
        notch=s(rng.uniform(3, 9, n)),
        sectors=pd.DataFrame(rng.dirichlet(np.ones(5), n), index=managers),
        current=s(np.full(n, 1.0 / n)),
        assets=4e10,
        liabilities=3.6e10,
    )


@pytest.mark.benchmark(group="optimize")
def test_optimize_fialloc_synthetic_250_managers(benchmark):
    problem = _synthetic(250)
    mandate = Mandate(min_allocation=0.001, max_allocation=0.05, max_shift=0.01, target_yield=0.045)
    result = benchmark.pedantic(optimize, (problem, mandate), rounds=3, iterations=1)
    assert check_constraints(problem, mandate, result.weights.to_numpy())["allowed"].all()


@pytest.mark.benchmark(group="optimize")
def test_optimize_fialloc_synthetic_250_managers_5000_securities(benchmark):
    # A book priced and risked security by security: exposures, liquidity, ratings and sectors
    # aggregated from 5,000 securities' analytics, posterior alphas from the performance desk.
    portfolio = data.synthetic(250, 5000)
    ctx = DeskContext(portfolio)
    evidence = performance.manager_evidence(performance.analyze(ctx))
    problem = build_problem(ctx, evidence=evidence)
    result = benchmark.pedantic(optimize, (problem, portfolio.mandate), rounds=3, iterations=1)
    table = check_constraints(problem, portfolio.mandate, result.weights.to_numpy())
    assert table["allowed"].all()


@pytest.fixture(scope="module")
def demo_problem():
    portfolio = data.demo()
    return portfolio, build_problem(DeskContext(portfolio))


@pytest.mark.benchmark(group="optimize-solvers")
def test_optimize_fialloc_clarabel_demo(benchmark, demo_problem):
    portfolio, problem = demo_problem
    result = benchmark(optimize, problem, portfolio.mandate)
    reference = optimize(problem, portfolio.mandate, solver="SCS")
    assert check_constraints(problem, portfolio.mandate, result.weights.to_numpy())["allowed"].all()
    # SCS is first order: the objectives (bp a year) agree to its accuracy.
    assert result.summary["objective_bp_after"] >= reference.summary["objective_bp_after"] - 0.05


@pytest.mark.benchmark(group="optimize-solvers")
def test_optimize_scs_reference(benchmark, demo_problem):
    portfolio, problem = demo_problem
    benchmark(optimize, problem, portfolio.mandate, "SCS")


@pytest.mark.benchmark(group="frontier")
def test_pareto_frontier_demo_7_points(benchmark, demo_problem):
    portfolio, problem = demo_problem
    frontier = benchmark.pedantic(
        pareto_frontier, (problem, portfolio.mandate, 7), rounds=3, iterations=1
    )
    assert len(frontier) == 7


def _frontier_point(program: AllocationProgram, floor: float) -> np.ndarray:
    return program.solve_for("tracking_error", return_floor=floor)


@pytest.mark.benchmark(group="resolve")
def test_resolve_a_compiled_program_demo(benchmark, demo_problem):
    # One frontier point: the compiled program re-solved with a new expected-return floor.
    portfolio, problem = demo_problem
    program = AllocationProgram(problem, portfolio.mandate)
    optimize(problem, program=program)
    w = benchmark(_frontier_point, program, 0.045)
    fresh = _frontier_point(AllocationProgram(problem, portfolio.mandate), 0.045)
    np.testing.assert_allclose(w, fresh, atol=1e-7)


@pytest.mark.benchmark(group="resolve")
def test_resolve_reference_fresh_compile_demo(benchmark, demo_problem):
    # The same point from a program built and compiled from scratch (the reference).
    portfolio, problem = demo_problem
    benchmark(lambda: _frontier_point(AllocationProgram(problem, portfolio.mandate), 0.045))


@pytest.mark.benchmark(group="least-shortfall")
def test_min_expected_shortfall_demo_1000_paths(benchmark, demo_problem):
    portfolio, problem = demo_problem
    model = G2pp(portfolio.curve)
    paths = model.simulate(1000, np.arange(1, 61) / 12.0, seed=5)
    sleeves = sleeve_paths(portfolio, model, paths, [1.0, 5.0])
    # As the pipeline runs it: under the limits of the recommendation's compiled program.
    rooms = AllocationProgram(problem, portfolio.mandate).rooms()
    result = benchmark.pedantic(
        min_expected_shortfall,
        (problem, sleeves, portfolio.mandate),
        {"rooms": rooms},
        rounds=3,
        iterations=1,
    )
    assert result.constraints["allowed"].all()


@pytest.fixture(scope="module")
def demo_overlay(demo_problem):
    portfolio, _ = demo_problem
    universe = overlay_universe(portfolio.curve, key_tenors=portfolio.analytics.key_tenors)
    return OverlayInputs(universe.table, universe.stress_changes())


@pytest.mark.benchmark(group="optimize-overlay")
def test_optimize_fialloc_demo_weights_and_overlay(benchmark, demo_problem, demo_overlay):
    # The joint solve: 25 weights and 23 swaps, futures and STRIPS with their exposures, carry,
    # limits and margin (22 stress scenarios); the reference is the weights-only solve.
    portfolio, problem = demo_problem
    result = benchmark(optimize, problem, portfolio.mandate, overlay=demo_overlay)
    units = result.overlay_units(demo_overlay.instruments.index)
    table = check_constraints(
        problem, portfolio.mandate, result.weights.to_numpy(), demo_overlay, units
    )
    assert table["allowed"].all()
    assert result.summary["long_end_gap_after"] <= 0.43 * result.summary["long_end_gap_before"]


@pytest.mark.benchmark(group="optimize-overlay")
def test_optimize_weights_only_reference(benchmark, demo_problem):
    portfolio, problem = demo_problem
    benchmark(optimize, problem, portfolio.mandate)


@pytest.fixture(scope="module")
def synthetic_250():
    portfolio = data.synthetic(250, 5000)
    problem = build_problem(DeskContext(portfolio))
    universe = overlay_universe(portfolio.curve, key_tenors=portfolio.analytics.key_tenors)
    return portfolio, problem, OverlayInputs(universe.table, universe.stress_changes())


@pytest.mark.benchmark(group="optimize-overlay-250")
def test_optimize_fialloc_synthetic_250_managers_with_overlay(benchmark, synthetic_250):
    portfolio, problem, overlay = synthetic_250
    result = benchmark.pedantic(
        optimize, (problem, portfolio.mandate), {"overlay": overlay}, rounds=3, iterations=1
    )
    units = result.overlay_units(overlay.instruments.index)
    table = check_constraints(problem, portfolio.mandate, result.weights.to_numpy(), overlay, units)
    assert table["allowed"].all()


@pytest.mark.benchmark(group="optimize-overlay-250")
def test_optimize_synthetic_250_managers_weights_only_reference(benchmark, synthetic_250):
    portfolio, problem, _ = synthetic_250
    benchmark.pedantic(optimize, (problem, portfolio.mandate), rounds=3, iterations=1)
