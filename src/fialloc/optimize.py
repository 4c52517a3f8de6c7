"""Manager allocation: one objective in money a year, limits that mean what they say.

The objective (maximized; every term in basis points of assets a year and in money):

``yield'w`` + ``alpha'w`` (posterior expected selection alpha from the skill evidence)
- ``sum_m (cost_m |w_m - w0_m| + impact_m (w_m - w0_m)^2) / amortization_years`` (half the
  bid-ask and market impact on every sleeve moved)
- ``risk_aversion / 2 x TE(w)^2`` (the variance of the return of assets against liabilities)
+ ``liquidity_premium x min(liquid buffer(w), target)``.

The mandate's priorities scale the coefficients (:func:`fialloc.allocation_program.coefficients`).
Limits (:mod:`fialloc.allocation_limits`) hold as the README says: a limit today's book
meets stays met; one it breaches is closed as far as turnover, shifts and the other limits
allow before the objective chooses (a starting point, not an error); only a mandate no
allocation could ever meet is refused, with the smallest relaxation of each conflicting limit
in its unit. The program is compiled once and re-solved for the recommendation, the frontier
and the least-shortfall weights (:mod:`fialloc.allocation_program`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.allocation_limits import check_constraints, gap_tolerances
from fialloc.allocation_problem import AllocationProblem, build_problem, turnover
from fialloc.allocation_program import (
    AllocationProgram,
    Extension,
    InfeasibleMandate,
    coefficients,
)
from fialloc.data.mandate import Mandate

__all__ = [
    "AllocationProblem",
    "AllocationProgram",
    "AllocationResult",
    "Extension",
    "InfeasibleMandate",
    "allocation_result",
    "build_problem",
    "check_constraints",
    "objective_table",
    "optimize",
    "pareto_frontier",
    "turnover",
]


#: Weight changes below this (decimal of assets: $4,000 on $40B) are solver noise.
NOISE = 1e-7


@dataclass(frozen=True)
class AllocationResult:
    """Weights with every limit's value and status, every objective term and the gaps.

    Attributes
    ----------
    weights, change : Series
        Weights and their change from today, per manager.
    constraints : DataFrame
        :func:`fialloc.allocation_limits.check_constraints` at the weights.
    objective : DataFrame
        :func:`objective_table` at today's weights and these.
    exposures : DataFrame
        Factor exposures (years) today, at these weights, and the liabilities' per unit of
        their value.
    gaps : DataFrame
        Per tenor: the key-rate gap today and at these weights in years (``gap_before``,
        ``gap_after``) and DV01 (money per basis point), and the tolerance (years).
    summary : dict
        Yield, tracking error, surplus volatility, liquid buffer and objective before and
        after, turnover, and ``constraints_met`` (every limit met).
    status : str
        The solver's status.
    """

    weights: pd.Series
    change: pd.Series
    constraints: pd.DataFrame
    objective: pd.DataFrame
    exposures: pd.DataFrame
    gaps: pd.DataFrame
    summary: dict[str, float]
    status: str


def objective_table(problem: AllocationProblem, mandate: Mandate, w: npt.ArrayLike) -> pd.DataFrame:
    """Each objective term at today's weights and at `w`: basis points and money a year.

    Terms: ``yield``, ``alpha`` (posterior), ``trading cost`` (amortized, negative),
    ``surplus risk`` (risk aversion / 2 x tracking error squared, negative), ``liquidity``
    and ``total``, each weighted by the mandate's priorities (:func:`coefficients`). Columns
    ``before_bp``, ``after_bp``, ``change_bp`` (basis points of assets a year) and
    ``before``, ``after``, ``change`` (money a year).
    """
    c = coefficients(mandate)
    w0 = problem.current.to_numpy()

    def terms(x: npt.NDArray[np.float64]) -> dict[str, float]:
        return {
            "yield": c.yield_multiplier * float(problem.yields.to_numpy() @ x),
            "alpha": c.alpha_multiplier * float(problem.alpha.to_numpy() @ x),
            "trading cost": -float(
                problem.trading_cost.to_numpy() @ np.abs(x - w0)
                + problem.trading_impact.to_numpy() @ (x - w0) ** 2
            )
            / c.amortization_years,
            "surplus risk": -0.5 * c.risk_aversion * problem.tracking_error(x) ** 2,
            "liquidity": c.liquidity_premium
            * min(problem.liquid_buffer(x), mandate.liquidity_buffer),
        }

    table = pd.DataFrame(
        {"before": terms(w0), "after": terms(np.asarray(w, dtype=float))}
    ).rename_axis("term")
    table.loc["total"] = table.sum()
    table["change"] = table["after"] - table["before"]
    bp = (table * 1e4).add_suffix("_bp")
    return pd.concat([bp, table * problem.assets], axis=1)


def allocation_result(
    problem: AllocationProblem, mandate: Mandate, w: npt.ArrayLike, status: str = "given"
) -> AllocationResult:
    """Report weights `w` (clipped at zero and normalized) against the problem and mandate.

    A change from today smaller than :data:`NOISE` is the solver's tolerance, not a trade: it
    is set to zero (the sum's remainder goes to the largest change), so the plan never trades
    dust.
    """
    weights = np.clip(np.asarray(w, dtype=float), 0.0, None)
    weights /= weights.sum()
    w0 = problem.current.to_numpy()
    change = np.where(np.abs(weights - w0) < NOISE, 0.0, weights - w0)
    change[np.argmax(np.abs(change))] -= change.sum()
    weights = np.clip(w0 + change, 0.0, None)
    x = problem.exposures.to_numpy()
    exposures = pd.DataFrame(
        {
            "current": x.T @ w0,
            "recommended": x.T @ weights,
            "liabilities": problem.liability.to_numpy(),
        },
        index=problem.exposures.columns,
    )
    before, after = problem.gaps(w0), problem.gaps(weights)
    gaps = pd.DataFrame(
        {
            "gap_before": before["gap"],
            "gap_after": after["gap"],
            "dv01_before": before["gap_dv01"],
            "dv01_after": after["gap_dv01"],
            "tolerance": gap_tolerances(problem, mandate),
        }
    ).rename_axis("tenor")
    constraints = check_constraints(problem, mandate, weights)
    objective = objective_table(problem, mandate, weights)
    return AllocationResult(
        weights=pd.Series(weights, index=problem.managers, name="weight"),
        change=pd.Series(weights - w0, index=problem.managers, name="change"),
        constraints=constraints,
        objective=objective,
        exposures=exposures,
        gaps=gaps,
        summary={
            "yield_before": float(problem.yields.to_numpy() @ w0),
            "yield_after": float(problem.yields.to_numpy() @ weights),
            "tracking_error_before": problem.tracking_error(w0),
            "tracking_error_after": problem.tracking_error(weights),
            "surplus_vol_before": problem.surplus_vol(w0),
            "surplus_vol_after": problem.surplus_vol(weights),
            "liquid_buffer_before": problem.liquid_buffer(w0),
            "liquid_buffer_after": problem.liquid_buffer(weights),
            "objective_bp_before": float(cast(float, objective.at["total", "before_bp"])),
            "objective_bp_after": float(cast(float, objective.at["total", "after_bp"])),
            "turnover": turnover(weights, w0),
            "constraints_met": float(constraints["ok"].all()),
        },
        status=status,
    )


def optimize(
    problem: AllocationProblem,
    mandate: Mandate | None = None,
    solver: str = "CLARABEL",
    *,
    program: AllocationProgram | None = None,
) -> AllocationResult:
    """Recommend manager weights: the mandate's objective in money, within its limits.

    `solver` names any installed cvxpy solver for second-order cones (Clarabel by default;
    SCS is the first-order alternative); pass a compiled `program` to re-solve it instead
    (its problem and mandate are used).

    Raises
    ------
    InfeasibleMandate
        If no allocation could ever meet the mandate, or this cycle's pace limits conflict;
        the message names the smallest relaxation of each conflicting limit, in its unit,
        and the alternatives (one limit relaxed alone).
    """
    if program is None:
        program = AllocationProgram(problem, mandate or Mandate(), solver=solver)
    w = program.solve_for("utility")
    return allocation_result(program.problem, program.mandate, w, str(program.program.status))


def pareto_frontier(
    problem: AllocationProblem,
    mandate: Mandate | None = None,
    points: int = 9,
    *,
    program: AllocationProgram | None = None,
) -> pd.DataFrame:
    """Trace the efficient frontier between tracking error and yield under the mandate.

    The frontier runs from the lowest tracking error the mandate allows to the highest yield
    it allows; each point minimizes tracking error for a yield at least a step further along.
    Every point re-solves one compiled program (`program`, or one compiled here).

    Returns
    -------
    DataFrame
        One row per point: ``target_yield``, ``yield`` (decimals), ``tracking_error``
        (decimal, annual), ``surplus_vol`` (money, annual), then one column of weights per
        manager.

    Raises
    ------
    ValueError
        If `points` < 2 or the mandate itself cannot be met.
    """
    if isinstance(points, bool) or not isinstance(points, int | np.integer) or points < 2:
        msg = f"pareto_frontier: need at least 2 points, got {points}"
        raise ValueError(msg)
    if program is None:
        program = AllocationProgram(problem, mandate or Mandate())
    problem = program.problem
    y = problem.yields.to_numpy()
    low = program.solve_for("tracking_error")
    high = program.solve_for("yield")
    rows = []
    # A hair below each target: the end points themselves came from a solver's tolerance.
    targets = np.linspace(float(y @ low), float(y @ high), points)
    for k, target in enumerate(targets):
        try:
            solved = program.solve_for("tracking_error", yield_floor=target - 1e-9)
        except InfeasibleMandate:
            if k < len(targets) - 1:
                raise
            # At the very top the floor leaves the solver almost no room: the highest-yield
            # allocation itself is that point.
            solved = high
        w = np.clip(solved, 0.0, None)
        w /= w.sum()
        rows.append(
            {
                "target_yield": float(target),
                "yield": float(y @ w),
                "tracking_error": problem.tracking_error(w),
                "surplus_vol": problem.surplus_vol(w),
                **{str(m): float(v) for m, v in zip(problem.managers, w, strict=True)},
            }
        )
    return pd.DataFrame(rows)
