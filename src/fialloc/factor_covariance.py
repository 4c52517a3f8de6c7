"""Covariance of the optimizer's risk factors: key-rate zero moves and credit spreads by rating.

Two sources, both annualized from monthly moves (decimal rates squared a year): the market
history the user supplies (:func:`history_covariance`), or the scenario engine
(:func:`scenario_covariance`), which reads the first month of the G2++ rate paths and of the
correlated spread paths, so the optimizer's tracking error and the scenarios' surplus
distribution rest on one model of how rates and spreads move.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fialloc.bonds import krd_column
from fialloc.data import Portfolio
from fialloc.scenarios import RATING_LETTERS, CreditInflationPaths, G2Paths, G2pp

__all__ = ["history_covariance", "scenario_covariance"]


def _names(tenors: Sequence[float]) -> tuple[list[str], list[str]]:
    return [krd_column(t) for t in tenors], [f"sd_{x}" for x in RATING_LETTERS]


def history_covariance(portfolio: Portfolio, tenors: Sequence[float]) -> pd.DataFrame:
    """Covariance of monthly zero-rate moves at `tenors` (years) and spread moves by rating.

    Factors are named ``krd_<tenor>y`` and ``sd_<rating>``; months missing a series are dropped.
    Tenors the history does not quote are read off each month's curve
    (:meth:`Portfolio.zero_history_at`).
    """
    zeros = portfolio.zero_history_at(tenors)
    keys, spreads = _names(tenors)
    rate_moves = zeros.diff().iloc[1:]
    rate_moves.columns = keys
    spread_moves = portfolio.spread_history[list(RATING_LETTERS)].diff().iloc[1:]
    spread_moves.columns = spreads
    moves = pd.concat([rate_moves, spread_moves], axis=1).dropna()
    if len(moves) < 12:
        msg = f"history_covariance: {len(moves)} complete months of history; need 12 or more"
        raise ValueError(msg)
    return moves.cov() * 12.0


def scenario_covariance(
    model: G2pp, paths: G2Paths, tenors: Sequence[float], credit: CreditInflationPaths
) -> pd.DataFrame:
    """Covariance of the first month's moves across the scenario paths, annualized.

    Key-rate moves are the change of the continuously compounded zero rate at each tenor
    (years) from today to the first grid time; spread moves are the rating spreads' change.
    """
    t = float(paths.times[0])
    if not 0 < t <= 0.25:
        msg = f"scenario_covariance: the paths' first time must be within 3 months, got {t} years"
        raise ValueError(msg)
    tau = np.asarray(tenors, dtype=float)
    p = model.zero_bond(t, t + tau, paths.x[:, 0], paths.y[:, 0])
    zero_moves = -np.log(p) / tau - np.asarray(model.curve.zero_rate(tau))
    spread_moves = credit.spreads[:, 0, :] - credit.today
    keys, spreads = _names(tenors)
    moves = np.hstack([zero_moves, spread_moves])
    names = keys + spreads
    return pd.DataFrame(np.cov(moves.T) / t, index=names, columns=names)
