"""Dagster resources: thin, validated wrappers around the plain layers below them."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from hf_croissant_assets import publish, settings
from hf_croissant_assets.crawl import Budget
from hf_croissant_assets.hub.client import HubClient, HubConfigError, RetryPolicy, resolve_endpoint
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.partitions import observable_day
from hf_croissant_assets.warehouse import duckdb as duck
from hf_croissant_assets.warehouse.athena import AthenaClient


class HubResource(ConfigurableResource):
    """The Hugging Face Hub (or its emulator): endpoint, token, pacing and retry settings."""

    endpoint: str = Field(default="https://huggingface.co", description="HF_ENDPOINT")
    token: str | None = Field(default=None, description="HF_TOKEN (from the environment only)")
    concurrency: int = Field(default=16, description="requests in flight at most")
    max_retries: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 8.0
    timeout_s: float = 60.0
    grace_hours: float = Field(
        default=2.0, description="after UTC midnight, yesterday is still fetchable"
    )
    pinned_now: str | None = Field(
        default=None,
        description="ISO time used instead of the clock for the today-only rule (emulator tests only)",
    )

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self.validate()

    def validate(self) -> None:
        try:
            resolve_endpoint(self.endpoint)
            RetryPolicy(self.max_retries, self.backoff_base_s, self.backoff_max_s, self.timeout_s)
        except HubConfigError as exc:
            raise settings.SettingError(str(exc)) from None
        if self.concurrency < 1:
            raise settings.SettingError(
                f"{settings.CONCURRENCY.name}={self.concurrency} must be >= 1"
            )
        if self.grace_hours < 0:
            raise settings.SettingError(
                f"{settings.GRACE_HOURS.name}={self.grace_hours} must be >= 0"
            )

    def client(self) -> HubClient:
        return HubClient(
            self.endpoint,
            self.token,
            concurrency=self.concurrency,
            retry=RetryPolicy(
                self.max_retries, self.backoff_base_s, self.backoff_max_s, self.timeout_s
            ),
        )

    def now(self) -> datetime:
        if self.pinned_now:
            return datetime.fromisoformat(self.pinned_now).astimezone(UTC)
        return datetime.now(UTC)

    def observable_day(self, partition_key: str) -> str:
        return observable_day(partition_key, self.now(), self.grace_hours)


class LakeResource(ConfigurableResource):
    """The parquet lake: a local folder (embedded default) or s3://bucket/prefix."""

    uri: str = Field(default="./data/lake", description="HF_CROISSANT_LAKE")
    row_drop_tolerance: float = Field(
        default=0.2, description="HF_CROISSANT_ROW_DROP_TOLERANCE (blocking row-count check)"
    )

    _store: LakeStore | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        if not 0 <= self.row_drop_tolerance <= 1:
            raise settings.SettingError(
                f"{settings.ROW_DROP_TOLERANCE.name}={self.row_drop_tolerance} must be within 0..1"
            )
        self.store().check()

    def store(self) -> LakeStore:
        if self._store is None:
            self._store = LakeStore(self.uri)
        return self._store


class DuckDBResource(ConfigurableResource):
    """The embedded SQL engine's database file (views over the lake)."""

    path: str = Field(default="./data/hf_croissant.duckdb", description="HF_CROISSANT_DUCKDB")

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        return duck.connect(self.path, read_only=read_only)


class CrawlSettings(ConfigurableResource):
    """How much Croissant fetching one run may do (the per-run budget) and when to refresh."""

    max_requests: int | None = Field(
        default=None, description="HF_CROISSANT_MAX_REQUESTS; None = derived from the rate limit"
    )
    max_duration_s: float = Field(default=64800.0, description="HF_CROISSANT_MAX_DURATION_S")
    refresh_after_days: float = Field(default=7.0, description="HF_CROISSANT_REFRESH_DAYS")
    batch_size: int = Field(default=1000, description="documents per staged checkpoint batch")
    bootstrap_repo: str | None = Field(
        default=None,
        description="HF_CROISSANT_BOOTSTRAP_REPO: Hub dataset repo whose newest published "
        "hf_croissant day seeds a lake without an earlier snapshot (None = never)",
    )

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self.validate()

    def validate(self) -> None:
        if self.max_requests is not None and self.max_requests < 0:
            raise settings.SettingError(
                f"{settings.MAX_REQUESTS.name}={self.max_requests} must be >= 0"
            )
        if self.max_duration_s < 0:
            raise settings.SettingError(
                f"{settings.MAX_DURATION.name}={self.max_duration_s} must be >= 0"
            )
        if self.refresh_after_days < 0:
            raise settings.SettingError(
                f"{settings.REFRESH_DAYS.name}={self.refresh_after_days} must be >= 0"
            )
        if self.batch_size < 1:
            raise settings.SettingError(f"batch_size={self.batch_size} must be >= 1")
        if self.bootstrap_repo is not None:
            publish.validate_repo_id(self.bootstrap_repo, settings.BOOTSTRAP_REPO.name)

    def budget(self) -> Budget:
        return Budget(max_requests=self.max_requests, max_duration_s=self.max_duration_s)


class AthenaResource(ConfigurableResource):
    """Athena for an S3 lake: database, workgroup, result location, region; polling limits."""

    database: str = Field(description="HF_CROISSANT_ATHENA_DATABASE")
    workgroup: str = Field(default="primary", description="HF_CROISSANT_ATHENA_WORKGROUP")
    output_location: str | None = Field(default=None, description="HF_CROISSANT_ATHENA_OUTPUT")
    region: str | None = Field(default=None, description="AWS_REGION")
    projection: bool = Field(default=True, description="HF_CROISSANT_ATHENA_PROJECTION")
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

    def setup_for_execution(self, context: InitResourceContext) -> None:
        try:
            self.client()  # validates every name before any AWS call
        except ValueError as exc:
            raise settings.SettingError(str(exc)) from None


class HfPublishResource(ConfigurableResource):
    """Where each day is published on the Hub: the dataset repo, the (write) token, the endpoint."""

    repo_id: str = Field(description="HF_CROISSANT_PUBLISH_REPO (namespace/name)")
    token: str | None = Field(
        default=None, description="HF_TOKEN (from the environment only; needs the write role)"
    )
    endpoint: str = Field(default="https://huggingface.co", description="HF_ENDPOINT")
    license: str = Field(default="other", description="HF_CROISSANT_PUBLISH_LICENSE")

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self.validate()

    def validate(self) -> None:
        publish.validate_repo_id(self.repo_id, settings.PUBLISH_REPO.name)
        publish.validate_license(self.license, settings.PUBLISH_LICENSE.name)
        try:
            resolve_endpoint(self.endpoint)
        except HubConfigError as exc:
            raise settings.SettingError(str(exc)) from None
