"""Month-by-month revaluation of every security through sequential market states.

Each month every security is priced once per state, all securities in one call of the compiled
core, moving from the start-of-month market to the end-of-month market one piece at a time:

1. ``income``: a month passes on the unchanged zero curve and spread (coupons received plus
   roll-down; the carry);
2. ``duration``: the zero curve moves by the parallel shift (the mean change of the key rates);
3. ``curve_<tenor>``: the rest of the key-rate changes, one key-rate tent at a time;
4. ``curve_other``: from the key-rate-tent curve to the actual end curve (the part of the move
   that key rates do not span; zero when the history's tenors are the key tenors);
5. ``spread_systematic``: each spread moves by its rating's spread change;
6. ``spread_specific``: each spread moves to its own end-of-month value;
7. ``paydown``: an MBS pool returns the share of its balance the prepayment model expected at
   par instead of holding it at the end price (zero for other bonds);
8. ``prepayment``: the pool's actual paydown instead of the expected one: ``(actual -
   expected) (100 - P_end) / P_start``, a gain on a discount pool that pays down faster.

Because the states are sequential, each security's effects add up to its total return
``(P_end + coupons) / P_start - 1`` up to rounding. Cross terms (convexity between curve and
spread moves) fall to the later effect of the sequence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from fialloc import _core
from fialloc.bonds import BondBook, solve_z_spreads
from fialloc.checks import finite_array
from fialloc.curves import DEFAULT_KEY_TENORS, Curve, tent_overlay
from fialloc.layout import CashflowLayout, FloatArray
from fialloc.schedule import act365

__all__ = [
    "HistoryRisk",
    "SecurityEffects",
    "effect_names",
    "history_curve",
    "history_risk",
    "history_z_spreads",
    "revalue_history",
]

#: The zero-rate curve of a state is an overlay on a zero base curve: zero rates interpolate
#: linearly between knots and stay flat outside them, so key-rate tents add up exactly.
_BASE_PILLARS: Final = np.array([1.0, 50.0])
_BASE_LOG_DFS: Final = np.zeros(2)

_Flows = tuple[npt.NDArray[np.int64], FloatArray, FloatArray]


def effect_names(key_tenors: Sequence[float] = DEFAULT_KEY_TENORS) -> tuple[str, ...]:
    """Names of the per-security effects in sequence order."""
    curve = tuple(f"curve_{t:g}y" for t in key_tenors)
    return (
        "income",
        "duration",
        *curve,
        "curve_other",
        "spread_systematic",
        "spread_specific",
        "paydown",
        "prepayment",
    )


@dataclass(frozen=True)
class SecurityEffects:
    """Per-security monthly returns split into sequential effects.

    Attributes
    ----------
    months : list of date
        Month-ends; period ``p`` runs from ``months[p]`` to ``months[p + 1]``.
    security_ids : list of str
        Book order.
    start_price : ndarray, shape (periods, securities)
        Dirty price per 100 face at the start of each period.
    effects : ndarray, shape (periods, securities, effects)
        Return contributions (decimals of the start price); they add up to the total return.
    names : tuple of str
        Effect names (see :func:`effect_names`).
    parallel_shift : ndarray, shape (periods,)
        The parallel shift of each month (decimal): the mean change of the key zero rates.
    """

    months: list[dt.date]
    security_ids: list[str]
    start_price: FloatArray
    effects: FloatArray
    names: tuple[str, ...]
    parallel_shift: FloatArray

    @property
    def total(self) -> FloatArray:
        """Total return of each security in each period (periods by securities, decimals)."""
        out: FloatArray = self.effects.sum(axis=2)
        return out


def _check(
    name: str, values: npt.ArrayLike, shape: tuple[int, ...], rate: bool = True
) -> FloatArray:
    arr = finite_array(values, shape, "revalue_history", name)
    if rate and np.any(np.abs(arr) >= 1.0):
        where = tuple(int(i) for i in np.argwhere(np.abs(arr) >= 1.0)[0])
        msg = (
            f"revalue_history: `{name}` at {where} is {arr[where]}, which looks like a "
            "percentage; rates and spreads are decimals (0.045 for 4.5%)"
        )
        raise ValueError(msg)
    return arr


def history_curve(
    knots: npt.ArrayLike, zero_values: npt.ArrayLike, valuation_date: dt.date | None = None
) -> Curve:
    """Return a month's zero curve through continuously compounded zero rates at `knots`.

    Zero rates interpolate linearly between the knots and stay flat outside them, the
    convention of every history month (attribution, spreads solved from history prices,
    benchmark characteristics from constituents).
    """
    return Curve(
        _BASE_PILLARS,
        _BASE_LOG_DFS,
        "log_linear",
        valuation_date,
        np.asarray(knots, dtype=np.float64),
        np.asarray(zero_values, dtype=np.float64),
    )


def _price(
    flows: _Flows, knots: FloatArray, zero_values: FloatArray, spread: FloatArray
) -> FloatArray:
    """Dirty prices per 100 face off the zero curve through (`knots`, `zero_values`)."""
    live = _LiveFlows.of(flows)
    return _price_live(live, knots, zero_values, live.at_live(spread))


@dataclass(frozen=True)
class _LiveFlows:
    """Flows with the matured streams dropped (they have no flows left and are worth nothing).

    A period prices the same flows in a dozen states: the live streams are found once.
    """

    live: npt.NDArray[np.bool_]
    packed: npt.NDArray[np.int64]
    times: FloatArray
    amounts: FloatArray

    @classmethod
    def of(cls, flows: _Flows) -> _LiveFlows:
        """Find the live streams of `flows` (offsets, times, amounts)."""
        offsets, times, amounts = flows
        live, packed = _live(offsets)
        return cls(live, packed, times, amounts)

    def at_live(self, values: FloatArray) -> FloatArray:
        """`values` (one per stream) at the live streams, contiguous for the core."""
        return np.ascontiguousarray(values[self.live])


def _price_live(
    flows: _LiveFlows, knots: FloatArray, zero_values: FloatArray, spread: FloatArray
) -> FloatArray:
    """:func:`_price` of live flows; `spread` already at the live streams."""
    curve = history_curve(knots, zero_values)
    out: FloatArray = np.zeros(len(flows.live))
    out[flows.live] = _core.price_streams(
        flows.packed, flows.times, flows.amounts, *curve.core_args(), spread
    )
    return out


def _live(offsets: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Return the streams with flows left and the offsets of just those (matured dropped)."""
    counts = np.diff(offsets)
    live = counts > 0
    packed = np.zeros(int(live.sum()) + 1, dtype=np.int64)
    np.cumsum(counts[live], out=packed[1:])
    return live, packed


