"""Bad input raises ValueError naming the field and the row; no input crashes the process.

The first part walks the bad inputs of issue 2 through the public API (quotes, bond tables,
analytics arguments, curves, liability streams). The second part fuzzes every function of the
compiled core with arbitrary arrays, in this process: a crash would take pytest down with it.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from fialloc import BondBook, CashflowStream, Curve, _core, bootstrap

VD = dt.date(2026, 6, 30)
QUOTES = [
    {"kind": "deposit", "tenor": "3M", "rate": 0.040},
    {"kind": "swap", "tenor": "2Y", "rate": 0.041},
    {"kind": "par_bond", "tenor": "5Y", "rate": 0.042},
    {"kind": "swap", "tenor": "10Y", "rate": 0.043},
]
BOND = {
    "security_id": "A",
    "coupon": 0.05,
    "maturity": "2031-06-30",
    "frequency": 2,
    "day_count": "30/360",
    "face": 1e6,
}


def raises_naming(call, *fragments: str) -> str:
    """Run `call`; it must raise ValueError whose message contains every fragment."""
    with pytest.raises(ValueError) as info:  # noqa: PT011 - the message is checked below
        call()
    message = str(info.value)
    missing = [f for f in fragments if f not in message]
    assert not missing, f"message {message!r} does not name {missing}"
    return message


def quotes_with(row: int, **changes) -> list[dict]:
    out = copy.deepcopy(QUOTES)
    out[row].update(changes)
    return out


def bonds_with(**changes) -> pd.DataFrame:
    """Three good bonds, the second (row 1, id B) changed."""
    rows = [dict(BOND), dict(BOND, security_id="B", **changes), dict(BOND, security_id="C")]
    return pd.DataFrame(rows)


# ---- curve quotes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "changes", "fragments"),
    [
        # unsorted and duplicate tenors: the later row is named, with both maturities
        (2, {"tenor": "1Y"}, ["quotes row 2", "maturity", "(1Y)", "not after row 1"]),
        (3, {"tenor": "2Y"}, ["quotes row 3", "maturity", "(2Y)", "not after row 2"]),
        (1, {"tenor": "3M"}, ["quotes row 1", "(3M)", "without duplicates"]),
        (1, {"tenor": None, "maturity": "2026-09-30"}, ["quotes row 1", "without duplicates"]),
        # NaN, infinite and percentage rates
        (1, {"rate": math.nan}, ["quotes row 1, column rate", "nan is not finite"]),
        (2, {"rate": math.inf}, ["quotes row 2, column rate", "inf is not finite"]),
        (3, {"rate": -math.inf}, ["quotes row 3, column rate", "-inf is not finite"]),
        (0, {"rate": 4.0}, ["quotes row 0, column rate", "looks like a percentage"]),
        (3, {"rate": 4.3}, ["quotes row 3, column rate", "looks like a percentage"]),
        (1, {"rate": "4.1%"}, ["quotes row 1, column rate", "not a number"]),
        (1, {"rate": None}, ["quotes row 1, column rate", "not a number"]),
        # maturity on or before the valuation date
        (0, {"tenor": None, "maturity": "2026-06-30"}, ["quotes row 0", "not after the valuation"]),
        (0, {"tenor": None, "maturity": dt.date(2025, 1, 2)}, ["quotes row 0", "valuation date"]),
        # unknown day count, kind, frequency
        (1, {"day_count": "ACT/999"}, ["quotes row 1, column day_count", "unknown day count"]),
        (0, {"day_count": "ACT/ACT ICMA"}, ["quotes row 0, column day_count", "deposits"]),
        (2, {"kind": "future"}, ["quotes row 2, column kind", "unknown kind 'future'"]),
        (3, {"frequency": 3}, ["quotes row 3, column frequency", "expected 1, 2, 4 or 12"]),
        (3, {"frequency": 2.5}, ["quotes row 3, column frequency", "expected 1, 2, 4 or 12"]),
        (3, {"frequency": math.inf}, ["quotes row 3, column frequency", "not finite"]),
        (3, {"frequency": "semiannual"}, ["quotes row 3, column frequency", "not a number"]),
        # bad tenors and bad date strings
        (1, {"tenor": "2X"}, ["quotes row 1, column tenor", "cannot read tenor '2X'"]),
        (1, {"tenor": "0Y"}, ["quotes row 1, column tenor"]),
        (1, {"tenor": "-2Y"}, ["quotes row 1, column tenor"]),
        (1, {"tenor": None, "maturity": "2028-02-30"}, ["quotes row 1, column maturity"]),
        (1, {"tenor": None, "maturity": "30/06/2028"}, ["quotes row 1, column maturity"]),
        (1, {"tenor": None, "maturity": ""}, ["quotes row 1, column maturity"]),
        (1, {"tenor": None, "maturity": pd.NaT}, ["quotes row 1, column maturity", "NaT"]),
        (1, {"tenor": None, "maturity": None}, ["quotes row 1, column maturity"]),
    ],
)
def test_bad_quote_names_row_and_field(row, changes, fragments):
    quotes = quotes_with(row, **changes)
    before = copy.deepcopy(quotes)
    raises_naming(lambda: bootstrap(quotes, VD), *fragments)
    assert quotes == before  # validation changes nothing


def test_bad_quote_in_a_dataframe_names_row_and_field():
    frame = pd.DataFrame(quotes_with(2, rate=4.2))
    before = frame.copy()
    raises_naming(lambda: bootstrap(frame, VD), "quotes row 2, column rate", "percentage")
    pd.testing.assert_frame_equal(frame, before)  # validation changes nothing


@pytest.mark.parametrize(
    ("drop", "fragment"),
    [("rate", "rate"), ("kind", "kind"), ("tenor", "tenor or maturity")],
)
def test_quotes_missing_columns(drop, fragment):
    frame = pd.DataFrame(QUOTES).drop(columns=drop)
    raises_naming(lambda: bootstrap(frame, VD), "missing column(s)", fragment)


def test_bad_quote_tables_and_dates():
    raises_naming(lambda: bootstrap([], VD), "quotes", "no rows")
    raises_naming(lambda: bootstrap(QUOTES, "2026-02-30"), "valuation_date", "2026-02-30")
    raises_naming(lambda: bootstrap(QUOTES, "30/06/2026"), "valuation_date", "YYYY-MM-DD")
    raises_naming(lambda: bootstrap(QUOTES, VD, "spline"), "interpolation", "'spline'")  # type: ignore[arg-type]


# ---- bond tables ------------------------------------------------------------------------------

ROW_B = "row 1 (B)"


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"face": 0.0}, [ROW_B, "column face", "must be positive"]),
        ({"face": -1e6}, [ROW_B, "column face", "must be positive"]),
        ({"face": math.nan}, [ROW_B, "column face", "not finite"]),
        ({"face": "a lot"}, [ROW_B, "column face", "not a number"]),
        ({"day_count": "ACT/999"}, [ROW_B, "column day_count", "unknown day count 'ACT/999'"]),
        ({"day_count": None}, [ROW_B, "column day_count", "unknown day count"]),
        ({"maturity": "2026-06-30"}, [ROW_B, "column maturity", "on or before the valuation"]),
        ({"maturity": "2019-01-01"}, [ROW_B, "column maturity", "on or before the valuation"]),
        ({"maturity": dt.date(2026, 6, 29)}, [ROW_B, "column maturity", "on or before"]),
        ({"maturity": "2031-02-30"}, [ROW_B, "column maturity", "'2031-02-30'"]),
        ({"maturity": "30.06.2031"}, [ROW_B, "column maturity", "YYYY-MM-DD"]),
        ({"maturity": "06/30/2031"}, [ROW_B, "column maturity", "YYYY-MM-DD"]),
        ({"maturity": ""}, [ROW_B, "column maturity", "YYYY-MM-DD"]),
        ({"maturity": None}, [ROW_B, "column maturity", "YYYY-MM-DD"]),
        ({"maturity": pd.NaT}, [ROW_B, "column maturity", "NaT"]),
        ({"coupon": 5.0}, [ROW_B, "column coupon", "outside [0, 1)"]),
        ({"coupon": -0.01}, [ROW_B, "column coupon", "outside [0, 1)"]),
        ({"coupon": math.nan}, [ROW_B, "column coupon", "nan is not finite"]),
        ({"coupon": math.inf}, [ROW_B, "column coupon", "inf is not finite"]),
        ({"coupon": "5%"}, [ROW_B, "column coupon", "not a number"]),
        ({"frequency": 3}, [ROW_B, "column frequency", "expected one of"]),
        ({"frequency": 2.5}, [ROW_B, "column frequency", "expected one of"]),
        ({"frequency": "semiannual"}, [ROW_B, "column frequency", "not a number"]),
    ],
)
def test_bad_bond_names_row_and_field(changes, fragments):
    frame = bonds_with(**changes)
    before = frame.copy()
    raises_naming(lambda: BondBook.from_frame(frame, VD), *fragments)
    pd.testing.assert_frame_equal(frame, before)  # validation changes nothing


def test_nat_from_a_parsed_date_column():
    frame = bonds_with(maturity="not a date")
    frame["maturity"] = pd.to_datetime(frame["maturity"], errors="coerce")  # a blank becomes NaT
    raises_naming(lambda: BondBook.from_frame(frame, VD), ROW_B, "column maturity", "NaT")


@pytest.mark.parametrize(
    "column", ["security_id", "coupon", "maturity", "frequency", "day_count", "face"]
)
def test_bond_table_missing_column(column):
    frame = bonds_with().drop(columns=column)
    raises_naming(lambda: BondBook.from_frame(frame, VD), "missing column(s)", f"'{column}'")


def test_bond_table_missing_face_column_in_records():
    records = [{k: v for k, v in BOND.items() if k != "face"}]
    raises_naming(lambda: BondBook.from_frame(records, VD), "missing column(s)", "'face'")


def test_duplicate_security_ids():
    frame = pd.DataFrame([BOND, dict(BOND, security_id="B"), dict(BOND, security_id="A")])
    raises_naming(
        lambda: BondBook.from_frame(frame, VD), "row 2", "column security_id", "duplicate id 'A'"
    )


def test_mismatched_column_lengths():
    columns = {k: [v, v] for k, v in BOND.items()}
    columns["security_id"] = ["A", "B"]
    columns["coupon"] = [0.05]
    raises_naming(lambda: BondBook.from_frame(columns, VD), "different lengths", "'coupon': 1")


def test_bad_bond_tables():
    raises_naming(lambda: BondBook.from_frame(pd.DataFrame(columns=list(BOND)), VD), "no rows")
    raises_naming(lambda: BondBook.from_frame([BOND], "2026-13-01"), "valuation_date")


# ---- analytics arguments ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def book_and_curve():
    return BondBook.from_frame(bonds_with(), VD), bootstrap(QUOTES, VD)


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        ({"z_spread": [0.01, 0.02]}, ["`z_spread`", "shape (2,)", "expected a scalar or 3"]),
        ({"yield_": [0.05] * 4}, ["`yield_`", "shape (4,)", "3 values"]),
        ({"clean_price": [[100.0] * 3]}, ["`clean_price`", "shape (1, 3)"]),
        ({"z_spread": [0.01, math.nan, 0.0]}, ["`z_spread` row 1", "nan"]),
        ({"yield_": [0.05, 0.05, math.inf]}, ["`yield_` row 2", "inf"]),
        ({"clean_price": [100.0, -math.inf, 99.0]}, ["`clean_price` row 1", "-inf"]),
        ({"yield_": [0.05, 4.5, 0.05]}, ["`yield_` row 1 (B)", "percentage"]),
        ({"z_spread": 1.5}, ["`z_spread` row 0 (A)", "percentage"]),
        ({"clean_price": [100.0, -3.0, 99.0]}, ["`clean_price` row 1 (B)", "positive price"]),
        ({"key_tenors": [1.0, 3.0, 2.0]}, ["`key_tenors`", "strictly increasing"]),
        ({"key_tenors": [1.0, 1.0, 2.0]}, ["`key_tenors`", "strictly increasing"]),
        ({"key_tenors": [-1.0, 2.0]}, ["`key_tenors`", "positive"]),
        ({"key_tenors": [1.0, math.nan]}, ["`key_tenors`", "finite"]),
        ({"bump_bp": 0.0}, ["`bump_bp`"]),
        ({"bump_bp": math.nan}, ["`bump_bp`"]),
        ({"z_spread": 0.01, "yield_": 0.05}, ["at most one of", "['z_spread', 'yield_']"]),
        ({"krd_domain": "dollar"}, ["`krd_domain`", "'dollar'"]),
        # a positive price no spread can reach
        ({"clean_price": [100.0, 1e-6, 99.0]}, ["stream 1", "implies a z-spread outside"]),
    ],
)
def test_bad_analytics_arguments(book_and_curve, kwargs, fragments):
    book, curve = book_and_curve
    raises_naming(lambda: book.analyze(curve, **kwargs), *fragments)


def test_curve_from_another_date(book_and_curve):
    book, _ = book_and_curve
    other = bootstrap(QUOTES, dt.date(2026, 7, 1))
    raises_naming(lambda: book.analyze(other), "curve valuation date 2026-07-01")


def test_par_key_rates_need_par_instruments_on_the_pillars(book_and_curve):
    # A curve given by times off whole days has no par bonds maturing on its pillars.
    book, _ = book_and_curve
    raises_naming(
        lambda: book.analyze(
            Curve([0.7, 12.3], [-0.03, -0.5], valuation_date=VD), krd_domain="par"
        ),
        "par_bumped",
        "not whole days",
    )


# ---- curves -----------------------------------------------------------------------------------


def test_bad_curve_nodes():
    raises_naming(
        lambda: Curve([1.0, 3.0, 2.0], [-0.01, -0.03, -0.02]), "`pillar_times`", "pillar 2"
    )
    raises_naming(lambda: Curve([1.0, 1.0], [-0.01, -0.02]), "`pillar_times`", "pillar 1")
    raises_naming(lambda: Curve([-1.0, 1.0], [0.01, -0.01]), "`pillar_times`", "pillar 0 is -1")
    raises_naming(lambda: Curve([1.0, math.inf], [-0.01, -0.02]), "`pillar_times`", "pillar 1")
    raises_naming(lambda: Curve([1.0, 2.0], [-0.01, math.nan]), "`log_dfs`", "pillar 1 is nan")
    raises_naming(lambda: Curve([1.0, 2.0], [-math.inf, -0.02]), "`log_dfs`", "pillar 0 is -inf")
    raises_naming(
        lambda: Curve([1.0, 2.0, 3.0], [-0.01, -0.02]),
        "`pillar_times` has 3 entries but `log_dfs` has 2",
    )
    raises_naming(
        lambda: Curve.from_zero_rates([1.0, 2.0], [0.01, 0.02, 0.03]), "2 times but 3 zero rates"
    )
    raises_naming(lambda: Curve([], []), "at least one pillar")
    raises_naming(lambda: Curve([1.0], [-0.01], "cubic"), "interpolation", "'cubic'")  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["discount", "zero_rate", "forward_rate"])
@pytest.mark.parametrize(
    ("t", "fragment"),
    [
        ([1.0, 2.0, -0.5], "entry 2 is -0.5"),
        ([-1e-9], "entry 0 is -1e-09"),
        ([0.5, math.nan], "entry 1 is nan"),
        ([math.inf], "entry 0 is inf"),
    ],
)
def test_bad_curve_times(method, t, fragment):
    curve = bootstrap(QUOTES, VD, "natural_cubic")
    raises_naming(lambda: getattr(curve, method)(t), "`t`", ">= 0", fragment)


def test_bad_bumps_and_overlays():
    curve = bootstrap(QUOTES, VD)
    raises_naming(lambda: curve.shifted(math.nan), "`spread_values`", "value 0 is nan")
    raises_naming(lambda: curve.key_rate_bumped(4.0, 1.0), "tenor 4.0", "key tenors")
    raises_naming(lambda: curve.key_rate_bumped(2.0, 1.0, [2.0, 1.0]), "`key_tenors`", "increasing")
    raises_naming(
        lambda: curve.with_overlay([1.0, 2.0], [0.01]),
        "`spread_knots` has 2 entries but `spread_values` has 1",
    )
    raises_naming(lambda: curve.with_overlay([2.0, 1.0], [0.0, 0.0]), "`spread_knots`", "knot 1")
    raises_naming(lambda: curve.requote([0.04, 0.04]), "2 rates for 4 instruments")
    raises_naming(lambda: curve.requote([0.04, math.nan, 0.04, 0.04]), "rate 1 (2Y)", "nan")
    raises_naming(lambda: curve.requote([0.04, 0.04, 4.2, 0.04]), "rate 2 (5Y)", "4.2")


# ---- liability streams ------------------------------------------------------------------------


def test_bad_liability_streams():
    raises_naming(
        lambda: CashflowStream(["2030-01-01", "2031-01-01"], [1.0], VD), "2 dates but 1 amounts"
    )
    raises_naming(lambda: CashflowStream([], [], VD), "no cash flows")
    raises_naming(
        lambda: CashflowStream(["2030-01-01", "2026-06-30"], [1.0, 2.0], VD),
        "dates row 1",
        "on or before the valuation date",
    )
    raises_naming(lambda: CashflowStream(["2030-02-30"], [1.0], VD), "dates row 0", "2030-02-30")
    raises_naming(lambda: CashflowStream(["next year"], [1.0], VD), "dates row 0", "YYYY-MM-DD")
    raises_naming(lambda: CashflowStream(["2030-01-01", pd.NaT], [1.0, 1.0], VD), "dates row 1")
    raises_naming(
        lambda: CashflowStream(["2030-01-01", "2031-01-01"], [1.0, math.inf], VD),
        "amounts row 1",
        "not finite",
    )
    raises_naming(
        lambda: CashflowStream.from_frame(pd.DataFrame({"date": ["2030-01-01"]}), VD),
        "missing column(s)",
        "'amount'",
    )


# ---- the compiled kernels name the argument and the entry too ------------------------------

F64 = np.float64
FLAT = (np.array([1.0, 30.0]), np.array([-0.04, -1.2]), 0, 0, np.empty(0), np.empty(0))


def layout(times, amounts, offsets=None):
    t = np.asarray(times, dtype=F64)
    off = np.array([0, len(t)] if offsets is None else offsets, dtype=np.int64)
    return off, t, np.asarray(amounts, dtype=F64)


@pytest.mark.parametrize(
    ("call", "fragments"),
    [
        (
            lambda: _core.price_streams(*layout([0.5, -1.0], [1.0, 1.0]), *FLAT, np.zeros(1)),
            ["stream 0 flow 1", "time -1"],
        ),
        (
            lambda: _core.price_streams(*layout([2.0, 1.0], [1.0, 1.0]), *FLAT, np.zeros(1)),
            ["stream 0 flow 1", "non-decreasing"],
        ),
        (
            lambda: _core.price_streams(*layout([1.0, 2.0], [1.0, np.nan]), *FLAT, np.zeros(1)),
            ["stream 0 flow 1", "non-finite amount"],
        ),
        (
            lambda: _core.price_streams(*layout([1.0, 2.0], [1.0]), *FLAT, np.zeros(1)),
            ["`times` has 2 entries but `amounts` has 1"],
        ),
        (
            lambda: _core.price_streams(*layout([1.0, 2.0], [1.0, 1.0]), *FLAT, np.zeros(2)),
            ["`z_spreads` has 2 entries for 1 streams"],
        ),
        (
            lambda: _core.price_streams(*layout([1.0], [1.0]), *FLAT, np.array([np.inf])),
            ["`z_spreads` of stream 0 is inf"],
        ),
        (
            lambda: _core.yields_from_prices(*layout([1.0], [1.0]), np.array([-2.0]), np.ones(1)),
            ["`freq` of stream 0 is -2"],
        ),
        (
            lambda: _core.curve_risk(
                *layout([1.0], [1.0]), *FLAT, np.zeros(1), np.array([2.0, 1.0]), 1e-4
            ),
            ["`key_tenors`", "tenor 1 is 1"],
        ),
        (
            lambda: _core.bootstrap_curve(
                *layout([1.0, 0.5], [1.04, 1.02], [0, 1, 2]), np.ones(2), 0
            ),
            ["instrument 1 matures at 0.5", "strictly increasing"],
        ),
        (
            lambda: _core.bootstrap_curve(
                *layout([1.0, 2.0], [1.04, 1.02], [0, 1, 2]), np.array([1.0, np.nan]), 0
            ),
            ["`targets` of instrument 1 is nan"],
        ),
        (
            lambda: _core.discount_factors(*FLAT[:2], 7, *FLAT[3:], np.ones(1)),
            ["unknown `interpolation` code 7"],
        ),
        (
            lambda: _core.discount_factors(*FLAT[:3], 2, *FLAT[4:], np.ones(1)),
            ["unknown `extrapolation` code 2"],
        ),
    ],
)
def test_kernels_name_argument_and_entry(call, fragments):
    raises_naming(call, *fragments)


# ---- fuzzing the compiled core ----------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
hnp = pytest.importorskip("hypothesis.extra.numpy")

ALLOWED = (ValueError, TypeError, _core.ConvergenceError)
CORE_FUNCTIONS = {
    "discount_factors",
    "zero_rates",
    "forward_rates",
    "bootstrap_curve",
    "price_streams",
    "z_spreads_from_prices",
    "prices_from_yields",
    "yields_from_prices",
    "yield_risk",
    "curve_risk",
    "simulate_g2",
    "simulate_g2_multi",
    "g2_zero_bonds",
    "g2_revalue",
    "g2_factor_normals",
    "g2_swaption",
    "hw_lattice_prices",
    "hw_lattice_spreads",
    "hw_lattice_prices_on_curves",
    "mbs_mortgage_rates",
    "mbs_value",
    "mbs_path_values",
    "FlowBook",
    "instrument_flows",
    "bootstrap_quotes",
    "g2_swaption_prices",
    "G2Revaluation",
    "price_kernel_isa",
    "exp_values",
    "exp_isa",
    "bank_monthly_cash",
}

# Values that break naive code: NaN, infinities, signed zeros, denormals, huge and tiny numbers.
nasty = st.sampled_from([0.0, -0.0, 5e-324, 1e-300, -1e-300, 1e300, -1e300, math.inf, -math.inf])
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), nasty, st.floats(-2.0, 60.0))
sizes = st.integers(0, 7)
f64 = hnp.arrays(np.float64, sizes, elements=floats)
# Non-decreasing, non-negative arrays reach deeper into the kernels than random ones.
sorted_f64 = hnp.arrays(np.float64, sizes, elements=st.floats(0.0, 80.0)).map(np.sort)
vectors = st.one_of(f64, sorted_f64)
# Wrong dtypes and layouts: the bindings refuse to convert them silently (TypeError).
wrong = st.sampled_from(
    [
        np.zeros(3, dtype=np.float32),
        np.arange(3),
        np.zeros(6)[::2],
        np.zeros((2, 2)),
        [0.5, 1.0],
        None,
        "abc",
    ]
)
float_args = st.one_of(vectors, vectors, vectors, wrong)
offsets = st.one_of(
    hnp.arrays(np.int64, st.integers(0, 5), elements=st.integers(-3, 12)),
    hnp.arrays(np.int64, st.integers(0, 5), elements=st.integers(0, 4)).map(np.cumsum),
    st.sampled_from([np.zeros(2), np.zeros(2, dtype=np.int32), None]),
)
matrices = st.one_of(
    hnp.arrays(np.float64, st.tuples(st.integers(0, 4), st.integers(0, 4)), elements=floats),
    f64,
    st.just(np.zeros((3, 3))[:, ::2]),
)
groups = st.one_of(
    hnp.arrays(np.int64, st.integers(0, 5), elements=st.integers(-3, 4)), st.just(None)
)
code = st.one_of(st.integers(-2, 3), st.sampled_from([2**31, -(2**40), 2**70]), st.just(1.5))
scalar = st.one_of(floats, st.sampled_from([None, "x"]))
# Counts: small ones, and ones the bindings refuse (negative, beyond int64). Counts that are
# valid but too large to allocate are tested on their own below.
count = st.one_of(st.integers(-3, 12), st.sampled_from([-(2**63), 2**64, 2**80]))
first = st.one_of(count, st.sampled_from([2**48 + 1, 2**63 - 1]))
seed = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([-1, 2**64, 2**100]))
flag = st.one_of(st.booleans(), st.sampled_from([0, 1, None]))


def _g2(draw):
    """G2 parameters: mostly valid, sometimes not."""
    valid = st.tuples(
        st.floats(0.01, 2.0),
        st.floats(0.001, 0.05),
        st.floats(0.01, 2.0),
        st.floats(0.001, 0.05),
        st.floats(-0.99, 0.99),
    )
    return draw(st.one_of(valid, st.tuples(floats, floats, floats, floats, floats)))


def _mbs(draw):
    """mbs_value arguments: mostly well-typed pools and paths with arbitrary values (to reach
    the kernel's checks), sometimes anything."""
    if draw(st.booleans()):
        n = draw(st.integers(0, 4))
        fair = st.one_of(floats, st.floats(0.0, 0.2))
        pool = [hnp.arrays(np.float64, n, elements=fair) for _ in range(2)]
        months = st.one_of(st.integers(-3, 700), st.integers(1, 8))
        ints = [hnp.arrays(np.int64, n, elements=months) for _ in range(2)]
        kind = hnp.arrays(np.int64, n, elements=st.integers(-1, 3))
        pools = [*(draw(a) for a in pool + ints), draw(hnp.arrays(np.float64, n, elements=fair))]
        pools += [draw(kind), draw(hnp.arrays(np.float64, n, elements=fair))]
        shape = st.tuples(st.integers(0, 4), st.integers(0, 8))
        grid = draw(shape)
        positive = st.one_of(floats, st.floats(0.3, 1.0))
        paths = [draw(hnp.arrays(np.float64, grid, elements=positive)) for _ in range(2)]
        paths.append(draw(hnp.arrays(np.float64, n, elements=st.one_of(fair, st.floats(50, 150)))))
        valid = st.just([0.06, 0.5, 0.003, 0.002, 30.0, 0.3])
        model = draw(st.one_of(valid, valid, st.lists(fair, min_size=6, max_size=6)))
        season = draw(st.lists(st.one_of(st.floats(0, 2), floats), min_size=12, max_size=12))
        flags = [draw(st.booleans()), draw(st.booleans())]
        threads = draw(st.integers(-2, 3))
        return [*pools, model, season, draw(st.integers(0, 13)), *paths, *flags, threads]
    ints = st.one_of(
        hnp.arrays(np.int64, sizes, elements=st.integers(0, 5)),
        st.sampled_from([np.zeros(2), None]),
    )
    pools = [draw(float_args), draw(float_args), draw(ints), draw(ints), draw(float_args)]
    pools += [draw(ints), draw(float_args)]
    model = draw(st.lists(floats, max_size=7))
    season = draw(st.lists(floats, min_size=11, max_size=13))
    paths = [draw(matrices), draw(matrices), draw(float_args)]
    return [*pools, model, season, draw(code), *paths, draw(flag), draw(flag), draw(count)]


@st.composite
def core_calls(draw):
    """One call of a compiled function with arbitrary arguments."""
    name = draw(st.sampled_from(sorted(CORE_FUNCTIONS)))
    curve = [draw(float_args), draw(float_args), draw(code), draw(float_args), draw(float_args)]
    layout = [draw(offsets), draw(float_args), draw(float_args)]
    if name in ("discount_factors", "zero_rates", "forward_rates"):
        args = [*curve, draw(float_args)]
    elif name == "bootstrap_curve":
        args = [*layout, draw(float_args), draw(code)]
    elif name in ("price_streams", "z_spreads_from_prices"):
        args = [*layout, *curve, draw(float_args)]
    elif name in ("prices_from_yields", "yields_from_prices", "yield_risk"):
        args = [*layout, draw(float_args), draw(float_args)]
    elif name == "curve_risk":
        args = [*layout, *curve, draw(float_args), draw(float_args), draw(scalar)]
    elif name == "g2_swaption_prices":
        args = [*_g2(draw), draw(float_args), draw(float_args), draw(offsets)]
        args += [draw(float_args) for _ in range(4)]
        args += [draw(flag), draw(scalar), draw(st.integers(-2, 200))]
    elif name in ("instrument_flows", "bootstrap_quotes"):
        ordinals = hnp.arrays(np.int64, st.integers(0, 5), elements=st.integers(-5, 4_000_000))
        small = hnp.arrays(np.int64, st.integers(0, 5), elements=st.integers(-2, 13))
        args = [draw(st.integers(-5, 4_000_000)), draw(ordinals), draw(small), draw(small)]
        if name == "bootstrap_quotes":  # and the rates and an interpolation code
            args += [draw(float_args), draw(code)]
    elif name == "FlowBook":  # the layout, then a price call's and a risk call's arguments
        args = [layout, [*curve, draw(float_args)]]
        args += [[*curve, draw(float_args), draw(float_args), draw(scalar)]]
    elif name == "simulate_g2":
        paths = draw(st.one_of(st.integers(-2, 16), st.sampled_from([2**40 + 1, 2**63 - 1])))
        args = [*_g2(draw), draw(float_args), draw(float_args), draw(first), paths]
        args += [draw(seed), draw(flag), draw(st.integers(-2, 3))]
    elif name == "simulate_g2_multi":
        args = [draw(matrices), draw(float_args), draw(matrices), draw(groups)]
        args += [draw(float_args), draw(float_args), draw(matrices), draw(first), draw(count)]
        args += [draw(seed), draw(st.integers(-2, 3))]
    elif name == "g2_zero_bonds":
        args = [*_g2(draw), draw(scalar), draw(scalar)] + [draw(float_args) for _ in range(4)]
    elif name == "g2_revalue":
        args = [*_g2(draw), *layout, draw(float_args), draw(float_args), draw(float_args)]
        args += [draw(float_args), draw(matrices), draw(matrices)]
        args += [draw(offsets), draw(groups), draw(float_args)]
        args += [draw(groups), draw(matrices), draw(st.integers(-2, 3))]
    elif name == "G2Revaluation":  # the plan's arguments, then a revalue call's
        plan = [*_g2(draw), *layout, draw(float_args), draw(float_args), draw(float_args)]
        plan += [draw(float_args), draw(offsets), draw(groups), draw(float_args), draw(groups)]
        plan += [draw(st.integers(-2, 5))]
        args = [plan, [draw(matrices), draw(matrices), draw(matrices), draw(st.integers(-2, 3))]]
    elif name == "price_kernel_isa":
        args = []
    elif name == "exp_values":
        args = [
            draw(float_args),
            draw(st.sampled_from(["best", "portable", "avx2", "avx512", "x"])),
        ]
    elif name == "exp_isa":
        args = []
    elif name == "g2_factor_normals":
        refused = st.sampled_from([2**31 + 1, 2**62, 2**63 - 1])  # steps above 2^31
        args = [draw(seed), draw(first), draw(count), draw(st.one_of(count, refused))]
        args += [draw(st.one_of(st.integers(-2, 1002), refused)), draw(flag)]
    elif name in ("hw_lattice_prices", "hw_lattice_spreads", "hw_lattice_prices_on_curves"):
        hw = st.tuples(st.floats(1e-6, 2.0), st.floats(1e-6, 0.05))
        args = [*draw(st.one_of(hw, st.tuples(floats, floats))), *layout]
        args += [draw(offsets), draw(float_args), draw(float_args), draw(groups), *curve]
        if name == "hw_lattice_prices_on_curves":  # the bumps' knots and values
            args += [draw(float_args), draw(matrices)]
        args += [draw(float_args), draw(groups), draw(st.integers(-2, 3))]
    elif name == "mbs_mortgage_rates":
        args = [*_g2(draw), *(draw(float_args) for _ in range(3)), draw(matrices), draw(matrices)]
        args += [draw(scalar), draw(scalar)]
    elif name == "mbs_value":
        args = _mbs(draw)
    elif name == "bank_monthly_cash":
        blocks = st.lists(st.one_of(matrices, matrices, wrong), max_size=3)
        args = [draw(blocks), draw(blocks), draw(count), draw(count), draw(offsets)]
    elif name == "mbs_path_values":
        # The pools and model of mbs_value's arguments, then the G2 model, the curve, the
        # paths, the horizons and the spreads.
        base = _mbs(draw)
        args = [*base[:10], *_g2(draw), draw(float_args), draw(float_args), draw(scalar)]
        args += [draw(scalar), draw(matrices), draw(matrices), draw(matrices)]
        args += [draw(offsets), draw(float_args), draw(flag), draw(st.integers(-2, 3))]
    else:  # g2_swaption
        args = [*_g2(draw), draw(scalar), draw(scalar), draw(float_args), draw(float_args)]
        args += [draw(float_args), draw(scalar), draw(flag), draw(scalar), draw(count)]
    return name, args


def test_fuzz_covers_every_core_function():
    public = {n for n in dir(_core) if not n.startswith("_") and callable(getattr(_core, n))}
    assert public - {"ConvergenceError"} == CORE_FUNCTIONS


@hypothesis.settings(max_examples=600, deadline=None)
@hypothesis.given(core_calls())
def test_fuzz_core_raises_only_clean_errors(call):
    name, args = call
    if name == "FlowBook":
        try:
            book = _core.FlowBook(*args[0])
        except ALLOWED:
            return
        for method, method_args in (("price", args[1]), ("curve_risk", args[2])):
            with contextlib.suppress(ALLOWED):
                assert getattr(book, method)(*method_args) is not None
        return
    if name == "G2Revaluation":
        try:
            plan = _core.G2Revaluation(*args[0])
        except ALLOWED:
            return
        with contextlib.suppress(ALLOWED):
            assert plan.revalue(*args[1]) is not None
        return
    try:
        result = getattr(_core, name)(*args)
    except ALLOWED:
        return
    # A result must be numbers; non-finite outputs are allowed only for non-finite inputs.
    assert result is not None, name


def test_sizes_beyond_memory_raise_memory_error():
    # The number of paths has no cap of its own: a request whose size overflows the address
    # space fails cleanly in the allocation, as MemoryError, before any work is done.
    with pytest.raises(MemoryError):
        _core.g2_factor_normals(1, 0, 2**63 - 1, 1, 1, False)


@st.composite
def valid_shaped_layouts(draw):
    """Well-formed layouts (sorted flow times) with arbitrary values and a curve."""
    n_streams = draw(st.integers(1, 4))
    lengths = draw(st.lists(st.integers(1, 5), min_size=n_streams, max_size=n_streams))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    n = int(offsets[-1])
    times = np.concatenate(
        [np.sort(draw(hnp.arrays(np.float64, k, elements=st.floats(0.0, 100.0)))) for k in lengths]
    )
    amounts = draw(hnp.arrays(np.float64, n, elements=st.one_of(st.floats(-1e6, 1e6), nasty)))
    k = draw(st.integers(1, 6))
    pillars = np.cumsum(draw(hnp.arrays(np.float64, k, elements=st.floats(1e-3, 20.0))))
    log_dfs = draw(hnp.arrays(np.float64, k, elements=st.floats(-50.0, 5.0)))
    per_stream = draw(hnp.arrays(np.float64, n_streams, elements=floats))
    return offsets, times, amounts, pillars, log_dfs, per_stream


@hypothesis.settings(max_examples=200, deadline=None)
@hypothesis.given(valid_shaped_layouts(), st.sampled_from([0, 1, 2, 3]), st.sampled_from([0, 1]))
def test_fuzz_kernels_with_valid_shapes(data, interpolation, extrapolation):
    offsets, times, amounts, pillars, log_dfs, per_stream = data
    curve = (pillars, log_dfs, interpolation, extrapolation, np.empty(0), np.empty(0))
    freq = np.abs(np.nan_to_num(per_stream)) % 13
    calls = [
        lambda: _core.price_streams(offsets, times, amounts, *curve, per_stream),
        lambda: _core.z_spreads_from_prices(offsets, times, amounts, *curve, per_stream),
        lambda: _core.curve_risk(
            offsets, times, amounts, *curve, per_stream, np.array([1.0, 5.0]), 1e-4
        ),
        lambda: _core.prices_from_yields(offsets, times, amounts, freq, per_stream),
        lambda: _core.yields_from_prices(offsets, times, amounts, freq, per_stream),
        lambda: _core.yield_risk(offsets, times, amounts, freq, per_stream),
        lambda: _core.bootstrap_curve(offsets, times, amounts, per_stream, interpolation),
        lambda: _core.FlowBook(offsets, times, amounts).price(*curve, per_stream),
        lambda: _core.FlowBook(offsets, times, amounts).curve_risk(
            *curve, per_stream, np.array([1.0, 5.0]), 1e-4
        ),
    ]
    for call in calls:
        with contextlib.suppress(ALLOWED):
            call()


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(
    st.integers(1, 6).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.float64, n, elements=st.floats(0.01, 60.0)),
            hnp.arrays(np.float64, n, elements=st.floats(-5.0, 5.0)),
            hnp.arrays(np.float64, n, elements=st.floats(1e-6, 2.0)),
        )
    ),
    st.sampled_from([0, 1]),
)
def test_fuzz_bootstrap_with_valid_shapes(data, interpolation):
    # One flow per instrument and positive targets: a curve the core returns is finite.
    times, amounts, targets = data
    offsets = np.arange(len(times) + 1, dtype=np.int64)
    with contextlib.suppress(ALLOWED):
        _, log_dfs, _ = _core.bootstrap_curve(
            offsets, np.sort(times), amounts, targets, interpolation
        )
        assert np.all(np.isfinite(log_dfs))


