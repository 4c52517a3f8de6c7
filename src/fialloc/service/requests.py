"""The declared schema of every request the service accepts, and its validation.

A request names its engine (``entrypoint`` for the AgentCore app, ``operation`` for the Lambda
handler), where the portfolio comes from (inline tables, the built-in demo, or a data location
under the service's data root) and the run's parameters. :func:`parse_request` validates a
decoded JSON body against the schema and reports every problem at once, each with the field
path where it was found (``parameters.n_paths``, ``portfolio.tables.securities[3].coupon``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Final, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fialloc.data import Mandate
from fialloc.errors import FiallocError
from fialloc.mc_estimators import DEFAULT_PATHS

__all__ = [
    "APP_REQUESTS",
    "KEY_PATTERN",
    "LAMBDA_REQUESTS",
    "AgentParameters",
    "AgentRequest",
    "AllocationEvent",
    "AllocationRequest",
    "DemoSource",
    "InlineSource",
    "LiabilityRequest",
    "LocationSource",
    "ManagerAnalysisRequest",
    "MandateParameters",
    "PortfolioSource",
    "RequestError",
    "RequestProblem",
    "RunParameters",
    "RunRequest",
    "ScenarioAllocationEvent",
    "ScenarioAllocationRequest",
    "field_path",
    "parse_request",
    "validate_model",
]

#: The tables an inline portfolio may carry (those of :data:`fialloc.data.SCHEMAS`).
TableName = Literal[
    "securities",
    "holdings",
    "managers",
    "manager_returns",
    "liabilities",
    "curve_quotes",
    "curve",
    "spreads",
    "market_history",
    "manager_characteristics",
    "holdings_history",
    "benchmark_holdings",
    "security_spreads",
    "prices",
    "benchmarks",
    "benchmark_characteristics",
    "overlay_futures",
    "call_schedule",
    "liability_products",
    "mortality",
    "mbs_pools",
    "pool_factors",
    "fx_spot",
    "linkers",
    "cpi_history",
    "inflation_swaps",
]


@dataclass(frozen=True)
class RequestProblem:
    """One problem with a request: where (a dotted field path) and what."""

    path: str
    problem: str

    def as_dict(self) -> dict[str, str]:
        """Return the JSON form ``{"path": ..., "problem": ...}``."""
        return {"path": self.path, "problem": self.problem}


class RequestError(FiallocError, ValueError):
    """A request the service refuses, with its HTTP status and every problem found."""

    def __init__(
        self,
        status: int,
        message: str,
        problems: Sequence[RequestProblem] = (),
        *,
        retry_after: int | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.problems = list(problems)
        self.retry_after = retry_after
        details = "; ".join(f"{p.path or '(request)'}: {p.problem}" for p in self.problems)
        super().__init__(f"{message}: {details}" if details else message)

    def body(self) -> dict[str, Any]:
        """Return the JSON error body: the message, the problems and any retry delay (s)."""
        body: dict[str, Any] = {
            "error": self.message,
            "problems": [p.as_dict() for p in self.problems],
        }
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DemoSource(_Strict):
    """The built-in $40B demo general account, built from a seed."""

    source: Literal["demo"]
    seed: int = Field(7, ge=0, le=2**31 - 1)


class InlineSource(_Strict):
    """A portfolio sent in the request: tables as lists of records (see ``SCHEMA.md``)."""

    source: Literal["inline"]
    valuation_date: dt.date
    tables: dict[TableName, list[dict[str, Any]]]


class LocationSource(_Strict):
    """A directory of input files, relative to the service's data root."""

    source: Literal["location"]
    location: str = Field(min_length=1, max_length=1024)


PortfolioSource = Annotated[
    DemoSource | InlineSource | LocationSource, Field(discriminator="source")
]
_SOURCE_TAGS: Final = frozenset({"demo", "inline", "location"})

#: An S3 key path: parts of letters, digits and ``_=.-`` separated by ``/``, none starting
#: with a dot (so no ``..``, no hidden names, no empty parts).
KEY_PATTERN: Final = r"^[\w=\-][\w=.\-]*(/[\w=\-][\w=.\-]*)*$"


class MandateParameters(_Strict):
    """Settings shared by every engine: mandate overrides.

    ``mandate`` overrides the portfolio's own mandate field by field (decimals: 0.045 for
    4.5%; see :class:`fialloc.data.Mandate`).
    """

    mandate: Mandate | None = None


class AgentParameters(MandateParameters):
    """Settings of the engines that run agents: mandate overrides and the analysts' model.

    ``model`` is a model setting such as ``"offline"``, ``"bedrock:<model-id>"`` or
    ``"ollama:<model>@http://host:port"`` (the service's default model when left out).
    """

    model: str | None = Field(None, min_length=1, max_length=512)

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str | None) -> str | None:
        if value is not None:
            from fialloc.agents import ModelConfig  # the agents layer loads only when used

            ModelConfig.parse(value)
        return value


class RunParameters(AgentParameters):
    """The allocation run's settings (see :func:`fialloc.pipeline.run`)."""

    n_paths: int = Field(DEFAULT_PATHS, ge=20, description="G2++ scenario paths")
    scenario_seed: int = Field(0, ge=0, le=2**63 - 1)
    horizons: int = Field(10, ge=2, le=60, description="annual horizons, years")
    phases: int = Field(3, ge=1, le=20)
    phase_days: int = Field(10, ge=1, le=250, description="trading days per phase")
    covariance: Literal["history", "scenarios"] = "history"


