import dataclasses
import os

import pandas as pd
import pytest

import fialloc.data as data
from fialloc import pipeline
from fialloc.data import Portfolio

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

try:
    from hypothesis import settings

    settings.register_profile("ci", deadline=None, max_examples=100, derandomize=True)
    settings.register_profile("dev", deadline=None, max_examples=50)
    settings.load_profile("ci" if os.environ.get("CI") else "dev")
except ImportError:  # hypothesis is a test extra; property tests skip without it
    pass


def _fingerprint(portfolio: Portfolio) -> dict[str, int]:
    """A hash of every table of `portfolio`, to catch a test that edits a shared one in place."""
    prints = {}
    for field in dataclasses.fields(portfolio):
        value = getattr(portfolio, field.name)
        if isinstance(value, (pd.DataFrame, pd.Series)):
            prints[field.name] = int(pd.util.hash_pandas_object(value, index=True).sum())
    return prints


@pytest.fixture(scope="session")
def demo_portfolio() -> Portfolio:
    """The demo book (seed 7), built once for the whole session.

    Tests share it, so none may change its tables in place (``dataclasses.replace`` and
    ``DataFrame.assign`` give edited copies); the fixture checks that at the end.
    """
    portfolio = data.demo()
    before = _fingerprint(portfolio)
    yield portfolio
    assert _fingerprint(portfolio) == before, "a test changed the shared demo portfolio in place"


@pytest.fixture(scope="session")
def demo_pipeline_run(demo_portfolio: Portfolio) -> tuple[pipeline.RunResult, list[str]]:
    """The demo run once: 200 paths, scenario seed 3, with the stages in the order they ran."""
    stages: list[str] = []
    result = pipeline.run(demo_portfolio, n_paths=200, scenario_seed=3, progress=stages.append)
    return result, stages
