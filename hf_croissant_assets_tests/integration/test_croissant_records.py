"""Croissant records: incremental, complete every day, budgeted, resumable, faults as rows."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dagster import materialize

from hf_croissant_assets.curate.tables import curate_croissant
from hf_croissant_assets.hub.client import HubClient
from hf_croissant_assets.ingest.croissant_crawl import Budget, crawl_croissant
from hf_croissant_assets.ingest.listing_crawl import snapshot_listing
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import HF_CROISSANT, strip_field_metadata
from hf_croissant_assets_tests.hub_emulator import running_emulator
from hf_croissant_assets_tests.support import (
    FAST_RETRY,
    croissant_records,
    duckdb_tables,
    hf_croissant,
    hf_dataset_listing,
    hf_datasets,
    make_resources,
)

pytestmark = pytest.mark.slow

DAY1, DAY2 = "2026-11-19", "2026-11-20"
ASSETS = [hf_dataset_listing, croissant_records, hf_datasets, hf_croissant, duckdb_tables]


def _day(emulator, lake_dir, date, **kwargs):
    result = materialize(
        ASSETS,
        partition_key=date,
        resources=make_resources(
            emulator.base_url, lake_dir, now=f"{date}T12:00:00+00:00", **kwargs
        ),
        raise_on_error=False,
    )
    assert result.success
    return {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }


def _by_dataset(store: LakeStore, table: str, date: str) -> dict[str, dict]:
    rows = store.read_table(table, date).to_pylist()
    out = {r["dataset"]: r for r in rows}
    assert len(out) == len(rows), "duplicate dataset rows"
    return out


def _churn(emulator, day_a: int, day_b: int) -> tuple[set, set, set]:
    a = {d["id"]: (d["sha"], d["lastModified"]) for d in emulator.catalog(day_a)}
    b = {d["id"]: (d["sha"], d["lastModified"]) for d in emulator.catalog(day_b)}
    new = set(b) - set(a)
    deleted = set(a) - set(b)
    changed = {i for i in set(a) & set(b) if a[i] != b[i]}
    return new, deleted, changed


def test_two_days_fetch_only_new_and_changed_and_stay_complete(emulator, lake_dir, store):
    meta1 = _day(emulator, lake_dir, DAY1)
    assert meta1["croissant_records"]["fetched_today"].value == len(emulator.dataset_ids())
    day1 = _by_dataset(store, "croissant_records", DAY1)

    emulator.set_day(1)
    emulator.reset_stats()
    new, deleted, changed = _churn(emulator, 0, 1)
    assert new and deleted and changed
    meta2 = _day(emulator, lake_dir, DAY2)

    # day 2 fetched exactly the new and the changed datasets, once each
    fetched = emulator.stats["croissant_fetches"]
    assert set(fetched) == new | changed
    assert set(fetched.values()) == {1}
    assert meta2["croissant_records"]["fetched_today"].value == len(new | changed)

    # and still has one row per listed dataset; deleted ones are gone
    day2 = _by_dataset(store, "croissant_records", DAY2)
    listed = set(emulator.dataset_ids())
    assert set(day2) == listed
    assert not deleted & set(day2)
    carried = listed - new - changed
    for dataset in carried:  # carried forward untouched, original request_time kept
        assert day2[dataset] == day1[dataset]
    for dataset in changed:
        assert day2[dataset]["request_time"] > day1[dataset]["request_time"]
        assert day2[dataset]["sha"] == emulator.dataset(dataset)["sha"]
        if day2[dataset]["status"] == 200:
            assert day2[dataset]["croissant"] == emulator.croissant_document(dataset)

    # the curated table matches, with typed columns from the documents
    curated = _by_dataset(store, "hf_croissant", DAY2)
    assert set(curated) == listed
    schema = pq.read_schema(store.part_path("hf_croissant", DAY2))
    assert strip_field_metadata(schema) == strip_field_metadata(HF_CROISSANT)
    ok = next(r for r in curated.values() if r["status"] == 200)
    assert ok["name"] and ok["record_set_count"] >= 1 and ok["parse_error"] is None
    missing = next(r for r in curated.values() if r["status"] == 400)
    assert missing["name"] is None and missing["parse_error"] is None


def test_budget_leaves_the_rest_pending_and_the_next_day_continues(emulator, lake_dir, store):
    listed1 = emulator.dataset_ids()
    meta = _day(emulator, lake_dir, DAY1, max_requests=1000)
    assert "max_requests (1000)" in meta["croissant_records"]["budget_stopped_by"].value
    day1 = _by_dataset(store, "croissant_records", DAY1)
    assert set(day1) == set(listed1)  # complete anyway
    fetched1 = {d for d, r in day1.items() if r["status"] is not None}
    assert len(fetched1) == 1000
    pending1 = set(listed1) - fetched1
    assert all(day1[d]["request_time"] is None for d in pending1)

    emulator.set_day(1)
    emulator.reset_stats()
    new, _, changed = _churn(emulator, 0, 1)
    _day(emulator, lake_dir, DAY2)
    listed2 = set(emulator.dataset_ids())
    expected = (pending1 & listed2) | new | (changed & fetched1)
    assert set(emulator.stats["croissant_fetches"]) == expected
    day2 = _by_dataset(store, "croissant_records", DAY2)
    assert set(day2) == listed2 and all(r["status"] is not None for r in day2.values())


def test_never_fetched_come_before_changed_before_stale(emulator, store):
    from hf_croissant_assets.ingest.plan import plan_day

    asyncio.run(_crawl(emulator, store, DAY1, Budget(max_requests=100, max_duration_s=None)))
    emulator.set_day(1)
    asyncio.run(_listing(emulator, store, DAY2))
    plan = plan_day(store, DAY2, refresh_after_days=0)
    priorities = plan.candidates["priority"].to_list()
    assert priorities == sorted(priorities)
    assert plan.counts["never_fetched"] > 2000 and plan.counts["stale"] > 0


async def _listing(emulator, store, date):
    async with HubClient(emulator.base_url, retry=FAST_RETRY) as client:
        await snapshot_listing(client, store, date)


async def _crawl(emulator, store, date, budget=None, concurrency=8):
    async with HubClient(emulator.base_url, retry=FAST_RETRY, concurrency=concurrency) as client:
        await snapshot_listing(client, store, date)
        return await crawl_croissant(
            client, store, date, budget=budget or Budget(max_duration_s=None), batch_size=100
        )


def test_every_outcome_is_a_row(store):
    with running_emulator(datasets=400, seed=11) as emu:
        ids = emu.dataset_ids()
        status = {d: emu.croissant_status(d) for d in ids}
        gone, broken = ids[0], ids[1]
        emu.update_config(fail_always={gone: 404, broken: 503})
        result = asyncio.run(_crawl(emu, store, DAY1))
        assert result.rows == len(ids)
        rows = _by_dataset(store, "croissant_records", DAY1)
    assert rows[gone]["status"] == 404 and "404" in rows[gone]["reason"]
    assert rows[broken]["status"] == 503 and rows[broken]["reason"].startswith("gave up after 5")
    statuses = Counter(r["status"] for r in rows.values())
    assert {200, 400, 401, 404, 503} <= set(statuses)
    for d, r in rows.items():
        if d not in (gone, broken):
            assert r["status"] == status[d]
            assert (r["croissant"] is not None) == (r["status"] == 200)
    assert store.staging_files("croissant", DAY1) == []


def test_malformed_200_body_is_a_row_with_a_reason(store):
    with running_emulator(datasets=30, seed=5) as emu:
        first = emu.dataset_ids()[0]
        emu.inject("croissant", *(["nonjson"] * 5))  # every attempt of the first dataset
        asyncio.run(_crawl(emu, store, DAY1, concurrency=1))
    curate_croissant(store, DAY1)
    row = _by_dataset(store, "hf_croissant", DAY1)[first]
    # not a usable answer: a null status (never "available"), the reason, fetched again later
    assert row["status"] is None and row["croissant"] is None
    assert "malformed JSON body" in row["reason"]


KILL_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from hf_croissant_assets.ingest.croissant_crawl import Budget, crawl_croissant
    from hf_croissant_assets.hub.client import HubClient, RetryPolicy
    from hf_croissant_assets.lake.store import LakeStore

    async def main(endpoint, lake, date):
        store = LakeStore(lake)
        async with HubClient(endpoint, retry=RetryPolicy(3, 0.01, 0.05, 10), concurrency=4) as c:
            await crawl_croissant(c, store, date, budget=Budget(max_duration_s=None), batch_size=100)

    asyncio.run(main(*sys.argv[1:]))
    """
)


