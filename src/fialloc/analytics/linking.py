"""Multi-period linking of single-period attribution effects (Carino, Menchero).

Single-period effects add up to each period's excess return ``R_t - B_t``; summed over
periods they do not add up to the compounded excess ``prod(1 + R_t) - prod(1 + B_t)``. Linking
scales each period's effects so that they do, exactly:

- Carino (1999): period weights ``k_t / k`` with ``k_t = ln((1 + R_t) / (1 + B_t)) / (R_t - B_t)``
  and ``k`` the same for the compounded returns;
- Menchero (2000): weights ``M + C a_t`` (``a_t = R_t - B_t``), the smallest quadratic
  correction to a constant scale ``M``.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from fialloc.layout import FloatArray

__all__ = ["LINKING_METHODS", "compounded", "link_effects", "linking_weights"]

LINKING_METHODS: Final = ("carino", "menchero")


def _log_ratio_over_difference(r: FloatArray, b: FloatArray) -> FloatArray:
    """``ln((1 + r) / (1 + b)) / (r - b)``, accurate when ``r`` and ``b`` are close."""
    x = (r - b) / (1.0 + b)
    small = np.abs(x) < 1e-12
    safe = np.where(small, 1.0, x)
    ratio = np.where(small, 1.0 - x / 2.0, np.log1p(safe) / safe)
    out: FloatArray = ratio / (1.0 + b)
    return out


def _returns(name: str, values: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or len(arr) == 0:
        msg = f"link_effects: `{name}` must be a non-empty 1-D series of period returns"
        raise ValueError(msg)
    bad = np.flatnonzero(~np.isfinite(arr) | (arr <= -1.0))
    if len(bad):
        msg = (
            f"link_effects: `{name}` period {int(bad[0])} is {arr[bad[0]]}; expected a finite "
            "decimal return above -1"
        )
        raise ValueError(msg)
    return arr


def compounded(returns: npt.ArrayLike) -> float:
    """Compounded return of period returns (decimals)."""
    return float(np.prod(1.0 + np.asarray(returns, dtype=np.float64)) - 1.0)


def linking_weights(
    portfolio: npt.ArrayLike, benchmark: npt.ArrayLike, method: str = "carino"
) -> FloatArray:
    """Per-period weights that turn period effects into linked effects.

    Parameters
    ----------
    portfolio, benchmark : array, shape (periods,)
        Period returns (decimals).
    method : {"carino", "menchero"}

    Returns
    -------
    ndarray, shape (periods,)
        ``sum_t w_t (R_t - B_t)`` equals the compounded excess return.
    """
    r = _returns("portfolio", portfolio)
    b = _returns("benchmark", benchmark)
    if r.shape != b.shape:
        msg = f"link_effects: {len(r)} portfolio returns but {len(b)} benchmark returns"
        raise ValueError(msg)
    total_r, total_b = compounded(r), compounded(b)
    a = r - b
    if method == "carino":
        k = _log_ratio_over_difference(np.array([total_r]), np.array([total_b]))[0]
        out: FloatArray = _log_ratio_over_difference(r, b) / k
        return out
    if method == "menchero":
        n = len(r)
        excess = total_r - total_b
        root = (1.0 + total_r) ** (1.0 / n) - (1.0 + total_b) ** (1.0 / n)
        m = excess / (n * root) if root != 0.0 else (1.0 + total_r) ** ((n - 1.0) / n)
        squares = float(a @ a)
        c = (excess - m * a.sum()) / squares if squares > 0.0 else 0.0
        weights: FloatArray = m + c * a
        return weights
    msg = f"link_effects: unknown method {method!r}; expected 'carino' or 'menchero'"
    raise ValueError(msg)


def link_effects(
    effects: npt.ArrayLike,
    portfolio: npt.ArrayLike,
    benchmark: npt.ArrayLike,
    method: str = "carino",
) -> FloatArray:
    """Link period effects over several periods.

    Parameters
    ----------
    effects : array, shape (periods, effects)
        Each period's effects (decimals); in each period they should add up to ``R_t - B_t``
        for the linked effects to add up to the compounded excess return.
    portfolio, benchmark : array, shape (periods,)
        Period returns (decimals).
    method : {"carino", "menchero"}

    Returns
    -------
    ndarray, shape (effects,)
        Linked effects (decimals of the start value).
    """
    weights = linking_weights(portfolio, benchmark, method)
    e = np.asarray(effects, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] != len(weights):
        msg = f"link_effects: `effects` has shape {e.shape}; expected ({len(weights)}, effects)"
        raise ValueError(msg)
    if not np.all(np.isfinite(e)):
        msg = "link_effects: `effects` contains non-finite values"
        raise ValueError(msg)
    out: FloatArray = weights @ e
    return out
