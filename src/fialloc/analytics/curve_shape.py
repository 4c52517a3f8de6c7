"""Curve shape analytics: Nelson-Siegel-Svensson fits, principal components, spread z-scores.

Pure functions on arrays and frames; the curve desk combines them with the book's key-rate
durations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import least_squares, minimize

from fialloc.layout import FloatArray

__all__ = [
    "SPREAD_PAIRS",
    "CurvePCA",
    "NSSFit",
    "curve_pca",
    "fit_nss",
    "nss_zero_rates",
    "spread_zscores",
]

SPREAD_PAIRS: Final = ((2.0, 5.0), (5.0, 10.0), (10.0, 30.0), (5.0, 30.0))


def _loadings(t: FloatArray, tau: float) -> tuple[FloatArray, FloatArray]:
    # A decay of 0 or infinity (the polish's steps in log tau can reach them) has the
    # loadings' limits, computed here without a warning: 0 and 0 at tau = 0 (x infinite),
    # 1 and 0 at an infinite tau (x = 0, the series branch).
    with np.errstate(divide="ignore", invalid="ignore"):
        x = t / tau
        slope = np.where(x > 1e-10, -np.expm1(-x) / x, 1.0 - 0.5 * x)
    return slope, slope - np.exp(-x)


def nss_zero_rates(
    t: npt.ArrayLike, beta: Sequence[float] | FloatArray, tau1: float, tau2: float
) -> FloatArray:
    """Nelson-Siegel-Svensson zero rates (decimals) at times `t` (years).

    ``z(t) = b0 + b1 L1(t/tau1) + b2 C(t/tau1) + b3 C(t/tau2)`` with ``L1(x) = (1 - e^-x)/x``
    and ``C(x) = L1(x) - e^-x``.
    """
    tt = np.asarray(t, dtype=np.float64)
    s1, c1 = _loadings(tt, tau1)
    _, c2 = _loadings(tt, tau2)
    return np.asarray(beta[0] + beta[1] * s1 + beta[2] * c1 + beta[3] * c2, dtype=np.float64)


@dataclass(frozen=True)
class NSSFit:
    """A Nelson-Siegel-Svensson fit.

    Attributes
    ----------
    beta : tuple of float
        Level, slope, first and second curvature coefficients (decimals).
    tau1, tau2 : float
        Decay times (years), ``tau1 < tau2``.
    rmse_bp : float
        Root-mean-square fit error in basis points.
    residuals_bp : ndarray
        Fitted minus input zero rates at the input times, in basis points.
    """

    beta: tuple[float, float, float, float]
    tau1: float
    tau2: float
    rmse_bp: float
    residuals_bp: FloatArray

    def zero_rates(self, t: npt.ArrayLike) -> FloatArray:
        """Fitted zero rates (decimals) at times `t` (years)."""
        return nss_zero_rates(t, self.beta, self.tau1, self.tau2)


def _betas(t: FloatArray, z: FloatArray, tau1: float, tau2: float) -> tuple[FloatArray, float]:
    s1, c1 = _loadings(t, tau1)
    _, c2 = _loadings(t, tau2)
    design = np.column_stack([np.ones_like(t), s1, c1, c2])
    beta = np.asarray(np.linalg.lstsq(design, z, rcond=None)[0], dtype=np.float64)
    resid = design @ beta - z
    return beta, float(resid @ resid)


def fit_nss(times: npt.ArrayLike, zero_rates: npt.ArrayLike) -> NSSFit:
    """Fit a Nelson-Siegel-Svensson curve to zero rates.

    For given decay times the coefficients are linear least squares; the decay times are
    searched on a log grid and then refined, so the fit does not depend on a starting guess.

    Parameters
    ----------
    times : array of float
        Positive times in years (at least 4).
    zero_rates : array of float
        Continuously compounded zero rates (decimals).
    """
    t = np.asarray(times, dtype=np.float64)
    z = np.asarray(zero_rates, dtype=np.float64)
    if t.shape != z.shape or t.ndim != 1 or len(t) < 4:
        msg = f"fit_nss: need at least 4 matching times and rates, got {t.shape} and {z.shape}"
        raise ValueError(msg)
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(z)) and np.all(t > 0)):
        msg = "fit_nss: times must be positive and finite, rates finite"
        raise ValueError(msg)
    grid = np.geomspace(0.2, 30.0, 24)
    best = (np.inf, 1.0, 5.0)
    for i, tau1 in enumerate(grid):
        for tau2 in grid[i + 1 :]:
            _, sse = _betas(t, z, tau1, tau2)
            if sse < best[0]:
                best = (sse, tau1, tau2)

    def objective(log_tau: FloatArray) -> float:
        tau1, tau2 = np.exp(log_tau)
        return _betas(t, z, float(tau1), float(tau2))[1]

    res = minimize(
        objective,
        np.log([best[1], best[2]]),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-20, "maxiter": 4000},
    )
    tau1, tau2 = np.exp(res.x)
    beta0, _ = _betas(t, z, float(tau1), float(tau2))

    # Polish all six parameters jointly: the valleys in (tau1, tau2) are flat, and a
    # Levenberg-Marquardt step on the full residual settles them.
    def residuals(p: FloatArray) -> FloatArray:
        # A step far out in log tau overflows exp to an infinite decay, whose loadings are
        # finite limits (_loadings): no warning reaches the user.
        with np.errstate(over="ignore"):
            taus = np.exp(p[4:6])
        return nss_zero_rates(t, p[:4], float(taus[0]), float(taus[1])) - z

    if len(t) >= 6:
        polished = least_squares(
            residuals, np.concatenate([beta0, res.x]), method="lm", xtol=1e-15, ftol=1e-15
        )
        if float(polished.cost) * 2 <= _betas(t, z, float(tau1), float(tau2))[1]:
            tau1, tau2 = np.exp(polished.x[4:])
    tau1, tau2 = sorted((float(tau1), float(tau2)))
    beta, _ = _betas(t, z, tau1, tau2)
    resid = (nss_zero_rates(t, beta, float(tau1), float(tau2)) - z) * 1e4
    return NSSFit(
        beta=(float(beta[0]), float(beta[1]), float(beta[2]), float(beta[3])),
        tau1=float(tau1),
        tau2=float(tau2),
        rmse_bp=float(np.sqrt(np.mean(resid**2))),
        residuals_bp=resid,
    )


@dataclass(frozen=True)
class CurvePCA:
    """Principal components of curve changes.

    Attributes
    ----------
    loadings : DataFrame
        Tenors (rows, years) by ``level``, ``slope``, ``curvature``; unit-length columns signed so
        that level is positive, slope rises with maturity and curvature is positive at the wings.
    explained : Series
        Share of the variance of curve changes each component explains.
    scores : DataFrame
        Each period's factor move (decimals), by component.
    """

    loadings: pd.DataFrame
    explained: pd.Series
    scores: pd.DataFrame


def curve_pca(history: pd.DataFrame) -> CurvePCA:
    """Level, slope and curvature from principal components of curve changes.

    Parameters
    ----------
    history : DataFrame
        Rows are dates in order, columns are tenors in years, values are rates (decimals).
        Components come from the covariance of period-to-period changes.
    """
    if history.shape[0] < 4 or history.shape[1] < 3:
        msg = f"curve_pca: need at least 4 dates and 3 tenors, got {history.shape}"
        raise ValueError(msg)
    values = history.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)):
        msg = "curve_pca: history has missing or non-finite rates"
        raise ValueError(msg)
    tenors = np.asarray([float(c) for c in history.columns])
    changes = np.diff(values, axis=0)
    centred = changes - changes.mean(axis=0)
    cov = centred.T @ centred / (len(centred) - 1)
    eigval, eigvec = np.linalg.eigh(cov)
    order = np.argsort(eigval)[::-1][:3]
    vecs = eigvec[:, order].copy()
    if vecs[:, 0].sum() < 0:
        vecs[:, 0] *= -1
    if np.polyfit(tenors, vecs[:, 1], 1)[0] < 0:
        vecs[:, 1] *= -1
    wings = vecs[[0, -1], 2].mean() - vecs[len(tenors) // 2, 2]
    if wings < 0:
        vecs[:, 2] *= -1
    names = ["level", "slope", "curvature"]
    explained = eigval[order] / eigval.sum()
    return CurvePCA(
        loadings=pd.DataFrame(vecs, index=pd.Index(tenors, name="tenor"), columns=names),
        explained=pd.Series(explained, index=names, name="explained"),
        scores=pd.DataFrame(changes @ vecs, index=history.index[1:], columns=names),
    )


def spread_zscores(
    history: pd.DataFrame, pairs: Sequence[tuple[float, float]] = SPREAD_PAIRS
) -> pd.DataFrame:
    """Curve spreads (e.g. 2s10s) today against their history, as z-scores.

    Parameters
    ----------
    history : DataFrame
        Rows are dates in order (the last is today), columns are tenors in years, values rates.
    pairs : sequence of (short, long)
        Tenor pairs in years; each must be a column of `history`.

    Returns
    -------
    DataFrame
        Per pair: ``current_bp``, ``mean_bp``, ``std_bp`` and ``zscore`` (current vs history).
    """
    cols = {float(c): c for c in history.columns}
    rows = []
    for short, long in pairs:
        if short not in cols or long not in cols:
            msg = f"spread_zscores: tenors {short:g} and {long:g} must both be in the history"
            raise ValueError(msg)
        spread = (history[cols[long]] - history[cols[short]]).to_numpy(dtype=np.float64) * 1e4
        std = float(spread.std(ddof=1))
        current = float(spread[-1])
        mean = float(spread.mean())
        rows.append(
            {
                "pair": f"{short:g}s{long:g}s",
                "current_bp": current,
                "mean_bp": mean,
                "std_bp": std,
                "zscore": (current - mean) / std if std > 0 else 0.0,
            }
        )
    return pd.DataFrame(rows).set_index("pair")
