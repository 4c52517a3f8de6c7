"""Manager allocation: a convex program over manager weights (cvxpy with Clarabel).

Decision: one weight per manager. Exposures are linear in the weights (each manager's
key-rate durations and spread durations by rating are computed once), so the optimizer never
re-prices.

Tracking error against liabilities
    The annualized standard deviation of the asset return minus the liability return, each
    relative to its own present value, from a factor model of monthly key-rate and spread
    changes (annualized x 12) plus each manager's residual risk:
    ``TE(w)^2 = (X'w - l)' S (X'w - l) + sum_m w_m^2 s_m^2``. Surplus volatility in money is the
    standard deviation of ``A r_A - L r_L``.

Duration overlay
    Swaps, Treasury futures and STRIPS (:mod:`fialloc.overlay`) can be added as decision
    variables beside the weights by :func:`add_overlay`: their key-rate exposures add to the
    managers', their carry to the yield, STRIPS (bought with cash) take their value from the
    managers and count as Level 1 liquid assets, and initial margin plus the variation margin
    of the worst deterministic stress come out of the liquid buffer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import cvxpy as cp
import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.analytics.context import DeskContext
from fialloc.analytics.duration_gaps import key_rate_gap
from fialloc.data.mandate import Mandate, OverlayLimits
from fialloc.data.portfolio import GOVERNMENT_SECTORS
from fialloc.desks import performance
from fialloc.distributed import Executor, InProcess
from fialloc.factor_covariance import history_covariance
from fialloc.layout import FloatArray
from fialloc.scenarios import RATING_LETTERS

__all__ = [
    "SKILL_SCALE",
    "AllocationProblem",
    "AllocationResult",
    "OverlayInputs",
    "OverlayTerms",
    "active_risk",
    "add_overlay",
    "build_problem",
    "check_constraints",
    "key_rate_gaps",
    "long_end_gap",
    "mandate_constraints",
    "optimize",
    "overlay_effects",
    "overlay_positions",
    "pareto_frontier",
    "solve",
]


#: The skill term's yardstick: a portfolio-wide information ratio of 1, exceptional by the usual
#: standard (Grinold and Kahn: 0.5 good, 0.75 very good, 1.0 exceptional).
SKILL_SCALE = 1.0


@dataclass(frozen=True)
class AllocationProblem:
    """Everything the optimizer needs, per manager (rows indexed by manager id).

    Attributes
    ----------
    exposures : DataFrame
        Managers by factors: key-rate durations (``krd_*``) and spread durations by rating
        (``sd_*``), years.
    liability : Series
        The liabilities' exposures per unit of their present value (years).
    covariance : DataFrame
        Annualized covariance of the factor moves (decimal rates squared).
    residual_vol, yields, skill, liquid_share, illiquid_share, notch : Series
        Per manager: annual residual risk (decimal), yield (decimal), skill score (higher is
        better, in information-ratio units: see
        :func:`fialloc.desks.performance.skill_scores`), share of the sleeve counting toward
        the liquidity buffer after haircuts, share that is illiquid, average rating notch
        (AAA = 1).
    sectors : DataFrame
        Managers by sectors: each sleeve's sector mix (rows sum to 1).
    current : Series
        Current weights (sum to 1).
    assets, liabilities : float
        Market value of assets and present value of liabilities (money).
    """

    exposures: pd.DataFrame
    liability: pd.Series
    covariance: pd.DataFrame
    residual_vol: pd.Series
    yields: pd.Series
    skill: pd.Series
    liquid_share: pd.Series
    illiquid_share: pd.Series
    notch: pd.Series
    sectors: pd.DataFrame
    current: pd.Series
    assets: float
    liabilities: float

    def __post_init__(self) -> None:
        managers = self.exposures.index
        for name in (
            "residual_vol",
            "yields",
            "skill",
            "liquid_share",
            "illiquid_share",
            "notch",
            "current",
        ):
            series = getattr(self, name)
            if not series.index.equals(managers):
                msg = f"AllocationProblem: `{name}` must be indexed by the exposures' managers"
                raise ValueError(msg)
            if not np.all(np.isfinite(series.to_numpy(dtype=float))):
                msg = f"AllocationProblem: `{name}` has missing or non-finite values"
                raise ValueError(msg)
        total = float(self.current.sum())
        if abs(total - 1.0) > 1e-6 or (self.current < 0).any():
            msg = (
                "AllocationProblem: current weights must be >= 0 and sum to 1, "
                f"they sum to {total:.6f}"
            )
            raise ValueError(msg)
        cov = self.covariance.to_numpy(dtype=float)
        if not np.allclose(cov, cov.T, atol=1e-14) or not np.all(np.isfinite(cov)):
            msg = "AllocationProblem: covariance must be symmetric and finite"
            raise ValueError(msg)
        smallest = float(np.linalg.eigvalsh(cov).min())
        if smallest < -1e-12 * max(float(np.abs(cov).max()), 1e-30):
            msg = (
                "AllocationProblem: covariance is not positive semi-definite "
                f"(smallest eigenvalue {smallest:.3e})"
            )
            raise ValueError(msg)

    @property
    def managers(self) -> pd.Index:
        """Manager ids."""
        return self.exposures.index

    def factor_root(self) -> FloatArray:
        """Return R with R'R = covariance (eigen decomposition, so semi-definite is fine)."""
        vals, vecs = np.linalg.eigh(self.covariance.to_numpy(dtype=float))
        return np.asarray((vecs * np.sqrt(np.clip(vals, 0.0, None))).T, dtype=np.float64)

    def tracking_error(self, w: FloatArray, overlay: FloatArray | None = None) -> float:
        """Annualized tracking error (decimal) of weights `w` against the liabilities.

        `overlay` is an overlay's factor exposure (years of assets, see
        :func:`overlay_effects`), added to the managers'.
        """
        active = self.exposures.to_numpy().T @ w - self.liability.to_numpy()
        if overlay is not None:
            active = active + overlay
        var = active @ self.covariance.to_numpy() @ active + np.sum(
            (w * self.residual_vol.to_numpy()) ** 2
        )
        return float(np.sqrt(max(var, 0.0)))

    def surplus_vol(self, w: FloatArray, overlay: FloatArray | None = None) -> float:
        """Annualized volatility (money) of the surplus change under weights `w` (and overlay)."""
        x = (
            self.exposures.to_numpy().T @ w + (0.0 if overlay is None else overlay)
        ) * self.assets - self.liability.to_numpy() * self.liabilities
        var = x @ self.covariance.to_numpy() @ x + np.sum(
            (w * self.residual_vol.to_numpy() * self.assets) ** 2
        )
        return float(np.sqrt(max(var, 0.0)))


