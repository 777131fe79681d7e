"""The CDK app synthesized in-process and offline (no AWS credentials, no Docker, no CDK CLI):
resources, least-privilege IAM, secrets, networking, the containers' environment, logical ids."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
import yaml
from deploy_support import PROD_YAML, Synth, env_of, listify, secrets_of

pytestmark = pytest.mark.node


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


#: Logical ids of the resources that a new id would replace (data, credentials, network) or
#: that fail when created again (security group rules duplicate the old ones). The stack is
#: grouped into components; these ids are those of the resources as direct children of it.
STABLE_IDS = {
    "AWS::S3::Bucket": {"LakeBucket9CD7BBD2", "OpsBucket69467A00"},
    "AWS::RDS::DBInstance": {"DatabaseB269D8BB"},
    "AWS::RDS::DBSubnetGroup": {"DatabaseSubnetGroup7D60F180"},
    "AWS::SecretsManager::Secret": {
        "HfCroissantDatabaseSecret821B6D003fdaad7efa858a3daf9490cf0a702aeb",
        "HfTokenSecret8AB31BFA",
    },
    "AWS::SecretsManager::SecretTargetAttachment": {"DatabaseSecretAttachmentE5D1B020"},
    "AWS::Glue::Database": {"GlueDatabase"},
    "AWS::Athena::WorkGroup": {"AthenaWorkGroup"},
    "AWS::Logs::LogGroup": {"WebserverLogs19366768", "DaemonLogs0CBB6255", "RunLogs49351A3E"},
    "AWS::EC2::VPC": {"Vpc8378EB38"},
    "AWS::EC2::SecurityGroup": {
        "WebserverSecurityGroupCFEE3969",
        "WorkerSecurityGroup5529CF0B",
        "DatabaseSecurityGroup7319C0F6",
    },
    "AWS::EC2::SecurityGroupIngress": {
        "DatabaseSecurityGroupfromHfCroissantWebserverSecurityGroup8C5D1F8054323B3B9B86",
        "DatabaseSecurityGroupfromHfCroissantWorkerSecurityGroupDD2DB3F25432D2DDCB4E",
    },
    "AWS::ECS::Cluster": {"ClusterEB0386A7"},
    "AWS::ECS::Service": {"WebserverService98B70504", "DaemonServiceFEA907A4"},
}
#: ... and those the public webserver adds.
STABLE_PUBLIC_IDS = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": {"LoadBalancerBE9EEC3A"},
    "AWS::EC2::SecurityGroup": {"LoadBalancerSecurityGroup3036A0FC"},
    "AWS::EC2::SecurityGroupIngress": {
        "WebserverSecurityGroupfromHfCroissantLoadBalancerSecurityGroup914C54CE30009523F82D"
    },
    "AWS::EC2::SecurityGroupEgress": {
        "LoadBalancerSecurityGrouptoHfCroissantWebserverSecurityGroup8C5D1F8030001596B050"
    },
}


def test_grouping_into_components_keeps_the_logical_ids(synth: Synth, public_synth: Synth):
    for kind, ids in STABLE_IDS.items():
        assert set(synth.of_type(kind)) == ids, kind
    for kind, ids in STABLE_PUBLIC_IDS.items():
        assert ids <= set(public_synth.of_type(kind)), kind
    # Name tags read the stack-level path, as the logical ids do.
    names = {
        tag["Value"]
        for r in synth.of_type("AWS::EC2::Subnet").values()
        for tag in r["Properties"]["Tags"]
        if tag["Key"] == "Name"
    }
    assert "HfCroissant/Vpc/publicSubnet1" in names and all("/Vpc/" in n for n in names)


def test_the_logical_id_algorithm_is_the_cdks(synth: Synth):
    """`logical_ids.make_unique_id` against the CDK's own `Names.uniqueId`, on every construct
    of both stacks."""
    import aws_cdk as cdk
    from hf_croissant_cdk.logical_ids import make_unique_id

    checked = 0
    for stack in (synth.stack, synth.image_stack):
        for construct in stack.node.find_all():
            path = [scope.node.id for scope in construct.node.scopes[1:]]
            assert make_unique_id(path) == cdk.Names.unique_id(construct), construct.node.path
            checked += 1
    assert checked > 100


def test_lake_bucket_blocks_public_access_and_is_encrypted(synth: Synth):
    lake_id = synth.logical_id(synth.stack.storage.lake_bucket)
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
    ops_id = synth.logical_id(synth.stack.storage.ops_bucket)
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


def test_no_policy_allows_wildcard_actions_on_every_resource(synth: Synth, public_synth: Synth):
    for result in (synth, public_synth):
        statements = result.allow_statements()
        assert statements
        for logical_id, statement in statements:
            actions = listify(statement["Action"])
            if "*" in listify(statement["Resource"]):
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
    lake_id = synth.logical_id(synth.stack.storage.lake_bucket)
    ops_id = synth.logical_id(synth.stack.storage.ops_bucket)
    roles = synth.task_role_ids()
    assert set(roles) == {"HfCroissant-run", "HfCroissant-daemon", "HfCroissant-webserver"}
    assert len(set(roles.values())) == 3, "each task has a role of its own"

    seen_services: dict[str, set[str]] = {family: set() for family in roles}
    for family, role_id in roles.items():
        statements = synth.statements_of_role(role_id)
        assert statements, family
        for statement in statements:
            assert statement.get("Effect", "Allow") == "Allow"
            actions = listify(statement["Action"])
            resources = listify(statement["Resource"])
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
    cluster_id = synth.logical_id(synth.stack.services.cluster)
    run_role_id = synth.logical_id(synth.stack.services.run_task_role)
    statements = synth.statements_of_role(synth.task_role_ids()["HfCroissant-daemon"])
    by_action = {a: s for s in statements for a in listify(s["Action"])}

    run_task = by_action["ecs:RunTask"]
    assert run_task["Resource"]["Fn::Join"][1][-1] == ":task-definition/HfCroissant-run:*"
    assert run_task["Condition"] == {
        "ArnEquals": {"ecs:cluster": {"Fn::GetAtt": [cluster_id, "Arn"]}}
    }
    pass_role = by_action["iam:PassRole"]
    passed = [r["Fn::GetAtt"][0] for r in listify(pass_role["Resource"])]
    assert run_role_id in passed and len(passed) == 2  # the run task role + its execution role
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    stop = by_action["ecs:StopTask"]
    assert stop["Condition"]["ArnEquals"]["ecs:cluster"] == {"Fn::GetAtt": [cluster_id, "Arn"]}


def test_hf_token_is_injected_from_secrets_manager_into_run_tasks_only(synth: Synth):
    secret_id = synth.logical_id(synth.stack.hub_token.secret)
    assert synth.resources[secret_id]["Type"] == "AWS::SecretsManager::Secret"
    run = synth.container("-run")
    assert secrets_of(run)["HF_TOKEN"] == {"Fn::Join": ["", [{"Ref": secret_id}, ":HF_TOKEN::"]]}
    for family in ("-run", "-daemon", "-webserver"):
        container = synth.container(family)
        env = env_of(container)
        assert "HF_TOKEN" not in env, family
        assert not re.search(r"hf_[A-Za-z0-9]{20,}", json.dumps(env)), family  # token-shaped
        # The database password is a secret everywhere, never plain environment.
        assert "DAGSTER_PG_PASSWORD" in secrets_of(container) and "DAGSTER_PG_PASSWORD" not in env
    for family in ("-daemon", "-webserver"):
        assert "HF_TOKEN" not in secrets_of(synth.container(family)), family
    # Only the run task's execution role may read the token.
    readers = [
        logical_id
        for logical_id, s in synth.allow_statements()
        if "secretsmanager:GetSecretValue" in listify(s["Action"])
        and {"Ref": secret_id} in listify(s["Resource"])
    ]
    run_exec_role = synth.task_definitions()["HfCroissant-run"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    assert len(readers) == 1
    assert synth.resources[readers[0]]["Properties"]["Roles"] == [{"Ref": run_exec_role}]


def test_webserver_is_not_internet_facing_by_default(synth: Synth):
    assert not synth.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")
    for service in synth.of_type("AWS::ECS::Service").values():
        network = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"
    webserver_sg = synth.logical_id(synth.stack.network.webserver_sg)
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
            "TaskDefinition": {
                "Ref": synth.logical_id(synth.stack.services.webserver_task_definition)
            },
        },
    )
    assert "WebserverUrl" not in synth.json["Outputs"]


def test_public_webserver_is_https_only_and_admits_only_the_allowed_networks(
    public_synth: Synth,
):
    balancers = public_synth.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert [b["Properties"]["Scheme"] for b in balancers.values()] == ["internet-facing"]
    public_synth.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"HealthCheckPath": "/server_info", "Port": 3000},
    )
    listeners = [
        r["Properties"]
        for r in public_synth.of_type("AWS::ElasticLoadBalancingV2::Listener").values()
    ]
    assert [(li["Port"], li["Protocol"]) for li in listeners] == [(443, "HTTPS")]
    (certificate,) = listeners[0]["Certificates"]
    assert certificate["CertificateArn"].startswith("arn:aws:acm:")
    (alb_sg,) = [
        r["Properties"]
        for r in public_synth.of_type("AWS::EC2::SecurityGroup").values()
        if r["Properties"]["GroupDescription"] == "Dagster UI load balancer"
    ]
    rules = alb_sg["SecurityGroupIngress"]
    assert sorted(rule.get("CidrIp") or rule.get("CidrIpv6") for rule in rules) == [
        "2001:db8::/48",
        "203.0.113.7/32",
    ]
    assert {(rule["FromPort"], rule["ToPort"]) for rule in rules} == {(443, 443)}
    url = public_synth.json["Outputs"]["WebserverUrl"]["Value"]
    assert url["Fn::Join"][1][0] == "https://"


def test_context_values_flow_into_the_container_environment(custom_synth: Synth):
    s = custom_synth
    lake_id = s.logical_id(s.stack.storage.lake_bucket)
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
        env = env_of(container)
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
        provided = set(env_of(container)) | set(secrets_of(container))
        assert needed <= provided, (family, needed - provided)
    # The launcher overrides the container the run task definition has.
    launcher = yaml.safe_load(PROD_YAML.read_text())["run_launcher"]["config"]
    assert synth.container("-run")["Name"] == launcher["container_name"]
    # The daemon points the launcher at the run task definition of this deployment.
    run_td = synth.logical_id(synth.stack.services.run_task_definition)
    assert env_of(synth.container("-daemon"))["DAGSTER_RUN_TASK_DEFINITION"] == {"Ref": run_td}


def test_every_app_setting_the_stack_sets_is_a_real_setting(synth: Synth, app_setting_names):
    for family in ("-run", "-daemon", "-webserver"):
        for name in env_of(synth.container(family)):
            if name.startswith("HF_"):
                assert name in app_setting_names, f"{family}: {name} is not read by the app"


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


def test_the_app_loads_its_definitions_with_the_deployed_environment(
    custom_synth: Synth, app_definitions
):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "DAGSTER_", "AWS_"))}
    env |= {k: _placeholder(v) for k, v in env_of(custom_synth.container("-run")).items()}
    loaded = app_definitions(env)
    assert loaded["schedule_cron"] == "0 5 * * *"  # schedule_hour=5
    # AWS mode: Athena replaces the DuckDB views.
    assert "athena_tables" in loaded["asset_keys"] and "duckdb_tables" not in loaded["asset_keys"]
    assert loaded["lake_uri"].startswith("s3://") and loaded["lake_uri"].endswith("/snapshots/hf")


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
    network = synth.stack.network
    db_sg = synth.logical_id(network.db_sg)
    sources = sorted(
        r["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0]
        for r in synth.of_type("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [db_sg, "GroupId"]}
    )
    assert sources == sorted(
        [synth.logical_id(network.webserver_sg), synth.logical_id(network.worker_sg)]
    )
    assert not synth.resources[db_sg]["Properties"].get("SecurityGroupIngress")


def test_log_groups_have_a_retention(synth: Synth):
    groups = synth.of_type("AWS::Logs::LogGroup")
    assert len(groups) == 3
    assert all(g["Properties"]["RetentionInDays"] == 30 for g in groups.values())
    for family in ("-run", "-daemon", "-webserver"):
        assert synth.container(family)["LogConfiguration"]["LogDriver"] == "awslogs"


def test_one_daemon_at_a_time(synth: Synth):
    daemon_td = synth.logical_id(synth.stack.services.daemon_task_definition)
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
