"""CSV files read a block at a time: structural errors stop the read at their line.

Each broken file is refused with one problem naming its line (as `validate` prints it) and
without echoing the file's contents; a large file broken early is read no further than the
block holding the break (observed through the bytes the reader asks for, never timings); and
problems counted where they are found list and count exactly as capping the whole list does.
"""

from __future__ import annotations

import io
import shutil

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fialloc.data import csv_files, validate
from fialloc.data.csv_files import BLOCK_BYTES, read_csv
from fialloc.data.schema import (
    PROBLEM_LIMIT,
    SCHEMAS,
    CappedProblems,
    Elided,
    Problem,
    cap_problems,
    problem_rule,
)
from fialloc.errors import InputError

HEADER = "manager_id,security_id,par,price,price_type,hedge_ratio\n"
ROW = "M01,TRE0000,100.0,,,0.0\n"


def _problem(path):
    with pytest.raises(InputError) as info:
        read_csv(path)
    assert len(info.value.problems) == 1
    return info.value.problems[0]


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (HEADER + ROW * 5 + "M01,SECRET9,1,,,0,9\n" + ROW, 7, "7 fields where the header names 6"),
        (HEADER + ROW * 2 + "M01,SECRET9\n" + ROW, 4, "2 fields where the header names 6"),
        (HEADER + ROW + 'M01,"SECRET9,1,,,0\n' + ROW * 3, 3, "2 fields where the header names 6"),
        (HEADER.encode() + ROW.encode() * 3 + b"M01,SECRET\xff9,1,,,0\n", 5, "is not UTF-8"),
        (HEADER + ROW * 4 + "M01,SECRET\x009,1,,,0\n", None, "NUL byte on line 6"),
        ("a,b,a\n1,2,3\n", None, "the header (line 1) names 'a' more than once"),
        ("a,b,a,\n1,2,3,4\n", None, "the header (line 1) names 'a' more than once"),
        (b"a,\xffSECRET\n1,2\n", None, "the header (line 1) is not UTF-8"),
        ("", None, "is empty; expected a header naming the columns"),
    ],
)
def test_a_structural_error_is_one_problem_at_its_line(tmp_path, body, line, message):
    path = tmp_path / "holdings.csv"
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(body)
    problem = _problem(path)
    assert message in problem.message
    assert "SECRET" not in str(problem)  # the file's contents are never echoed
    # Rows are data rows until the loader turns them into the file's lines.
    assert problem.row == (None if line is None else line - 2)


def test_validate_names_the_line_of_a_row_of_the_wrong_width(tmp_path, demo_dir):
    book = tmp_path / "book"
    shutil.copytree(demo_dir, book)
    path = book / "securities.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(10, lines[10].rstrip("\n") + ",extra\n")
    path.write_text("".join(lines))
    found = [str(p) for p in validate(book) if p.file == "securities.csv"]
    assert found == [
        f"securities.csv, row 11: {len(lines[0].split(',')) + 1} fields where the header names "
        f"{len(lines[0].split(','))} columns (the file was not read further)"
    ]


class _Counting(io.RawIOBase):
    """A file that counts the bytes read from it."""

    def __init__(self, inner):
        self.inner = inner
        self.read_bytes = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = self.inner.readinto(buffer)
        self.read_bytes += n
        return n


