"""The demo's global aggregate manager: EUR, GBP, JPY and CAD sovereign sleeves, part hedged.

Added to a generated book (:func:`fialloc.data.demo.demo_tables`, and to generated books on
request) from a random stream of its own, so every other table and planted truth stays as it
was; the other managers' weights and holdings are scaled down to make room for it.

- Curves: each currency's government curve (bills as deposits, par bonds with the market's
  coupon frequency) and OIS curve (deposits up to a year, then OIS), plus the USD OIS curve,
  as quotes in ``curve_quotes`` with ``currency`` and ``curve`` columns (levels of late 2026:
  Bunds 2.65% and gilts 4.60% at ten years, JGBs 1.65%, Canadas 3.20%). The USD government
  curve keeps the demo's quotes and their generic conventions (ACT/365F, annual swaps), given
  explicitly.
- FX: spots of EUR 1.17 and GBP 1.34 USD, 148 JPY and 1.38 CAD per USD, with
  cross-currency bases of -10, -5, -30 and -5 bp.
- The manager holds ten sovereign bonds in each currency, its EUR and JPY bonds fully hedged
  to USD, GBP half and CAD not at all (:data:`HEDGE_RATIOS`).
- History: 60 months of each currency's zero rates (level moves of half the US 10-year's
  plus their own, and slope moves) and FX spots (``zero_<CCY>_<tenor>y``, ``fx_<CCY>`` in
  ``market_history``); the manager's returns are its bonds' carry, rate and unhedged FX moves
  plus noise (no skill, no beta, no drift); its holdings and benchmark histories are today's
  positions throughout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pandas as pd

from fialloc.bonds import BondBook
from fialloc.curve_set import CONVENTIONS, CurveSet, build_curve_set
from fialloc.data.fx import fx_rates
from fialloc.schedule import add_months

__all__ = [
    "FX_SPOT",
    "GLOBAL_MANAGER",
    "GLOBAL_WEIGHT",
    "HEDGE_RATIOS",
    "add_global_sleeve",
    "global_quotes",
]

GLOBAL_MANAGER: Final = "M26"
GLOBAL_WEIGHT: Final = 0.03
HEDGE_RATIOS: Final = {"EUR": 1.0, "GBP": 0.5, "JPY": 1.0, "CAD": 0.0}
_TENORS: Final = ("3M", "6M", "1Y", "2Y", "3Y", "5Y", "7Y", "10Y", "15Y", "20Y", "30Y")
#: Government and OIS quotes (percent) at :data:`_TENORS`.
_LEVELS: Final = {
    ("USD", "ois"): (3.85, 3.72, 3.55, 3.40, 3.36, 3.42, 3.53, 3.70, 3.88, 3.98, 3.95),
    ("EUR", "government"): (1.90, 1.92, 1.95, 2.00, 2.05, 2.20, 2.40, 2.65, 2.90, 3.05, 3.15),
    ("EUR", "ois"): (1.93, 1.95, 1.98, 2.02, 2.08, 2.20, 2.33, 2.50, 2.65, 2.70, 2.62),
    ("GBP", "government"): (3.95, 3.90, 3.80, 3.85, 3.90, 4.05, 4.30, 4.60, 5.00, 5.20, 5.35),
    ("GBP", "ois"): (3.97, 3.92, 3.80, 3.65, 3.62, 3.70, 3.85, 4.05, 4.30, 4.40, 4.35),
    ("JPY", "government"): (0.45, 0.50, 0.60, 0.85, 0.95, 1.20, 1.40, 1.65, 2.30, 2.60, 3.10),
    ("JPY", "ois"): (0.48, 0.52, 0.62, 0.80, 0.90, 1.05, 1.20, 1.40, 1.75, 1.95, 2.15),
    ("CAD", "government"): (2.55, 2.50, 2.45, 2.50, 2.60, 2.80, 3.00, 3.20, 3.45, 3.55, 3.60),
    ("CAD", "ois"): (2.60, 2.55, 2.48, 2.45, 2.50, 2.65, 2.82, 3.00, 3.20, 3.28, 3.25),
}
#: FX spots as a desk quotes them, and the cross-currency bases (decimals).
FX_SPOT: Final = pd.DataFrame(
    {
        "currency": ["EUR", "GBP", "JPY", "CAD"],
        "rate": [1.17, 1.34, 148.0, 1.38],
        "quoted": ["base_per_unit", "base_per_unit", "units_per_base", "units_per_base"],
        "basis": [-0.0010, -0.0005, -0.0030, -0.0005],
    }
)
_RATINGS: Final = {"EUR": "AAA", "GBP": "AA", "JPY": "A+", "CAD": "AAA"}
_BONDS_PER_CURRENCY: Final = 10
#: Monthly volatilities: each currency's rate level (decimal) and FX spot (log).
_RATE_VOL: Final = {"EUR": 0.0015, "GBP": 0.0020, "JPY": 0.0008, "CAD": 0.0016}
_FX_VOL: Final = {"EUR": 0.022, "GBP": 0.024, "JPY": 0.030, "CAD": 0.018}


def global_quotes(base_quotes: pd.DataFrame) -> pd.DataFrame:
    """Return the demo's USD quotes (conventions explicit), then the other curves'."""
    usd = base_quotes.assign(
        currency="USD",
        curve="government",
        frequency=np.where(base_quotes["kind"] == "deposit", np.nan, 1.0),
        day_count="ACT/365F",
    )
    rows = []
    for (currency, curve), levels in _LEVELS.items():
        for tenor, level in zip(_TENORS, levels, strict=True):
            short = tenor.endswith("M")
            kind = "deposit" if short else ("par_bond" if curve == "government" else "swap")
            rows.append(
                {
                    "kind": kind,
                    "tenor": tenor,
                    "rate": round(level / 100.0, 6),
                    "currency": currency,
                    "curve": curve,
                }
            )
    return pd.concat([usd, pd.DataFrame(rows)], ignore_index=True)


def _securities(rng: np.random.Generator, curves: CurveSet) -> pd.DataFrame:
    vd = curves.valuation_date
    rows = []
    for currency in HEDGE_RATIOS:
        conv = CONVENTIONS[currency]
        for k in range(_BONDS_PER_CURRENCY):
            years = float(rng.uniform(1.5, 20.0))
            maturity = add_months(vd, round(years * 12))
            level = float(curves.curve(currency).zero_rate(years))
            coupon = max(round((level + float(rng.normal(0, 0.003))) * 800) / 800, 0.001)
            issue = float(rng.choice([10.0, 15.0, 20.0, 30.0])) * 1e9
            rows.append(
                {
                    "security_id": f"{currency}{k:04d}",
                    "issuer": f"Government of {currency}",
                    "sector": "sovereign",
                    "rating": _RATINGS[currency],
                    "currency": currency,
                    "coupon": coupon,
                    "maturity": maturity,
                    "frequency": conv.bond_frequency,
                    "day_count": conv.bond_day_count,
                    "bid_ask_bp": round(float(rng.uniform(0.8, 2.5)) * (1 + years / 30), 2),
                    "bid_ask_vol_bp": round(float(rng.uniform(0.2, 0.6)), 2),
                    "adv": issue * 0.05 * float(rng.uniform(0.5, 1.5)),
                    "issue_size": issue,
                    "liquidity_tier": "level1",
                    "z_spread": 0.0,
                }
            )
    return pd.DataFrame(rows)


def _history(
    rng: np.random.Generator,
    months: list[dt.date],
    curves: CurveSet,
    tenors: tuple[float, ...],
    us_level: np.ndarray,
) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Zero-rate and FX series ending at today's, with their monthly moves."""
    n = len(months)
    rows = []
    level_moves, fx_moves = {}, {}
    for currency in HEDGE_RATIOS:
        dl = 0.5 * us_level + rng.normal(0, _RATE_VOL[currency], n)
        dl[0] = 0.0
        # Level and slope moves (the slope's shape as the US history's), so that each
        # currency's key rates do not all move as one.
        slope = rng.normal(0, 0.5 * _RATE_VOL[currency], n)
        slope[0] = 0.0
        moves = dl[:, None] + slope[:, None] * (np.asarray(tenors) - 7.0) / 25.0
        today = np.asarray(curves.curve(currency).zero_rate(np.asarray(tenors)))
        zeros = today - np.cumsum(moves[::-1], axis=0)[::-1] + moves  # last row is today
        dfx = rng.normal(0, _FX_VOL[currency], n)
        dfx[0] = 0.0
        spot = curves.spot(currency) * np.exp(-np.cumsum(dfx[::-1])[::-1] + dfx)
        level_moves[currency], fx_moves[currency] = dl, dfx
        for k, month in enumerate(months):
            for j, t in enumerate(tenors):
                series = f"zero_{currency}_{t:g}y"
                rows.append({"month": month, "series": series, "value": float(zeros[k, j])})
            rows.append({"month": month, "series": f"fx_{currency}", "value": float(spot[k])})
    return pd.DataFrame(rows), level_moves, fx_moves


