"""Explode Croissant documents into rows: one per field, one per file (plain Python, no I/O).

`explode_fields` gives the rows of `schema.HF_CROISSANT_FIELDS` for one document (every field of
every record set, nested `subField`s flattened with a `/` path); `explode_files` the rows of
`schema.HF_CROISSANT_FILES` (one per `distribution` entry, `contentSize` parsed to bytes with the
raw text kept). `depth_tables` does both for a batch of `hf_croissant` rows.

The counts agree with `croissant_parser`: a document gives exactly `field_count` field rows and
`file_object_count + file_set_count` file rows of kind FileObject / FileSet (other `@type`s are
kept too, with their declared type as `kind`), unless a cap below was hit.

Everything is untrusted and nothing raises. Hostile shapes are bounded: at most
`MAX_FIELDS_PER_DOC` field rows and `MAX_FILES_PER_DOC` file rows per document, subFields deeper
than `MAX_DEPTH` are not walked, strings are capped; whatever was cut is said in the rows'
`reason` column (every row of a capped document carries the note, so a query sees it).
Keys are made unique: a repeated record set name, field path or file id gets a `#2`, `#3`, ...
suffix, so `(dataset, record_set, field_path)` and `(dataset, file_id)` are keys.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from hf_croissant_assets.curate.croissant_parser import FILE_OBJECT_TYPES, FILE_SET_TYPES
from hf_croissant_assets.schema import HF_CROISSANT_FIELDS, HF_CROISSANT_FILES

log = logging.getLogger(__name__)

#: Most field rows kept per document.
MAX_FIELDS_PER_DOC = 20_000
#: Most file rows kept per document.
MAX_FILES_PER_DOC = 20_000
#: Deepest subField level walked (0 = a record set's own fields).
MAX_DEPTH = 32
#: Longest field description kept, in characters.
MAX_DESCRIPTION_CHARS = 2048
#: Longest value kept for every other text column, in characters.
MAX_TEXT_CHARS = 2048
#: Most items kept in a list column (data types, includes, containedIn).
MAX_LIST_ITEMS = 64
#: Largest content size accepted, in bytes (int64).
_INT64_MAX = 2**63 - 1

_MISSING = object()

#: contentSize units -> bytes. Decimal SI units (kB = 1000, what the Hub writes), binary IEC
#: units (KiB = 1024), and the spelled-out forms. Matched case-insensitively.
_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "pb": 10**15,
    "eb": 10**18,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "pib": 2**50,
    "eib": 2**60,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "kilobytes": 10**3,
    "megabytes": 10**6,
    "gigabytes": 10**9,
    "terabytes": 10**12,
}
_SIZE_RE = re.compile(r"^\s*([0-9][0-9_,]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")


def parse_content_size(value: Any) -> tuple[int | None, str | None]:
    """(bytes, problem): "123 B", "1.2 MB", "4.5 GiB", "1,234", 42, 4.2e9 -> bytes.

    Decimal units are powers of 1000 (kB, MB, ...), binary ones powers of 1024 (KiB, MiB, ...).
    Unparsable, negative or out-of-range values give (None, why); absent gives (None, None).
    """
    if value is None:
        return None, None
    if type(value) is bool:
        return None, "contentSize: unusable bool"
    if type(value) is int or type(value) is float:
        number: float | int = value
        factor = 1
    elif type(value) is str:
        text = value[:64]
        m = _SIZE_RE.match(text)
        if m is None or len(value) > 64:
            return None, f"contentSize: unparsable {value[:40]!r}"
        unit = m.group(2).lower()
        if unit not in _UNITS:
            return None, f"contentSize: unknown unit {m.group(2)[:16]!r}"
        factor = _UNITS[unit]
        digits = m.group(1).replace(",", "").replace("_", "")
        try:
            number = int(digits) if digits.isdigit() else float(digits)
        except ValueError:
            return None, f"contentSize: unparsable {value[:40]!r}"
    else:
        return None, f"contentSize: unusable {type(value).__name__}"
    if isinstance(number, float):
        if not math.isfinite(number):
            return None, "contentSize: not a finite number"
        size = round(number * factor)
    else:
        size = number * factor
    if size < 0:
        return None, "contentSize: negative"
    if size > _INT64_MAX:
        return None, "contentSize: larger than int64"
    return size, None


def _get(obj: dict, plain: str, prefixed: str) -> Any:
    value = obj.get(plain, _MISSING)
    if value is _MISSING:
        value = obj.get(prefixed)
    return value


def _cap(s: str, limit: int = MAX_TEXT_CHARS) -> str:
    if len(s) > limit:
        s = s[:limit]
    if not s.isascii():
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            s = s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return s


def _text(value: Any) -> str | None:
    """A string (or number) from a value, one-element list or `@value`/`@id` object."""
    if type(value) is list:
        value = value[0] if value else None
    t = type(value)
    if t is str:
        return _cap(value)
    if t is dict:
        for key in ("@value", "@id"):
            inner = value.get(key)
            if type(inner) is str:
                return _cap(inner)
        return None
    if t is int or t is float:
        return str(value)
    return None


def _ref(value: Any) -> str | None:
    """The @id of a reference: `{"@id": x}`, `{"field": {"@id": x}}`, a string, or a list's first."""
    if type(value) is list:
        value = value[0] if value else None
    if type(value) is str:
        return _cap(value)
    if type(value) is dict:
        inner = value.get("@id")
        if type(inner) is str:
            return _cap(inner)
        for key in ("field", "cr:field", "fileObject", "fileSet", "cr:fileObject", "cr:fileSet"):
            if key in value:
                return _ref(value[key])
    return None


