"""Fault campaign: a whole day against the hostile Hub, with a SIGKILL mid-crawl and a restart.

The emulator (own process, 127.0.0.1) serves `--datasets` datasets, some private (listed to the
token this run sends), a few hostile ids (dot segments), and every fault class mixed in at random
(seeded): 429/5xx, resets, truncated and HTML bodies, deep JSON, gzip bombs, JSON of the wrong
shape, absurd RateLimit headers, day-long Retry-After (seconds and HTTP dates), broken Link
headers. The real command runs the day (`python -m hf_croissant_assets.cli snapshot`, the fetching
assets), is killed with SIGKILL once `--kill-at` of the documents were requested, and is started
again; the day must then be complete.

    python -m benchmarks.faults                       # 20k datasets, seed 0
    python -m benchmarks.faults --datasets 5000 --seed 3

Last line of stdout, one JSON object: rows_expected (public listed datasets + hostile ids),
rows_written, duplicates, lost (expected ids without a row), pending (rows with no usable answer
yet: fetched again the next day), extra_requests (Croissant requests beyond one per dataset:
retries after faults and the refetch of what the killed run had not checkpointed), peak_rss_mb
(of the crawling process tree, both runs), wall_s. Targets: 0 lost, 0 duplicates, peak RSS
<= 1 GiB.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import psutil

from benchmarks._common import (
    EmulatorProcess,
    add_common_args,
    emit,
    lake_root,
    log,
    setup_logging,
    slim_stats,
    today_utc,
)
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets_tests.hub_emulator import EmulatorConfig, HubEmulator

TOKEN = "hf_benchmark_token"
HOSTILE_IDS = ("org/../victim", "../../api/x", "a--b/c", "org/name.git")
#: Probability per request of each fault class (about 10% of requests are hostile in all).
FAULTS: dict[str, float] = {
    "429": 0.01,
    "500": 0.01,
    "503": 0.01,
    "reset": 0.005,
    "truncate": 0.005,
    "nonjson": 0.005,
    "deep_json": 0.01,
    "gzip_bomb": 0.002,
    "html200": 0.01,
    "json_list": 0.005,
    "huge_ratelimit": 0.01,
    "stall_ratelimit": 0.002,
    "retry_after_day": 0.0005,
    "retry_after_date": 0.0005,
    "bad_link": 0.01,
}


class TreeRss:
    """Peak resident memory of a process and its children, sampled."""

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self.peak = 0
        self._procs: list[psutil.Process] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def watch(self, pid: int) -> None:
        self._procs = [psutil.Process(pid)]

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            total = 0
            for proc in list(self._procs):
                try:
                    total += proc.memory_info().rss
                    total += sum(c.memory_info().rss for c in proc.children(recursive=True))
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(timeout=5)
        return self.peak / 1024 / 1024


def _env(base_url: str, lake: str, home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "DAGSTER_"))}
    os.makedirs(home, exist_ok=True)
    return env | {
        "HF_ENDPOINT": base_url,
        "HF_TOKEN": TOKEN,
        "HF_CROISSANT_LAKE": lake,
        "HF_CROISSANT_DUCKDB": os.path.join(home, "db.duckdb"),
        "HF_CROISSANT_CONCURRENCY": "64",
        "HF_CROISSANT_MAX_PAUSE_S": "1",
        "HF_CROISSANT_MAX_BODY_BYTES": str(8 * 1024 * 1024),
        "DAGSTER_HOME": home,
    }


def _start(env: dict[str, str], cwd: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hf_croissant_assets.cli", "snapshot", "--select",
         "hf_dataset_listing,croissant_records"],
        env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def run(args: argparse.Namespace, root: Any) -> dict[str, Any]:
    date = today_utc()
    lake = root.sub("lake")
    home = root.sub("dagster_home")
    config = EmulatorConfig(
        datasets=args.datasets,
        seed=args.seed,
        private_rate=0.01,
        extra_ids=HOSTILE_IDS,
        fault_rate=FAULTS,
    )
    truth = HubEmulator(config)  # same config, not started: the ground truth
    expected = set(truth.listed_ids()) | set(HOSTILE_IDS)
    emu_args = ["--datasets", args.datasets, "--seed", args.seed]
    started = time.monotonic()
    rss = TreeRss()
    with EmulatorProcess(emu_args) as emu:
        emu.config(private_rate=0.01, extra_ids=list(HOSTILE_IDS), fault_rate=FAULTS)
        env = _env(emu.base_url, lake, home)
        kill_after = int(args.kill_at * len(expected))
        proc = _start(env, home)
        rss.watch(proc.pid)
        killed_at = None
        while proc.poll() is None:
            time.sleep(0.2)
            done = emu.stats()["by_endpoint"].get("croissant", 0)
            if done >= kill_after:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                killed_at = done
                break
        first_stderr = proc.stderr.read() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        log.info("first run: %s after %s Croissant requests", "killed" if killed_at else
                 f"exit {proc.returncode}", killed_at)  # fmt: skip
        restart = _start(env, home)
        rss.watch(restart.pid)
        _, err = restart.communicate(timeout=args.timeout)
        if restart.returncode != 0:
            log.error("restart failed:\n%s\n%s", first_stderr[-2000:], err[-4000:])
        stats = emu.stats()
    wall = time.monotonic() - started
    peak = rss.stop()
    store = LakeStore(lake)
    ids: list[str] = []
    statuses: list[Any] = []
    if store.exists("croissant_records", date):
        table = store.read_table("croissant_records", date, columns=["dataset", "status"])
        ids = table.column("dataset").to_pylist()
        statuses = table.column("status").to_pylist()
    fetches = stats.get("croissant_fetches", {})
    return {
        "benchmark": "faults",
        "datasets": args.datasets,
        "seed": args.seed,
        "rows_expected": len(expected),
        "rows_written": len(ids),
        "duplicates": len(ids) - len(set(ids)),
        "lost": len(expected - set(ids)),
        "unexpected": len(set(ids) - expected),
        "pending": sum(1 for s in statuses if s is None),
        "extra_requests": sum(fetches.values()) - len(fetches),
        "killed_after_requests": killed_at,
        "restart_exit": restart.returncode,
        "private_rows": len(set(ids) & truth.private_ids()),
        "faults_served": slim_stats(stats).get("faults", {}),
        "peak_rss_mb": round(peak, 1),
        "wall_s": round(wall, 1),
        "targets": {"lost": 0, "duplicates": 0, "peak_rss_mb_max": 1024},
    }


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--datasets", type=int, default=20_000)
    parser.add_argument("--kill-at", type=float, default=0.4, help="share of documents requested")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)
    with lake_root(args) as root:
        result = run(args, root)
    emit(result)
    ok = result["lost"] == 0 and result["duplicates"] == 0 and result["peak_rss_mb"] <= 1024
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
