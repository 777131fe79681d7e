"""Timestamps as the Hub writes them (`2024-05-01T12:34:56.789Z`), and the epoch of day 0."""

from __future__ import annotations

import calendar
import functools
import time


def epoch_seconds(epoch: str) -> int:
    """Seconds since 1970 of a `YYYY-MM-DD` UTC date; ValueError if it is not one."""
    return calendar.timegm(time.strptime(epoch, "%Y-%m-%d"))


@functools.lru_cache(maxsize=8192)
def _date_prefix(days_since_1970: int) -> str:
    t = time.gmtime(days_since_1970 * 86_400)
    return f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}T"


def iso(ts: int, ms: int) -> str:
    """`2024-05-01T12:34:56.789Z`, the Hub's timestamp style."""
    d, s = divmod(ts, 86_400)
    return f"{_date_prefix(d)}{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{ms:03d}Z"


def now_iso() -> str:
    t = time.time()
    return iso(int(t), int(t * 1000) % 1000)
