"""Sorted streams and the presorted writer: a merge must never continue on unsorted input."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hf_croissant_assets.lake.sorted_stream import (
    NotSortedError,
    SortedCursor,
    is_sorted_column,
    partition_is_sorted,
    sorted_batches_of,
)
from hf_croissant_assets.lake.store import ROW_GROUP_ROWS, LakeStore
from hf_croissant_assets.schema import CROISSANT_RECORDS

DAY = "2026-11-20"


def _batches(*chunks: list[str | None]) -> list[pa.RecordBatch]:
    return [pa.record_batch({"dataset": pa.array(c, pa.string())}) for c in chunks]


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([["a", "b"], ["b", "c"]], True),
        ([["a", "b", None], [None]], True),
        ([["a", "c"], ["b"]], False),  # across chunks
        ([["b", "a"]], False),
        ([["a", None, "b"]], False),  # a value after a null
        ([["a", None], ["b"]], False),
        ([["Z", "a", "é", "中"]], True),  # byte order of UTF-8 = code point order
    ],
)
def test_is_sorted_column(chunks, expected):
    assert is_sorted_column(b.column(0) for b in _batches(*chunks)) is expected


def test_cursor_takes_ranges_and_refuses_unsorted_input():
    cursor = SortedCursor(iter(_batches(["a", "b"], ["c", "d", "e"], ["f", None])))
    assert cursor.take_through("0") is None
    got = cursor.take_through("c")
    assert got is not None and got.column("dataset").to_pylist() == ["a", "b", "c"]
    got = cursor.take_through("cz")
    assert got is None
    got = cursor.take_through("zz")
    assert got is not None and got.column("dataset").to_pylist() == ["d", "e", "f"]
    assert cursor.take_through("zzz") is None  # null keys are never returned

    bad = SortedCursor(iter(_batches(["a", "c"], ["b"])))
    bad.take_through("a")
    with pytest.raises(NotSortedError):
        bad.take_through("z")


def _records(ids: list[str]) -> pa.Table:
    return pa.Table.from_pydict(
        {name: [None] * len(ids) for name in CROISSANT_RECORDS.names} | {"dataset": ids},
        schema=CROISSANT_RECORDS,
    )


def test_an_unsorted_partition_is_read_back_sorted(tmp_path):
    store = LakeStore(str(tmp_path))
    ids = [f"org/{i:05d}" for i in range(3000)][::-1]
    store.write_table("croissant_records", DAY, _records(ids))
    assert not partition_is_sorted(store, "croissant_records", DAY)
    out = [
        d
        for b in sorted_batches_of(store, "croissant_records", DAY, ["dataset"], batch_size=512)
        for d in b.column(0).to_pylist()
    ]
    assert out == sorted(ids)


def test_presorted_writer_keeps_the_sorted_layout_and_refuses_disorder(tmp_path):
    store = LakeStore(str(tmp_path))
    from hf_croissant_assets.curate.tables import derived_schema
    from hf_croissant_assets.schema import HF_CROISSANT

    ids = [f"org/{i:06d}" for i in range(ROW_GROUP_ROWS * 2 + 5)]
    table = pa.Table.from_pydict(
        {name: [None] * len(ids) for name in HF_CROISSANT.names} | {"dataset": ids},
        schema=HF_CROISSANT,
    )
    with store.writer(
        "hf_croissant", DAY, schema=derived_schema("hf_croissant"), presorted=True
    ) as writer:
        for start in range(0, table.num_rows, 1000):
            writer.write(table.slice(start, 1000))
    meta = pq.ParquetFile(store.part_path("hf_croissant", DAY)).metadata
    assert meta.num_rows == len(ids)
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [
        ROW_GROUP_ROWS,
        ROW_GROUP_ROWS,
        5,
    ]
    with (
        pytest.raises(ValueError, match="order"),
        store.writer("hf_croissant", "2026-11-21", presorted=True) as writer,
    ):
        writer.write(table.slice(1000, 10))
        writer.write(table.slice(0, 10))
    assert not store.exists("hf_croissant", "2026-11-21")
