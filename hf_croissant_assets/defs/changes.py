"""`hf_dataset_changes`: the day's events (created, deleted, license changed, Croissant appeared,
...) diffed from the lake's snapshots by `curate/changes.py`. Never calls the Hub, so any day can
be re-derived (it is in the rederive job). Written write-audit-publish like the curated tables:
the blocking checks see the new file before it replaces the day."""

from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from hf_croissant_assets.curate import checks as quality
from hf_croissant_assets.curate.changes import TABLE, compute_changes
from hf_croissant_assets.defs.checks import Auditor, check_specs
from hf_croissant_assets.defs.metadata import table_metadata
from hf_croissant_assets.defs.resources import LakeResource
from hf_croissant_assets.schema import TABLES
from hf_croissant_assets.settings import default


def build_changes_assets(
    partitions: PartitionsDefinition, downloads_factor: float | None = None
) -> list[AssetsDefinition]:
    factor = float(downloads_factor or default("downloads_jump_factor"))

    @asset(
        name=TABLE,
        partitions_def=partitions,
        deps=["hf_datasets", "hf_croissant"],
        check_specs=check_specs(TABLE),
        group_name="lake",
        kinds={"parquet", "duckdb"},
        description="What changed on the Hub: one row per event between day D and the newest "
        "earlier snapshot (gaps allowed) — created, deleted, updated (sha), license/gated/"
        "disabled changed, Croissant appeared/disappeared/changed/status changed, downloads "
        f"jump (x{factor:g}, HF_CROISSANT_DOWNLOADS_JUMP_FACTOR). Derived from hf_datasets and "
        "hf_croissant, never from the Hub. `<lake>/hf_dataset_changes/date=D/part-0.parquet`.",
    )
    def hf_dataset_changes(
        context: AssetExecutionContext, lake: LakeResource
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        store = lake.store()
        date = context.partition_key
        auditor = Auditor(store, TABLE, date, lake.row_drop_tolerance)
        try:
            result = compute_changes(store, date, downloads_factor=factor, audit=auditor)
        except quality.AuditFailed as exc:
            yield from auditor.fail(exc)
            return
        assert result.write is not None
        since = result.previous_date or "no earlier snapshot"
        context.log.info(f"{TABLE} {date} vs {since}: {result.rows} events {result.counts}")
        metadata = table_metadata(store, TABLE, date, result.write, TABLES[TABLE])
        metadata.update(
            {
                "previous_date": result.previous_date or "none",
                "events_by_kind": MetadataValue.json(result.counts),
                **{f"events/{kind}": n for kind, n in result.counts.items()},
            }
        )
        yield MaterializeResult(metadata=metadata, check_results=auditor.results())

    return [hf_dataset_changes]
