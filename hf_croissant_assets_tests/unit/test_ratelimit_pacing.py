"""`RateLimitPacer` learns the fixed window's reset from answers whose `t` is rounded to whole
seconds (in a direction the Hub does not document), spends each window's whole quota without
429s, and hostile headers can neither stall it nor push it past the quota.

The runs are discrete-event simulations in virtual time (`pacing_sim`): no sockets, no sleeping.
"""

from __future__ import annotations

import itertools
import math
import random

import pytest

from hf_croissant_assets.hub.ratelimit import RateLimitPacer
from hf_croissant_assets_tests.unit.pacing_sim import (
    ROUNDING,
    Answer,
    StrictWindowServer,
    simulate,
    simulate_strict,
)

UTILIZATION_MIN = 0.97
SHARE_429_MAX = 0.005


def _headers(r: object, t: object, q: int = 200, w: int = 20) -> dict[str, str]:
    return {
        "RateLimit": f'"api";r={r};t={t}',
        "RateLimit-Policy": f'"fixed window";"api";q={q};w={w}',
    }


class _Driver:
    """Sends and answers at chosen virtual times, for step-by-step checks of what is learned."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pacer = RateLimitPacer(clock=lambda: self.now)

    def send(self, at: float) -> int:
        self.now = at
        return self.pacer._take(at)

    def answer(self, ticket: int, at: float, r: int, t: int, **kw: int) -> None:
        self.now = at
        self.pacer.observe(ticket, _headers(r, t, **kw))

    def exchange(self, sent: float, answered: float, r: int, t: int, **kw: int) -> None:
        self.answer(self.send(sent), answered, r, t, **kw)

    @property
    def window(self) -> tuple[float, float]:
        win = self.pacer._win
        assert win is not None
        return win.lo, win.hi


# -- learning the phase from (time, r, t) ---------------------------------------------------------


@pytest.mark.parametrize("rounding", ["ceil", "floor", "round"])
def test_ticks_of_t_pin_the_reset_under_each_rounding(rounding):
    """Answers every 0.1 s during one window: under the server's own rounding the interval that
    holds the reset shrinks from the ~1 s one answer allows to well under the request spacing.
    (Ticks alone cannot tell the roundings apart: their intervals lie 0.5 s apart, and the hull
    of all of them always holds the true reset.)"""
    reset, q = 17.37, 200
    d = _Driver()
    rnd = ROUNDING[rounding]
    widths = []
    rng = random.Random(1)
    for i in range(150):
        sent = i * 0.1 + rng.uniform(0.0, 0.09)
        served = sent + rng.uniform(0.0005, 0.002)
        d.exchange(sent, served + rng.uniform(0.0005, 0.002), q - 1 - i, rnd(reset - served))
        lo, hi = d.window
        assert lo <= reset <= hi, (i, lo, hi)
        assert d.pacer._win is not None
        own_lo, own_hi = d.pacer._win.modes[rounding]
        assert own_lo <= reset <= own_hi, (i, own_lo, own_hi)
        widths.append(own_hi - own_lo)
    assert widths[0] >= 0.9  # one answer: about a second
    assert widths[-1] < 0.05  # the ticks of t place the reset to a few hundredths


def test_an_observed_reset_refutes_rounding_hypotheses_and_carries_to_the_next_window():
    """A server rounding up: once a request sees the new window, the reset is bracketed by the
    last old answer and the first new one; the next window's reset is one `w` later."""
    reset, w = 7.4, 20
    d = _Driver()
    for i in range(70):  # up to 7.0 s, all in the first window
        sent = i * 0.1
        d.exchange(sent, sent + 0.002, 150 - i, math.ceil(reset - sent - 0.001))
    assert d.pacer._modes == {"ceil", "round", "floor"}  # ticks alone cannot tell them apart
    d.exchange(7.39, 7.392, 80, 1)  # still the old window
    d.exchange(7.45, 7.452, 199, 20)  # the new one: r and t jumped
    assert d.pacer.resets_observed == 1
    lo, hi = d.window
    assert lo <= reset + w <= hi
    assert hi - lo < 0.1
    assert d.pacer._modes == {"ceil"}  # round and floor would put the reset after 7.452


def test_stragglers_from_the_old_window_do_not_count_as_the_new_one():
    d = _Driver()
    d.exchange(0.0, 0.002, 150, 5)
    late = d.send(4.5)  # answered late, counted in the old window
    d.exchange(4.9, 4.95, 199, 20)  # a new window began
    remaining = d.pacer._remaining
    win = d.pacer._win
    assert win is not None
    lo_before = win.lo
    d.answer(late, 5.0, 3, 1)
    assert d.pacer._win is win and d.pacer._remaining == remaining
    assert win.lo >= lo_before  # it can only tell that the new window started after it


def test_spending_stops_before_the_earliest_possible_reset():
    """Even spacing up to the reset's lower bound; the rest waits for the bisection probes."""
    d = _Driver()
    d.exchange(0.0, 0.002, 100, 10)  # reset somewhere in [9, 11]
    now = 0.002
    sends = []
    while now < 12:
        wait = d.pacer._wait_time(now)
        if wait > 0:
            now += wait
            continue
        sends.append(now)
        d.pacer._take(now)
    before_reset = [s for s in sends if s < 9.0]
    assert len(before_reset) >= 97  # the quota, less the probe reserve
    gaps = [b - a for a, b in itertools.pairwise(before_reset)]
    assert max(gaps) < 0.2 and min(gaps) > 0.05  # evenly spread, ~0.09 s apart
    assert len(sends) <= 100  # unanswered probes never exceed what is left


