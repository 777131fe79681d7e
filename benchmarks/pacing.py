"""Benchmark: how much of a fixed-window quota the pacer spends, and how many 429s it provokes.

An independent strict simulator (a small aiohttp server in its own process, on 127.0.0.1) counts
requests per *true* fixed window, answers 429 beyond `q`, and sends `RateLimit` /
`RateLimit-Policy` with `t` in whole seconds as the Hub does (rounded up by default; `--rounding`
also runs floor and round, since the Hub does not document the direction). Each scenario has its
own window phase, chosen so that the run starts with a partial window of 1-3 s. Clients use
`RateLimitPacer` exactly as `HubClient` does (acquire, send, observe, `rate_limited` on 429), with
`--concurrency` senders.

    utilization = requests served in windows lying entirely inside the run / (q * those windows)
    share_429   = 429 answers / all requests

Default: q=200 per w=20 s and q=200 per w=4 s, run side by side for 5 windows of 20 s (~105 s
wall; `--windows` sets it). Targets: utilization >= 0.97 and share_429 <= 0.5% in every scenario.
`--pacer-from FILE` benchmarks another `RateLimitPacer` implementation (e.g. the previous one,
`git show <commit>:hf_croissant_assets/hub/ratelimit.py > old.py`) for a before/after on the same
machine.

    python -m benchmarks.pacing [--windows 5] [--quota 200] [--window-s 20 --small-window-s 4]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import math
import multiprocessing as mp
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from benchmarks._common import emit, log, r, setup_logging
from hf_croissant_assets.hub.ratelimit import RateLimitPacer, parse_retry_after

UTILIZATION_MIN = 0.97
SHARE_429_MAX = 0.005

ROUNDING = {
    "ceil": math.ceil,
    "floor": math.floor,
    "round": lambda x: math.floor(x + 0.5),
}


# -- the strict simulator (server process) -------------------------------------------------------


@dataclass
class _Scenario:
    quota: int
    window: float
    rounding: str
    origin: float = 0.0  # window k is [origin + k*w, origin + (k+1)*w) on the server's clock
    counts: dict[int, list[int]] = field(default_factory=dict)  # k -> [served, 429]
    first: float | None = None
    last: float | None = None

    def serve(self, now: float) -> tuple[int, dict[str, str]]:
        self.first = now if self.first is None else self.first
        self.last = now
        k = math.floor((now - self.origin) / self.window)
        reset = self.origin + (k + 1) * self.window
        t = max(ROUNDING[self.rounding](reset - now), 0)
        c = self.counts.setdefault(k, [0, 0])
        policy = f'"fixed window";"api";q={self.quota};w={int(self.window)}'
        if c[0] >= self.quota:
            c[1] += 1
            return 429, {
                "RateLimit": f'"api";r=0;t={t}',
                "RateLimit-Policy": policy,
                "Retry-After": str(max(t, 1)),
            }
        c[0] += 1
        return 200, {"RateLimit": f'"api";r={self.quota - c[0]};t={t}', "RateLimit-Policy": policy}

    def report(self) -> dict[str, Any]:
        """Counts over the windows lying entirely inside [first request, last request]."""
        if self.first is None or self.last is None:
            return {"requests": 0}
        w = self.window
        lo = math.ceil((self.first - self.origin) / w)
        hi = math.floor((self.last - self.origin) / w) - 1
        full = list(range(lo, hi + 1))
        served = sum(self.counts.get(k, [0, 0])[0] for k in full)
        requests = sum(a + b for a, b in self.counts.values())
        limited = sum(b for _, b in self.counts.values())
        return {
            "requests": requests,
            "http_429": limited,
            "share_429": limited / requests if requests else 0.0,
            "full_windows": len(full),
            "served_in_full_windows": served,
            "utilization": served / (self.quota * len(full)) if full else None,
            "per_window_served_429": [
                [k, *self.counts.get(k, [0, 0])] for k in sorted(self.counts)
            ],
        }


def _serve_forever(port_queue: Any, stop: Any) -> None:
    scenarios: dict[str, _Scenario] = {}
    lock = threading.Lock()

    async def start(request: web.Request) -> web.Response:
        spec = await request.json()
        now = time.monotonic()
        s = _Scenario(int(spec["quota"]), float(spec["window"]), str(spec["rounding"]))
        # The first window ends `first_partial` seconds from now.
        s.origin = now + float(spec["first_partial"]) - s.window
        with lock:
            scenarios[request.match_info["name"]] = s
        return web.json_response({"ok": True})

    async def api(request: web.Request) -> web.Response:
        with lock:
            status, headers = scenarios[request.match_info["name"]].serve(time.monotonic())
        return web.json_response({"ok": status == 200}, status=status, headers=headers)

    async def report(request: web.Request) -> web.Response:
        with lock:
            return web.json_response(scenarios[request.match_info["name"]].report())

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/start/{name}", start)
        app.router.add_get("/api/{name}", api)
        app.router.add_get("/report/{name}", report)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_queue.put(runner.addresses[0][1])
        while not stop.is_set():
            await asyncio.sleep(0.2)
        await runner.cleanup()

    asyncio.run(main())


# -- the client ---------------------------------------------------------------------------------


def load_pacer_class(path: str | None) -> type:
    if not path:
        return RateLimitPacer
    spec = importlib.util.spec_from_file_location("pacer_under_test", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"--pacer-from {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.RateLimitPacer  # type: ignore[no-any-return]


async def run_scenario(
    session: aiohttp.ClientSession,
    base: str,
    name: str,
    spec: dict[str, Any],
    duration: float,
    concurrency: int,
    pacer_cls: type,
) -> dict[str, Any]:
    async with session.post(f"{base}/start/{name}", json=spec) as resp:
        resp.raise_for_status()
    pacer = pacer_cls()
    end = time.monotonic() + duration
    url = f"{base}/api/{name}"
    client_429 = 0

    async def sender() -> None:
        nonlocal client_429
        while time.monotonic() < end:
            ticket = await pacer.acquire()
            if time.monotonic() >= end:
                return
            try:
                async with session.get(url) as resp:
                    pacer.observe(ticket, resp.headers)
                    await resp.read()
                    if resp.status == 429:
                        client_429 += 1
                        pacer.rate_limited(parse_retry_after(resp.headers.get("Retry-After")))
            except aiohttp.ClientError:
                pacer.observe(ticket, {})

    t0 = time.monotonic()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    wall = time.monotonic() - t0
    async with session.get(f"{base}/report/{name}") as resp:
        out: dict[str, Any] = await resp.json()
    util, share = out.get("utilization"), out.get("share_429", 0.0)
    out.update(
        {
            "quota": spec["quota"],
            "window_s": spec["window"],
            "rounding": spec["rounding"],
            "first_partial_s": r(spec["first_partial"]),
            "wall_s": r(wall),
            "utilization": r(util, 4),
            "share_429": r(share, 4),
            "pacer": pacer.snapshot(),
            "targets_met": bool(
                util is not None and util >= UTILIZATION_MIN and share <= SHARE_429_MAX
            ),
        }
    )
    log.info(
        "%s: utilization %s over %d full windows, %d x 429 of %d requests",
        name,
        out["utilization"],
        out["full_windows"],
        out["http_429"],
        out["requests"],
    )
    return out


async def run_all(base: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    pacer_cls = load_pacer_class(args.pacer_from)
    longest = max(args.window_s, args.small_window_s)
    duration = 3.0 + args.windows * longest + 0.5
    roundings = [x.strip() for x in args.rounding.split(",") if x.strip()]
    specs: dict[str, dict[str, Any]] = {}
    for w in (args.window_s, args.small_window_s):
        for mode in roundings:
            specs[f"w{w:g}_{mode}"] = {
                "quota": args.quota,
                "window": w,
                "rounding": mode,
                "first_partial": rng.uniform(1.0, 3.0),
            }
    log.info("pacing: %d scenarios side by side for %.0f s", len(specs), duration)
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        results = await asyncio.gather(
            *(
                run_scenario(session, base, name, spec, duration, args.concurrency, pacer_cls)
                for name, spec in specs.items()
            )
        )
    return dict(zip(specs, results, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=5, help="full windows of the longest w")
    parser.add_argument("--quota", type=int, default=200)
    parser.add_argument("--window-s", type=float, default=20.0)
    parser.add_argument("--small-window-s", type=float, default=4.0)
    parser.add_argument("--rounding", default="ceil,floor,round", help="how the server rounds t")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0, help="window phases")
    parser.add_argument("--pacer-from", default=None, help="a ratelimit.py to benchmark instead")
    args = parser.parse_args()
    setup_logging()
    ctx = mp.get_context("spawn")
    port_queue, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=_serve_forever, args=(port_queue, stop), daemon=True)
    server.start()
    try:
        port = port_queue.get(timeout=30)
        scenarios = asyncio.run(run_all(f"http://127.0.0.1:{port}", args))
    finally:
        stop.set()
        server.join(timeout=5)
        if server.is_alive():
            server.kill()
    headline = scenarios[f"w{args.window_s:g}_{args.rounding.split(',')[0].strip()}"]
    small = scenarios[f"w{args.small_window_s:g}_{args.rounding.split(',')[0].strip()}"]
    emit(
        {
            "benchmark": "pacing",
            "pacer": args.pacer_from or "hf_croissant_assets.hub.ratelimit",
            "quota": args.quota,
            "window_s": args.window_s,
            "concurrency": args.concurrency,
            "utilization": headline["utilization"],
            "share_429": headline["share_429"],
            "per_window_served_429": headline["per_window_served_429"],
            "small_window": {
                "window_s": args.small_window_s,
                "utilization": small["utilization"],
                "share_429": small["share_429"],
            },
            "scenarios": scenarios,
            "targets": {"utilization_min": UTILIZATION_MIN, "share_429_max": SHARE_429_MAX},
            "targets_met": all(s["targets_met"] for s in scenarios.values()),
        }
    )


if __name__ == "__main__":
    main()
