"""The validated inputs of one run, and the views of them the desks and optimizer use."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.annuities import (
    AnnuityBlocks,
    BehaviourRisk,
    MortalityTable,
    behaviour_risk,
    expected_flows,
)
from fialloc.bonds import BondAnalytics, BondBook, CashflowStream, krd_column
from fialloc.callables import (
    ExerciseSchedule,
    exercise_schedule,
    option_adjusted,
    option_adjusted_columns,
)
from fialloc.curve_set import CurveSet, build_curve_set
from fialloc.curves import (
    Curve,
    Extrapolation,
    Interpolation,
    bootstrap,
    curve_from_points,
    log_discount_factors,
)
from fialloc.data.fx import fx_rates
from fialloc.data.mandate import Mandate
from fialloc.data.observed_prices import valuation_prices
from fialloc.data.vocabulary import GOVERNMENT_SECTORS, rating_letter
from fialloc.inflation import (
    INDEX_CONVENTIONS,
    BreakevenCurve,
    LinkerBook,
    cpi_fixings,
    index_linked,
    with_real_curves,
)
from fialloc.schedule import parse_tenor

if TYPE_CHECKING:
    from fialloc.hull_white import HullWhite
    from fialloc.mbs import MbsValuation
    from fialloc.option_values import OptionValues

__all__ = ["Portfolio", "todays_curve"]

#: The risk measures an option model replaces in :attr:`Portfolio.analytics`.
_RISK = ("effective_duration", "effective_convexity", "spread_duration")
#: The base currency's zero series in the market history: zero_<years>y.
_BASE_ZERO = r"zero_[0-9.]+y"


@dataclass(frozen=True, eq=False)
class Portfolio:
    """Everything one run reads: holdings, securities, liabilities, market and manager data.

    Build it with :func:`fialloc.data.load` or :func:`fialloc.data.demo`; tables are already
    validated. Securities and managers are indexed by their ids. The optional histories
    (``holdings_history``, ``benchmark_holdings``, ``security_spreads``) feed the
    holdings-based attribution desk; ``benchmarks`` names the benchmarks the managers table's
    ``benchmark`` column refers to, described by ``benchmark_holdings`` (constituents) or
    ``benchmark_characteristics``; ``prices`` holds observed prices (today's set market
    values and spreads, see :attr:`spread_sources`; a history month's set that month's
    spreads). Today's curve comes from ``curve_points`` (the ``curve`` table: zero rates,
    discount factors or par yields) when given, else from ``curve_quotes``;
    ``interpolation`` and ``extrapolation`` apply to either. ``overlay_futures`` (optional)
    holds the Treasury futures the duration overlay may hold
    (:func:`fialloc.data.futures.default_futures` when absent). ``fx_spot`` (optional) holds
    the FX spots (and cross-currency bases) of the currencies held besides the mandate's
    ``base_currency``; with it and per-currency ``curve_quotes``, :attr:`curve_set` holds
    every currency's curves, each bond is priced off its currency's government curve and
    every money figure is in the base currency at spot. ``call_schedule`` (optional) holds
    bonds' call and put dates (:attr:`exercise_schedule`, :attr:`option_adjusted`);
    ``liability_products`` and ``mortality`` (optional, together) hold annuity blocks whose
    flows respond to rates and mortality (:attr:`liability_flows`, :attr:`behaviour_risk`).
    ``mbs_pools`` (optional) describes the agency pass-throughs among the securities: their
    risk measures in :attr:`analytics` are option-adjusted (:attr:`mbs_valuation`);
    ``pool_factors`` (optional) their factors at month-ends of the holdings history (the
    attribution's prepayment effect).
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
    prices: pd.DataFrame | None = None
    benchmarks: pd.DataFrame | None = None
    benchmark_characteristics: pd.DataFrame | None = None
    overlay_futures: pd.DataFrame | None = None
    mbs_pools: pd.DataFrame | None = None
    pool_factors: pd.DataFrame | None = None
    linkers: pd.DataFrame | None = None
    cpi_history: pd.DataFrame | None = None
    inflation_swaps: pd.DataFrame | None = None
    fx_spot: pd.DataFrame | None = None
    call_schedule: pd.DataFrame | None = None
    liability_products: pd.DataFrame | None = None
    mortality: pd.DataFrame | None = None

    @cached_property
    def curve_set(self) -> CurveSet:
        """Today's curves of every currency and the FX spots into the base currency.

        The base currency's government curve comes through the curve points if given, else
        from the quotes; every other curve from the quotes
        (:func:`fialloc.curve_set.build_curve_set`). With linkers, a currency whose quotes
        give no real curve gets its linkers' index's: the government curve less the
        breakevens (:func:`fialloc.inflation.with_real_curves`).
        """
        currencies = self.securities.drop_duplicates("security_id").set_index("security_id")
        linked = {}
        if self.linkers is not None:
            linked = dict(
                zip(
                    self.linkers["index"],
                    currencies["currency"].reindex(self.linkers["security_id"]),
                    strict=True,
                )
            )
        return with_real_curves(self._nominal_curve_set, self.breakeven_curves, linked)

    @cached_property
    def _nominal_curve_set(self) -> CurveSet:
        base = self.mandate.base_currency
        spots, bases = fx_rates(self.fx_spot, base)
        points = None
        if self.curve_points is not None or self.curve_quotes is None:
            points = todays_curve(
                self.valuation_date,
                self.curve_points,
                self.curve_quotes,
                self.interpolation,
                self.extrapolation,
            )
            if self.curve_quotes is None:
                return CurveSet(
                    self.valuation_date, base, {(base, "government"): points}, spots, bases
                )
        return build_curve_set(
            self.curve_quotes,
            self.valuation_date,
            base,
            spots,
            bases,
            self.interpolation,
            self.extrapolation,
            base_curve=points,
        )

    @cached_property
    def curve(self) -> Curve:
        """Today's discount curve of the base currency (its government curve)."""
        return self.curve_set.curve(self.mandate.base_currency)

    @cached_property
    def currencies(self) -> pd.Series:
        """Each held bond's currency (book order)."""
        codes: pd.Series = self.securities.loc[self.book.security_ids, "currency"].astype(str)
        return codes

    @cached_property
    def fx_to_base(self) -> pd.Series:
        """Base-currency units per unit of each held bond's currency, at spot (book order)."""
        cs = self.curve_set
        rates = {c: cs.spot(c) for c in self.currencies.unique()}
        return self.currencies.map(rates).astype(float)

    @cached_property
    def currency_books(self) -> list[tuple[str, npt.NDArray[np.int64], BondBook]]:
        """(currency, positions in the book, sub-book) for each currency held, base first.

        A book in one currency is its own sub-book, so a single-currency run prices exactly
        as before.
        """
        codes = self.currencies.to_numpy()
        held = [c for c in self.curve_set.currencies if c in set(codes)]
        held += sorted(set(codes) - set(held))  # no FX spot: curve_set names it below
        if len(held) == 1:
            return [(held[0], np.arange(len(codes)), self.book)]
        # Taken from the book, so linkers keep their flows in money.
        return [(c, at := np.flatnonzero(codes == c), self.book.take(at)) for c in held]

    def dirty_prices(self, z_spread: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Dirty prices per 100 face of the held bonds (book order), in their own currencies.

        Each bond is priced off its currency's government curve plus its `z_spread` (decimal).
        """
        z = np.broadcast_to(np.asarray(z_spread, dtype=np.float64), (len(self.book),))
        out = np.empty(len(self.book))
        for currency, at, book in self.currency_books:
            out[at] = book.dirty_prices(self.curve_set.curve(currency), np.ascontiguousarray(z[at]))
        return out

    @cached_property
    def model_spreads(self) -> pd.Series:
        """Each security's spread (decimal) without prices: its ``z_spread``, else by rating.

        Per bond: a missing ``z_spread`` falls back to its letter rating's spread in
        ``spreads`` (zero for government sectors) for that bond only.
        """
        letters = self.securities["rating"].map(rating_letter)
        by_rating = letters.map(self.spreads.set_index("rating")["spread"]).astype(float)
        by_rating[self.securities["sector"].isin(GOVERNMENT_SECTORS)] = 0.0
        if "z_spread" not in self.securities.columns:
            return by_rating
        given = self.securities["z_spread"].astype(float)
        return given.where(given.notna(), by_rating)

    @cached_property
    def observed_prices(self) -> pd.DataFrame:
        """Observed prices at the valuation date, by security: price, price_type, source."""
        return valuation_prices(self.holdings, self.prices, self.valuation_date)

    @cached_property
    def spread_sources(self) -> pd.DataFrame:
        """Where each held bond's spread comes from, in book order.

        Precedence: an observed price at the valuation date (``price``; the z-spread is solved
        from it off today's curve), the security master's ``z_spread``, the spread of the
        bond's letter rating (``rating``; ``government`` for government sectors, spread 0).

        Returns
        -------
        DataFrame
            Indexed by security id: ``source``, ``z_spread`` (decimal), ``price`` (observed,
            per 100 face, NaN unless priced), ``price_type``, ``price_source`` and
            ``dirty_price`` (the observed price with accrued interest, per 100 face).
        """
        book = self.book
        ids = book.security_ids
        sec = self.securities.loc[ids]
        observed = self.observed_prices.reindex(ids)
        dirty = observed["price"].to_numpy(dtype=float).copy()
        linkers = self.linker_book
        if linkers is not None:  # a linker's price is quoted real: times today's index ratio
            ratio = linkers.index_ratios(self.breakeven_curves)
            dirty[ids.get_indexer(linkers.security_ids)] *= ratio
        clean = (observed["price_type"] == "clean").to_numpy()
        dirty[clean] += book.accrued[clean]
        solved = np.empty(len(ids))
        for currency, at, sub in self.currency_books:
            solved[at] = sub.z_spreads(
                self.curve_set.curve(currency), np.ascontiguousarray(dirty[at])
            )
        priced = np.isfinite(dirty)
        # Spreads are decimals below 100%: a price implying more is not a price per 100 face.
        wild = np.flatnonzero(priced & (np.abs(np.nan_to_num(solved)) >= 1.0))
        if len(wild):
            listed = ", ".join(
                f"{ids[i]} at {observed['price'].iloc[i]:g} ({solved[i]:.0%})" for i in wild[:10]
            )
            msg = (
                f"prices: {listed} imply z-spreads of 100% or more over today's curve; "
                "prices are per 100 face"
            )
            raise ValueError(msg)
        has_z = (
            sec["z_spread"].notna().to_numpy()
            if "z_spread" in sec.columns
            else np.zeros(len(ids), dtype=bool)
        )
        government = sec["sector"].isin(GOVERNMENT_SECTORS).to_numpy()
        source = np.select(
            [priced, has_z, government], ["price", "z_spread", "government"], default="rating"
        )
        model = self.model_spreads.reindex(ids).to_numpy(dtype=float)
        return pd.DataFrame(
            {
                "source": source,
                "z_spread": np.where(priced, solved, model),
                "price": observed["price"].to_numpy(dtype=float),
                "price_type": observed["price_type"].to_numpy(dtype=object),
                "price_source": observed["source"].to_numpy(dtype=object),
                "dirty_price": dirty,
            },
            index=ids,
        )

    @cached_property
    def z_spreads(self) -> pd.Series:
        """Each security's z-spread (decimal) by the precedence of :attr:`spread_sources`.

        Held bonds take theirs from :attr:`spread_sources`; bonds not held today (matured or
        sold ones in the master) keep :attr:`model_spreads`.
        """
        z = self.model_spreads.copy()
        held = self.spread_sources["z_spread"]
        z.loc[held.index] = held.to_numpy()
        return z

    @cached_property
    def base_curve_spreads(self) -> pd.Series:
        """Each held bond's spread (decimal) over the base currency's curve (book order).

        A base-currency bond's is its z-spread; another currency's is the spread over the base
        curve that reprices its value today: how a bond rides paths of the base currency's
        rates alone. The run's paths simulate every currency held
        (:mod:`fialloc.currency_paths`), where each bond carries its spread over its own
        economy's curve instead.
        """
        z = self.z_spreads.reindex(self.book.security_ids).to_numpy(dtype=float).copy()
        foreign = (self.currencies != self.mandate.base_currency).to_numpy()
        if foreign.any():
            dirty = np.full(len(z), np.nan)
            dirty[foreign] = self.analytics.dirty_price[foreign]
            z[foreign] = self.book.z_spreads(self.curve, dirty)[foreign]
        return pd.Series(z, index=self.book.security_ids)

    @cached_property
    def hedge_ratios(self) -> pd.DataFrame:
        """Share (0..1) of each holding's value hedged into the base currency by FX forwards.

        Managers (rows) by held securities (columns, book order), from the holdings'
        ``hedge_ratio`` (0 where absent or not given); base-currency bonds need no hedge and
        count 0 whatever the table says.
        """
        ids = self.book.security_ids
        if "hedge_ratio" not in self.holdings.columns:
            return pd.DataFrame(0.0, index=self.managers.index, columns=ids)
        table = self.holdings.pivot_table(
            index="manager_id", columns="security_id", values="hedge_ratio", aggfunc="first"
        )
        table = table.reindex(index=self.managers.index, columns=ids).fillna(0.0).astype(float)
        table.loc[:, (self.currencies == self.mandate.base_currency).to_numpy()] = 0.0
        return table

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
    def holding_shares(self) -> pd.DataFrame:
        """Each manager's share of each security's total face: managers by securities.

        Columns sum to 1 for held securities; securities nobody holds get zeros. One
        definition for every sleeve revaluation (stresses, paths) and the run folder.
        """
        face = self.face
        return face.div(face.sum(axis=0).replace(0.0, np.nan), axis=1).fillna(0.0)

    @cached_property
    def book(self) -> BondBook:
        """Every security with the total face held across managers.

        Inflation-linked bonds pay their real flows times the forecast index ratio (money
        at today's breakevens, see :func:`fialloc.inflation.index_linked`).
        """
        frame = self.securities.reset_index(drop=True)
        frame["face"] = self.face.sum(axis=0).to_numpy()
        frame = frame[frame["face"] > 0]
        book = BondBook.from_frame(frame, self.valuation_date)
        linkers = self.linker_book
        return book if linkers is None else index_linked(book, linkers, self.breakeven_curves)

    @cached_property
    def breakeven_curves(self) -> dict[str, BreakevenCurve]:
        """Each price index's fixings and breakeven curve.

        From the index's ``inflation_swaps`` quotes; an index without any takes the curve
        that reprices its held government linkers' observed prices at the valuation date
        (:meth:`fialloc.inflation.BreakevenCurve.from_linkers`, off the currency's government
        curve). Empty without linkers. The swaps' observation lag is the index's market
        convention (:data:`fialloc.inflation.INDEX_CONVENTIONS`; 3 months for an index not
        listed).
        """
        if self.linkers is None or self.cpi_history is None:
            return {}
        curves = {}
        swaps = self.inflation_swaps
        for index, quotes in () if swaps is None else swaps.groupby("index", sort=True):
            name = str(index)
            convention = INDEX_CONVENTIONS.get(name)
            years = quotes["tenor"].map(lambda tenor: parse_tenor(str(tenor), "inflation_swaps"))
            ordered = quotes.iloc[np.argsort([n if unit == "Y" else -1 for n, unit in years])]
            curves[name] = BreakevenCurve.from_swaps(
                ordered,
                cpi_fixings(self.cpi_history, name),
                name,
                self.valuation_date,
                lag_months=3 if convention is None else convention.lag_months,
            )
        for index in sorted(set(self.linkers["index"].astype(str)) - set(curves)):
            curves[index] = self._breakevens_from_prices(index, self.cpi_history)
        return curves

    def _breakevens_from_prices(self, index: str, history: pd.DataFrame) -> BreakevenCurve:
        """Return `index`'s breakeven curve from its held government linkers' prices today."""
        frame = self._linker_frame
        if frame is None:
            frame = pd.DataFrame(columns=["security_id", "index", "sector", "currency"])
        rows = frame[(frame["index"] == index) & frame["sector"].isin(GOVERNMENT_SECTORS)]
        observed = self.observed_prices.reindex(rows["security_id"])
        rows = rows[observed["price"].notna().to_numpy()]
        if rows.empty or rows["currency"].nunique() != 1:
            msg = (
                f"index {index!r}: no inflation swaps and no price at {self.valuation_date} "
                "of a held government linker in one currency to build its breakeven curve from"
            )
            raise ValueError(msg)
        book = LinkerBook.from_frame(rows.reset_index(drop=True), self.valuation_date)
        quote = observed.loc[rows["security_id"]]
        real_clean = quote["price"].to_numpy(dtype=float) - np.where(
            (quote["price_type"] == "dirty").to_numpy(), book.real.accrued, 0.0
        )
        nominal = self._nominal_curve_set.curve(str(rows["currency"].iloc[0]))
        fixings = cpi_fixings(history, index)
        return BreakevenCurve.from_linkers(book, real_clean, nominal, fixings, index)

    @cached_property
    def _linker_frame(self) -> pd.DataFrame | None:
        """The held linkers' bond terms and index terms, with the face held in total."""
        if self.linkers is None or self.linkers.empty:
            return None
        held = self.face.sum(axis=0)
        terms = self.linkers.set_index("security_id")
        ids = [sid for sid in terms.index if held.get(sid, 0.0) > 0]
        if not ids:
            return None
        frame = self.securities.loc[ids].reset_index(drop=True)
        frame = pd.concat([frame, terms.loc[ids].reset_index(drop=True)], axis=1)
        frame["face"] = held[ids].to_numpy()
        return frame

    @cached_property
    def linker_book(self) -> LinkerBook | None:
        """The inflation-linked bonds held today, in real terms (None without any)."""
        frame = self._linker_frame
        return None if frame is None else LinkerBook.from_frame(frame, self.valuation_date)

    def linker_analytics_at(self, curves: Mapping[str, BreakevenCurve]) -> pd.DataFrame | None:
        """Return the held linkers' analytics on breakeven `curves` (None without linkers).

        Each linker is priced off its currency's government curve at its z-spread
        (:attr:`z_spreads`; see :meth:`fialloc.inflation.LinkerBook.analyze`);
        ``market_value`` is in the base currency at FX spot, prices in the bond's own.
        """
        frame, linkers = self._linker_frame, self.linker_book
        if frame is None or linkers is None:
            return None
        groups = list(frame.groupby("currency", sort=False))
        parts = []
        for currency, rows in groups:
            book = linkers if len(groups) == 1 else LinkerBook.from_frame(rows, self.valuation_date)
            z = self.z_spreads.reindex(book.security_ids).to_numpy(dtype=float)
            table = book.analyze(
                self.curve_set.curve(str(currency)), curves, z, key_tenors=self.mandate.key_tenors
            )
            table["market_value"] *= self.curve_set.spot(str(currency))
            parts.append(table)
        return pd.concat(parts).reindex(linkers.security_ids)

    @cached_property
    def linker_analytics(self) -> pd.DataFrame | None:
        """Real prices, yields, breakevens and durations of the held linkers (or None).

        At today's breakeven curves (:meth:`linker_analytics_at`).
        """
        return self.linker_analytics_at(self.breakeven_curves)

    @cached_property
    def exercise_schedule(self) -> ExerciseSchedule:
        """The book's live call and put dates (:func:`fialloc.callables.exercise_schedule`)."""
        return exercise_schedule(self.book, self.call_schedule)

    @cached_property
    def lattice_models(self) -> dict[str, HullWhite]:
        """The Hull-White lattice model of each currency whose bonds have a live option.

        Fitted to today's government curve of the currency and to the ATM swaption vols a
        G2++ model (default parameters) on that curve implies.
        """
        # Local imports: the scenario models read the data vocabulary, which loads this module.
        from fialloc.hull_white import HullWhite
        from fialloc.scenarios import G2pp

        schedule = self.exercise_schedule
        return {
            currency: HullWhite.from_g2(G2pp(self.curve_set.curve(currency)))[0]
            for currency, at, _ in self.currency_books
            if schedule.select(at).has_option.any()
        }

    @cached_property
    def option_values(self) -> OptionValues:
        """The held pools and callables, to revalue with their models on moved curves.

        Pools on the paths of :attr:`mbs_valuation` at their OAS, callables on
        :attr:`lattice_models` at theirs (:mod:`fialloc.option_values`).
        """
        from fialloc.mbs import MbsPools, valuation_paths
        from fialloc.option_values import CallableGroup, OptionValues, PoolGroup

        prices = self.analytics_to_maturity.dirty_price
        ids = self.book.security_ids
        groups: list[PoolGroup | CallableGroup] = []
        mbs = self.mbs_valuation
        if mbs is not None and self.mbs_pools is not None:
            terms = self.mbs_pools.set_index("security_id", drop=False)
            pools = MbsPools.from_frame(terms.loc[list(mbs.ids)].reset_index(drop=True))
            rows = ids.get_indexer(mbs.ids)
            currency = str(self.currencies.iloc[rows[0]])
            curve = self.curve_set.curve(currency)
            paths = valuation_paths(pools, curve)
            groups.append(PoolGroup(currency, rows, pools, mbs.oas, paths, prices[rows], curve))
        oa = self.option_adjusted
        for currency, model in self.lattice_models.items():
            mine = oa[oa["currency"] == currency]
            rows = ids.get_indexer(mine.index)
            groups.append(
                CallableGroup(
                    currency,
                    rows,
                    self.book.take(rows),
                    self.exercise_schedule.select(rows),
                    model,
                    mine["oas"].to_numpy(dtype=float),
                    prices[rows],
                )
            )
        return OptionValues(tuple(groups))

    @cached_property
    def option_adjusted(self) -> pd.DataFrame:
        """OAS and option-adjusted risk of the held bonds with a live option.

        Valued at their market dirty price on a Hull-White lattice fitted to today's
        government curve of each bond's currency and to the ATM swaption vols of a G2++
        model (default parameters) on that curve, so the lattice sees the same option market
        as the scenario paths; key-rate durations at the mandate's key tenors on that curve.
        See :func:`fialloc.callables.option_adjusted` for the columns, to which this adds
        ``currency`` and the measures of the same flows to maturity at the bond's z-spread
        (``duration_to_maturity``, ``convexity_to_maturity``).
        """
        bullets = self.analytics_to_maturity
        schedule = self.exercise_schedule
        extra = ["currency", "duration_to_maturity", "convexity_to_maturity"]
        parts = []
        for currency, at, book in self.currency_books:
            mine = schedule.select(at)
            if not mine.has_option.any():
                continue
            table = option_adjusted(
                book,
                mine,
                self.lattice_models[currency],
                bullets.dirty_price[at],
                key_tenors=self.mandate.key_tenors,
            )
            rows = self.book.security_ids.get_indexer(table.index)
            table[extra[0]] = currency
            table[extra[1]] = bullets.effective_duration[rows]
            table[extra[2]] = bullets.effective_convexity[rows]
            parts.append(table)
        if not parts:
            columns = [*option_adjusted_columns(self.mandate.key_tenors), *extra]
            return pd.DataFrame(columns=columns, index=self.book.security_ids[:0])
        return pd.concat(parts)

    @cached_property
    def analytics(self) -> BondAnalytics:
        """Per-security analytics off today's curve and z-spreads (book order).

        Held MBS pools (``mbs_pools``) and bonds with a live call or put (``call_schedule``)
        keep their price and z-spread but take their effective duration, effective convexity,
        spread duration (to the OAS), key-rate durations and DV01 (effective duration x
        market value x 1 bp) from their models, with the OAS held: :attr:`mbs_valuation`
        (Monte Carlo on G2++ paths) and :attr:`option_adjusted` (the Hull-White lattice of
        the bond's currency). One definition of a security's rate risk, option-adjusted where
        there is an option, for every desk, the optimizer and the outputs.
        """
        bullets = self.analytics_to_maturity
        models: list[tuple[pd.Index, dict[str, npt.NDArray[np.float64]]]] = []
        mbs = self.mbs_valuation
        if mbs is not None:
            models.append(
                (mbs.ids, {name: getattr(mbs, name) for name in _RISK} | {"krd": mbs.krd})
            )
        oa = self.option_adjusted
        if not oa.empty:
            keys = [krd_column(t) for t in self.mandate.key_tenors]
            columns = {name: oa[name].to_numpy(dtype=float) for name in _RISK}
            models.append((oa.index, columns | {"krd": oa[keys].to_numpy(dtype=float)}))
        if not models:
            return bullets
        out = {name: getattr(bullets, name).copy() for name in (*_RISK, "dv01", "krd")}
        for ids, values in models:
            rows = self.book.security_ids.get_indexer(ids)
            for name, column in values.items():
                out[name][rows] = column
            out["dv01"][rows] = out["effective_duration"][rows] * bullets.market_value[rows] * 1e-4
        return dataclasses.replace(bullets, **out)

    @cached_property
    def mbs_valuation(self) -> MbsValuation | None:
        """Option-adjusted analytics of the held pools of ``mbs_pools`` (None without any).

        Each pool's OAS is solved from its dirty price (observed, or off its z-spread) by
        :func:`fialloc.mbs.value_on_curve`: G2++ paths on today's government curve of the
        pools' currency, the default prepayment model, 25 bp bumps (parallel and key-rate
        tents at the mandate's key tenors) with the OAS held.
        """
        if self.mbs_pools is None or self.mbs_pools.empty:
            return None
        # Local import: the valuation builds on the scenario model, which reads this package.
        from fialloc.mbs import MbsPools, value_on_curve

        held = self.mbs_pools[self.mbs_pools["security_id"].isin(self.book.security_ids)]
        if held.empty:
            return None
        pools = MbsPools.from_frame(held)
        rows = self.book.security_ids.get_indexer(pools.ids)
        # Agency pools share one currency (USD); their paths run on its government curve.
        currencies = sorted(set(self.securities.loc[list(pools.ids), "currency"]))
        if len(currencies) != 1:
            listed = ", ".join(currencies)
            msg = f"mbs_pools: the pools are in {listed}; pools must share one currency"
            raise ValueError(msg)
        return value_on_curve(
            pools,
            self.curve_set.curve(currencies[0]),
            prices=self.analytics_to_maturity.dirty_price[rows],
            key_tenors=self.mandate.key_tenors,
        )

    @cached_property
    def analytics_to_maturity(self) -> BondAnalytics:
        """Analytics of every security's scheduled flows to maturity, options ignored.

        What :attr:`analytics` starts from; its prices are the run's, its risk measures a
        bullet's (the duration desk shows them beside the option-adjusted ones).
        """
        sources = self.spread_sources
        z = sources["z_spread"].to_numpy()
        parts = [
            (
                at,
                book.analyze(
                    self.curve_set.curve(currency),
                    z_spread=np.ascontiguousarray(z[at]),
                    key_tenors=self.mandate.key_tenors,
                ),
            )
            for currency, at, book in self.currency_books
        ]
        analytics = parts[0][1] if len(parts) == 1 else _stacked(parts, self.book.security_ids)
        # The observed value stands; the solved spread reprices it to 1e-12 per 100.
        observed = (sources["source"] == "price").to_numpy()
        dirty = np.where(observed, sources["dirty_price"].to_numpy(), analytics.dirty_price)
        return dataclasses.replace(
            analytics,
            dirty_price=dirty,
            clean_price=dirty - analytics.accrued,
            market_value=dirty * self.book.face / 100.0 * self.fx_to_base.to_numpy(),
            dv01=analytics.dv01 * self.fx_to_base.to_numpy(),
        )

    @cached_property
    def liability_stream(self) -> CashflowStream:
        """The liabilities as a cash-flow stream (:attr:`liability_flows`)."""
        return CashflowStream.from_frame(self.liability_flows, self.valuation_date)

    @cached_property
    def annuity_blocks(self) -> tuple[AnnuityBlocks, MortalityTable] | None:
        """The annuity blocks and their mortality, None without ``liability_products``."""
        if self.liability_products is None or self.mortality is None:
            return None
        return (
            AnnuityBlocks.from_frame(self.liability_products, self.valuation_date),
            MortalityTable.from_frame(self.mortality),
        )

    @cached_property
    def liability_flows(self) -> pd.DataFrame:
        """Liability cash flows by date (money): the fixed flows plus the annuity blocks'.

        The blocks' flows are projected on today's forward rates
        (:func:`fialloc.annuities.expected_flows`); without blocks, the fixed flows as given.
        """
        if self.annuity_blocks is None:
            return self.liabilities
        flows = expected_flows(*self.annuity_blocks, self.curve)
        both = pd.concat([self.liabilities[["date", "amount"]], flows], ignore_index=True)
        summed = both.groupby("date", sort=True)["amount"].sum()
        return pd.DataFrame({"date": summed.index, "amount": summed.to_numpy()})

    @cached_property
    def behaviour_risk(self) -> BehaviourRisk | None:
        """Liability value and risk with the annuity blocks projected on G2++ paths.

        2,000 antithetic paths of the run's G2++ model (default parameters, seed 0), parallel
        shifts of 25 bp; None without annuity blocks. See
        :func:`fialloc.annuities.behaviour_risk`.
        """
        if self.annuity_blocks is None:
            return None
        from fialloc.scenarios import G2pp  # local: see option_adjusted

        fixed = CashflowStream.from_frame(self.liabilities, self.valuation_date)
        return behaviour_risk(*self.annuity_blocks, fixed, G2pp(self.curve))

    @cached_property
    def market_values(self) -> pd.DataFrame:
        """Market value (base-currency money, at FX spot): managers by securities."""
        price = pd.Series(
            self.analytics.dirty_price / 100.0 * self.fx_to_base.to_numpy(),
            index=self.book.security_ids,
        )
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
            zero = history["series"].str.fullmatch(_BASE_ZERO)
            form = history["form"].where(history["form"].notna(), "zero_continuous")
            for kind in set(form[zero]) - {"zero_continuous"}:
                rows = zero & (form == kind)
                t = history.loc[rows, "series"].str.removeprefix("zero_").str.removesuffix("y")
                years = t.astype(float).to_numpy()
                values = history.loc[rows, "value"].to_numpy(dtype=float)
                log_dfs = log_discount_factors(values, years, kind, "market_history")
                history.loc[rows, "value"] = -log_dfs / years
        # Other currencies' series (zero_EUR_10y) are read by currency_zero_history.
        table = _pivot(history[history["series"].str.fullmatch(_BASE_ZERO)], "zero_")
        table.columns = [float(c.removesuffix("y")) for c in table.columns]
        return table[sorted(table.columns)]

    def currency_zero_history(self, currency: str, tenors: Sequence[float]) -> pd.DataFrame:
        """Monthly continuously compounded zero rates of `currency` at `tenors` (years).

        The base currency's are :meth:`zero_history_at`; another currency's come from the
        series ``zero_<CCY>_<years>y`` (continuously compounded decimals), a tenor it does not
        quote read off each month's curve through the quoted ones (the run's interpolation).
        Months by tenor; empty (no rows) when the history has no such series.
        """
        if currency == self.mandate.base_currency:
            return self.zero_history_at(tenors)
        prefix = f"zero_{currency}_"
        table = _pivot(self.market_history, prefix)
        wanted = [float(t) for t in tenors]
        if table.empty:
            return pd.DataFrame(columns=wanted, dtype=float)
        quoted = np.array([float(c.removesuffix("y")) for c in table.columns])
        order = np.argsort(quoted)
        rows = table.to_numpy(dtype=float)[:, order]
        out = np.full((len(table), len(wanted)), np.nan)
        for i, row in enumerate(rows):
            ok = np.isfinite(row)
            if ok.any():
                curve = Curve.from_zero_rates(
                    quoted[order][ok],
                    row[ok],
                    interpolation=self.interpolation,
                    extrapolation=self.extrapolation,
                )
                out[i] = curve.zero_rate(np.asarray(wanted))
        return pd.DataFrame(out, index=table.index, columns=wanted)

    def fx_history(self, currency: str) -> pd.Series:
        """Monthly FX spot of `currency` (base units per unit) from the series ``fx_<CCY>``.

        Empty when the history has no such series; 1 throughout for the base currency.
        """
        if currency == self.mandate.base_currency:
            months = sorted(set(self.market_history["month"]))
            return pd.Series(1.0, index=pd.Index(months, name="month"), name=currency)
        table = _pivot(
            self.market_history[self.market_history["series"] == f"fx_{currency}"], "fx_"
        )
        if table.empty:
            return pd.Series(dtype=float, name=currency)
        out: pd.Series = table[currency].astype(float).rename(currency)
        return out

    def zero_history_at(self, tenors: Sequence[float]) -> pd.DataFrame:
        """Monthly continuously compounded zero rates at `tenors` (years): months by tenor.

        A tenor the history does not quote is read off each month's curve through the quoted
        ones, with the run's interpolation and extrapolation (today's curve's); quoted tenors
        are returned as given. A month's missing series are left out of its curve.
        """
        history = self.zero_history
        wanted = [float(t) for t in tenors]
        if set(wanted) <= set(history.columns):
            return history[wanted]
        out = np.full((len(history), len(wanted)), np.nan)
        quoted = np.asarray(history.columns, dtype=float)
        for i, row in enumerate(history.to_numpy(dtype=float)):
            ok = np.isfinite(row)
            if ok.any():
                curve = Curve.from_zero_rates(
                    quoted[ok],
                    row[ok],
                    interpolation=self.interpolation,
                    extrapolation=self.extrapolation,
                )
                out[i] = curve.zero_rate(np.asarray(wanted))
        return pd.DataFrame(out, index=history.index, columns=wanted)

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


def _stacked(
    parts: list[tuple[npt.NDArray[np.int64], BondAnalytics]], ids: pd.Index
) -> BondAnalytics:
    """One BondAnalytics in book order from the analytics of disjoint parts of the book."""
    n = len(ids)
    first = parts[0][1]
    arrays: dict[str, npt.NDArray[np.float64]] = {}
    for f in dataclasses.fields(BondAnalytics):
        value = getattr(first, f.name)
        if isinstance(value, np.ndarray):
            out = np.empty((n, *value.shape[1:]))
            for at, part in parts:
                out[at] = getattr(part, f.name)
            arrays[f.name] = out
    return dataclasses.replace(first, ids=ids, **arrays)  # type: ignore[arg-type]


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
    first_row: int = 0,
) -> Curve:
    """Build a run's curve: through the `points` table if given, else from the `quotes`.

    `points` is the ``curve`` table (its ``form`` column says how values are quoted), `quotes`
    the ``curve_quotes`` table. Messages name the table as `where` (empty for none) and its
    first point as row `first_row`.

    Raises
    ------
    ValueError
        When neither is given or the curve cannot be built.
    """
    if points is not None:
        form = str(points["form"].iloc[0])
        return curve_from_points(
            points,
            valuation_date,
            form,
            interpolation,
            extrapolation,
            where=where,
            first_row=first_row,
        )
    if quotes is None:
        msg = "no curve: give the curve points or the curve quotes"
        raise ValueError(msg)
    return bootstrap(quotes, valuation_date, interpolation, extrapolation)
