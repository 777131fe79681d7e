"""The lake: Hive-partitioned parquet on a local folder or S3, through one `pyarrow.fs` code path.

Layout::

    <lake>/hf_datasets/date=D/part-0.parquet           curated tables (DuckDB / Athena read these)
    <lake>/hf_croissant/date=D/part-0.parquet
    <lake>/_raw/listing/date=D/part-0.parquet           raw inputs curated tables are derived from
    <lake>/_raw/croissant_records/date=D/part-0.parquet
    <lake>/_staging/<name>/date=D/...                   resumable progress, removed on success
    <lake>/_staging/_tmp/...                             files being written

Tables with a `sort_key` in the registry (`schema.LAKE_DATASETS`) are written sorted by it, in
row groups of `ROW_GROUP_ROWS` rows: each row group then covers a disjoint range of ids and its
parquet min/max statistics let DuckDB, pyarrow and Athena skip every other row group, so looking
up one dataset reads one row group per day instead of the whole file. The writer sorts bounded
runs of rows in memory, spills each to a local temporary file and merges them when it closes
(an external merge sort), so sorting a day never needs the day in memory.

A partition is replaced atomically: the file is written completely under `_staging/_tmp/` and then
moved onto its key (a rename locally; a server-side copy on S3, where a PUT or copy becomes visible
whole). A reader sees the old complete partition or the new one, never half a file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date as Date
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from hf_croissant_assets import ARROW_POOL_ENV
from hf_croissant_assets.schema import DATASETS, LAKE_DATASETS, with_version

log = logging.getLogger(__name__)

PART_FILE = "part-0.parquet"
COMPRESSION = "zstd"
#: Rows per row group of a sorted partition: a point lookup reads one such group (per column)
#: per day. Small enough that one group is ~1-2% of a 500k-row day, large enough that the
#: footer (statistics per group) stays a few tens of KB and compression stays effective.
ROW_GROUP_ROWS = 8_192
#: Rows a sorting writer holds before it sorts them and spills them as one run to a local temp
#: file (Arrow IPC); the runs are merged when the writer closes. Memory is bounded by this, not
#: by the day's size.
SORT_RUN_BYTES = 16 * 1024 * 1024
#: Size of one batch of a spilled run: the merge holds one such batch per run.
SORT_RUN_BATCH_BYTES = 1024 * 1024
#: Runs merged at once; beyond that, runs are merged in passes into longer runs first.
SORT_MERGE_FAN_IN = 32

#: Where each partitioned dataset lives under the lake root (from the schema registry).
DATASET_PREFIX: dict[str, str] = {name: d.prefix for name, d in LAKE_DATASETS.items()}

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_STAGING_NAME_RE = re.compile(r"^[a-z0-9_]+$")


class LakeConfigError(ValueError):
    """A bad lake location or an unusable lake; the message names the setting (`label`)."""


class PartitionKeyError(ValueError):
    """A partition key that is not a real YYYY-MM-DD date."""


def validate_date(value: str) -> str:
    """The partition key as given, if it is a real calendar date in YYYY-MM-DD form."""
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise PartitionKeyError(f"partition key {value!r} is not a date in YYYY-MM-DD form")
    try:
        Date.fromisoformat(value)
    except ValueError as exc:
        raise PartitionKeyError(f"partition key {value!r} is not a valid date: {exc}") from None
    return value


def _s3_filesystem(region: str | None = None) -> pafs.S3FileSystem:
    """An S3 filesystem honouring the SDK's endpoint variables (pyarrow ignores them itself)."""
    kwargs: dict[str, Any] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise LakeConfigError(f"AWS_ENDPOINT_URL_S3/AWS_ENDPOINT_URL={endpoint!r} is not a URL")
        kwargs["endpoint_override"] = parts.netloc
        kwargs["scheme"] = parts.scheme
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        kwargs["region"] = region
    return pafs.S3FileSystem(**kwargs)


def _require_aws_credentials(uri: str, label: str) -> None:
    """Resolve credentials through the standard AWS chain (env, profile, SSO, container/instance
    role); without any, S3 calls would go unsigned and fail later with a vaguer error."""
    import boto3  # the same chain pyarrow's SDK follows; boto3 is already a dependency

    if boto3.Session().get_credentials() is None:
        raise LakeConfigError(
            f"{label}={uri!r}: no AWS credentials found (set AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with an IAM role)"
        )


@dataclass(frozen=True)
class WriteResult:
    path: str
    rows: int
    bytes: int


