"""The main job: from validated inputs to an allocation and a plan to reach it.

Stages, each timed: price and risk the book and the liabilities and measure key-rate gaps;
revalue everything under the deterministic stresses; simulate G2++ paths (with every other
currency, FX rate and price index the book holds: :mod:`fialloc.currency_paths`) and revalue
each manager's sleeve on them; run the desks; optimize manager weights under the mandate (the
priority-weighted objective, the least expected shortfall across the paths, and the frontier
between tracking error and yield); test current and recommended weights on the paths and the
stresses; plan the move in phases.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.analytics.context import DeskContext
from fialloc.analytics.duration_gaps import gap_dv01, gap_profile, krd_gaps
from fialloc.currency_paths import SPREAD_STREAM, run_spread_model
from fialloc.data import Portfolio
from fialloc.data.mandate import Mandate
from fialloc.data.run_requirements import run_problems
from fialloc.desks import DeskResult, performance, run_desks
from fialloc.distributed import Executor
from fialloc.errors import InputError
from fialloc.factor_covariance import scenario_covariance
from fialloc.mbs import HorizonValues
from fialloc.mc_estimators import DEFAULT_PATHS
from fialloc.optimize import (
    AllocationProblem,
    AllocationProgram,
    AllocationResult,
    OverlayInputs,
    build_problem,
    optimize,
    overlay_program,
    pareto_frontier,
)
from fialloc.option_paths import pool_regression, regression_at
from fialloc.overlay import OverlayMarket, OverlayUniverse, overlay_universe
from fialloc.plan import ImplementationPlan, glide_path, implementation_plan
from fialloc.robustness import (
    SleevePaths,
    evaluate_and_compare,
    min_expected_shortfall,
    overlay_by_path,
    simulate_sleeves,
    stress_surplus,
    surplus_by_path,
    tracking_error_distribution,
)
from fialloc.scenarios import CreditInflationSpec, G2pp, simulate_credit_inflation
from fialloc.stresses import StressResult, stress_portfolio

__all__ = ["STAGES", "Robustness", "RunResult", "check_settings", "recommend", "run"]

#: The stages :func:`run` reports progress for, in order.
STAGES = ("analytics", "stresses", "scenarios", "desks", "optimize", "robustness", "plan")


@dataclass(frozen=True)
class Robustness:
    """Current and candidate allocations across the scenario paths and the stresses.

    Attributes
    ----------
    paths : DataFrame
        Per (allocation, horizon in years): surplus mean and quantiles (money), shortfall
        probability (surplus below zero) and expected shortfall at 95% (mean of the worst 5%),
        each with its standard error (see :func:`fialloc.robustness.evaluate`).
    comparisons : DataFrame
        Per (allocation, horizon, statistic): the paired difference from the current
        allocation on the same paths, its standard error, 95% interval and verdict (see
        :func:`fialloc.robustness.compare`).
    surplus : DataFrame
        Per (allocation, path): the surplus (money) at each horizon (columns, years): what
        every path statistic is computed from.
    states, state_covariance : DataFrame
        The G2++ states per (horizon, path) of every economy simulated (with each foreign
        one's log FX rate and each real one's log index ratio), less their exact means, and
        their exact covariance per (horizon, state): the control variates (see
        :meth:`fialloc.robustness.SleevePaths.state_tables`).
    overlay : DataFrame or None
        Per (allocation, path), for the allocations with a duration overlay: the overlay's
        value (money) at each horizon, included in `surplus` (see
        :func:`fialloc.robustness.overlay_by_path`).
    tracking_error : DataFrame
        Per allocation: the realized tracking error across paths (decimal, annual; see
        :func:`fialloc.robustness.tracking_error_distribution`).
    stresses : DataFrame
        Surplus (money) under each deterministic stress (rows) per allocation (columns).
    """

    paths: pd.DataFrame
    comparisons: pd.DataFrame
    tracking_error: pd.DataFrame
    stresses: pd.DataFrame
    surplus: pd.DataFrame
    states: pd.DataFrame
    state_covariance: pd.DataFrame
    overlay: pd.DataFrame | None = None


@dataclass(frozen=True)
class RunResult:
    """What one run computed.

    Attributes
    ----------
    portfolio : Portfolio
        The inputs.
    securities : DataFrame
        Per-security analytics (prices per 100, money values, durations, KRDs).
    managers : DataFrame
        Per-manager market value, weight, yield, durations and KRDs (value-weighted).
    liabilities : DataFrame
        The liability stream's analytics (one row).
    gaps : DataFrame
        Key-rate gaps of assets against liabilities.
    stresses : StressResult
        Every deterministic scenario, revalued in full.
    stress_by_manager : DataFrame
        Each manager's asset value change (money) from the first scenario (rows: managers,
        indexed ``manager_id``; columns: scenarios), FX hedges included: its share of every
        security's face revalued (see :meth:`fialloc.stresses.StressResult.by_manager`).
    surplus_paths : DataFrame
        Per annual horizon (years): surplus (money: remaining asset flows minus remaining
        liability flows, plus net cash paid before the horizon reinvested on the path; see
        :meth:`fialloc.scenarios.G2pp.surplus`) across G2++ paths: mean, quantiles, shortfall
        probability (surplus below zero) and expected shortfall (mean of the worst 5%).
    desks : dict of str to DeskResult
        Every desk's tables, findings and recommendations.
    problem : AllocationProblem
        The optimizer's inputs (exposures, covariance, skill, current weights...).
    allocation : AllocationResult
        The recommendation: the mandate's priority-weighted objective.
    robust_allocation : AllocationResult
        The weights with the least expected shortfall of surplus at the last horizon, under the
        same mandate, fitted on paths ``n_paths`` to ``2 n_paths - 1`` of the seed's stream:
        independent of the paths ``0`` to ``n_paths - 1`` that every path statistic uses.
    frontier : DataFrame
        Points on the tracking error / expected return frontier (yield less expected credit
        loss; see :func:`fialloc.optimize.pareto_frontier`).
    robustness : Robustness
        Current, recommended and least-shortfall weights across paths and stresses.
    plan : ImplementationPlan
        The phased move from current to recommended weights, with the glide path (cycles)
        to the allocation without the turnover and maximum shift limits.
    parameters : dict
        Paths, seed, horizons, phases: what to pass to reproduce the run; with the G2++
        parameters and the rate economies the paths simulated (``economies``).
    timings : dict of str to float
        Seconds spent in each stage.
    overlay : OverlayUniverse or None
        The duration overlay's instruments priced off today's curve, when the mandate allows
        an overlay; the recommendation then holds them beside the weights.
    allocation_without_overlay : AllocationResult or None
        The same objective and mandate with manager weights only, to show what the overlay
        adds (None without an overlay).
    overlay_inputs : OverlayInputs or None
        What the optimizer held the overlay instruments to: per unit, their exposures, carry,
        margin and value change in each deterministic stress (None without an overlay).
    """

    portfolio: Portfolio
    securities: pd.DataFrame
    managers: pd.DataFrame
    liabilities: pd.DataFrame
    gaps: pd.DataFrame
    stresses: StressResult
    stress_by_manager: pd.DataFrame
    surplus_paths: pd.DataFrame
    desks: dict[str, DeskResult]
    problem: AllocationProblem
    allocation: AllocationResult
    robust_allocation: AllocationResult
    frontier: pd.DataFrame
    robustness: Robustness
    plan: ImplementationPlan
    parameters: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    overlay: OverlayUniverse | None = None
    allocation_without_overlay: AllocationResult | None = None
    overlay_inputs: OverlayInputs | None = None

    def gap_change(self) -> pd.DataFrame:
        """Key-rate gaps under the current and the recommended weights, in years and money.

        Indexed by key-rate column (``krd_<tenor>``); columns ``current_years``,
        ``current_dv01``, ``recommended_years``, ``recommended_dv01``: the one gap
        definition (:func:`fialloc.analytics.duration_gaps.key_rate_gap`) on the optimizer's
        exposures, so the headline, the CLI table and the optimizer's limits agree. The
        recommended gaps include the duration overlay's exposures; with an overlay,
        ``without_overlay_years`` and ``without_overlay_dv01`` are the weights-only
        recommendation's.
        """
        keys = self.problem.key_columns
        weights = {"current": self.problem.current, "recommended": self.allocation.weights}
        if self.allocation_without_overlay is not None:
            weights["without_overlay"] = self.allocation_without_overlay.weights
        gaps = gap_profile(
            self.problem.exposures[keys],
            weights,
            self.problem.liability[keys],
            self.problem.assets,
            self.problem.liabilities,
        )
        if "overlay" in self.allocation.exposures:
            gaps["recommended_years"] += self.allocation.exposures.loc[keys, "overlay"]
            gaps["recommended_dv01"] = gap_dv01(gaps["recommended_years"], self.problem.assets)
        return gaps

    def summary(self) -> dict[str, float]:
        """Headline numbers: values (money), yields (decimals), durations (years)."""
        total = self.managers["market_value"].sum()
        lia = self.liabilities.iloc[0]
        return {
            "assets": float(total),
            "liabilities": float(lia["market_value"]),
            "surplus": float(total - lia["market_value"]),
            "asset_yield": float(
                np.average(self.managers["ytm"], weights=self.managers["market_value"])
            ),
            "asset_duration": float(
                np.average(
                    self.managers["effective_duration"], weights=self.managers["market_value"]
                )
            ),
            "liability_duration": float(lia["effective_duration"]),
            "material_gaps": float(self.gaps["material"].sum()),
            "shortfall_probability_1y": float(self.surplus_paths["shortfall_probability"].iloc[0]),
            "shortfall_probability_10y": float(
                self.surplus_paths["shortfall_probability"].iloc[-1]
            ),
        }


@contextmanager
def _stage(
    name: str, timings: dict[str, float], progress: Callable[[str], None] | None
) -> Iterator[None]:
    if progress is not None:
        progress(name)
    start = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - start


def _timed(
    fn: Callable[[DeskContext], dict[str, DeskResult]], ctx: DeskContext
) -> tuple[dict[str, DeskResult], float]:
    """Return ``fn(ctx)`` and its wall time (seconds).

    The desks' thread returns its time rather than entering :func:`_stage`, so that the calling
    thread records it and the timings keep stage order whichever side finishes first.
    """
    start = time.perf_counter()
    out = fn(ctx)
    return out, time.perf_counter() - start


def check_settings(n_paths: int, horizons: int, covariance: str) -> None:
    """Refuse a run's settings that no book could run with (before any book is built).

    Parameters
    ----------
    n_paths : int
        Scenario paths, 20 to 1,000,000.
    horizons : int
        Furthest scenario horizon in years, 2 to 60.
    covariance : str
        ``"history"`` or ``"scenarios"``.

    Raises
    ------
    ValueError
        Naming the setting and the value given.
    """
    if covariance not in ("history", "scenarios"):
        msg = f"run: covariance must be 'history' or 'scenarios', got {covariance!r}"
        raise ValueError(msg)
    if not (_whole(n_paths) and _whole(horizons)) or not (
        20 <= n_paths <= 1_000_000 and 2 <= horizons <= 60
    ):
        msg = (
            "run: need 20 <= n_paths <= 1,000,000 and 2 <= horizons <= 60, whole numbers; "
            f"got {n_paths!r} and {horizons!r}"
        )
        raise ValueError(msg)


def _whole(value: object) -> bool:
    """Whether `value` is an integer (numpy's too), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


# The run's integer settings besides the paths and horizons: (name, least, most). A trading
# year bounds the plan's phases and days; every frontier point is one solve.
_COUNTS = (
    ("phases", 1, 250),
    ("phase_days", 1, 250),
    ("frontier_points", 2, 200),
    ("path_chunk", 1, 1_000_000),
    ("scenario_seed", 0, 2**64 - 1),
)


def _check_counts(settings: _Settings) -> None:
    """Refuse an integer setting out of its range (a stage would stop on it only halfway)."""
    for name, least, most in _COUNTS:
        value = getattr(settings, name)
        if not _whole(value) or not least <= value <= most:
            msg = f"run: `{name}` must be a whole number from {least:,} to {most:,}, got {value!r}"
            raise ValueError(msg)


def _check_arguments(portfolio: Portfolio, settings: _Settings) -> None:
    """Refuse a run's arguments and inputs before any stage starts."""
    covariance = settings.covariance
    check_settings(settings.n_paths, settings.horizons, covariance)
    _check_counts(settings)
    # A portfolio built in memory (from_tables, a service request) skipped the checks ``load``
    # makes against files: refuse here what a stage would otherwise stop on halfway.
    if problems := run_problems(portfolio, {}):
        raise InputError(problems)
    foreign = sorted(set(portfolio.currencies) - {portfolio.mandate.base_currency})
    if covariance == "scenarios" and foreign:
        msg = (
            "run: covariance='scenarios' simulates the base currency's rates only; a book "
            f"holding {', '.join(foreign)} bonds needs covariance='history'"
        )
        raise ValueError(msg)


def _gaps_and_overlay(ctx: DeskContext) -> tuple[pd.DataFrame, OverlayUniverse | None]:
    """Measure the key-rate gaps and price the overlay's instruments when allowed (analytics)."""
    p = ctx.portfolio
    liabilities = ctx.liabilities
    gaps = krd_gaps(
        ctx.asset_krd,
        ctx.total_assets,
        liabilities.iloc[0][ctx.key_columns].astype(float),
        float(liabilities.iloc[0]["market_value"]),
        threshold=p.mandate.materiality_threshold,
    )
    universe = (
        overlay_universe(p.curve, OverlayMarket(futures=p.overlay_futures), p.analytics.key_tenors)
        if p.mandate.overlay.enabled
        else None
    )
    return gaps, universe


def _stress_stage(
    p: Portfolio, universe: OverlayUniverse | None, executor: Executor | None
) -> tuple[StressResult, pd.DataFrame, OverlayInputs | None]:
    """Revalue every stress, per manager too, and the overlay's instruments (stresses)."""
    stresses = stress_portfolio(p, executor=executor)
    shares = p.holding_shares.reindex(columns=stresses.asset_values.columns, fill_value=0.0)
    stress_by_manager = stresses.by_manager(shares).rename_axis("manager_id")
    overlay_inputs = (
        None
        if universe is None
        else OverlayInputs(universe.table, universe.stress_changes(stresses.scenarios))
    )
    return stresses, stress_by_manager, overlay_inputs


def _scenario_covariance(
    p: Portfolio,
    model: G2pp,
    spread_model: CreditInflationSpec,
    n_paths: int,
    grid: npt.NDArray[np.float64],
    seed: int,
) -> pd.DataFrame:
    """Return the factor covariance of the run's paths' first month (``"scenarios"``)."""
    # The same paths the chunks simulated (keyed by seed and path index), and the same
    # spreads on them (the base economy's sub-streams).
    paths = model.simulate(n_paths, grid, seed=seed)
    credit = simulate_credit_inflation(model, paths, spread_model, stream=SPREAD_STREAM)
    return scenario_covariance(model, paths, p.analytics.key_tenors, credit)


def recommend(
    problem: AllocationProblem, mandate: Mandate, overlay_inputs: OverlayInputs | None
) -> tuple[AllocationProgram, AllocationResult, AllocationResult | None]:
    """Compile the program; solve the recommendation and, with an overlay, weights only.

    The optimize stage's recommendation exactly as a run makes it (its overlay chosen jointly
    when `overlay_inputs` are given and the mandate allows one): studies re-solve it on a
    run's problem with other inputs (:meth:`fialloc.optimize.AllocationProblem.with_alpha`).

    Returns
    -------
    tuple
        The compiled program, the recommendation and (with an overlay) the weights-only
        recommendation of the same program, else None.

    Raises
    ------
    InfeasibleMandate
        If no allocation could meet the mandate (see :func:`fialloc.optimize.optimize`).
    """
    # One compiled program: with an overlay its positions switch off for the weights-only
    # answer and the frontier.
    program = (
        AllocationProgram(problem, mandate)
        if overlay_inputs is None
        else overlay_program(problem, mandate, overlay_inputs)
    )
    allocation = optimize(problem, program=program)
    without = None
    if overlay_inputs is not None:
        without = allocation
        allocation = optimize(problem, program=program, overlay=overlay_inputs)
    return program, allocation, without


def _robustness_stage(
    p: Portfolio,
    sleeves: SleevePaths,
    stresses: StressResult,
    candidates: dict[str, npt.ArrayLike],
    overlays: dict[str, npt.ArrayLike],
    overlay_values: pd.DataFrame | None,
) -> Robustness:
    """Test every candidate allocation across the paths and the stresses (robustness)."""
    states, state_covariance = sleeves.state_tables()
    paths_table, comparisons = evaluate_and_compare(sleeves, candidates, overlays=overlays)
    return Robustness(
        paths=paths_table,
        comparisons=comparisons,
        tracking_error=tracking_error_distribution(sleeves, candidates, overlays),
        stresses=stress_surplus(stresses, p, candidates, overlays, overlay_values),
        surplus=surplus_by_path(sleeves, candidates, overlays),
        states=states,
        state_covariance=state_covariance,
        overlay=overlay_by_path(sleeves, overlays) if overlays else None,
    )


def _plan_stage(
    p: Portfolio,
    chosen: _Allocations,
    phases: int,
    phase_days: int,
    overlay_inputs: OverlayInputs | None,
    units: npt.ArrayLike | None,
) -> ImplementationPlan:
    """Plan the phased move to the recommendation, with its glide path (plan)."""
    problem, allocation = chosen.problem, chosen.allocation
    plan = implementation_plan(
        p,
        problem,
        allocation.weights,
        mandate=p.mandate,
        phases=phases,
        phase_days=phase_days,
        extend=True,
        overlay=overlay_inputs,
        units=units,
    )
    # The glide path starts from the recommendation, its overlay too; later cycles choose
    # the overlay afresh, within the rooms the recommendation's program computed.
    glide = glide_path(
        problem, p.mandate, allocation.weights, overlay=overlay_inputs, units=units,
        program=chosen.program,
    )  # fmt: skip
    return replace(plan, glide=glide)


def _candidates(
    problem: AllocationProblem,
    allocation: AllocationResult,
    robust: AllocationResult,
    without: AllocationResult | None,
    universe: OverlayUniverse | None,
    overlay_inputs: OverlayInputs | None,
) -> tuple[dict[str, npt.ArrayLike], dict[str, npt.ArrayLike], pd.DataFrame | None]:
    """Return the allocations to compare, their overlay units and the overlay's stress values."""
    candidates: dict[str, npt.ArrayLike] = {
        "current": problem.current.to_numpy(),
        "recommended": allocation.weights.to_numpy(),
        "least_shortfall": robust.weights.to_numpy(),
    }
    overlays: dict[str, npt.ArrayLike] = {}
    overlay_values = None
    if without is not None and overlay_inputs is not None and universe is not None:
        candidates["recommended_without_overlay"] = without.weights.to_numpy()
        overlays["recommended"] = allocation.overlay_units(universe.ids)
        overlays["least_shortfall"] = robust.overlay_units(universe.ids)
        overlay_values = overlay_inputs.stress_changes + universe.table["value"]
    return candidates, overlays, overlay_values


def run(
    portfolio: Portfolio,
    n_paths: int = DEFAULT_PATHS,
    scenario_seed: int = 0,
    horizons: int = 10,
    phases: int = 3,
    phase_days: int = 10,
    frontier_points: int = 7,
    covariance: Literal["history", "scenarios"] = "history",
    progress: Callable[[str], None] | None = None,
    desk_runner: Callable[[DeskContext], dict[str, DeskResult]] | None = None,
    executor: Executor | None = None,
    path_chunk: int = 500,
) -> RunResult:
    """Run every stage on validated inputs.

    Parameters
    ----------
    portfolio : Portfolio
        Validated inputs.
    n_paths : int
        G2++ paths (default parameters fitted to today's curve).
    scenario_seed : int
        Seed of the paths; the same seed gives the same paths on any machine.
    horizons : int
        Annual horizons (years) the paths are evaluated at: 1 to `horizons`.
    phases, phase_days : int
        The implementation plan's phases and trading days per phase; more phases are added
        when the moves do not fit the market volume.
    frontier_points : int
        Points on the tracking error / yield frontier.
    covariance : {"history", "scenarios"}
        Where the optimizer's factor covariance comes from: the monthly market history, or the
        first month of the G2++ paths and the spread paths correlated with them.
    progress : callable, optional
        Called with each stage's name (see :data:`STAGES`), in that order, from this thread.
        The desks start in a background thread as soon as the analytics are done and run
        beside the stresses and scenarios; "desks" is announced when the run waits for them,
        and its timing is the desks' own wall time.
    desk_runner : callable, optional
        Runs the desks on the run's context (default :func:`fialloc.desks.run_desks`) in a
        thread of its own; the agents' workflow passes its graph here, so its results are the
        run's desks.
    executor : Executor, optional
        Where the parallel maps run: stress scenarios and chunks of scenario paths (see
        :mod:`fialloc.distributed`; in this process by default). Results are the
        same wherever they run.
    path_chunk : int
        Scenario paths per task (bounds a task's memory; results do not depend on it).

    Raises
    ------
    InputError
        If the inputs lack what a run reads (see :mod:`fialloc.data.run_requirements`).
    ValueError
        If a parameter is out of range or the mandate cannot be met (with a diagnosis).
    """
    settings = _Settings(
        n_paths, scenario_seed, horizons, phases, phase_days, frontier_points, covariance,
        path_chunk, executor,
    )  # fmt: skip
    _check_arguments(portfolio, settings)
    return _run_stages(portfolio, settings, progress, desk_runner or run_desks)


@dataclass(frozen=True)
class _Settings:
    """A run's parameters (see :func:`run`)."""

    n_paths: int
    scenario_seed: int
    horizons: int
    phases: int
    phase_days: int
    frontier_points: int
    covariance: str
    path_chunk: int
    executor: Executor | None

    @property
    def years(self) -> npt.NDArray[np.float64]:
        """The annual horizons (years) the paths are evaluated at."""
        return np.arange(1, self.horizons + 1, dtype=float)

    @property
    def grid(self) -> npt.NDArray[np.float64]:
        """The paths' monthly time grid (years) up to the last horizon."""
        return np.arange(1, 12 * self.horizons + 1) / 12.0

    def sleeves(
        self,
        p: Portfolio,
        model: G2pp,
        horizons: npt.NDArray[np.float64],
        universe: OverlayUniverse | None,
        spread_model: CreditInflationSpec,
        pool_values: HorizonValues | None,
        first_path: int = 0,
    ) -> SleevePaths:
        """Simulate the run's paths from `first_path` and revalue the sleeves on them.

        `pool_values` is the run's MBS regression (:func:`fialloc.option_paths.pool_regression`,
        fitted once a run) at `horizons`.
        """
        return simulate_sleeves(
            p, model, self.n_paths, self.grid, horizons, self.scenario_seed,
            chunk=self.path_chunk, executor=self.executor, first_path=first_path,
            overlay=universe, credit=spread_model, pool_values=pool_values,
        )  # fmt: skip

    def parameters(
        self, model: G2pp, sleeves: SleevePaths, spread_model: CreditInflationSpec
    ) -> dict[str, Any]:
        """Return what reproduces the run: G2++ and spread parameters, the economies."""
        return {
            "n_paths": self.n_paths,
            "scenario_seed": self.scenario_seed,
            "horizons": self.horizons,
            "phases": self.phases,
            "phase_days": self.phase_days,
            "frontier_points": self.frontier_points,
            "covariance": self.covariance,
            "path_chunk": self.path_chunk,
            "g2": dict(zip(("a", "sigma", "b", "eta", "rho"), model.params, strict=True)),
            "economies": list(sleeves.economies),
            "credit_spreads": {
                "mean_reversion": spread_model.mean_reversion,
                "volatility": spread_model.volatility,
                "rating_correlation": spread_model.base_correlation,
                "rate_correlation": spread_model.rate_correlation,
            },
        }


@dataclass(frozen=True)
class _Allocations:
    """What the optimize stage chose: the recommendation and the answers beside it."""

    problem: AllocationProblem
    program: AllocationProgram  # the recommendation's: re-solved (frontier), its rooms reused
    allocation: AllocationResult
    without: AllocationResult | None
    robust: AllocationResult
    frontier: pd.DataFrame


def _optimize_stage(
    ctx: DeskContext,
    desks: dict[str, DeskResult],
    model: G2pp,
    spread_model: CreditInflationSpec,
    settings: _Settings,
    universe: OverlayUniverse | None,
    overlay_inputs: OverlayInputs | None,
    pool_values: HorizonValues | None,
) -> _Allocations:
    """Build the problem; solve the recommendation, the least shortfall and the frontier."""
    p = ctx.portfolio
    factor_cov = None
    if settings.covariance == "scenarios":
        factor_cov = _scenario_covariance(
            p, model, spread_model, settings.n_paths, settings.grid, settings.scenario_seed
        )
    evidence = performance.manager_evidence(desks["performance"])
    problem = build_problem(
        ctx,
        evidence=evidence,
        covariance=factor_cov,
        trading_days=settings.phases * settings.phase_days,
    )
    program, allocation, without = recommend(problem, p.mandate, overlay_inputs)
    # Fitted on paths of its own (the next block of the same stream, last horizon only),
    # so that the paths that evaluate it below do not flatter it.
    last = None if pool_values is None else regression_at(pool_values, settings.years[-1:])
    fit = settings.sleeves(
        p, model, settings.years[-1:], universe, spread_model, last, first_path=settings.n_paths
    )
    robust = min_expected_shortfall(
        problem, fit, p.mandate, rooms=program.rooms(), overlay=overlay_inputs
    )
    frontier = pareto_frontier(problem, points=settings.frontier_points, program=program)
    return _Allocations(problem, program, allocation, without, robust, frontier)


def _run_stages(
    p: Portfolio,
    settings: _Settings,
    progress: Callable[[str], None] | None,
    desk_runner: Callable[[DeskContext], dict[str, DeskResult]],
) -> RunResult:
    """Run the stages in order (:data:`STAGES`), timing each."""
    timings: dict[str, float] = {}
    ctx = DeskContext(p)
    with _stage("analytics", timings, progress):
        securities, managers, liabilities = ctx.securities, ctx.managers, ctx.liabilities
        gaps, universe = _gaps_and_overlay(ctx)
    # The desks (Python) run beside the stresses and the scenarios (mostly the core's kernels,
    # which release the GIL): a run then keeps both cores busy. Each side reads the portfolio
    # and the context and writes nothing the other reads; results do not depend on the order.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fialloc-desks") as pool:
        desks_done = pool.submit(_timed, desk_runner, ctx)
        with _stage("stresses", timings, progress):
            stresses, stress_by_manager, overlay_inputs = _stress_stage(
                p, universe, settings.executor
            )
        with _stage("scenarios", timings, progress):
            model = G2pp(p.curve)
            spread_model = run_spread_model(p)
            # The MBS pools' horizon regression, fitted once: every chunk of the statistics'
            # paths and of the least-shortfall fit's applies it.
            pool_values = pool_regression(p, model, settings.years, settings.scenario_seed)
            sleeves = settings.sleeves(
                p, model, settings.years, universe, spread_model, pool_values
            )
        if progress is not None:
            progress("desks")
        desks, timings["desks"] = desks_done.result()
    with _stage("optimize", timings, progress):
        chosen = _optimize_stage(
            ctx, desks, model, spread_model, settings, universe, overlay_inputs, pool_values
        )
    with _stage("robustness", timings, progress):
        candidates, overlays, overlay_values = _candidates(
            chosen.problem, chosen.allocation, chosen.robust, chosen.without, universe,
            overlay_inputs,
        )  # fmt: skip
        robustness = _robustness_stage(p, sleeves, stresses, candidates, overlays, overlay_values)
    with _stage("plan", timings, progress):
        plan = _plan_stage(
            p, chosen, settings.phases, settings.phase_days, overlay_inputs,
            overlays.get("recommended"),
        )  # fmt: skip
    surplus = robustness.paths.loc["current"].copy()
    assert isinstance(surplus, pd.DataFrame)  # one allocation, many horizons
    return RunResult(
        portfolio=p,
        securities=securities,
        managers=managers,
        liabilities=liabilities,
        gaps=gaps,
        stresses=stresses,
        stress_by_manager=stress_by_manager,
        surplus_paths=surplus,
        desks=desks,
        problem=chosen.problem,
        allocation=chosen.allocation,
        robust_allocation=chosen.robust,
        frontier=chosen.frontier,
        robustness=robustness,
        plan=plan,
        parameters=settings.parameters(model, sleeves, spread_model),
        timings=timings,
        overlay=universe,
        allocation_without_overlay=chosen.without,
        overlay_inputs=overlay_inputs,
    )
