"""The curated tables of the lake, re-derived from the raw partitions the Hub assets stored.

Both are written write-audit-publish style (`checks.curate_audited`): the new file is audited
by the blocking checks before it replaces the day. Any day with raw data can be backfilled.
"""

from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    PartitionsDefinition,
    asset,
)

from hf_croissant_assets.curate.tables import curate_croissant, curate_datasets
from hf_croissant_assets.defs.checks import check_specs, curate_audited
from hf_croissant_assets.defs.metadata import table_schema
from hf_croissant_assets.defs.resources import LakeResource
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import TABLES


def _require_raw(store: LakeStore, table: str, raw: str, date: str) -> None:
    if not store.exists(raw, date):
        raise FileNotFoundError(
            f"{table} {date}: no {raw} partition stored for {date} "
            f"({store.url(store.part_path(raw, date))}); raw data can only be fetched for today, "
            "so this day cannot be produced"
        )


def build_lake_assets(partitions: PartitionsDefinition) -> list[AssetsDefinition]:
    @asset(
        partitions_def=partitions,
        deps=["hf_dataset_listing"],
        check_specs=check_specs("hf_datasets"),
        group_name="lake",
        kinds={"parquet"},
        metadata={"dagster/column_schema": table_schema(TABLES["hf_datasets"])},
        description="Curated listing table (the Hub listing's fields as typed columns) at "
        "`<lake>/hf_datasets/date=D/part-0.parquet`. Re-derived from the stored raw listing, so "
        "any day with raw data can be backfilled.",
    )
    def hf_datasets(
        context: AssetExecutionContext, lake: LakeResource
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        store = lake.store()
        _require_raw(store, "hf_datasets", "raw_listing", context.partition_key)
        yield from curate_audited(
            context, store, "hf_datasets", curate_datasets, lake.row_drop_tolerance
        )

    @asset(
        partitions_def=partitions,
        deps=["croissant_records", hf_datasets],
        check_specs=check_specs("hf_croissant"),
        group_name="lake",
        kinds={"parquet"},
        metadata={"dagster/column_schema": table_schema(TABLES["hf_croissant"])},
        description="Curated Croissant table at `<lake>/hf_croissant/date=D/part-0.parquet`: the "
        "raw record plus typed columns parsed from the document. Re-derived from the stored "
        "records, so any day with records can be backfilled (e.g. after a parser fix).",
    )
    def hf_croissant(
        context: AssetExecutionContext, lake: LakeResource
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        store = lake.store()
        _require_raw(store, "hf_croissant", "croissant_records", context.partition_key)
        yield from curate_audited(
            context, store, "hf_croissant", curate_croissant, lake.row_drop_tolerance
        )

    return [hf_datasets, hf_croissant]
