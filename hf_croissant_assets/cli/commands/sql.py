"""`hf-croissant sql "SELECT ..." [--format table|csv|json]`: one DuckDB query on the lake.

The tables `hf_datasets`, `hf_croissant` (every day, `date` column last) and `*_latest` (the
newest day) are registered from the lake (`HF_CROISSANT_LAKE`, local or s3://) through pyarrow,
the same path as `lake.sql` (no DuckDB file, no lock, no httpfs needed). A filter on `date`
opens only that day's file.
"""

from __future__ import annotations

import argparse
import sys

from hf_croissant_assets.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, load_settings

NAME = "sql"
HELP = "run a SQL query (DuckDB) on the lake and print a table, CSV or JSON"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "query",
        help='e.g. "SELECT license, count(*) FROM hf_datasets_latest GROUP BY 1 ORDER BY 2 DESC"',
    )
    parser.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="default: table"
    )
    parser.add_argument(
        "--max-rows", type=int, default=50, help="rows shown in table format (default 50)"
    )


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import duckdb
    import polars as pl

    from hf_croissant_assets.lake.access import connect

    settings = load_settings()
    if settings is None:
        return EXIT_CONFIG
    try:
        con = connect(settings.lake)
    except OSError as exc:
        print(f"cannot open the lake HF_CROISSANT_LAKE={settings.lake!r}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        relation = con.sql(args.query)
        frame = relation.pl() if relation is not None else pl.DataFrame()
    except duckdb.Error as exc:
        print(f"query failed: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        con.close()
    if args.format == "csv":
        sys.stdout.write(frame.write_csv())
    elif args.format == "json":
        sys.stdout.write(frame.write_json() + "\n")
    else:
        with pl.Config(
            tbl_rows=max(1, args.max_rows),
            tbl_cols=-1,
            fmt_str_lengths=60,
            tbl_width_chars=200,
            tbl_hide_dataframe_shape=True,
        ):
            print(frame)
        print(f"({frame.height} row{'s' if frame.height != 1 else ''})")
    return EXIT_OK
