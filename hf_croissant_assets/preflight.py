"""Preflight: check everything a run will need before its first Hub request.

A snapshot can crawl for 18 hours before it reaches its last step; a setting that cannot work
(an unusable DuckDB path, an S3 lake the SQL engine cannot read, a read-only publish token, a Hub
that cannot be reached) must fail in the first second instead, with one line per problem naming
the setting and the fix. `hf-croissant doctor` runs this alone; `hf-croissant snapshot` runs it
before the run; in Dagster the fetching assets' `preflight` resource runs it when it is set up, so
UI and scheduled runs fail at start too.

Checks, in order (the local ones first, so they never cost a Hub request):

- lake: the folder or bucket prefix exists or can be created, and a probe file can be written;
- duckdb: (embedded mode) the file can be opened for writing; a file locked by an open reader is
  fine (the views are then written to a new file swapped in atomically, see `duckdb_views`);
- warehouse: the SQL mode is consistent (Athena needs an s3:// lake; an s3:// lake without Athena
  is queried through pyarrow, so it works, and says so);
- hub: one `GET /api/whoami-v2`: the endpoint answers, and a set token is valid;
- publish: with a publish repo, the token may write to it.

Plain code, no Dagster.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_croissant_assets.settings import Settings, env_name

#: Seconds the Hub probe waits for an answer.
HUB_TIMEOUT_S = 15.0
USER_AGENT = "hf_croissant_assets/0.1 (+preflight)"


class PreflightError(RuntimeError):
    """At least one check failed; the message has one line per problem."""


@dataclass(frozen=True)
class Check:
    """One check: `name` (lake, duckdb, warehouse, hub, publish), passed or not, one line."""

    name: str
    ok: bool
    message: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name:<9} {self.message}"


@dataclass
class PreflightReport:
    checks: list[Check] = field(default_factory=list)
    #: whoami's answer (user, token role) when the Hub was reached with a token.
    whoami: dict[str, Any] | None = None

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        if self.problems:
            raise PreflightError(
                "preflight failed, nothing was fetched:\n"
                + "\n".join(c.message for c in self.problems)
            )


# -- local checks -------------------------------------------------------------------------------


def check_lake(settings: Settings) -> Check:
    from hf_croissant_assets.lake.store import LakeConfigError, LakeStore

    try:
        LakeStore(settings.lake, label=env_name("lake")).check()
    except (LakeConfigError, OSError, ValueError) as exc:
        return Check(
            "lake",
            False,
            f"{' '.join(str(exc).split())}; fix: point {env_name('lake')} at a writable folder "
            "or s3://bucket/prefix",
        )
    return Check("lake", True, f"{env_name('lake')}={settings.lake!r} is writable")


def duckdb_problem(path: str) -> tuple[str | None, str]:
    """(problem, note) for a DuckDB file path: the problem names the setting and the fix."""
    import duckdb

    name = f"{env_name('duckdb')}={path!r}"
    if path == ":memory:":
        return None, f"{name}: in memory"
    file = Path(path).expanduser().absolute()
    fix = f"point {env_name('duckdb')} at a file in a writable folder, e.g. ./data/hf_croissant.duckdb"
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"{name}: cannot create its folder {str(file.parent)!r} ({exc.strerror}); {fix}", ""
    if file.is_dir():
        return f"{name} is a folder, not a file; {fix}", ""
    if not os.access(file.parent, os.W_OK):
        return f"{name}: the folder {str(file.parent)!r} is not writable; {fix}", ""
    if not file.exists():
        return None, f"{name} will be created"
    if not os.access(file, os.W_OK):
        return f"{name} is not writable; {fix}", ""
    from hf_croissant_assets.warehouse.duckdb_views import held_elsewhere

    try:
        duckdb.connect(str(file)).close()
    except duckdb.Error as exc:
        if held_elsewhere(exc):
            note = (
                f"{name} is open in another process (e.g. a read-only session); the views "
                "will be written to a new file and swapped in"
            )
            return None, note
        reason = " ".join(str(exc).split())[:200]
        problem = f"{name} cannot be opened as a DuckDB database ({reason}); move it away or {fix}"
        return problem, ""
    return None, f"{name} opens for writing"


def check_duckdb(settings: Settings) -> Check | None:
    if settings.athena_database:
        return None  # Athena replaces the DuckDB views: the file is not used by a run
    problem, note = duckdb_problem(settings.duckdb)
    return Check("duckdb", problem is None, problem or note)


def check_warehouse(settings: Settings) -> Check:
    lake, athena = env_name("lake"), env_name("athena_database")
    if settings.athena_database:
        if not settings.is_s3:
            return Check(
                "warehouse",
                False,
                f"{athena} is set but {lake}={settings.lake!r} is not s3://: unset {athena} or "
                f"point {lake} at s3://bucket/prefix",
            )
        return Check("warehouse", True, f"Athena database {settings.athena_database!r}")
    if settings.is_s3:
        return Check(
            "warehouse",
            True,
            f"{lake} is on S3 without {athena}: queries run embedded through pyarrow "
            "(hf-croissant sql, lake.sql); set it for Athena tables",
        )
    return Check("warehouse", True, f"DuckDB views in {settings.duckdb}")


# -- the Hub ------------------------------------------------------------------------------------


def _whoami(endpoint: str, token: str | None, timeout_s: float) -> tuple[int, dict[str, Any]]:
    # the endpoint was validated in Settings: http(s) only
    request = urllib.request.Request(  # noqa: S310
        endpoint.rstrip("/") + "/api/whoami-v2", headers={"User-Agent": USER_AGENT}
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - http(s) only, validated
            status, body = response.status, response.read(1_000_000)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read(100_000)
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        data = {}
    return status, data if isinstance(data, dict) else {}


def check_hub(
    settings: Settings, token: str | None, timeout_s: float = HUB_TIMEOUT_S
) -> tuple[Check, dict[str, Any] | None]:
    """One cheap request (`whoami-v2`): the endpoint answers and a set token is accepted."""
    endpoint, tok = env_name("hf_endpoint"), env_name("hf_token_set")
    where = f"{endpoint}={settings.hf_endpoint}"
    try:
        status, data = _whoami(settings.hf_endpoint, token, timeout_s)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check(
            "hub",
            False,
            f"the Hub is not reachable at {where} ({' '.join(str(reason).split())[:160]}); check "
            f"{endpoint} (unset it for https://huggingface.co), the network (DNS, proxy, firewall), "
            f"and {tok}",
        ), None
    if status == 200:
        name = data.get("name") or "unknown"
        role = ((data.get("auth") or {}).get("accessToken") or {}).get("role")
        return Check("hub", True, f"{where} answers; {tok} is valid ({name}, {role})"), data
    if status == 401 and token:
        return Check(
            "hub",
            False,
            f"{tok} is not accepted by {where} (401): set a valid token, or unset {tok} to "
            "crawl anonymously",
        ), None
    if status in (401, 403) and not token:
        return Check("hub", True, f"{where} answers; anonymous ({tok} unset)"), None
    if status == 404:
        return Check(
            "hub",
            False,
            f"{where} answered 404 to /api/whoami-v2: is it a Hugging Face Hub? check {endpoint}",
        ), None
    return Check(
        "hub",
        False,
        f"{where} answered HTTP {status}; the Hub may be down: retry later, or check {endpoint} "
        f"and {tok}",
    ), None


class _Whoami:
    """What `share.publish.check_write_access` asks of an `HfApi`, answered from the whoami the
    hub check already made: the same rules, without a second request (or huggingface_hub's own
    start-up requests)."""

    def __init__(self, endpoint: str, answer: dict[str, Any] | None) -> None:
        self.endpoint = endpoint
        self._answer = answer

    def whoami(self, token: str | None = None) -> dict[str, Any]:
        if self._answer is None:  # no valid token: publish's own check reports it
            from hf_croissant_assets.share.publish import PublishTokenError

            raise PublishTokenError(
                f"{env_name('publish_repo')} needs a write token; {env_name('hf_token_set')} "
                "is not valid"
            )
        return self._answer


def check_publish(
    settings: Settings, token: str | None, whoami: dict[str, Any] | None
) -> Check | None:
    if not settings.publish_repo:
        return None
    from hf_croissant_assets.share.publish import PublishError, check_write_access

    try:
        who = check_write_access(
            _Whoami(settings.hf_endpoint, whoami),  # type: ignore[arg-type]
            settings.publish_repo,
            token,
        )
    except PublishError as exc:
        return Check(
            "publish",
            False,
            f"{' '.join(str(exc).split())}; fix: give {env_name('hf_token_set')} a write token "
            f"for {settings.publish_repo!r}, or unset {env_name('publish_repo')}",
        )
    return Check(
        "publish", True, f"{who.get('user')} may write to {settings.publish_repo} ({who['role']})"
    )


# -- all of it ----------------------------------------------------------------------------------


def run_preflight(
    settings: Settings,
    token: str | None = None,
    *,
    hub: bool = True,
    timeout_s: float = HUB_TIMEOUT_S,
) -> PreflightReport:
    """Every check; never raises for a failed check (see `PreflightReport.raise_for_problems`).

    `token` is the Hub token itself (the settings only know whether one is set); default: the
    HF_TOKEN environment variable. `hub=False` skips the network checks (backfills never call
    the Hub).
    """
    if token is None:
        token = os.environ.get(env_name("hf_token_set"), "").strip() or None
    report = PreflightReport()
    report.checks.append(check_lake(settings))
    duck = check_duckdb(settings)
    if duck is not None:
        report.checks.append(duck)
    report.checks.append(check_warehouse(settings))
    if hub:
        hub_check, report.whoami = check_hub(settings, token, timeout_s)
        report.checks.append(hub_check)
        if hub_check.ok:  # (an unreachable Hub is one problem, not two)
            publish = check_publish(settings, token, report.whoami)
            if publish is not None:
                report.checks.append(publish)
    return report
