"""The AWS deployment of hf_croissant_assets, as two CDK stacks.

`ImageRepositoryStack` (`<stack_name>Image`): the ECR repository the image is pushed to. It is
deployed first, so that the image exists before the services that run it.

`HfCroissantStack` (`<stack_name>`):

- the lake bucket (SSE-S3, all public access blocked, TLS only, versioned; `<prefix>/_staging/`
  expires, incomplete multipart uploads are aborted) and an ops bucket for Athena query results
  and Dagster's step logs (same protections, everything expires);
- the Glue database and an Athena workgroup that enforces its result location and a per-query
  scan limit;
- a VPC (or an existing one), an ECS cluster, the Dagster webserver and daemon as Fargate
  services of one image, and the run task definition the daemon's `EcsRunLauncher` starts one
  task of per run;
- PostgreSQL on RDS for the Dagster instance (encrypted, private, reachable only from the tasks,
  credentials generated into Secrets Manager);
- the Hugging Face token as a Secrets Manager secret that ECS injects into run tasks only;
- CloudWatch log groups with a retention, and one IAM role per task with least privilege: the
  run role reaches the lake prefix, the ops bucket, the workgroup and the Glue database; the
  daemon may start/stop run tasks in this cluster and pass the run roles; the webserver may stop
  run tasks and read step logs.

The webserver is not internet-facing: open it through an SSM port-forward (ECS Exec), see the
README. `-c public_webserver=true -c webserver_allowed_cidr=<cidr>` adds an internet-facing ALB
admitting only that network.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from hf_croissant_cdk.config import DeployConfig

WEBSERVER_PORT = 3000
PG_DATABASE = "dagster"
PG_PORT = 5432
#: Key prefixes inside the ops bucket.
ATHENA_RESULTS_PREFIX = "athena-results"
COMPUTE_LOGS_PREFIX = "dagster-compute-logs"
#: The container name the EcsRunLauncher overrides (deploy/dagster.prod.yaml: container_name).
RUN_CONTAINER = "run"
#: The JSON key of the HF token inside its secret: `{"HF_TOKEN": "hf_..."}`.
HF_TOKEN_KEY = "HF_TOKEN"
#: CloudWatch retention periods (days) -> the CDK enum's member names.
LOG_RETENTION = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1827: "FIVE_YEARS",
    3653: "TEN_YEARS",
}


class ImageRepositoryStack(cdk.Stack):
    """The ECR repository for the one image (webserver, daemon, run workers)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig, **kwargs):
        super().__init__(scope, construct_id, **kwargs)
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=config.ecr_repository,
            image_scan_on_push=True,
            encryption=ecr.RepositoryEncryption.AES_256,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description="keep the 20 newest images",
                    max_image_count=20,
                )
            ],
            # Images are rebuilt from the repository: the repository goes with the stack.
            removal_policy=cdk.RemovalPolicy.DESTROY,
            empty_on_delete=True,
        )
        cdk.CfnOutput(self, "RepositoryUri", value=self.repository.repository_uri)
        cdk.CfnOutput(self, "RepositoryName", value=self.repository.repository_name)


