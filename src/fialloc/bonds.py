"""Bond books and liability streams: cash flows, prices, yields, spreads, durations and KRDs.

A :class:`BondBook` turns a table of fixed-rate bonds into one compressed cash-flow layout
(amounts per 100 face) and prices every bond at once in the compiled core. A
:class:`CashflowStream` holds liabilities in the same layout and gets the same analytics.

Conventions
-----------
- Settlement is the valuation date; flows on or before it are excluded.
- Curve times are Act/365F; yields use each bond's own day count for the time between flows
  and compound at its coupon frequency (street convention; annually for zero-coupon bonds and
  liability streams), as QuantLib's ``BondFunctions.yield`` does.
- Prices, accrued interest and DV01-per-100 are per 100 face; ``market_value`` and ``dv01``
  are money for the position's face.
- Key-rate durations default to tent bumps of 1 bp on zero rates at 0.5, 1, 2, 3, 5, 7, 10,
  20 and 30 years with central differences (``krd_domain="zero"``); ``krd_domain="par"`` bumps
  the curve's par quotes by the same tents and re-bootstraps.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc import _core
from fialloc.checks import finite_float
from fialloc.curves import DEFAULT_KEY_TENORS, Curve, _check_key_tenors
from fialloc.layout import CashflowLayout, FloatArray
from fialloc.schedule import (
    FREQUENCIES,
    act365,
    backward_dates,
    normalize_day_count,
    to_date,
    year_fraction,
)

__all__ = [
    "BOND_COLUMNS",
    "Z_SPREAD_BRACKET",
    "BondAnalytics",
    "BondBook",
    "CashflowStream",
    "CurveRisk",
    "solve_z_spreads",
]

BOND_COLUMNS: Final = ("security_id", "coupon", "maturity", "frequency", "day_count", "face")
KrdDomain = Literal["zero", "par"]


def krd_column(tenor: float) -> str:
    """Column name of the key-rate duration at `tenor` years, e.g. ``krd_0.5y``, ``krd_10y``."""
    return f"krd_{tenor:g}y"


_ANALYTICS_COLUMNS: Final = (
    "dirty_price",
    "clean_price",
    "accrued",
    "market_value",
    "ytm",
    "z_spread",
    "modified_duration",
    "macaulay_duration",
    "convexity",
    "effective_duration",
    "effective_convexity",
    "spread_duration",
    "dv01",
)


@functools.lru_cache(maxsize=16)
def _frame_columns(key_tenors: tuple[float, ...]) -> pd.Index:
    """Columns of :meth:`BondAnalytics.to_frame`, built once per key-tenor set (pandas is slow)."""
    return pd.Index([*_ANALYTICS_COLUMNS, *(krd_column(t) for t in key_tenors)])


@dataclass(frozen=True)
class BondAnalytics:
    """Analytics of many streams as arrays (one entry per bond, or one for a liability stream).

    Prices are per 100 face for bonds and in money for liability streams; durations in years;
    convexities in years squared; ``z_spread`` and ``ytm`` decimals; ``dv01`` and
    ``market_value`` money; ``krd`` has one column per key tenor.
    """

    ids: pd.Index
    dirty_price: FloatArray
    clean_price: FloatArray
    accrued: FloatArray
    market_value: FloatArray
    ytm: FloatArray
    z_spread: FloatArray
    macaulay_duration: FloatArray
    modified_duration: FloatArray
    convexity: FloatArray
    effective_duration: FloatArray
    effective_convexity: FloatArray
    spread_duration: FloatArray
    dv01: FloatArray
    key_tenors: tuple[float, ...]
    krd: FloatArray

    def to_frame(self) -> pd.DataFrame:
        """One row per stream, keyed by id, with a ``krd_<tenor>y`` column per key tenor."""
        # One float block, built at once: a dict of columns costs pandas ten times as long.
        values = np.column_stack([getattr(self, n) for n in _ANALYTICS_COLUMNS] + [self.krd])
        return pd.DataFrame(values, index=self.ids, columns=_frame_columns(self.key_tenors))


def _risk_tenors(
    key_tenors: Sequence[float] | FloatArray, bump_bp: float, where: str
) -> FloatArray:
    tenors = np.ascontiguousarray(key_tenors, dtype=np.float64)
    _check_key_tenors(tenors, where)
    if not (np.isfinite(bump_bp) and 0 < bump_bp < 1000):
        msg = f"{where}: `bump_bp` must be in (0, 1000) basis points, got {bump_bp}"
        raise ValueError(msg)
    return tenors


def _price(layout: CashflowLayout, curve: Curve, z: FloatArray) -> FloatArray:
    o, t, a = layout.args()
    return _core.price_streams(o, t, a, *curve.core_args(), z)


def _z_spreads(layout: CashflowLayout, curve: Curve, dirty: FloatArray) -> FloatArray:
    o, t, a = layout.args()
    return _core.z_spreads_from_prices(o, t, a, *curve.core_args(), dirty)


def _select(layout: CashflowLayout, streams: npt.NDArray[np.int64]) -> CashflowLayout:
    """Return the layout of the `streams` (indices, increasing) only."""
    lengths = np.diff(layout.offsets)[streams]
    offsets = np.zeros(len(streams) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flows = np.repeat(layout.offsets[streams] - offsets[:-1], lengths) + np.arange(offsets[-1])
    return CashflowLayout(offsets, layout.times[flows], layout.amounts[flows])


#: The z-spreads the compiled solver brackets (decimals): a price outside them is refused.
Z_SPREAD_BRACKET: Final = (-1.0, 5.0)


def solve_z_spreads(
    layout: CashflowLayout,
    curve: Curve,
    dirty_price: npt.ArrayLike,
    ids: pd.Index,
    where: str,
) -> FloatArray:
    """Z-spreads (decimals) of the streams of `layout` that reprice `dirty_price` off `curve`.

    Parameters
    ----------
    layout : CashflowLayout
        Flows per 100 face, times in years from the curve's date.
    curve : Curve
        Discount curve.
    dirty_price : array, shape (streams,)
        Dirty prices per 100 face; NaN where a stream has none (its spread is NaN).
    ids : Index
        Stream names, for messages.
    where : str
        Who asks, for messages.

    Raises
    ------
    ValueError
        On a wrong shape, or naming every stream whose price implies a spread outside
        :data:`Z_SPREAD_BRACKET` (or that has no flows left to price).
    """
    dirty = np.asarray(dirty_price, dtype=np.float64)
    if dirty.shape != (layout.n_streams,):
        msg = f"{where}: `dirty_price` has shape {dirty.shape}; expected ({layout.n_streams},)"
        raise ValueError(msg)
    out = np.full(len(dirty), np.nan)
    pick = np.flatnonzero(np.isfinite(dirty))
    if len(pick) == 0:
        return out
    empty = pick[np.diff(layout.offsets)[pick] == 0]
    if len(empty):
        listed = ", ".join(str(ids[i]) for i in empty[:10])
        msg = f"{where}: price(s) given for {listed}, which have no cash flows left"
        raise ValueError(msg)
    sub = _select(layout, pick)
    # The solver brackets the spread: name every price it could not reach, not the first.
    high, low = (_price(sub, curve, np.full(len(pick), z)) for z in Z_SPREAD_BRACKET)
    bad = pick[(dirty[pick] <= low) | (dirty[pick] >= high)]
    if len(bad):
        lo, hi = Z_SPREAD_BRACKET
        listed = ", ".join(f"{ids[i]} at {dirty[i]:g}" for i in bad[:10])
        msg = (
            f"{where}: dirty price(s) per 100 {listed} imply a z-spread outside "
            f"[{lo:.0%}, {hi:.0%}] over the curve; is the price per 100 face?"
        )
        raise ValueError(msg)
    out[pick] = _z_spreads(sub, curve, np.ascontiguousarray(dirty[pick]))
    return out


@dataclass(frozen=True)
class CurveRisk:
    """Curve risk of every stream from one pass of the compiled kernel.

    Attributes
    ----------
    present_value : ndarray
        Per 100 face for bonds, money for liability streams.
    effective_duration, spread_duration : ndarray
        Years.
    effective_convexity : ndarray
        Years squared.
    key_tenors : tuple of float
        Years.
    krd : ndarray
        Streams by key tenors, years.
    """

    present_value: FloatArray
    effective_duration: FloatArray
    effective_convexity: FloatArray
    spread_duration: FloatArray
    key_tenors: tuple[float, ...]
    krd: FloatArray


@dataclass(frozen=True, eq=False)
class _Streams:
    """What every analytic needs: the layout on curve times, yield times, and compounding.

    ``kernel`` is the compiled pricing kernel holding the layout; it remembers where the flows
    fall on each curve's pillar grid and key-tenor grid, so repricing skips those searches.
    ``yield_kernel`` holds the same flows on yield times, validated once for every yield solve.
    """

    layout: CashflowLayout
    yield_times: FloatArray
    compounding: FloatArray
    accrued: FloatArray
    scale: FloatArray  # money per unit of price (face / 100 for bonds, 1 for liabilities)
    valuation_date: dt.date
    kernel: _core.FlowBook = field(init=False, repr=False)
    yield_kernel: _core.FlowBook = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kernel", _core.FlowBook(*self.layout.args()))
        offsets, _, amounts = self.layout.args()
        object.__setattr__(self, "yield_kernel", _core.FlowBook(offsets, self.yield_times, amounts))

    def check_curve(self, curve: Curve, where: str) -> None:
        if curve.valuation_date is not None and curve.valuation_date != self.valuation_date:
            msg = (
                f"{where}: curve valuation date {curve.valuation_date} differs from the "
                f"cash flows' valuation date {self.valuation_date}"
            )
            raise ValueError(msg)

    def per_stream(self, value: npt.ArrayLike | None, name: str, where: str) -> FloatArray | None:
        if value is None:
            return None
        arr = np.asarray(value, dtype=np.float64)
        n = self.layout.n_streams
        if arr.ndim == 0:
            arr = np.full(n, float(arr))
        if arr.shape != (n,):
            msg = f"{where}: `{name}` has shape {arr.shape}; expected a scalar or {n} values"
            raise ValueError(msg)
        # A finite sum means every entry is finite: one reduction on the repricing fast path.
        if not np.isfinite(arr.sum()):
            bad = np.flatnonzero(~np.isfinite(arr))
            if len(bad):
                msg = f"{where}: `{name}` row {bad[0]} is {arr[bad[0]]}; expected a finite number"
                raise ValueError(msg)
        return np.ascontiguousarray(arr)

    def dirty_prices(self, curve: Curve, z_spread: npt.ArrayLike = 0.0) -> FloatArray:
        self.check_curve(curve, "dirty_prices")
        z = self.per_stream(z_spread, "z_spread", "dirty_prices")
        assert z is not None
        return self.kernel.price(*curve.core_args(), z)

    def z_spreads(self, ids: pd.Index, curve: Curve, dirty_price: npt.ArrayLike) -> FloatArray:
        self.check_curve(curve, "z_spreads")
        return solve_z_spreads(self.layout, curve, dirty_price, ids, "z_spreads")

    def curve_risk(
        self,
        curve: Curve,
        z_spread: npt.ArrayLike,
        key_tenors: Sequence[float] | FloatArray,
        bump_bp: float,
    ) -> CurveRisk:
        where = "curve_risk"
        self.check_curve(curve, where)
        z = self.per_stream(z_spread, "z_spread", where)
        assert z is not None
        tenors = _risk_tenors(key_tenors, bump_bp, where)
        pv, eff_dur, eff_conv, spread_dur, krd = self.kernel.curve_risk(
            *curve.core_args(), z, tenors, bump_bp * 1e-4
        )
        return CurveRisk(pv, eff_dur, eff_conv, spread_dur, tuple(float(x) for x in tenors), krd)

    def _analysis_inputs(
        self,
        ids: pd.Index,
        curve: Curve,
        z_spread: npt.ArrayLike | None,
        yield_: npt.ArrayLike | None,
        clean_price: npt.ArrayLike | None,
        key_tenors: Sequence[float],
        bump_bp: float,
        krd_domain: KrdDomain,
    ) -> tuple[FloatArray, FloatArray | None, FloatArray | None]:
        """Check :meth:`analyze`'s inputs; return the risk tenors, yields and clean prices."""
        where = "analytics"
        self.check_curve(curve, where)
        given = [
            n
            for n, v in (("z_spread", z_spread), ("yield_", yield_), ("clean_price", clean_price))
            if v is not None
        ]
        if len(given) > 1:
            msg = f"{where}: give at most one of z_spread, yield_, clean_price; got {given}"
            raise ValueError(msg)
        tenors = _risk_tenors(key_tenors, bump_bp, where)
        if krd_domain not in ("zero", "par"):
            msg = f"{where}: `krd_domain` must be 'zero' or 'par', got {krd_domain!r}"
            raise ValueError(msg)
        y_in = self.per_stream(yield_, "yield_", where)
        z_in = self.per_stream(z_spread, "z_spread", where)
        for name, rates in (("yield_", y_in), ("z_spread", z_in)):
            if rates is None or not np.any(np.abs(rates) >= 1.0):
                continue
            bad = int(np.flatnonzero(np.abs(rates) >= 1.0)[0])
            msg = (
                f"{where}: `{name}` row {bad} ({ids[bad]}) is {rates[bad]}, which looks like a "
                "percentage; rates are decimals (0.045 for 4.5%)"
            )
            raise ValueError(msg)
        clean_in = self.per_stream(clean_price, "clean_price", where)
        if clean_in is not None and np.any(clean_in + self.accrued <= 0):
            bad = int(np.flatnonzero(clean_in + self.accrued <= 0)[0])
            msg = (
                f"{where}: `clean_price` row {bad} ({ids[bad]}) is {clean_in[bad]}; expected a "
                "positive price per 100 face"
            )
            raise ValueError(msg)
        return tenors, y_in, clean_in

    def analyze(
        self,
        ids: pd.Index,
        curve: Curve,
        z_spread: npt.ArrayLike | None,
        yield_: npt.ArrayLike | None,
        clean_price: npt.ArrayLike | None,
        key_tenors: Sequence[float],
        bump_bp: float,
        krd_domain: KrdDomain,
    ) -> BondAnalytics:
        where = "analytics"
        tenors, y_in, clean_in = self._analysis_inputs(
            ids, curve, z_spread, yield_, clean_price, key_tenors, bump_bp, krd_domain
        )
        bump = bump_bp * 1e-4
        given_z = y_in is None and clean_in is None
        if y_in is not None:
            dirty = self.yield_kernel.prices_from_yields(self.compounding, y_in)
            z = _z_spreads(self.layout, curve, dirty)
        elif clean_in is not None:
            dirty = clean_in + self.accrued
            z = _z_spreads(self.layout, curve, dirty)
        else:
            z_given = self.per_stream(0.0 if z_spread is None else z_spread, "z_spread", where)
            assert z_given is not None
            z = z_given
        # Inputs are checked: one kernel pass gives the present values (the dirty prices when
        # the spread is given, bit for bit what dirty_prices returns) and every curve risk.
        pv, eff_dur, eff_conv, spread_dur, krd = self.kernel.curve_risk(
            *curve.core_args(), z, tenors, bump
        )
        if given_z:
            dirty = pv
        ytm = (
            y_in
            if y_in is not None
            else self.yield_kernel.yields_from_prices(self.compounding, dirty)
        )
        macaulay, modified, convexity = self.yield_kernel.yield_risk(self.compounding, ytm)
        if krd_domain == "par":
            krd = np.empty((self.layout.n_streams, len(tenors)))
            for j, tenor in enumerate(tenors):
                down = self.dirty_prices(curve.par_bumped(tenor, -bump_bp, tenors), z)
                up = self.dirty_prices(curve.par_bumped(tenor, bump_bp, tenors), z)
                krd[:, j] = (down - up) / (2.0 * bump * dirty)
        return BondAnalytics(
            ids=ids,
            dirty_price=dirty,
            clean_price=dirty - self.accrued,
            accrued=self.accrued.copy(),
            market_value=dirty * self.scale,
            ytm=ytm,
            z_spread=z,
            macaulay_duration=macaulay,
            modified_duration=modified,
            convexity=convexity,
            effective_duration=eff_dur,
            effective_convexity=eff_conv,
            spread_duration=spread_dur,
            dv01=modified * dirty * self.scale * 1e-4,
            key_tenors=tuple(float(t) for t in tenors),
            krd=krd,
        )


