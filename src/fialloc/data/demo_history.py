"""The demo's holdings, benchmark and spread histories, consistent with its planted truths.

Built from the demo's own securities, today's holdings and market history, with a random
stream of its own so the other demo tables do not change:

- each security's spread moves with its rating's spread history plus a security-specific
  random walk (government bonds have none);
- each benchmark holds the manager's bonds of today and a few more of its universe in equal
  weights: active positions are differences of weights;
- most managers keep today's positions through the history;
- the BBB-beta managers hold twice today's face in BBB bonds against benchmarks that hold
  half the BBB weight: their active return is BBB spread exposure, not selection;
- the skilled managers lean each month toward the bonds whose specific spread is about to
  tighten: positive selection;
- the MBS pools' factors (``pool_factors``) follow the past they were built with: level-payment
  amortization and a constant :data:`fialloc.data.demo_universe.POOL_PAST_CPR`, against which the
  prepayment model's expected paydown gives the attribution its prepayment effect;
- M22 moves 2% of its sleeve into high yield and M23 4% into long Treasuries (about 0.4
  years of duration), ramping in over four months from their planted drift months, the moves
  of their characteristics (:data:`fialloc.data.demo_universe.DRIFT_SIZE`);
- each manager's reported characteristics move with rates and roll-down as its benchmark's do
  (:func:`characteristics_with_the_market`), so that what is planted in them (a level, its
  wander and the drifts) is the *active* series, manager less benchmark.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import numpy as np
import pandas as pd

from fialloc.data.demo_universe import (
    BBB_BETA,
    DEMO_VALUATION,
    DRIFT,
    DRIFT_RAMP,
    POOL_PAST_CPR,
    SKILLED,
    eligible_securities,
    history_months,
)
from fialloc.data.vocabulary import GOVERNMENT_SECTORS, rating_letter

__all__ = ["characteristics_with_the_market", "demo_history_tables", "pool_factor_history"]

BENCHMARK_EXTRA: Final = 10  # bonds of a universe a benchmark holds beyond the manager's
SPECIFIC_VOL: Final = 0.03  # monthly specific spread volatility as a share of the spread
SKILL_TILT: Final = 0.5  # skilled managers' weight tilt per standardized spread move
DRIFT_SHARE: Final = {"M22": 0.02, "M23": 0.04}


def _specific_moves(
    securities: pd.DataFrame, z: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Monthly specific spread moves (months by securities) and their volatilities."""
    vol = SPECIFIC_VOL * np.abs(z) + 0.00005
    vol[securities["sector"].isin(GOVERNMENT_SECTORS).to_numpy()] = 0.0
    moves = rng.normal(0.0, 1.0, (n, len(z))) * vol
    moves[0] = 0.0
    return moves, vol


def _spreads(
    securities: pd.DataFrame, z: np.ndarray, moves: np.ndarray, factors: dict[str, np.ndarray]
) -> np.ndarray:
    """Spreads (months by securities) that end at today's z-spreads."""
    letters = securities["rating"].map(rating_letter).to_numpy()
    systematic = np.column_stack([factors[f"{letter}_level"] for letter in letters])
    systematic = systematic - systematic[-1]
    systematic[:, securities["sector"].isin(GOVERNMENT_SECTORS).to_numpy()] = 0.0
    specific = -np.cumsum(moves[::-1], axis=0)[::-1] + moves  # zero at the last month
    out: np.ndarray = z + systematic + specific
    return out


def _records(
    months: list[dt.date], owner: tuple[str, str], ids: np.ndarray, values: np.ndarray
) -> dict[str, np.ndarray]:
    """Columns (month, owner, security, value) of a months by positions array, zeros dropped.

    `owner` is the owner column's name and value (a manager or a benchmark id).
    """
    k, j = np.nonzero(values > 0)
    return {
        "month": np.asarray(months, dtype=object)[k],
        owner[0]: np.full(len(k), owner[1], dtype=object),
        "security_id": ids[j],
        "value": values[k, j],
    }


def _frame(parts: list[dict[str, np.ndarray]], value: str) -> pd.DataFrame:
    columns = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
    return pd.DataFrame(columns).rename(columns={"value": value})