class HfCroissantStack(cdk.Stack):
    """Lake, Athena, Glue, RDS, ECS (webserver, daemon, run tasks), secrets, logs, IAM."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        # Referenced by name (not a cross-stack export), so either stack can be updated alone.
        repository = ecr.Repository.from_repository_name(self, "Repository", config.ecr_repository)
        cfg = config
        data_removal = cdk.RemovalPolicy.RETAIN if cfg.retain_data else cdk.RemovalPolicy.DESTROY

        # ---- storage: the lake and the ops bucket -------------------------------------------
        self.lake_bucket = s3.Bucket(
            self,
            "LakeBucket",
            bucket_name=cfg.lake_bucket_name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-staging",
                    prefix=f"{cfg.lake_prefix}/_staging/",
                    expiration=cdk.Duration.days(cfg.staging_expiry_days),
                    noncurrent_version_expiration=cdk.Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="abort-multipart-and-old-versions",
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                    noncurrent_version_expiration=cdk.Duration.days(
                        cfg.lake_noncurrent_version_days
                    ),
                    expired_object_delete_marker=True,
                ),
            ],
            removal_policy=data_removal,
            auto_delete_objects=not cfg.retain_data,
        )
        self.lake_uri = f"s3://{self.lake_bucket.bucket_name}/{cfg.lake_prefix}"

        self.ops_bucket = s3.Bucket(
            self,
            "OpsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-everything",
                    expiration=cdk.Duration.days(cfg.ops_expiry_days),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
            removal_policy=cdk.RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )

        # ---- Glue database and Athena workgroup --------------------------------------------
        self.glue_database = glue.CfnDatabase(
            self,
            "GlueDatabase",
            catalog_id=cdk.Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=cfg.glue_database,
                description="hf_croissant_assets: daily Hugging Face Hub snapshots (hf_datasets, "
                "hf_croissant); tables are created by the athena_tables asset",
                location_uri=f"{self.lake_uri}/",
            ),
        )
        # Only metadata (the data stays in the lake): deleted with the stack, so that a new
        # deployment can create it again.
        self.glue_database.apply_removal_policy(cdk.RemovalPolicy.DESTROY)

        workgroup_configuration: dict[str, Any] = {
            "enforce_work_group_configuration": True,
            "publish_cloud_watch_metrics_enabled": True,
            "engine_version": athena.CfnWorkGroup.EngineVersionProperty(
                selected_engine_version="Athena engine version 3"
            ),
            "result_configuration": athena.CfnWorkGroup.ResultConfigurationProperty(
                output_location=self.ops_bucket.s3_url_for_object(f"{ATHENA_RESULTS_PREFIX}/"),
                encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                    encryption_option="SSE_S3"
                ),
            ),
        }
        if cfg.athena_bytes_scanned_cutoff_gb:
            workgroup_configuration["bytes_scanned_cutoff_per_query"] = (
                cfg.athena_bytes_scanned_cutoff_gb * 1024**3
            )
        self.workgroup = athena.CfnWorkGroup(
            self,
            "AthenaWorkGroup",
            name=cfg.athena_workgroup,
            description="hf_croissant_assets queries (results in the ops bucket, enforced)",
            state="ENABLED",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                **workgroup_configuration
            ),
        )
        self.workgroup_arn = self.format_arn(
            service="athena", resource="workgroup", resource_name=cfg.athena_workgroup
        )

        # ---- network ---------------------------------------------------------------------------
        if cfg.vpc_id:
            self.vpc = ec2.Vpc.from_lookup(self, "Vpc", vpc_id=cfg.vpc_id)
            task_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
            db_subnets = task_subnets
        else:
            self.vpc = ec2.Vpc(
                self,
                "Vpc",
                max_azs=cfg.max_azs,
                nat_gateways=cfg.nat_gateways,
                subnet_configuration=[
                    ec2.SubnetConfiguration(
                        name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                    ),
                    ec2.SubnetConfiguration(
                        name="tasks", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                    ),
                    ec2.SubnetConfiguration(
                        name="database", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                    ),
                ],
                gateway_endpoints={
                    # S3 traffic (the lake, image layers from ECR) bypasses the NAT gateway.
                    "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
                },
            )
            task_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
            db_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        self.webserver_sg = ec2.SecurityGroup(
            self,
            "WebserverSecurityGroup",
            vpc=self.vpc,
            description="Dagster webserver",
            allow_all_outbound=True,
        )
        # The daemon and the run tasks share this group: the EcsRunLauncher starts run tasks with
        # the daemon's own subnets and security groups (use_current_ecs_task_config).
        self.worker_sg = ec2.SecurityGroup(
            self,
            "WorkerSecurityGroup",
            vpc=self.vpc,
            description="Dagster daemon and run tasks (outbound: the Hub, AWS APIs)",
            allow_all_outbound=True,
        )
        self.db_sg = ec2.SecurityGroup(
            self,
            "DatabaseSecurityGroup",
            vpc=self.vpc,
            description="Dagster PostgreSQL: only from the webserver, the daemon and run tasks",
            allow_all_outbound=False,
        )
        for source, name in ((self.webserver_sg, "webserver"), (self.worker_sg, "daemon/runs")):
            self.db_sg.add_ingress_rule(source, ec2.Port.tcp(PG_PORT), f"PostgreSQL from {name}")

        # ---- PostgreSQL for the Dagster instance -------------------------------------------
        self.database = rds.DatabaseInstance(
            self,
            "Database",
            engine=rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17),
            instance_type=ec2.InstanceType(cfg.db_instance_type),
            vpc=self.vpc,
            vpc_subnets=db_subnets,
            security_groups=[self.db_sg],
            credentials=rds.Credentials.from_generated_secret("dagster"),
            database_name=PG_DATABASE,
            port=PG_PORT,
            allocated_storage=cfg.db_allocated_storage_gib,
            max_allocated_storage=max(100, cfg.db_allocated_storage_gib),
            storage_type=rds.StorageType.GP3,
            storage_encrypted=True,
            multi_az=False,
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            backup_retention=cdk.Duration.days(7),
            deletion_protection=False,
            removal_policy=cdk.RemovalPolicy.SNAPSHOT
            if cfg.retain_data
            else cdk.RemovalPolicy.DESTROY,
        )
        assert self.database.secret is not None

        # ---- secrets ---------------------------------------------------------------------------
        # Created with an empty token (anonymous Hub access); put the real one in with
        # `aws secretsmanager put-secret-value` (README). ECS injects it into run tasks only.
        self.hf_token_secret = secretsmanager.Secret(
            self,
            "HfTokenSecret",
            description=(
                'Hugging Face token for hf_croissant_assets runs: {"HF_TOKEN": "hf_..."} '
                "(empty = anonymous, lowest rate limit)"
            ),
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({HF_TOKEN_KEY: ""}),
                generate_string_key="unused",
                exclude_punctuation=True,
                password_length=16,
            ),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )

        # ---- logs ------------------------------------------------------------------------------
        retention = getattr(logs.RetentionDays, LOG_RETENTION[cfg.log_retention_days])
        self.log_groups = {
            role: logs.LogGroup(
                self,
                f"{role.capitalize()}Logs",
                log_group_name=f"/hf-croissant/{cfg.stack_name}/{role}",
                retention=retention,
                removal_policy=cdk.RemovalPolicy.DESTROY,
            )
            for role in ("webserver", "daemon", "run")
        }

        # ---- ECS ---------------------------------------------------------------------------------
        self.cluster = ecs.Cluster(self, "Cluster", vpc=self.vpc)
        image = ecs.ContainerImage.from_ecr_repository(repository, tag=cfg.image_tag)
        platform = ecs.RuntimePlatform(
            operating_system_family=ecs.OperatingSystemFamily.LINUX,
            cpu_architecture=ecs.CpuArchitecture.ARM64
            if cfg.cpu_architecture == "ARM64"
            else ecs.CpuArchitecture.X86_64,
        )

        self.run_task_role = self._task_role("RunTaskRole", "hf_croissant_assets run workers")
        self.daemon_task_role = self._task_role("DaemonTaskRole", "Dagster daemon")
        self.webserver_task_role = self._task_role("WebserverTaskRole", "Dagster webserver")

        environment = self.container_environment()
        db_secret = self.database.secret
        pg_secrets = {
            "DAGSTER_PG_USERNAME": ecs.Secret.from_secrets_manager(db_secret, "username"),
            "DAGSTER_PG_PASSWORD": ecs.Secret.from_secrets_manager(db_secret, "password"),
        }

        # The run task definition: one task per Dagster run, started by the EcsRunLauncher,
        # which overrides the command with `dagster api execute_run ...`.
        run_family = f"{cfg.stack_name}-run"
        self.run_task_definition = ecs.FargateTaskDefinition(
            self,
            "RunTaskDefinition",
            family=run_family,
            cpu=cfg.run_cpu,
            memory_limit_mib=cfg.run_memory_mib,
            runtime_platform=platform,
            task_role=self.run_task_role,
        )
        self.run_task_definition.add_container(
            RUN_CONTAINER,
            container_name=RUN_CONTAINER,
            image=image,
            essential=True,
            # A run worker never launches runs, but its instance config names the variable:
            # the family (latest revision) resolves it without referring to this very revision.
            environment={**environment, "DAGSTER_RUN_TASK_DEFINITION": run_family},
            secrets={
                **pg_secrets,
                "HF_TOKEN": ecs.Secret.from_secrets_manager(self.hf_token_secret, HF_TOKEN_KEY),
            },
            linux_parameters=self._init_process("run"),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="run", log_group=self.log_groups["run"]),
        )

        service_environment = {
            **environment,
            "DAGSTER_RUN_TASK_DEFINITION": self.run_task_definition.task_definition_arn,
        }

        # The daemon: schedules, the run queue (launches run tasks), run monitoring. Exactly one:
        # a deployment stops the old task before starting the new one.
        self.daemon_task_definition = ecs.FargateTaskDefinition(
            self,
            "DaemonTaskDefinition",
            family=f"{cfg.stack_name}-daemon",
            cpu=cfg.daemon_cpu,
            memory_limit_mib=cfg.daemon_memory_mib,
            runtime_platform=platform,
            task_role=self.daemon_task_role,
        )
        self.daemon_task_definition.add_container(
            "daemon",
            container_name="daemon",
            image=image,
            command=["daemon"],
            essential=True,
            environment=service_environment,
            secrets=dict(pg_secrets),
            linux_parameters=self._init_process("daemon"),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="daemon", log_group=self.log_groups["daemon"]
            ),
            health_check=ecs.HealthCheck(
                command=["CMD", "dagster-daemon", "liveness-check"],
                interval=cdk.Duration.seconds(60),
                timeout=cdk.Duration.seconds(30),
                retries=5,
                start_period=cdk.Duration.seconds(300),
            ),
        )
        self.daemon_service = ecs.FargateService(
            self,
            "DaemonService",
            cluster=self.cluster,
            task_definition=self.daemon_task_definition,
            desired_count=1,
            min_healthy_percent=0,
            max_healthy_percent=100,
            security_groups=[self.worker_sg],
            vpc_subnets=task_subnets,
            assign_public_ip=False,
            enable_execute_command=True,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )

        # The webserver (UI + GraphQL).
        self.webserver_task_definition = ecs.FargateTaskDefinition(
            self,
            "WebserverTaskDefinition",
            family=f"{cfg.stack_name}-webserver",
            cpu=cfg.webserver_cpu,
            memory_limit_mib=cfg.webserver_memory_mib,
            runtime_platform=platform,
            task_role=self.webserver_task_role,
        )
        self.webserver_task_definition.add_container(
            "webserver",
            container_name="webserver",
            image=image,
            command=["webserver"],
            essential=True,
            environment={**service_environment, "DAGSTER_WEBSERVER_PORT": str(WEBSERVER_PORT)},
            secrets=dict(pg_secrets),
            port_mappings=[ecs.PortMapping(container_port=WEBSERVER_PORT)],
            linux_parameters=self._init_process("webserver"),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="webserver", log_group=self.log_groups["webserver"]
            ),
            health_check=ecs.HealthCheck(
                command=["CMD", "/opt/dagster/app/deploy/healthcheck.sh"],
                interval=cdk.Duration.seconds(30),
                timeout=cdk.Duration.seconds(10),
                retries=3,
                start_period=cdk.Duration.seconds(180),
            ),
        )
        self.webserver_service = ecs.FargateService(
            self,
            "WebserverService",
            cluster=self.cluster,
            task_definition=self.webserver_task_definition,
            desired_count=1,
            min_healthy_percent=100,
            max_healthy_percent=200,
            security_groups=[self.webserver_sg],
            vpc_subnets=task_subnets,
            assign_public_ip=False,
            enable_execute_command=True,  # the SSM port-forward to the UI (README)
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            health_check_grace_period=cdk.Duration.seconds(300) if cfg.public_webserver else None,
        )

        self.load_balancer = self._public_load_balancer() if cfg.public_webserver else None

        # ---- permissions -----------------------------------------------------------------------
        self._grant_run_data_access()
        self._grant_run_control()

        # ---- outputs -----------------------------------------------------------------------------
        outputs = {
            "LakeUri": self.lake_uri,
            "LakeBucketName": self.lake_bucket.bucket_name,
            "OpsBucketName": self.ops_bucket.bucket_name,
            "GlueDatabaseName": cfg.glue_database,
            "AthenaWorkGroupName": cfg.athena_workgroup,
            "ClusterName": self.cluster.cluster_name,
            "WebserverServiceName": self.webserver_service.service_name,
            "DaemonServiceName": self.daemon_service.service_name,
            "RunTaskDefinitionArn": self.run_task_definition.task_definition_arn,
            "HfTokenSecretArn": self.hf_token_secret.secret_arn,
            "DatabaseEndpoint": self.database.db_instance_endpoint_address,
            "ImageUri": repository.repository_uri_for_tag(cfg.image_tag),
        }
        if self.load_balancer is not None:
            scheme = "https" if cfg.certificate_arn else "http"
            outputs["WebserverUrl"] = f"{scheme}://{self.load_balancer.load_balancer_dns_name}"
        for name, value in outputs.items():
            cdk.CfnOutput(self, name, value=value)

    # -------------------------------------------------------------------------------------------

    def container_environment(self) -> dict[str, str]:
        """The app's settings (hf_croissant_assets/settings.py) and the instance's (dagster.prod.yaml),
        identical for the webserver, the daemon and run tasks: the daemon and the webserver load
        the same definitions (asset graph, schedule hour) as the run workers."""
        cfg = self.config
        return {
            **cfg.app_env,
            "HF_CROISSANT_LAKE": self.lake_uri,
            "HF_CROISSANT_ATHENA_DATABASE": cfg.glue_database,
            "HF_CROISSANT_ATHENA_WORKGROUP": cfg.athena_workgroup,
            "HF_CROISSANT_SCHEDULE_HOUR": str(cfg.schedule_hour),
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "DAGSTER_PG_HOST": self.database.db_instance_endpoint_address,
            "DAGSTER_PG_PORT": self.database.db_instance_endpoint_port,
            "DAGSTER_PG_DB": PG_DATABASE,
            "DAGSTER_ECS_CLUSTER": self.cluster.cluster_name,
            "DAGSTER_COMPUTE_LOGS_BUCKET": self.ops_bucket.bucket_name,
            "DAGSTER_COMPUTE_LOGS_PREFIX": COMPUTE_LOGS_PREFIX,
        }

    def _init_process(self, role: str) -> ecs.LinuxParameters:
        """An init process as PID 1: forwards SIGTERM and reaps the code-server subprocesses that
        the webserver and the daemon spawn (and is what ECS Exec recommends)."""
        return ecs.LinuxParameters(
            self, f"{role.capitalize()}LinuxParameters", init_process_enabled=True
        )

    def _task_role(self, construct_id: str, what: str) -> iam.Role:
        return iam.Role(
            self,
            construct_id,
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description=f"{self.config.stack_name}: ECS task role of the {what}",
        )

    def _grant_run_data_access(self) -> None:
        """Run tasks: the lake prefix, the ops bucket, the workgroup, the Glue database."""
        cfg = self.config
        lake, ops = self.lake_bucket, self.ops_bucket
        glue_catalog = self.format_arn(service="glue", resource="catalog")
        glue_database = self.format_arn(
            service="glue", resource="database", resource_name=cfg.glue_database
        )
        glue_tables = self.format_arn(
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
                resources=[self.workgroup_arn],
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
            roles=[self.run_task_role],
        )

    def _grant_run_control(self) -> None:
        """The daemon launches, watches and stops run tasks; the webserver may stop them."""
        cluster_arn = self.cluster.cluster_arn
        cluster_tasks = self.format_arn(
            service="ecs", resource="task", resource_name=f"{self.cluster.cluster_name}/*"
        )
        in_cluster = {"ArnEquals": {"ecs:cluster": cluster_arn}}
        run_family = self.format_arn(
            service="ecs",
            resource="task-definition",
            resource_name=f"{self.run_task_definition.family}:*",
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
            roles=[self.webserver_task_role],
        )
        passed_roles = [self.run_task_role.role_arn]
        execution_role = self.run_task_definition.execution_role
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
            roles=[self.daemon_task_role],
        )
        # Failure messages of a run task quote its last log lines.
        self.log_groups["run"].grant(
            self.daemon_task_role, "logs:GetLogEvents", "logs:DescribeLogStreams"
        )
        # The UI shows step stdout/stderr from the ops bucket.
        iam.Policy(
            self,
            "WebserverComputeLogsPolicy",
            statements=[
                iam.PolicyStatement(
                    sid="ComputeLogObjects",
                    actions=["s3:GetObject"],
                    resources=[self.ops_bucket.arn_for_objects(f"{COMPUTE_LOGS_PREFIX}/*")],
                ),
                iam.PolicyStatement(
                    sid="ComputeLogBucket",
                    actions=["s3:ListBucket"],
                    resources=[self.ops_bucket.bucket_arn],
                ),
            ],
            roles=[self.webserver_task_role],
        )

    def _public_load_balancer(self) -> elbv2.ApplicationLoadBalancer:
        """Opt-in (`public_webserver=true`): an internet-facing ALB open to one CIDR only."""
        cfg = self.config
        alb_sg = ec2.SecurityGroup(
            self,
            "LoadBalancerSecurityGroup",
            vpc=self.vpc,
            description="Dagster UI load balancer",
            allow_all_outbound=False,
        )
        alb = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=self.vpc,
            internet_facing=True,
            security_group=alb_sg,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        )
        cidr = cfg.webserver_allowed_cidr or ""
        peer = ec2.Peer.ipv6(cidr) if ":" in cidr else ec2.Peer.ipv4(cidr)
        if cfg.certificate_arn:
            alb_sg.add_ingress_rule(peer, ec2.Port.tcp(443), "HTTPS from the allowed network")
            listener = alb.add_listener(
                "Https",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[
                    acm.Certificate.from_certificate_arn(self, "Certificate", cfg.certificate_arn)
                ],
                open=False,
            )
        else:
            cdk.Annotations.of(alb).add_warning(
                "public_webserver without certificate_arn: the Dagster UI is served over plain HTTP"
            )
            alb_sg.add_ingress_rule(peer, ec2.Port.tcp(80), "HTTP from the allowed network")
            listener = alb.add_listener(
                "Http", port=80, protocol=elbv2.ApplicationProtocol.HTTP, open=False
            )
        listener.add_targets(
            "Webserver",
            port=WEBSERVER_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[
                self.webserver_service.load_balancer_target(
                    container_name="webserver", container_port=WEBSERVER_PORT
                )
            ],
            health_check=elbv2.HealthCheck(path="/server_info", healthy_http_codes="200"),
            deregistration_delay=cdk.Duration.seconds(30),
        )
        return alb


def build_app(
    context: dict[str, Any] | None = None,
) -> tuple[cdk.App, ImageRepositoryStack, HfCroissantStack]:
    """The CDK app: `app.py` for the CLI, the tests in-process (offline, no Docker needed)."""
    app = cdk.App(context=context or {})
    config = DeployConfig.from_context(app.node.try_get_context)
    env = cdk.Environment(account=config.account, region=config.region)
    if not (config.account or config.region):
        env = None
    image_stack = ImageRepositoryStack(
        app,
        config.image_stack_name,
        config=config,
        env=env,
        description="hf_croissant_assets: ECR repository for the Dagster image",
    )
    stack = HfCroissantStack(
        app,
        config.stack_name,
        config=config,
        env=env,
        description="hf_croissant_assets: daily Hugging Face Hub snapshot lake (S3, Athena, "
        "Glue) orchestrated by Dagster on ECS Fargate with PostgreSQL on RDS",
    )
    stack.add_stack_dependency(image_stack)  # `cdk deploy --all` creates the repository first
    for scope in (image_stack, stack):
        cdk.Tags.of(scope).add("project", "hf_croissant_assets")
    return app, image_stack, stack
