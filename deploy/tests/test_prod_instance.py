"""The Dagster instance: production (deploy/dagster.prod.yaml: PostgreSQL, the queued run
coordinator, the ECS run launcher, S3 step logs) and local (the default SQLite one)."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import tomllib
from typing import Any

import yaml
from deploy_support import PROD_YAML, ROOT


def _rehydrate(section: dict[str, Any]) -> Any:
    from dagster._serdes.config_class import ConfigurableClassData

    return ConfigurableClassData(
        section["module"], section["class"], yaml.safe_dump(section.get("config", {}))
    ).rehydrate()


def test_production_instance_config_resolves_postgres_and_ecs_from_the_environment(
    prod_home, app_hub_pools
):
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_aws.ecs import EcsRunLauncher
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
    from dagster_postgres.utils import pg_config, pg_url_from_config
    from moto import mock_aws

    config, custom_class = dagster_instance_config(str(prod_home))
    assert custom_class is None

    # Storage: PostgreSQL, every connection setting from the environment (no live server needed).
    assert set(config["storage"]) == {"postgres"}
    resolved = process_config(pg_config(), config["storage"]["postgres"])
    assert resolved.success, resolved.errors
    assert pg_url_from_config(resolved.value) == (
        "postgresql://dagster:s3cr3t-pw@db.internal.example:5432/dagster"
    )
    assert "s3cr3t-pw" not in PROD_YAML.read_text()

    # Run queue: at most one run with the hf_croissant/hub tag (whatever its value) at a time.
    coordinator = _rehydrate(config["run_coordinator"])
    assert isinstance(coordinator, QueuedRunCoordinator)
    # The Hub's assets share one pool with one slot: two crawls never share the rate limit.
    concurrency = dagster_instance_config(str(prod_home))[0]["concurrency"]
    assert concurrency["pools"] == {"default_limit": 1, "granularity": "op"}
    assert app_hub_pools == {"hf_hub"}

    # Run launcher: the EcsRunLauncher, built for real against an ECS API stand-in (moto).
    assert config["run_launcher"]["class"] == "EcsRunLauncher"
    with mock_aws():
        import boto3

        ecs = boto3.client("ecs", region_name="eu-west-1")
        ecs.create_cluster(clusterName="hf-cluster")
        arn = ecs.register_task_definition(
            family="HfCroissant-run",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="1024",
            memory="4096",
            containerDefinitions=[
                {"name": "run", "image": "hf-croissant-assets:1", "essential": True}
            ],
        )["taskDefinition"]["taskDefinitionArn"]
        os.environ["DAGSTER_RUN_TASK_DEFINITION"] = "HfCroissant-run"  # family -> latest ARN
        try:
            launcher = _rehydrate(config["run_launcher"])
            compute_logs = _rehydrate(config["compute_logs"])
        finally:
            del os.environ["DAGSTER_RUN_TASK_DEFINITION"]
    assert isinstance(launcher, EcsRunLauncher)
    assert launcher.task_definition == arn
    assert launcher.container_name == "run"
    assert launcher.run_task_kwargs == {"cluster": "hf-cluster"}
    assert launcher.secrets_tags == []  # no secretsmanager:ListSecrets needed to launch
    assert launcher.include_sidecars is False
    assert launcher.use_current_ecs_task_config is True
    assert isinstance(compute_logs, S3ComputeLogManager)
    assert (compute_logs._s3_bucket, compute_logs._s3_prefix) == (
        "hf-ops-bucket",
        "dagster-compute-logs",
    )
    assert config["run_monitoring"]["enabled"] is True


def test_production_instance_config_names_a_missing_variable(prod_home, monkeypatch):
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster_postgres.utils import pg_config

    monkeypatch.delenv("DAGSTER_PG_PASSWORD")
    config, _ = dagster_instance_config(str(prod_home))
    resolved = process_config(pg_config(), config["storage"]["postgres"])
    assert not resolved.success
    assert "DAGSTER_PG_PASSWORD" in str(resolved.errors)


def test_local_instance_is_the_default_sqlite_one(tmp_path, monkeypatch, prod_env):
    from dagster import DagsterInstance
    from dagster._core.instance.config import dagster_instance_config
    from dagster._core.launcher import DefaultRunLauncher
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster._core.storage.runs import SqliteRunStorage

    config, _ = dagster_instance_config(str(ROOT))
    assert set(config["storage"]) == {"sqlite"}
    assert "run_launcher" not in config
    # step logs stay local too, under ./data (not ./storage in the checkout)
    assert config["compute_logs"]["class"] == "LocalComputeLogManager"
    assert config["compute_logs"]["config"]["base_dir"].startswith("data/")

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.chdir(home)  # the local config's paths are relative to the working directory
    for name in prod_env:  # nothing of the production environment is needed locally
        monkeypatch.delenv(name, raising=False)
    instance = DagsterInstance.from_config(str(home))
    try:
        assert isinstance(instance.run_launcher, DefaultRunLauncher)
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert isinstance(instance.run_storage, SqliteRunStorage)
        assert (home / "data" / "dagster" / "storage").is_dir()
    finally:
        instance.dispose()


def test_deploy_extra_is_version_matched_to_dagster():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {
        re.split(r"[=<>!; ]", req)[0].lower(): req
        for req in project["dependencies"] + project["optional-dependencies"]["deploy"]
    }
    dagster = pins["dagster"].split("==")[1]
    integrations = "0." + str(int(dagster.split(".")[1]) + 16) + "." + dagster.split(".")[2]
    assert pins["dagster-postgres"] == f"dagster-postgres=={integrations}"
    assert pins["dagster-aws"] == f"dagster-aws=={integrations}"
    assert importlib.metadata.version("dagster-postgres") == integrations
    dev = " ".join(project["optional-dependencies"]["dev"])
    assert "dagster-postgres" in dev and "aws-cdk-lib" in dev
