"""Every environment variable the project reads, with its default: the one list.

`definitions.py` builds the resources from it, the README documents it (a test checks that every
variable here is in the README), and a bad value fails at start naming the variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class SettingError(ValueError):
    """A bad environment setting; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    help: str

    def raw(self) -> str | None:
        value = os.environ.get(self.name)
        return value if value not in (None, "") else self.default

    def as_int(self, minimum: int | None = 0) -> int | None:
        value = self.raw()
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            raise SettingError(f"{self.name}={value!r} is not an integer") from None
        if minimum is not None and number < minimum:
            raise SettingError(f"{self.name}={value!r} must be >= {minimum}")
        return number

    def as_bool(self) -> bool:
        value = (self.raw() or "").strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise SettingError(f"{self.name}={self.raw()!r} is not true or false")

    def as_float(self, minimum: float | None = 0.0) -> float | None:
        value = self.raw()
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            raise SettingError(f"{self.name}={value!r} is not a number") from None
        if number != number or (minimum is not None and number < minimum):
            raise SettingError(f"{self.name}={value!r} must be a number >= {minimum}")
        return number


HF_ENDPOINT = Setting(
    "HF_ENDPOINT", "https://huggingface.co", "Hub base URL (the ecosystem's variable)."
)
HF_TOKEN = Setting(
    "HF_TOKEN", None, "Hub token, sent as `Authorization: Bearer`; never logged or stored."
)
LAKE = Setting(
    "HF_CROISSANT_LAKE", "./data/lake", "Lake root: a local folder or `s3://bucket/prefix`."
)
DUCKDB = Setting(
    "HF_CROISSANT_DUCKDB", "./data/hf_croissant.duckdb", "DuckDB file holding the views."
)
CONCURRENCY = Setting("HF_CROISSANT_CONCURRENCY", "16", "Hub requests in flight at most.")
MAX_RETRIES = Setting(
    "HF_CROISSANT_MAX_RETRIES", "5", "Retries per request on 408/429/5xx/timeouts/resets."
)
MAX_REQUESTS = Setting(
    "HF_CROISSANT_MAX_REQUESTS",
    None,
    "Croissant requests per run at most; default derived from the rate limit (a day's quota share).",
)
MAX_DURATION = Setting(
    "HF_CROISSANT_MAX_DURATION_S",
    "64800",
    "Croissant fetching stops after this many seconds (18 h).",
)
REFRESH_DAYS = Setting(
    "HF_CROISSANT_REFRESH_DAYS",
    "7",
    "Unchanged documents older than this many days are refreshed, stalest first, within the budget.",
)
ROW_DROP_TOLERANCE = Setting(
    "HF_CROISSANT_ROW_DROP_TOLERANCE",
    "0.2",
    "Largest tolerated drop in a table's row count vs. the newest earlier snapshot (0.2 = 20%).",
)
ATHENA_DATABASE = Setting(
    "HF_CROISSANT_ATHENA_DATABASE",
    None,
    "AWS mode: the Glue/Athena database for the tables (setting it replaces DuckDB with Athena).",
)
ATHENA_WORKGROUP = Setting("HF_CROISSANT_ATHENA_WORKGROUP", "primary", "Athena workgroup.")
ATHENA_OUTPUT = Setting(
    "HF_CROISSANT_ATHENA_OUTPUT",
    None,
    "s3:// location for Athena query results (else the workgroup's).",
)
ATHENA_PROJECTION = Setting(
    "HF_CROISSANT_ATHENA_PROJECTION",
    "true",
    "true: partition projection (no per-day DDL); false: ALTER TABLE ADD PARTITION for each new day.",
)
AWS_REGION = Setting("AWS_REGION", None, "AWS region (standard AWS variable) for S3 and Athena.")
START_DATE = Setting("HF_CROISSANT_START_DATE", "2026-01-01", "First daily partition (UTC).")
SCHEDULE_HOUR = Setting("HF_CROISSANT_SCHEDULE_HOUR", "1", "UTC hour of the daily schedule (0-23).")
GRACE_HOURS = Setting(
    "HF_CROISSANT_GRACE_HOURS",
    "2",
    "Hours after UTC midnight during which yesterday can still be fetched.",
)
PUBLISH_REPO = Setting(
    "HF_CROISSANT_PUBLISH_REPO",
    None,
    "Hub dataset repo (namespace/name) each day's hf_datasets and hf_croissant are published to, "
    "after the day's checks pass; unset = no publishing. Needs a write token in HF_TOKEN.",
)
PUBLISH_LICENSE = Setting(
    "HF_CROISSANT_PUBLISH_LICENSE",
    "other",
    "Licence id declared in the published dataset card (e.g. other, cc0-1.0, odc-by).",
)
BOOTSTRAP_REPO = Setting(
    "HF_CROISSANT_BOOTSTRAP_REPO",
    None,
    "Hub dataset repo whose newest published hf_croissant day seeds a lake that has no earlier "
    "Croissant snapshot, so its first day fetches only what changed since.",
)

ALL: tuple[Setting, ...] = (
    HF_ENDPOINT,
    HF_TOKEN,
    LAKE,
    DUCKDB,
    CONCURRENCY,
    MAX_RETRIES,
    MAX_REQUESTS,
    MAX_DURATION,
    REFRESH_DAYS,
    ROW_DROP_TOLERANCE,
    ATHENA_DATABASE,
    ATHENA_WORKGROUP,
    ATHENA_OUTPUT,
    ATHENA_PROJECTION,
    AWS_REGION,
    START_DATE,
    SCHEDULE_HOUR,
    GRACE_HOURS,
    PUBLISH_REPO,
    PUBLISH_LICENSE,
    BOOTSTRAP_REPO,
)
