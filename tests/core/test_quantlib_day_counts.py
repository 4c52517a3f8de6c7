"""Day counts against QuantLib's day counters (an independent reference).

fialloc's ``ACT/365F``, ``ACT/360``, ``ACT/ACT ISDA``, ``30/360`` (bond basis) and ``30E/360``
(Eurobond basis) are compared with ``Actual365Fixed``, ``Actual360``, ``ActualActual(ISDA)``,
``Thirty360(BondBasis)`` and ``Thirty360(European)`` on random date pairs that favour month
ends, the 29th-31st, February and year ends; ``ACT/ACT ICMA`` with ``ActualActual(ISMA)`` on
dates inside a regular coupon period. Accrued interest and prices of bonds on every day count
are compared in ``test_quantlib_bonds``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from fialloc.schedule import DAY_COUNTS, add_months, normalize_day_count, year_fraction

qlh = pytest.importorskip("quantlib_helpers")
ql = qlh.ql
check = qlh.check

pytestmark = pytest.mark.reference

YF_TOL = 1e-15  # year fractions, absolute


def random_date(rng) -> dt.date:
    year = int(rng.integers(1995, 2080))
    month = int(rng.integers(1, 13))
    day = int(rng.choice([1, 15, 27, 28, 29, 30, 31, int(rng.integers(1, 32))]))
    return qlh.month_end_or(year, month, day)


def date_pairs(rng, n: int) -> list[tuple[dt.date, dt.date]]:
    pairs = []
    for _ in range(n):
        start = random_date(rng)
        if rng.random() < 0.5:  # near: inside a coupon period, across a month or year end
            end = start + dt.timedelta(days=int(rng.integers(0, 200)))
        else:
            end = random_date(rng)
        pairs.append((start, end) if end >= start else (end, start))
    return pairs


@pytest.mark.parametrize("day_count", [d for d in DAY_COUNTS if d != "ACT/ACT ICMA"])
def test_year_fractions_match_quantlib(day_count):
    rng = np.random.default_rng(1400 + DAY_COUNTS.index(day_count))
    pairs = date_pairs(rng, 2000)
    ref = qlh.day_counter(day_count)
    check(
        f"{day_count} year fractions",
        [year_fraction(a, b, day_count) for a, b in pairs],
        [ref.yearFraction(qlh.qdate(a), qlh.qdate(b)) for a, b in pairs],
        YF_TOL,
        labels=[f"{a} to {b}" for a, b in pairs],
    )


@pytest.mark.parametrize("frequency", [1, 2, 4, 12])
def test_act_act_icma_inside_a_coupon_period_matches_quantlib(frequency):
    rng = np.random.default_rng(1500 + frequency)
    ref = qlh.day_counter("ACT/ACT ICMA")
    ours, expected, labels = [], [], []
    for _ in range(500):
        period_end = random_date(rng)
        period_start = add_months(period_end, -12 // frequency)
        days = (period_end - period_start).days
        a = period_start + dt.timedelta(days=int(rng.integers(0, days + 1)))
        b = a + dt.timedelta(days=int(rng.integers(0, (period_end - a).days + 1)))
        ours.append(year_fraction(a, b, "ACT/ACT ICMA", period_start, period_end, frequency))
        expected.append(
            ref.yearFraction(
                qlh.qdate(a), qlh.qdate(b), qlh.qdate(period_start), qlh.qdate(period_end)
            )
        )
        labels.append(f"{a} to {b} in {period_start}..{period_end}")
    check(f"ACT/ACT ICMA, {frequency} a year", ours, expected, YF_TOL, labels=labels)


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("A/360", "ACT/360"),
        ("Actual/360", "ACT/360"),
        ("act/360", "ACT/360"),
        ("ACT/ACT ISDA", "ACT/ACT ISDA"),
        ("Actual/Actual (ISDA)", "ACT/ACT ISDA"),
        ("act/act", "ACT/ACT ICMA"),
        ("Actual/Actual (ICMA)", "ACT/ACT ICMA"),
        ("30E/360", "30E/360"),
        ("30/360 Eurobond Basis", "30E/360"),
        ("30/360", "30/360"),
        ("Actual/365 Fixed", "ACT/365F"),
        ("A/365F", "ACT/365F"),
    ],
)
def test_day_count_spellings(spelling, canonical):
    assert normalize_day_count(spelling) == canonical


def test_unknown_day_count_names_the_choices():
    with pytest.raises(ValueError, match=r"row 3.*'ACT/999'.*ACT/360"):
        normalize_day_count("ACT/999", "row 3")
