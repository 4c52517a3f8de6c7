"""The allocation optimizer: limits, breaches as starting points, diagnoses in units, money."""

import dataclasses
import re

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fialloc.data as data
from fialloc.analytics.context import DeskContext
from fialloc.analytics.credit_loss import DEFAULT_PROBABILITY, expected_loss_rate
from fialloc.analytics.liquidity_costs import HQLA_LEVELS
from fialloc.data import Mandate, ObjectiveWeights
from fialloc.desks import liquidity
from fialloc.optimize import (
    AllocationProblem,
    AllocationProgram,
    Extension,
    InfeasibleMandate,
    build_problem,
    check_constraints,
    objective_table,
    optimize,
    pareto_frontier,
)


@pytest.fixture(scope="module")
def demo_ctx(demo_portfolio):
    return DeskContext(demo_portfolio)


@pytest.fixture(scope="module")
def demo_problem(demo_ctx):
    return build_problem(demo_ctx)


def _toy(x, liability, current, yields=None, alpha=None, cov=1e-4, residual=0.0, cost=0.0):
    """Managers with one key rate (10y) against a liability of duration `liability`."""
    managers = pd.Index([f"M{i}" for i in range(len(x))])
    n = len(x)
    series = lambda v: pd.Series(v, index=managers, dtype=float)  # noqa: E731
    return AllocationProblem(
        exposures=pd.DataFrame({"krd_10y": x}, index=managers),
        liability=pd.Series({"krd_10y": liability}),
        covariance=pd.DataFrame([[cov]], index=["krd_10y"], columns=["krd_10y"]),
        residual_vol=series([residual] * n),
        yields=series(yields if yields is not None else [0.05] * n),
        expected_loss=series([0.0] * n),
        alpha=series(alpha if alpha is not None else [0.0] * n),
        trading_cost=series([cost] * n),
        trading_impact=series([cost] * n),
        tradable_share=series([1.0] * n),
        hqla=pd.DataFrame({"level1": 1.0, "level2a": 0.0, "level2b": 0.0}, index=managers).reindex(
            columns=list(HQLA_LEVELS)
        ),
        illiquid_share=series([0.0] * n),
        notch=series([1.0] * n),
        sectors=pd.DataFrame({"gov": [1.0] * n}, index=managers),
        current=series(current),
        assets=1.0,
        liabilities=1.0,
    )


RISK_ONLY = ObjectiveWeights(
    liability_matching=1.0, yield_target=0.0, manager_skill=0.0, liquidity_buffer=0.0
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
    objective=RISK_ONLY,
)


def test_known_optimum_matches_the_liability_duration_exactly():
    # Two managers with durations 4 and 12 against liabilities of 9: w = (9 - 12) / (4 - 12)
    result = optimize(_toy([4.0, 12.0], 9.0, [0.5, 0.5]), LOOSE)
    # within 5e-5: the tie-breaking move penalty shifts the optimum by ~3e-5 of weight,
    # ~2e-6 of tracking error
    assert result.weights["M0"] == pytest.approx(3 / 8, abs=5e-5)
    assert result.summary["tracking_error_after"] == pytest.approx(0.0, abs=5e-6)


def test_the_objective_table_is_in_basis_points_and_money(demo_problem):
    mandate = Mandate()
    result = optimize(demo_problem, mandate)
    table = result.objective
    terms = table.drop(index="total")
    np.testing.assert_allclose(table.loc["total", "after_bp"], terms["after_bp"].sum())
    np.testing.assert_allclose(table["after"], table["after_bp"] * demo_problem.assets / 1e4)
    w, w0 = result.weights.to_numpy(), demo_problem.current.to_numpy()
    # Hand-computed at the default priorities: a dollar of yield is a dollar, risk aversion
    # 0.5 / 8%, half spread and impact amortized over 3 years, 50 bp on buffer up to the 10%
    # target.
    assert table.at["yield", "after_bp"] == pytest.approx(1e4 * demo_problem.yields @ w)
    te = demo_problem.tracking_error(w)
    assert table.at["surplus risk", "after_bp"] == pytest.approx(-1e4 * 0.5 * 0.5 / 0.08 * te**2)
    moved = np.abs(w - w0)
    cost = (
        demo_problem.trading_cost.to_numpy() @ moved
        + demo_problem.trading_impact.to_numpy() @ moved**1.5
    ) / 3.0
    assert table.at["trading cost", "after_bp"] == pytest.approx(-1e4 * cost)
    assert table.at["liquidity", "after_bp"] == pytest.approx(1e4 * 0.005 * 0.10)
    # The recommendation improves the objective it maximizes (today's weights are feasible).
    assert table.at["total", "change_bp"] > 0


