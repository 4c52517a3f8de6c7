"""The investment committee report: one self-contained HTML file per run.

:func:`render` turns a stored run (its ``results.json``, Parquet tables and manifest) or a bare
:class:`~fialloc.results.RunResponse` into HTML with interactive plotly charts. The plotly.js
bundle is inlined and no fonts or scripts are fetched, so the file works offline and can be
sent as it is. Rendering reads only stored results, so ``fialloc report RUN`` gives the same
file the run wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

import jinja2
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from fialloc import formatting
from fialloc.mc_estimators import Z95
from fialloc.report import charts
from fialloc.results import CLAIMED, RunResponse, claim_text
from fialloc.store import StoredRun, read_run

__all__ = ["render", "render_stored"]

#: Finding codes that flag a manager's skill or drift.
MANAGER_FLAGS: Final = ("skill", "alpha", "beta", "drift")
PLOT_CONFIG: Final = {"displaylogo": False, "responsive": True}


def render(source: RunResponse | StoredRun | str | Path, root: str | None = None) -> str:
    """Render the report of a run as one self-contained HTML page.

    Parameters
    ----------
    source : RunResponse, StoredRun, str or Path
        A response (charts that need the stored tables and the run's inputs section are then
        marked not available), a stored run, or a run folder / URL / run id.
    root : str, optional
        Output root in which to look a run id up.

    Raises
    ------
    ValueError
        If the run cannot be found or read.
    """
    if isinstance(source, RunResponse):
        return _render(source, {}, {})
    stored = source if isinstance(source, StoredRun) else read_run(str(source), root)
    return render_stored(stored)


def render_stored(stored: StoredRun) -> str:
    """Render a stored run's report (see :func:`render`)."""
    return _render(stored.response, stored.tables, stored.record.manifest)


