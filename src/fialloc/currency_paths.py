"""A book with foreign bonds, FX hedges and linkers revalued on the multi-currency paths.

A portfolio that holds bonds outside its base currency, or inflation-linked bonds, is revalued
on :class:`~fialloc.currency_scenarios.MultiCurrencyG2` paths: the base currency's G2++ (the
run's model, on the base government curve), one G2++ per other currency held with its FX rate,
and one real-rate economy per currency whose linkers are held, with its price index. Each
manager's sleeve on a path is then, in base-currency money:

- base-currency bonds as in the single-currency run (:func:`fialloc.robustness.sleeve_paths`);
- a foreign bond's remaining flows off its currency's simulated curve, at the path's FX rate,
  and the coupons it paid converted at the path's FX rate when paid and banked at the base
  currency's bank account;
- a linker's remaining real flows off its region's simulated real curve, times the simulated
  index ratio and FX rate; paid flows at the index ratio of their payment date, the path's
  reference index interpolated linearly between the grid's months (the daily interpolation
  of the reference CPI), with the deflation floor on the principal paid at maturity;
- the FX hedges: per manager and currency, the foreign value hedged today sold forward
  :data:`~fialloc.analytics.currency_exposure.HEDGE_TENOR` years ahead and rolled at each
  expiry at the forward covered interest parity gives on the path's two curves; each settled
  forward's gain is banked at the base bank account and an open one is marked to market.

The curves the economies are fitted to make today's prices hold: the base economy is the run's
base government curve; a foreign economy's curve is its funding (OIS) curve less its
cross-currency basis, times the base government over base funding discount factors, so that
the FX forward of the simulated curves is :meth:`fialloc.curve_set.CurveSet.fx_forward`
(covered parity with basis) against the base economy; a real economy's curve is its currency's
real curve times that currency's economy over government discount factors, so its forecast
index growth is today's breakevens. Each bond carries the z-spread over its economy's curve
that reprices today's dirty price (in its own currency; a linker's in real terms). The real
curve is the reference index's (lagged, interpolated through the month), so the simulated
index is the reference index, except where a flow's reference index reads only fixings already
published (the first months of the lag window): that flow pays the published ratio on every
path. The deflation floor on a linker's principal is a put on the index ratio at maturity:
before maturity it is valued on each path with Black's formula on the model's lognormal
forward index (:meth:`~fialloc.currency_scenarios.MultiCurrencyG2.index_variance`,
:func:`floor_paths`), at maturity paid in the linker's cash; today's z-spread of a linker
reprices its dirty price with the floor's value included.

Credit spreads move on the paths too (:func:`spread_moves`), with the scenario engine's model
(:func:`fialloc.scenarios.simulate_credit_inflation`: log spreads by letter rating, mean
reverting, their shocks correlated with the home economy's level factor ``x`` and with each
other): every holding outside the government sectors (those with spread duration) is
discounted at its z-spread plus its rating's spread change on the path since today, a foreign
bond's with its own economy's rates and spread shocks (today's spreads by rating are the
portfolio's spread table in every currency), a linker's with its currency's. Each economy's
spread shocks come from its own counter sub-streams (:data:`SPREAD_STREAM`), so they too are
the same for any thread count, chunking or Dask cluster. Without a spread model (``credit``
None, or a volatility of zero with spreads reverting to today's) the revaluation is exactly
the constant-spread one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import ndtr

from fialloc import _core
from fialloc.analytics.currency_exposure import HEDGE_TENOR, hedged_shares
from fialloc.bonds import BondBook
from fialloc.currency_scenarios import (
    DEFAULT_FX_VOLATILITY,
    FX_VOLATILITY,
    Economy,
    MultiCurrencyG2,
    MultiCurrencyPaths,
    real_economy,
)
from fialloc.curves import Curve
from fialloc.data import Portfolio
from fialloc.data.vocabulary import GOVERNMENT_SECTORS
from fialloc.inflation import LinkerBook
from fialloc.layout import FloatArray
from fialloc.option_paths import PoolPaths
from fialloc.scenarios import (
    CreditInflationSpec,
    G2Paths,
    G2pp,
    credit_spread_moves,
    rating_groups,
)

__all__ = [
    "SPREAD_STREAM",
    "BookScenario",
    "asset_paths",
    "book_scenario",
    "credit_groups",
    "floor_paths",
    "hedge_paths",
    "run_spread_model",
    "spread_moves",
    "spread_moves_wanted",
]

#: First counter sub-stream of the run's credit spread shocks: economy ``e`` (its position
#: among the simulated economies, the base 0) draws from ``SPREAD_STREAM + 8 e`` on (four
#: sub-streams), clear of the rate factors (0-31), the FX and index links (32-39) and the
#: scenario engine's own draws (16 on, for the single-currency scenario covariance).
SPREAD_STREAM: Final = 64

#: Node spacing (years) of the curves built as ratios of other curves' discount factors.
_NODE_STEP = 1.0 / 12.0
#: Most rounds of the linker spread solve with the floor's value (each gains many digits).
_FLOOR_ROUNDS = 8


@dataclass(frozen=True)
class _Block:
    """Held bonds of one economy: the sub-book, spreads over its curve and the holdings."""

    economy: str
    book: BondBook
    z_spread: FloatArray
    holdings: FloatArray  # managers x bonds, units of 100 face (linkers: times the index ratio)
    index_ratio: FloatArray | None = None  # linkers: today's index ratio
    principal_floor: FloatArray | None = None  # linkers: least principal per 100 face
    groups: npt.NDArray[np.int64] | None = None  # rating index per bond, -1 without spread
    published: FloatArray | None = None  # linkers: per flow, a published index ratio or NaN


@dataclass(frozen=True)
class BookScenario:
    """How a portfolio's sleeves ride the multi-currency paths (see module notes).

    Attributes
    ----------
    generator : MultiCurrencyG2
        The economies: the base first (the run's model), each foreign currency held, and a
        real economy per currency whose linkers are held.
    blocks : tuple
        Held bonds per economy, with their spreads and holdings.
    hedge_currencies : tuple of str
        Currencies with hedges.
    hedged : ndarray
        Managers x `hedge_currencies`: units of each currency sold forward (today's hedged
        value at spot).
    """

    generator: MultiCurrencyG2
    blocks: tuple[_Block, ...]
    hedge_currencies: tuple[str, ...]
    hedged: FloatArray


def _ratio_curve(curve: Curve, over: Curve, under: Curve, last: float) -> Curve:
    """``curve * over / under`` in discount factors, on monthly nodes to `last` years."""
    times = np.arange(1, int(np.ceil(last / _NODE_STEP)) + 1) * _NODE_STEP
    dfs = (
        np.asarray(curve.discount(times))
        * np.asarray(over.discount(times))
        / np.asarray(under.discount(times))
    )
    return Curve.from_discount_factors(times, dfs, curve.valuation_date, "log_linear")


def run_spread_model(portfolio: Portfolio, **overrides: Any) -> CreditInflationSpec:
    """Return the run's credit spread model: today's spreads by rating, seeded dynamics.

    Today's (and the long-run median) spread of each letter rating is the portfolio's spread
    table; the dynamics are :class:`~fialloc.scenarios.CreditInflationSpec`'s defaults: log
    spreads revert at 0.6 a year with volatility 0.30 a square-root year, rating shocks
    correlate at 0.4 with each other and at -0.3 with the home rates' level factor.

    Parameters
    ----------
    portfolio : Portfolio
        Validated inputs (its ``spreads`` table, decimals by letter rating).
    **overrides
        Fields of :class:`~fialloc.scenarios.CreditInflationSpec` to change (``volatility=0``
        keeps the spreads constant).
    """
    spreads = {
        str(r): float(v)
        for r, v in zip(portfolio.spreads["rating"], portfolio.spreads["spread"], strict=True)
    }
    return replace(CreditInflationSpec(spreads=spreads), **overrides)


def credit_groups(portfolio: Portfolio, security_ids: pd.Index) -> npt.NDArray[np.int64]:
    """Rating index (AAA .. CCC) of each of `security_ids`, -1 for the government sectors."""
    sec = portfolio.securities.set_index("security_id").reindex(security_ids)
    exempt = sec["sector"].isin(GOVERNMENT_SECTORS).to_numpy()
    ratings = sec["rating"].where(~exempt, "AAA")
    return rating_groups(ratings.to_numpy(), exempt)


def spread_moves_wanted(credit: CreditInflationSpec | None) -> bool:
    """Whether `credit` moves spreads at all (zero volatility and no drift: it does not)."""
    return credit is not None and (credit.volatility > 0 or credit.long_run is not None)


def spread_moves(
    model: G2pp,
    paths: G2Paths,
    credit: CreditInflationSpec,
    horizons: npt.ArrayLike,
    economy: int = 0,
) -> FloatArray:
    """Spread changes since today by rating at `horizons`, for economy `economy` of a run.

    The scenario engine's spreads (:func:`fialloc.scenarios.credit_spread_moves`, the moves
    of :func:`~fialloc.scenarios.simulate_credit_inflation`) on one economy's paths, from that
    economy's sub-streams (:data:`SPREAD_STREAM`).

    Parameters
    ----------
    model : G2pp
        The economy's G2++ (its level factor's parameters recover the rate shocks).
    paths : G2Paths
        The economy's paths (:meth:`MultiCurrencyPaths.economy`, or the base run's).
    credit : CreditInflationSpec
        The spread model (:func:`run_spread_model`).
    horizons : array
        Years, on the paths' grid.
    economy : int
        The economy's position among the run's economies (0 for the base).

    Returns
    -------
    ndarray
        Paths x horizons x ratings (AAA .. CCC), decimals.
    """
    stream = SPREAD_STREAM + 8 * int(economy)
    return credit_spread_moves(model, paths, credit, horizons, stream=stream)


def _economies(
    portfolio: Portfolio, model: G2pp, held: list[str], linked: list[str]
) -> tuple[dict[str, Economy], dict[str, Economy]]:
    """Return the nominal economy of each currency `held` and the real one of each `linked`."""
    p = portfolio
    cs = p.curve_set
    base = p.mandate.base_currency
    last = float(p.book.layout.times.max(initial=1.0)) + 1.0
    funding_base = cs.funding_curve(base)
    nominal: dict[str, Economy] = {base: Economy(base, p.curve, model.params)}
    for code in held:
        if code == base:
            continue
        basis = float(cs.fx_basis.get(code, 0.0))
        funding = cs.funding_curve(code)
        funding = funding.shifted(basis * 1e4) if basis else funding
        curve = (
            funding
            if funding_base is p.curve
            else _ratio_curve(funding, p.curve, funding_base, last)
        )
        nominal[code] = Economy(
            code,
            curve,
            parent=base,
            spot=cs.spot(code),
            volatility=float(FX_VOLATILITY.get(code, DEFAULT_FX_VOLATILITY)),
        )
    reals: dict[str, Economy] = {}
    for code in linked:
        home = nominal[code]
        government = cs.curve(code)
        real = cs.curve(code, "real")
        if home.curve is not government:
            real = _ratio_curve(real, home.curve, government, last)
        reals[code] = real_economy(home, real)
    return nominal, reals


def _floor_put(
    forward: FloatArray, strike: FloatArray, variance: FloatArray, discount: FloatArray
) -> FloatArray:
    """Black's put ``discount * E[(strike - X)^+]`` on a lognormal ``X`` of mean `forward`."""
    sd = np.sqrt(variance)
    live = sd > 0
    safe = np.where(live, sd, 1.0)
    d1 = (np.log(forward / strike) + 0.5 * variance) / safe
    black = strike * ndtr(-(d1 - safe)) - forward * ndtr(-d1)
    intrinsic = np.maximum(strike - forward, 0.0)
    return np.asarray(discount * np.where(live, black, intrinsic), dtype=np.float64)


