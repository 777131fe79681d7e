"""Build the explorer's SQLite file from the lake's newest produced day.

The explorer (`hf-croissant explore`, Datasette) reads one SQLite file, never the lake: browsing
and searching 500k datasets needs indexes and full-text search that parquet does not have. The file
is derived from the lake only (it never calls the Hub), so it can be rebuilt at any time.

Tables (names are stable: the metadata, canned queries and dataset page rely on them):

- ``datasets``: one row per dataset of the newest `hf_datasets` day: the listing columns as in the
  lake, then the Croissant columns of `hf_croissant` (prefixed ``croissant_``; the raw document is
  kept apart), then the validation result (``croissant_valid`` ...) when the lake has a
  `croissant_validation` table for the day, the distinct field data types of the document
  (``croissant_field_data_types``, a JSON array, from `hf_croissant_fields`) and its declared
  bytes (``croissant_declared_bytes``, from `hf_croissant_files`) when the lake has those. Columns are the registry's (`schema.py`) that the day's file has,
  plus any extra column the file carries (e.g. `license_spdx`), so a newer lake shows its new
  columns without a change here. Full-text search over id, author, Croissant name, description and
  keywords; an index per facet column and one covering index over all of them (a facet of a
  filtered page then reads index entries only).
- ``croissant_documents``: the raw Croissant JSON-LD per dataset (shown pretty-printed on the
  dataset page; kept out of ``datasets`` so table pages stay light).
- ``daily_series`` + ``series_days``: per dataset, its downloads and likes on each snapshot of the
  last N days, as JSON arrays aligned with ``series_days`` (one row per dataset instead of N: the
  file stays small and quick to build); the ``history`` view unrolls them.
- ``hf_dataset_changes``: change events of the last N days, when the lake has that table.
- ``snapshots``: rows per day of every `hf_datasets` snapshot (from parquet footers).
- ``hf_datasets`` / ``hf_croissant``: views with the lake's table and column names, so the
  example SQL of `warehouse/sql/query.sql` runs here with the same text.
- ``_build``: what was built (date, counts, versions); never where from: the file is published,
  and a local path or bucket name is nobody else's business.

A *public* build (`public=True`, what publishing ships) follows the publishing rules: no row of a
private dataset anywhere (datasets, documents, series, events, snapshot counts), and for a gated
dataset no document nor anything derived from it (unless `gated_documents`).

Rows are streamed (DuckDB over `pyarrow.dataset`s of the lake's files, record batches into
SQLite), so memory does not grow with the day. The file is written under a temporary name and
renamed into place: a reader (a running explorer) sees the old complete file or the new one.
Every table's row count is checked against the lake before the rename.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import date as Date
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import sqlite_utils

from hf_croissant_assets.lake.store import PART_FILE, LakeStore, validate_date
from hf_croissant_assets.schema import LAKE_DATASETS, SCHEMA_VERSION, LakeDataset

log = logging.getLogger(__name__)

#: Where the explorer file lives under the lake root (next to the tables, never inside one).
EXPLORER_DIR = "explorer"
EXPLORER_FILE = "explorer.db"
#: The database name Datasette shows (from the file name).
DATABASE_NAME = "explorer"

DATASETS_TABLE = "datasets"
DOCUMENTS_TABLE = "croissant_documents"
SERIES_TABLE = "daily_series"
SERIES_DAYS_TABLE = "series_days"
SNAPSHOTS_TABLE = "snapshots"
BUILD_TABLE = "_build"
HISTORY_VIEW = "history"
#: Optional lake tables (other parts of the project add them to the registry); used when present.
VALIDATION_TABLE = "croissant_validation"
CHANGES_TABLE = "hf_dataset_changes"
FIELDS_TABLE = "hf_croissant_fields"
FILES_TABLE = "hf_croissant_files"
#: The lake tables the explorer reads (the asset depends on those the registry has).
SOURCE_TABLES = (
    "hf_datasets", "hf_croissant", VALIDATION_TABLE, FIELDS_TABLE, FILES_TABLE, CHANGES_TABLE,
)  # fmt: skip
#: Per-dataset columns aggregated from the fields / files tables.
FIELD_TYPES_COLUMN = "croissant_field_data_types"
DECLARED_BYTES_COLUMN = "croissant_declared_bytes"
#: Columns of `hf_croissant` that are not the document nor derived from it (a public build
#: keeps them for gated datasets; the same rule as publishing's).
NOT_FROM_DOCUMENT = ("dataset", "request_time", "status", "reason", "sha", "last_modified")
#: Prefix of the Croissant (and validation) columns in ``datasets``.
CROISSANT_PREFIX = "croissant_"
#: Columns of ``datasets`` searched by full-text search (those the file has).
FTS_COLUMNS = ("dataset", "author", "croissant_name", "description", "croissant_keywords")
#: Columns of ``datasets`` that get a one-column index (filters, sorting), when present.
INDEXED_COLUMNS = (
    "author",
    "downloads",
    "likes",
    "croissant_license_spdx",
    "croissant_conforms_to",
    "croissant_declared_bytes",
)
#: The default facets' columns (those present): each one leads a covering index of all
#: of them, so on a page filtered on any of them (or a search: rowids) every default facet
#: counts index entries of the matching range instead of visiting wide rows.
FACET_INDEX_COLUMNS = (
    "license",
    "license_spdx",
    "gated",
    "croissant_status",
    "croissant_valid",
    "croissant_encoding_formats",
    FIELD_TYPES_COLUMN,
)
BATCH_ROWS = 20_000
#: Days of the daily series joined in one DuckDB statement (longer windows: chunks, then joined).
SERIES_JOIN_DAYS = 31


class ExplorerBuildError(RuntimeError):
    """The explorer cannot be built from this lake; the message says why and what to do."""


@dataclass
class BuildResult:
    """What one build produced (the asset turns it into metadata)."""

    path: str
    date: str
    bytes: int
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    optional_tables: dict[str, bool] = field(default_factory=dict)
    series_days: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)


# -- reading the lake through the registry ---------------------------------------------------------


def _prefix(registry: Mapping[str, LakeDataset], name: str) -> str | None:
    entry = registry.get(name)
    return entry.prefix if entry is not None else None


def lake_dates(store: LakeStore, prefix: str) -> list[str]:
    """Days with a complete partition file of the dataset under `prefix`, ascending."""
    root = store.path(prefix)
    selector = pafs.FileSelector(root, allow_not_found=True, recursive=True)
    found = set()
    for info in store.fs.get_file_info(selector):
        if info.type != pafs.FileType.File or info.base_name != PART_FILE:
            continue
        parent = info.path[len(root) :].strip("/").rsplit("/", 1)[0]
        if parent.startswith("date=") and "/" not in parent:
            day = parent[len("date=") :]
            try:
                found.add(validate_date(day))
            except ValueError:
                continue
    return sorted(found)


def _part(store: LakeStore, prefix: str, day: str) -> str:
    return store.path(prefix, f"date={day}", PART_FILE)


def _parquet(store: LakeStore, prefix: str, day: str) -> pq.ParquetFile:
    return pq.ParquetFile(store.fs.open_input_file(_part(store, prefix, day)))


def _dataset(store: LakeStore, prefix: str, day: str) -> ds.Dataset:
    return ds.dataset(_part(store, prefix, day), filesystem=store.fs, format="parquet")


def _register(
    duck: duckdb.DuckDBPyConnection, name: str, store: LakeStore, prefix: str, day: str
) -> None:
    """`name` as a DuckDB view of one partition: DuckDB's own parallel parquet reader on a local
    lake; a pyarrow dataset (the store's S3 filesystem) on S3, where DuckDB has no credentials."""
    if store.is_s3:
        duck.register(name, _dataset(store, prefix, day))
        return
    path = _part(store, prefix, day).replace("'", "''")
    duck.execute(f"CREATE OR REPLACE VIEW {_ident(name)} AS SELECT * FROM read_parquet('{path}')")


def ordered_columns(file_schema: pa.Schema, declared: pa.Schema | None) -> list[str]:
    """The file's columns: the registry's order first, then columns only the file has."""
    names = [n for n in file_schema.names if n != "date"]
    known = [n for n in (declared.names if declared is not None else []) if n in names]
    return known + [n for n in names if n not in known]


def comments(schema: pa.Schema | None) -> dict[str, str]:
    """column -> its `comment` field metadata (the registry's column descriptions)."""
    out: dict[str, str] = {}
    for f in schema or []:
        comment = (f.metadata or {}).get(b"comment", b"").decode()
        if comment:
            out[f.name] = comment
    return out


# -- SQL helpers ----------------------------------------------------------------------------------


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_type(type_: pa.DataType) -> str:
    if pa.types.is_integer(type_) or pa.types.is_boolean(type_):
        return "INTEGER"
    if pa.types.is_floating(type_):
        return "REAL"
    return "TEXT"


def _duck_expr(qualified: str, type_: pa.DataType) -> str:
    """A DuckDB expression turning a lake column into a value SQLite stores as is."""
    if pa.types.is_timestamp(type_):
        return f"strftime({qualified}, '%Y-%m-%dT%H:%M:%SZ')"
    if pa.types.is_date(type_):
        return f"CAST({qualified} AS VARCHAR)"
    if (
        pa.types.is_list(type_)
        or pa.types.is_large_list(type_)
        or pa.types.is_struct(type_)
        or pa.types.is_map(type_)
    ):
        return f"CAST(to_json({qualified}) AS VARCHAR)"
    if pa.types.is_boolean(type_):
        return f"CAST({qualified} AS INTEGER)"
    if pa.types.is_decimal(type_):
        return f"CAST({qualified} AS DOUBLE)"
    return qualified


def _py_value(value: Any) -> Any:
    """A Python value from pyarrow, as SQLite stores it (lists/dicts as JSON text)."""
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, default=str)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, Date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _rows(batch: pa.RecordBatch, convert: bool) -> Iterator[tuple[Any, ...]]:
    columns = [c.to_pylist() for c in batch.columns]
    if convert:
        columns = [[_py_value(v) for v in c] for c in columns]
    return zip(*columns, strict=True)


