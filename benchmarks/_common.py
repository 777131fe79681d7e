"""Shared plumbing for the benchmarks: the emulator subprocess, memory probes, lake dirs, output.

Every benchmark runs the Hub emulator in its own process (so client and server do not share a
GIL), talks to it on 127.0.0.1 only, prints progress to stderr and exactly one JSON object as the
last line of stdout.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil

import hf_croissant_assets.ingest.listing_crawl as listing_module
from hf_croissant_assets_tests.hub_emulator import spawn_emulator_process

log = logging.getLogger("benchmarks")

MB = 1024 * 1024


def setup_logging() -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lake",
        default=None,
        help="lake root (each scenario uses a sub-folder, emptied first); "
        "default: a fresh temp dir, removed at the end unless --keep",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp lake")
    parser.add_argument("--seed", type=int, default=0, help="emulator seed")


def emit(result: dict[str, Any]) -> None:
    """The one JSON line on stdout, last."""
    sys.stderr.flush()
    print(json.dumps(result, sort_keys=False, default=str), flush=True)


def today_utc() -> str:
    return datetime.now(UTC).date().isoformat()


def yesterday_utc() -> str:
    return (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


def r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


# -- lake folders -------------------------------------------------------------------------------


class LakeRoot:
    """`--lake DIR` or a temp dir; `sub(name)` gives a fresh, empty scenario folder."""

    def __init__(self, lake: str | None, keep: bool) -> None:
        self.temp = lake is None
        self.keep = keep
        self.root = tempfile.mkdtemp(prefix="hf_croissant_bench_") if lake is None else lake
        os.makedirs(self.root, exist_ok=True)

    def sub(self, name: str) -> str:
        path = os.path.join(self.root, name)
        if os.path.exists(path):
            shutil.rmtree(path)
        os.makedirs(path)
        return path

    def cleanup(self) -> None:
        if self.temp and not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            log.info("lake kept at %s", self.root)


@contextmanager
def lake_root(args: argparse.Namespace) -> Iterator[LakeRoot]:
    root = LakeRoot(args.lake, args.keep)
    log.info("lake root %s", root.root)
    try:
        yield root
    finally:
        root.cleanup()


# -- the emulator process ------------------------------------------------------------------------

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EmulatorProcess:
    """`python -m hf_croissant_assets_tests.hub_emulator ARGS` in a subprocess, plus its admin API."""

    def __init__(self, args: list[str]) -> None:
        self.args = [str(a) for a in args]
        self.proc: subprocess.Popen | None = None
        self.base_url = ""
        #: wall clock (time.time()) when the READY line arrived: the emulator's rate-limit
        #: windows are counted from its start, a few ms before that line.
        self.ready_at = 0.0

    def __enter__(self) -> EmulatorProcess:
        log.info("starting emulator: %s", " ".join(self.args))
        self.proc, self.base_url = spawn_emulator_process(self.args, timeout=60)
        self.ready_at = time.time()
        log.info("emulator pid %d at %s", self.proc.pid, self.base_url)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            proc.terminate()
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        finally:
            if proc.stdout is not None:
                proc.stdout.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        with _NO_PROXY.open(req, timeout=60) as resp:
            return json.loads(resp.read().decode())

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_emulator/stats")

    def reset_stats(self) -> None:
        self._call("POST", "/_emulator/reset-stats", {})

    def config(self, **changes: Any) -> dict[str, Any]:
        if not changes:
            return self._call("GET", "/_emulator/config")
        return self._call("POST", "/_emulator/config", changes)

    def requests_log(self, n: int = 10_000) -> list[list[Any]]:
        return self._call("GET", f"/_emulator/requests?n={n}")


def slim_stats(stats: dict[str, Any]) -> dict[str, Any]:
    """Emulator stats without the per-dataset fetch counts (500k keys)."""
    return {k: v for k, v in stats.items() if k != "croissant_fetches"}


# -- the listing step ----------------------------------------------------------------------------


async def list_and_publish(client: Any, store: Any, date: str) -> Any:
    """Crawl the day's listing AND publish `_raw/listing/date=D/` (what the listing asset does)."""
    return await listing_module.snapshot_listing(client, store, date)


