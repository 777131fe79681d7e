"""Datasette metadata for an explorer file, generated from `schema.py` and the file itself.

Titles and column descriptions come from the registry (each column's `comment` field metadata),
so the explorer documents exactly what the lake declares. What the file holds (optional tables
such as `croissant_validation` or `hf_dataset_changes`, extra columns such as `license_spdx`)
decides the default facets and canned queries: an older lake gets fewer of them, never an error.

Canned queries are the example SQL of `warehouse/sql/query.sql` with the same text whenever it
runs on the explorer's SQLite views (`hf_datasets`, `hf_croissant` hold the newest day); the few
that need every day of the lake are answered from the explorer's `snapshots` / `history`
instead, and say so in their description.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlglot

from hf_croissant_assets.explore.build import (
    BUILD_TABLE,
    CHANGES_TABLE,
    CROISSANT_PREFIX,
    DATASETS_TABLE,
    DECLARED_BYTES_COLUMN,
    DOCUMENTS_TABLE,
    FIELD_TYPES_COLUMN,
    HISTORY_VIEW,
    SERIES_DAYS_TABLE,
    SERIES_TABLE,
    SNAPSHOTS_TABLE,
    VALIDATION_TABLE,
    build_info,
    comments,
)
from hf_croissant_assets.explore.page import ARRAY_SET_FACET, PLUGIN
from hf_croissant_assets.schema import LAKE_DATASETS, LakeDataset
from hf_croissant_assets.warehouse.queries import example_queries

TITLE = "Hugging Face Hub datasets and their Croissant metadata"

#: Facets shown by default on the datasets table, when the column exists (in this order). Each
#: is in the covering facet index (build.FACET_INDEX_COLUMNS); any other column can still be
#: faceted from the page (`?_facet=column`).
DEFAULT_FACETS: tuple[str, ...] = (
    "license",
    "license_spdx",
    "gated",
    "croissant_status",
    "croissant_valid",
)
#: JSON-array columns (distinct values per row) faceted by their values (the plugin's
#: `array_set` facet).
ARRAY_FACETS: tuple[str, ...] = ("croissant_encoding_formats", FIELD_TYPES_COLUMN)

#: Example queries that need every day of the lake: the explorer's answer from its own tables.
MULTI_DAY_QUERIES: dict[str, tuple[str, str]] = {
    "growth_per_day": (
        'SELECT "date", datasets\nFROM snapshots\nORDER BY "date"',
        (
            "Datasets listed per daily snapshot (from the explorer's `snapshots` table: row counts "
            "of every `hf_datasets` day)."
        ),
    ),
    "downloads_trend": (
        (
            'SELECT "date", dataset, downloads\nFROM history\nWHERE dataset = (\n'
            "  SELECT dataset FROM hf_datasets\n  ORDER BY downloads DESC, dataset\n  LIMIT 1\n)\n"
            'ORDER BY "date"'
        ),
        "Downloads of the most downloaded dataset over the explorer's series window.",
    ),
}
#: Example queries of `croissant_validation` answered from the datasets' validation columns
#: (SQLite has no UNNEST: json_each instead), when the explorer has them.
VALIDATION_QUERIES: dict[str, tuple[str, str]] = {
    "validity_latest": (
        (
            "SELECT CASE WHEN croissant_valid THEN 'valid' WHEN NOT croissant_valid THEN 'invalid'"
            "\n            ELSE 'not validated' END AS verdict,\n       count(*) AS documents\n"
            "FROM datasets\nWHERE croissant_status = 200\nGROUP BY 1\nORDER BY documents DESC, verdict"
        ),
        (
            "How many served Croissant documents does the MLCommons reference validator accept "
            "(from the datasets' croissant_valid column)?"
        ),
    ),
    "top_validation_errors_latest": (
        (
            "SELECT error, count(*) AS documents\nFROM (\n"
            "  SELECT DISTINCT d.dataset, e.value AS error\n  FROM datasets d,\n"
            "       json_each(d.croissant_errors) AS e\n"
            "  WHERE d.croissant_errors IS NOT NULL\n)\nGROUP BY error\n"
            "ORDER BY documents DESC, error\nLIMIT 20"
        ),
        (
            "The most common validation errors, by documents (from the datasets' "
            "croissant_errors; the lake's query also groups errors that differ only in quoted "
            "names)."
        ),
    ),
}
#: Example queries answered from the change events when the explorer has them.
CHANGES_QUERIES: dict[str, tuple[str, str]] = {
    "changed_latest": (
        (
            'SELECT dataset, change, "before", "after", previous_date\nFROM hf_dataset_changes\n'
            'WHERE "date" = (SELECT max("date") FROM hf_dataset_changes)\nORDER BY change, dataset'
        ),
        "Change events of the newest day (from `hf_dataset_changes`).",
    ),
}


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table','view')")
    }


def column_descriptions(
    columns: list[str], registry: Mapping[str, LakeDataset] = LAKE_DATASETS
) -> dict[str, str]:
    """Descriptions of the datasets table's columns, from the registry's comments."""
    listing = comments(registry["hf_datasets"].schema) if "hf_datasets" in registry else {}
    croissant = comments(registry["hf_croissant"].schema) if "hf_croissant" in registry else {}
    validation = comments(registry[VALIDATION_TABLE].schema) if VALIDATION_TABLE in registry else {}
    out: dict[str, str] = {"date": "the lake snapshot (UTC day) this row comes from"}
    out[FIELD_TYPES_COLUMN] = (
        "hf_croissant_fields.data_types: the distinct data types of the document's fields "
        "(a JSON array)"
    )
    out[DECLARED_BYTES_COLUMN] = (
        "hf_croissant_files.content_size_bytes: the sum of the declared sizes of the document's "
        "files (bytes; null when none declares one)"
    )
    for col in columns:
        if col in out:
            continue
        if col in listing:
            out[col] = listing[col]
        elif col.startswith(CROISSANT_PREFIX):
            base = col[len(CROISSANT_PREFIX) :]
            if base.startswith("validation_") and base[len("validation_") :] in validation:
                base = base[len("validation_") :]  # a validator column named like a fetch one
                text: str | None = validation[base]
                source = "croissant_validation"
            else:
                in_croissant = base in croissant or base not in validation
                text = croissant.get(base) if in_croissant else validation.get(base)
                source = "hf_croissant" if in_croissant else "croissant_validation"
            out[col] = f"{source}.{base}" + (f": {text}" if text else "")
    return {k: v for k, v in out.items() if k in columns or k == "date"}


def _runs(conn: sqlite3.Connection, sql: str) -> bool:
    try:
        conn.execute(f"EXPLAIN {sql}")
    except sqlite3.Error:
        return False
    return True


def canned_queries(conn: sqlite3.Connection, tables: set[str]) -> dict[str, dict[str, Any]]:
    """The example SQL as canned queries (same text where SQLite runs it), plus the explorer's."""
    out: dict[str, dict[str, Any]] = {}
    for name, sql in example_queries().items():
        lines = sql.splitlines()
        question = " ".join(line.lstrip("- ").strip() for line in lines if line.startswith("--"))
        body = "\n".join(line for line in lines if not line.startswith("--")).strip()
        description = question
        if name in MULTI_DAY_QUERIES:
            body, description = MULTI_DAY_QUERIES[name]
        elif name in VALIDATION_QUERIES:
            if not {"croissant_valid", "croissant_errors"} <= set(_columns(conn, DATASETS_TABLE)):
                continue
            body, description = VALIDATION_QUERIES[name]
        elif name in CHANGES_QUERIES:
            if CHANGES_TABLE not in tables:
                continue
            body, description = CHANGES_QUERIES[name]
        elif not _runs(conn, body):
            translated = sqlglot.transpile(body, read="athena", write="sqlite", pretty=True)[0]
            if not _runs(conn, translated):
                continue
            body = translated
            description += " (translated to SQLite by sqlglot)"
        else:
            description += " (the same SQL as analytics/query.sql; newest snapshot only)"
        out[name] = {"sql": body, "title": name.replace("_", " "), "description": description}
    out["dataset_history"] = {
        "sql": 'SELECT "date", downloads, likes FROM history WHERE dataset = :dataset ORDER BY "date"',
        "title": "dataset history",
        "description": "Downloads and likes of one dataset on each snapshot of the series window.",
    }
    if CHANGES_TABLE in tables:
        out["dataset_changes"] = {
            "sql": "SELECT * FROM hf_dataset_changes WHERE dataset = :dataset "
            'ORDER BY "date" DESC, change',
            "title": "dataset change events",
            "description": "Change events of one dataset over the explorer's window.",
        }
    return out


