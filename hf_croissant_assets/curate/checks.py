"""Data-quality checks on a partition file: plain functions, no Dagster.

The assets run them on the new file *before* it is published (write-audit-publish, see
`LakeStore.writer(audit=...)`), report each as a Dagster asset check, and publish only if every
blocking check passed; they can also be run on any stored partition (`audit_partition`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import LAKE_DATASETS, TABLES, strip_field_metadata


@dataclass(frozen=True)
class Check:
    """One blocking check of a lake table: its name and what it guarantees (shown in the UI)."""

    name: str
    description: str


SCHEMA_MATCHES = Check(
    "schema_matches", "The written parquet schema equals the declared one (schema.py)."
)
DATASET_UNIQUE = Check("dataset_unique", "`dataset` is unique and non-null.")
ROW_COUNT_VS_PREVIOUS = Check(
    "row_count_vs_previous",
    "Row count has not dropped beyond the tolerance vs. the newest earlier snapshot.",
)
ROWS_MATCH_LISTING = Check(
    "rows_match_listing", "hf_croissant has exactly one row per hf_datasets row of the day."
)

KEY_UNIQUE = Check(
    "key_unique",
    "The table's key columns (schema.py `LakeDataset.key`) are unique together and non-null.",
)
ROWS_BELONG_TO_DAY = Check(
    "rows_belong_to_day",
    "Every row's `dataset` is a dataset of the day's hf_croissant partition.",
)
EVENTS_MATCH_SNAPSHOTS = Check(
    "events_match_snapshots",
    "Every event's dataset exists on the side it claims: `created` only on the day, `deleted` "
    "only on previous_date, every other kind on both; kinds are known, previous_date is the "
    "newest earlier snapshot.",
)

#: The checks of each table, declared once: `audit` runs exactly these, the assets declare them.
CHECKS: dict[str, tuple[Check, ...]] = {
    "hf_datasets": (SCHEMA_MATCHES, DATASET_UNIQUE, ROW_COUNT_VS_PREVIOUS),
    "hf_croissant": (SCHEMA_MATCHES, DATASET_UNIQUE, ROW_COUNT_VS_PREVIOUS, ROWS_MATCH_LISTING),
    "hf_dataset_changes": (SCHEMA_MATCHES, KEY_UNIQUE, EVENTS_MATCH_SNAPSHOTS),
    "hf_croissant_fields": (SCHEMA_MATCHES, KEY_UNIQUE, ROWS_BELONG_TO_DAY),
    "hf_croissant_files": (SCHEMA_MATCHES, KEY_UNIQUE, ROWS_BELONG_TO_DAY),
    "croissant_validation": (SCHEMA_MATCHES, DATASET_UNIQUE, ROWS_BELONG_TO_DAY),
}


@dataclass
class CheckOutcome:
    name: str
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


class AuditFailed(Exception):
    """A blocking check failed: the partition was not published."""

    def __init__(self, outcomes: list[CheckOutcome]) -> None:
        self.outcomes = outcomes
        failed = [o for o in outcomes if not o.passed]
        super().__init__(
            "not published, blocking check(s) failed: "
            + "; ".join(f"{o.name}: {o.description}" for o in failed)
        )


def schema_matches(parquet: pq.ParquetFile, declared: pa.Schema) -> CheckOutcome:
    written = strip_field_metadata(parquet.schema_arrow)
    expected = strip_field_metadata(declared)
    if written == expected:
        return CheckOutcome(SCHEMA_MATCHES.name, True, "written schema equals the declared schema")
    diffs = []
    names_w, names_e = written.names, expected.names
    for name in names_e:
        if name not in names_w:
            diffs.append(f"missing column {name}")
        elif written.field(name).type != expected.field(name).type:
            diffs.append(
                f"{name}: {written.field(name).type} != declared {expected.field(name).type}"
            )
    diffs += [f"unexpected column {n}" for n in names_w if n not in names_e]
    if not diffs and names_w != names_e:
        diffs.append("column order differs")
    return CheckOutcome(
        SCHEMA_MATCHES.name, False, "; ".join(diffs[:10]), {"differences": len(diffs)}
    )


@dataclass
class KeyCounts:
    """What the uniqueness checks found: distinct non-null keys, surplus rows, null keys."""

    distinct: int = 0
    duplicates: int = 0
    nulls: int = 0
    examples: list[str] = field(default_factory=list)

    def add_groups(self, table: pa.Table, key: tuple[str, ...]) -> None:
        """Group `table` (non-null keys) by `key` in Arrow: no Python object per row."""
        if not table.num_rows:
            return
        groups = table.group_by(list(key)).aggregate([([], "count_all")])
        repeated = groups.filter(pc.greater(groups.column("count_all"), 1))
        self.distinct += groups.num_rows
        self.duplicates += (pc.sum(repeated.column("count_all")).as_py() or 0) - repeated.num_rows
        for row in repeated.slice(0, max(0, 5 - len(self.examples))).to_pylist():
            self.examples.append(" / ".join(str(row[name]) for name in key))


def _without_nulls(table: pa.Table, key: tuple[str, ...], counts: KeyCounts) -> pa.Table:
    null_mask = None
    for name in key:
        column_nulls = pc.is_null(table.column(name))
        null_mask = column_nulls if null_mask is None else pc.or_(null_mask, column_nulls)
    nulls = (pc.sum(null_mask).as_py() or 0) if null_mask is not None else 0
    counts.nulls += nulls
    return table.filter(pc.invert(null_mask)) if nulls else table


def count_keys(
    parquet: pq.ParquetFile, key: tuple[str, ...], batch_size: int = 65_536
) -> KeyCounts:
    """Distinct, duplicated and null `key`s of a partition file, in memory that does not grow
    with the file when it is sorted by `key[0]` (every lake table is written sorted by its
    sort key, the first key column): equal keys then share a `key[0]` value, so only the rows of
    the value that straddles a batch boundary are carried over. A file that turns out not to be
    sorted (an older partition) is counted again in one grouping of the whole key columns."""
    counts = KeyCounts()
    carry: pa.Table | None = None
    last: Any = None
    for batch in parquet.iter_batches(columns=list(key), batch_size=batch_size):
        table = _without_nulls(pa.Table.from_batches([batch]), key, counts)
        if not table.num_rows:
            continue
        lead = table.column(key[0]).combine_chunks()
        first = lead[0].as_py()
        in_order = last is None or first >= last
        if in_order and len(lead) > 1:
            in_order = bool(
                pc.all(pc.less_equal(lead.slice(0, len(lead) - 1), lead.slice(1))).as_py()
            )
        if not in_order:
            return _count_keys_whole(parquet, key)
        last = lead[len(lead) - 1].as_py()
        if carry is not None:
            table = pa.concat_tables([carry, table])
            lead = table.column(key[0]).combine_chunks()
        # rows of the batch's last lead value may continue in the next batch: carried
        tail_start = len(lead) - (pc.sum(pc.equal(lead, pa.scalar(last, lead.type))).as_py() or 0)
        counts.add_groups(table.slice(0, tail_start), key)
        carry = table.slice(tail_start)
    if carry is not None:
        counts.add_groups(carry, key)
    return counts


def _count_keys_whole(parquet: pq.ParquetFile, key: tuple[str, ...]) -> KeyCounts:
    counts = KeyCounts()
    counts.add_groups(_without_nulls(parquet.read(columns=list(key)), key, counts), key)
    return counts


def dataset_unique(parquet: pq.ParquetFile, column: str = "dataset") -> CheckOutcome:
    """`dataset` is non-null and unique (see `count_keys`: streamed, never the whole file)."""
    counts = count_keys(parquet, (column,))
    passed = counts.nulls == 0 and counts.duplicates == 0
    description = (
        f"{counts.distinct} distinct non-null {column} values"
        if passed
        else f"{counts.duplicates} duplicated and {counts.nulls} null {column} values "
        f"(e.g. {counts.examples[:3]})"
    )
    return CheckOutcome(
        DATASET_UNIQUE.name,
        passed,
        description,
        {
            "nulls": counts.nulls,
            "duplicates": counts.duplicates,
            "examples": ", ".join(counts.examples),
        },
    )


def key_unique(parquet: pq.ParquetFile, key: tuple[str, ...]) -> CheckOutcome:
    """The key columns are unique together and never null (see `count_keys`: grouped in Arrow,
    batch by batch on a sorted file; the fields table has millions of rows a day)."""
    counts = count_keys(parquet, key)
    passed = counts.nulls == 0 and counts.duplicates == 0
    what = ", ".join(key)
    description = (
        f"{counts.distinct} distinct ({what}) keys"
        if passed
        else f"{counts.duplicates} duplicated and {counts.nulls} null ({what}) keys "
        f"(e.g. {counts.examples[:3]})"
    )
    return CheckOutcome(
        KEY_UNIQUE.name,
        passed,
        description,
        {
            "nulls": counts.nulls,
            "duplicates": counts.duplicates,
            "examples": ", ".join(counts.examples),
        },
    )


def rows_belong_to_day(parquet: pq.ParquetFile, day_datasets: pa.Array | None) -> CheckOutcome:
    """Every `dataset` value is one of the day's `hf_croissant` datasets (vectorised `is_in`)."""
    if day_datasets is None:
        return CheckOutcome(
            ROWS_BELONG_TO_DAY.name, False, "no hf_croissant partition for the day to compare with"
        )
    strangers = 0
    examples: list[str] = []
    for batch in parquet.iter_batches(columns=["dataset"], batch_size=262_144):
        column = batch.column(0)
        inside = pc.fill_null(pc.is_in(column, value_set=day_datasets), False)
        outside = column.filter(pc.invert(inside))
        strangers += len(outside)
        examples += [str(v) for v in outside.slice(0, 5 - len(examples)).to_pylist()]
    return CheckOutcome(
        ROWS_BELONG_TO_DAY.name,
        strangers == 0,
        "every row belongs to a dataset of the day"
        if strangers == 0
        else f"{strangers} row(s) of datasets not in the day's hf_croissant (e.g. {examples[:3]})",
        {"strangers": strangers, "examples": ", ".join(examples)},
    )


