"""Curated partitions re-derived from the raw ones: what a daily run and a backfill run.

`hf_datasets` comes from the raw listing; `hf_croissant`, `hf_croissant_fields` and
`hf_croissant_files` from the day's Croissant documents. All read a partition in bounded batches
and stream the curated one, so memory does not grow with the day, and all can run for any day
whose raw data is in the lake.

Derive, don't redo: ~96% of a day's documents are carried forward unchanged from the day before,
and a document's typed columns, field rows and file rows are a function of its text alone. So
`curate_croissant_day` streams the day and the newest earlier day side by side in `dataset` order
(both are stored sorted; `lake.sorted_stream`) and, for every dataset whose document text and
status are identical to the earlier day's, copies the earlier rows instead of parsing again. Only
the documents that differ are decoded, once each, for all the tables being written. The earlier
day is used only if its partition was written with the current schema version and the current
parser / explode version (`DERIVATION_KEY` in the parquet metadata); otherwise, or with
`derive=False` (the reference path the tests compare with), every document is parsed.

Whether a document is unchanged is decided without reading the earlier text when the day's
records say (parquet metadata written by the crawl) that their carried rows were copied from the
very records file the earlier `hf_croissant` was derived from: such a row is that file's row, so
equal fetch columns (`request_time`, `status`, `reason`, `sha`, `last_modified`) mean the same
document. Otherwise the texts are compared.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hf_croissant_assets.curate.croissant_depth import (
    DEPTH_VERSION,
    depth_object,
    depth_tables,
    explode_fields,
    explode_files,
)
from hf_croissant_assets.curate.croissant_parser import (
    PARSED_COLUMNS,
    PARSER_VERSION,
    iter_loaded,
    parse_croissant_many,
    parse_loaded,
)
from hf_croissant_assets.curate.listing_rows import curate_listing_batch
from hf_croissant_assets.lake.listing_products import (
    HF_DATASETS_PRODUCT,
    consume_product,
    listing_product,
)
from hf_croissant_assets.lake.sorted_stream import SortedCursor, gather_runs, sorted_batches_of
from hf_croissant_assets.lake.store import LakeStore, WriteResult, background_writes
from hf_croissant_assets.schema import (
    CARRIED_FROM_KEY,
    CROISSANT_PARSED,
    CROISSANT_RECORDS,
    DATASETS,
    DERIVED_FROM_RECORDS_KEY,
    HF_CROISSANT,
    HF_CROISSANT_FIELDS,
    HF_CROISSANT_FILES,
    HF_DATASETS,
    RECORDS_WRITE_KEY,
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
    strip_field_metadata,
    with_version,
)

log = logging.getLogger(__name__)

Audit = Callable[[pq.ParquetFile], None]


def curate_datasets(
    store: LakeStore, date: str, batch_size: int = 8_192, audit: Audit | None = None
) -> WriteResult:
    """`_raw/listing` -> `hf_datasets` for one day; `audit` may veto publishing the new file.

    The rows the listing pass already curated from the same pages are sorted and written when
    they are of the raw partition published now (`listing_products`); else the raw partition is
    curated here. Columnar: each batch's objects are decoded together and typed a column at a
    time (`curate_listing_batch`); only objects of unexpected shape are typed one by one.
    """
    staged = listing_product(store, date, HF_DATASETS_PRODUCT)
    batches: Iterator[pa.RecordBatch | pa.Table] | None = None
    source = None
    if staged is not None:
        try:
            source = store.fs.open_input_file(staged.path)
            product = pq.ParquetFile(source, pre_buffer=False)
            expected = with_version(HF_DATASETS)
            schema = product.schema_arrow
            if schema.equals(expected) and schema.metadata == expected.metadata:
                log.info("hf_datasets %s: from the listing pass (%d rows)", date, staged.rows)
                batches = product.iter_batches(batch_size=batch_size)
        except (OSError, pa.ArrowInvalid) as exc:
            log.warning("hf_datasets %s: the listing pass's rows are unreadable (%r)", date, exc)
    if batches is None:
        batches = (
            curate_listing_batch(batch)
            for batch in store.iter_batches("raw_listing", date, batch_size=batch_size)
        )
    try:
        with (
            store.writer("hf_datasets", date, audit=audit) as writer,
            background_writes(writer) as queued,  # sorted and spilled while the next is decoded
        ):
            for batch in batches:
                queued.write(batch)
    finally:
        if source is not None:
            source.close()
        if staged is not None:
            consume_product(store, date, HF_DATASETS_PRODUCT)  # used, or of no use
    return writer.result


#: The tables derived from the Croissant documents, in the order they are written.
CROISSANT_TABLES: tuple[str, ...] = ("hf_croissant", "hf_croissant_fields", "hf_croissant_files")

#: Parquet key-value metadata key naming the code (and its version) that derived a partition.
DERIVATION_KEY = "hf_croissant_assets.derived_by"

_DERIVATIONS: dict[str, str] = {
    "hf_croissant": f"croissant_parser/{PARSER_VERSION}",
    "hf_croissant_fields": f"croissant_depth/{DEPTH_VERSION}",
    "hf_croissant_files": f"croissant_depth/{DEPTH_VERSION}",
}

_DOC_COLUMNS = ["dataset", "status", "croissant"]
#: What identifies one fetch of one dataset's document: equal values in a row carried from a
#: snapshot file and in a row derived from that same file mean the same document.
_FETCH_COLUMNS = ["dataset", "request_time", "status", "reason", "sha", "last_modified"]


def derivation(table: str) -> str:
    """What derives `table` today, as recorded in each of its partitions."""
    return _DERIVATIONS[table]


def derived_schema(table: str, extra: Mapping[str, str] | None = None) -> pa.Schema:
    """The declared schema of `table` with its `DERIVATION_KEY` (and `extra`) attached (the
    writer adds the schema version)."""
    schema = DATASETS[table]
    meta = dict(schema.metadata or {})
    meta[DERIVATION_KEY.encode()] = derivation(table).encode()
    for key, value in (extra or {}).items():
        meta[key.encode()] = value.encode()
    return schema.with_metadata(meta)


def reusable(store: LakeStore, table: str, date: str) -> bool:
    """Whether day `date` of `table` may be copied from: it exists, its columns are the declared
    ones, and it was written with today's schema version and derivation (parser) version."""
    if not store.exists(table, date):
        return False
    try:
        schema = store.parquet_file(table, date).schema_arrow
    except (OSError, ValueError):
        return False
    meta = schema.metadata or {}
    return (
        meta.get(SCHEMA_VERSION_KEY.encode()) == SCHEMA_VERSION.encode()
        and meta.get(DERIVATION_KEY.encode()) == derivation(table).encode()
        and strip_field_metadata(schema) == strip_field_metadata(DATASETS[table])
    )


