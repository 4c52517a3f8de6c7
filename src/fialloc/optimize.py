"""Manager allocation: one objective in money a year, limits that mean what they say.

The objective (maximized; every term in basis points of assets a year and in money):

``yield'w`` - ``expected_loss'w`` (default probability by rating times loss given default,
:func:`fialloc.analytics.credit_loss.expected_loss_rate`: high-yield carry is not all return)
+ ``alpha'w`` (posterior expected selection alpha from the skill evidence)
- ``sum_m (cost_m |w_m - w0_m| + impact_m |w_m - w0_m|^1.5) / amortization_years`` (half
  the bid-ask and square-root market impact on every sleeve moved, as the plan prices it)
- ``risk_aversion / 2 x TE(w)^2`` (the variance of the return of assets against liabilities)
+ ``liquidity_premium x min(liquid buffer(w), target)``.

The mandate's priorities scale the coefficients (:func:`fialloc.allocation_program.coefficients`).
Limits (:mod:`fialloc.allocation_limits`) hold as the README says: a limit today's book
meets stays met; one it breaches is closed as far as turnover, shifts and the other limits
allow before the objective chooses (a starting point, not an error); only a mandate no
allocation could ever meet is refused, with the smallest relaxation of each conflicting limit
in its unit. The program is compiled once and re-solved for the recommendation, the frontier
and the least-shortfall weights (:mod:`fialloc.allocation_program`).

Duration overlay
    Swaps, Treasury futures and STRIPS (:mod:`fialloc.overlay`) are an
    :class:`~fialloc.allocation_program.Extension` of the program (:func:`overlay_extension`):
    their key-rate exposures add to the managers', their carry to the yield, STRIPS (bought
    with cash) take their value from the managers and count as Level 1 liquid assets, and
    initial margin plus the variation margin of the worst deterministic stress come out of
    the liquid buffer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import cvxpy as cp
import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.allocation_limits import MET_TOLERANCE, ExtensionEffect, gap_tolerances
from fialloc.allocation_limits import check_constraints as _check_limits
from fialloc.allocation_problem import AllocationProblem, build_problem, turnover
from fialloc.allocation_program import (
    AllocationProgram,
    Extension,
    InfeasibleMandate,
    coefficients,
)
from fialloc.analytics.duration_gaps import gap_dv01, key_rate_gap
from fialloc.analytics.liquidity_costs import hqla_bounds
from fialloc.data.mandate import Mandate, OverlayLimits
from fialloc.layout import FloatArray

__all__ = [
    "AllocationProblem",
    "AllocationProgram",
    "AllocationResult",
    "Extension",
    "InfeasibleMandate",
    "OverlayInputs",
    "allocation_result",
    "build_problem",
    "check_constraints",
    "key_rate_gaps",
    "long_end_gap",
    "objective_table",
    "optimize",
    "overlay_effects",
    "overlay_extension",
    "overlay_positions",
    "overlay_program",
    "pareto_frontier",
    "turnover",
]


#: Weight changes below this (decimal of assets: $4,000 on $40B) are solver noise.
NOISE = 1e-7


#: Overlay positions below this (per unit of assets: $4,000 on $40B, far below one futures
#: contract) are the solver's noise, not held: they are set to zero before anything is reported.
OVERLAY_MIN_UNITS: Final = 1e-7

#: The long end of the curve: the key rates whose gaps :func:`long_end_gap` adds up.
LONG_END: Final = ("krd_20y", "krd_30y")


@dataclass(frozen=True)
class OverlayInputs:
    """The overlay instruments the optimizer may hold, per unit of position.

    Attributes
    ----------
    instruments : DataFrame
        Indexed by instrument id, as :attr:`fialloc.overlay.OverlayUniverse.table`: ``kind``
        (swap, future, strips), ``funded`` (bool), ``carry`` (a year per unit, decimal),
        ``initial_margin`` (per unit, decimal) and one ``krd_*`` exposure column (years per
        unit) per key-rate factor of the problem.
    stress_changes : DataFrame
        Deterministic scenarios (rows) by instruments (columns): value change per unit from
        today. Variation margin is the loss of the worst scenario.
    """

    instruments: pd.DataFrame
    stress_changes: pd.DataFrame

    def __post_init__(self) -> None:
        t = self.instruments
        need = ["kind", "funded", "carry", "initial_margin"]
        missing = [c for c in need if c not in t.columns]
        if missing:
            msg = f"OverlayInputs: `instruments` lacks column(s) {missing}"
            raise ValueError(msg)
        if not self.stress_changes.columns.equals(t.index):
            msg = "OverlayInputs: `stress_changes` columns must be the instruments, in order"
            raise ValueError(msg)
        numbers = t[["carry", "initial_margin", *self.key_columns]].to_numpy(dtype=float)
        if not np.all(np.isfinite(numbers)) or not np.all(
            np.isfinite(self.stress_changes.to_numpy(dtype=float))
        ):
            msg = "OverlayInputs: carry, margins, exposures and stress changes must be finite"
            raise ValueError(msg)

    @property
    def key_columns(self) -> list[str]:
        """The instruments' ``krd_*`` exposure columns."""
        return [c for c in self.instruments.columns if c.startswith("krd_")]

    def exposure_matrix(self, problem: AllocationProblem) -> FloatArray:
        """Instruments by the problem's factors (years per unit; zero on spread factors)."""
        missing = [c for c in problem.key_columns if c not in self.key_columns]
        if missing:
            msg = f"OverlayInputs: no exposure column for the problem's factors {missing}"
            raise ValueError(msg)
        t = self.instruments
        at = t.columns.get_indexer(problem.exposures.columns)
        out = np.zeros((len(t), len(at)))
        held = np.flatnonzero(at >= 0)
        out[:, held] = t.iloc[:, at[held]].to_numpy(dtype=float)
        return out


