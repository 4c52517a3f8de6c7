"""The detection power study: the performance desk on many generated books, against the truth.

Draws independent books (:func:`fialloc.data.testbooks.generate_book`), runs the performance
desk on each exactly as on a user's book, and collects per manager the truth, the desk's
verdicts and the oracle's (:func:`fialloc.analytics.detection.detection_records`); the rates
and the power curve are :func:`fialloc.analytics.detection.detection_rates` and
:func:`~fialloc.analytics.detection.power_curve` of the records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import pandas as pd

from fialloc.analytics.context import DeskContext
from fialloc.analytics.detection import detection_records
from fialloc.analytics.shrinkage import SkillPrior
from fialloc.data.testbooks import GeneratedBook, generate_book
from fialloc.desks import performance

__all__ = ["run_detection_study", "with_skill_prior"]


def with_skill_prior(book: GeneratedBook, prior: SkillPrior | None) -> GeneratedBook:
    """Return `book` with its mandate's ``skill_prior`` set to `prior` (unchanged if None)."""
    if prior is None:
        return book
    mandate = book.portfolio.mandate.model_copy(update={"skill_prior": prior})
    return dataclasses.replace(book, portfolio=dataclasses.replace(book.portfolio, mandate=mandate))


def run_detection_study(
    seeds: Iterable[int],
    n_months: int | None = 60,
    n_managers: int | None = None,
    skill_prior: SkillPrior | None = None,
) -> pd.DataFrame:
    """Run the performance desk on one generated book per seed; one row per manager.

    Parameters
    ----------
    seeds : iterable of int
        One book per seed.
    n_months, n_managers : int, optional
        Book size; drawn per book (36-120 months, 10-60 managers) when None.
    skill_prior : {"normal", "adaptive"}, optional
        The posterior's prior (the mandate's ``skill_prior``); the book's own when None.

    Returns
    -------
    DataFrame
        The records of :func:`fialloc.analytics.detection.detection_records`, books stacked
        (index ``(seed, manager_id)``).
    """
    parts = {}
    for seed in seeds:
        book = with_skill_prior(
            generate_book(seed, n_managers=n_managers, n_months=n_months), skill_prior
        )
        result = performance.analyze(DeskContext(book.portfolio))
        fdr = book.portfolio.mandate.skill_fdr
        parts[seed] = detection_records(book, performance.manager_evidence(result), fdr)
    return pd.concat(parts, names=["book", "manager_id"])
