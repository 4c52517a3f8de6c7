"""Economic scenarios: the G2++ two-factor Gaussian short-rate model on today's curve.

:class:`G2pp` fits the model to a :class:`~fialloc.curves.Curve` exactly, simulates it
exactly (counter-based random numbers keyed by seed and path, so results do not depend on
threads or chunking), prices zero-coupon bonds and European swaptions in closed form,
calibrates to ATM swaption volatilities and revalues bond books and liabilities on every path.
Parameters use QuantLib's names and order: ``a, sigma, b, eta, rho``.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.optimize import least_squares

from fialloc import _core
from fialloc.bonds import BondBook, CashflowStream
from fialloc.checks import fits_in_memory
from fialloc.curves import Curve
from fialloc.data.vocabulary import RATING_LETTERS, normalize_rating, rating_letter
from fialloc.errors import ConvergenceError
from fialloc.layout import CashflowLayout, FloatArray

__all__ = [
    "DEFAULT_G2",
    "CreditInflationPaths",
    "CreditInflationSpec",
    "G2Paths",
    "G2pp",
    "SwaptionModel",
    "credit_spread_moves",
    "rating_groups",
    "simulate_credit_inflation",
    "swaption_quotes",
]

#: Parameters used when no swaption quotes are given: a slow factor (a, sigma) and a fast one
#: (b, eta), strongly negatively correlated, giving a realistic humped volatility term structure.
DEFAULT_G2: Final = {"a": 0.05, "sigma": 0.009, "b": 0.5, "eta": 0.007, "rho": -0.7}
MONTHLY_10Y: Final = np.arange(1, 121) / 12.0
#: Most paths one call simulates: more is a distributed run in chunks (``first_path``).
MAX_PATHS: Final = 10_000_000
# Revaluation plans (the path-independent part of `G2pp.revalue`) of the last few distinct
# (model, book, holders, horizons): a run revalues the same book on every chunk of paths, and
# building the plan of a 10,000-bond book costs more than revaluing 500 paths on it.
_PLANS: OrderedDict[bytes, _core.G2Revaluation] = OrderedDict()
_PLANS_KEPT: Final = 4


def _revaluation(
    build: Callable[[], _core.G2Revaluation], *inputs: npt.NDArray[np.generic]
) -> _core.G2Revaluation:
    """Return the plan `build` makes from `inputs`, built on first use (keyed by content)."""
    digest = hashlib.blake2b(digest_size=20)
    for arr in inputs:
        block = np.ascontiguousarray(arr)
        digest.update(f"{block.dtype.str}{block.shape}".encode())
        digest.update(block.data)
    key = digest.digest()
    plan = _PLANS.get(key)
    if plan is None:
        plan = build()
        _PLANS[key] = plan
        while len(_PLANS) > _PLANS_KEPT:
            _PLANS.popitem(last=False)
    else:
        _PLANS.move_to_end(key)
    return plan


def _spread_groups(
    spread_moves: npt.ArrayLike | None, groups: npt.ArrayLike | None, shape: tuple[int, int]
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Each stream's spread group and the moves as paths x (horizons x groups), for the core.

    Without moves: empty arrays. `shape` is (paths, horizons).
    """
    if (spread_moves is None) != (groups is None):
        msg = "G2pp.revalue: give both `spread_moves` and `groups`, or neither"
        raise ValueError(msg)
    g = (
        np.empty(0, dtype=np.int64)
        if groups is None
        else np.ascontiguousarray(groups, dtype=np.int64)
    )
    if spread_moves is None:
        return g, np.empty((0, 0))
    sm = np.asarray(spread_moves, dtype=np.float64)
    if sm.ndim != 3 or sm.shape[:2] != shape:
        msg = f"G2pp.revalue: `spread_moves` must be paths x horizons x groups: {sm.shape}"
        raise ValueError(msg)
    return g, np.ascontiguousarray(sm.reshape(shape[0], -1))


def _holders(
    weights: npt.ArrayLike | None, holdings: npt.ArrayLike | sparse.sparray | None, n: int
) -> sparse.csr_array:
    """Holders x streams: `holdings`, one holder of `weights`, or each stream on its own."""
    if weights is not None and holdings is not None:
        msg = "G2pp.revalue: give `weights` or `holdings`, not both"
        raise ValueError(msg)
    if holdings is not None:
        held = sparse.csr_array(holdings, dtype=np.float64)
    elif weights is not None:
        held = sparse.csr_array(np.atleast_2d(np.asarray(weights, dtype=np.float64)))
    else:
        held = sparse.csr_array(sparse.identity(n, dtype=np.float64, format="csr"))
    if held.shape[1] != n:
        msg = f"G2pp.revalue: holdings have {held.shape[1]} columns for {n} streams"
        raise ValueError(msg)
    return held


