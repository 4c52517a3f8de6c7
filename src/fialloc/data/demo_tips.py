"""The demo's TIPS manager: a US Treasury inflation-protected sleeve, its index and breakevens.

Built with a random stream of its own, so the rest of the demo does not change (the US
managers' weights make room for :data:`TIPS_WEIGHT` to keep the book at $40B):

- a CPI-U history from January 1997 to the last month published before the valuation date
  (August 2026), growing at each calendar year's realized inflation (3% in 2011, 7% in 2021,
  2.6% in 2026) with the index's seasonal pattern and a little noise;
- ten TIPS maturing 2027 to 2049 with the Treasury's conventions (real coupon semiannual on
  ACT/ACT, 3-month lag with daily interpolation, principal floored at par), their base CPI
  the reference CPI of their dated date, all issued before the history starts and held by
  the manager through it;
- today's zero-coupon inflation swaps (:data:`SWAPS`: 2.35-2.45%) and 60 months of 5, 10 and
  30-year breakevens (``market_history`` series ``breakeven_USCPI_<tenor>y``) that stood about
  :data:`BREAKEVEN_PREMIUM` higher than today: today's breakevens are cheap against their
  history (the planted relative-value truth, a z-score near -2);
- the sleeve's returns: real carry, the index's accrual and the real-rate moves of the
  benchmark (the same TIPS, equal weights) plus tracking noise; no skill, credit beta or drift.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
import pandas as pd

from fialloc.curves import Curve
from fialloc.inflation import BreakevenCurve, LinkerBook, cpi_fixings, reference_cpi
from fialloc.schedule import add_months

__all__ = ["BREAKEVEN_PREMIUM", "SWAPS", "TIPS_MANAGER", "TIPS_WEIGHT", "tips_tables"]

TIPS_MANAGER: Final = ("M27", "Liberty Inflation-Protected", "tips", "US TIPS")
#: Share of the book the TIPS sleeve takes (the other sleeves scale down to make room).
TIPS_WEIGHT: Final = 0.03
#: Today's zero-coupon CPI-U swap rates by tenor (years).
SWAPS: Final = {1: 0.0245, 2: 0.0240, 3: 0.0238, 5: 0.0235, 7: 0.0236, 10: 0.0238,
                15: 0.0242, 20: 0.0244, 30: 0.0245}  # fmt: skip
#: How far the breakevens' history stood above today's on average (decimal).
BREAKEVEN_PREMIUM: Final = 0.0016
BREAKEVEN_TENORS: Final = (5, 10, 30)
# Calendar-year CPI-U inflation (decimals), 1997-2026.
_INFLATION: Final = (
    0.017, 0.016, 0.027, 0.034, 0.016, 0.024, 0.019, 0.033, 0.034, 0.025, 0.041, 0.001, 0.027,
    0.015, 0.030, 0.017, 0.015, 0.008, 0.007, 0.021, 0.021, 0.019, 0.023, 0.014, 0.070, 0.065,
    0.034, 0.029, 0.027, 0.026,
)  # fmt: skip
# Seasonal pattern of the unadjusted index (log deviations by month, January first).
_SEASON: Final = (0.0025, 0.0020, 0.0015, 0.0010, 0.0005, 0.0, -0.0003, -0.0005, -0.0005,
                  -0.0010, -0.0022, -0.0030)  # fmt: skip
# Maturity, real coupon and dated date of the TIPS the sleeve holds: those issued before the
# demo's history starts (so held through it) and maturing after its first half-year.
_TIPS: Final = (
    (dt.date(2027, 7, 15), 0.00375, dt.date(2017, 7, 15)),
    (dt.date(2028, 1, 15), 0.00500, dt.date(2018, 1, 15)),
    (dt.date(2028, 4, 15), 0.03625, dt.date(1998, 4, 15)),
    (dt.date(2029, 1, 15), 0.02500, dt.date(2009, 1, 15)),
    (dt.date(2029, 7, 15), 0.00250, dt.date(2019, 7, 15)),
    (dt.date(2030, 7, 15), 0.00125, dt.date(2020, 7, 15)),
    (dt.date(2031, 7, 15), 0.00125, dt.date(2021, 7, 15)),
    (dt.date(2040, 2, 15), 0.02125, dt.date(2010, 2, 15)),
    (dt.date(2044, 2, 15), 0.01375, dt.date(2014, 2, 15)),
    (dt.date(2049, 2, 15), 0.01000, dt.date(2019, 2, 15)),
)
_NOISE: Final = 0.0015  # monthly tracking noise (decimal), as the other demo sleeves'


def _cpi_history(valuation: dt.date, rng: np.random.Generator) -> pd.DataFrame:
    last = add_months(valuation.replace(day=1), -1)  # published mid-month for the month before
    months = [dt.date(1997, 1, 1)]
    while months[-1] < last:
        months.append(add_months(months[-1], 1))
    growth = np.array([np.log1p(_INFLATION[m.year - 1997]) / 12.0 for m in months])
    season = np.array([_SEASON[m.month - 1] for m in months])
    log_level = np.cumsum(growth + rng.normal(0.0, 0.0006, len(months))) + season
    values = np.round(159.1 * np.exp(log_level - log_level[0]), 3)
    return pd.DataFrame({"index": "USCPI", "month": months, "value": values})


def _breakeven_history(months: list[dt.date], rng: np.random.Generator) -> pd.DataFrame:
    """Monthly breakevens that end at today's swap rates after standing higher."""
    n = len(months)
    phi, sd = 0.7, 0.0009  # AR(1) persistence and standard deviation (decimal)
    common = np.empty(n)
    common[0] = rng.normal()
    for k in range(1, n):
        common[k] = phi * common[k - 1] + np.sqrt(1.0 - phi * phi) * rng.normal()
    rows = []
    for tenor in BREAKEVEN_TENORS:
        today = SWAPS[tenor]
        own = rng.normal(0.0, 0.25, n)
        path = today + BREAKEVEN_PREMIUM + sd * (common + own) / np.sqrt(1.0625)
        path[-1] = today
        rows += [
            {"month": m, "series": f"breakeven_USCPI_{tenor}y", "value": float(v)}
            for m, v in zip(months, path, strict=True)
        ]
    return pd.DataFrame(rows)


