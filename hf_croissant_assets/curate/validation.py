"""Croissant documents checked by the MLCommons reference validator (`mlcroissant`), offline.

`validate_text` gives one verdict (valid, errors, warnings) for one document, exactly as
`mlcroissant.Dataset(jsonld=...)` -- what `mlcroissant validate` runs -- would decide it: the
document is read from its text, its metadata and operation graph are built, and every issue the
validator collects is reported (warnings too, which `Dataset` only logs).

Offline, always:

* a document whose `@context` (anywhere in it) is a URL rather than an inline object is an error
  ("remote @context ... not fetched") and is never handed to the validator;
* the worker processes that run the validator cannot open a network connection at all
  (`_block_network` replaces socket connect and name resolution before `mlcroissant` is imported),
  so nothing a document says can make a request leave the machine.

Each document gets a time limit (`SIGALRM` in the worker: the validator is pure Python) and the
pool is torn down if a worker stops answering; a document that timed out has `valid` null and a
`reason`. `validate_many` runs a batch on N worker processes; `validate_day` builds the day's
`croissant_validation` partition, validating only documents whose text (sha256) or validator
version changed since the newest earlier partition and carrying every other verdict forward.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import multiprocessing
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from hf_croissant_assets.lake.sorted_stream import SortedCursor, sorted_batches_of
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import CROISSANT_VALIDATION

#: Most errors / warnings kept per document (the counts columns keep the totals).
MAX_MESSAGES = 20
#: Longest message kept, in characters.
MAX_MESSAGE_CHARS = 500
#: Most `@context` values inspected while looking for remote ones.
MAX_CONTEXT_SCAN_NODES = 200_000
#: Extra seconds a document's result may take beyond its time limits before the pool is
#: considered stuck (a worker blocked in C code that ignores the alarm).
STUCK_GRACE_S = 60.0

REASON_TIMEOUT = "timeout"
REASON_REMOTE_CONTEXT = "remote @context"
REASON_NOT_JSON = "not a JSON object"
REASON_CRASH = "validator error"
REASON_NOT_VALIDATED = "not validated yet"
REASON_STUCK = "validator stuck"

log = logging.getLogger(__name__)


def validator_version() -> str:
    """`mlcroissant <version>`: stored with each verdict; a new version re-validates."""
    try:
        return f"mlcroissant {importlib.metadata.version('mlcroissant')}"
    except importlib.metadata.PackageNotFoundError:
        return "mlcroissant (not installed)"


@dataclass
class Verdict:
    """One document's result (the `croissant_validation` columns the validator decides)."""

    valid: bool | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error_count: int = 0
    warning_count: int = 0
    seconds: float = 0.0
    reason: str | None = None


class NetworkBlocked(OSError):
    """Raised by every socket connect / name lookup in a validator worker."""


def _blocked(*_args: Any, **_kwargs: Any) -> Any:
    raise NetworkBlocked("network access is disabled in the Croissant validator")


def _block_network() -> None:
    """Make every outgoing connection and DNS lookup of this process fail."""
    import socket

    socket.socket.connect = _blocked  # type: ignore[method-assign]
    socket.socket.connect_ex = _blocked  # type: ignore[method-assign]
    socket.socket.sendto = _blocked  # type: ignore[method-assign]
    socket.create_connection = _blocked
    socket.getaddrinfo = _blocked


def remote_contexts(doc: Any) -> list[str]:
    """Every `@context` value in `doc` that is (or lists) a string: a context to be fetched."""
    found: list[str] = []
    stack = [doc]
    scanned = 0
    while stack and scanned < MAX_CONTEXT_SCAN_NODES:
        node = stack.pop()
        scanned += 1
        if type(node) is dict:
            ctx = node.get("@context")
            if ctx is not None:
                for item in ctx if type(ctx) is list else [ctx]:
                    if type(item) is str:
                        found.append(item[:200])
            stack.extend(v for v in node.values() if type(v) in (dict, list))
        elif type(node) is list:
            stack.extend(v for v in node if type(v) in (dict, list))
    if stack:
        found.append("(document too large to inspect for remote contexts)")
    return found


