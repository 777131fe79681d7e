"""The explorer's SQLite file: built from a lake with and without the optional tables, checked
against DuckDB over the same parquet, and its metadata / canned queries / dataset page content."""

from __future__ import annotations

import datetime
import json
import sqlite3
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from hf_croissant_assets.explore.build import (
    ExplorerBuildError,
    build_explorer,
    build_info,
    lake_dates,
)
from hf_croissant_assets.explore.metadata import explorer_metadata
from hf_croissant_assets.explore.page import dataset_context, dataset_href, snippets
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import DATASETS, HF_CROISSANT, HF_DATASETS, LAKE_DATASETS
from hf_croissant_assets.warehouse.queries import example_queries

D1, D2, D3 = "2026-01-01", "2026-01-02", "2026-01-04"
HOSTILE = (
    "<script>alert('x')</script> [click](javascript:alert(1)) **bold** <img src=x onerror=alert(2)>"
)

#: An older lake's writers: the tables without issue 14's SPDX columns.
OLD_LISTING = pa.schema([f for f in HF_DATASETS if f.name != "license_spdx"])
OLD_CROISSANT = pa.schema([f for f in HF_CROISSANT if f.name != "license_spdx"])
#: The registry of a lake before issues 14 and 15 (no validation, fields, files, changes).
OLD_REGISTRY = {
    name: d
    for name, d in LAKE_DATASETS.items()
    if name not in ("croissant_validation", "hf_croissant_fields", "hf_croissant_files",
                    "hf_dataset_changes")
}  # fmt: skip