def test_a_large_file_broken_early_is_read_no_further_than_its_block(tmp_path, monkeypatch):
    """64 MB of rows after a break at line 3: the reader stops within Arrow's read-ahead."""
    path = tmp_path / "holdings.csv"
    junk = b"MX,JUNK,abc,,,x,1,2\n"
    with path.open("wb") as f:
        f.write(HEADER.encode() + ROW.encode() + junk)
        for _ in range(64):
            f.write(ROW.encode() * (BLOCK_BYTES // len(ROW)))
    sources = []
    opened = csv_files.pa_csv.open_csv

    def counting_open(source, **options):
        sources.append(_Counting(source))
        return opened(sources[-1], **options)

    monkeypatch.setattr(csv_files.pa_csv, "open_csv", counting_open)
    problem = _problem(path)
    assert problem.row == 1
    assert "8 fields where the header names 6" in problem.message
    assert path.stat().st_size > 60 * BLOCK_BYTES
    # Arrow's streaming reader fills a background queue of up to 32 blocks ahead of the
    # parser (its default for background generators), more of it the slower the parser runs
    # (14 blocks on a loaded machine, 2-3 on an idle one); never the whole file.
    assert 0 < sources[0].read_bytes <= (32 + 2) * BLOCK_BYTES


@pytest.mark.parametrize(
    "body",
    [
        b"\xef\xbb\xbfa,b\n1,2\n",  # a byte-order mark
        b"a,b\r\n1,2\r\n3,4\r\n",
        b'a,b\n"x\ny",2\n"he said ""hi""",3\n',
        b"a,b\n1,2",  # no final newline
        b"a,b\n1,2\n\n3,4\n\n",  # blank lines
        b" a , b\n1,2\n",
        b"a,b,\n1,2,\n",  # a trailing comma: an unnamed column pandas calls "Unnamed: 2"
        b",b,,\n1,2,3,4\n",
        b"a;b\n1;2\n",  # one column
    ],
)
def test_files_pandas_reads_read_the_same(tmp_path, body):
    path = tmp_path / "t.csv"
    path.write_bytes(body)
    expected = pd.read_csv(path, dtype=str, keep_default_na=False, engine="pyarrow")
    pd.testing.assert_frame_equal(read_csv(path), expected)


def test_good_files_read_as_pandas_reads_them(demo_dir, tmp_path):
    """Every written demo table, and a header alone, as pandas' Arrow reader gives them."""
    (tmp_path / "header.csv").write_text(HEADER)
    for path in [*sorted(demo_dir.glob("*.csv")), tmp_path / "header.csv"]:
        expected = pd.read_csv(path, dtype=str, keep_default_na=False, engine="pyarrow")
        frame = read_csv(path)
        pd.testing.assert_frame_equal(frame, expected)
        assert list(frame.dtypes) == list(expected.dtypes)


def test_junk_rows_keep_a_few_problems_per_rule_not_one_per_row():
    """60,000 junk rows: the schema's check returns each rule's first problems and a count."""
    junk = 60_000
    frame = pd.DataFrame(
        {
            "manager_id": ["M01"] * junk,
            "security_id": [f"S{i}" for i in range(junk)],
            "par": [f"abc{i}" for i in range(junk)],
            "price": [""] * junk,
            "price_type": [""] * junk,
            "hedge_ratio": ["x"] * junk,
        },
        dtype="str",
    )
    _, found = SCHEMAS["holdings"].validate(frame, "holdings.csv")
    for column in ("par", "hedge_ratio"):
        mine = [p for p in found if p.column == column]
        assert len(mine) == PROBLEM_LIMIT + 1
        assert [p.row for p in mine[:-1]] == list(range(PROBLEM_LIMIT))
        assert isinstance(mine[-1], Elided)
        assert mine[-1].count == junk - PROBLEM_LIMIT
    assert str(found[PROBLEM_LIMIT]).startswith(
        f"holdings.csv, column par: ... and {junk - PROBLEM_LIMIT} more like this one: 'abc0'"
    )


_MESSAGES = ("'{}' is not a number", "{} must be >= 0", "value is missing", "'{}' is odd")


@settings(max_examples=200, deadline=None)
@given(
    found=st.lists(
        st.tuples(st.sampled_from(_MESSAGES), st.integers(0, 40), st.sampled_from("ab")),
        max_size=60,
    ),
    around=st.lists(st.sampled_from(_MESSAGES), max_size=4),
    limit=st.integers(1, 5),
)
def test_counting_at_the_source_lists_and_counts_as_capping_the_whole_list(found, around, limit):
    """Capped where found, then with other problems of the same rules: the same lines."""
    whole = [Problem("h.csv", row, "par", m.format(f"{x}{row}")) for m, row, x in found]
    at_source = CappedProblems("h.csv", "par", limit=limit)
    for problem in whole:
        at_source.add(problem.row, problem.message)
    kept = at_source.problems()
    assert len(kept) <= (limit + 1) * len({problem_rule(p.message) for p in whole})
    # The same rules found elsewhere in the file, before and after, and in another file.
    others = [Problem("h.csv", 0, "par", m.format("z")) for m in around]
    other_file = [Problem("s.csv", 3, "par", m.format(7)) for m in around]
    assert cap_problems(other_file + others + kept + others, limit) == cap_problems(
        other_file + others + whole + others, limit
    )
