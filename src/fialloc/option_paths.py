"""A book's MBS pools valued with their prepayment model on the run's scenario paths.

The run revalues every bond on the G2++ paths (:func:`fialloc.robustness.sleeve_paths`). A
held pool of ``mbs_pools`` in the base currency rides them with its model instead of its
scheduled flows:

- along each path it pays, month by month, the interest and principal of the rate-dependent
  prepayment model driven by that path's mortgage rate, seasoning and burnout carried along
  the path; each month's cash is banked at the path's bank account to the horizon, like every
  other flow (:func:`fialloc.mbs.path_values`);
- at each horizon the pool left is worth its Monte Carlo value at today's OAS from the path's
  state there, regressed on that state (the refinancing incentive, the balance left and the
  curve's short end) from paths of the run's own model (:func:`fialloc.mbs.horizon_values`,
  Longstaff and Schwartz), less the path's spread move times the regressed spread
  sensitivity. Checked against a nested Monte Carlo from the horizon state in
  ``tests/core/test_mbs_paths.py``.

Pools in another currency than the base stay on their scheduled flows (agency pools are USD;
a book whose base currency is not would need their flows converted on the path), and so do
all pools on a grid other than monthly (:func:`on_monthly_grid`: the prepayment model needs
each month's state; the run's grid is monthly).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.data import Portfolio
from fialloc.layout import FloatArray, IndexArray
from fialloc.mbs import HorizonValues, MbsPools, horizon_incentive, horizon_values, path_values
from fialloc.scenarios import G2Paths, G2pp

__all__ = ["PoolPaths", "on_monthly_grid", "pool_paths", "pool_regression", "regression_at"]


def on_monthly_grid(times: npt.ArrayLike) -> bool:
    """Whether `times` (years) is the monthly grid ``k / 12``, ``k = 1..K``."""
    t = np.asarray(times, dtype=np.float64)
    return bool(np.allclose(t, np.arange(1, len(t) + 1) / 12.0, rtol=0, atol=1e-12))


@dataclass(frozen=True)
class PoolPaths:
    """The held pools of the base currency, with what values them on the run's paths.

    Attributes
    ----------
    rows : ndarray of int64
        Positions of the pools in the run's book.
    pools : MbsPools
    oas : ndarray
        Each pool's OAS (decimal), solved from today's price.
    horizon : HorizonValues
        The pools' values at the horizons, regressed on the state.
    holdings : ndarray
        Managers x pools: units of 100 face (base money).
    groups : ndarray of int64
        Each pool's credit group (its rating's index, -1 for none).
    """

    rows: IndexArray
    pools: MbsPools
    oas: FloatArray
    horizon: HorizonValues
    holdings: FloatArray
    groups: npt.NDArray[np.int64]

    def without(self, face: FloatArray, security_ids: pd.Index) -> FloatArray:
        """`face` (holders x `security_ids`) with the pools' columns set to zero."""
        at = np.asarray(security_ids.get_indexer(self.pools.ids), dtype=np.int64)
        out = np.array(face, dtype=np.float64, copy=True)
        out[:, at[at >= 0]] = 0.0
        return out

    def sleeves(
        self,
        model: G2pp,
        paths: G2Paths,
        horizons: npt.ArrayLike,
        threads: int | None = None,
        spread_moves: FloatArray | None = None,
    ) -> FloatArray:
        """Each manager's pools on every path: banked cash plus the pools left (money).

        Parameters
        ----------
        model : G2pp
            The base currency's model of `paths`.
        paths : G2Paths
            The base economy's paths on the monthly grid.
        horizons : array
            Years, on the grid (those of :attr:`horizon`).
        threads : int, optional
            The kernel's threads; the values do not depend on them.
        spread_moves : ndarray, optional
            Spread changes by credit group, paths x horizons x groups (decimals).

        Returns
        -------
        ndarray
            Paths x horizons x managers.
        """
        h = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
        if not np.array_equal(h, self.horizon.horizons):
            msg = (
                f"PoolPaths.sleeves: horizons {h} are not the regression's {self.horizon.horizons}"
            )
            raise ValueError(msg)
        values = path_values(self.pools, model, paths, h, threads=threads)
        cols = paths.columns(h)
        incentive = horizon_incentive(self.pools, model, paths, h, self.horizon.model)
        shift = None
        if spread_moves is not None and bool(np.any(self.groups >= 0)):
            moved = self.groups >= 0
            shift = np.zeros_like(incentive)
            shift[:, :, moved] = spread_moves[:, :, self.groups[moved]]
        left = self.horizon.values(incentive, values.balance, paths.y[:, cols], shift)
        per_face = values.banked / paths.discount[:, cols, None] + left
        return np.asarray(per_face @ self.holdings.T, dtype=np.float64)


