"""QuantLib objects that mirror fialloc's conventions (test-only reference), and the random inputs
the reference tests and benchmarks compare the two libraries on.

Every date QuantLib needs is built from QuantLib's own date arithmetic (tenors, schedules, day
counters), never from fialloc's schedule code, so the two sides share only the inputs. No
holiday calendar anywhere:

- curves: Act/365F times; deposits are ``DepositRateHelper`` (simple rate, Act/365F, no fixing
  days); par swaps and par bonds are ``FixedRateBondHelper`` priced at 100 on a backward,
  unadjusted schedule without end-of-month rule (coupons on the quote's day count: swaps
  Act/365F, par bonds ActualActual(ISMA) unless the quote says otherwise);
- bonds: a coupon bond's schedule starts at the regular coupon date on or before the valuation
  date (fialloc keeps no issue date, so the first period is regular); settlement is the
  valuation date;
- spreads: continuously compounded on Act/365F (``ZeroSpreadedTermStructure``); key-rate tents
  are linear zero-spreads between whole-day key dates (``PiecewiseZeroSpreadedTermStructure``,
  flat outside), which is fialloc's tent.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pytest

# QuantLib is a test-only dependency: skip where it is missing, but let mypy see its names
# (``ql.Date`` in annotations), which an ``importorskip`` result hides.
if TYPE_CHECKING:
    import QuantLib as ql
else:
    ql = pytest.importorskip("QuantLib")

FREQ = {1: ql.Annual, 2: ql.Semiannual, 4: ql.Quarterly, 12: ql.Monthly}
TENOR_UNITS = {"D": ql.Days, "W": ql.Weeks, "M": ql.Months, "Y": ql.Years}
# fialloc's defaults for quotes that name no frequency or day count.
QUOTE_FREQ = {"swap": 1, "par_bond": 2}
QUOTE_DAY_COUNT = {"swap": "ACT/365F", "par_bond": "ACT/ACT ICMA"}


# ---- dates and conventions --------------------------------------------------------------------


def qdate(d: dt.date | ql.Date) -> ql.Date:
    return d if isinstance(d, ql.Date) else ql.Date(d.day, d.month, d.year)


def pydate(d: ql.Date) -> dt.date:
    return dt.date(d.year(), d.month(), d.dayOfMonth())


def set_evaluation_date(d: dt.date) -> None:
    ql.Settings.instance().evaluationDate = qdate(d)


def period(tenor: str) -> ql.Period:
    return ql.Period(int(tenor[:-1]), TENOR_UNITS[tenor[-1]])


def schedule(start: dt.date | ql.Date, end: dt.date | ql.Date, freq: int) -> ql.Schedule:
    """Backward, unadjusted schedule without end-of-month rule."""
    return ql.Schedule(
        qdate(start),
        qdate(end),
        ql.Period(FREQ[freq]),
        ql.NullCalendar(),
        ql.Unadjusted,
        ql.Unadjusted,
        ql.DateGeneration.Backward,
        False,
    )


def day_counter(name: str) -> ql.DayCounter:
    return {
        "ACT/365F": ql.Actual365Fixed(),
        "ACT/360": ql.Actual360(),
        "ACT/ACT ISDA": ql.ActualActual(ql.ActualActual.ISDA),
        "ACT/ACT ICMA": ql.ActualActual(ql.ActualActual.ISMA),
        "30/360": ql.Thirty360(ql.Thirty360.BondBasis),
        "30E/360": ql.Thirty360(ql.Thirty360.European),
    }[name]


def month_end_or(year: int, month: int, day: int) -> dt.date:
    """`day` of the month, or the month's last day when the month is shorter."""
    while True:
        try:
            return dt.date(year, month, day)
        except ValueError:
            day -= 1


# ---- curves -----------------------------------------------------------------------------------


