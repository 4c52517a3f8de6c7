"""The decision study's machinery (:mod:`fialloc.decision_study`) on two small generated books,
and its measures on hand-made records. The study's rates are measured in
``benchmarks/bench_decisions.py``, not asserted here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fialloc.decision_study import (
    ALLOCATIONS,
    DIRECTIONS,
    TERMS,
    DecisionStudy,
    decision_rates,
    gain_and_regret,
    manager_group,
    regret_terms,
    run_decision_study,
    weight_changes,
)
from fialloc.results import HOLD_BELOW

#: Money a year (0.0025 bp of $40B): the solver's tolerance and its tangent approximation of
#: market impact, by which the oracle's true objective may fall below another allocation's.
VALUE_TOLERANCE = 1e4


@pytest.fixture(scope="module")
def study() -> DecisionStudy:
    # Books 41 and 43 run to the end; on book 44 the mandate's 4.5% yield is out of reach.
    return run_decision_study([41, 43, 44], n_managers=16, n_months=36)


def test_records_cover_every_manager_of_every_book(study):
    records, books = study.records, study.books
    assert list(books.index) == [41, 43]
    assert books["managers"].tolist() == [16.0, 16.0]
    assert records.groupby(level="book").size().tolist() == [16, 16]
    failed = study.failures
    assert list(failed.index) == [44]
    assert failed.loc[44, "stage"] == "optimize"
    assert "cannot be met" in failed.loc[44, "error"]
    for who in ALLOCATIONS:
        # Weights sum to one less the overlay's STRIPS; directions follow the changes.
        per_book = records.groupby(level="book")[who].sum()
        assert ((per_book > 0.8) & (per_book <= 1.0 + 1e-9)).all()
        change = records[f"{who}_change"] / 1e4
        np.testing.assert_allclose(change, records[who] - records["current"], atol=1e-12)
        expected = np.where(
            change >= HOLD_BELOW, "raised", np.where(change <= -HOLD_BELOW, "cut", "unchanged")
        )
        assert (records[f"{who}_direction"].to_numpy() == expected).all()


def test_the_oracle_is_best_under_the_true_objective(study):
    books = study.books
    for who in ALLOCATIONS:
        assert (books["oracle_value"] >= books[f"{who}_value"] - VALUE_TOLERANCE).all()
    np.testing.assert_allclose(
        books["engine_regret"], books["oracle_value"] - books["engine_value"], rtol=1e-12
    )
    # The true alphas change the solution (a substitution that did nothing would leave no
    # regret), and the skill evidence is worth something here.
    assert (books["engine_regret"] > 1e6).all()
    assert (books["no_skill_regret"] > books["engine_regret"]).all()
    # Not a theorem (the oracle maximizes the whole objective, not the alpha alone: an
    # engine overestimating a skilled manager's alpha may buy more of it), but on these books
    # the oracle's moves capture at least the engine's true alpha.
    assert (books["oracle_gain"] >= books["engine_gain"] - VALUE_TOLERANCE).all()
    # The terms add up to each allocation's value, and their gaps to the regret.
    for who in ALLOCATIONS:
        total = sum(books[f"{who}_{term}"] for term in TERMS)
        np.testing.assert_allclose(total, books[f"{who}_value"], rtol=1e-12)
    terms = regret_terms(books)
    np.testing.assert_allclose(terms["engine"].sum(), books["engine_regret"].mean() / 1e6)
    # The gain is the true alpha of the moves: recomputed from the records.
    records = study.records
    for who in ALLOCATIONS:
        gain = (records[f"{who}_change"] * records["alpha_true"]).groupby(level="book").sum()
        np.testing.assert_allclose(gain * 1e-8 * books["assets"], books[f"{who}_gain"], rtol=1e-9)


def test_rates_are_shares_with_their_intervals(study):
    rates = decision_rates(study.records)
    for who in ALLOCATIONS:
        r, low, high = rates[who], rates[f"{who}_low"], rates[f"{who}_high"]
        ok = r.notna()
        assert ((low[ok] <= r[ok] + 1e-12) & (r[ok] <= high[ok] + 1e-12)).all()
        assert ((low[ok] >= 0) & (high[ok] <= 1)).all()
        by_direction = rates[who].unstack("measure")[list(DIRECTIONS)].dropna()
        np.testing.assert_allclose(by_direction.sum(axis=1), 1.0)
    assert (rates.xs("agrees with oracle", level="measure")["oracle"].dropna() == 1.0).all()
    table = gain_and_regret(study.books)
    values = table[["value", "low", "high"]].to_numpy(dtype=float)
    assert np.isfinite(values).all()
    assert (values[:, 1] <= values[:, 0]).all()
    assert (values[:, 0] <= values[:, 2]).all()


def _records() -> pd.DataFrame:
    """Two books of three managers, hand-made: skilled (IR 1.5), beta, null."""
    rows = []
    moves = {  # book: (engine, oracle) weight changes in bp of each manager
        1: ((100.0, 0.0, -100.0), (100.0, -100.0, 0.0)),
        2: ((0.0, 3.0, -3.0), (200.0, -100.0, -100.0)),
    }
    for seed, (engine, oracle) in moves.items():
        for k, kind in enumerate(("skill", "beta", "null")):
            rows.append(
                {
                    "seed": seed,
                    "kind": kind,
                    "information_ratio": 1.5 if kind == "skill" else 0.0,
                    "engine_change": engine[k],
                    "oracle_change": oracle[k],
                    "no_skill_change": 0.0,
                }
            )
    frame = pd.DataFrame(rows)
    for who in ALLOCATIONS:
        c = frame[f"{who}_change"] / 1e4
        frame[f"{who}_direction"] = np.where(
            c >= HOLD_BELOW, "raised", np.where(c <= -HOLD_BELOW, "cut", "unchanged")
        )
    return frame


def test_rates_and_changes_on_hand_made_records():
    records = _records()
    assert manager_group(records).tolist() == ["skill, IR >= 1", "beta", "null"] * 2
    rates = decision_rates(records)
    skilled = rates.loc["skill, IR >= 1"]
    # Engine: raised in book 1, unchanged in book 2 (the oracle raised both).
    assert skilled.loc["raised", "engine"] == 0.5
    assert skilled.loc["unchanged", "engine"] == 0.5
    assert skilled.loc["agrees with oracle", "engine"] == 0.5
    # Overall: the engine agrees on 1 of 6 (book 1's skilled; nothing else), 1 of 5 moves.
    assert rates.loc[("all", "agrees with oracle"), "engine"] == pytest.approx(1 / 6)
    assert rates.loc[("all", "agrees where oracle moves"), "managers"] == 5
    assert rates.loc[("all", "agrees where oracle moves"), "engine"] == pytest.approx(1 / 5)
    changes = weight_changes(records)
    # Per book means (one manager per group), averaged: skill (100 + 0) / 2 and (100 + 200) / 2.
    assert changes.loc["skill, IR >= 1", "engine"] == 50.0
    assert changes.loc["skill, IR >= 1", "oracle"] == 150.0
    assert changes.loc["beta", "engine"] == 1.5
    assert changes.loc["skill, IR < 1", "books"] == 0


def test_gain_share_and_regret_on_hand_made_books():
    books = pd.DataFrame(
        {
            "engine_gain": [1e6, 3e6],
            "oracle_gain": [4e6, 4e6],
            "no_skill_gain": [0.0, -2e6],
            "engine_regret": [2e6, 4e6],
            "no_skill_regret": [5e6, 5e6],
            "assets": [4e10, 4e10],
        },
        index=pd.Index([1, 2], name="book"),
    )
    table = gain_and_regret(books)
    assert table.loc["share of the oracle's gain, engine", "value"] == pytest.approx(0.5)
    assert table.loc["true alpha captured, engine", "value"] == pytest.approx(2.0)
    assert table.loc["regret, engine", "value"] == pytest.approx(3.0)
    # t interval over two books: 3 +- t(0.975, 1) * sd / sqrt(2), sd = sqrt(2).
    assert table.loc["regret, engine", "high"] == pytest.approx(3.0 + 12.7062047)
    assert table.loc["regret bp, no_skill", "value"] == pytest.approx(1.25)
    assert table.loc["books where the oracle's gain >= the engine's", "value"] == 1.0
