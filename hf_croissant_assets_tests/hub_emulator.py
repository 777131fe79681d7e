"""A stand-in for the Hugging Face Hub, served by aiohttp on 127.0.0.1 (ARCHITECTURE §5, §9).

What it reproduces:

- `GET /api/datasets`: `limit`, repeated `expand` (400 on an unknown value, 400 with `full`),
  stateless keyset pagination through an opaque `cursor` in a `Link: <...>; rel="next"` header.
- `GET /api/datasets/{id}/croissant` (and `/api/datasets/{name}/croissant` for legacy ids without
  a namespace): 200 Croissant JSON-LD built from the real documents in
  `shared/fixtures/croissant/`, 400 "not available" (~16%), 401 for gated datasets (~4%) without an
  accepted token, 404 for unknown or deleted ids.
- `GET /api/datasets/{id}`: the dataset's full listing object (handy for `HfApi.dataset_info`).
- The `RateLimit` / `RateLimit-Policy` headers of a fixed-window policy shared by both endpoints
  (bucket "api"), 429 with `Retry-After` when the window's quota is spent.
- Latency, and faults: 429/5xx answers, connection resets, truncated bodies, HTML instead of JSON,
  stalls; random (seeded) by rate, or queued one-shot with `HubEmulator.inject`.
- Day-to-day churn: new, modified and deleted datasets (`EmulatorConfig.day`).
- Hosted dataset repos, in memory, for publishing round trips with the real huggingface_hub
  client: `whoami-v2` (token roles from `write_tokens` / `read_tokens`; a read-only token gets 403
  on every write), repo create/delete/info, tree / paths-info / commits listings, pre-upload
  (every file "regular": no LFS or Xet), NDJSON commits, and `resolve` downloads (GET/HEAD with
  ETag, X-Repo-Commit, Content-Length, Range). Not rate limited; counted in `stats["repo"]`.

The data is synthetic, deterministic and lazy: every dataset is a pure function of
`(seed, index, day)` computed with splitmix64 when it is served, so 500k datasets cost nothing at
start-up. The ground truth for tests is available through `catalog`, `dataset_ids`,
`croissant_status` and `croissant_document`; two emulators with the same configuration agree, so a
test can build one in-process (without starting it) to check what a subprocess served.

Run alone::

    python -m hf_croissant_assets_tests.hub_emulator --datasets 500000 --port 0 --quota 1000

prints `HUB_EMULATOR_READY http://127.0.0.1:<port>` when listening and serves until SIGTERM/SIGINT.
Admin endpoints (not counted, not rate limited): `GET /_emulator/stats`,
`POST /_emulator/reset-stats`, `GET|POST /_emulator/config`, `POST /_emulator/inject`,
`GET /_emulator/requests?n=100`, `GET /_emulator/repos`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import calendar
import collections
import copy
import dataclasses
import functools
import hashlib
import json
import math
import os
import random
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml
from aiohttp import web

from hf_croissant_assets.schema import VALID_LISTING_EXPAND

READY_PREFIX = "HUB_EMULATOR_READY"

FAULT_KINDS: tuple[str, ...] = (
    "429",
    "500",
    "502",
    "503",
    "504",
    "reset",
    "truncate",
    "nonjson",
    "timeout",
)
ENDPOINTS: tuple[str, ...] = ("list", "croissant", "info", "other")

#: The `q` sent in `RateLimit-Policy` when no quota is configured.
UNLIMITED_QUOTA = 1_000_000_000

#: Every listing field, in the order the emulator writes them (derived from the one list).
ALL_FIELDS: tuple[str, ...] = tuple(sorted(VALID_LISTING_EXPAND))

#: Fields of a listing request with neither `expand` nor `full`.
DEFAULT_FIELDS: frozenset[str] = frozenset(
    {
        "author",
        "createdAt",
        "description",
        "disabled",
        "downloads",
        "gated",
        "lastModified",
        "likes",
        "private",
        "sha",
        "tags",
        "trendingScore",
    }
)

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


# --------------------------------------------------------------------------------------------
# configuration


@dataclass
class EmulatorConfig:
    datasets: int = 1000  # base dataset count at day 0
    seed: int = 0
    day: int = 0  # churn day
    new_per_day: float = 0.01  # fraction of `datasets` added each day
    modify_rate: float = 0.03  # per-day probability that a dataset's sha/lastModified changes
    delete_rate: float = 0.005  # per-day probability that a dataset is deleted (permanent)
    quota: int | None = None  # requests per fixed window, bucket "api"; None = no limit
    window: float = 300.0  # seconds
    retry_after: bool = True  # send Retry-After on 429
    latency_ms: float = 0.0  # added to every counted request
    latency_jitter_ms: float = 0.0  # plus uniform(0, jitter)
    doc_kb: float | None = None  # pad 200 Croissant documents to about this size
    page_limit_max: int = 1000
    fault_rate: dict[str, float] = field(default_factory=dict)  # kind -> probability / request
    fault_endpoints: tuple[str, ...] = ("list", "croissant")
    fail_always: dict[str, int] = field(default_factory=dict)  # id -> croissant status
    timeout_s: float = 30.0  # how long a "timeout" fault stalls
    accepted_tokens: frozenset[str] = frozenset()  # Bearer tokens that may read gated datasets
    # Hosted repos (create / commit / download, for publishing round trips): every token below
    # belongs to `token_user`, who may write to its own namespace and to `token_orgs`.
    write_tokens: frozenset[str] = frozenset()  # tokens with the "write" role
    read_tokens: frozenset[str] = frozenset()  # tokens with the "read" role (refused on writes)
    token_user: str = "hf-user"
    token_orgs: tuple[str, ...] = ()
    tree_page_size: int = 1000  # entries per page of the repo tree listing
    epoch: str = "2026-01-01"  # UTC date of day 0 (timestamps only)
    fixtures_dir: str | None = None  # Croissant templates; default: shared/fixtures/croissant

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Normalise container types and reject values that make no sense (names the field)."""
        self.fault_rate = {str(k): float(v) for k, v in dict(self.fault_rate).items()}
        self.fail_always = {str(k): int(v) for k, v in dict(self.fail_always).items()}
        self.fault_endpoints = tuple(self.fault_endpoints)
        self.accepted_tokens = frozenset(self.accepted_tokens)
        self.write_tokens = frozenset(self.write_tokens)
        self.read_tokens = frozenset(self.read_tokens)
        self.token_orgs = tuple(self.token_orgs)
        problems = []
        if self.datasets < 0:
            problems.append(f"datasets must be >= 0, got {self.datasets}")
        if self.day < 0:
            problems.append(f"day must be >= 0, got {self.day}")
        for name in ("new_per_day", "modify_rate", "delete_rate"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0")
        if self.quota is not None and self.quota < 0:
            problems.append(f"quota must be >= 0 or None, got {self.quota}")
        if self.window <= 0:
            problems.append(f"window must be > 0, got {self.window}")
        if self.page_limit_max < 1:
            problems.append(f"page_limit_max must be >= 1, got {self.page_limit_max}")
        for kind, rate in self.fault_rate.items():
            if kind not in FAULT_KINDS:
                problems.append(
                    f"fault_rate: unknown kind {kind!r} (kinds: {', '.join(FAULT_KINDS)})"
                )
            if not 0.0 <= rate <= 1.0:
                problems.append(f"fault_rate[{kind!r}] must be within [0, 1]")
        if sum(self.fault_rate.values()) > 1.0 + 1e-9:
            problems.append("fault_rate: the probabilities add up to more than 1")
        for ep in self.fault_endpoints:
            if ep not in ENDPOINTS:
                problems.append(f"fault_endpoints: unknown endpoint {ep!r}")
        try:
            _epoch_seconds(self.epoch)
        except ValueError:
            problems.append(f"epoch must be YYYY-MM-DD, got {self.epoch!r}")
        if self.write_tokens & self.read_tokens:
            problems.append("write_tokens and read_tokens overlap")
        for name in (self.token_user, *self.token_orgs):
            if not _NAMESPACE_RE.match(str(name)):
                problems.append(f"token_user/token_orgs: {name!r} is not a valid namespace")
        if self.tree_page_size < 1:
            problems.append(f"tree_page_size must be >= 1, got {self.tree_page_size}")
        if problems:
            raise ValueError("invalid EmulatorConfig: " + "; ".join(problems))


_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")


def _epoch_seconds(epoch: str) -> int:
    return calendar.timegm(time.strptime(epoch, "%Y-%m-%d"))


# --------------------------------------------------------------------------------------------
# deterministic hashing

_M64 = (1 << 64) - 1
_U53 = 2.0**-53


def _mix(x: int) -> int:
    """splitmix64's step + finaliser: a fast, well-mixed 64-bit hash of a 64-bit integer."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _salt(seed: int, name: str) -> int:
    h = _mix(seed & _M64)
    for ch in name.encode():
        h = _mix(h ^ ch)
    return h


def _unit(h: int) -> float:
    """A float in [0, 1) from a 64-bit hash."""
    return (h >> 11) * _U53


# --------------------------------------------------------------------------------------------
# vocabulary of the synthetic Hub

_AUTHOR_PREFIXES = (
    "ai-lab",
    "nlp-group",
    "open-data",
    "vision-team",
    "speech-lab",
    "robotics-org",
    "bio-ml",
    "edu-research",
    "civic-data",
    "lerobot-user",
    "finance-ai",
    "med-nlp",
    "geo-ml",
    "legal-ai",
    "climate-data",
    "music-ml",
)  # x 256 numbers = 4096 authors
_STEMS = (
    "squad-v2",
    "imdb-reviews",
    "common_voice",
    "wiki.en",
    "coco-captions",
    "apple_storage",
    "pick-place",
    "math-qa",
    "code-instruct",
    "chat-sft",
    "dpo-pairs",
    "reddit_tldr",
    "news-summ",
    "legal-cases",
    "pubmed-abstracts",
    "arxiv.cs",
    "tiny-stories",
    "alpaca-clean",
    "openwebtext",
    "mnist-variant",
    "cifar10-c",
    "speech_commands",
    "librispeech-subset",
    "multi-nli",
    "xnli.fr",
    "tabular-bench",
    "satellite-tiles",
    "medical_qa",
    "github-code",
    "poems",
    "recipes",
    "lerobot-so100",
)
_LEGACY_STEMS = (
    "squad",
    "glue",
    "imdb",
    "wikitext",
    "cnndailymail",
    "xsum",
    "conll",
    "mnist",
    "cifar",
    "emotion",
    "amazonpolarity",
    "yelp",
    "trec",
    "boolq",
    "piqa",
    "hellaswag",
)
_LICENSES = (
    "mit",
    "apache-2.0",
    "cc-by-4.0",
    "cc-by-sa-4.0",
    "other",
    "unknown",
    "openrail",
    "cc0-1.0",
)
_TASKS = (
    ("text-classification", "text"),
    ("question-answering", "text"),
    ("text-generation", "text"),
    ("translation", "text"),
    ("summarization", "text"),
    ("image-classification", "image"),
    ("object-detection", "image"),
    ("automatic-speech-recognition", "audio"),
    ("robotics", "timeseries"),
    ("tabular-classification", "tabular"),
)
_LANGUAGES = ("en", "en", "en", "fr", "de", "zh", "es", "ja", "ru", "ar", "hi", "pt")
_SIZES = (
    "n<1K",
    "1K<n<10K",
    "10K<n<100K",
    "100K<n<1M",
    "1M<n<10M",
    "10M<n<100M",
)
_FORMATS = ("parquet", "json", "csv", "imagefolder", "webdataset", "text", "audiofolder")
_SENTENCES = (
    "It contains curated examples collected from public sources.",
    "Each record has an input and a label; see the dataset card for details.",
    "The data was collected in 2024 and cleaned for duplicates.",
    "Splits: train, validation and test.",
    "Please cite the accompanying paper if you use this dataset.",
    "This dataset was created using LeRobot.",
    "Machine-translated from the English original, then reviewed by volunteers.",
    "Synthetic data generated with a large language model.",
)
_HOSTILE = (
    "Template: {{7*7}} ${7*7} <%= 7*7 %> #{7*7} {{ config.items() }}",
    "<script>alert(1)</script><img src=x onerror=alert(2)> <b>bold</b>",
    "${jndi:ldap://127.0.0.1:1389/x} ${jndi:x}",
    "'; DROP TABLE hf_datasets; -- \" OR 1=1 --",
    "filecache::s3://bucket/key simplecache::http://127.0.0.1:1/payload zip://*::file:///etc/passwd",
    "Unicode: 🤗🚀 数据集 データセット مجموعة البيانات é (e\u0301) zero\u200bwidth RTL\u202eoverride",
    "Line one\nLine two\r\nTabbed\tvalue\n\nLine\u2028separator and\u2029paragraph",
    'Quotes " and \\ backslashes C:\\temp\\x.csv and \\u0041 literal and \\n literal',
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math 𝟙𝟚𝟛 and astral 🧪 plus NBSP\u00a0here",
    "%s %d %n {0} {name} $1 \\1 ../../etc/passwd",
)


def _long_description(k: int) -> str:
    words = ("lorem", "ipsum", "dolor", "sit", "amet", "données", "🤗", "<tag>", "{{x}}", "data")
    parts = []
    n = 0
    j = k
    while n < 20_000:
        w = words[j % len(words)]
        j = (j * 7 + 3) % 1009
        parts.append(w)
        n += len(w) + 1
    return f"Very long card #{k}.\n" + " ".join(parts)


_LONG_DESCRIPTIONS = tuple(_long_description(k) for k in range(3))
_FILLER = (
    "This padding sentence stands in for a long dataset card; it carries no information. " * 64
)


@functools.lru_cache(maxsize=8192)
def _date_prefix(days_since_1970: int) -> str:
    t = time.gmtime(days_since_1970 * 86_400)
    return f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}T"


def _iso(ts: int, ms: int) -> str:
    """`2024-05-01T12:34:56.789Z`, the Hub's timestamp style."""
    d, s = divmod(ts, 86_400)
    return f"{_date_prefix(d)}{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{ms:03d}Z"


def _sha_hex(hv: int) -> str:
    """40 hex digits from a 64-bit hash."""
    b = _mix(hv)
    return f"{hv:016x}{b:016x}{(hv ^ (b >> 17)) & 0xFFFFFFFF:08x}"


# --------------------------------------------------------------------------------------------
# the universe: everything derived from (seed, size, rates), cached per configuration


class _Universe:
    """Pure functions of a configuration: existence, versions and items of dataset indices."""

    def __init__(
        self,
        seed: int,
        datasets: int,
        new_per_day: float,
        modify_rate: float,
        delete_rate: float,
        epoch: str,
    ) -> None:
        self.datasets = datasets
        new = int(round(datasets * new_per_day))
        if new == 0 and new_per_day > 0 and datasets > 0:
            new = 1
        self.new_count = new
        self.epoch_ts = _epoch_seconds(epoch)
        self.s_core = _salt(seed, "core")
        self.s_more = _salt(seed, "more")
        self.s_num = _salt(seed, "num")
        self.s_dyn = _salt(seed, "dyn")
        self.s_del = _salt(seed, "del")
        self.s_mod = _salt(seed, "mod")
        self.s_sha = _salt(seed, "sha")
        self.s_ts = _salt(seed, "ts")
        self.log_keep_del = _log_keep(delete_rate)
        self.log_keep_mod = _log_keep(modify_rate)

    # -- existence ---------------------------------------------------------------------------
    def total(self, day: int) -> int:
        """Number of indices created up to `day` (some may be deleted)."""
        return self.datasets + day * self.new_count

    def creation_day(self, i: int) -> int:
        if i < self.datasets:
            return 0
        return 1 + (i - self.datasets) // self.new_count

    def deletion_day(self, i: int, creation: int) -> float:
        """First day on which the dataset is gone (a geometric draw: per-day Bernoulli)."""
        lk = self.log_keep_del
        if lk is None:
            return math.inf
        if lk == -math.inf:
            return creation + 1
        u = ((_mix(self.s_del ^ i) >> 11) + 1) * _U53  # (0, 1]
        return creation + 1 + int(math.log(u) / lk)

    def exists(self, i: int, day: int) -> bool:
        if i < 0 or i >= self.total(day):
            return False
        c = self.creation_day(i)
        return c <= day and self.deletion_day(i, c) > day

    def version(self, i: int, creation: int, day: int) -> int:
        """Last day <= `day` on which the dataset changed (its creation day if never)."""
        lk = self.log_keep_mod
        k = creation
        if lk is None:
            return k
        if lk == -math.inf:
            return max(creation, day)
        h = _mix(self.s_mod ^ i)
        while True:
            u = ((h >> 11) + 1) * _U53
            k2 = k + 1 + int(math.log(u) / lk)
            if k2 > day:
                return k
            k = k2
            h = _mix(h)

    # -- identity ----------------------------------------------------------------------------
    def dataset_id(self, i: int) -> str:
        h = _mix(self.s_core ^ i)
        if (h & 0x3FF) < 10:  # ~1% legacy ids without a namespace
            return f"{_LEGACY_STEMS[(h >> 22) & 15]}{i}"
        a = (h >> 10) & 0xFFF
        return f"{_AUTHOR_PREFIXES[a & 15]}-{a >> 4}/{_STEMS[(h >> 22) % len(_STEMS)]}-{i}"

    def index_of(self, dataset_id: str) -> int | None:
        """The index that would carry `dataset_id`, or None (no lookup table needed)."""
        m = _ID_INDEX_RE.search(dataset_id)
        if m is None:
            return None
        digits = m.group(1)
        if len(digits) > 1 and digits[0] == "0":
            return None
        i = int(digits)
        if self.dataset_id(i) != dataset_id:
            return None
        return i

    # -- attributes --------------------------------------------------------------------------
    def is_gated(self, i: int) -> str | bool:
        h = _mix(self.s_core ^ i)
        g = (h >> 30) & 0x3FF
        if g < 41:  # ~4%
            return "manual" if (h >> 40) & 1 else "auto"
        return False

    def croissant_unavailable(self, i: int) -> bool:
        h = _mix(self.s_core ^ i)
        return ((h >> 41) & 0x3FF) < 164  # ~16%

    def template_index(self, i: int) -> int:
        h = _mix(self.s_core ^ i)
        return ((h >> 51) & 0xFF) % 3

    def license(self, i: int) -> str | None:
        h2 = _mix(self.s_more ^ i)
        if (h2 & 0x3FF) < 870:  # ~85% carry a license tag
            return _LICENSES[(h2 >> 10) & 7]
        return None

    def _version_hash(self, i: int, version: int) -> int:
        # (i, version) -> 64 bits; versions are days (< 2**16)
        return _mix(self.s_sha ^ ((i << 16) + version))

    def sha(self, i: int, version: int) -> str:
        return _sha_hex(self._version_hash(i, version))

    def item(self, i: int, creation: int, day: int, fields: frozenset[str]) -> dict[str, Any]:
        """The listing JSON object of index `i` at `day` with `fields` (plus `_id`, `id`).

        Hot path (a page is 1000 calls): one splitmix64 per independent group of attributes,
        bit fields sliced from it, and only the requested fields computed."""
        h = _mix(self.s_core ^ i)  # identity, gating, croissant availability
        h2 = _mix(self.s_more ^ i)  # license, task, language, text fields
        h3 = _mix(self.s_num ^ i)  # popularity and sizes
        ht = _mix(self.s_ts ^ i)  # timestamps, _id
        epoch = self.epoch_ts
        legacy = (h & 0x3FF) < 10
        if legacy:
            ds_id = f"{_LEGACY_STEMS[(h >> 22) & 15]}{i}"
        else:
            a = (h >> 10) & 0xFFF
            ds_id = f"{_AUTHOR_PREFIXES[a & 15]}-{a >> 4}/{_STEMS[(h >> 22) % len(_STEMS)]}-{i}"
        if creation == 0:
            created_ts = epoch - 86_400 - int(_unit(ht) * (4 * 365 * 86_400))
        else:
            created_ts = epoch + creation * 86_400 + (ht & 0xFFFF) % 86_400
        created_ms = (ht >> 16) % 1000
        out: dict[str, Any] = {
            "_id": f"{created_ts & 0xFFFFFFFF:08x}{(ht ^ h3) & 0xFFFFFFFFFFFFFFFF:016x}",
            "id": ds_id,
        }
        need = fields.__contains__
        lic = _LICENSES[(h2 >> 10) & 7] if (h2 & 0x3FF) < 870 else None
        task, modality = _TASKS[((h2 >> 13) & 0xF) % len(_TASKS)]
        lang = _LANGUAGES[((h2 >> 17) & 0xF) % len(_LANGUAGES)]
        if need("author"):
            out["author"] = None if legacy else ds_id.partition("/")[0]
        if need("cardData"):
            card: dict[str, Any] = {}
            if lic is not None:
                card["license"] = lic
            card["language"] = [lang]
            card["task_categories"] = [task]
            out["cardData"] = card
        if need("citation"):
            out["citation"] = (
                f"@misc{{ds{i},\n  title={{{ds_id}}},\n  year={{2024}}\n}}"
                if (h2 >> 21) & 3 == 0
                else None
            )
        if need("createdAt"):
            out["createdAt"] = _iso(created_ts, created_ms)
        if need("description"):
            d = (h2 >> 23) & 0x3FF
            if d < 2:  # ~0.2%: ~20 KB
                desc = _LONG_DESCRIPTIONS[((h2 >> 33) & 7) % len(_LONG_DESCRIPTIONS)]
            elif d < 32:  # ~3%: hostile text
                desc = _HOSTILE[((h2 >> 33) & 0xF) % len(_HOSTILE)]
            elif d < 52:  # ~2%: empty card
                desc = ""
            else:
                desc = f"Dataset card for {ds_id.rpartition('/')[2]}. {_SENTENCES[(h2 >> 33) & 7]}"
            out["description"] = desc
        if need("disabled"):
            out["disabled"] = ((h2 >> 36) & 0x3FF) < 2
        base_dl = int(1_000_000 * _unit(h3) ** 12)
        dyn = 0
        if need("downloads") or need("trendingScore"):
            dyn = _mix(self.s_dyn ^ ((i << 16) + day))
        if need("downloads"):
            out["downloads"] = int(base_dl * (0.9 + 0.2 * _unit(dyn)))
        if need("downloadsAllTime"):
            if (h3 & 0xFF) < 2:  # ~0.8% beyond int32
                all_time = 2**31 + (h3 >> 8) % (2**33)
            else:
                all_time = base_dl * (1 + (h3 & 0x3F))
            out["downloadsAllTime"] = all_time + (base_dl * day) // 30
        if need("gated"):
            out["gated"] = (
                ("manual" if (h >> 40) & 1 else "auto") if ((h >> 30) & 0x3FF) < 41 else False
            )
        if need("lastModified") or need("sha"):
            version = self.version(i, creation, day)
            hv = self._version_hash(i, version)
            if need("lastModified"):
                if version != creation:
                    lm = _iso(epoch + version * 86_400 + hv % 86_400, (hv >> 20) % 1000)
                elif creation == 0:
                    frac = ((ht >> 26) & 0xFFFFFF) / 16_777_216.0
                    lm = _iso(created_ts + int(frac * (epoch - created_ts)), (hv >> 20) % 1000)
                else:
                    lm = _iso(created_ts, created_ms)
                out["lastModified"] = lm
        if need("likes"):
            likes_base = int(5000 * (((h3 >> 24) & 0xFFFFFF) / 16_777_216.0) ** 10)
            out["likes"] = likes_base + (likes_base * day) // 100
        used = int(10 ** (3 + 9 * (((h >> 59) << 16) | (ht & 0xFFFF)) / 2_097_152.0))
        if need("mainSize"):
            out["mainSize"] = int(used * 0.8)
        if need("paperswithcode_id"):
            pw = (h2 >> 46) & 0x3F
            out["paperswithcode_id"] = f"{_STEMS[pw % len(_STEMS)]}-{i}" if pw < 6 else None
        if need("private"):
            out["private"] = False
        if need("resourceGroup"):
            out["resourceGroup"] = None
        if need("sha"):
            out["sha"] = _sha_hex(hv)
        if need("siblings"):
            n = 1 + ((h2 >> 50) & 3) % 3
            sib = [{"rfilename": ".gitattributes"}, {"rfilename": "README.md"}]
            sib.extend({"rfilename": f"data/train-{j:05d}-of-{n:05d}.parquet"} for j in range(n))
            out["siblings"] = sib
        if need("tags"):
            tags = [f"task_categories:{task}", f"language:{lang}"]
            if (h2 >> 52) & 7 == 0:
                lang2 = _LANGUAGES[((h2 >> 55) & 0xF) % len(_LANGUAGES)]
                if lang2 != lang:
                    tags.append(f"language:{lang2}")
            if lic is not None:
                tags.append(f"license:{lic}")
            tags.append(f"size_categories:{_SIZES[((h3 >> 8) & 0xF) % len(_SIZES)]}")
            tags.append(f"format:{_FORMATS[((h3 >> 12) & 0xF) % len(_FORMATS)]}")
            tags.append(f"modality:{modality}")
            tags.append("library:datasets")
            tags.append("region:us")
            out["tags"] = tags
        if need("trendingScore"):
            out["trendingScore"] = 0 if (dyn & 3) != 0 else round(50 * _unit(dyn) ** 3, 3)
        if need("usedStorage"):
            out["usedStorage"] = used
        return out

    def iter_indices(self, day: int, start: int = 0) -> Iterator[tuple[int, int]]:
        """(index, creation day) of every dataset listed at `day`, from index `start` on."""
        total = self.total(day)
        datasets = self.datasets
        for i in range(max(0, start), total):
            c = 0 if i < datasets else 1 + (i - datasets) // self.new_count
            if c > day:
                break
            if self.deletion_day(i, c) <= day:
                continue
            yield i, c


_ID_INDEX_RE = re.compile(r"(\d+)$")


def _log_keep(p: float) -> float | None:
    """log(1 - p): None when the event never happens, -inf when it happens every day."""
    if p <= 0:
        return None
    if p >= 1:
        return -math.inf
    return math.log1p(-p)


# --------------------------------------------------------------------------------------------
# Croissant templates


def _default_fixtures_dir() -> Path:
    env = os.environ.get("HUB_EMULATOR_FIXTURES")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    candidates = [
        here / "fixtures" / "croissant",
        here.parent / "fixtures" / "croissant",
        here.parent.parent / "shared" / "fixtures" / "croissant",
        Path("/work/shared/fixtures/croissant"),
    ]
    for c in candidates:
        if c.is_dir() and any(c.glob("*.json")):
            return c
    raise FileNotFoundError(
        "Croissant fixtures not found; set HUB_EMULATOR_FIXTURES or EmulatorConfig.fixtures_dir "
        f"(looked in: {', '.join(str(c) for c in candidates)})"
    )


_PLACEHOLDER_RE = re.compile(r"@@(ID|NAME|SHA|LICENSE|PAD)@@")


class _Template:
    """A fixture document pre-serialised into literal parts and placeholders."""

    def __init__(self, doc: dict[str, Any], with_license: bool) -> None:
        doc = copy.deepcopy(doc)
        url = str(doc.get("url", ""))
        orig_id = url.rsplit("/datasets/", 1)[-1] if "/datasets/" in url else None
        doc["name"] = "@@NAME@@"
        doc["url"] = "https://huggingface.co/datasets/@@ID@@"
        if "sameAs" in doc:
            doc["sameAs"] = "https://huggingface.co/datasets/@@ID@@"
        desc = str(doc.get("description", ""))
        doc["description"] = desc + "@@PAD@@\n\nRevision: @@SHA@@"
        if with_license:
            doc["license"] = "https://choosealicense.com/licenses/@@LICENSE@@/"
        else:
            doc.pop("license", None)
        text = json.dumps(doc, ensure_ascii=False, indent=2)
        if orig_id:
            text = text.replace(orig_id, "@@ID@@")
        pieces = _PLACEHOLDER_RE.split(text)
        # pieces alternate literal, placeholder name, literal, ...
        self.literals = pieces[0::2]
        self.slots = pieces[1::2]
        self.base_len = sum(len(p.encode()) for p in self.literals)

    def render(self, values: dict[str, str]) -> str:
        out = [self.literals[0]]
        for slot, lit in zip(self.slots, self.literals[1:], strict=True):
            out.append(values[slot])
            out.append(lit)
        return "".join(out)


def _load_templates(fixtures_dir: Path) -> list[tuple[_Template, _Template]]:
    files = sorted(fixtures_dir.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no Croissant fixtures (*.json) in {fixtures_dir}")
    out = []
    for f in files:
        doc = json.loads(f.read_text(encoding="utf-8"))
        out.append((_Template(doc, with_license=True), _Template(doc, with_license=False)))
    return out


# --------------------------------------------------------------------------------------------
# hosted repos: the minimal API huggingface_hub uses to create a dataset repo, commit to it and
# download from it (publishing round trips, offline). Repos live in memory; not rate limited.

DEFAULT_GITATTRIBUTES = (
    b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"
    b"*.arrow filter=lfs diff=lfs merge=lfs -text\n"
    b"*.zst filter=lfs diff=lfs merge=lfs -text\n"
)
_REPO_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
_COMMIT_OID_RE = re.compile(r"^[0-9a-f]{40}$")


def git_blob_oid(data: bytes) -> str:
    """The git blob id of `data` (what the Hub reports as a regular file's `oid` / ETag)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now_iso() -> str:
    t = time.time()
    return _iso(int(t), int(t * 1000) % 1000)


@dataclass
class _Commit:
    oid: str
    parent: str | None
    title: str
    message: str
    date: str
    author: str
    files: dict[str, str]  # path -> blob oid (the whole tree at this commit)


@dataclass
class _HostedRepo:
    repo_id: str
    private: bool
    created_at: str
    commits: list[_Commit] = field(default_factory=list)

    @property
    def head(self) -> _Commit:
        return self.commits[-1]

    def resolve(self, revision: str) -> _Commit | None:
        if revision in ("main", "refs/heads/main"):
            return self.head
        if _COMMIT_OID_RE.match(revision):
            for commit in reversed(self.commits):
                if commit.oid == revision:
                    return commit
        return None


class _AuthError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def _hub_error(
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


class _RepoHosting:
    """Dataset repos hosted by the emulator (mixed into `HubEmulator`).

    Endpoints (what `HfApi(endpoint=..., token=...)` calls): `GET /api/whoami-v2`,
    `POST /api/repos/create`, `DELETE /api/repos/delete`, `POST /api/validate-yaml`,
    `GET /api/datasets/{id}[/revision/{rev}]` (repo info of a hosted repo),
    `GET /api/datasets/{id}/tree/{rev}[/{path}]`, `POST /api/datasets/{id}/paths-info/{rev}`,
    `GET /api/datasets/{id}/commits/{rev}`, `POST /api/datasets/{id}/preupload/{rev}` (every file
    is "regular": no LFS / Xet), `POST /api/datasets/{id}/commit/{rev}` (NDJSON: header, file,
    deletedFile, deletedFolder) and `GET|HEAD /datasets/{id}/resolve/{rev}/{path}`.

    Auth: `write_tokens` may write to `token_user`'s namespace and `token_orgs`; `read_tokens`
    get 403 on any write (like a read-scoped token on the Hub); anonymous requests may read
    public repos. Hosted repos are not in the `/api/datasets` listing (the synthetic catalogue
    stays the ground truth).
    """

    config: EmulatorConfig
    _lock: threading.RLock
    _stats: dict[str, Any]
    _repos: dict[str, _HostedRepo]
    _blobs: dict[str, bytes]
    repo_log: collections.deque

    # -- inspection (tests) -------------------------------------------------------------------
    def repo_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._repos)

    def repo_files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """path -> content of a hosted repo at `revision`; KeyError if there is no such repo."""
        with self._lock:
            commit = self._repos[repo_id].resolve(revision)
            if commit is None:
                raise KeyError(f"{repo_id}: no revision {revision!r}")
            return {path: self._blobs[oid] for path, oid in sorted(commit.files.items())}

    def repo_commits(self, repo_id: str) -> list[dict[str, Any]]:
        """Commits of a hosted repo, oldest first."""
        with self._lock:
            return [
                {"oid": c.oid, "title": c.title, "date": c.date, "files": len(c.files)}
                for c in self._repos[repo_id].commits
            ]

    # -- auth ----------------------------------------------------------------------------------
    @staticmethod
    def _bearer(request: web.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        return auth[7:].strip() or None if auth.startswith("Bearer ") else None

    def _role(self, request: web.Request) -> str | None:
        """ "write", "read", None (anonymous); unknown tokens are refused (401) like the Hub."""
        token = self._bearer(request)
        if token is None:
            return None
        if token in self.config.write_tokens:
            return "write"
        if token in self.config.read_tokens or token in self.config.accepted_tokens:
            return "read"
        raise _AuthError(401, "Invalid credentials in Authorization header")

    def _namespaces(self) -> set[str]:
        return {self.config.token_user, *self.config.token_orgs}

    def _require_write(self, request: web.Request, namespace: str, what: str) -> None:
        role = self._role(request)
        if role is None:
            raise _AuthError(401, f"You must be authenticated to {what}")
        if role != "write":
            raise _AuthError(
                403,
                f"You don't have the rights to {what}: your token is read-only "
                "(a token with the write role is needed)",
            )
        if namespace not in self._namespaces():
            raise _AuthError(
                403, f"You don't have the rights to {what}: no write access to {namespace!r}"
            )

    def _readable(self, request: web.Request, repo_id: str) -> _HostedRepo:
        role = self._role(request)
        repo = self._repos.get(repo_id)
        namespace = repo_id.partition("/")[0]
        if repo is None or (repo.private and (role is None or namespace not in self._namespaces())):
            raise _AuthError(404, "Repository not found", "RepoNotFound")
        return repo

    def _repo_counted(self, kind: str, inner):
        async def handler(request: web.Request) -> web.StreamResponse:
            status = 0
            try:
                try:
                    resp = await inner(request)
                except _AuthError as exc:
                    resp = _hub_error(exc.status, exc.message, exc.code)
                status = resp.status
                return resp
            finally:
                with self._lock:
                    rs = self._stats["repo"]
                    rs["requests"] += 1
                    if kind in ("whoami", "preuploads"):
                        rs[kind] += 1
                    if status in (401, 403):
                        rs["refused"] += 1
                    self.repo_log.append((time.time(), request.method, request.path_qs, status))

        return handler

    def add_repo_routes(self, r: web.UrlDispatcher) -> None:
        c = self._repo_counted
        r.add_get("/api/whoami-v2", c("whoami", self._whoami))
        r.add_post("/api/repos/create", c("create", self._create_repo))
        r.add_route("DELETE", "/api/repos/delete", c("delete", self._delete_repo))
        r.add_post("/api/validate-yaml", c("validate", self._validate_yaml))
        base = "/api/datasets/{namespace}/{name}"
        r.add_get(base + "/revision/{revision}", c("info", self._repo_info))
        r.add_get(base + "/tree/{revision}", c("tree", self._tree))
        r.add_get(base + "/tree/{revision}/{path:.+}", c("tree", self._tree))
        r.add_post(base + "/paths-info/{revision}", c("paths-info", self._paths_info))
        r.add_get(base + "/commits/{revision}", c("commits", self._commits))
        r.add_post(base + "/preupload/{revision}", c("preuploads", self._preupload))
        r.add_post(base + "/commit/{revision}", c("commit", self._commit))
        resolve = c("resolve", self._resolve)
        r.add_route("GET", "/datasets/{namespace}/{name}/resolve/{revision}/{path:.+}", resolve)
        r.add_route("HEAD", "/datasets/{namespace}/{name}/resolve/{revision}/{path:.+}", resolve)
        r.add_get("/_emulator/repos", self._admin_repos)

    def is_hosted(self, repo_id: str) -> bool:
        with self._lock:
            return repo_id in self._repos

    def hosted_info_handler(self):
        """`GET /api/datasets/{id}` of a hosted repo (the info route dispatches here)."""
        return self._repo_counted("info", self._repo_info)

    # -- handlers --------------------------------------------------------------------------------
    async def _whoami(self, request: web.Request) -> web.Response:
        role = self._role(request)
        if role is None:
            raise _AuthError(401, "Invalid credentials in Authorization header")
        c = self.config
        user_id = hashlib.sha1(c.token_user.encode()).hexdigest()[:24]
        return web.json_response(
            {
                "type": "user",
                "id": user_id,
                "name": c.token_user,
                "fullname": c.token_user,
                "isPro": False,
                "canPay": False,
                "emailVerified": True,
                "orgs": [
                    {
                        "type": "org",
                        "id": hashlib.sha1(o.encode()).hexdigest()[:24],
                        "name": o,
                        "fullname": o,
                        "roleInOrg": "write",
                    }
                    for o in c.token_orgs
                ],
                "auth": {
                    "type": "access_token",
                    "accessToken": {
                        "displayName": f"emulator-{role}",
                        "role": role,
                        "createdAt": "2026-01-01T00:00:00.000Z",
                    },
                },
            }
        )

    async def _create_repo(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _hub_error(400, "body must be JSON")
        name = body.get("name")
        namespace = body.get("organization") or self.config.token_user
        repo_type = body.get("type") or "model"
        if not isinstance(name, str) or not _REPO_NAME_RE.match(name) or ".." in name:
            return _hub_error(400, f"invalid repo name {name!r}")
        if not isinstance(namespace, str) or not _NAMESPACE_RE.match(namespace):
            return _hub_error(400, f"invalid namespace {namespace!r}")
        self._require_write(request, namespace, f"create a {repo_type} under {namespace!r}")
        if repo_type != "dataset":
            return _hub_error(400, "the emulator hosts dataset repos only")
        repo_id = f"{namespace}/{name}"
        url = f"{request.url.origin()}/datasets/{repo_id}"
        with self._lock:
            if repo_id in self._repos or self.dataset(repo_id) is not None:  # type: ignore[attr-defined]
                return web.json_response(
                    {"error": "You already created this dataset repo", "url": url}, status=409
                )
            visibility = body.get("visibility")
            private = bool(body.get("private")) or visibility == "private"
            repo = _HostedRepo(repo_id, private=private, created_at=_now_iso())
            self._apply_commit(
                repo,
                "initial commit",
                "",
                [("file", ".gitattributes", DEFAULT_GITATTRIBUTES)],
                count=False,
            )
            self._repos[repo_id] = repo
            self._stats["repo"]["repos_created"] += 1
        return web.json_response({"url": url, "name": repo_id, "id": repo.head.oid[:24]})

    async def _delete_repo(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _hub_error(400, "body must be JSON")
        namespace = body.get("organization") or self.config.token_user
        repo_id = f"{namespace}/{body.get('name')}"
        self._require_write(request, namespace, f"delete {repo_id}")
        with self._lock:
            if self._repos.pop(repo_id, None) is None:
                return _hub_error(404, "Repository not found", "RepoNotFound")
        return web.json_response({"ok": True})

    async def _validate_yaml(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            content = body["content"]
        except (ValueError, KeyError, TypeError):
            return _hub_error(400, "body must be JSON with `content`")
        errors = []
        try:
            _front_matter(content)
        except ValueError as exc:
            errors.append({"message": str(exc)})
        return web.json_response({"errors": errors, "warnings": []}, status=400 if errors else 200)

    @staticmethod
    def _repo_id(request: web.Request) -> str:
        mi = request.match_info
        return f"{mi['namespace']}/{mi['name']}"

    def _commit_at(self, request: web.Request) -> tuple[_HostedRepo, _Commit]:
        repo = self._readable(request, self._repo_id(request))
        revision = request.match_info.get("revision", "main")
        commit = repo.resolve(revision)
        if commit is None:
            raise _AuthError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return repo, commit

    async def _repo_info(self, request: web.Request) -> web.Response:
        with self._lock:
            repo, commit = self._commit_at(request)
            siblings = [
                {"rfilename": p, "size": len(self._blobs[o]), "blobId": o}
                for p, o in sorted(commit.files.items())
            ]
            used = sum(len(self._blobs[o]) for o in set(commit.files.values()))
            readme = self._blobs.get(commit.files.get("README.md", ""), b"")
        try:
            card = _front_matter(readme.decode("utf-8", "replace")) if readme else None
        except ValueError:
            card = None
        namespace = repo.repo_id.partition("/")[0]
        return web.json_response(
            {
                "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
                "id": repo.repo_id,
                "author": namespace,
                "sha": commit.oid,
                "createdAt": repo.created_at,
                "lastModified": commit.date,
                "private": repo.private,
                "gated": False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "cardData": card,
                "siblings": siblings,
                "usedStorage": used,
            }
        )

    def _entries(self, commit: _Commit, prefix: str, recursive: bool) -> list[dict[str, Any]]:
        """Tree entries under `prefix` ("" = root): files and folders, folders first."""
        base = prefix.strip("/")
        lead = base + "/" if base else ""
        files: list[dict[str, Any]] = []
        folders: dict[str, list[str]] = {}
        for path, oid in sorted(commit.files.items()):
            if not path.startswith(lead):
                continue
            rest = path[len(lead) :]
            parts = rest.split("/")
            for depth in range(1, len(parts)):
                if depth > 1 and not recursive:
                    break
                folders.setdefault(lead + "/".join(parts[:depth]), []).append(oid)
            if recursive or len(parts) == 1:
                files.append(
                    {"type": "file", "oid": oid, "size": len(self._blobs[oid]), "path": path}
                )
        dirs = [
            {
                "type": "directory",
                "oid": hashlib.sha1("".join(oids).encode()).hexdigest(),
                "size": 0,
                "path": path,
            }
            for path, oids in sorted(folders.items())
        ]
        return dirs + files

    async def _tree(self, request: web.Request) -> web.Response:
        path = request.match_info.get("path", "").strip("/")
        recursive = request.query.get("recursive", "").lower() in ("1", "true")
        with self._lock:
            _, commit = self._commit_at(request)
            if (
                path
                and path not in commit.files
                and not any(p.startswith(path + "/") for p in commit.files)
            ):
                raise _AuthError(404, f"{path} does not exist on the revision", "EntryNotFound")
            entries = self._entries(commit, path, recursive)
        start = 0
        cursor = request.query.get("cursor")
        if cursor is not None:
            last = _decode_cursor(cursor)
            if last is None:
                return _hub_error(400, f"invalid cursor: {cursor!r}")
            start = last + 1
        size = self.config.tree_page_size
        page = entries[start : start + size]
        resp = web.json_response(page)
        if start + size < len(entries):
            params = [(k, v) for k, v in request.query.items() if k != "cursor"]
            params.append(("cursor", _encode_cursor(start + size - 1)))
            resp.headers["Link"] = (
                f'<{request.url.origin()}{request.path}?{urlencode(params)}>; rel="next"'
            )
        return resp

    async def _paths_info(self, request: web.Request) -> web.Response:
        form = await request.post()
        paths = [str(p).strip("/") for p in form.getall("paths", [])]
        with self._lock:
            _, commit = self._commit_at(request)
            out = []
            for path in paths:
                if path in commit.files:
                    oid = commit.files[path]
                    out.append(
                        {"type": "file", "oid": oid, "size": len(self._blobs[oid]), "path": path}
                    )
                elif any(p.startswith(path + "/") for p in commit.files):
                    oid = hashlib.sha1(path.encode() + commit.oid.encode()).hexdigest()
                    out.append({"type": "directory", "oid": oid, "size": 0, "path": path})
        return web.json_response(out)

    async def _commits(self, request: web.Request) -> web.Response:
        with self._lock:
            repo, commit = self._commit_at(request)
            chain = []
            by_oid = {c.oid: c for c in repo.commits}
            at: _Commit | None = commit
            while at is not None:
                chain.append(
                    {
                        "id": at.oid,
                        "title": at.title,
                        "message": at.message,
                        "date": at.date,
                        "authors": [{"user": at.author}],
                    }
                )
                at = by_oid.get(at.parent) if at.parent else None
        return web.json_response(chain)

    async def _preupload(self, request: web.Request) -> web.Response:
        repo_id = self._repo_id(request)
        self._require_write(request, repo_id.partition("/")[0], f"upload to {repo_id}")
        try:
            body = await request.json()
            files = body["files"]
            if not isinstance(files, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _hub_error(400, "body must be JSON with a `files` list")
        with self._lock:
            _, commit = self._commit_at(request)
            out = []
            for f in files:
                path = str(f.get("path", "")) if isinstance(f, dict) else ""
                out.append(
                    {
                        "path": path,
                        "uploadMode": "regular",  # no LFS / Xet in the emulator
                        "shouldIgnore": False,
                        "oid": commit.files.get(path),
                    }
                )
        return web.json_response({"files": out, "commitOid": commit.oid})

    async def _commit(self, request: web.Request) -> web.Response:
        repo_id = self._repo_id(request)
        self._require_write(request, repo_id.partition("/")[0], f"commit to {repo_id}")
        if request.query.get("create_pr") in ("1", "true"):
            return _hub_error(400, "the emulator does not support pull requests")
        revision = request.match_info["revision"]
        if revision not in ("main", "refs/heads/main"):
            return _hub_error(400, f"the emulator commits to main only, not {revision!r}")
        raw = await request.read()
        header: dict[str, Any] | None = None
        ops: list[tuple[str, str, bytes | None]] = []
        try:
            for line in raw.splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                key, value = item["key"], item["value"]
                if key == "header":
                    header = value
                elif key == "file":
                    if value.get("encoding", "base64") != "base64":
                        raise ValueError(f"unsupported encoding {value.get('encoding')!r}")
                    content = base64.b64decode(value["content"], validate=True)
                    ops.append(("file", _clean_repo_path(value["path"]), content))
                elif key in ("deletedFile", "deletedFolder"):
                    ops.append((key, _clean_repo_path(value["path"]), None))
                elif key == "lfsFile":
                    raise ValueError(
                        f"{value.get('path')}: LFS pointer to an object that was never uploaded "
                        "(the emulator answers uploadMode=regular to every file)"
                    )
                else:
                    raise ValueError(f"unknown commit operation {key!r}")
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            return _hub_error(400, f"bad commit payload: {exc}")
        if header is None or not str(header.get("summary", "")).strip():
            return _hub_error(400, "bad commit payload: a header with a summary is required")
        with self._lock:
            repo = self._readable(request, repo_id)
            parent = header.get("parentCommit")
            if parent and not repo.head.oid.startswith(str(parent)):
                return _hub_error(
                    412, f"parentCommit {parent} is not the head of main ({repo.head.oid})"
                )
            try:
                commit = self._apply_commit(
                    repo, str(header["summary"]), str(header.get("description") or ""), ops
                )
            except KeyError as exc:
                return _hub_error(404, str(exc.args[0]), "EntryNotFound")
        url = f"{request.url.origin()}/datasets/{repo_id}/commit/{commit.oid}"
        return web.json_response(
            {"success": True, "commitOid": commit.oid, "commitUrl": url, "pullRequestUrl": None}
        )

    def _apply_commit(
        self,
        repo: _HostedRepo,
        title: str,
        message: str,
        ops: list[tuple[str, str, bytes | None]],
        count: bool = True,
    ) -> _Commit:
        """Apply operations in order on a copy of the head tree; all or nothing (lock held)."""
        files = dict(repo.head.files) if repo.commits else {}
        written = deleted = nbytes = 0
        new_blobs: dict[str, bytes] = {}
        for kind, path, content in ops:
            if kind == "file":
                assert content is not None
                oid = git_blob_oid(content)
                new_blobs[oid] = content
                files[path] = oid
                written += 1
                nbytes += len(content)
            elif kind == "deletedFile":
                if path not in files:
                    raise KeyError(f"A file with this name doesn't exist: {path}")
                del files[path]
                deleted += 1
            else:  # deletedFolder
                under = [p for p in files if p.startswith(path.rstrip("/") + "/")]
                if not under:
                    raise KeyError(f"A folder with this name doesn't exist: {path}")
                for p in under:
                    del files[p]
                deleted += len(under)
        self._blobs.update(new_blobs)
        parent = repo.head.oid if repo.commits else None
        date = _now_iso()
        seed = json.dumps([parent, title, date, len(repo.commits), sorted(files.items())])
        commit = _Commit(
            oid=hashlib.sha1(seed.encode()).hexdigest(),
            parent=parent,
            title=title,
            message=message,
            date=date,
            author=self.config.token_user,
            files=files,
        )
        repo.commits.append(commit)
        if count:
            rs = self._stats["repo"]
            rs["commits"] += 1
            rs["files_written"] += written
            rs["bytes_written"] += nbytes
            rs["files_deleted"] += deleted
        return commit

    async def _resolve(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        with self._lock:
            _, commit = self._commit_at(request)
            oid = commit.files.get(path)
            data = self._blobs[oid] if oid is not None else None
        if data is None:
            return _hub_error(
                404, "Entry not found", "EntryNotFound", headers={"X-Repo-Commit": commit.oid}
            )
        headers = {
            "ETag": f'"{oid}"',
            "X-Repo-Commit": commit.oid,
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }
        body, status = data, 200
        rng = request.headers.get("Range", "")
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
        if m:
            first = int(m.group(1))
            last = int(m.group(2)) if m.group(2) else len(data) - 1
            if first >= len(data) or last < first:
                return _hub_error(416, "Range Not Satisfiable")
            body, status = data[first : last + 1], 206
            headers["Content-Range"] = f"bytes {first}-{first + len(body) - 1}/{len(data)}"
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return web.Response(status=status, headers=headers)
        with self._lock:
            rs = self._stats["repo"]
            rs["downloads"] += 1
            rs["bytes_downloaded"] += len(body)
        return web.Response(status=status, body=body, headers=headers)

    async def _admin_repos(self, request: web.Request) -> web.Response:
        with self._lock:
            out = {
                repo_id: {
                    "private": repo.private,
                    "head": repo.head.oid,
                    "commits": len(repo.commits),
                    "files": {p: len(self._blobs[o]) for p, o in sorted(repo.head.files.items())},
                }
                for repo_id, repo in sorted(self._repos.items())
            }
        return web.json_response(out)


def _clean_repo_path(path: Any) -> str:
    """A repo path as committed: relative, no `..`, no `.git/`; else ValueError."""
    if not isinstance(path, str) or not path.strip("/"):
        raise ValueError(f"bad path {path!r}")
    clean = path.strip("/") if path.endswith("/") else path
    parts = clean.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts) or parts[0] == ".git":
        raise ValueError(f"bad path {path!r}")
    return clean


def _front_matter(text: str) -> dict[str, Any] | None:
    """The YAML metadata block of a README (None without one); ValueError if it is not valid."""
    if not text.startswith("---"):
        return None
    m = re.match(r"^---\r?\n(.*?)\r?\n---\s*(\r?\n|$)", text, re.S)
    if m is None:
        raise ValueError("the YAML metadata block is not closed by a --- line")
    try:
        data = yaml.safe_load(m.group(1))
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid YAML metadata: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("the YAML metadata must be a mapping")
    for config in data.get("configs") or []:
        if not isinstance(config, dict) or "config_name" not in config:
            raise ValueError("configs: every entry needs a config_name")
    return data


# --------------------------------------------------------------------------------------------
# the server


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
        "repo": _empty_repo_stats(),
    }


def _empty_repo_stats() -> dict[str, int]:
    return {
        "requests": 0,
        "whoami": 0,
        "repos_created": 0,
        "preuploads": 0,
        "commits": 0,
        "files_written": 0,
        "bytes_written": 0,
        "files_deleted": 0,
        "downloads": 0,
        "bytes_downloaded": 0,
        "refused": 0,
    }


class HubEmulator(_RepoHosting):
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
        self._universes: dict[tuple, _Universe] = {}
        self._templates_dir: str | None = None
        self._templates: list[tuple[_Template, _Template]] = []
        self._runner: web.AppRunner | None = None
        #: hosted repos (create / commit / download): repo id -> repo, blob oid -> bytes
        self._repos: dict[str, _HostedRepo] = {}
        self._blobs: dict[str, bytes] = {}
        self.repo_log: collections.deque[tuple[float, str, str, int]] = collections.deque(
            maxlen=10_000
        )
        #: the event loop serving requests (set by `start`)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._load_templates()

    # -- ground truth ------------------------------------------------------------------------
    def _universe(self) -> _Universe:
        c = self.config
        key = (c.seed, c.datasets, c.new_per_day, c.modify_rate, c.delete_rate, c.epoch)
        u = self._universes.get(key)
        if u is None:
            u = _Universe(*key)
            if len(self._universes) > 16:
                self._universes.clear()
            self._universes[key] = u
        return u

    def _load_templates(self) -> None:
        d = self.config.fixtures_dir
        if self._templates and d == self._templates_dir:
            return
        self._templates = _load_templates(Path(d) if d else _default_fixtures_dir())
        self._templates_dir = d

    def _day(self, day: int | None) -> int:
        return self.config.day if day is None else day

    def catalog(self, day: int | None = None) -> Iterator[dict[str, Any]]:
        """Every dataset listed at `day` (default: the current day), in listing order, with
        every field."""
        d = self._day(day)
        u = self._universe()
        fields = frozenset(ALL_FIELDS)
        for i, c in u.iter_indices(d):
            yield u.item(i, c, d, fields)

    def dataset_ids(self, day: int | None = None) -> list[str]:
        d = self._day(day)
        u = self._universe()
        return [u.dataset_id(i) for i, _ in u.iter_indices(d)]

    def dataset(self, dataset_id: str, day: int | None = None) -> dict[str, Any] | None:
        """The full listing object of one dataset at `day`, None if it is not listed."""
        d = self._day(day)
        u = self._universe()
        i = u.index_of(dataset_id)
        if i is None or not u.exists(i, d):
            return None
        return u.item(i, u.creation_day(i), d, frozenset(ALL_FIELDS))

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

    def _render_croissant(self, u: _Universe, i: int, dataset_id: str, day: int) -> str:
        self._load_templates()
        lic = u.license(i)
        with_lic = lic is not None and lic not in ("other", "unknown")
        pair = self._templates[u.template_index(i) % len(self._templates)]
        tpl = pair[0] if with_lic else pair[1]
        sha = u.sha(i, u.version(i, u.creation_day(i), day))
        name = dataset_id.rsplit("/", 1)[-1]
        pad = ""
        if self.config.doc_kb:
            target = int(self.config.doc_kb * 1024)
            dynamic = (len(dataset_id) * tpl.slots.count("ID")) + len(name) + len(sha)
            dynamic += len(lic or "") * tpl.slots.count("LICENSE")
            n = target - tpl.base_len - dynamic - 4
            if n > 0:
                pad = "\\n\\n" + _filler(n)  # JSON-escaped newlines: this goes in raw
        return tpl.render(
            {"ID": dataset_id, "NAME": name, "SHA": sha, "LICENSE": lic or "", "PAD": pad}
        )

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
            self._load_templates()

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

        After `reset`/`truncate` the transport is aborted; aiohttp's attempt to finish the
        response then fails with a ConnectionError, which it ignores quietly."""
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
            _abort(request)
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
            _abort(request, rst=False)
            return resp, normal.status
        raise AssertionError(kind)

    # -- handlers ----------------------------------------------------------------------------
    async def _list(self, request: web.Request) -> web.Response:
        c = self.config
        q = request.query
        expand = q.getall("expand", [])
        full = q.get("full", "").lower() not in ("", "false", "0", "no")
        if expand and full:
            return _json_error(400, '"expand" cannot be used together with "full"')
        for value in expand:
            if value not in VALID_LISTING_EXPAND:
                return _json_error(
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
                return _json_error(400, f'"limit" must be an integer, got {raw_limit!r}')
            if limit < 1:
                return _json_error(400, f'"limit" must be >= 1, got {limit}')
            limit = min(limit, c.page_limit_max)
        start = 0
        cursor = q.get("cursor")
        if cursor is not None:
            last = _decode_cursor(cursor)
            if last is None:
                return _json_error(400, f"invalid cursor: {cursor!r}")
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
        it = u.iter_indices(day, start)
        for i, cday in it:
            if len(items) == limit:
                more = True
                break
            items.append(u.item(i, cday, day, fields))
            last_index = i
        with self._lock:
            self._stats["list_pages"] += 1
        body = json.dumps(items, ensure_ascii=False, separators=(",", ":"))
        resp = web.Response(text=body, content_type="application/json")
        if more:
            params = [(k, v) for k, v in q.items() if k != "cursor"]
            params.append(("cursor", _encode_cursor(last_index)))
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
        return _json_error(404, "Sorry, we can't find the page you are looking for.")

    # -- admin -------------------------------------------------------------------------------
    async def _admin_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats)

    async def _admin_reset(self, request: web.Request) -> web.Response:
        self.reset_stats()
        return web.json_response({"ok": True})

    async def _admin_get_config(self, request: web.Request) -> web.Response:
        return web.json_response(_config_json(self.config))

    async def _admin_config(self, request: web.Request) -> web.Response:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("body must be a JSON object")
            self.update_config(**changes)
        except (ValueError, TypeError) as exc:
            return _json_error(400, str(exc))
        return web.json_response(_config_json(self.config))

    async def _admin_inject(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            kinds = body.get("kinds", [])
            if isinstance(kinds, str):
                kinds = [kinds]
            self.inject(body["endpoint"], *kinds)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return _json_error(400, f"bad inject request: {exc}")
        return web.json_response({"ok": True})

    async def _admin_requests(self, request: web.Request) -> web.Response:
        try:
            n = int(request.query.get("n", "100"))
        except ValueError:
            return _json_error(400, "n must be an integer")
        with self._lock:
            log = list(self.request_log)[-n:] if n > 0 else []
        return web.json_response([list(e) for e in log])


def _filler(n: int) -> str:
    global _FILLER
    while len(_FILLER) < n:
        _FILLER = _FILLER * 2
    return _FILLER[:n]


def _abort(request: web.Request, rst: bool = True) -> None:
    transport = request.transport
    if transport is None:
        return
    if rst:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
    transport.abort()


def _json_error(status: int, message: str) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"error": message}, ensure_ascii=False),
        content_type="application/json",
    )


