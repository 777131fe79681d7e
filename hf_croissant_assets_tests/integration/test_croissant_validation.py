"""`curate.validation`: verdicts agree with mlcroissant run directly; offline (a loopback trap
counts any request); time limit; carry-forward and budget across days on a real lake."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import mlcroissant as mlc
import pyarrow as pa
import pytest

from hf_croissant_assets.curate import validation
from hf_croissant_assets.curate.validation import (
    REASON_NOT_VALIDATED,
    REASON_REMOTE_CONTEXT,
    ValidatorPool,
    validate_day,
    validate_text,
    validator_version,
)
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import CROISSANT_VALIDATION, HF_CROISSANT
from hf_croissant_assets_tests.hub_emulator import DEFAULT_FIXTURES_DIR
from hf_croissant_assets_tests.hub_emulator.croissant_documents import slot_values
from hf_croissant_assets_tests.hub_emulator.croissant_generator import generated_template

pytestmark = pytest.mark.slow

FIXTURES = {p.name: p.read_text() for p in sorted(DEFAULT_FIXTURES_DIR.glob("*.json"))}


def _generated(task: int, fmt: int, variant: int) -> str:
    tpl = generated_template(task, fmt, variant)
    return tpl.render_padded(slot_values("org/name", "b" * 40, "apache-2.0", "card"), None)


def _direct_valid(text: str) -> bool:
    """mlcroissant as its own `validate` command runs it."""
    try:
        mlc.Dataset(jsonld=json.loads(text))
    except mlc.ValidationError:
        return False
    return True


DOCS = {
    **FIXTURES,
    "generated-parquet": _generated(0, 0, 3),
    "generated-image": _generated(5, 0, 1),
}


@pytest.mark.parametrize("name", sorted(DOCS))
def test_verdict_agrees_with_mlcroissant_run_directly(name: str) -> None:
    text = DOCS[name]
    verdict = validate_text(text, timeout_s=30)
    assert verdict.valid is _direct_valid(text)
    assert verdict.error_count == len(verdict.errors) or verdict.error_count > len(verdict.errors)
    assert (verdict.error_count == 0) is verdict.valid
    assert verdict.warning_count >= len(verdict.warnings)


def test_known_verdicts() -> None:
    # ibm_duorc is the Hub's old 1.0 shape: cr:FileObject where mlcroissant wants sc:FileObject
    duorc = validate_text(FIXTURES["ibm_duorc.json"])
    assert duorc.valid is False
    assert any("should have an attribute" in e for e in duorc.errors)
    squad = validate_text(FIXTURES["squad_v2.json"])
    assert squad.valid is True and squad.warnings  # recommended properties missing


def test_broken_documents_are_invalid_not_crashes() -> None:
    assert validate_text("not json").valid is False
    assert validate_text("[1]").reason == "not a JSON object"
    odd = validate_text(json.dumps({"@context": {}, "@type": "sc:Dataset", "recordSet": 5}))
    assert odd.valid is False and odd.errors


class _Trap:
    """A loopback HTTP server that serves a JSON-LD context and counts every request."""

    def __init__(self) -> None:
        self.hits = 0
        trap = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                trap.hits += 1
                body = json.dumps({"@context": {"@vocab": "https://schema.org/"}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/context.jsonld"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Trap:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def trap() -> Iterator[_Trap]:
    with _Trap() as t:
        yield t


def _remote_doc(url: str) -> str:
    doc = json.loads(FIXTURES["squad_v2.json"])
    doc["@context"] = [url, doc["@context"]]
    return json.dumps(doc)


def test_remote_context_is_an_error_never_fetched(trap: _Trap) -> None:
    # the trap works: a plain request reaches it
    import urllib.request

    with urllib.request.urlopen(trap.url, timeout=5) as answer:
        assert answer.status == 200
    assert trap.hits == 1

    text = _remote_doc(trap.url)
    in_process = validate_text(text)
    with ValidatorPool(workers=1, timeout_s=30) as pool:
        (in_worker,) = pool.validate([text])
    for verdict in (in_process, in_worker):
        assert verdict.valid is False
        assert verdict.reason == REASON_REMOTE_CONTEXT
        assert any(trap.url in e and "not fetched" in e for e in verdict.errors)
    assert trap.hits == 1  # only the request the test itself made


def test_worker_cannot_reach_the_network_even_past_the_precheck(trap: _Trap) -> None:
    """Hand mlcroissant itself a remote-context document in a worker: nothing leaves."""
    import multiprocessing

    doc = json.loads(_remote_doc(trap.url))
    with multiprocessing.get_context("spawn").Pool(1, initializer=validation._init_worker) as pool:
        outcome = pool.apply_async(_try_validate, (doc,)).get(timeout=120)
    assert trap.hits == 0
    assert outcome != "ok"


def _try_validate(doc: dict) -> str:
    try:
        errors, _ = validation._run_mlcroissant(doc)
    except Exception as exc:
        return f"raised {type(exc).__name__}"
    return "ok" if not errors else "errors"


def test_time_limit_per_document() -> None:
    verdict = validate_text(_generated(2, 0, 5), timeout_s=0.0005)
    assert verdict.valid is None
    assert verdict.reason and verdict.reason.startswith("timeout")


def _croissant_day(store: LakeStore, date: str, docs: dict[str, str | None]) -> None:
    rows = [
        {"dataset": d, "status": 200 if text else 404, "croissant": text}
        for d, text in docs.items()
    ]
    table = pa.Table.from_pylist(
        rows, schema=pa.schema([HF_CROISSANT.field(n) for n in ("dataset", "status", "croissant")])
    )
    full = {
        name: table.column(name)
        if name in table.column_names
        else pa.nulls(len(rows), HF_CROISSANT.field(name).type)
        for name in HF_CROISSANT.names
    }
    store.write_table("hf_croissant", date, pa.table(full, schema=HF_CROISSANT))


def test_validate_day_carries_forward_and_respects_the_budget(tmp_path) -> None:
    store = LakeStore(str(tmp_path / "lake"))
    docs = {
        "a/squad": FIXTURES["squad_v2.json"],
        "b/duorc": FIXTURES["ibm_duorc.json"],
        "c/gone": None,
    }
    docs["d/gen"] = _generated(1, 0, 2)
    _croissant_day(store, "2026-03-01", docs)
    _, result = validate_day(store, "2026-03-01", workers=2, timeout_s=30, max_docs=2)
    assert (result.rows, result.validated, result.not_validated) == (3, 2, 1)
    day1 = {
        r["dataset"]: r for r in store.read_table("croissant_validation", "2026-03-01").to_pylist()
    }
    assert set(day1) == {"a/squad", "b/duorc", "d/gen"}  # 404 has no row
    assert day1["a/squad"]["valid"] is True and day1["b/duorc"]["valid"] is False
    assert day1["d/gen"]["valid"] is None and day1["d/gen"]["reason"].startswith(
        REASON_NOT_VALIDATED
    )
    assert day1["a/squad"]["validator_version"] == validator_version()

    # day 2: squad unchanged (carried), duorc unchanged (carried), gen never validated (now is)
    docs["e/new"] = FIXTURES["pollen-robotics_apple_storage.json"]
    _croissant_day(store, "2026-03-02", docs)
    _, result2 = validate_day(store, "2026-03-02", workers=2, timeout_s=30, max_docs=100)
    assert (result2.carried_forward, result2.validated, result2.previous_date) == (
        2,
        2,
        "2026-03-01",
    )
    day2 = {
        r["dataset"]: r for r in store.read_table("croissant_validation", "2026-03-02").to_pylist()
    }
    assert day2["a/squad"]["validated_at"] == day1["a/squad"]["validated_at"]
    assert day2["d/gen"]["valid"] is not None and day2["e/new"]["valid"] is True
    assert store.read_table("croissant_validation", "2026-03-02").schema.equals(
        CROISSANT_VALIDATION, check_metadata=False
    )

    # a new validator version re-validates everything
    old = store.read_table("croissant_validation", "2026-03-02").to_pylist()
    for row in old:
        row["validator_version"] = "mlcroissant 0.0.1"
    store.write_table(
        "croissant_validation", "2026-03-02", pa.Table.from_pylist(old, schema=CROISSANT_VALIDATION)
    )
    _croissant_day(store, "2026-03-03", docs)
    _, result3 = validate_day(store, "2026-03-03", workers=1, timeout_s=30, max_docs=100)
    assert (result3.carried_forward, result3.validated) == (0, 4)


@pytest.mark.parametrize("previous_sorted", [True, False])
def test_carry_forward_reads_earlier_verdicts_range_by_range(tmp_path, previous_sorted) -> None:
    """Many batches (batch_size 7) against an earlier partition read in step: every unchanged
    document keeps exactly its own verdict, whatever the earlier file's order (an older, unsorted
    partition is sorted first); changed, new and non-200 documents are not carried."""
    import random

    import pyarrow.parquet as pq

    store = LakeStore(str(tmp_path / "lake"))
    rng = random.Random(3)
    ids = [f"o{rng.randrange(10**6):06d}/d{i}" for i in range(120)]
    docs: dict[str, str | None] = {d: json.dumps({"name": d, "v": 1}) for d in ids}
    version = validator_version()
    previous = [
        {
            "dataset": d,
            "document_sha256": validation.sha256_text(text or ""),
            "valid": i % 2 == 0,
            "errors": [] if i % 2 == 0 else [f"error of {d}"],
            "warnings": [],
            "error_count": i % 2,
            "warning_count": 0,
            "validator_version": version,
            "validated_at": "2026-03-01T00:00:00Z",
            "seconds": 0.01,
            "reason": None,
        }
        for i, (d, text) in enumerate(docs.items())
    ]
    table = pa.Table.from_pylist(previous, schema=CROISSANT_VALIDATION)
    if previous_sorted:
        store.write_table("croissant_validation", "2026-03-01", table)
    else:  # an older partition, written in the Hub's order
        path = store.part_path("croissant_validation", "2026-03-01")
        store.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        pq.write_table(table, path)
    changed = set(ids[::9])
    for d in changed:
        docs[d] = json.dumps({"name": d, "v": 2})
    docs[ids[5]] = None  # no longer served
    docs["zz/new"] = json.dumps({"name": "new"})
    _croissant_day(store, "2026-03-02", docs)

    result = validation.ValidationResult()
    pool = ValidatorPool(workers=1, timeout_s=5)
    try:
        rows = [
            row
            for t in validation.validation_rows(
                store, "2026-03-02", pool, max_docs=0, result=result, batch_size=7
            )
            for row in t.to_pylist()
        ]
    finally:
        pool.close()
    by_id = {r["dataset"]: r for r in rows}
    carried = set(ids) - changed - {ids[5]}
    assert result.previous_date == "2026-03-01"
    assert result.carried_forward == len(carried) and not pool.started
    assert set(by_id) == carried | (changed - {ids[5]}) | {"zz/new"}
    earlier = {r["dataset"]: r for r in previous}
    for d in carried:
        assert by_id[d] == earlier[d]
    for d in (changed - {ids[5]}) | {"zz/new"}:
        assert by_id[d]["valid"] is None and by_id[d]["reason"].startswith(REASON_NOT_VALIDATED)
