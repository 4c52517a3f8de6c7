"""Detection power of the style-drift detector, measured on generated books.

A generator of characteristic histories independent of the demo and of ``data.synthetic``:
each book has 10-60 managers over 36-120 months and 3-5 benchmarks whose characteristics move
on their own (random walks for rates and roll-down, an index rebalancing step), which every
manager on that benchmark shares. A manager's characteristics are its benchmark's plus a
constant active position plus AR(1) noise (autocorrelation 0-0.5). A third of the managers
drift: one random characteristic ramps over 1-6 months, from a random month leaving at least a
year on each side, by 0.5-3 standard deviations of its active series, either way.

*Joint drifts.* A share of the drifts (:data:`JOINT_SHARE`, half by default) move several
characteristics together, as real ones do (:data:`JOINT_FAMILIES`): a drift drawn on rating,
high yield share or spread duration becomes a *quality* drift (per notch of rating, 6 points
of high yield share and 0.3 years of spread duration), one drawn on duration an *extension*
(per year of duration, 0.5 years of spread duration; in profile books the duration lands in
the intermediate and long buckets), each loading scaled by its own draw from 0.5 to 1.5. A
joint drift's size is the length of its move in sd of the independent noises it lands on,
``sqrt(sum (move_j / sd_j)^2)``: at equal size it carries the signal of a single drift,
spread over its series. The rest stay single-characteristic drifts, drawn as in every round.

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

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from scipy import stats

from fialloc.analytics import change_point
from fialloc.analytics.detection import wilson
from fialloc.analytics.drift import DRIFT_LEVEL, JOINT_DRIFT, detect_drift

__all__ = [
    "JOINT_FAMILIES",
    "JOINT_SHARE",
    "DriftBook",
    "breakdown",
    "generate_drift_book",
    "run_study",
    "summarize",
    "wilson",
]

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
#: Share of the drifts that move several characteristics together (see the module).
JOINT_SHARE: Final = 0.5
#: Joint drifts: family -> (lead characteristic, the move of each other characteristic per
#: unit of the lead's, in their units). Quality: one notch down the rating scale comes with 6
#: points of high yield share and 0.3 years of spread duration (bonds a notch lower are in
#: good part high yield, and credit replaces governments); extension: each year of duration
#: comes half through credit (0.5 years of spread duration). Each loading is scaled by its
#: own uniform draw from 0.5 to 1.5: no two managers drift along quite the same line.
JOINT_FAMILIES: Final = {
    "quality": ("credit_notch", {"high_yield_share": 0.06, "spread_duration": 0.3}),
    "extension": ("duration", {"spread_duration": 0.5}),
}
#: Profile books: the share of an extension's duration landing in the intermediate bucket
#: (uniform range; the rest in the long bucket).
_EXTENSION_INTERMEDIATE: Final = (0.3, 0.7)
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
        Per manager: ``drifted``, ``characteristic`` (a joint drift's lead), ``counterpart``
        (the bucket or sector that moved the other way, or ``""``), ``family`` (``single``,
        a :data:`JOINT_FAMILIES` name, or ``""`` without a drift), ``start``, ``ramp``,
        ``size_sd`` (signed, in sd of the active series; a joint drift's in sd of the noises
        it lands on), ``sd`` (marginal sd of the noise), ``phi``; and for every
        characteristic ``c`` the planted move ``move_<c>`` (its units, 0 if none), its
        noise's marginal sd ``sd_<c>`` and autocorrelation ``phi_<c>``.
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


def _joint_family(c: str) -> str:
    """Return the joint family a drift drawn on `c` becomes (empty: it stays single)."""
    if c in ("credit_notch", "high_yield_share", "spread_duration"):
        return "quality"
    return "extension" if c == "duration" else ""


def _joint_moves(
    rng: np.random.Generator, family: str, size: float, sds: dict[str, float], profile: bool
) -> dict[str, float]:
    """Each characteristic's move (its units) in a joint drift of `size` sd.

    The move's length in sd of the independent noises it lands on, ``sqrt(sum (move_j /
    sd_j)^2)``, is ``|size|``: a joint drift of 1 sd carries as much signal as a single one
    of 1 sd, spread over its series. In a profile book an extension's duration lands in the
    intermediate and long buckets (duration, their sum plus its own noise, follows).
    """
    lead, loadings = JOINT_FAMILIES[family]
    unit = {lead: 1.0} | {name: v * float(rng.uniform(0.5, 1.5)) for name, v in loadings.items()}
    if profile and lead == "duration":
        share = float(rng.uniform(*_EXTENSION_INTERMEDIATE))
        del unit["duration"]
        unit |= {"krd_intermediate": share, "krd_long": 1.0 - share}
    length = math.sqrt(sum((v / sds[name]) ** 2 for name, v in unit.items()))
    moves = {name: size * v / length for name, v in unit.items()}
    if profile and lead == "duration":
        moves["duration"] = moves["krd_intermediate"] + moves["krd_long"]
    return moves


def _single_moves(c: str, counterpart: str, move: float) -> dict[str, float]:
    """Each characteristic's move in a single drift (with its counterpart's, if any)."""
    if not counterpart:
        return {c: move}
    if c == "duration":  # through a bucket: duration is the buckets' sum
        return {c: move, counterpart: move}
    return {c: move, counterpart: -move}


def _plant_drift(
    streams: tuple[np.random.Generator, np.random.Generator, np.random.Generator],
    active: dict[str, np.ndarray],
    drift_names: list[str],
    sds: dict[str, float],
    profile: bool,
    joint_share: float,
) -> tuple[dict[str, object], dict[str, float]]:
    """Draw one drift and add it to `active` (in place); return its truth and its moves.

    `streams`: the book's, the profile's and the joint drifts' generators. The
    characteristic, start, ramp and size are drawn from the book's stream as in every round;
    whether the drift is joint, and its loadings, from the joint stream.
    """
    rng, extra, joint_rng = streams
    n = len(active[drift_names[0]])
    c = drift_names[int(rng.integers(len(drift_names)))]
    start = int(rng.integers(BUFFER, n - BUFFER + 1))
    ramp = int(rng.integers(1, 7))
    size = float(rng.uniform(0.5, 3.0) * rng.choice([-1.0, 1.0]))
    unit = np.clip((np.arange(n) - start + 1) / ramp, 0.0, 1.0)
    family = _joint_family(c) if joint_rng.random() < joint_share else ""
    if family:
        c = JOINT_FAMILIES[family][0]
        moves = _joint_moves(joint_rng, family, size, sds, profile)
        for name, move in moves.items():
            if name != "duration" or not profile:  # there: the buckets' sum
                active[name] = active[name] + move * unit
        counterpart = ""
    else:
        family = "single"
        counterpart = _plant(active, c, size * sds[c] * unit, extra, profile)
        moves = _single_moves(c, counterpart, size * sds[c])
    truth = {"drifted": True, "characteristic": c, "counterpart": counterpart, "family": family,
             "start": start, "ramp": ramp, "size_sd": size, "sd": sds[c]}  # fmt: skip
    return truth, moves


def generate_drift_book(
    seed: int, phi_spread: float = 0.0, profile: bool = False, joint_share: float = JOINT_SHARE
) -> DriftBook:
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
    joint_share : float
        Share of the drifts that are joint (:data:`JOINT_FAMILIES`), in [0, 1]. Which drifts
        are joint and their loadings come from a stream of their own: every other draw is
        that of the same book with ``joint_share=0`` (last rounds' books), so its
        single-characteristic drifts are theirs.

    Returns
    -------
    DriftBook
        Absolute characteristics (duration, spread duration and key-rate buckets in years,
        rating notch, high yield share and sector weights as decimals) of every manager and of
        its benchmark, months 0..n-1, and the planted truth.
    """
    if not 0.0 <= joint_share <= 1.0:
        msg = f"generate_drift_book: joint_share must be in [0, 1], got {joint_share!r}"
        raise ValueError(msg)
    rng = np.random.default_rng([seed, 15])
    # The profile's and the joint drifts' own streams, so that the four characteristics'
    # draws stay as they were.
    extra = np.random.default_rng([seed, 15, 1])
    joint_rng = np.random.default_rng([seed, 15, 2])
    n_managers = int(rng.integers(10, 61))
    n = int(rng.integers(36, 121))
    bench_paths = _benchmark_paths(rng, extra, n, profile)
    managers, benchmarks, truth = {}, {}, {}
    for k in range(n_managers):
        mid = f"D{k + 1:02d}"
        bench = bench_paths[int(rng.integers(len(bench_paths)))]
        active, truth[mid] = _draw_manager((rng, extra, joint_rng), n, phi_spread, profile,
                                           joint_share)  # fmt: skip
        managers[mid] = bench + pd.DataFrame(active)[bench.columns]
        benchmarks[mid] = bench
    return DriftBook(managers, benchmarks, pd.DataFrame.from_dict(truth, orient="index"))