def _cap(messages: Iterable[str]) -> tuple[list[str], int]:
    items = sorted(messages)
    return [m[:MAX_MESSAGE_CHARS] for m in items[:MAX_MESSAGES]], len(items)


class _Timeout(BaseException):
    """BaseException, so that no `except Exception` inside the validator can swallow it."""


def _on_alarm(_signum: int, _frame: Any) -> None:
    raise _Timeout()


def _run_mlcroissant(doc: dict) -> tuple[set[str], set[str]]:
    """(errors, warnings) of `doc` as `mlcroissant.Dataset(jsonld=doc)` would decide them."""
    import mlcroissant as mlc
    from mlcroissant._src.datasets import get_operations  # what Dataset.__post_init__ runs

    ctx = mlc.Context()
    try:
        metadata = mlc.Metadata.from_json(ctx=ctx, json_=doc)
        get_operations(ctx, metadata)
    except mlc.ValidationError:
        pass  # the issues are in ctx
    errors = set(ctx.issues.errors)
    warnings = set(ctx.issues.warnings)
    return errors, warnings


def validate_text(text: str | bytes | None, timeout_s: float = 10.0) -> Verdict:
    """The verdict on one document's text. Never raises; never touches the network."""
    start = time.perf_counter()
    try:
        doc = json.loads(text) if text is not None else None
    except (ValueError, RecursionError) as exc:
        return Verdict(False, [f"not JSON: {str(exc)[:200]}"], [], 1, 0, 0.0, REASON_NOT_JSON)
    if type(doc) is not dict:
        return Verdict(False, ["the document is not a JSON object"], [], 1, 0, 0.0, REASON_NOT_JSON)
    remote = remote_contexts(doc)
    if remote:
        remote_errors = [
            f"remote @context not fetched (validation is offline): {u}" for u in remote
        ]
        capped, count = _cap(remote_errors)
        return Verdict(False, capped, [], count, 0, 0.0, REASON_REMOTE_CONTEXT)
    use_alarm = timeout_s > 0 and _can_alarm()
    previous = None
    errors: set[str]
    warnings: set[str]
    try:
        if use_alarm:
            previous = signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout_s)
        try:
            errors, warnings = _run_mlcroissant(doc)
        except RecursionError:
            errors, warnings = {"validator error: nesting too deep"}, set()
        except Exception as exc:  # noqa: BLE001 - the validator rejected the document by crashing
            errors, warnings = {f"validator error: {type(exc).__name__}: {str(exc)[:300]}"}, set()
        finally:
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
    except _Timeout:  # also when the alarm fired in a handler above, before it was disarmed
        seconds = time.perf_counter() - start
        return Verdict(None, [], [], 0, 0, seconds, f"{REASON_TIMEOUT} after {timeout_s:g} s")
    seconds = time.perf_counter() - start
    kept_errors, n_errors = _cap(errors)
    kept_warnings, n_warnings = _cap(warnings)
    crashed = any(e.startswith("validator error:") for e in kept_errors)
    return Verdict(
        not errors,
        kept_errors,
        kept_warnings,
        n_errors,
        n_warnings,
        seconds,
        REASON_CRASH if crashed else None,
    )


def _can_alarm() -> bool:
    import threading

    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _init_worker() -> None:
    """Worker start: no network, quiet logs, the validator imported once."""
    _block_network()
    logging.disable(logging.WARNING)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # pragma: no cover - absl comes with mlcroissant
        pass
    import mlcroissant  # noqa: F401 - warm the import before the first document


def _noop(_: int) -> None:
    return None


def _worker(args: tuple[str | bytes, float]) -> Verdict:
    text, timeout_s = args
    return validate_text(text, timeout_s)


