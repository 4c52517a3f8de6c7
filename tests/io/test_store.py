"""The results store: folder content, byte-identical reruns, atomic writes, any fsspec root."""

import hashlib
import json
from pathlib import Path

import fsspec
import pandas as pd
import pytest

import fialloc.data as data
from fialloc import pipeline, store
from fialloc.catalog import Catalog
from fialloc.report import render_stored
from fialloc.results import RunResponse, build_response


@pytest.fixture(scope="module")
def run(demo_pipeline_run):
    result, _ = demo_pipeline_run
    return result, build_response(result)


@pytest.fixture
def memory_root():
    fs = fsspec.filesystem("memory")
    root = "memory://fialloc-test-store"
    yield root
    if fs.exists("/fialloc-test-store"):
        fs.rm("/fialloc-test-store", recursive=True)


def test_a_run_folder_holds_results_tables_report_and_manifest(tmp_path, run):
    result, response = run
    record = store.write_run(
        str(tmp_path), result, response, source="demo (seed 7)", seeds={"demo_seed": 7},
        render=render_stored,
    )  # fmt: skip
    folder = Path(record.url)
    assert folder.parent == tmp_path
    assert [p.name for p in tmp_path.iterdir()] == [record.run_id]  # the catalog syncs on open
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["run_id"] == record.run_id
    assert manifest["seeds"] == {"scenario_seed": 3, "demo_seed": 7}
    assert manifest["parameters"]["n_paths"] == 200
    assert manifest["parameters"]["mandate"]["max_shift"] == pytest.approx(0.05)
    assert manifest["versions"]["fialloc"]
    assert manifest["versions"]["numpy"]
    assert set(manifest["timings"]) == set(pipeline.STAGES)
    assert manifest["headline"]["yield_after"] == response.integrated_strategy["yield_after"]
    # Every file is listed with its hash, and the hashes are right.
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    assert "report.html" in manifest["files"]
    stored = json.loads((folder / "results.json").read_text())
    assert stored["timings"] == {}  # run time lives in the manifest only
    assert stored["integrated_strategy"] == response.integrated_strategy
    assert stored["allocation_recommendations"][0]["recommended_weight"] == pytest.approx(
        float(result.allocation.weights.iloc[0]), abs=0.0
    )
    gaps = pd.read_parquet(folder / "tables" / "krd_gaps.parquet")
    pd.testing.assert_frame_equal(gaps, result.gaps)
    weights = pd.read_parquet(folder / "tables" / "weights.parquet")
    assert weights["recommended"].to_numpy() == pytest.approx(
        result.allocation.weights.to_numpy(), abs=0.0
    )
    by_manager = pd.read_parquet(folder / "tables" / "stress_by_manager.parquet")
    # The store writes the pipeline's table as it is: nothing recomputed.
    assert list(by_manager.index) == list(result.stress_by_manager.index)
    assert by_manager.to_numpy() == pytest.approx(result.stress_by_manager.to_numpy(), abs=0.0)
    # The managers' asset changes add up to the book's change under every stress.
    summary = result.stresses.summary()
    assert by_manager.sum(axis=0).to_numpy() == pytest.approx(
        summary["assets_change"].to_numpy(), rel=1e-9, abs=1.0
    )
    assert {"desk_credit_manager_skill", "desk_liquidity_redemptions", "plan_trades"} <= set(
        store.read_run(record.url).tables
    )


def test_same_inputs_and_seed_give_byte_identical_results_files(tmp_path, run):
    result, response = run
    again = pipeline.run(data.demo(), n_paths=200, scenario_seed=3)
    a = store.write_run(str(tmp_path), result, response)
    b = store.write_run(str(tmp_path), again, build_response(again))
    assert a.run_id != b.run_id
    files_a, files_b = a.manifest["files"], b.manifest["files"]
    assert files_a == files_b  # every results.json and Parquet byte, by hash
    assert (Path(a.url) / "results.json").read_bytes() == (
        Path(b.url) / "results.json"
    ).read_bytes()


def test_the_results_schema_file_matches_the_response_model():
    shipped = Path(store.__file__).parent / "schemas" / "results.schema.json"
    assert shipped.read_text() == store.results_schema()
    schema = json.loads(shipped.read_text())
    assert set(schema["required"]) >= {
        "integrated_strategy",
        "allocation_recommendations",
        "implementation_plan",
        "detailed_results",
    }


