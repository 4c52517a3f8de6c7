"""The demo's universe: valuation date, curve and spread levels, pools, managers, planted sizes.

:mod:`fialloc.data.demo` builds today's tables from it and :mod:`fialloc.data.demo_history`
the month-end histories; both read the constants here, so neither imports the other's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
import pandas as pd

from fialloc.data.vocabulary import HIGH_YIELD_LETTERS, rating_letter
from fialloc.schedule import add_months

__all__ = [
    "ACTIVE_NOISE",
    "BBB_BETA",
    "BETA_LOADING",
    "CHARACTERISTIC_NOISE",
    "CURVE_QUOTES",
    "DEMO_VALUATION",
    "DRIFT",
    "DRIFT_NOTCHES",
    "DRIFT_RAMP",
    "DRIFT_SIZE",
    "HISTORY_MONTHS",
    "INCIDENTAL_BETA",
    "MANAGERS",
    "POOLS",
    "SKILLED",
    "SKILL_ALPHA",
    "SPREADS",
    "TENORS",
    "TOTAL_ASSETS",
    "Manager",
    "eligible_securities",
    "history_months",
    "years_to_maturity",
]

DEMO_VALUATION: Final = dt.date(2026, 9, 30)
TOTAL_ASSETS: Final = 40e9

#: The CPR the demo's agency pools prepaid at before today (sets their factor and history).
POOL_PAST_CPR: Final = 0.06
HISTORY_MONTHS: Final = 60
TENORS: Final = (0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0)

CURVE_QUOTES: Final = (
    ("deposit", "1M", 0.0395), ("deposit", "3M", 0.0390), ("deposit", "6M", 0.0378),
    ("swap", "1Y", 0.0362), ("swap", "2Y", 0.0348), ("swap", "3Y", 0.0345),
    ("swap", "5Y", 0.0352), ("swap", "7Y", 0.0365), ("swap", "10Y", 0.0384),
    ("swap", "15Y", 0.0405), ("swap", "20Y", 0.0418), ("swap", "30Y", 0.0422),
    ("swap", "50Y", 0.0405),
)  # fmt: skip
SPREADS: Final = {"AAA": 0.0030, "AA": 0.0048, "A": 0.0078, "BBB": 0.0125, "BB": 0.0240,
                  "B": 0.0370, "CCC": 0.0690}  # fmt: skip

# Security pools: sector, ratings (notched), maturity range (years), frequency, count, tier,
# bid-ask (bp) and average daily volume as a share of issue size.
POOLS: Final = (
    ("treasury", ("AA+",), (1, 30), 2, 70, "level1", 0.8, 0.08),
    ("treasury_strip", ("AA+",), (10, 30), 0, 16, "level1", 3.0, 0.02),
    ("agency", ("AA+",), (2, 12), 2, 30, "level2a", 3.0, 0.01),
    ("financial", ("AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-"), (2, 30), 2, 95, None, 8.0, 0.004),
    ("industrial", ("AA", "A+", "A", "A-", "BBB+", "BBB", "BBB-"), (2, 30), 2, 110, None, 9.0, 0.003),
    ("utility", ("A", "A-", "BBB+", "BBB", "BBB-"), (5, 30), 2, 55, None, 10.0, 0.002),
    ("high_yield", ("BB+", "BB", "BB-", "B+", "B", "B-", "CCC+"), (3, 9), 2, 60, "illiquid", 35.0, 0.003),
    ("securitized", ("AAA", "AA"), (2, 10), 12, 45, "level2b_rmbs", 12.0, 0.002),
    ("municipal", ("AA", "AA-", "A+", "A"), (8, 28), 2, 30, "level2b", 20.0, 0.001),
    ("emerging", ("BBB", "BBB-", "BB+", "BB"), (5, 20), 2, 30, "illiquid", 25.0, 0.002),
    ("private_placement", ("A-", "BBB+", "BBB", "BBB-"), (7, 15), 2, 30, "illiquid", 60.0, 0.0),
)  # fmt: skip

# Managers: id, name, style, benchmark, weight, pools, maturity range (years).
Manager = tuple[str, str, str, str, float, tuple[str, ...], tuple[float, float]]
MANAGERS: Final[tuple[Manager, ...]] = (
    ("M01", "Harbor Long Government", "long_government", "Long Treasury", 0.080, ("treasury",), (15, 30)),
    ("M02", "Summit Long Credit", "long_credit", "Long Credit", 0.070, ("financial", "industrial", "utility"), (15, 30)),
    ("M03", "Meridian Core", "core", "Aggregate", 0.050, ("treasury", "agency", "financial", "industrial", "securitized"), (2, 15)),
    ("M04", "Cobalt Core Plus", "core_plus", "Aggregate", 0.045, ("treasury", "financial", "industrial", "high_yield", "securitized"), (2, 15)),
    ("M05", "Granite IG Credit", "ig_credit", "IG Credit", 0.050, ("financial", "industrial", "utility"), (3, 12)),
    ("M06", "Beacon IG Credit", "ig_credit", "IG Credit", 0.045, ("financial", "industrial", "utility"), (3, 12)),
    ("M07", "Ridge High Yield", "high_yield", "High Yield", 0.030, ("high_yield",), (3, 9)),
    ("M08", "Keystone Securitized", "structured", "Securitized", 0.035, ("securitized",), (2, 10)),
    ("M09", "Anchor Short Duration", "short_duration", "1-3y Gov/Credit", 0.040, ("treasury", "agency", "financial", "industrial"), (1, 3.5)),
    ("M10", "Crest Intermediate Government", "intermediate_government", "Intermediate Treasury", 0.040, ("treasury", "agency"), (3, 10)),
    ("M11", "Civic Taxable Municipal", "municipal", "Taxable Muni", 0.025, ("municipal",), (8, 28)),
    ("M12", "Equator EM Debt", "emerging_markets", "EM USD Sovereign", 0.020, ("emerging",), (5, 20)),
    ("M13", "Sterling Private Placement", "private_placement", "Private Placement", 0.035, ("private_placement",), (7, 15)),
    ("M14", "Pioneer Agency", "agency", "Agency", 0.030, ("agency", "treasury"), (2, 12)),
    ("M15", "Atlas Long Corporate A", "long_credit", "Long Credit A", 0.040, ("financial", "industrial", "utility"), (12, 30)),
    ("M16", "Lighthouse Core", "core", "Aggregate", 0.040, ("treasury", "agency", "financial", "industrial", "securitized"), (2, 15)),
    ("M17", "Vantage Intermediate Credit", "ig_credit", "Intermediate Credit", 0.040, ("financial", "industrial", "utility"), (3, 10)),
    ("M18", "Horizon Long Gov/Credit", "long_gov_credit", "Long Gov/Credit", 0.045, ("treasury", "financial", "industrial", "utility"), (12, 30)),
    ("M19", "Orchard Core", "core", "Aggregate", 0.040, ("treasury", "agency", "financial", "industrial", "securitized"), (2, 15)),
    ("M20", "Falcon IG Credit", "ig_credit", "IG Credit", 0.040, ("financial", "industrial", "utility"), (3, 12)),
    ("M21", "Bridge Short Credit", "short_credit", "1-5y Credit", 0.030, ("financial", "industrial"), (1, 5)),
    ("M22", "Compass Global Aggregate", "core", "Global Aggregate", 0.035, ("treasury", "agency", "financial", "industrial"), (2, 15)),
    ("M23", "Northwind Intermediate Core", "core", "Intermediate Aggregate", 0.040, ("treasury", "agency", "financial", "industrial"), (2, 10)),
    ("M24", "Quarry Long Strips", "long_government", "Long STRIPS", 0.030, ("treasury_strip",), (10, 30)),
    ("M25", "Sable Short High Yield", "high_yield", "Short High Yield", 0.025, ("high_yield",), (3, 6)),
)  # fmt: skip

BBB_BETA: Final = ("M06", "M16", "M17")
#: Loading of the BBB-beta managers' excess return on the BBB credit factor, and the monthly
#: alpha (decimal) of the skilled ones: sized so that over 60 months with the demo's 15 bp of
#: monthly tracking noise the beta's t-statistic is about 5-10 and the alpha's about 3, the
#: strengths real histories show (not the 40-60 and 6 of a textbook example).
BETA_LOADING: Final = 0.3
SKILL_ALPHA: Final = 0.0006
#: Noise of every manager's monthly active return (decimal) and the scale of the small,
#: immaterial credit tilt a manager without planted beta carries.
ACTIVE_NOISE: Final = 0.0015
INCIDENTAL_BETA: Final = 0.01
SKILLED: Final = ("M05", "M19", "M20")
DRIFT: Final = {"M22": 42, "M23": 44}  # manager -> month index (0-based) the drift starts
#: The drifts' moves at full size: M22 into high yield (share of the sleeve; its average
#: rating falls with it), M23 out in duration (years). One to two standard deviations of the
#: sleeves' month-to-month wander (:data:`CHARACTERISTIC_NOISE`), reached over
#: :data:`DRIFT_RAMP` months.
DRIFT_SIZE: Final = {"M22": 0.02, "M23": 0.4}
DRIFT_NOTCHES: Final = 0.4  # M22's fall in average rating (notches) at full size
DRIFT_RAMP: Final = 4
#: Sleeve characteristics wander around their level: AR(1) noise with this autocorrelation and
#: these standard deviations (duration years, rating notches, high yield share).
CHARACTERISTIC_NOISE: Final = {"phi": 0.4, "duration": 0.2, "credit_notch": 0.25,
                               "high_yield_share": 0.015}  # fmt: skip


def history_months() -> list[dt.date]:
    """Return the month-ends of the demo's history, oldest first, ending at the valuation date."""
    return [add_months(DEMO_VALUATION, -(HISTORY_MONTHS - 1 - k)) for k in range(HISTORY_MONTHS)]


