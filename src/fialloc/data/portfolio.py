"""The validated inputs of one run, and the views of them the desks and optimizer use."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from fialloc.bonds import BondAnalytics, BondBook, CashflowStream
from fialloc.curves import (
    Curve,
    Extrapolation,
    Interpolation,
    bootstrap,
    curve_from_points,
    log_discount_factors,
)
from fialloc.data.mandate import Mandate

__all__ = ["GOVERNMENT_SECTORS", "Portfolio", "todays_curve"]

GOVERNMENT_SECTORS = ("treasury", "treasury_strip", "government", "sovereign")


@dataclass(frozen=True, eq=False)
class Portfolio:
    """Everything one run reads: holdings, securities, liabilities, market and manager data.

    Build it with :func:`fialloc.data.load` or :func:`fialloc.data.demo`; tables are already
    validated. Securities and managers are indexed by their ids. The optional histories
    (``holdings_history``, ``benchmark_holdings``, ``security_spreads``) feed the
    holdings-based attribution desk; ``overlay_futures`` (optional) the Treasury futures the
    duration overlay may hold (:func:`fialloc.data.futures.default_futures` when absent).
    Today's curve comes from ``curve_points`` (the ``curve`` table: zero rates, discount
    factors or par yields) when given, else from ``curve_quotes``; ``interpolation`` and
    ``extrapolation`` apply to either.
    """

    valuation_date: dt.date
    securities: pd.DataFrame
    holdings: pd.DataFrame
    managers: pd.DataFrame
    manager_returns: pd.DataFrame
    liabilities: pd.DataFrame
    curve_quotes: pd.DataFrame | None
    spreads: pd.DataFrame
    market_history: pd.DataFrame
    manager_characteristics: pd.DataFrame | None = None
    mandate: Mandate = field(default_factory=Mandate)
    holdings_history: pd.DataFrame | None = None
    benchmark_holdings: pd.DataFrame | None = None
    security_spreads: pd.DataFrame | None = None
    curve_points: pd.DataFrame | None = None
    interpolation: Interpolation = "log_linear"
    extrapolation: Extrapolation = "flat_forward"
    overlay_futures: pd.DataFrame | None = None

    @cached_property
    def curve(self) -> Curve:
        """Today's discount curve: through the curve points if given, else from the quotes."""
        return todays_curve(
            self.valuation_date,
            self.curve_points,
            self.curve_quotes,
            self.interpolation,
            self.extrapolation,
        )

    @cached_property
    def z_spreads(self) -> pd.Series:
        """Each security's z-spread (decimal): its own column if given, else by rating."""
        if "z_spread" in self.securities.columns and self.securities["z_spread"].notna().all():
            return self.securities["z_spread"].astype(float)
        by_letter = self.spreads.set_index("rating")["spread"]
        letters = self.securities["rating"].str.rstrip("+-")
        z = letters.map(by_letter).astype(float)
        z[self.securities["sector"].isin(GOVERNMENT_SECTORS)] = 0.0
        return z

    @cached_property
    def face(self) -> pd.DataFrame:
        """Face held (money): managers (rows) by securities (columns)."""
        table = self.holdings.pivot_table(
            index="manager_id", columns="security_id", values="par", aggfunc="sum", fill_value=0.0
        )
        return table.reindex(
            index=self.managers.index, columns=self.securities.index, fill_value=0.0
        )

    @cached_property
    def book(self) -> BondBook:
        """Every security with the total face held across managers."""
        frame = self.securities.reset_index(drop=True)
        frame["face"] = self.face.sum(axis=0).to_numpy()
        frame = frame[frame["face"] > 0]
        return BondBook.from_frame(frame, self.valuation_date)

    @cached_property
    def analytics(self) -> BondAnalytics:
        """Per-security analytics off today's curve and z-spreads (book order)."""
        z = self.z_spreads.reindex(self.book.security_ids).to_numpy()
        return self.book.analyze(self.curve, z_spread=z, key_tenors=self.mandate.key_tenors)

    @cached_property
    def liability_stream(self) -> CashflowStream:
        """The liabilities as a cash-flow stream."""
        return CashflowStream.from_frame(self.liabilities, self.valuation_date)

    @cached_property
    def market_values(self) -> pd.DataFrame:
        """Market value (money): managers (rows) by securities (columns)."""
        price = pd.Series(self.analytics.dirty_price / 100.0, index=self.book.security_ids)
        face = self.face.reindex(columns=self.book.security_ids)
        return face * price

    @cached_property
    def manager_values(self) -> pd.Series:
        """Market value (money) of each manager's sleeve."""
        return self.market_values.sum(axis=1)

    @cached_property
    def total_assets(self) -> float:
        """Market value (money) of all assets."""
        return float(self.manager_values.sum())

    @cached_property
    def current_weights(self) -> pd.Series:
        """Each manager's share of the assets, from the managers table."""
        return self.managers["current_allocation"].astype(float)

    @cached_property
    def sleeve_weights(self) -> pd.DataFrame:
        """Within each sleeve, each security's share of the sleeve's value (rows sum to 1)."""
        mv = self.market_values
        return mv.div(mv.sum(axis=1).replace(0.0, np.nan), axis=0).fillna(0.0)

    def history_table(self, prefix: str) -> pd.DataFrame:
        """Market history series starting with `prefix` as months (rows) by suffix (columns)."""
        return _pivot(self.market_history, prefix)

    @cached_property
    def zero_history(self) -> pd.DataFrame:
        """Monthly continuously compounded zero rates: months by tenor in years (sorted).

        Zero series given in another ``form`` (annual or semiannual zero rates, discount
        factors) are converted first.
        """
        history = self.market_history
        if "form" in history.columns:
            history = history.copy()
            zero = history["series"].str.startswith("zero_")
            form = history["form"].where(history["form"].notna(), "zero_continuous")
            for kind in set(form[zero]) - {"zero_continuous"}:
                rows = zero & (form == kind)
                t = history.loc[rows, "series"].str.removeprefix("zero_").str.removesuffix("y")
                years = t.astype(float).to_numpy()
                values = history.loc[rows, "value"].to_numpy(dtype=float)
                log_dfs = log_discount_factors(values, years, kind, "market_history")
                history.loc[rows, "value"] = -log_dfs / years
        table = _pivot(history, "zero_")
        table.columns = [float(c.removesuffix("y")) for c in table.columns]
        return table[sorted(table.columns)]

    @cached_property
    def spread_history(self) -> pd.DataFrame:
        """Monthly credit spreads: months by letter rating."""
        return self.history_table("spread_")

    @cached_property
    def returns(self) -> pd.DataFrame:
        """Monthly sleeve returns: months by manager."""
        return self.manager_returns.pivot(index="month", columns="manager_id", values="return")

    @cached_property
    def benchmark_returns(self) -> pd.DataFrame:
        """Monthly benchmark returns: months by manager."""
        return self.manager_returns.pivot(
            index="month", columns="manager_id", values="benchmark_return"
        )


def _pivot(history: pd.DataFrame, prefix: str) -> pd.DataFrame:
    rows = history[history["series"].str.startswith(prefix)]
    table = rows.pivot(index="month", columns="series", values="value").sort_index()
    table.columns = [c.removeprefix(prefix) for c in table.columns]
    return table


def todays_curve(
    valuation_date: dt.date,
    points: pd.DataFrame | None,
    quotes: pd.DataFrame | None,
    interpolation: Interpolation = "log_linear",
    extrapolation: Extrapolation = "flat_forward",
    where: str = "curve",
) -> Curve:
    """Build a run's curve: through the `points` table if given, else from the `quotes`.

    `points` is the ``curve`` table (its ``form`` column says how values are quoted), `quotes`
    the ``curve_quotes`` table. Messages name the table as `where` (empty for none).

    Raises
    ------
    ValueError
        When neither is given or the curve cannot be built.
    """
    if points is not None:
        form = str(points["form"].iloc[0])
        return curve_from_points(
            points, valuation_date, form, interpolation, extrapolation, where=where
        )
    if quotes is None:
        msg = "no curve: give the curve points or the curve quotes"
        raise ValueError(msg)
    return bootstrap(quotes, valuation_date, interpolation, extrapolation)
