"""One-sided joint test of loadings: some of them positive, against all of them zero.

A credit-beta finding is a *positive* credit loading (the manager holds more credit risk than
its benchmark), so the test's alternative is the positive orthant ``b >= 0, b != 0``, not any
direction: the likelihood ratio test of ``b = 0`` against ``b >= 0`` (Kudo, 1963; Wolak,
1987) spends its whole level on long-credit loadings where the two-sided Wald test spends half
of it on short ones. Its statistic is the squared length, in the metric of the inverse
covariance ``W = V^-1``, of the estimate's projection on the orthant:

- one loading: ``t^2`` if ``t > 0``, else 0;
- two loadings: ``b' W b`` if both are positive; else the larger of ``(W b)_i^2 / W_ii`` over
  the ``i`` with ``(W b)_i > 0`` (the projection on that axis); else 0.

Under ``b = 0`` it is chi-bar-squared: a mixture of chi-squared distributions with 0, 1 and 2
degrees of freedom, weights ``arccos(r) / 2 pi``, ``1/2`` and ``(pi - arccos r) / 2 pi`` for
two loadings whose estimates have correlation ``r``; ``1/2, 1/2`` for one. With estimated
covariances each chi-squared with ``j`` degrees of freedom becomes ``j F(j, dof)``, as in the
two-sided F test. Estimates that are all negative are no evidence (p-value 1), even where
strongly correlated ones project on an axis: a long finding needs a long estimate.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["positive_loading_test"]


def positive_loading_test(
    coef: np.ndarray, cov: np.ndarray, dof: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Test that one or two loadings are zero against any of them positive, many series at once.

    Parameters
    ----------
    coef : ndarray, shape (series, k)
        The estimated loadings (``k`` is 1 or 2).
    cov : ndarray, shape (series, k, k)
        Their covariance per series.
    dof : float, optional
        Degrees of freedom of an estimated covariance (F distributions); None for a known one
        (chi-squared).

    Returns
    -------
    tuple of ndarray
        The likelihood ratio statistic and its p-value per series; a series whose covariance
        is singular (a loading measured without error, or not at all) gets statistic 0 and
        p-value 1: no evidence either way. So does a series whose estimated loadings are all
        negative or zero.

    Raises
    ------
    ValueError
        If the shapes disagree, ``k`` is not 1 or 2, or `dof` is not positive.
    """
    coef = np.asarray(coef, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    if coef.ndim != 2 or coef.shape[1] not in (1, 2) or cov.shape != (*coef.shape, coef.shape[1]):
        msg = (
            "positive_loading_test: expected loadings of shape (series, 1 or 2) and covariances "
            f"(series, k, k), got {coef.shape} and {cov.shape}"
        )
        raise ValueError(msg)
    if dof is not None and not dof > 0:
        msg = f"positive_loading_test: degrees of freedom must be positive, got {dof}"
        raise ValueError(msg)
    if coef.shape[1] == 1:
        var = cov[:, 0, 0]
        usable = var > 0
        t = coef[:, 0] / np.sqrt(np.where(usable, var, 1.0))
        statistic = np.where(usable & (t > 0), t * t, 0.0)
        p = 0.5 * _tail(statistic, 1, dof)
        return statistic, np.where(statistic > 0, p, 1.0)
    c11, c12, c22 = cov[:, 0, 0], cov[:, 0, 1], cov[:, 1, 1]
    det = c11 * c22 - c12 * c12
    usable = (c11 > 0) & (c22 > 0) & (det > 1e-12 * c11 * c22)
    det = np.where(usable, det, 1.0)
    w11, w12, w22 = c22 / det, -c12 / det, c11 / det
    b1, b2 = coef[:, 0], coef[:, 1]
    wb1, wb2 = w11 * b1 + w12 * b2, w12 * b1 + w22 * b2
    candidates = np.stack(
        [
            np.where((b1 > 0) & (b2 > 0), b1 * wb1 + b2 * wb2, 0.0),
            np.where(wb1 > 0, wb1 * wb1 / np.where(usable, w11, 1.0), 0.0),
            np.where(wb2 > 0, wb2 * wb2 / np.where(usable, w22, 1.0), 0.0),
        ]
    )
    statistic = np.where(usable, candidates.max(axis=0), 0.0)
    r = np.clip(c12 / np.sqrt(np.where(usable, c11 * c22, 1.0)), -1.0, 1.0)
    both = (np.pi - np.arccos(r)) / (2.0 * np.pi)
    p = 0.5 * _tail(statistic, 1, dof) + both * _tail(statistic, 2, dof)
    # With positively correlated estimates two negative loadings can project on an axis; a
    # finding of a long loading needs a long estimate, so those are no evidence (the test
    # only gets more cautious).
    long = (b1 > 0) | (b2 > 0)
    return statistic, np.where((statistic > 0) & long, p, 1.0)


def _tail(statistic: np.ndarray, k: int, dof: float | None) -> np.ndarray:
    """Upper tail of chi-squared with k degrees of freedom, or of k F(k, dof)."""
    if dof is None:
        return np.asarray(stats.chi2.sf(statistic, k), dtype=np.float64)
    return np.asarray(stats.f.sf(statistic / k, k, dof), dtype=np.float64)
