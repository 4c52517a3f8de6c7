import numpy as np
import pytest

import fialloc.data as data
from fialloc.robustness import evaluate, sleeve_paths
from fialloc.scenarios import G2pp


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
