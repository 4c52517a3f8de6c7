"""Inflation indices, breakeven curves, real curves and inflation-linked bonds (linkers).

A linker pays a real coupon on a principal that grows with a consumer price index: each flow
due on date ``d`` is its real amount times the *index ratio* ``I_ref(d) / base_cpi``, where
``I_ref`` is the index observed with a lag of ``lag_months`` months and, with ``linear``
interpolation, interpolated through the month (the reference CPI of US TIPS, UK gilts since
2005, euro-area HICPxT linkers, JGBi and Canadian RRBs), or the lagged month's value with
``flat``. A deflation floor (TIPS, euro-area and Japanese linkers) pays back at least the
face at maturity.

Conventions
-----------
- Index values are monthly fixings keyed by the first day of the month they measure
  (:func:`cpi_fixings`), as a CPI history table gives them.
- ``reference_cpi(d) = I(m) + (I(m + 1) - I(m)) * (day(d) - 1) / days_in_month(d)`` with
  ``m`` the month ``lag_months`` before ``d``'s month (``linear``), or ``I(m)`` (``flat``) -
  the Treasury's TIPS reference CPI and QuantLib's ``CPI.laggedFixing``.
- A :class:`BreakevenCurve` forecasts a fixing not yet published from the last published one
  (the base month) with annually compounded zero-coupon inflation rates on Act/365F from the
  base month, linear in time between pillars and flat beyond them, times an optional
  seasonal factor - QuantLib's ``ZeroInflationCurve`` with linear interpolation.
- The *real curve* discounts real flows: ``P_real(t) = P_nominal(t) * I_ref(d) / I_ref(today)``
  (nominal less breakeven). Holding breakevens fixed, a linker's flows in money are fixed
  (real amount times the forecast index ratio), so its key-rate durations on the nominal
  curve are its real key-rate durations; its *inflation duration* is the price change for a
  parallel move of the breakeven curve with the nominal curve held (decimal per unit rate).
- Settlement is the valuation date; prices are per 100 face: the *real* (quoted) clean price
  times today's index ratio is the invoice clean price.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import brentq

from fialloc import _core
from fialloc.bonds import BOND_COLUMNS, BondBook, krd_column
from fialloc.checks import decimal_rate, finite_float
from fialloc.curve_set import CurveSet
from fialloc.curves import DEFAULT_KEY_TENORS, INTERPOLATIONS, Curve, Interpolation
from fialloc.layout import CashflowLayout, FloatArray
from fialloc.schedule import act365, add_months, parse_tenor, to_date

__all__ = [
    "INDEX_CONVENTIONS",
    "LINKER_COLUMNS",
    "BreakevenCurve",
    "IndexConvention",
    "LinkerBook",
    "LinkerFlows",
    "cpi_fixings",
    "index_linked",
    "published_reference",
    "real_curve",
    "real_curve_from_linkers",
    "reference_cpi",
    "with_real_curves",
]

CpiInterpolation = Literal["linear", "flat"]
CPI_INTERPOLATIONS: Final = ("linear", "flat")
#: Columns a linker needs besides the bond columns of :data:`fialloc.bonds.BOND_COLUMNS`.
LINKER_COLUMNS: Final = ("index", "base_cpi", "lag_months", "interpolation", "floor")


@dataclass(frozen=True)
class IndexConvention:
    """How a market's linkers reference their price index.

    Attributes
    ----------
    currency : str
        Currency of the bonds (ISO code).
    lag_months : int
        Observation lag of the reference CPI (months).
    interpolation : {"linear", "flat"}
        Daily interpolation through the month, or the lagged month's fixing.
    floor : bool
        Whether the principal repays at least its face (deflation floor).
    """

    currency: str
    lag_months: int
    interpolation: CpiInterpolation
    floor: bool


#: The market conventions of the five linker markets, keyed by index name: US TIPS on CPI-U
#: (3-month lag, daily interpolation, principal floored at par); UK index-linked gilts since
#: 2005 on RPI (3 months, interpolated, no floor); euro-area OAT€i/Bund€i/BTP€i on HICP ex
#: tobacco (3 months, interpolated, par floor); JGBi on Japan CPI ex fresh food (3 months,
#: interpolated, par floor on bonds issued since 2013; the market's 10th-of-month start of the
#: interpolation is not modelled); Canadian RRBs on CPI (3 months, interpolated, no floor).
INDEX_CONVENTIONS: Final[Mapping[str, IndexConvention]] = {
    "USCPI": IndexConvention("USD", 3, "linear", True),
    "UKRPI": IndexConvention("GBP", 3, "linear", False),
    "HICPXT": IndexConvention("EUR", 3, "linear", True),
    "JPCPI": IndexConvention("JPY", 3, "linear", True),
    "CACPI": IndexConvention("CAD", 3, "linear", False),
}


def _month_number(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


# Month numbers (year * 12 + month - 1) and days since 1970 as numpy's calendar counts them.
_EPOCH_MONTH: Final = 1970 * 12


def _days(dates: Sequence[dt.date] | npt.NDArray[np.datetime64]) -> npt.NDArray[np.int64]:
    """Days since 1970-01-01 of each date."""
    return np.asarray(np.asarray(dates, dtype="datetime64[D]").astype(np.int64))


def _month_start_days(numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Days since 1970-01-01 of the first day of each month number."""
    months = (numbers - _EPOCH_MONTH).astype("datetime64[M]")
    return np.asarray(months.astype("datetime64[D]").astype(np.int64))


