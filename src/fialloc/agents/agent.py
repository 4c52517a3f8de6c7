"""One agent: a strands Agent whose tools are its desk, and its typed result.

The result's numbers are the desk's (:class:`fialloc.desks.DeskResult`), never read back from
the model's text; the model only writes the analysis, which is checked against the tool results
it received. A configured model that fails (missing extra, unreachable server, error mid-run)
is replaced by the offline analyst, and the result says why.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from strands import Agent
from strands.models import Model

from fialloc.agents.models import ModelConfig, make_model
from fialloc.agents.numbers_check import unverified_numbers
from fialloc.agents.offline import OfflineAnalyst
from fialloc.agents.roles import AGENT_NAMES, ROLES, Role
from fialloc.agents.tools import DeskSession
from fialloc.analytics.context import DeskContext
from fialloc.data import Portfolio
from fialloc.desks.result import DeskResult

__all__ = ["AgentResult", "analyze_role", "check_portfolio", "resolve_model", "run_agent"]

_FALLBACK_CHARS = 400


class AgentResult(BaseModel):
    """What one agent returns.

    Attributes
    ----------
    name : str
        The agent (one of :data:`fialloc.agents.AGENT_NAMES`).
    desk : dict
        The desk's result as :meth:`fialloc.desks.DeskResult.to_dict` (the engine's numbers).
    analysis : str
        The written analysis.
    unverified_numbers : list of str
        Numbers quoted in `analysis` that no tool result it received supports.
    model : str
        What wrote the analysis (``offline`` or ``provider:model``).
    fallback : str, optional
        Why the offline analyst wrote it instead of the configured model.
    tools_called : int
        Tool results the writer received.
    started, finished : float
        ``time.perf_counter()`` seconds.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    desk: dict[str, Any]
    analysis: str
    unverified_numbers: list[str] = Field(default_factory=list)
    model: str
    fallback: str | None = None
    tools_called: int = 0
    started: float
    finished: float


def check_portfolio(value: object, where: str) -> Portfolio:
    """Return `value` if it is a :class:`Portfolio`, else raise ValueError naming `where`."""
    if not isinstance(value, Portfolio):
        msg = f"{where}: portfolio must be a fialloc Portfolio, got {type(value).__name__}"
        raise ValueError(msg)
    return value


def resolve_model(model: object) -> ModelConfig:
    """Accept a :class:`ModelConfig`, its text form (see :meth:`ModelConfig.parse`) or None."""
    if model is None:
        return ModelConfig()
    if isinstance(model, str):
        return ModelConfig.parse(model)
    if not isinstance(model, ModelConfig):
        msg = (
            "model must be a ModelConfig, a string like 'ollama:llama3.1' or None, "
            f"got {type(model).__name__}"
        )
        raise ValueError(msg)
    return model


def _converse(role: Role, session: DeskSession, model: Model) -> str:
    tools: list[Any] = session.tools()
    agent = Agent(
        model=model,
        tools=tools,
        system_prompt=role.system_prompt,
        callback_handler=None,
        name=role.title,
    )
    prompt = (
        f"As the {role.title}, analyse the portfolio against its liabilities and mandate for "
        "the investment committee. Call your tools first."
    )
    return str(agent(prompt)).strip()


def analyze_role(
    role: Role,
    ctx: DeskContext,
    config: ModelConfig,
    upstream: Mapping[str, DeskResult] | None = None,
    skip_model: str | None = None,
) -> tuple[AgentResult, DeskResult]:
    """Run one agent on a shared context.

    Parameters
    ----------
    role : Role
        The agent.
    ctx : DeskContext
        The analytics, computed once per request.
    config : ModelConfig
        The model to write with; the offline analyst when it is ``offline`` or fails.
    upstream : mapping of str to DeskResult, optional
        Results of the desks this agent runs after.
    skip_model : str, optional
        Reason not to try the configured model at all (it already failed in this request);
        recorded as the fallback.

    Returns
    -------
    (AgentResult, DeskResult)
        The typed result and the desk result itself (for the optimizer).
    """
    started = time.perf_counter()
    session = DeskSession(role, ctx, upstream)
    desk = session.result()  # the engine first: a desk error is the request's, not the model's
    text: str | None = None
    label, fallback = "offline", skip_model
    if config.provider != "offline" and skip_model is None:
        try:
            text = _converse(role, session, make_model(config))
            if not text:
                msg = "the model returned no text"
                raise ValueError(msg)
            label = config.label
        except Exception as exc:  # any provider failure: the offline analyst takes over
            reason = f"{config.label} failed: {type(exc).__name__}: {exc}"
            fallback = reason[:_FALLBACK_CHARS]
            text = None
            session.received.clear()
    if text is None:
        text = _converse(role, session, OfflineAnalyst(role))
    result = AgentResult(
        name=role.name,
        desk=desk.to_dict(),
        analysis=text,
        unverified_numbers=unverified_numbers(text, session.received),
        model=label,
        fallback=fallback,
        tools_called=len(session.received),
        started=started,
        finished=time.perf_counter(),
    )
    return result, desk


def run_agent(
    name: str, portfolio: Portfolio, model: ModelConfig | str | None = None
) -> AgentResult:
    """Run one agent on a portfolio.

    The desks it normally runs after are computed directly (without their agents), so its
    ``upstream_views`` tool sees their recommendations.

    Parameters
    ----------
    name : str
        One of :data:`fialloc.agents.AGENT_NAMES`.
    portfolio : Portfolio
        Validated inputs.
    model : ModelConfig or str, optional
        The model (default: the offline analyst).

    Raises
    ------
    ValueError
        For an unknown agent, a portfolio that is not a :class:`Portfolio` or a bad model.
    """
    if name not in AGENT_NAMES:
        msg = f"run_agent: unknown agent {name!r}; use one of {AGENT_NAMES}"
        raise ValueError(msg)
    check_portfolio(portfolio, "run_agent")
    config = resolve_model(model)
    ctx = DeskContext(portfolio)
    role = ROLES[name]
    upstream = {d: ROLES[d].analyze(ctx) for d in role.after}
    return analyze_role(role, ctx, config, upstream)[0]
