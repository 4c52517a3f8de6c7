"""Each currency's curves against QuantLib built with that currency's market conventions.

For USD, EUR, GBP, JPY and CAD, government and OIS curves are bootstrapped by fialloc from
random quotes that name their currency (so :data:`fialloc.curve_set.CONVENTIONS` fills the
frequency and day count), and checked two ways:

- QuantLib's own bootstrap of the same instruments (``DepositRateHelper`` on the money-market
  day count, ``OISRateHelper`` on an overnight index with the currency's day count and fixed
  leg frequency, ``FixedRateBondHelper`` on the government coupon schedule) gives the same
  discount factors at the pillars and between them;
- QuantLib's instruments (``OvernightIndexedSwap`` with telescopic value dates,
  ``FixedRateBond``, a deposit on the currency's day counter) priced off fialloc's curve
  reprice their quotes: fair OIS rates and deposit rates equal the quotes, bonds price at par.

FX forwards (covered parity off the OIS curves with the cross-currency basis) are checked
through QuantLib's ``FxSwapRateHelper``: its bootstrap of fialloc's forward points recovers the
foreign curve less the basis.

The conventions of the QuantLib side are the test's own (``MARKET``: QuantLib's overnight
indices for the OIS day counts, the sources of fialloc's table for the rest), so a wrong entry
in fialloc's table fails here. No holiday calendars, spot lags or payment lags on either side
(fialloc documents the market's but starts every instrument on the valuation date); schedules
backward, unadjusted, without end-of-month rule.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc.curve_set import CURRENCIES, build_curve_set

qlh = pytest.importorskip("quantlib_helpers")
ql = qlh.ql
check = qlh.check

pytestmark = pytest.mark.reference

DF_TOL = 1e-12  # discount factors of the two bootstraps, absolute
REPRICE_TOL = 1e-12  # quote (decimal rate) or price per unit notional
# Per currency: QuantLib's overnight index (its day count), money-market day count, OIS fixed
# leg and government coupon frequencies (coupons ACT/ACT ICMA).
MARKET = {
    "USD": (ql.Sofr, ql.Actual360(), ql.Annual, ql.Semiannual),
    "EUR": (ql.Estr, ql.Actual360(), ql.Annual, ql.Annual),
    "GBP": (ql.Sonia, ql.Actual365Fixed(), ql.Annual, ql.Semiannual),
    "JPY": (ql.Tonar, ql.Actual365Fixed(), ql.Annual, ql.Semiannual),
    "CAD": (ql.Corra, ql.Actual365Fixed(), ql.Semiannual, ql.Semiannual),
}
FREQ = {ql.Annual: 1, ql.Semiannual: 2}
BOND_DAY_COUNT = ql.ActualActual(ql.ActualActual.ISMA)
TENORS = ["1M", "3M", "6M", "9M", "1Y", "2Y", "3Y", "5Y", "7Y", "10Y", "15Y", "20Y", "30Y"]


def random_quotes(rng, currency: str, curve: str) -> list[dict]:
    """Money-market quotes up to 9 months, then OIS swaps or government par bonds."""
    level = rng.uniform(-0.005, 0.07)  # JPY and EUR have had negative rates
    rates = level + np.cumsum(rng.normal(0.0, 0.003, len(TENORS)))
    quotes = []
    for tenor, rate in zip(TENORS, rates, strict=True):
        months = int(tenor[:-1]) * (12 if tenor[-1] == "Y" else 1)
        kind = "deposit" if months < 12 else ("swap" if curve == "ois" else "par_bond")
        quotes.append(
            {
                "currency": currency,
                "curve": curve,
                "kind": kind,
                "tenor": tenor,
                "rate": float(np.round(rate, 6)),
            }
        )
    return quotes


def curve_of(quotes: list[dict], valuation: dt.date, currency: str, curve: str):
    """fialloc's `currency` `curve` from `quotes` (with a USD government curve as the base's)."""
    base = [{"currency": "USD", "curve": "government", "kind": "deposit", "tenor": "1Y"}]
    table = pd.DataFrame([*quotes, {**base[0], "rate": 0.03}])
    if (currency, curve) == ("USD", "government"):
        table = pd.DataFrame(quotes)
    spots = dict.fromkeys(CURRENCIES, 1.0)
    return build_curve_set(table, valuation, "USD", spots).curve(currency, curve)


def overnight_index(currency: str, handle=None):
    """The currency's QuantLib index without its holiday calendar."""
    market = MARKET[currency][0]()
    args = [market.familyName(), 0, market.currency(), ql.NullCalendar(), market.dayCounter()]
    return ql.OvernightIndex(*args, handle) if handle is not None else ql.OvernightIndex(*args)


