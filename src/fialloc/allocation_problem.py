"""The optimizer's inputs per manager, and the quantities every layer measures from weights.

Exposures are linear in the weights: each manager's key-rate durations, spread durations by
rating, yield, posterior alpha, trading cost, post-haircut LCR levels, illiquid share, rating
and sector mix are computed once, and a portfolio is a weight vector over managers.

Tracking error against liabilities
    The annualized standard deviation of the asset return minus the liability return, each
    relative to its own present value, from a factor model of key-rate and spread changes plus
    each manager's residual risk: ``TE(w)^2 = (X'w - l)' S (X'w - l) + sum_m w_m^2 s_m^2``.
    Surplus volatility in money is the standard deviation of ``A r_A - L r_L``.
Key-rate gap
    Assets' key-rate duration less the liabilities' scaled to asset value
    (:func:`fialloc.analytics.duration_gaps.krd_gaps`), in years and DV01.
Liquid buffer
    The LCR buffer after haircuts and the Level 2 caps
    (:func:`fialloc.analytics.liquidity_costs.hqla_bounds`), as a share of assets.
Turnover
    One-way: half the sum of the absolute weight changes (:func:`turnover`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.analytics.context import DeskContext
from fialloc.analytics.credit_loss import expected_loss_rate
from fialloc.analytics.duration_gaps import key_rate_gap, krd_gaps
from fialloc.analytics.liquidity_costs import HQLA_LEVELS, hqla_bounds, hqla_levels
from fialloc.analytics.trading_costs import manager_cost_coefficients
from fialloc.data.vocabulary import GOVERNMENT_SECTORS, RATING_LETTERS, rating_letter
from fialloc.factor_covariance import history_covariance
from fialloc.layout import FloatArray

__all__ = ["EVIDENCE_COLUMNS", "AllocationProblem", "build_problem", "turnover"]

#: The columns of the skill evidence table the optimizer reads (see ``CONTRACT``: the
#: performance desk's :func:`fialloc.desks.performance.manager_evidence`).
EVIDENCE_COLUMNS = ("alpha_posterior", "residual_vol")


def turnover(weights: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """One-way turnover: half the sum of absolute weight changes (decimal of assets).

    It is the share of assets sold, which equals the share bought when both weight vectors
    sum to one; the mandate's ``turnover`` limit, the plan and every report use it.
    """
    return float(
        0.5 * np.abs(np.asarray(weights, dtype=float) - np.asarray(current, dtype=float)).sum()
    )


@dataclass(frozen=True)
class AllocationProblem:
    """Everything the optimizer needs, per manager (rows indexed by manager id).

    Attributes
    ----------
    exposures : DataFrame
        Managers by factors: key-rate durations (``krd_*``) and spread durations by rating
        (``sd_*``), years.
    liability : Series
        The liabilities' exposures per unit of their present value (years).
    covariance : DataFrame
        Annualized covariance of the factor moves (decimal rates squared).
    residual_vol, yields, alpha, illiquid_share, notch : Series
        Per manager: annual residual risk (decimal), yield (decimal), posterior expected
        selection alpha (decimal a year), share of the sleeve that is illiquid, average rating
        notch (AAA = 1).
    expected_loss : Series
        Per manager: the sleeve's expected credit loss a year (decimal of its value; default
        probability by rating times loss given default,
        :func:`fialloc.analytics.credit_loss.expected_loss_rate`). The objective counts
        yield less it.
    trading_cost, trading_impact : Series
        Per manager, the cost of moving a weight change ``dw`` of its sleeve (decimal of
        assets): ``trading_cost * |dw| + trading_impact * |dw| ** 1.5``, half the bid-ask
        spread and square-root market impact, each sleeve traded pro rata on its own
        (:func:`fialloc.analytics.trading_costs.manager_cost_coefficients`: ``trading_impact``
        is its ``impact`` times the square root of the assets).
    tradable_share : Series
        Per manager: the share of the sleeve's value in securities that trade on the market
        (average daily volume above zero). A sleeve with none (private placements) can be
        sold or held, not bought: the plan has no market to buy it in.
    hqla : DataFrame
        Managers by LCR levels (:data:`fialloc.analytics.liquidity_costs.HQLA_LEVELS`): each
        sleeve's post-haircut value in the level per unit of sleeve value.
    sectors : DataFrame
        Managers by sectors: each sleeve's sector mix (rows sum to 1).
    current : Series
        Current weights (sum to 1).
    assets, liabilities : float
        Market value of assets and present value of liabilities (money).
    """

    exposures: pd.DataFrame
    liability: pd.Series
    covariance: pd.DataFrame
    residual_vol: pd.Series
    yields: pd.Series
    expected_loss: pd.Series
    alpha: pd.Series
    trading_cost: pd.Series
    trading_impact: pd.Series
    tradable_share: pd.Series
    hqla: pd.DataFrame
    illiquid_share: pd.Series
    notch: pd.Series
    sectors: pd.DataFrame
    current: pd.Series
    assets: float
    liabilities: float
    _root: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        managers = self.exposures.index
        for name in (
            "residual_vol",
            "yields",
            "expected_loss",
            "alpha",
            "trading_cost",
            "trading_impact",
            "tradable_share",
            "illiquid_share",
            "notch",
            "current",
            "hqla",
            "sectors",
        ):
            frame = getattr(self, name)
            if not frame.index.equals(managers):
                msg = f"AllocationProblem: `{name}` must be indexed by the exposures' managers"
                raise ValueError(msg)
            if not np.all(np.isfinite(frame.to_numpy(dtype=float))):
                msg = f"AllocationProblem: `{name}` has missing or non-finite values"
                raise ValueError(msg)
        if list(self.hqla.columns) != list(HQLA_LEVELS):
            msg = f"AllocationProblem: `hqla` must have the columns {list(HQLA_LEVELS)}"
            raise ValueError(msg)
        if (
            (self.trading_cost < 0).any()
            or (self.trading_impact < 0).any()
            or (self.residual_vol < 0).any()
            or (self.expected_loss < 0).any()
        ):
            msg = (
                "AllocationProblem: trading costs, `residual_vol` and `expected_loss` must be >= 0"
            )
            raise ValueError(msg)
        if not (self.assets > 0 and self.liabilities > 0):
            msg = f"AllocationProblem: assets {self.assets} and liabilities must be positive"
            raise ValueError(msg)
        total = float(self.current.sum())
        if abs(total - 1.0) > 1e-6 or (self.current < 0).any():
            msg = (
                "AllocationProblem: current weights must be >= 0 and sum to 1, "
                f"they sum to {total:.6f}"
            )
            raise ValueError(msg)
        if not self.liability.index.equals(self.exposures.columns):
            msg = "AllocationProblem: `liability` must be indexed by the exposures' factors"
            raise ValueError(msg)
        cov = self.covariance.to_numpy(dtype=float)
        if not np.allclose(cov, cov.T, atol=1e-14) or not np.all(np.isfinite(cov)):
            msg = "AllocationProblem: covariance must be symmetric and finite"
            raise ValueError(msg)
        vals, vecs = np.linalg.eigh(cov)
        smallest = float(vals.min())
        if smallest < -1e-12 * max(float(np.abs(cov).max()), 1e-30):
            msg = (
                "AllocationProblem: covariance is not positive semi-definite "
                f"(smallest eigenvalue {smallest:.3e})"
            )
            raise ValueError(msg)
        # Kept: every program of the problem uses it, and it is the one decomposition.
        root = (vecs * np.sqrt(np.clip(vals, 0.0, None))).T
        object.__setattr__(self, "_root", np.asarray(root, dtype=np.float64))

    @property
    def managers(self) -> pd.Index:
        """Manager ids."""
        return self.exposures.index

    def with_alpha(self, alpha: pd.Series) -> AllocationProblem:
        """Return the same problem with each manager's expected alpha replaced by `alpha`.

        `alpha` is decimal a year, indexed by manager id (every manager of the problem; extra
        ids are ignored). Nothing else changes: a study sets the true alphas of a generated
        book here (the oracle of :mod:`fialloc.decision_study`), or zeros for an allocation
        without skill evidence.

        Raises
        ------
        ValueError
            If `alpha` lacks a manager of the problem or has a non-finite value.
        """
        missing = self.managers.difference(alpha.index)
        if len(missing):
            msg = f"with_alpha: no alpha for manager(s) {list(missing)}"
            raise ValueError(msg)
        return replace(self, alpha=alpha.reindex(self.managers).astype(float))

    @cached_property
    def key_columns(self) -> list[str]:
        """The base currency's key-rate factor columns (``krd_<tenor>y``), shortest first.

        Other currencies' (``krd_EUR_10y``) are factors like the spreads: the liabilities,
        owed in the base currency, have none, and gaps are the base curve's.
        """
        return [c for c in self.exposures.columns if re.fullmatch(r"krd_[0-9.]+y", c)]

    def factor_root(self) -> FloatArray:
        """Return R with R'R = covariance (eigen decomposition, so semi-definite is fine)."""
        return np.array(self._root)

    def _factors(self, w: FloatArray, overlay: npt.ArrayLike | None) -> FloatArray:
        x = self.exposures.to_numpy().T @ w
        return np.asarray(x if overlay is None else x + np.asarray(overlay, dtype=float))

    def tracking_error(self, w: npt.ArrayLike, overlay: npt.ArrayLike | None = None) -> float:
        """Annualized tracking error (decimal) of weights `w` against the liabilities.

        `overlay` is an extension's factor exposure (years of assets, one per factor), added
        to the managers'.
        """
        w = np.asarray(w, dtype=float)
        active = self._factors(w, overlay) - self.liability.to_numpy()
        var = active @ self.covariance.to_numpy() @ active + np.sum(
            (w * self.residual_vol.to_numpy()) ** 2
        )
        return float(np.sqrt(max(var, 0.0)))

    def surplus_vol(self, w: npt.ArrayLike, overlay: npt.ArrayLike | None = None) -> float:
        """Annualized volatility (money) of the surplus change under weights `w` (and overlay)."""
        w = np.asarray(w, dtype=float)
        x = self._factors(w, overlay) * self.assets - self.liability.to_numpy() * self.liabilities
        var = x @ self.covariance.to_numpy() @ x + np.sum(
            (w * self.residual_vol.to_numpy() * self.assets) ** 2
        )
        return float(np.sqrt(max(var, 0.0)))

    def liquid_buffer(self, w: npt.ArrayLike, level1: float = 0.0) -> float:
        """Return the LCR buffer after haircuts and Level 2 caps as a share of assets (decimal).

        `level1` (share of assets) is added to the Level 1 assets: STRIPS in, margin out.
        """
        levels = self.hqla.to_numpy().T @ np.asarray(w, dtype=float)
        return float(min(hqla_bounds(levels[0] + level1, levels[1], levels[2])))

    @cached_property
    def key_tenors(self) -> list[str]:
        """Tenor labels of :attr:`key_columns` (``10y``), as the gap tables index them."""
        return [k.removeprefix("krd_") for k in self.key_columns]

    @cached_property
    def _key_positions(self) -> npt.NDArray[np.intp]:
        return np.asarray(
            self.exposures.columns.get_indexer(pd.Index(self.key_columns)), dtype=np.intp
        )

    def key_gaps(self, w: npt.ArrayLike, overlay: npt.ArrayLike | None = None) -> FloatArray:
        """Key-rate gaps of weights `w` (years of assets), one per :attr:`key_columns`.

        The ``gap`` column of :meth:`gaps` (:func:`fialloc.analytics.duration_gaps.key_rate_gap`)
        without building its table: limits and summaries read it many times a solve.
        """
        at = self._key_positions
        asset_krd = self._factors(np.asarray(w, dtype=float), overlay)[at]
        lia = self.liability.to_numpy(dtype=float)[at]
        return np.asarray(key_rate_gap(asset_krd, lia, self.assets, self.liabilities))

    def gaps(self, w: npt.ArrayLike, overlay: npt.ArrayLike | None = None) -> pd.DataFrame:
        """Key-rate gaps of weights `w` (:func:`fialloc.analytics.duration_gaps.krd_gaps`).

        `overlay` is an extension's factor exposure (years of assets), added to the managers'.
        """
        keys = self.key_columns
        at = np.flatnonzero(self.exposures.columns.isin(keys))
        asset_krd = pd.Series(self._factors(np.asarray(w, dtype=float), overlay)[at])
        asset_krd.index = pd.Index([k.removeprefix("krd_") for k in keys], name="tenor")
        lia = self.liability[keys].set_axis(asset_krd.index)
        return krd_gaps(asset_krd, self.assets, lia, self.liabilities)


