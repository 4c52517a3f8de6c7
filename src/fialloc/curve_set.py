"""Curves of several currencies and the FX spots that join them: the :class:`CurveSet`.

Per currency (USD, EUR, GBP, JPY, CAD) a run may hold three curves:

- ``government``: the nominal government curve that prices the currency's bonds (with each
  bond's spread over it);
- ``ois``: the overnight-indexed swap curve, which discounts collateralized derivatives and
  sets FX forward points (covered interest parity);
- ``real``: the real (inflation-linked) curve, a slot filled from linker prices or
  zero-coupon inflation swaps by the inflation module.

Every curve is an ordinary :class:`fialloc.curves.Curve` on Act/365F times from the same
valuation date, bootstrapped by :func:`fialloc.curves.bootstrap` from quotes that carry the
conventions of their market (:data:`CONVENTIONS`, used for any quote that names its currency
but leaves ``frequency`` or ``day_count`` empty):

========  ===========  ================  ===================  ===================  ===========
currency  money market OIS index         OIS fixed leg        government bonds     spot lag
========  ===========  ================  ===================  ===================  ===========
USD       ACT/360      SOFR              annual, ACT/360      semiannual, ICMA     T+2 (OIS)
EUR       ACT/360      ESTR              annual, ACT/360      annual, ICMA         T+2
GBP       ACT/365F     SONIA             annual, ACT/365F     semiannual, ICMA     T+0
JPY       ACT/365F     TONA              annual, ACT/365F     semiannual, ICMA     T+2
CAD       ACT/365F     CORRA             semiannual, ACT/365F semiannual, ICMA     T+1
========  ===========  ================  ===================  ===================  ===========

Sources: ISDA 2021 definitions and the OpenGamma "Interest rate instruments and market
conventions" guide (money market and OIS legs); the Canadian Alternative Reference Rate
working group (CORRA OIS paying semiannually since 2022); the issuers' prospectuses (US
Treasury, German Bund, UK Gilt, JGB and Government of Canada coupons). Government coupons
pay ``rate / frequency`` for every regular period, which is ACT/ACT ICMA; JGBs and Canadas
accrue broken periods on ACT/365F, which only a bond maturing off its regular schedule would
see. Spot lags and holiday calendars are documented but not applied: every instrument starts
on the valuation date on an unadjusted schedule, like the rest of fialloc. A single-curve OIS
(floating leg discounted on its own curve) prices like a par bond paying the fixed leg, so an
OIS quote is a ``swap`` (a ``deposit`` up to a year, where it pays once).

FX spots are base-currency units per unit of the currency (USD 1.0850 per EUR with a USD
base). An FX forward follows covered interest parity off the two OIS curves (the government
curves where a currency has no OIS curve) with an optional cross-currency basis ``b`` added
to the foreign rate (continuous, Act/365F): ``F(t) = S P_f(t) exp(-b t) / P_base(t)``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.bonds import BondBook, CashflowStream
from fialloc.curves import (
    DEFAULT_KEY_TENORS,
    Curve,
    Extrapolation,
    Interpolation,
    bootstrap,
)
from fialloc.layout import FloatArray
from fialloc.schedule import to_date

__all__ = [
    "CONVENTIONS",
    "CURRENCIES",
    "CURVE_KINDS",
    "Conventions",
    "CurveSet",
    "build_curve_set",
    "currency_krd_column",
    "quote_conventions",
]

#: The currencies fialloc prices, the base currency's among them.
CURRENCIES: Final = ("USD", "EUR", "GBP", "JPY", "CAD")
CurveKind = Literal["government", "ois", "real"]
#: The curves a currency may hold (see the module docstring).
CURVE_KINDS: Final[tuple[CurveKind, ...]] = ("government", "ois", "real")


@dataclass(frozen=True)
class Conventions:
    """Market conventions of one currency's curve instruments.

    Attributes
    ----------
    currency : str
        ISO code.
    money_market_day_count : str
        Deposits and OIS up to a year (one payment at maturity).
    ois_index : str
        The overnight index of the OIS curve.
    ois_frequency, ois_day_count : int, str
        Fixed leg of OIS longer than a year: payments a year and day count.
    bond_frequency, bond_day_count : int, str
        Coupons of the government bonds quoted as par yields.
    spot_days : int
        Business days from trade to start (documented, not applied: instruments start on the
        valuation date).
    """

    currency: str
    money_market_day_count: str
    ois_index: str
    ois_frequency: int
    ois_day_count: str
    bond_frequency: int
    bond_day_count: str
    spot_days: int


#: Conventions per currency (module docstring: table and sources).
CONVENTIONS: Final[Mapping[str, Conventions]] = MappingProxyType(
    {
        "USD": Conventions("USD", "ACT/360", "SOFR", 1, "ACT/360", 2, "ACT/ACT ICMA", 2),
        "EUR": Conventions("EUR", "ACT/360", "ESTR", 1, "ACT/360", 1, "ACT/ACT ICMA", 2),
        "GBP": Conventions("GBP", "ACT/365F", "SONIA", 1, "ACT/365F", 2, "ACT/ACT ICMA", 0),
        "JPY": Conventions("JPY", "ACT/365F", "TONA", 1, "ACT/365F", 2, "ACT/ACT ICMA", 2),
        "CAD": Conventions("CAD", "ACT/365F", "CORRA", 2, "ACT/365F", 2, "ACT/ACT ICMA", 1),
    }
)


def quote_conventions(currency: str, kind: str) -> tuple[int, str]:
    """Fixed-leg frequency (a year, 0 for one payment) and day count of a quote `kind`.

    `kind` is a :func:`fialloc.curves.bootstrap` quote kind: ``deposit`` (money market),
    ``swap`` (OIS fixed leg) or ``par_bond`` (government coupon).

    Raises
    ------
    ValueError
        For a currency outside :data:`CURRENCIES` or an unknown kind.
    """
    conv = _conventions(currency, "quote_conventions: currency")
    if kind == "deposit":
        return 0, conv.money_market_day_count
    if kind == "swap":
        return conv.ois_frequency, conv.ois_day_count
    if kind == "par_bond":
        return conv.bond_frequency, conv.bond_day_count
    msg = f"quote_conventions: unknown kind {kind!r}; expected deposit, swap or par_bond"
    raise ValueError(msg)


def currency_krd_column(currency: str, tenor: float, base_currency: str) -> str:
    """Column of a key-rate duration at `tenor` years on `currency`'s curve.

    The base currency keeps fialloc's ``krd_<tenor>y`` (``krd_10y``); another currency's
    carries its code: ``krd_EUR_10y``.
    """
    return f"krd_{tenor:g}y" if currency == base_currency else f"krd_{currency}_{tenor:g}y"


def _conventions(currency: object, where: str) -> Conventions:
    code = str(currency).strip().upper()
    if code not in CONVENTIONS:
        msg = f"{where}: unknown currency {currency!r}; expected one of {', '.join(CURRENCIES)}"
        raise ValueError(msg)
    return CONVENTIONS[code]


def _frozen(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, eq=False)
class CurveSet:
    """The curves of every currency a run holds, and the FX spots into its base currency.

    Parameters
    ----------
    valuation_date : date
        Every curve's date.
    base_currency : str
        The portfolio's currency (one of :data:`CURRENCIES`): money is reported in it and
        liabilities are owed in it.
    curves : mapping
        ``(currency, kind) -> Curve`` with `kind` one of :data:`CURVE_KINDS`. The base
        currency needs its ``government`` curve; every other currency with a curve needs an
        FX spot.
    fx_spot : mapping, optional
        Base-currency units per unit of each other currency (positive); the base currency's
        is 1 and may be left out.
    fx_basis : mapping, optional
        Cross-currency basis per currency (decimal, continuous Act/365F, added to the
        currency's rate in covered parity); 0 where left out.

    Raises
    ------
    ValueError
        Naming the currency, curve or spot that is missing or wrong.
    """

    valuation_date: dt.date
    base_currency: str
    curves: Mapping[tuple[str, CurveKind], Curve]
    fx_spot: Mapping[str, float] = field(default_factory=dict)
    fx_basis: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = "CurveSet"
        base = _conventions(self.base_currency, f"{where}: base_currency").currency
        object.__setattr__(self, "base_currency", base)
        curves = _checked_curves(self.curves, self.valuation_date, where)
        if (base, "government") not in curves:
            msg = f"{where}: the base currency {base} has no government curve"
            raise ValueError(msg)
        spots = _checked_spots(self.fx_spot, base, where)
        for code in {c for c, _ in curves} - set(spots):
            msg = f"{where}: {code} has curves but no FX spot into {base}"
            raise ValueError(msg)
        basis: dict[str, float] = {}
        for ccy, value in self.fx_basis.items():
            code = _conventions(ccy, f"{where}: fx_basis").currency
            b = float(value)
            if not (math.isfinite(b) and abs(b) < 0.1):
                msg = (
                    f"{where}: fx_basis {code} is {value!r}; expected a decimal spread "
                    "(-0.002 for -20 bp)"
                )
                raise ValueError(msg)
            basis[code] = b
        object.__setattr__(self, "curves", _frozen(curves))
        object.__setattr__(self, "fx_spot", _frozen(spots))
        object.__setattr__(self, "fx_basis", _frozen(basis))

    @classmethod
    def single(cls, curve: Curve, base_currency: str = "USD") -> CurveSet:
        """Build a set of one curve: `curve` as the base currency's government curve."""
        if curve.valuation_date is None:
            msg = "CurveSet.single: the curve has no valuation date"
            raise ValueError(msg)
        return cls(curve.valuation_date, base_currency, {(base_currency, "government"): curve})

    @property
    def currencies(self) -> tuple[str, ...]:
        """Currencies with an FX spot, the base first, then in :data:`CURRENCIES` order."""
        rest = [c for c in CURRENCIES if c in self.fx_spot and c != self.base_currency]
        return (self.base_currency, *rest)

    def has_curve(self, currency: str, kind: CurveKind = "government") -> bool:
        """Whether the set holds `currency`'s `kind` curve."""
        return (str(currency).upper(), kind) in self.curves

    def curve(self, currency: str, kind: CurveKind = "government") -> Curve:
        """`currency`'s `kind` curve (``government``, ``ois`` or ``real``).

        Raises
        ------
        ValueError
            When the set holds no such curve.
        """
        code = str(currency).strip().upper()
        found = self.curves.get((code, kind))
        if found is None:
            held = ", ".join(f"{c} {k}" for c, k in self.curves) or "none"
            msg = f"CurveSet: no {kind} curve for {currency!r}; the set holds {held}"
            raise ValueError(msg)
        return found

    def funding_curve(self, currency: str) -> Curve:
        """Return the curve covered parity uses for `currency`: OIS, else government."""
        code = str(currency).strip().upper()
        ois = self.curves.get((code, "ois"))
        return ois if ois is not None else self.curve(code, "government")

    def with_curve(self, currency: str, kind: CurveKind, curve: Curve) -> CurveSet:
        """Copy with `currency`'s `kind` curve set to `curve` (added or replaced).

        How a real curve joins the set, and how stresses shift one currency's curve.
        """
        curves = {**self.curves, (str(currency).strip().upper(), kind): curve}
        return replace(self, curves=curves)

    def with_fx_spot(self, spots: Mapping[str, float]) -> CurveSet:
        """Copy with the FX spots in `spots` (base units per unit) replacing the current ones."""
        return replace(self, fx_spot={**self.fx_spot, **spots})

    def spot(self, currency: str) -> float:
        """Base-currency units per unit of `currency` today."""
        code = str(currency).strip().upper()
        if code not in self.fx_spot:
            msg = f"CurveSet: no FX spot for {currency!r}; the set holds {', '.join(self.fx_spot)}"
            raise ValueError(msg)
        return float(self.fx_spot[code])

    def to_base(self, amounts: npt.ArrayLike, currencies: npt.ArrayLike) -> FloatArray:
        """Convert `amounts` in `currencies` (one code per amount, or one for all) at spot."""
        value = np.asarray(amounts, dtype=np.float64)
        codes = np.broadcast_to(np.asarray(currencies, dtype=object), value.shape)
        rates = {c: self.spot(str(c)) for c in set(codes.ravel().tolist())}
        factor = np.array([rates[c] for c in codes.ravel()], dtype=np.float64)
        return value * factor.reshape(value.shape)

    def fx_forward(self, currency: str, t: npt.ArrayLike) -> FloatArray:
        """Outright FX forward (base units per unit of `currency`) for delivery at `t` years.

        Covered interest parity off the two funding curves with the currency's basis:
        ``F(t) = S P_ccy(t) exp(-b t) / P_base(t)``; `t` Act/365F years, ``F(0) = S``.
        """
        code = str(currency).strip().upper()
        times = np.asarray(t, dtype=np.float64)
        if not np.all(np.isfinite(times)) or np.any(times < 0.0):
            msg = f"CurveSet.fx_forward: `t` must be finite times >= 0 (years), got {times}"
            raise ValueError(msg)
        spot = self.spot(code)
        if code == self.base_currency:
            return np.full(times.shape, 1.0)
        flat = times.reshape(-1)
        foreign = self.funding_curve(code).discount(flat)
        domestic = self.funding_curve(self.base_currency).discount(flat)
        basis = self.fx_basis.get(code, 0.0)
        out: FloatArray = spot * foreign * np.exp(-basis * flat) / domestic
        return out.reshape(times.shape)

    def forward_points(self, currency: str, t: npt.ArrayLike) -> FloatArray:
        """Forward less spot (base units per unit of `currency`) for delivery at `t` years."""
        return self.fx_forward(currency, t) - self.spot(currency)

    def hedge_carry(self, currency: str, tenor: float = 0.25) -> float:
        """Annual carry (decimal) of selling `currency` forward for `tenor` years at spot.

        ``(F(tenor) / S - 1) / tenor``: what a rolling hedge of that tenor earns a year on the
        hedged value (negative when the currency's rate, with its basis, is above the base
        currency's).
        """
        if not (math.isfinite(tenor) and 0.0 < tenor <= 1.0):
            msg = f"CurveSet.hedge_carry: `tenor` must be in (0, 1] years, got {tenor}"
            raise ValueError(msg)
        return float(self.fx_forward(currency, tenor) / self.spot(currency) - 1.0) / tenor

    def key_rate_durations(
        self,
        currency: str,
        kind: CurveKind,
        streams: BondBook | CashflowStream,
        z_spread: npt.ArrayLike = 0.0,
        *,
        key_tenors: Sequence[float] = DEFAULT_KEY_TENORS,
        bump_bp: float = 1.0,
    ) -> pd.DataFrame:
        """Key-rate durations (years) of bonds or a cash-flow stream on one curve of the set.

        `streams` hold flows in `currency`, priced off its `kind` curve plus `z_spread`
        (decimal, per bond or one for all); tent bumps of `bump_bp` on zero rates with central
        differences, as every key-rate duration in fialloc. One row per bond (or one for a
        stream), one column per key tenor named by :func:`currency_krd_column`.
        """
        curve = self.curve(currency, kind)
        if isinstance(streams, CashflowStream):
            risk = streams.curve_risk(curve, key_tenors=key_tenors, bump_bp=bump_bp)
            index = pd.Index([streams.name])
        else:
            risk = streams.curve_risk(curve, z_spread, key_tenors=key_tenors, bump_bp=bump_bp)
            index = streams.security_ids
        code = str(currency).strip().upper()
        columns = [currency_krd_column(code, k, self.base_currency) for k in risk.key_tenors]
        return pd.DataFrame(risk.krd, index=index, columns=columns)

    def __repr__(self) -> str:
        held = ", ".join(f"{c} {k}" for c, k in self.curves)
        return (
            f"CurveSet({self.valuation_date}, base {self.base_currency}: {held}; "
            f"FX {dict(self.fx_spot)})"
        )


def _checked_curves(
    given: Mapping[Any, object], valuation_date: dt.date, where: str
) -> dict[tuple[str, CurveKind], Curve]:
    """Return `given` keyed by canonical currency codes; raise naming a bad key or curve."""
    curves: dict[tuple[str, CurveKind], Curve] = {}
    for key, curve in dict(given).items():  # checked here, whatever was passed
        if not (isinstance(key, tuple) and len(key) == 2):
            msg = f"{where}: curve key {key!r} is not a (currency, kind) pair"
            raise ValueError(msg)
        code = _conventions(key[0], f"{where}: curve {key!r}").currency
        if key[1] not in CURVE_KINDS:
            msg = f"{where}: curve {key!r} has kind {key[1]!r}; expected one of {CURVE_KINDS}"
            raise ValueError(msg)
        if not isinstance(curve, Curve):
            msg = f"{where}: curve {key!r} is a {type(curve).__name__}, not a Curve"
            raise ValueError(msg)
        if curve.valuation_date != valuation_date:
            msg = (
                f"{where}: curve {code} {key[1]} is dated {curve.valuation_date}, not the "
                f"valuation date {valuation_date}"
            )
            raise ValueError(msg)
        curves[(code, key[1])] = curve
    return curves


def _checked_spots(fx_spot: Mapping[str, float], base: str, where: str) -> dict[str, float]:
    """Return the FX spots (the base's 1 included); raise naming a bad one."""
    spots = {base: 1.0}
    for ccy, value in fx_spot.items():
        code = _conventions(ccy, f"{where}: fx_spot").currency
        spot = float(value)
        if not (math.isfinite(spot) and spot > 0.0):
            msg = f"{where}: fx_spot {code} is {value!r}; expected a positive number"
            raise ValueError(msg)
        if code == base and spot != 1.0:
            msg = f"{where}: fx_spot of the base currency {base} is {spot}, not 1"
            raise ValueError(msg)
        spots[code] = spot
    return spots


def build_curve_set(
    quotes: pd.DataFrame,
    valuation_date: object,
    base_currency: str = "USD",
    fx_spot: Mapping[str, float] | None = None,
    fx_basis: Mapping[str, float] | None = None,
    interpolation: Interpolation = "log_linear",
    extrapolation: Extrapolation = "flat_forward",
    *,
    base_curve: Curve | None = None,
    where: str = "curve_quotes",
    first_row: int = 0,
) -> CurveSet:
    """Bootstrap every (currency, curve) of a quotes table into a :class:`CurveSet`.

    Parameters
    ----------
    quotes : DataFrame
        The ``curve_quotes`` table: ``kind``, ``tenor`` or ``maturity``, ``rate`` (decimal),
        optional ``frequency`` and ``day_count``, and the optional ``currency`` (default the
        base currency) and ``curve`` (``government``, the default, or ``ois``; real curves
        come from the inflation module). Rows are sorted by maturity within each curve. A
        table with a ``currency`` column fills each row's missing frequency and day count
        from :data:`CONVENTIONS`; one without keeps :func:`fialloc.curves.bootstrap`'s
        generic defaults (swaps annual ACT/365F, deposits ACT/365F, par bonds semiannual
        ACT/ACT ICMA), so a single-currency file reads as before.
    valuation_date : date or "YYYY-MM-DD"
        Spot date of every instrument.
    base_currency : str
        The portfolio's currency.
    fx_spot, fx_basis : mapping, optional
        See :class:`CurveSet`.
    interpolation, extrapolation : str
        Of every curve (see :class:`fialloc.curves.Curve`).
    base_curve : Curve, optional
        The base currency's government curve when it is given otherwise (as points); the
        quotes must not give it too.
    where : str
        How messages name the table (empty for none).
    first_row : int
        The number messages give the table's first row (2 for a CSV file's first data line).

    Raises
    ------
    ValueError
        Naming the table, row and column of the first problem, or the curve that failed.
    """
    vd = to_date(valuation_date, f"{where}: valuation_date")
    base = _conventions(base_currency, f"{where}: base_currency").currency
    frame = quotes.reset_index(drop=True)
    codes = _curve_codes(frame, base, where, first_row)
    curves: dict[tuple[str, CurveKind], Curve] = {}
    if base_curve is not None:
        if (base, "government") in codes:
            row = codes.index((base, "government")) + first_row
            msg = (
                f"{where} row {row}: the {base} government curve is given as points already; "
                "leave its quotes out"
            ).strip()
            raise ValueError(msg)
        curves[(base, "government")] = base_curve
    for key in dict.fromkeys(codes):
        rows = [i for i, k in enumerate(codes) if k == key]
        table = _curve_quotes(frame, rows, key[0], with_conventions="currency" in frame.columns)
        try:
            curves[key] = bootstrap(table, vd, interpolation, extrapolation)
        except ValueError as exc:
            # bootstrap numbers the curve's own rows from 0; name the table's instead.
            text = _renumbered(str(exc), [r + first_row for r in rows])
            label = f"{key[0]} {key[1]} curve"
            head = re.match(r"quotes (row \d+)(.*)", text, re.DOTALL)
            msg = (
                f"{where} {head[1]} ({label}){head[2]}".strip()
                if head
                else f"{where} {label}: {text}".strip()
            )
            raise ValueError(msg) from exc
    return CurveSet(vd, base, curves, fx_spot or {}, fx_basis or {})


def _curve_codes(
    frame: pd.DataFrame, base: str, where: str, first_row: int
) -> list[tuple[str, CurveKind]]:
    """Return each quote's (currency, curve), the defaults filled in; raise naming a bad one."""
    currency = (
        frame["currency"].map(lambda c: c if isinstance(c, str) else base)
        if "currency" in frame.columns
        else pd.Series(base, index=frame.index)
    )
    curve = (
        frame["curve"].map(lambda c: c if isinstance(c, str) else "government")
        if "curve" in frame.columns
        else pd.Series("government", index=frame.index)
    )
    codes: list[tuple[str, CurveKind]] = []
    for row, (ccy, kind) in enumerate(zip(currency, curve, strict=True)):
        here = f"{where} row {row + first_row}".strip()
        code = _conventions(ccy, f"{here}, column currency").currency
        name = str(kind).strip().lower()
        if name not in ("government", "ois"):
            msg = (
                f"{here}, column curve: {kind!r} is not a curve bootstrapped from "
                "quotes; expected government or ois (real curves come from linkers or "
                "inflation swaps)"
            )
            raise ValueError(msg)
        codes.append((code, "government" if name == "government" else "ois"))
    return codes


def _curve_quotes(
    frame: pd.DataFrame, rows: list[int], currency: str, *, with_conventions: bool
) -> list[dict[str, Any]]:
    """Return one curve's quotes as records for `bootstrap`.

    With a currency column, each missing frequency and day count is the currency's market
    convention for the instrument.
    """
    records = frame.iloc[rows].drop(columns=["currency", "curve"], errors="ignore")
    table = [{str(k): v for k, v in r.items()} for r in records.to_dict("records")]
    if with_conventions:
        for rec in table:
            kind = str(rec.get("kind", "")).strip().lower()
            if kind not in ("deposit", "swap", "par_bond"):
                continue  # bootstrap names the row
            freq, day_count = quote_conventions(currency, kind)
            if _blank(rec.get("frequency")) and kind != "deposit":
                rec["frequency"] = freq
            if _blank(rec.get("day_count")):
                rec["day_count"] = day_count
    return table


def _renumbered(message: str, rows: list[int]) -> str:
    """`message` with every ``row i`` of a curve's own numbering as the table's ``rows[i]``."""
    return re.sub(r"\brow (\d+)", lambda m: f"row {rows[int(m[1])]}", message)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""
