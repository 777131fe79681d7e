"""Tests for `hf_croissant_assets.curate.croissant_parser`: real Hub documents, 1.0/1.1 variants, hostile input."""

from __future__ import annotations

import copy
import json
from typing import Any

import pyarrow as pa
import pytest

from hf_croissant_assets.curate import croissant_parser as croissant
from hf_croissant_assets.curate.croissant_parser import (
    MAX_DESCRIPTION_CHARS,
    MAX_LIST_ITEMS,
    MAX_TEXT_CHARS,
    NO_DOCUMENT,
    PARSED_COLUMNS,
    parse_croissant,
    parse_croissant_many,
)
from hf_croissant_assets.schema import CROISSANT_PARSED
from hf_croissant_assets_tests.hub_emulator import DEFAULT_FIXTURES_DIR

#: Real documents served by the Hub, vendored into the repository (the emulator serves them too).
FIXTURES = DEFAULT_FIXTURES_DIR

# Values read by hand from the fixture documents.
EXPECTED: dict[str, dict[str, Any]] = {
    "ibm_duorc.json": {
        "conforms_to": None,  # Croissant 1.0 as served by the Hub: no conformsTo
        "name": "duorc",
        "license_url": "https://choosealicense.com/licenses/mit/",
        "url": "https://huggingface.co/datasets/ibm/duorc",
        "creator_name": "IBM",
        "record_set_count": 2,
        "record_set_names": ["ParaphraseRC", "SelfRC"],
        "field_count": 12,
        "file_object_count": 1,
        "file_set_count": 2,
        "encoding_formats": ["application/x-parquet", "git+https"],
        "keyword_count": 15,
        "some_keywords": ["question-answering", "arxiv:1804.07927", "🇺🇸 Region: US"],
    },
    "pollen-robotics_apple_storage.json": {
        "conforms_to": "http://mlcommons.org/croissant/1.0",
        "name": "apple_storage",
        "license_url": "https://choosealicense.com/licenses/apache-2.0/",
        "url": "https://huggingface.co/datasets/pollen-robotics/apple_storage",
        "creator_name": None,  # no creator in this document
        "record_set_count": 2,
        "record_set_names": ["default_splits", "default"],
        "field_count": 9,
        "file_object_count": 1,
        "file_set_count": 1,
        "encoding_formats": ["application/x-parquet", "git+https"],
        "keyword_count": 13,
        "some_keywords": ["robotics", "LeRobot", "10K - 100K"],
    },
    "squad_v2.json": {
        "conforms_to": "http://mlcommons.org/croissant/1.1",
        "name": "squad_v2",
        "license_url": "https://choosealicense.com/licenses/cc-by-sa-4.0/",
        "url": "https://huggingface.co/datasets/rajpurkar/squad_v2",
        "creator_name": "Pranav R",
        "record_set_count": 2,
        # The second record set has no `name`: its `@id` is used.
        "record_set_names": ["squad_v2_splits", "squad_v2"],
        # 1 split field + 5 columns + `answers` with 2 subFields.
        "field_count": 9,
        "file_object_count": 1,
        "file_set_count": 1,
        "encoding_formats": ["application/x-parquet", "git+https"],
        "keyword_count": 18,
        "some_keywords": ["open-domain-qa", "cc-by-sa-4.0", "arxiv:1606.05250"],
    },
}


def _fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def _fixture(name: str = "squad_v2.json") -> dict[str, Any]:
    return json.loads(_fixture_text(name))


def _check_row(row: dict[str, Any]) -> dict[str, Any]:
    """The invariants every output must satisfy, whatever the input."""
    assert tuple(row) == PARSED_COLUMNS
    pa.Table.from_pylist([row], schema=CROISSANT_PARSED)  # raises if a value does not fit
    error = row["parse_error"]
    assert error is None or (isinstance(error, str) and error)
    assert error is None or not error.startswith("internal error"), error
    if row["record_set_count"] is None:  # not parsed: everything else null
        assert error
        assert all(row[c] is None for c in PARSED_COLUMNS if c != "parse_error")
    else:  # parsed: lists are lists, counts are ints
        for col in ("keywords", "record_set_names", "encoding_formats"):
            assert isinstance(row[col], list)
            assert all(isinstance(v, str) for v in row[col])
        for col in ("record_set_count", "field_count", "file_object_count", "file_set_count"):
            assert isinstance(row[col], int) and row[col] >= 0
    return row


