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
from scipy.optimize import brentq, least_squares
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


def _b(a: float, tau: FloatArray | float) -> FloatArray:
    return np.asarray(-np.expm1(-a * np.asarray(tau)) / a, dtype=np.float64)


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
        a, s = self.a, self.sigma
        c = strike * acc
        c[-1] += 1.0
        log_t = float(self._log_df(expiry)[0])
        log_pay = self._log_df(pay)
        bees = _b(a, pay - expiry)
        # ln P(T, t_i | x) = ln A_i - B_i x, with the variance of the integrated rate
        # V(tau) = s^2 / a^2 (tau + 2 e^{-a tau} / a - e^{-2 a tau} / (2a) - 3 / (2a)).
        var_x = s * s * -np.expm1(-2 * a * expiry) / (2 * a)
        log_a = log_pay - log_t - 0.5 * bees * bees * var_x
        x_star = self._critical_state(c, log_a, bees, np.sqrt(var_x))
        strikes = np.exp(log_a - bees * x_star)
        sigma_p = np.sqrt(var_x) * bees
        h = (log_pay - log_t - np.log(strikes)) / sigma_p + sigma_p / 2
        p_t, p_pay = np.exp(log_t), np.exp(log_pay)
        if payer:
            legs = strikes * p_t * ndtr(-h + sigma_p) - p_pay * ndtr(-h)
        else:
            legs = p_pay * ndtr(h) - strikes * p_t * ndtr(h - sigma_p)
        return float(np.dot(c, legs))

    @staticmethod
    def _critical_state(c: FloatArray, log_a: FloatArray, bees: FloatArray, sd: float) -> float:
        # The coupon bond's value at expiry falls in the state x; find where it is worth 1.
        def excess(x: float) -> float:
            return float(np.dot(c, np.exp(log_a - bees * x)) - 1.0)

        lo, hi = -10 * sd, 10 * sd
        while excess(lo) < 0:
            lo *= 2
        while excess(hi) > 0:
            hi *= 2
        return float(brentq(excess, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=200))

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

        def model_vols(x: FloatArray) -> FloatArray:
            m = cls(curve, float(x[0]), float(x[1]))
            return np.array(
                [
                    m.normal_vol(e, t, f)
                    for e, t, f in zip(q["expiry"], q["tenor"], freq, strict=True)
                ]
            )

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