def add_global_sleeve(
    tables: Mapping[str, pd.DataFrame],
    valuation_date: dt.date,
    total_assets: float,
    seed: int,
    us_level: np.ndarray,
    tenors: tuple[float, ...],
    with_history: bool,
) -> dict[str, pd.DataFrame]:
    """Return `tables` with the global manager added (see the module docstring).

    Parameters
    ----------
    tables : mapping
        A generated book's tables; its managers' weights and holdings must leave
        :data:`GLOBAL_WEIGHT` of the assets (the demo scales them before drawing anything).
    valuation_date : date
        The book's.
    total_assets : float
        The book's assets with the global sleeve (money); the sleeve holds its weight of them.
    seed : int
        The book's seed; the global sleeve draws from a stream of its own.
    us_level : ndarray
        The history's monthly moves of the US 10-year zero rate (decimals), one per month.
    tenors : tuple of float
        Key tenors of the history's zero series (years).
    with_history : bool
        Whether the book carries holdings and benchmark histories to extend.
    """
    rng = np.random.default_rng([seed, 26])
    out = dict(tables)
    vd = valuation_date
    months = sorted(set(tables["manager_returns"]["month"]))
    quotes = global_quotes(tables["curve_quotes"])
    spots, bases = fx_rates(FX_SPOT, "USD")
    curves = build_curve_set(quotes, vd, "USD", spots, bases)
    securities = _securities(rng, curves)
    prices, duration, ytm = _analytics(securities, curves, vd)
    codes = securities["currency"].to_numpy()
    fx = np.array([curves.spot(c) for c in codes])
    value = total_assets * GLOBAL_WEIGHT * rng.dirichlet(np.full(len(securities), 4.0))
    par = np.round(value / (prices / 100.0 * fx), 2)
    hedges = [HEDGE_RATIOS[c] for c in codes]
    holdings = pd.DataFrame({"manager_id": GLOBAL_MANAGER, "security_id": securities["security_id"],
                             "par": par, "hedge_ratio": hedges})  # fmt: skip
    out["securities"] = pd.concat([tables["securities"], securities], ignore_index=True)
    out["holdings"] = pd.concat(
        [tables["holdings"].assign(hedge_ratio=0.0), holdings], ignore_index=True
    )
    out["managers"] = pd.concat([tables["managers"], _manager(with_history)], ignore_index=True)
    out["curve_quotes"] = quotes
    out["fx_spot"] = FX_SPOT.copy()
    history, level_moves, fx_moves = _history(rng, months, curves, tenors, us_level)
    out["market_history"] = pd.concat([tables["market_history"], history], ignore_index=True)
    # The sleeve's returns: carry, rate moves and unhedged FX moves by currency, plus noise.
    n = len(months)
    bench = rng.normal(0, 0.0004, n)
    dur_total = _add_benchmark_moves(
        bench, codes, value / value.sum(), duration, ytm, curves, level_moves, fx_moves
    )
    active = rng.normal(0, 0.0015, n)
    returns = {"month": months, "return": bench + active, "benchmark_return": bench}
    out["manager_returns"] = _appended(tables["manager_returns"], returns)
    if "manager_characteristics" in tables:
        wander = rng.normal(0, 0.15, n)
        characteristics = {
            "month": months,
            "duration": np.maximum(dur_total + wander, 0.0),
            "credit_notch": 2.0 + np.clip(rng.normal(0, 0.1, n), -0.5, 0.5),
            "high_yield_share": 0.0,
        }
        out["manager_characteristics"] = _appended(
            tables["manager_characteristics"], characteristics
        )
    if with_history:
        out.update(_histories(tables, securities["security_id"].to_numpy(), months, par))
    return out


