"""The drift power study's books: the generator plants what it says; the study's arguments.

Where the detector's rates land on five books (against the 50-book study in BENCHMARKS.md)
is checked by the benchmarks' smoke run (CI's ``pytest benchmarks --benchmark-disable``:
bench_drift_detection.py's held-out study runs on its first five books there), which ran
the same 5-book study beside this suite's copy."""

import numpy as np
import pytest

from fialloc.analytics import drift_study


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


def test_joint_drifts_move_their_series_along_the_stated_loadings():
    book = drift_study.generate_drift_book(11)
    plain = drift_study.generate_drift_book(11, joint_share=0.0)
    truth = book.truth
    joint = truth[truth["family"].isin(list(drift_study.JOINT_FAMILIES))]
    assert set(joint["family"]) == {"quality", "extension"}
    for mid, row in joint.iterrows():
        lead, loadings = drift_study.JOINT_FAMILIES[row["family"]]
        assert row["characteristic"] == lead
        lead_move = row[f"move_{lead}"]
        moved = {c: row[f"move_{c}"] for c in ("duration", "spread_duration", "credit_notch",
                                                "high_yield_share")}  # fmt: skip
        for c, per_unit in loadings.items():
            # Each loading is the stated one scaled by a draw from 0.5 to 1.5.
            assert 0.5 * per_unit <= moved[c] / lead_move <= 1.5 * per_unit
        assert {c for c, v in moved.items() if v != 0.0} == {lead, *loadings}
        # The move's length in sd of the noises is the planted size.
        length = np.sqrt(sum((v / row[f"sd_{c}"]) ** 2 for c, v in moved.items()))
        assert length == pytest.approx(abs(row["size_sd"]), rel=1e-12)
        # The planted path: against the book without joint drifts, where the same draws made
        # a single drift (same start and ramp) instead.
        diff = book.managers[mid] - plain.managers[mid]
        n, start, ramp = len(diff), int(row["start"]), int(row["ramp"])
        assert (plain.truth.loc[mid, "start"], plain.truth.loc[mid, "ramp"]) == (start, ramp)
        unit = np.clip((np.arange(n) - start + 1) / ramp, 0.0, 1.0)
        for c, v in moved.items():
            single = plain.truth.loc[mid, f"move_{c}"]
            np.testing.assert_allclose(diff[c].to_numpy(), (v - single) * unit, atol=1e-12)
    # Managers without a drift, and single drifts, are last rounds' to the digit.
    for mid in truth.index[truth["family"].isin(["", "single"])]:
        np.testing.assert_array_equal(book.managers[mid], plain.managers[mid])
    with pytest.raises(ValueError, match="joint_share"):
        drift_study.generate_drift_book(11, joint_share=1.5)


def test_wilson_interval_matches_the_formula():
    lo, hi = drift_study.wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4)
    assert hi == pytest.approx(0.9433, abs=1e-4)
    assert drift_study.wilson(0, 20)[0] == 0.0
    assert np.isnan(drift_study.wilson(0, 0)[0])
    # All or none: the interval holds the observed rate (the formula's 1 - 1e-16 at 10 of 10
    # left a recall of 1.0 outside its own interval).
    for n in range(1, 41):
        assert drift_study.wilson(n, n)[1] == 1.0
        assert drift_study.wilson(0, n)[0] == 0.0


def test_the_study_refuses_no_books():
    with pytest.raises(ValueError, match="n_books"):
        drift_study.run_study(0)