@dataclass
class DeriveResult:
    """What `curate_croissant_day` wrote and how much of it was copied rather than parsed."""

    date: str
    base_date: str | None
    #: tables copied from the base day (the others were parsed in full)
    reused: tuple[str, ...]
    #: how unchanged documents were recognised: "fetch" (the day's rows carried from the very
    #: records file the base day was derived from: same fetch, same document), "document" (the
    #: texts compared), or None (nothing reused)
    compared_by: str | None = None
    writes: dict[str, WriteResult] = field(default_factory=dict)
    rows: int = 0
    carried: int = 0
    parsed: int = 0


def _null_safe_equal(a: pa.ChunkedArray | pa.Array, b: pa.ChunkedArray | pa.Array) -> pa.Array:
    both_null = pc.and_(pc.is_null(a), pc.is_null(b))
    return pc.or_(both_null, pc.fill_null(pc.equal(a, b), False))


def _drop_repeated_keys(table: pa.Table) -> pa.Table:
    """A sorted table without the 2nd, 3rd, ... row of a repeated `dataset` (keep the first)."""
    keys = table.column("dataset")
    if table.num_rows < 2:
        return table
    repeated = pc.fill_null(pc.equal(keys.slice(1), keys.slice(0, table.num_rows - 1)), False)
    if not pc.any(repeated).as_py():
        return table
    keep = pa.concat_arrays([pa.array([True]), pa.chunked_array(repeated).combine_chunks()])
    return table.filter(keep)


