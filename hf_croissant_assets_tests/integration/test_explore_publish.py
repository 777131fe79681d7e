"""The explorer file shipped with a published day, and served from the Hub with `--from-hub`
(the real huggingface_hub client against the emulator, which hosts the repo)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

import pytest

from hf_croissant_assets.explore.build import build_info, public_explorer
from hf_croissant_assets.explore.serve import download_from_hub
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.share.publish import EXPLORER_REPO_PATH, publish_day
from hf_croissant_assets_tests.integration.test_explore_build import D3, _write
from hf_croissant_assets_tests.integration.test_publish import READ, REPO, WRITE, _api, _hub

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_publish_ships_the_explorer_and_explore_from_hub_serves_it(tmp_path):
    store = LakeStore(str(tmp_path / "lake"))
    _write(store, extended=True)
    explorer = public_explorer(store, D3, str(tmp_path / "ship")).path
    with _hub(datasets=0) as emu:
        result = publish_day(
            store, D3, repo_id=REPO, token=WRITE, endpoint=emu.base_url, explorer_path=explorer
        )
        assert EXPLORER_REPO_PATH in result.uploaded
        assert EXPLORER_REPO_PATH in _api(emu).list_repo_files(REPO, repo_type="dataset")

        cache = tmp_path / "hf_cache"
        path = download_from_hub(REPO, endpoint=emu.base_url, token=READ, cache_dir=str(cache))
        assert build_info(path)["date"] == D3
        # what anyone can download: no private dataset, no gated document, no lake location
        conn = sqlite3.connect(path)
        assert conn.execute("SELECT count(*) FROM datasets WHERE private").fetchone() == (0,)
        assert conn.execute(
            "SELECT count(*) FROM croissant_documents d JOIN datasets s USING (dataset) "
            "WHERE s.gated <> 'false' AND d.croissant IS NOT NULL"
        ).fetchone() == (0,)
        conn.close()
        with open(path, "rb") as f:
            assert str(tmp_path).encode() not in f.read()

        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        env |= {"HF_ENDPOINT": emu.base_url, "HF_TOKEN": READ, "HF_HUB_CACHE": str(cache / "cli")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "hf_croissant_assets.cli", "explore", "--from-hub", REPO,
             "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    page = urllib.request.urlopen(f"{base}/dataset?id=org0/set-0", timeout=5)
                    html = page.read().decode()
                    break
                except OSError:
                    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                    assert time.monotonic() < deadline, "explore --from-hub did not start"
                    time.sleep(0.3)
            # snippets point at the published repo, not at the publisher's lake
            assert f"hf://datasets/{REPO}/data/hf_datasets/date=*/*.parquet" in html
            assert str(tmp_path) not in html
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def test_from_hub_rejects_a_bad_repo_id():
    with pytest.raises(ValueError, match="--from-hub"):
        download_from_hub("not a repo", endpoint="http://127.0.0.1:9")
