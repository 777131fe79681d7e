"""Alerts a team can subscribe to: run-status sensors posting to a webhook, and freshness checks.

- `changes_alert_sensor` (after a successful run) and `run_failure_alert_sensor` (after a failed
  one) post one message per day whose `hf_dataset_changes` the run produced, with the counts per
  kind (only the watch list's events if HF_CROISSANT_ALERT_WATCH is set); the failure sensor
  posts the failure too. They exist only when HF_CROISSANT_ALERT_WEBHOOK_URL is set.
- The URL is an `EnvVar`: resolved when the sensor runs, shown by name in the UI, never logged.
- A freshness policy on the daily tables makes a late day visible in the UI: after
  HF_CROISSANT_FRESHNESS_DEADLINE_HOUR (UTC) a table not materialized within the last 24 h is
  shown as failing its freshness (Dagster's `FreshnessPolicy`, evaluated by the daemon).
"""

from __future__ import annotations

from datetime import timedelta

from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    ConfigurableResource,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    FreshnessPolicy,
    RunFailureSensorContext,
    RunStatusSensorContext,
    SensorDefinition,
    SkipReason,
    map_asset_specs,
    run_failure_sensor,
    run_status_sensor,
)
from dagster._utils.error import SerializableErrorInfo
from pydantic import Field

from hf_croissant_assets.curate.changes import TABLE
from hf_croissant_assets.defs.resources import LakeResource
from hf_croissant_assets.report.alerts import (
    day_message,
    failure_message,
    parse_watch,
    post,
    summarize_day,
)
from hf_croissant_assets.settings import env_name

#: The daily tables whose lateness the freshness checks report.
FRESH_TABLES: tuple[str, ...] = ("hf_datasets", "hf_croissant", TABLE)


class AlertResource(ConfigurableResource):
    """Where alerts go: the webhook URL (a secret, from the environment) and the watch list."""

    webhook_url: str = Field(description=env_name("alert_webhook_set"))
    watch: str | None = Field(default=None, description=env_name("alert_watch"))
    timeout_s: float = 10.0

    def watch_list(self) -> list[str]:
        return parse_watch(self.watch) if self.watch else []

    def send(self, payload: dict[str, str]) -> int:
        return post(self.webhook_url, payload, timeout_s=self.timeout_s)


def produced_days(instance: DagsterInstance, run_id: str) -> list[str]:
    """The partitions of `hf_dataset_changes` the run materialized, in order."""
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=10_000
    ).records
    days: list[str] = []
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None or event.asset_key != AssetKey(TABLE):
            continue
        partition = event.partition
        if partition and partition not in days:
            days.append(partition)
    return days


def _post_days(
    instance: DagsterInstance, run_id: str, alerts: AlertResource, lake: LakeResource, log
) -> list[str]:
    store = lake.store()
    posted = []
    for day in produced_days(instance, run_id):
        summary = summarize_day(store, day, alerts.watch_list())
        alerts.send(day_message(summary))
        log.info(f"alert posted for {day}: {summary.total} event(s)")
        posted.append(day)
    return posted


def _root_cause(error: SerializableErrorInfo | None) -> str:
    """The innermost error's message (Dagster wraps the asset's exception in its own)."""
    if error is None:
        return "failed"
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def build_alert_sensors() -> list[SensorDefinition]:
    @run_status_sensor(
        name="changes_alert_sensor",
        run_status=DagsterRunStatus.SUCCESS,
        default_status=DefaultSensorStatus.RUNNING,
        description="After each successful run that produced a day of hf_dataset_changes, posts "
        "that day's change summary to HF_CROISSANT_ALERT_WEBHOOK_URL (Slack-compatible JSON).",
    )
    def changes_alert_sensor(
        context: RunStatusSensorContext, alerts: AlertResource, lake: LakeResource
    ) -> SkipReason | None:
        posted = _post_days(context.instance, context.dagster_run.run_id, alerts, lake, context.log)
        return None if posted else SkipReason("the run produced no hf_dataset_changes day")

    @run_failure_sensor(
        name="run_failure_alert_sensor",
        default_status=DefaultSensorStatus.RUNNING,
        description="After each failed run, posts the failure to HF_CROISSANT_ALERT_WEBHOOK_URL "
        "(and the change summary of any day the run produced before failing).",
    )
    def run_failure_alert_sensor(
        context: RunFailureSensorContext, alerts: AlertResource, lake: LakeResource
    ) -> None:
        run = context.dagster_run
        steps = context.get_step_failure_events()
        errors = [f"{e.step_key}: {_root_cause(e.step_failure_data.error)}" for e in steps] or [
            context.failure_event.message or "run failed"
        ]
        alerts.send(
            failure_message(
                run.job_name, run.run_id, run.tags.get("dagster/partition"), "\n".join(errors)
            )
        )
        context.log.info(f"failure alert posted for run {run.run_id}")
        _post_days(context.instance, run.run_id, alerts, lake, context.log)

    return [changes_alert_sensor, run_failure_alert_sensor]


def freshness_policy(deadline_hour: int) -> FreshnessPolicy:
    """Each daily table is expected to have been materialized within the 24 h before
    `deadline_hour` UTC every day."""
    return FreshnessPolicy.cron(
        deadline_cron=f"0 {deadline_hour} * * *", lower_bound_delta=timedelta(hours=24)
    )


def with_freshness(assets: list[AssetsDefinition], deadline_hour: int) -> list[AssetsDefinition]:
    """`assets` with the freshness policy set on the daily tables (`FRESH_TABLES`)."""
    policy = freshness_policy(deadline_hour)
    fresh = {AssetKey(t) for t in FRESH_TABLES}

    def apply(spec: AssetSpec) -> AssetSpec:
        return spec.replace_attributes(freshness_policy=policy) if spec.key in fresh else spec

    return list(map_asset_specs(apply, assets))
