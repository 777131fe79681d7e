"""Materialization metadata shared by the table assets."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from dagster import MetadataValue, TableColumn, TableSchema

from hf_croissant_assets.lake.store import LakeStore, WriteResult


def table_schema(schema: pa.Schema) -> TableSchema:
    return TableSchema(columns=[TableColumn(f.name, str(f.type)) for f in schema])


def table_metadata(
    store: LakeStore, table: str, date: str, result: WriteResult, schema: pa.Schema
) -> dict[str, Any]:
    glob = store.glob(table)
    return {
        "dagster/row_count": result.rows,
        "dagster/column_schema": table_schema(schema),
        "path": MetadataValue.path(result.path),
        "bytes_written": result.bytes,
        "load_with_sql": MetadataValue.md(
            f"```sql\nSELECT * FROM read_parquet('{glob}', hive_partitioning = true)\n"
            f"WHERE \"date\" = DATE '{date}';\n```"
        ),
        "load_with_python": MetadataValue.md(
            f"```python\nimport polars as pl\npl.read_parquet({result.path!r})\n```"
        ),
    }
