"""Operating it: the daily schedule, honest backfills of past days, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dagster import AssetKey, build_schedule_context, instance_for_test, materialize

from hf_croissant_assets.hub.client import HubClient
from hf_croissant_assets.ingest.croissant_crawl import Budget, crawl_croissant
from hf_croissant_assets.ingest.listing_crawl import snapshot_listing
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets_tests.hub_emulator import running_emulator
from hf_croissant_assets_tests.support import FAST_RETRY

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
D1, D2, D3 = "2026-11-18", "2026-11-19", "2026-11-20"


def test_schedule_requests_today_once_and_skips_a_day_already_done():
    from datetime import date

    from hf_croissant_assets.definitions import build_definitions
    from hf_croissant_assets.defs.schedules import DONE_MARKER
    from hf_croissant_assets.settings import Settings

    defs = build_definitions(Settings.build(start_date=date(2026, 1, 1)))  # a past tick's day
    daily_snapshot_schedule = defs.resolve_schedule_def("daily_snapshot_schedule")
    assert daily_snapshot_schedule.default_status.value == "RUNNING"
    assert daily_snapshot_schedule.execution_timezone == "UTC"
    repo = defs.get_repository_def()
    tick = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
    with instance_for_test() as instance:
        with build_schedule_context(
            instance=instance, scheduled_execution_time=tick, repository_def=repo
        ) as ctx:
            (request,) = daily_snapshot_schedule.evaluate_tick(ctx).run_requests
        assert request.partition_key == "2026-11-21"
        assert request.run_key == "daily_snapshot-2026-11-21"

        # the day gets produced (here: a stand-in materialization of the marker asset)
        from dagster import AssetMaterialization

        instance.report_runless_asset_event(
            AssetMaterialization(asset_key=DONE_MARKER, partition="2026-11-21")
        )
        with build_schedule_context(
            instance=instance, scheduled_execution_time=tick, repository_def=repo
        ) as ctx:
            result = daily_snapshot_schedule.evaluate_tick(ctx)
        assert not result.run_requests
        assert "already materialized" in result.skip_message


def _raw_day(emu, store, date):
    async def go():
        async with HubClient(emu.base_url, retry=FAST_RETRY) as client:
            await snapshot_listing(client, store, date)
            await crawl_croissant(client, store, date, budget=Budget(max_duration_s=None))

    asyncio.run(go())


def _backfill(tmp_path: Path, lake: Path, start: str, end: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    env |= {
        "HF_CROISSANT_LAKE": str(lake),
        "HF_CROISSANT_DUCKDB": str(tmp_path / "db.duckdb"),
        "DAGSTER_HOME": str(home),
        "HF_ENDPOINT": "http://127.0.0.1:9",  # the backfill must never need the Hub
    }
    return subprocess.run(
        [sys.executable, "-m", "hf_croissant_assets.cli_backfill", "--from", start, "--to", end],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_backfill_produces_days_with_raw_data_and_reports_the_others(tmp_path):
    lake = tmp_path / "lake"
    store = LakeStore(str(lake))
    with running_emulator(datasets=300, seed=9) as emu:
        _raw_day(emu, store, D1)
        emu.set_day(1)
        _raw_day(emu, store, D2)
        emu.reset_stats()
        proc = _backfill(tmp_path, lake, D1, D3)
        assert emu.stats["requests"] == 0  # no Hub traffic during a backfill
    assert proc.returncode == 1, proc.stderr[-3000:]  # some days missing; 2 is for bad settings
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["produced"] == [D1, D2]
    assert list(summary["not_produced"]) == [D3]
    assert "no raw_listing partition stored for 2026-11-20" in summary["not_produced"][D3]
    assert "can only be fetched for today" in summary["not_produced"][D3]
    assert f"NOT produced {D3}" in proc.stderr
    for day in (D1, D2):
        for table in ("hf_datasets", "hf_croissant"):
            assert store.exists(table, day)
    assert not store.exists("hf_datasets", D3)
    first = {
        (t, d): pq.read_table(store.part_path(t, d))
        for t in ("hf_datasets", "hf_croissant")
        for d in (D1, D2)
    }

    # re-running the same backfill changes nothing
    again = _backfill(tmp_path, lake, D1, D3)
    assert json.loads(again.stdout.strip().splitlines()[-1]) == summary
    for (table, day), before in first.items():
        assert pq.read_table(store.part_path(table, day)).equals(before)
    assert sorted(p.name for p in (lake / "hf_datasets").iterdir()) == [f"date={D1}", f"date={D2}"]


def test_backfill_rejects_bad_ranges(tmp_path):
    proc = _backfill(tmp_path, tmp_path / "lake", "2026-11-20", "2026-11-18")
    assert proc.returncode == 2 and "is before --from" in proc.stderr
    proc = _backfill(tmp_path, tmp_path / "lake", "2026-11-31", "2026-12-01")
    assert (
        proc.returncode == 2
        and "--from: partition key '2026-11-31' is not a valid date" in proc.stderr
    )


def test_fetching_assets_refuse_a_past_day_in_a_full_run(emulator, lake_dir):
    from hf_croissant_assets_tests.support import (
        croissant_records,
        hf_croissant,
        hf_dataset_listing,
        hf_datasets,
        make_resources,
    )

    result = materialize(
        [hf_dataset_listing, croissant_records, hf_datasets, hf_croissant],
        partition_key=D1,
        resources=make_resources(emulator.base_url, lake_dir, now="2026-11-21T09:00:00+00:00"),
        raise_on_error=False,
    )
    assert not result.success
    assert emulator.stats["requests"] == 0
    assert not result.get_asset_materialization_events()
    assert AssetKey("hf_dataset_listing") not in {
        e.asset_key for e in result.get_asset_materialization_events()
    }


def test_dagster_job_backfill_through_the_daemon(tmp_path):
    """`dagster job backfill -j rederive --from A --to B`, executed by dagster-daemon as a user
    would: days with raw data succeed, the day without fails with the reason in its run."""
    from dagster import DagsterInstance, DagsterRunStatus

    lake = tmp_path / "lake"
    store = LakeStore(str(lake))
    with running_emulator(datasets=200, seed=5) as emu:
        _raw_day(emu, store, D1)
        emu.set_day(1)
        _raw_day(emu, store, D2)
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env |= {
        "DAGSTER_HOME": str(home),
        "HF_CROISSANT_LAKE": str(lake),
        "HF_CROISSANT_DUCKDB": str(tmp_path / "db.duckdb"),
        "HF_ENDPOINT": "http://127.0.0.1:9",
    }
    bin_dir = Path(sys.executable).parent
    submit = subprocess.run(
        [str(bin_dir / "dagster"), "job", "backfill", "-m", "hf_croissant_assets.definitions",
         "-j", "rederive", "--from", D1, "--to", D3, "--noprompt"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert submit.returncode == 0, submit.stderr[-2000:]
    assert "Launched backfill" in submit.stdout + submit.stderr

    daemon = subprocess.Popen(
        [str(bin_dir / "dagster-daemon"), "run", "-m", "hf_croissant_assets.definitions"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while True:
            with DagsterInstance.from_config(str(home)) as instance:
                runs = instance.get_runs()
                done = [r for r in runs if r.is_finished]
                if len(runs) == 3 and len(done) == 3:
                    status = {r.tags["dagster/partition"]: r.status for r in runs}
                    failure = next(
                        e.dagster_event.step_failure_data.error
                        for r in runs
                        if r.tags["dagster/partition"] == D3
                        for e in instance.all_logs(r.run_id)
                        if e.dagster_event and e.dagster_event.is_step_failure
                    )
                    break
            assert time.monotonic() < deadline, f"backfill not finished: {[r.status for r in runs]}"
            time.sleep(2)
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
    assert status == {
        D1: DagsterRunStatus.SUCCESS,
        D2: DagsterRunStatus.SUCCESS,
        D3: DagsterRunStatus.FAILURE,
    }
    while (failure.cause or failure.context) is not None:
        failure = failure.cause or failure.context
    assert "no raw_listing partition stored for 2026-11-20" in failure.message
    assert store.exists("hf_croissant", D2) and not store.exists("hf_datasets", D3)