class LakeStore:
    """Read and write whole partitions of the lake. Local path or `s3://bucket/prefix`."""

    def __init__(self, uri: str, label: str = "lake") -> None:
        uri = (uri or "").strip()
        if not uri:
            raise LakeConfigError(f"{label} is empty: give a local folder or s3://bucket/prefix")
        self.uri = uri
        self.bucket: str | None
        #: How errors name the lake setting (the Dagster layer passes the variable's name).
        self.label = label
        parts = urlsplit(uri)
        if parts.scheme == "s3":
            if not parts.netloc:
                raise LakeConfigError(f"{label}={uri!r} has no bucket (s3://bucket/prefix)")
            self.is_s3 = True
            self.bucket = parts.netloc
            self.fs: pafs.FileSystem = _s3_filesystem()
            self.root = f"{parts.netloc}/{parts.path.strip('/')}".rstrip("/")
        elif parts.scheme in ("", "file") or (len(parts.scheme) == 1 and os.name == "nt"):
            self.is_s3 = False
            self.bucket = None
            local = parts.path if parts.scheme == "file" else uri
            self.root = os.path.abspath(os.path.expanduser(local))
            self.fs = pafs.LocalFileSystem()
        else:
            raise LakeConfigError(
                f"{label}={uri!r}: unsupported scheme {parts.scheme!r} "
                "(use a local folder or s3://bucket/prefix)"
            )

    def __repr__(self) -> str:
        return f"LakeStore({self.uri!r})"

    # -- paths ----------------------------------------------------------------------------

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def url(self, path: str) -> str:
        """A path of this store as a URI other tools understand (DuckDB, polars, users)."""
        return f"s3://{path}" if self.is_s3 else path

    def dataset_dir(self, dataset: str) -> str:
        if dataset not in DATASET_PREFIX:
            raise KeyError(f"unknown lake dataset {dataset!r}; known: {sorted(DATASET_PREFIX)}")
        return self.path(DATASET_PREFIX[dataset])

    def partition_dir(self, dataset: str, date: str) -> str:
        return f"{self.dataset_dir(dataset)}/date={validate_date(date)}"

    def part_path(self, dataset: str, date: str) -> str:
        return f"{self.partition_dir(dataset, date)}/{PART_FILE}"

    def glob(self, dataset: str) -> str:
        """The glob over every partition, for DuckDB's read_parquet."""
        return self.url(f"{self.dataset_dir(dataset)}/date=*/*.parquet")

    def _mkdir(self, path: str) -> None:
        """Local folders must exist; S3 has no folders (pyarrow would write marker objects)."""
        if not self.is_s3:
            self.fs.create_dir(path, recursive=True)

    # -- checks ---------------------------------------------------------------------------

    def check(self) -> None:
        """Fail early, naming the setting, when the lake cannot be used at all.

        Writes and deletes a probe object: a missing bucket, missing credentials or a denied
        write surface here, at start, instead of hours into a crawl.
        """
        if self.is_s3:
            _require_aws_credentials(self.uri, self.label)
        try:
            if self.is_s3:
                info = self.fs.get_file_info(self.bucket)
                if info.type == pafs.FileType.NotFound:
                    raise LakeConfigError(
                        f"{self.label}={self.uri!r}: bucket {self.bucket!r} does not exist "
                        "(or is not visible with these credentials)"
                    )
            self._mkdir(self.root)
            probe = self.path("_staging", f".write-probe-{uuid.uuid4().hex}")
            self._mkdir(self.path("_staging"))
            with self.fs.open_output_stream(probe) as out:
                out.write(b"ok")
            self.fs.delete_file(probe)
        except LakeConfigError:
            raise
        except OSError as exc:
            hint = (
                " (check AWS credentials, region and s3:PutObject/DeleteObject permission on the prefix)"
                if self.is_s3
                else ""
            )
            raise LakeConfigError(f"{self.label}={self.uri!r} is not usable: {exc}{hint}") from exc

    # -- partitions -----------------------------------------------------------------------

    def exists(self, dataset: str, date: str) -> bool:
        return self.fs.get_file_info(self.part_path(dataset, date)).type == pafs.FileType.File

    def dates(self, dataset: str) -> list[str]:
        """Dates with a complete partition file, ascending.

        One recursive listing (one LIST on S3), not a lookup per day: this runs several times
        per run and the lake grows by a day every day.
        """
        root = self.dataset_dir(dataset)
        selector = pafs.FileSelector(root, allow_not_found=True, recursive=True)
        found = set()
        for info in self.fs.get_file_info(selector):
            if info.type != pafs.FileType.File or info.base_name != PART_FILE:
                continue
            parent = info.path[len(root) :].strip("/").rsplit("/", 1)[0]
            if parent.startswith("date=") and "/" not in parent:
                day = parent[len("date=") :]
                try:  # a folder like date=2026-02-31 is not a day: ignored, never a base
                    found.add(validate_date(day))
                except PartitionKeyError:
                    continue
        return sorted(found)

    def newest_before(self, dataset: str, date: str) -> str | None:
        """The newest partition strictly earlier than `date` (not necessarily the day before)."""
        validate_date(date)
        earlier = [d for d in self.dates(dataset) if d < date]
        return earlier[-1] if earlier else None

    @contextmanager
    def writer(
        self,
        dataset: str,
        date: str,
        schema: pa.Schema | None = None,
        audit: Callable[[pq.ParquetFile], None] | None = None,
        presorted: bool = False,
    ) -> Iterator[PartitionWriter]:
        """Stream record batches into the day's partition; it replaces the old one on success.

        If the body raises, nothing is published and the previous partition stays as it was.
        `audit` sees the complete new file before it is published (write-audit-publish): if it
        raises, the file is kept under `_staging/rejected/` for inspection and not published.
        `presorted=True` promises the rows arrive in the dataset's `sort_key` order: they are
        written straight into the sorted layout (`PresortedPartitionWriter`, no spool, no sort),
        and a row out of order fails the write.
        """
        tmp_dir = self.path("_staging", "_tmp")
        self._mkdir(tmp_dir)
        tmp = f"{tmp_dir}/{DATASET_PREFIX[dataset].replace('/', '__')}-{date}-{uuid.uuid4().hex}.parquet"
        schema = schema or DATASETS[dataset]
        sort_key = LAKE_DATASETS[dataset].sort_key
        if sort_key is not None and sort_key not in schema.names:
            sort_key = None
        writer = (
            PresortedPartitionWriter(self.fs, tmp, schema, sort_key=sort_key)
            if presorted and sort_key is not None
            else PartitionWriter(
                self.fs,
                tmp,
                schema,
                sort_key=sort_key,
                row_group_rows=LAKE_DATASETS[dataset].row_group_rows,
            )
        )
        try:
            yield writer
            writer.close()
        except BaseException:
            writer.abort()
            self._delete_quietly(tmp)
            raise
        writer.published(self.publish_file(dataset, date, tmp, writer.rows, audit, writer.bytes))

    def publish_file(
        self,
        dataset: str,
        date: str,
        path: str,
        rows: int,
        audit: Callable[[pq.ParquetFile], None] | None = None,
        size: int | None = None,
    ) -> WriteResult:
        """Publish a complete parquet file of this store (written by `writer`, or elsewhere,
        e.g. by a crawl as it went) as the day's partition: moved onto its key, so a reader
        sees the old partition or the new one, never half.

        `audit` sees the file first (write-audit-publish): if it raises, the file is kept under
        `_staging/rejected/` for inspection and not published.
        """
        if audit is not None:
            try:
                with self.fs.open_input_file(path) as f:
                    audit(pq.ParquetFile(f))
            except BaseException:
                rejected = self.path(
                    "_staging", "rejected", DATASET_PREFIX[dataset], f"date={date}"
                )
                self._mkdir(rejected)
                self.fs.move(path, f"{rejected}/{PART_FILE}")
                raise
        final = self.part_path(dataset, date)
        if size is None:
            size = self.fs.get_file_info(path).size or 0
        try:
            self._mkdir(self.partition_dir(dataset, date))
            self.fs.move(path, final)
        except BaseException:
            self._delete_quietly(path)
            raise
        self._remove_stale_parts(dataset, date)
        return WriteResult(path=self.url(final), rows=rows, bytes=size)

    def write_table(self, dataset: str, date: str, table: pa.Table) -> WriteResult:
        with self.writer(dataset, date, table.schema) as w:
            w.write(table)
        return w.result

    def _remove_stale_parts(self, dataset: str, date: str) -> None:
        selector = pafs.FileSelector(self.partition_dir(dataset, date), allow_not_found=True)
        for info in self.fs.get_file_info(selector):
            if info.type == pafs.FileType.File and info.base_name != PART_FILE:
                self._delete_quietly(info.path)

    def _delete_quietly(self, path: str) -> None:
        with suppress(FileNotFoundError, OSError):
            self.fs.delete_file(path)

    def parquet_file(self, dataset: str, date: str, pre_buffer: bool = True) -> pq.ParquetFile:
        path = self.part_path(dataset, date)
        try:
            return pq.ParquetFile(self.fs.open_input_file(path), pre_buffer=pre_buffer)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"no {dataset} partition for {date} at {self.url(path)}"
            ) from None

    def iter_batches(
        self, dataset: str, date: str, columns: list[str] | None = None, batch_size: int = 8192
    ) -> Iterator[pa.RecordBatch]:
        """The partition's rows in bounded batches (memory does not grow with the day).

        Without pre-buffering: Arrow's pre-buffer cache keeps the selected column chunks of every
        row group already read until the file is closed, so reading a day batch by batch would
        hold its compressed columns whole (memory growing with the day; measured +20 MB per
        100k rows of `hf_croissant` documents). Each row group's column chunks are read when
        decoded instead, one ranged read each."""
        yield from self.parquet_file(dataset, date, pre_buffer=False).iter_batches(
            batch_size=batch_size, columns=columns
        )

    def read_table(self, dataset: str, date: str, columns: list[str] | None = None) -> pa.Table:
        return self.parquet_file(dataset, date).read(columns=columns)

    def metadata_value(self, dataset: str, date: str, key: str) -> str | None:
        """One key of the partition's parquet key-value metadata (None: no such key, or no
        readable partition)."""
        try:
            meta = self.parquet_file(dataset, date).schema_arrow.metadata or {}
        except (OSError, ValueError):
            return None
        value = meta.get(key.encode())
        return value.decode() if value else None

    def num_rows(self, dataset: str, date: str) -> int:
        return self.parquet_file(dataset, date).metadata.num_rows

    def delete_partition(self, dataset: str, date: str) -> None:
        with suppress(FileNotFoundError):
            self.fs.delete_dir(self.partition_dir(dataset, date))

    # -- small JSON documents (bookkeeping) ------------------------------------------------

    def write_json(self, relative: str, obj: Any) -> None:
        path = self.path(relative)
        self._mkdir(path.rsplit("/", 1)[0])
        tmp_dir = self.path("_staging", "_tmp")
        self._mkdir(tmp_dir)
        tmp = f"{tmp_dir}/{uuid.uuid4().hex}.json"
        with self.fs.open_output_stream(tmp) as out:
            out.write(json.dumps(obj, sort_keys=True, indent=1).encode())
        self.fs.move(tmp, path)

    def read_json(self, relative: str) -> Any | None:
        try:
            with self.fs.open_input_stream(self.path(relative)) as f:
                return json.loads(f.read().decode())
        except FileNotFoundError:
            return None

    # -- staging (resumable progress) -----------------------------------------------------

    def staging_dir(self, name: str, date: str) -> str:
        if not _STAGING_NAME_RE.match(name):
            raise ValueError(f"bad staging name {name!r}")
        return self.path("_staging", name, f"date={validate_date(date)}")

    def write_staging_table(self, name: str, date: str, file_name: str, table: pa.Table) -> str:
        """Write one checkpoint file atomically (tmp + move), so a kill never leaves half a batch."""
        directory = self.staging_dir(name, date)
        self._mkdir(directory)
        final = f"{directory}/{file_name}"
        tmp = f"{directory}/.{file_name}.{uuid.uuid4().hex}.tmp"
        with self.fs.open_output_stream(tmp) as out:
            pq.write_table(table, out, compression=COMPRESSION)
        self.fs.move(tmp, final)
        return final

    def staging_files(self, name: str, date: str, suffix: str = ".parquet") -> list[str]:
        selector = pafs.FileSelector(self.staging_dir(name, date), allow_not_found=True)
        return sorted(
            info.path
            for info in self.fs.get_file_info(selector)
            if info.type == pafs.FileType.File
            and info.base_name.endswith(suffix)
            and not info.base_name.startswith(".")
        )

    def read_staging_file(self, path: str, columns: list[str] | None = None) -> pa.Table:
        with self.fs.open_input_file(path) as f:
            return pq.read_table(f, columns=columns)

    def write_state(self, name: str, date: str, state: dict[str, Any]) -> None:
        directory = self.staging_dir(name, date)
        self._mkdir(directory)
        tmp = f"{directory}/.state.{uuid.uuid4().hex}.tmp"
        with self.fs.open_output_stream(tmp) as out:
            out.write(json.dumps(state, sort_keys=True).encode())
        self.fs.move(tmp, f"{directory}/state.json")

    def read_state(self, name: str, date: str) -> dict[str, Any] | None:
        path = f"{self.staging_dir(name, date)}/state.json"
        try:
            with self.fs.open_input_stream(path) as f:
                return json.loads(f.read().decode())
        except FileNotFoundError:
            return None

    def clear_staging(self, name: str, date: str) -> None:
        with suppress(FileNotFoundError):
            self.fs.delete_dir(self.staging_dir(name, date))


