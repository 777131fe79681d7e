"""`hf-croissant backfill --from A --to B` (also `hf-croissant-backfill`): re-derive the curated
tables, checks, table registrations and reports of every day in [A, B] from the raw data stored
for it, one run per day; prints which days were produced and exactly which could not be, and why.
Never calls the Hub."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from datetime import date, timedelta

from hf_croissant_assets.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    load_settings,
    parse_day,
)
from hf_croissant_assets.cli.runs import derived_assets, ensure_dagster_home, run_day
from hf_croissant_assets.settings import env_name

NAME = "backfill"
HELP = "re-derive past days from their stored raw data (no Hub requests)"
#: Exit code when some days could not be produced: the work ran and failed, like any failed run
#: (2 stays "bad settings, nothing was done", so a script can tell the two apart).
EXIT_SOME_MISSING = EXIT_FAILED
#: Exit code after a SIGTERM/SIGINT stopped the range between two days (128 + SIGTERM).
EXIT_STOPPED = 143


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
    span = (end - start).days + 1
    if span > settings.backfill_max_days:
        parser.error(
            f"--from {start} --to {end} spans {span} days; at most "
            f"{settings.backfill_max_days} ({env_name('backfill_max_days')}) per backfill: "
            "split the range, or raise the setting"
        )

    from dagster import DagsterInstance

    derived = derived_assets(settings)
    instance = DagsterInstance.get()
    produced: list[str] = []
    missing: dict[str, str] = {}
    # SIGTERM (a container stop) or Ctrl-C ends the range cleanly: the day being produced is
    # finished (each day is written atomically), no further day is started.
    stop: list[str] = []

    def request_stop(signum: int, frame: object) -> None:
        stop.append(signal.Signals(signum).name)
        print(f"{stop[0]}: stopping after the current day", file=sys.stderr, flush=True)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    day = start
    try:
        while day <= end and not stop:
            outcome = run_day(day.isoformat(), derived, instance, settings)
            if outcome.success:
                produced.append(outcome.date)
                print(f"produced {outcome.date}: {', '.join(outcome.materialized)}")
            else:
                reason = next(iter(outcome.errors.values()), "failed")
                missing[outcome.date] = reason
                print(f"NOT produced {outcome.date}: {reason}", file=sys.stderr)
            day += timedelta(days=1)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    summary: dict[str, object] = {"produced": produced, "not_produced": missing}
    if stop:
        summary["stopped_by"] = stop[0]
        summary["not_started"] = [
            (start + timedelta(days=i)).isoformat() for i in range((day - start).days, span)
        ]
    print(json.dumps(summary))
    if stop:
        return EXIT_STOPPED
    return EXIT_OK if not missing else EXIT_SOME_MISSING
