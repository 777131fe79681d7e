"""A stand-in for the Hugging Face Hub, served by aiohttp on 127.0.0.1, for tests and benchmarks.

What it reproduces:

- `GET /api/datasets`: `limit`, repeated `expand` (400 on an unknown value, 400 with `full`),
  stateless keyset pagination through an opaque `cursor` in a `Link: <...>; rel="next"` header.
- `GET /api/datasets/{id}/croissant` (and `/api/datasets/{name}/croissant` for legacy ids without
  a namespace): 200 Croissant JSON-LD, 400 "not available" (~16%), 401 for gated datasets (~4%)
  without an accepted token, 404 for unknown or deleted ids. Nearly every 200 answer is a
  Croissant 1.1 document like the Hub generates (`croissant_generator`); a configurable share
  (`EmulatorConfig.old_croissant_share`) are the real pre-1.1 documents in
  `hf_croissant_assets_tests/fixtures/croissant/` (`croissant_documents`).
- `GET /api/datasets/{id}`: the dataset's full listing object (handy for `HfApi.dataset_info`).
- The `RateLimit` / `RateLimit-Policy` headers of a fixed-window policy shared by both endpoints
  (bucket "api"), 429 with `Retry-After` when the window's quota is spent.
- Latency, and faults: 429/5xx answers, connection resets, truncated bodies, HTML instead of JSON,
  stalls; random (seeded) by rate, or queued one-shot with `HubEmulator.inject`.
- Day-to-day churn: new, modified and deleted datasets (`EmulatorConfig.day`).
- A hostile mode (`hostile`): deep JSON, gzip bombs, HTML or wrongly shaped 200s, absurd
  RateLimit / Retry-After headers, broken or looping `Link`s as fault kinds; empty or truncated
  listings (`listing_keep`), private datasets listed only to a token holder (`private_rate`),
  hostile ids (`extra_ids`).
- Hosted dataset repos, in memory, for publishing round trips with the real huggingface_hub
  client (`repos`): `whoami-v2` (token roles from `write_tokens` / `read_tokens`; a read-only
  token gets 403 on every write), repo create/delete/info, tree / paths-info / commits listings,
  pre-upload (every file "regular": no LFS or Xet), NDJSON commits, and `resolve` downloads
  (GET/HEAD with ETag, X-Repo-Commit, Content-Length, Range). Not rate limited; counted in
  `stats["repo"]`.

The data is synthetic, deterministic and lazy (`universe`): every dataset is a pure function of
`(seed, index, day)` computed with splitmix64 when it is served, so 500k datasets cost nothing at
start-up. The ground truth for tests is available through `catalog`, `dataset_ids`,
`croissant_status` and `croissant_document`; two emulators with the same configuration agree, so a
test can build one in-process (without starting it) to check what a subprocess served.

Modules: `config` (EmulatorConfig), `hashing`, `timestamps`, `vocabulary`, `universe` (the
synthetic datasets), `templates`, `croissant_fixtures`, `croissant_generator`,
`croissant_documents` (Croissant answers), `responses` (error bodies, cursors), `hostile` (the
hostile Hub), `repos` (hosted repos), `server` (HubEmulator), `runners` (thread / child process), `cli` (`__main__`).

Run alone::

    python -m hf_croissant_assets_tests.hub_emulator --datasets 500000 --port 0 --quota 1000

prints `HUB_EMULATOR_READY http://127.0.0.1:<port>` when listening and serves until SIGTERM/SIGINT.
Admin endpoints (not counted, not rate limited): `GET /_emulator/stats`,
`POST /_emulator/reset-stats`, `GET|POST /_emulator/config`, `POST /_emulator/inject`,
`GET /_emulator/requests?n=100`, `GET /_emulator/repos`.
"""

from __future__ import annotations

from hf_croissant_assets_tests.hub_emulator.cli import build_arg_parser, config_from_args, main
from hf_croissant_assets_tests.hub_emulator.config import (
    ENDPOINTS,
    FAULT_KINDS,
    UNLIMITED_QUOTA,
    EmulatorConfig,
)
from hf_croissant_assets_tests.hub_emulator.croissant_fixtures import DEFAULT_FIXTURES_DIR
from hf_croissant_assets_tests.hub_emulator.croissant_generator import CONTEXT_1_1, CROISSANT_1_1
from hf_croissant_assets_tests.hub_emulator.repos import DEFAULT_GITATTRIBUTES, git_blob_oid
from hf_croissant_assets_tests.hub_emulator.responses import (
    ERROR_BODIES,
    HTML_BODY,
    NOT_AVAILABLE_BODY,
    NOT_FOUND_BODY,
    RATE_LIMITED_BODY,
)
from hf_croissant_assets_tests.hub_emulator.runners import (
    READY_PREFIX,
    running_emulator,
    spawn_emulator_process,
    stop_emulator_process,
)
from hf_croissant_assets_tests.hub_emulator.server import HubEmulator
from hf_croissant_assets_tests.hub_emulator.universe import ALL_FIELDS, DEFAULT_FIELDS

__all__ = [
    "ALL_FIELDS",
    "CONTEXT_1_1",
    "CROISSANT_1_1",
    "DEFAULT_FIELDS",
    "DEFAULT_FIXTURES_DIR",
    "DEFAULT_GITATTRIBUTES",
    "ENDPOINTS",
    "ERROR_BODIES",
    "FAULT_KINDS",
    "HTML_BODY",
    "NOT_AVAILABLE_BODY",
    "NOT_FOUND_BODY",
    "RATE_LIMITED_BODY",
    "READY_PREFIX",
    "UNLIMITED_QUOTA",
    "EmulatorConfig",
    "HubEmulator",
    "build_arg_parser",
    "config_from_args",
    "git_blob_oid",
    "main",
    "running_emulator",
    "spawn_emulator_process",
    "stop_emulator_process",
]
