"""Credit desk: exposures, spread contribution, manager credit skill (beta vs alpha), drift."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fialloc.analytics import skill
from fialloc.analytics.context import DeskContext
from fialloc.analytics.drift import (
    describe_drift,
    drift_metrics,
    drifted_characteristics,
    return_factors,
    style_drift,
)
from fialloc.analytics.regression import factor_regression
from fialloc.data.vocabulary import (
    HIGH_YIELD_LETTERS,
    RATING_LETTERS,
    RATINGS,
    rating_letter,
    rating_notch,
)
from fialloc.desks.result import DeskResult, Finding, Recommendation

__all__ = ["LOOKBACKS", "analyze", "within_mandate"]

LOOKBACKS = (1, 3, 6, 12, 36)
ALPHA_LEVEL = 0.05


def _bucket(duration: pd.Series) -> pd.Series:
    return pd.cut(
        duration, [-np.inf, 3, 5, 7, 10, np.inf], labels=["0-3y", "3-5y", "5-7y", "7-10y", "10y+"]
    )


def analyze(ctx: DeskContext) -> DeskResult:
    """Run the credit desk.

    Tables: exposures by ``rating``, ``sector``, ``manager`` and ``duration_bucket`` (market value
    and share), ``spread_contribution`` (spread times spread duration, by manager and rating),
    ``manager_skill`` (excess return over 1-36 months; over the full history and the last 12
    and 36 months a regression of excess returns on duration, BBB and high yield factor
    returns: beta, alpha, t-statistics; see :func:`fialloc.analytics.skill.factor_loadings`).
    Findings: ``credit_beta`` (excess return explained by credit beta with no significant
    alpha, :func:`fialloc.analytics.skill.beta_only`), ``credit_alpha`` (significant alpha after
    Holm's correction for the number of managers) and ``rating_drift`` (active rating or
    high yield share shifted, :func:`fialloc.analytics.drift.style_drift`). Recommendations:
    move weight from beta-only managers toward managers with significant alpha, within the
    mandate. The performance desk judges the same managers on their whole track record.
    """
    p = ctx.portfolio
    sec = ctx.securities
    mv = p.market_values
    letter = sec["rating"].map(rating_letter)
    total = float(sec["market_value"].sum())

    def exposure(keys: pd.Series) -> pd.DataFrame:
        out = sec["market_value"].groupby(keys).sum().to_frame("market_value")
        out["share"] = out["market_value"] / total
        return out

    by_rating = exposure(letter).reindex([r for r in RATING_LETTERS if r in set(letter)])
    notch = sec["rating"].map(rating_notch).astype(float)
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

    excess = ctx.excess_returns
    skill_rows, findings, beta_only, skilled = [], [], [], []
    n_managers = max(len(excess.columns), 1)
    factors = return_factors(ctx)
    if len(factors.index.intersection(excess.index)) >= 12:
        # One definition of beta and alpha, shared with the performance desk: a regression on
        # duration, BBB and high yield factor returns, alphas Holm-corrected over the managers.
        months = factors.index.intersection(excess.index)
        y_all, f_all = excess.loc[months], factors.loc[months]
        loadings = skill.factor_loadings(y_all, f_all)
        flagged = skill.beta_only(loadings)
        fitted = {str(k): {str(c): float(v) for c, v in r.items()} for k, r in loadings.iterrows()}
        for manager in excess.columns:
            y = y_all[manager]
            reg = fitted[str(manager)]
            windows = {}
            for k in (12, 36):
                if len(y) >= k:
                    recent = factor_regression(y.iloc[-k:], f_all.iloc[-k:])
                    windows[f"beta_{k}m"] = float(recent.betas["credit_bbb"])
                    windows[f"alpha_{k}m"] = recent.alpha_annual
                    windows[f"alpha_t_{k}m"] = recent.alpha_t
            series = excess[manager].to_numpy(dtype=float)
            row = {
                f"excess_{k}m": float(np.prod(1.0 + series[-k:]) - 1.0)
                for k in LOOKBACKS
                if k <= len(series)
            }
            beta, beta_t = float(reg["beta_credit_bbb"]), float(reg["t_credit_bbb"])
            alpha, alpha_t = float(reg["alpha_annual"]), float(reg["alpha_t"])
            row.update(
                {
                    "beta_bbb": beta,
                    "beta_t": beta_t,
                    "beta_hy": float(reg["beta_credit_hy"]),
                    "alpha_annual": alpha,
                    "alpha_t": alpha_t,
                    "alpha_p": float(reg["alpha_p"]),
                    "alpha_p_holm": float(reg["alpha_p_holm"]),
                    "r_squared": float(reg["r_squared"]),
                }
            )
            row.update(windows)
            skill_rows.append(pd.Series(row, name=manager))
            if flagged[str(manager)]:
                beta_only.append(manager)
                findings.append(
                    Finding(
                        code="credit_beta",
                        severity="action",
                        subject=str(manager),
                        message=(
                            f"{manager}'s excess return is BBB credit beta "
                            f"({beta:.2f}, t {beta_t:.1f}) with no significant alpha "
                            f"({alpha:+.2%} a year, t {alpha_t:.1f})"
                        ),
                        metrics={"beta_bbb": beta, "alpha_annual": alpha, "alpha_t": alpha_t},
                    )
                )
            elif float(reg["alpha_p_holm"]) < ALPHA_LEVEL and alpha > 0:
                skilled.append(manager)
                findings.append(
                    Finding(
                        code="credit_alpha",
                        severity="info",
                        subject=str(manager),
                        message=(
                            f"{manager} shows selection skill: alpha {alpha:+.2%} a "
                            f"year (t {alpha_t:.1f}, significant after correcting for "
                            f"{n_managers} managers)"
                        ),
                        metrics={
                            "alpha_annual": alpha,
                            "alpha_t": alpha_t,
                            "n_managers": float(n_managers),
                        },
                    )
                )
    skill_table = pd.DataFrame(skill_rows)

    verdicts, details = style_drift(ctx)
    credit_columns = ("credit_notch", "high_yield_share")
    moved = drifted_characteristics(verdicts, details, credit_columns)
    for drifter, rows in moved.groupby(level=0, sort=False):
        findings.append(
            Finding(
                code="rating_drift",
                severity="watch",
                subject=str(drifter),
                message=f"{drifter} drifted in credit: "
                + "; ".join(describe_drift(row) for _, row in rows.iterrows()),
                metrics=drift_metrics(rows),
            )
        )

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
                    rationale="significant selection alpha after correcting for multiple testing",
                )
            )
    recs, limits = within_mandate(ctx, recs)
    return DeskResult(
        desk="credit",
        tables={
            "rating": by_rating,
            "sector": exposure(sec["sector"]),
            "manager": spread_by_manager,
            "duration_bucket": exposure(_bucket(sec["spread_duration"])),
            "spread_contribution": contribution.groupby(letter).sum().to_frame("spread_dv"),
            "manager_skill": skill_table,
        },
        findings=findings,
        recommendations=recs,
        summary={
            **limits,
            "average_notch": float((notch * sec["market_value"]).sum() / total),
            "spread_contribution": float(contribution.sum() / total),
            "below_investment_grade_share": float(
                by_rating.loc[by_rating.index.isin(HIGH_YIELD_LETTERS), "share"].sum()
            ),
        },
    )


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
