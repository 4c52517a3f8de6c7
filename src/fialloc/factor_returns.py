"""The style factors' returns (duration, BBB and high yield credit) and their bond math.

The duration factor is the return of one year of duration to the 10-year zero rate's move. A
credit factor's return is a month's carry less spread duration times the spread move; the
spread duration is the book's, not a textbook constant: for every month of the spread history,
each held credit security still alive is valued off that month's zero curve plus its rating's
spread, and its spread duration is the present-value-weighted time of its remaining cash flows
(the sensitivity of a continuously compounded spread, in years). A rating's figure is the
average over the book's securities of that rating, weighted by the market value held today.

Cash flows step back from maturity at the coupon frequency (a zero coupon pays once); times are
Act/365F from the month-end; the month's zero curve is interpolated linearly in the tenor.

Bond math below the data package's generators and the analytics alike: the demo plants credit
loadings on the factors the desks estimate (:meth:`fialloc.analytics.context.DeskContext.
credit_factor`), so both read this one definition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fialloc.data.vocabulary import GOVERNMENT_SECTORS

if TYPE_CHECKING:
    from fialloc.data import Portfolio

__all__ = [
    "credit_factor_returns",
    "rating_spread_durations",
    "spread_durations_by_rating",
    "style_factor_returns",
]


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


def style_factor_returns(
    zeros: pd.DataFrame, spreads: pd.DataFrame, durations: pd.DataFrame
) -> pd.DataFrame:
    """Monthly factor returns for style regressions (decimals), months by factor.

    Parameters
    ----------
    zeros : DataFrame
        Monthly zero rates (decimals): months by tenor (years); needs the 10-year tenor.
    spreads : DataFrame
        Monthly spreads (decimals): months by letter rating; needs BBB and BB.
    durations : DataFrame
        The book's spread duration by letter and month (:func:`rating_spread_durations`).

    Returns
    -------
    DataFrame
        ``duration``: the return of one year of duration to the 10-year zero rate's move
        (``-change``); ``credit_bbb`` and ``credit_hy``: BBB and BB credit excess returns
        (:func:`credit_factor_returns`); months where all three are known.

    Raises
    ------
    ValueError
        If the 10-year zero rate or the BBB or BB spread history is missing.
    """
    if 10.0 not in zeros.columns or not {"BBB", "BB"} <= set(spreads):
        msg = "style_factor_returns: market history needs the 10y zero rate and BBB and BB spreads"
        raise ValueError(msg)
    return pd.DataFrame(
        {
            "duration": -zeros[10.0].astype(float).diff().iloc[1:],
            "credit_bbb": credit_factor_returns(spreads["BBB"], durations["BBB"]),
            "credit_hy": credit_factor_returns(spreads["BB"], durations["BB"]),
        }
    ).dropna()


def credit_factor_returns(spreads: pd.Series, durations: pd.Series) -> pd.Series:
    """Monthly credit excess return of a rating (decimal): carry less duration x the move.

    A month's carry is the rating's spread at its start over 12 (an approximation that ignores
    the spread's change within the month), the loss is the book's spread duration of the rating
    at the start of the month times the spread change.

    Parameters
    ----------
    spreads : Series
        The rating's spread at each month-end (decimal), oldest first.
    durations : Series
        The book's spread duration of the rating at the same month-ends (years).

    Returns
    -------
    Series
        From the second month on (a return needs the month before).
    """
    spreads = spreads.astype(float)
    out: pd.Series = (spreads / 12.0 - durations.shift(1) * spreads.diff()).iloc[1:]
    return out


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
    # Each letter's securities once, not per month (the months share the master).
    of_letter = [letters.to_numpy(dtype=object) == letter for letter in spreads.columns]
    is_credit = credit.to_numpy()
    out = {}
    for month, level, curve in zip(
        spreads.index, spreads.to_numpy(), curves.to_numpy(dtype=np.float64), strict=True
    ):
        years = (maturity - month.toordinal()) / 365.0
        alive = is_credit & (years > 0)
        if not alive.any():
            msg = f"spread durations: no credit security of the book is alive at {month}"
            raise ValueError(msg)
        spread = np.where(column >= 0, level[column], level.mean())
        duration = _spread_duration(
            years[alive], coupon[alive], frequency[alive], spread[alive], tenors, curve
        )
        held_alive = weight[alive]
        out[month] = [_average(duration, mask[alive], held_alive) for mask in of_letter]
    return pd.DataFrame.from_dict(out, orient="index", columns=list(spreads.columns))


def _average(duration: np.ndarray, of_letter: np.ndarray, weight: np.ndarray) -> float:
    """Value-weighted mean over the held securities of a letter, else its master, else all."""
    held = weight > 0
    if (mask := of_letter & held).any():
        return float(np.average(duration[mask], weights=weight[mask]))
    # The fallbacks, built only when needed (most letters are held).
    ones = np.ones_like(weight)
    for mask, w in ((of_letter, ones), (held, weight), (np.ones_like(of_letter), ones)):
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
    # Discounting only the live flows (a fraction of the matrix, whose width is the longest
    # bond's): a dead flow is a signed zero times a positive factor, i.e. itself, so the
    # matrix and its row sums are bitwise those of discounting every entry.
    at = times[live]
    rate = np.interp(np.clip(at, tenors[0], tenors[-1]), tenors, zero_rates)
    pv = flows.copy()
    pv[live] *= np.exp(-(rate + np.repeat(spread, live.sum(axis=1))) * np.maximum(at, 0.0))
    return np.asarray((pv * times).sum(axis=1) / pv.sum(axis=1), dtype=np.float64)
