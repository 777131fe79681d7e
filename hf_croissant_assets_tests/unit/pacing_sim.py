"""A discrete-event simulation of a client paced by `RateLimitPacer` against a strict fixed window.

Virtual time, no sockets, no sleeping: a whole 20-window run takes milliseconds, so the unit tests
can check quota use and 429s over many windows, rounding modes and hostile servers. The server
counts requests per true window `[phase + k*w, phase + (k+1)*w)`, answers 429 beyond `q`, and
sends `t` rounded to whole seconds the way the test asks (`ceil`, `floor`, `round`).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from hf_croissant_assets.hub.ratelimit import RateLimitPacer

ROUNDING: dict[str, Callable[[float], int]] = {
    "ceil": math.ceil,
    "floor": math.floor,
    "round": lambda x: math.floor(x + 0.5),
}

#: A server's answer: (status, headers).
Answer = tuple[int, dict[str, str]]


@dataclass
class StrictWindowServer:
    quota: int
    window: float
    phase: float = 0.0
    rounding: str = "ceil"
    counts: dict[int, list[int]] = field(default_factory=dict)  # window -> [served, 429]

    def serve(self, now: float) -> Answer:
        k = math.floor((now - self.phase) / self.window)
        reset = self.phase + (k + 1) * self.window
        c = self.counts.setdefault(k, [0, 0])
        t = max(ROUNDING[self.rounding](reset - now), 0)
        if c[0] >= self.quota:
            c[1] += 1
            return 429, self._headers(0, t) | {"Retry-After": str(max(t, 1))}
        c[0] += 1
        return 200, self._headers(self.quota - c[0], t)

    def _headers(self, r: int, t: int) -> dict[str, str]:
        return {
            "RateLimit": f'"api";r={r};t={t}',
            "RateLimit-Policy": f'"fixed window";"api";q={self.quota};w={int(self.window)}',
        }


@dataclass
class SimResult:
    requests: int
    http_429: int
    full_windows: list[int]
    served_full: int
    per_window: dict[int, list[int]]
    quota: int
    max_gap_s: float  # longest time no request was sent (a stall would show here)
    pacer: RateLimitPacer

    @property
    def utilization(self) -> float:
        return self.served_full / (self.quota * len(self.full_windows))

    @property
    def share_429(self) -> float:
        return self.http_429 / self.requests if self.requests else 0.0


def simulate(
    serve: Callable[[float], Answer],
    *,
    quota: int,
    window: float,
    phase: float,
    duration: float,
    concurrency: int = 8,
    latency: tuple[float, float] = (0.0005, 0.003),
    seed: int = 0,
    counts: dict[int, list[int]] | None = None,
    pacer: RateLimitPacer | None = None,
) -> SimResult:
    """Run `concurrency` senders through one pacer for `duration` virtual seconds from t=0.

    Each request reaches the server after one latency draw and its answer comes back after
    another; windows lying entirely inside the run count for utilization.
    """
    rng = random.Random(seed)
    clock = [0.0]
    pacer = pacer or RateLimitPacer(clock=lambda: clock[0])
    events: list[tuple[float, int, str, int, int]] = []  # (time, seq, kind, worker, ticket)
    seq = 0

    def push(at: float, kind: str, worker: int, ticket: int = 0) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (at, seq, kind, worker, ticket))

    for worker in range(concurrency):
        push(0.0, "try", worker)
    answers: dict[int, Answer] = {}
    requests = limited = 0
    last_send, max_gap = 0.0, 0.0
    while events:
        at, _, kind, worker, ticket = heapq.heappop(events)
        clock[0] = at
        if kind == "try":
            if at >= duration:
                continue
            wait = pacer._wait_time(at)
            if wait > 0:
                push(at + wait, "try", worker)
                continue
            ticket = pacer._take(at)
            requests += 1
            max_gap, last_send = max(max_gap, at - last_send), at
            push(at + rng.uniform(*latency), "serve", worker, ticket)
        elif kind == "serve":
            answers[ticket] = serve(at)
            push(at + rng.uniform(*latency), "answer", worker, ticket)
        else:
            status, headers = answers.pop(ticket)
            pacer.observe(ticket, headers)
            if status == 429:
                limited += 1
                retry = headers.get("Retry-After")
                pacer.rate_limited(float(retry) if retry else None)
            push(at, "try", worker)
    counts = counts if counts is not None else {}
    first = math.ceil((0.0 - phase) / window)
    last = math.floor((duration - phase) / window) - 1
    full = list(range(first, last + 1))
    served_full = sum(counts.get(k, [0, 0])[0] for k in full)
    return SimResult(requests, limited, full, served_full, counts, quota, max_gap, pacer)


def simulate_strict(
    *,
    quota: int = 200,
    window: float = 20.0,
    phase: float = 0.37,
    rounding: str = "ceil",
    windows: int = 6,
    **kwargs: object,
) -> SimResult:
    """`simulate` against a `StrictWindowServer`, for `windows` full windows after a partial one."""
    server = StrictWindowServer(quota, window, phase, rounding)
    duration = phase % window + windows * window + 0.5
    return simulate(
        server.serve,
        quota=quota,
        window=window,
        phase=phase,
        duration=duration,
        counts=server.counts,
        **kwargs,  # type: ignore[arg-type]
    )
