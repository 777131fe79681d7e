"""`hf-croissant-snapshot`: run the daily snapshot job for one day on the embedded defaults.

The same as `dagster asset materialize -m hf_croissant_assets.definitions --select '*'
--partition <day>`, with the run recorded in the local Dagster instance (DAGSTER_HOME, default:
the folder holding this project's dagster.yaml, else ./data/dagster_home) so `dagster dev` shows it.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path


def _default_dagster_home() -> str:
    cwd = Path.cwd()
    if (cwd / "dagster.yaml").exists():
        return str(cwd)
    home = cwd / "data" / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    return str(home)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hf-croissant-snapshot", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--date",
        default=datetime.now(UTC).date().isoformat(),
        help="partition (UTC day, YYYY-MM-DD); default today. Fetching only works for today.",
    )
    parser.add_argument(
        "--select",
        default="*",
        help="asset selection, e.g. 'hf_datasets' to re-derive a past day (default: everything)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("DAGSTER_HOME", _default_dagster_home())

    from dagster import DagsterInstance, materialize

    from hf_croissant_assets.definitions import all_assets, resources
    from hf_croissant_assets.lake.store import validate_date

    validate_date(args.date)
    keys = {key.to_user_string(): key for a in all_assets for key in a.keys}
    wanted = list(keys) if args.select == "*" else [s.strip() for s in args.select.split(",")]
    unknown = sorted(set(wanted) - set(keys))
    if unknown:
        parser.error(f"--select: unknown asset(s) {unknown}; known: {sorted(keys)}")
    result = materialize(
        all_assets,
        partition_key=args.date,
        resources=resources,
        instance=DagsterInstance.get(),
        selection=[keys[name] for name in wanted],
        raise_on_error=False,
    )
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        rows = mat.metadata.get("dagster/row_count")
        print(
            f"materialized {mat.asset_key.to_user_string()} [{args.date}]: rows={rows.value if rows else '-'}"
        )
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                error = event.step_failure_data.error
                while (error.cause or error.context) is not None:  # the user's error is inside
                    error = error.cause or error.context
                print(f"FAILED {event.step_key}: {error.message.strip()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
