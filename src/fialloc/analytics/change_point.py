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
Critical values
    The null distribution of ``sup W`` (no shift) depends on the length and the noise's
    autocorrelation. It is calibrated by simulation: AR(1) series of the same length with an
    upper estimate of the series' autocorrelation (bias-corrected plus one standard error,
    rounded up to :data:`PHI_GRID`), the *whole* procedure (scan, AR(1) fit, long-run variance)
    repeated on each, :data:`NULL_DRAWS` draws from a fixed seed; the p-value is the share of
    simulated statistics at or above the observed one (so no p-value is below
    ``1 / (NULL_DRAWS + 1)``). Simulated tables are cached per (length, autocorrelation,
    settings). No published asymptotic value is used: Andrews' (1993) sup-Wald tables are for
    a step with symmetric trimming and hold as the sample grows, while this scan also tries
    ramps, trims 12 months before and 6 after, and runs on 36-120 months with an estimated
    long-run variance.
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
    "ShiftFit",
    "fit_shift",
    "interval_critical_value",
    "known_noise_null",
    "known_noise_statistic",
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
#: Autocorrelations the null distribution is simulated at (the estimate is rounded to these).
PHI_GRID: Final = tuple(round(0.1 * k, 1) for k in range(10))
#: Largest autocorrelation used for the long-run variance: a nearly integrated series would
#: otherwise make every level look like noise.
MAX_PHI: Final = 0.9
_NULL_SEED: Final = 20261206


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
        Share of the simulated no-shift statistics at or above ``sup W``.
    phi : float
        AR(1) coefficient of the noise (estimated, in ``[0, MAX_PHI]``).
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
    phi: float


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


def _scan(y: FloatArray, min_before: int, min_after: int, max_ramp: int) -> dict[str, FloatArray]:
    """Scan many series at once (rows of `y`): best candidate, shift, noise and sup W."""
    q, _, _ = _design(y.shape[1], min_before, min_after, max_ramp)
    yc = y - y.mean(axis=1, keepdims=True)
    proj = yc @ q  # series x candidates: r_c' y_c / |r_c|
    best = np.argmax(proj * proj, axis=1)
    coef = proj[np.arange(len(y)), best]
    resid = yc - coef[:, None] * q[:, best].T
    lagged, current = resid[:, :-1], resid[:, 1:]
    denom = np.einsum("ij,ij->i", lagged, lagged)
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(denom > 0, np.einsum("ij,ij->i", lagged, current) / denom, 0.0)
    phi = np.clip(phi, 0.0, MAX_PHI)
    innov = current - phi[:, None] * lagged
    dof = max(y.shape[1] - 4, 1)  # mean, shift, start/ramp and phi estimated
    sigma2 = np.einsum("ij,ij->i", innov, innov) / dof
    omega2 = sigma2 / (1.0 - phi) ** 2
    scale = np.maximum(np.abs(y).max(axis=1), 1.0)
    # A noiseless series still gets a finite statistic: floor the variance far below any data.
    omega2 = np.maximum(omega2, (1e-12 * scale) ** 2)
    return {
        "proj": proj,
        "best": best,
        "coef": coef,
        "resid": resid,
        "phi": phi,
        "omega2": omega2,
        "stat": coef * coef / omega2,
    }


@lru_cache(maxsize=256)
def null_statistics(
    n: int,
    phi: float,
    min_before: int = MIN_BEFORE,
    min_after: int = MIN_AFTER,
    max_ramp: int = MAX_RAMP,
    draws: int = NULL_DRAWS,
) -> FloatArray:
    """Sorted ``sup W`` of `draws` simulated no-shift AR(1) series of length `n` (cached).

    The innovations are standard normal; the statistic does not depend on their scale.
    """
    e = _ar1_draws(n, phi, draws, (min_before, min_after, max_ramp))
    stats_: FloatArray = np.sort(_scan(e, min_before, min_after, max_ramp)["stat"])
    return stats_


def _ar1_draws(n: int, phi: float, draws: int, key: tuple[int, ...]) -> FloatArray:
    """`draws` stationary AR(1) series of length `n` with unit innovations (seeded by `key`)."""
    rng = np.random.default_rng([_NULL_SEED, n, round(phi * 100), *key])
    u = rng.standard_normal((draws, n + 50))
    e = np.empty_like(u)
    e[:, 0] = u[:, 0] / math.sqrt(1.0 - phi * phi)
    for t in range(1, u.shape[1]):
        e[:, t] = phi * e[:, t - 1] + u[:, t]
    return e[:, 50:]


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