@dataclass(frozen=True)
class G2Paths:
    """Simulated paths on a time grid.

    Attributes
    ----------
    times : ndarray
        Grid (years).
    x, y : ndarray
        Factor values, paths x times (decimals).
    discount : ndarray
        Stochastic discount factor ``D(0, t) = exp(-integral of r)``, paths x times.
    seed : int
        The seed that generated them.
    """

    times: FloatArray
    x: FloatArray
    y: FloatArray
    discount: FloatArray
    seed: int
    first_path: int = 0
    antithetic: bool = False

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return int(self.x.shape[0])

    def columns(self, horizons: npt.ArrayLike) -> npt.NDArray[np.intp]:
        """Grid indices of `horizons` (years), which must be grid times."""
        h = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
        idx = np.searchsorted(self.times, h)
        ok = (idx < len(self.times)) & np.isclose(
            self.times[np.minimum(idx, len(self.times) - 1)], h, rtol=0, atol=1e-12
        )
        if not np.all(ok):
            bad = h[~ok][0]
            msg = f"G2Paths: horizon {bad} years is not on the simulation grid; simulate with it"
            raise ValueError(msg)
        return idx

    def monthly_cash(self, layout: CashflowLayout, holdings: npt.ArrayLike) -> FloatArray:
        """Cash each holder receives in each grid month (times x holders, money).

        Each flow lands in the grid month that ends at or after it; flows after the grid's
        end are left out.

        Parameters
        ----------
        layout : CashflowLayout
            The streams' flows (times in years, amounts per unit held).
        holdings : array
            Holders x streams: units of each stream each holder owns.
        """
        units = np.atleast_2d(np.asarray(holdings, dtype=np.float64))
        n_streams = len(layout.offsets) - 1
        if units.shape[1] != n_streams:
            msg = f"G2Paths.banked: holdings have {units.shape[1]} columns for {n_streams} streams"
            raise ValueError(msg)
        months = len(self.times)
        bucket = np.searchsorted(self.times, layout.times, side="left")
        # Each holder's cash per grid month, summed over the flows of the streams it holds
        # (the sparse holdings), in flow order: the same additions as summing every holder's
        # share of every flow, without that dense holders x flows matrix (320 MB for 100
        # holders of a 10,000-bond book, rebuilt for every chunk of paths).
        held = sparse.csc_matrix(units)
        stream_of = np.repeat(np.arange(n_streams), np.diff(held.indptr))
        counts = np.diff(layout.offsets)[stream_of]
        first = np.repeat(layout.offsets[stream_of] - (np.cumsum(counts) - counts), counts)
        flow = first + np.arange(int(counts.sum()))
        month = bucket[flow]
        inside = month < months
        cash = np.bincount(
            month[inside] * units.shape[0] + np.repeat(held.indices, counts)[inside],
            weights=(np.repeat(held.data, counts) * layout.amounts[flow])[inside],
            minlength=months * units.shape[0],
        )
        return np.asarray(cash, dtype=np.float64).reshape(months, units.shape[0])

    def banked(
        self, layout: CashflowLayout, holdings: npt.ArrayLike, horizons: npt.ArrayLike
    ) -> FloatArray:
        """Cash a layout's flows paid before each horizon, reinvested on the path (money).

        The cash of :meth:`monthly_cash` earns the path's own short rate (the bank account
        ``1 / D``) from the end of the month it lands in to the horizon.

        Parameters
        ----------
        layout : CashflowLayout
            The streams' flows (times in years, amounts per unit held).
        holdings : array
            Holders x streams: units of each stream each holder owns.
        horizons : array
            Years, on the grid.

        Returns
        -------
        ndarray
            Paths x horizons x holders.
        """
        cash = self.monthly_cash(layout, holdings)
        cols = self.columns(horizons)
        # The running sum over months, kept only at the horizons' months: the same additions
        # in the same order as a cumulative sum, without its paths x months x holders array.
        grown = np.empty((self.discount.shape[0], len(cols), cash.shape[1]))
        value = self.discount[:, 0, None] * cash[0]
        for k in range(int(cols.max()) + 1 if len(cols) else 0):
            if k > 0:
                value = value + self.discount[:, k, None] * cash[k]
            grown[:, cols == k] = value[:, None, :]
        return np.asarray(grown / self.discount[:, cols, None], dtype=np.float64)


class SwaptionModel(ABC):
    """A short-rate model fitted to today's curve that prices European swaptions.

    Subclasses (:class:`G2pp`, :class:`fialloc.hull_white.HullWhite`) hold the fitted `curve`
    and price a swaption; the forward swap rate and the ATM normal volatility follow from the
    curve and that price alone, the same for every model.
    """

    curve: Curve

    @abstractmethod
    def swaption(
        self,
        expiry: float,
        tenor: float,
        strike: float | None = None,
        payer: bool = True,
        frequency: int = 1,
    ) -> float:
        """European swaption per unit notional (see :meth:`G2pp.swaption`)."""

    def _log_df(self, t: npt.ArrayLike) -> FloatArray:
        return np.log(
            np.atleast_1d(
                np.asarray(self.curve.discount(np.asarray(t, dtype=np.float64)), dtype=np.float64)
            )
        )

    def forward_swap_rate(self, expiry: float, tenor: float, frequency: int = 1) -> float:
        """Forward par swap rate (decimal) off today's curve."""
        pay, acc = _fixed_leg(expiry, tenor, frequency)
        annuity = float(np.dot(acc, np.exp(self._log_df(pay))))
        return float((self.curve.discount(expiry) - self.curve.discount(pay[-1])) / annuity)

    def normal_vol(self, expiry: float, tenor: float, frequency: int = 1) -> float:
        """ATM normal (Bachelier) volatility (decimal) implied by the model's swaption price."""
        price = float(self.swaption(expiry, tenor, None, True, frequency))
        return price / self._price_per_normal_vol(expiry, tenor, frequency)

    def _price_per_normal_vol(self, expiry: float, tenor: float, frequency: int) -> float:
        # An ATM swaption's Bachelier price is its annuity x sqrt(expiry / (2 pi)) x the vol.
        pay, acc = _fixed_leg(expiry, tenor, frequency)
        annuity = float(np.dot(acc, np.exp(self._log_df(pay))))
        return float(annuity * np.sqrt(expiry / (2 * np.pi)))