def build_problem(
    ctx: DeskContext,
    skill: pd.Series | None = None,
    covariance: pd.DataFrame | None = None,
    residual_vol: pd.Series | None = None,
) -> AllocationProblem:
    """Assemble the optimizer's inputs from a portfolio's analytics.

    Factors are the key rates (zero-rate moves at the key tenors) and the credit spreads by
    rating; their covariance (annualized, decimal rates squared) is `covariance` if given
    (e.g. :func:`fialloc.factor_covariance.scenario_covariance`), else the monthly market
    history's (:func:`fialloc.factor_covariance.history_covariance`).

    Skill and residual risk come from the performance desk unless given (the pipeline passes
    the desk's result, so it runs once): `skill` defaults to
    :func:`fialloc.desks.performance.skill_scores` (information-ratio units; 0 without
    significant selection skill, negative for beta-only or drifting managers) and
    `residual_vol` (annual, decimal) to :func:`fialloc.desks.performance.residual_vols`, the
    volatility of each manager's excess return that its factor loadings do not explain: the
    factor part of a manager's risk is already in its exposures, so counting the raw excess
    volatility would count it twice.
    """
    p = ctx.portfolio
    managers = ctx.managers.index
    keys = ctx.key_columns
    sec = ctx.securities
    share = p.market_values.div(p.market_values.sum(axis=1), axis=0)
    letter = sec["rating"].str.rstrip("+-")
    credit = ~sec["sector"].isin(GOVERNMENT_SECTORS)
    sd = pd.DataFrame(
        {
            f"sd_{x}": sec["spread_duration"].where((letter == x) & credit, 0.0)
            for x in RATING_LETTERS
        }
    )
    exposures = pd.concat([ctx.managers[keys], share @ sd.loc[share.columns]], axis=1)
    lia = ctx.liabilities.iloc[0]
    liability = pd.concat([lia[keys].astype(float), pd.Series(0.0, index=sd.columns)])

    if covariance is None:
        covariance = history_covariance(p, list(p.analytics.key_tenors))
    missing = [f for f in exposures.columns if f not in covariance.index]
    if missing:
        msg = f"build_problem: the factor covariance has no rows for {missing}"
        raise ValueError(msg)

    if skill is None or residual_vol is None:
        desk = performance.analyze(ctx)
        skill = performance.skill_scores(desk) if skill is None else skill
        residual_vol = performance.residual_vols(desk) if residual_vol is None else residual_vol
    buffer_tiers = {
        "level1": 1.0,
        "level2a": 0.85,
        "level2b_rmbs": 0.75,
        "level2b": 0.5,
        "illiquid": 0.0,
    }
    liquid = share @ sec["liquidity_tier"].map(buffer_tiers).loc[share.columns].astype(float)
    illiquid = share @ (sec["liquidity_tier"] == "illiquid").loc[share.columns].astype(float)
    sectors = share.T.groupby(sec["sector"].loc[share.columns]).sum().T
    return AllocationProblem(
        exposures=exposures.loc[managers],
        liability=liability,
        covariance=covariance.loc[exposures.columns, exposures.columns],
        residual_vol=residual_vol.reindex(managers).fillna(0.0).astype(float),
        yields=ctx.managers["ytm"],
        skill=skill.reindex(managers).fillna(0.0).astype(float),
        liquid_share=liquid.reindex(managers),
        illiquid_share=illiquid.reindex(managers),
        notch=ctx.manager_notches.reindex(managers),
        sectors=sectors.reindex(managers),
        current=(p.current_weights / p.current_weights.sum()).reindex(managers),
        assets=ctx.total_assets,
        liabilities=float(ctx.liabilities.iloc[0]["market_value"]),
    )


