"""The allocation optimizer: constraints hold, known optima, diagnoses, monotone in skill."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fialloc.data as data
from fialloc.analytics.context import DeskContext
from fialloc.data import Mandate, ObjectiveWeights
from fialloc.optimize import (
    AllocationProblem,
    build_problem,
    check_constraints,
    optimize,
    pareto_frontier,
)


@pytest.fixture(scope="module")
def demo_problem():
    return build_problem(DeskContext(data.demo()))


def _toy(x, liability, current, yields=None, skill=None, cov=1e-4, residual=0.0):
    managers = pd.Index([f"M{i}" for i in range(len(x))])
    n = len(x)
    series = lambda v: pd.Series(v, index=managers, dtype=float)  # noqa: E731
    return AllocationProblem(
        exposures=pd.DataFrame({"krd_10y": x}, index=managers),
        liability=pd.Series({"krd_10y": liability}),
        covariance=pd.DataFrame([[cov]], index=["krd_10y"], columns=["krd_10y"]),
        residual_vol=series([residual] * n),
        yields=series(yields if yields is not None else [0.05] * n),
        skill=series(skill if skill is not None else [0.0] * n),
        liquid_share=series([1.0] * n),
        illiquid_share=series([0.0] * n),
        notch=series([1.0] * n),
        sectors=pd.DataFrame({"gov": [1.0] * n}, index=managers),
        current=series(current),
        assets=1.0,
        liabilities=1.0,
    )


LOOSE = Mandate(
    min_allocation=0.0,
    max_allocation=1.0,
    turnover=2.0,
    max_shift=1.0,
    target_yield=0.0,
    max_tracking_error=0.5,
    liquidity_buffer=0.0,
    krd_gap_tolerance=100.0,
    objective=ObjectiveWeights(
        liability_matching=1.0, yield_target=0.0, manager_skill=0.0, liquidity_buffer=0.0
    ),
)


def test_known_optimum_matches_the_liability_duration_exactly():
    # Two managers with durations 4 and 12 against liabilities of 9: w = (9 - 12) / (4 - 12)
    result = optimize(_toy([4.0, 12.0], 9.0, [0.5, 0.5]), LOOSE)
    # within 5e-5: a 1e-6 turnover penalty breaks ties and moves the optimum by ~1e-5
    assert result.weights["M0"] == pytest.approx(3 / 8, abs=5e-5)
    assert result.summary["tracking_error_after"] == pytest.approx(0.0, abs=1e-6)


def test_every_constraint_holds_on_the_demo(demo_problem):
    mandate = data.demo().mandate
    result = optimize(demo_problem, mandate)
    table = check_constraints(demo_problem, mandate, result.weights.to_numpy())
    assert table["ok"].all(), table[~table["ok"]]
    assert result.summary["yield_after"] >= 0.045 - 1e-9
    assert result.summary["tracking_error_after"] <= 0.08
    assert result.summary["tracking_error_after"] < result.summary["tracking_error_before"]
    gaps = table[table.index.str.startswith("key-rate gap")]
    before = check_constraints(demo_problem, mandate, demo_problem.current.to_numpy())
    old = before.loc[gaps.index, "value"]
    assert np.linalg.norm(gaps["value"]) < np.linalg.norm(old)
    material = old > mandate.krd_gap_tolerance  # gaps beyond tolerance never widen
    assert (gaps["value"][material] <= old[material] + 1e-9).all()


def test_infeasible_mandate_names_the_conflict(demo_problem):
    with pytest.raises(ValueError, match=r"cannot be met; relax .*yield"):
        optimize(demo_problem, Mandate(target_yield=0.09))


def test_more_skill_never_lowers_a_weight():
    base = _toy([6.0, 6.0, 6.0], 6.0, [1 / 3] * 3, skill=[0.0, 0.0, 0.0])
    skillful = ObjectiveWeights(
        liability_matching=1.0, yield_target=0.0, manager_skill=0.2, liquidity_buffer=0.0
    )
    mandate = LOOSE.model_copy(update={"objective": skillful, "max_shift": 0.1, "turnover": 0.2})
    previous = None
    for score in (0.0, 1.0, 2.0, 4.0):
        problem = dataclasses.replace(base, skill=pd.Series([score, 1.0, 0.5], index=base.managers))
        weight = optimize(problem, mandate).weights["M0"]
        if previous is not None:
            assert weight >= previous - 1e-7
        previous = weight


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"current": [0.47, 0.5]}, r"sum to 1, they sum to 0\.97"),
        (
            {"covariance": pd.DataFrame([[-1e-4]], index=["krd_10y"], columns=["krd_10y"])},
            "not positive semi-definite",
        ),
        ({"yields": [0.05, np.nan]}, "`yields` has missing"),
    ],
)
def test_bad_inputs(change, match):
    toy = _toy([4.0, 12.0], 9.0, [0.5, 0.5])
    fields = {
        k: (pd.Series(v, index=toy.managers) if isinstance(v, list) else v)
        for k, v in change.items()
    }
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(toy, **fields)


def test_min_above_max_is_refused():
    with pytest.raises(ValueError, match=r"min_allocation 0\.3 is above max_allocation"):
        Mandate(min_allocation=0.3, max_allocation=0.2)


def test_pareto_frontier_trades_tracking_error_for_yield_monotonically(demo_problem):
    mandate = Mandate()
    frontier = pareto_frontier(demo_problem, mandate, points=5)
    assert len(frontier) == 5
    assert np.all(np.diff(frontier["yield"]) >= -1e-9)
    assert np.all(np.diff(frontier["tracking_error"]) >= -1e-7)
    managers = list(demo_problem.managers)
    for _, row in frontier.iterrows():
        table = check_constraints(demo_problem, mandate, row[managers].to_numpy(dtype=float))
        assert table["ok"].all(), table[~table["ok"]]
        assert row["yield"] >= row["target_yield"] - 1e-7
    # Its first point is the least tracking error any mandate-abiding mix reaches.
    low = optimize(
        demo_problem,
        mandate.model_copy(
            update={
                "objective": ObjectiveWeights(
                    liability_matching=1.0,
                    yield_target=0.0,
                    manager_skill=0.0,
                    liquidity_buffer=0.0,
                )
            }
        ),
    )
    assert frontier["tracking_error"].iloc[0] <= low.summary["tracking_error_after"] + 1e-6


def test_pareto_frontier_on_a_toy_with_a_known_answer():
    # One manager matches the liabilities and yields 4%; the other yields 6% with duration 12
    # against 9: for a yield target y, w1 = (y - 0.04) / 0.02 and TE = |12 - 9| * w1 * 1%.
    problem = _toy([9.0, 12.0], 9.0, [0.5, 0.5], yields=[0.04, 0.06], cov=1e-4)
    mandate = LOOSE.model_copy(update={"max_tracking_error": 0.05})
    frontier = pareto_frontier(problem, mandate, points=3)
    # within 1e-5: the 1e-6 turnover tie-break pulls each point ~1e-4 of weight toward today
    np.testing.assert_allclose(frontier["yield"], [0.04, 0.05, 0.06], atol=1e-5)
    np.testing.assert_allclose(frontier["tracking_error"], [0.0, 0.015, 0.03], atol=1e-5)
    with pytest.raises(ValueError, match="at least 2 points"):
        pareto_frontier(problem, LOOSE, points=1)


def test_an_unknown_solver_is_named(demo_problem):
    with pytest.raises(ValueError, match="solver 'GUROBI_PLEASE' is not installed"):
        optimize(demo_problem, Mandate(), solver="GUROBI_PLEASE")


def test_a_second_solver_finds_the_same_optimum(demo_problem):
    mandate = Mandate()
    clarabel = optimize(demo_problem, mandate)
    scs = optimize(demo_problem, mandate, solver="SCS")
    # SCS is a first-order method: same optimum to its default accuracy.
    assert clarabel.objective_terms.sum() == pytest.approx(scs.objective_terms.sum(), abs=2e-3)


# The mandate's default priority weights, with room to move.
SMALL_MANDATE = LOOSE.model_copy(
    update={
        "max_allocation": 0.6,
        "turnover": 0.3,
        "max_shift": 0.2,
        "objective": ObjectiveWeights(),
    }
)


@settings(max_examples=25)  # each example solves two cone programs (~0.1 s each)
@given(
    x=st.lists(st.floats(2.0, 14.0), min_size=4, max_size=4),
    yields=st.lists(st.floats(0.03, 0.07), min_size=4, max_size=4),
    skill=st.lists(st.floats(-1.0, 3.0), min_size=4, max_size=4),
    who=st.integers(0, 3),
    bump=st.floats(0.1, 3.0),
)
def test_raising_a_skill_score_never_lowers_that_managers_weight(x, yields, skill, who, bump):
    base = _toy(x, 7.0, [0.25] * 4, yields=yields, skill=skill, residual=0.01)
    raised = dataclasses.replace(
        base, skill=base.skill + pd.Series(np.eye(4)[who] * bump, index=base.managers)
    )
    before = optimize(base, SMALL_MANDATE).weights.iloc[who]
    after = optimize(raised, SMALL_MANDATE).weights.iloc[who]
    assert after >= before - 1e-6
