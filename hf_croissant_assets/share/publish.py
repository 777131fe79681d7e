"""Publish a day of the lake to a Hugging Face dataset repo, so nobody has to repeat the crawl.

One commit per day, on the Hub's Hive layout::

    data/hf_datasets/date=D/part-0.parquet
    data/hf_croissant/date=D/part-0.parquet
    README.md            the dataset card: YAML `configs` for the viewer, schema, method, caveats

Only those files are ever uploaded: never the lake's `_raw/`, `_staging/` or bookkeeping files,
never the DuckDB file, never a token. Re-publishing a day replaces its files (any other file under
that day's folders is deleted in the same commit); a day whose files are unchanged makes no
commit. The token must be allowed to write: that is checked (`whoami`) before anything else.

Plain huggingface_hub + pyarrow, no Dagster. huggingface_hub is imported on use, so the rest of the
project loads without it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from hf_croissant_assets.lake.store import PART_FILE, LakeStore, validate_date
from hf_croissant_assets.schema import LAKE_DATASETS, SCHEMA_VERSION, SCHEMA_VERSION_KEY, TABLES
from hf_croissant_assets.settings import env_name
from hf_croissant_assets.warehouse.arrow_types import athena_type

if TYPE_CHECKING:
    from huggingface_hub import DatasetCard, DatasetCardData, HfApi

log = logging.getLogger(__name__)

#: The lake tables that are published, in this order (every SQL table of the registry).
PUBLISHED_TABLES: tuple[str, ...] = tuple(TABLES)
CARD_PATH = "README.md"
#: Where the explorer file of the newest published day goes (replaced by each publish).
EXPLORER_REPO_PATH = "explorer/explorer.db"

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"
_REPO_ID_RE = re.compile(rf"^{_NAME}/{_NAME}$")
_LICENSE_RE = re.compile(r"^[a-z0-9][a-z0-9.+-]{0,63}$")
_DAY_FILE_RE = re.compile(
    r"^data/(?P<table>[a-z_]+)/date=(?P<date>\d{4}-\d{2}-\d{2})/(?P<name>[^/]+)$"
)


class PublishError(RuntimeError):
    """Publishing cannot go on; the message says why and what to change."""


class PublishTokenError(PublishError):
    """The token cannot write to the target repo (raised before any upload)."""


# -- validation ---------------------------------------------------------------------------------


def _named(value: object, setting: str | None) -> str:
    return f"{setting}={value!r}" if setting else repr(value)


def validate_repo_id(value: str | None, setting: str | None = None) -> str:
    """`namespace/name` as the Hub accepts it: huggingface_hub's own rules (no `--`/`..`, no
    `.git` suffix, <= 96 chars) plus a namespace, which a published snapshot needs."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id as hf_validate_repo_id

    repo_id = (value or "").strip()
    problem = None if _REPO_ID_RE.match(repo_id) else "has no namespace/name form"
    if problem is None:
        try:
            hf_validate_repo_id(repo_id)
        except HFValidationError as exc:
            problem = str(exc).splitlines()[0]
    if problem:
        raise ValueError(
            f"{_named(value, setting)} is not a Hub repo id of the form namespace/name "
            f"(letters, digits, '-', '_', '.'; e.g. my-org/hf-datasets-croissant): {problem}"
        )
    return repo_id


def validate_license(value: str | None, setting: str | None = None) -> str:
    license_id = (value or "").strip()
    if not _LICENSE_RE.match(license_id):
        raise ValueError(
            f"{_named(value, setting)} is not a Hub licence identifier (e.g. other, cc0-1.0, "
            "odc-by)"
        )
    return license_id


def repo_path(table: str, date: str, name: str = PART_FILE) -> str:
    """Where a table's day lives in the published repo (the lake's Hive layout under data/)."""
    return f"data/{table}/date={validate_date(date)}/{name}"


def day_files(paths: Iterable[str], table: str) -> dict[str, list[str]]:
    """date -> parquet paths of `table` in a repo listing (Hive folders `date=D`)."""
    out: dict[str, list[str]] = {}
    for path in paths:
        m = _DAY_FILE_RE.match(path)
        if m and m["table"] == table and m["name"].endswith(".parquet"):
            try:
                validate_date(m["date"])
            except ValueError:
                log.warning("ignoring %s: date=%s is not a real day", path, m["date"])
                continue
            out.setdefault(m["date"], []).append(path)
    return {d: sorted(p) for d, p in sorted(out.items())}


