"""Breakevens against their history, and each sleeve's exposure to them.

The nominal-versus-linker relative value of the curve desk: today's zero-coupon breakeven of
each price index at each tenor of its history (``market_history`` series
``breakeven_<INDEX>_<tenor>y``, decimals, the rate of a zero-coupon inflation swap of that
tenor) as a z-score against the months before, and each sleeve's inflation duration and value
change when every breakeven curve moves (nominal rates held; the shift of
:meth:`fialloc.inflation.BreakevenCurve.shifted`, as the ``breakevens_up_50`` stress).
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np
import pandas as pd

from fialloc.data import Portfolio
from fialloc.schedule import add_months

__all__ = ["BREAKEVEN_SERIES", "breakeven_exposure", "breakeven_zscores"]

#: Market-history series of a breakeven: ``breakeven_<INDEX>_<tenor>y``.
BREAKEVEN_SERIES: Final = re.compile(r"^breakeven_(?P<index>[A-Za-z0-9]+)_(?P<tenor>\d+)y$")


def breakeven_zscores(portfolio: Portfolio) -> pd.DataFrame:
    """Today's breakevens against their monthly history, as z-scores.

    Today's value is the index's breakeven curve's zero-coupon swap rate at the tenor (the
    quote ``inflation_swaps`` gives); the history is the series' months before today's. The
    z-score is ``(today - mean) / sd`` over those months (sample standard deviation).

    Returns
    -------
    DataFrame
        Indexed by ``index`` and ``tenor`` (years): ``current_bp``, ``mean_bp``, ``std_bp``,
        ``zscore`` and ``months``; empty without breakeven series or breakeven curves.
    """
    history = portfolio.market_history
    curves = portfolio.breakeven_curves
    rows = []
    for series, group in history.groupby("series", sort=True):
        match = BREAKEVEN_SERIES.match(str(series))
        if match is None or match["index"] not in curves:
            continue
        curve, years = curves[match["index"]], int(match["tenor"])
        past = group[group["month"] < portfolio.valuation_date]["value"].to_numpy(dtype=float)
        if len(past) < 3:
            continue
        end = add_months(curve.base_month, 12 * years)
        current = (curve.fixing([end])[0] / curve.base_cpi) ** (1.0 / years) - 1.0
        mean, std = float(past.mean()), float(past.std(ddof=1))
        rows.append(
            {
                "index": match["index"],
                "tenor": float(years),
                "current_bp": current * 1e4,
                "mean_bp": mean * 1e4,
                "std_bp": std * 1e4,
                "zscore": (current - mean) / std if std > 0 else 0.0,
                "months": len(past),
            }
        )
    columns = ["index", "tenor", "current_bp", "mean_bp", "std_bp", "zscore", "months"]
    return pd.DataFrame(rows, columns=columns).set_index(["index", "tenor"]).sort_index()


def breakeven_exposure(portfolio: Portfolio, shift_bp: float = 50.0) -> pd.DataFrame:
    """Each sleeve's linkers, inflation duration and value change for a breakeven move.

    Parameters
    ----------
    portfolio : Portfolio
        The book; without linkers every sleeve's exposure is zero.
    shift_bp : float
        Parallel move of every breakeven curve (basis points), up and down.

    Returns
    -------
    DataFrame
        Per manager: ``linker_value`` (money), ``linker_share`` (of the sleeve),
        ``inflation_duration`` (years, the sleeve's value-weighted linker inflation duration),
        ``value_up`` and ``value_down`` (money change of the sleeve when breakevens move by
        +`shift_bp` and -`shift_bp`, nominal rates held, by full repricing).
    """
    managers = portfolio.managers.index
    columns = ["linker_value", "linker_share", "inflation_duration", "value_up", "value_down"]
    out = pd.DataFrame(0.0, index=managers, columns=columns)
    table = portfolio.linker_analytics
    book = portfolio.linker_book
    if table is None or book is None:
        return out
    ids = book.security_ids
    face = portfolio.face.reindex(index=managers, columns=ids).to_numpy()
    fx = portfolio.fx_to_base.reindex(ids).to_numpy()
    price = table["dirty_price"].to_numpy() * fx  # base currency per 100 face
    moved = {}
    for name, sign in (("value_up", 1.0), ("value_down", -1.0)):
        shifted = {k: c.shifted(sign * shift_bp) for k, c in portfolio.breakeven_curves.items()}
        at = portfolio.linker_analytics_at(shifted)
        assert at is not None
        moved[name] = at["dirty_price"].to_numpy() * fx
    value = face * price / 100.0
    sleeve = portfolio.manager_values.reindex(managers).to_numpy()
    out["linker_value"] = value.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["linker_share"] = np.where(sleeve > 0, value.sum(axis=1) / sleeve, 0.0)
        duration = value @ table["inflation_duration"].to_numpy()
        out["inflation_duration"] = np.where(sleeve > 0, duration / sleeve, 0.0)
    for name, prices in moved.items():
        out[name] = face @ (prices - price) / 100.0
    return out