def parse(doc: Any) -> dict[str, Any]:
    return _check_row(parse_croissant(doc))


# --------------------------------------------------------------------------------------------
# Schema and real documents


def test_columns_are_the_schema():
    """What the parser returns, for a document and for a failure, is exactly the schema's columns."""
    assert tuple(parse_croissant(_fixture_text("squad_v2.json"))) == tuple(CROISSANT_PARSED.names)
    assert tuple(parse_croissant("not json")) == tuple(CROISSANT_PARSED.names)
    assert len(CROISSANT_PARSED.names) >= 10


def test_every_vendored_fixture_is_used():
    names = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert len(names) >= 3
    assert set(EXPECTED) <= set(names)


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_fixture(fixture: str):
    text = _fixture_text(fixture)
    expected = EXPECTED[fixture]
    row = parse(text)
    assert row["parse_error"] is None
    for key, value in expected.items():
        if key in PARSED_COLUMNS:
            assert row[key] == value, key
    assert len(row["keywords"]) == expected["keyword_count"]
    for keyword in expected["some_keywords"]:
        assert keyword in row["keywords"]
    assert row["keywords"] == json.loads(text)["keywords"]  # order and duplicates kept
    assert row["description"] and row["description"] == json.loads(text)["description"]
    assert row["date_published"] is None and row["version"] is None and row["cite_as"] is None
    # Same answer from bytes, from an already decoded object and with a BOM.
    assert parse(text.encode()) == row
    assert parse(json.loads(text)) == row
    assert parse("\ufeff" + text) == row
    assert parse(text.encode("utf-16")) == row


def test_all_fixtures_covered():
    assert FIXTURES.is_dir(), f"{FIXTURES} not found: the fixtures are vendored in the repository"
    assert {p.name for p in FIXTURES.glob("*.json")} <= set(EXPECTED)


# --------------------------------------------------------------------------------------------
# Croissant 1.0 / 1.1 shapes


def _variant(**changes: Any) -> dict[str, Any]:
    doc = _fixture("ibm_duorc.json")
    for key, value in changes.items():
        if value is _DELETE:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://mlcommons.org/croissant/1.1", "http://mlcommons.org/croissant/1.1"),
        (
            ["http://mlcommons.org/croissant/1.1", "http://mlcommons.org/croissant/RAI/1.0"],
            "http://mlcommons.org/croissant/1.1",
        ),
        ({"@id": "http://mlcommons.org/croissant/1.1"}, "http://mlcommons.org/croissant/1.1"),
        ([{"@id": "http://mlcommons.org/croissant/1.1"}], "http://mlcommons.org/croissant/1.1"),
        ([], None),
        (_DELETE, None),
    ],
)
def test_conforms_to(value: Any, expected: str | None):
    row = parse(_variant(conformsTo=value))
    assert row["conforms_to"] == expected
    assert row["parse_error"] is None


