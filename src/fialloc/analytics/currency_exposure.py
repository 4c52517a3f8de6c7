"""Exposures by currency: foreign key rates, FX, and the FX hedges that offset them.

One definition, used by the desks, the optimizer, the stresses, the report and results.json:

- a bond is valued in the base currency at FX spot (:attr:`fialloc.data.Portfolio.market_values`);
- its key-rate durations are on its own currency's government curve: the base currency's
  columns ``krd_<tenor>y`` hold base-currency bonds' only (a EUR bond does not move with US
  rates), another currency's ``krd_<CCY>_<tenor>y`` (:func:`fialloc.curve_set.
  currency_krd_column`);
- its FX exposure ``fx_<CCY>`` is the share of its value not hedged: a rise of the currency by
  x raises the base value of that share by x;
- a hedge (``hedge_ratio`` h of a holding) is a rolling :data:`HEDGE_TENOR`-year FX forward
  selling h of the holding's value at the covered-parity forward
  (:meth:`fialloc.curve_set.CurveSet.fx_forward`). It is worth 0 when struck, removes h of
  the FX exposure, earns the hedge carry ``(F/S - 1) / tenor`` a year on the hedged value
  (added to the yield), and is long a base-currency and short a foreign zero-coupon bond of
  the forward's tenor: key-rate durations of ``+h tenor`` on the base curve and ``-h tenor``
  on the foreign one, spread over the key tenors by the tents at the tenor.

Shares are of a sleeve's value (decimals); key-rate durations are years per unit of value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from fialloc.curve_set import currency_krd_column
from fialloc.curves import tent_overlay
from fialloc.data import Portfolio

__all__ = [
    "HEDGE_TENOR",
    "currency_columns",
    "fx_column",
    "hedge_effects",
    "hedged_shares",
    "security_currency_exposures",
]

#: Tenor (years) of the FX forwards a hedge rolls: three months, the market's usual roll.
HEDGE_TENOR: Final = 0.25


def fx_column(currency: str) -> str:
    """Column of the FX exposure to `currency` (share of value, decimal): ``fx_EUR``."""
    return f"fx_{currency}"


def foreign_currencies(portfolio: Portfolio) -> list[str]:
    """Return the currencies held besides the base, in the curve set's order."""
    held = set(portfolio.currencies)
    return [c for c in portfolio.curve_set.currencies[1:] if c in held]


def currency_columns(portfolio: Portfolio) -> tuple[list[str], list[str]]:
    """Foreign key-rate columns and FX columns of the currencies held besides the base."""
    base = portfolio.mandate.base_currency
    foreign = foreign_currencies(portfolio)
    keys = [currency_krd_column(c, t, base) for c in foreign for t in portfolio.mandate.key_tenors]
    return keys, [fx_column(c) for c in foreign]


def security_currency_exposures(portfolio: Portfolio) -> pd.DataFrame:
    """Per held bond (book order): key-rate durations by currency and unhedged FX exposure.

    Columns: the base ``krd_<tenor>y`` (zero for foreign bonds), ``krd_<CCY>_<tenor>y`` per
    foreign currency held (zero for other bonds) and ``fx_<CCY>`` (1 for the currency's bonds:
    hedges are per holding, so they enter at the manager level, :func:`hedge_effects`).
    """
    a = portfolio.analytics
    base = portfolio.mandate.base_currency
    codes = portfolio.currencies.to_numpy()
    columns: dict[str, np.ndarray] = {}
    for currency in [base, *foreign_currencies(portfolio)]:
        mine = (codes == currency)[:, None]
        krd = np.where(mine, a.krd, 0.0)
        for j, tenor in enumerate(a.key_tenors):
            columns[currency_krd_column(currency, tenor, base)] = krd[:, j]
        if currency != base:
            columns[fx_column(currency)] = mine[:, 0].astype(float)
    return pd.DataFrame(columns, index=a.ids)


def hedged_shares(portfolio: Portfolio) -> pd.DataFrame:
    """Share of each sleeve's value hedged into the base currency, by foreign currency.

    Managers (rows) by foreign currencies held (columns), decimals: the holdings' hedge
    ratios (:attr:`fialloc.data.Portfolio.hedge_ratios`) weighted by value.
    """
    foreign = foreign_currencies(portfolio)
    share = portfolio.sleeve_weights
    hedged = share * portfolio.hedge_ratios.reindex(index=share.index, columns=share.columns)
    codes = portfolio.currencies.reindex(share.columns).to_numpy()
    return pd.DataFrame(
        {c: hedged.loc[:, codes == c].sum(axis=1) for c in foreign},
        index=share.index,
        columns=pd.Index(foreign),
        dtype=float,
    )


def hedge_effects(
    portfolio: Portfolio, hedged: pd.DataFrame, key_tenors: Sequence[float]
) -> pd.DataFrame:
    """Return what the hedges add to each sleeve's yield, key-rate durations, FX exposure.

    Parameters
    ----------
    portfolio : Portfolio
        For its curve set (forward points) and base currency.
    hedged : DataFrame
        Managers by foreign currencies: share of value hedged (:func:`hedged_shares`).
    key_tenors : sequence of float
        Years.

    Returns
    -------
    DataFrame
        Managers by ``ytm`` (decimal a year: hedged share times the hedge carry), the base
        and foreign ``krd_`` columns (years) and ``fx_<CCY>`` (minus the hedged share).
    """
    cs = portfolio.curve_set
    base = portfolio.mandate.base_currency
    tenors = np.asarray(key_tenors, dtype=float)
    # A zero-coupon bond at the hedge's tenor: duration tenor, spread over the key rates by
    # the tents at that tenor (they sum to 1).
    tents = np.array([np.interp(HEDGE_TENOR, *tent_overlay(tenors, j)) for j in range(len(tenors))])
    leg = HEDGE_TENOR * tents
    out = pd.DataFrame(index=hedged.index)
    out["ytm"] = sum(
        (hedged[c] * cs.hedge_carry(c, HEDGE_TENOR) for c in hedged.columns),
        start=pd.Series(0.0, index=hedged.index),
    )
    total = hedged.sum(axis=1).to_numpy()
    for j, tenor in enumerate(tenors):
        out[currency_krd_column(base, tenor, base)] = total * leg[j]
    for c in hedged.columns:
        for j, tenor in enumerate(tenors):
            out[currency_krd_column(c, tenor, base)] = -hedged[c].to_numpy() * leg[j]
        out[fx_column(c)] = -hedged[c]
    return out
