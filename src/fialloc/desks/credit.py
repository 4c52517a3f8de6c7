"""Credit desk: exposures, spread contribution, manager credit skill (beta vs alpha), drift."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fialloc.analytics.context import DeskContext
from fialloc.analytics.drift import (
    describe_drift,
    drift_metrics,
    drifted_characteristics,
    return_factors,
    style_drift,
)
from fialloc.analytics.evidence import MIN_MONTHS, evidence_table
from fialloc.analytics.regression import factor_regression
from fialloc.data.vocabulary import RATINGS, rating_notch
from fialloc.desks.result import DeskResult, Finding, Recommendation

__all__ = ["LOOKBACKS", "analyze", "within_mandate"]

LOOKBACKS = (1, 3, 6, 12, 36)


def _bucket(duration: pd.Series) -> pd.Series:
    return pd.cut(
        duration, [-np.inf, 3, 5, 7, 10, np.inf], labels=["0-3y", "3-5y", "5-7y", "7-10y", "10y+"]
    )


def analyze(ctx: DeskContext) -> DeskResult:
    """Run the credit desk.

    Tables: exposures by ``rating``, ``sector``, ``manager`` and ``duration_bucket`` (market value
    and share), by ``currency`` (value, share, spread and spread duration of each currency's
    bonds, :attr:`~fialloc.analytics.context.DeskContext.by_currency`),
    ``spread_contribution`` (spread times spread duration, by manager and rating),
    ``manager_skill`` (excess return over 1-36 months; over the full history the performance
    desk's evidence, :func:`fialloc.analytics.evidence.evidence_table`: Newey-West loadings and
    alpha, FDR q-value, posterior alpha; over the last 12 and 36 months a plain regression on
    the same factors). Findings: ``credit_beta`` (the evidence's beta flag: significant credit
    loadings explain the excess return, alpha not credible), ``credit_alpha`` (skill flagged at
    the mandate's false discovery rate) and ``rating_drift`` (active rating or high yield share
    shifted, dated: :func:`fialloc.analytics.drift.style_drift`). Recommendations:
    move weight from beta-only managers toward managers with significant alpha, within the
    mandate. The performance desk judges the same managers on their whole track record.
    """
    sec = ctx.securities
    total = float(sec["market_value"].sum())
    tables = _exposure_tables(ctx)
    skill_table, findings, beta_only, skilled = _manager_skill(ctx)
    tables["manager_skill"] = skill_table
    findings += _drift_findings(ctx)
    recs, limits = within_mandate(ctx, _recommendations(ctx, beta_only, skilled))
    by_rating = tables["rating"]
    notch = sec["rating"].map(rating_notch).astype(float)
    contribution = sec["z_spread"] * sec["spread_duration"] * sec["market_value"]
    return DeskResult(
        desk="credit",
        tables=tables,
        findings=findings,
        recommendations=recs,
        summary={
            **limits,
            "average_notch": float((notch * sec["market_value"]).sum() / total),
            "spread_contribution": float(contribution.sum() / total),
            "below_investment_grade_share": float(
                by_rating.loc[by_rating.index.isin(["BB", "B", "CCC"]), "share"].sum()
            ),
        },
    )


def _exposure_tables(ctx: DeskContext) -> dict[str, pd.DataFrame]:
    """Exposures by rating, sector, currency, manager and spread duration; spread contribution."""
    p = ctx.portfolio
    sec = ctx.securities
    mv = p.market_values
    letter = sec["rating"].str.rstrip("+-")
    total = float(sec["market_value"].sum())

    def exposure(keys: pd.Series) -> pd.DataFrame:
        out = sec["market_value"].groupby(keys).sum().to_frame("market_value")
        out["share"] = out["market_value"] / total
        return out

    by_rating = exposure(letter).reindex(
        [r for r in ("AAA", "AA", "A", "BBB", "BB", "B", "CCC") if r in set(letter)]
    )
    manager_notch = ctx.manager_notches
    contribution = sec["z_spread"] * sec["spread_duration"] * sec["market_value"]
    spread_by_manager = pd.DataFrame(
        {
            "spread_dv": mv
            @ (sec["z_spread"] * sec["spread_duration"]).reindex(mv.columns)
            / mv.sum(axis=1),
            "average_notch": manager_notch,
            "average_rating": manager_notch.round()
            .astype(int)
            .map(lambda k: RATINGS[min(max(k, 1), 21) - 1]),
        },
    )
    return {
        "rating": by_rating,
        "sector": exposure(sec["sector"]),
        "currency": ctx.by_currency[["market_value", "share", "z_spread", "spread_duration"]],
        "manager": spread_by_manager,
        "duration_bucket": exposure(_bucket(sec["spread_duration"])),
        "spread_contribution": contribution.groupby(letter).sum().to_frame("spread_dv"),
    }


def _manager_skill(
    ctx: DeskContext,
) -> tuple[pd.DataFrame, list[Finding], list[Any], list[Any]]:
    """Build the skill table, its beta and alpha findings; list beta-only and skilled managers."""
    p = ctx.portfolio
    excess = ctx.excess_returns
    skill_rows: list[pd.Series] = []
    findings: list[Finding] = []
    beta_only: list[Any] = []
    skilled: list[Any] = []
    factors = return_factors(ctx)
    if len(factors.index.intersection(excess.index)) >= MIN_MONTHS:
        # One verdict on beta and alpha, shared with the performance desk: the evidence table
        # (Newey-West regression on duration and credit factors, shrunk alphas, FDR flags).
        months = factors.index.intersection(excess.index)
        y_all, f_all = excess.loc[months], factors.loc[months]
        evidence = evidence_table(
            y_all, f_all, fdr=p.mandate.skill_fdr, prior=p.mandate.skill_prior
        )
        n_managers = int(evidence["estimable"].sum())
        for manager in excess.columns:
            ev: dict[str, Any] = {str(k): v for k, v in evidence.loc[str(manager)].items()}
            skill_rows.append(_skill_row(excess[manager], y_all[manager].dropna(), f_all, ev))
            if ev["beta_flag"]:
                beta_only.append(manager)
                findings.append(_beta_finding(manager, ev))
            elif ev["skill_flag"]:
                skilled.append(manager)
                findings.append(_alpha_finding(manager, ev, n_managers))
    return pd.DataFrame(skill_rows), findings, beta_only, skilled


def _skill_row(
    excess: pd.Series, y: pd.Series, factors: pd.DataFrame, ev: dict[str, Any]
) -> pd.Series:
    """One manager's row: compounded excess returns, the evidence, recent-window regressions."""
    windows = {}
    mine = factors.loc[y.index]
    for k in (12, 36):
        if len(y) >= k:
            recent = factor_regression(y.iloc[-k:], mine.iloc[-k:])
            windows[f"beta_{k}m"] = float(recent.betas["credit_bbb"])
            windows[f"alpha_{k}m"] = recent.alpha_annual
            windows[f"alpha_t_{k}m"] = recent.alpha_t
    series = excess.dropna().to_numpy(dtype=float)
    row = {
        f"excess_{k}m": float(np.prod(1.0 + series[-k:]) - 1.0)
        for k in LOOKBACKS
        if k <= len(series)
    }
    row.update(
        {
            "beta_bbb": float(ev["beta_credit_bbb"]),
            "beta_t": float(ev["t_credit_bbb"]),
            "beta_hy": float(ev["beta_credit_hy"]),
            "credit_p": float(ev["credit_p"]),
            "alpha_annual": float(ev["alpha"]),
            "alpha_t": float(ev["alpha_t"]),
            "alpha_p": float(ev["alpha_p"]),
            "alpha_q": float(ev["alpha_q"]),
            "alpha_posterior": float(ev["alpha_posterior"]),
            "prob_alpha_positive": float(ev["prob_alpha_positive"]),
            "r_squared": float(ev["r_squared"]),
        }
    )
    row.update(windows)
    return pd.Series(row, name=excess.name)


