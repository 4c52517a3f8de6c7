"""Each benchmark's monthly characteristics, from its constituents or as the user gave them.

A benchmark described by constituents (``benchmark_holdings``) gets, at each month-end, the
market-value-weighted averages a sleeve gets (see :class:`~fialloc.analytics.context.
DeskContext`): effective and spread durations and key-rate durations from the compiled
curve-risk kernel (1 bp bumps) off that month's zero curve and each constituent's spread of
that month (:mod:`fialloc.history_market`), the average rating notch, the share
below investment grade and the weight of each sector and letter rating. A benchmark described by
characteristics (``benchmark_characteristics``) keeps the values given; where a month has
both, the given characteristics stand (they are the index provider's own figures).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.bonds import BondBook, krd_column
from fialloc.data import Portfolio
from fialloc.data.benchmark_checks import RATING_PREFIX, SECTOR_PREFIX
from fialloc.data.vocabulary import (
    HIGH_YIELD_LETTERS,
    RATING_LETTERS,
    rating_letter,
    rating_notch,
)
from fialloc.history_market import history_market
from fialloc.holdings_revaluation import history_risk
from fialloc.layout import FloatArray

__all__ = ["benchmark_characteristics"]


def _codes(values: pd.Series) -> tuple[npt.NDArray[np.intp], pd.Index]:
    """Each value's position among the sorted distinct values, and those values."""
    codes, uniques = pd.factorize(values, sort=True)
    return codes, pd.Index(uniques)


def _weighted_sums(
    row: npt.NDArray[np.intp], n_rows: int, weight: FloatArray, values: FloatArray
) -> FloatArray:
    """Sum ``weight * values[c]`` over the holdings of each row, for each characteristic c.

    `values` is characteristics by holdings. ``bincount`` adds in holdings order like the
    ``np.add.at`` it replaces (the same sums, bit for bit) without its per-element overhead.
    """
    out = np.empty((n_rows, len(values)))
    for c, value in enumerate(values):
        out[:, c] = np.bincount(row, weights=weight * value, minlength=n_rows)
    return out


def _from_constituents(p: Portfolio, key_tenors: Sequence[float]) -> pd.DataFrame:
    holdings = p.benchmark_holdings
    assert holdings is not None
    # One factorize per column; every lookup below reuses its codes.
    k, month_index = _codes(holdings["month"])
    sec, ids = _codes(holdings["security_id"])
    b, _ = _codes(holdings["benchmark_id"])
    months = list(month_index)
    terms = p.securities.loc[ids]
    book = BondBook.from_frame(terms.reset_index(drop=True).assign(face=100.0), months[0])
    market = history_market(p, months, book)
    risk = history_risk(book, months, market.tenors, market.zeros, market.spreads, key_tenors)
    sectors = sorted(set(terms["sector"]))
    letters = terms["rating"].map(rating_letter)
    # Per month and security: every characteristic, so a benchmark's is one weighted sum.
    static = np.column_stack(
        [
            terms["rating"].map(rating_notch).to_numpy(dtype=float),
            letters.isin(HIGH_YIELD_LETTERS).to_numpy(dtype=float),
            pd.get_dummies(terms["sector"]).reindex(columns=sectors).to_numpy(dtype=float),
            pd.get_dummies(letters)
            .reindex(columns=RATING_LETTERS, fill_value=False)
            .to_numpy(dtype=float),
        ]
    )
    # Characteristics by months by securities: each characteristic's values are contiguous.
    per = np.concatenate(
        [
            risk.effective_duration[None],
            risk.spread_duration[None],
            np.broadcast_to(static.T[:, None, :], (static.shape[1], *risk.spread_duration.shape)),
            np.moveaxis(risk.krd, 2, 0),
        ]
    ).reshape(-1, len(months) * len(ids))
    columns = [
        "duration", "spread_duration", "credit_notch", "high_yield_share",
        *(SECTOR_PREFIX + s for s in sectors), *(RATING_PREFIX + r for r in RATING_LETTERS),
        *(krd_column(t) for t in key_tenors),
    ]  # fmt: skip
    # (benchmark, month) pairs in sorted order: both codes come from sorted factorizations.
    pair = b * len(months) + k
    pairs, first, row = np.unique(pair, return_index=True, return_inverse=True)
    index = pd.MultiIndex.from_frame(holdings[["benchmark_id", "month"]].take(first))
    held = per[:, k * len(ids) + sec]
    out = _weighted_sums(row, len(pairs), holdings["weight"].to_numpy(dtype=float), held)
    return pd.DataFrame(out, index=index, columns=columns)


def benchmark_characteristics(
    portfolio: Portfolio, key_tenors: Sequence[float] | None = None
) -> pd.DataFrame:
    """Each benchmark's characteristics at each month-end, from either of its descriptions.

    Parameters
    ----------
    portfolio : Portfolio
        With ``benchmark_holdings`` and/or ``benchmark_characteristics``.
    key_tenors : sequence of float, optional
        Key-rate tenors (years) of the ``krd_<tenor>y`` columns derived from constituents;
        default the run's (``portfolio.mandate.key_tenors``).

    Returns
    -------
    DataFrame
        Indexed by (``benchmark_id``, ``month``), sorted; columns named like the managers'
        characteristics: ``duration`` (effective, years), ``spread_duration`` (years),
        ``credit_notch`` (AAA = 1 .. C = 21), ``high_yield_share`` (decimal), ``krd_<t>y``
        (years), ``sector_<name>`` and ``rating_<letter>`` (decimal weights: the sector and
        rating mixes), and ``source`` (``holdings`` or
        ``characteristics``). A value a benchmark's description does not give is NaN.
        Empty when the portfolio describes no benchmark.

    Raises
    ------
    ValueError
        If the market history lacks a month's zero curve or rating spread that the
        constituents need (naming the month and series).
    """
    parts = []
    given = portfolio.benchmark_characteristics
    if given is not None and len(given):
        table = given.set_index(["benchmark_id", "month"]).astype(float)
        parts.append(table.assign(source="characteristics"))
    if portfolio.benchmark_holdings is not None and len(portfolio.benchmark_holdings):
        tenors = portfolio.mandate.key_tenors if key_tenors is None else key_tenors
        parts.append(_from_constituents(portfolio, tenors).assign(source="holdings"))
    if not parts:
        empty = pd.MultiIndex.from_tuples([], names=["benchmark_id", "month"])
        return pd.DataFrame(index=empty, columns=["duration", "source"])
    out = pd.concat(parts)
    out = out[~out.index.duplicated(keep="first")].sort_index()
    return out[[c for c in out.columns if c != "source"] + ["source"]]