def test_the_demo_limits_state_met_closing_or_not_met(demo_problem, demo_portfolio):
    mandate = demo_portfolio.mandate
    result = optimize(demo_problem, mandate)
    table = check_constraints(demo_problem, mandate, result.weights.to_numpy())
    assert table["allowed"].all(), table[~table["allowed"]]
    # Five key-rate gaps exceed the 0.1-year tolerance today (six before the securitized bonds
    # became MBS pools with option-adjusted key-rate durations); none widens, the long end
    # closes, and constraints_met is false while any limit is not met.
    gaps = table[table["kind"] == "gap"]
    beyond = gaps["before"] > mandate.krd_gap_tolerance
    assert beyond.sum() == 5
    assert (gaps.loc[beyond, "value"] <= gaps.loc[beyond, "before"] + 1e-6).all()
    assert (gaps.loc[["key-rate gap 20y", "key-rate gap 30y"], "status"] == "closing").all()
    assert set(gaps.loc[beyond, "status"]) <= {"closing", "not met"}
    assert not result.summary["constraints_met"]
    assert (table.loc[table["status"] == "met", "slack"] >= -1e-6).all()
    assert result.summary["tracking_error_after"] <= 0.08
    assert result.summary["yield_after"] >= 0.045 - 1e-9
    # The gaps table is the same definition: years and DV01 of assets.
    np.testing.assert_allclose(result.gaps["gap_after"].abs(), gaps["value"].to_numpy())
    np.testing.assert_allclose(
        result.gaps["dv01_after"], result.gaps["gap_after"] * demo_problem.assets * 1e-4
    )


def test_gaps_closed_fastest_reach_the_least_breach_the_turnover_allows(demo_problem):
    # "fastest": the breached gaps close as far as pace allows before the objective chooses;
    # an independent program finds the least sum of breaches (in tenths of a year).
    mandate = Mandate(gap_closing="fastest")
    fastest = optimize(demo_problem, mandate)
    priced = optimize(demo_problem, Mandate())
    gap = lambda r: (r.gaps["gap_after"].abs() - 0.1).clip(lower=0).sum()  # noqa: E731
    w0 = demo_problem.current.to_numpy()
    w = cp.Variable(len(w0))
    x = demo_problem.exposures[demo_problem.key_columns].to_numpy()
    scale = demo_problem.liabilities / demo_problem.assets
    target = demo_problem.liability[demo_problem.key_columns].to_numpy() * scale
    excess = cp.pos(cp.abs(x.T @ w - target) - 0.1)
    cons = [
        cp.sum(w) == 1,
        w >= 0.01,
        w <= 0.2,
        0.5 * cp.norm1(w - w0) <= 0.1,
        cp.abs(w - w0) <= 0.05,
        cp.abs(demo_problem.notch.to_numpy() @ (w - w0)) <= 1.0,
        demo_problem.sectors.to_numpy().T @ (w - w0) <= 0.05,
        demo_problem.illiquid_share.to_numpy() @ w <= 0.3,
        demo_problem.yields.to_numpy() @ w >= 0.045,
    ]
    least = cp.Problem(cp.Minimize(cp.sum(excess)), cons)
    least.solve(solver=cp.CLARABEL)
    assert gap(fastest) == pytest.approx(least.value, abs=1e-4)
    assert gap(fastest) < gap(priced)
    # The price of closing fastest: the objective gives up what the priced choice earns.
    assert fastest.summary["objective_bp_after"] < priced.summary["objective_bp_after"]


def test_the_liquid_buffer_is_the_liquidity_desks(demo_ctx, demo_problem):
    desk = liquidity.analyze(demo_ctx)
    now = demo_problem.liquid_buffer(demo_problem.current.to_numpy())
    assert now == pytest.approx(desk.summary["buffer_share"], rel=1e-9)
    assert now == pytest.approx(0.3879, abs=5e-5)  # not the uncapped share


# The seven mandates of the allocation issue: each refused with its relaxation in its unit,
# except the tracking-error limit of 3.5%, which an allocation can reach (the least is 1.6%):
# today's 4.5% is a starting point.
INFEASIBLE = {
    "target yield 9%": (
        {"target_yield": 0.09},
        r"lower yield by [\d.]+ points \(9\.00% to 5\.\d\d%\)",
    ),
    "tracking error 0.1%": (
        {"max_tracking_error": 0.001},
        r"raise tracking error by 1\.\d\d points \(0\.10% to 1\.\d\d%\)",
    ),
    "zero turnover with an exit": (
        {"turnover": 0.0, "exit_managers": ("M01",), "exit_immediately": True},
        r"raise turnover \(one-way\) by 7\.52 points \(0\.00% to 7\.52%\)",
    ),
    "max shift 0.1% with an exit": (
        {"max_shift": 0.001, "exit_managers": ("M01",), "exit_immediately": True},
        r"raise max shift by [\d.]+ points \(0\.10% to",
    ),
    "yield 6% with tracking error 2%": (
        {"target_yield": 0.06, "max_tracking_error": 0.02},
        # the least relaxation lowers the yield alone; no tracking error reaches 6%
        r"lower yield by 1\.1\d points \(6\.00% to 4\.[89]\d%\)$",
    ),
    "two exits": (
        {"exit_managers": ("M01", "M02"), "exit_immediately": True},
        r"raise turnover \(one-way\) by 4\.10 points \(10\.00% to 14\.10%\)",
    ),
}