def _drifted(
    manager: str,
    securities: pd.DataFrame,
    prices: np.ndarray,
    today: np.ndarray,
    face: np.ndarray,
    par: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Return a drifting manager's par (months x positions) and its positions' rows.

    From its drift month the sleeve moves a growing share (to ``DRIFT_SHARE`` over
    ``DRIFT_RAMP`` months) into eight new positions: high yield for M22, long Treasuries
    (20 years or more) for the others.
    """
    ramp = np.clip((np.arange(len(par)) - DRIFT[manager] + 1) / DRIFT_RAMP, 0.0, 1.0)
    share = DRIFT_SHARE[manager] * ramp
    if manager == "M22":
        target = np.flatnonzero(securities["sector"].eq("high_yield").to_numpy())[:8]
    else:
        years = np.array([(m - DEMO_VALUATION).days / 365.0 for m in securities["maturity"]])
        long_tsy = securities["sector"].eq("treasury").to_numpy() & (years >= 20)
        target = np.flatnonzero(long_tsy)[:8]
    target = np.setdiff1d(target, today)  # new positions only: one row per security
    value = float(face @ prices[today]) / 100.0
    added = np.outer(share * value / len(target), 100.0 / prices[target])
    return np.hstack([par * (1.0 - share)[:, None], added]), np.concatenate([today, target])


def demo_history_tables(
    securities: pd.DataFrame,
    z: np.ndarray,
    holdings: pd.DataFrame,
    prices: np.ndarray,
    factors: dict[str, np.ndarray],
    seed: int,
    benchmarks: dict[str, str],
) -> dict[str, pd.DataFrame]:
    """Build ``holdings_history``, ``benchmark_holdings`` and ``security_spreads``.

    Parameters
    ----------
    securities : DataFrame
        The demo's security master (row order as generated).
    z : ndarray
        Today's z-spreads (decimals), one per security.
    holdings : DataFrame
        Today's holdings (manager_id, security_id, par).
    prices : ndarray
        Today's dirty prices per 100 face, one per security.
    factors : dict
        The market history's paths (``<letter>_level``: spread by rating, decimals).
    seed : int
        The demo's seed; the histories draw from their own stream of it.
    benchmarks : dict of str to str
        Each manager's benchmark id (each demo manager has a benchmark of its own).
    """
    rng = np.random.default_rng([seed, 5])
    months = history_months()
    n = len(months)
    ids = securities["security_id"].to_numpy(dtype=object)
    position = pd.Index(ids)
    by_manager = {
        str(m): (position.get_indexer(pd.Index(g["security_id"])), g["par"].to_numpy(dtype=float))
        for m, g in holdings.groupby("manager_id", sort=False)
    }
    moves, vol = _specific_moves(securities, z, n, rng)
    spreads = _spreads(securities, z, moves, factors)
    # Standardized tightening over the next month, what a skilled manager anticipates.
    with np.errstate(divide="ignore", invalid="ignore"):
        signal = np.where(vol > 0, -moves / vol, 0.0)
    signal = np.clip(np.vstack([signal[1:], np.zeros(len(ids))]), -1.5, 1.5)
    bbb = securities["rating"].map(rating_letter).eq("BBB").to_numpy()
    held_frames, bench_frames = [], []
    for manager, universe in eligible_securities(securities).items():
        today, face = by_manager[manager]
        cols = today
        par = np.tile(face, (n, 1))
        if manager in BBB_BETA:
            par[:, bbb[cols]] *= 3.0
        if manager in SKILLED:
            par *= 1.0 + SKILL_TILT * signal[:, cols]
        if manager in DRIFT:
            par, cols = _drifted(manager, securities, prices, today, face, par)
        held_frames.append(_records(months, ("manager_id", manager), ids[cols], np.round(par, 2)))
        others = np.setdiff1d(universe, today)
        extra = rng.choice(others, min(BENCHMARK_EXTRA, len(others)), replace=False)
        top = np.union1d(today, extra)
        weight = np.where(bbb[top] & (manager in BBB_BETA), 0.25, 1.0)
        owner = ("benchmark_id", benchmarks[manager])
        bench_frames.append(
            _records(months, owner, ids[top], np.tile(weight / weight.sum(), (n, 1)))
        )
    k, j = np.meshgrid(np.arange(n), np.arange(len(ids)), indexing="ij")
    return {
        "holdings_history": _frame(held_frames, "par"),
        "benchmark_holdings": _frame(bench_frames, "weight"),
        "security_spreads": pd.DataFrame(
            {
                "month": np.asarray(months, dtype=object)[k.ravel()],
                "security_id": ids[j.ravel()],
                "spread": spreads.ravel(),
            }
        ),
    }


def pool_factor_history(pools: pd.DataFrame) -> pd.DataFrame:
    """Return the demo pools' factors at every month-end of the history since they were made.

    A pool of ``wam + age`` months with monthly gross coupon ``c = wac / 12`` has, at age
    ``a``, the scheduled balance ``((1 + c)^n - (1 + c)^a) / ((1 + c)^n - 1)`` times the
    survival of :data:`~fialloc.data.demo_universe.POOL_PAST_CPR` for ``a / 12`` years: the formula
    that set its factor today. No random draws.
    """
    months = history_months()
    back = np.array([len(months) - 1 - k for k in range(len(months))])
    columns: dict[str, list[Any]] = {"security_id": [], "date": [], "factor": []}
    month_ends = np.array(months, dtype=object)
    for sid, wac, wam, age in pools[["security_id", "wac", "wam", "age"]].itertuples(index=False):
        ages = int(age) - back
        live = ages >= 0
        c = float(wac) / 12.0
        term = int(wam) + int(age)
        grown = (1.0 + c) ** ages[live]
        scheduled = ((1.0 + c) ** term - grown) / ((1.0 + c) ** term - 1.0)
        factor = scheduled * (1.0 - POOL_PAST_CPR) ** (ages[live] / 12.0)
        # One frame of every pool's months at the end: a frame per pool costs more than its math.
        columns["security_id"] += [sid] * int(live.sum())
        columns["date"] += month_ends[live].tolist()
        columns["factor"] += factor.round(8).tolist()
    return pd.DataFrame(columns)


def characteristics_with_the_market(
    tables: dict[str, pd.DataFrame], valuation: dt.date
) -> pd.DataFrame:
    """Return ``manager_characteristics`` moved each month with the manager's benchmark.

    The planted histories hold a sleeve's level today plus its wander and drift, on today's
    basis. A sleeve's reported duration moves with rates and roll-down as its benchmark's does:
    each month every characteristic the benchmark also has is moved by the benchmark's change
    from that month to the last one, the benchmark measured by the engine's one definition
    (:func:`fialloc.benchmark_characteristics.benchmark_characteristics`: its
    constituents repriced off each month's curve and spreads). Manager less benchmark, the
    active series, is then the planted history less a constant.

    Parameters
    ----------
    tables : dict of str to DataFrame
        The demo's tables, with ``managers`` (``benchmark`` ids), ``benchmark_holdings``,
        ``security_spreads``, ``market_history`` and ``manager_characteristics``.
    valuation : date
        The demo's valuation date.
    """
    # Local imports: the engine's definition (below the analytics, beside the revaluation it
    # uses) reads a Portfolio, which this package defines; this is the one place the demo's
    # inputs are made to agree with it rather than with a copy of it.
    from fialloc.benchmark_characteristics import benchmark_characteristics
    from fialloc.data.portfolio import Portfolio

    # The tables are the demo's own, already clean: a Portfolio of the parts the benchmarks'
    # repricing reads, without validating the whole book again.
    book = Portfolio(
        valuation_date=valuation,
        securities=tables["securities"].set_index("security_id", drop=False),
        holdings=tables["holdings"],
        managers=tables["managers"].set_index("manager_id", drop=False),
        manager_returns=tables["manager_returns"],
        liabilities=tables["liabilities"],
        curve_quotes=tables["curve_quotes"],
        spreads=tables["spreads"],
        market_history=tables["market_history"],
        benchmark_holdings=tables["benchmark_holdings"],
        security_spreads=tables["security_spreads"],
        fx_spot=tables.get("fx_spot"),
    )
    bench = benchmark_characteristics(book)
    chars = tables["manager_characteristics"].copy()
    shared = [c for c in chars.columns if c in bench.columns and c not in ("month", "manager_id")]
    links = tables["managers"].set_index("manager_id")["benchmark"].astype(str)
    benchmark = chars["manager_id"].map(links)
    at = pd.MultiIndex.from_arrays([benchmark, chars["month"]])
    last = bench.groupby(level="benchmark_id")[shared].last()
    # Change from each month to the last; a manager whose benchmark the history lacks keeps its.
    change = last.reindex(benchmark).to_numpy() - bench[shared].reindex(at).to_numpy()
    chars[shared] = chars[shared].to_numpy() - np.nan_to_num(change.astype(float))
    return chars
