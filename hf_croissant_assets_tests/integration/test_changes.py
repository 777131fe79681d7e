"""`hf_dataset_changes` over a multi-day emulator sequence with known churn: exactly the expected
events, nothing more; a gap day is diffed against the newest earlier snapshot."""

from __future__ import annotations

import hashlib
from datetime import date as Date
from typing import Any

import pyarrow as pa
import pytest
from dagster import materialize

from hf_croissant_assets.curate.changes import MIN_DOWNLOADS_JUMP, compute_changes
from hf_croissant_assets.curate.checks import AuditFailed, events_match_snapshots
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import CHANGE_KINDS, HF_DATASET_CHANGES
from hf_croissant_assets_tests.hub_emulator import running_emulator
from hf_croissant_assets_tests.support import (
    croissant_records,
    hf_croissant,
    hf_dataset_changes,
    hf_dataset_listing,
    hf_datasets,
    make_resources,
)

pytestmark = pytest.mark.slow

D0, D1, D3 = "2026-11-16", "2026-11-17", "2026-11-19"  # no snapshot on 2026-11-18 (a gap)
ASSETS = [hf_dataset_listing, croissant_records, hf_datasets, hf_croissant, hf_dataset_changes]
FACTOR = 2.0


def _run_day(emulator, lake_dir, date):
    result = materialize(
        ASSETS,
        partition_key=date,
        resources=make_resources(emulator.base_url, lake_dir, now=f"{date}T12:00:00+00:00"),
        raise_on_error=False,
    )
    assert result.success
    return {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }


def _license(item: dict[str, Any]) -> str | None:
    for tag in item.get("tags") or []:
        if tag.startswith("license:"):
            return tag[len("license:") :]
    return None


def _gated(item: dict[str, Any]) -> str:
    g = item.get("gated")
    return "false" if g is False or g is None else str(g)


