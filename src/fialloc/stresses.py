"""Deterministic stress scenarios: definitions as data, full revaluation of assets and liabilities.

A scenario moves zero rates (a piecewise-linear shift over maturity, flat beyond its end
points), moves credit spreads by rating, moves breakevens (inflation-linked bonds reprice with
nominal rates held), scales bid-ask spreads and haircuts, or follows a path of parallel shifts
over annual horizons (the New York Regulation 126 set). Definitions live in
``stress_scenarios.json`` next to this module, or in any JSON file or table a user supplies.

Every scenario reprices the whole bond book and the liability stream with the compiled core
(no duration approximation); MBS pools and callable bonds with their models, OAS held
(:mod:`fialloc.option_values`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fialloc.analytics.currency_exposure import HEDGE_TENOR, hedged_shares
from fialloc.bonds import BondBook, CashflowStream
from fialloc.curve_set import CURRENCIES, CurveSet
from fialloc.curves import Curve
from fialloc.data import Portfolio
from fialloc.data.vocabulary import (
    GOVERNMENT_SECTORS,
    RATING_LETTERS,
    normalize_rating,
    rating_letter,
)
from fialloc.distributed import Executor, InProcess
from fialloc.errors import DistributedError
from fialloc.inflation import BreakevenCurve, LinkerBook, index_linked
from fialloc.layout import FloatArray
from fialloc.option_values import OptionValues

__all__ = [
    "DEFAULT_SCENARIO_FILE",
    "StressResult",
    "StressScenario",
    "default_scenarios",
    "load_scenarios",
    "run_stresses",
    "stressed_curve",
    "stressed_curve_set",
]

DEFAULT_SCENARIO_FILE: Final = Path(__file__).with_name("stress_scenarios.json")
#: Key of a scenario's currency moves that applies to every currency but the base.
FOREIGN: Final = "foreign"
_MAX_SHIFT_BP: Final = 2000.0


def base_rating(rating: object) -> str:
    """Return the letter grade of a rating with or without a notch (``"BBB+" -> "BBB"``)."""
    try:
        return rating_letter(normalize_rating(rating))
    except ValueError as exc:
        msg = f"rating: {exc}"
        raise ValueError(msg) from None


class StressScenario(BaseModel):
    """One deterministic scenario.

    Attributes
    ----------
    name : str
        Unique name.
    group : str
        Family for reports (``parallel``, ``curve``, ``credit``, ``liquidity``, ``combined``,
        ``ny7``, ``custom``).
    description : str
        What the scenario does, in words.
    rate_shifts_bp : dict of float to float
        Zero-rate shifts in basis points at maturities in years; linear in between, flat
        outside. A single entry is a parallel shift.
    spread_shifts_bp : dict of str to float
        Credit-spread change in basis points by letter rating (AAA .. CCC); securities in
        government sectors (those priced without a spread) do not move.
    bid_ask_multiplier, haircut_multiplier : float
        Liquidity stress: bid-ask spreads and liquidity haircuts are multiplied by these.
    path_bp : list of float, optional
        Parallel shifts in basis points at horizons 0, 1, 2, ... years (immediate shift first).
    floor_fraction_5y : float, optional
        Downward shifts stop where the 5-year zero rate would fall below this fraction of its
        starting level (0.5 for the NY Regulation 126 set).
    breakeven_shift_bp : float
        Parallel move of every price index's breakeven curve in basis points, nominal rates
        held: inflation-linked bonds reprice, nominal bonds and liabilities do not.
    combine : list of str
        Names of scenarios to apply together (rate, spread and breakeven shifts add,
        multipliers and FX moves multiply).
    currency_rate_shifts_bp : dict of str to dict of float to float
        Zero-rate shifts (as `rate_shifts_bp`) of other currencies' curves, keyed by
        currency (``EUR``) or ``foreign`` (every currency but the base); `rate_shifts_bp`
        moves the base currency's curves only. A currency's government and OIS curves move
        together.
    fx_shifts_pct : dict of str to float
        Moves of other currencies against the base currency in percent (``{"foreign": -15}``:
        every other currency 15% cheaper), keyed like `currency_rate_shifts_bp`; hedged
        value is protected by its FX forwards.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    group: str = "custom"
    description: str = ""
    rate_shifts_bp: dict[float, float] = Field(default_factory=dict)
    spread_shifts_bp: dict[str, float] = Field(default_factory=dict)
    bid_ask_multiplier: float = Field(default=1.0, gt=0.0, le=100.0)
    haircut_multiplier: float = Field(default=1.0, gt=0.0, le=100.0)
    path_bp: list[float] | None = None
    floor_fraction_5y: float | None = Field(default=None, ge=0.0, le=1.0)
    breakeven_shift_bp: float = 0.0
    combine: list[str] = Field(default_factory=list)
    currency_rate_shifts_bp: dict[str, dict[float, float]] = Field(default_factory=dict)
    fx_shifts_pct: dict[str, float] = Field(default_factory=dict)

    @field_validator("currency_rate_shifts_bp")
    @classmethod
    def _check_currency_shifts(
        cls, v: dict[str, dict[float, float]]
    ) -> dict[str, dict[float, float]]:
        out = {}
        for currency, shifts in v.items():
            key = _currency_key(currency, "currency_rate_shifts_bp")
            out[key] = _valid_rate_shifts(shifts, f"currency_rate_shifts_bp[{currency}]")
        return out

    @field_validator("fx_shifts_pct")
    @classmethod
    def _check_fx_shifts(cls, v: dict[str, float]) -> dict[str, float]:
        out = {}
        for currency, pct in v.items():
            key = _currency_key(currency, "fx_shifts_pct")
            if not (np.isfinite(pct) and -100.0 < pct <= 1000.0):
                msg = (
                    f"fx_shifts_pct[{currency}]: {pct} is not a percentage move above -100 "
                    "(15 for a 15% rise of the currency against the base)"
                )
                raise ValueError(msg)
            out[key] = float(pct)
        return out

    @field_validator("rate_shifts_bp")
    @classmethod
    def _check_rate_shifts(cls, v: dict[float, float]) -> dict[float, float]:
        return _valid_rate_shifts(v, "rate_shifts_bp")

    @field_validator("spread_shifts_bp")
    @classmethod
    def _check_spread_shifts(cls, v: dict[str, float]) -> dict[str, float]:
        out = {}
        for rating, shift in v.items():
            key = str(rating).strip().upper()
            if key not in RATING_LETTERS:
                msg = (
                    f"spread_shifts_bp: rating {rating!r} is not one of {', '.join(RATING_LETTERS)}"
                )
                raise ValueError(msg)
            out[key] = _check_bp(shift, f"spread_shifts_bp[{rating}]")
        return out

    @field_validator("breakeven_shift_bp")
    @classmethod
    def _check_breakeven_shift(cls, v: float) -> float:
        return _check_bp(v, "breakeven_shift_bp")

    @field_validator("path_bp")
    @classmethod
    def _check_path(cls, v: list[float] | None) -> list[float] | None:
        if v is not None:
            if not v:
                msg = "path_bp: needs at least the immediate shift"
                raise ValueError(msg)
            for i, shift in enumerate(v):
                _check_bp(shift, f"path_bp[{i}]")
        return v

    def rate_overlay(self) -> tuple[FloatArray, FloatArray]:
        """Knots (years) and zero-rate shifts (decimals) of the immediate rate move."""
        if self.path_bp is not None:
            return np.array([1.0]), np.array([self.path_bp[0] * 1e-4])
        if not self.rate_shifts_bp:
            return np.empty(0), np.empty(0)
        knots = np.array(list(self.rate_shifts_bp), dtype=np.float64)
        values = np.array(list(self.rate_shifts_bp.values()), dtype=np.float64) * 1e-4
        return knots, values

    def currency_overlay(self, currency: str) -> tuple[FloatArray, FloatArray]:
        """Knots (years) and zero-rate shifts (decimals) of another currency's curves.

        The currency's own entry and the ``foreign`` entry add up.
        """
        moves = [m for key in (currency, FOREIGN) if (m := self.currency_rate_shifts_bp.get(key))]
        if not moves:
            return np.empty(0), np.empty(0)
        knots = np.array(sorted({k for m in moves for k in m}), dtype=np.float64)
        shifts = sum(np.interp(knots, list(m), list(m.values())) for m in moves)
        return knots, np.asarray(shifts, dtype=np.float64) * 1e-4

    def fx_factor(self, currency: str) -> float:
        """Another currency's value in base units after the scenario over today's (1: no move).

        The currency's own move and the ``foreign`` move compound.
        """
        own = self.fx_shifts_pct.get(currency, 0.0)
        every = self.fx_shifts_pct.get(FOREIGN, 0.0)
        return (1.0 + own / 100.0) * (1.0 + every / 100.0)


