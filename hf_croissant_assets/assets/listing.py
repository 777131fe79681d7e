"""The listing side of the graph: the day's raw listing, then the curated `hf_datasets`."""

import asyncio

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from hf_croissant_assets.assets.checks import check_specs, curate_audited
from hf_croissant_assets.derive import curate_datasets
from hf_croissant_assets.lake.io_manager import DATASET_METADATA_KEY, LakePartition, PartitionOutput
from hf_croissant_assets.listing import clear_staging, crawl_listing, staged_batches
from hf_croissant_assets.partitions import daily_partitions
from hf_croissant_assets.resources import HubResource, LakeResource
from hf_croissant_assets.schema import RAW_LISTING


@asset(
    partitions_def=daily_partitions,
    group_name="hub",
    kinds={"python", "parquet"},
    io_manager_key="lake_io_manager",
    metadata={DATASET_METADATA_KEY: "raw_listing"},
    description="The day's full `GET /api/datasets` listing (all pages), kept raw in "
    "`<lake>/_raw/listing/date=D/` by the lake IO manager. Fetches from the Hub: today's "
    "partition only. Resumable: pages are checkpointed under `_staging/listing/`.",
)
def hf_dataset_listing(context: AssetExecutionContext, hub: HubResource, lake: LakeResource):
    date = hub.observable_day(context.partition_key)
    store = lake.store()

    async def crawl():
        async with hub.client() as client:
            return await crawl_listing(client, store, date, logger=context.log)

    result = asyncio.run(crawl())
    stats = result.client_stats
    return Output(
        PartitionOutput(
            batches=staged_batches(store, date),
            schema=RAW_LISTING,
            on_published=lambda: clear_staging(store, date),
        ),
        metadata={
            "pages": result.pages,
            "resumed_from_page": result.resumed_from_page,
            "requests": stats["requests"],
            "retries": stats["retries"],
            "http_429": stats["http_429"],
            "by_status": MetadataValue.json(stats["by_status"]),
        },
    )


@asset(
    partitions_def=daily_partitions,
    check_specs=check_specs("hf_datasets"),
    group_name="lake",
    kinds={"parquet"},
    description="Curated listing table (seed schema, ARCHITECTURE §4) at "
    "`<lake>/hf_datasets/date=D/part-0.parquet`. Re-derived from the stored raw listing, so any "
    "day with raw data can be backfilled.",
)
def hf_datasets(
    context: AssetExecutionContext, hf_dataset_listing: LakePartition, lake: LakeResource
):
    # The raw listing arrives as an input (the IO manager checked it exists for the day).
    yield from curate_audited(
        context, lake.store(), "hf_datasets", curate_datasets, lake.row_drop_tolerance
    )