def test_conforms_to_prefixed_key():
    row = parse(_variant(**{"dct:conformsTo": "http://mlcommons.org/croissant/1.1"}))
    assert row["conforms_to"] == "http://mlcommons.org/croissant/1.1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"@type": "Organization", "name": "IBM"}, "IBM"),
        ([{"@type": "sc:Person", "name": "Ada"}, {"@type": "sc:Person", "name": "Bob"}], "Ada"),
        ([{"@id": "#anon"}, {"name": "Bob"}], "Bob"),
        ("Some Lab", "Some Lab"),
        (["Some Lab", "Other"], "Some Lab"),
        ({"name": {"@value": "IBM", "@language": "en"}}, "IBM"),
        ({"@id": "https://example.org/people/1"}, None),
        ([], None),
    ],
)
def test_creator(value: Any, expected: str | None):
    row = parse(_variant(creator=value))
    assert row["creator_name"] == expected
    assert row["parse_error"] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://spdx.org/licenses/MIT", "https://spdx.org/licenses/MIT"),
        (
            ["https://spdx.org/licenses/MIT", "https://spdx.org/licenses/Apache-2.0"],
            "https://spdx.org/licenses/MIT",
        ),
        ({"@id": "https://spdx.org/licenses/MIT"}, "https://spdx.org/licenses/MIT"),
        ({"@type": "CreativeWork", "url": "https://x.org/l"}, "https://x.org/l"),
        ({"@type": "CreativeWork", "name": "MIT"}, "MIT"),
        ([{"name": "MIT"}, "https://spdx.org/licenses/MIT"], "MIT"),
    ],
)
def test_license(value: Any, expected: str):
    row = parse(_variant(license=value))
    assert row["license_url"] == expected
    assert row["parse_error"] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("nlp, qa,,  text ,", ["nlp", "qa", "text"]),
        ("single", ["single"]),
        ("", []),
        (
            ["a", 1, 2.5, {"@type": "DefinedTerm", "name": "b"}, {"@value": "c"}],
            ["a", "1", "2.5", "b", "c"],
        ),
        ([" padded "], ["padded"]),
        ({"name": "one"}, ["one"]),
        ([], []),
        (None, []),
    ],
)
def test_keywords(value: Any, expected: list[str]):
    row = parse(_variant(keywords=value))
    assert row["keywords"] == expected
    assert row["parse_error"] is None


def test_keywords_unusable_items_dropped_and_reported():
    row = parse(_variant(keywords=["a", None, True, {"x": 1}, ["nested"], "b"]))
    assert row["keywords"] == ["a", "b"]
    assert "keywords" in row["parse_error"]


@pytest.mark.parametrize(
    ("key", "column"),
    [
        ("name", "name"),
        ("description", "description"),
        ("url", "url"),
        ("version", "version"),
        ("datePublished", "date_published"),
        ("citeAs", "cite_as"),
        ("cr:citeAs", "cite_as"),
    ],
)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", "text"),
        (["first", "second"], "first"),
        ([None, 7, "x"], "7"),
        ({"@value": "bonjour", "@language": "fr"}, "bonjour"),
        ([{"@value": "hello", "@language": "en"}, {"@value": "salut", "@language": "fr"}], "hello"),
        (3, "3"),
        (1.5, "1.5"),
        ("", ""),
    ],
)
def test_text_values(key: str, column: str, value: Any, expected: str):
    row = parse(_variant(**{key: value}))
    assert row[column] == expected
    assert row["parse_error"] is None


def test_version_date_cite_as_11():
    row = parse(
        _variant(
            version="1.0.2",
            datePublished="2024-05-01T00:00:00",
            citeAs="@article{x, title={X}}",
            conformsTo=["http://mlcommons.org/croissant/1.1"],
        )
    )
    assert row["version"] == "1.0.2"
    assert row["date_published"] == "2024-05-01T00:00:00"
    assert row["cite_as"] == "@article{x, title={X}}"
    assert row["conforms_to"] == "http://mlcommons.org/croissant/1.1"


@pytest.mark.parametrize(
    "type_",
    [
        "cr:FileObject",
        "FileObject",
        "sc:FileObject",
        "http://mlcommons.org/croissant/FileObject",
        ["cr:FileObject", "sc:Thing"],
    ],
)
def test_file_object_types(type_: Any):
    row = parse(_variant(distribution=[{"@type": type_, "encodingFormat": "text/csv"}]))
    assert (row["file_object_count"], row["file_set_count"]) == (1, 0)
    assert row["encoding_formats"] == ["text/csv"]


