"""No surprises for the operator: the real `hf-croissant` command, driven as a user would.

Each test is one surprise a new user met: a setting that fails only after the crawl, an open
DuckDB reader failing the run, a console drowned in Dagster events, a silent Ctrl-C, a date outside
the partitions failing with Dagster's error, a run that ends without saying where the data is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from hf_croissant_assets_tests.hub_emulator import EmulatorConfig, running_emulator

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
WRITE_TOKEN, READ_TOKEN = "hf_write_token_123", "hf_read_token_456"


def _env(tmp_path: Path, endpoint: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "DAGSTER_"))}
    env |= {
        "HF_ENDPOINT": endpoint,
        "HF_CROISSANT_LAKE": str(tmp_path / "lake"),
        "HF_CROISSANT_DUCKDB": str(tmp_path / "db" / "hf.duckdb"),
        "HF_CROISSANT_MAX_RETRIES": "1",
    }  # no DAGSTER_HOME: the command's own default (./data/dagster_home here)
    return env | extra


def _cli(env: dict[str, str], *args: str, cwd: Path, timeout: float = 300):
    return subprocess.run(
        [str(BIN / "hf-croissant"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _emulator(**config):
    return running_emulator(
        EmulatorConfig(
            datasets=config.pop("datasets", 200),
            seed=3,
            write_tokens=frozenset({WRITE_TOKEN}),
            read_tokens=frozenset({READ_TOKEN}),
            **config,
        )
    )


def _problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("  ")]


@pytest.mark.parametrize(
    ("case", "setting"),
    [
        ("duckdb_under_a_file", "HF_CROISSANT_DUCKDB"),
        ("duckdb_is_a_folder", "HF_CROISSANT_DUCKDB"),
        ("duckdb_not_a_database", "HF_CROISSANT_DUCKDB"),
        ("lake_is_a_file", "HF_CROISSANT_LAKE"),
        ("read_only_publish_token", "HF_CROISSANT_PUBLISH_REPO"),
        ("publish_without_token", "HF_CROISSANT_PUBLISH_REPO"),
        ("rejected_token", "HF_TOKEN"),
    ],
)
def test_a_misconfiguration_fails_before_the_first_hub_request(tmp_path, case, setting):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with _emulator() as emu:
        env = _env(tmp_path, emu.base_url)
        if case == "duckdb_under_a_file":
            env["HF_CROISSANT_DUCKDB"] = str(blocker / "hf.duckdb")
        elif case == "duckdb_is_a_folder":
            env["HF_CROISSANT_DUCKDB"] = str(tmp_path)
        elif case == "duckdb_not_a_database":
            env["HF_CROISSANT_DUCKDB"] = str(blocker)
        elif case == "lake_is_a_file":
            env["HF_CROISSANT_LAKE"] = str(blocker)
        elif case == "read_only_publish_token":
            env |= {"HF_CROISSANT_PUBLISH_REPO": "hf-user/snap", "HF_TOKEN": READ_TOKEN}
        elif case == "publish_without_token":
            env |= {"HF_CROISSANT_PUBLISH_REPO": "hf-user/snap"}
        elif case == "rejected_token":
            env["HF_TOKEN"] = "hf_not_a_token"
        proc = _cli(env, "snapshot", cwd=tmp_path)
        assert emu.stats["requests"] == 0  # no listing, no Croissant request
    assert proc.returncode == 2, proc.stdout + proc.stderr
    problems = _problem_lines(proc.stderr)
    assert len(problems) == 1, proc.stderr
    assert setting in problems[0]
    assert "Traceback" not in proc.stderr
    assert "nothing was fetched" in proc.stderr
    for secret in (READ_TOKEN, "hf_not_a_token"):
        assert secret not in proc.stdout + proc.stderr
    assert not (tmp_path / "lake" / "_raw").exists()


def test_an_unreachable_hub_names_the_endpoint_the_token_and_the_network(tmp_path):
    env = _env(tmp_path, "http://127.0.0.1:9")  # nothing listens on the discard port
    proc = _cli(env, "snapshot", cwd=tmp_path)
    assert proc.returncode == 2
    (line,) = _problem_lines(proc.stderr)
    for word in ("HF_ENDPOINT=http://127.0.0.1:9", "HF_TOKEN", "network"):
        assert word in line
    doctor = _cli(env, "doctor", cwd=tmp_path)
    assert doctor.returncode == 2
    assert [line.split()[:2] for line in doctor.stdout.splitlines()[:4]] == [
        ["ok", "lake"],
        ["ok", "duckdb"],
        ["ok", "warehouse"],
        ["FAIL", "hub"],
    ]


def test_a_bad_value_is_named_as_a_setting_not_as_an_option(tmp_path):
    env = _env(tmp_path, "http://127.0.0.1:9", HF_CROISSANT_CONCURRENCY="abc")
    proc = _cli(env, "snapshot", "--select", "hf_datasets", cwd=tmp_path)
    assert proc.returncode == 2
    assert "HF_CROISSANT_CONCURRENCY='abc'" in proc.stderr
    assert "--select" not in proc.stderr


def test_a_date_outside_the_partitions_is_one_line_naming_the_setting(tmp_path):
    env = _env(tmp_path, "http://127.0.0.1:9")
    proc = _cli(env, "snapshot", "--date", "2026-01-05", "--select", "hf_datasets", cwd=tmp_path)
    assert proc.returncode == 2
    assert "before the first partition" in proc.stderr
    assert "HF_CROISSANT_START_DATE" in proc.stderr
    assert "DagsterUnknownPartitionError" not in proc.stderr


def test_a_run_with_an_open_reader_says_what_it_produced_and_where(tmp_path):
    """The README's read-only DuckDB session stays open during the run; the run succeeds, the
    console shows the assets' lines (no Dagster event stream) and ends with where the data is
    and a query that works."""
    with _emulator(datasets=300, latency_ms=5) as emu:
        env = _env(tmp_path, emu.base_url, HF_CROISSANT_PROGRESS_S="0.1")
        first = _cli(env, "snapshot", cwd=tmp_path)
        assert first.returncode == 0, first.stderr[-3000:]
        db = env["HF_CROISSANT_DUCKDB"]
        reader = duckdb.connect(db, read_only=True)  # an analyst's open session
        try:
            proc = _cli(
                env, "snapshot", "--select", "hf_datasets,hf_croissant,duckdb_tables", cwd=tmp_path
            )
        finally:
            reader.close()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Could not set lock" not in proc.stderr
    today = datetime.now(UTC).date().isoformat()
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute(
            'SELECT count(*) FROM hf_croissant WHERE "date" = CAST(? AS DATE)', [today]
        ).fetchone() == (300,)

    # the console: progress lines with rate, retries, 429s and ETA; no DEBUG event lines
    err = first.stderr
    assert "croissant_records: croissant" in err
    progress = [line for line in err.splitlines() if "/s, " in line and "ETA" in line]
    assert progress and "retries" in progress[0] and "x 429" in progress[0]
    for noise in ("STEP_START", "STEP_OUTPUT", "HANDLED_OUTPUT", "LOADED_INPUT", "DEBUG"):
        assert noise not in err
    assert "Telemetry" not in err and "dagster.yaml" not in err

    # the end: what was produced, where, and a one-line query that runs as printed
    out = first.stdout.splitlines()
    assert out[0].startswith(f"produced {today}: hf_dataset_listing, croissant_records")
    assert any("hf_croissant" in line and "300 rows" in line for line in out)
    assert any(line.strip().startswith("report") and line.endswith("report.html") for line in out)
    query_line = next(line for line in out if line.startswith("query: hf-croissant sql "))
    query = query_line.removeprefix("query: hf-croissant sql ").strip('"')
    result = _cli(env, "sql", query, "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sum(row["count_star()"] for row in json.loads(result.stdout)) == 300

    # the run is recorded under its real job
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(tmp_path / "data" / "dagster_home")) as instance:
        names = {run.job_name for run in instance.get_runs()}
    assert names == {"daily_snapshot", "rederive"}


def test_sql_prints_a_table_csv_or_json_and_one_line_on_a_bad_query(tmp_path):
    with _emulator(datasets=120) as emu:
        env = _env(tmp_path, emu.base_url)
        assert _cli(env, "snapshot", cwd=tmp_path).returncode == 0
    query = "SELECT gated, count(*) AS n FROM hf_datasets_latest GROUP BY 1 ORDER BY 1"
    table = _cli(env, "sql", query, cwd=tmp_path)
    assert (
        table.returncode == 0
        and "gated" in table.stdout
        and table.stdout.rstrip().endswith("rows)")
    )
    csv = _cli(env, "sql", query, "--format", "csv", cwd=tmp_path)
    lines = csv.stdout.splitlines()
    assert lines[0] == "gated,n" and sum(int(x.split(",")[1]) for x in lines[1:]) == 120
    # the README's sql commands, as written
    for line in [
        ln.strip() for ln in README.splitlines() if ln.startswith(".venv/bin/hf-croissant sql")
    ]:
        proc = subprocess.run(["bash", "-c", _as_written(line)], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert proc.returncode == 0 and proc.stdout, (line, proc.stderr)
    bad = _cli(env, "sql", "SELECT nope FROM hf_datasets", cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("query failed:")


def test_dry_run_shows_the_plan_and_fetches_no_document(tmp_path):
    with _emulator(datasets=150) as emu:
        env = _env(tmp_path, emu.base_url)
        listing = _cli(env, "snapshot", "--select", "hf_dataset_listing", cwd=tmp_path)
        assert listing.returncode == 0, listing.stderr[-2000:]
        emu.reset_stats()
        proc = _cli(env, "snapshot", "--dry-run", cwd=tmp_path)
        assert emu.stats["by_endpoint"].get("croissant", 0) == 0
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "never_fetched" in text and "150" in text
    assert "announced quota:" in text and "of fetching" in text
    assert text.rstrip().endswith("dry run: nothing fetched")


def test_ctrl_c_says_how_to_resume(tmp_path):
    with _emulator(datasets=1500, latency_ms=200) as emu:
        env = _env(
            tmp_path, emu.base_url, HF_CROISSANT_CONCURRENCY="2", HF_CROISSANT_PROGRESS_S="0.2"
        )
        proc = subprocess.Popen(
            [str(BIN / "hf-croissant"), "snapshot"],
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while emu.stats["by_endpoint"].get("croissant", 0) < 10:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130
    assert err.rstrip().endswith("stopped; run the same command to resume")
    assert "Traceback" not in err


def test_help_lists_exit_codes_and_the_environment(tmp_path):
    proc = _cli({**os.environ}, "--help", cwd=tmp_path)
    assert proc.returncode == 0
    for text in ("exit codes:", "130", "HF_CROISSANT_DUCKDB", "HF_ENDPOINT"):
        assert text in proc.stdout
    for command in ("snapshot", "backfill", "sql", "doctor", "publish"):
        assert command in proc.stdout


# -- the README's commands, as written ---------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _readme_line(prefix: str) -> str:
    """The one command line of the README that starts with `prefix`."""
    (line,) = [ln.strip() for ln in README.splitlines() if ln.strip().startswith(prefix)]
    return line


def _as_written(line: str, **dates: str) -> str:
    """A README command for this machine: its venv instead of ./.venv, the test's days."""
    command = line.replace(".venv/bin/", f"{BIN}/")
    for old, new in dates.items():
        command = command.replace(old, new)
    return command


