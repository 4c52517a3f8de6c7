"""Expected credit loss: what a bond's yield pays for defaults, by rating.

A yield is not a return: part of a high-yield bond's spread pays for the defaults expected
over the year. The expected loss rate of a holding is its rating's annual default probability
times the loss given default; government and agency debt (``GOVERNMENT_SECTORS``) is taken
as default free. The optimizer's expected return is yield less this loss (one definition for
the objective, results, CLI and report).

Default probabilities (:data:`DEFAULT_PROBABILITY`) are S&P Global Ratings' long-run average
one-year global corporate default rates by letter (1981-2023, rounded: AAA 0.00%, AA 0.02%,
A 0.05%, BBB 0.15%, BB 0.60%, B 3.1%, CCC/C 26%); the loss given default
(:data:`LOSS_GIVEN_DEFAULT`) is 60%, the complement of the roughly 40% long-run average
recovery of senior unsecured bonds (Moody's). Both are mandate inputs
(:class:`fialloc.data.mandate.CreditLossAssumptions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import pandas as pd

from fialloc.data.vocabulary import GOVERNMENT_SECTORS, RATING_LETTERS, rating_letter

__all__ = ["DEFAULT_PROBABILITY", "LOSS_GIVEN_DEFAULT", "expected_loss_rate"]

#: Annual default probability by rating letter (decimal): S&P's long-run averages, rounded.
DEFAULT_PROBABILITY: Final = {
    "AAA": 0.0,
    "AA": 0.0002,
    "A": 0.0005,
    "BBB": 0.0015,
    "BB": 0.006,
    "B": 0.031,
    "CCC": 0.26,
}
#: Loss given default (decimal of value): one less a 40% recovery.
LOSS_GIVEN_DEFAULT: Final = 0.60


def expected_loss_rate(
    ratings: pd.Series,
    sectors: pd.Series,
    default_probability: Mapping[str, float] | None = None,
    loss_given_default: float = LOSS_GIVEN_DEFAULT,
) -> pd.Series:
    """Annual expected credit loss per unit of value of each security (decimal a year).

    Parameters
    ----------
    ratings, sectors : Series
        Canonical ratings (``BBB+``...) and sectors, indexed alike (one row per security).
    default_probability : mapping of str to float, optional
        Annual default probability (decimal) per rating letter (``RATING_LETTERS``); letters
        left out keep :data:`DEFAULT_PROBABILITY`'s.
    loss_given_default : float
        Decimal of value lost on default.

    Raises
    ------
    ValueError
        If a probability or the loss given default is not in [0, 1], or a letter is unknown.
    """
    given = dict(default_probability or {})
    unknown = sorted(set(given) - set(RATING_LETTERS))
    if unknown:
        msg = f"expected_loss_rate: unknown rating letters {unknown}; use {list(RATING_LETTERS)}"
        raise ValueError(msg)
    table = {**DEFAULT_PROBABILITY, **given}
    bad = {k: v for k, v in table.items() if not 0.0 <= v <= 1.0}
    if bad or not 0.0 <= loss_given_default <= 1.0:
        msg = (
            "expected_loss_rate: default probabilities and the loss given default must be "
            f"decimals in [0, 1], got {bad or loss_given_default}"
        )
        raise ValueError(msg)
    probability = ratings.map(lambda r: table[rating_letter(str(r))]).astype(float)
    return (probability * loss_given_default).where(~sectors.isin(GOVERNMENT_SECTORS), 0.0)
