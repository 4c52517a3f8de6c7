"""The built-in demo: a $40B general account across 25 external managers, with planted truths.

Everything is generated from a seed: today's curve and spreads, a security master of 550+
bonds, each manager's holdings consistent with its style, a 60-year liability run-off whose long
end the assets under-match (part of it six annuity blocks with dynamic lapse and mortality,
sixteen corporates callable), 60 months of market history, manager and benchmark returns,
monthly sleeve characteristics, and (:mod:`fialloc.data.demo_history`) the month-end holdings,
benchmark compositions and security spreads behind holdings-based attribution. The truths the
desks must find are recorded in :class:`DemoTruth`:

- three managers whose excess return is BBB credit beta with no selection skill;
- three managers with genuine, significant alpha;
- two managers drifting from their stated style from a known month;
- a long-end key-rate gap (the 20y and 30y key rates are under-matched).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from fialloc.annuities import AnnuityBlocks, MortalityTable, expected_flows
from fialloc.bonds import BondBook
from fialloc.curves import Curve, bootstrap
from fialloc.data.demo_history import (
    characteristics_with_the_market,
    demo_history_tables,
    pool_factor_history,
)
from fialloc.data.demo_tips import TIPS_WEIGHT, tips_tables
from fialloc.data.demo_universe import (
    ACTIVE_NOISE,
    BBB_BETA,
    BETA_LOADING,
    CHARACTERISTIC_NOISE,
    CURVE_QUOTES,
    DEMO_VALUATION,
    DRIFT,
    DRIFT_NOTCHES,
    DRIFT_RAMP,
    DRIFT_SIZE,
    INCIDENTAL_BETA,
    MANAGERS,
    POOL_PAST_CPR,
    POOLS,
    SKILL_ALPHA,
    SKILLED,
    SPREADS,
    TENORS,
    TOTAL_ASSETS,
    Manager,
    eligible_securities,
    history_months,
    years_to_maturity,
)
from fialloc.data.futures import default_futures
from fialloc.data.vocabulary import HIGH_YIELD_LETTERS, RATING_LETTERS, rating_letter, rating_notch
from fialloc.schedule import add_months

__all__ = ["DEMO_VALUATION", "DemoTruth", "demo_tables", "synthetic_tables"]


@dataclass(frozen=True)
class DemoTruth:
    """What the demo plants, for tests and for people checking the desks.

    Attributes
    ----------
    bbb_beta_managers : tuple of str
        Excess return is BBB spread beta (loading 0.3), alpha zero.
    skilled_managers : tuple of str
        Genuine alpha (6 bp a month against 15 bp tracking noise: an information ratio of
        about 1.4, t about 3 over the 60 months).
    drifting_managers : dict of str to date
        Month-end from which the manager drifts: M22 into high yield, M23 into longer duration.
    long_end_gap_tenors : tuple of float
        Key tenors (years) where assets under-match liabilities.
    global_manager : str or None
        The global aggregate manager (EUR, GBP, JPY and CAD sovereigns, part hedged), if the
        book has one: no skill, beta or drift.
    """

    bbb_beta_managers: tuple[str, ...] = BBB_BETA
    skilled_managers: tuple[str, ...] = SKILLED
    drifting_managers: dict[str, dt.date] = field(default_factory=dict)
    long_end_gap_tenors: tuple[float, ...] = (20.0, 30.0)
    global_manager: str | None = None


#: Issue sizes (billions) a demo bond draws from.
_ISSUE_BILLIONS: Final = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
#: The security master's columns, in order.
_SECURITY_COLUMNS: Final = (
    "security_id", "issuer", "sector", "rating", "currency", "coupon", "maturity", "frequency",
    "day_count", "bid_ask_bp", "bid_ask_vol_bp", "adv", "issue_size", "liquidity_tier",
)  # fmt: skip


def _securities(rng: np.random.Generator, counts: Sequence[int]) -> pd.DataFrame:
    rows: list[tuple[object, ...]] = []
    # A bond's draws, in this order, are its stream: rng.integers(n) is the draw rng.choice
    # makes from n items, without converting the items to an array each time.
    for pool, count in zip(POOLS, counts, strict=True):
        sector, ratings, (lo, hi), freq, _, tier, bid_ask, adv_share = pool
        government = sector in ("treasury", "treasury_strip")
        issuers = max(count // 3, 1) if not government else 1
        prefix, issuer = sector[:3].upper(), sector.replace("_", " ").title()
        day_count = "ACT/365F" if freq == 0 else "ACT/ACT ICMA" if government else "30/360"
        for i in range(count):
            years = float(rng.uniform(lo, hi))
            maturity = add_months(DEMO_VALUATION, round(years * 12))
            maturity = maturity.replace(day=15 if rng.random() < 0.6 else maturity.day)
            rating = ratings[int(rng.integers(len(ratings)))]
            base = 0.036 + 0.0012 * years**0.5 + SPREADS[rating_letter(rating)]
            # Coupons in eighths of a percent, near where the bond would have been issued.
            coupon = (
                max(round(float(base + rng.normal(0, 0.004)) * 800) / 800, 0.005) if freq else 0.0
            )
            issue = _ISSUE_BILLIONS[int(rng.integers(len(_ISSUE_BILLIONS)))] * 1e9
            if sector == "treasury":
                issue *= 20
            rows.append((
                f"{prefix}{len(rows):04d}", f"{issuer} Issuer {i % issuers + 1:02d}", sector,
                rating, "USD", coupon, maturity, freq, day_count,
                round(bid_ask * float(rng.uniform(0.7, 1.4)) * (1 + years / 30), 2),
                round(bid_ask * float(rng.uniform(0.2, 0.5)), 2),
                issue * adv_share * float(rng.uniform(0.5, 1.5)),
                issue,
                tier or ("level2a" if rating in ("AA", "AA-") else "level2b"),
            ))  # fmt: skip
    return pd.DataFrame(rows, columns=list(_SECURITY_COLUMNS))


#: The demo's agency pools: fees between WAC and net coupon (servicing plus guarantee, decimal).
POOL_FEE: Final = 0.005


def _mbs_pools(securities: pd.DataFrame) -> pd.DataFrame:
    """Describe the securitized bonds as seasoned agency pools prepaying on the rate model.

    A pool's months left run to its maturity; it was a 15-year loan pool when that leaves 180
    months or fewer, else a 30-year one; its WAC is the coupon plus :data:`POOL_FEE`; its
    factor is what a level-payment pool prepaying at :data:`POOL_PAST_CPR` has left at its age.
    No random draws: the demo's other tables stay as they were.
    """
    pools = securities[securities["sector"] == "securitized"]
    wam = np.array(
        [
            (m.year - DEMO_VALUATION.year) * 12 + m.month - DEMO_VALUATION.month
            for m in pools["maturity"]
        ]
    )
    term = np.where(wam <= 180, 180, 360)
    age = term - wam
    c = (pools["coupon"].to_numpy(dtype=float) + POOL_FEE) / 12.0
    scheduled = ((1 + c) ** term - (1 + c) ** age) / ((1 + c) ** term - 1)
    factor = scheduled * (1.0 - POOL_PAST_CPR) ** (age / 12.0)
    return pd.DataFrame(
        {
            "security_id": pools["security_id"].to_numpy(),
            "balance": np.round(pools["issue_size"].to_numpy(dtype=float) * factor, 2),
            "wac": np.round(pools["coupon"].to_numpy(dtype=float) + POOL_FEE, 6),
            "net_coupon": pools["coupon"].to_numpy(dtype=float),
            "wam": wam,
            "age": age,
            "factor": np.round(factor, 6),
            "prepayment": "model",
            "speed": 1.0,
        }
    )


def _pool_prices(
    securities: pd.DataFrame,
    pools: pd.DataFrame,
    curve: Curve,
    z: np.ndarray,
    prices: np.ndarray,
    durations: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Dirty prices and durations with the pools' model values and option-adjusted durations."""
    # Local import: the MBS valuation builds on the scenario model, which reads this package.
    from fialloc.mbs import MbsPools, value_on_curve

    rows = pd.Index(securities["security_id"]).get_indexer(pd.Index(pools["security_id"]))
    mbs = value_on_curve(MbsPools.from_frame(pools), curve, oas=z[rows], key_tenors=None)
    prices, durations = prices.copy(), durations.copy()
    prices[rows] = mbs.value
    durations[rows] = mbs.effective_duration
    return prices, durations


