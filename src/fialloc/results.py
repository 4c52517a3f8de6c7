"""The response of one run: what the service returns and what ``results.json`` holds.

Its four top-level sections follow the system description's allocation engine:
``integrated_strategy`` (headline numbers before and after, and a summary in words),
``allocation_recommendations`` (per manager: current and recommended weight, the change and
the reasons), ``implementation_plan`` (phases, trades, costs) and ``detailed_results`` (every
desk's numbers, the optimizer's constraints and terms, robustness across scenarios, stresses);
plus timings and the model that wrote the analyses. :meth:`RunResponse.model_json_schema` is
the JSON Schema of ``results.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from fialloc.desks.result import json_value, to_records
from fialloc.optimize import AllocationResult, objective_table

if TYPE_CHECKING:
    from fialloc.pipeline import RunResult

__all__ = [
    "AllocationRecommendation",
    "RunResponse",
    "build_response",
    "claim_text",
    "path_claims",
    "spread_source_line",
]

#: A change of weight smaller than this (decimal) is reported as "hold".
HOLD_BELOW = 5e-4
#: Path statistics whose before/after change the headline states with its interval.
CLAIMED = ("shortfall_probability", "expected_shortfall_95")


class AllocationRecommendation(BaseModel):
    """One manager's recommended move, with the reasons (weights are decimals)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    manager_id: str
    name: str
    current_weight: float
    recommended_weight: float
    change: float
    change_amount: float = Field(description="Money moved in (+) or out (-)")
    action: str = Field(description="increase, decrease or hold")
    reasons: list[str]


class RunResponse(BaseModel):
    """Everything one run answers; the content of ``results.json``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    integrated_strategy: dict[str, Any]
    allocation_recommendations: list[AllocationRecommendation]
    implementation_plan: dict[str, Any]
    detailed_results: dict[str, Any]
    timings: dict[str, float]
    model: str


def build_response(
    run: RunResult, analyses: dict[str, str] | None = None, model: str = "none"
) -> RunResponse:
    """Assemble the response from a pipeline run.

    Parameters
    ----------
    run : RunResult
        From :func:`fialloc.pipeline.run`.
    analyses : dict of str to str, optional
        Written analysis per desk (by an agent); stored beside that desk's numbers.
    model : str
        The model that wrote the analyses (``"none"`` when no agent ran).
    """
    analyses = analyses or {}
    unknown = sorted(set(analyses) - set(run.desks))
    if unknown:
        msg = f"build_response: analyses for desks the run does not have: {unknown}"
        raise ValueError(msg)
    detailed: dict[str, Any] = {
        name: {**desk.to_dict(), "analysis": analyses.get(name)} for name, desk in run.desks.items()
    }
    detailed["optimizer"] = {
        "status": run.allocation.status,
        "summary": run.allocation.summary,
        "objective": to_records(run.allocation.objective),
        "constraints": to_records(run.allocation.constraints),
        "exposures": to_records(run.allocation.exposures),
        "key_rate_gaps": to_records(run.allocation.gaps),
        "least_shortfall": {
            "weights": run.robust_allocation.weights.to_dict(),
            "summary": run.robust_allocation.summary,
            "objective": to_records(run.robust_allocation.objective),
        },
        "frontier": to_records(run.frontier),
    }
    detailed["robustness"] = {
        "paths": to_records(run.robustness.paths),
        "comparisons": to_records(run.robustness.comparisons),
        "tracking_error": to_records(run.robustness.tracking_error),
        "stresses": to_records(run.robustness.stresses),
    }
    if run.overlay is not None and run.allocation_without_overlay is not None:
        detailed["overlay"] = _overlay(run, run.overlay.table, run.allocation_without_overlay)
    detailed["stresses"] = to_records(run.stresses.summary())
    detailed["key_rate_gaps"] = to_records(run.gaps)
    detailed["surplus_paths"] = to_records(run.surplus_paths)
    detailed["spread_sources"] = to_records(
        run.portfolio.spread_sources.drop(columns="dirty_price").rename_axis("security_id")
    )
    detailed["parameters"] = run.parameters
    return RunResponse(
        integrated_strategy=_strategy(run),
        allocation_recommendations=_recommendations(run),
        implementation_plan=_plan(run),
        detailed_results=detailed,
        timings=dict(run.timings),
        model=model,
    )


def _overlay(
    run: RunResult, instruments: pd.DataFrame, without: AllocationResult
) -> dict[str, Any]:
    """Return the overlay's instruments, positions, margins and gaps with and without it."""
    a = run.allocation
    return {
        "instruments": to_records(instruments),
        "positions": [] if a.overlay is None else to_records(a.overlay),
        "summary": {k: v for k, v in a.summary.items() if k.startswith("overlay_")},
        "key_rate_gaps": to_records(run.gap_change().rename_axis("factor")),
        "without_overlay": {
            "weights": without.weights.to_dict(),
            "summary": without.summary,
            "constraints": to_records(without.constraints),
        },
    }