def _floor_today(generator: MultiCurrencyG2, block: _Block, z_spread: FloatArray) -> FloatArray:
    """Today's value of each linker's deflation floor (money per 100 face, its currency).

    The principal floor is a put struck at ``principal_floor`` on ``100 * index_ratio *
    g(T)``; with the index lognormal in the model its value is Black's formula on the forward
    ``100 * index_ratio * P_real(0, T) / P_nominal(0, T)`` with the variance
    :meth:`MultiCurrencyG2.index_variance` gives, discounted at the nominal curve and the
    linker's z-spread (the spread its principal is discounted at).
    """
    assert block.index_ratio is not None
    assert block.principal_floor is not None
    economy = generator.economy(block.economy)
    home = generator.economy(str(economy.parent))
    layout = block.book.layout
    mature = layout.times[layout.offsets[1:] - 1]
    p_real = np.asarray(economy.curve.discount(mature), dtype=np.float64)
    p_nominal = np.asarray(home.curve.discount(mature), dtype=np.float64)
    floored = block.principal_floor > 0
    strike = np.where(floored, block.principal_floor, 1.0)
    value = _floor_put(
        100.0 * block.index_ratio * p_real / p_nominal,
        strike,
        generator.index_variance(block.economy, 0.0, mature),
        p_nominal * np.exp(-z_spread * mature),
    )
    return np.where(floored, value, 0.0)