def _fresh_rows(
    records: pa.Table,
    parsed_needed: list[bool] | None,
    fields_needed: list[bool] | None,
    files_needed: list[bool] | None,
) -> tuple[pa.Table | None, pa.Table | None, pa.Table | None]:
    """The derived rows of the `records` each table needs (a flag per row, None: the table is
    not written), each document decoded once for every table that needs it.

    Same values as `croissant_table` and `depth_tables` (the reference path) give."""
    none = [False] * records.num_rows
    need_parsed = parsed_needed or none
    need_fields = fields_needed or none
    need_files = files_needed or none
    # only the rows some table needs are turned into Python objects (most rows are copied)
    wanted = [
        i
        for i, flags in enumerate(zip(need_parsed, need_fields, need_files, strict=True))
        if any(flags)
    ]
    if len(wanted) != records.num_rows:
        records = records.take(wanted)
        need_parsed = [need_parsed[i] for i in wanted]
        need_fields = [need_fields[i] for i in wanted]
        need_files = [need_files[i] for i in wanted]
    n = records.num_rows
    datasets = records.column("dataset").to_pylist()
    statuses = records.column("status").to_pylist()
    # each document decoded once, straight from the column (no Python string unless needed)
    loaded_docs = iter_loaded(records.column("croissant"))
    columns: dict[str, list] = {name: [] for name in PARSED_COLUMNS}
    appends = [(name, columns[name].append) for name in PARSED_COLUMNS]
    parsed_rows: list[int] = []
    field_rows: list[dict[str, Any]] = []
    file_rows: list[dict[str, Any]] = []
    for i, loaded in enumerate(loaded_docs):
        parse, fields_wanted, files_wanted = need_parsed[i], need_fields[i], need_files[i]
        if not (parse or fields_wanted or files_wanted):
            continue
        if parse:
            parsed_rows.append(i)
        if loaded is None:  # no document
            if parse:
                for _name, append in appends:
                    append(None)
            continue
        ok, obj, note, text = loaded
        if parse:
            row = parse_loaded(ok, obj, note)
            for name, append in appends:
                append(row[name])
        dataset = datasets[i]
        if (fields_wanted or files_wanted) and dataset is not None and statuses[i] == 200:
            # decoded by msgspec (text None): a text without byte order mark, which
            # `depth_object` would give as is
            depth_obj = (
                depth_object(text, ok, obj)
                if text is not None
                else (obj if type(obj) is dict else None)
            )
            if depth_obj is None:
                continue
            try:  # as depth_tables: a bug in one table loses that document's rows, not the day
                fields = explode_fields(dataset, depth_obj)
                files = explode_files(dataset, depth_obj)
            except Exception as exc:  # noqa: BLE001
                log.warning(
                    "could not explode the Croissant document of %r: %r", dataset[:200], exc
                )
                continue
            if fields_wanted:
                field_rows += fields
            if files_wanted:
                file_rows += files
    hf = None
    if parsed_needed is not None:
        parsed_table = pa.table(columns, schema=CROISSANT_PARSED)
        subset = records if len(parsed_rows) == n else records.take(parsed_rows)
        arrays = [subset.column(name) for name in CROISSANT_RECORDS.names]
        arrays += list(parsed_table.columns)
        hf = pa.Table.from_arrays(arrays, schema=HF_CROISSANT)
    fields_table = (
        pa.Table.from_pylist(field_rows, schema=HF_CROISSANT_FIELDS)
        if fields_needed is not None
        else None
    )
    files_table = (
        pa.Table.from_pylist(file_rows, schema=HF_CROISSANT_FILES)
        if files_needed is not None
        else None
    )
    return hf, fields_table, files_table


