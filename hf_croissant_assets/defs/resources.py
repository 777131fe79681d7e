"""Dagster resources: thin wrappers that hand settings values to the plain layers below them.

Every value is validated once, in `Settings`; resources are built from it in `definitions.py`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import duckdb
from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from hf_croissant_assets.defs.partitions import observable_day
from hf_croissant_assets.hub.client import HubClient, RetryPolicy
from hf_croissant_assets.ingest.croissant_crawl import Budget
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.settings import default, env_name
from hf_croissant_assets.warehouse import duckdb_views
from hf_croissant_assets.warehouse.athena_client import AthenaClient

#: Resource fields that only the environment may set (HF_ENDPOINT, HF_TOKEN), never run config:
#: a launchpad edit could otherwise send the Bearer token (or any environment variable named in
#: `{env: ...}`) to a host of its choosing.
ENV_ONLY_FIELDS = ("token", "endpoint")


class RunConfigSecretError(ValueError):
    """Run config tried to set a field that comes from the environment only."""


def reject_env_only_run_config(run_config: object) -> None:
    """Fail if a run's config sets the token or the endpoint of any resource."""
    resources = run_config.get("resources") if isinstance(run_config, dict) else None
    if not isinstance(resources, dict):
        return
    for key, entry in resources.items():
        config = entry.get("config") if isinstance(entry, dict) else None
        if not isinstance(config, dict):
            continue
        bad = sorted(name for name in ENV_ONLY_FIELDS if name in config)
        if bad:
            raise RunConfigSecretError(
                f"run config sets resources.{key}.config.{', '.join(bad)}: refused. The token "
                f"and the endpoint come from the environment only ({env_name('hf_token_set')}, "
                f"{env_name('hf_endpoint')}), so that no run config can send the token to "
                "another host. Remove them from the run config."
            )


class _EnvOnlySecrets(ConfigurableResource):
    """Refuses, before any step runs, a run whose config sets `token` or `endpoint`."""

    def setup_for_execution(self, context: Any) -> None:
        run = getattr(context, "dagster_run", None)
        reject_env_only_run_config(getattr(run, "run_config", None))


class HubResource(_EnvOnlySecrets):
    """The Hugging Face Hub (or its emulator): endpoint, token, pacing and retry settings.

    `endpoint` and `token` are set by `definitions.py` from the environment; a run config that
    sets them is refused (`reject_env_only_run_config`)."""

    endpoint: str = Field(default=default("hf_endpoint"), description=env_name("hf_endpoint"))
    token: str | None = Field(
        default=None, description=f"{env_name('hf_token_set')} (from the environment only)"
    )
    concurrency: int = Field(default=default("concurrency"), description=env_name("concurrency"))
    max_retries: int = Field(default=default("max_retries"), description=env_name("max_retries"))
    backoff_base_s: float = 1.0
    backoff_max_s: float = 8.0
    timeout_s: float = 60.0
    grace_hours: float = Field(default=default("grace_hours"), description=env_name("grace_hours"))
    max_body_bytes: int = Field(
        default=default("max_body_bytes"), ge=1024, description=env_name("max_body_bytes")
    )
    max_pause_s: float = Field(
        default=default("max_pause_s"), gt=0, le=3600, description=env_name("max_pause_s")
    )
    include_private: bool = Field(
        default=default("include_private"), description=env_name("include_private")
    )
    listing_shrink_override: bool = Field(
        default=default("listing_shrink_override"),
        description=env_name("listing_shrink_override"),
    )
    pinned_now: str | None = Field(
        default=None,
        description="ISO time used instead of the clock for the today-only rule (emulator tests "
        "only)",
    )
    preflight_settings: str | None = Field(
        default=None,
        description="The run's settings (JSON, no secrets): when set, every check of "
        "`hf_croissant_assets.preflight` runs before the step's first Hub request, so runs "
        "launched from the UI or the schedule fail at start on a setting that cannot work.",
    )

    def setup_for_execution(self, context: Any) -> None:
        super().setup_for_execution(context)  # refuses run config that sets the token/endpoint
        if self.preflight_settings is None:
            return
        from hf_croissant_assets.preflight import run_preflight
        from hf_croissant_assets.settings import Settings

        settings = Settings.build(**json.loads(self.preflight_settings))
        run_preflight(settings, self.token or None).raise_for_problems()

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            self.max_retries, self.backoff_base_s, self.backoff_max_s, self.timeout_s
        )

    def client(self) -> HubClient:
        return HubClient(
            self.endpoint,
            self.token,
            concurrency=self.concurrency,
            retry=self.retry_policy(),
            max_body_bytes=self.max_body_bytes,
            max_pause_s=self.max_pause_s,
        )

    def now(self) -> datetime:
        if self.pinned_now:
            return datetime.fromisoformat(self.pinned_now).astimezone(UTC)
        return datetime.now(UTC)

    def observable_day(self, partition_key: str) -> str:
        return observable_day(partition_key, self.now(), self.grace_hours)