def test_readme_backfill_command_succeeds_under_dagster_dev(tmp_path, monkeypatch):
    """`dagster dev` (webserver + daemon, from the checkout's workspace.yaml and dagster.yaml) is
    running; the README's `dagster job backfill` command launches runs it can execute."""
    import shutil
    import socket
    import urllib.request

    from dagster import DagsterInstance, DagsterRunStatus

    from hf_croissant_assets.lake.store import LakeStore
    from hf_croissant_assets_tests.definitions.test_operations import D1, D2, D3, _raw_day

    for name in ("workspace.yaml", "dagster.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)  # dagster.yaml's storage paths are relative to the checkout
    lake = tmp_path / "lake"
    store = LakeStore(str(lake))
    with running_emulator(datasets=150, seed=5) as emu:
        _raw_day(emu, store, D1)
        emu.set_day(1)
        _raw_day(emu, store, D2)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "DAGSTER_"))}
    env |= {
        "HF_CROISSANT_LAKE": str(lake),
        "HF_CROISSANT_DUCKDB": str(tmp_path / "db.duckdb"),
        "HF_ENDPOINT": "http://127.0.0.1:9",
    }
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dev_line = _readme_line("DAGSTER_HOME=$PWD .venv/bin/dagster dev")
    dev = subprocess.Popen(
        ["bash", "-c", f"{_as_written(dev_line)} -h 127.0.0.1 -p {port}"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).read()
                break
            except OSError:
                assert dev.poll() is None, "dagster dev exited"
                assert time.monotonic() < deadline, "dagster dev did not start"
                time.sleep(1)
        backfill_line = _readme_line("DAGSTER_HOME=$PWD .venv/bin/dagster job backfill")
        command = _as_written(backfill_line, **{"2026-11-01": D1, "2026-11-20": D3})
        submit = subprocess.run(
            ["bash", "-c", command], env=env, cwd=tmp_path, capture_output=True, text=True,
            timeout=180,
        )  # fmt: skip
        assert submit.returncode == 0, submit.stderr[-2000:]
        while True:
            with DagsterInstance.from_config(str(tmp_path)) as instance:
                runs = instance.get_runs()
                if len(runs) == 3 and all(r.is_finished for r in runs):
                    status = {r.tags["dagster/partition"]: r.status for r in runs}
                    break
            assert time.monotonic() < deadline + 600, (
                f"not finished: {[(r.status, r.tags) for r in runs]}"
            )
            time.sleep(2)
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGINT)  # what Ctrl-C in its terminal does
            try:
                dev.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(dev.pid, signal.SIGKILL)
    assert status == {
        D1: DagsterRunStatus.SUCCESS,
        D2: DagsterRunStatus.SUCCESS,
        D3: DagsterRunStatus.FAILURE,  # no raw data stored for that day: its run says so
    }
    # the checkout stays tidy: run files under ./data, nothing else beside the config files
    assert not (tmp_path / "storage").exists()
    assert (tmp_path / "data" / "dagster" / "logs").is_dir()


