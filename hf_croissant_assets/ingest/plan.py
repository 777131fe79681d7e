"""Which Croissant documents to fetch today, and the carry-forward that makes every day complete.

A full crawl is ~500k requests (~33 h on a free token), so each day fetches, in this order:

0. datasets never fetched (no earlier row, or a row with null status),
1. datasets whose `sha` or `lastModified` differ from those recorded when their document was
   fetched, and documents whose last fetch failed transiently (429/5xx/no answer),
2. datasets whose last answer was 400 ("not available": the Hub is still converting) and that
   were created or modified within `recheck_unavailable_days` of the day, so a Croissant that
   appears is seen the next day instead of when the 400 goes stale,
3. the stalest documents older than `refresh_after_days`, oldest first,

up to the run's budget. Every other listed dataset keeps its row from the newest earlier snapshot
(not necessarily yesterday), with its original `request_time`; a dataset never fetched gets a row
with null status. Deleted datasets (not in today's listing) are dropped.

Plain polars/pyarrow, no Dagster, no HTTP.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from hf_croissant_assets.curate.listing_rows import hub_timestamps
from hf_croissant_assets.hub.client import RETRY_STATUSES
from hf_croissant_assets.lake.listing_products import BOOKKEEPING_PRODUCT, listing_product
from hf_croissant_assets.lake.store import LakeStore, release_memory
from hf_croissant_assets.schema import CROISSANT_RECORDS
from hf_croissant_assets.settings import (
    DEFAULT_RECHECK_UNAVAILABLE_DAYS,
    DEFAULT_REFRESH_DAYS,
    DEFAULT_ROW_DROP_TOLERANCE,
)

log = logging.getLogger(__name__)

TRANSIENT_STATUSES = tuple(sorted(RETRY_STATUSES))
PRIORITY_NAMES = {
    0: "never_fetched",
    1: "changed_or_failed",
    2: "recently_unavailable",
    3: "stale",
}
#: The Croissant endpoint's answer while the Hub has not converted a dataset yet.
NOT_AVAILABLE_STATUS = 400


@dataclass
class ReferencePlan:
    """The in-memory plan (`reference_plan_day`): the listing held whole. Kept as the simple
    reference the streaming plan is tested against."""

    date: str
    previous_date: str | None
    listing: pl.DataFrame  # dataset, sha, last_modified (the repo today)
    candidates: pl.DataFrame  # dataset, sha, last_modified, priority; in fetch order
    counts: dict[str, int]

    @property
    def listed(self) -> int:
        return self.listing.height


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a Table always converts to a DataFrame
    return frame


def read_listing(store: LakeStore, date: str) -> pl.DataFrame:
    """Today's listed datasets with the repo's `sha`, `lastModified` and `createdAt`, one row
    per id."""
    raw = _frame(store.read_table("raw_listing", date, columns=["id", "item"]))
    return _with_timestamps(raw.select(*_bookkeeping())).unique(
        "dataset", keep="first", maintain_order=True
    )


def _bookkeeping() -> list[pl.Expr]:
    """The listing's bookkeeping columns, from a raw listing frame (`id`, `item`): what the plan
    compares with the previous snapshot, timestamps still as text (`_with_timestamps`). The
    reference definition (`read_listing`, the reference plan); the streaming plan reads the same
    values through `bookkeeping_table`."""
    item = pl.col("item")
    return [
        pl.col("id").alias("dataset"),
        item.str.json_path_match("$.sha").alias("sha"),
        item.str.json_path_match("$.lastModified").alias("last_modified"),
        item.str.json_path_match("$.createdAt").alias("created_at"),
    ]


def _with_timestamps(frame: pl.DataFrame) -> pl.DataFrame:
    """`last_modified` and `created_at` parsed as the curated listing parses them, each value
    on its own (`hub_timestamps`); a value that is not a timestamp is null."""
    converted = []
    for name in ("last_modified", "created_at"):
        series = pl.from_arrow(hub_timestamps(frame.get_column(name).to_list()))
        assert isinstance(series, pl.Series)  # an array always converts to a Series
        converted.append(series.alias(name))
    return frame.with_columns(converted)


class _Bookkeeping(msgspec.Struct, gc=False):
    """The three bookkeeping values of a listing object, when each is a string or null (what
    the Hub sends); any other shape fails the decode and takes `_bookkeeping()` itself."""

    sha: str | None = None
    lastModified: str | None = None
    createdAt: str | None = None


_BOOKS = msgspec.json.Decoder(list[_Bookkeeping])
_BOOK = msgspec.json.Decoder(_Bookkeeping)
_BOOK_FIELDS = ("sha", "lastModified", "createdAt")


def _json_array(items: pa.Array) -> bytearray:
    """`[item,item,...]` for non-null JSON texts: each item with a comma appended in one Arrow
    kernel (its values buffer is then the items and their separators back to back), copied
    once behind a `[`, the last comma turned into `]`. A list join (`binary_join`) gave the same
    bytes at more than twice the cost."""
    n = len(items)
    with_commas = pc.binary_join_element_wise(items, pa.scalar("", items.type), ",")
    offsets = pa.Array.from_buffers(
        pa.int64() if pa.types.is_large_string(with_commas.type) else pa.int32(),
        n + 1,
        [None, with_commas.buffers()[1]],
        offset=with_commas.offset,
    )
    start, end = offsets[0].as_py(), offsets[n].as_py()
    array = bytearray(end - start + 1)
    array[0] = 0x5B  # [
    array[1:] = memoryview(with_commas.buffers()[2])[start:end]
    array[-1] = 0x5D  # ] in place of the last comma
    return array


def bookkeeping_table(raw: pa.Table) -> pl.DataFrame:
    """`_bookkeeping()` of raw listing rows (`id`, `item`), row for row, with one msgspec pass
    over the items instead of three JSON parses of every item by polars (most of the plan's
    time at 500k datasets). An object whose values are strings or null reads the same either
    way; the other rows (a number, an object, bad JSON, a null item) are given to
    `_bookkeeping()` itself, so the values are the reference's by construction."""
    items = raw.column("item")
    items = items.combine_chunks() if isinstance(items, pa.ChunkedArray) else items
    n = len(items)
    books: list[_Bookkeeping | None] = [None] * n
    decoded = False
    if n and items.null_count == 0:
        # each stored item is one complete JSON value (the bytes the Hub sent for one array
        # element), so joined with commas they decode as an array of exactly n values
        array = _json_array(items)
        try:
            books = list(_BOOKS.decode(array))
            decoded = len(books) == n
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            decoded = False
    if not decoded:
        books = [None] * n
        for i, text in enumerate(items.to_pylist()):
            if text is None:
                continue
            try:
                books[i] = _BOOK.decode(text)
            except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
                continue
    values = {f: [getattr(b, f) if b is not None else None for b in books] for f in _BOOK_FIELDS}
    others = [i for i, b in enumerate(books) if b is None]
    if others:
        item = pl.col("item")
        slow = _frame(pa.table({"item": items.take(pa.array(others, pa.int64()))})).select(
            *(item.str.json_path_match(f"$.{f}").alias(f) for f in _BOOK_FIELDS)
        )
        for f in _BOOK_FIELDS:
            column = values[f]
            for i, value in zip(others, slow.get_column(f).to_list(), strict=True):
                column[i] = value
    # the timestamps parsed straight from these lists, as `_with_timestamps` parses them
    return _frame(
        pa.table(
            {
                "dataset": raw.column("id").cast(pa.string()),
                "sha": pa.array(values["sha"], pa.string()),
                "last_modified": hub_timestamps(values["lastModified"]),
                "created_at": hub_timestamps(values["createdAt"]),
            }
        )
    )


