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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from hf_croissant_assets.hub.client import RETRY_STATUSES
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import CROISSANT_RECORDS
from hf_croissant_assets.settings import DEFAULT_REFRESH_DAYS

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
class Plan:
    """Today's work: the listing, the ordered fetch candidates and where old rows come from."""

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
    return raw.select(
        pl.col("id").alias("dataset"),
        pl.col("item").str.json_path_match("$.sha").alias("sha"),
        pl.col("item")
        .str.json_path_match("$.lastModified")
        .str.to_datetime(time_unit="ms", time_zone="UTC", strict=False)
        .alias("last_modified"),
        pl.col("item")
        .str.json_path_match("$.createdAt")
        .str.to_datetime(time_unit="ms", time_zone="UTC", strict=False)
        .alias("created_at"),
    ).unique("dataset", keep="first", maintain_order=True)


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
    store: LakeStore, date: str, tolerance: float = 0.2, logger: logging.Logger | Any = log
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


def plan_day(
    store: LakeStore,
    date: str,
    *,
    refresh_after_days: float = DEFAULT_REFRESH_DAYS,
    recheck_unavailable_days: float = 3.0,
    now: datetime | None = None,
    tolerance: float = 0.2,
) -> Plan:
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
    return Plan(date, previous_date, listing, candidates, counts)


def assemble_day(
    store: LakeStore,
    plan: Plan,
    fetched: Iterator[pa.Table],
    batch_size: int = 4096,
) -> Iterator[pa.Table]:
    """Yield the day's complete `croissant_records`: fetched rows, carried rows, pending rows.

    Streams: the previous snapshot's documents are read in bounded batches and filtered by id,
    never loaded whole. Each listed dataset appears exactly once.
    """
    listed = set(plan.listing["dataset"].to_list())
    written: set[str] = set()
    for table in fetched:
        ids = table.column("dataset").to_pylist()
        keep = [i for i, d in enumerate(ids) if d in listed and d not in written]
        kept = table.take(keep) if len(keep) != len(ids) else table
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
                    table = table.take(keep)
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
