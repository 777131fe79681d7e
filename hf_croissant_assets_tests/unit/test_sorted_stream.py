"""Sorted streams and the presorted writer: a merge must never continue on unsorted input."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hf_croissant_assets.lake.sorted_stream import (
    NotSortedError,
    SortedCursor,
    is_sorted_column,
    partition_is_sorted,
    sorted_batches_of,
)
from hf_croissant_assets.lake.store import ROW_GROUP_ROWS, LakeStore
from hf_croissant_assets.schema import CROISSANT_RECORDS

DAY = "2026-11-20"


def _batches(*chunks: list[str | None]) -> list[pa.RecordBatch]:
    return [pa.record_batch({"dataset": pa.array(c, pa.string())}) for c in chunks]


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([["a", "b"], ["b", "c"]], True),
        ([["a", "b", None], [None]], True),
        ([["a", "c"], ["b"]], False),  # across chunks
        ([["b", "a"]], False),
        ([["a", None, "b"]], False),  # a value after a null
        ([["a", None], ["b"]], False),
        ([["Z", "a", "é", "中"]], True),  # byte order of UTF-8 = code point order
    ],
)
def test_is_sorted_column(chunks, expected):
    assert is_sorted_column(b.column(0) for b in _batches(*chunks)) is expected


def test_cursor_takes_ranges_and_refuses_unsorted_input():
    cursor = SortedCursor(iter(_batches(["a", "b"], ["c", "d", "e"], ["f", None])))
    assert cursor.take_through("0") is None
    got = cursor.take_through("c")
    assert got is not None and got.column("dataset").to_pylist() == ["a", "b", "c"]
    got = cursor.take_through("cz")
    assert got is None
    got = cursor.take_through("zz")
    assert got is not None and got.column("dataset").to_pylist() == ["d", "e", "f"]
    assert cursor.take_through("zzz") is None  # null keys are never returned

    bad = SortedCursor(iter(_batches(["a", "c"], ["b"])))
    bad.take_through("a")
    with pytest.raises(NotSortedError):
        bad.take_through("z")


def _records(ids: list[str]) -> pa.Table:
    return pa.Table.from_pydict(
        {name: [None] * len(ids) for name in CROISSANT_RECORDS.names} | {"dataset": ids},
        schema=CROISSANT_RECORDS,
    )


def test_an_unsorted_partition_is_read_back_sorted(tmp_path):
    store = LakeStore(str(tmp_path))
    ids = [f"org/{i:05d}" for i in range(3000)][::-1]
    store.write_table("croissant_records", DAY, _records(ids))
    assert not partition_is_sorted(store, "croissant_records", DAY)
    out = [
        d
        for b in sorted_batches_of(store, "croissant_records", DAY, ["dataset"], batch_size=512)
        for d in b.column(0).to_pylist()
    ]
    assert out == sorted(ids)


def test_presorted_writer_keeps_the_sorted_layout_and_refuses_disorder(tmp_path):
    store = LakeStore(str(tmp_path))
    from hf_croissant_assets.curate.tables import derived_schema
    from hf_croissant_assets.schema import HF_CROISSANT

    ids = [f"org/{i:06d}" for i in range(ROW_GROUP_ROWS * 2 + 5)]
    table = pa.Table.from_pydict(
        {name: [None] * len(ids) for name in HF_CROISSANT.names} | {"dataset": ids},
        schema=HF_CROISSANT,
    )
    with store.writer(
        "hf_croissant", DAY, schema=derived_schema("hf_croissant"), presorted=True
    ) as writer:
        for start in range(0, table.num_rows, 1000):
            writer.write(table.slice(start, 1000))
    meta = pq.ParquetFile(store.part_path("hf_croissant", DAY)).metadata
    assert meta.num_rows == len(ids)
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [
        ROW_GROUP_ROWS,
        ROW_GROUP_ROWS,
        5,
    ]
    with (
        pytest.raises(ValueError, match="order"),
        store.writer("hf_croissant", "2026-11-21", presorted=True) as writer,
    ):
        writer.write(table.slice(1000, 10))
        writer.write(table.slice(0, 10))
    assert not store.exists("hf_croissant", "2026-11-21")


def test_document_tables_gather_small_writes_into_row_groups(tmp_path, monkeypatch):
    """`hf_croissant_fields` / `hf_croissant_files` arrive in small pieces (one per chunk of
    documents): they are written in row groups of the registry's `row_group_rows`, not one row
    group per write (the footer would grow with the day), and a wide piece is cut by bytes."""
    import hf_croissant_assets.lake.store as store_module
    from hf_croissant_assets.schema import HF_CROISSANT_FILES, LAKE_DATASETS

    store = LakeStore(str(tmp_path))
    rows = LAKE_DATASETS["hf_croissant_files"].row_group_rows
    assert rows and LAKE_DATASETS["hf_croissant_fields"].row_group_rows == rows
    n = rows * 2 + 777
    table = pa.Table.from_pydict(
        {name: [None] * n for name in HF_CROISSANT_FILES.names}
        | {"dataset": [f"org/{i:07d}" for i in range(n)], "file_id": ["f"] * n},
        schema=HF_CROISSANT_FILES,
    )
    with store.writer("hf_croissant_files", DAY, presorted=True) as writer:
        for start in range(0, n, 3000):
            writer.write(table.slice(start, 3000))
    path = store.part_path("hf_croissant_files", DAY)
    meta = pq.ParquetFile(path).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [rows, rows, 777]
    assert pq.read_table(path).column("dataset").to_pylist() == table.column("dataset").to_pylist()
    # a group is also cut when its rows hold more than the writer's byte bound
    monkeypatch.setattr(store_module, "SORT_RUN_BYTES", 1)
    with store.writer("hf_croissant_files", "2026-11-21") as writer:
        writer.write(table.slice(0, 10))
        writer.write(table.slice(10, 5))
    meta = store.parquet_file("hf_croissant_files", "2026-11-21").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [10, 5]
    # a failed write publishes nothing and keeps nothing buffered
    with pytest.raises(RuntimeError), store.writer("hf_croissant_files", "2026-11-22") as w:
        w.write(table.slice(0, 10))
        raise RuntimeError("boom")
    assert not store.exists("hf_croissant_files", "2026-11-22") and w._group == []


def test_iter_batches_reads_what_read_table_reads(tmp_path):
    """`iter_batches` reads without Arrow's pre-buffer cache (memory flat in the file's size):
    same rows, any column subset, across row groups."""
    store = LakeStore(str(tmp_path))
    n = ROW_GROUP_ROWS * 2 + 17
    ids = [f"org/d{i:06d}" for i in range(n)]
    table = pa.table(
        {
            "dataset": ids,
            "request_time": [f"{DAY}T00:00:00Z"] * n,
            "status": pa.array([200 if i % 3 else 404 for i in range(n)], pa.int32()),
            "reason": [None] * n,
            "croissant": [None if i % 5 == 0 else f'{{"n": {i}}}' for i in range(n)],
            "sha": [f"{i:040x}" for i in range(n)],
            "last_modified": pa.array([None] * n, pa.timestamp("ms", tz="UTC")),
        },
        schema=CROISSANT_RECORDS,
    )
    store.write_table("croissant_records", DAY, table)
    for columns in (None, ["dataset", "croissant"], ["status"]):
        got = pa.Table.from_batches(
            list(store.iter_batches("croissant_records", DAY, columns, batch_size=1000))
        )
        want = store.read_table("croissant_records", DAY, columns)
        assert got.equals(want)


def test_arrow_pool_returns_memory(monkeypatch):
    """The lake makes Arrow allocate from jemalloc where this pyarrow has it, unless
    ARROW_DEFAULT_MEMORY_POOL chose a pool explicitly."""
    from hf_croissant_assets.lake import store as store_module

    before = pa.default_memory_pool()
    try:
        monkeypatch.setenv(store_module.ARROW_POOL_ENV, "system")
        assert store_module.use_returning_memory_pool() == before.backend_name
        monkeypatch.delenv(store_module.ARROW_POOL_ENV)
        assert store_module.use_returning_memory_pool() == "jemalloc"
        assert pa.default_memory_pool().backend_name == "jemalloc"
    finally:
        pa.set_memory_pool(before)


def _fresh_interpreter(code: str, environ: dict[str, str], stderr: bool = False) -> str:
    """What `code` prints (and, with `stderr`, what it reports there) in a fresh interpreter."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
    )
    return out.stdout + (out.stderr if stderr else "")


