"""Manager skill: track-record statistics, their significance, and whether skill persists.

Every statistic here works on monthly *active* returns in decimals (0.0012 is 12 bp a month):
usually a manager's selection return, its excess return over the benchmark less what its
loadings on duration and credit factors explain (see :func:`selection_returns`), so credit or
duration beta never counts as skill.

Definitions
    Information ratio (annual) ``IR = 12 mean / (sqrt(12) sd) = sqrt(12) mean / sd``;
    t-statistic ``t = IR * sqrt(years) = sqrt(n) mean / sd`` with ``n - 1`` degrees of freedom;
    hit rate: share of months above zero, with an exact two-sided binomial test against 50%;
    win/loss ratio: mean gain in winning months over mean loss in losing months.
Multiple testing
    With 25 managers tested at once, p-values are adjusted by Holm's step-down method, which
    controls the chance of any false positive (family-wise error) at the 5% level, or turned
    into Benjamini-Hochberg q-values, which control the expected share of false positives among
    those flagged (the false discovery rate): the skill verdict
    (:mod:`fialloc.analytics.evidence`) uses the latter, Holm is reported beside it.
Persistence
    Winners (above the cross-sectional median in a period) and losers are followed into the
    next period; the 2x2 table ``[[WW, WL], [LW, LL]]`` gets Pearson's chi-squared test without
    continuity correction (1 degree of freedom), as in the published example 234/268/269/269
    (chi-squared 1.193, p 0.275).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from fialloc.analytics.regression import factor_regression, factor_regressions

__all__ = [
    "CONFIDENCE",
    "PERCENT_HINT",
    "TOTAL_PERCENT_HINT",
    "WINDOWS",
    "alpha_persistence",
    "benjamini_hochberg",
    "bootstrap_information_ratio",
    "check_return_history",
    "factor_loadings",
    "holm",
    "period_alphas",
    "persistence_table",
    "persistence_test",
    "rolling_information_ratio",
    "selection_returns",
    "skill_table",
    "track_record",
]

#: Trailing windows (months) the track record is measured over.
WINDOWS = (12, 36, 60)
#: Confidence level of every significance statement.
CONFIDENCE = 0.95
#: A median absolute monthly excess return above this (2%) means the data are in percent.
PERCENT_HINT = 0.02
#: A median absolute monthly total return above this (5%) means the data are in percent.
TOTAL_PERCENT_HINT = 0.05


def check_return_history(returns: pd.DataFrame, benchmark: pd.DataFrame) -> pd.DataFrame:
    """Validate monthly sleeve and benchmark returns and return the excess returns.

    Parameters
    ----------
    returns, benchmark : DataFrame
        Monthly total returns (decimals), months (sorted dates) by manager.

    Returns
    -------
    DataFrame
        ``returns - benchmark``, months by manager (decimals).

    Raises
    ------
    ValueError
        If a manager has no benchmark, a month is missing from the history (calendar gap or a
        missing value between a manager's first and last month), or the returns look like
        percentages (0.5 meaning 0.5%) rather than decimals.
    """
    if returns.empty:
        msg = "manager returns: no monthly returns given"
        raise ValueError(msg)
    missing = [str(m) for m in returns.columns if m not in benchmark.columns]
    if missing:
        msg = f"manager returns: no benchmark returns for manager(s) {missing}"
        raise ValueError(msg)
    benchmark = benchmark[returns.columns].reindex(returns.index)
    months = pd.to_datetime(pd.Index(returns.index))
    if months.has_duplicates or not months.is_monotonic_increasing:
        msg = "manager returns: months must be unique and sorted"
        raise ValueError(msg)
    steps = months.year * 12 + months.month
    jumps = np.flatnonzero(np.diff(steps) != 1)
    if len(jumps):
        k = int(jumps[0])
        msg = (
            f"manager returns: gap in the monthly history between {returns.index[k]} and "
            f"{returns.index[k + 1]}; give every month"
        )
        raise ValueError(msg)
    for manager in returns.columns:
        _check_manager_history(returns, benchmark, manager)
    excess = returns - benchmark
    # A bond sleeve's typical month moves well under 5% (total) and 2% (against its benchmark);
    # data in percent are 100 times larger. Totals catch a near-index manager whose excess
    # return is small even in percent.
    for what, frame, hint in (
        ("total returns", returns, TOTAL_PERCENT_HINT),
        ("benchmark returns", benchmark, TOTAL_PERCENT_HINT),
        ("excess returns", excess, PERCENT_HINT),
    ):
        typical = frame.abs().median()
        big = typical[typical > hint]
        if len(big):
            msg = (
                f"manager returns: {what} of {list(map(str, big.index))} look like "
                f"percentages (median |return| {float(big.iloc[0]):.3g} a month); give "
                "decimals, e.g. 0.005 for 0.5%"
            )
            raise ValueError(msg)
    return excess


def _check_manager_history(returns: pd.DataFrame, benchmark: pd.DataFrame, manager: Any) -> None:
    """Refuse a manager without returns, with a hole in its history or a missing benchmark."""
    have = returns[manager].notna().to_numpy()
    if not have.any():
        msg = f"manager returns: manager {manager} has no returns"
        raise ValueError(msg)
    first, last = np.flatnonzero(have)[[0, -1]]
    holes = np.flatnonzero(~have[first : last + 1])
    if len(holes):
        msg = (
            f"manager returns: manager {manager} has no return for "
            f"{returns.index[first + holes[0]]} (gap in its history)"
        )
        raise ValueError(msg)
    bench_have = benchmark[manager].notna().to_numpy()
    lacking = np.flatnonzero(have & ~bench_have)
    if len(lacking):
        msg = (
            f"manager returns: benchmark return missing for manager {manager} in "
            f"{returns.index[lacking[0]]}"
        )
        raise ValueError(msg)


def track_record(active: pd.Series | np.ndarray) -> dict[str, float]:
    """Information ratio, t-statistic, hit rate and win/loss ratio of monthly active returns.

    Parameters
    ----------
    active : Series or array
        Monthly active returns (decimals), no missing values, at least 3 months.

    Returns
    -------
    dict
        ``months``; ``mean_annual`` (12 x mean, decimal); ``tracking_error`` (sqrt(12) x
        standard deviation, decimal); ``information_ratio`` (annual); ``t_stat``
        (IR x sqrt(years)); ``p_value`` (two-sided, Student t with months - 1 degrees of
        freedom); ``hits`` and ``hit_rate`` (months above zero); ``hit_p_value`` (exact
        two-sided binomial test against 50%); ``win_loss`` (mean gain over mean loss, NaN
        without both).

    Raises
    ------
    ValueError
        If there are fewer than 3 months or missing values.
    """
    x = np.asarray(active, dtype=np.float64)
    n = len(x)
    if n < 3 or not np.all(np.isfinite(x)):
        msg = f"track_record: need at least 3 finite monthly returns, got {n} with gaps or NaN"
        raise ValueError(msg)
    return {key: float(v[0]) for key, v in _track_records(x[:, None]).items()}


def _track_records(x: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`track_record` of every column of `x` (months by series, finite), at once."""
    n = x.shape[0]
    mean = x.mean(axis=0)
    sd = x.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ir = np.where(sd > 0, np.sqrt(12.0) * mean / sd, 0.0)
    t = ir * np.sqrt(n / 12.0)
    up, down = x > 0, x < 0
    hits = up.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(up, x, 0.0).sum(axis=0) / hits
        loss = -np.where(down, x, 0.0).sum(axis=0) / down.sum(axis=0)
        win_loss = np.where((hits > 0) & (down.sum(axis=0) > 0), gain / loss, np.nan)
    return {
        "months": np.full(x.shape[1], float(n)),
        "mean_annual": 12.0 * mean,
        "tracking_error": np.sqrt(12.0) * sd,
        "information_ratio": ir,
        "t_stat": t,
        "p_value": 2.0 * stats.t.sf(np.abs(t), n - 1),
        "hits": hits.astype(np.float64),
        "hit_rate": hits / n,
        "hit_p_value": _binomial_even_odds_p(n)[hits],
        "win_loss": win_loss,
    }


def _binomial_even_odds_p(n: int) -> np.ndarray:
    """Exact two-sided binomial p-values against 1/2 for 0..n hits in n (scipy's binomtest rule).

    The outcomes no likelier than the one observed are summed; computed from the pmf directly
    because ``scipy.stats.binomtest`` costs milliseconds a call.
    """
    pmf = stats.binom.pmf(np.arange(n + 1), n, 0.5)
    tail = np.array([pmf[pmf <= p * (1.0 + 1e-7)].sum() for p in pmf])
    return np.asarray(np.minimum(1.0, tail), dtype=np.float64)


def holm(p_values: pd.Series) -> pd.Series:
    """Holm step-down adjusted p-values (family-wise error control), same index.

    The i-th smallest p-value (1-based) is multiplied by ``m - i + 1`` and made
    non-decreasing; a hypothesis is rejected at level a when its adjusted p-value is below a.
    """
    p = p_values.to_numpy(dtype=np.float64)
    if not np.all((p >= 0) & (p <= 1)):
        msg = "holm: p-values must lie in [0, 1]"
        raise ValueError(msg)
    order = np.argsort(p)
    m = len(p)
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return pd.Series(adjusted, index=p_values.index)


def benjamini_hochberg(p_values: pd.Series) -> pd.Series:
    """Benjamini-Hochberg q-values (false discovery rate control), same index.

    The i-th smallest of m p-values (1-based) is scaled by ``m / i``; the q-value is the
    smallest such value at or above its rank (capped at 1). Flagging every hypothesis with
    q <= a keeps the expected share of false flags among the flags at or below a, for
    independent or positively dependent tests.
    """
    p = p_values.to_numpy(dtype=np.float64)
    if not np.all((p >= 0) & (p <= 1)):
        msg = "benjamini_hochberg: p-values must lie in [0, 1]"
        raise ValueError(msg)
    m = len(p)
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    q = np.empty(m)
    q[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return pd.Series(q, index=p_values.index)


def selection_returns(
    excess: pd.DataFrame, factors: pd.DataFrame, loadings: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Excess returns less what each manager's factor loadings explain (alpha + residual).

    Parameters
    ----------
    excess : DataFrame
        Monthly excess returns over the benchmark (decimals), months by manager.
    factors : DataFrame
        Monthly factor returns (decimals), months by factor, on the same months (or a superset).
    loadings : DataFrame, optional
        :func:`factor_loadings` of the same data, if already computed.

    Returns
    -------
    DataFrame
        Months (those of `factors` present in `excess`) by manager: the intercept plus the
        residual of a full-history regression of each manager's excess return on the factors.
    """
    months = factors.index.intersection(excess.index)
    if loadings is None:
        loadings = factor_loadings(excess.loc[months], factors.loc[months])
    betas = loadings[[f"beta_{f}" for f in factors.columns]].loc[[str(m) for m in excess.columns]]
    explained = factors.loc[months].to_numpy() @ betas.to_numpy(dtype=np.float64).T
    out: pd.DataFrame = excess.loc[months] - explained
    return out


def factor_loadings(excess: pd.DataFrame, factors: pd.DataFrame) -> pd.DataFrame:
    """Full-history regression of each manager's excess return on factor returns.

    Parameters
    ----------
    excess : DataFrame
        Monthly excess returns (decimals), months by manager, on the months of `factors`.
    factors : DataFrame
        Monthly factor returns (decimals), months by factor.

    Returns
    -------
    DataFrame
        Per manager: ``alpha_annual`` (decimal a year), ``alpha_t``, ``alpha_p`` and
        ``alpha_p_holm`` (Holm-adjusted over the managers), ``r_squared``,
        ``residual_vol_annual`` (decimal), and per factor ``beta_<factor>`` and ``t_<factor>``;
        NaN for managers whose regression cannot be estimated (too few months, collinear
        factors over their months).
    """
    # Managers with the same months of history are regressed together.
    valid = excess.notna()
    groups: dict[bytes, list[str]] = {}
    for manager in excess.columns:
        groups.setdefault(valid[manager].to_numpy().tobytes(), []).append(manager)
    keep = ["alpha_annual", "alpha_t", "alpha_p", "r_squared", "residual_vol_annual"]
    keep += [c for f in factors.columns for c in (f"beta_{f}", f"t_{f}")]
    parts = [pd.DataFrame(columns=keep, dtype=float)]
    for members in groups.values():
        months = excess.index[valid[members[0]].to_numpy()]
        try:
            parts.append(factor_regressions(excess.loc[months, members], factors.loc[months]))
        except ValueError:
            continue  # too short or collinear: NaN rows (the evidence table gives the reason)
    fitted = pd.concat([p for p in parts if not p.empty] or parts).reindex(excess.columns)
    fitted.index = fitted.index.map(str)
    table = fitted[keep].astype(float)
    found = table["alpha_p"].dropna()
    table.insert(3, "alpha_p_holm", holm(found).reindex(table.index))
    return table


def skill_table(active: pd.DataFrame, windows: tuple[int, ...] = WINDOWS) -> pd.DataFrame:
    """Track record of every manager over each trailing window, with corrected significance.

    Parameters
    ----------
    active : DataFrame
        Monthly active (selection) returns, months by manager (decimals).
    windows : tuple of int
        Trailing window lengths (months). A window longer than a manager's history is
        measured once over the whole history (the smallest such window; ``months`` says how
        many were used), longer ones are skipped.

    Returns
    -------
    DataFrame
        Indexed by (manager, window): the :func:`track_record` columns plus ``p_holm`` (Holm
        adjusted across the managers in that window) and ``significant`` (adjusted p below
        1 - :data:`CONFIDENCE`).
    """
    if not windows or min(windows) < 3:
        msg = f"skill_table: windows must be at least 3 months, got {windows}"
        raise ValueError(msg)
    # (manager, window) pairs measured over the same number of months are computed together.
    by_length: dict[int, list[tuple[tuple[str, int], np.ndarray]]] = {}
    for manager in active.columns:
        series = active[manager].dropna().to_numpy(dtype=np.float64)
        for k in sorted(windows):
            used = min(k, len(series))
            by_length.setdefault(used, []).append(((str(manager), k), series[-used:]))
            if len(series) <= k:
                break
    rows = {}
    for used, members in by_length.items():
        if used < 3:
            msg = f"skill_table: manager {members[0][0][0]} has only {used} months of returns"
            raise ValueError(msg)
        stats_ = _track_records(np.column_stack([x for _, x in members]))
        for j, (key, _) in enumerate(members):
            rows[key] = {name: float(v[j]) for name, v in stats_.items()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["manager_id", "window"])
    table["p_holm"] = table.groupby(level="window")["p_value"].transform(holm)
    table["significant"] = table["p_holm"] < 1.0 - CONFIDENCE
    return table


def rolling_information_ratio(active: pd.DataFrame, window: int = 12) -> pd.DataFrame:
    """Annual information ratio over the trailing `window` months, month by month.

    Returns
    -------
    DataFrame
        Months by manager (``sqrt(12) x mean / standard deviation`` of each window; NaN until
        a manager has `window` months).
    """
    if window < 3:
        msg = f"rolling_information_ratio: window must be at least 3 months, got {window}"
        raise ValueError(msg)
    roll = active.rolling(window, min_periods=window)
    sd = roll.std(ddof=1)
    out: pd.DataFrame = np.sqrt(12.0) * roll.mean() / sd.where(sd > 0)
    return out


def bootstrap_information_ratio(
    active: pd.DataFrame, draws: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """Bootstrap (months resampled with replacement, seeded) of each manager's annual IR.

    Returns
    -------
    DataFrame
        Per manager: ``ir`` (sample), ``ir_low`` and ``ir_high`` (the central
        :data:`CONFIDENCE` interval of the resampled IRs) and ``share_not_positive`` (share of
        resampled IRs at or below zero: a one-sided bootstrap p-value).
    """
    if draws < 100:
        msg = f"bootstrap_information_ratio: need at least 100 draws, got {draws}"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    tail = (1.0 - CONFIDENCE) / 2.0
    rows = {}
    # Whole months are resampled, the same months for every manager with the same history,
    # so the draws keep the managers' co-movement and cost one index draw.
    histories = {str(m): active[m].dropna().to_numpy(dtype=np.float64) for m in active.columns}
    by_length: dict[int, list[str]] = {}
    for manager, x in histories.items():
        by_length.setdefault(len(x), []).append(manager)
    for n, members in by_length.items():
        x = np.column_stack([histories[m] for m in members])  # months by manager
        sample = x[rng.integers(0, n, size=(draws, n))]  # draws x months x managers
        sd = sample.std(axis=1, ddof=1)
        irs = np.sqrt(12.0) * sample.mean(axis=1) / np.where(sd > 0, sd, np.inf)
        low, high = np.quantile(irs, [tail, 1.0 - tail], axis=0)
        ir = _track_records(x)["information_ratio"]
        for j, manager in enumerate(members):
            rows[manager] = {
                "ir": float(ir[j]),
                "ir_low": float(low[j]),
                "ir_high": float(high[j]),
                "share_not_positive": float((irs[:, j] <= 0).mean()),
            }
    return pd.DataFrame.from_dict(rows, orient="index")


def period_alphas(active: pd.DataFrame, period: int = 12) -> pd.DataFrame:
    """Annualized mean active return per non-overlapping period, ending at the latest month.

    Returns
    -------
    DataFrame
        Periods (labelled by their last month, oldest first) by manager (decimals a year).
    """
    n = len(active) // period
    if n < 2:
        msg = f"period_alphas: need at least two {period}-month periods, got {len(active)} months"
        raise ValueError(msg)
    recent = active.iloc[len(active) - n * period :]
    labels = np.repeat(np.arange(n), period)
    means = recent.groupby(labels).mean() * 12.0
    means.index = pd.Index([recent.index[(k + 1) * period - 1] for k in range(n)], name="period")
    return means


def persistence_table(alphas: pd.DataFrame) -> dict[str, int]:
    """Count winners and losers that repeat, over consecutive periods.

    A winner beats the period's cross-sectional median; each manager present in two
    consecutive periods adds one pair.

    Returns
    -------
    dict
        ``WW``, ``WL``, ``LW``, ``LL`` counts (first letter: this period, second: next).
    """
    counts = {"WW": 0, "WL": 0, "LW": 0, "LL": 0}
    win = alphas.gt(alphas.median(axis=1), axis=0).where(alphas.notna())
    for k in range(len(win) - 1):
        both = win.iloc[[k, k + 1]].dropna(axis=1)
        for now, nxt in zip(both.iloc[0], both.iloc[1], strict=True):
            counts[("W" if now else "L") + ("W" if nxt else "L")] += 1
    return counts


def persistence_test(ww: int, wl: int, lw: int, ll: int) -> dict[str, float]:
    """Chi-squared test of a winner/loser contingency table, and the cross-product ratio.

    Parameters
    ----------
    ww, wl, lw, ll : int
        Winners that win again, winners that lose, losers that win, losers that lose again.

    Returns
    -------
    dict
        ``chi2`` (Pearson, no continuity correction, 1 degree of freedom) and its ``p_value``;
        ``cross_product_ratio`` ``(WW LL) / (WL LW)`` (1 means no persistence) with the
        ``z`` of its logarithm; ``repeat_winner_share`` ``WW / (WW + WL)``.

    Raises
    ------
    ValueError
        If a count is negative or a row or column of the table is empty.
    """
    table = np.array([[ww, wl], [lw, ll]], dtype=np.float64)
    if (table < 0).any() or (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        msg = f"persistence_test: counts must be >= 0 with no empty row or column, got {table}"
        raise ValueError(msg)
    res = stats.chi2_contingency(table, correction=False)
    with np.errstate(divide="ignore"):
        cpr = float(ww * ll / (wl * lw)) if wl * lw > 0 else float("inf")
        z = float(np.log(cpr) / np.sqrt((1.0 / table).sum())) if (table > 0).all() else float("nan")
    return {
        "chi2": float(res.statistic),
        "p_value": float(res.pvalue),
        "cross_product_ratio": cpr,
        "z": z,
        "repeat_winner_share": ww / (ww + wl) if ww + wl else float("nan"),
    }


def alpha_persistence(alphas: pd.DataFrame) -> dict[str, float]:
    """Regress next period's alpha on this period's, pooled over managers and periods.

    Returns
    -------
    dict
        ``slope`` with its ``slope_t`` and ``slope_p`` (two-sided), ``intercept`` (decimal a
        year) and ``pairs``.
    """
    now: list[float] = []
    nxt: list[float] = []
    for k in range(len(alphas) - 1):
        both = alphas.iloc[[k, k + 1]].dropna(axis=1)
        now.extend(both.iloc[0])
        nxt.extend(both.iloc[1])
    idx = pd.RangeIndex(len(now))
    reg = factor_regression(pd.Series(nxt, index=idx), pd.DataFrame({"alpha": now}, index=idx))
    return {
        "slope": float(reg.betas["alpha"]),
        "slope_t": float(reg.beta_t["alpha"]),
        "slope_p": float(reg.beta_p["alpha"]),
        "intercept": reg.alpha,
        "pairs": float(len(now)),
    }