class G2pp(SwaptionModel):
    """G2++ fitted to `curve`.

    Parameters
    ----------
    curve : Curve
        Today's discount curve; the model reprices it exactly.
    a, sigma, b, eta, rho : float
        Mean reversions (per year), volatilities (decimal rate per sqrt(year)) and the
        correlation of the two factors, as in QuantLib's ``G2``.
    """

    def __init__(
        self,
        curve: Curve,
        a: float = DEFAULT_G2["a"],
        sigma: float = DEFAULT_G2["sigma"],
        b: float = DEFAULT_G2["b"],
        eta: float = DEFAULT_G2["eta"],
        rho: float = DEFAULT_G2["rho"],
    ) -> None:
        self.curve = curve
        self.params = (float(a), float(sigma), float(b), float(eta), float(rho))
        empty = np.empty(0)
        _core.g2_zero_bonds(*self.params, 0.0, 0.0, empty, empty, empty, empty)  # validates

    def __repr__(self) -> str:
        a, s, b, e, r = self.params
        return f"G2pp(a={a:.4g}, sigma={s:.4g}, b={b:.4g}, eta={e:.4g}, rho={r:.4g})"

    def simulate(
        self,
        n_paths: int = 1000,
        times: npt.ArrayLike | None = None,
        seed: int = 0,
        threads: int | None = None,
        antithetic: bool = False,
        first_path: int = 0,
    ) -> G2Paths:
        """Simulate `n_paths` exact paths on `times` (years; default monthly for 10 years).

        Path ``p`` depends only on the seed, the grid and ``p``: the same seed gives
        bitwise-identical paths on any number of threads, and paths can be made in chunks
        (``first_path``, ``n_paths``) that concatenate to one larger run.
        """
        grid = MONTHLY_10Y if times is None else np.ascontiguousarray(times, dtype=np.float64)
        if seed < 0 or seed >= 2**64:
            msg = f"G2pp.simulate: `seed` must be in [0, 2**64), got {seed}"
            raise ValueError(msg)
        if not 1 <= int(n_paths) <= MAX_PATHS:
            msg = f"G2pp.simulate: `n_paths` must be in [1, {MAX_PATHS:,}], got {n_paths}"
            raise ValueError(msg)
        # x, y and the deflator: three float64 matrices of paths x times.
        fits_in_memory(
            3 * 8 * int(n_paths) * max(grid.size, 1), "G2pp.simulate", f"{n_paths:,} paths"
        )
        n_threads = threads if threads is not None else (os.cpu_count() or 1)
        x, y, d = _core.simulate_g2(
            *self.params,
            grid,
            self._log_df(grid),
            int(first_path),
            int(n_paths),
            int(seed),
            bool(antithetic),
            int(n_threads),
        )
        return G2Paths(grid, x, y, d, int(seed), int(first_path), bool(antithetic))

    def state_covariance(self, t: float) -> FloatArray:
        """Exact covariance of ``(x(t), y(t), -log D(0, t))`` from today (3 x 3, decimals).

        The factors start at zero with zero mean, and ``-log D(0, t)`` is the integral of the
        short rate, Gaussian with mean ``-log P(0, t) + V(0, t) / 2`` and variance ``V(0, t)``
        (the last diagonal entry); every zero-bond price on a path at `t` is a log-linear
        function of these three states. Simulated paths draw them exactly from this law.
        """
        if not np.isfinite(t) or t <= 0.0:
            msg = f"G2pp.state_covariance: `t` must be a positive number of years, got {t}"
            raise ValueError(msg)
        a, s, b, e, r = self.params

        def decayed(k: float) -> float:  # integral of exp(-k u) over [0, t]
            return float(-np.expm1(-k * t) / k)

        ia, ib, iab, i2a, i2b = (decayed(k) for k in (a, b, a + b, 2 * a, 2 * b))
        # The factors and their time integrals (as in the simulation kernel's exact step).
        xx, yy, xy = s * s * i2a, e * e * i2b, r * s * e * iab
        jx = s * s / (a * a) * (t - 2 * ia + i2a)
        jy = e * e / (b * b) * (t - 2 * ib + i2b)
        jxy = r * s * e / (a * b) * (t - ia - ib + iab)
        x_jx, x_jy = s * s / a * (ia - i2a), r * s * e / b * (ia - iab)
        y_jx, y_jy = r * s * e / a * (ib - iab), e * e / b * (ib - i2b)
        return np.array(
            [
                [xx, xy, x_jx + x_jy],
                [xy, yy, y_jx + y_jy],
                [x_jx + x_jy, y_jx + y_jy, jx + jy + 2 * jxy],
            ]
        )

    def log_discount_mean(self, t: npt.ArrayLike) -> FloatArray:
        """Exact mean of ``log D(0, t)`` on the paths: ``log P(0, t) - V(0, t) / 2``."""
        times = np.atleast_1d(np.asarray(t, dtype=np.float64))
        v = np.array([self.state_covariance(float(u))[2, 2] for u in times])
        return np.asarray(self._log_df(times) - 0.5 * v, dtype=np.float64)

    def zero_bond(
        self, t: float, maturities: npt.ArrayLike, x: npt.ArrayLike, y: npt.ArrayLike
    ) -> FloatArray:
        """Zero-coupon bond prices ``P(t, T | x, y)``: states (rows) by maturities (years)."""
        mats = np.ascontiguousarray(np.atleast_1d(maturities), dtype=np.float64)
        xs = np.ascontiguousarray(np.atleast_1d(x), dtype=np.float64)
        ys = np.ascontiguousarray(np.atleast_1d(y), dtype=np.float64)
        out: FloatArray = _core.g2_zero_bonds(
            *self.params, float(t), float(self._log_df(t)[0]), mats, self._log_df(mats), xs, ys
        )
        return out

    def short_rate(self, paths: G2Paths) -> FloatArray:
        """Short rate ``x + y + phi(t)`` on every path (decimals), paths x times."""
        a, s, b, e, r = self.params
        t = paths.times
        fwd = np.asarray(self.curve.forward_rate(t))
        phi = (
            fwd
            + s * s / (2 * a * a) * (1 - np.exp(-a * t)) ** 2
            + e * e / (2 * b * b) * (1 - np.exp(-b * t)) ** 2
            + r * s * e / (a * b) * (1 - np.exp(-a * t)) * (1 - np.exp(-b * t))
        )
        return np.asarray(paths.x + paths.y + phi, dtype=np.float64)

    def swaption(
        self,
        expiry: float,
        tenor: float,
        strike: float | None = None,
        payer: bool = True,
        frequency: int = 1,
    ) -> float:
        """European swaption price per unit notional, fixed leg `frequency` times a year.

        `expiry` and `tenor` in years (the fixed leg pays every ``1/frequency`` years after the
        expiry); `strike` decimal, at the money (the forward swap rate) by default.
        """
        pay, acc = _fixed_leg(expiry, tenor, frequency)
        log_pay = self._log_df(pay)
        k = self.forward_swap_rate(expiry, tenor, frequency) if strike is None else strike
        return float(
            _core.g2_swaption(
                *self.params,
                float(expiry),
                float(self._log_df(expiry)[0]),
                pay,
                acc,
                log_pay,
                float(k),
                bool(payer),
            )
        )

    def revalue(
        self,
        streams: BondBook | CashflowStream,
        paths: G2Paths,
        horizons: npt.ArrayLike,
        z_spread: npt.ArrayLike = 0.0,
        *,
        weights: npt.ArrayLike | None = None,
        threads: int | None = None,
        spread_moves: npt.ArrayLike | None = None,
        groups: npt.ArrayLike | None = None,
        holdings: npt.ArrayLike | sparse.sparray | None = None,
    ) -> FloatArray:
        """Value at each horizon, on each path, of the flows still to come.

        Flows at or before a horizon are not counted (they have been paid); later ones are
        discounted with the model's ``P(h, t | x_h, y_h)`` and the stream's z-spread.

        Parameters
        ----------
        streams : BondBook or CashflowStream
            Bonds (values per 100 face) or liabilities (money).
        paths : G2Paths
            From :meth:`simulate`; `horizons` must be on its grid.
        horizons : array
            Years.
        z_spread : float or array
            Continuously compounded spread per stream (decimal).
        weights : array, optional
            Per stream (e.g. face / 100 for money values): returns the weighted total,
            paths x horizons. Without weights or holdings: paths x horizons x streams.
        holdings : array or sparse matrix, optional
            Holders x streams, units of each stream each holder owns (a sleeve's face / 100 per
            bond): returns each holder's total, paths x horizons x holders, summed in the
            kernel without a per-stream intermediate. Not with `weights`.
        spread_moves, groups : arrays, optional
            Credit spread changes since today, paths x horizons x groups (decimals, e.g. from
            :func:`simulate_credit_inflation` at the horizons), and each stream's group (its
            rating's index, -1 for no move): each stream is discounted at its z-spread plus its
            group's move on that path.
        """
        layout = streams.layout
        cols = paths.columns(horizons)
        h = paths.times[cols]
        n = layout.n_streams
        z = np.broadcast_to(np.asarray(z_spread, dtype=np.float64), (n,)).copy()
        n_threads = threads if threads is not None else (os.cpu_count() or 1)
        g, moves = _spread_groups(spread_moves, groups, (paths.n_paths, len(h)))
        held = _holders(weights, holdings, n)
        offsets, times, amounts = layout.args()
        log_df_flows, log_df_h = self._log_df(times), self._log_df(h)
        indptr, indices = held.indptr.astype(np.int64), held.indices.astype(np.int64)
        units = np.ascontiguousarray(held.data, dtype=np.float64)
        n_groups = moves.shape[1] // len(h) if len(g) else 0
        a, s, b, e, r = self.params
        inputs = (offsets, times, amounts, log_df_flows, z, h, log_df_h, indptr, indices, units, g)
        plan = _revaluation(
            lambda: _core.G2Revaluation(a, s, b, e, r, *inputs, n_groups),
            np.array(self.params),
            *inputs,
            np.array(n_groups),
        )
        out = plan.revalue(
            np.ascontiguousarray(paths.x[:, cols]),
            np.ascontiguousarray(paths.y[:, cols]),
            moves,
            int(n_threads),
        )
        if weights is not None:
            return out
        return out.reshape(paths.n_paths, len(h), held.shape[0])

    def surplus(
        self,
        book: BondBook,
        liabilities: CashflowStream,
        paths: G2Paths,
        horizons: npt.ArrayLike,
        z_spread: npt.ArrayLike = 0.0,
        threads: int | None = None,
    ) -> FloatArray:
        """Return the surplus (money) at each horizon on each path, paths x horizons.

        Surplus is the value of the book's remaining flows (face-weighted) minus that of the
        liabilities' remaining flows, plus the cash both have paid before the horizon: each
        month's net flow (assets received minus liabilities paid) is reinvested from the end of
        its month on the grid at the path's own short rate (the bank account ``1 / D``), so cash
        paid within a month earns that month's interest from the month's end.
        """
        assets = self.revalue(
            book, paths, horizons, z_spread, weights=book.face / 100.0, threads=threads
        )
        owed = self.revalue(liabilities, paths, horizons, threads=threads)[:, :, 0]
        banked = (
            paths.banked(book.layout, book.face / 100.0, horizons)
            - paths.banked(liabilities.layout, np.ones(1), horizons)
        )[:, :, 0]
        return np.asarray(assets - owed + banked, dtype=np.float64)

    @classmethod
    def calibrate(
        cls,
        curve: Curve,
        quotes: pd.DataFrame,
        *,
        starts: int = 8,
        seed: int = 0,
    ) -> tuple[G2pp, pd.DataFrame]:
        """Fit ``a, sigma, b, eta, rho`` to ATM swaption normal volatilities.

        Parameters
        ----------
        curve : Curve
            Today's curve.
        quotes : DataFrame
            Columns ``expiry`` and ``tenor`` (years) and ``normal_vol`` (decimal, 0.0095 for
            95 bp); optional ``frequency`` of the fixed leg (default 1).
        starts : int
            Number of starting points: two typical ones and ``starts - 2`` random ones in the
            parameter box (drawn with `seed`). Levenberg-Marquardt with the exact Jacobian runs
            from the better typical start and, only while vol errors stay above 1e-8 relative,
            from up to three random ones in order of misfit; the best fit wins, so a local
            optimizer stalling at rho = -1 or a -> 0 does not. A fit that reproduces every
            quote to 1e-12 relative (the pricing integral's rounding) stops there.

        Returns
        -------
        (G2pp, DataFrame)
            The fitted model, with ``a < b``, and a report of market and model vols per quote
            with the error in basis points.
        """
        q, freq, vols = swaption_quotes(quotes, "G2pp.calibrate")
        book = _SwaptionBook.atm(curve, q["expiry"], q["tenor"], freq)
        fit = _VolObjective(book, vols)
        rng = np.random.default_rng(seed)
        lo, hi = _PARAM_LO, _PARAM_HI
        fixed = [np.array([0.05, 0.01, 0.5, 0.008, -0.7]), np.array([0.3, 0.01, 1.0, 0.01, 0.0])]
        guesses = fixed + [
            lo + (hi - lo) * rng.uniform(0.05, 0.6, 5) for _ in range(max(starts - 2, 0))
        ]
        # Fit with the exact Jacobian (forward-mode derivatives of the pricing integral) from
        # the better of the two typical starts; only while vol errors stay above 1e-8 relative,
        # from the random starts too, best misfit first (a price pass each ranks them), at most
        # three of them.
        exact = 0.5e-16 * len(vols)
        best: _Fit | None = None
        queue = fit.ranked(guesses[:2])[:1]
        while queue and (best is None or best.cost >= exact):
            found = fit.from_start(queue.pop(0))
            if found is not None and (best is None or found.cost < best.cost):
                best = found
            if not queue and guesses[2:] and (best is None or best.cost >= exact):
                queue, guesses = fit.ranked(guesses[2:])[:3], guesses[:2]
        if best is None:
            msg = "G2pp.calibrate: no starting point produced a valid fit"
            raise ConvergenceError(msg)
        a, s, b, e, r = fit.params(best.x)
        swapped = a > b
        if swapped:  # the model is symmetric in (a, sigma) <-> (b, eta); report a < b
            a, s, b, e = b, e, a, s
        model = cls(curve, a, s, b, e, r)
        prices = (
            book.prices(np.array(model.params), gradient=False)[0]
            if swapped
            else fit.priced(best.x, gradient=False)[0]
        )
        fitted = prices / book.bachelier_unit
        report = pd.DataFrame(
            {
                "expiry": q["expiry"],
                "tenor": q["tenor"],
                "market_vol_bp": vols * 1e4,
                "model_vol_bp": fitted * 1e4,
            }
        )
        report["error_bp"] = report["model_vol_bp"] - report["market_vol_bp"]
        return model, report