def _rebatch(batches: Iterator[pa.RecordBatch], size: int) -> Iterator[pa.Table]:
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        rows += batch.num_rows
        if rows >= size:
            table = pa.Table.from_batches(pending)
            for start in range(0, table.num_rows - size + 1, size):
                yield table.slice(start, size)
            tail = table.num_rows % size
            pending = list(table.slice(table.num_rows - tail).to_batches()) if tail else []
            rows = tail
    if rows:
        yield pa.Table.from_batches(pending)


def base_day(store: LakeStore, date: str) -> str | None:
    """The newest `hf_croissant` day before `date`: the day unchanged documents are copied from."""
    return store.newest_before("hf_croissant", date)


def curate_croissant_day(
    store: LakeStore,
    date: str,
    tables: tuple[str, ...] = CROISSANT_TABLES,
    *,
    source: str = "croissant_records",
    audits: Mapping[str, Audit | None] | None = None,
    batch_size: int = 2048,
    derive: bool = True,
    progress: Callable[[str], None] | None = None,
) -> DeriveResult:
    """Write the day's `tables` (a subset of `CROISSANT_TABLES`) in one pass over the day.

    `source` is where the day's documents are read: `croissant_records` (the raw records, for
    `hf_croissant`) or `hf_croissant` (the day's curated table, for fields / files alone).
    `audits[table]` may veto publishing that table. See the module docstring for `derive`.
    """
    unknown = [t for t in tables if t not in CROISSANT_TABLES]
    if unknown or not tables:
        raise ValueError(f"tables {tables!r}: each must be one of {CROISSANT_TABLES}")
    if "hf_croissant" in tables and source != "croissant_records":
        raise ValueError("hf_croissant is derived from croissant_records (source)")
    audits = audits or {}
    base = base_day(store, date) if derive else None
    reused = tuple(t for t in tables if base is not None and reusable(store, t, base))
    # The base day's documents decide what is unchanged; without a reusable hf_croissant on it
    # (older schema or parser version) its documents are still comparable when its columns are.
    docs_base = (
        base
        if base is not None
        and reused
        and (
            "hf_croissant" in reused
            or strip_field_metadata(store.parquet_file("hf_croissant", base).schema_arrow)
            == strip_field_metadata(HF_CROISSANT)
        )
        else None
    )
    if docs_base is None:
        reused = ()
    # The day's records name the records file their carried rows were copied from; when the base
    # day's hf_croissant was derived from that same file, a row whose fetch columns equal the
    # base row's is a copy of the row that was parsed there: the documents need not be read
    # back and compared (~1.6 GB of text at 500k datasets). Files without these ids (imported,
    # older, hand-made) are compared by their text.
    records_id = (
        store.metadata_value("croissant_records", date, RECORDS_WRITE_KEY)
        if source == "croissant_records"
        else None
    )
    by_fetch = (
        docs_base is not None
        and "hf_croissant" in reused
        and source == "croissant_records"
        and (carried_from := store.metadata_value("croissant_records", date, CARRIED_FROM_KEY))
        is not None
        and carried_from
        == store.metadata_value("hf_croissant", docs_base, DERIVED_FROM_RECORDS_KEY)
    )
    result = DeriveResult(
        date, docs_base, reused, ("fetch" if by_fetch else "document") if reused else None
    )
    columns = None if source == "croissant_records" else _DOC_COLUMNS
    today = _rebatch(
        sorted_batches_of(store, source, date, columns, batch_size=batch_size), batch_size
    )
    prev_docs = prev_fields = prev_files = None
    if docs_base is not None:
        prev_columns = (_FETCH_COLUMNS if by_fetch else _DOC_COLUMNS) + (
            list(PARSED_COLUMNS) if "hf_croissant" in reused else []
        )
        prev_docs = SortedCursor(
            sorted_batches_of(store, "hf_croissant", docs_base, prev_columns, batch_size=batch_size)
        )
        if "hf_croissant_fields" in reused:
            prev_fields = SortedCursor(
                sorted_batches_of(store, "hf_croissant_fields", docs_base, batch_size=batch_size)
            )
        if "hf_croissant_files" in reused:
            prev_files = SortedCursor(
                sorted_batches_of(store, "hf_croissant_files", docs_base, batch_size=batch_size)
            )
    with ExitStack() as stack:
        writers = {
            # rows arrive in dataset order (a merge of sorted streams): written straight into
            # the sorted layout, not spooled and sorted again
            t: stack.enter_context(
                store.writer(
                    t,
                    date,
                    schema=derived_schema(
                        t,
                        {DERIVED_FROM_RECORDS_KEY: records_id}
                        if t == "hf_croissant" and records_id
                        else None,
                    ),
                    audit=audits.get(t),
                    presorted=True,
                )
            )
            for t in tables
        }
        # each table's parquet encoding on its own thread, beside the merge and the parsing
        queued = {t: stack.enter_context(background_writes(w)) for t, w in writers.items()}
        for chunk in today:
            _derive_chunk(
                chunk, tables, queued, prev_docs, prev_fields, prev_files, result, by_fetch
            )
            if progress is not None and result.rows % (batch_size * 50) < chunk.num_rows:
                progress(
                    f"croissant tables {date}: {result.rows:,} rows, {result.carried:,} copied "
                    f"from {docs_base}, {result.parsed:,} parsed"
                )
    result.writes = {t: w.result for t, w in writers.items()}
    log.info(
        "croissant tables %s: %d rows, %d copied from %s (%s), %d parsed",
        date,
        result.rows,
        result.carried,
        docs_base,
        ", ".join(reused) or "nothing reusable",
        result.parsed,
    )
    return result


