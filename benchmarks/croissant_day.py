"""Benchmark: the Croissant side of a day (fetch, pacing, incremental day at full scale).

    python -m benchmarks.croissant_day                       # all scenarios, default sizes
    python -m benchmarks.croissant_day --scenario throughput --throughput-datasets 2000

Scenarios (each against its own emulator subprocess on 127.0.0.1):

- throughput: ~8 KB documents, no rate limit, every dataset "never fetched": requests per second
  of `crawl_croissant` + the three Croissant tables (`curate_croissant_day`), at each client
  concurrency in --concurrency, and `vs_bare_aiohttp`: that rate / the rate of the same requests
  sent by a plain aiohttp session (no pacing, parsing or writing) to the same emulator in the same
  run (target >= 0.8). `cpu_us_per_request` says where the CPU goes (the emulator serving us and
  serving the bare loop, the bare loop, our fetch loop, plan + publish, the three tables) and
  `cpu_floor` the best ratio those costs allow on this machine's cores (both processes busy at
  once: a request costs at least max(ours, emulator, (ours + emulator) / cores) of wall time).
- pacing: a scaled fixed-window limit (100 requests / 3 s, Retry-After on), Budget(max_duration_s
  =30), concurrency 8: how much of the quota the pacer uses and how many 429s it provokes.
- day: 500k datasets, 3% modified since yesterday's snapshot (built without HTTP from the
  emulator's ground truth, in a child process so the measured day starts clean): wall time and peak RSS of the whole day-1 run (listing, hf_datasets,
  Croissant crawl, then hf_croissant + hf_croissant_fields + hf_croissant_files in one derived
  pass), per-step times, and whether exactly new + changed documents were requested.
  `wall_vs_hfh_listing` = that wall / the wall of `HfApi.list_datasets` over the same emulator
  day, measured right after in its own process (target <= 1.5); `peak_rss_mb` (target <= 512).
  Then `croissant_validation`, off the core path: documents new or changed since yesterday
  validated on --validation-workers processes (at most --validation-max-docs), the rest carried
  forward; `docs_per_s` is the validator's throughput.
- --day-1m: the day at --day-datasets and at --day-1m-datasets (default 1M), each in a fresh
  process; `day_1m.rss_vs_500k` = the larger day's peak RSS / the smaller's (target <= 1.1).

Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from typing import Any

import aiohttp
import pyarrow as pa

import hf_croissant_assets.ingest.croissant_crawl as crawl_module
from benchmarks._common import (
    EmulatorProcess,
    PeakTracker,
    RssSampler,
    Steps,
    add_common_args,
    emit,
    lake_root,
    list_and_publish,
    log,
    r,
    release_memory,
    rss_mb,
    ru_maxrss_mb,
    setup_logging,
    slim_stats,
    today_utc,
    yesterday_utc,
)
from benchmarks._groundtruth import churn_counts, write_records_from_ground_truth
from benchmarks.listing import run_huggingface_hub
from hf_croissant_assets.curate.tables import curate_croissant_day, curate_datasets
from hf_croissant_assets.curate.validation import sha256_text, validate_day, validator_version
from hf_croissant_assets.hub.client import HubClient, RetryPolicy
from hf_croissant_assets.ingest.croissant_crawl import Budget, CrawlResult, crawl_croissant
from hf_croissant_assets.ingest.listing_crawl import ListingResult
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import CROISSANT_VALIDATION

THROUGHPUT_MIN_RPS = 1000.0
#: fetch + parse + write vs. the same requests by a bare aiohttp loop, same emulator, same run
THROUGHPUT_VS_BARE_MIN = 0.8
VALIDATION_MIN_DOCS_PER_S = 50.0
UTILIZATION_MIN = 0.95
SHARE_429_MAX = 0.005
#: the day's wall / `HfApi.list_datasets` wall on the same emulator in the same run
DAY_WALL_VS_HFH_MAX = 1.5
DAY_RSS_MAX_MB = 512.0
#: peak RSS of a day twice as large (1M datasets) / the day's (500k)
DAY_1M_RSS_RATIO_MAX = 1.1
NO_STALE_REFRESH_DAYS = 36_500.0  # "nothing is stale": the day run fetches new + changed only


# -- helpers -------------------------------------------------------------------------------------


def own_cpu_s() -> float:
    """CPU seconds (user + system, every thread) this process has used."""
    t = os.times()
    return t.user + t.system


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) process `pid` has used; None where /proc is not there."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _us_per(seconds: float | None, n: int) -> float | None:
    return None if seconds is None or not n else r(seconds / n * 1e6, 1)


def _cpu_delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


@contextmanager
def crawl_phases(tracker: PeakTracker | None = None) -> Iterator[dict[str, float]]:
    """Time the phases inside `crawl_croissant` (plan / fetch / publish) without editing it.

    `crawl_croissant` looks `plan_day` and `fetch_planned` up in its module at call time, so
    wrapping those two module attributes is enough; they are restored on exit. With a tracker,
    the peak RSS of each phase is recorded too (publish = from the end of fetch to the exit).
    """
    phases: dict[str, float] = {}
    orig_plan, orig_fetch = crawl_module.plan_day, crawl_module.fetch_planned

    def plan_day(*args: Any, **kwargs: Any):
        if tracker:
            tracker.begin("crawl.plan")
        t, cpu = time.perf_counter(), own_cpu_s()
        try:
            return orig_plan(*args, **kwargs)
        finally:
            phases["plan_s"] = time.perf_counter() - t
            phases["plan_cpu_s"] = own_cpu_s() - cpu
            if tracker:
                tracker.end("crawl.plan")

    async def fetch_planned(*args: Any, **kwargs: Any):
        if tracker:
            tracker.begin("crawl.fetch")
        phases["fetch_started_at"] = time.time()
        t, cpu = time.perf_counter(), own_cpu_s()
        try:
            return await orig_fetch(*args, **kwargs)
        finally:
            phases["fetch_s"] = time.perf_counter() - t
            phases["fetch_cpu_s"] = own_cpu_s() - cpu
            phases["fetch_ended_at"] = time.time()
            if tracker:
                tracker.end("crawl.fetch")
                tracker.begin("crawl.publish")

    crawl_module.plan_day, crawl_module.fetch_planned = plan_day, fetch_planned
    try:
        yield phases
    finally:
        crawl_module.plan_day, crawl_module.fetch_planned = orig_plan, orig_fetch
        if tracker:
            tracker.end("crawl.publish")


def phase_summary(phases: dict[str, float], crawl_wall: float) -> dict[str, float | None]:
    plan, fetch = phases.get("plan_s"), phases.get("fetch_s")
    publish = crawl_wall - (plan or 0.0) - (fetch or 0.0)
    return {"plan_s": r(plan), "fetch_s": r(fetch), "publish_s": r(publish)}


def run_listing(base_url: str, store: LakeStore, date: str) -> ListingResult:
    async def go() -> ListingResult:
        async with HubClient(base_url) as client:
            return await list_and_publish(client, store, date)

    return asyncio.run(go())


def run_crawl(
    base_url: str,
    store: LakeStore,
    date: str,
    *,
    concurrency: int,
    budget: Budget,
    refresh_after_days: float = 7.0,
) -> CrawlResult:
    async def go() -> CrawlResult:
        async with HubClient(base_url, concurrency=concurrency, retry=RetryPolicy()) as client:
            return await crawl_croissant(
                client, store, date, budget=budget, refresh_after_days=refresh_after_days
            )

    return asyncio.run(go())


def emulator_args(config: dict[str, Any]) -> list[str]:
    """CLI flags of the emulator subprocess for a dict of EmulatorConfig fields."""
    args: list[str] = []
    for key, value in config.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if key == "retry_after":
            continue  # on by default; --no-retry-after turns it off
        args += [flag] if value is True else [flag, str(value)]
    return args


# -- throughput ----------------------------------------------------------------------------------


def bare_aiohttp(
    base_url: str, ids: list[str], concurrency: int, emulator_pid: int | None = None
) -> dict[str, Any]:
    """The floor: the same Croissant requests with a plain aiohttp session (`concurrency`
    workers, body read and dropped; no pacing, retries, parsing or writing). With the
    emulator's pid, the CPU microseconds per request of the loop and of the emulator too."""

    async def go() -> tuple[int, float, Counter]:
        statuses: Counter = Counter()
        cursor = iter(ids)
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(base_url, connector=connector) as session:

            async def worker() -> None:
                for dataset in cursor:
                    async with session.get(f"/api/datasets/{dataset}/croissant") as resp:
                        await resp.read()
                        statuses[resp.status] += 1

            t = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return len(ids), time.perf_counter() - t, statuses

    emu_cpu = process_cpu_s(emulator_pid) if emulator_pid else None
    cpu = own_cpu_s()
    n, wall, statuses = asyncio.run(go())
    cpu = own_cpu_s() - cpu
    emu_cpu = _cpu_delta(process_cpu_s(emulator_pid), emu_cpu) if emulator_pid else None
    return {
        "requests": n,
        "wall_s": r(wall),
        "requests_per_s": r(n / wall, 1),
        "statuses": {str(k): v for k, v in statuses.items()},
        "cpu_us_per_request": _us_per(cpu, n),
        "emulator_cpu_us_per_request": _us_per(emu_cpu, n),
    }


