"""What every subcommand shares: day arguments, settings errors, verbosity, exit codes."""

from __future__ import annotations

import argparse
import sys

from hf_croissant_assets.settings import SettingError, Settings

#: Exit codes of every command (documented in the README and in `--help`).
EXIT_OK = 0
EXIT_FAILED = 1  # the work ran and failed (a step, a check, a query)
EXIT_CONFIG = 2  # bad settings or arguments, or a failed preflight: nothing was done
EXIT_INTERRUPTED = 130  # Ctrl-C: stopped; the same command resumes

EXIT_CODES_HELP = """exit codes:
  0    done
  1    the work ran and failed (a step, a check, a query; backfill: some days could not
       be produced); one line per failure
  2    bad settings or arguments, or a failed preflight: nothing was done
  130  interrupted (Ctrl-C); run the same command to resume"""


def add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="DEBUG output: Dagster's events too (default: INFO, the assets' own messages)",
    )


def parse_day(parser: argparse.ArgumentParser, value: str, flag: str) -> str:
    from hf_croissant_assets.lake.store import PartitionKeyError, validate_date

    try:
        return validate_date(value)
    except PartitionKeyError as exc:
        parser.error(f"{flag}: {exc}")
        raise  # parser.error exits; this line only tells type checkers so


def load_settings() -> Settings | None:
    """The settings from the environment, or None after printing one line per problem."""
    try:
        return Settings.from_env()
    except SettingError as exc:
        print_config_error(exc)
        return None


def print_config_error(exc: SettingError) -> None:
    print(f"configuration error:\n{exc}", file=sys.stderr)