def _benchmark_paths(
    rng: np.random.Generator, extra: np.random.Generator, n: int, profile: bool
) -> list[pd.DataFrame]:
    """Draw a book's 3-5 benchmarks: random walks and one rebalancing step (and profiles)."""
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
    return bench_paths


def _draw_manager(
    streams: tuple[np.random.Generator, np.random.Generator, np.random.Generator],
    n: int,
    phi_spread: float,
    profile: bool,
    joint_share: float,
) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """Draw one manager's active characteristics (with its drift, if any) and its truth row.

    `streams`: the book's, the profile's and the joint drifts' generators (see
    :func:`_plant_drift`).
    """
    rng, extra, _ = streams
    names = list(_SPEC)
    drift_names = [*names, *_BUCKETS, *_SECTORS] if profile else names
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
        sds["duration"] = math.sqrt(sds["duration"] ** 2 + sum(more_sds[b] ** 2 for b in _BUCKETS))
        sds |= more_sds
        phis |= dict.fromkeys(more, phi)
    row: dict[str, object] = {"drifted": False, "characteristic": "", "counterpart": "",
                              "family": "", "start": -1, "ramp": 0, "size_sd": 0.0,
                              "sd": np.nan, "phi": phi}  # fmt: skip
    planted_moves = dict.fromkeys(drift_names, 0.0)
    if rng.random() < DRIFT_SHARE:
        planted, drift_moves = _plant_drift(streams, active, drift_names, sds, profile, joint_share)
        planted_moves |= drift_moves
        row |= planted | {"phi": phis[str(planted["characteristic"])]}
    row |= {f"move_{name}": move for name, move in planted_moves.items()}
    if profile:
        active["duration"] = active["duration"] + sum(active[b] for b in _BUCKETS)
    row |= {f"sd_{c}": sds[c] for c in sds} | {f"phi_{c}": phis[c] for c in phis}
    return active, row


