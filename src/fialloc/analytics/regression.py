"""Factor regressions of manager returns: alpha versus beta, with significance.

Ordinary least squares, and feasible generalized least squares under AR(1) noise
(:func:`ar1_gls_fit`, for the credit loadings' test); returns are monthly decimals and alphas
are reported monthly and annualized (x12). Standard errors are classical, or Newey-West
(heteroskedasticity- and autocorrelation-consistent, Bartlett kernel) when a lag count is
given: monthly manager returns are autocorrelated (smoothed prices, stale marks), and classical
errors then overstate significance. :func:`newey_west_lags` is the lag rule (Newey and West, 1994).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "FactorRegression",
    "ar1_covariance",
    "ar1_gls_fit",
    "ar1_standard_errors",
    "factor_regression",
    "factor_regressions",
    "newey_west_lags",
    "ols_fit",
]


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
    fit = ols_fit(y.to_frame(), factors)
    # One index for the three series: building it from the names is most of a small fit's time.
    names = pd.Index(list(factors.columns))
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


def factor_regressions(
    returns: pd.DataFrame, factors: pd.DataFrame, lags: int | None = None
) -> pd.DataFrame:
    """Regress many monthly return series on the same factor returns, all at once.

    Parameters
    ----------
    returns : DataFrame
        Monthly (excess) returns, decimals, months (indexed like `factors`) by series.
    factors : DataFrame
        Monthly factor returns (decimals), one column per factor.
    lags : int, optional
        Newey-West lags for the standard errors (:func:`ols_fit`); classical errors if None.

    Returns
    -------
    DataFrame
        One row per series: ``alpha`` (monthly), ``alpha_annual`` (x12), ``alpha_t``,
        ``alpha_p``; per factor ``beta_<f>``, ``t_<f>``, ``p_<f>``; ``r_squared``,
        ``residual_vol_annual`` (decimal) and ``n_obs``. Two-sided p-values from Student's t.

    Raises
    ------
    ValueError
        If the indexes do not align, values are missing, there are too few months (at least
        the number of factors + 3) or the factors are collinear.
    """
    fit = ols_fit(returns, factors, lags)
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


def newey_west_lags(months: int) -> int:
    """Newey-West lag count for a monthly series: ``floor(4 (months / 100) ** (2 / 9))``.

    The Newey and West (1994) plug-in rule: 3 lags for 28 to 99 months, 4 for 100 to 272.
    """
    if months < 1:
        msg = f"newey_west_lags: need at least one month, got {months}"
        raise ValueError(msg)
    return int(np.floor(4.0 * (months / 100.0) ** (2.0 / 9.0)))


def ols_fit(
    returns: pd.DataFrame, factors: pd.DataFrame, lags: int | None = None
) -> dict[str, np.ndarray]:
    """OLS of each column of `returns` (months by series) on `factors` with an intercept.

    Parameters
    ----------
    returns : DataFrame
        Monthly returns (decimals), months by series, no missing values.
    factors : DataFrame
        Monthly factor returns (decimals), months (the same index) by factor.
    lags : int, optional
        Newey-West lags (Bartlett weights ``1 - l / (lags + 1)``) for the standard errors;
        None gives classical errors. The Newey-West covariance carries the small-sample factor
        ``n / (n - k - 1)`` (statsmodels' ``use_correction=True``). p-values are Student t with
        ``n - k - 1`` degrees of freedom for classical errors and, for Newey-West errors, with
        the Bartlett kernel's equivalent degrees of freedom ``1.5 n / (lags + 1)`` (at most
        ``n - k - 1``): a Newey-West variance from a few years of months is itself noisy, and
        normal or ``n - k - 1`` critical values then reject a true null too often.

    Returns
    -------
    dict of ndarray
        ``coef``, ``se``, ``t``, ``p`` (coefficients by series, intercept first), ``cov``
        (series by coefficient by coefficient), ``r_squared``, ``residual_vol_annual``
        (decimal a year), ``dof`` (the degrees of freedom of the p-values), and ``design``
        (months by intercept and factors) and ``resid`` (months by series) for
        :func:`ar1_standard_errors`.

    Raises
    ------
    ValueError
        If the indexes differ, values are missing, there are fewer months than the number of
        factors + 3, or the factors are collinear (the design matrix is rank-deficient).
    """
    yv, design = _checked_design(returns, factors, lags)
    n, k = design.shape[0], design.shape[1] - 1
    bread = np.linalg.inv(design.T @ design)
    coef = bread @ design.T @ yv  # (k + 1) x series
    resid = yv - design @ coef
    dof = n - k - 1
    ssr = (resid * resid).sum(axis=0)
    sigma2 = ssr / dof
    if lags is None:
        cov = sigma2[:, None, None] * bread[None]
    else:
        cov = _newey_west(design, resid, bread, lags)
    test_dof = float(dof) if lags is None else min(float(dof), 1.5 * n / (lags + 1.0))
    se = np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0)).T
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = np.where(se > 0, coef / se, 0.0)
    total = ((yv - yv.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(total > 0, 1.0 - ssr / total, 0.0)
    return {
        "coef": coef,
        "se": se,
        "t": tstat,
        "p": 2.0 * stats.t.sf(np.abs(tstat), test_dof),
        "cov": cov,
        "r_squared": r2,
        "residual_vol_annual": np.sqrt(sigma2 * 12.0),
        "dof": np.full(coef.shape[1], test_dof),
        "design": design,
        "resid": resid,
    }


def _checked_design(
    returns: pd.DataFrame, factors: pd.DataFrame, lags: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return the returns (months by series) and the design (intercept and factors), checked."""
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
    if lags is not None and not 0 <= lags < n:
        msg = f"factor_regression: Newey-West lags must be from 0 to {n - 1}, got {lags}"
        raise ValueError(msg)
    design = np.column_stack([np.ones(n), xv])
    rank = int(np.linalg.matrix_rank(design))
    if rank < k + 1:
        msg = (
            f"factor_regression: the factors are collinear over these {n} months (rank {rank} "
            f"of {k + 1} with the intercept): alpha and loadings cannot be told apart"
        )
        raise ValueError(msg)
    return yv, design


