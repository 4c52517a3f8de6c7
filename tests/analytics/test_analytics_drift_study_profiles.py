"""The drift power study's profile books (key-rate buckets and sector weights): what they plant.

What the detector finds on five of them is checked by the benchmarks' smoke run (CI's
``pytest benchmarks --benchmark-disable``: bench_drift_detection.py's profile study runs on
its first five books there), which ran the same 5-book study beside this suite's copy."""

import numpy as np

from fialloc.analytics import drift_study


def test_profile_books_add_key_rate_buckets_and_sectors_consistently():
    # Last rounds' profile books: single drifts only.
    plain = drift_study.generate_drift_book(11, joint_share=0.0)
    book = drift_study.generate_drift_book(11, profile=True, joint_share=0.0)
    buckets = ["krd_short", "krd_intermediate", "krd_long"]
    sectors = ["sector_government", "sector_corporate", "sector_securitized"]
    # The four characteristics' draws are the profile-free book's; duration becomes the sum
    # of the buckets plus its own noise.
    assert list(book.truth.index) == list(plain.truth.index)
    assert (book.truth["drifted"] == plain.truth["drifted"]).all()
    same = ["spread_duration", "credit_notch", "high_yield_share"]
    for mid in plain.managers:
        if not plain.truth.loc[mid, "drifted"]:
            np.testing.assert_allclose(book.managers[mid][same], plain.managers[mid][same])
        np.testing.assert_allclose(book.benchmarks[mid][sectors].sum(axis=1), 1.0, atol=1e-12)
        np.testing.assert_allclose(book.managers[mid][sectors].sum(axis=1), 1.0, atol=1e-12)
    drifted = book.truth[book.truth["drifted"]]
    kinds = set(drifted["characteristic"])
    assert kinds & set(buckets)
    assert kinds & set(sectors)
    checked = 0
    for manager, row in drifted.iterrows():
        active = book.managers[str(manager)] - book.benchmarks[str(manager)]
        start, ramp, c = int(row["start"]), int(row["ramp"]), row["characteristic"]
        planted = row["size_sd"] * row["sd"]

        def moved(column, active=active, start=start, ramp=ramp):
            return active[column].iloc[start + ramp :].mean() - active[column].iloc[:start].mean()

        if c in buckets or c in sectors:
            assert row["counterpart"] in (buckets if c in buckets else sectors)
        elif c == "duration":
            assert row["counterpart"] in buckets
        else:
            assert row["counterpart"] == ""
        if abs(row["size_sd"]) < 2.0:
            continue
        checked += 1
        assert np.sign(moved(c)) == np.sign(planted)
        if row["counterpart"]:
            # The counterpart moves too: the other way in a curve trade or a rotation, the
            # same way when a duration drift lands in its bucket.
            same_way = c == "duration"
            assert np.sign(moved(row["counterpart"])) == np.sign(planted) * (1 if same_way else -1)
        if c in buckets:
            # A curve trade leaves duration where it was (up to the noise).
            assert abs(moved("duration")) < abs(moved(c))
    assert checked >= 3