@pytest.mark.parametrize("case", list(INFEASIBLE))
def test_an_infeasible_mandate_names_each_relaxation_in_its_unit(demo_problem, case):
    change, pattern = INFEASIBLE[case]
    with pytest.raises(InfeasibleMandate, match=pattern):
        optimize(demo_problem, Mandate(**change))


@pytest.mark.parametrize("case", ["target yield 9%", "two exits", "tracking error 0.1%"])
def test_the_named_relaxation_makes_the_mandate_feasible(demo_problem, case):
    change, _ = INFEASIBLE[case]
    with pytest.raises(InfeasibleMandate) as err:
        optimize(demo_problem, Mandate(**change))
    # Apply the relaxation the message names (a hair beyond it): the mandate then solves.
    text = str(err.value)
    name, old, new = re.search(
        r"(?:raise|lower) (.+?) by [\d.]+ points \(([\d.]+)% to ([\d.]+)%", text
    ).groups()
    field = {"yield": "target_yield", "tracking error": "max_tracking_error"}.get(name, "turnover")
    nudge = 1e-4 if float(new) > float(old) else -1e-4
    relaxed = Mandate(**{**change, field: float(new) / 100 + nudge})
    result = optimize(demo_problem, relaxed)
    assert result.constraints["allowed"].all()


def test_an_alternative_is_offered_when_one_limit_alone_suffices():
    # Two managers: one yields 6% with duration 12 against liabilities of 9, one 4% matched.
    # Yield 5.5% needs TE 2.25%; a 1% TE limit allows at most 4.67%: relax either.
    problem = _toy([9.0, 12.0], 9.0, [0.9, 0.1], yields=[0.04, 0.06], cov=1e-4)
    mandate = LOOSE.model_copy(update={"target_yield": 0.055, "max_tracking_error": 0.01})
    with pytest.raises(InfeasibleMandate) as err:
        optimize(problem, mandate)
    text = str(err.value)
    assert "lower yield by 0.83 points (5.50% to 4.67%)" in text
    assert "or raise tracking error by 1.25 points (1.00% to 2.25%) alone" in text


def test_a_key_rate_gap_conflict_is_named_in_years():
    # Two managers with durations 4 and 12 against liabilities of 9, a 0.2-year tolerance
    # met today; exiting the long manager at once leaves a 5-year gap.
    problem = _toy([4.0, 12.0], 9.0, [3 / 8, 5 / 8])
    mandate = LOOSE.model_copy(
        update={"krd_gap_tolerance": 0.2, "exit_managers": ("M1",), "exit_immediately": True}
    )
    with pytest.raises(
        InfeasibleMandate, match=r"widen the key-rate gap 10y tolerance by 4\.80 years"
    ):
        optimize(problem, mandate)


def test_a_book_above_its_tracking_error_limit_is_a_starting_point(demo_problem):
    # The demo's 4.46% against a limit of 3.84%: the system description's 9.3% against 8%.
    te0 = demo_problem.tracking_error(demo_problem.current.to_numpy())
    mandate = Mandate(max_tracking_error=te0 * 8.0 / 9.3)
    result = optimize(demo_problem, mandate)
    row = result.constraints.loc["tracking error"]
    assert row["before"] == pytest.approx(te0)
    assert row["value"] < row["before"] - 1e-4
    assert row["status"] in ("closing", "met")
    assert not result.summary["constraints_met"] or row["status"] == "met"


def _least_te_within_pace(problem, mandate, pace=True):
    """Independent check: the least tracking error the turnover and shifts allow."""
    w0 = problem.current.to_numpy()
    w = cp.Variable(len(w0))
    te = cp.norm(
        cp.hstack(
            [
                problem.factor_root()
                @ (problem.exposures.to_numpy().T @ w - problem.liability.to_numpy()),
                cp.multiply(problem.residual_vol.to_numpy(), w),
            ]
        )
    )
    cons = [cp.sum(w) == 1, w >= mandate.min_allocation, w <= mandate.max_allocation]
    if pace:
        cons += [0.5 * cp.norm1(w - w0) <= mandate.turnover, cp.abs(w - w0) <= mandate.max_shift]
    cp.Problem(cp.Minimize(te), cons).solve(solver=cp.CLARABEL)
    return float(te.value)


