"""Turn a request's portfolio source and mandate overrides into a validated :class:`Portfolio`.

Problems with the data come back as a 400 :class:`RequestError` naming the field path in the
request (``portfolio.tables.securities[3].coupon``) or the file under the data location.
"""

from __future__ import annotations

import dataclasses
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fialloc import data
from fialloc.data import InputError, Mandate, Portfolio, Problem
from fialloc.service.aws import fetch_inputs
from fialloc.service.requests import (
    DemoSource,
    InlineSource,
    LocationSource,
    PortfolioSource,
    RequestError,
    RequestProblem,
)
from fialloc.service.settings import ServiceSettings, check_portfolio_size

__all__ = ["load_portfolio"]


def load_portfolio(
    source: PortfolioSource, mandate: Mandate | None, settings: ServiceSettings
) -> Portfolio:
    """Build the portfolio a request names, with its mandate overrides applied.

    Parameters
    ----------
    source : DemoSource, InlineSource or LocationSource
        Where the inputs come from.
    mandate : Mandate or None
        Overrides of the portfolio's own mandate: only the fields the request set are
        changed (decimals, as in :class:`fialloc.data.Mandate`).
    settings : ServiceSettings
        The data root (for locations) and the size limits.

    Raises
    ------
    RequestError
        400 listing every problem in the data or the mandate; 413 if the portfolio is larger
        than the service takes.
    """
    if isinstance(source, DemoSource):
        portfolio = _demo(source.seed)
    elif isinstance(source, InlineSource):
        try:
            tables = {str(name): rows for name, rows in source.tables.items()}
            portfolio = data.from_tables(tables, source.valuation_date)
        except InputError as exc:
            raise RequestError(400, "invalid portfolio", _inline_problems(exc.problems)) from None
    else:
        portfolio = _from_location(source, settings)
    check_portfolio_size(len(portfolio.securities), len(portfolio.managers), settings)
    return _with_mandate(portfolio, mandate)


@lru_cache(maxsize=4)
def _demo(seed: int) -> Portfolio:
    # A Portfolio is immutable and caches its analytics, so requests on the same demo share them.
    return data.demo(seed)


def _inline_problems(problems: list[Problem]) -> list[RequestProblem]:
    out = []
    for p in problems:
        path = f"portfolio.tables.{p.file}"
        if p.row is not None:
            path += f"[{p.row}]"
        if p.column is not None:
            path += f".{p.column}"
        out.append(RequestProblem(path, p.message))
    return out


def _from_location(source: LocationSource, settings: ServiceSettings) -> Portfolio:
    where = "portfolio.location"
    if settings.data_root is None:
        problem = "this service reads no data locations (its FIALLOC_DATA_ROOT is not set)"
        raise RequestError(400, "invalid request", [RequestProblem(where, problem)])
    if settings.data_root.startswith("s3://"):
        with tempfile.TemporaryDirectory(prefix="fialloc-inputs-") as tmp:
            fetch_inputs(settings.data_root, source.location, Path(tmp), settings.max_input_bytes)
            return _load(Path(tmp), Path(tmp))
    root = Path(settings.data_root).resolve()
    try:
        directory = _inside(root, source.location)
        # Every entry is resolved too: a symlinked file must not read from outside the root.
        for entry in sorted(directory.iterdir()) if directory.is_dir() else ():
            _inside(root, str(entry.relative_to(root)), entry.name)
    except RequestError:
        raise
    except (OSError, ValueError):
        # A NUL byte, an over-long name or an unreadable entry; never echo the server's paths.
        problem = f"{source.location[:80]!r} is not a readable directory under the data root"
        raise RequestError(400, "invalid request", [RequestProblem(where, problem)]) from None
    return _load(directory, root)


def _inside(root: Path, location: str, name: str | None = None) -> Path:
    """`location` under `root`, resolved; a 400 if it (or the file `name` in it) leads outside."""
    path = (root / location).resolve()
    # Resolving first means neither ".." nor a symlink can lead outside the data root.
    if not path.is_relative_to(root):
        problem = (
            f"{location!r} is outside the service's data root"
            if name is None
            else f"file {name!r} in this location links to outside the service's data root"
        )
        raise RequestError(400, "invalid request", [RequestProblem("portfolio.location", problem)])
    return path


def _load(directory: Path, root: Path) -> Portfolio:
    try:
        return data.load(directory)
    except InputError as exc:
        problems = [
            RequestProblem("portfolio.location", _relative(str(p), root)) for p in exc.problems
        ]
        raise RequestError(400, "invalid portfolio", problems) from None


def _relative(text: str, root: Path) -> str:
    # Never tell a caller where the data root is on the server's disk.
    return text.replace(f"{root}/", "").replace(str(root), ".")


def _with_mandate(portfolio: Portfolio, overrides: Mandate | None) -> Portfolio:
    if overrides is None:
        return portfolio
    merged: dict[str, Any] = portfolio.mandate.model_dump()
    changes = overrides.model_dump(exclude_unset=True)
    if "objective" in changes:
        changes["objective"] = {**merged["objective"], **changes["objective"]}
    merged.update(changes)
    try:
        mandate = Mandate.model_validate(merged)
    except ValidationError as exc:
        problems = [
            RequestProblem(
                ".".join(["parameters.mandate", *(str(p) for p in err["loc"])]), err["msg"]
            )
            for err in exc.errors()
        ]
        raise RequestError(400, "invalid request", problems) from None
    return dataclasses.replace(portfolio, mandate=mandate)