def _add_benchmark_moves(
    bench: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    duration: np.ndarray,
    ytm: np.ndarray,
    curves: CurveSet,
    level_moves: Mapping[str, np.ndarray],
    fx_moves: Mapping[str, np.ndarray],
) -> float:
    """Add each currency's carry, rate moves and unhedged FX moves to `bench` (in place).

    Returns the sleeve's duration (years, value-weighted).
    """
    dur_total = 0.0
    for currency, hedge in HEDGE_RATIOS.items():
        mine = codes == currency
        w = float(weights[mine].sum())
        dur = float(np.average(duration[mine], weights=weights[mine]))
        carry = float(np.average(ytm[mine], weights=weights[mine]))
        carry += hedge * curves.hedge_carry(currency)
        bench += w * (carry / 12 - dur * level_moves[currency] + (1 - hedge) * fx_moves[currency])
        dur_total += w * dur
    return dur_total


def _analytics(
    securities: pd.DataFrame, curves: CurveSet, vd: dt.date
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return each bond's dirty price (per 100), effective duration and yield on its curve."""
    prices = np.empty(len(securities))
    duration = np.empty(len(securities))
    ytm = np.empty(len(securities))
    codes = securities["currency"].to_numpy()
    for currency in HEDGE_RATIOS:
        at = np.flatnonzero(codes == currency)
        sub = BondBook.from_frame(securities.iloc[at].assign(face=100.0), vd)
        a = sub.analyze(curves.curve(currency), z_spread=0.0)
        prices[at], duration[at], ytm[at] = a.dirty_price, a.effective_duration, a.ytm
    return prices, duration, ytm


def _manager(with_history: bool) -> pd.DataFrame:
    """Return the global manager's row of the managers table."""
    benchmark = "B26" if with_history else "Global Treasury ex-US"
    return pd.DataFrame(
        [
            {
                "manager_id": GLOBAL_MANAGER,
                "name": "Tidewater Global Sovereign",
                "style": "global_government",
                "benchmark": benchmark,
                "current_allocation": GLOBAL_WEIGHT,
            }
        ]
    )


def _appended(table: pd.DataFrame, columns: Mapping[str, Any]) -> pd.DataFrame:
    """Return `table` with the global manager's monthly rows (`columns`) appended."""
    mine = pd.DataFrame({"month": columns["month"], "manager_id": GLOBAL_MANAGER, **columns})
    return pd.concat([table, mine], ignore_index=True)


def _histories(
    tables: Mapping[str, pd.DataFrame], ids: np.ndarray, months: list[Any], par: np.ndarray
) -> dict[str, pd.DataFrame]:
    """Return the holdings, benchmark and spread histories with the sleeve held every month."""
    n = len(months)
    k, j = np.meshgrid(np.arange(n), np.arange(len(ids)), indexing="ij")
    month_of = np.asarray(months, dtype=object)[k.ravel()]
    return {
        "holdings_history": pd.concat(
            [
                tables["holdings_history"],
                pd.DataFrame(
                    {
                        "month": month_of,
                        "manager_id": GLOBAL_MANAGER,
                        "security_id": ids[j.ravel()],
                        "par": par[j.ravel()],
                    }
                ),
            ],
            ignore_index=True,
        ),
        "benchmark_holdings": pd.concat(
            [
                tables["benchmark_holdings"],
                pd.DataFrame(
                    {
                        "month": month_of,
                        "benchmark_id": "B26",
                        "security_id": ids[j.ravel()],
                        "weight": np.full(k.size, 1.0 / len(ids)),
                    }
                ),
            ],
            ignore_index=True,
        ),
        "security_spreads": pd.concat(
            [
                tables["security_spreads"],
                pd.DataFrame({"month": month_of, "security_id": ids[j.ravel()], "spread": 0.0}),
            ],
            ignore_index=True,
        ),
        "benchmarks": pd.concat(
            [
                tables["benchmarks"],
                pd.DataFrame([{"benchmark_id": "B26", "name": "Global Treasury ex-US"}]),
            ],
            ignore_index=True,
        ),
    }