def pool_regression(
    portfolio: Portfolio, model: G2pp, horizons: npt.ArrayLike, seed: int
) -> HorizonValues | None:
    """Fit the base-currency pools' values at the horizons for a run (None without pools).

    :func:`fialloc.mbs.horizon_values` on `model`, at each pool's OAS, from paths of `seed`'s
    stream that no run uses. A run fits it once and passes it to every chunk of its paths
    (:func:`pool_paths`); :func:`regression_at` takes the horizons another block of paths
    needs.

    Parameters
    ----------
    portfolio : Portfolio
        Validated inputs.
    model : G2pp
        The base currency's model of the run, on the base curve.
    horizons : array
        Years.
    seed : int
        The run's seed.
    """
    held = _held_pools(portfolio)
    if held is None:
        return None
    _, pools, oas = held
    h = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
    return horizon_values(pools, model, h, oas, seed=int(seed))


def regression_at(fitted: HorizonValues, horizons: npt.ArrayLike) -> HorizonValues:
    """Return `fitted` at some of its horizons (years), as a fit at those alone would be.

    Each horizon's regression is fitted on its own, on the same paths: a fit at fewer
    horizons gives these values bitwise.

    Raises
    ------
    ValueError
        If a horizon is not one of `fitted`'s.
    """
    h = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
    at = [int(np.flatnonzero(fitted.horizons == t)[0]) for t in h if t in fitted.horizons]
    if len(at) != len(h):
        msg = f"regression_at: horizons {h} are not all among the fit's {fitted.horizons}"
        raise ValueError(msg)
    return replace(
        fitted,
        horizons=fitted.horizons[at],
        value_coefficients=fitted.value_coefficients[at],
        dv_coefficients=fitted.dv_coefficients[at],
        residual_std=fitted.residual_std[at],
    )


def _held_pools(p: Portfolio) -> tuple[IndexArray, MbsPools, FloatArray] | None:
    """Return the base-currency pools' rows in the book, terms and OAS (None without)."""
    mbs = p.mbs_valuation
    if mbs is None or p.mbs_pools is None:
        return None
    rows = p.book.security_ids.get_indexer(mbs.ids)
    if str(p.currencies.iloc[rows[0]]) != p.mandate.base_currency:
        return None
    terms = p.mbs_pools.set_index("security_id", drop=False)
    pools = MbsPools.from_frame(terms.loc[list(mbs.ids)].reset_index(drop=True))
    return rows.astype(np.int64), pools, np.ascontiguousarray(mbs.oas, dtype=np.float64)


def pool_paths(
    portfolio: Portfolio,
    model: G2pp,
    horizons: npt.ArrayLike,
    seed: int,
    groups: npt.ArrayLike,
    fitted: HorizonValues | None = None,
) -> PoolPaths | None:
    """Return the portfolio's base-currency pools ready for the run's paths (None without).

    Parameters
    ----------
    portfolio : Portfolio
        Validated inputs.
    model : G2pp
        The base currency's model of the run, on the base curve.
    horizons : array
        Years.
    seed : int
        The run's seed.
    groups : array of int64
        Credit group of every bond of the book (book order, -1 for none).
    fitted : HorizonValues, optional
        The run's regression at `horizons` (:func:`pool_regression`); fitted here without.

    Raises
    ------
    ValueError
        If `fitted` is not at `horizons`.
    """
    held = _held_pools(portfolio)
    if held is None:
        return None
    rows, pools, oas = held
    h = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
    if fitted is None:
        fitted = horizon_values(pools, model, h, oas, seed=int(seed))
    elif not np.array_equal(fitted.horizons, h):
        msg = f"pool_paths: the regression is at {fitted.horizons}, the paths' horizons are {h}"
        raise ValueError(msg)
    face = portfolio.face.reindex(columns=portfolio.book.security_ids).to_numpy(dtype=float)
    return PoolPaths(
        rows,
        pools,
        oas,
        fitted,
        np.ascontiguousarray(face[:, rows] / 100.0),
        np.asarray(groups, dtype=np.int64)[rows],
    )
