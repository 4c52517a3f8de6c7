"""What every desk reads: the portfolio with its analytics computed once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from fialloc.analytics.currency_exposure import (
    currency_columns,
    hedge_effects,
    hedged_shares,
    security_currency_exposures,
)
from fialloc.bonds import krd_column
from fialloc.data import Portfolio
from fialloc.data.vocabulary import rating_notch
from fialloc.factor_returns import credit_factor_returns, rating_spread_durations

__all__ = ["DeskContext", "persistent_drift"]


@dataclass(frozen=True, eq=False)
class DeskContext:
    """A portfolio and the per-security, per-manager and liability analytics the desks share.

    Exposures are linear in weights: manager figures are value-weighted averages of their
    securities, so re-weighting managers never re-prices anything.
    """

    portfolio: Portfolio

    @cached_property
    def securities(self) -> pd.DataFrame:
        """Per-security analytics joined to the security master (book order).

        Money (``market_value``, ``dv01``) is in the base currency at FX spot, prices per 100
        face in the bond's currency; key-rate durations and FX exposures by currency as
        :mod:`fialloc.analytics.currency_exposure` defines them.
        """
        a = self.portfolio.analytics.to_frame()
        master = self.portfolio.securities.loc[
            a.index, ["issuer", "sector", "rating", "liquidity_tier", "currency"]
        ]
        by_currency = security_currency_exposures(self.portfolio)
        return master.join(a.drop(columns=self.key_columns)).join(by_currency)

    @cached_property
    def key_columns(self) -> list[str]:
        """KRD column names of the base currency's curve, shortest tenor first."""
        return [krd_column(t) for t in self.portfolio.analytics.key_tenors]

    @cached_property
    def currency_key_columns(self) -> list[str]:
        """KRD column names of the other currencies' curves held (``krd_EUR_10y``...)."""
        return currency_columns(self.portfolio)[0]

    @cached_property
    def fx_columns(self) -> list[str]:
        """FX exposure columns of the other currencies held (``fx_EUR``...), empty if none."""
        return currency_columns(self.portfolio)[1]

    @cached_property
    def managers(self) -> pd.DataFrame:
        """Per manager: name, style, market value, weight, and value-weighted analytics.

        With other currencies held: their key-rate and FX columns, the hedges' effects
        (:func:`fialloc.analytics.currency_exposure.hedge_effects`) and ``hedged_share``.
        """
        p = self.portfolio
        mv = p.market_values
        weights = mv.div(mv.sum(axis=1), axis=0)
        cols = ["ytm", "z_spread", "effective_duration", "spread_duration", "effective_convexity"]
        cols += [*self.key_columns, *self.currency_key_columns, *self.fx_columns]
        per = weights.to_numpy() @ self.securities.loc[mv.columns, cols].to_numpy()
        table = pd.DataFrame(per, index=mv.index, columns=cols)
        if self.fx_columns:
            hedges = hedge_effects(p, hedged_shares(p).reindex(mv.index), p.analytics.key_tenors)
            table[hedges.columns] += hedges
            table["hedged_share"] = hedged_shares(p).reindex(mv.index).sum(axis=1)
        table.insert(0, "market_value", mv.sum(axis=1))
        table.insert(1, "weight", table["market_value"] / table["market_value"].sum())
        table.insert(0, "style", p.managers["style"])
        table.insert(0, "name", p.managers["name"])
        return table

    @cached_property
    def by_currency(self) -> pd.DataFrame:
        """The assets by currency, base first: one row per currency held.

        ``market_value`` (base money at spot), ``share`` of the assets, ``hedged_value`` and
        ``fx_exposure`` (the share of the assets in the currency and not hedged; 0 for the
        base), and the currency's bonds' value-weighted ``ytm``, ``z_spread``,
        ``effective_duration``, ``spread_duration`` (years) and key-rate durations on the
        currency's own curve (``krd_<tenor>y``).
        """
        p = self.portfolio
        sec = self.securities
        a = p.analytics
        mv = sec["market_value"]
        base = p.mandate.base_currency
        hedged = hedged_shares(p).mul(p.manager_values, axis=0).sum(axis=0)
        rows = {}
        for currency in [base, *(c.removeprefix("fx_") for c in self.fx_columns)]:
            mine = (sec["currency"] == currency).to_numpy()
            value = float(mv[mine].sum())
            w = mv[mine] / value
            row = {
                "market_value": value,
                "share": value / self.total_assets,
                "hedged_value": float(hedged.get(currency, 0.0)),
            }
            row["fx_exposure"] = (
                0.0 if currency == base else (value - row["hedged_value"]) / self.total_assets
            )
            for col in ("ytm", "z_spread", "effective_duration", "spread_duration"):
                row[col] = float(np.dot(w.to_numpy(), sec.loc[mine, col].to_numpy(dtype=float)))
            krd = w.to_numpy() @ a.krd[mine]
            row |= {krd_column(t): float(k) for t, k in zip(a.key_tenors, krd, strict=True)}
            rows[currency] = row
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("currency")

    @cached_property
    def manager_notches(self) -> pd.Series:
        """Each sleeve's value-weighted average rating notch (AAA = 1 .. BBB- = 10 .. C = 21)."""
        share = self.portfolio.sleeve_weights
        notch = self.securities["rating"].map(rating_notch).astype(float)
        out: pd.Series = share @ notch.loc[share.columns]
        return out

    @cached_property
    def liabilities(self) -> pd.DataFrame:
        """The liability stream's analytics (one row)."""
        p = self.portfolio
        return p.liability_stream.analytics(p.curve, key_tenors=p.mandate.key_tenors)

    @cached_property
    def total_assets(self) -> float:
        """Market value of all assets (money)."""
        return float(self.managers["market_value"].sum())

    @cached_property
    def asset_krd(self) -> pd.Series:
        """Portfolio key-rate durations (years, value-weighted)."""
        m = self.managers
        return (m[self.key_columns].mul(m["market_value"], axis=0)).sum() / self.total_assets

    @cached_property
    def callables(self) -> pd.DataFrame:
        """Held bonds with a live call or put: OAS and option-adjusted risk beside the bullet's.

        :attr:`fialloc.data.Portfolio.option_adjusted` plus ``market_value`` (money) and
        ``z_spread`` (decimal, to maturity).
        """
        oa = self.portfolio.option_adjusted
        sec = self.securities.loc[oa.index]
        return oa.assign(market_value=sec["market_value"], z_spread=sec["z_spread"])

    @cached_property
    def liability_risk(self) -> pd.Series:
        """The liabilities' effective duration and convexity, including behaviour.

        With annuity blocks, from their projection on G2++ paths
        (:attr:`fialloc.data.Portfolio.behaviour_risk`): ``effective_duration`` (years),
        ``effective_convexity`` (years squared), ``value`` and ``value_se`` (money);
        otherwise the fixed flows' curve measures (``value_se`` 0).
        """
        risk = self.portfolio.behaviour_risk
        if risk is None:
            lia = self.liabilities.iloc[0]
            return pd.Series(
                {
                    "effective_duration": float(lia["effective_duration"]),
                    "effective_convexity": float(lia["effective_convexity"]),
                    "value": float(lia["market_value"]),
                    "value_se": 0.0,
                }
            )
        return pd.Series(
            {
                "effective_duration": risk.effective_duration,
                "effective_convexity": risk.effective_convexity,
                "value": risk.value,
                "value_se": risk.value_se,
            }
        )

    def characteristic_history(self, column: str) -> pd.DataFrame:
        """Monthly sleeve characteristic (months by manager), empty if not supplied."""
        ch = self.portfolio.manager_characteristics
        if ch is None or ch.empty or column not in ch.columns:
            return pd.DataFrame()
        return ch.pivot(index="month", columns="manager_id", values=column).sort_index()

    @cached_property
    def excess_returns(self) -> pd.DataFrame:
        """Monthly sleeve return minus its benchmark (months by manager)."""
        p = self.portfolio
        return (p.returns - p.benchmark_returns).sort_index()

    @cached_property
    def spread_durations(self) -> pd.DataFrame:
        """The book's spread duration (years) by letter rating, per month of the spread history.

        See :func:`fialloc.factor_returns.rating_spread_durations`.
        """
        return rating_spread_durations(self.portfolio)

    def credit_factor(self, letter: str) -> pd.Series:
        """Monthly credit excess return of a rating (decimal): carry less duration x the move.

        :func:`fialloc.factor_returns.credit_factor_returns` with the book's own spread
        durations (:attr:`spread_durations`).
        """
        return credit_factor_returns(
            self.portfolio.spread_history[letter], self.spread_durations[letter]
        )


