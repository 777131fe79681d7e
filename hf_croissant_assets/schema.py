"""The table schemas: the single source of truth.

The parquet writers, the schema asset checks, the Athena DDL, the DuckDB views and the test of
`analytics/query.sql` all derive from the `pa.Schema` objects below. Nothing else in the project
spells a column list.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

#: Bumped whenever a table's columns change in a non-additive way. Stored in the parquet
#: key-value metadata so a reader (or a bootstrap from a published snapshot) can refuse a
#: file it does not understand.
SCHEMA_VERSION = "1"

#: The parquet key-value metadata key holding `SCHEMA_VERSION` (writers, Athena, bootstrap).
SCHEMA_VERSION_KEY = "hf_croissant_assets.schema_version"

#: Parquet key-value metadata of a `croissant_records` partition written by the crawl: a unique id
#: of that file, and the id of the snapshot file its carried-forward rows were copied from.
RECORDS_WRITE_KEY = "hf_croissant_assets.records_write"
CARRIED_FROM_KEY = "hf_croissant_assets.carried_from"
#: ... and of an `hf_croissant` partition: the id of the `croissant_records` file it was derived from.
DERIVED_FROM_RECORDS_KEY = "hf_croissant_assets.derived_from_records"

#: Fields requested from `GET /api/datasets` with `expand=`. With `expand`, the Hub returns only
#: those fields plus `_id`/`id`, so an explicit list keeps the response shape fixed. `cardData` and `siblings` are left out on purpose:
#: they are large and not needed by any table, and the listing must stay cheap.
LISTING_EXPAND: tuple[str, ...] = (
    "author",
    "createdAt",
    "description",
    "disabled",
    "downloads",
    "downloadsAllTime",
    "gated",
    "lastModified",
    "likes",
    "paperswithcode_id",
    "private",
    "sha",
    "tags",
    "trendingScore",
    "usedStorage",
)

#: Every value the Hub accepts for `expand` on the dataset listing; anything else is a 400.
VALID_LISTING_EXPAND: frozenset[str] = frozenset(
    {
        "author",
        "cardData",
        "citation",
        "createdAt",
        "description",
        "disabled",
        "downloads",
        "downloadsAllTime",
        "gated",
        "lastModified",
        "likes",
        "mainSize",
        "paperswithcode_id",
        "private",
        "resourceGroup",
        "sha",
        "siblings",
        "tags",
        "trendingScore",
        "usedStorage",
    }
)

TIMESTAMP = pa.timestamp("ms", tz="UTC")


def _field(name: str, type_: pa.DataType, comment: str = "") -> pa.Field:
    meta = {b"comment": comment.encode()} if comment else None
    return pa.field(name, type_, nullable=True, metadata=meta)


#: Raw listing as fetched: one row per dataset id, the Hub's JSON object kept verbatim so that
#: curated tables can be re-derived (backfilled) after a parser fix or a new column.
RAW_LISTING = pa.schema(
    [
        _field("id", pa.string(), "dataset id as listed"),
        _field("request_time", pa.string(), "ISO-8601 UTC time the page was fetched"),
        _field("sha", pa.string(), "the item's sha, pulled out for the incremental Croissant plan"),
        _field("last_modified", pa.string(), "the item's lastModified as sent, likewise"),
        _field("item", pa.string(), "the listing object as JSON text, untouched"),
    ]
)

#: `hf_datasets`: the seed job's columns, names and order (its Athena DDL), then additions.
#: `downloads_all_time` and `used_storage` are bigint: the seed's int would overflow.
HF_DATASETS = pa.schema(
    [
        _field("request_time", pa.string(), "ISO-8601 UTC time the listing page was fetched"),
        _field("dataset", pa.string(), "dataset id, e.g. rajpurkar/squad_v2"),
        _field("author", pa.string()),
        _field("created_at", TIMESTAMP),
        _field("last_modified", TIMESTAMP),
        _field("private", pa.bool_()),
        _field("disabled", pa.bool_()),
        _field("gated", pa.string(), "false, auto or manual"),
        _field("downloads", pa.int32(), "downloads over the last 30 days"),
        _field("downloads_all_time", pa.int64(), "bigint: all-time counts exceed 32 bits"),
        _field("tags", pa.list_(pa.string())),
        _field("license", pa.string(), "from the license: tag"),
        _field("trending_score", pa.float64()),
        # Additions after the seed columns.
        _field("likes", pa.int32()),
        _field("sha", pa.string(), "git sha of the repo head"),
        _field("used_storage", pa.int64(), "bytes"),
        _field("description", pa.string()),
        _field("paperswithcode_id", pa.string()),
        _field(
            "license_spdx",
            pa.string(),
            "SPDX id of the license: tag (null when it has none); the raw tag is license",
        ),
    ]
)

#: Raw Croissant fetch results: one row per listed dataset per day, fetched that day or
#: carried forward from the newest earlier snapshot. `hf_croissant` is derived from it.
CROISSANT_RECORDS = pa.schema(
    [
        _field("dataset", pa.string()),
        _field(
            "request_time",
            pa.string(),
            "ISO-8601 UTC time the document was fetched; may be an earlier day",
        ),
        _field("status", pa.int32(), "HTTP status, null if never fetched"),
        _field("reason", pa.string(), "error body or message for a non-200 or malformed answer"),
        _field("croissant", pa.string(), "the raw JSON-LD text, untouched"),
        _field("sha", pa.string(), "repo sha when the document was fetched"),
        _field("last_modified", TIMESTAMP, "repo lastModified when the document was fetched"),
    ]
)

#: Typed columns extracted by `croissant.parse_croissant` (the parser returns exactly these keys).
CROISSANT_PARSED = pa.schema(
    [
        _field("conforms_to", pa.string(), "first dct:conformsTo value"),
        _field("name", pa.string()),
        _field("description", pa.string()),
        _field("license_url", pa.string()),
        _field("url", pa.string()),
        _field("keywords", pa.list_(pa.string())),
        _field("creator_name", pa.string()),
        _field("date_published", pa.string()),
        _field("version", pa.string()),
        _field("cite_as", pa.string()),
        _field("record_set_count", pa.int32()),
        _field("record_set_names", pa.list_(pa.string())),
        _field("file_object_count", pa.int32()),
        _field("file_set_count", pa.int32()),
        _field("field_count", pa.int32()),
        _field("encoding_formats", pa.list_(pa.string())),
        _field("parse_error", pa.string(), "why the document could not be (fully) parsed"),
        _field(
            "license_spdx",
            pa.string(),
            "SPDX id of the license URL (null when not recognised); the raw URL is license_url",
        ),
    ]
)

#: `hf_croissant`: the raw record followed by the typed columns.
HF_CROISSANT = pa.schema(list(CROISSANT_RECORDS) + list(CROISSANT_PARSED))

#: The kinds of `hf_dataset_changes.change`, in the order reports list them
#: (`curate/changes.py` defines what each means).
CHANGE_KINDS: tuple[str, ...] = (
    "created",
    "deleted",
    "updated",
    "license_changed",
    "gated_changed",
    "disabled_changed",
    "croissant_appeared",
    "croissant_disappeared",
    "croissant_changed",
    "croissant_status_changed",
    "downloads_jump",
)

#: `hf_dataset_changes`: one row per event between a day and the newest earlier snapshot.
HF_DATASET_CHANGES = pa.schema(
    [
        _field("dataset", pa.string(), "dataset id"),
        _field("change", pa.string(), "event kind: " + ", ".join(CHANGE_KINDS)),
        _field("before", pa.string(), "value on previous_date (null if absent)"),
        _field("after", pa.string(), "value on the day (null if absent)"),
        _field("previous_date", pa.date32(), "the newest earlier snapshot compared with"),
    ]
)


#: `hf_croissant_fields`: one row per field of every record set of a day's Croissant documents,
#: nested `subField`s flattened with a path. Derived from `hf_croissant` (`curate/croissant_depth`).
HF_CROISSANT_FIELDS = pa.schema(
    [
        _field("dataset", pa.string()),
        _field("record_set", pa.string(), "the record set's name, else its @id, else #index"),
        _field(
            "field_path",
            pa.string(),
            "field names from the record set down, joined by /; unique within a record set",
        ),
        _field("field_name", pa.string(), "name, else the last segment of @id, else #index"),
        _field("field_id", pa.string(), "the field's @id as declared"),
        _field("depth", pa.int32(), "0 for a record set's field, 1 for its subField, ..."),
        _field("data_types", pa.list_(pa.string()), "dataType values as declared"),
        _field("description", pa.string(), "capped"),
        _field("source_file", pa.string(), "@id of the FileObject / FileSet it extracts from"),
        _field("source_extract", pa.string(), "column, jsonPath or fileProperty"),
        _field("source_column", pa.string(), "the extract value (column name, path, property)"),
        _field("is_array", pa.bool_(), "isArray (or the older repeated) is true"),
        _field("references", pa.string(), "@id of the referenced field, when declared"),
        _field("reason", pa.string(), "what was capped or unusable while exploding the document"),
    ]
)

#: `hf_croissant_files`: one row per `distribution` entry of a day's Croissant documents.
HF_CROISSANT_FILES = pa.schema(
    [
        _field("dataset", pa.string()),
        _field("file_id", pa.string(), "@id, else name, else #index; unique within a dataset"),
        _field("kind", pa.string(), "FileObject, FileSet or the declared @type"),
        _field("name", pa.string()),
        _field("content_url", pa.string()),
        _field("encoding_format", pa.string(), "first encodingFormat value"),
        _field("content_size", pa.string(), "contentSize as declared (123 B, 1.2 MB, 42)"),
        _field("content_size_bytes", pa.int64(), "contentSize parsed to bytes (kB = 1000)"),
        _field("includes", pa.list_(pa.string()), "FileSet glob(s)"),
        _field("contained_in", pa.list_(pa.string()), "@id(s) of the containing file(s)"),
        _field("sha256", pa.string()),
        _field("md5", pa.string()),
        _field("reason", pa.string(), "what was capped or unusable (e.g. an unparsable size)"),
    ]
)

#: `croissant_validation`: the MLCommons reference validator's verdict on each served document.
CROISSANT_VALIDATION = pa.schema(
    [
        _field("dataset", pa.string()),
        _field("document_sha256", pa.string(), "sha256 of the validated document text"),
        _field("valid", pa.bool_(), "null when not validated (see reason)"),
        _field("errors", pa.list_(pa.string()), "validator errors, capped"),
        _field("warnings", pa.list_(pa.string()), "validator warnings, capped"),
        _field("error_count", pa.int32(), "errors before capping"),
        _field("warning_count", pa.int32(), "warnings before capping"),
        _field("validator_version", pa.string(), "mlcroissant version that produced the verdict"),
        _field(
            "validated_at", pa.string(), "ISO-8601 UTC time of validation; may be an earlier day"
        ),
        _field("seconds", pa.float64(), "time the validator took on the document"),
        _field("reason", pa.string(), "timeout, remote @context, not validated yet, ..."),
    ]
)


@dataclass(frozen=True)
class LakeDataset:
    """One partitioned dataset of the lake: its name, where it lives, its schema."""

    name: str
    #: Folder under the lake root holding `date=D/part-0.parquet` files.
    prefix: str
    schema: pa.Schema
    #: True for the tables exposed through DuckDB / Athena; False for raw inputs.
    is_table: bool
    #: Columns that identify a row within a day (the `key_unique` check enforces them).
    key: tuple[str, ...] = ("dataset",)
    #: One paragraph for the published dataset card and the asset description.
    description: str = ""
    #: Column each partition file is sorted by (row groups then hold disjoint id ranges, so a
    #: filter on one id reads one row group per day); None: written in arrival order.
    sort_key: str | None = None
    #: True for tables whose rows are derived from the Croissant documents (publishing withholds
    #: the rows of gated datasets, as it withholds their documents).
    from_document: bool = False
    #: Tables without a `sort_key` only: rows per row group, gathered across writes (None: one
    #: row group per write). For narrow tables written in small pieces, whose footers would
    #: otherwise grow with the number of writes (each row group's metadata is kept in memory by
    #: every reader and by the writer until it closes).
    row_group_rows: int | None = None


#: Row-group size of the per-document tables (`hf_croissant_fields`, `hf_croissant_files`;
#: 3-4 MB in memory per group). Written one row group per curated chunk of 2,048 documents,
#: they had ~3.5k-row (files) and ~13k-row (fields) row groups, ~490 per file at 1M datasets,
#: and reading the two footers alone took ~12 MB (6 MB at 500k) while a day was derived from
#: the day before, the writers as much again: memory that grew with the Hub.
DOCUMENT_ROWS_ROW_GROUP = 32_768

#: Every partitioned dataset in the lake: the one registry (the store, the SQL engines, the
#: checks, publishing and bootstrap derive from it).
LAKE_DATASETS: dict[str, LakeDataset] = {
    d.name: d
    for d in (
        LakeDataset(
            "hf_datasets",
            "hf_datasets",
            HF_DATASETS,
            is_table=True,
            sort_key="dataset",
            description="The Hub's dataset listing (`GET /api/datasets` with an explicit "
            "`expand` list), curated.",
        ),
        LakeDataset(
            "hf_croissant",
            "hf_croissant",
            HF_CROISSANT,
            is_table=True,
            sort_key="dataset",
            description="The Croissant answer for each listed dataset, raw and untouched "
            "(`croissant`), followed by typed columns parsed from it.",
        ),
        LakeDataset("raw_listing", "_raw/listing", RAW_LISTING, is_table=False),
        LakeDataset(
            "croissant_records", "_raw/croissant_records", CROISSANT_RECORDS, is_table=False
        ),
        LakeDataset(
            "hf_dataset_changes",
            "hf_dataset_changes",
            HF_DATASET_CHANGES,
            is_table=True,
            key=("dataset", "change"),
            sort_key="dataset",
            description="What changed on the Hub: one row per event between the day and the "
            "newest earlier snapshot (`previous_date`), derived from `hf_datasets` and "
            "`hf_croissant` — created, deleted, updated (sha), license/gated/disabled changes, "
            "Croissant appeared, disappeared, changed or changed status, downloads jumps. Files "
            "are sorted by `dataset`, so a filter on one id reads one row group per day.",
        ),
        LakeDataset(
            "hf_croissant_fields",
            "hf_croissant_fields",
            HF_CROISSANT_FIELDS,
            is_table=True,
            from_document=True,
            row_group_rows=DOCUMENT_ROWS_ROW_GROUP,
            key=("dataset", "record_set", "field_path"),
            description="One row per field of every record set of the day's Croissant "
            "documents, nested subFields flattened with a `/` path: data types, source file and "
            "column, arrays, references.",
        ),
        LakeDataset(
            "hf_croissant_files",
            "hf_croissant_files",
            HF_CROISSANT_FILES,
            is_table=True,
            from_document=True,
            row_group_rows=DOCUMENT_ROWS_ROW_GROUP,
            key=("dataset", "file_id"),
            description="One row per `distribution` entry (FileObject / FileSet) of the day's "
            "Croissant documents: format, URL, globs, checksums, declared size parsed to bytes.",
        ),
        LakeDataset(
            "croissant_validation",
            "croissant_validation",
            CROISSANT_VALIDATION,
            is_table=True,
            from_document=True,
            description="The MLCommons reference validator's verdict (mlcroissant, offline) on "
            "every served Croissant document: valid, errors, warnings, validator version. "
            "Unchanged documents carry their verdict forward.",
        ),
    )
}

#: Every partitioned dataset's schema, by name.
DATASETS: dict[str, pa.Schema] = {name: d.schema for name, d in LAKE_DATASETS.items()}

#: The lake tables exposed through DuckDB / Athena, by name.
TABLES: dict[str, pa.Schema] = {name: d.schema for name, d in LAKE_DATASETS.items() if d.is_table}


def with_version(schema: pa.Schema) -> pa.Schema:
    """Attach the schema version to the parquet key-value metadata."""
    meta = dict(schema.metadata or {})
    meta[SCHEMA_VERSION_KEY.encode()] = SCHEMA_VERSION.encode()
    return schema.with_metadata(meta)


def strip_field_metadata(schema: pa.Schema) -> pa.Schema:
    """Schema without comments or version, for comparing a written file with the declaration."""
    return pa.schema([pa.field(f.name, f.type, f.nullable) for f in schema])
