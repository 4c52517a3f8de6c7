"""Read a CSV input file block by block, stopping at the first structural error.

A file that is not text, a header that names a column twice, or a row whose number of fields
differs from the header's is refused at once with its line, and
nothing after it is read: a 200 MB file that turns to junk at line 3 costs one block, not
200 MB of parsing and memory. Every cell is read as text (the schemas convert them), empty
cells as empty strings. :func:`read_csv_blocks` hands the text over a block at a time, so a
caller that converts each block (the loaders) never holds the whole file's text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from fialloc.data.schema import Problem
from fialloc.errors import InputError

__all__ = ["BLOCK_BYTES", "TEXT_BYTES", "read_csv", "read_csv_blocks"]

#: Bytes parsed at a time: the most read past a structural error.
BLOCK_BYTES: Final = 1 << 20
#: Text (Arrow's bytes of the cells and their offsets) handed over at a time by
#: :func:`read_csv_blocks`: the most of a file's text held while its blocks are converted.
#: Sixteen parsed blocks: converting a few thousand rows at a time costs more per row (a
#: block's distinct ids are converted again in every block).
TEXT_BYTES: Final = 16 << 20


def read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV file as a table of text cells: :func:`read_csv_blocks` put together.

    Returns
    -------
    pandas.DataFrame
        One ``str`` column per header name, rows in file order.

    Raises
    ------
    InputError
        As :func:`read_csv_blocks`.
    """
    return pd.concat(list(read_csv_blocks(path)))


def read_csv_blocks(
    path: Path, block_bytes: int | None = None, text_bytes: int | None = None
) -> Iterator[pd.DataFrame]:
    """Yield a CSV file's rows as tables of text cells, a block of the file at a time.

    Each block is a ``str`` column per header name, indexed by its rows' positions in the
    file (0 for the first data row); a file of a header alone yields one empty block.
    `block_bytes` is the bytes parsed at a time (default :data:`BLOCK_BYTES`; a row must fit
    in a block); parsed blocks are handed over together once their text reaches
    `text_bytes` (default :data:`TEXT_BYTES`).

    Raises
    ------
    InputError
        At the first structural error (after the blocks before it were yielded): an empty
        file, a file that is not UTF-8 text, a header naming a column twice, a row with
        more or fewer fields than the header. A row's problem carries, as every loader
        problem before the loader turns rows into lines, the 0-based data row (the file's
        line less 2); contents are never echoed.
    """
    _refuse_binary(path)
    invalid: list[pa_csv.InvalidRow] = []

    def stop(row: pa_csv.InvalidRow) -> str:
        invalid.append(row)
        return "error"

    try:
        with path.open("rb") as source:
            parsed = _read_blocks(source, path, stop, block_bytes or BLOCK_BYTES)
            yield from _gathered(parsed, text_bytes or TEXT_BYTES)
    except pa.ArrowInvalid as exc:
        raise InputError([_structural_problem(path, exc, invalid)]) from None
    except UnicodeDecodeError:  # the header's names
        msg = f"the header (line 1) {_NOT_UTF8}"
        raise InputError([Problem(path.name, None, None, msg)]) from None


def _read_blocks(
    source: BinaryIO, path: Path, stop: Callable[[pa_csv.InvalidRow], str], block_bytes: int
) -> Iterator[pa.Table]:
    """Parse `source` a block at a time (an empty table first, with the header's names).

    `stop` is told the first row of the wrong width.
    """
    reader = pa_csv.open_csv(
        source,
        read_options=pa_csv.ReadOptions(use_threads=False, block_size=block_bytes),
        parse_options=pa_csv.ParseOptions(invalid_row_handler=stop),
        convert_options=pa_csv.ConvertOptions(
            default_column_type=pa.large_string(), strings_can_be_null=False
        ),
    )
    names = _header_names(path, reader.schema.names)
    yield reader.schema.empty_table().rename_columns(names)
    for batch in reader:
        yield pa.Table.from_batches([batch]).rename_columns(names)


def _gathered(parsed: Iterator[pa.Table], text_bytes: int) -> Iterator[pd.DataFrame]:
    """Gather parsed blocks until their text reaches `text_bytes`, then hand them over.

    The first of `parsed` is empty: it gives a header alone its columns.
    """
    empty = next(parsed)
    held: list[pa.Table] = []
    start = 0
    for table in parsed:
        held.append(table)
        if sum(t.nbytes for t in held) >= text_bytes:
            yield _frame([empty, *held], start)
            start += sum(t.num_rows for t in held)
            held = []
    if held or start == 0:  # the rest, or a header alone
        yield _frame([empty, *held], start)


def _frame(tables: list[pa.Table], start: int) -> pd.DataFrame:
    """Return `tables`' text as one frame indexed from row `start` of the file."""
    frame: pd.DataFrame = pa.concat_tables(tables).to_pandas()
    frame.index = pd.RangeIndex(start, start + len(frame))
    return frame


def _refuse_binary(path: Path) -> None:
    """Refuse a file whose first block holds a NUL byte (no text file does)."""
    with path.open("rb") as f:
        start = f.read(BLOCK_BYTES)
    if (at := start.find(b"\x00")) >= 0:
        line = start.count(b"\n", 0, at) + 1
        msg = f"is not a text file (a NUL byte on line {line}); expected CSV text"
        raise InputError([Problem(path.name, None, None, msg)])


def _header_names(path: Path, names: list[str]) -> list[str]:
    """Return the columns' names, an empty one as ``Unnamed: <position>`` (pandas' name).

    A trailing comma in a spreadsheet's export leaves such a column; like any column no table
    reads, it is ignored. A name given twice is refused: which of the two is meant?
    """
    named = [name if name != "" else f"Unnamed: {i}" for i, name in enumerate(names)]
    repeated = sorted({name for name in named if named.count(name) > 1})
    if repeated:
        msg = f"the header (line 1) names {', '.join(map(repr, repeated))} more than once"
        raise InputError([Problem(path.name, None, None, msg)])
    return named


def _structural_problem(
    path: Path, exc: pa.ArrowInvalid, invalid: list[pa_csv.InvalidRow]
) -> Problem:
    """Describe the error that stopped the reader, by line, without the file's contents."""
    if invalid:
        row = invalid[0]
        fields = f"{row.actual_columns} field{'s' if row.actual_columns != 1 else ''}"
        msg = (
            f"{fields} where the header names {row.expected_columns} columns "
            "(the file was not read further)"
        )
        line = row.number
        return Problem(path.name, None if line is None else line - 2, None, msg)
    if "Empty CSV file" in str(exc):
        return Problem(path.name, None, None, "is empty; expected a header naming the columns")
    if "UTF8" in str(exc):
        line = _first_non_utf8_line(path)
        if line == 1:
            return Problem(path.name, None, None, f"the header (line 1) {_NOT_UTF8}")
        return Problem(path.name, line - 2, None, _NOT_UTF8)
    # Arrow's message goes on with the row's text after its first colon: keep only its kind.
    kind = str(exc).split(":", 1)[0]
    return Problem(path.name, None, None, f"cannot be read as CSV ({kind})")


_NOT_UTF8: Final = "is not UTF-8 text (the file was not read further)"


def _first_non_utf8_line(path: Path) -> int:
    """Return the first line that is not UTF-8 (line 1 when none is found)."""
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1
