"""The market at every month-end of a history: zero curves and each security's spread.

One reading of the inputs for everything that revalues securities month by month (holdings
attribution, benchmark characteristics from constituents). Each security's spread at a
month-end comes, in this order, from:

1. an observed price at that date (``prices``): the z-spread is solved from it off that
   month's zero curve (:func:`~fialloc.holdings_revaluation.history_curve`);
2. its row in ``security_spreads``;
3. today's spread moved with its rating's spread history (government bonds keep theirs).

The loader requires 1 or 2 where (and when) a security is held or in a benchmark when
``security_spreads`` is given; 3 fills the months nobody holds it, which weigh nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fialloc.bonds import BondBook
from fialloc.data import Portfolio
from fialloc.data.vocabulary import GOVERNMENT_SECTORS, rating_letter
from fialloc.holdings_revaluation import history_z_spreads
from fialloc.layout import FloatArray

__all__ = ["HistoryMarket", "history_market"]


@dataclass(frozen=True)
class HistoryMarket:
    """Zero curves and spreads of a book's securities at each month-end.

    Attributes
    ----------
    months : list of date
        Month-ends.
    tenors : ndarray, shape (tenors,)
        Tenors (years) of the zero-rate history.
    zeros : ndarray, shape (months, tenors)
        Continuously compounded zero rates (decimals).
    spreads : ndarray, shape (months, securities)
        Each security's z-spread (decimal), book order.
    systematic : ndarray, shape (months, securities)
        The part of each spread common to its rating (zero for government bonds).
    """

    months: list[dt.date]
    tenors: FloatArray
    zeros: FloatArray
    spreads: FloatArray
    systematic: FloatArray


def _zeros(p: Portfolio, months: Sequence[dt.date]) -> pd.DataFrame:
    zeros = p.zero_history.reindex(pd.Index(months))
    missing = zeros.isna().any(axis=1)
    if missing.any():
        month = zeros.index[int(np.flatnonzero(missing.to_numpy())[0])]
        gaps = [f"{t:g}y" for t in zeros.columns[zeros.loc[month].isna()]]
        msg = (
            f"attribution: market_history has no zero rate for {month} at {', '.join(gaps)}; "
            "every month of the holdings history needs a full curve"
        )
        raise ValueError(msg)
    return zeros


def _systematic(p: Portfolio, months: Sequence[dt.date], book: BondBook) -> FloatArray:
    master = book.frame
    letters = master["rating"].map(rating_letter)
    government = master["sector"].isin(GOVERNMENT_SECTORS).to_numpy()
    needed = sorted(set(letters[~government]))
    spread_history = p.spread_history.reindex(index=pd.Index(months), columns=needed)
    lacking = spread_history.isna()
    if lacking.to_numpy().any():
        month, letter = next(
            (m, c) for m in spread_history.index for c in needed if lacking.loc[m, c]
        )
        msg = (
            f"attribution: market_history has no spread_{letter} for {month}; the "
            f"{letter}-rated securities' systematic spread moves need it"
        )
        raise ValueError(msg)
    systematic = np.zeros((len(months), len(book)))
    for letter in needed:
        cols = np.flatnonzero((letters == letter).to_numpy() & ~government)
        systematic[:, cols] = spread_history[letter].to_numpy(dtype=float)[:, None]
    return systematic


def _given_spreads(table: pd.DataFrame, months: Sequence[dt.date], book: BondBook) -> FloatArray:
    """``security_spreads`` at the months: months by securities (book order), NaN where none.

    The loader's key check makes (month, security_id) unique, so each cell gets at most one
    row; filled by position instead of a pivot and two reindexes of the whole table.
    """
    out = np.full((len(months), len(book)), np.nan)
    k = pd.Index(months).get_indexer(pd.Index(table["month"]))
    s = book.security_ids.get_indexer(pd.Index(table["security_id"]))
    found = (k >= 0) & (s >= 0)
    out[k[found], s[found]] = table["spread"].to_numpy(dtype=float)[found]
    return out


def _observed_dirty(p: Portfolio, months: Sequence[dt.date], book: BondBook) -> FloatArray:
    """Observed dirty prices at the months: months by securities, NaN where none."""
    out = np.full((len(months), len(book)), np.nan)
    if p.prices is None or p.prices.empty:
        return out
    ids = book.security_ids
    rows = p.prices[p.prices["date"].isin(months) & p.prices["security_id"].isin(ids)]
    maturity = book.frame["maturity"].reindex(rows["security_id"]).to_numpy()
    rows = rows[rows["date"].to_numpy() < maturity]  # a price on or after maturity means nothing
    k = pd.Index(months).get_indexer(pd.Index(rows["date"]))
    s = ids.get_indexer(pd.Index(rows["security_id"]))
    out[k, s] = rows["price"].to_numpy(dtype=float)
    # Clean prices need each month's accrued interest: the bonds' terms at that date.
    clean = rows[(rows["price_type"] == "clean").to_numpy()]
    for month, group in clean.groupby("date", sort=True):
        terms = book.frame.loc[group["security_id"]].reset_index(drop=True)
        accrued = BondBook.from_frame(terms, month).accrued
        row = int(pd.Index(months).get_indexer(pd.Index([month]))[0])
        out[row, ids.get_indexer(pd.Index(group["security_id"]))] += accrued
    return out


def history_market(p: Portfolio, months: Sequence[dt.date], book: BondBook) -> HistoryMarket:
    """Zero curves and every security's spread at each of `months` (see the module doc).

    Parameters
    ----------
    p : Portfolio
        Its ``market_history`` must hold the zero curve of every month (and the rating
        spreads of every rating in `book`).
    months : sequence of date
        Month-ends, increasing.
    book : BondBook
        The securities (any valuation date; only their terms are read here).

    Raises
    ------
    ValueError
        If the market history lacks a month's curve or rating spread, naming both, or an
        observed price implies a spread out of reach (naming the security).
    """
    dates = list(months)
    zeros = _zeros(p, dates)
    systematic = _systematic(p, dates, book)
    today = p.z_spreads.reindex(book.security_ids).to_numpy(dtype=float)
    spreads = today + systematic - systematic[-1]
    if p.security_spreads is not None:
        given = _given_spreads(p.security_spreads, dates, book)
        spreads = np.where(np.isnan(given), spreads, given)
    tenors = zeros.columns.to_numpy(dtype=float)
    solved = history_z_spreads(
        book, dates, tenors, zeros.to_numpy(dtype=float), _observed_dirty(p, dates, book)
    )
    spreads = np.where(np.isnan(solved), spreads, solved)
    return HistoryMarket(dates, tenors, zeros.to_numpy(dtype=float), spreads, systematic)
