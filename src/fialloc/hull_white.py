"""The Hull-White one-factor short-rate model on today's curve, for bonds with options.

``r(t) = x(t) + phi(t)`` with ``dx = -a x dt + sigma dW`` and ``phi`` fitted so the model
reprices the curve. European swaptions are priced in closed form (Jamshidian's decomposition
into zero-coupon bond options), which is what :meth:`HullWhite.calibrate` fits ``a`` and
``sigma`` to: the same ATM swaption normal volatilities :meth:`fialloc.scenarios.G2pp.calibrate`
takes, or the ones a fitted G2++ model implies (:meth:`HullWhite.from_g2`). Callable and
putable bonds are valued on the model's trinomial lattice in :mod:`fialloc.callables`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import least_squares
from scipy.special import ndtr

from fialloc.curves import Curve
from fialloc.errors import ConvergenceError
from fialloc.layout import FloatArray
from fialloc.scenarios import G2pp, SwaptionModel, _fixed_leg, swaption_quotes

__all__ = ["DEFAULT_SWAPTIONS", "HullWhite"]

#: ATM swaptions (expiry, tenor in years) a Hull-White model is fitted to when it stands in for
#: the run's G2++ model: the diagonal a ten-year callable's options live on.
DEFAULT_SWAPTIONS: Final = tuple((e, t) for e in (1.0, 2.0, 3.0, 5.0, 7.0) for t in (5.0, 10.0))
_MIN_REVERSION: Final = 1e-6
_MAX_REVERSION: Final = 100.0
_VOL_RANGE: Final = (1e-6, 1.0)
#: Newton-bisection steps and relative step size at which Jamshidian's critical state is found.
_MAX_ROOT_STEPS: Final = 200
_ROOT_TOL: Final = 1e-15


def _b(a: float, tau: FloatArray | float) -> FloatArray:
    return np.asarray(-np.expm1(-a * np.asarray(tau)) / a, dtype=np.float64)


@dataclass(frozen=True)
class _CouponBonds:
    """Fixed legs with their principal, as coupon bonds seen from each swaption's expiry.

    One swaption a row, padded to the longest leg with zero cash flows one year after expiry,
    so that every quote of a calibration is priced in one pass of array arithmetic.
    """

    expiry: FloatArray  # (m,) years
    tau: FloatArray  # (m, n) years from expiry to each payment
    cash: FloatArray  # (m, n) coupons and principal per unit notional
    log_t: FloatArray  # (m,) log discount factor to expiry
    log_pay: FloatArray  # (m, n) log discount factors to the payments

    @classmethod
    def of_legs(
        cls,
        model: SwaptionModel,
        legs: list[tuple[float, FloatArray, FloatArray, float]],
    ) -> _CouponBonds:
        """Stack (expiry, pay times, accruals, strike) legs off `model`'s curve."""
        width = max(pay.size for _, pay, _, _ in legs)
        m = len(legs)
        expiry = np.array([e for e, _, _, _ in legs], dtype=np.float64)
        log_t = np.array([float(model._log_df(e)[0]) for e in expiry])
        tau = np.ones((m, width))
        cash = np.zeros((m, width))
        log_pay = np.repeat(log_t[:, None], width, axis=1)
        for row, (e, pay, acc, strike) in enumerate(legs):
            n = pay.size
            tau[row, :n] = pay - e
            cash[row, :n] = strike * acc
            cash[row, n - 1] += 1.0
            log_pay[row, :n] = model._log_df(pay)
        return cls(expiry, tau, cash, log_t, log_pay)

    def swaptions(self, a: float, sigma: float, payer: bool) -> FloatArray:
        """Jamshidian's price per unit notional of each row's swaption under Hull-White."""
        bees = _b(a, self.tau)
        # ln P(T, t_i | x) = ln A_i - B_i x, the state x at expiry of variance var_x.
        var_x = sigma * sigma * -np.expm1(-2 * a * self.expiry) / (2 * a)
        sd = np.sqrt(var_x)[:, None]
        log_fwd = self.log_pay - self.log_t[:, None]
        log_a = log_fwd - 0.5 * bees * bees * var_x[:, None]
        x_star = self._critical_states(log_a, bees, sd[:, 0])
        strikes = np.exp(log_a - bees * x_star[:, None])
        sigma_p = sd * bees
        h = (log_fwd - np.log(strikes)) / sigma_p + sigma_p / 2
        p_t, p_pay = np.exp(self.log_t)[:, None], np.exp(self.log_pay)
        if payer:
            legs = strikes * p_t * ndtr(-h + sigma_p) - p_pay * ndtr(-h)
        else:
            legs = p_pay * ndtr(h) - strikes * p_t * ndtr(h - sigma_p)
        return np.asarray(np.einsum("ij,ij->i", self.cash, legs), dtype=np.float64)

    def _critical_states(self, log_a: FloatArray, bees: FloatArray, sd: FloatArray) -> FloatArray:
        # Each bond's value at expiry falls in the state x; find where it is worth 1: Newton's
        # method on all rows at once. A step that leaves the interval the signs seen so far
        # bracket the root in bisects it instead, or goes ten standard deviations past its end.
        x = np.zeros_like(sd)
        lo, hi = np.full_like(sd, -np.inf), np.full_like(sd, np.inf)
        for _ in range(_MAX_ROOT_STEPS):
            flows = self.cash * np.exp(log_a - bees * x[:, None])
            value = flows.sum(axis=1) - 1.0
            lo = np.where(value > 0, x, lo)
            hi = np.where(value < 0, x, hi)
            step = x + value / (flows * bees).sum(axis=1)
            inside = (step > lo) & (step < hi)
            if not inside.all():
                past_end = np.where(np.isfinite(lo), lo + 10 * sd, hi - 10 * sd)
                bisect = np.where(np.isfinite(lo) & np.isfinite(hi), 0.5 * (lo + hi), past_end)
                step = np.where(inside, step, bisect)
            done = np.abs(step - x) <= _ROOT_TOL * (1.0 + np.abs(x))
            x = step
            if done.all():
                return np.asarray(x, dtype=np.float64)
        msg = "HullWhite: the Jamshidian critical state did not converge"
        raise ConvergenceError(msg)


