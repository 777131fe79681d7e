"""Answers shaped like the Hub's: canned error bodies, JSON errors, pagination cursors, and
dropped connections."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import socket
import struct

from aiohttp import web

NOT_AVAILABLE_BODY = '{"error":"The croissant format is not available for this dataset."}'
NOT_FOUND_BODY = '{"error":"Repository not found"}'
RATE_LIMITED_BODY = json.dumps(
    {
        "error": "You have been rate-limited; you can retry this action in a few minutes. "
        "To get a higher rate limit, authenticate with a token or subscribe to PRO."
    }
)
ERROR_BODIES = {
    500: '{"error":"Internal Error - We\'re working hard to fix this as soon as possible!"}',
    502: '{"error":"Bad Gateway"}',
    503: '{"error":"Service Unavailable"}',
    504: '{"error":"Gateway Timeout"}',
}
HTML_BODY = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


def json_error(status: int, message: str) -> web.Response:
    """`{"error": message}` with `status`."""
    return web.Response(
        status=status,
        text=json.dumps({"error": message}, ensure_ascii=False),
        content_type="application/json",
    )


def hub_error(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    """An error like the Hub's: JSON `{"error": ...}` plus X-Error-Code / X-Error-Message, which
    huggingface_hub turns into RepositoryNotFoundError, EntryNotFoundError, ..."""
    h = {"X-Error-Message": message.encode("ascii", "replace").decode()}
    if code:
        h["X-Error-Code"] = code
    h.update(headers or {})
    return web.Response(
        status=status,
        text=json.dumps({"error": message}),
        content_type="application/json",
        headers=h,
    )


def encode_cursor(last_index: int) -> str:
    """The opaque keyset cursor of a `Link: rel="next"` URL: base64 of `{"$gt": last_index}`."""
    raw = json.dumps({"$gt": last_index}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    """The last index of a cursor from `encode_cursor`, None if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        obj = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(obj, dict) or set(obj) != {"$gt"}:
        return None
    v = obj["$gt"]
    if not isinstance(v, int) or isinstance(v, bool) or v < -1:
        return None
    return v


def abort(request: web.Request, rst: bool = True) -> None:
    """Drop the connection of `request`: a TCP reset (`rst`) or a plain close mid-response."""
    transport = request.transport
    if transport is None:
        return
    if rst:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
