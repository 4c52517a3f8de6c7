"""The five agents (duration, credit, curve, liquidity, performance) and their workflow.

Each agent is a strands ``Agent`` whose tools are its desk; it returns a typed
:class:`AgentResult` (the desk's numbers plus a written analysis checked for invented figures).
The model is a setting (:class:`ModelConfig`): the offline deterministic analyst by default,
or Bedrock, Anthropic, OpenAI-compatible, Ollama, LiteLLM or llama.cpp through strands.
:func:`run_workflow` runs all five as a strands graph feeding the allocation pipeline.
"""

from __future__ import annotations

from fialloc.agents.agent import AgentResult, run_agent
from fialloc.agents.models import ModelConfig
from fialloc.agents.roles import AGENT_NAMES
from fialloc.agents.workflow import AgentsRun, WorkflowResult, run_agents, run_workflow

__all__ = [
    "AGENT_NAMES",
    "AgentResult",
    "AgentsRun",
    "ModelConfig",
    "WorkflowResult",
    "run_agent",
    "run_agents",
    "run_workflow",
]