def floor_paths(
    generator: MultiCurrencyG2,
    block: _Block,
    paths: MultiCurrencyPaths,
    horizons: npt.ArrayLike,
) -> FloatArray:
    """Return each holder's deflation floors before maturity (paths x horizons x holders).

    In base money. On a path at ``h`` the floor of a linker maturing at ``T > h`` is Black's
    put on the forward ``100 * index_ratio * g(h) P_real(h, T) / P_nominal(h, T)`` (the
    path's index growth and both economies' zero bonds from its states) with the model's
    variance over ``[h, T]``, discounted at ``P_nominal(h, T)`` and the linker's z-spread,
    converted at the path's FX rate; at maturity the floor is paid in the linker's cash
    (:func:`_linker_cash`), so a floor is 0 from then on.
    """
    assert block.index_ratio is not None
    assert block.principal_floor is not None
    economy = generator.economy(block.economy)
    home = str(economy.parent)
    layout = block.book.layout
    h = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
    floored = np.flatnonzero(block.principal_floor > 0)
    units = block.holdings / block.index_ratio
    out = np.zeros((paths.n_paths, len(h), units.shape[0]))
    if len(floored) == 0:
        return out
    mature = layout.times[layout.offsets[1:] - 1][floored]
    real_paths, home_paths = paths.economy(block.economy), paths.economy(home)
    cols = real_paths.columns(h)
    i = paths.index(block.economy)
    fx = paths.to_base(home)[:, cols]
    real_model, home_model = generator.model(block.economy), generator.model(home)
    for j, now in enumerate(h):
        live = mature > now
        if not np.any(live):
            continue
        t, k = mature[live], cols[j]
        p_real = real_model.zero_bond(now, t, real_paths.x[:, k], real_paths.y[:, k])
        p_nominal = home_model.zero_bond(now, t, home_paths.x[:, k], home_paths.y[:, k])
        s = floored[live]
        put = _floor_put(
            100.0 * block.index_ratio[s] * paths.link[i][:, k, None] * p_real / p_nominal,
            block.principal_floor[s],
            generator.index_variance(block.economy, now, t),
            p_nominal * np.exp(-block.z_spread[s] * (t - now)),
        )
        # Linker by linker in one fixed order: a path's sum does not depend on its chunk.
        for c, stream in enumerate(s):
            out[:, j, :] += (fx[:, j] * put[:, c])[:, None] * units[None, :, stream]
    return out


