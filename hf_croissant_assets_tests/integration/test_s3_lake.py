"""AWS mode: the same graph on an S3 lake (moto's server on loopback) with Athena tables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pyarrow as pa
import pytest
import requests
from dagster import materialize

from hf_croissant_assets.defs.resources import AthenaResource
from hf_croissant_assets.lake.store import LakeConfigError, LakeStore
from hf_croissant_assets.schema import HF_DATASETS, TABLES
from hf_croissant_assets_tests.support import (
    athena_tables,
    croissant_records,
    hf_croissant,
    hf_dataset_changes,
    hf_dataset_listing,
    hf_datasets,
    make_resources,
)

pytestmark = pytest.mark.slow

DATE = "2026-11-20"
NOW = f"{DATE}T10:00:00+00:00"
ASSETS = [
    hf_dataset_listing,
    hf_datasets,
    croissant_records,
    hf_croissant,
    hf_dataset_changes,
    athena_tables,
]


def _keys(bucket: str, endpoint: str, prefix: str = "") -> list[str]:
    s3 = boto3.client("s3", endpoint_url=endpoint)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def _queue_athena_counts(endpoint: str, *counts: int, ddl: int = 0) -> None:
    """moto runs no SQL: queue the results of the next query executions, in order (`ddl`
    statements first, whose results are empty)."""
    empty = {"rows": [], "column_info": []}
    results = [empty] * ddl + [
        {
            "rows": [{"Data": [{"VarCharValue": "_col0"}]}, {"Data": [{"VarCharValue": str(n)}]}],
            "column_info": [{"Name": "_col0", "Type": "bigint"}],
        }
        for n in counts
    ]
    response = requests.post(
        f"{endpoint}/moto-api/static/athena/query-results",
        json={"region": "us-east-1", "results": results},
        timeout=5,
    )
    assert response.status_code == 201


def _athena_statements(endpoint: str) -> list[str]:
    athena = boto3.client("athena", endpoint_url=endpoint)
    ids = athena.list_query_executions()["QueryExecutionIds"]
    return [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids]


def _run(emulator, lake_uri, endpoint, bucket, database="hf_test"):
    resources = make_resources(emulator.base_url, lake_uri, now=NOW)
    resources["athena"] = AthenaResource(
        database=database,
        output_location=f"s3://{bucket}/athena-results/",
        region="us-east-1",
        poll_interval_s=0.01,
        timeout_s=10,
    )
    return materialize(ASSETS, partition_key=DATE, resources=resources, raise_on_error=False)


def test_full_graph_on_s3_with_athena(emulator, s3_bucket, aws_env):
    lake = f"s3://{s3_bucket}/lake"
    listed = len(emulator.dataset_ids())
    # DDL: the database and one table per registry table; then a count per table (moto runs no
    # SQL: the queued values are what it answers; no event on the lake's first day).
    counts = [0 if table == "hf_dataset_changes" else listed for table in TABLES]
    _queue_athena_counts(aws_env, *counts, ddl=1 + len(TABLES))
    result = _run(emulator, lake, aws_env, s3_bucket)
    assert result.success

    keys = list(_keys(s3_bucket, aws_env, "lake/"))
    for expected in (
        f"lake/_raw/listing/date={DATE}/part-0.parquet",
        f"lake/_raw/croissant_records/date={DATE}/part-0.parquet",
        f"lake/hf_datasets/date={DATE}/part-0.parquet",
        f"lake/hf_croissant/date={DATE}/part-0.parquet",
        "lake/_warehouse/athena.json",
    ):
        assert expected in keys
    # staging cleaned up (pyarrow leaves empty "folder/" markers behind when it deletes; they are
    # outside the table locations, so Athena never sees them)
    assert not [k for k in keys if k.startswith("lake/_staging/") and not k.endswith("/")], keys
    assert not [k for k in keys if k.endswith("/") and not k.startswith("lake/_staging/")], keys

    store = LakeStore(lake)
    for table in ("hf_datasets", "hf_croissant"):
        assert store.num_rows(table, DATE) == listed
    statements = _athena_statements(aws_env)
    creates = [s for s in statements if s.startswith("CREATE EXTERNAL TABLE")]
    assert len(creates) == len(TABLES)
    assert all("'projection.enabled'='true'" in s for s in creates)
    assert any(s.startswith("CREATE DATABASE IF NOT EXISTS `hf_test`") for s in statements)
    assert not any("MSCK" in s.upper() for s in statements)
    checks = {
        (c.asset_key.to_user_string(), c.check_name): c.passed
        for c in result.get_asset_check_evaluations()
    }
    assert checks and all(checks.values())

    # re-materializing the day leaves exactly one copy, and the DDL is not sent again
    _queue_athena_counts(aws_env, *counts)
    assert _run(emulator, lake, aws_env, s3_bucket).success
    assert _keys(s3_bucket, aws_env, "lake/") == keys
    again = _athena_statements(aws_env)
    assert len([s for s in again if s.startswith("CREATE EXTERNAL TABLE")]) == len(TABLES)


KILL_WRITER = textwrap.dedent(
    """
    import sys, time
    import pyarrow as pa
    from hf_croissant_assets.lake.store import LakeStore
    from hf_croissant_assets.schema import HF_DATASETS
    store = LakeStore(sys.argv[1])
    with store.writer("hf_datasets", sys.argv[2]) as w:
        for i in range(10_000):
            rows = [{"dataset": f"new/{i}-{j}", "description": "x" * 2000} for j in range(500)]
            w.write(pa.Table.from_pylist(rows, schema=HF_DATASETS))
            print("batch", i, flush=True)
            time.sleep(0.05)
    """
)


def test_kill_during_the_write_leaves_the_previous_day_readable(s3_bucket, aws_env):
    lake = f"s3://{s3_bucket}/lake"
    store = LakeStore(lake)
    old = pa.Table.from_pylist([{"dataset": f"old/{i}"} for i in range(1000)], schema=HF_DATASETS)
    store.write_table("hf_datasets", DATE, old)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_WRITER, lake, DATE], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        for line in proc.stdout:
            if line.startswith("batch 8"):
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    # the old partition is intact and the only object under the day's key
    assert _keys(s3_bucket, aws_env, f"lake/hf_datasets/date={DATE}/") == [
        f"lake/hf_datasets/date={DATE}/part-0.parquet"
    ]
    # (the file is sorted by dataset, so compare as sorted lists)
    assert store.read_table("hf_datasets", DATE).column("dataset").to_pylist() == sorted(
        old.column("dataset").to_pylist()
    )


def test_missing_bucket_fails_at_start(aws_env):
    with pytest.raises(LakeConfigError, match="bucket 'no-such-bucket' does not exist"):
        LakeStore("s3://no-such-bucket/lake").check()


def test_no_credentials_fails_at_start(aws_env, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(LakeConfigError, match="no AWS credentials found"):
        LakeStore("s3://any-bucket/lake").check()


class _DenyAll(BaseHTTPRequestHandler):
    """An S3 endpoint that answers every request AccessDenied, like a bucket we may not use."""

    def _deny(self):
        body = b"<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _deny

    def log_message(self, *args):
        pass


def test_access_denied_fails_at_start(aws_env, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DenyAll)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{server.server_port}")
        with pytest.raises(LakeConfigError, match="ACCESS_DENIED"):
            LakeStore("s3://forbidden-bucket/lake").check()
    finally:
        server.shutdown()


def test_missing_bucket_fails_the_run_before_any_hub_request(emulator, aws_env):
    result = materialize(
        [hf_dataset_listing],
        partition_key=DATE,
        resources=make_resources(emulator.base_url, "s3://no-such-bucket-x/lake", now=NOW),
        raise_on_error=False,
    )
    assert not result.success
    assert emulator.stats["requests"] == 0  # failed at resource set-up, before the Hub


def test_athena_mode_requires_an_s3_lake():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "AWS_"))}
    env |= {"HF_CROISSANT_ATHENA_DATABASE": "hf", "HF_CROISSANT_LAKE": "./data/lake"}
    proc = subprocess.run(
        [sys.executable, "-c", "import hf_croissant_assets.definitions as d; d.defs()"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "HF_CROISSANT_LAKE must be an s3://bucket/prefix lake" in proc.stderr
