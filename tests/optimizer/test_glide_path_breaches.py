"""The glide path with a duration overlay on a book that breaches a limit today.

Found by the decision study (``benchmarks/bench_decisions.py``): on 5 of 40 generated books
``fialloc run`` stopped in the plan stage with "the mandate cannot be met (solver status
infeasible)". Today's illiquid share was over its limit; the recommendation closed it part of
the way (the turnover allows no more), the target without pace limits further, and the overlay
at each later cycle end was chosen under the target's room alone, which the cycle's weights,
pinned between the recommendation and the target, do not meet.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fialloc.allocation_limits import row_values
from fialloc.analytics.context import DeskContext
from fialloc.data.testbooks import generate_book
from fialloc.optimize import OverlayInputs, build_problem, optimize, overlay_program
from fialloc.overlay import OverlayMarket, overlay_universe
from fialloc.plan import glide_path
from fialloc.stresses import stress_portfolio


@pytest.fixture(scope="module")
def breached():
    portfolio = generate_book(34, n_managers=12, n_months=48).portfolio
    problem = build_problem(DeskContext(portfolio))
    universe = overlay_universe(
        portfolio.curve,
        OverlayMarket(futures=portfolio.overlay_futures),
        portfolio.analytics.key_tenors,
    )
    stresses = stress_portfolio(portfolio)
    inputs = OverlayInputs(universe.table, universe.stress_changes(stresses.scenarios))
    program = overlay_program(problem, portfolio.mandate, inputs)
    recommended = optimize(problem, program=program, overlay=inputs)
    return problem, portfolio.mandate, inputs, recommended, universe.ids


def test_glide_path_closes_a_breach_the_recommendation_closes_part_way(breached):
    problem, mandate, inputs, recommended, ids = breached
    limit = mandate.max_illiquid
    today = row_values(problem, mandate, problem.current.to_numpy())["illiquid share"]
    after = row_values(problem, mandate, recommended.weights.to_numpy())["illiquid share"]
    assert today > limit + 0.1  # the book's situation: far over the limit today
    assert limit < after < today  # closed part of the way in one cycle
    glide = glide_path(
        problem, mandate, recommended.weights, overlay=inputs, units=recommended.overlay_units(ids)
    )  # stopped with InfeasibleMandate before the fix
    assert glide.weights.shape[1] >= 3
    assert glide.overlay is not None
    assert np.isfinite(glide.overlay.to_numpy()).all()
    # Each later cycle end holds the weights on the line, closing the breach step by step.
    shares = [
        row_values(problem, mandate, glide.weights[k].to_numpy())["illiquid share"]
        for k in glide.weights.columns[1:]
    ]
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(shares))
    assert bool(glide.cycles["constraints_ok"].all())
