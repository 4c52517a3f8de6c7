"""Worked examples from textbooks, pinned to the digits they are published with.

Each example is priced from its yield on an ACT/ACT ICMA bond whose valuation date is a coupon
date, so yield times are exact whole coupon periods, as in the books. The curve passed to
``analyze`` only sets the z-spread and plays no part in the pinned numbers.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from fialloc import BondBook, Curve

VD = dt.date(2026, 1, 15)


def analyze(coupon: float, years: int, frequency: int, yield_: float):
    row = {
        "security_id": "X",
        "coupon": coupon,
        "maturity": dt.date(VD.year + years, VD.month, VD.day),
        "frequency": frequency,
        "day_count": "ACT/ACT ICMA",
        "face": 100.0,
    }
    return BondBook.from_frame(pd.DataFrame([row]), VD).analyze(Curve.flat(0.04, VD), yield_=yield_)


def pinned(name: str, calculated: float, published: float, decimals: int) -> None:
    """`calculated` rounds to the `published` figure at its `decimals` places."""
    calculated = float(calculated)
    assert round(calculated, decimals) == published, (
        f"{name}: calculated {calculated!r}, published {published} ({decimals} decimals), "
        f"difference {calculated - published:.3e}"
    )


# Hull, Options, Futures, and Other Derivatives, ch. 4 (bonds, duration and convexity): a
# 3-year bond with a 10% coupon paid semiannually, at a yield of 12% a year with continuous
# compounding. The same yield compounded semiannually, 2 (e^0.06 - 1), discounts each half
# year exactly as e^(-0.12 t) does.
HULL_YIELD = 2.0 * (math.exp(0.06) - 1.0)


def test_hull_semiannual_equivalent_of_twelve_percent_continuous():
    pinned("semiannual yield (%)", 100.0 * HULL_YIELD, 12.3673, 4)


def test_hull_price_and_duration():
    a = analyze(0.10, 3, 2, HULL_YIELD)
    pinned("Hull bond price", a.dirty_price[0], 94.213, 3)
    pinned("Hull duration", a.macaulay_duration[0], 2.653, 3)
    # The bond is on a coupon date: no accrued interest, clean = dirty.
    assert a.accrued[0] == 0.0
    assert a.clean_price[0] == a.dirty_price[0]


def test_hull_modified_duration():
    # Hull: with semiannual compounding the modified duration is 2.653 / 1.0618365 = 2.4985.
    a = analyze(0.10, 3, 2, HULL_YIELD)
    pinned("Hull modified duration", a.modified_duration[0], 2.4985, 4)


def test_hull_convexity():
    # Hull's convexity (continuous compounding) is sum c_i t_i^2 e^(-y t_i) / B = 7.570. fialloc
    # reports convexity in the bond's own compounding, C_f = sum c_i t_i (t_i + 1/f) v_i / B /
    # (1 + y/f)^2, so C_f (1 + y/f)^2 - D / f recovers the continuous figure.
    a = analyze(0.10, 3, 2, HULL_YIELD)
    continuous = a.convexity[0] * (1 + HULL_YIELD / 2) ** 2 - a.macaulay_duration[0] / 2
    pinned("Hull convexity", continuous, 7.570, 3)


def test_hull_price_after_ten_basis_points():
    # Hull: at a 12.1% continuously compounded yield the bond is worth 93.963, which the
    # duration estimate 94.213 - 94.213 * 2.653 * 0.001 = 93.963 reproduces.
    a = analyze(0.10, 3, 2, 2.0 * (math.exp(0.0605) - 1.0))
    pinned("Hull bond price at 12.1%", a.dirty_price[0], 93.963, 3)


# A 4-year bond with a 5% annual coupon at a 5% yield: price 100 and Macaulay duration
# 3.72325 years (the standard classroom example of a par bond's duration).


def test_four_year_five_percent_annual_par_bond():
    a = analyze(0.05, 4, 1, 0.05)
    assert a.dirty_price[0] == pytest.approx(100.0, abs=1e-12)
    pinned("par bond Macaulay duration", a.macaulay_duration[0], 3.72325, 5)
    assert a.modified_duration[0] == pytest.approx(a.macaulay_duration[0] / 1.05, rel=1e-14)


# Fabozzi, Bond Markets, Analysis, and Strategies: a 9% 20-year semiannual bond at a 6% yield
# is priced at 134.6722 with a modified duration of 10.66; and the six hypothetical bonds of its
# price volatility chapter, all at a 9% yield (semiannual compounding).


def test_fabozzi_nine_percent_twenty_year_bond_at_six_percent():
    a = analyze(0.09, 20, 2, 0.06)
    pinned("Fabozzi price", a.dirty_price[0], 134.6722, 4)
    pinned("Fabozzi modified duration", a.modified_duration[0], 10.66, 2)


@pytest.mark.parametrize(
    ("coupon", "years", "price", "modified"),
    [
        (0.09, 5, 100.0000, 3.96),
        (0.09, 25, 100.0000, 9.88),
        (0.06, 5, 88.1309, 4.16),
        (0.06, 25, 70.3570, 10.62),
        (0.00, 5, 64.3928, 4.78),  # zero coupon, on a semiannual basis like the others
        (0.00, 25, 11.0710, 23.92),
    ],
)
def test_fabozzi_six_bonds_at_nine_percent(coupon, years, price, modified):
    a = analyze(coupon, years, 2, 0.09)
    pinned(f"Fabozzi {coupon:.0%} {years}y price", a.dirty_price[0], price, 4)
    pinned(f"Fabozzi {coupon:.0%} {years}y modified duration", a.modified_duration[0], modified, 2)


def test_zero_coupon_bond_duration_is_its_maturity():
    # A zero-coupon bond (frequency 0) compounds annually in fialloc: 100 / 1.05^7.
    a = analyze(0.0, 7, 0, 0.05)
    assert a.dirty_price[0] == pytest.approx(100.0 / 1.05**7, rel=1e-14)
    assert a.macaulay_duration[0] == pytest.approx(7.0, abs=1e-12)
    assert a.modified_duration[0] == pytest.approx(7.0 / 1.05, abs=1e-12)