# Vol errors at which a G2++ fit reproduces its quotes to the pricing integral's rounding (the
# batched pricer agrees with itself to ~1e-14): further Levenberg-Marquardt steps only chase
# rounding, and MINPACK's own tests would spend six or more pricing passes finding that out.
_EXACT_VOL_FIT: Final = 1e-12


class _ExactFit(Exception):
    """Raised from the residuals to end a fit that reproduces its quotes exactly."""

    def __init__(self, u: FloatArray) -> None:
        super().__init__()
        self.u = np.array(u, dtype=np.float64)


@dataclass(frozen=True)
class _Fit:
    x: FloatArray  # the fitted point in the optimizer's coordinates
    cost: float  # half the sum of squared relative vol errors


#: The quoting box of (a, sigma, b, eta, rho): random starts are drawn inside it.
_PARAM_LO: Final = np.array([1e-3, 1e-4, 1e-3, 1e-4, -0.999])
_PARAM_HI: Final = np.array([3.0, 0.1, 3.0, 0.1, 0.999])


class _VolObjective:
    """Relative vol errors of G2++ on a swaption book, with their exact Jacobian.

    Fitted in u = (ln a, ln sigma, ln b, ln eta, atanh rho), where every u is a valid model, so
    MINPACK's unconstrained Levenberg-Marquardt applies; d params / du is diagonal. A step far
    outside the quoting box is held at its edge (flat there: no gradient).

    Each pricing pass is most of the time, so none is repeated: every point's prices (and
    gradient, which comes with its prices) are kept for the fit. MINPACK asks for the Jacobian
    right after the residuals of its start and of every step it accepts, so while steps are
    accepted the gradient pass (1.7 value passes) runs with the residuals.
    """

    def __init__(self, book: _SwaptionBook, vols: FloatArray) -> None:
        self.book = book
        # Residuals are relative vol errors: model price over the price at the market vol,
        # less 1.
        self.scale = book.bachelier_unit * vols
        self.u_lo = np.concatenate([np.log(_PARAM_LO[:4]) - 3.0, [-4.0]])
        self.u_hi = np.concatenate([np.log(_PARAM_HI[:4]) + 1.0, [4.0]])
        self.seen: dict[bytes, tuple[FloatArray, FloatArray | None]] = {}
        self.accepted = True

    def params(self, u: FloatArray) -> FloatArray:
        """Return the model's (a, sigma, b, eta, rho) at optimizer coordinates `u`."""
        v = np.clip(u, self.u_lo, self.u_hi)
        return np.concatenate([np.exp(v[:4]), [np.tanh(v[4])]])

    @staticmethod
    def to_u(x: FloatArray) -> FloatArray:
        """Return the optimizer coordinates of parameters `x`."""
        return np.concatenate([np.log(x[:4]), [np.arctanh(x[4])]])

    def priced(self, u: FloatArray, gradient: bool) -> tuple[FloatArray, FloatArray | None]:
        """Return the book's prices at `u` (and their gradient when asked), each pass once."""
        key = u.tobytes()
        if key not in self.seen or (gradient and self.seen[key][1] is None):
            price, grad = self.book.prices(self.params(u), gradient=gradient)
            self.seen[key] = (price, grad if gradient else None)
        return self.seen[key]

    def residuals(self, u: FloatArray) -> FloatArray:
        """Return the relative vol errors at `u`; raise `_ExactFit` at an exact fit."""
        res = np.asarray(self.priced(u, self.accepted)[0] / self.scale - 1.0, dtype=np.float64)
        self.accepted = False
        if np.max(np.abs(res)) <= _EXACT_VOL_FIT:
            raise _ExactFit(u)
        return res

    def jacobian(self, u: FloatArray) -> FloatArray:
        """Return the residuals' Jacobian in `u`."""
        self.accepted = True
        x = self.params(u)
        inside = (u > self.u_lo) & (u < self.u_hi)
        chain = np.concatenate([x[:4], [1.0 - x[4] ** 2]]) * inside
        grad = self.priced(u, gradient=True)[1]
        assert grad is not None
        return np.asarray(grad * chain / self.scale[:, None], dtype=np.float64)

    def ranked(self, pool: list[FloatArray]) -> list[FloatArray]:
        """Return starting parameters best misfit first (one price pass each)."""
        costs = []
        for x0 in pool:
            price = self.priced(self.to_u(x0), gradient=False)[0]
            costs.append(float(np.sum((price / self.scale - 1.0) ** 2)))
        return [pool[i] for i in np.argsort(costs)]

    def from_start(self, x0: FloatArray) -> _Fit | None:
        """Fit by Levenberg-Marquardt from parameters `x0`; None when a step leaves the model."""
        try:
            fit = least_squares(
                self.residuals,
                self.to_u(x0),
                jac=self.jacobian,
                method="lm",
                xtol=1e-12,
                ftol=1e-15,
                gtol=1e-15,
                max_nfev=100,
            )
            found: _Fit | None = _Fit(np.asarray(fit.x, dtype=np.float64), float(fit.cost))
        except _ExactFit as stop:
            found = _Fit(stop.u, 0.0)
        except ValueError:  # a step left the model's range (a or b above 100, say)
            found = None
        self.accepted = True  # the next fit's first residuals come with a Jacobian
        return found


