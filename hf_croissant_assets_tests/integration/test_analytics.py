"""analytics/query.sql: its DDL is the schema in code; its queries run on DuckDB with right answers."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from hf_croissant_assets.curate.tables import (
    curate_croissant,
    curate_croissant_fields,
    curate_croissant_files,
    curate_datasets,
)
from hf_croissant_assets.curate.validation import validate_day
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
            curate_croissant_fields(store, date)
            curate_croissant_files(store, date)
            validate_day(store, date, workers=2, timeout_s=30)

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


@pytest.fixture(scope="module")
def depth_lake(lake, tmp_path_factory):
    """The same connection plus the newest day's served documents, read straight from the lake."""
    con = lake[0]
    docs = {
        d: json.loads(text)
        for d, text, status in con.execute(
            'SELECT dataset, croissant, status FROM hf_croissant WHERE "date" = ?::DATE', [D2]
        ).fetchall()
        if status == 200
    }
    return con, docs


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


# -- the Croissant in depth: one query per question, answers checked against the raw documents --


def _walk(fields):
    """Every field (subFields included) of a record set, read independently (recursion)."""
    for f in fields if isinstance(fields, list) else [fields]:
        yield f
        if "subField" in f:
            yield from _walk(f["subField"])


def _fields(doc):
    for rs in doc.get("recordSet", []):
        yield from _walk(rs.get("field", []))


def _types(field):
    dt = field.get("dataType", [])
    return dt if isinstance(dt, list) else [dt]