def _valid_rate_shifts(v: dict[float, float], where: str) -> dict[float, float]:
    for tenor, shift in v.items():
        if not (np.isfinite(tenor) and tenor > 0):
            msg = f"{where}: maturity {tenor} must be positive years"
            raise ValueError(msg)
        _check_bp(shift, f"{where}[{tenor}]")
    return dict(sorted(v.items()))


def _currency_key(currency: object, where: str) -> str:
    key = str(currency).strip()
    key = key.lower() if key.lower() == FOREIGN else key.upper()
    if key != FOREIGN and key not in CURRENCIES:
        msg = f"{where}: {currency!r} is not one of {', '.join(CURRENCIES)} or {FOREIGN}"
        raise ValueError(msg)
    return key


def _check_bp(value: float, where: str) -> float:
    if not np.isfinite(value) or abs(value) > _MAX_SHIFT_BP:
        msg = (
            f"{where}: {value} bp is outside +-{_MAX_SHIFT_BP:g} bp; shifts are in basis points "
            "(100 = 1%)"
        )
        raise ValueError(msg)
    return float(value)


def load_scenarios(
    source: str | Path | pd.DataFrame | Iterable[Mapping[str, Any]] | None = None,
) -> list[StressScenario]:
    """Read and validate scenario definitions; combined scenarios are resolved.

    Parameters
    ----------
    source : path to a JSON file, DataFrame, list of dicts, or None
        None loads the built-in set (``stress_scenarios.json``).

    Raises
    ------
    ValueError
        Naming the file, the scenario (by position and name) and the field at fault.
    """
    where = "scenarios"
    if source is None:
        source = DEFAULT_SCENARIO_FILE
    if isinstance(source, (str, Path)):
        where = str(source)
        try:
            records = json.loads(Path(source).read_text())
        except json.JSONDecodeError as exc:
            msg = f"{where}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
            raise ValueError(msg) from None
        except OSError as exc:
            msg = f"{where}: cannot read scenario file ({exc.strerror})"
            raise ValueError(msg) from None
    elif isinstance(source, pd.DataFrame):
        records = [
            {k: v for k, v in r.items() if not _is_missing(v)} for r in source.to_dict("records")
        ]
    else:
        records = [dict(r) for r in source]
    if not isinstance(records, list):
        msg = f"{where}: expected a list of scenario objects"
        raise ValueError(msg)
    scenarios: list[StressScenario] = []
    for i, rec in enumerate(records):
        label = rec.get("name", "?") if isinstance(rec, Mapping) else "?"
        try:
            scenarios.append(StressScenario.model_validate(rec))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(scenario)"
            msg = f"{where}: scenario {i} ({label}), field {field}: {first['msg']}"
            raise ValueError(msg) from None
    return _resolve(scenarios, where)


