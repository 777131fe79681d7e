"""The Hugging Face token, as a Secrets Manager secret."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from hf_croissant_cdk.logical_ids import Component

#: The JSON key of the HF token inside its secret: `{"HF_TOKEN": "hf_..."}`.
HF_TOKEN_KEY = "HF_TOKEN"


class HubToken(Component):
    """Created with an empty token (anonymous Hub access); put the real one in with
    `aws secretsmanager put-secret-value` (deploy/scripts/put_hf_token.sh). ECS injects it into
    run tasks only."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
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
