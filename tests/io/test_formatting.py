import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fialloc.formatting import change_bp, count, money, num, pct, unsigned_zero


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (-2.163e9, "-$2.16B"),
        (40e9, "$40.00B"),
        (-450.3e6, "-$450.3M"),
        (-999.99e6, "-$1.00B"),
        (999.9e6, "$999.9M"),
        (12_345.0, "$0.0M"),
        (-12_345.0, "$0.0M"),
        (None, ""),
        (math.nan, ""),
    ],
)
def test_money_puts_the_sign_before_the_symbol(value, text):
    assert money(value) == text


def test_zero_has_no_sign_and_missing_values_are_empty():
    assert pct(-0.00001) == "0.00%"
    assert pct(-0.0001) == "-0.01%"
    assert num(-0.001) == "0.00"
    assert unsigned_zero("-0.00%") == "0.00%"
    assert unsigned_zero("-0.01%") == "-0.01%"
    assert pct(None) == ""


def test_a_change_hidden_by_rounding_is_shown_in_bp():
    assert change_bp(0.04684, 0.04676) == "4.68% (-0.8 bp)"
    assert change_bp(0.0468, 0.0470) == "4.70%"
    assert change_bp(0.0468, 0.0468) == "4.68%"


@given(st.floats(-1e12, 1e12, allow_nan=False))
def test_money_round_trips_its_sign(value):
    text = money(value)
    assert text.startswith(("-$", "$"))
    assert "$-" not in text
    if text.startswith("-"):
        assert value < 0


def test_count_says_one_noun_or_many():
    assert count(1, "problem") == "1 problem"
    assert count(0, "month") == "0 months"
    assert count(1_234, "cycle") == "1,234 cycles"
