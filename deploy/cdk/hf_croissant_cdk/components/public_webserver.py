"""Opt-in (`public_webserver=true`): an internet-facing load balancer in front of the UI."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from hf_croissant_cdk.components.network import Network
from hf_croissant_cdk.components.services import WEBSERVER_PORT, DagsterServices
from hf_croissant_cdk.config import DeployConfig
from hf_croissant_cdk.logical_ids import Component


class PublicWebserver(Component):
    """An internet-facing ALB serving the Dagster UI over HTTPS (the ACM certificate
    `certificate_arn`) to the networks of `webserver_allowed_cidr` only: the UI has no login of
    its own. The config refuses `public_webserver=true` without both."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        network: Network,
        services: DagsterServices,
    ) -> None:
        super().__init__(scope, construct_id)
        if not (config.certificate_arn and config.webserver_allowed_cidrs):
            raise ValueError("a public webserver needs certificate_arn and webserver_allowed_cidr")
        security_group = ec2.SecurityGroup(
            self,
            "LoadBalancerSecurityGroup",
            vpc=network.vpc,
            description="Dagster UI load balancer",
            allow_all_outbound=False,
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=network.vpc,
            internet_facing=True,
            security_group=security_group,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        )
        for cidr in config.webserver_allowed_cidrs:
            peer = ec2.Peer.ipv6(cidr) if ":" in cidr else ec2.Peer.ipv4(cidr)
            security_group.add_ingress_rule(
                peer, ec2.Port.tcp(443), "HTTPS from the allowed network"
            )
        listener = self.load_balancer.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[
                acm.Certificate.from_certificate_arn(self, "Certificate", config.certificate_arn)
            ],
            open=False,
        )
        listener.add_targets(
            "Webserver",
            port=WEBSERVER_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[
                services.webserver_service.load_balancer_target(
                    container_name="webserver", container_port=WEBSERVER_PORT
                )
            ],
            health_check=elbv2.HealthCheck(path="/server_info", healthy_http_codes="200"),
            deregistration_delay=cdk.Duration.seconds(30),
        )
        self.url = f"https://{self.load_balancer.load_balancer_dns_name}"
