"""The Hub client against the emulator over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import itertools
import socket

import pytest

from hf_croissant_assets.hub.client import (
    HubClient,
    HubConfigError,
    HubError,
    RetryPolicy,
    resolve_endpoint,
)
from hf_croissant_assets.hub.ratelimit import RateLimitPacer, parse_ratelimit_headers
from hf_croissant_assets.ingest.listing_crawl import snapshot_listing
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import LISTING_EXPAND, RAW_LISTING
from hf_croissant_assets_tests.hub_emulator import running_emulator
from hf_croissant_assets_tests.support import FAST_RETRY

DATE = "2026-11-21"


def run(coro):
    return asyncio.run(coro)


async def _list_all(client: HubClient, limit: int = 1000) -> list[dict]:
    items = []
    async for page in client.iter_listing(limit=limit):
        items.extend(page.items)
    return items


def test_listing_survives_injected_faults_with_one_row_per_dataset(emulator, store):
    expected = emulator.dataset_ids()
    assert len(expected) >= 2400
    # 429, 503, a connection reset and a truncated body, spread over the first requests.
    # A 429, a 503, a connection reset and a truncated body on one page (4 retries allowed),
    # then a non-JSON 200 and a 502 on the next pages.
    emulator.inject("list", "429", "503", "reset", "truncate")
    result, stats = run(
        _crawl_with_limit(emulator, store, 500, inject_after={2: ("nonjson", "502")})
    )
    table = store.read_table("raw_listing", DATE)
    ids = table.column("id").to_pylist()
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == set(expected)
    assert result["pages"] >= 5
    # (aiohttp itself re-sends once on a reset keep-alive connection, so that one may not count)
    assert stats.retries >= 5
    assert emulator.stats["faults"] == dict.fromkeys(
        ("429", "503", "reset", "truncate", "nonjson", "502"), 1
    )
    assert stats.rate_limited == 1
    assert stats.errors["malformed_json"] == 1
    assert table.schema.names == RAW_LISTING.names
    # staging is removed once the partition is published
    assert store.staging_files("listing", DATE) == []


async def _crawl_with_limit(emulator, store: LakeStore, limit: int, inject_after=None):
    """snapshot_listing with pages of `limit`; `inject_after={n: kinds}` queues faults after page n."""
    async with HubClient(emulator.base_url, retry=FAST_RETRY) as client:
        original_url = client.listing_url
        client.listing_url = lambda expand=LISTING_EXPAND, _limit=1000: original_url(expand, limit)
        original_fetch = client.fetch_listing_page
        started = [0]

        async def fetch(url, *args, **kwargs):
            # queued before page n+1 is requested: the client requests it as soon as page n's
            # headers are in, before page n's body is read
            if inject_after and started[0] in inject_after:
                emulator.inject("list", *inject_after[started[0]])
            started[0] += 1
            return await original_fetch(url, *args, **kwargs)

        client.fetch_listing_page = fetch
        result = await snapshot_listing(client, store, DATE, checkpoint_pages=2)
        return {"pages": result.pages, "rows": result.rows}, client.stats


def test_listing_resumes_from_the_stored_next_url(emulator, store):
    """A listing that fails mid-way restarts from its checkpoint, not from page 1."""
    expected = set(emulator.dataset_ids())
    with pytest.raises(HubError) as excinfo:
        run(
            _crawl_with_limit(
                emulator, store, 250, inject_after={2: ["503"] * (FAST_RETRY.max_retries + 1)}
            )
        )
    assert "503" in str(excinfo.value) and "/api/datasets" in str(excinfo.value)
    state = store.read_state("listing", DATE)
    assert state and state["pages"] == 2 and state["next_url"]
    pages_before = emulator.stats["list_pages"]

    emulator.reset_stats()
    _result, _ = run(_crawl_with_limit(emulator, store, 250))
    ids = store.read_table("raw_listing", DATE).column("id").to_pylist()
    assert len(ids) == len(set(ids)) and set(ids) == expected
    # the second run started at page 3: it fetched the remaining pages only
    total_pages = -(-len(expected) // 250)
    assert emulator.stats["by_endpoint"]["list"] == total_pages - 2
    assert pages_before == 2  # successful pages served before the failure


def test_unknown_expand_field_is_refused_before_any_request(emulator):
    client = HubClient(emulator.base_url)
    with pytest.raises(HubConfigError, match=r"unknown expand field.*'bogus'"):
        client.listing_url(expand=["author", "bogus"])


def test_hub_400_on_expand_is_a_clear_error(emulator):
    """If the Hub itself rejects the request (400), the error names the URL and status, no retry."""

    async def go():
        async with HubClient(emulator.base_url, retry=FAST_RETRY) as client:
            url = f"{emulator.base_url}/api/datasets?limit=10&expand=nonsense"
            await client.fetch_listing_page(url)

    with pytest.raises(HubError, match=r"status 400.*nonsense"):
        run(go())
    assert emulator.stats["by_endpoint"]["list"] == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_endpoint_gives_a_clear_error():
    url = f"http://127.0.0.1:{_free_port()}"

    async def go():
        async with HubClient(url, retry=RetryPolicy(2, 0.01, 0.02, 2.0)) as client:
            return await _list_all(client)

    with pytest.raises(HubError) as excinfo:
        run(go())
    message = str(excinfo.value)
    assert url in message and "3 attempt(s)" in message and "status None" in message


def test_bad_endpoint_setting_names_the_variable():
    from hf_croissant_assets.settings import SettingError, Settings

    with pytest.raises(HubConfigError, match="'ftp://example' is not an http"):
        resolve_endpoint("ftp://example")
    assert resolve_endpoint("http://127.0.0.1:1/") == "http://127.0.0.1:1"
    with pytest.raises(SettingError, match=r"^HF_ENDPOINT='ftp://example': endpoint"):
        Settings.from_env({"HF_ENDPOINT": "ftp://example"})
    assert Settings.from_env({"HF_ENDPOINT": "http://127.0.0.1:1/"}).hf_endpoint == (
        "http://127.0.0.1:1"
    )


def test_token_is_sent_as_bearer_and_never_shown(monkeypatch):
    with running_emulator(datasets=300, seed=3, accepted_tokens={"hf_secret"}) as emu:
        gated = next(d["id"] for d in emu.catalog() if d.get("gated"))

        async def go(token):
            async with HubClient(emu.base_url, token, retry=FAST_RETRY) as client:
                assert "hf_secret" not in repr(client)
                return await client.fetch_croissant(gated)

        assert run(go(None)).status == 401
        assert run(go("hf_secret")).status == emu.croissant_status(gated, token="hf_secret")


def test_next_link_to_another_origin_is_refused(emulator):
    client = HubClient(emulator.base_url)
    with pytest.raises(HubError, match="another origin"):
        client._check_next_url("http://evil.example/api/datasets?cursor=x")


def test_croissant_statuses_are_data(emulator):
    ids = emulator.dataset_ids()
    by_status: dict[int, str] = {}
    for dataset in ids:
        by_status.setdefault(emulator.croissant_status(dataset), dataset)
    assert {200, 400, 401} <= set(by_status)

    async def go():
        async with HubClient(emulator.base_url, retry=FAST_RETRY) as client:
            out = {s: await client.fetch_croissant(d) for s, d in by_status.items()}
            out[404] = await client.fetch_croissant("nobody/does-not-exist")
            return out

    answers = run(go())
    assert answers[200].body == emulator.croissant_document(by_status[200])
    assert answers[400].body is None and "croissant format is not available" in answers[400].reason
    assert answers[401].status == 401 and answers[401].attempts == 1
    assert answers[404].status == 404 and answers[404].attempts == 1


def test_croissant_failure_past_retries_is_returned_not_raised(emulator):
    dataset = emulator.dataset_ids()[0]
    emulator.update_config(fail_always={dataset: 503})

    async def go():
        async with HubClient(emulator.base_url, retry=FAST_RETRY) as client:
            return await client.fetch_croissant(dataset)

    answer = run(go())
    assert answer.status == 503 and answer.body is None
    assert answer.attempts == FAST_RETRY.max_retries + 1
    assert "gave up after 5 attempt(s)" in answer.reason


def test_malformed_200_body_is_retried_then_reported(emulator):
    dataset = next(d for d in emulator.dataset_ids() if emulator.croissant_status(d) == 200)
    emulator.inject("croissant", *(["nonjson"] * 5))

    async def go():
        async with HubClient(emulator.base_url, retry=FAST_RETRY) as client:
            return await client.fetch_croissant(dataset)

    answer = run(go())
    # no usable answer: status null (fetched again, never counted as available), with the reason
    assert answer.status is None and answer.body is None
    assert "malformed JSON body" in answer.reason


# -- pacing ------------------------------------------------------------------------------


def test_ratelimit_headers_parse_and_tolerate_garbage():
    state = parse_ratelimit_headers(
        {"RateLimit": '"api";r=489;t=189', "RateLimit-Policy": '"fixed window";"api";q=1000;w=300'}
    )
    assert (state.remaining, state.reset_in, state.quota, state.window) == (489, 189, 1000, 300)
    junk = parse_ratelimit_headers({"RateLimit": "<script>", "RateLimit-Policy": ""})
    assert junk.remaining is None and junk.quota is None


def test_pacer_spreads_remaining_quota_over_the_window():
    """With r=20 left and t=3 s to go (so at least 2 s, whatever the rounding), sends are ~0.1 s
    apart: even spending up to the earliest possible reset, no burst."""
    import time

    pacer = RateLimitPacer()

    async def go():
        ticket = await pacer.acquire()
        pacer.observe(ticket, {"RateLimit": '"api";r=20;t=3', "RateLimit-Policy": "q=40;w=6"})
        times = []
        for _ in range(5):
            await pacer.acquire()
            times.append(time.monotonic())
        return times

    times = run(go())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(0.07 < g < 0.25 for g in gaps), gaps


def test_pacer_waits_for_reset_when_exhausted_and_pauses_on_429():
    clock = [0.0]
    pacer = RateLimitPacer(clock=lambda: clock[0])

    async def go():
        ticket = await pacer.acquire()
        pacer.observe(ticket, {"RateLimit": '"api";r=0;t=3', "RateLimit-Policy": "q=5;w=3"})
        # spent: wait for the latest possible reset (the window is 3 s long) plus the margin
        assert pacer._wait_time(clock[0]) == pytest.approx(3.02)
        pause = pacer.rate_limited(2.0)
        assert 2.0 <= pause <= 2.25
        assert pacer._wait_time(clock[0]) >= 2.0

    run(go())


def test_pacer_spends_the_emulators_fixed_window_without_429():
    """Real HTTP on loopback, the emulator's fixed window (t rounded up to whole seconds):
    Croissant fetches for ~3 windows of 3 s with a quota of 40 provoke no 429 storm, and the
    pacer learns the window (the reset's interval narrowed well below the second `t` gives)."""
    with running_emulator(datasets=400, quota=40, window=3) as emu:
        ids = emu.dataset_ids()

        async def go() -> RateLimitPacer:
            async with HubClient(emu.base_url, concurrency=8, retry=FAST_RETRY) as client:
                loop = asyncio.get_running_loop()
                end = loop.time() + 9.5
                queue = iter(ids)

                async def worker() -> None:
                    for dataset_id in queue:
                        if loop.time() >= end:
                            return
                        await client.fetch_croissant(dataset_id)

                await asyncio.gather(*(worker() for _ in range(8)))
                return client.pacer

        pacer = run(go())
        stats = emu.stats
    assert stats["requests"] >= 3 * 40  # about the quota of the windows it ran through
    assert stats["served_ok_in_quota"] <= 4 * 40
    assert stats["rate_limited"] <= 1
    snap = pacer.snapshot()
    # Under 0.5 s: the rounding hypotheses (0.5 s apart) were told apart, the reset was learned.
    assert snap["reset_uncertainty_s"] is not None and snap["reset_uncertainty_s"] < 0.5, snap
