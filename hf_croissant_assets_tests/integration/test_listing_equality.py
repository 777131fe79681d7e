"""The optimised listing path (msgspec decode keeping the Hub's bytes, columnar `hf_datasets`,
external-merge sorted writer) produces the same partitions as the code it replaced.

The golden partitions were written by main at commit c588631 running the same scenario
(`hf_croissant_assets_tests/listing_golden.py`, which says how to regenerate them).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pyarrow.parquet as pq
import pytest

from hf_croissant_assets.schema import SCHEMA_VERSION, SCHEMA_VERSION_KEY
from hf_croissant_assets_tests.listing_golden import (
    DATES,
    TABLES,
    golden_path,
    run_scenario,
)

VERSION_KEY = SCHEMA_VERSION_KEY.encode()


@pytest.fixture(scope="module")
def scenario_store(tmp_path_factory):
    return run_scenario(str(tmp_path_factory.mktemp("listing-equality")))


def _same_value(a: Any) -> Any:
    """NaN compares unequal to itself; make it comparable."""
    if isinstance(a, float) and math.isnan(a):
        return "NaN"
    return a


def _rows(table) -> list[dict[str, Any]]:
    return [{k: _same_value(v) for k, v in row.items()} for row in table.to_pylist()]


def _parsed(text: str) -> Any:
    # parse_constant keeps NaN/Infinity as their names, so they compare equal
    item = json.loads(text, parse_constant=lambda name: name)
    if re.fullmatch(r"x[0-9]{12}", str(item.get("_id"))):
        # the emulator makes the `_id` of its extra items (`extra_ids`) from Python's str
        # hash, which differs from one process to the next
        item.pop("_id")
    return item


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("date", DATES)
def test_partition_equals_the_reference(scenario_store, table, date):
    golden = pq.ParquetFile(golden_path(table, date))
    ours = pq.ParquetFile(scenario_store.part_path(table, date))

    # schema: names, types, field comments; key-value metadata (the version is today's)
    g_schema, o_schema = golden.schema_arrow, ours.schema_arrow
    assert o_schema.remove_metadata().equals(g_schema.remove_metadata(), check_metadata=True)
    for g_field, o_field in zip(g_schema, o_schema, strict=True):
        assert o_field.metadata == g_field.metadata, o_field.name
    g_meta, o_meta = dict(g_schema.metadata), dict(o_schema.metadata)
    assert o_meta.pop(VERSION_KEY) == SCHEMA_VERSION.encode()
    g_meta.pop(VERSION_KEY)
    assert o_meta == g_meta

    g_table, o_table = golden.read(), ours.read()
    assert o_table.num_rows == g_table.num_rows > 700
    if table == "raw_listing":
        for column in ("id", "request_time", "sha", "last_modified"):
            assert o_table.column(column).to_pylist() == g_table.column(column).to_pylist()
        g_items = [_parsed(t) for t in g_table.column("item").to_pylist()]
        o_items = [_parsed(t) for t in o_table.column("item").to_pylist()]
        assert o_items == g_items
    else:
        # same rows in the same (sorted) order, and the same row-group layout
        assert _rows(o_table) == _rows(g_table)
        g_groups = [golden.metadata.row_group(i).num_rows for i in range(golden.num_row_groups)]
        o_groups = [ours.metadata.row_group(i).num_rows for i in range(ours.num_row_groups)]
        assert o_groups == g_groups


def test_the_scenario_exercises_the_hostile_shapes(scenario_store):
    """Guard against a scenario that silently lost what makes the comparison meaningful."""
    raw = scenario_store.read_table("raw_listing", DATES[1])
    items = raw.column("item").to_pylist()
    for marker in (
        '"12"',
        "NaN",
        "2025-04-31",
        "données",
        "org/../other",
        '"nested"',
        "1" + "0" * 30,
    ):
        assert any(marker in item for item in items), marker
    curated = scenario_store.read_table("hf_datasets", DATES[1])
    assert curated.column("downloads").null_count > 0
    assert curated.column("license").null_count < curated.num_rows
