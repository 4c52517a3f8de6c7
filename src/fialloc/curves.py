"""Discount curves: bootstrap from market quotes, evaluate, bump.

A :class:`Curve` is a set of pillars (Act/365F years) with log discount factors, an
interpolation method and an optional zero-rate overlay (piecewise linear, flat outside its
knots) that represents parallel shifts and key-rate tent bumps without re-fitting anything.
All evaluation happens in the compiled core.
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
    act365,
    backward_dates,
    normalize_day_count,
    tenor_date,
    to_date,
    year_fraction,
)

__all__ = [
    "DEFAULT_KEY_TENORS",
    "INTERPOLATIONS",
    "Curve",
    "CurveQuote",
    "bootstrap",
    "read_quotes",
    "tent_overlay",
]

DEFAULT_KEY_TENORS: Final = (0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0)
INTERPOLATIONS: Final = {"log_linear": 0, "natural_cubic": 1}
QUOTE_KINDS: Final = ("deposit", "swap", "par_bond")
_DEFAULT_FREQ: Final = {"deposit": 0, "swap": 1, "par_bond": 2}
_DEFAULT_DAY_COUNT: Final = {"deposit": "ACT/365F", "swap": "ACT/365F", "par_bond": "ACT/ACT ICMA"}

Interpolation = Literal["log_linear", "natural_cubic"]
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


@dataclass(frozen=True)
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

    def accruals(self, valuation_date: dt.date) -> tuple[list[float], list[float], list[float]]:
        """Return flow times (Act/365F years), accrual fractions and principal per unit notional.

        The quote's cash flows are ``rate * accrual + principal``; they price to 1.
        """
        if self.kind == "deposit":
            tau = year_fraction(valuation_date, self.maturity, self.day_count, frequency=1)
            return [act365(valuation_date, self.maturity)], [tau], [1.0]
        dates = backward_dates(self.maturity, 12 // self.frequency, valuation_date)
        times, accruals = [], []
        for k in range(1, len(dates)):
            ref_start, end = dates[k - 1], dates[k]
            start = max(ref_start, valuation_date)
            accruals.append(
                year_fraction(start, end, self.day_count, ref_start, end, self.frequency)
            )
            times.append(act365(valuation_date, end))
        principal = [0.0] * len(times)
        principal[-1] = 1.0
        return times, accruals, principal

    def flows(self, valuation_date: dt.date) -> tuple[list[float], list[float]]:
        """Return times (Act/365F years) and amounts per unit notional; they price to 1."""
        times, accruals, principal = self.accruals(valuation_date)
        return times, [self.rate * a + p for a, p in zip(accruals, principal, strict=True)]


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
    records: list[dict[str, Any]] = (
        [{str(k): v for k, v in r.items()} for r in quotes.to_dict("records")]
        if isinstance(quotes, pd.DataFrame)
        else [dict(r) for r in quotes]
    )
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
    out: list[CurveQuote] = []
    for row, rec in enumerate(records):
        where = f"quotes row {row}"
        if "kind" not in rec or "rate" not in rec:
            msg = f"{where}: missing kind or rate"
            raise ValueError(msg)
        kind = str(rec["kind"]).strip().lower()
        if kind not in QUOTE_KINDS:
            msg = f"{where}, column kind: unknown kind {rec['kind']!r}; expected {QUOTE_KINDS}"
            raise ValueError(msg)
        tenor = rec.get("tenor")
        has_tenor = tenor is not None and not (isinstance(tenor, float) and np.isnan(tenor))
        if has_tenor:
            maturity = tenor_date(valuation_date, str(tenor), f"{where}, column tenor")
            label = str(tenor).strip().upper()
        else:
            maturity = to_date(rec.get("maturity"), f"{where}, column maturity")
            label = maturity.isoformat()
        if maturity <= valuation_date:
            msg = f"{where}: maturity {maturity} is not after the valuation date {valuation_date}"
            raise ValueError(msg)
        rate = decimal_rate(rec["rate"], f"{where}, column rate")
        freq_raw = rec.get("frequency")
        if freq_raw is None or (isinstance(freq_raw, float) and np.isnan(freq_raw)):
            freq = _DEFAULT_FREQ[kind]
        else:
            freq_f = finite_float(freq_raw, f"{where}, column frequency")
            freq = int(freq_f) if freq_f.is_integer() else -1  # -1: refused below
        if freq == -1 or (kind != "deposit" and freq not in (1, 2, 4, 12)):
            msg = f"{where}, column frequency: {freq_raw!r}; expected 1, 2, 4 or 12 a year"
            raise ValueError(msg)
        dc_raw = rec.get("day_count")
        if dc_raw is None or (isinstance(dc_raw, float) and np.isnan(dc_raw)):
            day_count = _DEFAULT_DAY_COUNT[kind]
        else:
            day_count = normalize_day_count(dc_raw, f"{where}, column day_count")
        if day_count == "ACT/ACT ICMA" and kind == "deposit":
            msg = f"{where}, column day_count: ACT/ACT ICMA needs a coupon schedule; deposits don't"
            raise ValueError(msg)
        if out and maturity <= out[-1].maturity:
            msg = (
                f"{where}: maturity {maturity} ({label}) is not after row {row - 1}'s "
                f"{out[-1].maturity} ({out[-1].label}); quotes must be sorted by maturity "
                "without duplicates"
            )
            raise ValueError(msg)
        out.append(CurveQuote(kind, maturity, rate, freq, day_count, label))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class Curve:
    """Discount curve on Act/365F pillar times.

    Parameters
    ----------
    pillar_times : array of float
        Strictly increasing, positive (years).
    log_dfs : array of float
        ``ln P(0, t)`` at the pillars.
    interpolation : {"log_linear", "natural_cubic"}
        Log-linear on discount factors, or a natural cubic spline on zero rates. Beyond the
        last pillar the instantaneous forward stays flat.
    valuation_date : date, optional
        The curve's date; needed to turn dates into times.
    spread_knots, spread_values : array of float
        Zero-rate overlay (decimals), piecewise linear on the knots and flat outside; empty
        for none. Built by :meth:`shifted` and :meth:`key_rate_bumped`.
    _instruments : optional
        Set by :func:`bootstrap`: the instruments behind the curve, which enable
        :attr:`quotes`, :meth:`requote` and par-domain bumps.

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
    _instruments: _Instruments | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.interpolation not in INTERPOLATIONS:
            msg = (
                f"Curve: unknown interpolation {self.interpolation!r}; "
                f"expected one of {list(INTERPOLATIONS)}"
            )
            raise ValueError(msg)
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
    ) -> Curve:
        """Curve through continuously compounded zero rates (decimals) at times (years)."""
        t = np.ascontiguousarray(times, dtype=np.float64).reshape(-1)
        z = np.ascontiguousarray(zero_rates, dtype=np.float64).reshape(-1)
        if t.shape != z.shape:
            msg = f"Curve.from_zero_rates: {len(t)} times but {len(z)} zero rates"
            raise ValueError(msg)
        return cls(t, -z * t, interpolation, valuation_date)

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

    def core_args(self) -> tuple[FloatArray, FloatArray, int, FloatArray, FloatArray]:
        """Return the five arrays/codes that describe this curve to the compiled kernels."""
        return (
            self.pillar_times,
            self.log_dfs,
            INTERPOLATIONS[self.interpolation],
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
        key-rate bump that market terminals report.
        """
        if not self.quotes or self.valuation_date is None:
            msg = "Curve.par_bumped: the curve was not bootstrapped from quotes"
            raise ValueError(msg)
        knots, values = tent_overlay(key_tenors, _tenor_index(key_tenors, tenor))
        maturities = np.array([act365(self.valuation_date, q.maturity) for q in self.quotes])
        moves = np.interp(maturities, knots, values) * bp * 1e-4
        assert self._instruments is not None
        fresh = self.requote(self._instruments.rates + moves)
        return replace(fresh, spread_knots=self.spread_knots, spread_values=self.spread_values)

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
        return self._instruments.bootstrap(r, self.interpolation)

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
            f"{self.interpolation}, valuation_date={self.valuation_date}{overlay})"
        )


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
    counts: npt.NDArray[np.int64]
    rates: FloatArray

    @classmethod
    def build(cls, quotes: tuple[CurveQuote, ...], valuation_date: dt.date) -> _Instruments:
        parts = [q.accruals(valuation_date) for q in quotes]
        layout = CashflowLayout.from_streams([p[0] for p in parts], [p[1] for p in parts])
        principal = np.fromiter((x for p in parts for x in p[2]), dtype=np.float64)
        rates = np.array([q.rate for q in quotes])
        return cls(quotes, valuation_date, layout, principal, np.diff(layout.offsets), rates)

    def bootstrap(self, rates: FloatArray, interpolation: Interpolation) -> Curve:
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
            _instruments=replace(self, rates=rates),
        )


def _bootstrap_quotes(
    quotes: tuple[CurveQuote, ...], valuation_date: dt.date, interpolation: Interpolation
) -> Curve:
    if interpolation not in INTERPOLATIONS:
        msg = f"bootstrap: unknown interpolation {interpolation!r}; expected {list(INTERPOLATIONS)}"
        raise ValueError(msg)
    instruments = _Instruments.build(quotes, valuation_date)
    return instruments.bootstrap(instruments.rates, interpolation)


def bootstrap(
    quotes: pd.DataFrame | Iterable[Mapping[str, Any]],
    valuation_date: object,
    interpolation: Interpolation = "log_linear",
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
    interpolation : {"log_linear", "natural_cubic"}
        Log-linear discount factors (default) or a natural cubic spline on zero rates.

    Returns
    -------
    Curve
        Pillars at the instruments' maturities; each instrument reprices to 1 within 1e-12.
    """
    vd = to_date(valuation_date, "bootstrap: valuation_date")
    return _bootstrap_quotes(read_quotes(quotes, vd), vd, interpolation)
