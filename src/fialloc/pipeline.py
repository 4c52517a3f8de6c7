"""The main job: from validated inputs to the numbers every later stage reads.

Today it prices and risks the book and the liabilities, measures key-rate gaps and runs the
deterministic stresses; the desks, optimizer and agents plug in after these stages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fialloc.data import Portfolio
from fialloc.desks import DeskResult, run_desks
from fialloc.desks.context import DeskContext
from fialloc.desks.duration_gaps import krd_gaps
from fialloc.scenarios import G2pp
from fialloc.stresses import StressResult, run_stresses

__all__ = ["RunResult", "run"]


@dataclass(frozen=True)
class RunResult:
    """What one run computed.

    Attributes
    ----------
    portfolio : Portfolio
        The inputs.
    securities : DataFrame
        Per-security analytics (prices per 100, money values, durations, KRDs).
    managers : DataFrame
        Per-manager market value, weight, yield, durations and KRDs (value-weighted).
    liabilities : DataFrame
        The liability stream's analytics (one row).
    gaps : DataFrame
        Key-rate gaps of assets against liabilities.
    stresses : StressResult
        Every deterministic scenario, revalued in full.
    surplus_paths : DataFrame
        Per annual horizon (years): surplus (money: remaining asset flows minus remaining
        liability flows, plus net cash paid before the horizon reinvested on the path; see
        :meth:`fialloc.scenarios.G2pp.surplus`) across G2++ paths: mean, quantiles, shortfall
        probability (surplus below zero) and expected shortfall (mean of the worst 5%).
    desks : dict of str to DeskResult
        The duration, credit, curve and liquidity desks' tables, findings and recommendations.
    """

    portfolio: Portfolio
    securities: pd.DataFrame
    managers: pd.DataFrame
    liabilities: pd.DataFrame
    gaps: pd.DataFrame
    stresses: StressResult
    surplus_paths: pd.DataFrame
    desks: dict[str, DeskResult]

    def summary(self) -> dict[str, float]:
        """Headline numbers: values (money), yields (decimals), durations (years)."""
        total = self.managers["market_value"].sum()
        lia = self.liabilities.iloc[0]
        return {
            "assets": float(total),
            "liabilities": float(lia["market_value"]),
            "surplus": float(total - lia["market_value"]),
            "asset_yield": float(
                np.average(self.managers["ytm"], weights=self.managers["market_value"])
            ),
            "asset_duration": float(
                np.average(
                    self.managers["effective_duration"], weights=self.managers["market_value"]
                )
            ),
            "liability_duration": float(lia["effective_duration"]),
            "material_gaps": float(self.gaps["material"].sum()),
            "shortfall_probability_1y": float(self.surplus_paths["shortfall_probability"].iloc[0]),
            "shortfall_probability_10y": float(
                self.surplus_paths["shortfall_probability"].iloc[-1]
            ),
        }

    def write(self, directory: str | Path) -> Path:
        """Write the results as CSV tables plus ``summary.json`` into `directory`."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        self.securities.to_csv(out / "securities.csv")
        self.managers.to_csv(out / "managers.csv")
        self.liabilities.to_csv(out / "liabilities.csv")
        self.gaps.to_csv(out / "krd_gaps.csv")
        self.stresses.summary().to_csv(out / "stresses.csv")
        self.surplus_paths.to_csv(out / "surplus_paths.csv")
        (out / "desks.json").write_text(
            json.dumps({name: r.to_dict() for name, r in self.desks.items()}, indent=1) + "\n"
        )
        meta: dict[str, Any] = {
            "valuation_date": self.portfolio.valuation_date.isoformat(),
            "summary": self.summary(),
        }
        (out / "summary.json").write_text(json.dumps(meta, indent=2) + "\n")
        return out


def surplus_distribution(
    portfolio: Portfolio, n_paths: int = 1000, seed: int = 0, horizons: int = 10
) -> pd.DataFrame:
    """Surplus across G2++ paths (default parameters) at annual horizons, summarized."""
    p = portfolio
    model = G2pp(p.curve)
    grid = np.arange(1, 12 * horizons + 1) / 12.0
    years = np.arange(1, horizons + 1, dtype=float)
    paths = model.simulate(n_paths, grid, seed=seed)
    z = p.z_spreads.reindex(p.book.security_ids).to_numpy()
    surplus = model.surplus(p.book, p.liability_stream, paths, years, z)
    worst = np.sort(surplus, axis=0)[: max(1, n_paths // 20)]
    q = np.quantile(surplus, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    return pd.DataFrame(
        {
            "mean": surplus.mean(axis=0),
            "p05": q[0],
            "p25": q[1],
            "median": q[2],
            "p75": q[3],
            "p95": q[4],
            "shortfall_probability": (surplus < 0).mean(axis=0),
            "expected_shortfall_95": worst.mean(axis=0),
        },
        index=pd.Index(years, name="horizon"),
    )


def run(portfolio: Portfolio, n_paths: int = 1000, scenario_seed: int = 0) -> RunResult:
    """Price, risk and stress the portfolio against its liabilities.

    Parameters
    ----------
    portfolio : Portfolio
        Validated inputs.
    n_paths : int
        G2++ paths for the surplus distribution.
    scenario_seed : int
        Seed of the paths.
    """
    p = portfolio
    ctx = DeskContext(p)
    securities, managers, liabilities = ctx.securities, ctx.managers, ctx.liabilities
    tenors = ctx.key_columns
    total = ctx.total_assets
    gaps = krd_gaps(
        ctx.asset_krd,
        total,
        liabilities.iloc[0][tenors].astype(float),
        float(liabilities.iloc[0]["market_value"]),
        threshold=p.mandate.materiality_threshold,
    )
    book = p.book
    sec = p.securities.loc[book.security_ids]
    stresses = run_stresses(
        book,
        p.liability_stream,
        p.curve,
        z_spread=p.z_spreads.reindex(book.security_ids).to_numpy(),
        ratings=list(sec["rating"]),
        sectors=list(sec["sector"]),
        bid_ask_bp=sec["bid_ask_bp"].astype(float).to_numpy(),
    )
    surplus = surplus_distribution(p, n_paths, scenario_seed)
    desks = run_desks(ctx)
    return RunResult(p, securities, managers, liabilities, gaps, stresses, surplus, desks)
