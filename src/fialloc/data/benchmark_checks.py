"""Cross-table checks of the benchmarks: ids known everywhere, dates, and sector weight columns.

A benchmark is described by its constituents (``benchmark_holdings``) or its characteristics
(``benchmark_characteristics``), month by month, and managers name theirs by id in the
managers table's ``benchmark`` column. Characteristics may carry sector weights in columns
``sector_<name>``; they are not declared in the schema (the sectors are the user's), so they
are checked and converted here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from fialloc.data.schema import Problem

__all__ = ["SECTOR_PREFIX", "benchmark_problems", "sector_weight_columns"]

#: Prefix of the sector weight columns of ``benchmark_characteristics``.
SECTOR_PREFIX = "sector_"
_LIMIT = 20  # problems of one kind worth listing


def sector_weight_columns(frame: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Convert the ``sector_<name>`` columns to decimals in [0, 1], naming every bad cell."""
    out = frame.copy()
    problems: list[Problem] = []
    for column in [c for c in frame.columns if str(c).startswith(SECTOR_PREFIX)]:
        values = pd.to_numeric(frame[column].replace("", np.nan), errors="coerce")
        bad = (values.isna() & frame[column].notna() & (frame[column] != "")) | ~(
            values.isna() | values.between(0.0, 1.0)
        )
        for row in np.flatnonzero(bad.to_numpy())[:_LIMIT]:
            msg = f"{frame[column].iloc[row]!r} is not a sector weight (a decimal from 0 to 1)"
            problems.append(Problem(file, int(row), str(column), msg))
        out[column] = values.astype(float)
    return out, problems


def benchmark_problems(
    t: Mapping[str, pd.DataFrame], files: Mapping[str, str], vd: dt.date
) -> list[Problem]:
    """Unknown benchmark ids, described benchmarks without a benchmarks table, late months."""
    described = [n for n in ("benchmark_holdings", "benchmark_characteristics") if n in t]
    if "benchmarks" not in t:
        return [
            Problem(name, None, "benchmark_id", "given without the benchmarks table it refers to")
            for name in described
        ]
    known = set(t["benchmarks"]["benchmark_id"]) - {None}
    problems: list[Problem] = []
    managers = t.get("managers")
    if managers is not None:
        names = managers["benchmark"].to_numpy()
        for row in np.flatnonzero(~managers["benchmark"].isin(known).to_numpy())[:_LIMIT]:
            if names[row] is not None:
                msg = f"{names[row]!r} is not a benchmark_id of the benchmarks table"
                problems.append(Problem(files["managers"], int(row), "benchmark", msg))
    for name in described:
        frame, file = t[name], files[name]
        ids = frame["benchmark_id"].to_numpy()
        for row in np.flatnonzero(~frame["benchmark_id"].isin(known).to_numpy())[:_LIMIT]:
            if ids[row] is not None:
                msg = f"unknown benchmark id {ids[row]!r} (not in the benchmarks table)"
                problems.append(Problem(file, int(row), "benchmark_id", msg))
        if name == "benchmark_holdings":  # its months are checked with the other histories
            continue
        codes, months = pd.factorize(frame["month"])
        late = [k for k, m in enumerate(months) if m is not None and m > vd]
        for row in np.flatnonzero(np.isin(codes, late))[:_LIMIT]:
            msg = f"{frame['month'].iloc[row]} is after the valuation date {vd}"
            problems.append(Problem(file, int(row), "month", msg))
    return problems
