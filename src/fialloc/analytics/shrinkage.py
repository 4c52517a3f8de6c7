"""Empirical-Bayes shrinkage of manager alphas across the book: normal-normal or adaptive.

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

Adaptive shrinkage (:func:`adaptive_shrink`; Stephens 2017, "False discovery rates: a new
deal", the ``ashr`` method) replaces the one normal prior by a mixture that can say "most
managers have exactly no skill, a few have a lot":
``g = pi_0 delta_0 + sum_k pi_k N(0, sigma_k^2)`` on a fixed geometric grid of ``sigma_k``
(:func:`prior_grid`), the proportions by maximum marginal likelihood with a penalty
``(lambda_0 - 1) log pi_0`` favouring the point mass (EM on the proportions, a concave
problem: :func:`fit_mixture`), and each manager's posterior a mixture of a point mass at 0 and
normals (:func:`mixture_posterior`). Below :data:`ADAPTIVE_MIN_CROSS_SECTION` managers the
mixture's proportions are not identified and the normal-normal posterior is used instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "ADAPTIVE_MIN_CROSS_SECTION",
    "GRID_RATIO",
    "MIN_CROSS_SECTION",
    "NULL_WEIGHT",
    "PRIORS",
    "Shrinkage",
    "SkillPrior",
    "adaptive_shrink",
    "fit_mixture",
    "mixture_posterior",
    "prior_grid",
    "shrink",
    "shrink_alphas",
]

#: Fewer estimable managers than this and alphas are not shrunk (no James-Stein gain).
MIN_CROSS_SECTION = 3
#: The priors :func:`shrink` knows: ``"normal"`` (:func:`shrink_alphas`) and ``"adaptive"``
#: (:func:`adaptive_shrink`); the mandate's ``skill_prior`` names one.
SkillPrior = Literal["normal", "adaptive"]
PRIORS: tuple[str, ...] = get_args(SkillPrior)
#: Fewer estimable managers than this and :func:`adaptive_shrink` falls back to the
#: normal-normal posterior: a mixture's proportions need a cross-section to be estimated.
#: Chosen on tuning books 7000-7019 (BENCHMARKS.md): 20 gave up most of the gain on the
#: 13-15 manager books.
ADAPTIVE_MIN_CROSS_SECTION = 10
#: ``lambda_0`` of the penalty on the point mass's proportion (ashr's ``nullweight``): the
#: likelihood sees ``lambda_0 - 1`` extra managers of exactly no skill, the conservative side.
#: Of 1, 10 and 30 on tuning books 7000-7019, 10 gave the allocation the least regret.
NULL_WEIGHT = 10.0
#: Ratio of neighbouring prior standard deviations on the grid (ashr's ``mult``).
GRID_RATIO = float(np.sqrt(2.0))
#: EM stops when an iteration raises the penalized log likelihood by less than this (relative
#: to it, at least 1), or after :data:`_EM_ITERATIONS` iterations.
_EM_TOLERANCE = 1e-13
_EM_ITERATIONS = 10_000


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
        Estimated spread of true alphas across managers (``tau``; inf when not shrunk; for the
        adaptive prior the mixture's standard deviation).
    managers : int
        Managers in the cross-section.
    proportions : Series, optional
        The adaptive prior's mixture proportions indexed by the grid's standard deviations
        (0 for the point mass); None for the normal-normal prior.
    """

    table: pd.DataFrame
    prior_sd: float
    managers: int
    proportions: pd.Series | None = None


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
    a, s = _checked(estimates, standard_errors, "shrink_alphas")
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


