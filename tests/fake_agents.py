"""A stand-in for ``fialloc.agents`` (branch ``agents``) with the contract's names.

The service tests use the real module when it is importable and this stand-in otherwise; either
way the calls the service makes are recorded so the tests can check what was asked for.
"""

from __future__ import annotations

import sys
import time
import types
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict

from fialloc import pipeline
from fialloc.analytics.context import DeskContext
from fialloc.desks import run_desks
from fialloc.results import build_response

AGENT_NAMES = ("duration", "credit", "curve", "liquidity", "performance")
Provider = Literal["offline", "bedrock", "anthropic", "openai", "ollama", "litellm", "llamacpp"]


class ModelConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Literal[
        "offline", "bedrock", "anthropic", "openai", "ollama", "litellm", "llamacpp"
    ] = "offline"
    model_id: str | None = None
    base_url: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelConfig:
        provider, _, rest = text.partition(":")
        if provider not in get_args(Provider):
            msg = f"unknown model provider {provider!r}"
            raise ValueError(msg)
        model_id, _, url = rest.partition("@")
        return cls(provider=provider, model_id=model_id or None, base_url=url or None)


class AgentResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    desk: dict[str, Any]
    analysis: str
    unverified_numbers: list[str]
    model: str
    fallback: str | None
    started: float
    finished: float


def run_agent(name: str, portfolio: Any, model: ModelConfig | None = None) -> AgentResult:
    started = time.perf_counter()
    desk = run_desks(DeskContext(portfolio))[name]
    text = "; ".join(f.message for f in desk.findings[:3])
    return AgentResult(
        name=name, desk=desk.to_dict(), analysis=text, unverified_numbers=[],
        model="offline", fallback=None, started=started, finished=time.perf_counter(),
    )  # fmt: skip


def run_workflow(
    portfolio: Any,
    *,
    model: ModelConfig | None = None,
    parallelism: int = 2,
    scenarios: bool = False,
    progress: Any = None,
    **run_kwargs: Any,
) -> types.SimpleNamespace:
    run = pipeline.run(portfolio, progress=progress, **run_kwargs)
    response = build_response(run, model="offline" if model is None else model.provider)
    return types.SimpleNamespace(run=run, agents={}, response=response)


def install(monkeypatch: Any) -> tuple[types.ModuleType, list[tuple[str, dict[str, Any]]]]:
    """Make ``fialloc.agents`` importable (real or stand-in) and record the service's calls."""
    try:
        import fialloc.agents as module
    except ModuleNotFoundError:
        module = sys.modules[__name__]
        monkeypatch.setitem(sys.modules, "fialloc.agents", module)
    calls: list[tuple[str, dict[str, Any]]] = []
    workflow, agent = module.run_workflow, module.run_agent

    def recorded_workflow(portfolio: Any, **kwargs: Any) -> Any:
        calls.append(("run_workflow", kwargs))
        return workflow(portfolio, **kwargs)

    def recorded_agent(name: str, portfolio: Any, model: Any = None) -> Any:
        calls.append(("run_agent", {"name": name, "model": model}))
        return agent(name, portfolio, model)

    monkeypatch.setattr(module, "run_workflow", recorded_workflow)
    monkeypatch.setattr(module, "run_agent", recorded_agent)
    return module, calls