def _strings(value: Any, problems: set[str], what: str) -> list[str]:
    """A list of strings from one value or a list of values (refs by @id), capped."""
    items = value if type(value) is list else ([] if value is None else [value])
    out = []
    for item in items[:MAX_LIST_ITEMS]:
        s = _ref(item) if type(item) is dict else _text(item)
        if s is not None:
            out.append(s)
    if len(items) > MAX_LIST_ITEMS:
        problems.add(f"{what}: kept {MAX_LIST_ITEMS} of {len(items)}")
    return out


def _unique(name: str, seen: dict[str, int]) -> str:
    n = seen.get(name, 0) + 1
    seen[name] = n
    return name if n == 1 else f"{name}#{n}"


def _as_list(value: Any) -> list:
    if type(value) is list:
        return value
    return [] if value is None else [value]


def _truthy(value: Any) -> bool:
    if type(value) is list:
        value = value[0] if value else None
    if type(value) is dict:
        value = value.get("@value")
    return value is True or (type(value) is str and value.strip().lower() == "true")


def _source(field: dict) -> tuple[str | None, str | None, str | None]:
    """(source_file, source_extract, source_column) of a field."""
    source = _get(field, "source", "cr:source")
    if type(source) is list:
        source = source[0] if source else None
    if type(source) is not dict:
        return None, None, None
    file_ref = None
    for key in ("fileSet", "fileObject", "cr:fileSet", "cr:fileObject", "distribution"):
        if key in source:
            file_ref = _ref(source[key])
            break
    extract = _get(source, "extract", "cr:extract")
    if type(extract) is list:
        extract = extract[0] if extract else None
    if type(extract) is dict:
        for key in ("column", "jsonPath", "fileProperty"):
            value = _get(extract, key, f"cr:{key}")
            if value is not None:
                return file_ref, key, _text(value)
    return file_ref, None, None


def _local_name(field: dict, parent_id: str | None, index: int) -> str:
    name = _text(_get(field, "name", "sc:name"))
    if name:
        return name
    field_id = field.get("@id")
    if type(field_id) is str and field_id:
        if parent_id and field_id.startswith(parent_id + "/"):
            return _cap(field_id[len(parent_id) + 1 :])
        return _cap(field_id.rsplit("/", 1)[-1] or field_id)
    return f"#{index}"


