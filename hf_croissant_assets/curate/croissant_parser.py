"""Extract typed columns from a Croissant JSON-LD document (plain Python: no Dagster, no I/O).

`parse_croissant` turns one document as served by the Hub (`/api/datasets/{id}/croissant`) into
one row of `schema.CROISSANT_PARSED`; `parse_croissant_many` does the same column-wise for a
batch, ready for `pa.table(..., schema=CROISSANT_PARSED)`.

The parser reads the compacted JSON-LD the Hub serves (keys such as `name`, `recordSet`,
`cr:citeAs`) with one `json.loads` and plain dict look-ups: no JSON-LD expansion, no context
resolution. It runs on ~500k documents a day, so it is written for speed, and it never raises:
anything it cannot use ends up in `parse_error`.

Output contract
---------------
* The row always has exactly the keys `PARSED_COLUMNS`, in that order, and every value fits the
  arrow type of its column (strings contain no lone surrogates).
* Document parsed (a JSON object): string columns are `str` or `None` (absent / unusable), list
  columns are lists (`[]` when absent), counts are ints (`0` when absent). `parse_error` is `None`
  when everything read had a usable shape; otherwise it lists the non-fatal problems
  ("creator: unusable bool; description: truncated to 65536 chars") and the other columns still
  hold whatever could be extracted.
* Document not parsed (`None`, empty, invalid JSON, not an object, nested too deeply, ...): every
  column except `parse_error` is `None`, lists and counts included, and `parse_error` says why.
  A missing document (`None`) gives `parse_error == NO_DOCUMENT`, so `parse_error IS NULL` always
  means "parsed, nothing odd" and `record_set_count IS NOT NULL` means "parsed".

Value rules (JSON-LD allows one value or a list of values for any property):
* text columns: a string as is; a number as `str(number)`; from a list the first usable item;
  from an object its `@value` (language object) -- plus `@id` for `conforms_to`, and
  `@id`/`url`/`name` for `license_url`. Booleans and other objects are unusable.
* `creator_name`: the creator's `name` (object), the first usable creator's if a list, the string
  itself if a string.
* `keywords`: list items as strings (numbers coerced, objects via `name`/`@value`, others
  dropped), stripped, empties dropped, order and duplicates kept; a single string is split on
  commas.
* `record_set_names`: each record set's `name`, else its `@id` (entries with neither are counted
  but not named). `field_count` counts every field of every record set including nested
  `subField`s at any depth (walked iteratively). `file_object_count` / `file_set_count` count
  `distribution` entries by `@type` (a string or a list; see `FILE_OBJECT_TYPES`,
  `FILE_SET_TYPES`). `encoding_formats` is the sorted set of their `encodingFormat` values.
* `license_spdx`: the SPDX id of `license_url` (`curate.licenses.spdx_from_license`), else None.

Limits: see the `MAX_*` constants. Strings are cut to a number of characters (not bytes); output
lists stop at `MAX_LIST_ITEMS` items or `MAX_LIST_CHARS` characters, whichever comes first. Counts
are exact (the walk is linear in the size json.loads already accepted) and clamped to int32.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
import pyarrow as pa

from hf_croissant_assets.curate.licenses import spdx_from_license
from hf_croissant_assets.schema import CROISSANT_PARSED

#: Output columns, in schema order. Derived, never retyped.
PARSED_COLUMNS: tuple[str, ...] = tuple(CROISSANT_PARSED.names)

#: Longest `description` kept, in characters.
MAX_DESCRIPTION_CHARS = 64 * 1024
#: Longest value kept for every other text column, in characters.
MAX_TEXT_CHARS = 4 * 1024
#: Longest single item of a list column (keyword, record set name, encoding format).
MAX_ITEM_CHARS = 1024
#: Most items kept in a list column (and most items scanned for a first usable value).
MAX_LIST_ITEMS = 10_000
#: Most characters kept across the items of one list column.
MAX_LIST_CHARS = 256 * 1024
#: Longest `parse_error` message, in characters.
MAX_ERROR_CHARS = 1024
#: Most non-fatal problems listed in `parse_error`.
MAX_PROBLEMS = 8

#: `parse_error` for a missing (`None`) document.
NO_DOCUMENT = "no document"

#: Version of what this parser extracts. Bump it with any change to the values it produces: a
#: day's `hf_croissant` records it, and a later day copies the typed columns of an unchanged
#: document from the day before only when the versions match (else it re-parses).
PARSER_VERSION = "1"

_INT32_MAX = 2**31 - 1


def _type_names(local: str) -> frozenset[str]:
    return frozenset(
        {
            local,
            f"cr:{local}",
            f"sc:{local}",
            f"schema:{local}",
            f"http://mlcommons.org/croissant/{local}",
            f"https://mlcommons.org/croissant/{local}",
            f"http://schema.org/{local}",
            f"https://schema.org/{local}",
        }
    )


#: Accepted `@type` values of a `distribution` entry counted as a file object / a file set.
FILE_OBJECT_TYPES: frozenset[str] = _type_names("FileObject")
FILE_SET_TYPES: frozenset[str] = _type_names("FileSet")

# Property names as compacted by the Croissant context, then the prefixed spellings.
_CONFORMS_TO = ("conformsTo", "dct:conformsTo", "http://purl.org/dc/terms/conformsTo")
_NAME = ("name", "sc:name")
_DESCRIPTION = ("description", "sc:description")
_LICENSE = ("license", "sc:license")
_URL = ("url", "sc:url")
_KEYWORDS = ("keywords", "sc:keywords")
_CREATOR = ("creator", "sc:creator")
_DATE_PUBLISHED = ("datePublished", "sc:datePublished")
_VERSION = ("version", "sc:version")
_CITE_AS = ("citeAs", "cr:citeAs")
_RECORD_SET = ("recordSet", "cr:recordSet")
_DISTRIBUTION = ("distribution", "sc:distribution")
_FIELD = ("field", "cr:field")
_ENCODING_FORMAT = ("encodingFormat", "sc:encodingFormat")

# Keys tried, in order, when a text value is an object.
_VALUE_KEYS = ("@value",)
_REF_KEYS = ("@id", "@value")
_LICENSE_KEYS = ("@id", "url", "name", "@value")
_NAME_KEYS = ("name", "@value")

_MISSING = object()
_NUMBER_TYPES = (int, float)


def _number(value: int | float) -> str | None:
    try:
        return str(value)
    except ValueError:  # an int beyond sys.get_int_max_str_digits()
        return None


def _get(obj: dict, keys: tuple[str, ...]) -> Any:
    """The first of `keys` present in `obj` (plain key first: the common case is one lookup)."""
    value = obj.get(keys[0], _MISSING)
    if value is not _MISSING:
        return value
    for key in keys[1:]:
        value = obj.get(key, _MISSING)
        if value is not _MISSING:
            return value
    return None


def _clean(s: str) -> str:
    """`s` made encodable as UTF-8: surrogate pairs joined, lone surrogates replaced."""
    if s.isascii():
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return s


def _scalar(value: Any, keys: tuple[str, ...]) -> str | None:
    """A string from a string, number, or (one level of) object; else None."""
    t = type(value)
    if t is str:
        return value
    if t is dict:
        for key in keys:
            inner = value.get(key)
            ti = type(inner)
            if ti is str:
                return inner
            if ti is dict:  # e.g. {"name": {"@value": "x", "@language": "en"}}
                inner = inner.get("@value")
                if type(inner) is str:
                    return inner
            elif ti in _NUMBER_TYPES:
                return _number(inner)
        return None
    if t in _NUMBER_TYPES:  # bool is not in the tuple: type(True) is bool
        return _number(value)
    return None


def _first(value: Any, keys: tuple[str, ...]) -> str | None:
    """`_scalar` of the value, or of the first usable item of a list."""
    if type(value) is list:
        for item in value[:MAX_LIST_ITEMS]:
            s = _scalar(item, keys)
            if s is not None:
                return s
        return None
    return _scalar(value, keys)


def _text(
    value: Any, keys: tuple[str, ...], limit: int, what: str, problems: list[str]
) -> str | None:
    """One text column: extract, cap at `limit` characters, make UTF-8 safe."""
    s: str | None
    if type(value) is str:
        s = value
    elif value is None:
        return None
    else:
        s = _first(value, keys)
        if s is None:
            if value != []:
                problems.append(f"{what}: unusable {type(value).__name__}")
            return None
    if len(s) > limit:
        s = s[:limit]
        problems.append(f"{what}: truncated to {limit} chars")
    return _clean(s)


class _Bounded:
    """Appends strings to a list up to `MAX_LIST_ITEMS` items / `MAX_LIST_CHARS` characters."""

    __slots__ = ("chars", "full", "items")

    def __init__(self) -> None:
        self.items: list[str] = []
        self.chars = 0
        self.full = False

    def add(self, s: str) -> bool:
        """Append `s` (capped); False once the list is full."""
        if self.full:
            return False
        if len(s) > MAX_ITEM_CHARS:
            s = s[:MAX_ITEM_CHARS]
        self.chars += len(s)
        if len(self.items) >= MAX_LIST_ITEMS or self.chars > MAX_LIST_CHARS:
            self.full = True
            return False
        self.items.append(_clean(s))
        return True


def _as_list(value: Any) -> list | tuple:
    """JSON-LD: one value is a list of one; null is an empty list."""
    if type(value) is list:
        return value
    if value is None:
        return ()
    return (value,)


def _keywords(value: Any, problems: list[str]) -> list[str]:
    if value is None:
        return []
    out = _Bounded()
    if type(value) is str:
        for raw in value.split(",", MAX_LIST_ITEMS):
            part = raw.strip()
            if part and not out.add(part):
                break
    elif type(value) is list:
        dropped = 0
        for item in value:
            s = item if type(item) is str else _scalar(item, _NAME_KEYS)
            if s is None:
                dropped += 1
                continue
            s = s.strip()
            if s and not out.add(s):
                break
        if dropped:
            problems.append(f"keywords: {dropped} unusable item(s)")
    else:
        s = _scalar(value, _NAME_KEYS)
        if s is None:
            problems.append(f"keywords: unusable {type(value).__name__}")
        elif s.strip():
            out.add(s.strip())
    if out.full:
        problems.append("keywords: truncated")
    return out.items


def _creator_name(value: Any, problems: list[str]) -> str | None:
    if value is None or value == []:
        return None
    for item in _as_list(value)[:MAX_LIST_ITEMS]:
        s = item if type(item) is str else _scalar(item, _NAME_KEYS)
        if s is not None:
            if len(s) > MAX_TEXT_CHARS:
                s = s[:MAX_TEXT_CHARS]
                problems.append(f"creator: truncated to {MAX_TEXT_CHARS} chars")
            return _clean(s)
    if type(value) not in (dict, list):  # objects with only an @id are not a problem
        problems.append(f"creator: unusable {type(value).__name__}")
    return None


def _record_sets(value: Any, problems: list[str]) -> tuple[int, list[str], int]:
    """(record set count, names, field count)."""
    count = 0
    names = _Bounded()
    fields_count = 0
    stack: list[Any] = []
    unusable = 0
    for rs in _as_list(value):
        if type(rs) is not dict:
            unusable += 1
            continue
        count += 1
        name = rs.get("name")
        s = name if type(name) is str else _first(name, _VALUE_KEYS)
        if s is None:
            s = rs.get("@id")
        if type(s) is str:
            names.add(s)
        fields = _get(rs, _FIELD)
        if fields is not None:
            stack.append(fields)
        # Iterative walk over fields and their subFields: no recursion, any depth.
        while stack:
            node = stack.pop()
            for f in node if type(node) is list else (node,):
                if type(f) is dict:
                    fields_count += 1
                    sub = f.get("subField", _MISSING)
                    if sub is _MISSING:
                        sub = f.get("cr:subField")
                    if sub is not None:
                        stack.append(sub)
    if unusable:
        problems.append(f"recordSet: {unusable} unusable entr{'y' if unusable == 1 else 'ies'}")
    if names.full:
        problems.append("record_set_names: truncated")
    return count, names.items, fields_count


def _distribution(value: Any, problems: list[str]) -> tuple[int, int, list[str]]:
    """(file object count, file set count, sorted encoding formats)."""
    file_objects = 0
    file_sets = 0
    formats: set[str] = set()
    unusable = 0
    for entry in _as_list(value):
        if type(entry) is not dict:
            unusable += 1
            continue
        types = entry.get("@type")
        if type(types) is str:
            if types in FILE_OBJECT_TYPES:
                file_objects += 1
            elif types in FILE_SET_TYPES:
                file_sets += 1
        elif type(types) is list:
            strs = [t for t in types[:MAX_LIST_ITEMS] if type(t) is str]
            if not FILE_OBJECT_TYPES.isdisjoint(strs):
                file_objects += 1
            if not FILE_SET_TYPES.isdisjoint(strs):
                file_sets += 1
        fmt = _get(entry, _ENCODING_FORMAT)
        if type(fmt) is str:
            formats.add(fmt)
        elif type(fmt) is list:
            for f in fmt[:MAX_LIST_ITEMS]:
                if type(f) is str:
                    formats.add(f)
    if unusable:
        problems.append(f"distribution: {unusable} unusable entr{'y' if unusable == 1 else 'ies'}")
    out = _Bounded()
    for f in sorted(formats):
        if not out.add(f):
            problems.append("encoding_formats: truncated")
            break
    return file_objects, file_sets, out.items


def _failed(message: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(PARSED_COLUMNS)
    row["parse_error"] = _clean(message[:MAX_ERROR_CHARS])
    return row


#: A text with at least this many `{` and `[` is decoded by the standard library only: its nesting
#: could approach the recursion limit, where msgspec (a few levels more tolerant) and json.loads
#: (whose limit also depends on the caller's stack depth) could disagree. Real documents have ~60
#: per 8 KB; every nesting level needs one, so below this bound both decoders reach the end.
FAST_DECODE_MAX_OPENERS = 512

_DECODE = msgspec.json.Decoder().decode


def fast_decode(text: str) -> Any:
    """`json.loads(text)` computed by msgspec (in C), or `_MISSING` when msgspec is not sure to
    give the very same value: then the caller decodes with the standard library.

    msgspec refuses everything json.loads refuses and more (NaN / Infinity, numbers beyond a
    double, lone surrogate escapes, a byte order mark...); where both accept they give equal
    values (same types, key order, last duplicate key wins). The one way msgspec is more lenient,
    nesting a few levels deeper, is ruled out by `FAST_DECODE_MAX_OPENERS`. Both claims are
    checked against the standard library by the parser tests, hostile documents included.
    Only ASCII text is worth it: msgspec would first encode any other text to UTF-8 (and keep
    that copy on the string), which costs what it saves (`iter_loaded` reads the UTF-8 bytes).
    """
    if not text.isascii() or text.count("{") + text.count("[") >= FAST_DECODE_MAX_OPENERS:
        return _MISSING
    try:
        return _DECODE(text)
    except Exception:  # noqa: BLE001 - anything msgspec refuses goes the standard way
        return _MISSING


def _fast_decode_slice(data: bytes, view: memoryview, start: int, end: int) -> Any:
    """`fast_decode` of the UTF-8 text `data[start:end]` (Arrow's bytes of one string), read in
    place: the same value `fast_decode` / `json.loads` gives for that text, or `_MISSING`."""
    if data.count(b"{", start, end) + data.count(b"[", start, end) >= FAST_DECODE_MAX_OPENERS:
        return _MISSING
    try:
        return _DECODE(view[start:end])
    except Exception:  # noqa: BLE001 - anything msgspec refuses goes the standard way
        return _MISSING


#: One row of `iter_loaded`: None for a null document, else (ok, value, note, text) where
#: `text` is the document as a Python string when it was decoded the standard way, or None
#: when msgspec decoded it (which implies the text has no byte order mark).
Loaded = tuple[bool, Any, str | None, str | None] | None


def iter_loaded(docs: pa.Array | pa.ChunkedArray) -> Iterator[Loaded]:
    """`load_document` of every document of an Arrow string column, in order (see `Loaded`).

    The documents are decoded straight from the column's UTF-8 buffer by msgspec, without
    making a Python string of each (that conversion alone cost as much as the decode); a
    document msgspec is not sure about is made a string and goes through `load_document`, so
    every row is exactly what `load_document(docs[i].as_py())` gives."""
    chunks = docs.chunks if isinstance(docs, pa.ChunkedArray) else [docs]
    for chunk in chunks:
        n = len(chunk)
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)) or not n:
            for doc in chunk.to_pylist():
                yield None if doc is None else (*load_document(doc), doc)
            continue
        _, offsets_buf, data_buf = chunk.buffers()
        large = pa.types.is_large_string(chunk.type)
        width = 8 if large else 4
        # exactly this chunk's n + 1 offsets (a buffer may be padded or shared with a slice)
        raw = memoryview(offsets_buf.slice(chunk.offset * width, (n + 1) * width))
        offsets = raw.cast("q") if large else raw.cast("i")
        first, last = offsets[0], offsets[n]
        # only this chunk's bytes (a slice of a larger array shares its whole buffer)
        data = data_buf.slice(first, last - first).to_pybytes() if data_buf is not None else b""
        view = memoryview(data)
        valid = chunk.is_valid().to_pylist() if chunk.null_count else None
        for i in range(n):
            if valid is not None and not valid[i]:
                yield None
                continue
            start, end = offsets[i] - first, offsets[i + 1] - first
            value = _fast_decode_slice(data, view, start, end)
            if value is not _MISSING:
                yield True, value, None, None
            else:
                text = data[start:end].decode("utf-8")
                yield (*load_document(text), text)


def _load(doc: str | bytes | bytearray | memoryview) -> tuple[bool, Any, str | None]:
    """(True, parsed JSON, note or None) or (False, None, error message). Never raises."""
    note = None
    if isinstance(doc, str):
        value = fast_decode(doc)
        if value is not _MISSING:
            return True, value, None
        text = doc
    else:
        data = bytes(doc)
        try:
            # json.loads detects UTF-8 (with or without BOM), UTF-16 and UTF-32.
            return True, json.loads(data), None
        except RecursionError:
            return False, None, "nesting too deep"
        except UnicodeDecodeError:
            note = "invalid UTF-8 (bytes replaced)"
        except ValueError:
            pass  # decode below, to report the JSON error against the text
        except Exception as e:  # noqa: BLE001 - MemoryError and anything else a hostile input can provoke
            return False, None, f"could not parse: {type(e).__name__}"
        text = data.decode("utf-8", "replace")
    if text[:1] == "\ufeff":
        text = text[1:]
    try:
        value = json.loads(text)
    except RecursionError:
        return False, None, "nesting too deep"
    except ValueError as e:
        msg = _json_error(e, text)
        return False, None, f"{note}; {msg}" if note else msg
    except Exception as e:  # noqa: BLE001 - hostile input: any failure becomes a parse_error
        return False, None, f"could not parse: {type(e).__name__}"
    return True, value, note


def _json_error(e: Exception, text: str) -> str:
    if not text.strip():
        return "empty document"
    if isinstance(e, json.JSONDecodeError):
        if e.msg.startswith("Unterminated string") or e.pos >= len(text.rstrip()):
            return f"truncated JSON: {e}"
        return f"invalid JSON: {e}"
    return f"invalid JSON: {type(e).__name__}: {e}"


def load_document(doc: str | bytes | bytearray | memoryview) -> tuple[bool, Any, str | None]:
    """The one JSON decode of a served document: (True, value, note) or (False, None, error).

    Shared by every table derived from the document, so a document is decoded once for all of
    them (`parse_loaded` here, `croissant_depth.depth_object` for fields and files)."""
    return _load(doc)


def parse_croissant(doc: str | bytes | dict | None) -> dict[str, Any]:
    """One `CROISSANT_PARSED` row from a Croissant document (text, bytes or decoded object).

    Never raises; see the module docstring for the exact contract.
    """
    if doc is None:
        return _failed(NO_DOCUMENT)
    if isinstance(doc, dict):
        return parse_loaded(True, doc, None)
    if isinstance(doc, str | bytes | bytearray | memoryview):
        return parse_loaded(*_load(doc))
    return _failed(f"unsupported input type {type(doc).__name__}")


def parse_loaded(ok: bool, obj: Any, note: str | None) -> dict[str, Any]:
    """`parse_croissant` of a document already decoded by `load_document`."""
    if not ok:
        return _failed(note or "could not parse")
    if type(obj) is not dict:
        return _failed(f"document is not a JSON object (got {_json_type(obj)})")
    try:
        return _extract(obj, note)
    except Exception as e:  # noqa: BLE001 - a bug, not an input problem: keep the batch alive, say so
        return _failed(f"internal error: {type(e).__name__}: {e}")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is bool:
        return "boolean"
    if type(value) is list:
        return "array"
    if type(value) is str:
        return "string"
    return "number"


def _extract(obj: dict, note: str | None) -> dict[str, Any]:
    problems: list[str] = [note] if note else []

    record_set_count, record_set_names, field_count = _record_sets(_get(obj, _RECORD_SET), problems)
    file_object_count, file_set_count, encoding_formats = _distribution(
        _get(obj, _DISTRIBUTION), problems
    )
    row = {
        "conforms_to": _text(
            _get(obj, _CONFORMS_TO), _REF_KEYS, MAX_TEXT_CHARS, "conformsTo", problems
        ),
        "name": _text(
            _get(obj, _NAME),
            _VALUE_KEYS,
            MAX_TEXT_CHARS,
            "name",
            problems,
        ),
        "description": _text(
            _get(obj, _DESCRIPTION),
            _VALUE_KEYS,
            MAX_DESCRIPTION_CHARS,
            "description",
            problems,
        ),
        "license_url": _text(
            _get(obj, _LICENSE), _LICENSE_KEYS, MAX_TEXT_CHARS, "license", problems
        ),
        "url": _text(_get(obj, _URL), _REF_KEYS, MAX_TEXT_CHARS, "url", problems),
        "keywords": _keywords(_get(obj, _KEYWORDS), problems),
        "creator_name": _creator_name(_get(obj, _CREATOR), problems),
        "date_published": _text(
            _get(obj, _DATE_PUBLISHED), _VALUE_KEYS, MAX_TEXT_CHARS, "datePublished", problems
        ),
        "version": _text(_get(obj, _VERSION), _VALUE_KEYS, MAX_TEXT_CHARS, "version", problems),
        "cite_as": _text(_get(obj, _CITE_AS), _VALUE_KEYS, MAX_TEXT_CHARS, "citeAs", problems),
        "record_set_count": min(record_set_count, _INT32_MAX),
        "record_set_names": record_set_names,
        "file_object_count": min(file_object_count, _INT32_MAX),
        "file_set_count": min(file_set_count, _INT32_MAX),
        "field_count": min(field_count, _INT32_MAX),
        "encoding_formats": encoding_formats,
        "parse_error": None,
        "license_spdx": None,
    }
    row["license_spdx"] = spdx_from_license(row["license_url"])
    if problems:
        if len(problems) > MAX_PROBLEMS:
            problems = [*problems[:MAX_PROBLEMS], f"... {len(problems) - MAX_PROBLEMS} more"]
        row["parse_error"] = _clean("; ".join(problems)[:MAX_ERROR_CHARS])
    return row


def parse_croissant_many(docs: Iterable[str | bytes | dict | None]) -> dict[str, list]:
    """Column-oriented `parse_croissant` over a batch: `{column: [value per doc]}`.

    Keys are `PARSED_COLUMNS`; every list is aligned with `docs`. Feed the result to
    `pa.table(columns, schema=CROISSANT_PARSED)`.
    """
    columns: dict[str, list] = {name: [] for name in PARSED_COLUMNS}
    appends = [columns[name].append for name in PARSED_COLUMNS]
    pairs = list(zip(PARSED_COLUMNS, appends, strict=True))
    for doc in docs:
        row = parse_croissant(doc)
        for name, append in pairs:
            append(row[name])
    return columns