def _day_datasets(store: LakeStore, date: str) -> pa.Array | None:
    if not store.exists("hf_croissant", date):
        return None
    column = store.read_table("hf_croissant", date, columns=["dataset"]).column("dataset")
    return column.combine_chunks().drop_null()


def row_count_vs_previous(
    rows: int, previous_rows: int | None, previous_date: str | None, tolerance: float
) -> CheckOutcome:
    if previous_rows is None:
        return CheckOutcome(
            ROW_COUNT_VS_PREVIOUS.name, True, f"{rows} rows; no earlier snapshot to compare",
            {"rows": rows},
        )  # fmt: skip
    floor = int(previous_rows * (1 - tolerance))
    drop = (previous_rows - rows) / previous_rows if previous_rows else 0.0
    passed = rows >= floor
    return CheckOutcome(
        ROW_COUNT_VS_PREVIOUS.name,
        passed,
        f"{rows} rows vs {previous_rows} on {previous_date} (drop {drop:.1%}, tolerated "
        f"{tolerance:.0%})",
        {"rows": rows, "previous_rows": previous_rows, "previous_date": previous_date,
         "drop": round(drop, 4)},
    )  # fmt: skip


def rows_match_listing(rows: int, listing_rows: int | None) -> CheckOutcome:
    if listing_rows is None:
        return CheckOutcome(
            ROWS_MATCH_LISTING.name, False, "no hf_datasets partition for the day to compare with"
        )
    return CheckOutcome(
        ROWS_MATCH_LISTING.name,
        rows == listing_rows,
        f"{rows} hf_croissant rows vs {listing_rows} hf_datasets rows",
        {"rows": rows, "listing_rows": listing_rows},
    )


