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

    # -- the lake and the SQL engines ----------------------------------------------------------
    lake: str = Field(
        DEFAULT_LAKE, min_length=1, description="Lake root: a local folder or `s3://bucket/prefix`."
    )
    duckdb: str = Field(
        DEFAULT_DUCKDB, min_length=1, description="DuckDB file holding the views over the lake."
    )
    row_drop_tolerance: float = Field(
        0.2,
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
    explorer_days: int = Field(
        30,
        ge=1,
        le=366,
        description="Days of daily series (downloads, likes) and change events kept in the "
        "explorer's SQLite file (`explorer_db`, `hf-croissant explore`).",
    )

    # -- the calendar ---------------------------------------------------------------------------
    start_date: date = Field(date(2026, 1, 1), description="First daily partition (UTC).")
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

    # -- validation -------------------------------------------------------------------------------

    @field_validator("hf_endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        from hf_croissant_assets.hub.client import HubConfigError, resolve_endpoint

        try:
            return resolve_endpoint(value)
        except HubConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("hf_token_set", mode="before")
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
            shown = "set" if field == "hf_token_set" else repr(values.get(field))
            problems.append(f"{env_name(field)}={shown}: {message}")
        elif loc:
            problems.append(f"{'.'.join(loc)}: {message}")
        else:
            problems.append(message)
    return "\n".join(problems)


if __name__ == "__main__":  # `python -m hf_croissant_assets.settings` prints the README table
    pass
