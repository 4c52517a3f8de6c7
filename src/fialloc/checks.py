"""Checks of single input values shared by every loader: numbers and decimal rates."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from fialloc.layout import FloatArray

__all__ = ["decimal_rate", "finite_array", "finite_float"]


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def finite_float(value: object, where: str = "") -> float:
    """Return `value` as a finite float, or raise ValueError naming `where` and the value."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        msg = f"{_prefix(where)}{value!r} is not a number"
        raise ValueError(msg) from None
    if not math.isfinite(x):
        msg = f"{_prefix(where)}{x} is not finite"
        raise ValueError(msg)
    return x


def decimal_rate(value: object, where: str = "") -> float:
    """Return a finite rate given as a decimal; 1 or more is refused as a probable percentage."""
    x = finite_float(value, where)
    if abs(x) >= 1.0:
        msg = (
            f"{_prefix(where)}{x} looks like a percentage; did you mean {x / 100:g}? "
            "(rates are decimals: 0.045 for 4.5%)"
        )
        raise ValueError(msg)
    return x


def finite_array(
    values: npt.ArrayLike, shape: tuple[int, ...], where: str, name: str
) -> FloatArray:
    """Return `values` as a float64 array of `shape` with every entry finite.

    Raises
    ------
    ValueError
        Naming `where`, the argument `name` and the shape found, or the first non-finite entry.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != shape:
        msg = f"{where}: `{name}` has shape {arr.shape}; expected {shape}"
        raise ValueError(msg)
    bad = np.argwhere(~np.isfinite(arr))
    if len(bad):
        at = tuple(int(i) for i in bad[0])
        msg = f"{where}: `{name}` at {at} is {arr[at]}, a non-finite value"
        raise ValueError(msg)
    return arr
