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

from fialloc.analytics.currency_exposure import foreign_currencies, fx_column
from fialloc.bonds import krd_column
from fialloc.curve_set import currency_krd_column
from fialloc.data import Portfolio
from fialloc.data.vocabulary import RATING_LETTERS
from fialloc.scenarios import CreditInflationPaths, G2Paths, G2pp

__all__ = ["history_covariance", "scenario_covariance"]


def _names(tenors: Sequence[float]) -> tuple[list[str], list[str]]:
    return [krd_column(t) for t in tenors], [f"sd_{x}" for x in RATING_LETTERS]


def history_covariance(portfolio: Portfolio, tenors: Sequence[float]) -> pd.DataFrame:
    """Covariance of monthly zero-rate moves at `tenors` (years) and spread moves by rating.

    Factors are named ``krd_<tenor>y`` and ``sd_<rating>``; months missing a series are dropped.
    Tenors the history does not quote are read off each month's curve
    (:meth:`Portfolio.zero_history_at`). A book holding other currencies adds, per currency,
    its zero-rate moves ``krd_<CCY>_<tenor>y`` and its FX spot's log moves ``fx_<CCY>``
    (:meth:`Portfolio.currency_zero_history`, :meth:`Portfolio.fx_history`).

    Raises
    ------
    ValueError
        If fewer than 12 months have every series, naming a currency without history.
    """
    zeros = portfolio.zero_history_at(tenors)
    keys, spreads = _names(tenors)
    rate_moves = zeros.diff().iloc[1:]
    rate_moves.columns = keys
    spread_moves = portfolio.spread_history[list(RATING_LETTERS)].diff().iloc[1:]
    spread_moves.columns = spreads
    moves = pd.concat([rate_moves, spread_moves, *_currency_moves(portfolio, tenors)], axis=1)
    moves = moves.dropna()
    if len(moves) < 12:
        msg = f"history_covariance: {len(moves)} complete months of history; need 12 or more"
        raise ValueError(msg)
    return moves.cov() * 12.0


def _currency_moves(portfolio: Portfolio, tenors: Sequence[float]) -> list[pd.DataFrame]:
    """Monthly zero-rate and log FX moves of every other currency held, as factor columns."""
    base = portfolio.mandate.base_currency
    out = []
    for currency in foreign_currencies(portfolio):
        zeros = portfolio.currency_zero_history(currency, tenors)
        spot = portfolio.fx_history(currency)
        if zeros.empty or spot.empty:
            msg = (
                f"history_covariance: {currency} bonds are held but the market history has no "
                f"{currency} zero rates (series zero_{currency}_<years>y) or FX spots "
                f"(fx_{currency})"
            )
            raise ValueError(msg)
        rates = zeros.diff().iloc[1:]
        rates.columns = [currency_krd_column(currency, t, base) for t in tenors]
        fx = pd.Series(np.log(spot.to_numpy(dtype=float)), index=spot.index).diff().iloc[1:]
        fx = fx.rename(fx_column(currency))
        out += [rates, fx.to_frame()]
    return out


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
