"""Scenarios across currencies and real rates: correlated G2++ economies linked by FX and CPI.

Each *economy* is a currency's nominal rates or a region's real rates, modelled by its own G2++
fitted exactly to its curve. The first economy is the base (the portfolio's currency); every
other one has a *parent* and a *link*, the price in the parent's units of one unit of it:

- a foreign currency's link is its FX rate (base units per foreign unit), lognormal with the
  drift the two rate paths imply, ``dX / X = (r_base - r_foreign) dt + nu dW``: covered
  interest parity holds path by path, so an FX forward is a martingale under the base measure;
- a real economy's link is its price index ratio (nominal units per real unit), lognormal with
  drift ``r_nominal - r_real`` (Jarrow-Yildirim), so expected inflation under the nominal
  forward measures equals today's breakevens (the gap between the nominal and real curves).

All Brownian drivers (two factors per economy, one per link) are correlated through one matrix
and simulated under the base measure with the quanto drifts that makes exact. Paths come from the
counter-based generator keyed by (seed, path), so threads, chunks and Dask workers give the same
bits; a single economy is exactly :meth:`G2pp.simulate`. Credit spreads stay correlated with the
home rates by passing the base economy's paths to
:func:`~fialloc.scenarios.simulate_credit_inflation`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from fialloc import _core
from fialloc.bonds import BondBook, CashflowStream
from fialloc.checks import fits_in_memory
from fialloc.curve_set import CurveSet
from fialloc.curves import Curve
from fialloc.distributed import Executor, InProcess, task_threads
from fialloc.errors import DistributedError
from fialloc.inflation import LinkerFlows
from fialloc.layout import FloatArray
from fialloc.scenarios import DEFAULT_G2, MAX_PATHS, MONTHLY_10Y, G2Paths, G2pp

__all__ = [
    "DEFAULT_REAL_G2",
    "FX_VOLATILITY",
    "INFLATION_LEVEL",
    "INFLATION_RATE_CORRELATION",
    "STATE_NAMES",
    "Economy",
    "MultiCurrencyG2",
    "MultiCurrencyPaths",
    "default_correlation",
    "real_economy",
]

#: Real-rate G2++ when none is calibrated: real yields move less than nominal ones.
DEFAULT_REAL_G2: Final = {"a": 0.05, "sigma": 0.006, "b": 0.5, "eta": 0.005, "rho": -0.6}
#: Breakeven inflation (decimal a year) assumed when a region has no real curve: the long-run
#: level expected inflation reverts to.
INFLATION_LEVEL: Final = 0.025
#: Correlation of a price index's shocks with its currency's rate level factor.
INFLATION_RATE_CORRELATION: Final = 0.3
#: Default correlation of the same factor across two nominal currencies.
CROSS_CURRENCY_CORRELATION: Final = 0.5
#: Default correlation of a region's real-rate factors with its nominal ones.
REAL_NOMINAL_CORRELATION: Final = 0.7
#: Default lognormal volatility of a price index ratio (a year).
INFLATION_VOLATILITY: Final = 0.01
#: Default lognormal FX volatilities against the US dollar (a year; one-year implieds of the
#: recent past, rounded); a pair not listed takes :data:`DEFAULT_FX_VOLATILITY`.
FX_VOLATILITY: Final = {"EUR": 0.08, "GBP": 0.085, "JPY": 0.10, "CAD": 0.065, "USD": 0.08}
DEFAULT_FX_VOLATILITY: Final = 0.09

#: The base economy's states at a horizon, in order: its G2++ factors and the integrated short
#: rate ``-log D(0, t)``; every other economy adds the same three (prefixed ``<economy>.``) and
#: the log of its link (``<economy>.log_link``: log FX rate or log price index ratio).
STATE_NAMES: Final = ("x", "y", "integrated_rate")

Params = tuple[float, float, float, float, float]


@dataclass(frozen=True)
class Economy:
    """One rate economy: a currency's nominal rates or a region's real rates.

    Attributes
    ----------
    name : str
        Unique label (``"USD"``, ``"EUR"``, ``"EUR-real"``).
    curve : Curve
        Today's discount curve (real discount factors for a real economy).
    params : tuple
        G2++ ``(a, sigma, b, eta, rho)`` as in :class:`~fialloc.scenarios.G2pp`.
    parent : str, optional
        The economy whose units the link is priced in; none for the base.
    spot : float
        Today's link: FX rate (parent units per unit) or price index ratio.
    volatility : float
        Lognormal volatility of the link (a year, decimal; 0.09 for 9%).
    kind : {"nominal", "real"}
        Nominal currency or real rates.
    """

    name: str
    curve: Curve
    params: Params = (
        DEFAULT_G2["a"],
        DEFAULT_G2["sigma"],
        DEFAULT_G2["b"],
        DEFAULT_G2["eta"],
        DEFAULT_G2["rho"],
    )
    parent: str | None = None
    spot: float = 1.0
    volatility: float = 0.0
    kind: Literal["nominal", "real"] = "nominal"

    def model(self) -> G2pp:
        """Return the economy's own G2++ (validates its parameters)."""
        return G2pp(self.curve, *self.params)


