"""fialloc: multi-manager fixed income allocation engine for insurance general accounts.

The numeric core (curves, vectorized bond pricing, key-rate durations) is compiled C++ in
:mod:`fialloc._core`; this package is its public Python API.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from fialloc.bonds import BondAnalytics, BondBook, CashflowStream, CurveRisk
    from fialloc.curve_set import CurveSet
    from fialloc.curves import DEFAULT_KEY_TENORS, Curve, bootstrap

# The public names load on first use (PEP 562): ``import fialloc`` stays cheap, so the console
# script can catch Ctrl-C while numpy, pandas and the compiled core are still loading.
_LAZY: Final = {
    "BondAnalytics": "fialloc.bonds",
    "BondBook": "fialloc.bonds",
    "CashflowStream": "fialloc.bonds",
    "CurveRisk": "fialloc.bonds",
    "CurveSet": "fialloc.curve_set",
    "DEFAULT_KEY_TENORS": "fialloc.curves",
    "Curve": "fialloc.curves",
    "bootstrap": "fialloc.curves",
}

try:
    __version__ = version("fialloc")
except PackageNotFoundError:  # a developer build run from the source tree
    from fialloc._core import __version__


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'fialloc' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


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
