"""Benchmark: a new lake's first complete day, with and without bootstrapping from a published day.

    python -m benchmarks.bootstrap --datasets 500000
    python -m benchmarks.bootstrap --datasets 20000          # quick

Against the Hub emulator in a subprocess (it also hosts the published dataset repo):

1. Lake A, day 0: the real listing (HTTP), then `croissant_records` written from the emulator's
   ground truth as if every document had been fetched (no 500k requests), curated, and published
   with `publish_day` (the real huggingface_hub client: whoami, create repo, pre-upload, commit)
   -> the bytes published per day.
2. The emulator moves to day 1 (churn: new, modified, deleted datasets).
3. Lake B (new), day 1: the listing, then the plan *without* bootstrap (every listed dataset is
   "never fetched": the requests a new lake needs for its first complete day), then
   `bootstrap_croissant_records` from the published repo and the plan again, then the real
   `crawl_croissant`: the Croissant requests counted by the emulator are the requests a new lake
   needs *with* bootstrap; they must equal new + changed (ground truth, computed in a child
   process).

Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from benchmarks._common import (
    EmulatorProcess,
    Steps,
    add_common_args,
    emit,
    lake_root,
    log,
    r,
    setup_logging,
    slim_stats,
    today_utc,
    yesterday_utc,
)
from benchmarks._groundtruth import churn_counts, write_records_from_ground_truth
from benchmarks.croissant_day import emulator_args, run_crawl, run_listing
from hf_croissant_assets.curate.changes import compute_changes
from hf_croissant_assets.curate.tables import (
    curate_croissant,
    curate_croissant_fields,
    curate_croissant_files,
    curate_datasets,
)
from hf_croissant_assets.curate.validation import validate_day
from hf_croissant_assets.ingest.croissant_crawl import Budget
from hf_croissant_assets.ingest.plan import plan_day
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.share.bootstrap import bootstrap_croissant_records
from hf_croissant_assets.share.publish import publish_day

REPO = "hf-org/hf-datasets-croissant"
WRITE_TOKEN = "hf_benchmark_write_token"  # an emulator token, not a real one
NO_STALE_REFRESH_DAYS = 36_500.0  # nothing is stale: day 1 fetches new + changed only
#: Requests per 5-minute window by account type (the Hub's published rate limits), and the share of a day's run
#: the default budget may spend (95% of the quota over HF_CROISSANT_MAX_DURATION_S = 18 h).
QUOTAS = {"anonymous": 500, "free": 1000, "pro": 2500}
WINDOW_S, RUN_S, QUOTA_SHARE = 300.0, 64_800.0, 0.95


def days_to_complete(requests: int) -> dict[str, int]:
    """Daily runs a lake needs before its day is complete, at each quota's default budget."""
    out = {}
    for name, quota in QUOTAS.items():
        per_run = int(quota / WINDOW_S * RUN_S * QUOTA_SHARE)
        out[name] = max(1, math.ceil(requests / per_run)) if requests else 0
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bootstrap", description=__doc__)
    parser.add_argument("--datasets", type=int, default=500_000)
    parser.add_argument("--modify-rate", type=float, default=0.03)
    parser.add_argument("--concurrency", type=int, default=64)
    add_common_args(parser)
    args = parser.parse_args(argv)
    setup_logging()

    config: dict[str, Any] = {
        "datasets": args.datasets,
        "seed": args.seed,
        "modify_rate": args.modify_rate,
    }
    d0, d1 = yesterday_utc(), today_utc()
    steps = Steps()
    started = time.perf_counter()
    emu_args = [*emulator_args(config), "--write-token", WRITE_TOKEN, "--token-org", "hf-org"]
    with (
        lake_root(args) as root,
        EmulatorProcess(emu_args) as emu,
        ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool,
    ):
        churn_future = pool.submit(churn_counts, dict(config), 0, 1)
        store_a = LakeStore(root.sub("lake_a"))
        store_b = LakeStore(root.sub("lake_b"))

        # ---- lake A: day 0, complete, published ----
        with steps.step("a_d0_listing"):
            listing0 = run_listing(emu.base_url, store_a, d0)
        with steps.step("a_d0_records_from_ground_truth"):
            records0 = write_records_from_ground_truth(
                store_a, d0, dict(config, day=0), day=0, request_time=f"{d0}T12:00:00.000Z"
            )
        with steps.step("a_d0_curate"):
            curate_datasets(store_a, d0)
            curate_croissant(store_a, d0)
        with steps.step("a_d0_derive"):  # every table a day publishes (no document validated)
            compute_changes(store_a, d0)
            curate_croissant_fields(store_a, d0)
            curate_croissant_files(store_a, d0)
            validate_day(store_a, d0, max_docs=0)
        emu.reset_stats()
        with steps.step("a_d0_publish"):
            published = publish_day(
                store_a, d0, repo_id=REPO, token=WRITE_TOKEN, endpoint=emu.base_url
            )
        publish_stats = emu.stats()["repo"]
        log.info("published %s: %s", d0, published.files)

        # ---- the Hub moves on ----
        emu.config(day=1)

        # ---- lake B: new, day 1 ----
        with steps.step("b_d1_listing"):
            listing1 = run_listing(emu.base_url, store_b, d1)
        with steps.step("b_d1_plan_without_bootstrap"):
            plan_without = plan_day(store_b, d1, refresh_after_days=NO_STALE_REFRESH_DAYS)
        emu.reset_stats()
        with steps.step("b_d1_bootstrap"):
            boot = bootstrap_croissant_records(
                store_b, d1, repo_id=REPO, endpoint=emu.base_url, token=None
            )
        bootstrap_stats = emu.stats()["repo"]
        with steps.step("b_d1_plan_with_bootstrap"):
            plan_with = plan_day(store_b, d1, refresh_after_days=NO_STALE_REFRESH_DAYS)
        emu.reset_stats()
        with steps.step("b_d1_crawl"):
            crawl = run_crawl(
                emu.base_url,
                store_b,
                d1,
                concurrency=args.concurrency,
                budget=Budget(max_duration_s=None),
                refresh_after_days=NO_STALE_REFRESH_DAYS,
            )
        crawl_stats = slim_stats(emu.stats())
        with steps.step("ground_truth_churn_wait"):
            churn = churn_future.result()

    without = plan_without.candidates.height
    with_bootstrap = crawl_stats["by_endpoint"].get("croissant", 0)
    expected = churn["new"] + churn["changed"]
    result = {
        "benchmark": "bootstrap",
        "datasets_day0": listing0.rows,
        "datasets_day1": listing1.rows,
        "churn_day0_to_day1": {k: churn[k] for k in ("new", "changed", "deleted")},
        "first_complete_day_croissant_requests": {
            "without_bootstrap": without,
            "with_bootstrap": with_bootstrap,
            "saved": without - with_bootstrap,
            "ratio": r(with_bootstrap / without, 4) if without else None,
        },
        "with_bootstrap_equals_new_plus_changed": with_bootstrap == expected,
        "expected_new_plus_changed": expected,
        "daily_runs_until_complete": {
            "without_bootstrap": days_to_complete(without),
            "with_bootstrap": days_to_complete(with_bootstrap),
            "budget_basis": f"{QUOTA_SHARE:.0%} of each quota over {RUN_S / 3600:g} h per run",
        },
        "plan_without_bootstrap": plan_without.counts,
        "plan_with_bootstrap": plan_with.counts,
        "day1_after_bootstrap": {
            "rows": crawl.rows,
            "fetched_today": crawl.fetched_today,
            "carried_forward": crawl.carried_forward,
            "pending": crawl.pending,
            "status_counts": crawl.status_counts,
        },
        "published_day": {
            "date": d0,
            "bytes_per_day": published.bytes_published,
            "bytes_by_file": published.files,
            "card_bytes": published.files.get("README.md"),
            "rows": published.rows,
            "commit": published.commit,
            "emulator_repo_stats": publish_stats,
        },
        "bootstrap": {
            **{k: v for k, v in boot.as_metadata().items() if k not in ("note", "files")},
            "download_requests": bootstrap_stats["downloads"],
            "bytes_downloaded": bootstrap_stats["bytes_downloaded"],
        },
        "day0_records_from_ground_truth": {
            k: records0[k] for k in ("rows", "bytes", "status_counts")
        },
        "steps_s": steps.rounded(),
        "total_wall_s": r(time.perf_counter() - started),
    }
    log.info(
        "first complete day: %d Croissant requests without bootstrap, %d with (expected %d); "
        "%d bytes published per day",
        without,
        with_bootstrap,
        expected,
        published.bytes_published,
    )
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