def check_constraints(
    problem: AllocationProblem,
    mandate: Mandate,
    w: FloatArray,
    overlay: OverlayInputs | None = None,
    units: FloatArray | None = None,
) -> pd.DataFrame:
    """Every mandate constraint evaluated at weights `w`, independently of any solver.

    With an `overlay` and its `units` (per instrument, per unit of assets), the overlay's
    exposures, carry, funding and margin enter every constraint they touch (see
    :func:`overlay_effects`) and its limits are added.

    Returns a table of ``value``, ``limit``, ``sense`` (``<=``, ``>=``, ``==``), ``slack``
    (how far inside the limit; negative when violated) and ``ok`` (within 1e-6).
    """
    w = np.asarray(w, dtype=float)
    w0 = problem.current.to_numpy()
    exits = problem.managers.isin(mandate.exit_managers)
    fx = _no_overlay(problem) if overlay is None else overlay_effects(problem, overlay, units)
    rows = [("weights sum to 1", float(w.sum()) + fx["funded"], 1.0, "==")]
    active = ~exits
    rows.append(
        (
            "min allocation",
            float(w[active].min()) if active.any() else 1.0,
            mandate.min_allocation,
            ">=",
        )
    )
    rows.append(("max allocation", float(w.max()), mandate.max_allocation, "<="))
    if exits.any():
        rows.append(("exited managers", float(w[exits].max()), 0.0, "<="))
    rows.append(
        (
            "turnover (one-way)",
            float(0.5 * (np.abs(w - w0).sum() + fx["funded"])),
            mandate.turnover,
            "<=",
        )
    )
    rows.append(
        (
            "max shift",
            float(np.abs(w - w0)[active].max()) if active.any() else 0.0,
            mandate.max_shift,
            "<=",
        )
    )
    rows.append(
        ("yield", float(problem.yields.to_numpy() @ w) + fx["carry"], mandate.target_yield, ">=")
    )
    rows.append(
        (
            "tracking error",
            problem.tracking_error(w, fx["exposure"]),
            mandate.max_tracking_error,
            "<=",
        )
    )
    rows.append(
        (
            "liquidity buffer",
            float(problem.liquid_share.to_numpy() @ w) + fx["liquid"],
            mandate.liquidity_buffer,
            ">=",
        )
    )
    rows.append(
        ("illiquid share", float(problem.illiquid_share.to_numpy() @ w), mandate.max_illiquid, "<=")
    )
    rows.append(
        (
            "rating drift (notches)",
            float(abs(problem.notch.to_numpy() @ (w - w0))),
            mandate.max_rating_drift,
            "<=",
        )
    )
    sector_change = problem.sectors.to_numpy().T @ (w - w0)
    rows.append(
        ("sector overweight", float(sector_change.max()), mandate.max_sector_overweight, "<=")
    )
    for name, gap, limit in _krd_gap_limits(problem, mandate, w, fx["exposure"]):
        rows.append((f"key-rate gap {name}", gap, limit, "<="))
    if overlay is not None:
        rows.extend(_overlay_limit_rows(overlay, mandate, fx["units"]))
    table = pd.DataFrame(rows, columns=["constraint", "value", "limit", "sense"]).set_index(
        "constraint"
    )
    slack = np.where(
        table["sense"] == ">=", table["value"] - table["limit"], table["limit"] - table["value"]
    )
    slack = np.where(table["sense"] == "==", -np.abs(table["value"] - table["limit"]), slack)
    table["slack"] = slack
    table["ok"] = table["slack"] >= -1e-6
    return table


def _krd_gap_limits(
    problem: AllocationProblem, mandate: Mandate, w: FloatArray, overlay: FloatArray
) -> list[tuple[str, float, float]]:
    """Return |gap| per key rate at `w` and its limit: the tolerance or today's gap if larger."""
    now = key_rate_gaps(problem, problem.current.to_numpy()).abs()
    gap = key_rate_gaps(problem, w, overlay).abs()
    return [
        (k.removeprefix("krd_"), float(gap[k]), float(max(mandate.krd_gap_tolerance, now[k])))
        for k in gap.index
    ]


