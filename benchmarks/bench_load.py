"""Loading and validating a long book: 120 monthly snapshots of 100 managers x 100 holdings.

The directory holds the holdings history (1,200,000 rows), observed prices of every security
at every month-end (1,200,000 rows), ten benchmarks' constituents (120,000 rows), the
security master (10,000 bonds), the market history and the other tables, as CSV.
``load-120-months``: :func:`fialloc.data.load` (read, coerce, check every column, key and
cross-table rule, build the :class:`~fialloc.data.Portfolio`) against a plain
``pandas.read_csv`` of the same files (no checks), in the same run. The issue's goal is
under 5 seconds on a 2-core machine.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc.data.demo_universe import CURVE_QUOTES, SPREADS, TENORS

VD = dt.date(2026, 9, 30)
N_MONTHS, N_MANAGERS, PER_MANAGER, N_BENCHMARKS = 120, 100, 100, 10
SECTORS = ("treasury", "financial", "industrial", "utility", "securitized")
RATINGS = ("AA+", "A", "A-", "BBB+", "BBB", "BB")


def _write_book(root: Path) -> Path:
    rng = np.random.default_rng(14)
    months = [d.date() for d in pd.date_range(end=VD, periods=N_MONTHS, freq="ME")]
    n_sec = N_MANAGERS * PER_MANAGER
    ids = np.array([f"S{k:05d}" for k in range(n_sec)], dtype=object)
    securities = pd.DataFrame(
        {
            "security_id": ids,
            "issuer": [f"Issuer {k // 5:04d}" for k in range(n_sec)],
            "sector": rng.choice(SECTORS, n_sec),
            "rating": rng.choice(RATINGS, n_sec),
            "currency": "USD",
            "coupon": np.round(rng.uniform(0.01, 0.07, n_sec) * 800) / 800,
            "maturity": [VD.replace(year=VD.year + int(y)) for y in rng.integers(4, 30, n_sec)],
            "frequency": 2,
            "day_count": "30/360",
            "bid_ask_bp": np.round(rng.uniform(1, 30, n_sec), 2),
            "bid_ask_vol_bp": np.round(rng.uniform(0.5, 5, n_sec), 2),
            "adv": np.round(rng.uniform(1e6, 1e8, n_sec), 2),
            "issue_size": 1e9,
            "liquidity_tier": "level2a",
        }
    )
    # Manager m holds its own 100 bonds every month; par drifts from month to month.
    manager = np.array([f"M{m:03d}" for m in range(N_MANAGERS)], dtype=object)
    k, j = np.divmod(np.arange(N_MONTHS * n_sec), n_sec)
    holdings_history = pd.DataFrame(
        {
            "month": np.asarray(months, dtype=object)[k],
            "manager_id": manager[j // PER_MANAGER],
            "security_id": ids[j],
            "par": np.round(rng.uniform(1e6, 5e7, len(k)), 2),
        }
    )
    prices = pd.DataFrame(
        {
            "security_id": ids[j],
            "date": np.asarray(months, dtype=object)[k],
            "price": np.round(rng.uniform(85.0, 110.0, len(k)), 4),
            "price_type": "clean",
            "source": "vendor",
        }
    )
    benchmark = np.array([f"B{b:02d}" for b in range(N_BENCHMARKS)], dtype=object)
    kb, jb = np.divmod(np.arange(N_MONTHS * N_BENCHMARKS * PER_MANAGER), N_BENCHMARKS * PER_MANAGER)
    benchmark_holdings = pd.DataFrame(
        {
            "month": np.asarray(months, dtype=object)[kb],
            "benchmark_id": benchmark[jb // PER_MANAGER],
            "security_id": ids[jb * (n_sec // (N_BENCHMARKS * PER_MANAGER))],
            "weight": 1.0 / PER_MANAGER,
        }
    )
    today = holdings_history[holdings_history["month"] == VD].drop(columns="month")
    managers = pd.DataFrame(
        {
            "manager_id": manager,
            "name": [f"Manager {m}" for m in range(N_MANAGERS)],
            "style": "core",
            "benchmark": benchmark[np.arange(N_MANAGERS) % N_BENCHMARKS],
            "current_allocation": 1.0 / N_MANAGERS,
        }
    )
    history = pd.DataFrame(
        [{"month": m, "series": f"zero_{t:g}y", "value": 0.035 + 0.0004 * t}
         for m in months for t in TENORS]
        + [{"month": m, "series": f"spread_{r}", "value": s}
           for m in months for r, s in SPREADS.items()]
    )  # fmt: skip
    tables = {
        "securities": securities,
        "holdings": today,
        "managers": managers,
        # About the assets' value (100 x 100 positions of 1-50M face).
        "liabilities": pd.DataFrame({"date": ["2040-06-30"], "amount": [4.0e11]}),
        "manager_returns": pd.DataFrame(
            {
                "month": np.repeat(np.asarray(months, dtype=object), N_MANAGERS),
                "manager_id": np.tile(manager, N_MONTHS),
                "return": np.round(rng.normal(0.004, 0.01, N_MONTHS * N_MANAGERS), 6),
                "benchmark_return": np.round(rng.normal(0.004, 0.01, N_MONTHS * N_MANAGERS), 6),
            }
        ),
        "curve_quotes": pd.DataFrame(CURVE_QUOTES, columns=["kind", "tenor", "rate"]),
        "spreads": pd.DataFrame({"rating": list(SPREADS), "spread": list(SPREADS.values())}),
        "market_history": history,
        "holdings_history": holdings_history,
        "benchmarks": pd.DataFrame({"benchmark_id": benchmark, "name": benchmark}),
        "benchmark_holdings": benchmark_holdings,
        "prices": prices,
    }
    root.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(root / f"{name}.csv", index=False)
    (root / "valuation.json").write_text(json.dumps({"valuation_date": VD.isoformat()}))
    return root


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    return _write_book(tmp_path_factory.mktemp("bench_load") / "inputs")


@pytest.mark.benchmark(group="load-120-months")
def test_load_fialloc_120_months(benchmark, book):
    p = benchmark.pedantic(data.load, args=(book,), rounds=3, iterations=1)
    assert p.holdings_history is not None
    assert len(p.holdings_history) == N_MONTHS * N_MANAGERS * PER_MANAGER
    assert p.prices is not None
    assert len(p.prices) == N_MONTHS * N_MANAGERS * PER_MANAGER
    assert p.holdings_history["month"].iloc[0] == dt.date(2016, 10, 31)


@pytest.mark.benchmark(group="load-120-months")
def test_load_pandas_read_csv_120_months(benchmark, book):
    def read_all():
        return {path.stem: pd.read_csv(path) for path in sorted(book.glob("*.csv"))}

    frames = benchmark.pedantic(read_all, rounds=3, iterations=1)
    assert sum(len(f) for f in frames.values()) > 2_500_000
