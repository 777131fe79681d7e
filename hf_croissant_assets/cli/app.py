"""`hf-croissant <command>`: one command-line tool; each subcommand is a module of this package
in `commands/` with `NAME`, `HELP`, `add_arguments(parser)` and `run(args, parser) -> exit code`.

Add a command by writing its module in `commands/` and listing it in `COMMANDS`.
"""

from __future__ import annotations

import argparse
from types import ModuleType

from hf_croissant_assets import settings
from hf_croissant_assets.cli.commands import (
    backfill,
    doctor,
    explore,
    history,
    publish,
    snapshot,
    sql,
)
from hf_croissant_assets.cli.common import EXIT_CODES_HELP

#: The subcommands, in the order `--help` lists them.
COMMANDS: tuple[ModuleType, ...] = (snapshot, backfill, sql, history, doctor, publish, explore)


def _epilog() -> str:
    return f"{EXIT_CODES_HELP}\n\n{settings.help_text()}"


def build_parser(prog: str = "hf-croissant") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Daily snapshot of every Hugging Face Hub dataset (listing + Croissant) "
        "into a parquet lake.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for command in COMMANDS:
        child = sub.add_parser(
            command.NAME,
            help=command.HELP,
            description=command.HELP,
            epilog=_epilog(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(child)
        child.set_defaults(_command=command, _parser=child)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args._command.run(args, args._parser))


def single(command: ModuleType, prog: str, argv: list[str] | None = None) -> int:
    """A subcommand as its own program (the older `hf-croissant-snapshot` style names)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=command.HELP,
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_arguments(parser)
    return int(command.run(parser.parse_args(argv), parser))
