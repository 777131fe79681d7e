"""The listing pass's products: `hf_datasets` and the plan's spool made while the pages are
listed (`lake.listing_products`).

They must be exactly what the steps would have made from the raw partition, be used only for
the raw partition they were made from, pass the same audit, and never cost the listing anything
when they fail.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hf_croissant_assets.curate import tables as tables_module
from hf_croissant_assets.curate.listing_rows import typed_listing_batch
from hf_croissant_assets.curate.tables import curate_datasets
from hf_croissant_assets.hub.client import HubClient
from hf_croissant_assets.ingest import listing_crawl
from hf_croissant_assets.ingest import plan as plan_module
from hf_croissant_assets.ingest.listing_crawl import STAGING, crawl_listing, snapshot_listing
from hf_croissant_assets.ingest.plan import spool_of_typed, spool_rows
from hf_croissant_assets.lake import listing_products
from hf_croissant_assets.lake.listing_products import (
    BOOKKEEPING_PRODUCT,
    HF_DATASETS_PRODUCT,
    clear_products,
    listing_product,
)
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets_tests.hub_emulator import running_emulator
from hf_croissant_assets_tests.listing_golden import _emulator_config
from hf_croissant_assets_tests.support import FAST_RETRY

DATE = "2026-11-21"


def _list(emu, store: LakeStore, date: str = DATE, *, limit: int = 200, publish: bool = True):
    async def go():
        async with HubClient(emu.base_url, retry=FAST_RETRY) as client:
            original = client.listing_url
            client.listing_url = lambda expand, _limit=1000: original(expand, limit)
            if publish:
                return await snapshot_listing(client, store, date, checkpoint_pages=2)
            return await crawl_listing(client, store, date, checkpoint_pages=2)

    return asyncio.run(go())


def _file(store: LakeStore, table: str, date: str = DATE) -> tuple[list[dict], list[int], dict]:
    f = pq.ParquetFile(store.part_path(table, date))
    groups = [f.metadata.row_group(i).num_rows for i in range(f.metadata.num_row_groups)]
    rows = [
        {k: "NaN" if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in f.read().to_pylist()
    ]
    return rows, groups, f.schema_arrow.metadata


def _no_decoding(*args, **kwargs):
    raise AssertionError("the raw partition was decoded again")


@pytest.fixture
def listed(tmp_path):
    """A lake with a listing published by a fresh crawl, and the same raw partition in a second
    lake without the products (the reference: each step decodes the raw partition)."""
    ours = LakeStore(str(tmp_path / "ours"))
    # the listing-equality scenario's Hub: hostile values, duplicated and extra ids
    with running_emulator(**_emulator_config()) as emu:
        _list(emu, ours)
    reference = LakeStore(str(tmp_path / "reference"))
    os.makedirs(os.path.dirname(reference.part_path("raw_listing", DATE)))
    shutil.copyfile(ours.part_path("raw_listing", DATE), reference.part_path("raw_listing", DATE))
    return ours, reference


def test_hf_datasets_is_the_file_the_listing_pass_curated(listed, monkeypatch):
    ours, reference = listed
    assert listing_product(reference, DATE, HF_DATASETS_PRODUCT) is None
    expected = curate_datasets(reference, DATE)
    assert listing_product(ours, DATE, HF_DATASETS_PRODUCT) is not None
    with monkeypatch.context() as m:
        m.setattr(tables_module, "curate_listing_batch", _no_decoding)
        written = curate_datasets(ours, DATE)
    assert written.rows == expected.rows > 700
    assert _file(ours, "hf_datasets") == _file(reference, "hf_datasets")  # rows, groups, metadata
    # used once: its rows were read; the plan's spool stays for the crawl
    assert listing_product(ours, DATE, HF_DATASETS_PRODUCT) is None
    assert listing_product(ours, DATE, BOOKKEEPING_PRODUCT) is not None


def test_the_plan_spool_is_the_one_the_listing_pass_wrote(listed, tmp_path, monkeypatch):
    ours, reference = listed
    with monkeypatch.context() as m:
        m.setattr(plan_module, "spool_rows", _no_decoding)
        rows = plan_module._spool_listing(ours, DATE, str(tmp_path / "ours.parquet"))
    assert rows == plan_module._spool_listing(reference, DATE, str(tmp_path / "ref.parquet"))
    got, want = pq.read_table(tmp_path / "ours.parquet"), pq.read_table(tmp_path / "ref.parquet")
    assert got.schema.equals(want.schema) and got.num_rows == want.num_rows > 700
    assert got.to_pylist() == want.to_pylist()
    # and the whole plan is the same
    a = plan_module.plan_day(ours, DATE)
    b = plan_module.plan_day(reference, DATE)
    assert a.counts == b.counts
    assert a.candidates.equals(b.candidates)


@pytest.mark.parametrize("change", ["fewer_rows", "same_rows"])
def test_a_product_of_another_raw_partition_is_not_used(listed, change):
    ours, _ = listed
    raw = ours.read_table("raw_listing", DATE)
    if change == "fewer_rows":
        raw = raw.slice(0, raw.num_rows - 1)
    else:  # the same rows written again (another encoding: another size)
        raw = raw.take(list(reversed(range(raw.num_rows))))
    ours.write_table("raw_listing", DATE, raw)
    assert listing_product(ours, DATE, HF_DATASETS_PRODUCT) is None
    assert listing_product(ours, DATE, BOOKKEEPING_PRODUCT) is None
    assert curate_datasets(ours, DATE).rows == raw.num_rows


def test_the_product_passes_the_same_audit_and_a_veto_falls_back_to_the_raw(listed):
    ours, _ = listed

    def veto(parquet: pq.ParquetFile) -> None:
        assert parquet.metadata.num_rows > 700
        raise ValueError("vetoed")

    with pytest.raises(ValueError, match="vetoed"):
        curate_datasets(ours, DATE, audit=veto)
    assert not ours.exists("hf_datasets", DATE)
    assert os.path.exists(ours.path("_staging", "rejected", "hf_datasets", f"date={DATE}"))
    # the next attempt decodes the raw partition
    assert listing_product(ours, DATE, HF_DATASETS_PRODUCT) is None
    assert curate_datasets(ours, DATE).rows > 700


def test_a_failing_listing_pass_costs_the_listing_nothing(tmp_path, monkeypatch, caplog):
    store = LakeStore(str(tmp_path / "lake"))
    calls = [0]
    original = listing_crawl.typed_listing_batch

    def fails_on_the_third(table):
        calls[0] += 1
        if calls[0] == 3:
            raise RuntimeError("bug in the listing pass")
        return original(table)

    monkeypatch.setattr(listing_crawl, "typed_listing_batch", fails_on_the_third)
    with caplog.at_level(logging.WARNING), running_emulator(datasets=1500, seed=3) as emu:
        result = _list(emu, store)
        expected = sorted(emu.listed_ids())
    assert result.rows == 1500
    assert sorted(store.read_table("raw_listing", DATE).column("id").to_pylist()) == expected
    assert "listing pass" in caplog.text and "bug in the listing pass" in caplog.text
    assert listing_product(store, DATE, HF_DATASETS_PRODUCT) is None
    assert listing_product(store, DATE, BOOKKEEPING_PRODUCT) is None
    # no product file, temporary or not, is left behind
    left = [f for _, _, files in os.walk(store.path("_staging")) for f in files if "product" in f]
    assert left == []
    assert curate_datasets(store, DATE).rows == 1500


def test_a_resumed_listing_has_no_products_and_drops_the_old_ones(tmp_path):
    store = LakeStore(str(tmp_path / "lake"))
    with running_emulator(datasets=900, seed=3) as emu:
        _list(emu, store)  # products of the first raw partition
        assert listing_product(store, DATE, BOOKKEEPING_PRODUCT) is not None
        # the day listed again, resumed from checkpoints (no direct file, no products)
        _list(emu, store, publish=False)
        state = store.read_state(STAGING, DATE)
        del state["complete"], state["products"]
        store.write_state(STAGING, DATE, state)
        listing_crawl.publish_listing(store, DATE, 900)
    assert store.read_state(listing_products.STAGING, DATE) is None
    assert curate_datasets(store, DATE).rows == 900


def test_a_newer_days_products_drop_the_older_days(tmp_path):
    store = LakeStore(str(tmp_path / "lake"))
    with running_emulator(datasets=500, seed=3) as emu:
        _list(emu, store, "2026-11-20")
        assert listing_product(store, "2026-11-20", BOOKKEEPING_PRODUCT) is not None
        _list(emu, store, "2026-11-21")
    assert store.read_state(listing_products.STAGING, "2026-11-20") is None
    assert listing_product(store, "2026-11-21", BOOKKEEPING_PRODUCT) is not None
    clear_products(store, "2026-11-21")
    assert listing_product(store, "2026-11-21", BOOKKEEPING_PRODUCT) is None


def test_the_spool_taken_from_typed_rows_equals_the_decoded_one(listed):
    """The listing pass takes the plan's spool from the curated columns of a slice whose every
    object fit the typed decode (`spool_of_typed`), else decodes it (`spool_rows`)."""
    ours, _ = listed
    raw = ours.read_table("raw_listing", DATE)
    fits = [typed_listing_batch(raw.slice(i, 1))[1] for i in range(raw.num_rows)]
    assert 0 < fits.count(False) < 50  # the scenario's hostile objects
    typed = raw.filter(pa.array(fits))
    curated, every_row_typed = typed_listing_batch(typed)
    assert every_row_typed and curated.num_rows == typed.num_rows
    assert spool_of_typed(typed, curated, 1234).equals(spool_rows(typed, 1234))
    assert not typed_listing_batch(raw)[1]
    with pytest.raises(ValueError):
        spool_of_typed(raw, curated, 0)


def test_products_that_cannot_be_kept_cost_the_listing_nothing(tmp_path, monkeypatch, caplog):
    store = LakeStore(str(tmp_path / "lake"))

    def refused(*args, **kwargs):
        raise OSError("access denied")

    monkeypatch.setattr(listing_crawl, "publish_products", refused)
    with caplog.at_level(logging.WARNING), running_emulator(datasets=700, seed=3) as emu:
        result = _list(emu, store)
    assert result.rows == 700 and store.num_rows("raw_listing", DATE) == 700
    assert "could not be kept" in caplog.text and "access denied" in caplog.text
    assert listing_product(store, DATE, HF_DATASETS_PRODUCT) is None
    assert curate_datasets(store, DATE).rows == 700
