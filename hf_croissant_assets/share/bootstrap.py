"""Start a new lake from a published snapshot instead of a multi-day full crawl.

When `croissant_records` is built for day D and the lake holds no earlier snapshot
(`store.newest_before("croissant_records", D) is None`), the newest `hf_croissant` day P < D
published in a Hub dataset repo (see `publish.py`) is imported as the lake's
`_raw/croissant_records/date=P/part-0.parquet`. The incremental plan then sees it as the earlier
snapshot: it fetches only the datasets that are new, changed (`sha`/`lastModified`) or failed since
P, and carries every other row forward with its original `request_time`, `sha` and `status`.

If only day D itself is published (the publisher already ran today), it is imported under the
date D-1 (its rows keep their own request times; the folder name only has to sort before D). A
published day after D is never used.

The published file is checked first: its schema version (parquet key-value metadata) must have the
same major version as this build — a different one is refused with a clear message; within the
same major version, extra columns (an additive change) are dropped and missing columns are added
as nulls. `dataset` must be present, non-null and unique.

The same day's published `croissant_validation`, when there is one, is imported beside it
(best effort), so the new lake validates only the documents that changed.

Plain huggingface_hub + pyarrow, no Dagster; bounded memory (the file is streamed in batches).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import date as Date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hf_croissant_assets.lake.store import LakeStore, validate_date
from hf_croissant_assets.schema import (
    CROISSANT_RECORDS,
    CROISSANT_VALIDATION,
    HF_CROISSANT,
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
)
from hf_croissant_assets.settings import env_name
from hf_croissant_assets.share.publish import day_files, validate_repo_id

log = logging.getLogger(__name__)

PUBLISHED_TABLE = "hf_croissant"
#: Provenance of an imported snapshot, next to the lake's other bookkeeping.
PROVENANCE = "_bootstrap/croissant_records-{date}.json"


class BootstrapError(RuntimeError):
    """The published snapshot cannot be used; the message says why and what to do."""


@dataclass
class BootstrapResult:
    status: str  # "not_needed" | "imported" | "nothing_published"
    repo_id: str
    note: str
    previous_snapshot: str | None = None  # the lake's own earlier snapshot (not_needed)
    published_date: str | None = None
    imported_as: str | None = None
    revision: str | None = None
    files: list[str] = field(default_factory=list)
    rows: int = 0
    bytes_downloaded: int = 0
    schema_version: str | None = None
    columns_added: list[str] = field(default_factory=list)
    columns_dropped: list[str] = field(default_factory=list)
    #: rows of the same day's published croissant_validation imported (0: none published)
    validation_rows: int = 0
    wall_s: float = 0.0

    def as_metadata(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], "")}


def choose_day(published: list[str], date: str) -> tuple[str, str, str] | None:
    """(published day P, lake date to import it as, note) for building `date`, or None."""
    earlier = [d for d in published if d < date]
    if earlier:
        return earlier[-1], earlier[-1], f"newest published day before {date}"
    if date in published:
        before = (Date.fromisoformat(date) - timedelta(days=1)).isoformat()
        return (
            date,
            before,
            (
                f"only {date} itself is published: imported as the earlier snapshot under "
                f"date={before} (rows keep their original request_time)"
            ),
        )
    return None


def check_schema_version(metadata: dict[bytes, bytes] | None, where: str) -> str:
    """The file's schema version if this build can read it, else BootstrapError."""
    raw = (metadata or {}).get(SCHEMA_VERSION_KEY.encode())
    if raw is None:
        raise BootstrapError(
            f"{where} has no {SCHEMA_VERSION_KEY} metadata: it was not published by "
            f"hf_croissant_assets and cannot be imported (unset {env_name('bootstrap_repo')} to "
            "crawl from scratch)"
        )
    version = raw.decode(errors="replace")
    if version.split(".", 1)[0] != SCHEMA_VERSION.split(".", 1)[0]:
        raise BootstrapError(
            f"{where} has schema version {version!r}, but this build of hf_croissant_assets "
            f"reads schema version {SCHEMA_VERSION!r}: a different major version is not "
            f"compatible and is refused. Use a release of hf_croissant_assets with schema "
            f"version {version!r}, or unset {env_name('bootstrap_repo')} to crawl from scratch."
        )
    return version