def real_economy(
    nominal: Economy,
    breakeven: float | Curve = INFLATION_LEVEL,
    *,
    index_ratio: float = 1.0,
    volatility: float = INFLATION_VOLATILITY,
    params: Params | None = None,
) -> Economy:
    """Real rates of `nominal`'s region, whose expected inflation matches its breakevens.

    Parameters
    ----------
    nominal : Economy
        The region's currency.
    breakeven : float or Curve
        A flat breakeven inflation rate (decimal a year, continuously compounded; 2.5% by
        default), the real curve being the nominal one less it; or the real curve itself
        (from linker prices or inflation swaps).
    index_ratio : float
        Today's price index over the index base of the real flows.
    volatility : float
        Lognormal volatility of the price index (a year).
    params : tuple, optional
        Real-rate G2++; :data:`DEFAULT_REAL_G2` by default.
    """
    if nominal.kind != "nominal":
        msg = f"real_economy: {nominal.name!r} is not a nominal currency"
        raise ValueError(msg)
    if isinstance(breakeven, Curve):
        curve = breakeven
    else:
        rate = float(breakeven)
        if not np.isfinite(rate) or abs(rate) >= 0.5:
            msg = f"real_economy: breakeven must be a decimal rate (0.025 for 2.5%), got {rate}"
            raise ValueError(msg)
        curve = nominal.curve.shifted(-rate * 1e4)
    p = params if params is not None else tuple(DEFAULT_REAL_G2.values())
    return Economy(
        f"{nominal.name}-real",
        curve,
        (float(p[0]), float(p[1]), float(p[2]), float(p[3]), float(p[4])),
        nominal.name,
        float(index_ratio),
        float(volatility),
        "real",
    )


def _drivers(economies: Sequence[Economy]) -> list[str]:
    factors = [f"{e.name}.{f}" for e in economies for f in ("x", "y")]
    return factors + [f"{e.name}.link" for e in economies[1:]]


def default_correlation(
    economies: Sequence[Economy],
    *,
    cross_currency: float = CROSS_CURRENCY_CORRELATION,
    real_nominal: float = REAL_NOMINAL_CORRELATION,
    inflation_rate: float = INFLATION_RATE_CORRELATION,
) -> pd.DataFrame:
    """Driver correlations used when none are given (labelled ``<economy>.x``, ``.y``, ``.link``).

    Within an economy, its G2++ ``rho``. The same factor of two nominal currencies correlates at
    `cross_currency` (the two factors across at that times their mean rho); a real economy's
    factors with its own currency's at `real_nominal` and with other currencies' at the product.
    A price index's shock correlates with its currency's level factor at `inflation_rate` (the
    seed default 0.3), and with its y factor through that factor's rho; FX shocks are
    independent of the rates.
    """
    names = _drivers(economies)
    index = {e.name: i for i, e in enumerate(economies)}
    n = len(economies)
    c = np.eye(len(names))

    def home(e: Economy) -> int:
        return index[e.parent] if e.kind == "real" and e.parent is not None else index[e.name]

    for i, ei in enumerate(economies):
        c[2 * i, 2 * i + 1] = c[2 * i + 1, 2 * i] = ei.params[4]
        for j in range(i):
            ej = economies[j]
            same_region = home(ei) == home(ej)
            level = real_nominal if same_region else cross_currency
            if not same_region:
                level *= real_nominal if ei.kind == "real" else 1.0
                level *= real_nominal if ej.kind == "real" else 1.0
            mixed = level * 0.5 * (ei.params[4] + ej.params[4])
            c[2 * i, 2 * j] = c[2 * j, 2 * i] = level
            c[2 * i + 1, 2 * j + 1] = c[2 * j + 1, 2 * i + 1] = level
            c[2 * i, 2 * j + 1] = c[2 * j + 1, 2 * i] = mixed
            c[2 * i + 1, 2 * j] = c[2 * j, 2 * i + 1] = mixed
    for i in range(1, n):
        e = economies[i]
        if e.kind == "real":
            k, link = index[str(e.parent)], 2 * n + i - 1
            rho = economies[k].params[4]
            c[link, 2 * k] = c[2 * k, link] = inflation_rate
            c[link, 2 * k + 1] = c[2 * k + 1, link] = inflation_rate * rho
    return pd.DataFrame(c, index=names, columns=names)


