"""A mapping file: how a custodian's export becomes fialloc's tables, without a script.

A YAML (or JSON) file says, per table, which file holds it, which of its columns is which of
ours, how its values translate (a sector's name, a day-count spelling, an internal rating),
which numbers are in percent or basis points or written as negative outflows, which dates are
in another format, and which constant columns the export lacks::

    tables:
      securities:
        file: security_master.csv
        columns: {CUSIP: security_id, "Moody's": rating, "Cpn %": coupon}
        values:
          sector: {Govt: treasury, "Corp - Fin": financial}
        units: {coupon: percent}
        dates: {maturity: "%m/%d/%Y"}
        constants: {currency: USD}
      liabilities:
        units: {amount: negated}

Translation runs before validation and keeps every row, so each problem still names the
user's file, its line and the user's column name.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fialloc.data.mandate import validation_problems
from fialloc.data.schema import SCHEMAS, Problem
from fialloc.errors import InputError

__all__ = [
    "UNITS",
    "ColumnMapping",
    "TableMapping",
    "parse_mapping",
    "read_mapping",
    "renamed_problems",
]

#: Units a numeric column may be given in, and what to divide by to get fialloc's unit
#: (dividing by an exact 100 gives the nearest double to 4.5% as 0.045, multiplying by 0.01
#: need not).
UNITS: Final[Mapping[str, float]] = {"decimal": 1.0, "percent": 100.0, "bp": 1e4, "negated": -1.0}
Unit = Literal["decimal", "percent", "bp", "negated"]


class TableMapping(BaseModel):
    """How one of the user's files maps to one of fialloc's tables (see the module doc)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str | None = Field(None, description="the file's name in the directory")
    columns: dict[str, str] = Field(default_factory=dict, description="their name: ours")
    values: dict[str, dict[str, str | float]] = Field(
        default_factory=dict, description="our column: {their value: ours}"
    )
    units: dict[str, Unit] = Field(default_factory=dict, description="our column: its unit")
    dates: dict[str, str] = Field(
        default_factory=dict, description="our column: its strptime format"
    )
    constants: dict[str, str | float] = Field(
        default_factory=dict, description="our column the file lacks: its one value"
    )

    def translate(self, frame: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[Problem]]:
        """Rename, translate values, convert units and dates; rows keep their order.

        Cells that cannot be converted are left as they are for the validator to name, except
        dates that do not match their format, which are reported here.
        """
        out = frame.rename(columns=self.columns).copy()
        for column, value in self.constants.items():
            out[column] = value
        problems: list[Problem] = []
        for column, table in self.values.items():
            if column in out.columns:
                folded = {str(k).strip().casefold(): v for k, v in table.items()}
                out[column] = [
                    folded.get(str(v).strip().casefold(), v) if v is not None else v
                    for v in out[column].tolist()
                ]
        for column, unit in self.units.items():
            if column in out.columns:
                out[column] = [_scaled(v, UNITS[unit]) for v in out[column].tolist()]
        for column, fmt in self.dates.items():
            if column in out.columns:
                values, bad = _dates(out[column].tolist(), fmt)
                out[column] = values
                problems += [
                    Problem(file, row, column, f"{raw!r} does not match the date format {fmt!r}")
                    for row, raw in bad
                ]
        return out, problems

    def their_name(self, column: str | None) -> str | None:
        """Return the user's name of one of our columns (ours when it is not renamed)."""
        theirs = {ours: name for name, ours in self.columns.items()}
        return theirs.get(column, column) if column is not None else None


class ColumnMapping(BaseModel):
    """A whole mapping file: one :class:`TableMapping` per table it adapts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tables: dict[str, TableMapping] = Field(default_factory=dict)

    def table(self, name: str) -> TableMapping:
        """Return the mapping of table `name` (the identity when the file does not name it)."""
        return self.tables.get(name, TableMapping())


def _scaled(value: Any, divisor: float) -> Any:
    """`value` divided by `divisor` when it reads as a number; otherwise as it was."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return repr(number / divisor) if isinstance(value, str) else number / divisor


def _dates(values: list[Any], fmt: str) -> tuple[list[Any], list[tuple[int, Any]]]:
    out: list[Any] = []
    bad: list[tuple[int, Any]] = []
    for row, raw in enumerate(values):
        if raw is None or raw == "" or isinstance(raw, dt.date):
            out.append(raw)
            continue
        try:
            out.append(dt.datetime.strptime(str(raw).strip(), fmt).date())
        except ValueError:
            bad.append((row, raw))
            out.append(None)
    return out, bad


def parse_mapping(raw: object, source: str = "mapping") -> ColumnMapping:
    """Check a parsed mapping file (a mapping of ``tables``) into a :class:`ColumnMapping`.

    Raises
    ------
    InputError
        Naming `source` and the field for an unknown table, key, unit or target column.
    """
    try:
        mapping = ColumnMapping.model_validate({} if raw is None else raw)
    except ValidationError as exc:
        raise InputError(validation_problems(exc, source)) from None
    problems = []
    for name, table in mapping.tables.items():
        if name not in SCHEMAS:
            msg = f"unknown table {name!r}; expected one of {', '.join(SCHEMAS)}"
            problems.append(Problem(source, None, "tables", msg))
            continue
        ours = [c.name for c in SCHEMAS[name].columns]
        targets = [
            *table.columns.values(),
            *table.values,
            *table.units,
            *table.dates,
            *table.constants,
        ]
        for target in dict.fromkeys(targets):
            if target not in ours:
                msg = f"{target!r} is not a column of {name}; its columns are {', '.join(ours)}"
                problems.append(Problem(source, None, f"tables.{name}", msg))
    if problems:
        raise InputError(problems)
    return mapping


def read_mapping(path: str | Path) -> ColumnMapping:
    """Read a mapping file (``.yaml``, ``.yml`` or ``.json``); see the module doc.

    Raises
    ------
    InputError
        If the file cannot be read or parsed (the line is named) or is not a valid mapping.
    """
    file = Path(path)
    try:
        text = file.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(file.name, None, None, f"cannot be read: {exc}")]) from None
    try:
        raw = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else getattr(exc, "lineno", None)
        where = f" (line {line})" if line is not None else ""
        raise InputError([Problem(file.name, None, None, f"does not parse{where}")]) from None
    return parse_mapping(raw, file.name)


def renamed_problems(
    problems: list[Problem], mapping: ColumnMapping, files: Mapping[str, str]
) -> list[Problem]:
    """Return `problems` naming the user's columns; `files` maps table names to file names."""
    by_file = {file: mapping.table(name) for name, file in files.items()}
    return [
        Problem(p.file, p.row, by_file[p.file].their_name(p.column), p.message)
        if p.file in by_file
        else p
        for p in problems
    ]
