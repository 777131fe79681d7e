"""The lake bucket and the ops bucket."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from hf_croissant_cdk.config import DeployConfig
from hf_croissant_cdk.logical_ids import Component

#: Key prefixes inside the ops bucket.
ATHENA_RESULTS_PREFIX = "athena-results"
COMPUTE_LOGS_PREFIX = "dagster-compute-logs"


class Storage(Component):
    """The lake (SSE-S3, all public access blocked, TLS only, versioned; `<prefix>/_staging/`
    expires, incomplete multipart uploads are aborted) and the ops bucket for Athena query
    results and Dagster's step logs (same protections, everything expires)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        cfg = config
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
            removal_policy=cdk.RemovalPolicy.RETAIN
            if cfg.retain_data
            else cdk.RemovalPolicy.DESTROY,
            auto_delete_objects=not cfg.retain_data,
        )
        #: The app's HF_CROISSANT_LAKE.
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