def _rolled(book: BondBook, stream: npt.NDArray[np.int64], tau: float) -> _Flows:
    """Return the book's flows after `tau` years, timed from then (`stream`: each flow's bond)."""
    times, amounts = book.layout.times, book.layout.amounts
    keep = times > tau
    offsets = np.zeros(len(book) + 1, dtype=np.int64)
    np.cumsum(np.bincount(stream[keep], minlength=len(book)), out=offsets[1:])
    return offsets, np.ascontiguousarray(times[keep] - tau), np.ascontiguousarray(amounts[keep])


def history_z_spreads(
    book: BondBook,
    months: Sequence[dt.date],
    tenors: npt.ArrayLike,
    zeros: npt.ArrayLike,
    dirty_prices: npt.ArrayLike,
) -> FloatArray:
    """Z-spreads that reprice observed dirty prices at each month-end off that month's curve.

    Parameters
    ----------
    book : BondBook
        The securities, valued at ``months[0]`` (flows are rolled forward from it).
    months : sequence of date
        Month-ends, increasing.
    tenors, zeros : array
        The zero-rate history (see :func:`revalue_history`).
    dirty_prices : array, shape (months, securities)
        Dirty prices per 100 face; NaN where a security has none that month.

    Returns
    -------
    ndarray, shape (months, securities)
        Decimals; NaN where no price was given. Each month is one call of the compiled
        solver for every priced security.

    Raises
    ------
    ValueError
        Naming the month and every security whose price cannot be reached or that has
        matured by then.
    """
    dates = list(months)
    knots = np.asarray(tenors, dtype=np.float64)
    z = _check("zeros", zeros, (len(dates), len(knots)))
    dirty = np.asarray(dirty_prices, dtype=np.float64)
    stream = np.repeat(np.arange(len(book)), np.diff(book.layout.offsets))
    out = np.full(dirty.shape, np.nan)
    for k, month in enumerate(dates):
        if not np.isfinite(dirty[k]).any():
            continue
        flows = CashflowLayout(*_rolled(book, stream, act365(dates[0], month)))
        out[k] = solve_z_spreads(
            flows, history_curve(knots, z[k]), dirty[k], book.security_ids, f"prices at {month}"
        )
    return out


@dataclass(frozen=True)
class HistoryRisk:
    """Curve risk of every security at every month-end (zero for bonds matured by then).

    Attributes
    ----------
    effective_duration, spread_duration : ndarray, shape (months, securities)
        Years.
    krd : ndarray, shape (months, securities, key tenors)
        Key-rate durations (years).
    """

    effective_duration: FloatArray
    spread_duration: FloatArray
    krd: FloatArray