@functools.lru_cache(maxsize=1 << 16)
def _bond_flows(
    coupon: float, maturity: dt.date, freq: int, day_count: str, vd: dt.date
) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...], float]:
    """Curve times, yield times, amounts per 100 face and accrued per 100 for one bond.

    Cached: a run builds books of the same bonds several times (the demo, the portfolio, the
    overlay, the holdings history), and the schedule is pure Python date arithmetic.
    """
    if freq == 0:
        if day_count == "ACT/ACT ICMA":
            # Notional annual periods back from maturity, as ICMA counts a long period.
            dates = backward_dates(maturity, 12, vd)
            prev, first = dates[0], dates[1]
            tau = (len(dates) - 2) + (first - vd).days / (first - prev).days
        else:
            tau = year_fraction(vd, maturity, day_count)
        return (act365(vd, maturity),), (tau,), (100.0,), 0.0
    months = 12 // freq
    dates = backward_dates(maturity, months, vd)
    times: list[float] = []
    ytimes: list[float] = []
    amounts: list[float] = []
    prev = dates[0]
    tau = 0.0
    for k in range(1, len(dates)):
        start, end = dates[k - 1], dates[k]
        period = year_fraction(start, end, day_count, start, end, freq)
        if k == 1:
            tau = period - year_fraction(start, vd, day_count, start, end, freq)
        else:
            tau += period
        times.append(act365(vd, end))
        ytimes.append(tau)
        amounts.append(100.0 * coupon * period)
    amounts[-1] += 100.0
    accrued = 100.0 * coupon * year_fraction(prev, vd, day_count, prev, dates[1], freq)
    return tuple(times), tuple(ytimes), tuple(amounts), accrued


