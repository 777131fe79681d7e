"""Benchmark: one day's `hf_dataset_changes`, and one dataset's whole history, at Hub scale.

    python -m benchmarks.history                          # 60 days x 500k datasets (~3 GB)
    python -m benchmarks.history --days 10 --datasets 50000   # quick

A synthetic lake is generated directly as parquet (no crawl): `--datasets` ids at day 0, 0.2% new
and 0.1% deleted per day, ~2% of repos changing sha per day (their Croissant document with it),
downloads drifting +-10% with a few jumps, license and gating flips, Croissant 400 -> 200. Files
have the layout the lake writer produces (sorted by `dataset`, row groups of `ROW_GROUP_ROWS`) and
the declared schemas; they are written with pyarrow directly because the generator already
produces the ids in order (the writer's sort is the same DuckDB sort either way). Every day's
`hf_dataset_changes` is then derived by the real `compute_changes`.

Measured in a fresh child process (so its peak RSS is the work's, not the generator's):

- `changes_wall_s`: `compute_changes` for the last day (target <= 10 s at 500k);
- `history_lookup_s`: `lake.history` + `lake.history_events` of one dataset over every day on
  the local lake (target <= 1 s), best of 3 (warm page cache) and the first run;
- `bytes_read`: bytes the lookup read (Linux `rchar`, every read syscall of the process) vs the
  lake's size (target <= 1%);
- `peak_rss_mb` of the measuring process and of the generator.

Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date as Date
from datetime import timedelta
from multiprocessing import get_context
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from benchmarks._common import add_common_args, emit, lake_root, log, r, setup_logging
from hf_croissant_assets.lake.store import (
    COMPRESSION,
    ROW_GROUP_ROWS,
    LakeStore,
    statistics_columns,
)
from hf_croissant_assets.schema import HF_CROISSANT, HF_DATASETS, with_version

START = Date(2026, 1, 1)
LICENSES = np.array(["mit", "apache-2.0", "cc-by-4.0", "cc0-1.0", "other", "odc-by"], dtype=object)
#: The boilerplate every Croissant document carries (its JSON-LD context, abridged).
CONTEXT = '"@context":{' + ",".join(
    f'"{k}":"http://mlcommons.org/croissant/{k}"'
    for k in ("citeAs", "column", "conformsTo", "data", "dataType", "examples", "extract",
              "field", "fileObject", "fileProperty", "fileSet", "format", "includes", "isLiveDataset",
              "jsonPath", "key", "md5", "parentField", "path", "recordSet", "references", "regex",
              "repeated", "replace", "samplingRate", "separator", "source", "subField", "transform")
) + "}"  # fmt: skip
NEW_PER_DAY = 0.002
DELETE_PER_DAY = 0.001
MODIFY_PER_DAY = 0.02


class Universe:
    """Every id that ever exists, sorted, with its birth/death day and per-id traits."""

    def __init__(self, datasets: int, days: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        total = datasets + int(datasets * NEW_PER_DAY) * days
        # ids sort the same as their index: zero-padded, one author prefix per 1000
        self.ids = pa.array([f"org-{i // 1000:05d}/ds-{i:08d}" for i in range(total)])
        self.n = total
        self.birth = np.where(
            np.arange(total) < datasets, 0, rng.integers(1, max(days, 2), total)
        ).astype(np.int32)
        death = rng.geometric(DELETE_PER_DAY, total).astype(np.int64) + self.birth
        self.death = np.minimum(death, 10_000).astype(np.int32)
        self.period = rng.integers(20, 200, total).astype(np.int32)  # ~1/period change per day
        self.offset = rng.integers(0, 1000, total).astype(np.int32)
        self.base_downloads = (1_000_000 * rng.random(total) ** 12).astype(np.int64)
        self.license = rng.integers(0, len(LICENSES), total)
        self.license_flip = rng.integers(0, 40 * days + 1, total)  # day a license changes
        self.gated_flip = rng.integers(0, 60 * days + 1, total)
        self.unavailable_until = np.where(
            rng.random(total) < 0.2, rng.integers(0, days + 5, total), -1
        )
        # text pieces drawn per row: varied enough that zstd cannot fold the column away, as
        # real descriptions and documents do not fold (64 hex chars each, 65,536 of them)
        self.pieces = pa.array([rng.bytes(32).hex() for _ in range(65_536)])
        self.rng = rng
        self.dates = [(START + timedelta(days=d)).isoformat() for d in range(days)]

    def version(self, day: int) -> np.ndarray:
        return (day + self.offset) // self.period


def _write(store: LakeStore, table: str, date: str, columns: dict[str, Any], schema: pa.Schema):
    n = len(next(iter(columns.values())))
    arrays = [columns[f.name] if f.name in columns else pa.nulls(n, f.type) for f in schema]
    data = pa.Table.from_arrays(arrays, schema=schema)
    path = store.part_path(table, date)
    store.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with store.fs.open_output_stream(path) as out:
        pq.write_table(
            data.replace_schema_metadata(with_version(schema).metadata),
            out,
            compression=COMPRESSION,
            row_group_size=ROW_GROUP_ROWS,
            write_statistics=statistics_columns(schema, "dataset"),
        )


def generate_day(store: LakeStore, u: Universe, day: int) -> int:
    date = u.dates[day]
    present = np.nonzero((u.birth <= day) & (u.death > day))[0]
    take = pa.array(present)
    ids = u.ids.take(take)
    n = len(present)
    version = u.version(day)[present]
    sha = pc.binary_join_element_wise(
        pc.cast(pa.array(present), pa.string()), pc.cast(pa.array(version), pa.string()), "-"
    )
    noise = 0.9 + 0.2 * u.rng.random(n)
    downloads = (u.base_downloads[present] * noise).astype(np.int64)
    jump = u.rng.random(n) < 0.0005
    downloads = np.where(jump, downloads * 5 + 500, downloads).clip(0, 2**31 - 1).astype(np.int32)
    lic_idx = (u.license[present] + (day >= u.license_flip[present])) % len(LICENSES)
    gated = np.where(day >= u.gated_flip[present], "auto", "false").astype(object)
    mod_day = np.maximum(u.birth[present], version * u.period[present] - u.offset[present])
    ts = pa.array(
        (np.datetime64(START.isoformat(), "ms") + mod_day.astype("timedelta64[D]")).astype(
            "datetime64[ms]"
        )
    ).cast(pa.timestamp("ms", tz="UTC"))

    def text(k: int) -> pa.Array:
        """`k` pieces per row: fixed for a dataset (its index picks them), ~65*k bytes."""
        picks = [u.pieces.take(pa.array((present * (7 + j) + j * 977) % 65_536)) for j in range(k)]
        return pc.binary_join_element_wise(*picks, " ")

    descriptions = pc.binary_join_element_wise("Dataset card for ", ids, ". ", text(3), "")
    _write(
        store,
        "hf_datasets",
        date,
        {
            "request_time": pa.array([f"{date}T01:00:00Z"] * n),
            "dataset": ids,
            "author": pc.utf8_slice_codeunits(ids, 0, 9),
            "created_at": ts,
            "last_modified": ts,
            "private": pa.array(np.zeros(n, bool)),
            "disabled": pa.array(np.zeros(n, bool)),
            "gated": pa.array(gated, pa.string()),
            "downloads": pa.array(downloads),
            "downloads_all_time": pa.array(u.base_downloads[present] * 30),
            "license": pa.array(LICENSES[lic_idx], pa.string()),
            "trending_score": pa.array(u.rng.random(n)),
            "likes": pa.array((u.base_downloads[present] // 1000 + day).astype(np.int32)),
            "sha": sha,
            "used_storage": pa.array(u.base_downloads[present] * 1000),
            "description": descriptions,
        },
        HF_DATASETS,
    )
    available = (u.unavailable_until[present] < 0) | (day >= u.unavailable_until[present])
    status = np.where(available, 200, 400).astype(np.int32)
    # fetched again when the repo changed or the document became available; carried otherwise
    fetched_day = np.maximum(mod_day, np.where(available, u.unavailable_until[present], 0))
    fetched_day = np.clip(fetched_day, 0, day)
    request_time = pc.binary_join_element_wise(
        pa.array(u.dates).take(pa.array(fetched_day)), "T02:00:00Z", ""
    )
    doc = pc.binary_join_element_wise(
        '{"@context":{"@vocab":"https://schema.org/"},"@type":"sc:Dataset","conformsTo":'
        '"http://mlcommons.org/croissant/1.1","name":"',
        ids,
        '","version":"',
        sha,
        '","description":"',
        text(12),
        '",' + CONTEXT + ',"recordSet":[{"@type":"cr:RecordSet","name":"default"}]}',
        "",
    )
    doc = pc.if_else(pa.array(available), doc, pa.scalar(None, pa.string()))
    _write(
        store,
        "hf_croissant",
        date,
        {
            "dataset": ids,
            "request_time": request_time,
            "status": pa.array(status),
            "croissant": doc,
            "sha": sha,
            "last_modified": ts,
            "record_set_count": pa.array(np.where(available, 1, 0).astype(np.int32)),
        },
        HF_CROISSANT,
    )
    return n


def lake_bytes(store: LakeStore, tables: tuple[str, ...]) -> int:
    total = 0
    for table in tables:
        sel = pafs.FileSelector(store.dataset_dir(table), recursive=True, allow_not_found=True)
        total += sum(i.size for i in store.fs.get_file_info(sel) if i.type == pafs.FileType.File)
    return total


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: reset by exec, unlike ru_maxrss, which a spawned child
    inherits from its parent on Linux)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def _rchar() -> int:
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar:"))


def measure(root: str, last: str, dataset: str) -> dict[str, Any]:
    """In a fresh process: the last day's changes, then the history lookups."""
    from hf_croissant_assets import lake
    from hf_croissant_assets.curate.changes import compute_changes

    store = LakeStore(root)
    t0 = time.perf_counter()
    result = compute_changes(store, last)
    changes_wall = time.perf_counter() - t0
    rss_changes = _peak_rss_mb()
    # warm-up on another id: imports (their file reads) are not the lookup's
    lake.history("warm/up", lake=root)
    lake.history_events("warm/up", lake=root)
    runs = []
    reads = []
    for _ in range(3):
        before = _rchar()
        t0 = time.perf_counter()
        timeline = lake.history(dataset, lake=root)
        events = lake.history_events(dataset, lake=root)
        runs.append(time.perf_counter() - t0)
        reads.append(_rchar() - before)
    return {
        "changes_wall_s": changes_wall,
        "changes_events": result.rows,
        "changes_by_kind": {k: v for k, v in result.counts.items() if v},
        "history_first_s": runs[0],
        "history_lookup_s": min(runs),
        "history_days": timeline.height,
        "history_events": events.height,
        "bytes_read": reads[0],
        "peak_rss_mb": _peak_rss_mb(),
        "peak_rss_changes_mb": rss_changes,
    }


