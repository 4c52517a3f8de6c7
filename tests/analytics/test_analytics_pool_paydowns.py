"""MBS pools' paydowns over a history: actual from factors, expected by the model, by hand.

The expected paydown of a constant-CPR pool is the closed form's first month
(:func:`fialloc.mbs.scheduled_cashflows`) at the pool's age and months left at that month; a
rate-model pool's is the documented formula worked by hand: the month's mortgage rate is the
10-year zero yield plus the mortgage spread, the SMM the S-curve times ramp, season and
burnout, the paydown the scheduled principal plus the SMM of the rest.
"""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest

from fialloc import mbs
from fialloc.analytics.holdings_attribution import holdings_attribution
from fialloc.analytics.pool_paydowns import history_paydowns
from fialloc.data import Portfolio
from fialloc.mbs import PrepaymentModel, scheduled_cashflows

VD = dt.date(2026, 3, 31)
MONTHS = [dt.date(2025, 12, 31), dt.date(2026, 1, 31), dt.date(2026, 2, 28), VD]
TENORS = np.array([1.0, 10.0, 30.0])
ZEROS = np.array([[0.040] * 3, [0.042] * 3, [0.045] * 3, [0.041] * 3])
POOLS = pd.DataFrame(
    {
        "security_id": ["CPR", "MODEL"],
        "wac": [0.060, 0.065],
        "net_coupon": [0.055, 0.060],
        "wam": [336, 300],
        "age": [24, 12],
        "factor": [0.9, 0.95],
        "prepayment": ["cpr", "model"],
        "speed": [0.08, 1.0],
    }
)
# Factors at the first three month-ends (the last is missing: no paydown in the last period).
FACTORS = pd.DataFrame(
    {
        "security_id": ["CPR"] * 3 + ["MODEL"] * 3,
        "date": MONTHS[:3] * 2,
        "factor": [0.93, 0.92, 0.905, 0.99, 0.975, 0.97],
    }
)


def _portfolio() -> Portfolio:
    view = SimpleNamespace(valuation_date=VD, mbs_pools=POOLS, pool_factors=FACTORS)
    return cast(Portfolio, view)


def _model_paydown(k: int) -> float:
    """The MODEL pool's expected paydown in period k, by the formula in PrepaymentModel."""
    m = PrepaymentModel()
    back = 3 - k
    age, wam = 12 - back, 300 + back
    factor = float(FACTORS["factor"].iloc[3 + k])
    mortgage = ZEROS[k, 1] + m.mortgage_spread  # flat continuous curve: the 10y zero yield

    def smm(cpr: float) -> float:
        return 1.0 - (1.0 - cpr) ** (1.0 / 12.0)

    s_curve = smm(m.cpr_low) + (smm(m.cpr_high) - smm(m.cpr_low)) / (
        1.0 + math.exp((mortgage - 0.065 + m.incentive_mid) / m.incentive_width)
    )
    season = m.seasonality[MONTHS[k].month % 12]  # the month after the month-end
    burnout = m.burnout_floor + (1.0 - m.burnout_floor) * factor
    rate = min(1.0, (age + 1) / m.ramp_months) * season * s_curve * burnout
    c = 0.065 / 12.0
    scheduled = c / ((1.0 + c) ** wam - 1.0)
    return scheduled + rate * (1.0 - scheduled)


def test_actual_and_expected_paydowns_by_hand():
    ids = pd.Index(["TSY", "MODEL", "CPR"])
    out = history_paydowns(_portfolio(), MONTHS, ids, TENORS, ZEROS)
    assert out is not None
    assert out.actual.shape == out.expected.shape == (3, 3)
    for k in range(2):
        f = FACTORS.set_index(["security_id", "date"])["factor"]
        assert out.actual[k, 2] == pytest.approx(
            1 - f["CPR", MONTHS[k + 1]] / f["CPR", MONTHS[k]], abs=1e-15
        )
        back = 3 - k
        flows = scheduled_cashflows(0.06, 0.055, 336 + back, cpr=0.08, age=24 - back).iloc[0]
        assert out.expected[k, 2] == pytest.approx(
            (flows["scheduled"] + flows["prepaid"]) / 100.0, abs=1e-14
        )
        assert out.expected[k, 1] == pytest.approx(_model_paydown(k), rel=1e-12)
    # No factor at the last month-end, and the Treasury is no pool: nothing paid down.
    for paid in (out.actual, out.expected):
        assert np.all(paid[2] == 0.0)
        assert np.all(paid[:, 0] == 0.0)


