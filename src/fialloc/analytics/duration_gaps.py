"""Key-rate duration gaps against liabilities, and manager shifts that close them.

Durations are in years per unit of value. The key-rate gap has one definition,
:func:`key_rate_gap`, used by the duration desk, the optimizer's limits, the results' headline
and the CLI: the assets' key-rate duration minus the liabilities' scaled by the ratio of
liability to asset value,

    gap_k = KRD_k(assets) - KRD_k(liabilities) * L / A   (years of asset duration),

so a zero gap at every tenor means the surplus does not move, to first order, under any
key-rate move. In money, :func:`gap_dv01` = gap_k * A * 1e-4: what the surplus gains when the
key rate falls one basis point (assets' DV01 minus liabilities' DV01 at that key rate).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import cvxpy as cp
import numpy as np
import pandas as pd

from fialloc.errors import ConvergenceError

__all__ = ["gap_dv01", "gap_profile", "key_rate_gap", "krd_gaps", "rebalance_for_krd"]

_G = TypeVar("_G")


def key_rate_gap(
    asset_krd: _G, liability_krd: object, asset_value: float, liability_value: float
) -> _G:
    """Key-rate gap in years of asset duration: ``asset_krd - liability_krd * L / A``.

    Parameters
    ----------
    asset_krd : float, array, Series or cvxpy expression
        The assets' key-rate durations (years per unit of asset value), e.g. ``X.T @ w`` for
        manager exposures ``X`` and weights ``w``.
    liability_krd : float, array or Series
        The liabilities' key-rate durations (years per unit of liability value), same shape.
    asset_value, liability_value : float
        Market value of the assets and present value of the liabilities (money, > 0).
    """
    if not (np.isfinite(asset_value) and np.isfinite(liability_value)) or not (
        asset_value > 0 and liability_value > 0
    ):
        msg = f"key_rate_gap: values must be positive, got {asset_value} and {liability_value}"
        raise ValueError(msg)
    return asset_krd - liability_krd * (liability_value / asset_value)  # type: ignore[operator,return-value]


def gap_dv01(gap: _G, asset_value: float) -> _G:
    """Express a :func:`key_rate_gap` in money per basis point: ``gap * asset_value * 1e-4``."""
    return gap * (asset_value * 1e-4)  # type: ignore[operator,return-value]


def gap_profile(
    exposures: pd.DataFrame,
    weights: Mapping[str, pd.Series],
    liability_krd: pd.Series,
    asset_value: float,
    liability_value: float,
) -> pd.DataFrame:
    """Key-rate gaps of the portfolio under each set of manager weights, in years and money.

    Parameters
    ----------
    exposures : DataFrame
        Managers (rows) by key-rate columns (``krd_<tenor>``): each sleeve's KRDs (years).
    weights : mapping of name to Series
        Manager weights (decimals summing to 1) indexed like the exposures' rows, e.g.
        ``{"current": ..., "recommended": ...}``.
    liability_krd : Series
        The liabilities' KRDs (years per unit of their value), indexed by the same columns.
    asset_value, liability_value : float
        Money; the assets' value does not change with re-weighting.

    Returns
    -------
    DataFrame
        Indexed by the key-rate columns: ``<name>_years`` and ``<name>_dv01`` for each name.
    """
    if not liability_krd.index.equals(exposures.columns):
        msg = "gap_profile: the liabilities' key rates differ from the exposures' columns"
        raise ValueError(msg)
    out = {}
    for name, w in weights.items():
        if not w.index.equals(exposures.index):
            msg = f"gap_profile: `{name}` weights are not indexed by the exposures' managers"
            raise ValueError(msg)
        gap = key_rate_gap(exposures.T @ w, liability_krd, asset_value, liability_value)
        out[f"{name}_years"] = gap
        out[f"{name}_dv01"] = gap_dv01(gap, asset_value)
    return pd.DataFrame(out, index=exposures.columns)


def krd_gaps(
    asset_krd: pd.Series,
    asset_value: float,
    liability_krd: pd.Series,
    liability_value: float,
    threshold: float = 0.1,
) -> pd.DataFrame:
    """Key-rate gaps of assets against liabilities.

    Parameters
    ----------
    asset_krd, liability_krd : Series
        Key-rate durations (years) indexed by tenor label, same index.
    asset_value, liability_value : float
        Market value of assets and present value of liabilities (money, > 0).
    threshold : float
        A gap is material when it exceeds this share of the liabilities' total interest-rate
        risk (the sum of their key-rate dollar durations): 0.1 flags a key rate whose mismatch
        is more than a tenth of all the rate risk being hedged.

    Returns
    -------
    DataFrame
        Per tenor: ``asset_krd``, ``liability_krd`` (scaled by liability/asset value), ``gap``
        (:func:`key_rate_gap`, years), ``gap_dv01`` (:func:`gap_dv01`, money per basis point),
        ``share`` (gap over the liabilities' total dollar duration) and ``material``.
    """
    if not asset_krd.index.equals(liability_krd.index):
        msg = "krd_gaps: asset and liability key-rate tenors differ"
        raise ValueError(msg)
    gap = key_rate_gap(asset_krd, liability_krd, asset_value, liability_value)
    scaled = asset_krd - gap
    share = gap / float(scaled.abs().sum())
    return pd.DataFrame(
        {
            "asset_krd": asset_krd,
            "liability_krd": scaled,
            "gap": gap,
            "gap_dv01": gap_dv01(gap, asset_value),
            "share": share,
            "material": share.abs() > threshold,
        }
    )


def rebalance_for_krd(
    exposures: pd.DataFrame,
    weights: pd.Series,
    target: pd.Series,
    *,
    max_shift: float = 0.05,
    min_weight: float = 0.01,
    max_weight: float = 0.20,
) -> pd.Series:
    """Find manager weights closest in key-rate profile to `target`, within shift limits.

    Minimizes the squared distance between the portfolio's key-rate durations
    ``exposures.T @ w`` and `target` subject to ``sum(w) = 1``,
    ``min_weight <= w <= max_weight`` (managers at zero weight may stay at zero) and
    ``|w - weights| <= max_shift``. A tiny penalty on turnover picks the smallest move among
    equally good ones.

    Parameters
    ----------
    exposures : DataFrame
        Managers (rows) by key tenors (columns): each sleeve's key-rate durations (years).
    weights : Series
        Current manager weights (sum 1).
    target : Series
        Key-rate durations (years) to aim for, indexed like the exposure columns.

    Raises
    ------
    ValueError
        If the indexes do not line up or the current weights are not a valid allocation.
    ConvergenceError
        If the solver fails (the limits themselves always admit the current weights).
    """
    if not exposures.index.equals(weights.index) or not exposures.columns.equals(target.index):
        msg = (
            "rebalance_for_krd: exposures must be indexed by the weights' managers (rows) and "
            "the target's tenors (columns)"
        )
        raise ValueError(msg)
    w0 = weights.to_numpy(dtype=np.float64)
    if abs(w0.sum() - 1.0) > 1e-6 or np.any(w0 < 0):
        msg = f"rebalance_for_krd: current weights must be >= 0 and sum to 1, sum is {w0.sum():.6f}"
        raise ValueError(msg)
    e = exposures.to_numpy(dtype=np.float64)
    w = cp.Variable(len(w0))
    active = w0 > 0
    lower = np.where(active, np.minimum(min_weight, w0), 0.0)
    constraints = [
        cp.sum(w) == 1,
        w >= lower,
        w <= max(max_weight, float(w0.max())),
        cp.abs(w - w0) <= max_shift,
    ]
    goal = target.to_numpy(dtype=np.float64)
    # |e'w - goal|^2 without its constant |goal|^2 and divided by the size of its terms: the
    # same optimum, but the solver's tolerances mean the same for a 30-year liability profile
    # and an absurd one (a constant of 1e18 would swamp every difference between allocations).
    scale = max(1.0, float(np.abs(e).max(initial=0.0))) ** 2
    pull = e @ goal / scale
    size = max(1.0, float(np.abs(pull).max(initial=0.0)))
    miss = (cp.sum_squares(e.T @ w) / scale - 2.0 * pull @ w) / size
    problem = cp.Problem(
        cp.Minimize(miss + 1e-6 / (scale * size) * cp.sum_squares(w - w0)), constraints
    )
    problem.solve(solver=cp.CLARABEL)
    if w.value is None or problem.status not in ("optimal", "optimal_inaccurate"):
        msg = f"rebalance_for_krd: the solver found no rebalance ({problem.status})"
        raise ConvergenceError(msg)
    return pd.Series(np.clip(w.value, 0.0, None), index=weights.index, name="weight")
