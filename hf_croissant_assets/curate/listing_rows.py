"""Raw Hub answers -> typed rows of the lake tables. Pure functions, no I/O.

Everything the Hub sends is untrusted: a field may be missing, null or of another type than the
docs say. A value that does not fit its column becomes null; it never fails the day.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from hf_croissant_assets.curate.licenses import spdx_from_tag
from hf_croissant_assets.schema import HF_DATASETS, RAW_LISTING, TIMESTAMP

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
    try:
        return float(value)
    except OverflowError:  # an integer beyond a double's range (10**400)
        return None


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


def raw_listing_page(heads: Sequence[Any], raws: list[bytes], request_time: str) -> pa.Table:
    """One page of the listing as raw rows, from the client's decoded heads (`ListingHead`:
    `id`, `sha`, `lastModified`) and each object's JSON bytes as the Hub sent them (UTF-8)."""
    n = len(heads)
    return pa.table(
        {
            "id": pa.array([h.id for h in heads], pa.string()),
            "request_time": pa.array([request_time] * n, pa.string()),
            "sha": pa.array([_str(h.sha) for h in heads], pa.string()),
            "last_modified": pa.array([_str(h.lastModified) for h in heads], pa.string()),
            "item": pa.array(raws, pa.binary()).cast(pa.string()),
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


_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _scrubbed(row: dict[str, Any]) -> dict[str, Any]:
    """A row whose text has lone surrogates replaced by U+FFFD (so it can be stored at all)."""
    return {name: _scrub(value) for name, value in row.items()}


def _reference_rows(
    requests: list[Any], texts: list[Any], positions: list[int]
) -> tuple[list[int], list[dict[str, Any]]]:
    """The reference path, one object at a time: (positions kept, their rows). A row whose JSON
    does not parse, or is not an object with a string id, is dropped."""
    kept, rows = [], []
    for position, request_time, text in zip(positions, requests, texts, strict=True):
        try:
            item = json.loads(text)
        except (TypeError, ValueError, RecursionError):
            continue
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            kept.append(position)
            rows.append(dataset_row(item, request_time))
    return kept, rows


Int32 = Annotated[int, msgspec.Meta(ge=-INT32_MAX - 1, le=INT32_MAX)]
Int64 = Annotated[int, msgspec.Meta(ge=-INT64_MAX - 1, le=INT64_MAX)]


class _TypedItem(msgspec.Struct, gc=False):
    """A listing object whose every value already has its column's type (what the Hub sends).

    An object that does not fit (a string count, a float where an int goes, a number out of
    range, a non-string tag, NaN...) fails this decode and takes the reference path
    (`dataset_row`), which types value by value; so both paths give the same row. (`gc=False`:
    half a million objects would otherwise trigger the cyclic collector many times over.)
    """

    id: str
    author: str | None = None
    createdAt: str | None = None
    lastModified: str | None = None
    private: bool | None = None
    disabled: bool | None = None
    gated: bool | str | None = None
    downloads: Int32 | None = None
    downloadsAllTime: Int64 | None = None
    tags: list[str] | None = None
    trendingScore: float | None = None
    likes: Int32 | None = None
    sha: str | None = None
    usedStorage: Int64 | None = None
    description: str | None = None
    paperswithcode_id: str | None = None


_TYPED_ITEMS = msgspec.json.Decoder(list[_TypedItem])
_TYPED_ITEM = msgspec.json.Decoder(_TypedItem)
#: The Hub's own timestamp form, which Arrow parses exactly as `parse_timestamp` does; a column
#: with any other form is parsed value by value.
_HUB_TIMESTAMP = (
    r"^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{3})?Z$"
)


def _decode_typed(texts: pa.Array) -> tuple[list[int], list[_TypedItem]]:
    """(positions, objects) of the rows whose JSON fits `_TypedItem`: one C decode of the whole
    batch joined as a JSON array, or row by row when some row does not fit."""
    if texts.null_count == 0 and len(texts):
        offsets = pa.array([0, len(texts)], pa.int32())
        joined = pc.binary_join(pa.ListArray.from_arrays(offsets, texts), ",")[0].as_buffer()
        try:
            return list(range(len(texts))), _TYPED_ITEMS.decode(b"[" + joined.to_pybytes() + b"]")
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            pass
    positions, items = [], []
    for position, text in enumerate(texts.to_pylist()):
        if text is None:
            continue
        try:
            items.append(_TYPED_ITEM.decode(text))
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            continue
        positions.append(position)
    return positions, items


def hub_timestamps(values: list[str | None]) -> pa.Array:
    """Timestamps as the Hub writes them (`parse_timestamp`'s values, in one Arrow cast when
    every value has the Hub's own form). Every value is parsed on its own: one odd value never
    decides how the others are read (as a format inferred from the first value would)."""
    strings = pa.array(values, pa.string())
    canonical = pc.match_substring_regex(strings, _HUB_TIMESTAMP)
    if pc.all(canonical).as_py() is not False:  # every non-null value (or none at all)
        try:
            return pc.cast(strings, TIMESTAMP)
        except pa.ArrowInvalid:  # e.g. 2025-04-31: no such day
            pass
    return pa.array([parse_timestamp(v) for v in values], TIMESTAMP)


def _license_columns(tags: pa.Array) -> tuple[pa.Array, pa.Array]:
    """`license` (the first `license:` tag, without the prefix; empty -> null) and
    `license_spdx` for each row, computed on the flattened tags."""
    flat = pc.list_flatten(tags)
    hits = pc.indices_nonzero(pc.starts_with(flat, "license:"))
    rows = pc.list_parent_indices(tags).take(hits)
    previous = rows
    if len(rows):
        previous = pa.concat_arrays([pa.array([-1], rows.type), rows.slice(0, len(rows) - 1)])
    first = pc.not_equal(rows, previous)  # rows ascend: a row's first license: tag
    names = pc.utf8_slice_codeunits(flat.take(pc.filter(hits, first)), len("license:"))
    names = pc.if_else(pc.equal(names, ""), pa.scalar(None, pa.string()), names)
    every_row = pa.array(range(len(tags)), rows.type)
    license_ = names.take(pc.index_in(every_row, value_set=pc.filter(rows, first)))
    unique = pc.unique(names)
    spdx_of = pa.array([spdx_from_tag(v) for v in unique.to_pylist()], pa.string())
    spdx = spdx_of.take(pc.index_in(license_, value_set=unique))
    return license_, spdx


def _typed_table(requests: pa.Array, items: list[_TypedItem]) -> pa.Table:
    """`hf_datasets` columns built from typed objects a column at a time."""
    dataset = pa.array([i.id for i in items], pa.string())
    author = pa.array([i.author for i in items], pa.string())
    fill = pc.and_(pc.is_null(author), pc.match_substring(dataset, "/"))
    if pc.any(fill).as_py():
        owner = pc.list_element(pc.split_pattern(dataset, "/", max_splits=1), 0)
        author = pc.if_else(fill, owner, author)
    tags = pa.array([i.tags for i in items], pa.list_(pa.string()))
    license_, spdx = _license_columns(tags)
    columns = {
        "request_time": requests,
        "dataset": dataset,
        "author": author,
        "created_at": hub_timestamps([i.createdAt for i in items]),
        "last_modified": hub_timestamps([i.lastModified for i in items]),
        "private": pa.array([i.private for i in items], pa.bool_()),
        "disabled": pa.array([i.disabled for i in items], pa.bool_()),
        "gated": pa.array([gated_value(i.gated) for i in items], pa.string()),
        "downloads": pa.array([i.downloads for i in items], pa.int32()),
        "downloads_all_time": pa.array([i.downloadsAllTime for i in items], pa.int64()),
        "tags": tags,
        "license": license_,
        "trending_score": pa.array([i.trendingScore for i in items], pa.float64()),
        "likes": pa.array([i.likes for i in items], pa.int32()),
        "sha": pa.array([i.sha for i in items], pa.string()),
        "used_storage": pa.array([i.usedStorage for i in items], pa.int64()),
        "description": pa.array([i.description for i in items], pa.string()),
        "paperswithcode_id": pa.array([i.paperswithcode_id for i in items], pa.string()),
        "license_spdx": spdx,
    }
    return pa.Table.from_pydict(columns, schema=HF_DATASETS)


def curate_listing_batch(raw: pa.RecordBatch | pa.Table) -> pa.Table:
    """Raw listing rows -> `hf_datasets` rows, in order. A row whose JSON does not parse is
    dropped (it cannot happen unless the file was tampered with; it must still not fail the day).

    The objects are decoded together by msgspec into typed fields and the table is built a
    column at a time; the rows that do not fit those types take the reference path
    (`dataset_row`, value by value), and both kinds are merged back in their original order.
    """
    return typed_listing_batch(raw)[0]


def typed_listing_batch(raw: pa.RecordBatch | pa.Table) -> tuple[pa.Table, bool]:
    """`curate_listing_batch(raw)`, and whether every row fit the typed decode. Then the table
    has every row, in order, and each object's `sha`, `lastModified` and `createdAt` were
    strings or null: its `sha`, `last_modified` and `created_at` columns are the plan's
    bookkeeping of those rows (`plan.bookkeeping_table`), with no second decode."""
    if isinstance(raw, pa.RecordBatch):
        raw = pa.Table.from_batches([raw])
    texts = raw.column("item").combine_chunks()
    requests = raw.column("request_time").combine_chunks()
    positions, items = _decode_typed(texts)
    fast = _typed_table(requests.take(pa.array(positions, pa.int64())), items)
    if len(positions) == len(texts):
        return fast, True
    typed = set(positions)
    others = pa.array([p for p in range(len(texts)) if p not in typed], pa.int64())
    kept, rows = _reference_rows(
        requests.take(others).to_pylist(), texts.take(others).to_pylist(), others.to_pylist()
    )
    try:
        slow = pa.Table.from_pylist(rows, schema=HF_DATASETS)
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in the JSON) has no UTF-8 form
        slow = pa.Table.from_pylist([_scrubbed(row) for row in rows], schema=HF_DATASETS)
    order = pc.sort_indices(pa.array(positions + kept, pa.int64()))
    return pa.concat_tables([fast, slow]).take(order), False