def read_previous(store: LakeStore, previous_date: str | None) -> pl.DataFrame:
    """The newest earlier snapshot's bookkeeping columns (not the documents: they stay on disk)."""
    columns = ["dataset", "request_time", "status", "sha", "last_modified"]
    # (a row with a null status is pending or failed without a usable answer: priority 0)
    if previous_date is None:
        return pl.DataFrame(
            schema={
                "dataset": pl.String,
                "request_time": pl.String,
                "status": pl.Int32,
                "sha": pl.String,
                "last_modified": pl.Datetime("ms", "UTC"),
            }
        )
    table = store.read_table("croissant_records", previous_date, columns=columns)
    return _frame(table).unique("dataset", keep="first")


def trustworthy_base(
    store: LakeStore,
    date: str,
    tolerance: float = DEFAULT_ROW_DROP_TOLERANCE,
    logger: logging.Logger | Any = log,
) -> str | None:
    """The newest `croissant_records` snapshot fit to plan day `date` from.

    Day `date` itself when it is already complete (a same-day re-run then fetches only what
    failed), else the newest earlier one. A snapshot that is empty or that holds fewer rows
    than (1 - tolerance) times the next older non-empty one is skipped: a truncated day must
    never become the base, or every dataset it lost would be re-fetched as new.
    """
    candidates = [d for d in store.dates("croissant_records") if d <= date]
    rows = {d: store.num_rows("croissant_records", d) for d in candidates[-30:]}
    days = sorted(rows, reverse=True)
    for i, day in enumerate(days):
        older = next((rows[o] for o in days[i + 1 :] if rows[o] > 0), None)
        if rows[day] == 0:
            logger.warning(f"croissant {date}: snapshot {day} is empty; not used as the base")
            continue
        if older is not None and rows[day] < older * (1 - tolerance):
            logger.warning(
                f"croissant {date}: snapshot {day} has {rows[day]} rows vs {older} before it; "
                "not used as the base"
            )
            continue
        return day
    return None


