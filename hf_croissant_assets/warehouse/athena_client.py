"""Run statements on Athena with plain boto3: start, poll with a timeout, stop on timeout, and
surface Athena's own error text. No Dagster here: the resource in `defs/resources.py` wraps it.

Values are validated here with plain messages naming the parameter; `settings.py` prefixes them
with the environment variable, so a bad setting names its variable.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from typing import Any

from hf_croissant_assets.lake.store import validate_date
from hf_croissant_assets.schema import TABLES
from hf_croissant_assets.warehouse.athena_ddl import (
    add_partition_sql,
    create_table_sql,
    validate_name,
)

# --------------------------------------------------------------------------------------------

log = logging.getLogger(__name__)


_WORKGROUP_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# Quotes, backticks, semicolons, backslashes, whitespace and control characters never belong in
# an S3 URI that is pasted into SQL.
_UNSAFE_URI_RE = re.compile(r"[\x00-\x20\x7f'\"`;\\]")
_CREATE_DATABASE_RE = re.compile(r"^\s*CREATE\s+(DATABASE|SCHEMA)\b", re.IGNORECASE)
_TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")

# Indirections so tests can drive the polling loop with a fake clock.
_now = time.monotonic
_sleep = time.sleep


class AthenaError(RuntimeError):
    """An Athena statement could not be started, failed, was cancelled or timed out."""

    def __init__(self, message: str, *, query_id: str | None = None, state: str | None = None):
        super().__init__(message)
        self.query_id = query_id
        self.state = state


class AthenaConfigError(ValueError):
    """A bad Athena/AWS value; the message names the parameter (settings add the variable)."""


def _s3_uri(setting: str, uri: object, *, what: str) -> str:
    """`s3://bucket[/prefix]` safe to paste into SQL, without a trailing slash."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise AthenaConfigError(f"{setting}={uri!r}: {what} must be an s3://bucket/prefix URI")
    if _UNSAFE_URI_RE.search(uri):
        raise AthenaConfigError(
            f"{setting}={uri!r}: {what} must not contain quotes, backticks, semicolons, "
            "backslashes or whitespace"
        )
    bucket, _, _key = uri[len("s3://") :].partition("/")
    if not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise AthenaConfigError(
            f"{setting}={uri!r}: {what} needs a valid bucket (3-63 lowercase letters, digits, "
            "'.' or '-'), as in s3://bucket/prefix"
        )
    return uri.rstrip("/")


def validate_lake_uri(uri: str) -> str:
    """The lake root for Athena: an `s3://bucket/prefix` URI, returned without trailing `/`."""
    return _s3_uri("lake", uri, what="the lake (for Athena)")


def _config_name(setting: str, kind: str, name: object) -> str:
    try:
        return validate_name(kind, name)  # type: ignore[arg-type]
    except ValueError as exc:
        raise AthenaConfigError(f"{setting}: {exc}") from None


def _day(date: str) -> str:
    return validate_date(date)


def validate_region(region: object) -> str:
    if not isinstance(region, str) or not _REGION_RE.match(region):
        raise AthenaConfigError(f"region={region!r} is not an AWS region (e.g. us-east-1)")
    return region


def validate_workgroup(workgroup: object) -> str:
    if not isinstance(workgroup, str) or not _WORKGROUP_RE.match(workgroup):
        raise AthenaConfigError(
            f"workgroup={workgroup!r} is invalid: use 1-128 letters, digits, '.', '_', '-'"
        )
    return workgroup


def validate_setting(field: str, value: str) -> str:
    """Validate one Athena-related settings value (`settings.py` names the variable)."""
    if field == "athena_database":
        return validate_name("database", value)
    if field == "athena_workgroup":
        return validate_workgroup(value)
    if field == "athena_output":
        return _s3_uri("output_location", value, what="the query result location")
    if field == "aws_region":
        return validate_region(value)
    raise KeyError(field)


def _first_line(sql: str) -> str:
    line = sql.strip().splitlines()[0] if sql.strip() else ""
    return line if len(line) <= 120 else line[:117] + "..."


