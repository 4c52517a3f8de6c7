"""The CurveSet: conventions applied to quotes, FX forwards by covered parity, clear refusals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc import bootstrap
from fialloc.bonds import BondBook
from fialloc.curve_set import (
    CONVENTIONS,
    CURRENCIES,
    CurveSet,
    build_curve_set,
    currency_krd_column,
    quote_conventions,
)

VD = dt.date(2026, 1, 15)


def quotes_table() -> pd.DataFrame:
    rows = []
    for k, ccy in enumerate(CURRENCIES):
        level = 0.01 + 0.008 * k
        for curve, shift in (("government", 0.002), ("ois", 0.0)):
            rows.append((ccy, curve, "deposit", "3M", level + shift))
            rows.append((ccy, curve, "deposit", "6M", level + shift + 0.0005))
            kind = "par_bond" if curve == "government" else "swap"
            for i, tenor in enumerate(("2Y", "5Y", "10Y", "30Y")):
                rows.append((ccy, curve, kind, tenor, level + shift + 0.001 * (i + 1)))
    return pd.DataFrame(rows, columns=["currency", "curve", "kind", "tenor", "rate"])


def curve_set() -> CurveSet:
    spots = {"EUR": 1.0850, "GBP": 1.2700, "JPY": 1 / 150.0, "CAD": 1 / 1.36}
    return build_curve_set(quotes_table(), VD, "USD", spots, {"EUR": -0.0015, "JPY": -0.004})


def test_each_curve_reprices_its_quotes_with_its_currencys_conventions():
    cs = curve_set()
    table = quotes_table()
    for (ccy, curve), rows in table.groupby(["currency", "curve"], sort=False):
        built = cs.curve(ccy, curve)
        conv = CONVENTIONS[ccy]
        for row in rows.itertuples():
            if row.kind != "deposit":
                continue
            days = (built.quotes[0].maturity - VD).days if row.tenor == "3M" else None
            if days is None:
                continue
            basis = 360.0 if conv.money_market_day_count == "ACT/360" else 365.0
            expected = 1.0 / (1.0 + row.rate * days / basis)
            assert built.discount(days / 365.0) == pytest.approx(expected, abs=1e-14)
        assert [q.frequency for q in built.quotes if q.kind == "swap"] == [
            conv.ois_frequency
        ] * sum(q.kind == "swap" for q in built.quotes)
        assert {q.day_count for q in built.quotes if q.kind == "par_bond"} <= {conv.bond_day_count}


def test_a_table_without_currency_keeps_the_generic_defaults():
    table = quotes_table()
    usd = table[(table["currency"] == "USD") & (table["curve"] == "ois")]
    plain = usd.drop(columns=["currency", "curve"])
    cs = build_curve_set(plain, VD)
    reference = bootstrap(plain, VD)
    assert cs.currencies == ("USD",)
    np.testing.assert_array_equal(cs.curve("USD").log_dfs, reference.log_dfs)


def test_fx_forward_is_covered_parity_off_the_ois_curves():
    cs = curve_set()
    t = np.array([0.0, 0.25, 1.0, 7.5])
    for ccy in cs.currencies[1:]:
        basis = cs.fx_basis.get(ccy, 0.0)
        expected = (
            cs.spot(ccy)
            * cs.curve(ccy, "ois").discount(t)
            * np.exp(-basis * t)
            / cs.curve("USD", "ois").discount(t)
        )
        np.testing.assert_allclose(cs.fx_forward(ccy, t), expected, rtol=1e-15, atol=0)
        np.testing.assert_allclose(cs.forward_points(ccy, t), expected - cs.spot(ccy), atol=1e-15)
    assert cs.fx_forward("USD", 2.0) == 1.0


def test_hedge_carry_is_the_rate_differential_for_flat_curves():
    flat = {
        ccy: bootstrap([{"kind": "deposit", "tenor": "1Y", "rate": r}], VD)
        for ccy, r in (("USD", 0.045), ("EUR", 0.02))
    }
    curves = {(c, "ois"): k for c, k in flat.items()} | {("USD", "government"): flat["USD"]}
    cs = CurveSet(VD, "USD", curves, {"EUR": 1.1})
    tenor = 0.25
    ratio = float(cs.curve("EUR", "ois").discount(tenor) / cs.curve("USD", "ois").discount(tenor))
    assert cs.hedge_carry("EUR", tenor) == pytest.approx((ratio - 1) / tenor, rel=1e-13)
    assert cs.hedge_carry("EUR", tenor) > 0  # selling the lower-yielding currency earns


def test_funding_curve_falls_back_to_government():
    cs = curve_set()
    gov = cs.curve("GBP")
    without_ois = CurveSet(
        VD,
        "USD",
        {k: v for k, v in cs.curves.items() if k != ("GBP", "ois")},
        cs.fx_spot,
    )
    assert without_ois.funding_curve("GBP") is gov
    assert cs.funding_curve("GBP") is cs.curve("GBP", "ois")


def test_with_curve_fills_the_real_slot_and_leaves_the_original():
    cs = curve_set()
    real = bootstrap([{"kind": "swap", "tenor": "10Y", "rate": 0.012}], VD)
    filled = cs.with_curve("EUR", "real", real)
    assert filled.curve("EUR", "real") is real
    assert not cs.has_curve("EUR", "real")
    with pytest.raises(ValueError, match="no real curve for 'EUR'"):
        cs.curve("EUR", "real")


def test_key_rate_durations_are_per_currency_and_curve():
    cs = curve_set()
    bonds = pd.DataFrame(
        {
            "security_id": ["B1", "B2"],
            "coupon": [0.03, 0.05],
            "maturity": [dt.date(2031, 3, 1), dt.date(2045, 6, 15)],
            "frequency": [1, 2],
            "day_count": ["ACT/ACT ICMA", "ACT/ACT ICMA"],
            "face": [1e6, 2e6],
        }
    )
    book = BondBook.from_frame(bonds, VD)
    eur = cs.key_rate_durations("EUR", "government", book, 0.001)
    usd = cs.key_rate_durations("USD", "government", book, 0.001)
    assert list(eur.columns)[-1] == "krd_EUR_30y"
    assert usd.columns[0] == "krd_0.5y"
    direct = book.curve_risk(cs.curve("EUR"), 0.001)
    np.testing.assert_array_equal(eur.to_numpy(), direct.krd)
    # Key-rate durations add up to the effective duration (tents sum to one).
    np.testing.assert_allclose(eur.sum(axis=1), direct.effective_duration, rtol=1e-6)
    assert currency_krd_column("JPY", 0.5, "USD") == "krd_JPY_0.5y"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"base_currency": "CHF"}, "unknown currency 'CHF'"),
        ({"fx_spot": {"EUR": -1.0}}, "fx_spot EUR is -1.0"),
        ({"fx_spot": {"EUR": float("nan")}}, "fx_spot EUR"),
        ({"fx_basis": {"EUR": 15.0}}, "fx_basis EUR is 15.0"),
    ],
)
def test_bad_sets_are_refused_by_name(change, message):
    cs = curve_set()
    args = {
        "valuation_date": VD,
        "base_currency": "USD",
        "curves": cs.curves,
        "fx_spot": cs.fx_spot,
        "fx_basis": cs.fx_basis,
    } | change
    with pytest.raises(ValueError, match=message):
        CurveSet(**args)


def test_missing_spot_curve_date_and_base_curve_are_refused():
    cs = curve_set()
    with pytest.raises(ValueError, match="CAD has curves but no FX spot"):
        CurveSet(VD, "USD", cs.curves, {k: v for k, v in cs.fx_spot.items() if k != "CAD"})
    with pytest.raises(ValueError, match="base currency EUR has no government curve"):
        CurveSet(VD, "EUR", {("USD", "government"): cs.curve("USD")}, {"USD": 0.9})
    other = bootstrap([{"kind": "deposit", "tenor": "1Y", "rate": 0.03}], dt.date(2026, 1, 16))
    with pytest.raises(ValueError, match="EUR ois is dated 2026-01-16"):
        cs.with_curve("EUR", "ois", other)


def test_bad_quote_tables_name_the_row_and_curve():
    table = quotes_table()
    bad = table.copy()
    bad.loc[3, "currency"] = "XXX"
    with pytest.raises(ValueError, match="row 3, column currency: unknown currency 'XXX'"):
        build_curve_set(bad, VD, fx_spot={"EUR": 1.1, "GBP": 1.3, "JPY": 0.007, "CAD": 0.7})
    bad = table.copy()
    bad.loc[0, "curve"] = "real"
    with pytest.raises(ValueError, match="row 0, column curve: 'real'"):
        build_curve_set(bad, VD)
    bad = table.copy()
    bad.loc[13, "rate"] = 4.5
    with pytest.raises(ValueError, match=r"curve_quotes row 13 \(EUR government curve\), col"):
        build_curve_set(bad, VD)


def test_quote_conventions_and_to_base():
    assert quote_conventions("usd", "deposit") == (0, "ACT/360")
    assert quote_conventions("CAD", "swap") == (2, "ACT/365F")
    assert quote_conventions("EUR", "par_bond") == (1, "ACT/ACT ICMA")
    with pytest.raises(ValueError, match="unknown kind 'fra'"):
        quote_conventions("USD", "fra")
    cs = curve_set()
    np.testing.assert_allclose(
        cs.to_base([100.0, 15000.0, 5.0], ["EUR", "JPY", "USD"]), [108.5, 100.0, 5.0]
    )
    with pytest.raises(ValueError, match="no FX spot for 'CHF'"):
        cs.to_base([1.0], ["CHF"])
