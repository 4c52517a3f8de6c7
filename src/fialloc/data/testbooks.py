"""Independent test books with planted skill and credit beta, for measuring detection power.

Separate from the demo (:mod:`fialloc.data.demo`) and its synthetic copies: each seed draws
its own book size (10-60 managers, 36-120 months unless given), styles, benchmarks, security
master, market path and planted truths:

- market: a zero curve whose level, slope and curvature move monthly (level volatility
  15-30 bp a month), and credit spreads by rating moving with one common credit shock and a
  rating-specific one (lognormal, 6-12% of the spread a month, correlated 0.6-0.9 across
  ratings, the log spread reverting to its level with a monthly persistence of 0.97), both
  drawn per book;
- securities: treasuries, agencies, A and BBB corporates, BB and B high yield and AAA
  securitized bonds with coupons near issue yields; managers of six styles (core, core plus,
  IG credit, long credit, high yield, government) hold 10-25 bonds of their universe;
- returns: each manager's benchmark earns its yield less duration times the 10-year rate move;
  its excess return is a small duration tilt plus, for planted managers, credit beta (a loading
  on the BBB or the high yield factor of the desks' definition,
  :func:`fialloc.factor_returns.style_factor_returns`) or selection alpha (a true
  information ratio drawn from 0.25 to 2.0 against the manager's residual volatility), plus
  noise with first-order autocorrelation 0-0.3 (smoothed marks) and a monthly volatility of
  10-40 bp.

The truth comes back beside the :class:`~fialloc.data.portfolio.Portfolio`, with the factor
returns and noise model behind it, so an oracle that knows them can be compared with the
desks (:mod:`fialloc.analytics.detection`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from fialloc.bonds import BondBook
from fialloc.curves import Curve, bootstrap
from fialloc.data.portfolio import Portfolio
from fialloc.schedule import add_months

__all__ = ["KINDS", "GeneratedBook", "generate_book"]

#: What a manager carries: selection alpha, credit beta, or neither.
KINDS: Final = ("skill", "beta", "null")
VALUATION: Final = dt.date(2026, 6, 30)
TENORS: Final = (0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0)
LETTERS: Final = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC")
#: Spread (decimal) by rating around which each book draws its own, and its monthly volatility
#: as a share of the spread (each book scales it by a draw of 0.75-1.5).
BASE_SPREADS: Final = {"AAA": 0.0035, "AA": 0.0055, "A": 0.0085, "BBB": 0.0130,
                       "BB": 0.0250, "B": 0.0380, "CCC": 0.0750}  # fmt: skip
SPREAD_VOL: Final = 0.08
SPREAD_PERSISTENCE: Final = 0.97
#: Sector: ratings, maturities (years), coupon frequency, liquidity tier, bid-ask (bp).
_SECTORS: Final = {
    "treasury": (("AA+",), (1, 30), 2, "level1", 1.0),
    "agency": (("AA+",), (2, 10), 2, "level2a", 3.0),
    "industrial": (("A+", "A", "A-", "BBB+", "BBB", "BBB-"), (2, 30), 2, "level2b", 9.0),
    "financial": (("A", "A-", "BBB+", "BBB", "BBB-"), (2, 20), 2, "level2b", 8.0),
    "high_yield": (("BB+", "BB", "BB-", "B+", "B"), (3, 9), 2, "illiquid", 35.0),
    "securitized": (("AAA",), (2, 10), 12, "level2b_rmbs", 12.0),
}
#: Style: benchmark, sectors, maturity range (years).
_STYLES: Final = {
    "core": ("Aggregate", ("treasury", "agency", "industrial", "financial", "securitized"),
             (2, 15)),
    "core_plus": ("Universal", ("treasury", "industrial", "financial", "high_yield"), (2, 15)),
    "ig_credit": ("IG Credit", ("industrial", "financial"), (2, 12)),
    "long_credit": ("Long Credit", ("industrial", "financial"), (10, 30)),
    "high_yield": ("High Yield", ("high_yield",), (3, 9)),
    "government": ("Government", ("treasury", "agency"), (1, 30)),
}  # fmt: skip


@dataclass(frozen=True)
class GeneratedBook:
    """A generated book, the desks' input, with what was planted in it.

    Attributes
    ----------
    portfolio : Portfolio
        Validated like any user's book (:func:`fialloc.data.from_tables`).
    truth : DataFrame
        Per manager (index ``manager_id``): ``kind`` (:data:`KINDS`), ``alpha`` (true
        selection alpha, decimal a year), ``information_ratio`` (alpha over the residual
        volatility, annual), ``beta_duration``, ``beta_credit_bbb``, ``beta_credit_hy`` (true
        loadings on the desks' factor returns), ``noise_sd`` (marginal monthly volatility of
        the residual, decimal), ``noise_ar`` (its first-order autocorrelation) and ``style``.
    factors : DataFrame
        The factor returns the excess returns were built from (months by ``duration``,
        ``credit_bbb``, ``credit_hy``): the desks' own, from the book's market history.
    seed : int
        The seed the book was drawn from.
    """

    portfolio: Portfolio
    truth: pd.DataFrame
    factors: pd.DataFrame
    seed: int


def generate_book(
    seed: int,
    n_managers: int | None = None,
    n_months: int | None = None,
    skill_share: float = 0.25,
    beta_share: float = 0.2,
    ir_range: tuple[float, float] = (0.25, 2.0),
) -> GeneratedBook:
    """Draw an independent test book with planted skill and credit beta.

    Parameters
    ----------
    seed : int
        Everything is drawn from it (same seed, same book).
    n_managers, n_months : int, optional
        Book size (months of returns; the market history starts a month earlier); drawn from
        10-60 managers and 36-120 months when not given.
    skill_share, beta_share : float
        Expected shares of managers with selection alpha and with credit beta (the rest carry
        neither); at least one of each is planted.
    ir_range : tuple of float
        Range of the skilled managers' true information ratios (uniform).

    Returns
    -------
    GeneratedBook

    Raises
    ------
    ValueError
        If a size is out of range (1-500 managers, 12-240 months) or the shares are not in
        [0, 1] with a sum at most 1.
    """
    rng = np.random.default_rng([seed, 15])
    m = int(rng.integers(10, 61)) if n_managers is None else n_managers
    n = int(rng.integers(36, 121)) if n_months is None else n_months
    _check_book(m, n, skill_share, beta_share)
    # Local imports: the loaders validate (and import this package); the factor definitions
    # read this package's vocabulary.
    from fialloc.data.loaders import from_tables
    from fialloc.factor_returns import rating_spread_durations, style_factor_returns

    # One month of market history before the first return: a factor return is a change.
    months = [add_months(VALUATION, -(n - k)) for k in range(n + 1)]
    quotes, curve = _curve(rng)
    history = _market_history(rng, months, curve)
    securities = _securities(rng, m)
    z = _z_spreads(securities, history)
    prices = BondBook.from_frame(securities.assign(face=100.0), VALUATION).analyze(
        curve, z_spread=z
    )
    styles = rng.choice(list(_STYLES), size=m)
    holdings, managers = _holdings(rng, securities, prices, styles)
    tables = {
        "securities": securities.assign(z_spread=z),
        "holdings": holdings,
        "managers": managers,
        "liabilities": _liabilities(),
        "curve_quotes": quotes,
    } | _market_tables(history)
    book = from_tables(tables, VALUATION)
    factors = style_factor_returns(
        book.zero_history, book.spread_history, rating_spread_durations(book)
    )
    truth = _truth(rng, managers, skill_share, beta_share, ir_range)
    benchmark_yield = prices.ytm.mean()
    returns = _returns(rng, truth, factors, benchmark_yield)
    portfolio = from_tables(tables | {"manager_returns": returns}, VALUATION)
    return GeneratedBook(portfolio=portfolio, truth=truth, factors=factors, seed=seed)


def _check_book(m: int, n: int, skill_share: float, beta_share: float) -> None:
    """Refuse a book size or planted shares out of range (see :func:`generate_book`)."""
    if not (1 <= m <= 500 and 12 <= n <= 240):
        msg = f"generate_book: need 1-500 managers and 12-240 months, got {m} and {n}"
        raise ValueError(msg)
    if not (0 <= skill_share <= 1 and 0 <= beta_share <= 1 and skill_share + beta_share <= 1):
        msg = (
            "generate_book: shares must be in [0, 1] summing to at most 1, got "
            f"{skill_share} and {beta_share}"
        )
        raise ValueError(msg)


def _market_tables(history: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Return the ``spreads`` table (each rating's last spread) and ``market_history``."""
    return {
        "spreads": pd.DataFrame(
            {"rating": list(LETTERS), "spread": [history[f"spread_{x}"].iloc[-1] for x in LETTERS]}
        ),
        "market_history": history.melt(ignore_index=False, var_name="series", value_name="value")
        .rename_axis("month")
        .reset_index(),
    }