class AthenaClient:
    """Run statements on Athena: start, poll until done (or time out and stop), raise its error.

    `client` lets tests pass a stubbed boto3 client; otherwise `boto3.client("athena")` is made on
    first use (credentials and endpoint come from boto3's usual environment/config chain).
    """

    def __init__(
        self,
        *,
        region: str | None,
        workgroup: str = "primary",
        database: str,
        output_location: str | None,
        poll_interval_s: float = 1.0,
        timeout_s: float = 300.0,
        client: Any = None,
    ) -> None:
        if region is not None:
            validate_region(region)
        validate_workgroup(workgroup)
        self.database = _config_name("database", "database", database)
        self.output_location = (
            None
            if output_location is None
            else _s3_uri("output_location", output_location, what="the query result location") + "/"
        )
        if not isinstance(poll_interval_s, int | float) or poll_interval_s < 0:
            raise AthenaConfigError(f"poll_interval_s={poll_interval_s!r} must be >= 0")
        if not isinstance(timeout_s, int | float) or timeout_s <= 0:
            raise AthenaConfigError(f"timeout_s={timeout_s!r} must be > 0")
        self.region = region
        self.workgroup = workgroup
        self.poll_interval_s = float(poll_interval_s)
        self.timeout_s = float(timeout_s)
        self._client = client

    def __repr__(self) -> str:
        return (
            f"AthenaClient(region={self.region!r}, workgroup={self.workgroup!r}, "
            f"database={self.database!r}, output_location={self.output_location!r})"
        )

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.exceptions import NoRegionError

            try:
                self._client = boto3.client("athena", region_name=self.region)
            except NoRegionError:
                raise AthenaConfigError(
                    "no AWS region is configured (AWS_REGION or the AWS config): Athena needs one"
                ) from None
        return self._client

    # -- running ---------------------------------------------------------------------------

    def execute(self, sql: str, *, database: str | None = None) -> str:
        """Run one statement to completion and return its query execution id."""
        from botocore.exceptions import BotoCoreError, ClientError

        if not isinstance(sql, str) or not sql.strip():
            raise ValueError("empty SQL statement")
        db = self.database if database is None else _config_name("database", "database", database)
        first = _first_line(sql)
        request: dict[str, Any] = {"QueryString": sql, "WorkGroup": self.workgroup}
        if not _CREATE_DATABASE_RE.match(sql):
            request["QueryExecutionContext"] = {"Database": db}
        if self.output_location:
            request["ResultConfiguration"] = {"OutputLocation": self.output_location}

        client = self.client
        started = _now()
        try:
            query_id = client.start_query_execution(**request)["QueryExecutionId"]
        except ClientError as exc:
            err = exc.response.get("Error", {})
            raise AthenaError(
                f"Athena refused the statement in workgroup {self.workgroup!r} (database {db!r}): "
                f"{err.get('Code', 'error')}: {err.get('Message', exc)} [SQL: {first}]"
            ) from exc
        except BotoCoreError as exc:
            raise AthenaError(
                f"could not start an Athena query in workgroup {self.workgroup!r} "
                f"(database {db!r}): {exc} [SQL: {first}]"
            ) from exc
        log.info("athena query %s started: %s", query_id, first)

        deadline = started + self.timeout_s
        while True:
            try:
                execution = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            except (ClientError, BotoCoreError) as exc:
                raise AthenaError(
                    f"could not get the state of Athena query {query_id}: {exc} [SQL: {first}]",
                    query_id=query_id,
                ) from exc
            status = execution.get("Status", {})
            state = status.get("State")
            if state in _TERMINAL_STATES:
                break
            now = _now()
            if now >= deadline:
                self._stop(query_id)
                log.warning(
                    "athena query %s timed out after %.1f s: %s", query_id, now - started, first
                )
                raise AthenaError(
                    f"Athena query did not finish within {self.timeout_s:g} s "
                    f"(query id {query_id}; stopped it) [SQL: {first}]",
                    query_id=query_id,
                    state=state,
                )
            _sleep(min(self.poll_interval_s, deadline - now))

        elapsed = _now() - started
        if state == "SUCCEEDED":
            log.info("athena query %s succeeded in %.2f s: %s", query_id, elapsed, first)
            return query_id
        reason = status.get("StateChangeReason") or ""
        detail = (status.get("AthenaError") or {}).get("ErrorMessage") or ""
        text = "; ".join(dict.fromkeys(t for t in (reason, detail) if t)) or "no reason given"
        log.warning("athena query %s %s after %.2f s: %s", query_id, state, elapsed, first)
        raise AthenaError(
            f"Athena query {state}: {text} (query id {query_id}) [SQL: {first}]",
            query_id=query_id,
            state=state,
        )

    def _stop(self, query_id: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.stop_query_execution(QueryExecutionId=query_id)
        except (ClientError, BotoCoreError) as exc:  # the timeout error matters more
            log.warning("could not stop athena query %s: %s", query_id, exc)

    def fetch_rows(self, query_id: str) -> list[tuple]:
        """All result rows of a finished SELECT as tuples of strings (None for NULL).

        The header row Athena puts first in a SELECT's results is skipped. Meant for small results.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        rows: list[tuple] = []
        header = True
        try:
            pages = self.client.get_paginator("get_query_results").paginate(
                QueryExecutionId=query_id
            )
            for page in pages:
                for row in page.get("ResultSet", {}).get("Rows", []):
                    if header:
                        header = False
                        continue
                    rows.append(tuple(cell.get("VarCharValue") for cell in row.get("Data", [])))
        except (ClientError, BotoCoreError) as exc:
            raise AthenaError(
                f"could not read the results of Athena query {query_id}: {exc}", query_id=query_id
            ) from exc
        return rows

    # -- the lake's tables -----------------------------------------------------------------

    @staticmethod
    def _tables(tables: Iterable[str]) -> list[str]:
        names = [tables] if isinstance(tables, str) else list(tables)
        for name in names:
            try:
                validate_name("table", name)
            except ValueError as exc:
                raise AthenaConfigError(str(exc)) from None
            if name not in TABLES:
                raise AthenaConfigError(f"unknown table {name!r}: the lake has {sorted(TABLES)}")
        return names

    def statements_for_setup(
        self, lake_uri_prefix: str, tables: Iterable[str], *, projection: bool, start_date: str
    ) -> list[str]:
        """`CREATE DATABASE` and one `CREATE EXTERNAL TABLE` per table (all `IF NOT EXISTS`)."""
        prefix = validate_lake_uri(lake_uri_prefix)
        names = self._tables(tables)
        try:
            start = _day(start_date)
        except ValueError as exc:
            raise AthenaConfigError(f"start_date: {exc}") from None
        return [f"CREATE DATABASE IF NOT EXISTS `{self.database}`"] + [
            create_table_sql(
                table,
                f"{prefix}/{table}/",
                database=self.database,
                projection=projection,
                start_date=start,
            )
            for table in names
        ]

    def setup(
        self,
        lake_uri_prefix: str,
        tables: Iterable[str],
        *,
        projection: bool = True,
        start_date: str = "2026-01-01",
    ) -> list[str]:
        """Create the database and the tables (idempotent); returns the statements run."""
        statements = self.statements_for_setup(
            lake_uri_prefix, tables, projection=projection, start_date=start_date
        )
        for sql in statements:
            self.execute(sql)
        return statements

    def register_day(
        self, lake_uri_prefix: str, tables: Iterable[str], date: str, *, projection: bool
    ) -> list[str]:
        """Make one day visible; returns the statements run (none with partition projection)."""
        prefix = validate_lake_uri(lake_uri_prefix)
        names = self._tables(tables)
        day = _day(date)
        if projection:
            return []
        statements = [
            add_partition_sql(table, day, f"{prefix}/{table}", database=self.database)
            for table in names
        ]
        for sql in statements:
            self.execute(sql)
        return statements

    def count_rows(self, table: str, date: str) -> int:
        """`count(*)` of one table's day, as Athena sees it."""
        (name,) = self._tables([table])
        day = _day(date)
        sql = f'SELECT count(*) FROM "{self.database}"."{name}" WHERE "date" = DATE \'{day}\''
        query_id = self.execute(sql)
        rows = self.fetch_rows(query_id)
        try:
            return int(rows[0][0])
        except (IndexError, TypeError, ValueError):
            raise AthenaError(
                f"Athena query {query_id} returned no count for {name} on {day}: {rows[:2]!r}",
                query_id=query_id,
            ) from None
