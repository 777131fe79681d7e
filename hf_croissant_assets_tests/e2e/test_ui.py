"""The Dagster UI as a user sees it: dagster-webserver on loopback, driven by headless Chromium.

A day is materialized against the Hub emulator into a fresh instance and lake; the webserver is
started on that instance; Playwright (with Debian's chromium, no browser download) opens the
lineage and the hf_croissant asset page. Screenshots land in test-artifacts/ui/.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from hf_croissant_assets.definitions import build_assets
from hf_croissant_assets.settings import Settings
from hf_croissant_assets_tests.hub_emulator import running_emulator
from hf_croissant_assets_tests.support import make_resources

pytestmark = [pytest.mark.ui, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXPECTED_EDGES = {
    "croissant_records": {"hf_dataset_listing"},
    "hf_datasets": {"hf_dataset_listing"},
    "hf_croissant": {"croissant_records", "hf_datasets"},
    "hf_dataset_changes": {"hf_datasets", "hf_croissant"},
    "hf_croissant_fields": {"hf_croissant"},
    "hf_croissant_files": {"hf_croissant"},
    "croissant_validation": {"hf_croissant"},
    "daily_report": {
        "hf_datasets",
        "hf_croissant",
        "hf_dataset_changes",
        "hf_croissant_fields",
        "hf_croissant_files",
        "croissant_validation",
    },
    "duckdb_tables": {
        "hf_datasets",
        "hf_croissant",
        "hf_dataset_changes",
        "hf_croissant_fields",
        "hf_croissant_files",
    },
}


def chromium_path() -> str:
    path = (
        os.environ.get("HF_CROISSANT_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if not path:
        pytest.fail(
            "Chromium is needed for the UI test: run the test suite with "
            "`python -m hf_croissant_assets_tests.browser` (installs Debian's chromium when missing) "
            "or `apt-get install chromium`"
        )
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui")
    home, lake = tmp / "dagster_home", tmp / "lake"
    home.mkdir()
    today = datetime.now(UTC).date().isoformat()
    instance = DagsterInstance.from_config(str(home))
    with running_emulator(datasets=300, seed=4) as emu:
        result = materialize(
            build_assets(Settings.build(lake=str(lake))),
            partition_key=today,
            resources=make_resources(emu.base_url, lake, now=datetime.now(UTC).isoformat()),
            instance=instance,
        )
        assert result.success
    instance.dispose()
    # The lake's first day is three days back (its raw listing is there): the partitions the UI
    # offers start on it, not on some fixed date before the lake existed.
    first = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
    shutil.copytree(
        lake / "_raw" / "listing" / f"date={today}", lake / "_raw" / "listing" / f"date={first}"
    )

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env |= {
        "DAGSTER_HOME": str(home),
        "HF_CROISSANT_LAKE": str(lake),
        "HF_CROISSANT_DUCKDB": str(tmp / "ui.duckdb"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port),
         "-m", "hf_croissant_assets.definitions"],
        env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/server_info", timeout=2).read()
                break
            except OSError:
                assert proc.poll() is None, "dagster-webserver exited"
                assert time.monotonic() < deadline, "dagster-webserver did not start in 120 s"
                time.sleep(0.5)
        yield base, today
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def page(webserver):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(30_000)
        yield page
        browser.close()


def _dismiss_welcome(page) -> None:
    """The UI greets a new instance with a community dialog (after a short delay): skip it."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.first.wait_for(timeout=5_000)
    except Exception:
        return
    skip.first.click()
    skip.first.wait_for(state="detached")