def events_match_snapshots(store: LakeStore, date: str, parquet: pq.ParquetFile) -> CheckOutcome:
    """Each event of a `hf_dataset_changes` file against the two `hf_datasets` snapshots."""
    import duckdb

    from hf_croissant_assets.curate.changes import previous_snapshot, register_partition
    from hf_croissant_assets.schema import CHANGE_KINDS

    name = EVENTS_MATCH_SNAPSHOTS.name
    events = parquet.read(columns=["dataset", "change", "previous_date"])
    expected_prev = previous_snapshot(store, date)
    prevs = {d.isoformat() for d in events.column("previous_date").unique().to_pylist() if d}
    if events.num_rows == 0:
        return CheckOutcome(name, True, "no events", {"events": 0})
    if prevs != {expected_prev} or None in events.column("previous_date").to_pylist():
        return CheckOutcome(
            name,
            False,
            f"previous_date values {sorted(prevs)} != the newest earlier snapshot {expected_prev}",
            {"events": events.num_rows},
        )
    assert expected_prev is not None
    con = duckdb.connect(":memory:")
    try:
        con.register("events", events)
        register_partition(con, store, "hf_datasets", date, "cur_ds")
        register_partition(con, store, "hf_datasets", expected_prev, "prev_ds")
        kinds = ", ".join("'" + k + "'" for k in CHANGE_KINDS)
        bad = con.execute(
            f"""
            WITH e AS (
                SELECT dataset, change,
                       dataset IN (SELECT dataset FROM cur_ds) AS on_day,
                       dataset IN (SELECT dataset FROM prev_ds) AS on_prev
                FROM events)
            SELECT dataset, change FROM e
            WHERE dataset IS NULL OR change IS NULL OR change NOT IN ({kinds})
               OR NOT CASE change WHEN 'created' THEN on_day AND NOT on_prev
                                  WHEN 'deleted' THEN on_prev AND NOT on_day
                                  ELSE on_day AND on_prev END
            ORDER BY dataset LIMIT 1000
            """
        ).fetchall()
    finally:
        con.close()
    if bad:
        examples = ", ".join(f"{c}:{d}" for d, c in bad[:3])
        return CheckOutcome(
            name,
            False,
            f"{len(bad)}{'+' if len(bad) == 1000 else ''} event(s) whose dataset is not on the "
            f"side the kind claims (e.g. {examples})",
            {"events": events.num_rows, "mismatched": len(bad)},
        )
    return CheckOutcome(
        name,
        True,
        f"all {events.num_rows} events match hf_datasets on {date} and {expected_prev}",
        {"events": events.num_rows, "previous_date": expected_prev},
    )


