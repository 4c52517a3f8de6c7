"""The analysis desks: pure functions from a :class:`DeskContext` to a :class:`DeskResult`.

``duration``, ``credit``, ``curve``, ``liquidity`` and ``performance`` each return tables,
findings and recommendations; :func:`run_desks` runs them all.
"""

from __future__ import annotations

from fialloc.desks import credit, curve, duration, liquidity, performance
from fialloc.desks.context import DeskContext
from fialloc.desks.result import DeskResult, Finding, Recommendation

__all__ = ["DeskContext", "DeskResult", "Finding", "Recommendation", "run_desks"]


def run_desks(ctx: DeskContext) -> dict[str, DeskResult]:
    """Run the duration, credit, curve, liquidity and performance desks on one context."""
    return {
        "duration": duration.analyze(ctx),
        "credit": credit.analyze(ctx),
        "curve": curve.analyze(ctx),
        "liquidity": liquidity.analyze(ctx),
        "performance": performance.analyze(ctx),
    }