@dataclass(frozen=True)
class HullWhite(SwaptionModel):
    """Hull-White one-factor model fitted to `curve`.

    Parameters
    ----------
    curve : Curve
        Today's discount curve; the model reprices it exactly.
    a : float
        Mean reversion (per year), in [1e-6, 100].
    sigma : float
        Volatility of the short rate (decimal per sqrt(year)), in [1e-6, 1].
    """

    curve: Curve
    a: float
    sigma: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.a) and _MIN_REVERSION <= self.a <= _MAX_REVERSION):
            msg = f"HullWhite: `a` (mean reversion) is {self.a}; expected [1e-6, 100] per year"
            raise ValueError(msg)
        lo, hi = _VOL_RANGE
        if not (np.isfinite(self.sigma) and lo <= self.sigma <= hi):
            msg = f"HullWhite: `sigma` is {self.sigma}; expected [{lo}, {hi}] (decimal)"
            raise ValueError(msg)

    def __repr__(self) -> str:
        return f"HullWhite(a={self.a:.4g}, sigma={self.sigma:.4g})"

    def swaption_on_leg(
        self,
        expiry: float,
        pay_times: npt.ArrayLike,
        accruals: npt.ArrayLike,
        strike: float,
        payer: bool = True,
    ) -> float:
        """European swaption per unit notional on a fixed leg (Jamshidian's decomposition).

        Parameters
        ----------
        expiry : float
            Years to expiry.
        pay_times, accruals : array
            Fixed-leg payment times (years, after `expiry`) and accrual fractions (years).
        strike : float
            Fixed rate (decimal).
        payer : bool
            A payer swaption is a put on the coupon bond paying `strike` with principal 1,
            struck at 1; a receiver swaption the call.

        Returns
        -------
        float
            Price per unit notional.
        """
        pay = np.asarray(pay_times, dtype=np.float64)
        acc = np.asarray(accruals, dtype=np.float64)
        if pay.size == 0 or pay.shape != acc.shape or not np.all(pay > expiry) or expiry <= 0:
            msg = "HullWhite.swaption_on_leg: payment times must follow a positive expiry"
            raise ValueError(msg)
        bonds = _CouponBonds.of_legs(self, [(expiry, pay, acc, strike)])
        return float(bonds.swaptions(self.a, self.sigma, payer)[0])

    def swaption(
        self,
        expiry: float,
        tenor: float,
        strike: float | None = None,
        payer: bool = True,
        frequency: int = 1,
    ) -> float:
        """European swaption per unit notional, fixed leg `frequency` times a year.

        As :meth:`fialloc.scenarios.G2pp.swaption`: `expiry` and `tenor` in years, `strike`
        decimal (the forward swap rate when None).
        """
        pay, acc = _fixed_leg(expiry, tenor, frequency)
        k = self.forward_swap_rate(expiry, tenor, frequency) if strike is None else strike
        return self.swaption_on_leg(expiry, pay, acc, float(k), payer)

    @classmethod
    def calibrate(cls, curve: Curve, quotes: pd.DataFrame) -> tuple[HullWhite, pd.DataFrame]:
        """Fit ``a`` and ``sigma`` to ATM swaption normal volatilities.

        Parameters
        ----------
        curve : Curve
            Today's curve.
        quotes : DataFrame
            As :meth:`fialloc.scenarios.G2pp.calibrate`: columns ``expiry`` and ``tenor``
            (years), ``normal_vol`` (decimal, 0.0095 for 95 bp), optional ``frequency``.

        Returns
        -------
        (HullWhite, DataFrame)
            The fitted model and a report of market and model vols per quote with the error
            in basis points. One factor cannot fit every humped surface: read the errors.
        """
        q, freq, vols = swaption_quotes(quotes, "HullWhite.calibrate")

        # The legs, ATM strikes and annuities read the curve alone (whatever a and sigma the
        # model holding it has): build them once, then price every quote at once per trial.
        curve_only = cls(curve, _MIN_REVERSION, _VOL_RANGE[0])
        legs, scale = [], []
        for e, t, f in zip(q["expiry"], q["tenor"], freq, strict=True):
            pay, acc = _fixed_leg(e, t, f)
            legs.append((float(e), pay, acc, curve_only.forward_swap_rate(e, t, f)))
            scale.append(curve_only._price_per_normal_vol(e, t, f))
        bonds = _CouponBonds.of_legs(curve_only, legs)
        price_per_vol = np.array(scale)

        def model_vols(x: FloatArray) -> FloatArray:
            prices = bonds.swaptions(float(x[0]), float(x[1]), True)
            return np.asarray(prices / price_per_vol, dtype=np.float64)

        def residuals(x: FloatArray) -> FloatArray:
            return np.asarray((model_vols(x) - vols) / vols, dtype=np.float64)

        lo = np.array([1e-4, _VOL_RANGE[0]])
        hi = np.array([3.0, 0.1])
        best = None
        for x0 in (np.array([0.05, float(np.median(vols))]), np.array([0.5, 0.02])):
            fit = least_squares(residuals, x0, bounds=(lo, hi), x_scale="jac", max_nfev=400)
            if best is None or fit.cost < best.cost:
                best = fit
        if best is None or not best.success:
            msg = "HullWhite.calibrate: the fit did not converge"
            raise ConvergenceError(msg)
        model = cls(curve, float(best.x[0]), float(best.x[1]))
        report = pd.DataFrame(
            {
                "expiry": q["expiry"],
                "tenor": q["tenor"],
                "market_vol_bp": vols * 1e4,
                "model_vol_bp": model_vols(best.x) * 1e4,
            }
        )
        report["error_bp"] = report["model_vol_bp"] - report["market_vol_bp"]
        return model, report

    @classmethod
    def from_g2(
        cls,
        model: G2pp,
        swaptions: tuple[tuple[float, float], ...] = DEFAULT_SWAPTIONS,
    ) -> tuple[HullWhite, pd.DataFrame]:
        """Fit to the ATM normal vols the G2++ `model` implies on `swaptions` (expiry, tenor).

        The lattice then sees the same option market as the scenario paths.
        """
        quotes = pd.DataFrame(
            [{"expiry": e, "tenor": t, "normal_vol": model.normal_vol(e, t)} for e, t in swaptions]
        )
        return cls.calibrate(model.curve, quotes)