def reference_plan_day(
    store: LakeStore,
    date: str,
    *,
    refresh_after_days: float = DEFAULT_REFRESH_DAYS,
    recheck_unavailable_days: float = DEFAULT_RECHECK_UNAVAILABLE_DAYS,
    now: datetime | None = None,
    tolerance: float = DEFAULT_ROW_DROP_TOLERANCE,
) -> ReferencePlan:
    """The in-memory plan: listing and previous bookkeeping joined whole by polars. The
    reference `plan_day` is tested against."""
    listing = read_listing(store, date)
    previous_date = trustworthy_base(store, date, tolerance)
    previous = read_previous(store, previous_date)
    now = now or datetime.now(UTC)
    stale_before = (now - timedelta(days=refresh_after_days)).isoformat().replace("+00:00", "Z")
    # "Recent" is relative to the end of the day being produced, not the wall clock.
    day_end = datetime.fromisoformat(date).replace(tzinfo=UTC) + timedelta(days=1)
    recent_since = day_end - timedelta(days=recheck_unavailable_days)

    previous = previous.with_columns(pl.lit(True).alias("_in_previous"))
    joined = listing.join(previous, on="dataset", how="left", suffix="_prev")
    priority = (
        pl.when(pl.col("status").is_null())
        .then(0)
        .when(
            pl.col("sha").ne_missing(pl.col("sha_prev"))
            | pl.col("last_modified").ne_missing(pl.col("last_modified_prev"))
            | pl.col("status").is_in(TRANSIENT_STATUSES)
        )
        .then(1)
        .when(
            (pl.col("status") == NOT_AVAILABLE_STATUS)
            & ((pl.col("created_at") >= recent_since) | (pl.col("last_modified") >= recent_since))
        )
        .then(2)
        .when(pl.col("request_time") < stale_before)
        .then(3)
        .otherwise(None)
        .alias("priority")
    )
    joined = joined.with_columns(priority)
    candidates = (
        joined.filter(pl.col("priority").is_not_null())
        .sort(["priority", "request_time"], nulls_last=False, maintain_order=True)
        .select("dataset", "sha", "last_modified", "priority")
    )
    by_priority = candidates.group_by("priority").len()
    counts = dict.fromkeys(PRIORITY_NAMES.values(), 0)
    for prio, n in by_priority.iter_rows():
        counts[PRIORITY_NAMES[prio]] = n
    counts["listed"] = listing.height
    counts["in_previous"] = previous.height
    counts["deleted_since_previous"] = (
        previous.height - joined.filter(pl.col("_in_previous").is_not_null()).height
    )
    return ReferencePlan(date, previous_date, listing, candidates, counts)


