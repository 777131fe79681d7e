"""`hf_dataset_changes`: what changed on the Hub between a day and the newest earlier snapshot.

The Hub only serves today's state; the lake's daily copies are what make a time series. This
module diffs day D's `hf_datasets` and `hf_croissant` against the newest earlier day that has
both (not necessarily D-1: a missed day is a gap, and D is compared with what came before it),
and writes one row per event. It reads only the lake (never the Hub), so any past day can be
re-derived. The join runs in DuckDB over the four parquet files, reading only the columns it
compares, so memory stays bounded whatever the day's size.

Event kinds (`schema.CHANGE_KINDS`); `before` / `after` are the values on each side as text:

- `created` / `deleted`: the id is listed on only one side (`after` / `before` = its sha).
- `updated`: the repo's `sha` changed.
- `license_changed`, `gated_changed`, `disabled_changed`: that listing field changed (null, i.e.
  no license tag, is a value too: adding or removing the tag is a change).
- `downloads_jump`: 30-day downloads grew at least `downloads_factor`-fold and by at least
  `MIN_DOWNLOADS_JUMP` (so 1 -> 3 is not news).
- `croissant_appeared`: the Croissant status became 200 (from an error or never fetched).
- `croissant_disappeared`: it was 200 and is not any more (`after` = the new status).
- `croissant_changed`: 200 on both sides with a different document (`before`/`after` = md5).
- `croissant_status_changed`: the status changed between two non-200 values (e.g. never
  fetched -> 400, 400 -> 401); null status (never fetched) is `before` = null.

Croissant events are only reported for datasets listed on both sides: a new dataset is a
`created` event, and its Croissant status is in `hf_croissant` of the day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date as Date
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from hf_croissant_assets.lake.store import LakeStore, WriteResult, validate_date
from hf_croissant_assets.schema import CHANGE_KINDS, HF_DATASET_CHANGES

if TYPE_CHECKING:
    import duckdb

TABLE = "hf_dataset_changes"
#: The snapshots a day is compared with: both must exist on both sides.
INPUTS: tuple[str, ...] = ("hf_datasets", "hf_croissant")
#: A downloads jump must also add at least this many downloads (30-day count).
MIN_DOWNLOADS_JUMP = 100

Audit = Callable[[pq.ParquetFile], None]


@dataclass
class ChangesResult:
    """What `compute_changes` wrote: the day, what it was compared with, counts per kind."""

    date: str
    previous_date: str | None
    counts: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    write: WriteResult | None = None


def previous_snapshot(store: LakeStore, date: str) -> str | None:
    """The newest day before `date` with both `hf_datasets` and `hf_croissant` (gaps allowed)."""
    validate_date(date)
    common = set(store.dates(INPUTS[0]))
    for table in INPUTS[1:]:
        common &= set(store.dates(table))
    earlier = sorted(d for d in common if d < date)
    return earlier[-1] if earlier else None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def register_partition(
    con: duckdb.DuckDBPyConnection, store: LakeStore, table: str, date: str, name: str
) -> None:
    """Make day `date` of `table` queryable as `name`: DuckDB's own reader on a local lake; a
    pyarrow dataset (projections and filters pushed down, no httpfs) on S3."""
    path = store.part_path(table, date)
    if store.is_s3:
        con.register(name, ds.dataset(path, format="parquet", filesystem=store.fs))
    else:
        con.execute(
            f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM read_parquet({_literal(path)})'
        )


def _events_sql(factor: float) -> str:
    """The events, from views cur_ds/prev_ds (hf_datasets) and cur_cr/prev_cr (hf_croissant)."""
    return f"""
    WITH j AS (
        SELECT coalesce(c.dataset, p.dataset) AS dataset,
               p.dataset IS NOT NULL AS in_prev, c.dataset IS NOT NULL AS in_cur,
               p.sha AS sha_b, c.sha AS sha_a,
               p.license AS license_b, c.license AS license_a,
               p.gated AS gated_b, c.gated AS gated_a,
               p.disabled AS disabled_b, c.disabled AS disabled_a,
               p.downloads AS downloads_b, c.downloads AS downloads_a
        FROM (SELECT dataset, sha, license, gated, disabled, downloads FROM cur_ds
              WHERE dataset IS NOT NULL) c
        FULL OUTER JOIN (SELECT dataset, sha, license, gated, disabled, downloads FROM prev_ds
                         WHERE dataset IS NOT NULL) p
        ON c.dataset = p.dataset
    ),
    both_sides AS (SELECT * FROM j WHERE in_prev AND in_cur),
    cr AS (
        SELECT c.dataset, p.status AS status_b, c.status AS status_a,
               p.request_time AS rt_b, c.request_time AS rt_a
        FROM (SELECT dataset, status, request_time FROM cur_cr) c
        JOIN (SELECT dataset, status, request_time FROM prev_cr) p ON c.dataset = p.dataset
        JOIN both_sides b ON b.dataset = c.dataset
    ),
    refetched AS (
        -- Only documents fetched again can differ: carried rows are byte-identical copies. So
        -- documents are read and hashed for these rows alone, and joined by their hashes.
        SELECT dataset FROM cr WHERE status_a = 200 AND status_b = 200 AND rt_a IS DISTINCT FROM rt_b
    ),
    docs_a AS (SELECT dataset, md5(croissant) AS h FROM cur_cr
               WHERE status = 200 AND dataset IN (SELECT dataset FROM refetched)),
    docs_b AS (SELECT dataset, md5(croissant) AS h FROM prev_cr
               WHERE status = 200 AND dataset IN (SELECT dataset FROM refetched)),
    docs AS (
        SELECT a.dataset, b.h AS doc_b, a.h AS doc_a
        FROM docs_a a JOIN docs_b b ON a.dataset = b.dataset
        WHERE a.h IS DISTINCT FROM b.h
    )
    SELECT dataset, 'created' AS change, NULL AS before, sha_a AS after
      FROM j WHERE in_cur AND NOT in_prev
    UNION ALL SELECT dataset, 'deleted', sha_b, NULL FROM j WHERE in_prev AND NOT in_cur
    UNION ALL SELECT dataset, 'updated', sha_b, sha_a FROM both_sides
      WHERE sha_a IS DISTINCT FROM sha_b
    UNION ALL SELECT dataset, 'license_changed', license_b, license_a FROM both_sides
      WHERE license_a IS DISTINCT FROM license_b
    UNION ALL SELECT dataset, 'gated_changed', gated_b, gated_a FROM both_sides
      WHERE gated_a IS DISTINCT FROM gated_b
    UNION ALL SELECT dataset, 'disabled_changed', CAST(disabled_b AS VARCHAR),
      CAST(disabled_a AS VARCHAR) FROM both_sides WHERE disabled_a IS DISTINCT FROM disabled_b
    UNION ALL SELECT dataset, 'downloads_jump', CAST(downloads_b AS VARCHAR),
      CAST(downloads_a AS VARCHAR) FROM both_sides
      WHERE downloads_a >= {float(factor)!r} * coalesce(downloads_b, 0)
        AND downloads_a - coalesce(downloads_b, 0) >= {MIN_DOWNLOADS_JUMP}
    UNION ALL SELECT dataset, 'croissant_appeared', CAST(status_b AS VARCHAR), '200' FROM cr
      WHERE status_a = 200 AND status_b IS DISTINCT FROM 200
    UNION ALL SELECT dataset, 'croissant_disappeared', '200', CAST(status_a AS VARCHAR) FROM cr
      WHERE status_b = 200 AND status_a IS DISTINCT FROM 200
    UNION ALL SELECT dataset, 'croissant_status_changed', CAST(status_b AS VARCHAR),
      CAST(status_a AS VARCHAR) FROM cr
      WHERE status_a IS DISTINCT FROM status_b
        AND status_a IS DISTINCT FROM 200 AND status_b IS DISTINCT FROM 200
    UNION ALL SELECT dataset, 'croissant_changed', doc_b, doc_a FROM docs
    ORDER BY dataset, change
    """


def diff_days(
    store: LakeStore, date: str, previous_date: str, *, downloads_factor: float = 2.0
) -> pa.Table:
    """The events between `previous_date` and `date` (columns dataset, change, before, after),
    sorted by dataset and kind. Both days must have both input tables."""
    import duckdb

    if not downloads_factor > 1.0:
        raise ValueError(f"downloads_factor={downloads_factor!r} must be > 1")
    con = duckdb.connect(":memory:", config={"memory_limit": "1GB"})
    try:
        for table, prefix in (("hf_datasets", "ds"), ("hf_croissant", "cr")):
            register_partition(con, store, table, date, f"cur_{prefix}")
            register_partition(con, store, table, previous_date, f"prev_{prefix}")
        return con.sql(_events_sql(downloads_factor)).to_arrow_table()
    finally:
        con.close()


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(CHANGE_KINDS, 0)


def compute_changes(
    store: LakeStore,
    date: str,
    *,
    downloads_factor: float = 2.0,
    audit: Audit | None = None,
) -> ChangesResult:
    """Write day `date` of `hf_dataset_changes` (write-audit-publish through `audit`).

    The first day of a lake (no earlier snapshot) gets an empty partition: nothing to compare
    with is not the same as "not computed", and downstream readers see the day exists.
    """
    validate_date(date)
    for table in INPUTS:
        if not store.exists(table, date):
            raise FileNotFoundError(
                f"{TABLE} {date}: no {table} partition for {date} "
                f"({store.url(store.part_path(table, date))}); materialize {table} first"
            )
    previous = previous_snapshot(store, date)
    result = ChangesResult(date=date, previous_date=previous, counts=empty_counts())
    with store.writer(TABLE, date, audit=audit) as writer:
        if previous is not None:
            events = diff_days(store, date, previous, downloads_factor=downloads_factor)
            prev_col = pa.array([Date.fromisoformat(previous)] * events.num_rows, pa.date32())
            events = events.append_column("previous_date", prev_col)
            writer.write(events.cast(HF_DATASET_CHANGES))
            for kind, n in _count(events).items():
                result.counts[kind] = n
    result.write = writer.result
    result.rows = writer.rows
    return result


def _count(events: pa.Table) -> dict[str, int]:
    if events.num_rows == 0:
        return {}
    counts = events.column("change").value_counts().to_pylist()
    return {item["values"]: item["counts"] for item in counts}


def counts_of(store: LakeStore, date: str) -> dict[str, int]:
    """Events per kind in a stored day of `hf_dataset_changes` (every kind, zeros included)."""
    counts = empty_counts()
    table = store.read_table(TABLE, date, columns=["change"])
    counts.update(_count(table))
    return counts
