"""`hf-croissant snapshot [--date D] [--select a,b]` (also `hf-croissant-snapshot`): the daily
snapshot job for one day (default: today, UTC), the same as `dagster asset materialize -m
hf_croissant_assets.definitions --select '*' --partition D`."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from hf_croissant_assets.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    load_settings,
    parse_day,
    print_config_error,
)
from hf_croissant_assets.cli.runs import ensure_dagster_home, run_day
from hf_croissant_assets.settings import SettingError

NAME = "snapshot"
HELP = "run the daily snapshot job for one day (default: today, UTC)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
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


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    ensure_dagster_home()
    day = parse_day(parser, args.date, "--date")
    selection = None if args.select == "*" else [s.strip() for s in args.select.split(",")]
    settings = load_settings()
    if settings is None:
        return EXIT_CONFIG
    try:
        outcome = run_day(day, selection, settings=settings)
    except SettingError as exc:
        print_config_error(exc)
        return EXIT_CONFIG
    except ValueError as exc:
        parser.error(f"--select: {exc}")
    for name in outcome.materialized:
        print(f"materialized {name} [{day}]")
    for step, message in outcome.errors.items():
        print(f"FAILED {step} [{day}]: {message}", file=sys.stderr)
    return EXIT_OK if outcome.success else EXIT_FAILED
