"""Liquidity desk: tiers and the LCR-style buffer, costs, liquidation horizons and stresses."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fialloc.analytics.context import DeskContext
from fialloc.analytics.liquidity_costs import (
    MARKET_REGIMES,
    hqla_buffer,
    liquidation_days,
    liquidity_adjusted_cost,
    market_impact_cost,
    redemption_coverage,
)
from fialloc.annuities import mass_lapse_cash_call
from fialloc.data.mandate import Mandate
from fialloc.data.portfolio import Portfolio
from fialloc.desks.result import DeskResult, Finding

__all__ = ["LAPSE_DAYS", "REDEMPTIONS", "analyze"]

#: Trading days within which a mass lapse's surrenders are paid.
LAPSE_DAYS = (5, 20)
#: Cash calls tested: share of assets and the trading days to raise it.
REDEMPTIONS = tuple((share, days) for share in (0.05, 0.10, 0.20) for days in (1, 5, 20, 60))
DAILY_PRICE_VOL = 0.004  # daily price volatility used for market impact (decimal)


def analyze(ctx: DeskContext, participation: float = 0.2) -> DeskResult:
    """Run the liquidity desk.

    Tables: ``tiers`` (value by liquidity tier), ``buffer`` (Level 1/2A/2B after haircuts and
    the Level 2 caps, normal and stressed haircuts), ``managers`` (buffer share, illiquid share,
    liquidity-adjusted cost and days to sell a quarter of the sleeve), ``liquidation`` (days to
    sell 10-100% of each position at `participation` of daily volume), ``redemptions`` (cash
    calls of 5-20% over 1-60 days in normal, moderate and severe markets), ``lapse_surge``
    (the annuity blocks' mass lapse as a cash call over 5 and 20 days in each market).
    Findings: a buffer below the mandate's target, illiquid assets above the mandate's
    maximum, cash calls that cannot be met in time, and a mass lapse that cannot be paid in
    time (``lapse_surge_shortfall``).
    """
    p = ctx.portfolio
    mandate = p.mandate
    sec = p.securities.loc[ctx.securities.index]
    mv = ctx.securities["market_value"]
    total = float(mv.sum())
    tiers = list(sec["liquidity_tier"])
    buffer = pd.DataFrame(
        {
            "normal": hqla_buffer(mv, tiers),
            "stressed": hqla_buffer(mv, tiers, haircut_multiplier=2.0),
        }
    )
    by_tier = mv.groupby(sec["liquidity_tier"]).sum().to_frame("market_value")
    by_tier["share"] = by_tier["market_value"] / total
    cost = pd.Series(
        liquidity_adjusted_cost(mv, sec["bid_ask_bp"], sec["bid_ask_vol_bp"]), index=mv.index
    )
    days = liquidation_days(mv, sec["adv"], participation=participation)
    days.index = mv.index
    managers = _managers_table(p, sec, mv, cost, days)
    redemptions = _redemptions(sec, mv, participation)
    hqla_normal, hqla_stressed = buffer.loc["hqla"].to_numpy(dtype=float)
    hqla_share = float(hqla_normal / total)
    illiquid_share = float(by_tier["share"].reindex(["illiquid"]).fillna(0.0).iloc[0])
    findings = _limit_findings(hqla_share, illiquid_share, mandate)
    findings += _redemption_findings(redemptions)
    lapse_surge, lapse_findings, lapse_call = _lapse_surge(ctx, participation)
    findings += lapse_findings
    return DeskResult(
        desk="liquidity",
        tables={
            "tiers": by_tier,
            "buffer": buffer,
            "managers": managers,
            "liquidation": days,
            "redemptions": redemptions,
            "lapse_surge": lapse_surge,
        },
        findings=findings,
        summary={
            "buffer_share": hqla_share,
            "stressed_buffer_share": float(hqla_stressed / total),
            "illiquid_share": illiquid_share,
            "adjusted_cost_bp": float(cost.sum() / total * 1e4),
            "mass_lapse_cash_call": lapse_call,
            "mass_lapse_share": lapse_call / total,
        },
    )


def _managers_table(
    p: Portfolio, sec: pd.DataFrame, mv: pd.Series, cost: pd.Series, days: pd.DataFrame
) -> pd.DataFrame:
    """Per manager: buffer and illiquid shares, adjusted and impact costs, days to sell 25%."""
    impact = market_impact_cost(
        0.25 * mv.to_numpy(), sec["adv"].to_numpy(), [DAILY_PRICE_VOL] * len(mv)
    )
    mvm = p.market_values[mv.index]
    sleeve = mvm.sum(axis=1)
    share = mvm.div(mv, axis=1).fillna(0.0)  # each manager's share of each position
    illiquid = (sec["liquidity_tier"] == "illiquid").astype(float)
    level1 = (sec["liquidity_tier"] == "level1").astype(float)
    # Positions that never trade (no volume) cannot be sold: infinite days, no impact estimate.
    impact_cost = pd.Series(impact, index=mv.index).where(sec["adv"] > 0)
    return pd.DataFrame(
        {
            "level1_share": (mvm @ level1) / sleeve,
            "illiquid_share": (mvm @ illiquid) / sleeve,
            "adjusted_cost_bp": (share @ cost) / sleeve * 1e4,
            "impact_cost_bp_25pct": share.mul(impact_cost, axis=1).sum(axis=1) / sleeve * 1e4,
            "days_to_sell_25pct": pd.DataFrame(
                np.broadcast_to(days["days_0.25"].to_numpy(), share.shape),
                index=share.index,
                columns=share.columns,
            )
            .where(share > 0)
            .max(axis=1),
        }
    )


def _redemptions(sec: pd.DataFrame, mv: pd.Series, participation: float) -> pd.DataFrame:
    """Each cash call of :data:`REDEMPTIONS` in each market regime: what can be raised in time."""
    total = float(mv.sum())
    rows = []
    for regime in MARKET_REGIMES:
        for call, horizon in REDEMPTIONS:
            out = redemption_coverage(
                mv, sec["adv"], sec["bid_ask_bp"], call * total, horizon, participation, regime
            )
            rows.append(
                {"regime": regime.name, "redemption_share": call, "days": horizon, **out.to_dict()}
            )
    return pd.DataFrame(rows)


def _limit_findings(hqla_share: float, illiquid_share: float, mandate: Mandate) -> list[Finding]:
    """Flag a buffer below the mandate's target and illiquid assets over its limit."""
    findings: list[Finding] = []
    if hqla_share < mandate.liquidity_buffer:
        findings.append(
            Finding(
                code="liquidity_buffer",
                severity="action",
                subject="portfolio",
                message=(
                    f"High-quality liquid buffer {hqla_share:.1%} is below the "
                    f"{mandate.liquidity_buffer:.0%} target"
                ),
                metrics={"buffer_share": hqla_share},
            )
        )
    if illiquid_share > mandate.max_illiquid:
        findings.append(
            Finding(
                code="illiquid_share",
                severity="action",
                subject="portfolio",
                message=(
                    f"Illiquid assets {illiquid_share:.1%} exceed the "
                    f"{mandate.max_illiquid:.0%} limit"
                ),
                metrics={"illiquid_share": illiquid_share},
            )
        )
    return findings


def _redemption_findings(redemptions: pd.DataFrame) -> list[Finding]:
    """Flag each cash call that cannot be met in time in a normal or moderate market."""
    # A shortfall counts when it exceeds 0.1% of the cash call, not rounding in the allocation.
    short = redemptions["shortfall"] > 1e-3 * redemptions["redemption"]
    return [
        Finding(
            code="redemption_shortfall",
            severity="watch",
            subject=row["regime"],
            message=(
                f"A {row['redemption_share']:.0%} cash call over {row['days']} days "
                f"in a {row['regime']} market falls {row['shortfall'] / 1e9:.2f}B short"
            ),
            metrics={"shortfall": float(row["shortfall"])},
        )
        for _, row in redemptions[short & (redemptions["regime"] != "severe")].iterrows()
    ]


def _lapse_surge(
    ctx: DeskContext, participation: float
) -> tuple[pd.DataFrame, list[Finding], float]:
    """Test whether the mass lapse, as a cash call, can be raised within the lapse horizons.

    The call is what :data:`fialloc.annuities.MASS_LAPSE` of the fixed-annuity policies are
    paid when they surrender at once (account value less surrender charge,
    :func:`fialloc.annuities.mass_lapse_cash_call`), tested like a redemption in each market
    regime over :data:`LAPSE_DAYS`. No annuity blocks: no rows, a call of 0.
    """
    blocks = ctx.portfolio.annuity_blocks
    call = 0.0 if blocks is None else mass_lapse_cash_call(blocks[0])
    if call <= 0:
        return pd.DataFrame(columns=["regime", "days", "redemption", "shortfall"]), [], 0.0
    sec = ctx.portfolio.securities.loc[ctx.securities.index]
    mv = ctx.securities["market_value"]
    rows = [
        {
            "regime": regime.name,
            "days": days,
            **redemption_coverage(
                mv, sec["adv"], sec["bid_ask_bp"], call, days, participation, regime
            ).to_dict(),
        }
        for regime in MARKET_REGIMES
        for days in LAPSE_DAYS
    ]
    table = pd.DataFrame(rows)
    findings = [
        Finding(
            code="lapse_surge_shortfall",
            severity="action",
            subject=str(row["regime"]),
            message=(
                f"A mass lapse ({call / 1e9:.2f}B of surrenders) cannot be paid within "
                f"{row['days']} days in a {row['regime']} market: {row['shortfall'] / 1e9:.2f}B "
                "short"
            ),
            metrics={"cash_call": call, "shortfall": float(row["shortfall"])},
        )
        for _, row in table.iterrows()
        if row["shortfall"] > 1e-3 * call
    ]
    return table, findings, call