# -- the token ----------------------------------------------------------------------------------


def _fine_grained_can_write(access: dict[str, Any], repo_id: str) -> bool:
    namespace = repo_id.split("/", 1)[0]
    for scope in (access.get("fineGrained") or {}).get("scoped") or []:
        entity = scope.get("entity") or {}
        permissions = scope.get("permissions") or []
        if "repo.write" not in permissions:
            continue
        kind, name = entity.get("type"), entity.get("name")
        if (kind in ("user", "org") and name == namespace) or (
            kind == "dataset" and name == repo_id
        ):
            return True
    return False


def check_write_access(api: HfApi, repo_id: str, token: str | None) -> dict[str, Any]:
    """Fail with a clear message unless `token` may write to `repo_id`; returns who/role.

    Uses `whoami-v2`: the token's role (`read` / `write` / fine-grained scopes) and the account's
    organisations. Called before any other Hub request or file work.
    """
    from huggingface_hub.errors import HfHubHTTPError

    need = f"{env_name('publish_repo')} needs a write token"
    if not token:
        raise PublishTokenError(f"{need}; {env_name('hf_token_set')} is not set")
    try:
        who = api.whoami(token=token)
    except HfHubHTTPError as exc:
        status = getattr(exc.response, "status_code", None)
        if status == 401:
            raise PublishTokenError(
                f"{need}; {env_name('hf_token_set')} is not a valid token for {api.endpoint} (401)"
            ) from None
        raise PublishError(
            f"could not check {env_name('hf_token_set')} with whoami: {exc}"
        ) from None
    access = (who.get("auth") or {}).get("accessToken") or {}
    role = access.get("role")
    user = who.get("name")
    namespace = repo_id.split("/", 1)[0]
    if role == "read":
        raise PublishTokenError(f"{need}; {env_name('hf_token_set')} is read-only")
    if role == "fineGrained":
        if not _fine_grained_can_write(access, repo_id):
            raise PublishTokenError(
                f"{need}; {env_name('hf_token_set')} is a fine-grained token without the "
                f"repo.write permission on {namespace!r} or {repo_id!r}"
            )
    elif role not in ("write", "admin"):
        log.warning("publish: the token's role is %r; trying to write anyway", role)
    writable = {user} | {
        org.get("name")
        for org in who.get("orgs") or []
        if org.get("roleInOrg") in (None, "contributor", "write", "admin")
    }
    if role != "fineGrained" and namespace not in writable:
        raise PublishTokenError(
            f"{env_name('publish_repo')}={repo_id!r}: the account of {env_name('hf_token_set')} "
            f"({user!r}) cannot write to the namespace {namespace!r} (it can write to: "
            f"{', '.join(sorted(n for n in writable if n))})"
        )
    return {"user": user, "role": role}


# -- the dataset card ---------------------------------------------------------------------------


def _size_category(rows: int) -> str:
    bounds = [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
    ]
    for bound, label in bounds:
        if rows < bound:
            return label
    return "10M<n<100M"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def schema_markdown(table: str) -> str:
    """The column table of one published table, derived from schema.py."""
    lines = ["| column | type | description |", "|---|---|---|"]
    for f in TABLES[table]:
        comment = (f.metadata or {}).get(b"comment", b"").decode()
        lines.append(f"| `{f.name}` | `{athena_type(f.type)}` | {_cell(comment)} |")
    return "\n".join(lines)


def card_data(license_id: str, rows: int) -> DatasetCardData:
    """The card's YAML front matter: licence, size, tags, and one viewer config per published
    table (every day's file of that table; `hf_datasets` is the default)."""
    from huggingface_hub import DatasetCardData

    return DatasetCardData(
        license=license_id,
        pretty_name="Hugging Face Hub datasets and their Croissant metadata (daily snapshots)",
        size_categories=[_size_category(rows)],
        tags=["croissant", "metadata", "dataset-catalog", "huggingface-hub", "snapshot"],
        configs=[
            {
                "config_name": table,
                "data_files": [{"split": "train", "path": f"data/{table}/*/*.parquet"}],
                **({"default": True} if table == "hf_datasets" else {}),
            }
            for table in PUBLISHED_TABLES
        ],
    )