def book_scenario(portfolio: Portfolio, model: G2pp) -> BookScenario | None:
    """Return the multi-currency generator and blocks of `portfolio` (None for a nominal one).

    A book of base-currency nominal bonds only returns None: it rides `model`'s paths alone,
    exactly as before.

    Parameters
    ----------
    portfolio : Portfolio
        Validated inputs.
    model : G2pp
        The base currency's model, fitted to the portfolio's base curve.
    """
    p = portfolio
    base = p.mandate.base_currency
    codes = p.currencies.to_numpy()
    linkers = p.linker_book
    if linkers is None and bool(np.all(codes == base)):
        return None
    cs = p.curve_set
    ids = p.book.security_ids
    face = p.face.reindex(columns=ids).to_numpy() / 100.0
    dirty = np.asarray(p.analytics.dirty_price, dtype=np.float64)
    is_linker = np.zeros(len(ids), dtype=bool)
    linker_currency: dict[str, str] = {}
    if linkers is not None:
        is_linker[ids.get_indexer(linkers.security_ids)] = True
        linker_currency = {
            str(s): str(c) for s, c in zip(ids, codes, strict=True) if s in linkers.security_ids
        }
    held = [c for c, _, _ in p.currency_books]
    nominal, reals = _economies(p, model, held, list(dict.fromkeys(linker_currency.values())))
    generator = MultiCurrencyG2([*nominal.values(), *reals.values()])

    blocks = _nominal_blocks(p, nominal, held, codes, is_linker, dirty, face)
    if linkers is not None:
        blocks += _linker_blocks(p, linkers, reals, generator, linker_currency, dirty, face)
    hedged = hedged_shares(p).mul(p.manager_values.reindex(p.managers.index).fillna(0.0), axis=0)
    hedged = hedged[[c for c in hedged.columns if (hedged[c] > 0).any()]]
    units = hedged.to_numpy(dtype=float) / np.array([cs.spot(c) for c in hedged.columns])
    return BookScenario(
        generator,
        tuple(blocks),
        tuple(str(c) for c in hedged.columns),
        units.reshape(len(hedged), -1),
    )