def _month_start(number: int) -> dt.date:
    year, month = divmod(number, 12)
    return dt.date(year, month + 1, 1)


def cpi_fixings(history: pd.DataFrame, index: str) -> pd.Series:
    """Monthly fixings of `index` from a CPI history table.

    Parameters
    ----------
    history : DataFrame
        Columns ``index`` (name), ``month`` (any date in the month the value measures) and
        ``value`` (index level, positive).
    index : str
        Which index to take.

    Returns
    -------
    Series
        Index levels keyed by the first day of each month, sorted, without gaps.

    Raises
    ------
    ValueError
        If the index is absent, a value is not positive, a month repeats or months are missing.
    """
    missing = [c for c in ("index", "month", "value") if c not in history.columns]
    if missing:
        msg = f"cpi_history: missing column(s) {missing}; have {list(history.columns)}"
        raise ValueError(msg)
    rows = history[history["index"].astype(str) == index]
    if rows.empty:
        have = sorted(history["index"].astype(str).unique())
        msg = f"cpi_history: no fixings of index {index!r}; the table holds {have}"
        raise ValueError(msg)
    months = [_month_number(to_date(m, "cpi_history, column month")) for m in rows["month"]]
    values = np.array(
        [finite_float(v, "cpi_history, column value") for v in rows["value"]], dtype=np.float64
    )
    if np.any(values <= 0):
        bad = int(np.flatnonzero(values <= 0)[0])
        msg = f"cpi_history: index {index} has a non-positive value {values[bad]} at {months[bad]}"
        raise ValueError(msg)
    series = pd.Series(values, index=months).sort_index()
    if series.index.has_duplicates:
        month = _month_start(int(series.index[series.index.duplicated()][0]))
        msg = f"cpi_history: index {index} has two values for {month:%Y-%m}"
        raise ValueError(msg)
    gaps = np.flatnonzero(np.diff(series.index.to_numpy()) != 1)
    if len(gaps):
        after = _month_start(int(series.index[gaps[0]]))
        msg = f"cpi_history: index {index} has no value for the month after {after:%Y-%m}"
        raise ValueError(msg)
    series.index = pd.Index([_month_start(int(m)) for m in series.index], name="month")
    return series


def _check_lag(lag_months: object, where: str) -> int:
    lag = finite_float(lag_months, f"{where}: `lag_months`")
    if not (lag.is_integer() and 0 <= lag <= 12):
        msg = f"{where}: `lag_months` must be a whole number of months in 0..12, got {lag_months}"
        raise ValueError(msg)
    return int(lag)


def _check_interpolation(interpolation: object, where: str) -> CpiInterpolation:
    if interpolation == "linear":
        return "linear"
    if interpolation == "flat":
        return "flat"
    msg = f"{where}: `interpolation` must be one of {CPI_INTERPOLATIONS}, got {interpolation!r}"
    raise ValueError(msg)


def _pillar_months(
    book: LinkerBook, settlement: dt.date, base: pd.Timestamp, where: str
) -> npt.NDArray[np.int64]:
    """Each linker's pillar: the last month (a month number) its maturity's reference reads.

    Raises naming `where` when the linkers mix conventions, share a pillar or have one on or
    before the `base` month (the last fixing).
    """
    terms = book._terms
    if len(set(zip(terms.lag_months, terms.interpolation, strict=True))) != 1:
        msg = f"{where}: the linkers mix observation lags or interpolations"
        raise ValueError(msg)
    lag, how = terms.lag_months[0], terms.interpolation[0]
    layout = book.real.layout
    maturity = _payment_days(layout.times[layout.offsets[1:] - 1], settlement)
    own = maturity.astype("datetime64[M]").astype(np.int64) + _EPOCH_MONTH
    past_first = _days(maturity) > _month_start_days(own)
    last_read = own - lag + ((how == "linear") & past_first).astype(np.int64)
    order = np.argsort(last_read, kind="stable")
    if np.any(np.diff(last_read[order]) <= 0) or last_read[order[0]] <= _month_number(base):
        msg = (
            f"{where}: each linker needs its own pillar month after the last fixing "
            f"{base:%Y-%m}; the reference months of the maturities are "
            f"{sorted(_month_start(int(m)).strftime('%Y-%m') for m in last_read)}"
        )
        raise ValueError(msg)
    return last_read


