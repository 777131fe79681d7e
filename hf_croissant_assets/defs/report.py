"""The daily report: charts about the lake as of day D, shown in the UI and stored beside the lake."""

import base64
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from hf_croissant_assets.defs.resources import LakeResource
from hf_croissant_assets.report.build import CHARTS, build_report
from hf_croissant_assets.schema import TABLES


def _image(name: str, png: bytes) -> MetadataValue:
    alt = name.removesuffix(".png")
    return MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})")


def build_report_assets(partitions: PartitionsDefinition) -> list[AssetsDefinition]:
    @asset(
        partitions_def=partitions,
        deps=list(TABLES),
        group_name="reports",
        kinds={"python", "duckdb"},
        description="Daily report with charts, computed from every snapshot up to day D: datasets "
        "per day (growth), top licenses (tag vs. Croissant), Croissant availability by status, "
        "gated share, the top movers in downloads over the last 7 and 30 snapshots, the day's changes "
        "by kind, and the Croissant in depth (field data types, declared bytes by format, "
        "validity and top errors, license tag vs. Croissant license). PNGs, "
        "`report.html` (all charts and the summary on one static page) and `report.json` in "
        "`<lake>/reports/date=D/`; the charts are shown in this materialization's "
        "metadata. Works from one snapshot up; derived from the lake, so any day can be backfilled.",
    )
    def daily_report(context: AssetExecutionContext, lake: LakeResource) -> MaterializeResult:
        date = context.partition_key
        report = build_report(lake.store(), date)
        for note in report.notes:
            context.log.info(f"daily_report {date}: {note}")
        context.log.info(f"daily_report {date}: {len(CHARTS)} charts -> {report.folder}")
        metadata: dict[str, Any] = {
            f"chart_{name.removesuffix('.png')}": _image(name, report.pngs[name]) for name in CHARTS
        }
        metadata.update(
            {
                "report_html": MetadataValue.path(report.paths["report.html"]),
                "report_folder": MetadataValue.path(report.folder),
                "report_json": MetadataValue.path(report.paths["report.json"]),
                "summary": MetadataValue.json(report.summary()),
                "croissant_status": MetadataValue.json(report.croissant_status),
                "gated": MetadataValue.json(report.gated),
                "growth_per_day": MetadataValue.json(report.growth),
                "changes": MetadataValue.json(report.changes),
                "snapshots": len(report.snapshots),
                "notes": MetadataValue.json(report.notes),
            }
        )
        return MaterializeResult(metadata=metadata)

    return [daily_report]