def test_sigkill_mid_run_then_restart_completes_without_duplicates_or_refetch(tmp_path):
    lake = str(tmp_path / "lake")
    store = LakeStore(lake)
    with running_emulator(datasets=1500, seed=3, latency_ms=8) as emu:
        asyncio.run(_listing(emu, store, DAY1))
        emu.reset_stats()
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
        proc = subprocess.Popen(
            [sys.executable, "-c", KILL_SCRIPT, emu.base_url, lake, DAY1], env=env
        )
        try:
            deadline = time.monotonic() + 60
            while emu.stats["by_endpoint"].get("croissant", 0) < 450:
                assert proc.poll() is None, "the crawl ended before it could be killed"
                assert time.monotonic() < deadline, "the crawl did not make progress"
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        before = dict(emu.stats["croissant_fetches"])
        assert 0 < len(before) < 1500
        assert store.dates("croissant_records") == []  # nothing published by the killed run

        # restart (in this process) and finish
        asyncio.run(_crawl_only(emu, store, DAY1))
        after = emu.stats["croissant_fetches"]
        rows = _by_dataset(store, "croissant_records", DAY1)

    assert set(rows) == set(emu.dataset_ids())
    assert all(r["status"] is not None for r in rows.values())
    refetched = [d for d, n in after.items() if n > 1]
    # Only requests in flight at the instant of the kill (<= concurrency 4) may be sent again:
    # every answer received before the kill was kept.
    assert len(refetched) <= 4, refetched
    assert sum(after.values()) <= 1500 + 4
    assert store.staging_files("croissant", DAY1) == []


async def _crawl_only(emu, store, date):
    async with HubClient(emu.base_url, retry=FAST_RETRY, concurrency=8) as client:
        return await crawl_croissant(client, store, date, budget=Budget(max_duration_s=None))
