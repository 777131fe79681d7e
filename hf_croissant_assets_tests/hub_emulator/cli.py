"""The command line: `python -m hf_croissant_assets_tests.hub_emulator [flags]` serves the emulator
until SIGTERM / SIGINT and prints `HUB_EMULATOR_READY <url>` once it listens."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from hf_croissant_assets_tests.hub_emulator.config import FAULT_KINDS, EmulatorConfig
from hf_croissant_assets_tests.hub_emulator.runners import READY_PREFIX
from hf_croissant_assets_tests.hub_emulator.server import HubEmulator


def _parse_kv(values: list[str], what: str, conv) -> dict[str, Any]:
    out = {}
    for v in values:
        key, sep, val = v.rpartition("=")
        if not sep or not key:
            raise SystemExit(f"{what}: expected KEY=VALUE, got {v!r}")
        out[key] = conv(val)
    return out


def build_arg_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m hf_croissant_assets_tests.hub_emulator",
        description="Serve an emulated Hugging Face Hub on 127.0.0.1.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument("--datasets", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--day", type=int, default=0)
    p.add_argument("--new-per-day", type=float, default=0.01)
    p.add_argument("--modify-rate", type=float, default=0.03)
    p.add_argument("--delete-rate", type=float, default=0.005)
    p.add_argument("--quota", type=int, default=None)
    p.add_argument("--window", type=float, default=300.0)
    p.add_argument("--no-retry-after", action="store_true")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--latency-jitter-ms", type=float, default=0.0)
    p.add_argument("--doc-kb", type=float, default=None)
    p.add_argument("--page-limit-max", type=int, default=1000)
    p.add_argument(
        "--fault-rate",
        action="append",
        nargs="+",
        default=[],
        metavar="KIND=P",
        help=f"random fault probability per request; kinds: {', '.join(FAULT_KINDS)}",
    )
    p.add_argument(
        "--fault-endpoints", default="list,croissant", help="comma-separated: list,croissant,..."
    )
    p.add_argument("--fail-always", action="append", nargs="+", default=[], metavar="ID=STATUS")
    p.add_argument("--timeout-s", type=float, default=30.0)
    p.add_argument("--accepted-token", action="append", default=[])
    p.add_argument("--write-token", action="append", default=[], help="hosted repos: write role")
    p.add_argument("--read-token", action="append", default=[], help="hosted repos: read role")
    p.add_argument("--token-user", default="hf-user", help="account the tokens belong to")
    p.add_argument(
        "--token-org", action="append", default=[], help="organisation the account may write to"
    )
    p.add_argument("--epoch", default="2026-01-01")
    p.add_argument(
        "--old-croissant-share",
        type=float,
        default=0.02,
        help="share of 200 Croissant answers that are old-style (pre-1.1) fixture documents",
    )
    p.add_argument(
        "--fixtures-dir",
        default=None,
        help="folder of real Croissant documents (*.json) for the old-style answers; "
        "default: the in-repo hf_croissant_assets_tests/fixtures/croissant",
    )
    return p


def config_from_args(ns: argparse.Namespace) -> EmulatorConfig:
    flat = lambda xs: [v for group in xs for v in group]  # noqa: E731
    return EmulatorConfig(
        datasets=ns.datasets,
        seed=ns.seed,
        day=ns.day,
        new_per_day=ns.new_per_day,
        modify_rate=ns.modify_rate,
        delete_rate=ns.delete_rate,
        quota=ns.quota,
        window=ns.window,
        retry_after=not ns.no_retry_after,
        latency_ms=ns.latency_ms,
        latency_jitter_ms=ns.latency_jitter_ms,
        doc_kb=ns.doc_kb,
        page_limit_max=ns.page_limit_max,
        fault_rate=_parse_kv(flat(ns.fault_rate), "--fault-rate", float),
        fault_endpoints=tuple(e for e in ns.fault_endpoints.split(",") if e),
        fail_always=_parse_kv(flat(ns.fail_always), "--fail-always", int),
        timeout_s=ns.timeout_s,
        accepted_tokens=frozenset(ns.accepted_token),
        write_tokens=frozenset(ns.write_token),
        read_tokens=frozenset(ns.read_token),
        token_user=ns.token_user,
        token_orgs=tuple(ns.token_org),
        epoch=ns.epoch,
        old_croissant_share=ns.old_croissant_share,
        fixtures_dir=ns.fixtures_dir,
    )


async def _serve(config: EmulatorConfig, host: str, port: int) -> None:
    emu = HubEmulator(config)
    url = await emu.start(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"{READY_PREFIX} {url}", flush=True)
    try:
        await stop.wait()
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> int:
    ns = build_arg_parser().parse_args(argv)
    try:
        config = config_from_args(ns)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    asyncio.run(_serve(config, ns.host, ns.port))
    return 0
