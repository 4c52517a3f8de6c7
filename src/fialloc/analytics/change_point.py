"""Dating a level shift in one monthly series: a ramp-shift likelihood-ratio scan.

Model
    ``y_t = mu + delta * r_t(s, L) + e_t`` with ``r_t = clip((t - s + 1) / L, 0, 1)``: the
    level moves by ``delta`` from month ``s`` (the start, 0-based) over a ramp of ``L`` months
    (``L = 1`` is a step), and ``e_t`` is AR(1) noise. Every start with at least `min_before`
    months before it (the baseline that establishes the manager's normal, free of the change)
    and `min_after` months from it on, and every ramp from 1 to `max_ramp` months, is tried.
Statistic
    For each (start, ramp) the reduction of the sum of squares ``D = (r_c' y_c)^2 / (r_c' r_c)``
    (``_c``: demeaned) over the no-shift model, divided by the long-run variance ``omega^2`` of
    the noise: ``W = D / omega^2``. ``omega^2 = sigma_u^2 / (1 - phi)^2`` comes from an AR(1)
    fitted to the residuals of the best (start, ramp), so a shift does not pass for persistence.
    The test statistic is ``sup W``; ``z = sign(delta) sqrt(sup W)``.
Several series of one manager
    :func:`fit_shifts` tests a manager's characteristics together. The autocorrelation is the
    noise parameter a short series estimates worst (its standard error ``sqrt((1 - phi^2) /
    n)`` is 0.13 at 60 months, and ``omega^2`` moves with ``(1 - phi)^-2``), and one
    manager's characteristics share the cause of their persistence (how slowly the portfolio
    turns over). So ``phi`` is pooled over the series' standardized residuals, and each
    series uses the larger of the pooled and its own estimate (both corrected for Kendall's
    small-sample bias, ``(n phi + 1) / (n - 3)``): a series more persistent than its siblings
    keeps its own, so a persistent characteristic is not read as a shift. The manager's
    statistic is the largest ``sup W`` of its series, adjusted for their number by the
    simulated distribution of that maximum (single-step max-T), not by Bonferroni.
A shift several series share
    A drift in credit quality moves the rating notch, the high yield share and the spread
    duration together; a duration extension moves the duration and several key-rate buckets.
    :func:`fit_joint_shift` scans one (start, ramp) for all of a manager's series with the
    shift's direction free: with ``z_j = r' y_j / omega_j`` each series' standardized
    projection and ``R`` the correlation of the series' AR(1) innovations (each series
    whitened with its own autocorrelation), ``W_J = z' R^+ z`` is the likelihood-ratio
    statistic of a shift in the mean of the whitened vector series, and the test is
    ``sup W_J``. Against a drift of one series it spends power on ``k`` directions, so it is
    *combined* with the max-T: the manager's p-value is that of the smaller of the two
    p-values, both read off the same simulated managers and the smaller one's distribution
    simulated on them too (a min-p test, calibrated jointly).
Critical values
    The null distribution of ``sup W`` (no shift) depends on the length, the number of series
    and the noise's autocorrelation. It is calibrated by simulation: ``k`` independent AR(1)
    series of the same length at an upper confidence bound of the noise's autocorrelation, found
    by inverting the simulations themselves (the smallest :data:`PHI_GRID` value at which the
    procedure's pooled estimate comes out at or below the observed one in at most 16% of the
    draws: this undoes the estimate's small-sample bias, which grows as each series' best ramp
    soaks up slow wander), the *whole* procedure (scans, pooled and own AR(1) fits, long-run
    variances, the maximum over series) repeated on each, :data:`NULL_DRAWS` draws from a fixed
    seed; the p-value is the share of simulated statistics at or above the observed one (so no
    p-value is below ``1 / (NULL_DRAWS + 1)``). Simulated tables are cached per (length, series,
    autocorrelation, settings). No published asymptotic value is used: Andrews' (1993) sup-Wald
    tables are for a step with symmetric trimming and hold as the sample grows, while this scan
    also tries ramps, trims 12 months before and 6 after, and runs on 36-120 months with an
    estimated long-run variance.
Start interval
    The likelihood-ratio set of Hansen (2000, "Sample splitting and threshold estimation",
    Econometrica 68) for a break date: the starts whose best ``W`` is within
    ``c = -2 ln(1 - sqrt(level))`` of the maximum (5.94 for 90%); the interval runs from the
    earliest to the latest such start. Its coverage is measured in
    :mod:`fialloc.analytics.drift_study`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np

from fialloc.layout import FloatArray

__all__ = [
    "INTERVAL_LEVEL",
    "MAX_RAMP",
    "MIN_AFTER",
    "MIN_BEFORE",
    "NULL_DRAWS",
    "PHI_GRID",
    "JointShiftFit",
    "ShiftFit",
    "fit_joint_shift",
    "fit_shift",
    "fit_shifts",
    "interval_critical_value",
    "joint_null_statistics",
    "known_noise_null",
    "known_noise_statistic",
    "known_phi_null",
    "known_phi_statistic",
    "null_statistics",
]

#: Months of history before a shift's start (the baseline) and from it on.
MIN_BEFORE: Final = 12
MIN_AFTER: Final = 6
#: Longest ramp tried (months).
MAX_RAMP: Final = 6
#: Coverage of the start-month interval.
INTERVAL_LEVEL: Final = 0.90
#: Simulated series behind each null distribution.
NULL_DRAWS: Final = 2000
#: Autocorrelations the null distribution is simulated at (the estimate is rounded up to these).
PHI_GRID: Final = tuple(round(0.05 * k, 2) for k in range(19))
#: Largest autocorrelation used for the long-run variance: a nearly integrated series would
#: otherwise make every level look like noise.
MAX_PHI: Final = 0.9
_NULL_SEED: Final = 20261206
#: Share of simulated pooled estimates at or below the observed one at the null's bound.
_BOUND_SHARE: Final = 0.16


@dataclass(frozen=True)
class ShiftFit:
    """The best ramp shift of one series and its test.

    Attributes
    ----------
    start : int
        Position (0-based) of the first month of the ramp.
    start_low, start_high : int
        The start interval at :data:`INTERVAL_LEVEL` (positions, inclusive).
    ramp : int
        Months the ramp takes to reach the new level (1 = a step).
    shift : float
        ``delta``: the change of level, in the series' units.
    sd : float
        Standard deviation of the noise around the fitted path (series' units).
    shift_sd : float
        ``shift / sd``: the shift in standard deviations of the series.
    z : float
        ``sign(shift) sqrt(sup W)``.
    p_value : float
        Share of the simulated no-shift statistics of one series at or above ``sup W``.
    p_adjusted : float
        Share of the simulated no-shift *largest* statistics of the manager's ``k`` series at
        or above ``sup W`` (equal to `p_value` for one series).
    phi : float
        AR(1) coefficient of the noise used for the long-run variance (bias-corrected, the
        larger of the pooled and the series' own, in ``[0, MAX_PHI]``).
    """

    start: int
    start_low: int
    start_high: int
    ramp: int
    shift: float
    sd: float
    shift_sd: float
    z: float
    p_value: float
    p_adjusted: float
    phi: float


@dataclass(frozen=True)
class JointShiftFit:
    """The best shift shared by a manager's series, its test, and each series' own fit.

    Attributes
    ----------
    start, start_low, start_high, ramp : int
        The shared shift's start (0-based), its interval at the fit's interval level
        (Hansen's set on the joint statistic) and its ramp (months).
    shifts : tuple of float
        Each series' change of level at that start and ramp, in the series' units.
    z : tuple of float
        Each series' signed standardized shift there, ``r' y_j / omega_j`` (its share of the
        joint statistic before the correlation is accounted for).
    stat : float
        ``sup W_J``, the joint statistic (see the module).
    p_joint : float
        Share of the simulated no-shift joint statistics at or above `stat`.
    p_combined : float
        The combined test's p-value: the share of simulated managers whose smaller of the
        max-T and joint p-values is at or below this manager's.
    series : tuple of ShiftFit
        Each series' own fit (:func:`fit_shifts`).
    """

    start: int
    start_low: int
    start_high: int
    ramp: int
    shifts: tuple[float, ...]
    z: tuple[float, ...]
    stat: float
    p_joint: float
    p_combined: float
    series: tuple[ShiftFit, ...]


def interval_critical_value(level: float = INTERVAL_LEVEL) -> float:
    """Return Hansen's (2000) critical value for a break date, ``-2 ln(1 - sqrt(level))``."""
    if not 0.0 < level < 1.0:
        msg = f"interval_critical_value: level must be in (0, 1), got {level!r}"
        raise ValueError(msg)
    return -2.0 * math.log(1.0 - math.sqrt(level))


@lru_cache(maxsize=64)
def _design(
    n: int, min_before: int, min_after: int, max_ramp: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Demeaned, unit-norm ramp regressors (n x candidates), their starts and ramps."""
    starts = np.arange(min_before, n - min_after + 1)
    ramps = np.arange(1, max_ramp + 1)
    grid_s, grid_ell = np.meshgrid(starts, ramps, indexing="ij")
    s, ell = grid_s.ravel(), grid_ell.ravel()
    t = np.arange(n)[:, None]
    r = np.clip((t - s[None, :] + 1.0) / ell[None, :], 0.0, 1.0)
    r -= r.mean(axis=0)
    r /= np.linalg.norm(r, axis=0)
    return r, s.astype(np.float64), ell.astype(np.float64)


def _scan(
    y: FloatArray,
    min_before: int,
    min_after: int,
    max_ramp: int,
    joint: bool = False,
    known_phi: float | None = None,
) -> dict[str, FloatArray]:
    """Scan many managers' series at once (`y`: managers x series x months).

    Per series: the best candidate, its shift, residuals, the AR(1) coefficient used and
    ``sup W``; the pooled coefficient per manager; with `joint`, the joint statistic of
    every candidate (``joint``, managers x candidates). With `known_phi` every series uses
    that autocorrelation instead of the estimated one (an oracle's).
    """
    n = y.shape[-1]
    q, _, _ = _design(n, min_before, min_after, max_ramp)
    yc = y - y.mean(axis=-1, keepdims=True)
    proj = yc @ q  # managers x series x candidates: r_c' y_c / |r_c|
    best = np.argmax(proj * proj, axis=-1)
    coef = np.take_along_axis(proj, best[..., None], axis=-1)[..., 0]
    resid = yc - coef[..., None] * np.moveaxis(q[:, best], 0, -1)
    lagged, current = resid[..., :-1], resid[..., 1:]
    cross = np.einsum("...t,...t->...", lagged, current)
    square = np.einsum("...t,...t->...", lagged, lagged)
    # Pooled over a manager's series on their standardized residuals, so each series counts
    # by its length, not its units.
    scale = np.einsum("...t,...t->...", resid, resid)
    scale = np.where(scale > 0, scale, 1.0)
    own = np.where(square > 0, cross / np.where(square > 0, square, 1.0), 0.0)
    pooled = (cross / scale).sum(axis=-1) / np.maximum((square / scale).sum(axis=-1), 1e-300)
    pooled = np.clip(_unbiased(pooled, n), 0.0, MAX_PHI)
    phi = np.maximum(pooled[..., None], np.clip(_unbiased(own, n), 0.0, MAX_PHI))
    if known_phi is not None:
        phi = np.full_like(phi, known_phi)
    innov = current - phi[..., None] * lagged
    dof = max(n - 4, 1)  # mean, shift, start/ramp and phi estimated
    sigma2 = np.einsum("...t,...t->...", innov, innov) / dof
    omega2 = sigma2 / (1.0 - phi) ** 2
    level = np.maximum(np.abs(y).max(axis=-1), 1.0)
    # A noiseless series still gets a finite statistic: floor the variance far below any data.
    omega2 = np.maximum(omega2, (1e-12 * level) ** 2)
    out = {
        "proj": proj,
        "best": best,
        "coef": coef,
        "resid": resid,
        "phi": phi,
        "pooled": pooled,
        "omega2": omega2,
        "stat": coef * coef / omega2,
    }
    if joint:
        out["joint"] = _joint(proj, omega2, innov)
    return out


def _joint(proj: FloatArray, omega2: FloatArray, innov: FloatArray) -> FloatArray:
    """Return the joint statistic of every candidate (managers x candidates); see the module.

    ``W_J = z' R^+ z`` with ``z_j = r' y_j / omega_j`` (each series' own standardized
    projection) and ``R`` the correlation of the series' AR(1) innovations: the
    likelihood-ratio statistic of one shared (start, ramp) with the shift's direction free,
    under the estimated cross-covariance. ``R``'s pseudo-inverse drops directions with
    (almost) no variance, such as sector weights that sum to a constant.
    """
    z = proj / np.sqrt(omega2)[..., None]
    cov = np.einsum("...it,...jt->...ij", innov, innov)
    scale = np.sqrt(np.maximum(np.einsum("...ii->...i", cov), 1e-300))
    corr = cov / (scale[..., :, None] * scale[..., None, :])
    inverse = np.linalg.pinv(corr, rcond=1e-8, hermitian=True)
    out: FloatArray = np.einsum("...ic,...ij,...jc->...c", z, inverse, z)
    return out


def _unbiased(phi: FloatArray, n: int) -> FloatArray:
    """Kendall's small-sample correction of a least-squares AR(1) coefficient (mean estimated)."""
    out: FloatArray = (n * phi + 1.0) / (n - 3.0)
    return out


@lru_cache(maxsize=512)
def null_statistics(
    n: int,
    phi: float,
    k: int = 1,
    min_before: int = MIN_BEFORE,
    min_after: int = MIN_AFTER,
    max_ramp: int = MAX_RAMP,
    draws: int = NULL_DRAWS,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Simulate no-shift statistics of `k` series of length `n` (cached).

    `draws` managers of `k` independent AR(1) series (autocorrelation `phi`, standard normal
    innovations: the statistic does not depend on their scale) go through the whole
    procedure.

    Returns
    -------
    tuple of ndarray
        Sorted: the largest ``sup W`` per manager (`draws` values), the ``sup W`` of every
        series (``draws * k`` values) and the pooled autocorrelation estimate per manager
        (`draws` values).
    """
    stat, pooled, _ = _null_scan(n, phi, k, min_before, min_after, max_ramp, draws, False)
    return np.sort(stat.max(axis=1)), np.sort(stat.ravel()), np.sort(pooled)


@lru_cache(maxsize=512)
def joint_null_statistics(
    n: int,
    phi: float,
    k: int = 1,
    min_before: int = MIN_BEFORE,
    min_after: int = MIN_AFTER,
    max_ramp: int = MAX_RAMP,
    draws: int = NULL_DRAWS,
) -> tuple[FloatArray, FloatArray]:
    """Simulate the joint statistic and the combined test's null, on :func:`null_statistics`' draws.

    Returns
    -------
    tuple of ndarray
        Sorted: the joint ``sup W_J`` per simulated manager, and per simulated manager the
        smaller of its max-T and joint p-values (both read off these same draws), the null
        distribution the combined test is judged against.
    """
    stat, _, joint = _null_scan(n, phi, k, min_before, min_after, max_ramp, draws, True)
    largest = np.sort(stat.max(axis=1))
    joint_sorted = np.sort(joint)
    smaller = np.minimum(
        _shares_at_or_above(largest, stat.max(axis=1)), _shares_at_or_above(joint_sorted, joint)
    )
    return joint_sorted, np.sort(smaller)


@lru_cache(maxsize=512)
def _null_scan(
    n: int,
    phi: float,
    k: int,
    min_before: int,
    min_after: int,
    max_ramp: int,
    draws: int,
    joint: bool,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Run the whole procedure on `draws` simulated no-shift managers of `k` AR(1) series.

    Per simulated manager (unsorted, row order of the draws): ``sup W`` of each series
    (draws x k), the pooled autocorrelation estimate and, with `joint`, the joint ``sup W_J``
    (else empty). The draws are the same either way: the max-T alone does not pay for the
    joint statistic, and the joint test's two nulls come from one set of simulated managers.
    """
    # Key 2: a stream apart from the known-noise null's.
    e = _ar1_draws(n, phi, draws * k, (min_before, min_after, max_ramp, 2, k))
    out = _scan(e.reshape(draws, k, n), min_before, min_after, max_ramp, joint)
    sup_joint = out["joint"].max(axis=-1) if joint else np.empty(0)
    return out["stat"], out["pooled"], sup_joint


def _ar1_draws(n: int, phi: float, draws: int, key: tuple[int, ...]) -> FloatArray:
    """`draws` stationary AR(1) series of length `n` with unit innovations (seeded by `key`)."""
    rng = np.random.default_rng([_NULL_SEED, n, round(phi * 100), *key])
    # Time along the rows: each step of the recursion then reads and writes contiguous
    # memory (the same draws and the same arithmetic as along the columns).
    u = rng.standard_normal((draws, n + 50)).T.copy()
    e = np.empty_like(u)
    e[0] = u[0] / math.sqrt(1.0 - phi * phi)
    for t in range(1, u.shape[0]):
        e[t] = phi * e[t - 1] + u[t]
    out: FloatArray = np.ascontiguousarray(e[50:].T)
    return out


def known_noise_statistic(
    y: FloatArray,
    omega2: float,
    min_before: int = MIN_BEFORE,
    min_after: int = MIN_AFTER,
    max_ramp: int = MAX_RAMP,
) -> FloatArray:
    """Return ``sup W`` of each row of `y` (series by months) with the noise known.

    The scan of :func:`fit_shift` with the long-run variance `omega2` given instead of
    estimated. The benchmark for the detector in :mod:`fialloc.analytics.drift_study`: what the same
    scan could do if the noise were known.
    """
    q, _, _ = _design(y.shape[1], min_before, min_after, max_ramp)
    proj = (y - y.mean(axis=1, keepdims=True)) @ q
    out: FloatArray = (proj * proj).max(axis=1) / omega2
    return out


@lru_cache(maxsize=1024)
def known_noise_null(
    n: int,
    phi: float,
    min_before: int = MIN_BEFORE,
    min_after: int = MIN_AFTER,
    max_ramp: int = MAX_RAMP,
    draws: int = NULL_DRAWS,
) -> FloatArray:
    """Sorted :func:`known_noise_statistic` of `draws` no-shift AR(1) series (cached)."""
    e = _ar1_draws(n, phi, draws, (min_before, min_after, max_ramp, 1))
    out: FloatArray = np.sort(
        known_noise_statistic(e, 1.0 / (1.0 - phi) ** 2, min_before, min_after, max_ramp)
    )
    return out


def known_phi_statistic(y: FloatArray, phi: float) -> float:
    """Return the max-T statistic of one manager's series (`y`: series x months), `phi` known.

    :func:`fit_shifts`' largest ``sup W`` with the noise's autocorrelation given instead of
    estimated (its innovation variance still estimated). An oracle for
    :mod:`fialloc.analytics.drift_study`: what knowing the autocorrelation is worth, the
    most that borrowing it from other managers could give.

    Raises
    ------
    ValueError
        If `y` is not a finite 2-d array of at least ``MIN_BEFORE + MIN_AFTER`` months, or
        `phi` is not in ``[0, MAX_PHI]``.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or y.shape[0] < 1 or y.shape[1] < MIN_BEFORE + MIN_AFTER:
        msg = (
            f"known_phi_statistic: need series of at least {MIN_BEFORE + MIN_AFTER} months, "
            f"got shape {y.shape}"
        )
        raise ValueError(msg)
    if not np.isfinite(y).all():
        msg = "known_phi_statistic: `y` has a non-finite value"
        raise ValueError(msg)
    _check_known_phi("known_phi_statistic", phi)
    out = _scan(y[None], MIN_BEFORE, MIN_AFTER, MAX_RAMP, known_phi=phi)
    return float(out["stat"][0].max())


def _check_known_phi(where: str, phi: float) -> None:
    if not 0.0 <= phi <= MAX_PHI:
        msg = f"{where}: phi must be in [0, {MAX_PHI}], got {phi!r}"
        raise ValueError(msg)


@lru_cache(maxsize=256)
def known_phi_null(n: int, phi: float, k: int, draws: int = NULL_DRAWS) -> FloatArray:
    """Sorted :func:`known_phi_statistic` of `draws` simulated no-shift managers (cached).

    Raises
    ------
    ValueError
        If `n` is under ``MIN_BEFORE + MIN_AFTER`` months, `k` or `draws` under 1, or `phi`
        is not in ``[0, MAX_PHI]``.
    """
    if n < MIN_BEFORE + MIN_AFTER or k < 1 or draws < 1:
        msg = (
            f"known_phi_null: need n >= {MIN_BEFORE + MIN_AFTER}, k >= 1, draws >= 1; "
            f"got {n}, {k}, {draws}"
        )
        raise ValueError(msg)
    _check_known_phi("known_phi_null", phi)
    e = _ar1_draws(n, phi, draws * k, (MIN_BEFORE, MIN_AFTER, MAX_RAMP, 3, k))
    out = _scan(e.reshape(draws, k, n), MIN_BEFORE, MIN_AFTER, MAX_RAMP, known_phi=phi)
    result: FloatArray = np.sort(out["stat"].max(axis=1))
    return result


def fit_shift(
    y: FloatArray,
    min_before: int = MIN_BEFORE,
    min_after: int = MIN_AFTER,
    max_ramp: int = MAX_RAMP,
    interval_level: float = INTERVAL_LEVEL,
    draws: int = NULL_DRAWS,
) -> ShiftFit:
    """Find, date and test the largest ramp shift in the level of one series.

    :func:`fit_shifts` of one series (its ``p_adjusted`` is its ``p_value``).

    Parameters
    ----------
    y : ndarray, shape (n,)
        Monthly values (any units), oldest first, finite, not constant.
    min_before, min_after, max_ramp, interval_level, draws
        As :func:`fit_shifts`.

    Raises
    ------
    ValueError
        If `y` is not a finite 1-d series of at least ``min_before + min_after`` months, is
        constant, or the settings are out of range.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        msg = f"fit_shift: need a 1-d series, got shape {y.shape}"
        raise ValueError(msg)
    return fit_shifts(y[None, :], min_before, min_after, max_ramp, interval_level, draws)[0]


def fit_shifts(
    y: FloatArray,
    min_before: int = MIN_BEFORE,
    min_after: int = MIN_AFTER,
    max_ramp: int = MAX_RAMP,
    interval_level: float = INTERVAL_LEVEL,
    draws: int = NULL_DRAWS,
) -> list[ShiftFit]:
    """Find, date and test the largest ramp shift in each of one manager's series, together.

    The series share the noise's pooled autocorrelation and are tested as a family: each
    fit's ``p_adjusted`` is against the simulated largest statistic of ``k`` series (see the
    module).

    Parameters
    ----------
    y : ndarray, shape (k, n)
        `k` monthly series over the same `n` months (any units, each its own), oldest first,
        finite, none constant.
    min_before, min_after : int
        Months required before the start and from the start on.
    max_ramp : int
        Longest ramp (months) tried.
    interval_level : float
        Coverage of the start interval (Hansen's likelihood-ratio set).
    draws : int
        Simulated managers behind the p-values.

    Returns
    -------
    list of ShiftFit
        One per series, in row order.

    Raises
    ------
    ValueError
        If `y` is not a finite 2-d array of at least one series and ``min_before +
        min_after`` months, a series is constant, or the settings are out of range.
    """
    fits, _ = _fit(y, min_before, min_after, max_ramp, interval_level, draws, joint=False)
    return fits


def fit_joint_shift(
    y: FloatArray,
    min_before: int = MIN_BEFORE,
    min_after: int = MIN_AFTER,
    max_ramp: int = MAX_RAMP,
    interval_level: float = INTERVAL_LEVEL,
    draws: int = NULL_DRAWS,
) -> JointShiftFit:
    """Find, date and test one shift shared by a manager's series, beside each series' own.

    :func:`fit_shifts` of the series, plus the joint scan (a shift of every series from the
    same start over the same ramp, its direction free, under the series' estimated
    correlation; see the module) and the combined test: the smaller of the max-T and the
    joint p-values, judged against its own simulated distribution on the same draws.

    Parameters
    ----------
    y : ndarray, shape (k, n)
        As :func:`fit_shifts`.
    min_before, min_after, max_ramp, interval_level, draws
        As :func:`fit_shifts`.

    Returns
    -------
    JointShiftFit

    Raises
    ------
    ValueError
        As :func:`fit_shifts`.
    """
    fits, scan = _fit(y, min_before, min_after, max_ramp, interval_level, draws, joint=True)
    y = np.asarray(y, dtype=np.float64)
    k, n = y.shape
    _, starts, ramps = _design(n, min_before, min_after, max_ramp)
    joint = scan.out["joint"][0]
    best = int(np.argmax(joint))
    stat = float(joint[best])
    by_start = joint.reshape(-1, max_ramp).max(axis=1)
    inside = np.flatnonzero(by_start >= stat - interval_critical_value(interval_level))
    ramp_path = np.clip((np.arange(n) - starts[best] + 1.0) / ramps[best], 0.0, 1.0)
    # The design's columns are unit-norm: a projection over the ramp's own norm is the shift.
    norm = float(np.linalg.norm(ramp_path - ramp_path.mean()))
    null_joint, null_smaller = joint_null_statistics(n, scan.null_phi, k, *scan.settings)
    p_joint = _share_at_or_above(null_joint, stat)
    smaller = min(p_joint, min(f.p_adjusted for f in fits))
    # The combined p-value: the share of simulated managers whose smaller p is at most ours.
    at_or_below = int(np.searchsorted(null_smaller, smaller, side="right"))
    return JointShiftFit(
        start=int(starts[best]),
        start_low=int(starts[0]) + int(inside.min()),
        start_high=int(starts[0]) + int(inside.max()),
        ramp=int(ramps[best]),
        shifts=tuple(float(v) for v in scan.out["proj"][0, :, best] / norm),
        z=tuple(float(v) for v in scan.out["proj"][0, :, best] / np.sqrt(scan.out["omega2"][0])),
        stat=stat,
        p_joint=p_joint,
        p_combined=(1.0 + at_or_below) / (1.0 + len(null_smaller)),
        series=tuple(fits),
    )


@dataclass(frozen=True)
class _Scan:
    """What :func:`_fit` read off the series, for the joint fit."""

    out: dict[str, FloatArray]
    null_phi: float
    settings: tuple[int, int, int, int]


def _fit(
    y: FloatArray,
    min_before: int,
    min_after: int,
    max_ramp: int,
    interval_level: float,
    draws: int,
    joint: bool,
) -> tuple[list[ShiftFit], _Scan]:
    """Check the series, scan them and fit each one's shift (see :func:`fit_shifts`).

    With `joint` the scan also gives the joint statistic of every candidate.
    """
    y = np.asarray(y, dtype=np.float64)
    if min_before < 2 or min_after < 2 or max_ramp < 1 or draws < 99:
        msg = (
            "fit_shift: need min_before >= 2, min_after >= 2, max_ramp >= 1, draws >= 99; got "
            f"{min_before}, {min_after}, {max_ramp}, {draws}"
        )
        raise ValueError(msg)
    if y.ndim != 2 or y.shape[0] < 1 or y.shape[1] < min_before + min_after:
        msg = (
            f"fit_shift: need series of at least {min_before + min_after} months, "
            f"got shape {y.shape}"
        )
        raise ValueError(msg)
    bad = np.argwhere(~np.isfinite(y))
    if len(bad):
        msg = f"fit_shift: series {bad[0][0]} has a non-finite value at position {bad[0][1]}"
        raise ValueError(msg)
    flat = np.ptp(y, axis=1) <= 1e-12 * np.maximum(1.0, np.abs(y).max(axis=1))
    if flat.any():
        msg = f"fit_shift: series {int(np.argmax(flat))} is constant: no level to shift"
        raise ValueError(msg)
    k, n = y.shape
    out = _scan(y[None], min_before, min_after, max_ramp, joint)
    _, starts, ramps = _design(n, min_before, min_after, max_ramp)
    pooled = float(out["pooled"][0])
    settings = (min_before, min_after, max_ramp, draws)
    null_phi = _null_phi(pooled, n, k, settings)
    largest, each, _ = null_statistics(n, null_phi, k, *settings)
    fits = []
    for j in range(k):
        best, omega2 = int(out["best"][0, j]), float(out["omega2"][0, j])
        stat = float(out["stat"][0, j])
        # Profile over the start: the best ramp for each start.
        by_start = (out["proj"][0, j] ** 2 / omega2).reshape(-1, max_ramp).max(axis=1)
        inside = np.flatnonzero(by_start >= stat - interval_critical_value(interval_level))
        first_start = int(starts[0])
        r_best = np.clip((np.arange(n) - starts[best] + 1.0) / ramps[best], 0.0, 1.0)
        rc = r_best - r_best.mean()
        shift = float(rc @ (y[j] - y[j].mean()) / (rc @ rc))
        resid = out["resid"][0, j]
        sd = float(np.sqrt(resid @ resid / max(n - 3, 1)))
        fits.append(
            ShiftFit(
                start=int(starts[best]),
                start_low=first_start + int(inside.min()),
                start_high=first_start + int(inside.max()),
                ramp=int(ramps[best]),
                shift=shift,
                sd=sd,
                shift_sd=shift / sd if sd > 0 else math.copysign(math.inf, shift),
                z=math.copysign(math.sqrt(stat), shift),
                p_value=_share_at_or_above(each, stat),
                p_adjusted=_share_at_or_above(largest, stat),
                phi=float(out["phi"][0, j]),
            )
        )
    return fits, _Scan(out, null_phi, settings)


def _share_at_or_above(null: FloatArray, stat: float) -> float:
    """Monte Carlo p-value: (1 + simulated at or above) / (1 + simulated)."""
    exceed = len(null) - int(np.searchsorted(null, stat, side="left"))
    return (1.0 + exceed) / (1.0 + len(null))


def _shares_at_or_above(null: FloatArray, stats: FloatArray) -> FloatArray:
    """:func:`_share_at_or_above` of each of `stats` against the sorted `null`."""
    exceed = len(null) - np.searchsorted(null, stats, side="left")
    out: FloatArray = (1.0 + exceed.astype(np.float64)) / (1.0 + len(null))
    return out


def _null_phi(pooled: float, n: int, k: int, settings: tuple[int, int, int, int]) -> float:
    """Pick the autocorrelation to simulate the null at: an upper confidence bound, on the grid.

    The pooled estimate is low for two reasons a formula does not fully fix: least squares
    underestimates an AR(1) coefficient in short series (Kendall's bias, corrected for a mean
    only), and each series' best ramp soaks up some of the noise's slow wander before the
    residuals are read. A sample whose estimate came out low also has a low long-run variance,
    so a high statistic: simulating at the estimate would understate the null's tail. So the
    bound comes from the simulations themselves: the smallest grid autocorrelation at which
    the procedure's pooled estimate falls at or below the observed one in at most 16% of the
    simulated managers (a one-sided 84% bound, about one standard error up). The
    false-alarm rate this gives is measured in :mod:`fialloc.analytics.drift_study`.
    """
    start = max((g for g in PHI_GRID if g <= pooled + 1e-9), default=PHI_GRID[0])
    for g in PHI_GRID:
        if g < start:
            continue
        simulated = null_statistics(n, g, k, *settings)[2]
        if np.searchsorted(simulated, pooled, side="right") <= _BOUND_SHARE * len(simulated):
            return g
    return PHI_GRID[-1]