def plan_columns(schema: pa.Schema, where: str) -> tuple[list[str], list[str], list[str]]:
    """(columns to read, columns added as nulls, extra columns dropped) for CROISSANT_RECORDS."""
    names = set(schema.names)
    if "dataset" not in names:
        raise BootstrapError(f"{where} has no `dataset` column")
    read = [n for n in CROISSANT_RECORDS.names if n in names]
    added = [n for n in CROISSANT_RECORDS.names if n not in names]
    dropped = [n for n in schema.names if n not in HF_CROISSANT.names]
    return read, added, dropped


#: How far in the future a published `request_time` may be (clock skew), at most.
FUTURE_SLACK = timedelta(hours=1)


def validate_rows(table: pa.Table, where: str, now: datetime | None = None) -> None:
    """Refuse a published batch whose rows could not have been written by a real crawl: an id
    that is not a Hub repo id, a status outside 100..599, a `request_time` that does not parse
    or lies in the future (it would never be refreshed)."""
    from hf_croissant_assets.curate.listing_rows import parse_timestamp
    from hf_croissant_assets.hub.client import invalid_repo_id

    limit = (now or datetime.now(UTC)) + FUTURE_SLACK
    columns = table.select(["dataset", "status", "request_time"]).to_pydict()
    for dataset, status, request_time in zip(
        columns["dataset"], columns["status"], columns["request_time"], strict=True
    ):
        problem = invalid_repo_id(dataset)
        if problem is None and status is not None and not 100 <= status <= 599:
            problem = f"{dataset!r} has status {status}, not an HTTP status"
        if problem is None and request_time is not None:
            when = parse_timestamp(request_time)
            if when is None:
                problem = f"{dataset!r} has request_time {str(request_time)[:50]!r}, not a time"
            elif when > limit:
                problem = f"{dataset!r} has request_time {request_time!r}, in the future"
        if problem:
            raise BootstrapError(
                f"{where}: {problem}; the file is refused and nothing was imported (unset "
                f"{env_name('bootstrap_repo')} to crawl from scratch)"
            )


def adapt(batch: pa.RecordBatch, where: str) -> pa.Table:
    """A batch of the published table as CROISSANT_RECORDS (nulls for missing columns)."""
    columns = []
    for f in CROISSANT_RECORDS:
        if f.name in batch.schema.names:
            column = batch.column(f.name)
            try:
                column = column.cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise BootstrapError(
                    f"{where}: column {f.name} ({column.type}) cannot be read as {f.type}: {exc}"
                ) from None
        else:
            column = pa.nulls(batch.num_rows, f.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=CROISSANT_RECORDS)


def _download(
    repo_id: str, path: str, revision: str | None, endpoint: str, auth: str | bool, tmp: str
) -> str:
    """One published file, through huggingface_hub (its retries, ETag checks and auth)."""
    from huggingface_hub import hf_hub_download

    return hf_hub_download(
        repo_id,
        path,
        repo_type="dataset",
        revision=revision,
        endpoint=endpoint,
        token=auth,
        cache_dir=tmp,
        library_name="hf_croissant_assets",
    )


def _import_validation(
    store: LakeStore,
    listing: list[str],
    day: str,
    imported_as: str,
    repo_id: str,
    revision: str | None,
    endpoint: str,
    auth: str | bool,
    tmp: str,
    logger: logging.Logger | Any,
) -> int:
    """The published `croissant_validation` of the same day, imported beside the records, so the
    new lake's validator re-checks only what changed. Best effort: any problem is logged and the
    documents are simply validated again (0 rows imported)."""
    paths = day_files(listing, "croissant_validation").get(day, [])
    if not paths or store.exists("croissant_validation", imported_as):
        return 0
    try:
        with store.writer("croissant_validation", imported_as) as writer:
            for path in paths:
                where = f"{repo_id}@{revision}:{path}"
                file = _download(repo_id, path, revision, endpoint, auth, tmp)
                parquet = pq.ParquetFile(file)
                check_schema_version(parquet.schema_arrow.metadata, where)
                names = set(parquet.schema_arrow.names)
                for batch in parquet.iter_batches(batch_size=8192):
                    columns = [
                        batch.column(f.name).cast(f.type)
                        if f.name in names
                        else pa.nulls(batch.num_rows, f.type)
                        for f in CROISSANT_VALIDATION
                    ]
                    writer.write(pa.Table.from_arrays(columns, schema=CROISSANT_VALIDATION))
        return writer.rows
    except Exception as exc:  # noqa: BLE001 - an optional speed-up: never fails the bootstrap
        logger.warning(f"bootstrap: published croissant_validation {day} not imported: {exc}")
        return 0