def test_a_factor_before_the_pool_existed_is_refused():
    early = pd.DataFrame({"security_id": ["MODEL"], "date": [dt.date(2024, 12, 31)]})
    factors = pd.concat([early.assign(factor=1.0), FACTORS], ignore_index=True)
    view = SimpleNamespace(valuation_date=VD, mbs_pools=POOLS, pool_factors=factors)
    months = [dt.date(2024, 12, 31), *MONTHS]
    zeros = np.vstack([ZEROS[:1], ZEROS])
    with pytest.raises(ValueError, match="MODEL has a factor at 2024-12-31, 15 months"):
        history_paydowns(cast(Portfolio, view), months, pd.Index(["MODEL"]), TENORS, zeros)


def test_a_factor_above_one_is_refused_naming_the_pool():
    """The kernel's checks still see each month's pools (age, months left, factor)."""
    factors = FACTORS.assign(factor=FACTORS["factor"].where(FACTORS["security_id"] != "MODEL", 1.2))
    view = SimpleNamespace(valuation_date=VD, mbs_pools=POOLS, pool_factors=factors)
    with pytest.raises(ValueError, match=r"pool MODEL: `factor` must be in \(0, 1\], got 1.2"):
        history_paydowns(cast(Portfolio, view), MONTHS, pd.Index(["CPR", "MODEL"]), TENORS, ZEROS)


def test_one_single_threaded_kernel_run_a_month(monkeypatch):
    """Each month with factors costs one kernel run on one thread (one path: nothing to split),
    not a separate check before it."""
    runs = []
    kernel = mbs._core.mbs_value

    def counted(*args: Any) -> object:
        if len(args[0]):  # pools (the prepayment model's own check runs on none)
            runs.append(args[-1])  # the thread count
        return kernel(*args)

    monkeypatch.setattr(mbs._core, "mbs_value", counted)
    out = history_paydowns(_portfolio(), MONTHS, pd.Index(["MODEL", "CPR"]), TENORS, ZEROS)
    assert out is not None
    # Today's pools are read (and checked) once, then one run for each of the two months.
    assert runs == [1, 1, 1]


def test_no_factors_no_paydowns():
    view = SimpleNamespace(valuation_date=VD, mbs_pools=POOLS, pool_factors=None)
    assert history_paydowns(cast(Portfolio, view), MONTHS, pd.Index(["CPR"]), TENORS, ZEROS) is None


def test_the_demo_attribution_shows_the_prepayment_effect(demo_portfolio):
    """The demo's pools paid down at their past 6% CPR plus amortization; the model expected
    otherwise month by month: every sleeve holding pools has a prepayment effect, the others
    none, and the effects still add up to the active return."""
    p = demo_portfolio
    assert p.pool_factors is not None
    h = holdings_attribution(p, p.mandate.key_tenors)
    prepayment = h.effects.effect("prepayment")
    names = h.securities.names
    paydown = h.securities.effects[:, :, names.index("paydown")]
    pools = np.isin(h.securities.security_ids, p.mbs_pools["security_id"])
    assert np.all(h.securities.effects[:, ~pools, names.index("prepayment")] == 0.0)
    # Every month a pool has factors for (most of the history), it pays something down.
    assert (paydown[:, pools] != 0).mean() > 0.8
    held = p.holdings_history.groupby("manager_id")["security_id"].agg(
        lambda s: bool(set(s) & set(p.mbs_pools["security_id"]))
    )
    sleeves = [m for m in h.portfolios[:-1] if held.get(m, False)]
    assert sleeves
    for m in h.portfolios[:-1]:
        moved = np.abs(prepayment[:, h.portfolios.index(m)]).max()
        assert (moved > 1e-7) == (m in sleeves), m
    total = sum(h.effects.effect(n) for n in h.effects.columns[:8])
    np.testing.assert_allclose(total, h.effects.active_return, atol=1e-13)
