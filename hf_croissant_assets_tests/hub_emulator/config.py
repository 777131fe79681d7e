"""What an emulator is told: `EmulatorConfig`, its validation, and the names it accepts."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from hf_croissant_assets_tests.hub_emulator.hostile import HOSTILE_KINDS
from hf_croissant_assets_tests.hub_emulator.timestamps import epoch_seconds

#: Kinds of injected or random faults (see `HubEmulator.inject`); the hostile ones are
#: described in `hostile`.
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
    *HOSTILE_KINDS,
)
#: Endpoint groups that faults and counters are keyed by.
ENDPOINTS: tuple[str, ...] = ("list", "croissant", "info", "other")

#: The `q` sent in `RateLimit-Policy` when no quota is configured.
UNLIMITED_QUOTA = 1_000_000_000

#: A Hub namespace (user or organisation) or repo name.
NAMESPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")


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
    # id -> listing fields that replace the generated ones (e.g. {"gated": "manual"} or new
    # "tags"), for scripted churn the universe does not produce (license and gating changes).
    listing_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
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
    # Share of the 200 Croissant answers that are old-style documents (the real pre-1.1 fixture
    # documents); the rest are generated Croissant 1.1 documents like the Hub serves today.
    old_croissant_share: float = 0.02
    # Folder of the real Croissant fixture documents (*.json); None: the in-repo folder
    # hf_croissant_assets_tests/fixtures/croissant (`croissant_fixtures.DEFAULT_FIXTURES_DIR`).
    fixtures_dir: str | None = None
    # The hostile Hub's listing shapes (see `hostile`): share of datasets listed (0 = empty),
    # share of datasets that are private (listed only to a token holder), extra (hostile) ids.
    listing_keep: float = 1.0
    private_rate: float = 0.0
    extra_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Normalise container types and reject values that make no sense (names the field)."""
        self.fault_rate = {str(k): float(v) for k, v in dict(self.fault_rate).items()}
        self.fail_always = {str(k): int(v) for k, v in dict(self.fail_always).items()}
        self.listing_overrides = {str(k): dict(v) for k, v in dict(self.listing_overrides).items()}
        self.fault_endpoints = tuple(self.fault_endpoints)
        self.accepted_tokens = frozenset(self.accepted_tokens)
        self.write_tokens = frozenset(self.write_tokens)
        self.read_tokens = frozenset(self.read_tokens)
        self.token_orgs = tuple(self.token_orgs)
        self.extra_ids = tuple(str(i) for i in self.extra_ids)
        if self.fixtures_dir is not None:
            self.fixtures_dir = str(self.fixtures_dir)
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
            epoch_seconds(self.epoch)
        except ValueError:
            problems.append(f"epoch must be YYYY-MM-DD, got {self.epoch!r}")
        if self.write_tokens & self.read_tokens:
            problems.append("write_tokens and read_tokens overlap")
        for name in (self.token_user, *self.token_orgs):
            if not NAMESPACE_RE.match(str(name)):
                problems.append(f"token_user/token_orgs: {name!r} is not a valid namespace")
        if self.tree_page_size < 1:
            problems.append(f"tree_page_size must be >= 1, got {self.tree_page_size}")
        if not 0.0 <= self.old_croissant_share <= 1.0:
            problems.append(
                f"old_croissant_share must be within [0, 1], got {self.old_croissant_share}"
            )
        for name in ("listing_keep", "private_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be within [0, 1], got {getattr(self, name)}")
        if problems:
            raise ValueError("invalid EmulatorConfig: " + "; ".join(problems))


def config_json(config: EmulatorConfig) -> dict[str, Any]:
    """The configuration as JSON-friendly values (what `GET /_emulator/config` answers)."""
    d = dataclasses.asdict(config)
    d["accepted_tokens"] = sorted(config.accepted_tokens)
    d["write_tokens"] = sorted(config.write_tokens)
    d["read_tokens"] = sorted(config.read_tokens)
    d["token_orgs"] = list(config.token_orgs)
    d["fault_endpoints"] = list(config.fault_endpoints)
    d["extra_ids"] = list(config.extra_ids)
    return d