@dataclass(frozen=True)
class MultiCurrencyPaths:
    """Simulated paths of every economy on one grid.

    Attributes
    ----------
    names : tuple of str
        Economies, base first.
    parents : tuple of int
        Each economy's parent index (-1 for the base).
    times : ndarray
        Grid (years).
    x, y, discount : tuple of ndarray
        Per economy, paths x times: factors and ``D_e(0, t) = exp(-integral of r_e)``.
    link : tuple of ndarray
        Per economy, paths x times: its link (empty for the base).
    seed, first_path : int
        Generator key and the first path's index.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    times: FloatArray
    x: tuple[FloatArray, ...]
    y: tuple[FloatArray, ...]
    discount: tuple[FloatArray, ...]
    link: tuple[FloatArray, ...]
    seed: int
    first_path: int = 0

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return int(self.x[0].shape[0])

    def index(self, name: str) -> int:
        """Position of economy `name`."""
        if name not in self.names:
            msg = f"MultiCurrencyPaths: no economy {name!r}; have {list(self.names)}"
            raise ValueError(msg)
        return self.names.index(name)

    def economy(self, name: str) -> G2Paths:
        """One economy's paths as :class:`G2Paths` (its own factors and discount factors)."""
        i = self.index(name)
        return G2Paths(
            self.times, self.x[i], self.y[i], self.discount[i], self.seed, self.first_path
        )

    def to_base(self, name: str) -> FloatArray:
        """Base-currency units per unit of `name` on every path, paths x times (1 for the base)."""
        i = self.index(name)
        value = np.ones_like(self.x[0])
        while self.parents[i] >= 0:
            value = value * self.link[i]
            i = self.parents[i]
        return value


