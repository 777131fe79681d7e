"""An asyncio client for the two Hub endpoints the snapshot needs.

Plain aiohttp, no Dagster: usable from a notebook, a benchmark or the assets alike.

- `iter_listing` walks `GET /api/datasets` page by page, following `Link: rel="next"` to the end
  (never stopping on a short page) and de-duplicating by `id`. Each page carries the next URL, so
  a caller that stores it can resume a listing that failed on page 300.
- `fetch_croissant` answers one dataset's Croissant document. Non-200 answers (400 no parquet
  conversion, 401 gated, 404 gone) are data, returned, not raised.

Both go through one request path: paced by `RateLimitPacer`, bounded by a semaphore, retried with
jittered exponential backoff on 408/429/5xx, timeouts, connection resets and truncated or
non-JSON bodies, honouring `Retry-After`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
import msgspec
import pyarrow as pa

from hf_croissant_assets.hub.ratelimit import DEFAULT_MAX_PAUSE_S, RateLimitPacer, parse_retry_after
from hf_croissant_assets.schema import LISTING_EXPAND, VALID_LISTING_EXPAND
from hf_croissant_assets.settings import DEFAULT_ENDPOINT

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_REASON_CHARS = 2000
USER_AGENT = "hf_croissant_assets/0.1 (+daily dataset snapshot; aiohttp)"
#: Largest answer body read, counted on decompressed bytes (the biggest real Croissant documents
#: are a few MiB; a gzip bomb stops here instead of filling memory).
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
#: Content codings the client asks for and decodes itself (bounded), nothing else.
ACCEPT_ENCODING = "gzip, deflate"

#: One segment of a Hub repo id: letters, digits, '-', '_', '.', starting and ending with a
#: letter, digit or '_' (huggingface_hub's grammar, ASCII only).
_ID_SEGMENT = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
_REPO_ID_RE = re.compile(rf"^(?:{_ID_SEGMENT}/)?{_ID_SEGMENT}$", re.ASCII)


def invalid_repo_id(dataset_id: object) -> str | None:
    """Why `dataset_id` is not a Hub dataset id (None if it is one).

    Checked before any URL is built from an id the listing sent: a `..` segment would be
    normalised away by the URL library and fetch another repo's document under this id.
    """
    if not isinstance(dataset_id, str):
        return f"dataset id is not a string ({type(dataset_id).__name__})"
    if not _REPO_ID_RE.match(dataset_id):
        return f"dataset id {dataset_id[:200]!r} does not match the Hub's repo id grammar"
    if ".." in dataset_id or "--" in dataset_id or dataset_id.endswith(".git"):
        return f"dataset id {dataset_id[:200]!r} contains '..' or '--' or ends with '.git'"
    return None


class HubError(Exception):
    """A Hub request that could not be completed; the message names the URL and the status."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class HubConfigError(ValueError):
    """A bad client setting (endpoint, expand field, limit)."""


class BodyTooLarge(Exception):
    """An answer whose (decompressed) body exceeds the client's cap."""


@dataclass(frozen=True)
class RetryPolicy:
    """huggingface_hub retries 1, 2, 4, 8, 8 s; we do the same with jitter so workers spread out."""

    max_retries: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 8.0
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise HubConfigError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.backoff_base_s < 0 or self.backoff_max_s < 0:
            raise HubConfigError("backoff_base_s and backoff_max_s must be >= 0")
        if self.timeout_s <= 0:
            raise HubConfigError(f"timeout_s must be > 0, got {self.timeout_s}")

    def backoff(self, attempt: int) -> float:
        """Delay before retry number `attempt` (0-based), with "equal jitter"."""
        delay = min(self.backoff_max_s, self.backoff_base_s * (2**attempt))
        return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - jitter, not secrecy


