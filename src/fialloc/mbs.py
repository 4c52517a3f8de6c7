"""Agency MBS pass-throughs: prepayment, Monte Carlo valuation on G2++ paths, OAS and its risks.

A pool is given by its gross coupon (WAC), the coupon it passes through (net coupon), the months
it has left (WAM), its loan age and how it prepays: a constant CPR, a PSA speed or
:class:`PrepaymentModel`, a rate-dependent model whose refinancing incentive is the pool's WAC
less a mortgage rate that moves with the simulated curve. Cash flows are monthly, paid at
``k / 12`` years (no payment delay), per 100 of today's face. The compiled core projects every
path's cash flows and discounts them on the path (:func:`fialloc._core.mbs_value`); this module
builds the paths, solves the option-adjusted spread (OAS) from an observed price and measures
effective duration, convexity and key-rate durations with the OAS held fixed.

:func:`scheduled_cashflows` gives the constant-CPR and PSA flows in closed form, for checking:
with no rate volatility the OAS of a constant-CPR pool is the static z-spread of those flows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc import _core
from fialloc.curves import DEFAULT_KEY_TENORS, Curve
from fialloc.data.schema import PREPAYMENT_KINDS
from fialloc.layout import FloatArray, IndexArray
from fialloc.scenarios import G2Paths, G2pp

__all__ = [
    "PREPAYMENT_KINDS",
    "VALUATION_PATHS",
    "HorizonValues",
    "MbsPaths",
    "MbsPools",
    "MbsValuation",
    "PoolPathValues",
    "PrepaymentModel",
    "expected_paydown",
    "horizon_incentive",
    "horizon_values",
    "path_values",
    "psa_cpr",
    "scheduled_cashflows",
    "valuation_paths",
    "value_on_curve",
    "value_pools",
]

#: Paths a run values its pools on (antithetic pairs): standard errors of about 0.02-0.05 per
#: 100 face on the demo's pools.
VALUATION_PATHS: Final = 1000
#: Months of paths simulated by default: every agency pass-through runs off in 30 years.
DEFAULT_MONTHS: Final = 360


@dataclass(frozen=True)
class PrepaymentModel:
    """Rate-dependent prepayment: refinancing S-curve, seasoning ramp, burnout, seasonality.

    ``SMM = speed * S(I) * min(1, age / ramp_months) * seasonality[month] * (burnout_floor +
    (1 - burnout_floor) * factor)``, capped below 1, with the refinancing incentive ``I = WAC -
    mortgage rate`` on the logistic S-curve ``S(I) = s_low + (s_high - s_low) / (1 +
    exp(-(I - incentive_mid) / incentive_width))`` between ``s_low`` and ``s_high``, the single
    monthly mortalities of ``cpr_low`` and ``cpr_high`` (``SMM = 1 - (1 - CPR)^(1/12)``). The
    multipliers act on the monthly hazard, as hazard-rate prepayment models write it: a seasoned
    pool with its original balance in a month of multiplier 1 prepays between ``cpr_low`` and
    ``cpr_high`` exactly, and the kernel needs one exponential per path and month. The mortgage
    rate on a path is ``mortgage_spread`` plus the path's ``mortgage_tenor``-year zero yield at
    the start of the month; ``factor`` is the pool's balance as a share of its original balance,
    so a pool that has paid down slows (burnout).

    The multiplicative form is Richard and Roll's (1989, "Prepayments on fixed-rate
    mortgage-backed securities", Journal of Portfolio Management 15(3)): refinancing incentive x
    seasoning x month x burnout. The defaults are illustrative, not a calibration: the S-curve
    runs from a 6% turnover floor (the seasoned speed of the PSA benchmark) to 50% CPR, the
    range of Richard and Roll's arctangent, with its steepest point (about 6% CPR per 10 bp of
    incentive) 30 bp in the money; the ramp is PSA's 30 months; burnout floors at 0.3 of the
    fresh speed; the seasonality (mean 1) follows home sales, slow in late winter and fast in
    late summer and autumn, as the dealer models describe (Hayre and Rajan, "Anatomy of
    prepayments", Salomon Brothers 1995). Calibrate them to your pools' history before trusting
    a number.

    Attributes
    ----------
    cpr_low, cpr_high : float
        The S-curve's floor and cap, decimal CPR a year.
    incentive_mid, incentive_width : float
        Midpoint and logistic scale of the S-curve, decimal rate.
    ramp_months : float
        Months to full seasoning.
    burnout_floor : float
        Burnout multiplier of a pool with nothing left of its original balance.
    seasonality : tuple of 12 floats
        Multipliers for January .. December.
    mortgage_tenor : float
        Years of the zero yield the mortgage rate follows.
    mortgage_spread : float
        Mortgage rate less that zero yield, decimal (the primary-secondary spread plus the
        mortgage-Treasury basis).
    """

    cpr_low: float = 0.06
    cpr_high: float = 0.50
    incentive_mid: float = 0.003
    incentive_width: float = 0.0018
    ramp_months: float = 30.0
    burnout_floor: float = 0.3
    seasonality: tuple[float, ...] = (
        0.94, 0.76, 0.74, 0.95, 0.98, 0.92, 0.98, 1.10, 1.18, 1.22, 1.23, 0.98,
    )  # fmt: skip
    mortgage_tenor: float = 10.0
    mortgage_spread: float = 0.017

    def __post_init__(self) -> None:
        if len(self.seasonality) != 12:
            got = len(self.seasonality)
            msg = f"PrepaymentModel: `seasonality` needs 12 monthly multipliers, got {got}"
            raise ValueError(msg)
        # The core checks every parameter and names the bad one.
        _core.mbs_value(
            *_empty_pools(), self.core_args(), list(self.seasonality), 1,
            np.ones((1, 1)), np.zeros((1, 1)), np.empty(0), False, False, 1,
        )  # fmt: skip

    def core_args(self) -> list[float]:
        """Return the six scalars the compiled kernel takes, in its order."""
        return [
            self.cpr_low,
            self.cpr_high,
            self.incentive_mid,
            self.incentive_width,
            self.ramp_months,
            self.burnout_floor,
        ]


def _empty_pools() -> tuple[
    FloatArray, FloatArray, IndexArray, IndexArray, FloatArray, IndexArray, FloatArray
]:
    f, i = np.empty(0), np.empty(0, dtype=np.int64)
    return f, f, i, i, f, i, f


def psa_cpr(age_months: npt.ArrayLike, speed: float = 100.0) -> FloatArray:
    """CPR (decimal a year) of a PSA `speed` (percent) at loan ages `age_months`.

    100 PSA is 0.2% CPR in the first month of a loan's life, rising by 0.2% a month to 6% at
    month 30 and flat after.
    """
    age = np.asarray(age_months, dtype=np.float64)
    return np.asarray(0.06 * np.minimum(age, 30.0) / 30.0 * speed / 100.0, dtype=np.float64)


def scheduled_cashflows(
    wac: float,
    net_coupon: float,
    wam: int,
    *,
    cpr: float | None = None,
    psa: float | None = None,
    age: int = 0,
) -> pd.DataFrame:
    """Cash flows of a pool prepaying at a constant CPR (closed form) or a PSA speed.

    Parameters
    ----------
    wac, net_coupon : float
        Gross and pass-through coupons, decimal a year.
    wam : int
        Months left.
    cpr : float, optional
        Constant CPR, decimal a year. Give this or `psa`.
    psa : float, optional
        PSA speed in percent.
    age : int
        Loan age today in months (the PSA ramp reads it).

    Returns
    -------
    DataFrame
        One row per month ``1..wam``: ``time`` (years, ``month / 12``), ``balance`` (at the
        start of the month), ``interest``, ``scheduled``, ``prepaid`` and ``cashflow``, all per
        100 of today's face.

    Notes
    -----
    With SMM ``s``, monthly gross coupon ``c`` and ``n = wam``, the balance at the start of
    month ``m`` is ``100 (1 - s)^(m-1) ((1 + c)^n - (1 + c)^(m-1)) / ((1 + c)^n - 1)``: the
    scheduled balance of a level-payment loan scaled by the survival of prepayment.
    """
    if (cpr is None) == (psa is None):
        msg = "scheduled_cashflows: give exactly one of `cpr` and `psa`"
        raise ValueError(msg)
    if not (0 <= net_coupon <= wac < 1) or not (1 <= int(wam) <= 600) or age < 0:
        msg = (
            "scheduled_cashflows: need 0 <= net_coupon <= wac < 1 (decimals), 1 <= wam <= 600 "
            f"months and age >= 0; got wac={wac}, net_coupon={net_coupon}, wam={wam}, age={age}"
        )
        raise ValueError(msg)
    months = np.arange(1, int(wam) + 1, dtype=np.float64)
    c = wac / 12.0
    smm = -np.expm1(np.log1p(-_prepayment_rates(age + months, cpr, psa)) / 12.0)
    survival = np.concatenate([[1.0], np.cumprod(1.0 - smm)[:-1]])
    if c == 0.0:
        scheduled_balance = 1.0 - (months - 1.0) / wam
    else:
        growth = (1.0 + c) ** np.arange(int(wam) + 1)
        scheduled_balance = (growth[-1] - growth[:-1]) / (growth[-1] - 1.0)
    balance = 100.0 * survival * scheduled_balance
    left = wam - months + 1.0
    sched_rate = 1.0 / left if c == 0.0 else c / np.expm1(left * np.log1p(c))
    scheduled = balance * sched_rate
    prepaid = smm * (balance - scheduled)
    interest = balance * net_coupon / 12.0
    return pd.DataFrame(
        {
            "time": months / 12.0,
            "balance": balance,
            "interest": interest,
            "scheduled": scheduled,
            "prepaid": prepaid,
            "cashflow": interest + scheduled + prepaid,
        },
        index=pd.RangeIndex(1, int(wam) + 1, name="month"),
    )


def _prepayment_rates(ages: FloatArray, cpr: float | None, psa: float | None) -> FloatArray:
    """Annual prepayment rate (CPR, decimal) at each loan age in months: `psa`'s or `cpr`."""
    if psa is not None:
        if not 0 <= psa <= 1e4:
            msg = f"scheduled_cashflows: `psa` must be a percent in [0, 10000], got {psa}"
            raise ValueError(msg)
        return np.minimum(psa_cpr(ages, psa), 0.999999)
    rate = float(cpr) if cpr is not None else float("nan")
    if not 0 <= rate < 1:
        msg = f"scheduled_cashflows: `cpr` must be a decimal in [0, 1), got {cpr}"
        raise ValueError(msg)
    return np.full(len(ages), rate)


@dataclass(frozen=True)
class MbsPools:
    """Pools as the kernel reads them, indexed by security id.

    Build with :meth:`from_frame` from an ``mbs_pools`` table (see
    :data:`fialloc.data.schema.SCHEMAS`).
    """

    ids: pd.Index
    wac: FloatArray
    net_coupon: FloatArray
    wam: IndexArray
    age: IndexArray
    factor: FloatArray
    kind: IndexArray
    speed: FloatArray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> MbsPools:
        """Read pools from a frame with the ``mbs_pools`` columns.

        ``factor`` and ``prepayment`` and ``speed`` are optional (1, ``model`` and 1).

        Raises
        ------
        ValueError
            Naming the pool and column when a value is missing or out of range.
        """
        need = ("security_id", "wac", "net_coupon", "wam", "age")
        missing = [c for c in need if c not in frame.columns]
        if missing:
            msg = f"MbsPools.from_frame: missing column(s) {', '.join(missing)}"
            raise ValueError(msg)
        n = len(frame)

        def col(name: str, default: object) -> pd.Series:
            if name not in frame.columns:
                return pd.Series([default] * n, index=frame.index)
            return frame[name].where(frame[name].notna(), default)

        kinds = col("prepayment", "model").astype(str)
        bad = ~kinds.isin(PREPAYMENT_KINDS)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            msg = (
                f"MbsPools.from_frame: pool {frame['security_id'].iloc[row]}: prepayment "
                f"{kinds.iloc[row]!r} is not one of {', '.join(PREPAYMENT_KINDS)}"
            )
            raise ValueError(msg)
        wam = frame["wam"].to_numpy(dtype=float)
        age = frame["age"].to_numpy(dtype=float)
        for name, values in (("wam", wam), ("age", age)):
            off = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
            if len(off):
                msg = (
                    f"MbsPools.from_frame: pool {frame['security_id'].iloc[off[0]]}: `{name}` "
                    f"must be a whole number of months, got {values[off[0]]}"
                )
                raise ValueError(msg)
        pools = cls(
            ids=pd.Index(frame["security_id"].astype(str), name="security_id"),
            wac=np.ascontiguousarray(frame["wac"], dtype=np.float64),
            net_coupon=np.ascontiguousarray(frame["net_coupon"], dtype=np.float64),
            wam=wam.astype(np.int64),
            age=age.astype(np.int64),
            factor=np.ascontiguousarray(col("factor", 1.0), dtype=np.float64),
            kind=np.array([PREPAYMENT_KINDS.index(k) for k in kinds], dtype=np.int64),
            speed=np.ascontiguousarray(col("speed", 1.0), dtype=np.float64),
        )
        pools.check()
        return pools

    def check(self) -> None:
        """Validate every pool through the core, naming the pool by its id on failure."""
        try:
            _core.mbs_value(
                *self.core_args(), PrepaymentModel().core_args(),
                [1.0] * 12, 1, np.ones((1, 600)), np.zeros((1, 600)), np.zeros(len(self)),
                False, False, 1,
            )  # fmt: skip
        except ValueError as exc:
            raise ValueError(_named(str(exc), self.ids)) from None

    def __len__(self) -> int:
        return len(self.ids)

    def core_args(
        self,
    ) -> tuple[FloatArray, FloatArray, IndexArray, IndexArray, FloatArray, IndexArray, FloatArray]:
        """Return the seven per-pool arrays the compiled kernel takes, in its order."""
        return (
            self.wac,
            self.net_coupon,
            self.wam,
            self.age,
            self.factor,
            self.kind,
            self.speed,
        )


def _named(message: str, ids: pd.Index) -> str:
    """Replace the core's ``pool <i>`` with the pool's security id."""
    head, sep, rest = message.partition("pool ")
    number = rest.split(" ", 1)[0].rstrip(":")
    if not sep or not number.isdigit() or int(number) >= len(ids):
        return message
    return f"{head}pool {ids[int(number)]}{rest[len(number) :]}"


@dataclass(frozen=True)
class MbsPaths:
    """Discount factors and mortgage rates on monthly paths, with what made them.

    Attributes
    ----------
    discount : ndarray
        Paths x months: column ``k - 1`` is the path's discount factor to ``k / 12`` years.
    mortgage_rate : ndarray
        Paths x months: the mortgage rate at the start of month ``k`` (decimal a year).
    antithetic : bool
        Whether paths come in mirrored pairs (the standard error is taken over pair means).
    calendar_month : int
        Calendar month (1..12) of projection month 1.
    """

    discount: FloatArray
    mortgage_rate: FloatArray
    antithetic: bool
    calendar_month: int
    g2: G2pp | None = field(default=None, repr=False)
    x: FloatArray | None = field(default=None, repr=False)
    y: FloatArray | None = field(default=None, repr=False)

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return int(self.discount.shape[0])

    @property
    def months(self) -> int:
        """Months on the grid."""
        return int(self.discount.shape[1])

    @classmethod
    def simulate(
        cls,
        g2: G2pp,
        model: PrepaymentModel,
        *,
        n_paths: int = 1000,
        months: int = DEFAULT_MONTHS,
        seed: int = 0,
        antithetic: bool = True,
        threads: int | None = None,
    ) -> MbsPaths:
        """Simulate G2++ on a monthly grid of `months` and derive the mortgage rates.

        The calendar month of projection month 1 is the month after the curve's valuation
        date (January when the curve has none): a pool valued on its payment date.
        """
        if not 1 <= int(months) <= 600:
            msg = f"MbsPaths.simulate: `months` must be in [1, 600], got {months}"
            raise ValueError(msg)
        if antithetic and n_paths % 2:
            msg = f"MbsPaths.simulate: antithetic paths come in pairs; `n_paths` is {n_paths}"
            raise ValueError(msg)
        grid = np.arange(1, int(months) + 1) / 12.0
        paths = g2.simulate(n_paths, grid, seed=seed, threads=threads, antithetic=antithetic)
        zero = np.zeros((paths.n_paths, 1))
        # The rate at the start of month k is the state at (k - 1) / 12: today, then the grid.
        x = np.ascontiguousarray(np.hstack([zero, paths.x[:, :-1]]))
        y = np.ascontiguousarray(np.hstack([zero, paths.y[:, :-1]]))
        return cls(
            discount=paths.discount,
            mortgage_rate=_mortgage_rates(g2, model, x, y),
            antithetic=antithetic,
            calendar_month=_calendar_month(g2.curve),
            g2=g2,
            x=x,
            y=y,
        )

    @classmethod
    def zero_volatility(
        cls,
        curve: Curve,
        mortgage_rate: float,
        *,
        months: int = DEFAULT_MONTHS,
        calendar_month: int = 1,
    ) -> MbsPaths:
        """One path without rate volatility: today's discount factors and a fixed mortgage rate."""
        grid = np.arange(1, int(months) + 1) / 12.0
        discount = np.asarray(curve.discount(grid), dtype=np.float64)[None, :]
        rates = np.full_like(discount, float(mortgage_rate))
        return cls(discount, rates, False, int(calendar_month))

    def on_curve(self, curve: Curve, model: PrepaymentModel) -> MbsPaths:
        """Return the same random paths with today's curve replaced by `curve` (a bumped curve).

        G2++'s factors do not depend on the curve, so only the deterministic part moves: each
        discount factor scales by ``P'(0, t) / P(0, t)`` and the mortgage rates are recomputed.
        """
        if self.g2 is None or self.x is None or self.y is None:
            msg = "MbsPaths.on_curve: these paths were not simulated (zero-volatility paths)"
            raise ValueError(msg)
        grid = np.arange(1, self.months + 1) / 12.0
        scale = np.asarray(curve.discount(grid)) / np.asarray(self.g2.curve.discount(grid))
        g2 = G2pp(curve, *self.g2.params)
        return replace(
            self,
            discount=self.discount * scale[None, :],
            mortgage_rate=_mortgage_rates(g2, model, self.x, self.y),
            g2=g2,
        )


def _calendar_month(curve: Curve) -> int:
    """Calendar month (1..12) of projection month 1: the month after the valuation date."""
    vd = curve.valuation_date
    return 1 if vd is None else vd.month % 12 + 1


def _mortgage_rates(g2: G2pp, model: PrepaymentModel, x: FloatArray, y: FloatArray) -> FloatArray:
    starts = np.arange(x.shape[1]) / 12.0
    log_df = np.log(np.asarray(g2.curve.discount(starts), dtype=np.float64))
    log_df_tenor = np.log(
        np.asarray(g2.curve.discount(starts + model.mortgage_tenor), dtype=np.float64)
    )
    rates: FloatArray = _core.mbs_mortgage_rates(
        *g2.params, starts, log_df, log_df_tenor, x, y, model.mortgage_tenor, model.mortgage_spread
    )
    return rates


@dataclass(frozen=True)
class MbsValuation:
    """Option-adjusted analytics of pools, per 100 of today's face.

    Attributes
    ----------
    ids : Index
        Security ids.
    value : ndarray
        Model value at the OAS (the observed price when the OAS was solved from it).
    oas : ndarray
        Option-adjusted spread, decimal, continuously compounded over the curve.
    std_error : ndarray
        Monte Carlo standard error of `value` (per 100 face).
    oas_std_error : ndarray
        Standard error of the OAS (decimal): ``std_error`` over the value's sensitivity to it.
    effective_duration : ndarray
        Years: ``(V- - V+) / (2 V dy)`` for parallel zero-rate shifts ``dy``, OAS fixed.
    effective_convexity : ndarray
        Years squared: ``(V- + V+ - 2 V) / (V dy^2)``; negative where prepayment caps the gains.
    spread_duration : ndarray
        Years: ``-dV/d(OAS) / V``, the sensitivity to the OAS.
    key_tenors : tuple of float
        Years.
    krd : ndarray
        Pools x key tenors, years (tent bumps of zero rates, OAS fixed, central differences).
    expected_paydown : ndarray
        Share of today's face the model expects back as principal (scheduled plus prepaid) in
        the first month, mean over paths.
    n_paths : int
        Paths used.
    """

    ids: pd.Index
    value: FloatArray
    oas: FloatArray
    std_error: FloatArray
    oas_std_error: FloatArray
    effective_duration: FloatArray
    effective_convexity: FloatArray
    spread_duration: FloatArray
    key_tenors: tuple[float, ...]
    krd: FloatArray
    expected_paydown: FloatArray
    n_paths: int

    def to_frame(self) -> pd.DataFrame:
        """One row per pool: value, OAS and its error, durations, convexity, KRDs, paydown."""
        from fialloc.bonds import krd_column

        frame = pd.DataFrame(
            {
                "value": self.value,
                "value_std_error": self.std_error,
                "oas": self.oas,
                "oas_std_error": self.oas_std_error,
                "effective_duration": self.effective_duration,
                "effective_convexity": self.effective_convexity,
                "spread_duration": self.spread_duration,
                "expected_paydown": self.expected_paydown,
            },
            index=self.ids,
        )
        for j, tenor in enumerate(self.key_tenors):
            frame[krd_column(tenor)] = self.krd[:, j]
        return frame


def _run(
    pools: MbsPools,
    model: PrepaymentModel,
    paths: MbsPaths,
    target: FloatArray,
    solve: bool,
    threads: int,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    try:
        out: tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray] = _core.mbs_value(
            *pools.core_args(), model.core_args(), list(model.seasonality),
            paths.calendar_month, paths.discount, paths.mortgage_rate,
            np.ascontiguousarray(target, dtype=np.float64), solve, paths.antithetic, threads,
        )  # fmt: skip
    except ValueError as exc:
        raise ValueError(_named(str(exc), pools.ids)) from None
    return out


def value_pools(
    pools: MbsPools,
    paths: MbsPaths,
    *,
    prices: npt.ArrayLike | None = None,
    oas: npt.ArrayLike | None = None,
    model: PrepaymentModel | None = None,
    key_tenors: tuple[float, ...] | None = DEFAULT_KEY_TENORS,
    bump_bp: float = 25.0,
    threads: int | None = None,
) -> MbsValuation:
    """Value pools on paths: the OAS from `prices` (or the value at `oas`) and its risks.

    Parameters
    ----------
    pools : MbsPools
        The pools.
    paths : MbsPaths
        Simulated paths (:meth:`MbsPaths.simulate`, made with the same `model`), or
        :meth:`MbsPaths.zero_volatility` paths (no durations then: pass ``key_tenors=None``
        and ``bump_bp=0``).
    prices : array, optional
        Dirty prices per 100 of today's face, one per pool: the OAS is solved from them.
    oas : array, optional
        OAS per pool (decimal) to value at. Give `prices` or `oas`.
    model : PrepaymentModel, optional
        The rate-dependent model (default :class:`PrepaymentModel`).
    key_tenors : tuple of float, optional
        Tenors (years) for key-rate durations; None for none.
    bump_bp : float
        Size of the parallel and key-rate bumps (basis points); 0 skips every bumped revaluation.
    threads : int, optional
        Threads for the kernel (default all cores).

    Returns
    -------
    MbsValuation
    """
    model = PrepaymentModel() if model is None else model
    n_threads = threads if threads is not None else (os.cpu_count() or 1)
    if (prices is None) == (oas is None):
        msg = "value_pools: give exactly one of `prices` and `oas`"
        raise ValueError(msg)
    given = np.atleast_1d(np.asarray(prices if prices is not None else oas, dtype=np.float64))
    if given.shape != (len(pools),):
        name = "prices" if prices is not None else "oas"
        msg = f"value_pools: `{name}` has shape {given.shape}; expected ({len(pools)},)"
        raise ValueError(msg)
    if not (np.isfinite(bump_bp) and 0 <= bump_bp < 1000):
        msg = f"value_pools: `bump_bp` must be in [0, 1000) basis points, got {bump_bp}"
        raise ValueError(msg)
    value, spread, se, spread_dv, principal = _run(
        pools, model, paths, given, prices is not None, n_threads
    )
    tenors = tuple(float(t) for t in key_tenors) if key_tenors and bump_bp > 0 else ()
    duration, convexity, krd = _effective_risk(
        pools, model, paths, value, spread, bump_bp=bump_bp, tenors=tenors, threads=n_threads
    )
    return MbsValuation(
        ids=pools.ids,
        value=value,
        oas=spread,
        std_error=se,
        oas_std_error=se / spread_dv,
        effective_duration=duration,
        effective_convexity=convexity,
        spread_duration=spread_dv / value,
        key_tenors=tenors,
        krd=krd,
        expected_paydown=principal[:, 0],
        n_paths=paths.n_paths,
    )


def _effective_risk(
    pools: MbsPools,
    model: PrepaymentModel,
    paths: MbsPaths,
    value: FloatArray,
    spread: FloatArray,
    *,
    bump_bp: float,
    tenors: tuple[float, ...],
    threads: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Effective duration, convexity and key-rate durations at the OAS (NaN at no bump).

    Each bumped curve revalues the pools on the same paths' shocks (:meth:`MbsPaths.on_curve`)
    at their `spread`.
    """
    n = len(pools)
    duration = np.full(n, np.nan)
    convexity = np.full(n, np.nan)
    krd = np.full((n, len(tenors)), np.nan)
    if bump_bp <= 0:
        return duration, convexity, krd
    if paths.g2 is None:
        msg = "value_pools: durations need simulated paths; pass bump_bp=0 for these"
        raise ValueError(msg)
    dy = bump_bp * 1e-4
    curve = paths.g2.curve

    def at(bumped: Curve) -> FloatArray:
        return _run(pools, model, paths.on_curve(bumped, model), spread, False, threads)[0]

    down, up = at(curve.shifted(-bump_bp)), at(curve.shifted(bump_bp))
    duration = (down - up) / (2.0 * value * dy)
    convexity = (down + up - 2.0 * value) / (value * dy * dy)
    for j, tenor in enumerate(tenors):
        lo = at(curve.key_rate_bumped(tenor, -bump_bp, tenors))
        hi = at(curve.key_rate_bumped(tenor, bump_bp, tenors))
        krd[:, j] = (lo - hi) / (2.0 * value * dy)
    return duration, convexity, krd


def expected_paydown(
    pools: MbsPools,
    curve: Curve,
    calendar_month: int,
    model: PrepaymentModel | None = None,
) -> FloatArray:
    """Share of each pool's balance the model expects back as principal over the next month.

    Scheduled amortization plus prepayment in projection month 1, as
    :attr:`MbsValuation.expected_paydown` reads it off the paths: the month's mortgage rate is
    known today (every G2++ path starts at the curve), so one path on `curve` gives it exactly.

    Parameters
    ----------
    pools : MbsPools
        The pools as they stand at the month's start (age, months left, factor).
    curve : Curve
        The zero curve at the month's start.
    calendar_month : int
        Calendar month (1..12) of the month ahead (seasonality).
    model : PrepaymentModel, optional
        The rate-dependent model (default :class:`PrepaymentModel`).

    Returns
    -------
    ndarray
        Decimals of the balance, one per pool.
    """
    model = PrepaymentModel() if model is None else model
    if len(pools) == 0:
        return np.zeros(0)
    start = np.zeros((1, 1))
    rate = float(_mortgage_rates(G2pp(curve), model, start, start)[0, 0])
    months = int(pools.wam.max())
    paths = MbsPaths.zero_volatility(curve, rate, months=months, calendar_month=calendar_month)
    # One thread: a single path is microseconds of work per pool, less than starting a thread
    # (each pool is projected on its own, so the result does not depend on the count).
    valued = value_pools(
        pools, paths, oas=np.zeros(len(pools)), model=model, key_tenors=None, bump_bp=0.0,
        threads=1,
    )  # fmt: skip
    return valued.expected_paydown


def valuation_paths(pools: MbsPools, curve: Curve) -> MbsPaths:
    """Return the paths a run values `pools` on (:func:`value_on_curve`).

    :data:`VALUATION_PATHS` antithetic paths (seed 0) of G2++ with its default parameters on
    `curve`, as many months as the longest pool has left, the default
    :class:`PrepaymentModel`'s mortgage rates. The last two sets are kept (they depend only
    on the curve and the months): the valuation and the stresses share them.
    """
    months = max(int(pools.wam.max()), 1) if len(pools) else 1
    parts = [np.ascontiguousarray(a).tobytes() for a in curve.core_args()]
    key = hashlib.sha256(b"\0".join([*parts, repr((months, curve.valuation_date)).encode()]))
    with _LOCK:
        found = _PATHS.get(key.hexdigest())
    if found is None:
        model = PrepaymentModel()
        g2 = G2pp(curve)
        found = MbsPaths.simulate(g2, model, n_paths=VALUATION_PATHS, months=months, seed=0)
        with _LOCK:
            while len(_PATHS) >= _KEEP_PATHS:
                _PATHS.pop(next(iter(_PATHS)))
            _PATHS[key.hexdigest()] = found
    return found


def value_on_curve(
    pools: MbsPools,
    curve: Curve,
    *,
    prices: npt.ArrayLike | None = None,
    oas: npt.ArrayLike | None = None,
    key_tenors: tuple[float, ...] | None = DEFAULT_KEY_TENORS,
) -> MbsValuation:
    """Value pools the way a run does.

    :data:`VALUATION_PATHS` antithetic paths (seed 0) of G2++ with its default parameters on
    `curve`, the default :class:`PrepaymentModel`, 25 bp bumps. See :func:`value_pools` for
    the arguments and the result. The result depends only on the inputs, so the last few are
    kept (read-only) and a copy of a portfolio with the same pools, curve and prices does not
    value them again.
    """
    given = prices if prices is not None else oas
    parts = [
        *(np.ascontiguousarray(a).tobytes() for a in pools.core_args()),
        *(np.ascontiguousarray(a).tobytes() for a in curve.core_args()),
        np.ascontiguousarray(np.asarray(given, dtype=np.float64)).tobytes(),
        repr((prices is None, key_tenors, tuple(pools.ids), curve.valuation_date)).encode(),
    ]
    key = hashlib.sha256(b"\0".join(parts)).hexdigest()
    with _LOCK:
        found = _VALUED.get(key)
    if found is None:
        found = value_pools(
            pools,
            valuation_paths(pools, curve),
            prices=prices,
            oas=oas,
            model=PrepaymentModel(),
            key_tenors=key_tenors,
        )
        for field_ in dataclasses.fields(found):
            value = getattr(found, field_.name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        with _LOCK:
            while len(_VALUED) >= _KEEP:
                _VALUED.pop(next(iter(_VALUED)))
            _VALUED[key] = found
    return found


#: Valuations :func:`value_on_curve` keeps, oldest dropped first.
_KEEP: Final = 8
_VALUED: dict[str, MbsValuation] = {}
#: Path sets :func:`valuation_paths` keeps (about 12 MB each for 1,000 paths x 360 months).
_KEEP_PATHS: Final = 2
_PATHS: dict[str, MbsPaths] = {}
_LOCK: Final = threading.Lock()


@dataclass(frozen=True)
class PoolPathValues:
    """Pools on scenario paths (:func:`path_values`), each paths x horizons x pools.

    Attributes
    ----------
    banked : ndarray
        Sum of each month's cash (per 100 of today's face) times its bank weight, to the
        horizon.
    balance : ndarray
        Balance left at the horizon per unit of today's face (0 once paid off).
    realized, realized_dv : ndarray or None
        With ``realized=True``: the path's own flows after the horizon, discounted to it on
        the path and at the spread, per 100 of today's face, and minus their derivative in
        the spread (money x years).
    """

    banked: FloatArray
    balance: FloatArray
    realized: FloatArray | None
    realized_dv: FloatArray | None


def path_values(
    pools: MbsPools,
    g2: G2pp,
    paths: G2Paths,
    horizons: npt.ArrayLike,
    *,
    model: PrepaymentModel | None = None,
    bank: npt.ArrayLike | None = None,
    spread: npt.ArrayLike | None = None,
    threads: int | None = None,
) -> PoolPathValues:
    """Pools on scenario paths: each path's own prepayment, banked to each horizon.

    Along each path a pool pays, month by month (at ``k / 12`` years), the interest and
    principal of its prepayment rule, its mortgage rate at each month's start the path's
    ``mortgage_tenor``-year zero yield plus the model's spread, seasoning and burnout carried
    along the path (:func:`fialloc._core.mbs_path_values`).

    Parameters
    ----------
    pools : MbsPools
        The pools.
    g2 : G2pp
        The model of the paths (its curve is today's curve of the pools' currency).
    paths : G2Paths
        Paths of `g2` on the monthly grid ``k / 12``, ``k = 1..K``.
    horizons : array
        Years, on the grid.
    model : PrepaymentModel, optional
        The rate-dependent model (default :class:`PrepaymentModel`).
    bank : array, optional
        Paths x grid: the weight of a flow paid at each grid time (the path's deflator
        ``D(0, t)`` by default).
    spread : array, optional
        One per pool (decimal): also sum each path's flows after each horizon, discounted on
        the path and at this spread (the grid must cover every pool's months left).
    threads : int, optional
        Threads (default all cores); the values do not depend on them or on how the paths
        are split into chunks.
    """
    model = PrepaymentModel() if model is None else model
    n_threads = threads if threads is not None else (os.cpu_count() or 1)
    months = len(paths.times)
    if not np.allclose(paths.times, np.arange(1, months + 1) / 12.0, rtol=0, atol=1e-12):
        msg = "path_values: the paths must be on the monthly grid k / 12, k = 1..K"
        raise ValueError(msg)
    cols = paths.columns(horizons)
    weights = paths.discount if bank is None else np.asarray(bank, dtype=np.float64)
    realized = spread is not None
    rates = np.zeros(len(pools)) if spread is None else spread
    starts = np.arange(months) / 12.0
    log_df = np.log(np.asarray(g2.curve.discount(starts), dtype=np.float64))
    log_df_tenor = np.log(
        np.asarray(g2.curve.discount(starts + model.mortgage_tenor), dtype=np.float64)
    )
    try:
        banked, balance, later, later_dv = _core.mbs_path_values(
            *pools.core_args(), model.core_args(), list(model.seasonality),
            _calendar_month(g2.curve), *g2.params, log_df, log_df_tenor,
            model.mortgage_tenor, model.mortgage_spread,
            np.ascontiguousarray(paths.x), np.ascontiguousarray(paths.y),
            np.ascontiguousarray(weights), (cols + 1).astype(np.int64),
            np.ascontiguousarray(rates, dtype=np.float64), realized, n_threads,
        )  # fmt: skip
    except ValueError as exc:
        raise ValueError(_named(str(exc), pools.ids)) from None
    shape = (paths.n_paths, len(cols), len(pools))
    return PoolPathValues(
        banked.reshape(shape),
        balance.reshape(shape),
        later.reshape(shape) if realized else None,
        later_dv.reshape(shape) if realized else None,
    )


def horizon_incentive(
    pools: MbsPools, g2: G2pp, paths: G2Paths, horizons: npt.ArrayLike, model: PrepaymentModel
) -> FloatArray:
    """Refinancing incentive at each horizon on each path: WAC less the mortgage rate (decimal).

    Paths x horizons x pools; the mortgage rate is the model's spread plus the path's
    ``mortgage_tenor``-year zero yield at the horizon.
    """
    cols = paths.columns(horizons)
    h = paths.times[cols]
    out = np.empty((paths.n_paths, len(cols), len(pools)))
    for j, (t, c) in enumerate(zip(h, cols, strict=True)):
        bond = g2.zero_bond(float(t), float(t) + model.mortgage_tenor, paths.x[:, c], paths.y[:, c])
        rate = model.mortgage_spread - np.log(bond[:, 0]) / model.mortgage_tenor
        out[:, j, :] = pools.wac[None, :] - rate[:, None]
    return out


#: Paths the pools' values at the horizons are regressed on (:func:`horizon_values`),
#: antithetic: 0.21 per 100 of the balance left from a nested Monte Carlo (root mean square,
#: ``tests/core/test_mbs_paths.py``), 0.29 on 1,000 and 0.14 on 4,000 plain paths.
HORIZON_VALUE_PATHS: Final = 2000
#: First path of the regression's paths: far from any run's paths of the same seed, so the
#: regression never sees the paths it is applied to.
HORIZON_VALUE_FIRST_PATH: Final = 2**40
_N_BASIS: Final = 12
#: Paths per block of :meth:`HorizonValues.values`.
_VALUE_BLOCK: Final = 16


def _basis(
    incentive: FloatArray, balance: FloatArray, fast: FloatArray, model: PrepaymentModel
) -> FloatArray:
    """Regressors of a pool's value at a horizon (see :class:`HorizonValues`)."""
    u = incentive * 100.0
    s = 1.0 / (1.0 + np.exp(-(incentive - model.incentive_mid) / model.incentive_width))
    f = np.broadcast_to(fast * 100.0, u.shape)
    b = balance
    columns = [np.ones_like(u), u, u * u, u * u * u, b, u * b, s, s * b, s * u, f, f * s, f * u]
    return np.stack(columns, axis=-1)


@dataclass(frozen=True)
class HorizonValues:
    """A pool's Monte Carlo value at each horizon as a function of the path's state there.

    Per 100 of the balance left, ``value = basis @ value_coefficients`` at the OAS and
    ``-dvalue/dspread = basis @ dv_coefficients`` (years x money), with the basis ``1, u,
    u^2, u^3, B, u B, S, S B, S u, y, y S, y u``: ``u`` the refinancing incentive in percent
    (:func:`horizon_incentive`), ``B`` the balance per unit of today's face (burnout), ``S``
    the prepayment model's logistic S-curve at the incentive (0 to 1) and ``y`` the fast G2++
    factor in percent (the curve's short end against its 10-year point).

    Attributes
    ----------
    horizons : ndarray
        Years.
    value_coefficients, dv_coefficients : ndarray
        Horizons x pools x 12 (zeros where the pool has paid off by the horizon).
    residual_std : ndarray
        Horizons x pools: standard deviation of the value regression's residuals (per 100 of
        the balance left); the fitted value's noise is about this over ``sqrt(n_paths)``.
    n_paths : int
        Paths the regression was fitted on.
    model : PrepaymentModel
        The prepayment model (its S-curve is a regressor).
    """

    horizons: FloatArray
    value_coefficients: FloatArray
    dv_coefficients: FloatArray
    residual_std: FloatArray
    n_paths: int
    model: PrepaymentModel

    def values(
        self,
        incentive: FloatArray,
        balance: FloatArray,
        fast: FloatArray,
        spread_shift: FloatArray | None = None,
    ) -> FloatArray:
        """Each pool left at each horizon, per 100 of today's face (paths x horizons x pools).

        `incentive` and `balance` are paths x horizons x pools, `fast` (the ``y`` factor at
        each horizon) paths x horizons; `spread_shift` (same shape as `incentive`, decimal)
        moves the OAS, to first order.
        """
        out = np.empty(np.shape(incentive), dtype=np.float64)
        # A few paths at a time: the basis (12 values per path, horizon and pool) then stays
        # in cache instead of going through memory (2x faster for 500 paths of the demo's 45
        # pools); every value is computed by the same operations, so the result is the same.
        for start in range(0, len(out), _VALUE_BLOCK):
            rows = slice(start, start + _VALUE_BLOCK)
            basis = _basis(incentive[rows], balance[rows], fast[rows, :, None], self.model)
            value = (basis * self.value_coefficients[None]).sum(axis=-1)
            if spread_shift is not None:
                shift = spread_shift[rows]
                value = value - shift * (basis * self.dv_coefficients[None]).sum(axis=-1)
            out[rows] = balance[rows] * value
        return out


def horizon_values(
    pools: MbsPools,
    g2: G2pp,
    horizons: npt.ArrayLike,
    oas: npt.ArrayLike,
    *,
    model: PrepaymentModel | None = None,
    n_paths: int = HORIZON_VALUE_PATHS,
    seed: int = 0,
    threads: int | None = None,
) -> HorizonValues:
    """Regress each pool's value at each horizon on the state (Longstaff and Schwartz).

    On `n_paths` antithetic paths of `g2` (paths :data:`HORIZON_VALUE_FIRST_PATH` on of
    `seed`'s stream, monthly to the longest pool's end; an even number), each pool's own flows
    after each horizon, discounted on the path and at its `oas`, sample its value from the
    horizon's state (:func:`path_values`); per unit of the balance left they are regressed by least
    squares on the state (:class:`HorizonValues`), and so is their spread sensitivity. The
    paths are fixed by the seed, so every chunk of a run applies the same regression.
    """
    model = PrepaymentModel() if model is None else model
    if n_paths < 100 or n_paths % 2:
        msg = f"horizon_values: `n_paths` must be an even number >= 100, got {n_paths}"
        raise ValueError(msg)
    h = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
    spread = np.ascontiguousarray(oas, dtype=np.float64)
    hm = np.rint(h * 12).astype(np.int64)
    shape = (len(h), len(pools), _N_BASIS)
    value_coefficients, dv_coefficients = np.zeros(shape), np.zeros(shape)
    residual = np.zeros((len(h), len(pools)))
    alive = np.flatnonzero(pools.wam > hm.min()) if len(h) and len(pools) else np.zeros(0, int)
    if len(alive) == 0:
        return HorizonValues(h, value_coefficients, dv_coefficients, residual, n_paths, model)
    sub = _take(pools, alive)
    months = max(int(sub.wam.max()), int(hm.max()))
    grid = np.arange(1, months + 1) / 12.0
    paths = g2.simulate(
        n_paths,
        grid,
        seed=seed,
        threads=threads,
        antithetic=True,
        first_path=HORIZON_VALUE_FIRST_PATH,
    )
    found = path_values(sub, g2, paths, h, model=model, spread=spread[alive], threads=threads)
    assert found.realized is not None
    assert found.realized_dv is not None
    incentive = horizon_incentive(sub, g2, paths, h, model)
    fast = paths.y[:, paths.columns(h)]
    for j in range(len(h)):
        live = np.flatnonzero(sub.wam > hm[j])
        if not len(live):
            continue
        b = found.balance[:, j, live].T  # pools x paths
        basis = _basis(incentive[:, j, live].T, b, fast[None, :, j], model)  # pools x paths x k
        # Each pool's least squares through its normal equations, columns scaled to unit
        # size first (the S-curve and the powers of the incentive differ by orders).
        scale = np.sqrt((basis * basis).mean(axis=1)) + 1e-300  # pools x k
        scaled = basis / scale[:, None, :]
        gram = scaled.transpose(0, 2, 1) @ scaled
        targets = np.stack(
            [found.realized[:, j, live].T / b, found.realized_dv[:, j, live].T / b], axis=-1
        )  # pools x paths x 2
        fit = np.linalg.solve(gram, scaled.transpose(0, 2, 1) @ targets) / scale[:, :, None]
        value_coefficients[j, alive[live]] = fit[:, :, 0]
        dv_coefficients[j, alive[live]] = fit[:, :, 1]
        fitted = (basis @ fit[:, :, :1])[:, :, 0]
        residual[j, alive[live]] = np.std(targets[:, :, 0] - fitted, axis=1)
    return HorizonValues(h, value_coefficients, dv_coefficients, residual, int(n_paths), model)


def _take(pools: MbsPools, rows: IndexArray) -> MbsPools:
    """Return the pools at `rows`."""
    return replace(
        pools,
        ids=pools.ids[rows],
        wac=pools.wac[rows],
        net_coupon=pools.net_coupon[rows],
        wam=pools.wam[rows],
        age=pools.age[rows],
        factor=pools.factor[rows],
        kind=pools.kind[rows],
        speed=pools.speed[rows],
    )
