"""The offline analyst: a deterministic strands model that calls a desk's tools, then writes.

It needs no network and no weights. On its first turn it calls the desk's ``metrics``,
``findings`` and ``recommendations`` tools (and ``upstream_views`` when the agent has it) in one
message; on the next it writes the analysis from what they returned
(:func:`fialloc.agents.analyst.write_analysis`). Being a real :class:`strands.models.Model`, it
runs through the same agent loop, tools and graph as any provider.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterable
from typing import Any, TypeVar

from pydantic import BaseModel
from strands.models import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

from fialloc.agents.analyst import write_analysis
from fialloc.agents.roles import Role

__all__ = ["OfflineAnalyst", "latest_tool_results"]

T = TypeVar("T", bound=BaseModel)
_CALLED = ("metrics", "findings", "recommendations")


def latest_tool_results(messages: Messages) -> tuple[dict[str, Any], int]:
    """Tool results since the latest prompt, by tool name, and the model turns taken since.

    The prompt is the latest user message carrying text (tool results come back as user
    messages with only ``toolResult`` blocks).
    """
    start = 0
    for i, m in enumerate(messages):
        if m["role"] == "user" and any("text" in b for b in m["content"]):
            start = i
    names: dict[str, str] = {}
    results: dict[str, Any] = {}
    turns = 0
    for m in messages[start + 1 :]:
        if m["role"] == "assistant":
            turns += 1
        for block in m["content"]:
            if "toolUse" in block:
                names[block["toolUse"]["toolUseId"]] = block["toolUse"]["name"]
            if "toolResult" in block:
                tr = block["toolResult"]
                for c in tr["content"]:
                    value: Any = c.get("json")
                    if "text" in c:
                        try:
                            value = json.loads(c["text"])
                        except ValueError:
                            value = c["text"]
                    results[names.get(tr["toolUseId"], tr["toolUseId"])] = value
    return results, turns


class OfflineAnalyst(Model):
    """Deterministic model for one agent role.

    Parameters
    ----------
    role : Role
        The role whose tools it calls and whose analysis it writes.
    """

    def __init__(self, role: Role) -> None:
        self.role = role
        self.config: dict[str, Any] = {"model_id": "offline", "role": role.name}

    def update_config(self, **model_config: Any) -> None:
        """Update the configuration (kept for the strands interface; nothing reads it)."""
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        """Return the configuration."""
        return self.config

    async def structured_output(
        self,
        output_model: type[T],
        prompt: Messages,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[dict[str, T | Any], None]:
        """Refuse: fialloc builds typed results from the tool results, never from model text.

        Raises
        ------
        ValueError
            Always; use :func:`fialloc.agents.run_agent`.
        """
        msg = (
            "OfflineAnalyst writes text analyses; typed results are built from the engine's "
            "tool results by fialloc.agents.run_agent"
        )
        raise ValueError(msg)
        yield {}  # type: ignore[unreachable]  # makes this an async generator, as strands expects

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncIterable[StreamEvent]:
        """Call the desk's tools on the first turn, write the analysis on the next."""
        results, turns = latest_tool_results(messages)
        available = [s["name"] for s in tool_specs or []]
        wanted = [f"{self.role.name}_{k}" for k in _CALLED] + ["upstream_views"]
        calls = [n for n in wanted if n in available]
        yield {"messageStart": {"role": "assistant"}}
        if turns == 0 and calls:
            for k, name in enumerate(calls):
                yield {
                    "contentBlockStart": {
                        "start": {"toolUse": {"toolUseId": f"offline-{k}", "name": name}}
                    }
                }
                yield {"contentBlockDelta": {"delta": {"toolUse": {"input": "{}"}}}}
                yield {"contentBlockStop": {}}
            yield {"messageStop": {"stopReason": "tool_use"}}
            return
        by_kind = {
            ("upstream" if name == "upstream_views" else name.rsplit("_", 1)[-1]): value
            for name, value in results.items()
            if isinstance(value, dict)
        }
        yield {"contentBlockStart": {"start": {}}}
        yield {"contentBlockDelta": {"delta": {"text": write_analysis(self.role, by_kind)}}}
        yield {"contentBlockStop": {}}
        yield {"messageStop": {"stopReason": "end_turn"}}
