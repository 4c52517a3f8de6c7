"""Discount curves: build from zero rates, discount factors, par yields or quotes; evaluate, bump.

A :class:`Curve` is a set of pillars (Act/365F years) with log discount factors, an
interpolation method, an extrapolation rule and an optional zero-rate overlay (piecewise linear,
flat outside its knots) that represents parallel shifts and key-rate tent bumps without
re-fitting anything. All evaluation happens in the compiled core, so every pricing, key-rate
and path kernel sees the same interpolation.

Interpolations (``INTERPOLATIONS``): ``log_linear`` (log discount factors linear, piecewise-flat
forwards), ``linear_zero`` (zero rates linear), ``monotone_convex`` (Hagan and West 2006,
without the positivity amendment) and ``natural_cubic`` (natural cubic spline on zero rates).
Between t = 0 and the first pillar the zero rate of the first pillar holds, except for monotone
convex, whose forward there is Hagan-West's. Extrapolations (``EXTRAPOLATIONS``):
``flat_forward`` (the instantaneous forward at the last pillar holds) or ``flat_zero`` (the last
zero rate holds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Final, Literal, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc import _core
from fialloc.checks import decimal_rate, finite_float
from fialloc.layout import CashflowLayout, FloatArray
from fialloc.schedule import (
    DAY_COUNTS,
    act365,
    known_tenor_date,
    normalize_day_count,
    tenor_date,
    to_date,
)

__all__ = [
    "CURVE_FORMS",
    "DEFAULT_KEY_TENORS",
    "EXTRAPOLATIONS",
    "INTERPOLATIONS",
    "KEY_TENOR_CHOICES",
    "Curve",
    "CurveQuote",
    "bootstrap",
    "curve_from_points",
    "log_discount_factors",
    "read_quotes",
    "tent_overlay",
]

DEFAULT_KEY_TENORS: Final = (0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0)
#: Key tenors a run may choose from (years): the defaults plus the 3-month point.
KEY_TENOR_CHOICES: Final = (0.25, *DEFAULT_KEY_TENORS)
INTERPOLATIONS: Final = {
    "log_linear": 0,
    "natural_cubic": 1,
    "linear_zero": 2,
    "monotone_convex": 3,
}
EXTRAPOLATIONS: Final = {"flat_forward": 0, "flat_zero": 1}
#: How a curve's points are quoted: zero rates (continuous, annual or semiannual compounding,
#: Act/365F times), discount factors or par yields (semiannual par bonds unless said otherwise).
CURVE_FORMS: Final = (
    "zero_continuous",
    "zero_annual",
    "zero_semiannual",
    "discount_factor",
    "par_yield",
)
Compounding = Literal["continuous", "annual", "semiannual"]
_COMPOUNDING: Final[dict[str, Compounding]] = {
    "zero_continuous": "continuous",
    "zero_annual": "annual",
    "zero_semiannual": "semiannual",
}
QUOTE_KINDS: Final = ("deposit", "swap", "par_bond")
_DEFAULT_FREQ: Final = {"deposit": 0, "swap": 1, "par_bond": 2}
_DEFAULT_DAY_COUNT: Final = {"deposit": "ACT/365F", "swap": "ACT/365F", "par_bond": "ACT/ACT ICMA"}
_DC_CODE: Final = {name: code for code, name in enumerate(DAY_COUNTS)}  # the core's codes

Interpolation = Literal["log_linear", "natural_cubic", "linear_zero", "monotone_convex"]
Extrapolation = Literal["flat_forward", "flat_zero"]
_EMPTY: Final = np.empty(0, dtype=np.float64)


def _as_times(t: npt.ArrayLike, where: str) -> FloatArray:
    arr = np.ascontiguousarray(t, dtype=np.float64)
    if arr.ndim > 1:
        msg = f"{where}: `t` must be a scalar or 1-D array of times in years, got shape {arr.shape}"
        raise ValueError(msg)
    return arr.reshape(-1)


def tent_overlay(
    key_tenors: Sequence[float] | FloatArray, index: int
) -> tuple[FloatArray, FloatArray]:
    """Knots and values of the unit tent at ``key_tenors[index]``.

    The tent is 1 at its tenor, falls linearly to 0 at the neighbouring tenors and is flat
    beyond the first and last tenors, so the tents of all key tenors add up to 1 everywhere.
    """
    tenors = np.asarray(key_tenors, dtype=np.float64)
    _check_key_tenors(tenors, "tent_overlay")
    if not 0 <= index < len(tenors):
        msg = f"tent_overlay: `index` {index} is outside 0..{len(tenors) - 1}"
        raise ValueError(msg)
    lo, hi = max(index - 1, 0), min(index + 1, len(tenors) - 1)
    knots = tenors[lo : hi + 1].copy()
    values = (knots == tenors[index]).astype(np.float64)
    return knots, values


def _check_key_tenors(tenors: FloatArray, where: str) -> None:
    if tenors.ndim != 1 or len(tenors) == 0:
        msg = f"{where}: `key_tenors` must be a non-empty 1-D list of years"
        raise ValueError(msg)
    if not np.all(np.isfinite(tenors)) or np.any(tenors <= 0):
        msg = f"{where}: `key_tenors` must be finite and positive (years), got {tenors.tolist()}"
        raise ValueError(msg)
    if np.any(np.diff(tenors) <= 0):
        msg = f"{where}: `key_tenors` must be strictly increasing, got {tenors.tolist()}"
        raise ValueError(msg)


@dataclass(frozen=True, init=False)
class CurveQuote:
    """One market quote used to build a curve.

    Attributes
    ----------
    kind : str
        ``deposit`` (simple rate), ``swap`` (par swap fixed rate) or ``par_bond`` (par yield).
    maturity : date
        Unadjusted maturity date.
    rate : float
        Quote as a decimal (0.045 for 4.5%).
    frequency : int
        Fixed-leg payments a year (swaps, default 1; par bonds, default 2; deposits 0).
    day_count : str
        Accrual day count (deposits and swaps ACT/365F, par bonds ACT/ACT ICMA by default).
    label : str
        Tenor or date as given, for messages and reports.
    """

    kind: str
    maturity: dt.date
    rate: float
    frequency: int
    day_count: str
    label: str

    def __init__(
        self, kind: str, maturity: dt.date, rate: float, frequency: int, day_count: str, label: str
    ) -> None:
        # A frozen dataclass's generated __init__ sets each field through object.__setattr__,
        # a third of a quote's parsing time; writing __dict__ directly keeps the record frozen.
        fields = self.__dict__
        fields["kind"] = kind
        fields["maturity"] = maturity
        fields["rate"] = rate
        fields["frequency"] = frequency
        fields["day_count"] = day_count
        fields["label"] = label

    def accruals(self, valuation_date: dt.date) -> tuple[list[float], list[float], list[float]]:
        """Return flow times (Act/365F years), accrual fractions and principal per unit notional.

        The quote's cash flows are ``rate * accrual + principal``; they price to 1. Deposits
        accrue from `valuation_date` to maturity; swaps and par bonds on the backward schedule
        from maturity, the first period from `valuation_date` (see
        :func:`fialloc.schedule.backward_dates`).
        """
        _, times, accruals, principal = _schedules((self,), valuation_date)
        return times.tolist(), accruals.tolist(), principal.tolist()

    def flows(self, valuation_date: dt.date) -> tuple[list[float], list[float]]:
        """Return times (Act/365F years) and amounts per unit notional; they price to 1."""
        times, accruals, principal = self.accruals(valuation_date)
        return times, [self.rate * a + p for a, p in zip(accruals, principal, strict=True)]


def _quote_codes(quotes: Sequence[CurveQuote]) -> npt.NDArray[np.int64]:
    """Maturity ordinals, frequencies (0 for deposits) and day-count codes, one row each."""
    rows = [
        (q.maturity.toordinal(), 0 if q.kind == "deposit" else q.frequency, _DC_CODE[q.day_count])
        for q in quotes
    ]
    return np.array(rows, dtype=np.int64).T.copy()  # each row contiguous, as the core requires


def _schedules(
    quotes: Sequence[CurveQuote], valuation_date: dt.date
) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray, FloatArray]:
    """Offsets, times, accruals and principal of the quotes' flows, from the compiled core."""
    codes = _quote_codes(quotes)
    return _core.instrument_flows(valuation_date.toordinal(), codes[0], codes[1], codes[2])


