"""Detection power of the style-drift detector, measured on generated books.

A generator of characteristic histories independent of the demo and of ``data.synthetic``:
each book has 10-60 managers over 36-120 months and 3-5 benchmarks whose characteristics move
on their own (random walks for rates and roll-down, an index rebalancing step), which every
manager on that benchmark shares. A manager's characteristics are its benchmark's plus a
constant active position plus AR(1) noise (autocorrelation 0-0.5). A third of the managers
drift: one random characteristic ramps over 1-6 months, from a random month leaving at least a
year on each side, by 0.5-3 standard deviations of its active series, either way.

*Profile books* (``profile=True``) add the key-rate profile, as the drift detector's three
buckets (``krd_short``, ``krd_intermediate``, ``krd_long``, years), and three sector weights
(``sector_government``, ``sector_corporate``, ``sector_securitized``, decimals summing to 1):
a benchmark's buckets split its duration, and a manager's active duration is the sum of its
active buckets plus its own noise (what the buckets miss). A drift there is what only the
profile shows: a curve trade (one bucket up, another down by as much: duration unchanged) or a
sector rotation (weight from one sector to another); a duration drift lands in one bucket, so
duration and that bucket both move. The bucket or sector that moves the other way is the
drift's ``counterpart``; finding it names the drift rightly too.

:func:`run_study` runs :func:`fialloc.analytics.drift.detect_drift` on each manager's active
characteristics (manager less benchmark) and reports recall, false positives per null manager,
start-month errors and interval coverage, with Wilson intervals; beside them the false
positives the same detector gives on *absolute* characteristics (what the benchmark shares
counted as drift), and two oracles at the same per-manager level: one that knows the drift's
characteristic, start, ramp and the noise (a known-date test: the best any method can do on
that data), and a *scan oracle* that knows the characteristic and the noise but not the date
(the detector's scan with nothing estimated: what a method that must find the month can do).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from scipy import stats

from fialloc.analytics import change_point
from fialloc.analytics.drift import DRIFT_LEVEL, detect_drift

__all__ = ["DriftBook", "generate_drift_book", "run_study", "summarize", "wilson"]

#: Characteristic -> (benchmark level range, monthly benchmark random-walk sd, active noise sd
#: range), in the characteristic's units.
_SPEC: Final = {
    "duration": ((3.0, 12.0), 0.03, (0.05, 0.30)),
    "spread_duration": ((2.0, 8.0), 0.03, (0.05, 0.30)),
    "credit_notch": ((3.0, 10.0), 0.02, (0.10, 0.50)),
    "high_yield_share": ((0.02, 0.20), 0.002, (0.005, 0.03)),
}
#: Profile books: the key-rate buckets (benchmark share of duration: Dirichlet weights; active
#: noise sd range, years) and the sectors (benchmark weights: Dirichlet; active noise sd range).
_BUCKETS: Final = ("krd_short", "krd_intermediate", "krd_long")
_BUCKET_SHARES: Final = (3.0, 5.0, 4.0)
_BUCKET_NOISE: Final = (0.03, 0.20)
_SECTORS: Final = ("sector_government", "sector_corporate", "sector_securitized")
_SECTOR_SHARES: Final = (4.0, 4.0, 2.0)
_SECTOR_NOISE: Final = (0.005, 0.03)
DRIFT_SHARE: Final = 0.33  # managers that drift
BUFFER: Final = 12  # months a drift leaves on each side
#: Recall is also reported per family of the planted characteristic.
_GROUPS: Final = {
    "duration": ("duration",),
    "spread duration": ("spread_duration",),
    "rating and high yield share": ("credit_notch", "high_yield_share"),
    "key-rate buckets": _BUCKETS,
    "sector weights": _SECTORS,
}


@dataclass(frozen=True)
class DriftBook:
    """One generated book: absolute characteristics of managers and benchmarks, and the truth.

    Attributes
    ----------
    managers, benchmarks : dict of str to DataFrame
        Months (0..n-1) by characteristic, per manager (its benchmark's series under the
        manager's id in `benchmarks`).
    truth : DataFrame
        Per manager: ``drifted``, ``characteristic``, ``counterpart`` (the bucket or sector
        that moved the other way, or ``""``), ``start``, ``ramp``, ``size_sd`` (signed, in sd
        of the active series), ``sd`` (marginal sd of the noise), ``phi``; and for every
        characteristic ``c`` its noise's marginal sd ``sd_<c>`` and autocorrelation
        ``phi_<c>``.
    """

    managers: dict[str, pd.DataFrame]
    benchmarks: dict[str, pd.DataFrame]
    truth: pd.DataFrame


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    shocks = rng.standard_normal(n)
    out = np.empty(n)
    out[0] = shocks[0]
    for t in range(1, n):
        out[t] = phi * out[t - 1] + math.sqrt(1.0 - phi * phi) * shocks[t]
    return sd * out


def _profile_benchmark(rng: np.random.Generator, bench: pd.DataFrame) -> pd.DataFrame:
    """Add a benchmark's key-rate buckets (shares of its duration) and sector weights."""
    n = len(bench)
    out = bench.copy()
    shares = rng.dirichlet(_BUCKET_SHARES)
    for name, share in zip(_BUCKETS, shares, strict=True):
        moves = rng.normal(0.0, 0.01, n)
        moves[0] = 0.0
        out[name] = share * bench["duration"].to_numpy() + np.cumsum(moves)
    # Sector weights: a walk that keeps them summing to 1, and one rebalancing step.
    moves = rng.normal(0.0, 0.002, (n, len(_SECTORS)))
    moves[0] = 0.0
    moves[int(rng.integers(1, n))] += rng.normal(0.0, 0.015, len(_SECTORS))
    moves -= moves.mean(axis=1, keepdims=True)
    weights = rng.dirichlet(_SECTOR_SHARES) + np.cumsum(moves, axis=0)
    for j, name in enumerate(_SECTORS):
        out[name] = weights[:, j]
    return out


def _profile_active(
    rng: np.random.Generator, n: int, phi: float
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Draw a manager's active key-rate buckets and sector weights (summing to 0), and sds."""
    active, sds = {}, {}
    for name in _BUCKETS:
        sds[name] = float(rng.uniform(*_BUCKET_NOISE))
        active[name] = rng.normal(0.0, 2 * sds[name]) + _ar1(rng, n, phi, sds[name])
    own = np.array([rng.uniform(*_SECTOR_NOISE) for _ in _SECTORS])
    raw = np.stack([rng.normal(0.0, 2 * sd) + _ar1(rng, n, phi, sd) for sd in own])
    raw -= raw.mean(axis=0)
    m = len(_SECTORS)
    for j, name in enumerate(_SECTORS):
        active[name] = raw[j]
        # The sd of own noise less the sectors' mean: ((m - 1) / m)^2 s_j^2 + sum_others s^2 / m^2.
        others = float((own**2).sum() - own[j] ** 2)
        sds[name] = math.sqrt(((m - 1) / m) ** 2 * own[j] ** 2 + others / m**2)
    return active, sds


def _plant(
    active: dict[str, np.ndarray],
    c: str,
    path: np.ndarray,
    rng: np.random.Generator,
    profile: bool,
) -> str:
    """Add a drift's `path` to `active` (in place); return its counterpart, or ``""``.

    In a profile book a duration drift lands in a random bucket (duration is their sum), and
    a bucket's or a sector's is offset by another of its family.
    """
    if profile and c == "duration":
        counterpart = _BUCKETS[int(rng.integers(len(_BUCKETS)))]
        active[counterpart] = active[counterpart] + path
        return counterpart
    active[c] = active[c] + path
    if c in _BUCKETS or c in _SECTORS:
        family = [x for x in (_BUCKETS if c in _BUCKETS else _SECTORS) if x != c]
        counterpart = family[int(rng.integers(len(family)))]
        active[counterpart] = active[counterpart] - path
        return counterpart
    return ""


def generate_drift_book(seed: int, phi_spread: float = 0.0, profile: bool = False) -> DriftBook:
    """Generate one book of characteristic histories with planted drifts (see the module).

    Parameters
    ----------
    seed : int
        The book's seed (its own stream: the demo and ``data.synthetic`` are untouched).
    phi_spread : float
        How far each characteristic's noise autocorrelation may sit from its manager's: each
        is the manager's plus a uniform draw from ``[-phi_spread, phi_spread]``, clipped to
        [0, 0.8] (0: one autocorrelation for all of a manager's characteristics). A book
        to check the detector on noise it does not assume. The profile's characteristics
        keep the manager's.
    profile : bool
        Add the key-rate buckets and sector weights, and plant drifts in them too (see the
        module); the four other characteristics' draws are the same as without.

    Returns
    -------
    DriftBook
        Absolute characteristics (duration, spread duration and key-rate buckets in years,
        rating notch, high yield share and sector weights as decimals) of every manager and of
        its benchmark, months 0..n-1, and the planted truth.
    """
    rng = np.random.default_rng([seed, 15])
    # The profile's own stream, so that the four characteristics' draws stay as they were.
    extra = np.random.default_rng([seed, 15, 1])
    n_managers = int(rng.integers(10, 61))
    n = int(rng.integers(36, 121))
    names = list(_SPEC)
    bench_paths = []
    for _ in range(int(rng.integers(3, 6))):
        path = {}
        for c, ((lo, hi), walk, _) in _SPEC.items():
            moves = rng.normal(0.0, walk, n)
            moves[0] = 0.0
            # The index rebalances once: a step every manager on it shares.
            step = np.where(np.arange(n) >= rng.integers(1, n), rng.normal(0, 8 * walk), 0.0)
            path[c] = rng.uniform(lo, hi) + np.cumsum(moves) + step
        bench = pd.DataFrame(path)
        bench_paths.append(_profile_benchmark(extra, bench) if profile else bench)
    drift_names = [*names, *_BUCKETS, *_SECTORS] if profile else names
    managers, benchmarks, truth = {}, {}, {}
    for k in range(n_managers):
        mid = f"D{k + 1:02d}"
        bench = bench_paths[int(rng.integers(len(bench_paths)))]
        phi = float(rng.uniform(0.0, 0.5))
        sds = {c: float(rng.uniform(*spec[2])) for c, spec in _SPEC.items()}
        phis = dict.fromkeys(names, phi)
        if phi_spread > 0.0:
            phis = {c: float(np.clip(phi + rng.uniform(-phi_spread, phi_spread), 0.0, 0.8))
                    for c in names}  # fmt: skip
        active = {c: rng.normal(0.0, 2 * sds[c]) + _ar1(rng, n, phis[c], sds[c]) for c in names}
        if profile:
            more, more_sds = _profile_active(extra, n, phi)
            active |= more
            # Duration is the buckets' sum plus what they miss (its own noise).
            sds["duration"] = math.sqrt(
                sds["duration"] ** 2 + sum(more_sds[b] ** 2 for b in _BUCKETS)
            )
            sds |= more_sds
            phis |= dict.fromkeys(more, phi)
        row: dict[str, object] = {"drifted": False, "characteristic": "", "counterpart": "",
                                  "start": -1, "ramp": 0, "size_sd": 0.0, "sd": np.nan,
                                  "phi": phi}  # fmt: skip
        if rng.random() < DRIFT_SHARE:
            c = drift_names[int(rng.integers(len(drift_names)))]
            start = int(rng.integers(BUFFER, n - BUFFER + 1))
            ramp = int(rng.integers(1, 7))
            size = float(rng.uniform(0.5, 3.0) * rng.choice([-1.0, 1.0]))
            shift = size * sds[c] * np.clip((np.arange(n) - start + 1) / ramp, 0.0, 1.0)
            counterpart = _plant(active, c, shift, extra, profile)
            row.update(drifted=True, characteristic=c, counterpart=counterpart, start=start,
                       ramp=ramp, size_sd=size, sd=sds[c], phi=phis[c])  # fmt: skip
        if profile:
            active["duration"] = active["duration"] + sum(active[b] for b in _BUCKETS)
        row |= {f"sd_{c}": sds[c] for c in sds} | {f"phi_{c}": phis[c] for c in phis}
        managers[mid] = bench + pd.DataFrame(active)[bench.columns]
        benchmarks[mid] = bench
        truth[mid] = row
    return DriftBook(managers, benchmarks, pd.DataFrame.from_dict(truth, orient="index"))


def _oracle_power(row: pd.Series, n: int, level: float) -> float:
    """Power of the known-date, known-noise test of the planted shift (two-sided, `level`)."""
    t = np.arange(n)
    r = np.clip((t - row["start"] + 1) / row["ramp"], 0.0, 1.0)
    rc = r - r.mean()
    phi = float(row["phi"])
    # GLS with the true AR(1) noise: the shift's standard error from the whitened regressor.
    white = np.concatenate([[rc[0] * math.sqrt(1 - phi * phi)], rc[1:] - phi * rc[:-1]])
    innov_sd = float(row["sd"]) * math.sqrt(1.0 - phi * phi)
    noncentral = abs(float(row["size_sd"]) * float(row["sd"])) * np.linalg.norm(white) / innov_sd
    z = stats.norm.isf(level / 2.0)
    return float(stats.norm.sf(z - noncentral) + stats.norm.cdf(-z - noncentral))


def _scan_oracle(active: np.ndarray, row: pd.Series, level: float) -> bool:
    """Whether the scan finds the drift with the characteristic and the noise known."""
    phi, sd = float(row["phi"]), float(row["sd"])
    omega2 = sd * sd * (1.0 - phi * phi) / (1.0 - phi) ** 2
    stat = float(change_point.known_noise_statistic(active[None, :], omega2)[0])
    null = change_point.known_noise_null(len(active), round(phi / 0.05) * 0.05)
    exceed = len(null) - int(np.searchsorted(null, stat, side="left"))
    return (1.0 + exceed) / (1.0 + len(null)) <= level


def _scan_oracle_all(active: pd.DataFrame, row: pd.Series, level: float) -> bool:
    """Whether the scan flags the manager with every series' noise known, not the series.

    Each characteristic's known-noise scan p-value; the manager's is Sidak's ``1 - (1 -
    min p)^k`` over its ``k`` characteristics (exact for independent series).
    """
    p_values = []
    for c in active.columns:
        phi, sd = float(row[f"phi_{c}"]), float(row[f"sd_{c}"])
        omega2 = sd * sd * (1.0 - phi * phi) / (1.0 - phi) ** 2
        stat = float(change_point.known_noise_statistic(active[[c]].to_numpy().T, omega2)[0])
        null = change_point.known_noise_null(len(active), round(phi / 0.05) * 0.05)
        exceed = len(null) - int(np.searchsorted(null, stat, side="left"))
        p_values.append((1.0 + exceed) / (1.0 + len(null)))
    return 1.0 - (1.0 - min(p_values)) ** len(p_values) <= level


def run_study(
    n_books: int = 50,
    seed: int = 0,
    level: float = DRIFT_LEVEL,
    phi_spread: float = 0.0,
    profile: bool = False,
) -> pd.DataFrame:
    """Run the detector on `n_books` generated books; one row per manager.

    Book ``b`` is :func:`generate_drift_book` of ``seed * 100_000 + b`` (with `phi_spread`
    and `profile`); `level` is the false-positive rate per manager the detector (and the
    oracles) work at.

    Columns: the truth (:class:`DriftBook`), ``book``, ``months``, ``flagged`` (active) and
    its ``p_value``,
    ``found_characteristic``, ``found_start``, ``start_low``, ``start_high``,
    ``flagged_absolute`` (the detector on absolute characteristics), ``oracle_power`` (the
    known-date test's power), ``scan_oracle`` (the known-noise scan's call on the drifted
    characteristic) and ``scan_oracle_all`` (the known-noise scan over all of the manager's
    characteristics, which it must pick from as the detector does).
    """
    if n_books < 1:
        msg = f"run_study: n_books must be at least 1, got {n_books!r}"
        raise ValueError(msg)
    rows = []
    for b in range(n_books):
        book = generate_drift_book(seed * 100_000 + b, phi_spread, profile)
        for mid, truth in book.truth.iterrows():
            absolute = book.managers[str(mid)]
            n = len(absolute)
            active = absolute - book.benchmarks[str(mid)]
            verdict = detect_drift(active, level)
            raw = detect_drift(absolute, level)
            rows.append(
                {
                    **truth.to_dict(),
                    "manager_id": mid,
                    "book": b,
                    "months": n,
                    "flagged": verdict.drifted,
                    "p_value": verdict.p_value,
                    "found_characteristic": verdict.characteristic,
                    "found_start": verdict.start,
                    "start_low": verdict.start_low,
                    "start_high": verdict.start_high,
                    "flagged_absolute": raw.drifted,
                    "oracle_power": _oracle_power(truth, n, level) if truth["drifted"] else np.nan,
                    "scan_oracle_all": _scan_oracle_all(active, truth, level),
                    "scan_oracle": _scan_oracle(
                        active[truth["characteristic"]].to_numpy(), truth, level
                    )
                    if truth["drifted"]
                    else False,
                }
            )
    return pd.DataFrame(rows)


def wilson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (NaNs when there are no trials)."""
    if trials <= 0:
        return (math.nan, math.nan)
    z = float(stats.norm.isf((1.0 - confidence) / 2.0))
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = (
        z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    )
    return (max(0.0, centre - half), min(1.0, centre + half))


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Tabulate the study: each measure with its count, value and 95% interval.

    Rates carry Wilson intervals; start errors (months, detected drifts) carry the median and
    90th percentile; the known-date oracle's recall is its mean power over the same drifts.
    A drift's size is in standard deviations of its active series' noise (the marginal sd of
    the AR(1) around the series' level, ``sd``); recall is also given by the months of history
    from the drift's start on (at least :data:`BUFFER`) and for drifts of at least one sd of
    the noise's month-to-month change (``sd sqrt(2 (1 - phi))``).
    """
    drifted = results[results["drifted"].astype(bool)]
    null = results[~results["drifted"].astype(bool)]
    big = drifted[drifted["size_sd"].abs() >= 1.0]
    rows = []

    def rate(name: str, hits: pd.Series) -> None:
        k, m = int(hits.sum()), len(hits)
        lo, hi = wilson(k, m)
        rows.append({"measure": name, "n": m, "value": k / m if m else math.nan,
                     "low": lo, "high": hi})  # fmt: skip

    rate("drift recall, size >= 1 sd", big["flagged"].astype(bool))
    for lo_sd, hi_sd in ((0.5, 1.0), (1.0, 2.0), (2.0, 3.01)):
        part = drifted[drifted["size_sd"].abs().between(lo_sd, hi_sd, inclusive="left")]
        rate(f"drift recall, {lo_sd:g}-{min(hi_sd, 3.0):g} sd", part["flagged"].astype(bool))
    for lo_m, hi_m in ((36, 60), (60, 90), (90, 121)):
        part = big[big["months"].between(lo_m, hi_m, inclusive="left")]
        rate(f"drift recall >= 1 sd, {lo_m}-{hi_m - 1} months", part["flagged"].astype(bool))
    # Months of history from the drift's start on (the generator leaves at least BUFFER).
    after = big["months"] - big["start"]
    for lo_a, hi_a in ((BUFFER, 24), (24, 48), (48, 121)):
        part = big[after.between(lo_a, hi_a, inclusive="left")]
        rate(
            f"drift recall >= 1 sd, {lo_a}-{hi_a - 1} months from the start",
            part["flagged"].astype(bool),
        )
    # "1 sd" is the sd of the active series' noise around its level; the sd of its
    # month-to-month change is sqrt(2 (1 - phi)) times that (more for phi < 0.5).
    size = drifted["size_sd"].abs().to_numpy(dtype=float)
    monthly = size / np.sqrt(2.0 * (1.0 - drifted["phi"].to_numpy(dtype=float)))
    rate(
        "drift recall, size >= 1 sd of the month-to-month change",
        drifted["flagged"][monthly >= 1.0].astype(bool),
    )
    for group, members in _GROUPS.items():
        part = big[big["characteristic"].isin(members)]
        if len(part):
            rate(f"drift recall >= 1 sd, {group}", part["flagged"].astype(bool))
    found = big[big["flagged"].astype(bool)]
    # The bucket or sector that moved the other way names the drift rightly too.
    named = (found["found_characteristic"] == found["characteristic"]) | (
        found["found_characteristic"] == found["counterpart"]
    )
    rate("right characteristic, found drifts >= 1 sd", named)
    rate("false positives per null manager", null["flagged"].astype(bool))
    rate("false positives, absolute characteristics", null["flagged_absolute"].astype(bool))
    right = found[named]
    error = (right["found_start"].astype(float) - right["start"].astype(float)).abs()
    covered = (right["start_low"].astype(float) <= right["start"].astype(float)) & (
        right["start"].astype(float) <= right["start_high"].astype(float)
    )
    rate("start inside its 90% interval", covered)
    for name, q in (("median", 0.5), ("90th percentile", 0.9)):
        rows.append({"measure": f"start error (months), {name}", "n": len(error),
                     "value": float(error.quantile(q)) if len(error) else math.nan,
                     "low": math.nan, "high": math.nan})  # fmt: skip
    rate("scan oracle recall, size >= 1 sd", big["scan_oracle"].astype(bool))
    rate("all-series scan oracle recall, size >= 1 sd", big["scan_oracle_all"].astype(bool))
    rate("all-series scan oracle false positives", null["scan_oracle_all"].astype(bool))
    rows.append({"measure": "oracle recall, size >= 1 sd", "n": len(big),
                 "value": float(big["oracle_power"].mean()) if len(big) else math.nan,
                 "low": math.nan, "high": math.nan})  # fmt: skip
    return pd.DataFrame(rows).set_index("measure")
