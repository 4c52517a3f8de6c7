"""Capacity planning: the fit recovers known costs, sizing follows the rules, files validate."""

import json
import math

import pytest

from fialloc import capacity
from fialloc.capacity import BookSize, Calibration, Measurement
from fialloc.cli import main
from fialloc.errors import InputError

#: A machine with known costs: stage seconds = intercept + slope x size measure.
KNOWN = {
    "start": {"intercept": 4.0},
    "load": {"intercept": 0.2, "S": 2e-3},
    "analytics": {"intercept": 0.05, "S": 1e-4},
    "stresses": {"intercept": 0.1, "S": 3e-4},
    "scenarios": {"intercept": 0.02, "PH": 2e-6, "PHS": 4e-8, "PHM": 1e-7},
    "desks": {"intercept": 1.0, "M": 0.1, "S": 1e-4},
    "optimize": {"intercept": 0.5, "M": 0.15, "S": 5e-5},
    "robustness": {"intercept": 0.3, "PHM": 2e-6},
    "plan": {"intercept": 0.6, "M": 0.01, "S": 1e-5},
    "outputs": {"intercept": 0.4, "M": 0.02, "S": 1e-5},
}
MEMORY = {"intercept": 230.0, "S": 0.05, "PHM": 2e-5, "PHS": 1e-7}


def _value(terms, size):
    x = size.drivers()
    return terms["intercept"] + sum(c * x[t] for t, c in terms.items() if t != "intercept")


def _measured(size, workers=None):
    seconds = {stage: _value(terms, size) for stage, terms in KNOWN.items()}
    return Measurement(size, seconds, _value(MEMORY, size), workers)


def _calibration(threads=2):
    return Calibration(
        stages=KNOWN, memory=MEMORY, threads=threads, dask_start_s=3.0, dask_overhead_s=1.5
    )


def test_the_fit_recovers_the_costs_that_made_the_measurements():
    fitted = capacity.fit([_measured(s) for s in capacity.PROBE_SIZES], threads=2)
    for stage, terms in KNOWN.items():
        for term, value in terms.items():
            assert fitted.stages[stage][term] == pytest.approx(value, rel=1e-6, abs=1e-12)
    for term, value in MEMORY.items():
        assert fitted.memory[term] == pytest.approx(value, rel=1e-6)


def test_the_fit_never_gives_a_negative_cost_and_predicts_within_noise():
    """5% noise on each measurement: the non-negative fit predicts a larger book within 15%."""
    import numpy as np

    rng = np.random.default_rng(3)
    noisy = []
    for size in capacity.PROBE_SIZES:
        exact = _measured(size)
        seconds = {k: v * (1 + rng.uniform(-0.05, 0.05)) for k, v in exact.seconds.items()}
        noisy.append(Measurement(size, seconds, exact.peak_mb * (1 + rng.uniform(-0.05, 0.05))))
    fitted = capacity.fit(noisy, threads=2)
    assert all(v >= 0 for terms in fitted.stages.values() for v in terms.values())
    target = BookSize(40, 2000, 2000, 10)
    predicted = capacity.predict(fitted, target)
    exact = _measured(target)
    assert predicted.seconds == pytest.approx(exact.total, rel=0.15)
    assert predicted.peak_mb == pytest.approx(exact.peak_mb, rel=0.15)


def test_the_dask_overhead_is_what_the_cluster_run_took_beyond_the_split_work():
    runs = [_measured(s) for s in capacity.PROBE_SIZES]
    size = capacity.PROBE_SIZES[-1]
    alone = _measured(size).seconds
    tasks = math.ceil(size.paths / capacity.PATH_CHUNK)
    split = alone["stresses"] / 2 + alone["scenarios"] * 2 / min(2, tasks)
    stresses = alone["stresses"] / 2 + 0.7
    seconds = {**alone, "stresses": stresses, "scenarios": split - alone["stresses"] / 2}
    on_cluster = Measurement(size, {**seconds, "cluster": 2.5}, 100.0, workers=2)
    fitted = capacity.fit(runs, threads=2, dask=on_cluster)
    assert fitted.dask_start_s == pytest.approx(2.5)
    assert fitted.dask_overhead_s == pytest.approx(0.7, abs=1e-9)


