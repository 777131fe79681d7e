"""`hf-croissant backfill --from A --to B` (also `hf-croissant-backfill`): re-derive the curated
tables, checks, table registrations and reports of every day in [A, B] from the raw data stored
for it, one run per day; prints which days were produced and exactly which could not be, and why.
Never calls the Hub."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta

from hf_croissant_assets.cli.common import EXIT_CONFIG, EXIT_OK, load_settings, parse_day
from hf_croissant_assets.cli.runs import derived_assets, ensure_dagster_home, run_day

NAME = "backfill"
HELP = "re-derive past days from their stored raw data (no Hub requests)"
#: Exit code when some days could not be produced.
EXIT_SOME_MISSING = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (inclusive)")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    ensure_dagster_home()
    start = date.fromisoformat(parse_day(parser, args.start, "--from"))
    end = date.fromisoformat(parse_day(parser, args.end, "--to"))
    if end < start:
        parser.error(f"--to {end} is before --from {start}")
    settings = load_settings()
    if settings is None:
        return EXIT_CONFIG

    from dagster import DagsterInstance

    derived = derived_assets(settings)
    instance = DagsterInstance.get()
    produced: list[str] = []
    missing: dict[str, str] = {}
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
    return EXIT_OK if not missing else EXIT_SOME_MISSING
