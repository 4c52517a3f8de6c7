"""Declared schemas of fialloc's input tables and a validator that reports every problem.

Each table is a set of typed columns with constraints. Validation never stops at the first
problem: it returns all of them, each naming the file, row, column and what was expected, so
``fialloc validate DIR`` can list everything wrong in one pass.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import itertools
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fialloc.checks import decimal_rate, finite_float
from fialloc.curve_set import CURRENCIES
from fialloc.curves import CURVE_FORMS, EXTRAPOLATIONS, INTERPOLATIONS
from fialloc.data.vocabulary import (
    normalize_liquidity_tier,
    normalize_rating,
    normalize_rating_letter,
    normalize_sector,
)
from fialloc.formatting import count
from fialloc.schedule import FREQUENCIES, add_months, normalize_day_count

__all__ = [
    "MAX_AMOUNT",
    "MAX_PRICE",
    "PRICE_TYPES",
    "PROBLEM_LIMIT",
    "SCHEMAS",
    "CappedProblems",
    "Column",
    "Elided",
    "Problem",
    "TableCoercion",
    "TableSpec",
    "cap_problems",
    "month_sequence_problem",
    "problem_rule",
]

Kind = Literal[
    "str",
    "float",
    "int",
    "date",
    "rating",
    "rating_letter",
    "sector",
    "liquidity_tier",
    "day_count",
    "frequency",
    "bool",
]
#: Kinds whose values come from a vocabulary: each distinct value is normalized once.
_VOCABULARIES: Final[Mapping[str, Callable[[object], str]]] = {
    "rating": normalize_rating,
    "rating_letter": normalize_rating_letter,
    "sector": normalize_sector,
    "liquidity_tier": normalize_liquidity_tier,
    "day_count": lambda raw: normalize_day_count(raw, "day count"),
}
#: The largest money amount accepted (1e15, a thousand times the largest insurer's assets):
#: beyond it sums of a book overflow or lose every cent.
MAX_AMOUNT: Final = 1e15
#: Problems of one rule listed per file and column before the rest are only counted.
PROBLEM_LIMIT: Final = 20
#: Distinct cells (and messages) of a column whose outcome is remembered by the per-cell
#: check: a column repeats few values, a file of junk may repeat none (memory stays bounded).
MEMO_SIZE: Final = 4096
_ISO_SHAPE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
#: A message's values: quoted text and numbers (what differs between problems of one rule).
_VALUES: Final = re.compile(r"'[^']*'|\"[^\"]*\"|[-+]?\d[\w.:+-]*")


@dataclass(frozen=True)
class Problem:
    """One problem found in the inputs.

    ``row`` is the line number in a CSV file (the header is line 1) and the 0-based row
    position in any other table (Parquet, JSON records, an in-memory frame); None when the
    problem is about a whole column or file.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Elided(Problem):
    """Problems of one rule past the cap, counted where they were found instead of listed.

    Stands for `count` more problems of `file` and `column` like `message` (the rule's first
    message); :func:`cap_problems` adds them to the rule's count.
    """

    count: int = 0

    def __str__(self) -> str:
        return str(Problem(self.file, None, self.column, _more(self.count, self.message)))


def problem_rule(message: str) -> str:
    """Return the rule a message tells: the message with its values taken out."""
    return _VALUES.sub("#", message)


def _more(count: int, first: str) -> str:
    return f"... and {count} more like this one: {first}"


class CappedProblems:
    """Problems of one file and column, listed up to `limit` per rule and counted beyond.

    A file of a million junk rows keeps a few dozen problems in memory, not a million; a
    message seen before is not parsed for its rule again (up to :data:`MEMO_SIZE` messages).
    """

    def __init__(self, file: str, column: str | None, limit: int = PROBLEM_LIMIT) -> None:
        self.file = file
        self.column = column
        self.limit = limit
        self._listed: list[Problem] = []
        self._counts: dict[str, int] = {}
        self._first: dict[str, str] = {}
        self._rules: dict[str, str] = {}

    def add(self, row: int | None, message: str) -> None:
        """Count a problem at `row`, listing it while its rule is under the cap."""
        rule = self._rules.get(message)
        if rule is None:
            rule = problem_rule(message)
            if len(self._rules) < MEMO_SIZE:
                self._rules[message] = rule
        seen = self._counts.get(rule, 0)
        self._counts[rule] = seen + 1
        if seen < self.limit:
            self._listed.append(Problem(self.file, row, self.column, message))
            self._first.setdefault(rule, message)

    def problems(self) -> list[Problem]:
        """Return the problems listed, then one :class:`Elided` per rule past the cap."""
        return self._listed + [
            Elided(self.file, None, self.column, self._first[rule], count=n - self.limit)
            for rule, n in self._counts.items()
            if n > self.limit
        ]


@dataclass(frozen=True)
class Column:
    """A column: its kind, whether it is required, and value constraints."""

    name: str
    kind: Kind
    required: bool = True
    minimum: float | None = None
    exclusive_minimum: bool = False
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    #: a decimal rate: values of 1 or more are refused as probable percentages
    decimal: bool = False


