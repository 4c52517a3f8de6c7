"""The mandate: system-description defaults, overrides from a dict, JSON or YAML, named errors."""

from __future__ import annotations

import pytest

from fialloc.data import InputError, Mandate
from fialloc.data.mandate_files import parse_mandate, read_mandate

DEFAULTS = {
    "min_allocation": 0.01,
    "max_allocation": 0.20,
    "turnover": 0.10,
    "max_shift": 0.05,
    "target_yield": 0.045,
    "max_tracking_error": 0.08,
    "liquidity_buffer": 0.10,
    "max_illiquid": 0.30,
    "max_rating_drift": 1.0,
    "max_sector_overweight": 0.05,
}


def test_defaults_are_the_system_description():
    m = Mandate()
    assert {k: getattr(m, k) for k in DEFAULTS} == DEFAULTS
    w = m.objective
    assert (w.liability_matching, w.yield_target, w.manager_skill, w.liquidity_buffer) == (
        0.35,
        0.25,
        0.25,
        0.15,
    )
    assert parse_mandate() == m
    assert parse_mandate({}) == m
    assert parse_mandate(m) is m


def test_dict_overrides_keep_other_defaults():
    m = parse_mandate({"max_allocation": 0.15, "objective": {"yield_target": 0.4}})
    assert m.max_allocation == 0.15
    assert m.objective.yield_target == 0.4
    assert m.objective.liability_matching == 0.35
    assert m.turnover == 0.10


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("mandate.yaml", "max_shift: 0.03\nobjective:\n  manager_skill: 0.3\n"),
        ("mandate.yml", "max_shift: 0.03\nobjective: {manager_skill: 0.3}\n"),
        ("mandate.json", '{"max_shift": 0.03, "objective": {"manager_skill": 0.3}}'),
    ],
)
def test_files_of_overrides(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    m = read_mandate(path)
    assert m == Mandate(max_shift=0.03, objective={"manager_skill": 0.3})
    assert read_mandate(str(path)) == m


@pytest.mark.parametrize("name", ["mandate.yaml", "mandate.json"])
def test_empty_file_gives_the_defaults(tmp_path, name):
    path = tmp_path / name
    path.write_text("\n")
    assert read_mandate(path) == Mandate()


def test_every_bad_field_is_named(tmp_path):
    path = tmp_path / "mandate.yaml"
    path.write_text("max_alloction: 0.2\nturnover: -0.5\nobjective:\n  yield_target: -1\n")
    with pytest.raises(InputError) as info:
        read_mandate(path)
    found = {(p.file, p.column) for p in info.value.problems}
    assert found == {
        ("mandate.yaml", "max_alloction"),
        ("mandate.yaml", "turnover"),
        ("mandate.yaml", "objective.yield_target"),
    }
    assert "mandate.yaml, column max_alloction: Extra inputs are not permitted" in str(info.value)


def test_inconsistent_bounds_are_refused():
    with pytest.raises(InputError, match=r"min_allocation 0\.3 is above max_allocation 0\.2"):
        parse_mandate({"min_allocation": 0.3})


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("mandate.yaml", "turnover: [0.1\n", "mandate.yaml: not valid YAML (line 2"),
        ("mandate.json", '{"turnover": 0.1,}', "mandate.json: not valid JSON (line 1"),
        ("mandate.yaml", "- 0.1\n- 0.2\n", "mandate.yaml: expected a mapping of mandate fields"),
        ("mandate.toml", "turnover = 0.1", "mandate.toml: unsupported mandate file type"),
    ],
)
def test_unparseable_files(tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match="problem") as info:
        read_mandate(path)
    assert str(info.value.problems[0]).startswith(expected)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"mandate\.yaml: cannot be read"):
        read_mandate(tmp_path / "mandate.yaml")


def test_mandate_is_frozen():
    with pytest.raises(ValueError, match="frozen"):
        Mandate().turnover = 0.2  # type: ignore[misc]
