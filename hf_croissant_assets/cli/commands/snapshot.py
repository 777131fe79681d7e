"""`hf-croissant snapshot [--date D] [--select a,b] [--dry-run] [-v]` (also `hf-croissant-snapshot`):
the daily snapshot job for one day (default: today, UTC), the same as `dagster asset materialize
-m hf_croissant_assets.definitions --select '*' --partition D`, recorded under its real job.

Before the run, the preflight checks every setting the run needs (one line per problem, exit 2,
no Hub request made); `--dry-run` shows the day's plan and stops there. Ctrl-C stops the run,
which resumes where it stopped when the same command runs again. The end of a run says what was
produced, where, and how to query it.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, date, datetime

from hf_croissant_assets.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    add_verbose,
    load_settings,
    parse_day,
    print_config_error,
)
from hf_croissant_assets.cli.runs import DayOutcome, ensure_dagster_home, run_day
from hf_croissant_assets.schema import TABLES
from hf_croissant_assets.settings import SettingError, Settings, env_name

NAME = "snapshot"
HELP = "run the daily snapshot job for one day (default: today, UTC)"
RESUME_HINT = "stopped; run the same command to resume"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--date",
        default=None,
        help="partition (UTC day, YYYY-MM-DD); default today. Fetching only works for today.",
    )
    parser.add_argument(
        "--select",
        default="*",
        help="comma-separated asset names, e.g. 'hf_datasets,hf_croissant' (default: all)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check the settings and show the day's plan (what would be fetched, by priority, "
        "and how long that takes at the Hub's announced quota); fetch nothing",
    )
    add_verbose(parser)


def _check_day(parser: argparse.ArgumentParser, day: str, settings: Settings) -> None:
    """A day outside the partitions fails here, naming the setting, not as Dagster's
    `DagsterUnknownPartitionError` inside the run."""
    from hf_croissant_assets.defs.partitions import first_partition_day

    today = datetime.now(UTC).date()
    first = first_partition_day(settings.start_date, settings.lake, today)
    wanted = date.fromisoformat(day)
    if wanted > today:
        parser.error(f"--date {day} is in the future (today is {today} UTC)")
    if wanted < first:
        origin = (
            f"{env_name('start_date')}={first}"
            if settings.start_date
            else f"the lake's first day ({first}; {env_name('start_date')} starts it earlier)"
        )
        parser.error(f"--date {day} is before the first partition: {origin}")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from hf_croissant_assets.cli.console import configure_logging

    configure_logging(args.verbose)
    ensure_dagster_home()
    day = parse_day(parser, args.date or datetime.now(UTC).date().isoformat(), "--date")
    selection = (
        None if args.select == "*" else [s.strip() for s in args.select.split(",") if s.strip()]
    )
    settings = load_settings()
    if settings is None:
        return EXIT_CONFIG
    _check_day(parser, day, settings)

    from hf_croissant_assets.defs.jobs import FETCHING_ASSETS
    from hf_croissant_assets.preflight import run_preflight

    fetching = selection is None or bool(set(FETCHING_ASSETS) & set(selection))
    report = run_preflight(settings, hub=fetching or args.dry_run)
    if not report.ok:
        print("preflight failed, nothing was fetched:", file=sys.stderr)
        for check in report.problems:
            print(f"  {check.message}", file=sys.stderr)
        return EXIT_CONFIG
    if args.dry_run:
        from hf_croissant_assets.cli.plan_view import print_plan

        return print_plan(settings, day)

    try:
        outcome = run_day(day, selection, settings=settings, verbose=args.verbose)
    except KeyboardInterrupt:
        print(RESUME_HINT, file=sys.stderr)
        return EXIT_INTERRUPTED
    except SettingError as exc:
        print_config_error(exc)
        return EXIT_CONFIG
    except ValueError as exc:
        parser.error(f"--select: {exc}")
    if outcome.interrupted:
        print(RESUME_HINT, file=sys.stderr)
        return EXIT_INTERRUPTED
    print_outcome(settings, outcome)
    return EXIT_OK if outcome.success else EXIT_FAILED


def one_line(message: str, limit: int = 400) -> str:
    """A failure as one readable line: whitespace folded, URL query strings (the listing's
    `expand=` lists run to hundreds of characters) elided, the whole capped."""
    text = re.sub(r"(https?://[^\s?]+)\?[^\s)]+", r"\1?…", " ".join(message.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def print_outcome(settings: Settings, outcome: DayOutcome) -> None:
    """What was produced, where, and a one-line query; one line per failure."""
    from hf_croissant_assets.lake.store import LakeStore
    from hf_croissant_assets.report.build import report_dir

    day = outcome.date
    from hf_croissant_assets.defs.jobs import FETCHING_ASSETS

    for step, message in outcome.errors.items():
        print(f"FAILED {step} [{day}]: {one_line(message)}", file=sys.stderr)
        if step in FETCHING_ASSETS and "cannot be fetched now" not in message:
            print(
                f"  the Hub step failed: check {env_name('hf_endpoint')}, {env_name('hf_token_set')} "
                "and the network (`hf-croissant doctor`); the next run resumes where it stopped",
                file=sys.stderr,
            )
    if outcome.errors:
        print(
            f"  (full trace: run {outcome.run_id} in the Dagster UI, `dagster dev`)",
            file=sys.stderr,
        )
    if not outcome.materialized:
        return
    store = LakeStore(settings.lake)
    print(f"produced {day}: {', '.join(outcome.materialized)}")
    width = max(len(t) for t in TABLES)
    for table in TABLES:
        if table in outcome.materialized and store.exists(table, day):
            rows = store.num_rows(table, day)
            print(f"  {table:<{width}} {rows:>11,} rows  {store.url(store.part_path(table, day))}")
    if "duckdb_tables" in outcome.materialized:
        print(f"  {'duckdb':<{width}} {settings.duckdb} (views: {', '.join(TABLES)})")
    if "daily_report" in outcome.materialized:
        print(f"  {'report':<{width}} {store.url(report_dir(store, day))}/report.html")
    if {"hf_datasets", "hf_croissant"} & set(outcome.materialized):
        print(
            'query: hf-croissant sql "SELECT status, count(*) FROM hf_croissant '
            f"WHERE date = DATE '{day}' GROUP BY 1 ORDER BY 2 DESC\""
        )
