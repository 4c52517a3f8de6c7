import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fialloc.analytics.liquidity_costs import (
    MARKET_REGIMES,
    hqla_bounds,
    hqla_buffer,
    hqla_levels,
    liquidation_days,
    liquidity_adjusted_cost,
    market_impact_cost,
    redemption_coverage,
)


def test_hqla_without_caps_binding():
    out = hqla_buffer([100.0, 40.0, 10.0, 50.0], ["level1", "level2a", "level2b", "illiquid"])
    assert out["level1"] == 100.0
    assert out["level2a"] == pytest.approx(34.0)
    assert out["level2b"] == pytest.approx(5.0)
    assert out["cap_adjustment"] == 0.0
    assert out["hqla"] == pytest.approx(139.0)


def test_hqla_level2_caps_hand_worked():
    # L1 10, L2A 85 -> 72.25 after 15%, L2B 40 -> 20 after 50%
    out = hqla_buffer([10.0, 85.0, 40.0], ["level1", "level2a", "level2b"])
    adj15 = max(20 - 15 / 85 * (10 + 72.25), 20 - 15 / 60 * 10, 0)
    adj40 = max(72.25 + 20 - adj15 - 2 / 3 * 10, 0)
    assert out["cap_adjustment"] == pytest.approx(adj15 + adj40)
    hqla = out["hqla"]
    assert hqla == pytest.approx(10 + 72.25 + 20 - adj15 - adj40)
    # the caps hold: level 2 at most 40% of the buffer
    assert hqla - 10 <= 0.4 * hqla + 1e-9


def _basel(l1, l2a, l2b):
    """The LCR's Level 2 cap adjustments as Basel III writes them (post-haircut amounts)."""
    adj15 = max(l2b - 15 / 85 * (l1 + l2a), l2b - 15 / 60 * l1, 0)
    adj40 = max(l2a + l2b - adj15 - 2 / 3 * l1, 0)
    return l1 + l2a + l2b - adj15 - adj40


@settings(max_examples=300)
@given(st.lists(st.floats(0.0, 1e9), min_size=5, max_size=5))
def test_hqla_bounds_are_the_basel_cap_formulas(values):
    tiers = ["level1", "level2a", "level2b_rmbs", "level2b", "illiquid"]
    out = hqla_buffer(values, tiers)
    assert out["hqla"] == pytest.approx(
        _basel(out["level1"], out["level2a"], out["level2b"]), rel=1e-12, abs=1e-6
    )
    after = hqla_levels(values, tiers).sum(axis=0)
    assert min(hqla_bounds(*after)) == pytest.approx(out["hqla"], rel=1e-12, abs=1e-6)
    # the cap holds: Level 2 at most 40% of the buffer
    assert out["hqla"] - out["level1"] <= 0.4 * out["hqla"] + 1e-6


def test_hqla_stress_multiplier_and_validation():
    out = hqla_buffer([100.0, 100.0], ["level1", "level2b"], haircut_multiplier=2.0)
    assert out["level2b"] == 0.0
    with pytest.raises(ValueError, match="unknown liquidity tier"):
        hqla_buffer([1.0], ["tier9"])
    with pytest.raises(ValueError, match="entry 1 is -5"):
        hqla_buffer([1.0, -5.0], ["level1", "level1"])


def test_bangia_cost():
    cost = liquidity_adjusted_cost([1e6, 2e6], [10.0, 50.0], [2.0, 20.0])
    np.testing.assert_allclose(
        cost, [1e6 * 0.5 * (10 + 2.33 * 2) * 1e-4, 2e6 * 0.5 * (50 + 2.33 * 20) * 1e-4]
    )


def test_liquidation_days():
    days = liquidation_days([10e6, 5e6, 0.0], [5e6, 0.0, 0.0], participation=0.2)
    assert days.loc[0, "days_1"] == pytest.approx(10.0)
    assert days.loc[0, "days_0.25"] == pytest.approx(2.5)
    assert np.isinf(days.loc[1, "days_0.5"])
    assert days.loc[2, "days_1"] == 0.0
    with pytest.raises(ValueError, match="participation"):
        liquidation_days([1.0], [1.0], participation=0.0)


def test_square_root_impact():
    cost = market_impact_cost([1e6, 4e6], [4e6, 4e6], [0.01, 0.01])
    np.testing.assert_allclose(cost, [1e6 * 0.01 * 0.5, 4e6 * 0.01 * 1.0])
    # four times the size costs eight times as much
    assert cost[1] / cost[0] == pytest.approx(8.0)


def test_redemption_coverage_sells_cheapest_first():
    mv, adv, ba = [10.0, 10.0, 10.0], [5.0, 5.0, 0.0], [5.0, 1.0, 20.0]
    out = redemption_coverage(mv, adv, ba, redemption=3.0, days=2, participation=0.2)
    # each liquid position can sell 0.2 * 5 * 2 = 2 in time; cheapest (1 bp) first
    assert out["capacity"] == pytest.approx(4.0)
    assert out["raised"] == pytest.approx(3.0)
    assert out["shortfall"] == 0.0
    assert out["cost"] == pytest.approx(2 * 0.5e-4 + 1 * 2.5e-4)
    severe = redemption_coverage(mv, adv, ba, redemption=3.0, days=2, regime=MARKET_REGIMES[2])
    assert severe["shortfall"] == pytest.approx(2.0)