def statistics_columns(schema: pa.Schema, sort_key: str) -> list[str]:
    """Columns whose min/max statistics a sorted file keeps: the sort key (what point lookups
    prune on) and every non-text column. In a file sorted by id, a text column's min/max span
    nearly every value in every row group, so they could prune nothing, yet long values
    (descriptions, documents) would make the footer, which every lookup reads, many times
    larger."""
    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_list)
    return [f.name for f in schema if f.name == sort_key or not any(test(f.type) for test in text)]


def release_memory() -> None:
    """Hand Arrow's freed buffers back to the OS now. Its allocator otherwise keeps them for
    reuse, and a day's steps (listing, publishing, curating) would each add their high-water
    mark to the process's memory instead of sharing one."""
    pa.default_memory_pool().release_unused()


def use_returning_memory_pool() -> str:
    """Make Arrow allocate from jemalloc, which hands freed pages back to the OS ~100 ms later.

    Why: Arrow's default pool (mimalloc) keeps freed pages in per-thread heaps, and Arrow's
    reader and writer threads each grow their own; `release_unused` only trims the calling
    thread's. Measured on a 100k-dataset day, publishing the Croissant records peaked ~120 MB
    higher with mimalloc than with jemalloc, for the same live Arrow data. The step reads and
    writes the day in bounded batches, so what the process keeps is what decides its peak.
    Arrow's C++ code (parquet reading and writing) uses the pool named by
    `ARROW_DEFAULT_MEMORY_POOL` when pyarrow was imported, which the package sets to jemalloc,
    with jemalloc's settings (`hf_croissant_assets/__init__.py`): with only the Python-side pool
    switched, parquet reads still went to mimalloc, which kept ~55 MB after `curate_datasets`
    (peak 305 vs 244 MB).
    Left alone when that variable names another pool (an explicit choice) or when this pyarrow
    has no jemalloc. Returns the pool's backend name.
    """
    chosen = os.environ.get(ARROW_POOL_ENV, "")
    if chosen and chosen != "jemalloc":
        return pa.default_memory_pool().backend_name
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # (pa.ArrowNotImplementedError is one)
        return pa.default_memory_pool().backend_name
    pa.set_memory_pool(pool)
    return pool.backend_name


