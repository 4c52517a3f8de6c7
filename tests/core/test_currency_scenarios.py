"""Correlated G2++ economies: FX and inflation martingales, driver correlations, reproducibility,
foreign bonds in the base currency, credit with home rates, and refused specifications."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc import BondBook, Curve
from fialloc.currency_scenarios import (
    Economy,
    MultiCurrencyG2,
    default_correlation,
    real_economy,
)
from fialloc.curve_set import CurveSet
from fialloc.inflation import LinkerFlows
from fialloc.layout import CashflowLayout
from fialloc.scenarios import CreditInflationSpec, simulate_credit_inflation

VD = dt.date(2026, 3, 31)
ANNUAL = np.arange(1.0, 11.0)


def curve(rng, level):
    days = np.array([182, 365, 730, 1826, 3652, 7305, 10957, 18262])
    return Curve.from_zero_rates(days / 365.0, level + np.cumsum(rng.normal(0, 0.001, 8)), VD)


def world(seed=0):
    """Five currencies (USD base), US and euro-area real rates, random curves and parameters."""
    rng = np.random.default_rng(seed)

    def params():
        a, b = sorted(rng.uniform(0.03, 0.9, 2))
        return (a, rng.uniform(0.004, 0.012), b, rng.uniform(0.004, 0.012), rng.uniform(-0.8, 0.2))

    usd = Economy("USD", curve(rng, 0.04), params())
    out = [usd]
    for name, level, spot in (
        ("EUR", 0.025, 1.1),
        ("GBP", 0.04, 1.27),
        ("JPY", 0.01, 0.0067),
        ("CAD", 0.035, 0.73),
    ):
        out.append(
            Economy(name, curve(rng, level), params(), "USD", spot, float(rng.uniform(0.05, 0.12)))
        )
    out.append(real_economy(usd, 0.023, index_ratio=1.12, volatility=0.012))
    out.append(real_economy(out[1], 0.019, index_ratio=1.05, volatility=0.01))
    return out


@pytest.fixture(scope="module")
def model():
    return MultiCurrencyG2(world())


@pytest.fixture(scope="module")
def paths(model):
    return model.simulate(20000, ANNUAL, seed=5)


def chain_spot(model, name):
    names = [e.name for e in model.economies]
    i, value = names.index(name), 1.0
    while model.economies[i].parent is not None:
        value *= model.economies[i].spot
        i = names.index(model.economies[i].parent)
    return value


def test_fx_forwards_and_index_forwards_are_martingales(model, paths):
    # E[D_base(0, h) X(h) P_f(h, T)] = X(0) P_f(0, T): covered parity on the paths; for a real
    # economy the same with the index ratio, i.e. expected inflation at today's breakevens.
    base = paths.discount[0]
    for e in model.economies[1:]:
        g2 = model.model(e.name)
        own = paths.economy(e.name)
        for h in (1.0, 5.0, 10.0):
            k = own.columns(h)[0]
            for maturity in (h, h + 7.0):
                bond = (
                    np.ones(paths.n_paths)
                    if maturity == h
                    else g2.zero_bond(h, [maturity], own.x[:, k], own.y[:, k])[:, 0]
                )
                sample = base[:, k] * paths.to_base(e.name)[:, k] * bond
                target = chain_spot(model, e.name) * e.curve.discount(maturity)
                se = sample.std(ddof=1) / np.sqrt(paths.n_paths)
                assert abs(sample.mean() - target) < 4 * se, (e.name, h, maturity)


def test_default_inflation_reprices_breakevens():
    # The seed defaults: 2.5% breakeven and correlation 0.3 with rates; the forward index
    # E_N[D_N I(t)] / P_N(0, t) grows at exactly the breakeven.
    usd = Economy("USD", Curve.flat(0.04, VD))
    real = real_economy(usd)
    corr = default_correlation([usd, real])
    assert corr.loc["USD-real.link", "USD.x"] == 0.3
    m = MultiCurrencyG2([usd, real])
    p = m.simulate(40000, [2.0, 6.0], seed=2)
    for k, t in enumerate((2.0, 6.0)):
        sample = p.discount[0][:, k] * p.link[1][:, k] / usd.curve.discount(t)
        se = sample.std(ddof=1) / np.sqrt(p.n_paths)
        assert abs(sample.mean() - np.exp(0.025 * t)) < 4 * se


def test_driver_correlations_within_four_standard_errors(model):
    # Over one day the factors and log links are their Brownian shocks (drifts and integrals are
    # below 1e-4 of them), so their sample correlations estimate the target matrix.
    n = 40000
    p = model.simulate(n, [1.0 / 365.0], seed=9)
    shocks = [v[:, 0] for e in range(len(p.names)) for v in (p.x[e], p.y[e])]
    shocks += [np.log(p.link[e][:, 0]) for e in range(1, len(p.names))]
    sample = np.corrcoef(np.array(shocks))
    target = model.correlation.to_numpy()
    se = (1 - target**2) / np.sqrt(n)
    worst = np.max(np.abs(sample - target) / np.maximum(se, 1e-12))
    assert worst < 4, worst


def test_same_paths_for_any_threads_and_chunks(model):
    one = model.simulate(50, ANNUAL, seed=3, threads=1)
    two = model.simulate(50, ANNUAL, seed=3, threads=2)
    parts = [model.simulate(10, ANNUAL, seed=3, first_path=10 * c, threads=2) for c in range(5)]
    for field in ("x", "y", "discount", "link"):
        for e in range(len(one.names)):
            a, b = getattr(one, field)[e], getattr(two, field)[e]
            assert np.array_equal(a, b), (field, e)
            joined = np.concatenate([getattr(q, field)[e] for q in parts])
            assert np.array_equal(a, joined), (field, e)
    assert not np.array_equal(model.simulate(50, ANNUAL, seed=4).x[1], one.x[1])
    chunked = model.simulate_in_chunks(50, ANNUAL, seed=3, chunk=17)
    for field in ("x", "y", "discount", "link"):
        for a, b in zip(getattr(one, field), getattr(chunked, field), strict=True):
            assert np.array_equal(a, b), field
    with pytest.raises(ValueError, match="`chunk` must be a positive integer"):
        model.simulate_in_chunks(50, ANNUAL, chunk=0)


def test_one_economy_is_the_single_currency_generator():
    usd = Economy("USD", Curve.flat(0.03, VD))
    single = usd.model().simulate(30, ANNUAL, seed=7)
    multi = MultiCurrencyG2([usd]).simulate(30, ANNUAL, seed=7)
    assert np.array_equal(multi.x[0], single.x)
    assert np.array_equal(multi.discount[0], single.discount)
    # and the base economy's law is untouched by the others (no quanto drift at home)
    w = MultiCurrencyG2(world(1)).simulate(20000, [5.0], seed=1)
    a, s = world(1)[0].params[:2]
    var = s * s / (2 * a) * (1 - np.exp(-2 * a * 5.0))
    assert abs(w.x[0][:, 0].mean()) < 4 * np.sqrt(var / 20000)
    assert abs(w.x[0][:, 0].var() - var) < 4 * var * np.sqrt(2 / 20000)


def test_state_law_matches_the_simulated_states_within_four_standard_errors(model, paths):
    # Every economy's factors, integrated short rate and log link (27 states for five
    # currencies and two real economies), 20,000 paths: each state's mean within four standard
    # errors of zero and each entry of the sample covariance within four of the closed form
    # (the standard error of a Gaussian sample covariance, sqrt((s_ii s_jj + s_ij^2) / n)).
    horizons = np.array([1.0, 5.0, 10.0])
    states, covariance = model.states(paths, horizons)
    n = paths.n_paths
    assert states.shape == (n, 3, len(model.state_names)) == (n, 3, 3 + 4 * 6)
    assert model.state_names[:4] == ("x", "y", "integrated_rate", "EUR.x")
    for j in range(len(horizons)):
        c = covariance[j]
        sd = np.sqrt(np.diag(c))
        assert np.all(np.abs(states[:, j].mean(axis=0)) < 4 * sd / np.sqrt(n)), horizons[j]
        se = np.sqrt((np.outer(sd**2, sd**2) + c**2) / n)
        worst = np.max(np.abs(np.cov(states[:, j].T) - c) / se)
        assert worst < 4, (horizons[j], worst)
        assert np.array_equal(c, c.T)
        assert np.linalg.eigvalsh(c).min() > -1e-15 * np.abs(c).max()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_state_law_prices_forwards_exactly_and_keeps_each_economys_own_law(seed):
    # In closed form, independently of any simulation: D_base(t) times an economy's chain of
    # links is exp of a linear combination of the states, so its expectation from their law,
    # exp(mean + variance / 2), must be today's forward value: the chain's spot times the
    # economy's discount factor (covered parity for FX, breakevens for an index). Each
    # economy's own x, y and integrated rate have its single G2++ covariance (a change of
    # measure moves means, not covariances).
    m = MultiCurrencyG2(world(seed))
    horizons = np.array([0.5, 3.0, 10.0, 25.0])
    mean, covariance = m.state_law(horizons)
    names = m.state_names
    for e in m.economies:
        at = 0 if e.parent is None else names.index(f"{e.name}.x")
        for j, t in enumerate(horizons):
            own = covariance[j, at : at + 3, at : at + 3]
            want = m.model(e.name).state_covariance(float(t))
            # the same integrals summed in another order: 1e-12 of the block's scale
            assert np.abs(own - want).max() <= 1e-12 * np.abs(want).max(), (e.name, t)
        if e.parent is None:
            assert np.allclose(mean[:, :2], 0.0, rtol=0, atol=0)
            assert np.allclose(mean[:, 2], -m.model(e.name).log_discount_mean(horizons), 1e-15)
            continue
        # log of D_base X_chain: minus the base's integrated rate plus each link's log
        combo = np.zeros(len(names))
        combo[2] = -1.0
        chain = e
        while chain.parent is not None:
            combo[names.index(f"{chain.name}.log_link")] = 1.0
            chain = m.economy(chain.parent)
        for j, t in enumerate(horizons):
            expected = np.exp(combo @ mean[j] + 0.5 * combo @ covariance[j] @ combo)
            target = chain_spot(m, e.name) * e.curve.discount(float(t))
            assert expected == pytest.approx(target, rel=1e-12), (e.name, t)
    with pytest.raises(ValueError, match="horizons must be positive"):
        m.state_law([0.0, 1.0])


def test_one_economys_states_are_the_single_currency_states():
    usd = Economy("USD", Curve.flat(0.03, VD), (0.1, 0.01, 0.6, 0.008, -0.5))
    m = MultiCurrencyG2([usd])
    paths = m.simulate(200, ANNUAL, seed=3)
    states, covariance = m.states(paths, [2.0, 7.0])
    g2 = usd.model()
    assert m.state_names == ("x", "y", "integrated_rate")
    k = paths.economy("USD").columns([2.0, 7.0])
    want = -np.log(paths.discount[0][:, k]) + g2.log_discount_mean([2.0, 7.0])
    assert np.array_equal(states[:, :, 2], want)
    assert np.array_equal(states[:, :, 0], paths.x[0][:, k])
    want_cov = g2.state_covariance(7.0)
    assert np.abs(covariance[1] - want_cov).max() <= 1e-12 * np.abs(want_cov).max()
    with pytest.raises(ValueError, match="paths of"):
        MultiCurrencyG2(world()).states(paths, [2.0])
    with pytest.raises(ValueError, match="grid"):
        m.states(paths, [2.5])


def test_foreign_bonds_in_the_base_currency(model, paths):
    bond = BondBook.from_frame(
        pd.DataFrame(
            [
                {
                    "security_id": "BUND",
                    "coupon": 0.025,
                    "maturity": "2036-02-15",
                    "frequency": 1,
                    "day_count": "ACT/365F",
                    "face": 1e6,
                }
            ]
        ),
        VD,
    )
    eur = model.model("EUR")
    value = model.revalue("EUR", bond, paths, [1.0, 4.0], 0.002)
    local = eur.revalue(bond, paths.economy("EUR"), [1.0, 4.0], 0.002)
    cols = paths.economy("EUR").columns([1.0, 4.0])
    np.testing.assert_allclose(value, local * paths.link[1][:, cols, None], rtol=1e-15)
    # discounted in the base currency, the value at 4 years (plus the coupons paid before it,
    # which leave the book) is today's price converted at spot
    times, amounts = bond.layout.stream(0)
    today = float(np.sum(amounts * np.exp(-0.002 * times) * eur.curve.discount(times)))
    k = cols[1]
    paid = times <= 4.0
    coupons = sum(
        a * np.exp(-0.002 * t) * eur.curve.discount(t)
        for t, a in zip(times[paid], amounts[paid], strict=True)
    )
    sample = paths.discount[0][:, k] * value[:, 1, 0]
    se = sample.std(ddof=1) / np.sqrt(paths.n_paths)
    # the spread is a deterministic haircut on every flow, so the identity holds for the
    # spread-discounted flows up to exp(-z (t - h)) e^{-z h} = e^{-z t}
    expected = 1.1 * (today - coupons) * np.exp(0.002 * 4.0)
    assert abs(sample.mean() - expected) < 4 * se


def test_credit_spreads_keep_their_correlation_with_home_rates(model, paths):
    spreads = {
        "AAA": 0.003,
        "AA": 0.005,
        "A": 0.008,
        "BBB": 0.013,
        "BB": 0.025,
        "B": 0.04,
        "CCC": 0.07,
    }
    monthly = model.simulate(8000, np.arange(1, 25) / 12.0, seed=6)
    home = monthly.economy("USD")
    g2 = model.model("USD")
    sim = simulate_credit_inflation(g2, home, CreditInflationSpec(spreads))
    d_log_s = np.diff(np.log(sim.spreads), axis=1)[:, 10, 3]
    d_x = home.x[:, 11] - np.exp(-g2.params[0] / 12) * home.x[:, 10]
    c = np.corrcoef(d_log_s, d_x)[0, 1]
    assert abs(c - (-0.3)) < 4 * (1 - 0.09) / np.sqrt(8000) + 0.01


def test_bad_specifications_are_refused():
    usd = Economy("USD", Curve.flat(0.03, VD))
    eur = Economy("EUR", Curve.flat(0.02, VD), parent="USD", spot=1.1, volatility=0.08)
    with pytest.raises(ValueError, match="no economies"):
        MultiCurrencyG2([])
    with pytest.raises(ValueError, match="names repeat"):
        MultiCurrencyG2([usd, Economy("USD", usd.curve, parent="USD")])
    with pytest.raises(ValueError, match="is the base and has no parent"):
        MultiCurrencyG2([eur, usd])
    with pytest.raises(ValueError, match="expected one of the economies listed before it"):
        MultiCurrencyG2([usd, Economy("GBP", usd.curve, parent="EUR", volatility=0.1), eur])
    good = default_correlation([usd, eur])
    bad = good.copy()
    bad.loc["USD.x", "EUR.x"] = bad.loc["EUR.x", "USD.x"] = 0.99
    bad.loc["USD.y", "EUR.y"] = bad.loc["EUR.y", "USD.y"] = -0.99
    with pytest.raises(ValueError, match="not positive semi-definite"):
        MultiCurrencyG2([usd, eur], bad)
    asym = good.copy()
    asym.loc["USD.x", "EUR.link"] = 0.2
    with pytest.raises(ValueError, match="symmetric"):
        MultiCurrencyG2([usd, eur], asym)
    rho = good.copy()
    rho.loc["USD.x", "USD.y"] = rho.loc["USD.y", "USD.x"] = 0.1
    with pytest.raises(ValueError, match=r"economy 0 has rho -0\.7"):
        MultiCurrencyG2([usd, eur], rho)
    with pytest.raises(ValueError, match=r"no row or column for \['EUR.link'\]"):
        MultiCurrencyG2([usd, eur], good.drop(index="EUR.link", columns="EUR.link"))
    with pytest.raises(ValueError, match="expected 5x5"):
        MultiCurrencyG2([usd, eur], np.eye(4))
    with pytest.raises(ValueError, match="link volatility of economy 1"):
        MultiCurrencyG2([usd, Economy("EUR", eur.curve, parent="USD", spot=1.1, volatility=-1)])
    with pytest.raises(ValueError, match="link spot of economy 1"):
        MultiCurrencyG2([usd, Economy("EUR", eur.curve, parent="USD", spot=0.0)])
    with pytest.raises(ValueError, match="`sigma`"):
        MultiCurrencyG2([usd, Economy("EUR", eur.curve, (0.1, 5.0, 0.5, 0.01, -0.5), "USD")])
    with pytest.raises(ValueError, match="breakeven must be a decimal"):
        real_economy(usd, 2.5)
    with pytest.raises(ValueError, match="no economy 'CHF'"):
        MultiCurrencyG2([usd, eur]).model("CHF")


def test_a_curve_set_gives_covered_parity_with_basis_and_its_real_rates():
    rng = np.random.default_rng(4)
    usd_gov, usd_real = curve(rng, 0.042), curve(rng, 0.018)
    eur_gov, eur_ois, gbp = curve(rng, 0.027), curve(rng, 0.024), curve(rng, 0.041)
    curves = CurveSet(
        VD,
        "USD",
        {
            ("USD", "government"): usd_gov,
            ("USD", "real"): usd_real,
            ("EUR", "government"): eur_gov,
            ("EUR", "ois"): eur_ois,
            ("GBP", "government"): gbp,
        },
        {"EUR": 1.1, "GBP": 1.27},
        {"EUR": -0.002},
    )
    model = MultiCurrencyG2.from_curve_set(curves, fx_volatility={"GBP": 0.11})
    assert [e.name for e in model.economies] == ["USD", "EUR", "GBP", "USD-real"]
    assert model.economy("GBP").volatility == 0.11
    assert model.economy("USD-real").curve is usd_real
    p = model.simulate(30000, [2.0, 7.0], seed=12)
    for code in ("EUR", "GBP"):
        for k, t in enumerate((2.0, 7.0)):
            sample = p.discount[0][:, k] * p.to_base(code)[:, k] / usd_gov.discount(t)
            se = sample.std(ddof=1) / np.sqrt(p.n_paths)
            assert abs(sample.mean() - curves.fx_forward(code, t)) < 4 * se, (code, t)
    with pytest.raises(ValueError, match="no currency 'CHF' for real rates"):
        MultiCurrencyG2.from_curve_set(curves, real=["CHF"])


def test_linkers_revalue_off_real_rates_times_the_simulated_index():
    model = MultiCurrencyG2(world(2))
    paths = model.simulate(20000, [1.0, 4.0], seed=13)
    times = [np.array([0.5, 1.5, 2.5, 3.5, 4.5, 5.5]), np.array([2.0, 9.0])]
    amounts = [np.array([0.625] * 5 + [100.625]), np.array([1.0, 101.0])]
    flows = LinkerFlows(
        ids=pd.Index(["TII1", "OATei"]),
        layout=CashflowLayout.from_streams(times, amounts),
        principal=np.array([100.0, 100.0]),
        index_ratio=np.array([1.08, 1.21]),
        principal_floor=np.array([100.0, 100.0]),
        index=("CPI-U", "HICPxT"),
        lag_years=np.array([0.25, 0.25]),
    )
    held = np.array([[2.0, 0.0], [1.0, 3.0]])
    for name in ("USD-real", "EUR-real"):
        real = model.economy(name)
        values = model.revalue_linkers(name, flows, paths, [1.0, 4.0])
        by_holder = model.revalue_linkers(name, flows, paths, [1.0, 4.0], holdings=held)
        np.testing.assert_allclose(by_holder, values @ held.T, rtol=1e-13)
        for k, h in enumerate((1.0, 4.0)):
            sample = paths.discount[0][:, k, None] * values[:, k, :]
            se = sample.std(axis=0, ddof=1) / np.sqrt(paths.n_paths)
            for i in range(2):
                alive = times[i] > h
                target = (
                    chain_spot(model, name)
                    * flows.index_ratio[i]
                    * np.sum(amounts[i][alive] * real.curve.discount(times[i][alive]))
                )
                assert abs(sample[:, i].mean() - target) < 4 * se[i], (name, h, i)
    with pytest.raises(ValueError, match="'EUR' is not a real economy"):
        model.revalue_linkers("EUR", flows, paths, [1.0])
