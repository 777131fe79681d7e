"""The listing path end to end through Dagster: emulator -> lake partition -> DuckDB."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import pytest
from dagster import materialize

from hf_croissant_assets.defs.partitions import NotObservableError, observable_day
from hf_croissant_assets.schema import HF_CROISSANT, HF_DATASETS, strip_field_metadata
from hf_croissant_assets_tests.support import (
    croissant_records,
    duckdb_tables,
    failure_text,
    hf_croissant,
    hf_dataset_listing,
    hf_datasets,
    make_resources,
)

DATE = "2026-11-20"
NOW = "2026-11-20T13:00:00+00:00"
ALL_ASSETS = [hf_dataset_listing, hf_datasets, croissant_records, hf_croissant, duckdb_tables]


def _materialize(emulator, lake_dir, date=DATE, now=NOW, assets=ALL_ASSETS, **kwargs):
    return materialize(
        assets,
        partition_key=date,
        resources=make_resources(emulator.base_url, lake_dir, now=now, **kwargs),
        raise_on_error=False,
    )


def test_daily_snapshot_writes_the_seed_schema_and_duckdb_counts(emulator, lake_dir, store):
    emulator.inject("list", "429", "503")
    result = _materialize(emulator, lake_dir)
    assert result.success
    expected = emulator.dataset_ids()

    # the parquet file has the seed columns, in order, with their declared types; no `date` column
    path = store.part_path("hf_datasets", DATE)
    schema = pq.read_schema(path)
    assert schema.names[:13] == [
        "request_time", "dataset", "author", "created_at", "last_modified", "private",
        "disabled", "gated", "downloads", "downloads_all_time", "tags", "license",
        "trending_score",
    ]  # fmt: skip
    assert strip_field_metadata(schema) == strip_field_metadata(HF_DATASETS)
    assert "date" not in schema.names

    # one row per dataset, and values curated from the listing
    table = pq.read_table(path)
    assert table.num_rows == len(expected) == len(set(table.column("dataset").to_pylist()))
    first = emulator.dataset(expected[0])
    row = next(r for r in table.to_pylist() if r["dataset"] == expected[0])
    assert row["sha"] == first["sha"]
    assert row["gated"] in ("false", "auto", "manual")
    tags = first.get("tags") or []
    lic = next((t.split(":", 1)[1] for t in tags if t.startswith("license:")), None)
    assert row["license"] == lic

    # DuckDB: the views over the lake return the expected counts
    con = duckdb.connect(str(lake_dir.parent / "test.duckdb"), read_only=True)
    try:
        assert con.execute(
            "SELECT count(*), count(DISTINCT dataset) FROM hf_datasets WHERE \"date\" = DATE '2026-11-20'"
        ).fetchone() == (len(expected), len(expected))
        gated = con.execute("SELECT count(*) FROM hf_datasets WHERE gated <> 'false'").fetchone()[0]
        assert gated == sum(1 for d in emulator.catalog() if d.get("gated") not in (False, None))
        assert con.execute("SELECT count(*) FROM hf_croissant").fetchone()[0] == len(expected)
    finally:
        con.close()

    mats = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert mats["hf_datasets"]["dagster/row_count"].value == len(expected)
    assert mats["hf_dataset_listing"]["http_429"].value == 1


def test_rematerializing_a_day_replaces_it(emulator, lake_dir, store):
    assert _materialize(emulator, lake_dir, assets=[hf_dataset_listing, hf_datasets]).success
    first = store.num_rows("hf_datasets", DATE)
    assert _materialize(emulator, lake_dir, assets=[hf_dataset_listing, hf_datasets]).success
    files = [p.name for p in (lake_dir / "hf_datasets" / f"date={DATE}").iterdir()]
    assert files == ["part-0.parquet"]
    assert store.num_rows("hf_datasets", DATE) == first
    con = duckdb.connect()
    n = con.execute(
        f"SELECT count(*) FROM read_parquet('{store.glob('hf_datasets')}', hive_partitioning=true)"
    ).fetchone()[0]
    assert n == first
    # nothing left behind in staging
    assert store.staging_files("listing", DATE) == []


def test_fetching_a_past_day_fails_clearly_and_writes_nothing(emulator, lake_dir, store):
    result = _materialize(emulator, lake_dir, date="2026-11-18", assets=[hf_dataset_listing])
    assert not result.success
    message = failure_text(result)
    assert "2026-11-18 cannot be fetched now" in message and "2026-11-20 UTC" in message
    assert store.dates("raw_listing") == []
    assert emulator.stats["requests"] == 0


def test_observable_day_rules():
    from datetime import UTC, datetime

    now = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
    assert observable_day("2026-11-21", now) == "2026-11-21"
    assert observable_day("2026-11-20", now, grace_hours=2) == "2026-11-20"  # within grace
    with pytest.raises(NotObservableError):
        observable_day("2026-11-20", now, grace_hours=0.5)
    with pytest.raises(NotObservableError):
        observable_day("2026-11-22", now)  # the future cannot be observed either


@pytest.mark.parametrize("key", ["2026-13-01", "yesterday", "2026-11-21; DROP TABLE x", ""])
def test_bad_partition_key_is_a_clear_error(key):
    from hf_croissant_assets.lake.store import PartitionKeyError

    with pytest.raises(PartitionKeyError, match="partition key"):
        observable_day(key)


def test_bad_partition_key_through_dagster_is_refused(emulator, lake_dir):
    from dagster import DagsterInvalidSubsetError, DagsterUnknownPartitionError

    with pytest.raises((DagsterUnknownPartitionError, DagsterInvalidSubsetError, Exception)) as exc:
        _materialize(emulator, lake_dir, date="2026-02-30", assets=[hf_dataset_listing])
    assert "2026-02-30" in str(exc.value)


def test_unreachable_endpoint_fails_the_listing_with_the_url(lake_dir, store):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    class Dead:
        base_url = f"http://127.0.0.1:{port}"

    result = _materialize(Dead, lake_dir, assets=[hf_dataset_listing])
    assert not result.success
    message = failure_text(result)
    assert f"127.0.0.1:{port}/api/datasets" in message and "attempt(s)" in message
    assert store.dates("raw_listing") == []


def test_definitions_load_with_the_jobs_and_schedule():
    from hf_croissant_assets.definitions import build_definitions
    from hf_croissant_assets.settings import Settings

    defs = build_definitions(Settings.build())
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {
        "hf_dataset_listing",
        "croissant_records",
        "hf_datasets",
        "hf_croissant",
        "hf_dataset_changes",
        "hf_croissant_fields",
        "hf_croissant_files",
        "croissant_validation",
        "daily_report",
        "explorer_db",
        "duckdb_tables",
    }
    job = defs.resolve_job_def("daily_snapshot")
    assert job.partitions_def is not None
    rederive = defs.resolve_job_def("rederive")
    assert {k.to_user_string() for k in rederive.asset_layer.executable_asset_keys} == keys - {
        "hf_dataset_listing",
        "croissant_records",
    }
    schedule = defs.resolve_schedule_def("daily_snapshot_schedule")
    assert schedule.cron_schedule.endswith("* * *")


def test_materialization_metadata_answers_questions(emulator, lake_dir, store):
    result = _materialize(emulator, lake_dir)
    assert result.success
    meta = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    listed = len(emulator.dataset_ids())
    croissant = meta["hf_croissant"]
    assert croissant["dagster/row_count"].value == listed
    assert sum(croissant["croissant_status"].value.values()) == listed
    assert len(croissant["preview"].value.records) == 5
    assert "lake.read('hf_croissant', date='2026-11-20')" in croissant["load_with_python"].value
    assert croissant["bytes_written"].value > 0
    assert len(croissant["dagster/column_schema"].value.columns) == len(HF_CROISSANT)
    records = meta["croissant_records"]
    assert records["fetched_today"].value + records["carried_forward"].value == listed
    for key in ("requests", "retries", "http_429", "quota", "status_counts"):
        assert key in records


def test_preview_cells_are_plain_truncated_text():
    from hf_croissant_assets.defs.metadata import PREVIEW_CHARS, _cell

    hostile = "<script>alert(1)</script>\n{{7*7}} " + "x" * 500
    cell = _cell(hostile)
    assert isinstance(cell, str) and len(cell) == PREVIEW_CHARS and "\n" not in cell
    assert cell.startswith("<script>")  # kept as text, never interpreted: table cells are text
    assert _cell(3) == 3 and _cell(None) is None
