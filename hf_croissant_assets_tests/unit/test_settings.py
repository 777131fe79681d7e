"""Configuration: one typed `Settings`, validated once, documented from itself, read only when
the definitions are built (never at import)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from hf_croissant_assets import settings
from hf_croissant_assets.lake.store import LakeConfigError, LakeStore
from hf_croissant_assets.settings import SettingError, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_readme_settings_table_is_generated_from_the_settings():
    readme = (ROOT / "README.md").read_text()
    assert settings.markdown_table() in readme, (
        "README's settings table is stale: paste `python -c 'from hf_croissant_assets import "
        "settings; print(settings.markdown_table())'`"
    )
    for name in settings.env_names():
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("HF_ENDPOINT", "ftp://nowhere", "HF_ENDPOINT='ftp://nowhere': endpoint"),
        ("HF_CROISSANT_MAX_REQUESTS", "-3", "HF_CROISSANT_MAX_REQUESTS='-3': Input should be"),
        ("HF_CROISSANT_CONCURRENCY", "many", "HF_CROISSANT_CONCURRENCY='many': Input should be"),
        ("HF_CROISSANT_CONCURRENCY", "0", "HF_CROISSANT_CONCURRENCY='0': Input should be"),
        ("HF_CROISSANT_SCHEDULE_HOUR", "25", "HF_CROISSANT_SCHEDULE_HOUR='25': Input should be"),
        ("HF_CROISSANT_START_DATE", "2026-02-31", "HF_CROISSANT_START_DATE='2026-02-31'"),
        ("HF_CROISSANT_MAX_DURATION_S", "inf", "HF_CROISSANT_MAX_DURATION_S='inf'"),
        ("HF_CROISSANT_MAX_DURATION_S", "nan", "HF_CROISSANT_MAX_DURATION_S='nan'"),
        ("HF_CROISSANT_MAX_DURATION_S", "1e12", "HF_CROISSANT_MAX_DURATION_S='1e12'"),
        ("HF_CROISSANT_ROW_DROP_TOLERANCE", "1.5", "HF_CROISSANT_ROW_DROP_TOLERANCE='1.5'"),
        ("HF_CROISSANT_ATHENA_PROJECTION", "maybe", "HF_CROISSANT_ATHENA_PROJECTION='maybe'"),
        ("HF_CROISSANT_PUBLISH_REPO", "no-namespace", "HF_CROISSANT_PUBLISH_REPO='no-namespace'"),
        ("HF_CROISSANT_PUBLISH_REPO", "a/b--c", "HF_CROISSANT_PUBLISH_REPO='a/b--c'"),
    ],
)
def test_bad_setting_fails_naming_the_variable(name, value, expected):
    with pytest.raises(SettingError) as excinfo:
        Settings.from_env({name: value})
    message = str(excinfo.value)
    assert message.startswith(expected), message
    assert len(message.splitlines()) == 1  # one line per problem


def test_every_problem_is_reported_at_once():
    with pytest.raises(SettingError) as excinfo:
        Settings.from_env({"HF_CROISSANT_CONCURRENCY": "x", "HF_CROISSANT_SCHEDULE_HOUR": "99"})
    lines = str(excinfo.value).splitlines()
    assert [line.split("=")[0] for line in lines] == [
        "HF_CROISSANT_CONCURRENCY",
        "HF_CROISSANT_SCHEDULE_HOUR",
    ]


def test_athena_mode_requires_an_s3_lake():
    with pytest.raises(SettingError, match="HF_CROISSANT_LAKE must be an s3://bucket/prefix lake"):
        Settings.from_env({"HF_CROISSANT_ATHENA_DATABASE": "hf"})
    ok = Settings.from_env(
        {"HF_CROISSANT_ATHENA_DATABASE": "hf", "HF_CROISSANT_LAKE": "s3://bucket/lake"}
    )
    assert ok.athena_database == "hf" and ok.is_s3


def test_settings_ignore_unrelated_and_empty_variables():
    s = Settings.from_env({"HF_CROISSANT_LAKE": "  ", "PATH": "/bin", "HF_CROISSANT_X": "1"})
    assert s.lake == settings.DEFAULT_LAKE
    assert s == Settings.build()


def test_the_token_itself_is_never_kept():
    s = Settings.from_env({"HF_TOKEN": "hf_supersecret"})
    assert s.hf_token_set is True
    assert "hf_supersecret" not in repr(s) + str(s.model_dump())


def test_importing_the_definitions_reads_no_environment_variable():
    """A subprocess with os.environ instrumented: importing the module reads nothing from it."""
    # A read counts when this project's code (or pydantic-settings) asks for a variable; a
    # library copying the whole environment (platform, subprocess) is not a settings read.
    code = (
        "import os, sys\n"
        "reads = []\n"
        "def ours():\n"
        "    f = sys._getframe(2)\n"
        "    while f is not None and f.f_code.co_filename.endswith(('<string>', 'os.py', 'abc.py')):\n"
        "        f = f.f_back\n"
        "    name = '' if f is None else f.f_code.co_filename\n"
        "    return 'hf_croissant_assets' in name or 'pydantic_settings' in name\n"
        "class Env(type(os.environ)):\n"
        "    def __getitem__(self, key):\n"
        "        if key.startswith(('HF_', 'AWS_')) and ours(): reads.append(key)\n"
        "        return super().__getitem__(key)\n"
        "    def get(self, key, default=None):\n"
        "        if key in self: return self[key]\n"
        "        if key.startswith(('HF_', 'AWS_')) and ours(): reads.append(key)\n"
        "        return default\n"
        "os.environ.__class__ = Env\n"
        "import hf_croissant_assets.definitions as d\n"
        "assert not reads, reads\n"
        "from dagster import Definitions\n"
        "defs = d.defs()\n"  # what Dagster does when it loads the code location
        "assert isinstance(defs, Definitions)\n"
        "assert 'HF_CROISSANT_LAKE' in reads, reads\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "AWS_"))}
    env["HF_CROISSANT_LAKE"] = "./somewhere"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_two_settings_build_two_definitions_in_one_process():
    from hf_croissant_assets.definitions import build_definitions

    plain = build_definitions(Settings.build())
    other = build_definitions(
        Settings.build(
            start_date=date(2026, 6, 1),
            schedule_hour=5,
            publish_repo="me/snapshot",
            lake="./elsewhere",
        )
    )
    keys = {k.to_user_string() for k in plain.resolve_all_asset_keys()}
    other_keys = {k.to_user_string() for k in other.resolve_all_asset_keys()}
    assert other_keys == keys | {"hf_hub_export"}
    assert plain.resolve_schedule_def("daily_snapshot_schedule").cron_schedule == "0 1 * * *"
    assert other.resolve_schedule_def("daily_snapshot_schedule").cron_schedule == "0 5 * * *"
    first = other.resolve_job_def("daily_snapshot").partitions_def.get_first_partition_key()
    assert first == "2026-06-01"
    # no start date: the lake's first day, today on an empty lake (./elsewhere is empty)
    from datetime import UTC, datetime

    empty = build_definitions(Settings.build(lake="./no-lake-here"))
    assert empty.resolve_job_def("daily_snapshot").partitions_def.get_first_partition_key() == (
        datetime.now(UTC).date().isoformat()
    )
    assert other.resources["lake"].uri == "./elsewhere"


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
        LakeStore(uri, label="HF_CROISSANT_LAKE")


def test_unwritable_lake_fails_the_check(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LakeConfigError, match="HF_CROISSANT_LAKE="):
        LakeStore(str(blocker / "lake"), label="HF_CROISSANT_LAKE").check()


def test_token_is_never_in_the_resource_repr_or_logs():
    from hf_croissant_assets.definitions import build_resources

    resources = build_resources(Settings.from_env({"HF_TOKEN": "hf_supersecret"}))
    hub = resources["hub"]
    assert "hf_supersecret" not in repr(hub)
    assert "HF_TOKEN" in repr(hub)  # an EnvVar, shown by name


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert "pytest" in ci
    assert f"\n{ci}\n" in (ROOT / "README.md").read_text()


def test_the_settings_module_prints_the_readme_table():
    proc = subprocess.run(
        [sys.executable, "-m", "hf_croissant_assets.settings"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == settings.markdown_table()