def cpu_floor(
    cpu_us: dict[str, float | None], bare: dict[str, Any], cores: int
) -> dict[str, Any] | None:
    """What `vs_bare_aiohttp` could reach at best given the CPU each side spends per request.

    Our client (fetch + parse + write) and the emulator run in two processes on `cores` cores:
    even perfectly overlapped, a request costs at least max(ours, emulator, (ours + emulator) /
    cores) microseconds of wall time. The bare loop's measured rate is the reference."""
    ours = cpu_us.get("ours_total")
    emu = cpu_us.get("emulator_serving_ours")
    if ours is None or emu is None or not bare.get("requests_per_s"):
        return None
    wall_us = max(ours, emu, (ours + emu) / max(cores, 1))
    return {
        "cores": cores,
        "best_requests_per_s": r(1e6 / wall_us, 1),
        "ceiling_vs_bare_aiohttp": r(1e6 / wall_us / bare["requests_per_s"]),
        "ours_cpu_vs_bare_client_cpu": r(ours / bare["cpu_us_per_request"])
        if bare.get("cpu_us_per_request")
        else None,
    }


def scenario_throughput(args: argparse.Namespace, root) -> dict[str, Any]:
    config = {"datasets": args.throughput_datasets, "seed": args.seed, "doc_kb": args.doc_kb}
    date = today_utc()
    runs: dict[str, dict[str, Any]] = {}
    with EmulatorProcess(emulator_args(config)) as emu:
        for concurrency in args.concurrency:
            store = LakeStore(root.sub(f"throughput-c{concurrency}"))
            listing = run_listing(emu.base_url, store, date)
            log.info("throughput c=%d: listing %d datasets", concurrency, listing.rows)
            emu.reset_stats()
            with crawl_phases() as phases:
                e0, c0 = process_cpu_s(emu.pid), own_cpu_s()
                t0 = time.perf_counter()
                crawl = run_crawl(
                    emu.base_url,
                    store,
                    date,
                    concurrency=concurrency,
                    budget=Budget(max_duration_s=None),
                )
                t1 = time.perf_counter()
                e1, c1 = process_cpu_s(emu.pid), own_cpu_s()
            curated = curate_croissant_day(store, date).writes["hf_croissant"]
            t2 = time.perf_counter()
            c2 = own_cpu_s()
            stats = emu.stats()
            ids = store.read_table("croissant_records", date, ["dataset"]).column(0).to_pylist()
            bare = bare_aiohttp(emu.base_url, ids, concurrency, emu.pid)
            requests = stats["by_endpoint"].get("croissant", 0)
            fetch_loop_cpu = phases.get("fetch_cpu_s")
            cpu_us = {
                "emulator_serving_ours": _us_per(_cpu_delta(e1, e0), requests),
                "emulator_serving_bare": bare["emulator_cpu_us_per_request"],
                "bare_client": bare["cpu_us_per_request"],
                # crawl_croissant = plan + fetch loop (requests, journal, staged batches) +
                # publish (croissant_records); then the three tables (parse + write)
                "crawl_fetch_loop": _us_per(fetch_loop_cpu, requests),
                "crawl_plan_publish": _us_per(
                    c1 - c0 - fetch_loop_cpu if fetch_loop_cpu is not None else None, requests
                ),
                "curate_parse_write": _us_per(c2 - c1, requests),
                "ours_total": _us_per(c2 - c0, requests),
            }
            fetch_wall, parse_wall = t1 - t0, t2 - t1
            wall = t2 - t0
            run = {
                "concurrency": concurrency,
                "datasets": listing.rows,
                "requests": requests,
                "wall_s": r(wall),
                "requests_per_s": r(requests / wall, 1),
                "fetch_wall_s": r(fetch_wall),
                "parse_write_wall_s": r(parse_wall),
                "crawl_phases": phase_summary(phases, fetch_wall),
                "fetch_only_requests_per_s": r(requests / phases["fetch_s"], 1)
                if phases.get("fetch_s")
                else None,
                "status_counts": crawl.status_counts,
                "client": {
                    k: crawl.client_stats[k]
                    for k in ("requests", "retries", "http_429", "errors", "bytes_received")
                },
                "mean_response_bytes": r(
                    crawl.client_stats["bytes_received"] / max(requests, 1), 0
                ),
                "hf_croissant_rows": curated.rows,
                "bare_aiohttp": bare,
                "vs_bare_aiohttp": r(requests / wall / bare["requests_per_s"])
                if bare["requests_per_s"]
                else None,
                "cpu_us_per_request": cpu_us,
                "cpu_floor": cpu_floor(cpu_us, bare, os.cpu_count() or 1),
            }
            log.info(
                "throughput c=%d: %d requests, %.0f req/s (fetch-only %.0f req/s); "
                "crawl %.2f s (%s), curate %.2f s",
                concurrency,
                requests,
                requests / wall,
                run["fetch_only_requests_per_s"] or 0,
                fetch_wall,
                run["crawl_phases"],
                parse_wall,
            )
            runs[str(concurrency)] = run
    best = max(runs.values(), key=lambda x: x["vs_bare_aiohttp"] or 0.0)
    out = dict(best.items())
    out["concurrency_tried"] = {k: v["requests_per_s"] for k, v in runs.items()}
    out["concurrency_chosen"] = best["concurrency"]
    out["doc_kb"] = args.doc_kb
    out["runs"] = runs
    out["targets"] = {"vs_bare_aiohttp_min": THROUGHPUT_VS_BARE_MIN}
    out["target_met"] = (best["vs_bare_aiohttp"] or 0.0) >= THROUGHPUT_VS_BARE_MIN
    return out


