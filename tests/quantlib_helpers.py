"""Builders of QuantLib objects that mirror fialloc's conventions (test-only reference)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

ql = pytest.importorskip("QuantLib")

FREQ = {1: ql.Annual, 2: ql.Semiannual, 4: ql.Quarterly, 12: ql.Monthly}


def qdate(d: dt.date) -> ql.Date:
    return ql.Date(d.day, d.month, d.year)


def set_evaluation_date(d: dt.date) -> None:
    ql.Settings.instance().evaluationDate = qdate(d)


def schedule(start: dt.date, maturity: dt.date, freq: int) -> ql.Schedule:
    return ql.Schedule(
        qdate(start),
        qdate(maturity),
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
        "30/360": ql.Thirty360(ql.Thirty360.BondBasis),
        "ACT/ACT ICMA": ql.ActualActual(ql.ActualActual.ISMA),
    }[name]


def discount_curve(curve, valuation: dt.date) -> ql.YieldTermStructureHandle:
    """QuantLib log-linear discount curve through fialloc's pillars (whole-day times only)."""
    days = np.rint(curve.pillar_times * 365.0).astype(int)
    assert np.allclose(days / 365.0, curve.pillar_times, atol=1e-14)
    dates = [qdate(valuation)] + [qdate(valuation + dt.timedelta(days=int(d))) for d in days]
    dfs = [1.0, *np.exp(curve.log_dfs)]
    ts = ql.DiscountCurve(dates, dfs, ql.Actual365Fixed())
    ts.enableExtrapolation()
    return ql.YieldTermStructureHandle(ts)


def spreaded(handle, z: float) -> ql.YieldTermStructureHandle:
    ts = ql.ZeroSpreadedTermStructure(
        handle,
        ql.QuoteHandle(ql.SimpleQuote(z)),
        ql.Continuous,
        ql.NoFrequency,
        ql.Actual365Fixed(),
    )
    ts.enableExtrapolation()
    return ql.YieldTermStructureHandle(ts)


def tent_bumped(handle, valuation: dt.date, key_days: list[int], index: int, bump: float):
    spreads = [
        ql.QuoteHandle(ql.SimpleQuote(bump if i == index else 0.0)) for i in range(len(key_days))
    ]
    dates = [qdate(valuation + dt.timedelta(days=d)) for d in key_days]
    ts = ql.PiecewiseZeroSpreadedTermStructure(
        handle, spreads, dates, ql.Continuous, ql.NoFrequency, ql.Actual365Fixed()
    )
    ts.enableExtrapolation()
    return ql.YieldTermStructureHandle(ts)


def bond(row, valuation: dt.date, first_accrual: dt.date):
    """QuantLib bond equal to one row of a fialloc bond table (face 100)."""
    if row["frequency"] == 0:
        return ql.ZeroCouponBond(
            0,
            ql.NullCalendar(),
            100.0,
            qdate(row["maturity"]),
            ql.Unadjusted,
            100.0,
            qdate(valuation),
        )
    sch = schedule(first_accrual, row["maturity"], row["frequency"])
    return ql.FixedRateBond(0, 100.0, sch, [row["coupon"]], day_counter(row["day_count"]))


def rate_helpers(quotes, valuation: dt.date, simple_quotes: list | None = None) -> list:
    """QuantLib rate helpers for fialloc's CurveQuote records (same conventions).

    The SimpleQuote behind each rate is appended to `simple_quotes` when given, so a caller can
    move a quote and force a re-bootstrap.
    """
    helpers = []
    for q in quotes:
        simple = ql.SimpleQuote(q.rate)
        if simple_quotes is not None:
            simple_quotes.append(simple)
        quote = ql.QuoteHandle(simple)
        if q.kind == "deposit":
            days = (q.maturity - valuation).days
            helpers.append(
                ql.DepositRateHelper(
                    quote,
                    ql.Period(days, ql.Days),
                    0,
                    ql.NullCalendar(),
                    ql.Unadjusted,
                    False,
                    ql.Actual365Fixed(),
                )
            )
            continue
        sch = schedule(valuation, q.maturity, q.frequency)
        dc = (
            ql.Actual365Fixed()
            if q.day_count == "ACT/365F"
            else ql.ActualActual(ql.ActualActual.ISMA, sch)
        )
        helpers.append(
            ql.FixedRateBondHelper(
                ql.QuoteHandle(ql.SimpleQuote(100.0)),
                0,
                100.0,
                sch,
                [q.rate],
                dc,
                ql.Unadjusted,
                100.0,
            )
        )
    return helpers
