"""Shared fixtures: a real Hub emulator on loopback, a fresh lake, resources pointing at them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets_tests.hub_emulator import HubEmulator, running_emulator


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
