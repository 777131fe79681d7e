"""`hf-croissant explore [--port N] [--db PATH | --from-hub REPO] [--build]`: browse the lake in a
browser (Datasette on 127.0.0.1, read-only) from the explorer file that the `explorer_db` asset
writes next to the lake, from any explorer file, or from one published on the Hub (no crawl)."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile

from hf_croissant_assets.cli.common import EXIT_CONFIG, EXIT_FAILED, load_settings

NAME = "explore"
HELP = "browse the newest snapshot in a browser (Datasette: search, facets, a page per dataset)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8001, help="port (default 8001)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to listen on (default 127.0.0.1; the container uses 0.0.0.0)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--db", metavar="PATH", help="serve this explorer file")
    source.add_argument(
        "--from-hub",
        metavar="REPO",
        help="download the explorer file of a published snapshot repo (namespace/name) "
        "through huggingface_hub and serve it",
    )
    parser.add_argument(
        "--build",
        action="store_true",
        help="(re)build the lake's explorer file from its newest day first (what the "
        "explorer_db asset does)",
    )


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from hf_croissant_assets.explore.build import (
        ExplorerBuildError,
        build_explorer,
        fetch_explorer,
    )
    from hf_croissant_assets.explore.serve import download_from_hub, serve
    from hf_croissant_assets.lake.store import LakeConfigError, LakeStore
    from hf_croissant_assets.settings import env_name

    if not 0 < args.port < 65536:
        parser.error(f"--port {args.port}: not a TCP port (1-65535)")
    if args.build and (args.db or args.from_hub):
        parser.error("--build builds the lake's explorer file; it does not go with --db/--from-hub")
    lake_url = None
    try:
        if args.db:
            if not os.path.isfile(args.db):
                parser.error(f"--db {args.db!r}: no such file")
            path = args.db
        elif args.from_hub:
            settings = load_settings()
            if settings is None:
                return EXIT_CONFIG
            try:
                path = download_from_hub(
                    args.from_hub,
                    endpoint=settings.hf_endpoint,
                    token=os.environ.get("HF_TOKEN") or None,
                )
            except ValueError as exc:
                parser.error(str(exc))
            lake_url = f"hf://datasets/{args.from_hub.strip()}/data"
        else:
            settings = load_settings()
            if settings is None:
                return EXIT_CONFIG
            store = LakeStore(settings.lake, label=env_name("lake"))
            lake_url = store.uri  # the snippets load from this lake (the file never says where)
            if args.build:
                result = build_explorer(
                    store, days=settings.explorer_days, progress=lambda m: print(f"explorer: {m}")
                )
                print(f"built {result.path} ({result.bytes} bytes, {result.date})")
            key = hashlib.sha256(store.uri.encode()).hexdigest()[:12]
            local = os.path.join(tempfile.gettempdir(), f"hf-croissant-explorer-{key}.db")
            path = fetch_explorer(store, local)
    except (ExplorerBuildError, LakeConfigError) as exc:
        print(f"explore: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # a download or a lake read: say what failed, not a traceback
        if type(exc).__module__.startswith(("huggingface_hub", "requests", "httpx")):
            print(f"explore: could not download the explorer file: {exc}", file=sys.stderr)
            return EXIT_FAILED
        raise
    print(
        f"serving {path} on http://{args.host}:{args.port}/ (read-only; Ctrl+C stops)", flush=True
    )
    try:
        return serve(path, host=args.host, port=args.port, lake_url=lake_url)
    except ExplorerBuildError as exc:
        print(f"explore: {exc}", file=sys.stderr)
        return EXIT_FAILED
