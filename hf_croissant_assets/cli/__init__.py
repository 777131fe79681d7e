"""The command line: `hf-croissant <command>` (see `app.py`), plus the older per-command names
`hf-croissant-snapshot` and `hf-croissant-backfill`, kept working."""

from __future__ import annotations


def hf_croissant(argv: list[str] | None = None) -> int:
    """`hf-croissant`."""
    from hf_croissant_assets.cli.app import main as app_main

    return app_main(argv)


def main(argv: list[str] | None = None) -> int:
    """`hf-croissant-snapshot` (= `hf-croissant snapshot`)."""
    from hf_croissant_assets.cli.app import single
    from hf_croissant_assets.cli.commands import snapshot

    return single(snapshot, "hf-croissant-snapshot", argv)


def backfill(argv: list[str] | None = None) -> int:
    """`hf-croissant-backfill` (= `hf-croissant backfill`)."""
    from hf_croissant_assets.cli.app import single
    from hf_croissant_assets.cli.commands import backfill as command

    return single(command, "hf-croissant-backfill", argv)