def dataset_card(
    repo_id: str,
    license_id: str,
    dates: list[str],
    rows: int,
    refresh_days: float | None = None,
    gated_documents: bool = False,
) -> DatasetCard:
    """README.md of the published repo: YAML front matter (configs, licence) + documentation.

    Deterministic: the same days and sizes give the same bytes (`str(card)`), so re-publishing an
    unchanged day makes no commit. Only our own text goes in (never a payload from the data).
    """
    from huggingface_hub import DatasetCard

    span = f"{len(dates)} day(s), {dates[0]} to {dates[-1]}" if dates else "none yet"
    example_day = dates[-1] if dates else "2026-01-01"
    refresh = f"{refresh_days:g}" if refresh_days is not None else "a few"
    sections = [
        "# Hugging Face Hub datasets and their Croissant metadata — daily snapshots",
        (
            "A complete daily snapshot of every dataset listed on the Hugging Face Hub: its listing "
            "metadata (`hf_datasets`) and its [Croissant](https://mlcommons.org/croissant/) JSON-LD "
            "document (`hf_croissant`), one row per dataset per UTC day. Produced and published by "
            "`hf_croissant_assets` (a Dagster project), so that nobody needs to repeat a crawl that "
            "costs days of rate limit."
        ),
        (
            f"Snapshots published: {span}. Schema version: `{SCHEMA_VERSION}` (stored in each "
            f"file's parquet key-value metadata under `{SCHEMA_VERSION_KEY}`)."
        ),
        "## Layout and use",
        (
            "```\n"
            + "".join(f"data/{t}/date=YYYY-MM-DD/part-0.parquet\n" for t in PUBLISHED_TABLES)
            + "```\n"
            "The day lives in the path only (Hive style), not inside the files. Every config of "
            "this card covers every day; filter on the `date=` folder for one day.\n\n"
            "```python\nimport duckdb\n"
            "# one day\n"
            f"duckdb.sql(\"SELECT status, count(*) FROM 'hf://datasets/{repo_id}/data/hf_croissant/"
            f"date={example_day}/*.parquet' GROUP BY 1\")\n"
            "# every day, with the day as a column\n"
            f"duckdb.sql(\"SELECT date, count(*) FROM read_parquet('hf://datasets/{repo_id}/data/"
            f"hf_datasets/*/*.parquet', hive_partitioning=true) GROUP BY 1 ORDER BY 1\")\n```\n\n"
            f'```python\nfrom datasets import load_dataset\nds = load_dataset("{repo_id}", '
            f'"hf_croissant", data_files="data/hf_croissant/date={example_day}/*.parquet")\n```'
        ),
        "## Browse it",
        (
            "When the publisher ships it, `explorer/explorer.db` is a SQLite file of the newest "
            "day (search, facets, a page per dataset): `pip install hf_croissant_assets` then "
            f"`hf-croissant explore --from-hub {repo_id}` opens it in a browser (Datasette)."
        ),
        "## Schema",
        *(
            f"### `{t}`\n\n{LAKE_DATASETS[t].description}\n\n" + schema_markdown(t)
            for t in PUBLISHED_TABLES
        ),
        "## How the data was collected",
        (
            "- **Listing**: once per UTC day, every page of `GET /api/datasets` (followed through "
            'the `Link: rel="next"` cursor until there is none, de-duplicated by id). '
            "`hf_datasets.request_time` is when the page was fetched.\n"
            "- **Croissant**: `GET /api/datasets/{id}/croissant`, **incrementally**: each day fetches "
            "datasets never fetched, datasets whose `sha`/`lastModified` changed since their "
            "document was fetched, documents whose last fetch failed transiently, then the stalest "
            f"documents (older than {refresh} days) — within a per-run budget paced to the Hub's "
            "announced rate limit. Every other listed dataset is **carried forward** from the newest "
            "earlier snapshot, so each day is a complete table: exactly one `hf_croissant` row per "
            "`hf_datasets` row.\n"
            "- **Curation**: typed columns are extracted tolerantly from the JSON-LD (any property may "
            "be missing or of an unexpected type; `parse_error` says why a served document could not "
            "be read).\n"
            "- **Checks** before a day is written and published: the schema equals the declared "
            "one, `dataset` is unique and non-null, `hf_croissant` has one row per listed dataset, "
            "and the row count did not drop sharply against the previous snapshot."
        ),
        "## Caveats",
        (
            "- **Carried-forward rows**: an `hf_croissant` row of day D may describe a document "
            "fetched on an earlier day. `request_time` says when it was fetched; its `sha` / "
            "`last_modified` say which revision of the repo it describes — compare them with the same "
            "day's `hf_datasets.sha` to know whether it is current.\n"
            "- **`request_time`**: ISO-8601 UTC text. In `hf_datasets`, when the listing page was "
            "fetched; in `hf_croissant`, when the document was fetched (null, with a null `status`, "
            "for a dataset not fetched yet — new lakes fill up over their first days).\n"
            "- **`status`**: the HTTP status of the Croissant answer. 200: document. 400: the Hub has "
            "no Croissant for this dataset (no parquet conversion). **401: gated (or private) "
            "datasets** — their documents need an accepted access request; unless the crawler's "
            "token was granted access, the row records the 401, not the document. 404: deleted "
            "between listing "
            "and fetch. 429/5xx: transient, fetched again on a later day. `reason` keeps the error "
            "body.\n"
            "- **No private datasets**: rows of private datasets are never published (a lake "
            "built with a token may hold them; they are removed from every table here).\n"
            + (
                "- **Gated datasets**: their Croissant documents are published as fetched with "
                "the crawler's token (the publisher chose to share them).\n"
                if gated_documents
                else "- **Gated datasets** (`hf_datasets.gated` auto/manual): their rows are "
                "published **without the Croissant document** (`croissant` and the columns "
                "parsed from it are null), even when the crawler's token was granted access: "
                "the document is behind the gate's terms; the tables derived from the document "
                "(" + ", ".join(f"`{t}`" for t in DOCUMENT_DERIVED_TABLES) + ") have no rows "
                "for them.\n"
            )
            + "- **Untrusted text**: descriptions, tags and documents are copied verbatim from dataset "
            "repositories. Some contain HTML, template or injection payloads: treat them as data — "
            "never render, template or evaluate them.\n"
            '- A day D is "the Hub as seen during UTC day D"; all timestamps are UTC. A day on which '
            "the crawl did not run is missing; the day after is complete again."
        ),
        "## Licence",
        (
            f"This compilation is published under `{license_id}`. The metadata it contains describes "
            "datasets owned by their authors: descriptions, tags and Croissant documents come from "
            "each dataset's card and repository and remain subject to that dataset's own licence and "
            "terms (see `hf_datasets.license` and `hf_croissant.license_url`). Use of the Hub's API is "
            "subject to the Hugging Face terms of service."
        ),
    ]
    body = "\n\n".join(sections) + "\n"
    return DatasetCard(f"---\n{card_data(license_id, rows).to_yaml()}\n---\n\n{body}")


