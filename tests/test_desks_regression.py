import numpy as np
import pandas as pd
import pytest

from fialloc.analytics.regression import factor_regression


def test_matches_closed_form_single_factor():
    idx = pd.period_range("2021-01", periods=6, freq="M")
    x = pd.DataFrame({"bbb": [0.01, -0.02, 0.03, 0.0, 0.02, -0.01]}, index=idx)
    y = pd.Series([0.012, -0.015, 0.031, 0.002, 0.019, -0.004], index=idx)
    r = factor_regression(y, x)
    xv, yv = x["bbb"].to_numpy(), y.to_numpy()
    beta = np.cov(xv, yv, ddof=1)[0, 1] / np.var(xv, ddof=1)
    alpha = yv.mean() - beta * xv.mean()
    assert r.betas["bbb"] == pytest.approx(beta, rel=1e-12)
    assert r.alpha == pytest.approx(alpha, rel=1e-10)
    resid = yv - alpha - beta * xv
    s2 = resid @ resid / 4
    se_beta = np.sqrt(s2 / ((xv - xv.mean()) ** 2).sum())
    assert r.beta_t["bbb"] == pytest.approx(beta / se_beta, rel=1e-10)
    assert r.r_squared == pytest.approx(1 - resid @ resid / ((yv - yv.mean()) ** 2).sum())


def test_beta_without_alpha_is_insignificant_and_alpha_with_skill_is_found():
    rng = np.random.default_rng(7)
    idx = pd.period_range("2020-01", periods=60, freq="M")
    f = pd.DataFrame(
        {"bbb": rng.normal(0.002, 0.015, 60), "dur": rng.normal(0, 0.01, 60)}, index=idx
    )
    beta_only = pd.Series(0.8 * f["bbb"] + rng.normal(0, 0.001, 60), index=idx)
    r = factor_regression(beta_only, f)
    assert r.betas["bbb"] == pytest.approx(0.8, abs=0.03)
    assert r.beta_p["bbb"] < 1e-6
    assert r.alpha_p > 0.05
    skilled = pd.Series(0.003 + rng.normal(0, 0.002, 60), index=idx)
    r2 = factor_regression(skilled, f)
    assert r2.alpha_p < 0.01
    assert r2.alpha_annual == pytest.approx(0.036, abs=0.01)


def test_rejects_misaligned_or_short_input():
    idx = pd.period_range("2020-01", periods=4, freq="M")
    f = pd.DataFrame({"a": [0.0, 0.1, 0.2, 0.3], "b": [1.0, 0.0, 1.0, 0.0]}, index=idx)
    with pytest.raises(ValueError, match="too few"):
        factor_regression(pd.Series([0.0, 0.1, 0.0, 0.1], index=idx), f)
    with pytest.raises(ValueError, match="same monthly index"):
        factor_regression(pd.Series([0.0] * 4), f)
