"""Stresses revalue MBS pools and callables with their models, OAS held: checked against full
revaluation (pools: paths simulated afresh on the stressed curve; callables: the 48-steps-a-year
lattice refitted to it), the base scenario's prices and the NY7 paths' first horizon."""

from __future__ import annotations

import numpy as np
import pytest

from fialloc.callables import lattice_prices
from fialloc.mbs import PrepaymentModel, valuation_paths, value_pools
from fialloc.option_values import CallableGroup, PoolGroup
from fialloc.stresses import default_scenarios, stress_portfolio, stressed_curve


@pytest.fixture(scope="module")
def stressed(demo_portfolio):
    chosen = [s for s in default_scenarios() if s.name in _NAMES]
    return stress_portfolio(demo_portfolio, chosen)


_NAMES = ("base", "parallel_up_100", "parallel_down_100", "steepener_2s10s_100",
          "credit_widening_100", "ny7_pop_up", "parallel_up_300")  # fmt: skip


def _groups(p):
    groups = p.option_values.groups
    pools = next(g for g in groups if isinstance(g, PoolGroup))
    calls = next(g for g in groups if isinstance(g, CallableGroup))
    return pools, calls


def test_the_base_scenario_keeps_every_price(demo_portfolio, stressed):
    p = demo_portfolio
    rows = p.option_values.rows
    ids = p.book.security_ids[rows]
    base = stressed.asset_values.loc["base", ids].to_numpy()
    np.testing.assert_allclose(base, p.analytics.market_value[rows], rtol=1e-15)


def test_pools_are_revalued_at_their_oas_on_paths_of_the_stressed_curve(demo_portfolio, stressed):
    """Re-basing the valuation paths on a moved curve is a full re-simulation on it: the same
    values to 1e-9 of price. The pools are negatively convex: +100 bp loses more than -100 bp
    gains for most of them, which scheduled flows (positively convex) cannot show."""
    p = demo_portfolio
    pools, _ = _groups(p)
    ids = p.book.security_ids[pools.rows]
    face = p.book.face[pools.rows] / 100.0
    for name in ("parallel_up_100", "steepener_2s10s_100"):
        scenario = next(s for s in default_scenarios() if s.name == name)
        curve = stressed_curve(p.curve, scenario)
        fresh = value_pools(
            pools.pools,
            valuation_paths(pools.pools, curve),
            oas=pools.oas,
            model=PrepaymentModel(),
            key_tenors=None,
            bump_bp=0.0,
        ).value
        got = stressed.asset_values.loc[name, ids].to_numpy() / face
        np.testing.assert_allclose(got, fresh, rtol=1e-9)
    up = stressed.asset_values.loc["parallel_up_100", ids] / stressed.asset_values.loc["base", ids]
    down = (
        stressed.asset_values.loc["parallel_down_100", ids] / stressed.asset_values.loc["base", ids]
    )
    assert ((1 - up) > (down - 1)).mean() > 0.8
    # A spread shock moves the OAS: every pool loses.
    widened = stressed.asset_values.loc["credit_widening_100", ids]
    assert (widened < stressed.asset_values.loc["base", ids]).all()


def test_callables_against_the_full_lattice_on_the_stressed_curve(demo_portfolio, stressed):
    """The stress value (price plus the 16-steps lattice's change) against the 48-steps
    lattice refitted to the stressed curve at the OAS: within 0.02 per 100 face (measured on
    the demo's callables at -300, -100, +100 and +300 bp: largest 0.0057, for price moves of
    up to 28 per 100)."""
    p = demo_portfolio
    _, calls = _groups(p)
    ids = p.book.security_ids[calls.rows]
    face = p.book.face[calls.rows] / 100.0
    worst = 0.0
    for name in ("parallel_up_100", "parallel_down_100", "parallel_up_300"):
        scenario = next(s for s in default_scenarios() if s.name == name)
        curve = stressed_curve(p.curve, scenario)
        full = lattice_prices(calls.book.layout, calls.schedule, calls.model, curve, calls.oas)
        got = stressed.asset_values.loc[name, ids].to_numpy() / face
        worst = max(worst, float(np.abs(got - full).max()))
        bullet = calls.book.dirty_prices(curve, calls.oas)
        assert np.all(got <= bullet + 1e-6)  # the issuer's call caps the value
    assert worst < 0.02


def test_ny7_paths_value_the_models_on_the_moved_curve(demo_portfolio, stressed):
    """The pop-up path's first horizon is today's book 300 bp higher: the parallel_up_300
    stress's assets, pools and callables included, to rounding."""
    paths = stressed.path_values
    first = paths[(paths["scenario"] == "ny7_pop_up") & (paths["horizon"] == 0.0)]
    total = stressed.asset_values.loc["parallel_up_300"].sum()
    assert float(first["assets"].iloc[0]) == pytest.approx(total, rel=1e-12)