@dataclass(frozen=True, eq=False)
class BreakevenCurve:
    """Published fixings of one price index and the zero-coupon inflation curve beyond them.

    Build it with :meth:`from_swaps` (zero-coupon inflation swap quotes) or directly.

    Attributes
    ----------
    index : str
        Index name (e.g. ``USCPI``).
    fixings : Series
        Published monthly levels keyed by the first day of the month (:func:`cpi_fixings`).
    base_month : date
        First day of the month the forecast grows from; its fixing must be published.
    pillars : tuple of date
        Pillar months (first days), increasing, after the base month.
    rates : ndarray
        Zero-coupon inflation rates at the pillars, annually compounded on Act/365F years
        from the base month (decimals).
    seasonality : ndarray or None
        Twelve multiplicative factors by calendar month (January first), or None.
    """

    index: str
    fixings: pd.Series
    base_month: dt.date
    pillars: tuple[dt.date, ...]
    rates: FloatArray
    seasonality: FloatArray | None = None

    def __post_init__(self) -> None:
        where = f"BreakevenCurve({self.index})"
        if self.base_month.day != 1 or self.base_month not in self.fixings.index:
            msg = (
                f"{where}: base month {self.base_month} must be the first day of a month with a "
                f"published fixing (the history ends {self.fixings.index[-1]})"
            )
            raise ValueError(msg)
        rates = np.asarray(self.rates, dtype=np.float64)
        if rates.shape != (len(self.pillars),) or len(rates) == 0:
            msg = f"{where}: need one rate per pillar, got {rates.shape} for {len(self.pillars)}"
            raise ValueError(msg)
        for rate in rates:
            decimal_rate(rate, f"{where}: `rates`")
        months = [_month_number(p) for p in self.pillars]
        if any(p.day != 1 for p in self.pillars) or np.any(np.diff(months) <= 0):
            msg = f"{where}: pillars must be increasing first days of months"
            raise ValueError(msg)
        if months[0] <= _month_number(self.base_month):
            msg = f"{where}: the first pillar {self.pillars[0]} is not after the base month"
            raise ValueError(msg)
        if self.seasonality is not None:
            s = np.asarray(self.seasonality, dtype=np.float64)
            if s.shape != (12,) or not np.all(np.isfinite(s)) or np.any(s <= 0):
                msg = f"{where}: `seasonality` must be 12 positive factors (January first)"
                raise ValueError(msg)
        object.__setattr__(self, "rates", rates)

    @classmethod
    def from_swaps(
        cls,
        quotes: pd.DataFrame | Sequence[Mapping[str, object]],
        fixings: pd.Series,
        index: str,
        valuation_date: object,
        lag_months: int = 3,
        seasonality: npt.ArrayLike | None = None,
    ) -> BreakevenCurve:
        """Curve from zero-coupon inflation swap rates.

        A swap of tenor ``T`` whole years quoted at ``K`` exchanges ``I(b + T) / I(b) - 1``
        for ``(1 + K)^T - 1``, with ``b`` the month ``lag_months`` before the valuation date's
        (the flat, monthly reference of euro-area and UK swaps; an interpolated US swap
        differs by the interpolation of one month's inflation at either end). Its pillar is
        month ``b + T`` with zero rate ``(1 + K)^(T / tau) - 1``, ``tau`` the Act/365F years
        from ``b``, so the curve reprices each swap exactly.

        Parameters
        ----------
        quotes : DataFrame or list of dict
            Columns ``tenor`` (``"5Y"``, whole years) and ``rate`` (decimal), increasing.
        fixings : Series
            Published fixings (:func:`cpi_fixings`); the base month's must be there.
        index : str
            Index name, for messages.
        valuation_date : date or "YYYY-MM-DD"
            Trade date of the swaps.
        lag_months : int
            Observation lag of the swaps (months).
        seasonality : array of 12 or None
            Multiplicative factors by calendar month.

        Raises
        ------
        ValueError
            Naming the row and column of a bad quote, or the missing base fixing.
        """
        vd = to_date(valuation_date, f"BreakevenCurve.from_swaps({index}): valuation_date")
        lag = _check_lag(lag_months, f"BreakevenCurve.from_swaps({index})")
        records: list[dict[str, object]] = (
            [{str(k): v for k, v in r.items()} for r in quotes.to_dict("records")]
            if isinstance(quotes, pd.DataFrame)
            else [dict(r) for r in quotes]
        )
        if not records:
            msg = f"inflation swaps of {index}: no quotes"
            raise ValueError(msg)
        base = _month_start(_month_number(vd) - lag)
        if base not in fixings.index:
            msg = (
                f"inflation swaps of {index}: the base month {base:%Y-%m} ({lag} months before "
                f"{vd}) has no published fixing in cpi_history (it ends "
                f"{fixings.index[-1]:%Y-%m})"
            )
            raise ValueError(msg)
        pillars: list[dt.date] = []
        rates: list[float] = []
        for row, rec in enumerate(records):
            where = f"inflation swaps of {index}, row {row}"
            n, unit = parse_tenor(str(rec.get("tenor")), f"{where}, column tenor")
            if unit != "Y":
                msg = f"{where}, column tenor: {rec.get('tenor')!r}; expected whole years (5Y)"
                raise ValueError(msg)
            k = decimal_rate(rec.get("rate"), f"{where}, column rate")
            pillar = add_months(base, 12 * n)
            if pillars and pillar <= pillars[-1]:
                msg = f"{where}, column tenor: tenors must increase"
                raise ValueError(msg)
            pillars.append(pillar)
            rates.append((1.0 + k) ** (n / act365(base, pillar)) - 1.0)
        season = None if seasonality is None else np.asarray(seasonality, dtype=np.float64)
        return cls(index, fixings, base, tuple(pillars), np.asarray(rates), season)

    @classmethod
    def from_linkers(
        cls,
        book: LinkerBook,
        real_clean_price: npt.ArrayLike,
        nominal: Curve,
        fixings: pd.Series,
        index: str,
        z_spread: npt.ArrayLike = 0.0,
    ) -> BreakevenCurve:
        """Curve whose forecast reprices linkers' quoted real clean prices exactly.

        The base month is the last published fixing. Each linker adds a pillar at the last
        month its maturity's reference CPI reads (``lag_months`` before the maturity's month,
        the month after that with daily interpolation past the first day), and the pillar's
        zero-coupon inflation rate is solved, in maturity order, so that the linker's invoice
        price (money flows at the forecast index ratios, deflation floor included, off
        `nominal` plus its `z_spread`) is its real dirty price times today's index ratio. With
        rates linear between pillars, each linker's flows read no later pillar, so every
        linker is repriced exactly (QuantLib's CPI bond on the same curve agrees to 1e-8).

        Parameters
        ----------
        book : LinkerBook
            Linkers of `index`, one convention (lag and interpolation), one per pillar.
        real_clean_price : array
            Quoted real clean prices per 100 face, one per linker.
        nominal : Curve
            Nominal curve of the index's currency, with its valuation date (the settlement).
        fixings : Series
            Published fixings (:func:`cpi_fixings`).
        index : str
            Index name.
        z_spread : float or array
            Each linker's spread over `nominal` (decimal; 0 for government linkers).

        Raises
        ------
        ValueError
            If the linkers mix conventions or share a pillar, a price is not positive, or no
            inflation rate in (-50%, 50%) reprices a linker.
        """
        where = f"BreakevenCurve.from_linkers({index})"
        prices = np.asarray(real_clean_price, dtype=np.float64)
        if prices.shape != (len(book),) or not np.all(np.isfinite(prices)) or np.any(prices <= 0):
            msg = (
                f"{where}: `real_clean_price` must be {len(book)} positive prices per 100 "
                f"face, got {prices.tolist()}"
            )
            raise ValueError(msg)
        if nominal.valuation_date is None or len(fixings) == 0:
            msg = f"{where}: the nominal curve needs a valuation date and the index fixings"
            raise ValueError(msg)
        base = fixings.index[-1]
        last_read = _pillar_months(book, nominal.valuation_date, base, where)
        order = np.argsort(last_read, kind="stable")
        z = np.broadcast_to(np.asarray(z_spread, dtype=np.float64), (len(book),)).copy()
        pillars = tuple(_month_start(int(m)) for m in last_read[order])
        rates = np.zeros(len(book))
        for k, i in enumerate(order):

            def gap(rate: float, k: int = k, i: int = i) -> float:
                rates[k:] = rate  # flat beyond the pillar being solved
                curve = cls(index, fixings, base, pillars, rates.copy())
                ratio = book.index_ratios({index: curve})[i]
                price = book._price(nominal, book.money_amounts({index: curve}), z)[i]
                return float(price - (prices[i] + book.real.accrued[i]) * ratio)

            low, high = gap(-0.5), gap(0.5)
            if not np.sign(low) * np.sign(high) < 0:
                msg = (
                    f"{where}: no inflation rate in (-50%, 50%) reprices "
                    f"{book.security_ids[i]} at {prices[i]:g}"
                )
                raise ValueError(msg)
            rates[k:] = brentq(gap, -0.5, 0.5, xtol=1e-15, rtol=4 * np.finfo(float).eps)
        return cls(index, fixings, base, pillars, rates)

    @property
    def base_cpi(self) -> float:
        """The base month's fixing (index level)."""
        return float(self.fixings.loc[self.base_month])

    def zero_rate(self, months: Sequence[dt.date]) -> FloatArray:
        """Zero-coupon inflation rate (annual, Act/365F from the base month) to each month."""
        return self._zero_rate(_days(months))

    def _zero_rate(self, days: npt.NDArray[np.int64]) -> FloatArray:
        base = _days([self.base_month])[0]
        knots = np.concatenate([[0.0], (_days(self.pillars) - base) / 365.0])
        values = np.concatenate([self.rates[:1], self.rates])
        return np.asarray(np.interp((days - base) / 365.0, knots, values), dtype=np.float64)

    def fixing(self, months: Sequence[dt.date]) -> FloatArray:
        """Index level of each month (first days): published if known, else forecast."""
        return self._levels(np.array([_month_number(m) for m in months], dtype=np.int64))

    def _levels(self, numbers: npt.NDArray[np.int64]) -> FloatArray:
        """Index level of each month number: published if known, else forecast."""
        known = np.array([_month_number(m) for m in self.fixings.index], dtype=np.int64)
        values = self.fixings.to_numpy(dtype=np.float64)
        at = np.clip(np.searchsorted(known, numbers), 0, len(known) - 1)
        published = known[at] == numbers
        out = np.where(published, values[at], np.nan)
        ahead = ~published
        if np.any(ahead):
            base = _month_number(self.base_month)
            if np.any(numbers[ahead] < base):
                first = _month_start(int(numbers[ahead][numbers[ahead] < base].min()))
                msg = (
                    f"{self.index}: no published fixing for {first:%Y-%m}, which is before "
                    f"the base month {self.base_month:%Y-%m}"
                )
                raise ValueError(msg)
            days = _month_start_days(numbers[ahead])
            t = (days - _days([self.base_month])[0]) / 365.0
            level = self.base_cpi * (1.0 + self._zero_rate(days)) ** t
            if self.seasonality is not None:
                level *= self.seasonality[numbers[ahead] % 12]
                level /= self.seasonality[self.base_month.month - 1]
            out[ahead] = level
        return np.asarray(out, dtype=np.float64)

    def shifted(self, bp: float) -> BreakevenCurve:
        """Return the curve with every zero-coupon inflation rate moved by `bp` basis points."""
        shift = finite_float(bp, f"BreakevenCurve({self.index}).shifted: `bp`") * 1e-4
        return replace(self, rates=self.rates + shift)


