"""The allocation as one parameterized convex program: compiled once, re-solved many times.

Variables are the manager weights ``w``, their change ``d = w - w0``, the liquid buffer
counted by the objective ``h`` and one non-negative slack ``s_i`` per limit row
(:mod:`fialloc.allocation_limits`); an :class:`Extension` adds its own variables (an overlay's
notionals, the paths of an expected-shortfall objective), factor exposures, objective terms
and constraints. Every limit is ``excess_i(w) <= room_i + s_i`` with ``0 <= s_i <= cap_i``,
and the objective is

    ``sum_i weight_i s_i / scale_i`` (closing breaches, relaxing limits)
    ``- m_y 1e4 (y - el)'w - 1e4 alpha'w + cost'|d| + impact'|d|^1.5 + g TE(w)^2 - kappa h``
    (``|d|^1.5`` through its tangents, :func:`impact_tangents`)
    (basis points a year)
    ``+ extension terms + 1e-2 |d|^2`` (the smallest move among equally good ones),

where everything that changes between solves (today's weights, each limit, room, cap and
weight, each coefficient) is a :class:`cvxpy.Parameter`. cvxpy compiles the program on its
first solve and each re-solve only refills the parameters: the recommendation, the stage that
closes today's breaches, the frontier points and the diagnosis of a mandate that cannot be met
are all the same compiled program.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import cvxpy as cp
import numpy as np

from fialloc.allocation_limits import (
    MET_TOLERANCE,
    UNTRADED,
    LimitRow,
    exit_mask,
    limit_rows,
    row_values,
    shifted_mask,
)
from fialloc.allocation_problem import AllocationProblem
from fialloc.analytics.duration_gaps import key_rate_gap
from fialloc.analytics.liquidity_costs import hqla_bounds
from fialloc.data.mandate import Mandate, ObjectiveWeights
from fialloc.layout import FloatArray

__all__ = [
    "BASE_INFORMATION_RATIO",
    "LIQUIDITY_PREMIUM",
    "AllocationProgram",
    "Coefficients",
    "Extension",
    "InfeasibleMandate",
    "coefficients",
]

#: The return one more unit of tracking error must earn at the mandate's tracking-error limit
#: (an information ratio of 0.5, "good" by Grinold and Kahn's standard): the base risk
#: aversion is ``0.5 / max_tracking_error``.
BASE_INFORMATION_RATIO = 0.5
#: What a unit of liquid buffer up to the mandate's target is worth a year (decimal): the
#: yield a book gives up for Level 1 assets over illiquid credit, about 50 bp.
LIQUIDITY_PREMIUM = 0.005
#: A squared weight change costs this many basis points: it picks the smallest move among
#: equally good ones and is otherwise negligible.
TIE_BREAK = 1e-2
#: A parameter value standing for "no bound" (a relaxation is never this large).
_UNBOUNDED = 1e3
#: An expected return floor that never binds (a loss of all assets a year).
_NO_FLOOR = -1.0
#: Weight of the exit row when closing today's breaches (see :meth:`AllocationProgram.rooms`).
_EXIT_PRIORITY = 1e3
#: A relaxation counts as needed above this share of its limit's scale (solver accuracy).
_CONFLICT = 1e-6
_DEFAULT = ObjectiveWeights()
#: Where the market impact ``|dw| ** 1.5`` is replaced by its tangents: at 0 and at 32 moves
#: spaced geometrically from 0.1% to 100% of assets. The tangents' maximum underestimates the
#: impact by at most 0.47% of itself for moves of 0.1% of assets or more, and by at most
#: ``(0.001 / 3) ** 1.5`` (6.1e-6 of the impact coefficient) below.
IMPACT_TANGENTS = np.concatenate([[0.0], np.geomspace(1e-3, 1.0, 32)])
#: The relative and absolute error bounds of the tangents (see :data:`IMPACT_TANGENTS`).
IMPACT_RELATIVE_ERROR, IMPACT_ABSOLUTE_ERROR = 0.0047, (1e-3 / 3.0) ** 1.5


@cache
def _installed_solvers() -> tuple[str, ...]:
    """Return the installed cvxpy solvers, looked up once (the lookup imports every one)."""
    return tuple(cp.installed_solvers())


def impact_tangents() -> tuple[FloatArray, FloatArray]:
    """Slopes and intercepts of the tangents of ``x ** 1.5`` at :data:`IMPACT_TANGENTS`.

    Their maximum is a piecewise-linear outer approximation of the 3/2-power market impact
    (linear rows in the program instead of cones, which left the interior-point solver
    inaccurate near infeasible mandates), below the impact by at most
    :data:`IMPACT_RELATIVE_ERROR` of it (moves of 0.1% of assets or more) and
    :data:`IMPACT_ABSOLUTE_ERROR` (smaller moves).
    """
    x = IMPACT_TANGENTS
    return 1.5 * np.sqrt(x), -0.5 * x**1.5


@dataclass(frozen=True)
class Coefficients:
    """The objective's coefficients, from the mandate's priorities (see :func:`coefficients`).

    Attributes
    ----------
    yield_multiplier, alpha_multiplier : float
        What a unit of yield and of posterior alpha count for (1 = a dollar is a dollar).
    risk_aversion : float
        ``g`` in the term ``g / 2 x TE^2`` (per unit of assets a year).
    liquidity_premium : float
        Value a year of a unit of liquid buffer up to the target (decimal).
    amortization_years : float
        Years a trade's one-off cost is spread over.
    """

    yield_multiplier: float
    alpha_multiplier: float
    risk_aversion: float
    liquidity_premium: float
    amortization_years: float


def coefficients(mandate: Mandate) -> Coefficients:
    """Map the mandate's priorities to the objective's coefficients.

    Each priority over its system-description default (liability matching 0.35, yield 0.25,
    skill 0.25, liquidity 0.15) multiplies a base coefficient: yield and posterior alpha count
    a dollar as a dollar, the risk aversion is :data:`BASE_INFORMATION_RATIO` over the
    tracking-error limit and liquid buffer up to the target earns :data:`LIQUIDITY_PREMIUM`.
    """
    p = mandate.objective
    return Coefficients(
        yield_multiplier=p.yield_target / _DEFAULT.yield_target,
        alpha_multiplier=p.manager_skill / _DEFAULT.manager_skill,
        risk_aversion=(p.liability_matching / _DEFAULT.liability_matching)
        * BASE_INFORMATION_RATIO
        / mandate.max_tracking_error,
        liquidity_premium=(p.liquidity_buffer / _DEFAULT.liquidity_buffer) * LIQUIDITY_PREMIUM,
        amortization_years=mandate.cost_amortization_years,
    )


@dataclass(frozen=True)
class Extension:
    """Extra decision variables added to the program.

    Attributes
    ----------
    variables : list of Variable
        The extra variables (for reporting; the expressions below already use them).
    exposure : Expression, optional
        Added to the managers' factor exposures ``X'w`` (years per unit of assets, one entry
        per factor of the problem): an overlay's key-rate and spread durations.
    yield_pickup : Expression, optional
        Added to the portfolio's yield (decimal a year, per unit of assets) in the yield
        limit and the objective: an overlay's carry, negative when it costs.
    level1 : Expression, optional
        Added to the post-haircut Level 1 assets (per unit of assets) of the liquid buffer:
        STRIPS bought (positive), margin posted (negative).
    funded : Expression, optional
        Share of assets the extension's funded positions take from the managers (STRIPS
        bought with cash): the weights sum to one less it, and it counts in the turnover.
    terms : dict of str to Expression
        Objective terms in basis points of assets a year (minimized), convex and free of
        parameters.
    constraints : list of Constraint
        Constraints on the extra variables (and the weights ``w`` passed to the builder).
    positions : list of Expression
        Positions the program can switch off (held at zero): an overlay's notionals. With
        them off the program is the one without the extension's positions, compiled once
        for both (:meth:`AllocationProgram.solve_for`).
    """

    variables: list[cp.Variable] = field(default_factory=list)
    exposure: cp.Expression | None = None
    yield_pickup: cp.Expression | None = None
    level1: cp.Expression | None = None
    funded: cp.Expression | None = None
    terms: dict[str, cp.Expression] = field(default_factory=dict)
    constraints: list[cp.Constraint] = field(default_factory=list)
    positions: list[cp.Expression] = field(default_factory=list)


@dataclass(frozen=True)
class _Terms:
    """The program's expressions in the weights (and an extension's variables)."""

    active: cp.Expression  # surplus tracking error's factor and residual terms
    gap: cp.Expression  # key-rate gaps (years)
    buffer_bounds: cp.Expression  # the liquid buffer's upper bounds (per unit of assets)
    portfolio_yield: cp.Expression  # decimal a year, per unit of assets
    funded: cp.Expression | float  # assets in the extension's funded positions

    @classmethod
    def of(cls, problem: AllocationProblem, w: cp.Variable, ext: Extension) -> _Terms:
        """Build the expressions of `problem` at weights `w` with extension `ext`."""
        factors = problem.exposures.to_numpy().T @ w + (
            ext.exposure if ext.exposure is not None else 0.0
        )
        active = cp.hstack(
            [
                problem.factor_root() @ (factors - problem.liability.to_numpy()),
                cp.multiply(problem.residual_vol.to_numpy(), w),
            ]
        )
        keys = [problem.exposures.columns.get_loc(c) for c in problem.key_columns]
        gap = key_rate_gap(
            factors[keys],
            problem.liability[problem.key_columns].to_numpy(),
            problem.assets,
            problem.liabilities,
        )
        # The buffer's bounds are linear in the post-haircut levels: one matrix, one vector.
        bounds = np.array(hqla_bounds(*np.eye(3)))
        levels = problem.hqla.to_numpy().T @ w
        if ext.level1 is not None:
            levels = levels + cp.multiply(ext.level1, np.eye(3)[0])
        portfolio_yield = problem.yields.to_numpy() @ w + (
            ext.yield_pickup if ext.yield_pickup is not None else 0.0
        )
        funded = ext.funded if ext.funded is not None else 0.0
        return cls(active, gap, bounds @ levels, portfolio_yield, funded)


def _excess(
    problem: AllocationProblem,
    mandate: Mandate,
    w: cp.Variable,
    d: cp.Variable,
    moved: cp.Variable,
    terms: _Terms,
) -> dict[str, cp.Expression | None]:
    """Each limit row's value (minus it for a lower limit); None where no manager is concerned."""
    exits = exit_mask(problem, mandate)
    shifted = shifted_mask(problem, mandate)
    untraded = (problem.tradable_share <= 0).to_numpy()
    return {
        "turnover (one-way)": 0.5 * (cp.sum(moved) + terms.funded),
        "max shift": cp.max(moved[np.flatnonzero(shifted)]),
        "min allocation": -cp.min(w[np.flatnonzero(~exits)]) if (~exits).any() else None,
        "max allocation": cp.max(w),
        "exited managers": cp.sum(w[np.flatnonzero(exits)]) if exits.any() else None,
        UNTRADED: cp.max(d[np.flatnonzero(untraded)]) if untraded.any() else None,
        "yield": -terms.portfolio_yield,
        "tracking error": cp.norm(terms.active, 2),
        "illiquid share": problem.illiquid_share.to_numpy() @ w,
        "rating drift (notches)": cp.abs(problem.notch.to_numpy() @ d),
        "sector overweight": cp.max(problem.sectors.to_numpy().T @ d),
    }


