"""Factor regressions of manager returns: alpha versus beta, with significance.

Ordinary least squares with classical standard errors; returns are monthly decimals and
alphas are reported monthly and annualized (x12).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["FactorRegression", "factor_regression"]


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
    k = factors.shape[1]
    n = len(y)
    if n < k + 3:
        msg = f"factor_regression: {n} months is too few for {k} factors (need {k + 3})"
        raise ValueError(msg)
    yv = y.to_numpy(dtype=np.float64)
    xv = factors.to_numpy(dtype=np.float64)
    if not (np.all(np.isfinite(yv)) and np.all(np.isfinite(xv))):
        msg = "factor_regression: returns or factors contain missing values"
        raise ValueError(msg)
    design = np.column_stack([np.ones(n), xv])
    coef, *_ = np.linalg.lstsq(design, yv, rcond=None)
    resid = yv - design @ coef
    dof = n - k - 1
    sigma2 = float(resid @ resid) / dof
    cov = sigma2 * np.linalg.pinv(design.T @ design)
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = np.where(se > 0, coef / se, 0.0)
    pval = 2.0 * stats.t.sf(np.abs(tstat), dof)
    total = float(((yv - yv.mean()) ** 2).sum())
    names = list(factors.columns)
    return FactorRegression(
        alpha=float(coef[0]),
        alpha_annual=float(12.0 * coef[0]),
        alpha_t=float(tstat[0]),
        alpha_p=float(pval[0]),
        betas=pd.Series(coef[1:], index=names),
        beta_t=pd.Series(tstat[1:], index=names),
        beta_p=pd.Series(pval[1:], index=names),
        r_squared=1.0 - float(resid @ resid) / total if total > 0 else 0.0,
        residual_vol_annual=float(np.sqrt(sigma2 * 12.0)),
        n_obs=n,
    )
