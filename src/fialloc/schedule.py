"""Dates, tenors, day counts and unadjusted coupon schedules.

Everything here turns calendar facts into the year fractions the numeric core works in.
Schedules are unadjusted (no holiday calendar) and generated backward from maturity, each date
being ``maturity - k * period`` with the day clamped to the month's end, as QuantLib's
``Schedule`` does with ``DateGeneration.Backward``, ``NullCalendar`` and ``Unadjusted``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Final

import numpy as np
import pandas as pd

DAY_COUNTS: Final = ("ACT/365F", "30/360", "ACT/ACT ICMA")
FREQUENCIES: Final = (0, 1, 2, 4, 12)

_DAY_COUNT_ALIASES: Final = {
    "ACT/365F": "ACT/365F",
    "ACT/365": "ACT/365F",
    "ACT/365 FIXED": "ACT/365F",
    "ACTUAL/365F": "ACT/365F",
    "ACTUAL/365 FIXED": "ACT/365F",
    "30/360": "30/360",
    "30/360 BOND": "30/360",
    "30/360 BOND BASIS": "30/360",
    "ACT/ACT ICMA": "ACT/ACT ICMA",
    "ACT/ACT ISMA": "ACT/ACT ICMA",
    "ACT/ACT": "ACT/ACT ICMA",
    "ACTUAL/ACTUAL ICMA": "ACT/ACT ICMA",
}
_TENOR = re.compile(r"^\s*(\d+)\s*([DWMY])\s*$", re.IGNORECASE)


def normalize_day_count(name: object, where: str = "day_count") -> str:
    """Return the canonical day-count name (``ACT/365F``, ``30/360`` or ``ACT/ACT ICMA``).

    Raises
    ------
    ValueError
        If the name is not a known day count; the message names `where`.
    """
    key = str(name).strip().upper()
    if key not in _DAY_COUNT_ALIASES:
        msg = f"{where}: unknown day count {name!r}; expected one of {', '.join(DAY_COUNTS)}"
        raise ValueError(msg)
    return _DAY_COUNT_ALIASES[key]


def to_date(value: object, where: str) -> dt.date:
    """Convert a date-like value (``date``, ``datetime``, Timestamp, ``"YYYY-MM-DD"``) to a date."""
    if value is pd.NaT or (isinstance(value, np.datetime64) and np.isnat(value)):
        # NaT passes the datetime checks below but is no date; a blank date in a table.
        msg = f"{where}: expected a date as YYYY-MM-DD, got a missing date (NaT)"
        raise ValueError(msg)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    msg = f"{where}: expected a date as YYYY-MM-DD, got {value!r}"
    raise ValueError(msg)


def add_months(d: dt.date, months: int) -> dt.date:
    """Shift `d` by a whole number of months, clamping the day to the target month's end."""
    total = d.year * 12 + (d.month - 1) + months
    year, month = divmod(total, 12)
    day = min(d.day, calendar.monthrange(year, month + 1)[1])
    return dt.date(year, month + 1, day)


def parse_tenor(tenor: str, where: str = "tenor") -> tuple[int, str]:
    """Split a tenor such as ``"3M"`` or ``"10Y"`` into ``(3, "M")``; units D, W, M, Y."""
    m = _TENOR.match(str(tenor))
    if not m or int(m.group(1)) <= 0:
        msg = f"{where}: cannot read tenor {tenor!r}; expected a positive count and D, W, M or Y"
        raise ValueError(msg)
    return int(m.group(1)), m.group(2).upper()


def tenor_date(start: dt.date, tenor: str, where: str = "tenor") -> dt.date:
    """Date `tenor` after `start`, unadjusted (months clamp to month end)."""
    n, unit = parse_tenor(tenor, where)
    if unit == "D":
        return start + dt.timedelta(days=n)
    if unit == "W":
        return start + dt.timedelta(weeks=n)
    return add_months(start, n if unit == "M" else 12 * n)


def act365(start: dt.date, end: dt.date) -> float:
    """Act/365F year fraction, the time measure of every curve in fialloc (years)."""
    return (end - start).days / 365.0


def year_fraction(
    start: dt.date,
    end: dt.date,
    day_count: str,
    ref_start: dt.date | None = None,
    ref_end: dt.date | None = None,
    frequency: int = 1,
) -> float:
    """Year fraction between two dates under `day_count`.

    ``30/360`` is the bond basis (ISDA 30/360): day 31 becomes 30 at the start, and at the end
    when the start is the 30th or 31st. ``ACT/ACT ICMA`` needs the regular coupon period
    ``[ref_start, ref_end]`` that contains both dates, and the coupon `frequency`.
    """
    if day_count == "ACT/365F":
        return act365(start, end)
    if day_count == "30/360":
        d1 = min(start.day, 30)
        d2 = min(end.day, 30) if d1 == 30 else end.day
        days = 360 * (end.year - start.year) + 30 * (end.month - start.month) + d2 - d1
        return days / 360.0
    if day_count == "ACT/ACT ICMA":
        if ref_start is None or ref_end is None:
            msg = "year_fraction: ACT/ACT ICMA needs the reference coupon period"
            raise ValueError(msg)
        return (end - start).days / ((ref_end - ref_start).days * frequency)
    msg = f"year_fraction: unknown day count {day_count!r}"
    raise ValueError(msg)


def backward_dates(maturity: dt.date, months: int, start: dt.date) -> list[dt.date]:
    """Regular dates ``maturity - k * months`` back to the first one on or before `start`.

    Returns them in increasing order; the first is on or before `start`, the rest after it.
    """
    dates = [maturity]
    k = 1
    while dates[-1] > start:
        dates.append(add_months(maturity, -k * months))
        k += 1
    dates.reverse()
    return dates
