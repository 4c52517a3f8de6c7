"""Dates, tenors, day counts and unadjusted coupon schedules.

Everything here turns calendar facts into the year fractions the numeric core works in.
Schedules are unadjusted (no holiday calendar) and generated backward from maturity, each date
being ``maturity - k * period`` with the day clamped to the month's end, as QuantLib's
``Schedule`` does with ``DateGeneration.Backward``, ``NullCalendar`` and ``Unadjusted``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from typing import Final

import numpy as np
import pandas as pd

DAY_COUNTS: Final = ("ACT/365F", "ACT/360", "ACT/ACT ISDA", "ACT/ACT ICMA", "30/360", "30E/360")
FREQUENCIES: Final = (0, 1, 2, 4, 12)

# Spellings after _day_count_key (upper case, "ACTUAL" and "A" read as "ACT", brackets and
# extra blanks dropped), each mapped to its canonical name.
_DAY_COUNT_ALIASES: Final = {
    "ACT/365F": "ACT/365F",
    "ACT/365": "ACT/365F",
    "ACT/365 FIXED": "ACT/365F",
    "ACT/360": "ACT/360",
    "ACT/ACT ISDA": "ACT/ACT ISDA",
    "ACT/ACT HISTORICAL": "ACT/ACT ISDA",
    "ACT/365 ISDA": "ACT/ACT ISDA",
    "ACT/ACT ICMA": "ACT/ACT ICMA",
    "ACT/ACT ISMA": "ACT/ACT ICMA",
    "ACT/ACT BOND": "ACT/ACT ICMA",
    "ACT/ACT": "ACT/ACT ICMA",
    "30/360": "30/360",
    "30/360 BOND": "30/360",
    "30/360 BOND BASIS": "30/360",
    "30/360 US": "30/360",
    "30E/360": "30E/360",
    "30E/360 ICMA": "30E/360",
    "30/360 ICMA": "30E/360",
    "30/360 EUROBOND": "30E/360",
    "30/360 EUROBOND BASIS": "30E/360",
    "EUROBOND BASIS": "30E/360",
}
_TENOR = re.compile(r"^\s*(\d+)\s*([DWMY])\s*$", re.IGNORECASE)


def _day_count_key(name: object) -> str:
    words = re.sub(r"[()]", " ", str(name)).upper().split()
    key = " ".join(words)
    return re.sub(r"\b(?:ACTUAL|A)\b", "ACT", key)


def normalize_day_count(name: object, where: str = "day_count") -> str:
    """Return the canonical day-count name, one of :data:`DAY_COUNTS`.

    Spellings are read case-insensitively with brackets and extra blanks ignored and
    ``Actual``/``A`` for ``ACT``: ``"A/360"``, ``"Actual/360"``, ``"ACT/ACT (ISDA)"``,
    ``"30/360 Eurobond"`` all work. A bare ``ACT/ACT`` is the bond convention, ICMA.

    Raises
    ------
    ValueError
        If the name is not a known day count; the message names `where`.
    """
    key = _day_count_key(name)
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
    year, month = divmod(d.year * 12 + (d.month - 1) + months, 12)
    day = d.day
    # Only days past the 28th can overflow a month; the calendar lookup is the slow part.
    if day > 28:
        day = min(day, calendar.monthrange(year, month + 1)[1])
    return dt.date(year, month + 1, day)


@functools.lru_cache(maxsize=256)
def _tenor_parts(text: str) -> tuple[int, str] | None:
    # Curve quotes repeat a handful of tenors; caching the parse keeps regexes off the hot path.
    m = _TENOR.match(text)
    if not m or int(m.group(1)) <= 0:
        return None
    return int(m.group(1)), m.group(2).upper()


def parse_tenor(tenor: str, where: str = "tenor") -> tuple[int, str]:
    """Split a tenor such as ``"3M"`` or ``"10Y"`` into ``(3, "M")``; units D, W, M, Y."""
    parts = _tenor_parts(str(tenor))
    if parts is None:
        raise _bad_tenor(tenor, where)
    return parts


def _bad_tenor(tenor: object, where: str) -> ValueError:
    msg = f"{where}: cannot read tenor {tenor!r}; expected a positive count and D, W, M or Y"
    return ValueError(msg)


def tenor_date(start: dt.date, tenor: str, where: str = "tenor") -> dt.date:
    """Date `tenor` after `start`, unadjusted (months clamp to month end)."""
    date = known_tenor_date(start, str(tenor))
    if date is None:
        raise _bad_tenor(tenor, where)
    return date


@functools.lru_cache(maxsize=1024)
def known_tenor_date(start: dt.date, tenor: str) -> dt.date | None:
    """Date `tenor` after `start` as :func:`tenor_date` gives it, or None if `tenor` is unreadable.

    Cached: a curve is rebuilt from the same tenors on the same date many times over.
    """
    parts = _tenor_parts(tenor)
    if parts is None:
        return None
    n, unit = parts
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
    """Year fraction between two dates under `day_count` (one of :data:`DAY_COUNTS`).

    ``30/360`` is the bond basis (ISDA 30/360): day 31 becomes 30 at the start, and at the end
    when the start is the 30th or 31st. ``30E/360`` (Eurobond basis) makes every 31st a 30th.
    ``ACT/ACT ISDA`` counts the days in each calendar year over that year's length (365 or
    366). ``ACT/ACT ICMA`` needs the regular coupon period ``[ref_start, ref_end]`` that contains
    both dates, and the coupon `frequency`.
    """
    if day_count == "ACT/365F":
        return act365(start, end)
    if day_count == "ACT/360":
        return (end - start).days / 360.0
    if day_count in ("30/360", "30E/360"):
        d1 = min(start.day, 30)
        d2 = min(end.day, 30) if d1 == 30 or day_count == "30E/360" else end.day
        days = 360 * (end.year - start.year) + 30 * (end.month - start.month) + d2 - d1
        return days / 360.0
    if day_count == "ACT/ACT ISDA":
        return _act_act_isda(start, end)
    if day_count == "ACT/ACT ICMA":
        if ref_start is None or ref_end is None:
            msg = "year_fraction: ACT/ACT ICMA needs the reference coupon period"
            raise ValueError(msg)
        return (end - start).days / ((ref_end - ref_start).days * frequency)
    msg = f"year_fraction: unknown day count {day_count!r}"
    raise ValueError(msg)


def _act_act_isda(start: dt.date, end: dt.date) -> float:
    if end < start:
        return -_act_act_isda(end, start)
    if start.year == end.year:
        return (end - start).days / (366.0 if calendar.isleap(start.year) else 365.0)
    head = (dt.date(start.year + 1, 1, 1) - start).days
    tail = (end - dt.date(end.year, 1, 1)).days
    return (
        head / (366.0 if calendar.isleap(start.year) else 365.0)
        + (end.year - start.year - 1)
        + tail / (366.0 if calendar.isleap(end.year) else 365.0)
    )


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
