"""The explorer: the `explorer_db` asset (a SQLite file for `hf-croissant explore`).

Derived from the lake only (never calls the Hub): rebuilt after each day's tables from the newest
produced day, so any run or backfill leaves the explorer showing the newest snapshot.
"""

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from hf_croissant_assets.defs.resources import LakeResource
from hf_croissant_assets.explore.build import SOURCE_TABLES, build_explorer
from hf_croissant_assets.schema import LAKE_DATASETS


def build_explore_assets(
    partitions: PartitionsDefinition, days: int = 30
) -> list[AssetsDefinition]:
    @asset(
        partitions_def=partitions,
        # every table it reads that the registry has: it runs after the day's tables
        deps=[t for t in SOURCE_TABLES if t in LAKE_DATASETS],
        group_name="explore",
        kinds={"sqlite", "python"},
        description="SQLite file for the browser explorer (`hf-croissant explore`, Datasette): "
        "the newest produced day's datasets with their Croissant columns (and validity / SPDX "
        "licences / field data types / declared bytes / change events when the lake has them), "
        f"{days} days of daily series, "
        "full-text search and facet indexes. Written atomically to `<lake>/explorer/explorer.db` "
        "(uploaded next to an s3:// lake); row counts checked against the lake. Never calls the Hub.",
    )
    def explorer_db(context: AssetExecutionContext, lake: LakeResource) -> MaterializeResult:
        result = build_explorer(
            lake.store(), days=days, progress=lambda m: context.log.info(f"explorer_db: {m}")
        )
        if result.date != context.partition_key:
            context.log.info(
                f"explorer_db [{context.partition_key}]: built from the newest day {result.date}"
            )
        return MaterializeResult(
            metadata={
                "path": MetadataValue.path(result.path),
                "snapshot_date": result.date,
                "bytes": result.bytes,
                "build_seconds": result.seconds,
                "rows": MetadataValue.json(result.rows),
                "optional_tables": MetadataValue.json(result.optional_tables),
                "series_days": len(result.series_days),
            }
        )

    return [explorer_db]
