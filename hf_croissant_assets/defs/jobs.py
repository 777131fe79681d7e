"""Jobs: the daily snapshot (fetch + derive) and the re-derivation used for backfills."""

from __future__ import annotations

from dagster import AssetSelection, PartitionsDefinition, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

#: The assets that talk to the Hub: they can only produce today's partition.
FETCHING_ASSETS: tuple[str, ...] = ("hf_dataset_listing", "croissant_records")
FETCHING = AssetSelection.assets(*FETCHING_ASSETS)

DAILY_SNAPSHOT = "daily_snapshot"
REDERIVE = "rederive"


def build_jobs(partitions: PartitionsDefinition) -> list[UnresolvedAssetJobDefinition]:
    daily_snapshot_job = define_asset_job(
        DAILY_SNAPSHOT,
        selection=AssetSelection.all(),
        partitions_def=partitions,
        description="Today's snapshot: listing, Croissant records, curated tables, SQL tables, "
        "report.",
    )
    rederive_job = define_asset_job(
        REDERIVE,
        selection=AssetSelection.all() - FETCHING,
        partitions_def=partitions,
        description="Re-derive curated tables, checks, table registrations and reports of past "
        "days from the raw data stored for them (what backfills run). Never calls the Hub; a day "
        "without raw data fails with a message saying so.",
    )
    return [daily_snapshot_job, rederive_job]
