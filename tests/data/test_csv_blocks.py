"""Tables converted a block of rows at a time: the same tables and problems as all at once.

The loaders convert each block of a CSV file as it is read (:class:`TableCoercion`, fed by
:func:`read_csv_blocks`): any split of the rows must give the coerced table (values and
dtypes), the capped problems with their rows in the file, and the key's duplicates that one
block of all of them gives; and a large file must never be converted, or held as text, all
at once (observed through the rows handed to the conversion and the bytes the CSV reader
allocates, never timings or resident memory).
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil

import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fialloc.data import csv_files, load, loaders, schema, validate
from fialloc.data.csv_files import read_csv, read_csv_blocks
from fialloc.data.mapping import parse_mapping
from fialloc.data.schema import SCHEMAS, Column, TableCoercion, TableSpec

#: Cells of each kind: valid ones first, then blanks, padding and junk.
_CELLS = {
    "str": ["M01", "TRE0001", " M01", "M02 ", ""],
    "float": ["0.5", "100", "2e6", "", "abc", "-1", "1e400", "0"],
    "int": ["2", "1", "", "2.5", "x"],
    "frequency": ["2", "1", "", "3", "x"],
    "date": ["2026-09-30", "2027-01-31", "", "2026-02-30", "30/09/2026", "2026-09-30T00:00"],
    "rating": ["AA+", "BBB", "Baa2", "", "junk"],
    "sector": ["treasury", "financial", "", "junk"],
    "liquidity_tier": ["level1", "level2a", "", "junk"],
    "day_count": ["30/360", "ACT/360", "", "junk"],
}
_SPECS = ("holdings", "prices", "market_history", "securities")


def _pool(col: Column) -> list[str]:
    return [*col.choices, "", "bogus"] if col.choices is not None else _CELLS[col.kind]


def _coerce_in_blocks(spec: TableSpec, frame: pd.DataFrame, cuts, untranslated=None):
    """The coerced table and its problems, the rows split at `cuts`."""
    coercion = TableCoercion(spec, "t.csv")
    bounds = [0, *cuts, len(frame)]
    for start, stop in itertools.pairwise(bounds):
        coercion.add(frame.iloc[start:stop], untranslated=untranslated)
    return coercion.result()


@st.composite
def _tables(draw):
    """A text table of one schema (as the CSV reader gives it), often repeating rows."""
    spec = SCHEMAS[draw(st.sampled_from(_SPECS))]
    clean = draw(st.booleans())  # only valid cells: the key and the table's checks run
    pools = {c.name: _pool(c)[: 2 if clean else None] for c in spec.columns}
    distinct = draw(
        st.lists(
            st.fixed_dictionaries({n: st.sampled_from(p) for n, p in pools.items()}),
            min_size=1,
            max_size=6,
        )
    )
    rows = draw(st.lists(st.sampled_from(distinct), max_size=80))
    frame = pd.DataFrame(rows, columns=list(pools), dtype="str")
    cuts = sorted(draw(st.sets(st.integers(1, max(len(frame) - 1, 1)), max_size=12)))
    cuts = [c for c in cuts if c < len(frame)]
    column = draw(st.sampled_from([c.name for c in spec.columns]))
    skip = {column: set(draw(st.sets(st.integers(0, max(len(frame) - 1, 0)), max_size=5)))}
    return spec, frame, cuts, skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=_tables())
def test_any_split_into_blocks_gives_the_table_and_problems_of_one_block(table):
    spec, frame, cuts, skip = table
    whole = _coerce_in_blocks(spec, frame, [], skip)
    split = _coerce_in_blocks(spec, frame, cuts, skip)
    pd.testing.assert_frame_equal(split[0], whole[0])
    # The columns' problems (rows in the table, capped across blocks), or without them the
    # key's duplicates and the table's checks.
    assert split[1] == whole[1]
    # One block is what TableSpec.validate gives (and gave before blocks existed).
    out, problems = spec.validate(frame, "t.csv", untranslated=skip)
    pd.testing.assert_frame_equal(out, whole[0])
    assert problems == whole[1]


def test_a_row_and_its_duplicate_in_different_blocks():
    """The duplicate is named at its own row, with the problems capped across 30 blocks."""
    spec = SCHEMAS["holdings"]
    row = {"manager_id": "M01", "security_id": "TRE0001", "par": "1", "hedge_ratio": "0"}
    other = {**row, "security_id": "TRE0002"}
    frame = pd.DataFrame([row, other] + [row] * 28, dtype="str")
    _, checked = _coerce_in_blocks(spec, frame, range(1, 30))
    assert all("duplicate key" in p.message for p in checked)  # no column problem
    assert [p.row for p in checked] == [*range(2, 22), None]
    assert checked[0].message == "duplicate key (manager_id='M01', security_id='TRE0001')"
    assert checked[-1].message.startswith("... and 8 more like this one: duplicate key")
    assert checked == _coerce_in_blocks(spec, frame, [])[1]
    bad = frame.assign(par=["abc"] * 30)
    split = _coerce_in_blocks(spec, bad, [7, 8, 21])[1]
    assert [p.row for p in split] == [*range(20), None]  # the first 20 in the table, a count
    assert split == _coerce_in_blocks(spec, bad, [])[1]


def _small_blocks(monkeypatch):
    """Parse a sixteenth of each file (at least 2 kB) at a time; count the blocks converted.

    The text converted at a time is two parsed blocks: every file of more than 2 kB is split
    (one of up to 32 kB exactly as 2 kB blocks split it), but a 3 MB file is not cut into
    thousands of blocks whose fixed cost would be the test's time (arbitrary splits are the
    Hypothesis property's).
    """
    read_blocks = loaders.read_csv_blocks

    def in_blocks(path):
        block = max(2048, path.stat().st_size // 16)
        return read_blocks(path, block_bytes=block, text_bytes=2 * block)

    monkeypatch.setattr(loaders, "read_csv_blocks", in_blocks)
    added = []
    add = TableCoercion.add

    def counting(self, block, **kwargs):
        added.append(len(block))
        add(self, block, **kwargs)

    monkeypatch.setattr(TableCoercion, "add", counting)
    return added


def test_files_read_in_small_blocks_give_the_same_problems(tmp_path, demo_dir, monkeypatch):
    """Junk, a duplicate and a date off a mapping's format over many blocks: the same lines."""
    book = tmp_path / "book"
    shutil.copytree(demo_dir, book)
    holdings = book / "holdings.csv"
    lines = holdings.read_text().splitlines(keepends=True)
    junk = [f"MX{n},JUNK{n},abc{n},,,x\n" for n in range(30)]
    holdings.write_text("".join(lines + junk + lines[1:5]))
    securities = book / "securities.csv"
    master = securities.read_text().splitlines(keepends=True)
    securities.write_text("".join([*master, master[3]]))
    history = book / "market_history.csv"
    text = history.read_text().splitlines(keepends=True)
    bad = len(text) // 2  # past the first blocks
    text[bad] = text[bad].replace(text[bad].split(",")[0], "2026-02-30")
    history.write_text("".join(text))
    mapping = parse_mapping({"tables": {"market_history": {"dates": {"month": "%Y-%m-%d"}}}})
    expected = [str(p) for p in validate(book, mapping)]
    assert f"holdings.csv, row {len(lines) + 1}, column par: 'abc0' is not a number" in expected
    assert any(f"securities.csv, row {len(master) + 1}" in line for line in expected)
    assert any(f"market_history.csv, row {bad + 1}, column month" in line for line in expected)
    added = _small_blocks(monkeypatch)
    assert [str(p) for p in validate(book, mapping)] == expected
    assert len(added) > 50