# -- pacing --------------------------------------------------------------------------------------


def window_counts(log_entries: list[list[Any]], t0: float, window: float) -> dict[int, list[int]]:
    """{window index: [served, 429]} from the emulator's request log (wall-clock timestamps)."""
    counts: dict[int, list[int]] = {}
    for ts, _method, path, status in log_entries:
        if "/croissant" not in path or not status:
            continue
        k = math.floor((ts - t0) / window)
        c = counts.setdefault(k, [0, 0])
        c[1 if status == 429 else 0] += 1
    return counts


def scenario_pacing(args: argparse.Namespace, root) -> dict[str, Any]:
    quota, window = args.quota, args.window
    config = {
        "datasets": args.pacing_datasets,
        "seed": args.seed,
        "quota": quota,
        "window": window,
    }
    date = today_utc()
    with EmulatorProcess(emulator_args(config)) as emu:
        store = LakeStore(root.sub("pacing"))
        listing = run_listing(emu.base_url, store, date)
        log.info("pacing: listing %d datasets; crawling for ~%.0f s", listing.rows, args.pacing_s)
        emu.reset_stats()
        with crawl_phases() as phases:
            t0 = time.perf_counter()
            crawl = run_crawl(
                emu.base_url,
                store,
                date,
                concurrency=args.pacing_concurrency,
                budget=Budget(max_duration_s=args.pacing_s),
            )
            crawl_wall = time.perf_counter() - t0
        stats = emu.stats()
        entries = emu.requests_log(10_000)
        windows_origin = emu.ready_at

    fetch_start, fetch_end = phases["fetch_started_at"], phases["fetch_ended_at"]
    elapsed = fetch_end - fetch_start
    served = stats["served_ok_in_quota"]
    limited = stats["rate_limited"]
    total = stats["requests"]

    # Quota utilization, two ways.
    #
    # 1. Over the fetch's elapsed time E (crawl_croissant's fetch phase, first to last request):
    #        served_ok_in_quota / (quota * E / window)
    #    The emulator allows at most `quota` per fixed window, so this is ~1.0 for a pacer that
    #    never leaves quota unspent; partial windows at both ends make it noisy (+-1/#windows).
    #
    # 2. Precisely, over full windows only (the headline `quota_utilization`): the emulator's
    #    windows are [t0 + k*w, t0 + (k+1)*w) with t0 its start (a few ms before its READY line,
    #    `ready_at`). Windows lying entirely inside [fetch start, fetch end] are counted, and
    #        utilization = requests served (non-429) in those windows / (quota * number of them)
    #    with the per-request times taken from the emulator's request log. Partial windows at
    #    the ends (first probe, the budget stop) are left out, so 1.0 means every full window
    #    was spent completely.
    counts = window_counts(entries, windows_origin, window)
    first_full = math.ceil((fetch_start - windows_origin) / window)
    last_full = math.floor((fetch_end - windows_origin) / window) - 1
    full = list(range(first_full, last_full + 1))
    served_full = sum(counts.get(k, [0, 0])[0] for k in full)
    limited_full = sum(counts.get(k, [0, 0])[1] for k in full)
    utilization_full = served_full / (quota * len(full)) if full else None
    utilization_elapsed = served / (quota * elapsed / window) if elapsed > 0 else None
    share_429 = limited / total if total else 0.0
    per_window = [
        [k, *counts.get(k, [0, 0])]
        for k in range(min(counts, default=0), max(counts, default=-1) + 1)
    ]
    out = {
        "quota": quota,
        "window_s": window,
        "concurrency": args.pacing_concurrency,
        "max_duration_s": args.pacing_s,
        "datasets": listing.rows,
        "requests": total,
        "served_ok_in_quota": served,
        "http_429": limited,
        "http_429_share": r(share_429, 4),
        "elapsed_s": r(elapsed),
        "crawl_wall_s": r(crawl_wall),
        "quota_utilization": r(utilization_full, 4),
        "quota_utilization_elapsed": r(utilization_elapsed, 4),
        "full_windows": len(full),
        "served_in_full_windows": served_full,
        "http_429_in_full_windows": limited_full,
        "max_served_in_a_window": max((c[0] for c in counts.values()), default=0),
        "per_window_served_429": per_window,
        "stopped_by": crawl.stopped_by,
        "fetched": crawl.fetched_this_run,
        "client": {k: crawl.client_stats[k] for k in ("requests", "retries", "http_429", "errors")},
        "pacer": crawl.pacing,
        "targets": {"quota_utilization_min": UTILIZATION_MIN, "http_429_share_max": SHARE_429_MAX},
    }
    out["target_met"] = bool(
        utilization_full is not None
        and utilization_full >= UTILIZATION_MIN
        and share_429 <= SHARE_429_MAX
    )
    log.info(
        "pacing: %d requests (%d x 429, share %.4f) in %.1f s; utilization %.3f over %d full "
        "windows (%.3f over elapsed)",
        total,
        limited,
        share_429,
        elapsed,
        utilization_full or 0,
        len(full),
        utilization_elapsed or 0,
    )
    return out


