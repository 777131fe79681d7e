"""Shared fixtures: a real Hub emulator on loopback, a fresh lake, resources pointing at them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hf_croissant_assets.hub.client import RetryPolicy
from hf_croissant_assets.lake.io_manager import LakeIOManager
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.resources import CrawlSettings, DuckDBResource, HubResource, LakeResource
from hf_croissant_assets_tests.hub_emulator import HubEmulator, running_emulator

#: Retries as in production but with millisecond backoff, so fault tests run fast.
FAST_RETRY = RetryPolicy(max_retries=4, backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=5.0)


@pytest.fixture
def emulator() -> Iterator[HubEmulator]:
    with running_emulator(datasets=2500, seed=7) as emu:
        yield emu


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def store(lake_dir: Path) -> LakeStore:
    return LakeStore(str(lake_dir))


def make_resources(
    endpoint: str,
    lake_dir: Path | str,
    *,
    now: str,
    token: str | None = None,
    max_requests: int | None = None,
    batch_size: int = 200,
) -> dict[str, object]:
    """The definitions' resources, pointed at the emulator and a test lake, clock pinned."""
    return {
        "hub": HubResource(
            endpoint=endpoint,
            token=token,
            concurrency=8,
            max_retries=FAST_RETRY.max_retries,
            backoff_base_s=FAST_RETRY.backoff_base_s,
            backoff_max_s=FAST_RETRY.backoff_max_s,
            timeout_s=FAST_RETRY.timeout_s,
            pinned_now=now,
        ),
        "lake": LakeResource(uri=str(lake_dir)),
        "lake_io_manager": LakeIOManager(uri=str(lake_dir)),
        "duckdb": DuckDBResource(
            path=":memory:"
            if str(lake_dir).startswith("s3://")
            else str(Path(lake_dir).parent / "test.duckdb")
        ),
        "crawl": CrawlSettings(
            max_requests=max_requests, max_duration_s=600, batch_size=batch_size
        ),
    }


# -- S3: a real S3 endpoint on loopback (moto's server mode) ----------------------------------


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(moto_endpoint, monkeypatch) -> str:
    """Fake credentials and the SDK endpoint variables pointing at moto; never real AWS."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_endpoint


@pytest.fixture
def s3_bucket(aws_env) -> str:
    import uuid

    import boto3

    bucket = f"lake-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=aws_env).create_bucket(Bucket=bucket)
    return bucket
