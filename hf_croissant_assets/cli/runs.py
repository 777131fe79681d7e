"""Running the definitions for one day from a command, recorded in the local Dagster instance
(so `dagster dev` shows CLI runs beside scheduled ones, under their real job name)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_croissant_assets.settings import Settings


def default_dagster_home() -> str:
    """The current folder when it holds this project's dagster.yaml, else ./data/dagster_home."""
    cwd = Path.cwd()
    if (cwd / "dagster.yaml").exists():
        return str(cwd)
    home = cwd / "data" / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():  # without one, Dagster prints a warning and a telemetry banner
        config.write_text(
            "# Written by hf-croissant: the instance of command-line runs outside a checkout.\n"
            "telemetry:\n  enabled: false\n"
        )
    return str(home)


def ensure_dagster_home() -> None:
    os.environ.setdefault("DAGSTER_HOME", default_dagster_home())


@dataclass
class DayOutcome:
    date: str
    success: bool
    materialized: list[str]
    errors: dict[str, str]  # step -> root cause message
    run_id: str = ""
    interrupted: bool = False


def _root_message(error: Any) -> str:
    while (error.cause or error.context) is not None:  # the user's error is inside Dagster's
        error = error.cause or error.context
    return str(error.message).strip()


def run_day(
    day: str,
    selection: list[str] | None,
    instance: Any = None,
    settings: Settings | None = None,
    verbose: bool = False,
) -> DayOutcome:
    """Materialize `selection` (asset names; None = all) for one day; never raises for failures.

    The run is recorded under its real job (`daily_snapshot`, or `rederive` when no selected
    asset talks to the Hub).
    """
    from dagster import AssetKey, DagsterInstance

    from hf_croissant_assets.definitions import build_definitions
    from hf_croissant_assets.defs.jobs import DAILY_SNAPSHOT, FETCHING_ASSETS, REDERIVE

    defs = build_definitions(settings or Settings.from_env())
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    wanted = sorted(keys) if selection is None else selection
    unknown = sorted(set(wanted) - keys)
    if unknown:
        raise ValueError(f"unknown asset(s) {unknown}; known: {sorted(keys)}")
    job_name = DAILY_SNAPSHOT if set(FETCHING_ASSETS) & set(wanted) else REDERIVE
    from hf_croissant_assets.cli.console import cli_logger, logger_run_config

    # The command's console shows the assets' messages, not Dagster's event stream.
    job = defs.resolve_job_def(job_name).with_logger_defs({"console": cli_logger})
    result = job.execute_in_process(
        run_config=logger_run_config(verbose),
        partition_key=day,
        instance=instance or DagsterInstance.get(),
        asset_selection=[AssetKey(name) for name in wanted],
        raise_on_error=False,
    )
    materialized = [
        e.step_materialization_data.materialization.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
    ]
    errors = {
        str(e.step_key): _root_message(e.step_failure_data.error)
        for e in result.all_events
        if e.is_step_failure
    }
    if not result.success and not errors:  # e.g. a resource's set-up (the preflight) failed
        for e in result.all_events:
            error = getattr(e.event_specific_data, "error", None)
            if e.event_type_value.endswith("FAILURE") and error is not None:
                errors[str(e.step_key or e.event_type_value)] = _root_message(error)
    interrupted = any(
        e.event_type_value in ("RUN_CANCELED", "STEP_FAILURE")
        and "interrupt" in str(e.message or "").lower()
        for e in result.all_events
    ) or any("interrupt" in message.lower() for message in errors.values())
    return DayOutcome(
        day, result.success, materialized, errors, result.run_id, interrupted and not result.success
    )


def derived_assets(settings: Settings) -> list[str]:
    """Every asset that never calls the Hub (what a backfill re-derives)."""
    from hf_croissant_assets.definitions import build_definitions
    from hf_croissant_assets.defs.jobs import FETCHING_ASSETS

    keys = build_definitions(settings).resolve_all_asset_keys()
    return sorted(k.to_user_string() for k in keys if k.path[-1] not in FETCHING_ASSETS)