use_returning_memory_pool()


class _Run:
    """One sorted run being merged: its current batch (rows not yet emitted) and the rest."""

    def __init__(self, batches: Iterator[pa.RecordBatch], key: str) -> None:
        self._batches = batches
        self._key = key
        self.table: pa.Table | None = None
        self.refill()

    def refill(self) -> None:
        self.table = None
        for batch in self._batches:
            if batch.num_rows:
                self.table = pa.Table.from_batches([batch])
                return

    def last_key(self) -> tuple[bool, Any]:
        """(is null, value) of the batch's last key: tuples order nulls last, like the runs."""
        assert self.table is not None
        value = self.table.column(self._key)[-1].as_py()
        return (value is None, value)

    def take_upto(self, bound: tuple[bool, Any], strict: bool) -> pa.Table | None:
        """Remove and return the leading rows whose key is <= `bound` (< if `strict`)."""
        assert self.table is not None
        keys = self.table.column(self._key)
        if bound[0]:  # a null bound: every row qualifies, or every non-null one if strict
            count = self.table.num_rows - (keys.null_count if strict else 0)
        else:
            compare = pc.less if strict else pc.less_equal
            count = pc.sum(compare(keys, pa.scalar(bound[1], keys.type))).as_py() or 0
        if count == 0:
            return None
        head = self.table.slice(0, count)
        if count == self.table.num_rows:
            self.refill()
        else:
            self.table = self.table.slice(count)
        return head


