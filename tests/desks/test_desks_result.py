"""Desk tables as JSON records: the column-wise conversion equals pandas' row records."""

import datetime as dt
import json
import math
import warnings

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from fialloc.desks.result import json_value, to_records


def _row_records(table: pd.DataFrame) -> list[dict[str, object]]:
    """The reference: pandas' row records, each value through json_value."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pandas on duplicate column names
        records = table.reset_index().to_dict("records")
    return [{str(k): json_value(v) for k, v in row.items()} for row in records]


def _same(a: list[dict[str, object]], b: list[dict[str, object]]) -> bool:
    """Equal keys in order, values and Python types (-0.0 and 0.0 told apart by json)."""
    if json.dumps(a) != json.dumps(b):
        return False
    return [[type(v) for v in r.values()] for r in a] == [[type(v) for v in r.values()] for r in b]


FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf]),
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(0, 6),
    data=st.data(),
)
def test_records_equal_pandas_row_records_on_mixed_columns(rows, data):
    floats = data.draw(st.lists(FLOATS, min_size=rows, max_size=rows))
    ints = data.draw(st.lists(st.integers(-(2**40), 2**40), min_size=rows, max_size=rows))
    flags = data.draw(st.lists(st.booleans(), min_size=rows, max_size=rows))
    texts = data.draw(
        st.lists(st.one_of(st.none(), st.text(max_size=3)), min_size=rows, max_size=rows)
    )
    days = data.draw(st.lists(st.dates(), min_size=rows, max_size=rows))
    table = pd.DataFrame(
        {
            "x": np.array(floats, dtype=np.float64),
            "x32": np.array([x if abs(x) < 1e38 else math.nan for x in floats], dtype=np.float32),
            "n": np.array(ints, dtype=np.int64),
            "u": np.array([abs(i) for i in ints], dtype=np.uint64),
            "flag": np.array(flags, dtype=bool),
            "text": pd.Series(texts, dtype=object),
            "label": pd.Series([t or "" for t in texts], dtype="string"),
            "day": pd.Series(days, dtype=object),
            "stamp": pd.to_datetime([dt.datetime(2026, 1, 1 + i % 28) for i in range(rows)]),
        },
        index=pd.Index([f"M{i:02d}" for i in range(rows)], name="manager"),
    )
    assert _same(to_records(table), _row_records(table))


def test_records_keep_multi_indexes_duplicate_names_and_empty_tables():
    index = pd.MultiIndex.from_product([["a", "b"], [1.5, math.nan]], names=["who", 0])
    table = pd.DataFrame(
        np.array([[1.0, -0.0], [math.inf, 2.0], [3.0, math.nan], [4.0, 5.0]]),
        index=index,
        columns=["v", "v"],
    )
    # Duplicate names keep the last value at the first one's place, as pandas' records do.
    assert _same(to_records(table), _row_records(table))
    numbered = pd.DataFrame({0: [1, 2], "0": [3.5, math.nan]})
    assert _same(to_records(numbered), _row_records(numbered))
    empty = table.iloc[:0]
    assert to_records(empty) == _row_records(empty) == []


def test_a_desk_result_is_converted_once_and_the_same_every_time():
    from fialloc.desks.result import DeskResult, Finding

    table = pd.DataFrame({"x": [1.0, math.nan]}, index=pd.Index(["a", "b"], name="k"))
    result = DeskResult(
        "duration",
        tables={"t": table},
        findings=[Finding(code="c", subject="s", message="m", metrics={"v": 1.0})],
        summary={"gap": np.float64(0.5)},
    )
    first = result.to_dict()
    assert result.to_dict() is first
    assert first == {
        "desk": "duration",
        "summary": {"gap": 0.5},
        "findings": [{"code": "c", "severity": "info", "subject": "s", "message": "m",
                      "metrics": {"v": 1.0}}],
        "recommendations": [],
        "tables": {"t": [{"k": "a", "x": 1.0}, {"k": "b", "x": None}]},
    }  # fmt: skip
