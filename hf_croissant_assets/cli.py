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

    from hf_croissant_assets.definitions import defs
    from hf_croissant_assets.lake.store import validate_date

    validate_date(args.date)
    graph = defs.resolve_asset_graph()
    selected = (
        list(graph.get_all_asset_keys())
        if args.select == "*"
        else [k for k in graph.get_all_asset_keys() if k.to_user_string() in args.select.split(",")]
    )
    if not selected:
        parser.error(f"--select {args.select!r} matches no asset")
    assets = [defs.resolve_assets_def(key) for key in selected]
    result = materialize(
        list({id(a): a for a in assets}.values()),
        partition_key=args.date,
        resources=defs.resources,
        instance=DagsterInstance.get(),
        selection=selected,
        raise_on_error=False,
    )
    for event in result.get_asset_materialization_events():
        mat = event.asset_materialization
        rows = mat.metadata.get("dagster/row_count")
        print(
            f"materialized {mat.asset_key.to_user_string()} [{args.date}]: rows={rows.value if rows else '-'}"
        )
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                print(
                    f"FAILED {event.step_key}: {event.step_failure_data.error.message}",
                    file=sys.stderr,
                )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