def test_breached_tracking_error_closes_as_far_as_turnover_allows_on_generated_books():
    # 40 generated books of 6 managers starting above a tracking-error limit some allocation
    # reaches but none within this cycle's turnover: the optimizer must reach the least
    # tracking error the turnover and shifts allow (an independent program).
    rng = np.random.default_rng(11)
    reached = 0
    for _ in range(40):
        x = rng.uniform(2.0, 16.0, 6)
        w0 = rng.dirichlet(np.ones(6) * 4)
        problem = _toy(
            x, 9.0, w0, yields=rng.uniform(0.03, 0.07, 6), alpha=rng.normal(0, 0.01, 6),
            residual=0.01, cost=1e-3,
        )  # fmt: skip
        te0 = problem.tracking_error(w0)
        mandate = LOOSE.model_copy(
            update={"turnover": 0.05, "max_shift": 0.05, "objective": ObjectiveWeights()}
        )
        ever = _least_te_within_pace(problem, mandate, pace=False)
        limit = ever + (te0 - ever) * rng.uniform(0.1, 0.9)
        mandate = mandate.model_copy(update={"max_tracking_error": limit})
        best = _least_te_within_pace(problem, mandate)
        if best <= mandate.max_tracking_error:
            continue  # reachable this cycle: then it is met, checked below
        result = optimize(problem, mandate)
        assert result.constraints.at["tracking error", "status"] == "closing"
        assert result.summary["tracking_error_after"] == pytest.approx(best, abs=2e-6)
        reached += 1
    assert reached >= 10


def test_a_reachable_breach_is_met_when_turnover_allows():
    problem = _toy([4.0, 12.0], 9.0, [0.6, 0.4], residual=0.0)
    te0 = problem.tracking_error(problem.current.to_numpy())  # 0.8 * 1% = 0.8%
    mandate = LOOSE.model_copy(
        update={"max_tracking_error": te0 / 2, "objective": ObjectiveWeights()}
    )
    result = optimize(problem, mandate)
    assert result.constraints.at["tracking error", "status"] == "met"
    assert result.summary["constraints_met"]


def test_gradual_exits_obey_max_shift_and_immediate_exits_do_not(demo_problem):
    gradual = optimize(demo_problem, Mandate(exit_managers=("M01",)))
    assert gradual.weights["M01"] == pytest.approx(demo_problem.current["M01"] - 0.05, abs=1e-6)
    assert gradual.constraints.at["exited managers", "status"] == "closing"
    assert gradual.constraints.at["max shift", "value"] <= 0.05 + 1e-6
    immediate = optimize(demo_problem, Mandate(exit_managers=("M01",), exit_immediately=True))
    assert immediate.weights["M01"] == pytest.approx(0.0, abs=1e-7)
    assert immediate.constraints.at["exited managers", "status"] == "met"
    others = immediate.change.drop("M01").abs()
    assert others.max() <= 0.05 + 1e-6


def test_gap_tolerances_per_tenor_and_in_dv01_mean_the_same(demo_problem):
    years = Mandate(krd_gap_tolerance={"30y": 2.5, "20y": 1.0})
    per_bp = {k: v * demo_problem.assets * 1e-4 for k, v in {"30y": 2.5, "20y": 1.0}.items()}
    dv01 = Mandate(krd_gap_tolerance=per_bp, krd_gap_unit="dv01")
    a, b = optimize(demo_problem, years), optimize(demo_problem, dv01)
    np.testing.assert_allclose(a.weights, b.weights, atol=1e-6)
    assert a.gaps.at["30y", "tolerance"] == pytest.approx(2.5)
    assert b.gaps.at["30y", "tolerance"] == pytest.approx(2.5)
    assert a.gaps.at["7y", "tolerance"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"krd_gap_tolerance": {"25y": 1.0}}, r"names tenors \['25y'\]"),
        ({"exit_managers": ("M99",)}, r"does not have: \['M99'\]"),
    ],
)
def test_a_mandate_naming_what_the_book_lacks_is_refused(demo_problem, change, match):
    with pytest.raises(ValueError, match=match):
        optimize(demo_problem, Mandate(**change))


def test_bad_gap_tolerances_are_refused():
    with pytest.raises(ValueError, match="krd_gap_tolerance for 30y must be a positive"):
        Mandate(krd_gap_tolerance={"30y": -1.0})
    with pytest.raises(ValueError, match="krd_gap_unit"):
        Mandate(krd_gap_unit="bp")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"current": [0.47, 0.5]}, r"sum to 1, they sum to 0\.97"),
        (
            {"covariance": pd.DataFrame([[-1e-4]], index=["krd_10y"], columns=["krd_10y"])},
            "not positive semi-definite",
        ),
        ({"yields": [0.05, np.nan]}, "`yields` has missing"),
        ({"trading_cost": [-0.01, 0.0]}, "must be >= 0"),
        ({"trading_impact": [0.0, -0.01]}, "must be >= 0"),
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


def test_evidence_without_a_column_is_refused(demo_ctx):
    with pytest.raises(ValueError, match=r"evidence lacks the column\(s\) \['residual_vol'\]"):
        build_problem(demo_ctx, evidence=pd.DataFrame({"alpha_posterior": [0.0]}))


def test_min_above_max_is_refused():
    with pytest.raises(ValueError, match=r"min_allocation 0\.3 is above max_allocation"):
        Mandate(min_allocation=0.3, max_allocation=0.2)


