"""Style drift: on active characteristics, dated with an interval; and from returns.

Holdings-based drift
    Each month a manager's characteristics (the columns of the ``manager_characteristics``
    table: effective duration, average rating notch, high yield share, and where given the
    spread duration, the key-rate profile and the sector weights; :func:`drift_columns`) less
    its benchmark's (:func:`benchmark_characteristics`: the engine's one definition, the
    constituents repriced each month), are the *active* characteristics; a drift is a lasting
    shift in the level of an active series, found, dated and tested by
    :func:`fialloc.analytics.change_point.fit_shifts`. A move the benchmark shares (rates,
    roll-down, the index's own mix) cancels in the difference and is never a drift.
    Without benchmark characteristics the reference is the median of the manager's style peers
    (the other managers of its ``style``), and the verdict says so; a manager with neither is
    not estimable. Each manager is one test: its characteristics are tested together over the
    months they share (:func:`fialloc.analytics.change_point.fit_shifts`: the noise's
    autocorrelation pooled over them, the largest statistic against its simulated
    distribution for that many characteristics: max-T), against :data:`DRIFT_LEVEL`. With
    ``joint=True`` the max-T is combined with the joint test of one shift the
    characteristics share (:func:`fialloc.analytics.change_point.fit_joint_shift`: a quality
    drift moves rating, high yield share and spread duration together); on held-out books
    with such drifts it found no more of them than the max-T alone and lost some single
    drifts, so it is off by default (:data:`JOINT_DRIFT`; BENCHMARKS.md).
Returns-based drift
    Rolling style regressions and the month the loadings broke (:func:`style_break`),
    reported beside.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats

from fialloc.analytics import change_point
from fialloc.analytics.context import DeskContext
from fialloc.benchmark_characteristics import (
    benchmark_characteristics as characteristics_of_benchmarks,
)
from fialloc.data import Portfolio
from fialloc.data.benchmark_checks import KRD_PREFIX, SECTOR_PREFIX
from fialloc.data.vocabulary import HIGH_YIELD_LETTERS, rating_letter
from fialloc.errors import NotEstimableError
from fialloc.factor_returns import style_factor_returns

__all__ = [
    "CHARACTERISTICS",
    "DRIFT_LEVEL",
    "JOINT_DRIFT",
    "KEY_RATE_BUCKETS",
    "MIN_DRIFT_MONTHS",
    "DriftVerdict",
    "active_characteristics",
    "benchmark_characteristics",
    "characteristic_label",
    "describe_drift",
    "detect_drift",
    "drift_columns",
    "drift_flags",
    "drift_metrics",
    "drifted_characteristics",
    "return_factors",
    "rolling_betas",
    "style_break",
    "style_drift",
    "style_position",
]

#: Chance of calling a drift in a manager that did not drift (per manager, all its
#: characteristics together). 1%: a 25-manager book then raises a false alarm in about one
#: review in five, rather than in three reviews out of four at 5%; the power this costs is
#: measured in :mod:`fialloc.analytics.drift_study`.
DRIFT_LEVEL: Final = 0.01
#: Whether a manager's test also looks for one shift its characteristics share (a quality
#: drift moving rating, high yield share and spread duration together), combined with the
#: max-T over single characteristics. Off: on 50 held-out books where half the drifts move
#: several characteristics it found 0.72 of those against the max-T's 0.69 but 0.70 of the
#: single drifts against 0.73, with 1.1% false positives against 0.9% at the 1% level (at 5%
#: no gain at all); measured in :mod:`fialloc.analytics.drift_study`.
JOINT_DRIFT: Final = False
#: Fewer months than this and a manager's drift is not estimable.
MIN_DRIFT_MONTHS: Final = change_point.MIN_BEFORE + change_point.MIN_AFTER
#: Characteristic (column of ``manager_characteristics``) -> (label, unit); beside these, the
#: key-rate buckets (:data:`KEY_RATE_BUCKETS`) and sector weights (``sector_<name>``).
CHARACTERISTICS: Final = {
    "duration": ("duration", "years"),
    "spread_duration": ("spread duration", "years"),
    "credit_notch": ("credit quality", "notches"),
    "high_yield_share": ("high yield share", "share"),
}
#: The key-rate profile as three buckets of key-rate durations (``krd_<tenor>y`` columns summed
#: over the tenors up to the bucket's end and past the previous one's): name -> (label, last
#: tenor in years). Three sums rather than nine tenors: a move along the curve shows in them,
#: and every characteristic tested costs the others power.
KEY_RATE_BUCKETS: Final = {
    "krd_short": ("short key-rate duration (to 3y)", 3.0),
    "krd_intermediate": ("intermediate key-rate duration (over 3y to 10y)", 10.0),
    "krd_long": ("long key-rate duration (over 10y)", math.inf),
}
_KRD_NAME: Final = re.compile(rf"^{KRD_PREFIX}(\d+(?:\.\d+)?)y$")
#: Reference a manager's characteristics are measured against.
BENCHMARK: Final = "benchmark"
PEERS: Final = "style peers' median"


@dataclass(frozen=True)
class DriftVerdict:
    """Whether one manager's style drifted, where, from when, by how much, and how sure.

    Attributes
    ----------
    estimable : bool
        False when no characteristic could be tested; `reason` says why.
    reason : str
        Why not estimable (empty otherwise).
    drifted : bool
        ``p_value <= level``.
    characteristic : str
        The characteristic with the strongest evidence (column name; empty if none tested).
    start, start_low, start_high : date or None
        First month of the drift's ramp and its interval
        (:data:`fialloc.analytics.change_point.INTERVAL_LEVEL`).
    ramp_months : int
        Months the move took (1 = a step).
    shift : float
        Change of the active characteristic, in its units.
    shift_sd : float
        The change in standard deviations of the active series around its fitted path.
    z : float
        Signed square root of the likelihood-ratio statistic.
    p_value : float
        The manager's: adjusted for the number of characteristics tested (the simulated
        largest statistic, see :mod:`fialloc.analytics.change_point`), and with `joint` the
        combined max-T and joint test's; NaN when not estimable.
    level : float
        The false-positive rate per manager the verdict is taken at.
    months : int
        Months of history tested.
    details : DataFrame
        Per characteristic: ``tested`` (bool), ``reason``, ``start``, ``start_low``,
        ``start_high``, ``ramp_months``, ``shift``, ``sd``, ``shift_sd``, ``z``, ``p_value``
        (one characteristic alone), ``p_adjusted`` (for the number tested: max-T), ``phi``
        (noise autocorrelation used) and ``significant`` (the manager drifted and
        ``p_adjusted <= level``; when only the joint test found the drift, the
        characteristics whose move at the shared start passes the level, and the largest
        always).
    """

    estimable: bool
    reason: str
    drifted: bool
    characteristic: str
    start: dt.date | None
    start_low: dt.date | None
    start_high: dt.date | None
    ramp_months: int
    shift: float
    shift_sd: float
    z: float
    p_value: float
    level: float
    months: int
    details: pd.DataFrame

    def as_row(self) -> dict[str, object]:
        """Return the verdict without its details, as one table row."""
        return {k: v for k, v in self.__dict__.items() if k != "details"}


_DETAIL_COLUMNS: Final = ("tested", "reason", "start", "start_low", "start_high", "ramp_months",
                          "shift", "sd", "shift_sd", "z", "p_value", "p_adjusted", "phi",
                          "significant")  # fmt: skip


def detect_drift(
    active: pd.DataFrame,
    level: float = DRIFT_LEVEL,
    min_before: int = change_point.MIN_BEFORE,
    min_after: int = change_point.MIN_AFTER,
    max_ramp: int = change_point.MAX_RAMP,
    joint: bool = JOINT_DRIFT,
) -> DriftVerdict:
    """Test one manager's active characteristics for a lasting shift, and date it.

    Parameters
    ----------
    active : DataFrame
        Months (index, oldest first, any labels) by characteristic (columns): the manager's
        characteristic less its reference's, in the characteristic's units. Missing values
        drop that month for that characteristic.
    level : float
        False-positive rate per manager (over all its characteristics), in (0, 1).
    min_before, min_after, max_ramp : int
        Months required before a start (the baseline) and from it on; longest ramp tried.
    joint : bool
        Combine the max-T over the characteristics with the joint test of one shift they
        share (:func:`fialloc.analytics.change_point.fit_joint_shift`); False: the max-T
        alone.

    Returns
    -------
    DriftVerdict
        Not estimable (with the reason) when no characteristic has at least
        ``min_before + min_after`` months or every one is constant; never raises for the data.

    Raises
    ------
    ValueError
        If `active` is not a DataFrame with at least one column, `level` is not in (0, 1) or
        the month settings are out of range.
    """
    if not isinstance(active, pd.DataFrame) or active.shape[1] == 0:
        msg = "detect_drift: `active` must be a DataFrame of months by characteristics"
        raise ValueError(msg)
    _check_level("detect_drift", level)
    if min_before < 2 or min_after < 2 or max_ramp < 1:
        msg = (
            "detect_drift: need min_before >= 2, min_after >= 2 and max_ramp >= 1; got "
            f"{min_before!r}, {min_after!r}, {max_ramp!r}"
        )
        raise ValueError(msg)
    active = active.sort_index()
    rows, series = _testable_series(active, min_before + min_after)
    # The characteristics are tested together over the months they all have.
    together = pd.DataFrame(series).dropna()
    manager_p, shared = math.nan, None
    if series and len(together) < min_before + min_after:
        for column in series:
            rows[column]["reason"] = (
                f"{len(together)} months with every characteristic, need {min_before + min_after}"
            )
    elif series:
        fits, manager_p, shared = _fit_together(together, joint, min_before, min_after, max_ramp)
        _record_fits(rows, together.index, zip(together.columns, fits, strict=True), level)
    details = pd.DataFrame.from_dict(rows, orient="index", columns=list(_DETAIL_COLUMNS))
    details.index.name = "characteristic"
    months = int(active.dropna(how="all").shape[0])
    return _verdict(details, together, shared, manager_p, level, months)


def _verdict(
    details: pd.DataFrame,
    together: pd.DataFrame,
    shared: change_point.JointShiftFit | None,
    p: float,
    level: float,
    months: int,
) -> DriftVerdict:
    """Assemble a manager's verdict from its characteristics' details and p-value `p`."""
    tested = details[details["tested"].astype(bool)]
    if tested.empty:
        reason = "; ".join(f"{c}: {r}" for c, r in details["reason"].items())
        return DriftVerdict(False, reason or "no characteristics", False, "", None, None, None,
                            0, np.nan, np.nan, np.nan, np.nan, level, months, details)  # fmt: skip
    # Strongest evidence: smallest p-value, then largest |z| (p-values tie at the simulation's
    # resolution); the first of a tie as a stable sort of the rows keeps it.
    abs_z = np.abs(tested["z"].to_numpy(dtype=np.float64))
    first = int(np.lexsort((-abs_z, tested["p_adjusted"].to_numpy(dtype=np.float64)))[0])
    lead = _lead(tested.iloc[first], shared, together, details, p, level)
    return DriftVerdict(
        estimable=True,
        reason="",
        drifted=p <= level,
        characteristic=str(lead["characteristic"]),
        start=lead["start"],
        start_low=lead["start_low"],
        start_high=lead["start_high"],
        ramp_months=int(lead["ramp_months"]),
        shift=float(lead["shift"]),
        shift_sd=float(lead["shift_sd"]),
        z=float(lead["z"]),
        p_value=p,
        level=level,
        months=months,
        details=details,
    )


def _testable_series(
    active: pd.DataFrame, min_months: int
) -> tuple[dict[str, dict[str, object]], dict[str, pd.Series]]:
    """Return each characteristic's detail row and the values of those that can be tested.

    A row starts untested, with the reason when the characteristic cannot be (fewer than
    `min_months` finite values, or constant); the others' finite values are returned.
    """
    rows: dict[str, dict[str, object]] = {}
    series = {}
    for column in active.columns:
        values = pd.to_numeric(active[column], errors="coerce")
        values = values[np.isfinite(values.to_numpy(dtype=np.float64))]
        row: dict[str, object] = dict.fromkeys(_DETAIL_COLUMNS, np.nan)
        row.update(tested=False, significant=False, reason="")
        if len(values) < min_months:
            row["reason"] = f"{len(values)} months, need {min_months}"
        elif np.ptp(values.to_numpy(dtype=np.float64)) <= 1e-12 * max(
            1.0, float(values.abs().max())
        ):
            row["reason"] = "the series is constant: no level to shift"
        else:
            series[str(column)] = values
        rows[str(column)] = row
    return rows, series


def _record_fits(
    rows: dict[str, dict[str, object]],
    months: pd.Index,
    fits: Iterable[tuple[str, change_point.ShiftFit]],
    level: float,
) -> None:
    """Write each tested characteristic's fit into its detail row (dates from `months`)."""
    for column, fit in fits:
        rows[column].update(
            tested=True,
            start=months[fit.start],
            start_low=months[fit.start_low],
            start_high=months[fit.start_high],
            ramp_months=fit.ramp,
            shift=fit.shift,
            sd=fit.sd,
            shift_sd=fit.shift_sd,
            z=fit.z,
            p_value=fit.p_value,
            p_adjusted=fit.p_adjusted,
            phi=fit.phi,
            significant=fit.p_adjusted <= level,
        )


