"""Credit spread and inflation paths: positivity, mean reversion, correlations, revaluation."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc import BondBook, Curve
from fialloc.scenarios import (
    CreditInflationSpec,
    G2pp,
    credit_spread_moves,
    rating_groups,
    simulate_credit_inflation,
)

VD = dt.date(2026, 3, 31)
SPREADS = {
    "AAA": 0.003,
    "AA": 0.005,
    "A": 0.008,
    "BBB": 0.013,
    "BB": 0.025,
    "B": 0.038,
    "CCC": 0.07,
}


@pytest.fixture(scope="module")
def setup():
    model = G2pp(Curve.flat(0.04, VD))
    paths = model.simulate(6000, seed=21)
    spec = CreditInflationSpec(SPREADS, long_run={k: 1.3 * v for k, v in SPREADS.items()})
    return model, paths, spec, simulate_credit_inflation(model, paths, spec)


def test_spreads_stay_positive_and_revert(setup):
    _, paths, spec, sim = setup
    assert np.all(sim.spreads > 0)
    # log-spread OU: E[ln s_t] = ln s_0 e^{-kt} + ln theta (1 - e^{-kt})
    t = paths.times[-1]
    e = np.exp(-spec.mean_reversion * t)
    expected = np.log(sim.today) * e + np.log(1.3 * sim.today) * (1 - e)
    se = np.log(sim.spreads[:, -1, :]).std(axis=0) / np.sqrt(paths.n_paths)
    assert np.all(np.abs(np.log(sim.spreads[:, -1, :]).mean(axis=0) - expected) < 4 * se)


def test_inflation_reverts_to_its_level(setup):
    _, paths, spec, sim = setup
    mean = sim.inflation[:, -1].mean()
    se = sim.inflation[:, -1].std() / np.sqrt(paths.n_paths)
    assert abs(mean - spec.inflation_level) < 4 * se
    k = spec.inflation_mean_reversion
    stationary_sd = spec.inflation_volatility / np.sqrt(2 * k)
    assert sim.inflation[:, -1].std() == pytest.approx(
        stationary_sd * np.sqrt(1 - np.exp(-2 * k * 10)), rel=0.05
    )


def test_correlations_with_rates_and_between_ratings(setup):
    model, paths, spec, sim = setup
    d_log_s = np.diff(np.log(sim.spreads), axis=1)[:, 30, :]
    d_x = paths.x[:, 31] - np.exp(-model.params[0] / 12) * paths.x[:, 30]
    d_infl = np.diff(sim.inflation, axis=1)[:, 30]
    n = paths.n_paths
    tol = 4 / np.sqrt(n)
    c = np.corrcoef(np.column_stack([d_log_s, d_infl, d_x]).T)
    # drift terms are tiny next to the shocks over one month, so these are the shock correlations
    assert abs(c[0, 3] - spec.base_correlation) < tol + 0.01
    assert abs(c[2, 6] - spec.base_correlation) < tol + 0.01
    assert abs(c[3, 8] - spec.rate_correlation) < tol + 0.01
    assert abs(c[7, 8] - spec.inflation_rate_correlation) < tol + 0.01
    assert abs(c[0, 7]) < tol + 0.01 + abs(spec.rate_correlation * spec.inflation_rate_correlation)


@pytest.mark.parametrize("seed", range(4))
def test_moves_at_horizons_sum_the_steps_in_closed_form(setup, seed):
    # credit_spread_moves sums each step's shock to the horizons in one product; on random
    # grids (uneven steps), horizons, streams and long-run levels it equals the step-by-step
    # recursion's moves to rounding.
    model, _, _, _ = setup
    rng = np.random.default_rng(seed)
    grid = np.cumsum(rng.uniform(0.02, 0.3, size=40))
    horizons = np.sort(rng.choice(grid, size=5, replace=False))
    spec = CreditInflationSpec(
        SPREADS,
        long_run={k: v * rng.uniform(0.5, 2.0) for k, v in SPREADS.items()},
        mean_reversion=rng.uniform(0.1, 2.0),
        volatility=rng.uniform(0.0, 0.6),
    )
    paths = model.simulate(64, grid, seed=seed)
    stream = int(rng.integers(16, 200))
    want = simulate_credit_inflation(model, paths, spec, stream=stream).moves(paths, horizons)
    got = credit_spread_moves(model, paths, spec, horizons, stream=stream)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    # Another stream draws other shocks.
    other = credit_spread_moves(model, paths, spec, horizons, stream=stream + 4)
    assert spec.volatility == 0.0 or not np.allclose(other, got)


def test_reproducible_in_chunks(setup):
    model, _, spec, _ = setup
    whole = model.simulate(40, seed=4)
    parts = [model.simulate(10, seed=4, first_path=10 * i) for i in range(4)]
    a = simulate_credit_inflation(model, whole, spec)
    b = [simulate_credit_inflation(model, p, spec) for p in parts]
    np.testing.assert_array_equal(np.concatenate([x.spreads for x in b]), a.spreads)
    np.testing.assert_array_equal(np.concatenate([x.inflation for x in b]), a.inflation)


def test_bonds_revalue_with_their_ratings_spread_path(setup):
    model, _, spec, _ = setup
    paths = model.simulate(30, times=[1.0, 2.0], seed=8)
    sim = simulate_credit_inflation(model, paths, spec)
    book = BondBook.from_frame(
        pd.DataFrame(
            [
                {
                    "security_id": "T",
                    "coupon": 0.04,
                    "maturity": "2036-03-31",
                    "frequency": 2,
                    "day_count": "ACT/365F",
                    "face": 100.0,
                },
                {
                    "security_id": "C",
                    "coupon": 0.06,
                    "maturity": "2036-03-31",
                    "frequency": 2,
                    "day_count": "ACT/365F",
                    "face": 100.0,
                },
            ]
        ),
        VD,
    )
    groups = rating_groups(["AA+", "BBB-"], exempt=[True, False])
    assert groups.tolist() == [-1, 3]
    z = np.array([0.0, 0.013])
    moves = sim.moves(paths, [2.0])
    moved = model.revalue(book, paths, [2.0], z, spread_moves=moves, groups=groups)
    plain = model.revalue(book, paths, [2.0], z)
    np.testing.assert_array_equal(moved[:, 0, 0], plain[:, 0, 0])  # exempt: unchanged
    for p in range(3):  # the corporate on path p equals a revaluation at z + its BBB move
        bumped = model.revalue(book, paths, [2.0], z + np.array([0.0, moves[p, 0, 3]]))
        assert moved[p, 0, 1] == pytest.approx(bumped[p, 0, 1], rel=1e-13)


def test_bad_specs(setup):
    model, paths, _, _ = setup
    with pytest.raises(ValueError, match="no spread given"):
        simulate_credit_inflation(model, paths, CreditInflationSpec({"AAA": 0.003}))
    with pytest.raises(ValueError, match="base_correlation"):
        simulate_credit_inflation(model, paths, CreditInflationSpec(SPREADS, base_correlation=1.0))
    with pytest.raises(ValueError, match="'Baa4' is not a rating"):
        rating_groups(["Baa4"])


def test_rating_groups_read_either_scale_and_put_cc_and_c_in_ccc():
    assert rating_groups(["Baa1", "bbb-", "Aa2", "CC", "C", "Caa3"]).tolist() == [3, 3, 1, 6, 6, 6]
