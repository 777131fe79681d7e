"""Writes on the writer's own thread: same file, errors reach the caller, nothing published on
failure."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hf_croissant_assets.lake.store import LakeStore, background_writes
from hf_croissant_assets.schema import CROISSANT_RECORDS

DAY = "2026-11-20"


def _records(lo: int, hi: int) -> pa.Table:
    return pa.table(
        {
            "dataset": [f"org/d{i:06d}" for i in range(lo, hi)],
            "status": pa.array([200] * (hi - lo), pa.int32()),
            "croissant": [f'{{"name": "d{i}"}}' for i in range(lo, hi)],
        }
    ).cast(
        pa.schema([CROISSANT_RECORDS.field(n) for n in ("dataset", "status", "croissant")]),
    )


def _write(store: LakeStore, tables: list[pa.Table], background: bool) -> pa.Table:
    schema = CROISSANT_RECORDS
    with store.writer("croissant_records", DAY) as writer:
        if background:
            with background_writes(writer, depth=1) as queued:
                for t in tables:
                    queued.write(_full(t))
        else:
            for t in tables:
                writer.write(_full(t))
    assert writer.rows == sum(t.num_rows for t in tables)
    return pq.read_table(store.part_path("croissant_records", DAY)).cast(schema)


def _full(t: pa.Table) -> pa.Table:
    return pa.Table.from_arrays(
        [
            t.column(f.name) if f.name in t.column_names else pa.nulls(t.num_rows, f.type)
            for f in CROISSANT_RECORDS
        ],
        schema=CROISSANT_RECORDS,
    )


def test_background_writes_give_the_same_partition(tmp_path):
    tables = [_records(i * 1000, (i + 1) * 1000) for i in range(7)]
    direct = _write(LakeStore(str(tmp_path / "a")), tables, background=False)
    queued = _write(LakeStore(str(tmp_path / "b")), tables, background=True)
    assert queued.equals(direct)


def test_a_failed_background_write_fails_the_block_and_publishes_nothing(tmp_path):
    store = LakeStore(str(tmp_path))
    store.write_table("croissant_records", DAY, _full(_records(0, 3)))  # yesterday's good file
    before = pq.read_table(store.part_path("croissant_records", DAY))
    with (
        pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, KeyError)),
        store.writer("croissant_records", DAY) as writer,
        background_writes(writer, depth=1) as queued,
    ):
        queued.write(_full(_records(0, 10)))
        queued.write(pa.table({"unrelated": [1, 2, 3]}))  # fails on the thread
        for i in range(50):  # later writes raise the thread's error or are dropped
            queued.write(_full(_records(i, i + 1)))
    assert pq.read_table(store.part_path("croissant_records", DAY)).equals(before)


def test_an_error_in_the_body_stops_the_thread_and_publishes_nothing(tmp_path):
    store = LakeStore(str(tmp_path))
    with (
        pytest.raises(RuntimeError, match="producer failed"),
        store.writer("croissant_records", DAY) as writer,
        background_writes(writer, depth=1) as queued,
    ):
        queued.write(_full(_records(0, 10)))
        raise RuntimeError("producer failed")
    assert not store.exists("croissant_records", DAY)