def _with_pool_prices(
    holdings: pd.DataFrame, pools: pd.DataFrame, securities: pd.DataFrame, prices: np.ndarray
) -> pd.DataFrame:
    """Add the pools' observed dirty prices (a vendor's MBS prices) to the holdings."""
    price = pd.Series(prices, index=securities["security_id"].to_numpy())
    pool = holdings["security_id"].isin(pools["security_id"])
    return holdings.assign(
        price=holdings["security_id"].map(price).where(pool),
        price_type=pd.Series("dirty", index=holdings.index, dtype=object).where(pool, None),
    )


def _z_spreads(securities: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    letters = securities["rating"].map(rating_letter)
    z = letters.map(SPREADS).to_numpy(dtype=float).copy()
    z[securities["sector"].isin(["treasury", "treasury_strip"]).to_numpy()] = 0.0
    z[securities["sector"].eq("agency").to_numpy()] = 0.0015
    z[securities["sector"].eq("private_placement").to_numpy()] += 0.0050  # illiquidity premium
    return z + rng.normal(0, 0.0008, len(z)) * (z > 0)


#: Demo corporates with a call schedule: Bermudan par calls, and (every fourth) make-whole.
CALLABLES: Final = 16


def _call_schedule(securities: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Call schedules of a few long corporates: at par on each coupon date after a lockout.

    Drawn from the seed's own stream, so the rest of the book is what it was without them.
    Every fourth is a make-whole call (valued as a bullet).
    """
    rng = np.random.default_rng([seed, 18])
    years = years_to_maturity(securities["maturity"])
    corporate = securities["sector"].isin(["financial", "industrial", "utility"]).to_numpy()
    pool = np.flatnonzero(corporate & (years >= 8) & (securities["frequency"] == 2).to_numpy())
    picks = np.sort(rng.choice(pool, size=min(CALLABLES, len(pool)), replace=False))
    rows = []
    ids, maturities = securities["security_id"].to_numpy(dtype=object), securities["maturity"]
    for k, idx in enumerate(picks):
        maturity, sid = maturities.iloc[idx], ids[idx]
        first = add_months(DEMO_VALUATION, 12 * int(rng.integers(2, 6)))
        dates, back = [], 1
        while (d := add_months(maturity, -6 * back)) > first:
            dates.append(d)
            back += 1
        for d in sorted(dates):
            rows.append({"security_id": sid, "date": d,
                         "price": 100.0, "kind": "call", "make_whole": k % 4 == 3})  # fmt: skip
    return pd.DataFrame(rows)


def _holdings(
    securities: pd.DataFrame,
    prices: np.ndarray,
    rng: np.random.Generator,
    managers: Sequence[Manager],
    pick_range: tuple[int, int],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    eligible = eligible_securities(securities, managers)
    chosen = {
        mid: set(rng.choice(idx, size=min(len(idx), int(rng.integers(*pick_range))), replace=False))
        for mid, idx in eligible.items()
    }
    # Every security in the master is held by someone whose mandate allows it.
    owners = np.array(list(eligible), dtype=object)
    allows = np.zeros((len(eligible), len(securities)), dtype=bool)  # manager by security
    for row, universe in enumerate(eligible.values()):
        allows[row, universe] = True
    unheld = np.ones(len(securities), dtype=bool)
    unheld[list(set().union(*chosen.values()))] = False
    for position in np.flatnonzero(unheld & allows.any(axis=0)).tolist():
        chosen[str(rng.choice(owners[allows[:, position]].tolist()))].add(position)
    ids = securities["security_id"].to_numpy(dtype=object)
    parts, table = [], []
    for mid, name, style, bench, weight, _, _ in managers:
        picks = np.array(sorted(chosen[mid]), dtype=np.intp)
        mv = TOTAL_ASSETS * weight * rng.dirichlet(np.full(len(picks), 4.0))
        par = [round(p, 2) for p in (mv / (prices[picks] / 100.0)).tolist()]
        if par:  # an empty part would make the columns' dtypes object
            parts.append(pd.DataFrame({"manager_id": mid, "security_id": ids[picks], "par": par}))
        table.append({"manager_id": mid, "name": name, "style": style, "benchmark": bench,
                      "current_allocation": weight})  # fmt: skip
    rows = pd.concat(parts, ignore_index=True)
    return rows, pd.DataFrame(table)


def _liabilities(asset_value: float, curve: Curve) -> pd.DataFrame:
    # Annuity run-off with a long tail (deferred annuities): payments mid-year for 60 years.
    years = np.arange(60) + 0.5
    shape = np.exp(-years / 28.0) * (0.6 + 0.9 * np.exp(-(((years - 26.0) / 10.0) ** 2)))
    dates = [add_months(DEMO_VALUATION, 6 + 12 * k) for k in range(60)]
    times = np.array([(d - DEMO_VALUATION).days / 365.0 for d in dates])
    pv_unit = float(np.dot(shape, curve.discount(times)))
    amounts = shape * (0.90 * asset_value / pv_unit)
    return pd.DataFrame({"date": dates, "amount": np.round(amounts, 2)})


# Annuity blocks carved out of the demo's liabilities: four fixed annuities (id, age, account
# value, credited rate, term in years) and two payout annuities (id, age, annual payment).
_FIXED_ANNUITIES: Final = (
    ("FA1", 60, 0.6e9, 0.0375, 6.0), ("FA2", 63, 0.6e9, 0.0350, 9.0),
    ("FA3", 58, 0.5e9, 0.0400, 12.0), ("FA4", 66, 0.4e9, 0.0325, 4.0),
)  # fmt: skip
_PAYOUT_ANNUITIES: Final = (("SPIA1", 70, 60e6), ("SPIA2", 76, 45e6))


@functools.cache
def _liability_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return the annuity blocks, their mortality and the fixed flows (:func:`_annuity_blocks`).

    Built once a process: they depend only on today's curve (fixed quotes) and the $40B of
    assets, not on the seed or the book's shape; callers take copies.
    """
    quotes = pd.DataFrame(CURVE_QUOTES, columns=["kind", "tenor", "rate"])
    curve = bootstrap(quotes, DEMO_VALUATION)
    return _annuity_blocks(_liabilities(TOTAL_ASSETS, curve), curve)


def _annuity_blocks(
    liabilities: pd.DataFrame, curve: Curve
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Annuity blocks, their mortality, and the fixed flows left once they are carved out.

    The blocks pay on the liabilities' own dates (anniversaries six months from today), and
    their expected flows come out of the fixed ones, so the liability stream the run prices
    is the demo's run-off as before (to the cent); only behaviour is new.
    """
    ages = np.arange(40, 121)
    # Gompertz mortality, 1% at 65 doubling every ~7 years; improvement 1% a year to age 90.
    qx = np.minimum(0.01 * np.exp(np.log(7.0) / 20.0 * (ages - 65)), 1.0)
    improvement = 0.01 * np.clip((110 - ages) / 20.0, 0.0, 1.0)
    mortality = pd.DataFrame(
        {"age": ages, "qx": np.round(qx, 6), "improvement": np.round(improvement, 6)}
    )
    anniversary = add_months(DEMO_VALUATION, 6)
    rows: list[dict[str, object]] = [
        {"product_id": pid, "kind": "fixed_annuity", "age": age, "next_anniversary": anniversary,
         "account_value": value, "credited_rate": rate, "surrender_charge": 0.06,
         "surrender_years": 6.0, "base_lapse": 0.05, "term_years": term}
        for pid, age, value, rate, term in _FIXED_ANNUITIES
    ]  # fmt: skip
    rows += [
        {"product_id": pid, "kind": "payout_annuity", "age": age, "next_anniversary": anniversary,
         "annual_payment": payment}
        for pid, age, payment in _PAYOUT_ANNUITIES
    ]  # fmt: skip
    products = pd.DataFrame(rows)
    blocks = AnnuityBlocks.from_frame(products, DEMO_VALUATION)
    flows = expected_flows(blocks, MortalityTable.from_frame(mortality), curve)
    carved = flows.set_index("date")["amount"].reindex(liabilities["date"], fill_value=0.0)
    fixed = liabilities.assign(amount=np.round(liabilities["amount"] - carved.to_numpy(), 2))
    return products, mortality, fixed


def _market_history(
    curve: Curve, rng: np.random.Generator
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    months = history_months()
    n = len(months)
    tenors = np.asarray(TENORS)
    level = rng.normal(0, 0.0018, n)
    slope = rng.normal(0, 0.0009, n)
    curv = rng.normal(0, 0.0005, n)
    shape_slope = (tenors - 7.0) / 25.0
    shape_curv = -np.exp(-(((tenors - 5.0) / 4.0) ** 2)) + 0.3
    moves = level[:, None] + slope[:, None] * shape_slope + curv[:, None] * shape_curv
    moves[0] = 0.0
    today = np.asarray(curve.zero_rate(tenors))
    zeros = today - np.cumsum(moves[::-1], axis=0)[::-1] + moves  # last row is today
    credit = rng.normal(0, 1.0, n)
    spread_moves = {}
    rows = []
    for k, month in enumerate(months):
        for j, t in enumerate(TENORS):
            rows.append({"month": month, "series": f"zero_{t:g}y", "value": float(zeros[k, j])})
    for letter in RATING_LETTERS:
        vol = SPREADS[letter] * 0.08
        dm = vol * (0.85 * credit + 0.5 * rng.normal(0, 1.0, n))
        dm[0] = 0.0
        path = SPREADS[letter] - np.cumsum(dm[::-1])[::-1] + dm
        path = np.maximum(path, SPREADS[letter] * 0.3)
        spread_moves[letter] = np.diff(path, prepend=path[0])
        for k, month in enumerate(months):
            rows.append({"month": month, "series": f"spread_{letter}", "value": float(path[k])})
        spread_moves[f"{letter}_level"] = path
    spread_moves["level"] = np.diff(zeros[:, 6], prepend=zeros[0, 6])  # 10y zero moves
    return pd.DataFrame(rows), spread_moves


def _spread_durations(
    securities: pd.DataFrame, holdings: pd.DataFrame, prices: np.ndarray, history: pd.DataFrame
) -> dict[str, np.ndarray]:
    """Measure the book's BBB and BB spread durations at the start of each month (years).

    The same measure the desks use (:func:`fialloc.factor_returns.spread_durations_by_rating`),
    so a planted credit loading is the loading they estimate.
    """
    # Local import: fialloc.factor_returns reads this package's vocabulary.
    from fialloc.factor_returns import spread_durations_by_rating

    table = history.pivot(index="month", columns="series", values="value").sort_index()
    zeros = table[[f"zero_{t:g}y" for t in TENORS]].set_axis(list(TENORS), axis=1)
    spreads = table[[f"spread_{x}" for x in RATING_LETTERS]].set_axis(list(RATING_LETTERS), axis=1)
    par = holdings.groupby("security_id")["par"].sum().reindex(securities["security_id"])
    held = par.fillna(0.0).to_numpy() * prices / 100.0
    durations = spread_durations_by_rating(securities, held, zeros, spreads)
    return {
        f"{x}_duration": np.concatenate([durations[x].to_numpy()[:1], durations[x].to_numpy()[:-1]])
        for x in ("BBB", "BB")
    }


def _returns_and_characteristics(
    managers: pd.DataFrame, sleeve: pd.DataFrame, factors: dict[str, np.ndarray],
    rng: np.random.Generator, templates: Mapping[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, dt.date]]:  # fmt: skip
    months = history_months()
    n = len(months)
    d_level = factors["level"]
    # Credit excess-return factors: a month's carry minus the book's own spread duration of the
    # rating at the start of the month times the move (the desks' definition).
    bbb = factors["BBB_level"] / 12 - factors["BBB_duration"] * factors["BBB"]
    hy = factors["BB_level"] / 12 - factors["BB_duration"] * factors["BB"]
    rows: dict[str, list[Any]] = {"month": [], "manager_id": []}
    chars: dict[str, list[Any]] = {"month": [], "manager_id": []}
    drift_dates = {}
    ids = managers["manager_id"]
    levels = sleeve.loc[ids, ["duration", "credit_notch", "hy_share", "yield"]].to_numpy()
    for mid, (dur, notch, hy_share, yld) in zip(ids, levels, strict=True):
        bench = yld / 12 - dur * d_level + rng.normal(0, 0.0004, n)
        active = rng.normal(0, ACTIVE_NOISE, n) + INCIDENTAL_BETA * bbb * rng.normal()
        noise = CHARACTERISTIC_NOISE
        notch_path = np.full(n, notch) + _wander(rng.normal(0, 1.0, n), noise["credit_notch"])
        hy_path = np.full(n, hy_share) + _wander(rng.normal(0, 1.0, n), noise["high_yield_share"])
        d_path = np.full(n, dur)
        kind = templates[mid]  # the demo manager whose truth this one carries
        if kind in BBB_BETA:
            active = BETA_LOADING * bbb + rng.normal(0, ACTIVE_NOISE, n)
        elif kind in SKILLED:
            active = SKILL_ALPHA + rng.normal(0, ACTIVE_NOISE, n)
        elif kind in DRIFT:
            start = DRIFT[kind]
            drift_dates[mid] = months[start]
            ramp = np.clip((np.arange(n) - start + 1) / DRIFT_RAMP, 0.0, 1.0)
            size = DRIFT_SIZE[kind]
            if kind == "M22":  # drifting into high yield
                active = active + size * ramp * hy
                hy_path = hy_path + size * ramp
                notch_path = notch_path + DRIFT_NOTCHES * ramp
            else:  # M23: extending duration
                active = active - size * ramp * d_level
                d_path = dur + size * ramp
        # One draw per month: the same stream as drawing the months one at a time.
        d_path = d_path + _wander(rng.normal(0, 1.0, n), noise["duration"])
        ret = bench + active
        # Column by column, a manager's months at once (the same values as month by month).
        for table, values in (
            (rows, {"return": ret, "benchmark_return": bench}),
            (chars, {"duration": np.maximum(d_path, 0.0),
                     "credit_notch": np.clip(notch_path, 1, 21),
                     "high_yield_share": np.clip(hy_path, 0, 1)}),
        ):  # fmt: skip
            table["month"] += months
            table["manager_id"] += [mid] * n
            for name, column in values.items():
                table.setdefault(name, []).extend(np.asarray(column, dtype=float).tolist())
    return pd.DataFrame(rows), pd.DataFrame(chars), drift_dates


def _wander(shocks: np.ndarray, sd: float) -> np.ndarray:
    """Stationary AR(1) noise with standard deviation `sd` from standard normal `shocks`."""
    phi = CHARACTERISTIC_NOISE["phi"]
    innovation = math.sqrt(1.0 - phi * phi)
    # The recursion on Python floats: the same IEEE operations as on numpy scalars, faster.
    values = shocks.tolist()
    out = [last := values[0]]
    for shock in values[1:]:
        out.append(last := phi * last + innovation * shock)
    return sd * np.array(out, dtype=np.float64)


def demo_tables(
    seed: int = 7, *, global_sleeve: bool = True
) -> tuple[dict[str, pd.DataFrame], DemoTruth]:
    """Build the demo's input tables (valuation date :data:`DEMO_VALUATION`) and its truths.

    The 25 US managers hold 94% of the assets; the global aggregate manager
    (:mod:`fialloc.data.demo_global`) and the TIPS manager (:mod:`fialloc.data.demo_tips`)
    3% each. Without `global_sleeve`, the US managers hold 97% (the single-currency demo:
    the benchmark's reference).
    """
    return _tables(
        seed,
        MANAGERS,
        [pool[4] for pool in POOLS],
        (28, 44),
        with_history=True,
        global_sleeve=global_sleeve,
        tips_sleeve=True,
    )


def synthetic_tables(
    n_managers: int, n_securities: int, seed: int = 0, *, global_sleeve: bool = False
) -> tuple[dict[str, pd.DataFrame], DemoTruth]:
    """Build a demo-like book of any size, for scale tests and benchmarks.

    Managers cycle through the demo's 25 (``M001``, ``M002``... with the styles, benchmarks,
    eligible pools and planted truths of ``M01``, ``M02``...; weights scaled to sum to one);
    the security pools keep the demo's proportions; each manager holds about as many
    securities per manager as the book has, so every security is still held. Total assets
    stay $40B. The truths name the managers carrying each demo truth. Unlike the demo, the
    book has no holdings, benchmark or security-spread histories (no holdings attribution)
    and no ``mbs_pools`` (its securitized bonds are valued on their scheduled flows).
    With `global_sleeve`, the demo's global aggregate manager (EUR, GBP, JPY and CAD
    sovereigns, part hedged; :mod:`fialloc.data.demo_global`) joins with 3% of the assets.

    Raises
    ------
    ValueError
        If `n_managers` is not an integer from 1 to 10,000 or `n_securities` not one from
        100 to 1,000,000.
    """
    for name, value, lo, hi in (
        ("n_managers", n_managers, 1, 10_000),
        ("n_securities", n_securities, 100, 1_000_000),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | np.integer)
            or not lo <= value <= hi
        ):
            msg = f"synthetic: `{name}` must be an integer from {lo:,} to {hi:,}, got {value!r}"
            raise ValueError(msg)
    total = sum(MANAGERS[k % len(MANAGERS)][4] for k in range(n_managers))
    scaled: list[Manager] = []
    for k in range(n_managers):
        _, name, style, bench, weight, pools, maturities = MANAGERS[k % len(MANAGERS)]
        copy = k // len(MANAGERS)
        label = f"{name} {copy + 1}" if copy else name
        scaled.append((f"M{k + 1:03d}", label, style, bench, weight / total, pools, maturities))
    base = np.array([pool[4] for pool in POOLS], dtype=float)
    share = base / base.sum() * n_securities
    counts = np.floor(share).astype(int)  # at least 2 each from 100 securities up
    # Largest remainders take the securities rounding left over.
    for i in np.argsort(-(share - np.floor(share)))[: n_securities - int(counts.sum())]:
        counts[i] += 1
    per_manager = n_securities / n_managers / (base.sum() / len(MANAGERS))
    picks = (max(2, round(28 * per_manager)), max(3, round(44 * per_manager)))
    return _tables(
        seed, scaled, counts.tolist(), picks, with_history=False, global_sleeve=global_sleeve
    )


def _scaled(
    managers_spec: Sequence[Manager], global_sleeve: bool, tips_sleeve: bool
) -> Sequence[Manager]:
    """Scale the managers' weights down to leave the global and TIPS sleeves theirs."""
    # The global and TIPS managers' weights come out of every other manager's.
    outside = 0.0
    if global_sleeve:
        from fialloc.data.demo_global import GLOBAL_WEIGHT

        outside += GLOBAL_WEIGHT
    if tips_sleeve:  # its histories join the demo's (with_history)
        outside += TIPS_WEIGHT
    if outside:
        return [(*m[:4], m[4] * (1.0 - outside), *m[5:]) for m in managers_spec]
    return managers_spec


def _sleeves(
    securities: pd.DataFrame,
    holdings: pd.DataFrame,
    prices: np.ndarray,
    durations: np.ndarray,
    ytm: np.ndarray,
) -> pd.DataFrame:
    """Return each sleeve's value-weighted duration, notch, high-yield share and yield today."""
    mv = holdings.merge(
        pd.DataFrame({"security_id": securities["security_id"], "price": prices,
                      "duration": durations, "ytm": ytm,
                      "notch": securities["rating"].map(rating_notch),
                      "hy": securities["rating"].map(rating_letter).isin(HIGH_YIELD_LETTERS)}),
        on="security_id",
    )  # fmt: skip
    mv["value"] = mv["par"] * mv["price"] / 100.0
    value = mv.groupby("manager_id")["value"].sum()
    return pd.DataFrame(
        {
            col: (mv[src] * mv["value"]).groupby(mv["manager_id"]).sum() / value
            for col, src in (("duration", "duration"), ("credit_notch", "notch"),
                             ("hy_share", "hy"), ("yield", "ytm"))
        }
    )  # fmt: skip


def _history_tables(
    securities: pd.DataFrame,
    z: np.ndarray,
    holdings: pd.DataFrame,
    managers: pd.DataFrame,
    prices: np.ndarray,
    pools: pd.DataFrame,
    factors: dict[str, np.ndarray],
    seed: int,
) -> dict[str, pd.DataFrame]:
    """Return the MBS pools, benchmarks and histories the full demo adds to its tables."""
    # Each manager's benchmark composition is its own (its bonds and some of its
    # universe), so each gets a benchmark id; the name is the index it follows.
    ids = "B" + managers["manager_id"].str.removeprefix("M")
    tables = {
        "mbs_pools": pools,
        "holdings": _with_pool_prices(holdings, pools, securities, prices),
        "benchmarks": pd.DataFrame({"benchmark_id": ids, "name": managers["benchmark"]}),
        "managers": managers.assign(benchmark=ids),
    }
    tables |= demo_history_tables(
        securities, z, holdings, prices, factors, seed,
        dict(zip(managers["manager_id"], ids, strict=True)),
    )  # fmt: skip
    tables["pool_factors"] = pool_factor_history(pools)
    return tables


def _tables(
    seed: int,
    managers_spec: Sequence[Manager],
    counts: Sequence[int],
    picks: tuple[int, int],
    with_history: bool,
    global_sleeve: bool = False,
    tips_sleeve: bool = False,
) -> tuple[dict[str, pd.DataFrame], DemoTruth]:
    managers_spec = _scaled(managers_spec, global_sleeve, tips_sleeve)
    rng = np.random.default_rng(seed)
    quotes = pd.DataFrame(CURVE_QUOTES, columns=["kind", "tenor", "rate"])
    curve = bootstrap(quotes, DEMO_VALUATION)
    securities = _securities(rng, counts)
    z = _z_spreads(securities, rng)
    book = BondBook.from_frame(securities.assign(face=100.0), DEMO_VALUATION)
    analytics = book.analyze(curve, z_spread=z)
    prices, durations = analytics.dirty_price.copy(), analytics.effective_duration.copy()
    pools = _mbs_pools(securities) if with_history else None
    if pools is not None:
        # The pools trade at their model value at an OAS of their drawn spread: their price
        # and option-adjusted duration are what a run finds, and their face is bought at it.
        prices, durations = _pool_prices(securities, pools, curve, z, prices, durations)
    holdings, managers = _holdings(securities, prices, rng, managers_spec, picks)
    products, mortality, fixed_liabilities = (table.copy() for table in _liability_tables())
    history, factors = _market_history(curve, rng)
    factors |= _spread_durations(securities, holdings, prices, history)
    sleeve = _sleeves(securities, holdings, prices, durations, analytics.ytm)
    templates = {m[0]: MANAGERS[k % len(MANAGERS)][0] for k, m in enumerate(managers_spec)}
    returns, characteristics, drift_dates = _returns_and_characteristics(
        managers, sleeve, factors, rng, templates
    )
    spreads = pd.DataFrame({"rating": list(SPREADS), "spread": list(SPREADS.values())})
    tables = {
        "securities": securities.assign(z_spread=z),
        "holdings": holdings,
        "managers": managers,
        "manager_returns": returns,
        "liabilities": fixed_liabilities,
        "liability_products": products,
        "mortality": mortality,
        "curve_quotes": quotes,
        "spreads": spreads,
        "market_history": history,
        "manager_characteristics": characteristics,
        "overlay_futures": default_futures(DEMO_VALUATION),
        "call_schedule": _call_schedule(securities, seed),
    }
    if pools is not None:
        tables |= _history_tables(securities, z, holdings, managers, prices, pools, factors, seed)
    if global_sleeve:
        # Local import: the global sleeve builds on curve sets, which this module need not.
        from fialloc.data.demo_global import GLOBAL_MANAGER, add_global_sleeve

        tables = add_global_sleeve(
            tables, DEMO_VALUATION, TOTAL_ASSETS, seed, factors["level"], TENORS, with_history
        )
    if tips_sleeve:
        tips = tips_tables(seed, DEMO_VALUATION, history_months(), curve, history, TOTAL_ASSETS)
        for name, rows in tips.items():
            tables[name] = (
                pd.concat([tables[name], rows], ignore_index=True) if name in tables else rows
            )
    if pools is not None:  # every sleeve, the global and TIPS ones too, moves with the market
        tables["manager_characteristics"] = characteristics_with_the_market(tables, DEMO_VALUATION)
    carrying = {k: tuple(m for m, t in templates.items() if t in k) for k in (BBB_BETA, SKILLED)}
    return tables, DemoTruth(
        carrying[BBB_BETA],
        carrying[SKILLED],
        drift_dates,
        global_manager=GLOBAL_MANAGER if global_sleeve else None,
    )