@dataclass(frozen=True)
class TableSpec:
    """A table: its columns and its key (unique, in order)."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    description: str = ""
    checks: tuple[Callable[[pd.DataFrame, str], list[Problem]], ...] = field(default=())

    def validate(
        self,
        frame: pd.DataFrame,
        file: str,
        *,
        untranslated: Mapping[str, Collection[int]] | None = None,
    ) -> tuple[pd.DataFrame, list[Problem]]:
        """Coerce columns to their kinds and collect every problem.

        Returns the coerced frame (unchanged input) and the problems; the frame is only
        meaningful when there are none. Problems of one rule past :data:`PROBLEM_LIMIT` are
        counted in an :class:`Elided`. `untranslated` names, by column, the rows a mapping
        could not convert (reported already, so not reported as missing again). The same as
        :class:`TableCoercion` of `frame` as one block.
        """
        coercion = TableCoercion(self, file)
        coercion.add(frame, untranslated=untranslated)
        return coercion.result()


class TableCoercion:
    """A table's columns coerced to their kinds a block of rows at a time.

    Any split of the rows into blocks gives the table and the problems one block of all of
    them gives: a cell's value and problem depend on the cell alone (the vectorized path
    takes a block only where it agrees with the per-cell check on every cell), each column's
    problems are capped across blocks (:class:`CappedProblems`) and rows are numbered in the
    table. Only the coerced columns are kept (and columns no schema reads, as given), so a
    file read a block at a time never holds more than a block of its text.
    """

    def __init__(self, spec: TableSpec, file: str) -> None:
        self.spec = spec
        self.file = file
        #: Rows added so far: the table's row number of the next block's first row.
        self.rows = 0
        self._names: list[str] | None = None
        self._index: list[pd.Index] = []
        self._parts: dict[str, list[pd.Series]] = {}
        self._problems = {c.name: CappedProblems(file, c.name) for c in spec.columns}
        self._seen: dict[str, _Memo] = {c.name: {} for c in spec.columns}
        #: Each block's codes of each key column and the coerced value of each code.
        self._keys: dict[str, list[tuple[npt.NDArray[np.int32], pd.Series]]] = {
            k: [] for k in spec.key
        }

    def add(
        self, block: pd.DataFrame, *, untranslated: Mapping[str, Collection[int]] | None = None
    ) -> None:
        """Coerce the table's next rows; every block has the first block's columns.

        `untranslated` names, by column, rows (numbered in the table) a mapping could not
        convert, reported already, so not reported as missing again.
        """
        names = list(block.columns)
        if self._names is None:
            self._names = names
        elif names != self._names:
            msg = f"a block's columns {names} differ from the table's {self._names}"
            raise ValueError(msg)
        specs = {c.name: c for c in self.spec.columns}
        for name in names:
            raw = series = block[name]
            # A key column is factorized once, for its coercion and for its key's codes.
            factorized = pd.factorize(raw) if name in self._keys else None
            if name in specs:
                series = _coerce_block(
                    series,
                    specs[name],
                    self._problems[name],
                    start=self.rows,
                    untranslated=(untranslated or {}).get(name, ()),
                    seen=self._seen[name],
                    factorized=factorized,
                )
            if factorized is not None:
                self._keys[name].append(_block_codes(factorized, series))
            self._parts.setdefault(name, []).append(series)
        self._index.append(block.index)
        self.rows += len(block)

    def result(self) -> tuple[pd.DataFrame, list[Problem]]:
        """Return the coerced table and its problems.

        The problems are its columns' (missing columns first); when there are none, the key's
        duplicates and then the table's own checks (with a column problem these are not
        meaningful). The table is only meaningful when there is no problem.
        """
        out, problems = self._assemble()
        return out, problems or self._table_problems(out)

    def _assemble(self) -> tuple[pd.DataFrame, list[Problem]]:
        """Return the coerced table and its columns' problems (missing columns first).

        The blocks are let go column by column as the table is assembled: the peak is the
        table and one column's blocks, not the table twice.
        """
        names = self._names or []
        index = self._index[0].append(self._index[1:]) if self._index else pd.RangeIndex(0)
        columns: dict[Any, pd.Series] = {}  # keyed as the given columns are
        for name in names:
            parts = self._parts.pop(name)
            column = parts[0] if len(parts) == 1 else pd.concat(parts)
            columns[name] = column.set_axis(index)  # aligned by position, as given
            if len(parts) > 1:
                del parts
                _release_freed_heap()
        # One constructor call, not a column inserted at a time (each insert rebuilt the
        # frame's column index); copy=False keeps one block a column, as inserts did.
        out = pd.DataFrame(columns, index=index, copy=False)
        problems = [
            Problem(self.file, None, c.name, "required column is missing")
            for c in self.spec.columns
            if c.required and c.name not in names
        ]
        for col in self.spec.columns:
            if col.name in names:
                problems.extend(self._problems[col.name].problems())
        return out, problems

    def _table_problems(self, out: pd.DataFrame) -> list[Problem]:
        """Return the key's duplicates, then the table's own checks, of the coerced table."""
        found: list[Problem] = []
        key = self.spec.key
        if key:
            duplicate = self._duplicated()
            count = int(np.count_nonzero(duplicate))
            # Messages for the first rows only: a file of a million repeated rows is one fault.
            for row in _first_rows(duplicate, PROBLEM_LIMIT):
                values = ", ".join(f"{k}={out[k].iat[row]!r}" for k in key)
                found.append(Problem(self.file, row, key[0], f"duplicate key ({values})"))
            if count > PROBLEM_LIMIT:
                msg = f"... and {count - PROBLEM_LIMIT} more like this one: "
                found.append(Problem(self.file, None, key[0], msg + found[-1].message))
        if not found:
            for check in self.spec.checks:
                found.extend(check(out, self.file))
        return found

    def _duplicated(self) -> npt.NDArray[np.bool_]:
        """Rows whose key repeats an earlier row's (its coerced values), on integer codes."""
        code = np.zeros(self.rows, dtype=np.int64)
        for column in self.spec.key:
            codes, distinct = _merged_codes(self._keys[column], self.rows)
            code *= distinct + 1  # in place: a table of millions of rows is one array each
            code += codes
            del codes
        return np.asarray(pd.Series(code).duplicated(keep="first").to_numpy(), dtype=bool)