def _newey_west(design: np.ndarray, resid: np.ndarray, bread: np.ndarray, lags: int) -> np.ndarray:
    """Return the Newey-West coefficient covariance per series (Bartlett weights)."""
    n, dof = design.shape[0], design.shape[0] - design.shape[1]
    scores = design[:, :, None] * resid[:, None, :]  # months x coefficients x series
    meat = np.einsum("tis,tjs->sij", scores, scores)
    for lag in range(1, lags + 1):
        gamma = np.einsum("tis,tjs->sij", scores[lag:], scores[:-lag])
        meat += (1.0 - lag / (lags + 1.0)) * (gamma + gamma.transpose(0, 2, 1))
    return np.asarray((n / dof) * np.einsum("ij,sjk,kl->sil", bread, meat, bread))


def ar1_covariance(design: np.ndarray, resid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the covariance of OLS coefficients under AR(1) noise, from the residuals.

    Each series' noise autocorrelation is its residuals' first-order one, corrected for
    Kendall's small-sample bias (``(n phi + 1) / (n - 3)``). From a few years of months that
    estimate is poor (standard error ``sqrt((1 - phi^2) / n)``, 0.13 at 60 months) while the
    series' true ones are alike (the same marking practices), so with three series or more it
    is shrunk towards their mean by empirical Bayes, normal-normal: the spread of the true
    autocorrelations ``tau^2`` is the estimates' variance less their mean sampling variance
    (floored at 0) and each moves to ``(tau^2 phi + v mean) / (tau^2 + v)``; then it is kept in
    [0, 0.9]. The innovations' variance has ``n - k - 1`` degrees of freedom (``k`` columns of
    `design`). The covariance is the exact one of OLS under that noise,
    ``(X'X)^-1 X' S X (X'X)^-1`` with ``S_ij = s^2 phi^|i-j|`` and ``s^2 = sigma_u^2 / (1 -
    phi^2)``. Where Newey-West with a few lags misses part of a persistent noise's long-run
    variance (3 Bartlett lags see 84% of an AR(1) with autocorrelation 0.3), this counts all
    of it; it assumes the AR(1) form, so the evidence takes the larger of the two.

    Parameters
    ----------
    design : ndarray, shape (n, k)
        The regressors, intercept included, full column rank.
    resid : ndarray, shape (n, series)
        OLS residuals of each series (the series are pooled as above).

    Returns
    -------
    tuple of ndarray
        Covariances (series x coefficients x coefficients, the units of the coefficients
        squared) and the autocorrelation used per series.
    """
    n, k = design.shape
    lagged, current = resid[:-1], resid[1:]
    square = (lagged * lagged).sum(axis=0)
    raw = np.where(square > 0, (lagged * current).sum(axis=0) / np.where(square > 0, square, 1), 0)
    phi = (n * raw + 1.0) / (n - 3.0)
    if len(phi) >= 3:
        sampling = (1.0 - np.clip(phi, -0.9, 0.9) ** 2) / n
        tau2 = max(float(phi.var(ddof=1) - sampling.mean()), 0.0)
        phi = (tau2 * phi + sampling * phi.mean()) / (tau2 + sampling)
    phi = np.clip(phi, 0.0, 0.9)
    innov = current - phi * lagged
    sigma2 = (innov * innov).sum(axis=0) / max(n - k - 1, 1) / (1.0 - phi * phi)
    # X' S X = s^2 (G_0 + sum_l phi^l (G_l + G_l')) with G_l = sum_t x_t x_{t+l}'.
    gram = np.stack([design[: n - lag].T @ design[lag:] for lag in range(n)])
    powers = phi[:, None] ** np.arange(n)[None, :]  # series x lags
    lagged_sum = np.einsum("sl,lij->sij", powers[:, 1:], gram[1:])
    middle = gram[0][None] + lagged_sum + lagged_sum.transpose(0, 2, 1)
    bread = np.linalg.inv(design.T @ design)
    cov = sigma2[:, None, None] * np.einsum("ij,sjk,kl->sil", bread, middle, bread)
    return cov, phi


def ar1_standard_errors(design: np.ndarray, resid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the standard errors of OLS coefficients under AR(1) noise, from the residuals.

    The square roots of the diagonal of :func:`ar1_covariance` (see there for the model).

    Parameters
    ----------
    design : ndarray, shape (n, k)
        The regressors, intercept included, full column rank.
    resid : ndarray, shape (n, series)
        OLS residuals of each series.

    Returns
    -------
    tuple of ndarray
        Standard errors (coefficients by series, the units of the coefficients) and the
        autocorrelation used per series.
    """
    cov, phi = ar1_covariance(design, resid)
    return np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0)).T, phi