def _process_pool(env: str | None, import_package: bool) -> str:
    """Arrow's process-wide pool in a fresh interpreter (it is chosen once per process)."""
    import os

    environ = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if env is not None:
        environ["ARROW_DEFAULT_MEMORY_POOL"] = env
    code = (
        (
            "import hf_croissant_assets, sys\nassert 'pyarrow' not in sys.modules\n"
            if import_package
            else ""
        )
        + "import pyarrow as pa\n"
        + "print(pa.default_memory_pool().backend_name)"  # nothing switched it yet
    )
    return _fresh_interpreter(code, environ).strip()


def test_the_package_picks_arrows_process_pool_before_pyarrow_loads():
    """Arrow's C++ side (parquet reading and writing) uses the pool named when pyarrow is
    imported: importing the package first makes it jemalloc on Linux (elsewhere it leaves
    Arrow's default), and an explicit choice is kept."""
    import sys

    expected = "jemalloc" if sys.platform.startswith("linux") else _process_pool(None, False)
    assert _process_pool(None, True) == expected
    assert _process_pool("system", True) == "system"


@pytest.mark.parametrize("run_bytes", [1 << 30, 64])
def test_external_sort_is_stable_nulls_last(monkeypatch, run_bytes):
    """The staged fetches' sort: key order, nulls last, equal keys in input order, whether it
    fits in one run or spills many (tiny runs force the merge and its passes)."""
    from hf_croissant_assets.lake import store as store_module

    monkeypatch.setattr(store_module, "SORT_RUN_BYTES", run_bytes)
    monkeypatch.setattr(store_module, "SORT_MERGE_FAN_IN", 3)
    schema = pa.schema([("dataset", pa.string()), ("n", pa.int64())])
    keys = ["b", None, "a", "b", "é", "a", None, "c", "b", "Z"] * 3
    tables = [
        pa.table({"dataset": keys[i : i + 4], "n": list(range(i, min(i + 4, len(keys))))}, schema)
        for i in range(0, len(keys), 4)
    ]
    out = pa.concat_tables(store_module.external_sort(tables, schema, "dataset"))
    got = list(zip(out.column("dataset").to_pylist(), out.column("n").to_pylist(), strict=True))
    order = {k: i for i, k in enumerate(sorted(k for k in set(keys) if k is not None))}
    want = sorted(
        enumerate(keys), key=lambda p: (p[1] is None, order.get(p[1], 0) if p[1] else 0, p[0])
    )
    assert got == [(k, n) for n, k in want]