def _reference_months(
    days: npt.NDArray[np.int64], lag: int
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Return each day's lagged month number and its weight through its own month."""
    own = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) + _EPOCH_MONTH
    first = _month_start_days(own)
    weights = (days - first) / (_month_start_days(own + 1) - first)
    return own - lag, np.asarray(weights, dtype=np.float64)


def published_reference(
    dates: Sequence[dt.date] | npt.NDArray[np.datetime64],
    curve: BreakevenCurve,
    lag_months: int,
    interpolation: CpiInterpolation = "linear",
) -> npt.NDArray[np.bool_]:
    """Whether each date's reference index reads only published fixings (no forecast).

    The lagged month must be published, and with ``linear`` interpolation past a month's
    first day the month after it too (see :func:`reference_cpi`).
    """
    lag = _check_lag(lag_months, "published_reference")
    how = _check_interpolation(interpolation, "published_reference")
    numbers, weights = _reference_months(_days(dates), lag)
    known = np.array([_month_number(m) for m in curve.fixings.index], dtype=np.int64)
    done = np.isin(numbers, known)
    if how == "linear":
        done &= (weights == 0) | np.isin(numbers + 1, known)
    return np.asarray(done, dtype=np.bool_)


def reference_cpi(
    dates: Sequence[dt.date] | npt.NDArray[np.datetime64],
    curve: BreakevenCurve,
    lag_months: int,
    interpolation: CpiInterpolation = "linear",
) -> FloatArray:
    """Return the reference index level of each date with the lag and interpolation of a linker.

    Parameters
    ----------
    dates : sequence of date or datetime64 array
        Observation dates (settlement or payment dates).
    curve : BreakevenCurve
        Published fixings and the forecast beyond them.
    lag_months : int
        Observation lag (months).
    interpolation : {"linear", "flat"}
        Daily interpolation through the month, or the lagged month's fixing.

    Returns
    -------
    ndarray
        Index levels, one per date.
    """
    lag = _check_lag(lag_months, "reference_cpi")
    how = _check_interpolation(interpolation, "reference_cpi")
    numbers, weights = _reference_months(_days(dates), lag)
    if how == "flat":
        return curve._levels(numbers)
    needed, inverse = np.unique(np.concatenate([numbers, numbers + 1]), return_inverse=True)
    levels = curve._levels(needed)[inverse]
    start, end = levels[: len(numbers)], levels[len(numbers) :]
    # The first of a month needs no interpolation (nor the next month's fixing).
    return np.where(weights > 0, start + (end - start) * weights, start)