@dataclass(frozen=True)
class _SwaptionBook:
    """At-the-money payer swaptions laid out for the compiled pricer, off one curve."""

    args: tuple[
        FloatArray,
        FloatArray,
        npt.NDArray[np.int64],
        FloatArray,
        FloatArray,
        FloatArray,
        FloatArray,
    ]
    bachelier_unit: FloatArray  # price per unit of normal vol: annuity * sqrt(expiry / 2 pi)

    @classmethod
    def atm(
        cls, curve: Curve, expiries: pd.Series, tenors: pd.Series, frequencies: pd.Series
    ) -> _SwaptionBook:
        legs = [
            _fixed_leg(float(e), float(t), int(f))
            for e, t, f in zip(expiries, tenors, frequencies, strict=True)
        ]
        expiry = np.array([float(e) for e in expiries])
        offsets = np.concatenate([[0], np.cumsum([len(p) for p, _ in legs])]).astype(np.int64)
        pay = np.concatenate([p for p, _ in legs])
        acc = np.concatenate([a for _, a in legs])
        log_df_expiry = np.log(np.asarray(curve.discount(expiry), dtype=np.float64))
        log_df_pay = np.log(np.asarray(curve.discount(pay), dtype=np.float64))
        annuity = np.add.reduceat(acc * np.exp(log_df_pay), offsets[:-1])
        strike = (np.exp(log_df_expiry) - np.exp(log_df_pay[offsets[1:] - 1])) / annuity
        args = (expiry, log_df_expiry, offsets, pay, acc, log_df_pay, strike)
        return cls(args, annuity * np.sqrt(expiry / (2 * np.pi)))

    def prices(self, params: FloatArray, gradient: bool) -> tuple[FloatArray, FloatArray]:
        """Prices per unit notional and, with `gradient`, d price / d(a, sigma, b, eta, rho)."""
        a, s, b, e, r = (float(v) for v in params)
        return _core.g2_swaption_prices(a, s, b, e, r, *self.args, gradient)