def _fit_together(
    together: pd.DataFrame, joint: bool, min_before: int, min_after: int, max_ramp: int
) -> tuple[list[change_point.ShiftFit], float, change_point.JointShiftFit | None]:
    """Fit every characteristic's shift; return the fits, the manager's p-value, the joint fit."""
    values = together.to_numpy(dtype=np.float64).T
    if joint and len(values) > 1:
        shared = change_point.fit_joint_shift(values, min_before, min_after, max_ramp)
        return list(shared.series), shared.p_combined, shared
    fits = change_point.fit_shifts(values, min_before, min_after, max_ramp)
    return fits, min(fit.p_adjusted for fit in fits), None


def _lead(
    strongest: pd.Series,
    shared: change_point.JointShiftFit | None,
    together: pd.DataFrame,
    details: pd.DataFrame,
    p: float,
    level: float,
) -> dict[str, Any]:
    """Return the characteristic a verdict leads with and its fit; name the drifted in place.

    The strongest single characteristic (`strongest`, its detail row) and its own fit, unless
    only the joint test found the drift (see :func:`_joint_lead`). No characteristic is named
    (``significant``) in a manager whose test found no drift.
    """
    if p > level:
        details["significant"] = False
    elif shared is not None and not details["significant"].astype(bool).any():
        return _joint_lead(shared, together, details, level)
    return {str(k): v for k, v in strongest.items()} | {"characteristic": str(strongest.name)}


