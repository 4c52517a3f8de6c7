"""Generated test books and the detection study: sizes, truths, no crash.

What a 5-book, 60-month study measures (desks against the oracle, rates by level, the bound)
is checked by the benchmarks' smoke run (CI's ``pytest benchmarks --benchmark-disable``:
bench_detection.py's 60-month study runs on its first five books there), which ran the same
study beside this suite's copy."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fialloc.analytics.context import DeskContext
from fialloc.analytics.detection import detection_rates, wilson
from fialloc.analytics.evidence import MIN_MONTHS
from fialloc.analytics.shrinkage import adaptive_shrink
from fialloc.data.loaders import from_tables
from fialloc.data.testbooks import KINDS, generate_book
from fialloc.desks import performance
from fialloc.detection_study import with_skill_prior


def test_a_generated_book_is_a_valid_portfolio_with_its_truth():
    book = generate_book(3)
    p = book.portfolio
    truth = book.truth
    assert 10 <= len(truth) <= 60
    assert 36 <= len(book.factors) <= 120
    assert set(truth["kind"]) <= set(KINDS)
    assert {"skill", "beta"} <= set(truth["kind"])
    assert list(p.returns.columns) == list(truth.index)
    skilled = truth["kind"] == "skill"
    assert truth.loc[skilled, "information_ratio"].between(0.25, 2.0).all()
    assert (truth.loc[~skilled, "alpha"] == 0.0).all()
    beta = truth["kind"] == "beta"
    loaded = (truth[["beta_credit_bbb", "beta_credit_hy"]] > 0).any(axis=1)
    assert (loaded == beta).all()
    # The planted excess return is what the truth says, on the desks' own factors.
    excess = (p.returns - p.benchmark_returns).loc[book.factors.index]
    cols = ["beta_duration", "beta_credit_bbb", "beta_credit_hy"]
    resid = excess - book.factors.to_numpy() @ truth[cols].to_numpy().T - truth["alpha"] / 12
    np.testing.assert_allclose(resid.std(), truth["noise_sd"], rtol=0.5)
    # Same seed, same book; another seed, another book.
    again = generate_book(3)
    pd.testing.assert_frame_equal(again.portfolio.manager_returns, p.manager_returns)
    assert len(generate_book(4).truth) != len(truth) or not generate_book(4).truth.equals(truth)


def test_generated_book_refuses_bad_sizes():
    with pytest.raises(ValueError, match="1-500 managers"):
        generate_book(0, n_managers=0)
    with pytest.raises(ValueError, match="shares"):
        generate_book(0, skill_share=0.8, beta_share=0.5)


def test_wilson_interval_matches_statsmodels():
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    for k, n in ((0, 10), (3, 10), (45, 50), (50, 50), (17, 230)):
        low, high = proportion.proportion_confint(k, n, alpha=0.05, method="wilson")
        assert wilson(k, n) == pytest.approx((low, high), rel=1e-9, abs=1e-12)
    assert np.isnan(wilson(0, 0)[0])


def _flat_rates(book):
    """The same book with a rate history that never moves: the duration factor is all zeros."""
    p = book.portfolio
    history = p.market_history.copy()
    zeros = history["series"].str.startswith("zero_")
    last = history[zeros].groupby("series")["value"].transform("last")
    history.loc[zeros, "value"] = last
    names = ("securities", "holdings", "managers", "manager_returns", "liabilities",
             "curve_quotes", "spreads")  # fmt: skip
    tables = {name: getattr(p, name).reset_index(drop=True) for name in names}
    tables["market_history"] = history
    return from_tables(tables, p.valuation_date)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    # A book takes seconds to draw and judge: report the failing book as drawn, unshrunk.
    phases=[Phase.explicit, Phase.generate],
)
@given(
    seed=st.integers(0, 10_000),
    managers=st.integers(1, 8),
    months=st.integers(12, 40),
    flat=st.booleans(),
)
def test_the_desk_judges_or_explains_every_manager_of_any_book(seed, managers, months, flat):
    book = generate_book(seed, n_managers=managers, n_months=months)
    portfolio = _flat_rates(book) if flat else book.portfolio
    result = performance.analyze(DeskContext(portfolio))
    evidence = performance.manager_evidence(result)
    assert list(evidence.index) == list(book.truth.index)
    unjudged = evidence[~evidence["estimable"]]
    assert (unjudged["reason"].str.len() > 0).all()
    assert not (unjudged["skill_flag"] | unjudged["beta_flag"]).any()
    assert (unjudged["alpha_posterior"] == 0.0).all()
    if months < MIN_MONTHS:
        assert unjudged.index.equals(evidence.index)
        assert unjudged["reason"].str.contains("months").all()
    elif flat:
        assert unjudged.index.equals(evidence.index)
        assert unjudged["reason"].str.contains("collinear").all()
    else:
        assert evidence["estimable"].all()
    judged = evidence[evidence["estimable"]]
    assert np.isfinite(judged[["alpha", "alpha_se", "alpha_posterior"]].to_numpy()).all()
    assert (evidence["alpha_posterior_sd"] > 0).all()
    assert np.isfinite(performance.skill_scores(result)).all()
    assert np.isfinite(performance.residual_vols(result)).all()


def test_the_false_discovery_rate_is_reported_pooled_and_as_the_mean_per_book():
    # Book 1: four skill flags, one on a manager without alpha (share 0.25); book 2: two
    # flags, both wrong (1.0); book 3: no flags (0). Pooled: 3 of 6; mean per book: 1.25 / 3.
    kinds = ["skill", "skill", "skill", "null", "null", "beta", "null", "null", "skill"]
    flags = [True, True, True, True, True, True, False, False, False]
    records = pd.DataFrame(
        {
            "seed": [1, 1, 1, 1, 2, 2, 3, 3, 3],
            "kind": kinds,
            "information_ratio": [1.2, 1.6, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 1.1],
            "skill_flag": flags,
            "oracle_skill": flags,
            "beta_flag": False,
            "oracle_beta": False,
            "beta_signal": 0.0,
        }
    )
    rates = detection_rates(records)
    for who in ("desks", "oracle"):
        assert rates[who].loc["skill false discovery rate", "rate"] == pytest.approx(0.5)
        mean = rates[who].loc["skill false discovery rate, mean per book"]
        assert mean["rate"] == pytest.approx(1.25 / 3)
        assert mean["count"] == 3
        shares = np.array([0.25, 1.0, 0.0])
        half = 4.302652729911275 * shares.std(ddof=1) / np.sqrt(3)  # t(0.975, 2 dof)
        assert mean["high"] == pytest.approx(1.25 / 3 + half)
        assert mean["low"] == 0.0


def test_the_mandates_skill_prior_reaches_the_desks_posterior_and_not_the_flags():
    book = generate_book(11, n_managers=14, n_months=60)
    adaptive = with_skill_prior(book, "adaptive")
    assert adaptive.portfolio.mandate.skill_prior == "adaptive"
    assert book.portfolio.mandate.skill_prior == "normal"
    normal_ev = performance.manager_evidence(performance.analyze(DeskContext(book.portfolio)))
    ev = performance.manager_evidence(performance.analyze(DeskContext(adaptive.portfolio)))
    assert ev["estimable"].all()
    expected = adaptive_shrink(ev["alpha"].astype(float), ev["alpha_se"].astype(float))
    assert expected.proportions is not None
    for column in expected.table.columns:
        np.testing.assert_allclose(ev[column].astype(float), expected.table[column], rtol=1e-12)
    assert not np.allclose(ev["alpha_posterior"], normal_ev["alpha_posterior"])
    for flag in ("skill_flag", "beta_flag", "drift_flag"):
        assert ev[flag].equals(normal_ev[flag])
    assert with_skill_prior(book, None) is book