def default_scenarios() -> list[StressScenario]:
    """Load the built-in set: parallel, curve, credit, liquidity, combined and NY7 scenarios."""
    return load_scenarios(None)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _resolve(scenarios: list[StressScenario], where: str) -> list[StressScenario]:
    by_name: dict[str, StressScenario] = {}
    for s in scenarios:
        if s.name in by_name:
            msg = f"{where}: scenario name {s.name!r} appears twice"
            raise ValueError(msg)
        by_name[s.name] = s
    return [_combined(s, by_name, where) if s.combine else s for s in scenarios]


def _combined(s: StressScenario, by_name: dict[str, StressScenario], where: str) -> StressScenario:
    """Return scenario `s` with the simple scenarios it combines added up.

    Rate and spread moves add (curves at the union of their tenors), FX moves compound and
    the bid-ask and haircut multipliers multiply.
    """
    parts = []
    for part in s.combine:
        if part not in by_name:
            msg = f"{where}: scenario {s.name!r} combines unknown scenario {part!r}"
            raise ValueError(msg)
        if by_name[part].combine or by_name[part].path_bp is not None:
            msg = f"{where}: scenario {s.name!r} can only combine simple scenarios; {part!r} is not"
            raise ValueError(msg)
        parts.append(by_name[part])
    rate: dict[float, float] = {}
    knots = sorted({k for p in parts for k in p.rate_shifts_bp})
    for k in knots:
        rate[k] = sum(
            float(np.interp(k, list(p.rate_shifts_bp), list(p.rate_shifts_bp.values())))
            for p in parts
            if p.rate_shifts_bp
        )
    spread: dict[str, float] = {}
    for p in parts:
        for r, v in p.spread_shifts_bp.items():
            spread[r] = spread.get(r, 0.0) + v
    by_currency: dict[str, dict[float, float]] = {}
    for currency in {c for p in parts for c in p.currency_rate_shifts_bp}:
        moves = [
            p.currency_rate_shifts_bp[currency]
            for p in parts
            if currency in p.currency_rate_shifts_bp
        ]
        knots = sorted({k for m in moves for k in m})
        by_currency[currency] = {
            k: sum(float(np.interp(k, list(m), list(m.values()))) for m in moves) for k in knots
        }
    fx: dict[str, float] = {}
    for p in parts:
        for c, pct in p.fx_shifts_pct.items():
            fx[c] = pct if c not in fx else ((1 + fx[c] / 100) * (1 + pct / 100) - 1) * 100
    return StressScenario(
        name=s.name,
        group=s.group,
        description=s.description,
        rate_shifts_bp=rate,
        spread_shifts_bp=spread,
        breakeven_shift_bp=sum(p.breakeven_shift_bp for p in parts),
        bid_ask_multiplier=float(np.prod([p.bid_ask_multiplier for p in parts])),
        haircut_multiplier=float(np.prod([p.haircut_multiplier for p in parts])),
        currency_rate_shifts_bp=by_currency,
        fx_shifts_pct=fx,
    )