def _nominal_blocks(
    p: Portfolio,
    nominal: Mapping[str, Economy],
    held: list[str],
    codes: npt.NDArray[Any],
    is_linker: npt.NDArray[np.bool_],
    dirty: FloatArray,
    face: FloatArray,
) -> list[_Block]:
    """One block per currency held of its nominal bonds (the linkers are in theirs).

    The base currency's bonds keep their z-spreads; a foreign bond's is solved off its own
    economy's curve from its dirty price.
    """
    base = p.mandate.base_currency
    blocks = []
    for code in held:
        at = np.flatnonzero((codes == code) & ~is_linker)
        if len(at) == 0:
            continue
        sub = p.book.take(at)
        z = (
            p.z_spreads.reindex(sub.security_ids).to_numpy(dtype=float)
            if code == base
            else sub.z_spreads(nominal[code].curve, np.ascontiguousarray(dirty[at]))
        )
        blocks.append(
            _Block(
                code,
                sub,
                np.asarray(z, dtype=np.float64),
                face[:, at],
                groups=credit_groups(p, sub.security_ids),
            )
        )
    return blocks


def _linker_blocks(
    p: Portfolio,
    linkers: LinkerBook,
    reals: Mapping[str, Economy],
    generator: MultiCurrencyG2,
    linker_currency: Mapping[str, str],
    dirty: FloatArray,
    face: FloatArray,
) -> list[_Block]:
    """One block per linker currency: real flows, index ratios, floors and z-spreads."""
    ids = p.book.security_ids
    flows = linkers.real_flows(p.breakeven_curves)
    blocks = []
    for code, economy in reals.items():
        rows = np.flatnonzero([linker_currency[str(s)] == code for s in linkers.security_ids])
        real_book = linkers.real.take(rows)
        at = ids.get_indexer(real_book.security_ids)
        ratio = flows.index_ratio[rows]
        offsets = flows.layout.offsets
        in_rows = np.concatenate([np.arange(offsets[r], offsets[r + 1]) for r in rows])
        block = _Block(
            economy.name,
            real_book,
            np.zeros(len(rows)),
            face[:, at] * ratio,
            ratio,
            flows.principal_floor[rows],
            credit_groups(p, real_book.security_ids),
            None if flows.published_ratio is None else flows.published_ratio[in_rows],
        )
        blocks.append(replace(block, z_spread=_linker_spreads(generator, block, dirty[at])))
    return blocks


