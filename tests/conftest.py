import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

import fialloc.data as data
from fialloc import pipeline
from fialloc.data import DEMO_VALUATION, DemoTruth, Portfolio

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

try:
    from hypothesis import settings

    settings.register_profile("ci", deadline=None, max_examples=100, derandomize=True)
    settings.register_profile("dev", deadline=None, max_examples=50)
    settings.load_profile("ci" if os.environ.get("CI") else "dev")
except ImportError:  # hypothesis is a test extra; property tests skip without it
    pass


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """Run in one process when the command names test files (the edit-and-test loop).

    The whole suite (``python -m pytest``, or a folder) runs on every core (``-n auto`` in
    pyproject.toml), a test module per worker.
    """
    named = [arg for arg in config.args if arg.split("::")[0].endswith(".py")]
    return 0 if named else None  # None: pytest-xdist's own count, the machine's cores


def _fingerprint(tables: dict[str, object]) -> dict[str, int]:
    """A hash of every table in `tables`, to catch a test that edits a shared one in place."""
    return {
        name: int(pd.util.hash_pandas_object(value, index=True).sum())
        for name, value in tables.items()
        if isinstance(value, (pd.DataFrame, pd.Series))
    }


def _portfolio_tables(portfolio: Portfolio) -> dict[str, object]:
    return {field.name: getattr(portfolio, field.name) for field in dataclasses.fields(portfolio)}


@pytest.fixture(scope="session")
def demo_tables_and_truth() -> Iterator[tuple[dict[str, pd.DataFrame], DemoTruth]]:
    """The demo's input tables (seed 7) and its planted truths, built once for the session.

    Read-only, like :func:`demo_portfolio`: a test that edits tables takes
    :func:`demo_inputs`, fresh copies.
    """
    tables, truth = data.demo_tables()
    before = _fingerprint(dict(tables))
    names = set(tables)
    yield tables, truth
    assert set(tables) == names, "a test added or removed a table of the shared demo inputs"
    assert _fingerprint(dict(tables)) == before, "a test changed the shared demo inputs in place"


@pytest.fixture(scope="session")
def demo_truth(demo_tables_and_truth: tuple[dict[str, pd.DataFrame], DemoTruth]) -> DemoTruth:
    """What the demo (seed 7) plants: ``data.demo_truth()`` without building the demo again."""
    return demo_tables_and_truth[1]


@pytest.fixture
def demo_inputs(
    demo_tables_and_truth: tuple[dict[str, pd.DataFrame], DemoTruth],
) -> dict[str, pd.DataFrame]:
    """Copies of the demo's input tables (seed 7), the test's own to edit."""
    return {name: table.copy() for name, table in demo_tables_and_truth[0].items()}


@pytest.fixture(scope="session")
def demo_portfolio(
    demo_tables_and_truth: tuple[dict[str, pd.DataFrame], DemoTruth],
) -> Iterator[Portfolio]:
    """The demo book (seed 7), built once for the whole session.

    Tests share it, so none may change its tables in place (``dataclasses.replace`` and
    ``DataFrame.assign`` give edited copies); the fixture checks that at the end.
    """
    portfolio = data.from_tables(demo_tables_and_truth[0], DEMO_VALUATION)
    before = _fingerprint(_portfolio_tables(portfolio))
    yield portfolio
    after = _fingerprint(_portfolio_tables(portfolio))
    assert after == before, "a test changed the shared demo portfolio in place"


def _file_hashes(directory: Path) -> dict[str, str]:
    """Every file under `directory` and a hash of its bytes, to catch a test that edits one."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory, demo_portfolio: Portfolio) -> Iterator[Path]:
    """The demo book (seed 7) written as input files (``data.write_tables``), once per session.

    What ``data.write_demo`` writes. Read-only: a test that edits files copies the folder
    first (``shutil.copytree``); the fixture checks at the end that no file was changed, added
    or removed.
    """
    directory = data.write_tables(demo_portfolio, tmp_path_factory.mktemp("demo"))
    before = _file_hashes(directory)
    yield directory
    assert _file_hashes(directory) == before, "a test changed the shared written demo's files"


@pytest.fixture(scope="session")
def demo_read_back(demo_dir: Path) -> Iterator[Portfolio]:
    """The written demo (:func:`demo_dir`) loaded back with ``data.load``, once per session.

    Read-only, like :func:`demo_portfolio`; the fixture checks that no test changed its tables.
    """
    portfolio = data.load(demo_dir)
    before = _fingerprint(_portfolio_tables(portfolio))
    yield portfolio
    after = _fingerprint(_portfolio_tables(portfolio))
    assert after == before, "a test changed the shared read-back demo in place"


@pytest.fixture(scope="session")
def synthetic_book() -> Iterator[Callable[[int, int, int], Portfolio]]:
    """``data.synthetic(n_managers, n_securities, seed)``, each book built once per session.

    For books that several tests or modules generate alike. Read-only, like
    :func:`demo_portfolio`; the fixture checks at the end that no test changed one in place.
    """
    books: dict[tuple[int, int, int], Portfolio] = {}
    fingerprints: dict[tuple[int, int, int], dict[str, int]] = {}

    def book(n_managers: int, n_securities: int, seed: int) -> Portfolio:
        key = (n_managers, n_securities, seed)
        if key not in books:
            books[key] = data.synthetic(*key)
            fingerprints[key] = _fingerprint(_portfolio_tables(books[key]))
        return books[key]

    yield book
    changed = [
        key
        for key, portfolio in books.items()
        if _fingerprint(_portfolio_tables(portfolio)) != fingerprints[key]
    ]
    assert not changed, f"a test changed the shared synthetic books {changed} in place"


@pytest.fixture(scope="module")
def commands_share_the_demo(demo_portfolio: Portfolio) -> Iterator[None]:
    """For a module's tests: ``fialloc.data.demo()`` of the seed-7 demo is the session's book.

    A command (``fialloc run`` without ``--data``) or a request on the demo builds the book with
    ``data.demo``: about 1.3 s each time, and its cached analytics are lost. With this fixture
    the command gets :func:`demo_portfolio` (the same tables: ``data.demo`` is
    ``from_tables(demo_tables(seed))``); other seeds and the single-currency demo are built.
    The book stays read-only: ``demo_portfolio`` checks that no command changed it.
    """
    build = data.demo

    def demo(seed: int = 7, *, global_sleeve: bool = True) -> Portfolio:
        if seed == 7 and global_sleeve:
            return demo_portfolio
        return build(seed, global_sleeve=global_sleeve)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(data, "demo", demo)
        yield


@pytest.fixture(scope="session")
def demo_pipeline_run(demo_portfolio: Portfolio) -> tuple[pipeline.RunResult, list[str]]:
    """The demo run once: 200 paths, scenario seed 3, with the stages in the order they ran."""
    stages: list[str] = []
    result = pipeline.run(demo_portfolio, n_paths=200, scenario_seed=3, progress=stages.append)
    return result, stages