@dataclass(frozen=True)
class StressResult:
    """Revaluation of assets and liabilities under each scenario.

    Attributes
    ----------
    scenarios : list of StressScenario
        In the order of the rows below.
    asset_values : DataFrame
        Market value (money) of each security (columns) under each scenario (rows).
    liability_values : Series
        Present value (money) of the liabilities under each scenario.
    liquidity_cost : DataFrame
        Cost (money) of selling each position at half the scenario's bid-ask spread.
    path_values : DataFrame
        For path scenarios: value at each horizon (years) of assets, liabilities and surplus,
        cash flows before the horizon rolled forward and later ones discounted on the
        scenario's curve.
    hedge_values : DataFrame, optional
        Value (money) of each manager's FX hedges (columns) under each scenario (rows): the
        rolling forwards struck today, worth 0 in a scenario that moves nothing; None for a
        book without hedges.
    """

    scenarios: list[StressScenario]
    asset_values: pd.DataFrame
    liability_values: pd.Series
    liquidity_cost: pd.DataFrame
    path_values: pd.DataFrame
    hedge_values: pd.DataFrame | None = None

    def summary(self) -> pd.DataFrame:
        """Assets, liabilities and surplus per scenario, with changes from the ``base`` row.

        Assets include the FX hedges' values (:attr:`hedge_values`).
        """
        assets = self.asset_values.sum(axis=1)
        if self.hedge_values is not None:
            assets = assets + self.hedge_values.sum(axis=1)
        out = pd.DataFrame(
            {
                "group": [s.group for s in self.scenarios],
                "assets": assets,
                "liabilities": self.liability_values,
                "surplus": assets - self.liability_values,
                "liquidity_cost": self.liquidity_cost.sum(axis=1),
            }
        )
        base = out.iloc[0]
        for col in ("assets", "liabilities", "surplus"):
            out[f"{col}_change"] = out[col] - base[col]
        out["assets_change_pct"] = out["assets_change"] / base["assets"]
        return out

    def by_manager(self, weights: pd.DataFrame) -> pd.DataFrame:
        """Asset value change from the first scenario, per manager (rows) and scenario (columns).

        Parameters
        ----------
        weights : DataFrame
            Managers (rows) by security (columns): the fraction of each security's face that
            each manager holds. Missing securities count as zero. Managers' FX hedges
            (:attr:`hedge_values`) add their change.
        """
        unknown = sorted(set(weights.columns) - set(self.asset_values.columns))
        if unknown:
            msg = f"StressResult.by_manager: securities not in the stressed book: {unknown[:5]}"
            raise ValueError(msg)
        w = weights.reindex(columns=self.asset_values.columns, fill_value=0.0)
        change = self.asset_values - self.asset_values.iloc[0]
        out = pd.DataFrame(w.to_numpy() @ change.to_numpy().T, index=w.index, columns=change.index)
        if self.hedge_values is not None:
            hedges = self.hedge_values - self.hedge_values.iloc[0]
            out = out + hedges.T.reindex(index=out.index, fill_value=0.0).to_numpy()
        return out