def _beta_finding(manager: Any, ev: dict[str, Any]) -> Finding:
    """``credit_beta``: significant credit loadings explain the excess return, no credible alpha."""
    beta, beta_t = float(ev["beta_credit_bbb"]), float(ev["t_credit_bbb"])
    alpha, alpha_t = float(ev["alpha"]), float(ev["alpha_t"])
    posterior = float(ev["alpha_posterior"])
    return Finding(
        code="credit_beta",
        severity="action",
        subject=str(manager),
        message=(
            f"{manager}'s excess return is BBB credit beta "
            f"({beta:.2f}, Newey-West t {beta_t:.1f}) with no credible alpha "
            f"({alpha:+.2%} a year, t {alpha_t:.1f}; posterior "
            f"{1e4 * posterior:+.1f} bp a year)"
        ),
        metrics={
            "beta_bbb": beta,
            "beta_t": beta_t,
            "alpha_annual": alpha,
            "alpha_t": alpha_t,
            "alpha_posterior_bp": 1e4 * posterior,
        },
    )


def _alpha_finding(manager: Any, ev: dict[str, Any], n_managers: int) -> Finding:
    """``credit_alpha``: selection skill flagged at the mandate's false discovery rate."""
    alpha, alpha_t = float(ev["alpha"]), float(ev["alpha_t"])
    posterior = float(ev["alpha_posterior"])
    q = float(ev["alpha_q"])
    return Finding(
        code="credit_alpha",
        severity="info",
        subject=str(manager),
        message=(
            f"{manager} shows selection skill: alpha {alpha:+.2%} a "
            f"year (t {alpha_t:.1f}, q {q:.4f} over {n_managers} managers; "
            f"posterior {1e4 * posterior:+.1f} bp a year)"
        ),
        metrics={
            "alpha_annual": alpha,
            "alpha_t": alpha_t,
            "alpha_q": q,
            "n_managers": float(n_managers),
            "alpha_posterior_bp": 1e4 * posterior,
        },
    )