@dataclass(frozen=True)
class AllocationResult:
    """Recommended weights with every constraint's value and slack and every objective term.

    ``overlay`` holds the duration overlay's positions when one was chosen (see
    :func:`overlay_positions`); the weights then sum to 1 less its STRIPS.
    """

    weights: pd.Series
    change: pd.Series
    constraints: pd.DataFrame
    objective_terms: pd.Series
    exposures: pd.DataFrame
    summary: dict[str, float]
    status: str
    overlay: pd.DataFrame | None = None

    def overlay_units(self, instruments: pd.Index) -> FloatArray:
        """Return the overlay units (per unit of assets) per instrument, zero where none."""
        if self.overlay is None:
            return np.zeros(len(instruments))
        units = self.overlay["units"].reindex(instruments, fill_value=0.0)
        return np.asarray(units.to_numpy(dtype=float), dtype=np.float64)


def active_risk(
    problem: AllocationProblem, w: cp.Variable, overlay: OverlayTerms | None = None
) -> cp.Expression:
    """Return the vector whose norm is the tracking error of weights `w` (decimal, annual)."""
    exposure = problem.exposures.to_numpy().T @ w - problem.liability.to_numpy()
    if overlay is not None:
        exposure = exposure + overlay.exposure
    return cp.hstack(
        [
            problem.factor_root() @ exposure,
            cp.multiply(problem.residual_vol.to_numpy(), w),
        ]
    )


def mandate_constraints(
    problem: AllocationProblem,
    mandate: Mandate,
    w: cp.Variable,
    overlay: OverlayTerms | None = None,
) -> dict[str, list[cp.Constraint]]:
    """Return every mandate constraint on weights `w` (and an overlay's units), by group.

    The groups carry the names :func:`check_constraints` reports, so an infeasibility
    diagnosis names them the same way.
    """
    m = mandate
    w0 = problem.current.to_numpy()
    exits = problem.managers.isin(m.exit_managers)
    key, xk, lia, limits = _krd_gap_bounds(problem, m)
    o = overlay
    funded = 0.0 if o is None else o.funded
    krd = xk.T @ w if o is None else xk.T @ w + o.exposure[np.flatnonzero(key)]
    groups = {
        "weights sum to 1": [cp.sum(w) + funded == 1],
        "min allocation": [w[~exits] >= m.min_allocation] if (~exits).any() else [],
        "max allocation": [w <= m.max_allocation],
        "exited managers": [w[exits] == 0] if exits.any() else [],
        "turnover (one-way)": [0.5 * (cp.norm1(w - w0) + funded) <= m.turnover],
        "max shift": [cp.abs(w - w0)[~exits] <= m.max_shift] if (~exits).any() else [],
        "yield": [
            problem.yields.to_numpy() @ w + (0.0 if o is None else o.carry) >= m.target_yield
        ],
        "tracking error": [cp.norm(active_risk(problem, w, o), 2) <= m.max_tracking_error],
        "liquidity buffer": [
            problem.liquid_share.to_numpy() @ w + (0.0 if o is None else o.liquid)
            >= m.liquidity_buffer
        ],
        "illiquid share": [problem.illiquid_share.to_numpy() @ w <= m.max_illiquid],
        "rating drift (notches)": [
            cp.abs(problem.notch.to_numpy() @ (w - w0)) <= m.max_rating_drift
        ],
        "sector overweight": [problem.sectors.to_numpy().T @ (w - w0) <= m.max_sector_overweight],
        "key-rate gaps": [cp.abs(_gap(problem, krd, lia)) <= limits],
    }
    return groups if o is None else {**groups, **o.constraints}


def _krd_gap_bounds(
    problem: AllocationProblem, mandate: Mandate
) -> tuple[npt.NDArray[np.bool_], FloatArray, FloatArray, FloatArray]:
    """Key-rate factor mask, managers' and liabilities' key-rate durations, the gap limits."""
    keys = [c for c in problem.exposures.columns if c.startswith("krd_")]
    key = problem.exposures.columns.isin(keys)
    xk = problem.exposures[keys].to_numpy()
    lia = problem.liability[keys].to_numpy()
    now = _gap(problem, xk.T @ problem.current.to_numpy(), lia)
    return key, xk, lia, np.maximum(mandate.krd_gap_tolerance, np.abs(now))


def _gap(problem: AllocationProblem, krd: Any, lia: FloatArray) -> Any:
    """Return the one key-rate gap (:func:`fialloc.analytics.duration_gaps.key_rate_gap`)."""
    return key_rate_gap(krd, lia, problem.assets, problem.liabilities)


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
        cols = problem.exposures.columns
        missing = [c for c in cols if c.startswith("krd_") and c not in self.key_columns]
        if missing:
            msg = f"OverlayInputs: no exposure column for the problem's factors {missing}"
            raise ValueError(msg)
        return np.asarray(
            self.instruments.reindex(columns=cols, fill_value=0.0).to_numpy(dtype=float),
            dtype=np.float64,
        )


