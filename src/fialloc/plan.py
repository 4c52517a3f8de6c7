"""The phased implementation plan: how to move from current to target manager weights.

Moves are split into equal phases (3 of 10 trading days by default). Every mandate constraint
is convex in the weights, so when today's and the target allocation both satisfy one, every
phase end - a point on the straight line between them - satisfies it too; the plan checks each
phase end anyway and reports it. Selling a sleeve means selling its positions pro rata: the
cost is half the bid-ask plus square-root market impact. Each sleeve trades its cheapest
positions first and may use only its share of each position's daily volume, at the given
participation, within a phase.

A duration overlay's swaps and futures trade in the first phase (they are liquid and need no
cash); its STRIPS are bought in step with the sleeves' sales that pay for them, so weights and
STRIPS add up to the assets at every phase end. Overlay trades cost half a bid-ask spread in
yield on their DV01 (:data:`OVERLAY_HALF_SPREAD_BP`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.analytics.liquidity_costs import market_impact_cost
from fialloc.data import Mandate, Portfolio
from fialloc.layout import FloatArray
from fialloc.optimize import AllocationProblem, OverlayInputs, check_constraints

__all__ = ["ImplementationPlan", "implementation_plan"]

DAILY_PRICE_VOL = 0.004  # daily price volatility for market impact (decimal)
#: Half the bid-ask spread in yield (bp) of each overlay instrument type: a cleared swap, a
#: Treasury future (about half a tick on a 10-year's DV01), a STRIPS.
OVERLAY_HALF_SPREAD_BP: Final = {"swap": 0.25, "future": 0.1, "strips": 0.5}


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
        Per phase: ``spread_cost``, ``impact_cost``, ``in_kind`` (money in positions that do
        not trade, e.g. private placements, moved in kind), ``capacity_used`` (the largest
        share of a sleeve's tradable volume the phase needs) and ``constraints_ok`` (every
        mandate constraint holds at the phase end).
    requested_phases : int
        Phases asked for; fewer than the plan's when market volume forced more (``extend``).
    overlay_trades : DataFrame or None
        Overlay instruments (rows) by phases: position traded (notional, face or market value,
        money; negative pays fixed or sells), when the target has an overlay. Costs of these
        trades are in the ``overlay_cost`` column of ``costs``.
    """

    trades: pd.DataFrame
    weights: pd.DataFrame
    costs: pd.DataFrame
    requested_phases: int
    overlay_trades: pd.DataFrame | None = None

    @property
    def total_cost(self) -> float:
        """Estimated cost of the whole plan (money)."""
        cols = [c for c in ("spread_cost", "impact_cost", "overlay_cost") if c in self.costs]
        return float(self.costs[cols].to_numpy().sum())


