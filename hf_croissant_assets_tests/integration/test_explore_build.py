"""The explorer's SQLite file: built from a lake with and without the optional tables, checked
against DuckDB over the same parquet, and its metadata / canned queries / dataset page content."""

from __future__ import annotations

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
from hf_croissant_assets.schema import HF_CROISSANT, HF_DATASETS, LAKE_DATASETS, LakeDataset
from hf_croissant_assets.warehouse.queries import example_queries

D1, D2, D3 = "2026-01-01", "2026-01-02", "2026-01-04"
HOSTILE = (
    "<script>alert('x')</script> [click](javascript:alert(1)) **bold** <img src=x onerror=alert(2)>"
)

VALIDATION = pa.schema(
    [
        pa.field("dataset", pa.string()),
        pa.field("valid", pa.bool_(), metadata={b"comment": "passes the reference validator"}),
        pa.field("errors", pa.list_(pa.string())),
        pa.field("warnings", pa.list_(pa.string())),
        pa.field("validator_version", pa.string()),
    ]
)
CHANGES = pa.schema(
    [
        pa.field("dataset", pa.string()),
        pa.field("change", pa.string()),
        pa.field("before", pa.string()),
        pa.field("after", pa.string()),
        pa.field("previous_date", pa.string()),
    ]
)
#: The registry as issues 14 and 15 extend it (names and columns as they specify).
EXTENDED = {
    **LAKE_DATASETS,
    "croissant_validation": LakeDataset(
        "croissant_validation", "croissant_validation", VALIDATION, is_table=True
    ),
    "hf_dataset_changes": LakeDataset(
        "hf_dataset_changes", "hf_dataset_changes", CHANGES, is_table=True
    ),
}


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
    for day in (D1, D2, D3):
        rows = _listing(day, n if day == D3 else n - 2)
        listing = pa.Table.from_pylist(rows, schema=HF_DATASETS)
        croissant = pa.Table.from_pylist(_croissant(rows), schema=HF_CROISSANT)
        if extended:  # issue 14's SPDX columns, as the newer writers add them
            spdx = pa.array([{"mit": "MIT"}.get(r["license"] or "") for r in rows], pa.string())
            listing = listing.append_column("license_spdx", spdx)
            croissant = croissant.append_column("license_spdx", spdx)
        store.write_table("hf_datasets", day, listing)
        store.write_table("hf_croissant", day, croissant)
    if extended:
        root = Path(store.root)
        rows = _listing(D3, n)
        validation = pa.Table.from_pylist(
            [
                {"dataset": r["dataset"], "valid": i % 4 == 0, "errors": [] if i % 4 == 0 else ["bad <b>"],
                 "warnings": [], "validator_version": "1.0.9"}
                for i, r in enumerate(rows)
            ],
            schema=VALIDATION,
        )  # fmt: skip
        changes = pa.Table.from_pylist(
            [
                {"dataset": "org1/set-1", "change": "license_changed", "before": "mit",
                 "after": HOSTILE, "previous_date": D2},
                {"dataset": "org0/set-0", "change": "downloads_jump", "before": "0",
                 "after": "1", "previous_date": D2},
            ],
            schema=CHANGES,
        )  # fmt: skip
        for name, table, day in (
            ("croissant_validation", validation, D3),
            ("hf_dataset_changes", changes, D3),
            ("hf_dataset_changes", changes.slice(0, 1), D2),
        ):
            folder = root / name / f"date={day}"
            folder.mkdir(parents=True, exist_ok=True)
            import pyarrow.parquet as pq

            pq.write_table(table, folder / "part-0.parquet")


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
    assert result.optional_tables == {
        "hf_croissant": True, "croissant_validation": False, "hf_dataset_changes": False,
    }  # fmt: skip
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
    assert build_info(path)["date"] == D3


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
    # every example except the change events one (no such table here)
    assert set(examples) - set(queries) == {"changed_latest"}
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
        "license", "gated", "croissant_status", {"array": "croissant_encoding_formats"},
    ]  # fmt: skip
    assert "hf_dataset_changes" not in meta["databases"]["explorer"]["tables"]


def test_extended_lake_adds_validity_spdx_and_change_events(extended_lake, tmp_path):
    result = build_explorer(extended_lake, days=30, registry=EXTENDED)
    assert result.optional_tables == {
        "hf_croissant": True, "croissant_validation": True, "hf_dataset_changes": True,
    }  # fmt: skip
    for col in ("license_spdx", "croissant_license_spdx", "croissant_valid", "croissant_errors",
                "croissant_validator_version"):  # fmt: skip
        assert col in result.columns, col
    path = result.path
    assert _q(path, "SELECT count(*) FROM hf_dataset_changes") == [(3,)]
    assert _q(path, "SELECT croissant_valid, croissant_errors FROM datasets WHERE dataset = 'org1/set-1'") == [
        (0, '["bad <b>"]')
    ]  # fmt: skip
    meta = explorer_metadata(path, registry=EXTENDED)
    db = meta["databases"]["explorer"]
    assert db["tables"]["datasets"]["facets"][:5] == [
        "license", "license_spdx", "gated", "croissant_status", "croissant_valid",
    ]  # fmt: skip
    assert (
        "passes the reference validator" in db["tables"]["datasets"]["columns"]["croissant_valid"]
    )
    assert _q(path, db["queries"]["changed_latest"]["sql"]) == [
        ("org0/set-0", "downloads_jump", "0", "1", D2),
        ("org1/set-1", "license_changed", "mit", HOSTILE, D2),
    ]
    conn = sqlite3.connect(path)
    context = dataset_context(conn, "org1/set-1", {"lake": "/lake", "date": D3})
    assert context["has_validation"] and context["croissant_valid"] == 0
    assert [e[2] for e in context["events"]] == ["license_changed", "license_changed"]


def test_dataset_page_content_without_optional_tables(plain_lake):
    path = build_explorer(plain_lake).path
    conn = sqlite3.connect(path)
    context = dataset_context(conn, "org0/set-0", {"lake": "s3://b/lake", "date": D3})
    assert context["found"] and context["croissant_status"] == 200
    assert not context["has_events"] and not context["has_validation"]
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
    result = build_explorer(plain_lake, registry=EXTENDED)
    assert result.optional_tables["hf_dataset_changes"] is True
    assert result.optional_tables["croissant_validation"] is False
    assert _q(result.path, "SELECT count(*) FROM hf_dataset_changes") == [(0,)]
    context = dataset_context(sqlite3.connect(result.path), "org0/set-0", {})
    assert context["has_events"] and context["events"] == []
