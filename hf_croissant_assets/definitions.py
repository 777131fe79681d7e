"""One `Definitions`, built by a function of the `Settings`.

Importing this module reads no environment variable: Dagster calls `defs()` when it loads the
code location (`dagster dev`, `dagster asset materialize -m hf_croissant_assets.definitions`,
`dg`), and only then are the settings read and validated. Tests call `build_definitions(...)`
with their own `Settings`, several in one process.
"""

from __future__ import annotations

import dagster as dg
from dagster import AssetsDefinition, Definitions, EnvVar

from hf_croissant_assets.defs.alerts import (
    AlertResource,
    build_alert_sensors,
    with_freshness,
)
from hf_croissant_assets.defs.changes import build_changes_assets
from hf_croissant_assets.defs.croissant_depth import build_croissant_depth_assets
from hf_croissant_assets.defs.explore import build_explore_assets
from hf_croissant_assets.defs.hub import build_hub_assets
from hf_croissant_assets.defs.jobs import build_jobs
from hf_croissant_assets.defs.lake import build_lake_assets
from hf_croissant_assets.defs.partitions import daily_partitions, first_partition_day
from hf_croissant_assets.defs.report import build_report_assets
from hf_croissant_assets.defs.resources import (
    AthenaResource,
    CrawlSettings,
    DuckDBResource,
    HfPublishResource,
    HubResource,
    LakeResource,
    ValidatorSettings,
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
            max_body_bytes=settings.max_body_bytes,
            max_pause_s=settings.max_pause_s,
            include_private=settings.include_private,
            listing_shrink_override=settings.listing_shrink_override,
            preflight_settings=settings.model_dump_json(),
        ),
        "crawl": CrawlSettings(
            max_requests=settings.max_requests,
            max_duration_s=settings.max_duration_s,
            refresh_after_days=settings.refresh_days,
            bootstrap_repo=settings.bootstrap_repo,
            recheck_unavailable_days=settings.recheck_unavailable_days,
            progress_s=settings.progress_s,
        ),
        "lake": LakeResource(uri=settings.lake, row_drop_tolerance=settings.row_drop_tolerance),
        "duckdb": DuckDBResource(path=settings.duckdb),
        "validator": ValidatorSettings(
            workers=settings.validation_workers,
            timeout_s=settings.validation_timeout_s,
            max_docs=settings.validation_max_docs,
        ),
    }
    if settings.alert_webhook_set:
        resources["alerts"] = AlertResource(
            webhook_url=EnvVar(env_name("alert_webhook_set")), watch=settings.alert_watch
        )
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
            gated_documents=settings.publish_gated_documents,
        )
    return resources


def build_assets(settings: Settings) -> list[AssetsDefinition]:
    """Every asset of this deployment: Athena replaces the DuckDB views in AWS mode; the
    publishing asset exists only with a target repo."""
    partitions = daily_partitions(first_partition_day(settings.start_date, settings.lake))
    duckdb_tables, athena_tables = build_warehouse_assets(partitions)
    return [
        *build_hub_assets(partitions),
        *build_lake_assets(partitions),
        *build_changes_assets(partitions, settings.downloads_jump_factor),
        *build_croissant_depth_assets(partitions),
        athena_tables if settings.athena_database else duckdb_tables,
        *build_report_assets(partitions),
        *build_explore_assets(partitions, settings.explorer_days),
        *(
            build_share_assets(
                partitions, settings.explorer_days if settings.publish_explorer else None
            )
            if settings.publish_repo
            else []
        ),
    ]


def build_definitions(settings: Settings) -> Definitions:
    partitions = daily_partitions(first_partition_day(settings.start_date, settings.lake))
    jobs = build_jobs(partitions)
    daily_snapshot_job = jobs[0]
    alert_sensors = build_alert_sensors() if settings.alert_webhook_set else []
    return Definitions(
        assets=with_freshness(build_assets(settings), settings.freshness_deadline_hour),
        jobs=jobs,
        schedules=[build_daily_schedule(daily_snapshot_job, settings.schedule_hour)],
        sensors=alert_sensors,
        resources=build_resources(settings),
    )


@dg.definitions
def defs() -> Definitions:
    """What Dagster loads: the definitions for the settings in the environment."""
    return build_definitions(Settings.from_env())
