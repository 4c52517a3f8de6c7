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
index is the reference index; the fixings already published for the first lag months are not
pinned on the path, and the deflation floor's option value before maturity is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

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
from fialloc.layout import FloatArray
from fialloc.scenarios import G2pp

__all__ = ["BookScenario", "asset_paths", "book_scenario", "hedge_paths"]

#: Node spacing (years) of the curves built as ratios of other curves' discount factors.
_NODE_STEP = 1.0 / 12.0


@dataclass(frozen=True)
class _Block:
    """Held bonds of one economy: the sub-book, spreads over its curve and the holdings."""

    economy: str
    book: BondBook
    z_spread: FloatArray
    holdings: FloatArray  # managers x bonds, units of 100 face (linkers: times the index ratio)
    index_ratio: FloatArray | None = None  # linkers: today's index ratio
    principal_floor: FloatArray | None = None  # linkers: least principal per 100 face


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
    book = p.book
    ids = book.security_ids
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

    blocks = []
    for code in held:
        at = np.flatnonzero((codes == code) & ~is_linker)
        if len(at) == 0:
            continue
        sub = book.take(at)
        z = (
            p.z_spreads.reindex(sub.security_ids).to_numpy(dtype=float)
            if code == base
            else sub.z_spreads(nominal[code].curve, np.ascontiguousarray(dirty[at]))
        )
        blocks.append(_Block(code, sub, np.asarray(z, dtype=np.float64), face[:, at]))
    if linkers is not None:
        flows = linkers.real_flows(p.breakeven_curves)
        for code, economy in reals.items():
            rows = np.flatnonzero([linker_currency[str(s)] == code for s in linkers.security_ids])
            real_book = linkers.real.take(rows)
            at = ids.get_indexer(real_book.security_ids)
            ratio = flows.index_ratio[rows]
            z = real_book.z_spreads(economy.curve, np.ascontiguousarray(dirty[at] / ratio))
            blocks.append(
                _Block(
                    economy.name,
                    real_book,
                    np.asarray(z, dtype=np.float64),
                    face[:, at] * ratio,
                    ratio,
                    flows.principal_floor[rows],
                )
            )
    hedged = hedged_shares(p).mul(p.manager_values.reindex(p.managers.index).fillna(0.0), axis=0)
    hedged = hedged[[c for c in hedged.columns if (hedged[c] > 0).any()]]
    units = hedged.to_numpy(dtype=float) / np.array([cs.spot(c) for c in hedged.columns])
    return BookScenario(
        generator,
        tuple(blocks),
        tuple(str(c) for c in hedged.columns),
        units.reshape(len(hedged), -1),
    )


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
    for block in scenario.blocks:
        out += gen.revalue(
            block.economy,
            block.book,
            paths,
            h,
            block.z_spread,
            holdings=block.holdings,
            threads=threads,
        )
        home = (
            block.economy if block.index_ratio is None else str(gen.economy(block.economy).parent)
        )
        weights.append(discount if home == base else discount * paths.to_base(home))
        cashes.append(
            base_paths.monthly_cash(block.book.layout, block.holdings)[None, :, :]
            if block.index_ratio is None
            else _linker_cash(block, paths)
        )
    # Month by month, the blocks in order, then the running sum kept at the horizons' months:
    # the same additions in the same order as summing the paths x months x managers arrays
    # and their cumulative sum, without those arrays (13 MB each for 500 paths of the demo).
    banked = np.zeros((paths.n_paths, n_managers))
    grown = np.empty_like(out)
    for k in range(int(cols.max()) + 1 if len(cols) else 0):
        month = np.zeros((paths.n_paths, n_managers))
        for weight, cash in zip(weights, cashes, strict=True):
            month += weight[:, k, None] * cash[:, k, :]
        banked = banked + month
        grown[:, cols == k] = banked[:, None, :]
    out += grown / discount[:, cols, None]
    for c, currency in enumerate(scenario.hedge_currencies):
        unit = hedge_paths(gen, currency, paths, h)
        out += unit[:, :, None] * scenario.hedged[:, c][None, None, :]
    return out
