"""Tests for `curate.croissant_depth` (fields / files rows) and `curate.licenses` (SPDX ids).

Every real fixture document, every generated emulator shape, and hostile shapes. The expected rows
come from an independent (recursive) reading of the document, not from the code under test.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest

from hf_croissant_assets.curate import croissant_depth as depth
from hf_croissant_assets.curate.croissant_depth import (
    MAX_DEPTH,
    MAX_FIELDS_PER_DOC,
    MAX_FILES_PER_DOC,
    depth_rows,
    depth_tables,
    parse_content_size,
)
from hf_croissant_assets.curate.croissant_parser import parse_croissant
from hf_croissant_assets.curate.licenses import spdx_from_license, spdx_from_tag
from hf_croissant_assets.curate.listing_rows import dataset_row
from hf_croissant_assets.schema import HF_CROISSANT_FIELDS, HF_CROISSANT_FILES
from hf_croissant_assets_tests.hub_emulator import DEFAULT_FIXTURES_DIR
from hf_croissant_assets_tests.hub_emulator.croissant_documents import slot_values
from hf_croissant_assets_tests.hub_emulator.croissant_generator import (
    VARIANTS,
    content_size,
    generated_template,
)
from hf_croissant_assets_tests.hub_emulator.vocabulary import FORMATS, TASKS

FIXTURE_NAMES = sorted(p.name for p in DEFAULT_FIXTURES_DIR.glob("*.json"))


def _fixture(name: str) -> dict:
    return json.loads((DEFAULT_FIXTURES_DIR / name).read_text())


def _independent_fields(doc: dict) -> list[tuple[str, str, list[str], bool]]:
    """(record set, @id, data types, is_array) of every field, by plain recursion."""
    out: list[tuple[str, str, list[str], bool]] = []

    def walk(rs_name: str, fields: Any) -> None:
        for f in fields if isinstance(fields, list) else [fields]:
            dt = f.get("dataType", [])
            out.append(
                (
                    rs_name,
                    f["@id"],
                    dt if isinstance(dt, list) else [dt],
                    bool(f.get("isArray") or f.get("repeated")),
                )
            )
            if "subField" in f:
                walk(rs_name, f["subField"])

    for rs in doc["recordSet"]:
        walk(rs.get("name") or rs["@id"], rs.get("field", []))
    return out


def _generated_docs() -> list[tuple[str, dict]]:
    """One document per (task, format) of the emulator's Croissant 1.1 generator."""
    docs = []
    for t in range(len(TASKS)):
        for f in range(len(FORMATS)):
            tpl = generated_template(t, f, (t * 7 + f) % VARIANTS)
            values = slot_values(f"org/ds-{t}-{f}", "a" * 40, "mit", "card text")
            docs.append((f"gen-{t}-{f}", json.loads(tpl.render_padded(values, None))))
    return docs


DOCS = [(name, _fixture(name)) for name in FIXTURE_NAMES] + _generated_docs()


@pytest.mark.parametrize(("name", "doc"), DOCS, ids=[d[0] for d in DOCS])
def test_rows_match_an_independent_reading(name: str, doc: dict) -> None:
    fields, files = depth_rows("org/ds", json.dumps(doc))
    parsed = parse_croissant(doc)
    # counts agree with the shallow parser's
    assert len(fields) == parsed["field_count"]
    assert len(files) == parsed["file_object_count"] + parsed["file_set_count"]
    kinds = [r["kind"] for r in files]
    assert kinds.count("FileObject") == parsed["file_object_count"]
    assert kinds.count("FileSet") == parsed["file_set_count"]
    # each field row is the field read independently, in document order
    expected = _independent_fields(doc)
    got = [(r["record_set"], r["field_id"], r["data_types"], r["is_array"]) for r in fields]
    assert got == expected
    # keys are unique, rows fit the schema
    assert len({(r["record_set"], r["field_path"]) for r in fields}) == len(fields)
    assert len({r["file_id"] for r in files}) == len(files)
    pa.Table.from_pylist(fields, schema=HF_CROISSANT_FIELDS)
    pa.Table.from_pylist(files, schema=HF_CROISSANT_FILES)
    assert all(r["reason"] is None for r in fields + files)
    # files as declared
    by_id = {e["@id"]: e for e in doc["distribution"]}
    for row in files:
        entry = by_id[row["file_id"]]
        assert row["content_url"] == entry.get("contentUrl")
        assert row["encoding_format"] == entry.get("encodingFormat")
        assert row["sha256"] == entry.get("sha256")
        assert row["content_size"] == entry.get("contentSize")
        inc = entry.get("includes")
        assert row["includes"] == ([] if inc is None else [inc] if isinstance(inc, str) else inc)
        if "containedIn" in entry:
            assert row["contained_in"] == [entry["containedIn"]["@id"]]