def reference_assemble_day(
    store: LakeStore,
    plan: ReferencePlan,
    fetched: Iterator[pa.Table],
    batch_size: int = 4096,
) -> Iterator[pa.Table]:
    """The reference assembly (`assemble_day` must give the same rows): fetched rows, carried
    rows, pending rows, with the listed ids held in memory."""
    listed = set(plan.listing["dataset"].to_list())
    written: set[str] = set()
    for table in fetched:
        ids = table.column("dataset").to_pylist()
        keep = [i for i, d in enumerate(ids) if d in listed and d not in written]
        kept = table.take(pa.array(keep, pa.int64())) if len(keep) != len(ids) else table
        written.update(kept.column("dataset").to_pylist())
        if kept.num_rows:
            yield kept
    carry = listed - written
    if plan.previous_date is not None and carry:
        value_set = pa.array(sorted(carry), pa.string())
        for batch in store.iter_batches(
            "croissant_records", plan.previous_date, batch_size=batch_size
        ):
            table = pa.Table.from_batches([batch])
            table = table.filter(pc.is_in(table.column("dataset"), value_set=value_set))
            if table.num_rows:
                ids = table.column("dataset").to_pylist()
                keep = [i for i, d in enumerate(ids) if d not in written]
                if len(keep) != len(ids):
                    table = table.take(pa.array(keep, pa.int64()))
                written.update(table.column("dataset").to_pylist())
                yield table
    pending = listed - written
    if pending:
        ids = [d for d in plan.listing["dataset"].to_list() if d in pending]
        for start in range(0, len(ids), batch_size):
            chunk = ids[start : start + batch_size]
            yield pa.Table.from_pydict(
                {name: [None] * len(chunk) for name in CROISSANT_RECORDS.names}
                | {"dataset": chunk},
                schema=CROISSANT_RECORDS,
            )


# -- the streaming plan: memory flat in the number of datasets ----------------------------------

#: Rows of the raw listing decoded per step while the plan's bookkeeping is spooled.
LISTING_SPOOL_ROWS = 16_384


@dataclass
class Plan:
    """Today's work: the ordered fetch candidates, counts, and where the day's rows come from.

    The listing is not held in memory: its bookkeeping (id, sha, lastModified, createdAt) is
    spooled to a local parquet file in `workdir`, sorted by id, and read back range by range.
    `close()` removes the folder (also done when the plan is garbage-collected).
    """

    date: str
    previous_date: str | None
    candidates: pl.DataFrame  # dataset, sha, last_modified, priority; in fetch order
    counts: dict[str, int]
    workdir: str
    _finalizer: Any = None

    @property
    def listed(self) -> int:
        return self.counts["listed"]

    @property
    def listed_path(self) -> str:
        """The day's unique listed ids, sorted (column `dataset`)."""
        return os.path.join(self.workdir, "listed.parquet")

    def listed_batches(self, batch_size: int = 4096) -> Iterator[pa.RecordBatch]:
        yield from pq.ParquetFile(self.listed_path).iter_batches(
            batch_size=batch_size, columns=["dataset"]
        )

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()


#: The plan's spool of the listing: its bookkeeping columns and each row's position in the raw
#: partition (`_row`: keep-first among repeated ids, and the fetch order).
SPOOL_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("sha", pa.string()),
        ("last_modified", pa.timestamp("ms", tz="UTC")),
        ("created_at", pa.timestamp("ms", tz="UTC")),
        ("_row", pa.int64()),
    ]
)


def spool_rows(raw: pa.Table, first_row: int) -> pa.Table:
    """`SPOOL_SCHEMA` rows of raw listing rows (`id`, `item`) that start at position
    `first_row` of the raw partition, decoded exactly as `read_listing` does."""
    frame = bookkeeping_table(raw).with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + first_row).alias("_row"),
    )
    return frame.to_arrow().cast(SPOOL_SCHEMA)