def run_stresses(
    book: BondBook,
    liabilities: CashflowStream,
    curve: Curve,
    scenarios: Sequence[StressScenario] | None = None,
    *,
    z_spread: npt.ArrayLike = 0.0,
    ratings: Sequence[object] | None = None,
    sectors: Sequence[object] | None = None,
    bid_ask_bp: npt.ArrayLike | None = None,
    linkers: LinkerBook | None = None,
    breakeven_curves: Mapping[str, BreakevenCurve] | None = None,
    options: OptionValues | None = None,
) -> StressResult:
    """Revalue the book and the liabilities under every scenario by full repricing.

    Parameters
    ----------
    book : BondBook
        Securities with the face held in total.
    liabilities : CashflowStream
        Liability cash flows (discounted on the risk-free curve, no spread).
    curve : Curve
        Today's discount curve.
    scenarios : sequence of StressScenario, optional
        Defaults to :func:`default_scenarios`; the first one is the base for changes.
    z_spread : float or array
        Each security's continuously compounded spread over `curve` (decimal).
    ratings, sectors : sequence, optional
        Per security; needed by scenarios with spread shifts (ratings on the AAA..CCC scale,
        notches allowed; government sectors, which carry no spread, are exempt).
    bid_ask_bp : array, optional
        Bid-ask spread per security in basis points of price, for liquidity costs.
    linkers : LinkerBook, optional
        The inflation-linked bonds of `book` (whose rows carry their flows in money at
        `breakeven_curves`); a scenario's breakeven shift reprices them on shifted curves.
    breakeven_curves : mapping of index name to BreakevenCurve, optional
        Today's breakeven curves, required with `linkers`.
    options : OptionValues, optional
        The book's MBS pools and callables, revalued with their models on each scenario's
        curve at their OAS plus the scenario's spread shift instead of on their flows.
    """
    chosen = list(scenarios) if scenarios is not None else default_scenarios()
    if not chosen:
        msg = "run_stresses: no scenarios given"
        raise ValueError(msg)
    if linkers is not None and breakeven_curves is None:
        msg = "run_stresses: `linkers` need their `breakeven_curves`"
        raise ValueError(msg)
    return _revalue(
        _single_currency(
            book, liabilities, curve, chosen, z_spread, ratings, sectors, bid_ask_bp, linkers,
            breakeven_curves, options,
        ),
        chosen,
    )  # fmt: skip


def _single_currency(
    book: BondBook,
    liabilities: CashflowStream,
    curve: Curve,
    chosen: Sequence[StressScenario],
    z_spread: npt.ArrayLike,
    ratings: Sequence[object] | None,
    sectors: Sequence[object] | None,
    bid_ask_bp: npt.ArrayLike | None,
    linkers: LinkerBook | None,
    breakeven_curves: Mapping[str, BreakevenCurve] | None,
    options: OptionValues | None,
) -> _Revaluation:
    """Check :func:`run_stresses`' per-security inputs and prepare them for `chosen`."""
    n = len(book)
    z = np.broadcast_to(np.asarray(z_spread, dtype=np.float64), (n,)).copy()
    needs_ratings = any(s.spread_shifts_bp for s in chosen)
    letters: list[str] | None = None
    if needs_ratings:
        if ratings is None or len(ratings) != n:
            msg = "run_stresses: spread scenarios need one rating per security (`ratings`)"
            raise ValueError(msg)
        letters = []
        for i, r in enumerate(ratings):
            try:
                letters.append(base_rating(r))
            except ValueError as exc:
                msg = f"run_stresses: ratings row {i} ({book.security_ids[i]}): {exc}"
                raise ValueError(msg) from None
    exempt = np.zeros(n, dtype=bool)
    if sectors is not None:
        if len(sectors) != n:
            msg = f"run_stresses: {len(sectors)} sectors for {n} securities"
            raise ValueError(msg)
        exempt = np.array([str(s).strip().lower() in GOVERNMENT_SECTORS for s in sectors])
    half_spread = np.zeros(n)
    if bid_ask_bp is not None:
        ba = np.asarray(bid_ask_bp, dtype=np.float64)
        if ba.shape != (n,) or not np.all(np.isfinite(ba)) or np.any(ba < 0):
            msg = "run_stresses: `bid_ask_bp` needs one finite, non-negative value per security"
            raise ValueError(msg)
        half_spread = 0.5 * ba * 1e-4
    part = _Part("", np.arange(n), book, book.face / 100.0)
    linked = None if linkers is None or breakeven_curves is None else (linkers, breakeven_curves)
    return _Revaluation(
        (part,), liabilities, curve, z, letters, exempt, half_spread, linkers=linked,
        options=options,
    )  # fmt: skip