def swaption_quotes(quotes: pd.DataFrame, where: str) -> tuple[pd.DataFrame, pd.Series, FloatArray]:
    """Check a table of ATM swaption quotes; return it re-indexed, its frequencies and vols.

    Columns ``expiry`` and ``tenor`` (years), ``normal_vol`` (decimal, 0.0095 for 95 bp) and an
    optional ``frequency`` (fixed payments a year, default 1). `where` names the caller in
    the messages.
    """
    missing = [c for c in ("expiry", "tenor", "normal_vol") if c not in quotes.columns]
    if missing or quotes.empty:
        msg = f"{where}: quotes need columns expiry, tenor, normal_vol; missing {missing}"
        raise ValueError(msg)
    q = quotes.reset_index(drop=True)
    freq = q["frequency"].astype(int) if "frequency" in q.columns else pd.Series(1, index=q.index)
    vols = q["normal_vol"].to_numpy(dtype=float)
    if not np.all(np.isfinite(vols)) or np.any(vols <= 0) or np.any(vols > 0.1):
        msg = f"{where}: normal_vol must be positive decimals (0.0095 for 95 bp)"
        raise ValueError(msg)
    return q, freq, vols


def _fixed_leg(expiry: float, tenor: float, frequency: int) -> tuple[FloatArray, FloatArray]:
    if not (np.isfinite(expiry) and expiry > 0 and np.isfinite(tenor) and tenor > 0):
        msg = f"swaption: expiry {expiry} and tenor {tenor} must be positive years"
        raise ValueError(msg)
    if frequency not in (1, 2, 4, 12):
        msg = f"swaption: fixed-leg frequency must be 1, 2, 4 or 12, got {frequency}"
        raise ValueError(msg)
    n = round(tenor * frequency)
    if n < 1 or abs(n / frequency - tenor) > 1e-9:
        msg = f"swaption: tenor {tenor} is not a whole number of {frequency}-a-year periods"
        raise ValueError(msg)
    pay = expiry + np.arange(1, n + 1) / frequency
    return pay, np.full(n, 1.0 / frequency)


