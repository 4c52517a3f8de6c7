"""Brinson attribution of the insurer's own decision: how it allocated across manager sleeves.

Against the policy allocation, each period and each sleeve ``k``:

- allocation ``(w_k - p_k) (Rb_k - Rb)``: over- or under-weighting a sleeve whose benchmark
  beat or lagged the policy benchmark ``Rb = sum_k p_k Rb_k``;
- selection ``p_k (R_k - Rb_k)``: the manager's excess over its own benchmark;
- interaction ``(w_k - p_k) (R_k - Rb_k)``.

They add up to the portfolio's excess over the policy benchmark, ``sum_k w_k R_k - Rb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fialloc.checks import finite_array
from fialloc.layout import FloatArray

__all__ = ["BrinsonEffects", "brinson"]


@dataclass(frozen=True)
class BrinsonEffects:
    """Brinson effects per period and sleeve (periods by sleeves, decimals of total assets)."""

    allocation: FloatArray
    selection: FloatArray
    interaction: FloatArray
    portfolio_return: FloatArray
    policy_return: FloatArray

    @property
    def active_return(self) -> FloatArray:
        """Portfolio return minus the policy benchmark's, per period."""
        out: FloatArray = self.portfolio_return - self.policy_return
        return out


def _matrix(name: str, values: npt.ArrayLike, shape: tuple[int, int]) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = np.broadcast_to(arr, shape)
    return finite_array(arr, shape, "brinson", name)


def brinson(
    actual_weights: npt.ArrayLike,
    policy_weights: npt.ArrayLike,
    sleeve_returns: npt.ArrayLike,
    benchmark_returns: npt.ArrayLike,
) -> BrinsonEffects:
    """Allocation, selection and interaction of every sleeve in every period.

    Parameters
    ----------
    actual_weights : array, shape (periods, sleeves)
        The insurer's share of assets in each sleeve at the start of each period (rows sum
        to 1).
    policy_weights : array, shape (sleeves,) or (periods, sleeves)
        The policy allocation (rows sum to 1).
    sleeve_returns, benchmark_returns : array, shape (periods, sleeves)
        Each sleeve's return and its benchmark's return (decimals).

    Raises
    ------
    ValueError
        On mismatched shapes, non-finite values or weights that do not sum to 1.
    """
    r = np.asarray(sleeve_returns, dtype=np.float64)
    if r.ndim != 2:
        msg = f"brinson: `sleeve_returns` must be periods by sleeves, got shape {r.shape}"
        raise ValueError(msg)
    r = _matrix("sleeve_returns", r, r.shape)
    rb = _matrix("benchmark_returns", benchmark_returns, r.shape)
    w = _matrix("actual_weights", actual_weights, r.shape)
    p = _matrix("policy_weights", policy_weights, r.shape)
    for name, weights in (("actual_weights", w), ("policy_weights", p)):
        sums = weights.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-9)
        if len(bad):
            msg = f"brinson: `{name}` of period {int(bad[0])} sum to {sums[bad[0]]:.9f}; expected 1"
            raise ValueError(msg)
    policy = (p * rb).sum(axis=1)
    return BrinsonEffects(
        allocation=(w - p) * (rb - policy[:, None]),
        selection=p * (r - rb),
        interaction=(w - p) * (r - rb),
        portfolio_return=(w * r).sum(axis=1),
        policy_return=policy,
    )
