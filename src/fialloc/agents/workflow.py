"""The agents' workflow: a strands graph of the five agents feeding the allocation pipeline.

Duration runs first; Credit and Curve after it, in parallel; Liquidity after both; Performance
after all four; then an integration node combines the five desks' views per manager and hands
their results to the pipeline's optimizer and plan. Joins wait for every dependency (strands
graphs join on *any* incoming edge by default, which would run a node once per finished
dependency), so each agent runs exactly once. Typed results move through a store keyed by
agent, never through the text the graph passes between nodes. Each node wraps its agent rather
than being the bare strands Agent: strands graphs fail fast when a node's model raises, and the
node is where a failing model gives way to the offline analyst, where the parallelism bound is
held, and where the agent's start and finish are recorded.

:func:`run_workflow` runs the graph inside :func:`fialloc.pipeline.run` as its desk runner, on
the pipeline's own :class:`DeskContext`, so the analytics are computed once and the graph's
desk results are the run's.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from strands.agent.agent_result import AgentResult as StrandsResult
from strands.multiagent import GraphBuilder
from strands.multiagent.base import Status
from strands.multiagent.graph import Graph, GraphState
from strands.telemetry.metrics import EventLoopMetrics

from fialloc import pipeline
from fialloc.agents.agent import AgentResult, analyze_role, check_portfolio, resolve_model
from fialloc.agents.models import ModelConfig
from fialloc.agents.roles import AGENT_NAMES, ROLES
from fialloc.agents.tools import upstream_views
from fialloc.analytics.context import DeskContext
from fialloc.data import Portfolio
from fialloc.desks.result import DeskResult
from fialloc.mc_estimators import Z95
from fialloc.results import RunResponse, build_response, claim_text, path_claims

__all__ = ["INTEGRATION", "AgentsRun", "WorkflowResult", "run_agents", "run_workflow"]

#: The graph's last node.
INTEGRATION = "integration"


@dataclass(frozen=True)
class WorkflowResult:
    """One request through the agents' workflow.

    Attributes
    ----------
    run : RunResult
        The pipeline's run (its desks are the agents' desks).
    agents : dict of str to AgentResult
        Each agent's typed result.
    response : RunResponse
        The response, with each agent's analysis beside its desk and ``detailed_results
        ["agents"]`` (model, fallback, unverified numbers, start and finish).
    execution_order : tuple of str
        The graph's nodes in the order they completed.
    """

    run: pipeline.RunResult
    agents: dict[str, AgentResult]
    response: RunResponse
    execution_order: tuple[str, ...]


class _Store:
    """What the nodes of one request share: the context, the model and results by agent."""

    def __init__(self, ctx: DeskContext, config: ModelConfig, parallelism: int) -> None:
        self.ctx = ctx
        self.config = config
        self.slots = threading.BoundedSemaphore(parallelism)
        self.results: dict[str, AgentResult] = {}
        self.desks: dict[str, DeskResult] = {}
        self.combined: dict[str, Any] = {}
        self.model_failure: str | None = None
        self._lock = threading.Lock()

    def upstream(self, names: tuple[str, ...]) -> dict[str, DeskResult]:
        with self._lock:
            missing = [n for n in names if n not in self.desks]
            if missing:
                msg = f"workflow: agents {missing} have not finished"
                raise RuntimeError(msg)
            return {n: self.desks[n] for n in names}

    def record(self, result: AgentResult, desk: DeskResult) -> None:
        with self._lock:
            if result.name in self.results:
                msg = f"workflow: agent {result.name!r} ran twice"
                raise RuntimeError(msg)
            self.results[result.name] = result
            self.desks[result.name] = desk
            if result.fallback is not None and self.model_failure is None:
                self.model_failure = result.fallback


class _Node:
    """A graph node running blocking work in a thread (the strands ``AgentBase`` protocol)."""

    def __init__(self, name: str, work: Callable[[], AgentResult | dict[str, Any]]) -> None:
        self.name = name
        self._work = work

    async def stream_async(self, prompt: Any = None, **kwargs: Any) -> AsyncIterator[Any]:
        out = await asyncio.to_thread(self._work)
        typed = out if isinstance(out, AgentResult) else None
        text = out.analysis if isinstance(out, AgentResult) else str(out)
        yield {
            "result": StrandsResult(
                stop_reason="end_turn",
                message={"role": "assistant", "content": [{"text": text}]},
                metrics=EventLoopMetrics(),
                state={},
                structured_output=typed,
            )
        }

    async def invoke_async(self, prompt: Any = None, **kwargs: Any) -> StrandsResult:
        result: StrandsResult | None = None
        async for event in self.stream_async(prompt, **kwargs):
            result = event["result"]
        assert result is not None  # stream_async always yields one result
        return result

    def __call__(self, prompt: Any = None, **kwargs: Any) -> StrandsResult:
        return asyncio.run(self.invoke_async(prompt, **kwargs))


def _agent_work(name: str, store: _Store) -> Callable[[], AgentResult]:
    role = ROLES[name]

    def work() -> AgentResult:
        with store.slots:
            upstream = store.upstream(role.after)
            skip = None
            if store.model_failure is not None:
                skip = f"the configured model failed earlier in this request: {store.model_failure}"
            result, desk = analyze_role(role, store.ctx, store.config, upstream, skip)
        store.record(result, desk)
        return result

    return work


def _integration_work(store: _Store) -> Callable[[], dict[str, Any]]:
    def work() -> dict[str, Any]:
        store.combined = upstream_views(store.upstream(AGENT_NAMES))
        return store.combined

    return work


def _all_done(*deps: str) -> Callable[[GraphState], bool]:
    """Edge condition: traverse only once every dependency has completed (an AND-join)."""

    def condition(state: GraphState) -> bool:
        done = {n.node_id for n in state.completed_nodes}
        return all(d in done for d in deps)

    return condition


def _graph(store: _Store, timeout: float) -> Graph:
    b = GraphBuilder()
    for name in AGENT_NAMES:
        b.add_node(_Node(name, _agent_work(name, store)), name)
    b.add_node(_Node(INTEGRATION, _integration_work(store)), INTEGRATION)
    for name in AGENT_NAMES:
        deps = ROLES[name].after
        for dep in deps:
            b.add_edge(dep, name, condition=_all_done(*deps))
    for name in AGENT_NAMES:
        b.add_edge(name, INTEGRATION, condition=_all_done(*AGENT_NAMES))
    b.set_entry_point(AGENT_NAMES[0])
    b.set_max_node_executions(len(AGENT_NAMES) + 1)
    b.set_execution_timeout(timeout).set_node_timeout(timeout)
    return b.build()


def _robustness(run: pipeline.RunResult) -> dict[str, Any]:
    """Each allocation across the scenario paths at the last horizon, with 95% intervals."""
    paths = run.robustness.paths
    last = float(paths.index.get_level_values("horizon").max())
    at_last = paths.xs(last, level="horizon")
    n = int(run.parameters["n_paths"])
    te = run.robustness.tracking_error
    out: dict[str, Any] = {
        "horizon_years": last,
        "n_paths": n,
        "confidence_level": 0.95,
        "allocations": {},
    }
    for key, row in at_last.iterrows():
        name = str(key)
        p = float(row["shortfall_probability"])
        # The robustness table's standard error (control variates), clipped to [0, 1].
        half = Z95 * float(row["shortfall_probability_se"])
        es, es_half = (
            float(row["expected_shortfall_95"]),
            Z95 * float(row["expected_shortfall_95_se"]),
        )
        out["allocations"][name] = {
            "shortfall_probability": p,
            "shortfall_probability_low": max(p - half, 0.0),
            "shortfall_probability_high": min(p + half, 1.0),
            "expected_shortfall_95": es,
            "expected_shortfall_95_low": es - es_half,
            "expected_shortfall_95_high": es + es_half,
            "surplus_p05": float(row["p05"]),
            "surplus_median": float(row["median"]),
            "tracking_error": {str(k): float(v) for k, v in te.loc[[name]].iloc[0].items()}
            if name in te.index
            else {},
        }
    rec = out["allocations"]["recommended"]
    cur = out["allocations"]["current"]
    out["summary"] = (
        f"Across {n} scenario paths at {last:g} years, the recommended allocation falls short "
        f"of the liabilities with probability {rec['shortfall_probability']:.1%} (95% interval "
        f"{rec['shortfall_probability_low']:.1%} to {rec['shortfall_probability_high']:.1%}), "
        f"against {cur['shortfall_probability']:.1%} today; "
        + claim_text(path_claims(run, last), "shortfall_probability", "the change")
        + "."
    )
    return out


_RUN_KWARGS = frozenset(inspect.signature(pipeline.run).parameters) - {
    "portfolio",
    "progress",
    "desk_runner",
}


@dataclass(frozen=True)
class AgentsRun:
    """The five agents, run once each on one context by the graph.

    Attributes
    ----------
    agents : dict of str to AgentResult
        Each agent's typed result.
    desks : dict of str to DeskResult
        The desks' results the agents worked from (what the optimizer reads).
    execution_order : tuple of str
        The graph's nodes in the order they completed.
    combined_views : dict
        The integration node's view: the five desks' moves per manager, where they agree and
        where they conflict (see :func:`fialloc.agents.tools.upstream_views`).
    model_failure : str, optional
        Why the configured model was replaced by the offline analyst, if it was.
    started, elapsed : float
        ``time.perf_counter()`` when the graph started, and its seconds.
    """

    agents: dict[str, AgentResult]
    desks: dict[str, DeskResult]
    execution_order: tuple[str, ...]
    combined_views: dict[str, Any]
    model_failure: str | None
    started: float
    elapsed: float


def _check_limits(parallelism: object, timeout: object, where: str) -> float:
    if (
        isinstance(parallelism, bool)
        or not isinstance(parallelism, int)
        or not 1 <= parallelism <= 5
    ):
        msg = f"{where}: parallelism must be an integer from 1 to 5, got {parallelism!r}"
        raise ValueError(msg)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 1 <= timeout <= 86_400
    ):
        msg = f"{where}: timeout must be 1 to 86,400 seconds, got {timeout!r}"
        raise ValueError(msg)
    return float(timeout)


def run_agents(
    ctx: DeskContext,
    *,
    model: ModelConfig | str | None = None,
    parallelism: int = 2,
    timeout: float = 900.0,
) -> AgentsRun:
    """Run the five agents' graph on one context (no optimizer: see :func:`run_workflow`).

    Parameters
    ----------
    ctx : DeskContext
        The analytics every agent shares.
    model : ModelConfig or str, optional
        The model the agents write with (default: the offline analyst).
    parallelism : int
        Agents that may run at once (1 to 5).
    timeout : float
        Seconds the graph, and each agent, may take.

    Raises
    ------
    ValueError
        For a bad context, model, parallelism or timeout.
    RuntimeError
        If the graph does not complete every node exactly once.
    """
    given: object = ctx
    if not isinstance(given, DeskContext):
        msg = f"run_agents: ctx must be a DeskContext, got {type(given).__name__}"
        raise ValueError(msg)
    seconds = _check_limits(parallelism, timeout, "run_agents")
    store = _Store(ctx, resolve_model(model), parallelism)
    started = time.perf_counter()
    result = _graph(store, seconds)("Allocate the general account across its managers")
    elapsed = time.perf_counter() - started
    order = tuple(n.node_id for n in result.execution_order)
    if result.status != Status.COMPLETED or sorted(order) != sorted((*AGENT_NAMES, INTEGRATION)):
        msg = f"run_agents: the graph ended {result.status} after {list(order)}"
        raise RuntimeError(msg)
    return AgentsRun(
        agents={n: store.results[n] for n in AGENT_NAMES},
        desks={n: store.desks[n] for n in AGENT_NAMES},
        execution_order=order,
        combined_views=store.combined,
        model_failure=store.model_failure,
        started=started,
        elapsed=elapsed,
    )


def _agents_detail(graph: AgentsRun, parallelism: int, label: str) -> dict[str, Any]:
    """Return the graph's order, settings, combined views and each agent's result and clock."""
    return {
        "execution_order": list(graph.execution_order),
        "parallelism": parallelism,
        "model": label,
        "combined_views": graph.combined_views,
        **{
            name: {
                **r.model_dump(exclude={"desk", "started", "finished"}),
                # Seconds since the graph started.
                "started": r.started - graph.started,
                "finished": r.finished - graph.started,
            }
            for name, r in graph.agents.items()
        },
    }


def _agent_timings(graph: AgentsRun) -> dict[str, float]:
    """Return the graph's seconds, each agent's, and when each started and finished."""
    agents = graph.agents
    return {
        "agents": graph.elapsed,
        **{f"agent_{n}": r.finished - r.started for n, r in agents.items()},
        # Seconds since the graph started: when each agent started and finished.
        **{f"agent_{n}_start": r.started - graph.started for n, r in agents.items()},
        **{f"agent_{n}_finish": r.finished - graph.started for n, r in agents.items()},
    }


def run_workflow(
    portfolio: Portfolio,
    *,
    model: ModelConfig | str | None = None,
    parallelism: int = 2,
    scenarios: bool = False,
    progress: Callable[[str], None] | None = None,
    timeout: float = 900.0,
    **run_kwargs: Any,
) -> WorkflowResult:
    """Run the five agents and the allocation pipeline on one request.

    Parameters
    ----------
    portfolio : Portfolio
        Validated inputs.
    model : ModelConfig or str, optional
        The model the agents write with (default: the offline analyst).
    parallelism : int
        Agents that may run at once (1 to 5; Credit and Curve are the pair that can).
    scenarios : bool
        The scenario-based variant: add the allocations' robustness across the G2++ paths
        (shortfall probability with its 95% interval, expected shortfall at 95%, surplus
        quantiles, tracking error) to ``integrated_strategy["robustness"]``.
    progress : callable, optional
        Called with each stage's name as it starts (:data:`fialloc.pipeline.STAGES`, plus
        ``agents`` when the graph starts inside the ``desks`` stage).
    timeout : float
        Seconds the graph, and each agent, may take.
    **run_kwargs
        :func:`fialloc.pipeline.run`'s parameters (``n_paths``, ``scenario_seed``,
        ``covariance``...).

    Raises
    ------
    ValueError
        For a bad portfolio, model, parallelism, timeout or pipeline parameter.
    """
    check_portfolio(portfolio, "run_workflow")
    _check_limits(parallelism, timeout, "run_workflow")
    unknown = sorted(set(run_kwargs) - _RUN_KWARGS)
    if unknown:
        msg = f"run_workflow: unknown pipeline parameters {unknown}; use {sorted(_RUN_KWARGS)}"
        raise ValueError(msg)
    config = resolve_model(model)
    done: list[AgentsRun] = []

    def desk_runner(ctx: DeskContext) -> dict[str, DeskResult]:
        done.append(run_agents(ctx, model=config, parallelism=parallelism, timeout=timeout))
        return done[0].desks

    def stages(name: str) -> None:
        # The desks run in the background from the analytics on (see pipeline.run): the
        # agents are announced with the desks' stage, from this thread, in stage order.
        if progress is not None:
            progress(name)
            if name == "desks":
                progress("agents")

    run = pipeline.run(portfolio, progress=stages, desk_runner=desk_runner, **run_kwargs)
    graph = done[0]
    agents = graph.agents
    models = sorted({r.model for r in agents.values()})
    label = models[0] if len(models) == 1 else " + ".join(models)
    response = build_response(run, analyses={n: r.analysis for n, r in agents.items()}, model=label)
    detailed = dict(response.detailed_results)
    detailed["agents"] = _agents_detail(graph, parallelism, label)
    strategy = dict(response.integrated_strategy)
    strategy["unverified_numbers"] = {n: r.unverified_numbers for n, r in agents.items()}
    strategy["model_fallback"] = graph.model_failure
    if scenarios:
        strategy["robustness"] = _robustness(run)
    timings = {**response.timings, **_agent_timings(graph)}
    response = response.model_copy(
        update={"detailed_results": detailed, "integrated_strategy": strategy, "timings": timings}
    )
    # model_copy does not validate: check the updated response against the schema once.
    checked = RunResponse.model_validate(response.model_dump())
    return WorkflowResult(run, agents, checked, graph.execution_order)