def _without_overlay(run: RunResult, at_last: pd.DataFrame) -> dict[str, float] | None:
    """Headline numbers of the weights-only recommendation, when the run has an overlay."""
    w: AllocationResult | None = run.allocation_without_overlay
    if w is None or "recommended_without_overlay" not in at_last.index:
        return None
    row = at_last.loc["recommended_without_overlay"]
    gaps = run.gap_change()
    return {
        "yield_after": w.summary["yield_after"],
        "tracking_error_after": w.summary["tracking_error_after"],
        "surplus_vol_after": w.summary["surplus_vol_after"],
        "max_key_rate_gap_after": float(gaps["without_overlay_years"].abs().max()),
        "max_key_rate_gap_dv01_after": float(gaps["without_overlay_dv01"].abs().max()),
        "long_end_gap_after": w.summary["long_end_gap_after"],
        "shortfall_probability_after": float(cast(float, row["shortfall_probability"])),
        "expected_shortfall_95_after": float(cast(float, row["expected_shortfall_95"])),
    }


def spread_source_line(sources: pd.DataFrame) -> str:
    """One sentence saying where the held bonds' spreads came from (see ``spread_sources``).

    Names the bonds on the rating fallback (up to ten), since their values are estimates.
    """
    counts = sources["source"].value_counts()
    parts = [
        f"{int(counts.get(key, 0))} {label}"
        for key, label in (
            ("price", "solved from observed prices"),
            ("z_spread", "from the security master's z_spread"),
            ("rating", "from their rating's spread"),
            ("government", "government at zero spread"),
        )
    ]
    text = f"Spreads of the {len(sources)} bonds held: " + ", ".join(parts) + "."
    fallback = sources.index[sources["source"] == "rating"]
    if len(fallback):
        more = f" and {len(fallback) - 10} more" if len(fallback) > 10 else ""
        listed = ", ".join(map(str, fallback[:10]))
        text += f" On the rating spread (no price, no z_spread): {listed}{more}."
    return text


def _largest_gap(gaps: pd.Series) -> float:
    """Largest absolute key-rate gap (years, liabilities scaled to assets)."""
    return float(gaps.abs().max())


def _dominating(run: RunResult, tail_mean: dict[str, float]) -> list[dict[str, Any]]:
    """Every other allocation the run computed that beats the recommendation on every count.

    The least-shortfall weights are compared on expected return (yield less expected credit
    loss), tracking error and expected shortfall at the last horizon, the frontier points
    (not evaluated on the paths) on expected return and tracking error; each that is at
    least as good on all and better on one is listed with the objective it gives up against
    the recommendation (bp a year), which is the trade the recommendation makes.
    """
    a, tol = run.allocation.summary, 1e-9

    def net(s: Mapping[str, float]) -> float:
        return float(s["yield_after"] - s["expected_loss_after"])

    candidates = [
        (
            "least_shortfall",
            run.robust_allocation.summary,
            tail_mean["least_shortfall"] - tail_mean["recommended"],
            run.robust_allocation.summary["objective_bp_after"],
        )
    ]
    managers = [str(m) for m in run.problem.managers]
    for k, point in run.frontier.iterrows():
        weights = point[managers].to_numpy(dtype=float)
        table = objective_table(run.problem, run.portfolio.mandate, weights)
        summary = {
            "yield_after": point["yield"],
            "expected_loss_after": point["yield"] - point["expected_return"],
            "tracking_error_after": point["tracking_error"],
        }
        total = float(cast(float, table.at["total", "after_bp"]))
        candidates.append((f"frontier point {k}", summary, 0.0, total))
    out = []
    for name, other, tail_gain, objective in candidates:
        gains = (
            net(other) - net(a),
            a["tracking_error_after"] - other["tracking_error_after"],
            tail_gain,
        )
        if min(gains) >= -tol and max(gains) > tol:
            out.append(
                {
                    "allocation": name,
                    "yield": float(other["yield_after"]),
                    "expected_return": net(other),
                    "tracking_error": float(other["tracking_error_after"]),
                    "objective_bp_given_up": float(a["objective_bp_after"] - objective),
                }
            )
    return out