@dataclass(frozen=True)
class _Part:
    """The bonds of one currency: positions in the book, sub-book, face / 100 in base units."""

    currency: str
    at: npt.NDArray[np.int64]
    book: BondBook
    scale: FloatArray


@dataclass(frozen=True)
class _Hedges:
    """Rolling FX forwards struck today: base value hedged per manager and currency."""

    curves: CurveSet
    hedged: pd.DataFrame  # managers x currencies, base money

    def values(self, stressed: CurveSet) -> FloatArray:
        """Each manager's hedges' value (money) off `stressed` curves and spots."""
        out = np.zeros(len(self.hedged))
        base = self.curves.base_currency
        tenor = HEDGE_TENOR
        pay = float(stressed.funding_curve(base).discount(tenor))
        for currency in self.hedged.columns:
            strike = float(self.curves.fx_forward(currency, tenor))
            now = float(stressed.fx_forward(currency, tenor))
            units = self.hedged[currency].to_numpy() / self.curves.spot(currency)  # sold
            out += units * (strike - now) * pay
        return out


@dataclass(frozen=True)
class _Revaluation:
    """A book's inputs to every scenario, prepared once (per security, book order)."""

    parts: tuple[_Part, ...]
    liabilities: CashflowStream
    curves: Curve | CurveSet  # today's: one curve, or every currency's and the FX spots
    z: FloatArray
    letters: list[str] | None  # base rating letters, for spread shifts
    exempt: npt.NDArray[np.bool_]  # government sectors: no spread shift
    half_spread: FloatArray
    hedges: _Hedges | None = None
    linkers: tuple[LinkerBook, Mapping[str, BreakevenCurve]] | None = None
    options: OptionValues | None = None

    def stressed(self, scenario: StressScenario) -> Curve | CurveSet:
        """Today's curves moved by `scenario`."""
        if isinstance(self.curves, Curve):
            return stressed_curve(self.curves, scenario)
        return stressed_curve_set(self.curves, scenario)


def _revalue(inputs: _Revaluation, chosen: Sequence[StressScenario]) -> StressResult:
    parts, liabilities, z, letters = inputs.parts, inputs.liabilities, inputs.z, inputs.letters
    exempt, half_spread, hedges = inputs.exempt, inputs.half_spread, inputs.hedges
    linkers, options, curves_of = inputs.linkers, inputs.options, inputs.stressed
    n = sum(len(part.at) for part in parts)
    values, liab, cost, paths, hedge_rows = [], [], [], [], []
    for s in chosen:
        dz = np.zeros(n)
        if s.spread_shifts_bp and letters is not None:
            dz = np.array([s.spread_shifts_bp.get(r, 0.0) * 1e-4 for r in letters])
            dz[exempt] = 0.0
        stressed = curves_of(s)
        shifted = (
            {k: c.shifted(s.breakeven_shift_bp) for k, c in linkers[1].items()}
            if s.breakeven_shift_bp and linkers is not None
            else None
        )
        mv = np.empty(n)
        for part in parts:
            curve, fx = _curve_and_fx(stressed, part.currency)
            priced = part.book
            if shifted is not None and linkers is not None:
                priced = index_linked(part.book, linkers[0], shifted)
            mv[part.at] = priced.dirty_prices(curve, z[part.at] + dz[part.at]) * part.scale * fx
        if options is not None:
            _with_models(mv, options, parts, stressed, dz)
        values.append(mv)
        base_curve = _curve_and_fx(stressed, "")[0]
        liab.append(liabilities.present_value(base_curve))
        cost.append(mv * half_spread * s.bid_ask_multiplier)
        if hedges is not None:
            assert isinstance(stressed, CurveSet)
            hedge_rows.append(hedges.values(stressed))
        if s.path_bp is not None:
            today = curves_of(_UNMOVED)
            paths.extend(_path_values(parts, liabilities, today, s, z, options))
    ids = pd.Index(np.concatenate([part.book.security_ids for part in parts]))
    order = np.argsort(np.concatenate([part.at for part in parts]))
    names = pd.Index([s.name for s in chosen], name="scenario")
    return StressResult(
        scenarios=list(chosen),
        asset_values=pd.DataFrame(np.vstack(values), index=names, columns=ids[order]),
        liability_values=pd.Series(liab, index=names, name="liabilities"),
        liquidity_cost=pd.DataFrame(np.vstack(cost), index=names, columns=ids[order]),
        path_values=pd.DataFrame(
            paths, columns=["scenario", "horizon", "assets", "liabilities", "surplus"]
        ),
        hedge_values=None
        if hedges is None
        else pd.DataFrame(np.vstack(hedge_rows), index=names, columns=hedges.hedged.index),
    )