def explode_fields(dataset: str, doc: dict) -> list[dict[str, Any]]:
    """The `HF_CROISSANT_FIELDS` rows of one parsed document (see the module docstring)."""
    rows: list[dict[str, Any]] = []
    problems: set[str] = set()
    total = 0
    record_set_names: dict[str, int] = {}
    record_sets = _get(doc, "recordSet", "cr:recordSet")
    for rs_index, rs in enumerate(_as_list(record_sets)):
        if type(rs) is not dict:
            continue
        rs_name = _text(_get(rs, "name", "sc:name")) or _text(rs.get("@id")) or f"#{rs_index}"
        rs_name = _unique(rs_name, record_set_names)
        rs_id = rs.get("@id") if type(rs.get("@id")) is str else None
        paths: dict[str, int] = {}
        # (fields value, parent path, parent @id, depth); popped LIFO, pushed in reverse so rows
        # come out in document order.
        stack: list[tuple[Any, str | None, str | None, int]] = [
            (_get(rs, "field", "cr:field"), None, rs_id, 0)
        ]
        while stack:
            node, parent_path, parent_id, depth = stack.pop()
            children = [f for f in _as_list(node) if type(f) is dict]
            pending = []
            for index, field in enumerate(children):
                total += 1
                sub = field.get("subField", _MISSING)
                if sub is _MISSING:
                    sub = field.get("cr:subField")
                if len(rows) >= MAX_FIELDS_PER_DOC:
                    if sub is not None:
                        pending.append((sub, "", None, depth + 1))
                    continue
                field_id = field.get("@id") if type(field.get("@id")) is str else None
                name = _local_name(field, parent_id, index)
                path = _unique(f"{parent_path}/{name}" if parent_path else name, paths)
                description = _get(field, "description", "sc:description")
                desc = _text(description)
                if desc is not None and len(desc) >= MAX_DESCRIPTION_CHARS:
                    desc = desc[:MAX_DESCRIPTION_CHARS]
                source_file, extract, column = _source(field)
                repeated = _get(field, "isArray", "cr:isArray")
                if repeated is None:
                    repeated = _get(field, "repeated", "cr:repeated")
                rows.append(
                    {
                        "dataset": dataset,
                        "record_set": rs_name,
                        "field_path": path,
                        "field_name": name,
                        "field_id": _cap(field_id) if field_id else None,
                        "depth": depth,
                        "data_types": _strings(
                            _get(field, "dataType", "cr:dataType"), problems, "dataType"
                        ),
                        "description": desc,
                        "source_file": source_file,
                        "source_extract": extract,
                        "source_column": column,
                        "is_array": _truthy(repeated),
                        "references": _ref(_get(field, "references", "cr:references")),
                        "reason": None,
                    }
                )
                if sub is not None:
                    if depth + 1 > MAX_DEPTH:
                        dropped = _count_fields(sub)
                        total += dropped
                        problems.add(f"subFields below depth {MAX_DEPTH} not walked")
                    else:
                        pending.append((sub, path, field_id, depth + 1))
            stack.extend(reversed(pending))
    if total > len(rows) and len(rows) >= MAX_FIELDS_PER_DOC:
        problems.add(f"kept {len(rows)} of {total} fields")
    if problems:
        reason = _cap("; ".join(sorted(problems)), 1024)
        for row in rows:
            row["reason"] = reason
    return rows


def _count_fields(value: Any) -> int:
    """Fields (and their subFields, any depth) under `value`, walked iteratively."""
    count = 0
    stack = [value]
    while stack:
        for f in _as_list(stack.pop()):
            if type(f) is dict:
                count += 1
                sub = f.get("subField", _MISSING)
                if sub is _MISSING:
                    sub = f.get("cr:subField")
                if sub is not None:
                    stack.append(sub)
    return count


def _kind(types: Any) -> str | None:
    names = [t for t in _as_list(types)[:MAX_LIST_ITEMS] if type(t) is str]
    if not FILE_OBJECT_TYPES.isdisjoint(names):
        return "FileObject"
    if not FILE_SET_TYPES.isdisjoint(names):
        return "FileSet"
    return _cap(names[0], 256) if names else None


