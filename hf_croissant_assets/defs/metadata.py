"""Materialization metadata shared by the table assets: what a user needs to trust and use a day."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

from hf_croissant_assets.lake.store import LakeStore, WriteResult
from hf_croissant_assets.schema import TABLES

PREVIEW_ROWS = 5
PREVIEW_CHARS = 80
#: Columns previewed for a table without an entry below: its first scalar ones.
PREVIEW_COLUMNS_DEFAULT = 6
#: Columns shown in the preview (short, scalar ones; the raw JSON-LD never is).
PREVIEW_COLUMNS = {
    "hf_datasets": ["dataset", "license", "gated", "downloads", "last_modified"],
    "hf_croissant": [
        "dataset",
        "status",
        "name",
        "license_url",
        "record_set_count",
        "request_time",
    ],
    "hf_dataset_changes": ["dataset", "change", "before", "after", "previous_date"],
}


def table_schema(schema: pa.Schema) -> TableSchema:
    """The column schema shown in the UI, with each column's comment from `schema.py`."""
    return TableSchema(
        columns=[TableColumn(f.name, str(f.type), description=_comment(f) or None) for f in schema]
    )


def _comment(f: pa.Field) -> str:
    return (f.metadata or {}).get(b"comment", b"").decode()


def _cell(value: Any) -> str | int | float | bool | None:
    """Untrusted text goes into the preview as plain, truncated, single-line text (the UI shows
    table cells as text; nothing here is markdown or HTML)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = " ".join(str(value).split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def preview(store: LakeStore, table: str, date: str) -> MetadataValue:
    columns = (
        PREVIEW_COLUMNS.get(table)
        or [f.name for f in TABLES[table] if not pa.types.is_list(f.type)][:PREVIEW_COLUMNS_DEFAULT]
    )
    batch = next(store.iter_batches(table, date, columns=columns, batch_size=PREVIEW_ROWS), None)
    rows = batch.to_pylist() if batch is not None else []
    return MetadataValue.table(
        records=[TableRecord({c: _cell(r[c]) for c in columns}) for r in rows[:PREVIEW_ROWS]],
        schema=TableSchema(columns=[TableColumn(c, "string") for c in columns]),
    )


def status_breakdown(store: LakeStore, date: str) -> dict[str, int]:
    counts: Counter = Counter()
    for batch in store.iter_batches("hf_croissant", date, columns=["status"], batch_size=65_536):
        for item in pc.value_counts(batch.column(0)).to_pylist():
            key = "not fetched" if item["values"] is None else str(item["values"])
            counts[key] += item["counts"]
    return dict(sorted(counts.items()))


def table_metadata(
    store: LakeStore, table: str, date: str, result: WriteResult, schema: pa.Schema
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "dagster/row_count": result.rows,
        "dagster/column_schema": table_schema(schema),
        "path": MetadataValue.path(result.path),
        "bytes_written": result.bytes,
        "preview": preview(store, table, date),
        "load_with_python": MetadataValue.md(
            "```python\nfrom hf_croissant_assets import lake\n"
            f"df = lake.read({table!r}, date={date!r})  # polars; lake.scan(...) is lazy\n```"
        ),
        "load_with_sql": MetadataValue.md(
            "```python\nfrom hf_croissant_assets import lake\n"
            f'lake.sql("SELECT count(*) FROM {table} WHERE \\"date\\" = DATE \'{date}\'")\n```\n'
            "DuckDB file (HF_CROISSANT_DUCKDB) or Athena:\n"
            f"```sql\nSELECT * FROM {table} WHERE \"date\" = DATE '{date}' LIMIT 100;\n```"
        ),
    }
    if table == "hf_croissant":
        meta["croissant_status"] = MetadataValue.json(status_breakdown(store, date))
    return meta
