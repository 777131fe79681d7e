"""The AWS deployment of hf_croissant_assets, as two CDK stacks.

`ImageRepositoryStack` (`<stack_name>Image`): the ECR repository the image is pushed to. It is
deployed first, so that the image exists before the services that run it.

`HfCroissantStack` (`<stack_name>`) composes the components of `hf_croissant_cdk.components`:

- `Storage`: the lake bucket (SSE-S3, all public access blocked, TLS only, versioned;
  `<prefix>/_staging/` expires, incomplete multipart uploads are aborted) and an ops bucket for
  Athena query results and Dagster's step logs (same protections, everything expires);
- `Catalog`: the Glue database and an Athena workgroup that enforces its result location and a
  per-query scan limit;
- `Network`: a VPC (or an existing one) and the security groups;
- `Database`: PostgreSQL on RDS for the Dagster instance (encrypted, private, reachable only from
  the tasks, credentials generated into Secrets Manager);
- `HubToken`: the Hugging Face token as a Secrets Manager secret that ECS injects into run tasks
  only;
- `DagsterServices`: CloudWatch log groups with a retention, an ECS cluster, the Dagster webserver
  and daemon as Fargate services of one image, the run task definition the daemon's
  `EcsRunLauncher` starts one task of per run, and one IAM role per task;
- `Permissions`: least privilege for those roles: the run role reaches the lake prefix, the ops
  bucket, the workgroup and the Glue database; the daemon may start/stop run tasks in this
  cluster and pass the run roles; the webserver may stop run tasks and read step logs;
- `PublicWebserver`, opt-in: see below.

The webserver is not internet-facing: open it through an SSM port-forward (ECS Exec), see the
README. `-c public_webserver=true -c webserver_allowed_cidr=<cidr>[,<cidr>...]
-c certificate_arn=<ACM ARN>` adds an internet-facing ALB serving HTTPS to those networks only;
the config refuses a public webserver without a certificate or with an allow-list of 0.0.0.0/0.

Components are left out of logical ids (`logical_ids`): every resource keeps the logical id it had
as a direct child of the stack, so regrouping never replaces a bucket, a database or a secret.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from hf_croissant_cdk.components import (
    Catalog,
    DagsterServices,
    Database,
    HubToken,
    Network,
    Permissions,
    PublicWebserver,
    Storage,
)
from hf_croissant_cdk.config import DeployConfig
from hf_croissant_cdk.logical_ids import UniqueIds, make_unique_id, path_below_stack


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
        self._unique_ids = UniqueIds()
        self.config = cfg = config
        # Referenced by name (not a cross-stack export), so either stack can be updated alone.
        repository = ecr.Repository.from_repository_name(self, "Repository", cfg.ecr_repository)

        self.storage = Storage(self, "Storage", config=cfg)
        self.catalog = Catalog(self, "Catalog", config=cfg, storage=self.storage)
        self.network = Network(self, "Network", config=cfg)
        self.database = Database(self, "Postgres", config=cfg, network=self.network)
        self.hub_token = HubToken(self, "HubToken")
        self.services = DagsterServices(
            self,
            "Services",
            config=cfg,
            repository=repository,
            network=self.network,
            storage=self.storage,
            database=self.database,
            hub_token=self.hub_token,
        )
        self.public_webserver = (
            PublicWebserver(
                self, "PublicWebserver", config=cfg, network=self.network, services=self.services
            )
            if cfg.public_webserver
            else None
        )
        self.permissions = Permissions(
            self,
            "Permissions",
            config=cfg,
            storage=self.storage,
            catalog=self.catalog,
            services=self.services,
        )

        # Every construct exists: ids that embed a unique id of one inside a component follow.
        self._unique_ids = UniqueIds(self)
        self._unique_ids.fix_overrides(self)

        outputs = {
            "LakeUri": self.storage.lake_uri,
            "LakeBucketName": self.storage.lake_bucket.bucket_name,
            "OpsBucketName": self.storage.ops_bucket.bucket_name,
            "GlueDatabaseName": cfg.glue_database,
            "AthenaWorkGroupName": cfg.athena_workgroup,
            "ClusterName": self.services.cluster.cluster_name,
            "WebserverServiceName": self.services.webserver_service.service_name,
            "DaemonServiceName": self.services.daemon_service.service_name,
            "RunTaskDefinitionArn": self.services.run_task_definition.task_definition_arn,
            "HfTokenSecretArn": self.hub_token.secret.secret_arn,
            "DatabaseEndpoint": self.database.endpoint_address,
            "ImageUri": repository.repository_uri_for_tag(cfg.image_tag),
        }
        if self.public_webserver is not None:
            outputs["WebserverUrl"] = self.public_webserver.url
        for name, value in outputs.items():
            cdk.CfnOutput(self, name, value=value)

    def _allocate_logical_id(self, cfn_element: cdk.CfnElement) -> str:
        """The CDK's logical id, computed as if the components' resources were the stack's own
        children (see `logical_ids`)."""
        return make_unique_id(
            [self._unique_ids.ungroup(c) for c in path_below_stack(cfn_element, self)]
        )


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