def history_risk(
    book: BondBook,
    months: Sequence[dt.date],
    tenors: npt.ArrayLike,
    zeros: npt.ArrayLike,
    spreads: npt.ArrayLike,
    key_tenors: Sequence[float] = DEFAULT_KEY_TENORS,
) -> HistoryRisk:
    """Durations and key-rate durations of `book`'s bonds at each month-end.

    The same compiled kernel and 1 bp bumps as today's analytics (:meth:`BondBook.analyze`),
    on each month's zero curve (:func:`history_curve` through `tenors` and `zeros`, months by
    tenors) and spreads (months by securities, decimals); `book` is valued at ``months[0]``.
    """
    dates = list(months)
    n_sec = len(book)
    knots = np.asarray(tenors, dtype=np.float64)
    z = _check("zeros", zeros, (len(dates), len(knots)))
    s = _check("spreads", spreads, (len(dates), n_sec))
    keys = np.ascontiguousarray(key_tenors, dtype=np.float64)
    stream = np.repeat(np.arange(n_sec), np.diff(book.layout.offsets))
    out = HistoryRisk(
        np.zeros((len(dates), n_sec)),
        np.zeros((len(dates), n_sec)),
        np.zeros((len(dates), n_sec, len(keys))),
    )
    for k, month in enumerate(dates):
        offsets, times, amounts = _rolled(book, stream, act365(dates[0], month))
        live, packed = _live(offsets)  # matured bonds carry no risk
        _, duration, _, spread_duration, krd = _core.curve_risk(
            packed, times, amounts, *history_curve(knots, z[k]).core_args(),
            np.ascontiguousarray(s[k, live]), keys, 1e-4,
        )  # fmt: skip
        out.effective_duration[k, live] = duration
        out.spread_duration[k, live] = spread_duration
        out.krd[k, live] = krd
    return out