def _bond_table(
    frame: pd.DataFrame | Mapping[str, Sequence[object]] | Sequence[Mapping[str, object]],
) -> tuple[pd.DataFrame, pd.Series]:
    """Check a bond table's shape (columns, rows, unique ids); return it and its ids as text."""
    if isinstance(frame, Mapping):
        lengths = {
            str(k): len(v)
            for k, v in frame.items()
            if isinstance(v, Sequence | np.ndarray | pd.Series) and not isinstance(v, str)
        }
        if len(set(lengths.values())) > 1:
            msg = f"BondBook.from_frame: columns have different lengths {lengths}"
            raise ValueError(msg)
    frame = pd.DataFrame(frame) if not isinstance(frame, pd.DataFrame) else frame
    missing = [c for c in BOND_COLUMNS if c not in frame.columns]
    if missing:
        msg = f"BondBook.from_frame: missing column(s) {missing}; have {list(frame.columns)}"
        raise ValueError(msg)
    if frame.empty:
        msg = "BondBook.from_frame: the table has no rows"
        raise ValueError(msg)
    ids = frame["security_id"].astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        row = int(np.flatnonzero(ids.duplicated().to_numpy())[0])
        msg = f"BondBook.from_frame: row {row}, column security_id: duplicate id {dup.iloc[0]!r}"
        raise ValueError(msg)
    return frame, ids