def _overlay_limits(lim: OverlayLimits) -> list[tuple[str, str, float]]:
    return [
        ("swap notional", "swap", lim.swap_notional),
        ("futures notional", "future", lim.futures_notional),
        ("STRIPS", "strips", lim.strips),
    ]


def overlay_extension(
    problem: AllocationProblem, mandate: Mandate, inputs: OverlayInputs
) -> Callable[[cp.Variable], Extension]:
    """Return the overlay instruments as an :class:`Extension` of the allocation program.

    One variable per instrument (position per unit of assets; STRIPS long only). The
    instruments' key-rate exposures add to the managers', their carry to the yield
    (``yield_pickup``); STRIPS are bought with cash (``funded``: they take their value from
    the weights and count in turnover) and count as Level 1 liquid assets, while initial
    margin (per unit of gross position) and the variation margin of the worst deterministic
    stress come out of the Level 1 assets (``level1``). The mandate's
    :class:`~fialloc.data.mandate.OverlayLimits` cap the gross swap notional, futures face,
    STRIPS and any one instrument. Swaps and futures are put on first (see
    :mod:`fialloc.plan`), so on today's weights they must keep each key-rate gap within its
    tolerance (or today's gap, if wider) and leave the liquid buffer (if today meets it).

    Pass the result as ``AllocationProgram(..., extension=...)``; the overlay's variable is
    the extension's first.
    """
    return _OverlayTerms(problem, mandate, inputs).extension


