"""The day's full dataset listing -> the raw listing partition, resumably; then `hf_datasets`.

A 500k-dataset listing is ~500 pages. Pages are checkpointed in batches under
`_staging/listing/date=D/` together with the next-page URL the Hub gave (a stateless keyset
cursor), so a crawl that fails on page 300 resumes from page 300 instead of page 1. Ids already
checkpointed are remembered, so a page fetched twice adds nothing twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from hf_croissant_assets.curate.listing_rows import raw_listing_table
from hf_croissant_assets.hub.client import HubClient
from hf_croissant_assets.lake.store import LakeStore, WriteResult
from hf_croissant_assets.schema import LISTING_EXPAND, RAW_LISTING

log = logging.getLogger(__name__)

STAGING = "listing"


@dataclass
class ListingResult:
    rows: int
    pages: int
    resumed_from_page: int
    client_stats: dict[str, Any] = field(default_factory=dict)
    write: WriteResult | None = None


def _staged_ids(store: LakeStore, date: str) -> tuple[set[str], int]:
    seen: set[str] = set()
    files = store.staging_files(STAGING, date)
    for path in files:
        seen.update(store.read_staging_file(path, columns=["id"]).column("id").to_pylist())
    return seen, len(files)


async def crawl_listing(
    client: HubClient,
    store: LakeStore,
    date: str,
    *,
    expand: Iterable[str] = LISTING_EXPAND,
    checkpoint_pages: int = 25,
    logger: logging.Logger | Any = log,
) -> ListingResult:
    """List every dataset into `_staging/listing/date=D/`, resuming from what is staged there.

    Publishing the staged pages as the raw partition is a separate step (`snapshot_listing`, or
    the asset's IO manager), so a failure while writing never loses the crawl.
    """
    expand = tuple(expand)
    state = store.read_state(STAGING, date) or {}
    seen, batches = _staged_ids(store, date)
    start_url = state.get("next_url") if state.get("expand") == list(expand) else None
    pages_before = int(state.get("pages", 0)) if start_url else 0
    done = bool(state.get("done")) and state.get("expand") == list(expand)
    if start_url or done:
        logger.info(
            f"resuming the {date} listing after page {pages_before} with {len(seen)} datasets "
            f"already checkpointed"
        )
    elif seen:
        logger.info(f"restarting the {date} listing; {len(seen)} checkpointed datasets kept")

    pages = pages_before
    buffer: list[pa.Table] = []
    started = time.monotonic()
    if not done:
        async for page in client.iter_listing(expand, start_url=start_url, seen=seen):
            pages += 1
            if page.items:
                buffer.append(raw_listing_table(page.items, page.request_time))
            last = page.next_url is None
            if buffer and (pages % checkpoint_pages == 0 or last):
                store.write_staging_table(
                    STAGING, date, f"batch-{batches:06d}.parquet", pa.concat_tables(buffer)
                )
                batches += 1
                buffer = []
            if pages % checkpoint_pages == 0 or last:
                store.write_state(
                    STAGING,
                    date,
                    {
                        "next_url": page.next_url,
                        "pages": pages,
                        "expand": list(expand),
                        "done": last,
                    },
                )
                rate = (pages - pages_before) / max(time.monotonic() - started, 1e-9)
                logger.info(
                    f"listing {date}: {pages} pages, {len(seen)} datasets ({rate:.1f} pages/s)"
                )

    rows = sum(
        store.read_staging_file(path, columns=["id"]).num_rows
        for path in store.staging_files(STAGING, date)
    )
    logger.info(f"listing {date}: {rows} datasets in {pages} pages, staged")
    return ListingResult(
        rows=rows,
        pages=pages,
        resumed_from_page=pages_before,
        client_stats=client.stats.as_dict(),
    )


def staged_batches(store: LakeStore, date: str) -> Iterator[pa.Table]:
    """The staged listing, batch by batch (what the raw partition is written from)."""
    for path in store.staging_files(STAGING, date):
        yield store.read_staging_file(path)


def clear_staging(store: LakeStore, date: str) -> None:
    store.clear_staging(STAGING, date)


async def snapshot_listing(
    client: HubClient, store: LakeStore, date: str, **kwargs: Any
) -> ListingResult:
    """Crawl and publish `<lake>/_raw/listing/date=D/` (the asset does the same via its IO manager)."""
    result = await crawl_listing(client, store, date, **kwargs)
    with store.writer("raw_listing", date, RAW_LISTING) as writer:
        writer.write(staged_batches(store, date))
    clear_staging(store, date)
    result.write = writer.result
    return result
