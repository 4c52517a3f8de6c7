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

from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from fialloc.desks.result import json_value, to_records
from fialloc.optimize import AllocationResult

if TYPE_CHECKING:
    import pandas as pd

    from fialloc.pipeline import RunResult

__all__ = ["AllocationRecommendation", "RunResponse", "build_response", "spread_source_line"]

#: A change of weight smaller than this (decimal) is reported as "hold".
HOLD_BELOW = 5e-4


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
        "objective_terms": run.allocation.objective_terms.to_dict(),
        "constraints": to_records(run.allocation.constraints),
        "exposures": to_records(run.allocation.exposures),
        "key_rate_gaps": to_records(run.gap_change()),
        "least_shortfall": {
            "weights": run.robust_allocation.weights.to_dict(),
            "summary": run.robust_allocation.summary,
        },
        "frontier": to_records(run.frontier),
    }
    detailed["robustness"] = {
        "paths": to_records(run.robustness.paths),
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
        "shortfall_probability_after": float(row["shortfall_probability"]),
        "expected_shortfall_95_after": float(row["expected_shortfall_95"]),
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


def _strategy(run: RunResult) -> dict[str, Any]:
    a = run.allocation
    s = run.summary()
    paths = run.robustness.paths
    last = float(paths.index.get_level_values("horizon").max())
    at_last = paths.xs(last, level="horizon")
    shortfall = {str(k): float(v) for k, v in at_last["shortfall_probability"].items()}
    tail_mean = {str(k): float(v) for k, v in at_last["expected_shortfall_95"].items()}
    gaps = run.gap_change()
    gap_before = float(gaps["current_years"].abs().max())
    gap_after = float(gaps["recommended_years"].abs().max())
    moved = float(a.change.clip(lower=0).sum())
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
        f"{gap_before:.2f} to {gap_after:.2f} years, and the probability of a surplus shortfall "
        f"at {last:g} years from {shortfall['current']:.1%} to "
        f"{shortfall['recommended']:.1%}."
    )
    without = _without_overlay(run, at_last)
    long_before, long_after = a.summary["long_end_gap_before"], a.summary["long_end_gap_after"]
    if without is not None and a.overlay is not None and long_before > 0:
        text += (
            f" A duration overlay of {len(a.overlay)} swap, futures and STRIPS positions "
            f"(initial margin {a.summary['overlay_initial_margin'] / 1e6:,.0f}M, carry "
            f"{a.summary['overlay_carry'] / 1e6:+,.1f}M a year) takes the long-end (20y + 30y) "
            f"key-rate gap from {long_before:.2f} to {long_after:.2f} years "
            f"({1 - long_after / long_before:.0%} less; {without['long_end_gap_after']:.2f} "
            "with manager moves alone)."
        )
    return {
        "summary": text,
        "valuation_date": run.portfolio.valuation_date.isoformat(),
        "assets": s["assets"],
        "liabilities": s["liabilities"],
        "surplus": s["surplus"],
        "turnover": moved,
        "yield_before": a.summary["yield_before"],
        "yield_after": a.summary["yield_after"],
        "tracking_error_before": a.summary["tracking_error_before"],
        "tracking_error_after": a.summary["tracking_error_after"],
        "surplus_vol_before": a.summary["surplus_vol_before"],
        "surplus_vol_after": a.summary["surplus_vol_after"],
        "max_key_rate_gap_before": gap_before,
        "max_key_rate_gap_after": gap_after,
        "max_key_rate_gap_dv01_before": float(gaps["current_dv01"].abs().max()),
        "max_key_rate_gap_dv01_after": float(gaps["recommended_dv01"].abs().max()),
        "long_end_gap_before": long_before,
        "long_end_gap_after": long_after,
        "horizon_years": last,
        "shortfall_probability_before": shortfall["current"],
        "shortfall_probability_after": shortfall["recommended"],
        "expected_shortfall_95_before": tail_mean["current"],
        "expected_shortfall_95_after": tail_mean["recommended"],
        "constraints_met": bool(a.constraints["ok"].all()),
        "spread_sources": spread_source_line(run.portfolio.spread_sources),
        "plan_cost": run.plan.total_cost,
        **{k: v for k, v in a.summary.items() if k.startswith("overlay_")},
        "without_overlay": without,
    }


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
                    "optimizer: improves the priority-weighted objective (yield "
                    f"{run.problem.yields.at[mid]:.2%}, skill score "
                    f"{run.problem.skill.at[mid]:+.2f})"
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
    return {
        "requested_phases": plan.requested_phases,
        "phases": phases,
        "phase_days": run.parameters.get("phase_days"),
        "total_cost": plan.total_cost,
    }
