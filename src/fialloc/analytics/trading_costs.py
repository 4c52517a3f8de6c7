"""What moving money between managers costs: spread, market impact and in-kind transfers.

A security sold by one manager and bought by another moves between them in kind, off the
market (:func:`in_kind_split`). What is left trades on the market and pays half the bid-ask
spread plus square-root market impact, spread over the trading days:
``q * sigma * sqrt(q / (adv * days))`` (:func:`trade_costs`; see
:func:`fialloc.analytics.liquidity_costs.market_impact_cost`).

:func:`manager_cost_coefficients` gives the optimizer these costs per manager in closed form,
for a sleeve moved pro rata on its own (no in-kind netting, every position traded: an upper
bound on what the plan, which nets transfers and trades the cheapest positions first, pays).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from fialloc.analytics.liquidity_costs import market_impact_cost
from fialloc.layout import FloatArray

__all__ = ["DAILY_PRICE_VOL", "in_kind_split", "manager_cost_coefficients", "trade_costs"]

#: Daily price volatility of a bond for market impact (decimal).
DAILY_PRICE_VOL: Final = 0.004


def _sleeve_mix(market_values: pd.DataFrame) -> FloatArray:
    """Return each security's share of each sleeve's value: managers x securities."""
    mv = market_values.to_numpy(dtype=float)
    size = mv.sum(axis=1, keepdims=True)
    return np.asarray(np.divide(mv, size, out=np.zeros_like(mv), where=size > 0), dtype=np.float64)


def in_kind_split(
    sold: FloatArray, bought: FloatArray, adv: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Split per-security sales and purchases (money) into in-kind transfers and market trades.

    A security both sold and bought changes hands in kind between the managers, up to the
    smaller side; one that does not trade (``adv`` of 0, e.g. private placements) moves off the
    market whole. Returns ``(in_kind, market)`` per security: market is sells plus buys.
    """
    traded = np.asarray(adv, dtype=float) > 0
    in_kind = np.where(traded, np.minimum(sold, bought), np.maximum(sold, bought))
    market = np.where(traded, sold + bought - 2.0 * in_kind, 0.0)
    return in_kind, market


def trade_costs(
    market: FloatArray, bid_ask_bp: FloatArray, adv: FloatArray, days: float
) -> tuple[float, float]:
    """Half-spread and market impact (money) of market trades per security over `days` days."""
    half_spread = np.asarray(bid_ask_bp, dtype=float) * 0.5e-4
    volume = np.asarray(adv, dtype=float)
    traded = volume > 0
    impact = market_impact_cost(
        market[traded], volume[traded] * days, np.full(int(traded.sum()), DAILY_PRICE_VOL)
    )
    return float(market @ half_spread), float(impact.sum())


def manager_cost_coefficients(
    market_values: pd.DataFrame, bid_ask_bp: pd.Series, adv: pd.Series, days: float
) -> pd.DataFrame:
    """Per manager: the cost of moving money out of or into its sleeve alone, in closed form.

    Moving ``d`` (money) trades ``d * v_s`` of each of its securities on the market over `days`
    trading days, costing ``linear * d + impact * d ** 1.5`` (money): ``linear`` is the
    sleeve's average half bid-ask (decimal), ``impact = sigma * sum_s v_s ** 1.5 /
    sqrt(adv_s * days)`` (per money ** 0.5). Securities that do not trade add nothing (they
    move in kind). In weights, with assets ``A``: ``A * (linear * |dw| + impact * sqrt(A) *
    |dw| ** 1.5)``, the optimizer's trading cost.

    Returns
    -------
    DataFrame
        Managers by ``linear`` (decimal) and ``impact`` (money ** -0.5).
    """
    mix = _sleeve_mix(market_values)
    volume = adv.reindex(market_values.columns).to_numpy(dtype=float)
    traded = volume > 0
    half = bid_ask_bp.reindex(market_values.columns).to_numpy(dtype=float) * 0.5e-4
    linear = mix[:, traded] @ half[traded]
    impact = DAILY_PRICE_VOL * (mix[:, traded] ** 1.5) @ (1.0 / np.sqrt(volume[traded] * days))
    return pd.DataFrame({"linear": linear, "impact": impact}, index=market_values.index)
