"""The decision study: how often the allocation's moves are right, on generated books.

The detection study (:mod:`fialloc.detection_study`) measures the verdicts; this one measures
what the allocation does with them. For each generated book
(:func:`fialloc.data.testbooks.generate_book`, whose truth holds each manager's kind and true
selection alpha) the engine runs as a user runs it (:func:`fialloc.pipeline.run`), and its
recommendation is set beside two others of the same optimizer, mandate, book and run
(:func:`fialloc.pipeline.recommend` on the run's problem, overlay instruments included):

- the **oracle**: the posterior alpha replaced by each manager's true alpha
  (:meth:`fialloc.optimize.AllocationProblem.with_alpha`), nothing else changed. It maximizes
  the objective the engine maximizes, with the truth: no estimate of skill can do better
  under that objective;
- **without skill evidence**: every alpha zero, what the same allocation does when it ignores
  the performance desk: the yardstick of what the evidence adds.

Each manager's move is ``raised``, ``unchanged`` or ``cut`` (a weight change of at least
:data:`fialloc.results.HOLD_BELOW`, 5 bp of assets, as the results and the CLI report a
hold). Per book, the true alpha a move captures is ``sum (w - w_current) alpha_true`` times
the assets (money a year) and each allocation's value is the objective with the true alphas
(:func:`fialloc.optimize.objective_table` at its weights and overlay): the engine's regret
is the oracle's value less the engine's.

Rates carry Wilson 95% intervals (:func:`fialloc.analytics.detection.wilson`), means over
books Student t intervals, and the share of the oracle's alpha gain the engine gets a
percentile bootstrap over books.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fialloc import pipeline
from fialloc.analytics.detection import mean_interval, rate_interval
from fialloc.analytics.shrinkage import SkillPrior
from fialloc.data.testbooks import GeneratedBook, generate_book
from fialloc.desks import performance
from fialloc.detection_study import with_skill_prior
from fialloc.optimize import (
    AllocationProblem,
    AllocationResult,
    InfeasibleMandate,
    allocation_result,
)
from fialloc.results import HOLD_BELOW

__all__ = [
    "ALLOCATIONS",
    "DIRECTIONS",
    "GROUPS",
    "TERMS",
    "DecisionStudy",
    "book_decisions",
    "decision_rates",
    "gain_and_regret",
    "manager_group",
    "regret_terms",
    "run_decision_study",
    "weight_changes",
]

#: The allocations compared: the engine's recommendation, the oracle's and the one without
#: skill evidence.
ALLOCATIONS = ("engine", "oracle", "no_skill")
#: A manager's move, by its weight change against :data:`fialloc.results.HOLD_BELOW`.
DIRECTIONS = ("raised", "unchanged", "cut")
#: The groups of managers the rates are given for (see :func:`manager_group`).
GROUPS = ("skill, IR >= 1", "skill, IR < 1", "beta", "null")
AGREES, AGREES_WHERE_MOVED = "agrees with oracle", "agrees where oracle moves"
#: Gains closer than this (money a year) are a tie: the same moves up to the solver's noise.
GAIN_TIE = 1e3
#: Bootstrap resamples of books for the share of the oracle's gain (fixed seed: reproducible).
BOOTSTRAP = 4000


@dataclass(frozen=True)
class DecisionStudy:
    """The study's records.

    Attributes
    ----------
    records : DataFrame
        One row per manager (index ``(book, manager_id)``), see :func:`book_decisions`.
    books : DataFrame
        One row per book run to the end (index ``book``, the seed), see
        :func:`book_decisions`.
    failures : DataFrame
        One row per book whose run stopped (index ``book``): ``managers``, ``months``, the
        ``stage`` it stopped in (:data:`fialloc.pipeline.STAGES`) and the ``error``. A user
        gets no recommendation there: the study has no decision to measure.
    """

    records: pd.DataFrame
    books: pd.DataFrame
    failures: pd.DataFrame


def _direction(change: pd.Series) -> pd.Series:
    """Return ``raised``, ``unchanged`` or ``cut`` per manager (under HOLD_BELOW: a hold)."""
    out = np.where(
        change >= HOLD_BELOW, "raised", np.where(change <= -HOLD_BELOW, "cut", "unchanged")
    )
    return pd.Series(out, index=change.index)


def _true_terms(
    truth_problem: AllocationProblem, run: pipeline.RunResult, allocation: AllocationResult
) -> dict[str, float]:
    """Return each objective term with the true alphas at `allocation` (money a year).

    The terms of :func:`fialloc.optimize.objective_table` (``yield``, ``expected credit
    loss``, ``alpha``, ``trading cost``, ``surplus risk``, ``liquidity``, ``total``) at the
    allocation's weights and overlay.
    """
    units = None if run.overlay is None else allocation.overlay_units(run.overlay.ids)
    at = allocation_result(
        truth_problem,
        run.portfolio.mandate,
        allocation.weights,
        overlay=run.overlay_inputs if run.overlay is not None else None,
        units=units,
    )
    after = at.objective["after"]
    return dict(zip(map(str, after.index), after.to_numpy(dtype=float).tolist(), strict=True))


def book_decisions(
    book: GeneratedBook, run: pipeline.RunResult
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Set the engine's decisions on one book beside the oracle's and those without skill.

    Parameters
    ----------
    book : GeneratedBook
        The book and its truth.
    run : RunResult
        :func:`fialloc.pipeline.run` on ``book.portfolio``.

    Returns
    -------
    records : DataFrame
        Per manager (index ``manager_id``): ``seed``, ``months``, ``managers``, ``kind``,
        ``information_ratio`` (true), ``alpha_true`` and ``alpha_posterior`` (bp a year),
        ``skill_flag``, ``beta_flag``, ``current`` and, per allocation of
        :data:`ALLOCATIONS`, its weight (decimal), ``<allocation>_change`` (bp of assets) and
        ``<allocation>_direction`` (:data:`DIRECTIONS`).
    book : dict
        ``months``, ``managers``, ``assets`` (money), per allocation ``<allocation>_gain``
        (true alpha captured by its moves, money a year), ``<allocation>_value`` (the
        objective with the true alphas, money a year) and its terms
        ``<allocation>_<term>`` (``yield``, ``expected_credit_loss``, ``alpha``,
        ``trading_cost``, ``surplus_risk``, ``liquidity``: :func:`regret_terms`), and
        ``engine_regret`` and ``no_skill_regret`` (the oracle's value less theirs, money a
        year).
    """
    problem, mandate = run.problem, run.portfolio.mandate
    truth = book.truth.reindex(problem.managers)
    truth_problem = problem.with_alpha(truth["alpha"])
    overlay = run.overlay_inputs if run.overlay is not None else None
    blind = problem.with_alpha(0.0 * truth["alpha"])
    chosen = {
        "engine": run.allocation,
        "oracle": pipeline.recommend(truth_problem, mandate, overlay)[1],
        "no_skill": pipeline.recommend(blind, mandate, overlay)[1],
    }
    ev = performance.manager_evidence(run.desks["performance"]).reindex(problem.managers)
    current = problem.current
    records = pd.DataFrame(
        {
            "seed": book.seed,
            "months": len(book.factors),
            "managers": len(truth),
            "kind": truth["kind"],
            "information_ratio": truth["information_ratio"],
            "alpha_true": 1e4 * truth["alpha"],
            "alpha_posterior": 1e4 * ev["alpha_posterior"].astype(float).fillna(0.0),
            "skill_flag": ev["skill_flag"].fillna(False).astype(bool),
            "beta_flag": ev["beta_flag"].fillna(False).astype(bool),
            "current": current,
        }
    )
    summary: dict[str, float] = {"months": float(len(book.factors)), "managers": float(len(truth)),
                                 "assets": problem.assets}  # fmt: skip
    for name, allocation in chosen.items():
        change = allocation.weights - current
        records[name] = allocation.weights
        records[f"{name}_change"] = 1e4 * change
        records[f"{name}_direction"] = _direction(change)
        summary[f"{name}_gain"] = (
            float(change.to_numpy() @ truth["alpha"].to_numpy()) * problem.assets
        )
        terms = _true_terms(truth_problem, run, allocation)
        summary[f"{name}_value"] = terms.pop("total")
        summary |= {f"{name}_{term.replace(' ', '_')}": v for term, v in terms.items()}
    for name in ("engine", "no_skill"):
        summary[f"{name}_regret"] = summary["oracle_value"] - summary[f"{name}_value"]
    return records, summary


