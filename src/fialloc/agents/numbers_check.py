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

Numbers are matched to the manager they are stated for. A value in a record of one manager
(a row with its ``manager_id``, an entry keyed by its id, an engine sentence naming it) belongs
to that manager; a sentence of the analysis that names managers is verified only by their
values and by values that belong to no manager (portfolio figures). So "M05 is now at 100%"
fails when 100% is another manager's hit rate and nothing of M05's or the portfolio's.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "ENGINE_TEXT_KEYS",
    "MANAGER_KEYS",
    "quoted_numbers",
    "source_numbers",
    "unverified_numbers",
]

#: Keys of tool results whose text the engine wrote (its numbers count as sources).
ENGINE_TEXT_KEYS = frozenset({"message", "rationale"})
#: Keys whose value names the manager a record belongs to.
MANAGER_KEYS = frozenset({"manager_id", "manager", "from_manager", "to_manager"})
_SENTENCE = re.compile(r"(?<=[.;!?])\s+|\n+")

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
    return sorted(v for v, _ in _sources(results, _manager_ids(results)))


def _manager_ids(results: Any) -> frozenset[str]:
    """Every manager id the results name under a :data:`MANAGER_KEYS` key."""
    ids: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k in MANAGER_KEYS and isinstance(v, str) and v:
                    ids.add(v)
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(results)
    return frozenset(ids)


def _named(text: str, ids: frozenset[str]) -> frozenset[str]:
    """Return the manager ids `text` names (as whole words)."""
    return frozenset(m for m in ids if re.search(rf"(?<![\w-]){re.escape(m)}(?![\w-])", text))


def _sources(results: Any, ids: frozenset[str]) -> list[tuple[float, frozenset[str]]]:
    """(absolute value, managers it belongs to) for every number in tool results."""
    found: list[tuple[float, frozenset[str]]] = []
    scale = {"": 1.0, "%": 1e-2, "bp": 1e-4, "B": 1e9, "M": 1e6, "k": 1e3}

    def walk(value: Any, key: str | None, owners: frozenset[str]) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, (int, float)):
            if math.isfinite(value):
                found.append((abs(float(value)), owners))
        elif isinstance(value, str):
            if key in ENGINE_TEXT_KEYS:
                said = owners | _named(value, ids)
                for _, v, _, unit in quoted_numbers(value):
                    found.append((v, said))
                    found.append((v * scale[unit], said))
        elif isinstance(value, dict):
            own = frozenset(
                v for k, v in value.items() if k in MANAGER_KEYS and isinstance(v, str) and v
            )
            inner = owners | own
            for k, v in value.items():
                walk(v, str(k), inner | ({str(k)} if k in ids else set()))
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v, key, owners)

    walk(results, None, frozenset())
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
    given = list(results)
    ids = _manager_ids(given)
    sources = _sources(given, ids)
    everything = sorted(v for v, _ in sources)
    portfolio = sorted(v for v, owners in sources if not owners)
    by_manager: dict[str, list[float]] = {}
    for v, owners in sources:
        for m in owners:
            by_manager.setdefault(m, []).append(v)
    for values in by_manager.values():
        values.sort()
    out: list[str] = []
    for sentence in _SENTENCE.split(text):
        named = _named(sentence, ids)
        pools = (
            [portfolio, *(by_manager.get(m, []) for m in sorted(named))] if named else [everything]
        )
        for shown, value, decimals, unit in quoted_numbers(sentence):
            # Rounding to the shown precision, with room for binary floating point.
            half = 0.5 * 10.0**-decimals
            ok = any(
                _present(pool, value / f, (half * (1 + 1e-9) + 1e-12 * max(value, 1.0)) / f)
                for f in _FACTORS[unit]
                for pool in pools
            )
            if not ok and shown not in out:
                out.append(shown)
    return out