def test_squad_v2_rows_read_by_hand() -> None:
    fields, files = depth_rows("rajpurkar/squad_v2", json.dumps(_fixture("squad_v2.json")))
    by_path = {(r["record_set"], r["field_path"]): r for r in fields}
    split = by_path[("squad_v2", "split")]
    assert split["source_file"] == "parquet-files-for-config-squad_v2"
    assert (split["source_extract"], split["source_column"]) == ("fileProperty", "fullpath")
    assert split["references"] == "squad_v2_splits/split_name"
    text = by_path[("squad_v2", "answers/text")]
    assert (text["depth"], text["is_array"], text["data_types"]) == (1, True, ["sc:Text"])
    assert (text["source_extract"], text["source_column"]) == ("column", "answers")
    assert by_path[("squad_v2", "answers")]["data_types"] == []
    assert [r["kind"] for r in files] == ["FileObject", "FileSet"]
    assert files[1]["contained_in"] == ["repo"] and files[1]["includes"] == ["squad_v2/*/*.parquet"]


def test_generated_documents_cover_images_audio_and_sizes() -> None:
    types = {t for _, doc in DOCS for r in depth_rows("x", doc)[0] for t in r["data_types"]}
    assert {"sc:ImageObject", "sc:AudioObject", "sc:Text"} <= types
    sized = [r for _, doc in DOCS for r in depth_rows("x", doc)[1] if r["content_size"]]
    assert sized, "some generated documents declare contentSize"
    for row in sized:
        assert row["content_size_bytes"] is not None
        # the generator writes "<number> <unit>" with decimal units
        number, unit = row["content_size"].split()
        factor = {"B": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}[unit]
        assert row["content_size_bytes"] == round(float(number) * factor)
        assert row["content_size_bytes"] >= 100


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123 B", 123),
        ("0 B", 0),
        ("45.6 kB", 45_600),
        ("45.6 KB", 45_600),
        ("1.2 MB", 1_200_000),
        ("3 GB", 3_000_000_000),
        ("2.5 TB", 2_500_000_000_000),
        ("1 PB", 10**15),
        ("1 KiB", 1024),
        ("1.5 MiB", 1_572_864),
        ("2 GiB", 2 * 2**30),
        ("1 TiB", 2**40),
        ("1,234 bytes", 1234),
        ("7 byte", 7),
        ("42", 42),
        ("  12MB ", 12_000_000),
        ("1e3 B", 1000),
        ("5 megabytes", 5_000_000),
        (42, 42),
        (4.2e9, 4_200_000_000),
        (None, None),
    ],
)
def test_content_size_units(raw: Any, expected: int | None) -> None:
    size, problem = parse_content_size(raw)
    assert size == expected
    assert problem is None


def test_generator_sizes_round_trip() -> None:
    for n in (5, 999, 1000, 45_678, 1_234_567, 9_876_543_210, 3 * 10**12):
        size, problem = parse_content_size(content_size(n))
        assert problem is None and size is not None
        assert abs(size - n) <= 0.051 * n


@pytest.mark.parametrize(
    "raw", ["lots", "12 parsecs", "-5 MB", "1e400 B", True, {"a": 1}, [], "9" * 80, "nan MB", -3]
)
def test_content_size_bad_values_give_a_reason(raw: Any) -> None:
    size, problem = parse_content_size(raw)
    assert size is None
    assert problem and problem.startswith("contentSize")


def _nested(depth_: int) -> dict:
    leaf: dict = {"@id": "leaf", "dataType": "sc:Text"}
    for i in range(depth_):
        leaf = {"@id": f"f{i}", "subField": [leaf]}
    return leaf


def test_hostile_shapes_are_capped_and_said() -> None:
    deep = {"recordSet": [{"@id": "rs", "field": [_nested(MAX_DEPTH + 10)]}]}
    fields, _ = depth_rows("x", deep)
    assert len(fields) == MAX_DEPTH + 1
    assert all("depth" in r["reason"] for r in fields)
    assert max(r["depth"] for r in fields) == MAX_DEPTH

    many = {
        "recordSet": {
            "name": "r",
            "field": [{"name": f"c{i}"} for i in range(MAX_FIELDS_PER_DOC + 5)],
        },
        "distribution": [
            {"@type": "cr:FileObject", "@id": "f"} for _ in range(MAX_FILES_PER_DOC + 3)
        ],
    }
    fields, files = depth_rows("x", many)
    assert len(fields) == MAX_FIELDS_PER_DOC
    assert f"kept {MAX_FIELDS_PER_DOC} of {MAX_FIELDS_PER_DOC + 5} fields" in fields[0]["reason"]
    assert len(files) == MAX_FILES_PER_DOC
    assert "kept" in files[0]["reason"]
    # repeated ids become unique keys
    assert files[1]["file_id"] == "f#2"

    weird = {
        "recordSet": [
            "not an object",
            {"field": {"name": "a", "dataType": ["sc:Text", {"@id": "sc:URL"}], "isArray": "true"}},
            {"name": "dup", "field": [{"name": "x"}, {"name": "x"}]},
            {"name": "dup", "field": [{}]},
        ],
        "distribution": [1, {"@type": ["sc:FileObject", "x"], "contentSize": "big"}],
    }
    fields, files = depth_rows("x", weird)
    assert [(r["record_set"], r["field_path"]) for r in fields] == [
        ("#1", "a"), ("dup", "x"), ("dup", "x#2"), ("dup#2", "#0")
    ]  # fmt: skip
    assert fields[0]["data_types"] == ["sc:Text", "sc:URL"] and fields[0]["is_array"] is True
    assert files[0]["file_id"] == "#1" and files[0]["kind"] == "FileObject"
    assert files[0]["content_size_bytes"] is None and "unparsable" in files[0]["reason"]