@dataclass(frozen=True)
class CreditInflationSpec:
    """Credit spreads by rating and inflation, correlated with rates and with each other.

    Log spreads follow Ornstein-Uhlenbeck processes (so spreads stay positive and their median
    reverts to ``long_run``); inflation is an Ornstein-Uhlenbeck process around ``level``. Each
    factor's shock has correlation ``rate_correlation`` (spreads) or
    ``inflation_rate_correlation`` with the shock of the rate factor x, and the rating shocks
    are correlated with each other at ``base_correlation``.

    Attributes
    ----------
    spreads : dict of str to float
        Today's spread (decimal) by letter rating AAA .. CCC.
    long_run : dict of str to float, optional
        Long-run median spreads; today's by default.
    mean_reversion, volatility : float
        Of log spreads, per year and per square-root year.
    """

    spreads: dict[str, float]
    long_run: dict[str, float] | None = None
    mean_reversion: float = 0.6
    volatility: float = 0.30
    base_correlation: float = 0.4
    rate_correlation: float = -0.3
    inflation_start: float = 0.025
    inflation_level: float = 0.025
    inflation_mean_reversion: float = 0.4
    inflation_volatility: float = 0.008
    inflation_rate_correlation: float = 0.3

    def correlation(self) -> FloatArray:
        """Target correlation of the eight factor shocks (seven ratings, then inflation)."""
        n = len(RATING_LETTERS)
        c = np.full((n + 1, n + 1), self.base_correlation)
        c[n, :] = c[:, n] = 0.0
        np.fill_diagonal(c, 1.0)
        return c


@dataclass(frozen=True)
class CreditInflationPaths:
    """Spread and inflation paths on the rate paths' grid.

    Attributes
    ----------
    spreads : ndarray
        Paths x times x ratings (AAA .. CCC), decimals.
    inflation : ndarray
        Paths x times, decimals a year.
    today : ndarray
        Today's spread by rating.
    """

    spreads: FloatArray
    inflation: FloatArray
    today: FloatArray

    def moves(self, paths: G2Paths, horizons: npt.ArrayLike) -> FloatArray:
        """Spread changes since today at `horizons`: paths x horizons x ratings."""
        return np.asarray(
            self.spreads[:, paths.columns(horizons), :] - self.today, dtype=np.float64
        )


def rating_groups(
    ratings: npt.ArrayLike, exempt: npt.ArrayLike | None = None
) -> npt.NDArray[np.int64]:
    """Index of each security's letter rating in AAA .. CCC (-1 where `exempt` is true)."""
    letters = []
    for r in np.atleast_1d(np.asarray(ratings)).tolist():
        try:
            letters.append(rating_letter(normalize_rating(r)))
        except ValueError as exc:
            msg = f"rating_groups: {exc}"
            raise ValueError(msg) from None
    groups = np.array([RATING_LETTERS.index(r) for r in letters], dtype=np.int64)
    if exempt is not None:
        groups[np.asarray(exempt, dtype=bool)] = -1
    return groups


@dataclass(frozen=True)
class _CreditDrivers:
    """The credit and inflation shocks' ingredients (see :func:`_credit_drivers`)."""

    z_rate: FloatArray  # paths x steps: each step's standard rate shock, from x
    normals: FloatArray  # paths x steps x 8: independent standard normals
    chol: FloatArray  # 8 x 8: the residual correlation's Cholesky factor
    rho: FloatArray  # 8: each factor's correlation with the rate shock
    today: FloatArray  # by rating
    long_run: FloatArray  # by rating

    def shocks(self, weight: FloatArray | None = None) -> FloatArray:
        """Return the correlated shocks (paths x steps x 8), or their sums with `weight`.

        With `weight` (rows x steps), each row's weighted sum over the steps (paths x rows x
        8): the shocks are linear in the drivers, so the sums are taken on the drivers.
        """
        z, normals = self.z_rate, self.normals
        if weight is not None:
            # Batched over paths (a stack of small products): no multithreaded BLAS call.
            z, normals = (weight @ z[:, :, None])[:, :, 0], weight @ normals
        scale = np.sqrt(1.0 - self.rho**2)
        return np.asarray(self.rho * z[:, :, None] + scale * (normals @ self.chol.T))


