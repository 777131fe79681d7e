"""`hf-croissant publish [--date D]`: publish one day of the lake to the Hub dataset repo
HF_CROISSANT_PUBLISH_REPO (default: the newest day with both tables), outside Dagster.

The same code as the `hf_hub_export` asset (`share.publish.publish_day`): the write access of
HF_TOKEN is checked first, then one commit with the day's two parquet files and the dataset card.
"""

from __future__ import annotations

import argparse
import os
import sys

from hf_croissant_assets.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    load_settings,
    parse_day,
)
from hf_croissant_assets.settings import env_name

NAME = "publish"
HELP = "publish one day's tables to the Hub dataset repo HF_CROISSANT_PUBLISH_REPO"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--date", default=None, help="day to publish, YYYY-MM-DD (default: the newest complete day)"
    )


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from hf_croissant_assets.cli.console import configure_logging
    from hf_croissant_assets.lake.store import LakeStore
    from hf_croissant_assets.share.publish import PUBLISHED_TABLES, PublishError, publish_day

    configure_logging(False)
    settings = load_settings()
    if settings is None:
        return EXIT_CONFIG
    if not settings.publish_repo:
        print(
            f"configuration error:\n{env_name('publish_repo')} is not set: set it to the Hub "
            "dataset repo (namespace/name) to publish to",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    store = LakeStore(settings.lake)
    if args.date:
        day = parse_day(parser, args.date, "--date")
    else:
        days = set.intersection(*(set(store.dates(t)) for t in PUBLISHED_TABLES))
        if not days:
            print(f"nothing to publish: no complete day in {settings.lake}", file=sys.stderr)
            return EXIT_FAILED
        day = max(days)
    token = os.environ.get(env_name("hf_token_set"), "").strip() or None
    try:
        result = publish_day(
            store,
            day,
            repo_id=settings.publish_repo,
            token=token,
            endpoint=settings.hf_endpoint,
            license_id=settings.publish_license,
            refresh_days=settings.refresh_days,
        )
    except (PublishError, FileNotFoundError, ValueError) as exc:
        print(f"publish {day} failed: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_FAILED
    endpoint = settings.hf_endpoint.rstrip("/")
    commit = result.commit or "none (files unchanged)"
    print(f"published {day} to {endpoint}/datasets/{result.repo_id} (commit {commit})")
    return EXIT_OK