def _payment_days(times: FloatArray, valuation_date: dt.date) -> npt.NDArray[np.datetime64]:
    # Flow times are whole days on Act/365F, so the dates come back exactly.
    start = np.datetime64(valuation_date, "D")
    return start + np.rint(times * 365.0).astype(np.int64)


@dataclass(frozen=True)
class LinkerFlows:
    """Each linker's real cash flows: what a path revaluation needs (the ``paths`` contract).

    On a path where the index has grown by ``g(t) = I_ref(t) / I_ref(today)`` by time ``t``,
    linker ``i`` pays ``amounts[k] * index_ratio[i] * g(t_k)`` (money per 100 face) at each of
    its times ``t_k``; at maturity the principal part pays at least ``principal_floor[i]``.
    Discounted at the nominal curve of the path, they give the linker's invoice (dirty) price.
    Today, ``g`` is the forecast of :class:`BreakevenCurve`, which reprices the linker.

    Attributes
    ----------
    ids : Index
        Security ids, one per stream.
    layout : CashflowLayout
        Times (Act/365F years from the valuation date) and *real* amounts per 100 face
        (coupons and the principal of 100 in the last flow), in the base index's units.
    principal : ndarray
        Real principal per 100 face in each stream's last flow (100).
    index_ratio : ndarray
        Today's index ratio ``I_ref(valuation date) / base_cpi`` of each linker.
    principal_floor : ndarray
        Least nominal principal per 100 face (100 with a deflation floor, 0 without).
    index : tuple of str
        Price index of each linker.
    lag_years : ndarray
        Observation lag of each linker (years, months / 12): the index a flow at ``t`` uses
        is the one observed at ``t - lag``.
    published_ratio : ndarray, optional
        Per flow, the index ratio where its reference index reads only published fixings
        (the first months of the lag window: known today, the same on every path), NaN
        where it is still to be published.
    """

    ids: pd.Index
    layout: CashflowLayout
    principal: FloatArray
    index_ratio: FloatArray
    principal_floor: FloatArray
    index: tuple[str, ...]
    lag_years: FloatArray
    published_ratio: FloatArray | None = None


@dataclass(frozen=True)
class _Terms:
    index: tuple[str, ...]
    base_cpi: FloatArray
    lag_months: tuple[int, ...]
    interpolation: tuple[CpiInterpolation, ...]
    floor: npt.NDArray[np.bool_]


