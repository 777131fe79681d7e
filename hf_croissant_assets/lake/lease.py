"""One crawl per day: a lease under the day's staging, on a local folder or on S3.

Two crawls of the same day would share staging names and the Hub's rate limit: double the
requests, and each would see the other's half-written batches. Whatever starts a crawl (the
CLI, `dagster asset materialize`, the UI, the schedule), the fetching step first takes the
day's lease; a second one fails at once, naming the holder and when its lease expires.

The lease is a create-once object, `<lake>/_staging/lease/date=D/<name>.json`:

- local folder: `open(O_CREAT | O_EXCL)`, atomic on every local filesystem;
- S3: `PutObject` with `If-None-Match: *` (a conditional write: S3 answers 412 when the key
  already exists).

The holder renews it (a background thread, every `ttl_s / 4`); a crashed holder stops renewing,
so its lease expires after `ttl_s` and the next run takes it over (at once when the holder ran on
the same host and its process is gone, e.g. after `kill -9`).

Taking over and renewing are conditional, so two runs that both find the same expired lease can
never both hold it, and a holder that stalled past its expiry cannot overwrite its successor:

- local folder: every read-check-write happens under an exclusive `flock` on a sidecar file;
- S3: the expired object is deleted with `If-Match: <the ETag we read>` (a conditional delete: 412
  when someone renewed or replaced it in between), then created with `If-None-Match: *` as above;
  a renewal overwrites with `If-Match: <our own last ETag>` (412: the lease was taken over).

Plain code, no Dagster.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any

from hf_croissant_assets.lake.store import LakeStore, validate_date

log = logging.getLogger(__name__)

DEFAULT_TTL_S = 600.0


class LeaseHeld(RuntimeError):
    """Another run holds the day's lease."""