@cache
def _template() -> jinja2.Template:
    text = resources.files("fialloc.report").joinpath("report.html.j2").read_text("utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(pct=formatting.pct, money=formatting.money, num=formatting.num)
    return env.from_string(text)


def _chart(div_id: str, fig: go.Figure | None) -> dict[str, Any]:
    if fig is None:
        return {"id": div_id, "html": None}
    html = pio.to_html(
        fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG
    )
    return {"id": div_id, "html": html}


def _commentary(detailed: Mapping[str, Any], desk: str) -> dict[str, Any]:
    """Return an agent's analysis when one ran, else the desk findings' messages."""
    agent = detailed.get("agents", {}).get(desk)  # each agent narrates the desk of its name
    if agent and agent.get("analysis"):
        return {
            "analysis": agent["analysis"],
            "by": agent.get("model", "agent"),
            # Numbers the model wrote that the engine's results do not hold: shown, not hidden.
            "unverified": agent.get("unverified_numbers") or [],
            "findings": [],
        }
    own = detailed.get(desk, {})
    if own.get("analysis"):
        return {"analysis": own["analysis"], "by": "agent", "unverified": [], "findings": []}
    findings = [(f["severity"], f["message"]) for f in own.get("findings", [])]
    return {"analysis": None, "by": f"{desk} desk findings", "unverified": [], "findings": findings}


def _flags(detailed: Mapping[str, Any]) -> list[dict[str, str]]:
    rows = []
    for desk, value in detailed.items():
        if not isinstance(value, dict):
            continue
        for f in value.get("findings", []):
            if any(word in f["code"] for word in MANAGER_FLAGS):
                rows.append(
                    {
                        "desk": desk,
                        "subject": f["subject"],
                        "flag": f["code"],
                        "severity": f["severity"],
                        "message": f["message"],
                    }
                )
    return sorted(rows, key=lambda r: (r["subject"], r["desk"], r["flag"]))


def _plan(response: RunResponse) -> dict[str, Any]:
    plan = response.implementation_plan
    phases = plan.get("phases", [])
    managers = sorted({m for p in phases for m in p.get("trades", {})})
    trades = [
        {"manager": m, "amounts": [p.get("trades", {}).get(m) for p in phases]} for m in managers
    ]
    instruments = sorted({i for p in phases for i in p.get("overlay_trades", {})})
    overlay = [
        {"instrument": i, "amounts": [p.get("overlay_trades", {}).get(i) for p in phases]}
        for i in instruments
    ]
    return {
        "phases": phases,
        "trades": trades,
        "overlay_trades": overlay,
        "total_cost": plan.get("total_cost"),
        "reason": plan.get("reason", ""),
        "glide": plan.get("glide_path"),
    }


def _book_sections(
    response: RunResponse, tables: Mapping[str, pd.DataFrame]
) -> list[dict[str, Any]]:
    """Build the report's sections on the whole book: gaps, allocation, overlay, stresses, paths."""
    d = response.detailed_results
    params = d.get("parameters", {})
    return [
        {
            "id": "duration",
            "title": "Duration: key-rate profile and gaps",
            "charts": [
                _chart("chart-krd-profile", charts.krd_profile(d)),
                _chart("chart-gap-change", charts.gap_change(d)),
            ],
            "commentary": _commentary(d, "duration"),
        },
        {
            "id": "allocation",
            "title": "Allocation: current vs recommended",
            "charts": [
                _chart("chart-weights", charts.weights(response.allocation_recommendations)),
                _chart("chart-frontier", charts.frontier(d)),
            ],
            "commentary": None,
        },
        *(
            [
                {
                    "id": "overlay",
                    "title": "Duration overlay: with and without",
                    "charts": [_chart("chart-overlay-gaps", charts.overlay_gaps(d))],
                    "commentary": None,
                }
            ]
            if "overlay" in d
            else []
        ),
        {
            "id": "stresses",
            "title": "Stress scenarios",
            "charts": [
                _chart("chart-stress-scenarios", charts.stress_by_scenario(d)),
                _chart(
                    "chart-stress-managers",
                    charts.stress_by_manager(tables.get("stress_by_manager")),
                ),
            ],
            "commentary": None,
        },
        {
            "id": "scenarios",
            "title": "Surplus across scenario paths",
            "charts": [_chart("chart-surplus-fan", charts.surplus_fan(d, params.get("n_paths")))],
            "commentary": None,
        },
    ]


def _desk_sections(d: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Build the report's sections on the desks' views: attribution, skill, credit, FX, curve."""
    return [
        {
            "id": "attribution",
            "title": "Performance attribution",
            "charts": [_chart("chart-attribution", charts.attribution(d))],
            "commentary": None,  # the performance desk's, beside skill and drift below
        },
        {
            "id": "skill",
            "title": "Skill and drift",
            "charts": [
                _chart("chart-skill-scores", charts.skill_scores(d)),
                _chart("chart-skill", charts.skill(d)),
            ],
            "commentary": _commentary(d, "performance") if "performance" in d else None,
        },
        {
            "id": "credit",
            "title": "Credit: ratings and sectors",
            "charts": [_chart("chart-credit", charts.credit_mix(d))],
            "commentary": _commentary(d, "credit"),
        },
        *(
            [
                {
                    "id": "currencies",
                    "title": "Currencies and FX hedges",
                    "charts": [_chart("chart-currencies", charts.currencies(d))],
                    "commentary": None,
                }
            ]
            if len(d.get("duration", {}).get("tables", {}).get("currencies") or []) > 1
            else []
        ),
        {
            "id": "curve",
            "title": "Curve",
            "charts": [_chart("chart-curve", charts.curve_fit(d))],
            "commentary": _commentary(d, "curve"),
        },
        {
            "id": "liquidity",
            "title": "Liquidity ladder",
            "charts": [_chart("chart-liquidity", charts.liquidity_ladder(d))],
            "commentary": _commentary(d, "liquidity"),
        },
    ]


def _render(
    response: RunResponse, tables: Mapping[str, pd.DataFrame], manifest: Mapping[str, Any]
) -> str:
    d = response.detailed_results
    params = d.get("parameters", {})
    sections = [*_book_sections(response, tables), *_desk_sections(d)]
    strategy = response.integrated_strategy
    return _template().render(
        strategy=strategy,
        # Runs stored before the paths carried standard errors have no claims to show.
        claims={
            stat: claim_text(strategy, stat, "").strip() if f"{stat}_verdict" in strategy else ""
            for stat in CLAIMED
        },
        z95=Z95,
        recommendations=response.allocation_recommendations,
        sections=sections,
        flags=_flags(d),
        plan=_plan(response),
        constraints=d.get("optimizer", {}).get("constraints", []),
        overlay=d.get("overlay"),
        objective=d.get("optimizer", {}).get("objective", []),
        least_shortfall_objective=d.get("optimizer", {})
        .get("least_shortfall", {})
        .get("objective", []),
        parameters=params,
        manifest=manifest,
        model=response.model,
        timings=manifest.get("timings") or response.timings,
        power=_chart("chart-detection-power", charts.detection_power()),
        plotly_js=get_plotlyjs(),
    )