_UNMOVED: Final = StressScenario(name="today")


def _with_models(
    values: FloatArray,
    options: OptionValues,
    parts: Sequence[_Part],
    stressed: Curve | CurveSet,
    dz: FloatArray,
) -> None:
    """Put the pools' and callables' model values (money, base units) into `values`."""
    scale = np.empty(len(values))
    fx = np.empty(len(values))
    for part in parts:
        scale[part.at] = part.scale
        fx[part.at] = _curve_and_fx(stressed, part.currency)[1]
    rows = options.rows
    prices = options.prices(lambda c: _curve_and_fx(stressed, c)[0], dz)
    values[rows] = prices * scale[rows] * fx[rows]


def _curve_and_fx(stressed: Curve | CurveSet, currency: str) -> tuple[Curve, float]:
    """Return a part's curve and FX spot: a single-currency run's one curve, or the set's."""
    if isinstance(stressed, Curve):
        return stressed, 1.0
    code = currency or stressed.base_currency
    fx = 1.0 if code == stressed.base_currency else stressed.spot(code)
    return stressed.curve(code), fx


def stressed_curve_set(curves: CurveSet, scenario: StressScenario) -> CurveSet:
    """Every curve and FX spot of a set moved by a scenario.

    The base currency's curves take `rate_shifts_bp` (and a path's immediate shift, with its
    floor), the others their `currency_rate_shifts_bp`; spots move by `fx_shifts_pct`.
    """
    moved = curves
    for (currency, kind), curve in curves.curves.items():
        if currency == curves.base_currency:
            new = stressed_curve(curve, scenario)
        else:
            knots, shifts = scenario.currency_overlay(currency)
            new = curve.with_overlay(knots, shifts) if len(knots) else curve
        if new is not curve:
            moved = moved.with_curve(currency, kind, new)
    spots = {
        c: curves.spot(c) * scenario.fx_factor(c)
        for c in curves.currencies[1:]
        if scenario.fx_factor(c) != 1.0
    }
    return moved.with_fx_spot(spots) if spots else moved


def stressed_curve(curve: Curve, scenario: StressScenario) -> Curve:
    """Today's curve moved by a scenario's rate shifts (with its floor on rates, if any)."""
    knots, shifts = scenario.rate_overlay()
    if scenario.floor_fraction_5y is not None:
        floor = (scenario.floor_fraction_5y - 1.0) * float(curve.zero_rate(5.0))
        shifts = np.maximum(shifts, floor)
    return curve.with_overlay(knots, shifts) if len(knots) else curve


def _path_values(
    parts: Sequence[_Part],
    liabilities: CashflowStream,
    today: Curve | CurveSet,
    scenario: StressScenario,
    z: FloatArray,
    options: OptionValues | None = None,
) -> list[tuple[str, float, float, float, float]]:
    assert scenario.path_bp is not None
    curve = _curve_and_fx(today, "")[0]
    z5 = float(curve.zero_rate(5.0))
    rows = []
    for h, shift_bp in enumerate(scenario.path_bp):
        shift = shift_bp * 1e-4
        if scenario.floor_fraction_5y is not None:
            shift = max(shift, (scenario.floor_fraction_5y - 1.0) * z5)
        # Value at horizon h on today's forwards moved by the horizon's shift: every flow,
        # earlier ones compounded and later ones discounted, divided by the moved P(0, h).
        # Other currencies' curves do not move on these paths (their forwards are realized).
        moved = curve.shifted(shift * 1e4)
        to_h = float(moved.discount(float(h))) if h > 0 else 1.0
        n = sum(len(part.at) for part in parts)

        def moved_curve(code: str, moved: Curve = moved) -> Curve:
            own = _curve_and_fx(today, code)[0]
            return moved if own is curve else own

        prices = np.empty(n)
        for part in parts:
            prices[part.at] = part.book.dirty_prices(moved_curve(part.currency), z[part.at])
        if options is not None:
            prices[options.rows] = options.prices(moved_curve, np.zeros(n))
        assets = 0.0
        for part in parts:
            own, fx = _curve_and_fx(today, part.currency)
            own_to_h = to_h if own is curve else float(own.discount(float(h))) if h > 0 else 1.0
            # numpy's own sum, not a BLAS dot whose sum depends on its thread count: the same
            # value in this process and on a cluster's worker.
            assets += float((prices[part.at] * part.scale).sum()) * fx / own_to_h
        liab = liabilities.present_value(moved) / to_h
        rows.append((scenario.name, float(h), assets, liab, assets - liab))
    return rows


