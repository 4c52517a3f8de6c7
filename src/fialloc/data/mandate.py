"""The allocation mandate: the investment committee's constraints and targets."""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal, cast

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
from fialloc.data.vocabulary import RATING_LETTERS

__all__ = [
    "DEFAULT_GAP_TOLERANCE",
    "CreditLossAssumptions",
    "Mandate",
    "ObjectiveWeights",
    "OverlayLimits",
    "validation_problems",
]

#: Key-rate gap tolerance (years) at a tenor a per-tenor mapping leaves out.
DEFAULT_GAP_TOLERANCE = 0.10


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
    """Priority weights of the optimizer's objective terms (they need not sum to 1).

    Each priority scales its term's coefficient against the system description's default:
    at the defaults (0.35, 0.25, 0.25, 0.15) a dollar of yield and a dollar of posterior alpha
    count as a dollar, surplus risk is priced at the base risk aversion and liquid buffer up to
    the mandate's target at the base liquidity premium (see :mod:`fialloc.optimize`);
    doubling a priority doubles its coefficient.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    liability_matching: float = Field(0.35, ge=0.0)
    yield_target: float = Field(0.25, ge=0.0)
    manager_skill: float = Field(0.25, ge=0.0)
    liquidity_buffer: float = Field(0.15, ge=0.0)


class OverlayLimits(BaseModel):
    """Limits of the duration overlay, decimals of the portfolio's assets.

    Swap notional and futures face count gross (receivers and payers, longs and shorts
    alike); STRIPS count at market value (long only). Zero turns an instrument type off.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    swap_notional: float = Field(0.30, ge=0.0, le=5.0)
    futures_notional: float = Field(0.10, ge=0.0, le=5.0)
    strips: float = Field(0.10, ge=0.0, le=1.0)
    per_instrument: float = Field(0.15, ge=0.0, le=5.0)

    @property
    def enabled(self) -> bool:
        """Whether any overlay instrument may be held."""
        return self.per_instrument > 0 and (
            self.swap_notional > 0 or self.futures_notional > 0 or self.strips > 0
        )


