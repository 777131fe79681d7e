"""Asset checks: pass on good data, fail (and block publishing) on seeded bad data."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import materialize

from hf_croissant_assets.curate.checks import CHECKS, audit_partition
from hf_croissant_assets.curate.listing_rows import raw_listing_table
from hf_croissant_assets.curate.tables import curate_datasets
from hf_croissant_assets.schema import CROISSANT_RECORDS, HF_DATASETS
from hf_croissant_assets_tests.support import (
    duckdb_tables,
    hf_croissant,
    hf_datasets,
    make_resources,
)

D1, D2 = "2026-11-19", "2026-11-20"


#: The row-drop tolerance the tests audit with (the setting's default).
TOLERANCE = 0.2


def _items(n: int, prefix: str = "org/ds") -> list[dict]:
    return [
        {"id": f"{prefix}-{i}", "sha": f"{i:040x}", "tags": ["license:mit"], "gated": False}
        for i in range(n)
    ]


def _seed_listing(store, date: str, items: list[dict]) -> None:
    store.write_table("raw_listing", date, raw_listing_table(items, f"{date}T01:00:00Z"))


def _seed_records(store, date: str, ids: list[str]) -> None:
    rows = [{"dataset": d, "status": 400, "reason": "no parquet"} for d in ids]
    store.write_table(
        "croissant_records", date, pa.Table.from_pylist(rows, schema=CROISSANT_RECORDS)
    )


def _outcomes(store, table, date):
    return {o.name: o.passed for o in audit_partition(store, table, date, TOLERANCE)}


def test_checks_pass_on_good_data(store):
    _seed_listing(store, D1, _items(100))
    curate_datasets(store, D1)
    _seed_listing(store, D2, _items(95))  # a 5% drop is within the 20% tolerance
    curate_datasets(store, D2)
    assert _outcomes(store, "hf_datasets", D2) == {
        "schema_matches": True,
        "dataset_unique": True,
        "row_count_vs_previous": True,
    }


def test_dropped_half_of_the_rows_fails_the_row_count_check(store):
    _seed_listing(store, D1, _items(100))
    curate_datasets(store, D1)
    store.write_table(
        "hf_datasets", D2, pq.read_table(store.part_path("hf_datasets", D1)).slice(0, 50)
    )
    outcomes = audit_partition(store, "hf_datasets", D2, TOLERANCE)
    row = next(o for o in outcomes if o.name == "row_count_vs_previous")
    assert not row.passed and "drop 50.0%" in row.description
    assert row.metadata["previous_date"] == D1


def test_duplicated_dataset_fails_the_unique_check(store):
    table = pa.Table.from_pylist(
        [{"dataset": "a/x"}, {"dataset": "a/y"}, {"dataset": "a/x"}, {"dataset": None}],
        schema=HF_DATASETS,
    )
    store.write_table("hf_datasets", D1, table)
    outcome = next(
        o
        for o in audit_partition(store, "hf_datasets", D1, TOLERANCE)
        if o.name == "dataset_unique"
    )
    assert not outcome.passed
    assert outcome.metadata["duplicates"] == 1 and outcome.metadata["nulls"] == 1


def test_changed_column_type_fails_the_schema_check(store):
    # a file written by something else, with `downloads` as a string
    schema = pa.schema(
        [f if f.name != "downloads" else pa.field("downloads", pa.string()) for f in HF_DATASETS]
    )
    path = store.part_path("hf_datasets", D1)
    store.fs.create_dir(path.rsplit("/", 1)[0])
    pq.write_table(
        pa.Table.from_pylist([{"dataset": "a/x", "downloads": "12"}], schema=schema), path
    )
    outcome = next(
        o
        for o in audit_partition(store, "hf_datasets", D1, TOLERANCE)
        if o.name == "schema_matches"
    )
    assert not outcome.passed and "downloads: string != declared int32" in outcome.description


def test_croissant_rows_must_match_the_listing(store):
    _seed_listing(store, D1, _items(10))
    curate_datasets(store, D1)
    _seed_records(store, D1, [f"org/ds-{i}" for i in range(9)])
    from hf_croissant_assets.curate.tables import curate_croissant

    curate_croissant(store, D1)
    outcome = next(
        o
        for o in audit_partition(store, "hf_croissant", D1, TOLERANCE)
        if o.name == "rows_match_listing"
    )
    assert (
        not outcome.passed and "9 hf_croissant rows vs 10 hf_datasets rows" in outcome.description
    )


def _materialize(lake_dir, assets, date):
    return materialize(
        assets,
        partition_key=date,
        resources=make_resources("http://127.0.0.1:9", lake_dir, now=f"{date}T12:00:00+00:00"),
        raise_on_error=False,
        selection=[a.key for a in assets if a is not _listing_source()],
    )


def _listing_source():
    from hf_croissant_assets_tests.support import hf_dataset_listing

    return hf_dataset_listing


def _checks(result):
    return {
        (c.asset_key.to_user_string(), c.check_name): c.passed
        for c in result.get_asset_check_evaluations()
    }


def test_blocking_check_keeps_the_previous_day_and_stops_the_tables(lake_dir, store):
    """A re-derivation that would publish a bad day is refused; the old version stays."""
    _seed_listing(store, D1, _items(100))
    ok = _materialize(lake_dir, [_listing_source(), hf_datasets], D1)
    assert ok.success and all(_checks(ok).values())
    before = store.read_table("hf_datasets", D1)

    # the stored raw listing for D1 is replaced by one that lost most of its rows
    _seed_listing(store, D1, _items(30))
    # ... and D0 exists with 100 rows, so the drop vs. the previous snapshot is 70%
    _seed_listing(store, "2026-11-18", _items(100))
    curate_datasets(store, "2026-11-18")
    result = _materialize(lake_dir, [_listing_source(), hf_datasets, duckdb_tables], D1)
    assert not result.success
    checks = _checks(result)
    assert checks[("hf_datasets", "row_count_vs_previous")] is False
    assert checks[("hf_datasets", "schema_matches")] is True
    # not published: the day still holds its previous version; the candidate is kept aside
    assert store.read_table("hf_datasets", D1).equals(before)
    rejected = lake_dir / "_staging" / "rejected" / "hf_datasets" / f"date={D1}" / "part-0.parquet"
    assert pq.read_metadata(rejected).num_rows == 30
    # and the tables downstream did not run
    mats = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "duckdb_tables" not in mats and "hf_datasets" not in mats


def test_duplicate_rows_block_hf_croissant(lake_dir, store):
    _seed_listing(store, D1, _items(5))
    curate_datasets(store, D1)
    ids = [f"org/ds-{i}" for i in range(5)]
    _seed_records(store, D1, [*ids[:4], ids[0]])  # 5 rows, one dataset twice, one missing
    result = _materialize(lake_dir, [hf_croissant], D1)
    assert not result.success
    checks = _checks(result)
    assert checks[("hf_croissant", "dataset_unique")] is False
    assert (
        checks[("hf_croissant", "rows_match_listing")] is True
    )  # 5 == 5: the count alone is not enough
    assert not store.exists("hf_croissant", D1)


@pytest.mark.parametrize("table", sorted(CHECKS))
def test_checks_are_declared_blocking_on_the_assets(table):
    from hf_croissant_assets.definitions import build_definitions
    from hf_croissant_assets.settings import Settings

    defs = build_definitions(Settings.build())
    specs = list(defs.resolve_assets_def(table).check_specs)
    assert all(s.blocking for s in specs)
    # Exactly the checks the audit runs, with their declared descriptions.
    assert {(s.name, s.description) for s in specs} == {
        (c.name, c.description) for c in CHECKS[table]
    }
    assert len(specs) >= 3