# -- whole runs against a strict fixed window -------------------------------------------------------


@pytest.mark.parametrize("window", [20.0, 4.0])
@pytest.mark.parametrize("rounding", ["ceil", "floor", "round"])
@pytest.mark.parametrize("phase_share", [0.05, 0.37, 0.93])
def test_quota_is_spent_without_429(window, rounding, phase_share):
    res = simulate_strict(
        quota=200, window=window, phase=phase_share * window, rounding=rounding, windows=6
    )
    assert res.utilization >= UTILIZATION_MIN, res.per_window
    assert res.http_429 == 0, res.per_window
    assert all(c[0] <= 200 for c in res.per_window.values())


@pytest.mark.parametrize("concurrency", [1, 32])
def test_quota_is_spent_at_any_concurrency_and_latency(concurrency):
    res = simulate_strict(
        quota=200,
        window=20.0,
        phase=3.3,
        rounding="ceil",
        windows=4,
        concurrency=concurrency,
        latency=(0.001, 0.04),
    )
    assert res.utilization >= UTILIZATION_MIN, res.per_window
    assert res.share_429 <= SHARE_429_MAX


def test_a_shared_token_is_not_overrun():
    """Another client spends 60 of each window's 200 at its start: `r` shows it, so the pacer
    spends the other 140 and provokes no 429 storm."""
    server = StrictWindowServer(200, 20.0, 5.0, "ceil")
    other = 60

    def serve(now: float) -> Answer:
        k = math.floor((now - server.phase) / server.window)
        if k not in server.counts:
            server.counts[k] = [other, 0]
        return server.serve(now)

    res = simulate(
        serve,
        quota=200,
        window=20.0,
        phase=5.0,
        duration=5.0 + 4 * 20.0 + 0.5,
        counts=server.counts,
    )
    assert res.share_429 <= SHARE_429_MAX
    assert res.utilization >= UTILIZATION_MIN  # the 60 others' requests count as served


# -- hostile headers: no stall, no speeding past the quota ------------------------------------------

Q, W, DURATION = 100, 10.0, 60.0


def _run_hostile(headers_for) -> tuple[int, float, list[float]]:
    """Run against a server whose headers come from `headers_for(now, i)`; returns (sends,
    longest gap between sends, send times)."""
    sends: list[float] = []
    calls = [0]

    def serve(now: float) -> Answer:
        calls[0] += 1
        sends.append(now)
        return 200, headers_for(now, calls[0])

    res = simulate(serve, quota=Q, window=W, phase=0.0, duration=DURATION, concurrency=8)
    return res.requests, res.max_gap_s, sends


def _assert_within_quota(sends: list[float]) -> None:
    # Long run: never faster than q per w (plus the bucket's burst of 2q).
    assert len(sends) <= Q * DURATION / W + 2 * Q + 1
    # Any single window of w seconds: at most the burst plus one window's refill.
    times = sorted(sends)
    j = 0
    for i, t in enumerate(times):
        while times[j] < t - W:
            j += 1
        assert i - j + 1 <= 3 * Q + 1


HOSTILE = {
    "r_above_quota": lambda now, i: _headers(10**9, 5, q=Q, w=int(W)),
    "t_zero_r_full": lambda now, i: _headers(Q, 0, q=Q, w=int(W)),
    "t_huge": lambda now, i: _headers(Q // 2, 999_999_999, q=Q, w=int(W)),
    "t_negative": lambda now, i: _headers(Q // 2, -5, q=Q, w=int(W)),
    "t_random": lambda now, i: _headers(
        random.Random(i).randrange(0, 5 * Q), random.Random(-i).randrange(0, 40), q=Q, w=int(W)
    ),
    "t_rising": lambda now, i: _headers(Q - 1, i % 37, q=Q, w=int(W)),
    "r_zero_forever": lambda now, i: _headers(0, 3, q=Q, w=int(W)),
    "garbage": lambda now, i: (
        {"RateLimit": "<script>" * (i % 3), "RateLimit-Policy": "q=;w=-1"}
        if i > 1
        else _headers(Q, 5, q=Q, w=int(W))
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_headers_neither_stall_nor_outrun_the_quota(name):
    requests, max_gap, sends = _run_hostile(HOSTILE[name])
    assert requests >= DURATION / W - 1  # at least about one per window: never stalls for good
    assert max_gap <= W + 1.0  # no wait longer than one window (+ margin)
    _assert_within_quota(sends)


def test_a_server_that_contradicts_itself_is_relearned_not_trusted():
    """Answers that refute every hypothesis (the reset jumps around) restart the learning from
    the latest answer instead of leaving an empty or inverted interval."""
    d = _Driver()
    d.exchange(0.0, 0.01, 150, 10)
    d.exchange(1.0, 1.01, 149, 2)  # now the reset would be at ~3, not ~10: contradiction
    lo, hi = d.window
    assert lo <= hi
    assert lo >= 1.0 and hi <= 4.1
    assert d.pacer.conflicts >= 1