def _linker_spreads(generator: MultiCurrencyG2, block: _Block, dirty: FloatArray) -> FloatArray:
    """Return the z-spreads that reprice today's `dirty` prices with the floor's value.

    Over the real economy's curve, `dirty` in money per 100 face: the real flows and the
    deflation floor's value together make the price. The floor's value shrinks with the
    spread it is discounted at (by ``T`` times itself per unit of spread, against the bond's
    whole spread duration), so a few rounds of solving the flows' spread for the price less
    the floor settle to rounding.
    """
    assert block.index_ratio is not None
    real_price = np.ascontiguousarray(dirty / block.index_ratio)
    curve = generator.economy(block.economy).curve
    z = np.asarray(block.book.z_spreads(curve, real_price), dtype=np.float64)
    if block.principal_floor is None or not np.any(block.principal_floor > 0):
        return z
    for _ in range(_FLOOR_ROUNDS):
        option = _floor_today(generator, block, z) / block.index_ratio
        moved = np.asarray(
            block.book.z_spreads(curve, np.ascontiguousarray(real_price - option)),
            dtype=np.float64,
        )
        done = bool(np.max(np.abs(moved - z)) <= 1e-15)
        z = moved
        if done:
            break
    return z


def _linker_cash(block: _Block, paths: MultiCurrencyPaths) -> FloatArray:
    """Linker cash paid in each grid month at the path's index ratio (paths x times x holders).

    In the currency of the linkers (converted by the caller).
    """
    assert block.index_ratio is not None
    assert block.principal_floor is not None
    layout = block.book.layout
    times = paths.times
    inside = np.flatnonzero(layout.times <= times[-1])
    stream = np.repeat(np.arange(len(block.book)), np.diff(layout.offsets))[inside]
    t = layout.times[inside]
    i = paths.index(block.economy)
    # The reference index between grid months is linear in time (daily interpolation).
    grid = np.concatenate([[0.0], times])
    growth = np.concatenate([np.ones((paths.n_paths, 1)), paths.link[i]], axis=1)
    k = np.clip(np.searchsorted(grid, t, side="left"), 1, len(grid) - 1)
    w = (t - grid[k - 1]) / (grid[k] - grid[k - 1])
    g = growth[:, k - 1] * (1.0 - w) + growth[:, k] * w  # paths x flows
    ratio = block.index_ratio[stream] * g
    if block.published is not None:
        # A flow whose reference index is already published pays it on every path.
        known = np.flatnonzero(np.isfinite(block.published[inside]))
        ratio[:, known] = block.published[inside][known]
    amounts = np.broadcast_to(layout.amounts[inside], ratio.shape) * ratio
    last = layout.offsets[1:] - 1
    principal = np.flatnonzero(np.isin(inside, last))
    if len(principal):
        s = stream[principal]
        # The principal repays 100 times the index ratio, at least the floor.
        lifted = np.maximum(100.0 * ratio[:, principal], block.principal_floor[s])
        amounts = amounts.copy()
        amounts[:, principal] += lifted - 100.0 * ratio[:, principal]
    # Holdings are in units of 100 face times today's ratio; the amounts already carry it.
    units = block.holdings / block.index_ratio
    bucket = np.searchsorted(times, t, side="left")
    cash = np.zeros((paths.n_paths, len(times), units.shape[0]))
    # Flow by flow, in one fixed order: each path's sums do not depend on the chunk it is in
    # (a matrix product's summation order would depend on the block's shape).
    for f in range(len(t)):
        cash[:, bucket[f], :] += amounts[:, f, None] * units[None, :, stream[f]]
    return cash