def _oracle_series(row: pd.Series, profile: bool) -> dict[str, float]:
    """Return the series a drift moved whose noises are independent, and their moves (units).

    A single drift's is its characteristic alone (the oracles' reading since the first
    round); a joint drift's every series it moved, less a profile book's duration (the
    buckets' sum: its move is theirs).
    """
    if row["family"] == "single":
        return {str(row["characteristic"]): float(row["size_sd"]) * float(row["sd"])}
    moves = {str(k).removeprefix("move_"): float(v) for k, v in row.items()
             if str(k).startswith("move_") and v != 0.0}  # fmt: skip
    if profile:
        moves.pop("duration", None)
    return moves


def _oracle_power(row: pd.Series, n: int, level: float, profile: bool) -> float:
    """Power of the known-date, known-noise test of the planted shift (two-sided, `level`).

    GLS with the true AR(1) noise of each moved series, the series combined along the known
    direction (independent noises: the noncentralities add in squares).
    """
    t = np.arange(n)
    r = np.clip((t - row["start"] + 1) / row["ramp"], 0.0, 1.0)
    rc = r - r.mean()
    total = 0.0
    for name, move in _oracle_series(row, profile).items():
        phi, sd = _noise(row, name)
        # The shift's standard error from the whitened regressor.
        white = np.concatenate([[rc[0] * math.sqrt(1 - phi * phi)], rc[1:] - phi * rc[:-1]])
        innov_sd = sd * math.sqrt(1.0 - phi * phi)
        total += (move * float(np.linalg.norm(white)) / innov_sd) ** 2
    noncentral = math.sqrt(total)
    z = stats.norm.isf(level / 2.0)
    return float(stats.norm.sf(z - noncentral) + stats.norm.cdf(-z - noncentral))


