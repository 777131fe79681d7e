"""Pacing requests from the Hub's `RateLimit` / `RateLimit-Policy` headers.

The Hub counts requests in fixed windows (bucket "api": e.g. 1,000 per 300 s on a free token) and
says on every response how many are left (`r`) and how long until the window resets (`t`). The
pacer spends what is left evenly over what remains of the window: one slot every `t / r` seconds.
That uses the whole quota (no idle window) without bursting into it (no 429 storm), and it adapts
when something else shares the token, because `r` then falls faster than we spend it.

Plain asyncio; no Dagster, no aiohttp.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# At most 30 digits: a value with hundreds of digits is refused, not turned into inf.
_PARAM = re.compile(r"\b([a-z])=([0-9]{1,30}(?:\.[0-9]{1,30})?)(?![0-9])")

#: Longest pause any header can impose (a window reset, a Retry-After): the Hub's windows are
#: minutes long; a header asking for a day or a year is clamped to this.
DEFAULT_MAX_PAUSE_S = 900.0
#: Largest request count a header may announce (remaining, quota).
MAX_COUNT = 1_000_000_000


def _clamp(value: float | None, low: float, high: float) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return min(max(value, low), high)


@dataclass(frozen=True)
class RateLimitState:
    """One response's view of the window."""

    remaining: int | None
    reset_in: float | None
    quota: int | None
    window: float | None


def parse_ratelimit_headers(
    headers: Mapping[str, str], max_pause_s: float = DEFAULT_MAX_PAUSE_S
) -> RateLimitState:
    """Read `RateLimit: "api";r=489;t=189` and `RateLimit-Policy: "fixed window";"api";q=1000;w=300`.

    Missing or malformed headers give `None` fields; they never raise (the headers are untrusted).
    Every number is clamped to a sane range: counts to [0, 1e9], `t` and `w` to `max_pause_s`.
    """

    def params(value: object) -> dict[str, float]:
        if not isinstance(value, str) or not value or len(value) > 1000:
            return {}
        return {k: float(v) for k, v in _PARAM.findall(value)}

    rl = params(headers.get("RateLimit"))
    policy = params(headers.get("RateLimit-Policy"))
    r = _clamp(rl.get("r"), 0, MAX_COUNT)
    t = _clamp(rl.get("t"), 0, max_pause_s)
    q = _clamp(policy.get("q"), 0, MAX_COUNT)
    w = _clamp(policy.get("w"), 0, max_pause_s)
    return RateLimitState(
        remaining=int(r) if r is not None else None,
        reset_in=t,
        quota=int(q) if q is not None else None,
        window=w if w else None,
    )


def parse_retry_after(
    value: str | None, max_pause_s: float = DEFAULT_MAX_PAUSE_S, now: datetime | None = None
) -> float | None:
    """`Retry-After` in seconds: delta-seconds or an HTTP date, clamped to [0, max_pause_s]."""
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        return None
    text = value.strip()
    seconds: float | None
    if re.fullmatch(r"[0-9]{1,30}(?:\.[0-9]{1,30})?", text):
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return _clamp(seconds, 0.0, max_pause_s)


