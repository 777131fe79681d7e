"""Deterministic 64-bit hashing (splitmix64): every synthetic value is drawn from these."""

from __future__ import annotations

M64 = (1 << 64) - 1
U53 = 2.0**-53


def mix(x: int) -> int:
    """splitmix64's step + finaliser: a fast, well-mixed 64-bit hash of a 64-bit integer."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def salt(seed: int, name: str) -> int:
    """A per-purpose hash key: the same seed gives independent streams for different names."""
    h = mix(seed & M64)
    for ch in name.encode():
        h = mix(h ^ ch)
    return h


def unit(h: int) -> float:
    """A float in [0, 1) from a 64-bit hash."""
    return (h >> 11) * U53


def sha_hex(hv: int) -> str:
    """40 hex digits (a git-style sha) from a 64-bit hash."""
    b = mix(hv)
    return f"{hv:016x}{b:016x}{(hv ^ (b >> 17)) & 0xFFFFFFFF:08x}"
