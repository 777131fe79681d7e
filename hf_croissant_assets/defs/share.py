"""Share the day on the Hugging Face Hub: the `hf_hub_export` asset (only with a target repo).

It depends on every lake table (`publish.PUBLISHED_TABLES`), whose checks are blocking: in a run
it starts only after every table of the day was written and passed every check, so a day is never
shared half-done or unchecked. Defined only when HF_CROISSANT_PUBLISH_REPO is set (definitions.py).
"""

import tempfile

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from hf_croissant_assets.defs.resources import CrawlSettings, HfPublishResource, LakeResource
from hf_croissant_assets.explore.build import public_explorer
from hf_croissant_assets.share.publish import PUBLISHED_TABLES, publish_day


def build_share_assets(
    partitions: PartitionsDefinition, explorer_days: int | None = 30
) -> list[AssetsDefinition]:
    """`explorer_days`: days of series in the shipped explorer file; None ships none."""

    @asset(
        partitions_def=partitions,
        deps=list(PUBLISHED_TABLES),
        group_name="share",
        kinds={"huggingface", "parquet"},
        description="The day's partitions of every lake table (`hf_datasets`, `hf_croissant`, "
        "the Croissant fields / files / validation tables) published to the Hub "
        "dataset repo HF_CROISSANT_PUBLISH_REPO as one commit (`data/<table>/date=D/part-0.parquet`), "
        "with the dataset card (README.md: configs for the viewer, schema, method, licence, "
        "caveats). Runs after the day's blocking checks passed; re-publishing a day replaces its "
        "files. Needs a write token in HF_TOKEN (checked before any upload). "
        + (
            "An explorer file of the day (`hf-croissant explore --from-hub`), built under the "
            "same rules as the tables (no private dataset, gated documents withheld), is shipped "
            "as `explorer/explorer.db`."
            if explorer_days
            else "No explorer file is shipped (HF_CROISSANT_PUBLISH_EXPLORER=false)."
        ),
    )
    def hf_hub_export(
        context: AssetExecutionContext,
        lake: LakeResource,
        hf_publish: HfPublishResource,
        crawl: CrawlSettings,
    ) -> MaterializeResult:
        with tempfile.TemporaryDirectory(prefix="hf-croissant-ship-") as tmp:
            explorer = None
            if explorer_days:
                built = public_explorer(
                    lake.store(), context.partition_key, tmp, days=explorer_days,
                    gated_documents=hf_publish.gated_documents,
                )  # fmt: skip
                explorer = built.path
                context.log.info(
                    f"explorer file for {built.date}: {built.bytes} bytes, "
                    f"{built.rows.get('datasets', 0)} datasets ({built.seconds} s)"
                )
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
