"""Raw Hub answers -> typed rows of the lake tables. Pure functions, no I/O.

Everything the Hub sends is untrusted: a field may be missing, null or of another type than the
docs say. A value that does not fit its column becomes null; it never fails the day.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from hf_croissant_assets.curate.licenses import spdx_from_tag
from hf_croissant_assets.schema import HF_DATASETS, RAW_LISTING

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _int(value: Any, limit: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    return value if -limit - 1 <= value <= limit else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def parse_timestamp(value: Any) -> datetime | None:
    """The Hub's `2024-05-01T12:34:56.000Z` (or any ISO-8601 form) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def gated_value(value: Any) -> str | None:
    """`gated` arrives as boolean false or as the string "auto"/"manual"."""
    if value is False:
        return "false"
    if value is True:
        return "true"
    if isinstance(value, str):
        return value.strip().lower() or None
    return None


def tags_value(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    return [t for t in value if isinstance(t, str)]


def license_from_tags(tags: list[str] | None) -> str | None:
    for tag in tags or ():
        if tag.startswith("license:"):
            return tag[len("license:") :] or None
    return None


def raw_listing_table(items: list[dict[str, Any]], request_time: str) -> pa.Table:
    """One page of the listing as raw rows (the object kept verbatim as JSON text)."""
    return pa.table(
        {
            "id": [item["id"] for item in items],
            "request_time": [request_time] * len(items),
            "sha": [_str(item.get("sha")) for item in items],
            "last_modified": [_str(item.get("lastModified")) for item in items],
            "item": [json.dumps(item, ensure_ascii=False, separators=(",", ":")) for item in items],
        },
        schema=RAW_LISTING,
    )


def dataset_row(item: dict[str, Any], request_time: str | None) -> dict[str, Any]:
    """One listing object -> one `hf_datasets` row."""
    dataset = _str(item.get("id"))
    tags = tags_value(item.get("tags"))
    license_tag = license_from_tags(tags)
    author = _str(item.get("author"))
    if author is None and dataset and "/" in dataset:
        author = dataset.split("/", 1)[0]
    return {
        "request_time": request_time,
        "dataset": dataset,
        "author": author,
        "created_at": parse_timestamp(item.get("createdAt")),
        "last_modified": parse_timestamp(item.get("lastModified")),
        "private": _bool(item.get("private")),
        "disabled": _bool(item.get("disabled")),
        "gated": gated_value(item.get("gated")),
        "downloads": _int(item.get("downloads"), INT32_MAX),
        "downloads_all_time": _int(item.get("downloadsAllTime"), INT64_MAX),
        "tags": tags,
        "license": license_tag,
        "trending_score": _float(item.get("trendingScore")),
        "likes": _int(item.get("likes"), INT32_MAX),
        "sha": _str(item.get("sha")),
        "used_storage": _int(item.get("usedStorage"), INT64_MAX),
        "description": _str(item.get("description")),
        "paperswithcode_id": _str(item.get("paperswithcode_id")),
        "license_spdx": spdx_from_tag(license_tag),
    }


def curate_listing_batch(raw: pa.RecordBatch | pa.Table) -> pa.Table:
    """Raw listing rows -> `hf_datasets` rows. A row whose JSON does not parse is dropped.

    (Raw rows are written by this project from objects it already parsed, so that cannot happen
    unless the file was tampered with; it must still not fail the day.)
    """
    columns = raw.to_pydict()
    rows = []
    for request_time, text in zip(columns["request_time"], columns["item"], strict=True):
        try:
            item = json.loads(text)
        except (TypeError, ValueError):
            continue
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            rows.append(dataset_row(item, request_time))
    return pa.Table.from_pylist(rows, schema=HF_DATASETS)