def bootstrap_croissant_records(
    store: LakeStore,
    date: str,
    *,
    repo_id: str,
    endpoint: str,
    token: str | None = None,
    logger: logging.Logger | Any = log,
    batch_size: int = 8192,
) -> BootstrapResult:
    """Import the newest published snapshot if the lake has no snapshot before `date`."""
    started = time.monotonic()
    repo_id = validate_repo_id(repo_id, env_name("bootstrap_repo"))
    validate_date(date)
    previous = store.newest_before("croissant_records", date)
    if previous is not None:
        return BootstrapResult(
            "not_needed",
            repo_id,
            f"the lake already has an earlier snapshot ({previous})",
            previous_snapshot=previous,
        )

    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    auth: str | bool = token or False  # never fall back to a token saved on this machine
    api = HfApi(endpoint=endpoint, token=auth, library_name="hf_croissant_assets")
    try:
        revision = api.repo_info(repo_id, repo_type="dataset").sha
        listing = api.list_repo_files(repo_id, repo_type="dataset", revision=revision)
    except RepositoryNotFoundError:
        raise BootstrapError(
            f"{env_name('bootstrap_repo')}={repo_id!r}: no such dataset repo at {endpoint} "
            f"(or it is private and {env_name('hf_token_set')} cannot read it)"
        ) from None
    except HfHubHTTPError as exc:
        raise BootstrapError(f"{env_name('bootstrap_repo')}={repo_id!r}: {exc}") from None
    published = day_files(listing, PUBLISHED_TABLE)
    choice = choose_day(list(published), date)
    if choice is None:
        note = (
            f"{repo_id} has no published {PUBLISHED_TABLE} day up to {date} "
            f"(published: {', '.join(published) or 'none'}); crawling from scratch"
        )
        logger.warning(f"bootstrap {date}: {note}")
        return BootstrapResult("nothing_published", repo_id, note, revision=revision)
    day, imported_as, note = choice
    paths = published[day]
    logger.info(
        f"bootstrap {date}: the lake has no earlier Croissant snapshot; importing {repo_id}@"
        f"{revision[:12] if revision else '?'} {PUBLISHED_TABLE} {day} ({note})"
    )
    result = BootstrapResult(
        "imported",
        repo_id,
        note,
        published_date=day,
        imported_as=imported_as,
        revision=revision,
        files=paths,
    )
    with tempfile.TemporaryDirectory(prefix="hf_croissant_bootstrap_") as tmp:
        local = []
        for path in paths:
            try:
                local.append(_download(repo_id, path, revision, endpoint, auth, tmp))
            except HfHubHTTPError as exc:
                raise BootstrapError(f"{repo_id}: downloading {path} failed: {exc}") from None
        # Every file is checked before anything is written into the lake.
        files = []
        for path, file in zip(paths, local, strict=True):
            where = f"{repo_id}@{revision}:{path}"
            parquet = pq.ParquetFile(file)
            schema = parquet.schema_arrow
            result.schema_version = check_schema_version(schema.metadata, where)
            read, added, dropped = plan_columns(schema, where)
            result.columns_added = sorted(set(result.columns_added) | set(added))
            result.columns_dropped = sorted(set(result.columns_dropped) | set(dropped))
            result.bytes_downloaded += os.path.getsize(file)
            files.append((where, parquet, read))
        seen: set[str] = set()
        with store.writer("croissant_records", imported_as) as writer:
            for where, parquet, read in files:
                for batch in parquet.iter_batches(batch_size=batch_size, columns=read):
                    table = adapt(batch, where)
                    ids = table.column("dataset").to_pylist()
                    if None in ids:
                        raise BootstrapError(f"{where}: a row has a null `dataset`")
                    validate_rows(table, where)
                    before = len(seen)
                    seen.update(ids)
                    if len(seen) - before != len(ids):
                        raise BootstrapError(f"{where}: `dataset` values are not unique")
                    writer.write(table)
        result.rows = writer.rows
        result.validation_rows = _import_validation(
            store, listing, day, imported_as, repo_id, revision, endpoint, auth, tmp, logger
        )
    result.wall_s = round(time.monotonic() - started, 3)
    store.write_json(PROVENANCE.format(date=imported_as), result.as_metadata())
    logger.info(
        f"bootstrap {date}: imported {result.rows} rows of {day} as "
        f"croissant_records date={imported_as} ({result.wall_s:g} s)"
    )
    return result