_NULLS_LAST_PER_KEY = int(pa.__version__.split(".")[0]) >= 25


def _sort_indices(table: pa.Table, key: str) -> pa.Array:
    """Stable, byte order for strings, nulls last: the order of parquet's min/max statistics."""
    if _NULLS_LAST_PER_KEY:
        return pc.sort_indices(table, sort_keys=[(key, "ascending", "at_end")])
    return pc.sort_indices(table, sort_keys=[(key, "ascending")], null_placement="at_end")


def merge_sorted(runs: list[Iterator[pa.RecordBatch]], key: str) -> Iterator[pa.Table]:
    """K-way merge of runs each sorted by `key` into one sorted stream, a batch at a time.

    Each step takes, from every run, the rows up to the smallest last key of the runs' current
    batches (so the run holding that key is used up and moves on) and sorts just those rows: the
    merge does its work in Arrow, holds one batch per run, and never the runs themselves.
    Stable: equal keys come out in run order (rows equal to the bound wait in later runs).
    """
    active = [run for run in (_Run(batches, key) for batches in runs) if run.table is not None]
    while active:
        bound, first = min((run.last_key(), i) for i, run in enumerate(active))
        pieces = [
            piece
            for i, run in enumerate(active)
            if (piece := run.take_upto(bound, strict=i > first)) is not None
        ]
        active = [run for run in active if run.table is not None]
        chunk = pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0]
        yield chunk.take(_sort_indices(chunk, key)) if len(pieces) > 1 else chunk


