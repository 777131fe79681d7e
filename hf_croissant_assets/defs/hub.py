"""The assets that talk to the Hub: the day's raw listing and the day's Croissant records.

Both can only produce today's partition (`observable_day`), both run in the `hf_hub` pool so
that no two runs share the Hub's rate limit, and both write through the lake store.
"""

import asyncio

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from hf_croissant_assets.defs.resources import CrawlSettings, HubResource, LakeResource
from hf_croissant_assets.ingest.croissant_crawl import crawl_croissant
from hf_croissant_assets.ingest.listing_crawl import crawl_listing, publish_listing
from hf_croissant_assets.lake.lease import day_lease
from hf_croissant_assets.share.bootstrap import bootstrap_croissant_records

#: The Dagster concurrency pool of every asset that sends requests to the Hub (limit 1 in
#: dagster.yaml): the runs of the CLI, the UI and the schedule never share the rate limit.
HUB_POOL = "hf_hub"


def build_hub_assets(partitions: PartitionsDefinition) -> list[AssetsDefinition]:
    @asset(
        partitions_def=partitions,
        group_name="hub",
        kinds={"python", "parquet"},
        pool=HUB_POOL,
        description="The day's full `GET /api/datasets` listing (all pages), kept raw in "
        "`<lake>/_raw/listing/date=D/`. Fetches from the Hub: today's partition only. "
        "Resumable: pages are checkpointed under `_staging/listing/`.",
    )
    def hf_dataset_listing(
        context: AssetExecutionContext, hub: HubResource, lake: LakeResource
    ) -> MaterializeResult:
        date = hub.observable_day(context.partition_key)
        store = lake.store()

        async def crawl():
            async with hub.client() as client:
                return await crawl_listing(
                    client,
                    store,
                    date,
                    include_private=hub.include_private,
                    logger=context.log,
                )

        # One crawl per day, whatever started it (CLI, UI, schedule, `dagster asset materialize`).
        with day_lease(store, date):
            result = asyncio.run(crawl())
            written = publish_listing(
                store,
                date,
                result.rows,
                tolerance=lake.row_drop_tolerance,
                override=hub.listing_shrink_override,
            )
        stats = result.client_stats
        return MaterializeResult(
            metadata={
                "dagster/row_count": written.rows,
                "path": MetadataValue.path(written.path),
                "bytes_written": written.bytes,
                "pages": result.pages,
                "excluded_private": result.excluded_private,
                "resumed_from_page": result.resumed_from_page,
                "requests": stats["requests"],
                "retries": stats["retries"],
                "http_429": stats["http_429"],
                "by_status": MetadataValue.json(stats["by_status"]),
            }
        )

    @asset(
        partitions_def=partitions,
        deps=[hf_dataset_listing],
        group_name="hub",
        kinds={"python", "parquet"},
        pool=HUB_POOL,
        description="One row per listed dataset with its Croissant document: fetched today "
        "where needed (new, changed, failed, stalest; within the run's budget), else carried "
        "forward from the newest earlier snapshot. Raw, in `<lake>/_raw/croissant_records/"
        "date=D/`. Fetches from the Hub: today's partition only. Resumable from "
        "`_staging/croissant/`.",
    )
    def croissant_records(
        context: AssetExecutionContext,
        hub: HubResource,
        lake: LakeResource,
        crawl: CrawlSettings,
    ) -> MaterializeResult:
        date = hub.observable_day(context.partition_key)
        store = lake.store()
        if not store.exists("raw_listing", date):
            raise FileNotFoundError(
                f"croissant_records {date}: no raw listing stored for that day "
                f"({store.url(store.part_path('raw_listing', date))}); materialize "
                "hf_dataset_listing first"
            )
        # One crawl per day: the lease covers the bootstrap import and the whole fetch.
        with day_lease(store, date):
            # A new lake (no earlier snapshot) starts from the newest published one, if configured.
            bootstrap: MetadataValue | str = "not configured"
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
                        tolerance=lake.row_drop_tolerance,
                        recheck_unavailable_days=crawl.recheck_unavailable_days,
                        logger=context.log,
                        progress_every_s=crawl.progress_s,
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

    return [hf_dataset_listing, croissant_records]