def test_a_book_read_in_small_blocks_loads_the_same_tables(demo_dir, monkeypatch):
    whole = load(demo_dir)
    added = _small_blocks(monkeypatch)
    split = load(demo_dir)
    assert len(added) > 50
    for field in dataclasses.fields(whole):
        mine, theirs = getattr(split, field.name), getattr(whole, field.name)
        if isinstance(theirs, pd.DataFrame):
            pd.testing.assert_frame_equal(mine, theirs)
        else:
            assert mine == theirs, field.name


def test_blocks_read_as_the_whole_file_reads(demo_dir):
    for path in sorted(demo_dir.glob("*.csv")):
        blocks = list(read_csv_blocks(path, block_bytes=2048, text_bytes=4096))
        pd.testing.assert_frame_equal(pd.concat(blocks), read_csv(path))
        assert all(b.index[0] == sum(map(len, blocks[:i])) for i, b in enumerate(blocks) if len(b))


def test_a_large_file_is_never_converted_or_held_as_text_whole(tmp_path, demo_dir, monkeypatch):
    """4 MB of holdings, 64 kB parsed and 256 kB of text converted at a time.

    Deterministic measures: the most rows handed to a column's conversion at once, and the
    most bytes the CSV reader's allocations held at once (its own memory pool).
    """
    monkeypatch.setattr(csv_files, "BLOCK_BYTES", 64 << 10)
    monkeypatch.setattr(csv_files, "TEXT_BYTES", 256 << 10)
    book = tmp_path / "book"
    shutil.copytree(demo_dir, book)
    holdings = book / "holdings.csv"
    header, *rows = holdings.read_text().splitlines(keepends=True)
    body = "".join(rows)
    copies = (4 << 20) // len(body) + 1
    holdings.write_text(header + body * copies)
    converted: list[int] = []
    coerce_fast = schema._coerce_fast

    def counting(series, col, factorized=None):
        converted.append(len(series))
        return coerce_fast(series, col, factorized)

    pool = pa.proxy_memory_pool(pa.default_memory_pool())
    open_csv = csv_files.pa_csv.open_csv
    monkeypatch.setattr(schema, "_coerce_fast", counting)
    monkeypatch.setattr(
        csv_files.pa_csv, "open_csv", lambda source, **kw: open_csv(source, memory_pool=pool, **kw)
    )
    problems = [str(p) for p in validate(book)]
    assert "duplicate key" in problems[0]
    total = len(rows) * copies
    assert max(converted) < total / 10  # old: every row of a column at once
    # Old: every parsed block at once (about 10 MB); now a text block and what the reader
    # parses ahead of it.
    assert pool.max_memory() < 2 << 20