class AllocationProgram:
    """The compiled allocation program of one problem and mandate (see the module docstring).

    Parameters
    ----------
    problem : AllocationProblem
    mandate : Mandate
    extension : callable, optional
        Called with the weight variable; returns the :class:`Extension` to add.
    solver : str
        Any installed cvxpy solver that handles second-order cones (Clarabel by
        default; SCS).
    rooms : array, optional
        The rooms of another program of the same problem and mandate (:meth:`rooms`), so
        an extended program need not close today's breaches again.
    """

    def __init__(
        self,
        problem: AllocationProblem,
        mandate: Mandate,
        extension: Callable[[cp.Variable], Extension] | None = None,
        solver: str = "CLARABEL",
        rooms: FloatArray | None = None,
    ) -> None:
        if solver not in _installed_solvers():
            msg = f"optimize: solver {solver!r} is not installed; have {list(_installed_solvers())}"
            raise ValueError(msg)
        self.problem, self.mandate, self.solver = problem, mandate, solver
        self.rows: list[LimitRow] = limit_rows(problem, mandate)
        n, k = len(problem.managers), len(self.rows)
        self.w = cp.Variable(n, name="w")
        ext = extension(self.w) if extension is not None else Extension()
        self.extension: Extension = ext
        d = cp.Variable(n, name="d")
        h = cp.Variable(name="h")
        self.slack = cp.Variable(k, nonneg=True, name="s")
        self._parameters(problem, n, k)
        w = self.w
        terms = _Terms.of(problem, w, ext)
        # |d| as its own variable: every use (turnover, shifts, costs) grows with it.
        moved = cp.Variable(n, nonneg=True, name="moved")
        impact = cp.Variable(n, name="impact")
        excess = _excess(problem, mandate, w, d, moved, terms)
        self.positions_bound = cp.Parameter(nonneg=True, name="positions", value=_UNBOUNDED)
        self.return_floor = cp.Parameter(name="return_floor", value=_NO_FLOOR)
        slopes, intercepts = impact_tangents()
        constraints = [
            cp.sum(w) + terms.funded == 1,
            w >= 0,
            d == w - self.w0,
            moved >= d,
            moved >= -d,
            # The 3/2-power impact above its tangents (see IMPACT_TANGENTS).
            cp.reshape(moved, (n, 1), order="C") @ slopes[None, :] + intercepts[None, :]
            <= cp.reshape(impact, (n, 1), order="C") @ np.ones((1, len(slopes))),
            h <= terms.buffer_bounds,
            h <= self.limit[self._at("liquidity buffer")],
            terms.portfolio_yield - problem.expected_loss.to_numpy() @ w >= self.return_floor,
            *(cp.abs(p) <= self.positions_bound for p in ext.positions),
        ]
        exits = exit_mask(problem, mandate)
        if exits.any() and mandate.exit_immediately:
            constraints.append(w[np.flatnonzero(exits)] == 0)
        constraints += self._limit_constraints(terms, excess)
        constraints += ext.constraints
        # Compiled into the objective; a program re-paced (:meth:`with_pace`) corrects for it.
        self._compiled_scale = scale = self.scale
        objective = (
            self.breach_weight @ cp.multiply(1.0 / scale, self.slack)
            - self.yield_weight * (1e4 * terms.portfolio_yield)
            - self.alpha @ w
            + self.loss @ w
            + self.cost @ moved
            + self.impact @ impact
            + self.risk * cp.sum_squares(terms.active)
            - self.kappa * h
            + TIE_BREAK * cp.sum_squares(d)
        )
        if ext.terms:
            objective = objective + self.extension_weight * cp.sum(
                cp.hstack(list(ext.terms.values()))
            )
        self.program = cp.Problem(cp.Minimize(objective), constraints)
        self._rooms: FloatArray | None = None if rooms is None else np.asarray(rooms, float)

    def _parameters(self, problem: AllocationProblem, n: int, k: int) -> None:
        """Create what changes between solves: today's weights, limits and coefficients."""
        self.w0 = cp.Parameter(n, name="w0", value=problem.current.to_numpy())
        self.limit = cp.Parameter(k, name="limit", value=np.array([r.limit for r in self.rows]))
        self.room = cp.Parameter(k, nonneg=True, name="room", value=np.zeros(k))
        self.cap = cp.Parameter(k, nonneg=True, name="cap", value=np.zeros(k))
        self.breach_weight = cp.Parameter(k, nonneg=True, value=np.zeros(k))
        self.yield_weight = cp.Parameter(nonneg=True, value=0.0)
        self.alpha = cp.Parameter(n, value=np.zeros(n))
        self.loss = cp.Parameter(n, nonneg=True, value=np.zeros(n))
        self.cost = cp.Parameter(n, nonneg=True, value=np.zeros(n))
        self.impact = cp.Parameter(n, nonneg=True, value=np.zeros(n))
        self.risk = cp.Parameter(nonneg=True, value=0.0)
        self.kappa = cp.Parameter(nonneg=True, value=0.0)
        self.extension_weight = cp.Parameter(nonneg=True, value=1.0)

    def _limit_constraints(
        self, terms: _Terms, excess: dict[str, cp.Expression | None]
    ) -> list[cp.Constraint]:
        """Every limit row as ``excess <= room + slack``, and each slack under its cap."""
        bound = self.room + self.slack
        at_gap = np.flatnonzero(self._kinds("gap"))
        at_buffer = self._at("liquidity buffer")
        # Every other row at once: `excess` holds minus the value of a lower limit, so
        # sign * (value - limit) <= bound with sign -1 for ">=" rows.
        rest = [i for i, r in enumerate(self.rows) if r.kind != "gap" and i != at_buffer]
        sign = np.array([1.0 if self.rows[i].sense == "<=" else -1.0 for i in rest])
        return [
            cp.abs(terms.gap) - self.limit[at_gap] <= bound[at_gap],
            self.limit[at_buffer] - terms.buffer_bounds <= bound[at_buffer],
            cp.hstack([excess[self.rows[i].name] for i in rest])
            - cp.multiply(sign, self.limit[rest])
            <= bound[rest],
            self.slack <= self.cap,
        ]

    def with_pace(self, mandate: Mandate) -> AllocationProgram:
        """Return this compiled program under `mandate`, whose pace alone may differ.

        The turnover and maximum shift limits are parameters of the program, so a mandate
        that changes only them (the glide path's target, without pace limits) is the same
        program re-solved: the result shares the compiled problem, its variables and its
        parameters (every solve fills the limits it needs), with its own limits and rooms.

        Raises
        ------
        ValueError
            If `mandate` differs from this program's in more than turnover and max shift.
        """
        pace = {"turnover": self.mandate.turnover, "max_shift": self.mandate.max_shift}
        if mandate.model_copy(update=pace) != self.mandate:
            msg = "AllocationProgram.with_pace: the mandates differ in more than their pace"
            raise ValueError(msg)
        paced = copy.copy(self)
        paced.mandate, paced.rows = mandate, limit_rows(self.problem, mandate)
        paced._rooms = None
        return paced

    def _at(self, name: str) -> int:
        return next(i for i, r in enumerate(self.rows) if r.name == name)

    @property
    def scale(self) -> FloatArray:
        """Each row's relaxation unit (:attr:`fialloc.allocation_limits.LimitRow.scale`)."""
        return np.array([r.scale for r in self.rows])

    def _kinds(self, *kinds: str) -> FloatArray:
        return np.array([r.kind in kinds for r in self.rows], dtype=float)

    def excess_today(self) -> FloatArray:
        """Each row's excess at today's weights, zero where met (decimal, years, notches)."""
        values = row_values(self.problem, self.mandate, self.problem.current.to_numpy())
        out = np.array([r.excess(values[r.name]) for r in self.rows])
        return np.where(out > MET_TOLERANCE, out, 0.0)

    def set_objective(self, kind: str) -> None:
        """Fill the objective's coefficients for one of the program's uses.

        ``utility`` is the mandate's objective in basis points a year (:func:`coefficients`);
        ``tracking_error`` the tracking error squared over its limit squared;
        ``expected_return`` the yield less the expected credit loss; ``extension`` the
        extension's terms alone; ``none`` only the breach weights.
        """
        n = len(self.problem.managers)
        self.yield_weight.value, self.risk.value, self.kappa.value = 0.0, 0.0, 0.0
        self.alpha.value, self.loss.value, self.cost.value, self.impact.value = np.zeros((4, n))
        self.extension_weight.value = 1.0 if kind in ("utility", "extension") else 0.0
        if kind == "utility":
            c = coefficients(self.mandate)
            self.yield_weight.value = c.yield_multiplier
            self.alpha.value = 1e4 * c.alpha_multiplier * self.problem.alpha.to_numpy()
            self.loss.value = 1e4 * c.yield_multiplier * self.problem.expected_loss.to_numpy()
            self.cost.value = 1e4 * self.problem.trading_cost.to_numpy() / c.amortization_years
            self.impact.value = 1e4 * self.problem.trading_impact.to_numpy() / c.amortization_years
            self.risk.value = 1e4 * c.risk_aversion / 2.0
            self.kappa.value = 1e4 * c.liquidity_premium
        elif kind == "tracking_error":
            self.risk.value = 1e4 / self.mandate.max_tracking_error**2
        elif kind == "expected_return":
            self.yield_weight.value = 1.0
            self.loss.value = 1e4 * self.problem.expected_loss.to_numpy()
        elif kind not in ("extension", "none"):
            msg = f"AllocationProgram: unknown objective {kind!r}"
            raise ValueError(msg)

    def _limits(self, room: FloatArray, cap: FloatArray, weight: FloatArray) -> None:
        # The objective divides each slack by the scale compiled in: the ratio (exactly 1
        # unless re-paced) makes it this program's scale.
        self.room.value, self.cap.value = room, cap
        self.breach_weight.value = weight * (self._compiled_scale / self.scale)

    def _solve(self) -> bool:
        self.limit.value = np.array([r.limit for r in self.rows])
        try:
            self.program.solve(solver=self.solver)
        except cp.SolverError:
            return False
        return self.program.status in ("optimal", "optimal_inaccurate") and (
            self.w.value is not None
        )

    def rooms(self) -> FloatArray:
        """How far beyond each limit the allocation may stay this cycle (computed once).

        Zero for every limit today's book meets. For a limit it breaches, the least breach
        any allocation within the pace limits reaches (closing the breaches jointly, each in
        units of its own limit), so the objective then chooses only among allocations that
        close them as far as the mandate allows. With ``gap_closing="priced"`` a key-rate gap
        beyond its tolerance keeps today's breach as its room: it may not widen, and the
        objective's surplus-risk term decides how far it closes. The extension's positions
        are off meanwhile: the rooms are the weights' alone, so an overlay improves on the
        weights-only answer and never loosens a limit.

        Raises
        ------
        InfeasibleMandate
            If no allocation could ever meet the limits (turnover and shifts aside; key-rate
            gaps aside, which an overlay may close), or the pace limits conflict (an
            immediate exit larger than the turnover allows); the message names the smallest
            relaxation of each conflicting limit, in its unit, and alternatives.
        """
        if self._rooms is None:
            self.positions_bound.value = 0.0
            try:
                self._rooms = self._closing_rooms()
            finally:
                self.positions_bound.value = _UNBOUNDED
        return self._rooms

    def _closing_rooms(self) -> FloatArray:
        k = len(self.rows)
        breach = self.excess_today() * self._kinds("limit", "gap")
        self.set_objective("none")
        if (breach * self._kinds("limit")).any():
            self._limits(
                self._reach_room(),
                _UNBOUNDED * self._kinds("limit", "gap"),
                self._kinds("limit"),
            )
            if not self._solve():
                raise InfeasibleMandate(self._diagnose(now=True))
            needed = np.asarray(self.slack.value) * self._kinds("limit")
            if (needed > _CONFLICT * self.scale).any():
                raise InfeasibleMandate(self._diagnose(now=False))
        if not breach.any():
            return np.zeros(k)
        # An exit is a decision, not a trade-off: it proceeds at the full pace the shifts
        # allow before the other breaches share what turnover is left.
        first = np.array(
            [_EXIT_PRIORITY if r.name == "exited managers" else 1.0 for r in self.rows]
        )
        # Priced gaps may not widen, and how far they close is the objective's choice.
        priced = self._kinds("gap") * (self.mandate.gap_closing == "priced")
        self._limits(np.zeros(k), breach, (breach > 0) * first * (1.0 - priced))
        if not self._solve():
            raise InfeasibleMandate(self._diagnose(now=True))
        closed = np.clip(np.asarray(self.slack.value), 0.0, None)
        closed = np.where(priced > 0, breach, np.minimum(closed + 1e-6 * self.scale, breach))
        return np.where(breach > 0, closed, 0.0)

    def _reach_room(self) -> FloatArray:
        """Return rooms lifting the limits on the move (not the allocation bounds).

        That is where the book could eventually be, over as many cycles as it takes.
        """
        return np.array(
            [
                _UNBOUNDED if r.kind == "pace" and "allocation" not in r.name else 0.0
                for r in self.rows
            ]
        )

    def solve_for(
        self, kind: str, return_floor: float | None = None, *, positions: bool = True
    ) -> FloatArray:
        """Weights minimizing objective `kind` (see :meth:`set_objective`) within the rooms.

        `return_floor` (decimal a year) is a least expected return (yield less expected credit
        loss) for this solve (a frontier point).
        With `positions` false the extension's positions (:attr:`Extension.positions`) are
        held at zero: the same program without them.

        Raises
        ------
        InfeasibleMandate
            As :meth:`rooms`, or when the solver fails (the message has its status).
        """
        rooms = self.rooms().copy()
        self.return_floor.value = _NO_FLOOR if return_floor is None else return_floor
        self.set_objective(kind)
        self._limits(rooms, np.zeros(len(self.rows)), np.zeros(len(self.rows)))
        self.positions_bound.value = _UNBOUNDED if positions else 0.0
        try:
            solved = self._solve()
            self.return_floor.value = _NO_FLOOR
            if not solved:
                raise InfeasibleMandate(self._diagnose(now=True))
        finally:
            self.positions_bound.value = _UNBOUNDED
            self.return_floor.value = _NO_FLOOR
        return np.asarray(self.w.value, dtype=float)

    def _diagnose(self, now: bool) -> str:
        """Explain a conflict: the least relaxation per conflicting limit, and alternatives.

        `now` diagnoses this cycle (pace limits relaxable, breached limits at today's level);
        otherwise where the book could ever be (turnover and shifts lifted, gaps free).
        """
        status = self.program.status
        k = len(self.rows)
        if now:
            room = self.excess_today() * self._kinds("limit", "gap")
            free, loose = np.ones(k), np.zeros(k)
        else:
            room = self._reach_room()
            free, loose = self._kinds("limit"), _UNBOUNDED * self._kinds("gap")
        self.set_objective("none")
        self._limits(room, _UNBOUNDED * free + loose, free)
        if not self._solve():
            return f"optimize: the mandate cannot be met (solver status {status})"
        joint = np.asarray(self.slack.value) * free
        conflicts = [i for i in range(k) if joint[i] > _CONFLICT * self.rows[i].scale]
        if not conflicts:
            return f"optimize: the mandate cannot be met (solver status {status})"
        alone = {}
        for i in np.flatnonzero(free):
            cap = loose.copy()
            cap[i] = _UNBOUNDED
            self._limits(room, cap, np.eye(k)[i])
            if self._solve():
                alone[int(i)] = float(self.slack.value[i])
        where = (
            "this cycle's turnover and shifts allow"
            if now
            else "any allocation could reach (turnover and shifts aside)"
        )
        text = (
            f"optimize: the mandate cannot be met: the limits conflict beyond what {where}; "
            + ", and ".join(self._relaxation(i, joint[i], room[i]) for i in conflicts)
        )
        # Another way out: one limit relaxed alone, unless that is the joint answer itself.
        others = {i: v for i, v in alone.items() if conflicts != [i]}
        if others:
            text += "; or " + "; or ".join(
                self._relaxation(i, v, room[i]) + " alone" for i, v in others.items()
            )
        return text

    def _relaxation(self, i: int, amount: float, room: float) -> str:
        r = self.rows[i]
        sign = 1.0 if r.sense == "<=" else -1.0
        verb = "raise" if r.sense == "<=" else "lower"
        old = r.limit + sign * room
        new = old + sign * amount
        if r.unit == "share":
            return f"{verb} {r.name} by {amount * 100:.2f} points ({old:.2%} to {new:.2%})"
        if r.unit == "years":
            dv01 = amount * self.problem.assets * 1e-4
            return (
                f"widen the {r.name} tolerance by {amount:.2f} years of asset duration "
                f"({dv01:,.0f} a basis point; {old:.2f} to {new:.2f} years)"
            )
        return f"{verb} {r.name} by {amount:.2f} notches ({old:.2f} to {new:.2f})"


class InfeasibleMandate(ValueError):
    """A mandate no allocation can meet; the message names what to relax, in units."""
