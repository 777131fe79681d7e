"""PostgreSQL on RDS: the Dagster instance's storage (runs, events, schedules)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from hf_croissant_cdk.components.network import PG_PORT, Network
from hf_croissant_cdk.config import DeployConfig
from hf_croissant_cdk.logical_ids import Component

PG_DATABASE = "dagster"


class Database(Component):
    """Encrypted, private, reachable only from the tasks (the network's database security
    group); the credentials are generated into Secrets Manager."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeployConfig, network: Network
    ) -> None:
        super().__init__(scope, construct_id)
        cfg = config
        self.instance = rds.DatabaseInstance(
            self,
            "Database",
            engine=rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17),
            instance_type=ec2.InstanceType(cfg.db_instance_type),
            vpc=network.vpc,
            vpc_subnets=network.db_subnets,
            security_groups=[network.db_sg],
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
        assert self.instance.secret is not None
        #: `{"username": ..., "password": ...}`, injected by ECS.
        self.secret: secretsmanager.ISecret = self.instance.secret
        self.endpoint_address = self.instance.db_instance_endpoint_address
        self.endpoint_port = self.instance.db_instance_endpoint_port
