"""Observed prices: where they may come from, how they must agree, and today's price per bond.

A price per 100 face may be given in the ``prices`` table (by security and date) or in the
holdings' optional ``price`` and ``price_type`` columns (observed at the valuation date). A
bond held by several managers has one price: every row giving one must agree. The spread of a
held bond comes, in this order, from an observed price at the valuation date, from its
``z_spread`` in the security master, or from the spread of its letter rating (zero for
government sectors); a bond with none of them is refused here, before anything is priced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

from fialloc.data.schema import Problem

__all__ = [
    "GOVERNMENT_SECTORS",
    "SPREAD_SOURCES",
    "price_problems",
    "spread_problems",
    "valuation_prices",
]

GOVERNMENT_SECTORS: Final = ("treasury", "treasury_strip", "government", "sovereign")
#: Where a held bond's spread came from, in order of precedence.
SPREAD_SOURCES: Final = ("price", "z_spread", "rating", "government")
_COLUMNS: Final = ("price", "price_type", "source")
_LIMIT = 20  # problems of one kind worth listing


def _holding_prices(holdings: pd.DataFrame, vd: dt.date) -> pd.DataFrame:
    """Return the holdings rows with a price: row, security_id, date, price, type, source."""
    if "price" not in holdings.columns:
        return pd.DataFrame(columns=["row", "security_id", "date", *_COLUMNS])
    given = holdings[holdings["price"].notna()]
    kind = (
        given["price_type"].fillna("clean")
        if "price_type" in given.columns
        else pd.Series("clean", index=given.index)
    )
    return pd.DataFrame(
        {
            "row": np.flatnonzero(holdings["price"].notna().to_numpy()),
            "security_id": given["security_id"].to_numpy(),
            "date": vd,
            "price": given["price"].to_numpy(dtype=float),
            "price_type": kind.to_numpy(),
            "source": "holdings",
        }
    )


def valuation_prices(
    holdings: pd.DataFrame, prices: pd.DataFrame | None, vd: dt.date
) -> pd.DataFrame:
    """Each priced security's observed price at the valuation date (validated inputs).

    Returns
    -------
    DataFrame
        Indexed by security id: ``price`` (per 100 face), ``price_type`` (clean or dirty) and
        ``source`` (the ``prices`` table's source, ``prices`` when it names none, or
        ``holdings``). The ``prices`` table comes first; the holdings only add securities it
        does not price (the loader made sure both agree where they overlap).
    """
    parts = []
    if prices is not None and len(prices):
        today = prices[prices["date"] == vd]
        source = (
            today["source"].fillna("prices")
            if "source" in today.columns
            else pd.Series("prices", index=today.index)
        )
        parts.append(today[["security_id", "price", "price_type"]].assign(source=source))
    parts.append(_holding_prices(holdings, vd).drop(columns=["row", "date"]))
    table = pd.concat(parts, ignore_index=True).drop_duplicates("security_id", keep="first")
    return table.set_index("security_id")[list(_COLUMNS)].astype({"price": float})


def price_problems(
    t: Mapping[str, pd.DataFrame], files: Mapping[str, str], vd: dt.date
) -> list[Problem]:
    """Prices of unknown securities or after the valuation date, and prices that disagree."""
    problems: list[Problem] = []
    securities = t.get("securities")
    known = None if securities is None else set(securities["security_id"]) - {None}
    prices = t.get("prices")
    if prices is not None:
        file = files["prices"]
        ids, dates = prices["security_id"].to_numpy(), prices["date"].to_numpy()
        if known is not None:
            for row in np.flatnonzero(~prices["security_id"].isin(known).to_numpy())[:_LIMIT]:
                if ids[row] is not None:
                    msg = f"{ids[row]!r} has no row in the security master"
                    problems.append(Problem(file, int(row), "security_id", msg))
        codes, distinct = pd.factorize(prices["date"])
        late = [k for k, d in enumerate(distinct) if d is not None and d > vd]
        for row in np.flatnonzero(np.isin(codes, late))[:_LIMIT]:
            msg = f"{dates[row]} is after the valuation date {vd}"
            problems.append(Problem(file, int(row), "date", msg))
    holdings = t.get("holdings")
    if holdings is None or "price" not in holdings.columns:
        return problems
    file = files["holdings"]
    if "price_type" in holdings.columns:
        stray = holdings["price_type"].notna() & holdings["price"].isna()
        for row in np.flatnonzero(stray.to_numpy())[:_LIMIT]:
            problems.append(Problem(file, int(row), "price", "price_type given without a price"))
    given = _holding_prices(holdings, vd)
    if prices is not None:
        today = prices.loc[prices["date"] == vd, ["security_id", "price", "price_type"]]
        first = today.assign(row=-1)
    else:
        first = pd.DataFrame(columns=["security_id", "price", "price_type", "row"])
    # Each security's first price (the prices table's, else its first holdings row) is the
    # one every other row must repeat.
    both = pd.concat([first, given[["security_id", "price", "price_type", "row"]]])
    reference = both.drop_duplicates("security_id", keep="first").set_index("security_id")
    ref = reference.reindex(given["security_id"])
    differ = (ref["price"].to_numpy() != given["price"].to_numpy()) | (
        ref["price_type"].to_numpy() != given["price_type"].to_numpy()
    )
    for k in np.flatnonzero(differ)[:_LIMIT]:
        sid, other = given["security_id"].iloc[k], ref.iloc[k]
        where = f"prices at {vd}" if other["row"] == -1 else f"row {int(other['row'])} of {file}"
        msg = (
            f"{sid!r} priced {given['price'].iloc[k]:g} {given['price_type'].iloc[k]} but "
            f"{other['price']:g} {other['price_type']} in {where}; a bond has one price"
        )
        problems.append(Problem(file, int(given["row"].iloc[k]), "price", msg))
    return problems


def spread_problems(
    t: Mapping[str, pd.DataFrame], files: Mapping[str, str], vd: dt.date
) -> list[Problem]:
    """Held securities with no price at `vd`, no ``z_spread`` and no spread for their rating."""
    securities, holdings = t.get("securities"), t.get("holdings")
    if securities is None or holdings is None:
        return []
    master = securities.set_index("security_id", drop=False)
    held = pd.Index(holdings["security_id"].dropna().unique()).intersection(master.index)
    priced = set(valuation_prices(holdings, t.get("prices"), vd).index)
    spreads = t.get("spreads")
    letters = set() if spreads is None else set(spreads["rating"])
    rows = master.loc[held]
    has_z = (
        rows["z_spread"].notna()
        if "z_spread" in rows.columns
        else pd.Series(False, index=rows.index)
    )
    covered = (
        rows["security_id"].isin(priced)
        | has_z
        | rows["sector"].isin(GOVERNMENT_SECTORS)
        | rows["rating"].str.rstrip("+-").isin(letters)
    )
    position = pd.Index(securities["security_id"])
    problems = []
    for sid in rows.index[~covered.to_numpy()][:_LIMIT]:
        letter = str(rows.at[sid, "rating"]).rstrip("+-")
        msg = (
            f"{sid!r} is held but has no price at {vd}, no z_spread and no {letter} spread in "
            "spreads; give one of them"
        )
        problems.append(Problem(files["securities"], int(position.get_loc(sid)), "z_spread", msg))
    return problems
