"""The listing's fast paths against their reference paths, on well-formed and hostile input:
the page decoder (msgspec, the Hub's bytes kept), columnar `hf_datasets`, and the sorting
partition writer (bounded runs spilled and merged)."""

from __future__ import annotations

import json
import os
import random

import pyarrow as pa
import pytest

import hf_croissant_assets.lake.store as store_module
from hf_croissant_assets.curate.listing_rows import (
    _decode_typed,
    _reference_rows,
    _scrubbed,
    curate_listing_batch,
)
from hf_croissant_assets.hub.client import decode_listing_body
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import HF_DATASETS, LISTING_EXPAND
from hf_croissant_assets_tests.hub_emulator import HubEmulator


def _items(n: int = 300) -> list[dict]:
    universe = HubEmulator(datasets=n)._universe()
    fields = frozenset(LISTING_EXPAND)
    return [universe.item(i, day, 0, fields) for i, day in universe.iter_indices(0, 0)]


def _texts(items: list[dict]) -> list[str]:
    return [json.dumps(item, ensure_ascii=False, separators=(",", ":")) for item in items]


# -- the page decoder -----------------------------------------------------------------------


def test_page_decoder_keeps_each_items_bytes_and_reads_the_heads():
    items = _items()
    items[0]["description"] = "ünïcødé ✓ \u2028 𝔘"
    body = ("[" + ",".join(_texts(items)) + "]").encode()
    decoded = decode_listing_body(body)
    assert decoded is not None
    heads, raws = decoded
    assert b"[" + b",".join(raws) + b"]" == body  # exactly the Hub's bytes, item by item
    assert [json.loads(r) for r in raws] == items
    assert [h.id for h in heads] == [i["id"] for i in items]
    assert [h.sha for h in heads] == [i["sha"] for i in items]
    assert [h.lastModified for h in heads] == [i["lastModified"] for i in items]
    # whitespace between items is not part of any item
    spaced = b'[ {"id": "a/b", "private": true} ,\n {"id":"c"} ]'
    heads, raws = decode_listing_body(spaced)
    assert raws == [b'{"id": "a/b", "private": true}', b'{"id":"c"}']
    assert heads[0].private is True and heads[1].private is None