class _OverlayTerms:
    """The overlay's data for :func:`overlay_extension`, and the extension it builds."""

    def __init__(self, problem: AllocationProblem, mandate: Mandate, inputs: OverlayInputs) -> None:
        t = inputs.instruments
        kind = t["kind"].to_numpy()
        funded_mask = t["funded"].to_numpy(dtype=bool)
        self.problem, self.mandate, self.n = problem, mandate, len(t)
        self.x = inputs.exposure_matrix(problem)
        self.im = t["initial_margin"].to_numpy(dtype=float)
        self.carry = t["carry"].to_numpy(dtype=float)
        self.changes = inputs.stress_changes.to_numpy(dtype=float)
        self.lim = mandate.overlay
        self.w0 = problem.current.to_numpy()
        self.keys = np.flatnonzero(problem.exposures.columns.isin(problem.key_columns))
        now = problem.key_gaps(self.w0)
        self.tolerance = np.maximum(gap_tolerances(problem, mandate).to_numpy(), np.abs(now))
        self.today = problem.hqla.to_numpy().T @ self.w0
        self.unfunded = np.flatnonzero(~funded_mask)
        self.kinds = [(k, cap) for _, k, cap in _overlay_limits(self.lim) if (kind == k).any()]
        self.by_kind = np.array([kind == k for k, _ in self.kinds], dtype=float)
        self.at_funded = np.flatnonzero(funded_mask)

    def extension(self, w: cp.Variable) -> Extension:
        """Return the overlay's variables, exposures, carry, margins and limits."""
        units = cp.Variable(self.n, name="overlay")
        # Gross positions and the worst stress loss as variables of their own: margin, caps
        # and the buffer only ever need them large enough, so the program stays small.
        gross = cp.Variable(self.n, nonneg=True, name="overlay_gross")
        worst = cp.Variable(nonneg=True, name="overlay_variation_margin")
        at_funded = self.at_funded
        funded = cp.sum(units[at_funded]) if len(at_funded) else None
        constraints = [
            gross >= units,
            gross >= -units,
            worst >= -(self.changes @ units),
            gross <= self.lim.per_instrument,
        ]
        if self.kinds:
            constraints.append(self.by_kind @ gross <= np.array([cap for _, cap in self.kinds]))
        if len(at_funded):
            constraints.append(units[at_funded] >= 0)
        if len(self.unfunded):
            constraints += self._first_phase(units, gross)
        return Extension(
            variables=[units],
            exposure=self.x.T @ units,
            yield_pickup=self.carry @ units,
            level1=(funded if funded is not None else 0.0) - (self.im @ gross + worst),
            funded=funded,
            constraints=constraints,
            positions=[units],
        )

    def _first_phase(self, units: cp.Variable, gross: cp.Variable) -> list[cp.Constraint]:
        """Return the first phase's limits: swaps and futures on today's weights.

        They keep each key-rate gap within its tolerance (or today's gap, if wider) and the
        liquid buffer (if today meets it).
        """
        problem, unfunded = self.problem, self.unfunded
        first = self.x[unfunded][:, self.keys].T @ units[unfunded]
        constraints = [
            cp.abs(
                key_rate_gap(
                    problem.exposures[problem.key_columns].to_numpy().T @ self.w0 + first,
                    problem.liability[problem.key_columns].to_numpy(),
                    problem.assets,
                    problem.liabilities,
                )
            )
            <= self.tolerance
        ]
        if min(hqla_bounds(*self.today)) >= self.mandate.liquidity_buffer:
            bounds = np.array(hqla_bounds(*np.eye(3)))
            first_worst = cp.Variable(nonneg=True, name="overlay_first_variation_margin")
            first_margin = self.im[unfunded] @ gross[unfunded] + first_worst
            constraints += [
                first_worst >= -(self.changes[:, unfunded] @ units[unfunded]),
                bounds @ self.today - bounds[:, 0] * first_margin >= self.mandate.liquidity_buffer,
            ]
        return constraints


