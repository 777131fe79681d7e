"""Configuration: every variable documented, bad values fail at start naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hf_croissant_assets import settings
from hf_croissant_assets.lake.store import LakeConfigError, LakeStore

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for setting in settings.ALL:
        assert f"`{setting.name}`" in readme, setting.name


def _load_definitions(**env) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("HF_")} | env
    return subprocess.run(
        [sys.executable, "-c", "import hf_croissant_assets.definitions"],
        env=full,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("HF_ENDPOINT", "ftp://nowhere", "HF_ENDPOINT='ftp://nowhere' is not an http(s) URL"),
        ("HF_CROISSANT_MAX_REQUESTS", "-3", "HF_CROISSANT_MAX_REQUESTS='-3' must be >= 0"),
        ("HF_CROISSANT_CONCURRENCY", "many", "HF_CROISSANT_CONCURRENCY='many' is not an integer"),
        ("HF_CROISSANT_SCHEDULE_HOUR", "25", "HF_CROISSANT_SCHEDULE_HOUR=25 must be within 0..23"),
        ("HF_CROISSANT_START_DATE", "2026-02-31", "HF_CROISSANT_START_DATE"),
    ],
)
def test_bad_setting_fails_at_load_naming_the_variable(name, value, expected):
    proc = _load_definitions(**{name: value})
    assert proc.returncode != 0
    assert expected in proc.stderr


def test_definitions_load_on_defaults():
    proc = _load_definitions()
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("", "HF_CROISSANT_LAKE is empty"),
        ("gs://b/x", "unsupported scheme"),
        ("s3://", "no bucket"),
    ],
)
def test_bad_lake_uri(uri, expected):
    with pytest.raises(LakeConfigError, match=expected):
        LakeStore(uri)


def test_unwritable_lake_fails_the_check(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LakeConfigError, match="HF_CROISSANT_LAKE="):
        LakeStore(str(blocker / "lake")).check()


def test_token_is_never_in_the_resource_repr_or_logs(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_supersecret")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from hf_croissant_assets.definitions import defs, resources;"
            "print(repr(resources['hub'])); print(resources['hub'].client())",
        ],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "hf_supersecret" not in proc.stdout + proc.stderr
    assert "HF_TOKEN" in proc.stdout


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert "pytest" in ci
    assert f"\n{ci}\n" in (ROOT / "README.md").read_text()