def _bond_terms(row: int, rec: Any, vd: dt.date) -> tuple[float, float, int, str, dt.date]:
    """Check one bond's terms; return its coupon, face, frequency, day count and maturity."""
    where = f"BondBook.from_frame: row {row} ({rec.security_id})"
    coupon = finite_float(rec.coupon, f"{where}, column coupon")
    if not 0.0 <= coupon < 1.0:
        msg = (
            f"{where}, column coupon: {coupon} is outside [0, 1); coupons are decimals "
            "(0.05 for 5%)"
        )
        raise ValueError(msg)
    face = finite_float(rec.face, f"{where}, column face")
    if face <= 0:
        msg = f"{where}, column face: {face} must be positive"
        raise ValueError(msg)
    freq_f = finite_float(rec.frequency, f"{where}, column frequency")
    if freq_f not in FREQUENCIES:
        msg = f"{where}, column frequency: {rec.frequency!r}; expected one of {FREQUENCIES}"
        raise ValueError(msg)
    freq = int(freq_f)
    dc = normalize_day_count(rec.day_count, f"{where}, column day_count")
    maturity = to_date(rec.maturity, f"{where}, column maturity")
    if maturity <= vd:
        msg = f"{where}, column maturity: {maturity} is on or before the valuation date {vd}"
        raise ValueError(msg)
    return coupon, face, freq, dc, maturity