def test_pareto_frontier_trades_tracking_error_for_yield_monotonically(demo_problem):
    mandate = Mandate(krd_gap_tolerance=5.0)  # gaps met today: the frontier has room
    program = AllocationProgram(demo_problem, mandate)
    frontier = pareto_frontier(demo_problem, points=5, program=program)
    assert len(frontier) == 5
    assert np.all(np.diff(frontier["expected_return"]) >= -1e-9)
    assert np.all(np.diff(frontier["tracking_error"]) >= -1e-7)
    assert frontier["expected_return"].iloc[-1] > frontier["expected_return"].iloc[0] + 1e-4
    managers = list(demo_problem.managers)
    for _, row in frontier.iterrows():
        table = check_constraints(demo_problem, mandate, row[managers].to_numpy(dtype=float))
        assert table["ok"].all(), table[~table["ok"]]
        assert row["expected_return"] >= row["target_return"] - 1e-7
    # Its first point is the least tracking error any mandate-abiding mix reaches, and the
    # recommendation (same compiled program) is not dominated by any frontier point.
    low = optimize(demo_problem, mandate.model_copy(update={"objective": RISK_ONLY}))
    assert frontier["tracking_error"].iloc[0] <= low.summary["tracking_error_after"] + 1e-6
    rec = optimize(demo_problem, program=program).summary
    net = rec["yield_after"] - rec["expected_loss_after"]
    dominated = (frontier["expected_return"] >= net + 1e-7) & (
        frontier["tracking_error"] <= rec["tracking_error_after"] - 1e-7
    )
    assert not dominated.any()


def test_pareto_frontier_on_a_toy_with_a_known_answer():
    # One manager matches the liabilities and yields 4%; the other yields 6% with duration 12
    # against 9: for a yield target y, w1 = (y - 0.04) / 0.02 and TE = |12 - 9| * w1 * 1%.
    problem = _toy([9.0, 12.0], 9.0, [0.5, 0.5], yields=[0.04, 0.06], cov=1e-4)
    mandate = LOOSE.model_copy(update={"max_tracking_error": 0.05})
    frontier = pareto_frontier(problem, mandate, points=3)
    # within 1e-5: the tie-breaking move penalty pulls each point ~1e-4 of weight toward today
    np.testing.assert_allclose(frontier["yield"], [0.04, 0.05, 0.06], atol=1e-5)
    np.testing.assert_allclose(frontier["tracking_error"], [0.0, 0.015, 0.03], atol=1e-5)
    with pytest.raises(ValueError, match="at least 2 points"):
        pareto_frontier(problem, LOOSE, points=1)


def test_an_unknown_solver_is_named(demo_problem):
    with pytest.raises(ValueError, match="solver 'GUROBI_PLEASE' is not installed"):
        optimize(demo_problem, Mandate(), solver="GUROBI_PLEASE")


def test_a_second_solver_finds_the_same_optimum(demo_problem):
    mandate = Mandate(krd_gap_tolerance=5.0)
    clarabel = optimize(demo_problem, mandate)
    scs = optimize(demo_problem, mandate, solver="SCS")
    # SCS is a first-order method: the same objective to its default accuracy (bp a year).
    assert clarabel.summary["objective_bp_after"] == pytest.approx(
        scs.summary["objective_bp_after"], abs=0.05
    )


def test_the_program_is_compiled_once_and_re_solved(demo_problem):
    program = AllocationProgram(demo_problem, Mandate())
    first = optimize(demo_problem, program=program)
    pareto_frontier(demo_problem, points=3, program=program)
    again = optimize(demo_problem, program=program)
    np.testing.assert_allclose(first.weights, again.weights, atol=1e-7)
    fresh = optimize(demo_problem, Mandate())
    np.testing.assert_allclose(first.weights, fresh.weights, atol=1e-7)
    assert program.program.is_dcp(dpp=True)


def test_a_program_re_paced_solves_as_one_compiled_for_that_pace(demo_problem):
    # The glide path's target (no pace limits) re-solves the recommendation's program.
    mandate = Mandate()
    free = mandate.model_copy(update={"turnover": 2.0, "max_shift": 1.0})
    program = AllocationProgram(demo_problem, mandate)
    paced = program.with_pace(free)
    fresh = AllocationProgram(demo_problem, free)
    np.testing.assert_array_equal(paced.rooms(), fresh.rooms())
    np.testing.assert_array_equal(paced.solve_for("utility"), fresh.solve_for("utility"))
    # The program keeps its own pace beside the re-paced one.
    again = AllocationProgram(demo_problem, mandate).solve_for("utility")
    np.testing.assert_array_equal(program.solve_for("utility"), again)
    with pytest.raises(ValueError, match="differ in more than their pace"):
        program.with_pace(mandate.model_copy(update={"max_tracking_error": 0.05}))


def test_a_re_paced_program_diagnoses_its_own_pace(demo_problem):
    # Each relaxation is weighed in its own limit's unit: a zero turnover's, not the compiled
    # program's 10%.
    exit_now = Mandate(exit_managers=("M01",), exit_immediately=True)
    stuck = exit_now.model_copy(update={"turnover": 0.0})
    with pytest.raises(InfeasibleMandate) as fresh:
        AllocationProgram(demo_problem, stuck).solve_for("utility")
    with pytest.raises(InfeasibleMandate) as paced:
        AllocationProgram(demo_problem, exit_now).with_pace(stuck).solve_for("utility")
    assert str(paced.value) == str(fresh.value)
    assert "raise turnover (one-way) by 7.52 points (0.00% to 7.52%)" in str(paced.value)


