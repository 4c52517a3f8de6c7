"""Dispatch a validated request to the engine and answer with JSON-ready results.

The allocation engines go through the agents' workflow (:func:`fialloc.agents.run_workflow`),
a single agent through :func:`fialloc.agents.run_agent`; the Lambda operations that feed the
Step Functions workflow (one manager's analytics, the liabilities') read the desks directly.
:func:`respond` wraps everything in the service's error policy: every refusal is a status and
a JSON body listing the problems, and nothing escapes as a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from pydantic import BaseModel

from fialloc.analytics.context import DeskContext
from fialloc.desks import duration, run_desks
from fialloc.desks.result import json_value, to_records
from fialloc.service.requests import (
    AgentRequest,
    LiabilityRequest,
    ManagerAnalysisRequest,
    RequestError,
    RequestProblem,
    RunRequest,
    parse_request,
)
from fialloc.service.runner import Runner
from fialloc.service.settings import ServiceSettings, check_request
from fialloc.service.sources import load_portfolio

__all__ = ["execute", "respond"]

logger = logging.getLogger("fialloc.service")


def execute(request: BaseModel, settings: ServiceSettings) -> dict[str, Any]:
    """Run one validated request and return its JSON-ready result.

    Parameters
    ----------
    request : BaseModel
        One of the models of :mod:`fialloc.service.requests`.
    settings : ServiceSettings
        Limits and the data root.

    Returns
    -------
    dict
        For the allocation engines, the :class:`fialloc.results.RunResponse` JSON; for a
        single agent, its ``AgentResult``; for the Lambda analytics operations, their tables.

    Raises
    ------
    RequestError
        400/413 for problems with the request or its data, 422 when the engine refuses
        the inputs (an infeasible mandate, say).
    """
    if not isinstance(
        request, (RunRequest, AgentRequest, ManagerAnalysisRequest, LiabilityRequest)
    ):
        msg = f"execute: no engine for {type(request).__name__}"
        raise TypeError(msg)
    params = request.parameters
    check_request(request.portfolio, params, settings)
    portfolio = load_portfolio(request.portfolio, params.mandate, settings)
    try:
        if isinstance(request, (RunRequest, AgentRequest)):
            model = _model(request.parameters.model or settings.default_model)
            if isinstance(request, RunRequest):
                return _allocation(request, portfolio, model)
            return _agent(request, portfolio, model)
        ctx = DeskContext(portfolio)
        if isinstance(request, ManagerAnalysisRequest):
            return manager_analysis(ctx, request.manager_id)
        return liability_analysis(ctx)
    except RequestError:
        raise
    except ValueError as exc:
        raise RequestError(422, f"the engine refused the inputs: {exc}") from None


def respond(
    payload: object,
    kinds: dict[str, type[BaseModel]],
    key: str,
    settings: ServiceSettings,
    runner: Runner | None = None,
) -> tuple[int, dict[str, Any]]:
    """Validate and run a decoded request body; always return ``(HTTP status, JSON body)``.

    Parameters
    ----------
    payload : object
        The decoded JSON body.
    kinds, key : dict and str
        The request kinds and the field that selects one (see
        :func:`fialloc.service.requests.parse_request`).
    settings : ServiceSettings
        Limits and the data root.
    runner : Runner, optional
        Runs the engine with a time limit and a bound on concurrent requests; without one
        the engine runs in the calling thread.
    """
    try:
        request = parse_request(payload, kinds, key)
        if runner is None:
            return 200, execute(request, settings)
        return 200, runner.run(execute, request, settings)
    except RequestError as exc:
        return exc.status, exc.body()
    except Exception as exc:  # the last line of defence: a JSON answer, never a traceback
        logger.exception("request failed")
        return 500, {
            "error": f"internal error ({type(exc).__name__}): {exc}",
            "problems": [],
        }


def _model(text: str | None) -> Any:
    """Parse a model setting (None: the offline analyst)."""
    from fialloc.agents import ModelConfig

    return None if text is None else ModelConfig.parse(text)


def _allocation(request: RunRequest, portfolio: Any, model: Any) -> dict[str, Any]:
    from fialloc.agents import run_workflow

    p = request.parameters
    workflow = run_workflow(
        portfolio,
        model=model,
        scenarios=request.scenarios,
        n_paths=p.n_paths,
        scenario_seed=p.scenario_seed,
        horizons=p.horizons,
        phases=p.phases,
        phase_days=p.phase_days,
        covariance=p.covariance,
    )
    result: dict[str, Any] = workflow.response.model_dump(mode="json")
    return result


def _agent(request: AgentRequest, portfolio: Any, model: Any) -> dict[str, Any]:
    from fialloc.agents import run_agent

    result: dict[str, Any] = run_agent(request.agent, portfolio, model).model_dump(mode="json")
    return result


def manager_analysis(ctx: DeskContext, manager_id: str) -> dict[str, Any]:
    """One manager's sleeve: holdings with their analytics, and what each desk says of it.

    Parameters
    ----------
    ctx : DeskContext
        The portfolio and its analytics.
    manager_id : str
        The manager.

    Returns
    -------
    dict
        ``manager`` (market value in money, weight, yield and spread as decimals, durations
        and key-rate durations in years), ``holdings`` (per security: the manager's face and
        ``holding_value`` in money, its ``share`` of the sleeve, and the security's analytics,
        whose ``market_value`` is the whole position across managers) and ``desks`` (per desk: the
        findings and recommendations about the manager, and the manager's row of each
        per-manager table).

    Raises
    ------
    RequestError
        400 if the portfolio has no such manager.
    """
    p = ctx.portfolio
    if manager_id not in p.managers.index:
        problem = f"no manager {manager_id!r} in the portfolio"
        raise RequestError(400, "invalid request", [RequestProblem("manager_id", problem)])
    face = p.face.loc[[manager_id]].iloc[0]
    held = face.index[face.to_numpy() > 0].intersection(ctx.securities.index)
    holdings = ctx.securities.loc[held].copy()
    holdings.insert(0, "face", face.reindex(held).to_numpy())
    value = p.market_values.loc[[manager_id]].iloc[0].reindex(held)
    holdings.insert(1, "holding_value", value.to_numpy())
    holdings.insert(2, "share", p.sleeve_weights.loc[[manager_id]].iloc[0].reindex(held).to_numpy())
    holdings.index.name = "security_id"
    desks = {
        name: {
            "findings": [f.model_dump() for f in desk.findings if f.subject == manager_id],
            "recommendations": [
                r.model_dump() for r in desk.recommendations if r.subject == manager_id
            ],
            "tables": {
                table_name: rows
                for table_name, table in desk.tables.items()
                if (rows := _manager_rows(table, manager_id))
            },
        }
        for name, desk in run_desks(ctx).items()
    }
    manager = ctx.managers.loc[manager_id]
    return {
        "valuation_date": p.valuation_date.isoformat(),
        "manager_id": manager_id,
        "manager": {str(k): json_value(v) for k, v in manager.items()},
        "holdings": to_records(holdings),
        "desks": desks,
    }


def _manager_rows(table: pd.DataFrame, manager_id: str) -> list[dict[str, Any]]:
    # Per-manager tables are indexed by manager id (some by manager and window, some without
    # naming their index).
    index = table.index
    if index.nlevels > 1 and "manager_id" in index.names:
        return to_records(table[index.get_level_values("manager_id") == manager_id])
    if index.nlevels == 1 and index.name in ("manager_id", None) and manager_id in index:
        return to_records(table.loc[index == manager_id].rename_axis("manager_id"))
    if "manager_id" in table.columns:
        return to_records(table[table["manager_id"] == manager_id])
    return []


def liability_analysis(ctx: DeskContext) -> dict[str, Any]:
    """Return the liabilities' analytics, cash-flow profile and the assets' key-rate gaps.

    Returns
    -------
    dict
        ``analytics`` (market value in money, yield as a decimal, durations and key-rate
        durations in years, DV01 in money per basis point), ``cash_flows_by_year`` (money
        due in each year from the valuation date) and ``key_rate_gaps`` (the duration
        desk's table: assets against liabilities scaled to assets, years).
    """
    p = ctx.portfolio
    lia = p.liability_flows
    years = ((pd.to_datetime(lia["date"]) - pd.Timestamp(p.valuation_date)).dt.days - 1) // 365
    by_year = lia["amount"].astype(float).groupby(years.to_numpy() + 1).sum()
    return {
        "valuation_date": p.valuation_date.isoformat(),
        "analytics": {str(k): json_value(v) for k, v in ctx.liabilities.iloc[0].items()},
        "cash_flows_by_year": [
            {"year": int(y), "amount": float(v)}
            for y, v in zip(by_year.index.to_numpy(), by_year.to_numpy(), strict=True)
        ],
        "key_rate_gaps": to_records(duration.analyze(ctx).tables["krd_gaps"]),
    }
