"""A two-manager book in three currencies on flat curves, shared by the currency tests.

Manager A holds a USD bond and a EUR bond hedged 60%, manager B a GBP bond unhedged; each
currency's government and OIS curves are flat (``RATES``), FX spots ``SPOTS``, the EUR basis
``BASIS``.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

VD = dt.date(2026, 3, 31)
RATES = {"USD": 0.045, "EUR": 0.025, "GBP": 0.040}
SPOTS = {"EUR": 1.10, "GBP": 1.30}
BASIS = {"EUR": -0.002}
HEDGE = 0.6


def flat_quotes() -> pd.DataFrame:
    """Each currency's government and OIS curves flat: par yields that price flat curves."""
    rows = []
    for ccy, r in RATES.items():
        for curve in ("government", "ois"):
            # ACT/365F deposits on a flat continuous curve: simple rate (e^{rt} - 1) / t.
            for tenor, end in (("1Y", dt.date(2027, 3, 31)), ("30Y", dt.date(2056, 3, 31))):
                t = (end - VD).days / 365
                rows.append(
                    {
                        "kind": "deposit",
                        "tenor": tenor,
                        "rate": math.expm1(r * t) / t,
                        "currency": ccy,
                        "curve": curve,
                        "day_count": "ACT/365F",
                    }
                )
    return pd.DataFrame(rows)


def book_tables() -> dict[str, pd.DataFrame]:
    bond = {
        "issuer": "X",
        "sector": "sovereign",
        "rating": "AA",
        "coupon": 0.03,
        "frequency": 1,
        "day_count": "ACT/ACT ICMA",
        "bid_ask_bp": 1.0,
        "bid_ask_vol_bp": 0.2,
        "adv": 1e9,
        "issue_size": 1e10,
        "liquidity_tier": "level1",
    }
    securities = pd.DataFrame(
        [
            {**bond, "security_id": "U1", "currency": "USD", "maturity": "2036-03-31"},
            {**bond, "security_id": "E1", "currency": "EUR", "maturity": "2034-06-30"},
            {**bond, "security_id": "G1", "currency": "GBP", "maturity": "2041-09-30"},
        ]
    )
    holdings = pd.DataFrame(
        {
            "manager_id": ["A", "A", "B"],
            "security_id": ["U1", "E1", "G1"],
            "par": [6e8, 4e8, 5e8],
            "hedge_ratio": [0.0, HEDGE, 0.0],
        }
    )
    managers = pd.DataFrame(
        {
            "manager_id": ["A", "B"],
            "name": ["A", "B"],
            "style": ["core", "global"],
            "benchmark": ["x", "y"],
            "current_allocation": [0.6, 0.4],
        }
    )
    liabilities = pd.DataFrame({"date": ["2040-03-31"], "amount": [1.5e9]})
    fx = pd.DataFrame(
        {
            "currency": ["EUR", "GBP"],
            "rate": [SPOTS["EUR"], 1 / SPOTS["GBP"]],
            "quoted": ["base_per_unit", "units_per_base"],
            "basis": [BASIS["EUR"], None],
        }
    )
    return {
        "securities": securities,
        "holdings": holdings,
        "managers": managers,
        "liabilities": liabilities,
        "curve_quotes": flat_quotes(),
        "fx_spot": fx,
    }
