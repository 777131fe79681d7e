"""Share the day on the Hugging Face Hub: the `hf_hub_export` asset (only with a target repo).

It depends on every lake table (`publish.PUBLISHED_TABLES`), whose checks are blocking: in a run
it starts only after every table of the day was written and passed every check, so a day is never
shared half-done or unchecked. Defined only when HF_CROISSANT_PUBLISH_REPO is set (definitions.py).
"""

import os
import shutil

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from hf_croissant_assets.defs.resources import CrawlSettings, HfPublishResource, LakeResource
from hf_croissant_assets.explore.build import shippable_explorer
from hf_croissant_assets.share.publish import PUBLISHED_TABLES, publish_day


def build_share_assets(partitions: PartitionsDefinition) -> list[AssetsDefinition]:
    @asset(
        partitions_def=partitions,
        deps=[*PUBLISHED_TABLES, "explorer_db"],
        group_name="share",
        kinds={"huggingface", "parquet"},
        description="The day's partitions of every lake table (`hf_datasets`, `hf_croissant`, "
        "the Croissant fields / files / validation tables) published to the Hub "
        "dataset repo HF_CROISSANT_PUBLISH_REPO as one commit (`data/<table>/date=D/part-0.parquet`), "
        "with the dataset card (README.md: configs for the viewer, schema, method, licence, "
        "caveats). Runs after the day's blocking checks passed; re-publishing a day replaces its "
        "files. Needs a write token in HF_TOKEN (checked before any upload). The explorer file "
        "(`explorer_db`) is shipped as `explorer/explorer.db` when it holds this day.",
    )
    def hf_hub_export(
        context: AssetExecutionContext,
        lake: LakeResource,
        hf_publish: HfPublishResource,
        crawl: CrawlSettings,
    ) -> MaterializeResult:
        explorer = shippable_explorer(lake.store(), context.partition_key, context.log)
        try:
            result = publish_day(
                lake.store(),
                context.partition_key,
                repo_id=hf_publish.repo_id,
                token=hf_publish.token,
                endpoint=hf_publish.endpoint,
                license_id=hf_publish.license,
                refresh_days=crawl.refresh_after_days,
                gated_documents=hf_publish.gated_documents,
                logger=context.log,
                explorer_path=explorer,
            )
        finally:
            if explorer is not None and lake.store().is_s3:  # a temporary local copy
                shutil.rmtree(os.path.dirname(explorer), ignore_errors=True)
        endpoint = hf_publish.endpoint.rstrip("/")
        return MaterializeResult(
            metadata={
                "repo": MetadataValue.url(f"{endpoint}/datasets/{result.repo_id}"),
                "commit": result.commit or "none (files unchanged)",
                "commit_url": MetadataValue.url(result.commit_url) if result.commit_url else "none",
                "bytes_published": result.bytes_published,
                "bytes_uploaded": result.bytes_uploaded,
                "files": MetadataValue.json(result.files),
                "deleted_stale_files": MetadataValue.json(result.deleted),
                "rows": MetadataValue.json(result.rows),
                "published_days": result.published_days,
                "schema_version": result.schema_version,
                "token_user": result.user or "unknown",
                "explorer_shipped": explorer is not None,
            }
        )

    return [hf_hub_export]