def _joint_lead(
    shared: change_point.JointShiftFit,
    together: pd.DataFrame,
    details: pd.DataFrame,
    level: float,
) -> dict[str, Any]:
    """Return the lead of a drift only the joint test found; name its characteristics in place.

    The shared shift dates it (start, interval, ramp). The joint test has controlled the
    manager's false positives, so at that date each characteristic is a fixed-date test:
    named (``significant``) when its standardized shift passes the two-sided normal critical
    value at `level`; the largest always, and it leads the verdict.
    """
    z = np.asarray(shared.z)
    j = int(np.argmax(np.abs(z)))
    name = str(together.columns[j])
    named = np.abs(z) >= float(stats.norm.isf(level / 2.0))
    named[j] = True
    details["significant"] = details.index.isin(together.columns[named])
    idx = together.index
    sd = float(details["sd"].astype(float)[name])
    return {
        "characteristic": name,
        "start": idx[shared.start],
        "start_low": idx[shared.start_low],
        "start_high": idx[shared.start_high],
        "ramp_months": shared.ramp,
        "shift": shared.shifts[j],
        "shift_sd": shared.shifts[j] / sd if sd > 0 else math.copysign(math.inf, shared.shifts[j]),
        "z": float(z[j]),
    }


def drift_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Return the characteristics a drift is tested on, from a characteristics table.

    Parameters
    ----------
    table : DataFrame
        Rows of a manager's or a benchmark's characteristics (any index) with any of the
        columns of :data:`CHARACTERISTICS`, key-rate durations ``krd_<tenor>y`` (years) and
        sector weights ``sector_<name>`` (decimals).

    Returns
    -------
    DataFrame
        Same rows: the :data:`CHARACTERISTICS` columns given, the key-rate buckets of
        :data:`KEY_RATE_BUCKETS` that have a tenor (NaN in a row missing one of its tenors),
        and the sector weights, as floats.
    """
    out = table[[c for c in CHARACTERISTICS if c in table.columns]].astype(float)
    tenors = {}
    for column in table.columns:
        match = _KRD_NAME.match(str(column))
        if match:
            tenors[column] = float(match.group(1))
    previous = 0.0
    for name, (_, last) in KEY_RATE_BUCKETS.items():
        inside = [c for c, t in tenors.items() if previous < t <= last]
        if inside:
            out[name] = table[inside].astype(float).sum(axis=1, min_count=len(inside))
        previous = last
    for column in sorted(str(c) for c in table.columns if str(c).startswith(SECTOR_PREFIX)):
        out[column] = table[column].astype(float)
    return out


def characteristic_label(column: str) -> tuple[str, str]:
    """Return the label and unit of a characteristic of :func:`drift_columns`."""
    if column in CHARACTERISTICS:
        return CHARACTERISTICS[column]
    if column in KEY_RATE_BUCKETS:
        return KEY_RATE_BUCKETS[column][0], "years"
    if column.startswith(SECTOR_PREFIX):
        return f"{column.removeprefix(SECTOR_PREFIX)} sector weight", "share"
    return column, ""


def benchmark_characteristics(ctx: DeskContext) -> pd.DataFrame | None:
    """Each manager's benchmark characteristics per month, or None when the book has none.

    The benchmark side of drift, by the engine's one definition
    (:func:`fialloc.benchmark_characteristics.benchmark_characteristics`: a
    benchmark given by constituents is repriced off each month's curve and spreads, one given
    by characteristics is taken as given), in the columns of :func:`drift_columns`. Managers
    name their benchmark by id (the managers table's ``benchmark`` column).

    Returns
    -------
    DataFrame or None
        Indexed by (``manager_id``, ``month``), one column per characteristic.
    """
    p = ctx.portfolio
    table = characteristics_of_benchmarks(p)
    if table.empty:
        return None
    by_benchmark = drift_columns(table.drop(columns="source")).sort_index()
    links = p.managers["benchmark"].astype(str)
    # Each manager's rows are its benchmark's, taken by position: one take for the book, where
    # a lookup per manager cost more than the table's own build.
    codes, benchmarks = pd.factorize(by_benchmark.index.get_level_values(0))
    rows_of = {str(b): np.flatnonzero(codes == i) for i, b in enumerate(benchmarks)}
    linked = [(str(m), rows_of[b]) for m, b in links.items() if b in rows_of]
    if not linked:
        return None
    take = np.concatenate([rows for _, rows in linked])
    managers = np.repeat([m for m, _ in linked], [len(rows) for _, rows in linked])
    months = by_benchmark.index.get_level_values(1)[take]
    index = pd.MultiIndex.from_arrays([managers, months], names=["manager_id", "month"])
    return by_benchmark.iloc[take].set_axis(index)


def active_characteristics(ctx: DeskContext) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Each manager's active characteristics (months by characteristic) and their reference.

    Manager side: the ``manager_characteristics`` table. Reference: the manager's benchmark
    (:func:`benchmark_characteristics`) where the book has it for that manager, else the
    month's median of the other managers of the same ``style``; a manager with neither gets an
    empty frame and reference ``""``.

    Returns
    -------
    tuple
        ``{manager_id: DataFrame}`` (months by characteristic, in the characteristic's units)
        and ``{manager_id: reference}`` (:data:`BENCHMARK`, :data:`PEERS` or ``""``).
    """
    table = ctx.portfolio.manager_characteristics
    managers = [str(m) for m in ctx.managers.index]
    if table is None or table.empty:
        return {m: pd.DataFrame() for m in managers}, dict.fromkeys(managers, "")
    own = drift_columns(
        table.assign(manager_id=table["manager_id"].astype(str)).set_index(["manager_id", "month"])
    ).sort_index()
    columns = list(own.columns)
    if not columns:
        return {m: pd.DataFrame() for m in managers}, dict.fromkeys(managers, "")
    bench = benchmark_characteristics(ctx)
    styles = ctx.managers["style"].astype(str)
    wide = {c: own[c].unstack("manager_id") for c in columns}  # months by manager
    # Split once: a lookup per manager in the (manager, month) index cost more than the tests.
    own_of = _by_manager(own)
    bench_of = {} if bench is None else _by_manager(bench.reindex(columns=columns))
    active: dict[str, pd.DataFrame] = {}
    reference: dict[str, str] = {}
    for m in managers:
        mine = own_of[m] if m in own_of else pd.DataFrame(columns=columns)
        if m in bench_of:
            # A characteristic the benchmark does not describe is not tested.
            active[m] = _without_empty(mine - bench_of[m].reindex(mine.index))
            reference[m] = BENCHMARK
            continue
        peers = [
            p for p in styles.index[styles == styles.get(m)] if p != m and p in wide[columns[0]]
        ]
        if not peers:
            active[m], reference[m] = pd.DataFrame(columns=columns), ""
            continue
        median = pd.DataFrame({c: wide[c][peers].median(axis=1) for c in columns})
        active[m] = (mine - median.reindex(mine.index)).dropna(how="all")
        reference[m] = PEERS
    return active, reference


def _by_manager(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split a (manager, month)-indexed table into each manager's months-indexed rows."""
    return {str(m): rows.droplevel(0) for m, rows in table.groupby(level=0, sort=False)}


def _without_empty(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the columns, then the rows, with no value (``dropna(how="all")`` on both axes)."""
    known = frame.notna().to_numpy()
    return frame.iloc[np.flatnonzero(known.any(axis=1)), np.flatnonzero(known.any(axis=0))]


def style_drift(ctx: DeskContext, level: float = DRIFT_LEVEL) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every manager's drift verdict on its active characteristics.

    Parameters
    ----------
    ctx : DeskContext
        The book.
    level : float
        False-positive rate per manager, in (0, 1).

    Returns
    -------
    tuple of DataFrame
        Verdicts indexed by ``manager_id``: the fields of :class:`DriftVerdict` (without the
        details) plus ``reference`` (what the characteristics are measured against),
        ``label`` and ``unit`` of the characteristic; and the details indexed by
        (``manager_id``, ``characteristic``) with ``reference``, ``label`` and ``unit``.
    """
    _check_level("style_drift", level)
    # Three desks ask for the same verdicts of the same book: judge it once per level. Keyed
    # by the portfolio, not the context: a context holds nothing but its portfolio, and every
    # run (or desk) on the same book makes a context of its own.
    cached = _VERDICTS.setdefault(ctx.portfolio, {})
    if level not in cached:
        cached[level] = _style_drift(ctx, level)
    table, detail = cached[level]
    return table.copy(), detail.copy()


_VERDICTS: weakref.WeakKeyDictionary[Portfolio, dict[float, tuple[pd.DataFrame, pd.DataFrame]]]
_VERDICTS = weakref.WeakKeyDictionary()


def _style_drift(ctx: DeskContext, level: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    active, reference = active_characteristics(ctx)
    history = ctx.portfolio.manager_characteristics
    rows, details = {}, {}
    for manager, frame in active.items():
        if history is None or history.empty:
            verdict = _not_estimable("the book has no manager_characteristics history", level)
        elif not reference[manager]:
            verdict = _not_estimable(
                "no benchmark characteristics and no other manager of its style to compare with",
                level,
            )
        elif frame.empty:
            verdict = _not_estimable("no characteristics history", level)
        else:
            verdict = detect_drift(frame, level)
        rows[manager] = verdict.as_row() | {"reference": reference[manager]}
        details[manager] = verdict.details.assign(reference=reference[manager])
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("manager_id")
    table["label"] = [characteristic_label(c)[0] if c else "" for c in table["characteristic"]]
    table["unit"] = [characteristic_label(c)[1] if c else "" for c in table["characteristic"]]
    detail = pd.concat(details, names=["manager_id", "characteristic"])
    characteristic = detail.index.get_level_values("characteristic")
    detail["label"] = [characteristic_label(str(c))[0] for c in characteristic]
    detail["unit"] = [characteristic_label(str(c))[1] for c in characteristic]
    return table, detail


def drifted_characteristics(
    verdicts: pd.DataFrame, details: pd.DataFrame, characteristics: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Select the significant details of drifted managers in `characteristics` (all if None).

    Rows of :func:`style_drift`'s details, indexed by ``manager_id``.
    """
    drifted = verdicts.index[verdicts["drifted"].astype(bool)]
    rows = details[details["significant"].astype(bool)].reset_index("characteristic")
    rows = rows[rows.index.isin(drifted)]
    if characteristics is not None:
        rows = rows[rows["characteristic"].isin(characteristics)]
    return rows


def describe_drift(row: pd.Series) -> str:
    """One drifted characteristic in words (a row of :func:`drifted_characteristics`)."""
    return (
        f"active {row['label']} moved {row['shift']:+.2f} {row['unit']} "
        f"({row['shift_sd']:+.1f} sd) against its {row['reference']} over "
        f"{int(row['ramp_months'])} month(s) from {row['start']} "
        f"({change_point.INTERVAL_LEVEL:.0%} interval {row['start_low']} to "
        f"{row['start_high']}; z {row['z']:+.1f}, p {row['p_adjusted']:.3f})"
    )


def drift_metrics(rows: pd.DataFrame) -> dict[str, float]:
    """Return the numbers :func:`describe_drift` quotes for `rows`, for a finding's metrics.

    Keys are ``<characteristic>_<figure>`` (``duration_shift``, ``duration_shift_sd``,
    ``duration_z``, ``duration_p_value``, ``duration_ramp_months``) plus ``interval_level``.
    """
    out = {"interval_level": change_point.INTERVAL_LEVEL}
    for _, row in rows.iterrows():
        c = row["characteristic"]
        out |= {
            f"{c}_shift": float(row["shift"]),
            f"{c}_shift_sd": float(row["shift_sd"]),
            f"{c}_z": float(row["z"]),
            f"{c}_p_value": float(row["p_adjusted"]),
            f"{c}_ramp_months": float(row["ramp_months"]),
        }
    return out


def drift_flags(verdicts: pd.DataFrame) -> pd.Series:
    """``drift_flag`` per manager (bool) from :func:`style_drift`'s verdicts: the one definition."""
    return verdicts["drifted"].astype(bool).rename("drift_flag")


def _check_level(where: str, level: float) -> None:
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0.0 < level < 1.0:
        msg = f"{where}: `level` must be a number in (0, 1), got {level!r}"
        raise ValueError(msg)


def _not_estimable(reason: str, level: float) -> DriftVerdict:
    details = pd.DataFrame(columns=list(_DETAIL_COLUMNS)).rename_axis("characteristic")
    return DriftVerdict(False, reason, False, "", None, None, None, 0, np.nan, np.nan, np.nan,
                        np.nan, level, 0, details)  # fmt: skip


def style_position(ctx: DeskContext) -> pd.DataFrame:
    """Each sleeve's holdings today against the others of its stated style.

    Compares duration, average rating notch, high yield share, the long end's share of the
    key-rate duration (20y and beyond: curve positioning) and the sector mix with the median
    of the same-style managers (a style held by one manager compares with itself).

    Returns
    -------
    DataFrame
        Per manager: ``style``, ``peers`` (other managers of the style), the characteristic,
        its style median and the difference for ``duration`` (years), ``notch``,
        ``high_yield_share`` and ``long_end_share`` (decimals), and ``sector_overweight`` (the
        largest sector share above the style's median mix, decimal) with its ``sector``.
    """
    p = ctx.portfolio
    sec = ctx.securities
    share = p.sleeve_weights
    letter = sec["rating"].map(rating_letter)
    keys = ctx.key_columns
    long_keys = [k for k, t in zip(keys, p.analytics.key_tenors, strict=True) if t >= 20]
    krd = ctx.managers[keys]
    chars = pd.DataFrame(
        {
            "duration": ctx.managers["effective_duration"],
            "notch": ctx.manager_notches,
            "high_yield_share": share
            @ letter.isin(HIGH_YIELD_LETTERS).loc[share.columns].astype(float),
            "long_end_share": krd[long_keys].sum(axis=1) / krd.sum(axis=1).replace(0.0, np.nan),
        }
    )
    sectors = share.T.groupby(sec["sector"].loc[share.columns]).sum().T
    styles = ctx.managers["style"].astype(str)
    style_median = chars.groupby(styles).transform("median")
    over = sectors - sectors.groupby(styles).transform("median")
    table = pd.DataFrame({"style": styles, "peers": styles.map(styles.value_counts()) - 1.0})
    for col in chars.columns:
        table[col] = chars[col]
        table[f"{col}_style"] = style_median[col]
        table[f"{col}_vs_style"] = chars[col] - style_median[col]
    table["sector"] = over.idxmax(axis=1).astype(str)
    table["sector_overweight"] = over.max(axis=1)
    return table


def return_factors(ctx: DeskContext) -> pd.DataFrame:
    """Monthly factor returns for style regressions (decimals), months by factor.

    :func:`fialloc.factor_returns.style_factor_returns` of the book's market history with its
    own spread durations by rating (:attr:`DeskContext.spread_durations`): ``duration``,
    ``credit_bbb`` and ``credit_hy``.
    """
    p = ctx.portfolio
    return style_factor_returns(p.zero_history, p.spread_history, ctx.spread_durations)


def rolling_betas(excess: pd.Series, factors: pd.DataFrame, window: int = 24) -> pd.DataFrame:
    """Factor loadings of a manager's excess return over a trailing window, month by month.

    Ordinary least squares with an intercept on each `window` months, all windows at once
    (moving sums of the normal equations).

    Returns
    -------
    DataFrame
        Months (the window's last month) by factor: the loadings, plus ``alpha_annual``
        (decimal a year), NaN in a window whose factors are collinear; empty when the
        history is shorter than `window`.
    """
    months = factors.index.intersection(excess.dropna().index)
    columns = [*factors.columns, "alpha_annual"]
    if window < factors.shape[1] + 3:
        msg = f"rolling_betas: a {window}-month window is too short for {factors.shape[1]} factors"
        raise ValueError(msg)
    if len(months) < window:
        return pd.DataFrame(columns=columns)
    y = excess.loc[months].to_numpy(dtype=np.float64)
    x = np.column_stack([np.ones(len(months)), factors.loc[months].to_numpy(dtype=np.float64)])
    xx = np.cumsum(np.einsum("ti,tj->tij", x, x), axis=0)
    xy = np.cumsum(x * y[:, None], axis=0)
    xx_w = xx[window - 1 :] - np.concatenate([np.zeros((1, *xx.shape[1:])), xx[:-window]])
    xy_w = xy[window - 1 :] - np.concatenate([np.zeros((1, xy.shape[1])), xy[:-window]])
    # A window whose factors are collinear has no loadings: NaN for that month, not an error.
    full_rank = np.linalg.matrix_rank(xx_w) == x.shape[1]
    coef = np.full(xy_w.shape, np.nan)
    coef[full_rank] = np.linalg.solve(xx_w[full_rank], xy_w[full_rank][..., None])[..., 0]
    table = pd.DataFrame(coef[:, 1:], index=months[window - 1 :], columns=factors.columns)
    table["alpha_annual"] = 12.0 * coef[:, 0]
    return table


def style_break(excess: pd.Series, factors: pd.DataFrame, min_segment: int = 6) -> dict[str, float]:
    """Find the month a manager's factor loadings changed (Chow test at the best break month).

    Every month leaving `min_segment` months on each side is tried as a break; the one whose
    regression with loadings allowed to change after it fits best is the break, tested with
    Chow's F statistic. Because the month was chosen as the best of many, the p-value is
    Bonferroni-corrected over the candidate months (conservative).

    Returns
    -------
    dict
        ``break_index`` (position of the first month under the new loadings), ``f_stat``,
        ``p_value`` (corrected), and per factor ``<factor>_before`` / ``<factor>_after``.

    Raises
    ------
    NotEstimableError
        If the history is too short, the factors are collinear over the whole history, or no
        candidate month leaves both segments with full-rank factors.
    """
    months = factors.index.intersection(excess.dropna().index)
    y = excess.loc[months].to_numpy(dtype=np.float64)
    x = np.column_stack([np.ones(len(months)), factors.loc[months].to_numpy(dtype=np.float64)])
    n, k = x.shape
    if n < 2 * max(min_segment, k + 1):
        msg = (
            f"style_break: {n} months is too few for {k - 1} factors and "
            f"{min_segment}-month segments"
        )
        raise NotEstimableError(msg)
    if np.linalg.matrix_rank(x) < k:
        msg = f"style_break: the {k - 1} factors are collinear over the {n} months"
        raise NotEstimableError(msg)

    # Every candidate break at once from the normal equations: with the loadings free to change
    # from month b, X'X = [[A, C_b], [C_b, C_b]] and X'y = [a, c_b], where C_b and c_b sum the
    # months from b on (reverse cumulative sums).
    outer = np.einsum("ti,tj->tij", x, x)
    after_xx = np.cumsum(outer[::-1], axis=0)[::-1]
    after_xy = np.cumsum((x * y[:, None])[::-1], axis=0)[::-1]
    lo, hi = max(min_segment, k), n - max(min_segment, k)
    candidates = np.arange(lo, hi + 1)
    a_xx, a_xy = after_xx[0], after_xy[0]
    gram = np.zeros((len(candidates), 2 * k, 2 * k))
    gram[:, :k, :k] = a_xx
    gram[:, :k, k:] = after_xx[candidates]
    gram[:, k:, :k] = after_xx[candidates]
    gram[:, k:, k:] = after_xx[candidates]
    rhs = np.concatenate([np.broadcast_to(a_xy, (len(candidates), k)), after_xy[candidates]], 1)
    # A segment whose factors are collinear (a factor constant over it) has no split fit.
    full_rank = np.linalg.matrix_rank(gram) == 2 * k
    if not full_rank.any():
        msg = f"style_break: no month leaves both segments with {k - 1} independent factors"
        raise NotEstimableError(msg)
    coefs = np.zeros((len(candidates), 2 * k))
    coefs[full_rank] = np.linalg.solve(gram[full_rank], rhs[full_rank][..., None])[..., 0]
    ssr_all = np.where(full_rank, float(y @ y) - np.einsum("bi,bi->b", coefs, rhs), np.inf)
    best = int(candidates[int(np.argmin(ssr_all))])
    # The chosen break's fit, and the no-break fit, by least squares for accuracy.
    full = np.column_stack([x, x * (np.arange(n) >= best)[:, None]])
    best_coef, *_ = np.linalg.lstsq(full, y, rcond=None)
    best_ssr = float(np.sum((y - full @ best_coef) ** 2))
    base_coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    restricted = float(np.sum((y - x @ base_coef) ** 2))
    dof = n - 2 * k
    f = ((restricted - best_ssr) / k) / (best_ssr / dof) if best_ssr > 0 else np.inf
    p = min(1.0, float(stats.f.sf(f, k, dof)) * len(candidates))
    out = {"break_index": float(best), "f_stat": float(f), "p_value": p}
    for j, name in enumerate(factors.columns, start=1):
        out[f"{name}_before"] = float(best_coef[j])
        out[f"{name}_after"] = float(best_coef[j] + best_coef[k + j])
    return out
