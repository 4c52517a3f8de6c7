"""An agent's tools: its desk's numbers, findings, recommendations and tables, as JSON.

A :class:`DeskSession` runs one desk once on a shared :class:`DeskContext` and serves its
result through strands tools. Every payload a tool returns is recorded, so the analysis the
model writes can be checked against exactly what it received
(:mod:`fialloc.agents.numbers_check`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from strands import tool
from strands.types.tools import AgentTool

from fialloc.agents.roles import Role
from fialloc.analytics.context import DeskContext
from fialloc.desks.result import DeskResult, json_value, to_records

__all__ = ["TOOL_KINDS", "DeskSession", "upstream_views"]

#: What each tool returns, by the suffix of its name (``duration_findings``...).
TOOL_KINDS = ("metrics", "findings", "recommendations", "table", "upstream")
_SEVERITY_RANK = {"action": 0, "watch": 1, "info": 2}
_MAX_ROWS = 200


def upstream_views(upstream: Mapping[str, DeskResult]) -> dict[str, Any]:
    """Combine other desks' recommendations per manager.

    Returns
    -------
    dict
        ``desks``: per desk, its moves (subject, action, weight_change as a decimal);
        ``agree``: managers every desk with a view moves the same way (``increase`` and
        ``decrease`` lists); ``conflicts``: managers desks move in opposite directions, with
        each desk's action.
    """
    moves: dict[str, dict[str, str]] = {}
    desks: dict[str, list[dict[str, Any]]] = {}
    for name, result in upstream.items():
        desks[name] = []
        for r in result.recommendations:
            if r.weight_change == 0.0:
                continue
            action = "increase" if r.weight_change > 0 else "decrease"
            desks[name].append(
                {"subject": r.subject, "action": action, "weight_change": r.weight_change}
            )
            moves.setdefault(r.subject, {})[name] = action
    agree: dict[str, list[str]] = {"increase": [], "decrease": []}
    conflicts: dict[str, dict[str, str]] = {}
    for subject in sorted(moves):
        actions = set(moves[subject].values())
        if len(actions) == 1:
            agree[actions.pop()].append(subject)
        else:
            conflicts[subject] = dict(sorted(moves[subject].items()))
    return {"desks": desks, "agree": agree, "conflicts": conflicts}


class DeskSession:
    """One desk run once for one agent, served as tools.

    Parameters
    ----------
    role : Role
        The agent's role (its desk and name).
    ctx : DeskContext
        The shared analytics (built once per request).
    upstream : mapping of str to DeskResult
        Results of the agents this one runs after (read through the ``upstream_views`` tool).
    """

    def __init__(
        self, role: Role, ctx: DeskContext, upstream: Mapping[str, DeskResult] | None = None
    ) -> None:
        self.role = role
        self.ctx = ctx
        self.upstream = dict(upstream or {})
        self.received: list[Any] = []
        self._result: DeskResult | None = None
        self._lock = threading.Lock()

    def result(self) -> DeskResult:
        """Return the desk's result, computed once (tools may run in parallel)."""
        with self._lock:
            if self._result is None:
                self._result = self.role.analyze(self.ctx)
            return self._result

    def _give(self, payload: dict[str, Any]) -> str:
        with self._lock:
            self.received.append(payload)
        return json.dumps(payload)

    def metrics(self) -> dict[str, Any]:
        """Return the desk's headline numbers and counts of what else it found."""
        r = self.result()
        counts = {s: sum(f.severity == s for f in r.findings) for s in _SEVERITY_RANK}
        managers = set(self.ctx.managers.index.astype(str))
        return {
            "desk": r.desk,
            "summary": {k: json_value(v) for k, v in r.summary.items()},
            "findings": counts,
            "recommendations": len(r.recommendations),
            "managers_concerned": sorted(
                {f.subject for f in r.findings if f.subject in managers}
                | {x.subject for x in r.recommendations if x.subject in managers}
            ),
            "tables": {name: len(t) for name, t in r.tables.items()},
        }

    def findings(self, severity: str = "all") -> dict[str, Any]:
        """Return the findings, most severe first, then by their first metric's size."""
        if severity not in ("all", *_SEVERITY_RANK):
            msg = f"severity must be all, action, watch or info, got {severity!r}"
            raise ValueError(msg)
        chosen = [f for f in self.result().findings if severity in ("all", f.severity)]
        chosen.sort(
            key=lambda f: (
                _SEVERITY_RANK[f.severity],
                -abs(next(iter(f.metrics.values()), 0.0)),
            )
        )
        return {"findings": [f.model_dump() for f in chosen], "count": len(chosen)}

    def recommendations(self) -> dict[str, Any]:
        """Return the recommendations, largest move first, with the totals moved (decimals)."""
        recs = sorted(self.result().recommendations, key=lambda r: -abs(r.weight_change))
        return {
            "recommendations": [r.model_dump() for r in recs],
            "count": len(recs),
            "total_increase": sum(r.weight_change for r in recs if r.weight_change > 0),
            "total_decrease": sum(r.weight_change for r in recs if r.weight_change < 0),
        }

    def table(self, name: str, limit: int = 25) -> dict[str, Any]:
        """Return rows of one of the desk's tables (at most `limit`, up to 200)."""
        tables = self.result().tables
        if name not in tables:
            msg = f"no table {name!r}; this desk has {sorted(tables)}"
            raise ValueError(msg)
        if not 1 <= limit <= _MAX_ROWS:
            msg = f"limit must be 1 to {_MAX_ROWS}, got {limit}"
            raise ValueError(msg)
        records = to_records(tables[name])
        return {"table": name, "rows": len(records), "records": records[:limit]}

    def upstream_views(self) -> dict[str, Any]:
        """Return the earlier desks' combined moves and this desk's view of the agreed ones.

        ``cross_check`` (when the role has one): per direction, per manager the earlier desks
        agree to move, the role's columns of its own table, the largest first.
        """
        views = upstream_views(self.upstream)
        check = self.role.cross_check
        table = self.result().tables.get(check.table) if check is not None else None
        if check is None or table is None:
            return views
        views["cross_check"] = {}
        for action, columns in (("increase", check.increase), ("decrease", check.decrease)):
            names = [c for c, _, _ in columns if c in table.columns]
            rows = table.loc[table.index.intersection(views["agree"][action]), names]
            if names:
                rows = rows.reindex(rows[names[0]].abs().sort_values(ascending=False).index)
            views["cross_check"][action] = {
                str(m): {c: json_value(v) for c, v in row.items()} for m, row in rows.iterrows()
            }
        return views

    def tools(self) -> list[AgentTool]:
        """Return this desk's strands tools (and ``upstream_views`` if it runs after others)."""
        d, title = self.role.name, self.role.title

        def metrics() -> str:
            return self._give(self.metrics())

        def findings(severity: str = "all") -> str:
            return self._give(self.findings(severity))

        def recommendations() -> str:
            return self._give(self.recommendations())

        def table(name: str, limit: int = 25) -> str:
            return self._give(self.table(name, limit))

        out: list[AgentTool] = [
            tool(
                name=f"{d}_metrics",
                description=f"Run the {title}'s analytics; return its headline numbers "
                "(summary), counts of findings by severity, the managers concerned and the "
                "tables available.",
            )(metrics),
            tool(
                name=f"{d}_findings",
                description=f"The {title}'s findings (code, severity, subject, message and the "
                "metrics it quotes), most severe first. severity: all, action, watch or info.",
            )(findings),
            tool(
                name=f"{d}_recommendations",
                description=f"The {title}'s recommended weight shifts per manager (decimals), "
                "largest first, with the rationale and the totals moved in and out.",
            )(recommendations),
            tool(
                name=f"{d}_table",
                description=f"Rows of one of the {title}'s tables by name (see {d}_metrics); "
                "limit: rows to return, 1 to 200.",
            )(table),
        ]
        if self.role.after:

            def upstream() -> str:
                return self._give(self.upstream_views())

            out.append(
                tool(
                    name="upstream_views",
                    description="The recommendations of the desks that ran before this one "
                    f"({', '.join(self.role.after)}), combined per manager: where they agree "
                    "and where they conflict, with this desk's own figures for the managers "
                    "they agree to move.",
                )(upstream)
            )
        return out