def run_decision_study(
    seeds: Iterable[int],
    n_paths: int = 200,
    scenario_seed: int = 3,
    n_months: int | None = None,
    n_managers: int | None = None,
    skill_prior: SkillPrior | None = None,
) -> DecisionStudy:
    """Run the engine on one generated book per seed and set its decisions beside the oracle's.

    Parameters
    ----------
    seeds : iterable of int
        One book per seed (:func:`fialloc.data.testbooks.generate_book`).
    n_paths, scenario_seed : int
        The run's scenario paths and their seed (:func:`fialloc.pipeline.run`).
    n_months, n_managers : int, optional
        Book size; drawn per book (36-120 months, 10-60 managers) when None.
    skill_prior : {"normal", "adaptive"}, optional
        The posterior's prior (the mandate's ``skill_prior``); the book's own when None.

    Returns
    -------
    DecisionStudy
        Its ``books`` also hold each book's ``seconds`` (wall time of the book, run and
        re-solves); a book whose run stops (:class:`fialloc.optimize.InfeasibleMandate`) is
        in its ``failures``.

    Raises
    ------
    ValueError
        If no book's run reaches the end.
    """
    parts, rows, failed = {}, {}, {}
    for seed in seeds:
        start = time.perf_counter()
        book = with_skill_prior(
            generate_book(seed, n_managers=n_managers, n_months=n_months), skill_prior
        )
        stages: list[str] = []
        try:
            run = pipeline.run(
                book.portfolio, n_paths=n_paths, scenario_seed=scenario_seed, progress=stages.append
            )
        except InfeasibleMandate as exc:
            # The run refused (a mandate no allocation meets) or a stage's solve failed: the
            # user sees this message and no recommendation.
            size = {"managers": float(len(book.truth)), "months": float(len(book.factors))}
            failed[seed] = size | {"stage": stages[-1] if stages else "", "error": str(exc)}
            continue
        parts[seed], rows[seed] = book_decisions(book, run)
        rows[seed]["seconds"] = time.perf_counter() - start
    if not parts:
        msg = f"run_decision_study: no book ran to the end ({len(failed)} stopped)"
        raise ValueError(msg)
    records = pd.concat(parts, names=["book", "manager_id"])
    books = pd.DataFrame.from_dict(rows, orient="index").rename_axis("book")
    failures = pd.DataFrame.from_dict(
        failed, orient="index", columns=["managers", "months", "stage", "error"]
    ).rename_axis("book")
    return DecisionStudy(records=records, books=books, failures=failures)