@pytest.mark.parametrize(
    "type_",
    [
        "cr:FileSet",
        "FileSet",
        "sc:FileSet",
        "http://mlcommons.org/croissant/FileSet",
        ["x", "FileSet"],
    ],
)
def test_file_set_types(type_: Any):
    row = parse(_variant(distribution=[{"@type": type_}]))
    assert (row["file_object_count"], row["file_set_count"]) == (0, 1)
    assert row["encoding_formats"] == []


def test_distribution_mixed():
    distribution = [
        {"@type": "cr:FileObject", "encodingFormat": "git+https"},
        {"@type": "cr:FileSet", "encodingFormat": ["application/x-parquet", "text/csv"]},
        {"@type": "cr:FileSet", "encodingFormat": "application/x-parquet"},
        {"@type": "sc:Thing", "encodingFormat": "image/png"},  # not counted, format kept
        {"@type": 5, "encodingFormat": [1, None, "text/csv"]},
        {"encodingFormat": {"weird": True}},
    ]
    row = parse(_variant(distribution=distribution))
    assert row["file_object_count"] == 1
    assert row["file_set_count"] == 2
    assert row["encoding_formats"] == [
        "application/x-parquet",
        "git+https",
        "image/png",
        "text/csv",
    ]
    # A single entry instead of a list is a list of one (JSON-LD).
    row = parse(_variant(distribution={"@type": "FileSet", "encodingFormat": "text/csv"}))
    assert (row["file_set_count"], row["encoding_formats"]) == (1, ["text/csv"])


def test_record_sets_names_and_nested_fields():
    record_sets = [
        {
            "@type": "cr:RecordSet",
            "@id": "rs1",
            "name": "first",
            "field": [
                {"@id": "rs1/a"},
                {
                    "@id": "rs1/b",
                    "subField": [
                        {"@id": "rs1/b/x", "subField": {"@id": "rs1/b/x/deep"}},
                        {"@id": "rs1/b/y"},
                    ],
                },
            ],
        },
        {"@type": "cr:RecordSet", "@id": "rs2", "field": {"@id": "rs2/only"}},
        {"@type": "cr:RecordSet", "name": {"@value": "third"}, "cr:field": [{}, {}]},
        {"@type": "cr:RecordSet"},  # counted, not named
    ]
    row = parse(_variant(recordSet=record_sets))
    assert row["record_set_count"] == 4
    assert row["record_set_names"] == ["first", "rs2", "third"]
    assert row["field_count"] == 5 + 1 + 2
    assert row["parse_error"] is None
    # A single record set object is a list of one.
    row = parse(_variant(recordSet=record_sets[0]))
    assert (row["record_set_count"], row["field_count"]) == (1, 5)


def test_empty_object():
    row = parse("{}")
    assert row["parse_error"] is None
    assert row["keywords"] == [] and row["record_set_names"] == [] and row["encoding_formats"] == []
    assert row["record_set_count"] == row["field_count"] == 0
    assert row["file_object_count"] == row["file_set_count"] == 0
    assert row["name"] is None


# --------------------------------------------------------------------------------------------
# Hostile input

#: Every top-level property the parser reads.
READ_PROPERTIES = [
    "conformsTo",
    "dct:conformsTo",
    "name",
    "description",
    "license",
    "url",
    "keywords",
    "creator",
    "datePublished",
    "version",
    "citeAs",
    "cr:citeAs",
    "recordSet",
    "distribution",
]
WRONG_VALUES = [
    0,
    -12,
    2**70,
    1.5e300,
    float("nan"),
    True,
    False,
    None,
    [],
    [None],
    [True, False],
    [[["deep"]]],
    [{}],
    {},
    {"@value": None},
    {"@id": 5},
    {"nested": {"x": [1, 2]}},
    "",
    "\ud800 lone surrogate",
]


