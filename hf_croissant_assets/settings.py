"""Every setting the project reads, once: name, environment variable, default, bounds, meaning.

`Settings` is validated once, when the definitions (or a command) are built, never at import:
`Settings.from_env()` reads the process environment, `Settings.from_env({...})` a mapping (tests
build several in one process). The Dagster layer turns it into resources; the plain layers get
values, never variable names. The README's settings table is generated from this class
(`markdown_table()`; a test keeps the two identical), and `hf-croissant --help` lists it too.

A bad value fails with one line per problem naming the variable, e.g.
``HF_CROISSANT_CONCURRENCY='abc': not a valid integer``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "HF_CROISSANT_"
DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_LAKE = "./data/lake"
DEFAULT_DUCKDB = "./data/hf_croissant.duckdb"
DEFAULT_REFRESH_DAYS = 7.0
DEFAULT_RECHECK_UNAVAILABLE_DAYS = 3.0
DEFAULT_ROW_DROP_TOLERANCE = 0.2


class SettingError(ValueError):
    """A bad setting; the message names the environment variable (one line per problem)."""


class Settings(BaseSettings):
    """The project's configuration. Field descriptions are the user documentation."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        allow_inf_nan=False,
        validate_default=True,
    )

    # -- the Hub ------------------------------------------------------------------------------
    hf_endpoint: str = Field(
        DEFAULT_ENDPOINT,
        validation_alias=AliasChoices("HF_ENDPOINT", "hf_endpoint"),
        description="Hub base URL (the ecosystem's variable, also read by huggingface_hub).",
    )
    hf_token_set: bool = Field(
        False,
        validation_alias=AliasChoices("HF_TOKEN", "hf_token_set"),
        description="Hub token, sent as `Authorization: Bearer`; read from the environment at "
        "run time only, never logged or stored (a bad or read-only token is reported at start).",
        json_schema_extra={"default_doc": "unset"},
    )
    concurrency: int = Field(16, ge=1, le=256, description="Hub requests in flight at most.")
    max_retries: int = Field(
        5, ge=0, le=20, description="Retries per request on 408/429/5xx/timeouts/resets."
    )
    max_requests: int | None = Field(
        None,
        ge=0,
        le=100_000_000,
        description="Croissant requests per run at most; default derived from the rate limit "
        "(the run's share of the quota over HF_CROISSANT_MAX_DURATION_S).",
        json_schema_extra={"default_doc": "derived"},
    )
    max_duration_s: float = Field(
        64800.0,
        ge=0,
        le=7 * 86400,
        description="Croissant fetching stops after this many seconds (18 h).",
    )
    refresh_days: float = Field(
        DEFAULT_REFRESH_DAYS,
        ge=0,
        le=3650,
        description="Unchanged documents older than this many days are refreshed, stalest "
        "first, within the budget.",
    )
    grace_hours: float = Field(
        2.0,
        ge=0,
        le=24,
        description="Hours after UTC midnight during which yesterday can still be fetched.",
    )
    max_body_bytes: int = Field(
        32 * 1024 * 1024,
        ge=64 * 1024,
        le=1024 * 1024 * 1024,
        description="Largest Hub answer read, in decompressed bytes; a larger body is a failure "
        "with a reason (the largest real Croissant documents are a few MiB).",
    )
    max_pause_s: float = Field(
        900.0,
        ge=1,
        le=3600,
        description="Longest pause a Hub header (RateLimit reset, Retry-After) can impose; larger "
        "values are clamped to it.",
    )
    include_private: bool = Field(
        False,
        description="Keep private datasets (listed to a token holder) in the tables, for a "
        "team's own private lake. They are never published, whatever this says.",
    )
    listing_shrink_override: bool = Field(
        False,
        description="Accept a listing whose size fell beyond HF_CROISSANT_ROW_DROP_TOLERANCE "
        "below the previous day's (a real mass deletion). Set it for one run, then unset it.",
    )
    recheck_unavailable_days: float = Field(
        DEFAULT_RECHECK_UNAVAILABLE_DAYS,
        ge=0,
        le=365,
        description="A Croissant 400 (not available yet) of a dataset created or modified within "
        "this many days is re-fetched daily, so a document that appears is seen the next day "
        "(0 = only when stale).",
    )
    progress_s: float = Field(
        30.0,
        ge=0.1,
        le=3600,
        description="Seconds between two progress lines of the Croissant crawl (done/total, rate, "
        "retries, 429s, ETA).",
    )

    # -- the lake and the SQL engines ----------------------------------------------------------
    lake: str = Field(
        DEFAULT_LAKE, min_length=1, description="Lake root: a local folder or `s3://bucket/prefix`."
    )
    duckdb: str = Field(
        DEFAULT_DUCKDB, min_length=1, description="DuckDB file holding the views over the lake."
    )
    row_drop_tolerance: float = Field(
        DEFAULT_ROW_DROP_TOLERANCE,
        ge=0,
        le=1,
        description="Largest tolerated drop in a table's row count vs. the newest earlier "
        "snapshot (0.2 = 20%).",
    )
    athena_database: str | None = Field(
        None,
        description="AWS mode: the Glue/Athena database for the tables (setting it replaces "
        "DuckDB with Athena; needs an s3:// lake).",
    )
    athena_workgroup: str = Field("primary", description="Athena workgroup.")
    athena_output: str | None = Field(
        None, description="s3:// location for Athena query results (else the workgroup's)."
    )
    athena_projection: bool = Field(
        True,
        description="true: partition projection (no per-day DDL); false: ALTER TABLE ADD "
        "PARTITION for each new day.",
    )
    aws_region: str | None = Field(
        None,
        validation_alias=AliasChoices("AWS_REGION", "aws_region"),
        description="AWS region (standard AWS variable) for S3 and Athena.",
    )
    downloads_jump_factor: float = Field(
        2.0,
        gt=1,
        le=1_000_000,
        description="hf_dataset_changes reports a downloads_jump when a dataset's 30-day "
        "downloads grow at least this many times (and by at least 100) since the previous "
        "snapshot.",
    )
    explorer_days: int = Field(
        30,
        ge=1,
        le=366,
        description="Days of daily series (downloads, likes) and change events kept in the "
        "explorer's SQLite file (`explorer_db`, `hf-croissant explore`).",
    )

    # -- the calendar ---------------------------------------------------------------------------
    start_date: date | None = Field(
        None,
        description="First daily partition (UTC). Default: the lake's first day (today on an "
        "empty lake), so no partition is offered that can never be produced.",
        json_schema_extra={"default_doc": "lake's first day"},
    )
    schedule_hour: int = Field(1, ge=0, le=23, description="UTC hour of the daily schedule.")

    # -- sharing ----------------------------------------------------------------------------------
    publish_repo: str | None = Field(
        None,
        description="Hub dataset repo (namespace/name) each day's tables are published to, "
        "after the day's checks pass; unset = no publishing. Needs a write token in HF_TOKEN.",
    )
    publish_license: str = Field(
        "other",
        description="Licence id declared in the published dataset card (e.g. other, cc0-1.0, "
        "odc-by).",
    )
    bootstrap_repo: str | None = Field(
        None,
        description="Hub dataset repo whose newest published hf_croissant day seeds a lake "
        "that has no earlier Croissant snapshot, so its first day fetches only what changed.",
    )
    publish_gated_documents: bool = Field(
        False,
        description="Publish the Croissant documents of gated datasets (fetched only because "
        "the token accepted the gate); by default their rows are published without document.",
    )
    backfill_max_days: int = Field(
        366, ge=1, le=3660, description="Most days one `hf-croissant backfill` range may span."
    )
    publish_explorer: bool = Field(
        True,
        description="Ship the explorer's SQLite file (`explorer/explorer.db`, built for the "
        "published day under the same rules: no private dataset, gated documents withheld) with "
        "each published day, so `hf-croissant explore --from-hub REPO` works without a crawl.",
    )

    # -- alerts -----------------------------------------------------------------------------------
    alert_webhook_set: bool = Field(
        False,
        validation_alias=AliasChoices("HF_CROISSANT_ALERT_WEBHOOK_URL", "alert_webhook_set"),
        description="Webhook URL (Slack-compatible incoming webhook) that gets each produced "
        "day's change summary and any failed run; a secret: read at run time only, never logged "
        "or stored. Unset = no alert sensors.",
        json_schema_extra={"default_doc": "unset"},
    )
    alert_watch: str | None = Field(
        None,
        description="Comma-separated dataset ids (owner/name) and authors (owner) whose events "
        "alone are posted; unset = every event counts.",
    )
    freshness_deadline_hour: int = Field(
        23,
        ge=0,
        le=23,
        description="UTC hour by which hf_datasets, hf_croissant and hf_dataset_changes must "
        "have been materialized within the last 24 h; after it the UI shows a late table as "
        "failing its freshness policy.",
    )

    # -- Croissant validation (mlcroissant, offline) --------------------------------------------
    validation_workers: int = Field(
        2, ge=1, le=64, description="Worker processes running the Croissant validator."
    )
    validation_timeout_s: float = Field(
        10.0,
        gt=0,
        le=600,
        description="Time limit per Croissant document in the validator; past it the verdict "
        "is null with reason `timeout`.",
    )
    validation_max_docs: int = Field(
        100_000,
        ge=0,
        description="Most Croissant documents validated per run (new or changed ones, in listing "
        "order); the others get `valid` null with reason `not validated yet` and are validated "
        "on a later run.",
    )

    # -- validation -------------------------------------------------------------------------------

    @field_validator("hf_endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        from hf_croissant_assets.hub.client import HubConfigError, resolve_endpoint

        try:
            return resolve_endpoint(value)
        except HubConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("alert_watch")
    @classmethod
    def _watch(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from hf_croissant_assets.report.alerts import parse_watch

        return ",".join(parse_watch(value))

    @field_validator("hf_token_set", "alert_webhook_set", mode="before")
    @classmethod
    def _token(cls, value: Any) -> bool:
        # Only whether a token is present is kept: the token itself stays in the environment.
        return value not in (None, "", False)

    @field_validator("publish_repo", "bootstrap_repo")
    @classmethod
    def _repo(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from hf_croissant_assets.share.publish import validate_repo_id

        return validate_repo_id(value)

    @field_validator("publish_license")
    @classmethod
    def _license(cls, value: str) -> str:
        from hf_croissant_assets.share.publish import validate_license

        return validate_license(value)

    @field_validator("athena_database", "athena_workgroup", "athena_output", "aws_region")
    @classmethod
    def _athena_name(cls, value: str | None, info: Any) -> str | None:
        if value is None:
            return None
        from hf_croissant_assets.warehouse.athena_client import validate_setting

        return validate_setting(info.field_name, value)

    @model_validator(mode="after")
    def _athena_needs_s3(self) -> Settings:
        if self.athena_database and not self.lake.startswith("s3://"):
            raise ValueError(
                f"{env_name('athena_database')} is set, so {env_name('lake')} must be an "
                f"s3://bucket/prefix lake (got {self.lake!r})"
            )
        return self

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `environ` (default: the process environment); empty values are unset."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(env_name(name))
            if raw is not None and raw.strip() != "":
                values[name] = raw.strip()
        return cls.build(**values)

    @classmethod
    def build(cls, **values: Any) -> Settings:
        """Validate `values` (by field name) alone, ignoring the environment; one clear error."""
        try:
            # model_validate skips BaseSettings' sources: nothing is read from os.environ here.
            return cls.model_validate(values)
        except ValidationError as exc:
            raise SettingError(_describe(exc, values)) from None

    def replace(self, **changes: Any) -> Settings:
        """A validated copy with some fields changed (tests, commands with flags)."""
        return type(self).build(**(self.model_dump() | changes))

    @property
    def is_s3(self) -> bool:
        return self.lake.startswith("s3://")


def env_name(field: str) -> str:
    """The environment variable of a settings field."""
    info = Settings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"{ENV_PREFIX}{field.upper()}"


def default(field: str) -> Any:
    """A field's default, for the resources' own defaults (one place holds each)."""
    return Settings.model_fields[field].default


def env_names() -> tuple[str, ...]:
    """Every environment variable the project reads as a setting."""
    return tuple(env_name(field) for field in Settings.model_fields)


def default_doc(field: str) -> str:
    info = Settings.model_fields[field]
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if "default_doc" in extra:
        return str(extra["default_doc"])
    default = info.default
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float) and math.isfinite(default) and default.is_integer():
        return str(int(default))
    return str(default)


def _bounds(field: str) -> str:
    info = Settings.model_fields[field]
    low = high = None
    for item in info.metadata:
        low = getattr(item, "ge", low)
        high = getattr(item, "le", high)
    if low is None and high is None:
        return ""
    return f" ({'' if low is None else low}..{'' if high is None else high})"


def markdown_table() -> str:
    """The README's settings table."""
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for field, info in Settings.model_fields.items():
        meaning = (info.description or "") + _bounds(field)
        lines.append(f"| `{env_name(field)}` | `{default_doc(field)}` | {meaning} |")
    return "\n".join(lines)


def help_text() -> str:
    """The environment variables for `--help`."""
    lines = ["environment variables (default):"]
    for field, info in Settings.model_fields.items():
        lines.append(f"  {env_name(field)} ({default_doc(field)})")
        lines.append(f"      {info.description}{_bounds(field)}")
    return "\n".join(lines)


def _describe(exc: ValidationError, values: Mapping[str, Any]) -> str:
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if loc and loc[0] in Settings.model_fields:
            field = loc[0]
            shown = (
                "set" if field in ("hf_token_set", "alert_webhook_set") else repr(values.get(field))
            )
            problems.append(f"{env_name(field)}={shown}: {message}")
        elif loc:
            problems.append(f"{'.'.join(loc)}: {message}")
        else:
            problems.append(message)
    return "\n".join(problems)


if __name__ == "__main__":  # `python -m hf_croissant_assets.settings` prints the README table
    import sys

    sys.stdout.write(markdown_table() + "\n")