def audit(
    store: LakeStore,
    table: str,
    date: str,
    parquet: pq.ParquetFile,
    tolerance: float,
) -> list[CheckOutcome]:
    """Every check of `table` on a (new or stored) partition file of day `date`."""
    rows = parquet.metadata.num_rows
    outcomes: list[CheckOutcome] = []
    for check in CHECKS[table]:
        if check is SCHEMA_MATCHES:
            outcomes.append(schema_matches(parquet, TABLES[table]))
        elif check is DATASET_UNIQUE:
            outcomes.append(dataset_unique(parquet))
        elif check is KEY_UNIQUE:
            outcomes.append(key_unique(parquet, LAKE_DATASETS[table].key))
        elif check is ROW_COUNT_VS_PREVIOUS:
            previous_date = store.newest_before(table, date)
            previous_rows = store.num_rows(table, previous_date) if previous_date else None
            outcomes.append(row_count_vs_previous(rows, previous_rows, previous_date, tolerance))
        elif check is ROWS_MATCH_LISTING:
            listing_rows = (
                store.num_rows("hf_datasets", date) if store.exists("hf_datasets", date) else None
            )
            outcomes.append(rows_match_listing(rows, listing_rows))
        elif check is EVENTS_MATCH_SNAPSHOTS:
            outcomes.append(events_match_snapshots(store, date, parquet))
        elif check is ROWS_BELONG_TO_DAY:
            outcomes.append(rows_belong_to_day(parquet, _day_datasets(store, date)))
        else:  # pragma: no cover - a check declared without an implementation
            raise NotImplementedError(f"check {check.name} of {table} has no implementation")
    return outcomes


def audit_partition(
    store: LakeStore, table: str, date: str, tolerance: float
) -> list[CheckOutcome]:
    """The same checks on a partition already in the lake."""
    return audit(store, table, date, store.parquet_file(table, date), tolerance)
