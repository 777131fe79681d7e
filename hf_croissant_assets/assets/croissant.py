"""The Croissant side of the graph: the day's records (fetched or carried), then `hf_croissant`."""

import asyncio

from dagster import AssetExecutionContext, AssetIn, MaterializeResult, MetadataValue, asset

from hf_croissant_assets.assets.checks import check_specs, curate_audited
from hf_croissant_assets.assets.listing import hf_datasets
from hf_croissant_assets.bootstrap import bootstrap_croissant_records
from hf_croissant_assets.crawl import crawl_croissant
from hf_croissant_assets.derive import curate_croissant
from hf_croissant_assets.lake.io_manager import LakePartition
from hf_croissant_assets.partitions import daily_partitions
from hf_croissant_assets.resources import CrawlSettings, HubResource, LakeResource


@asset(
    partitions_def=daily_partitions,
    ins={"hf_dataset_listing": AssetIn()},
    group_name="hub",
    kinds={"python", "parquet"},
    description="One row per listed dataset with its Croissant document: fetched today where "
    "needed (new, changed, failed, stalest; within the run's budget), else carried forward "
    "from the newest earlier snapshot. Raw, in `<lake>/_raw/croissant_records/date=D/`. "
    "Fetches from the Hub: today's partition only. Resumable from `_staging/croissant/`.",
)
def croissant_records(
    context: AssetExecutionContext,
    hf_dataset_listing: LakePartition,
    hub: HubResource,
    lake: LakeResource,
    crawl: CrawlSettings,
) -> MaterializeResult:
    date = hub.observable_day(context.partition_key)
    store = lake.store()
    # A new lake (no earlier snapshot) starts from the newest published one, if configured.
    bootstrap: object = "not configured"
    if crawl.bootstrap_repo:
        bootstrap = MetadataValue.json(
            bootstrap_croissant_records(
                store,
                date,
                repo_id=crawl.bootstrap_repo,
                endpoint=hub.endpoint,
                token=hub.token,
                logger=context.log,
            ).as_metadata()
        )

    async def run():
        async with hub.client() as client:
            return await crawl_croissant(
                client,
                store,
                date,
                budget=crawl.budget(),
                refresh_after_days=crawl.refresh_after_days,
                batch_size=crawl.batch_size,
                logger=context.log,
            )

    result = asyncio.run(run())
    stats = result.client_stats
    return MaterializeResult(
        metadata={
            "dagster/row_count": result.rows,
            "previous_snapshot": result.previous_date or "none",
            "fetched_today": result.fetched_today,
            "fetched_this_run": result.fetched_this_run,
            "carried_forward": result.carried_forward,
            "pending": result.pending,
            "plan": MetadataValue.json(result.plan_counts),
            "status_counts": MetadataValue.json(result.status_counts),
            "budget_stopped_by": result.stopped_by or "not reached",
            "requests": stats["requests"],
            "retries": stats["retries"],
            "http_429": stats["http_429"],
            "quota": MetadataValue.json(result.pacing),
            "path": MetadataValue.path(result.write.path),
            "bytes_written": result.write.bytes,
            "wall_s": round(result.wall_s, 2),
            "bootstrap": bootstrap,
        }
    )


@asset(
    partitions_def=daily_partitions,
    deps=[croissant_records, hf_datasets],
    check_specs=check_specs("hf_croissant"),
    group_name="lake",
    kinds={"parquet"},
    description="Curated Croissant table at `<lake>/hf_croissant/date=D/part-0.parquet`: the raw "
    "record plus typed columns parsed from the document. Re-derived from the stored records, "
    "so any day with records can be backfilled (e.g. after a parser fix).",
)
def hf_croissant(context: AssetExecutionContext, lake: LakeResource):
    store = lake.store()
    date = context.partition_key
    if not store.exists("croissant_records", date):
        raise FileNotFoundError(
            f"hf_croissant {date}: no croissant records stored for that day "
            f"({store.url(store.part_path('croissant_records', date))}); records can only be "
            "fetched for today, so this day cannot be produced"
        )
    yield from curate_audited(
        context, store, "hf_croissant", curate_croissant, lake.row_drop_tolerance
    )
