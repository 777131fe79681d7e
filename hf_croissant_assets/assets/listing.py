"""The listing side of the graph: the day's raw listing, then the curated `hf_datasets`."""

import asyncio

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from hf_croissant_assets.assets.checks import Auditor, check_specs
from hf_croissant_assets.assets.metadata import table_metadata
from hf_croissant_assets.derive import curate_datasets
from hf_croissant_assets.listing import crawl_listing
from hf_croissant_assets.partitions import daily_partitions
from hf_croissant_assets.quality import AuditFailed
from hf_croissant_assets.resources import HubResource, LakeResource
from hf_croissant_assets.schema import HF_DATASETS


@asset(
    partitions_def=daily_partitions,
    group_name="hub",
    kinds={"python", "parquet"},
    description="The day's full `GET /api/datasets` listing (all pages), kept raw in "
    "`<lake>/_raw/listing/date=D/`. Fetches from the Hub: today's partition only.",
)
def hf_dataset_listing(
    context: AssetExecutionContext, hub: HubResource, lake: LakeResource
) -> MaterializeResult:
    date = hub.observable_day(context.partition_key)
    store = lake.store()

    async def crawl():
        async with hub.client() as client:
            return await crawl_listing(client, store, date, logger=context.log)

    result = asyncio.run(crawl())
    stats = result.client_stats
    return MaterializeResult(
        metadata={
            "dagster/row_count": result.rows,
            "pages": result.pages,
            "resumed_from_page": result.resumed_from_page,
            "path": MetadataValue.path(result.write.path),
            "bytes_written": result.write.bytes,
            "requests": stats["requests"],
            "retries": stats["retries"],
            "http_429": stats["http_429"],
            "by_status": MetadataValue.json(stats["by_status"]),
        }
    )


@asset(
    partitions_def=daily_partitions,
    deps=[hf_dataset_listing],
    check_specs=check_specs("hf_datasets"),
    group_name="lake",
    kinds={"parquet"},
    description="Curated listing table (seed schema, ARCHITECTURE §4) at "
    "`<lake>/hf_datasets/date=D/part-0.parquet`. Re-derived from the stored raw listing, so any "
    "day with raw data can be backfilled.",
)
def hf_datasets(context: AssetExecutionContext, lake: LakeResource):
    store = lake.store()
    date = context.partition_key
    if not store.exists("raw_listing", date):
        raise FileNotFoundError(
            f"hf_datasets {date}: no raw listing stored for that day "
            f"({store.url(store.part_path('raw_listing', date))}); the listing can only be "
            "fetched for today, so this day cannot be produced"
        )
    auditor = Auditor(store, "hf_datasets", date, lake.row_drop_tolerance)
    try:
        result = curate_datasets(store, date, audit=auditor)
    except AuditFailed as exc:
        yield from auditor.fail(exc)
        return
    context.log.info(f"hf_datasets {date}: {result.rows} rows -> {result.path}")
    yield MaterializeResult(
        metadata=table_metadata(store, "hf_datasets", date, result, HF_DATASETS),
        check_results=auditor.results(),
    )
