"""Liquidity arithmetic: LCR-style buffers, liquidity-adjusted costs, liquidation horizons.

Pure functions on arrays (one entry per position); the liquidity desk applies them to the book.
Money amounts are in the portfolio's currency; spreads in basis points of price.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.layout import FloatArray

__all__ = [
    "HQLA_LEVELS",
    "LCR_HAIRCUTS",
    "MARKET_REGIMES",
    "MarketRegime",
    "hqla_bounds",
    "hqla_buffer",
    "hqla_levels",
    "liquidation_days",
    "liquidity_adjusted_cost",
    "market_impact_cost",
    "redemption_coverage",
]

#: Haircuts by liquidity tier (Basel III LCR): Level 1 0%, Level 2A 15%, Level 2B 50% (25% for
#: the best Level 2B assets, ``level2b_rmbs``), everything else not counted.
LCR_HAIRCUTS: Final[Mapping[str, float]] = {
    "level1": 0.0,
    "level2a": 0.15,
    "level2b_rmbs": 0.25,
    "level2b": 0.50,
    "illiquid": 1.0,
}


#: The LCR levels a position counts in, after its haircut: ``level2b_rmbs`` is Level 2B.
HQLA_LEVELS: Final = ("level1", "level2a", "level2b")
_LEVEL_OF_TIER: Final[Mapping[str, str | None]] = {
    "level1": "level1",
    "level2a": "level2a",
    "level2b_rmbs": "level2b",
    "level2b": "level2b",
    "illiquid": None,
}


@dataclass(frozen=True)
class MarketRegime:
    """A market state: how bid-ask spreads, their volatility and volumes move."""

    name: str
    bid_ask_multiplier: float
    volume_multiplier: float
    volatility_multiplier: float


MARKET_REGIMES: Final = (
    MarketRegime("normal", 1.0, 1.0, 1.0),
    MarketRegime("moderate", 2.0, 0.5, 1.5),
    MarketRegime("severe", 4.0, 0.25, 2.5),
)


def _arr(x: npt.ArrayLike, name: str, n: int | None = None) -> FloatArray:
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    if n is not None and len(a) != n:
        msg = f"{name}: expected {n} values, got {len(a)}"
        raise ValueError(msg)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        bad = int(np.flatnonzero(~(np.isfinite(a) & (a >= 0)))[0])
        msg = f"{name}: entry {bad} is {a[bad]}; expected a finite, non-negative number"
        raise ValueError(msg)
    return a


def hqla_levels(
    market_value: npt.ArrayLike,
    tiers: Sequence[str],
    haircut_multiplier: float = 1.0,
) -> FloatArray:
    """Post-haircut value of each position in each LCR level (money).

    Parameters
    ----------
    market_value : array
        Market value of each position (money).
    tiers : sequence of str
        Each position's tier: a key of :data:`LCR_HAIRCUTS`.
    haircut_multiplier : float
        Stress factor on haircuts (capped at 100%).

    Returns
    -------
    array
        Positions by :data:`HQLA_LEVELS`: the value after haircut in the position's level,
        zero elsewhere (an illiquid position is zero everywhere).
    """
    mv = _arr(market_value, "hqla_levels: market_value")
    if len(tiers) != len(mv):
        msg = f"hqla_levels: {len(tiers)} tiers for {len(mv)} positions"
        raise ValueError(msg)
    unknown = sorted({t for t in tiers if t not in LCR_HAIRCUTS})
    if unknown:
        msg = f"hqla_levels: unknown liquidity tier(s) {unknown}; expected {list(LCR_HAIRCUTS)}"
        raise ValueError(msg)
    cut = np.array([min(LCR_HAIRCUTS[t] * haircut_multiplier, 1.0) for t in tiers])
    after = mv * (1.0 - cut)
    levels = np.array([_LEVEL_OF_TIER[t] for t in tiers], dtype=object)
    return np.stack([np.where(levels == lv, after, 0.0) for lv in HQLA_LEVELS], axis=1)


def hqla_bounds(level1: Any, level2a: Any, level2b: Any) -> list[Any]:
    """Return the four linear bounds whose minimum is the LCR buffer with the Level 2 caps.

    The Basel III adjustment formulas (Level 2B at most 15% of the buffer, all Level 2 at
    most 40%, applied to post-haircut values) reduce to
    ``hqla = min(L1 + L2A + L2B, (L1 + L2A) / 0.85, 1.25 L1 + L2A, L1 / 0.6)``: a concave
    function of the post-haircut amounts, so an optimizer can require or reward it. Works on
    numbers, arrays and cvxpy expressions alike; this is the one definition of the buffer.
    """
    return [
        level1 + level2a + level2b,
        (level1 + level2a) / 0.85,
        1.25 * level1 + level2a,
        level1 / 0.6,
    ]


def hqla_buffer(
    market_value: npt.ArrayLike,
    tiers: Sequence[str],
    haircut_multiplier: float = 1.0,
) -> pd.Series:
    """High-quality liquid assets after haircuts and the Level 2 caps (Basel III LCR).

    Level 2 assets count for at most 40% of the buffer and Level 2B for at most 15%
    (:func:`hqla_bounds`).

    Parameters
    ----------
    market_value : array
        Market value of each position (money).
    tiers : sequence of str
        Each position's tier: a key of :data:`LCR_HAIRCUTS`.
    haircut_multiplier : float
        Stress factor on haircuts (capped at 100%).

    Returns
    -------
    Series
        ``level1``, ``level2a``, ``level2b`` (post-haircut), ``cap_adjustment`` (what the
        caps take off) and ``hqla``, the buffer that counts.
    """
    l1, l2a, l2b = (float(v) for v in hqla_levels(market_value, tiers, haircut_multiplier).sum(0))
    hqla = float(min(hqla_bounds(l1, l2a, l2b)))
    return pd.Series(
        {
            "level1": l1,
            "level2a": l2a,
            "level2b": l2b,
            "cap_adjustment": l1 + l2a + l2b - hqla,
            "hqla": hqla,
        }
    )


def liquidity_adjusted_cost(
    market_value: npt.ArrayLike,
    bid_ask_bp: npt.ArrayLike,
    bid_ask_vol_bp: npt.ArrayLike,
    confidence_z: float = 2.33,
) -> FloatArray:
    """Exogenous liquidity cost per position (Bangia et al.): half of ``mean + z * vol`` spread.

    ``cost = market_value * 0.5 * (bid_ask + z * bid_ask_vol) * 1e-4``, with spreads and their
    volatility in basis points of price and `confidence_z` the normal quantile (2.33 for 99%).
    """
    mv = _arr(market_value, "liquidity_adjusted_cost: market_value")
    ba = _arr(bid_ask_bp, "liquidity_adjusted_cost: bid_ask_bp", len(mv))
    vol = _arr(bid_ask_vol_bp, "liquidity_adjusted_cost: bid_ask_vol_bp", len(mv))
    return mv * 0.5 * (ba + confidence_z * vol) * 1e-4


def liquidation_days(
    market_value: npt.ArrayLike,
    adv: npt.ArrayLike,
    fractions: Sequence[float] = (0.1, 0.25, 0.5, 1.0),
    participation: float = 0.2,
) -> pd.DataFrame:
    """Trading days to sell each fraction of each position without exceeding a share of volume.

    ``days = fraction * market_value / (participation * adv)``; a position with no traded
    volume takes infinite time.

    Parameters
    ----------
    market_value, adv : array
        Position size and average daily traded volume, both money.
    fractions : sequence of float
        Shares of each position to sell.
    participation : float
        Largest share of a day's volume the seller may take (0 < p <= 1).
    """
    mv = _arr(market_value, "liquidation_days: market_value")
    vol = _arr(adv, "liquidation_days: adv", len(mv))
    if not 0.0 < participation <= 1.0:
        msg = f"liquidation_days: participation must be in (0, 1], got {participation}"
        raise ValueError(msg)
    capacity = participation * vol
    with np.errstate(divide="ignore", invalid="ignore"):
        cols = {
            f"days_{f:g}": np.where(capacity > 0, f * mv / capacity, np.where(mv > 0, np.inf, 0.0))
            for f in fractions
        }
    return pd.DataFrame(cols)


def market_impact_cost(
    traded: npt.ArrayLike,
    adv: npt.ArrayLike,
    daily_vol: npt.ArrayLike,
    impact_coefficient: float = 1.0,
) -> FloatArray:
    """Market impact of trading an amount, by the square-root law (money).

    ``cost = traded * Y * sigma_daily * sqrt(traded / adv)``, with `daily_vol` the daily price
    volatility (decimal) and ``Y`` the impact coefficient (about 1 in empirical studies).
    """
    q = _arr(traded, "market_impact_cost: traded")
    vol = _arr(adv, "market_impact_cost: adv", len(q))
    sigma = _arr(daily_vol, "market_impact_cost: daily_vol", len(q))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(vol > 0, q / vol, np.where(q > 0, np.inf, 0.0))
    return np.asarray(q * impact_coefficient * sigma * np.sqrt(ratio), dtype=np.float64)


def redemption_coverage(
    market_value: npt.ArrayLike,
    adv: npt.ArrayLike,
    bid_ask_bp: npt.ArrayLike,
    redemption: float,
    days: float,
    participation: float = 0.2,
    regime: MarketRegime = MARKET_REGIMES[0],
) -> pd.Series:
    """Whether a cash call can be met by selling within a horizon, and at what cost.

    Sells the most liquid capacity first: each position can deliver at most
    ``participation * adv * volume_multiplier * days`` (capped at its size), cheapest bid-ask
    first, until ``redemption`` (money) is raised.

    Returns
    -------
    Series
        ``redemption``, ``capacity`` (what can be sold in time), ``raised``, ``shortfall`` and
        ``cost`` (half bid-ask on what is sold, regime-scaled), all money.
    """
    mv = _arr(market_value, "redemption_coverage: market_value")
    vol = _arr(adv, "redemption_coverage: adv", len(mv)) * regime.volume_multiplier
    ba = _arr(bid_ask_bp, "redemption_coverage: bid_ask_bp", len(mv)) * regime.bid_ask_multiplier
    if redemption < 0 or days <= 0:
        msg = f"redemption_coverage: redemption {redemption} must be >= 0 and days {days} > 0"
        raise ValueError(msg)
    sellable = np.minimum(mv, participation * vol * days)
    order = np.argsort(ba, kind="stable")
    taken = np.minimum(
        sellable[order],
        np.maximum(redemption - np.concatenate([[0.0], np.cumsum(sellable[order])[:-1]]), 0.0),
    )
    raised = float(taken.sum())
    cost = float(np.dot(taken, 0.5 * ba[order] * 1e-4))
    return pd.Series(
        {
            "redemption": float(redemption),
            "capacity": float(sellable.sum()),
            "raised": raised,
            "shortfall": max(float(redemption) - raised, 0.0),
            "cost": cost,
        }
    )
