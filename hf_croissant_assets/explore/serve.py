"""Serve an explorer file with Datasette, read-only, and fetch one published on the Hub.

Datasette runs in this process with the file opened `--immutable` (read-only, no write
endpoints: Datasette 0.65 has none without plugins, and only SELECT statements reach SQLite),
the metadata generated from `schema.py` and the file, this package's plugin (dataset page) and
template, and `datasette-pretty-json` for JSON cells.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hf_croissant_assets.explore.build import EXPLORER_DIR, EXPLORER_FILE, build_info
from hf_croissant_assets.explore.metadata import explorer_metadata

HERE = Path(__file__).resolve().parent
PLUGINS_DIR = HERE / "plugins"
TEMPLATES_DIR = HERE / "templates"
#: Where a published snapshot repo holds the explorer file.
REPO_PATH = f"{EXPLORER_DIR}/{EXPLORER_FILE}"


def datasette_args(db_path: str, metadata_path: str, host: str, port: int) -> list[str]:
    """The `datasette serve` arguments (also what the container entrypoint runs)."""
    return [
        "serve",
        "--immutable", db_path,
        "--metadata", metadata_path,
        "--plugins-dir", str(PLUGINS_DIR),
        "--template-dir", str(TEMPLATES_DIR),
        "--host", host,
        "--port", str(port),
        "--setting", "suggest_facets", "off",
        "--setting", "facet_time_limit_ms", "200",
        "--setting", "sql_time_limit_ms", "3000",
        "--setting", "default_page_size", "50",
    ]  # fmt: skip


def serve(
    db_path: str, *, host: str = "127.0.0.1", port: int = 8001, lake_url: str | None = None
) -> int:
    """Run Datasette on `db_path` until interrupted; returns its exit code."""
    from datasette.cli import cli

    build_info(db_path)  # fails clearly on a file that is not an explorer
    metadata = explorer_metadata(db_path, lake_url=lake_url)
    with tempfile.TemporaryDirectory(prefix="hf-croissant-explore-") as tmp:
        meta_path = os.path.join(tmp, "metadata.json")
        with open(meta_path, "w") as f:
            json.dump(metadata, f)
        try:
            cli.main(
                args=datasette_args(db_path, meta_path, host, port),
                prog_name="datasette",
                standalone_mode=False,
            )
        except SystemExit as exc:
            return int(exc.code or 0)
    return 0


def download_from_hub(
    repo_id: str, *, endpoint: str, token: str | None = None, cache_dir: str | None = None
) -> str:
    """The explorer file of a published snapshot repo, downloaded (and cached) by huggingface_hub."""
    from huggingface_hub import hf_hub_download

    from hf_croissant_assets.share.publish import validate_repo_id

    repo_id = validate_repo_id(repo_id, "--from-hub")
    return hf_hub_download(
        repo_id,
        REPO_PATH,
        repo_type="dataset",
        endpoint=endpoint,
        token=token or False,
        cache_dir=cache_dir,
    )