def _strategy_text(run: RunResult, fields: Mapping[str, Any]) -> str:
    """Write the strategy's `fields` in words: the moves, before and after, the paired claims."""
    a = run.allocation
    gap_before, gap_after = fields["max_key_rate_gap_before"], fields["max_key_rate_gap_after"]
    last, moved, claims = fields["horizon_years"], fields["turnover"], fields
    ups = a.change[a.change > HOLD_BELOW].sort_values(ascending=False)
    downs = a.change[a.change < -HOLD_BELOW].sort_values()
    text = (
        f"Move {moved:.1%} of assets between managers: into "
        + (", ".join(f"{m} ({c:+.1%})" for m, c in ups.items()) or "none")
        + "; out of "
        + (", ".join(f"{m} ({c:+.1%})" for m, c in downs.items()) or "none")
        + f". Yield goes from {a.summary['yield_before']:.2%} to {a.summary['yield_after']:.2%}, "
        f"tracking error against the liabilities from {a.summary['tracking_error_before']:.2%} to "
        f"{a.summary['tracking_error_after']:.2%}, the largest key-rate gap from "
        f"{gap_before:.2f} to {gap_after:.2f} years. At {last:g} years across "
        f"{run.parameters['n_paths']:,} scenario paths (seed {run.parameters['scenario_seed']}), "
        + claim_text(claims, "shortfall_probability", "the probability of a surplus shortfall")
        + "; "
        + claim_text(claims, "expected_shortfall_95", "the expected shortfall (worst 5%)")
        + f". The objective goes from {a.summary['objective_bp_before']:.1f} to "
        f"{a.summary['objective_bp_after']:.1f} bp a year. "
        + (
            "Limits not met yet: "
            + ", ".join(f"{k} ({v})" for k, v in fields["limits_not_met"].items())
            + "."
            if fields["limits_not_met"]
            else "Every limit is met."
        )
        + "".join(
            f" The {d['allocation']} weights are better on expected return (yield less "
            f"expected credit loss), tracking error and tail, but "
            f"give up {d['objective_bp_given_up']:.1f} bp a year of the objective (posterior "
            "alpha, trading costs, liquidity): the recommendation takes that trade."
            for d in fields["dominated_by"]
        )
    )
    long_before, long_after = fields["long_end_gap_before"], fields["long_end_gap_after"]
    without = fields["without_overlay"]
    if without is not None and a.overlay is not None and long_before > 0:
        text += (
            f" A duration overlay of {len(a.overlay)} swap, futures and STRIPS positions "
            f"(initial margin {a.summary['overlay_initial_margin'] / 1e6:,.0f}M, carry "
            f"{a.summary['overlay_carry'] / 1e6:+,.1f}M a year) takes the long-end (20y + 30y) "
            f"key-rate gap from {long_before:.2f} to {long_after:.2f} years "
            f"({1 - long_after / long_before:.0%} less; {without['long_end_gap_after']:.2f} "
            "with manager moves alone)."
        )
    return text


