"""Style drift, from holdings and from returns.

Holdings-based: monthly characteristics against the manager's own history and its stated
style. Returns-based: rolling style regressions and the month the loadings broke.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from fialloc.analytics.context import DeskContext, persistent_drift
from fialloc.data.vocabulary import HIGH_YIELD_LETTERS, rating_letter

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
    `baseline` months (see :func:`fialloc.analytics.context.persistent_drift`): a drift is the last
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
    p = ctx.portfolio
    sec = ctx.securities
    share = p.sleeve_weights
    letter = sec["rating"].map(rating_letter)
    keys = ctx.key_columns
    long_keys = [k for k, t in zip(keys, p.analytics.key_tenors, strict=True) if t >= 20]
    krd = ctx.managers[keys]
    chars = pd.DataFrame(
        {
            "duration": ctx.managers["effective_duration"],
            "notch": ctx.manager_notches,
            "high_yield_share": share
            @ letter.isin(HIGH_YIELD_LETTERS).loc[share.columns].astype(float),
            "long_end_share": krd[long_keys].sum(axis=1) / krd.sum(axis=1).replace(0.0, np.nan),
        }
    )
    sectors = share.T.groupby(sec["sector"].loc[share.columns]).sum().T
    styles = ctx.managers["style"].astype(str)
    style_median = chars.groupby(styles).transform("median")
    over = sectors - sectors.groupby(styles).transform("median")
    table = pd.DataFrame({"style": styles, "peers": styles.map(styles.value_counts()) - 1.0})
    for col in chars.columns:
        table[col] = chars[col]
        table[f"{col}_style"] = style_median[col]
        table[f"{col}_vs_style"] = chars[col] - style_median[col]
    table["sector"] = over.idxmax(axis=1).astype(str)
    table["sector_overweight"] = over.max(axis=1)
    return table


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

    Ordinary least squares with an intercept on each `window` months, all windows at once
    (moving sums of the normal equations).

    Returns
    -------
    DataFrame
        Months (the window's last month) by factor: the loadings, plus ``alpha_annual``
        (decimal a year); empty when the history is shorter than `window`.
    """
    months = factors.index.intersection(excess.dropna().index)
    columns = [*factors.columns, "alpha_annual"]
    if window < factors.shape[1] + 3:
        msg = f"rolling_betas: a {window}-month window is too short for {factors.shape[1]} factors"
        raise ValueError(msg)
    if len(months) < window:
        return pd.DataFrame(columns=columns)
    y = excess.loc[months].to_numpy(dtype=np.float64)
    x = np.column_stack([np.ones(len(months)), factors.loc[months].to_numpy(dtype=np.float64)])
    xx = np.cumsum(np.einsum("ti,tj->tij", x, x), axis=0)
    xy = np.cumsum(x * y[:, None], axis=0)
    xx_w = xx[window - 1 :] - np.concatenate([np.zeros((1, *xx.shape[1:])), xx[:-window]])
    xy_w = xy[window - 1 :] - np.concatenate([np.zeros((1, xy.shape[1])), xy[:-window]])
    coef = np.linalg.solve(xx_w, xy_w[..., None])[..., 0]
    table = pd.DataFrame(coef[:, 1:], index=months[window - 1 :], columns=factors.columns)
    table["alpha_annual"] = 12.0 * coef[:, 0]
    return table


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

    # Every candidate break at once from the normal equations: with the loadings free to change
    # from month b, X'X = [[A, C_b], [C_b, C_b]] and X'y = [a, c_b], where C_b and c_b sum the
    # months from b on (reverse cumulative sums).
    outer = np.einsum("ti,tj->tij", x, x)
    after_xx = np.cumsum(outer[::-1], axis=0)[::-1]
    after_xy = np.cumsum((x * y[:, None])[::-1], axis=0)[::-1]
    lo, hi = max(min_segment, k), n - max(min_segment, k)
    candidates = np.arange(lo, hi + 1)
    a_xx, a_xy = after_xx[0], after_xy[0]
    gram = np.zeros((len(candidates), 2 * k, 2 * k))
    gram[:, :k, :k] = a_xx
    gram[:, :k, k:] = after_xx[candidates]
    gram[:, k:, :k] = after_xx[candidates]
    gram[:, k:, k:] = after_xx[candidates]
    rhs = np.concatenate([np.broadcast_to(a_xy, (len(candidates), k)), after_xy[candidates]], 1)
    coefs = np.linalg.solve(gram, rhs[..., None])[..., 0]
    ssr_all = float(y @ y) - np.einsum("bi,bi->b", coefs, rhs)
    best = int(candidates[int(np.argmin(ssr_all))])
    # The chosen break's fit, and the no-break fit, by least squares for accuracy.
    full = np.column_stack([x, x * (np.arange(n) >= best)[:, None]])
    best_coef, *_ = np.linalg.lstsq(full, y, rcond=None)
    best_ssr = float(np.sum((y - full @ best_coef) ** 2))
    base_coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    restricted = float(np.sum((y - x @ base_coef) ** 2))
    dof = n - 2 * k
    f = ((restricted - best_ssr) / k) / (best_ssr / dof) if best_ssr > 0 else np.inf
    p = min(1.0, float(stats.f.sf(f, k, dof)) * len(candidates))
    out = {"break_index": float(best), "f_stat": float(f), "p_value": p}
    for j, name in enumerate(factors.columns, start=1):
        out[f"{name}_before"] = float(best_coef[j])
        out[f"{name}_after"] = float(best_coef[j] + best_coef[k + j])
    return out