def tips_tables(
    seed: int,
    valuation: dt.date,
    months: list[dt.date],
    curve: Curve,
    market_history: pd.DataFrame,
    total_assets: float,
) -> dict[str, pd.DataFrame]:
    """Rows the TIPS manager adds to each demo table, and its inflation tables.

    Parameters
    ----------
    seed : int
        The demo's seed; the sleeve draws from its own stream of it.
    valuation : date
        The demo's valuation date.
    months : list of date
        The demo's history month-ends.
    curve : Curve
        Today's nominal curve.
    market_history : DataFrame
        The demo's market history (its ``zero_10y`` series moves the real yields).
    total_assets : float
        The book's assets (money); the sleeve is :data:`TIPS_WEIGHT` of them.

    Returns
    -------
    dict of str to DataFrame
        ``securities``, ``holdings``, ``managers``, ``manager_returns``,
        ``manager_characteristics``, ``benchmarks``, ``benchmark_holdings``,
        ``holdings_history``, ``security_spreads`` and ``market_history`` rows to append;
        ``linkers``, ``cpi_history`` and ``inflation_swaps`` whole.
    """
    rng = np.random.default_rng([seed, 26])
    history = _cpi_history(valuation, rng)
    swaps = pd.DataFrame(
        {"index": "USCPI", "tenor": [f"{y}Y" for y in SWAPS], "rate": list(SWAPS.values())}
    )
    breakevens = BreakevenCurve.from_swaps(swaps, cpi_fixings(history, "USCPI"), "USCPI", valuation)
    ids = [f"TIP{k:04d}" for k in range(len(_TIPS))]
    securities = _securities(ids, rng)
    linkers = _linkers(ids, breakevens)
    book = LinkerBook.from_frame(securities.assign(face=100.0).merge(linkers), valuation)
    table = book.analyze(curve, {"USCPI": breakevens})
    held = np.arange(len(ids))
    value = total_assets * TIPS_WEIGHT * rng.dirichlet(np.full(len(ids), 4.0))
    par = np.round(value / (table["dirty_price"].to_numpy()[held] / 100.0), 2)
    manager_id = TIPS_MANAGER[0]
    holdings = pd.DataFrame({"manager_id": manager_id, "security_id": np.array(ids)[held],
                             "par": par})  # fmt: skip
    weights = value / value.sum()
    duration = float(weights @ table["effective_duration"].to_numpy()[held])
    real_yield = float(weights @ table["real_yield"].to_numpy()[held])
    be = _breakeven_history(months, rng)
    real_moves, accrual = _real_moves_and_accrual(months, market_history, be, breakevens)
    # Returns: real carry, the index's accrual and real-rate moves, as the benchmark earns.
    carry_and_moves = real_yield / 12 + accrual - duration * real_moves
    returns, characteristics = _returns(rng, months, carry_and_moves, duration)
    bench_id = "B" + manager_id.removeprefix("M")
    return {
        "securities": securities,
        "holdings": holdings,
        "manager_returns": returns,
        "manager_characteristics": characteristics,
        **_manager_tables(bench_id),
        **_histories(months, ids, holdings, bench_id),
        "market_history": be,
        "linkers": linkers,
        "cpi_history": history,
        "inflation_swaps": swaps,
    }


