"""The Glue database and the Athena workgroup."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from constructs import Construct

from hf_croissant_cdk.components.storage import ATHENA_RESULTS_PREFIX, Storage
from hf_croissant_cdk.config import DeployConfig
from hf_croissant_cdk.logical_ids import Component


class Catalog(Component):
    """The Glue database over the lake and an Athena workgroup that enforces its result location
    (the ops bucket) and a per-query scan limit."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeployConfig, storage: Storage
    ) -> None:
        super().__init__(scope, construct_id)
        cfg = config
        self.glue_database = glue.CfnDatabase(
            self,
            "GlueDatabase",
            catalog_id=cdk.Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=cfg.glue_database,
                description="hf_croissant_assets: daily Hugging Face Hub snapshots (hf_datasets, "
                "hf_croissant); tables are created by the athena_tables asset",
                location_uri=f"{storage.lake_uri}/",
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
                output_location=storage.ops_bucket.s3_url_for_object(f"{ATHENA_RESULTS_PREFIX}/"),
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
        self.workgroup_arn = cdk.Stack.of(self).format_arn(
            service="athena", resource="workgroup", resource_name=cfg.athena_workgroup
        )
