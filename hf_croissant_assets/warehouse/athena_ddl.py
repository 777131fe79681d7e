"""Athena DDL derived from `schema.py`: external tables with partition projection on `date`.

Projection means Athena computes the partitions from the `date=YYYY-MM-DD` keys itself: the
tables are created once and each new day is queryable as soon as its file exists. No
`MSCK REPAIR TABLE` (slow, and able to time out half-done) ever runs on the daily path.

`athena_client.AthenaClient` runs these statements.
"""

from __future__ import annotations

import re

import pyarrow as pa

from hf_croissant_assets.schema import SCHEMA_VERSION, SCHEMA_VERSION_KEY, TABLES
from hf_croissant_assets.warehouse.arrow_types import athena_type

_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,127}$")


def validate_name(kind: str, name: str) -> str:
    """Database and table names enter SQL as identifiers: allow only what Glue allows."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"{kind} name {name!r} is invalid: use lowercase letters, digits and _")
    return name


def _comment(field: pa.Field) -> str:
    text = (field.metadata or {}).get(b"comment", b"").decode()
    # Hive-style DDL has no portable quote escape: comments are ours, keep them quote-free.
    return f" COMMENT '{text.replace(chr(39), '')}'" if text else ""


def columns_sql(schema: pa.Schema) -> str:
    return ",\n  ".join(f"`{f.name}` {athena_type(f.type)}{_comment(f)}" for f in schema)


def create_table_sql(
    table: str,
    location: str,
    *,
    database: str | None = None,
    projection: bool = True,
    start_date: str = "2026-01-01",
) -> str:
    """`CREATE EXTERNAL TABLE IF NOT EXISTS` for one lake table at `location` (s3://.../table/)."""
    validate_name("table", table)
    schema = TABLES[table]
    qualified = f"`{validate_name('database', database)}`.`{table}`" if database else f"`{table}`"
    if not location.startswith("s3://") or "'" in location:
        raise ValueError(f"table location {location!r} must be an s3:// URI without quotes")
    location = location.rstrip("/") + "/"
    props = {
        "parquet.compression": "ZSTD",
        SCHEMA_VERSION_KEY: SCHEMA_VERSION,
    }
    if projection:
        props |= {
            "projection.enabled": "true",
            "projection.date.type": "date",
            "projection.date.format": "yyyy-MM-dd",
            "projection.date.range": f"{start_date},NOW",
            "projection.date.interval": "1",
            "projection.date.interval.unit": "DAYS",
            "storage.location.template": f"{location}date=${{date}}/",
        }
    properties = ",\n  ".join(f"'{k}'='{v}'" for k, v in props.items())
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS {qualified} (\n  {columns_sql(schema)}\n)\n"
        "PARTITIONED BY (`date` date)\n"
        "STORED AS PARQUET\n"
        f"LOCATION '{location}'\n"
        f"TBLPROPERTIES (\n  {properties}\n)"
    )


def add_partition_sql(table: str, date: str, location: str, database: str | None = None) -> str:
    """For tables without projection: register the one new day (never MSCK REPAIR TABLE)."""
    from hf_croissant_assets.lake.store import validate_date

    validate_name("table", table)
    qualified = f"`{validate_name('database', database)}`.`{table}`" if database else f"`{table}`"
    day = validate_date(date)
    return (
        f"ALTER TABLE {qualified} ADD IF NOT EXISTS PARTITION (`date` = '{day}') "
        f"LOCATION '{location.rstrip('/')}/date={day}/'"
    )