def _checked(
    estimates: pd.Series, standard_errors: pd.Series, caller: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return the estimates and errors as arrays after checking them (see shrink_alphas)."""
    if not estimates.index.equals(standard_errors.index):
        msg = f"{caller}: estimates and standard errors must share one index"
        raise ValueError(msg)
    a = estimates.to_numpy(dtype=np.float64)
    s = standard_errors.to_numpy(dtype=np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(s)) and np.all(s > 0)):
        msg = f"{caller}: estimates must be finite and standard errors finite and positive"
        raise ValueError(msg)
    return a, s


def prior_grid(estimates: np.ndarray, standard_errors: np.ndarray) -> np.ndarray:
    """Return the adaptive prior's grid of standard deviations, point mass first (ashr's).

    From a tenth of the smallest standard error to twice the largest ``sqrt(a_i^2 - s_i^2)``
    (the largest spread a manager's estimate asks of the prior; eight times the smallest
    point when no estimate exceeds its error), geometric with ratio :data:`GRID_RATIO`.

    Parameters
    ----------
    estimates, standard_errors : ndarray
        Alphas and their standard errors (one unit), finite; errors positive.

    Returns
    -------
    ndarray
        ``0`` (the point mass) then the increasing grid, in the estimates' unit.
    """
    low = float(np.min(standard_errors)) / 10.0
    high = 2.0 * float(np.sqrt(max(0.0, float(np.max(estimates**2 - standard_errors**2)))))
    high = max(high, 8.0 * low)
    steps = int(np.ceil(np.log(high / low) / np.log(GRID_RATIO)))
    return np.concatenate([[0.0], low * GRID_RATIO ** np.arange(steps + 1)])


def _likelihoods(a: np.ndarray, s: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Return the density of each estimate (rows) under each prior component (columns)."""
    sd = np.sqrt(s[:, None] ** 2 + grid[None, :] ** 2)
    return np.asarray(stats.norm.pdf(a[:, None], scale=sd), dtype=np.float64)


def fit_mixture(
    estimates: np.ndarray,
    standard_errors: np.ndarray,
    grid: np.ndarray,
    null_weight: float = NULL_WEIGHT,
) -> np.ndarray:
    """Estimate the mixture proportions by penalized maximum marginal likelihood (EM).

    Maximizes ``sum_i log sum_k pi_k N(a_i; 0, s_i^2 + sigma_k^2) + (lambda_0 - 1) log pi_0``
    over the simplex (concave, so EM's fixed point is the maximum): each step sets
    ``pi_k = (sum_i w_ik + lambda_k - 1) / (m + lambda_0 - 1)``, ``w_ik`` the posterior
    probability of component ``k`` for manager ``i``, ``lambda_k = 1`` for ``k > 0``.

    Parameters
    ----------
    estimates, standard_errors : ndarray
        Alphas and their standard errors (one unit); errors positive.
    grid : ndarray
        Prior standard deviations (same unit), ``grid[0] == 0`` the point mass.
    null_weight : float
        ``lambda_0 >= 1``; 1 is the unpenalized maximum likelihood.

    Returns
    -------
    ndarray
        The proportions, one per grid point, summing to 1.
    """
    lik = _likelihoods(estimates, standard_errors, grid)
    extra = np.zeros(len(grid))
    extra[0] = null_weight - 1.0
    total = float(len(estimates) + extra.sum())

    def step(pi: np.ndarray) -> np.ndarray:
        joint = lik * pi
        out: np.ndarray = ((joint / joint.sum(axis=1, keepdims=True)).sum(axis=0) + extra) / total
        return out

    def objective(pi: np.ndarray) -> float:
        penalty = extra[0] * float(np.log(pi[0])) if extra[0] > 0 else 0.0
        return float(np.log(lik @ pi).sum()) + penalty

    # Plain EM crawls where proportions decay toward 0; SQUAREM (Varadhan and Roland 2008,
    # scheme 3) extrapolates along two EM steps and falls back to them if the objective drops.
    pi = np.full(len(grid), 1.0 / len(grid))
    value = objective(pi)
    for _ in range(_EM_ITERATIONS):
        one = step(pi)
        two = step(one)
        r, v = one - pi, two - 2.0 * one + pi
        alpha = min(-1.0, -float(np.linalg.norm(r) / max(float(np.linalg.norm(v)), 1e-300)))
        trial = np.clip(pi - 2.0 * alpha * r + alpha * alpha * v, 0.0, None)
        trial = step(trial / trial.sum())
        new = trial if objective(trial) >= objective(two) else two
        new_value = objective(new)
        done = new_value - value <= _EM_TOLERANCE * max(1.0, abs(value))
        pi, value = new, new_value
        if done:
            break
    return pi