def _derive_chunk(
    chunk: pa.Table,
    tables: tuple[str, ...],
    writers: dict[str, Any],
    prev_docs: SortedCursor | None,
    prev_fields: SortedCursor | None,
    prev_files: SortedCursor | None,
    result: DeriveResult,
    by_fetch: bool = False,
) -> None:
    """One range of the day: copy what is unchanged since the base day, parse the rest
    (unchanged: the same document text and status, or with `by_fetch` the same fetch)."""
    ids = chunk.column("dataset")
    valid_ids = ids.drop_null()
    hi = valid_ids[len(valid_ids) - 1].as_py() if len(valid_ids) else None
    same: pa.Array | None = None
    aligned = None
    if prev_docs is not None and hi is not None:
        prev = prev_docs.take_through(hi)
        if prev is not None:
            prev = _drop_repeated_keys(prev)
            index = pc.index_in(ids, value_set=prev.column("dataset"))
            # the base day's rows next to today's, as zero-copy runs (`gather_runs`: the
            # documents are compared where they are, not copied); ids new today point at row 0
            # and are masked out by `is_valid(index)` below
            aligned = gather_runs(
                [prev],
                pa.repeat(pa.scalar(0, pa.int64()), len(index)),
                index.cast(pa.int64()).fill_null(0),
                prev.schema,
            )
            equal = pc.is_valid(index)
            for name in _FETCH_COLUMNS[1:] if by_fetch else ["croissant", "status"]:
                equal = pc.and_(equal, _null_safe_equal(chunk.column(name), aligned.column(name)))
            same = pc.fill_null(equal, False)
            if isinstance(same, pa.ChunkedArray):
                same = same.combine_chunks()
            if not pc.any(same).as_py():
                same = None
    n = chunk.num_rows
    changed_mask = pa.array([True] * n) if same is None else pc.invert(same)
    changed = changed_mask.to_pylist()
    everything = [True] * n
    copy_parsed = same is not None and "hf_croissant" in result.reused
    copy = {
        "hf_croissant_fields": same is not None and prev_fields is not None,
        "hf_croissant_files": same is not None and prev_files is not None,
    }
    hf, fields, files = _fresh_rows(
        chunk,
        (changed if copy_parsed else everything) if "hf_croissant" in tables else None,
        (changed if copy["hf_croissant_fields"] else everything)
        if "hf_croissant_fields" in tables
        else None,
        (changed if copy["hf_croissant_files"] else everything)
        if "hf_croissant_files" in tables
        else None,
    )
    copied = 0 if same is None else pc.sum(same).as_py() or 0
    result.rows += n
    result.carried += copied
    result.parsed += n - copied
    if "hf_croissant" in tables:
        assert hf is not None
        if copy_parsed:
            # the day's record columns as they are (already in order); the typed columns picked
            # per row from the earlier day (unchanged) or the fresh parse (changed), so the large
            # document column is never copied
            assert aligned is not None and same is not None
            fresh_at = pc.subtract(pc.cumulative_sum(pc.cast(changed_mask, pa.int64())), 1)
            pick = pc.if_else(
                same, pa.array(range(n), pa.int64()), pc.add(fresh_at, pa.scalar(n, pa.int64()))
            )
            arrays = [chunk.column(c) for c in CROISSANT_RECORDS.names]
            for c in CROISSANT_PARSED.names:
                both = pa.chunked_array(
                    aligned.column(c).chunks + hf.column(c).chunks, CROISSANT_PARSED.field(c).type
                )
                arrays.append(both.take(pick))
            writers["hf_croissant"].write(pa.Table.from_arrays(arrays, schema=HF_CROISSANT))
        else:
            writers["hf_croissant"].write(hf)
    copied_ids = ids.filter(same) if same is not None else None
    for table, rows, cursor in (
        ("hf_croissant_fields", fields, prev_fields),
        ("hf_croissant_files", files, prev_files),
    ):
        if table not in tables:
            continue
        prev_rows = None
        if cursor is not None and hi is not None:
            prev_rows = cursor.take_through(hi)  # consumed even when nothing is copied
            if not (copy[table] and copied_ids is not None):
                prev_rows = None
        writers[table].write(_merge_copied(rows, prev_rows, copied_ids))


