"""Annuity blocks with dynamic lapse and longevity: a hand-worked three-policy case, stresses,
behaviour-inclusive risk, and validation."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from fialloc import Curve
from fialloc.annuities import (
    AnnuityBlocks,
    LapseCurve,
    MortalityTable,
    behaviour_risk,
    expected_flows,
    mass_lapse_cash_call,
    project,
)
from fialloc.bonds import CashflowStream
from fialloc.scenarios import G2pp

VD = dt.date(2026, 1, 15)
ANNIVERSARY = VD + dt.timedelta(days=365)  # one year: t_k = 1, 2, 3...


def _three_policies() -> tuple[AnnuityBlocks, MortalityTable]:
    products = pd.DataFrame(
        [
            {"product_id": "FA3", "kind": "fixed_annuity", "age": 60, "account_value": 1000.0,
             "credited_rate": 0.03, "surrender_charge": 0.05, "surrender_years": 2.0,
             "base_lapse": 0.10, "term_years": 2.0, "next_anniversary": ANNIVERSARY},
            {"product_id": "FA5", "kind": "fixed_annuity", "age": 60, "account_value": 2000.0,
             "credited_rate": 0.05, "surrender_charge": 0.05, "surrender_years": 2.0,
             "base_lapse": 0.10, "term_years": 2.0, "next_anniversary": ANNIVERSARY},
            {"product_id": "SPIA", "kind": "payout_annuity", "age": 61, "annual_payment": 100.0,
             "next_anniversary": ANNIVERSARY},
        ]
    )  # fmt: skip
    mortality = MortalityTable.from_frame(
        pd.DataFrame({"age": [60, 61, 62], "qx": [0.01, 0.02, 0.03], "improvement": 0.01})
    )
    return AnnuityBlocks.from_frame(products, VD), mortality


def test_three_policies_by_hand():
    blocks, mortality = _three_policies()
    flows, today = project(blocks, mortality, np.full((3, blocks.horizon), 0.04))
    assert today.tolist() == [0.0, 0.0, 0.0]
    # S-curve multiples: market 4% against credited 3% and 5%.
    s_fa3 = 0.5 + 3.5 / (1 + math.exp(-(0.01 - 0.015) / 0.005))  # 1.4413
    s_fa5 = 0.5 + 3.5 / (1 + math.exp(-(-0.01 - 0.015) / 0.005))  # 0.5235
    for row, credited, av0, mult in ((0, 0.03, 1000.0, s_fa3), (1, 0.05, 2000.0, s_fa5)):
        av1, av2 = av0 * (1 + credited), av0 * (1 + credited) ** 2
        q1, q2 = 0.01, 0.02 * 0.99  # age 60 in year 0; age 61 after one year of improvement
        lapse = 0.10 * mult
        # Year 1: deaths paid the account; survivors surrender at a 2.5% charge.
        year1 = q1 * av1 + (1 - q1) * lapse * av1 * (1 - 0.025)
        n1 = (1 - q1) * (1 - lapse)
        # Year 2 is the term end: deaths and the survivors' account are paid.
        year2 = n1 * q2 * av2 + n1 * (1 - q2) * av2
        np.testing.assert_allclose(flows[0, row, :2], [year1, year2], rtol=1e-13)
        assert np.all(flows[0, row, 2:] == 0)
    # Payout annuity: 100 to each survivor; age 63 is beyond the table (everyone dies).
    n1 = 1 - 0.02
    n2 = n1 * (1 - 0.03 * 0.99)
    np.testing.assert_allclose(flows[0, 2, :3], [100 * n1, 100 * n2, 0.0], rtol=1e-13)


def test_three_policies_mass_lapse_and_longevity_by_hand():
    blocks, mortality = _three_policies()
    base, _ = project(blocks, mortality, np.full((3, blocks.horizon), 0.04))
    lapsed, today = project(blocks, mortality, np.full((3, blocks.horizon), 0.04), mass_lapse=0.4)
    # 40% surrender today at the full 5% charge; the rest run on as before, scaled by 0.6.
    np.testing.assert_allclose(today, [0.4 * 1000 * 0.95, 0.4 * 2000 * 0.95, 0.0])
    np.testing.assert_allclose(lapsed[0, :2], 0.6 * base[0, :2], rtol=1e-13)
    np.testing.assert_allclose(lapsed[0, 2], base[0, 2], rtol=1e-13)
    assert mass_lapse_cash_call(blocks) == pytest.approx(380.0 + 760.0)
    longer, _ = project(blocks, mortality, np.full((3, blocks.horizon), 0.04), mortality_scale=0.8)
    n1 = 1 - 0.8 * 0.02
    n2 = n1 * (1 - 0.8 * 0.03 * 0.99)
    np.testing.assert_allclose(longer[0, 2, :3], [100 * n1, 100 * n2, 0.0], rtol=1e-13)


def test_lapses_rise_with_market_rates():
    blocks, mortality = _three_policies()
    low, _ = project(blocks, mortality, np.full((3, blocks.horizon), 0.02))
    high, _ = project(blocks, mortality, np.full((3, blocks.horizon), 0.07))
    # More surrender in year 1 when the market pays more (surrender pays less than the account
    # grows to at term, so the first year's flow rises and the term payment falls).
    assert high[0, 0, 0] > low[0, 0, 0]
    assert high[0, 0, 1] < low[0, 0, 1]


def _demo_like(rng: np.random.Generator, rate: float) -> tuple[AnnuityBlocks, MortalityTable]:
    """Four fixed annuities crediting near the market rate and two payout annuities."""
    rows = []
    for k in range(6):
        fixed = k < 4
        rows.append(
            {
                "product_id": f"P{k}",
                "kind": "fixed_annuity" if fixed else "payout_annuity",
                "age": int(rng.integers(55, 75)),
                "account_value": 1e6 if fixed else None,
                "credited_rate": rate + float(rng.uniform(-0.015, 0.0)) if fixed else None,
                "surrender_charge": 0.03 if fixed else None,
                "surrender_years": 3.0 if fixed else None,
                "base_lapse": 0.06 if fixed else None,
                "term_years": float(rng.integers(8, 16)) if fixed else None,
                "annual_payment": None if fixed else 8e4,
                "next_anniversary": VD + dt.timedelta(days=int(rng.integers(1, 365))),
            }
        )
    ages = np.arange(50, 121)
    qx = np.minimum(0.0005 * np.exp(0.09 * (ages - 40)), 1.0)
    mortality = MortalityTable.from_frame(
        pd.DataFrame({"age": ages, "qx": qx, "improvement": 0.01})
    )
    return AnnuityBlocks.from_frame(pd.DataFrame(rows), VD), mortality


@pytest.mark.parametrize("seed", range(3))
def test_behaviour_shortens_duration_and_adds_convexity(seed):
    """Random books: policyholders hold a put (surrender at the account value less the charge),
    so with dynamic lapse the liabilities are shorter and more convex than their expected
    flows held fixed; longevity adds value, well outside its Monte Carlo error."""
    rng = np.random.default_rng(seed)
    rate = float(rng.uniform(0.03, 0.05))
    blocks, mortality = _demo_like(rng, rate)
    curve = Curve.flat(rate, VD)
    risk = behaviour_risk(blocks, mortality, None, G2pp(curve), n_paths=400, seed=seed)
    assert risk.effective_duration < risk.static_duration
    assert risk.effective_convexity > risk.static_convexity
    s = risk.stresses
    assert s.loc["longevity", "change"] > 5 * s.loc["longevity", "change_se"]
    assert abs(risk.value - expected_flows_value(blocks, mortality, curve)) < 0.02 * risk.value


def test_the_stresses_reuse_todays_paths(monkeypatch):
    """Mass lapse and longevity are stresses of today's curve: they project on the base's
    paths, so the paths are simulated once for today and once for each shifted curve."""
    rng = np.random.default_rng(0)
    blocks, mortality = _demo_like(rng, 0.04)
    simulated = []
    simulate = G2pp.simulate

    def counted(self: G2pp, *args: object, **kwargs: object) -> object:
        simulated.append(float(self.curve.zero_rate(10.0)))
        return simulate(self, *args, **kwargs)

    monkeypatch.setattr(G2pp, "simulate", counted)
    risk = behaviour_risk(blocks, mortality, None, G2pp(Curve.flat(0.04, VD)), n_paths=200)
    assert simulated == pytest.approx([0.04, 0.0375, 0.0425], abs=1e-12)
    assert (risk.stresses.loc[["mass_lapse", "longevity"], "change"] != 0.0).all()


def expected_flows_value(blocks, mortality, curve):
    flows = expected_flows(blocks, mortality, curve)
    return CashflowStream.from_frame(flows, VD).present_value(curve)


def test_fixed_flows_without_products_are_unchanged():
    blocks, mortality = _three_policies()
    curve = Curve.flat(0.04, VD)
    fixed = CashflowStream.from_frame(
        pd.DataFrame({"date": [dt.date(2030, 1, 15)], "amount": [500.0]}), VD
    )
    with_fixed = behaviour_risk(blocks, mortality, fixed, G2pp(curve), n_paths=200)
    alone = behaviour_risk(blocks, mortality, None, G2pp(curve), n_paths=200)
    assert with_fixed.value - alone.value == pytest.approx(fixed.present_value(curve), rel=1e-12)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "variable_annuity"}, "row 0, column kind: 'variable_annuity'"),
        ({"account_value": None}, "row 0, column account_value: a fixed annuity needs a value"),
        ({"next_anniversary": VD}, "row 0, column next_anniversary: must fall within a year"),
    ],
)
def test_products_errors_name_row_and_column(change, message):
    blocks_frame = pd.DataFrame(
        [{"product_id": "A", "kind": "fixed_annuity", "age": 60, "account_value": 1.0,
          "credited_rate": 0.03, "term_years": 3.0, "next_anniversary": ANNIVERSARY}]
    ).assign(**{k: [v] for k, v in change.items()})  # fmt: skip
    with pytest.raises(ValueError, match=message):
        AnnuityBlocks.from_frame(blocks_frame, VD)


def test_mortality_and_lapse_curve_validate():
    with pytest.raises(ValueError, match="ages must be consecutive"):
        MortalityTable.from_frame(pd.DataFrame({"age": [60, 62], "qx": [0.01, 0.02]}))
    with pytest.raises(ValueError, match="age 61, column qx"):
        MortalityTable.from_frame(pd.DataFrame({"age": [60, 61], "qx": [0.01, 1.2]}))
    with pytest.raises(ValueError, match="LapseCurve"):
        LapseCurve(low=2.0, high=1.0)
