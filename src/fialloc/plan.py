"""The implementation plan: phases of trading to the recommendation, and the glide path beyond.

Phases: the move from current to target weights is split into equal phases (3 of 10 trading
days by default). Each sleeve trades its cheapest positions first and may use only its share
of each position's daily volume, at the given participation, within a phase: a seller no more
than it holds, a buyer as much as that volume allows. A security one manager sells and another
buys moves between them in kind, and only the rest trades on the market, paying half the
bid-ask and square-root market impact over the phase's days (see
:mod:`fialloc.analytics.trading_costs`). When the move needs more volume than the requested
phases give, the plan says which sleeve needs how many phases and (``extend``) adds them.

A duration overlay's swaps and futures trade in the first phase (they are liquid and need no
cash); its STRIPS are bought in step with the sleeves' sales that pay for them, so weights and
STRIPS add up to the assets at every phase end. Overlay trades cost half a bid-ask spread in
yield on their DV01 (:data:`OVERLAY_HALF_SPREAD_BP`).

Glide path: the recommendation is one cycle's move, limited by the mandate's turnover and
maximum shift. When the allocation the optimizer would choose without those two limits lies
further, :func:`glide_path` moves toward it in cycles (quarters) of at most one turnover and
one maximum shift each, on the straight line from the recommendation, and checks every limit
at each cycle end: turnover and maximum shift against that cycle's start, the others (as for
the recommendation) against today.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

import cvxpy as cp
import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.allocation_limits import MET_TOLERANCE, shifted_mask
from fialloc.analytics.trading_costs import (
    in_kind_split,
    manager_cost_coefficients,
    trade_costs,
)
from fialloc.data import Mandate, Portfolio
from fialloc.layout import FloatArray
from fialloc.optimize import (
    OVERLAY_MIN_UNITS,
    AllocationProblem,
    AllocationProgram,
    Extension,
    OverlayInputs,
    check_constraints,
    optimize,
    overlay_extension,
    overlay_program,
)

BoolArray = npt.NDArray[np.bool_]

__all__ = ["GlidePath", "ImplementationPlan", "glide_path", "implementation_plan"]

#: A remaining move smaller than this (one-way, decimal of assets) needs no further cycle.
REACHED = 1e-4
#: Half the bid-ask spread in yield (bp) of each overlay instrument type: a cleared swap, a
#: Treasury future (about half a tick on a 10-year's DV01), a STRIPS.
OVERLAY_HALF_SPREAD_BP: Final = {"swap": 0.25, "future": 0.1, "strips": 0.5}


@dataclass(frozen=True)
class GlidePath:
    """Cycles (quarters) from the recommendation to the allocation without pace limits.

    Attributes
    ----------
    weights : DataFrame
        Managers by cycle ends: 0 is today, 1 the recommendation, the last the target.
    cycles : DataFrame
        Per cycle: ``turnover`` (one-way, decimal), ``largest_shift`` (decimal),
        ``remaining`` (one-way distance to the target after the cycle), ``constraints_ok``
        (every mandate limit met at the cycle end, or no further from it than today; turnover
        and maximum shift measured from the cycle's start, the others from today) and
        ``failing`` (the limits that are not, comma-separated).
    reason : str
        Why this many cycles: how far the target is and which pace limit sets the count.
    overlay : DataFrame, optional
        With a duration overlay: instruments by cycle ends, the positions held (per unit of
        assets; none today, the recommendation's at 1, chosen afresh at each later end).
    """

    weights: pd.DataFrame
    cycles: pd.DataFrame
    reason: str
    overlay: pd.DataFrame | None = None


@dataclass(frozen=True)
class ImplementationPlan:
    """Trades per manager per phase with costs, and the constraint check at each phase end.

    Attributes
    ----------
    trades : DataFrame
        Managers by phases: money moved into (+) or out of (-) each sleeve.
    weights : DataFrame
        Managers by phase ends (0 = today): weights.
    costs : DataFrame
        Per phase: ``spread_cost`` and ``impact_cost`` (money, of the market trades),
        ``in_kind`` (money moved between managers off the market), ``in_kind_cost`` (its
        transfer fees), ``market_traded`` (money traded on the market, sells plus buys),
        ``capacity_used`` (the largest share of a sleeve's tradable volume the phase needs),
        ``constraints_ok`` (every mandate limit met at the phase end, or no further from it
        than today) and ``pro_rata_cost`` (the same moves priced as the optimizer prices them:
        each sleeve traded pro rata on its own, see `cost_coefficients`; in-kind netting and
        trading the cheapest positions first are what the plan saves on it).
    requested_phases : int
        Phases asked for; fewer than the plan's when market volume forced more (``extend``).
    reason : str
        Why this many phases: as requested, or the sleeve whose volume sets the count.
    glide : GlidePath, optional
        The cycles beyond this one, when the turnover or maximum shift holds the
        recommendation short of the allocation without them (see :func:`glide_path`).
    cost_coefficients : DataFrame, optional
        Per manager, the cost of moving its sleeve alone over one phase (see
        :func:`fialloc.analytics.trading_costs.manager_cost_coefficients`).
    overlay_trades : DataFrame or None
        Overlay instruments (rows) by phases: position traded (notional, face or market value,
        money; negative pays fixed or sells), when the target has an overlay. Costs of these
        trades are in the ``overlay_cost`` column of ``costs``.
    """

    trades: pd.DataFrame
    weights: pd.DataFrame
    costs: pd.DataFrame
    requested_phases: int
    reason: str = ""
    glide: GlidePath | None = None
    cost_coefficients: pd.DataFrame | None = None
    overlay_trades: pd.DataFrame | None = None

    @property
    def total_cost(self) -> float:
        """Estimated cost of the whole plan (money): spread, impact, in-kind fees, overlay."""
        cols = ["spread_cost", "impact_cost", "in_kind_cost", "overlay_cost"]
        return float(self.costs[[c for c in cols if c in self.costs]].to_numpy().sum())


def implementation_plan(
    portfolio: Portfolio,
    problem: AllocationProblem,
    target: pd.Series,
    *,
    mandate: Mandate | None = None,
    phases: int = 3,
    phase_days: int = 10,
    participation: float = 0.2,
    extend: bool = False,
    transfer_cost_bp: float = 0.0,
    overlay: OverlayInputs | None = None,
    units: npt.ArrayLike | None = None,
) -> ImplementationPlan:
    """Plan the move from current weights to `target` in equal phases.

    Parameters
    ----------
    phases, phase_days : int
        Number of phases and trading days in each.
    participation : float
        Largest share of a position's daily volume a sleeve may trade (decimal).
    extend : bool
        When the moves do not fit the market volume in `phases`, add the fewest phases that make
        them fit instead of refusing.
    transfer_cost_bp : float
        Fee for moving a position in kind between managers (basis points of the amount; the
        custodian's re-registration, none by default).
    overlay, units : OverlayInputs and array, optional
        The target's overlay instruments and positions (per unit of assets); see the module
        notes for when they trade.

    Raises
    ------
    ValueError
        If the target weights do not cover the same managers, do not sum to 1, or a phase
        would trade more than a sleeve's share of the volume over the phase (without `extend`).
    """
    m = mandate or portfolio.mandate
    u, funded = _plan_inputs(
        problem, target, overlay, units, phases=phases, phase_days=phase_days,
        participation=participation, transfer_cost_bp=transfer_cost_bp,
    )  # fmt: skip
    w0 = problem.current
    sec = portfolio.securities.loc[portfolio.book.security_ids]
    mv = portfolio.market_values.reindex(index=w0.index, columns=sec.index).fillna(0.0).to_numpy()
    amount = np.abs((target - w0).to_numpy()) * problem.assets
    budget = participation * sec["adv"].to_numpy(dtype=float) * phase_days
    half_spread = sec["bid_ask_bp"].to_numpy(dtype=float) * 0.5e-4
    fills = _Fills(mv, budget, half_spread, (target - w0).to_numpy() < 0)
    requested = phases
    phases, reason = _phase_count(
        fills, amount, w0.index, phases=phases, phase_days=phase_days,
        participation=participation, extend=extend,
    )  # fmt: skip
    step = (target - w0) / phases
    weights = pd.DataFrame({k: w0 + k * step for k in range(phases + 1)})
    trades = pd.DataFrame({k + 1: step * problem.assets for k in range(phases)})
    phase_cost, coefficients = _phase_cost(
        fills, amount / phases, pd.DataFrame(mv, index=w0.index, columns=sec.index), sec,
        phase_days=phase_days, transfer_cost_bp=transfer_cost_bp,
    )  # fmt: skip
    # Every limit from today at each phase end, with the overlay held there.
    met = []
    for k in range(1, phases + 1):
        held = None if u is None else _overlay_held(u, funded, k / phases)
        met.append(bool(check_constraints(problem, m, weights[k].to_numpy(), overlay, held)
                        ["allowed"].all()))  # fmt: skip
    rows = [{"phase": k + 1, **phase_cost, "constraints_ok": met[k]} for k in range(phases)]
    costs = pd.DataFrame(rows).set_index("phase")
    overlay_trades = None
    if overlay is not None and u is not None:
        overlay_trades, costs["overlay_cost"] = _overlay_trades(
            overlay, u, funded, phases, problem.assets
        )
    return ImplementationPlan(
        trades, weights, costs, requested, reason, cost_coefficients=coefficients,
        overlay_trades=overlay_trades,
    )  # fmt: skip


def _plan_inputs(
    problem: AllocationProblem,
    target: pd.Series,
    overlay: OverlayInputs | None,
    units: npt.ArrayLike | None,
    *,
    phases: int,
    phase_days: int,
    participation: float,
    transfer_cost_bp: float,
) -> tuple[FloatArray | None, BoolArray]:
    """Check the plan's arguments; the overlay's units and funded mask."""
    if phases < 1 or phase_days < 1 or not 0 < participation <= 1 or not transfer_cost_bp >= 0:
        msg = (
            f"implementation_plan: need phases >= 1 (got {phases}), days >= 1 (got {phase_days}), "
            f"participation in (0, 1] (got {participation}) and transfer_cost_bp >= 0 (got "
            f"{transfer_cost_bp})"
        )
        raise ValueError(msg)
    if (overlay is None) != (units is None):
        msg = "implementation_plan: give both `overlay` and `units`, or neither"
        raise ValueError(msg)
    u = None if units is None else np.asarray(units, dtype=float)
    funded = (
        np.zeros(0, dtype=bool)
        if overlay is None
        else overlay.instruments["funded"].to_numpy(dtype=bool)
    )
    strips = 0.0 if u is None else float(u[funded].sum())
    if (
        not target.index.equals(problem.current.index)
        or abs(float(target.sum()) + strips - 1.0) > 1e-6
    ):
        msg = (
            "implementation_plan: target weights must cover the same managers and sum to 1 "
            "(less the overlay's STRIPS)"
        )
        raise ValueError(msg)
    return u, funded


def _phase_count(
    fills: _Fills,
    amount: FloatArray,
    managers: pd.Index,
    *,
    phases: int,
    phase_days: int,
    participation: float,
    extend: bool,
) -> tuple[int, str]:
    """Phases the plan takes and why: as requested, or as many as the busiest sleeve needs."""
    need = fills(amount / phases)[2]
    if need.max() <= 1.0 + 1e-9:
        reason = (
            f"as requested; the busiest sleeve uses {need.max():.0%} of the volume it may trade "
            f"per phase"
        )
        return phases, reason
    worst = int(np.argmax(need))
    side = "sale" if fills.selling[worst] else "purchase"
    what = (
        f"{managers[worst]}'s {side} of ${amount[worst] / 1e6:,.0f}M needs "
        f"{need[worst] * phases:.2f}x the volume it may trade in one {phase_days}-day phase "
        f"at {participation:.0%} participation"
    )
    needed = fills.phases_needed(amount, phases)
    if needed is None or not extend:
        msg = (
            f"implementation_plan: phase 1 needs {need[worst]:.2f}x the volume: {what}; "
            + (f"use at least {needed} phases" if needed else "no number of phases fits")
            + f" of {phase_days} days"
        )
        raise ValueError(msg)
    return needed, f"{phases} requested; {what}"


def _phase_cost(
    fills: _Fills,
    amount: FloatArray,
    mv: pd.DataFrame,
    sec: pd.DataFrame,
    *,
    phase_days: int,
    transfer_cost_bp: float,
) -> tuple[dict[str, float], pd.DataFrame]:
    """One phase's costs (money) and volume used when each sleeve moves `amount` (money).

    Also the managers' pro-rata cost coefficients (see `manager_cost_coefficients`), with which
    the optimizer prices the same moves.
    """
    sold, bought, need = fills(amount)
    coefficients = manager_cost_coefficients(mv, sec["bid_ask_bp"], sec["adv"], phase_days)
    adv = sec["adv"].to_numpy(dtype=float)
    in_kind, market = in_kind_split(sold, bought, adv)
    pro_rata = float(coefficients["linear"] @ amount + coefficients["impact"] @ amount**1.5)
    spread, impact = trade_costs(market, sec["bid_ask_bp"].to_numpy(dtype=float), adv, phase_days)
    cost = {
        "spread_cost": spread,
        "impact_cost": impact,
        "in_kind": float(in_kind.sum()),
        "in_kind_cost": float(in_kind.sum()) * transfer_cost_bp * 1e-4,
        "market_traded": float(market.sum()),
        "capacity_used": float(need.max()),
        "pro_rata_cost": pro_rata,
    }
    return cost, coefficients


def _overlay_trades(
    overlay: OverlayInputs, units: FloatArray, funded: BoolArray, phases: int, assets: float
) -> tuple[pd.DataFrame, FloatArray]:
    """Overlay instruments by phases: the position traded in each, and each phase's cost (money).

    A trade costs half its instrument's bid-ask spread in yield on its DV01.
    """
    held = [np.zeros_like(units)]
    held += [_overlay_held(units, funded, k / phases) for k in range(1, phases + 1)]
    trades = pd.DataFrame(
        {k: (held[k] - held[k - 1]) * assets for k in range(1, phases + 1)},
        index=overlay.instruments.index,
    )
    half = overlay.instruments["kind"].map(OVERLAY_HALF_SPREAD_BP).fillna(0.0).to_numpy()
    dv01 = overlay.instruments[overlay.key_columns].to_numpy(dtype=float).sum(axis=1) * 1e-4
    return trades, np.abs(trades.to_numpy()).T @ (np.abs(dv01) * half)


def _overlay_held(units: FloatArray, funded: npt.NDArray[np.bool_], done: float) -> FloatArray:
    """Overlay held at a phase end: swaps and futures in full, STRIPS the share `done`."""
    return np.where(funded, units * done, units)


class _Fills:
    """One phase's trades per security, cheapest positions first, within market volume.

    Sellers go first: each may sell, of each security it holds, at most its holding and its
    share of the holders' volume budget. Buyers share what volume the sellers leave, security by
    security, among the buyers holding it in proportion to the amounts they buy: what a buyer
    already holds does not cap what it may buy. Securities without volume cannot be bought and
    leave a seller in kind.
    """

    def __init__(
        self, mv: FloatArray, budget: FloatArray, half_spread: FloatArray, selling: BoolArray
    ) -> None:
        total = mv.sum(axis=0)
        share = np.divide(mv, total, out=np.zeros_like(mv), where=total > 0)
        self.sell_cap = np.where(budget > 0, np.minimum(mv, share * budget), mv)
        self.budget, self.holds, self.selling = budget, mv > 0, selling
        self.order = np.argsort(half_spread, kind="stable")

    def __call__(self, amount: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Sold and bought per security and each sleeve's need (amount over its room)."""
        n = self.budget.shape[0]
        sold, bought, room = np.zeros(n), np.zeros(n), np.zeros(len(amount))
        for i in np.flatnonzero(self.selling):
            sold += self._fill(amount[i], self.sell_cap[i])
            room[i] = self.sell_cap[i].sum()
        buying = ~self.selling & (amount > 0)
        left = np.maximum(self.budget - sold, 0.0)
        demand = (amount * buying) @ self.holds  # per security: buyers' amounts that hold it
        for i in np.flatnonzero(buying):
            cap = np.divide(
                left * amount[i], demand, out=np.zeros(n), where=self.holds[i] & (demand > 0)
            )
            bought += self._fill(amount[i], cap)
            room[i] = cap.sum()
        need = np.divide(amount, room, out=np.where(amount > 0, np.inf, 0.0), where=room > 0)
        return sold, bought, need

    def _fill(self, amount: float, cap: FloatArray) -> FloatArray:
        room = cap[self.order]
        before = np.concatenate([[0.0], np.cumsum(room)[:-1]])
        out = np.zeros_like(cap)
        out[self.order] = np.minimum(room, np.maximum(amount - before, 0.0))
        return out

    def phases_needed(self, amount: FloatArray, start: int, most: int = 1000) -> int | None:
        """Fewest phases from `start` at which every sleeve's need fits (None beyond `most`)."""

        def fits(k: int) -> bool:
            return bool(self(amount / k)[2].max() <= 1.0 + 1e-9)

        if not fits(most):
            return None
        low, high = start, most  # fits(high); the need falls as phases grow
        while low < high:
            mid = (low + high) // 2
            low, high = (low, mid) if fits(mid) else (mid + 1, high)
        return low


def glide_path(
    problem: AllocationProblem,
    mandate: Mandate,
    recommended: pd.Series,
    max_cycles: int = 40,
    *,
    overlay: OverlayInputs | None = None,
    units: npt.ArrayLike | None = None,
    program: AllocationProgram | None = None,
) -> GlidePath:
    """Cycles from the recommendation to the allocation the optimizer would choose at any pace.

    The target is :func:`fialloc.optimize.optimize` under `mandate` with its turnover and
    maximum shift lifted. Each cycle after the first (the recommendation) moves the managers'
    weights along the straight line to it by at most the mandate's turnover (one-way) and
    maximum shift per manager; every limit is checked at each cycle end (turnover and maximum
    shift from the cycle's start, the others from today).

    With `overlay` instruments and the recommendation's `units` (per unit of assets), the
    target holds an overlay too. The STRIPS (bought with the managers' cash, so they count in
    each cycle's turnover) move along the same line as the weights, and at each later cycle
    end the swaps and futures are chosen afresh for that cycle's weights and STRIPS (the
    mandate's objective with those fixed, under the limits without pace); the checks include
    the overlay's limits, margins and carry.

    A target more than `max_cycles` cycles away (a turnover or maximum shift of zero) is out
    of reach: the path stops at the recommendation and its reason says so.

    `program` is the recommendation's compiled program (with `overlay`,
    :func:`fialloc.optimize.overlay_program` of the same problem, mandate and overlay; without,
    the weights-only program): the target re-solves it without pace limits
    (:meth:`~fialloc.allocation_program.AllocationProgram.with_pace`) and the rooms it computed
    for today's breaches are reused rather than compiled and solved again.

    Raises
    ------
    ValueError
        If `recommended` does not cover the problem's managers or sum to 1 (less the overlay's
        STRIPS), `program` is not the program of `problem` and `mandate` described, or the
        optimizer cannot solve without the pace limits.
    """
    ids, funded, u1 = _glide_overlay(problem, recommended, overlay, units)
    if max_cycles < 1:
        msg = f"glide_path: `max_cycles` must be at least 1, got {max_cycles}"
        raise ValueError(msg)
    if program is not None and not (
        program.problem is problem
        and program.mandate == mandate
        and bool(program.extension.positions) == (overlay is not None)
    ):
        msg = (
            "glide_path: `program` must be the overlay program of `problem` and `mandate` "
            "(with `overlay`; without, the weights-only program)"
        )
        raise ValueError(msg)
    free = mandate.model_copy(update={"turnover": 2.0, "max_shift": 1.0})
    chooser = None if overlay is None else _OverlayChooser(problem, mandate, free, overlay, program)
    if chooser is None:
        unpaced = None if program is None else program.with_pace(free)
        target, u_target = optimize(problem, free, program=unpaced).weights, u1
    else:
        target, u_target = chooser.target()
    w0, w1 = problem.current, recommended
    gap = target - w1
    strips = u_target[funded] - u1[funded]
    one_way = 0.5 * (float(gap.abs().sum()) + float(np.abs(strips).sum()))
    cycles, reason = _cycle_count(
        mandate, one_way, float(gap.abs().max()), max_cycles, overlay_afresh=chooser is not None
    )
    steps = [min(1.0, k / (cycles - 1)) for k in range(1, cycles)]
    ends = [w0, w1] + [w1 + f * gap for f in steps]
    held = [np.zeros(len(ids)), u1]
    for f, end in zip(steps, ends[2:], strict=True):
        # STRIPS, bought with the managers' cash, follow the weights' line; the swaps and
        # futures are chosen afresh.
        bought = u1[funded] + f * strips
        held.append(held[-1] if chooser is None else chooser.overlay_for(end.to_numpy(), bought))
    return GlidePath(
        pd.DataFrame(dict(enumerate(ends))),
        _cycle_checks(problem, mandate, target, ends, held, overlay, funded),
        reason,
        None if overlay is None else pd.DataFrame(dict(enumerate(held)), index=ids),
    )


def _glide_overlay(
    problem: AllocationProblem,
    recommended: pd.Series,
    overlay: OverlayInputs | None,
    units: npt.ArrayLike | None,
) -> tuple[pd.Index, BoolArray, FloatArray]:
    """Check the recommendation; the overlay's instruments, funded mask and units (none: 0)."""
    if (overlay is None) != (units is None):
        msg = "glide_path: give both `overlay` and `units`, or neither"
        raise ValueError(msg)
    ids = pd.Index([]) if overlay is None else overlay.instruments.index
    funded = (
        np.zeros(0, dtype=bool)
        if overlay is None
        else overlay.instruments["funded"].to_numpy(dtype=bool)
    )
    u1 = np.zeros(len(ids)) if units is None else np.asarray(units, dtype=float)
    if u1.shape != (len(ids),):
        msg = f"glide_path: `units` needs one value per overlay instrument ({len(ids)})"
        raise ValueError(msg)
    if not recommended.index.equals(problem.current.index) or not np.isclose(
        float(recommended.sum()) + float(u1[funded].sum()), 1.0, rtol=0.0, atol=1e-6
    ):
        msg = (
            "glide_path: `recommended` must cover the problem's managers in order and sum to 1 "
            "(less the overlay's STRIPS)"
        )
        raise ValueError(msg)
    return ids, funded, u1


def _cycle_count(
    mandate: Mandate, one_way: float, largest: float, max_cycles: int, *, overlay_afresh: bool
) -> tuple[int, str]:
    """Cycles to the target (the recommendation's included) and why, at the mandate's pace."""
    if one_way <= REACHED:
        return 1, "the recommendation is already the allocation without pace limits"
    pace = [one_way / mandate.turnover if mandate.turnover > 0 else np.inf,
            largest / mandate.max_shift if mandate.max_shift > 0 else np.inf]  # fmt: skip
    more = int(np.ceil(max(pace) - 1e-9)) if np.isfinite(max(pace)) else None
    limit = "turnover" if pace[0] >= pace[1] else "maximum shift"
    pace_text = f"the {limit} limit of "
    pace_text += f"{mandate.turnover if limit == 'turnover' else mandate.max_shift:.1%}"
    reason = (
        f"the allocation without the turnover and maximum shift limits is {one_way:.1%} "
        f"(one-way) beyond the recommendation; at {pace_text} per cycle it takes "
    )
    if more is None or more + 1 > max_cycles:
        # Out of reach at this pace: the path stops at the recommendation and says so.
        return 1, reason + (f"more than {max_cycles - 1} more" if more else "forever")
    reason += f"{more} more"
    if overlay_afresh:
        reason += ", the overlay chosen afresh at each cycle end"
    return more + 1, reason


def _cycle_checks(
    problem: AllocationProblem,
    mandate: Mandate,
    target: pd.Series,
    ends: list[pd.Series],
    held: list[FloatArray],
    overlay: OverlayInputs | None,
    funded: BoolArray,
) -> pd.DataFrame:
    """Per cycle: turnover, largest shift, distance left and the limits checked at its end."""
    shifted = shifted_mask(problem, mandate)
    rows = []
    for k in range(1, len(ends)):
        start, end = ends[k - 1], ends[k]
        moved = (end - start).abs().to_numpy()
        # STRIPS are bought and sold with the managers' cash: they trade too.
        traded = 0.5 * (moved.sum() + np.abs(held[k][funded] - held[k - 1][funded]).sum())
        shift = float(moved[shifted].max()) if shifted.any() else 0.0
        # Every limit from today, with the overlay held at the cycle end; the pace limits hold
        # per cycle.
        check = check_constraints(
            problem, mandate, end.to_numpy(), overlay, None if overlay is None else held[k]
        )
        allowed = check["allowed"].copy()
        allowed["turnover (one-way)"] = traded <= mandate.turnover + MET_TOLERANCE
        allowed["max shift"] = shift <= mandate.max_shift + MET_TOLERANCE
        rows.append(
            {
                "cycle": k,
                "turnover": float(traded),
                "largest_shift": shift,
                "remaining": 0.5 * float((target - end).abs().sum()),
                "constraints_ok": bool(allowed.all()),
                "failing": ", ".join(allowed.index[~allowed.to_numpy(dtype=bool)]),
            }
        )
    return pd.DataFrame(rows).set_index("cycle")


class _OverlayChooser:
    """The overlay at given weights and STRIPS: the mandate's objective with those fixed.

    One program compiled for every cycle end: the weights and STRIPS are parameters, the
    swaps and futures the only choice, under the limits without pace (`free`). Each limit's
    room is the larger of the recommendation's (under `mandate`) and the target's (under
    `free`): a cycle end lies on the line between the two, so a limit breached today that the
    target closes further than the recommendation is closed only part of the way there (a
    room of the target's alone left the program infeasible and stopped the run; the cycle
    checks report such a limit as it stands). `recommended` is the recommendation's program
    under `mandate` when at hand (its rooms already computed), else one is compiled here.
    """

    def __init__(
        self,
        problem: AllocationProblem,
        mandate: Mandate,
        free: Mandate,
        overlay: OverlayInputs,
        recommended: AllocationProgram | None = None,
    ) -> None:
        self.problem, self.free, self.overlay = problem, free, overlay
        if recommended is None:
            recommended = overlay_program(problem, mandate, overlay)
        # Without pace limits it is the same program: compiled once for both.
        self.program = recommended.with_pace(free)
        # Every constraint is convex in the weights and positions, and both ends meet it
        # within its room here: so does every point between them (the cycle ends, with the
        # positions between the ends' as one choice).
        rooms = np.maximum(self.program.rooms(), recommended.rooms())
        at = np.flatnonzero(overlay.instruments["funded"].to_numpy(dtype=bool))
        self.pinned = cp.Parameter(len(problem.managers), name="pinned")
        self.strips = cp.Parameter(len(at), name="strips")
        base = overlay_extension(problem, free, overlay)
        pinned, strips = self.pinned, self.strips

        def fixed(w: cp.Variable) -> Extension:
            ext = base(w)
            held = [w == pinned, ext.variables[0][at] == strips] if len(at) else [w == pinned]
            return dataclasses.replace(ext, constraints=[*ext.constraints, *held])

        self.fixed = AllocationProgram(problem, free, extension=fixed, rooms=rooms)

    def target(self) -> tuple[pd.Series, FloatArray]:
        """Return the allocation and overlay without pace limits."""
        result = optimize(self.problem, program=self.program, overlay=self.overlay)
        return result.weights, result.overlay_units(self.overlay.instruments.index)

    def overlay_for(self, weights: FloatArray, strips: FloatArray) -> FloatArray:
        """Return the overlay (units per unit of assets) chosen at `weights` and `strips`."""
        self.pinned.value = weights
        self.strips.value = strips
        self.fixed.solve_for("utility")
        units = np.asarray(self.fixed.extension.variables[0].value, dtype=float)
        return np.where(np.abs(units) < OVERLAY_MIN_UNITS, 0.0, units)