def hedge_paths(
    generator: MultiCurrencyG2, currency: str, paths: MultiCurrencyPaths, horizons: npt.ArrayLike
) -> FloatArray:
    """Value (base money) at each horizon of selling one unit of `currency` forward, rolled.

    The forward runs :data:`HEDGE_TENOR` years (to the first grid time after that on a
    coarser grid) and is rolled at expiry at the covered-parity forward of the path's curves,
    ``F = X P_ccy(t, T) / P_base(t, T)``; a settled forward pays ``F - X`` (base units),
    banked at the base bank account; the open one is worth
    ``(F - X P_ccy(h, T) / P_base(h, T)) P_base(h, T)``. Worth 0 today.

    Returns
    -------
    ndarray
        Paths x horizons.
    """
    h = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
    base = paths.names[0]
    n = paths.n_paths
    spot = generator.economy(currency).spot
    b, f = paths.index(base), paths.index(currency)
    fx = paths.to_base(currency)
    model_b, model_f = generator.model(base), generator.model(currency)

    def state(t: float) -> tuple[FloatArray, ...]:
        """Factors of both economies, the FX rate and the base discount at `t` (0 or grid)."""
        if t == 0.0:
            zero = np.zeros(n)
            return zero, zero, zero, zero, np.full(n, spot), np.ones(n)
        k = paths.economy(base).columns([t])[0]
        return (
            paths.x[b][:, k],
            paths.y[b][:, k],
            paths.x[f][:, k],
            paths.y[f][:, k],
            fx[:, k],
            paths.discount[b][:, k],
        )

    def forward(
        t: float, expiry: float, s: tuple[FloatArray, ...]
    ) -> tuple[FloatArray, FloatArray]:
        """Return the covered-parity forward for `expiry` seen at `t`, and the base zero bond."""
        xb, yb, xf, yf, spot, _ = s
        pb = model_b.zero_bond(t, [expiry], xb, yb)[:, 0]
        pf = model_f.zero_bond(t, [expiry], xf, yf)[:, 0]
        return spot * pf / pb, pb

    grid = paths.times

    def expiry_after(start: float) -> float:
        """Expiry of a forward struck at `start`: on the grid when the grid reaches it."""
        k = int(np.searchsorted(grid, start + HEDGE_TENOR - 1e-9))
        return float(grid[k]) if k < len(grid) else start + HEDGE_TENOR

    out = np.zeros((n, len(h)))
    banked = np.zeros(n)  # settled gains in units of the base bank account (times D)
    start, expiry = 0.0, expiry_after(0.0)
    strike, _ = forward(0.0, expiry, state(0.0))
    for j in np.argsort(h):
        horizon = float(h[j])
        while expiry <= horizon + 1e-9:
            s = state(expiry)
            banked = banked + (strike - s[4]) * s[5]
            start, expiry = expiry, expiry_after(expiry)
            strike, _ = forward(start, expiry, s)
        s = state(horizon)
        value = banked / s[5]
        if horizon > start + 1e-9:  # the open forward, marked to market
            now, pb = forward(horizon, expiry, s)
            value = value + (strike - now) * pb
        out[:, j] = value
    return out


