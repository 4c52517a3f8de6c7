"""Empirical-Bayes shrinkage of alphas: hand-worked cases and properties."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from fialloc.analytics.shrinkage import shrink_alphas


def test_three_managers_by_hand():
    # a = 3%, 1%, -1% a year, each with a 1% standard error. sum(a^2) = 11e-4, m - 2 = 1, so
    # tau^2 = 11e-4 - 1e-4 = 10e-4 and B = 1e-4 / 11e-4 = 1/11 for everyone: the posterior
    # keeps 10/11 of each estimate. Variance (Morris): 1e-4 (1 - (1/3)(1/11)) + 2 (1/11)^2 a^2.
    a = pd.Series([0.03, 0.01, -0.01], index=["A", "B", "C"])
    out = shrink_alphas(a, pd.Series(0.01, index=a.index))
    assert out.prior_sd == pytest.approx(np.sqrt(10e-4), rel=1e-12)
    assert out.managers == 3
    t = out.table
    np.testing.assert_allclose(t["shrinkage"], [1 / 11] * 3, rtol=1e-12)
    np.testing.assert_allclose(t["alpha_posterior"], [0.3 / 11, 0.1 / 11, -0.1 / 11], rtol=1e-12)
    var = 1e-4 * 32 / 33 + 2 / 121 * np.array([9e-4, 1e-4, 1e-4])
    np.testing.assert_allclose(t["alpha_posterior_sd"] ** 2, var, rtol=1e-12)
    # 1.11845730e-4 and 9.8622590e-5 worked out by hand from the line above.
    assert t["alpha_posterior_sd"]["A"] ** 2 == pytest.approx(1.11845730e-4, rel=1e-8)
    assert t["alpha_posterior_sd"]["B"] ** 2 == pytest.approx(9.8622590e-5, rel=1e-8)
    assert t["prob_alpha_positive"]["A"] == pytest.approx(
        stats.norm.cdf((0.3 / 11) / np.sqrt(1.11845730e-4)), rel=1e-7
    )
    assert t["prob_alpha_positive"]["B"] + t["prob_alpha_positive"]["C"] == pytest.approx(1.0)


def test_equal_errors_give_positive_part_james_stein():
    rng = np.random.default_rng(3)
    for m in (3, 5, 25, 60):
        a = pd.Series(rng.normal(0, 0.004, m))
        s = 0.003
        out = shrink_alphas(a, pd.Series(s, index=a.index))
        js = max(0.0, 1.0 - (m - 2) * s**2 / float(a @ a))
        np.testing.assert_allclose(out.table["alpha_posterior"], js * a, rtol=1e-10, atol=1e-15)


def test_no_spread_shrinks_fully_but_keeps_uncertainty():
    a = pd.Series([0.001, -0.001, 0.0005])
    out = shrink_alphas(a, pd.Series(0.01, index=a.index))
    assert out.prior_sd == 0.0
    assert (out.table["alpha_posterior"] == 0.0).all()
    assert (out.table["prob_alpha_positive"] == 0.5).all()
    np.testing.assert_allclose(
        out.table["alpha_posterior_sd"] ** 2, 2e-4 / 3 + 2 * a.to_numpy() ** 2, rtol=1e-12
    )


def test_fewer_than_three_managers_are_not_shrunk():
    a = pd.Series([0.02, -0.01])
    s = pd.Series([0.01, 0.005])
    out = shrink_alphas(a, s)
    assert out.prior_sd == np.inf
    np.testing.assert_allclose(out.table["alpha_posterior"], a)
    np.testing.assert_allclose(out.table["alpha_posterior_sd"], s)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="one index"):
        shrink_alphas(pd.Series([0.01]), pd.Series([0.01], index=[5]))
    with pytest.raises(ValueError, match="positive"):
        shrink_alphas(pd.Series([0.01, 0.0, 0.0]), pd.Series([0.01, 0.0, 0.01]))
    with pytest.raises(ValueError, match="finite"):
        shrink_alphas(pd.Series([np.nan, 0.0, 0.0]), pd.Series([0.01, 0.01, 0.01]))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-0.05, 0.05), st.floats(0.0005, 0.02)), min_size=1, max_size=40)
)
def test_posterior_lies_between_zero_and_the_estimate(pairs):
    a = pd.Series([p[0] for p in pairs])
    s = pd.Series([p[1] for p in pairs])
    t = shrink_alphas(a, s).table
    assert ((t["shrinkage"] >= 0) & (t["shrinkage"] <= 1)).all()
    assert (np.abs(t["alpha_posterior"]) <= np.abs(a) + 1e-15).all()
    assert (np.sign(t["alpha_posterior"]) * np.sign(a) >= 0).all()
    assert (t["alpha_posterior_sd"] > 0).all()
    assert ((t["prob_alpha_positive"] >= 0) & (t["prob_alpha_positive"] <= 1)).all()