# -- the build ------------------------------------------------------------------------------------


@dataclass
class _Source:
    """One lake table read for the build: its newest usable day and the file's columns."""

    name: str
    prefix: str
    day: str
    schema: pa.Schema
    declared: pa.Schema | None
    rows: int


def _source(
    store: LakeStore, registry: Mapping[str, LakeDataset], name: str, day: str
) -> _Source | None:
    prefix = _prefix(registry, name)
    if prefix is None or day not in lake_dates(store, prefix):
        return None
    pf = _parquet(store, prefix, day)
    entry = registry[name]
    return _Source(name, prefix, day, pf.schema_arrow, entry.schema, pf.metadata.num_rows)


class _Builder:
    def __init__(
        self,
        store: LakeStore,
        conn: sqlite3.Connection,
        registry: Mapping[str, LakeDataset],
        day: str,
        days: int,
        progress: Callable[[str], None],
        public: bool = False,
        gated_documents: bool = False,
    ) -> None:
        self.store = store
        self.public = public
        self.gated_documents = gated_documents
        self.hides = False
        self.conn = conn
        self.registry = registry
        self.day = day
        self.days = days
        self.progress = progress
        self.duck = duckdb.connect(":memory:")
        self.duck.execute("SET TimeZone = 'UTC'")
        self.rows: dict[str, int] = {}
        self.expected: dict[str, int] = {}

    def _create(
        self, table: str, columns: list[tuple[str, str]], pk: str | None = None, unique: str = ""
    ) -> None:
        cols = ", ".join(
            f"{_ident(n)} {t}{' PRIMARY KEY' if n == pk else ''}{' UNIQUE' if n == unique else ''}"
            for n, t in columns
        )
        self.conn.execute(f"CREATE TABLE {_ident(table)} ({cols})")

    def _insert(self, table: str, ncols: int, rows: Iterator[tuple[Any, ...]]) -> int:
        marks = ", ".join("?" * ncols)
        sql = f"INSERT INTO {_ident(table)} VALUES ({marks})"
        count = 0
        chunk: list[tuple[Any, ...]] = []
        try:
            for row in rows:
                chunk.append(row)
                if len(chunk) >= BATCH_ROWS:
                    self.conn.executemany(sql, chunk)
                    count += len(chunk)
                    chunk = []
            if chunk:
                self.conn.executemany(sql, chunk)
                count += len(chunk)
        except sqlite3.IntegrityError as exc:
            raise ExplorerBuildError(
                f"{table}: {exc} — the lake's {self.day} partition has a dataset id twice; "
                "check the day's tables (the schema checks report duplicates)"
            ) from None
        return count

    def _count(self, sql: str) -> int:
        # fetchall: a fetchone leaves DuckDB's result open and blocks the next statement
        return int(self.duck.execute(sql).fetchall()[0][0])

    def _duck_rows(self, sql: str, batch_rows: int = BATCH_ROWS) -> Iterator[tuple[Any, ...]]:
        reader = self.duck.sql(sql).to_arrow_reader(batch_rows)
        for batch in reader:
            yield from _rows(batch, convert=False)

    def restrict(self, listing: _Source) -> None:
        """DuckDB views `l` (the listing rows the file holds) and `flags` (dataset, hide): the
        listing without private datasets in a public build; hide = the document and what derives
        from it are withheld (a gated dataset in a public build without gated documents)."""
        _register(self.duck, "l_all", self.store, listing.prefix, listing.day)
        names = listing.schema.names
        keep = "private IS NOT TRUE" if self.public and "private" in names else "true"
        hide = (
            "coalesce(CAST(gated AS VARCHAR), 'false') <> 'false'"
            if self.public and not self.gated_documents and "gated" in names
            else "false"
        )
        self.duck.execute(f"CREATE OR REPLACE VIEW l AS SELECT * FROM l_all WHERE {keep}")
        if self.public:  # the operator's own file needs no flags
            self.duck.execute(
                f"CREATE OR REPLACE TABLE flags AS SELECT dataset, {hide} AS hide FROM l"
            )
        self.hides = hide != "false"

    def _hidden(self, expr: str) -> str:
        """`expr`, or NULL for a row whose document is withheld (`flags.hide`, joined as `g`)."""
        return f"CASE WHEN g.hide THEN NULL ELSE {expr} END" if self.hides else expr

    # datasets: listing + Croissant + validation + field types + declared bytes
    def datasets(
        self,
        listing: _Source,
        croissant: _Source | None,
        validation: _Source | None,
        fields: _Source | None = None,
        files: _Source | None = None,
    ) -> list[str]:
        select = [f"'{self.day}' AS date"]
        columns: list[tuple[str, str]] = [("date", "TEXT")]
        for name in ordered_columns(listing.schema, listing.declared):
            type_ = listing.schema.field(name).type
            select.append(_duck_expr(f"l.{_ident(name)}", type_))
            columns.append((name, _sqlite_type(type_)))
        joins = ["LEFT JOIN flags g ON g.dataset = l.dataset"] if self.hides else []
        for alias, src, skip in (
            ("c", croissant, {"dataset", "croissant"}),
            ("v", validation, {"dataset"}),
        ):
            if src is None:
                continue
            _register(self.duck, alias, self.store, src.prefix, src.day)
            joins.append(f"LEFT JOIN {alias} ON {alias}.dataset = l.dataset")
            taken = {c for c, _ in columns}
            for name in ordered_columns(src.schema, src.declared):
                if name in skip:
                    continue
                out = name if name.startswith(CROISSANT_PREFIX) else CROISSANT_PREFIX + name
                if out in taken and alias == "v":  # e.g. reason: the fetch's and the validator's
                    out = f"{CROISSANT_PREFIX}validation_{name}"
                if out in taken:
                    continue
                type_ = src.schema.field(name).type
                expr = _duck_expr(f"{alias}.{_ident(name)}", type_)
                if alias == "v" or name not in NOT_FROM_DOCUMENT:
                    expr = self._hidden(expr)
                select.append(expr)
                columns.append((out, _sqlite_type(type_)))
                taken.add(out)
        if fields is not None and "data_types" in fields.schema.names:
            _register(self.duck, "fr", self.store, fields.prefix, fields.day)
            self.duck.execute(
                "CREATE OR REPLACE TEMP VIEW ft AS SELECT dataset, "
                "CAST(to_json(list_sort(list_distinct(flatten(list(data_types))))) AS VARCHAR) "
                "AS types FROM fr GROUP BY dataset"
            )
            joins.append("LEFT JOIN ft ON ft.dataset = l.dataset")
            select.append(self._hidden("ft.types"))
            columns.append((FIELD_TYPES_COLUMN, "TEXT"))
        if files is not None and "content_size_bytes" in files.schema.names:
            _register(self.duck, "fl", self.store, files.prefix, files.day)
            # TRY_CAST: hostile sizes may add up past 64 bits; such a sum is unknown, not an error.
            self.duck.execute(
                "CREATE OR REPLACE TEMP VIEW fb AS SELECT dataset, "
                "TRY_CAST(sum(content_size_bytes) AS BIGINT) AS bytes FROM fl GROUP BY dataset"
            )
            joins.append("LEFT JOIN fb ON fb.dataset = l.dataset")
            select.append(self._hidden("fb.bytes"))
            columns.append((DECLARED_BYTES_COLUMN, "INTEGER"))
        # A unique index, not a PRIMARY KEY: a rowid table, so Datasette renders the id cell
        # through the plugin (a link to the dataset page) instead of its own row link. Created
        # after the rows: one sorted index build instead of 500k random b-tree inserts.
        self._create(DATASETS_TABLE, columns)
        sql = f"SELECT {', '.join(select)} FROM l {' '.join(joins)}"
        expected = self._count("SELECT count(*) FROM l")
        self.progress(f"datasets: {expected} rows from {listing.day}")
        self.rows[DATASETS_TABLE] = self._insert(DATASETS_TABLE, len(columns), self._duck_rows(sql))
        try:
            self.conn.execute(
                f"CREATE UNIQUE INDEX idx_{DATASETS_TABLE}_dataset ON {DATASETS_TABLE} (dataset)"
            )
        except sqlite3.IntegrityError:
            (dup,) = self.conn.execute(
                f"SELECT dataset FROM {DATASETS_TABLE} GROUP BY dataset HAVING count(*) > 1 LIMIT 1"
            ).fetchone()
            raise ExplorerBuildError(
                f"{DATASETS_TABLE}: the lake's {self.day} partition has a dataset id twice "
                f"({dup!r}); check the day's tables (the schema checks report duplicates)"
            ) from None
        self.expected[DATASETS_TABLE] = int(expected)
        return [c for c, _ in columns]

    def documents(self, croissant: _Source) -> None:
        wanted = [
            c
            for c in ("dataset", "status", "croissant", "parse_error")
            if c in croissant.schema.names
        ]
        if "dataset" not in wanted or "croissant" not in wanted:
            return
        self._create(DOCUMENTS_TABLE, [(c, "INTEGER" if c == "status" else "TEXT") for c in wanted])
        if self.public:  # only the rows of datasets the file holds, withheld documents as null
            exprs = [
                f"c.{_ident(c)}" if c in ("dataset", "status") else self._hidden(f"c.{_ident(c)}")
                for c in wanted
            ]
            where = "c.dataset IN (SELECT dataset FROM flags)"
            join = "LEFT JOIN flags g ON g.dataset = c.dataset " if self.hides else ""
            expected = self._count(f"SELECT count(*) FROM c WHERE {where}")
            self.progress(f"croissant_documents: {expected} rows")
            self.rows[DOCUMENTS_TABLE] = self._insert(
                DOCUMENTS_TABLE,
                len(wanted),
                self._duck_rows(f"SELECT {', '.join(exprs)} FROM c {join}WHERE {where}", 2_000),
            )
            self.expected[DOCUMENTS_TABLE] = int(expected)
            return
        pf = _parquet(self.store, croissant.prefix, croissant.day)

        def rows() -> Iterator[tuple[Any, ...]]:
            for batch in pf.iter_batches(batch_size=2_000, columns=wanted):
                yield from _rows(batch, convert=False)

        self.progress(f"croissant_documents: {croissant.rows} rows")
        self.rows[DOCUMENTS_TABLE] = self._insert(DOCUMENTS_TABLE, len(wanted), rows())
        self.expected[DOCUMENTS_TABLE] = croissant.rows

    def series(self, listing: _Source) -> list[str]:
        first = (Date.fromisoformat(self.day) - timedelta(days=self.days - 1)).isoformat()
        window = [d for d in lake_dates(self.store, listing.prefix) if first <= d <= self.day]
        self._create(SERIES_DAYS_TABLE, [("idx", "INTEGER"), ("date", "TEXT")], pk="idx")
        self.conn.executemany(f"INSERT INTO {SERIES_DAYS_TABLE} VALUES (?, ?)", enumerate(window))
        self._create(
            SERIES_TABLE, [("dataset", "TEXT"), ("downloads", "TEXT"), ("likes", "TEXT")], "dataset"
        )
        # Each day's file left-joined onto the newest day's datasets (a dataset missing on a day
        # gets a null there): a hash join per day beats one group-by of every day's rows into
        # lists. Up to SERIES_JOIN_DAYS days per statement; longer windows join the chunks.
        chunks = [window[k : k + SERIES_JOIN_DAYS] for k in range(0, len(window), SERIES_JOIN_DAYS)]
        for c, chunk in enumerate(chunks):
            start = c * SERIES_JOIN_DAYS
            joins, downloads, likes = [], [], []
            for i, d in enumerate(chunk, start):
                _register(self.duck, f"s{i}", self.store, listing.prefix, d)
                names = _parquet(self.store, listing.prefix, d).schema_arrow.names
                dl = "downloads" if "downloads" in names else "NULL"
                lk = "likes" if "likes" in names else "NULL"
                joins.append(
                    f"LEFT JOIN (SELECT dataset, CAST({dl} AS BIGINT) AS d, "
                    f"CAST({lk} AS BIGINT) AS k FROM s{i}) j{i} ON j{i}.dataset = l.dataset"
                )
                downloads.append(f"j{i}.d")
                likes.append(f"j{i}.k")
            select = f"[{', '.join(downloads)}] AS d, [{', '.join(likes)}] AS k"
            if len(chunks) > 1:
                self.duck.execute(
                    f"CREATE OR REPLACE TEMP TABLE series_{c} AS "
                    f"SELECT l.dataset, {select} FROM l {' '.join(joins)}"
                )
        if len(chunks) == 1:
            sql = (
                f"SELECT l.dataset, CAST(to_json(d) AS VARCHAR), CAST(to_json(k) AS VARCHAR) "
                f"FROM (SELECT l.dataset, {select} FROM l {' '.join(joins)}) l"
            )
        else:
            parts = range(len(chunks))
            sql = (
                "SELECT l.dataset, "
                f"CAST(to_json(flatten([{', '.join(f'series_{c}.d' for c in parts)}])) AS VARCHAR), "
                f"CAST(to_json(flatten([{', '.join(f'series_{c}.k' for c in parts)}])) AS VARCHAR) "
                "FROM l "
                + " ".join(f"JOIN series_{c} ON series_{c}.dataset = l.dataset" for c in parts)
            )
        self.progress(f"daily_series: {len(window)} day(s) from {window[0]} to {window[-1]}")
        self.rows[SERIES_TABLE] = self._insert(SERIES_TABLE, 3, self._duck_rows(sql))
        self.expected[SERIES_TABLE] = self.expected[DATASETS_TABLE]
        self.conn.execute(
            f"CREATE VIEW {HISTORY_VIEW} AS SELECT s.dataset AS dataset, d.date AS date, "
            "json_extract(s.downloads, '$[' || d.idx || ']') AS downloads, "
            "json_extract(s.likes, '$[' || d.idx || ']') AS likes "
            f"FROM {SERIES_TABLE} s CROSS JOIN {SERIES_DAYS_TABLE} d"
        )
        return window

    def snapshots(self, listing: _Source) -> None:
        self._create(SNAPSHOTS_TABLE, [("date", "TEXT"), ("datasets", "INTEGER")], pk="date")
        rows = []
        for d in lake_dates(self.store, listing.prefix):
            if d > self.day:
                continue
            pf = _parquet(self.store, listing.prefix, d)
            count = pf.metadata.num_rows
            if self.public and "private" in pf.schema_arrow.names:  # public rows only
                private = pf.read(columns=["private"]).column(0)
                count -= int(pc.sum(pc.fill_null(private, False)).as_py() or 0)
            rows.append((d, count))
        self.conn.executemany(f"INSERT INTO {SNAPSHOTS_TABLE} VALUES (?, ?)", rows)

    def changes(self) -> bool:
        prefix = _prefix(self.registry, CHANGES_TABLE)
        if prefix is None:
            return False
        first = (Date.fromisoformat(self.day) - timedelta(days=self.days - 1)).isoformat()
        window = [d for d in lake_dates(self.store, prefix) if first <= d <= self.day]
        declared = self.registry[CHANGES_TABLE].schema
        columns: list[str] | None = None
        expected = 0
        count = 0
        private = None
        if self.public:
            ids = self.duck.execute("SELECT dataset FROM l_all WHERE private IS TRUE").fetchall()
            private = pa.array([r[0] for r in ids], pa.string()) if ids else None
        for d in window:
            pf = _parquet(self.store, prefix, d)
            names = ordered_columns(pf.schema_arrow, declared)
            if columns is None:
                columns = names
                types = [_sqlite_type(pf.schema_arrow.field(n).type) for n in names]
                self._create(CHANGES_TABLE, [("date", "TEXT"), *zip(names, types, strict=True)])
            present = [n for n in columns if n in names]
            read = (
                present if "dataset" in present or "dataset" not in names else [*present, "dataset"]
            )
            expected += pf.metadata.num_rows

            def rows(
                pf: pq.ParquetFile = pf,
                d: str = d,
                present: list[str] = present,
                columns: list[str] = columns,
                read: list[str] = read,
            ) -> Iterator[tuple[Any, ...]]:
                nonlocal expected
                for read_batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=read):
                    batch = read_batch
                    if private is not None and "dataset" in read:
                        # a public build: no event of a private dataset
                        keep = pc.invert(pc.is_in(batch.column("dataset"), value_set=private))
                        expected -= batch.num_rows - int(pc.sum(keep).as_py() or 0)
                        batch = batch.filter(keep)
                    values = {n: c.to_pylist() for n, c in zip(read, batch.columns, strict=True)}
                    cols = [[d] * batch.num_rows] + [
                        [_py_value(v) for v in values[n]]
                        if n in values
                        else [None] * batch.num_rows
                        for n in columns
                    ]
                    yield from zip(*cols, strict=True)

            count += self._insert(CHANGES_TABLE, 1 + len(columns), rows())
        if columns is None:  # registered, no events in the window: an empty table says so
            columns = ordered_columns(declared, declared)
            self._create(
                CHANGES_TABLE,
                [("date", "TEXT"), *((n, _sqlite_type(declared.field(n).type)) for n in columns)],
            )
        self.progress(f"{CHANGES_TABLE}: {count} event(s) over {len(window)} day(s)")
        self.rows[CHANGES_TABLE] = count
        self.expected[CHANGES_TABLE] = expected
        for col in ("dataset", "change"):
            if col in columns:
                self.conn.execute(
                    f"CREATE INDEX idx_changes_{col} ON {CHANGES_TABLE} ({_ident(col)})"
                )
        return True

    def views(
        self, listing: _Source, dataset_columns: list[str], croissant: _Source | None
    ) -> None:
        """`hf_datasets` / `hf_croissant` with the lake's names: the example SQL runs as is."""
        listing_cols = ordered_columns(listing.schema, listing.declared)
        cols = ", ".join(_ident(c) for c in listing_cols)
        self.conn.execute(f'CREATE VIEW hf_datasets AS SELECT {cols}, "date" FROM {DATASETS_TABLE}')
        if croissant is None or DOCUMENTS_TABLE not in self.rows:
            return
        select = ["doc.dataset AS dataset"]
        for name in ordered_columns(croissant.schema, croissant.declared):
            if name == "dataset":
                continue
            if name in ("status", "croissant", "parse_error"):
                select.append(f"doc.{_ident(name)} AS {_ident(name)}")
                continue
            prefixed = name if name.startswith(CROISSANT_PREFIX) else CROISSANT_PREFIX + name
            if prefixed in dataset_columns:
                select.append(f"d.{_ident(prefixed)} AS {_ident(name)}")
        self.conn.execute(
            f'CREATE VIEW hf_croissant AS SELECT {", ".join(select)}, d."date" AS "date" '
            f"FROM {DOCUMENTS_TABLE} doc JOIN {DATASETS_TABLE} d ON d.dataset = doc.dataset"
        )

    def indexes_and_search(self, dataset_columns: list[str]) -> None:
        db = sqlite_utils.Database(self.conn)
        for col in INDEXED_COLUMNS:
            if col in dataset_columns:
                db[DATASETS_TABLE].create_index([col], find_unique_name=True)  # type: ignore[union-attr]
        facet_cols = [c for c in FACET_INDEX_COLUMNS if c in dataset_columns]
        self.progress(f"facet indexes over {', '.join(facet_cols)}")
        for lead in facet_cols:
            cols = ", ".join(_ident(c) for c in [lead, *(c for c in facet_cols if c != lead)])
            self.conn.execute(
                f"CREATE INDEX idx_{DATASETS_TABLE}_facets_{lead} ON {DATASETS_TABLE} ({cols})"
            )
        fts = [c for c in FTS_COLUMNS if c in dataset_columns]
        self.progress(f"full-text search over {', '.join(fts)}")
        db[DATASETS_TABLE].enable_fts(fts, tokenize="porter", create_triggers=False)  # type: ignore[union-attr]
        self.rows["datasets_fts"] = self.conn.execute(
            f"SELECT count(*) FROM {DATASETS_TABLE}_fts"
        ).fetchone()[0]
        self.expected["datasets_fts"] = self.rows[DATASETS_TABLE]

    def check_counts(self) -> None:
        bad = {t: (self.rows.get(t), n) for t, n in self.expected.items() if self.rows.get(t) != n}
        if bad:
            detail = "; ".join(
                f"{t}: {got} rows, lake has {want}" for t, (got, want) in bad.items()
            )
            raise ExplorerBuildError(
                f"explorer rows do not match the lake for {self.day} ({detail}); the file was not "
                "published — a table has duplicate dataset ids or changed during the build"
            )