def overlay_effects(
    problem: AllocationProblem, inputs: OverlayInputs, units: npt.ArrayLike | None
) -> dict[str, Any]:
    """Return the overlay's effect at `units` (per instrument, per unit of assets), with numpy.

    Returns ``units``, ``exposure`` (per factor of the problem, years of assets), ``funded``
    (share of assets in STRIPS), ``carry`` (a year, decimal of assets), ``initial_margin`` and
    ``variation_margin`` (the worst stress's loss, floored at 0; decimals of assets),
    ``liquid`` (funded less both margins) and ``effect`` (the
    :class:`~fialloc.allocation_limits.ExtensionEffect` the limits are checked with): the
    quantities :func:`overlay_extension` constrains.
    """
    t = inputs.instruments
    u = np.zeros(len(t)) if units is None else np.asarray(units, dtype=float)
    if u.shape != (len(t),) or not np.all(np.isfinite(u)):
        msg = f"overlay_effects: `units` needs {len(t)} finite values, got shape {u.shape}"
        raise ValueError(msg)
    funded = float(u[t["funded"].to_numpy(dtype=bool)].sum())
    im = float(t["initial_margin"].to_numpy(dtype=float) @ np.abs(u))
    vm = max(0.0, float(np.max(-(inputs.stress_changes.to_numpy(dtype=float) @ u))))
    exposure = inputs.exposure_matrix(problem).T @ u
    carry = float(t["carry"].to_numpy(dtype=float) @ u)
    return {
        "units": u,
        "exposure": exposure,
        "funded": funded,
        "carry": carry,
        "initial_margin": im,
        "variation_margin": vm,
        "liquid": funded - im - vm,
        "effect": ExtensionEffect(exposure, carry, funded - im - vm, funded),
    }


def _overlay_limit_rows(
    problem: AllocationProblem, mandate: Mandate, inputs: OverlayInputs, units: FloatArray
) -> pd.DataFrame:
    kind = inputs.instruments["kind"].to_numpy()
    funded = inputs.instruments["funded"].to_numpy(dtype=bool)
    rows = [
        (f"overlay {name}", float(np.abs(units[kind == k]).sum()), cap, "<=")
        for name, k, cap in _overlay_limits(mandate.overlay)
        if (kind == k).any()
    ]
    rows.append(
        (
            "overlay per instrument",
            float(np.abs(units).max()) if len(units) else 0.0,
            mandate.overlay.per_instrument,
            "<=",
        )
    )
    if funded.any():
        rows.append(("overlay STRIPS long only", float(units[funded].min()), 0.0, ">="))
    records = []
    for name, value, limit, sense in rows:
        slack = limit - value if sense == "<=" else value - limit
        met = slack >= -MET_TOLERANCE
        records.append(
            {
                "constraint": name,
                "kind": "pace",
                "unit": "share",
                "sense": sense,
                "limit": limit,
                "before": 0.0,
                "value": value,
                "slack": slack,
                "status": "met" if met else "not met",
                "ok": met,
                "allowed": met,
            }
        )
    return pd.DataFrame(records).set_index("constraint")


def check_constraints(
    problem: AllocationProblem,
    mandate: Mandate,
    w: npt.ArrayLike,
    overlay: OverlayInputs | None = None,
    units: npt.ArrayLike | None = None,
) -> pd.DataFrame:
    """Every mandate limit at weights `w` (and an overlay's `units`), without a solver.

    :func:`fialloc.allocation_limits.check_constraints`; with `overlay` instruments and their
    `units` (per instrument, per unit of assets), the overlay's exposure, carry, Level 1
    assets, margin and funding enter the limits they touch (:func:`overlay_effects`) and its
    own limits (``overlay ...`` rows, measured in units of assets) are added.
    """
    if overlay is None:
        return _check_limits(problem, mandate, w)
    return _check_with_overlay(
        problem, mandate, w, overlay, overlay_effects(problem, overlay, units)
    )


def _check_with_overlay(
    problem: AllocationProblem,
    mandate: Mandate,
    w: npt.ArrayLike,
    overlay: OverlayInputs,
    fx: dict[str, Any],
) -> pd.DataFrame:
    table = _check_limits(problem, mandate, w, fx["effect"])
    return pd.concat([table, _overlay_limit_rows(problem, mandate, overlay, fx["units"])])


def key_rate_gaps(
    problem: AllocationProblem, w: npt.ArrayLike, overlay: npt.ArrayLike | None = None
) -> pd.Series:
    """Key-rate gaps of weights `w` (and an overlay's exposure): assets less liabilities.

    Years of assets, indexed by key-rate column (``krd_<tenor>``): the one gap
    (:meth:`AllocationProblem.gaps`) the mandate's tolerances apply to.
    """
    return pd.Series(problem.key_gaps(w, overlay), index=problem.key_columns, name="gap")


