"""Derive, don't redo: the optimised Croissant tables equal the full re-parse, day after day.

Over the emulator's multi-day sequence (new, changed, deleted datasets; hostile answers), each
day's `hf_croissant`, `hf_croissant_fields` and `hf_croissant_files` are produced twice: by the
reference path (every document parsed, one table at a time) and by `curate_croissant_day` (one
sorted pass, unchanged documents copied from the day before). Rows, values, order and schema
metadata must be identical. An older schema version or a new parser version on the day before
must force a re-parse: a poisoned earlier day proves rows are copied when allowed, and never when
not.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from hf_croissant_assets.curate import tables as tables_module
from hf_croissant_assets.curate.tables import (
    CROISSANT_TABLES,
    curate_croissant_day,
    reference_curate_croissant,
    reference_curate_depth,
)
from hf_croissant_assets.hub.client import HubClient
from hf_croissant_assets.ingest.croissant_crawl import Budget, crawl_croissant
from hf_croissant_assets.ingest.listing_crawl import snapshot_listing
from hf_croissant_assets.ingest.plan import (
    AssembleCounts,
    assemble_day,
    plan_day,
    reference_assemble_day,
    reference_plan_day,
)
from hf_croissant_assets.lake.sorted_stream import partition_is_sorted
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import CARRIED_FROM_KEY, RECORDS_WRITE_KEY, SCHEMA_VERSION_KEY
from hf_croissant_assets_tests.hub_emulator import running_emulator
from hf_croissant_assets_tests.support import FAST_RETRY

pytestmark = pytest.mark.slow

DAYS = ("2026-11-18", "2026-11-19", "2026-11-20")
FAULTS = {"deep_json": 0.03, "html200": 0.03, "json_list": 0.03, "500": 0.02, "bad_link": 0.02}


async def _fetch_day(emu, store: LakeStore, date: str) -> None:
    async with HubClient(emu.base_url, concurrency=8, retry=FAST_RETRY) as client:
        await snapshot_listing(client, store, date)
        await crawl_croissant(
            client, store, date, budget=Budget(max_duration_s=None), refresh_after_days=36500
        )


def _nested_fields(levels: int) -> dict:
    field: dict = {"name": f"f{levels}", "dataType": "sc:Text"}
    for level in range(levels):
        field = {"name": f"f{level}", "subField": [field, {"@id": "same"}, {"@id": "same"}]}
    return field


HOSTILE_DOCUMENTS = [
    "\ufeff" + json.dumps({"name": "bom", "recordSet": [{"name": "r", "field": [{"name": "a"}]}]}),
    "not json at all",
    "[1, 2, 3]",
    "",
    "[" * 5000 + "]" * 5000,
    '{"name": "\\ud800 lone", "keywords": ["a", 1, {"x": 2}, null], "creator": true}',
    json.dumps(
        {
            "distribution": [
                {"@type": "cr:FileObject", "@id": "f", "contentSize": "1.2 MB"},
                {"@type": ["sc:FileSet", "cr:FileSet"], "@id": "f", "contentSize": "-3 B"},
                {"@type": "cr:FileObject", "contentSize": "12 zettabytes", "includes": "*" * 9},
                "not an entry",
            ],
            "recordSet": [{"name": "r", "field": [_nested_fields(40)]}],
        }
    ),
    json.dumps({"recordSet": [{"@id": "r", "field": [{"name": "x"}] * 20_100}]}),
    # what the standard library accepts and msgspec refuses (decoded the standard way)
    '{"name": "nan", "version": NaN, "recordSet": [{"name": "r", "field": [{"name": "a"}]}]}',
    '{"name": "huge", "version": 1e400, "citeAs": 123456789012345678901234567890}',
    '{"name": "d", "name": "dup", "keywords": "a, b", "creator": {"name": "\\u00e9t\\u00e9"}}',
    '{"name": "esc \\ud83d\\ude00", "description": "café 日本"}',
    '{"name": "shallow", "distribution": [' + ",".join(['{"@type": "cr:FileObject"}'] * 600) + "]}",
    '{"name": "deep", "recordSet": ' + "[" * 990 + "]" * 990 + "}",
]


def _inject_hostile(store: LakeStore, date: str) -> None:
    """Replace the documents of the first served datasets of day `date` with hostile ones (the
    rows keep their place, so the partition keeps its order)."""
    records = _read(store, "croissant_records", date)
    docs = records.column("croissant").to_pylist()
    statuses = records.column("status").to_pylist()
    served = [i for i, status in enumerate(statuses) if status == 200]
    for i, doc in zip(served, HOSTILE_DOCUMENTS, strict=False):
        docs[i] = doc
    index = records.schema.get_field_index("croissant")
    records = records.set_column(index, records.schema.field(index), pa.array(docs, pa.string()))
    with store.fs.open_output_stream(store.part_path("croissant_records", date)) as out:
        pq.write_table(records, out)


def _read(store: LakeStore, table: str, date: str) -> pa.Table:
    with store.fs.open_input_file(store.part_path(table, date)) as f:
        return pq.read_table(f)


def _reference(store: LakeStore, date: str) -> dict[str, pa.Table]:
    reference_curate_croissant(store, date)
    for table in CROISSANT_TABLES[1:]:
        reference_curate_depth(store, date, table)
    return {t: _read(store, t, date) for t in CROISSANT_TABLES}


def _assert_same(derived: dict[str, pa.Table], reference: dict[str, pa.Table]) -> None:
    for table in CROISSANT_TABLES:
        got, want = derived[table], reference[table]
        assert got.schema.equals(want.schema, check_metadata=True), table
        assert got.num_rows == want.num_rows, table
        assert got.equals(want), f"{table}: rows or values differ"


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    """Three fetched days of a hostile Hub, then both paths for each day, in order."""
    store = LakeStore(str(tmp_path_factory.mktemp("derive") / "lake"))
    results = []
    with running_emulator(datasets=400, seed=21, fault_rate=FAULTS, modify_rate=0.1) as emu:
        for index, date in enumerate(DAYS):
            emu.set_day(index)
            asyncio.run(_fetch_day(emu, store, date))
            if index == 0:
                _inject_hostile(store, date)  # carried forward unchanged to the next days
            reference = _reference(store, date)
            result = curate_croissant_day(store, date)
            derived = {t: _read(store, t, date) for t in CROISSANT_TABLES}
            results.append((date, result, reference, derived))
    return store, results


def test_every_day_the_derived_tables_equal_the_full_reparse(days):
    _, results = days
    for date, result, reference, derived in results:
        _assert_same(derived, reference)
        assert result.rows == reference["hf_croissant"].num_rows, date
    # the hostile answers are there (not all 200s, some unparsable documents)
    last = results[-1][3]["hf_croissant"]
    assert pc.sum(pc.is_valid(last.column("parse_error"))).as_py() > 0


def test_later_days_parse_only_what_changed(days):
    _store, results = days
    first = results[0][1]
    assert first.carried == 0  # no earlier day
    for date, result, _, derived in results[1:]:
        assert result.base_date is not None and set(result.reused) == set(CROISSANT_TABLES)
        # the day's carried rows come from the very records file the base day was derived
        # from: recognised by their fetch, the documents are not read back
        assert result.compared_by == "fetch", date
        assert result.carried > 0 and result.parsed < result.rows / 2, date
        assert result.carried + result.parsed == derived["hf_croissant"].num_rows


def _poison(store: LakeStore, table: str, date: str, *, schema_version: str | None = None) -> None:
    """Rewrite day `date` of `table` with every text value of a derived column replaced, keeping
    (or, with `schema_version`, replacing) the recorded versions."""
    original = _read(store, table, date)
    keep = {"dataset", "request_time", "status", "reason", "croissant", "sha", "last_modified"}
    columns = []
    for name in original.column_names:
        column = original.column(name)
        if name not in keep and pa.types.is_string(column.type) and name != "dataset":
            column = pc.if_else(pc.is_valid(column), pa.scalar("POISON"), column)
        columns.append(column)
    meta = dict(original.schema.metadata or {})
    if schema_version is not None:
        meta[SCHEMA_VERSION_KEY.encode()] = schema_version.encode()
    poisoned = pa.Table.from_arrays(columns, schema=original.schema.with_metadata(meta))
    with store.fs.open_output_stream(store.part_path(table, date)) as out:
        pq.write_table(poisoned, out)


def _poisoned(tables: dict[str, pa.Table]) -> int:
    count = 0
    for table in tables.values():
        for name in table.column_names:
            column = table.column(name)
            if pa.types.is_string(column.type):
                count += pc.sum(pc.equal(column, "POISON")).as_py() or 0
    return count


def test_rows_are_copied_when_the_versions_match(days):
    """The copy path is really taken: a poisoned earlier day with current versions leaks."""
    store, _results = days
    base, date = DAYS[1], DAYS[2]
    for table in CROISSANT_TABLES:
        _poison(store, table, base)
    result = curate_croissant_day(store, date)
    derived = {t: _read(store, t, date) for t in CROISSANT_TABLES}
    assert result.carried > 0
    assert _poisoned(derived) > 0


def test_records_without_the_crawls_ids_are_compared_by_their_text(days):
    """Records written by anything but the crawl (imported, older, edited by hand: here a
    carried document changed behind the crawl's back) carry no record of where their rows came
    from: the documents are compared, and the changed one is parsed again."""
    store, _results = days
    base, date = DAYS[1], DAYS[2]
    _reference(store, base)  # an honest base day
    original = _read(store, "croissant_records", date)
    docs = original.column("croissant").to_pylist()
    changed = next(i for i, d in enumerate(docs) if d and d.startswith("{") and len(d) > 50)
    docs[changed] = json.dumps({"name": "changed behind the crawl's back"})
    index = original.schema.get_field_index("croissant")
    edited = original.set_column(index, original.schema.field(index), pa.array(docs, pa.string()))
    ids = (RECORDS_WRITE_KEY.encode(), CARRIED_FROM_KEY.encode())
    meta = {k: v for k, v in (original.schema.metadata or {}).items() if k not in ids}
    try:
        with store.fs.open_output_stream(store.part_path("croissant_records", date)) as out:
            pq.write_table(edited.replace_schema_metadata(meta), out)
        result = curate_croissant_day(store, date)
        assert result.compared_by == "document" and result.carried > 0
        derived = {t: _read(store, t, date) for t in CROISSANT_TABLES}
        name = derived["hf_croissant"].column("name")[changed].as_py()
        assert name == "changed behind the crawl's back"
        _assert_same(derived, _reference(store, date))
        # the crawl's own file had both ids: they alone decide which comparison is made
        assert dict(original.schema.metadata or {}).keys() >= set(ids)
    finally:
        with store.fs.open_output_stream(store.part_path("croissant_records", date)) as out:
            pq.write_table(original, out)
        curate_croissant_day(store, date)


def test_an_older_schema_version_or_a_new_parser_forces_a_reparse(days, monkeypatch):
    store, results = days
    base, date = DAYS[1], DAYS[2]
    reference = results[2][2]
    for table in CROISSANT_TABLES:
        _poison(store, table, base, schema_version="0")
    result = curate_croissant_day(store, date)
    assert result.reused == () and result.carried == 0
    _assert_same({t: _read(store, t, date) for t in CROISSANT_TABLES}, reference)

    # current schema version, but the parser and the exploder changed since the earlier day
    for table in CROISSANT_TABLES:
        _poison(store, table, base)
    monkeypatch.setitem(tables_module._DERIVATIONS, "hf_croissant", "croissant_parser/next")
    monkeypatch.setitem(tables_module._DERIVATIONS, "hf_croissant_fields", "croissant_depth/next")
    monkeypatch.setitem(tables_module._DERIVATIONS, "hf_croissant_files", "croissant_depth/next")
    result = curate_croissant_day(store, date)
    assert result.carried == 0
    derived = {t: _read(store, t, date) for t in CROISSANT_TABLES}
    assert _poisoned(derived) == 0
    for table in CROISSANT_TABLES:  # same rows; only the recorded derivation differs
        assert derived[table].equals(reference[table]), table


def test_only_the_parser_changed_reuses_fields_and_files(days, monkeypatch):
    """A new parser re-parses hf_croissant but still copies fields/files rows (their own
    version did not change), and the result equals the reference."""
    store, results = days
    base, date = DAYS[1], DAYS[2]
    # restore an honest base day
    _reference(store, base)
    reference = results[2][2]
    monkeypatch.setitem(tables_module._DERIVATIONS, "hf_croissant", "croissant_parser/next")
    result = curate_croissant_day(store, date)
    assert set(result.reused) == {"hf_croissant_fields", "hf_croissant_files"}
    derived = {t: _read(store, t, date) for t in CROISSANT_TABLES}
    for table in CROISSANT_TABLES:
        assert derived[table].equals(reference[table]), table


@pytest.mark.parametrize("refresh_after_days", [36500, 0.5, 0])
def test_the_streaming_plan_equals_the_in_memory_plan(days, refresh_after_days):
    store, _ = days
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    for date in DAYS:
        plan = plan_day(store, date, refresh_after_days=refresh_after_days, now=now)
        reference = reference_plan_day(store, date, refresh_after_days=refresh_after_days, now=now)
        assert plan.previous_date == reference.previous_date
        assert plan.counts == reference.counts
        assert plan.candidates.to_dicts() == reference.candidates.to_dicts()
        assert plan.listed == reference.listed
        plan.close()
        assert not os.path.exists(plan.workdir)


def test_the_streaming_assembly_equals_the_reference_and_is_sorted(days, tmp_path):
    store, _ = days
    date = DAYS[2]
    for table in ("croissant_records",):
        assert partition_is_sorted(store, table, date)
    plan = plan_day(store, date, refresh_after_days=0)
    reference = reference_plan_day(store, date, refresh_after_days=0)
    # "fetched today": a third of the candidates, in two staged files, newer request_time
    ids = plan.candidates["dataset"].to_list()[::3]
    today = _read(store, "croissant_records", date)
    fetched = today.filter(pc.is_in(today.column("dataset"), value_set=pa.array(ids)))
    fetched = fetched.set_column(
        1, "request_time", pa.array(["2026-11-21T00:00:00Z"] * fetched.num_rows)
    )
    half = fetched.num_rows // 2
    paths = []
    for i, part in enumerate((fetched.slice(half), fetched.slice(0, half))):
        paths.append(
            store.write_staging_table("croissant", "2026-11-21", f"batch-{i}.parquet", part)
        )
    counts = AssembleCounts()
    got = pa.concat_tables(list(assemble_day(store, plan, paths, batch_size=64, counts=counts)))
    want = pa.concat_tables(
        list(
            reference_assemble_day(
                store, reference, iter([fetched.slice(half), fetched.slice(0, half)])
            )
        )
    )
    store.clear_staging("croissant", "2026-11-21")
    assert got.column("dataset").to_pylist() == sorted(got.column("dataset").to_pylist())
    assert got.num_rows == want.num_rows == plan.listed
    assert got.sort_by("dataset").equals(want.sort_by("dataset"))
    assert counts.fetched == fetched.num_rows
    assert counts.fetched + counts.carried + counts.pending == got.num_rows
    plan.close()


def test_the_msgspec_decode_equals_the_standard_library(days, monkeypatch):
    """Day 0 (hostile documents included) parsed with every document decoded by json.loads, as
    before msgspec: the same tables as the derived path, which decodes with msgspec where it
    can (`croissant_parser.iter_loaded`, `fast_decode`)."""
    store, results = days
    date, _, _, derived = results[0]
    from hf_croissant_assets.curate import croissant_parser

    missing = croissant_parser._MISSING
    monkeypatch.setattr(croissant_parser, "fast_decode", lambda *_: missing)
    monkeypatch.setattr(croissant_parser, "_fast_decode_slice", lambda *_: missing)
    standard = _reference(store, date)
    _assert_same(derived, standard)
    # and the derived path itself with the standard decode only
    curate_croissant_day(store, date)
    _assert_same({t: _read(store, t, date) for t in CROISSANT_TABLES}, standard)
