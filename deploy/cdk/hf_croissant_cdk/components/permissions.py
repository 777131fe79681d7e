"""The task roles' IAM policies, least privilege: the run role reaches the lake prefix, the ops
bucket, the workgroup and the Glue database; the daemon may start/stop run tasks in this cluster
and pass the run roles; the webserver may stop run tasks and read step logs."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from hf_croissant_cdk.components.catalog import Catalog
from hf_croissant_cdk.components.services import DagsterServices
from hf_croissant_cdk.components.storage import (
    ATHENA_RESULTS_PREFIX,
    COMPUTE_LOGS_PREFIX,
    Storage,
)
from hf_croissant_cdk.config import DeployConfig
from hf_croissant_cdk.logical_ids import Component


class Permissions(Component):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        storage: Storage,
        catalog: Catalog,
        services: DagsterServices,
    ) -> None:
        super().__init__(scope, construct_id)
        self._grant_run_data_access(config, storage, catalog, services)
        self._grant_run_control(storage, services)

    def _grant_run_data_access(
        self,
        cfg: DeployConfig,
        storage: Storage,
        catalog: Catalog,
        services: DagsterServices,
    ) -> None:
        """Run tasks: the lake prefix, the ops bucket, the workgroup, the Glue database."""
        stack = cdk.Stack.of(self)
        lake, ops = storage.lake_bucket, storage.ops_bucket
        glue_catalog = stack.format_arn(service="glue", resource="catalog")
        glue_database = stack.format_arn(
            service="glue", resource="database", resource_name=cfg.glue_database
        )
        glue_tables = stack.format_arn(
            service="glue", resource="table", resource_name=f"{cfg.glue_database}/*"
        )
        statements = [
            iam.PolicyStatement(
                sid="LakeObjects",
                actions=[
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                resources=[lake.arn_for_objects(f"{cfg.lake_prefix}/*")],
            ),
            # Listing is on the bucket resource; the bucket holds nothing but the lake. HeadBucket
            # (pyarrow's existence check at start) carries no prefix, so no s3:prefix condition.
            iam.PolicyStatement(
                sid="LakeBucket",
                actions=["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                resources=[lake.bucket_arn],
            ),
            # Athena writes query results with the caller's permissions; Dagster writes step logs.
            iam.PolicyStatement(
                sid="OpsObjects",
                actions=[
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                resources=[
                    ops.arn_for_objects(f"{ATHENA_RESULTS_PREFIX}/*"),
                    ops.arn_for_objects(f"{COMPUTE_LOGS_PREFIX}/*"),
                ],
            ),
            iam.PolicyStatement(
                sid="OpsBucket",
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[ops.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="AthenaWorkGroup",
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:StopQueryExecution",
                    "athena:GetWorkGroup",
                ],
                resources=[catalog.workgroup_arn],
            ),
            iam.PolicyStatement(
                sid="GlueDatabase",
                actions=[
                    "glue:GetDatabase",
                    "glue:CreateDatabase",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:CreateTable",
                    "glue:UpdateTable",
                    "glue:DeleteTable",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                    "glue:CreatePartition",
                    "glue:BatchCreatePartition",
                    "glue:BatchDeletePartition",
                ],
                resources=[glue_catalog, glue_database, glue_tables],
            ),
        ]
        iam.Policy(
            self,
            "RunDataAccessPolicy",
            statements=statements,
            roles=[services.run_task_role],
        )

    def _grant_run_control(self, storage: Storage, services: DagsterServices) -> None:
        """The daemon launches, watches and stops run tasks; the webserver may stop them."""
        stack = cdk.Stack.of(self)
        cluster_arn = services.cluster.cluster_arn
        cluster_tasks = stack.format_arn(
            service="ecs", resource="task", resource_name=f"{services.cluster.cluster_name}/*"
        )
        in_cluster = {"ArnEquals": {"ecs:cluster": cluster_arn}}
        run_family = stack.format_arn(
            service="ecs",
            resource="task-definition",
            resource_name=f"{services.run_task_definition.family}:*",
        )
        observe_and_stop = [
            iam.PolicyStatement(
                sid="RunTasks",
                actions=["ecs:DescribeTasks", "ecs:StopTask"],
                resources=[cluster_tasks],
                conditions=in_cluster,
            ),
            # DescribeTaskDefinition has no resource-level permissions in IAM.
            iam.PolicyStatement(
                sid="DescribeTaskDefinitions",
                actions=["ecs:DescribeTaskDefinition"],
                resources=["*"],
            ),
        ]
        iam.Policy(
            self,
            "WebserverRunControlPolicy",
            statements=observe_and_stop,
            roles=[services.webserver_task_role],
        )
        passed_roles = [services.run_task_role.role_arn]
        execution_role = services.run_task_definition.execution_role
        if execution_role is not None:
            passed_roles.append(execution_role.role_arn)
        iam.Policy(
            self,
            "DaemonRunControlPolicy",
            statements=[
                *observe_and_stop,
                iam.PolicyStatement(
                    sid="LaunchRuns",
                    actions=["ecs:RunTask"],
                    resources=[run_family],
                    conditions=in_cluster,
                ),
                iam.PolicyStatement(
                    sid="TagRunTasks",
                    actions=["ecs:TagResource"],
                    resources=[cluster_tasks],
                    conditions={"StringEquals": {"ecs:CreateAction": "RunTask"}},
                ),
                iam.PolicyStatement(
                    sid="PassRunRoles",
                    actions=["iam:PassRole"],
                    resources=passed_roles,
                    conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                ),
                # The launcher copies the daemon's own subnets and security groups to run tasks.
                iam.PolicyStatement(
                    sid="ReadOwnNetworkInterfaces",
                    actions=["ec2:DescribeNetworkInterfaces"],
                    resources=["*"],
                ),
            ],
            roles=[services.daemon_task_role],
        )
        # Failure messages of a run task quote its last log lines.
        services.log_groups["run"].grant(
            services.daemon_task_role, "logs:GetLogEvents", "logs:DescribeLogStreams"
        )
        # The UI shows step stdout/stderr from the ops bucket.
        iam.Policy(
            self,
            "WebserverComputeLogsPolicy",
            statements=[
                iam.PolicyStatement(
                    sid="ComputeLogObjects",
                    actions=["s3:GetObject"],
                    resources=[storage.ops_bucket.arn_for_objects(f"{COMPUTE_LOGS_PREFIX}/*")],
                ),
                iam.PolicyStatement(
                    sid="ComputeLogBucket",
                    actions=["s3:ListBucket"],
                    resources=[storage.ops_bucket.bucket_arn],
                ),
            ],
            roles=[services.webserver_task_role],
        )
