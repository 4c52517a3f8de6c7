"""Cross-table checks of the holdings, benchmark and spread histories.

Each table is already valid on its own (see :mod:`fialloc.data.schema`); these checks make
sure the histories fit together: known managers and securities, months up to the valuation
date that the market history covers, every manager present every month, its benchmark's
constituents at every month, no security held on or after its maturity, and a spread (or a
price) for every security when it is held or in a benchmark and at the month-end after (its
value then ends the month's return), not before or later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.data.schema import Factorized, Problem
from fialloc.formatting import count

__all__ = ["history_problems"]

_LIMIT = 20  # problems of one kind worth listing before the first ones make the point


def _unknown(
    frame: pd.DataFrame, file: str, column: str, coded: Factorized, known: set[str]
) -> list[Problem]:
    codes, values = coded
    bad = np.flatnonzero(~values.isin(known)[codes])  # distinct values checked, not rows
    what = "security id" if column == "security_id" else "manager id"
    extra = " (no row in the security master)" if column == "security_id" else ""
    return [
        Problem(file, int(row), column, f"unknown {what} {frame[column].iloc[row]!r}{extra}")
        for row in bad[:_LIMIT]
    ]


def _months_within(
    frame: pd.DataFrame, file: str, month: Factorized, vd: dt.date, market: set[dt.date]
) -> list[Problem]:
    problems = []
    codes, months = month  # few distinct months: check those
    late = [k for k, m in enumerate(months) if m > vd]
    for row in np.flatnonzero(np.isin(codes, late))[:_LIMIT]:
        msg = f"{frame['month'].iloc[row]} is after the valuation date {vd}"
        problems.append(Problem(file, int(row), "month", msg))
    for m in sorted(set(months) - market)[:_LIMIT]:
        msg = f"no zero rates in market_history for {m}; every history month needs a curve"
        problems.append(Problem(file, None, "month", msg))
    return problems


def history_problems(
    t: Mapping[str, pd.DataFrame], files: Mapping[str, str], vd: dt.date
) -> list[Problem]:
    """Every problem between the history tables and the rest of the inputs (see module doc)."""
    names = ("holdings_history", "benchmark_holdings", "security_spreads")
    if not any(name in t for name in names):
        return []
    if "holdings_history" not in t and "security_spreads" in t:
        msg = "security_spreads given without holdings_history, which it describes"
        return [Problem("holdings_history", None, None, msg)]
    if "holdings_history" in t and "benchmark_holdings" not in t:
        msg = "required with holdings_history: each manager's benchmark's constituents"
        return [Problem("benchmark_holdings", None, None, msg)]
    problems = _row_problems(t, files, vd, names)
    if "holdings_history" not in t:  # benchmark constituents alone (for style drift)
        return problems
    problems += _coverage_problems(t, files)
    if "security_spreads" in t:
        problems += _spread_problems(t, files)
    return problems


def _row_problems(
    t: Mapping[str, pd.DataFrame], files: Mapping[str, str], vd: dt.date, names: tuple[str, ...]
) -> list[Problem]:
    """Rows naming unknown securities or managers, months out of range, or redeemed bonds."""
    problems: list[Problem] = []
    securities = set(t["securities"]["security_id"])
    managers = set(t["managers"]["manager_id"])
    market = t.get("market_history")
    curve_months = (
        set(market.loc[market["series"].str.startswith("zero_"), "month"])
        if market is not None
        else set()
    )
    maturity = t["securities"].set_index("security_id")["maturity"]
    for name in names:
        if name not in t:
            continue
        frame, file = t[name], files[name]
        # Each column hashed once for all its checks: the tables run to millions of rows.
        sid, month = pd.factorize(frame["security_id"]), pd.factorize(frame["month"])
        problems += _unknown(frame, file, "security_id", sid, securities)
        if "manager_id" in frame.columns:
            manager = pd.factorize(frame["manager_id"])
            problems += _unknown(frame, file, "manager_id", manager, managers)
        problems += _months_within(frame, file, month, vd, curve_months)
        if name != "security_spreads":
            problems += _after_maturity(frame, file, sid, month, maturity)
    return problems


def _coverage_problems(t: Mapping[str, pd.DataFrame], files: Mapping[str, str]) -> list[Problem]:
    """Find managers without holdings at a month, benchmarks without constituents."""
    problems: list[Problem] = []
    managers = set(t["managers"]["manager_id"])
    held, bench = t["holdings_history"], t["benchmark_holdings"]
    sleeves = held[["manager_id", "month"]].drop_duplicates()
    months = sorted(set(sleeves["month"]))
    present = sleeves.groupby("manager_id")["month"].agg(set)
    for manager in sorted(managers):
        have = present.get(manager, set())
        gone = [m for m in months if m not in have]
        if gone:
            msg = (
                f"manager {manager} has no holdings at {gone[0]}"
                + (f" (and {count(len(gone) - 1, 'other month')})" if len(gone) > 1 else "")
                + "; every manager needs positions at every month of the history"
            )
            problems.append(Problem(files["holdings_history"], None, "manager_id", msg))
    benchmark_of = t["managers"].set_index("manager_id")["benchmark"]
    needed = sleeves.assign(benchmark_id=sleeves["manager_id"].map(benchmark_of))
    lacking = _missing(
        needed[["benchmark_id", "month", "manager_id"]].drop_duplicates(["benchmark_id", "month"]),
        bench[["benchmark_id", "month"]],
        on=["benchmark_id", "month"],
    )
    for benchmark, month, manager in lacking[:_LIMIT]:
        msg = f"no holdings of benchmark {benchmark} (manager {manager}'s) at {month}"
        problems.append(Problem(files["benchmark_holdings"], None, "benchmark_id", msg))
    return problems


def _spread_problems(t: Mapping[str, pd.DataFrame], files: Mapping[str, str]) -> list[Problem]:
    """Month-ends of held or benchmark securities with neither a spread nor a price."""
    held, bench, spreads = t["holdings_history"], t["benchmark_holdings"], t["security_spreads"]
    securities = t["securities"]
    prices = t.get("prices")  # a price at a month-end sets that month's spread
    dated = [(held, "month"), (bench, "month"), (spreads, "month")]
    dated += [] if prices is None else [(prices, "date")]
    # Integer codes of ids and months, each column hashed once: hashing date and id objects
    # row by row (isin, map, drop_duplicates) took most of the load's history checks.
    sid, sids = _joint_codes([f["security_id"] for f, _ in dated] + [securities["security_id"]])
    month, months = _joint_codes([f[column] for f, column in dated])
    day = np.array([m.toordinal() for m in months], dtype=np.int64)
    held_end, used_end, dated_end = np.cumsum([len(f) for f, _ in dated])[[0, 1, -1]]
    held_months = _distinct(month[:held_end])
    in_history = np.zeros(len(months), dtype=bool)
    in_history[held_months] = True
    used = _pair_codes(sid[:used_end], month[:used_end], len(months))
    used = _distinct(used[in_history[month[:used_end]]])
    # A position's month return ends at the next month-end's value, held or sold by then
    # (a bond that matures in between ends at its redemption, with no spread).
    chronological = held_months[np.argsort(day[held_months], kind="stable")]
    following = np.full(len(months), -1, dtype=np.int64)
    following[chronological[:-1]] = chronological[1:]
    due = np.full(len(sids), -np.inf)  # a security not in the master ends no month
    due[sid[dated_end:]] = [d.toordinal() for d in securities["maturity"]]
    used_sid, used_month = np.divmod(used, len(months))
    end = following[used_month]
    ending = (end >= 0) & (day[end] < due[used_sid])
    needed = np.concatenate([used, _pair_codes(used_sid[ending], end[ending], len(months))])
    have = _pair_codes(sid[used_end:dated_end], month[used_end:], len(months))
    lacking_sid, lacking_month = np.divmod(_distinct(needed[~np.isin(needed, have)]), len(months))
    # Listed by id, then month, as the values sort.
    order = np.lexsort((day[lacking_month], _value_ranks(sids)[lacking_sid]))[:_LIMIT]
    problems: list[Problem] = []
    for i in order.tolist():
        msg = (
            f"no spread or price for security {sids[lacking_sid[i]]!r} at "
            f"{months[lacking_month[i]]}, which ends a month it is held or in a benchmark"
        )
        problems.append(Problem(files["security_spreads"], None, "security_id", msg))
    return problems


def _joint_codes(columns: list[pd.Series]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.object_]]:
    """Return one code per row of the columns end to end, and the value of each code."""
    codes, uniques = pd.factorize(np.concatenate([c.to_numpy(dtype=object) for c in columns]))
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _pair_codes(
    first: npt.NDArray[np.int64], second: npt.NDArray[np.int64], n_second: int
) -> npt.NDArray[np.int64]:
    """Return one code per (first, second) pair of codes; `second` has `n_second` values."""
    return first * n_second + second


def _distinct(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Return the distinct codes, sorted (hashed first: np.unique sorts every row, 10x slower)."""
    return np.sort(pd.unique(codes))


