"""The allocation mandate: the investment committee's constraints and targets."""

from __future__ import annotations

import itertools
import math
from typing import Any, cast

import annotated_types
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fialloc.curves import DEFAULT_KEY_TENORS
from fialloc.data.schema import Problem

__all__ = ["Mandate", "ObjectiveWeights", "validation_problems"]


def validation_problems(exc: ValidationError, source: str) -> list[Problem]:
    """One problem per field pydantic refused, naming `source` (a file) and the field."""
    return [
        Problem(
            source,
            None,
            ".".join(str(p) for p in err["loc"]) or None,
            err["msg"].removeprefix("Value error, "),
        )
        for err in exc.errors()
    ]


class ObjectiveWeights(BaseModel):
    """Priority weights of the optimizer's objective terms (they need not sum to 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    liability_matching: float = Field(0.35, ge=0.0)
    yield_target: float = Field(0.25, ge=0.0)
    manager_skill: float = Field(0.25, ge=0.0)
    liquidity_buffer: float = Field(0.15, ge=0.0)


class Mandate(BaseModel):
    """Constraints and targets; the defaults are those of the system description.

    Weights, turnover, shifts, yields, tracking error and liquidity shares are decimals
    (0.045 for 4.5%); rating drift is in notches. ``key_tenors`` (years, increasing) are the
    key rates every key-rate duration and gap of the run is measured at: by default
    0.5, 1, 2, 3, 5, 7, 10, 20 and 30 years; 0.25 (or any other tenor up to 60 years) may be
    added.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_allocation: float = Field(
        0.01, ge=0.0, le=1.0, description="least weight of a manager kept (decimal)"
    )
    max_allocation: float = Field(
        0.20, gt=0.0, le=1.0, description="largest weight of one manager (decimal)"
    )
    turnover: float = Field(
        0.10, ge=0.0, le=2.0, description="largest one-way turnover (decimal of the assets)"
    )
    max_shift: float = Field(
        0.05, ge=0.0, le=1.0, description="largest change of one manager's weight (decimal)"
    )
    target_yield: float = Field(
        0.045, gt=-0.1, lt=1.0, description="least asset yield (decimal a year)"
    )
    max_tracking_error: float = Field(
        0.08, gt=0.0, lt=1.0, description="largest surplus tracking error (decimal a year)"
    )
    liquidity_buffer: float = Field(
        0.10, ge=0.0, le=1.0, description="least liquid buffer (decimal of the assets)"
    )
    max_illiquid: float = Field(
        0.30, ge=0.0, le=1.0, description="largest illiquid share (decimal of the assets)"
    )
    max_rating_drift: float = Field(
        1.0, ge=0.0, description="largest move of the average rating (notches)"
    )
    max_sector_overweight: float = Field(
        0.05, ge=0.0, le=1.0, description="largest rise of one sector's share (decimal)"
    )
    krd_gap_tolerance: float = Field(
        0.10, gt=0.0, description="key-rate gap the optimizer allows (years; today's if larger)"
    )
    materiality_threshold: float = Field(
        0.10, gt=0.0, description="key-rate gap the duration desk reports as material (years)"
    )
    objective: ObjectiveWeights = Field(
        ObjectiveWeights(), description="priority weights of the objective terms (see below)"
    )
    exit_managers: tuple[str, ...] = Field(
        (), description="managers to exit (weight 0); each must be a manager id"
    )
    key_tenors: tuple[float, ...] = Field(
        DEFAULT_KEY_TENORS, description="key rates of every key-rate duration and gap (years)"
    )

    @field_validator("key_tenors")
    @classmethod
    def _increasing_tenors(cls, tenors: tuple[float, ...]) -> tuple[float, ...]:
        if not tenors:
            msg = "key_tenors: give at least one tenor (years)"
            raise ValueError(msg)
        bad = [t for t in tenors if not (math.isfinite(t) and 0 < t <= 60)]
        if bad:
            msg = f"key_tenors: {bad[0]} is not a tenor in (0, 60] years"
            raise ValueError(msg)
        if any(b <= a for a, b in itertools.pairwise(tenors)):
            msg = f"key_tenors: {list(tenors)} must be strictly increasing"
            raise ValueError(msg)
        return tenors

    @field_validator("*", mode="before")
    @classmethod
    def _percentage_hint(cls, value: Any, info: ValidationInfo) -> Any:
        """Refuse a percentage given for a decimal field with the decimal it probably meant."""
        if info.field_name is None or isinstance(value, bool):
            return value
        bounds: list[float] = [
            cast(float, m.le if isinstance(m, annotated_types.Le) else m.lt)
            for m in cls.model_fields[info.field_name].metadata
            if isinstance(m, annotated_types.Le | annotated_types.Lt)
        ]
        if bounds and isinstance(value, int | float) and value > bounds[0] >= value / 100:
            msg = (
                f"{value:g} looks like a percentage; did you mean {value / 100:g}? "
                "(decimals: 0.045 for 4.5%)"
            )
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Mandate:
        if self.min_allocation > self.max_allocation:
            msg = (
                f"min_allocation {self.min_allocation} is above max_allocation "
                f"{self.max_allocation}"
            )
            raise ValueError(msg)
        return self