def _history_inputs(
    book: BondBook,
    dates: list[dt.date],
    tenors: npt.ArrayLike,
    zeros: npt.ArrayLike,
    spreads: npt.ArrayLike,
    systematic_spreads: npt.ArrayLike,
    paydowns: tuple[npt.ArrayLike, npt.ArrayLike] | None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Check `revalue_history`'s inputs; tenors, zeros, spreads, systematic spreads, paydowns.

    The paydowns come as one array, (actual, expected) x periods x securities (zero if None).
    """
    n_months, n_sec = len(dates), len(book)
    if n_months < 2:
        msg = "revalue_history: need at least two month-ends"
        raise ValueError(msg)
    if dates[0] != book.valuation_date:
        msg = (
            f"revalue_history: the book is valued at {book.valuation_date} but the history "
            f"starts at {dates[0]}"
        )
        raise ValueError(msg)
    for k in range(1, n_months):
        if dates[k] <= dates[k - 1]:
            msg = f"revalue_history: month {k} ({dates[k]}) is not after {dates[k - 1]}"
            raise ValueError(msg)
    knots_h = _check("tenors", tenors, (np.asarray(tenors).size,), rate=False)
    if len(knots_h) == 0 or np.any(knots_h <= 0) or np.any(np.diff(knots_h) <= 0):
        msg = f"revalue_history: `tenors` must be positive and increasing, got {knots_h.tolist()}"
        raise ValueError(msg)
    z = _check("zeros", zeros, (n_months, len(knots_h)))
    s = _check("spreads", spreads, (n_months, n_sec))
    sys = _check("systematic_spreads", systematic_spreads, (n_months, n_sec))
    paid_down = np.zeros((2, n_months - 1, n_sec))
    if paydowns is not None:
        for j, name in enumerate(("actual paydowns", "expected paydowns")):
            paid_down[j] = _check(name, paydowns[j], (n_months - 1, n_sec), rate=False)
        if np.any((paid_down < 0) | (paid_down > 1)):
            msg = "revalue_history: paydowns are shares of a balance, in [0, 1]"
            raise ValueError(msg)
    return knots_h, z, s, sys, paid_down


def _states(
    flows: _Flows,
    knots: FloatArray,
    curve: tuple[FloatArray, FloatArray],
    key_move: FloatArray,
    tent: FloatArray,
    spread: tuple[FloatArray, FloatArray, FloatArray],
    paid_down: FloatArray,
) -> list[FloatArray]:
    """Prices (per 100 face) at a period's sequential states, without the flows paid in it.

    From the start's zero rates (`curve` start and end on `knots`) each state adds one more
    move: the parallel shift (the key rates' mean move), each key rate's tent, the rest of the
    curve, the systematic spread (`spread` start, after the systematic move, end), the specific
    spread; then the expected and the actual paydown (`paid_down`, shares) returned at par.
    """
    z_start, z_end = curve
    parallel = float(key_move.mean())
    level = z_start + parallel
    curves = [z_start, level]
    for j in range(len(key_move)):
        level = level + (key_move[j] - parallel) * tent[j]
        curves.append(level)
    curves.append(z_end)
    live = _LiveFlows.of(flows)
    start, moved, end = (live.at_live(s) for s in spread)
    states = [_price_live(live, knots, c, start) for c in curves]
    states.append(_price_live(live, knots, z_end, moved))
    p_end = _price_live(live, knots, z_end, end)
    states.append(p_end)
    # The share paid down comes back at par, not at the end price.
    actual, expected = paid_down
    states.append(p_end + expected * (100.0 - p_end))
    states.append(p_end + actual * (100.0 - p_end))
    return states


def revalue_history(
    book: BondBook,
    months: Sequence[dt.date],
    tenors: npt.ArrayLike,
    zeros: npt.ArrayLike,
    spreads: npt.ArrayLike,
    systematic_spreads: npt.ArrayLike,
    key_tenors: Sequence[float] = DEFAULT_KEY_TENORS,
    paydowns: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
) -> SecurityEffects:
    """Revalue every security of `book` month by month through the sequential states.

    Parameters
    ----------
    book : BondBook
        The securities, valued at ``months[0]`` (their cash flows are rolled forward from it).
    months : sequence of date
        Increasing month-end dates, at least two.
    tenors : array, shape (tenors,)
        Tenors (years, increasing) of the zero-rate history.
    zeros : array, shape (months, tenors)
        Continuously compounded zero rates (decimals) at each month-end; between tenors zero
        rates interpolate linearly, beyond them they stay flat.
    spreads : array, shape (months, securities)
        Each security's z-spread (decimal, continuously compounded) at each month-end.
    systematic_spreads : array, shape (months, securities)
        The part of each spread common to its rating (decimal; zero for government bonds):
        its monthly change is the ``spread_systematic`` move, the rest ``spread_specific``.
    key_tenors : sequence of float
        Key-rate tenors (years) of the curve effects.
    paydowns : (array, array), optional
        Actual and expected paydowns, each shape (months - 1, securities): the share of the
        balance at a period's start returned at par over the period (MBS pools; zero
        elsewhere; :func:`fialloc.analytics.pool_paydowns.history_paydowns`). None: none.

    Returns
    -------
    SecurityEffects

    Raises
    ------
    ValueError
        On mismatched shapes, non-finite or percentage-like rates, or months not increasing or
        not starting at the book's valuation date. Bonds may mature within the history: the
        period they mature in counts their redemption, later periods give them no return.
    """
    dates = list(months)
    n_months, n_sec = len(dates), len(book)
    knots_h, z, s, sys, paid_down = _history_inputs(
        book, dates, tenors, zeros, spreads, systematic_spreads, paydowns
    )
    keys = np.asarray(key_tenors, dtype=np.float64)
    knots = np.union1d(knots_h, keys)
    # Tent j on the union knots (linear between them, flat outside): exact zero-rate overlays.
    tent = np.array([np.interp(knots, *tent_overlay(keys, j)) for j in range(len(keys))])

    layout = book.layout
    times, amounts = layout.times, layout.amounts
    stream = np.repeat(np.arange(n_sec), np.diff(layout.offsets))
    taus = np.array([act365(dates[0], d) for d in dates])
    effects, start, shifts = [], [], []
    z_start = np.interp(knots, knots_h, z[0])
    p_start = _price(_rolled(book, stream, taus[0]), knots, z_start, s[0])
    for p in range(n_months - 1):
        z_end = np.interp(knots, knots_h, z[p + 1])
        key_move = np.interp(keys, knots_h, z[p + 1]) - np.interp(keys, knots_h, z[p])
        paid = (times > taus[p]) & (times <= taus[p + 1])
        coupons = np.bincount(stream[paid], weights=amounts[paid], minlength=n_sec)
        flows = _rolled(book, stream, taus[p + 1])
        spread = (s[p], s[p] + sys[p + 1] - sys[p], s[p + 1])
        states = _states(flows, knots, (z_start, z_end), key_move, tent, spread, paid_down[:, p])
        effects.append(_returns(p_start, states, coupons))
        start.append(p_start)
        shifts.append(float(key_move.mean()))
        p_start, z_start = states[-3], z_end
    names = effect_names(keys.tolist())
    ids = [str(i) for i in book.security_ids]
    return SecurityEffects(dates, ids, np.array(start), np.array(effects), names, np.array(shifts))


def _returns(start: FloatArray, states: list[FloatArray], paid: npt.NDArray[Any]) -> FloatArray:
    """Securities x states: each state's move with the flows `paid`, per unit of `start`.

    A bond that matured by the period's start is worth nothing and earns nothing; one that
    matures within it ends at 0 with its redemption among the flows paid.
    """
    values = np.column_stack([start, *(v + paid for v in states)])
    alive = start > 0.0
    out = np.zeros((len(start), len(states)))
    out[alive] = np.diff(values[alive], axis=1) / start[alive, None]
    return out
