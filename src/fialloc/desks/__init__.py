"""The analysis desks: pure functions from a :class:`DeskContext` to a :class:`DeskResult`.

``duration``, ``credit``, ``curve``, ``liquidity`` and ``performance`` each return tables,
findings and recommendations; :func:`run_desks` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from fialloc.analytics.context import DeskContext
from fialloc.desks import credit, curve, duration, liquidity, performance
from fialloc.desks.result import DeskResult, Finding, Recommendation

__all__ = ["DESKS", "DeskContext", "DeskResult", "Finding", "Recommendation", "run_desks"]

#: The desks by name, in the order they run: the one list :func:`run_desks` and the agents read.
DESKS: MappingProxyType[str, Callable[[DeskContext], DeskResult]] = MappingProxyType(
    {
        "duration": duration.analyze,
        "credit": credit.analyze,
        "curve": curve.analyze,
        "liquidity": liquidity.analyze,
        "performance": performance.analyze,
    }
)


def run_desks(ctx: DeskContext) -> dict[str, DeskResult]:
    """Run the duration, credit, curve, liquidity and performance desks on one context."""
    return {name: analyze(ctx) for name, analyze in DESKS.items()}