def _curve(rng: np.random.Generator) -> tuple[pd.DataFrame, Curve]:
    """Today's curve quotes (a random level and slope) and the bootstrapped curve."""
    level = float(rng.uniform(0.02, 0.05))
    slope = float(rng.uniform(-0.005, 0.015))
    tenors = {"1M": 1 / 12, "3M": 0.25, "6M": 0.5, "1Y": 1, "2Y": 2, "3Y": 3, "5Y": 5, "7Y": 7,
              "10Y": 10, "20Y": 20, "30Y": 30}  # fmt: skip
    rows = []
    for label, t in tenors.items():
        rate = level + slope * (1 - np.exp(-t / 5.0))
        rows.append(("deposit" if t < 1 else "swap", label, round(rate, 5)))
    quotes = pd.DataFrame(rows, columns=["kind", "tenor", "rate"])
    return quotes, bootstrap(quotes, VALUATION)


def _market_history(rng: np.random.Generator, months: list[dt.date], curve: object) -> pd.DataFrame:
    """Monthly zero rates by tenor and spreads by rating (months by series), ending today."""
    n = len(months)
    tenors = np.asarray(TENORS)
    level_vol = float(rng.uniform(0.0015, 0.003))
    shocks = rng.normal(0.0, 1.0, (n, 3)) * [level_vol, level_vol / 2, level_vol / 4]
    shape = np.column_stack(
        [np.ones_like(tenors), (tenors - 7.0) / 25.0, np.exp(-(((tenors - 5.0) / 4.0) ** 2))]
    )
    moves = shocks @ shape.T
    moves[0] = 0.0
    today = np.asarray(curve.zero_rate(tenors))  # type: ignore[attr-defined]
    zeros = today - np.cumsum(moves[::-1], axis=0)[::-1] + moves
    table = {f"zero_{t:g}y": zeros[:, j] for j, t in enumerate(TENORS)}
    vol = SPREAD_VOL * float(rng.uniform(0.75, 1.5))
    rho = float(rng.uniform(0.6, 0.9))
    common = rng.normal(0.0, 1.0, n)
    level = float(rng.uniform(0.7, 1.4))
    for letter in LETTERS:
        shock = vol * (rho * common + np.sqrt(1 - rho**2) * rng.normal(0.0, 1.0, n))
        # The log spread reverts to its level (monthly persistence SPREAD_PERSISTENCE), starting
        # from its long-run distribution: spreads wander for years but stay spreads.
        log_gap = np.empty(n)
        log_gap[0] = shock[0] / np.sqrt(1.0 - SPREAD_PERSISTENCE**2)
        for t in range(1, n):
            log_gap[t] = SPREAD_PERSISTENCE * log_gap[t - 1] + shock[t]
        table[f"spread_{letter}"] = BASE_SPREADS[letter] * level * np.exp(log_gap)
    return pd.DataFrame(table, index=pd.Index(months, name="month"))


