"""The report's charts: plotly figures built from a stored run's response and tables.

Every function takes the response's ``detailed_results`` (and, where the chart needs a table
only the store keeps, that table) and returns a figure, or ``None`` when the run does not
hold what the chart shows. Money is shown in millions, rates and weights in percent, key-rate
durations in years.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any, Final

import pandas as pd
import plotly.graph_objects as go

from fialloc.formatting import count
from fialloc.mc_estimators import Z95
from fialloc.results import AllocationRecommendation

__all__ = [
    "attribution",
    "credit_mix",
    "currencies",
    "curve_fit",
    "detection_power",
    "frontier",
    "gap_change",
    "krd_profile",
    "liquidity_ladder",
    "skill",
    "skill_scores",
    "stress_by_manager",
    "stress_by_scenario",
    "surplus_fan",
    "weights",
]

MILLION: Final = 1e6
_ATTRIBUTION_TITLE: Final = "Attribution: linked effects per manager"
#: Allocation names as the robustness tables spell them, and how the report labels them.
ALLOCATIONS: Final = {
    "current": "current",
    "recommended": "recommended",
    "least_shortfall": "least shortfall",
}


def _figure(title: str, y: str, x: str | None = None, height: int = 380) -> go.Figure:
    # One layout built whole: the figure's update machinery, per property, cost more than the
    # charts' data.
    return go.Figure(
        layout={
            "title": {"text": title},
            "template": "none",  # plotly.js defaults: a light page, no template per chart
            "height": height,
            "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
            "legend": {"orientation": "h", "y": -0.2},
            "yaxis": {"title": {"text": y}},
            "xaxis": {"title": {"text": x}},
        }
    )


def _frame(records: list[dict[str, Any]] | None) -> pd.DataFrame:
    return pd.DataFrame(records or [])


def _desk_table(detailed: Mapping[str, Any], desk: str, table: str) -> pd.DataFrame:
    return _frame(detailed.get(desk, {}).get("tables", {}).get(table))


def _managers(table: pd.DataFrame) -> pd.Series:
    """Return the manager ids of a per-manager desk table (a named column, or its index)."""
    for column in ("manager_id", "manager", "index"):
        if column in table:
            return table[column].astype(str)
    return pd.Series(table.index.astype(str), index=table.index)


def krd_profile(detailed: Mapping[str, Any]) -> go.Figure | None:
    """Assets' and liabilities' key-rate durations (years) by tenor, and the gap."""
    gaps = _frame(detailed.get("key_rate_gaps"))
    if gaps.empty:
        return None
    tenors = gaps["index"].str.removeprefix("krd_")
    fig = _figure("Key-rate durations: assets vs liabilities", "years", "key tenor")
    fig.add_bar(x=tenors, y=gaps["asset_krd"], name="assets")
    fig.add_bar(x=tenors, y=gaps["liability_krd"], name="liabilities (scaled to assets)")
    fig.add_scatter(x=tenors, y=gaps["gap"], name="gap", mode="lines+markers")
    fig.update_layout(barmode="group")
    return fig


def gap_change(detailed: Mapping[str, Any]) -> go.Figure | None:
    """Key-rate gaps (years; liabilities scaled to assets) before and after the recommendation."""
    gaps = _frame(detailed.get("optimizer", {}).get("key_rate_gaps"))
    if gaps.empty:
        return None
    fig = _figure("Key-rate gaps before and after the recommendation", "years", "key tenor")
    fig.add_bar(x=gaps["tenor"], y=gaps["gap_before"], name="current")
    fig.add_bar(x=gaps["tenor"], y=gaps["gap_after"], name="recommended")
    fig.update_layout(barmode="group")
    return fig


def overlay_gaps(detailed: Mapping[str, Any]) -> go.Figure | None:
    """Key-rate gaps (years of assets): today, without and with the duration overlay."""
    gaps = _frame(detailed.get("overlay", {}).get("key_rate_gaps"))
    if gaps.empty:
        return None
    tenors = gaps["factor"].str.removeprefix("krd_")
    fig = _figure("Key-rate gaps with and without the duration overlay", "years", "key tenor")
    for col, label in (
        ("current_years", "current"),
        ("without_overlay_years", "recommended without overlay"),
        ("recommended_years", "recommended with overlay"),
    ):
        fig.add_bar(x=tenors, y=gaps[col], name=label)
    fig.update_layout(barmode="group")
    return fig


def weights(recommendations: list[AllocationRecommendation]) -> go.Figure | None:
    """Plot current and recommended weight (percent) per manager."""
    if not recommendations:
        return None
    ids = [r.manager_id for r in recommendations]
    names = [r.name for r in recommendations]
    fig = _figure("Manager weights: current vs recommended", "% of assets", "manager")
    for label, values in (
        ("current", [r.current_weight for r in recommendations]),
        ("recommended", [r.recommended_weight for r in recommendations]),
    ):
        fig.add_bar(
            x=ids,
            y=[100 * v for v in values],
            name=label,
            customdata=names,
            hovertemplate="%{x} %{customdata}: %{y:.2f}%",
        )
    fig.update_layout(barmode="group")
    return fig


def stress_by_scenario(detailed: Mapping[str, Any]) -> go.Figure | None:
    """Surplus change (money, millions) from the base case per stress, per allocation."""
    table = _frame(detailed.get("robustness", {}).get("stresses"))
    if table.empty:
        return None
    table = table.set_index("scenario")
    change = table - table.iloc[0]
    fig = _figure("Surplus change under each stress", "$ millions", height=440)
    for col, label in ALLOCATIONS.items():
        if col in change:
            fig.add_bar(x=change.index, y=change[col] / MILLION, name=label)
    fig.update_layout(barmode="group", xaxis_tickangle=-40)
    return fig


def stress_by_manager(table: pd.DataFrame | None) -> go.Figure | None:
    """Asset value change (money, millions) per manager (rows) and stress (columns)."""
    if table is None or table.empty:
        return None
    changes = table.drop(columns=[c for c in table.columns if c == "base"])
    fig = _figure("Asset value change by manager and stress", "manager", height=620)
    fig.add_heatmap(
        z=(changes / MILLION).round(1).to_numpy(),
        x=list(changes.columns),
        y=[str(i) for i in changes.index],
        colorscale="RdBu",
        zmid=0.0,
        colorbar={"title": "$M"},
        hovertemplate="%{y} under %{x}: %{z:,.1f}M<extra></extra>",
    )
    fig.update_layout(xaxis_tickangle=-40, yaxis_autorange="reversed")
    return fig


def surplus_fan(detailed: Mapping[str, Any], n_paths: int | None) -> go.Figure | None:
    """Surplus (money, millions) quantiles by horizon across the scenario paths.

    The median and 5th percentile of the current and recommended weights carry their 95%
    Monte Carlo intervals as error bars.
    """
    paths = _frame(detailed.get("robustness", {}).get("paths"))
    if paths.empty:
        return None
    title = "Surplus across scenario paths" + (f" ({n_paths:,} G2++ paths)" if n_paths else "")
    fig = _figure(title, "$ millions", "horizon (years)", height=420)
    current = paths[paths["allocation"] == "current"]
    x = list(current["horizon"])
    for low, high, label, alpha in (("p05", "p95", "5-95%", 0.15), ("p25", "p75", "25-75%", 0.3)):
        fig.add_scatter(
            x=x + x[::-1],
            y=list(current[high] / MILLION) + list(current[low] / MILLION)[::-1],
            fill="toself",
            fillcolor=f"rgba(31,119,180,{alpha})",
            line={"width": 0},
            name=f"current {label}",
            hoverinfo="skip",
        )
    # Each estimate with its 95% Monte Carlo interval (older runs stored no standard errors).
    for allocation, dash in (("current", "solid"), ("recommended", "dash")):
        rows = paths[paths["allocation"] == allocation]
        for stat in ("median", "p05"):
            se = rows.get(f"{stat}_se")
            fig.add_scatter(
                x=rows["horizon"],
                y=rows[stat] / MILLION,
                mode="lines+markers",
                line={"dash": dash},
                name=f"{allocation} {'5th percentile' if stat == 'p05' else stat}",
                error_y=None
                if se is None
                else {"type": "data", "array": list(Z95 * se / MILLION), "visible": True},
            )
    return fig


def frontier(detailed: Mapping[str, Any]) -> go.Figure | None:
    """Plot the tracking error / expected return frontier (percent), current and recommended.

    Expected return is yield less expected credit loss; runs stored before it was computed
    show yield.
    """
    opt = detailed.get("optimizer", {})
    points = _frame(opt.get("frontier"))
    summary = opt.get("summary", {})
    if points.empty or not summary:
        return None
    net = "expected_return" in points and "expected_loss_before" in summary
    label = "expected return" if net else "yield"
    fig = _figure(f"Tracking error / {label} frontier", f"{label} (%)", "tracking error (%)")
    fig.add_scatter(
        x=100 * points["tracking_error"],
        y=100 * points["expected_return" if net else "yield"],
        mode="lines+markers",
        name="frontier",
    )
    for when in ("before", "after"):
        loss = summary[f"expected_loss_{when}"] if net else 0.0
        fig.add_scatter(
            x=[100 * summary[f"tracking_error_{when}"]],
            y=[100 * (summary[f"yield_{when}"] - loss)],
            mode="markers",
            marker={"size": 12},
            name="current" if when == "before" else "recommended",
        )
    return fig


#: Columns of the holdings attribution's ``linked_effects`` that are not effects.
NOT_EFFECTS: Final = (
    "portfolio",
    "window",
    "months",
    "return",
    "benchmark_return",
    "active_return",
)
#: Prefixes of the effects' breakdowns (key rates, ratings, sectors), left out of the stack.
BREAKDOWNS: Final = ("curve_", "spread_")


def attribution(detailed: Mapping[str, Any]) -> go.Figure | None:
    """Plot linked active-return effects (percent) per manager, one window at a time.

    Reads the performance desk's ``attribution_linked_effects`` table (per portfolio and window
    in months:
    the effects that add up to the active return, and their breakdowns, which are left out).
    Buttons switch the window; the 12-month window shows first when there is one.
    """
    tables = detailed.get("performance", {}).get("tables", {})
    table = _frame(tables.get("attribution_linked_effects"))
    if table.empty or not {"portfolio", "window"} <= set(table.columns):
        return None
    effects = [
        c
        for c in table.select_dtypes("number").columns
        if c not in NOT_EFFECTS and not c.startswith(BREAKDOWNS)
    ]
    windows = sorted(int(w) for w in table["window"].unique())
    shown = 12 if 12 in windows else windows[-1]
    fig = _figure("Attribution: linked effects per manager", "% of value", "manager", height=460)
    for window in windows:
        rows = table[table["window"] == window]
        for effect in effects:
            fig.add_bar(
                x=rows["portfolio"],
                y=100 * rows[effect],
                name=effect,
                legendgroup=effect,
                showlegend=window == shown,
                visible=window == shown,
            )
    buttons = [
        {
            "label": count(window, "month"),
            "method": "update",
            "args": [
                {"visible": [w == window for w in windows for _ in effects]},
                {"title.text": f"{_ATTRIBUTION_TITLE}, {count(window, 'month')}"},
            ],
        }
        for window in windows
    ]
    fig.update_layout(
        barmode="relative",
        title_text=f"{_ATTRIBUTION_TITLE}, {count(shown, 'month')}",
        updatemenus=[{"buttons": buttons, "active": windows.index(shown), "x": 1.0, "y": 1.15}],
    )
    return fig


def skill(detailed: Mapping[str, Any]) -> go.Figure | None:
    """Alpha (percent a year) against BBB credit beta per manager, sized by alpha t-statistic."""
    table = _desk_table(detailed, "credit", "manager_skill")
    if table.empty:
        return None
    fig = _figure("Skill or beta: alpha vs BBB credit beta", "alpha (% a year)", "BBB beta")
    fig.add_scatter(
        x=table["beta_bbb"],
        y=100 * table["alpha_annual"],
        mode="markers+text",
        text=_managers(table),
        textposition="top center",
        marker={
            "size": 8 + table["alpha_t"].abs().clip(upper=8),
            "color": table["alpha_t"],
            "colorscale": "Viridis",
            "colorbar": {"title": "alpha t"},
        },
        name="managers",
        hovertemplate="%{text}: beta %{x:.2f}, alpha %{y:.2f}%<extra></extra>",
    )
    return fig


#: The performance desk's flags, in the order a manager is labelled by (first that applies).
FLAGS: Final = (
    ("consistent_skill", "consistent skill", "#1b7f3b"),
    ("beta_only", "beta only", "#b00020"),
    ("drift", "style drift", "#d08a00"),
)


def skill_scores(detailed: Mapping[str, Any]) -> go.Figure | None:
    """Plot each manager's blended information ratio, coloured by the performance desk's flags.

    Reads the performance desk's ``scores`` table (per manager: recent, long-term and blended
    information ratios, the flags ``consistent_skill``, ``beta_only`` and ``drift``, and the
    skill score the optimizer rewards).
    """
    table = _desk_table(detailed, "performance", "scores")
    if table.empty or "blended_ir" not in table:
        return None
    managers = _managers(table)
    fig = _figure("Skill: blended information ratio per manager", "information ratio", "manager")
    label = pd.Series("no flag", index=table.index)
    for column, name, _ in reversed(FLAGS):
        if column in table:
            label[table[column].fillna(False).astype(bool)] = name
    colours = {name: colour for _, name, colour in FLAGS} | {"no flag": "#8a94a6"}
    for name, colour in colours.items():
        rows = table[label == name]
        if rows.empty:
            continue
        fig.add_bar(
            x=managers[label == name],
            y=rows["blended_ir"],
            name=name,
            marker_color=colour,
            customdata=rows.get("skill_score"),
            hovertemplate="%{x}: IR %{y:.2f}, skill score %{customdata:.2f}<extra></extra>",
        )
    fig.update_layout(xaxis={"categoryorder": "array", "categoryarray": list(managers)})
    return fig


#: The skill verdict's measured power, shipped with the package: written by
#: ``benchmarks/bench_detection.py`` from 50 generated 60-month books.
POWER_TABLE: Final = "detection_power.csv"


def detection_power(table: pd.DataFrame | None = None) -> go.Figure:
    """Plot skill recall (percent) against the true information ratio, desks and oracle.

    Reads the power curve shipped with the package (:data:`POWER_TABLE`: per information ratio
    bin, the recall of the desks' FDR-controlled skill flag and of an oracle that knows the true
    factor model and noise, with Wilson 95% intervals) unless given `table`.
    """
    if table is None:
        with resources.files("fialloc.report").joinpath(POWER_TABLE).open("r") as fh:
            table = pd.read_csv(fh)
    fig = _figure(
        "Skill found at a 10% false discovery rate, 60 months of returns",
        "managers with skill flagged (%)",
        "true information ratio",
    )
    for who, name, colour in (("desks", "fialloc", "#1f4e79"), ("oracle", "oracle", "#8a94a6")):
        fig.add_scatter(
            x=table["mid"],
            y=100.0 * table[who],
            name=name,
            mode="lines+markers",
            line={"color": colour, "dash": "solid" if who == "desks" else "dash"},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": 100.0 * (table[f"{who}_high"] - table[who]),
                "arrayminus": 100.0 * (table[who] - table[f"{who}_low"]),
            },
            hovertemplate="IR %{x:.2f}: %{y:.0f}%<extra>" + name + "</extra>",
        )
    fig.update_yaxes(range=[0, 105])
    return fig


def credit_mix(detailed: Mapping[str, Any]) -> go.Figure | None:
    """Share of assets (percent) by rating and by sector."""
    rating = _desk_table(detailed, "credit", "rating")
    sector = _desk_table(detailed, "credit", "sector")
    if rating.empty or sector.empty:
        return None
    fig = _figure("Credit: share of assets by rating and by sector", "% of assets", height=400)
    fig.add_bar(x=rating["rating"], y=100 * rating["share"], name="by rating")
    fig.add_bar(x=sector["sector"], y=100 * sector["share"], name="by sector")
    return fig


def currencies(detailed: Mapping[str, Any]) -> go.Figure | None:
    """Share of assets (percent) in each other currency, hedged and not; None if there are none.

    The duration desk's ``currencies`` table: its first row is the base currency.
    """
    table = _desk_table(detailed, "duration", "currencies").iloc[1:]
    if table.empty:
        return None
    fig = _figure("Other currencies: hedged to the base and unhedged", "% of assets", height=380)
    unhedged = 100 * table["fx_exposure"]
    fig.add_bar(x=table["currency"], y=100 * table["share"] - unhedged, name="hedged")
    fig.add_bar(x=table["currency"], y=unhedged, name="unhedged")
    fig.update_layout(barmode="stack")
    return fig


def curve_fit(detailed: Mapping[str, Any]) -> go.Figure | None:
    """Today's zero rates (percent) and the Nelson-Siegel-Svensson fit by tenor (years)."""
    nss = _desk_table(detailed, "curve", "nss")
    if nss.empty:
        return None
    fig = _figure("Zero curve and its Nelson-Siegel-Svensson fit", "%", "tenor (years)")
    fig.add_scatter(x=nss["tenor"], y=100 * nss["zero_rate"], mode="markers", name="zero rate")
    fig.add_scatter(x=nss["tenor"], y=100 * nss["fitted"], mode="lines", name="NSS fit")
    return fig


