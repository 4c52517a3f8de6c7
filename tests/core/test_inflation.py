"""Inflation indices, breakeven and real curves, linkers: hand-worked cases and properties."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc.curves import Curve
from fialloc.inflation import (
    BreakevenCurve,
    LinkerBook,
    cpi_fixings,
    published_reference,
    real_curve,
    real_curve_from_linkers,
    reference_cpi,
)
from fialloc.schedule import act365, add_months

VD = dt.date(2026, 9, 30)


def _history(last: dt.date = dt.date(2026, 7, 1), months: int = 60, growth: float = 0.002):
    dates = [add_months(last, -k) for k in range(months - 1, -1, -1)]
    values = 300.0 * (1.0 + growth) ** np.arange(months)
    return pd.DataFrame({"index": "USCPI", "month": dates, "value": values})


def _curve(rate: float = 0.025, seasonality=None) -> BreakevenCurve:
    fixings = cpi_fixings(_history(), "USCPI")
    return BreakevenCurve.from_swaps(
        [{"tenor": f"{y}Y", "rate": rate} for y in (1, 2, 5, 10, 30, 40)],
        fixings,
        "USCPI",
        VD,
        lag_months=3,
        seasonality=seasonality,
    )


def _linkers(**overrides: object) -> pd.DataFrame:
    rows = [
        {"security_id": "T5", "coupon": 0.0125, "maturity": dt.date(2031, 7, 15)},
        {"security_id": "T10", "coupon": 0.01875, "maturity": dt.date(2036, 1, 15)},
        {"security_id": "T30", "coupon": 0.0225, "maturity": dt.date(2056, 2, 15)},
    ]
    frame = pd.DataFrame(rows)
    frame["frequency"] = 2
    frame["day_count"] = "ACT/ACT ICMA"
    frame["face"] = 1e6
    frame["index"] = "USCPI"
    frame["base_cpi"] = 290.0
    frame["lag_months"] = 3
    frame["interpolation"] = "linear"
    frame["floor"] = True
    for key, value in overrides.items():
        frame[key] = value
    return frame


NOMINAL = Curve.from_zero_rates(
    [0.5, 2, 5, 10, 30, 50], [0.039, 0.036, 0.037, 0.040, 0.043, 0.042], VD
)


def test_reference_cpi_is_the_treasury_formula_by_hand() -> None:
    curve = _curve()
    fix = curve.fixings
    # 30 September with a 3-month lag: June's CPI plus 29/30 of the step to July's.
    june, july = fix.loc[dt.date(2026, 6, 1)], fix.loc[dt.date(2026, 7, 1)]
    expected = june + (july - june) * 29 / 30
    assert reference_cpi([VD], curve, 3, "linear")[0] == pytest.approx(expected, rel=1e-15)
    assert reference_cpi([VD], curve, 3, "flat")[0] == june
    # The first of a month needs no interpolation.
    assert reference_cpi([dt.date(2026, 9, 1)], curve, 3, "linear")[0] == june


def test_published_reference_months_by_hand() -> None:
    # Fixings published to July 2026. With a 3-month lag, October's days read July (and, past
    # the 1st with linear interpolation, August: unpublished); the 1st of October and any
    # September day read only published months; flat interpolation reads July for all of
    # October and August (unpublished) for November.
    curve = _curve()
    dates = [
        dt.date(2026, 9, 30),
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 15),
        dt.date(2026, 11, 1),
    ]
    assert published_reference(dates, curve, 3, "linear").tolist() == [True, True, False, False]
    assert published_reference(dates, curve, 3, "flat").tolist() == [True, True, True, False]
    assert published_reference(dates, curve, 2, "flat").tolist() == [True, False, False, False]
    # Where published, the reference index is the fixings' interpolation (no forecast).
    fix = curve.fixings
    want = (
        fix.loc[dt.date(2026, 6, 1)]
        + (fix.loc[dt.date(2026, 7, 1)] - fix.loc[dt.date(2026, 6, 1)]) * 29 / 30
    )
    assert reference_cpi(dates[:1], curve, 3)[0] == pytest.approx(want, rel=1e-15)
    # A book's published ratios: the flows read from published months only, NaN after.
    book = LinkerBook.from_frame(_linkers(maturity=dt.date(2026, 10, 1), frequency=0), VD)
    assert np.isfinite(book.published_ratios({"USCPI": curve})).all()
    later = LinkerBook.from_frame(_linkers(), VD)
    ratios = later.published_ratios({"USCPI": curve})
    assert np.isnan(ratios).all()
    published = later.real_flows({"USCPI": curve}).published_ratio
    assert published is not None
    assert np.isnan(published).all()


def test_swaps_reprice_exactly_and_the_forecast_compounds_from_the_base() -> None:
    rates = {1: 0.021, 2: 0.022, 5: 0.024, 10: 0.025, 30: 0.026}
    fixings = cpi_fixings(_history(), "USCPI")
    curve = BreakevenCurve.from_swaps(
        [{"tenor": f"{y}Y", "rate": r} for y, r in rates.items()], fixings, "USCPI", VD
    )
    assert curve.base_month == dt.date(2026, 6, 1)
    for years, k in rates.items():
        month = add_months(curve.base_month, 12 * years)
        ratio = curve.fixing([month])[0] / curve.base_cpi
        assert ratio == pytest.approx((1.0 + k) ** years, rel=1e-14)
    # Published months come from the history, not the forecast.
    assert curve.fixing([dt.date(2026, 7, 1)])[0] == fixings.loc[dt.date(2026, 7, 1)]


def test_seasonality_moves_months_not_the_annual_growth() -> None:
    season = np.array([0.998, 1.0, 1.002, 1.003, 1.001, 1.0, 0.999, 1.0, 1.0, 1.0, 0.998, 0.999])
    flat, seasonal = _curve(), _curve(seasonality=season)
    month = dt.date(2030, 3, 1)
    ratio = seasonal.fixing([month])[0] / flat.fixing([month])[0]
    assert ratio == pytest.approx(season[2] / season[5], rel=1e-14)
    same_month = dt.date(2031, 6, 1)  # the base month's calendar month: no seasonal factor
    assert seasonal.fixing([same_month])[0] == pytest.approx(flat.fixing([same_month])[0])


def test_floor_lifts_the_principal_only_when_the_forecast_deflates() -> None:
    curve = _curve(rate=-0.03)
    frame = _linkers(base_cpi=320.0)  # index ratio below 1 and falling
    floored = LinkerBook.from_frame(frame, VD)
    plain = LinkerBook.from_frame(_linkers(base_cpi=320.0, floor=False), VD)
    a, b = floored.analyze(NOMINAL, {"USCPI": curve}), plain.analyze(NOMINAL, {"USCPI": curve})
    assert np.all(a["floor_value"] > 0)
    assert np.allclose(b["floor_value"], 0.0, atol=1e-12)
    # The floor's value is 100 less the forecast principal, discounted, per 100 face.
    for i, maturity in enumerate(frame["maturity"]):
        ratio = reference_cpi([maturity], curve, 3, "linear")[0] / 320.0
        t = act365(VD, maturity)
        expected = 100.0 * (1.0 - ratio) * float(NOMINAL.discount(t))
        assert a["floor_value"].iloc[i] == pytest.approx(expected, rel=1e-12)
        assert a["dirty_price"].iloc[i] - b["dirty_price"].iloc[i] == pytest.approx(expected)
    # With positive inflation the floor is worth nothing.
    up = floored.analyze(NOMINAL, {"USCPI": _curve(rate=0.03)})
    assert np.allclose(up["floor_value"], 0.0, atol=1e-12)


def test_real_flows_reprice_the_linkers_on_the_forecast_path() -> None:
    curve = _curve()
    book = LinkerBook.from_frame(_linkers(), VD)
    flows = book.real_flows({"USCPI": curve})
    prices = book.analyze(NOMINAL, {"USCPI": curve})["dirty_price"].to_numpy()
    today = reference_cpi([VD], curve, 3, "linear")[0]
    for i in range(len(book)):
        times, amounts = flows.layout.stream(i)
        dates = [VD + dt.timedelta(days=round(t * 365)) for t in times]
        growth = reference_cpi(dates, curve, 3, "linear") / today
        money = amounts * flows.index_ratio[i] * growth
        money[-1] = max(
            money[-1], money[-1] - amounts[-1] * flows.index_ratio[i] * growth[-1] + 100
        )
        value = float(np.sum(money * NOMINAL.discount(times)))
        assert value == pytest.approx(prices[i], rel=1e-13)
    assert flows.principal_floor.tolist() == [100.0] * 3
    assert flows.lag_years.tolist() == [0.25] * 3


def test_real_curve_prices_linkers_and_linkers_bootstrap_it_back() -> None:
    curve = _curve()
    book = LinkerBook.from_frame(_linkers(floor=False), VD)
    table = book.analyze(NOMINAL, {"USCPI": curve})
    dates = sorted({VD + dt.timedelta(days=round(t * 365)) for t in book.real.layout.times})
    real = real_curve(NOMINAL, curve, dates=dates)
    # Real flows on the real curve give the real price (exact at the pillars).
    layout = book.real.layout
    for i in range(len(book)):
        times, amounts = layout.stream(i)
        real_pv = float(np.sum(amounts * real.discount(times)))
        assert real_pv == pytest.approx(table["real_dirty_price"].iloc[i], rel=1e-12)
    # Bootstrapping the real curve from the quoted real prices reprices them.
    boot = real_curve_from_linkers(book, table["real_clean_price"].to_numpy())
    for i in range(len(book)):
        times, amounts = layout.stream(i)
        pv = float(np.sum(amounts * boot.discount(times)))
        assert pv == pytest.approx(table["real_dirty_price"].iloc[i], rel=1e-12)


def test_breakeven_and_inflation_duration_behave() -> None:
    curve = _curve(rate=0.025)
    table = LinkerBook.from_frame(_linkers(floor=False), VD).analyze(NOMINAL, {"USCPI": curve})
    # Breakevens near the swap rate; inflation duration close to the real duration.
    assert np.all(np.abs(table["breakeven"] - 0.025) < 0.003)
    assert np.allclose(table["inflation_duration"], table["effective_duration"], rtol=0.05)
    assert np.all(np.diff(table["inflation_duration"].to_numpy()) > 0)
    krd = table[[c for c in table.columns if c.startswith("krd_")]].sum(axis=1)
    assert np.allclose(krd, table["effective_duration"], rtol=1e-6)
    # A 50 bp rise in breakevens raises every linker by about its inflation duration
    # (the log return, which takes out most of the convexity of a 30-year linker).
    up = LinkerBook.from_frame(_linkers(floor=False), VD).analyze(
        NOMINAL, {"USCPI": curve.shifted(50)}
    )
    change = np.log(up["dirty_price"] / table["dirty_price"])
    assert np.allclose(change, 0.005 * table["inflation_duration"], rtol=0.03)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("base_cpi", -1.0, "column base_cpi"),
        ("lag_months", 13, "column lag_months"),
        ("interpolation", "cubic", "column interpolation"),
        ("floor", "maybe", "column floor"),
    ],
)
def test_bad_linker_terms_are_named(column: str, value: object, message: str) -> None:
    frame = _linkers()
    frame[column] = frame[column].astype(object)
    frame.loc[1, column] = value
    with pytest.raises(ValueError, match=f"row 1, {message}"):
        LinkerBook.from_frame(frame, VD)


def test_missing_history_and_index_are_named() -> None:
    history = _history(last=dt.date(2026, 4, 1))
    fixings = cpi_fixings(history, "USCPI")
    with pytest.raises(ValueError, match=r"base month 2026-06.*ends 2026-04"):
        BreakevenCurve.from_swaps([{"tenor": "5Y", "rate": 0.02}], fixings, "USCPI", VD)
    with pytest.raises(ValueError, match="no fixings of index 'UKRPI'"):
        cpi_fixings(history, "UKRPI")
    gappy = history.drop(index=10)
    with pytest.raises(ValueError, match="no value for the month after"):
        cpi_fixings(gappy, "USCPI")
    book = LinkerBook.from_frame(_linkers(index="UKRPI"), VD)
    with pytest.raises(ValueError, match="no breakeven curve for index 'UKRPI'"):
        book.analyze(NOMINAL, {"USCPI": _curve()})
    with pytest.raises(ValueError, match=r"row 0, column rate.*percentage"):
        BreakevenCurve.from_swaps(
            [{"tenor": "5Y", "rate": 2.5}], fixings, "USCPI", dt.date(2026, 7, 15)
        )


def test_real_curves_fill_empty_real_slots_only() -> None:
    from dataclasses import replace

    from fialloc.curve_set import CurveSet
    from fialloc.inflation import with_real_curves

    single = CurveSet.single(NOMINAL)
    filled = with_real_curves(single, {"USCPI": _curve()})
    expected = real_curve(NOMINAL, _curve())
    np.testing.assert_allclose(
        filled.curve("USD", "real").discount([1.0, 7.5, 29.0]),
        expected.discount([1.0, 7.5, 29.0]),
        rtol=1e-15,
    )
    given = Curve.flat(0.01, VD)
    kept = with_real_curves(single.with_curve("USD", "real", given), {"USCPI": _curve()})
    assert kept.curve("USD", "real") is given
    with pytest.raises(ValueError, match="no currency for index 'XCPI'"):
        with_real_curves(single, {"XCPI": replace(_curve(), index="XCPI")})