def _noise(row: pd.Series, name: str) -> tuple[float, float]:
    """Return a series' noise autocorrelation and marginal sd (a single drift's: its own)."""
    if row["family"] == "single" and name == row["characteristic"]:
        return float(row["phi"]), float(row["sd"])
    return float(row[f"phi_{name}"]), float(row[f"sd_{name}"])


def _scan_oracle(active: pd.DataFrame, row: pd.Series, profile: bool) -> float:
    """Return the scan's p-value for the drift with its series, direction and noise known.

    The moved series combined with weights ``move_j / omega_j^2`` (the known direction,
    whitened) are one series of long-run variance ``sum move_j^2 / omega_j^2``, scanned
    with the noise known; its null at the drift's autocorrelation (a manager's
    characteristics share it unless the book spreads them).
    """
    combined, omega2 = np.zeros(len(active)), 0.0
    for name, move in _oracle_series(row, profile).items():
        phi, sd = _noise(row, name)
        own = sd * sd * (1.0 - phi * phi) / (1.0 - phi) ** 2
        combined += move / own * active[name].to_numpy()
        omega2 += move * move / own
    phi = float(row["phi"])
    stat = float(change_point.known_noise_statistic(combined[None, :], omega2)[0])
    null = change_point.known_noise_null(len(active), round(phi / 0.05) * 0.05)
    exceed = len(null) - int(np.searchsorted(null, stat, side="left"))
    return (1.0 + exceed) / (1.0 + len(null))