@pytest.mark.parametrize("prop", READ_PROPERTIES)
@pytest.mark.parametrize("value", WRONG_VALUES, ids=repr)
def test_wrong_types(prop: str, value: Any):
    base = _fixture("ibm_duorc.json")
    reference = parse(base)
    doc = copy.deepcopy(base)
    doc[prop] = value
    row = parse(doc)
    assert row["record_set_count"] is not None  # still parsed
    # Columns fed by other properties are untouched.
    touched = {
        "conformsTo": {"conforms_to"},
        "dct:conformsTo": {"conforms_to"},
        "name": {"name"},
        "description": {"description"},
        "license": {"license_url", "license_spdx"},
        "url": {"url"},
        "keywords": {"keywords"},
        "creator": {"creator_name"},
        "datePublished": {"date_published"},
        "version": {"version"},
        "citeAs": {"cite_as"},
        "cr:citeAs": {"cite_as"},
        "recordSet": {"record_set_count", "record_set_names", "field_count"},
        "distribution": {"file_object_count", "file_set_count", "encoding_formats"},
    }[prop]
    for col in PARSED_COLUMNS:
        if col not in touched and col != "parse_error":
            assert row[col] == reference[col], col
    # The same through JSON text (NaN is accepted by json.loads), where representable.
    if not (isinstance(value, str) and "\ud800" in value):
        parse(json.dumps(doc))


@pytest.mark.parametrize("value", WRONG_VALUES, ids=repr)
def test_wrong_types_inside_structures(value: Any):
    doc = _fixture("squad_v2.json")
    doc["recordSet"] = [
        value,
        {"name": value, "@id": value, "field": value},
        {"field": [value, {"subField": value}, {"cr:subField": [value, {"subField": value}]}]},
    ]
    doc["distribution"] = [value, {"@type": value, "encodingFormat": value}]
    doc["creator"] = [value, {"name": value}]
    doc["keywords"] = [value, {"name": value}]
    parse(doc)


@pytest.mark.parametrize("value", [*WRONG_VALUES, "string", b"bytes"], ids=repr)
def test_each_top_level_json_type(value: Any):
    if isinstance(value, bytes):
        return
    try:
        text = json.dumps(value)
    except (UnicodeEncodeError, ValueError):
        return
    row = parse(text)
    if isinstance(value, dict):
        assert row["record_set_count"] is not None
    else:
        assert row["parse_error"].startswith("document is not a JSON object")


def test_none_document():
    row = parse(None)
    assert row["parse_error"] == NO_DOCUMENT
    assert row["record_set_count"] is None and row["keywords"] is None


@pytest.mark.parametrize("doc", ["", "   \n", b"", "\ufeff"])
def test_empty_document(doc: Any):
    assert parse(doc)["parse_error"] == "empty document"


@pytest.mark.parametrize(
    "doc",
    [
        "not json at all",
        "<html><body>502 Bad Gateway</body></html>",
        "{'single': 'quotes'}",
        '{"a": 1} trailing',
        "{,}",
        b"\x00\x01\x02",
    ],
)
def test_non_json(doc: Any):
    row = parse(doc)
    assert row["parse_error"].startswith("invalid JSON"), row["parse_error"]


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
@pytest.mark.parametrize("fraction", [0.5, 0.1, 0.99])
def test_truncated(fixture: str, fraction: float):
    text = _fixture_text(fixture)
    row = parse(text[: int(len(text) * fraction)])
    assert row["parse_error"].startswith("truncated JSON"), row["parse_error"]
    assert row["name"] is None


@pytest.mark.parametrize("doc", ["[1, 2]", "[]", "42", '"string"', "null", "true"])
def test_top_level_not_object(doc: str):
    row = parse(doc)
    assert row["parse_error"].startswith("document is not a JSON object")


@pytest.mark.parametrize("doc", [5, 1.5, [], ["{}"], object(), {"x"}])
def test_unsupported_input_type(doc: Any):
    assert parse(doc)["parse_error"].startswith(
        ("unsupported input type", "document is not a JSON object")
    )


def test_huge_description_capped():
    doc = _fixture()
    doc["description"] = "x" * (10 * 1024 * 1024)
    row = parse(json.dumps(doc))
    assert len(row["description"]) == MAX_DESCRIPTION_CHARS
    assert "description: truncated" in row["parse_error"]
    assert row["name"] == "squad_v2"