def _encode_cursor(last_index: int) -> str:
    raw = json.dumps({"$gt": last_index}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
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


def _config_json(config: EmulatorConfig) -> dict[str, Any]:
    d = dataclasses.asdict(config)
    d["accepted_tokens"] = sorted(config.accepted_tokens)
    d["write_tokens"] = sorted(config.write_tokens)
    d["read_tokens"] = sorted(config.read_tokens)
    d["token_orgs"] = list(config.token_orgs)
    d["fault_endpoints"] = list(config.fault_endpoints)
    return d


# --------------------------------------------------------------------------------------------
# running it


@contextmanager
def running_emulator(
    config: EmulatorConfig | None = None, **overrides: Any
) -> Iterator[HubEmulator]:
    """Run the emulator on a background thread with its own event loop; yields it started."""
    emu = HubEmulator(config, **overrides)
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    thread = threading.Thread(target=run, name="hub-emulator", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(emu.start(), loop).result(timeout=30)
        yield emu
    finally:
        try:
            asyncio.run_coroutine_threadsafe(emu.stop(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            if not thread.is_alive():
                loop.close()


def spawn_emulator_process(
    args: list[str], timeout: float = 30.0, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """Start `python -m hf_croissant_assets_tests.hub_emulator *args --port 0`, wait for the READY
    line and return (process, base_url). The caller terminates the process."""
    project_root = str(Path(__file__).resolve().parent.parent)
    full_env = dict(os.environ if env is None else env)
    pp = full_env.get("PYTHONPATH")
    full_env["PYTHONPATH"] = project_root + (os.pathsep + pp if pp else "")
    argv = [sys.executable, "-m", "hf_croissant_assets_tests.hub_emulator", *args]
    if "--port" not in args:
        argv += ["--port", "0"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=full_env, cwd=project_root)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    buf = b""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"hub emulator did not report ready within {timeout} s")
            ready, _, _ = select.select([proc.stdout], [], [], min(left, 0.5))
            if not ready:
                if proc.poll() is not None:
                    raise RuntimeError(f"hub emulator exited with code {proc.returncode}")
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                proc.wait(timeout=5)
                raise RuntimeError(f"hub emulator exited with code {proc.returncode}")
            buf += chunk
            for line in buf.decode(errors="replace").splitlines():
                if line.startswith(READY_PREFIX):
                    return proc, line.split()[1]
    except BaseException:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        raise


def stop_emulator_process(proc: subprocess.Popen, timeout: float = 15.0) -> int:
    """SIGTERM a process from `spawn_emulator_process`, wait (SIGKILL after `timeout`), close its
    pipe; returns the exit code (0 after a clean SIGTERM shutdown)."""
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
    finally:
        if proc.stdout is not None:
            proc.stdout.close()
    return proc.returncode


def _parse_kv(values: list[str], what: str, conv) -> dict[str, Any]:
    out = {}
    for v in values:
        key, sep, val = v.rpartition("=")
        if not sep or not key:
            raise SystemExit(f"{what}: expected KEY=VALUE, got {v!r}")
        out[key] = conv(val)
    return out


def build_arg_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m hf_croissant_assets_tests.hub_emulator",
        description="Serve an emulated Hugging Face Hub on 127.0.0.1.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument("--datasets", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--day", type=int, default=0)
    p.add_argument("--new-per-day", type=float, default=0.01)
    p.add_argument("--modify-rate", type=float, default=0.03)
    p.add_argument("--delete-rate", type=float, default=0.005)
    p.add_argument("--quota", type=int, default=None)
    p.add_argument("--window", type=float, default=300.0)
    p.add_argument("--no-retry-after", action="store_true")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--latency-jitter-ms", type=float, default=0.0)
    p.add_argument("--doc-kb", type=float, default=None)
    p.add_argument("--page-limit-max", type=int, default=1000)
    p.add_argument(
        "--fault-rate",
        action="append",
        nargs="+",
        default=[],
        metavar="KIND=P",
        help=f"random fault probability per request; kinds: {', '.join(FAULT_KINDS)}",
    )
    p.add_argument(
        "--fault-endpoints", default="list,croissant", help="comma-separated: list,croissant,..."
    )
    p.add_argument("--fail-always", action="append", nargs="+", default=[], metavar="ID=STATUS")
    p.add_argument("--timeout-s", type=float, default=30.0)
    p.add_argument("--accepted-token", action="append", default=[])
    p.add_argument("--write-token", action="append", default=[], help="hosted repos: write role")
    p.add_argument("--read-token", action="append", default=[], help="hosted repos: read role")
    p.add_argument("--token-user", default="hf-user", help="account the tokens belong to")
    p.add_argument(
        "--token-org", action="append", default=[], help="organisation the account may write to"
    )
    p.add_argument("--epoch", default="2026-01-01")
    p.add_argument("--fixtures-dir", default=None)
    return p


def config_from_args(ns: argparse.Namespace) -> EmulatorConfig:
    flat = lambda xs: [v for group in xs for v in group]  # noqa: E731
    return EmulatorConfig(
        datasets=ns.datasets,
        seed=ns.seed,
        day=ns.day,
        new_per_day=ns.new_per_day,
        modify_rate=ns.modify_rate,
        delete_rate=ns.delete_rate,
        quota=ns.quota,
        window=ns.window,
        retry_after=not ns.no_retry_after,
        latency_ms=ns.latency_ms,
        latency_jitter_ms=ns.latency_jitter_ms,
        doc_kb=ns.doc_kb,
        page_limit_max=ns.page_limit_max,
        fault_rate=_parse_kv(flat(ns.fault_rate), "--fault-rate", float),
        fault_endpoints=tuple(e for e in ns.fault_endpoints.split(",") if e),
        fail_always=_parse_kv(flat(ns.fail_always), "--fail-always", int),
        timeout_s=ns.timeout_s,
        accepted_tokens=frozenset(ns.accepted_token),
        write_tokens=frozenset(ns.write_token),
        read_tokens=frozenset(ns.read_token),
        token_user=ns.token_user,
        token_orgs=tuple(ns.token_org),
        epoch=ns.epoch,
        fixtures_dir=ns.fixtures_dir,
    )


async def _serve(config: EmulatorConfig, host: str, port: int) -> None:
    emu = HubEmulator(config)
    url = await emu.start(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"{READY_PREFIX} {url}", flush=True)
    try:
        await stop.wait()
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> int:
    ns = build_arg_parser().parse_args(argv)
    try:
        config = config_from_args(ns)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    asyncio.run(_serve(config, ns.host, ns.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