class LakeResource(ConfigurableResource):
    """The parquet lake: a local folder (embedded default) or s3://bucket/prefix."""

    uri: str = Field(default=default("lake"), description=env_name("lake"))
    row_drop_tolerance: float = Field(
        default=default("row_drop_tolerance"), description=env_name("row_drop_tolerance")
    )

    _store: LakeStore | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: object) -> None:
        self.store().check()

    def store(self) -> LakeStore:
        if self._store is None:
            self._store = LakeStore(self.uri, label=env_name("lake"))
        return self._store


class DuckDBResource(ConfigurableResource):
    """The embedded SQL engine's database file (views over the lake)."""

    path: str = Field(default=default("duckdb"), description=env_name("duckdb"))

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        return duckdb_views.connect(self.path, read_only=read_only)


class CrawlSettings(ConfigurableResource):
    """How much Croissant fetching one run may do (the per-run budget) and when to refresh."""

    max_requests: int | None = Field(
        default=default("max_requests"), description=env_name("max_requests")
    )
    max_duration_s: float = Field(
        default=default("max_duration_s"), description=env_name("max_duration_s")
    )
    refresh_after_days: float = Field(
        default=default("refresh_days"), description=env_name("refresh_days")
    )
    batch_size: int = Field(default=1000, ge=1, description="documents per staged checkpoint batch")
    progress_s: float = Field(default=default("progress_s"), description=env_name("progress_s"))
    bootstrap_repo: str | None = Field(
        default=default("bootstrap_repo"), description=env_name("bootstrap_repo")
    )
    recheck_unavailable_days: float = Field(
        default=default("recheck_unavailable_days"),
        description=env_name("recheck_unavailable_days"),
    )

    def budget(self) -> Budget:
        return Budget(max_requests=self.max_requests, max_duration_s=self.max_duration_s)


class ValidatorSettings(ConfigurableResource):
    """How the Croissant validator runs: worker processes, time limit, per-run budget."""

    workers: int = Field(
        default=default("validation_workers"), description=env_name("validation_workers")
    )
    timeout_s: float = Field(
        default=default("validation_timeout_s"), description=env_name("validation_timeout_s")
    )
    max_docs: int = Field(
        default=default("validation_max_docs"), description=env_name("validation_max_docs")
    )


class AthenaResource(ConfigurableResource):
    """Athena for an S3 lake: database, workgroup, result location, region; polling limits."""

    database: str = Field(description=env_name("athena_database"))
    workgroup: str = Field(
        default=default("athena_workgroup"), description=env_name("athena_workgroup")
    )
    output_location: str | None = Field(
        default=default("athena_output"), description=env_name("athena_output")
    )
    region: str | None = Field(default=default("aws_region"), description=env_name("aws_region"))
    projection: bool = Field(
        default=default("athena_projection"), description=env_name("athena_projection")
    )
    poll_interval_s: float = 1.0
    timeout_s: float = 300.0

    def client(self) -> AthenaClient:
        return AthenaClient(
            region=self.region,
            workgroup=self.workgroup,
            database=self.database,
            output_location=self.output_location,
            poll_interval_s=self.poll_interval_s,
            timeout_s=self.timeout_s,
        )


class HfPublishResource(_EnvOnlySecrets):
    """Where each day is published on the Hub: the dataset repo, the (write) token, the endpoint."""

    repo_id: str = Field(description=env_name("publish_repo"))
    token: str | None = Field(
        default=None,
        description=f"{env_name('hf_token_set')} (from the environment only; needs write access)",
    )
    endpoint: str = Field(default=default("hf_endpoint"), description=env_name("hf_endpoint"))
    license: str = Field(
        default=default("publish_license"), description=env_name("publish_license")
    )
    gated_documents: bool = Field(
        default=default("publish_gated_documents"),
        description=env_name("publish_gated_documents"),
    )