def liquidity_ladder(detailed: Mapping[str, Any]) -> go.Figure | None:
    """Cash (money, millions) that can be raised within each horizon, against the HQLA buffer."""
    ladder = _desk_table(detailed, "liquidity", "redemptions")
    buffer = _desk_table(detailed, "liquidity", "buffer")
    if ladder.empty:
        return None
    capacity = ladder.drop_duplicates(["regime", "days"])
    fig = _figure("Liquidity ladder against the buffer", "$ millions", "days to raise cash")
    for regime, rows in capacity.groupby("regime", sort=False):
        fig.add_bar(x=rows["days"].astype(str), y=rows["capacity"] / MILLION, name=str(regime))
    if not buffer.empty:
        hqla = buffer[buffer["index"] == "hqla"]
        for regime in ("normal", "stressed"):
            if regime in hqla and not hqla.empty:
                fig.add_hline(
                    y=float(hqla[regime].iloc[0]) / MILLION,
                    line_dash="dot",
                    annotation_text=f"HQLA buffer ({regime})",
                )
    for share, rows in ladder.groupby("redemption_share"):
        fig.add_hline(
            y=float(rows["redemption"].iloc[0]) / MILLION,
            line_dash="dash",
            line_color="firebrick",
            annotation_text=f"{share:.0%} redemption",
            annotation_position="bottom right",
        )
    fig.update_layout(barmode="group")
    return fig