def mixture_posterior(
    estimates: np.ndarray,
    standard_errors: np.ndarray,
    grid: np.ndarray,
    proportions: np.ndarray,
) -> pd.DataFrame:
    """Return each manager's posterior under the mixture prior (point mass and normals).

    Component ``k`` gives ``B_ik = s_i^2 / (s_i^2 + sigma_k^2)`` (1 for the point mass), mean
    ``(1 - B_ik) a_i`` and variance ``s_i^2 (1 - B_ik)``, with posterior weight proportional to
    ``pi_k N(a_i; 0, s_i^2 + sigma_k^2)``. The posterior mean is the weighted mean, the sd from
    the mixture's second moment, ``P(alpha > 0)`` the normal components' mass above 0 (the
    point mass counts as not > 0), and ``shrinkage`` the weighted ``B_ik``, so that the
    posterior mean is ``(1 - shrinkage) a_i`` as in the normal-normal table.

    Parameters
    ----------
    estimates, standard_errors : ndarray
        Alphas and their standard errors (one unit); errors positive.
    grid, proportions : ndarray
        Prior standard deviations (``grid[0] == 0`` the point mass, or all positive) and
        their mixture proportions (summing to 1).

    Returns
    -------
    DataFrame
        ``alpha_posterior``, ``alpha_posterior_sd`` (the estimates' unit),
        ``prob_alpha_positive`` and ``shrinkage``, one row per manager (positional index).
    """
    a, s = estimates[:, None], standard_errors[:, None]
    joint = _likelihoods(estimates, standard_errors, grid) * proportions
    w = joint / joint.sum(axis=1, keepdims=True)
    factor = s * s / (s * s + grid[None, :] ** 2)
    mean_k = (1.0 - factor) * a
    var_k = s * s * (1.0 - factor)
    mean = (w * mean_k).sum(axis=1)
    second = (w * (var_k + mean_k**2)).sum(axis=1)
    spread = np.sqrt(np.where(var_k > 0, var_k, 1.0))
    above = np.where(var_k > 0, stats.norm.cdf(mean_k / spread), 0.0)
    return pd.DataFrame(
        {
            "alpha_posterior": mean,
            "alpha_posterior_sd": np.sqrt(np.maximum(second - mean**2, 0.0)),
            "prob_alpha_positive": (w * above).sum(axis=1),
            "shrinkage": (w * factor).sum(axis=1),
        }
    )


def adaptive_shrink(
    estimates: pd.Series,
    standard_errors: pd.Series,
    null_weight: float = NULL_WEIGHT,
    min_cross_section: int = ADAPTIVE_MIN_CROSS_SECTION,
) -> Shrinkage:
    """Shrink alpha estimates under a prior fitted to the book: a point mass at 0 and normals.

    Parameters
    ----------
    estimates : Series
        Alpha estimates per manager (any one unit, e.g. decimal a year), finite.
    standard_errors : Series
        Their standard errors (same unit and index), finite and positive.
    null_weight : float
        ``lambda_0`` of the penalty favouring the point mass (:func:`fit_mixture`).
    min_cross_section : int
        Fewer managers than this and the normal-normal :func:`shrink_alphas` decides.

    Returns
    -------
    Shrinkage
        The posterior table (same index and columns as :func:`shrink_alphas`'s), the mixture's
        standard deviation as ``prior_sd`` and its ``proportions``.

    Raises
    ------
    ValueError
        If the indexes differ, a value is not finite, or a standard error is not positive.
    """
    a, s = _checked(estimates, standard_errors, "adaptive_shrink")
    if len(a) < min_cross_section:
        return shrink_alphas(estimates, standard_errors)
    grid = prior_grid(a, s)
    pi = fit_mixture(a, s, grid, null_weight)
    table = mixture_posterior(a, s, grid, pi).set_axis(estimates.index)
    return Shrinkage(
        table=table,
        prior_sd=float(np.sqrt(pi @ grid**2)),
        managers=len(a),
        proportions=pd.Series(pi, index=pd.Index(grid, name="prior_sd")),
    )


def shrink(estimates: pd.Series, standard_errors: pd.Series, prior: str = "normal") -> Shrinkage:
    """Shrink alpha estimates under the named prior (:data:`PRIORS`).

    Parameters
    ----------
    estimates, standard_errors : Series
        As for :func:`shrink_alphas` (one unit, shared index).
    prior : str
        ``"normal"`` (:func:`shrink_alphas`) or ``"adaptive"`` (:func:`adaptive_shrink`).

    Returns
    -------
    Shrinkage
        The posterior under that prior.

    Raises
    ------
    ValueError
        If `prior` is unknown, or the inputs are (see :func:`shrink_alphas`).
    """
    if prior == "normal":
        return shrink_alphas(estimates, standard_errors)
    if prior == "adaptive":
        return adaptive_shrink(estimates, standard_errors)
    msg = f"shrink: prior must be one of {PRIORS}, got {prior!r}"
    raise ValueError(msg)