def _drift_findings(ctx: DeskContext) -> list[Finding]:
    """``rating_drift``: a manager's credit characteristics shifted, dated."""
    verdicts, details = style_drift(ctx)
    credit_columns = ("credit_notch", "high_yield_share", "spread_duration")
    moved = drifted_characteristics(verdicts, details, credit_columns)
    return [
        Finding(
            code="rating_drift",
            severity="watch",
            subject=str(drifter),
            message=f"{drifter} drifted in credit: "
            + "; ".join(describe_drift(row) for _, row in rows.iterrows()),
            metrics=drift_metrics(rows),
        )
        for drifter, rows in moved.groupby(level=0, sort=False)
    ]


def _recommendations(
    ctx: DeskContext, beta_only: list[Any], skilled: list[Any]
) -> list[Recommendation]:
    """Cut beta-only managers (each by at most the mandate's shift); share it among the skilled."""
    p = ctx.portfolio
    recs = []
    weights = p.current_weights
    shift = p.mandate.max_shift
    for manager in beta_only:
        cut = min(shift, max(float(weights[manager]) - p.mandate.min_allocation, 0.0))
        if cut > 0:
            recs.append(
                Recommendation(
                    action="decrease",
                    subject=str(manager),
                    weight_change=-cut,
                    rationale="its excess return is BBB beta, which the portfolio can buy directly",
                )
            )
    freed = -sum(r.weight_change for r in recs)
    for manager in skilled:
        add = min(
            shift, freed / max(len(skilled), 1), p.mandate.max_allocation - float(weights[manager])
        )
        if add > 0:
            recs.append(
                Recommendation(
                    action="increase",
                    subject=str(manager),
                    weight_change=add,
                    rationale=(
                        "selection alpha flagged at the mandate's false discovery rate "
                        f"({p.mandate.skill_fdr:.0%})"
                    ),
                )
            )
    return recs


def within_mandate(
    ctx: DeskContext, recs: list[Recommendation]
) -> tuple[list[Recommendation], dict[str, float]]:
    """Scale proposed weight shifts down until they respect the mandate's credit limits.

    The portfolio yield may not fall below the target (or below today's, if today's is lower),
    the average rating may not move more than ``max_rating_drift`` notches, and no sector's
    share may rise more than ``max_sector_overweight`` above today's. Every shift is scaled by
    the same factor (found by bisection), so the proposal keeps its shape.

    Returns
    -------
    list of Recommendation, dict
        The scaled recommendations (those still moving more than 1e-6) and the limits'
        values: ``yield_before``/``yield_after`` (decimals), ``notch_before``/``notch_after``,
        ``max_sector_increase`` (decimal) and ``shift_scale``.
    """
    p = ctx.portfolio
    m = p.mandate
    w0 = p.current_weights.reindex(ctx.managers.index).fillna(0.0)
    delta = pd.Series(0.0, index=w0.index)
    for r in recs:
        delta[r.subject] += r.weight_change
    mv = p.market_values
    sectors = ctx.securities["sector"]
    sector_mix = mv.T.groupby(sectors.reindex(mv.columns)).sum().T
    sector_mix = sector_mix.div(sector_mix.sum(axis=1), axis=0)  # managers x sectors
    ytm = ctx.managers["ytm"].to_numpy(dtype=float)
    notches = ctx.manager_notches.reindex(w0.index).to_numpy(dtype=float)

    def stats(w: pd.Series) -> tuple[float, float, pd.Series]:
        x = w.to_numpy(dtype=float)
        return float(x @ ytm), float(x @ notches), w @ sector_mix

    y0, n0, s0 = stats(w0)

    def ok(scale: float) -> bool:
        y, n, sec = stats(w0 + scale * delta)
        return (
            y >= min(m.target_yield, y0) - 1e-12
            and abs(n - n0) <= m.max_rating_drift + 1e-12
            and float((sec - s0).max()) <= m.max_sector_overweight + 1e-12
        )

    scale = 1.0
    if not ok(1.0):
        lo, hi = 0.0, 1.0
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if ok(mid) else (lo, mid)
        scale = lo
    y1, n1, s1 = stats(w0 + scale * delta)
    scaled = [r.model_copy(update={"weight_change": r.weight_change * scale}) for r in recs]
    limits = {
        "yield_before": y0,
        "yield_after": y1,
        "notch_before": n0,
        "notch_after": n1,
        "max_sector_increase": float((s1 - s0).max()),
        "shift_scale": scale,
    }
    return [r for r in scaled if abs(r.weight_change) > 1e-6], limits
