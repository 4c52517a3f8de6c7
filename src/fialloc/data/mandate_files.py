"""Read the allocation mandate from a YAML or JSON file, text or a mapping of overrides.

Any field left out keeps the system description's default (see :class:`Mandate`). Every
problem found is reported at once as an :class:`InputError` naming the file and the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import ValidationError

from fialloc.data.mandate import Mandate
from fialloc.data.schema import Problem
from fialloc.errors import InputError

__all__ = ["MANDATE_SUFFIXES", "parse_mandate", "read_mandate"]

#: File suffixes :func:`read_mandate` understands.
MANDATE_SUFFIXES: Final = (".json", ".yaml", ".yml")


def parse_mandate(
    overrides: Mapping[str, Any] | Mandate | None = None, *, source: str = "mandate"
) -> Mandate:
    """Build a :class:`Mandate` from overrides of its defaults.

    Parameters
    ----------
    overrides : mapping, Mandate or None
        Field values to change, e.g. ``{"max_allocation": 0.15, "objective":
        {"yield_target": 0.3}}``. Rates, weights and shares are decimals (0.045 for 4.5%);
        ``max_rating_drift`` is in notches. ``None`` or ``{}`` gives the defaults.
    source : str
        Name used for the "file" in error messages.

    Returns
    -------
    Mandate
        The validated, frozen mandate.

    Raises
    ------
    InputError
        Listing every unknown field and every out-of-range value, each as
        ``<source>, column <field>: <what was expected>``.
    """
    if isinstance(overrides, Mandate):
        return overrides
    raw: object = {} if overrides is None else overrides  # parsed files may hold anything
    if not isinstance(raw, Mapping):
        msg = f"expected a mapping of mandate fields, got {type(raw).__name__}"
        raise InputError([Problem(source, None, None, msg)])
    try:
        return Mandate.model_validate(dict(raw))
    except ValidationError as exc:
        problems = [
            Problem(source, None, ".".join(str(p) for p in err["loc"]) or None, err["msg"])
            for err in exc.errors()
        ]
        raise InputError(problems) from None


def read_mandate(path: str | Path) -> Mandate:
    """Read a mandate file (``.json``, ``.yaml`` or ``.yml``) of overrides of the defaults.

    Parameters
    ----------
    path : str or Path
        The file. An empty file (or a YAML ``null``) gives the defaults.

    Returns
    -------
    Mandate
        The validated, frozen mandate.

    Raises
    ------
    InputError
        If the file is missing, has another suffix, does not parse (the line is named), is
        not a mapping, or has unknown or out-of-range fields (each named).
    """
    file = Path(path)
    name = file.name
    if file.suffix.lower() not in MANDATE_SUFFIXES:
        msg = f"unsupported mandate file type {file.suffix!r}; expected one of {MANDATE_SUFFIXES}"
        raise InputError([Problem(name, None, None, msg)])
    try:
        text = file.read_text()
    except OSError as exc:
        msg = f"cannot be read: {exc.strerror or exc}"
        raise InputError([Problem(name, None, None, msg)]) from None
    return parse_mandate(_parse(text, file.suffix.lower(), name), source=name)


def _parse(text: str, suffix: str, name: str) -> Any:
    if not text.strip():
        return None
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            msg = f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
            raise InputError([Problem(name, None, None, msg)]) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        msg = f"not valid YAML{where}: {problem}"
        raise InputError([Problem(name, None, None, msg)]) from None
