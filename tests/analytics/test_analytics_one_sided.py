"""The one-sided joint test of loadings: statistic against a constrained fit, size, power."""

import numpy as np
import pytest
from scipy import optimize, stats

from fialloc.analytics.one_sided import positive_loading_test


def _random_cov(rng):
    sd = rng.uniform(0.05, 2.0, 2)
    r = rng.uniform(-0.9, 0.9)
    return np.array([[sd[0] ** 2, r * sd[0] * sd[1]], [r * sd[0] * sd[1], sd[1] ** 2]])


def _constrained_statistic(b, cov):
    """Reference: b'Wb less the smallest (b - x)'W(b - x) over x >= 0, by a bounded optimizer."""
    w = np.linalg.inv(cov)
    fit = optimize.minimize(
        lambda x: (b - x) @ w @ (b - x),
        np.maximum(b, 0.0),
        jac=lambda x: -2.0 * w @ (b - x),
        bounds=[(0.0, None)] * 2,
        method="L-BFGS-B",
        options={"ftol": 1e-15, "gtol": 1e-12},
    )
    return b @ w @ b - fit.fun


def test_the_statistic_is_the_likelihood_ratio_against_the_positive_orthant():
    rng = np.random.default_rng(3)
    covs = np.stack([_random_cov(rng) for _ in range(300)])
    coef = np.stack([rng.multivariate_normal([0.0, 0.0], 4 * c) for c in covs])
    statistic, p = positive_loading_test(coef, covs)
    expected = [_constrained_statistic(b, c) for b, c in zip(coef, covs, strict=True)]
    np.testing.assert_allclose(statistic, expected, rtol=1e-6, atol=1e-8)
    assert ((p > 0) & (p <= 1)).all()
    # Both loadings negative: no evidence of a positive one.
    negative = (coef < 0).all(axis=1)
    assert negative.any()
    assert (p[negative] == 1.0).all()


def test_one_loading_is_the_one_sided_t_test():
    rng = np.random.default_rng(4)
    coef = rng.normal(0, 1, (50, 1))
    var = rng.uniform(0.1, 2.0, 50)
    for dof in (None, 30.0):
        statistic, p = positive_loading_test(coef, var[:, None, None], dof)
        t = coef[:, 0] / np.sqrt(var)
        tail = stats.norm.sf(t) if dof is None else stats.t.sf(t, dof)
        np.testing.assert_allclose(p, np.where(t > 0, tail, 1.0), rtol=1e-10)
        np.testing.assert_allclose(statistic, np.where(t > 0, t * t, 0.0), rtol=1e-12)


@pytest.mark.parametrize("r", [-0.8, -0.3, 0.0, 0.5, 0.9])
def test_its_size_is_the_level_and_it_beats_the_two_sided_test_on_long_loadings(r):
    # 40,000 draws under b = 0 with a known covariance: rejections at 1% and 5% within
    # four binomial standard errors of the level; with strongly correlated estimates up to a
    # tenth under it (two negative estimates are never evidence).
    rng = np.random.default_rng(int(10 * r) + 20)
    cov = np.array([[1.0, r * 0.5], [r * 0.5, 0.25]])
    draws = 40_000
    null = rng.multivariate_normal([0.0, 0.0], cov, draws)
    _, p = positive_loading_test(null, np.broadcast_to(cov, (draws, 2, 2)))
    for level in (0.01, 0.05):
        error = 4 * np.sqrt(level * (1 - level) / draws)
        cautious = 0.1 * level if r > 0.5 else 0.0
        assert level - error - cautious < (p < level).mean() < level + error
    # A long loading on the first factor with a signal t of 2.5 (its Wald statistic 6.25):
    # more power than the two-sided Wald test (by 5 points unless the estimates are strongly
    # correlated, when the second loading pins the first down and both tests see it).
    shifted = null + np.array([2.5 / np.sqrt(np.linalg.inv(cov)[0, 0]), 0.0])
    _, p_one = positive_loading_test(shifted, np.broadcast_to(cov, (draws, 2, 2)))
    wald = np.einsum("si,ij,sj->s", shifted, np.linalg.inv(cov), shifted)
    margin = 0.05 if r <= 0.5 else 0.0
    assert (p_one < 0.05).mean() > (stats.chi2.sf(wald, 2) < 0.05).mean() + margin


def test_with_estimated_covariances_the_f_mixture_holds_the_level():
    # Regressions of 36 months on two correlated factors, noise known only from residuals.
    rng = np.random.default_rng(11)
    n, draws = 36, 4000
    x = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], n)
    design = np.column_stack([np.ones(n), x])
    bread = np.linalg.inv(design.T @ design)
    y = rng.standard_normal((n, draws))
    coef = bread @ design.T @ y
    resid = y - design @ coef
    s2 = (resid * resid).sum(axis=0) / (n - 3)
    cov = s2[:, None, None] * bread[None, 1:, 1:]
    _, p = positive_loading_test(coef[1:].T, cov, float(n - 3))
    assert abs((p < 0.05).mean() - 0.05) < 4 * np.sqrt(0.05 * 0.95 / draws)


def test_a_singular_covariance_is_no_evidence_and_bad_shapes_are_refused():
    coef = np.array([[1.0, 2.0], [3.0, 0.5]])
    cov = np.array([[[0.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]]])
    statistic, p = positive_loading_test(coef, cov)
    assert (statistic == 0.0).all()
    assert (p == 1.0).all()
    with pytest.raises(ValueError, match="shape"):
        positive_loading_test(np.ones((2, 3)), np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match="shape"):
        positive_loading_test(np.ones((2, 2)), np.ones((3, 2, 2)))
    with pytest.raises(ValueError, match="degrees of freedom"):
        positive_loading_test(coef, np.broadcast_to(np.eye(2), (2, 2, 2)), 0.0)
