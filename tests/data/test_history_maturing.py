"""Histories are histories: bonds mature inside the holdings history and are replaced.

A small book whose sleeve holds bonds that mature (one zero, one annual coupon bond) and are
replaced by new ones, loaded through the data model (matured bonds stay in the security
master), is attributed month by month; each sleeve return must match a plain numpy
revaluation of the same cash flows (redemptions count in the month they are paid), on many
random markets. Spreads are needed only where and when a bond is held.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc import data
from fialloc.analytics.holdings_attribution import holdings_attribution
from fialloc.data import InputError

MONTHS = [dt.date(2025, 1, 31), dt.date(2025, 2, 28), dt.date(2025, 3, 31),
          dt.date(2025, 4, 30), dt.date(2025, 5, 31), dt.date(2025, 6, 30)]  # fmt: skip
VD = MONTHS[-1]
TENORS = (1.0, 5.0)
# id: (coupon, maturity, frequency, day count); all single-A industrials.
BONDS = {
    "ZERO_MAR": (0.0, dt.date(2025, 3, 15), 0, "ACT/365F"),
    "ANN_MAY": (0.05, dt.date(2025, 5, 15), 1, "30/360"),
    "ZERO_27": (0.0, dt.date(2027, 3, 31), 0, "ACT/365F"),
    "ANN_30": (0.04, dt.date(2030, 5, 31), 1, "30/360"),
    "ZERO_35": (0.0, dt.date(2035, 6, 30), 0, "ACT/365F"),
}
# Month-end positions (face): the first two mature and are replaced by the next two.
HELD = {
    0: {"ZERO_MAR": 4e6, "ANN_MAY": 6e6},
    1: {"ZERO_MAR": 4e6, "ANN_MAY": 6e6},
    2: {"ANN_MAY": 6e6, "ZERO_27": 5e6},
    3: {"ANN_MAY": 6e6, "ZERO_27": 5e6},
    4: {"ZERO_27": 5e6, "ANN_30": 7e6},
    5: {"ZERO_27": 5e6, "ANN_30": 7e6},
}


def _flows(sid):
    """Cash-flow dates and amounts per 100 face, written out by hand."""
    coupon, maturity, freq, _ = BONDS[sid]
    if freq == 0:
        return [maturity], [100.0]
    dates = [maturity.replace(year=maturity.year - k) for k in range(6)][::-1]
    return dates, [100.0 * coupon] * 5 + [100.0 * (1 + coupon)]


def _value(sid, month, zeros, spread):
    """Per 100 face: flows after `month` discounted on linear zero rates, flat outside."""
    total = 0.0
    for date, amount in zip(*_flows(sid), strict=True):
        t = (date - month).days / 365.0
        if t > 0:
            total += amount * np.exp(-(np.interp(t, TENORS, zeros) + spread) * t)
    return total


def _paid(sid, start, end):
    return sum(a for d, a in zip(*_flows(sid), strict=True) if start < d <= end)


def _tables(rng):
    zeros = 0.04 + rng.normal(0, 0.003, (len(MONTHS), len(TENORS)))
    spreads = {sid: 0.01 + rng.normal(0, 0.001, len(MONTHS)) for sid in BONDS}
    rating_spread = 0.01 + rng.normal(0, 0.0005, len(MONTHS))
    securities = pd.DataFrame(
        [
            {"security_id": sid, "issuer": sid, "sector": "industrial", "rating": "A",
             "currency": "USD", "coupon": c, "maturity": m, "frequency": f, "day_count": d,
             "bid_ask_bp": 5.0, "bid_ask_vol_bp": 1.0, "adv": 1e7, "issue_size": 1e9,
             "liquidity_tier": "level2a"}
            for sid, (c, m, f, d) in BONDS.items()
        ]
    )  # fmt: skip
    # Spreads only where and when held, and at the month-end after (a position's end value).
    needed = {(sid, k) for k, held in HELD.items() for sid in held}
    needed |= {(sid, k + 1) for sid, k in list(needed) if k + 1 < len(MONTHS)}
    needed = {(sid, k) for sid, k in needed if BONDS[sid][1] > MONTHS[k]}
    tables = {
        "securities": securities,
        "holdings": pd.DataFrame(
            {"manager_id": "M1", "security_id": list(HELD[5]), "par": list(HELD[5].values())}
        ),
        "managers": pd.DataFrame(
            [
                {
                    "manager_id": "M1",
                    "name": "One",
                    "style": "core",
                    "benchmark": "BM",
                    "current_allocation": 1.0,
                }
            ]
        ),
        "liabilities": pd.DataFrame({"date": [dt.date(2031, 1, 31)], "amount": [5e6]}),
        "curve_quotes": pd.DataFrame(
            {"kind": ["deposit", "swap"], "tenor": ["1Y", "5Y"], "rate": [0.04, 0.042]}
        ),
        "spreads": pd.DataFrame({"rating": ["A"], "spread": [0.01]}),
        "market_history": pd.DataFrame(
            [
                {"month": m, "series": f"zero_{t:g}y", "value": zeros[k, j]}
                for k, m in enumerate(MONTHS)
                for j, t in enumerate(TENORS)
            ]
            + [
                {"month": m, "series": "spread_A", "value": rating_spread[k]}
                for k, m in enumerate(MONTHS)
            ]
        ),
        "holdings_history": pd.DataFrame(
            [
                {"month": MONTHS[k], "manager_id": "M1", "security_id": sid, "par": par}
                for k, held in HELD.items()
                for sid, par in held.items()
            ]
        ),
        "benchmarks": pd.DataFrame({"benchmark_id": ["BM"], "name": ["Long bonds"]}),
        "benchmark_holdings": pd.DataFrame(
            [
                {"month": m, "benchmark_id": "BM", "security_id": sid, "weight": 0.5}
                for m in MONTHS
                for sid in ("ZERO_35", "ANN_30")
            ]
        ),
        "security_spreads": pd.DataFrame(
            [
                {"month": MONTHS[k], "security_id": sid, "spread": spreads[sid][k]}
                for sid, k in sorted(
                    needed | {(s, k) for s in ("ZERO_35", "ANN_30") for k in range(len(MONTHS))}
                )
            ]
        ),
    }
    return tables, zeros, spreads


@pytest.mark.parametrize("seed", range(8))
def test_sleeve_returns_with_maturing_bonds_match_numpy(seed):
    tables, zeros, spreads = _tables(np.random.default_rng(seed))
    p = data.from_tables(tables, VD)
    h = holdings_attribution(p)
    assert h.months == MONTHS
    for k in range(len(MONTHS) - 1):
        start = end = 0.0
        for sid, par in HELD[k].items():
            start += par / 100 * _value(sid, MONTHS[k], zeros[k], spreads[sid][k])
            later = spreads[sid][k + 1] if BONDS[sid][1] > MONTHS[k + 1] else 0.0
            end += (
                par
                / 100
                * (
                    _value(sid, MONTHS[k + 1], zeros[k + 1], later)
                    + _paid(sid, MONTHS[k], MONTHS[k + 1])
                )
            )
        want = end / start - 1.0
        assert h.effects.portfolio_return[k, 0] == pytest.approx(want, rel=1e-11, abs=1e-14)
    # The month a bond matures its redemption is income, not a loss of the bond's value.
    march = h.effects.portfolio_return[1, 0]
    assert abs(march) < 0.02


def test_holding_a_bond_at_or_after_its_maturity_is_refused():
    tables, _, _ = _tables(np.random.default_rng(0))
    late = pd.DataFrame(
        [{"month": MONTHS[2], "manager_id": "M1", "security_id": "ZERO_MAR", "par": 1e6}]
    )
    tables["holdings_history"] = pd.concat([tables["holdings_history"], late], ignore_index=True)
    with pytest.raises(InputError, match="'ZERO_MAR' held at 2025-03-31, on or after its maturity"):
        data.from_tables(tables, VD)


def test_a_spread_is_needed_when_a_bond_is_held_and_the_month_after_only():
    tables, _, _ = _tables(np.random.default_rng(0))
    ss = tables["security_spreads"]
    # ZERO_27 is bought at the end of March: no spread before is asked for.
    assert set(ss.loc[ss["security_id"] == "ZERO_27", "month"]) == set(MONTHS[2:])
    data.from_tables(tables, VD)
    sold = ss[~((ss["security_id"] == "ZERO_27") & (ss["month"] == MONTHS[3]))]
    with pytest.raises(InputError, match="'ZERO_27' at 2025-04-30, which ends a month it is held"):
        data.from_tables({**tables, "security_spreads": sold}, VD)