def _securities(ids: list[str], rng: np.random.Generator) -> pd.DataFrame:
    """Return the TIPS' security master rows, trading costs and volumes drawn from `rng`."""
    securities = pd.DataFrame(
        {
            "security_id": ids,
            "issuer": "US Treasury",
            "sector": "treasury",
            "rating": "AA+",
            "currency": "USD",
            "coupon": [c for _, c, _ in _TIPS],
            "maturity": [m for m, _, _ in _TIPS],
            "frequency": 2,
            "day_count": "ACT/ACT ICMA",
            "bid_ask_bp": np.round(rng.uniform(1.5, 4.0, len(ids)), 2),
            "bid_ask_vol_bp": np.round(rng.uniform(0.4, 1.2, len(ids)), 2),
            "issue_size": rng.choice([15e9, 20e9, 25e9, 40e9], len(ids)),
            "liquidity_tier": "level1",
            "z_spread": 0.0,
        }
    )
    securities["adv"] = securities["issue_size"] * rng.uniform(0.01, 0.03, len(ids))
    return securities


def _real_moves_and_accrual(
    months: list[dt.date],
    market_history: pd.DataFrame,
    be: pd.DataFrame,
    breakevens: BreakevenCurve,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the monthly 10-year real rate moves and the index's monthly accrual."""
    zero_10y = (
        market_history[market_history["series"] == "zero_10y"]
        .set_index("month")["value"]
        .reindex(months)
        .to_numpy(dtype=float)
    )
    be_10y = be[be["series"] == "breakeven_USCPI_10y"]["value"].to_numpy(dtype=float)
    real_moves = np.diff(zero_10y - be_10y, prepend=zero_10y[0] - be_10y[0])
    cpi = reference_cpi([add_months(months[0], -1), *months], breakevens, 3)
    return real_moves, cpi[1:] / cpi[:-1] - 1.0


def _histories(
    months: list[dt.date], ids: list[str], holdings: pd.DataFrame, bench_id: str
) -> dict[str, pd.DataFrame]:
    """Return the benchmark, holdings and spread histories: the sleeve held every month."""
    n = len(months)
    k, j = np.meshgrid(np.arange(n), np.arange(len(ids)), indexing="ij")
    return {
        "benchmark_holdings": pd.DataFrame(
            {
                "month": np.repeat(np.asarray(months, dtype=object), len(ids)),
                "benchmark_id": bench_id,
                "security_id": np.tile(ids, n),
                "weight": 1.0 / len(ids),
            }
        ),
        "holdings_history": pd.DataFrame(
            {
                "month": np.repeat(np.asarray(months, dtype=object), len(ids)),
                "manager_id": holdings["manager_id"].iloc[0],
                "security_id": np.tile(holdings["security_id"].to_numpy(), n),
                "par": np.tile(holdings["par"].to_numpy(), n),
            }
        ),
        "security_spreads": pd.DataFrame(
            {
                "month": np.asarray(months, dtype=object)[k.ravel()],
                "security_id": np.array(ids)[j.ravel()],
                "spread": 0.0,
            }
        ),
    }


def _returns(
    rng: np.random.Generator, months: list[dt.date], carry_and_moves: np.ndarray, duration: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the sleeve's monthly returns and characteristics around the benchmark's.

    `carry_and_moves` is the benchmark's monthly return before its noise (decimals).
    """
    manager_id = TIPS_MANAGER[0]
    n = len(months)
    bench = carry_and_moves + rng.normal(0, 0.0003, n)
    # Tracking noise with no mean over the history: no skill by construction, where a
    # 60-month draw would show an alpha at t = 2 one time in twenty.
    noise = rng.normal(0, _NOISE, n)
    ret = bench + noise - noise.mean()
    returns = pd.DataFrame({"month": months, "manager_id": manager_id, "return": ret,
                            "benchmark_return": bench})  # fmt: skip
    characteristics = pd.DataFrame(
        {
            "month": months,
            "manager_id": manager_id,
            "duration": duration + rng.normal(0, 0.1, n),
            "credit_notch": 2.0,
            "high_yield_share": 0.0,
        }
    )
    return returns, characteristics


def _linkers(ids: list[str], breakevens: BreakevenCurve) -> pd.DataFrame:
    """Return the TIPS' linkers rows: base CPI at each dated date, 3-month lag, floored."""
    dated = [d for _, _, d in _TIPS]
    return pd.DataFrame(
        {
            "security_id": ids,
            "index": "USCPI",
            "base_cpi": np.round(reference_cpi(dated, breakevens, 3, "linear"), 5),
            "lag_months": 3,
            "interpolation": "linear",
            "floor": True,
        }
    )


def _manager_tables(bench_id: str) -> dict[str, pd.DataFrame]:
    """Return the TIPS manager's managers row and its benchmark's benchmarks row."""
    manager_id, name, style, benchmark = TIPS_MANAGER
    manager = {
        "manager_id": manager_id,
        "name": name,
        "style": style,
        "benchmark": bench_id,
        "current_allocation": TIPS_WEIGHT,
    }
    return {
        "managers": pd.DataFrame([manager]),
        "benchmarks": pd.DataFrame([{"benchmark_id": bench_id, "name": benchmark}]),
    }