def fit_shift(
    y: FloatArray,
    min_before: int = MIN_BEFORE,
    min_after: int = MIN_AFTER,
    max_ramp: int = MAX_RAMP,
    interval_level: float = INTERVAL_LEVEL,
    draws: int = NULL_DRAWS,
) -> ShiftFit:
    """Find, date and test the largest ramp shift in the level of one series.

    Parameters
    ----------
    y : ndarray, shape (n,)
        Monthly values (any units), oldest first, finite, not constant.
    min_before, min_after : int
        Months required before the start and from the start on.
    max_ramp : int
        Longest ramp (months) tried.
    interval_level : float
        Coverage of the start interval (Hansen's likelihood-ratio set).
    draws : int
        Simulated series behind the p-value.

    Raises
    ------
    ValueError
        If `y` is not a finite 1-d series of at least ``min_before + min_after`` months, is
        constant, or the settings are out of range.
    """
    y = np.asarray(y, dtype=np.float64)
    if min_before < 2 or min_after < 2 or max_ramp < 1 or draws < 99:
        msg = (
            "fit_shift: need min_before >= 2, min_after >= 2, max_ramp >= 1, draws >= 99; got "
            f"{min_before}, {min_after}, {max_ramp}, {draws}"
        )
        raise ValueError(msg)
    if y.ndim != 1 or len(y) < min_before + min_after:
        msg = (
            f"fit_shift: need a 1-d series of at least {min_before + min_after} months, "
            f"got shape {y.shape}"
        )
        raise ValueError(msg)
    if not np.isfinite(y).all():
        msg = (
            f"fit_shift: series has a non-finite value at position {int(np.argmin(np.isfinite(y)))}"
        )
        raise ValueError(msg)
    if np.ptp(y) <= 1e-12 * max(1.0, float(np.abs(y).max())):
        msg = "fit_shift: the series is constant: no level to shift"
        raise ValueError(msg)
    out = _scan(y[None, :], min_before, min_after, max_ramp)
    _, starts, ramps = _design(len(y), min_before, min_after, max_ramp)
    best, omega2 = int(out["best"][0]), float(out["omega2"][0])
    stat = float(out["stat"][0])
    per_candidate = out["proj"][0] ** 2 / omega2
    # Profile over the start: the best ramp for each start.
    by_start = per_candidate.reshape(-1, max_ramp).max(axis=1)
    inside = np.flatnonzero(by_start >= stat - interval_critical_value(interval_level))
    first_start = int(starts[0])
    r_best = np.clip((np.arange(len(y)) - starts[best] + 1.0) / ramps[best], 0.0, 1.0)
    rc = r_best - r_best.mean()
    shift = float(rc @ (y - y.mean()) / (rc @ rc))
    sd = float(np.sqrt(out["resid"][0] @ out["resid"][0] / max(len(y) - 3, 1)))
    phi = float(out["phi"][0])
    null = null_statistics(len(y), _null_phi(phi, len(y)), min_before, min_after, max_ramp, draws)
    exceed = len(null) - int(np.searchsorted(null, stat, side="left"))
    return ShiftFit(
        start=int(starts[best]),
        start_low=first_start + int(inside.min()),
        start_high=first_start + int(inside.max()),
        ramp=int(ramps[best]),
        shift=shift,
        sd=sd,
        shift_sd=shift / sd if sd > 0 else math.copysign(math.inf, shift),
        z=math.copysign(math.sqrt(stat), shift),
        p_value=(1.0 + exceed) / (1.0 + len(null)),
        phi=phi,
    )


def _null_phi(phi: float, n: int) -> float:
    """Pick the autocorrelation to simulate the null at: an upper estimate, on the grid.

    Least squares underestimates an AR(1) coefficient in short series (Kendall's bias, about
    ``(1 + 3 phi) / n`` with the mean estimated), and a sample whose estimate came out low also
    has a low long-run variance, so a high statistic: simulating at the raw estimate would
    understate the null's tail. The bias-corrected estimate plus one standard error
    ``sqrt((1 - phi^2) / n)``, rounded up to the grid, keeps the false-alarm rate at or under
    the stated level in the measured range (see :mod:`fialloc.analytics.drift_study`).
    """
    corrected = (n * phi + 1.0) / (n - 3.0)
    corrected = min(corrected + math.sqrt(max(1.0 - corrected**2, 0.0) / n), MAX_PHI)
    return min((g for g in PHI_GRID if g >= corrected - 1e-9), default=PHI_GRID[-1])