class ValidatorPool:
    """N worker processes running `validate_text`, torn down and restarted if one gets stuck."""

    def __init__(self, workers: int, timeout_s: float) -> None:
        self.workers = max(1, workers)
        self.timeout_s = timeout_s
        self._pool: Any = None

    @property
    def started(self) -> bool:
        return self._pool is not None

    def start(self) -> float:
        """Start the workers now (spawn + validator import); returns the seconds it took."""
        t0 = time.perf_counter()
        pool = self._start()
        pool.map(_noop, range(self.workers))
        return time.perf_counter() - t0

    def _start(self) -> Any:
        if self._pool is None:
            # spawn: never fork the (multi-threaded) Dagster or test process
            self._pool = multiprocessing.get_context("spawn").Pool(
                self.workers, initializer=_init_worker
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> ValidatorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def validate(self, texts: list[str | bytes]) -> list[Verdict]:
        """Verdicts aligned with `texts`; documents left when the pool got stuck say so."""
        out: list[Verdict] = []
        if not texts:
            return out
        pool = self._start()
        # results come in order: the next one is due at most a couple of time limits after the
        # previous (workers run ahead on later documents meanwhile)
        wait = 2 * max(self.timeout_s, 1.0) + STUCK_GRACE_S
        results = pool.imap(_worker, [(t, self.timeout_s) for t in texts])
        try:
            while len(out) < len(texts):
                try:
                    out.append(results.next(timeout=wait))
                except multiprocessing.TimeoutError:
                    raise
                except Exception as exc:  # noqa: BLE001 - one document's failure, not the batch's
                    out.append(Verdict(None, reason=f"{REASON_CRASH}: {type(exc).__name__}"))
        except multiprocessing.TimeoutError:
            log.warning("validator pool stuck; restarting it (%d documents left)", len(texts))
            self.close()
            stuck = Verdict(None, reason=f"{REASON_STUCK}: retried next run")
            out += [stuck] * (len(texts) - len(out))
        return out


def sha256_text(text: str | bytes) -> str:
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


@dataclass
class ValidationResult:
    rows: int = 0
    validated: int = 0
    carried_forward: int = 0
    not_validated: int = 0
    valid: int = 0
    invalid: int = 0
    timed_out: int = 0
    seconds: float = 0.0
    pool_startup_s: float = 0.0
    previous_date: str | None = None
    validator_version: str = ""

    @property
    def docs_per_s(self) -> float:
        return self.validated / self.seconds if self.seconds > 0 else 0.0


class _Previous:
    """The newest earlier partition's verdicts, read range by range in `dataset` order alongside
    the day's documents (both partitions are stored sorted; an older unsorted one is sorted out
    of core), so memory holds one batch's range, never every verdict of the Hub."""

    def __init__(self, store: LakeStore, date: str) -> None:
        self.date = store.newest_before("croissant_validation", date)
        self._cursor = (
            SortedCursor(sorted_batches_of(store, "croissant_validation", self.date))
            if self.date is not None
            else None
        )

    def through(self, hi: str) -> dict[str, dict[str, Any]]:
        """The earlier verdicts of datasets <= `hi` not returned yet, by dataset."""
        taken = self._cursor.take_through(hi) if self._cursor is not None else None
        if taken is None:
            return {}
        return {row["dataset"]: row for row in taken.to_pylist() if row["dataset"] is not None}


def _carry(row: dict[str, Any] | None, sha: str, version: str) -> bool:
    """Whether an earlier verdict stands: same text, same validator, actually decided."""
    if row is None or row["document_sha256"] != sha or row["validator_version"] != version:
        return False
    reason = row["reason"] or ""
    return not reason.startswith((REASON_NOT_VALIDATED, REASON_STUCK))


#: Documents gathered (across input batches) before they are sent to the workers together:
#: enough to keep every worker busy between two waits.
DISPATCH_DOCS = 256
#: Rows held back at most while gathering documents (bounds memory on a mostly carried day).
DISPATCH_ROWS = 20_000


def validation_rows(
    store: LakeStore,
    date: str,
    pool: ValidatorPool,
    *,
    max_docs: int,
    result: ValidationResult,
    batch_size: int = 1_000,
    progress: Callable[[str], None] | None = None,
) -> Iterator[pa.Table]:
    """The day's `croissant_validation` rows, in input order (see `validate_day`)."""
    version = validator_version()
    result.validator_version = version
    previous = _Previous(store, date)
    result.previous_date = previous.date
    budget = max_docs
    columns = ["dataset", "status", "croissant"]
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    todo: list[tuple[int, str]] = []

    def flush() -> pa.Table:
        if todo and not pool.started:  # worker start-up is reported apart from the throughput
            result.pool_startup_s = pool.start()
        t0 = time.perf_counter()
        verdicts = pool.validate([text for _, text in todo])
        result.seconds += time.perf_counter() - t0
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        for (index, _), verdict in zip(todo, verdicts, strict=True):
            rows[index] |= {
                "valid": verdict.valid,
                "errors": verdict.errors,
                "warnings": verdict.warnings,
                "error_count": verdict.error_count,
                "warning_count": verdict.warning_count,
                "validator_version": version,
                "validated_at": now,
                "seconds": round(verdict.seconds, 4),
                "reason": verdict.reason,
            }
            result.validated += 1
            if verdict.valid is None:
                result.timed_out += 1
        for row in rows:
            if row["valid"] is True:
                result.valid += 1
            elif row["valid"] is False:
                result.invalid += 1
        result.rows += len(rows)
        if progress and todo:
            elapsed = time.perf_counter() - started
            progress(
                f"croissant_validation {date}: {result.rows} rows, {result.validated} validated, "
                f"{result.carried_forward} carried forward ({elapsed:.0f} s)"
            )
        table = pa.Table.from_pylist(rows, schema=CROISSANT_VALIDATION)
        rows.clear()
        todo.clear()
        return table

    for batch in sorted_batches_of(store, "hf_croissant", date, columns, batch_size=batch_size):
        data = batch.to_pydict()
        ids = [d for d in data["dataset"] if d is not None]
        earlier = previous.through(ids[-1]) if ids else {}
        for dataset, status, text in zip(
            data["dataset"], data["status"], data["croissant"], strict=True
        ):
            if dataset is None or status != 200 or text is None:
                continue
            sha = sha256_text(text)
            old = earlier.get(dataset)
            if old is not None and _carry(old, sha, version):
                rows.append(old)
                result.carried_forward += 1
                continue
            row: dict[str, Any] = {"dataset": dataset, "document_sha256": sha}
            if budget > 0:
                budget -= 1
                todo.append((len(rows), text))
            else:
                row |= {
                    "valid": None,
                    "errors": [],
                    "warnings": [],
                    "error_count": 0,
                    "warning_count": 0,
                    "validator_version": version,
                    "validated_at": None,
                    "seconds": None,
                    "reason": f"{REASON_NOT_VALIDATED}: over this run's budget of {max_docs} "
                    "documents (HF_CROISSANT_VALIDATION_MAX_DOCS); validated on a later run",
                }
                result.not_validated += 1
            rows.append(row)
        if len(todo) >= DISPATCH_DOCS or len(rows) >= DISPATCH_ROWS:
            yield flush()
    if rows:
        yield flush()


def validate_day(
    store: LakeStore,
    date: str,
    *,
    workers: int = 2,
    timeout_s: float = 10.0,
    max_docs: int = 100_000,
    audit: Callable[..., None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[Any, ValidationResult]:
    """`hf_croissant` -> `croissant_validation` for one day: (write result, counts).

    One row per served document (status 200). A document whose text and validator version are
    those of the newest earlier partition keeps its verdict (carried forward); the others are
    validated, at most `max_docs` of them per run (the rest get `valid` null and a reason, and
    are validated on a later run).
    """
    result = ValidationResult()
    with (
        ValidatorPool(workers, timeout_s) as pool,
        store.writer("croissant_validation", date, audit=audit) as writer,
    ):
        for table in validation_rows(
            store, date, pool, max_docs=max_docs, result=result, progress=progress
        ):
            writer.write(table)
    return writer.result, result
