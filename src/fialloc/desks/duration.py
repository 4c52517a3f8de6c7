"""Duration desk: asset and liability key-rate profiles, gaps, drift, and manager shifts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fialloc.analytics.context import DeskContext
from fialloc.analytics.drift import (
    KEY_RATE_BUCKETS,
    describe_drift,
    drift_metrics,
    drifted_characteristics,
    style_drift,
)
from fialloc.analytics.duration_gaps import key_rate_gap, krd_gaps, rebalance_for_krd
from fialloc.desks.result import DeskResult, Finding, Recommendation
from fialloc.errors import ConvergenceError

__all__ = ["analyze"]


#: The ``currencies`` table's columns before the key-rate durations.
_CURRENCY_COLUMNS = ("market_value", "share", "hedged_value", "fx_exposure", "effective_duration")


def analyze(ctx: DeskContext) -> DeskResult:
    """Run the duration desk.

    Tables: ``krd_gaps`` (assets vs liabilities by key rate: the base currency's curve),
    ``currencies`` (value, hedged value, unhedged FX share, duration and key-rate durations
    on each currency's own curve), ``managers`` (durations and KRDs), ``sectors``
    (value-weighted durations), ``recommended_weights``, ``callables`` (OAS and
    option-adjusted duration and convexity of bonds with calls or puts, beside their
    measures to maturity), ``liability_stresses`` (the liabilities' value under the mass
    lapse and longevity stresses, with Monte Carlo errors, when annuity blocks behave). The
    summary gives the book's duration and convexity both ways, the liabilities' convexity and
    duration including behaviour, and the convexity gap; ``callable_duration`` says how much
    the options move the book's duration. With other currencies held, a
    ``currency_exposure`` finding says how much and how much is unhedged. Findings: material
    key-rate gaps (``krd_gap``) and managers whose active duration (against the benchmark) shifted
    (``duration_drift``, :func:`fialloc.analytics.drift.style_drift`); with MBS pools an
    ``mbs`` table (each held pool's OAS, option-adjusted duration and convexity with their
    Monte Carlo standard errors) and the pools' negative convexity (``mbs_convexity``).
    Recommendations: weight
    shifts, within the mandate's limits, that bring the key-rate profile closest to the
    liabilities'.
    """
    p = ctx.portfolio
    lia = ctx.liabilities.iloc[0]
    keys = ctx.key_columns
    gaps = krd_gaps(
        ctx.asset_krd,
        ctx.total_assets,
        lia[keys].astype(float),
        float(lia["market_value"]),
        threshold=p.mandate.materiality_threshold,
    )
    findings = _gap_findings(gaps) + _drift_findings(ctx)
    managers = ctx.managers
    target = gaps["liability_krd"]
    weights = p.current_weights.reindex(managers.index)
    recommended, unavailable = _rebalance(ctx, weights, target)
    findings += unavailable
    change = recommended - weights
    findings += _callable_findings(ctx)
    pools = _mbs_table(ctx)
    if pools is not None:
        findings.append(_mbs_finding(pools))
    currencies = ctx.by_currency
    if len(currencies) > 1:
        findings.append(_currency_finding(currencies, p.mandate.base_currency))
    extra = {} if pools is None else {"mbs": pools}
    return DeskResult(
        desk="duration",
        tables={
            **extra,
            "krd_gaps": gaps,
            "currencies": currencies[[*_CURRENCY_COLUMNS, *keys]],
            "managers": managers[
                ["name", "style", "weight", "effective_duration", "effective_convexity", *keys]
            ],
            "sectors": _by_sector(ctx),
            "recommended_weights": pd.DataFrame(
                {"current": weights, "recommended": recommended, "change": change}
            ),
            "callables": ctx.callables,
            "liability_stresses": _liability_stresses(ctx),
        },
        findings=findings,
        recommendations=_recommendations(managers, weights, recommended),
        summary={
            "asset_duration": float(
                np.average(managers["effective_duration"], weights=managers["market_value"])
            ),
            "liability_duration": float(lia["effective_duration"]),
            "krd_distance_before": float(np.linalg.norm(managers[keys].T @ weights - target)),
            "krd_distance_after": float(np.linalg.norm(managers[keys].T @ recommended - target)),
            **_convexity_summary(ctx, float(lia["market_value"])),
        },
    )


def _gap_findings(gaps: pd.DataFrame) -> list[Finding]:
    """One ``krd_gap`` finding per material key-rate gap."""
    findings = []
    for tenor, row in gaps[gaps["material"]].iterrows():
        side = "under-match" if row["gap"] < 0 else "over-match"
        findings.append(
            Finding(
                code="krd_gap",
                severity="action",
                subject=str(tenor).removeprefix("krd_"),
                message=(
                    f"Assets {side} liabilities at the {str(tenor).removeprefix('krd_')} key rate: "
                    f"gap {row['gap']:+.2f} years ({row['share']:+.0%} of the liabilities' "
                    f"rate risk, {row['gap_dv01'] / 1e6:+.2f}M per bp)"
                ),
                metrics={
                    "gap_years": float(row["gap"]),
                    "share": float(row["share"]),
                    "gap_dv01": float(row["gap_dv01"]),
                },
            )
        )
    return findings


def _drift_findings(ctx: DeskContext) -> list[Finding]:
    """One ``duration_drift`` finding per manager whose active duration or key rates moved."""
    verdicts, details = style_drift(ctx)
    moved = drifted_characteristics(verdicts, details, ("duration", *KEY_RATE_BUCKETS))
    return [
        Finding(
            code="duration_drift",
            severity="watch",
            subject=str(manager),
            message=f"{manager} drifted in duration: {describe_drift(rows.iloc[0])}",
            metrics=drift_metrics(rows),
        )
        for manager, rows in moved.groupby(level=0, sort=False)
    ]


def _rebalance(
    ctx: DeskContext, weights: pd.Series, target: pd.Series
) -> tuple[pd.Series, list[Finding]]:
    """Weights within the mandate closest to the liabilities' key-rate profile.

    When the rebalance does not converge the current weights stand, with a
    ``krd_rebalance_unavailable`` finding.
    """
    mandate = ctx.portfolio.mandate
    current = weights / weights.sum()
    try:
        recommended = rebalance_for_krd(
            ctx.managers[ctx.key_columns],
            current,
            target,
            max_shift=mandate.max_shift,
            min_weight=mandate.min_allocation,
            max_weight=mandate.max_allocation,
        )
    except ConvergenceError as exc:
        # The desk's other tables and findings stand; the rebalance is a finding, not a crash.
        unavailable = Finding(
            code="krd_rebalance_unavailable",
            severity="watch",
            subject="portfolio",
            message=f"no key-rate rebalance proposed: {exc}",
            metrics={},
        )
        return current, [unavailable]
    return recommended, []


def _recommendations(
    managers: pd.DataFrame, weights: pd.Series, recommended: pd.Series
) -> list[Recommendation]:
    """Shift each manager whose recommended weight moves by more than 0.01%."""
    change = recommended - weights
    styles = {str(k): str(v) for k, v in managers["style"].items()}
    return [
        Recommendation(
            action="increase" if delta > 0 else "decrease",
            subject=str(m),
            rationale=(f"moves the key-rate profile toward the liabilities' ({styles[str(m)]})"),
            weight_change=float(delta),
            metrics={"current": float(w0), "recommended": float(w1)},
        )
        for m, delta, w0, w1 in zip(
            change.index, change, weights, recommended.to_numpy(), strict=True
        )
        if abs(delta) > 1e-4
    ]


def _currency_finding(currencies: pd.DataFrame, base_currency: str) -> Finding:
    """How much of the book is in other currencies, and how much of it is unhedged."""
    foreign = currencies.iloc[1:]
    return Finding(
        code="currency_exposure",
        severity="info",
        subject="portfolio",
        message=(
            f"{foreign['share'].sum():.1%} of the assets are in "
            f"{', '.join(foreign.index)} (duration {_weighted(foreign):.2f} years on "
            f"their own curves, no offset to the {base_currency} "
            f"liabilities); {foreign['fx_exposure'].sum():.1%} of the assets carry "
            "unhedged FX risk"
        ),
        metrics={
            "foreign_share": float(foreign["share"].sum()),
            "foreign_duration": _weighted(foreign),
            "unhedged_fx_share": float(foreign["fx_exposure"].sum()),
        },
    )


def _convexity_summary(ctx: DeskContext, liability_value: float) -> dict[str, float]:
    """Book duration and convexity, option-adjusted and to maturity, and the convexity gap.

    The book's measures are option-adjusted (the run's analytics); to maturity they are the
    scheduled flows' at each bond's z-spread. The liabilities' convexity includes behaviour
    (:attr:`DeskContext.liability_risk`). The gap is
    :func:`~fialloc.analytics.duration_gaps.key_rate_gap` applied to convexity (years squared
    of asset convexity): zero means the surplus has no curvature in a parallel move.
    """
    liability = ctx.liability_risk
    liability_convexity = float(liability["effective_convexity"])
    sec = ctx.securities
    mv = sec["market_value"]
    to_maturity = ctx.portfolio.analytics_to_maturity
    out = {
        "asset_duration_to_maturity": float(np.average(to_maturity.effective_duration, weights=mv)),
        "asset_convexity": float(np.average(sec["effective_convexity"], weights=mv)),
        "asset_convexity_to_maturity": float(
            np.average(to_maturity.effective_convexity, weights=mv)
        ),
        "liability_convexity": liability_convexity,
        "liability_duration_with_behaviour": float(liability["effective_duration"]),
    }
    out["convexity_gap"] = float(
        key_rate_gap(out["asset_convexity"], liability_convexity, ctx.total_assets, liability_value)
    )
    return out


def _callable_findings(ctx: DeskContext) -> list[Finding]:
    """One finding on how much the book's calls and puts shorten (or lengthen) its duration."""
    oa = ctx.callables
    if oa.empty:
        return []
    mv = oa["market_value"].astype(float)
    to_maturity = float(np.average(oa["duration_to_maturity"].astype(float), weights=mv))
    adjusted = float(np.average(oa["effective_duration"].astype(float), weights=mv))
    convexity = float(np.average(oa["effective_convexity"].astype(float), weights=mv))
    book_change = float((adjusted - to_maturity) * mv.sum() / ctx.total_assets)
    return [
        Finding(
            code="callable_duration",
            severity="info",
            subject="portfolio",
            message=(
                f"{len(oa)} bonds with calls or puts ({mv.sum() / 1e9:.2f}B): option-adjusted "
                f"duration {adjusted:.2f} years against {to_maturity:.2f} to maturity, "
                f"convexity {convexity:+.0f}; the options move the book's duration by "
                f"{book_change:+.3f} years"
            ),
            metrics={
                "count": float(len(oa)),
                "market_value": float(mv.sum()),
                "duration_to_maturity": to_maturity,
                "option_adjusted_duration": adjusted,
                "option_adjusted_convexity": convexity,
                "book_duration_change": book_change,
            },
        )
    ]


def _weighted(rows: pd.DataFrame) -> float:
    """Value-weighted effective duration of some currencies' bonds (years)."""
    return float(np.average(rows["effective_duration"], weights=rows["market_value"]))


def _by_sector(ctx: DeskContext) -> pd.DataFrame:
    sec = ctx.securities
    mv = sec["market_value"]
    cols = ["effective_duration", *ctx.key_columns]
    weighted = sec[cols].mul(mv, axis=0).groupby(sec["sector"]).sum()
    totals = mv.groupby(sec["sector"]).sum()
    out = weighted.div(totals, axis=0)
    out.insert(0, "market_value", totals)
    return out


def _liability_stresses(ctx: DeskContext) -> pd.DataFrame:
    """Liability value under mass lapse and longevity (money, with Monte Carlo errors).

    Empty without annuity blocks: fixed flows do not lapse or live longer.
    """
    risk = ctx.portfolio.behaviour_risk
    if risk is None:
        return pd.DataFrame(columns=["value", "value_se", "change", "change_se"])
    return risk.stresses


def _mbs_table(ctx: DeskContext) -> pd.DataFrame | None:
    """Per held pool: market value, OAS (bp) and its error, option-adjusted risks."""
    mbs = ctx.portfolio.mbs_valuation
    if mbs is None:
        return None
    table = mbs.to_frame()
    out = pd.DataFrame(
        {
            "market_value": ctx.securities.loc[table.index, "market_value"],
            "price": table["value"],
            "oas_bp": table["oas"] * 1e4,
            "oas_std_error_bp": table["oas_std_error"] * 1e4,
            "effective_duration": table["effective_duration"],
            "effective_convexity": table["effective_convexity"],
            "spread_duration": table["spread_duration"],
            "expected_paydown": table["expected_paydown"],
        }
    )
    return out


def _mbs_finding(pools: pd.DataFrame) -> Finding:
    """How much negative convexity the pools bring: value-weighted, and how many are short."""
    mv = pools["market_value"]
    duration = float(np.average(pools["effective_duration"], weights=mv))
    convexity = float(np.average(pools["effective_convexity"], weights=mv))
    short = int((pools["effective_convexity"] < 0).sum())
    # Convexity in years squared: what it adds over a 100 bp move, share of value.
    effect = 0.5 * convexity * 0.01**2
    why = (
        f"costs {-effect:.2%} of their value beyond duration, as prepayments speed up when "
        "rates fall and slow when they rise"
        if convexity < 0
        else f"adds {effect:.2%} of their value beyond duration"
    )
    return Finding(
        code="mbs_convexity",
        severity="watch" if convexity < 0 else "info",
        subject="portfolio",
        message=(
            f"{short} of {len(pools)} MBS pools ({mv.sum() / 1e9:.2f}B) are negatively convex; "
            f"together: option-adjusted duration {duration:.2f} years, convexity "
            f"{convexity:.1f} (a 100 bp move in either direction {why})"
        ),
        metrics={
            "market_value": float(mv.sum()),
            "effective_duration": duration,
            "effective_convexity": convexity,
            "negative_pools": float(short),
            "pools": float(len(pools)),
            "convexity_effect_100bp": float(effect),
        },
    )