# -- day -----------------------------------------------------------------------------------------


def write_validation_from_records(store: LakeStore, date: str) -> int:
    """Setup: a `croissant_validation` partition for `date` as if every document had been
    validated (valid, current validator version), so day 1 validates only what changed."""
    version = validator_version()
    rows = 0
    with store.writer("croissant_validation", date) as writer:
        for batch in store.iter_batches(
            "croissant_records", date, columns=["dataset", "status", "croissant"], batch_size=5000
        ):
            out = [
                {
                    "dataset": d,
                    "document_sha256": sha256_text(text),
                    "valid": True,
                    "errors": [],
                    "warnings": [],
                    "error_count": 0,
                    "warning_count": 0,
                    "validator_version": version,
                    "validated_at": f"{date}T00:00:00Z",
                }
                for d, status, text in zip(
                    *(batch.column(i).to_pylist() for i in range(3)), strict=True
                )
                if status == 200 and text is not None
            ]
            rows += len(out)
            writer.write(pa.Table.from_pylist(out, schema=CROISSANT_VALIDATION))
    return rows


def setup_day0(
    lake: str, base_url: str, config: dict[str, Any], d0: str, skip_curate: bool
) -> tuple[int, dict[str, Any], dict[str, float]]:
    """Setup: yesterday's snapshot (listing, records from the ground truth, Croissant tables,
    validation), without fetching 500k documents. Runs in a child process so the measured day
    starts from an interpreter that holds nothing of it (as a production step does): done in
    the benchmark's own process, the allocators kept ~115 MB of the setup's freed memory."""
    setup_logging()
    store = LakeStore(lake)
    steps = Steps()
    with steps.step("d0_listing"):
        listing0 = run_listing(base_url, store, d0)
    with steps.step("d0_records_from_ground_truth"):
        records0 = write_records_from_ground_truth(
            store, d0, dict(config, day=0), day=0, request_time=f"{d0}T12:00:00.000Z"
        )
    log.info("day 0: %s", records0)
    if not skip_curate:
        with steps.step("d0_curate_croissant"):
            curate_croissant_day(store, d0)
    with steps.step("d0_validation_from_records"):
        write_validation_from_records(store, d0)
    return listing0.rows, records0, steps.walls