def manager_group(records: pd.DataFrame) -> pd.Series:
    """Return each manager's group (:data:`GROUPS`): skilled by true IR (>= 1, < 1), beta, null."""
    skilled = records["kind"] == "skill"
    strong = skilled & (records["information_ratio"] >= 1.0)
    group = np.where(strong, GROUPS[0], np.where(skilled, GROUPS[1], records["kind"]))
    return pd.Series(group, index=records.index, name="group")


def decision_rates(records: pd.DataFrame) -> pd.DataFrame:
    """Share of each group's managers raised, unchanged and cut, and the agreement with the oracle.

    Returns
    -------
    DataFrame
        Indexed by ``(group, measure)``: the groups of :data:`GROUPS` and ``all``; the
        measures are the :data:`DIRECTIONS` and ``agrees with oracle`` (same direction as the
        oracle's) and ``agrees where oracle moves`` (among the managers the oracle raises or
        cuts). Columns per allocation of :data:`ALLOCATIONS` (``engine``, ``oracle``,
        ``no_skill``) the rate and its Wilson interval (``<allocation>_low``,
        ``<allocation>_high``), and ``managers`` (the count it is a share of; for the last
        measure, the managers the oracle moves).
    """
    group = manager_group(records)
    rows = {}
    for name in (*GROUPS, "all"):
        inside = records if name == "all" else records[group == name]
        moves = inside[inside["oracle_direction"] != "unchanged"]
        for measure in (*DIRECTIONS, AGREES, AGREES_WHERE_MOVED):
            subset = moves if measure == AGREES_WHERE_MOVED else inside
            row: dict[str, float] = {"managers": float(len(subset))}
            for who in ALLOCATIONS:
                direction = subset[f"{who}_direction"]
                target = measure if measure in DIRECTIONS else subset["oracle_direction"]
                rate, low, high = rate_interval(direction == target)
                row |= {who: rate, f"{who}_low": low, f"{who}_high": high}
            rows[(name, measure)] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["group", "measure"])
    return table


