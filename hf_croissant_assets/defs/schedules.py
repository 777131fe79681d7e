"""The daily schedule: one run per UTC day for that day's partition, never twice for a day."""

from __future__ import annotations

from datetime import UTC

from dagster import (
    AssetKey,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

#: A day counts as done once its complete Croissant table is published.
DONE_MARKER = AssetKey("hf_croissant")


def build_daily_schedule(job: UnresolvedAssetJobDefinition, hour: int) -> ScheduleDefinition:
    @schedule(
        name="daily_snapshot_schedule",
        job=job,
        cron_schedule=f"0 {hour} * * *",
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        description=f"Each UTC day at {hour:02d}:00 (HF_CROISSANT_SCHEDULE_HOUR), snapshot that "
        "day (skipped if the day was already produced, e.g. by a manual run).",
    )
    def daily_snapshot_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        day = context.scheduled_execution_time.astimezone(UTC).date().isoformat()
        if day in context.instance.get_materialized_partitions(DONE_MARKER):
            return SkipReason(f"{day} is already materialized (hf_croissant); not fetching again")
        # The run key makes a re-evaluated tick for the same day a no-op as well.
        return RunRequest(run_key=f"daily_snapshot-{day}", partition_key=day)

    return daily_snapshot_schedule
