"""analytics/query.sql: its DDL is the schema in code; its queries run on DuckDB with right answers."""

from __future__ import annotations

import asyncio
from collections import Counter

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from hf_croissant_assets.curate.tables import curate_croissant, curate_datasets
from hf_croissant_assets.hub.client import HubClient
from hf_croissant_assets.ingest.croissant_crawl import Budget, crawl_croissant
from hf_croissant_assets.ingest.listing_crawl import snapshot_listing
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import TABLES
from hf_croissant_assets.warehouse.arrow_types import athena_type
from hf_croissant_assets.warehouse.athena_ddl import add_partition_sql, create_table_sql
from hf_croissant_assets.warehouse.duckdb_views import register_views
from hf_croissant_assets.warehouse.queries import (
    ddl_statements,
    example_queries,
    load_statements,
    to_duckdb,
)
from hf_croissant_assets_tests.hub_emulator import running_emulator
from hf_croissant_assets_tests.support import FAST_RETRY

D1, D2 = "2026-11-19", "2026-11-20"


@pytest.mark.parametrize("table", sorted(TABLES))
def test_query_sql_ddl_columns_equal_the_schema_in_code(table):
    ddl = ddl_statements()[f"create_{table}"]
    parsed = sqlglot.parse_one(ddl, read="athena")
    schema = parsed.find(exp.Schema)
    columns = [
        (c.name, c.args["kind"].sql(dialect="hive").lower())
        for c in schema.expressions
        if isinstance(c, exp.ColumnDef)
    ]
    expected = [(f.name, athena_type(f.type)) for f in TABLES[table]]
    assert columns == expected
    # and the file holds exactly what the code generates (derived, not retyped)
    location = f"s3://YOUR-BUCKET/lake/{table}/"
    assert ddl == create_table_sql(table, location, database="hf_croissant")


def test_every_statement_parses_in_athena_dialect_and_uses_projection():
    statements = load_statements()
    assert len(example_queries()) >= 8
    for name, sql in statements.items():
        sqlglot.parse_one(sql, read="athena")
        assert "MSCK" not in sql.upper(), name
    for ddl in ddl_statements().values():
        assert "'projection.enabled'='true'" in ddl and "'projection.date.type'='date'" in ddl
        assert "PARTITIONED BY (`date` date)" in ddl
    alter = add_partition_sql("hf_datasets", D1, "s3://b/lake/hf_datasets", database="hf_croissant")
    sqlglot.parse_one(alter, read="athena")
    with pytest.raises(ValueError):
        create_table_sql("hf_datasets", "s3://b/x", database="bad-name; drop")


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """Two daily snapshots from the emulator (day 2 with churn), curated, with DuckDB views."""
    store = LakeStore(str(tmp_path_factory.mktemp("analytics") / "lake"))
    with running_emulator(datasets=400, seed=21) as emu:

        async def day(date):
            async with HubClient(emu.base_url, retry=FAST_RETRY) as client:
                await snapshot_listing(client, store, date)
                await crawl_croissant(client, store, date, budget=Budget(max_duration_s=None))
            curate_datasets(store, date)
            curate_croissant(store, date)

        asyncio.run(day(D1))
        truth1 = {d["id"]: d for d in emu.catalog()}
        emu.set_day(1)
        asyncio.run(day(D2))
        truth2 = {d["id"]: d for d in emu.catalog()}
        status2 = {d: emu.croissant_status(d) for d in truth2}
    con = duckdb.connect()
    register_views(con, store)
    yield con, truth1, truth2, status2
    con.close()


def run(con, name):
    return con.execute(to_duckdb(example_queries()[name])).fetchall()


def _license(item):
    return next((t[8:] for t in item.get("tags") or [] if t.startswith("license:")), None)


def test_growth_and_licenses(lake):
    con, truth1, truth2, _ = lake
    assert [(str(d), n) for d, n in run(con, "growth_per_day")] == [
        (D1, len(truth1)),
        (D2, len(truth2)),
    ]
    licenses = Counter(_license(i) or "(none)" for i in truth2.values())
    top = sorted(licenses.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    assert run(con, "licenses_latest") == top


def test_gated_and_mit(lake):
    con, _, truth2, _ = lake

    def gated(i):
        return "false" if i.get("gated") in (False, None) else i["gated"]

    counts = Counter(gated(i) for i in truth2.values())
    got = {g: n for g, n, _ in run(con, "gated_share_latest")}
    assert got == dict(counts)
    mit = {d for d, i in truth2.items() if _license(i) == "mit" and gated(i) != "false"}
    assert {r[0] for r in run(con, "mit_and_gated_latest")} == mit


def test_downloads_trend(lake):
    con, truth1, truth2, _ = lake
    top = min(truth2.values(), key=lambda i: (-i["downloads"], i["id"]))["id"]
    rows = run(con, "downloads_trend")
    expected = [(D1, truth1[top]["downloads"])] if top in truth1 else []
    expected.append((D2, truth2[top]["downloads"]))
    assert [(str(d), n) for d, _, n, _ in rows] == expected


def test_croissant_queries(lake):
    con, _, _truth2, status2 = lake
    assert dict(run(con, "croissant_availability_latest")) == dict(Counter(status2.values()))
    missing = {d for d, s in status2.items() if s != 200}
    assert {r[0] for r in run(con, "no_croissant_latest")} == missing
    pairs = run(con, "croissant_vs_tag_license_latest")
    assert sum(n for _, _, n in pairs) == sum(1 for s in status2.values() if s == 200)


def test_changed_latest(lake):
    con, truth1, truth2, _ = lake
    new = set(truth2) - set(truth1)
    changed = {d for d in set(truth1) & set(truth2) if truth1[d]["sha"] != truth2[d]["sha"]}
    rows = run(con, "changed_latest")
    assert {d for d, c in rows if c == "new"} == new
    assert {d for d, c in rows if c == "changed"} == changed


def test_views_exist_on_an_empty_lake(tmp_path):
    con = duckdb.connect()
    register_views(con, LakeStore(str(tmp_path / "empty")))
    for name in example_queries():
        con.execute(to_duckdb(example_queries()[name])).fetchall()