# Generated problems for the properties: 4 managers, one key rate, with room to move.
SMALL_MANDATE = LOOSE.model_copy(
    update={
        "max_allocation": 0.6,
        "turnover": 0.3,
        "max_shift": 0.2,
        "objective": ObjectiveWeights(),
    }
)
_books = {
    "x": st.lists(st.floats(2.0, 14.0), min_size=4, max_size=4),
    "yields": st.lists(st.floats(0.03, 0.07), min_size=4, max_size=4),
    "alpha": st.lists(st.floats(-0.01, 0.03), min_size=4, max_size=4),
}


@settings(max_examples=25)  # each example solves two cone programs
@given(**_books, who=st.integers(0, 3), bump=st.floats(0.001, 0.03))
def test_a_higher_posterior_alpha_never_lowers_that_managers_weight(x, yields, alpha, who, bump):
    base = _toy(x, 7.0, [0.25] * 4, yields=yields, alpha=alpha, residual=0.01, cost=5e-4)
    raised = dataclasses.replace(
        base, alpha=base.alpha + pd.Series(np.eye(4)[who] * bump, index=base.managers)
    )
    before = optimize(base, SMALL_MANDATE).weights.iloc[who]
    after = optimize(raised, SMALL_MANDATE).weights.iloc[who]
    assert after >= before - 1e-6


@settings(max_examples=25)
@given(**_books, low=st.floats(0.05, 2.0), factor=st.floats(1.2, 10.0))
def test_more_risk_aversion_never_raises_tracking_error(x, yields, alpha, low, factor):
    problem = _toy(x, 7.0, [0.25] * 4, yields=yields, alpha=alpha, residual=0.01, cost=5e-4)
    tes = []
    for priority in (low, low * factor):
        objective = ObjectiveWeights(liability_matching=0.35 * priority)
        mandate = SMALL_MANDATE.model_copy(update={"objective": objective})
        tes.append(optimize(problem, mandate).summary["tracking_error_after"])
    assert tes[1] <= tes[0] + 1e-6


@settings(max_examples=20)
@given(x=_books["x"], alpha=_books["alpha"])
def test_removing_skill_evidence_moves_toward_the_least_tracking_error_mix(x, alpha):
    # Equal yields and no trading cost: what separates managers is risk and evidence.
    problem = _toy(x, 7.0, [0.25] * 4, alpha=alpha, residual=0.01)
    least = optimize(problem, SMALL_MANDATE.model_copy(update={"objective": RISK_ONLY}))
    tes = []
    for strength in (1.0, 0.5, 0.0):  # the evidence scaled down to nothing
        shrunk = dataclasses.replace(problem, alpha=problem.alpha * strength)
        tes.append(optimize(shrunk, SMALL_MANDATE).summary["tracking_error_after"])
    assert tes[0] >= tes[1] - 1e-6 >= tes[2] - 2e-6
    assert tes[2] == pytest.approx(least.summary["tracking_error_after"], abs=1e-5)


def test_objective_table_at_todays_weights_changes_nothing(demo_problem):
    table = objective_table(demo_problem, Mandate(), demo_problem.current.to_numpy())
    np.testing.assert_allclose(table["change_bp"], 0.0, atol=1e-12)
    assert table.at["trading cost", "after_bp"] == 0.0


def _least_te_under_every_limit(problem, mandate):
    """Independent program: the least tracking error this cycle's limits allow, key-rate gaps
    no wider than today (or within tolerance)."""
    w0 = problem.current.to_numpy()
    w = cp.Variable(len(w0))
    x = problem.exposures.to_numpy()
    te = cp.norm(
        cp.hstack(
            [
                problem.factor_root() @ (x.T @ w - problem.liability.to_numpy()),
                cp.multiply(problem.residual_vol.to_numpy(), w),
            ]
        )
    )
    xk = problem.exposures[problem.key_columns].to_numpy()
    scale = problem.liabilities / problem.assets
    target = problem.liability[problem.key_columns].to_numpy() * scale
    gap_room = np.maximum(mandate.krd_gap_tolerance, np.abs(xk.T @ w0 - target))
    l1, l2a, l2b = (problem.hqla[c].to_numpy() @ w for c in problem.hqla.columns)
    cons = [
        cp.sum(w) == 1,
        w >= mandate.min_allocation,
        w <= mandate.max_allocation,
        0.5 * cp.norm1(w - w0) <= mandate.turnover,
        cp.abs(w - w0) <= mandate.max_shift,
        cp.abs(problem.notch.to_numpy() @ (w - w0)) <= mandate.max_rating_drift,
        problem.sectors.to_numpy().T @ (w - w0) <= mandate.max_sector_overweight,
        problem.yields.to_numpy() @ w >= mandate.target_yield,
        problem.illiquid_share.to_numpy() @ w <= mandate.max_illiquid,
        cp.abs(xk.T @ w - target) <= gap_room,
    ]
    cons += [
        b >= mandate.liquidity_buffer
        for b in (l1 + l2a + l2b, (l1 + l2a) / 0.85, 1.25 * l1 + l2a, l1 / 0.6)
    ]
    cp.Problem(cp.Minimize(te), cons).solve(solver=cp.CLARABEL)
    return float(te.value)


