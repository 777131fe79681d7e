"""One dataset's history: equal to an independent per-day read, on a local and an S3 lake, and
cheap: the partitions are sorted by dataset, so pyarrow and DuckDB read one row group per day."""

from __future__ import annotations

import hashlib
import json
from datetime import date as Date
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from hf_croissant_assets import lake
from hf_croissant_assets.cli.app import main
from hf_croissant_assets.curate.changes import compute_changes
from hf_croissant_assets.lake import store as store_module
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import HF_CROISSANT, HF_DATASETS

DAYS = [Date(2026, 11, 1) + timedelta(days=i) for i in range(12) if i != 5]  # a gap on day 5
ROWS = 6_000
RG = 500  # rows per row group in this test (the store's constant, made small)


def _ids() -> list[str]:
    # ids written in a scrambled order: the store must sort them
    return [f"org-{i % 13}/dataset-{(i * 7919) % ROWS:05d}" for i in range(ROWS)]


def _full(columns: dict, schema: pa.Schema) -> pa.Table:
    n = len(next(iter(columns.values())))
    return pa.table(
        {f.name: pa.array(columns.get(f.name, [None] * n), f.type) for f in schema}, schema=schema
    )


def _write(store: LakeStore, day_index: int, day: Date) -> None:
    ids = _ids()
    n = len(ids)
    store.write_table(
        "hf_datasets",
        day.isoformat(),
        _full(
            {
                "dataset": ids,
                "downloads": [(k * 31 + day_index * 17) % 5000 for k in range(n)],
                "likes": [k % 50 + day_index for k in range(n)],
                "license": ["mit" if day_index < 6 else "apache-2.0"] * n,
                "gated": ["false"] * n,
                "sha": [f"sha{day_index // 3}-{k}" for k in range(n)],
                # a wide column, as real descriptions are: what skipping a row group saves
                "description": [
                    hashlib.sha512(f"{k}-{day_index}".encode()).hexdigest() * 2 for k in range(n)
                ],
            },
            HF_DATASETS,
        ),
    )
    store.write_table(
        "hf_croissant",
        day.isoformat(),
        _full(
            {
                "dataset": ids,
                "status": [400 if day_index < 4 else 200] * n,
                "request_time": [f"{day.isoformat()}T01:00:00Z"] * n,
                "croissant": [None if day_index < 4 else '{"name": "x"}'] * n,
            },
            HF_CROISSANT,
        ),
    )


WATCHED = _ids()[4321]


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("history") / "lake")
    store = LakeStore(root)
    mp = pytest.MonkeyPatch()
    mp.setattr(store_module, "ROW_GROUP_ROWS", RG)
    try:
        for i, day in enumerate(DAYS):
            _write(store, i, day)
            compute_changes(store, day.isoformat())
    finally:
        mp.undo()
    return root


def _independent(store: LakeStore, dataset: str) -> list[dict]:
    """Each day's whole file read and searched in Python: no statistics, no pushdown."""
    out = []
    for day in store.dates("hf_datasets"):
        rows = [
            r for r in store.read_table("hf_datasets", day).to_pylist() if r["dataset"] == dataset
        ]
        cro = [
            r for r in store.read_table("hf_croissant", day).to_pylist() if r["dataset"] == dataset
        ]
        for r in rows:
            out.append((Date.fromisoformat(day), r["downloads"], r["likes"], r["license"],
                        r["sha"], cro[0]["status"] if cro else None))  # fmt: skip
    return out


def test_files_are_sorted_in_row_groups(lake_dir):
    store = LakeStore(lake_dir)
    for table in ("hf_datasets", "hf_croissant", "hf_dataset_changes"):
        meta = store.parquet_file(table, DAYS[-1].isoformat()).metadata
        ids = store.read_table(table, DAYS[-1].isoformat(), columns=["dataset"])["dataset"]
        assert ids.to_pylist() == sorted(ids.to_pylist()), table
        if table != "hf_dataset_changes":
            assert meta.num_row_groups == ROWS // RG
            assert all(meta.row_group(i).num_rows == RG for i in range(meta.num_row_groups))
    # the declared schema is kept (the sort goes through DuckDB and back)
    pf = store.parquet_file("hf_datasets", DAYS[0].isoformat())
    assert pf.schema_arrow.field("created_at").type == HF_DATASETS.field("created_at").type
    assert store.parquet_file("hf_croissant", DAYS[0].isoformat()).schema_arrow.names == (
        HF_CROISSANT.names
    )


def test_history_equals_an_independent_per_day_read(lake_dir):
    store = LakeStore(lake_dir)
    frame = lake.history(WATCHED, lake=lake_dir)
    got = [(r["date"], r["downloads"], r["likes"], r["license"], r["sha"], r["croissant_status"])
           for r in frame.to_dicts()]  # fmt: skip
    assert got == _independent(store, WATCHED)
    assert len(got) == len(DAYS)
    # the change events of each day are attached, and listed by history_events
    events = lake.history_events(WATCHED, lake=lake_dir)
    kinds = {(e["date"], e["change"]) for e in events.to_dicts()}
    assert (DAYS[6], "license_changed") in kinds  # mit -> apache-2.0 on the 7th snapshot
    assert (DAYS[4], "croissant_appeared") in kinds
    by_day = {r["date"]: set(r["changes"]) for r in frame.to_dicts()}
    assert all(by_day[d] >= {c} for d, c in kinds)
    # a range reads only those days
    part = lake.history(WATCHED, DAYS[2], DAYS[4].isoformat(), lake=lake_dir)
    assert part["date"].to_list() == DAYS[2:5]
    assert lake.history("nobody/nothing", lake=lake_dir).is_empty()
    with pytest.raises(ValueError, match="dataset id"):
        lake.history("", lake=lake_dir)


