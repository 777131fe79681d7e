"""The embedded SQL engine: DuckDB views over the lake's parquet partitions.

Views, not copies: the lake stays the only store, and a new partition is queryable as soon as its
file exists. A table with no partition yet still gets a view (empty, with the declared columns),
so example queries never fail on a new lake.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import duckdb

from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import TABLES
from hf_croissant_assets.warehouse.arrow_types import duckdb_type


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_sql(store: LakeStore, table: str) -> str:
    schema = TABLES[table]
    if store.dates(table):
        columns = ", ".join(f'"{name}"' for name in schema.names)
        return (
            f'CREATE OR REPLACE VIEW "{table}" AS SELECT {columns}, "date" FROM read_parquet('
            f"{_literal(store.glob(table))}, hive_partitioning = true, "
            "hive_types = {'date': DATE}, union_by_name = true)"
        )
    columns = ", ".join(f'CAST(NULL AS {duckdb_type(f.type)}) AS "{f.name}"' for f in schema)
    return f'CREATE OR REPLACE VIEW "{table}" AS SELECT {columns}, CAST(NULL AS DATE) AS "date" WHERE false'


def connect(path: str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    if path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return duckdb.connect(path, read_only=read_only)


def register_views(
    con: duckdb.DuckDBPyConnection, store: LakeStore, tables: Iterable[str] = TABLES
) -> list[str]:
    """(Re)create a view per table; returns the statements run."""
    if store.is_s3:
        raise NotImplementedError(
            "DuckDB views over an s3:// lake need DuckDB's httpfs extension; use Athena for an "
            "S3 lake (or point HF_CROISSANT_LAKE at a local folder)"
        )
    statements = [view_sql(store, table) for table in tables]
    for sql in statements:
        con.execute(sql)
    return statements