# -- publishing a day ---------------------------------------------------------------------------


@dataclass
class PublishResult:
    repo_id: str
    date: str
    commit: str | None  # None: nothing changed, no commit made
    commit_url: str | None
    files: dict[str, int]  # path in repo -> bytes (the day's files and the card)
    uploaded: dict[str, int]  # the files this commit actually sent
    deleted: list[str]
    rows: dict[str, int]
    user: str | None
    published_days: int
    schema_version: str = SCHEMA_VERSION
    notes: list[str] = field(default_factory=list)

    @property
    def bytes_published(self) -> int:
        """Size of the day's two parquet files (what a day costs in the repo)."""
        return sum(n for p, n in self.files.items() if p not in (CARD_PATH, EXPLORER_REPO_PATH))

    @property
    def bytes_uploaded(self) -> int:
        return sum(self.uploaded.values())


def _hashes(path: str) -> tuple[str, str]:
    """(git blob sha1, sha256) of a file in one pass: what the Hub reports for regular / LFS."""
    size = os.path.getsize(path)
    sha1 = hashlib.sha1(b"blob %d\0" % size, usedforsecurity=False)  # git blob id
    sha256 = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * 1024 * 1024):
            sha1.update(chunk)
            sha256.update(chunk)
    return sha1.hexdigest(), sha256.hexdigest()


def _same_as_remote(local: str, remote: Any | None) -> bool:
    if remote is None:
        return False
    if getattr(remote, "size", None) != os.path.getsize(local):
        return False
    sha1, sha256 = _hashes(local)
    lfs = getattr(remote, "lfs", None)
    if lfs is not None:
        return lfs.sha256 == sha256
    return remote.blob_id == sha1


def _restricted_ids(store: LakeStore, date: str) -> tuple[set[str], set[str]]:
    """(private, gated) dataset ids of the day, from its `hf_datasets` partition."""
    private: set[str] = set()
    gated: set[str] = set()
    for batch in store.iter_batches("hf_datasets", date, columns=["dataset", "private", "gated"]):
        for dataset, is_private, gate in zip(
            batch.column(0).to_pylist(),
            batch.column(1).to_pylist(),
            batch.column(2).to_pylist(),
            strict=True,
        ):
            if is_private is True:
                private.add(dataset)
            if gate not in (None, "false"):
                gated.add(dataset)
    return private, gated