def asset_paths(
    scenario: BookScenario,
    paths: MultiCurrencyPaths,
    horizons: npt.ArrayLike,
    threads: int | None = None,
    credit: CreditInflationSpec | None = None,
    pools: PoolPaths | None = None,
) -> FloatArray:
    """Each manager's sleeve on every path: remaining flows, banked cash and hedges (money).

    Parameters
    ----------
    scenario : BookScenario
        From :func:`book_scenario`.
    paths : MultiCurrencyPaths
        Paths of ``scenario.generator``.
    horizons : array
        Years, on the paths' grid.
    threads : int, optional
        The revaluation kernel's threads; results do not depend on it.
    credit : CreditInflationSpec, optional
        Credit spreads on the paths (:func:`run_spread_model`); constant spreads without.
    pools : PoolPaths, optional
        The base currency's MBS pools (:func:`fialloc.option_paths.pool_paths`): valued with
        their prepayment model on the base economy's paths instead of their scheduled flows.

    Returns
    -------
    ndarray
        Paths x horizons x managers, base-currency money.
    """
    h = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
    gen = scenario.generator
    base = paths.names[0]
    base_paths = paths.economy(base)
    discount = base_paths.discount
    cols = base_paths.columns(h)
    n_managers = scenario.hedged.shape[0]
    out = np.zeros((paths.n_paths, len(h), n_managers))
    # Cash paid in each month, in base money on the path times the base discount factor:
    # one running sum banks every block's cash at the base bank account.
    weights: list[FloatArray] = []
    cashes: list[FloatArray] = []
    moves: dict[str, FloatArray] = {}  # per home economy, paths x horizons x ratings
    for block in scenario.blocks:
        home = (
            block.economy if block.index_ratio is None else str(gen.economy(block.economy).parent)
        )
        if pools is not None and block.economy == base and block.index_ratio is None:
            block = replace(block, holdings=pools.without(block.holdings, block.book.security_ids))
        rated = block.groups is not None and bool(np.any(block.groups >= 0))
        spread = _economy_moves(moves, gen, home, paths, h, credit, wanted=rated)
        spread = None if block.groups is None else spread
        out += gen.revalue(
            block.economy,
            block.book,
            paths,
            h,
            block.z_spread,
            holdings=block.holdings,
            threads=threads,
            spread_moves=spread,
            groups=None if spread is None else block.groups,
        )
        weights.append(discount if home == base else discount * paths.to_base(home))
        if block.index_ratio is None:
            cashes.append(base_paths.monthly_cash(block.book.layout, block.holdings)[None, :, :])
        else:
            cashes.append(_linker_cash(block, paths))
            out += floor_paths(gen, block, paths, h)
    out += _banked(weights, cashes, cols, out.shape) / discount[:, cols, None]
    if pools is not None:
        spread = _economy_moves(moves, gen, base, paths, h, credit, wanted=True)
        out += pools.sleeves(gen.model(base), base_paths, h, threads, spread)
    for c, currency in enumerate(scenario.hedge_currencies):
        unit = hedge_paths(gen, currency, paths, h)
        out += unit[:, :, None] * scenario.hedged[:, c][None, None, :]
    return out


def _economy_moves(
    moves: dict[str, FloatArray],
    gen: MultiCurrencyG2,
    home: str,
    paths: MultiCurrencyPaths,
    h: FloatArray,
    credit: CreditInflationSpec | None,
    *,
    wanted: bool,
) -> FloatArray | None:
    """Spread moves of economy `home` (paths x horizons x ratings), simulated once per run.

    None without a spread model; `moves` caches each economy's. When not `wanted` (a block
    with no rated bond), the moves already simulated, if any, are returned.
    """
    if credit is None or not spread_moves_wanted(credit):
        return None
    if wanted and home not in moves:
        model = gen.model(home)
        moves[home] = spread_moves(model, paths.economy(home), credit, h, paths.index(home))
    return moves.get(home)


def _banked(
    weights: list[FloatArray],
    cashes: list[FloatArray],
    cols: npt.NDArray[np.intp],
    shape: tuple[int, ...],
) -> FloatArray:
    """Each block's monthly cash times its weight, summed and banked to the horizons' months.

    Month by month, the blocks in order, then the running sum kept at the horizons' months:
    the same additions in the same order as summing the paths x months x managers arrays and
    their cumulative sum, without those arrays (13 MB each for 500 paths of the demo), in one
    kernel call (:func:`fialloc._core.bank_monthly_cash`) rather than numpy calls per month
    and block.
    """
    n_paths, _, n_managers = shape
    banked: FloatArray = _core.bank_monthly_cash(
        [np.ascontiguousarray(w, dtype=np.float64) for w in weights],
        [np.ascontiguousarray(c, dtype=np.float64).reshape(len(c), -1) for c in cashes],
        n_paths,
        n_managers,
        np.ascontiguousarray(cols, dtype=np.int64),
    )
    return banked.reshape(shape)
