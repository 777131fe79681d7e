"""One `Definitions`, built by a function of the `Settings`.

Importing this module reads no environment variable: Dagster calls `defs()` when it loads the
code location (`dagster dev`, `dagster asset materialize -m hf_croissant_assets.definitions`,
`dg`), and only then are the settings read and validated. Tests call `build_definitions(...)`
with their own `Settings`, several in one process.
"""

from __future__ import annotations

import dagster as dg
from dagster import AssetsDefinition, Definitions, EnvVar

from hf_croissant_assets.defs.explore import build_explore_assets
from hf_croissant_assets.defs.hub import build_hub_assets
from hf_croissant_assets.defs.jobs import build_jobs
from hf_croissant_assets.defs.lake import build_lake_assets
from hf_croissant_assets.defs.partitions import daily_partitions
from hf_croissant_assets.defs.report import build_report_assets
from hf_croissant_assets.defs.resources import (
    AthenaResource,
    CrawlSettings,
    DuckDBResource,
    HfPublishResource,
    HubResource,
    LakeResource,
)
from hf_croissant_assets.defs.schedules import build_daily_schedule
from hf_croissant_assets.defs.share import build_share_assets
from hf_croissant_assets.defs.warehouse import build_warehouse_assets
from hf_croissant_assets.settings import Settings, env_name


def build_resources(settings: Settings) -> dict[str, object]:
    """The resources, from validated settings. Secrets stay `EnvVar`s: resolved at run time,
    shown by name only, never stored."""
    token = EnvVar(env_name("hf_token_set")) if settings.hf_token_set else None
    resources: dict[str, object] = {
        "hub": HubResource(
            endpoint=settings.hf_endpoint,
            token=token,
            concurrency=settings.concurrency,
            max_retries=settings.max_retries,
            grace_hours=settings.grace_hours,
        ),
        "crawl": CrawlSettings(
            max_requests=settings.max_requests,
            max_duration_s=settings.max_duration_s,
            refresh_after_days=settings.refresh_days,
            bootstrap_repo=settings.bootstrap_repo,
        ),
        "lake": LakeResource(uri=settings.lake, row_drop_tolerance=settings.row_drop_tolerance),
        "duckdb": DuckDBResource(path=settings.duckdb),
    }
    if settings.athena_database:
        resources["athena"] = AthenaResource(
            database=settings.athena_database,
            workgroup=settings.athena_workgroup,
            output_location=settings.athena_output,
            region=settings.aws_region,
            projection=settings.athena_projection,
        )
    if settings.publish_repo:
        resources["hf_publish"] = HfPublishResource(
            repo_id=settings.publish_repo,
            token=token,
            endpoint=settings.hf_endpoint,
            license=settings.publish_license,
        )
    return resources


def build_assets(settings: Settings) -> list[AssetsDefinition]:
    """Every asset of this deployment: Athena replaces the DuckDB views in AWS mode; the
    publishing asset exists only with a target repo."""
    partitions = daily_partitions(settings.start_date)
    duckdb_tables, athena_tables = build_warehouse_assets(partitions)
    return [
        *build_hub_assets(partitions),
        *build_lake_assets(partitions),
        athena_tables if settings.athena_database else duckdb_tables,
        *build_report_assets(partitions),
        *build_explore_assets(partitions, settings.explorer_days),
        *(build_share_assets(partitions) if settings.publish_repo else []),
    ]


def build_definitions(settings: Settings) -> Definitions:
    partitions = daily_partitions(settings.start_date)
    jobs = build_jobs(partitions)
    daily_snapshot_job = jobs[0]
    return Definitions(
        assets=build_assets(settings),
        jobs=jobs,
        schedules=[build_daily_schedule(daily_snapshot_job, settings.schedule_hour)],
        resources=build_resources(settings),
    )


@dg.definitions
def defs() -> Definitions:
    """What Dagster loads: the definitions for the settings in the environment."""
    return build_definitions(Settings.from_env())
