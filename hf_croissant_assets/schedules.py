"""The daily schedule: one run per UTC day for that day's partition, never twice for a day."""

from datetime import UTC

from dagster import (
    AssetKey,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from hf_croissant_assets import settings
from hf_croissant_assets.jobs import daily_snapshot_job

#: A day counts as done once its complete Croissant table is published.
DONE_MARKER = AssetKey("hf_croissant")


def _hour() -> int:
    hour = settings.SCHEDULE_HOUR.as_int(0)
    if hour is None or hour > 23:
        raise settings.SettingError(f"{settings.SCHEDULE_HOUR.name}={hour} must be within 0..23")
    return hour


@schedule(
    job=daily_snapshot_job,
    cron_schedule=f"0 {_hour()} * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Each UTC day at HF_CROISSANT_SCHEDULE_HOUR:00, snapshot that day (skipped if the "
    "day was already produced, e.g. by a manual run).",
)
def daily_snapshot_schedule(context: ScheduleEvaluationContext):
    day = context.scheduled_execution_time.astimezone(UTC).date().isoformat()
    if day in context.instance.get_materialized_partitions(DONE_MARKER):
        return SkipReason(f"{day} is already materialized (hf_croissant); not fetching again")
    # The run key makes a re-evaluated tick for the same day a no-op as well.
    return RunRequest(run_key=f"daily_snapshot-{day}", partition_key=day)
