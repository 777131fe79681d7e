"""What the listing pass derives from the pages it writes, kept for the steps after it.

A listing that starts from nothing staged writes the raw partition's file as it goes; on the same
worker thread it also decodes each checkpoint's objects into the two things the day's next steps
would otherwise decode the whole raw partition again for:

- `hf_datasets`: the curated table's rows, in listing order (the `hf_datasets` step sorts them
  into its file, audited as before, instead of re-reading and re-typing ~500k objects);
- `bookkeeping`: the plan's spool of the listing (`plan.SPOOL_SCHEMA`).

That work runs while the Hub renders the next pages, so it costs the listing little wall time
(the cursor is sequential; the client's core is otherwise idle most of the listing).

The products are published next to the raw partition in `_staging/listing_products/date=D/`
with the raw file's row count and size. A step uses a product only when those still describe
the published raw partition; any other case (a resumed listing, a raw partition written another
way, a product missing, unreadable or of another schema version) takes the step's own path
from the raw partition, which gives the same rows.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import pyarrow.fs as pafs

from hf_croissant_assets.lake.store import LakeStore

log = logging.getLogger(__name__)

#: The staging folder name of the published products.
STAGING = "listing_products"
HF_DATASETS_PRODUCT = "hf_datasets"
BOOKKEEPING_PRODUCT = "bookkeeping"
PRODUCTS: tuple[str, ...] = (HF_DATASETS_PRODUCT, BOOKKEEPING_PRODUCT)


def product_file(name: str) -> str:
    """A product's file name (not `*.parquet`: staging checkpoints end in that)."""
    return f"{name}.parquet.product"


@dataclass(frozen=True)
class ListingProduct:
    path: str
    rows: int


def _raw_identity(store: LakeStore, date: str) -> dict[str, int] | None:
    """The published raw partition's row count and size (None: there is none)."""
    if not store.exists("raw_listing", date):
        return None
    size = store.fs.get_file_info(store.part_path("raw_listing", date)).size
    return {"raw_rows": store.num_rows("raw_listing", date), "raw_bytes": int(size or 0)}


def clear_products(store: LakeStore, date: str) -> None:
    """Drop day `date`'s products (a new listing of the day is about to replace them)."""
    store.clear_staging(STAGING, date)


def publish_products(store: LakeStore, date: str, files: dict[str, tuple[str, int]]) -> None:
    """Move the listing pass's complete product files (`name -> (path, rows)`) next to the just
    published raw partition, recording that partition's identity; drop other days' products
    (only today can be listed, so they would never be used again)."""
    identity = _raw_identity(store, date)
    if identity is None:
        return
    directory = store.staging_dir(STAGING, date)
    store.write_state(STAGING, date, {**identity, "products": {}})  # none usable until the end
    rows: dict[str, int] = {}
    for name, (path, count) in files.items():
        if name not in PRODUCTS:
            raise ValueError(f"unknown listing product {name!r}")
        store.fs.move(path, f"{directory}/{product_file(name)}")
        rows[name] = count
    store.write_state(STAGING, date, {**identity, "products": rows})
    root = store.path("_staging", STAGING)
    for info in store.fs.get_file_info(pafs.FileSelector(root, allow_not_found=True)):
        day = info.base_name.removeprefix("date=")
        if info.type == pafs.FileType.Directory and day != info.base_name and day < date:
            with contextlib.suppress(OSError, ValueError):
                clear_products(store, day)


def listing_product(store: LakeStore, date: str, name: str) -> ListingProduct | None:
    """Product `name` of day `date`'s listing pass, if it was made from the raw partition
    published now (same rows, same size) and its file is there; else None."""
    if name not in PRODUCTS:
        raise ValueError(f"unknown listing product {name!r}")
    state = store.read_state(STAGING, date)
    if not isinstance(state, dict):
        return None
    products = state.get("products")
    if not isinstance(products, dict) or not isinstance(products.get(name), int):
        return None
    identity = _raw_identity(store, date)
    if identity is None or any(state.get(k) != v for k, v in identity.items()):
        log.info(
            "listing %s: the listing pass's %s is of another raw partition; unused", date, name
        )
        return None
    path = f"{store.staging_dir(STAGING, date)}/{product_file(name)}"
    if store.fs.get_file_info(path).type != pafs.FileType.File:
        return None
    return ListingProduct(path, products[name])


def consume_product(store: LakeStore, date: str, name: str) -> None:
    """Forget product `name` (its file was moved away or is no longer needed)."""
    state = store.read_state(STAGING, date)
    if not isinstance(state, dict) or not isinstance(state.get("products"), dict):
        return
    state["products"].pop(name, None)
    path = f"{store.staging_dir(STAGING, date)}/{product_file(name)}"
    with contextlib.suppress(OSError):
        store.fs.delete_file(path)
    if state["products"]:
        store.write_state(STAGING, date, state)
    else:
        clear_products(store, date)
