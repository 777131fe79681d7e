"""Shared fixtures: a real Hub emulator on loopback, a fresh lake, resources pointing at them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hf_croissant_assets.hub.client import RetryPolicy
from hf_croissant_assets.lake.io_manager import LakeIOManager
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.resources import CrawlSettings, DuckDBResource, HubResource, LakeResource
from hf_croissant_assets_tests.hub_emulator import HubEmulator, running_emulator

#: Retries as in production but with millisecond backoff, so fault tests run fast.
FAST_RETRY = RetryPolicy(max_retries=4, backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=5.0)


@pytest.fixture
def emulator() -> Iterator[HubEmulator]:
    with running_emulator(datasets=2500, seed=7) as emu:
        yield emu


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def store(lake_dir: Path) -> LakeStore:
    return LakeStore(str(lake_dir))


def make_resources(
    endpoint: str,
    lake_dir: Path,
    *,
    now: str,
    token: str | None = None,
    max_requests: int | None = None,
    batch_size: int = 200,
) -> dict[str, object]:
    """The definitions' resources, pointed at the emulator and a test lake, clock pinned."""
    return {
        "hub": HubResource(
            endpoint=endpoint,
            token=token,
            concurrency=8,
            max_retries=FAST_RETRY.max_retries,
            backoff_base_s=FAST_RETRY.backoff_base_s,
            backoff_max_s=FAST_RETRY.backoff_max_s,
            timeout_s=FAST_RETRY.timeout_s,
            pinned_now=now,
        ),
        "lake": LakeResource(uri=str(lake_dir)),
        "lake_io_manager": LakeIOManager(uri=str(lake_dir)),
        "duckdb": DuckDBResource(path=str(lake_dir.parent / "test.duckdb")),
        "crawl": CrawlSettings(
            max_requests=max_requests, max_duration_s=600, batch_size=batch_size
        ),
    }
