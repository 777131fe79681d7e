"""The VPC (new, or an existing one looked up by id) and the security groups."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from hf_croissant_cdk.config import DeployConfig
from hf_croissant_cdk.logical_ids import Component

PG_PORT = 5432


class Network(Component):
    """Public subnets (NAT, the optional load balancer), private task subnets with egress (the
    Hub, AWS APIs), isolated database subnets; one security group each for the webserver, the
    workers (daemon and run tasks) and PostgreSQL, which admits only the other two."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        cfg = config
        self.task_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        if cfg.vpc_id:
            self.vpc = ec2.Vpc.from_lookup(self, "Vpc", vpc_id=cfg.vpc_id)
            self.db_subnets = self.task_subnets
        else:
            # Name tags default to the construct path; they read "<stack>/Vpc/..." whichever
            # construct holds the VPC, so that regrouping the stack renames nothing deployed.
            name = f"{cdk.Stack.of(self).node.path}/Vpc"
            self.vpc = ec2.Vpc(
                self,
                "Vpc",
                vpc_name=name,
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
            for subnet in (
                *self.vpc.public_subnets,
                *self.vpc.private_subnets,
                *self.vpc.isolated_subnets,
            ):
                cdk.Tags.of(subnet).add("Name", f"{name}/{subnet.node.id}")
            self.db_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

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