def scenario_day(args: argparse.Namespace, root, concurrency: int) -> dict[str, Any]:
    config = {
        "datasets": args.day_datasets,
        "seed": args.seed,
        "modify_rate": args.modify_rate,
    }
    d0, d1 = yesterday_utc(), today_utc()
    setup = Steps()
    with (
        EmulatorProcess(emulator_args(config)) as emu,
        ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool,
    ):
        lake = root.sub("day")
        store = LakeStore(lake)
        # ---- setup: yesterday's snapshot, in a child process (see setup_day0) ----
        # The ground-truth diff (2 x 500k catalog items) runs on the other core meanwhile.
        churn_future = pool.submit(churn_counts, dict(config), 0, 1)
        with setup.step("d0_setup_child"):
            listing0_rows, records0, setup_walls = pool.submit(
                setup_day0, lake, emu.base_url, dict(config), d0, args.skip_d0_curate
            ).result()
        setup.walls.update(setup_walls)
        log.info("day 0: %s", records0)
        with setup.step("ground_truth_churn_wait"):
            churn = churn_future.result()
        log.info("ground truth day 0 -> 1: %s", churn)

        emu.config(day=1, modify_rate=args.modify_rate)
        emu.reset_stats()

        # ---- the measured day-1 run ----
        # ru_maxrss covers the whole process (setup included); read it before the kernel's mark
        # is reset. Memory the setup freed is handed back first: the real run starts fresh.
        setup_ru_maxrss = ru_maxrss_mb()
        release_memory()
        rss_before = rss_mb()
        tracker = PeakTracker()
        steps = Steps(tracker)
        with RssSampler(interval_s=0.02) as sampler:
            t0 = time.perf_counter()
            with steps.step("crawl_listing"):
                listing1 = run_listing(emu.base_url, store, d1)
            with steps.step("curate_datasets"):
                curate_datasets(store, d1)
            with steps.step("crawl_croissant"), crawl_phases(tracker) as phases:
                crawl = run_crawl(
                    emu.base_url,
                    store,
                    d1,
                    concurrency=concurrency,
                    budget=Budget(max_duration_s=None),
                    refresh_after_days=NO_STALE_REFRESH_DAYS,
                )
            # hf_croissant, hf_croissant_fields and hf_croissant_files in one pass: unchanged
            # documents' rows copied from day 0, the others parsed once for all three
            with steps.step("curate_croissant"):
                derived = curate_croissant_day(store, d1)
            curated = derived.writes["hf_croissant"]
            fields = derived.writes["hf_croissant_fields"]
            files = derived.writes["hf_croissant_files"]
            wall = time.perf_counter() - t0
            wall_with_tables = wall
            with steps.step("croissant_validation"):
                _, validation = validate_day(
                    store,
                    d1,
                    workers=args.validation_workers,
                    max_docs=args.validation_max_docs,
                )
        hwm = tracker.finish()
        stats = emu.stats()
        # the reference: huggingface_hub lists the same day of the same emulator (own process)
        with setup.step("hfh_listing"):
            hfh = run_huggingface_hub(emu.base_url, timeout_s=3600)

    croissant_requests = stats["by_endpoint"].get("croissant", 0)
    expected = churn["new"] + churn["changed"]
    peak = max(sampler.peak_mb, hwm or 0.0)
    out = {
        "datasets": listing1.rows,
        "datasets_day0": listing0_rows,
        "new": churn["new"],
        "changed": churn["changed"],
        "deleted": churn["deleted"],
        "croissant_requests": croissant_requests,
        "expected_requests": expected,
        "requests_equal_expected": croissant_requests == expected,
        "plan_counts": crawl.plan_counts,
        "fetched_today": crawl.fetched_today,
        "carried_forward": crawl.carried_forward,
        "pending": crawl.pending,
        "status_counts": crawl.status_counts,
        "hf_croissant_rows": curated.rows,
        "hf_croissant_copied": derived.carried,
        "hf_croissant_parsed": derived.parsed,
        # "fetch": unchanged documents recognised by their fetch (the crawl's file ids)
        "hf_croissant_compared_by": derived.compared_by,
        "hf_croissant_fields_rows": fields.rows,
        "hf_croissant_files_rows": files.rows,
        "validation": {
            "rows": validation.rows,
            "validated": validation.validated,
            "carried_forward": validation.carried_forward,
            "not_validated_over_budget": validation.not_validated,
            "timed_out": validation.timed_out,
            "workers": args.validation_workers,
            "docs_per_s": r(validation.docs_per_s, 1),
            "pool_startup_s": r(validation.pool_startup_s),
            "target_docs_per_s_min": VALIDATION_MIN_DOCS_PER_S,
        },
        "wall_s": r(wall),
        "hfh_listing_wall_s": r(hfh["wall_s"]),
        "hfh_listing_count": hfh["count"],
        "wall_vs_hfh_listing": r(wall / hfh["wall_s"]) if hfh["wall_s"] else None,
        "wall_with_fields_files_s": r(wall_with_tables),
        "steps_s": steps.rounded(),
        "crawl_phases": phase_summary(phases, steps.walls["crawl_croissant"]),
        "fetch_requests_per_s": r(croissant_requests / phases["fetch_s"], 1)
        if phases.get("fetch_s")
        else None,
        "concurrency": concurrency,
        "peak_rss_mb": r(peak, 1),
        "peak_rss_mb_sampled": r(sampler.peak_mb, 1),
        "peak_rss_mb_kernel_hwm": r(hwm, 1),
        "rss_before_mb": r(rss_before, 1),
        "peak_rss_increase_mb": r(peak - rss_before, 1),
        "peak_rss_mb_by_step": {k: r(v, 1) for k, v in tracker.peaks.items()},
        "ru_maxrss_mb_incl_setup": r(setup_ru_maxrss, 1),
        "emulator_requests": slim_stats(stats)["by_endpoint"],
        "setup_s": setup.rounded(),
        "ground_truth_churn_s": r(churn["wall_s"]),
        "targets": {
            "wall_vs_hfh_listing_max": DAY_WALL_VS_HFH_MAX,
            "peak_rss_mb_max": DAY_RSS_MAX_MB,
            "requests_equal_expected": True,
            "validation_docs_per_s_min": VALIDATION_MIN_DOCS_PER_S,
        },
    }
    out["target_met"] = bool(
        hfh["wall_s"]
        and wall / hfh["wall_s"] <= DAY_WALL_VS_HFH_MAX
        and peak <= DAY_RSS_MAX_MB
        and croissant_requests == expected
        and validation.docs_per_s >= VALIDATION_MIN_DOCS_PER_S
    )
    log.info(
        "day: %.1f s (steps %s), peak RSS %.0f MB, %d croissant requests (expected %d)",
        wall,
        steps.rounded(),
        peak,
        croissant_requests,
        expected,
    )
    return out