def _tables_of(
    data: pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch], schema: pa.Schema
) -> Iterator[pa.Table]:
    """What a writer was given, as non-empty tables in the partition's column order and types."""
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if not isinstance(data, pa.Table):
        for batch in data:
            yield from _tables_of(batch, schema)
        return
    if data.num_rows:
        yield data.select(schema.names).cast(schema)


class PartitionWriter:
    """A parquet writer on a temporary file; `LakeStore.writer` publishes or discards it.

    With `sort_key`, rows are buffered up to `SORT_RUN_BYTES`, sorted and spilled as runs to a
    local temp folder, and merged into the real file, sorted, in row groups of `ROW_GROUP_ROWS`,
    when the writer is closed (see the module docstring for why). Ties keep their write order
    within a run.
    """

    def __init__(
        self,
        fs: pafs.FileSystem,
        path: str,
        schema: pa.Schema,
        sort_key: str | None = None,
        row_group_rows: int | None = None,
    ) -> None:
        self.path = path
        self.schema = with_version(schema)
        self.sort_key = sort_key
        #: unsorted writers only: writes are gathered into row groups of this many rows (else
        #: each write is a row group of its own)
        self._group_rows = row_group_rows if sort_key is None else None
        self._group: list[pa.Table] = []
        self._group_buffered = 0
        self._group_bytes = 0
        self.rows = 0
        self.bytes = 0
        self._result: WriteResult | None = None
        self._closed = False
        self._fs, self._stream_path = fs, path
        self._spool_dir: str | None = None
        self._pending: list[pa.Table] = []
        self._pending_bytes = 0
        self._runs: list[str] = []
        if sort_key is None:
            self._open_output()

    def _open_output(self) -> pq.ParquetWriter:
        self._stream = self._fs.open_output_stream(self._stream_path)
        stats: bool | list[str] = True
        if self.sort_key is not None:
            stats = statistics_columns(self.schema, self.sort_key)
        self._writer = pq.ParquetWriter(
            self._stream, self.schema, compression=COMPRESSION, write_statistics=stats
        )
        return self._writer

    def write(self, data: pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch]) -> None:
        for table in _tables_of(data, self.schema):
            self._write_table(table)

    def _write_table(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        if self.sort_key is None:
            if not self._group_rows:
                self._writer.write_table(table)
                return
            self._group.append(table)
            self._group_buffered += table.num_rows
            self._group_bytes += table.nbytes
            while self._group_buffered >= self._group_rows:
                whole = pa.concat_tables(self._group)
                self._writer.write_table(whole.slice(0, self._group_rows), self._group_rows)
                rest = whole.slice(self._group_rows)
                self._group, self._group_buffered = [rest], rest.num_rows
                self._group_bytes = rest.nbytes
            if self._group_bytes >= SORT_RUN_BYTES:  # wide rows: a smaller group, bounded memory
                self._flush_group()
            return
        self._pending.append(table)
        self._pending_bytes += table.nbytes
        if self._pending_bytes >= SORT_RUN_BYTES:
            self._spill(self._sorted_pending())

    def _flush_group(self) -> None:
        if self._group_buffered:
            whole = pa.concat_tables(self._group)
            self._writer.write_table(whole, max(1, whole.num_rows))
        self._group, self._group_buffered, self._group_bytes = [], 0, 0

    def _sorted_pending(self) -> pa.Table:
        assert self.sort_key is not None
        table = pa.concat_tables(self._pending) if self._pending else self.schema.empty_table()
        self._pending, self._pending_bytes = [], 0
        return table.take(_sort_indices(table, self.sort_key))

    def _spill(self, tables: pa.Table | Iterable[pa.Table]) -> None:
        """Write sorted rows as the next run (Arrow IPC, lz4, batches of ~`SORT_RUN_BATCH_BYTES`)."""
        if self._spool_dir is None:
            self._spool_dir = tempfile.mkdtemp(prefix="hf_croissant_sort_")
        path = os.path.join(self._spool_dir, f"run-{uuid.uuid4().hex}.arrow")
        options = pa.ipc.IpcWriteOptions(compression="lz4")
        with (
            pa.OSFile(path, "wb") as sink,
            pa.ipc.new_file(sink, self.schema, options=options) as w,
        ):
            for table in [tables] if isinstance(tables, pa.Table) else tables:
                if table.num_rows == 0:
                    continue
                per_row = max(1, table.nbytes // table.num_rows)
                w.write_table(table, max_chunksize=max(1, SORT_RUN_BATCH_BYTES // per_row))
        self._runs.append(path)
        release_memory()

    @staticmethod
    def _read_run(path: str) -> Iterator[pa.RecordBatch]:
        with pa.OSFile(path, "rb") as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)
        with suppress(OSError):
            os.remove(path)

    def _sorted_tables(self) -> Iterator[pa.Table]:
        """Every row written, sorted: straight from memory when nothing was spilled, else the
        merge of the runs (in passes of `SORT_MERGE_FAN_IN` runs if there are more)."""
        assert self.sort_key is not None
        if not self._runs:
            yield self._sorted_pending()
            return
        if self._pending:
            self._spill(self._sorted_pending())
        while len(self._runs) > SORT_MERGE_FAN_IN:
            group, self._runs = self._runs[:SORT_MERGE_FAN_IN], self._runs[SORT_MERGE_FAN_IN:]
            self._spill(merge_sorted([self._read_run(p) for p in group], self.sort_key))
            # the merged run goes last; keep write order for ties: move it to the front
            self._runs.insert(0, self._runs.pop())
        yield from merge_sorted([self._read_run(p) for p in self._runs], self.sort_key)

    @property
    def result(self) -> WriteResult:
        """Where the partition was published; only after the `writer` block succeeded."""
        if self._result is None:
            raise RuntimeError(f"{self.path} was not published (the writer block failed)")
        return self._result

    def published(self, result: WriteResult) -> None:
        self._result = result

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self.sort_key is not None:
                self._write_sorted()
            self._flush_group()
            self._writer.close()
            self.bytes = self._stream.tell()
            self._stream.close()
        finally:
            self._remove_spool()
            release_memory()

    def _write_sorted(self) -> None:
        """The sorted rows -> the real file, one row group per `ROW_GROUP_ROWS`."""
        writer = self._open_output()
        pending: list[pa.Table] = []
        buffered = 0
        for table in self._sorted_tables():
            pending.append(table)
            buffered += table.num_rows
            while buffered >= ROW_GROUP_ROWS:
                whole = pa.concat_tables(pending)
                writer.write_table(whole.slice(0, ROW_GROUP_ROWS), ROW_GROUP_ROWS)
                pending, buffered = [whole.slice(ROW_GROUP_ROWS)], buffered - ROW_GROUP_ROWS
        if buffered:
            writer.write_table(pa.concat_tables(pending), ROW_GROUP_ROWS)

    def _remove_spool(self) -> None:
        self._pending = []
        self._group, self._group_buffered, self._group_bytes = [], 0, 0
        if self._spool_dir is not None:
            shutil.rmtree(self._spool_dir, ignore_errors=True)
            self._spool_dir = None

    def abort(self) -> None:
        if not self._closed:
            self._closed = True
            # The file is discarded anyway: a failure to close it changes nothing.
            with contextlib.suppress(Exception):
                if getattr(self, "_writer", None) is not None:
                    self._writer.close()
                    self._stream.close()
            self._remove_spool()


_STOP = object()


class BackgroundWrites:
    """A writer's `write` calls run on a thread of their own, in order.

    Why: encoding and compressing a batch into parquet is most of a day's write time, and
    pyarrow does it without holding the GIL, so while one batch is written the next one is
    read, compared and parsed on the other core. At most `depth` batches wait in the queue, so
    memory stays bounded. A failed write is raised by the next `write` or by `close`; after it,
    the remaining batches are dropped (the caller's `LakeStore.writer` then discards the file).
    """

    def __init__(self, writer: PartitionWriter, depth: int = 2) -> None:
        self.writer = writer
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._dropping = False
        self._thread = threading.Thread(target=self._run, name="parquet-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._error is None and not self._dropping:
                try:
                    self.writer.write(item)
                except BaseException as exc:  # noqa: BLE001 (handed to the caller's thread)
                    self._error = exc

    def write(self, data: pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(data)

    def close(self) -> None:
        """Wait for every queued write; raise the first failure."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """Drop what is queued and wait for the write in progress (the file is discarded)."""
        self._dropping = True
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()


@contextmanager
def background_writes(writer: PartitionWriter, depth: int = 2) -> Iterator[BackgroundWrites]:
    """`BackgroundWrites` for the body of a `LakeStore.writer` block: every write has finished
    (or failed, raising here) when the block ends, before the writer publishes or discards."""
    writes = BackgroundWrites(writer, depth)
    try:
        yield writes
    except BaseException:
        writes.abandon()
        raise
    writes.close()


def external_sort(
    tables: Iterable[pa.Table | pa.RecordBatch], schema: pa.Schema, key: str
) -> Iterator[pa.Table]:
    """`tables` (cast to `schema`) in `key` order, nulls last, stable, with the sorting
    writer's memory bound: runs of `SORT_RUN_BYTES` sorted and spilled to local temp files,
    then merged holding one `SORT_RUN_BATCH_BYTES` batch per run. For rows that are not a
    partition (the day's staged fetches), so memory does not grow with how many there are."""
    sorter = PartitionWriter(pafs.LocalFileSystem(), "", schema, sort_key=key)
    try:
        for table in tables:
            sorter.write(table)
        yield from sorter._sorted_tables()
    finally:
        sorter._remove_spool()


class PresortedPartitionWriter(PartitionWriter):
    """The sorted layout of `PartitionWriter` (row groups of `ROW_GROUP_ROWS`, statistics on the
    key and non-text columns) for rows that already arrive in `sort_key` order, as a merge of
    sorted partitions produces them: written straight to the file, no spool and no sort, so
    memory is one row group. Rows out of order (or a value after a null key) raise ValueError and
    the partition is not published."""

    def __init__(self, fs: pafs.FileSystem, path: str, schema: pa.Schema, sort_key: str) -> None:
        self.path = path
        self.schema = with_version(schema)
        self.sort_key = sort_key
        self._spool_dir = None
        self._stream = fs.open_output_stream(path)
        self._writer = pq.ParquetWriter(
            self._stream,
            self.schema,
            compression=COMPRESSION,
            write_statistics=statistics_columns(self.schema, sort_key),
        )
        self.rows = 0
        self.bytes = 0
        self._result = None
        self._closed = False
        self._pending: list[pa.Table] = []
        self._buffered = 0
        self._last_key: str | None = None
        self._seen_null = False

    def _check_order(self, keys: pa.ChunkedArray) -> None:
        import pyarrow.compute as pc

        column = keys.combine_chunks()
        n, nulls = len(column), column.null_count
        head = column
        if nulls:
            if column.slice(n - nulls).null_count != nulls:
                raise ValueError(f"{self.path}: a {self.sort_key} value follows a null")
            head = column.slice(0, n - nulls)
        if len(head):
            if self._seen_null:
                raise ValueError(f"{self.path}: a {self.sort_key} value follows a null")
            first = head[0].as_py()
            in_order = self._last_key is None or first >= self._last_key
            if in_order and len(head) > 1:
                in_order = pc.all(
                    pc.less_equal(head.slice(0, len(head) - 1), head.slice(1))
                ).as_py()
            if not in_order:
                raise ValueError(f"{self.path}: rows not in {self.sort_key} order")
            self._last_key = head[len(head) - 1].as_py()
        if nulls:
            self._seen_null = True

    def _write_table(self, table: pa.Table) -> None:
        self._check_order(table.column(self.sort_key))
        self._pending.append(table)
        self._buffered += table.num_rows
        self.rows += table.num_rows
        while self._buffered >= ROW_GROUP_ROWS:
            whole = pa.concat_tables(self._pending)
            self._writer.write_table(whole.slice(0, ROW_GROUP_ROWS), ROW_GROUP_ROWS)
            rest = whole.slice(ROW_GROUP_ROWS)
            self._pending, self._buffered = [rest], rest.num_rows

    def close(self) -> None:
        if not self._closed:
            if self._buffered:
                self._writer.write_table(pa.concat_tables(self._pending), ROW_GROUP_ROWS)
            self._pending, self._buffered = [], 0
            self._closed = True
            self._writer.close()
            self.bytes = self._stream.tell()
            self._stream.close()
