"""The drift power study on 5 generated books: the generator plants what it says, and the
detector's rates land where the 50-book study (BENCHMARKS.md) puts them."""

import numpy as np
import pytest

from fialloc.analytics import drift_study


@pytest.fixture(scope="module")
def results():
    return drift_study.run_study(5, seed=3)


def test_generated_books_plant_ramps_on_active_characteristics():
    book = drift_study.generate_drift_book(11)
    truth = book.truth
    assert 10 <= len(truth) <= 60
    n = len(next(iter(book.managers.values())))
    assert 36 <= n <= 120
    drifted = truth[truth["drifted"]]
    assert len(drifted) > 0
    for mid, row in drifted.iterrows():
        active = (book.managers[mid] - book.benchmarks[mid])[row["characteristic"]].to_numpy()
        start, ramp = int(row["start"]), int(row["ramp"])
        assert drift_study.BUFFER <= start <= n - drift_study.BUFFER
        assert 0.5 <= abs(row["size_sd"]) <= 3.0
        assert 1 <= ramp <= 6
        # After the ramp the level has moved by about the planted size (noise aside).
        moved = active[start + ramp :].mean() - active[:start].mean()
        assert np.sign(moved) == np.sign(row["size_sd"]) or abs(row["size_sd"]) < 1.5
    # Benchmarks move on their own (random walk and a rebalancing step), so absolute
    # characteristics drift even where the active ones do not.
    some = next(iter(book.benchmarks.values()))
    assert some["duration"].std() > 0.0


def test_five_book_study_rates(results):
    table = drift_study.summarize(results)
    assert table.loc["false positives per null manager", "value"] <= 0.05
    assert table.loc["false positives, absolute characteristics", "value"] > 0.3
    assert table.loc["drift recall, 2-3 sd", "value"] >= 0.6
    assert table.loc["start error (months), median", "value"] <= 2.0
    assert table.loc["start inside its 90% interval", "value"] >= 0.8
    recall = table.loc["drift recall, size >= 1 sd"]
    assert recall["low"] <= recall["value"] <= recall["high"]
    # Knowing the date beats knowing only the noise, which beats estimating it.
    scan = table.loc["scan oracle recall, size >= 1 sd", "value"]
    assert table.loc["oracle recall, size >= 1 sd", "value"] >= scan >= recall["value"]


def test_wilson_interval_matches_the_formula():
    lo, hi = drift_study.wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4)
    assert hi == pytest.approx(0.9433, abs=1e-4)
    assert drift_study.wilson(0, 20)[0] == 0.0
    assert np.isnan(drift_study.wilson(0, 0)[0])


def test_the_study_refuses_no_books():
    with pytest.raises(ValueError, match="n_books"):
        drift_study.run_study(0)