def spool_of_typed(raw: pa.Table, curated: pa.Table, first_row: int) -> pa.Table:
    """`spool_rows(raw, first_row)` without decoding the objects again, from `curated`: their
    `hf_datasets` rows when every one fit the typed decode (`typed_listing_batch`), whose
    `sha`, `last_modified` and `created_at` are then the bookkeeping's values exactly."""
    if curated.num_rows != raw.num_rows:
        raise ValueError("the curated rows are not those of the raw rows")
    return pa.table(
        {
            "dataset": raw.column("id").cast(pa.string()),
            "sha": curated.column("sha"),
            "last_modified": curated.column("last_modified"),
            "created_at": curated.column("created_at"),
            "_row": pa.array(range(first_row, first_row + raw.num_rows), pa.int64()),
        }
    ).cast(SPOOL_SCHEMA)


def _spool_listing(store: LakeStore, date: str, path: str) -> int:
    """The listing's spool (`SPOOL_SCHEMA`) into the local file `path`: the one the listing pass
    wrote (`lake.listing_products`) when it is of the published raw partition, else
    the raw partition decoded batch by batch."""
    staged = listing_product(store, date, BOOKKEEPING_PRODUCT)
    if staged is not None:
        try:
            with store.fs.open_input_stream(staged.path) as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst, 8 * 1024 * 1024)
            copied = pq.ParquetFile(path)
            if copied.schema_arrow.equals(SPOOL_SCHEMA) and copied.metadata.num_rows == staged.rows:
                return staged.rows
        except (OSError, pa.ArrowInvalid) as exc:
            log.warning("plan %s: the listing pass's spool is unreadable (%r); decoding", date, exc)
    rows = 0
    with pq.ParquetWriter(path, SPOOL_SCHEMA, compression="zstd") as writer:
        for batch in store.iter_batches(
            "raw_listing", date, columns=["id", "item"], batch_size=LISTING_SPOOL_ROWS
        ):
            writer.write_table(spool_rows(pa.Table.from_batches([batch]), rows))
            rows += batch.num_rows
    return rows


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def plan_day(
    store: LakeStore,
    date: str,
    *,
    refresh_after_days: float = DEFAULT_REFRESH_DAYS,
    recheck_unavailable_days: float = DEFAULT_RECHECK_UNAVAILABLE_DAYS,
    now: datetime | None = None,
    tolerance: float = DEFAULT_ROW_DROP_TOLERANCE,
) -> Plan:
    """Plan day `date` (see the module docstring) without holding the listing or the previous
    snapshot in memory: both are joined by DuckDB under a memory limit (spilling to a local
    folder), and only the candidates come back. Same result as `reference_plan_day`."""
    from hf_croissant_assets.lake.sorted_stream import duckdb_connection

    previous_date = trustworthy_base(store, date, tolerance)
    now = now or datetime.now(UTC)
    stale_before = (now - timedelta(days=refresh_after_days)).isoformat().replace("+00:00", "Z")
    day_end = datetime.fromisoformat(date).replace(tzinfo=UTC) + timedelta(days=1)
    recent_since = day_end - timedelta(days=recheck_unavailable_days)

    workdir = tempfile.mkdtemp(prefix="hf_croissant_plan_")
    try:
        spool = os.path.join(workdir, "listing.parquet")
        _spool_listing(store, date, spool)
        release_memory()  # the decoding's freed buffers, before DuckDB takes its share
        spill = os.path.join(workdir, "spill")
        os.makedirs(spill)
        con = duckdb_connection(spill)
        try:
            con.execute(
                "CREATE TABLE listing AS SELECT dataset, sha, last_modified, created_at, _row "
                f"FROM read_parquet({_literal(spool)}) "
                "QUALIFY row_number() OVER (PARTITION BY dataset ORDER BY _row) = 1"
            )
            os.remove(spool)
            con.execute(
                f"COPY (SELECT dataset FROM listing WHERE dataset IS NOT NULL ORDER BY dataset) "
                f"TO {_literal(os.path.join(workdir, 'listed.parquet'))} (FORMAT parquet)"
            )
            if previous_date is not None:
                # read batch by batch, one row group after another: an Arrow dataset would
                # read ahead many batches and row groups at once, beside DuckDB's own memory
                columns = ["dataset", "request_time", "status", "sha", "last_modified"]
                file_schema = store.parquet_file("croissant_records", previous_date).schema_arrow
                source = pa.RecordBatchReader.from_batches(
                    pa.schema([file_schema.field(c) for c in columns]),
                    store.iter_batches("croissant_records", previous_date, columns),
                )
                con.register("previous_source", source)
                con.execute(
                    "CREATE TABLE previous AS SELECT dataset, request_time, status, sha, "
                    "last_modified FROM previous_source "
                    "QUALIFY row_number() OVER (PARTITION BY dataset) = 1"
                )
            else:
                con.execute(
                    "CREATE TABLE previous (dataset VARCHAR, request_time VARCHAR, "
                    "status INTEGER, sha VARCHAR, last_modified TIMESTAMPTZ)"
                )
            transient = ", ".join(str(int(s)) for s in TRANSIENT_STATUSES)
            con.execute(
                f"""
                CREATE TABLE joined AS
                SELECT l.dataset, l.sha, l.last_modified, l._row, p.request_time,
                       p.dataset IS NOT NULL AS in_previous,
                       CASE
                         WHEN p.status IS NULL THEN 0
                         WHEN l.sha IS DISTINCT FROM p.sha
                              OR l.last_modified IS DISTINCT FROM p.last_modified
                              OR p.status IN ({transient}) THEN 1
                         WHEN p.status = {NOT_AVAILABLE_STATUS}
                              AND (l.created_at >= $recent OR l.last_modified >= $recent) THEN 2
                         WHEN p.request_time < $stale THEN 3
                       END AS priority
                FROM listing l LEFT JOIN previous p ON l.dataset = p.dataset
                """,
                {"recent": recent_since, "stale": stale_before},
            )
            candidates = _frame(
                con.sql(
                    "SELECT dataset, sha, last_modified, priority::INTEGER AS priority "
                    "FROM joined WHERE priority IS NOT NULL "
                    "ORDER BY priority, request_time NULLS FIRST, _row"
                ).to_arrow_table()
            )
            counts = dict.fromkeys(PRIORITY_NAMES.values(), 0)
            for prio, n in con.execute(
                "SELECT priority, count(*) FROM joined WHERE priority IS NOT NULL GROUP BY 1"
            ).fetchall():
                counts[PRIORITY_NAMES[prio]] = n
            listed, matched = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE in_previous) FROM joined"
            ).fetchone() or (0, 0)
            (in_previous,) = con.execute("SELECT count(*) FROM previous").fetchone() or (0,)
        finally:
            con.close()
        shutil.rmtree(spill, ignore_errors=True)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    candidates = candidates.with_columns(
        pl.col("priority").cast(pl.Int32),
        pl.col("last_modified").cast(pl.Datetime("ms", "UTC")),
    )
    counts["listed"] = listed
    counts["in_previous"] = in_previous
    counts["deleted_since_previous"] = in_previous - matched
    plan = Plan(date, previous_date, candidates, counts, workdir)
    plan._finalizer = weakref.finalize(plan, shutil.rmtree, workdir, True)
    return plan