@dataclass(frozen=True)
class OverlayTerms:
    """What :func:`add_overlay` adds to an allocation problem.

    Attributes
    ----------
    inputs : OverlayInputs
        The instruments.
    units : cp.Variable
        Per instrument: position per unit of assets (notional, face or market value).
    exposure : cp.Expression
        Per factor: years of assets, added to the managers' exposures.
    funded : cp.Expression
        Share of assets held in funded instruments (STRIPS), taken from the weights.
    carry : cp.Expression
        A year, decimal of assets, added to the portfolio's yield.
    liquid : cp.Expression
        Change of the liquid buffer (share of assets): funded Level 1 in, margin out.
    constraints : dict of str to list of constraints
        The overlay's limits, by group (named as :func:`check_constraints` reports them).
    """

    inputs: OverlayInputs
    units: cp.Variable
    exposure: cp.Expression
    funded: cp.Expression
    carry: cp.Expression
    liquid: cp.Expression
    constraints: dict[str, list[cp.Constraint]]


def add_overlay(
    problem: AllocationProblem, mandate: Mandate, inputs: OverlayInputs
) -> OverlayTerms:
    """Add the overlay instruments as decision variables beside the managers' weights.

    One variable per instrument (position per unit of assets; STRIPS long only). The
    instruments' key-rate exposures add to the managers', their carry to the yield; STRIPS are
    bought with cash (they take their value from the weights, count in turnover and as Level 1
    liquid assets); initial margin (per unit of gross position) and the variation margin of the
    worst deterministic stress come out of the liquid buffer. The mandate's
    :class:`~fialloc.data.mandate.OverlayLimits` cap the gross swap notional, futures face,
    STRIPS and any one instrument. Swaps and futures are put on first (see
    :mod:`fialloc.plan`), so they must keep the key-rate gaps within limits and leave the
    liquid buffer on today's weights too. Pass the result to :func:`solve` (or
    :func:`optimize`).
    """
    t = inputs.instruments
    units = cp.Variable(len(t))
    kind = t["kind"].to_numpy()
    funded_mask = t["funded"].to_numpy(dtype=bool)
    x = inputs.exposure_matrix(problem)
    im = t["initial_margin"].to_numpy(dtype=float)
    changes = inputs.stress_changes.to_numpy(dtype=float)
    funded = cp.sum(units[np.flatnonzero(funded_mask)]) if funded_mask.any() else cp.Constant(0.0)
    margin = im @ cp.abs(units) + cp.pos(cp.max(-(changes @ units)))
    lim = mandate.overlay
    # Swaps and futures trade before the sleeves move (the plan's first phase): with today's
    # weights they must already keep the key-rate gaps within limits and leave the liquid
    # buffer (if today meets it), so every phase end, between that point and the target, does.
    key, xk, lia, limits = _krd_gap_bounds(problem, mandate)
    w0 = problem.current.to_numpy()
    unfunded = np.flatnonzero(~funded_mask)
    first = x[unfunded][:, key].T @ units[unfunded] if len(unfunded) else np.zeros(key.sum())
    first_margin = im[unfunded] @ cp.abs(units[unfunded]) + cp.pos(
        cp.max(-(changes[:, unfunded] @ units[unfunded]))
    )
    buffer_today = float(problem.liquid_share.to_numpy() @ w0)
    overlay_first = [cp.abs(_gap(problem, xk.T @ w0 + first, lia)) <= limits]
    if buffer_today >= mandate.liquidity_buffer:
        overlay_first.append(buffer_today - first_margin >= mandate.liquidity_buffer)
    return OverlayTerms(
        inputs=inputs,
        units=units,
        exposure=x.T @ units,
        funded=funded,
        carry=t["carry"].to_numpy(dtype=float) @ units,
        liquid=funded - margin,
        constraints={
            f"overlay {name}": [cp.sum(cp.abs(units[np.flatnonzero(kind == k)])) <= cap]
            for name, k, cap in _overlay_limits(lim)
            if (kind == k).any()
        }
        | {
            "overlay per instrument": [cp.abs(units) <= lim.per_instrument],
            "overlay STRIPS long only": [units[np.flatnonzero(funded_mask)] >= 0]
            if funded_mask.any()
            else [],
            "overlay before the sleeves move": overlay_first if len(unfunded) else [],
        },
    )


def _overlay_limits(lim: OverlayLimits) -> list[tuple[str, str, float]]:
    return [
        ("swap notional", "swap", lim.swap_notional),
        ("futures notional", "future", lim.futures_notional),
        ("STRIPS", "strips", lim.strips),
    ]


