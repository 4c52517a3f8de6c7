"""The book's own spread duration by rating, month by month, from its security master.

A credit factor's return is a month's carry less spread duration times the spread move; the
spread duration is the book's, not a textbook constant: for every month of the spread history,
each held credit security still alive is valued off that month's zero curve plus its rating's
spread, and its spread duration is the present-value-weighted time of its remaining cash flows
(the sensitivity of a continuously compounded spread, in years). A rating's figure is the
average over the book's securities of that rating, weighted by the market value held today.

Cash flows step back from maturity at the coupon frequency (a zero coupon pays once); times are
Act/365F from the month-end; the month's zero curve is interpolated linearly in the tenor.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fialloc.data import Portfolio
from fialloc.data.vocabulary import GOVERNMENT_SECTORS

__all__ = ["rating_spread_durations", "spread_durations_by_rating"]


def rating_spread_durations(portfolio: Portfolio) -> pd.DataFrame:
    """Spread duration (years) of the book's credit securities by letter rating, per month.

    Parameters
    ----------
    portfolio : Portfolio
        Needs the security master (coupon, maturity, frequency, rating, sector), holdings, and
        the monthly zero-rate and spread histories.

    Returns
    -------
    DataFrame
        Months of the spread history (rows) by its letters (:func:`spread_durations_by_rating`).
    """
    held = portfolio.market_values.sum(axis=0).reindex(portfolio.securities.index).fillna(0.0)
    return spread_durations_by_rating(
        portfolio.securities, held, portfolio.zero_history, portfolio.spread_history
    )


def spread_durations_by_rating(
    securities: pd.DataFrame,
    held: pd.Series | np.ndarray,
    zeros: pd.DataFrame,
    spreads: pd.DataFrame,
) -> pd.DataFrame:
    """Spread duration (years) by letter rating and month of a security master.

    Parameters
    ----------
    securities : DataFrame
        Columns ``coupon`` (decimal), ``maturity`` (date), ``frequency`` (0 for a zero
        coupon), ``rating`` and ``sector``.
    held : Series or array
        Market value held of each security (money; row order of `securities`), the weights.
    zeros : DataFrame
        Monthly zero rates (decimals, continuously compounded): months by tenor (years).
    spreads : DataFrame
        Monthly spreads (decimals): months by letter rating.

    Returns
    -------
    DataFrame
        Months of `spreads` (rows) by its letters. A letter the book holds no security of is
        measured on the master's securities of that letter, and failing those on all the
        book's credit securities.

    Raises
    ------
    ValueError
        If no credit (non-government) security is alive at a month, or `zeros` has no month
        at or before a month of `spreads`.
    """
    sec = securities
    credit = ~sec["sector"].isin(GOVERNMENT_SECTORS)
    letters = sec["rating"].astype(str).str.rstrip("+-")
    spreads = spreads.astype(float)
    zeros = zeros.astype(float)
    tenors = zeros.columns.to_numpy(dtype=np.float64)
    early = [m for m in spreads.index if m < zeros.index.min()]
    if early:
        msg = f"spread durations: no zero rates at or before {early[0]} to value the book then"
        raise ValueError(msg)
    curves = zeros.reindex(zeros.index.union(spreads.index)).ffill().loc[spreads.index]
    maturity = np.array([d.toordinal() for d in sec["maturity"]], dtype=np.float64)
    coupon = sec["coupon"].to_numpy(dtype=np.float64)
    frequency = sec["frequency"].to_numpy(dtype=np.float64)
    # -1: a letter without history
    column = pd.Index(spreads.columns).get_indexer(pd.Index(letters))
    weight = np.asarray(held, dtype=np.float64)
    out = {}
    for month, level, curve in zip(
        spreads.index, spreads.to_numpy(), curves.to_numpy(dtype=np.float64), strict=True
    ):
        years = (maturity - month.toordinal()) / 365.0
        alive = credit.to_numpy() & (years > 0)
        if not alive.any():
            msg = f"spread durations: no credit security of the book is alive at {month}"
            raise ValueError(msg)
        spread = np.where(column >= 0, level[column], level.mean())
        duration = _spread_duration(
            years[alive], coupon[alive], frequency[alive], spread[alive], tenors, curve
        )
        out[month] = [
            _average(duration, letters.to_numpy()[alive] == letter, weight[alive])
            for letter in spreads.columns
        ]
    return pd.DataFrame.from_dict(out, orient="index", columns=list(spreads.columns))


def _average(duration: np.ndarray, of_letter: np.ndarray, weight: np.ndarray) -> float:
    """Value-weighted mean over the held securities of a letter, else its master, else all."""
    for mask, w in (
        (of_letter & (weight > 0), weight),
        (of_letter, np.ones_like(weight)),
        (weight > 0, weight),
        (np.ones_like(of_letter), np.ones_like(weight)),
    ):
        if mask.any():
            return float(np.average(duration[mask], weights=w[mask]))
    return float("nan")  # unreachable: the caller checked some security is alive


def _spread_duration(
    years: np.ndarray,
    coupon: np.ndarray,
    frequency: np.ndarray,
    spread: np.ndarray,
    tenors: np.ndarray,
    zero_rates: np.ndarray,
) -> np.ndarray:
    """Present-value-weighted time (years) of each bond's remaining flows, all bonds at once."""
    per_year = np.where(frequency > 0, frequency, 1.0)
    periods = np.where(frequency > 0, np.ceil(years * per_year - 1e-9), 1.0).astype(int)
    k = np.arange(int(periods.max()))[None, :]
    times = years[:, None] - k / per_year[:, None]  # from maturity back
    live = k < periods[:, None]
    flows = np.where(frequency > 0, coupon / per_year, 0.0)[:, None] * live
    flows[:, 0] += 1.0
    rate = np.interp(np.clip(times, tenors[0], tenors[-1]), tenors, zero_rates)
    pv = flows * np.exp(-(rate + spread[:, None]) * np.maximum(times, 0.0))
    return np.asarray((pv * times).sum(axis=1) / pv.sum(axis=1), dtype=np.float64)