def test_huge_strings_everywhere_capped():
    big = "y" * (1024 * 1024)
    doc = _fixture()
    for key in ("name", "url", "version", "citeAs", "datePublished", "license", "conformsTo"):
        doc[key] = big
    doc["creator"] = {"name": big}
    doc["keywords"] = [big] * 100
    doc["recordSet"][0]["name"] = big
    doc["distribution"][0]["encodingFormat"] = big
    row = parse(doc)
    for col in (
        "name",
        "url",
        "version",
        "cite_as",
        "date_published",
        "license_url",
        "conforms_to",
        "creator_name",
    ):
        assert len(row[col]) == MAX_TEXT_CHARS, col
    assert all(len(k) <= croissant.MAX_ITEM_CHARS for k in row["keywords"])
    assert sum(map(len, row["keywords"])) <= croissant.MAX_LIST_CHARS
    assert all(len(n) <= croissant.MAX_ITEM_CHARS for n in row["record_set_names"])
    assert all(len(f) <= croissant.MAX_ITEM_CHARS for f in row["encoding_formats"])
    assert len(row["parse_error"]) <= croissant.MAX_ERROR_CHARS


def test_huge_lists_capped():
    doc = _fixture()
    doc["keywords"] = [f"k{i}" for i in range(50_000)]
    doc["recordSet"] = [{"name": f"rs{i}", "field": [{}]} for i in range(30_000)]
    doc["distribution"] = [
        {"@type": "cr:FileSet", "encodingFormat": f"type/{i}"} for i in range(30_000)
    ]
    row = parse(json.dumps(doc))
    assert len(row["keywords"]) == MAX_LIST_ITEMS
    assert row["keywords"][:2] == ["k0", "k1"]
    assert len(row["record_set_names"]) == MAX_LIST_ITEMS
    assert len(row["encoding_formats"]) == MAX_LIST_ITEMS
    # Counts stay exact.
    assert row["record_set_count"] == 30_000
    assert row["field_count"] == 30_000
    assert row["file_set_count"] == 30_000
    assert "truncated" in row["parse_error"]


def test_comma_string_keywords_capped():
    row = parse(_variant(keywords=",".join(["kw"] * 100_000)))
    assert len(row["keywords"]) == MAX_LIST_ITEMS


def test_deeply_nested_arrays():
    depth = 200_000
    row = parse("[" * depth + "]" * depth)
    assert row["parse_error"] == "nesting too deep"
    row = parse(b"[" * depth + b"]" * depth)
    assert row["parse_error"] == "nesting too deep"
    # Inside an otherwise valid document, and unterminated.
    row = parse('{"name": "x", "keywords": ' + "[" * depth + "]" * depth + "}")
    assert row["parse_error"] == "nesting too deep"
    row = parse('{"name": ' + '{"a": ' * depth)
    assert row["parse_error"] is not None and row["name"] is None


def _nested_subfields(depth: int) -> dict[str, Any]:
    leaf: dict[str, Any] = {"@type": "cr:Field", "@id": f"f{depth}"}
    for i in range(depth - 1, 0, -1):
        leaf = {"@type": "cr:Field", "@id": f"f{i}", "subField": [leaf]}
    return leaf


def test_subfields_nested_5000_deep():
    doc = _fixture()
    doc["recordSet"] = [{"@id": "deep", "field": [_nested_subfields(5000), {"@id": "flat"}]}]
    row = parse(doc)  # an already decoded object: json.loads cannot build this depth
    assert row["field_count"] == 5001
    assert row["record_set_names"] == ["deep"]
    assert row["parse_error"] is None
    # As text the nesting exceeds what json.loads accepts: reported, not raised.
    try:
        text = json.dumps(doc)
    except RecursionError:
        text = '{"recordSet": [{"field": [' + '{"subField": [' * 5000 + "{}" + "]}" * 5000 + "]}]}"
    assert parse(text)["parse_error"] == "nesting too deep"