@contextmanager
def listing_crawl_timer() -> Iterator[dict[str, float]]:
    """Time `crawl_listing` (the paging part) inside `snapshot_listing`; the rest is publishing."""
    phases: dict[str, float] = {}
    orig = listing_module.crawl_listing

    async def crawl_listing(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return await orig(*args, **kwargs)
        finally:
            phases["crawl_s"] = time.perf_counter() - t

    listing_module.crawl_listing = crawl_listing
    try:
        yield phases
    finally:
        listing_module.crawl_listing = orig


# -- memory --------------------------------------------------------------------------------------


def ru_maxrss_mb() -> float:
    """Peak RSS of this process (ru_maxrss is KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / MB


def vm_hwm_mb() -> float | None:
    """The kernel's high-water mark of this process's RSS (VmHWM), if readable."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark to the current RSS (Linux >= 4.0).

    After this, VmHWM (and ru_maxrss) measure the peak of what follows only, exactly and without
    sampling. Returns False where the kernel does not allow it.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class RssSampler:
    """Samples this process's RSS on a background thread; `peak_mb` is the largest sample."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.peak = 0
        self.samples = 0
        self.start_rss = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = self._proc.memory_info().rss
            self.peak = max(self.peak, rss)
            self.samples += 1
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RssSampler:
        self.start_rss = self._proc.memory_info().rss
        self.peak = self.start_rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        rss = self._proc.memory_info().rss
        self.peak = max(self.peak, rss)

    @property
    def peak_mb(self) -> float:
        return self.peak / MB

    @property
    def start_mb(self) -> float:
        return self.start_rss / MB


def release_memory() -> None:
    """Hand memory freed by earlier phases back to the OS, so it does not count in what follows.

    A production step starts in a fresh process; here setup ran first in the same process, and
    mimalloc (pyarrow's pool) and glibc keep freed pages mapped unless asked to return them.
    """
    gc.collect()
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:
        pass
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class PeakTracker:
    """Exact peak RSS of (possibly nested) segments from the kernel's high-water mark.

    Each `begin`/`end` folds the current VmHWM into every open segment and into `overall`, then
    resets the mark; so a segment's peak is the largest RSS the kernel saw while it was open.
    `ok` is False where the mark cannot be reset (then every figure is None).
    """

    def __init__(self) -> None:
        self.ok = reset_peak_rss()
        self.overall = rss_mb() if self.ok else None
        self._open: dict[str, float] = {}
        self.peaks: dict[str, float] = {}

    def _fold(self) -> None:
        hwm = vm_hwm_mb()
        if hwm is None:
            self.ok = False
            return
        for name in self._open:
            self._open[name] = max(self._open[name], hwm)
        self.overall = max(self.overall or 0.0, hwm)
        reset_peak_rss()

    def begin(self, name: str) -> None:
        if self.ok:
            self._fold()
            self._open[name] = rss_mb()

    def end(self, name: str) -> float | None:
        if not self.ok or name not in self._open:
            return None
        self._fold()
        peak = self._open.pop(name)
        self.peaks[name] = peak
        return peak

    def finish(self) -> float | None:
        if self.ok:
            self._fold()
        return self.overall


class Steps:
    """Wall time (and, with a PeakTracker, peak RSS) per named step, in order."""

    def __init__(self, tracker: PeakTracker | None = None) -> None:
        self.walls: dict[str, float] = {}
        self.tracker = tracker

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        log.info("step %s ...", name)
        if self.tracker:
            self.tracker.begin(name)
        t = time.perf_counter()
        try:
            yield
        finally:
            dt = time.perf_counter() - t
            self.walls[name] = self.walls.get(name, 0.0) + dt
            peak = self.tracker.end(name) if self.tracker else None
            log.info(
                "step %s: %.2f s (rss %.0f MB%s)",
                name,
                dt,
                rss_mb(),
                f", peak {peak:.0f} MB" if peak is not None else "",
            )

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.walls.items()}
