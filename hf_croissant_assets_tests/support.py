"""Helpers the tests share (not fixtures: those are in conftest.py).

The assets are built once, from the default settings, by the same factories `definitions.py`
uses; tests import them by name from here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from hf_croissant_assets.defs.changes import build_changes_assets
from hf_croissant_assets.defs.croissant_depth import build_croissant_depth_assets
from hf_croissant_assets.defs.hub import build_hub_assets
from hf_croissant_assets.defs.lake import build_lake_assets
from hf_croissant_assets.defs.partitions import daily_partitions
from hf_croissant_assets.defs.report import build_report_assets
from hf_croissant_assets.defs.resources import (
    CrawlSettings,
    DuckDBResource,
    HubResource,
    LakeResource,
    ValidatorSettings,
)
from hf_croissant_assets.defs.share import build_share_assets
from hf_croissant_assets.defs.warehouse import build_warehouse_assets
from hf_croissant_assets.hub.client import RetryPolicy
from hf_croissant_assets.settings import Settings

#: Retries as in production but with millisecond backoff, so fault tests run fast.
FAST_RETRY = RetryPolicy(max_retries=4, backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=5.0)

DEFAULT_SETTINGS = Settings.build()
#: A fixed calendar for tests that materialize past days (the default starts at the lake's
#: first day, which depends on the lake).
PARTITIONS = daily_partitions(date(2026, 1, 1))

hf_dataset_listing, croissant_records = build_hub_assets(PARTITIONS)
hf_datasets, hf_croissant = build_lake_assets(PARTITIONS)
(hf_dataset_changes,) = build_changes_assets(PARTITIONS)
hf_croissant_fields, hf_croissant_files, croissant_validation = build_croissant_depth_assets(
    PARTITIONS
)
duckdb_tables, athena_tables = build_warehouse_assets(PARTITIONS)
(daily_report,) = build_report_assets(PARTITIONS)
(hf_hub_export,) = build_share_assets(PARTITIONS)


def make_resources(
    endpoint: str,
    lake_dir: Path | str,
    *,
    now: str,
    token: str | None = None,
    max_requests: int | None = None,
    batch_size: int = 200,
) -> dict[str, object]:
    """The definitions' resources, pointed at the emulator and a test lake, clock pinned."""
    return {
        "hub": HubResource(
            endpoint=endpoint,
            token=token,
            concurrency=8,
            max_retries=FAST_RETRY.max_retries,
            backoff_base_s=FAST_RETRY.backoff_base_s,
            backoff_max_s=FAST_RETRY.backoff_max_s,
            timeout_s=FAST_RETRY.timeout_s,
            pinned_now=now,
        ),
        "lake": LakeResource(uri=str(lake_dir)),
        "duckdb": DuckDBResource(
            path=":memory:"
            if str(lake_dir).startswith("s3://")
            else str(Path(lake_dir).parent / "test.duckdb")
        ),
        "crawl": CrawlSettings(
            max_requests=max_requests, max_duration_s=600, batch_size=batch_size
        ),
        "validator": ValidatorSettings(workers=2, timeout_s=30, max_docs=100_000),
    }


def failure_text(result) -> str:
    """The failed step's error with its causes, as the UI and the CLI show them."""
    error = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
    parts = []
    while error is not None:
        parts.append(error.message)
        error = error.cause or error.context
    return "\n".join(parts)
