"""The day's full dataset listing -> the raw listing partition, resumably; then `hf_datasets`.

A 500k-dataset listing is ~500 pages. Pages are checkpointed in batches under
`_staging/listing/date=D/` together with the next-page URL the Hub gave (a stateless keyset
cursor), so a crawl that fails on page 300 resumes from page 300 instead of page 1. Ids already
checkpointed are remembered, so a page fetched twice adds nothing twice. A crawl that starts
from nothing staged also writes the raw partition's file as it goes (`_DirectWriter`), so that
publishing it is a move, not a second encoding of the day.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from hf_croissant_assets.curate.listing_rows import raw_listing_page, typed_listing_batch
from hf_croissant_assets.hub.client import HubClient
from hf_croissant_assets.ingest.plan import SPOOL_SCHEMA, spool_of_typed, spool_rows
from hf_croissant_assets.lake.listing_products import (
    BOOKKEEPING_PRODUCT,
    HF_DATASETS_PRODUCT,
    PRODUCTS,
    clear_products,
    product_file,
    publish_products,
)
from hf_croissant_assets.lake.store import (
    COMPRESSION,
    ROW_GROUP_ROWS,
    LakeStore,
    PartitionWriter,
    WriteResult,
    release_memory,
)
from hf_croissant_assets.schema import HF_DATASETS, LISTING_EXPAND, RAW_LISTING, with_version
from hf_croissant_assets.settings import DEFAULT_ROW_DROP_TOLERANCE, env_name

log = logging.getLogger(__name__)

STAGING = "listing"
#: The raw partition's file as the crawl wrote it, complete, in the staging folder (not a
#: checkpoint: those end in `.parquet`); publishing moves it into place.
COMPLETE_FILE = "raw-listing.parquet.complete"
#: Page cap of a listing with no earlier day to compare with (5M datasets at 1,000 a page).
DEFAULT_MAX_PAGES = 5000


class ListingRefused(RuntimeError):
    """Today's listing is not plausible (empty, or far smaller than the previous day's): it is
    not written, so it can never become the base of a carry-forward."""


def max_pages_for(previous_rows: int | None, limit: int = 1000) -> int:
    """The page cap: twice the previous day's page count plus slack (or a generous default)."""
    if not previous_rows:
        return DEFAULT_MAX_PAGES
    return 2 * (previous_rows // limit + 1) + 100


def previous_listing_rows(store: LakeStore, date: str) -> tuple[str | None, int | None]:
    previous = store.newest_before("raw_listing", date)
    return previous, (store.num_rows("raw_listing", previous) if previous else None)


def check_listing_size(
    store: LakeStore, date: str, rows: int, tolerance: float, override: bool = False
) -> None:
    """Refuse (before it is written) a listing that is empty or shrank beyond `tolerance` below
    the newest earlier day's; `override` accepts a real mass deletion."""
    previous, previous_rows = previous_listing_rows(store, date)
    if rows == 0:
        raise ListingRefused(
            f"listing {date}: the Hub listed 0 datasets; refused (nothing written, the "
            f"previous data is untouched). An empty listing is a Hub or proxy failure: run again "
            f"later."
        )
    if previous_rows is None or override:
        return
    floor = previous_rows * (1 - tolerance)
    if rows < floor:
        raise ListingRefused(
            f"listing {date}: {rows} datasets vs {previous_rows} on {previous} (a drop of "
            f"{(previous_rows - rows) / previous_rows:.1%}, tolerated {tolerance:.0%}); refused, "
            f"nothing written, the previous data is untouched. A truncated listing would make "
            f"every dropped dataset disappear and be re-fetched later. If the Hub really "
            f"deleted that many datasets, run once with {env_name('listing_shrink_override')}=true."
        )


@dataclass
class ListingResult:
    rows: int
    pages: int
    resumed_from_page: int
    excluded_private: int = 0
    client_stats: dict[str, Any] = field(default_factory=dict)
    write: WriteResult | None = None


def _staged_ids(store: LakeStore, date: str) -> tuple[set[str], int]:
    seen: set[str] = set()
    files = store.staging_files(STAGING, date)
    for path in files:
        seen.update(store.read_staging_file(path, columns=["id"]).column("id").to_pylist())
    return seen, len(files)


def _staged_rows(store: LakeStore, date: str) -> int:
    """Rows checkpointed so far, from the files' footers (no column is read)."""
    rows = 0
    for path in store.staging_files(STAGING, date):
        with store.fs.open_input_file(path) as f:
            rows += pq.ParquetFile(f).metadata.num_rows
    return rows


class _DirectWriter:
    """The raw partition's file, written batch by batch while the listing is crawled.

    Publishing it is then a move instead of reading every checkpoint back and encoding the day
    a second time. The checkpoint files stay the durable record (resume reads them, never this
    file): only a crawl that starts from nothing staged writes it, and only a complete file
    (closed, moved to `COMPLETE_FILE`, named in the state) is ever published. A crawl that
    resumes takes the old way at publish (its earlier pages live only in checkpoints).
    """

    def __init__(self, store: LakeStore, date: str) -> None:
        self._store = store
        directory = store.staging_dir(STAGING, date)
        self.final = f"{directory}/{COMPLETE_FILE}"
        self._tmp = f"{directory}/.{COMPLETE_FILE}.{uuid.uuid4().hex}.tmp"
        self._writer: PartitionWriter | None = None

    def write(self, table: pa.Table) -> None:
        """Append a checkpoint's rows; row groups as the staged files would give them."""
        if self._writer is None:  # the staging folder exists once a checkpoint is written
            self._writer = PartitionWriter(self._store.fs, self._tmp, RAW_LISTING)
        self._writer.write(table.combine_chunks().to_batches(max_chunksize=ROW_GROUP_ROWS))

    def close(self) -> int | None:
        """Finish the file and put it in place; its row count (None: nothing was written)."""
        if self._writer is None:
            return None
        self._writer.close()
        self._store.fs.move(self._tmp, self.final)
        return self._writer.rows

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            with contextlib.suppress(OSError):
                self._store.fs.delete_file(self._tmp)


#: Rows decoded at once by the listing pass (as `curate_datasets` reads the raw partition).
_PASS_ROWS = 8_192


class _ListingPass:
    """The listing pass's products (`listing_products`), made beside the direct file on the
    checkpoint thread, from the same tables: the curated `hf_datasets` rows and the plan's
    spool, both in listing order (sorting `hf_datasets` is left to its own step, so the listing
    ends with its last page). They are an optimisation: a failure here drops them (the steps
    then decode the raw partition themselves, as before) and never fails the listing."""

    def __init__(self, store: LakeStore, date: str) -> None:
        self._store = store
        self._date = date
        self._dir = store.staging_dir(STAGING, date)
        token = uuid.uuid4().hex
        self._tmp = {name: f"{self._dir}/.{product_file(name)}.{token}.tmp" for name in PRODUCTS}
        self._streams: list[Any] = []
        self._curated: pq.ParquetWriter | None = None
        self._spool: pq.ParquetWriter | None = None
        self._curated_rows = 0
        self._rows = 0  # raw rows so far: the next table's first position in the raw file
        self._failed = False

    def write(self, table: pa.Table) -> None:
        if self._failed:
            return
        try:
            if self._curated is None:
                self._curated = self._open(HF_DATASETS_PRODUCT, with_version(HF_DATASETS))
                self._spool = self._open(BOOKKEEPING_PRODUCT, SPOOL_SCHEMA)
            assert self._spool is not None
            # in slices: a checkpoint's decoded objects are many times its bytes
            for piece in table.to_batches(max_chunksize=_PASS_ROWS):
                piece_table = pa.Table.from_batches([piece])
                curated, every_row_typed = typed_listing_batch(piece_table)
                self._curated.write_table(curated)
                self._curated_rows += curated.num_rows
                self._spool.write_table(
                    spool_of_typed(piece_table, curated, self._rows)
                    if every_row_typed
                    else spool_rows(piece_table, self._rows)
                )
                self._rows += piece.num_rows
        except Exception as exc:  # noqa: BLE001 - see the class docstring
            self._drop(exc)

    def close(self) -> dict[str, dict[str, Any]]:
        """Finish both files; {product: {"file", "rows"}} in the staging folder ({}: none)."""
        if self._failed or self._curated is None or self._spool is None:
            return {}
        try:
            self._curated.close()
            self._spool.close()
            for stream in self._streams:
                stream.close()
            rows = {HF_DATASETS_PRODUCT: self._curated_rows, BOOKKEEPING_PRODUCT: self._rows}
            done = {}
            for name in PRODUCTS:
                self._store.fs.move(self._tmp[name], f"{self._dir}/{product_file(name)}")
                done[name] = {"file": product_file(name), "rows": rows[name]}
            log.info(
                f"listing {self._date}: the listing pass kept {rows[HF_DATASETS_PRODUCT]} "
                f"hf_datasets rows and the plan's spool"
            )
            return done
        except Exception as exc:  # noqa: BLE001 - see the class docstring
            self._drop(exc)
            return {}

    def _open(self, name: str, schema: pa.Schema) -> pq.ParquetWriter:
        stream = self._store.fs.open_output_stream(self._tmp[name])
        self._streams.append(stream)
        return pq.ParquetWriter(stream, schema, compression=COMPRESSION)

    def _drop(self, exc: BaseException) -> None:
        log.warning(
            f"listing {self._date}: the listing pass's hf_datasets and plan spool are dropped "
            f"({exc!r}); those steps will decode the raw partition instead"
        )
        self.abort()

    def abort(self) -> None:
        self._failed = True
        for closing in (self._curated, self._spool, *self._streams):
            if closing is not None:
                with contextlib.suppress(Exception):
                    closing.close()
        for path in self._tmp.values():
            with contextlib.suppress(OSError):
                self._store.fs.delete_file(path)


async def crawl_listing(
    client: HubClient,
    store: LakeStore,
    date: str,
    *,
    expand: Iterable[str] = LISTING_EXPAND,
    checkpoint_pages: int = 25,
    include_private: bool = False,
    max_pages: int | None = None,
    logger: logging.Logger | Any = log,
) -> ListingResult:
    """List every dataset into `_staging/listing/date=D/`, resuming from what is staged there.

    Publishing the staged pages as the raw partition is a separate step (`snapshot_listing`, or
    the asset's IO manager), so a failure while writing never loses the crawl. Private datasets
    (listed to a token holder) are dropped here, before anything is stored, unless
    `include_private`. `max_pages` defaults to a cap derived from the previous day's count.

    Checkpoints are written on a worker thread while the event loop goes on fetching pages (one
    checkpoint in flight at most, and in order: a state never names a page whose rows are not
    in a checkpoint file); a failure, of the Hub or of a write, waits for the checkpoint in
    flight before it is raised, so what was fetched and checkpointed is kept.
    """
    if max_pages is None:
        max_pages = max_pages_for(previous_listing_rows(store, date)[1])
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
    excluded = 0
    buffer: list[pa.Table] = []
    started = time.monotonic()
    direct = _DirectWriter(store, date) if not done and batches == 0 else None
    products = _ListingPass(store, date) if direct is not None else None
    in_flight: asyncio.Future[None] | None = None

    def checkpoint(table: pa.Table | None, batch: int, state: dict[str, Any]) -> None:
        """One checkpoint, on the worker thread: the batch file, the direct file, the state."""
        if table is not None:
            store.write_staging_table(STAGING, date, f"batch-{batch:06d}.parquet", table)
            if direct is not None:
                direct.write(table)
            if products is not None:
                products.write(table)
        if state["done"] and direct is not None:
            rows = direct.close()
            if rows is not None:
                state["complete"] = {"file": COMPLETE_FILE, "rows": rows}
                if products is not None:
                    state["products"] = products.close()
        store.write_state(STAGING, date, state)

    async def settle() -> None:
        """Wait for the checkpoint in flight (its error, if any, is raised here)."""
        nonlocal in_flight
        if in_flight is not None:
            pending, in_flight = in_flight, None
            await pending

    if not done:
        try:
            async for page in client.iter_listing(
                expand, start_url=start_url, seen=seen, max_pages=max_pages - pages_before
            ):
                if in_flight is not None and in_flight.done():
                    await settle()  # a failed write stops the crawl now, not pages later
                pages += 1
                listed = len(page.heads)
                if not include_private:
                    page.select(
                        [i for i, head in enumerate(page.heads) if head.private is not True]
                    )
                    excluded += listed - len(page.heads)
                if page.heads:
                    buffer.append(raw_listing_page(page.heads, page.raw, page.request_time))
                last = page.next_url is None
                if pages % checkpoint_pages == 0 or last:
                    table = pa.concat_tables(buffer) if buffer else None
                    buffer = []
                    await settle()
                    # The thread writes while the loop fetches the next pages (the next request
                    # is already on its way: `iter_listing` sends it as soon as it can).
                    in_flight = asyncio.ensure_future(
                        asyncio.to_thread(
                            checkpoint,
                            table,
                            batches,
                            {
                                "next_url": page.next_url,
                                "pages": pages,
                                "expand": list(expand),
                                "done": last,
                            },
                        )
                    )
                    if table is not None:
                        batches += 1
                    rate = (pages - pages_before) / max(time.monotonic() - started, 1e-9)
                    logger.info(
                        f"listing {date}: {pages} pages, {len(seen)} datasets ({rate:.1f} pages/s)"
                    )
            await settle()
        except BaseException:
            with contextlib.suppress(Exception):
                await settle()  # keep what was checkpointed; the first error is the one raised
            if direct is not None:
                await asyncio.to_thread(direct.abort)
            if products is not None:
                await asyncio.to_thread(products.abort)
            raise

    rows = _staged_rows(store, date)
    release_memory()
    private_note = f" ({excluded} private datasets excluded)" if excluded else ""
    logger.info(f"listing {date}: {rows} datasets in {pages} pages, staged{private_note}")
    return ListingResult(
        rows=rows,
        pages=pages,
        resumed_from_page=pages_before,
        excluded_private=excluded,
        client_stats=client.stats.as_dict(),
    )


def staged_batches(store: LakeStore, date: str, batch_size: int = 8192) -> Iterator[pa.RecordBatch]:
    """The staged listing in bounded batches, file by file (what the raw partition is written
    from)."""
    for path in store.staging_files(STAGING, date):
        with store.fs.open_input_file(path) as f:
            yield from pq.ParquetFile(f).iter_batches(batch_size=batch_size)


def clear_staging(store: LakeStore, date: str) -> None:
    store.clear_staging(STAGING, date)


def _complete_file(store: LakeStore, date: str, rows: int) -> str | None:
    """The raw partition's file the crawl wrote, if the state names it, it exists and it holds
    exactly the `rows` checkpointed (else None: the partition is written from the
    checkpoints)."""
    state = store.read_state(STAGING, date) or {}
    complete = state.get("complete")
    if not state.get("done") or not isinstance(complete, dict):
        return None
    if complete.get("file") != COMPLETE_FILE or complete.get("rows") != rows:
        return None
    path = f"{store.staging_dir(STAGING, date)}/{COMPLETE_FILE}"
    try:
        with store.fs.open_input_file(path) as f:
            meta = pq.ParquetFile(f).metadata
    except (OSError, pa.ArrowInvalid):
        return None
    if meta.num_rows != rows or not meta.schema.to_arrow_schema().equals(
        with_version(RAW_LISTING), check_metadata=True
    ):
        return None
    return path


def publish_listing(
    store: LakeStore,
    date: str,
    rows: int,
    *,
    tolerance: float = DEFAULT_ROW_DROP_TOLERANCE,
    override: bool = False,
) -> WriteResult:
    """Write the staged listing as `<lake>/_raw/listing/date=D/` once its size is plausible.

    The file the crawl wrote as it went is moved into place when it is complete; otherwise (a
    crawl that resumed, or staging left by an older version) the checkpoints are written out.
    """
    try:
        check_listing_size(store, date, rows, tolerance, override)
    except ListingRefused:
        clear_staging(store, date)  # the next run lists afresh instead of re-reading this one
        raise
    complete = _complete_file(store, date, rows)
    clear_products(store, date)  # they describe the raw partition about to be replaced
    if complete is not None:
        result = store.publish_file("raw_listing", date, complete, rows)
        products = _complete_products(store, date, rows)
        if products:
            try:
                publish_products(store, date, products)
            except Exception as exc:  # noqa: BLE001 - an optimisation: never fails the listing
                log.warning(
                    f"listing {date}: the listing pass's products could not be kept ({exc!r}); "
                    "the next steps will decode the raw partition instead"
                )
                with contextlib.suppress(Exception):
                    clear_products(store, date)
    else:
        with store.writer("raw_listing", date, RAW_LISTING) as writer:
            writer.write(staged_batches(store, date))
        result = writer.result
    clear_staging(store, date)
    return result


def _complete_products(store: LakeStore, date: str, rows: int) -> dict[str, tuple[str, int]]:
    """The listing pass's products the state names, complete: {name: (path, rows)}, all of
    them or none (`hf_datasets` may have fewer rows than the listing, never more)."""
    state = store.read_state(STAGING, date) or {}
    named = state.get("products")
    if not isinstance(named, dict) or set(named) != set(PRODUCTS):
        return {}
    found: dict[str, tuple[str, int]] = {}
    for name, entry in named.items():
        if not isinstance(entry, dict) or entry.get("file") != product_file(name):
            return {}
        count = entry.get("rows")
        if not isinstance(count, int) or count > rows:
            return {}
        if name == BOOKKEEPING_PRODUCT and count != rows:  # one spool row per raw row
            return {}
        path = f"{store.staging_dir(STAGING, date)}/{product_file(name)}"
        if store.fs.get_file_info(path).type != pafs.FileType.File:
            return {}
        found[name] = (path, count)
    return found


async def snapshot_listing(
    client: HubClient,
    store: LakeStore,
    date: str,
    *,
    tolerance: float = DEFAULT_ROW_DROP_TOLERANCE,
    override: bool = False,
    **kwargs: Any,
) -> ListingResult:
    """Crawl and publish `<lake>/_raw/listing/date=D/` (the asset does the same)."""
    result = await crawl_listing(client, store, date, **kwargs)
    result.write = publish_listing(store, date, result.rows, tolerance=tolerance, override=override)
    return result