# -- the 1M day: memory does not grow with the Hub ----------------------------------------------


def day_in_child(args: argparse.Namespace, datasets: int, concurrency: int) -> dict[str, Any]:
    """The day scenario at `datasets` in a fresh process: each day's peak RSS starts from the
    same interpreter, with nothing left over from another scenario."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.croissant_day",
        "--scenario",
        "day",
        "--day-datasets",
        str(datasets),
        "--day-concurrency",
        str(concurrency),
        "--modify-rate",
        str(args.modify_rate),
        "--seed",
        str(args.seed),
        "--validation-workers",
        str(args.validation_workers),
        "--validation-max-docs",
        str(args.validation_max_docs),
    ]
    log.info("day at %d datasets in a child process: %s", datasets, " ".join(command[1:]))
    proc = subprocess.run(
        command, stdout=subprocess.PIPE, text=True, check=False, env=dict(os.environ)
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the {datasets}-dataset day failed with exit code {proc.returncode}")
    day = json.loads(proc.stdout.strip().splitlines()[-1])["day"]
    assert isinstance(day, dict)
    return day


def day_1m_summary(day: dict[str, Any], day_1m: dict[str, Any]) -> dict[str, Any]:
    ratio = day_1m["peak_rss_mb"] / day["peak_rss_mb"] if day["peak_rss_mb"] else None
    return {
        "datasets": day_1m["datasets"],
        "peak_rss_mb": day_1m["peak_rss_mb"],
        "peak_rss_mb_by_step": day_1m["peak_rss_mb_by_step"],
        "wall_s": day_1m["wall_s"],
        "wall_vs_hfh_listing": day_1m["wall_vs_hfh_listing"],
        "reference_day_datasets": day["datasets"],
        "reference_day_peak_rss_mb": day["peak_rss_mb"],
        "rss_vs_500k": r(ratio),
        "targets": {"rss_vs_500k_max": DAY_1M_RSS_RATIO_MAX},
        "target_met": ratio is not None and ratio <= DAY_1M_RSS_RATIO_MAX,
        "day": day_1m,
    }


# -- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.croissant_day", description=__doc__)
    parser.add_argument("--scenario", choices=["all", "throughput", "pacing", "day"], default="all")
    parser.add_argument("--throughput-datasets", type=int, default=20_000)
    parser.add_argument("--doc-kb", type=float, default=8.0, help="throughput document size")
    parser.add_argument(
        "--concurrency",
        default="32,64",
        help="HubClient concurrencies tried by throughput (comma-separated); the fastest is "
        "reported and used by day",
    )
    parser.add_argument("--pacing-datasets", type=int, default=2000)
    parser.add_argument("--quota", type=int, default=100)
    parser.add_argument("--window", type=float, default=3.0)
    parser.add_argument("--pacing-s", type=float, default=30.0, help="Budget.max_duration_s")
    parser.add_argument("--pacing-concurrency", type=int, default=8)
    parser.add_argument("--day-datasets", type=int, default=500_000)
    parser.add_argument(
        "--day-1m",
        action="store_true",
        help="also run a day of --day-1m-datasets (each day in its own process) and report "
        "day_1m.rss_vs_500k = its peak RSS / the --day-datasets day's",
    )
    parser.add_argument("--day-1m-datasets", type=int, default=1_000_000)
    parser.add_argument("--modify-rate", type=float, default=0.03)
    parser.add_argument(
        "--day-concurrency",
        type=int,
        default=0,
        help="HubClient concurrency of the day run; 0 = throughput's pick (64 if not run)",
    )
    parser.add_argument(
        "--skip-d0-curate", action="store_true", help="skip hf_croissant for day 0 (setup)"
    )
    parser.add_argument("--validation-workers", type=int, default=2)
    parser.add_argument(
        "--validation-max-docs",
        type=int,
        default=3000,
        help="documents the day's croissant_validation validates at most (the rest: later runs)",
    )
    add_common_args(parser)
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in str(args.concurrency).split(",") if c.strip()]
    setup_logging()

    which = {"throughput", "pacing", "day"} if args.scenario == "all" else {args.scenario}
    result: dict[str, Any] = {"benchmark": "croissant_day"}
    started = time.perf_counter()
    with lake_root(args) as root:
        throughput = scenario_throughput(args, root) if "throughput" in which else None
        pacing = scenario_pacing(args, root) if "pacing" in which else None
        day_concurrency = args.day_concurrency or (
            throughput["concurrency_chosen"] if throughput else 64
        )
        day_1m = None
        if "day" in which and args.day_1m:
            day = day_in_child(args, args.day_datasets, day_concurrency)
            day_1m = day_1m_summary(day, day_in_child(args, args.day_1m_datasets, day_concurrency))
        else:
            day = scenario_day(args, root, day_concurrency) if "day" in which else None
    result["throughput"] = throughput
    result["pacing"] = pacing
    result["day"] = day
    result["day_1m"] = day_1m
    result["targets_met"] = {
        name: (value["target_met"] if value is not None else None)
        for name, value in (
            ("throughput", throughput),
            ("pacing", pacing),
            ("day", day),
            ("day_1m", day_1m),
        )
    }
    result["total_wall_s"] = r(time.perf_counter() - started)
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
