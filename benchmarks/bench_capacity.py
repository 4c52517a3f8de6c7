"""`fialloc capacity` checked against measured runs of three generated books.

The calibration measures this machine on the five small probe books
(:data:`fialloc.capacity.PROBE_SIZES`); the prediction for each of three larger
``data.synthetic`` books is then compared with a measured run of that book in a fresh process,
in the same session: time within 30% and peak memory within 20% (the issue's goals). Each
book's predicted and measured figures are kept in ``extra_info`` of ``--benchmark-json`` and
printed for BENCHMARKS.md.
"""

import json

import pytest

from fialloc import capacity
from fialloc.capacity import BookSize

#: Three books other than the probes, the last beyond them in every size measure.
CHECKED = (
    BookSize(12, 800, 500, 5),
    BookSize(30, 2500, 1500, 10),
    BookSize(48, 5000, 3000, 10),
)


@pytest.fixture(scope="module")
def calibration():
    return capacity.calibrate()


@pytest.mark.parametrize("size", CHECKED, ids=lambda s: f"{s.managers}x{s.securities}x{s.paths}")
@pytest.mark.benchmark(group="capacity")
def test_capacity_prediction_against_a_measured_run(benchmark, calibration, size):
    predicted = capacity.predict(calibration, size)
    measured = benchmark.pedantic(capacity.measure, (size,), rounds=1, iterations=1)
    time_ratio = predicted.seconds / measured.total
    memory_ratio = predicted.peak_mb / measured.peak_mb
    benchmark.extra_info.update(
        predicted_s=predicted.seconds,
        measured_s=measured.total,
        predicted_mb=predicted.peak_mb,
        measured_mb=measured.peak_mb,
        stages={k: (predicted.stage_seconds[k], measured.seconds[k]) for k in measured.seconds},
    )
    print(
        f"\ncapacity {size}: time {predicted.seconds:.1f} s predicted, {measured.total:.1f} s "
        f"measured ({time_ratio:.2f}x); peak {predicted.peak_mb:.0f} MB predicted, "
        f"{measured.peak_mb:.0f} MB measured ({memory_ratio:.2f}x)",
        json.dumps({k: round(v, 2) for k, v in measured.seconds.items()}),
    )
    assert abs(time_ratio - 1) <= 0.30
    assert abs(memory_ratio - 1) <= 0.20
