"""The aiohttp server: `HubEmulator`, its ground truth for tests, request accounting (rate limit,
faults, latency), the listing / Croissant / info handlers and the admin endpoints."""

from __future__ import annotations

import asyncio
import collections
import copy
import dataclasses
import json
import math
import random
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from hf_croissant_assets.schema import VALID_LISTING_EXPAND
from hf_croissant_assets_tests.hub_emulator import hostile
from hf_croissant_assets_tests.hub_emulator.config import (
    ENDPOINTS,
    FAULT_KINDS,
    UNLIMITED_QUOTA,
    EmulatorConfig,
    config_json,
)
from hf_croissant_assets_tests.hub_emulator.croissant_documents import CroissantDocuments
from hf_croissant_assets_tests.hub_emulator.repos import RepoHosting, empty_repo_stats
from hf_croissant_assets_tests.hub_emulator.responses import (
    ERROR_BODIES,
    HTML_BODY,
    NOT_AVAILABLE_BODY,
    NOT_FOUND_BODY,
    RATE_LIMITED_BODY,
    abort,
    decode_cursor,
    encode_cursor,
    json_error,
)
from hf_croissant_assets_tests.hub_emulator.universe import ALL_FIELDS, DEFAULT_FIELDS, Universe


def _empty_stats() -> dict[str, Any]:
    return {
        "requests": 0,
        "by_endpoint": {"list": 0, "croissant": 0},
        "by_status": {},
        "croissant_fetches": {},
        "list_pages": 0,
        "faults": {},
        "rate_limited": 0,
        "served_ok_in_quota": 0,
        # hosted repos: not in the "api" bucket, not rate limited, counted apart
        "repo": empty_repo_stats(),
    }


