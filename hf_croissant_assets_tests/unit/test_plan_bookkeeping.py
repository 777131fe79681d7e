"""The streaming plan's one-pass bookkeeping read equals the reference's three polars JSON
path matches, for every shape a listing object can take."""

from __future__ import annotations

import json

import polars as pl
import pyarrow as pa
import pytest

from hf_croissant_assets.ingest.plan import (
    _bookkeeping,
    _json_array,
    _with_timestamps,
    bookkeeping_table,
)

GOOD = [
    {"id": "a/b", "sha": "0" * 40, "lastModified": "2024-01-02T03:04:05.000Z", "createdAt": None},
    {"id": "c", "sha": None, "createdAt": "2023-05-06T07:08:09Z", "tags": ["x"], "likes": 3},
    {"id": "d/é", "sha": 'a\u00e9\n"q"', "lastModified": "not a date", "downloads": 5},
    {"id": "e"},
]
HOSTILE_TEXTS = [
    '{"id":"n1","sha":123,"lastModified":1.5e3,"createdAt":true}',
    '{"id":"n2","sha":{"a":1,"b":[1,2]},"lastModified":[1,2],"createdAt":-0}',
    '{"id":"dup","sha":"x","sha":"y","createdAt":"2020-01-01T00:00:00Z","createdAt":"z"}',
    '{"id":"esc","s\\u0068a":"escaped key","lastModified":"2024-02-30T00:00:00Z"}',
    '{"id":"surrogate","sha":"\\ud800"}',
    "[1, 2]",
    '"just a string"',
    "null",
    '{"id":"deep","sha":' + "[" * 300 + "]" * 300 + "}",
    '{"id":"big","sha":12345678901234567890123}',
]


def _raw(texts: list[str | None]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array([f"id{i}" for i in range(len(texts))], pa.string()),
            "item": pa.array(texts, pa.string()),
        }
    )


def _reference(raw: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(raw)
    assert isinstance(frame, pl.DataFrame)
    return _with_timestamps(frame.select(*_bookkeeping()))


@pytest.mark.parametrize(
    "texts",
    [
        [json.dumps(o) for o in GOOD],  # the one-decode path
        [json.dumps(o) for o in GOOD] + HOSTILE_TEXTS,  # row by row, some via polars
        [json.dumps(GOOD[0]), None, json.dumps(GOOD[1])],  # a null item
        HOSTILE_TEXTS,
        [],
    ],
)
def test_bookkeeping_table_equals_the_reference(texts):
    raw = _raw(texts)
    got = bookkeeping_table(raw)
    want = _reference(raw)
    assert got.schema == want.schema
    assert got.equals(want, null_equal=True), (got, want)
    # the hostile rows really reach the other path: the values are not all null
    if texts == HOSTILE_TEXTS:
        assert got.get_column("sha").drop_nulls().len() >= 3


def test_one_odd_timestamp_does_not_decide_how_the_others_are_read():
    """A format inferred from the first value would read every later Hub timestamp as null (and
    the plan would see the whole batch as changed, refetching it); each value is read alone."""
    odd_first = ["2024-01-02", "01/02/2024", "x", "1500.0"]
    for odd in odd_first:
        texts = [json.dumps({"id": "odd", "lastModified": odd})] + [
            json.dumps({"id": f"d{i}", "lastModified": f"2024-03-0{i}T04:05:06.000Z"})
            for i in range(1, 6)
        ]
        got = bookkeeping_table(_raw(texts)).get_column("last_modified").to_list()
        assert all(v is not None for v in got[1:]), (odd, got)
        assert got[1].isoformat() == "2024-03-01T04:05:06+00:00"
    # only the odd values: no error, nulls (or the ISO date's midnight)
    got = bookkeeping_table(_raw([json.dumps({"lastModified": v}) for v in odd_first]))
    assert got.get_column("last_modified").to_list()[1:] == [None, None, None]


@pytest.mark.parametrize("start", [0, 1, 2])
def test_items_join_into_one_json_array_even_from_a_slice(start):
    """The one-decode path reads the items as one array; a slice of a column (a batch of a larger
    table) starts part-way into the values buffer and must not bring its neighbours along."""
    texts = [json.dumps(o, ensure_ascii=False) for o in GOOD] + ['{"id":"last"}']  # 5 texts
    items = pa.array(texts, pa.string()).slice(start, 3)
    joined = _json_array(items)
    assert json.loads(joined) == [json.loads(t) for t in texts[start : start + 3]]
    assert bytes(joined) == ("[" + ",".join(texts[start : start + 3]) + "]").encode()
    raw = pa.table({"id": pa.array(["x", "y", "z"]), "item": items})
    assert bookkeeping_table(raw).equals(_reference(raw), null_equal=True)
