"""Style drift, from holdings and from returns.

Holdings-based: monthly characteristics against the manager's own history and its stated
style. Returns-based: rolling style regressions and the month the loadings broke.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from fialloc.desks.context import DeskContext, persistent_drift
from fialloc.desks.regression import factor_regression

__all__ = [
    "BASELINE_MONTHS",
    "CHARACTERISTICS",
    "DRIFT_THRESHOLD",
    "holdings_drift",
    "return_factors",
    "rolling_betas",
    "style_break",
    "style_position",
]

#: Drift means the latest months score beyond this many standard deviations.
DRIFT_THRESHOLD = 1.5
#: Months at the start of the history that define a manager's own normal.
BASELINE_MONTHS = 36
#: Monthly characteristic -> (label, floor on its baseline standard deviation, unit). The floor
#: keeps a very steady manager from being flagged for noise: a tenth of a year of duration, a
#: quarter notch of rating, two points of high yield share.
CHARACTERISTICS = {
    "duration": ("duration", 0.1, "years"),
    "credit_notch": ("credit quality", 0.25, "notches"),
    "high_yield_share": ("high yield share", 0.02, "share"),
}
#: Spread durations (years) that turn monthly spread moves into credit factor returns.
FACTOR_SPREAD_DURATION = {"BBB": 6.0, "BB": 4.0}


def holdings_drift(
    ctx: DeskContext,
    threshold: float = DRIFT_THRESHOLD,
    baseline: int = BASELINE_MONTHS,
    run: int = 6,
) -> pd.DataFrame:
    """Find managers whose monthly characteristics left their own history; score vs style too.

    Each characteristic of :data:`CHARACTERISTICS` is scored against the manager's first
    `baseline` months (see :func:`fialloc.desks.context.persistent_drift`): a drift is the last
    `run` months all beyond `threshold` standard deviations. The same latest value is also
    scored against the stated style: the baseline of every manager with the same ``style``
    (mean of their baseline means, deviation pooling within- and across-manager spread).

    Returns
    -------
    DataFrame
        One row per (manager, characteristic) that drifted: ``style``, ``start`` (first month
        of the drift), ``zscore`` (own history), ``style_zscore``, ``baseline_mean``,
        ``style_mean``, ``latest``, ``change`` and ``unit``.
    """
    if threshold <= 0 or baseline < 3 or run < 1:
        msg = (
            "holdings_drift: need threshold > 0, baseline >= 3, run >= 1; "
            f"got {threshold}, {baseline}, {run}"
        )
        raise ValueError(msg)
    styles = ctx.portfolio.managers["style"].astype(str)
    rows = []
    for column, (label, floor, unit) in CHARACTERISTICS.items():
        history = ctx.characteristic_history(column)
        found = persistent_drift(history, baseline, threshold, floor, run)
        if found.empty:
            continue
        base = history.iloc[:baseline]
        means, sds = base.mean(), base.std(ddof=1)
        for manager, hit in found.iterrows():
            style = styles.get(manager, "")
            peers = [m for m in history.columns if styles.get(m) == style]
            style_mean = float(means[peers].mean())
            spread = float(np.sqrt((sds[peers] ** 2).mean() + means[peers].var(ddof=0)))
            rows.append(
                {
                    "manager_id": str(manager),
                    "characteristic": label,
                    "style": style,
                    "start": hit["start"],
                    "zscore": float(hit["zscore"]),
                    "style_zscore": (float(hit["latest"]) - style_mean) / max(spread, floor),
                    "baseline_mean": float(hit["baseline_mean"]),
                    "style_mean": style_mean,
                    "latest": float(hit["latest"]),
                    "change": float(hit["latest"] - hit["baseline_mean"]),
                    "unit": unit,
                }
            )
    columns = ["manager_id", "characteristic", "style", "start", "zscore", "style_zscore",
               "baseline_mean", "style_mean", "latest", "change", "unit"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).set_index(["manager_id", "characteristic"])


def style_position(ctx: DeskContext) -> pd.DataFrame:
    """Each sleeve's holdings today against the others of its stated style.

    Compares duration, average rating notch, high yield share, the long end's share of the
    key-rate duration (20y and beyond: curve positioning) and the sector mix with the median
    of the same-style managers (a style held by one manager compares with itself).

    Returns
    -------
    DataFrame
        Per manager: ``style``, ``peers`` (other managers of the style), the characteristic,
        its style median and the difference for ``duration`` (years), ``notch``,
        ``high_yield_share`` and ``long_end_share`` (decimals), and ``sector_overweight`` (the
        largest sector share above the style's median mix, decimal) with its ``sector``.
    """
    from fialloc.data.schema import rating_notch

    p = ctx.portfolio
    sec = ctx.securities
    share = p.sleeve_weights
    letter = sec["rating"].str.rstrip("+-")
    keys = ctx.key_columns
    long_keys = [k for k, t in zip(keys, p.analytics.key_tenors, strict=True) if t >= 20]
    krd = ctx.managers[keys]
    chars = pd.DataFrame(
        {
            "duration": ctx.managers["effective_duration"],
            "notch": share @ sec["rating"].map(rating_notch).loc[share.columns].astype(float),
            "high_yield_share": share
            @ letter.isin(["BB", "B", "CCC"]).loc[share.columns].astype(float),
            "long_end_share": krd[long_keys].sum(axis=1) / krd.sum(axis=1).replace(0.0, np.nan),
        }
    )
    sectors = share.T.groupby(sec["sector"].loc[share.columns]).sum().T
    styles = ctx.managers["style"].astype(str)
    out = {}
    for manager in chars.index:
        peers = styles.index[styles == styles[manager]]
        median = chars.loc[peers].median()
        row: dict[str, object] = {"style": styles[manager], "peers": float(len(peers) - 1)}
        for col in chars.columns:
            value = float(chars[col][manager])
            row[col] = value
            row[f"{col}_style"] = float(median[col])
            row[f"{col}_vs_style"] = value - float(median[col])
        over = sectors.loc[manager] - sectors.loc[peers].median()
        row["sector"] = str(over.idxmax())
        row["sector_overweight"] = float(over.max())
        out[manager] = row
    return pd.DataFrame.from_dict(out, orient="index")


def return_factors(ctx: DeskContext) -> pd.DataFrame:
    """Monthly factor returns for style regressions (decimals), months by factor.

    ``duration``: the return of one year of duration to the 10-year zero rate's move
    (``-change``); ``credit_bbb`` and ``credit_hy``: BBB and BB credit excess returns
    (carry minus spread duration times the spread move; :meth:`DeskContext.credit_factor`).
    """
    zeros = ctx.portfolio.zero_history
    if 10.0 not in zeros.columns or not {"BBB", "BB"} <= set(ctx.portfolio.spread_history):
        msg = "return_factors: market history needs the 10y zero rate and BBB and BB spreads"
        raise ValueError(msg)
    duration = -zeros[10.0].astype(float).diff().iloc[1:]
    return pd.DataFrame(
        {
            "duration": duration,
            "credit_bbb": ctx.credit_factor("BBB", FACTOR_SPREAD_DURATION["BBB"]),
            "credit_hy": ctx.credit_factor("BB", FACTOR_SPREAD_DURATION["BB"]),
        }
    ).dropna()


def rolling_betas(excess: pd.Series, factors: pd.DataFrame, window: int = 24) -> pd.DataFrame:
    """Factor loadings of a manager's excess return over a trailing window, month by month.

    Returns
    -------
    DataFrame
        Months (the window's last month) by factor: the loadings, plus ``alpha_annual``.
    """
    months = factors.index.intersection(excess.dropna().index)
    if len(months) < window:
        return pd.DataFrame(columns=[*factors.columns, "alpha_annual"])
    rows = {}
    for end in range(window, len(months) + 1):
        span = months[end - window : end]
        reg = factor_regression(excess.loc[span], factors.loc[span])
        rows[span[-1]] = {**reg.betas.to_dict(), "alpha_annual": reg.alpha_annual}
    return pd.DataFrame.from_dict(rows, orient="index")


def style_break(excess: pd.Series, factors: pd.DataFrame, min_segment: int = 6) -> dict[str, float]:
    """Find the month a manager's factor loadings changed (Chow test at the best break month).

    Every month leaving `min_segment` months on each side is tried as a break; the one whose
    regression with loadings allowed to change after it fits best is the break, tested with
    Chow's F statistic. Because the month was chosen as the best of many, the p-value is
    Bonferroni-corrected over the candidate months (conservative).

    Returns
    -------
    dict
        ``break_index`` (position of the first month under the new loadings), ``f_stat``,
        ``p_value`` (corrected), and per factor ``<factor>_before`` / ``<factor>_after``.
    """
    months = factors.index.intersection(excess.dropna().index)
    y = excess.loc[months].to_numpy(dtype=np.float64)
    x = np.column_stack([np.ones(len(months)), factors.loc[months].to_numpy(dtype=np.float64)])
    n, k = x.shape
    if n < 2 * max(min_segment, k + 1):
        msg = (
            f"style_break: {n} months is too few for {k - 1} factors and "
            f"{min_segment}-month segments"
        )
        raise ValueError(msg)

    def ssr(design: np.ndarray) -> tuple[float, np.ndarray]:
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ coef
        return float(resid @ resid), coef

    restricted, _ = ssr(x)
    candidates = range(max(min_segment, k), n - max(min_segment, k) + 1)
    best, best_ssr, best_coef = -1, np.inf, np.zeros(2 * k)
    for b in candidates:
        after = x * (np.arange(n) >= b)[:, None]
        s, coef = ssr(np.column_stack([x, after]))
        if s < best_ssr:
            best, best_ssr, best_coef = b, s, coef
    dof = n - 2 * k
    f = ((restricted - best_ssr) / k) / (best_ssr / dof) if best_ssr > 0 else np.inf
    p = min(1.0, float(stats.f.sf(f, k, dof)) * len(candidates))
    out = {"break_index": float(best), "f_stat": float(f), "p_value": p}
    for j, name in enumerate(factors.columns, start=1):
        out[f"{name}_before"] = float(best_coef[j])
        out[f"{name}_after"] = float(best_coef[j] + best_coef[k + j])
    return out
