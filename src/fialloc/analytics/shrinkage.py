"""Empirical-Bayes shrinkage of manager alphas across the book (normal-normal).

Each manager's estimated alpha ``a_i`` with standard error ``s_i`` is read as a draw
``a_i ~ N(alpha_i, s_i^2)`` around its true alpha, and the true alphas as draws
``alpha_i ~ N(0, tau^2)``: no selection skill is the prior mean, and ``tau``, the spread of true
alphas across managers, is estimated from the book itself.

Estimate of the spread (method of moments with James-Stein's degrees of freedom, floored at 0)
    ``tau^2 = max(0, sum(a_i^2) / (m - 2) - mean(s_i^2))`` over the ``m >= 3`` estimable
    managers. With equal standard errors the shrinkage factor ``B = s^2 / (s^2 + tau^2)`` is
    then ``min(1, (m - 2) s^2 / sum(a_i^2))``: the positive-part James-Stein estimator, which
    beats the raw estimates for any three or more managers. Fewer than three managers give no
    usable cross-section: their alphas are not shrunk (flat prior).
Posterior
    ``B_i = s_i^2 / (s_i^2 + tau^2)``; mean ``(1 - B_i) a_i``; variance with Morris's (1983)
    allowance for ``tau`` being estimated, ``s_i^2 (1 - (m - 2) / m B_i) + 2 / (m - 2) B_i^2
    a_i^2``, so a fully shrunk manager keeps a non-zero spread; ``P(alpha_i > 0)`` from the
    normal posterior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["MIN_CROSS_SECTION", "Shrinkage", "shrink_alphas"]

#: Fewer estimable managers than this and alphas are not shrunk (no James-Stein gain).
MIN_CROSS_SECTION = 3


@dataclass(frozen=True)
class Shrinkage:
    """Posterior alphas and the prior they were shrunk with.

    Attributes
    ----------
    table : DataFrame
        Per manager: ``alpha_posterior``, ``alpha_posterior_sd`` (the units of the estimates)
        and ``prob_alpha_positive``; ``shrinkage`` (``B_i``: 0 keeps the estimate, 1 moves it
        to the prior mean).
    prior_sd : float
        Estimated spread of true alphas across managers (``tau``; inf when not shrunk).
    managers : int
        Managers in the cross-section.
    """

    table: pd.DataFrame
    prior_sd: float
    managers: int


def shrink_alphas(estimates: pd.Series, standard_errors: pd.Series) -> Shrinkage:
    """Shrink alpha estimates toward zero by how noisy each is against the book's spread.

    Parameters
    ----------
    estimates : Series
        Alpha estimates per manager (any one unit, e.g. decimal a year), finite.
    standard_errors : Series
        Their standard errors (same unit and index), finite and positive.

    Returns
    -------
    Shrinkage
        The posterior table (same index) and the estimated prior spread.

    Raises
    ------
    ValueError
        If the indexes differ, a value is not finite, or a standard error is not positive.
    """
    if not estimates.index.equals(standard_errors.index):
        msg = "shrink_alphas: estimates and standard errors must share one index"
        raise ValueError(msg)
    a = estimates.to_numpy(dtype=np.float64)
    s = standard_errors.to_numpy(dtype=np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(s)) and np.all(s > 0)):
        msg = "shrink_alphas: estimates must be finite and standard errors finite and positive"
        raise ValueError(msg)
    m = len(a)
    if m < MIN_CROSS_SECTION:
        tau = np.inf
        factor = np.zeros(m)
        var = s * s
    else:
        tau2 = max(0.0, float(a @ a) / (m - 2) - float(np.mean(s * s)))
        tau = float(np.sqrt(tau2))
        factor = s * s / (s * s + tau2)
        var = s * s * (1.0 - (m - 2) / m * factor) + 2.0 / (m - 2) * factor**2 * a * a
    mean = (1.0 - factor) * a
    sd = np.sqrt(var)
    table = pd.DataFrame(
        {
            "alpha_posterior": mean,
            "alpha_posterior_sd": sd,
            "prob_alpha_positive": stats.norm.cdf(mean / sd),
            "shrinkage": factor,
        },
        index=estimates.index,
    )
    return Shrinkage(table=table, prior_sd=tau, managers=m)
