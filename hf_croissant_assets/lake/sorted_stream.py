"""Partitions read in key order, range by range: the building block of flat-memory merges.

The day's Croissant work joins a day with the day before (carry-forward, derived tables). Holding
either side whole makes memory grow with the Hub; instead both sides are streamed in `dataset`
order and merged range by range (`SortedCursor.take_through`), so only one range of each side is
in memory at a time.

`sorted_batches_of` yields a partition's rows in key order: read straight from the file when the
file is already sorted (the partitions this project writes are; checked on the key column, which
is cheap), else sorted out of core by DuckDB under a memory limit (older partitions written in
arrival order). Ordering is byte order of the UTF-8 key with nulls last, the order DuckDB, parquet
statistics, pyarrow comparisons and Python's `str` comparison all agree on.

Plain pyarrow + DuckDB; no Dagster.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from hf_croissant_assets.lake.store import LakeStore

#: DuckDB's memory when it has to sort or join a day (beyond it, it spills to a temp folder).
MERGE_MEMORY_LIMIT = "128MB"


class NotSortedError(ValueError):
    """A stream that was promised in key order is not."""


def duckdb_connection(spill_dir: str, memory_limit: str = MERGE_MEMORY_LIMIT):
    """A DuckDB connection bounded in memory, spilling to `spill_dir`, keeping insertion order."""
    import duckdb

    return duckdb.connect(
        ":memory:",
        config={
            "memory_limit": memory_limit,
            "temp_directory": spill_dir,
            "preserve_insertion_order": True,
            "threads": 2,
            # hand freed memory back after each query rather than keeping it in DuckDB's
            # allocator for the rest of the process (the next steps of the day would carry it)
            "allocator_flush_threshold": "8MB",
            "allocator_bulk_deallocation_flush_threshold": "8MB",
        },
    )


def is_sorted_column(batches: Iterable[pa.Array | pa.ChunkedArray]) -> bool:
    """True when the concatenation of `batches` is non-decreasing, nulls only at the end."""
    last: str | None = None
    seen_null = False
    for chunk in batches:
        column = chunk.combine_chunks() if isinstance(chunk, pa.ChunkedArray) else chunk
        n, nulls = len(column), column.null_count
        if n == 0:
            continue
        head = column
        if nulls:
            if column.slice(n - nulls).null_count != nulls:
                return False  # a value after a null
            head = column.slice(0, n - nulls)
        if len(head):
            if seen_null:
                return False
            if last is not None and head[0].as_py() < last:
                return False
            if (
                len(head) > 1
                and not pc.all(pc.less_equal(head.slice(0, len(head) - 1), head.slice(1))).as_py()
            ):
                return False
            last = head[len(head) - 1].as_py()
        if nulls:
            seen_null = True
    return True


def partition_is_sorted(store: LakeStore, dataset: str, date: str, key: str = "dataset") -> bool:
    """Whether day `date` of `dataset` is stored in `key` order (reads only the key column)."""
    return is_sorted_column(
        batch.column(0) for batch in store.iter_batches(dataset, date, [key], batch_size=65_536)
    )


def sorted_batches_of(
    store: LakeStore,
    dataset: str,
    date: str,
    columns: list[str] | None = None,
    key: str = "dataset",
    batch_size: int = 4096,
) -> Iterator[pa.RecordBatch]:
    """Day `date` of `dataset` in `key` order, in bounded batches (see the module docstring)."""
    if partition_is_sorted(store, dataset, date, key):
        yield from store.iter_batches(dataset, date, columns, batch_size=batch_size)
        return
    source = ds.dataset(store.part_path(dataset, date), format="parquet", filesystem=store.fs)
    yield from sorted_arrow(source, key, columns, batch_size)


def sorted_arrow(
    source: ds.Dataset | pa.Table,
    key: str = "dataset",
    columns: list[str] | None = None,
    batch_size: int = 4096,
    order_by: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """Rows of an arrow dataset/table ordered by `key` (nulls last) then `order_by`, out of core."""
    spill = tempfile.mkdtemp(prefix="hf_croissant_merge_spill_")
    con = duckdb_connection(spill)
    try:
        con.register("source_rows", source)
        names = columns or list(source.schema.names)
        select = ", ".join(_quote(c) for c in names)
        order = f"{_quote(key)} NULLS LAST" + (f", {order_by}" if order_by else "")
        reader = con.sql(f"SELECT {select} FROM source_rows ORDER BY {order}").to_arrow_reader(
            batch_size
        )
        yield from reader
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def gather_runs(
    sources: list[pa.Table], source: pa.Array, position: pa.Array, schema: pa.Schema
) -> pa.Table:
    """The rows `sources[source[i]][position[i]]`, i = 0..n-1, as one table, without copying.

    Why: a merge of sorted streams moves the day's documents (GBs of text) from the inputs to the
    writer; a `take` or `filter` copies every byte, and each copy is fresh memory the allocator
    must fault in and hand back. The output rows mostly come in long runs of consecutive rows of
    one source (the carried-forward rows between two fetched ones), so the result is those runs
    as zero-copy slices, one chunk each. `source` and `position` are int64 arrays without nulls;
    `sources` must have `schema`'s columns and types.
    """
    n = len(source)
    if n == 0:
        return schema.empty_table()
    if n == 1:
        breaks: list[int] = []
    else:
        step = pc.or_(
            pc.not_equal(source.slice(1), source.slice(0, n - 1)),
            pc.not_equal(position.slice(1), pc.add(position.slice(0, n - 1), 1)),
        )
        breaks = [b + 1 for b in pc.indices_nonzero(step).to_pylist()]
    starts = [0, *breaks]
    ends = [*breaks, n]
    src, pos = source.to_pylist(), position.to_pylist()
    tables = [t.select(schema.names).cast(schema) for t in sources]
    pieces = [tables[src[s]].slice(pos[s], e - s) for s, e in zip(starts, ends, strict=True)]
    return pa.concat_tables(pieces)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SortedCursor:
    """A stream of batches in key order, consumed by key range.

    `take_through(hi)` returns every not yet consumed row whose key is <= `hi` (rows with a null
    key, which sort last, are never returned). Only the rows of the current range are buffered.
    Raises `NotSortedError` if the stream turns out not to be in order: a merge on an unsorted
    stream would silently miss rows, so it must never continue.
    """

    def __init__(
        self, batches: Iterator[pa.RecordBatch] | Iterator[pa.Table], key: str = "dataset"
    ) -> None:
        self._batches = iter(batches)
        self._key = key
        self._buffer: list[pa.Table] = []
        self._buffer_last: str | None = None
        self._exhausted = False
        self._last_taken: str | None = None

    def _pull(self) -> bool:
        for batch in self._batches:
            if batch.num_rows == 0:
                continue
            table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
            column = table.column(self._key)
            valid = column.drop_null()
            if len(valid):
                if not is_sorted_column([column]):
                    raise NotSortedError(f"stream not in {self._key} order")
                first = valid[0].as_py()
                if self._buffer_last is not None and first < self._buffer_last:
                    raise NotSortedError(f"stream not in {self._key} order")
                self._buffer_last = valid[len(valid) - 1].as_py()
            self._buffer.append(table)
            return True
        self._exhausted = True
        return False

    def take_through(self, hi: str) -> pa.Table | None:
        """The rows with key <= `hi` not taken yet (None when there are none)."""
        while not self._exhausted and (self._buffer_last is None or self._buffer_last <= hi):
            if not self._pull():
                break
        if not self._buffer:
            return None
        buffered = pa.concat_tables(self._buffer) if len(self._buffer) > 1 else self._buffer[0]
        keys = buffered.column(self._key)
        n = pc.sum(pc.less_equal(keys, pa.scalar(hi, keys.type))).as_py() or 0
        taken = buffered.slice(0, n)
        rest = buffered.slice(n)
        # rows left behind are > hi or null; a null key before the end is out of order
        self._buffer = [rest] if rest.num_rows else []
        return taken if n else None