def _securities(rng: np.random.Generator, n_managers: int) -> pd.DataFrame:
    """Draw a security master sized to the book: two bonds per manager in each sector."""
    rows: list[dict[str, object]] = []
    count = max(12, 2 * n_managers)
    for sector, (ratings, (lo, hi), freq, tier, bid_ask) in _SECTORS.items():
        for i in range(count):
            years = float(rng.uniform(lo, hi))
            rating = str(rng.choice(ratings))
            letter = rating.rstrip("+-")
            coupon = round((0.03 + BASE_SPREADS[letter] + float(rng.normal(0, 0.004))) * 800) / 800
            issue = float(rng.choice([0.5, 1.0, 2.0])) * 1e9
            rows.append(
                {
                    "security_id": f"{sector[:3].upper()}{len(rows):05d}",
                    "issuer": f"{sector} issuer {i % max(count // 3, 1):03d}",
                    "sector": sector,
                    "rating": rating,
                    "currency": "USD",
                    "coupon": max(coupon, 0.005),
                    "maturity": add_months(VALUATION, max(round(years * 12), 13)),
                    "frequency": freq,
                    "day_count": "ACT/ACT ICMA" if sector == "treasury" else "30/360",
                    "bid_ask_bp": round(bid_ask * float(rng.uniform(0.7, 1.4)), 2),
                    "bid_ask_vol_bp": round(bid_ask * 0.3, 2),
                    "adv": issue * 0.003,
                    "issue_size": issue,
                    "liquidity_tier": tier,
                }
            )
    return pd.DataFrame(rows)


def _z_spreads(securities: pd.DataFrame, history: pd.DataFrame) -> np.ndarray:
    """Today's z-spread of each security: its rating's spread, none for treasuries."""
    letters = securities["rating"].str.rstrip("+-")
    z = letters.map(lambda x: float(history[f"spread_{x}"].iloc[-1])).to_numpy(dtype=float).copy()
    z[securities["sector"].eq("treasury").to_numpy()] = 0.0
    z[securities["sector"].eq("agency").to_numpy()] = 0.0015
    return z


