"""Factor covariances: from history, and from the scenario engine against G2++'s own formula."""

import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc.factor_covariance import history_covariance, scenario_covariance
from fialloc.scenarios import CreditInflationSpec, G2pp, simulate_credit_inflation

TENORS = (0.5, 2.0, 10.0, 30.0)


@pytest.fixture(scope="module")
def portfolio(demo_portfolio):
    return demo_portfolio


def test_history_covariance_is_the_annualized_covariance_of_monthly_moves(portfolio):
    cov = history_covariance(portfolio, TENORS)
    moves = portfolio.zero_history[list(TENORS)].diff().dropna()
    assert cov.loc["krd_10y", "krd_10y"] == pytest.approx(moves[10.0].var() * 12, rel=1e-12)
    assert cov.loc["krd_2y", "krd_30y"] == pytest.approx(
        moves[[2.0, 30.0]].cov().iloc[0, 1] * 12, rel=1e-12
    )
    eigen = np.linalg.eigvalsh(cov.to_numpy())
    assert eigen.min() > -1e-12 * eigen.max()  # semi-definite up to rounding
    # The demo's global sleeve adds each currency's key rates and FX, from their histories.
    eur = portfolio.currency_zero_history("EUR", TENORS)[10.0].diff().dropna()
    assert cov.loc["krd_EUR_10y", "krd_EUR_10y"] == pytest.approx(eur.var() * 12, rel=1e-12)
    fx = np.log(portfolio.fx_history("JPY")).diff().dropna()
    assert cov.loc["fx_JPY", "fx_JPY"] == pytest.approx(fx.var() * 12, rel=1e-12)
    # A tenor the history does not quote comes off each month's curve (log-linear discount
    # factors in the demo): between 3y and 5y, so its moves lie between theirs.
    between = history_covariance(portfolio, (3.0, 4.0, 5.0))
    zeros = portfolio.zero_history_at((3.0, 4.0, 5.0))
    z3, z5 = portfolio.zero_history[3.0], portfolio.zero_history[5.0]
    np.testing.assert_allclose(zeros[4.0], (3.0 * z3 + (5.0 * z5 - 3.0 * z3) / 2.0) / 4.0)
    quoted = history_covariance(portfolio, (3.0, 5.0))
    assert between.loc["krd_3y", "krd_5y"] == pytest.approx(quoted.loc["krd_3y", "krd_5y"])
    assert between.loc["krd_4y", "krd_4y"] <= max(np.diag(quoted))


def test_scenario_covariance_matches_the_g2_variance_of_zero_rates(portfolio):
    # ln P(t, t + tau | x, y) is affine in (x, y) with slopes -B_a(tau), -B_b(tau), so over the
    # first step the zero rate at tau moves by (B_a x + B_b y) / tau plus a constant.
    a, sigma, b, eta, rho = 0.05, 0.009, 0.5, 0.007, -0.7
    model = G2pp(portfolio.curve, a, sigma, b, eta, rho)
    dt = 1.0 / 12.0
    paths = model.simulate(40_000, np.array([dt, 2 * dt]), seed=11)
    spreads = {
        str(r): float(v)
        for r, v in zip(portfolio.spreads["rating"], portfolio.spreads["spread"], strict=True)
    }
    credit = simulate_credit_inflation(model, paths, CreditInflationSpec(spreads=spreads))
    cov = scenario_covariance(model, paths, TENORS, credit)
    tau = np.asarray(TENORS)
    ba, bb = (1 - np.exp(-a * tau)) / a, (1 - np.exp(-b * tau)) / b
    vx = sigma**2 * (1 - np.exp(-2 * a * dt)) / (2 * a)
    vy = eta**2 * (1 - np.exp(-2 * b * dt)) / (2 * b)
    cxy = rho * sigma * eta * (1 - np.exp(-(a + b) * dt)) / (a + b)
    load = np.column_stack([ba, bb]) / tau[:, None]
    expected = load @ np.array([[vx, cxy], [cxy, vy]]) @ load.T / dt
    keys = [f"krd_{t:g}y" for t in TENORS]
    # 40,000 paths: sampling error of a variance is about sqrt(2 / n) = 0.7%
    np.testing.assert_allclose(cov.loc[keys, keys].to_numpy(), expected, rtol=0.04)
    assert list(cov.columns[len(keys) :]) == [
        f"sd_{x}" for x in ("AAA", "AA", "A", "BBB", "BB", "B", "CCC")
    ]
    assert (np.diag(cov.to_numpy()) > 0).all()


def test_scenario_covariance_refuses_a_late_first_step(portfolio):
    model = G2pp(portfolio.curve)
    paths = model.simulate(50, np.array([1.0]), seed=1)
    spreads = {
        "AAA": 0.003,
        "AA": 0.005,
        "A": 0.008,
        "BBB": 0.012,
        "BB": 0.024,
        "B": 0.037,
        "CCC": 0.07,
    }
    credit = simulate_credit_inflation(model, paths, CreditInflationSpec(spreads=spreads))
    with pytest.raises(ValueError, match="within 3 months"):
        scenario_covariance(model, paths, TENORS, credit)


def test_the_optimizer_runs_on_either_covariance(portfolio):
    from fialloc import pipeline

    # The scenarios simulate one currency: the demo without its global sleeve.
    single = data.demo(global_sleeve=False)
    result = pipeline.run(single, n_paths=300, covariance="scenarios", frontier_points=2)
    assert result.allocation.constraints["allowed"].all()
    assert result.parameters["covariance"] == "scenarios"
    assert isinstance(result.problem.covariance, pd.DataFrame)
    with pytest.raises(ValueError, match="covariance must be"):
        pipeline.run(portfolio, n_paths=300, covariance="vibes")  # type: ignore[arg-type]