def explode_files(dataset: str, doc: dict) -> list[dict[str, Any]]:
    """The `HF_CROISSANT_FILES` rows of one parsed document (see the module docstring)."""
    rows: list[dict[str, Any]] = []
    ids: dict[str, int] = {}
    entries = _as_list(_get(doc, "distribution", "sc:distribution"))
    usable = [(i, e) for i, e in enumerate(entries) if type(e) is dict]
    capped = len(usable) > MAX_FILES_PER_DOC
    for index, entry in usable[:MAX_FILES_PER_DOC]:
        problems: set[str] = set()
        name = _text(_get(entry, "name", "sc:name"))
        file_id = _text(entry.get("@id")) or name or f"#{index}"
        raw_size = _get(entry, "contentSize", "sc:contentSize")
        if type(raw_size) is list:
            raw_size = raw_size[0] if raw_size else None
        size, size_problem = parse_content_size(raw_size)
        if size_problem:
            problems.add(size_problem)
        includes = _get(entry, "includes", "cr:includes")
        contained = _get(entry, "containedIn", "cr:containedIn")
        if capped:
            problems.add(f"kept {MAX_FILES_PER_DOC} of {len(usable)} files")
        rows.append(
            {
                "dataset": dataset,
                "file_id": _unique(file_id, ids),
                "kind": _kind(entry.get("@type")),
                "name": name,
                "content_url": _text(_get(entry, "contentUrl", "sc:contentUrl")),
                "encoding_format": _text(_get(entry, "encodingFormat", "sc:encodingFormat")),
                "content_size": _text(raw_size) if raw_size is not None else None,
                "content_size_bytes": size,
                "includes": _strings(includes, problems, "includes"),
                "contained_in": _strings(contained, problems, "containedIn"),
                "sha256": _text(_get(entry, "sha256", "cr:sha256")),
                "md5": _text(_get(entry, "md5", "cr:md5")),
                "reason": _cap("; ".join(sorted(problems)), 1024) if problems else None,
            }
        )
    return rows


def _load(doc: Any) -> dict | None:
    if isinstance(doc, dict):
        return doc
    if not isinstance(doc, str | bytes):
        return None
    try:
        value = json.loads(doc)
    except (ValueError, RecursionError):
        return None
    except Exception:  # noqa: BLE001 - hostile input (MemoryError, ...): no rows, never a crash
        return None
    return value if type(value) is dict else None


def depth_rows(
    dataset: str, doc: str | bytes | dict | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(field rows, file rows) of one document; ([], []) when it is not a JSON object."""
    obj = _load(doc)
    if obj is None:
        return [], []
    try:
        return explode_fields(dataset, obj), explode_files(dataset, obj)
    except Exception:  # noqa: BLE001 - a bug must not lose the day; the parser's row says more
        return [], []


def depth_tables(
    datasets: Iterable[str | None],
    docs: Iterable[str | bytes | dict | None],
    statuses: Iterable[int | None] | None = None,
    *,
    fields: bool = True,
    files: bool = True,
) -> tuple[pa.Table, pa.Table]:
    """`(hf_croissant_fields, hf_croissant_files)` rows for a batch of `hf_croissant` rows.

    Only served documents (status 200, or any status when `statuses` is None) are exploded.
    `fields=False` / `files=False` skip one table (it comes back empty): each asset builds only
    its own, so no document is exploded twice for nothing.
    """
    field_rows: list[dict[str, Any]] = []
    file_rows: list[dict[str, Any]] = []
    status_iter = iter(statuses) if statuses is not None else None
    for dataset, doc in zip(datasets, docs, strict=True):
        status = next(status_iter) if status_iter is not None else 200
        if dataset is None or doc is None or status != 200:
            continue
        obj = _load(doc)
        if obj is None:
            continue
        try:
            if fields:
                field_rows += explode_fields(dataset, obj)
            if files:
                file_rows += explode_files(dataset, obj)
        except Exception as exc:  # noqa: BLE001 - a bug must not lose the day: said, not raised
            log.warning("could not explode the Croissant document of %r: %r", dataset[:200], exc)
    return (
        pa.Table.from_pylist(field_rows, schema=HF_CROISSANT_FIELDS),
        pa.Table.from_pylist(file_rows, schema=HF_CROISSANT_FILES),
    )