@dataclass
class ClientStats:
    """What the client did; surfaced as materialization metadata."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    by_status: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    bytes_received: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "http_429": self.rate_limited,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "errors": dict(self.errors),
            "bytes_received": self.bytes_received,
        }


class ListingHead(msgspec.Struct):
    """The fields of one listing object the crawl itself reads (the rest stays in its bytes).

    `id` must be a string (else the page is refused, like any page that is not a list of objects
    with a string id); the others are kept as sent, of any JSON type, and typed later.
    """

    id: str
    sha: Any = None
    lastModified: Any = None
    private: Any = None


_HEADS_DECODER = msgspec.json.Decoder(list[ListingHead])
_RAW_DECODER = msgspec.json.Decoder(list[msgspec.Raw])


@dataclass
class ListingPage:
    """One page of the listing: per item, its head fields and its JSON bytes as the Hub sent
    them (UTF-8, checked), in listing order."""

    url: str
    next_url: str | None
    heads: list[ListingHead]
    raw: list[bytes]
    request_time: str

    @property
    def items(self) -> list[dict[str, Any]]:
        """The objects, decoded (for callers that want dicts; the crawl itself never does)."""
        return [json.loads(b) for b in self.raw]

    def select(self, keep: list[int]) -> None:
        """Keep only the items at the positions `keep` (ascending)."""
        if len(keep) != len(self.heads):
            self.heads = [self.heads[i] for i in keep]
            self.raw = [self.raw[i] for i in keep]


def decode_listing_body(body: bytes) -> tuple[list[ListingHead], list[bytes]] | None:
    """A listing page's body -> (heads, each item's bytes), decoded once by msgspec in C.

    None when the body is not exactly a UTF-8 JSON list of objects with a string `id` (or uses
    what msgspec refuses: NaN, numbers beyond a double, deep nesting): the caller then takes the
    standard-library path, which names the problem or decodes what msgspec would not.
    """
    try:
        heads = _HEADS_DECODER.decode(body)
        raws = [bytes(r) for r in _RAW_DECODER.decode(body)]
        # msgspec does not check the UTF-8 of values it skips; Arrow checks every item's bytes
        # (everything outside them is JSON punctuation msgspec did check).
        pa.array(raws, pa.binary()).cast(pa.string())
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, pa.ArrowInvalid):
        return None
    return heads, raws


def _head_of(item: dict[str, Any]) -> ListingHead:
    return ListingHead(
        id=item["id"],
        sha=item.get("sha"),
        lastModified=item.get("lastModified"),
        private=item.get("private"),
    )


def _item_bytes(item: dict[str, Any]) -> bytes:
    """An object the standard library decoded, re-encoded compactly (the fallback path only)."""
    try:
        return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800") has no UTF-8 form: keep it escaped
        return json.dumps(item, separators=(",", ":")).encode("ascii")


#: `{` and `[` bytes from which a Croissant body is checked by the standard library only (see
#: `croissant_parser.FAST_DECODE_MAX_OPENERS`: deep nesting is where msgspec is more lenient).
_FAST_CHECK_MAX_OPENERS = 512
#: Walks a body checking it is one JSON object, its values validated but not built (in C).
_OBJECT_CHECKER = msgspec.json.Decoder(dict[str, msgspec.Raw])


@dataclass(frozen=True)
class CheckedDocument:
    """A 200 body known to be exactly one JSON object, as text (`fast_croissant_body`)."""

    text: str


def fast_croissant_body(body: bytes) -> CheckedDocument | None:
    """The body as text when msgspec proves it is one JSON object that `json.loads` also accepts
    as an object; None otherwise (the standard-library path then decides and names the problem).

    The per-request check of a Croissant answer without building the document: the parse comes
    later, once, for all tables. msgspec refuses everything json.loads refuses (it is stricter:
    NaN, lone surrogate escapes, BOM...), except nesting a few levels deeper, which the opener
    count rules out. Bytes that are not UTF-8 can only sit inside strings for msgspec to accept
    them, where the replacement below keeps the JSON structure json.loads sees the same."""
    if body.count(b"{") + body.count(b"[") >= _FAST_CHECK_MAX_OPENERS:
        return None
    try:
        _OBJECT_CHECKER.decode(body)
    except Exception:  # noqa: BLE001 - a stranger's body: the standard path says what is wrong
        return None
    return CheckedDocument(body.decode("utf-8", errors="replace"))


class _PageFetch:
    """A listing page being fetched, and the next URL its first 200's headers named, once they
    are in (see `iter_listing`)."""

    def __init__(self, client: HubClient, url: str, on_hint: Callable[[_PageFetch], None]) -> None:
        self.url = url
        self.hint: str | None = None
        self.hint_in = False

        def on_next(value: str | None) -> None:
            if not self.hint_in:  # the first 200's (a retried page may say otherwise)
                self.hint, self.hint_in = value, True
                on_hint(self)

        self.task: asyncio.Task[ListingPage] = asyncio.ensure_future(
            client.fetch_listing_page(url, on_next)
        )

    async def cancel(self) -> None:
        if not self.task.done():
            self.task.cancel()
        # a guess nobody uses: whatever it ended with is dropped (the page is fetched again
        # if it is needed after all)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task


@dataclass
class CroissantResponse:
    """One dataset's answer. `status` is None only when no HTTP answer came at all."""

    dataset: str
    status: int | None
    body: str | None
    reason: str | None
    request_time: str
    attempts: int