class LinkerBook:
    """Inflation-linked bonds: real flows, index ratios, prices, real yields and risks.

    Build it with :meth:`from_frame`. The real flows are those of a fixed-rate bond paying
    the real coupon (amounts per 100 face, :class:`~fialloc.bonds.BondBook`); every money
    amount scales them by the index ratio of its date.
    """

    def __init__(self, real: BondBook, terms: _Terms) -> None:
        self._real = real
        self._terms = terms
        self._days = _payment_days(real.layout.times, real.valuation_date)
        # Linkers sharing an index, lag and interpolation are forecast in one pass.
        keys = list(zip(terms.index, terms.lag_months, terms.interpolation, strict=True))
        self._groups = {
            key: np.flatnonzero([k == key for k in keys]) for key in dict.fromkeys(keys)
        }

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, valuation_date: object) -> LinkerBook:
        """Build a book from a table of linkers.

        Parameters
        ----------
        frame : DataFrame
            The bond columns of :meth:`fialloc.bonds.BondBook.from_frame` (``coupon`` is the
            real coupon) and :data:`LINKER_COLUMNS`: ``index`` (name), ``base_cpi`` (the
            reference CPI at the dated date, positive), ``lag_months`` (0..12),
            ``interpolation`` (``linear`` or ``flat``) and ``floor`` (bool: principal floored
            at face).
        valuation_date : date or "YYYY-MM-DD"
            Settlement date.

        Raises
        ------
        ValueError
            Naming the row, column and value of the first problem found.
        """
        missing = [c for c in (*BOND_COLUMNS, *LINKER_COLUMNS) if c not in frame.columns]
        if missing:
            msg = f"LinkerBook.from_frame: missing column(s) {missing}; have {list(frame.columns)}"
            raise ValueError(msg)
        real = BondBook.from_frame(frame, valuation_date)
        base, lags, how, floors = [], [], [], []
        for row, rec in enumerate(frame[list(LINKER_COLUMNS)].itertuples(index=False)):
            where = f"LinkerBook.from_frame: row {row}"
            b = finite_float(rec.base_cpi, f"{where}, column base_cpi")
            if b <= 0:
                msg = f"{where}, column base_cpi: {b} must be a positive index level"
                raise ValueError(msg)
            base.append(b)
            lags.append(_check_lag(rec.lag_months, f"{where}, column lag_months"))
            how.append(_check_interpolation(rec.interpolation, f"{where}, column interpolation"))
            if not isinstance(rec.floor, bool | np.bool_):
                msg = f"{where}, column floor: {rec.floor!r}; expected true or false"
                raise ValueError(msg)
            floors.append(bool(rec.floor))
        terms = _Terms(
            tuple(str(x) for x in frame["index"]),
            np.asarray(base),
            tuple(lags),
            tuple(how),
            np.asarray(floors, dtype=bool),
        )
        return cls(real, terms)

    @property
    def real(self) -> BondBook:
        """The real bonds: real flows and accrued per 100 face."""
        return self._real

    @property
    def security_ids(self) -> pd.Index:
        """Security ids in book order."""
        return self._real.security_ids

    def __len__(self) -> int:
        return len(self._real)

    def _curve(self, curves: Mapping[str, BreakevenCurve], i: int) -> BreakevenCurve:
        name = self._terms.index[i]
        if name not in curves:
            msg = (
                f"linker {self.security_ids[i]}: no breakeven curve for index {name!r}; "
                f"have {sorted(curves)}"
            )
            raise ValueError(msg)
        return curves[name]

    def index_ratios(self, curves: Mapping[str, BreakevenCurve]) -> FloatArray:
        """Today's index ratio of each linker (reference CPI at settlement over base CPI)."""
        out = np.empty(len(self))
        today = np.array([self._real.valuation_date], dtype="datetime64[D]")
        for (_, lag, how), rows in self._groups.items():
            level = reference_cpi(today, self._curve(curves, int(rows[0])), lag, how)[0]
            out[rows] = level / self._terms.base_cpi[rows]
        return out

    def flow_ratios(self, curves: Mapping[str, BreakevenCurve]) -> FloatArray:
        """Forecast index ratio of every flow, in layout order."""
        offsets = self._real.layout.offsets
        counts = np.diff(offsets)
        out = np.empty(len(self._days))
        for (_, lag, how), rows in self._groups.items():
            flows = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in rows])
            level = reference_cpi(self._days[flows], self._curve(curves, int(rows[0])), lag, how)
            out[flows] = level / np.repeat(self._terms.base_cpi[rows], counts[rows])
        return out

    def published_ratios(self, curves: Mapping[str, BreakevenCurve]) -> FloatArray:
        """Index ratio of every flow whose reference index is published, NaN for the rest.

        In layout order (see :func:`published_reference`).
        """
        offsets = self._real.layout.offsets
        out = self.flow_ratios(curves)
        for (_, lag, how), rows in self._groups.items():
            flows = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in rows])
            curve = self._curve(curves, int(rows[0]))
            known = published_reference(self._days[flows], curve, lag, how)
            out[flows[~known]] = np.nan
        return out

    def money_amounts(
        self, curves: Mapping[str, BreakevenCurve], *, floor: bool = True
    ) -> FloatArray:
        """Forecast flows in money per 100 face, in layout order.

        Each real amount times its forecast index ratio; with `floor`, a floored linker's
        principal repays at least 100 (the floor lifts the principal, not the last coupon).
        """
        layout = self._real.layout
        ratios = self.flow_ratios(curves)
        amounts = layout.amounts * ratios
        if floor:
            last = layout.offsets[1:] - 1
            lifted = last[self._terms.floor & (ratios[last] < 1.0)]
            amounts[lifted] += 100.0 * (1.0 - ratios[lifted])
        return amounts

    def real_flows(self, curves: Mapping[str, BreakevenCurve]) -> LinkerFlows:
        """Each linker's real flows, today's index ratio and floor (see :class:`LinkerFlows`)."""
        n = len(self)
        return LinkerFlows(
            ids=self.security_ids,
            layout=self._real.layout,
            principal=np.full(n, 100.0),
            index_ratio=self.index_ratios(curves),
            principal_floor=np.where(self._terms.floor, 100.0, 0.0),
            index=self._terms.index,
            lag_years=np.array(self._terms.lag_months, dtype=np.float64) / 12.0,
            published_ratio=self.published_ratios(curves),
        )

    def nominal_book(self, curves: Mapping[str, BreakevenCurve]) -> BondBook:
        """Return the linkers as fixed flows in money (breakevens held), accrued times the ratio.

        Prices, yields and key-rate durations of this book off the nominal curve are the
        linkers' invoice prices, nominal-equivalent yields and real key-rate durations.
        """
        return self._real.with_amounts(self.money_amounts(curves), self.index_ratios(curves))

    def analyze(
        self,
        nominal: Curve,
        curves: Mapping[str, BreakevenCurve],
        z_spread: npt.ArrayLike = 0.0,
        key_tenors: Sequence[float] = DEFAULT_KEY_TENORS,
        bump_bp: float = 1.0,
    ) -> pd.DataFrame:
        """Prices, real yields, breakevens and durations of every linker.

        Parameters
        ----------
        nominal : Curve
            Nominal discount curve of the linkers' currency.
        curves : mapping of index name to BreakevenCurve
            Fixings and forecast of every index the book references.
        z_spread : float or array
            Spread over the real curve (decimal), per linker.
        key_tenors : sequence of float
            Real key-rate tenors (years).
        bump_bp : float
            Bump of the breakeven and key rates (basis points).

        Returns
        -------
        DataFrame
            One row per linker: ``index_ratio``; ``real_clean_price``, ``real_accrued`` and
            ``real_dirty_price`` per 100 face (quoted, real terms); ``dirty_price`` and
            ``clean_price`` per 100 face (invoice, money); ``market_value`` (money);
            ``real_yield`` (the real price's yield at the bond's frequency, decimal);
            ``nominal_yield`` (the money flows' yield at the same frequency);
            ``breakeven`` (nominal less real yield); ``real_duration`` (modified, years);
            ``inflation_duration`` (years: relative price gain per unit parallel rise of the
            breakeven curve, nominal held); ``effective_duration`` and ``krd_<tenor>y``
            (years, real curve bumps = nominal bumps with breakevens held);
            ``floor_value`` (per 100 face, the floor's intrinsic value at the forecast).
        """
        book = self.nominal_book(curves)
        risk = book.analyze(nominal, z_spread=z_spread, key_tenors=key_tenors, bump_bp=bump_bp)
        ratio = self.index_ratios(curves)
        real_dirty = risk.dirty_price / ratio
        real_accrued = self._real.accrued
        y_args = (self._real.layout.offsets, book.yield_times, self._real.layout.amounts)
        real_yield = _core.yields_from_prices(*y_args, self._real.compounding, real_dirty)
        _, real_modified, _ = _core.yield_risk(*y_args, self._real.compounding, real_yield)
        z = risk.z_spread
        bump = bump_bp * 1e-4
        up = self._price(nominal, self.money_amounts(_shift(curves, bump_bp)), z)
        down = self._price(nominal, self.money_amounts(_shift(curves, -bump_bp)), z)
        inflation_duration = (up - down) / (2.0 * bump * risk.dirty_price)
        floor_value = risk.dirty_price - self._price(
            nominal, self.money_amounts(curves, floor=False), z
        )
        frame = pd.DataFrame(
            {
                "index": list(self._terms.index),
                "index_ratio": ratio,
                "real_clean_price": real_dirty - real_accrued,
                "real_accrued": real_accrued,
                "real_dirty_price": real_dirty,
                "dirty_price": risk.dirty_price,
                "clean_price": risk.clean_price,
                "market_value": risk.market_value,
                "real_yield": real_yield,
                "nominal_yield": risk.ytm,
                "breakeven": risk.ytm - real_yield,
                "real_duration": real_modified,
                "inflation_duration": inflation_duration,
                "effective_duration": risk.effective_duration,
                "floor_value": floor_value,
            },
            index=self.security_ids,
        )
        for j, tenor in enumerate(risk.key_tenors):
            frame[krd_column(tenor)] = risk.krd[:, j]
        return frame

    def _price(self, nominal: Curve, amounts: FloatArray, z: FloatArray) -> FloatArray:
        layout = self._real.layout
        return _core.price_streams(layout.offsets, layout.times, amounts, *nominal.core_args(), z)