def overlay_effects(
    problem: AllocationProblem, inputs: OverlayInputs, units: FloatArray | None
) -> dict[str, Any]:
    """Return the overlay's effect at `units` (per instrument, per unit of assets), with numpy.

    Returns ``units``, ``exposure`` (per factor of the problem, years of assets), ``funded``
    (share of assets in STRIPS), ``carry`` (a year, decimal of assets), ``initial_margin`` and
    ``variation_margin`` (the worst stress's loss, floored at 0; decimals of assets) and
    ``liquid`` (funded less both margins): the quantities :func:`add_overlay` constrains.
    """
    t = inputs.instruments
    u = np.zeros(len(t)) if units is None else np.asarray(units, dtype=float)
    if u.shape != (len(t),) or not np.all(np.isfinite(u)):
        msg = f"overlay_effects: `units` needs {len(t)} finite values, got shape {u.shape}"
        raise ValueError(msg)
    funded = float(u[t["funded"].to_numpy(dtype=bool)].sum())
    im = float(t["initial_margin"].to_numpy(dtype=float) @ np.abs(u))
    vm = max(0.0, float(np.max(-(inputs.stress_changes.to_numpy(dtype=float) @ u))))
    return {
        "units": u,
        "exposure": inputs.exposure_matrix(problem).T @ u,
        "funded": funded,
        "carry": float(t["carry"].to_numpy(dtype=float) @ u),
        "initial_margin": im,
        "variation_margin": vm,
        "liquid": funded - im - vm,
    }


def _no_overlay(problem: AllocationProblem) -> dict[str, Any]:
    return {
        "units": np.zeros(0),
        "exposure": np.zeros(len(problem.exposures.columns)),
        "funded": 0.0,
        "carry": 0.0,
        "liquid": 0.0,
    }


def _overlay_limit_rows(
    inputs: OverlayInputs, mandate: Mandate, units: FloatArray
) -> list[tuple[str, float, float, str]]:
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
    return rows


def solve(
    problem: AllocationProblem,
    mandate: Mandate,
    w: cp.Variable,
    terms: dict[str, cp.Expression],
    extra: list[cp.Constraint] | None = None,
    solver: str = "CLARABEL",
    overlay: OverlayTerms | None = None,
) -> AllocationResult:
    """Minimize the sum of `terms` under the mandate and the `extra` constraints.

    A tiny turnover penalty picks the smallest move among ties. The result reports the
    weights, every constraint's value and slack, every term and the exposures before and after.
    `solver` is any installed cvxpy solver that handles second-order cones (Clarabel by
    default; SCS is the first-order alternative). `overlay` (from :func:`add_overlay`) adds the
    overlay's variables to every constraint they touch, and its limits.

    Raises
    ------
    ValueError
        If the constraints cannot be met; the message names those that conflict and how much
        each would have to relax (from an elastic re-solve).
    """
    w0 = problem.current.to_numpy()
    groups = mandate_constraints(problem, mandate, w, overlay)
    constraints = [c for group in groups.values() for c in group] + (extra or [])
    objective = cp.Minimize(cp.sum(cp.hstack(list(terms.values()))) + 1e-6 * cp.sum_squares(w - w0))
    prob = cp.Problem(objective, constraints)
    if solver not in cp.installed_solvers():
        msg = f"optimize: solver {solver!r} is not installed; have {cp.installed_solvers()}"
        raise ValueError(msg)
    prob.solve(solver=solver)
    if prob.status not in ("optimal", "optimal_inaccurate") or w.value is None:
        msg = _diagnose(groups, w, prob.status, extra or [])
        raise ValueError(msg)
    units = None
    if overlay is not None:
        units = np.asarray(overlay.units.value, dtype=float)
        # Positions within the solver's tolerance of zero are not held (and not traded).
        units[np.abs(units) < OVERLAY_MIN_UNITS] = 0.0
    fx = (
        _no_overlay(problem) if overlay is None else overlay_effects(problem, overlay.inputs, units)
    )
    weights = np.clip(np.asarray(w.value, dtype=float), 0.0, None)
    weights *= (1.0 - fx["funded"]) / weights.sum()
    x = problem.exposures.to_numpy()
    exposures = pd.DataFrame(
        {
            "current": x.T @ w0,
            "recommended": x.T @ weights + fx["exposure"],
            "liabilities": problem.liability.to_numpy(),
        },
        index=problem.exposures.columns,
    )
    if overlay is not None:
        exposures.insert(2, "overlay", fx["exposure"])
    y = problem.yields.to_numpy()
    return AllocationResult(
        weights=pd.Series(weights, index=problem.managers, name="weight"),
        change=pd.Series(weights - w0, index=problem.managers, name="change"),
        constraints=check_constraints(
            problem, mandate, weights, None if overlay is None else overlay.inputs, units
        ),
        objective_terms=pd.Series({k: float(v.value) for k, v in terms.items()}),
        exposures=exposures,
        summary={
            "yield_before": float(y @ w0),
            "yield_after": float(y @ weights) + fx["carry"],
            "tracking_error_before": problem.tracking_error(w0),
            "tracking_error_after": problem.tracking_error(weights, fx["exposure"]),
            "surplus_vol_before": problem.surplus_vol(w0),
            "surplus_vol_after": problem.surplus_vol(weights, fx["exposure"]),
            "long_end_gap_before": long_end_gap(problem, w0),
            "long_end_gap_after": long_end_gap(problem, weights, fx["exposure"]),
            **({} if overlay is None else _overlay_summary(problem, fx)),
        },
        status=str(prob.status),
        overlay=None if overlay is None else overlay_positions(problem, overlay.inputs, units),
    )


