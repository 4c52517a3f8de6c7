"""The guard against invented figures: every number an analysis quotes must be the engine's.

A number quoted in text is verified when some number in the tool results the agent received
shows as it when formatted the usual ways: as is, as a percent of a decimal (``-15%`` for
-0.1539), in basis points (``4 bp`` for 0.0004 or for a value already in bp), in billions or
millions (``0.46B``, ``$8.18M``), each rounded to the precision shown and with or without its
sign (text says "falls 0.46B short" of a -0.46e9 figure). Tokens that are parts of names are
not numbers: manager ids (``M23``), tenors (``20y``, ``2s10s``) and dates (``2025-06-30``).

The sources are the numeric values of the tool results plus the numbers inside the engine's
own sentences (keys ``message`` and ``rationale``); other text in the results (manager names,
notes from input files) is data and never makes a number verified.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["ENGINE_TEXT_KEYS", "quoted_numbers", "source_numbers", "unverified_numbers"]

#: Keys of tool results whose text the engine wrote (its numbers count as sources).
ENGINE_TEXT_KEYS = frozenset({"message", "rationale"})

_DATE = re.compile(r"\b\d{4}-\d{2}(?:-\d{2})?\b")
_NUMBER = re.compile(
    r"""
    (?<![\w.])                                   # not the tail of a name (M23) or a number
    (?P<sign>[-+\u2212])?
    \$?
    (?P<int>\d{1,3}(?:,\d{3})+|\d+)
    (?P<frac>\.\d+)?
    (?:\s?(?P<unit>%|percent\b|bps?\b|basis\spoints?\b|bn\b|billion\b|B\b|mm\b|million\b|M\b
        |thousand\b|k\b|K\b))?
    (?!\.?\w)                                    # not the head of a name (20y, 2s10s, 1.5x)
    """,
    re.VERBOSE,
)

#: Quoted value = source value x factor, per unit.
_FACTORS: dict[str, tuple[float, ...]] = {
    "": (1.0,),
    "%": (100.0, 1.0),
    "bp": (1e4, 1.0),
    "B": (1e-9,),
    "M": (1e-6,),
    "k": (1e-3,),
}
_UNITS = {
    "%": "%",
    "percent": "%",
    "bp": "bp",
    "bps": "bp",
    "basis point": "bp",
    "basis points": "bp",
    "bn": "B",
    "billion": "B",
    "B": "B",
    "mm": "M",
    "million": "M",
    "M": "M",
    "thousand": "k",
    "k": "k",
    "K": "k",
}


def quoted_numbers(text: str) -> list[tuple[str, float, int, str]]:
    """Find the numbers a text quotes.

    Returns
    -------
    list of (str, float, int, str)
        Per number: the text as written, its absolute value, the decimals shown and the unit
        (``""``, ``"%"``, ``"bp"``, ``"B"``, ``"M"`` or ``"k"``).
    """
    given: object = text
    if not isinstance(given, str):
        msg = f"quoted_numbers: text must be a string, got {type(given).__name__}"
        raise ValueError(msg)
    clean = _DATE.sub(" ", given)
    out = []
    for m in _NUMBER.finditer(clean):
        frac = m.group("frac") or ""
        value = float(m.group("int").replace(",", "") + frac)
        unit = _UNITS[re.sub(r"\s+", " ", m.group("unit") or "")] if m.group("unit") else ""
        out.append((m.group(0).strip(), value, max(len(frac) - 1, 0), unit))
    return out


def source_numbers(results: Any) -> list[float]:
    """Collect the absolute values of every number in tool results (sorted).

    Numbers are the numeric leaves of nested dicts and lists, plus the numbers quoted in the
    engine's sentences (:data:`ENGINE_TEXT_KEYS`); other strings are ignored.
    """
    found: list[float] = []

    def walk(value: Any, key: str | None) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, (int, float)):
            if math.isfinite(value):
                found.append(abs(float(value)))
        elif isinstance(value, str):
            if key in ENGINE_TEXT_KEYS:
                scale = {"": 1.0, "%": 1e-2, "bp": 1e-4, "B": 1e9, "M": 1e6, "k": 1e3}
                for _, v, _, unit in quoted_numbers(value):
                    found.append(v)
                    found.append(v * scale[unit])
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v, key)

    walk(results, None)
    found.sort()
    return found


def _present(sources: list[float], target: float, tol: float) -> bool:
    i = bisect.bisect_left(sources, target - tol)
    return i < len(sources) and sources[i] <= target + tol


def unverified_numbers(text: str, results: Iterable[Any]) -> list[str]:
    """List the numbers `text` quotes that no tool result supports (in order, once each).

    Parameters
    ----------
    text : str
        An agent's analysis.
    results : iterable
        The tool results the agent received (JSON-ready values).
    """
    sources = source_numbers(list(results))
    out: list[str] = []
    for shown, value, decimals, unit in quoted_numbers(text):
        # Rounding to the shown precision, with room for binary floating point.
        half = 0.5 * 10.0**-decimals
        ok = any(
            _present(sources, value / f, (half * (1 + 1e-9) + 1e-12 * max(value, 1.0)) / f)
            for f in _FACTORS[unit]
        )
        if not ok and shown not in out:
            out.append(shown)
    return out