def explorer_metadata(
    db_path: str | Path,
    *,
    lake_url: str | None = None,
    registry: Mapping[str, LakeDataset] = LAKE_DATASETS,
) -> dict[str, Any]:
    """Datasette's metadata for the explorer file at `db_path` (database named by its stem)."""
    path = str(db_path)
    info = build_info(path)
    database = Path(path).stem
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = _tables(conn)
        columns = _columns(conn, DATASETS_TABLE)
        queries = canned_queries(conn, tables)
    finally:
        conn.close()
    facets: list[Any] = [c for c in DEFAULT_FACETS if c in columns]
    facets += [{ARRAY_SET_FACET: c} for c in ARRAY_FACETS if c in columns]
    day = info.get("date", "?")
    table_meta: dict[str, Any] = {
        DATASETS_TABLE: {
            "title": f"Datasets on the Hub ({day})",
            "description": "One row per dataset listed on the newest snapshot: listing metadata, "
            "then its Croissant columns (croissant_*). Search matches id, author, name, "
            "description and keywords; click an id for its page (history, document, snippets).",
            "columns": column_descriptions(columns, registry),
            "facets": facets,
            "sort_desc": "downloads",
            "size": 50,
            "label_column": "dataset",
        },
        DOCUMENTS_TABLE: {
            "title": "Croissant documents",
            "description": "The raw Croissant JSON-LD of each dataset as fetched (hf_croissant).",
        },
        SERIES_TABLE: {
            "title": "Daily series",
            "description": "Downloads and likes per snapshot, as JSON arrays aligned with "
            "series_days; the history view unrolls them.",
        },
        SERIES_DAYS_TABLE: {"title": "Days of the daily series"},
        SNAPSHOTS_TABLE: {"title": "Snapshots", "description": "Datasets listed per day."},
        HISTORY_VIEW: {"title": "History", "description": "One row per dataset and day."},
        BUILD_TABLE: {"hidden": True},
    }
    if CHANGES_TABLE in tables:
        table_meta[CHANGES_TABLE] = {
            "title": "Change events",
            "description": "What changed on the Hub, per day (hf_dataset_changes).",
            "columns": comments(registry[CHANGES_TABLE].schema)
            if CHANGES_TABLE in registry
            else {},
            "facets": ["change", "date"],
        }
    return {
        "title": TITLE,
        "description": f"Read-only explorer of the lake's snapshot of {day} (built "
        f"{info.get('built_at', '?')}). Data from the Hugging Face Hub: untrusted text, shown "
        "as text.",
        "source": "hf_croissant_assets",
        "databases": {
            database: {
                "title": f"Snapshot {day}",
                "tables": table_meta,
                "queries": queries,
            }
        },
        "plugins": {
            PLUGIN: {
                "database": database,
                "lake": lake_url or "./data/lake",
                "date": day,
            },
        },
    }