def key_rate_gaps(
    problem: AllocationProblem, w: FloatArray, overlay: FloatArray | None = None
) -> pd.Series:
    """Key-rate gaps of weights `w` (and an overlay's exposure): assets less liabilities.

    Years of assets: each key-rate duration of the assets less the liabilities' scaled by
    liabilities over assets, the gap the mandate's tolerance applies to.
    """
    keys = [c for c in problem.exposures.columns if c.startswith("krd_")]
    key = problem.exposures.columns.isin(keys)
    x = problem.exposures[keys].to_numpy().T @ np.asarray(w, dtype=float)
    if overlay is not None:
        x = x + np.asarray(overlay, dtype=float)[key]
    gaps = _gap(problem, x, problem.liability[keys].to_numpy())
    return pd.Series(gaps, index=keys, name="gap")


#: Overlay positions below this (per unit of assets: $4,000 on $40B, far below one futures
#: contract) are the solver's noise, not held: they are set to zero before anything is reported.
OVERLAY_MIN_UNITS: Final = 1e-7

#: The long end of the curve: the key rates whose gaps :func:`long_end_gap` adds up.
LONG_END: Final = ("krd_20y", "krd_30y")


def long_end_gap(
    problem: AllocationProblem, w: FloatArray, overlay: FloatArray | None = None
) -> float:
    """Return the sum of the absolute 20y and 30y key-rate gaps (years of assets).

    The gaps are :func:`key_rate_gaps`'s.
    """
    gaps = key_rate_gaps(problem, w, overlay)
    return float(gaps.reindex(list(LONG_END)).abs().sum())


def _overlay_summary(problem: AllocationProblem, fx: dict[str, Any]) -> dict[str, float]:
    a = problem.assets
    return {
        "overlay_carry": fx["carry"] * a,
        "overlay_initial_margin": fx["initial_margin"] * a,
        "overlay_variation_margin": fx["variation_margin"] * a,
        "overlay_strips": fx["funded"] * a,
    }


def overlay_positions(
    problem: AllocationProblem, inputs: OverlayInputs, units: FloatArray | None
) -> pd.DataFrame:
    """Return the overlay's positions in money, one row per instrument held.

    Columns: ``kind``, ``units`` (per unit of assets), ``position`` (notional, face or market
    value, money; negative pays fixed or is short), ``contracts`` (futures: position over the
    contract size, rounded; NaN otherwise), ``dv01`` (money per bp fall of every zero rate),
    ``carry`` (money a year), ``initial_margin`` (money) and one ``krd_*`` column per key
    rate (years of assets).
    """
    fx = overlay_effects(problem, inputs, units)
    u = fx["units"]
    t = inputs.instruments
    a = problem.assets
    keys = inputs.key_columns
    exposure = t[keys].to_numpy(dtype=float) * u[:, None]
    size = t["contract_size"].to_numpy(dtype=float) if "contract_size" in t else np.nan
    out = pd.DataFrame(
        {
            "kind": t["kind"],
            "units": u,
            "position": u * a,
            "contracts": np.round(u * a / size),
            "dv01": exposure.sum(axis=1) * a * 1e-4,
            "carry": t["carry"].to_numpy(dtype=float) * u * a,
            "initial_margin": t["initial_margin"].to_numpy(dtype=float) * np.abs(u) * a,
        },
        index=t.index,
    )
    out[keys] = exposure
    return out[u != 0.0]