@pytest.mark.parametrize(
    ("managers", "securities", "seed"), [(20, 800, 1), (40, 1500, 2), (60, 2000, 3)]
)
def test_generated_books_above_their_tracking_error_limit_close_it_as_far_as_allowed(
    managers, securities, seed
):
    # Books of other sizes and seeds whose limit sits where the system description's book
    # stood (9.3% against 8%): never refused; the tracking error falls to the least any
    # allocation within this cycle's limits reaches, or meets the limit.
    portfolio = data.synthetic(managers, securities, seed)
    problem = build_problem(DeskContext(portfolio))
    te0 = problem.tracking_error(problem.current.to_numpy())
    mandate = portfolio.mandate.model_copy(update={"max_tracking_error": te0 * 8.0 / 9.3})
    result = optimize(problem, mandate)
    row = result.constraints.loc["tracking error"]
    assert row["before"] == pytest.approx(te0)
    best = _least_te_under_every_limit(problem, mandate)
    if best <= mandate.max_tracking_error:
        assert row["status"] == "met"
        assert row["value"] <= mandate.max_tracking_error + 1e-6
    else:
        assert row["status"] == "closing"
        assert row["value"] == pytest.approx(best, abs=2e-6)
    others = result.constraints[(result.constraints["kind"] != "gap")].drop(index="tracking error")
    assert others["ok"].all(), others[~others["ok"]]


def test_a_funded_extension_takes_its_value_from_the_weights_and_counts_in_turnover():
    # Managers of duration 4 against liabilities of 9; STRIPS bought with cash (f per unit of
    # assets, 10 years each) take their value from the weights: (1 - f) 4 + 10 f = 9 at
    # f = 5/6, so the least tracking error buys as many as the cap allows.
    problem = _toy([4.0, 4.0], 9.0, [0.5, 0.5])

    def strips(w):
        f = cp.Variable(nonneg=True)
        return Extension(
            variables=[f],
            exposure=cp.hstack([10.0 * f]),
            level1=f,
            funded=f,
            constraints=[f <= 0.5],
        )

    def solved(mandate):
        program = AllocationProgram(problem, mandate, extension=strips)
        w = program.solve_for("tracking_error")
        return w, float(program.extension.variables[0].value)

    w, f = solved(LOOSE)
    assert f == pytest.approx(0.5, abs=1e-5)
    assert w.sum() + f == pytest.approx(1.0, abs=1e-7)
    # The sales that pay for them are turnover: 0.5 (|dw| + f) = f, so a 20% limit allows 0.2.
    w, f = solved(LOOSE.model_copy(update={"turnover": 0.2}))
    assert f == pytest.approx(0.2, abs=1e-5)
    assert 0.5 * (np.abs(w - 0.5).sum() + f) <= 0.2 + 1e-6


def test_an_extension_adds_variables_with_exposures_carry_and_liquidity():
    # Two managers of duration 4 against liabilities of 9: no mix matches them. A receiver
    # swap of notional s (per unit of assets) adds 6 years of 10y duration per unit, costs
    # 10 bp of carry per unit and posts 5% of its notional as margin out of Level 1.
    problem = _toy([4.0, 4.0], 9.0, [0.5, 0.5], yields=[0.05, 0.05])

    def swap(w):
        s = cp.Variable(nonneg=True)
        return Extension(
            variables=[s],
            exposure=cp.hstack([6.0 * s]),
            yield_pickup=-0.001 * s,
            level1=-0.05 * s,
            constraints=[s <= 2.0],
        )

    def least_te(mandate):
        program = AllocationProgram(problem, mandate, extension=swap)
        w = program.solve_for("tracking_error")
        assert w.sum() == pytest.approx(1.0)
        return float(program.extension.variables[0].value)

    # A yield floor of 4.9% and a 95% buffer each allow s <= 1: the gap closes at s = 5/6.
    roomy = LOOSE.model_copy(update={"target_yield": 0.049, "liquidity_buffer": 0.95})
    assert least_te(roomy) == pytest.approx(5 / 6, abs=1e-5)
    # A yield floor of 4.95% allows only half a unit of carry, a 97.5% buffer a quarter.
    assert least_te(roomy.model_copy(update={"target_yield": 0.0495})) == pytest.approx(
        0.5, abs=1e-5
    )
    assert least_te(roomy.model_copy(update={"liquidity_buffer": 0.9875})) == pytest.approx(
        0.25, abs=1e-5
    )


