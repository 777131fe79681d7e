"""`hf-croissant doctor`: the preflight alone, one line per check.

Checks everything a snapshot needs before its first Hub request (the lake, the DuckDB file, the
warehouse mode, the Hub and the token, the publish token) and says, for each problem, which
setting to change and how. Exit 0 when every check passed, 2 otherwise.
"""

from __future__ import annotations

import argparse

from hf_croissant_assets.cli.common import EXIT_CONFIG, EXIT_OK, load_settings

NAME = "doctor"
HELP = "check the settings, the lake, DuckDB, the Hub and the token (what every run checks first)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--offline", action="store_true", help="skip the Hub checks (what a backfill needs)"
    )


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from hf_croissant_assets.preflight import run_preflight

    settings = load_settings()
    if settings is None:
        return EXIT_CONFIG
    report = run_preflight(settings, hub=not args.offline)
    for check in report.checks:
        print(check.line())
    if report.ok:
        print("all checks passed")
        return EXIT_OK
    print(f"{len(report.problems)} problem(s): fix the setting named on each FAIL line")
    return EXIT_CONFIG
