"""fialloc: multi-manager fixed income allocation engine for insurance general accounts.

The numeric core (curves, vectorized bond pricing, key-rate durations) is compiled C++ in
:mod:`fialloc._core`; this package is its public Python API.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fialloc import _core
from fialloc.bonds import BondAnalytics, BondBook, CashflowStream, CurveRisk
from fialloc.curve_set import CurveSet
from fialloc.curves import DEFAULT_KEY_TENORS, Curve, bootstrap

try:
    __version__ = version("fialloc")
except PackageNotFoundError:  # a developer build run from the source tree
    __version__ = _core.__version__

__all__ = [
    "DEFAULT_KEY_TENORS",
    "BondAnalytics",
    "BondBook",
    "CashflowStream",
    "Curve",
    "CurveRisk",
    "CurveSet",
    "__version__",
    "bootstrap",
]