def persistent_drift(
    history: pd.DataFrame, baseline: int, threshold: float, floor: float, run: int = 6
) -> pd.DataFrame:
    """Find managers whose characteristic left its own history and stayed out.

    Each month's value is scored against the mean and standard deviation (at least `floor`) of
    the first `baseline` months; a manager drifts when the last `run` months all score beyond
    `threshold`. The drift start is the first month of that final run of out-of-range scores.

    Returns
    -------
    DataFrame
        Per drifting manager: ``start`` (month), ``zscore`` (latest), ``baseline_mean``,
        ``latest``.
    """
    if history.empty or len(history) <= baseline + run:
        return pd.DataFrame(columns=["start", "zscore", "baseline_mean", "latest"])
    base = history.iloc[:baseline]
    sd = base.std(ddof=1).clip(lower=floor)
    z = (history - base.mean()) / sd
    rows = {}
    for manager in history.columns:
        out = (z[manager].abs() > threshold).to_numpy()
        if not out[-run:].all():
            continue
        k = len(out) - 1
        while k > 0 and out[k - 1]:
            k -= 1
        rows[manager] = {
            "start": history.index[k],
            "zscore": float(z[manager].iloc[-1]),
            "baseline_mean": float(base[manager].mean()),
            "latest": float(history[manager].iloc[-1]),
        }
    return pd.DataFrame.from_dict(rows, orient="index")