@pytest.mark.parametrize(
    "body",
    [
        b'[{"id":"a","description":"\xff\xfe"}]',  # not UTF-8 (msgspec would not notice)
        b'[{"id":"a","trendingScore":NaN}]',
        b'[{"id":"a","sha":1e400}]',  # beyond a double, in a field the crawl reads
        b'[{"id":"a","description":"\\ud800"}]',  # a lone surrogate
        b'[{"id":5}]',
        b'[{"sha":"x"}]',
        b"[[1]]",
        b'{"id":"a"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'[{"id":"a"}',  # truncated
        b"",
    ],
)
def test_page_decoder_hands_what_it_cannot_read_exactly_to_the_standard_path(body):
    assert decode_listing_body(body) is None


# -- columnar hf_datasets -------------------------------------------------------------------

HOSTILE = [
    '{"id":"a/b","downloads":"12","likes":1.0,"tags":["license:mit",3],"gated":" Manual "}',
    '{"id":"c","downloads":99999999999,"usedStorage":1e400,"createdAt":"2025-04-31T00:00:00Z"}',
    '{"id":"c2","trendingScore":1' + "0" * 400 + "}",  # an int beyond a double: null
    "not json",
    "[1,2]",
    '{"id":5}',
    None,
    '{"id":"d/e","tags":["license:","license:apache-2.0"],"lastModified":"2024-01-01"}',
    '{"id":"f/g","tags":["license:cc-by-4.0","license:mit"],"createdAt":"2024-05-01T12:00:00+02:00"}',
    '{"id":"h","downloads":NaN,"trendingScore":true}',
    '{"id":"i","tags":[],"author":null,"gated":false,"private":"yes"}',
    '{"id":"j","description":"\\ud800 lone"}',  # stored, with U+FFFD for the surrogate
    '{"id":"k","id":"k2","likes":-2147483649,"downloads":-2147483648}',
]


def _reference(texts: list[str | None]) -> pa.Table:
    _, rows = _reference_rows(["t"] * len(texts), texts, list(range(len(texts))))
    return pa.Table.from_pylist([_scrubbed(row) for row in rows], schema=HF_DATASETS)


def _raw(texts: list[str | None]) -> pa.Table:
    return pa.table(
        {
            "request_time": [f"t{i}" for i in range(len(texts))],
            "item": pa.array(texts, pa.string()),
        }
    )


def test_columnar_curation_matches_the_reference_on_hub_shaped_items():
    texts = _texts(_items())
    positions, _ = _decode_typed(pa.array(texts))
    assert positions == list(range(len(texts)))  # all on the fast path
    got = curate_listing_batch(_raw(texts))
    expected = _reference(texts)
    expected = expected.set_column(
        0, "request_time", pa.array([f"t{i}" for i in range(len(texts))], pa.string())
    )
    assert got.equals(expected)
    assert got.column("license").null_count < got.num_rows


def test_columnar_curation_matches_the_reference_on_hostile_items_in_place():
    normal = _texts(_items(60))
    texts = normal[:20] + HOSTILE + normal[20:]
    got = curate_listing_batch(_raw(texts))
    kept = [
        i for i, t in enumerate(texts) if _reference_rows(["t"], [t], [i])[0]
    ]  # rows the reference keeps, in order
    expected = _reference(texts).set_column(
        0, "request_time", pa.array([f"t{i}" for i in kept], pa.string())
    )
    assert got.equals(expected)
    rows = {row["dataset"]: row for row in got.to_pylist()}
    assert rows["a/b"]["downloads"] is None and rows["a/b"]["likes"] == 1
    assert rows["a/b"]["gated"] == "manual" and rows["a/b"]["tags"] == ["license:mit"]
    assert rows["c"]["used_storage"] is None and rows["c"]["created_at"] is None
    assert rows["c2"]["trending_score"] is None
    assert rows["d/e"]["license"] is None and rows["d/e"]["last_modified"] is not None
    assert rows["f/g"]["license"] == "cc-by-4.0" and rows["f/g"]["author"] == "f"
    assert rows["j"]["description"] == "\ufffd lone"
    assert rows["k2"]["likes"] is None and rows["k2"]["downloads"] == -(2**31)
    assert "k" not in rows and len(got) == len(normal) + len(HOSTILE) - 4


def test_columnar_curation_of_an_empty_batch():
    assert curate_listing_batch(_raw([])).num_rows == 0


# -- the sorting writer -----------------------------------------------------------------------


@pytest.fixture
def small_runs(monkeypatch):
    monkeypatch.setattr(store_module, "SORT_RUN_BYTES", 150_000)
    monkeypatch.setattr(store_module, "SORT_RUN_BATCH_BYTES", 4_000)
    monkeypatch.setattr(store_module, "SORT_MERGE_FAN_IN", 3)


def _datasets_table(ids: list[str | None]) -> pa.Table:
    n = len(ids)
    columns = {f.name: pa.nulls(n, f.type) for f in HF_DATASETS}
    columns["dataset"] = pa.array(ids, pa.string())
    columns["request_time"] = pa.array([str(i) for i in range(n)], pa.string())
    columns["description"] = pa.array(["x" * (i % 50) for i in range(n)], pa.string())
    return pa.Table.from_pydict(columns, schema=HF_DATASETS)


def test_sorting_writer_spills_runs_and_merges_them_sorted_and_stable(tmp_path, small_runs):
    rng = random.Random(4)
    # short ids from a small alphabet: many ties; non-ASCII; nulls
    ids: list[str | None] = [
        "".join(rng.choices("abXY/é_-", k=rng.randint(1, 3))) for _ in range(20_000)
    ]
    ids[5] = ids[15_000] = None
    table = _datasets_table(ids)
    store = LakeStore(str(tmp_path / "lake"))
    with store.writer("hf_datasets", "2026-01-01") as writer:
        for start in range(0, len(ids), 777):
            writer.write(table.slice(start, 777))
        spool = writer._spool_dir
        assert len(writer._runs) > store_module.SORT_MERGE_FAN_IN  # merged in passes
    assert spool is not None and not os.path.exists(spool)  # temp runs removed
    out = store.read_table("hf_datasets", "2026-01-01")
    order = sorted(
        range(len(ids)), key=lambda i: (ids[i] is None, (ids[i] or "").encode(), i)
    )  # byte order, nulls last, ties in write order
    assert out.column("request_time").to_pylist() == [str(i) for i in order]
    meta = store.parquet_file("hf_datasets", "2026-01-01").metadata
    groups = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert groups == [8192, 8192, 20_000 - 2 * 8192]


def test_sorting_writer_in_memory_when_small_and_clean_after_a_failure(tmp_path, small_runs):
    store = LakeStore(str(tmp_path / "lake"))
    with store.writer("hf_datasets", "2026-01-01") as writer:
        writer.write(_datasets_table(["b", None, "a"]))
        assert writer._runs == []
    assert store.read_table("hf_datasets", "2026-01-01").column("dataset").to_pylist() == [
        "a",
        "b",
        None,
    ]
    big = _datasets_table([f"id{i}" for i in range(5_000)])
    with pytest.raises(RuntimeError), store.writer("hf_datasets", "2026-01-02") as writer:
        writer.write(big)
        writer.write(big)
        spool = writer._spool_dir
        assert writer._runs
        raise RuntimeError("boom")
    assert spool is not None and not os.path.exists(spool)
    assert not store.exists("hf_datasets", "2026-01-02")