class RateLimitPacer:
    """Hands out send slots so that a window's remaining quota is spent evenly until it resets.

    Usage: `ticket = await pacer.acquire()` before each request, then `pacer.observe(ticket, headers)`
    with the response headers, or `pacer.rate_limited(delay)` on a 429.

    Until the first response has shown the policy only one request is in flight (a probe); a server
    that sends no headers is not paced at all (the client's concurrency limit still applies).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        safety: float = 0.0,
        reset_margin: float = 0.05,
        max_pause_s: float = DEFAULT_MAX_PAUSE_S,
    ) -> None:
        self._clock = clock
        self.max_pause_s = max_pause_s
        self._safety = safety  # requests to leave unspent per window (another client's share)
        self._reset_margin = reset_margin
        self._lock = asyncio.Lock()
        self._sent = 0  # sequence number of sends
        self._remaining: float | None = None  # our estimate of the window's remaining quota
        self._reset_at: float | None = None  # upper bound of the window's reset time
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._probe_in_flight = False
        self._headers_seen = False
        self._unpaced = False
        self.quota: int | None = None
        self.window: float | None = None
        self.rate_limited_count = 0
        self.last_remaining: int | None = None

    async def acquire(self) -> int:
        """Wait for a slot; returns a ticket (the send sequence number) for `observe`."""
        while True:
            async with self._lock:
                now = self._clock()
                wait = self._wait_time(now)
                if wait <= 0:
                    return self._take(now)
            await asyncio.sleep(wait)

    def _wait_time(self, now: float) -> float:
        if now < self._paused_until:
            return self._paused_until - now
        if self._unpaced:
            return 0.0
        if not self._headers_seen:
            # Probe: one request at a time until a response tells us the policy.
            return 0.02 if self._probe_in_flight else 0.0
        if self._reset_at is not None and now >= self._reset_at:
            # The window has certainly rolled over: the quota is back, learn it from a probe.
            self._reset_at = None
            self._remaining = None
            self._next_slot = now
        if self._remaining is None:
            return 0.02 if self._probe_in_flight else 0.0
        if self._remaining - self._safety < 1:
            # Exhausted: wait for the reset (its upper bound, so we never send early).
            target = (self._reset_at or now + 1.0) + self._reset_margin
            return max(target - now, 0.001)
        return max(self._next_slot - now, 0.0)

    def _take(self, now: float) -> int:
        self._sent += 1
        if not self._headers_seen or self._remaining is None:
            self._probe_in_flight = True
        if self._remaining is not None:
            self._remaining -= 1
            # Spread what is left of the window evenly over the time left in it.
            time_left = max((self._reset_at or now) - now, 0.0)
            interval = time_left / max(self._remaining - self._safety, 1.0)
            self._next_slot = max(self._next_slot, now) + interval
        return self._sent

    def observe(self, ticket: int, headers: Mapping[str, str]) -> RateLimitState:
        """Update the estimate from a response's headers (any status, 429 included)."""
        state = parse_ratelimit_headers(headers, self.max_pause_s)
        now = self._clock()
        self._probe_in_flight = False
        if state.remaining is None or state.reset_in is None:
            if not self._headers_seen:
                self._unpaced = True
            return state
        self._headers_seen = True
        self._unpaced = False
        if state.quota is not None:
            self.quota = state.quota
        if state.window is not None:
            self.window = state.window
        self.last_remaining = state.remaining
        reset_at = now + state.reset_in
        window = self.window or state.reset_in
        if self._reset_at is None or reset_at > self._reset_at + window / 2:
            self._reset_at = reset_at  # a new window: re-spread from now
            self._next_slot = min(self._next_slot, now)
        else:
            self._reset_at = min(self._reset_at, reset_at)  # tighter upper bound, same window
        # Requests sent after this one were probably not yet counted when the server answered.
        sent_after = self._sent - ticket
        self._remaining = float(state.remaining - sent_after)
        return state

    def rate_limited(self, delay: float | None) -> float:
        """A 429: pause every sender until the window resets (plus jitter). Returns the pause."""
        self.rate_limited_count += 1
        now = self._clock()
        if delay is None:
            delay = (self._reset_at - now) if self._reset_at else 1.0
        delay = min(max(delay, 0.0), self.max_pause_s) + random.uniform(0.0, 0.25)  # noqa: S311
        self._paused_until = max(self._paused_until, now + delay)
        self._remaining = 0.0
        self._probe_in_flight = False
        return delay

    def snapshot(self) -> dict[str, float | int | None]:
        return {
            "quota": self.quota,
            "window_s": self.window,
            "last_remaining": self.last_remaining,
            "rate_limited": self.rate_limited_count,
        }