class HubEmulator(RepoHosting):
    """The Hub stand-in. `start()` it on an event loop, or use `running_emulator()`."""

    def __init__(self, config: EmulatorConfig | None = None, **overrides: Any) -> None:
        config = copy.deepcopy(config) if config is not None else EmulatorConfig()
        if overrides:
            config = dataclasses.replace(config, **overrides)
        config.validate()
        self.config = config
        self.base_url = ""
        self._lock = threading.RLock()
        self._stats = _empty_stats()
        self.request_log: collections.deque[tuple[float, str, str, int]] = collections.deque(
            maxlen=10_000
        )
        self._queued: dict[str, collections.deque[str]] = {}
        self._rng = random.Random(config.seed)
        self._t0 = time.monotonic()
        self._window_index = 0
        self._window_used = 0
        self._universes: dict[tuple, Universe] = {}
        self._documents: CroissantDocuments | None = None
        self._runner: web.AppRunner | None = None
        #: hosted repos (create / commit / download)
        self._init_repos()
        #: the event loop serving requests (set by `start`)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._load_documents()

    # -- ground truth ------------------------------------------------------------------------
    def _universe(self) -> Universe:
        c = self.config
        key = (c.seed, c.datasets, c.new_per_day, c.modify_rate, c.delete_rate, c.epoch)
        u = self._universes.get(key)
        if u is None:
            u = Universe(*key)
            if len(self._universes) > 16:
                self._universes.clear()
            self._universes[key] = u
        return u

    def _load_documents(self) -> CroissantDocuments:
        """The Croissant documents, (re)loaded when `fixtures_dir` changed."""
        docs = self._documents
        if docs is None or docs.fixtures_setting != self.config.fixtures_dir:
            docs = self._documents = CroissantDocuments(self.config.fixtures_dir)
        return docs

    def _day(self, day: int | None) -> int:
        return self.config.day if day is None else day

    def catalog(self, day: int | None = None) -> Iterator[dict[str, Any]]:
        """Every dataset listed at `day` (default: the current day), in listing order, with
        every field."""
        d = self._day(day)
        u = self._universe()
        fields = frozenset(ALL_FIELDS)
        for i, c in u.iter_indices(d):
            yield self._override(u.item(i, c, d, fields), fields)

    def dataset_ids(self, day: int | None = None) -> list[str]:
        d = self._day(day)
        u = self._universe()
        return [u.dataset_id(i) for i, _ in u.iter_indices(d)]

    def listed_ids(self, day: int | None = None, token: bool = False) -> list[str]:
        """The ids the listing shows (hostile shapes applied: `listing_keep`, private datasets
        only with a token; `extra_ids` not included)."""
        c = self.config
        u = self._universe()
        return [
            u.dataset_id(i)
            for i, _ in u.iter_indices(self._day(day))
            if not hostile.is_dropped(c.seed, i, c.listing_keep)
            and (token or not hostile.is_private(c.seed, i, c.private_rate))
        ]

    def private_ids(self, day: int | None = None) -> set[str]:
        c = self.config
        u = self._universe()
        return {
            u.dataset_id(i)
            for i, _ in u.iter_indices(self._day(day))
            if hostile.is_private(c.seed, i, c.private_rate)
        }

    def dataset(self, dataset_id: str, day: int | None = None) -> dict[str, Any] | None:
        """The full listing object of one dataset at `day`, None if it is not listed."""
        d = self._day(day)
        u = self._universe()
        i = u.index_of(dataset_id)
        if i is None or not u.exists(i, d):
            return None
        return self._override(u.item(i, u.creation_day(i), d, frozenset(ALL_FIELDS)), ALL_FIELDS)

    def _override(self, item: dict[str, Any], fields) -> dict[str, Any]:
        """`listing_overrides` applied to one listing item (only the requested fields)."""
        changes = self.config.listing_overrides.get(item["id"])
        if changes:
            item.update({k: v for k, v in changes.items() if k in fields})
        return item

    def croissant_status(
        self, dataset_id: str, day: int | None = None, token: str | None = None
    ) -> int:
        """What the Croissant endpoint answers for `dataset_id` absent random/injected faults
        (`fail_always` included)."""
        status, _ = self._croissant(dataset_id, self._day(day), token)
        return status

    def croissant_document(self, dataset_id: str, day: int | None = None) -> str:
        """The body text of the 200 answer (ignores gating); KeyError if there is none."""
        d = self._day(day)
        u = self._universe()
        i = u.index_of(dataset_id)
        if i is None or not u.exists(i, d) or u.croissant_unavailable(i):
            raise KeyError(f"{dataset_id!r} has no Croissant document at day {d}")
        return self._render_croissant(u, i, dataset_id, d)

    def _croissant(self, dataset_id: str, day: int, token: str | None) -> tuple[int, str]:
        c = self.config
        forced = c.fail_always.get(dataset_id)
        if forced is not None:
            return forced, ERROR_BODIES.get(forced, json.dumps({"error": f"Error {forced}"}))
        u = self._universe()
        i = u.index_of(dataset_id)
        if i is None or not u.exists(i, day):
            return 404, NOT_FOUND_BODY
        if token is None and hostile.is_private(c.seed, i, c.private_rate):
            return 404, NOT_FOUND_BODY  # a private repo does not exist for anyone else
        if u.is_gated(i) is not False and (token is None or token not in c.accepted_tokens):
            return 401, json.dumps(
                {
                    "error": f"Access to dataset {dataset_id} is restricted. "
                    "You must be authenticated to access it."
                },
                separators=(",", ":"),
            )
        if u.croissant_unavailable(i):
            return 400, NOT_AVAILABLE_BODY
        return 200, self._render_croissant(u, i, dataset_id, day)

    def _render_croissant(self, u: Universe, i: int, dataset_id: str, day: int) -> str:
        c = self.config
        docs = self._load_documents()
        return docs.render(u, i, dataset_id, day, c.old_croissant_share, c.doc_kb)

    # -- runtime control ---------------------------------------------------------------------
    def set_day(self, day: int) -> None:
        if day < 0:
            raise ValueError(f"day must be >= 0, got {day}")
        with self._lock:
            self.config.day = day

    def inject(self, endpoint: str, *kinds: str) -> None:
        """Queue one-shot faults: the next len(kinds) requests to `endpoint` get them in order."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r} (one of {', '.join(ENDPOINTS)})")
        for k in kinds:
            if k not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {k!r} (one of {', '.join(FAULT_KINDS)})")
        with self._lock:
            self._queued.setdefault(endpoint, collections.deque()).extend(kinds)

    def update_config(self, **changes: Any) -> None:
        """Change configuration fields at runtime (validated; the admin endpoint uses it)."""
        names = {f.name for f in dataclasses.fields(EmulatorConfig)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown EmulatorConfig field(s): {', '.join(unknown)}")
        with self._lock:
            new = dataclasses.replace(self.config, **changes)  # validates
            for k in changes:
                setattr(self.config, k, getattr(new, k))
            if "seed" in changes:
                self._rng = random.Random(self.config.seed)
        if "fixtures_dir" in changes:
            self._load_documents()

    @property
    def stats(self) -> dict[str, Any]:
        """A snapshot (copy) of the counters, safe to read from any thread."""
        with self._lock:
            return {k: dict(v) if isinstance(v, dict) else v for k, v in self._stats.items()}

    def reset_stats(self) -> None:
        """Zero the counters (hosted repos and their content are kept)."""
        with self._lock:
            self._stats = _empty_stats()
            self.request_log.clear()
            self.repo_log.clear()

    # -- lifecycle ---------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        # hosted repos receive whole files in a commit (base64 NDJSON): allow large bodies
        app = web.Application(client_max_size=4 * 1024**3)
        r = app.router
        r.add_get("/_emulator/stats", self._admin_stats)
        r.add_post("/_emulator/reset-stats", self._admin_reset)
        r.add_get("/_emulator/config", self._admin_get_config)
        r.add_post("/_emulator/config", self._admin_config)
        r.add_post("/_emulator/inject", self._admin_inject)
        r.add_get("/_emulator/requests", self._admin_requests)
        r.add_get("/api/datasets", self._counted("list", self._list))
        croissant = self._counted("croissant", self._croissant_handler)
        r.add_get("/api/datasets/{namespace}/{name}/croissant", croissant)
        r.add_get("/api/datasets/{name}/croissant", croissant)
        self.add_repo_routes(r)
        info = self._counted("info", self._info_handler)
        hosted_info = self.hosted_info_handler()

        async def info_or_hosted(request: web.Request) -> web.StreamResponse:
            mi = request.match_info
            if self.is_hosted(f"{mi['namespace']}/{mi['name']}"):
                return await hosted_info(request)
            return await info(request)

        r.add_get("/api/datasets/{namespace}/{name}", info_or_hosted)
        r.add_get("/api/datasets/{name}", info)
        r.add_route("*", "/{tail:.*}", self._counted("other", self._other))
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        runner = web.AppRunner(
            self.make_app(),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=0.25,
            handler_cancellation=True,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.loop = asyncio.get_running_loop()
        sock_host, sock_port = runner.addresses[0][:2]
        self.base_url = f"http://{sock_host}:{sock_port}"
        with self._lock:
            self._t0 = time.monotonic()
            self._window_index = 0
            self._window_used = 0
        return self.base_url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> HubEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- request accounting ------------------------------------------------------------------
    def _ratelimit_headers(self, remaining: int, reset: int) -> dict[str, str]:
        c = self.config
        q = UNLIMITED_QUOTA if c.quota is None else c.quota
        return {
            "RateLimit": f'"api";r={max(0, remaining)};t={reset}',
            "RateLimit-Policy": f'"fixed window";"api";q={q};w={int(c.window)}',
        }

    def _admit(
        self, endpoint: str, dataset_id: str | None
    ) -> tuple[bool, str | None, dict[str, str], int]:
        """Count the request, apply the quota and pick a fault. Returns
        (rate_limited, fault, headers, reset seconds)."""
        c = self.config
        now = time.monotonic()
        with self._lock:
            s = self._stats
            s["requests"] += 1
            be = s["by_endpoint"]
            be[endpoint] = be.get(endpoint, 0) + 1
            if dataset_id is not None:
                cf = s["croissant_fetches"]
                cf[dataset_id] = cf.get(dataset_id, 0) + 1
            elapsed = now - self._t0
            w = int(elapsed // c.window)
            if w != self._window_index:
                self._window_index = w
                self._window_used = 0
            reset = max(1, math.ceil((w + 1) * c.window - elapsed))
            q = UNLIMITED_QUOTA if c.quota is None else c.quota
            if self._window_used >= q:
                s["rate_limited"] += 1
                return True, None, self._ratelimit_headers(0, reset), reset
            self._window_used += 1
            s["served_ok_in_quota"] += 1
            fault = None
            queue = self._queued.get(endpoint)
            if queue:
                fault = queue.popleft()
            elif c.fault_rate and endpoint in c.fault_endpoints:
                x = self._rng.random()
                acc = 0.0
                for kind in FAULT_KINDS:
                    acc += c.fault_rate.get(kind, 0.0)
                    if x < acc:
                        fault = kind
                        break
            if fault is not None:
                s["faults"][fault] = s["faults"].get(fault, 0) + 1
            if fault == "429":  # a 429 never consumes quota
                self._window_used -= 1
                s["served_ok_in_quota"] -= 1
                return False, fault, self._ratelimit_headers(0, 1), 1
            headers = self._ratelimit_headers(q - self._window_used, reset)
            return False, fault, headers, reset

    def _record(self, request: web.Request, status: int) -> None:
        with self._lock:
            if status:
                bs = self._stats["by_status"]
                key = str(status)
                bs[key] = bs.get(key, 0) + 1
            self.request_log.append((time.time(), request.method, request.path_qs, status))

    def _counted(self, endpoint: str, inner):
        async def handler(request: web.Request) -> web.StreamResponse:
            c = self.config
            if c.latency_ms or c.latency_jitter_ms:
                delay = c.latency_ms + c.latency_jitter_ms * random.random()
                await asyncio.sleep(delay / 1000.0)
            dataset_id = None
            if endpoint == "croissant":
                mi = request.match_info
                dataset_id = f"{mi['namespace']}/{mi['name']}" if "namespace" in mi else mi["name"]
            limited, fault, headers, reset = self._admit(endpoint, dataset_id)
            status = 0
            try:
                if limited:
                    if c.retry_after:
                        headers["Retry-After"] = str(reset)
                    resp: web.StreamResponse = web.Response(
                        status=429,
                        text=RATE_LIMITED_BODY,
                        content_type="application/json",
                        headers=headers,
                    )
                    status = 429
                elif fault is not None and fault != "timeout":
                    resp, status = await self._fault(request, fault, headers, inner)
                else:
                    if fault == "timeout":
                        await asyncio.sleep(c.timeout_s)
                    resp = await inner(request)
                    resp.headers.update(headers)
                    status = resp.status
                return resp
            finally:
                self._record(request, status)

        return handler

    async def _fault(
        self, request: web.Request, kind: str, headers: dict[str, str], inner
    ) -> tuple[web.StreamResponse, int]:
        """The response of a fault and the status to record (0: none was sent).

        Hostile kinds are answered by `hostile.respond`.

        After `reset`/`truncate` the transport is aborted; aiohttp's attempt to finish the
        response then fails with a ConnectionError, which it ignores quietly."""
        if kind in hostile.HOSTILE_KINDS:
            return await hostile.respond(request, kind, headers, inner)
        if kind == "429":
            headers["Retry-After"] = "1"
            resp = web.Response(
                status=429, text=RATE_LIMITED_BODY, content_type="application/json", headers=headers
            )
            return resp, 429
        if kind in ("500", "502", "503", "504"):
            st = int(kind)
            resp = web.Response(
                status=st, text=ERROR_BODIES[st], content_type="application/json", headers=headers
            )
            return resp, st
        if kind == "nonjson":
            resp = web.Response(
                status=200, text=HTML_BODY, content_type="text/html", headers=headers
            )
            return resp, 200
        if kind == "reset":
            abort(request)
            return web.Response(status=500), 0
        if kind == "truncate":
            normal = await inner(request)
            body = normal.body if isinstance(normal, web.Response) else b""
            if not isinstance(body, bytes | bytearray):
                body = b""
            resp = web.StreamResponse(status=normal.status, headers=headers)
            resp.content_type = normal.content_type
            if normal.charset:
                resp.charset = normal.charset
            for k in ("Link",):
                if k in normal.headers:
                    resp.headers[k] = normal.headers[k]
            resp.content_length = len(body) + 64
            await resp.prepare(request)
            await resp.write(bytes(body[: max(1, len(body) // 2)]))
            abort(request, rst=False)
            return resp, normal.status
        raise AssertionError(kind)

    # -- handlers ----------------------------------------------------------------------------
    async def _list(self, request: web.Request) -> web.Response:
        c = self.config
        q = request.query
        expand = q.getall("expand", [])
        full = q.get("full", "").lower() not in ("", "false", "0", "no")
        if expand and full:
            return json_error(400, '"expand" cannot be used together with "full"')
        for value in expand:
            if value not in VALID_LISTING_EXPAND:
                return json_error(
                    400,
                    f'"expand" must be one of [{", ".join(ALL_FIELDS)}]; invalid value: {value!r}',
                )
        default_limit = min(1000, c.page_limit_max)
        raw_limit = q.get("limit")
        if raw_limit is None:
            limit = default_limit
        else:
            try:
                limit = int(raw_limit)
            except ValueError:
                return json_error(400, f'"limit" must be an integer, got {raw_limit!r}')
            if limit < 1:
                return json_error(400, f'"limit" must be >= 1, got {limit}')
            limit = min(limit, c.page_limit_max)
        start = 0
        cursor = q.get("cursor")
        if cursor is not None:
            last = decode_cursor(cursor)
            if last is None:
                return json_error(400, f"invalid cursor: {cursor!r}")
            start = last + 1
        if full:
            fields = frozenset(ALL_FIELDS)
        elif expand:
            fields = frozenset(expand)
        else:
            fields = DEFAULT_FIELDS
        day = c.day
        u = self._universe()
        items = []
        last_index = -1
        more = False
        has_token = hostile.bearer(request) is not None
        it = u.iter_indices(day, start)
        for i, cday in it:
            if hostile.is_dropped(c.seed, i, c.listing_keep):
                continue
            private = hostile.is_private(c.seed, i, c.private_rate)
            if private and not has_token:
                continue
            if len(items) == limit:
                more = True
                break
            item = u.item(i, cday, day, fields)
            if private and "private" in fields:
                item["private"] = True
            items.append(self._override(item, fields) if c.listing_overrides else item)
            last_index = i
        if start == 0 and c.extra_ids:
            items += hostile.listing_extra(c.extra_ids, fields)
        with self._lock:
            self._stats["list_pages"] += 1
        body = json.dumps(items, ensure_ascii=False, separators=(",", ":"))
        resp = web.Response(text=body, content_type="application/json")
        if more:
            params = [(k, v) for k, v in q.items() if k != "cursor"]
            params.append(("cursor", encode_cursor(last_index)))
            origin = request.url.origin()
            resp.headers["Link"] = f'<{origin}{request.path}?{urlencode(params)}>; rel="next"'
        return resp

    async def _croissant_handler(self, request: web.Request) -> web.Response:
        mi = request.match_info
        dataset_id = f"{mi['namespace']}/{mi['name']}" if "namespace" in mi else mi["name"]
        token = None
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth[7:].strip()
        status, body = self._croissant(dataset_id, self.config.day, token)
        return web.Response(status=status, text=body, content_type="application/json")

    async def _info_handler(self, request: web.Request) -> web.Response:
        mi = request.match_info
        dataset_id = f"{mi['namespace']}/{mi['name']}" if "namespace" in mi else mi["name"]
        item = self.dataset(dataset_id)
        if item is None:
            return web.Response(
                status=404,
                text=NOT_FOUND_BODY,
                content_type="application/json",
                headers={"X-Error-Code": "RepoNotFound"},
            )
        return web.Response(
            text=json.dumps(item, ensure_ascii=False), content_type="application/json"
        )

    async def _other(self, request: web.Request) -> web.Response:
        return json_error(404, "Sorry, we can't find the page you are looking for.")

    # -- admin -------------------------------------------------------------------------------
    async def _admin_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats)

    async def _admin_reset(self, request: web.Request) -> web.Response:
        self.reset_stats()
        return web.json_response({"ok": True})

    async def _admin_get_config(self, request: web.Request) -> web.Response:
        return web.json_response(config_json(self.config))

    async def _admin_config(self, request: web.Request) -> web.Response:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("body must be a JSON object")
            self.update_config(**changes)
        except (ValueError, TypeError) as exc:
            return json_error(400, str(exc))
        return web.json_response(config_json(self.config))

    async def _admin_inject(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            kinds = body.get("kinds", [])
            if isinstance(kinds, str):
                kinds = [kinds]
            self.inject(body["endpoint"], *kinds)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return json_error(400, f"bad inject request: {exc}")
        return web.json_response({"ok": True})

    async def _admin_requests(self, request: web.Request) -> web.Response:
        try:
            n = int(request.query.get("n", "100"))
        except ValueError:
            return json_error(400, "n must be an integer")
        with self._lock:
            log = list(self.request_log)[-n:] if n > 0 else []
        return web.json_response([list(e) for e in log])