@dataclass
class _Answer:
    status: int | None
    text: str | None
    data: Any
    reason: str | None
    request_time: str
    next_url: str | None
    attempts: int


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def resolve_endpoint(endpoint: str) -> str:
    """The endpoint validated as an http(s) base URL, without trailing slash."""
    value = (endpoint or "").strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HubConfigError(
            f"endpoint {value!r} is not an http(s) URL (expected e.g. {DEFAULT_ENDPOINT})"
        )
    return value.rstrip("/")


def validate_expand(expand: Iterable[str]) -> tuple[str, ...]:
    fields = tuple(expand)
    unknown = sorted(set(fields) - VALID_LISTING_EXPAND)
    if unknown:
        raise HubConfigError(
            f"unknown expand field(s) {unknown} for /api/datasets; valid: {sorted(VALID_LISTING_EXPAND)}"
        )
    if not fields:
        raise HubConfigError(
            "expand must name at least one field (an explicit list fixes the shape)"
        )
    return fields


def _trim(text: str | None, limit: int = MAX_REASON_CHARS) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more chars]"


class HubClient:
    """Async Hub client. Use as `async with HubClient(...) as hub:`."""

    def __init__(
        self,
        endpoint: str = DEFAULT_ENDPOINT,
        token: str | None = None,
        *,
        concurrency: int = 16,
        retry: RetryPolicy | None = None,
        pacer: RateLimitPacer | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_pause_s: float = DEFAULT_MAX_PAUSE_S,
    ) -> None:
        if concurrency < 1:
            raise HubConfigError(f"concurrency must be >= 1, got {concurrency}")
        if max_body_bytes < 1024:
            raise HubConfigError(f"max_body_bytes must be >= 1024, got {max_body_bytes}")
        self.endpoint = resolve_endpoint(endpoint)
        self._origin = urlsplit(self.endpoint)[:2]
        self._token = token or None
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        self.max_body_bytes = max_body_bytes
        self.max_pause_s = max_pause_s
        self.pacer = pacer or RateLimitPacer(max_pause_s=max_pause_s)
        self.stats = ClientStats()
        self._session: aiohttp.ClientSession | None = None
        self._semaphore = asyncio.Semaphore(concurrency)

    def __repr__(self) -> str:  # never show the token
        return f"HubClient(endpoint={self.endpoint!r}, token={'set' if self._token else 'unset'})"

    async def __aenter__(self) -> HubClient:
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        self._session = aiohttp.ClientSession(
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=self.retry.timeout_s),
            connector=aiohttp.TCPConnector(limit=self.concurrency, ttl_dns_cache=300),
            raise_for_status=False,
            # Bodies are decompressed here, with a cap (`_read_body`), never by aiohttp unbounded.
            auto_decompress=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- the one request path -------------------------------------------------------------

    async def _get(
        self,
        url: str,
        expect: type | None = None,
        fast: Callable[[bytes], Any | None] | None = None,
        on_headers: Callable[[aiohttp.ClientResponse], None] | None = None,
    ) -> _Answer:
        """GET with pacing and retries. Returns the last answer; never raises for HTTP statuses.

        A 200 must carry a JSON body; a body that does not parse (non-JSON, truncated) is retried
        like a 5xx. Other statuses (400, 401, 404, ...) are answers: retrying cannot help.
        """
        if self._session is None:
            raise RuntimeError("HubClient must be used as 'async with HubClient(...) as hub'")
        attempts = 0
        while True:
            attempts += 1
            answer = await self._attempt(url, attempts, expect, fast, on_headers)
            status = answer.status
            retryable = (
                status is None
                or status in RETRY_STATUSES
                or (status == 200 and answer.reason is not None)
            )
            if not retryable or attempts > self.retry.max_retries:
                return answer
            self.stats.retries += 1
            # After a 429 the pacer already holds every sender until the window resets.
            delay = 0.0 if status == 429 else self.retry.backoff(attempts - 1)
            log.debug("retry %d of %s after %s (sleep %.2fs)", attempts, url, answer.reason, delay)
            await asyncio.sleep(delay)

    async def _read_body(self, resp: aiohttp.ClientResponse) -> bytes:
        """The body, decompressed, at most `max_body_bytes` (else `BodyTooLarge`)."""
        cap = self.max_body_bytes
        coding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        if coding in ("", "identity"):
            decoder = None
        elif coding in ("gzip", "x-gzip"):
            decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            decoder = zlib.decompressobj(wbits=zlib.MAX_WBITS)
        else:
            raise ValueError(f"unsupported Content-Encoding {coding[:50]!r}")
        out = bytearray()
        async for chunk in resp.content.iter_chunked(64 * 1024):
            if decoder is None:
                out += chunk
            else:
                data = chunk
                while data:
                    out += decoder.decompress(data, cap + 1 - len(out))
                    data = decoder.unconsumed_tail
                    if len(out) > cap:
                        break
            if len(out) > cap:
                raise BodyTooLarge(
                    f"body larger than {cap} bytes (decompressed); raise "
                    "HF_CROISSANT_MAX_BODY_BYTES if such documents are real"
                )
        if decoder is not None:
            out += decoder.flush()
            if len(out) > cap:
                raise BodyTooLarge(f"body larger than {cap} bytes (decompressed)")
        return bytes(out)

    async def _attempt(
        self,
        url: str,
        attempt: int,
        expect: type | None = None,
        fast: Callable[[bytes], Any | None] | None = None,
        on_headers: Callable[[aiohttp.ClientResponse], None] | None = None,
    ) -> _Answer:
        """One request. Whatever the answer holds (size, coding, JSON, headers), the outcome is
        an `_Answer`: a failure to read, decode or parse it is a reason, never an exception.

        `fast` decodes a 200's bytes directly (None if it cannot); its result is the answer's
        data. Otherwise (or when it returns None) the body is read as text by the standard
        library, which also names what is wrong with a bad body. `on_headers` sees a 200's
        response when its headers are in, before its body is read (it must not raise)."""
        assert self._session is not None
        next_url: str | None = None
        async with self._semaphore:
            ticket = await self.pacer.acquire()
            request_time = utc_now_iso()
            self.stats.requests += 1
            try:
                async with self._session.get(url, allow_redirects=False) as resp:
                    status = resp.status
                    self.pacer.observe(ticket, resp.headers)
                    if on_headers is not None and status == 200:
                        on_headers(resp)
                        # the body may be in already: yield once, so that a request the hook
                        # started goes out now, not after this body is read and decoded
                        await asyncio.sleep(0)
                    retry_after = parse_retry_after(
                        resp.headers.get("Retry-After"), self.max_pause_s
                    )
                    raw = await self._read_body(resp)
                    try:
                        next_link = resp.links.get("next")
                        next_url = str(next_link["url"]) if next_link else None
                    except Exception as exc:  # noqa: BLE001 - a hostile header is data
                        self.stats.errors["malformed_link"] += 1
                        reason = (
                            f"malformed Link header: {type(exc).__name__}: {_trim(str(exc), 200)}"
                        )
                        return _Answer(status, None, None, reason, request_time, None, attempt)
            except (TimeoutError, aiohttp.ClientError) as exc:
                self.pacer.observe(ticket, {})
                kind = type(exc).__name__
                self.stats.errors[kind] += 1
                reason = f"{kind}: {exc}" if str(exc) else kind
                return _Answer(None, None, None, _trim(reason), request_time, None, attempt)
            except BodyTooLarge as exc:
                self.stats.errors["body_too_large"] += 1
                return _Answer(None, None, None, str(exc), request_time, None, attempt)
            except Exception as exc:  # noqa: BLE001 - decoding a stranger's answer
                self.pacer.observe(ticket, {})
                kind = type(exc).__name__
                self.stats.errors[kind] += 1
                reason = f"unreadable answer: {kind}: {_trim(str(exc), 300)}"
                return _Answer(None, None, None, reason, request_time, None, attempt)
        self.stats.by_status[status] += 1
        self.stats.bytes_received += len(raw)
        if status == 200 and fast is not None:
            decoded = fast(raw)
            if decoded is not None:
                return _Answer(status, None, decoded, None, request_time, next_url, attempt)
        text = raw.decode("utf-8", errors="replace")
        if status == 429:
            self.stats.rate_limited += 1
            self.pacer.rate_limited(retry_after)
            return _Answer(status, text, None, _trim(text), request_time, None, attempt)
        if status != 200:
            return _Answer(status, text, None, _trim(text), request_time, None, attempt)
        try:
            data = json.loads(text)
        except (ValueError, RecursionError, MemoryError) as exc:
            # RecursionError: a body nested too deeply for the decoder (a few bytes per level).
            self.stats.errors["malformed_json"] += 1
            reason = (
                f"malformed JSON body ({type(exc).__name__}: {_trim(str(exc), 200)}); "
                f"starts with {_trim(text, 200)!r}"
            )
            return _Answer(status, text, None, reason, request_time, next_url, attempt)
        if expect is not None and not isinstance(data, expect):
            self.stats.errors["unexpected_json"] += 1
            reason = (
                f"HTTP 200 but the body is a JSON {type(data).__name__}, not a "
                f"{'list' if expect is list else 'object'}: starts with {_trim(text, 200)!r}"
            )
            return _Answer(status, text, None, reason, request_time, next_url, attempt)
        if expect is list and not all(
            isinstance(item, dict) and isinstance(item.get("id"), str) for item in data
        ):
            # a listing page is a list of objects with a string id; anything else is a bad
            # answer (a proxy's, a truncated cache entry), retried like one
            self.stats.errors["unexpected_json"] += 1
            reason = (
                "HTTP 200 but the body is not a JSON list of objects with a string 'id': "
                f"starts with {_trim(text, 200)!r}"
            )
            return _Answer(status, text, None, reason, request_time, next_url, attempt)
        return _Answer(status, text, data, None, request_time, next_url, attempt)

    # -- listing --------------------------------------------------------------------------

    def listing_url(self, expand: Iterable[str] = LISTING_EXPAND, limit: int = 1000) -> str:
        if not 1 <= limit <= 1000:
            raise HubConfigError(f"listing limit must be within 1..1000, got {limit}")
        query = [("limit", str(limit))] + [("expand", f) for f in validate_expand(expand)]
        return f"{self.endpoint}/api/datasets?{urlencode(query)}"

    def _check_next_url(self, next_url: str) -> str:
        """The token must only ever go to the configured endpoint, whatever a Link header says."""
        try:
            origin = urlsplit(next_url)[:2]
        except ValueError as exc:
            raise HubError(
                f"malformed Link rel=next URL {next_url[:300]!r}: {exc}", url=""
            ) from None
        if origin != self._origin:
            raise HubError(
                f"refusing to follow Link rel=next to another origin: {next_url!r} "
                f"(HF_ENDPOINT is {self.endpoint!r})",
                url=next_url,
            )
        return next_url

    async def fetch_listing_page(
        self, url: str, on_next: Callable[[str | None], None] | None = None
    ) -> ListingPage:
        """One listing page, decoded once (msgspec); a body it refuses goes the standard way.

        `on_next` hears, as soon as a 200's headers are in (before its body is read, let alone
        checked), the next URL its `Link` header names (None: none, or a header that does not
        parse): a hint to request that page early, never a result. The page's `next_url` is
        the one of the answer finally accepted, checked.
        """

        def headers_in(resp: aiohttp.ClientResponse) -> None:
            try:
                link = resp.links.get("next")
                hint = str(link["url"]) if link else None
            except Exception:  # noqa: BLE001 - a hostile header is data; the body path says so
                hint = None
            on_next(hint)  # type: ignore[misc]  # (only installed when on_next is set)

        answer = await self._get(
            url,
            expect=list,
            fast=decode_listing_body,
            on_headers=headers_in if on_next is not None else None,
        )
        if answer.status != 200 or answer.reason is not None:
            raise HubError(
                f"GET {url} failed after {answer.attempts} attempt(s): "
                f"status {answer.status}: {answer.reason}",
                url=url,
                status=answer.status,
            )
        data = answer.data
        if isinstance(data, tuple):  # decoded by `decode_listing_body`
            heads, raws = data
        elif not isinstance(data, list) or not all(
            isinstance(item, dict) and isinstance(item.get("id"), str) for item in data
        ):
            raise HubError(
                f"GET {url}: expected a JSON list of objects with a string 'id', "
                f"got {_trim(answer.text, 200)!r}",
                url=url,
                status=answer.status,
            )
        else:
            heads, raws = [_head_of(item) for item in data], [_item_bytes(i) for i in data]
        next_url = self._check_next_url(answer.next_url) if answer.next_url else None
        return ListingPage(url, next_url, heads, raws, answer.request_time)

    async def iter_listing(
        self,
        expand: Iterable[str] = LISTING_EXPAND,
        limit: int = 1000,
        start_url: str | None = None,
        seen: set[str] | None = None,
        max_pages: int | None = None,
    ) -> AsyncIterator[ListingPage]:
        """Yield pages until the Hub gives no `rel="next"`; items already in `seen` are dropped.

        Pass `start_url` (a stored `next_url`) and the ids already kept to resume a listing.
        The next page is requested as soon as this page's headers name it, before its body is
        read and decoded, so the Hub prepares page n+1 while this client reads page n and the
        caller processes it (the cursor is sequential: one request in flight, and at most two
        pages fetched beyond the one the caller holds, so memory stays a few pages). That
        early request is only a guess: it is used if the page, once read and checked, names
        the same next URL, else it is cancelled and the right one is requested. A URL of
        another origin, or one already visited, is never requested, early or not.

        A cursor that loops is refused (`HubError`): a next URL already visited, a page with a
        next link that adds no new id, or more than `max_pages` pages.
        """
        url = self._check_next_url(start_url) if start_url else self.listing_url(expand, limit)
        seen = set() if seen is None else seen
        visited = {url}
        pages = 0

        def follows(hint: str | None) -> bool:
            """Whether an early request for `hint` may go: the checks a next URL gets anyway."""
            if hint is None or hint in visited:
                return False
            if max_pages is not None and pages + 1 >= max_pages:
                return False
            try:
                self._check_next_url(hint)
            except HubError:
                return False
            return True

        current: _PageFetch | None = None
        ahead: _PageFetch | None = None

        def on_hint(fetch: _PageFetch) -> None:
            """Headers are in: request the page they name now, if this is the page the caller
            is given next (so that the fetches never run further ahead than that)."""
            nonlocal ahead
            if fetch is current and ahead is None and follows(fetch.hint):
                assert fetch.hint is not None
                ahead = _PageFetch(self, fetch.hint, on_hint)

        try:
            current = _PageFetch(self, url, on_hint)
            while current is not None:
                if current.hint_in:  # its headers came while the caller had the previous page
                    on_hint(current)
                page = await current.task
                current = None
                pages += 1
                fresh = []
                for position, head in enumerate(page.heads):
                    if head.id not in seen:
                        seen.add(head.id)
                        fresh.append(position)
                page.select(fresh)
                if page.next_url is not None:
                    if page.next_url in visited:
                        raise HubError(
                            f"the listing loops: page {pages} ({page.url}) links back to an "
                            f"already visited page {page.next_url!r}; stopped",
                            url=page.url,
                        )
                    if not fresh:
                        raise HubError(
                            f"the listing loops: page {pages} ({page.url}) adds no new dataset "
                            f"id but links to another page; stopped",
                            url=page.url,
                        )
                    if max_pages is not None and pages >= max_pages:
                        raise HubError(
                            f"the listing exceeds {max_pages} pages (derived from the previous "
                            f"day's count); stopped at {page.url}",
                            url=page.url,
                        )
                    visited.add(page.next_url)
                if ahead is not None and ahead.url != page.next_url:
                    await ahead.cancel()  # the early guess was not the page's checked next URL
                    ahead = None
                if ahead is None and page.next_url is not None:
                    ahead = _PageFetch(self, page.next_url, on_hint)
                current, ahead = ahead, None
                yield page
        finally:
            for fetch in (current, ahead):
                if fetch is not None:
                    await fetch.cancel()

    # -- croissant ------------------------------------------------------------------------

    def croissant_url(self, dataset_id: str) -> str:
        problem = invalid_repo_id(dataset_id)
        if problem:
            raise HubConfigError(problem)
        return f"{self.endpoint}/api/datasets/{quote(dataset_id, safe='/')}/croissant"

    async def fetch_croissant(self, dataset_id: str) -> CroissantResponse:
        """The document or the Hub's answer for one dataset; never raises for HTTP outcomes.

        `status` None means no usable answer: no HTTP answer at all, a 200 whose body is not a
        JSON object (an HTML error page, a truncated or hostile body), or an id that is not a
        Hub repo id (no request is made). `reason` says which; such rows are fetched again.
        """
        problem = invalid_repo_id(dataset_id)
        if problem:
            return CroissantResponse(
                dataset=dataset_id,
                status=None,
                body=None,
                reason=f"not requested: {problem}",
                request_time=utc_now_iso(),
                attempts=0,
            )
        answer = await self._get(
            self.croissant_url(dataset_id), expect=dict, fast=fast_croissant_body
        )
        status = answer.status
        body: str | None
        reason: str | None
        if status == 200 and answer.reason is None and isinstance(answer.data, CheckedDocument):
            body, reason = answer.data.text, None
        elif status == 200 and answer.reason is None and isinstance(answer.data, dict):
            body, reason = answer.text, None
        else:
            body = None
            reason = answer.reason
            if status is None or status in RETRY_STATUSES or status == 200:
                reason = f"gave up after {answer.attempts} attempt(s): {reason}"
            if status == 200:
                status = None  # no usable document: fetched again, never counted as available
        return CroissantResponse(
            dataset=dataset_id,
            status=status,
            body=body,
            reason=reason,
            request_time=answer.request_time,
            attempts=answer.attempts,
        )
