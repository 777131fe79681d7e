"""The preflight and the pieces that keep a run from surprising its operator (plain code)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from hf_croissant_assets.defs.partitions import first_partition_day
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.preflight import duckdb_problem, run_preflight
from hf_croissant_assets.report.build import render_html
from hf_croissant_assets.report.charts import spdx_short
from hf_croissant_assets.schema import DATASETS
from hf_croissant_assets.settings import Settings
from hf_croissant_assets.warehouse.duckdb_views import refresh_views

#: An analyst's read-only session, held open until stdin closes.
READER = (
    "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
    "print(c.execute('SELECT 1').fetchone(), flush=True); sys.stdin.read()"
)


def _day(store: LakeStore, table: str, day: str) -> None:
    store.write_table(table, day, pa.Table.from_pylist([], schema=DATASETS[table]))


def test_views_are_refreshed_while_a_reader_holds_the_file(tmp_path: Path):
    store = LakeStore(str(tmp_path / "lake"))
    _day(store, "hf_datasets", "2026-11-20")
    db = str(tmp_path / "hf.duckdb")
    assert not refresh_views(db, store).swapped  # no reader: updated in place
    # an analyst's read-only session in another process holds the file's lock
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, db],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "(1,)"
        problem, note = duckdb_problem(db)
        assert problem is None and "open in another process" in note
        _day(store, "hf_datasets", "2026-11-21")
        assert refresh_views(db, store).swapped
    finally:
        reader.communicate("", timeout=30)
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute('SELECT count(DISTINCT "date") FROM hf_datasets').fetchone() == (0,)
        assert "hf_croissant" in {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf.duckdb", "lake"]


def test_duckdb_problems_name_the_setting(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for path in (str(blocker / "db.duckdb"), str(tmp_path), str(blocker)):
        problem, _ = duckdb_problem(path)
        assert problem is not None and problem.startswith("HF_CROISSANT_DUCKDB=")


def test_offline_preflight_makes_no_hub_check(tmp_path: Path):
    settings = Settings.build(lake=str(tmp_path / "lake"), duckdb=str(tmp_path / "d.duckdb"))
    report = run_preflight(settings, hub=False)
    assert report.ok and [c.name for c in report.checks] == ["lake", "duckdb", "warehouse"]


def test_an_s3_lake_without_athena_is_a_working_embedded_mode():
    settings = Settings.build(lake="s3://bucket/prefix")
    from hf_croissant_assets.preflight import check_warehouse

    check = check_warehouse(settings)
    assert check.ok and "hf-croissant sql" in check.message


def test_the_partitions_start_at_the_lakes_first_day(tmp_path: Path):
    today = date(2026, 12, 2)
    lake = str(tmp_path / "lake")
    assert first_partition_day(None, lake, today) == today  # empty lake: today only
    store = LakeStore(lake)
    _day(store, "raw_listing", "2026-11-20")
    _day(store, "raw_listing", "2026-11-25")
    assert first_partition_day(None, lake, today) == date(2026, 11, 20)
    assert first_partition_day(date(2026, 6, 1), lake, today) == date(2026, 6, 1)


def test_definitions_offer_no_day_before_the_lake():
    from hf_croissant_assets.definitions import build_definitions

    defs = build_definitions(Settings.build(lake="/nonexistent/lake/for/test"))
    job = defs.resolve_job_def("daily_snapshot")
    keys = job.partitions_def.get_partition_keys()  # type: ignore[union-attr]
    assert len(keys) == 1  # today: nothing in the past that could never be produced


def test_licenses_are_spdx_short_ids():
    assert spdx_short("https://choosealicense.com/licenses/mit/") == "MIT"
    assert spdx_short("https://choosealicense.com/licenses/apache-2.0/") == "Apache-2.0"
    assert spdx_short("https://creativecommons.org/licenses/by-sa/4.0/") == "CC-BY-SA-4.0"
    assert spdx_short("https://creativecommons.org/publicdomain/zero/1.0/") == "CC0-1.0"
    assert spdx_short("cc-by-nc-4.0") == "CC-BY-NC-4.0"
    assert spdx_short("openrail") == "OpenRAIL"
    assert spdx_short(None) == "(none)"
    assert spdx_short("weird\x00licence$x^2$") == "weird licence$x^2$"


def test_report_html_is_static_and_escapes_hub_text():
    from hf_croissant_assets.report.numbers import ReportNumbers

    hostile = "<script>alert(1)</script>"
    numbers = ReportNumbers(
        date="2026-11-20",
        snapshots=["2026-11-20"],
        growth=[{"date": "2026-11-20", "datasets": 3}],
        licenses={
            "tags": [{"license": hostile, "datasets": 3}],
            "croissant": [],
            "tags_total": 3,
            "croissant_total": 0,
        },
        croissant_status={"200": 3},
        gated={"counts": {"false": 3}, "share_pct": {"false": 100.0}, "total": 3},
        movers={},
        notes=[hostile],
    )
    page = render_html(numbers)
    assert "<script" not in page and "&lt;script&gt;" in page
    from hf_croissant_assets.report.build import CHARTS

    for chart in ("growth.png", "licenses.png", "movers_30.png", "changes.png", "validity.png"):
        assert chart in CHARTS
    for chart in CHARTS:  # every chart the report writes is on the page, with a caption
        assert f'src="{chart}"' in page
        assert f'alt="{chart}"' not in page
    assert "http://" not in page and "https://" not in page


def test_an_s3_lake_without_athena_materializes_its_sql_tables(s3_bucket, tmp_path: Path):
    """The old last-step `NotImplementedError` about httpfs: now the day's tables are counted and
    the lake is queryable embedded, through pyarrow."""
    from dagster import materialize

    from hf_croissant_assets.defs.resources import DuckDBResource, LakeResource
    from hf_croissant_assets.lake.access import sql
    from hf_croissant_assets_tests.support import duckdb_tables

    uri = f"s3://{s3_bucket}/lake"
    store = LakeStore(uri)
    for table in ("hf_datasets", "hf_croissant"):
        _day(store, table, "2026-11-20")
    result = materialize(
        [duckdb_tables],
        partition_key="2026-11-20",
        resources={
            "lake": LakeResource(uri=uri),
            "duckdb": DuckDBResource(path=str(tmp_path / "unused.duckdb")),
        },
    )
    assert result.success
    (event,) = result.get_asset_materialization_events()
    metadata = event.step_materialization_data.materialization.metadata
    assert metadata["database"].value == "none (S3 lake)"
    assert "hf-croissant sql" in metadata["query_example"].value
    assert sql("SELECT count(*) AS n FROM hf_datasets", lake=uri)["n"].to_list() == [0]
