"""The daily snapshot job: every asset, one partition (day) per run."""

from dagster import AssetSelection, define_asset_job

from hf_croissant_assets.partitions import daily_partitions

daily_snapshot_job = define_asset_job(
    "daily_snapshot",
    selection=AssetSelection.all(),
    partitions_def=daily_partitions,
    tags={"hf_croissant/hub": "fetch"},
    description="Today's snapshot: listing, Croissant records, curated tables, SQL tables.",
)
