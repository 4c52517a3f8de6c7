"""What a run needs beyond tables that are each valid: the histories its stages read.

A table valid on its own may still not carry what ``fialloc run`` reads: the skill statistics
need every manager's monthly returns without gaps, the surplus tracking error needs the zero
rate at every key tenor and the spread of every letter rating for at least a year, the style
regressions the 10-year rate, and liabilities and holdings must be in the same units. A book
holding other currencies needs their zero rates and FX spots over the same months.
``validate`` and ``load`` of a directory report these against
the file, so that ``run`` never stops on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np

from fialloc.data.portfolio import Portfolio
from fialloc.data.schema import Problem, month_sequence_problem
from fialloc.data.vocabulary import RATING_LETTERS

__all__ = ["MAX_LIABILITY_RATIO", "MIN_HISTORY_MONTHS", "book_value", "run_problems"]

#: Months of complete market history the factor covariance needs.
MIN_HISTORY_MONTHS: Final = 12
#: Liabilities worth more than this many times the assets, or less than its inverse, are in
#: other units than the holdings (thousands, percent): a general account's are within 2x.
MAX_LIABILITY_RATIO: Final = 10.0


def book_value(portfolio: Portfolio) -> float:
    """Market value (base-currency money) of everything held, off today's curves and spreads.

    Prices only (no key-rate durations): the cheap check that every held bond can be valued.

    Raises
    ------
    ValueError
        Naming the first security whose price is not finite.
    """
    book = portfolio.book
    z = portfolio.z_spreads.reindex(book.security_ids).to_numpy(dtype=float)
    dirty = portfolio.dirty_prices(z)
    bad = np.flatnonzero(~np.isfinite(dirty))
    if len(bad):
        k = int(bad[0])
        msg = f"security {book.security_ids[k]!r}: price {dirty[k]} (z-spread {z[k]})"
        raise ValueError(msg)
    return float(np.dot(book.face * portfolio.fx_to_base.to_numpy(), dirty)) / 100.0


def run_problems(portfolio: Portfolio, files: Mapping[str, str]) -> list[Problem]:
    """Every reason a run of `portfolio` would stop on its inputs (see the module doc).

    Parameters
    ----------
    portfolio : Portfolio
        Inputs whose tables each passed their own checks.
    files : mapping of str to str
        File name of each table given, for the messages.
    """
    problems: list[Problem] = []
    ratio = portfolio.liability_stream.present_value(portfolio.curve) / book_value(portfolio)
    if not 1.0 / MAX_LIABILITY_RATIO <= ratio <= MAX_LIABILITY_RATIO:
        msg = (
            f"the liabilities are worth {ratio:.3g} times the assets; give liabilities and "
            "holdings in the same units (money, not thousands or percent)"
        )
        problems.append(Problem(files.get("liabilities", "liabilities.csv"), None, "amount", msg))
    returns = portfolio.manager_returns
    file = files.get("manager_returns", "manager_returns.csv")
    if returns.empty:
        msg = "required to run: each manager's monthly returns (skill is measured on them)"
        problems.append(Problem(file, None, None, msg))
    else:
        months = returns.groupby("manager_id")["month"].agg(frozenset)
        common = set(months.iloc[0])
        for manager, have in months.items():
            differ = sorted(common.symmetric_difference(have))
            if differ:
                msg = (
                    f"manager {manager} has returns for other months than {months.index[0]} "
                    f"(first difference {differ[0]}); every manager needs the same months"
                )
                problems.append(Problem(file, None, "month", msg))
    file = files.get("market_history", "market_history.csv")
    if portfolio.market_history.empty:
        msg = "required to run: monthly zero rates and spreads (the tracking error's factors)"
        return [*problems, Problem(file, None, None, msg)]
    zeros, spreads = portfolio.zero_history, portfolio.spread_history
    tenors = list(portfolio.mandate.key_tenors)
    # A key tenor the history does not quote is read off each month's curve
    # (Portfolio.zero_history_at), so zero series at some tenors are enough.
    series = [
        *(["zero_<years>y"] if zeros.empty else []),
        *(f"spread_{x}" for x in RATING_LETTERS if x not in spreads.columns),
    ]
    if series:
        msg = f"no series {', '.join(series)}; run needs zero rates (their curve gives every key "
        msg += "tenor) and a spread for every letter rating"
        problems.append(Problem(file, None, "series", msg))
        return problems
    at_keys = portfolio.zero_history_at(tenors)
    complete = at_keys.join(spreads[list(RATING_LETTERS)]).dropna()
    if len(complete) < MIN_HISTORY_MONTHS:
        msg = (
            f"{len(complete)} months have every key-tenor zero rate and letter spread; run "
            f"needs at least {MIN_HISTORY_MONTHS}"
        )
        problems.append(Problem(file, None, "month", msg))
    gap = month_sequence_problem(list(complete.index))
    if gap is not None:
        problems.append(Problem(file, None, "month", f"complete months: {gap}"))
    # Other currencies held: their rate and FX moves are factors of the tracking error too.
    base = portfolio.mandate.base_currency
    for currency in sorted(set(portfolio.currencies) - {base}):
        rates = portfolio.currency_zero_history(currency, tenors).dropna()
        spot = portfolio.fx_history(currency).dropna()
        both = len(rates.index.intersection(spot.index).intersection(complete.index))
        if both < MIN_HISTORY_MONTHS:
            msg = (
                f"{currency} bonds are held: run needs at least {MIN_HISTORY_MONTHS} months of "
                f"{currency} zero rates (series zero_{currency}_<years>y) and FX spots "
                f"(fx_{currency}) with the other series; {both} months have them"
            )
            problems.append(Problem(file, None, "series", msg))
    return problems