def _strategy(run: RunResult) -> dict[str, Any]:
    a = run.allocation
    s = run.summary()
    paths = run.robustness.paths
    last = float(paths.index.get_level_values("horizon").max())
    at_last = cast(pd.DataFrame, paths.xs(last, level="horizon"))
    claims = path_claims(run, last)
    tail_mean = {str(k): float(v) for k, v in at_last["expected_shortfall_95"].items()}
    gap_before = _largest_gap(a.gaps["gap_before"])
    gap_after = _largest_gap(a.gaps["gap_after"])
    moved = a.summary["turnover"]
    open_limits = a.constraints[~a.constraints["ok"]]
    dominating = _dominating(run, tail_mean)
    without = _without_overlay(run, at_last)
    long_before, long_after = a.summary["long_end_gap_before"], a.summary["long_end_gap_after"]
    fields: dict[str, Any] = {
        "valuation_date": run.portfolio.valuation_date.isoformat(),
        "assets": s["assets"],
        "liabilities": s["liabilities"],
        "surplus": s["surplus"],
        "turnover": moved,
        "yield_before": a.summary["yield_before"],
        "yield_after": a.summary["yield_after"],
        "expected_loss_before": a.summary["expected_loss_before"],
        "expected_loss_after": a.summary["expected_loss_after"],
        "tracking_error_before": a.summary["tracking_error_before"],
        "tracking_error_after": a.summary["tracking_error_after"],
        "surplus_vol_before": a.summary["surplus_vol_before"],
        "surplus_vol_after": a.summary["surplus_vol_after"],
        "max_key_rate_gap_before": gap_before,
        "max_key_rate_gap_after": gap_after,
        "max_key_rate_gap_dv01_before": _largest_gap(a.gaps["dv01_before"]),
        "max_key_rate_gap_dv01_after": _largest_gap(a.gaps["dv01_after"]),
        "long_end_gap_before": long_before,
        "long_end_gap_after": long_after,
        "horizon_years": last,
        "n_paths": int(run.parameters["n_paths"]),
        "scenario_seed": int(run.parameters["scenario_seed"]),
        **{
            f"{stat}_{when}{part}": float(cast(float, at_last.loc[name, f"{stat}{part}"]))
            for stat in CLAIMED
            for when, name in (("before", "current"), ("after", "recommended"))
            for part in ("", "_se")
        },
        **claims,
        "constraints_met": bool(a.constraints["ok"].all()),
        "spread_sources": spread_source_line(run.portfolio.spread_sources),
        "limits_not_met": {str(k): str(v) for k, v in open_limits["status"].items()},
        "dominated_by": dominating,
        "objective_bp_before": a.summary["objective_bp_before"],
        "objective_bp_after": a.summary["objective_bp_after"],
        "liquid_buffer_before": a.summary["liquid_buffer_before"],
        "liquid_buffer_after": a.summary["liquid_buffer_after"],
        "plan_cost": run.plan.total_cost,
        **{k: v for k, v in a.summary.items() if k.startswith("overlay_")},
        "without_overlay": without,
    }
    return {"summary": _strategy_text(run, fields), **fields}


def path_claims(run: RunResult, horizon: float) -> dict[str, Any]:
    """Return the recommended minus the current path statistics at `horizon`, paired.

    For each of :data:`CLAIMED`: ``<stat>_change`` (recommended minus current on the same
    paths), ``_change_se``, ``_change_low`` and ``_change_high`` (the 95% interval) and
    ``<stat>_verdict`` (``better``, ``worse`` or ``no clear change``; see
    :func:`fialloc.robustness.compare`).
    """
    table = run.robustness.comparisons.xs(("recommended", horizon), level=("allocation", "horizon"))
    out: dict[str, Any] = {}
    for stat in CLAIMED:
        row = table.loc[stat]
        out |= {
            f"{stat}_change": float(cast(float, row["difference"])),
            f"{stat}_change_se": float(cast(float, row["se"])),
            f"{stat}_change_low": float(cast(float, row["low"])),
            f"{stat}_change_high": float(cast(float, row["high"])),
            f"{stat}_verdict": str(row["verdict"]),
        }
    return out


