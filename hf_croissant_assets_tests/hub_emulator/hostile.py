"""The hostile Hub: answers a stranger, a broken proxy or an attacker could send.

Fault kinds (usable like the ordinary ones: `fault_rate={kind: p}` or `HubEmulator.inject`):

- `deep_json`: a 200 whose JSON body is nested 200,000 levels deep (`RecursionError` in a decoder).
- `gzip_bomb`: a 200 with `Content-Encoding: gzip`, ~255 KiB on the wire inflating to 256 MiB.
- `html200`: a 200 with an HTML error page (a proxy's), `Content-Type: text/html`.
- `json_list`: a 200 whose JSON body is a list, not an object (wrong shape for a document).
- `huge_ratelimit`: the normal answer with `RateLimit` numbers hundreds of digits long.
- `stall_ratelimit`: the normal answer announcing `r=0;t=999999999` (no quota for 31 years).
- `retry_after_day`: a 429 with `Retry-After: 86400`.
- `retry_after_date`: a 429 with `Retry-After` as an HTTP date a day ahead.
- `bad_link`: the normal answer with a `Link` whose URL does not parse.
- `link_loop` (listing): the normal page, with `Link: rel="next"` back to the first page.

Listing shapes (`EmulatorConfig` fields, applied to `GET /api/datasets`):

- `listing_keep`: the share of datasets the listing shows (0: an empty listing, 0.5: a listing
  truncated to about half), deterministic per dataset;
- `private_rate`: the share of datasets that are private: listed (with `private: true`) and
  served only to a request carrying a Bearer token, 404 to anyone else, like the Hub;
- `extra_ids`: ids added to the first listing page (e.g. `org/../other`: dot segments).
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from hf_croissant_assets_tests.hub_emulator.hashing import mix, salt, unit
from hf_croissant_assets_tests.hub_emulator.responses import HTML_BODY, RATE_LIMITED_BODY

HOSTILE_KINDS: tuple[str, ...] = (
    "deep_json",
    "gzip_bomb",
    "html200",
    "json_list",
    "huge_ratelimit",
    "stall_ratelimit",
    "retry_after_day",
    "retry_after_date",
    "bad_link",
    "link_loop",
)

DEEP_LEVELS = 200_000
BOMB_BYTES = 256 * 1024 * 1024
_bomb: bytes | None = None


def gzip_bomb() -> bytes:
    """256 MiB of zeros, gzip-compressed once (~255 KiB) and cached."""
    global _bomb
    if _bomb is None:
        chunk = b"\0" * (1024 * 1024)
        import io

        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as gz:
            for _ in range(BOMB_BYTES // len(chunk)):
                gz.write(chunk)
        _bomb = buf.getvalue()
    return _bomb


def deep_json(levels: int = DEEP_LEVELS) -> str:
    return "[" * levels + "]" * levels


# -- listing shapes ---------------------------------------------------------------------------


def is_private(seed: int, i: int, rate: float) -> bool:
    return rate > 0 and unit(mix(salt(seed, "private") ^ i)) < rate


def is_dropped(seed: int, i: int, keep: float) -> bool:
    return keep < 1 and unit(mix(salt(seed, "keep") ^ i)) >= keep


def bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() or None if auth.startswith("Bearer ") else None


# -- fault answers ----------------------------------------------------------------------------


async def respond(
    request: web.Request, kind: str, headers: dict[str, str], inner: Any
) -> tuple[web.StreamResponse, int]:
    """The answer of a hostile fault and the status to record."""
    if kind == "deep_json":
        return web.Response(text=deep_json(), content_type="application/json", headers=headers), 200
    if kind == "gzip_bomb":
        resp = web.Response(body=gzip_bomb(), headers=headers)
        resp.headers["Content-Type"] = "application/json"
        resp.headers["Content-Encoding"] = "gzip"
        return resp, 200
    if kind == "html200":
        return web.Response(text=HTML_BODY, content_type="text/html", headers=headers), 200
    if kind == "json_list":
        return web.Response(text="[1, 2, 3]", content_type="application/json", headers=headers), 200
    if kind in ("retry_after_day", "retry_after_date"):
        headers = dict(headers)
        headers["RateLimit"] = '"api";r=0;t=86400'
        headers["Retry-After"] = (
            "86400"
            if kind == "retry_after_day"
            else format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)
        )
        resp = web.Response(
            status=429, text=RATE_LIMITED_BODY, content_type="application/json", headers=headers
        )
        return resp, 429
    normal = await inner(request)
    normal.headers.update(headers)
    if kind == "huge_ratelimit":
        digits = "9" * 400
        normal.headers["RateLimit"] = f'"api";r={digits};t={digits}'
        normal.headers["RateLimit-Policy"] = f'"fixed window";"api";q={digits};w={digits}'
    elif kind == "stall_ratelimit":
        normal.headers["RateLimit"] = '"api";r=0;t=999999999'
    elif kind == "bad_link":
        normal.headers["Link"] = '<http://[::1:bad/api/datasets?cursor=x>; rel="next"'
    elif kind == "link_loop":
        first = request.url.with_query([(k, v) for k, v in request.query.items() if k != "cursor"])
        normal.headers["Link"] = f'<{first}>; rel="next"'
    return normal, normal.status


def listing_extra(extra_ids: tuple[str, ...], fields: frozenset[str]) -> list[dict[str, Any]]:
    """The listing objects of `extra_ids` (hostile ids): minimal, well-formed otherwise."""
    out = []
    for dataset_id in extra_ids:
        item: dict[str, Any] = {"_id": f"x{abs(hash(dataset_id)) % 10**12:012d}", "id": dataset_id}
        if "private" in fields:
            item["private"] = False
        if "gated" in fields:
            item["gated"] = False
        if "sha" in fields:
            item["sha"] = "0" * 40
        out.append(item)
    return out


def dumps(items: list[dict[str, Any]]) -> str:
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))
