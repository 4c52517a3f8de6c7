"""Callable and putable bonds: exercise schedules, lattice values, OAS and option-adjusted risk.

A bond's call/put schedule (the ``call_schedule`` input table) gives dates, clean exercise
prices per 100 face and who holds the option: ``call`` (the issuer: the bond's value is
capped at the price plus accrued interest) or ``put`` (the holder: it is floored there).
:func:`exercise_schedule` turns the table into arrays aligned with a
:class:`~fialloc.bonds.BondBook`; :func:`option_adjusted` values the bonds that have a live
option on a Hull-White trinomial lattice (:class:`~fialloc.hull_white.HullWhite`, compiled
core), solves each one's option-adjusted spread (OAS, continuous, over the fitted short rate)
from its dirty price, and measures effective duration, convexity and key-rate durations with
the OAS held fixed.

Make-whole calls are valued as bullets: the issuer would pay the remaining flows discounted at
a Treasury rate plus a small make-whole spread, which is above the bond's own value whenever
its credit spread exceeds the make-whole spread, so the call is (nearly) never worth
exercising. Their rows are read and validated, and change nothing.

Conventions: times Act/365F from the valuation date; past exercise dates are ignored; an
exercise on a coupon date is decided before that coupon is paid (the holder keeps it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc import _core
from fialloc.bonds import BondBook, _bond_flows, _select, krd_column
from fialloc.curves import Curve
from fialloc.layout import CashflowLayout, FloatArray, IndexArray
from fialloc.schedule import act365, to_date

if TYPE_CHECKING:
    from fialloc.hull_white import HullWhite

__all__ = [
    "EXERCISE_KINDS",
    "OA_BUMP_BP",
    "STEPS_PER_YEAR",
    "STRESS_STEPS_PER_YEAR",
    "ExerciseSchedule",
    "exercise_schedule",
    "lattice_prices",
    "lattice_prices_on_curves",
    "option_adjusted",
    "option_adjusted_columns",
    "option_adjusted_spreads",
    "risk_bumps",
]

#: Who holds the option: the issuer (``call``) or the holder (``put``).
EXERCISE_KINDS: Final = ("call", "put")
#: Lattice steps per year of a bond's life (at least one step between events): the default
#: values the demo's callables within 0.01 per 100 of a 200-steps-a-year lattice.
STEPS_PER_YEAR: Final = 48
#: Parallel zero-rate shift (bp) for option-adjusted duration and convexity. Wider than the
#: 1 bp of bullets: a lattice value is piecewise smooth in the curve (the exercise boundary
#: moves node by node), and 25 bp is the street convention for effective measures.
OA_BUMP_BP: Final = 25.0
#: Lattice steps per year of the stresses' revaluations (:mod:`fialloc.option_values`): a
#: scenario's price is today's plus the change of two lattice values on this coarser grid,
#: whose error cancels in the difference.
STRESS_STEPS_PER_YEAR: Final = 16


@dataclass(frozen=True)
class ExerciseSchedule:
    """Live exercise dates of every bond in a book, stored like its cash flows.

    Bond ``i`` owns entries ``offsets[i]:offsets[i + 1]`` (possibly none).

    Attributes
    ----------
    offsets : ndarray of int64
        One more than the book's bonds.
    times : ndarray
        Act/365F years from the valuation date, increasing per bond.
    prices : ndarray
        Dirty exercise prices per 100 face (clean price plus accrued interest at the date).
    kinds : ndarray of int64
        +1 for a call, -1 for a put.
    """

    offsets: IndexArray
    times: FloatArray
    prices: FloatArray
    kinds: IndexArray

    @property
    def has_option(self) -> npt.NDArray[np.bool_]:
        """Per bond: whether any exercise date is left."""
        return np.asarray(np.diff(self.offsets) > 0)

    def select(self, bonds: IndexArray) -> ExerciseSchedule:
        """Return the schedules of `bonds` (indices, increasing) only."""
        lengths = np.diff(self.offsets)[bonds]
        offsets = np.zeros(len(bonds) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        rows = np.repeat(self.offsets[bonds] - offsets[:-1], lengths) + np.arange(offsets[-1])
        return ExerciseSchedule(offsets, self.times[rows], self.prices[rows], self.kinds[rows])

    def args(self) -> tuple[IndexArray, FloatArray, FloatArray, IndexArray]:
        """Return the ``(offsets, times, prices, kinds)`` arrays the lattice kernels take."""
        return self.offsets, self.times, self.prices, self.kinds


def exercise_schedule(
    book: BondBook, table: pd.DataFrame | None, file: str = "call_schedule"
) -> ExerciseSchedule:
    """Align a call/put schedule with `book`.

    Parameters
    ----------
    book : BondBook
        The bonds (coupon, maturity, frequency and day count give the accrued interest).
    table : DataFrame or None
        Columns ``security_id``, ``date``, ``price`` (clean, per 100 face), ``kind``
        (``call`` or ``put``) and optional ``make_whole`` (bool: valued as a bullet). Rows of
        securities outside the book, and dates on or before the valuation date, are ignored.
        None: no bond has an option.
    file : str
        Name used in error messages.

    Raises
    ------
    ValueError
        Naming the file, row and column: a kind outside call/put, a non-positive price, a date
        on or after the bond's maturity, or two exercises of one bond on one date.
    """
    n = len(book)
    empty_i = np.zeros(0, dtype=np.int64)
    if table is None or table.empty:
        return ExerciseSchedule(np.zeros(n + 1, dtype=np.int64), np.zeros(0), np.zeros(0), empty_i)
    missing = [c for c in ("security_id", "date", "price", "kind") if c not in table.columns]
    if missing:
        msg = f"{file}: missing column(s) {missing}"
        raise ValueError(msg)
    position = {sid: i for i, sid in enumerate(book.security_ids)}
    # The terms as Python lists up front: a row of the book frame costs a pandas lookup each.
    frame = book.frame
    terms = list(
        zip(
            frame["coupon"].tolist(),
            frame["maturity"].tolist(),
            frame["frequency"].tolist(),
            frame["day_count"].tolist(),
            strict=True,
        )
    )
    rows: list[tuple[int, float, float, int]] = []
    make_whole = (
        table["make_whole"].fillna(False).astype(bool)
        if "make_whole" in table.columns
        else pd.Series(False, index=table.index)
    )
    for row, (sid, date, price, kind, mw) in enumerate(
        zip(
            table["security_id"].astype(str),
            table["date"],
            table["price"],
            table["kind"],
            make_whole,
            strict=True,
        )
    ):
        cells = (sid, date, price, kind, mw)
        exercise = _exercise(book, position, terms, cells, f"{file}, row {row}")
        if exercise is not None:
            rows.append(exercise)
    return _schedule_of(book, rows, file)


def _exercise(
    book: BondBook,
    position: Mapping[str, int],
    terms: Sequence[tuple[float, dt.date, int, str]],
    cells: tuple[str, Any, Any, Any, bool],
    where: str,
) -> tuple[int, float, float, int] | None:
    """Check one schedule row; return (bond, time, dirty price, +1 call / -1 put).

    `terms` holds each bond's (coupon, maturity, frequency, day count), in book order.

    None for a security outside the book, a make-whole call or a date on or before the
    valuation date.
    """
    sid, date, price, kind, make_whole = cells
    if kind not in EXERCISE_KINDS:
        msg = f"{where}, column kind: {kind!r}; expected one of {EXERCISE_KINDS}"
        raise ValueError(msg)
    p = float(price)
    if not (np.isfinite(p) and p > 0):
        msg = f"{where}, column price: {price!r} must be a positive clean price per 100"
        raise ValueError(msg)
    d = to_date(date, f"{where}, column date")
    vd = book.valuation_date
    if sid not in position or make_whole or d <= vd:
        return None
    coupon, maturity, frequency, day_count = terms[position[sid]]
    if d >= maturity:
        msg = f"{where}, column date: {d} is on or after {sid}'s maturity {maturity}"
        raise ValueError(msg)
    accrued = _bond_flows(float(coupon), maturity, int(frequency), str(day_count), d)[3]
    return position[sid], act365(vd, d), p + accrued, 1 if kind == "call" else -1


def _schedule_of(
    book: BondBook, rows: list[tuple[int, float, float, int]], file: str
) -> ExerciseSchedule:
    """Order the exercises by bond and time; refuse two on one date of one bond."""
    rows.sort()
    bond_of = np.array([r[0] for r in rows], dtype=np.int64)
    times = np.array([r[1] for r in rows], dtype=np.float64)
    same = np.flatnonzero((np.diff(bond_of) == 0) & (np.diff(times) == 0))
    if len(same):
        sid = book.security_ids[bond_of[same[0]]]
        msg = f"{file}: {sid} has two exercises on one date; give one row per date"
        raise ValueError(msg)
    offsets = np.zeros(len(book) + 1, dtype=np.int64)
    np.cumsum(np.bincount(bond_of, minlength=len(book)), out=offsets[1:])
    return ExerciseSchedule(
        offsets,
        times,
        np.array([r[2] for r in rows], dtype=np.float64),
        np.array([r[3] for r in rows], dtype=np.int64),
    )


def _steps(layout: CashflowLayout, steps_per_year: float) -> IndexArray:
    if not (np.isfinite(steps_per_year) and 1 <= steps_per_year <= 1000):
        msg = f"callables: `steps_per_year` must be in [1, 1000], got {steps_per_year}"
        raise ValueError(msg)
    last = layout.times[layout.offsets[1:] - 1]
    return np.maximum(np.ceil(last * steps_per_year), 1).astype(np.int64)


def lattice_prices(
    layout: CashflowLayout,
    schedule: ExerciseSchedule,
    model: HullWhite,
    curve: Curve | None = None,
    oas: npt.ArrayLike = 0.0,
    steps_per_year: float = STEPS_PER_YEAR,
    threads: int = 0,
) -> FloatArray:
    """Dirty value of each stream with its exercise schedule (per the flows' face).

    Parameters
    ----------
    layout, schedule : CashflowLayout, ExerciseSchedule
        The streams' flows and options (one schedule per stream, possibly empty: a bullet).
    model : HullWhite
        Mean reversion and volatility; its curve is used unless `curve` is given.
    curve : Curve, optional
        The curve the lattice is fitted to (a bumped curve for risk measures).
    oas : float or array
        Option-adjusted spread per stream (decimal, continuous), added to every node's rate.
    steps_per_year : float
        Lattice resolution (see :data:`STEPS_PER_YEAR`).
    threads : int
        Threads the streams are split over (0: all cores); the values are bitwise the same
        for any number.
    """
    spreads = np.ascontiguousarray(np.broadcast_to(oas, (layout.n_streams,)), dtype=np.float64)
    fitted = model.curve if curve is None else curve
    return _on_lattice(
        _core.hw_lattice_prices, layout, schedule, model, fitted, spreads, steps_per_year, threads
    )


def lattice_prices_on_curves(
    layout: CashflowLayout,
    schedule: ExerciseSchedule,
    model: HullWhite,
    knots: npt.ArrayLike,
    bumps: npt.ArrayLike,
    oas: npt.ArrayLike = 0.0,
    steps_per_year: float = STEPS_PER_YEAR,
    threads: int = 0,
) -> FloatArray:
    """Dirty values (streams x curves) on one lattice geometry per stream.

    Curve ``c`` is the model's curve with its zero rates moved by ``bumps[c]`` (decimals) at
    `knots` (years, increasing), linearly between them and flat beyond (as
    :meth:`fialloc.curves.Curve.with_overlay`). Each stream's time grid, node spacing and
    branching are built once and only the fitted drift differs between the curves, so a
    difference of two columns holds the curve's move and nothing of the tree's construction;
    it also costs a fraction of a fresh lattice per curve (one pass over the nodes for all
    curves). Other arguments as :func:`lattice_prices`.
    """
    spreads = np.ascontiguousarray(np.broadcast_to(oas, (layout.n_streams,)), dtype=np.float64)
    moves = np.ascontiguousarray(np.atleast_2d(np.asarray(bumps, dtype=np.float64)))
    # Unpacked by name: mypy cannot line up several starred tuples with the stub's parameters.
    offsets, times, amounts = layout.args()
    ex_offsets, ex_times, ex_prices, ex_kinds = schedule.args()
    out: FloatArray = _core.hw_lattice_prices_on_curves(
        model.a,
        model.sigma,
        offsets,
        times,
        amounts,
        ex_offsets,
        ex_times,
        ex_prices,
        ex_kinds,
        *model.curve.core_args(),
        np.ascontiguousarray(knots, dtype=np.float64),
        moves,
        spreads,
        _steps(layout, steps_per_year),
        threads,
    )
    return out


def risk_bumps(n_tenors: int, bump: float) -> FloatArray:
    """Zero-rate bumps at the key tenors of the option-adjusted risk (rows: curves).

    Row 0 is today's curve, rows 1 and 2 the parallel moves by ``-bump`` and ``+bump``
    (decimal); then two walks from the first to the second, one key rate at a time (rows
    ``3 .. n_tenors + 1``: the shortest ``m`` key rates up, the others down, for ``m = 1 ..
    n_tenors - 1``; then the same with the longest ``m`` up). A key rate at ``+bump`` and its
    neighbours at ``-bump`` is the tent of :meth:`fialloc.curves.Curve.key_rate_bumped`
    added to the parallel ``-bump`` move, so each step of a walk moves one tent.

    Notes
    -----
    Why walks: tent by tent central differences of a lattice's value do not add up to the
    parallel one (their third-order terms differ: by up to 0.08 years on random callables at
    25 bp), so :func:`option_adjusted` splits the parallel move instead: a key rate's KRD is
    the mean of its steps in the two walks (short rates first, long rates first), over ``2 x
    bump x value``. The walks telescope, so the KRDs add up to the effective duration
    exactly; the two orders' second-order cross terms cancel, so each KRD is its tent's
    central difference to third order (within 0.05 years at 25 bp on random callables, and
    the bullet's KRDs where the option is far out of the money).
    """
    k = np.arange(n_tenors)
    walks = [k < m for m in range(1, n_tenors)] + [k >= n_tenors - m for m in range(1, n_tenors)]
    rows = [np.zeros(n_tenors), np.full(n_tenors, -bump), np.full(n_tenors, bump)]
    return np.array(rows + [np.where(up, bump, -bump) for up in walks])


def option_adjusted_spreads(
    layout: CashflowLayout,
    schedule: ExerciseSchedule,
    model: HullWhite,
    dirty_prices: npt.ArrayLike,
    steps_per_year: float = STEPS_PER_YEAR,
    threads: int = 0,
) -> FloatArray:
    """OAS of each stream (decimal, continuous) so its lattice value is `dirty_prices`.

    `threads` as :func:`lattice_prices`.
    """
    prices = np.ascontiguousarray(dirty_prices, dtype=np.float64)
    return _on_lattice(
        _core.hw_lattice_spreads,
        layout,
        schedule,
        model,
        model.curve,
        prices,
        steps_per_year,
        threads,
    )


def _on_lattice(
    kernel: Callable[..., FloatArray],
    layout: CashflowLayout,
    schedule: ExerciseSchedule,
    model: HullWhite,
    curve: Curve,
    per_stream: FloatArray,
    steps_per_year: float,
    threads: int,
) -> FloatArray:
    """Call a lattice kernel (prices from spreads, or spreads from prices) on one curve."""
    return kernel(
        model.a,
        model.sigma,
        *layout.args(),
        *schedule.args(),
        *curve.core_args(),
        per_stream,
        _steps(layout, steps_per_year),
        threads,
    )


def option_adjusted_columns(key_tenors: Sequence[float] | None = None) -> list[str]:
    """Columns of :func:`option_adjusted` with KRDs at `key_tenors` (years)."""
    return [
        "option",
        "dirty_price",
        "oas",
        "bullet_price",
        "option_value",
        "effective_duration",
        "effective_convexity",
        "spread_duration",
        *(krd_column(float(t)) for t in key_tenors or ()),
    ]


def option_adjusted(
    book: BondBook,
    schedule: ExerciseSchedule,
    model: HullWhite,
    dirty_prices: npt.ArrayLike,
    *,
    bump_bp: float = OA_BUMP_BP,
    steps_per_year: float = STEPS_PER_YEAR,
    key_tenors: Sequence[float] | None = None,
    threads: int = 0,
) -> pd.DataFrame:
    """OAS and option-adjusted risk of the bonds in `book` that have a live option.

    Parameters
    ----------
    book : BondBook
        The bonds; `schedule` is aligned with it (:func:`exercise_schedule`).
    model : HullWhite
        The lattice's model, fitted to today's curve of the bonds' currency.
    dirty_prices : array
        Market dirty price per 100 face of every bond in the book.
    bump_bp : float
        Parallel zero-rate shift and key-rate tent height for the effective measures (bp).
    steps_per_year : float
        Lattice resolution of the OAS and of every risk measure.
    key_tenors : sequence of float, optional
        Increasing tenors (years) of option-adjusted key-rate durations, which split the
        effective duration's move by key rate (see :func:`risk_bumps`). None: no KRDs.
    threads : int
        Threads the lattice splits the bonds over (0: all cores); results do not depend on it.

    Returns
    -------
    DataFrame
        One row per bond with an option, indexed by security id: ``option`` (callable,
        putable or callable_putable), ``dirty_price`` (per 100), ``oas`` (decimal),
        ``bullet_price`` (the same flows without the option at the same spread, per 100),
        ``option_value`` (bullet less callable: what the holder is short, per 100; negative
        for a put the holder owns), ``effective_duration`` (years),
        ``effective_convexity`` (years squared) and ``spread_duration`` (years), all with the
        OAS held fixed, and ``krd_<tenor>y`` (years) for each key tenor.

    Notes
    -----
    Every measure comes from one lattice geometry per bond (time grid, node spacing,
    branching) on which only the fitted drift follows the moved curves
    (:func:`lattice_prices_on_curves`, curves of :func:`risk_bumps`), so no difference
    holds the tree's construction. A lattice value moves piecewise smoothly with the curve
    (a node joins or leaves the exercise region every few basis points), which is why the
    moves are ``bump_bp`` wide: a central difference that spans many of those kinks is
    smooth in the curve, where a 1 bp one jumps by tenths of a year. The key-rate durations
    split that parallel move by key rate (:func:`risk_bumps`), so they add up to the
    effective duration exactly.

    The spread duration equals the effective duration: the OAS is added to every node's
    rate and a parallel shift of continuous zero rates moves the fitted drift by the same
    amount, so the lattice cannot tell one from the other.
    """
    dirty = np.asarray(dirty_prices, dtype=np.float64)
    tenors = _checked_risk_args(bump_bp, dirty, len(book), key_tenors)
    which = np.flatnonzero(schedule.has_option)
    ids = book.security_ids[which]
    if len(which) == 0:
        return pd.DataFrame(columns=option_adjusted_columns(tenors), index=ids)
    layout = _select(book.layout, which)
    sub = schedule.select(which)
    oas = option_adjusted_spreads(layout, sub, model, dirty[which], steps_per_year, threads)
    dy = bump_bp * 1e-4
    knots = tenors or [1.0]
    values = lattice_prices_on_curves(
        layout, sub, model, knots, risk_bumps(len(knots), dy), oas, steps_per_year, threads
    )
    o, t, a = layout.args()
    bullet = _core.price_streams(o, t, a, *model.curve.core_args(), oas)
    priced = pd.DataFrame(
        {"option": _option_names(sub), "dirty_price": dirty[which], "oas": oas}, index=ids
    )
    return _risk_frame(priced, bullet, values, dy, tenors)


def _risk_frame(
    priced: pd.DataFrame, bullet: FloatArray, values: FloatArray, dy: float, tenors: list[float]
) -> pd.DataFrame:
    """:func:`option_adjusted`'s table from the lattice values on :func:`risk_bumps`' curves.

    `priced` holds each bond's option, dirty price and OAS; `bullet` its flows' value at the
    OAS without the option; `dy` the bump (decimal).
    """
    value, down, up = values[:, 0], values[:, 1], values[:, 2]
    duration = (down - up) / (2 * value * dy)
    out = priced.assign(
        bullet_price=bullet,
        option_value=bullet - priced["dirty_price"].to_numpy(),
        effective_duration=duration,
        effective_convexity=(down + up - 2 * value) / (value * dy * dy),
        spread_duration=duration,
    )
    if tenors:
        out[[krd_column(t) for t in tenors]] = _key_rate_split(values, value * 2 * dy)
    return out


def _checked_risk_args(
    bump_bp: float, dirty: FloatArray, bonds: int, key_tenors: Sequence[float] | None
) -> list[float]:
    """Check :func:`option_adjusted`'s arguments; return the key tenors as a list."""
    if not (np.isfinite(bump_bp) and 0 < bump_bp < 1000):
        msg = f"option_adjusted: `bump_bp` must be in (0, 1000) basis points, got {bump_bp}"
        raise ValueError(msg)
    if dirty.shape != (bonds,):
        msg = f"option_adjusted: {dirty.shape[0]} dirty prices for {bonds} bonds"
        raise ValueError(msg)
    tenors = [float(t) for t in key_tenors] if key_tenors is not None else []
    if not all(np.isfinite(tenors)) or np.any(np.diff(tenors) <= 0) or any(t <= 0 for t in tenors):
        msg = f"option_adjusted: `key_tenors` must be positive and increasing, got {tenors}"
        raise ValueError(msg)
    return tenors


def _option_names(schedule: ExerciseSchedule) -> list[str]:
    """Each bond's options: callable, putable or callable_putable."""
    bonds = len(schedule.offsets) - 1
    kinds = [
        set(schedule.kinds[schedule.offsets[i] : schedule.offsets[i + 1]]) for i in range(bonds)
    ]
    return [
        "callable_putable" if len(k) == 2 else "callable" if 1 in k else "putable" for k in kinds
    ]


def _key_rate_split(values: FloatArray, scale: FloatArray) -> FloatArray:
    """Key-rate durations from the values on :func:`risk_bumps`' curves (years).

    Each walk's steps telescope from the parallel down move to the up move, so the mean of a
    key rate's two steps, over ``scale`` (2 x bump x value), sums over the key rates to the
    effective duration exactly; averaging the short-first and long-first walks cancels the
    second-order cross terms, so each is its own tent's central difference to third order.
    """
    n = (values.shape[1] - 1) // 2
    down, up = values[:, 1:2], values[:, 2:3]
    short_first = np.diff(np.hstack([down, values[:, 3 : n + 2], up]), axis=1)
    long_first = np.diff(np.hstack([down, values[:, n + 2 :], up]), axis=1)[:, ::-1]
    return np.asarray(-(short_first + long_first) / (2 * scale[:, None]), dtype=np.float64)