class CreditLossAssumptions(BaseModel):
    """What a holding is expected to lose to defaults a year (the objective's yield is net of it).

    ``default_probability`` overrides the annual default probability (decimal) of the rating
    letters it names; the others keep :data:`fialloc.analytics.credit_loss.DEFAULT_PROBABILITY`.
    ``loss_given_default`` is the decimal of value lost on default.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_probability: dict[str, float] = Field(default_factory=dict)
    loss_given_default: float = Field(0.60, ge=0.0, le=1.0)

    @field_validator("default_probability")
    @classmethod
    def _known_letters(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(RATING_LETTERS))
        if unknown:
            msg = (
                f"default_probability: unknown rating letters {unknown}; use {list(RATING_LETTERS)}"
            )
            raise ValueError(msg)
        bad = {k: v for k, v in value.items() if not (math.isfinite(v) and 0.0 <= v <= 1.0)}
        if bad:
            msg = f"default_probability: {bad} must be decimals in [0, 1] (0.03 for 3%)"
            raise ValueError(msg)
        return value


class Mandate(BaseModel):
    """Constraints and targets; the defaults are those of the system description.

    Weights, turnover, shifts, yields, tracking error and liquidity shares are decimals
    (0.045 for 4.5%); rating drift is in notches. Turnover is one-way: half the sum of the
    absolute weight changes (the share of assets sold, equal to the share bought).

    ``krd_gap_tolerance`` is the largest key-rate gap (assets' key-rate duration less the
    liabilities' scaled to asset value) the mandate accepts at every tenor, or per tenor as a
    mapping keyed by tenor label (``{"30y": 0.5}``; tenors left out take 0.1 years), in the
    unit ``krd_gap_unit``: years of asset duration or DV01 (money per basis point). A gap
    beyond its tolerance today may not widen; with ``gap_closing="priced"`` (the default) the
    objective's surplus-risk term, which prices every key-rate mismatch through the factor
    covariance, decides how far it closes; with ``"fastest"`` it is closed as far as turnover
    and the other limits allow before the objective chooses, like a breached tracking-error,
    yield or liquidity limit.
    An exit (``exit_managers``) moves no faster than ``max_shift`` unless ``exit_immediately``;
    ``cost_amortization_years`` spreads a trade's one-off cost over the years it is expected
    to be held, so the objective compares it with yield a year. ``skill_fdr`` is the false
    discovery rate at which the performance desk flags skill (the expected share of flagged
    managers without skill). ``skill_prior`` is the prior the posterior alphas are shrunk
    under (:func:`fialloc.analytics.shrinkage.shrink`): ``"normal"`` (the default) or
    ``"adaptive"`` (a point mass at no skill and normals, fitted to the book).
    ``base_currency`` is the portfolio's currency (liabilities are owed in it; bonds in the
    other currencies of :data:`fialloc.curve_set.CURRENCIES` are valued in it at FX spot).
    ``key_tenors`` (years, increasing) are the
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
    krd_gap_tolerance: float | dict[str, float] = Field(
        0.10,
        description="key-rate gap tolerance: one number or per tenor ({'30y': 0.2}), in "
        "krd_gap_unit; a gap beyond it may not widen and closes",
    )
    krd_gap_unit: Literal["years", "dv01"] = Field(
        "years", description="unit of krd_gap_tolerance: years of asset duration or $ per bp"
    )
    gap_closing: Literal["priced", "fastest"] = Field(
        "priced",
        description="how a gap beyond tolerance closes: as the surplus-risk price says, or as "
        "fast as the pace limits allow",
    )
    materiality_threshold: float = Field(
        0.10, gt=0.0, description="key-rate gap the duration desk reports as material (years)"
    )
    skill_fdr: float = Field(
        0.10, gt=0.0, lt=1.0, description="false discovery rate at which skill is flagged"
    )
    skill_prior: Literal["normal", "adaptive"] = Field(
        "normal",
        description="prior of the posterior alphas: one normal, or a point mass at no skill "
        "and normals (adaptive shrinkage)",
    )
    objective: ObjectiveWeights = Field(
        ObjectiveWeights(), description="priority weights of the objective terms (see below)"
    )
    exit_managers: tuple[str, ...] = Field(
        (), description="managers to exit (weight 0); each must be a manager id"
    )
    exit_immediately: bool = Field(
        False, description="exit at once instead of within max_shift per cycle"
    )
    cost_amortization_years: float = Field(
        3.0, gt=0.0, le=50.0, description="years over which trading costs are amortized"
    )
    overlay: OverlayLimits = Field(
        OverlayLimits(), description="limits of the duration overlay (swaps, futures, STRIPS)"
    )
    key_tenors: tuple[float, ...] = Field(
        DEFAULT_KEY_TENORS, description="key rates of every key-rate duration and gap (years)"
    )
    base_currency: Literal["USD", "EUR", "GBP", "JPY", "CAD"] = Field(
        "USD",
        description="the portfolio's currency: money is reported in it, liabilities are owed "
        "in it, other currencies' bonds are valued in it at FX spot",
    )
    credit_loss: CreditLossAssumptions = Field(
        CreditLossAssumptions(),
        description="annual default probability by rating letter (overrides) and loss given "
        "default: the objective's yield is net of the expected credit loss",
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
        tolerances = (
            self.krd_gap_tolerance.items()
            if isinstance(self.krd_gap_tolerance, dict)
            else [("every tenor", self.krd_gap_tolerance)]
        )
        for tenor, value in tolerances:
            if not value > 0 or value == float("inf"):
                msg = f"krd_gap_tolerance for {tenor} must be a positive number, got {value}"
                raise ValueError(msg)
        return self

    def gap_tolerance(self, tenor: str) -> float:
        """Return the key-rate gap tolerance at `tenor` (label: ``"30y"``) in ``krd_gap_unit``."""
        if isinstance(self.krd_gap_tolerance, dict):
            return float(self.krd_gap_tolerance.get(tenor, DEFAULT_GAP_TOLERANCE))
        return float(self.krd_gap_tolerance)