def _scan_oracle_all(active: pd.DataFrame, row: pd.Series) -> float:
    """Return the known-noise scan's p-value for the manager, every series' noise known.

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
    return 1.0 - (1.0 - min(p_values)) ** len(p_values)


def _known_phi_oracle(active: pd.DataFrame, row: pd.Series) -> float:
    """Return the max-T's p-value with the manager's noise autocorrelation known.

    The autocorrelation is the mean over the manager's characteristics (one value unless
    the book has a ``phi_spread``: then a pooled one, as the detector's estimate is), on the
    :data:`fialloc.analytics.change_point.PHI_GRID` value nearest; the null is simulated at it.
    """
    mean = float(np.mean([float(row[f"phi_{c}"]) for c in active.columns]))
    phi = round(round(mean / 0.05) * 0.05, 2)
    values = active.to_numpy(dtype=np.float64).T
    stat = change_point.known_phi_statistic(values, phi)
    null = change_point.known_phi_null(values.shape[1], phi, values.shape[0])
    exceed = len(null) - int(np.searchsorted(null, stat, side="left"))
    return (1.0 + exceed) / (1.0 + len(null))


def run_study(
    n_books: int = 50,
    seed: int = 0,
    level: float = DRIFT_LEVEL,
    phi_spread: float = 0.0,
    profile: bool = False,
    joint_share: float = JOINT_SHARE,
    joint: bool = JOINT_DRIFT,
) -> pd.DataFrame:
    """Run the detector on `n_books` generated books; one row per manager.

    Book ``b`` is :func:`generate_drift_book` of ``seed * 100_000 + b`` (with `phi_spread`,
    `profile` and `joint_share`); `level` is the false-positive rate per manager the
    detector (and the oracles) work at; `joint` is the detector's setting
    (:func:`fialloc.analytics.drift.detect_drift`).

    Columns: the truth (:class:`DriftBook`), ``book``, ``months``, ``level``, ``flagged``
    (active, the detector with `joint`) and its ``p_value``; ``flagged_max_t`` and
    ``flagged_combined`` (the max-T over single characteristics alone, and combined with the
    joint test: one scan gives both) with their p-values ``p_max_t`` and ``p_combined``;
    ``found_characteristic``, ``found_start``, ``start_low``, ``start_high``;
    ``joint_start`` (the joint scan's start); ``flagged_absolute`` (the detector on absolute
    characteristics); ``oracle_power`` (the known-date test's power); ``scan_oracle`` (the
    known-noise scan along the drift's known series and direction) and ``scan_oracle_all``
    (the known-noise scan over all of the manager's characteristics, which it must pick from
    as the detector does), with their p-values ``p_scan_oracle`` (1 for a null manager) and
    ``p_scan_oracle_all``, so that one run gives every level's verdicts; ``p_known_phi``
    (the detector's max-T with the noise's autocorrelation known, its variance estimated).
    """
    if n_books < 1:
        msg = f"run_study: n_books must be at least 1, got {n_books!r}"
        raise ValueError(msg)
    rows = []
    for b in range(n_books):
        book = generate_drift_book(seed * 100_000 + b, phi_spread, profile, joint_share)
        for mid, truth in book.truth.iterrows():
            absolute = book.managers[str(mid)]
            n = len(absolute)
            active = absolute - book.benchmarks[str(mid)]
            verdict = detect_drift(active, level, joint=True)
            p_max_t = float(verdict.details["p_adjusted"].min())
            max_t = p_max_t <= level
            shared = change_point.fit_joint_shift(active.to_numpy(dtype=np.float64).T)
            raw = detect_drift(absolute, level, joint=joint)
            drifted = bool(truth["drifted"])
            p_scan = _scan_oracle(active, truth, profile) if drifted else 1.0
            p_scan_all = _scan_oracle_all(active, truth)
            p_known_phi = _known_phi_oracle(active, truth)
            rows.append(
                {
                    **truth.to_dict(),
                    "manager_id": mid,
                    "book": b,
                    "months": n,
                    "level": level,
                    "flagged": verdict.drifted if joint else max_t,
                    "p_value": verdict.p_value
                    if joint
                    else float(verdict.details["p_adjusted"].min()),
                    "flagged_max_t": max_t,
                    "flagged_combined": verdict.drifted,
                    "p_max_t": p_max_t,
                    "p_combined": verdict.p_value,
                    "found_characteristic": verdict.characteristic,
                    "found_start": verdict.start,
                    "start_low": verdict.start_low,
                    "start_high": verdict.start_high,
                    "joint_start": shared.start,
                    "flagged_absolute": raw.drifted,
                    "oracle_power": _oracle_power(truth, n, level, profile) if drifted else np.nan,
                    "scan_oracle_all": p_scan_all <= level,
                    "scan_oracle": p_scan <= level,
                    "p_scan_oracle": p_scan,
                    "p_scan_oracle_all": p_scan_all,
                    "p_known_phi": p_known_phi,
                }
            )
    return pd.DataFrame(rows)


def _named_rightly(found: pd.DataFrame) -> pd.Series:
    """Whether each found drift names a series it moved.

    Any series the drift moved names it rightly: a curve trade's or a rotation's other side,
    every series of a joint drift.
    """
    columns = [c for c in found.columns if str(c).startswith("move_")]
    moved = found[columns].to_numpy(dtype=float) != 0.0
    names = np.array([str(c).removeprefix("move_") for c in columns])
    hits = [
        str(f) in set(names[m]) for f, m in zip(found["found_characteristic"], moved, strict=True)
    ]
    return pd.Series(hits, index=found.index, dtype=bool)


def _by_family(
    rate: Callable[[str, pd.Series], None], drifted: pd.DataFrame, null: pd.DataFrame
) -> None:
    """Add the recall by family of drift and both detectors' rates to a summary.

    The joint drifts' recall also by size and by months from the start; the max-T alone's
    and the combined test's recall and false positives.
    """
    big = drifted[drifted["size_sd"].abs() >= 1.0]
    for family in ("single", *JOINT_FAMILIES):
        part = big[big["family"] == family]
        if len(part):
            rate(f"drift recall >= 1 sd, family {family}", part["flagged"].astype(bool))
    joint_all = drifted[drifted["family"].isin(list(JOINT_FAMILIES))]
    for lo_sd, hi_sd in ((0.5, 1.0), (1.0, 2.0), (2.0, 3.01)):
        part = joint_all[joint_all["size_sd"].abs().between(lo_sd, hi_sd, inclusive="left")]
        rate(
            f"joint drifts: recall, {lo_sd:g}-{min(hi_sd, 3.0):g} sd", part["flagged"].astype(bool)
        )
    joint = big[big["family"].isin(list(JOINT_FAMILIES))]
    after = joint["months"] - joint["start"]
    for lo_a, hi_a in ((BUFFER, 24), (24, 48), (48, 121)):
        part = joint[after.between(lo_a, hi_a, inclusive="left")]
        rate(
            f"joint drifts: recall >= 1 sd, {lo_a}-{hi_a - 1} months from the start",
            part["flagged"].astype(bool),
        )
    single = big[big["family"] == "single"]
    for detector in ("max_t", "combined"):
        flagged = f"flagged_{detector}"
        rate(f"{detector}: recall >= 1 sd, single drifts", single[flagged].astype(bool))
        rate(f"{detector}: recall >= 1 sd, joint drifts", joint[flagged].astype(bool))
        rate(f"{detector}: false positives per null manager", null[flagged].astype(bool))


def _start_errors(
    rate: Callable[[str, pd.Series], None],
    rows: list[dict[str, object]],
    right: pd.DataFrame,
    found_joint: pd.DataFrame,
) -> None:
    """Add the start months' interval coverage and errors to a summary.

    `right`: the found drifts that name a series they moved; `found_joint`: the found joint
    drifts (their errors from the verdict's start and from the joint scan's).
    """
    error = (right["found_start"].astype(float) - right["start"].astype(float)).abs()
    covered = (right["start_low"].astype(float) <= right["start"].astype(float)) & (
        right["start"].astype(float) <= right["start_high"].astype(float)
    )
    rate("start inside its 90% interval", covered)
    for name, q in (("median", 0.5), ("90th percentile", 0.9)):
        rows.append({"measure": f"start error (months), {name}", "n": len(error),
                     "value": float(error.quantile(q)) if len(error) else math.nan,
                     "low": math.nan, "high": math.nan})  # fmt: skip
    for name, column in (
        ("joint drifts", "found_start"),
        ("joint drifts, joint scan", "joint_start"),
    ):
        error = (found_joint[column].astype(float) - found_joint["start"].astype(float)).abs()
        rows.append({"measure": f"start error (months), median, {name}", "n": len(error),
                     "value": float(error.median()) if len(error) else math.nan,
                     "low": math.nan, "high": math.nan})  # fmt: skip


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
    single = big[big["family"] == "single"]
    for group, members in _GROUPS.items():
        part = single[single["characteristic"].isin(members)]
        if len(part):
            rate(f"drift recall >= 1 sd, {group}", part["flagged"].astype(bool))
    joint = big[big["family"].isin(list(JOINT_FAMILIES))]
    _by_family(rate, drifted, null)
    found = big[big["flagged"].astype(bool)]
    named = _named_rightly(found)
    rate("right characteristic, found drifts >= 1 sd", named)
    rate("false positives per null manager", null["flagged"].astype(bool))
    rate("false positives, absolute characteristics", null["flagged_absolute"].astype(bool))
    _start_errors(rate, rows, found[named], joint[joint["flagged"].astype(bool)])
    rate("scan oracle recall, size >= 1 sd", big["scan_oracle"].astype(bool))
    rate("scan oracle recall >= 1 sd, joint drifts", joint["scan_oracle"].astype(bool))
    rate("all-series scan oracle recall, size >= 1 sd", big["scan_oracle_all"].astype(bool))
    rate("all-series scan oracle false positives", null["scan_oracle_all"].astype(bool))
    level = float(results["level"].iloc[0])
    rate("known-autocorrelation max-T recall, size >= 1 sd", big["p_known_phi"] <= level)
    rate("known-autocorrelation max-T false positives", null["p_known_phi"] <= level)
    rows.append({"measure": "oracle recall, size >= 1 sd", "n": len(big),
                 "value": float(big["oracle_power"].mean()) if len(big) else math.nan,
                 "low": math.nan, "high": math.nan})  # fmt: skip
    return pd.DataFrame(rows).set_index("measure")


#: :func:`breakdown`'s splits: name -> (column or derived quantity, bucket edges, left-closed).
_SPLITS: Final = {
    "months from the start": ("after", (12, 18, 24, 36, 48, 121)),
    "months of history": ("months", (36, 60, 90, 121)),
    "ramp (months)": ("ramp", (1, 3, 5, 7)),
    "noise autocorrelation": ("phi", (0.0, 0.1, 0.2, 0.3, 0.4, 0.81)),
}


def breakdown(results: pd.DataFrame, level: float, profile: bool = False) -> pd.DataFrame:
    """Where the drifts of at least 1 sd are missed, by the detector and by each oracle.

    Recall at `level` (read off the recorded p-values, so any level from one run) split by
    months of history from the drift's start on, months of history, ramp, the noise's
    autocorrelation and the family of drift. The detector's recall carries its Wilson
    interval; beside it the detector with the noise's autocorrelation known (its variance
    estimated), the all-series scan oracle (knows every series' noise, not which moved nor
    when), the scan oracle (knows the moved series, their direction and noise) and the
    known-date oracle (its mean power).

    Parameters
    ----------
    results : DataFrame
        :func:`run_study`'s rows (of a study with the same `profile`).
    level : float
        False-positive rate per manager, in (0, 1).

    Returns
    -------
    DataFrame
        Indexed by (``split``, ``bucket``): ``n`` and the recalls ``detector`` (with
        ``low``, ``high``), ``known_phi``, ``all_series``, ``scan`` and ``known_date``.
    """
    if not 0.0 < level < 1.0:
        msg = f"breakdown: level must be in (0, 1), got {level!r}"
        raise ValueError(msg)
    drifted = results[results["drifted"].astype(bool)]
    big = drifted[drifted["size_sd"].abs() >= 1.0]
    big = big.assign(after=big["months"] - big["start"])
    power = np.array([_oracle_power(row, int(row["months"]), level, profile)
                      for _, row in big.iterrows()])  # fmt: skip
    parts: dict[tuple[str, str], pd.Series] = {}
    for split, (column, edges) in _SPLITS.items():
        values = big[column].astype(float)
        for lo, hi in itertools.pairwise(edges):
            parts[(split, f"{lo:g}-{hi:g}")] = (values >= lo) & (values < hi)
    for family in big["family"].unique():
        parts[("family", str(family))] = big["family"] == family
    parts[("all", "")] = pd.Series(True, index=big.index)
    rows = {}
    for key, inside in parts.items():
        part = big[inside.to_numpy()]
        k = int((part["p_value"] <= level).sum())
        low, high = wilson(k, len(part))
        rows[key] = {"n": len(part), "detector": k / len(part) if len(part) else math.nan,
                     "low": low, "high": high,
                     "known_phi": float((part["p_known_phi"] <= level).mean()),
                     "all_series": float((part["p_scan_oracle_all"] <= level).mean()),
                     "scan": float((part["p_scan_oracle"] <= level).mean()),
                     "known_date": float(power[inside.to_numpy()].mean())
                     if len(part) else math.nan}  # fmt: skip
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["split", "bucket"])
    return table