def stress_portfolio(
    portfolio: Portfolio,
    scenarios: Sequence[StressScenario] | None = None,
    *,
    executor: Executor | None = None,
) -> StressResult:
    """Run :func:`run_stresses` on a portfolio's whole book and liabilities.

    Each security keeps its z-spread, rating, sector and bid-ask spread from the inputs. Each
    scenario is one task of `executor` (in this process by default; see
    :mod:`fialloc.distributed`): scenarios are independent, so the result is the same wherever
    they run.
    """
    chosen = list(scenarios) if scenarios is not None else default_scenarios()
    if not chosen:
        msg = "stress_portfolio: no scenarios given"
        raise ValueError(msg)
    # Prepared once and shared by the tasks (sent once to each worker of a cluster).
    inputs = _portfolio_revaluation(portfolio, chosen)
    parts = (executor or InProcess()).map(_revalue_scenarios, [[s] for s in chosen], shared=inputs)
    if [s.name for part in parts for s in part.scenarios] != [s.name for s in chosen]:
        msg = "stress_portfolio: the scenarios that came back are not the ones sent"
        raise DistributedError(msg)
    names = pd.Index([s.name for s in chosen], name="scenario")
    ids = parts[0].asset_values.columns

    def rows(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
        # Stacked in one C-ordered block, as run_stresses builds them: row sums stay bitwise.
        return pd.DataFrame(np.vstack([f.to_numpy() for f in frames]), index=names, columns=ids)

    return StressResult(
        scenarios=[s for part in parts for s in part.scenarios],
        asset_values=rows(part.asset_values for part in parts),
        liability_values=pd.concat([part.liability_values for part in parts]),
        liquidity_cost=rows(part.liquidity_cost for part in parts),
        # Only path scenarios have path values; concatenating empty frames is deprecated.
        path_values=pd.concat(
            [part.path_values for part in parts if len(part.path_values)] or [parts[0].path_values],
            ignore_index=True,
        ),
        hedge_values=None
        if parts[0].hedge_values is None
        else pd.concat([part.hedge_values for part in parts if part.hedge_values is not None]),
    )


def _revalue_scenarios(scenarios: list[StressScenario], inputs: _Revaluation) -> StressResult:
    return _revalue(inputs, scenarios)


def _portfolio_revaluation(portfolio: Portfolio, chosen: Sequence[StressScenario]) -> _Revaluation:
    """Prepare the whole book's and the liabilities' stress inputs from the portfolio."""
    p = portfolio
    book = p.book
    sec = p.securities.loc[book.security_ids]
    if p.currencies.eq(p.mandate.base_currency).all():
        return _single_currency(
            book,
            p.liability_stream,
            p.curve,
            chosen,
            z_spread=p.z_spreads.reindex(book.security_ids).to_numpy(),
            ratings=list(sec["rating"]),
            sectors=list(sec["sector"]),
            bid_ask_bp=sec["bid_ask_bp"].astype(float).to_numpy(),
            linkers=p.linker_book,
            breakeven_curves=p.breakeven_curves,
            options=p.option_values,
        )
    # Each currency's bonds off its own curves, in base units at the scenario's spot.
    parts = tuple(_Part(c, at, sub, sub.face / 100.0) for c, at, sub in p.currency_books)
    hedged = hedged_shares(p).mul(p.manager_values, axis=0)
    letters = [base_rating(r) for r in sec["rating"]]
    exempt = sec["sector"].isin(GOVERNMENT_SECTORS).to_numpy()
    half_spread = 0.5 * sec["bid_ask_bp"].to_numpy(dtype=np.float64) * 1e-4
    return _Revaluation(
        parts,
        p.liability_stream,
        p.curve_set,
        p.z_spreads.reindex(book.security_ids).to_numpy(),
        letters,
        exempt,
        half_spread,
        _Hedges(p.curve_set, hedged) if (hedged.to_numpy() > 0).any() else None,
        linkers=_linkers(p),
        options=p.option_values,
    )


def _linkers(p: Portfolio) -> tuple[LinkerBook, Mapping[str, BreakevenCurve]] | None:
    """Return the portfolio's linkers and breakeven curves, for breakeven shifts, or None."""
    return None if p.linker_book is None else (p.linker_book, p.breakeven_curves)
