"""One `Definitions`: assets, jobs, schedules and resources, configured from the environment."""

from __future__ import annotations

import os

from dagster import Definitions, EnvVar, load_assets_from_modules

from hf_croissant_assets import settings
from hf_croissant_assets.assets import croissant, listing, report, tables
from hf_croissant_assets.assets import publish as publish_assets
from hf_croissant_assets.jobs import daily_snapshot_job, rederive_job
from hf_croissant_assets.lake.io_manager import LakeIOManager
from hf_croissant_assets.resources import (
    AthenaResource,
    CrawlSettings,
    DuckDBResource,
    HfPublishResource,
    HubResource,
    LakeResource,
)
from hf_croissant_assets.schedules import daily_snapshot_schedule


def build_resources() -> dict[str, object]:
    """Resources from the environment (settings.py lists every variable and its default)."""
    hub = HubResource(
        endpoint=settings.HF_ENDPOINT.raw(),
        # An EnvVar is resolved at run time and shown by name only: the token is never stored.
        token=EnvVar(settings.HF_TOKEN.name) if os.environ.get(settings.HF_TOKEN.name) else None,
        concurrency=settings.CONCURRENCY.as_int(1),
        max_retries=settings.MAX_RETRIES.as_int(0),
        grace_hours=settings.GRACE_HOURS.as_float(0.0),
    )
    hub.validate()
    crawl = CrawlSettings(
        max_requests=settings.MAX_REQUESTS.as_int(0),
        max_duration_s=settings.MAX_DURATION.as_float(0.0),
        refresh_after_days=settings.REFRESH_DAYS.as_float(0.0),
        bootstrap_repo=settings.BOOTSTRAP_REPO.raw(),
    )
    crawl.validate()
    return {
        "crawl": crawl,
        "hub": hub,
        "lake_io_manager": LakeIOManager(uri=settings.LAKE.raw()),
        "lake": LakeResource(
            uri=settings.LAKE.raw(), row_drop_tolerance=settings.ROW_DROP_TOLERANCE.as_float(0.0)
        ),
        "duckdb": DuckDBResource(path=settings.DUCKDB.raw()),
    }


def athena_resource() -> AthenaResource | None:
    """AWS mode when HF_CROISSANT_ATHENA_DATABASE is set: Athena replaces the DuckDB views."""
    database = settings.ATHENA_DATABASE.raw()
    if not database:
        return None
    if not (settings.LAKE.raw() or "").startswith("s3://"):
        raise settings.SettingError(
            f"{settings.ATHENA_DATABASE.name} is set, so {settings.LAKE.name} must be an "
            f"s3://bucket/prefix lake (got {settings.LAKE.raw()!r})"
        )
    resource = AthenaResource(
        database=database,
        workgroup=settings.ATHENA_WORKGROUP.raw(),
        output_location=settings.ATHENA_OUTPUT.raw(),
        region=settings.AWS_REGION.raw() or os.environ.get("AWS_DEFAULT_REGION"),
        projection=settings.ATHENA_PROJECTION.as_bool(),
    )
    try:
        resource.client()
    except ValueError as exc:
        raise settings.SettingError(str(exc)) from None
    return resource


def publish_resource() -> HfPublishResource | None:
    """Publishing when HF_CROISSANT_PUBLISH_REPO is set: the `hf_hub_export` asset and its
    resource. The token is an EnvVar (resolved at run time, never stored); whether it may write is
    checked by the asset before any upload."""
    repo_id = settings.PUBLISH_REPO.raw()
    if not repo_id:
        return None
    resource = HfPublishResource(
        repo_id=repo_id,
        token=EnvVar(settings.HF_TOKEN.name) if os.environ.get(settings.HF_TOKEN.name) else None,
        endpoint=settings.HF_ENDPOINT.raw(),
        license=settings.PUBLISH_LICENSE.raw(),
    )
    resource.validate()
    return resource


athena = athena_resource()
hf_publish = publish_resource()
warehouse = [tables.athena_tables] if athena else [tables.duckdb_tables]
sharing = [publish_assets.hf_hub_export] if hf_publish else []
all_assets = [*load_assets_from_modules([listing, croissant, report]), *warehouse, *sharing]
resources = (
    build_resources()
    | ({"athena": athena} if athena else {})
    | ({"hf_publish": hf_publish} if hf_publish else {})
)

defs = Definitions(
    assets=all_assets,
    jobs=[daily_snapshot_job, rederive_job],
    schedules=[daily_snapshot_schedule],
    resources=resources,
)
