"""The curve desk's nominal-versus-linker view and the breakeven stresses.

The demo plants breakevens that stood about 16 bp above today's over the history (z near -2
with seed 7); the detection study generates breakeven histories of other strengths and
seeds and measures how often the desk's |z| > 1 flag fires with and without a premium.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc.analytics.breakevens import breakeven_exposure, breakeven_zscores
from fialloc.analytics.context import DeskContext
from fialloc.desks import curve
from fialloc.desks.curve import RV_THRESHOLD
from fialloc.stresses import load_scenarios, stress_portfolio


@pytest.fixture(scope="module")
def demo(demo_portfolio):
    return demo_portfolio


@pytest.mark.parametrize("seed", [7, 1, 2])
def test_the_desk_finds_the_planted_cheap_breakevens(seed, request):
    p = request.getfixturevalue("demo_portfolio") if seed == 7 else data.demo(seed)
    result = curve.analyze(DeskContext(p))
    found = result.findings_of("breakeven_relative_value")
    assert {f.subject for f in found} == {"USCPI 5y", "USCPI 10y", "USCPI 30y"}
    assert all(f.metrics["zscore"] < -RV_THRESHOLD for f in found)
    assert all("linkers look cheap" in f.message for f in found)
    table = result.tables["breakevens"]
    # Today's value is the swap quote of the tenor.
    swaps = p.inflation_swaps.set_index("tenor")["rate"]
    for tenor in (5, 10, 30):
        assert table.loc[("USCPI", float(tenor)), "current_bp"] == pytest.approx(
            swaps[f"{tenor}Y"] * 1e4, rel=1e-12
        )


def test_only_the_tips_sleeve_carries_inflation_exposure(demo):
    exposure = curve.analyze(DeskContext(demo)).tables["inflation_exposure"]
    assert exposure.loc["M27", "linker_share"] == pytest.approx(1.0)
    assert exposure.drop(index="M27")["linker_value"].abs().max() == 0.0
    up, down = exposure.loc["M27", ["value_up", "value_down"]]
    # Linkers gain when breakevens rise (real yields fall), convexly.
    assert up > 0 > down
    assert up > -down
    duration = exposure.loc["M27", "inflation_duration"]
    value = exposure.loc["M27", "linker_value"]
    assert (up - down) / 2 == pytest.approx(value * duration * 0.005, rel=0.02)


def test_breakeven_stresses_move_linkers_only_and_agree_with_the_desk(demo):
    names = ["base", "breakevens_up_50", "breakevens_down_50", "parallel_up_100"]
    scenarios = [s for s in load_scenarios() if s.name in names]
    scenarios += [s for s in load_scenarios() if s.name == "inflation_shock"]
    result = stress_portfolio(demo, scenarios)
    values = result.asset_values
    linkers = demo.linker_book.security_ids
    nominal = values.columns.difference(linkers)
    change = values - values.loc["base"]
    for name in ("breakevens_up_50", "breakevens_down_50"):
        assert change.loc[name, nominal].abs().max() == 0.0
        assert result.liability_values[name] == result.liability_values["base"]
    exposure = breakeven_exposure(demo, 50.0)
    assert change.loc["breakevens_up_50", linkers].sum() == pytest.approx(
        exposure["value_up"].sum(), rel=1e-12
    )
    assert change.loc["breakevens_down_50", linkers].sum() == pytest.approx(
        exposure["value_down"].sum(), rel=1e-12
    )
    # Rates +100 with breakevens +50: nominal bonds as in parallel_up_100, linkers see real
    # yields rise by only 50 bp.
    shock = change.loc["inflation_shock"]
    np.testing.assert_allclose(
        shock[nominal], change.loc["parallel_up_100", nominal], rtol=1e-12, atol=1e-6
    )
    assert (shock[linkers] < 0).all()
    assert (shock[linkers] > change.loc["parallel_up_100", linkers]).all()


def _histories(p, premium_sd: float, rng: np.random.Generator, n: int) -> list[pd.DataFrame]:
    """`n` breakeven histories of a given premium, generated like the demo's series.

    Only the three breakeven series: ``breakeven_zscores`` reads no other (the desk's test
    above runs on the whole market history).
    """
    months = sorted(set(p.market_history["month"]))
    swaps = p.inflation_swaps.set_index("tenor")["rate"]
    phi, sd = 0.7, 0.0009
    # All draws at once, in the order of one history, then one tenor, then one month.
    e = rng.normal(size=(n, 3, len(months)))
    x = np.empty_like(e)
    x[..., 0] = e[..., 0]
    for k in range(1, len(months)):
        x[..., k] = phi * x[..., k - 1] + np.sqrt(1 - phi * phi) * e[..., k]
    # Today (the last month, the swap quote) is the process's own last draw.
    return [
        pd.DataFrame(
            {
                "month": months * 3,
                "series": np.repeat([f"breakeven_USCPI_{t}y" for t in (5, 10, 30)], len(months)),
                "value": np.concatenate(
                    [
                        swaps[f"{tenor}Y"] + sd * (premium_sd + x[h, i] - x[h, i, -1])
                        for i, tenor in enumerate((5, 10, 30))
                    ]
                ),
            }
        )
        for h in range(n)
    ]


def test_detection_rates_on_generated_breakeven_histories(demo):
    """How often |z| > 1 flags a breakeven, by the size of the planted premium.

    Histories are AR(1) (persistence 0.7, as the demo's) over 60 months, today the last
    draw; the history stands `premium` standard deviations above that process on average.
    Measured over 100 histories per strength (three tenors each, 300 flags; seed 17): with no
    premium the flag fires 32% +/- 5% of the time (|z| > 1 is an informational threshold,
    not a test); with a premium of 1, 2 and 3 standard deviations it fires below zero 51%,
    89% +/- 3% and 97% +/- 2% of the time. The 95% intervals of the rates are asserted.
    """
    rng = np.random.default_rng(17)
    rates = {}
    for premium in (0.0, 1.0, 2.0, 3.0):
        flags = []
        for history in _histories(demo, premium, rng, 100):
            p = dataclasses.replace(demo, market_history=history)
            z = breakeven_zscores(p)["zscore"].to_numpy()
            flags.extend((z < -RV_THRESHOLD) if premium else (np.abs(z) > RV_THRESHOLD))
        rates[premium] = float(np.mean(flags))
    half = {k: 1.96 * np.sqrt(v * (1 - v) / 300) for k, v in rates.items()}
    # Null: a third of breakevens sit beyond one standard deviation of an AR(1) history.
    assert rates[0.0] - half[0.0] > 0.2
    assert rates[0.0] + half[0.0] < 0.5
    assert rates[1.0] > 0.4
    assert rates[2.0] - half[2.0] > 0.8
    assert rates[3.0] - half[3.0] > 0.9