def reference_helpers(currency: str, quotes: list[dict], valuation: dt.date) -> list:
    _, money_market, ois_freq, bond_freq = MARKET[currency]
    vd = qlh.qdate(valuation)
    index = overnight_index(currency)
    helpers = []
    for q in quotes:
        rate = ql.QuoteHandle(ql.SimpleQuote(q["rate"]))
        if q["kind"] == "deposit":
            helpers.append(
                ql.DepositRateHelper(
                    rate,
                    qlh.period(q["tenor"]),
                    0,
                    ql.NullCalendar(),
                    ql.Unadjusted,
                    False,
                    money_market,
                )
            )
        elif q["kind"] == "swap":
            helpers.append(
                ql.OISRateHelper(
                    0,
                    qlh.period(q["tenor"]),
                    rate,
                    index,
                    telescopicValueDates=True,
                    paymentLag=0,
                    paymentConvention=ql.Unadjusted,
                    paymentFrequency=ois_freq,
                    paymentCalendar=ql.NullCalendar(),
                    endOfMonth=False,
                    fixedCalendar=ql.NullCalendar(),
                    overnightCalendar=ql.NullCalendar(),
                    convention=ql.Unadjusted,
                    fixedDayCount=index.dayCounter(),
                )
            )
        else:
            sched = qlh.schedule(vd, vd + qlh.period(q["tenor"]), FREQ[bond_freq])
            helpers.append(
                ql.FixedRateBondHelper(
                    ql.QuoteHandle(ql.SimpleQuote(100.0)),
                    0,
                    100.0,
                    sched,
                    [q["rate"]],
                    BOND_DAY_COUNT,
                    ql.Unadjusted,
                    100.0,
                )
            )
    return helpers


def implied_quote(currency: str, q: dict, valuation: dt.date, handle) -> float:
    """The quote QuantLib's instrument implies off the curve in `handle` (par bonds: price)."""
    _, money_market, ois_freq, bond_freq = MARKET[currency]
    vd = qlh.qdate(valuation)
    end = vd + qlh.period(q["tenor"])
    index = overnight_index(currency, handle)
    if q["kind"] == "deposit":
        tau = money_market.yearFraction(vd, end)
        return (1.0 / handle.discount(end) - 1.0) / tau
    if q["kind"] == "swap":
        swap = ql.OvernightIndexedSwap(
            ql.Swap.Payer,
            1.0,
            qlh.schedule(vd, end, FREQ[ois_freq]),
            q["rate"],
            index.dayCounter(),
            index,
            0.0,
            0,
            ql.Unadjusted,
            ql.NullCalendar(),
            True,
        )
        swap.setPricingEngine(ql.DiscountingSwapEngine(handle))
        return swap.fairRate()
    bond = ql.FixedRateBond(
        0,
        1.0,
        qlh.schedule(vd, end, FREQ[bond_freq]),
        [q["rate"]],
        BOND_DAY_COUNT,
    )
    bond.setPricingEngine(ql.DiscountingBondEngine(handle))
    return bond.NPV()


def cases():
    rng = np.random.default_rng(2026_12_07)
    out = []
    for currency in CURRENCIES:
        for curve in ("government", "ois"):
            for k in range(3):
                valuation = qlh.month_end_or(
                    int(rng.integers(2020, 2034)),
                    int(rng.integers(1, 13)),
                    int(rng.choice([1, 15, 28, 30, 31])),
                )
                out.append(
                    pytest.param(
                        currency,
                        curve,
                        valuation,
                        int(rng.integers(2**31)),
                        id=f"{currency}-{curve}-{valuation}-{k}",
                    )
                )
    return out


@pytest.mark.parametrize(("currency", "curve", "valuation", "seed"), cases())
def test_curve_matches_quantlib_with_the_currencys_conventions(currency, curve, valuation, seed):
    rng = np.random.default_rng(seed)
    quotes = random_quotes(rng, currency, curve)
    ours = curve_of(quotes, valuation, currency, curve)

    qlh.set_evaluation_date(valuation)
    helpers = reference_helpers(currency, quotes, valuation)
    ref = ql.PiecewiseLogLinearDiscount(
        qlh.qdate(valuation), helpers, ql.Actual365Fixed(), ql.IterativeBootstrap(1e-15)
    )
    ref_pillars = np.array([ref.timeFromReference(d) for d in ref.dates()[1:]])
    check(f"{currency} {curve} pillar times", ours.pillar_times, ref_pillars, 0.0)
    inside = np.sort(rng.uniform(0.0, ours.pillar_times[-1], 100))
    t = np.concatenate([ours.pillar_times, inside])
    check(
        f"{currency} {curve} discount factors vs QuantLib's bootstrap",
        ours.discount(t),
        [ref.discount(float(x)) for x in t],
        DF_TOL,
        labels=[f"t={x:.6f}y, {valuation}" for x in t],
    )

    # QuantLib's instruments off fialloc's curve reprice their quotes.
    handle = qlh.discount_curve(ours, valuation)
    implied = [implied_quote(currency, q, valuation, handle) for q in quotes]
    expected = [1.0 if q["kind"] == "par_bond" else q["rate"] for q in quotes]
    check(
        f"{currency} {curve} QuantLib instruments repriced off fialloc's curve",
        implied,
        expected,
        REPRICE_TOL,
        labels=[f"{q['kind']} {q['tenor']}" for q in quotes],
    )


