import dataclasses

import numpy as np
import pytest

import fialloc.data as data
from fialloc.analytics.context import DeskContext
from fialloc.optimize import build_problem, optimize
from fialloc.robustness import (
    evaluate,
    min_expected_shortfall,
    sleeve_paths,
    stress_surplus,
    tracking_error_distribution,
)
from fialloc.scenarios import G2pp
from fialloc.stresses import stress_portfolio


@pytest.fixture(scope="module")
def setup():
    portfolio = data.demo()
    model = G2pp(portfolio.curve)
    paths = model.simulate(200, times=np.arange(1, 61) / 12.0, seed=4)
    return portfolio, model, paths, sleeve_paths(portfolio, model, paths, [1.0, 3.0, 5.0])


def test_sleeves_add_up_to_the_portfolio_surplus(setup):
    portfolio, model, paths, sleeves = setup
    z = portfolio.z_spreads.reindex(portfolio.book.security_ids).to_numpy()
    direct = model.surplus(portfolio.book, portfolio.liability_stream, paths, [1.0, 3.0, 5.0], z)
    np.testing.assert_allclose(
        sleeves.surplus(portfolio.current_weights.to_numpy()), direct, rtol=1e-12
    )


def test_allocations_are_linear_mixes_of_sleeves(setup):
    portfolio, _, _, sleeves = setup
    w0 = portfolio.current_weights.to_numpy()
    w1 = w0.copy()
    w1[0] += 0.02
    w1[1] -= 0.02
    mid = sleeves.surplus(0.5 * (w0 + w1))
    np.testing.assert_allclose(mid, 0.5 * (sleeves.surplus(w0) + sleeves.surplus(w1)), rtol=1e-12)


def test_evaluate_reports_consistent_statistics(setup):
    portfolio, _, _, sleeves = setup
    table = evaluate(sleeves, {"current": portfolio.current_weights.to_numpy()})
    assert (table["p05"] <= table["median"]).all()
    assert (table["median"] <= table["p95"]).all()
    assert table["shortfall_probability"].between(0, 1).all()
    assert (table["expected_shortfall_95"] <= table["p05"]).all()


def test_tracking_error_distribution_is_ordered_and_needs_two_horizons(setup):
    portfolio, model, paths, sleeves = setup
    w = portfolio.current_weights.to_numpy()
    row = tracking_error_distribution(sleeves, {"current": w}).loc["current"]
    assert 0.0 < row["p05"] <= row["median"] <= row["p95"] < 0.5
    one = sleeve_paths(portfolio, model, paths, [1.0])
    with pytest.raises(ValueError, match="two horizons"):
        tracking_error_distribution(one, {"current": w})


def test_tracking_error_of_one_path_is_its_own_statistic(setup):
    portfolio, _, _paths, sleeves = setup
    w = portfolio.current_weights.to_numpy()
    single = dataclasses.replace(
        sleeves, sleeves=sleeves.sleeves[:1], liabilities=sleeves.liabilities[:1]
    )
    assets = [portfolio.total_assets, *list(sleeves.surplus(w)[0] + sleeves.liabilities[0])]
    owed = [sleeves.liabilities_today, *sleeves.liabilities[0]]
    lengths = [1.0, 2.0, 2.0]
    active = [
        (assets[k + 1] / assets[k] - owed[k + 1] / owed[k]) / np.sqrt(lengths[k]) for k in range(3)
    ]
    table = tracking_error_distribution(single, {"current": w})
    assert table.loc["current", "mean"] == pytest.approx(np.std(active, ddof=1), rel=1e-12)


def test_stress_surplus_of_today_matches_the_stress_summary():
    portfolio = data.demo()
    stresses = stress_portfolio(portfolio)
    w0 = portfolio.current_weights.to_numpy()
    tilted = w0.copy()
    tilted[0] += 0.03
    tilted[1] -= 0.03
    table = stress_surplus(stresses, portfolio, {"current": w0, "tilted": tilted})
    np.testing.assert_allclose(table["current"], stresses.summary()["surplus"], rtol=1e-10)
    # Linear in the weights: moving 3% from M02 to M01 changes surplus by the sleeves' difference.
    by_manager = stresses.by_manager(
        portfolio.face.div(portfolio.face.sum(axis=0), axis=1).fillna(0.0)
    )
    unit = (by_manager.T / w0).T  # change per unit weight from the base scenario
    expected = 0.03 * (unit.iloc[0] - unit.iloc[1])
    change = (table["tilted"] - table["current"]) - (table["tilted"] - table["current"]).iloc[0]
    np.testing.assert_allclose(change, expected, rtol=1e-8, atol=1.0)


def test_minimum_expected_shortfall_beats_the_priority_optimum_under_the_same_mandate(setup):
    portfolio, _, _, sleeves = setup
    problem = build_problem(DeskContext(portfolio))
    mandate = portfolio.mandate
    robust = min_expected_shortfall(problem, sleeves, mandate, horizon=5.0)
    allowed = robust.constraints["allowed"]
    assert allowed.all(), robust.constraints[~allowed]
    # The same limits as the recommendation: the same breaches closed as far.
    recommended = optimize(problem, mandate).constraints
    np.testing.assert_allclose(
        robust.constraints.loc[recommended["status"] == "closing", "value"],
        recommended.loc[recommended["status"] == "closing", "value"],
        atol=1e-5,
    )
    priority = optimize(problem, mandate).weights.to_numpy()
    worst = max(1, sleeves.surplus(priority).shape[0] // 20)
    es_priority = -np.sort(sleeves.surplus(priority)[:, 2])[:worst].mean()
    es_robust = -np.sort(sleeves.surplus(robust.weights.to_numpy())[:, 2])[:worst].mean()
    assert es_robust <= es_priority + 1e-6 * portfolio.total_assets
    assert robust.summary["expected_shortfall_after"] == pytest.approx(-es_robust, rel=1e-9)
    with pytest.raises(ValueError, match="confidence"):
        min_expected_shortfall(problem, sleeves, mandate, confidence=1.0)
    with pytest.raises(ValueError, match="not one of"):
        min_expected_shortfall(problem, sleeves, mandate, horizon=2.5)