def main() -> None:
    setup_logging()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--datasets", type=int, default=500_000)
    add_common_args(parser)
    args = parser.parse_args()
    from hf_croissant_assets.curate.changes import compute_changes

    with lake_root(args) as roots:
        root = roots.sub("history")
        store = LakeStore(root)
        t0 = time.perf_counter()
        u = Universe(args.datasets, args.days, args.seed)
        rows = 0
        changes_s = []
        for day in range(args.days):
            rows = generate_day(store, u, day)
            if day:
                t1 = time.perf_counter()
                compute_changes(store, u.dates[day])
                changes_s.append(time.perf_counter() - t1)
            else:
                compute_changes(store, u.dates[day])
            if day % 5 == 0 or day == args.days - 1:
                log.info(f"day {day + 1}/{args.days}: {rows} datasets, "
                         f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
        generate_s = time.perf_counter() - t0
        tables = ("hf_datasets", "hf_croissant", "hf_dataset_changes")
        size = lake_bytes(store, tables)
        # a dataset present from the first to the last day, with some history
        alive = np.nonzero((u.birth == 0) & (u.death > args.days))[0]
        dataset = u.ids[int(alive[len(alive) // 2])].as_py()
        log.info(f"lake {size / 1e9:.2f} GB; measuring in a fresh process ({dataset})")
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            m = pool.submit(measure, root, u.dates[-1], dataset).result()
        emit(
            {
                "benchmark": "history",
                "days": args.days,
                "datasets_per_day": rows,
                "row_group_rows": ROW_GROUP_ROWS,
                "lake_bytes": size,
                "generate_and_derive_s": r(generate_s, 1),
                "changes_wall_s": r(m["changes_wall_s"]),
                "changes_wall_s_median_all_days": r(
                    float(np.median(changes_s)) if changes_s else None
                ),
                "changes_events": m["changes_events"],
                "changes_by_kind": m["changes_by_kind"],
                "history_lookup_s": r(m["history_lookup_s"]),
                "history_first_run_s": r(m["history_first_s"]),
                "history_days": m["history_days"],
                "history_events": m["history_events"],
                "bytes_read": m["bytes_read"],
                "bytes_read_pct_of_lake": r(100.0 * m["bytes_read"] / size, 4),
                "peak_rss_mb": r(m["peak_rss_mb"], 1),
                "peak_rss_changes_mb": r(m["peak_rss_changes_mb"], 1),
                "peak_rss_generator_mb": r(_peak_rss_mb(), 1),
                "targets": {"changes_wall_s": 10, "history_lookup_s": 1, "bytes_read_pct": 1},
                "cpus": os.cpu_count(),
            }
        )


if __name__ == "__main__":
    main()