def weight_changes(records: pd.DataFrame) -> pd.DataFrame:
    """Mean weight change by group (bp of assets): each book's mean, averaged over the books.

    Returns
    -------
    DataFrame
        Indexed by group (:data:`GROUPS`); per allocation of :data:`ALLOCATIONS` the mean
        and its Student t interval over the books (``<allocation>_low``, ``_high``), and
        ``books`` (those with a manager of the group).
    """
    group = manager_group(records)
    rows = {}
    for name in GROUPS:
        inside = records[group == name]
        per_book = inside.groupby("seed")
        row: dict[str, float] = {"books": float(per_book.ngroups)}
        for who in ALLOCATIONS:
            mean, low, high = mean_interval(per_book[f"{who}_change"].mean())
            row |= {who: mean, f"{who}_low": low, f"{who}_high": high}
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("group")


def _share_interval(part: pd.Series, whole: pd.Series) -> tuple[float, float, float]:
    """``sum(part) / sum(whole)`` over books, with a percentile bootstrap 95% interval."""
    a, b = part.to_numpy(dtype=float), whole.to_numpy(dtype=float)
    rng = np.random.default_rng(0)
    draws = rng.integers(0, len(a), (BOOTSTRAP, len(a)))
    ratios = a[draws].sum(axis=1) / b[draws].sum(axis=1)
    low, high = np.quantile(ratios, [0.025, 0.975])
    return float(a.sum() / b.sum()), float(low), float(high)


def gain_and_regret(books: pd.DataFrame) -> pd.DataFrame:
    """Return the true alpha captured and the regret ($M a year), with intervals over books.

    Returns
    -------
    DataFrame
        Rows: ``true alpha captured, <allocation>`` ($M a year, mean over books, Student t
        interval), ``share of the oracle's gain, <allocation>`` (sum over books of the
        allocation's gain over the oracle's; bootstrap interval), ``regret, <allocation>``
        (the oracle's true objective less the allocation's, $M a year) and ``regret bp,
        <allocation>`` (bp of assets a year), and ``books where the oracle's gain >= the
        engine's`` (share, Wilson interval; within :data:`GAIN_TIE`). Columns ``value``,
        ``low``, ``high``, ``books``.
    """
    rows = {}
    n = float(len(books))
    for who in ALLOCATIONS:
        rows[f"true alpha captured, {who}"] = mean_interval(books[f"{who}_gain"] / 1e6)
    for who in ("engine", "no_skill"):
        rows[f"share of the oracle's gain, {who}"] = _share_interval(
            books[f"{who}_gain"], books["oracle_gain"]
        )
        rows[f"regret, {who}"] = mean_interval(books[f"{who}_regret"] / 1e6)
        rows[f"regret bp, {who}"] = mean_interval(1e4 * books[f"{who}_regret"] / books["assets"])
    ahead = books["oracle_gain"] >= books["engine_gain"] - GAIN_TIE
    rows["books where the oracle's gain >= the engine's"] = rate_interval(ahead)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["value", "low", "high"])
    return table.assign(books=n)


#: The objective's terms (:func:`fialloc.optimize.objective_table`) as the books name them.
TERMS = ("yield", "expected_credit_loss", "alpha", "trading_cost", "surplus_risk", "liquidity")


def regret_terms(books: pd.DataFrame) -> pd.DataFrame:
    """Return where the regret comes from: each objective term, oracle less allocation ($M/yr).

    With the true alphas: a positive ``alpha`` row is true alpha the oracle earns and the
    allocation does not; a negative ``yield`` row is yield the allocation earns over the
    oracle's. The rows add up to the regret.

    Returns
    -------
    DataFrame
        Indexed by term (:data:`TERMS`); per allocation (``engine``, ``no_skill``) the mean
        over books and its Student t interval (``<allocation>_low``, ``_high``).
    """
    rows = {}
    for term in TERMS:
        row: dict[str, float] = {}
        for who in ("engine", "no_skill"):
            gap = (books[f"oracle_{term}"] - books[f"{who}_{term}"]) / 1e6
            mean, low, high = mean_interval(gap)
            row |= {who: mean, f"{who}_low": low, f"{who}_high": high}
        rows[term] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("term")