def test_the_prediction_adds_the_stages_and_sizes_lambda_and_fargate_by_hand():
    size = BookSize(100, 10_000, 10_000, 10)
    found = capacity.predict(_calibration(), size, workers=4, time_limit=900.0)
    alone = {stage: _value(terms, size) for stage, terms in KNOWN.items()}
    assert found.stage_seconds == pytest.approx(alone)
    assert found.seconds == pytest.approx(sum(alone.values()))
    assert found.peak_mb == pytest.approx(_value(MEMORY, size))
    serial = sum(v for k, v in alone.items() if k not in capacity.PARALLEL_STAGES)
    parallel = alone["stresses"] / 4 + alone["scenarios"] * 2 / 4  # scenarios on two threads here
    assert found.cluster_seconds == pytest.approx(serial + parallel + 3.0 + 1.5)
    need = found.peak_mb * capacity.MEMORY_HEADROOM

    def on(vcpus):
        threaded = sum(
            v * 2 / vcpus if vcpus < 2 else v
            for k, v in alone.items()
            if k in capacity.THREADED_STAGES
        )
        return threaded + sum(
            v / min(1.0, vcpus) for k, v in alone.items() if k not in capacity.THREADED_STAGES
        )

    # Lambda: the first memory size >= the need whose vCPU share finishes in time.
    mb = next(
        m
        for m in range(max(128, math.ceil(need)), 10_241)
        if on(min(6.0, m / capacity.LAMBDA_MB_PER_VCPU)) <= 900.0
    )
    assert found.lambda_mb == mb
    assert found.lambda_seconds == pytest.approx(on(min(6.0, mb / 1769)))
    assert found.fargate is not None
    vcpu, gb = found.fargate
    assert gb * 1024 >= need
    assert on(vcpu) <= 900.0
    smaller = [(c, g) for c, g in capacity.FARGATE_SIZES if (c, g) < (vcpu, gb)]
    assert all(g * 1024 < need or on(c) > 900.0 for c, g in smaller)


def test_a_run_that_fits_nowhere_says_so():
    huge = BookSize(10_000, 1_000_000, 1_000_000, 60)
    found = capacity.predict(_calibration(), huge, time_limit=60.0)
    assert found.lambda_mb is None
    assert found.fargate is None


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"managers": 1}, "`managers` must be an integer from 2"),
        ({"paths": 10**7}, "`paths` must be an integer"),
        ({"horizons": 2.5}, "`horizons` must be an integer"),
        ({"securities": True}, "`securities` must be an integer"),
    ],
)
def test_book_sizes_are_checked(changes, fragment):
    args = {"managers": 25, "securities": 600, "paths": 2000, "horizons": 10, **changes}
    with pytest.raises(ValueError, match=fragment):
        BookSize(**args)


def test_a_calibration_round_trips_and_a_bad_one_is_named(tmp_path):
    path = _calibration().write(tmp_path / "deep" / "capacity.json")
    again = capacity.read_calibration(path)
    assert again.stages == KNOWN
    assert again.memory == MEMORY
    assert again.threads == 2
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(InputError, match=r"junk\.json.*cannot read a calibration"):
        capacity.read_calibration(tmp_path / "junk.json")
    raw = json.loads(path.read_text())
    raw["stages"]["desks"]["M"] = -1.0
    del raw["memory"]["PHS"]
    raw["threads"] = "two"
    (tmp_path / "bad.json").write_text(json.dumps(raw))
    with pytest.raises(InputError) as caught:
        capacity.read_calibration(tmp_path / "bad.json")
    columns = [p.column for p in caught.value.problems]
    assert columns == ["stages", "memory", "threads"]
    assert "stage 'desks' needs finite non-negative" in str(caught.value.problems[0])


def test_the_command_predicts_from_a_calibration_file(tmp_path, capsys):
    path = _calibration().write(tmp_path / "capacity.json")
    args = ["capacity", "--calibration", str(path), "--managers", "100", "--securities", "10000"]
    assert main([*args, "--paths", "10000", "--workers", "4"]) == 0
    out = capsys.readouterr().out
    assert "Lambda:" in out
    assert "Fargate:" in out
    assert "on 4 Dask workers" in out
    assert main([*args, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["size"] == {"managers": 100, "securities": 10000, "paths": 2000, "horizons": 10}
    assert found["lambda_mb"] >= found["peak_mb"] * capacity.MEMORY_HEADROOM


def test_the_command_without_a_calibration_says_how_to_make_one(tmp_path, capsys):
    missing = tmp_path / "none.json"
    assert main(["capacity", "--calibration", str(missing)]) == 2
    assert "--calibrate" in capsys.readouterr().err
    assert not missing.exists()


def test_a_measured_run_times_every_stage_in_a_fresh_process():
    found = capacity.measure(BookSize(8, 200, 40, 2), timeout=600)
    assert set(found.seconds) == set(capacity.STAGE_DRIVERS)
    assert all(v >= 0 for v in found.seconds.values())
    assert 100 < found.peak_mb < 4000
