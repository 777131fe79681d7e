"""The listing's pipelining: the next page requested from the headers of the current one, and
the raw partition's file written during the crawl and published by a move.

Both must leave the result exactly as the sequential path made it: same rows, same file layout,
the same refusals, and nothing lost when a page or a write fails half-way.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pyarrow.parquet as pq
import pytest
from aiohttp import web
from pyarrow import fs

from hf_croissant_assets.hub.client import HubClient, HubError
from hf_croissant_assets.ingest import listing_crawl
from hf_croissant_assets.ingest.listing_crawl import (
    COMPLETE_FILE,
    STAGING,
    crawl_listing,
    publish_listing,
    snapshot_listing,
)
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import RAW_LISTING, with_version
from hf_croissant_assets_tests.hub_emulator import running_emulator
from hf_croissant_assets_tests.support import FAST_RETRY

DATE = "2026-11-21"


def _crawl(emu, store: LakeStore, *, limit: int = 200, **kwargs):
    async def go():
        async with HubClient(emu.base_url, retry=FAST_RETRY) as client:
            original = client.listing_url
            client.listing_url = lambda expand, _limit=1000: original(expand, limit)
            return await crawl_listing(client, store, DATE, checkpoint_pages=3, **kwargs)

    return asyncio.run(go())


def _layout(path: str) -> tuple[list[dict], list[int], dict]:
    f = pq.ParquetFile(path)
    rows = [{**r, "item": json.loads(r["item"])} for r in f.read().to_pylist()]
    groups = [f.metadata.row_group(i).num_rows for i in range(f.metadata.num_row_groups)]
    return rows, groups, f.schema_arrow.metadata


def test_a_fresh_listing_is_published_by_moving_the_file_the_crawl_wrote(tmp_path, monkeypatch):
    direct, staged = LakeStore(str(tmp_path / "direct")), LakeStore(str(tmp_path / "staged"))
    with running_emulator(datasets=1100, seed=5) as emu:
        result = _crawl(emu, direct)
    # the same checkpoints, for the reference below
    shutil.copytree(direct.staging_dir(STAGING, DATE), staged.staging_dir(STAGING, DATE))
    state = direct.read_state(STAGING, DATE)
    assert state["done"] and state["complete"] == {"file": COMPLETE_FILE, "rows": 1100}
    assert result.rows == 1100

    # the reference: the same crawl published from its checkpoints (the path of a resumed crawl)
    state = staged.read_state(STAGING, DATE)
    del state["complete"]
    staged.write_state(STAGING, DATE, state)
    reference = publish_listing(staged, DATE, 1100)

    def no_reencoding(*args, **kwargs):
        raise AssertionError("a complete crawl must not be read back and written again")

    monkeypatch.setattr(listing_crawl, "staged_batches", no_reencoding)
    written = publish_listing(direct, DATE, 1100)
    assert written.rows == reference.rows == 1100
    assert written.bytes > 0
    ours, ref = (
        _layout(direct.part_path("raw_listing", DATE)),
        _layout(staged.part_path("raw_listing", DATE)),
    )
    assert ours[0] == ref[0]  # rows, in listing order, items as the Hub sent them
    assert ours[1] == ref[1]  # the same row groups
    assert ours[2] == ref[2] == with_version(RAW_LISTING).metadata
    assert direct.staging_files(STAGING, DATE) == []
    assert direct.read_state(STAGING, DATE) is None


@pytest.mark.parametrize("tamper", ["rows", "missing", "not_done"])
def test_a_complete_file_that_does_not_match_the_checkpoints_is_not_published(store, tamper):
    with running_emulator(datasets=700, seed=5) as emu:
        _crawl(emu, store)
        expected = sorted(emu.listed_ids())
    state = store.read_state(STAGING, DATE)
    complete = f"{store.staging_dir(STAGING, DATE)}/{COMPLETE_FILE}"
    if tamper == "rows":
        state["complete"]["rows"] = 699
    elif tamper == "missing":
        store.fs.delete_file(complete)
    else:
        state["done"] = False
    store.write_state(STAGING, DATE, state)
    written = publish_listing(store, DATE, 700)
    assert written.rows == 700
    assert sorted(store.read_table("raw_listing", DATE).column("id").to_pylist()) == expected


def test_a_failed_checkpoint_write_stops_the_crawl_and_keeps_what_was_written(store, monkeypatch):
    original = LakeStore.write_staging_table
    calls = [0]

    def failing(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 2:
            raise OSError("disk full")
        return original(self, *args, **kwargs)

    with running_emulator(datasets=2000, seed=5) as emu:
        monkeypatch.setattr(LakeStore, "write_staging_table", failing)
        with pytest.raises(OSError, match="disk full"):
            _crawl(emu, store)
        state = store.read_state(STAGING, DATE)
        assert state["pages"] == 3 and state["next_url"] and not state["done"]
        assert len(store.staging_files(STAGING, DATE)) == 1
        # the unfinished file the crawl was writing is gone; only checkpoints are kept
        assert [p for p in _staging_entries(store) if COMPLETE_FILE in p] == []

        monkeypatch.setattr(LakeStore, "write_staging_table", original)
        emu.reset_stats()
        result = _crawl(emu, store)
        assert result.resumed_from_page == 3
        assert emu.stats["by_endpoint"]["list"] == 10 - 3
        assert "complete" not in store.read_state(STAGING, DATE)  # resumed: from checkpoints
        written = publish_listing(store, DATE, result.rows)
        ids = store.read_table("raw_listing", DATE).column("id").to_pylist()
        assert written.rows == len(ids) == len(set(ids)) == 2000
        assert set(ids) == set(emu.listed_ids())


def _staging_entries(store: LakeStore) -> list[str]:
    selector = fs.FileSelector(store.staging_dir(STAGING, DATE), allow_not_found=True)
    return [info.path for info in store.fs.get_file_info(selector)]


# -- the early request, against a scripted server ---------------------------------------------


@contextmanager
def scripted_hub(handler: Callable[[web.Request, list[str]], web.Response]) -> Iterator[tuple]:
    """A loopback HTTP server answering `GET /api/datasets` with `handler(request, log)`; the
    log holds every path+query requested, in order."""
    log: list[str] = []
    loop = asyncio.new_event_loop()

    async def handle(request: web.Request) -> web.StreamResponse:
        log.append(request.path_qs)
        return handler(request, log)

    async def start():
        app = web.Application()
        app.router.add_get("/api/datasets", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return runner, f"http://127.0.0.1:{port}"

    runner, base = loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield base, log
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def _page(ids: list[str], next_url: str | None, *, body: bytes | None = None) -> web.Response:
    resp = web.Response(
        body=body if body is not None else json.dumps([{"id": i} for i in ids]).encode(),
        content_type="application/json",
    )
    if next_url:
        resp.headers["Link"] = f'<{next_url}>; rel="next"'
    return resp


def _list(base: str, requests: list[int] | None = None) -> list[str]:
    """Every id listed; `requests` gets the number of requests the client sent."""

    async def go():
        async with HubClient(base, retry=FAST_RETRY) as client:
            try:
                return [
                    head.id
                    async for page in client.iter_listing(expand=["sha"])
                    for head in page.heads
                ]
            finally:
                if requests is not None:
                    requests.append(client.stats.requests)

    return asyncio.run(go())


def test_an_early_request_named_by_a_bad_answer_is_dropped_for_the_checked_one():
    """Page 1's first answer names page `wrong` and has a broken body; its retry names `p2`.
    `wrong` may have been requested early, but its rows are never used."""
    first = [True]

    def handler(request: web.Request, log: list[str]) -> web.Response:
        base = f"http://{request.host}/api/datasets"
        cursor = request.query.get("cursor")
        if cursor is None:
            if first[0]:
                first[0] = False
                return _page([], f"{base}?cursor=wrong", body=b'[{"id": "a/1"}, {"id"')
            return _page(["a/1", "a/2"], f"{base}?cursor=p2")
        if cursor == "wrong":
            return _page(["evil/1"], None)
        return _page(["a/3"], None)

    with scripted_hub(handler) as (base, log):
        assert _list(base) == ["a/1", "a/2", "a/3"]
    assert log[-1].endswith("cursor=p2")
    assert sum("cursor=p2" in q for q in log) == 1


def test_an_early_request_never_goes_to_another_origin_or_back_to_a_visited_page():
    def handler(request: web.Request, log: list[str]) -> web.Response:
        if len(log) == 1:  # page 1's headers point off-origin; the body is broken: retried
            return _page([], "http://127.0.0.2:9/api/datasets?cursor=x", body=b"[")
        if len(log) == 2:  # a loop back to page 1
            return _page(["a/1"], str(request.url))
        raise AssertionError(f"unexpected request {request.path_qs}")

    sent: list[int] = []
    with scripted_hub(handler) as (base, log), pytest.raises(HubError, match="loops"):
        _list(base, sent)
    assert len(log) == 2
    assert sent == [2]  # nothing went anywhere else


def test_the_early_request_keeps_the_listing_whole_through_faults_and_a_slow_consumer():
    """Pages arrive while the consumer is busy: nothing is skipped or fetched twice."""
    with running_emulator(datasets=1500, seed=9) as emu:
        emu.inject("list", "truncate", "503")

        async def go():
            async with HubClient(emu.base_url, retry=FAST_RETRY) as client:
                ids = []
                async for page in client.iter_listing(limit=100):
                    await asyncio.sleep(0.01)
                    ids += [h.id for h in page.heads]
                return ids

        ids = asyncio.run(go())
        assert ids == emu.listed_ids()
        assert emu.stats["list_pages"] <= 15 + 1  # the truncated answer's page is served twice


def test_snapshot_listing_still_refuses_an_empty_listing_with_the_direct_file(store):
    with running_emulator(datasets=300, seed=5, listing_keep=0.0) as emu:

        async def go():
            async with HubClient(emu.base_url, retry=FAST_RETRY) as client:
                return await snapshot_listing(client, store, DATE)

        with pytest.raises(listing_crawl.ListingRefused):
            asyncio.run(go())
    assert not store.exists("raw_listing", DATE)
    assert store.read_state(STAGING, DATE) is None
