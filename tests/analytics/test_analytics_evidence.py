"""Manager evidence: FDR flags by hand, the contract's table, managers that cannot be judged."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fialloc.analytics.context import DeskContext
from fialloc.analytics.evidence import (
    EVIDENCE_COLUMNS,
    UNMEASURED_ALPHA_SD,
    evidence_table,
)
from fialloc.analytics.regression import ar1_standard_errors, newey_west_lags, ols_fit
from fialloc.analytics.shrinkage import adaptive_shrink
from fialloc.analytics.skill import benjamini_hochberg
from fialloc.desks import performance
from fialloc.desks.result import DeskResult

CONTRACT = [
    "alpha", "alpha_se", "alpha_posterior", "alpha_posterior_sd", "prob_alpha_positive",
    "skill_flag", "beta_flag", "drift_flag", "residual_vol", "estimable", "reason",
]  # fmt: skip


def test_benjamini_hochberg_by_hand():
    # Sorted p: 0.005, 0.01, 0.03, 0.04, 0.20; times 5 / rank: 0.025, 0.025, 0.05, 0.05, 0.20.
    p = pd.Series([0.01, 0.04, 0.03, 0.20, 0.005], index=list("abcde"))
    q = benjamini_hochberg(p)
    np.testing.assert_allclose(q, [0.025, 0.05, 0.05, 0.20, 0.025], rtol=1e-12)
    assert list(q.index[q <= 0.10]) == ["a", "b", "c", "e"]
    # Step-up: 0.02 x 3 = 0.06 is lowered to the next rank's 0.021 x 3 / 2 = 0.0315.
    np.testing.assert_allclose(
        benjamini_hochberg(pd.Series([0.02, 0.021, 0.5])), [0.0315] * 2 + [0.5]
    )
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        benjamini_hochberg(pd.Series([0.5, 1.5]))


def _book(n=60, m=6, seed=1):
    rng = np.random.default_rng(seed)
    idx = pd.period_range("2020-01", periods=n, freq="M")
    f = pd.DataFrame(
        {
            "duration": rng.normal(0, 0.002, n),
            "credit_bbb": rng.normal(0.001, 0.006, n),
            "credit_hy": rng.normal(0.002, 0.012, n),
        },
        index=idx,
    )
    y = pd.DataFrame(rng.normal(0, 0.0015, (n, m)), index=idx, columns=[f"X{k}" for k in range(m)])
    return y, f


def test_evidence_by_hand_from_the_regression_and_the_fdr():
    y, f = _book()
    y["X0"] += 0.003  # alpha t about 15: found
    y["X1"] += 0.5 * f["credit_bbb"]  # credit beta, no alpha
    table = evidence_table(y, f)
    fit = ols_fit(y, f, newey_west_lags(60))
    np.testing.assert_allclose(table["alpha"], 12 * fit["coef"][0], rtol=1e-12)
    # The larger of the Newey-West and the AR(1) errors; Student t with 60 - 3 - 1 dof.
    ar1_se = ar1_standard_errors(fit["design"], fit["resid"])[0][0]
    se = 12 * np.maximum(fit["se"][0], ar1_se)
    np.testing.assert_allclose(table["alpha_se"], se, rtol=1e-12)
    assert (ar1_se > fit["se"][0]).any()
    assert (ar1_se < fit["se"][0]).any()
    t = 12 * fit["coef"][0] / se
    np.testing.assert_allclose(table["alpha_p"], stats.t.sf(t, 56), rtol=1e-12)
    np.testing.assert_allclose(table["alpha_q"], benjamini_hochberg(table["alpha_p"]), rtol=1e-12)
    assert list(table.index[table["skill_flag"]]) == ["X0"]
    assert list(table.index[table["beta_flag"]]) == ["X1"]
    assert table.loc["X1", "credit_return"] > 0
    assert (table["lags"] == 3).all()
    assert table["estimable"].all()
    assert (table["reason"] == "").all()


def test_a_short_or_collinear_manager_is_not_estimable_and_the_rest_are_judged():
    y, f = _book(m=5)
    y.iloc[:45, 1] = np.nan  # 15 months only
    f["credit_hy"] = 2.0 * f["credit_bbb"]
    table = evidence_table(y, f.assign(credit_hy=f["credit_hy"]))
    assert not table["estimable"].any()
    assert table["reason"].str.contains("collinear").sum() == 4
    assert "15 months" in table.loc["X1", "reason"]
    assert (table["alpha_posterior"] == 0.0).all()
    assert (table["alpha_posterior_sd"] == UNMEASURED_ALPHA_SD).all()
    assert not (table["skill_flag"] | table["beta_flag"]).any()
    y2, f2 = _book(m=5)
    y2.iloc[:45, 1] = np.nan
    table2 = evidence_table(y2, f2)
    assert table2["estimable"].sum() == 4
    assert not table2.loc["X1", "estimable"]


def test_evidence_refuses_bad_arguments():
    y, f = _book()
    with pytest.raises(ValueError, match="false discovery rate"):
        evidence_table(y, f, fdr=1.0)
    with pytest.raises(ValueError, match="credit factors"):
        evidence_table(y, f, credit=("credit_a",))
    with pytest.raises(ValueError, match="no factor returns"):
        evidence_table(y, f.iloc[1:])


@pytest.fixture(scope="module")
def demo_result(demo_portfolio):
    return performance.analyze(DeskContext(demo_portfolio))


def test_manager_evidence_carries_the_contract(demo_result, demo_truth):
    e = performance.manager_evidence(demo_result)
    assert e.index.name == "manager_id"
    assert set(CONTRACT) <= set(e.columns)
    assert [c for c in e.columns if c in EVIDENCE_COLUMNS] == list(EVIDENCE_COLUMNS)
    truth = demo_truth
    assert set(e.index[e["skill_flag"]]) == set(truth.skilled_managers)
    assert set(truth.bbb_beta_managers) <= set(e.index[e["beta_flag"]])
    assert set(e.index[e["drift_flag"]]) == set(truth.drifting_managers)
    assert (e["alpha_posterior_sd"] > 0).all()
    assert e["estimable"].all()
    with pytest.raises(ValueError, match="performance desk"):
        performance.manager_evidence(DeskResult(desk="credit"))


def test_adaptive_prior_gives_the_adaptive_posterior_and_the_same_flags():
    y, f = _book(m=12, seed=4)
    y["X0"] += 0.003
    normal, adaptive = evidence_table(y, f), evidence_table(y, f, prior="adaptive")
    expected = adaptive_shrink(adaptive["alpha"].astype(float), adaptive["alpha_se"].astype(float))
    for column in expected.table.columns:
        np.testing.assert_allclose(adaptive[column].astype(float), expected.table[column])
    assert not np.allclose(adaptive["alpha_posterior"], normal["alpha_posterior"])
    rest = adaptive.columns.difference(expected.table.columns)
    pd.testing.assert_frame_equal(adaptive[rest], normal[rest])