#: Tables whose rows are derived from the Croissant document (withheld for gated datasets).
DOCUMENT_DERIVED_TABLES: tuple[str, ...] = tuple(
    name for name, d in LAKE_DATASETS.items() if d.is_table and d.from_document
)

#: Columns of `hf_croissant` that hold or derive from the document (nulled for gated datasets).
DOCUMENT_COLUMNS_EXCEPT = ("dataset", "request_time", "status", "reason", "sha", "last_modified")


def _copy_out(
    store: LakeStore,
    table: str,
    date: str,
    directory: str,
    private: set[str],
    gated: set[str] | None,
) -> tuple[str, int]:
    """Copy a lake partition to a local file (a stable snapshot, also for S3 lakes), without
    the rows of private datasets and, when `gated` is given, without those datasets'
    documents (and the columns parsed from them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    src = store.part_path(table, date)
    dst = os.path.join(directory, f"{table}.parquet")
    parquet = store.parquet_file(table, date)
    version = (parquet.schema_arrow.metadata or {}).get(SCHEMA_VERSION_KEY.encode(), b"").decode()
    if version != SCHEMA_VERSION:
        raise PublishError(
            f"{store.url(src)} has schema version {version or 'none'}, this build writes "
            f"{SCHEMA_VERSION}: re-derive the day (materialize {table}) before publishing it"
        )
    schema = parquet.schema_arrow
    private_ids = pa.array(sorted(private), pa.string())
    gated_ids = pa.array(sorted(gated or ()), pa.string())

    def restricted(t: pa.Table) -> tuple[pa.Array, pa.Array]:
        """(rows to drop, rows whose document to hide) of a batch."""
        drop = pc.fill_null(pc.is_in(t.column("dataset"), value_set=private_ids), False)
        if table in DOCUMENT_DERIVED_TABLES and len(gated_ids):
            # Rows derived from a gated document are the document's content: withheld whole.
            drop = pc.or_(
                drop, pc.fill_null(pc.is_in(t.column("dataset"), value_set=gated_ids), False)
            )
        hide = pa.array([False] * t.num_rows)
        if table == "hf_croissant" and len(gated_ids):
            hide = pc.and_(
                pc.fill_null(pc.is_in(t.column("dataset"), value_set=gated_ids), False),
                pc.is_valid(t.column("croissant")),
            )
        return drop, hide

    needs_rewrite = False
    for batch in parquet.iter_batches(batch_size=65_536, columns=["dataset", "croissant"]
                                      if table == "hf_croissant" else ["dataset"]):  # fmt: skip
        drop, hide = restricted(pa.Table.from_batches([batch]))
        if pc.any(drop).as_py() or pc.any(hide).as_py():
            needs_rewrite = True
            break
    if not needs_rewrite:  # the lake's own bytes: an unchanged day makes no commit
        with store.fs.open_input_stream(src) as inp, open(dst, "wb") as out:
            while chunk := inp.read(8 * 1024 * 1024):
                out.write(chunk)
        return dst, parquet.metadata.num_rows
    rows = 0
    with pq.ParquetWriter(dst, schema, compression="zstd") as writer:
        for batch in parquet.iter_batches(batch_size=8192):
            t = pa.Table.from_batches([batch], schema=schema)
            drop, hide = restricted(t)
            if pc.any(hide).as_py():
                for i, f in enumerate(t.schema):
                    if f.name not in DOCUMENT_COLUMNS_EXCEPT:
                        t = t.set_column(
                            i, f, pc.if_else(hide, pa.scalar(None, f.type), t.column(i))
                        )
            t = t.filter(pc.invert(drop))
            if t.num_rows:
                writer.write_table(t)
                rows += t.num_rows
    return dst, rows


def publish_day(
    store: LakeStore,
    date: str,
    *,
    repo_id: str,
    token: str | None,
    endpoint: str,
    license_id: str = "other",
    refresh_days: float | None = None,
    gated_documents: bool = False,
    logger: logging.Logger | Any = log,
    explorer_path: str | None = None,
) -> PublishResult:
    """Upload day `date` of every published table plus the card as one commit.

    Rows of private datasets are never uploaded, whatever the settings (a private lake may hold
    them); gated datasets' rows are uploaded without their document unless `gated_documents`.

    `explorer_path`: a local explorer SQLite file of the same day (`explorer_db`), shipped as
    `explorer/explorer.db` so that `hf-croissant explore --from-hub REPO` works without a crawl.
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    repo_id = validate_repo_id(repo_id)
    license_id = validate_license(license_id)
    validate_date(date)
    api = HfApi(endpoint=endpoint, token=token or False, library_name="hf_croissant_assets")
    who = check_write_access(api, repo_id, token)  # before any other work
    for table in PUBLISHED_TABLES:
        if not store.exists(table, date):
            raise PublishError(
                f"publish {date}: no {table} partition in the lake "
                f"({store.url(store.part_path(table, date))}); materialize it first"
            )
    try:
        api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
        head = api.repo_info(repo_id, repo_type="dataset").sha
        remote = {
            entry.path: entry
            for entry in api.list_repo_tree(
                repo_id, repo_type="dataset", recursive=True, revision=head
            )
            if hasattr(entry, "blob_id")
        }
    except HfHubHTTPError as exc:
        raise PublishError(f"publish {date} to {repo_id}: {exc}") from None

    with tempfile.TemporaryDirectory(prefix="hf_croissant_publish_") as tmp:
        local: dict[str, str] = {}
        rows: dict[str, int] = {}
        private, gated = _restricted_ids(store, date)
        for table in PUBLISHED_TABLES:
            path, rows[table] = _copy_out(
                store, table, date, tmp, private, None if gated_documents else gated
            )
            local[repo_path(table, date)] = path
        day_dirs = tuple(f"data/{table}/date={date}/" for table in PUBLISHED_TABLES)
        stale = sorted(p for p in remote if p.startswith(day_dirs) and p not in local)
        kept = [p for p in remote if p not in stale]
        dates = sorted(set(day_files(kept, "hf_croissant")) | {date})
        if explorer_path is not None and date == dates[-1]:
            # the explorer shows the newest published day: re-publishing an older one keeps it
            local[EXPLORER_REPO_PATH] = explorer_path
        elif explorer_path is not None:
            logger.info(f"publish {date}: explorer file kept at the newer {dates[-1]}")
        card = dataset_card(
            repo_id, license_id, dates, rows["hf_datasets"], refresh_days, gated_documents
        )
        card_file = os.path.join(tmp, CARD_PATH)
        card.save(card_file)
        local[CARD_PATH] = card_file
        files = {p: os.path.getsize(f) for p, f in local.items()}
        changed = {p: f for p, f in local.items() if not _same_as_remote(f, remote.get(p))}
        if (
            EXPLORER_REPO_PATH in changed
            and EXPLORER_REPO_PATH in remote
            and not any(p.startswith(day_dirs) for p in changed)
        ):
            # derived from the day's table files, which are unchanged: a rebuild differs in
            # its bytes (build time, row order), not in what it holds
            del changed[EXPLORER_REPO_PATH]
        if not changed and not stale:
            logger.info(f"publish {date}: {repo_id} already has these files; no commit")
            return PublishResult(
                repo_id, date, None, None, files, {}, [], rows, who["user"], len(dates)
            )
        operations: list[Any] = [CommitOperationDelete(path_in_repo=p) for p in stale]
        operations += [
            CommitOperationAdd(path_in_repo=p, path_or_fileobj=f) for p, f in changed.items()
        ]
        description = (
            f"Daily snapshot {date} by hf_croissant_assets (schema version {SCHEMA_VERSION}): "
            + ", ".join(f"{t} {rows[t]} rows" for t in PUBLISHED_TABLES)
            + (f"; removed stale {', '.join(stale)}" if stale else "")
        )
        logger.info(
            f"publish {date}: committing {len(changed)} file(s) "
            f"({sum(files[p] for p in changed)} bytes) and {len(stale)} deletion(s) to {repo_id}"
        )
        try:
            info = api.create_commit(
                repo_id,
                operations,
                commit_message=f"Snapshot {date}",
                commit_description=description,
                repo_type="dataset",
                parent_commit=head,
            )
        except HfHubHTTPError as exc:
            raise PublishError(f"publish {date} to {repo_id}: commit failed: {exc}") from None
    return PublishResult(
        repo_id=repo_id,
        date=date,
        commit=info.oid,
        commit_url=info.commit_url,
        files=files,
        uploaded={p: files[p] for p in changed},
        deleted=stale,
        rows=rows,
        user=who["user"],
        published_days=len(dates),
    )