def test_lineage_graph_shows_every_asset_and_edge(webserver, page):
    base, _ = webserver
    page.goto(f"{base}/assets/hf_croissant?view=lineage&lineageDepth=5")
    page.wait_for_selector("text=hf_dataset_listing")
    _dismiss_welcome(page)
    for name in ["hf_dataset_listing", "croissant_records", "hf_datasets", "hf_croissant",
                 "hf_dataset_changes", "daily_report", "duckdb_tables"]:  # fmt: skip
        assert page.get_by_text(name, exact=True).first.is_visible(), name
    page.screenshot(path=str(ARTIFACTS / "lineage.png"))

    # the edges the graph draws come from the webserver's GraphQL API: check them there
    nodes = _graphql(base, "{ assetNodes { assetKey { path } dependencyKeys { path } } }")
    edges = {
        n["assetKey"]["path"][-1]: {d["path"][-1] for d in n["dependencyKeys"]}
        for n in nodes["assetNodes"]
    }
    for asset, parents in EXPECTED_EDGES.items():
        assert edges[asset] == parents, asset
    assert edges["hf_dataset_listing"] == set()


def test_hf_croissant_page_shows_row_count_and_passed_checks(webserver, page):
    base, today = webserver
    page.goto(f"{base}/assets/hf_croissant")
    page.wait_for_selector("text=Row count")
    _dismiss_welcome(page)
    overview = page.inner_text("body")
    assert "Row count" in overview and "300" in overview
    assert today in overview  # the latest materialization is today's partition
    page.screenshot(path=str(ARTIFACTS / "hf_croissant_overview.png"), full_page=True)

    page.goto(f"{base}/assets/hf_croissant?view=checks")
    page.wait_for_selector("text=rows_match_listing")
    text = page.inner_text("body")
    for check in (
        "schema_matches",
        "dataset_unique",
        "row_count_vs_previous",
        "rows_match_listing",
    ):
        assert check in text
    assert text.count("Succeeded") >= 4
    assert "This is a blocking asset check." in text
    page.screenshot(path=str(ARTIFACTS / "hf_croissant_checks.png"))


def test_report_charts_render_on_the_report_page(webserver, page):
    """The metadata table shows each chart behind "Show Markdown"; each opens as a real image."""
    base, _ = webserver
    page.goto(f"{base}/assets/daily_report")
    page.wait_for_selector("text=chart_growth")
    _dismiss_welcome(page)
    buttons = page.get_by_text("[Show Markdown]")
    assert buttons.count() >= 6
    for i in range(6):
        buttons.nth(i).click()
        image = page.locator("img[src^='data:image/png;base64,']").last
        image.wait_for()
        assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 0
        if i == 0:
            page.wait_for_timeout(500)  # let the dialog's fade-in finish
            page.screenshot(path=str(ARTIFACTS / "daily_report_growth.png"))
        page.get_by_role("button", name="Close").click()
        image.wait_for(state="detached")


def test_table_columns_show_their_descriptions(webserver, page):
    base, _ = webserver
    page.goto(f"{base}/assets/hf_datasets")
    page.wait_for_selector("text=downloads_all_time")
    _dismiss_welcome(page)
    text = page.inner_text("body")
    for description in (
        "downloads over the last 30 days",
        "false, auto or manual",
        "from the license: tag",
    ):
        assert description in text, description
    page.screenshot(path=str(ARTIFACTS / "hf_datasets_columns.png"), full_page=True)


def test_partitions_start_at_the_lakes_first_day(webserver, page):
    base, today = webserver
    first = date.fromisoformat(today) - timedelta(days=3)
    data = _graphql(
        base,
        '{ assetNodeOrError(assetKey: {path: ["hf_datasets"]}) { ... on AssetNode { '
        "partitionKeysByDimension { partitionKeys } } } }",
    )
    (dimension,) = data["assetNodeOrError"]["partitionKeysByDimension"]
    expected = [(first + timedelta(days=i)).isoformat() for i in range(4)]
    assert dimension["partitionKeys"] == expected
    page.goto(f"{base}/assets/hf_datasets?view=partitions")
    page.wait_for_selector(f"text={first.isoformat()}")
    _dismiss_welcome(page)
    text = page.inner_text("body")
    assert (first - timedelta(days=1)).isoformat() not in text
    assert "2026-01-01" not in text or first.isoformat() == "2026-01-01"
    page.screenshot(path=str(ARTIFACTS / "hf_datasets_partitions.png"))