def implementation_plan(
    portfolio: Portfolio,
    problem: AllocationProblem,
    target: pd.Series,
    mandate: Mandate | None = None,
    phases: int = 3,
    phase_days: int = 10,
    participation: float = 0.2,
    extend: bool = False,
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
    overlay, units : OverlayInputs and array, optional
        The target's overlay instruments and positions (per unit of assets); see the module
        notes for when they trade.

    Raises
    ------
    ValueError
        If the target weights do not cover the same managers, do not sum to 1, or a phase
        would trade more than `participation` of some position's volume over the phase.
    """
    m = mandate or portfolio.mandate
    if phases < 1 or phase_days < 1 or not 0 < participation <= 1:
        msg = (
            f"implementation_plan: need phases >= 1 (got {phases}), days >= 1 (got {phase_days}) "
            f"and participation in (0, 1] (got {participation})"
        )
        raise ValueError(msg)
    w0 = problem.current
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
    if not target.index.equals(w0.index) or abs(float(target.sum()) + strips - 1.0) > 1e-6:
        msg = (
            "implementation_plan: target weights must cover the same managers and sum to 1 "
            "(less the overlay's STRIPS)"
        )
        raise ValueError(msg)
    assets = problem.assets
    step = (target - w0) / phases
    weights = pd.DataFrame({k: w0 + k * step for k in range(phases + 1)})
    trades = pd.DataFrame({k + 1: step * assets for k in range(phases)})

    sec = portfolio.securities.loc[portfolio.book.security_ids]
    mv = portfolio.market_values[sec.index].to_numpy()  # managers x positions (money)
    total = mv.sum(axis=0)
    half_spread = sec["bid_ask_bp"].to_numpy(dtype=float) * 0.5e-4
    adv = sec["adv"].to_numpy(dtype=float)
    # Each sleeve may use its share of each position's volume at `participation` per day.
    share = np.divide(mv, total, out=np.zeros_like(mv), where=total > 0)
    capacity = np.minimum(mv, participation * adv * phase_days * share)
    # Positions with no market volume (private placements) cannot be sold; they move in kind
    # to another manager or run off, at no market cost.
    in_kind = adv <= 0
    capacity[:, in_kind] = mv[:, in_kind]
    order = np.argsort(half_spread, kind="stable")  # cheapest to trade first
    rows = []
    for k in range(phases):
        spread_cost = impact_cost = moved_in_kind = 0.0
        worst = 0.0
        for i, amount in enumerate(np.abs(trades[k + 1].to_numpy())):
            room = capacity[i, order]
            filled = np.minimum(
                room, np.maximum(amount - np.concatenate([[0.0], np.cumsum(room)[:-1]]), 0.0)
            )
            traded = ~in_kind[order]
            spread_cost += float(filled[traded] @ half_spread[order][traded])
            moved_in_kind += float(filled[~traded].sum())
            impact = market_impact_cost(
                filled[traded], adv[order][traded], np.full(int(traded.sum()), DAILY_PRICE_VOL)
            )
            impact_cost += float(impact.sum())
            available = float(room.sum())
            worst = max(
                worst, amount / available if available > 0 else (np.inf if amount > 0 else 0.0)
            )
        held = None if u is None else _overlay_held(u, funded, (k + 1) / phases)
        checked = check_constraints(problem, m, weights[k + 1].to_numpy(), overlay, held)
        rows.append(
            {
                "phase": k + 1,
                "spread_cost": spread_cost,
                "impact_cost": impact_cost,
                "capacity_used": worst,
                "constraints_ok": bool(checked["ok"].all()),
            }
        )
    costs = pd.DataFrame(rows).set_index("phase")
    overlay_trades = None
    if overlay is not None and u is not None:
        held = [np.zeros_like(u)]
        held += [_overlay_held(u, funded, k / phases) for k in range(1, phases + 1)]
        overlay_trades = pd.DataFrame(
            {k: (held[k] - held[k - 1]) * assets for k in range(1, phases + 1)},
            index=overlay.instruments.index,
        )
        half = overlay.instruments["kind"].map(OVERLAY_HALF_SPREAD_BP).fillna(0.0).to_numpy()
        dv01 = overlay.instruments[overlay.key_columns].to_numpy(dtype=float).sum(axis=1) * 1e-4
        costs["overlay_cost"] = np.abs(overlay_trades.to_numpy()).T @ (np.abs(dv01) * half)
    if (costs["capacity_used"] > 1.0).any():
        worst_phase = costs["capacity_used"].idxmax()
        need = float(costs["capacity_used"].max())
        if extend and np.isfinite(need):
            # Each phase trades 1/phases of the move against a fixed volume, so the need
            # scales exactly with the phase count.
            longer = implementation_plan(
                portfolio, problem, target, m, int(np.ceil(phases * need - 1e-9)), phase_days,
                participation, overlay=overlay, units=units,
            )  # fmt: skip
            return dataclasses.replace(longer, requested_phases=phases)
        msg = (
            f"implementation_plan: phase {worst_phase} needs {need:.2f}x the volume a sleeve can "
            f"trade at {participation:.0%} participation over {phase_days} days; use at least "
            f"{int(np.ceil(phases * need))} phases of {phase_days} days"
        )
        raise ValueError(msg)
    return ImplementationPlan(trades, weights, costs, phases, overlay_trades)


def _overlay_held(units: FloatArray, funded: npt.NDArray[np.bool_], done: float) -> FloatArray:
    """Overlay held at a phase end: swaps and futures in full, STRIPS the share `done`."""
    return np.where(funded, units * done, units)
