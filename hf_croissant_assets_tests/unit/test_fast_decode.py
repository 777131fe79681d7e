"""The msgspec fast paths give exactly what the standard library gives, or step aside.

Three places decode or check a Croissant document with msgspec instead of `json.loads`: the
client's check that a 200 body is one JSON object (`fast_croissant_body`), the parser's decode
(`fast_decode`, and `iter_loaded` straight from an Arrow column), and the crawl journal's encode
(`journal_line`). Each must be indistinguishable from the standard-library path it replaces: same
verdict, same value (types, key order, duplicate keys), same text, on real documents and on
everything hostile, nesting at the recursion limit included.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from hf_croissant_assets.curate import croissant_parser
from hf_croissant_assets.curate.croissant_parser import (
    FAST_DECODE_MAX_OPENERS,
    fast_decode,
    iter_loaded,
    load_document,
)
from hf_croissant_assets.hub.client import CheckedDocument, fast_croissant_body
from hf_croissant_assets.ingest.croissant_crawl import journal_line
from hf_croissant_assets_tests.hub_emulator import DEFAULT_FIXTURES_DIR
from hf_croissant_assets_tests.hub_emulator.hostile import deep_json

REAL = [p.read_text(encoding="utf-8") for p in sorted(DEFAULT_FIXTURES_DIR.glob("*.json"))]


def _nest(depth: int, kind: str) -> str:
    if kind == "array":
        return '{"a":' + "[" * depth + "]" * depth + "}"
    if kind == "object":
        return '{"a":' * depth + "1" + "}" * depth
    return '{"a":' + '[{"b":' * (depth // 2) + "1" + "}]" * (depth // 2) + "}"


EDGE_TEXTS = [
    '{"a": NaN}',
    '{"a": [Infinity, -Infinity]}',
    '{"a": 123456789012345678901234567890, "b": -123456789012345678901234567890}',
    '{"a": 18446744073709551615, "b": -9223372036854775809}',
    '{"a": 1e400}',
    '{"a": [1e400]}',
    '{"a": -0.0, "b": 0.1, "c": 1.7976931348623157e308, "d": 5e-324, "e": 1E5, "f": 1e2}',
    '{"a": 1.00000000000000000000000000000000000001}',
    '{"a": "\\ud800"}',
    '{"a": ["\\udc00 low"]}',
    '{"a": "\\ud83d\\ude00"}',
    '{"a": 1, "a": 2, "b": {"c": 1, "c": [2]}}',
    '{"a": "x\x01y"}',
    '{"a": ["tab\tinside"]}',
    '{"a": "\\u0000", "b": "\\u00E9", "c": "\x7f"}',
    "\ufeff" + '{"a": 1}',
    ' \n\t{"a": 1}\r\n',
    '\x0b{"a": 1}',
    '\xa0{"a": 1}',
    '{"a": 1} x',
    '{"a": 1}{"b": 2}',
    "",
    "   ",
    '{"a": "\\x"}',
    '{"a": ["\\u12G4"]}',
    '{"a": 01}',
    '{"a": -}',
    '{"a": 1.}',
    '{"a": +1}',
    '{"a": [1,]}',
    '{"a": {"b": 1,}}',
    '{"a": ["x]}',
    "{1: 2}",
    "{'a': 1}",
    '{"a": "\x00"}',
    "null",
    "true",
    '"a string"',
    "42",
    "[1, 2, 3]",
    "[]",
    "{}",
    '{"name": "caf\\u00e9", "keywords": ["\u00e9t\u00e9", "\u65e5\u672c"]}',
    '{"name": "\u00e9t\u00e9 \U0001f600"}',
    '{"a": [' + ",".join(["{}"] * (FAST_DECODE_MAX_OPENERS + 10)) + "]}",  # many, shallow
    deep_json(5_000),
    *[_nest(d, k) for k in ("array", "object", "mixed") for d in (400, 980, 990, 993, 994, 995)],
    *[_nest(d, k) for k in ("array", "object", "mixed") for d in (996, 997, 998, 1000, 1100)],
]

DOCUMENTS = REAL + EDGE_TEXTS


def _std(text: str) -> tuple[str, Any]:
    """What the standard library makes of `text`: ("ok", value) or ("error", kind)."""
    try:
        return "ok", json.loads(text)
    except RecursionError:
        return "error", "RecursionError"
    except ValueError as exc:
        return "error", type(exc).__name__


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same JSON types, key order included (repr tells 1 from 1.0, -0.0
    from 0.0 and keeps dict order)."""
    return repr(a) == repr(b)


@pytest.mark.parametrize("text", DOCUMENTS, ids=range(len(DOCUMENTS)))
def test_fast_decode_is_json_loads_or_steps_aside(text):
    fast = fast_decode(text)
    if fast is croissant_parser._MISSING:
        return  # the standard library decides: the old path, unchanged
    kind, value = _std(text)
    refused = kind != "ok"  # (plain booleans: no introspection of deeply nested values)
    assert not refused, "msgspec accepted what json.loads refuses"
    same = _same(fast, value)
    assert same


@pytest.mark.parametrize("text", DOCUMENTS, ids=range(len(DOCUMENTS)))
def test_load_document_keeps_its_answers(text, monkeypatch):
    fast = load_document(text)
    monkeypatch.setattr(croissant_parser, "fast_decode", lambda _t: croissant_parser._MISSING)
    slow = load_document(text)
    same = fast[0] == slow[0] and fast[2] == slow[2] and _same(fast[1], slow[1])
    assert same