def _listing(day: str, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        rows.append(
            {
                "dataset": f"org{i % 3}/set-{i}",
                "author": f"org{i % 3}",
                "license": ["mit", "apache-2.0", None, "cc-by-4.0"][i % 4],
                "gated": ["false", "auto", "manual"][i % 3],
                "downloads": 10 * i + (1 if day == D3 else 0),
                "likes": i % 5,
                "tags": ["license:mit", f"t{i}"],
                "description": HOSTILE if i == 1 else f"dataset number {i} about zebrafish{i}",
            }
        )
    return rows


def _croissant(rows: list[dict]) -> list[dict]:
    out = []
    for i, r in enumerate(rows):
        ok = i % 2 == 0
        out.append(
            {
                "dataset": r["dataset"],
                "status": 200 if ok else 400,
                "croissant": json.dumps({"name": f"N{i}", "description": HOSTILE}) if ok else None,
                "name": f"Croissant name {i}" if ok else None,
                "keywords": ["vision", f"kw{i}"] if ok else None,
                "encoding_formats": ["text/csv"] if ok else None,
            }
        )
    return out


def _write(store: LakeStore, extended: bool, n: int = 12) -> None:
    """Three days; `extended`: today's schemas and tables (SPDX columns, validation, fields,
    files, change events), else an older lake's (listing and Croissant only)."""
    for day in (D1, D2, D3):
        rows = _listing(day, n if day == D3 else n - 2)
        if extended:
            for r in rows:
                r["license_spdx"] = {"mit": "MIT"}.get(r["license"] or "")
                r["private"] = r["dataset"] == "org2/set-5"
        croissant = _croissant(rows)
        if extended:
            for c, r in zip(croissant, rows, strict=True):
                c["license_spdx"] = r["license_spdx"] if c["status"] == 200 else None
        store.write_table(
            "hf_datasets", day, pa.Table.from_pylist(rows, schema=HF_DATASETS if extended else OLD_LISTING)
        )  # fmt: skip
        store.write_table(
            "hf_croissant", day,
            pa.Table.from_pylist(croissant, schema=HF_CROISSANT if extended else OLD_CROISSANT),
        )  # fmt: skip
    if not extended:
        return
    rows = _listing(D3, n)
    served = [r for i, r in enumerate(rows) if i % 2 == 0]
    validation = [
        {"dataset": r["dataset"], "valid": i % 4 == 0,
         "errors": [] if i % 4 == 0 else ["bad <b>", 'field "x" has no type'],
         "error_count": 0 if i % 4 == 0 else 2, "warnings": [], "validator_version": "1.1.1",
         "reason": "validator says <i>hi</i>" if i == 2 else None}
        for i, r in enumerate(served)
    ]  # fmt: skip
    fields = [
        {"dataset": r["dataset"], "record_set": "default", "field_path": f"f{k}",
         "data_types": [t]}
        for r in served
        for k, t in enumerate(["sc:Text", "sc:Integer", "sc:Text"])
    ]  # fmt: skip
    files = [
        {"dataset": r["dataset"], "file_id": f"file{k}", "encoding_format": "text/csv",
         "content_size_bytes": 1000 * (k + 1)}
        for r in served
        for k in range(2)
    ]  # fmt: skip
    changes = [
        {"dataset": "org1/set-1", "change": "license_changed", "before": "mit",
         "after": HOSTILE, "previous_date": datetime.date.fromisoformat(D2)},
        {"dataset": "org0/set-0", "change": "downloads_jump", "before": "0",
         "after": "1", "previous_date": datetime.date.fromisoformat(D2)},
        {"dataset": "org2/set-5", "change": "updated", "before": "a",
         "after": "b", "previous_date": datetime.date.fromisoformat(D2)},
    ]  # fmt: skip
    for name, table_rows, day in (
        ("croissant_validation", validation, D3),
        ("hf_croissant_fields", fields, D3),
        ("hf_croissant_files", files, D3),
        ("hf_dataset_changes", changes, D3),
        ("hf_dataset_changes", changes[:1], D2),
    ):
        store.write_table(name, day, pa.Table.from_pylist(table_rows, schema=DATASETS[name]))


@pytest.fixture
def plain_lake(tmp_path: Path) -> LakeStore:
    store = LakeStore(str(tmp_path / "lake"))
    _write(store, extended=False)
    return store


@pytest.fixture
def extended_lake(tmp_path: Path) -> LakeStore:
    store = LakeStore(str(tmp_path / "lake"))
    _write(store, extended=True)
    return store


def _q(path: str, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_plain_lake_builds_with_counts_search_series_and_views(plain_lake):
    result = build_explorer(plain_lake, days=30)
    assert result.date == D3
    # today's registry over an older lake: the newer tables have no partition for the day
    assert result.optional_tables == {
        "hf_croissant": True, "croissant_validation": False, "hf_croissant_fields": False,
        "hf_croissant_files": False, "hf_dataset_changes": True,
    }  # fmt: skip
    assert not {"license_spdx", "croissant_valid", "croissant_field_data_types"} & set(
        result.columns
    )
    path = result.path
    assert Path(path) == Path(plain_lake.root) / "explorer" / "explorer.db"
    assert result.rows["datasets"] == 12 == _q(path, "SELECT count(*) FROM datasets")[0][0]
    # no leftovers of the temporary file
    assert sorted(p.name for p in Path(path).parent.iterdir()) == ["explorer.db"]
    # full-text search: a word of the description, of the Croissant name, of the keywords
    assert _q(path, "SELECT dataset FROM datasets_fts WHERE datasets_fts MATCH 'zebrafish7'") == [
        ("org1/set-7",)
    ]
    assert len(_q(path, "SELECT rowid FROM datasets_fts WHERE datasets_fts MATCH 'vision'")) == 6
    # the hostile text is stored verbatim
    assert _q(path, "SELECT description FROM datasets WHERE dataset = 'org1/set-1'") == [(HOSTILE,)]
    # series: 3 days in the window, a dataset new on D3 has nulls before
    assert _q(path, "SELECT date FROM series_days ORDER BY idx") == [(D1,), (D2,), (D3,)]
    assert _q(path, "SELECT downloads FROM daily_series WHERE dataset = 'org1/set-10'") == [
        ("[null,null,101]",)
    ]
    assert _q(path, "SELECT date, downloads FROM history WHERE dataset = 'org1/set-4' ORDER BY date") == [
        (D1, 40), (D2, 40), (D3, 41),
    ]  # fmt: skip
    assert _q(path, "SELECT date, datasets FROM snapshots ORDER BY date") == [
        (D1, 10), (D2, 10), (D3, 12),
    ]  # fmt: skip
    # the views carry the lake's names; facet columns are indexed
    assert _q(path, "SELECT count(*) FROM hf_croissant WHERE status = 200")[0][0] == 6
    indexed = {r[0] for r in _q(path, "SELECT sql FROM sqlite_master WHERE type = 'index'") if r[0]}
    assert any("license" in s for s in indexed) and any("croissant_status" in s for s in indexed)
    info = build_info(path)
    assert info["date"] == D3
    # a published file says what, never where from: no path, no bucket
    assert set(info) == {
        "date", "built_at", "schema_version", "versions", "public", "days", "series_days",
        "optional_tables", "rows",
    }  # fmt: skip
    assert str(plain_lake.root) not in Path(path).read_bytes().decode("latin-1")


def test_series_window_is_calendar_days(plain_lake):
    result = build_explorer(plain_lake, days=3)  # D3 - 2 days = 2026-01-02: D1 falls out
    assert result.series_days == [D2, D3]


def test_license_counts_equal_duckdb_over_the_lake(plain_lake):
    path = build_explorer(plain_lake).path
    glob = plain_lake.glob("hf_datasets").replace("date=*", f"date={D3}")
    expected = duckdb.sql(
        f"SELECT license, count(*) FROM read_parquet('{glob}') GROUP BY 1 ORDER BY 1 NULLS FIRST"
    ).fetchall()
    assert _q(path, "SELECT license, count(*) FROM datasets GROUP BY 1 ORDER BY 1") == expected


def test_every_example_query_is_a_canned_query_that_runs(plain_lake):
    path = build_explorer(plain_lake).path
    meta = explorer_metadata(path)
    queries = meta["databases"]["explorer"]["queries"]
    examples = example_queries()
    # the examples left out are those over tables this explorer does not hold
    missing = set(examples) - set(queries)
    assert "changes_by_kind_latest" in queries  # the (empty) change table is there
    for name in missing:
        assert any(
            t in examples[name]
            for t in ("hf_croissant_fields", "hf_croissant_files", "croissant_validation",
                      "license_spdx")
        ), name  # fmt: skip
    same_text = [n for n in examples if n in queries and queries[n]["sql"] in examples[n]]
    assert {"licenses_latest", "gated_share_latest", "croissant_availability_latest"} <= set(
        same_text
    )
    for name, q in queries.items():
        params = {"dataset": "org0/set-0"} if ":dataset" in q["sql"] else {}
        _ = sqlite3.connect(path).execute(q["sql"], params).fetchall(), name
    assert _q(path, queries["licenses_latest"]["sql"])[0] == ("(none)", 3)


def test_metadata_comes_from_the_registry(plain_lake):
    meta = explorer_metadata(build_explorer(plain_lake).path)
    table = meta["databases"]["explorer"]["tables"]["datasets"]
    assert table["columns"]["downloads"] == "downloads over the last 30 days"
    assert table["columns"]["croissant_status"].startswith("hf_croissant.status: HTTP status")
    assert table["facets"] == [
        "license", "gated", "croissant_status", {"array_set": "croissant_encoding_formats"},
    ]  # fmt: skip
    assert "hf_dataset_changes" in meta["databases"]["explorer"]["tables"]


def test_a_lake_from_before_the_newer_tables_builds(plain_lake):
    result = build_explorer(plain_lake, registry=OLD_REGISTRY)
    assert not any(v for k, v in result.optional_tables.items() if k != "hf_croissant")
    meta = explorer_metadata(result.path, registry=OLD_REGISTRY)
    assert "hf_dataset_changes" not in meta["databases"]["explorer"]["tables"]
    context = dataset_context(sqlite3.connect(result.path), "org0/set-0", {})
    assert not context["has_events"] and not context["has_validation"]


def test_extended_lake_adds_validity_spdx_and_change_events(extended_lake, tmp_path):
    result = build_explorer(extended_lake, days=30)
    assert all(result.optional_tables.values()), result.optional_tables
    for col in ("license_spdx", "croissant_license_spdx", "croissant_valid", "croissant_errors",
                "croissant_validator_version", "croissant_reason", "croissant_validation_reason",
                "croissant_field_data_types", "croissant_declared_bytes"):  # fmt: skip
        assert col in result.columns, col
    path = result.path
    assert _q(path, "SELECT count(*) FROM hf_dataset_changes") == [(4,)]
    # set-2 is the 2nd served document (odd: invalid); set-1 has no document
    assert _q(path, "SELECT croissant_valid, croissant_errors, croissant_field_data_types, "
                    "croissant_declared_bytes FROM datasets WHERE dataset = 'org2/set-2'") == [
        (0, '["bad <b>","field \\"x\\" has no type"]', '["sc:Integer","sc:Text"]', 3000)
    ]  # fmt: skip
    assert _q(path, "SELECT croissant_valid, croissant_field_data_types FROM datasets "
                    "WHERE dataset = 'org1/set-1'") == [(None, None)]  # fmt: skip
    # the operator's own file keeps private datasets (the lake's data, served on loopback)
    assert _q(path, "SELECT count(*) FROM datasets WHERE dataset = 'org2/set-5'") == [(1,)]
    # validity and data types counted as DuckDB counts them over the lake
    lake = duckdb.connect()
    glob = extended_lake.glob("croissant_validation").replace("date=*", f"date={D3}")
    assert _q(path, "SELECT croissant_valid, count(*) FROM datasets WHERE croissant_valid "
                    "IS NOT NULL GROUP BY 1 ORDER BY 1") == lake.sql(
        f"SELECT CAST(valid AS INT), count(*) FROM read_parquet('{glob}') GROUP BY 1 ORDER BY 1"
    ).fetchall()  # fmt: skip
    meta = explorer_metadata(path)
    db = meta["databases"]["explorer"]
    assert db["tables"]["datasets"]["facets"] == [
        "license", "license_spdx", "gated", "croissant_status", "croissant_valid",
        {"array_set": "croissant_encoding_formats"}, {"array_set": "croissant_field_data_types"},
    ]  # fmt: skip
    columns = db["tables"]["datasets"]["columns"]
    assert "null when not validated" in columns["croissant_valid"]
    assert columns["croissant_validation_reason"].startswith("croissant_validation.reason")
    assert columns["croissant_reason"].startswith("hf_croissant.reason")
    assert _q(path, db["queries"]["changed_latest"]["sql"]) == [
        ("org0/set-0", "downloads_jump", "0", "1", D2),
        ("org1/set-1", "license_changed", "mit", HOSTILE, D2),
        ("org2/set-5", "updated", "a", "b", D2),
    ]
    assert _q(path, db["queries"]["validity_latest"]["sql"]) == [("invalid", 4), ("valid", 2)]
    assert _q(path, db["queries"]["top_validation_errors_latest"]["sql"])[0] == ("bad <b>", 4)
    conn = sqlite3.connect(path)
    context = dataset_context(conn, "org1/set-1", {"lake": "/lake", "date": D3})
    assert context["has_validation"] and context["croissant_valid"] is None
    assert [e[2] for e in context["events"]] == ["license_changed", "license_changed"]
    context = dataset_context(conn, "org2/set-2", {"lake": "/lake", "date": D3})
    assert context["validation_errors"] == ["bad <b>", 'field "x" has no type']
    assert context["validation_error_count"] == 2
    assert context["field_data_types"] == ["sc:Integer", "sc:Text"]


def test_public_build_withholds_private_datasets_and_gated_documents(extended_lake, tmp_path):
    from hf_croissant_assets.explore.build import public_explorer

    result = public_explorer(extended_lake, D3, str(tmp_path / "ship"), days=30)
    path = result.path
    ids = {r[0] for r in _q(path, "SELECT dataset FROM datasets")}
    assert "org2/set-5" not in ids and len(ids) == 11
    for table in ("croissant_documents", "daily_series", "hf_dataset_changes"):
        assert _q(path, f"SELECT count(*) FROM {table} WHERE dataset = 'org2/set-5'") == [(0,)]
    assert _q(path, "SELECT datasets FROM snapshots ORDER BY date") == [(9,), (9,), (11,)]
    # gated (auto / manual): status kept, the document and everything derived from it withheld
    gated = _q(path, "SELECT croissant_status, croissant_name, croissant_valid, "
                     "croissant_field_data_types, croissant_declared_bytes FROM datasets "
                     "WHERE dataset = 'org2/set-2'")  # fmt: skip
    assert gated == [(200, None, None, None, None)]
    assert _q(path, "SELECT status, croissant FROM croissant_documents "
                    "WHERE dataset = 'org2/set-2'") == [(200, None)]  # fmt: skip
    # not gated: all there
    assert _q(path, "SELECT croissant_name, croissant_valid FROM datasets "
                    "WHERE dataset = 'org0/set-0'") == [("Croissant name 0", 1)]  # fmt: skip
    assert build_info(path)["public"] == "true"
    # with gated documents allowed, the gated document ships (private rows still do not)
    allowed = public_explorer(
        extended_lake, D3, str(tmp_path / "ship2"), days=30, gated_documents=True
    ).path
    assert _q(allowed, "SELECT croissant FROM croissant_documents WHERE dataset = 'org2/set-2'")[0][
        0
    ]
    assert _q(allowed, "SELECT count(*) FROM datasets WHERE dataset = 'org2/set-5'") == [(0,)]


def test_dataset_page_content_without_optional_tables(plain_lake):
    path = build_explorer(plain_lake).path
    conn = sqlite3.connect(path)
    context = dataset_context(conn, "org0/set-0", {"lake": "s3://b/lake", "date": D3})
    assert context["found"] and context["croissant_status"] == 200
    assert context["events"] == [] and not context["has_validation"]
    assert [r["downloads"] for r in context["history"]["rows"]] == [0, 0, 1]
    assert context["history"]["downloads_points"]
    assert '"name": "N0"' in context["document"]  # pretty-printed
    assert not dataset_context(conn, "no/such", {})["found"]


def test_snippets_quote_hostile_ids():
    evil = "a'b\"c/</script>"
    code = snippets(evil, "s3://bucket/lake")
    assert "WHERE dataset = 'a''b\"c/</script>'" in code["DuckDB"]
    assert (
        repr(evil) in code["polars"] and f"lake.history({evil!r})" in code["Python (lake.history)"]
    )
    assert code["Hub"] == "https://huggingface.co/datasets/a%27b%22c/%3C/script%3E"
    assert dataset_href("a b&c") == "/dataset?id=a+b%26c"


def test_duplicate_ids_fail_and_keep_the_old_file(plain_lake):
    first = build_explorer(plain_lake)
    before = Path(first.path).read_bytes()
    rows = _listing(D3, 12)
    rows.append(rows[0])
    plain_lake.write_table("hf_datasets", D3, pa.Table.from_pylist(rows, schema=HF_DATASETS))
    with pytest.raises(ExplorerBuildError, match="dataset id twice"):
        build_explorer(plain_lake)
    assert Path(first.path).read_bytes() == before
    assert sorted(p.name for p in Path(first.path).parent.iterdir()) == ["explorer.db"]


def test_empty_lake_fails_clearly(tmp_path):
    with pytest.raises(ExplorerBuildError, match="no hf_datasets partition yet"):
        build_explorer(LakeStore(str(tmp_path / "empty")))


def test_lake_dates_ignore_junk_folders(plain_lake):
    (Path(plain_lake.root) / "hf_datasets" / "date=2026-13-45").mkdir()
    (Path(plain_lake.root) / "hf_datasets" / "date=2026-13-45" / "part-0.parquet").write_text("x")
    assert lake_dates(plain_lake, "hf_datasets") == [D1, D2, D3]


def test_cli_errors_name_the_problem(tmp_path, monkeypatch, capsys):
    from hf_croissant_assets.cli.app import main

    with pytest.raises(SystemExit) as exc:
        main(["explore", "--db", str(tmp_path / "missing.db")])
    assert exc.value.code == 2 and "no such file" in capsys.readouterr().err
    monkeypatch.setenv("HF_CROISSANT_LAKE", str(tmp_path / "empty"))
    assert main(["explore"]) == 1
    assert "no explorer file" in capsys.readouterr().err
    assert main(["explore", "--build"]) == 1
    assert "no hf_datasets partition yet" in capsys.readouterr().err
    not_explorer = tmp_path / "other.db"
    sqlite3.connect(not_explorer).execute("CREATE TABLE t (x)").connection.close()
    assert main(["explore", "--db", str(not_explorer)]) == 1
    assert "is not an explorer file" in capsys.readouterr().err


@pytest.mark.slow
def test_s3_lake_gets_the_file_next_to_it(s3_bucket, tmp_path):
    from pyarrow.fs import FileSelector

    store = LakeStore(f"s3://{s3_bucket}/lake")
    _write(store, extended=False, n=6)
    result = build_explorer(store)
    assert result.path == f"s3://{s3_bucket}/lake/explorer/explorer.db"
    local = tmp_path / "copy.db"
    from hf_croissant_assets.explore.build import fetch_explorer

    fetch_explorer(store, str(local))
    assert build_info(str(local))["date"] == D3
    assert _q(str(local), "SELECT count(*) FROM datasets") == [(6,)]
    left = [
        i.path
        for i in store.fs.get_file_info(FileSelector(f"{s3_bucket}/lake/_staging", recursive=True))
        if i.type.name == "File"
    ]
    assert left == []


def test_registered_changes_without_events_give_an_empty_table(plain_lake):
    result = build_explorer(plain_lake)
    assert result.optional_tables["hf_dataset_changes"] is True
    assert result.optional_tables["croissant_validation"] is False
    assert _q(result.path, "SELECT count(*) FROM hf_dataset_changes") == [(0,)]
    context = dataset_context(sqlite3.connect(result.path), "org0/set-0", {})
    assert context["has_events"] and context["events"] == []


def test_array_set_facet_counts_like_datasettes_array_facet_and_reads_indexes_only(
    extended_lake,
):
    """The plugin's facet gives the built-in `array` facet's counts; a page filtered on a facet
    column counts every default facet from a covering index (no wide row is read)."""
    import asyncio

    from datasette.app import Datasette

    from hf_croissant_assets.explore.serve import PLUGINS_DIR, TEMPLATES_DIR

    path = build_explorer(extended_lake).path
    ds = Datasette(
        [], immutables=[path], metadata=explorer_metadata(path),
        plugins_dir=str(PLUGINS_DIR), template_dir=str(TEMPLATES_DIR),
    )  # fmt: skip

    async def facets(query: str, count: int = 7) -> dict:
        response = await ds.client.get(f"/explorer/datasets.json?{query}")
        assert response.status_code == 200, response.text
        data = response.json()
        # a facet that timed out is missing from the results: every default one answered
        assert len(data["facet_results"]) == count, sorted(data["facet_results"])
        return {
            name: {v["value"]: v["count"] for v in f["results"]}
            for name, f in data["facet_results"].items()
        }

    col = "croissant_field_data_types"
    ours = asyncio.run(facets("license=mit"))
    builtin = asyncio.run(facets(f"license=mit&_facet_array={col}", 8))
    assert ours[col] == builtin[col] == builtin[f"{col}_2"] == {"sc:Integer": 3, "sc:Text": 3}
    assert ours["license"] == {"mit": 3}
    everything = asyncio.run(facets(""))
    assert everything[col] == {"sc:Integer": 6, "sc:Text": 6}
    assert everything["croissant_valid"] == {0: 4, 1: 2}
    # a selected value filters with Datasette's own arraycontains
    narrowed = asyncio.run(facets(f"{col}__arraycontains=sc:Text&gated=false"))
    assert narrowed["gated"] == {"false": 2}

    conn = sqlite3.connect(path)
    for facet, lead in (("gated", "license"), ("license", "gated"), (col, "croissant_valid")):
        plan = " ".join(
            r[3]
            for r in conn.execute(
                f"EXPLAIN QUERY PLAN SELECT {facet}, count(*) FROM datasets "
                f"WHERE {lead} = 1 AND {facet} IS NOT NULL GROUP BY {facet}"
            )
        )
        assert "COVERING INDEX" in plan, (facet, lead, plan)


def test_a_long_series_window_is_joined_in_chunks_with_the_same_result(plain_lake, monkeypatch):
    from hf_croissant_assets.explore import build

    whole = _q(build_explorer(plain_lake).path, "SELECT * FROM daily_series ORDER BY dataset")
    monkeypatch.setattr(build, "SERIES_JOIN_DAYS", 2)  # 3 days: chunks of 2 and 1
    chunked = _q(build_explorer(plain_lake).path, "SELECT * FROM daily_series ORDER BY dataset")
    assert chunked == whole
    assert ("org1/set-10", "[null,null,101]", "[null,null,0]") in chunked
