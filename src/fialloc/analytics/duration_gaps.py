"""Key-rate duration gaps against liabilities, and manager shifts that close them.

Durations are in years per unit of value. A gap compares the assets' key-rate durations with
the liabilities' scaled by the ratio of liability to asset value, so a zero gap at every tenor
means the surplus does not move, to first order, under any key-rate move.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd

__all__ = ["krd_gaps", "rebalance_for_krd", "scaled_liability_krd"]


def scaled_liability_krd(
    liability_krd: pd.Series, liability_value: float, asset_value: float
) -> pd.Series:
    """Liabilities' key-rate durations per unit of asset value (years).

    The key-rate gap is the assets' key-rate duration less this: the one definition every
    desk, the optimizer, the CLI, the report and ``results.json`` use.
    """
    if not (asset_value > 0 and liability_value > 0):
        msg = f"krd_gaps: values must be positive, got {asset_value} and {liability_value}"
        raise ValueError(msg)
    return liability_krd * (liability_value / asset_value)


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
        (years, assets minus liabilities), ``gap_dv01`` (money per basis point), ``share``
        (gap over the liabilities' total dollar duration) and ``material``.
    """
    if not asset_krd.index.equals(liability_krd.index):
        msg = "krd_gaps: asset and liability key-rate tenors differ"
        raise ValueError(msg)
    scaled = scaled_liability_krd(liability_krd, liability_value, asset_value)
    gap = asset_krd - scaled
    share = gap / float(scaled.abs().sum())
    return pd.DataFrame(
        {
            "asset_krd": asset_krd,
            "liability_krd": scaled,
            "gap": gap,
            "gap_dv01": gap * asset_value * 1e-4,
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
    miss = e.T @ w - target.to_numpy(dtype=np.float64)
    problem = cp.Problem(
        cp.Minimize(cp.sum_squares(miss) + 1e-6 * cp.sum_squares(w - w0)), constraints
    )
    problem.solve(solver=cp.CLARABEL)
    if w.value is None or problem.status not in ("optimal", "optimal_inaccurate"):
        msg = f"rebalance_for_krd: no feasible rebalance within the limits ({problem.status})"
        raise ValueError(msg)
    return pd.Series(np.clip(w.value, 0.0, None), index=weights.index, name="weight")