def test_the_impact_tangents_stay_within_their_stated_error():
    # The program prices |dw| ** 1.5 by the maximum of its tangents: never above it, below it
    # by at most the stated share (moves of 0.1% or more) or the stated amount (smaller).
    from fialloc.allocation_program import (
        IMPACT_ABSOLUTE_ERROR,
        IMPACT_RELATIVE_ERROR,
        impact_tangents,
    )

    slopes, intercepts = impact_tangents()
    x = np.concatenate([np.linspace(0.0, 1e-3, 20_001), np.geomspace(1e-3, 1.0, 200_001)])
    envelope = (np.outer(x, slopes) + intercepts).max(axis=1)
    exact = x**1.5
    assert (envelope <= exact + 1e-15).all()
    small = x < 1e-3
    assert (exact - envelope)[small].max() <= IMPACT_ABSOLUTE_ERROR * (1 + 1e-9)
    relative = ((exact - envelope)[~small] / exact[~small]).max()
    # Tight: the bound is reached (to 2%), not a loose guess.
    assert 0.98 * IMPACT_RELATIVE_ERROR <= relative <= IMPACT_RELATIVE_ERROR


def test_expected_credit_loss_is_rating_probability_times_loss_given_default(demo_ctx):
    # By hand on three securities: a BB corporate, a B corporate and a Treasury.
    ratings = pd.Series(["BB+", "B-", "AA+"])
    sectors = pd.Series(["corporate", "high_yield", "treasury"])
    got = expected_loss_rate(ratings, sectors)
    np.testing.assert_allclose(got, [0.006 * 0.6, 0.031 * 0.6, 0.0])
    assert DEFAULT_PROBABILITY["CCC"] > DEFAULT_PROBABILITY["B"] > DEFAULT_PROBABILITY["BB"]
    # A mandate's override replaces the letters it names only.
    over = expected_loss_rate(ratings, sectors, {"B": 0.05}, 0.5)
    np.testing.assert_allclose(over, [0.006 * 0.5, 0.05 * 0.5, 0.0])
    with pytest.raises(ValueError, match="unknown rating letters"):
        expected_loss_rate(ratings, sectors, {"Z": 0.1})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        expected_loss_rate(ratings, sectors, {"B": 3.0})
    with pytest.raises(ValueError, match="default_probability"):
        Mandate(credit_loss={"default_probability": {"B": 3.0}})
    # Per manager: the value-weighted loss of its holdings; the objective counts yield less it.
    problem = build_problem(demo_ctx)
    p = demo_ctx.portfolio
    share = p.market_values.div(p.market_values.sum(axis=1), axis=0)
    sec = p.securities.loc[share.columns]
    by_hand = share @ expected_loss_rate(sec["rating"], sec["sector"])
    np.testing.assert_allclose(problem.expected_loss, by_hand.reindex(problem.managers))
    w = problem.current.to_numpy()
    table = objective_table(problem, Mandate(), w)
    assert table.at["expected credit loss", "after_bp"] == pytest.approx(
        -1e4 * problem.expected_loss.to_numpy() @ w
    )


def test_a_higher_expected_loss_never_raises_that_managers_weight(demo_problem):
    # The high-yield managers' weights fall (never rise) as their default probability rises.
    worst = demo_problem.expected_loss.idxmax()
    base = optimize(demo_problem, Mandate()).weights[worst]
    bumped = dataclasses.replace(
        demo_problem,
        expected_loss=demo_problem.expected_loss + 0.01 * (demo_problem.managers == worst),
    )
    assert optimize(bumped, Mandate()).weights[worst] <= base + 1e-6
    # Without the loss term the high-yield carry counts as return, and they weigh more.
    free = dataclasses.replace(demo_problem, expected_loss=demo_problem.expected_loss * 0.0)
    assert optimize(free, Mandate()).weights[worst] >= base - 1e-6


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_the_frontier_settles_every_point_on_generated_books(seed, synthetic_book):
    # The ends are their own problems and every floor between lies strictly inside: no point
    # needs a fallback, the returns rise and the tracking errors with them.
    portfolio = synthetic_book(20, 600, seed)
    problem = build_problem(DeskContext(portfolio))
    program = AllocationProgram(problem, portfolio.mandate)
    frontier = pareto_frontier(problem, points=6, program=program)
    net = problem.yields.to_numpy() - problem.expected_loss.to_numpy()
    low = program.solve_for("tracking_error")
    high = program.solve_for("expected_return")
    assert frontier["expected_return"].iloc[0] == pytest.approx(net @ low, abs=1e-9)
    assert frontier["expected_return"].iloc[-1] == pytest.approx(net @ high, abs=1e-9)
    assert np.all(np.diff(frontier["expected_return"]) >= -1e-9)
    assert np.all(np.diff(frontier["tracking_error"]) >= -1e-7)
    assert (frontier["expected_return"] >= frontier["target_return"] - 1e-7).all()
    managers = list(problem.managers)
    for _, row in frontier.iterrows():
        table = check_constraints(problem, portfolio.mandate, row[managers].to_numpy(dtype=float))
        assert table["allowed"].all(), table[~table["allowed"]]