@dataclass
class AssembleCounts:
    """Where the rows `assemble_day` yielded came from."""

    fetched: int = 0
    carried: int = 0
    pending: int = 0


def _staged_sorted(store: LakeStore, paths: list[str], batch_size: int) -> Iterator[pa.Table]:
    """The staged rows in `dataset` order (nulls last); rows of one dataset keep the order of
    `paths` (the first fetched is kept, as `reference_assemble_day` does). An external merge sort
    (`external_sort`): memory is a few MB per spilled run, not the day's fetched documents,
    which DuckDB held whole up to its memory limit (~190 MB for 20k documents)."""
    from hf_croissant_assets.lake.store import external_sort

    def staged() -> Iterator[pa.RecordBatch]:
        for path in paths:
            source = ds.dataset(
                path, format="parquet", filesystem=store.fs, schema=CROISSANT_RECORDS
            )
            yield from source.to_batches(batch_size=batch_size)

    return external_sort(staged(), CROISSANT_RECORDS, "dataset")


def assemble_day(
    store: LakeStore,
    plan: Plan,
    staged_paths: list[str],
    batch_size: int = 4096,
    counts: AssembleCounts | None = None,
) -> Iterator[pa.Table]:
    """Yield the day's complete `croissant_records` in `dataset` order: for each listed id, the
    row fetched today (staged), else the previous snapshot's row (carried forward with its
    original `request_time`), else a pending row with null status.

    A three-way merge of sorted streams, range by range: the listed ids (the plan's spool), the
    staged rows (sorted out of core by `external_sort`) and the previous snapshot (sorted out of
    core by DuckDB when it is not stored sorted). Memory holds one range of each, whatever the
    size of the Hub. Each listed
    dataset appears exactly once; deleted datasets (not listed) are dropped.
    """
    from hf_croissant_assets.lake.sorted_stream import (
        SortedCursor,
        gather_runs,
        sorted_batches_of,
    )

    counts = counts if counts is not None else AssembleCounts()
    staged = SortedCursor(_staged_sorted(store, staged_paths, batch_size))
    previous = (
        SortedCursor(sorted_batches_of(store, "croissant_records", plan.previous_date))
        if plan.previous_date is not None
        else None
    )
    empty = CROISSANT_RECORDS.empty_table()
    for batch in plan.listed_batches(batch_size):
        ids = batch.column(0)
        if len(ids) == 0:
            continue
        hi = ids[len(ids) - 1].as_py()
        # each listed id's row: its first staged row (fetched today), else its first row of the
        # previous snapshot (carried forward), else a pending row; rows of ids not listed
        # (deleted datasets) are left out. Decided on the keys; the rows are then gathered as
        # zero-copy runs (`gather_runs`), the documents are never copied.
        fetched_rows = staged.take_through(hi) or empty
        carried_rows = (previous.take_through(hi) if previous is not None else None) or empty
        at_fetched = pc.index_in(ids, value_set=fetched_rows.column("dataset"))
        at_carried = pc.index_in(ids, value_set=carried_rows.column("dataset"))
        is_fetched = pc.is_valid(at_fetched)
        is_carried = pc.and_(pc.invert(is_fetched), pc.is_valid(at_carried))
        is_pending = pc.invert(pc.or_(is_fetched, is_carried))
        pending_ids = ids.filter(is_pending)
        pending_rows = pa.Table.from_arrays(
            [
                pending_ids if name == "dataset" else pa.nulls(len(pending_ids), field.type)
                for name, field in zip(CROISSANT_RECORDS.names, CROISSANT_RECORDS, strict=True)
            ],
            schema=CROISSANT_RECORDS,
        )
        # position of each pending id among the pending rows
        pending_at = pc.subtract(pc.cumulative_sum(pc.cast(is_pending, pa.int64())), 1)
        source = pc.if_else(is_fetched, 0, pc.if_else(is_carried, 1, 2)).cast(pa.int64())
        position = pc.if_else(
            is_fetched,
            at_fetched.cast(pa.int64()),
            pc.if_else(is_carried, at_carried.cast(pa.int64()), pending_at),
        )
        n_fetched = pc.sum(is_fetched).as_py() or 0
        n_carried = pc.sum(is_carried).as_py() or 0
        counts.fetched += n_fetched
        counts.carried += n_carried
        counts.pending += len(ids) - n_fetched - n_carried
        merged = gather_runs(
            [fetched_rows, carried_rows, pending_rows], source, position, CROISSANT_RECORDS
        )
        yield pa.Table.from_arrays(
            [
                column if name == "croissant" else column.combine_chunks()
                for name, column in zip(merged.column_names, merged.columns, strict=True)
            ],
            schema=CROISSANT_RECORDS,
        )