class BondBook:
    """Fixed-rate bonds in one compressed cash-flow layout, priced and risked all at once.

    Build it with :meth:`from_frame`. Amounts are per 100 face.
    """

    def __init__(self, frame: pd.DataFrame, streams: _Streams) -> None:
        self._frame = frame
        self._streams = streams

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame | Mapping[str, Sequence[object]] | Sequence[Mapping[str, object]],
        valuation_date: object,
    ) -> BondBook:
        """Build a book from a table of bonds.

        Parameters
        ----------
        frame : DataFrame, dict of columns or list of records
            Columns ``security_id`` (unique), ``coupon`` (decimal a year), ``maturity`` (date),
            ``frequency`` (1, 2, 4, 12, or 0 for zero coupon), ``day_count`` (one of
            :data:`fialloc.schedule.DAY_COUNTS`, any spelling
            :func:`~fialloc.schedule.normalize_day_count` reads) and ``face`` (money, > 0).
            Other columns are kept.
        valuation_date : date or "YYYY-MM-DD"
            Settlement date; every maturity must fall after it.

        Raises
        ------
        ValueError
            Naming the row, column and value of the first problem found.
        """
        vd = to_date(valuation_date, "BondBook: valuation_date")
        frame, ids = _bond_table(frame)
        ytimes: list[float] = []
        times, amounts, accrued, comp, faces, mats, dcs, freqs, coupons = (
            [],
            [],
            [],
            [],
            [],
            [],
            [],
            [],
            [],
        )
        for row, rec in enumerate(frame[list(BOND_COLUMNS)].itertuples(index=False)):
            coupon, face, freq, dc, maturity = _bond_terms(row, rec, vd)
            t, yt, a, acc = _bond_flows(coupon, maturity, freq, dc, vd)
            times.append(t)
            ytimes.extend(yt)
            amounts.append(a)
            accrued.append(acc)
            comp.append(float(freq) if freq else 1.0)
            faces.append(face)
            mats.append(maturity)
            dcs.append(dc)
            freqs.append(freq)
            coupons.append(coupon)
        layout = CashflowLayout.from_streams(times, amounts)
        clean = frame.copy()
        clean["security_id"] = ids
        clean["coupon"] = coupons
        clean["maturity"] = mats
        clean["frequency"] = freqs
        clean["day_count"] = dcs
        clean["face"] = faces
        streams = _Streams(
            layout=layout,
            yield_times=np.asarray(ytimes, dtype=np.float64),
            compounding=np.asarray(comp, dtype=np.float64),
            accrued=np.asarray(accrued, dtype=np.float64),
            scale=np.asarray(faces, dtype=np.float64) / 100.0,
            valuation_date=vd,
        )
        return cls(clean.set_index("security_id", drop=False), streams)

    @classmethod
    def from_layout(
        cls, ids: Sequence[object], layout: CashflowLayout, valuation_date: object
    ) -> BondBook:
        """Build a book of arbitrary fixed flows, 100 face each (e.g. a swap's fixed leg).

        For instruments whose flows are not a bond's regular schedule. Amounts are per 100
        face on Act/365F times; yields compound annually on those times; nothing accrues.

        Raises
        ------
        ValueError
            If the ids are not unique and one per stream, or a time is not after the
            valuation date or an amount is not finite (naming the stream).
        """
        vd = to_date(valuation_date, "BondBook.from_layout: valuation_date")
        names = pd.Index([str(i) for i in ids], name="security_id")
        if len(names) != layout.n_streams or names.has_duplicates or len(names) == 0:
            msg = (
                f"BondBook.from_layout: need one unique id per stream, got {len(names)} ids "
                f"for {layout.n_streams} streams"
            )
            raise ValueError(msg)
        for i, name in enumerate(names):
            times, amounts = layout.stream(i)
            if len(times) == 0 or not (np.all(times > 0) and np.all(np.isfinite(amounts))):
                msg = (
                    f"BondBook.from_layout: stream {i} ({name}) needs flows after the "
                    "valuation date with finite amounts"
                )
                raise ValueError(msg)
        n = layout.n_streams
        streams = _Streams(
            layout=layout,
            yield_times=layout.times.copy(),
            compounding=np.ones(n),
            accrued=np.zeros(n),
            scale=np.ones(n),
            valuation_date=vd,
        )
        frame = pd.DataFrame({"security_id": names, "face": 100.0}, index=names)
        return cls(frame, streams)

    @property
    def valuation_date(self) -> dt.date:
        """Settlement date of every bond."""
        return self._streams.valuation_date

    @property
    def frame(self) -> pd.DataFrame:
        """The validated input table, indexed by security id."""
        return self._frame

    @property
    def security_ids(self) -> pd.Index:
        """Security ids in book order."""
        return self._frame.index

    @property
    def layout(self) -> CashflowLayout:
        """Cash flows on Act/365F times, per 100 face."""
        return self._streams.layout

    @property
    def yield_times(self) -> FloatArray:
        """Per-flow times in each bond's own day count, used for yields."""
        return self._streams.yield_times

    @property
    def compounding(self) -> FloatArray:
        """Yield compounding per year of each bond."""
        return self._streams.compounding

    @property
    def accrued(self) -> FloatArray:
        """Accrued interest per 100 face at the valuation date."""
        return self._streams.accrued

    @property
    def face(self) -> FloatArray:
        """Face amount of each position (money)."""
        return self._streams.scale * 100.0

    def take(self, positions: npt.ArrayLike) -> BondBook:
        """Return the bonds at `positions` (increasing book positions) as a book of their own.

        Flows, amounts and accrued interest are kept as they are (indexed flows included).
        """
        pos = np.asarray(positions, dtype=np.int64)
        if (
            pos.ndim != 1
            or np.any(np.diff(pos) <= 0)
            or (len(pos) and not 0 <= pos[0] <= pos[-1] < len(self))
        ):
            msg = f"BondBook.take: `positions` must be increasing positions in 0..{len(self) - 1}"
            raise ValueError(msg)
        layout = self.layout
        lengths = np.diff(layout.offsets)[pos]
        offsets = np.zeros(len(pos) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flows = np.repeat(layout.offsets[pos] - offsets[:-1], lengths) + np.arange(offsets[-1])
        s = self._streams
        streams = replace(
            s,
            layout=CashflowLayout(offsets, layout.times[flows], layout.amounts[flows]),
            yield_times=s.yield_times[flows],
            compounding=s.compounding[pos],
            accrued=s.accrued[pos],
            scale=s.scale[pos],
        )
        return BondBook(self._frame.iloc[pos], streams)

    def with_amounts(self, amounts: npt.ArrayLike, accrued_scale: npt.ArrayLike) -> BondBook:
        """Return the same bonds paying other amounts on the same dates, accrued scaled per bond.

        For bonds whose flows are indexed (inflation-linked bonds: real flows times forecast
        index ratios, accrued times today's ratio); yields keep each bond's day count and
        frequency.

        Parameters
        ----------
        amounts : array, shape (flows,)
            New amounts per 100 face, in layout order.
        accrued_scale : array, shape (bonds,)
            Factor on each bond's accrued interest (1 leaves it).

        Raises
        ------
        ValueError
            If a shape differs from the book's or a value is not finite.
        """
        new = np.ascontiguousarray(amounts, dtype=np.float64)
        scale = np.asarray(accrued_scale, dtype=np.float64)
        layout = self._streams.layout
        if new.shape != layout.amounts.shape or scale.shape != (len(self),):
            msg = (
                f"BondBook.with_amounts: need {layout.amounts.shape[0]} amounts and "
                f"{len(self)} accrued factors, got {new.shape} and {scale.shape}"
            )
            raise ValueError(msg)
        if not (np.all(np.isfinite(new)) and np.all(np.isfinite(scale))):
            msg = "BondBook.with_amounts: amounts and accrued factors must be finite"
            raise ValueError(msg)
        streams = replace(
            self._streams,
            layout=CashflowLayout(layout.offsets, layout.times, new),
            accrued=self._streams.accrued * scale,
        )
        return BondBook(self._frame, streams)

    def __len__(self) -> int:
        return self.layout.n_streams

    def __repr__(self) -> str:
        return (
            f"BondBook({len(self)} bonds, {len(self.layout.times)} cash flows, "
            f"valuation_date={self.valuation_date})"
        )

    def dirty_prices(self, curve: Curve, z_spread: npt.ArrayLike = 0.0) -> FloatArray:
        """Dirty prices per 100 face off `curve` plus a continuously compounded `z_spread`.

        The fast path for repricing under many curves (scenarios, bumps).
        """
        return self._streams.dirty_prices(curve, z_spread)

    def z_spreads(self, curve: Curve, dirty_price: npt.ArrayLike) -> FloatArray:
        """Continuously compounded z-spreads (decimals) over `curve` that reprice `dirty_price`.

        Parameters
        ----------
        curve : Curve
            Discount curve (its valuation date must match the book's).
        dirty_price : array, shape (bonds,)
            Observed dirty prices per 100 face in book order; NaN where a bond has none.

        Returns
        -------
        ndarray
            One z-spread per bond (NaN where the price is NaN), solved in one call of the
            compiled core to 1e-15.

        Raises
        ------
        ValueError
            On a wrong shape, or naming every bond whose price implies a spread outside
            [-100%, 500%] (e.g. a price not per 100 face).
        """
        return self._streams.z_spreads(self.security_ids, curve, dirty_price)

    def curve_risk(
        self,
        curve: Curve,
        z_spread: npt.ArrayLike = 0.0,
        *,
        key_tenors: Sequence[float] = DEFAULT_KEY_TENORS,
        bump_bp: float = 1.0,
    ) -> CurveRisk:
        """Present values, effective and spread durations and key-rate durations only.

        The single-kernel fast path behind :meth:`analyze` (no yields), for repeated risk runs.
        """
        return self._streams.curve_risk(curve, z_spread, key_tenors, bump_bp)

    def analyze(
        self,
        curve: Curve,
        z_spread: npt.ArrayLike | None = None,
        yield_: npt.ArrayLike | None = None,
        clean_price: npt.ArrayLike | None = None,
        *,
        key_tenors: Sequence[float] = DEFAULT_KEY_TENORS,
        bump_bp: float = 1.0,
        krd_domain: KrdDomain = "zero",
    ) -> BondAnalytics:
        """Price and risk every bond; arrays in book order.

        Parameters
        ----------
        curve : Curve
            Discount curve (its valuation date must match the book's).
        z_spread : float or array, optional
            Continuously compounded spread over `curve` (decimal); default 0.
        yield_ : float or array, optional
            Yield to maturity (decimal, at each bond's coupon frequency) to price from instead;
            the z-spread is then solved.
        clean_price : float or array, optional
            Clean price per 100 to price from instead; yield and z-spread are solved.
        key_tenors : sequence of float
            Key-rate tenors in years.
        bump_bp : float
            Bump size in basis points for effective and key-rate measures.
        krd_domain : {"zero", "par"}
            Tent bumps on zero rates, or on the curve's par quotes with re-bootstrap.
        """
        return self._streams.analyze(
            self.security_ids,
            curve,
            z_spread,
            yield_,
            clean_price,
            key_tenors,
            bump_bp,
            krd_domain,
        )

    def analytics(
        self,
        curve: Curve,
        z_spread: npt.ArrayLike | None = None,
        yield_: npt.ArrayLike | None = None,
        clean_price: npt.ArrayLike | None = None,
        *,
        key_tenors: Sequence[float] = DEFAULT_KEY_TENORS,
        bump_bp: float = 1.0,
        krd_domain: KrdDomain = "zero",
    ) -> pd.DataFrame:
        """Price and risk every bond; a DataFrame indexed by security id (see :meth:`analyze`)."""
        return self.analyze(
            curve,
            z_spread,
            yield_,
            clean_price,
            key_tenors=key_tenors,
            bump_bp=bump_bp,
            krd_domain=krd_domain,
        ).to_frame()


class CashflowStream:
    """A stream of dated cash flows (liabilities), analysed like a bond.

    Parameters
    ----------
    dates : sequence of date
        Payment dates, all after `valuation_date`; any order, repeated dates are added up.
    amounts : sequence of float
        Amounts in money (positive for payments the insurer owes).
    valuation_date : date or "YYYY-MM-DD"
        Date the stream is valued at.
    name : str
        Label used as the row index of :meth:`analytics`.

    Notes
    -----
    The yield is the internal rate of return compounded annually on Act/365F times.
    """

    def __init__(
        self,
        dates: Sequence[object],
        amounts: npt.ArrayLike,
        valuation_date: object,
        name: str = "liabilities",
    ) -> None:
        vd = to_date(valuation_date, "CashflowStream: valuation_date")
        amt: FloatArray = np.asarray(amounts, dtype=np.float64).reshape(-1)
        if len(dates) != len(amt):
            msg = f"CashflowStream: {len(dates)} dates but {len(amt)} amounts"
            raise ValueError(msg)
        if len(amt) == 0:
            msg = "CashflowStream: no cash flows"
            raise ValueError(msg)
        parsed = [to_date(d, f"CashflowStream: dates row {i}") for i, d in enumerate(dates)]
        for i, (d, a) in enumerate(zip(parsed, amt, strict=True)):
            if d <= vd:
                msg = f"CashflowStream: dates row {i}: {d} is on or before the valuation date {vd}"
                raise ValueError(msg)
            if not np.isfinite(a):
                msg = f"CashflowStream: amounts row {i}: {a} is not finite"
                raise ValueError(msg)
        series = pd.Series(amt, index=pd.Index(parsed)).groupby(level=0).sum().sort_index()
        self.name = name
        self.dates: list[dt.date] = list(series.index)
        self.amounts: FloatArray = np.asarray(series.to_numpy(), dtype=np.float64)
        times = np.array([act365(vd, d) for d in self.dates])
        layout = CashflowLayout(np.array([0, len(times)], dtype=np.int64), times, self.amounts)
        self._streams = _Streams(
            layout=layout,
            yield_times=times,
            compounding=np.ones(1),
            accrued=np.zeros(1),
            scale=np.ones(1),
            valuation_date=vd,
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, valuation_date: object) -> CashflowStream:
        """Build from a table with columns ``date`` and ``amount``."""
        missing = [c for c in ("date", "amount") if c not in frame.columns]
        if missing:
            msg = f"CashflowStream.from_frame: missing column(s) {missing}"
            raise ValueError(msg)
        return cls(list(frame["date"]), frame["amount"].to_numpy(), valuation_date)

    @property
    def valuation_date(self) -> dt.date:
        """Date the stream is valued at."""
        return self._streams.valuation_date

    @property
    def layout(self) -> CashflowLayout:
        """The stream as a one-stream layout (Act/365F times, money amounts)."""
        return self._streams.layout

    def present_value(self, curve: Curve, z_spread: float = 0.0) -> float:
        """Present value (money) off `curve` plus a continuously compounded spread."""
        return float(self._streams.dirty_prices(curve, z_spread)[0])

    def curve_risk(
        self,
        curve: Curve,
        *,
        key_tenors: Sequence[float] = DEFAULT_KEY_TENORS,
        bump_bp: float = 1.0,
    ) -> CurveRisk:
        """Present value (money), effective and spread durations and key-rate durations."""
        return self._streams.curve_risk(curve, 0.0, key_tenors, bump_bp)

    def analyze(
        self,
        curve: Curve,
        *,
        key_tenors: Sequence[float] = DEFAULT_KEY_TENORS,
        bump_bp: float = 1.0,
        krd_domain: KrdDomain = "zero",
    ) -> BondAnalytics:
        """Analytics of the stream as arrays of length one (prices in money)."""
        return self._streams.analyze(
            pd.Index([self.name]), curve, 0.0, None, None, key_tenors, bump_bp, krd_domain
        )

    def analytics(
        self,
        curve: Curve,
        *,
        key_tenors: Sequence[float] = DEFAULT_KEY_TENORS,
        bump_bp: float = 1.0,
        krd_domain: KrdDomain = "zero",
    ) -> pd.DataFrame:
        """One-row DataFrame with the same columns as :meth:`BondBook.analytics`."""
        return self.analyze(
            curve, key_tenors=key_tenors, bump_bp=bump_bp, krd_domain=krd_domain
        ).to_frame()