_DECIMAL = {"B": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def test_field_data_types(depth_lake):
    con, docs = depth_lake
    fields = Counter()
    datasets: dict[str, set] = {}
    for d, doc in docs.items():
        for f in _fields(doc):
            for t in _types(f):
                fields[t] += 1
                datasets.setdefault(t, set()).add(d)
    expected = sorted(
        ((t, n, len(datasets[t])) for t, n in fields.items()), key=lambda r: (-r[1], r[0])
    )
    assert run(con, "field_data_types_latest") == expected
    assert {"sc:Text", "sc:ImageObject", "sc:AudioObject"} <= set(fields)


def test_media_fields(depth_lake):
    con, docs = depth_lake
    expected = {}
    for d, doc in docs.items():
        image = audio = bbox = 0
        for f in _fields(doc):
            types = _types(f)
            image += sum(t == "sc:ImageObject" for t in types)
            audio += sum(t == "sc:AudioObject" for t in types)
            name = f.get("name") or f["@id"].rsplit("/", 1)[-1]
            bbox += max(1, len(types)) if name == "bbox" else 0
        if image or audio or bbox:
            expected[d] = (image, audio, bbox)
    rows = run(con, "media_fields_latest")
    assert {d: (i, a, b) for d, i, a, b in rows} == expected
    assert any(b for _, _, _, b in rows) and any(a for _, _, a, _ in rows)


def test_declared_bytes_by_format(depth_lake):
    con, docs = depth_lake
    files, sized, total, datasets = Counter(), Counter(), Counter(), {}
    for d, doc in docs.items():
        for entry in doc.get("distribution", []):
            fmt = entry.get("encodingFormat") or "(none)"
            files[fmt] += 1
            datasets.setdefault(fmt, set()).add(d)
            if "contentSize" in entry:
                number, unit = entry["contentSize"].split()
                sized[fmt] += 1
                total[fmt] += round(float(number) * _DECIMAL[unit])
    expected = sorted(
        ((f, files[f], sized[f], total[f], len(datasets[f])) for f in files),
        key=lambda r: (-r[3], r[0]),
    )
    assert run(con, "declared_bytes_by_format_latest") == expected
    assert any(r[3] > 0 for r in expected)
    per_dataset = run(con, "declared_bytes_per_dataset_latest")
    assert sum(r[3] for r in per_dataset) == sum(total.values())


def test_validity_and_top_errors(depth_lake):
    import mlcroissant as mlc

    con, docs = depth_lake
    rows = con.execute(
        'SELECT dataset, valid, errors FROM croissant_validation WHERE "date" = ?::DATE', [D2]
    ).fetchall()
    assert {d for d, _, _ in rows} == set(docs)  # one verdict per served document
    verdicts = Counter(
        "valid" if v else "invalid" if v is False else "not validated" for _, v, _ in rows
    )
    assert dict(run(con, "validity_latest")) == dict(verdicts)
    assert verdicts["not validated"] == 0
    # the stored verdicts agree with mlcroissant run directly (a sample, for time)
    for d, valid, _ in sorted(rows)[:: max(1, len(rows) // 12)]:
        try:
            mlc.Dataset(jsonld=docs[d])
            direct = True
        except mlc.ValidationError:
            direct = False
        assert valid is direct, d
    errors = Counter()
    for _, _, errs in rows:
        for kind in {re.sub(r'^"[^"]*"', '"…"', e) for e in errs}:
            errors[kind] += 1
    top = sorted(errors.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    assert run(con, "top_validation_errors_latest") == top


#: The emulator's license tags as SPDX ids, by hand (None: not on the SPDX list).
_SPDX = {
    "mit": "MIT",
    "apache-2.0": "Apache-2.0",
    "cc-by-4.0": "CC-BY-4.0",
    "cc-by-sa-4.0": "CC-BY-SA-4.0",
    "cc0-1.0": "CC0-1.0",
    "openrail": None,
    "other": None,
    "unknown": None,
}


def test_license_agreement(lake, depth_lake):
    con, _, truth2, _ = lake
    _, docs = depth_lake
    expected = Counter()
    for d, doc in docs.items():
        tag = _SPDX[_license(truth2[d])] if _license(truth2[d]) else None
        url = doc.get("license")
        croissant = None
        if url:
            croissant = _SPDX[url.rstrip("/").rsplit("/", 1)[-1]]
        if tag is None and croissant is None:
            expected["neither is SPDX"] += 1
        elif tag == croissant:
            expected["agree"] += 1
        elif tag is None:
            expected["Croissant only"] += 1
        elif croissant is None:
            expected["tag only"] += 1
        else:
            expected["disagree"] += 1
    assert dict(run(con, "license_agreement_latest")) == dict(expected)
    assert expected["agree"] > 0
    assert run(con, "license_disagreements_latest") == []  # the emulator's never disagree


def test_license_disagreements_on_crafted_rows(tmp_path):
    import pyarrow as pa

    from hf_croissant_assets.curate.listing_rows import dataset_row
    from hf_croissant_assets.curate.tables import croissant_table
    from hf_croissant_assets.schema import CROISSANT_RECORDS, HF_DATASETS

    store = LakeStore(str(tmp_path / "lake"))
    cases = {  # dataset: (license: tag, Croissant license)
        "a/agree": ("apache-2.0", "https://www.apache.org/licenses/LICENSE-2.0"),
        "b/differ": ("mit", "https://creativecommons.org/licenses/by/4.0/"),
        "c/case": ("cc-by-sa-4.0", "https://spdx.org/licenses/CC-BY-SA-4.0.html"),
        "d/gpl": ("gpl-3.0", "https://choosealicense.com/licenses/lgpl-3.0/"),
    }
    listing = [
        dataset_row({"id": d, "tags": [f"license:{t}"]}, None) for d, (t, _) in cases.items()
    ]
    store.write_table("hf_datasets", D1, pa.Table.from_pylist(listing, schema=HF_DATASETS))
    records = [
        {"dataset": d, "status": 200, "croissant": json.dumps({"name": d, "license": url})}
        for d, (_, url) in cases.items()
    ]
    store.write_table(
        "hf_croissant", D1, croissant_table(pa.Table.from_pylist(records, schema=CROISSANT_RECORDS))
    )
    con = duckdb.connect()
    register_views(con, store)
    rows = run(con, "license_disagreements_latest")
    assert rows == [
        ("b/differ", "mit", "MIT", "https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
        ("d/gpl", "gpl-3.0", "GPL-3.0-only", "https://choosealicense.com/licenses/lgpl-3.0/",
         "LGPL-3.0-only"),
    ]  # fmt: skip
    agreement = dict(run(con, "license_agreement_latest"))
    # apache.org URLs are not one of the recognised URL forms: the tag alone is SPDX
    assert agreement == {"agree": 1, "disagree": 2, "tag only": 1}
