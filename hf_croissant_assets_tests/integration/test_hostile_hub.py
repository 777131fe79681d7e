"""The client against the hostile Hub (`hub_emulator.hostile`): every answer is contained."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pyarrow as pa
import pytest

from hf_croissant_assets.hub.client import HubClient, HubError, RetryPolicy, invalid_repo_id
from hf_croissant_assets.hub.ratelimit import (
    RateLimitPacer,
    parse_ratelimit_headers,
    parse_retry_after,
)
from hf_croissant_assets.ingest.croissant_crawl import Budget, crawl_croissant, journal_dir
from hf_croissant_assets.ingest.listing_crawl import ListingRefused, snapshot_listing
from hf_croissant_assets.ingest.plan import trustworthy_base
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import CROISSANT_RECORDS
from hf_croissant_assets_tests.hub_emulator import running_emulator

pytestmark = pytest.mark.slow

D1, D2, D3 = "2026-11-18", "2026-11-19", "2026-11-20"
NO_RETRY = RetryPolicy(max_retries=0, backoff_base_s=0.0, backoff_max_s=0.0, timeout_s=20.0)
FAST = RetryPolicy(max_retries=2, backoff_base_s=0.01, backoff_max_s=0.02, timeout_s=20.0)


def _fetch_one(emu, kind: str, **client_kwargs):
    dataset = next(d for d in emu.dataset_ids() if emu.croissant_status(d) == 200)
    emu.inject("croissant", kind)

    async def go():
        async with HubClient(emu.base_url, retry=NO_RETRY, **client_kwargs) as client:
            return await client.fetch_croissant(dataset), client

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("deep_json", "RecursionError"),
        ("gzip_bomb", "body larger than"),
        ("html200", "malformed JSON body"),
        ("json_list", "not a object"),
        ("bad_link", "malformed Link header"),
    ],
)
def test_one_hostile_answer_is_a_row_with_a_reason_never_an_exception(kind, reason):
    with running_emulator(datasets=20, seed=3) as emu:
        answer, _ = _fetch_one(emu, kind, max_body_bytes=1024 * 1024)
    assert answer.status is None and answer.body is None
    assert reason in answer.reason


def test_absurd_ratelimit_headers_are_clamped_not_fatal():
    with running_emulator(datasets=20, seed=3) as emu:
        answer, _ = _fetch_one(emu, "huge_ratelimit")
        assert answer.status == 200 and answer.body
        answer, _ = _fetch_one(emu, "stall_ratelimit", max_pause_s=5)
        assert answer.status == 200
    state = parse_ratelimit_headers({"RateLimit": '"api";r=0;t=999999999'}, max_pause_s=5)
    assert state.remaining == 0 and state.reset_in == 5
    huge = "9" * 400
    state = parse_ratelimit_headers({"RateLimit": f'"api";r={huge};t={huge}'})
    assert state.remaining is None and state.reset_in is None


def test_retry_after_seconds_and_http_dates_are_bounded():
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert parse_retry_after("86400", max_pause_s=900) == 900
    assert parse_retry_after("7") == 7
    in_30s = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(in_30s, now=now) == pytest.approx(30)
    in_a_day = format_datetime(now + timedelta(days=1), usegmt=True)
    assert parse_retry_after(in_a_day, max_pause_s=60, now=now) == 60
    assert parse_retry_after(format_datetime(now - timedelta(days=1), usegmt=True), now=now) == 0
    assert parse_retry_after("9" * 400) is None and parse_retry_after("soon") is None
    pacer = RateLimitPacer(max_pause_s=2)
    assert pacer.rate_limited(86400) <= 2.25


def test_a_day_long_retry_after_costs_at_most_the_maximum_pause():
    with running_emulator(datasets=20, seed=3) as emu:
        answer, client = _fetch_one(emu, "retry_after_day", max_pause_s=1)
        # a 429 is an answer; the pacer was paused for at most max_pause_s (+ jitter)
        assert answer.status == 429
        assert client.pacer._paused_until - client.pacer._clock() <= 1.25
        answer, client = _fetch_one(emu, "retry_after_date", max_pause_s=1)
        assert answer.status == 429


def test_the_deadline_holds_during_a_long_wait(store):
    """A header announcing no quota for a long time: the crawl stops at its deadline."""
    with running_emulator(datasets=40, seed=3) as emu:

        async def go():
            async with HubClient(emu.base_url, retry=FAST, max_pause_s=600) as client:
                await snapshot_listing(client, store, D1)
                emu.inject("croissant", "stall_ratelimit")
                return await crawl_croissant(
                    client, store, D1, budget=Budget(max_duration_s=2), batch_size=10
                )

        result = asyncio.run(go())
    assert result.stopped_by and "max_duration_s" in result.stopped_by
    assert result.rows == 40  # every listed dataset has its row (fetched or pending)


@pytest.mark.parametrize("kind", ["link_loop", "bad_link"])
def test_a_listing_cursor_that_loops_or_breaks_stops_with_a_clear_error(store, kind):
    with running_emulator(datasets=2500, seed=3) as emu:
        emu.inject("list", kind, *([kind] * 5 if kind == "bad_link" else []))

        async def go():
            async with HubClient(emu.base_url, retry=FAST) as client:
                await snapshot_listing(client, store, D1)

        with pytest.raises(HubError, match=r"loops|malformed Link"):
            asyncio.run(go())
        assert emu.stats["by_endpoint"]["list"] <= 6
    assert not store.exists("raw_listing", D1)


def test_listing_page_cap():
    with running_emulator(datasets=2500, seed=3) as emu:

        async def go():
            async with HubClient(emu.base_url, retry=FAST) as client:
                return [p async for p in client.iter_listing(limit=100, max_pages=3)]

        with pytest.raises(HubError, match="exceeds 3 pages"):
            asyncio.run(go())


def _listing_day(emu, store, date, **kwargs):
    async def go():
        async with HubClient(emu.base_url, retry=FAST) as client:
            return await snapshot_listing(client, store, date, **kwargs)

    return asyncio.run(go())


@pytest.mark.parametrize("keep", [0.0, 0.5])
def test_an_empty_or_shrunken_listing_is_refused_before_it_is_written(store, keep):
    with running_emulator(datasets=1000, seed=3) as emu:
        _listing_day(emu, store, D1)
        emu.update_config(listing_keep=keep)
        with pytest.raises(ListingRefused, match="refused"):
            _listing_day(emu, store, D2)
        assert not store.exists("raw_listing", D2)
        assert store.num_rows("raw_listing", D1) == 1000
        assert store.staging_files("listing", D2) == []
        if keep:  # a real mass deletion: accepted with the explicit override
            result = _listing_day(emu, store, D2, override=True)
            assert result.write.rows == len(emu.listed_ids())


def test_planning_never_takes_an_empty_or_truncated_snapshot_as_its_base(store):
    def records(n: int) -> pa.Table:
        return pa.Table.from_pydict(
            {name: [None] * n for name in CROISSANT_RECORDS.names}
            | {"dataset": [f"org/d{i}" for i in range(n)]},
            schema=CROISSANT_RECORDS,
        )

    store.write_table("croissant_records", D1, records(100))
    store.write_table("croissant_records", D2, records(0))  # poisoned: an empty day
    assert trustworthy_base(store, D3) == D1
    store.write_table("croissant_records", D2, records(30))  # truncated
    assert trustworthy_base(store, D3) == D1
    store.write_table("croissant_records", D2, records(95))
    assert trustworthy_base(store, D3) == D2
    store.write_table("croissant_records", D3, records(96))  # the day itself, complete
    assert trustworthy_base(store, D3) == D3


def test_dot_segment_ids_become_rows_with_a_reason_and_no_request(store):
    bad = ("org/../victim", "../../api/x", "a--b/c", "org/name.git")
    assert all(invalid_repo_id(i) for i in bad)
    assert invalid_repo_id("org/ok-name_1.0") is None and invalid_repo_id("squad") is None
    with running_emulator(datasets=30, seed=3, extra_ids=bad) as emu:

        async def go():
            async with HubClient(emu.base_url, retry=FAST) as client:
                await snapshot_listing(client, store, D1)
                return await crawl_croissant(client, store, D1, budget=Budget())

        result = asyncio.run(go())
        paths = [entry[2] for entry in emu.request_log]
    rows = {r["dataset"]: r for r in store.read_table("croissant_records", D1).to_pylist()}
    assert result.rows == 30 + len(bad)
    for dataset in bad:
        assert rows[dataset]["status"] is None
        assert "not requested" in rows[dataset]["reason"]
    assert not any(".." in p or "victim" in p or "a--b" in p for p in paths)


def test_private_datasets_are_listed_to_a_token_holder_and_excluded_by_default(store):
    with running_emulator(datasets=400, seed=3, private_rate=0.1) as emu:
        private = emu.private_ids()
        assert private and len(emu.listed_ids(token=True)) == 400
        assert len(emu.listed_ids()) == 400 - len(private)

        async def go(include: bool, date: str):
            async with HubClient(emu.base_url, token="hf_any", retry=FAST) as client:
                return await snapshot_listing(client, store, date, include_private=include)

        default = asyncio.run(go(False, D1))
        assert default.excluded_private == len(private)
        ids = set(store.read_table("raw_listing", D1, columns=["id"]).column("id").to_pylist())
        assert not ids & private and len(ids) == 400 - len(private)
        asyncio.run(go(True, D2))
        ids = set(store.read_table("raw_listing", D2, columns=["id"]).column("id").to_pylist())
        assert private <= ids


def test_the_s3_journal_lives_in_a_private_directory(s3_bucket, tmp_path, monkeypatch):
    import os
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    s3 = LakeStore(f"s3://{s3_bucket}/lake")
    path = journal_dir(s3, D1)
    assert path.startswith(str(tmp_path)) and os.stat(path).st_mode & 0o077 == 0
    # a directory planted by someone else (here: a symlink) is refused
    other = tmp_path / "elsewhere"
    other.mkdir()
    planted = tmp_path / f"hf_croissant_journal-{os.getuid()}"
    for child in sorted(planted.rglob("*"), reverse=True):
        child.rmdir()
    planted.rmdir()
    planted.symlink_to(other)
    with pytest.raises(PermissionError, match="not a private directory"):
        journal_dir(s3, D1)


@pytest.mark.parametrize("kind", ["json_list", "deep_json", "html200", "gzip_bomb"])
def test_a_bad_listing_page_is_retried_and_the_listing_completes(store, kind):
    with running_emulator(datasets=2500, seed=3) as emu:
        emu.inject("list", "429" if kind == "gzip_bomb" else "500")  # (a first, ordinary fault)
        emu.inject("list", kind)

        async def go():
            async with HubClient(emu.base_url, retry=FAST, max_body_bytes=1024 * 1024) as client:
                return await snapshot_listing(client, store, D1)

        result = asyncio.run(go())
        assert result.write.rows == len(emu.listed_ids()) == 2500


def test_a_folder_that_is_not_a_real_day_is_ignored(store, lake_dir):
    store.write_table("croissant_records", D1, pa.Table.from_pylist([], schema=CROISSANT_RECORDS))
    bogus = lake_dir / "_raw" / "croissant_records" / "date=2026-02-31"
    bogus.mkdir(parents=True)
    (bogus / "part-0.parquet").write_bytes(b"not parquet")
    assert store.dates("croissant_records") == [D1]
    assert store.newest_before("croissant_records", D3) == D1
