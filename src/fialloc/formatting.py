"""How numbers read in the command line's tables and the report: one set of rules for both.

Money as ``-$2.16B`` or ``$450.3M`` (the sign before the currency symbol), percentages with a
fixed number of decimals, and a value that rounds to zero without a sign (``-0.00%`` reads as
a tiny sale). A before/after pair whose rounded values are equal shows the change in basis
points, so a fall of 0.9 bp never reads as "4.68% -> 4.68%".
"""

from __future__ import annotations

import math

__all__ = ["change_bp", "count", "dollars", "money", "num", "pct", "unsigned_zero"]


def unsigned_zero(text: str) -> str:
    """Drop the sign of a formatted number whose digits are all zero."""
    digits = [c for c in text if c.isdigit()]
    return text.replace("-", "", 1) if digits and set(digits) <= {"0"} else text


def count(n: int, noun: str) -> str:
    """Say how many: ``1 problem``, ``3 problems``, ``0 months`` (the noun's plural adds "s")."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def pct(value: float | None, digits: int = 2) -> str:
    """Format a decimal as a percentage (0.0468 -> ``4.68%``); empty for a missing value."""
    return "" if _missing(value) else unsigned_zero(f"{value:.{digits}%}")


def num(value: float | None, digits: int = 2) -> str:
    """Format a number with thousands separators; empty for a missing value."""
    return "" if _missing(value) else unsigned_zero(f"{value:,.{digits}f}")


def money(value: float | None, symbol: str = "$") -> str:
    """Format money in billions (2 decimals) from 1e9, else millions (1 decimal): ``-$2.16B``."""
    if _missing(value):
        return ""
    assert value is not None
    size = abs(value)
    # 999.97M rounds to "1,000.0M": from there on it reads as billions.
    body = f"{size / 1e9:,.2f}B" if size >= 999.95e6 else f"{size / 1e6:,.1f}M"
    return unsigned_zero(f"{'-' if value < 0 else ''}{symbol}{body}")


def dollars(value: float | None, symbol: str = "$") -> str:
    """Format money in whole units with separators, the sign first: ``-$8,184,714``."""
    if _missing(value):
        return ""
    assert value is not None
    return unsigned_zero(f"{'-' if value < 0 else ''}{symbol}{abs(value):,.0f}")


def change_bp(before: float, after: float, digits: int = 2) -> str:
    """Format ``after`` as a percentage, with the change in bp when both round the same."""
    text = pct(after, digits)
    if text == pct(before, digits) and before != after:
        return f"{text} ({unsigned_zero(f'{(after - before) * 1e4:+.1f}')} bp)"
    return text
