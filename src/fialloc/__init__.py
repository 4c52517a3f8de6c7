"""fialloc: multi-manager fixed income allocation engine for insurance general accounts.

The numeric core (curves, vectorized bond pricing, key-rate durations) is compiled C++ in
:mod:`fialloc._core`; this package is its public Python API.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fialloc.bonds import BondAnalytics, BondBook, CashflowStream
from fialloc.curves import DEFAULT_KEY_TENORS, Curve, bootstrap

try:
    __version__ = version("fialloc")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

__all__ = [
    "DEFAULT_KEY_TENORS",
    "BondAnalytics",
    "BondBook",
    "CashflowStream",
    "Curve",
    "__version__",
    "bootstrap",
]