def long_end_gap(
    problem: AllocationProblem, w: npt.ArrayLike, overlay: npt.ArrayLike | None = None
) -> float:
    """Return the sum of the absolute 20y and 30y key-rate gaps (years of assets).

    The gaps are :func:`key_rate_gaps`'s.
    """
    gaps = problem.key_gaps(w, overlay)
    return float(
        sum(abs(g) for k, g in zip(problem.key_columns, gaps, strict=True) if k in LONG_END)
    )


def overlay_positions(
    problem: AllocationProblem, inputs: OverlayInputs, units: npt.ArrayLike | None
) -> pd.DataFrame:
    """Return the overlay's positions in money, one row per instrument held.

    Columns: ``kind``, ``units`` (per unit of assets), ``position`` (notional, face or market
    value, money; negative pays fixed or is short), ``contracts`` (futures: position over the
    contract size, rounded; NaN otherwise), ``dv01`` (money per bp fall of every zero rate),
    ``carry`` (money a year), ``initial_margin`` (money) and one ``krd_*`` column per key
    rate (years of assets).
    """
    u = overlay_effects(problem, inputs, units)["units"]
    t = inputs.instruments
    a = problem.assets
    keys = inputs.key_columns
    exposure = t[keys].to_numpy(dtype=float) * u[:, None]
    size = t["contract_size"].to_numpy(dtype=float) if "contract_size" in t else np.nan
    held = u != 0.0
    return pd.DataFrame(
        {
            "kind": t["kind"][held],
            "units": u[held],
            "position": (u * a)[held],
            "contracts": np.round(u * a / size)[held],
            "dv01": (exposure.sum(axis=1) * a * 1e-4)[held],
            "carry": (t["carry"].to_numpy(dtype=float) * u * a)[held],
            "initial_margin": (t["initial_margin"].to_numpy(dtype=float) * np.abs(u) * a)[held],
            **{k: exposure[held, j] for j, k in enumerate(keys)},
        },
        index=t.index[held],
    )


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
        Yield, expected credit loss (decimals a year), tracking error, surplus volatility,
        liquid buffer and objective before and after, turnover, and ``constraints_met``
        (every limit met).
    status : str
        The solver's status.
    overlay : DataFrame, optional
        The duration overlay's positions when one was chosen (:func:`overlay_positions`);
        the weights then sum to 1 less its STRIPS, ``exposures`` has an ``overlay`` column
        (included in ``recommended``), and the gaps, limits, objective and summary include
        the overlay (the summary adds ``overlay_carry``, ``overlay_initial_margin``,
        ``overlay_variation_margin`` and ``overlay_strips``, money).
    """

    weights: pd.Series
    change: pd.Series
    constraints: pd.DataFrame
    objective: pd.DataFrame
    exposures: pd.DataFrame
    gaps: pd.DataFrame
    summary: dict[str, float]
    status: str
    overlay: pd.DataFrame | None = None

    def overlay_units(self, instruments: pd.Index) -> FloatArray:
        """Return the overlay units (per unit of assets) per instrument, zero where none."""
        if self.overlay is None:
            return np.zeros(len(instruments))
        units = self.overlay["units"].reindex(instruments, fill_value=0.0)
        return np.asarray(units.to_numpy(dtype=float), dtype=np.float64)


def objective_table(
    problem: AllocationProblem,
    mandate: Mandate,
    w: npt.ArrayLike,
    effect: ExtensionEffect | None = None,
) -> pd.DataFrame:
    """Each objective term at today's weights and at `w`: basis points and money a year.

    With an extension's `effect` at `w` (an overlay), its carry enters the yield, its
    exposure the surplus risk and its Level 1 assets the liquidity.

    Terms: ``yield``, ``expected credit loss`` (default probability by rating times loss
    given default, negative: yield plus it is the expected return), ``alpha`` (posterior),
    ``trading cost`` (amortized, negative),
    ``surplus risk`` (risk aversion / 2 x tracking error squared, negative), ``liquidity``
    and ``total``, each weighted by the mandate's priorities (:func:`coefficients`). Columns
    ``before_bp``, ``after_bp``, ``change_bp`` (basis points of assets a year) and
    ``before``, ``after``, ``change`` (money a year).
    """
    c = coefficients(mandate)
    w0 = problem.current.to_numpy()

    def terms(x: npt.NDArray[np.float64], e: ExtensionEffect | None) -> dict[str, float]:
        e = e or ExtensionEffect(np.zeros(len(problem.exposures.columns)))
        return {
            "yield": c.yield_multiplier * (float(problem.yields.to_numpy() @ x) + e.yield_pickup),
            "expected credit loss": -c.yield_multiplier
            * float(problem.expected_loss.to_numpy() @ x),
            "alpha": c.alpha_multiplier * float(problem.alpha.to_numpy() @ x),
            "trading cost": -float(
                problem.trading_cost.to_numpy() @ np.abs(x - w0)
                + problem.trading_impact.to_numpy() @ np.abs(x - w0) ** 1.5
            )
            / c.amortization_years,
            "surplus risk": -0.5 * c.risk_aversion * problem.tracking_error(x, e.exposure) ** 2,
            "liquidity": c.liquidity_premium
            * min(problem.liquid_buffer(x, e.level1), mandate.liquidity_buffer),
        }

    before, after = terms(w0, None), terms(np.asarray(w, dtype=float), effect)
    table = np.array([list(before.values()), list(after.values())]).T
    table = np.vstack([table, table.sum(axis=0)])
    table = np.column_stack([table, table[:, 1] - table[:, 0]])
    return pd.DataFrame(
        np.hstack([table * 1e4, table * problem.assets]),
        index=pd.Index([*before, "total"], name="term"),
        columns=["before_bp", "after_bp", "change_bp", "before", "after", "change"],
    )


def allocation_result(
    problem: AllocationProblem,
    mandate: Mandate,
    w: npt.ArrayLike,
    status: str = "given",
    overlay: OverlayInputs | None = None,
    units: npt.ArrayLike | None = None,
) -> AllocationResult:
    """Report weights `w` (and an overlay's `units`) against the problem and mandate.

    The weights are clipped at zero and scaled to sum to 1 less the overlay's STRIPS. A
    change from today smaller than :data:`NOISE` is the solver's tolerance, not a trade: it
    is set to zero (the sum's remainder goes to the largest change), so the plan never trades
    dust; so is an overlay position below :data:`OVERLAY_MIN_UNITS`.
    """
    fx = None
    if overlay is not None:
        u = np.array(overlay_effects(problem, overlay, units)["units"])
        u[np.abs(u) < OVERLAY_MIN_UNITS] = 0.0
        fx = overlay_effects(problem, overlay, u)
    funded = 0.0 if fx is None else fx["funded"]
    effect: ExtensionEffect | None = None if fx is None else fx["effect"]
    extra = np.zeros(len(problem.exposures.columns)) if fx is None else fx["exposure"]
    weights = np.clip(np.asarray(w, dtype=float), 0.0, None)
    weights *= (1.0 - funded) / weights.sum()
    w0 = problem.current.to_numpy()
    change = np.where(np.abs(weights - w0) < NOISE, 0.0, weights - w0)
    change[np.argmax(np.abs(change))] -= change.sum() + funded
    weights = np.clip(w0 + change, 0.0, None)
    constraints = (
        _check_limits(problem, mandate, weights)
        if fx is None or overlay is None
        else _check_with_overlay(problem, mandate, weights, overlay, fx)
    )
    objective = objective_table(problem, mandate, weights, effect)
    return AllocationResult(
        weights=pd.Series(weights, index=problem.managers, name="weight"),
        change=pd.Series(weights - w0, index=problem.managers, name="change"),
        constraints=constraints,
        objective=objective,
        exposures=_exposures(problem, weights, extra, fx),
        gaps=_gaps(problem, mandate, weights, extra),
        summary={
            **_summary(problem, weights, extra, fx),
            "objective_bp_before": float(objective["before_bp"].loc["total"]),
            "objective_bp_after": float(objective["after_bp"].loc["total"]),
            "turnover": turnover(weights, w0) + 0.5 * funded,
            "constraints_met": float(constraints["ok"].all()),
            **_overlay_summary(problem, fx),
        },
        status=status,
        overlay=None
        if fx is None or overlay is None
        else overlay_positions(problem, overlay, fx["units"]),
    )


def _exposures(
    problem: AllocationProblem, weights: FloatArray, extra: FloatArray, fx: dict[str, Any] | None
) -> pd.DataFrame:
    """Factors by today's, the recommended (overlay included), the overlay's and liabilities'."""
    x = problem.exposures.to_numpy()
    exposures = pd.DataFrame(
        {
            "current": x.T @ problem.current.to_numpy(),
            "recommended": x.T @ weights + extra,
            "liabilities": problem.liability.to_numpy(),
        },
        index=problem.exposures.columns,
    )
    if fx is not None:
        exposures.insert(2, "overlay", fx["exposure"])
    return exposures


def _gaps(
    problem: AllocationProblem, mandate: Mandate, weights: FloatArray, extra: FloatArray
) -> pd.DataFrame:
    """Key tenors by key-rate gaps (years) and their DV01 (money) before and after, tolerance."""
    before, after = problem.key_gaps(problem.current.to_numpy()), problem.key_gaps(weights, extra)
    return pd.DataFrame(
        {
            "gap_before": before,
            "gap_after": after,
            "dv01_before": gap_dv01(before, problem.assets),
            "dv01_after": gap_dv01(after, problem.assets),
            "tolerance": gap_tolerances(problem, mandate).to_numpy(),
        },
        index=pd.Index(problem.key_tenors, name="tenor"),
    )


def _summary(
    problem: AllocationProblem, weights: FloatArray, extra: FloatArray, fx: dict[str, Any] | None
) -> dict[str, float]:
    """Yield, expected loss, tracking error, surplus volatility, buffer and long-end gap."""
    w0 = problem.current.to_numpy()
    return {
        "yield_before": float(problem.yields.to_numpy() @ w0),
        "yield_after": float(problem.yields.to_numpy() @ weights)
        + (0.0 if fx is None else fx["carry"]),
        "expected_loss_before": float(problem.expected_loss.to_numpy() @ w0),
        "expected_loss_after": float(problem.expected_loss.to_numpy() @ weights),
        "tracking_error_before": problem.tracking_error(w0),
        "tracking_error_after": problem.tracking_error(weights, extra),
        "surplus_vol_before": problem.surplus_vol(w0),
        "surplus_vol_after": problem.surplus_vol(weights, extra),
        "liquid_buffer_before": problem.liquid_buffer(w0),
        "liquid_buffer_after": problem.liquid_buffer(weights, 0.0 if fx is None else fx["liquid"]),
        "long_end_gap_before": long_end_gap(problem, w0),
        "long_end_gap_after": long_end_gap(problem, weights, extra),
    }


def _overlay_summary(problem: AllocationProblem, fx: dict[str, Any] | None) -> dict[str, float]:
    """Return the overlay's carry, margins and STRIPS (money); none without an overlay."""
    if fx is None:
        return {}
    a = problem.assets
    return {
        "overlay_carry": fx["carry"] * a,
        "overlay_initial_margin": fx["initial_margin"] * a,
        "overlay_variation_margin": fx["variation_margin"] * a,
        "overlay_strips": fx["funded"] * a,
    }


def overlay_program(
    problem: AllocationProblem,
    mandate: Mandate,
    overlay: OverlayInputs,
    solver: str = "CLARABEL",
    rooms: FloatArray | None = None,
) -> AllocationProgram:
    """Compile the allocation program with the overlay instruments (:func:`overlay_extension`).

    The overlay's positions can be switched off (``solve_for(..., positions=False)``), so
    one compiled program gives the weights-only answer too. Today's breaches are closed as
    far as the weights alone close them (`rooms`, computed with the positions off when not
    given: :meth:`AllocationProgram.rooms`), so the overlay improves on the weights-only
    answer and never loosens a limit.
    """
    return AllocationProgram(
        problem,
        mandate,
        extension=overlay_extension(problem, mandate, overlay),
        solver=solver,
        rooms=rooms,
    )


def optimize(
    problem: AllocationProblem,
    mandate: Mandate | None = None,
    solver: str = "CLARABEL",
    *,
    program: AllocationProgram | None = None,
    overlay: OverlayInputs | None = None,
) -> AllocationResult:
    """Recommend manager weights: the mandate's objective in money, within its limits.

    `solver` names any installed cvxpy solver for second-order cones (Clarabel by
    default; SCS is the first-order alternative); pass a compiled `program` to re-solve it
    instead (its problem and mandate are used). With `overlay` instruments (and a mandate whose
    overlay limits are not all zero) they are chosen jointly with the weights
    (:func:`overlay_program`; a `program` passed must then be one): their exposures enter the
    surplus risk, their carry the yield and their funding and margin the liquid buffer.
    Without `overlay`, a program from :func:`overlay_program` solves with its positions off
    (the weights-only answer of the same compiled program).

    Raises
    ------
    InfeasibleMandate
        If no allocation could ever meet the mandate, or this cycle's pace limits conflict;
        the message names the smallest relaxation of each conflicting limit, in its unit,
        and the alternatives (one limit relaxed alone).
    """
    m = program.mandate if program is not None else (mandate or Mandate())
    use = overlay if overlay is not None and m.overlay.enabled else None
    if program is None:
        program = (
            AllocationProgram(problem, m, solver=solver)
            if use is None
            else overlay_program(problem, m, use, solver)
        )
    if use is not None and not program.extension.positions:
        msg = "optimize: with `overlay`, pass a program from overlay_program (or none)"
        raise ValueError(msg)
    w = program.solve_for("utility", positions=use is not None)
    units = None
    if use is not None:
        units = np.asarray(program.extension.variables[0].value, dtype=float)
    return allocation_result(
        program.problem, program.mandate, w, str(program.program.status), use, units
    )


def pareto_frontier(
    problem: AllocationProblem,
    mandate: Mandate | None = None,
    points: int = 9,
    *,
    program: AllocationProgram | None = None,
) -> pd.DataFrame:
    """Trace the efficient frontier between tracking error and expected return under the mandate.

    Expected return is yield less expected credit loss (the objective's measure). The
    frontier runs from the lowest tracking error the mandate allows to the highest expected
    return it allows, each end the solution of its own problem; each point between minimizes
    tracking error for an expected return at least a step along. Those floors lie strictly
    between the ends, so every one leaves room (a floor at the highest return itself would
    leave only the face of its maximizers, which an interior-point solver settles only to
    its tolerance). Every point re-solves one compiled program (`program`, or one compiled
    here), with manager weights only (an overlay program's positions held at zero).

    Returns
    -------
    DataFrame
        One row per point: ``target_return`` (the floor; at the ends, the end's own return),
        ``expected_return``, ``yield`` (decimals a year), ``tracking_error`` (decimal,
        annual), ``surplus_vol`` (money, annual), then one column of weights per manager.

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
    net = y - problem.expected_loss.to_numpy()
    low = program.solve_for("tracking_error", positions=False)
    high = program.solve_for("expected_return", positions=False)
    targets = np.linspace(float(net @ low), float(net @ high), points)
    solved = [low]
    solved += [
        program.solve_for("tracking_error", return_floor=t, positions=False) for t in targets[1:-1]
    ]
    solved.append(high)
    rows = []
    for target, point in zip(targets, solved, strict=True):
        w = np.clip(point, 0.0, None)
        w /= w.sum()
        rows.append(
            {
                "target_return": float(target),
                "expected_return": float(net @ w),
                "yield": float(y @ w),
                "tracking_error": problem.tracking_error(w),
                "surplus_vol": problem.surplus_vol(w),
                **{str(m): float(v) for m, v in zip(problem.managers, w, strict=True)},
            }
        )
    return pd.DataFrame(rows)