def read_quotes(
    quotes: pd.DataFrame | Iterable[Mapping[str, Any]], valuation_date: dt.date
) -> tuple[CurveQuote, ...]:
    """Validate curve quotes and return them as :class:`CurveQuote` records.

    Parameters
    ----------
    quotes : DataFrame or iterable of dict
        Columns ``kind``, ``tenor`` (``"3M"``, ``"10Y"``) or ``maturity`` (a date), ``rate``
        (decimal); optional ``frequency`` and ``day_count``. Rows must be sorted by maturity,
        with no two on the same date.
    valuation_date : date
        Curve date; tenors are counted from it.

    Raises
    ------
    ValueError
        Naming the row and column of the first problem found.
    """
    records = _quote_records(quotes)
    out: list[CurveQuote] = []
    for row, rec in enumerate(records):
        quote = _read_quote(row, rec, valuation_date)
        if out and quote.maturity <= out[-1].maturity:
            msg = (
                f"quotes row {row}: maturity {quote.maturity} ({quote.label}) is not after "
                f"row {row - 1}'s {out[-1].maturity} ({out[-1].label}); quotes must be sorted by "
                "maturity without duplicates"
            )
            raise ValueError(msg)
        out.append(quote)
    return tuple(out)


def _records(table: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return a table's rows as dicts keyed by column name."""
    if isinstance(table, pd.DataFrame):
        return [{str(k): v for k, v in r.items()} for r in table.to_dict("records")]
    return [dict(r) for r in table]


def _quote_records(quotes: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return the quotes as records, checking there are some and they have the columns."""
    records = _records(quotes)
    if not records:
        msg = "quotes: no rows; a curve needs at least one quote"
        raise ValueError(msg)
    columns: set[str] = set().union(*(r.keys() for r in records))
    missing = [c for c in ("kind", "rate") if c not in columns]
    if "tenor" not in columns and "maturity" not in columns:
        missing.append("tenor or maturity")
    if missing:
        msg = f"quotes: missing column(s) {', '.join(missing)}; have {sorted(columns)}"
        raise ValueError(msg)
    return records


def _read_quote(row: int, rec: Mapping[str, Any], valuation_date: dt.date) -> CurveQuote:
    """Check one quote (row `row`); fill its frequency and day count from its kind's defaults."""
    # Messages are formatted only on failure: reading quotes is most of a bootstrap's time.
    if "kind" not in rec or "rate" not in rec:
        msg = f"quotes row {row}: missing kind or rate"
        raise ValueError(msg)
    kind = str(rec["kind"]).strip().lower()
    if kind not in QUOTE_KINDS:
        msg = f"quotes row {row}, column kind: unknown kind {rec['kind']!r}; expected {QUOTE_KINDS}"
        raise ValueError(msg)
    tenor = rec.get("tenor")
    if tenor is not None and not (isinstance(tenor, float) and np.isnan(tenor)):
        maturity = known_tenor_date(valuation_date, str(tenor)) or tenor_date(
            valuation_date, str(tenor), f"quotes row {row}, column tenor"
        )
        label = str(tenor).strip().upper()
    else:
        maturity = to_date(rec.get("maturity"), f"quotes row {row}, column maturity")
        label = maturity.isoformat()
    if maturity <= valuation_date:
        msg = (
            f"quotes row {row}: maturity {maturity} is not after the valuation date "
            f"{valuation_date}"
        )
        raise ValueError(msg)
    rate = rec["rate"]
    if not (type(rate) is float and -1.0 < rate < 1.0):  # finite: NaN fails the bounds
        rate = decimal_rate(rate, f"quotes row {row}, column rate")
    freq_raw = rec.get("frequency")
    if freq_raw is None or (isinstance(freq_raw, float) and np.isnan(freq_raw)):
        freq = _DEFAULT_FREQ[kind]
    else:
        freq_f = finite_float(freq_raw, f"quotes row {row}, column frequency")
        freq = int(freq_f) if freq_f.is_integer() else -1  # -1: refused below
    if freq == -1 or (kind != "deposit" and freq not in (1, 2, 4, 12)):
        msg = f"quotes row {row}, column frequency: {freq_raw!r}; expected 1, 2, 4 or 12 a year"
        raise ValueError(msg)
    dc_raw = rec.get("day_count")
    if dc_raw is None or (isinstance(dc_raw, float) and np.isnan(dc_raw)):
        day_count = _DEFAULT_DAY_COUNT[kind]
    else:
        day_count = normalize_day_count(dc_raw, f"quotes row {row}, column day_count")
    if day_count == "ACT/ACT ICMA" and kind == "deposit":
        msg = (
            f"quotes row {row}, column day_count: ACT/ACT ICMA needs a coupon schedule; "
            "deposits don't"
        )
        raise ValueError(msg)
    return CurveQuote(kind, maturity, rate, freq, day_count, label)


@dataclass(frozen=True, eq=False)
class Curve:
    """Discount curve on Act/365F pillar times.

    Parameters
    ----------
    pillar_times : array of float
        Strictly increasing, positive (years).
    log_dfs : array of float
        ``ln P(0, t)`` at the pillars.
    interpolation : {"log_linear", "linear_zero", "monotone_convex", "natural_cubic"}
        See the module docstring.
    valuation_date : date, optional
        The curve's date; needed to turn dates into times.
    spread_knots, spread_values : array of float
        Zero-rate overlay (decimals), piecewise linear on the knots and flat outside; empty
        for none. Built by :meth:`shifted` and :meth:`key_rate_bumped`.
    extrapolation : {"flat_forward", "flat_zero"}
        Beyond the last pillar: the last instantaneous forward, or the last zero rate, holds.
    _instruments : optional
        Set by :func:`bootstrap`: the instruments behind the curve, which enable
        :attr:`quotes` and :meth:`requote`. Par-domain bumps use them, or par bonds implied at
        the pillars for a curve given as zero rates or discount factors.

    Examples
    --------
    >>> import datetime as dt
    >>> curve = bootstrap(
    ...     [{"kind": "deposit", "tenor": "6M", "rate": 0.04},
    ...      {"kind": "swap", "tenor": "5Y", "rate": 0.042}],
    ...     dt.date(2026, 1, 15))
    >>> round(float(curve.zero_rate(5.0)), 6)
    0.041156
    """

    pillar_times: FloatArray
    log_dfs: FloatArray
    interpolation: Interpolation = "log_linear"
    valuation_date: dt.date | None = None
    spread_knots: FloatArray = field(default_factory=lambda: _EMPTY)
    spread_values: FloatArray = field(default_factory=lambda: _EMPTY)
    extrapolation: Extrapolation = "flat_forward"
    _instruments: _Instruments | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _check_methods(self.interpolation, self.extrapolation, "Curve")
        for name in ("pillar_times", "log_dfs", "spread_knots", "spread_values"):
            arr = np.ascontiguousarray(getattr(self, name), dtype=np.float64).reshape(-1)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        # Validate once, in the core, so a bad curve fails here and not at first use.
        _core.discount_factors(*self.core_args(), _EMPTY)

    @classmethod
    def from_zero_rates(
        cls,
        times: npt.ArrayLike,
        zero_rates: npt.ArrayLike,
        valuation_date: dt.date | None = None,
        interpolation: Interpolation = "log_linear",
        *,
        compounding: Compounding = "continuous",
        extrapolation: Extrapolation = "flat_forward",
    ) -> Curve:
        """Curve through zero rates (decimals) at Act/365F times (years).

        `compounding` says how the rates compound: ``continuous`` (``P = exp(-z t)``),
        ``annual`` (``P = (1 + z)^-t``) or ``semiannual`` (``P = (1 + z/2)^-2t``).
        """
        where = "Curve.from_zero_rates"
        t, z = _points(times, zero_rates, "zero rates", where)
        form = f"zero_{compounding}"
        if form not in _COMPOUNDING:
            msg = (
                f"{where}: unknown compounding {compounding!r}; "
                "expected continuous, annual or semiannual"
            )
            raise ValueError(msg)
        log_dfs = log_discount_factors(z, t, form, where)
        return cls(t, log_dfs, interpolation, valuation_date, extrapolation=extrapolation)

    @classmethod
    def from_discount_factors(
        cls,
        times: npt.ArrayLike,
        discount_factors: npt.ArrayLike,
        valuation_date: dt.date | None = None,
        interpolation: Interpolation = "log_linear",
        *,
        extrapolation: Extrapolation = "flat_forward",
    ) -> Curve:
        """Curve through discount factors ``P(0, t)`` (positive) at Act/365F times (years)."""
        where = "Curve.from_discount_factors"
        t, p = _points(times, discount_factors, "discount factors", where)
        log_dfs = log_discount_factors(p, t, "discount_factor", where)
        return cls(t, log_dfs, interpolation, valuation_date, extrapolation=extrapolation)

    @classmethod
    def from_par_yields(
        cls,
        maturities: Sequence[object],
        par_yields: npt.ArrayLike,
        valuation_date: object,
        interpolation: Interpolation = "log_linear",
        *,
        frequency: int = 2,
        day_count: str = "ACT/ACT ICMA",
        extrapolation: Extrapolation = "flat_forward",
    ) -> Curve:
        """Curve bootstrapped from par yields (decimals) of bonds priced at par.

        `maturities` are tenors (``"2Y"``) or dates, increasing; each bond pays `frequency`
        coupons a year on `day_count` on a schedule run backward from its maturity.
        """
        y = np.asarray(par_yields, dtype=np.float64).reshape(-1)
        if len(y) != len(maturities):
            msg = f"Curve.from_par_yields: {len(maturities)} maturities but {len(y)} par yields"
            raise ValueError(msg)
        rows = [
            {
                "kind": "par_bond",
                ("maturity" if isinstance(m, dt.date) else "tenor"): m,
                "rate": float(r),
                "frequency": frequency,
                "day_count": day_count,
            }
            for m, r in zip(maturities, y, strict=True)
        ]
        return bootstrap(rows, valuation_date, interpolation, extrapolation)

    @classmethod
    def flat(cls, rate: float, valuation_date: dt.date | None = None) -> Curve:
        """Flat curve at a continuously compounded `rate` (decimal)."""
        return cls.from_zero_rates([1.0, 50.0], [rate, rate], valuation_date)

    @cached_property
    def quotes(self) -> tuple[CurveQuote, ...]:
        """The quotes the curve was bootstrapped from, at their current rates (empty if none)."""
        if self._instruments is None:
            return ()
        ins = self._instruments
        return tuple(replace(q, rate=float(r)) for q, r in zip(ins.quotes, ins.rates, strict=True))

    def core_args(self) -> tuple[FloatArray, FloatArray, int, int, FloatArray, FloatArray]:
        """Return the six arrays/codes that describe this curve to the compiled kernels."""
        return (
            self.pillar_times,
            self.log_dfs,
            INTERPOLATIONS[self.interpolation],
            EXTRAPOLATIONS[self.extrapolation],
            self.spread_knots,
            self.spread_values,
        )

    @overload
    def discount(self, t: float) -> float: ...
    @overload
    def discount(self, t: npt.ArrayLike) -> FloatArray | float: ...
    def discount(self, t: npt.ArrayLike) -> FloatArray | float:
        """Discount factors ``P(0, t)`` at Act/365F times `t` (years, >= 0)."""
        return self._evaluate(_core.discount_factors, t, "Curve.discount")

    def zero_rate(self, t: npt.ArrayLike) -> FloatArray | float:
        """Continuously compounded zero rates (decimals) at times `t` (years)."""
        return self._evaluate(_core.zero_rates, t, "Curve.zero_rate")

    def forward_rate(self, t: npt.ArrayLike) -> FloatArray | float:
        """Instantaneous forward rates (decimals) at times `t` (years)."""
        return self._evaluate(_core.forward_rates, t, "Curve.forward_rate")

    def _evaluate(self, kernel: Any, t: npt.ArrayLike, where: str) -> FloatArray | float:
        arr = _as_times(t, where)
        out: FloatArray = kernel(*self.core_args(), arr)
        return float(out[0]) if np.ndim(t) == 0 else out

    def time(self, date: object) -> float:
        """Act/365F years from the valuation date to `date`."""
        if self.valuation_date is None:
            msg = "Curve.time: this curve has no valuation date"
            raise ValueError(msg)
        return act365(self.valuation_date, to_date(date, "Curve.time"))

    def with_overlay(self, knots: npt.ArrayLike, values: npt.ArrayLike) -> Curve:
        """Copy with the zero-rate overlay `values` (decimals) at `knots` (years) added."""
        k = np.asarray(knots, dtype=np.float64)
        v = np.asarray(values, dtype=np.float64)
        if len(self.spread_knots) == 0:
            return replace(self, spread_knots=k, spread_values=v)
        union = np.union1d(self.spread_knots, k)
        total = np.interp(union, self.spread_knots, self.spread_values) + np.interp(union, k, v)
        return replace(self, spread_knots=union, spread_values=total)

    def shifted(self, bp: float) -> Curve:
        """Copy with every zero rate moved by `bp` basis points."""
        return self.with_overlay([1.0], [bp * 1e-4])

    def key_rate_bumped(
        self, tenor: float, bp: float, key_tenors: Sequence[float] | FloatArray = DEFAULT_KEY_TENORS
    ) -> Curve:
        """Copy with zero rates moved by a tent of height `bp` basis points at `tenor` (years).

        The tent peaks at `tenor`, falls to zero at the neighbouring `key_tenors` and stays flat
        beyond the first and last of them.
        """
        knots, values = tent_overlay(key_tenors, _tenor_index(key_tenors, tenor))
        return self.with_overlay(knots, values * bp * 1e-4)

    def par_bumped(
        self, tenor: float, bp: float, key_tenors: Sequence[float] | FloatArray = DEFAULT_KEY_TENORS
    ) -> Curve:
        """Re-bootstrapped copy with the input quotes moved by a tent of `bp` basis points.

        Each quote moves by ``bp * tent(maturity)``, where the tent is the one of
        :meth:`key_rate_bumped` evaluated at the quote's maturity in years: the par-domain
        key-rate bump that market terminals report. A curve given as zero rates or discount
        factors is quoted first as semiannual ACT/ACT ICMA par bonds maturing at its pillars
        (which bootstrap back to the same curve), and those par yields are bumped.
        """
        instruments = self._par_instruments()
        knots, values = tent_overlay(key_tenors, _tenor_index(key_tenors, tenor))
        maturities = np.array(
            [act365(instruments.valuation_date, q.maturity) for q in instruments.quotes]
        )
        moves = np.interp(maturities, knots, values) * bp * 1e-4
        fresh = instruments.bootstrap(
            instruments.rates + moves, self.interpolation, self.extrapolation
        )
        return replace(fresh, spread_knots=self.spread_knots, spread_values=self.spread_values)

    @cached_property
    def _implied_instruments(self) -> _Instruments:
        where = "Curve.par_bumped"
        if self.valuation_date is None:
            msg = f"{where}: the curve has no valuation date, so no par instruments to bump"
            raise ValueError(msg)
        days = np.rint(self.pillar_times * 365.0)
        if not np.array_equal(days / 365.0, self.pillar_times):
            msg = (
                f"{where}: the pillars are not whole days after the valuation date, so no par "
                "instruments can mature on them; give the curve by dates or tenors"
            )
            raise ValueError(msg)
        quotes = tuple(
            CurveQuote(
                "par_bond",
                self.valuation_date + dt.timedelta(days=int(d)),
                0.0,
                2,
                "ACT/ACT ICMA",
                f"{int(d)}D",
            )
            for d in days
        )
        base = replace(self, spread_knots=_EMPTY, spread_values=_EMPTY)
        instruments = _Instruments.build(quotes, self.valuation_date)
        # Par yield = (1 - principal PV) / annuity, off this very curve.
        discount = base.discount(instruments.layout.times)
        if not np.all(np.isfinite(discount)):
            # A natural spline through pillars a day apart under a decades-long one can swing
            # the log discount past exp's range between them.
            msg = (
                f"{where}: the curve's discount factors overflow between its pillars, so it "
                "has no par yields to bump; give it by quotes or another interpolation"
            )
            raise ValueError(msg)
        annuity = np.add.reduceat(
            instruments.layout.amounts * discount, instruments.layout.offsets[:-1]
        )
        principal = np.add.reduceat(
            instruments.principal * discount, instruments.layout.offsets[:-1]
        )
        return replace(instruments, rates=(1.0 - principal) / annuity)

    def _par_instruments(self) -> _Instruments:
        return self._instruments if self._instruments is not None else self._implied_instruments

    def requote(self, rates: npt.ArrayLike) -> Curve:
        """Re-bootstrap from the same instruments with new quotes (decimals, same order).

        Schedules and accruals are reused, so this is the fast path for live quote updates;
        the result has no overlay.
        """
        if self._instruments is None:
            msg = "Curve.requote: the curve was not bootstrapped from quotes"
            raise ValueError(msg)
        r = np.ascontiguousarray(rates, dtype=np.float64).reshape(-1)
        if len(r) != len(self._instruments.quotes):
            msg = f"Curve.requote: {len(r)} rates for {len(self._instruments.quotes)} instruments"
            raise ValueError(msg)
        bad = np.flatnonzero(~np.isfinite(r) | (np.abs(r) >= 1.0))
        if len(bad):
            i = int(bad[0])
            msg = (
                f"Curve.requote: rate {i} ({self._instruments.quotes[i].label}) is {r[i]}; "
                "expected a finite decimal rate (0.045 for 4.5%)"
            )
            raise ValueError(msg)
        return self._instruments.bootstrap(r, self.interpolation, self.extrapolation)

    def pillars(self) -> pd.DataFrame:
        """Pillar table: time (years), discount factor, zero rate, and the quote behind it."""
        frame = pd.DataFrame(
            {
                "time": self.pillar_times,
                "discount": np.exp(self.log_dfs),
                "zero_rate": -self.log_dfs / self.pillar_times,
            }
        )
        if self.quotes:
            frame.insert(0, "instrument", [f"{q.kind} {q.label}" for q in self.quotes])
            frame.insert(1, "maturity", [q.maturity for q in self.quotes])
            frame["quote"] = [q.rate for q in self.quotes]
        return frame

    def __repr__(self) -> str:
        overlay = f", overlay on {len(self.spread_knots)} knots" if len(self.spread_knots) else ""
        return (
            f"Curve({len(self.pillar_times)} pillars to {self.pillar_times[-1]:.2f}y, "
            f"{self.interpolation}, {self.extrapolation}, "
            f"valuation_date={self.valuation_date}{overlay})"
        )


def log_discount_factors(
    values: npt.ArrayLike, times: npt.ArrayLike, form: str, where: str = "curve"
) -> FloatArray:
    """Log discount factors ``ln P(0, t)`` of points quoted in `form` at times `t` (years).

    `form` is ``zero_continuous`` (``ln P = -z t``), ``zero_annual`` (``-t ln(1 + z)``),
    ``zero_semiannual`` (``-2t ln(1 + z/2)``) or ``discount_factor`` (``ln P``). Zero rates
    must be decimals (below 1 in size, and above -1 or -2 for annual or semiannual
    compounding); discount factors positive.

    Raises
    ------
    ValueError
        Naming `where`, the point and its value.
    """
    v = np.asarray(values, dtype=np.float64)
    t = np.asarray(times, dtype=np.float64)
    if form == "discount_factor":
        bad = np.flatnonzero(~(v > 0.0) | ~np.isfinite(v))
        if len(bad):
            i = int(bad[0])
            msg = (
                f"{where}: discount factor {i} (t={t[i]:g}y) is {v[i]}; expected a positive number"
            )
            raise ValueError(msg)
        return np.log(v)
    if form not in _COMPOUNDING:
        msg = (
            f"{where}: unknown form {form!r}; expected one of {[*_COMPOUNDING, 'discount_factor']}"
        )
        raise ValueError(msg)
    periods = {"continuous": 0, "annual": 1, "semiannual": 2}[_COMPOUNDING[form]]
    floor = -float(periods) if periods else -np.inf
    bad = np.flatnonzero(~(v > floor) | ~(np.abs(v) < 1.0))
    if len(bad):
        i = int(bad[0])
        msg = (
            f"{where}: zero rate {i} (t={t[i]:g}y) is {v[i]}; expected a decimal rate "
            "(0.045 for 4.5%)"
        )
        raise ValueError(msg)
    out: FloatArray = -v * t if periods == 0 else -periods * t * np.log1p(v / periods)
    return out


def _check_methods(interpolation: object, extrapolation: object, where: str) -> None:
    if interpolation not in INTERPOLATIONS:
        msg = (
            f"{where}: unknown interpolation {interpolation!r}; "
            f"expected one of {list(INTERPOLATIONS)}"
        )
        raise ValueError(msg)
    if extrapolation not in EXTRAPOLATIONS:
        msg = (
            f"{where}: unknown extrapolation {extrapolation!r}; "
            f"expected one of {list(EXTRAPOLATIONS)}"
        )
        raise ValueError(msg)


def _points(
    times: npt.ArrayLike, values: npt.ArrayLike, what: str, where: str
) -> tuple[FloatArray, FloatArray]:
    t = np.ascontiguousarray(times, dtype=np.float64).reshape(-1)
    v = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
    if t.shape != v.shape:
        msg = f"{where}: {len(t)} times but {len(v)} {what}"
        raise ValueError(msg)
    return t, v


def _tenor_index(key_tenors: Sequence[float] | FloatArray, tenor: float) -> int:
    matches = [i for i, k in enumerate(key_tenors) if abs(float(k) - float(tenor)) < 1e-12]
    if not matches:
        msg = f"key-rate bump: tenor {tenor} is not one of the key tenors {list(key_tenors)}"
        raise ValueError(msg)
    return matches[0]


@dataclass(frozen=True, eq=False)
class _Instruments:
    """Quotes laid out once, so a re-bootstrap with new rates only rescales amounts."""

    quotes: tuple[CurveQuote, ...]  # as first read; `rates` holds the current quotes
    valuation_date: dt.date
    layout: CashflowLayout  # amounts hold the accrual fractions
    principal: FloatArray
    rates: FloatArray

    @classmethod
    def build(cls, quotes: tuple[CurveQuote, ...], valuation_date: dt.date) -> _Instruments:
        offsets, times, accruals, principal = _schedules(quotes, valuation_date)
        layout = CashflowLayout(offsets, times, accruals)
        return cls(quotes, valuation_date, layout, principal, np.array([q.rate for q in quotes]))

    @classmethod
    def solve(
        cls,
        quotes: tuple[CurveQuote, ...],
        valuation_date: dt.date,
        interpolation: Interpolation,
        extrapolation: Extrapolation,
    ) -> Curve:
        """Schedules and curve in one call of the core (as build, then bootstrap)."""
        codes = _quote_codes(quotes)
        rates = np.array([q.rate for q in quotes])
        offsets, times, accruals, principal, pillars, log_dfs = _core.bootstrap_quotes(
            valuation_date.toordinal(),
            codes[0],
            codes[1],
            codes[2],
            rates,
            INTERPOLATIONS[interpolation],
        )
        layout = CashflowLayout(offsets, times, accruals)
        return Curve(
            pillars,
            log_dfs,
            interpolation,
            valuation_date,
            extrapolation=extrapolation,
            _instruments=cls(quotes, valuation_date, layout, principal, rates),
        )

    @cached_property
    def counts(self) -> npt.NDArray[np.int64]:
        """Flows per instrument."""
        return np.diff(self.layout.offsets)

    def bootstrap(
        self, rates: FloatArray, interpolation: Interpolation, extrapolation: Extrapolation
    ) -> Curve:
        amounts = np.repeat(rates, self.counts) * self.layout.amounts + self.principal
        pillars, log_dfs, _ = _core.bootstrap_curve(
            self.layout.offsets,
            self.layout.times,
            amounts,
            np.ones(len(rates)),
            INTERPOLATIONS[interpolation],
        )
        return Curve(
            pillars,
            log_dfs,
            interpolation,
            self.valuation_date,
            extrapolation=extrapolation,
            _instruments=replace(self, rates=rates),
        )


def bootstrap(
    quotes: pd.DataFrame | Iterable[Mapping[str, Any]],
    valuation_date: object,
    interpolation: Interpolation = "log_linear",
    extrapolation: Extrapolation = "flat_forward",
) -> Curve:
    """Bootstrap a discount curve that reprices every quote exactly.

    Parameters
    ----------
    quotes : DataFrame or iterable of dict
        Columns ``kind`` (``deposit``, ``swap``, ``par_bond``), ``tenor`` (``"3M"``, ``"10Y"``)
        or ``maturity`` (date), ``rate`` (decimal); optional ``frequency`` (swaps 1, par bonds
        2 by default) and ``day_count`` (ACT/365F; par bonds ACT/ACT ICMA). Sorted by maturity.
    valuation_date : date or "YYYY-MM-DD"
        Spot date of every instrument; schedules run backward from maturity, unadjusted.
    interpolation : {"log_linear", "linear_zero", "monotone_convex", "natural_cubic"}
        How the curve runs between pillars (see the module docstring).
    extrapolation : {"flat_forward", "flat_zero"}
        How it runs beyond the last pillar.

    Returns
    -------
    Curve
        Pillars at the instruments' maturities; each instrument reprices to 1 within 1e-12.
    """
    vd = to_date(valuation_date, "bootstrap: valuation_date")
    _check_methods(interpolation, extrapolation, "bootstrap")
    return _Instruments.solve(read_quotes(quotes, vd), vd, interpolation, extrapolation)


def curve_from_points(
    points: pd.DataFrame | Iterable[Mapping[str, Any]],
    valuation_date: object,
    form: str,
    interpolation: Interpolation = "log_linear",
    extrapolation: Extrapolation = "flat_forward",
    *,
    where: str = "curve",
    first_row: int = 0,
) -> Curve:
    """Build a curve from points quoted in one of :data:`CURVE_FORMS`.

    Parameters
    ----------
    points : DataFrame or iterable of dict
        Columns ``tenor`` (``"3M"``, ``"10Y"``) or ``maturity`` (date), and ``value``: a zero
        rate or par yield as a decimal (0.045), or a discount factor. Sorted by maturity, no
        two on the same date. Par yields may carry ``frequency`` and ``day_count`` per row
        (default 2 and ACT/ACT ICMA).
    valuation_date : date or "YYYY-MM-DD"
        The curve's date; tenors count from it and times are Act/365F years from it.
    form : str
        One of :data:`CURVE_FORMS`.
    interpolation, extrapolation : str
        See :class:`Curve`.
    first_row : int
        The number messages give the first point (2 for a CSV file's first data line).
    where : str
        How messages name the table (e.g. ``"curve"``; empty for none); row ``i`` of
        `points` is called row ``i``.

    Raises
    ------
    ValueError
        Naming the row and column of the first problem found.
    """
    vd = to_date(valuation_date, f"{where}: valuation_date")
    if form not in CURVE_FORMS:
        msg = f"{where}, column form: unknown form {form!r}; expected one of {list(CURVE_FORMS)}"
        raise ValueError(msg)
    _check_methods(interpolation, extrapolation, where)
    records = _records(points)
    if not records:
        msg = f"{where}: no rows; a curve needs at least one point"
        raise ValueError(msg)
    if form == "par_yield":
        quotes = [{**r, "kind": "par_bond", "rate": r.get("value")} for r in records]
        return bootstrap(quotes, vd, interpolation, extrapolation)
    times: list[float] = []
    values: list[float] = []
    for row, rec in enumerate(records):
        line = row + first_row
        here = f"{where}, row {line}" if where else f"row {line}"
        tenor = rec.get("tenor")
        if tenor is not None and not (isinstance(tenor, float) and np.isnan(tenor)):
            maturity = tenor_date(vd, str(tenor), f"{here}, column tenor")
        else:
            maturity = to_date(rec.get("maturity"), f"{here}, column maturity")
        if maturity <= vd:
            msg = f"{here}: maturity {maturity} is not after the valuation date {vd}"
            raise ValueError(msg)
        if times and act365(vd, maturity) <= times[-1]:
            msg = (
                f"{here}: maturity {maturity} is not after row {line - 1}'s; points must be "
                "sorted by maturity without duplicates"
            )
            raise ValueError(msg)
        times.append(act365(vd, maturity))
        value = finite_float(rec.get("value"), f"{here}, column value")
        if form == "discount_factor" and not value > 0:
            msg = f"{here}, column value: {value} is not a positive discount factor"
            raise ValueError(msg)
        values.append(
            value if form == "discount_factor" else decimal_rate(value, f"{here}, column value")
        )
    log_dfs = log_discount_factors(values, times, form, where)
    return Curve(np.asarray(times), log_dfs, interpolation, vd, extrapolation=extrapolation)
