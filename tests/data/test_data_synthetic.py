"""The scaled synthetic book: the demo's structure at any size, validated like any input."""

import pandas as pd
import pytest

import fialloc.data as data
from fialloc.data.demo import synthetic_tables


@pytest.fixture(scope="module")
def book():
    return data.synthetic(60, 1500, seed=4)


def test_sizes_weights_and_holdings(book):
    assert len(book.managers) == 60
    assert len(book.securities) == 1500
    assert book.current_weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert book.total_assets == pytest.approx(40e9, rel=1e-9)
    # Every security is held by someone, every manager holds something.
    assert (book.face.sum(axis=0) > 0).all()
    assert (book.face.gt(0).sum(axis=1) >= 2).all()
    assert book.managers.index.is_unique
    assert book.securities.index.is_unique


def test_managers_cycle_through_the_demo_styles_and_truths(book, demo_portfolio):
    demo = demo_portfolio
    styles = book.managers["style"].to_numpy()
    us = list(demo.managers["style"].iloc[:25])  # the demo's global and TIPS managers aside
    assert list(styles[:25]) == us
    assert list(styles[25:50]) == us
    _, truth = synthetic_tables(60, 1500, seed=4)
    # M06, M16, M17 carry BBB beta in the demo: so do M031, M041, M042 and M056.
    assert truth.bbb_beta_managers == ("M006", "M016", "M017", "M031", "M041", "M042", "M056")
    assert set(truth.drifting_managers) == {"M022", "M023", "M047", "M048"}
    # The minimum allocation scales down so that the smallest sleeve can meet it.
    assert book.mandate.min_allocation == pytest.approx(0.25 / 60)


def test_same_seed_same_book_other_seed_other_book(book):
    again = data.synthetic(60, 1500, seed=4)
    pd.testing.assert_frame_equal(again.holdings, book.holdings)
    other = data.synthetic(60, 1500, seed=5)
    assert not other.holdings["par"].equals(book.holdings["par"])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0, 1000), "n_managers"),
        ((10_001, 1000), "n_managers"),
        ((True, 1000), "n_managers"),
        ((10, 99), "n_securities"),
        ((10, 2.5e3), "n_securities"),
        (("10", 1000), "n_managers"),
    ],
)
def test_bad_sizes_are_refused(args, match):
    with pytest.raises(ValueError, match=match):
        data.synthetic(*args)