def _merge_copied(
    fresh: pa.Table | None, previous: pa.Table | None, copied_ids: pa.Array | None
) -> pa.Table:
    """The fresh rows and the rows of `previous` whose dataset is in `copied_ids`, in `dataset`
    order (a dataset's rows keep their order; fresh before copied on equal keys): gathered as
    runs of the two inputs (`gather_runs`), then copied once into contiguous columns."""
    assert fresh is not None
    if previous is None or copied_ids is None or previous.num_rows == 0:
        return fresh
    keep = pc.is_in(previous.column("dataset"), value_set=copied_ids)
    kept_at = pc.indices_nonzero(keep).cast(pa.int64())
    if len(kept_at) == 0:
        return fresh
    if fresh.num_rows == 0 and len(kept_at) == previous.num_rows:
        return previous.cast(fresh.schema)
    keys = pa.table(
        {
            "dataset": pa.chunked_array(
                fresh.column("dataset").chunks + previous.column("dataset").take(kept_at).chunks,
                pa.string(),
            ),
            "source": pa.concat_arrays(
                [
                    pa.repeat(pa.scalar(0, pa.int64()), fresh.num_rows),
                    pa.repeat(pa.scalar(1, pa.int64()), len(kept_at)),
                ]
            ),
            "position": pa.concat_arrays([pa.array(range(fresh.num_rows), pa.int64()), kept_at]),
        }
    )
    order = pc.sort_indices(keys, sort_keys=[("dataset", "ascending")])
    # one copy into contiguous columns: the parquet writer pays per chunk and per column, and
    # these rows are small (the documents themselves are not in these tables)
    return gather_runs(
        [fresh, previous],
        keys.column("source").take(order).combine_chunks(),
        keys.column("position").take(order).combine_chunks(),
        fresh.schema,
    ).combine_chunks()


