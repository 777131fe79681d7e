"""The whole day through Dagster and the CLI against the hostile Hub: still one row per public
dataset, nothing fetched twice, nothing leaked."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import materialize
from huggingface_hub import HfApi

from hf_croissant_assets.defs.resources import HfPublishResource, HubResource
from hf_croissant_assets.lake.lease import DayLease, LeaseHeld, day_lease
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import CROISSANT_RECORDS, SCHEMA_VERSION, SCHEMA_VERSION_KEY
from hf_croissant_assets.share.bootstrap import BootstrapError, validate_rows
from hf_croissant_assets.share.publish import DOCUMENT_DERIVED_TABLES, PUBLISHED_TABLES, day_files
from hf_croissant_assets_tests.hub_emulator import running_emulator
from hf_croissant_assets_tests.support import (
    FAST_RETRY,
    croissant_records,
    croissant_validation,
    hf_croissant,
    hf_croissant_fields,
    hf_croissant_files,
    hf_dataset_changes,
    hf_dataset_listing,
    hf_datasets,
    hf_hub_export,
    make_resources,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DAY = "2026-11-20"
FETCHING = [hf_dataset_listing, croissant_records, hf_datasets, hf_croissant]
HUB_ONLY = "hf_dataset_listing,croissant_records,hf_datasets,hf_croissant"


def _hub(emu, **overrides) -> HubResource:
    return HubResource(
        endpoint=emu.base_url,
        concurrency=8,
        max_retries=FAST_RETRY.max_retries,
        backoff_base_s=FAST_RETRY.backoff_base_s,
        backoff_max_s=FAST_RETRY.backoff_max_s,
        timeout_s=FAST_RETRY.timeout_s,
        pinned_now=f"{DAY}T12:00:00+00:00",
        **overrides,
    )


def test_a_hostile_day_completes_with_one_row_per_dataset(lake_dir):
    faults = {
        "deep_json": 0.03,
        "gzip_bomb": 0.01,
        "html200": 0.03,
        "json_list": 0.03,
        "huge_ratelimit": 0.03,
        "stall_ratelimit": 0.02,
        "retry_after_day": 0.02,
        "retry_after_date": 0.01,
        "bad_link": 0.03,
        "500": 0.03,
    }
    bad_ids = ("org/../victim", "../x")
    with running_emulator(datasets=1500, seed=11, fault_rate=faults, extra_ids=bad_ids) as emu:
        resources = make_resources(emu.base_url, lake_dir, now=f"{DAY}T12:00:00+00:00")
        resources["hub"] = _hub(emu, max_pause_s=0.2, max_body_bytes=1024 * 1024)
        result = materialize(FETCHING, partition_key=DAY, resources=resources)
        assert result.success
        listed = set(emu.listed_ids()) | set(bad_ids)
        fetches = emu.stats["croissant_fetches"]
        assert emu.stats["faults"].keys() >= {"deep_json", "gzip_bomb", "html200", "bad_link"}
    store = LakeStore(str(lake_dir))
    rows = store.read_table("hf_croissant", DAY).to_pylist()
    assert len(rows) == len({r["dataset"] for r in rows}) == len(listed)
    assert {r["dataset"] for r in rows} == listed
    for row in rows:
        if row["status"] == 200:
            assert isinstance(json.loads(row["croissant"]), dict)
        if row["croissant"] is None and row["status"] in (None, 200):
            assert row["reason"]  # a failure always says why
    assert max(fetches.values()) <= FAST_RETRY.max_retries + 1


def test_run_config_cannot_redirect_the_token_or_the_endpoint(tmp_path, monkeypatch):
    from hf_croissant_assets.definitions import build_definitions
    from hf_croissant_assets.settings import Settings

    monkeypatch.setenv("HF_TOKEN", "hf_secret_token")
    today = datetime.now(UTC).date().isoformat()
    with running_emulator(datasets=50, seed=1) as emu:
        settings = Settings.build(
            hf_endpoint=emu.base_url,
            hf_token_set=True,
            lake=str(tmp_path / "lake"),
            duckdb=str(tmp_path / "db.duckdb"),
        )
        job = build_definitions(settings).resolve_job_def("daily_snapshot")
        for config in (
            {"endpoint": "http://127.0.0.1:9"},
            {"token": {"env": "HOME"}},
            {"endpoint": "http://127.0.0.1:9", "token": {"env": "PATH"}},
        ):
            # the run fails while its resources are set up, before any step or request
            # (in-process, Dagster either raises the resource error or reports it as events)
            chain: list[str] = []
            try:
                result = job.execute_in_process(
                    partition_key=today,
                    run_config={"resources": {"hub": {"config": config}}},
                    raise_on_error=False,
                )
            except Exception as exc:
                error: BaseException | None = exc
                while error is not None:
                    chain.append(str(error))
                    error = error.__cause__ or error.__context__
            else:
                assert not result.success
                chain = [f"{e.message} {e.event_specific_data}" for e in result.all_events]
            assert "come from the environment only" in " ".join(chain), config
        assert emu.stats["requests"] == 0


def _cli_env(tmp_path: Path, emu, lake: Path, name: str = "home") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "DAGSTER_"))}
    home = tmp_path / name
    home.mkdir(exist_ok=True)
    return env | {
        "HF_ENDPOINT": emu.base_url,
        "HF_CROISSANT_LAKE": str(lake),
        "HF_CROISSANT_DUCKDB": str(tmp_path / f"{name}.duckdb"),
        "DAGSTER_HOME": str(home),
    }


def _snapshot(env: dict[str, str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hf_croissant_assets.cli", "snapshot", "--select", HUB_ONLY],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_same_day_rerun_of_the_cli_fetches_no_document_twice(tmp_path):
    lake = tmp_path / "lake"
    today = datetime.now(UTC).date().isoformat()
    with running_emulator(datasets=600, seed=4) as emu:
        env = _cli_env(tmp_path, emu, lake)
        # one dataset fails with a 503 on the first run: only it is fetched again
        failing = emu.listed_ids()[5]
        emu.update_config(fail_always={failing: 503})
        first = _snapshot(env, tmp_path)
        _, err = first.communicate(timeout=300)
        assert first.returncode == 0, err[-3000:]
        assert emu.stats["by_endpoint"]["croissant"] >= 600
        emu.update_config(fail_always={})
        emu.reset_stats()
        second = _snapshot(env, tmp_path)
        _, err = second.communicate(timeout=300)
        assert second.returncode == 0, err[-3000:]
        assert emu.stats["croissant_fetches"] == {failing: 1}
    rows = LakeStore(str(lake)).read_table("hf_croissant", today).to_pylist()
    assert len(rows) == 600 and all(r["status"] is not None for r in rows)


def test_two_concurrent_runs_of_one_day_one_fails_at_once(tmp_path):
    lake = tmp_path / "lake"
    store = LakeStore(str(lake))
    today = datetime.now(UTC).date().isoformat()
    with running_emulator(datasets=400, seed=4, latency_ms=40) as emu:
        # a crawl of today holds the lease (another process, here held by the test)
        with day_lease(store, today):
            proc = _snapshot(_cli_env(tmp_path, emu, lake, "a"), tmp_path)
            _, err = proc.communicate(timeout=300)
            assert proc.returncode != 0
            assert "another crawl of" in err and "is running" in err
            assert emu.stats["requests"] == 0
        # two real runs started together (separate instances: the CLI and another entry point)
        procs = [_snapshot(_cli_env(tmp_path, emu, lake, f"run{i}"), tmp_path) for i in (1, 2)]
        results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        fetches = emu.stats["croissant_fetches"]
    codes = sorted(code for code, _ in results)
    assert codes[0] == 0, results
    if codes[1] != 0:  # the two overlapped: the second stopped at once with the reason
        assert any("another crawl of" in err for code, err in results if code)
    assert max(fetches.values()) == 1  # never a document fetched twice
    assert store.num_rows("hf_croissant", today) == 400


def test_the_lease_is_exclusive_on_s3_and_expires_after_a_crash(s3_bucket):
    store = LakeStore(f"s3://{s3_bucket}/lake")
    with (
        day_lease(store, DAY, ttl_s=60),
        pytest.raises(LeaseHeld, match="another crawl of 2026-11-20 is running"),
    ):
        DayLease(store, DAY).acquire()
    crashed = DayLease(store, DAY, ttl_s=0.5)
    crashed.acquire()
    crashed._stop.set()  # the holder dies: no more renewals
    time.sleep(1.0)
    successor = DayLease(store, DAY, ttl_s=60)
    successor.acquire()
    successor.release()
    assert successor.read() is None


def test_private_rows_are_never_published_and_gated_documents_not_by_default(lake_dir):
    write = "hf_emulator_write_token"
    with running_emulator(
        datasets=300,
        seed=6,
        private_rate=0.1,
        write_tokens={write},
        token_user="hf-user",
        token_orgs=("hf-org",),
        accepted_tokens={write},
    ) as emu:
        private = emu.private_ids()
        resources = make_resources(emu.base_url, lake_dir, now=f"{DAY}T12:00:00+00:00")
        # a team's own private lake: private datasets kept in the tables
        resources["hub"] = _hub(emu, include_private=True, token=write)
        resources["hf_publish"] = HfPublishResource(
            repo_id="hf-org/snap", token=write, endpoint=emu.base_url
        )
        depth = [hf_croissant_fields, hf_croissant_files, croissant_validation]
        result = materialize(
            [*FETCHING, hf_dataset_changes, *depth, hf_hub_export],
            partition_key=DAY,
            resources=resources,
        )
        assert result.success
        store = LakeStore(str(lake_dir))
        lake_ids = set(
            store.read_table("hf_datasets", DAY, columns=["dataset"])["dataset"].to_pylist()
        )
        assert private <= lake_ids
        api = HfApi(endpoint=emu.base_url, token=write)
        lake_fields = set(
            store.read_table("hf_croissant_fields", DAY, columns=["dataset"])["dataset"].to_pylist()
        )
        published = {}
        for table in PUBLISHED_TABLES:
            path = api.hf_hub_download(
                "hf-org/snap", f"data/{table}/date={DAY}/part-0.parquet", repo_type="dataset"
            )
            published[table] = pq.read_table(path).to_pylist()
        card = Path(
            api.hf_hub_download("hf-org/snap", "README.md", repo_type="dataset")
        ).read_text()
    for table in ("hf_datasets", "hf_croissant"):
        rows = published[table]
        assert not {r["dataset"] for r in rows} & private, table
        assert len(rows) == len(lake_ids) - len(private)
    gated = {r["dataset"] for r in published["hf_datasets"] if r["gated"] not in (None, "false")}
    assert gated
    # The tables exploded from the documents hold the documents' content: the lake has rows of
    # gated (token-granted) datasets, the published copies have none, nor private ones.
    assert lake_fields & gated
    assert set(DOCUMENT_DERIVED_TABLES) == {
        "hf_croissant_fields",
        "hf_croissant_files",
        "croissant_validation",
    }
    for table, rows in published.items():
        assert not {r["dataset"] for r in rows} & private, table
        if table in DOCUMENT_DERIVED_TABLES:
            assert not {r["dataset"] for r in rows} & gated, table
    assert published["hf_croissant_fields"]  # the public datasets' fields are published
    for row in published["hf_croissant"]:
        if row["dataset"] in gated:
            assert row["croissant"] is None and row["name"] is None
    assert "rows of private datasets are never published" in card
    assert "without the Croissant document" in card


def test_hostile_bootstrap_files_are_refused():
    def table(**columns):
        n = len(columns["dataset"])
        data = {name: [None] * n for name in CROISSANT_RECORDS.names} | columns
        return pa.Table.from_pydict(data, schema=CROISSANT_RECORDS)

    good = table(dataset=["org/a"], status=[200], request_time=["2026-11-19T10:00:00.000Z"])
    validate_rows(good, "file")
    for bad, message in (
        (table(dataset=["org/../b"]), "repo id grammar|'..'"),
        (table(dataset=["org/a"], status=[999]), "not an HTTP status"),
        (table(dataset=["org/a"], request_time=["9999-01-01T00:00:00Z"]), "in the future"),
        (table(dataset=["org/a"], request_time=["yesterday"]), "not a time"),
    ):
        with pytest.raises(BootstrapError, match=message):
            validate_rows(bad, "file")
    paths = ["data/hf_croissant/date=2026-02-31/part-0.parquet",
             "data/hf_croissant/date=2026-02-27/part-0.parquet"]  # fmt: skip
    assert list(day_files(paths, "hf_croissant")) == ["2026-02-27"]
    assert SCHEMA_VERSION and SCHEMA_VERSION_KEY and io  # (schema helpers used above)


def _backfill(tmp_path: Path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "DAGSTER_"))}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env |= {
        "HF_CROISSANT_LAKE": str(tmp_path / "lake"),
        "HF_CROISSANT_DUCKDB": str(tmp_path / "db.duckdb"),
        "DAGSTER_HOME": str(home),
        "HF_ENDPOINT": "http://127.0.0.1:9",
        # The range starts before the (empty) lake's first day: the partitions must cover it.
        "HF_CROISSANT_START_DATE": "2026-01-01",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "hf_croissant_assets.cli", "backfill", *args],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_backfill_has_a_maximum_range_and_stops_cleanly_on_sigterm(tmp_path):
    proc = _backfill(tmp_path, "--from", "2026-01-01", "--to", "9999-12-31")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "at most 366" in err and "HF_CROISSANT_BACKFILL_MAX_DAYS" in err

    proc = _backfill(tmp_path, "--from", "2026-01-01", "--to", "2026-03-01")
    assert proc.stderr is not None
    # wait for the first day's outcome (no raw data: "NOT produced"), then SIGTERM
    deadline = time.monotonic() + 180
    line = ""
    while "NOT produced" not in line and time.monotonic() < deadline:
        line = proc.stderr.readline()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["stopped_by"] == "SIGTERM"
    done = len(summary["produced"]) + len(summary["not_produced"])
    assert 1 <= done < 60 and len(summary["not_started"]) == 60 - done
