"""The drift power study on 5 generated books: the generator plants what it says, and the
detector's rates land where the 50-book study (BENCHMARKS.md) puts them."""

import numpy as np
import pandas as pd
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
    # Knowing the date beats knowing only the noise, which beats estimating it; knowing the
    # drifted characteristic too beats searching all of them.
    scan = table.loc["scan oracle recall, size >= 1 sd", "value"]
    assert table.loc["oracle recall, size >= 1 sd", "value"] >= scan >= recall["value"]
    assert scan >= table.loc["all-series scan oracle recall, size >= 1 sd", "value"]
    assert table.loc["all-series scan oracle false positives", "value"] <= 0.05
    # Recall by months from the start splits the drifts >= 1 sd; a drift of 1 sd of the
    # month-to-month change is at least 1 sd of the level (phi <= 0.5), so that set is nested.
    by_after = [
        table.loc[f"drift recall >= 1 sd, {span} months from the start", "n"]
        for span in ("12-23", "24-47", "48-120")
    ]
    assert sum(by_after) == recall["n"]
    drifted = results[results["drifted"].astype(bool)]
    monthly = drifted["size_sd"].abs() / np.sqrt(2.0 * (1.0 - drifted["phi"]))
    row = table.loc["drift recall, size >= 1 sd of the month-to-month change"]
    assert row["n"] == (monthly >= 1.0).sum() <= recall["n"]
    assert row["value"] == pytest.approx(drifted.loc[monthly >= 1.0, "flagged"].mean())


def test_five_book_study_by_family(results):
    table = drift_study.summarize(results)
    for family in ("single", "quality", "extension"):
        row = table.loc[f"drift recall >= 1 sd, family {family}"]
        assert row["n"] > 0
        assert row["low"] <= row["value"] <= row["high"]
    # One scan gives both detectors; the shipped one is the max-T alone (JOINT_DRIFT off).
    assert results["flagged"].equals(results["flagged_max_t"])
    for detector in ("max_t", "combined"):
        assert table.loc[f"{detector}: false positives per null manager", "value"] <= 0.05
    assert (results["p_combined"] <= results["p_max_t"] * 2.0 + 1e-9).all()
    joint = results[results["family"].isin(["quality", "extension"]) & results["flagged"]]
    assert ((joint["joint_start"] - joint["start"]).abs().median()) <= 2.0


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


def _whole(table: pd.DataFrame) -> pd.Series:
    """The breakdown's row over all drifts >= 1 sd."""
    return table.xs("all", level="split").iloc[0]


def test_breakdown_splits_the_drifts_and_reads_every_level_off_the_p_values(results):
    for level in (0.01, 0.05):
        table = drift_study.breakdown(results, level)
        drifted = results[results["drifted"].astype(bool)]
        big = drifted[drifted["size_sd"].abs() >= 1.0]
        whole = _whole(table)
        assert whole["n"] == len(big)
        assert whole["detector"] == pytest.approx((big["p_value"] <= level).mean())
        assert whole["all_series"] == pytest.approx((big["p_scan_oracle_all"] <= level).mean())
        assert whole["low"] <= whole["detector"] <= whole["high"]
        # Every split covers each drift once.
        for split in ("months from the start", "months of history", "ramp (months)",
                      "noise autocorrelation", "family"):  # fmt: skip
            assert table.xs(split, level="split")["n"].sum() == len(big)
        # At the study's own level the oracles' recorded verdicts are their p-values'.
        if level == results["level"].iloc[0]:
            assert whole["scan"] == pytest.approx(big["scan_oracle"].mean())
            assert whole["known_date"] == pytest.approx(big["oracle_power"].mean())
    looser = _whole(drift_study.breakdown(results, 0.05))
    stricter = _whole(drift_study.breakdown(results, 0.01))
    recalls = ["detector", "known_phi", "all_series", "scan", "known_date"]
    assert bool((looser[recalls] >= stricter[recalls]).all())
    with pytest.raises(ValueError, match="level"):
        drift_study.breakdown(results, 1.0)


def test_knowing_the_autocorrelation_is_calibrated_and_finds_more(results):
    table = drift_study.summarize(results)
    assert table.loc["known-autocorrelation max-T false positives", "value"] <= 0.05
    known = table.loc["known-autocorrelation max-T recall, size >= 1 sd", "value"]
    assert known >= table.loc["drift recall, size >= 1 sd", "value"] - 0.05