def _prais_winsten(x: np.ndarray, y: np.ndarray, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return whitened regressors per series (series x months x k) and returns (months x series).

    The first month times ``sqrt(1 - rho^2)``, every later one less ``rho`` times the one before.
    """
    first = np.sqrt(1.0 - rho * rho)
    xs = np.concatenate(
        [first[:, None, None] * x[None, :1], x[None, 1:] - rho[:, None, None] * x[None, :-1]],
        axis=1,
    )
    ys = np.concatenate([first[None, :] * y[:1], y[1:] - rho[None, :] * y[:-1]], axis=0)
    return xs, ys


def _bartlett_meat(scores: np.ndarray, lags: int) -> np.ndarray:
    """Return the Newey-West meat per series of scores (series x months x coefficients)."""
    meat = np.einsum("sti,stj->sij", scores, scores)
    for lag in range(1, lags + 1):
        gamma = np.einsum("sti,stj->sij", scores[:, lag:], scores[:, :-lag])
        meat += (1.0 - lag / (lags + 1.0)) * (gamma + gamma.transpose(0, 2, 1))
    return np.asarray(meat)


def ar1_gls_fit(
    design: np.ndarray, returns: np.ndarray, phi: np.ndarray, lags: int
) -> dict[str, np.ndarray]:
    """Generalized least squares under AR(1) noise of known autocorrelation (Prais-Winsten).

    Each series ``s`` is whitened with its autocorrelation ``phi_s``: the first month times
    ``sqrt(1 - phi_s^2)``, every later month less ``phi_s`` times the month before, regressors
    and returns alike; least squares on the whitened data is the exact GLS estimator under
    AR(1) noise, the most efficient linear unbiased one (OLS wastes the noise's persistence:
    under an autocorrelation of 0.3 its loadings' variance on serially uncorrelated factors is
    about ``(1 + phi^2) / (1 - phi^2)``, 20% more). With `phi` estimated from the OLS
    residuals (:func:`ar1_covariance`) it is feasible GLS.

    Parameters
    ----------
    design : ndarray, shape (n, k)
        The regressors, intercept included, full column rank.
    returns : ndarray, shape (n, series)
        Monthly returns (decimals).
    phi : ndarray, shape (series,)
        Each series' noise autocorrelation, in (-1, 1).
    lags : int
        Newey-West lags for the second covariance, on the whitened residuals.

    Returns
    -------
    dict of ndarray
        ``coef`` (coefficients by series); ``cov`` (series x coefficients x coefficients: the
        classical covariance on the whitened data, ``s^2 (X*'X*)^-1`` with ``n - k`` degrees
        of freedom) and ``cov_newey_west`` (Newey-West on the whitened residuals, Bartlett
        weights, small-sample factor ``n / (n - k)``: what the whitening left of the noise's
        persistence or heteroskedasticity); ``dof`` and ``dof_newey_west`` (the degrees of
        freedom of their tests: ``n - k``, and the Bartlett kernel's ``1.5 n / (lags + 1)`` at
        most ``n - k``, as in :func:`ols_fit`).

    Raises
    ------
    ValueError
        If the shapes disagree, an autocorrelation is not in (-1, 1), there are no more months
        than regressors, or `lags` is not from 0 to ``n - 1``.
    """
    x = np.asarray(design, dtype=np.float64)
    y = np.asarray(returns, dtype=np.float64)
    rho = np.asarray(phi, dtype=np.float64)
    n, k = x.shape
    if y.ndim != 2 or y.shape[0] != n or rho.shape != (y.shape[1],):
        msg = (
            f"ar1_gls_fit: expected returns of shape ({n}, series) and one autocorrelation per "
            f"series, got {y.shape} and {rho.shape}"
        )
        raise ValueError(msg)
    if not np.all(np.abs(rho) < 1.0):
        msg = "ar1_gls_fit: every autocorrelation must be in (-1, 1)"
        raise ValueError(msg)
    if n <= k or not 0 <= lags < n:
        msg = f"ar1_gls_fit: need more than {k} months and lags from 0 to {n - 1}, got {n}, {lags}"
        raise ValueError(msg)
    xs, ys = _prais_winsten(x, y, rho)
    bread = np.linalg.inv(np.einsum("sti,stj->sij", xs, xs))
    coef = np.einsum("sij,stj,ts->si", bread, xs, ys)
    resid = ys - np.einsum("sti,si->ts", xs, coef)
    dof = n - k
    sigma2 = (resid * resid).sum(axis=0) / dof
    meat = _bartlett_meat(xs * resid.T[:, :, None], lags)
    series = y.shape[1]
    return {
        "coef": coef.T,
        "cov": sigma2[:, None, None] * bread,
        "cov_newey_west": (n / dof) * np.einsum("sij,sjk,skl->sil", bread, meat, bread),
        "dof": np.full(series, float(dof)),
        "dof_newey_west": np.full(series, min(float(dof), 1.5 * n / (lags + 1.0))),
    }