def optimize(
    problem: AllocationProblem,
    mandate: Mandate | None = None,
    solver: str = "CLARABEL",
    overlay: OverlayInputs | None = None,
) -> AllocationResult:
    """Solve for manager weights under the mandate, with its priority-weighted objective.

    The objective adds, weighted by ``mandate.objective``: liability matching (tracking error
    squared over its limit squared), yield (portfolio yield over the target, negated), skill
    (the weighted skill score, an information ratio, over :data:`SKILL_SCALE`, negated) and
    liquidity (buffer over its target or today's buffer if larger, negated).

    Each term is measured against a fixed yardstick so a priority weight means the same on
    any book: the skill yardstick does not depend on the scores (so raising one manager's
    score can never lower its weight), and the buffer is measured against today's when that
    is above the target, so liquidity far beyond the buffer the mandate asks for cannot
    outweigh the higher priorities. `solver` names the cvxpy solver (see :func:`solve`).

    With `overlay` instruments (and a mandate whose overlay limits are not all zero), they are
    chosen jointly with the weights (:func:`add_overlay`): their exposures enter the liability
    matching term, their carry the yield term and their funding and margin the liquidity term.

    Raises
    ------
    ValueError
        If the mandate cannot be met; the message names the constraints that conflict and how
        much each would have to relax.
    """
    m = mandate or Mandate()
    w = cp.Variable(len(problem.managers))
    ow = m.objective
    skill = problem.skill.to_numpy()
    liquid = problem.liquid_share.to_numpy()
    buffer = max(m.liquidity_buffer, float(liquid @ problem.current.to_numpy()), 1e-9)
    o = add_overlay(problem, m, overlay) if overlay is not None and m.overlay.enabled else None
    terms = {
        "liability_matching": ow.liability_matching
        * cp.sum_squares(active_risk(problem, w, o))
        / m.max_tracking_error**2,
        "yield_target": -ow.yield_target
        * (problem.yields.to_numpy() @ w + (0.0 if o is None else o.carry))
        / max(m.target_yield, 1e-4),
        "manager_skill": -ow.manager_skill * (skill @ w) / SKILL_SCALE,
        "liquidity_buffer": -ow.liquidity_buffer
        * (liquid @ w + (0.0 if o is None else o.liquid))
        / buffer,
    }
    return solve(problem, m, w, terms, solver=solver, overlay=o)


def pareto_frontier(
    problem: AllocationProblem,
    mandate: Mandate | None = None,
    points: int = 9,
    *,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """Trace the efficient frontier between tracking error and yield under the mandate.

    The frontier runs from the lowest tracking error the mandate allows to the highest yield
    it allows; each point minimizes tracking error for a yield at least a step further along.
    Each point is one what-if optimization, a task of `executor` (in this process by default;
    see :mod:`fialloc.distributed`).

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
    m = mandate or Mandate()
    y = problem.yields.to_numpy()
    w = cp.Variable(len(problem.managers))
    low = solve(problem, m, w, _tracking_error_term(problem, m, w))
    high = solve(problem, m, w, {"yield": -(y @ w)})
    targets = np.linspace(float(y @ low.weights), float(y @ high.weights), points)
    rows = (executor or InProcess()).map(
        _frontier_point, [float(t) for t in targets], shared=(problem, m)
    )
    return pd.DataFrame(rows)


def _tracking_error_term(
    problem: AllocationProblem, mandate: Mandate, w: cp.Variable
) -> dict[str, cp.Expression]:
    # Scaled by the limit like optimize()'s term, so the tie-breaking turnover penalty stays
    # negligible next to it.
    return {
        "tracking_error": cp.sum_squares(active_risk(problem, w)) / mandate.max_tracking_error**2
    }


def _frontier_point(target: float, shared: tuple[AllocationProblem, Mandate]) -> dict[str, float]:
    """Least tracking error for a yield of at least `target` (one frontier point)."""
    problem, mandate = shared
    # A hair below the target: the end points themselves came from a solver's tolerance.
    at = mandate.model_copy(update={"target_yield": max(target - 1e-9, mandate.target_yield)})
    w = cp.Variable(len(problem.managers))
    result = solve(problem, at, w, _tracking_error_term(problem, at, w))
    weights = result.weights.to_numpy()
    return {
        "target_yield": target,
        "yield": float(problem.yields.to_numpy() @ weights),
        "tracking_error": problem.tracking_error(weights),
        "surplus_vol": problem.surplus_vol(weights),
        **{str(m): float(v) for m, v in result.weights.items()},
    }


def _diagnose(
    groups: dict[str, list[cp.Constraint]],
    w: cp.Variable,
    status: str,
    extra: list[cp.Constraint],
) -> str:
    """Re-solve with a non-negative slack on every inequality group; name the ones used."""
    slacks: dict[str, list[cp.Variable]] = {}
    relaxed = list(extra)
    for name, group in groups.items():
        for c in group:
            if isinstance(c, cp.constraints.Inequality):
                s = cp.Variable(nonneg=True)
                slacks.setdefault(name, []).append(s)
                relaxed.append(c.args[0] <= c.args[1] + s)
            else:
                relaxed.append(c)
    total = cp.sum([cp.sum(v) for vs in slacks.values() for v in vs]) if slacks else 0
    elastic = cp.Problem(cp.Minimize(total), relaxed)
    elastic.solve(solver=cp.CLARABEL)
    needed = {
        name: float(sum(float(np.max(np.atleast_1d(v.value))) for v in vs))
        for name, vs in slacks.items()
        if elastic.status in ("optimal", "optimal_inaccurate")
    }
    conflicts = {k: v for k, v in needed.items() if v > 1e-7}
    if not conflicts:
        return f"optimize: the mandate cannot be met (solver status {status})"
    detail = "; ".join(
        f"{k} by {v:.4g}" for k, v in sorted(conflicts.items(), key=lambda kv: -kv[1])
    )
    return f"optimize: the mandate cannot be met; relax {detail} (solver status {status})"