def discount_curve(curve, valuation: dt.date) -> ql.YieldTermStructureHandle:
    """QuantLib curve through fialloc's pillars (whole days) with the same interpolation.

    Log-linear curves become a ``DiscountCurve``, natural cubic ones a
    ``NaturalCubicZeroCurve``; both hold the instantaneous forward flat beyond the last pillar
    (QuantLib 1.44), like fialloc's default extrapolation.
    """
    days = np.rint(curve.pillar_times * 365.0).astype(int)
    assert np.array_equal(days / 365.0, curve.pillar_times), "pillars off whole days"
    dates = [qdate(valuation)] + [qdate(valuation + dt.timedelta(days=int(d))) for d in days]
    if curve.interpolation == "log_linear":
        ts = ql.DiscountCurve(dates, [1.0, *np.exp(curve.log_dfs)], ql.Actual365Fixed())
    else:
        zeros = -curve.log_dfs / curve.pillar_times
        ts = ql.NaturalCubicZeroCurve(dates, [zeros[0], *zeros], ql.Actual365Fixed())
    ts.enableExtrapolation()
    return ql.YieldTermStructureHandle(ts)


def spreaded(handle, spread: float | ql.SimpleQuote) -> ql.YieldTermStructureHandle:
    """`handle` plus a zero spread (continuous, Act/365F); a SimpleQuote spread can be moved."""
    quote = spread if isinstance(spread, ql.SimpleQuote) else ql.SimpleQuote(spread)
    ts = ql.ZeroSpreadedTermStructure(
        handle, ql.QuoteHandle(quote), ql.Continuous, ql.NoFrequency, ql.Actual365Fixed()
    )
    ts.enableExtrapolation()
    return ql.YieldTermStructureHandle(ts)


def tented(handle, valuation: dt.date, key_days, bumps: list) -> ql.YieldTermStructureHandle:
    """`handle` plus key-rate tents: zero spreads `bumps` (SimpleQuotes) at the key days."""
    dates = [qdate(valuation + dt.timedelta(days=int(d))) for d in key_days]
    ts = ql.PiecewiseZeroSpreadedTermStructure(
        handle,
        [ql.QuoteHandle(b) for b in bumps],
        dates,
        ql.Continuous,
        ql.NoFrequency,
        ql.Actual365Fixed(),
    )
    ts.enableExtrapolation()
    return ql.YieldTermStructureHandle(ts)


def rate_helpers(quotes: list[dict], valuation: dt.date, simple_quotes: list | None = None) -> list:
    """QuantLib rate helpers for fialloc quote records (kind, tenor, rate, frequency, day_count).

    One SimpleQuote per quote is appended to `simple_quotes` when given: moving a deposit's
    forces a re-bootstrap (a par instrument's coupon is fixed when the helper is built).
    """
    vd = qdate(valuation)
    helpers = []
    for q in quotes:
        simple = ql.SimpleQuote(q["rate"])
        if simple_quotes is not None:
            simple_quotes.append(simple)
        if q["kind"] == "deposit":
            helpers.append(
                ql.DepositRateHelper(
                    ql.QuoteHandle(simple),
                    period(q["tenor"]),
                    0,
                    ql.NullCalendar(),
                    ql.Unadjusted,
                    False,
                    ql.Actual365Fixed(),
                )
            )
            continue
        # A par instrument: coupon `simple` priced at 100.
        helpers.append(
            ql.FixedRateBondHelper(
                ql.QuoteHandle(ql.SimpleQuote(100.0)),
                0,
                100.0,
                schedule(vd, vd + period(q["tenor"]), q.get("frequency", QUOTE_FREQ[q["kind"]])),
                [q["rate"]],
                day_counter(q.get("day_count", QUOTE_DAY_COUNT[q["kind"]])),
                ql.Unadjusted,
                100.0,
            )
        )
    return helpers


