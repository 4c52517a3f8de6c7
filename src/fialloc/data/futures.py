"""Treasury futures for the duration overlay: the input table, its demo default, conversion factors.

The overlay (:mod:`fialloc.overlay`) prices each contract off its cheapest-to-deliver (CTD)
bond. Which bond is cheapest, its conversion factor and the margin a clearing broker asks are
market data: an input table (file ``overlay_futures``) with the columns
:data:`FUTURES_COLUMNS`; :func:`default_futures` is the demo's.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
import pandas as pd

from fialloc.checks import decimal_rate
from fialloc.schedule import add_months, to_date

__all__ = ["FUTURES_COLUMNS", "conversion_factor", "default_futures"]

#: Columns of the futures table: contract name, face per contract (money), the CTD's coupon
#: (decimal, semiannual) and maturity, its conversion factor, the first delivery date, the
#: futures price per 100 (NaN: the fair price off the curve), initial margin per contract.
FUTURES_COLUMNS: Final = (
    "contract",
    "contract_size",
    "ctd_coupon",
    "ctd_maturity",
    "conversion_factor",
    "delivery",
    "futures_price",
    "initial_margin",
)

#: Tenor in years of each default contract's deliverable basket, the rounding of the remaining
#: term in the CME conversion-factor formula (months: 1 for notes up to 5y, 3 beyond), and the
#: face per contract.
_CONTRACTS: Final = {
    "TU": (2.0, 1, 200_000.0),
    "FV": (5.0, 1, 100_000.0),
    "TY": (7.0, 3, 100_000.0),
    "TN": (10.0, 3, 100_000.0),
    "US": (20.0, 3, 100_000.0),
    "UB": (28.0, 3, 100_000.0),
}
#: Initial margin per contract (money): illustrative exchange levels, replace with the
#: clearing broker's.
_FUTURES_MARGIN: Final = {
    "TU": 1_100.0,
    "FV": 1_600.0,
    "TY": 2_300.0,
    "TN": 3_200.0,
    "US": 4_800.0,
    "UB": 7_000.0,
}
#: The CME conversion-factor yield.
_CF_YIELD: Final = 0.06


def conversion_factor(
    coupon: float, maturity: dt.date, delivery_month: dt.date, round_months: int = 3
) -> float:
    """CME conversion factor of a Treasury for a delivery month (per 1 of face, 4 decimals).

    The clean price per 1 at a 6% semiannual yield on the first day of the delivery month, the
    remaining term rounded down to whole `round_months` months (1 for 2y, 3y and 5y notes, 3
    for 10y notes and bonds).

    Parameters
    ----------
    coupon : float
        Annual coupon (decimal), paid semiannually.
    maturity : date
        The bond's maturity.
    delivery_month : date
        Any day of the delivery month.
    round_months : int
        1 or 3.
    """
    c = decimal_rate(coupon, "conversion_factor: coupon")
    if round_months not in (1, 3):
        msg = f"conversion_factor: round_months must be 1 or 3, got {round_months}"
        raise ValueError(msg)
    start = delivery_month.replace(day=1)
    months = (maturity.year - start.year) * 12 + maturity.month - start.month
    months -= int(maturity.day < start.day)
    months -= months % round_months
    if months <= 0:
        msg = f"conversion_factor: maturity {maturity} is not after {start}"
        raise ValueError(msg)
    # The first coupon comes in `frac` of a period (whole months over 6), then n - 1 more.
    periods, extra = divmod(months, 6)
    frac = extra / 6.0 if extra else 1.0
    n = periods + (1 if extra else 0)
    v = 1.0 / (1.0 + _CF_YIELD / 2.0)
    dirty = v**frac * (c / 2.0 * float(np.sum(v ** np.arange(n))) + v ** (n - 1))
    accrued = c / 2.0 * (1.0 - frac)
    return float(round(dirty - accrued, 4))


def default_futures(valuation_date: dt.date) -> pd.DataFrame:
    """Return the demo's futures table: the next quarterly contracts and illustrative CTDs.

    Delivery is the first day of the next March, June, September or December at least a month
    away. Each CTD is an at-the-money-ish Treasury (4.25% coupon) maturing the contract's
    basket tenor after delivery on a quarterly date; its conversion factor comes from
    :func:`conversion_factor`; futures prices are left to the curve (fair price). Replace the
    table with the exchange's CTDs, conversion factors and settlement prices in production.
    """
    vd = to_date(valuation_date, "default_futures: valuation_date")
    delivery = add_months(vd, 1).replace(day=1)
    while delivery.month % 3:
        delivery = add_months(delivery, 1)
    rows = []
    for name, (years, rounding, size) in _CONTRACTS.items():
        maturity = add_months(delivery, round(12 * years)).replace(day=15)
        rows.append(
            {
                "contract": name,
                "contract_size": size,
                "ctd_coupon": 0.0425,
                "ctd_maturity": maturity,
                "conversion_factor": conversion_factor(0.0425, maturity, delivery, rounding),
                "delivery": delivery,
                "futures_price": np.nan,
                "initial_margin": _FUTURES_MARGIN[name],
            }
        )
    return pd.DataFrame(rows)