def test_finite_array_names_the_shape_or_the_first_bad_entry():
    from fialloc.checks import finite_array

    out = finite_array([[1.0, 2.0]], (1, 2), "here", "x")
    assert out.dtype == np.float64
    with pytest.raises(ValueError, match=r"here: `x` has shape \(2,\); expected \(1, 2\)"):
        finite_array([1.0, 2.0], (1, 2), "here", "x")
    with pytest.raises(ValueError, match=r"here: `x` at \(0, 1\) is nan, a non-finite value"):
        finite_array([[1.0, np.nan]], (1, 2), "here", "x")


@pytest.mark.parametrize("years", [1e3 + 1e-9, 1e8, 1e9])
def test_a_pillar_in_days_or_seconds_is_refused_before_any_memory_is_asked(years):
    """A 1e8-year pillar once asked for a 1.7 GB segment table; it is a unit mistake."""
    with pytest.raises(ValueError, match=r"years and end by 1000.*days or seconds"):
        Curve.from_zero_rates([years], [0.0])
    with pytest.raises(ValueError, match=r"spread_knots.*years and end by 1000"):
        _core.discount_factors(
            np.array([1.0]),
            np.array([-0.01]),
            0,
            0,
            np.array([years]),
            np.array([0.001]),
            np.array([1.0]),
        )


def test_the_longest_accepted_pillar_prices_as_the_formula_says():
    curve = Curve.from_zero_rates([1000.0], [0.01])
    assert curve.discount(500.0) == pytest.approx(math.exp(-5.0), rel=1e-12)
