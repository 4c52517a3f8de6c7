"""The mandate's limits as rows: what each measures, its unit, and its value at any weights.

Every limit is a row ``value <= limit`` or ``value >= limit`` whose *excess* (how far beyond
the limit, zero or negative when met) the optimizer bounds and the diagnosis relaxes. Rows
come in three kinds:

``pace``
    How far and how fast the book may move this cycle: turnover, max shift, min and max
    allocation, the rating drift and sector overweight (changes from today), and no purchase
    of a sleeve nothing of which trades on the market (private placements). Always
    enforced; relaxed only to explain a mandate that cannot be met.
``limit``
    Where the book must be: yield, tracking error, liquid buffer, illiquid share, and the
    exited managers when an exit is gradual. A limit the
    current book breaches is a starting point: it may not get worse, and the optimizer closes
    it as far as the other limits allow.
``gap``
    A key-rate gap tolerance: like a limit (a gap beyond it today may not widen), except
    that managers alone may never close it (an overlay can), so a tolerance no allocation
    meets is reported, never refused; and by default (``Mandate.gap_closing``) how far it
    closes is the objective's choice, through the price of surplus risk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.allocation_problem import AllocationProblem, turnover
from fialloc.data.mandate import DEFAULT_GAP_TOLERANCE, Mandate

__all__ = ["ExtensionEffect", "LimitRow", "check_constraints", "limit_rows"]

#: Slack within which a limit counts as met (decimal weights, rates or years).
MET_TOLERANCE = 1e-6

Kind = Literal["pace", "limit", "gap"]
#: The row that keeps the optimizer from buying sleeves nothing of which trades.
UNTRADED = "purchases of untraded sleeves"


@dataclass(frozen=True)
class LimitRow:
    """One mandate limit.

    Attributes
    ----------
    name : str
        As reported (``"tracking error"``, ``"key-rate gap 30y"``...).
    sense : {"<=", ">="}
        Direction of the limit.
    limit : float
        The limit in the optimizer's unit: decimals for weights and rates, years for gaps,
        notches for rating drift.
    unit : {"share", "years", "notches"}
        What the value measures.
    kind : {"pace", "limit", "gap"}
        See the module docstring.
    scale : float
        The unit a relaxation is measured in: the limit itself, floored (1 point of weight or
        rate, 0.1 year, 0.1 notch) so that a zero limit still has a scale.
    """

    name: str
    sense: Literal["<=", ">="]
    limit: float
    unit: Literal["share", "years", "notches"]
    kind: Kind

    @property
    def scale(self) -> float:
        """The relaxation unit (see the class docstring)."""
        floor = {"share": 0.01, "years": 0.1, "notches": 0.1}[self.unit]
        return max(abs(self.limit), floor)

    def excess(self, value: float) -> float:
        """How far `value` is beyond the limit (<= 0 when met)."""
        return value - self.limit if self.sense == "<=" else self.limit - value


def gap_tolerances(problem: AllocationProblem, mandate: Mandate) -> pd.Series:
    """Key-rate gap tolerance per tenor label, in years of asset duration.

    Raises
    ------
    ValueError
        If the mandate names a tenor the book does not have.
    """
    tenors = problem.key_tenors
    if isinstance(mandate.krd_gap_tolerance, dict):
        unknown = sorted(set(mandate.krd_gap_tolerance) - set(tenors))
        if unknown:
            msg = f"mandate: krd_gap_tolerance names tenors {unknown}; the book has {tenors}"
            raise ValueError(msg)
    per_year = 1.0 if mandate.krd_gap_unit == "years" else problem.assets * 1e-4
    given = mandate.krd_gap_tolerance
    return pd.Series(
        {
            t: (
                DEFAULT_GAP_TOLERANCE  # a tenor a mapping leaves out: 0.1 years in any unit
                if isinstance(given, dict) and t not in given
                else mandate.gap_tolerance(t) / per_year
            )
            for t in tenors
        },
        name="tolerance",
    )


def limit_rows(problem: AllocationProblem, mandate: Mandate) -> list[LimitRow]:
    """Every limit of `mandate` on `problem`, in the order they are reported."""
    m = mandate
    rows = [
        LimitRow("turnover (one-way)", "<=", m.turnover, "share", "pace"),
        LimitRow("max shift", "<=", m.max_shift, "share", "pace"),
        LimitRow("min allocation", ">=", m.min_allocation, "share", "pace"),
        LimitRow("max allocation", "<=", m.max_allocation, "share", "pace"),
    ]
    if m.exit_managers and not m.exit_immediately:
        rows.append(LimitRow("exited managers", "<=", 0.0, "share", "limit"))
    if (problem.tradable_share <= 0).any():
        rows.append(LimitRow(UNTRADED, "<=", 0.0, "share", "pace"))
    rows += [
        # rating drift and sector overweight measure the move from today, like turnover
        LimitRow("yield", ">=", m.target_yield, "share", "limit"),
        LimitRow("tracking error", "<=", m.max_tracking_error, "share", "limit"),
        LimitRow("liquidity buffer", ">=", m.liquidity_buffer, "share", "limit"),
        LimitRow("illiquid share", "<=", m.max_illiquid, "share", "limit"),
        LimitRow("rating drift (notches)", "<=", m.max_rating_drift, "notches", "pace"),
        LimitRow("sector overweight", "<=", m.max_sector_overweight, "share", "pace"),
    ]
    rows += [
        LimitRow(f"key-rate gap {tenor}", "<=", float(tol), "years", "gap")
        for tenor, tol in gap_tolerances(problem, m).items()
    ]
    return rows


def exit_mask(problem: AllocationProblem, mandate: Mandate) -> npt.NDArray[np.bool_]:
    """Which managers the mandate exits.

    Raises
    ------
    ValueError
        If the mandate exits a manager the book does not have.
    """
    unknown = sorted(set(mandate.exit_managers) - {str(m) for m in problem.managers})
    if unknown:
        msg = f"mandate: exit_managers names managers the book does not have: {unknown}"
        raise ValueError(msg)
    return np.asarray(problem.managers.isin(mandate.exit_managers))


def shifted_mask(problem: AllocationProblem, mandate: Mandate) -> npt.NDArray[np.bool_]:
    """Return the managers whose move the max shift limits: all, or all but immediate exits."""
    exits = exit_mask(problem, mandate)
    return ~exits if mandate.exit_immediately else np.ones(len(exits), dtype=bool)


@dataclass(frozen=True)
class ExtensionEffect:
    """What an extension's positions add to the book, in numbers (see ``Extension``).

    Attributes
    ----------
    exposure : array
        Per factor of the problem: years of assets, added to the managers' exposures.
    yield_pickup : float
        Added to the portfolio's yield (decimal a year of assets).
    level1 : float
        Added to the Level 1 assets of the liquid buffer (share of assets).
    funded : float
        Share of assets the positions take from the managers (counts in the turnover).
    """

    exposure: npt.NDArray[np.float64]
    yield_pickup: float = 0.0
    level1: float = 0.0
    funded: float = 0.0


def row_values(
    problem: AllocationProblem,
    mandate: Mandate,
    w: npt.ArrayLike,
    effect: ExtensionEffect | None = None,
) -> dict[str, float]:
    """Return the value each limit row measures at weights `w` (numpy, without a solver).

    With an extension's `effect` (an overlay), its exposure, yield, Level 1 assets and
    funding enter the rows they touch.
    """
    w = np.asarray(w, dtype=float)
    w0 = problem.current.to_numpy()
    exits = exit_mask(problem, mandate)
    staying = ~exits
    moved = np.abs(w - w0)[shifted_mask(problem, mandate)]
    untraded = (problem.tradable_share <= 0).to_numpy()
    e = effect or ExtensionEffect(np.zeros(len(problem.exposures.columns)))
    gaps = np.abs(problem.key_gaps(w, e.exposure))
    values = {
        "turnover (one-way)": turnover(w, w0) + 0.5 * e.funded,
        "max shift": float(moved.max()) if moved.size else 0.0,
        "min allocation": float(w[staying].min()) if staying.any() else 1.0,
        "max allocation": float(w.max()),
        "exited managers": float(w[exits].sum()),
        UNTRADED: float(max(0.0, (w - w0)[untraded].max())) if untraded.any() else 0.0,
        "yield": float(problem.yields.to_numpy() @ w) + e.yield_pickup,
        "tracking error": problem.tracking_error(w, e.exposure),
        "liquidity buffer": problem.liquid_buffer(w, e.level1),
        "illiquid share": float(problem.illiquid_share.to_numpy() @ w),
        "rating drift (notches)": float(abs(problem.notch.to_numpy() @ (w - w0))),
        "sector overweight": float((problem.sectors.to_numpy().T @ (w - w0)).max()),
    }
    values.update(
        {f"key-rate gap {t}": float(g) for t, g in zip(problem.key_tenors, gaps, strict=True)}
    )
    return values


def check_constraints(
    problem: AllocationProblem,
    mandate: Mandate,
    w: npt.ArrayLike,
    effect: ExtensionEffect | None = None,
) -> pd.DataFrame:
    """Every mandate limit evaluated at weights `w`, and at today's weights, without a solver.

    With an extension's `effect` (an overlay's, at the weights `w`; today holds none), its
    exposure, yield, Level 1 assets and funding enter the rows they touch.

    Returns
    -------
    DataFrame
        Indexed by limit name: ``kind``, ``unit``, ``sense``, ``limit``, ``before`` (the value
        at today's weights), ``value``, ``slack`` (how far inside the limit; negative when
        beyond it), ``status`` and ``ok``. ``status`` is ``met`` (within
        :data:`MET_TOLERANCE`), ``closing`` (beyond the limit but nearer to it than today)
        or ``not met``; ``ok`` is true only when met; ``allowed`` when met or no further from
        the limit than today (what the mandate accepts this cycle). An immediate exit's
        managers must hold nothing (row ``exited managers``, status met or not met).
    """
    w = np.asarray(w, dtype=float)
    rows = limit_rows(problem, mandate)
    if mandate.exit_managers and mandate.exit_immediately:
        rows.insert(4, LimitRow("exited managers", "<=", 0.0, "share", "pace"))
    now = row_values(problem, mandate, problem.current.to_numpy())
    then = row_values(problem, mandate, w, effect)
    before = np.array([r.excess(now[r.name]) for r in rows])
    after = np.array([r.excess(then[r.name]) for r in rows])
    met = after <= MET_TOLERANCE
    closing = ~met & (after < before - MET_TOLERANCE)
    return pd.DataFrame(
        {
            "kind": [r.kind for r in rows],
            "unit": [r.unit for r in rows],
            "sense": [r.sense for r in rows],
            "limit": [r.limit for r in rows],
            "before": [now[r.name] for r in rows],
            "value": [then[r.name] for r in rows],
            "slack": -after,
            "status": np.where(met, "met", np.where(closing, "closing", "not met")),
            "ok": met,
            "allowed": met | (after <= np.maximum(before, 0.0) + MET_TOLERANCE),
        },
        index=pd.Index([r.name for r in rows], name="constraint"),
    )