def _versions() -> dict[str, str]:
    """The versions that made the file (the package, its reader and writers)."""
    out = {"sqlite": sqlite3.sqlite_version}
    for dist in ("hf_croissant_assets", "duckdb", "pyarrow", "sqlite-utils"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def newest_day(store: LakeStore, registry: Mapping[str, LakeDataset] = LAKE_DATASETS) -> str:
    """The newest day with an `hf_datasets` partition (the explorer's day)."""
    prefix = _prefix(registry, "hf_datasets")
    days = lake_dates(store, prefix) if prefix else []
    if not days:
        raise ExplorerBuildError(
            f"the lake at {store.uri} has no hf_datasets partition yet: materialize a day first "
            "(hf-croissant snapshot), then build the explorer"
        )
    return days[-1]


def build_sqlite(
    store: LakeStore,
    out_path: str,
    *,
    days: int = 30,
    date: str | None = None,
    registry: Mapping[str, LakeDataset] = LAKE_DATASETS,
    progress: Callable[[str], None] | None = None,
    public: bool = False,
    gated_documents: bool = False,
) -> BuildResult:
    """Build the explorer file at local `out_path` (atomically: temp name, checked, renamed).

    `public`: what publishing ships (see the module docstring): no private dataset, and no
    document of a gated one unless `gated_documents`.
    """
    started = time.monotonic()
    say = progress or (lambda message: log.info("explorer: %s", message))
    day = validate_date(date) if date else newest_day(store, registry)
    listing = _source(store, registry, "hf_datasets", day)
    if listing is None:
        raise ExplorerBuildError(f"no hf_datasets partition for {day} in the lake at {store.uri}")
    croissant = _source(store, registry, "hf_croissant", day)
    validation = _source(store, registry, VALIDATION_TABLE, day)
    fields = _source(store, registry, FIELDS_TABLE, day)
    files = _source(store, registry, FILES_TABLE, day)
    out_dir = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(out_dir, exist_ok=True)
    tmp = os.path.join(out_dir, f".{os.path.basename(out_path)}.{uuid.uuid4().hex}.tmp")
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA page_size = 8192")
        conn.execute("BEGIN")
        b = _Builder(store, conn, registry, day, days, say, public, gated_documents)
        b.restrict(listing)
        columns = b.datasets(listing, croissant, validation, fields, files)
        if croissant is not None:
            b.documents(croissant)
        window = b.series(listing)
        b.snapshots(listing)
        has_changes = b.changes()
        b.views(listing, columns, croissant)
        b.indexes_and_search(columns)
        b.check_counts()
        optional = {
            "hf_croissant": croissant is not None,
            VALIDATION_TABLE: validation is not None,
            FIELDS_TABLE: fields is not None,
            FILES_TABLE: files is not None,
            CHANGES_TABLE: has_changes,
        }
        info = {
            "date": day,
            "built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "schema_version": SCHEMA_VERSION,
            "versions": json.dumps(_versions(), sort_keys=True),
            "public": json.dumps(public),
            "days": str(days),
            "series_days": json.dumps(window),
            "optional_tables": json.dumps(optional, sort_keys=True),
            "rows": json.dumps(b.rows, sort_keys=True),
        }
        conn.execute(f"CREATE TABLE {BUILD_TABLE} (key TEXT PRIMARY KEY, value TEXT)")
        conn.executemany(f"INSERT INTO {BUILD_TABLE} VALUES (?, ?)", sorted(info.items()))
        conn.execute("COMMIT")
        say("ANALYZE (query planner statistics)")
        conn.execute("ANALYZE")
        conn.close()
        os.replace(tmp, out_path)
    except BaseException:
        conn.close()
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    return BuildResult(
        path=out_path,
        date=day,
        bytes=os.path.getsize(out_path),
        seconds=round(time.monotonic() - started, 3),
        rows=dict(b.rows),
        optional_tables=optional,
        series_days=window,
        columns=columns,
    )


def explorer_location(store: LakeStore) -> str:
    """Where the explorer file of this lake lives (a local path or an s3:// URL)."""
    return store.url(store.path(EXPLORER_DIR, EXPLORER_FILE))


def build_explorer(
    store: LakeStore,
    *,
    days: int = 30,
    date: str | None = None,
    registry: Mapping[str, LakeDataset] = LAKE_DATASETS,
    progress: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build the explorer next to the lake: `<lake>/explorer/explorer.db`.

    On a local lake the file is built in place (temp name + rename). On S3 it is built in a local
    temporary folder, uploaded under `_staging/_tmp/` and moved onto its key (a PUT/copy is visible
    whole), so a reader downloads the old file or the new one.
    """
    if not store.is_s3:
        return build_sqlite(
            store, store.path(EXPLORER_DIR, EXPLORER_FILE), days=days, date=date,
            registry=registry, progress=progress,
        )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="hf-croissant-explorer-") as tmp_dir:
        local = os.path.join(tmp_dir, EXPLORER_FILE)
        result = build_sqlite(
            store, local, days=days, date=date, registry=registry, progress=progress
        )
        staging = store.path("_staging", "_tmp", f"explorer-{uuid.uuid4().hex}.db")
        with open(local, "rb") as src, store.fs.open_output_stream(staging) as dst:
            shutil.copyfileobj(src, dst, length=8 * 1024 * 1024)
        final = store.path(EXPLORER_DIR, EXPLORER_FILE)
        store.fs.move(staging, final)
        result.path = store.url(final)
        return result


def fetch_explorer(store: LakeStore, local_path: str) -> str:
    """Copy the lake's explorer file to a local path (Datasette serves local files only)."""
    src = store.path(EXPLORER_DIR, EXPLORER_FILE)
    if not store.is_s3:
        if not os.path.exists(src):
            raise ExplorerBuildError(
                f"no explorer file at {src}: materialize the explorer_db asset first"
            )
        return src
    tmp = f"{local_path}.{uuid.uuid4().hex}.tmp"
    os.makedirs(os.path.dirname(os.path.abspath(local_path)), exist_ok=True)
    try:
        with store.fs.open_input_stream(src) as s, open(tmp, "wb") as dst:
            shutil.copyfileobj(s, dst, length=8 * 1024 * 1024)
    except FileNotFoundError:
        raise ExplorerBuildError(
            f"no explorer file at {store.url(src)}: materialize the explorer_db asset first"
        ) from None
    os.replace(tmp, local_path)
    return local_path


def build_info(path: str) -> dict[str, str]:
    """The `_build` table of an explorer file (read-only open)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(conn.execute(f"SELECT key, value FROM {BUILD_TABLE}").fetchall())
    except sqlite3.DatabaseError as exc:
        raise ExplorerBuildError(f"{path} is not an explorer file: {exc}") from None
    finally:
        conn.close()


def public_explorer(
    store: LakeStore, date: str, directory: str, *, days: int = 30, gated_documents: bool = False
) -> BuildResult:
    """The explorer file publishing ships with day `date`, built in local `directory`.

    Built from the lake for that day (not copied from the operator's file, which holds private
    datasets and gated documents when the lake does): a public build, under the rules that the
    published tables follow.
    """
    return build_sqlite(
        store, os.path.join(directory, EXPLORER_FILE), days=days, date=date, public=True,
        gated_documents=gated_documents,
        progress=lambda message: log.info("public explorer: %s", message),
    )  # fmt: skip