def test_conventions_differ_where_the_markets_do():
    # The same quotes give different curves where conventions differ, so the tests above
    # would see a convention applied to the wrong currency.
    rng = np.random.default_rng(7)
    valuation = dt.date(2026, 3, 31)
    frames = {}
    for currency in ("USD", "GBP", "CAD"):
        quotes = random_quotes(np.random.default_rng(7), currency, "ois")
        frames[currency] = curve_of(quotes, valuation, currency, "ois")
    t = np.sort(rng.uniform(0.05, 30.0, 50))
    usd, gbp, cad = (frames[c].discount(t) for c in ("USD", "GBP", "CAD"))
    assert np.max(np.abs(usd - gbp)) > 1e-4  # ACT/360 against ACT/365F
    assert np.max(np.abs(gbp - cad)) > 1e-5  # annual against semiannual fixed legs


@pytest.mark.parametrize("currency", CURRENCIES[1:])
@pytest.mark.parametrize("seed", range(3))
def test_fx_forwards_are_quantlibs_covered_parity(currency, seed):
    # fialloc's outright forwards (USD per unit of the foreign currency) as forward points in
    # QuantLib's FX swap helpers, collateral in USD: QuantLib's bootstrap of them is the curve
    # covered parity implies for the foreign currency. It must be fialloc's foreign OIS curve
    # less the cross-currency basis (continuous, ACT/365F): to 1e-12 relative with fialloc's
    # USD curve as the collateral curve, and to what the two bootstraps' 1e-12 discount
    # factors allow with QuantLib's own bootstrap of the same USD quotes.
    rng = np.random.default_rng(seed)
    valuation = qlh.month_end_or(int(rng.integers(2020, 2034)), int(rng.integers(1, 13)), 30)
    usd_quotes = random_quotes(rng, "USD", "ois")
    foreign_quotes = random_quotes(rng, currency, "ois")
    spot, basis = float(rng.uniform(0.005, 1.5)), float(rng.uniform(-0.004, 0.002))
    table = pd.DataFrame([*usd_quotes, *foreign_quotes])
    table = pd.concat([table, table[table["currency"] == "USD"].assign(curve="government")])
    cs = build_curve_set(table, valuation, "USD", {currency: spot}, {currency: basis})
    qlh.set_evaluation_date(valuation)
    vd = qlh.qdate(valuation)
    tenors = ("1M", "3M", "1Y", "2Y", "5Y", "10Y", "30Y")
    ends = [vd + qlh.period(tenor) for tenor in tenors]
    t = np.array([ql.Actual365Fixed().yearFraction(vd, d) for d in ends])
    points = cs.fx_forward(currency, t) - spot
    foreign = np.asarray(cs.curve(currency, "ois").discount(t)) * np.exp(-basis * t)
    usd = np.asarray(cs.curve("USD", "ois").discount(t))
    own_usd = ql.PiecewiseLogLinearDiscount(
        vd,
        reference_helpers("USD", usd_quotes, valuation),
        ql.Actual365Fixed(),
        ql.IterativeBootstrap(1e-15),
    )
    for collateral, tol in (
        (qlh.discount_curve(cs.curve("USD", "ois"), valuation), np.full(len(t), 1e-12)),
        (ql.YieldTermStructureHandle(own_usd), DF_TOL * (1 / usd + 1 / foreign) + 1e-14),
    ):
        helpers = [
            ql.FxSwapRateHelper(
                ql.QuoteHandle(ql.SimpleQuote(float(fp))),
                ql.QuoteHandle(ql.SimpleQuote(spot)),
                qlh.period(tenor),
                0,
                ql.NullCalendar(),
                ql.Unadjusted,
                False,
                False,
                collateral,
            )
            for tenor, fp in zip(tenors, points, strict=True)
        ]
        implied = ql.PiecewiseLogLinearDiscount(
            vd, helpers, ql.Actual365Fixed(), ql.IterativeBootstrap(1e-15)
        )
        got = np.array([implied.discount(d) for d in ends])
        assert np.all(np.abs(got / foreign - 1.0) <= tol), (got / foreign - 1.0, tol)
