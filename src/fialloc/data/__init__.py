"""Inputs: schemas, loaders, the mandate and the built-in demo book.

Use :func:`load` for a directory of files, :func:`from_tables` for in-memory tables,
:func:`demo` for the built-in $40B demo general account and :func:`synthetic` for a demo-like
book of any size.
"""

from __future__ import annotations

from fialloc.data.demo import DEMO_VALUATION, DemoTruth, demo_tables, synthetic_tables
from fialloc.data.loaders import InputError, from_tables, load, read_table, validate, write_tables
from fialloc.data.mandate import Mandate, ObjectiveWeights
from fialloc.data.portfolio import Portfolio
from fialloc.data.schema import SCHEMAS, Problem
from fialloc.data.vocabulary import RATINGS, rating_notch

__all__ = [
    "DEMO_VALUATION",
    "RATINGS",
    "SCHEMAS",
    "DemoTruth",
    "InputError",
    "Mandate",
    "ObjectiveWeights",
    "Portfolio",
    "Problem",
    "demo",
    "demo_truth",
    "from_tables",
    "load",
    "rating_notch",
    "read_table",
    "synthetic",
    "validate",
    "write_demo",
    "write_tables",
]


def demo(seed: int = 7, *, global_sleeve: bool = True) -> Portfolio:
    """Build the demo general account ($40B, 26 managers, 610+ securities) from a seed.

    Without `global_sleeve`, the single-currency demo: the 25 US managers only.
    """
    tables, _ = demo_tables(seed, global_sleeve=global_sleeve)
    return from_tables(tables, DEMO_VALUATION)


def synthetic(n_managers: int = 100, n_securities: int = 10_000, seed: int = 0) -> Portfolio:
    """Build a demo-like $40B book with `n_managers` managers and `n_securities` securities.

    Validated like any input; see :func:`fialloc.data.demo.synthetic_tables` for how it scales
    the demo (managers cycle through the demo's styles and planted truths). The mandate is the
    default one except the minimum allocation, a quarter of an equal share (the demo's 1% for
    25 managers), so that the smallest sleeves can meet it.
    """
    tables, _ = synthetic_tables(n_managers, n_securities, seed)
    return from_tables(tables, DEMO_VALUATION, {"min_allocation": min(0.01, 0.25 / n_managers)})


def demo_truth(seed: int = 7) -> DemoTruth:
    """Return what :func:`demo` plants for the desks to find."""
    return demo_tables(seed)[1]


def write_demo(directory: str, seed: int = 7) -> str:
    """Write the demo's inputs as files, to show what a user's data must look like."""
    return str(write_tables(demo(seed), directory))
