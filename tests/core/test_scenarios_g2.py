"""G2++: martingale and variance checks, reproducibility, revaluation, bad parameters."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc import BondBook, CashflowStream, Curve, bootstrap
from fialloc.scenarios import G2pp

VD = dt.date(2026, 3, 31)
PARAMS = {"a": 0.08, "sigma": 0.012, "b": 0.6, "eta": 0.009, "rho": -0.65}


@pytest.fixture(scope="module")
def curve():
    quotes = [{"kind": "deposit", "tenor": "6M", "rate": 0.041}] + [
        {"kind": "swap", "tenor": f"{y}Y", "rate": 0.038 + 0.0004 * y}
        for y in (1, 2, 3, 5, 7, 10, 15, 20, 30)
    ]
    return bootstrap(quotes, VD)


@pytest.fixture(scope="module")
def model(curve):
    return G2pp(curve, **PARAMS)


@pytest.fixture(scope="module")
def paths(model):
    return model.simulate(20000, seed=11)


def test_martingale_discounted_zero_bonds_reprice_today(model, paths, curve):
    # E[D(0, h) P(h, T)] = P(0, T) within 3 standard errors, several horizons and maturities
    for h in (1.0, 5.0, 10.0):
        k = paths.columns(h)[0]
        for maturity in (h + 1.0, h + 10.0, 40.0):
            bonds = model.zero_bond(h, [maturity], paths.x[:, k], paths.y[:, k])[:, 0]
            sample = paths.discount[:, k] * bonds
            mc, se = sample.mean(), sample.std(ddof=1) / np.sqrt(len(sample))
            assert abs(mc - curve.discount(maturity)) < 3 * se, (
                h,
                maturity,
                mc,
                curve.discount(maturity),
                se,
            )


def test_factor_and_short_rate_variances_match_theory(model, paths):
    a, s, b, e, r = model.params
    t = paths.times
    var_x = s**2 / (2 * a) * (1 - np.exp(-2 * a * t))
    var_y = e**2 / (2 * b) * (1 - np.exp(-2 * b * t))
    cov = r * s * e / (a + b) * (1 - np.exp(-(a + b) * t))
    n = paths.n_paths
    for k in (11, 59, 119):
        for sample, expected in (
            (paths.x[:, k], var_x[k]),
            (paths.y[:, k], var_y[k]),
            (paths.x[:, k] + paths.y[:, k], var_x[k] + var_y[k] + 2 * cov[k]),
        ):
            # the sample variance of a Gaussian has standard error var * sqrt(2 / (n - 1))
            assert abs(sample.var(ddof=1) - expected) < 4 * expected * np.sqrt(2 / (n - 1))
    rates = model.short_rate(paths)
    k = 59
    assert rates[:, k].var(ddof=1) == pytest.approx(var_x[k] + var_y[k] + 2 * cov[k], rel=0.05)


def test_same_seed_is_bitwise_identical_across_threads_and_chunks(model):
    one = model.simulate(700, seed=5, threads=1)
    two = model.simulate(700, seed=5, threads=2)
    for field in ("x", "y", "discount"):
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field))
    chunks = [model.simulate(100, seed=5, first_path=100 * c, threads=2) for c in range(7)]
    np.testing.assert_array_equal(np.vstack([c.x for c in chunks]), one.x)
    np.testing.assert_array_equal(np.vstack([c.discount for c in chunks]), one.discount)
    assert not np.array_equal(model.simulate(10, seed=6).x, one.x[:10])


def test_antithetic_pairs_mirror_each_other(model):
    p = model.simulate(1000, seed=3, antithetic=True)
    np.testing.assert_allclose(p.x[0::2], -p.x[1::2], atol=1e-15)
    np.testing.assert_allclose(p.x.mean(axis=0), 0.0, atol=1e-15)


def test_revaluation_matches_zero_bond_pricing(model, curve):
    paths = model.simulate(50, times=[0.5, 1.0, 2.0, 5.0], seed=1)
    book = BondBook.from_frame(
        pd.DataFrame(
            [
                {
                    "security_id": "A",
                    "coupon": 0.05,
                    "maturity": "2031-03-31",
                    "frequency": 2,
                    "day_count": "ACT/365F",
                    "face": 1e6,
                },
                {
                    "security_id": "Z",
                    "coupon": 0.0,
                    "maturity": "2046-03-31",
                    "frequency": 0,
                    "day_count": "ACT/365F",
                    "face": 2e6,
                },
            ]
        ),
        VD,
    )
    z = np.array([0.01, 0.0])
    values = model.revalue(book, paths, [1.0, 5.0], z_spread=z)
    assert values.shape == (50, 2, 2)
    k = paths.columns(1.0)[0]
    times, amounts = book.layout.stream(0)
    alive = times > 1.0
    bonds = model.zero_bond(1.0, times[alive], paths.x[:, k], paths.y[:, k])
    expected = (bonds * amounts[alive] * np.exp(-0.01 * (times[alive] - 1.0))).sum(axis=1)
    np.testing.assert_allclose(values[:, 0, 0], expected, rtol=1e-13)
    total = model.revalue(book, paths, [1.0, 5.0], z_spread=z, weights=book.face / 100)
    np.testing.assert_allclose(total, values @ (book.face / 100), rtol=1e-13)
    lia = CashflowStream(["2026-09-30", "2040-03-31"], [3e5, 1e6], VD)
    surplus = model.surplus(book, lia, paths, [1.0, 5.0], z)
    owed = model.revalue(lia, paths, [1.0, 5.0])[:, :, 0]
    # cash paid before each horizon grows at the path's bank account from its grid month
    grid = paths.times
    net = np.zeros(len(grid))
    for t, amount in zip(*book.layout.stream(0), strict=True):
        if t <= 5.0:
            net[np.searchsorted(grid, t)] += amount * book.face[0] / 100
    net[np.searchsorted(grid, lia.layout.times[0])] -= 3e5
    for j, h in enumerate((1.0, 5.0)):
        c = paths.columns(h)[0]
        cash = (net[: c + 1] * paths.discount[:, : c + 1]).sum(axis=1) / paths.discount[:, c]
        np.testing.assert_allclose(surplus[:, j], total[:, j] - owed[:, j] + cash, rtol=1e-12)
    # a liability stream revalued at a horizon is, discounted back, today's price (martingale)
    lia = CashflowStream(["2030-03-31", "2040-03-31", "2056-03-31"], [5e6, 7e6, 9e6], VD)
    many = model.simulate(20000, times=[2.0], seed=9)
    sample = many.discount[:, 0] * model.revalue(lia, many, [2.0])[:, 0, 0]
    mc, se = sample.mean(), sample.std(ddof=1) / np.sqrt(len(sample))
    assert abs(mc - lia.present_value(curve)) < 3 * se


def test_horizons_must_be_on_the_grid(model):
    paths = model.simulate(5, times=[1.0, 2.0], seed=0)
    with pytest.raises(ValueError, match=r"horizon 1\.5 years is not on the simulation grid"):
        paths.columns([1.5])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"a": -0.1}, r"`a` \(mean reversion of x\) must be in \(0, 100\], got -0.1"),
        ({"b": 0.0}, r"`b` \(mean reversion of y\) must be in \(0, 100\]"),
        ({"sigma": -0.01}, r"`sigma` \(volatility of x\) must be in \[1e-6, 1\]"),
        ({"eta": float("nan")}, r"`eta`"),
        ({"rho": 1.0}, r"`rho` must be in \(-1, 1\), got 1"),
        ({"rho": -1.3}, r"`rho` must be in \(-1, 1\), got -1.3"),
    ],
)
def test_bad_parameters(curve, change, match):
    with pytest.raises(ValueError, match=match):
        G2pp(curve, **{**PARAMS, **change})


def test_bad_grids_and_counts(model):
    with pytest.raises(ValueError, match="`times` is empty"):
        model.simulate(10, times=[])
    with pytest.raises(ValueError, match="strictly increasing; entry 1 is 1"):
        model.simulate(10, times=[1.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="`n_paths` must be in"):
        model.simulate(0)
    with pytest.raises(ValueError, match="seed"):
        model.simulate(10, seed=-1)


def test_default_parameters_and_flat_curve():
    m = G2pp(Curve.flat(0.03, VD))
    assert m.params == (0.05, 0.009, 0.5, 0.007, -0.7)
    # ATM payer equals receiver (put-call parity at the forward)
    assert m.swaption(5, 10, payer=True) == pytest.approx(m.swaption(5, 10, payer=False), rel=1e-10)
    assert 0.003 < m.normal_vol(5, 10) < 0.02


def test_state_law_matches_the_simulated_states(model, paths):
    # (x, y, -log D) at a horizon against the sample moments of 20,000 paths: each covariance
    # entry within 4 of its standard errors (Gaussian fourth moments), each mean within 4.
    n = paths.n_paths
    for h in (0.5, 3.0, 10.0):
        k = paths.columns(h)[0]
        z = np.column_stack([paths.x[:, k], paths.y[:, k], -np.log(paths.discount[:, k])])
        cov = model.state_covariance(h)
        sample = np.cov(z.T)
        se = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / n)
        assert np.all(np.abs(sample - cov) <= 4 * se), (h, sample - cov)
        mean = np.array([0.0, 0.0, -model.log_discount_mean(h)[0]])
        assert np.all(np.abs(z.mean(axis=0) - mean) <= 4 * np.sqrt(np.diag(cov) / n)), h
    with pytest.raises(ValueError, match="positive number of years"):
        model.state_covariance(0.0)


@pytest.mark.parametrize(
    ("param", "value"),
    [("eta", 1e-12), ("sigma", 1e300), ("b", 1e300), ("a", 0.0), ("sigma", 2.0), ("eta", np.nan)],
)
def test_parameters_outside_any_market_are_refused(curve, param, value):
    with pytest.raises(ValueError, match=f"`{param}`"):
        G2pp(curve, **{param: value})


def test_a_swaption_at_the_smallest_volatility_returns_at_once(curve):
    # At eta near zero the critical-y bracket lies ~1/eta steps away for a fixed step.
    g = G2pp(curve, eta=1e-6, sigma=1e-6)
    price = g.swaption(1.0, 5.0, strike=0.0)
    assert np.isfinite(price)
    assert price > 0.0


def test_more_threads_than_cores_give_the_same_paths(model):
    g = model
    many = g.simulate(300, seed=5, threads=10_000)
    one = g.simulate(300, seed=5, threads=1)
    assert np.array_equal(many.x, one.x)
    assert np.array_equal(many.discount, one.discount)


def test_path_counts_beyond_memory_are_refused_before_allocating(model, monkeypatch):
    from fialloc import checks

    g = model
    with pytest.raises(ValueError, match="must be in"):
        g.simulate(2**40)
    monkeypatch.setattr(checks, "available_memory", lambda: 10**6)
    with pytest.raises(ValueError, match=r"needs .* GB of memory"):
        g.simulate(10_000)