def test_stored_results_read_back_into_the_response_model(tmp_path, run):
    result, response = run
    record = store.write_run(str(tmp_path), result, response)
    back = store.read_run(record.run_id[:12], str(tmp_path))
    assert isinstance(back.response, RunResponse)
    assert back.response.model_copy(update={"timings": response.timings}) == response
    assert back.record.manifest == record.manifest


class Interrupted(RuntimeError):
    pass


def _fail_after(monkeypatch, n):
    real = store._parquet_bytes
    calls = []

    def flaky(table):
        calls.append(1)
        if len(calls) > n:
            msg = "disk pulled mid-write"
            raise Interrupted(msg)
        return real(table)

    monkeypatch.setattr(store, "_parquet_bytes", flaky)


def test_an_interrupted_local_write_leaves_no_run_behind(tmp_path, run, monkeypatch):
    result, response = run
    _fail_after(monkeypatch, 5)
    with pytest.raises(Interrupted):
        store.write_run(str(tmp_path), result, response)
    assert [p.name for p in tmp_path.iterdir()] == []  # not even the temporary sibling
    assert store.complete_runs(str(tmp_path)) == []
    with Catalog(str(tmp_path)) as catalog:
        assert catalog.runs().empty


def test_a_killed_write_leaves_only_a_hidden_temporary_folder_that_is_ignored(tmp_path, run):
    result, response = run
    record = store.write_run(str(tmp_path), result, response)
    # What a process killed mid-write leaves: a temporary sibling without a manifest.
    half = tmp_path / ".tmp-20990101T000000Z-dead00"
    (half / "tables").mkdir(parents=True)
    (half / "results.json").write_text("{}")
    # And a folder someone copied in by hand without its manifest.
    (tmp_path / "20990101T000000Z-nomani").mkdir()
    assert [r.run_id for r in store.complete_runs(str(tmp_path))] == [record.run_id]


def test_object_stores_write_the_manifest_last_and_skip_unfinished_folders(
    memory_root, run, monkeypatch
):
    result, response = run
    done = store.write_run(memory_root, result, response, render=render_stored)
    assert done.url.startswith("memory://")
    _fail_after(monkeypatch, 3)
    with pytest.raises(Interrupted):
        store.write_run(memory_root, result, response)
    fs = fsspec.filesystem("memory")
    assert len(fs.ls("/fialloc-test-store")) == 1  # the failed folder is removed
    assert [r.run_id for r in store.complete_runs(memory_root)] == [done.run_id]
    back = store.read_run(done.url)
    assert back.response.integrated_strategy == response.integrated_strategy
    assert "plotly" in fs.cat_file(f"{done.url}/report.html").decode()[:200_000].lower()


def test_unknown_runs_and_empty_roots_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="no run with that id"):
        store.read_run("nope", str(tmp_path))
    with pytest.raises(ValueError, match="not a complete run folder"):
        store.find_run(str(tmp_path))
    with pytest.raises(ValueError, match="output root is empty"):
        store.write_run(" ", None, None)  # type: ignore[arg-type]


def test_input_hashes_cover_every_file(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.json").write_text("{}")
    hashes = store.input_hashes(tmp_path)
    assert sorted(hashes) == ["a.csv", "b.json"]
    assert all(len(h) == 64 for h in hashes.values())
    assert store.input_hashes(None) == {}


def test_a_run_is_kept_when_the_catalog_cannot_be_opened(tmp_path, run):
    result, response = run
    (tmp_path / "catalog.duckdb").write_text("held or damaged")
    record = store.write_run(str(tmp_path), result, response)
    assert [r.run_id for r in store.complete_runs(str(tmp_path))] == [record.run_id]
    (tmp_path / "catalog.duckdb").unlink()
    with Catalog(str(tmp_path)) as catalog:  # rebuilt from the manifests
        assert list(catalog.runs()["run_id"]) == [record.run_id]


def test_clock_readings_of_agents_stay_out_of_the_results(tmp_path, run):
    result, response = run
    agents = {"credit": {"analysis": "Credit beta.", "model": "offline", "started": 0.25,
                         "finished": 0.5}}  # fmt: skip
    timed = response.model_copy(
        update={
            "detailed_results": {**response.detailed_results, "agents": agents},
            "timings": {**response.timings, "agent_credit": 0.25},
        }
    )
    record = store.write_run(str(tmp_path), result, timed)
    stored = json.loads((Path(record.url) / "results.json").read_text())
    assert stored["detailed_results"]["agents"] == {
        "credit": {"analysis": "Credit beta.", "model": "offline"}
    }
    assert stored["timings"] == {}
    assert record.manifest["timings"]["agent_credit"] == 0.25
