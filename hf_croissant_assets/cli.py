"""Command-line entry points, recorded in the local Dagster instance so `dagster dev` shows them.

- `hf-croissant-snapshot [--date D] [--select a,b]`: the daily snapshot job for one day (default:
  today, UTC). The same as `dagster asset materialize -m hf_croissant_assets.definitions
  --select '*' --partition D`.
- `hf-croissant-backfill --from A --to B`: re-derive the curated tables, checks, table
  registrations and reports of every day in [A, B] from the raw data stored for it, one run per
  day; prints which days were produced and exactly which could not be, and why.

DAGSTER_HOME defaults to the current folder when it holds this project's dagster.yaml, else to
./data/dagster_home.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hf_croissant_assets.settings import SettingError, Settings


def _default_dagster_home() -> str:
    cwd = Path.cwd()
    if (cwd / "dagster.yaml").exists():
        return str(cwd)
    home = cwd / "data" / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    return str(home)


@dataclass
class DayOutcome:
    date: str
    success: bool
    materialized: list[str]
    errors: dict[str, str]  # step -> root cause message


def _root_message(error) -> str:
    while (error.cause or error.context) is not None:  # the user's error is inside Dagster's
        error = error.cause or error.context
    return error.message.strip()


def run_day(
    day: str, selection: list[str] | None, instance=None, settings: Settings | None = None
) -> DayOutcome:
    """Materialize `selection` (asset names; None = all) for one day; never raises for failures.

    The run is recorded under its real job (`daily_snapshot`, or `rederive` when no selected
    asset talks to the Hub), so `dagster dev` shows CLI runs beside scheduled ones.
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
    job = defs.resolve_job_def(job_name)
    result = job.execute_in_process(
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
    return DayOutcome(day, result.success, materialized, errors)


def _parse_day(parser: argparse.ArgumentParser, value: str, flag: str) -> str:
    from hf_croissant_assets.lake.store import PartitionKeyError, validate_date

    try:
        return validate_date(value)
    except PartitionKeyError as exc:
        parser.error(f"{flag}: {exc}")
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hf-croissant-snapshot", description="Run the daily snapshot job for one day."
    )
    parser.add_argument(
        "--date",
        default=datetime.now(UTC).date().isoformat(),
        help="partition (UTC day, YYYY-MM-DD); default today. Fetching only works for today.",
    )
    parser.add_argument(
        "--select",
        default="*",
        help="comma-separated asset names, e.g. 'hf_datasets,hf_croissant' (default: all)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("DAGSTER_HOME", _default_dagster_home())
    day = _parse_day(parser, args.date, "--date")
    selection = None if args.select == "*" else [s.strip() for s in args.select.split(",")]
    try:
        settings = Settings.from_env()
    except SettingError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    try:
        outcome = run_day(day, selection, settings=settings)
    except SettingError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        parser.error(f"--select: {exc}")
    for name in outcome.materialized:
        print(f"materialized {name} [{day}]")
    for step, message in outcome.errors.items():
        print(f"FAILED {step} [{day}]: {message}", file=sys.stderr)
    return 0 if outcome.success else 1


def backfill(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hf-croissant-backfill",
        description="Re-derive past days from their stored raw data (no Hub requests).",
    )
    parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (inclusive)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DAGSTER_HOME", _default_dagster_home())
    start = date.fromisoformat(_parse_day(parser, args.start, "--from"))
    end = date.fromisoformat(_parse_day(parser, args.end, "--to"))
    if end < start:
        parser.error(f"--to {end} is before --from {start}")

    from dagster import DagsterInstance

    from hf_croissant_assets.definitions import build_definitions
    from hf_croissant_assets.defs.jobs import FETCHING_ASSETS

    try:
        settings = Settings.from_env()
    except SettingError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    all_keys = build_definitions(settings).resolve_all_asset_keys()
    derived = sorted(k.to_user_string() for k in all_keys if k.path[-1] not in FETCHING_ASSETS)
    instance = DagsterInstance.get()
    produced, missing = [], {}
    day = start
    while day <= end:
        outcome = run_day(day.isoformat(), derived, instance, settings)
        if outcome.success:
            produced.append(outcome.date)
            print(f"produced {outcome.date}: {', '.join(outcome.materialized)}")
        else:
            reason = next(iter(outcome.errors.values()), "failed")
            missing[outcome.date] = reason
            print(f"NOT produced {outcome.date}: {reason}", file=sys.stderr)
        day += timedelta(days=1)
    print(json.dumps({"produced": produced, "not_produced": missing}))
    return 0 if not missing else 2


if __name__ == "__main__":
    raise SystemExit(main())