def _factor_exposures(ctx: DeskContext, share: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Return managers by factors (years), and the liabilities' (per unit of liabilities).

    Key rates, spread duration by rating letter (credit sectors only), then other currencies'
    key rates and FX: exposures the liabilities (in the base) do not have.
    """
    keys = ctx.key_columns
    sec = ctx.securities
    letter = sec["rating"].map(rating_letter)
    credit = ~sec["sector"].isin(GOVERNMENT_SECTORS)
    sd = pd.DataFrame(
        {
            f"sd_{x}": sec["spread_duration"].where((letter == x) & credit, 0.0)
            for x in RATING_LETTERS
        }
    )
    currency = ctx.managers[[*ctx.currency_key_columns, *ctx.fx_columns]]
    exposures = pd.concat([ctx.managers[keys], share @ sd.loc[share.columns], currency], axis=1)
    lia = ctx.liabilities.iloc[0]
    liability = pd.concat(
        [lia[keys].astype(float), pd.Series(0.0, index=[*sd.columns, *currency.columns])]
    )
    return exposures, liability


def _evidence(evidence: pd.DataFrame | None, managers: pd.Index) -> pd.DataFrame:
    """Return the evidence columns the optimizer reads, per manager (0 where none), checked."""
    if evidence is None:
        evidence = pd.DataFrame(0.0, index=managers, columns=list(EVIDENCE_COLUMNS))
    absent = [c for c in EVIDENCE_COLUMNS if c not in evidence.columns]
    if absent:
        msg = f"build_problem: evidence lacks the column(s) {absent}"
        raise ValueError(msg)
    read = evidence[list(EVIDENCE_COLUMNS)].reindex(managers).fillna(0.0).astype(float)
    if not np.all(np.isfinite(read.to_numpy())):
        bad = read.index[~np.isfinite(read.to_numpy()).all(axis=1)][0]
        msg = f"build_problem: evidence for manager {bad!r} is not finite"
        raise ValueError(msg)
    return read


def build_problem(
    ctx: DeskContext,
    evidence: pd.DataFrame | None = None,
    covariance: pd.DataFrame | None = None,
    trading_days: float = 30.0,
) -> AllocationProblem:
    """Assemble the optimizer's inputs from a portfolio's analytics.

    Factors are the key rates (zero-rate moves at the key tenors) and the credit spreads by
    rating; their covariance (annualized, decimal rates squared) is `covariance` if given
    (e.g. :func:`fialloc.factor_covariance.scenario_covariance`), else the monthly market
    history's (:func:`fialloc.factor_covariance.history_covariance`).

    `evidence` is the performance desk's skill evidence, indexed by manager
    (:func:`fialloc.desks.performance.manager_evidence`): the optimizer reads
    ``alpha_posterior`` (expected selection alpha, decimal a year) and ``residual_vol`` (the
    volatility of the excess return the factors do not explain, annual decimal: the factor
    part of a manager's risk is already in its exposures). Without it every manager's alpha
    is 0 and residual risk is left out. A manager the table lacks gets alpha 0 and no
    residual risk.

    Raises
    ------
    ValueError
        If the evidence lacks a column the optimizer reads or has a non-finite value, or the
        covariance lacks a factor.
    """
    p = ctx.portfolio
    managers = ctx.managers.index
    sec = ctx.securities
    share = p.market_values.div(p.market_values.sum(axis=1), axis=0)
    exposures, liability = _factor_exposures(ctx, share)
    if covariance is None:
        covariance = history_covariance(p, list(p.analytics.key_tenors))
    missing = [f for f in exposures.columns if f not in covariance.index]
    if missing:
        msg = f"build_problem: the factor covariance has no rows for {missing}"
        raise ValueError(msg)
    read = _evidence(evidence, managers)
    held = p.securities.loc[share.columns]
    levels = pd.DataFrame(
        hqla_levels(np.ones(len(held)), list(held["liquidity_tier"])),
        index=share.columns,
        columns=list(HQLA_LEVELS),
    )
    illiquid = share @ (held["liquidity_tier"] == "illiquid").astype(float)
    losses = p.mandate.credit_loss
    loss = expected_loss_rate(
        held["rating"], held["sector"], losses.default_probability, losses.loss_given_default
    )
    costs = manager_cost_coefficients(
        p.market_values, p.securities["bid_ask_bp"], p.securities["adv"], trading_days
    ).reindex(managers)
    sectors = share.T.groupby(sec["sector"].loc[share.columns]).sum().T
    return AllocationProblem(
        exposures=exposures.loc[managers],
        liability=liability,
        covariance=covariance.loc[exposures.columns, exposures.columns],
        residual_vol=read["residual_vol"],
        yields=ctx.managers["ytm"],
        expected_loss=(share @ loss).reindex(managers),
        alpha=read["alpha_posterior"],
        trading_cost=costs["linear"],
        trading_impact=costs["impact"] * np.sqrt(ctx.total_assets),
        tradable_share=(share @ (held["adv"] > 0).astype(float)).reindex(managers),
        hqla=(share @ levels).reindex(managers),
        illiquid_share=illiquid.reindex(managers),
        notch=ctx.manager_notches.reindex(managers),
        sectors=sectors.reindex(managers),
        current=(p.current_weights / p.current_weights.sum()).reindex(managers),
        assets=ctx.total_assets,
        liabilities=float(ctx.liabilities.iloc[0]["market_value"]),
    )