class MultiCurrencyG2:
    """Correlated G2++ economies, the base first, linked by FX rates and price indices.

    Parameters
    ----------
    economies : sequence of Economy
        The base (no parent) first; each other economy's parent listed before it.
    correlation : DataFrame or array, optional
        Driver correlations, labelled as :func:`default_correlation` labels them (a DataFrame is
        reordered by label) or in that order; :func:`default_correlation` by default. Must be
        symmetric, positive semi-definite, with each economy's rho at its (x, y) entry.
    """

    def __init__(
        self,
        economies: Sequence[Economy],
        correlation: pd.DataFrame | npt.ArrayLike | None = None,
    ) -> None:
        where = "MultiCurrencyG2"
        econ = tuple(economies)
        if not econ:
            msg = f"{where}: no economies given"
            raise ValueError(msg)
        names = [e.name for e in econ]
        if len(set(names)) != len(names):
            msg = f"{where}: economy names repeat: {names}"
            raise ValueError(msg)
        if econ[0].parent is not None:
            msg = f"{where}: the first economy ({econ[0].name}) is the base and has no parent"
            raise ValueError(msg)
        for i, e in enumerate(econ[1:], start=1):
            if e.parent not in names[:i]:
                msg = (
                    f"{where}: economy {e.name!r} has parent {e.parent!r}; expected one of the "
                    f"economies listed before it {names[:i]}"
                )
                raise ValueError(msg)
        self.economies = econ
        self.models = {e.name: e.model() for e in econ}
        self.drivers = _drivers(econ)
        if correlation is None:
            frame = default_correlation(econ)
        elif isinstance(correlation, pd.DataFrame):
            missing = [d for d in self.drivers if d not in correlation.index]
            missing += [d for d in self.drivers if d not in correlation.columns]
            if missing:
                msg = f"{where}: the correlation has no row or column for {sorted(set(missing))}"
                raise ValueError(msg)
            frame = correlation.loc[self.drivers, self.drivers].astype(float)
        else:
            frame = pd.DataFrame(
                np.asarray(correlation, dtype=np.float64), index=None, columns=None
            )
            if frame.shape != (len(self.drivers), len(self.drivers)):
                msg = (
                    f"{where}: the correlation is {frame.shape[0]}x{frame.shape[1]}; expected "
                    f"{len(self.drivers)}x{len(self.drivers)} for drivers {self.drivers}"
                )
                raise ValueError(msg)
            frame.index = frame.columns = pd.Index(self.drivers)
        self.correlation = frame
        self._laws: dict[bytes, tuple[FloatArray, FloatArray]] = {}
        # Validates the whole specification (PSD, rho entries, links) once, on a one-step run.
        if len(econ) > 1:
            self._run(np.array([1.0 / 12.0]), 0, 1, 0, 1)

    def __repr__(self) -> str:
        return f"MultiCurrencyG2({', '.join(e.name for e in self.economies)})"

    @classmethod
    def from_curve_set(
        cls,
        curves: CurveSet,
        *,
        params: dict[str, Params] | None = None,
        fx_volatility: dict[str, float] | None = None,
        real: Sequence[str] | None = None,
        correlation: pd.DataFrame | npt.ArrayLike | None = None,
    ) -> MultiCurrencyG2:
        """Economies for every currency of `curves`, and real rates where it holds a real curve.

        Each currency's rates are simulated off its funding curve (OIS, else government), a
        foreign one's less its cross-currency basis, so the simulated FX forwards are
        :meth:`CurveSet.fx_forward` (covered parity with basis); bonds priced off another
        curve carry their spread over it as a z-spread. A real economy per currency in `real`
        (by default those with a ``real`` curve) starts from that curve, or from the nominal
        curve less :data:`INFLATION_LEVEL` when the set holds none; its link is the index's
        growth since today (1 today).

        Parameters
        ----------
        curves : CurveSet
            Curves and FX spots (base units per unit).
        params : dict, optional
            G2++ per economy name (``"EUR"``, ``"EUR-real"``); defaults otherwise.
        fx_volatility : dict, optional
            Lognormal FX volatility per currency; :data:`FX_VOLATILITY` otherwise.
        real : sequence of str, optional
            Currencies to give real economies.
        correlation : DataFrame or array, optional
            As for the constructor.
        """
        chosen = params or {}
        vols = {**FX_VOLATILITY, **(fx_volatility or {})}
        base = curves.base_currency

        def g2(name: str, default: dict[str, float]) -> Params:
            p = chosen.get(name, tuple(default.values()))
            return (float(p[0]), float(p[1]), float(p[2]), float(p[3]), float(p[4]))

        nominal = [Economy(base, curves.funding_curve(base), g2(base, DEFAULT_G2))]
        for code in curves.currencies[1:]:
            basis = float(curves.fx_basis.get(code, 0.0))
            curve = curves.funding_curve(code)
            nominal.append(
                Economy(
                    code,
                    curve.shifted(basis * 1e4) if basis else curve,
                    g2(code, DEFAULT_G2),
                    base,
                    curves.spot(code),
                    float(vols.get(code, DEFAULT_FX_VOLATILITY)),
                )
            )
        wanted = (
            [c for c in curves.currencies if curves.has_curve(c, "real")]
            if real is None
            else [str(c).strip().upper() for c in real]
        )
        by_name = {e.name: e for e in nominal}
        reals = []
        for code in wanted:
            if code not in by_name:
                msg = (
                    f"MultiCurrencyG2.from_curve_set: no currency {code!r} for real rates; "
                    f"the set has {list(by_name)}"
                )
                raise ValueError(msg)
            breakeven: float | Curve = (
                curves.curve(code, "real") if curves.has_curve(code, "real") else INFLATION_LEVEL
            )
            reals.append(
                real_economy(by_name[code], breakeven, params=g2(f"{code}-real", DEFAULT_REAL_G2))
            )
        return cls(nominal + reals, correlation)

    def economy(self, name: str) -> Economy:
        """Return the economy called `name`."""
        for e in self.economies:
            if e.name == name:
                return e
        msg = f"MultiCurrencyG2: no economy {name!r}; have {list(self.models)}"
        raise ValueError(msg)

    def model(self, name: str) -> G2pp:
        """Return economy `name`'s G2++ (its zero bonds are those of its paths' factors)."""
        return self.models[self.economy(name).name]

    def index_variance(
        self, name: str, start: npt.ArrayLike, maturity: npt.ArrayLike
    ) -> FloatArray:
        """Variance of the log forward index from `start` to `maturity` (years, elementwise).

        For real economy `name`, the forward of its index for `maturity` seen at ``t``,
        ``F(t, T) = I(t) P_real(t, T) / P_nominal(t, T)``, is lognormal with no drift under
        the home currency's `maturity`-forward measure; its log moves by
        ``nu dW_I - sigma_r B_ar(T - t) dW_xr - eta_r B_br(T - t) dW_yr
        + sigma_n B_an(T - t) dW_xn + eta_n B_bn(T - t) dW_yn`` (``B_k(u) = (1 - e^{-ku}) / k``,
        the G2++ bond volatilities), so its variance over ``[start, maturity]`` integrates
        those loadings against the drivers' correlations in closed form. A put on the index
        (the deflation floor) is then Black's formula on that forward.

        Returns
        -------
        ndarray
            Decimal variance (zero where `maturity` <= `start`), shape of the broadcast inputs.
        """
        e = self.economy(name)
        if e.kind != "real" or e.parent is None:
            msg = f"MultiCurrencyG2.index_variance: {name!r} is not a real economy"
            raise ValueError(msg)
        home = self.economy(e.parent)
        s0, t0 = np.broadcast_arrays(
            np.asarray(start, dtype=np.float64), np.asarray(maturity, dtype=np.float64)
        )
        u = np.maximum(t0 - s0, 0.0)
        ar, sr, br, er, _ = e.params
        an, sn, bn, en, _ = home.params
        # Loadings (sign, scale, mean reversion; 0 for the index's own constant one) per
        # driver, in the order of the correlation's labels.
        drivers = [f"{name}.link", f"{name}.x", f"{name}.y", f"{home.name}.x", f"{home.name}.y"]
        loads = [(e.volatility, 0.0), (-sr, ar), (-er, br), (sn, an), (en, bn)]
        # By position: a label lookup of the frame costs more than the variance itself.
        at = self.correlation.index.get_indexer(pd.Index(drivers))
        c = self.correlation.to_numpy(dtype=np.float64)[np.ix_(at, at)]

        def b(k: float) -> FloatArray:
            return np.asarray(-np.expm1(-k * u) / k)

        def integral(i: float, j: float) -> FloatArray:
            """Integral over [0, u] of B_i B_j (B_0 = 1)."""
            if i == 0 and j == 0:
                return np.asarray(u)
            if i == 0 or j == 0:
                k = i or j
                return np.asarray((u - b(k)) / k)
            return np.asarray((u - b(i) - b(j) + b(i + j)) / (i * j))

        out = np.zeros_like(u)
        for p, (vp, kp) in enumerate(loads):
            for q, (vq, kq) in enumerate(loads):
                if c[p, q] != 0.0 and vp != 0.0 and vq != 0.0:
                    out = out + c[p, q] * vp * vq * integral(kp, kq)
        return np.asarray(out, dtype=np.float64)

    @property
    def state_names(self) -> tuple[str, ...]:
        """Names of the states :meth:`states` returns, in order.

        The base economy's :data:`STATE_NAMES`, then per other economy ``<economy>.x``,
        ``<economy>.y``, ``<economy>.integrated_rate`` and ``<economy>.log_link``.
        """
        names = list(STATE_NAMES)
        for e in self.economies[1:]:
            names += [f"{e.name}.{s}" for s in (*STATE_NAMES, "log_link")]
        return tuple(names)

    def _quanto_drifts(self) -> FloatArray:
        """Each driver's drift under the base measure, per unit of its Brownian motion.

        A driver lives in an economy's measure (a factor in its own, a link in its parent's);
        each change of measure on the way to the base, through a link of volatility ``nu``,
        drifts it by minus its correlation with that link's shock times ``nu``.
        """
        econ = self.economies
        n = len(econ)
        names = [e.name for e in econ]
        parents = [-1 if e.parent is None else names.index(e.parent) for e in econ]
        c = self.correlation.to_numpy(dtype=np.float64)
        measures = [e for e in range(n) for _ in (0, 1)] + parents[1:]
        mu = np.zeros(len(self.drivers))
        for j, m in enumerate(measures):
            while m > 0:
                mu[j] -= c[j, 2 * n + m - 1] * econ[m].volatility
                m = parents[m]
        return mu

    def state_law(self, horizons: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Exact Gaussian law of the states at each horizon (see :meth:`states`).

        Every state is linear in the drivers' Brownian motions over ``[0, t]`` under the base
        measure: a factor's value is ``vol * integral of e^{-k (t - s)} (dW + mu ds)``, its time
        integral ``vol / k * integral of (1 - e^{-k (t - s)}) (dW + mu ds)``, a link's shock
        ``nu (W + mu t)`` (``mu`` the quanto drift), each economy's integrated short rate
        ``-log P(0, t) + V(0, t) / 2`` plus its factors' integrals, and a link's log
        ``log spot - nu^2 t / 2 + log D_e - log D_parent`` plus its shock. The covariance of two
        pieces ``sum_i c_i e^{-r_i (t - s)}`` and ``sum_j c_j e^{-r_j (t - s)}`` of drivers
        correlated ``rho`` is ``rho sum_ij c_i c_j (1 - e^{-(r_i + r_j) t}) / (r_i + r_j)``.

        Parameters
        ----------
        horizons : array
            Positive years.

        Returns
        -------
        mean : ndarray
            Horizons x states (decimals).
        covariance : ndarray
            Horizons x states x states.

        Raises
        ------
        ValueError
            If a horizon is not a positive number of years.
        """
        h = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
        if h.ndim != 1 or not np.all(np.isfinite(h)) or np.any(h <= 0.0):
            msg = f"MultiCurrencyG2.state_law: horizons must be positive years, got {h}"
            raise ValueError(msg)
        # Once per generator and horizons: every chunk of a run's paths asks for the same.
        law = self._laws.get(h.tobytes())
        if law is None:
            mean, covariance = self._exact_law(h)
            mean.setflags(write=False)
            covariance.setflags(write=False)
            law = self._laws[h.tobytes()] = (mean, covariance)
        return law

    def _exact_law(self, h: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Compute :meth:`state_law` at horizons `h` (checked)."""
        econ = self.economies
        n = len(econ)
        c = self.correlation.to_numpy(dtype=np.float64)
        mu = self._quanto_drifts()
        # Pieces (per economy: x value, x integral, y value, y integral; then each link's
        # shock) as (driver, [(coefficient, rate), ...]).
        pieces: list[tuple[int, list[tuple[float, float]]]] = []
        for i, e in enumerate(econ):
            a, s, b, eta, _ = e.params
            for q, (k, vol) in enumerate(((a, s), (b, eta))):
                pieces.append((2 * i + q, [(vol, k)]))
                pieces.append((2 * i + q, [(vol / k, 0.0), (-vol / k, k)]))
        pieces += [(2 * n + i - 1, [(econ[i].volatility, 0.0)]) for i in range(1, n)]
        names = [e.name for e in econ]
        # States from pieces: x, y, integrated rate (both integrals); a link's log moves with
        # its economy's and its parent's integrated rates and its own shock.
        loads = np.zeros((len(self.state_names), len(pieces)))
        row = 0
        for i, e in enumerate(econ):
            loads[row, 4 * i], loads[row + 1, 4 * i + 2] = 1.0, 1.0
            loads[row + 2, [4 * i + 1, 4 * i + 3]] = 1.0
            if i > 0:
                parent = names.index(str(e.parent))
                loads[row + 3, [4 * i + 1, 4 * i + 3]] = -1.0
                loads[row + 3, [4 * parent + 1, 4 * parent + 3]] += 1.0
                loads[row + 3, 4 * n + i - 1] = 1.0
            row += 3 if i == 0 else 4
        log_mean = np.array([self.models[e.name].log_discount_mean(h) for e in econ])
        means, covariances = [], []
        for j, t in enumerate(h):

            def decayed(r: float, t: float = float(t)) -> float:
                return t if r == 0.0 else float(-np.expm1(-r * t) / r)

            cov = np.empty((len(pieces), len(pieces)))
            for p, (dp, tp) in enumerate(pieces):
                for q, (dq, tq) in enumerate(pieces[: p + 1]):
                    cov[p, q] = cov[q, p] = c[dp, dq] * sum(
                        cp * cq * decayed(rp + rq) for cp, rp in tp for cq, rq in tq
                    )
            drift = np.array([mu[d] * sum(cf * decayed(r) for cf, r in tp) for d, tp in pieces])
            shifted = loads @ drift
            mean = shifted.copy()
            row = 0
            for i, e in enumerate(econ):
                mean[row + 2] = -log_mean[i, j] + shifted[row + 2]
                if i > 0:
                    parent = names.index(str(e.parent))
                    mean[row + 3] += (
                        np.log(e.spot) - 0.5 * e.volatility**2 * t + log_mean[i, j]
                    ) - log_mean[parent, j]
                row += 3 if i == 0 else 4
            means.append(mean)
            state_cov = loads @ cov @ loads.T
            covariances.append(0.5 * (state_cov + state_cov.T))
        return np.array(means), np.array(covariances)

    def states(
        self, paths: MultiCurrencyPaths, horizons: npt.ArrayLike
    ) -> tuple[FloatArray, FloatArray]:
        """Every economy's states at each horizon, less their exact means, and their covariance.

        The states (:attr:`state_names`) are each economy's G2++ factors and integrated short
        rate ``-log D(0, t)``, which set every zero bond of that economy on the path, and for
        every economy after the base the log of its link (FX rate or price index ratio): all
        jointly Gaussian with the law :meth:`state_law` gives in closed form, so they are
        control variates for any statistic of values on the paths. The base economy's three
        are :meth:`fialloc.scenarios.G2pp.state_covariance`'s.

        Returns
        -------
        states : ndarray
            Paths x horizons x states (decimals).
        covariance : ndarray
            Horizons x states x states.

        Raises
        ------
        ValueError
            If `paths` are not this generator's economies or a horizon is not on their grid.
        """
        names = tuple(e.name for e in self.economies)
        if paths.names != names:
            msg = f"MultiCurrencyG2.states: paths of {list(paths.names)}, not of {list(names)}"
            raise ValueError(msg)
        h = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
        cols = paths.economy(paths.names[0]).columns(h)
        raw = []
        for i in range(len(paths.names)):
            raw += [paths.x[i][:, cols], paths.y[i][:, cols], -np.log(paths.discount[i][:, cols])]
            if i > 0:
                raw.append(np.log(paths.link[i][:, cols]))
        mean, covariance = self.state_law(h)
        return np.stack(raw, axis=2) - mean[None, :, :], covariance

    def _run(
        self, grid: FloatArray, first: int, n: int, seed: int, threads: int
    ) -> tuple[list[FloatArray], list[FloatArray], list[FloatArray], list[FloatArray]]:
        econ = self.economies
        names = [e.name for e in econ]
        params = np.array([e.params for e in econ], dtype=np.float64)
        log_dfs = np.ascontiguousarray(
            [np.log(np.asarray(e.curve.discount(grid), dtype=np.float64)) for e in econ]
        )
        parents = np.array(
            [-1 if e.parent is None else names.index(e.parent) for e in econ], dtype=np.int64
        )
        spots = np.array([e.spot for e in econ], dtype=np.float64)
        vols = np.array([e.volatility for e in econ], dtype=np.float64)
        out: tuple[list[FloatArray], list[FloatArray], list[FloatArray], list[FloatArray]]
        out = _core.simulate_g2_multi(
            params,
            grid,
            log_dfs,
            parents,
            spots,
            vols,
            np.ascontiguousarray(self.correlation.to_numpy(dtype=np.float64)),
            first,
            n,
            seed,
            threads,
        )
        return out

    def simulate(
        self,
        n_paths: int = 1000,
        times: npt.ArrayLike | None = None,
        seed: int = 0,
        threads: int | None = None,
        first_path: int = 0,
    ) -> MultiCurrencyPaths:
        """Simulate every economy on `times` (years; monthly for 10 years by default).

        Path ``p`` depends only on the seed, the grid and ``p`` (chunks via `first_path`
        concatenate to one run). With a single economy the paths are :meth:`G2pp.simulate`'s.
        """
        grid = MONTHLY_10Y if times is None else np.ascontiguousarray(times, dtype=np.float64)
        names = tuple(e.name for e in self.economies)
        parents = tuple(-1 if e.parent is None else names.index(e.parent) for e in self.economies)
        if len(self.economies) == 1:
            one = self.models[names[0]].simulate(
                n_paths, grid, seed, threads, first_path=first_path
            )
            return MultiCurrencyPaths(
                names,
                parents,
                grid,
                (one.x,),
                (one.y,),
                (one.discount,),
                (np.empty((0, 0)),),
                one.seed,
                one.first_path,
            )
        if seed < 0 or seed >= 2**64:
            msg = f"MultiCurrencyG2.simulate: `seed` must be in [0, 2**64), got {seed}"
            raise ValueError(msg)
        if not 1 <= int(n_paths) <= MAX_PATHS:
            msg = (
                f"MultiCurrencyG2.simulate: `n_paths` must be in [1, {MAX_PATHS:,}], got {n_paths}"
            )
            raise ValueError(msg)
        fits_in_memory(
            4 * 8 * len(names) * int(n_paths) * max(grid.size, 1),
            "MultiCurrencyG2.simulate",
            f"{n_paths:,} paths of {len(names)} economies",
        )
        n_threads = threads if threads is not None else (os.cpu_count() or 1)
        x, y, d, link = self._run(grid, int(first_path), int(n_paths), int(seed), int(n_threads))
        return MultiCurrencyPaths(
            names,
            parents,
            grid,
            tuple(x),
            tuple(y),
            tuple(d),
            tuple(link),
            int(seed),
            int(first_path),
        )

    def simulate_in_chunks(
        self,
        n_paths: int,
        times: npt.ArrayLike | None = None,
        seed: int = 0,
        *,
        chunk: int = 500,
        executor: Executor | None = None,
    ) -> MultiCurrencyPaths:
        """Simulate `n_paths` in tasks of `chunk` paths on `executor` (in process by default).

        Each task simulates its own block of path indices, so the result is bitwise
        :meth:`simulate` of all the paths at once, on any executor (a Dask cluster included).
        """
        for label, value in (("n_paths", n_paths), ("chunk", chunk)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                msg = f"MultiCurrencyG2.simulate_in_chunks: `{label}` must be a positive integer"
                raise ValueError(msg)
        grid = MONTHLY_10Y if times is None else np.ascontiguousarray(times, dtype=np.float64)
        items = [(k, min(chunk, n_paths - k)) for k in range(0, n_paths, chunk)]
        blocks = (executor or InProcess()).map(_chunk, items, shared=(self, grid, int(seed)))
        if len(blocks) != len(items) or any(
            b.n_paths != n or b.first_path != first
            for b, (first, n) in zip(blocks, items, strict=True)
        ):
            msg = "MultiCurrencyG2.simulate_in_chunks: a chunk came back with the wrong paths"
            raise DistributedError(msg)

        def joined(field: str) -> tuple[FloatArray, ...]:
            parts = [getattr(b, field) for b in blocks]
            return tuple(
                np.concatenate([p[e] for p in parts]) if parts[0][e].size else parts[0][e]
                for e in range(len(parts[0]))
            )

        first = blocks[0]
        return MultiCurrencyPaths(
            first.names,
            first.parents,
            first.times,
            joined("x"),
            joined("y"),
            joined("discount"),
            joined("link"),
            first.seed,
            0,
        )

    def revalue(
        self,
        name: str,
        streams: BondBook | CashflowStream,
        paths: MultiCurrencyPaths,
        horizons: npt.ArrayLike,
        z_spread: npt.ArrayLike = 0.0,
        *,
        holdings: npt.ArrayLike | sparse.sparray | None = None,
        threads: int | None = None,
        spread_moves: npt.ArrayLike | None = None,
        groups: npt.ArrayLike | None = None,
    ) -> FloatArray:
        """Base-currency value at each horizon, on each path, of flows paid in economy `name`.

        A foreign bond's flows are valued with its currency's zero bonds on the path and
        converted at the path's FX rate; a linker's real flows (per unit of index ratio) with
        the real economy's zero bonds times the simulated index ratio and the FX rate.
        `spread_moves` and `groups` move each stream's z-spread on the path, as in
        :meth:`G2pp.revalue`.

        Returns
        -------
        ndarray
            Paths x horizons x streams, or x holders with `holdings` (see :meth:`G2pp.revalue`).
        """
        cols = paths.economy(name).columns(horizons)
        local = self.model(name).revalue(
            streams,
            paths.economy(name),
            horizons,
            z_spread,
            threads=threads,
            holdings=holdings,
            spread_moves=spread_moves,
            groups=groups,
        )
        return np.asarray(local * paths.to_base(name)[:, cols, None], dtype=np.float64)

    def revalue_linkers(
        self,
        name: str,
        flows: LinkerFlows,
        paths: MultiCurrencyPaths,
        horizons: npt.ArrayLike,
        *,
        holdings: npt.ArrayLike | None = None,
        threads: int | None = None,
    ) -> FloatArray:
        """Base-currency value on each path of inflation-linked bonds' flows after each horizon.

        Linker ``i`` pays ``amounts * index_ratio[i] * g(t)``, ``g`` the index's growth since
        today: on a path its value at ``h`` is ``index_ratio[i] * g(h)`` times its real flows
        discounted with the real economy `name`'s zero bonds, then converted at the path's FX
        rate. The observation lag and the deflation floor are not modelled on the paths (a flow
        takes the index of its payment date; the floor's option value is left out).

        Parameters
        ----------
        name : str
            The real economy of the linkers' index (``"USD-real"``).
        flows : LinkerFlows
            From :meth:`fialloc.inflation.LinkerBook.real_flows` (per 100 face).
        holdings : array, optional
            Holders x linkers, in units of 100 face; per linker (per 100 face) without.

        Returns
        -------
        ndarray
            Paths x horizons x linkers (or holders), base-currency money.
        """
        e = self.economy(name)
        if e.kind != "real":
            msg = f"MultiCurrencyG2.revalue_linkers: {name!r} is not a real economy"
            raise ValueError(msg)
        ratio = np.asarray(flows.index_ratio, dtype=np.float64)
        units = (
            np.diag(ratio)
            if holdings is None
            else np.atleast_2d(np.asarray(holdings, dtype=np.float64)) * ratio
        )
        book = BondBook.from_layout(list(flows.ids), flows.layout, e.curve.valuation_date)
        return self.revalue(name, book, paths, horizons, holdings=units, threads=threads)


def _chunk(
    item: tuple[int, int], shared: tuple[MultiCurrencyG2, FloatArray, int]
) -> MultiCurrencyPaths:
    first, n = item
    model, grid, seed = shared
    return model.simulate(n, grid, seed, task_threads(), first_path=first)