def _deepest_accepted(kind: str) -> int:
    """The deepest nesting json.loads accepts here (it depends on the caller's stack depth)."""
    lo, hi = 1, 5_000
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _std(_nest(mid, kind))[0] == "ok":
            lo = mid
        else:
            hi = mid - 1
    return lo


@pytest.mark.parametrize("kind", ["array", "object", "mixed"])
def test_nesting_at_the_recursion_limit_is_left_to_the_standard_library(kind):
    """msgspec nests a few levels deeper than json.loads: around the limit (wherever the
    caller's stack puts it) the fast path must step aside, not accept what json.loads refuses."""
    limit = _deepest_accepted(kind)
    for depth in range(limit - 3, limit + 8):
        text = _nest(depth, kind)
        fast = fast_decode(text)
        if fast is not croissant_parser._MISSING:
            refused = _std(text)[0] != "ok"
            assert not refused, f"depth {depth}: msgspec accepted what json.loads refuses"
        body = fast_croissant_body(text.encode())
        if body is not None:
            refused = _std(text)[0] != "ok"
            assert not refused, f"depth {depth}: a body json.loads refuses passed the check"


def test_real_ascii_documents_take_the_fast_path():
    ascii_docs = [d for d in [*REAL, json.dumps(json.loads(REAL[0]))] if d.isascii()]
    assert ascii_docs
    for doc in ascii_docs:
        assert fast_decode(doc) is not croissant_parser._MISSING


def _stdlib_loaded(doc: str | None) -> Any:
    if doc is None:
        return None
    ok, obj, note = load_document(doc)
    return ok, obj, note


@pytest.mark.parametrize("large", [False, True])
def test_iter_loaded_equals_load_document_per_row(large, monkeypatch):
    docs: list[str | None] = [None, *DOCUMENTS, None, REAL[0], None]
    typ = pa.large_string() if large else pa.string()
    full = pa.array(docs, typ)
    columns = [
        full,
        full.slice(3, 20),  # a slice: offsets into shared buffers
        pa.chunked_array([full.slice(0, 7), full.slice(7)], typ),
        pa.chunked_array([], typ),
        pa.array([None, None], typ),
        pa.array(["", ""], typ),
    ]
    got = [list(iter_loaded(col)) for col in columns]
    monkeypatch.setattr(croissant_parser, "fast_decode", lambda _t: croissant_parser._MISSING)
    for col, rows in zip(columns, got, strict=True):
        texts = col.to_pylist()
        assert len(rows) == len(texts)
        for text, row in zip(texts, rows, strict=True):
            want = _stdlib_loaded(text)
            if want is None:
                assert row is None
                continue
            ok, obj, note, kept_text = row
            same = (ok, note) == (want[0], want[2]) and _same(obj, want[1])
            assert same, text[:80]
            # the text is handed back when the standard library decided; when msgspec did,
            # the document had no byte order mark (what depth_object looks at)
            if kept_text is not None:
                assert kept_text == text
            else:
                assert not text.startswith("\ufeff")


def _bodies() -> list[bytes]:
    bodies = [t.encode("utf-8", "surrogatepass") for t in DOCUMENTS]
    bodies += [
        b'{"a": "\xff\xfe"}',  # not UTF-8 inside a string
        b'{"a": "\xe2\x82"}',  # a truncated sequence right before the closing quote
        b'{"a": 1}\xff',  # not UTF-8 outside a string
        b'\xef\xbb\xbf{"a": 1}',  # byte order mark
        b'{"a": "\xed\xa0\x80"}',  # an encoded surrogate
        b'{"a": [1, "\xc0\xaf"]}',  # an overlong encoding
        b"<html><body>Bad gateway</body></html>",
    ]
    return bodies


@pytest.mark.parametrize("body", _bodies(), ids=range(len(_bodies())))
def test_fast_croissant_body_agrees_with_the_standard_check(body):
    checked = fast_croissant_body(body)
    if checked is None:
        return  # the standard path decides, as before
    assert isinstance(checked, CheckedDocument)
    text = body.decode("utf-8", errors="replace")
    kind, value = _std(text)
    accepted = kind == "ok" and isinstance(value, dict)
    assert accepted, "msgspec accepted a body json.loads refuses"
    same_text = checked.text == text
    assert same_text


def test_fast_croissant_body_takes_real_documents():
    for doc in REAL:
        checked = fast_croissant_body(doc.encode())
        assert checked is not None and checked.text == doc


def test_journal_line_reads_back_as_the_row():
    when = datetime(2026, 11, 18, 12, 30, tzinfo=UTC)
    rows = [
        {
            "dataset": "org/name",
            "request_time": "2026-11-18T12:00:00.000Z",
            "status": 200,
            "reason": None,
            "croissant": REAL[0] + "\n\u2028 caf\u00e9 \U0001f600 \x00",
            "sha": "a" * 40,
            "last_modified": when,
        },
        {
            "dataset": "x",
            "request_time": "t",
            "status": None,
            "reason": "lone \ud800 surrogate",  # msgspec refuses: written ASCII-escaped
            "croissant": None,
            "sha": None,
            "last_modified": None,
        },
    ]
    for row in rows:
        line = journal_line(row)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        back = json.loads(line.decode("utf-8"))
        want = dict(row, last_modified=row["last_modified"] and row["last_modified"].isoformat())
        assert back == want
