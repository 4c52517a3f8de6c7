"""Curve desk: curve shape, relative value and each manager's level/slope/curvature exposure."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from fialloc.analytics.breakevens import breakeven_exposure, breakeven_zscores
from fialloc.analytics.context import DeskContext
from fialloc.analytics.curve_shape import curve_pca, fit_nss, spread_zscores
from fialloc.analytics.regression import factor_regression
from fialloc.curve_set import currency_krd_column
from fialloc.desks.result import DeskResult, Finding, Recommendation

__all__ = ["BREAKEVEN_STRESS_BP", "RV_THRESHOLD", "analyze"]

RV_THRESHOLD = 1.0


def analyze(
    ctx: DeskContext,
    view: Literal["steepener", "flattener", "neutral"] = "neutral",
    conviction: float = 0.5,
) -> DeskResult:
    """Run the curve desk.

    Tables: ``nss`` (Nelson-Siegel-Svensson fit of today's zero curve), ``pca`` (loadings and
    explained variance of monthly curve changes), ``relative_value`` (2s5s, 5s10s, 10s30s,
    5s30s against history), ``manager_exposure`` (each sleeve's level, slope and curvature
    duration: its key-rate durations projected on the components, years), ``curve_skill``
    (each sleeve's excess return regressed on the monthly level, slope and curvature moves),
    and with other currencies held ``currencies`` (each currency's curve shape and the
    portfolio's level, slope and curvature durations on it). With inflation-linked bonds:
    ``breakevens`` (each index's breakeven by tenor against its history as z-scores,
    :func:`~fialloc.analytics.breakevens.breakeven_zscores`), ``linkers`` (index ratio, real
    yield, breakeven over the matched nominal yield, inflation and real durations of each
    linker held) and ``inflation_exposure`` (each sleeve's linker share, inflation duration
    and value change for breakevens +/-50 bp, nominal rates held).
    Findings: curve spreads and breakevens beyond ``RV_THRESHOLD`` standard deviations
    (informational). With a curve ``view`` and ``conviction`` in [0, 1], recommends shifting
    toward the managers whose slope exposure profits from it, up to the mandate's maximum
    shift times the conviction.
    """
    if not 0.0 <= conviction <= 1.0:
        msg = f"curve desk: `conviction` must be in [0, 1], got {conviction}"
        raise ValueError(msg)
    p = ctx.portfolio
    tenors = np.asarray(p.analytics.key_tenors)
    nss = fit_nss(tenors, np.asarray(p.curve.zero_rate(tenors)))
    history = p.zero_history_at([float(t) for t in tenors])
    tables: dict[str, pd.DataFrame] = {
        "nss": pd.DataFrame(
            {
                "tenor": tenors,
                "zero_rate": p.curve.zero_rate(tenors),
                "fitted": nss.zero_rates(tenors),
            }
        ).set_index("tenor"),
    }
    findings: list[Finding] = []
    recs: list[Recommendation] = []
    summary = {"nss_rmse_bp": nss.rmse_bp, "nss_tau1": nss.tau1, "nss_tau2": nss.tau2}
    if len(history) >= 4:
        pca = curve_pca(history)
        loadings = pca.loadings.reindex(tenors)
        exposure = ctx.managers[ctx.key_columns].to_numpy() @ loadings.to_numpy()
        tables["pca"] = pca.loadings.assign(
            **{f"explained_{k}": v for k, v in pca.explained.items()}
        )
        tables["manager_exposure"] = pd.DataFrame(
            exposure, index=ctx.managers.index, columns=loadings.columns
        )
        rv = spread_zscores(p.zero_history)  # the quoted tenors: 2s10s, 5s30s, ...
        tables["relative_value"] = rv
        findings += _rv_findings(rv, len(history))
        summary.update({f"explained_{k}": float(v) for k, v in pca.explained.items()})
        skill = _curve_skill(ctx, pca.scores)
        if not skill.empty:
            tables["curve_skill"] = skill
        if view != "neutral":
            size = p.mandate.max_shift * conviction
            recs = _view_recommendations(tables["manager_exposure"]["slope"], view, size)
    if len(ctx.fx_columns):
        tables["currencies"] = _by_currency(ctx)
    if p.linker_book is not None:
        _linker_value(ctx, tables, findings, summary)
    return DeskResult(
        desk="curve", tables=tables, findings=findings, recommendations=recs, summary=summary
    )


def _rv_findings(rv: pd.DataFrame, months: int) -> list[Finding]:
    """Flag each curve spread beyond ``RV_THRESHOLD`` standard deviations of its history."""
    return [
        Finding(
            code="curve_relative_value",
            severity="info",
            subject=str(pair),
            message=(
                f"{pair} at {row['current_bp']:.0f} bp is {row['zscore']:+.1f} standard "
                f"deviations from its {months}-month mean of {row['mean_bp']:.0f} bp"
            ),
            metrics={
                "zscore": float(row["zscore"]),
                "current_bp": float(row["current_bp"]),
            },
        )
        for pair, row in rv[rv["zscore"].abs() > RV_THRESHOLD].iterrows()
    ]


def _view_recommendations(slope: pd.Series, view: str, size: float) -> list[Recommendation]:
    """Shift `size` (weight) toward the two sleeves whose slope duration suits the view."""
    # A steepener profits when long rates rise against short ones: less slope duration.
    sign = -1.0 if view == "steepener" else 1.0
    ranked = (sign * slope).sort_values(ascending=False)
    recs = [
        Recommendation(
            action="increase",
            subject=str(manager),
            weight_change=size / 2,
            rationale=f"slope exposure suits a {view} view",
        )
        for manager in ranked.index[:2]
    ]
    recs += [
        Recommendation(
            action="decrease",
            subject=str(manager),
            weight_change=-size / 2,
            rationale=f"slope exposure works against a {view} view",
        )
        for manager in ranked.index[-2:]
    ]
    return recs


#: Breakeven move of the inflation stress the desk reports (basis points, up and down).
BREAKEVEN_STRESS_BP = 50.0


def _linker_value(
    ctx: DeskContext,
    tables: dict[str, pd.DataFrame],
    findings: list[Finding],
    summary: dict[str, float],
) -> None:
    """Nominal against linker relative value: breakevens versus history, inflation exposure."""
    p = ctx.portfolio
    linkers = p.linker_analytics
    assert linkers is not None
    tables["linkers"] = linkers[
        [
            "index",
            "index_ratio",
            "real_clean_price",
            "real_yield",
            "nominal_yield",
            "breakeven",
            "real_duration",
            "inflation_duration",
            "market_value",
        ]
    ]
    exposure = breakeven_exposure(p, BREAKEVEN_STRESS_BP)
    tables["inflation_exposure"] = exposure
    total = float(exposure["linker_value"].sum())
    summary.update(
        {
            "linker_value": total,
            "linker_inflation_duration": float(
                linkers["inflation_duration"].to_numpy() @ linkers["market_value"].to_numpy()
            )
            / total,
            "breakevens_up_50_value": float(exposure["value_up"].sum()),
            "breakevens_down_50_value": float(exposure["value_down"].sum()),
        }
    )
    zscores = breakeven_zscores(p)
    if zscores.empty:
        return
    tables["breakevens"] = zscores
    flagged = zscores[zscores["zscore"].abs() > RV_THRESHOLD].reset_index()
    for _, row in flagged.iterrows():
        index, tenor = str(row["index"]), float(row["tenor"])
        cheap = "cheap" if row["zscore"] < 0 else "rich"
        findings.append(
            Finding(
                code="breakeven_relative_value",
                severity="info",
                subject=f"{index} {tenor:g}y",
                message=(
                    f"{index} {tenor:g}y breakeven at {row['current_bp']:.0f} bp is "
                    f"{row['zscore']:+.1f} standard deviations from its {row['months']:.0f}-month "
                    f"mean of {row['mean_bp']:.0f} bp: linkers look {cheap} against nominal bonds"
                ),
                metrics={
                    "zscore": float(row["zscore"]),
                    "current_bp": float(row["current_bp"]),
                    "mean_bp": float(row["mean_bp"]),
                },
            )
        )


def _by_currency(ctx: DeskContext) -> pd.DataFrame:
    """Each currency's government curve shape and the assets' level, slope and curvature on it.

    Per currency: the level (10-year zero rate), slope (10-year less 2-year) and curvature
    (twice the 5-year less the 2- and 10-year) of its zero curve (continuous, decimals); with
    4 months or more of its history, the portfolio's level, slope and curvature durations on
    its curve (years per unit of total assets: its bonds' key-rate durations weighted by
    value, projected on the components of its own monthly curve moves).
    """
    p = ctx.portfolio
    tenors = [float(t) for t in p.analytics.key_tenors]
    base = p.mandate.base_currency
    assets = ctx.total_assets
    rows = {}
    for currency in ctx.by_currency.index:
        z2, z5, z10 = np.asarray(p.curve_set.curve(currency).zero_rate(np.array([2.0, 5.0, 10.0])))
        row = {
            "level_10y": float(z10),
            "slope_2s10s": float(z10 - z2),
            "curvature_2s5s10s": float(2.0 * z5 - z2 - z10),
        }
        history = p.currency_zero_history(currency, tenors)
        if len(history.dropna()) >= 4:
            loadings = curve_pca(history.dropna()).loadings.reindex(tenors)
            keys = [currency_krd_column(currency, t, base) for t in tenors]
            krd = (ctx.managers[keys].mul(ctx.managers["market_value"], axis=0)).sum() / assets
            for name, value in zip(
                loadings.columns, krd.to_numpy() @ loadings.to_numpy(), strict=True
            ):
                row[f"{name}_duration"] = float(value)
        rows[currency] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("currency")


def _curve_skill(ctx: DeskContext, scores: pd.DataFrame) -> pd.DataFrame:
    """Regress each sleeve's excess return on the month's level, slope and curvature moves.

    A manager who times the curve earns alpha beyond its static exposures; the loadings show
    which moves its excess return actually followed (negative: it gains when that factor falls).
    """
    excess = ctx.excess_returns
    common = excess.index.intersection(scores.index)
    if len(common) < 12:
        return pd.DataFrame()
    factors = scores.loc[common]
    rows = {}
    for manager in excess.columns:
        reg = factor_regression(excess.loc[common, manager], factors)
        rows[manager] = {
            **{f"beta_{k}": float(v) for k, v in reg.betas.items()},
            **{f"t_{k}": float(v) for k, v in reg.beta_t.items()},
            "alpha_annual": reg.alpha_annual,
            "alpha_t": reg.alpha_t,
            "r_squared": reg.r_squared,
        }
    return pd.DataFrame.from_dict(rows, orient="index")
