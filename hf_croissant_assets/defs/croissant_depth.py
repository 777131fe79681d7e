"""The Croissant in depth: fields, files and the reference validator's verdict, per day.

All three are derived from the day's `hf_croissant` partition (its raw documents), so any stored
day can be re-derived (the `rederive` job, backfills). `croissant_validation` is its own asset,
downstream of `hf_croissant` only: a slow validator never holds up the core tables, the DuckDB /
Athena tables or the fields / files tables. Every table is written write-audit-publish style with
its blocking checks (`curate/checks.py`).
"""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from hf_croissant_assets.curate.tables import curate_croissant_fields, curate_croissant_files
from hf_croissant_assets.curate.validation import ValidationResult, validate_day
from hf_croissant_assets.defs.checks import check_specs, curate_audited
from hf_croissant_assets.defs.resources import LakeResource, ValidatorSettings
from hf_croissant_assets.lake.store import LakeStore, WriteResult
from hf_croissant_assets.schema import LAKE_DATASETS


def _require_croissant(store: LakeStore, table: str, date: str) -> None:
    if not store.exists("hf_croissant", date):
        raise FileNotFoundError(
            f"{table} {date}: no hf_croissant partition for {date} "
            f"({store.url(store.part_path('hf_croissant', date))}); materialize hf_croissant for "
            "that day first"
        )


def build_croissant_depth_assets(partitions: PartitionsDefinition) -> list[AssetsDefinition]:
    @asset(
        name="hf_croissant_fields",
        partitions_def=partitions,
        deps=["hf_croissant"],
        check_specs=check_specs("hf_croissant_fields"),
        group_name="croissant_depth",
        kinds={"parquet"},
        description=LAKE_DATASETS["hf_croissant_fields"].description
        + " At `<lake>/hf_croissant_fields/date=D/`; re-derived from hf_croissant.",
    )
    def hf_croissant_fields(
        context: AssetExecutionContext, lake: LakeResource
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        store = lake.store()
        _require_croissant(store, "hf_croissant_fields", context.partition_key)
        yield from curate_audited(
            context, store, "hf_croissant_fields", curate_croissant_fields, lake.row_drop_tolerance
        )

    @asset(
        name="hf_croissant_files",
        partitions_def=partitions,
        deps=["hf_croissant"],
        check_specs=check_specs("hf_croissant_files"),
        group_name="croissant_depth",
        kinds={"parquet"},
        description=LAKE_DATASETS["hf_croissant_files"].description
        + " At `<lake>/hf_croissant_files/date=D/`; re-derived from hf_croissant.",
    )
    def hf_croissant_files(
        context: AssetExecutionContext, lake: LakeResource
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        store = lake.store()
        _require_croissant(store, "hf_croissant_files", context.partition_key)
        yield from curate_audited(
            context, store, "hf_croissant_files", curate_croissant_files, lake.row_drop_tolerance
        )

    @asset(
        name="croissant_validation",
        partitions_def=partitions,
        deps=["hf_croissant"],
        check_specs=check_specs("croissant_validation"),
        group_name="croissant_depth",
        kinds={"python", "parquet"},
        description=LAKE_DATASETS["croissant_validation"].description
        + " At `<lake>/croissant_validation/date=D/`. Offline (a remote @context is an error, "
        "never fetched), in HF_CROISSANT_VALIDATION_WORKERS processes, "
        "HF_CROISSANT_VALIDATION_TIMEOUT_S per document, at most "
        "HF_CROISSANT_VALIDATION_MAX_DOCS validated per run.",
    )
    def croissant_validation(
        context: AssetExecutionContext, lake: LakeResource, validator: ValidatorSettings
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        store = lake.store()
        date = context.partition_key
        _require_croissant(store, "croissant_validation", date)
        counts = ValidationResult()

        def run(store: LakeStore, date: str, audit: Any = None) -> WriteResult:
            write, result = validate_day(
                store,
                date,
                workers=validator.workers,
                timeout_s=validator.timeout_s,
                max_docs=validator.max_docs,
                audit=audit,
                progress=context.log.info,
            )
            counts.__dict__.update(result.__dict__)
            return write

        def extra() -> dict[str, Any]:
            return {
                "validated": counts.validated,
                "carried_forward": counts.carried_forward,
                "not_validated": counts.not_validated,
                "valid": counts.valid,
                "invalid": counts.invalid,
                "timed_out": counts.timed_out,
                "docs_per_s": round(counts.docs_per_s, 1),
                "pool_startup_s": round(counts.pool_startup_s, 2),
                "validator_version": counts.validator_version,
                "previous_snapshot": counts.previous_date or "none",
                "validator": MetadataValue.md(
                    f"{counts.validator_version}, {validator.workers} worker(s), "
                    f"{validator.timeout_s:g} s per document, offline"
                ),
            }

        yield from curate_audited(
            context, store, "croissant_validation", run, lake.row_drop_tolerance, extra
        )

    return [hf_croissant_fields, hf_croissant_files, croissant_validation]
