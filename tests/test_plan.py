import re

import numpy as np
import pytest

import fialloc.data as data
from fialloc.analytics.context import DeskContext
from fialloc.optimize import build_problem, optimize
from fialloc.plan import implementation_plan


@pytest.fixture(scope="module")
def setup():
    portfolio = data.demo()
    problem = build_problem(DeskContext(portfolio))
    return portfolio, problem, optimize(problem, portfolio.mandate).weights


def test_plan_moves_in_equal_phases_within_every_limit(setup):
    portfolio, problem, target = setup
    # As many 10-day phases as the market volume needs for this target (at least 4).
    needed = implementation_plan(portfolio, problem, target, phases=4, phase_days=10, extend=True)
    phases = max(4, len(needed.costs))
    plan = implementation_plan(portfolio, problem, target, phases=phases, phase_days=10)
    np.testing.assert_allclose(plan.weights[0], problem.current)
    np.testing.assert_allclose(plan.weights[phases], target, atol=1e-12)
    np.testing.assert_allclose(
        plan.trades.sum(axis=1), (target - problem.current) * problem.assets, rtol=1e-9
    )
    np.testing.assert_allclose(plan.trades.sum(axis=0), 0.0, atol=1e-3)  # money is moved, not made
    assert plan.costs["constraints_ok"].all()
    assert (plan.costs["capacity_used"] <= 1.0).all()
    assert 0 < plan.total_cost < 0.01 * np.abs(plan.trades.to_numpy()).sum()


def test_plan_refuses_to_exceed_market_volume_and_says_what_would_fit(setup):
    portfolio, problem, target = setup
    with pytest.raises(ValueError, match=r"needs \d+\.\d+x the volume .* use at least \d+ phases"):
        implementation_plan(portfolio, problem, target, phases=1, phase_days=5)


def test_plan_validates_its_inputs(setup):
    portfolio, problem, target = setup
    with pytest.raises(ValueError, match="sum to 1"):
        implementation_plan(portfolio, problem, target * 0.97)
    with pytest.raises(ValueError, match="phases >= 1"):
        implementation_plan(portfolio, problem, target, phases=0)


def test_extend_adds_exactly_the_phases_the_volume_needs(setup):
    portfolio, problem, target = setup
    with pytest.raises(ValueError, match=r"use at least (\d+) phases") as refused:
        implementation_plan(portfolio, problem, target, phases=1, phase_days=5)
    needed = int(re.search(r"use at least (\d+) phases", str(refused.value)).group(1))
    plan = implementation_plan(portfolio, problem, target, phases=1, phase_days=5, extend=True)
    assert plan.requested_phases == 1
    assert len(plan.costs) == needed
    assert (plan.costs["capacity_used"] <= 1.0).all()
    # One phase fewer would not have fit.
    with pytest.raises(ValueError, match="the volume"):
        implementation_plan(portfolio, problem, target, phases=needed - 1, phase_days=5)