def curate_croissant(
    store: LakeStore, date: str, batch_size: int = 4096, audit: Audit | None = None
) -> WriteResult:
    """`_raw/croissant_records` -> `hf_croissant` for one day; `audit` may veto publishing."""
    result = curate_croissant_day(
        store, date, ("hf_croissant",), audits={"hf_croissant": audit}, batch_size=batch_size
    )
    return result.writes["hf_croissant"]


def curate_croissant_fields(
    store: LakeStore, date: str, batch_size: int = 4096, audit: Audit | None = None
) -> WriteResult:
    """`hf_croissant` -> `hf_croissant_fields` (one row per field) for one day."""
    result = curate_croissant_day(
        store,
        date,
        ("hf_croissant_fields",),
        source="hf_croissant",
        audits={"hf_croissant_fields": audit},
        batch_size=batch_size,
    )
    return result.writes["hf_croissant_fields"]


def curate_croissant_files(
    store: LakeStore, date: str, batch_size: int = 4096, audit: Audit | None = None
) -> WriteResult:
    """`hf_croissant` -> `hf_croissant_files` (one row per distribution entry) for one day."""
    result = curate_croissant_day(
        store,
        date,
        ("hf_croissant_files",),
        source="hf_croissant",
        audits={"hf_croissant_files": audit},
        batch_size=batch_size,
    )
    return result.writes["hf_croissant_files"]


# -- the reference path: every document parsed, one table at a time ------------------------------


def croissant_table(records: pa.Table | pa.RecordBatch) -> pa.Table:
    """Raw records + the typed columns parsed from each document (the reference derivation).

    Rows without a document (400/401/404, pending) get null typed columns: `parse_error` is for
    documents that were served but could not be read, not for documents that do not exist.
    """
    if isinstance(records, pa.RecordBatch):
        records = pa.Table.from_batches([records])
    docs = records.column("croissant")
    parsed = parse_croissant_many(docs.to_pylist())
    parsed_table = pa.table(parsed, schema=CROISSANT_PARSED)
    has_doc = pc.is_valid(docs)
    columns = [records.column(name) for name in CROISSANT_RECORDS.names]
    for name in CROISSANT_PARSED.names:
        column = parsed_table.column(name)
        if name == "parse_error":
            column = pc.if_else(has_doc, column, pa.scalar(None, pa.string()))
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=HF_CROISSANT)


def reference_curate_croissant(store: LakeStore, date: str, batch_size: int = 2_000) -> WriteResult:
    """`hf_croissant` with every document parsed: what the derived path must equal."""
    records_id = store.metadata_value("croissant_records", date, RECORDS_WRITE_KEY)
    extra = {DERIVED_FROM_RECORDS_KEY: records_id} if records_id else None
    with store.writer("hf_croissant", date, schema=derived_schema("hf_croissant", extra)) as writer:
        for batch in store.iter_batches("croissant_records", date, batch_size=batch_size):
            writer.write(croissant_table(batch))
    return writer.result


def reference_curate_depth(
    store: LakeStore, date: str, table: str, batch_size: int = 2_000
) -> WriteResult:
    """`hf_croissant_fields` / `hf_croissant_files` with every document of the day's
    `hf_croissant` exploded: what the derived path must equal."""
    which = {"hf_croissant_fields": 0, "hf_croissant_files": 1}[table]
    with store.writer(table, date, schema=derived_schema(table)) as writer:
        for batch in store.iter_batches(
            "hf_croissant", date, columns=_DOC_COLUMNS, batch_size=batch_size
        ):
            tables = depth_tables(
                batch.column(0).to_pylist(),
                batch.column(2).to_pylist(),
                batch.column(1).to_pylist(),
            )
            writer.write(tables[which])
    return writer.result
