"""Ground truth from the emulator's Python API (no server, no HTTP).

Two `HubEmulator` objects with the same configuration agree with each other, so one built here
answers what the emulator subprocess serves.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pyarrow as pa

from hf_croissant_assets.hub.client import MAX_REASON_CHARS
from hf_croissant_assets.ingest.croissant_crawl import stamped_records_schema
from hf_croissant_assets.ingest.plan import read_listing
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import CROISSANT_RECORDS, TIMESTAMP
from hf_croissant_assets_tests.hub_emulator import EmulatorConfig, HubEmulator

_INDEX = re.compile(r"(\d+)$")


def _index(dataset_id: str) -> int:
    # Every emulator id ends with its index ("author-n/stem-123" or legacy "stem123").
    return int(_INDEX.search(dataset_id).group(1))


def churn_counts(config: dict[str, Any], day_a: int, day_b: int) -> dict[str, Any]:
    """new / changed / deleted between two days, from `catalog()`, streaming (O(1) memory).

    Both catalogs come in ascending index order, so a merge join pairs them. `changed` means
    listed on both days with a different `sha` or `lastModified` (what the plan compares).
    Meant to run in a child process: it costs ~20 s of CPU for 2 x 500k datasets.
    """
    started = time.perf_counter()
    emu = HubEmulator(EmulatorConfig(**config))
    a_iter = iter(emu.catalog(day=day_a))
    b_iter = iter(emu.catalog(day=day_b))
    new = changed = deleted = unchanged = 0
    listed_a = listed_b = 0
    a = next(a_iter, None)
    b = next(b_iter, None)
    while a is not None or b is not None:
        ia = _index(a["id"]) if a is not None else None
        ib = _index(b["id"]) if b is not None else None
        if b is None or (a is not None and ia < ib):
            deleted += 1
            listed_a += 1
            a = next(a_iter, None)
        elif a is None or ib < ia:
            new += 1
            listed_b += 1
            b = next(b_iter, None)
        else:
            if a["sha"] != b["sha"] or a["lastModified"] != b["lastModified"]:
                changed += 1
            else:
                unchanged += 1
            listed_a += 1
            listed_b += 1
            a = next(a_iter, None)
            b = next(b_iter, None)
    return {
        "listed_day_a": listed_a,
        "listed_day_b": listed_b,
        "new": new,
        "changed": changed,
        "deleted": deleted,
        "unchanged": unchanged,
        "wall_s": time.perf_counter() - started,
    }


def _answer(emu: HubEmulator, dataset_id: str, day: int) -> tuple[int, str]:
    """(status, body) as `GET /api/datasets/{id}/croissant` answers without a token."""
    inner = getattr(emu, "_croissant", None)
    if inner is not None:  # one call, and the exact error body (the public API has no 4xx body)
        return inner(dataset_id, day, None)
    status = emu.croissant_status(dataset_id, day=day)
    body = emu.croissant_document(dataset_id, day=day) if status == 200 else ""
    return status, body


def write_records_from_ground_truth(
    store: LakeStore,
    date: str,
    config: dict[str, Any],
    day: int,
    request_time: str,
    batch_size: int = 2000,
) -> dict[str, Any]:
    """Write `croissant_records` for `date` as if every listed dataset had been fetched.

    The listed datasets, their `sha` and `last_modified` come from the day's raw listing through
    `incremental.read_listing` (exactly what `crawl_croissant` records next to a fetched answer);
    status and body from the emulator's ground truth for `day`. Streams in batches.
    """
    started = time.perf_counter()
    emu = HubEmulator(EmulatorConfig(**config))
    # in `dataset` order, as `crawl_croissant` writes the records (the next day merges with it)
    listing = read_listing(store, date).sort("dataset")
    statuses: dict[int, int] = {}
    # stamped with a write id as the crawl stamps its files: the next day's tables then recognise
    # the rows carried from this file by their fetch, as they would after a real crawl
    with store.writer("croissant_records", date, stamped_records_schema()) as writer:
        for offset in range(0, listing.height, batch_size):
            chunk = listing.slice(offset, batch_size)
            ids = chunk["dataset"].to_list()
            status_col: list[int] = []
            body_col: list[str | None] = []
            reason_col: list[str | None] = []
            for dataset_id in ids:
                status, text = _answer(emu, dataset_id, day)
                statuses[status] = statuses.get(status, 0) + 1
                status_col.append(status)
                if status == 200:
                    body_col.append(text)
                    reason_col.append(None)
                else:  # the client keeps a non-200 body as `reason`, trimmed
                    body_col.append(None)
                    reason_col.append(text[:MAX_REASON_CHARS])
            n = len(ids)
            table = pa.table(
                {
                    "dataset": pa.array(ids, pa.string()),
                    "request_time": pa.array([request_time] * n, pa.string()),
                    "status": pa.array(status_col, pa.int32()),
                    "reason": pa.array(reason_col, pa.string()),
                    "croissant": pa.array(body_col, pa.string()),
                    "sha": pa.array(chunk["sha"].to_list(), pa.string()),
                    "last_modified": pa.array(chunk["last_modified"].to_list(), TIMESTAMP),
                },
                schema=CROISSANT_RECORDS,
            )
            writer.write(table)
    return {
        "rows": writer.rows,
        "bytes": writer.result.bytes,
        "status_counts": {str(k): v for k, v in sorted(statuses.items())},
        "wall_s": time.perf_counter() - started,
    }
