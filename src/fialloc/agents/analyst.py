"""The offline analyst's writing: a desk's analysis in words, from its tool results only.

Deterministic text with real content: the headline numbers, the most severe findings in the
engine's own sentences, the managers concerned, the recommended shifts and why, and for agents
that run after others, where the desks agree and where they conflict. Every number is written
from a tool result in a format :mod:`fialloc.agents.numbers_check` recognizes (percent of a
decimal, basis points, years, billions/millions), so the analyst passes its own guard.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fialloc.agents.roles import Role

__all__ = ["write_analysis"]

_TOP_FINDINGS = 4
_TOP_MOVES = 5
_TOP_UPSTREAM = 8


def _format(value: float, kind: str) -> str:
    if kind == "pct":
        return f"{value:.2%}" if abs(value) < 0.1 else f"{value:.1%}"
    if kind == "bp":
        return f"{value:.1f} bp"
    if kind == "years":
        return f"{value:.2f} years"
    if kind == "count":
        return f"{value:.0f}"
    if kind == "days":
        return f"{value:.1f} days"
    if kind == "money":
        return f"{value / 1e9:.2f}B" if abs(value) >= 1e9 else f"{value / 1e6:.2f}M"
    return f"{value:.2f}"


def _names(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _headline(role: Role, metrics: Mapping[str, Any]) -> str:
    summary = {k: v for k, v in metrics.get("summary", {}).items() if isinstance(v, (int, float))}
    labelled = [(k, *role.summary_labels[k]) for k in role.summary_labels if k in summary]
    if not labelled:  # a desk whose summary this role has no labels for yet
        labelled = [(k, k.replace("_", " "), "num") for k in list(summary)[:4]]
    parts = [f"{label} {_format(float(summary[k]), kind)}" for k, label, kind in labelled]
    return f"{role.title}: " + "; ".join(parts) + "." if parts else f"{role.title}."


def _findings(metrics: Mapping[str, Any], findings: Mapping[str, Any]) -> str:
    listed = findings.get("findings", [])
    if not listed:
        return "No finding crosses the mandate's thresholds."
    counts = metrics.get("findings", {})
    severity = ", ".join(
        f"{counts[s]} {word}"
        for s, word in (
            ("action", "call for action"),
            ("watch", "to watch"),
            ("info", "for information"),
        )
        if counts.get(s)
    )
    lines = [f"Findings ({severity})." if severity else "Findings."]
    lines += [f"{f['message']}." for f in listed[:_TOP_FINDINGS]]
    if len(listed) > _TOP_FINDINGS:
        lines.append("The desk lists the others.")
    by_code: dict[str, list[str]] = {}
    concerned = set(metrics.get("managers_concerned", []))
    for f in listed:
        if f["subject"] in concerned:
            by_code.setdefault(f["code"].replace("_", " "), []).append(f["subject"])
    if by_code:
        lines.append(
            "Managers concerned: "
            + "; ".join(f"{_names(sorted(set(m)))} ({code})" for code, m in by_code.items())
            + "."
        )
    return " ".join(lines)


def _moves(recommendations: Mapping[str, Any]) -> str:
    recs = recommendations.get("recommendations", [])
    if not recs:
        return "This desk proposes no weight shift."
    parts = []
    for action in ("increase", "decrease"):
        chosen = [r for r in recs if r["action"] == action and r["weight_change"] != 0.0]
        if chosen:
            shown = ", ".join(
                f"{r['subject']} ({r['weight_change']:+.1%})" for r in chosen[:_TOP_MOVES]
            )
            more = " and others" if len(chosen) > _TOP_MOVES else ""
            parts.append(f"{action} {shown}{more}")
    why: list[str] = []
    for r in recs[: 2 * _TOP_MOVES]:
        if r["rationale"] not in why:
            why.append(r["rationale"])
    total_in = recommendations.get("total_increase", 0.0)
    total_out = recommendations.get("total_decrease", 0.0)
    return (
        "Recommended shifts: "
        + "; ".join(parts)
        + f" ({total_in:.1%} of assets in, {abs(total_out):.1%} out). Why: "
        + "; ".join(why[:3])
        + "."
    )


def _cross_check(role: Role, checks: Mapping[str, Any]) -> str:
    check = role.cross_check
    if check is None:
        return ""
    parts = []
    for action, columns in (("increase", check.increase), ("decrease", check.decrease)):
        rows = list(checks.get(action, {}).items())[:_TOP_MOVES]
        shown = []
        for manager, values in rows:
            figures = [
                f"{label} {_format(float(values[c]), kind)}"
                for c, label, kind in columns
                if isinstance(values.get(c), (int, float))
            ]
            if figures:
                shown.append(f"{manager} ({', '.join(figures)})")
        if shown:
            parts.append(f"{check.lead[action]}: {', '.join(shown)}")
    return " " + "; ".join(parts) + "." if parts else ""


def _upstream(role: Role, upstream: Mapping[str, Any]) -> str:
    desks = sorted(d for d, moves in upstream.get("desks", {}).items() if moves)
    if not desks:
        return "The desks before this one propose no shifts to reconcile."
    agree = upstream.get("agree", {})
    conflicts = upstream.get("conflicts", {})
    who = f"the {desks[0]} desk would" if len(desks) == 1 else f"the {_names(desks)} desks agree to"
    parts = []
    for action in ("increase", "decrease"):
        managers = agree.get(action, [])
        if managers:
            more = " and others" if len(managers) > _TOP_UPSTREAM else ""
            parts.append(f"{action} {', '.join(managers[:_TOP_UPSTREAM])}{more}")
    text = f"Earlier desks: {who} " + "; ".join(parts) + "." if parts else "Earlier desks:"
    if conflicts:
        text += (
            " They conflict on "
            + "; ".join(
                f"{m} ({', '.join(f'{d} {a}' for d, a in views.items())})"
                for m, views in list(conflicts.items())[:_TOP_UPSTREAM]
            )
            + "."
        )
    return text + _cross_check(role, upstream.get("cross_check", {}))


def write_analysis(role: Role, results: Mapping[str, Any]) -> str:
    """Write a desk's analysis from its tool results.

    Parameters
    ----------
    role : Role
        The agent's role (its title and the summary numbers it leads with).
    results : mapping
        Tool results by kind: ``metrics``, ``findings``, ``recommendations`` and, for agents
        that run after others, ``upstream`` (see :class:`fialloc.agents.tools.DeskSession`).
    """
    metrics = results.get("metrics") or {}
    paragraphs = [
        _headline(role, metrics),
        _findings(metrics, results.get("findings") or {}),
        _moves(results.get("recommendations") or {}),
    ]
    if "upstream" in results:
        paragraphs.append(_upstream(role, results["upstream"]))
    return "\n\n".join(paragraphs)
