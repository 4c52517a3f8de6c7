"""Factor regressions of manager returns: alpha versus beta, with significance.

Ordinary least squares with classical standard errors; returns are monthly decimals and
alphas are reported monthly and annualized (x12).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["FactorRegression", "factor_regression", "factor_regressions"]


@dataclass(frozen=True)
class FactorRegression:
    """Result of regressing one return series on factor returns.

    Attributes
    ----------
    alpha : float
        Monthly intercept (decimal).
    alpha_annual : float
        ``12 * alpha``.
    alpha_t, alpha_p : float
        t-statistic and two-sided p-value of the intercept.
    betas, beta_t, beta_p : Series
        Factor loadings with their t-statistics and p-values.
    r_squared : float
        Share of variance explained by the factors.
    residual_vol_annual : float
        Annualized standard deviation of the residuals (decimal).
    n_obs : int
        Months used.
    """

    alpha: float
    alpha_annual: float
    alpha_t: float
    alpha_p: float
    betas: pd.Series
    beta_t: pd.Series
    beta_p: pd.Series
    r_squared: float
    residual_vol_annual: float
    n_obs: int


def factor_regression(y: pd.Series, factors: pd.DataFrame) -> FactorRegression:
    """Regress a monthly return series on factor returns with an intercept.

    Parameters
    ----------
    y : Series
        Monthly (excess) returns, decimals, indexed like `factors`.
    factors : DataFrame
        Monthly factor returns (decimals), one column per factor.

    Raises
    ------
    ValueError
        If the indexes do not align, values are missing, or there are too few months
        (at least the number of factors + 3).
    """
    if not y.index.equals(factors.index):
        msg = "factor_regression: returns and factors must share the same monthly index"
        raise ValueError(msg)
    table = factor_regressions(y.to_frame("y"), factors).iloc[0]
    names = list(factors.columns)
    return FactorRegression(
        alpha=float(table["alpha"]),
        alpha_annual=float(table["alpha_annual"]),
        alpha_t=float(table["alpha_t"]),
        alpha_p=float(table["alpha_p"]),
        betas=pd.Series([float(table[f"beta_{f}"]) for f in names], index=names),
        beta_t=pd.Series([float(table[f"t_{f}"]) for f in names], index=names),
        beta_p=pd.Series([float(table[f"p_{f}"]) for f in names], index=names),
        r_squared=float(table["r_squared"]),
        residual_vol_annual=float(table["residual_vol_annual"]),
        n_obs=int(table["n_obs"]),
    )


def factor_regressions(returns: pd.DataFrame, factors: pd.DataFrame) -> pd.DataFrame:
    """Regress many monthly return series on the same factor returns, all at once.

    Parameters
    ----------
    returns : DataFrame
        Monthly (excess) returns, decimals, months (indexed like `factors`) by series.
    factors : DataFrame
        Monthly factor returns (decimals), one column per factor.

    Returns
    -------
    DataFrame
        One row per series: ``alpha`` (monthly), ``alpha_annual`` (x12), ``alpha_t``,
        ``alpha_p``; per factor ``beta_<f>``, ``t_<f>``, ``p_<f>``; ``r_squared``,
        ``residual_vol_annual`` (decimal) and ``n_obs``. Classical OLS standard errors,
        two-sided p-values from Student's t.

    Raises
    ------
    ValueError
        If the indexes do not align, values are missing, or there are too few months
        (at least the number of factors + 3).
    """
    if not returns.index.equals(factors.index):
        msg = "factor_regression: returns and factors must share the same monthly index"
        raise ValueError(msg)
    k = factors.shape[1]
    n = len(returns)
    if n < k + 3:
        msg = f"factor_regression: {n} months is too few for {k} factors (need {k + 3})"
        raise ValueError(msg)
    yv = returns.to_numpy(dtype=np.float64)
    xv = factors.to_numpy(dtype=np.float64)
    if not (np.all(np.isfinite(yv)) and np.all(np.isfinite(xv))):
        msg = "factor_regression: returns or factors contain missing values"
        raise ValueError(msg)
    design = np.column_stack([np.ones(n), xv])
    coef, *_ = np.linalg.lstsq(design, yv, rcond=None)  # (k + 1) x series
    resid = yv - design @ coef
    dof = n - k - 1
    sigma2 = (resid * resid).sum(axis=0) / dof
    inv_diag = np.diag(np.linalg.pinv(design.T @ design))
    se = np.sqrt(np.maximum(np.outer(inv_diag, sigma2), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = np.where(se > 0, coef / se, 0.0)
    pval = 2.0 * stats.t.sf(np.abs(tstat), dof)
    total = ((yv - yv.mean(axis=0)) ** 2).sum(axis=0)
    ssr = (resid * resid).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(total > 0, 1.0 - ssr / total, 0.0)
    table = pd.DataFrame(
        {
            "alpha": coef[0],
            "alpha_annual": 12.0 * coef[0],
            "alpha_t": tstat[0],
            "alpha_p": pval[0],
        },
        index=returns.columns,
    )
    for j, name in enumerate(factors.columns, start=1):
        table[f"beta_{name}"] = coef[j]
        table[f"t_{name}"] = tstat[j]
        table[f"p_{name}"] = pval[j]
    table["r_squared"] = r2
    table["residual_vol_annual"] = np.sqrt(sigma2 * 12.0)
    table["n_obs"] = float(n)
    return table
