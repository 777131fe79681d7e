"""The dataset page's content: listing, Croissant summary, document, history, events, snippets.

Plain functions over an explorer SQLite connection (the plugin calls them in Datasette's thread
pool; tests call them directly). They return plain values only: the template escapes every
string, and the chart is SVG coordinates computed here from numbers.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any
from urllib.parse import quote, urlencode

from hf_croissant_assets.explore.build import (
    CHANGES_TABLE,
    CROISSANT_PREFIX,
    DATASETS_TABLE,
    DOCUMENTS_TABLE,
    SERIES_DAYS_TABLE,
    SERIES_TABLE,
)

PLUGIN = "hf-croissant-explorer"
#: The plugin's facet type for JSON arrays of distinct values (`?_facet_array_set=column`).
ARRAY_SET_FACET = "array_set"
#: Validation errors listed on the dataset page (the column holds the validator's capped list).
TOP_ERRORS = 10
HUB_URL = "https://huggingface.co/datasets/"
#: Longest document shown pretty-printed (characters); the rest is cut with a note.
MAX_DOCUMENT_CHARS = 400_000
CHART_WIDTH, CHART_HEIGHT = 640, 160
#: Croissant columns shown in the summary, in this order (when present).
SUMMARY = (
    "status",
    "reason",
    "valid",
    "error_count",
    "errors",
    "warnings",
    "validator_version",
    "validation_reason",
    "conforms_to",
    "name",
    "license_url",
    "license_spdx",
    "record_set_count",
    "record_set_names",
    "field_count",
    "file_object_count",
    "file_set_count",
    "encoding_formats",
    "field_data_types",
    "declared_bytes",
    "keywords",
    "version",
    "date_published",
    "parse_error",
)
MAX_EVENTS = 500


def dataset_href(dataset_id: str) -> str:
    """The explorer path of a dataset's page (the id is a query value: any text is safe)."""
    return "/dataset?" + urlencode({"id": dataset_id})


def hub_url(dataset_id: str) -> str:
    return HUB_URL + quote(dataset_id, safe="/")


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def snippets(dataset_id: str, lake: str) -> dict[str, str]:
    """Copy-paste code that loads this dataset's rows from the lake (text, shown escaped)."""
    glob = lake.rstrip("/") + "/hf_datasets/date=*/*.parquet"
    return {
        "Python (lake.history)": (
            "from hf_croissant_assets import lake\n\n"
            f"lake.history({dataset_id!r})  # every snapshot of this dataset (polars)"
        ),
        "DuckDB": (
            'SELECT "date", downloads, likes, license, gated, sha\n'
            f"FROM read_parquet({_sql_literal(glob)}, hive_partitioning = true)\n"
            f"WHERE dataset = {_sql_literal(dataset_id)}\n"
            'ORDER BY "date";'
        ),
        "polars": (
            "import polars as pl\n\n"
            f"pl.scan_parquet({glob!r}, hive_partitioning=True)"
            f'.filter(pl.col("dataset") == {dataset_id!r}).sort("date").collect()'
        ),
        "Hub": hub_url(dataset_id),
    }


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table','view')")
    }


def pretty_document(text: str | None) -> str | None:
    """The JSON-LD indented for reading (as text; the raw text when it is not JSON)."""
    if text is None:
        return None
    try:
        pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        pretty = text
    if len(pretty) > MAX_DOCUMENT_CHARS:
        pretty = pretty[:MAX_DOCUMENT_CHARS] + f"\n… (cut at {MAX_DOCUMENT_CHARS} characters)"
    return pretty


def _series(values: list[float | None]) -> str:
    """SVG polyline points for values scaled to the chart (gaps skipped)."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    top = max(known) or 1
    n = max(len(values) - 1, 1)
    points = []
    for i, v in enumerate(values):
        if v is None:
            continue
        x = round(10 + (CHART_WIDTH - 20) * i / n, 1)
        y = round(CHART_HEIGHT - 10 - (CHART_HEIGHT - 20) * float(v) / top, 1)
        points.append(f"{x},{y}")
    return " ".join(points)


def _json_list(text: Any) -> list[str]:
    """A JSON array cell as a list of strings ([] when null or not an array)."""
    if not isinstance(text, str):
        return []
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def history(conn: sqlite3.Connection, dataset_id: str) -> dict[str, Any]:
    days = [r[0] for r in conn.execute(f"SELECT date FROM {SERIES_DAYS_TABLE} ORDER BY idx")]
    row = conn.execute(
        f"SELECT downloads, likes FROM {SERIES_TABLE} WHERE dataset = ?", (dataset_id,)
    ).fetchone()
    downloads = json.loads(row[0]) if row and row[0] else [None] * len(days)
    likes = json.loads(row[1]) if row and row[1] else [None] * len(days)
    rows = [
        {"date": d, "downloads": dl, "likes": lk}
        for d, dl, lk in zip(days, downloads, likes, strict=False)
    ]
    return {
        "rows": rows,
        "downloads_points": _series(downloads),
        "likes_points": _series(likes),
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "max_downloads": max((v for v in downloads if v is not None), default=None),
        "max_likes": max((v for v in likes if v is not None), default=None),
    }


def dataset_context(
    conn: sqlite3.Connection, dataset_id: str, config: dict[str, Any]
) -> dict[str, Any]:
    """Everything the dataset page shows, for `dataset_id` (found=False when unknown)."""
    cursor = conn.execute(f"SELECT * FROM {DATASETS_TABLE} WHERE dataset = ?", (dataset_id,))
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    context: dict[str, Any] = {
        "dataset_id": dataset_id,
        "found": row is not None,
        "snapshot": config.get("date"),
        "hub_url": hub_url(dataset_id),
    }
    if row is None:
        return context
    values = dict(zip(names, row, strict=True))
    tables = _tables(conn)
    context["listing"] = [(k, v) for k, v in values.items() if not k.startswith(CROISSANT_PREFIX)]
    summary = {
        k[len(CROISSANT_PREFIX) :]: v for k, v in values.items() if k.startswith(CROISSANT_PREFIX)
    }
    context["croissant"] = [(k, summary[k]) for k in SUMMARY if k in summary]
    context["croissant_status"] = summary.get("status")
    context["croissant_valid"] = summary.get("valid")
    context["has_validation"] = "valid" in summary
    errors = _json_list(summary.get("errors"))
    context["validation_errors"] = errors[:TOP_ERRORS]
    context["validation_error_count"] = summary.get("error_count") or len(errors)
    context["field_data_types"] = _json_list(summary.get("field_data_types"))
    document = None
    if DOCUMENTS_TABLE in tables:
        doc = conn.execute(
            f"SELECT croissant FROM {DOCUMENTS_TABLE} WHERE dataset = ?", (dataset_id,)
        ).fetchone()
        document = doc[0] if doc else None
    context["document"] = pretty_document(document)
    context["history"] = history(conn, dataset_id)
    context["has_events"] = CHANGES_TABLE in tables
    context["events"] = []
    if CHANGES_TABLE in tables:
        cur = conn.execute(
            f'SELECT * FROM {CHANGES_TABLE} WHERE dataset = ? ORDER BY "date" DESC LIMIT {MAX_EVENTS}',
            (dataset_id,),
        )
        cols = [d[0] for d in cur.description]
        context["event_columns"] = cols
        context["events"] = [list(r) for r in cur.fetchall()]
    context["snippets"] = snippets(dataset_id, str(config.get("lake") or "./data/lake"))
    return context