def _release_freed_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc; elsewhere nothing).

    A block's columns are small arrays from the C heap; freed between arrays still alive,
    their pages stay with the process (its resident memory) unless trimmed, and the next
    column's array, too large for those holes, takes new pages: without this, assembling a
    table of many blocks costs the table twice.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _malloc_trim() -> Callable[[int], int] | None:
    """Return glibc's ``malloc_trim``, or None where the C library has none."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None
    return trim


_MALLOC_TRIM: Final = _malloc_trim()


def _first_rows(mask: npt.NDArray[np.bool_], limit: int) -> list[int]:
    """Return the first `limit` rows where `mask` holds (a chunk at a time, not every row)."""
    rows: list[int] = []
    for at in range(0, len(mask), _CHUNK_ROWS):
        rows += (np.flatnonzero(mask[at : at + _CHUNK_ROWS]) + at).tolist()[: limit - len(rows)]
        if len(rows) >= limit:
            break
    return rows


_CHUNK_ROWS: Final = 1 << 20


#: A column's code of each cell (-1 when missing) and the value of each code, as
#: :func:`pandas.factorize` returns them.
Factorized = tuple[npt.NDArray[np.intp], Any]


def _block_codes(
    factorized: Factorized, coerced: pd.Series
) -> tuple[npt.NDArray[np.int32], pd.Series]:
    """Return a block's codes of a key column and the coerced value of each code.

    The codes are of the raw cells, `factorized` (Arrow text factorizes fast; hashing a
    million dates or ids as Python objects does not); -1 for a missing cell.
    """
    codes, uniques = factorized
    present = np.flatnonzero(codes >= 0)
    row = np.zeros(len(uniques), dtype=np.int64)
    row[codes[present]] = present  # a row of each value: equal cells coerce alike
    return codes.astype(np.int32), coerced.iloc[row]


def _merged_codes(
    blocks: Sequence[tuple[npt.NDArray[np.int32], pd.Series]], rows: int
) -> tuple[npt.NDArray[np.int64], int]:
    """Return one code per row for the blocks' codes, and the count of distinct codes.

    Equal coerced values get one code across blocks, also from distinct raw values that
    coerce alike (" M01" and "M01").
    """
    codes = np.empty(rows, dtype=np.int64)
    if not blocks:
        return codes, 0
    merged, distinct = pd.factorize(pd.concat([values for _, values in blocks]))
    at = offset = 0
    for local, values in blocks:
        lookup = np.append(merged[offset : offset + len(values)], -1)  # -1 stays -1
        codes[at : at + len(local)] = lookup[local]
        at += len(local)
        offset += len(values)
    return codes, len(distinct)


def _floats(series: pd.Series) -> npt.NDArray[np.float64]:
    """Parse a column as floats, exactly (correctly rounded), or raise."""
    if series.dtype == object:
        number = np.array(series.tolist(), dtype=np.float64)  # Python's float()
        if number.shape != (len(series),):  # cells holding lists (JSON records) nest
            msg = "a cell holds a sequence"
            raise ValueError(msg)
        return number
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        # Arrow's cast parses a million strings in a tenth of the time, equally exactly.
        parsed = pc.cast(pa.array(series.array), pa.float64())
        return np.asarray(parsed.to_numpy(zero_copy_only=False), dtype=np.float64)
    return series.to_numpy(dtype=np.float64)


def cap_problems(problems: Sequence[Problem], limit: int = PROBLEM_LIMIT) -> list[Problem]:
    """Keep the first `limit` problems of each rule per file and column, and count the rest.

    A rule is a message with its values (quoted text and numbers) taken out, so a million
    rows with the same fault give `limit` lines and one "... and N more like this" line.
    An :class:`Elided` adds the problems it counted to its rule's count.
    """
    counts: dict[tuple[str, str | None, str], int] = {}
    first: dict[tuple[str, str | None, str], str] = {}
    kept: list[Problem] = []
    for problem in problems:
        key = (problem.file, problem.column, problem_rule(problem.message))
        first.setdefault(key, problem.message)
        if isinstance(problem, Elided):
            counts[key] = counts.get(key, 0) + problem.count
            continue
        counts[key] = counts.get(key, 0) + 1
        if counts[key] <= limit:
            kept.append(problem)
    for (file, column, rule), n in counts.items():
        if n > limit:
            kept.append(Problem(file, None, column, _more(n - limit, first[file, column, rule])))
    return kept


def _coerce_fast(
    series: pd.Series, col: Column, factorized: Factorized | None = None
) -> pd.Series | None:
    """Coerce a clean column in one vectorized pass, or None to let the per-cell loop report.

    Long tables (holdings and benchmark histories) would take seconds cell by cell; any value
    this path cannot vouch for sends the whole column to the loop, which names the problem.
    An optional column's empty cells are set aside first and come back as the loop leaves
    them (None, NaN in a float column). `factorized` is the column's, if it was already.
    """
    blank = _blank_cells(series) if not col.required else None
    if blank is None or not blank.any():
        return _coerce_present(series, col, factorized)
    present = _coerce_present(series[~blank], col) if not blank.all() else series[:0]
    if present is None:
        return None
    if col.kind == "float":
        number = np.full(len(series), np.nan)
        number[~blank] = present.to_numpy(dtype=np.float64)
        return pd.Series(number, index=series.index, dtype=float)
    values = np.full(len(series), None, dtype=object)
    values[~blank] = present.to_numpy(dtype=object)
    return pd.Series(values, index=series.index, dtype=object)


def _blank_cells(series: pd.Series) -> npt.NDArray[np.bool_] | None:
    """Return the cells the per-cell loop takes as missing (None when not told fast).

    In text columns (pandas' str dtype: the CSV reader's) and float columns those are
    exactly the NaN and empty cells; other columns may hold values (NaT, pd.NA) the loop
    does not take as missing.
    """
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.na_value is np.nan:
        return np.asarray((series.isna() | (series == "")).to_numpy(dtype=bool))
    if series.dtype == np.float64:
        return np.asarray(series.isna().to_numpy(dtype=bool))
    return None


def _coerce_present(
    series: pd.Series, col: Column, factorized: Factorized | None = None
) -> pd.Series | None:
    """:func:`_coerce_fast` on cells that are all present (`factorized`: theirs, if known)."""
    if col.kind == "float":
        return _fast_floats(series, col)
    kind = pd.api.types.infer_dtype(series, skipna=False)
    if col.kind in _VOCABULARIES and kind == "string":
        codes, uniques = factorized or pd.factorize(series)
        if (codes < 0).any():  # missing cells (pandas' str dtype): the loop reports them
            return None
        try:
            canonical = [_VOCABULARIES[col.kind](u) for u in uniques]
        except ValueError:
            return None
        return pd.Series(np.array(canonical, dtype=object)[codes], index=series.index)
    if col.kind == "date" and kind == "date":
        return series.astype(object)
    if col.kind not in ("str", "date") or kind != "string":
        return None
    return _fast_text(series, col, factorized)


def _fast_floats(series: pd.Series, col: Column) -> pd.Series | None:
    """Return a float column within its bounds, or None for the per-cell loop."""
    try:
        number = _floats(series)
    except (TypeError, ValueError, pa.ArrowInvalid):
        return None
    ok = bool(np.all(np.isfinite(number)))
    if col.decimal:
        ok = ok and bool(np.all(np.abs(number) < 1.0))
    if col.minimum is not None:
        low = number > col.minimum if col.exclusive_minimum else number >= col.minimum
        ok = ok and bool(np.all(low))
    if col.maximum is not None:
        ok = ok and bool(np.all(number <= col.maximum))
    return pd.Series(number, index=series.index, dtype=float) if ok else None


def _fast_text(
    series: pd.Series, col: Column, factorized: Factorized | None = None
) -> pd.Series | None:
    """Return a text or ISO date column of strings, or None for the per-cell loop.

    `factorized` is the column's, if it was already.
    """
    # Long tables repeat few ids and dates: convert the distinct values, then spread them.
    codes, distinct = factorized or pd.factorize(series)
    if (codes < 0).any():  # missing cells: code -1 would pick the last distinct value
        return None
    text = pd.Series(distinct, dtype=object).str.strip()
    if col.kind == "str":
        if (text == "").any() or (col.choices is not None and not text.isin(col.choices).all()):
            return None
        values = text.to_numpy(dtype=object)
    else:
        parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        if parsed.isna().any() or not (text.str.len() == 10).all():
            return None
        try:
            values = np.asarray(parsed.dt.date.to_numpy(), dtype=object)
        except ValueError:  # pandas parses years Python's dates cannot hold (year 0)
            return None
    return pd.Series(values[codes], index=series.index, dtype=object)


#: Outcomes of a column's distinct cells, keyed by type and value (1, 1.0 and True convert
#: differently), at most :data:`MEMO_SIZE` of them.
_Memo = dict[tuple[type, Any], tuple[Any, str | None]]


def _coerce(
    series: pd.Series, col: Column, file: str, untranslated: Collection[int] = ()
) -> tuple[pd.Series, list[Problem]]:
    """Coerce a column, collecting its problems capped per rule.

    Rows in `untranslated` (cells a mapping could not convert, already reported) are not
    reported as missing again.
    """
    problems = CappedProblems(file, col.name)
    values = _coerce_block(series, col, problems, untranslated=untranslated)
    return values, problems.problems()


def _coerce_block(
    series: pd.Series,
    col: Column,
    problems: CappedProblems,
    *,
    start: int = 0,
    untranslated: Collection[int] = (),
    seen: _Memo | None = None,
    factorized: Factorized | None = None,
) -> pd.Series:
    """Coerce a block of a column whose first row is row `start` of the table.

    Problems go to `problems` with their rows in the table; `untranslated` rows are numbered
    in the table too. `seen` carries the outcomes of distinct cells from block to block;
    `factorized` is the block's column factorized, if it was already.
    """
    fast = _coerce_fast(series, col, factorized)
    if fast is not None:
        return fast
    values: list[Any] = []
    seen = {} if seen is None else seen
    for row, raw in enumerate(series.tolist(), start=start):
        missing = raw is None or (isinstance(raw, float) and np.isnan(raw)) or raw == ""
        if missing:
            if col.required and row not in untranslated:
                problems.add(row, "value is missing")
            values.append(None)
            continue
        key: tuple[type, Any] | None = (type(raw), raw)
        try:
            known = seen.get(key)  # type: ignore[arg-type]
        except TypeError:  # unhashable (a list from JSON records)
            known, key = None, None
        if known is None:
            known = _outcome(raw, col)
            if key is not None and len(seen) < MEMO_SIZE:
                seen[key] = known
        value, error = known
        if error is not None:
            problems.add(row, error)
        values.append(value)
    return pd.Series(values, index=series.index, dtype=object if col.kind != "float" else float)


def _outcome(raw: Any, col: Column) -> tuple[Any, str | None]:
    """Return a cell's value and None, or None and why it is refused."""
    try:
        return _convert(raw, col), None
    except ValueError as exc:
        return None, str(exc)


