"""Shared problems for the benchmarks: one curve, a 500-bond book and a 60-year liability stream.

Every benchmark group times fialloc, QuantLib-Python and a straightforward vectorized numpy
implementation of the same formulas on the same problem, and checks that they agree.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fialloc import BondBook, CashflowStream, Curve, bootstrap
from fialloc.schedule import add_months

# The QuantLib builders that mirror fialloc's conventions live with the reference tests (the
# shared helpers in tests/, the reference problems in tests/core/).
_TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(_TESTS), str(_TESTS / "core")]

VALUATION = dt.date(2026, 11, 24)
N_BONDS = 500
KEY_DAYS = (182, 365, 730, 1095, 1826, 2557, 3652, 7305, 10957)  # whole days: QuantLib dates
KEY_TENORS = tuple(d / 365.0 for d in KEY_DAYS)
QUOTES = [
    {"kind": "deposit", "tenor": "1M", "rate": 0.0430},
    {"kind": "deposit", "tenor": "3M", "rate": 0.0425},
    {"kind": "deposit", "tenor": "6M", "rate": 0.0415},
    *(
        {"kind": "swap", "tenor": t, "rate": r}
        for t, r in [
            ("1Y", 0.0405),
            ("2Y", 0.0390),
            ("3Y", 0.0385),
            ("5Y", 0.0390),
            ("7Y", 0.0400),
            ("10Y", 0.0415),
            ("15Y", 0.0430),
            ("20Y", 0.0440),
            ("30Y", 0.0445),
            ("50Y", 0.0430),
        ]
    ),
]


@dataclass(frozen=True)
class Problem:
    curve: Curve
    frame: pd.DataFrame
    book: BondBook
    z: np.ndarray
    liabilities: CashflowStream


@pytest.fixture(scope="session")
def problem() -> Problem:
    rng = np.random.default_rng(2026)
    rows = []
    for i in range(N_BONDS):
        freq = int(rng.choice([1, 2, 2, 2, 4, 12, 0], p=[0.1, 0.5, 0.1, 0.1, 0.1, 0.05, 0.05]))
        maturity = VALUATION + dt.timedelta(days=int(rng.integers(365, 30 * 365)))
        rows.append(
            {
                "security_id": f"SEC{i:04d}",
                "coupon": 0.0 if freq == 0 else float(np.round(rng.uniform(0.01, 0.08), 4)),
                "maturity": maturity,
                "frequency": freq,
                "day_count": str(rng.choice(["ACT/365F", "30/360", "ACT/ACT ICMA"])),
                "face": float(rng.integers(1, 50)) * 1e6,
            }
        )
    frame = pd.DataFrame(rows)
    dates = [add_months(VALUATION, m) for m in range(1, 721)]
    amounts = 5e7 * np.exp(-np.arange(720) / 240.0)
    return Problem(
        curve=bootstrap(QUOTES, VALUATION),
        frame=frame,
        book=BondBook.from_frame(frame, VALUATION),
        z=rng.uniform(0.0, 0.025, N_BONDS),
        liabilities=CashflowStream(dates, amounts, VALUATION),
    )


def _reset_peak_rss() -> bool:
    """Reset the process's peak resident set (Linux: write 5 to clear_refs); False elsewhere."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def _peak_rss_mb() -> float:
    """Peak resident set since the last reset (VmHWM), in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


@pytest.fixture(autouse=True)
def _peak_memory(request):
    """Record each benchmark's peak resident memory (MB) in ``extra_info["peak_rss_mb"]``.

    The peak is the whole process's from the start of the test: the interpreter and what
    earlier tests left allocated count too, so it bounds what the benchmarked call needs.
    """
    if "benchmark" not in request.fixturenames or not _reset_peak_rss():
        yield
        return
    bench = request.getfixturevalue("benchmark")
    yield
    bench.extra_info["peak_rss_mb"] = round(_peak_rss_mb(), 1)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config) -> None:
    """After pytest-benchmark's own tables, print fialloc's speed-up over each reference."""
    session = getattr(config, "_benchmarksession", None)  # pytest-benchmark's (private) state
    if session is None or session.disabled or not session.benchmarks:
        return
    from ratios import run_from_records, table

    stats = [(b.group, b.name, b.stats) for b in session.benchmarks if b.stats]
    run = run_from_records((g, n, s.mean, s.median, s.min) for g, n, s in stats)
    terminalreporter.write_sep("-", "fialloc vs references (this run)")
    terminalreporter.write_line(table([run]))
    peaks = [(b.group, b.name, b.extra_info.get("peak_rss_mb")) for b in session.benchmarks]
    if any(p is not None for *_, p in peaks):
        terminalreporter.write_sep("-", "peak resident memory per benchmark (MB, whole process)")
        for group, name, peak in peaks:
            if peak is not None:
                terminalreporter.write_line(f"{group or '-'} | {name} | {peak:,.1f}")


def pytest_xdist_auto_num_workers(config) -> int:
    """Run the benchmarks in one process: the tests' ``-n auto`` would time them side by side."""
    return 0