@pytest.mark.parametrize(
    "doc", [None, "", "not json", "[1,2]", '"text"', b"\xff\xfe", "{" * 100_000]
)
def test_unreadable_documents_give_no_rows(doc: Any) -> None:
    assert depth_rows("x", doc) == ([], [])


def test_depth_tables_explode_only_served_documents() -> None:
    doc = (DEFAULT_FIXTURES_DIR / "squad_v2.json").read_text()
    fields, files = depth_tables(["a", "b", "c"], [doc, doc, None], [200, 404, 200])
    assert set(fields.column("dataset").to_pylist()) == {"a"}
    assert fields.num_rows == 9 and files.num_rows == 2
    assert fields.schema == HF_CROISSANT_FIELDS


# -- licenses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "spdx"),
    [
        ("mit", "MIT"),
        ("apache-2.0", "Apache-2.0"),
        ("cc-by-4.0", "CC-BY-4.0"),
        ("cc-by-sa-4.0", "CC-BY-SA-4.0"),
        ("cc0-1.0", "CC0-1.0"),
        ("gpl-3.0", "GPL-3.0-only"),  # deprecated SPDX id -> its successor
        ("lgpl-2.1", "LGPL-2.1-only"),
        ("bsd-3-clause", "BSD-3-Clause"),
        ("MIT", "MIT"),
        ("openrail", None),
        ("other", None),
        ("unknown", None),
        ("", None),
        (None, None),
    ],
)
def test_tag_to_spdx(tag: str | None, spdx: str | None) -> None:
    assert spdx_from_tag(tag) == spdx


@pytest.mark.parametrize(
    ("url", "spdx"),
    [
        ("https://choosealicense.com/licenses/mit/", "MIT"),
        ("https://choosealicense.com/licenses/apache-2.0/", "Apache-2.0"),
        ("https://choosealicense.com/licenses/cc-by-sa-4.0/", "CC-BY-SA-4.0"),
        ("http://choosealicense.com/licenses/gpl-3.0", "GPL-3.0-only"),
        ("https://spdx.org/licenses/MIT.html", "MIT"),
        ("https://spdx.org/licenses/Apache-2.0", "Apache-2.0"),
        ("https://spdx.org/licenses/cc-by-4.0.json", "CC-BY-4.0"),
        ("https://opensource.org/licenses/BSD-3-Clause", "BSD-3-Clause"),
        ("https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
        ("https://creativecommons.org/licenses/by-nc-sa/4.0/legalcode", "CC-BY-NC-SA-4.0"),
        ("https://creativecommons.org/licenses/by/4.0/deed.en", "CC-BY-4.0"),
        ("https://CreativeCommons.org/Licenses/BY-SA/3.0/", "CC-BY-SA-3.0"),
        ("https://creativecommons.org/licenses/by/3.0/us/", "CC-BY-3.0-US"),
        ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0"),
        ("creativecommons.org/licenses/by/4.0", "CC-BY-4.0"),
        ("CC BY 4.0", "CC-BY-4.0"),
        ("apache-2.0", "Apache-2.0"),
        ("https://example.com/licenses/mit", None),
        ("https://choosealicense.com/licenses/other/", None),
        ("https://[broken", None),
        ("x" * 10_000, None),
    ],
)
def test_license_url_to_spdx(url: str, spdx: str | None) -> None:
    assert spdx_from_license(url) == spdx


def test_spdx_columns_in_rows() -> None:
    row = dataset_row({"id": "a/b", "tags": ["license:apache-2.0"]}, None)
    assert (row["license"], row["license_spdx"]) == ("apache-2.0", "Apache-2.0")
    assert dataset_row({"id": "a/b", "tags": ["license:other"]}, None)["license_spdx"] is None
    for name in FIXTURE_NAMES:
        parsed = parse_croissant(_fixture(name))
        assert parsed["license_spdx"] == spdx_from_license(parsed["license_url"])
        assert parsed["license_spdx"] in {"MIT", "Apache-2.0", "CC-BY-SA-4.0"}
    assert parse_croissant("not json")["license_spdx"] is None


def test_module_constants_are_sane() -> None:
    assert depth.MAX_DESCRIPTION_CHARS > 0 and depth.MAX_LIST_ITEMS > 0
