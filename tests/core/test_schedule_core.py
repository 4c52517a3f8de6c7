"""Curve-instrument schedules in the compiled core against fialloc.schedule in Python, and the
one-call quotes-to-curve bootstrap against the two steps it fuses.

The core repeats the Python date arithmetic operation for operation, so the two must give the
same doubles (compared bitwise) on random instruments, valuation dates on month ends and leap
days included; both are checked against QuantLib in test_quantlib_curves.py and
test_quantlib_day_counts.py.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest

from fialloc import _core
from fialloc.schedule import DAY_COUNTS, act365, backward_dates, year_fraction

SPECIAL_DATES = [
    dt.date(2024, 2, 29),
    dt.date(2023, 1, 31),
    dt.date(2026, 8, 31),
    dt.date(2000, 2, 29),
]


def python_flows(valuation, maturity, freq, day_count):
    """Times, accruals and principal per unit notional, from the Python schedule functions."""
    if freq == 0:
        tau = year_fraction(valuation, maturity, day_count, frequency=1)
        return [act365(valuation, maturity)], [tau], [1.0]
    dates = backward_dates(maturity, 12 // freq, valuation)
    times, accruals = [], []
    for k in range(1, len(dates)):
        ref_start, end = dates[k - 1], dates[k]
        start = max(ref_start, valuation)
        accruals.append(year_fraction(start, end, day_count, ref_start, end, freq))
        times.append(act365(valuation, end))
    return times, accruals, [0.0] * (len(times) - 1) + [1.0]


@pytest.mark.parametrize("seed", range(30))
def test_core_schedules_are_bitwise_the_python_ones(seed):
    rng = np.random.default_rng(seed)
    valuation = (
        SPECIAL_DATES[seed % len(SPECIAL_DATES)]
        if seed < 8
        else dt.date(1990, 1, 1) + dt.timedelta(days=int(rng.integers(0, 20000)))
    )
    n = int(rng.integers(1, 25))
    maturities, freqs, codes = [], [], []
    for _ in range(n):
        freq = int(rng.choice([0, 1, 2, 4, 12]))
        code = int(rng.integers(0, 6))
        if freq == 0 and DAY_COUNTS[code] == "ACT/ACT ICMA":
            code = 0
        days = int(rng.integers(1, 60 * 366))
        maturities.append(valuation + dt.timedelta(days=days))
        freqs.append(freq)
        codes.append(code)
    offsets, times, accruals, principal = _core.instrument_flows(
        valuation.toordinal(),
        np.array([m.toordinal() for m in maturities], dtype=np.int64),
        np.array(freqs, dtype=np.int64),
        np.array(codes, dtype=np.int64),
    )
    for i, (m, f, c) in enumerate(zip(maturities, freqs, codes, strict=True)):
        t, a, p = python_flows(valuation, m, f, DAY_COUNTS[c])
        lo, hi = offsets[i], offsets[i + 1]
        np.testing.assert_array_equal(times[lo:hi], t, err_msg=f"{m} {f} {DAY_COUNTS[c]}")
        np.testing.assert_array_equal(accruals[lo:hi], a, err_msg=f"{m} {f} {DAY_COUNTS[c]}")
        np.testing.assert_array_equal(principal[lo:hi], p)


def test_core_schedules_refuse_bad_instruments_by_name():
    vd = dt.date(2026, 1, 15).toordinal()

    def call(maturity, freq, code):
        i64 = lambda x: np.array([x], dtype=np.int64)  # noqa: E731
        return _core.instrument_flows(vd, i64(maturity), i64(freq), i64(code))

    with pytest.raises(ValueError, match=r"instrument 0 matures on ordinal .* not after"):
        call(vd, 1, 0)
    with pytest.raises(ValueError, match="instrument 0 has frequency 3"):
        call(vd + 400, 3, 0)
    with pytest.raises(ValueError, match="instrument 0 has day-count code 6"):
        call(vd + 400, 1, 6)
    with pytest.raises(ValueError, match="deposit: ACT/ACT ICMA needs a coupon schedule"):
        call(vd + 400, 0, DAY_COUNTS.index("ACT/ACT ICMA"))
    with pytest.raises(ValueError, match="one each per instrument"):
        _core.instrument_flows(
            vd, np.array([vd + 1], dtype=np.int64), np.zeros(2, np.int64), np.zeros(1, np.int64)
        )
    with pytest.raises(ValueError, match="`valuation` ordinal 0 is not a date"):
        _core.instrument_flows(
            0, np.array([5], dtype=np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64)
        )


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("interpolation", range(4))
def test_quotes_to_curve_in_one_call_is_bitwise_the_two_step_bootstrap(seed, interpolation):
    # bootstrap_quotes = instrument_flows, flows rate * accrual + principal, bootstrap_curve.
    rng = np.random.default_rng(seed)
    valuation = dt.date(2000, 1, 1) + dt.timedelta(days=int(rng.integers(0, 10000)))
    n = int(rng.integers(1, 14))
    days = np.sort(rng.choice(np.arange(20, 40 * 365), n, replace=False))
    maturities = np.array([valuation.toordinal() + int(d) for d in days], dtype=np.int64)
    freqs = np.array([0 if d < 365 else int(rng.choice([1, 2, 4])) for d in days], np.int64)
    codes = np.array([0 if f == 0 else int(rng.choice([0, 3, 4])) for f in freqs], np.int64)
    rates = rng.uniform(0.01, 0.06, n)
    vd = valuation.toordinal()
    offsets, times, accruals, principal = _core.instrument_flows(vd, maturities, freqs, codes)
    amounts = np.repeat(rates, np.diff(offsets)) * accruals + principal
    try:
        reference = _core.bootstrap_curve(offsets, times, amounts, np.ones(n), interpolation)
    except ValueError as refused:  # a random set may have no curve: refused alike
        with pytest.raises(type(refused), match=re.escape(str(refused))):
            _core.bootstrap_quotes(vd, maturities, freqs, codes, rates, interpolation)
        return
    *schedule, pillars, log_dfs = _core.bootstrap_quotes(
        vd, maturities, freqs, codes, rates, interpolation
    )
    for ours, theirs in zip(schedule, (offsets, times, accruals, principal), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(pillars, reference[0])
    np.testing.assert_array_equal(log_dfs, reference[1])


def test_quotes_to_curve_refuses_bad_rates_by_name():
    vd = dt.date(2026, 1, 15).toordinal()
    maturities = np.array([vd + 365, vd + 730], dtype=np.int64)
    ones = np.ones(2, dtype=np.int64)
    zeros = np.zeros(2, dtype=np.int64)
    with pytest.raises(ValueError, match="`rates` has 1 entries for 2 instruments"):
        _core.bootstrap_quotes(vd, maturities, ones, zeros, np.array([0.04]), 0)
    with pytest.raises(ValueError, match="`rates` of instrument 1 is nan"):
        _core.bootstrap_quotes(vd, maturities, ones, zeros, np.array([0.04, np.nan]), 0)
    with pytest.raises(ValueError, match="instrument 0 has frequency 3"):
        _core.bootstrap_quotes(vd, maturities, 3 * ones, zeros, np.array([0.04, 0.04]), 0)