def test_gather_runs_equals_take_and_shares_the_buffers():
    """The zero-copy gather gives exactly `take` over the concatenated sources, whatever the
    pattern of runs (single rows, long runs, a source revisited, repeats, nulls in the data)."""
    import random

    from hf_croissant_assets.lake.sorted_stream import gather_runs

    schema = pa.schema([("dataset", pa.string()), ("doc", pa.string()), ("n", pa.int32())])
    sources = [
        pa.table(
            {
                "dataset": [f"s{k}-{i:04d}" for i in range(size)],
                "doc": [None if i % 7 == 0 else f"document {k}/{i} " * 3 for i in range(size)],
                "n": pa.array(range(size), pa.int32()),
            },
            schema=schema,
        )
        for k, size in enumerate((50, 300, 1))
    ]
    offsets = [0, 50, 350]
    rng = random.Random(7)
    for trial in range(40):
        picks: list[tuple[int, int]] = []
        while len(picks) < rng.randrange(0, 200):
            k = rng.randrange(3)
            start = rng.randrange(sources[k].num_rows)
            length = rng.choice((1, 1, 5, 40))
            picks += [(k, p) for p in range(start, min(start + length, sources[k].num_rows))]
        source = pa.array([k for k, _ in picks], pa.int64())
        position = pa.array([p for _, p in picks], pa.int64())
        got = gather_runs(sources, source, position, schema)
        whole = pa.concat_tables(sources)
        expected = whole.take(pa.array([offsets[k] + p for k, p in picks], pa.int64()))
        assert got.schema == schema
        assert got.combine_chunks().equals(expected.combine_chunks()), trial
    # the runs are slices of the inputs: no byte of the documents was copied
    got = gather_runs(
        sources, pa.array([1] * 300, pa.int64()), pa.array(range(300), pa.int64()), schema
    )
    assert got.column("doc").num_chunks == 1
    assert (
        got.column("doc").chunk(0).buffers()[2].address
        == sources[1].column("doc").chunk(0).buffers()[2].address
    )


def test_jemalloc_takes_the_packages_decay_settings():
    """On Linux the package's jemalloc settings are valid for this pyarrow's jemalloc and reach
    it (jemalloc reports them with `stats_print`; a misspelt option is reported as invalid); a
    value the user set is kept. Elsewhere the package sets nothing."""
    import os
    import sys

    import hf_croissant_assets as package

    env_name = package.ARROW_JEMALLOC_CONF_ENV
    environ = {k: v for k, v in os.environ.items() if k not in (package.ARROW_POOL_ENV, env_name)}
    show = f"import hf_croissant_assets, os\nprint(os.environ.get({env_name!r}))"
    if not sys.platform.startswith("linux"):
        assert _fresh_interpreter(show, environ).strip() == "None"
        return
    assert _fresh_interpreter(show, environ).strip() == package.ARROW_JEMALLOC_CONF
    user = dict(environ, **{env_name: "dirty_decay_ms:5000"})
    assert _fresh_interpreter(show, user).strip() == "dirty_decay_ms:5000"
    # the package's settings with jemalloc's report switched on (stats_print only prints)
    reported = dict(environ, **{env_name: package.ARROW_JEMALLOC_CONF + ",stats_print:true"})
    report = _fresh_interpreter(
        "import hf_croissant_assets, pyarrow as pa\npa.allocate_buffer(1 << 20)",
        reported,
        stderr=True,
    )
    assert "Invalid conf" not in report
    for pair in package.ARROW_JEMALLOC_CONF.split(","):
        name, value = pair.split(":")
        assert re.search(rf"opt\.{name}: {value}\b", report), (pair, report[:2000])
