"""Textbook worked examples, pinned to the digits published."""

import datetime as dt
import math

import pandas as pd
import pytest

from fialloc import BondBook, Curve

VD = dt.date(2026, 1, 15)


def _book(coupon, years, freq):
    return BondBook.from_frame(
        pd.DataFrame(
            [
                {
                    "security_id": "X",
                    "coupon": coupon,
                    "maturity": dt.date(VD.year + years, VD.month, VD.day),
                    "frequency": freq,
                    "day_count": "ACT/ACT ICMA",
                    "face": 100.0,
                }
            ]
        ),
        VD,
    )


def test_hull_three_year_ten_percent_bond():
    # Hull, Options, Futures and Other Derivatives: a 3-year 10% semiannual bond at a 12%
    # continuously compounded yield prices at 94.213 with duration 2.653 years.
    semiannual = 2 * (math.exp(0.12 / 2) - 1)  # the same yield, compounded twice a year
    a = _book(0.10, 3, 2).analyze(Curve.flat(0.04, VD), yield_=semiannual)
    assert round(float(a.dirty_price[0]), 3) == 94.213
    assert round(float(a.macaulay_duration[0]), 3) == 2.653


def test_four_year_five_percent_annual_par_bond():
    # A 4-year 5% annual bond at a 5% yield is at par with Macaulay duration 3.72325 years.
    a = _book(0.05, 4, 1).analyze(Curve.flat(0.04, VD), yield_=0.05)
    assert float(a.dirty_price[0]) == pytest.approx(100.0, abs=1e-12)
    assert round(float(a.macaulay_duration[0]), 5) == 3.72325
    assert float(a.modified_duration[0]) == pytest.approx(3.72325 / 1.05, abs=1e-5)


def test_zero_coupon_macaulay_duration_is_its_maturity():
    a = _book(0.0, 7, 0).analyze(Curve.flat(0.03, VD))
    assert float(a.macaulay_duration[0]) == pytest.approx(7.0, abs=1e-12)
