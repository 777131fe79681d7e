"""The daily partitions and the rule that fetching assets can only observe today.

A partition D is "the Hub as seen during UTC day D". The Hub can only be observed now, so a
fetching asset materialized for another day would label today's data with a wrong date; it fails
instead. Everything derived from stored raw data can be backfilled freely.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dagster import DailyPartitionsDefinition

from hf_croissant_assets.lake.store import validate_date


class NotObservableError(Exception):
    """A fetching asset was asked for a day the Hub can no longer be observed in."""


def daily_partitions(start: date) -> DailyPartitionsDefinition:
    """UTC days from `start`; end_offset=1 makes today's (still running) day a partition."""
    return DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC", end_offset=1)


def first_partition_day(start_date: date | None, lake: str, today: date | None = None) -> date:
    """`start_date` when set, else the lake's first day (today on an empty or unreadable lake).

    Days before the lake's first day can never be produced (the Hub can only be observed today),
    so the UI must not offer them as missing work.
    """
    if start_date is not None:
        return start_date
    from hf_croissant_assets.lake.store import LakeStore

    today = today or datetime.now(UTC).date()
    try:
        store = LakeStore(lake)
        days = [d for table in ("raw_listing", "hf_datasets") for d in store.dates(table)]
    except (OSError, ValueError):
        return today  # preflight reports an unusable lake; the definitions still load
    return min([date.fromisoformat(min(days)), today]) if days else today


def observable_day(
    partition_key: str, now: datetime | None = None, grace_hours: float = 2.0
) -> str:
    """Return the key if the Hub can be observed for it now, else raise with the reason.

    Today (UTC) is always observable; yesterday only within `grace_hours` after midnight, so a
    run scheduled just before midnight that starts late still lands in its own day.
    """
    day = date.fromisoformat(validate_date(partition_key))
    now = (now or datetime.now(UTC)).astimezone(UTC)
    today = now.date()
    if day == today:
        return partition_key
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
    if day == today - timedelta(days=1) and now - midnight <= timedelta(hours=grace_hours):
        return partition_key
    raise NotObservableError(
        f"partition {partition_key} cannot be fetched now: the Hub can only be observed as it is "
        f"today ({today.isoformat()} UTC, grace {grace_hours:g} h after midnight), and fetching "
        f"it would label today's data with {partition_key}. Past days are re-derived from the raw "
        f"data already stored: materialize hf_datasets / hf_croissant and the tables for them "
        f"instead of the fetching assets."
    )