def _pid_alive(pid: object) -> bool:
    """Whether a process with this pid exists on this host (a holder killed with -9 is not)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class DayLease:
    """The lease on one day's crawl (`name`: what is leased, e.g. "crawl")."""

    def __init__(
        self, store: LakeStore, date: str, name: str = "crawl", ttl_s: float = DEFAULT_TTL_S
    ) -> None:
        if not name.isidentifier():
            raise ValueError(f"bad lease name {name!r}")
        self.store = store
        self.date = validate_date(date)
        self.name = name
        self.ttl_s = ttl_s
        self.holder = uuid.uuid4().hex
        self.key = store.path("_staging", "lease", f"date={self.date}", f"{name}.json")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._etag: str | None = None  # S3: the ETag of our own lease object, for renewals
        self.lost = False

    # -- the record ---------------------------------------------------------------------------

    def _record(self) -> bytes:
        now = time.time()
        return json.dumps(
            {
                "holder": self.holder,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "renewed_at": _iso(now),
                "expires_at_epoch": now + self.ttl_s,
                "expires_at": _iso(now + self.ttl_s),
            }
        ).encode()

    def read(self) -> dict[str, Any] | None:
        return self._read_versioned()[0]

    def _read_versioned(self) -> tuple[dict[str, Any] | None, str | None]:
        """The record and, on S3, its ETag (what a conditional delete must match)."""
        etag: str | None = None
        try:
            if self.store.is_s3:
                answer = self._s3_client().get_object(Bucket=self.store.bucket, Key=self._s3_key())
                etag = answer.get("ETag")
                body = answer["Body"].read()
            else:
                with self.store.fs.open_input_stream(self.key) as f:
                    body = f.read()
            data = json.loads(body.decode())
        except FileNotFoundError:
            return None, None
        except Exception as exc:  # noqa: BLE001 - S3's missing key, or an unreadable record
            if _is_missing(exc):
                return None, None
            return {}, etag  # unreadable: treated as held and expired (taken over)
        return (data if isinstance(data, dict) else {}), etag

    # -- storage primitives -------------------------------------------------------------------

    def _s3_client(self) -> Any:
        import boto3

        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        return boto3.client("s3", endpoint_url=endpoint or None)

    def _s3_key(self) -> str:
        assert self.store.bucket is not None
        return self.key[len(self.store.bucket) + 1 :]

    @contextmanager
    def _local_lock(self) -> Iterator[None]:
        """Local folder: serialise every read-check-write of the lease (no-op on S3)."""
        if self.store.is_s3:
            yield
            return
        os.makedirs(os.path.dirname(self.key), exist_ok=True)
        fd = os.open(f"{self.key}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _create(self) -> bool:
        """Create the lease object if absent; False if it exists."""
        body = self._record()
        if self.store.is_s3:
            from botocore.exceptions import ClientError

            try:
                answer = self._s3_client().put_object(
                    Bucket=self.store.bucket, Key=self._s3_key(), Body=body, IfNoneMatch="*"
                )
            except ClientError as exc:
                if _is_conflict(exc):
                    return False
                raise
            self._etag = answer.get("ETag")
            return True
        os.makedirs(os.path.dirname(self.key), exist_ok=True)
        try:
            fd = os.open(self.key, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        return True

    def _renew(self) -> bool:
        """Overwrite our own lease object; False when it is no longer ours (taken over)."""
        if self.store.is_s3:
            from botocore.exceptions import ClientError

            # Conditional on our own last write; without an ETag (an endpoint that sent none)
            # the holder check before the write is all there is.
            condition = {"IfMatch": self._etag} if self._etag else {}
            if not self._etag:
                current = self.read()
                if current is None or current.get("holder") != self.holder:
                    return False
            try:
                answer = self._s3_client().put_object(
                    Bucket=self.store.bucket, Key=self._s3_key(), Body=self._record(), **condition
                )
            except ClientError as exc:
                if _is_conflict(exc) or _is_missing(exc):
                    return False
                raise
            self._etag = answer.get("ETag")
            return True
        with self._local_lock():
            current = self.read()
            if current is None or current.get("holder") != self.holder:
                return False
            tmp = f"{self.key}.{uuid.uuid4().hex}.tmp"
            with open(tmp, "wb") as f:
                f.write(self._record())
            os.replace(tmp, self.key)
        return True

    def _delete_if_unchanged(self, etag: str | None) -> bool:
        """Delete the lease object only if it is still the one read (S3: its ETag; local: the
        caller holds the lock). False when it changed in between."""
        if self.store.is_s3:
            from botocore.exceptions import ClientError

            try:
                if etag:
                    self._s3_client().delete_object(
                        Bucket=self.store.bucket, Key=self._s3_key(), IfMatch=etag
                    )
                else:
                    self._s3_client().delete_object(Bucket=self.store.bucket, Key=self._s3_key())
            except ClientError as exc:
                if _is_conflict(exc) or _is_missing(exc):
                    return False
                raise
            return True
        with suppress(FileNotFoundError):
            os.remove(self.key)
        return True

    # -- acquire / renew / release ------------------------------------------------------------

    def acquire(self) -> None:
        for _ in range(3):
            with self._local_lock():
                if self._try_acquire():
                    self._start_renewing()
                    return
        raise LeaseHeld(f"could not take the {self.name} lease of {self.date}; try again")

    def _try_acquire(self) -> bool:
        """One attempt: create, or take over an expired lease; LeaseHeld if it is live."""
        if self._create():
            return True
        current, etag = self._read_versioned()
        if current is None:
            return False  # released in between: try again
        expires = current.get("expires_at_epoch")
        # A holder on this host whose process is gone (killed, crashed) releases at once;
        # on another host only the expiry tells.
        dead = current.get("host") == socket.gethostname() and not _pid_alive(current.get("pid"))
        if isinstance(expires, int | float) and expires > time.time() and not dead:
            raise LeaseHeld(
                f"another crawl of {self.date} is running (pid {current.get('pid')} on "
                f"{current.get('host')!r}, lease renewed {current.get('renewed_at')}, expires "
                f"{current.get('expires_at')}): two crawls of one day would fetch everything "
                f"twice. Wait for it to finish; if it crashed, its lease expires by itself "
                f"at that time (lease object: {self.store.url(self.key)})."
            )
        log.warning(
            "the %s lease of %s expired (holder pid %s on %r); taking it over",
            self.name,
            self.date,
            current.get("pid"),
            current.get("host"),
        )
        # Only the lease we judged expired is removed: if its holder renewed or another run
        # took it over meanwhile, the delete fails and the next attempt re-reads.
        if not self._delete_if_unchanged(etag):
            return False
        return self._create()

    def _start_renewing(self) -> None:
        def renew() -> None:
            while not self._stop.wait(self.ttl_s / 4):
                try:
                    renewed = self._renew()
                except Exception as exc:  # noqa: BLE001 - retried at the next beat
                    log.warning("renewing the %s lease of %s failed: %s", self.name, self.date, exc)
                    continue
                if not renewed:
                    self.lost = True
                    log.error(
                        "the %s lease of %s was taken over by another run", self.name, self.date
                    )
                    return

        self._thread = threading.Thread(target=renew, name=f"lease-{self.date}", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.lost:
            return
        with self._local_lock():
            current, etag = self._read_versioned()
            if current is not None and current.get("holder") == self.holder:
                self._delete_if_unchanged(etag)


@contextmanager
def day_lease(
    store: LakeStore, date: str, name: str = "crawl", ttl_s: float = DEFAULT_TTL_S
) -> Iterator[DayLease]:
    """Hold the day's lease for the block; `LeaseHeld` at once if another run holds it."""
    lease = DayLease(store, date, name, ttl_s)
    lease.acquire()
    try:
        yield lease
    finally:
        lease.release()


def _error_code(exc: Exception) -> tuple[str, int | None]:
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    return code, response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def _is_conflict(exc: Exception) -> bool:
    """S3's answer to a failed condition (412) or a concurrent conditional write (409)."""
    code, status = _error_code(exc)
    return code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412)


def _is_missing(exc: Exception) -> bool:
    code, status = _error_code(exc)
    return code in ("NoSuchKey", "404") or status == 404