def index_linked(
    book: BondBook, linkers: LinkerBook, curves: Mapping[str, BreakevenCurve]
) -> BondBook:
    """Return `book` with its linkers' flows in money at forecast index ratios.

    The linkers' rows of `book` (built from the same bond terms, so with the same flows) take
    the amounts of :meth:`LinkerBook.money_amounts` and accrued times today's index ratio:
    priced off the nominal curve they give each linker's invoice price, and every bump of the
    nominal curve moves the real curve with it (breakevens held).

    Linkers that are not in `book` (another currency's) are left out.

    Raises
    ------
    ValueError
        If a linker's flows differ from its row's.
    """
    pos = book.security_ids.get_indexer(linkers.security_ids)
    offsets, real_offsets = book.layout.offsets, linkers.real.layout.offsets
    money = linkers.money_amounts(curves)
    amounts = book.layout.amounts.copy()
    for k, i in enumerate(pos):
        if i < 0:  # a linker of another part of the portfolio (another currency's book)
            continue
        lo, hi = offsets[i], offsets[i + 1]
        if hi - lo != real_offsets[k + 1] - real_offsets[k]:
            msg = f"index_linked: {linkers.security_ids[k]} has other flows in the book"
            raise ValueError(msg)
        amounts[lo:hi] = money[real_offsets[k] : real_offsets[k + 1]]
    scale = np.ones(len(book))
    scale[pos[pos >= 0]] = linkers.index_ratios(curves)[pos >= 0]
    return book.with_amounts(amounts, scale)


