"""The day lease under races: two runs that find the same expired lease never both hold it, and a
holder that stalled past its expiry never overwrites its successor (local folder and moto S3)."""

from __future__ import annotations

import threading
import time

import pytest

from hf_croissant_assets.lake.lease import DayLease, LeaseHeld
from hf_croissant_assets.lake.store import LakeStore

DAY = "2026-11-20"


def _expired(store: LakeStore) -> DayLease:
    """A lease whose holder stopped renewing and whose expiry has passed (a crashed run on
    another host: the pid check cannot release it early)."""
    stale = DayLease(store, DAY, ttl_s=0.3)
    stale.acquire()
    stale._stop.set()
    if stale._thread is not None:
        stale._thread.join()
    record = stale.read()
    assert record is not None
    time.sleep(0.5)
    return stale


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> LakeStore:
    if request.param == "local":
        return LakeStore(str(tmp_path / "lake"))
    bucket = request.getfixturevalue("s3_bucket")
    return LakeStore(f"s3://{bucket}/lake")


def _on_another_host(monkeypatch) -> None:
    # the expired holder "ran elsewhere": only its expiry may release it
    import hf_croissant_assets.lake.lease as lease_module

    monkeypatch.setattr(lease_module, "_pid_alive", lambda pid: True)


def test_racing_takeovers_of_one_expired_lease_leave_exactly_one_holder(store, monkeypatch):
    _on_another_host(monkeypatch)
    _expired(store)
    contenders = [DayLease(store, DAY, ttl_s=60) for _ in range(6)]
    start = threading.Barrier(len(contenders))
    outcomes: dict[int, str] = {}

    def take(i: int) -> None:
        start.wait()
        try:
            contenders[i].acquire()
            outcomes[i] = "held"
        except LeaseHeld:
            outcomes[i] = "refused"

    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(contenders))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        holders = [i for i, o in outcomes.items() if o == "held"]
        assert len(outcomes) == len(contenders)
        assert len(holders) == 1, outcomes
        record = contenders[holders[0]].read()
        assert record is not None and record["holder"] == contenders[holders[0]].holder
    finally:
        for lease in contenders:
            lease.release()


def test_a_takeover_never_deletes_a_lease_renewed_or_taken_after_it_was_read(store, monkeypatch):
    """Deterministic interleaving: A reads the expired lease; B then tries a whole takeover
    before A acts on what it read. Either B must wait for A (local: the lock) or A's conditional
    delete must fail (S3: If-Match): never both holding."""
    _on_another_host(monkeypatch)
    _expired(store)
    b = DayLease(store, DAY, ttl_s=60)
    outcomes: dict[str, str] = {}

    def take(name: str, lease: DayLease) -> None:
        try:
            lease.acquire()
            outcomes[name] = "held"
        except LeaseHeld:
            outcomes[name] = "refused"

    rival = threading.Thread(target=take, args=("b", b))

    class SlowA(DayLease):
        def _read_versioned(self):
            seen = super()._read_versioned()
            if not rival.is_alive() and "b" not in outcomes and seen[0] is not None:
                rival.start()  # B reads, deletes and creates while A is between read and delete
                rival.join(timeout=1.5)  # (or waits for A's lock)
            return seen

    a = SlowA(store, DAY, ttl_s=60)
    try:
        take("a", a)
        rival.join(timeout=30)
        assert sorted(outcomes.values()) == ["held", "refused"], outcomes
        winner = a if outcomes["a"] == "held" else b
        record = winner.read()
        assert record is not None and record["holder"] == winner.holder
    finally:
        b.release()
        a.release()
    assert b.read() is None


def test_a_stalled_holder_cannot_overwrite_its_successor(store, monkeypatch):
    _on_another_host(monkeypatch)
    stalled = _expired(store)
    successor = DayLease(store, DAY, ttl_s=60)
    successor.acquire()
    try:
        assert stalled._renew() is False  # the stalled holder wakes up: its renewal is refused
        record = successor.read()
        assert record is not None and record["holder"] == successor.holder
        stalled.release()  # and its release does not delete the successor's lease
        record = successor.read()
        assert record is not None and record["holder"] == successor.holder
        assert successor._renew() is True  # the successor keeps renewing
    finally:
        successor.release()
    assert successor.read() is None
