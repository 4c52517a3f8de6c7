"""The runs catalog: listing, diffs between runs, and healing from the runs' manifests."""

import dataclasses
import shutil

import pytest

from fialloc import pipeline, store
from fialloc.catalog import CATALOG, Catalog
from fialloc.data.mandate_files import parse_mandate
from fialloc.results import build_response


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, demo_portfolio, demo_pipeline_run):
    root = tmp_path_factory.mktemp("runs")
    base = demo_pipeline_run[0]  # the session's demo run: 200 paths, scenario seed 3
    tight = dataclasses.replace(
        demo_portfolio,
        mandate=parse_mandate({**demo_portfolio.mandate.model_dump(), "max_shift": 0.02}),
    )
    again = pipeline.run(tight, n_paths=200, scenario_seed=3)
    a = store.write_run(str(root), base, build_response(base), source="demo (seed 7)")
    b = store.write_run(str(root), again, build_response(again), source="demo, max shift 2%")
    return root, a, b


def test_runs_lists_every_run_with_its_headline(two_runs):
    root, a, b = two_runs
    with Catalog(str(root)) as catalog:
        runs = catalog.runs()
    assert list(runs["run_id"]) == [a.run_id, b.run_id]
    row = runs.set_index("run_id").loc[b.run_id]
    assert row["source"] == "demo, max shift 2%"
    assert row["n_paths"] == 200
    assert row["yield_after"] == b.manifest["headline"]["yield_after"]
    assert row["shortfall_probability_before"] == pytest.approx(
        b.manifest["headline"]["shortfall_probability_before"]
    )


def test_diff_compares_weights_and_risk(two_runs):
    root, a, b = two_runs
    with Catalog(str(root)) as catalog:
        diff = catalog.diff(a.run_id, b.run_id)
    ra = {r.manager_id: r for r in store.read_run(a.url).response.allocation_recommendations}
    rb = {r.manager_id: r for r in store.read_run(b.url).response.allocation_recommendations}
    assert list(diff.weights.index) == sorted(ra)
    for mid, row in diff.weights.iterrows():
        assert row["recommended_a"] == ra[mid].recommended_weight
        assert row["recommended_change"] == pytest.approx(
            rb[mid].recommended_weight - ra[mid].recommended_weight, abs=1e-15
        )
    # The tighter shift limit moves no manager by more than 2%, the looser one does.
    assert (diff.weights["recommended_b"] - diff.weights["current_b"]).abs().max() <= 0.02 + 1e-6
    assert (diff.weights["recommended_a"] - diff.weights["current_a"]).abs().max() > 0.02 + 1e-6
    assert diff.risk.loc["yield_after", "change"] == pytest.approx(
        b.manifest["headline"]["yield_after"] - a.manifest["headline"]["yield_after"]
    )
    assert diff.risk.loc["yield_before", "change"] == pytest.approx(0.0, abs=1e-15)


def test_a_lost_catalog_is_rebuilt_from_the_manifests(two_runs, tmp_path):
    _root, a, b = two_runs
    copy = tmp_path / "copy"
    for run in (a, b):
        shutil.copytree(run.url, copy / run.run_id)
    assert not (copy / CATALOG).exists()
    with Catalog(str(copy)) as catalog:
        assert set(catalog.runs()["run_id"]) == {a.run_id, b.run_id}
    assert (copy / CATALOG).exists()


def test_ambiguous_or_unknown_run_ids_are_clear_errors(two_runs):
    root, a, _ = two_runs
    with Catalog(str(root)) as catalog:
        with pytest.raises(ValueError, match="2 runs"):
            catalog.resolve(a.run_id[:4])
        with pytest.raises(ValueError, match="no run"):
            catalog.diff("missing", a.run_id)


@pytest.mark.parametrize("damage", [b"", b"not a database", bytes(range(256)) * 64, "truncate"])
def test_a_damaged_catalog_is_set_aside_and_rebuilt(two_runs, damage):
    root, a, b = two_runs
    path = root / CATALOG
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:4096])
    else:
        path.write_bytes(damage)
    for _ in range(2):  # and it stays usable afterwards
        with Catalog(str(root)) as catalog:
            assert set(catalog.runs()["run_id"]) == {a.run_id, b.run_id}
    assert (root / f"{CATALOG}.damaged").exists()


def test_a_catalog_held_by_another_process_is_an_os_error(tmp_path):
    import subprocess
    import sys

    path = tmp_path / CATALOG
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,sys; c=duckdb.connect({str(path)!r}); "
         "print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(OSError, match="in use by another process"):
            Catalog(str(tmp_path))
    finally:
        holder.communicate("")


@pytest.mark.parametrize("damage", ["manifest", "results"])
def test_one_damaged_run_is_named_and_the_others_listed(two_runs, damage, tmp_path):
    root, a, b = two_runs
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    (copy / CATALOG).unlink()
    name = "manifest.json" if damage == "manifest" else "results.json"
    (copy / a.run_id / name).write_bytes(b"\x00\xff garbage")
    with Catalog(str(copy)) as catalog:
        assert list(catalog.runs()["run_id"]) == [b.run_id]
        (line,) = catalog.damaged
    assert line.startswith(a.run_id)


def test_stale_temporary_folders_of_killed_runs_are_removed(two_runs):
    import os
    import time

    root, _a, _b = two_runs
    stale, fresh = root / ".tmp-stale", root / ".tmp-fresh"
    stale.mkdir()
    fresh.mkdir()
    old = time.time() - 7200
    os.utime(stale, (old, old))
    with Catalog(str(root)):
        pass
    assert not stale.exists()
    assert fresh.exists()


def test_runs_written_in_one_second_are_listed_in_the_order_written(tmp_path, demo_pipeline_run):
    """Their ids share the second; the creation time keeps the microseconds that order them."""
    import datetime as dt

    run = demo_pipeline_run[0]
    response = build_response(run)
    first = dt.datetime(2026, 12, 7, 16, 0, 0, 900_000, tzinfo=dt.timezone.utc)
    written = [
        store.write_run(str(tmp_path), run, response, now=first + dt.timedelta(microseconds=k))
        for k in range(4)
    ]
    order = [r.run_id for r in written]
    assert [r.run_id for r in store.complete_runs(str(tmp_path))] == order
    with Catalog(str(tmp_path)) as catalog:
        assert list(catalog.runs()["run_id"]) == order