def _value_ranks(values: npt.NDArray[np.object_]) -> npt.NDArray[np.int64]:
    """Return each value's place among `values` sorted (distinct values)."""
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[np.argsort(values, kind="stable")] = np.arange(len(values))
    return ranks


def _after_maturity(
    frame: pd.DataFrame, file: str, sid: Factorized, month: Factorized, maturity: pd.Series
) -> list[Problem]:
    """Rows that hold a security at or after its maturity (it has been redeemed by then)."""
    # On distinct securities and months (day numbers): comparing 1M date objects is slow.
    (s, ids), (k, months) = sid, month
    due = maturity.reindex(ids)
    due_day = np.array([d.toordinal() if isinstance(d, dt.date) else np.inf for d in due])
    month_day = np.array([m.toordinal() for m in months])
    late = np.flatnonzero(month_day[k] >= due_day[s])
    ends = due.iloc[s]
    return [
        Problem(
            file,
            int(row),
            "month",
            f"{frame['security_id'].iloc[row]!r} held at {frame['month'].iloc[row]}, on or after "
            f"its maturity {ends.iloc[row]}",
        )
        for row in late[:_LIMIT]
    ]


def _missing(
    needed: pd.DataFrame, have: pd.DataFrame, on: list[str] | None = None
) -> list[tuple[object, ...]]:
    """Distinct rows of `needed` whose key (`on`, default every column) `have` lacks, sorted."""
    keys = list(needed.columns) if on is None else on
    both = pd.concat([needed, have[keys]], ignore_index=True)
    code = np.zeros(len(both), dtype=np.int64)
    for column in keys:  # integer keys: hashing date objects row by row is slow
        codes, uniques = pd.factorize(both[column])
        code = code * len(uniques) + codes
    rows = np.flatnonzero(~np.isin(code[: len(needed)], code[len(needed) :]))
    gone = needed.iloc[rows].drop_duplicates(keys).sort_values(keys)
    return list(gone.itertuples(index=False, name=None))
