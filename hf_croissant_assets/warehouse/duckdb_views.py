"""The embedded SQL engine: DuckDB views over the lake's parquet partitions.

Views, not copies: the lake stays the only store, and a new partition is queryable as soon as its
file exists. A table with no partition yet still gets a view (empty, with the declared columns),
so example queries never fail on a new lake.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class ViewRefresh:
    """What `refresh_views` did: the statements, and whether the file was swapped."""

    statements: list[str]
    swapped: bool


def held_elsewhere(exc: duckdb.Error) -> bool:
    """The file is open by another process (its lock) or, in this process, by a connection with
    other settings (e.g. read-only)."""
    text = str(exc).lower()
    return "lock" in text or "same database file with a different configuration" in text


def refresh_views(path: str, store: LakeStore, tables: Iterable[str] = TABLES) -> ViewRefresh:
    """(Re)create the views in the DuckDB file at `path`, even while another process has it open.

    DuckDB lets one process write a file, and a read-only session (the README's own query snippet)
    holds that lock. Then the views are written to a new file next to it, which replaces the old
    one atomically (`os.replace`): the open session keeps reading the old file until it
    reconnects, and the run does not fail on `Could not set lock`. Without a lock the file is
    updated in place, so anything else a user keeps in it stays.
    """
    tables = list(tables)
    try:
        con = connect(path)
    except duckdb.Error as exc:
        if path == ":memory:" or not held_elsewhere(exc):
            raise
    else:
        with con:
            return ViewRefresh(register_views(con, store, tables), swapped=False)
    target = os.path.abspath(path)
    fresh = f"{target}.new-{uuid.uuid4().hex[:12]}"
    try:
        with duckdb.connect(fresh) as con:
            statements = register_views(con, store, tables)
            con.execute("CHECKPOINT")
        os.replace(fresh, target)
    finally:
        for leftover in (fresh, fresh + ".wal"):
            if os.path.exists(leftover):
                os.remove(leftover)
    return ViewRefresh(statements, swapped=True)
