"""Checks of single input values shared by every loader: numbers and decimal rates."""

from __future__ import annotations

import math
import os

import numpy as np
import numpy.typing as npt

from fialloc.layout import FloatArray

__all__ = ["available_memory", "decimal_rate", "finite_array", "finite_float", "fits_in_memory"]


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
        msg = f"{_prefix(where)}{x} looks like a percentage; rates are decimals (0.045 for 4.5%)"
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


def available_memory() -> int | None:
    """Bytes of physical memory free for this process now, or None where the OS does not say."""
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def fits_in_memory(nbytes: float, where: str, what: str) -> None:
    """Refuse a request for `nbytes` of arrays that the machine's free memory cannot hold.

    Raises
    ------
    ValueError
        Naming `where`, `what` was asked for and both sizes in GB, before anything is
        allocated (the alternative is the process being killed by the OS, or swapping).
    """
    free = available_memory()
    if free is not None and nbytes > free:
        msg = (
            f"{where}: {what} needs {nbytes / 1e9:.1f} GB of memory and {free / 1e9:.1f} GB is "
            "free; ask for fewer, or run in chunks (fialloc.distributed)"
        )
        raise ValueError(msg)