def test_pyarrow_reads_one_row_group_per_day(lake_dir):
    store = LakeStore(lake_dir)
    data = lake.dataset("hf_datasets", lake=lake_dir)
    predicate = ds.field("dataset") == WATCHED
    groups = [
        rg for fragment in data.get_fragments(filter=predicate)
        for rg in fragment.split_by_row_group(filter=predicate)
    ]  # fmt: skip
    assert len(groups) == len(store.dates("hf_datasets"))  # one row group per day, of 12 each


def _read_bytes() -> int:
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar:"))


def _lake_bytes(store: LakeStore, table: str) -> int:
    sel = pafs.FileSelector(store.dataset_dir(table), recursive=True)
    return sum(i.size for i in store.fs.get_file_info(sel) if i.type == pafs.FileType.File)


def test_duckdb_and_pyarrow_read_a_small_fraction_for_one_id(lake_dir):
    # Linux's per-process I/O counters measure what is read (the project's machines are Linux).
    assert Path("/proc/self/io").exists(), "needs Linux's /proc/self/io I/O counters"
    import duckdb

    store = LakeStore(lake_dir)
    total = _lake_bytes(store, "hf_datasets")
    glob = store.glob("hf_datasets")
    con = duckdb.connect()
    con.execute("SET enable_external_file_cache = false")  # measure reads, not DuckDB's cache
    query = "SELECT count(*), max(description) FROM read_parquet(?) WHERE dataset = ?"
    con.execute(query, [glob, "warm-up/none"]).fetchall()

    def measured(fn):
        before = _read_bytes()
        result = fn()
        return result, _read_bytes() - before

    # The wide column is read for the one row group holding the id, per day (12 per day here),
    # plus the small id column: a fraction of the table, where a scan would read all of it.
    (n, _), one_bytes = measured(lambda: con.execute(query, [glob, WATCHED]).fetchone())
    assert n == len(DAYS)
    assert one_bytes < 0.25 * total, (one_bytes, total)
    _, scan_bytes = measured(
        lambda: con.execute("SELECT max(description) FROM read_parquet(?)", [glob]).fetchone()
    )
    assert scan_bytes > 0.8 * total  # the reference: reading the column everywhere
    assert one_bytes < 0.25 * scan_bytes

    # pyarrow (what lake.history uses): the footer and one row group per day. (Tiny files here:
    # pyarrow reads a file's last 64 KiB to find its footer, so the benchmark measures the
    # whole history on realistic sizes.)
    from hf_croissant_assets.lake.access import HISTORY_COLUMNS

    data = lake.dataset("hf_datasets", lake=lake_dir)
    table, history_bytes = measured(
        lambda: data.to_table(
            columns=[*HISTORY_COLUMNS, "description"], filter=ds.field("dataset") == WATCHED
        )
    )
    assert table.num_rows == len(DAYS)
    assert history_bytes < 0.25 * total, (history_bytes, total)
    # each row group holds 1/12 of a day: reading all of them would be ~12x more
    assert pq.ParquetFile(store.part_path("hf_datasets", DAYS[0].isoformat())).num_row_groups == 12


def test_history_on_s3_equals_local(lake_dir, s3_bucket):
    uri = f"s3://{s3_bucket}/lake"
    target = LakeStore(uri)
    for table in ("hf_datasets", "hf_croissant", "hf_dataset_changes"):
        pafs.copy_files(
            LakeStore(lake_dir).dataset_dir(table),
            target.dataset_dir(table),
            source_filesystem=pafs.LocalFileSystem(),
            destination_filesystem=target.fs,
        )
    assert lake.history(WATCHED, lake=uri).equals(lake.history(WATCHED, lake=lake_dir))
    assert lake.history_events(WATCHED, lake=uri).equals(
        lake.history_events(WATCHED, lake=lake_dir)
    )


def test_cli_prints_the_timeline_json_and_chart(lake_dir, tmp_path, capsys):
    assert main(["history", WATCHED, "--lake", lake_dir]) == 0
    out = capsys.readouterr().out
    n_events = lake.history_events(WATCHED, lake=lake_dir).height
    assert n_events == 5  # updated x3 (sha every 3rd snapshot), license, Croissant appeared
    assert out.splitlines()[0] == f"{WATCHED}: {len(DAYS)} snapshot(s), {n_events} event(s)"
    assert "license_changed" in out and "mit -> apache-2.0" in out
    assert DAYS[0].isoformat() in out and DAYS[-1].isoformat() in out

    chart = tmp_path / "h.png"
    args = ["history", WATCHED, "--lake", lake_dir, "--from", DAYS[1].isoformat(), "--to",
            DAYS[3].isoformat(), "--json", "--chart", str(chart)]  # fmt: skip
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["date"] for r in doc["timeline"]] == [d.isoformat() for d in DAYS[1:4]]
    assert chart.read_bytes().startswith(b"\x89PNG")

    assert main(["history", "nobody/nothing", "--lake", lake_dir]) == 1
    assert "is in no snapshot" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["history", WATCHED, "--lake", lake_dir, "--from", "2026-13-01"])