def _convert(raw: Any, col: Column) -> Any:
    if col.kind == "str":
        text = str(raw).strip()
        if col.choices is not None and text not in col.choices:
            msg = f"{text!r} is not one of {', '.join(col.choices)}"
            raise ValueError(msg)
        return text
    if col.kind == "date":
        return _convert_date(raw)
    if col.kind in _VOCABULARIES:
        return _VOCABULARIES[col.kind](raw)
    if col.kind == "bool":
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        msg = f"{raw!r} is not true or false"
        raise ValueError(msg)
    return _convert_number(raw, col)


def _convert_date(raw: Any) -> dt.date:
    if isinstance(raw, pd.Timestamp | dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = str(raw).strip()
    text = text[:10] if "T" in text else text
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        if _ISO_SHAPE.fullmatch(text):
            msg = f"{text} is not a real date"
        else:
            msg = (
                f"{raw!r} is not a date in YYYY-MM-DD format (a mapping file can name "
                "another format)"
            )
        raise ValueError(msg) from None


def _convert_number(raw: Any, col: Column) -> float | int:
    number = decimal_rate(raw) if col.decimal else finite_float(raw)
    if col.kind in ("int", "frequency"):
        if number != int(number):
            msg = f"{number} is not a whole number"
            raise ValueError(msg)
        if col.kind == "frequency" and int(number) not in FREQUENCIES:
            msg = f"{int(number)} is not a coupon frequency; expected one of {FREQUENCIES}"
            raise ValueError(msg)
        if col.kind == "frequency":
            return int(number)
    if col.minimum is not None and (
        number < col.minimum or (col.exclusive_minimum and number == col.minimum)
    ):
        op = ">" if col.exclusive_minimum else ">="
        msg = f"{number} must be {op} {col.minimum:g}"
        raise ValueError(msg)
    if col.maximum is not None and number > col.maximum:
        msg = f"{number} must be <= {col.maximum:g}"
        raise ValueError(msg)
    return int(number) if col.kind == "int" else number


def _weights_sum_to_one(frame: pd.DataFrame, file: str) -> list[Problem]:
    total = float(frame["current_allocation"].sum())
    if abs(total - 1.0) > 1e-6:
        return [
            Problem(file, None, "current_allocation", f"allocations sum to {total:.6f}; expected 1")
        ]
    return []


def _returns_in_decimals(frame: pd.DataFrame, file: str) -> list[Problem]:
    problems = []
    for col in ("return", "benchmark_return"):
        big = frame[col].abs() > 0.5
        if big.mean() > 0.2:  # a monthly return of 50% in a bond sleeve is a percentage
            problems.append(
                Problem(file, None, col, "monthly returns look like percentages; use decimals")
            )
    return problems


def _liability_flows(frame: pd.DataFrame, file: str) -> list[Problem]:
    amounts = frame["amount"].to_numpy(dtype=float)
    negative = np.flatnonzero(amounts < 0.0)
    problems = [
        Problem(
            file,
            int(row),
            "amount",
            f"{amounts[row]:g} is negative; liabilities are the payments the insurer owes, as "
            "positive amounts (a file that writes outflows as negative numbers says so in a "
            "mapping file: units: {amount: negated})",
        )
        for row in negative
    ]
    if not len(negative) and not np.any(amounts > 0.0):
        problems.append(Problem(file, None, "amount", "every amount is zero; nothing is owed"))
    return problems


def month_sequence_problem(months: Sequence[dt.date]) -> str | None:
    """Why sorted, distinct `months` are not a gapless monthly history, or None if they are.

    A history is one date per calendar month with no month skipped, either every date a
    month-end or every date on the last date's day of the month (clamped to short months, as
    :func:`fialloc.schedule.add_months` counts back from a valuation date).
    """
    dates = sorted(set(months))
    for prev, cur in itertools.pairwise(dates):
        step = (cur.year - prev.year) * 12 + cur.month - prev.month
        if step != 1:
            what = "two dates in" if step == 0 else f"a gap of {count(step - 1, 'month')} between"
            return f"{what} {prev} and {cur}; expected one date per month without gaps"
    if not dates or all((d + dt.timedelta(days=1)).day == 1 for d in dates):
        return None
    last = dates[-1]
    for d in dates:
        if d != add_months(last, (d.year - last.year) * 12 + d.month - last.month):
            return (
                f"{d} is neither a month-end nor on day {last.day} of its month like the "
                "other dates; expected month-end dates"
            )
    return None


def _gapless_months(by: str | None) -> Callable[[pd.DataFrame, str], list[Problem]]:
    def check(frame: pd.DataFrame, file: str) -> list[Problem]:
        groups = (
            frame.groupby(by, sort=True)["month"].unique().items()
            if by
            else [("", frame["month"].unique())]
        )
        problems = []
        for key, months in groups:
            message = month_sequence_problem(list(months))
            if message is not None:
                who = f"{by} {key}: " if by else ""
                problems.append(Problem(file, None, "month", who + message))
        return problems

    return check


def _benchmark_weights_sum_to_one(frame: pd.DataFrame, file: str) -> list[Problem]:
    big = np.flatnonzero(frame["weight"].to_numpy(dtype=float) > 1.0)
    if len(big):
        row = int(big[0])
        value = frame["weight"].iloc[row]
        msg = f"{value} looks like a percentage; weights are decimals that sum to 1"
        return [Problem(file, row, "weight", msg)]
    totals = frame.groupby(["month", "benchmark_id"], sort=True)["weight"].sum()
    off = totals[(totals - 1.0).abs() > 1e-6]
    return [
        Problem(
            file,
            None,
            "weight",
            f"benchmark {key[1]} at {key[0]}: weights sum to {total:.6f}; expected 1",
        )
        for key, total in zip(off.index, off.to_numpy(), strict=True)
    ]


def _delivery_before_ctd_maturity(frame: pd.DataFrame, file: str) -> list[Problem]:
    late = np.flatnonzero((frame["ctd_maturity"] <= frame["delivery"]).to_numpy())
    return [
        Problem(
            file,
            int(row),
            "ctd_maturity",
            f"{frame['ctd_maturity'].iloc[row]} is not after the delivery date "
            f"{frame['delivery'].iloc[row]}",
        )
        for row in late
    ]


def _one_curve(frame: pd.DataFrame, file: str) -> list[Problem]:
    """Check that every point is dated and the table holds one form and one interpolation."""
    problems = []
    tenor = frame["tenor"] if "tenor" in frame.columns else pd.Series(None, index=frame.index)
    maturity = (
        frame["maturity"] if "maturity" in frame.columns else pd.Series(None, index=frame.index)
    )
    for row in np.flatnonzero((tenor.isna() & maturity.isna()).to_numpy()):
        problems.append(Problem(file, int(row), "tenor", "give a tenor (10Y) or a maturity date"))
    for column in ("form", "interpolation", "extrapolation"):
        if column in frame.columns and frame[column].dropna().nunique() > 1:
            given = sorted(frame[column].dropna().unique())
            msg = f"one curve has one {column}; the table mixes {', '.join(given)}"
            problems.append(Problem(file, None, column, msg))
    return problems


#: Forms a market_history zero series may be quoted in (column ``form``; default continuous).
HISTORY_FORMS: Final = ("zero_continuous", "zero_annual", "zero_semiannual", "discount_factor")


def _history_values(frame: pd.DataFrame, file: str) -> list[Problem]:
    """Check rates are decimals and discount factors positive (above 1 with negative rates)."""
    form = (
        frame["form"].fillna("zero_continuous")
        if "form" in frame.columns
        else pd.Series("zero_continuous", index=frame.index)
    )
    value = frame["value"].to_numpy(dtype=float)
    is_df = (form == "discount_factor").to_numpy()
    is_fx = frame["series"].str.startswith("fx_").to_numpy()
    problems = [
        Problem(file, int(row), "value", f"{value[row]} is not a positive FX rate")
        for row in np.flatnonzero(is_fx & ~(value > 0))
    ]
    for row in np.flatnonzero(is_df & ~frame["series"].str.startswith("zero_").to_numpy()):
        msg = "only zero-rate series (zero_<years>y) can be given as discount factors"
        problems.append(Problem(file, int(row), "form", msg))
    for row in np.flatnonzero(is_df & ~(value > 0)):
        problems.append(
            Problem(file, int(row), "value", f"{value[row]} is not a positive discount factor")
        )
    for row in np.flatnonzero(~is_df & ~is_fx & ~(np.abs(value) < 1.0)):
        msg = (
            f"{value[row]} looks like a percentage; did you mean {value[row] / 100:g}? "
            "(rates are decimals: 0.045 for 4.5%)"
        )
        problems.append(Problem(file, int(row), "value", msg))
    return problems


#: How an MBS pool prepays (``mbs_pools.prepayment``): a constant CPR, a PSA speed or the
#: rate-dependent model (see :class:`fialloc.mbs.PrepaymentModel`).
PREPAYMENT_KINDS: Final = ("cpr", "psa", "model")


def _pool_terms(frame: pd.DataFrame, file: str) -> list[Problem]:
    """Check each pool passes through no more than its WAC and a CPR speed is below 1."""
    problems = []
    high = (frame["net_coupon"] > frame["wac"]).to_numpy()
    for row in np.flatnonzero(high):
        msg = (
            f"{frame['net_coupon'].iloc[row]:g} is above the pool's wac "
            f"{frame['wac'].iloc[row]:g}; the net coupon is the WAC less servicing and "
            "guarantee fees"
        )
        problems.append(Problem(file, int(row), "net_coupon", msg))
    if "prepayment" in frame.columns and "speed" in frame.columns:
        cpr = (frame["prepayment"] == "cpr") & (frame["speed"] >= 1.0)
        for row in np.flatnonzero(cpr.to_numpy()):
            msg = f"{frame['speed'].iloc[row]:g} is not a CPR; a cpr speed is a decimal below 1"
            problems.append(Problem(file, int(row), "speed", msg))
    return problems


def _factors_only_fall(frame: pd.DataFrame, file: str) -> list[Problem]:
    """Check each pool's factor never rises from one date to the next (pools only pay down)."""
    ordered = frame.assign(_row=np.arange(len(frame))).sort_values(["security_id", "date"])
    rises = ordered.groupby("security_id", sort=False)["factor"].diff() > 1e-12
    problems = []
    for row in ordered.loc[rises.to_numpy(), "_row"].to_numpy():
        msg = (
            f"{frame['factor'].iloc[row]:g} for {frame['security_id'].iloc[row]} at "
            f"{frame['date'].iloc[row]} is above its factor at an earlier date; a pool's "
            "factor only falls"
        )
        problems.append(Problem(file, int(row), "factor", msg))
    return problems


#: How an FX spot rate may be quoted (see the fx_spot table).
FX_QUOTING: Final = ("base_per_unit", "units_per_base")
_YEARS: Final = re.compile(r"\s*([1-9]\d*)\s*[Yy]\s*")


def _whole_year_tenors(frame: pd.DataFrame, file: str) -> list[Problem]:
    """Check that every zero-coupon inflation swap runs a whole number of years."""
    return [
        Problem(file, row, "tenor", f"{tenor!r} is not a whole number of years (5Y, 10Y)")
        for row, tenor in enumerate(frame["tenor"])
        if _YEARS.fullmatch(str(tenor)) is None
    ]


#: How an observed price is quoted: clean (without accrued interest) or dirty (with it).
PRICE_TYPES: Final = ("clean", "dirty")
#: Prices are per 100 face: anything above is a price per 1,000 face or a money amount.
MAX_PRICE: Final = 1000.0

SCHEMAS: Final[Mapping[str, TableSpec]] = {
    "securities": TableSpec(
        "securities",
        (
            Column("security_id", "str"),
            Column("issuer", "str"),
            Column("sector", "sector"),
            Column("rating", "rating"),
            Column("currency", "str", choices=CURRENCIES),
            Column("coupon", "float", minimum=0.0, decimal=True),
            Column("maturity", "date"),
            Column("frequency", "frequency"),
            Column("day_count", "day_count"),
            Column("bid_ask_bp", "float", minimum=0.0),
            Column("bid_ask_vol_bp", "float", minimum=0.0),
            Column("adv", "float", minimum=0.0, maximum=MAX_AMOUNT),
            Column("issue_size", "float", minimum=0.0, exclusive_minimum=True, maximum=MAX_AMOUNT),
            Column("liquidity_tier", "liquidity_tier"),
            Column("z_spread", "float", required=False, decimal=True),
        ),
        key=("security_id",),
        description="Security master: one row per bond, including bonds that matured, were "
        "called or were sold before the valuation date (only today's holdings must mature "
        "after it). Money in the portfolio currency; coupons decimal; bid-ask in bp of price; "
        "adv = average daily traded volume (money); z_spread (optional, decimal, may be empty "
        "per row). Each held bond's spread comes from, in this order: an observed price at "
        "the valuation date (`prices` or the holdings' `price`; the z-spread is solved from "
        "it and the observed value is used), its `z_spread`, the spread of its letter rating "
        "in `spreads` (0 for government sectors); the run's `spread_sources` table says which. "
        "`currency` is one of USD, EUR, GBP, JPY, CAD: a bond is priced off its currency's "
        "government curve and valued in the base currency at FX spot (`fx_spot`); its "
        "spread is over its own curve.",
    ),
    "holdings": TableSpec(
        "holdings",
        (
            Column("manager_id", "str"),
            Column("security_id", "str"),
            Column("par", "float", minimum=0.0, exclusive_minimum=True, maximum=MAX_AMOUNT),
            Column(
                "price",
                "float",
                required=False,
                minimum=0.0,
                exclusive_minimum=True,
                maximum=MAX_PRICE,
            ),
            Column("price_type", "str", required=False, choices=PRICE_TYPES),
            Column("hedge_ratio", "float", required=False, minimum=0.0, maximum=1.0),
        ),
        key=("manager_id", "security_id"),
        description="What each manager holds: face amount (in the security's currency) per "
        "security; optionally "
        "the observed price per 100 face at the valuation date (`price`, with `price_type` "
        "clean or dirty, default clean), which must agree across managers and with `prices`; "
        "optionally the share of a foreign-currency holding's value hedged into the base "
        "currency by rolling 3-month FX forwards (`hedge_ratio`, 0 to 1, default 0; ignored "
        "for base-currency bonds).",
    ),
    "managers": TableSpec(
        "managers",
        (
            Column("manager_id", "str"),
            Column("name", "str"),
            Column("style", "str"),
            Column("benchmark", "str"),
            Column("current_allocation", "float", minimum=0.0, maximum=1.0),
        ),
        key=("manager_id",),
        description="Managers, their stated style and current share of the assets (sums to 1).",
        checks=(_weights_sum_to_one,),
    ),
    "manager_returns": TableSpec(
        "manager_returns",
        (
            Column("month", "date"),
            Column("manager_id", "str"),
            Column("return", "float"),
            Column("benchmark_return", "float"),
        ),
        key=("manager_id", "month"),
        description="Monthly total returns of each sleeve and its benchmark, decimals, one "
        "date per month without gaps.",
        checks=(_returns_in_decimals, _gapless_months("manager_id")),
    ),
    "liabilities": TableSpec(
        "liabilities",
        (Column("date", "date"), Column("amount", "float", maximum=MAX_AMOUNT)),
        description="Liability cash flows the insurer owes (money, positive), by payment date: "
        "the fixed flows; annuity blocks in `liability_products` add theirs.",
        checks=(_liability_flows,),
    ),
    "curve_quotes": TableSpec(
        "curve_quotes",
        (
            Column("kind", "str", choices=("deposit", "swap", "par_bond")),
            Column("tenor", "str"),
            Column("rate", "float", decimal=True),
            Column("frequency", "frequency", required=False),
            Column("day_count", "day_count", required=False),
            Column("currency", "str", required=False, choices=CURRENCIES),
            Column("curve", "str", required=False, choices=("government", "ois")),
        ),
        description="Today's curves as instrument quotes, sorted by maturity within each "
        "curve (see fialloc.curves.bootstrap). Optional `currency` (default the mandate's "
        "base currency) and `curve` (government, the default, prices the currency's bonds; "
        "ois sets FX forwards): with a `currency` column, a row without frequency or day "
        "count takes its market's conventions (fialloc.curve_set.CONVENTIONS: e.g. USD "
        "deposits and OIS ACT/360, GBP ACT/365F, EUR government coupons annual). Give this "
        "table or `curve` (base currency only), not both.",
    ),
    "curve": TableSpec(
        "curve",
        (
            Column("tenor", "str", required=False),
            Column("maturity", "date", required=False),
            Column("value", "float"),
            Column("form", "str", choices=CURVE_FORMS),
            Column("interpolation", "str", required=False, choices=tuple(INTERPOLATIONS)),
            Column("extrapolation", "str", required=False, choices=tuple(EXTRAPOLATIONS)),
            Column("frequency", "frequency", required=False),
            Column("day_count", "day_count", required=False),
        ),
        description="Today's curve as points, sorted by maturity: a tenor (3M, 10Y) or "
        "maturity date, a value and its form (zero rates with continuous, annual or semiannual "
        "compounding on Act/365F, discount factors, or par yields of bonds priced at par, "
        "paying `frequency` coupons a year on `day_count`, by default 2 and ACT/ACT ICMA). "
        "`interpolation` and `extrapolation` may be columns or keys of valuation.json (default "
        "log_linear and flat_forward). Give this table or `curve_quotes`, not both.",
        checks=(_one_curve,),
    ),
    "fx_spot": TableSpec(
        "fx_spot",
        (
            Column("currency", "str", choices=CURRENCIES),
            Column("rate", "float", minimum=0.0, exclusive_minimum=True, maximum=1e6),
            Column("quoted", "str", required=False, choices=FX_QUOTING),
            Column("basis", "float", required=False, decimal=True),
        ),
        key=("currency",),
        description="FX spot of each currency held besides the base currency: `rate` in "
        "base-currency units per unit of the currency (`quoted` base_per_unit, the default: "
        "1.0850 for EUR in USD) or in units of the currency per base unit (units_per_base: "
        "150 for JPY per USD); optional cross-currency `basis` (decimal, continuous, added to "
        "the currency's rate in covered parity: -0.0020 for -20 bp).",
    ),
    "spreads": TableSpec(
        "spreads",
        (
            Column("rating", "rating_letter"),
            Column("spread", "float", minimum=0.0, decimal=True),
        ),
        key=("rating",),
        description="Today's credit spread (z-spread, decimal) by letter rating.",
    ),
    "market_history": TableSpec(
        "market_history",
        (
            Column("month", "date"),
            Column("series", "str"),
            Column("value", "float"),
            Column("form", "str", required=False, choices=HISTORY_FORMS),
        ),
        key=("month", "series"),
        description="Monthly history: zero rates by tenor (series 'zero_<years>y'), spreads "
        "by rating (series 'spread_<rating>') and, for the curve desk's linker view, "
        "zero-coupon breakevens by price index and tenor (series 'breakeven_<INDEX>_<years>y'), "
        "decimals. `form` (optional) says how a zero "
        "series is quoted: zero_continuous (the default), zero_annual, zero_semiannual or "
        "discount_factor. A book holding other currencies adds, per currency, zero rates "
        "('zero_<CCY>_<years>y', continuous) and FX spots in base units per unit "
        "('fx_<CCY>'): the surplus risk of its foreign rate and FX exposures is measured on "
        "them.",
        checks=(_history_values,),
    ),
    "manager_characteristics": TableSpec(
        "manager_characteristics",
        (
            Column("month", "date"),
            Column("manager_id", "str"),
            Column("duration", "float", minimum=0.0),
            Column("credit_notch", "float", minimum=1.0, maximum=21.0),
            Column("high_yield_share", "float", minimum=0.0, maximum=1.0),
            Column("spread_duration", "float", required=False, minimum=0.0),
        ),
        key=("manager_id", "month"),
        description="Month-end snapshots of each sleeve: effective duration (years), average "
        "rating notch (AAA = 1 .. BBB- = 10 .. C = 21) and share below investment grade; "
        "optionally spread duration (years), key-rate durations as columns `krd_<tenor>y` "
        "(years) and sector weights as columns `sector_<name>` (decimals), each tested for "
        "style drift against the benchmark's same figure.",
    ),
    "holdings_history": TableSpec(
        "holdings_history",
        (
            Column("month", "date"),
            Column("manager_id", "str"),
            Column("security_id", "str"),
            Column("par", "float", minimum=0.0, exclusive_minimum=True),
        ),
        key=("manager_id", "month", "security_id"),
        description="Each manager's positions at each month-end: face amount (money) per "
        "security, one date per month without gaps (needed for holdings-based attribution).",
        checks=(_gapless_months("manager_id"),),
    ),
    "benchmarks": TableSpec(
        "benchmarks",
        (Column("benchmark_id", "str"), Column("name", "str")),
        key=("benchmark_id",),
        description="The managers' benchmarks: with this table, the managers' `benchmark` "
        "column holds a benchmark_id (several managers may share one). Required with "
        "benchmark_holdings or benchmark_characteristics.",
    ),
    "benchmark_holdings": TableSpec(
        "benchmark_holdings",
        (
            Column("month", "date"),
            Column("benchmark_id", "str"),
            Column("security_id", "str"),
            Column("weight", "float", minimum=0.0),
        ),
        key=("benchmark_id", "month", "security_id"),
        description="Constituents of each benchmark at each month-end: market-value weight "
        "(decimal) per security, summing to 1 per benchmark and month (within 1e-6, then "
        "scaled to 1). Holdings-based attribution needs every manager's benchmark at every "
        "month of the holdings history.",
        checks=(_benchmark_weights_sum_to_one, _gapless_months("benchmark_id")),
    ),
    "benchmark_characteristics": TableSpec(
        "benchmark_characteristics",
        (
            Column("month", "date"),
            Column("benchmark_id", "str"),
            Column("duration", "float", minimum=0.0),
            Column("spread_duration", "float", required=False, minimum=0.0),
            Column("credit_notch", "float", required=False, minimum=1.0, maximum=21.0),
            Column("high_yield_share", "float", required=False, minimum=0.0, maximum=1.0),
        ),
        key=("benchmark_id", "month"),
        description="Characteristics of each benchmark at each month-end, for benchmarks "
        "given without constituents: effective duration, spread duration and key-rate "
        "durations as columns `krd_<tenor>y` at the run's key tenors (years), average "
        "rating notch (AAA = 1 .. C = 21), share "
        "below investment grade, sector weights as columns `sector_<name>` and the rating mix "
        "as columns `rating_<letter>` (AAA .. CCC; decimals).",
        checks=(_gapless_months("benchmark_id"),),
    ),
    "prices": TableSpec(
        "prices",
        (
            Column("security_id", "str"),
            Column("date", "date"),
            Column("price", "float", minimum=0.0, exclusive_minimum=True, maximum=MAX_PRICE),
            Column("price_type", "str", choices=PRICE_TYPES),
            Column("source", "str", required=False),
        ),
        key=("security_id", "date"),
        description="Observed prices per 100 face (custodian or pricing vendor), clean or "
        "dirty, by security and date. A price at the valuation date sets the bond's market "
        "value and its z-spread is solved from it off today's curve; a price at a month of the "
        "holdings history sets that month's spread (solved off that month's zero curve) ahead "
        "of `security_spreads`. `source` (optional) names where the price came from.",
    ),
    "overlay_futures": TableSpec(
        "overlay_futures",
        (
            Column("contract", "str"),
            Column("contract_size", "float", minimum=0.0, exclusive_minimum=True),
            Column("ctd_coupon", "float", minimum=0.0, decimal=True),
            Column("ctd_maturity", "date"),
            Column("conversion_factor", "float", minimum=0.0, exclusive_minimum=True),
            Column("delivery", "date"),
            Column("futures_price", "float", required=False, minimum=0.0, exclusive_minimum=True),
            Column("initial_margin", "float", minimum=0.0),
        ),
        key=("contract",),
        description="Treasury futures the duration overlay may hold: face per contract "
        "(money), the cheapest-to-deliver's coupon (decimal, semiannual) and maturity, its "
        "conversion factor, the first delivery date, the futures price per 100 (empty: the "
        "fair price off the curve) and initial margin per contract (money). Without this "
        "file the overlay uses fialloc.overlay.default_futures (the demo's illustrative "
        "contracts).",
        checks=(_delivery_before_ctd_maturity,),
    ),
    "linkers": TableSpec(
        "linkers",
        (
            Column("security_id", "str"),
            Column("index", "str"),
            Column("base_cpi", "float", minimum=0.0, exclusive_minimum=True),
            Column("lag_months", "int", minimum=0.0, maximum=12.0),
            Column("interpolation", "str", choices=("linear", "flat")),
            Column("floor", "bool"),
        ),
        key=("security_id",),
        description="Inflation-linked bonds (TIPS, index-linked gilts, euro-area, Japanese "
        "and Canadian linkers) among the securities, whose `coupon` is then the real coupon: "
        "the price index they follow (as named in `cpi_history`), the reference CPI at their "
        "dated date, the observation lag in months, `linear` (daily interpolation through the "
        "month, the reference CPI of all five markets) or `flat` (the lagged month's value), "
        "and whether the principal repays at least its face (deflation floor: TIPS, euro-area "
        "and Japanese linkers). Needs `cpi_history` for each index, and `inflation_swaps` or "
        "observed prices of its linkers. A price of a linker (`prices`, holdings' `price`) is "
        "its quoted real price per 100; an index without swaps takes the breakeven curve that "
        "reprices its held government linkers' prices at the valuation date (one pillar per "
        "linker; fialloc.inflation.BreakevenCurve.from_linkers).",
    ),
    "cpi_history": TableSpec(
        "cpi_history",
        (
            Column("index", "str"),
            Column("month", "date"),
            Column("value", "float", minimum=0.0, exclusive_minimum=True),
        ),
        key=("index", "month"),
        description="Published monthly levels of each price index (the month it measures, any "
        "day of it; one per month without gaps), up to the latest published: the index ratios "
        "of the linkers and the base of the breakeven curves.",
        checks=(_gapless_months("index"),),
    ),
    "inflation_swaps": TableSpec(
        "inflation_swaps",
        (
            Column("index", "str"),
            Column("tenor", "str"),
            Column("rate", "float", decimal=True),
        ),
        key=("index", "tenor"),
        checks=(_whole_year_tenors,),
        description="Today's zero-coupon inflation swap rates (decimal) by index and tenor in "
        "whole years (5Y): the breakeven curve each index's linkers are valued "
        "on (see fialloc.inflation.BreakevenCurve.from_swaps; base month = the valuation "
        "month less the index's lag, whose level `cpi_history` must hold).",
    ),
    "call_schedule": TableSpec(
        "call_schedule",
        (
            Column("security_id", "str"),
            Column("date", "date"),
            Column("price", "float", minimum=0.0, exclusive_minimum=True, maximum=MAX_PRICE),
            Column("kind", "str", choices=("call", "put")),
            Column("make_whole", "bool", required=False),
        ),
        key=("security_id", "date"),
        description="Call and put schedules of bonds in the security master: on each date the "
        "issuer may redeem the bond (`call`) or the holder may sell it back (`put`) at `price` "
        "(clean, per 100 face; accrued interest is added). Dates before the bond's maturity; "
        "past dates are ignored. `make_whole` (optional, default false) marks a make-whole "
        "call, valued as the bullet bond. Bonds with a live option are valued on a Hull-White "
        "lattice fitted to their currency's curve and the swaption vols of a G2++ model on it: "
        "their option-adjusted spread is solved from the market price, with option-adjusted "
        "duration, convexity and key-rate durations (the run's rate risk of the bond).",
    ),
    "liability_products": TableSpec(
        "liability_products",
        (
            Column("product_id", "str"),
            Column("kind", "str", choices=("fixed_annuity", "payout_annuity")),
            Column("age", "int", minimum=0.0, maximum=120.0),
            Column("next_anniversary", "date"),
            Column("account_value", "float", required=False, minimum=0.0, maximum=MAX_AMOUNT),
            Column("credited_rate", "float", required=False, decimal=True),
            Column("surrender_charge", "float", required=False, minimum=0.0, maximum=1.0),
            Column("surrender_years", "float", required=False, minimum=0.0),
            Column("base_lapse", "float", required=False, minimum=0.0, maximum=1.0),
            Column("term_years", "float", required=False, minimum=0.0, exclusive_minimum=True),
            Column("annual_payment", "float", required=False, minimum=0.0, maximum=MAX_AMOUNT),
        ),
        key=("product_id",),
        description="Annuity blocks whose cash flows depend on rates and mortality (needs "
        "`mortality`), on top of the fixed `liabilities` flows. A `fixed_annuity` has an "
        "`account_value` (money) credited at `credited_rate` (decimal) until `term_years` "
        "(years from the valuation date), a `surrender_charge` (decimal of the account) that "
        "runs off linearly over `surrender_years`, and a `base_lapse` rate (decimal a year, "
        "default 0.05) scaled by an S-curve of the 5-year market rate less the credited rate; "
        "a `payout_annuity` pays `annual_payment` (money) to each annuitant alive. `age` is "
        "the attained age today; events fall on `next_anniversary` (within a year) and yearly "
        "after. Their expected flows (on today's forward rates) join the liability stream; "
        "the duration desk values them path by path (fialloc.annuities).",
    ),
    "mortality": TableSpec(
        "mortality",
        (
            Column("age", "int", minimum=0.0, maximum=150.0),
            Column("qx", "float", minimum=0.0, maximum=1.0),
            Column("improvement", "float", required=False, minimum=0.0, maximum=1.0),
        ),
        key=("age",),
        description="Mortality of the annuitants in `liability_products`: the probability "
        "`qx` of dying within the year at each age (consecutive ages; beyond the last everyone "
        "dies) and the annual `improvement` (decimal, default 0) by which it falls each year.",
    ),
    "security_spreads": TableSpec(
        "security_spreads",
        (
            Column("month", "date"),
            Column("security_id", "str"),
            Column("spread", "float", decimal=True),
        ),
        key=("security_id", "month"),
        description="Each security's z-spread (decimal) at each month-end of the holdings "
        "history; without it spreads move with their rating's spread history.",
        checks=(_gapless_months(None),),
    ),
    "mbs_pools": TableSpec(
        "mbs_pools",
        (
            Column("security_id", "str"),
            Column(
                "balance",
                "float",
                required=False,
                minimum=0.0,
                exclusive_minimum=True,
                maximum=MAX_AMOUNT,
            ),
            Column("wac", "float", minimum=0.0, decimal=True),
            Column("net_coupon", "float", minimum=0.0, decimal=True),
            Column("wam", "int", minimum=1.0, maximum=600.0),
            Column("age", "int", minimum=0.0, maximum=600.0),
            Column(
                "factor", "float", required=False, minimum=0.0, exclusive_minimum=True, maximum=1.0
            ),
            Column("prepayment", "str", required=False, choices=PREPAYMENT_KINDS),
            Column("speed", "float", required=False, minimum=0.0, maximum=1e4),
        ),
        key=("security_id",),
        description="Agency MBS pass-throughs among the securities (sector securitized): the "
        "pool's current balance (money, optional), gross weighted-average coupon `wac` and "
        "pass-through `net_coupon` (decimals), months left `wam` and loan `age` (months), "
        "`factor` (current over original balance, default 1) and how it prepays: "
        "`prepayment` cpr (`speed` a decimal CPR), psa (`speed` in percent, 100 = the PSA "
        "ramp) or model (default: the rate-dependent model of fialloc.mbs.PrepaymentModel, "
        "`speed` a multiplier, default 1). A held pool is valued on G2++ paths: its OAS is "
        "solved from its price and its effective duration, convexity, spread duration and "
        "key-rate durations are option-adjusted (OAS held fixed) in every table.",
        checks=(_pool_terms,),
    ),
    "pool_factors": TableSpec(
        "pool_factors",
        (
            Column("security_id", "str"),
            Column("date", "date"),
            Column("factor", "float", minimum=0.0, maximum=1.0),
        ),
        key=("security_id", "date"),
        description="Monthly factors of the pools in `mbs_pools` (current over original "
        "balance after the date's payment) at month-ends of the holdings history. Between two "
        "month-ends with a factor, a pool's actual paydown (scheduled and prepaid principal, a "
        "share of its balance) is set against the paydown the prepayment model expected on "
        "that month's curve: the holdings attribution's prepayment effect.",
        checks=(_factors_only_fall,),
    ),
}
