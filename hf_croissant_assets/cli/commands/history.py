"""`hf-croissant history owner/name [--from D] [--to D] [--json] [--chart out.png]`: everything
that happened to one dataset, from the lake (never the Hub): a row per snapshot day (downloads,
likes, license, gated, sha, Croissant status) and the day's change events.

Reads one row group per day of each table (the partitions are sorted by dataset), so a year of
history is a few hundred small reads, on a local or an s3:// lake alike."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hf_croissant_assets.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, parse_day

NAME = "history"
HELP = "print one dataset's timeline (downloads, likes, license, gating, sha, Croissant) and events"

#: Table columns: (header, width).
COLUMNS: tuple[tuple[str, int], ...] = (
    ("date", 10),
    ("downloads", 10),
    ("likes", 6),
    ("license", 14),
    ("gated", 6),
    ("sha", 8),
    ("croissant", 9),
    ("changes", 0),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help="dataset id, e.g. rajpurkar/squad_v2")
    parser.add_argument("--from", dest="start", help="first day (YYYY-MM-DD); default the first")
    parser.add_argument("--to", dest="end", help="last day (YYYY-MM-DD); default the newest")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--chart", metavar="PNG", help="also draw downloads and likes to this file")
    parser.add_argument(
        "--lake", help="lake folder or s3://bucket/prefix (default: HF_CROISSANT_LAKE)"
    )


def _text(value: Any, width: int) -> str:
    """Untrusted text as one printable line, cut to `width` (0 = no limit)."""
    text = "-" if value is None else " ".join(str(value).split())
    text = "".join(c if c.isprintable() else "?" for c in text)
    if width and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def _row(record: dict[str, Any]) -> list[str]:
    status = record["croissant_status"]
    return [
        record["date"].isoformat(),
        "-" if record["downloads"] is None else f"{record['downloads']:,}",
        "-" if record["likes"] is None else f"{record['likes']:,}",
        record["license"],
        record["gated"],
        (record["sha"] or "")[:7] or None,
        "not fetched" if status is None else str(status),
        ", ".join(record["changes"]),
    ]


def format_table(timeline: list[dict[str, Any]], events: list[dict[str, Any]]) -> str:
    header = "  ".join(h.ljust(w) if w else h for h, w in COLUMNS).rstrip()
    lines = [header, "-" * len(header)]
    for record in timeline:
        cells = _row(record)
        lines.append(
            "  ".join(
                _text(c, w).ljust(w) if w else _text(c, 0)
                for c, (_, w) in zip(cells, COLUMNS, strict=True)
            ).rstrip()
        )
    if events:
        lines += ["", "events:"]
        for e in events:
            detail = f"{_text(e['before'], 40)} -> {_text(e['after'], 40)}"
            lines.append(f"  {e['date'].isoformat()}  {e['change']:<24}  {detail}")
    return "\n".join(lines)


def _jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
        for row in rows
    ]


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from hf_croissant_assets import lake
    from hf_croissant_assets.lake.store import LakeConfigError

    start = parse_day(parser, args.start, "--from") if args.start else None
    end = parse_day(parser, args.end, "--to") if args.end else None
    if start and end and start > end:
        parser.error(f"--from {start} is after --to {end}")
    try:
        store = lake.get_store(args.lake)
        timeline = lake.history(args.dataset, start, end, lake=store)
        events = lake.history_events(args.dataset, start, end, lake=store)
    except (LakeConfigError, ValueError) as exc:
        print(f"history: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as exc:
        print(f"history: cannot read the lake: {exc}", file=sys.stderr)
        return EXIT_FAILED
    span = f" between {start or 'the first day'} and {end or 'the newest'}"
    if timeline.is_empty() and events.is_empty():
        days = len(lake.dates("hf_datasets", lake=store))
        print(
            f"history: {args.dataset!r} is in no snapshot{span} ({days} day(s) in {store.uri})",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if args.chart:
        from hf_croissant_assets.report.charts import history_chart

        with open(args.chart, "wb") as out:
            out.write(history_chart(args.dataset, timeline.to_dicts()))
    if args.json:
        doc = {
            "dataset": args.dataset,
            "timeline": _jsonable(timeline.to_dicts()),
            "events": _jsonable(events.to_dicts()),
        }
        print(json.dumps(doc, indent=1, ensure_ascii=False))
    else:
        print(f"{_text(args.dataset, 0)}: {timeline.height} snapshot(s), {events.height} event(s)")
        print(format_table(timeline.to_dicts(), events.to_dicts()))
        if args.chart:
            print(f"chart: {args.chart}")
    return EXIT_OK