_DENSE_SHORT = ["1W", "1M", "2M", "3M", "6M", "9M", "1Y", "18M", "2Y", "3Y", "4Y", "5Y", "6Y"]
_DENSE_LONG = ["7Y", "8Y", "9Y", "10Y", "12Y", "15Y", "20Y", "25Y", "30Y", "40Y"]
TENOR_SETS = {
    "standard": ["1M", "3M", "6M", "1Y", "2Y", "3Y", "5Y", "7Y", "10Y", "15Y", "20Y", "30Y"],
    "sparse": ["3M", "6M", "1Y", "2Y", "5Y", "10Y", "30Y"],
    "dense": [*_DENSE_SHORT, *_DENSE_LONG],
    "long": ["1M", "3M", "6M", "1Y", "2Y", "3Y", "5Y", "7Y", "10Y", "15Y", "20Y", "30Y", "50Y"],
    "short": ["2W", "1M", "3M", "6M", "1Y", "2Y", "3Y", "4Y", "5Y"],
    "gaps": [*_DENSE_SHORT[:9], "4Y", "6Y", "8Y", "12Y", "25Y", "40Y"],
}
# QuantLib's spline bootstrap often fails to bracket a root across a long last gap (30y to 50y,
# 25y to 40y), so spline curves are compared on tenor sets without one.
SPLINE_SETS = ("standard", "sparse", "dense", "short")


def random_quotes(rng, tenors: list[str], with_par_bonds: bool) -> list[dict]:
    """Quotes at levels within 0.5%-8%: deposits below 1Y, then swaps and par bonds."""
    level = rng.uniform(0.005, 0.08)
    rates = np.clip(level + np.cumsum(rng.normal(0.0, 0.004, len(tenors))), 0.005, 0.08)
    quotes = []
    for tenor, rate in zip(tenors, rates, strict=True):
        rate = float(np.round(rate, 6))
        months = {"D": 0, "W": 0, "M": 1, "Y": 12}[tenor[-1]] * int(tenor[:-1])
        if months < 12:
            quotes.append({"kind": "deposit", "tenor": tenor, "rate": rate})
        elif with_par_bonds and rng.random() < 0.4:
            freq = int(rng.choice([1, 2, 4]))
            quotes.append({"kind": "par_bond", "tenor": tenor, "rate": rate, "frequency": freq})
        else:
            freq = int(rng.choice([1, 2, 4, 12]))
            quotes.append({"kind": "swap", "tenor": tenor, "rate": rate, "frequency": freq})
    return quotes


# ---- bonds ------------------------------------------------------------------------------------


def bond(row, valuation: dt.date):
    """QuantLib bond equal to one row of a fialloc bond table, face 100."""
    maturity = qdate(row["maturity"])
    if row["frequency"] == 0:
        return ql.ZeroCouponBond(
            0, ql.NullCalendar(), 100.0, maturity, ql.Unadjusted, 100.0, qdate(valuation)
        )
    months = 12 // row["frequency"]
    k = 1
    while maturity - ql.Period(k * months, ql.Months) > qdate(valuation):
        k += 1
    start = maturity - ql.Period(k * months, ql.Months)  # regular coupon date on or before
    sch = schedule(start, maturity, row["frequency"])
    assert all(sch.isRegular(j) for j in range(1, len(sch)))
    return ql.FixedRateBond(0, 100.0, sch, [row["coupon"]], day_counter(row["day_count"]))


# ---- comparison -------------------------------------------------------------------------------


def check(name, calculated, expected, tol, *, rel=False, labels=None) -> None:
    """Assert max |calculated - expected| (relative if `rel`) <= tol; report the worst case."""
    calc = np.atleast_1d(np.asarray(calculated, dtype=np.float64)).ravel()
    exp = np.atleast_1d(np.asarray(expected, dtype=np.float64)).ravel()
    assert calc.shape == exp.shape, f"{name}: {calc.shape} calculated vs {exp.shape} expected"
    diff = np.abs(calc - exp)
    if rel:
        diff = diff / np.maximum(np.abs(exp), 1e-300)
    worst = int(np.argmax(diff))
    where = f" ({labels[worst]})" if labels is not None else f" (entry {worst})"
    assert diff[worst] <= tol, (
        f"{name}{where}: calculated {calc[worst]!r}, expected {exp[worst]!r}, "
        f"difference {calc[worst] - exp[worst]:.3e}{' relative ' if rel else ' '}"
        f"{diff[worst]:.3e} > tolerance {tol:g}"
    )