def test_many_fields_wide():
    doc = _fixture()
    doc["recordSet"] = [{"@id": "wide", "field": [{"subField": [{}, {}]}] * 100_000}]
    assert parse(doc)["field_count"] == 300_000


def test_invalid_utf8_bytes():
    text = _fixture_text("squad_v2.json")
    data = text.encode().replace(b"Dataset Card", b"Dataset \xff\xfe Card", 1)
    row = parse(data)
    assert row["name"] == "squad_v2"
    assert row["record_set_count"] == 2
    assert "\ufffd" in row["description"]
    assert "invalid UTF-8" in row["parse_error"]
    row = parse(b"\xc3\x28\xa0\xa1 not json")
    assert row["parse_error"].startswith("invalid UTF-8")
    assert row["record_set_count"] is None
    row = parse(bytearray(b'{"name": "caf\xe9"}'))  # latin-1 bytes
    assert row["name"] == "caf\ufffd"


def test_lone_surrogates_are_arrow_safe():
    row = parse(r'{"name": "a\ud800b", "keywords": ["\udfff"], "description": "ok \ud83d\ude00"}')
    assert row["name"] == "a\ufffdb"
    assert row["keywords"] == ["\ufffd"]
    assert row["description"] == "ok \U0001f600"
    # Surrogates that reach us in an already decoded object, paired or not.
    row = parse({"name": "\ud83d\ude00", "recordSet": [{"name": "\udc00"}]})
    assert row["name"] == "\U0001f600"
    assert row["record_set_names"] == ["\ufffd"]


def test_huge_integer_in_decoded_object():
    row = parse({"version": 10**5000, "name": "x"})
    assert row["name"] == "x"
    assert row["version"] is None


# --------------------------------------------------------------------------------------------
# Batches


def _mixed_docs() -> list[Any]:
    texts = [_fixture_text(name) for name in sorted(EXPECTED)]
    return [
        *texts,
        None,
        "",
        "not json",
        texts[0][: len(texts[0]) // 2],
        "[1, 2, 3]",
        texts[1].encode(),
        b"\xff\xfe\xfd",
        json.loads(texts[2]),
        "{}",
        '{"name": 5, "keywords": "a,b", "recordSet": 7}',
    ]


def test_parse_many_builds_a_table():
    docs = _mixed_docs()
    columns = parse_croissant_many(docs)
    assert tuple(columns) == PARSED_COLUMNS
    assert all(len(values) == len(docs) for values in columns.values())
    table = pa.table(columns, schema=CROISSANT_PARSED)
    assert table.num_rows == len(docs)
    assert table.schema.equals(CROISSANT_PARSED)
    assert pa.Table.from_pydict(columns, schema=CROISSANT_PARSED).num_rows == len(docs)
    assert table.column("name").to_pylist()[:3] == [
        EXPECTED[name]["name"] for name in sorted(EXPECTED)
    ]
    assert table.column("parse_error").to_pylist()[3] == NO_DOCUMENT
    # Row-wise and column-wise agree.
    rows = [parse(doc) for doc in docs]
    assert pa.Table.from_pylist(rows, schema=CROISSANT_PARSED).equals(table)


def test_parse_many_empty_and_generator():
    assert pa.table(parse_croissant_many([]), schema=CROISSANT_PARSED).num_rows == 0
    assert pa.table(parse_croissant_many(iter([None, None])), schema=CROISSANT_PARSED).num_rows == 2


def test_thousand_documents():
    """Micro-check (no timing assertion): a batch of 1000 documents parses end to end."""
    docs = _mixed_docs()
    batch = [docs[i % len(docs)] for i in range(1000)]
    table = pa.table(parse_croissant_many(batch), schema=CROISSANT_PARSED)
    assert table.num_rows == 1000
    assert table.column("record_set_count").null_count == sum(
        1 for i in range(1000) if i % len(docs) in (3, 4, 5, 6, 7, 9)
    )