def eligible_securities(
    securities: pd.DataFrame, managers: Sequence[Manager] = MANAGERS
) -> dict[str, np.ndarray]:
    """Positions (rows of `securities`) each manager's mandate allows: its universe."""
    years = years_to_maturity(securities["maturity"])
    below_ig = securities["rating"].map(rating_letter).isin(HIGH_YIELD_LETTERS).to_numpy()
    # The sectors as codes once: a manager's pools are then a lookup, not a string scan.
    sector, sectors = pd.factorize(securities["sector"])
    eligible = {}
    for mid, _, style, _, _, pools, (lo, hi) in managers:
        ok = np.isin(sector, np.flatnonzero(sectors.isin(pools)))
        ok &= (years >= lo - 0.5) & (years <= hi + 0.5)
        if style in ("ig_credit", "long_credit", "short_credit"):  # investment grade only
            ok &= ~below_ig
        eligible[mid] = np.flatnonzero(ok)
    return eligible


def years_to_maturity(maturities: Iterable[dt.date]) -> np.ndarray:
    """Return the years (actual days / 365) from :data:`DEMO_VALUATION` to each maturity."""
    days = np.array([m.toordinal() for m in maturities], dtype=np.int64)
    return np.asarray((days - DEMO_VALUATION.toordinal()) / 365.0, dtype=np.float64)
