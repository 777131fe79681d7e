"""Ways to run the emulator: on a background thread of this process (`running_emulator`), or as
a child process serving `python -m hf_croissant_assets_tests.hub_emulator` (`spawn_emulator_process`
/ `stop_emulator_process`)."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hf_croissant_assets_tests.hub_emulator.config import EmulatorConfig
from hf_croissant_assets_tests.hub_emulator.server import HubEmulator

#: The line the CLI prints when it listens: `HUB_EMULATOR_READY http://127.0.0.1:<port>`.
READY_PREFIX = "HUB_EMULATOR_READY"

#: The directory that holds the `hf_croissant_assets_tests` package (the child's cwd / path).
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def running_emulator(
    config: EmulatorConfig | None = None, **overrides: Any
) -> Iterator[HubEmulator]:
    """Run the emulator on a background thread with its own event loop; yields it started."""
    emu = HubEmulator(config, **overrides)
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    thread = threading.Thread(target=run, name="hub-emulator", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(emu.start(), loop).result(timeout=30)
        yield emu
    finally:
        try:
            asyncio.run_coroutine_threadsafe(emu.stop(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            if not thread.is_alive():
                loop.close()


def spawn_emulator_process(
    args: list[str], timeout: float = 30.0, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """Start `python -m hf_croissant_assets_tests.hub_emulator *args --port 0`, wait for the READY
    line and return (process, base_url). The caller terminates the process."""
    project_root = str(PROJECT_ROOT)
    full_env = dict(os.environ if env is None else env)
    pp = full_env.get("PYTHONPATH")
    full_env["PYTHONPATH"] = project_root + (os.pathsep + pp if pp else "")
    argv = [sys.executable, "-m", "hf_croissant_assets_tests.hub_emulator", *args]
    if "--port" not in args:
        argv += ["--port", "0"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=full_env, cwd=project_root)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    buf = b""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"hub emulator did not report ready within {timeout} s")
            ready, _, _ = select.select([proc.stdout], [], [], min(left, 0.5))
            if not ready:
                if proc.poll() is not None:
                    raise RuntimeError(f"hub emulator exited with code {proc.returncode}")
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                proc.wait(timeout=5)
                raise RuntimeError(f"hub emulator exited with code {proc.returncode}")
            buf += chunk
            for line in buf.decode(errors="replace").splitlines():
                if line.startswith(READY_PREFIX):
                    return proc, line.split()[1]
    except BaseException:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        raise


def stop_emulator_process(proc: subprocess.Popen, timeout: float = 15.0) -> int:
    """SIGTERM a process from `spawn_emulator_process`, wait (SIGKILL after `timeout`), close its
    pipe; returns the exit code (0 after a clean SIGTERM shutdown)."""
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
    finally:
        if proc.stdout is not None:
            proc.stdout.close()
    return proc.returncode
