"""The Dagster deployment on ECS Fargate: log groups, the cluster, one task role per task, the
run task definition, and the daemon and webserver services, all running one image."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from hf_croissant_cdk.components.database import PG_DATABASE, Database
from hf_croissant_cdk.components.hub_token import HF_TOKEN_KEY, HubToken
from hf_croissant_cdk.components.network import Network
from hf_croissant_cdk.components.storage import COMPUTE_LOGS_PREFIX, Storage
from hf_croissant_cdk.config import DeployConfig
from hf_croissant_cdk.logical_ids import Component

WEBSERVER_PORT = 3000
#: The container name the EcsRunLauncher overrides (deploy/dagster.prod.yaml: container_name).
RUN_CONTAINER = "run"
#: The image's health check script (Dockerfile HEALTHCHECK); ECS runs it in the webserver.
HEALTHCHECK_SCRIPT = "/opt/dagster/app/deploy/healthcheck.sh"
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


def container_environment(
    config: DeployConfig, *, storage: Storage, database: Database, cluster: ecs.ICluster
) -> dict[str, str]:
    """The app's settings (hf_croissant_assets/settings.py) and the instance's (dagster.prod.yaml),
    identical for the webserver, the daemon and run tasks: the daemon and the webserver load
    the same definitions (asset graph, schedule hour) as the run workers."""
    region = cdk.Stack.of(cluster).region
    return {
        **config.app_env,
        "HF_CROISSANT_LAKE": storage.lake_uri,
        "HF_CROISSANT_ATHENA_DATABASE": config.glue_database,
        "HF_CROISSANT_ATHENA_WORKGROUP": config.athena_workgroup,
        "HF_CROISSANT_SCHEDULE_HOUR": str(config.schedule_hour),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "DAGSTER_PG_HOST": database.endpoint_address,
        "DAGSTER_PG_PORT": database.endpoint_port,
        "DAGSTER_PG_DB": PG_DATABASE,
        "DAGSTER_ECS_CLUSTER": cluster.cluster_name,
        "DAGSTER_COMPUTE_LOGS_BUCKET": storage.ops_bucket.bucket_name,
        "DAGSTER_COMPUTE_LOGS_PREFIX": COMPUTE_LOGS_PREFIX,
    }


class DagsterServices(Component):
    """The webserver (UI + GraphQL) and the daemon as Fargate services, and the run task
    definition the daemon's `EcsRunLauncher` starts one task of per run. The run role gets
    its data access and the daemon and webserver their control of run tasks from
    `permissions.Permissions`; ECS injects the HF token into run tasks only."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        repository: ecr.IRepository,
        network: Network,
        storage: Storage,
        database: Database,
        hub_token: HubToken,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = cfg = config

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

        self.cluster = ecs.Cluster(self, "Cluster", vpc=network.vpc)
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

        environment = container_environment(
            cfg, storage=storage, database=database, cluster=self.cluster
        )
        pg_secrets = {
            "DAGSTER_PG_USERNAME": ecs.Secret.from_secrets_manager(database.secret, "username"),
            "DAGSTER_PG_PASSWORD": ecs.Secret.from_secrets_manager(database.secret, "password"),
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
                "HF_TOKEN": ecs.Secret.from_secrets_manager(hub_token.secret, HF_TOKEN_KEY),
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
            security_groups=[network.worker_sg],
            vpc_subnets=network.task_subnets,
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
                command=["CMD", HEALTHCHECK_SCRIPT],
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
            security_groups=[network.webserver_sg],
            vpc_subnets=network.task_subnets,
            assign_public_ip=False,
            enable_execute_command=True,  # the SSM port-forward to the UI (README)
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            health_check_grace_period=cdk.Duration.seconds(300) if cfg.public_webserver else None,
        )

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
