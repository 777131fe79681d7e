"""Curated partitions re-derived from the raw ones: what a backfill of a past day runs.

`hf_datasets` and `hf_croissant` come from the raw partitions; `hf_croissant_fields` and
`hf_croissant_files` from the day's `hf_croissant` (its raw documents). All read a raw partition in bounded batches and stream the curated one, so memory does not grow
with the day, and both can run for any day whose raw data is in the lake.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hf_croissant_assets.curate.croissant_depth import depth_tables
from hf_croissant_assets.curate.croissant_parser import parse_croissant_many
from hf_croissant_assets.curate.listing_rows import curate_listing_batch
from hf_croissant_assets.lake.store import LakeStore, WriteResult
from hf_croissant_assets.schema import CROISSANT_PARSED, CROISSANT_RECORDS, HF_CROISSANT

Audit = Callable[[pq.ParquetFile], None]


def curate_datasets(
    store: LakeStore, date: str, batch_size: int = 20_000, audit: Audit | None = None
) -> WriteResult:
    """`_raw/listing` -> `hf_datasets` for one day; `audit` may veto publishing the new file."""
    with store.writer("hf_datasets", date, audit=audit) as writer:
        for batch in store.iter_batches("raw_listing", date, batch_size=batch_size):
            writer.write(curate_listing_batch(batch))
    return writer.result


def croissant_table(records: pa.Table | pa.RecordBatch) -> pa.Table:
    """Raw records + the typed columns parsed from each document.

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


def curate_croissant(
    store: LakeStore, date: str, batch_size: int = 2_000, audit: Audit | None = None
) -> WriteResult:
    """`_raw/croissant_records` -> `hf_croissant` for one day; `audit` may veto publishing."""
    with store.writer("hf_croissant", date, audit=audit) as writer:
        for batch in store.iter_batches("croissant_records", date, batch_size=batch_size):
            writer.write(croissant_table(batch))
    return writer.result


def _curate_depth(
    store: LakeStore, date: str, which: int, table: str, batch_size: int, audit: Audit | None
) -> WriteResult:
    columns = ["dataset", "status", "croissant"]
    with store.writer(table, date, audit=audit) as writer:
        for batch in store.iter_batches(
            "hf_croissant", date, columns=columns, batch_size=batch_size
        ):
            tables = depth_tables(
                batch.column(0).to_pylist(),
                batch.column(2).to_pylist(),
                batch.column(1).to_pylist(),
            )
            writer.write(tables[which])
    return writer.result


def curate_croissant_fields(
    store: LakeStore, date: str, batch_size: int = 2_000, audit: Audit | None = None
) -> WriteResult:
    """`hf_croissant` -> `hf_croissant_fields` (one row per field) for one day."""
    return _curate_depth(store, date, 0, "hf_croissant_fields", batch_size, audit)


def curate_croissant_files(
    store: LakeStore, date: str, batch_size: int = 2_000, audit: Audit | None = None
) -> WriteResult:
    """`hf_croissant` -> `hf_croissant_files` (one row per distribution entry) for one day."""
    return _curate_depth(store, date, 1, "hf_croissant_files", batch_size, audit)