def test_a_run_launched_by_dagster_preflights_before_the_hub(tmp_path):
    """UI and schedule runs do not go through the command: the Hub resource's set-up runs the
    same preflight, so they fail at start too."""
    from dagster import instance_for_test

    from hf_croissant_assets.definitions import build_definitions
    from hf_croissant_assets.settings import Settings

    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    today = datetime.now(UTC).date().isoformat()
    with _emulator() as emu, instance_for_test() as instance:
        settings = Settings.build(
            hf_endpoint=emu.base_url,
            lake=str(tmp_path / "lake"),
            duckdb=str(blocker / "hf.duckdb"),
        )
        job = build_definitions(settings).resolve_job_def("daily_snapshot")
        result = job.execute_in_process(
            partition_key=today, instance=instance, raise_on_error=False
        )
        assert emu.stats["requests"] == 0
    assert not result.success
    text = "\n".join(
        str(e.message) + "\n" + str(getattr(e.event_specific_data, "error", "") or "")
        for e in result.all_events
        if e.is_failure or "FAILURE" in e.event_type_value
    )
    assert "preflight failed" in text and "HF_CROISSANT_DUCKDB" in text, text
    assert not (tmp_path / "lake" / "_raw").exists()


def test_a_hub_failure_mid_run_is_one_line_with_a_hint(tmp_path):
    with _emulator(fault_rate={"500": 1.0}, fault_endpoints=("list",)) as emu:
        env = _env(tmp_path, emu.base_url)  # HF_CROISSANT_MAX_RETRIES=1
        proc = _cli(env, "snapshot", cwd=tmp_path)
        assert emu.stats["by_endpoint"]["croissant"] == 0
    assert proc.returncode == 1
    failed = [line for line in proc.stderr.splitlines() if line.startswith("FAILED ")]
    assert len(failed) == 1 and failed[0].startswith("FAILED hf_dataset_listing")
    assert "expand=" not in failed[0] and len(failed[0]) <= 450
    assert "HF_ENDPOINT, HF_TOKEN and the network" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) < 15