class Truth:
    """What the Hub served at each crawl (captured from the emulator when the day ran) and the
    Croissant record the incremental pipeline must hold: re-fetched when the sha/lastModified
    changed or a recent 400 is re-checked, carried forward otherwise."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, dict[str, Any]]] = {}
        self.croissant: dict[str, dict[str, tuple[int, str | None]]] = {}

    def capture(self, emulator, date: str, recheck_days: float = 3.0) -> None:
        items = {d["id"]: d for d in emulator.catalog()}
        previous = self.croissant[max(self.croissant)] if self.croissant else {}
        prev_items = self.items[max(self.items)] if self.items else {}
        day_end = Date.fromisoformat(date).toordinal() + 1
        records: dict[str, tuple[int, str | None]] = {}
        for dataset, item in items.items():
            old = prev_items.get(dataset)
            created = Date.fromisoformat(item["createdAt"][:10]).toordinal()
            modified = Date.fromisoformat(item["lastModified"][:10]).toordinal()
            recent = max(created, modified) >= day_end - recheck_days
            fetch = (
                dataset not in previous
                or old is None
                or (old["sha"], old["lastModified"]) != (item["sha"], item["lastModified"])
                or (previous[dataset][0] == 400 and recent)
            )
            if fetch:
                status = emulator.croissant_status(dataset)
                doc = emulator.croissant_document(dataset) if status == 200 else None
                records[dataset] = (status, doc)
            else:
                records[dataset] = previous[dataset]
        self.items[date] = items
        self.croissant[date] = records

    def events(self, a: str, b: str) -> set[tuple[str, str, str | None, str | None]]:
        ia, ib = self.items[a], self.items[b]
        ca, cb = self.croissant[a], self.croissant[b]
        out = set()
        for d in ib.keys() - ia.keys():
            out.add((d, "created", None, ib[d]["sha"]))
        for d in ia.keys() - ib.keys():
            out.add((d, "deleted", ia[d]["sha"], None))
        for d in ia.keys() & ib.keys():
            x, y = ia[d], ib[d]
            if x["sha"] != y["sha"]:
                out.add((d, "updated", x["sha"], y["sha"]))
            if _license(x) != _license(y):
                out.add((d, "license_changed", _license(x), _license(y)))
            if _gated(x) != _gated(y):
                out.add((d, "gated_changed", _gated(x), _gated(y)))
            if x["disabled"] != y["disabled"]:
                out.add((d, "disabled_changed", str(x["disabled"]).lower(),
                         str(y["disabled"]).lower()))  # fmt: skip
            if (
                y["downloads"] >= FACTOR * x["downloads"]
                and y["downloads"] - x["downloads"] >= MIN_DOWNLOADS_JUMP
            ):
                out.add((d, "downloads_jump", str(x["downloads"]), str(y["downloads"])))
            (sa, da), (sb, db) = ca[d], cb[d]
            if sb == 200 and sa != 200:
                out.add((d, "croissant_appeared", str(sa), "200"))
            elif sa == 200 and sb != 200:
                out.add((d, "croissant_disappeared", "200", str(sb)))
            elif sa != sb:
                out.add((d, "croissant_status_changed", str(sa), str(sb)))
            elif sa == 200 and da != db:
                md5 = lambda t: hashlib.md5(t.encode()).hexdigest()  # noqa: E731
                out.add((d, "croissant_changed", md5(da), md5(db)))
        return out


def _events(store: LakeStore, date: str) -> set[tuple[str, str, str | None, str | None]]:
    rows = store.read_table("hf_dataset_changes", date).to_pylist()
    found = {(r["dataset"], r["change"], r["before"], r["after"]) for r in rows}
    assert len(found) == len(rows), "duplicate events"
    return found


def _sha_changes(emulator, a: int, b: int) -> list[str]:
    before = {d["id"]: d["sha"] for d in emulator.catalog(a)}
    return sorted(d["id"] for d in emulator.catalog(b) if before.get(d["id"], d["sha"]) != d["sha"])


def test_multi_day_sequence_yields_exactly_the_expected_events(tmp_path):
    lake_dir = tmp_path / "lake"
    store = LakeStore(str(lake_dir))
    truth = Truth()
    with running_emulator(
        datasets=300, seed=11, new_per_day=0.02, modify_rate=0.05, delete_rate=0.01, epoch=D0
    ) as emu:
        ids0 = emu.dataset_ids(0)
        status0 = {d: emu.croissant_status(d, day=0) for d in ids0}
        meta0 = _run_day(emu, lake_dir, D0)
        truth.capture(emu, D0)
        assert meta0["hf_dataset_changes"]["dagster/row_count"].value == 0  # nothing before D0

        # -- day 1: license and gating changes, a 200 that breaks, a new dataset still at 400
        emu.set_day(1)
        changed1 = _sha_changes(emu, 0, 1)
        stable = [d for d in ids0 if d in set(emu.dataset_ids(1)) and d not in changed1]
        lic = next(d for d in stable if _license(emu.dataset(d)) is not None)
        gate = next(d for d in stable if emu.dataset(d)["gated"] is False and d != lic)
        breaks = next(d for d in changed1 if status0[d] == 200)
        new1 = sorted(set(emu.dataset_ids(1)) - set(ids0))
        pending = next(d for d in new1 if emu.croissant_status(d) == 200)
        item = emu.dataset(lic)
        tags = [t for t in item["tags"] if not t.startswith("license:")] + ["license:cc0-1.0"]
        if _license(item) == "cc0-1.0":
            tags[-1] = "license:odc-by"
        emu.update_config(
            listing_overrides={lic: {"tags": tags}, gate: {"gated": "manual"}},
            fail_always={breaks: 404, pending: 400},
        )
        meta1 = _run_day(emu, lake_dir, D1)
        truth.capture(emu, D1)
        got1 = _events(store, D1)
        assert got1 == truth.events(D0, D1)
        kinds1 = {c for _, c, _, _ in got1}
        assert {"created", "updated", "license_changed", "gated_changed",
                "croissant_disappeared", "croissant_changed"} <= kinds1  # fmt: skip
        assert (lic, "license_changed") in {(d, c) for d, c, _, _ in got1}
        assert (breaks, "croissant_disappeared", "200", "404") in got1

        # -- day 3 (no day 2 in the lake): the new dataset's Croissant appears, a dataset is
        # disabled, one's downloads jump
        emu.set_day(3)
        ids3 = set(emu.dataset_ids(3))
        stable3 = [d for d in stable if d in ids3 and d not in (lic, gate, breaks)]
        disabled, jumped = stable3[0], stable3[1]
        base = emu.dataset(jumped)["downloads"]
        emu.update_config(
            listing_overrides=emu.config.listing_overrides
            | {disabled: {"disabled": True}, jumped: {"downloads": base * 10 + 1000}},
            fail_always={breaks: 404},
        )
        meta3 = _run_day(emu, lake_dir, D3)
        truth.capture(emu, D3)

    got3 = _events(store, D3)
    assert got3 == truth.events(D1, D3)
    assert (pending, "croissant_appeared", "400", "200") in got3  # re-checked: created recently
    assert (disabled, "disabled_changed", "false", "true") in got3
    assert any(d == jumped and c == "downloads_jump" for d, c, _, _ in got3)
    # the gap: D3 is compared with D1, the newest earlier snapshot
    prev = store.read_table("hf_dataset_changes", D3).column("previous_date").unique().to_pylist()
    assert prev == [Date.fromisoformat(D1)]
    assert meta3["hf_dataset_changes"]["previous_date"].value == D1

    # materialization metadata: counts per kind, every kind present
    for meta, got in ((meta1, got1), (meta3, got3)):
        counts = meta["hf_dataset_changes"]["events_by_kind"].value
        assert set(counts) == set(CHANGE_KINDS)
        for kind in CHANGE_KINDS:
            assert counts[kind] == sum(1 for _, c, _, _ in got if c == kind)
            assert meta["hf_dataset_changes"][f"events/{kind}"].value == counts[kind]

    # the appearance was timely because a recent 400 is re-checked daily (a plan priority
    # counted in the budget); with the re-check off it would wait until the 400 is stale
    from hf_croissant_assets.ingest.plan import plan_day

    # The plan as D3's crawl saw it, from D1 (once D3 is complete, a re-run plans from D3 itself).
    part = store.part_path("croissant_records", D3)
    store.fs.move(part, f"{part}.aside")
    try:
        on = plan_day(store, D3, recheck_unavailable_days=3)
        off = plan_day(store, D3, recheck_unavailable_days=0)
    finally:
        store.fs.move(f"{part}.aside", part)
    assert on.previous_date == D1
    recheck = on.candidates.filter(on.candidates["priority"] == 2)["dataset"].to_list()
    assert pending in recheck and on.counts["recently_unavailable"] == len(recheck)
    assert off.counts["recently_unavailable"] == 0
    assert pending not in off.candidates["dataset"].to_list()

    # re-deriving a day (what a backfill does) gives the same file content
    again = compute_changes(store, D3)
    assert _events(store, D3) == got3 and again.rows == len(got3)


def _write_day(store: LakeStore, date: str, ids: list[str]) -> None:
    from hf_croissant_assets.schema import HF_CROISSANT, HF_DATASETS

    store.write_table(
        "hf_datasets",
        date,
        pa.Table.from_pylist([{"dataset": d, "sha": "s"} for d in ids], schema=HF_DATASETS),
    )
    store.write_table(
        "hf_croissant",
        date,
        pa.Table.from_pylist([{"dataset": d, "status": 400} for d in ids], schema=HF_CROISSANT),
    )


def test_check_rejects_an_event_on_the_wrong_side(tmp_path):
    store = LakeStore(str(tmp_path / "lake"))
    _write_day(store, D0, ["a/x", "a/y"])
    _write_day(store, D1, ["a/y", "a/z"])
    good = compute_changes(store, D1)
    assert good.counts["created"] == 1 and good.counts["deleted"] == 1
    assert events_match_snapshots(store, D1, store.parquet_file("hf_dataset_changes", D1)).passed

    forged = pa.Table.from_pylist(
        [{"dataset": "a/x", "change": "created", "previous_date": Date.fromisoformat(D0)},
         {"dataset": "a/q", "change": "updated", "previous_date": Date.fromisoformat(D0)}],
        schema=HF_DATASET_CHANGES,
    )  # fmt: skip
    store.write_table("hf_dataset_changes", D1, forged)
    outcome = events_match_snapshots(store, D1, store.parquet_file("hf_dataset_changes", D1))
    assert not outcome.passed and outcome.metadata["mismatched"] == 2

    # and a diff whose file fails the audit is not published
    from hf_croissant_assets.curate import checks as quality

    def audit(parquet):
        outcomes = quality.audit(store, "hf_dataset_changes", D1, parquet, 0.2)
        raise AuditFailed(outcomes)

    with pytest.raises(AuditFailed):
        compute_changes(store, D1, audit=audit)
    assert store.read_table("hf_dataset_changes", D1).num_rows == 2  # the forged file stayed
