"""What every desk returns: tables, findings and recommendations, typed and serializable."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["info", "watch", "action"]


class Finding(BaseModel):
    """A fact a desk established, with the numbers behind it.

    Attributes
    ----------
    code : str
        Stable identifier (``krd_gap``, ``credit_beta``, ``style_drift``...), for tests and rules.
    severity : {"info", "watch", "action"}
        How much it matters against the mandate's thresholds.
    subject : str
        What it is about: a manager id, a key tenor, a sector, ``portfolio``.
    message : str
        One sentence a person can read.
    metrics : dict of str to float
        The engine's numbers the message quotes (agents may only quote these).
    """

    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity = "info"
    subject: str
    message: str
    metrics: dict[str, float] = Field(default_factory=dict)


class Recommendation(BaseModel):
    """A proposed action: usually a change of one manager's weight, with the reason."""

    model_config = ConfigDict(frozen=True)

    action: str
    subject: str
    rationale: str
    weight_change: float = 0.0
    metrics: dict[str, float] = Field(default_factory=dict)


@dataclass(frozen=True)
class DeskResult:
    """A desk's output: named tables, findings and recommendations."""

    desk: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    summary: dict[str, float] = field(default_factory=dict)

    def findings_of(self, code: str) -> list[Finding]:
        """Return the findings with a given code."""
        return [f for f in self.findings if f.code == code]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (tables as lists of records, NaN as None).

        Built once per result (a run asks twice: its agent and its results) and shared:
        read it, do not change it.
        """
        return self._json

    @cached_property
    def _json(self) -> dict[str, Any]:
        return {
            "desk": self.desk,
            "summary": {k: json_value(v) for k, v in self.summary.items()},
            "findings": [f.model_dump() for f in self.findings],
            "recommendations": [r.model_dump() for r in self.recommendations],
            "tables": {name: to_records(table) for name, table in self.tables.items()},
        }


def to_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Return a table as JSON-ready records, its index as leading columns (NaN as None)."""
    frame = table.reset_index()
    keys = [str(k) for k in frame.columns]
    # Column by column: numeric columns convert in one call each, where pandas' row records
    # box every value (most of the run's results.json is desk tables).
    numeric = [
        isinstance(dtype, np.dtype) and dtype.kind in "fiub" for dtype in frame.dtypes.to_numpy()
    ]
    columns: list[list[Any]] = [[] for _ in keys]
    for j, is_numeric in enumerate(numeric):
        if is_numeric:
            values = frame.iloc[:, j].to_numpy().tolist()
            columns[j] = [
                None if isinstance(v, float) and not math.isfinite(v) else v for v in values
            ]
    other = [j for j, is_numeric in enumerate(numeric) if not is_numeric]
    if other:
        # Positional names: the records of the other columns, boxed as pandas boxes them.
        rows = frame.iloc[:, other].set_axis(range(len(other)), axis=1).to_dict("records")
        for i, j in enumerate(other):
            columns[j] = [json_value(row[i]) for row in rows]
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]


def json_value(value: Any) -> Any:
    """Return a numpy/pandas scalar as a plain JSON value (non-finite floats as None)."""
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