class _StoredResult(_Strict):
    """A Lambda event's optional ``result_key``: store the result in the results bucket.

    Step Functions passes at most 256 KB between states, less than an allocation's full
    result, so the workflow has each step store its result and pass on where it is.
    """

    result_key: str | None = Field(None, pattern=KEY_PATTERN, max_length=512)


class RunRequest(_Strict):
    """A run of the whole allocation engine: the five analysts, then the optimizer and plan.

    ``scenarios`` (a class setting) selects the scenario-based variant, which adds the
    allocation's robustness across the G2++ scenarios.
    """

    scenarios: ClassVar[bool] = False
    portfolio: PortfolioSource
    parameters: RunParameters = RunParameters()


class AllocationRequest(RunRequest):
    """The multi-manager allocation engine, as an AgentCore request."""

    entrypoint: Literal["allocation"] = "allocation"


class ScenarioAllocationRequest(RunRequest):
    """The scenario-based allocation engine, as an AgentCore request."""

    scenarios: ClassVar[bool] = True
    entrypoint: Literal["scenario_allocation"] = "scenario_allocation"


class AllocationEvent(RunRequest, _StoredResult):
    """The multi-manager allocation engine, as a Lambda event."""

    operation: Literal["multi_manager_allocation_engine"] = "multi_manager_allocation_engine"


class ScenarioAllocationEvent(RunRequest, _StoredResult):
    """The scenario-based allocation engine, as a Lambda event."""

    scenarios: ClassVar[bool] = True
    operation: Literal["scenario_based_allocation_engine"] = "scenario_based_allocation_engine"


class AgentRequest(_Strict):
    """One specialist agent on its own (``duration``, ``credit``, ``curve``, ...)."""

    entrypoint: Literal["agent"] = "agent"
    agent: str = Field(min_length=1, max_length=64)
    portfolio: PortfolioSource
    parameters: AgentParameters = AgentParameters()

    @field_validator("agent")
    @classmethod
    def _known_agent(cls, value: str) -> str:
        from fialloc.agents import AGENT_NAMES

        if value not in AGENT_NAMES:
            msg = f"unknown agent {value!r}; expected one of {', '.join(AGENT_NAMES)}"
            raise ValueError(msg)
        return value


class ManagerAnalysisRequest(_StoredResult):
    """One manager's holdings analytics and the desks' view of that manager."""

    operation: Literal["analyze_manager_portfolio"] = "analyze_manager_portfolio"
    portfolio: PortfolioSource
    manager_id: str = Field(min_length=1, max_length=128)
    parameters: MandateParameters = MandateParameters()


class LiabilityRequest(_StoredResult):
    """The liabilities' analytics: value, yield, durations, key-rate durations, gaps."""

    operation: Literal["process_liability_data"] = "process_liability_data"
    portfolio: PortfolioSource
    parameters: MandateParameters = MandateParameters()


#: The AgentCore app's requests, by their ``entrypoint``.
APP_REQUESTS: Final[dict[str, type[BaseModel]]] = {
    "allocation": AllocationRequest,
    "scenario_allocation": ScenarioAllocationRequest,
    "agent": AgentRequest,
}

#: The Lambda handler's events, by their ``operation`` (the Step Functions workflow's names).
LAMBDA_REQUESTS: Final[dict[str, type[BaseModel]]] = {
    "analyze_manager_portfolio": ManagerAnalysisRequest,
    "process_liability_data": LiabilityRequest,
    "multi_manager_allocation_engine": AllocationEvent,
    "scenario_based_allocation_engine": ScenarioAllocationEvent,
}

M = TypeVar("M", bound=BaseModel)


def parse_request(payload: object, kinds: dict[str, type[BaseModel]], key: str) -> BaseModel:
    """Validate a decoded JSON body as one of several request kinds.

    Parameters
    ----------
    payload : object
        The decoded body (a JSON object is expected).
    kinds : dict of str to model class
        Request models by the value of `key`: :data:`APP_REQUESTS` or :data:`LAMBDA_REQUESTS`.
    key : str
        The field naming the request kind (``"entrypoint"`` or ``"operation"``).

    Returns
    -------
    BaseModel
        The validated request.

    Raises
    ------
    RequestError
        Status 400, listing every problem found, each with its field path.
    """
    if not isinstance(payload, dict):
        problem = RequestProblem("", f"expected a JSON object, got {_json_type(payload)}")
        raise RequestError(400, "invalid request", [problem])
    kind = payload.get(key)
    if not isinstance(kind, str) or kind not in kinds:
        what = "missing" if kind is None else f"unknown {key} {str(kind)[:80]!r}"
        problem = RequestProblem(key, f"{what}; expected one of {', '.join(kinds)}")
        raise RequestError(400, "invalid request", [problem])
    return validate_model(kinds[kind], payload)


def validate_model(model: type[M], payload: dict[str, Any]) -> M:
    """Validate `payload` as `model`; a failure is a 400 :class:`RequestError` (all problems)."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = [RequestProblem(field_path(err["loc"]), err["msg"]) for err in exc.errors()]
        raise RequestError(400, "invalid request", problems) from None


def field_path(loc: Sequence[int | str]) -> str:
    """Format a pydantic error location as a field path: ``portfolio.tables.securities[3]``.

    The portfolio source's tag (which pydantic inserts after ``portfolio``) is left out, so
    paths name fields as they are written in the request.
    """
    out = ""
    for i, part in enumerate(loc):
        if i > 0 and loc[i - 1] == "portfolio" and part in _SOURCE_TAGS:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
