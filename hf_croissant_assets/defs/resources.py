"""Dagster resources: thin wrappers that hand settings values to the plain layers below them.

Every value is validated once, in `Settings`; resources are built from it in `definitions.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime

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


class HubResource(ConfigurableResource):
    """The Hugging Face Hub (or its emulator): endpoint, token, pacing and retry settings."""

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
    pinned_now: str | None = Field(
        default=None,
        description="ISO time used instead of the clock for the today-only rule (emulator tests "
        "only)",
    )

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            self.max_retries, self.backoff_base_s, self.backoff_max_s, self.timeout_s
        )

    def client(self) -> HubClient:
        return HubClient(
            self.endpoint, self.token, concurrency=self.concurrency, retry=self.retry_policy()
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
    bootstrap_repo: str | None = Field(
        default=default("bootstrap_repo"), description=env_name("bootstrap_repo")
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


class HfPublishResource(ConfigurableResource):
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
