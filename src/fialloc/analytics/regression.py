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
    fit = _ols(y.to_frame(), factors)
    names = list(factors.columns)
    return FactorRegression(
        alpha=float(fit["coef"][0, 0]),
        alpha_annual=float(12.0 * fit["coef"][0, 0]),
        alpha_t=float(fit["t"][0, 0]),
        alpha_p=float(fit["p"][0, 0]),
        betas=pd.Series(fit["coef"][1:, 0], index=names),
        beta_t=pd.Series(fit["t"][1:, 0], index=names),
        beta_p=pd.Series(fit["p"][1:, 0], index=names),
        r_squared=float(fit["r_squared"][0]),
        residual_vol_annual=float(fit["residual_vol_annual"][0]),
        n_obs=len(y),
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
    fit = _ols(returns, factors)
    coef, t, p = fit["coef"], fit["t"], fit["p"]
    columns: dict[str, np.ndarray] = {
        "alpha": coef[0],
        "alpha_annual": 12.0 * coef[0],
        "alpha_t": t[0],
        "alpha_p": p[0],
    }
    for j, name in enumerate(factors.columns, start=1):
        columns[f"beta_{name}"] = coef[j]
        columns[f"t_{name}"] = t[j]
        columns[f"p_{name}"] = p[j]
    columns["r_squared"] = fit["r_squared"]
    columns["residual_vol_annual"] = fit["residual_vol_annual"]
    columns["n_obs"] = np.full(coef.shape[1], float(len(returns)))
    return pd.DataFrame(columns, index=returns.columns)


def _ols(returns: pd.DataFrame, factors: pd.DataFrame) -> dict[str, np.ndarray]:
    """OLS of each column of `returns` (months by series) on `factors` with an intercept."""
    if not returns.index.equals(factors.index):
        msg = "factor_regression: returns and factors must share the same monthly index"
        raise ValueError(msg)
    yv = returns.to_numpy(dtype=np.float64)
    k = factors.shape[1]
    n = len(yv)
    if n < k + 3:
        msg = f"factor_regression: {n} months is too few for {k} factors (need {k + 3})"
        raise ValueError(msg)
    xv = factors.to_numpy(dtype=np.float64)
    if not (np.all(np.isfinite(yv)) and np.all(np.isfinite(xv))):
        msg = "factor_regression: returns or factors contain missing values"
        raise ValueError(msg)
    design = np.column_stack([np.ones(n), xv])
    coef, *_ = np.linalg.lstsq(design, yv, rcond=None)  # (k + 1) x series
    resid = yv - design @ coef
    dof = n - k - 1
    ssr = (resid * resid).sum(axis=0)
    sigma2 = ssr / dof
    inv_diag = np.diag(np.linalg.pinv(design.T @ design))
    se = np.sqrt(np.maximum(np.outer(inv_diag, sigma2), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = np.where(se > 0, coef / se, 0.0)
    total = ((yv - yv.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(total > 0, 1.0 - ssr / total, 0.0)
    return {
        "coef": coef,
        "t": tstat,
        "p": 2.0 * stats.t.sf(np.abs(tstat), dof),
        "r_squared": r2,
        "residual_vol_annual": np.sqrt(sigma2 * 12.0),
    }
