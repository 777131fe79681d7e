"""A fixed multi-day listing scenario and the golden partitions it produced before the listing path
was optimised (main at commit c588631: stdlib JSON, per-item curation, DuckDB sort).

The scenario runs the Hub emulator (in-process, loopback) for three churn days with hostile items
(wrong types, numbers beyond 32/64 bits and beyond a double, NaN, impossible dates, odd
timestamps, non-ASCII text, hostile and duplicated ids, private datasets), lists each day with
`snapshot_listing` and derives `hf_datasets` with `curate_datasets`. Request times are pinned so
the partitions are deterministic.

Regenerate the golden files from the reference commit (the test compares today's code to them)::

    git archive c588631 | tar -x -C /tmp/golden-ref
    cp hf_croissant_assets_tests/listing_golden.py /tmp/golden-ref/hf_croissant_assets_tests/
    PYTHONPATH=/tmp/golden-ref .venv/bin/python -m hf_croissant_assets_tests.listing_golden \
        --out hf_croissant_assets_tests/fixtures/listing_golden

Only APIs that exist on both sides are used (`HubEmulator`, `HubClient`, `snapshot_listing`,
`curate_datasets`, `LakeStore`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import hf_croissant_assets.hub.client as client_module
from hf_croissant_assets.curate.tables import curate_datasets
from hf_croissant_assets.hub.client import HubClient, RetryPolicy
from hf_croissant_assets.ingest.listing_crawl import snapshot_listing
from hf_croissant_assets.lake.listing_products import HF_DATASETS_PRODUCT, listing_product
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets_tests.hub_emulator import running_emulator

GOLDEN_DIR = Path(__file__).parent / "fixtures" / "listing_golden"
DATES = ("2026-03-01", "2026-03-02", "2026-03-03")
TABLES = ("raw_listing", "hf_datasets")
EMULATOR = {
    "datasets": 800,
    "seed": 7,
    "page_limit_max": 150,
    "private_rate": 0.03,
    "new_per_day": 0.02,
    "modify_rate": 0.05,
    "delete_rate": 0.01,
}

#: Listing fields replaced for a few datasets (by position in day 0's ids): every shape the
#: typed columns must survive. Applied on every day.
HOSTILE_FIELDS: tuple[dict[str, Any], ...] = (
    {"downloads": "12", "likes": 1.5, "tags": ["license:mit", 3, None], "gated": " Manual "},
    {"downloadsAllTime": 10**30, "usedStorage": -5, "trendingScore": 10**20, "downloads": 2**31},
    {"createdAt": "2025-04-31T00:00:00.000Z", "lastModified": "2024-05-01T12:00:00+02:00"},
    {"description": "ünïcødé ✓ \u2028 \x00 ctrl 𝔘", "author": None},
    {"tags": "license:mit", "private": "yes", "disabled": 1, "gated": True},
    {"sha": 12345, "lastModified": None, "createdAt": "2024-02-29T23:59:59Z"},
    {"trendingScore": float("nan"), "likes": -(2**31) - 1, "downloads": 7.0},
    {
        "usedStorage": 10**400,
        "trendingScore": -(10**300),
        "tags": ["license:", "license:cc-by-4.0"],
    },
    {"description": {"nested": [1, 2]}, "paperswithcode_id": 5, "author": ["x"]},
    {"createdAt": "2024-05-01", "lastModified": "not a date", "gated": "", "likes": True},
)
#: Ids added to the first page each day: dot segments, '--', unicode, and two real ids that
#: also appear later in the listing (the first occurrence wins, the later one is dropped).
EXTRA_IDS: tuple[str, ...] = ("org/../other", "a--b/c", "données/jeu", "x" * 300)


def request_time(date: str) -> str:
    return f"{date}T01:00:00.000Z"


def _emulator_config() -> dict[str, Any]:
    with running_emulator(**EMULATOR) as emu:
        ids = emu.dataset_ids()
    overrides = {ids[3 + 17 * k]: fields for k, fields in enumerate(HOSTILE_FIELDS)}
    duplicated = (ids[500], ids[750])
    return dict(EMULATOR, listing_overrides=overrides, extra_ids=EXTRA_IDS + duplicated)


async def _list(base_url: str, store: LakeStore, date: str) -> None:
    retry = RetryPolicy(max_retries=2, backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=30)
    async with HubClient(base_url, retry=retry) as client:
        await snapshot_listing(client, store, date, checkpoint_pages=2)


def run_scenario(lake: str) -> LakeStore:
    """List and curate the scenario's days into the lake folder `lake`; returns its store."""
    store = LakeStore(lake)
    original = client_module.utc_now_iso
    try:
        with running_emulator(**_emulator_config()) as emu:
            for day, date in enumerate(DATES):
                emu.set_day(day)
                client_module.utc_now_iso = lambda date=date: request_time(date)  # type: ignore[misc]
                asyncio.run(_list(emu.base_url, store, date))
                # a fresh listing curates hf_datasets as it goes: that file is what is compared
                if listing_product(store, date, HF_DATASETS_PRODUCT) is None:
                    raise RuntimeError(f"listing {date}: the listing pass made no hf_datasets")
                curate_datasets(store, date)
    finally:
        client_module.utc_now_iso = original  # type: ignore[misc]
    return store


def golden_path(table: str, date: str) -> Path:
    return GOLDEN_DIR / table / f"date={date}" / "part-0.parquet"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(GOLDEN_DIR), help="folder for the golden files")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="listing-golden-") as lake:
        store = run_scenario(lake)
        for table in TABLES:
            for date in DATES:
                target = Path(args.out) / table / f"date={date}" / "part-0.parquet"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(store.part_path(table, date), target)
                print(f"{target} ({os.path.getsize(target)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