def claim_text(claims: Mapping[str, Any], stat: str, label: str) -> str:
    """Return one before/after claim in words that follow its 95% interval.

    Parameters
    ----------
    claims : mapping
        The ``integrated_strategy`` section (or its path claims): ``<stat>_change``,
        ``<stat>_change_low``, ``<stat>_change_high`` and ``<stat>_verdict``.
    stat : {"shortfall_probability", "expected_shortfall_95"}
        The statistic (a probability, shown in points, or money, shown in $ millions).
    label : str
        What the statistic is, in words.
    """
    # Two decimals of a point: an interval's end just off zero must not print as zero.
    if stat == "shortfall_probability":
        unit = " points"

        def fmt(v: float) -> str:
            return f"{100 * v:+.2f}"
    else:
        unit = ""

        def fmt(v: float) -> str:
            return f"{'-' if v < 0 else '+'}${abs(v) / 1e6:,.1f}M"

    verdict = claims[f"{stat}_verdict"]
    moved = {"better": "improves", "worse": "worsens", "no clear change": "shows no clear change"}
    return (
        f"{label} {moved[verdict]}: {fmt(claims[f'{stat}_change'])}{unit} "
        f"(95% interval {fmt(claims[f'{stat}_change_low'])} to "
        f"{fmt(claims[f'{stat}_change_high'])}{unit}, paired on the same paths)"
    )


def _recommendations(run: RunResult) -> list[AllocationRecommendation]:
    a = run.allocation
    names = run.portfolio.managers["name"]
    mandate = run.portfolio.mandate
    binding = a.constraints[a.constraints["slack"].abs() < 1e-6].index
    out = []
    for mid in a.weights.index:
        change = float(a.change[mid])
        action = "hold" if abs(change) < HOLD_BELOW else ("increase" if change > 0 else "decrease")
        views = [
            (rec.weight_change, f"{desk.desk} desk: {rec.action} ({rec.rationale})")
            for desk in run.desks.values()
            for rec in desk.recommendations
            if rec.subject == mid
        ]
        if action == "hold":
            reasons = ["optimizer: no change under the mandate and the priority weighting"]
            reasons += [f"not taken: {text}" for _, text in views]
        else:
            reasons = [text for move, text in views if (move > 0) == (change > 0)]
            if "max shift" in binding:
                shift = mandate.max_shift
                if abs(abs(change) - shift) < 1e-6:
                    reasons.append(f"optimizer: limited by the maximum shift of {shift:.0%}")
            if not reasons:
                reasons.append(
                    "optimizer: improves the objective or closes a limit (yield "
                    f"{float(cast(float, run.problem.yields.at[mid])):.2%}, posterior alpha "
                    f"{float(cast(float, run.problem.alpha.at[mid])) * 1e4:+.0f} bp a year)"
                )
        out.append(
            AllocationRecommendation(
                manager_id=str(mid),
                name=str(names.get(mid, mid)),
                current_weight=float(run.problem.current[mid]),
                recommended_weight=float(a.weights[mid]),
                change=change,
                change_amount=change * run.problem.assets,
                action=action,
                reasons=reasons,
            )
        )
    return out


def _plan(run: RunResult) -> dict[str, Any]:
    plan = run.plan
    phases = []
    for k in plan.costs.index:
        trades = plan.trades[k]
        phases.append(
            {
                "phase": int(k),
                "trades": {str(m): float(v) for m, v in trades.items() if abs(v) > 0.5},
                "weights_after": {str(m): float(v) for m, v in plan.weights[k].items()},
                **{str(c): json_value(v) for c, v in plan.costs.loc[k].items()},
            }
        )
    overlay = plan.overlay_trades
    if overlay is not None:
        for entry in phases:
            col = overlay[entry["phase"]]
            entry["overlay_trades"] = {str(i): float(v) for i, v in col.items() if abs(v) > 0.5}
    glide = plan.glide
    return {
        "requested_phases": plan.requested_phases,
        "phases": phases,
        "phase_days": run.parameters.get("phase_days"),
        "total_cost": plan.total_cost,
        "reason": plan.reason,
        "glide_path": None
        if glide is None
        else {
            "cycles": to_records(glide.cycles),
            "weights": {str(k): {str(m): float(v) for m, v in glide.weights[k].items()}
                        for k in glide.weights.columns},
            "reason": glide.reason,
            **({} if glide.overlay is None else {"overlay": {
                str(k): {str(i): float(v) * run.problem.assets
                         for i, v in glide.overlay[k].items() if v != 0.0}
                for k in glide.overlay.columns}}),
        },
    }  # fmt: skip