def _credit_drivers(
    model: G2pp, paths: G2Paths, spec: CreditInflationSpec, stream: int, where: str
) -> _CreditDrivers:
    """Validate `spec` and draw the drivers of its shocks on `paths`.

    The rate shock of each step is recovered exactly from the simulated x factor; the rest
    come from the counter-based generator's sub-streams from `stream` on.
    """
    missing = [r for r in RATING_LETTERS if r not in spec.spreads]
    if missing:
        msg = f"{where}: no spread given for {missing}"
        raise ValueError(msg)
    today = np.array([spec.spreads[r] for r in RATING_LETTERS], dtype=np.float64)
    long_run = (
        today if spec.long_run is None else np.array([spec.long_run[r] for r in RATING_LETTERS])
    )
    if np.any(today <= 0) or np.any(long_run <= 0):
        msg = f"{where}: spreads must be positive decimals"
        raise ValueError(msg)
    for name in ("base_correlation", "rate_correlation", "inflation_rate_correlation"):
        if not -1.0 < getattr(spec, name) < 1.0:
            msg = f"{where}: `{name}` must be in (-1, 1), got {getattr(spec, name)}"
            raise ValueError(msg)
    if (
        min(spec.mean_reversion, spec.inflation_mean_reversion, spec.inflation_volatility) <= 0
        or not spec.volatility >= 0
    ):
        msg = (
            f"{where}: mean reversions and the inflation volatility must be positive, the "
            "spread volatility positive or zero"
        )
        raise ValueError(msg)
    n_paths, n_steps = paths.x.shape
    k = len(RATING_LETTERS) + 1
    rho_r = np.array([spec.rate_correlation] * (k - 1) + [spec.inflation_rate_correlation])
    target = spec.correlation()
    scale = np.sqrt(1.0 - rho_r**2)
    residual = (target - np.outer(rho_r, rho_r)) / np.outer(scale, scale)
    np.fill_diagonal(residual, 1.0)
    try:
        chol = np.linalg.cholesky(residual)
    except np.linalg.LinAlgError:
        msg = f"{where}: the correlations are not jointly possible"
        raise ValueError(msg) from None
    normals = _core.g2_factor_normals(
        paths.seed, paths.first_path, n_paths, n_steps, k, paths.antithetic, stream
    ).reshape(n_paths, n_steps, k)
    a, sigma = model.params[0], model.params[1]
    dt = np.diff(paths.times, prepend=0.0)
    decay = np.exp(-a * dt)
    prev = np.concatenate([np.zeros((n_paths, 1)), paths.x[:, :-1]], axis=1)
    z_rate = (paths.x - decay * prev) / (sigma * np.sqrt(-np.expm1(-2 * a * dt) / (2 * a)))
    return _CreditDrivers(z_rate, normals, chol, rho_r, today, long_run)


def simulate_credit_inflation(
    model: G2pp, paths: G2Paths, spec: CreditInflationSpec, *, stream: int = 16
) -> CreditInflationPaths:
    """Spread and inflation paths consistent with `paths` (same seed, path keys and grid).

    The rate shock of each step is recovered exactly from the simulated x factor, so the
    correlations with rates hold path by path; the other shocks come from the same
    counter-based generator (separate sub-streams from `stream` on, four of them), so chunks
    and threads do not matter. `paths` may be one economy of a multi-currency run, `model`
    that economy's G2++: a caller simulating several economies' spreads gives each its own
    `stream` (:data:`fialloc.currency_paths.SPREAD_STREAM`). A spread volatility of zero
    leaves the spreads on their deterministic reversion to ``long_run``.
    """
    drivers = _credit_drivers(model, paths, spec, stream, "simulate_credit_inflation")
    shocks, today, long_run = drivers.shocks(), drivers.today, drivers.long_run
    n_paths, n_steps, k = shocks.shape
    dt = np.diff(paths.times, prepend=0.0)
    spreads = np.empty((n_paths, n_steps, k - 1))
    inflation = np.empty((n_paths, n_steps))
    log_s = np.broadcast_to(np.log(today), (n_paths, k - 1)).copy()
    infl = np.full(n_paths, spec.inflation_start)
    kappa, nu = spec.mean_reversion, spec.volatility
    ki, vi = spec.inflation_mean_reversion, spec.inflation_volatility
    for j in range(n_steps):
        e = np.exp(-kappa * dt[j])
        log_s = (
            log_s * e
            + np.log(long_run) * (1 - e)
            + nu * np.sqrt((1 - e * e) / (2 * kappa)) * shocks[:, j, :-1]
        )
        ei = np.exp(-ki * dt[j])
        infl = (
            infl * ei
            + spec.inflation_level * (1 - ei)
            + vi * np.sqrt((1 - ei * ei) / (2 * ki)) * shocks[:, j, -1]
        )
        spreads[:, j, :] = np.exp(log_s)
        inflation[:, j] = infl
    return CreditInflationPaths(spreads, inflation, today)


def credit_spread_moves(
    model: G2pp,
    paths: G2Paths,
    spec: CreditInflationSpec,
    horizons: npt.ArrayLike,
    *,
    stream: int = 16,
) -> FloatArray:
    """Spread changes since today at `horizons`, as :func:`simulate_credit_inflation` moves.

    The same shocks, summed to each horizon in closed form instead of step by step: the log
    spread at ``t_h`` is ``ln s_0 e^{-k t_h} + ln m (1 - e^{-k t_h})`` plus each step's shock
    times ``nu sqrt((1 - e^{-2 k dt}) / 2k) e^{-k (t_h - t_j)}``. Equal to
    ``simulate_credit_inflation(...).moves(paths, horizons)`` up to rounding, without the
    paths x steps spread and inflation arrays (the run needs the horizons only).

    Returns
    -------
    ndarray
        Paths x horizons x ratings (AAA .. CCC), decimals.
    """
    cols = paths.columns(horizons)
    drivers = _credit_drivers(model, paths, spec, stream, "credit_spread_moves")
    today, long_run = drivers.today, drivers.long_run
    t = paths.times
    dt = np.diff(t, prepend=0.0)
    kappa = spec.mean_reversion
    th = t[cols]
    # Weight of step j's shock in the log spread at horizon h (zero after the horizon).
    lag = th[:, None] - t[None, :]
    weight = np.where(
        lag >= -1e-12,
        spec.volatility
        * np.sqrt(-np.expm1(-2 * kappa * dt) / (2 * kappa))[None, :]
        * np.exp(-kappa * np.maximum(lag, 0.0)),
        0.0,
    )
    noise = drivers.shocks(weight)[:, :, : len(RATING_LETTERS)]
    decay = np.exp(-kappa * th)[None, :, None]
    log_s = np.log(today) * decay + np.log(long_run) * (1 - decay) + noise
    return np.asarray(np.exp(log_s) - today, dtype=np.float64)