def _holdings(
    rng: np.random.Generator, securities: pd.DataFrame, prices: object, styles: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each manager's 10-25 bonds of its universe, and the managers table (equal weights)."""
    years = np.array([(d - VALUATION).days / 365.0 for d in securities["maturity"]])
    dirty = np.asarray(prices.dirty_price)  # type: ignore[attr-defined]
    m = len(styles)
    rows, table = [], []
    for k, style in enumerate(styles):
        benchmark, sectors, (lo, hi) = _STYLES[str(style)]
        ok = securities["sector"].isin(sectors).to_numpy() & (years >= lo) & (years <= hi)
        universe = np.flatnonzero(ok)
        picks = rng.choice(
            universe, size=min(len(universe), int(rng.integers(10, 26))), replace=False
        )
        value = 40e9 / m * rng.dirichlet(np.full(len(picks), 4.0))
        mid = f"T{k + 1:03d}"
        for idx, v in zip(picks, value, strict=True):
            rows.append(
                {
                    "manager_id": mid,
                    "security_id": securities["security_id"].iloc[idx],
                    "par": round(v / (dirty[idx] / 100.0), 2),
                }
            )
        table.append(
            {
                "manager_id": mid,
                "name": f"Test manager {k + 1}",
                "style": str(style),
                "benchmark": benchmark,
                "current_allocation": 1.0 / m,
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(table)


def _liabilities() -> pd.DataFrame:
    """Return a plain run-off: level payments for 30 years."""
    dates = [add_months(VALUATION, 6 + 12 * k) for k in range(30)]
    return pd.DataFrame({"date": dates, "amount": np.full(30, 1.5e9)})


def _truth(
    rng: np.random.Generator,
    managers: pd.DataFrame,
    skill_share: float,
    beta_share: float,
    ir_range: tuple[float, float],
) -> pd.DataFrame:
    """Who carries what, and how strongly."""
    m = len(managers)
    kinds = rng.choice(
        list(KINDS), size=m, p=[skill_share, beta_share, 1 - skill_share - beta_share]
    )
    if m >= 3:
        # At least one of each planted kind, so every book tests both verdicts.
        order = rng.permutation(m)
        if "skill" not in kinds and skill_share > 0:
            kinds[order[0]] = "skill"
        if "beta" not in kinds and beta_share > 0:
            kinds[order[1]] = "beta"
    noise = rng.uniform(0.001, 0.004, m)
    ir = np.where(kinds == "skill", rng.uniform(*ir_range, m), 0.0)
    on_hy = rng.random(m) < 0.3
    loading = np.where(on_hy, rng.uniform(0.05, 0.3, m), rng.uniform(0.1, 0.5, m))
    beta = kinds == "beta"
    return pd.DataFrame(
        {
            "kind": kinds,
            "alpha": ir * noise * np.sqrt(12.0),
            "information_ratio": ir,
            "beta_duration": rng.normal(0.0, 0.3, m),
            "beta_credit_bbb": np.where(beta & ~on_hy, loading, 0.0),
            "beta_credit_hy": np.where(beta & on_hy, loading, 0.0),
            "noise_sd": noise,
            "noise_ar": rng.uniform(0.0, 0.3, m),
            "style": managers["style"].to_numpy(),
        },
        index=pd.Index(managers["manager_id"], name="manager_id"),
    )


def _returns(
    rng: np.random.Generator, truth: pd.DataFrame, factors: pd.DataFrame, bench_yield: float
) -> pd.DataFrame:
    """Monthly sleeve and benchmark returns: benchmark carry and duration, plus the plant."""
    n = len(factors)
    loadings = truth[["beta_duration", "beta_credit_bbb", "beta_credit_hy"]].to_numpy()
    explained = factors[["duration", "credit_bbb", "credit_hy"]].to_numpy() @ loadings.T
    # AR(1) residuals with the planted marginal volatility.
    ar, sd = truth["noise_ar"].to_numpy(), truth["noise_sd"].to_numpy()
    shocks = rng.normal(0.0, 1.0, (n, len(truth))) * sd * np.sqrt(1 - ar**2)
    resid = np.empty_like(shocks)
    resid[0] = rng.normal(0.0, 1.0, len(truth)) * sd
    for t in range(1, n):
        resid[t] = ar * resid[t - 1] + shocks[t]
    excess = truth["alpha"].to_numpy() / 12.0 + explained + resid
    duration = rng.uniform(2.0, 12.0, len(truth))
    bench = (
        bench_yield / 12.0
        + np.outer(factors["duration"].to_numpy(), duration)
        + rng.normal(0.0, 0.0003, (n, len(truth)))
    )
    frame = pd.DataFrame(
        {
            "month": np.repeat(factors.index.to_numpy(), len(truth)),
            "manager_id": np.tile(truth.index.to_numpy(), n),
            "return": (bench + excess).ravel(),
            "benchmark_return": bench.ravel(),
        }
    )
    return frame
