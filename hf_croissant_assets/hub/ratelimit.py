"""Pacing requests from the Hub's `RateLimit` / `RateLimit-Policy` headers.

The Hub counts requests in fixed windows (bucket "api": e.g. 1,000 per 300 s on a free token) and
says on every response how many are left (`r`) and how long until the window resets (`t`, in whole
seconds). The pacer learns when the window really resets (see `RateLimitPacer`) and spends what is
left evenly up to the earliest moment it can: that uses the whole quota of every window without
bursting into it (no 429 storm), and it adapts when something else shares the token, because `r`
then falls faster than we spend it.

Plain asyncio; no Dagster, no aiohttp.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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


#: How a server may round the time left to whole seconds, as the range of `(reset - served) - t`.
#: The Hub does not say which it uses; each is kept as a hypothesis until an answer refutes it.
ROUNDING_MODES: dict[str, tuple[float, float]] = {
    "ceil": (-1.0, 0.0),
    "round": (-0.5, 0.5),
    "floor": (0.0, 1.0),
}

Interval = tuple[float, float]


@dataclass
class _Window:
    """What is known of the current fixed window: under each rounding hypothesis still standing,
    an interval `[lo, hi]` (local clock) that holds the window's reset. `lo`/`hi` are their hull.

    `ref_*` is the latest response counted in this window: within one window the server's `r`
    and `t` can only fall, so a later request that sees either rise was served in a newer window.
    """

    modes: dict[str, Interval]
    ref_e: float | None = None
    ref_r: int | None = None
    ref_t: float | None = None
    # The lowest `r` answered in this window: the newest server state we know.
    min_r: int | None = None

    lo: float = field(init=False)
    hi: float = field(init=False)

    def __post_init__(self) -> None:
        self._hull()

    def _hull(self) -> None:
        spans = self.modes.values()
        self.lo = min([lo for lo, _ in spans])
        self.hi = max([hi for _, hi in spans])

    def narrow(self, bounds: Mapping[str, Interval]) -> bool:
        """Intersect each hypothesis with its bound; drop refuted ones. False if none is left."""
        kept: dict[str, Interval] = {}
        for mode, span in self.modes.items():
            lo, hi = span
            bound = bounds.get(mode)
            if bound is not None:
                lo = bound[0] if bound[0] > lo else lo
                hi = bound[1] if bound[1] < hi else hi
            if lo <= hi:
                kept[mode] = (lo, hi)
        if not kept:
            return False
        self.modes = kept
        self._hull()
        return True

    def shifted(self, by: float, widen: float) -> dict[str, Interval]:
        return {m: (lo + by - widen, hi + by + widen) for m, (lo, hi) in self.modes.items()}


#: Requests of a window kept back to find its reset by bisection while the reset is uncertain.
PROBE_RESERVE = 2
#: Per window, the learned reset may move by this share of the window (clock drift, a server
#: whose windows start at the first request) plus `_DRIFT_MIN_S`.
_DRIFT_SHARE = 2e-5
_DRIFT_MIN_S = 0.001
#: Tolerance on each answer's bounds (a server's clock read a little before or after it counts).
_SLACK_S = 0.002
#: How often a sender waiting for a probe's answer looks again.
_POLL_S = 0.01
#: An answer that has not come after this long is not waited for (its send time is forgotten).
_FORGET_S = 60.0


class RateLimitPacer:
    """Hands out send slots so that each window's quota is spent, evenly, before it resets.

    Usage: `ticket = await pacer.acquire()` before each request, then `pacer.observe(ticket, headers)`
    with the response headers, or `pacer.rate_limited(delay)` on a 429.

    Why it learns the window's phase: the Hub rounds `t` to whole seconds, so one response only
    places the reset within about a second (and the rounding direction is not documented). The
    pacer keeps, per rounding hypothesis (up, down, nearest), an interval `[lo, hi]` that holds
    the current window's reset, and narrows it with every answer: a request sent at `s` and
    answered at `e` was served at some time in `[s, e]`, so `t` bounds the reset to
    `[s + t + a, e + t + b]` (the hypothesis' rounding error `[a, b]`), and the moments `t` ticks
    down pin it to a few hundredths. If the answer was counted in the current window the reset is
    after `s`; if it already saw a new window (its `r` or `t` rose, or its `t` puts the reset past
    `hi`) the reset was at or before `e`, which refutes hypotheses that put it later. The window
    length `w` from `RateLimit-Policy` carries the intervals to the next window. While their hull
    is wide, the last `PROBE_RESERVE` requests of a window are sent one at a time inside it (just
    after the earliest hypothesis' reset, or at the midpoint): each lands in either window without
    a 429, because the old window still has quota for it. Once learned (usually at the first
    reset), the quota is spread evenly up to `lo` minus a round trip, and the next window starts at
    `hi` or as soon as an answer shows it has.

    Hostile headers cannot make it stall or outrun the quota: `r` is clamped to `q`, `t` to `w`
    (and `max_pause_s`), an interval that evidence contradicts is rebuilt from the latest answer,
    no wait exceeds one window, and a token bucket (rate `q / w`, burst `2 q`) caps the send rate
    whatever `r` and `t` say.

    Until the first response has shown the policy only one request is in flight (a probe); a server
    that sends no headers is not paced at all (the client's concurrency limit still applies).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        safety: float = 0.0,
        reset_margin: float = 0.02,
        max_pause_s: float = DEFAULT_MAX_PAUSE_S,
        probe_reserve: int = PROBE_RESERVE,
    ) -> None:
        self._clock = clock
        self.max_pause_s = max_pause_s
        self._safety = safety  # requests to leave unspent per window (another client's share)
        self._reset_margin = reset_margin
        self._probe_reserve = max(int(probe_reserve), 0)
        self._lock = asyncio.Lock()
        self._sent = 0  # sequence number of sends
        self._sent_at: dict[int, float] = {}  # ticket -> send time, until answered
        self._remaining: float | None = None  # our estimate of the window's remaining quota
        self._win: _Window | None = None
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._probe: tuple[int, float] | None = None  # (ticket, send time) of the probe in flight
        self._mode = "probe"  # what the last `_wait_time` decided the next send is
        self._deadline = 0.0
        self._normal_left = 0.0
        self._headers_seen = False
        self._unpaced = False
        self._rtt: float | None = None
        self._tokens: float | None = None
        self._tokens_at = 0.0
        self.quota: int | None = None
        self.window: float | None = None
        self.rate_limited_count = 0
        self.last_remaining: int | None = None
        self.resets_observed = 0
        self.conflicts = 0
        self._modes: set[str] = set(ROUNDING_MODES)  # rounding hypotheses not yet refuted

    # -- sending -----------------------------------------------------------------------------
    async def acquire(self) -> int:
        """Wait for a slot; returns a ticket (the send sequence number) for `observe`."""
        while True:
            async with self._lock:
                now = self._clock()
                wait = self._wait_time(now)
                if wait <= 0:
                    return self._take(now)
            await asyncio.sleep(wait)

    def _rtt_s(self) -> float:
        return self._rtt if self._rtt is not None else 0.05

    def _bucket_wait(self, now: float) -> float:
        """Seconds until the token bucket (rate q/w, burst 2q) allows one more send."""
        q, w = self.quota, self.window
        if not q or not w:
            return 0.0
        rate = q / w
        if self._tokens is None:
            self._tokens = float(2 * q)
        else:
            self._tokens = min(2.0 * q, self._tokens + max(now - self._tokens_at, 0.0) * rate)
        self._tokens_at = now
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / rate

    def _probe_busy(self, now: float) -> bool:
        if self._probe is None:
            return False
        # An answer that never comes (a path that skips `observe`) must not stall every sender.
        if now - self._probe[1] > max(2.0, 20 * self._rtt_s()):
            self._probe = None
            return False
        return True

    def _roll_over(self, now: float) -> None:
        """The current window has certainly reset: carry its interval one window on (if the
        policy says how long a window is), and probe the new window's quota."""
        win, w = self._win, self.window
        self._remaining = None
        self._next_slot = now
        if win is None or not w or now - win.hi > 10 * w:
            self._win = None
            return
        drift = max(_DRIFT_MIN_S, _DRIFT_SHARE * w)
        while now >= win.hi + self._reset_margin:
            win = _Window(win.shifted(w, drift))
        self._win = win

    def _wait_time(self, now: float) -> float:
        """Seconds until the next send may go (0: now). Sets `_mode` for `_take`."""
        wait = self._wait(now)
        return wait if wait > 1e-6 else 0.0  # float dust must not become a busy loop

    def _wait(self, now: float) -> float:
        self._mode = "probe"
        if now < self._paused_until:
            return self._paused_until - now
        if self._unpaced:
            self._mode = "free"
            return self._bucket_wait(now)
        if not self._headers_seen:
            # Probe: one request at a time until a response tells us the policy.
            return _POLL_S if self._probe_busy(now) else 0.0
        cap = self._bucket_wait(now)
        win = self._win
        if win is not None and now >= win.hi + self._reset_margin:
            self._roll_over(now)
            win = self._win
        if self._remaining is None or win is None:
            return _POLL_S if self._probe_busy(now) else cap
        budget = self._remaining - self._safety
        if budget < 1:
            # Spent: wait for the reset (its upper bound, so we never send early).
            return max(win.hi + self._reset_margin - now, 0.001)
        rtt = self._rtt_s()
        width = win.hi - win.lo
        w = self.window or width
        # Narrow enough: a few round trips, and little of the window. (A wider interval loses
        # no quota, spending stops at `lo`, but it crowds the window's requests closer.)
        enough = max(0.03, 3 * rtt, w / 200)
        reserve = 0
        if width > enough and self.window:
            reserve = min(self._probe_reserve, math.ceil(math.log2(width / enough)) + 1)
        normal = budget - reserve
        self._deadline = win.lo - min(max(2 * rtt, 0.005), w / 10)
        self._normal_left = normal
        if normal >= 1 and now < win.lo:
            self._mode = "normal"
            if now < self._deadline:
                return max(self._next_slot - now, cap, 0.0)
            return cap  # late: spend it before the reset
        # Inside `(lo, hi]`, or only the reserve left: one request at a time at the interval's
        # midpoint. Either window can take it (the old one still has quota), and its answer
        # halves the interval.
        if self._probe_busy(now):
            return _POLL_S
        spans = sorted(win.modes.values())
        if len(spans) > 1 and spans[0][1] < spans[-1][0]:
            # Rounding hypotheses disagree: ask just after the earliest one's reset. An answer
            # from the old window refutes it; one from the new window refutes the later ones.
            target = spans[0][1]
        else:
            target = max((win.lo + win.hi) / 2 - rtt / 2, win.lo)
        return max(target - now, cap, 0.0)

    def _take(self, now: float) -> int:
        self._sent += 1
        ticket = self._sent
        if len(self._sent_at) > 100_000:  # answers that never came: forget the oldest
            self._sent_at.pop(next(iter(self._sent_at)))
        self._sent_at[ticket] = now
        if self._tokens is not None:
            self._tokens -= 1
        if self._mode == "probe":
            self._probe = (ticket, now)
        if self._remaining is not None:
            self._remaining -= 1
            if self._mode == "normal":
                # Spread what is left of the window evenly up to the reset's lower bound.
                left = self._normal_left - 1
                interval = max(self._deadline - now, 0.0) / max(left, 1.0)
                self._next_slot = max(self._next_slot, now) + interval
        return ticket

    # -- learning ----------------------------------------------------------------------------
    def observe(self, ticket: int, headers: Mapping[str, str]) -> RateLimitState:
        """Update the estimate from a response's headers (any status, 429 included)."""
        state = parse_ratelimit_headers(headers, self.max_pause_s)
        now = self._clock()
        sent = self._sent_at.pop(ticket, None)
        if self._probe is not None and self._probe[0] == ticket:
            self._probe = None
        if state.quota is not None and state.quota > 0:
            self.quota = state.quota
        if state.window is not None:
            self.window = state.window
        if state.remaining is None or state.reset_in is None:
            if not self._headers_seen:
                self._unpaced = True  # still capped by the policy's rate, if it sent one
            return state
        self._headers_seen = True
        self._unpaced = False
        self.last_remaining = state.remaining
        s = min(sent, now) if sent is not None else now
        rtt = now - s
        self._rtt = rtt if self._rtt is None else 0.8 * self._rtt + 0.2 * rtt
        r = state.remaining if self.quota is None else min(state.remaining, self.quota)
        t = state.reset_in if self.window is None else min(state.reset_in, self.window)
        self._learn(s, now, r, t)
        return state

    def _bounds(self, s: float, e: float, t: float) -> dict[str, Interval]:
        """Where this answer puts its window's reset, under each rounding hypothesis standing.

        It was served at some time in `[s, e]`; the reset is after that, at most a window later,
        and `t` is the time left rounded the hypothesis' way.
        """
        w = self.window
        out: dict[str, Interval] = {}
        for mode in self._modes:
            low, high = ROUNDING_MODES[mode]
            lo, hi = max(s + t + low - _SLACK_S, s), e + t + high + _SLACK_S
            if w:
                hi = min(hi, e + w)
            if lo <= hi:
                out[mode] = (lo, hi)
        return out

    def _learn(self, s: float, e: float, r: int, t: float) -> None:
        """Place this answer's window relative to the current one and narrow the reset interval."""
        w = self.window
        bounds = self._bounds(s, e, t)
        if not bounds:  # every hypothesis refuted before (a server that changed): start over
            self._modes = set(ROUNDING_MODES)
            bounds = self._bounds(s, e, t)
        spans = bounds.values()
        c_lo = min([lo for lo, _ in spans])
        c_hi = max([hi for _, hi in spans])
        win = self._win
        if win is None:
            self._start(bounds, e, r, t)
            return
        newer = (
            s >= win.hi
            or c_lo > win.hi
            or (
                win.ref_e is not None
                and win.ref_r is not None
                and win.ref_t is not None
                and s >= win.ref_e
                and (r > win.ref_r or t > win.ref_t)
            )
        )
        if newer:
            self.resets_observed += 1
            # The old window reset at or before `e` (this answer saw the new one).
            if w and win.narrow(dict.fromkeys(win.modes, (-math.inf, e))):
                self._refute(win)
                # The new window resets one window later, under the same rounding.
                nxt = _Window(win.shifted(w, max(_DRIFT_MIN_S, _DRIFT_SHARE * w)))
                if nxt.narrow(bounds):
                    self._refute(nxt)
                    self._start(nxt.modes, e, r, t)
                    return
                self.conflicts += 1
            self._start(bounds, e, r, t)
            return
        if c_hi < win.lo and (win.ref_e is None or s < win.ref_e):
            # A straggler from an older window: the current one started after it was served.
            if w:
                win.narrow(dict.fromkeys(win.modes, (s + w, math.inf)))
            return
        # Counted in this window: the reset is after `s`, and within this answer's bounds.
        if not win.narrow(bounds):
            # The evidence contradicts itself (a hostile header, or the server moved its
            # windows): start again from this answer alone.
            self.conflicts += 1
            self._modes = set(ROUNDING_MODES)
            self._start(self._bounds(s, e, t), e, r, t)
            return
        self._refute(win)
        if win.ref_e is None or e >= win.ref_e:
            win.ref_e, win.ref_r, win.ref_t = e, r, t
        win.min_r = r if win.min_r is None else min(win.min_r, r)
        self._remaining = float(win.min_r - self._pending(e))

    def _refute(self, win: _Window) -> None:
        """Rounding hypotheses the window no longer holds are refuted for good."""
        if len(win.modes) < len(self._modes):
            self._modes &= set(win.modes)

    def _start(self, modes: dict[str, Interval], e: float, r: int, t: float) -> None:
        self._win = _Window(dict(modes), e, r, t, min_r=r)
        self._remaining = float(r - self._pending(e))
        self._next_slot = min(self._next_slot, e)

    def _pending(self, now: float) -> int:
        """Our requests the server may not have counted yet: sent, not answered, and recent
        (after `stale` seconds an unanswered request reached the server long ago, or never will).
        Subtracting some that were already counted only delays their slot until they answer."""
        while self._sent_at and next(iter(self._sent_at.values())) < now - _FORGET_S:
            self._sent_at.pop(next(iter(self._sent_at)))
        stale = now - max(2.0, 10 * self._rtt_s())
        n = 0
        for sent in reversed(self._sent_at.values()):
            if sent < stale:
                break
            n += 1
        return n

    def rate_limited(self, delay: float | None) -> float:
        """A 429: pause every sender until the window resets (plus jitter). Returns the pause."""
        self.rate_limited_count += 1
        now = self._clock()
        if delay is None:
            delay = (self._win.hi + self._reset_margin - now) if self._win else 1.0
        delay = min(max(delay, 0.0), self.max_pause_s) + random.uniform(0.0, 0.25)  # noqa: S311
        self._paused_until = max(self._paused_until, now + delay)
        self._remaining = 0.0
        self._probe = None
        # What was learned did not prevent this 429 (another client, a server that moved its
        # windows): learn the window again from the next answers.
        self._win = None
        self._modes = set(ROUNDING_MODES)
        return delay

    def snapshot(self) -> dict[str, float | int | str | None]:
        win = self._win
        return {
            "quota": self.quota,
            "window_s": self.window,
            "last_remaining": self.last_remaining,
            "rate_limited": self.rate_limited_count,
            "resets_observed": self.resets_observed,
            "reset_uncertainty_s": round(win.hi - win.lo, 4) if win else None,
            "rounding": ",".join(sorted(self._modes)),
            "rtt_ms": round(self._rtt * 1000, 2) if self._rtt is not None else None,
            "conflicts": self.conflicts,
        }
