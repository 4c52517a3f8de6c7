"""Vocabularies: both rating scales with notches, non-ratings refused, sectors in any case."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fialloc import data
from fialloc.data.vocabulary import (
    GOVERNMENT_SECTORS,
    LIQUIDITY_TIERS,
    MOODYS,
    RATING_LETTERS,
    RATINGS,
    SECTORS,
    normalize_liquidity_tier,
    normalize_rating,
    normalize_rating_letter,
    normalize_sector,
    rating_letter,
    rating_notch,
)

# Moody's notched scale in order, written out by hand (not from the module's table).
MOODYS_SCALE = (
    "Aaa", "Aa1", "Aa2", "Aa3", "A1", "A2", "A3", "Baa1", "Baa2", "Baa3", "Ba1",
    "Ba2", "Ba3", "B1", "B2", "B3", "Caa1", "Caa2", "Caa3", "Ca", "C",
)  # fmt: skip


def test_moodys_scale_maps_notch_for_notch_onto_sp():
    assert tuple(normalize_rating(m) for m in MOODYS_SCALE) == RATINGS
    assert normalize_rating("Baa2") == "BBB"
    assert normalize_rating("Aa1") == "AA+"
    assert normalize_rating("Ca") == "CC"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("bbb-", "BBB-"),
        (" AA+ ", "AA+"),
        ("BAA1", "BBB+"),
        ("Aaa (sf)", "AAA"),
        ("AA(sf)", "AA"),
        ("(P)Baa3", "BBB-"),
        ("A+ *-", "A+"),
        ("Caa", "CCC"),
    ],
)
def test_spellings_of_one_rating(raw, canonical):
    assert normalize_rating(raw) == canonical


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("NR", "not rated"),
        ("WR", "rating withdrawn"),
        ("D", "in default"),
        ("SD", "in selective default"),
    ],
)
def test_non_ratings_are_refused_with_the_reason(raw, reason):
    with pytest.raises(ValueError, match=rf"'{raw}' \({reason}.*mapping file"):
        normalize_rating(raw)


@pytest.mark.parametrize("raw", ["AAA+", "Baa4", "A0", "BBBB", "", "1"])
def test_unknown_ratings_name_the_value_and_both_scales(raw):
    with pytest.raises(
        ValueError, match=r"is not a rating; expected S&P/Fitch AAA \.\. C.*Moody's"
    ):
        normalize_rating(raw)


@given(st.sampled_from(RATINGS), st.sampled_from([str.lower, str.upper, str.title]))
def test_sp_ratings_are_fixed_points_in_any_case(rating, case):
    assert normalize_rating(case(rating)) == rating


@given(st.sampled_from(sorted(MOODYS)), st.sampled_from([str.lower, str.upper, str]))
def test_moodys_ratings_keep_their_order_in_any_case(moodys, case):
    # Order is the point of a scale: a Moody's rating lands on a notch no better than the
    # one above it in the hand-written list and no worse than the one below.
    sp = normalize_rating(case(moodys))
    if moodys in MOODYS_SCALE:
        assert rating_notch(sp) == MOODYS_SCALE.index(moodys) + 1
    else:  # a letter without modifier is its middle notch
        assert rating_notch(sp) == MOODYS_SCALE.index(moodys + "2") + 1


def test_letters_and_cc_c_in_ccc():
    assert [rating_letter(r) for r in RATINGS[-5:]] == ["CCC"] * 5
    assert {rating_letter(r) for r in RATINGS} == set(RATING_LETTERS)
    assert normalize_rating_letter("Baa") == "BBB"
    with pytest.raises(ValueError, match="not a letter rating"):
        normalize_rating_letter("BBB+")


@pytest.mark.parametrize(
    ("raw", "sector"),
    [
        ("Treasury", "treasury"),
        ("TREASURY STRIP", "treasury_strip"),
        ("High-Yield", "high_yield"),
        (" private placement ", "private_placement"),
    ],
)
def test_sectors_in_any_case_and_spacing(raw, sector):
    assert normalize_sector(raw) == sector


def test_unknown_sector_names_the_value_and_the_list():
    with pytest.raises(ValueError, match="is not a known sector") as info:
        normalize_sector("Govt")
    assert "'Govt' is not a known sector" in str(info.value)
    assert all(s in str(info.value) for s in SECTORS)
    with pytest.raises(ValueError, match="'tier 9' is not a known liquidity tier; expected"):
        normalize_liquidity_tier("tier 9")
    assert normalize_liquidity_tier("Level2A") == "level2a"
    assert set(GOVERNMENT_SECTORS) <= set(SECTORS)
    assert len(LIQUIDITY_TIERS) == 5


@pytest.fixture(scope="module")
def demo_tables(demo_portfolio):
    demo = demo_portfolio
    names = ("securities", "holdings", "managers", "liabilities", "curve_quotes", "fx_spot")
    names += ("linkers", "cpi_history", "inflation_swaps")
    tables = {name: getattr(demo, name).reset_index(drop=True) for name in names}
    return demo, {**tables, "spreads": demo.spreads, "market_history": demo.market_history}


def test_title_case_sectors_and_moodys_ratings_give_the_same_book(demo_tables):
    # The reported fault: "Treasury" was silently not government, and tracking error moved.
    _, tables = demo_tables
    inverse: dict[str, str] = {}
    for m, sp in MOODYS.items():
        inverse.setdefault(sp, m)
    sec = (
        tables["securities"]
        .assign(
            sector=tables["securities"]["sector"].str.title(),
            rating=tables["securities"]["rating"].map(inverse),
            liquidity_tier=tables["securities"]["liquidity_tier"].str.upper(),
        )
        .drop(columns="z_spread")
    )
    spreads = tables["spreads"].assign(rating=tables["spreads"]["rating"].str.lower())
    again = data.from_tables({**tables, "securities": sec, "spreads": spreads}, DEMO_VD)
    plain = data.from_tables(
        {**tables, "securities": tables["securities"].drop(columns="z_spread")}, DEMO_VD
    )
    pd.testing.assert_frame_equal(again.securities, plain.securities)
    pd.testing.assert_series_equal(again.z_spreads, plain.z_spreads)
    assert (again.z_spreads[again.securities["sector"] == "treasury"] == 0.0).all()


DEMO_VD = data.DEMO_VALUATION