def _shift(curves: Mapping[str, BreakevenCurve], bp: float) -> dict[str, BreakevenCurve]:
    return {name: curve.shifted(bp) for name, curve in curves.items()}


def real_curve(
    nominal: Curve,
    curve: BreakevenCurve,
    lag_months: int = 3,
    interpolation: CpiInterpolation = "linear",
    dates: Sequence[dt.date] | None = None,
    curve_interpolation: Interpolation = "log_linear",
) -> Curve:
    """Build the real discount curve: nominal discount factors times forecast index growth.

    ``P_real(d) = P_nominal(d) * I_ref(d) / I_ref(today)`` at each pillar date, with the
    reference CPI of the lag and interpolation given (the index's linker convention).

    Parameters
    ----------
    nominal : Curve
        Nominal curve of the index's currency, with its valuation date.
    curve : BreakevenCurve
        Fixings and forecast of the index.
    lag_months, interpolation
        Reference CPI convention.
    dates : sequence of date or None
        Pillar dates; by default the first day of every month from the next to the last
        breakeven pillar (the curve is exact at its pillars).
    curve_interpolation : str
        Interpolation of the real curve between pillars (see :class:`fialloc.curves.Curve`).

    Raises
    ------
    ValueError
        If the nominal curve has no valuation date or a date is not after it.
    """
    vd = nominal.valuation_date
    if vd is None:
        msg = "real_curve: the nominal curve needs a valuation date"
        raise ValueError(msg)
    if dates is None:
        first, last = _month_number(vd) + 1, _month_number(curve.pillars[-1])
        dates = [_month_start(m) for m in range(first, last + 1)]
    if not dates or min(dates) <= vd:
        msg = f"real_curve: pillar dates must follow the valuation date {vd}"
        raise ValueError(msg)
    times = np.array([act365(vd, d) for d in dates])
    ref = reference_cpi([vd, *dates], curve, lag_months, interpolation)
    dfs = np.asarray(nominal.discount(times)) * ref[1:] / ref[0]
    return Curve.from_discount_factors(times, dfs, vd, curve_interpolation)


def real_curve_from_linkers(
    book: LinkerBook,
    real_clean_price: npt.ArrayLike,
    interpolation: Interpolation = "log_linear",
) -> Curve:
    """Bootstrap the real curve that reprices linkers' quoted real prices exactly.

    Parameters
    ----------
    book : LinkerBook
        Linkers of one index, with increasing maturities (one pillar each).
    real_clean_price : array
        Quoted real clean prices per 100 face.
    interpolation : str
        Interpolation between pillars (see :class:`fialloc.curves.Curve`).

    Raises
    ------
    ValueError
        If the shapes differ, a price is not positive or maturities do not increase.
    """
    prices = np.asarray(real_clean_price, dtype=np.float64)
    if prices.shape != (len(book),) or not np.all(np.isfinite(prices)) or np.any(prices <= 0):
        msg = (
            f"real_curve_from_linkers: `real_clean_price` must be {len(book)} positive prices "
            f"per 100 face, got {prices.tolist()}"
        )
        raise ValueError(msg)
    layout = book.real.layout
    last = layout.times[layout.offsets[1:] - 1]
    if np.any(np.diff(last) <= 0):
        msg = "real_curve_from_linkers: linker maturities must increase (one per pillar)"
        raise ValueError(msg)
    pillars, log_dfs, _ = _core.bootstrap_curve(
        layout.offsets,
        layout.times,
        layout.amounts / 100.0,
        (prices + book.real.accrued) / 100.0,
        INTERPOLATIONS[interpolation],
    )
    return Curve(pillars, log_dfs, interpolation, book.real.valuation_date)


def with_real_curves(
    curve_set: CurveSet,
    curves: Mapping[str, BreakevenCurve],
    currencies: Mapping[str, str] | None = None,
) -> CurveSet:
    """Fill each linker currency's ``real`` slot with its index's real curve.

    The real curve is :func:`real_curve` off the currency's government curve with the
    index's convention (:data:`INDEX_CONVENTIONS`; a 3-month lag, interpolated, for an index
    not listed). A slot the set already fills (real curve quotes) is kept.

    Parameters
    ----------
    curve_set : CurveSet
        Today's curves.
    curves : mapping of index name to BreakevenCurve
        Each index's fixings and breakevens.
    currencies : mapping of index name to currency, optional
        The currency of each index's linkers; by default the index's convention's.

    Raises
    ------
    ValueError
        If an index has no currency or its currency no government curve in the set.
    """
    out = curve_set
    for name, curve in curves.items():
        convention = INDEX_CONVENTIONS.get(name)
        currency = (currencies or {}).get(name) or (convention and convention.currency)
        if not currency:
            msg = f"with_real_curves: no currency for index {name!r}; name it in `currencies`"
            raise ValueError(msg)
        if out.has_curve(currency, "real"):
            continue
        convention = convention or IndexConvention(currency, 3, "linear", False)
        government = out.curve(currency, "government")
        real = real_curve(government, curve, convention.lag_months, convention.interpolation)
        out = out.with_curve(currency, "real", real)
    return out
