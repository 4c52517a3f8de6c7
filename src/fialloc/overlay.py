"""The duration overlay's instruments: interest-rate swaps, Treasury futures and STRIPS.

Each instrument is priced off the portfolio's curve with the same compiled kernels as the
bonds: every instrument's fixed flows live in one :class:`~fialloc.bonds.BondBook`, so key-rate
durations, stress repricing and G2++ path revaluation are the bond book's.

Instruments and their units (one *unit* of position, the optimizer's decision per unit of
assets):

- **Swaps** at the key tenors, fixed leg annual Act/365F on a backward unadjusted schedule from
  the valuation date, floating leg compounded overnight on the same curve (single curve, no
  lag). One unit is 1 of notional; positive receives fixed. The floating leg is worth
  ``P(0, 0) - P(0, T)``, so a receiver swap is the fixed-rate bond with the swap's coupon less 1
  paid today: its key-rate durations are that bond's.
- **Treasury futures** (2y, 5y, 10y, ultra 10y, bond, ultra bond): one unit is 1 of the
  cheapest-to-deliver's face; positive is long. The futures price moves as the CTD's price
  divided by its conversion factor (the market's DV01 convention: CTD DV01 / CF), ignoring
  the carry between today and delivery and any switch of CTD.
- **STRIPS** at the key tenors: zero-coupon Treasuries; one unit is 1 of market value; long
  only. They are bought with cash (funded), so they take their value from the managers'
  weights; swaps and futures are unfunded.

Per unit, the analytics table holds key-rate exposures (years: the unit's value change for a
1-unit zero-rate move of the tent, i.e. key-rate duration times value per unit), carry (a year,
decimal of a unit), initial margin (decimal of a unit) and the value today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.bonds import BondBook, krd_column
from fialloc.checks import decimal_rate, finite_float
from fialloc.curves import DEFAULT_KEY_TENORS, Curve, CurveQuote
from fialloc.data.futures import FUTURES_COLUMNS, default_futures
from fialloc.layout import CashflowLayout, FloatArray
from fialloc.scenarios import G2Paths, G2pp
from fialloc.schedule import act365, add_months, to_date
from fialloc.stresses import StressScenario, default_scenarios, stressed_curve

__all__ = ["SWAP_MARGIN_MOVE", "OverlayMarket", "OverlayUniverse", "overlay_universe", "swap_risk"]

#: A swap's initial margin per unit notional is its duration times this rate move: roughly a
#: clearing house's 99% ten-day move (decimal). A mandate-level input.
SWAP_MARGIN_MOVE: Final = 0.004


@dataclass(frozen=True)
class OverlayMarket:
    """What the overlay's instruments are and what they cost to hold.

    Attributes
    ----------
    swap_tenors, strips_tenors : tuple of float, optional
        Years; each must be one of the key tenors. By default swaps at every key tenor of a
        year or more, STRIPS at every key tenor.
    futures : DataFrame or None
        Columns :data:`fialloc.data.futures.FUTURES_COLUMNS`, one row per contract (the
        portfolio's ``overlay_futures`` input; :func:`fialloc.data.futures.default_futures`
        when None).
    swap_margin_move : float
        Initial margin of a swap per unit notional over its duration (decimal rate move).
    """

    swap_tenors: tuple[float, ...] | None = None
    strips_tenors: tuple[float, ...] | None = None
    futures: pd.DataFrame | None = None
    swap_margin_move: float = SWAP_MARGIN_MOVE


@dataclass(frozen=True, eq=False)
class OverlayUniverse:
    """Every overlay instrument priced off one curve, per unit of position.

    Attributes
    ----------
    table : DataFrame
        Indexed by instrument id (``swap_30y``, ``future_UB``, ``strips_30y``): ``kind``
        (swap, future, strips), ``tenor`` (years; futures: the CTD's remaining term),
        ``funded`` (bool), ``rate`` (fixed rate, CTD yield or STRIPS yield, decimal),
        ``value`` (today's value per unit), ``dv01`` (value change per unit for a 1 bp fall of
        every zero rate, decimal of a unit), ``carry`` (a year per unit, decimal),
        ``initial_margin`` (per unit, decimal), ``contract_size`` (face per futures contract,
        money; NaN otherwise), then ``krd_<tenor>y`` exposures (years per unit).
    book : BondBook
        The fixed flows of every instrument (swap fixed legs with principal, CTDs, STRIPS) per
        100 face, in the table's order.
    scale : ndarray
        Units per 100 of the book's face: 1/100 for swaps and futures' face, 1/price for
        STRIPS, divided by the conversion factor for futures.
    financed : ndarray
        Value per unit paid for with borrowed cash today (the swap's 1 at start, the CTD's
        dirty price over CF for futures, 0 for STRIPS): on a path it grows at the bank account.
    curve : Curve
        The curve it was priced off.
    """

    table: pd.DataFrame
    book: BondBook
    scale: FloatArray
    financed: FloatArray
    curve: Curve

    @property
    def ids(self) -> pd.Index:
        """Instrument ids."""
        return self.table.index

    @property
    def key_columns(self) -> list[str]:
        """The ``krd_*`` exposure columns."""
        return [c for c in self.table.columns if c.startswith("krd_")]

    def values(self, curve: Curve) -> FloatArray:
        """Value per unit of every instrument off `curve` (full repricing)."""
        return np.asarray(
            self.book.dirty_prices(curve) * self.scale - self.financed, dtype=np.float64
        )

    def stress_changes(self, scenarios: Sequence[StressScenario] | None = None) -> pd.DataFrame:
        """Value change per unit of every instrument under each deterministic stress.

        Each instrument is repriced in full on the scenario's curve
        (:func:`fialloc.stresses.stressed_curve`; the default scenarios when None). Spread
        shifts do not apply: the instruments are Treasuries and swaps on the discount curve.

        Returns
        -------
        DataFrame
            Scenarios (rows, by name) by instruments (columns), money per unit.
        """
        chosen = list(scenarios) if scenarios is not None else default_scenarios()
        today = self.values(self.curve)
        return pd.DataFrame(
            [self.values(stressed_curve(self.curve, s)) - today for s in chosen],
            index=pd.Index([s.name for s in chosen], name="scenario"),
            columns=self.ids,
        )

    def path_values(
        self, model: G2pp, paths: G2Paths, horizons: npt.ArrayLike, threads: int | None = None
    ) -> FloatArray:
        """Value per unit of every instrument at each horizon on each path.

        The fixed flows still to come are priced with the model's zero bonds (the bond
        revaluation kernel), flows already paid are banked at the path's short rate, and the
        financed part (floating leg, futures financing) has grown at the bank account ``1/D``.

        Returns
        -------
        ndarray
            Paths x horizons x instruments (money per unit).
        """
        h = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
        remaining = model.revalue(self.book, paths, h, threads=threads)
        banked = paths.banked(self.book.layout, np.diag(np.ones(len(self.scale))), h)
        bank = 1.0 / paths.discount[:, paths.columns(h)]
        return np.asarray(
            (remaining + banked) * self.scale - bank[:, :, None] * self.financed,
            dtype=np.float64,
        )


def swap_risk(
    curve: Curve,
    maturities: Sequence[object],
    fixed_rates: npt.ArrayLike | None = None,
    *,
    key_tenors: Sequence[float] = DEFAULT_KEY_TENORS,
) -> pd.DataFrame:
    """Fixed-for-overnight swaps starting today off `curve`, per unit notional, receiver side.

    The fixed leg pays annually, Act/365F, on a backward unadjusted schedule from each
    maturity (a short first period when the maturity is not a whole number of years away);
    the floating leg compounds the overnight rate of the same curve, so it is worth
    ``1 - P(0, T)``.

    Parameters
    ----------
    curve : Curve
        Discount and forecasting curve (needs a valuation date).
    maturities : sequence of date
        One per swap, after the valuation date.
    fixed_rates : array, optional
        Fixed rate per swap (decimal, >= 0); the par rate when omitted.
    key_tenors : sequence of float
        Years.

    Returns
    -------
    DataFrame
        Indexed by maturity: ``fixed_rate``, ``par_rate`` (decimals), ``annuity`` (years:
        the sum of accruals times discount factors), ``npv`` (receiver, per unit notional),
        ``dv01`` (value change per unit notional for a 1 bp fall of all zero rates) and
        ``krd_<tenor>y`` (years: value change per unit notional per unit fall of each tent,
        from the bond book's key-rate kernel).
    """
    vd = _valuation_date(curve, "swap_risk")
    mats = [to_date(d, f"swap_risk: maturities row {i}") for i, d in enumerate(maturities)]
    if not mats:
        msg = "swap_risk: no maturities given"
        raise ValueError(msg)
    for i, mat in enumerate(mats):
        if mat <= vd:
            msg = f"swap_risk: maturities row {i}: {mat} is not after the valuation date {vd}"
            raise ValueError(msg)
    fixed = None if fixed_rates is None else np.asarray(fixed_rates, dtype=np.float64).ravel()
    if fixed is not None:
        if len(fixed) != len(mats):
            msg = f"swap_risk: {len(fixed)} fixed rates for {len(mats)} maturities"
            raise ValueError(msg)
        for i, k in enumerate(fixed):
            if decimal_rate(k, f"swap_risk: fixed_rates row {i}") < 0.0:
                msg = f"swap_risk: fixed_rates row {i}: {k} is negative"
                raise ValueError(msg)
    legs = _FixedLegs(curve, vd)
    for i, mat in enumerate(mats):
        legs.swap(f"swap_{i}", mat, None if fixed is None else float(fixed[i]))
    book = legs.book()
    exposure = _key_years(book, curve, key_tenors) / 100.0
    out = pd.DataFrame(
        {
            "fixed_rate": legs.coupons,
            "par_rate": legs.par_rates,
            "annuity": legs.annuities,
            "npv": book.dirty_prices(curve) / 100.0 - 1.0,
            "dv01": exposure.sum(axis=1) * 1e-4,
        },
        index=pd.Index(mats, name="maturity"),
    )
    for j, tenor in enumerate(key_tenors):
        out[krd_column(tenor)] = exposure[:, j]
    return out


class _FixedLegs:
    """Collects instruments' fixed flows (per 100 face) into one book."""

    def __init__(self, curve: Curve, valuation_date: dt.date) -> None:
        self.curve = curve
        self.vd = valuation_date
        self.ids: list[str] = []
        self.times: list[list[float]] = []
        self.amounts: list[list[float]] = []
        self.coupons: list[float] = []
        self.par_rates: list[float] = []
        self.annuities: list[float] = []

    def add(self, name: str, times: npt.ArrayLike, amounts: npt.ArrayLike) -> None:
        self.ids.append(name)
        self.times.append(np.asarray(times, dtype=float).tolist())
        self.amounts.append(np.asarray(amounts, dtype=float).tolist())

    def swap(self, name: str, maturity: dt.date, fixed: float | None) -> float:
        """Add a swap's fixed leg with its principal; return its fixed rate (par if None)."""
        times, accruals, principal = CurveQuote("swap", maturity, 0.0, 1, "ACT/365F", "").accruals(
            self.vd
        )
        annuity = float(np.dot(accruals, self.curve.discount(np.asarray(times))))
        # The par rate makes the fixed leg with its principal worth 1: 1 - P(T) = K A.
        par = (1.0 - float(self.curve.discount(times[-1]))) / annuity
        k = par if fixed is None else fixed
        self.add(
            name, times, [100.0 * (k * a + p) for a, p in zip(accruals, principal, strict=True)]
        )
        self.coupons.append(k)
        self.par_rates.append(par)
        self.annuities.append(annuity)
        return k

    def book(self) -> BondBook:
        return BondBook.from_layout(
            self.ids, CashflowLayout.from_streams(self.times, self.amounts), self.vd
        )


def _rows(table: pd.DataFrame) -> list[Any]:
    """Return the table's rows as named tuples (typed loosely: its columns mix types)."""
    return list(table.itertuples(index=False))


def _valuation_date(curve: Curve, where: str) -> dt.date:
    if curve.valuation_date is None:
        msg = f"{where}: the curve needs a valuation date"
        raise ValueError(msg)
    return curve.valuation_date


def _key_years(book: BondBook, curve: Curve, tenors: Sequence[float]) -> FloatArray:
    """Key-rate exposures per 100 face, years times price per 100."""
    risk = book.curve_risk(curve, key_tenors=tenors)
    return np.asarray(risk.krd * risk.present_value[:, None], dtype=np.float64)


def overlay_universe(
    curve: Curve,
    market: OverlayMarket | None = None,
    key_tenors: Sequence[float] = DEFAULT_KEY_TENORS,
) -> OverlayUniverse:
    """Price and risk every overlay instrument off `curve` (see the module notes).

    Swaps are at par (their fixed rate is the par rate today); STRIPS mature the tenor after
    the valuation date. Carry a year per unit: swaps the fixed rate less the floating leg's
    expected accrual over the next year (``1/P(0,1) - 1``); futures the CTD's yield less the
    implied repo rate (what a long pays for financing inside the futures price), times the
    CTD's value per unit; STRIPS their yield (annual compounding).

    Raises
    ------
    ValueError
        If the curve has no valuation date, a tenor is not a key tenor, or a futures row is
        invalid (naming the row and column).
    """
    m = market or OverlayMarket()
    vd = _valuation_date(curve, "overlay_universe")
    swap_tenors, strips_tenors = _overlay_tenors(m, key_tenors)
    move = finite_float(m.swap_margin_move, "overlay_universe: swap_margin_move")
    if not 0.0 <= move < 0.1:
        msg = f"overlay_universe: swap_margin_move {move} must be in [0, 0.1) (a decimal rate)"
        raise ValueError(msg)
    futures = _check_futures(default_futures(vd) if m.futures is None else m.futures, vd)
    book, rows = _instruments(curve, vd, futures, swap_tenors, strips_tenors)
    table = pd.DataFrame(rows, index=pd.Index(book.security_ids, name="instrument"))
    table["funded"] = table["kind"] == "strips"
    dirty = book.dirty_prices(curve)
    kind = table["kind"].to_numpy()
    rate = table["rate"].to_numpy(dtype=float)
    scale = np.full(len(table), 0.01)
    financed = np.zeros(len(table))
    carry = np.zeros(len(table))
    margin = np.zeros(len(table))
    size = np.full(len(table), np.nan)

    swaps = kind == "swap"
    financed[swaps] = 1.0
    carry[swaps] = rate[swaps] - (1.0 / float(curve.discount(1.0)) - 1.0)

    fut = np.flatnonzero(kind == "future")
    cf = futures["conversion_factor"].to_numpy(dtype=float)
    scale[fut] = 0.01 / cf
    financed[fut] = dirty[fut] * scale[fut]
    repo = _implied_repo(futures, book, curve, fut, dirty)
    carry[fut] = (rate[fut] - repo) * financed[fut]
    size[fut] = futures["contract_size"].to_numpy(dtype=float)
    margin[fut] = futures["initial_margin"].to_numpy(dtype=float) / size[fut]

    strips = kind == "strips"
    scale[strips] = 1.0 / dirty[strips]
    carry[strips] = rate[strips]

    exposure = _key_years(book, curve, key_tenors) * scale[:, None]
    margin[swaps] = move * exposure[swaps].sum(axis=1)
    table["value"] = dirty * scale - financed
    table["dv01"] = exposure.sum(axis=1) * 1e-4
    table["carry"] = carry
    table["initial_margin"] = margin
    table["contract_size"] = size
    for j, tenor in enumerate(key_tenors):
        table[krd_column(tenor)] = exposure[:, j]
    return OverlayUniverse(table, book, scale, financed, curve)


def _overlay_tenors(
    market: OverlayMarket, key_tenors: Sequence[float]
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Return the swaps' and STRIPS' tenors: the market's, or the key tenors (swaps from 1y)."""
    swap_tenors = (
        tuple(t for t in key_tenors if t >= 1.0)
        if market.swap_tenors is None
        else market.swap_tenors
    )
    strips_tenors = tuple(key_tenors) if market.strips_tenors is None else market.strips_tenors
    for name, tenors in (("swap_tenors", swap_tenors), ("strips_tenors", strips_tenors)):
        bad = [t for t in tenors if not any(abs(t - k) < 1e-9 for k in key_tenors)]
        if bad:
            msg = f"overlay_universe: {name} {bad} are not key tenors {list(key_tenors)}"
            raise ValueError(msg)
    return tuple(swap_tenors), tuple(strips_tenors)


def _instruments(
    curve: Curve,
    vd: dt.date,
    futures: pd.DataFrame,
    swap_tenors: Sequence[float],
    strips_tenors: Sequence[float],
) -> tuple[BondBook, list[dict[str, object]]]:
    """Build the instruments' fixed legs as one book, and per instrument its kind and rate.

    Swaps at par, each future as its cheapest-to-deliver bond (rate: its yield), STRIPS
    maturing the tenor after `vd` (rate: annually compounded yield).
    """

    def maturity(years: float) -> dt.date:
        return add_months(vd, round(12 * years))

    legs = _FixedLegs(curve, vd)
    rows: list[dict[str, object]] = []
    for t in swap_tenors:
        mat = maturity(t)
        par = legs.swap(f"swap_{t:g}y", mat, None)
        rows.append({"kind": "swap", "tenor": t, "maturity": mat, "rate": par})
    ctd = BondBook.from_frame(
        [
            _bond(f"future_{r.contract}", r.ctd_coupon, r.ctd_maturity, 2, "ACT/ACT ICMA")
            for r in _rows(futures)
        ],
        vd,
    )
    ctd_yield = ctd.analyze(curve).ytm
    for i, r in enumerate(_rows(futures)):
        legs.add(ctd.security_ids[i], *ctd.layout.stream(i))
        rows.append(
            {
                "kind": "future",
                "tenor": act365(vd, r.ctd_maturity),
                "maturity": r.ctd_maturity,
                "rate": float(ctd_yield[i]),
            }
        )
    for t in strips_tenors:
        mat = maturity(t)
        legs.add(f"strips_{t:g}y", [act365(vd, mat)], [100.0])
        p = float(curve.discount(act365(vd, mat)))
        rows.append({"kind": "strips", "tenor": t, "maturity": mat, "rate": p ** (-1.0 / t) - 1.0})
    if not rows:
        msg = "overlay_universe: no instruments (no swap tenors, futures or STRIPS tenors)"
        raise ValueError(msg)
    return legs.book(), rows


def _bond(
    name: str, coupon: float, maturity: dt.date, freq: int, day_count: str
) -> dict[str, object]:
    return {
        "security_id": name,
        "coupon": coupon,
        "maturity": maturity,
        "frequency": freq,
        "day_count": day_count,
        "face": 100.0,
    }


def _check_futures(futures: pd.DataFrame, vd: dt.date) -> pd.DataFrame:
    """Validate the futures table; errors name the row (0-based) and column."""
    if "futures_price" not in futures.columns:
        futures = futures.assign(futures_price=np.nan)
    missing = [c for c in FUTURES_COLUMNS if c not in futures.columns]
    if missing:
        msg = f"overlay futures table: missing column(s) {missing}; have {list(futures.columns)}"
        raise ValueError(msg)
    out = futures.reset_index(drop=True).copy()
    if out["contract"].astype(str).duplicated().any():
        msg = "overlay futures table: column contract has duplicate names"
        raise ValueError(msg)
    for i, r in out.iterrows():
        where = f"overlay futures table: row {i} ({r['contract']})"
        for col in ("contract_size", "conversion_factor", "initial_margin"):
            x = finite_float(r[col], f"{where}, column {col}")
            if x < 0 or (x == 0 and col != "initial_margin"):
                msg = f"{where}, column {col}: {x} must be positive"
                raise ValueError(msg)
        decimal_rate(r["ctd_coupon"], f"{where}, column ctd_coupon")
        delivery = to_date(r["delivery"], f"{where}, column delivery")
        mat = to_date(r["ctd_maturity"], f"{where}, column ctd_maturity")
        if not vd < delivery < mat:
            msg = f"{where}: need valuation date {vd} < delivery {delivery} < CTD maturity {mat}"
            raise ValueError(msg)
        price = r["futures_price"]
        if not pd.isna(price) and finite_float(price, f"{where}, column futures_price") <= 0:
            msg = f"{where}, column futures_price: {price} must be positive (per 100) or empty"
            raise ValueError(msg)
        out.loc[i, "delivery"] = delivery
        out.loc[i, "ctd_maturity"] = mat
    return out


def _implied_repo(
    futures: pd.DataFrame,
    book: BondBook,
    curve: Curve,
    rows: npt.NDArray[np.intp],
    dirty: FloatArray,
) -> FloatArray:
    """Implied repo rate (simple, Act/365F) of buying each CTD and delivering it.

    ``(F * CF + AI(delivery) + coupons before delivery) / dirty - 1`` over the time to
    delivery. Without a futures price the fair price is used: the CTD's forward price off the
    curve, so the implied repo is the curve's simple forward rate to delivery.
    """
    vd = book.valuation_date
    out = np.empty(len(rows))
    for k, (i, r) in enumerate(zip(rows, _rows(futures), strict=True)):
        td = act365(vd, r.delivery)
        times, amounts = book.layout.stream(int(i))
        paid = times <= td
        coupons = float(amounts[paid].sum())
        forward = dirty[i] - float(np.dot(amounts[paid], curve.discount(times[paid])))
        forward /= float(curve.discount(td))
        at_delivery = BondBook.from_frame(
            [_bond("ctd", r.ctd_coupon, r.ctd_maturity, 2, "ACT/ACT ICMA")], r.delivery
        )
        accrued = float(at_delivery.accrued[0])
        invoice = (
            forward
            if pd.isna(r.futures_price)
            else float(r.futures_price) * float(r.conversion_factor) + accrued
        )
        out[k] = ((invoice + coupons) / dirty[i] - 1.0) / td
    return out
