"""The daily schedule: one run per UTC day for that day's partition."""

from dagster import DefaultScheduleStatus, build_schedule_from_partitioned_job

from hf_croissant_assets import settings
from hf_croissant_assets.jobs import daily_snapshot_job


def _hour() -> int:
    hour = settings.SCHEDULE_HOUR.as_int(0)
    if hour is None or hour > 23:
        raise settings.SettingError(f"{settings.SCHEDULE_HOUR.name}={hour} must be within 0..23")
    return hour


# The partitions include today (end_offset=1), so each tick targets the day it runs in.
daily_snapshot_schedule = build_schedule_from_partitioned_job(
    daily_snapshot_job,
    hour_of_day=_hour(),
    minute_of_hour=0,
    default_status=DefaultScheduleStatus.RUNNING,
)
