"""Holdings-based attribution of a portfolio's history: inputs from the data model, one pass.

Reads the holdings, benchmark and spread histories of a :class:`~fialloc.data.Portfolio`,
revalues every security that is ever held or in a benchmark once per state per month
(:mod:`fialloc.holdings_revaluation`), and attributes every manager's sleeve and the
total portfolio against their benchmarks (:mod:`fialloc.analytics.campisi`) and the insurer's
allocation across sleeves against the policy allocation
(:mod:`fialloc.analytics.allocation_effects`).

MBS pools with factors in ``pool_factors`` return their paydowns at par: the model's expected
paydown as income, the surprise as the prepayment effect
(:mod:`fialloc.analytics.pool_paydowns`).

The total portfolio is the value-weighted sum of the sleeves; its benchmark is the policy
allocation (the managers table's ``current_allocation``) over the sleeves' benchmarks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fialloc.analytics.allocation_effects import BrinsonEffects, brinson
from fialloc.analytics.campisi import CampisiEffects, campisi
from fialloc.analytics.pool_paydowns import history_paydowns
from fialloc.bonds import BondBook
from fialloc.curves import DEFAULT_KEY_TENORS
from fialloc.data import Portfolio
from fialloc.data.vocabulary import rating_letter
from fialloc.history_market import history_market
from fialloc.holdings_revaluation import SecurityEffects, revalue_history
from fialloc.layout import FloatArray

__all__ = ["TOTAL", "HoldingsAttribution", "holdings_attribution"]

#: Name of the total portfolio among the attributed portfolios.
TOTAL = "TOTAL"


@dataclass(frozen=True)
class HoldingsAttribution:
    """Everything the holdings-based attribution computes for one portfolio history.

    Attributes
    ----------
    months : list of date
        Month-ends; period ``p`` ends at ``months[p + 1]``.
    portfolios : list of str
        Manager ids, then :data:`TOTAL`.
    securities : SecurityEffects
        Per-security effects.
    effects : CampisiEffects
        Per-period, per-portfolio effects against the benchmarks.
    brinson : BrinsonEffects
        Sleeve allocation against the policy, per period and manager.
    actual_weights : ndarray, shape (periods, managers)
        The insurer's share of assets in each sleeve at each period's start.
    policy_weights : ndarray, shape (managers,)
        The policy allocation.
    """

    months: list[dt.date]
    portfolios: list[str]
    securities: SecurityEffects
    effects: CampisiEffects
    brinson: BrinsonEffects
    actual_weights: FloatArray
    policy_weights: FloatArray

    @property
    def period_ends(self) -> list[dt.date]:
        """The month-end each period ends on."""
        return self.months[1:]


def _cube(
    frame: pd.DataFrame,
    value: str,
    owner: str,
    months: list[dt.date],
    owners: pd.Index,
    securities: pd.Index,
) -> FloatArray:
    """Months by owners by securities array of a long (month, owner, security) table.

    `owner` is the owners' column (managers or benchmarks). Rows of other months are left
    out; unknown owners or securities are refused.
    """
    out = np.zeros((len(months), len(owners), len(securities)))
    k = pd.Index(months).get_indexer(pd.Index(frame["month"]))
    m = owners.get_indexer(pd.Index(frame[owner]))
    s = securities.get_indexer(pd.Index(frame["security_id"]))
    unknown = np.flatnonzero((k >= 0) & ((m < 0) | (s < 0)))
    if len(unknown):
        row = frame.iloc[int(unknown[0])]
        msg = (
            f"attribution: {value} row {int(unknown[0])}: {owner} {row[owner]!r} or "
            f"security {row['security_id']!r} is not known (managers table, benchmarks of "
            "the managers, security master)"
        )
        raise ValueError(msg)
    keep = k >= 0
    np.add.at(out, (k[keep], m[keep], s[keep]), frame[value].to_numpy(dtype=float)[keep])
    return out


def _histories(p: Portfolio) -> tuple[pd.DataFrame, pd.DataFrame, list[dt.date]]:
    """Return the holdings and benchmark holdings histories and their months, checked."""
    if p.holdings_history is None or p.benchmark_holdings is None:
        msg = (
            "attribution: holdings-based attribution needs the holdings_history and "
            "benchmark_holdings tables"
        )
        raise ValueError(msg)
    months = sorted(set(p.holdings_history["month"]))
    if len(months) < 2:
        msg = "attribution: holdings_history needs at least two month-ends"
        raise ValueError(msg)
    return p.holdings_history, p.benchmark_holdings, months


def _policy(p: Portfolio, policy_weights: pd.Series | None, managers: pd.Index) -> pd.Series:
    """Return the policy weights by manager, scaled to sum to 1, checked."""
    policy = (
        p.current_weights if policy_weights is None else policy_weights.astype(float)
    ).reindex(managers)
    if policy.isna().any() or abs(float(policy.sum()) - 1.0) > 1e-6:
        msg = "attribution: policy weights must cover every manager and sum to 1"
        raise ValueError(msg)
    return policy / float(policy.sum())  # within 1e-6 of 1, like the loader's weights


def _security_effects(
    p: Portfolio, months: list[dt.date], used: list[str], key_tenors: Sequence[float]
) -> tuple[BondBook, SecurityEffects]:
    """Return the securities `used` as a book at the first month, revalued month by month."""
    master = p.securities.loc[used].reset_index(drop=True).assign(face=100.0)
    book = BondBook.from_frame(master, months[0])
    market = history_market(p, months, book)
    paid = history_paydowns(p, months, book.security_ids, market.tenors, market.zeros)
    sec = revalue_history(
        book,
        months,
        market.tenors,
        market.zeros,
        market.spreads,
        market.systematic,
        key_tenors,
        None if paid is None else (paid.actual, paid.expected),
    )
    return book, sec


def _check_positions(
    sleeve_values: FloatArray, bench: FloatArray, months: list[dt.date], managers: pd.Index
) -> None:
    """Refuse a month in which a sleeve or its benchmark holds nothing (naming both)."""
    for name, totals in (("holdings_history", sleeve_values), ("benchmark_holdings", bench.sum(2))):
        empty = np.argwhere(totals <= 0)
        if len(empty):
            k, m = (int(i) for i in empty[0])
            msg = f"attribution: {name} has no positions for manager {managers[m]} at {months[k]}"
            raise ValueError(msg)


def holdings_attribution(
    p: Portfolio,
    key_tenors: Sequence[float] = DEFAULT_KEY_TENORS,
    policy_weights: pd.Series | None = None,
) -> HoldingsAttribution:
    """Attribute every sleeve and the total portfolio over the holdings history.

    Parameters
    ----------
    p : Portfolio
        With ``holdings_history`` and ``benchmark_holdings`` (and optionally
        ``security_spreads``); ``market_history`` must hold the zero curve (and the rating
        spreads) of every month of the holdings history.
    key_tenors : sequence of float
        Key-rate tenors (years) of the curve effects.
    policy_weights : Series, optional
        The policy allocation by manager id (sums to 1 within 1e-6; scaled to 1); default
        the managers table's ``current_allocation``.

    Raises
    ------
    ValueError
        If the histories are missing or shorter than two months, or the market history does
        not cover them; the message names the table, month and series.
    """
    holdings, benchmark_holdings, months = _histories(p)
    managers = pd.Index(p.managers["manager_id"])
    policy = _policy(p, policy_weights, managers)
    benchmark_of = p.managers["benchmark"].reindex(managers)
    bench_rows = benchmark_holdings[
        benchmark_holdings["month"].isin(months)
        & benchmark_holdings["benchmark_id"].isin(benchmark_of)
    ]
    used = sorted(set(holdings["security_id"]) | set(bench_rows["security_id"]))
    book, sec = _security_effects(p, months, used, key_tenors)
    ids = book.security_ids
    par = _cube(holdings, "par", "manager_id", months, managers, ids)[:-1]
    values = par * sec.start_price[:, None, :] / 100.0
    sleeve_values = values.sum(axis=2)
    # Several managers may share a benchmark: each sleeve reads its benchmark's weights.
    benchmarks = pd.Index(sorted(set(benchmark_of)))
    by_benchmark = _cube(bench_rows, "weight", "benchmark_id", months, benchmarks, ids)[:-1]
    bench = by_benchmark[:, benchmarks.get_indexer(benchmark_of), :]
    _check_positions(sleeve_values, bench, months, managers)
    weights = values / sleeve_values[:, :, None]
    actual = sleeve_values / sleeve_values.sum(axis=1, keepdims=True)
    total_w = values.sum(axis=1) / sleeve_values.sum(axis=1)[:, None]
    total_b = np.einsum("m,pms->ps", policy.to_numpy(), bench)
    effects = campisi(
        sec,
        np.concatenate([weights, total_w[:, None, :]], axis=1),
        np.concatenate([bench, total_b[:, None, :]], axis=1),
        list(book.frame["rating"].map(rating_letter)),
        list(book.frame["sector"]),
    )
    sleeves = slice(0, len(managers))
    allocation = brinson(
        actual,
        policy.to_numpy(),
        effects.portfolio_return[:, sleeves],
        effects.benchmark_return[:, sleeves],
    )
    return HoldingsAttribution(
        months=months,
        portfolios=[*map(str, managers), TOTAL],
        securities=sec,
        effects=effects,
        brinson=allocation,
        actual_weights=actual,
        policy_weights=np.asarray(policy.to_numpy(), dtype=np.float64),
    )
