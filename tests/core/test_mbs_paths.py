"""MBS pools on scenario paths: the path-wise flows, balances and later flows against a numpy
reference, bitwise the same for any thread count and chunking, and the regressed value at each
horizon against a nested Monte Carlo from the horizon state."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from mbs_reference import path_flows

from fialloc.curves import Curve
from fialloc.mbs import (
    MbsPaths,
    MbsPools,
    PrepaymentModel,
    horizon_incentive,
    horizon_values,
    path_values,
    value_on_curve,
    value_pools,
)
from fialloc.scenarios import G2pp

VALUATION = dt.date(2026, 11, 24)
MODEL = PrepaymentModel()
GRID = np.arange(1, 121) / 12.0


def random_curve(rng: np.random.Generator) -> Curve:
    tenors = [0.25, 0.5, 1, 2, 3, 5, 7, 10, 20, 30, 50]
    zeros = rng.uniform(0.02, 0.05) + np.cumsum(rng.normal(0, 0.002, len(tenors)))
    return Curve.from_zero_rates(tenors, zeros, valuation_date=VALUATION)


def random_pools(rng: np.random.Generator, n: int, kinds=("cpr", "psa", "model")) -> pd.DataFrame:
    wac = rng.uniform(0.03, 0.075, n)
    kind = rng.choice(list(kinds), n)
    speed = np.where(kind == "cpr", rng.uniform(0, 0.3, n), np.where(kind == "psa", 150.0, 1.0))
    return pd.DataFrame(
        {
            "security_id": [f"P{i}" for i in range(n)],
            "wac": wac,
            "net_coupon": wac - 0.005,
            "wam": rng.integers(13, 361, n),
            "age": rng.integers(0, 120, n),
            "factor": rng.uniform(0.2, 1.0, n),
            "prepayment": kind,
            "speed": speed,
        }
    )


def moved_on(frame: pd.DataFrame, months: int, balance: np.ndarray) -> pd.DataFrame:
    """The pools `months` later with `balance` (per unit of today's face) left."""
    return frame.assign(
        wam=frame["wam"] - months, age=frame["age"] + months, factor=frame["factor"] * balance
    )


def horizon_curve(g2: G2pp, h: float, x: float, y: float, months: int) -> Curve:
    """The path's curve at `h` as today's curve of a fresh model (monthly nodes)."""
    t = np.arange(1, months + 1) / 12.0
    return Curve.from_discount_factors(t, g2.zero_bond(h, h + t, x, y)[0])


def test_path_values_match_numpy_reference():
    """Banked flows, balances and the later flows at a spread, to 1e-11, on random pools."""
    rng = np.random.default_rng(1)
    for case in range(4):
        curve = random_curve(rng)
        g2 = G2pp(curve)
        pools = MbsPools.from_frame(random_pools(rng, 6))
        grid = np.arange(1, 361) / 12.0
        paths = g2.simulate(16, grid, seed=case)
        horizons = np.array([1.0, 2.0, 5.0, 10.0])
        spread = rng.uniform(-0.002, 0.01, len(pools))
        got = path_values(pools, g2, paths, horizons, spread=spread, threads=1)
        # The path's mortgage rate at each month start off the model's zero bond there.
        rates = np.empty((paths.n_paths, len(grid)))
        for k in range(len(grid)):
            t = k / 12.0
            x = paths.x[:, k - 1] if k else np.zeros(paths.n_paths)
            y = paths.y[:, k - 1] if k else np.zeros(paths.n_paths)
            rates[:, k] = MODEL.mortgage_spread - np.log(g2.zero_bond(t, t + 10.0, x, y)[:, 0]) / 10
        balances: list[np.ndarray] = []
        flows = path_flows(pools, MODEL, 12, paths.discount, rates, balances)
        months = np.arange(1, len(grid) + 1)
        assert got.realized is not None
        assert got.realized_dv is not None
        for j, c in enumerate(paths.columns(horizons)):
            m = c + 1
            np.testing.assert_allclose(
                got.banked[:, j], flows[:, :, :m].sum(axis=2).T, rtol=1e-11, atol=1e-12
            )
            alive = pools.wam > m
            np.testing.assert_allclose(got.balance[:, j], balances[c].T * alive, atol=1e-14)
            tau = np.where(months > m, (months - m) / 12.0, 0.0)
            grow = np.exp(-spread[:, None] * tau) * (months > m)
            later = np.einsum("npk,nk->pn", flows, grow) / paths.discount[:, c, None]
            later_dv = np.einsum("npk,nk->pn", flows, grow * tau) / paths.discount[:, c, None]
            np.testing.assert_allclose(got.realized[:, j], later * alive, rtol=1e-11, atol=1e-12)
            np.testing.assert_allclose(got.realized_dv[:, j], later_dv * alive, rtol=1e-11)
        plain = path_values(pools, g2, paths, horizons, threads=1)
        assert plain.realized is None
        assert np.array_equal(plain.banked, got.banked)
        assert np.array_equal(plain.balance, got.balance)


def test_bitwise_for_any_threads_and_chunks():
    rng = np.random.default_rng(2)
    curve = random_curve(rng)
    g2 = G2pp(curve)
    pools = MbsPools.from_frame(random_pools(rng, 7))
    horizons = np.arange(1, 11.0)
    spread = np.full(len(pools), 0.004)
    grid = np.arange(1, 361) / 12.0
    whole = g2.simulate(50, grid, seed=3)
    one = path_values(pools, g2, whole, horizons, spread=spread, threads=1)
    for threads in (2, 3, 8):
        other = path_values(pools, g2, whole, horizons, spread=spread, threads=threads)
        for a, b in zip(dataclasses.astuple(one), dataclasses.astuple(other), strict=True):
            assert np.array_equal(a, b)
    parts = [
        path_values(pools, g2, g2.simulate(n, grid, seed=3, first_path=f), horizons, spread=spread)
        for f, n in ((0, 17), (17, 9), (26, 24))
    ]
    for name in ("banked", "balance", "realized", "realized_dv"):
        joined = np.concatenate([getattr(part, name) for part in parts])
        assert np.array_equal(joined, getattr(one, name))


def nested_errors(seed: int, regression_paths: int) -> tuple[np.ndarray, np.ndarray]:
    """Regressed horizon values against a nested Monte Carlo (2,000 paths from each state).

    Six random pools, three paths, horizons 1, 3 and 5 years. Returns the errors per 100 of
    the balance left and the nested values' standard errors.
    """
    rng = np.random.default_rng(seed)
    curve = random_curve(rng)
    g2 = G2pp(curve)
    frame = random_pools(rng, 6, kinds=("model",)).assign(wam=rng.integers(60, 300, 6))
    pools = MbsPools.from_frame(frame)
    oas = value_on_curve(pools, curve, prices=rng.uniform(97, 104, 6), key_tenors=None).oas
    horizons = np.array([1.0, 3.0, 5.0])
    paths = g2.simulate(3, GRID, seed=seed)
    got = path_values(pools, g2, paths, horizons)
    fitted = horizon_values(pools, g2, horizons, oas, n_paths=regression_paths, seed=seed)
    cols = paths.columns(horizons)
    incentive = horizon_incentive(pools, g2, paths, horizons, MODEL)
    priced = fitted.values(incentive, got.balance, paths.y[:, cols])
    errors, noise = [], []
    for p in range(paths.n_paths):
        for j, c in enumerate(cols):
            m = c + 1
            bal = got.balance[p, j]
            alive = pools.wam > m
            later = MbsPools.from_frame(moved_on(frame, m, bal)[alive].reset_index(drop=True))
            hc = horizon_curve(g2, m / 12.0, paths.x[p, c], paths.y[p, c], 360 + 130)
            nested = MbsPaths.simulate(
                G2pp(hc, *g2.params), MODEL, n_paths=2000, months=int(later.wam.max()), seed=7
            )
            nested = dataclasses.replace(nested, calendar_month=(VALUATION.month + m) % 12 + 1)
            want = value_pools(later, nested, oas=oas[alive], key_tenors=None, bump_bp=0)
            errors.append(priced[p, j, alive] / bal[alive] - want.value)
            noise.append(want.std_error)
    return np.concatenate(errors), np.concatenate(noise)


def test_horizon_value_against_nested_monte_carlo():
    """On 162 pool-states (3 books, 3 paths, horizons 1, 3, 5 years) the regressed value of
    the pool left is within 1.5 per 100 of the balance left of a nested Monte Carlo at the
    OAS from the same state, root mean square under 0.4, without bias (the rates on more
    books are in BENCHMARKS.md)."""
    found = [nested_errors(seed, 4000) for seed in (11, 12, 13)]
    errors, noise = (np.concatenate(part) for part in zip(*found, strict=True))
    assert noise.max() < 0.12
    rms = float(np.sqrt(np.mean(errors**2)))
    assert rms < 0.4, (rms, np.abs(errors).max())
    assert np.abs(errors).max() < 1.5
    assert abs(errors.mean()) < 0.1


def test_spread_shift_moves_the_value_by_its_sensitivity():
    """The first-order spread move against the regression refitted at the shifted OAS."""
    rng = np.random.default_rng(5)
    curve = random_curve(rng)
    g2 = G2pp(curve)
    pools = MbsPools.from_frame(random_pools(rng, 5, kinds=("model",)))
    oas = np.full(len(pools), 0.004)
    horizons = np.array([1.0, 4.0])
    paths = g2.simulate(40, GRID, seed=1)
    got = path_values(pools, g2, paths, horizons)
    incentive = horizon_incentive(pools, g2, paths, horizons, MODEL)
    fast = paths.y[:, paths.columns(horizons)]
    shift = 0.001
    base = horizon_values(pools, g2, horizons, oas, n_paths=1000, seed=2)
    moved = horizon_values(pools, g2, horizons, oas + shift, n_paths=1000, seed=2)
    first = base.values(incentive, got.balance, fast, np.full_like(incentive, shift))
    again = moved.values(incentive, got.balance, fast)
    scale = np.maximum(got.balance * 100.0, 1e-12)
    # Second order: duration^2 x shift^2 / 2 of about 0.002 per 100 of the balance left.
    assert np.abs((first - again) / scale).max() < 5e-5


def test_bad_inputs_name_the_problem():
    rng = np.random.default_rng(6)
    g2 = G2pp(random_curve(rng))
    pools = MbsPools.from_frame(random_pools(rng, 3).assign(wam=[200, 400, 90]))
    paths = g2.simulate(4, GRID, seed=0)
    with pytest.raises(ValueError, match="pool P0 has 200 months left"):
        path_values(pools, g2, paths, [1.0], spread=np.zeros(3))
    with pytest.raises(ValueError, match=r"horizon 10\.5 years is not on the simulation grid"):
        path_values(pools, g2, paths, [10.5])
    with pytest.raises(ValueError, match="monthly grid"):
        path_values(pools, g2, g2.simulate(4, [0.5, 1.0], seed=0), [1.0])
    short = MbsPools.from_frame(random_pools(rng, 3).assign(wam=[60, 100, 90]))
    with pytest.raises(ValueError, match="`spread` has 2 entries for 3 pools"):
        path_values(short, g2, paths, [1.0], spread=np.zeros(2))
