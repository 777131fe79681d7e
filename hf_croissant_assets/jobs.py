"""Jobs: the daily snapshot (fetch + derive) and the re-derivation used for backfills."""

from dagster import AssetSelection, define_asset_job

from hf_croissant_assets.partitions import daily_partitions

#: The assets that talk to the Hub: they can only produce today's partition.
FETCHING = AssetSelection.assets("hf_dataset_listing", "croissant_records")

daily_snapshot_job = define_asset_job(
    "daily_snapshot",
    selection=AssetSelection.all(),
    partitions_def=daily_partitions,
    tags={"hf_croissant/hub": "fetch"},
    description="Today's snapshot: listing, Croissant records, curated tables, SQL tables, report.",
)

rederive_job = define_asset_job(
    "rederive",
    selection=AssetSelection.all() - FETCHING,
    partitions_def=daily_partitions,
    description="Re-derive curated tables, checks, table registrations and reports of past days "
    "from the raw data stored for them (what backfills run). Never calls the Hub; a day without "
    "raw data fails with a message saying so.",
)
