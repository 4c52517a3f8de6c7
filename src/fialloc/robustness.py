"""How allocations hold up across G2++ paths and deterministic stresses.

Each manager's sleeve is revalued once on every path (its remaining flows plus the cash it paid,
reinvested at the path's bank account); an allocation is then a linear mix of sleeves, so any
number of candidate allocations are evaluated without re-pricing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.data import Portfolio
from fialloc.layout import FloatArray
from fialloc.scenarios import G2Paths, G2pp

__all__ = ["SleevePaths", "evaluate", "sleeve_paths"]


@dataclass(frozen=True)
class SleevePaths:
    """Per-manager asset values and liability values on every path and horizon (money).

    Attributes
    ----------
    horizons : ndarray
        Years.
    sleeves : ndarray
        Paths x horizons x managers, at today's sleeve sizes.
    liabilities : ndarray
        Paths x horizons.
    managers : Index
        Manager ids (last axis of ``sleeves``).
    current : Series
        Today's weights, the scale the sleeves are at.
    """

    horizons: FloatArray
    sleeves: FloatArray
    liabilities: FloatArray
    managers: pd.Index
    current: pd.Series

    def surplus(self, weights: npt.ArrayLike) -> FloatArray:
        """Surplus paths (paths x horizons, money) of an allocation with the same total assets."""
        w = np.asarray(weights, dtype=float)
        scale = np.divide(
            w, self.current.to_numpy(), out=np.zeros_like(w), where=self.current.to_numpy() > 0
        )
        return np.asarray(self.sleeves @ scale - self.liabilities, dtype=np.float64)


def sleeve_paths(
    portfolio: Portfolio, model: G2pp, paths: G2Paths, horizons: npt.ArrayLike
) -> SleevePaths:
    """Revalue each manager's sleeve and the liabilities on every path (see module notes)."""
    p = portfolio
    book = p.book
    z = p.z_spreads.reindex(book.security_ids).to_numpy()
    h = np.atleast_1d(np.asarray(horizons, dtype=float))
    per_security = model.revalue(book, paths, h, z)  # paths x horizons x securities (per 100)
    face = p.face.reindex(columns=book.security_ids).to_numpy() / 100.0  # managers x securities
    remaining = per_security @ face.T
    # Cash each sleeve received before each horizon, reinvested on the path (monthly buckets).
    grid = paths.times
    cash_flows = np.zeros((len(grid), face.shape[0]))
    counts = np.diff(book.layout.offsets)
    security = np.repeat(np.arange(len(book)), counts)
    bucket = np.searchsorted(grid, book.layout.times, side="left")
    inside = bucket < len(grid)
    np.add.at(
        cash_flows, bucket[inside], (face[:, security[inside]] * book.layout.amounts[inside]).T
    )
    cols = paths.columns(h)
    banked = np.einsum("pk,km->pkm", paths.discount, cash_flows).cumsum(axis=1)[:, cols, :]
    banked /= paths.discount[:, cols, None]
    owed = model.revalue(p.liability_stream, paths, h)[:, :, 0]
    lia_cash = np.zeros(len(grid))
    lb = np.searchsorted(grid, p.liability_stream.layout.times, side="left")
    ok = lb < len(grid)
    np.add.at(lia_cash, lb[ok], p.liability_stream.layout.amounts[ok])
    lia_banked = np.cumsum(lia_cash * paths.discount, axis=1)[:, cols] / paths.discount[:, cols]
    liabilities = owed + lia_banked  # what is still owed plus what was paid, grown to the horizon
    return SleevePaths(h, remaining + banked, liabilities, p.managers.index, p.current_weights)


def evaluate(sleeves: SleevePaths, allocations: dict[str, npt.ArrayLike]) -> pd.DataFrame:
    """Shortfall probability, expected shortfall (95%) and surplus quantiles per allocation.

    Returns one row per (allocation, horizon): ``mean``, ``p05``, ``median``, ``p95``,
    ``shortfall_probability`` (surplus below zero) and ``expected_shortfall_95`` (mean of the
    worst 5% of surplus outcomes), all money except the probability.
    """
    rows = []
    for name, weights in allocations.items():
        surplus = sleeves.surplus(weights)
        worst = np.sort(surplus, axis=0)[: max(1, surplus.shape[0] // 20)]
        q = np.quantile(surplus, [0.05, 0.5, 0.95], axis=0)
        for j, h in enumerate(sleeves.horizons):
            rows.append(
                {
                    "allocation": name,
                    "horizon": float(h),
                    "mean": float(surplus[:, j].mean()),
                    "p05": float(q[0, j]),
                    "median": float(q[1, j]),
                    "p95": float(q[2, j]),
                    "shortfall_probability": float((surplus[:, j] < 0).mean()),
                    "expected_shortfall_95": float(worst[:, j].mean()),
                }
            )
    return pd.DataFrame(rows).set_index(["allocation", "horizon"])
