"""The explorer as a user sees it: a lake materialized against the Hub emulator (the daily assets,
`explorer_db` included), `hf-croissant explore` serving it on loopback (the real Datasette), driven
by headless Chromium. Screenshots land in test-artifacts/explore/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from dagster import materialize

from hf_croissant_assets.definitions import build_assets
from hf_croissant_assets.explore.build import build_explorer
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.settings import Settings
from hf_croissant_assets_tests.e2e.test_ui import CHROMIUM_ARGS, _free_port, chromium_path
from hf_croissant_assets_tests.hub_emulator import running_emulator
from hf_croissant_assets_tests.support import make_resources

pytestmark = [pytest.mark.ui, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "explore"
EVIL_ID = "evil-org/xss-dataset"
EVIL_DESCRIPTION = (
    "<script>alert('xss')</script> [click me](javascript:alert(1)) **bold** "
    '<img src=x onerror=alert(2)> <a href="javascript:alert(3)">link</a> quokkaword'
)


def _add_history_and_hostile_row(store: LakeStore, today: str) -> str:
    """Yesterday's listing (downloads halved) for a two-point history, and a hostile dataset."""
    table = store.read_table("hf_datasets", today)
    evil = {name: [None] for name in table.schema.names}
    evil |= {"dataset": [EVIL_ID], "author": ["evil-org"], "license": ["mit"],
             "gated": ["false"], "downloads": [7], "likes": [1], "description": [EVIL_DESCRIPTION]}  # fmt: skip
    table = pa.concat_tables([table, pa.table(evil, schema=table.schema)])
    store.write_table("hf_datasets", today, table)
    yesterday = (date.fromisoformat(today) - timedelta(days=1)).isoformat()
    halved = pc.divide(table["downloads"], pa.scalar(2, pa.int32()))
    store.write_table(
        "hf_datasets",
        yesterday,
        table.set_column(table.schema.get_field_index("downloads"), "downloads", halved),
    )
    return yesterday


@pytest.fixture(scope="module")
def explorer(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("explore")
    lake = tmp / "lake"
    today = datetime.now(UTC).date().isoformat()
    with running_emulator(datasets=300, seed=4) as emu:
        result = materialize(
            build_assets(Settings.build()),
            partition_key=today,
            resources=make_resources(emu.base_url, lake, now=datetime.now(UTC).isoformat()),
        )
        assert result.success
        mats = result.asset_materializations_for_node("explorer_db")
        assert mats and mats[0].metadata["rows"].value["datasets"] == 300
    store = LakeStore(str(lake))
    yesterday = _add_history_and_hostile_row(store, today)
    built = build_explorer(store, days=30)  # what `hf-croissant explore --build` runs
    assert built.series_days == [yesterday, today]

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["HF_CROISSANT_LAKE"] = str(lake)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hf_croissant_assets.cli", "explore", "--port", str(port)],
        env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/-/versions.json", timeout=2).read()
                break
            except OSError:
                assert proc.poll() is None, "hf-croissant explore exited"
                assert time.monotonic() < deadline, "the explorer did not start in 60 s"
                time.sleep(0.3)
        yield base, store, today
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser_page(explorer):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        events: dict[str, list[str]] = {"dialogs": [], "errors": []}

        def on_dialog(dialog):
            events["dialogs"].append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda exc: events["errors"].append(str(exc)))
        page.on(
            "console",
            lambda msg: events["errors"].append(msg.text) if msg.type == "error" else None,
        )
        yield page, events
        browser.close()


def _duck(store: LakeStore, day: str, sql: str) -> list[tuple]:
    path = store.part_path("hf_datasets", day)
    return duckdb.sql(sql.replace("LAKE", f"read_parquet('{path}')")).fetchall()


def test_search_finds_a_dataset_by_a_word_of_its_description(explorer, browser_page):
    base, store, today = explorer
    page, events = browser_page
    # a plain word that occurs in exactly one description of the day
    rows = _duck(
        store, today, "SELECT dataset, description FROM LAKE WHERE description IS NOT NULL"
    )
    counts: dict[str, set[str]] = {}
    for ds_id, text in rows:
        for word in set(re.findall(r"\b[a-z]{7,}\b", text.lower())):
            counts.setdefault(word, set()).add(ds_id)
    word, (target,) = next((w, ids) for w, ids in sorted(counts.items()) if len(ids) == 1)
    page.goto(f"{base}/explorer/datasets")
    page.fill("#_search", word)
    page.press("#_search", "Enter")
    page.wait_for_url(re.compile(r"_search="))
    page.wait_for_selector("table.rows-and-columns")
    assert page.locator("table.rows-and-columns td.col-dataset").all_inner_texts() == [target]
    page.locator("table.rows-and-columns").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=False)
    assert events["dialogs"] == [] and events["errors"] == []


def test_license_facet_narrows_to_the_duckdb_count(explorer, browser_page):
    base, store, today = explorer
    page, events = browser_page
    ((expected,),) = _duck(store, today, "SELECT count(*) FROM LAKE WHERE license = 'mit'")
    assert expected > 1
    page.goto(f"{base}/explorer/datasets")
    page.locator("#facet-license a", has_text=re.compile(r"^mit$")).first.click()
    page.wait_for_url(re.compile(r"license=mit"))
    heading = page.locator("h3").first.inner_text()
    assert re.match(rf"^{expected:,} rows? where license = ", heading), heading
    page.locator(".facet-results").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "facet_license.png"), full_page=False)
    assert events["dialogs"] == [] and events["errors"] == []


def test_dataset_page_shows_history_and_croissant_status(explorer, browser_page):
    base, store, today = explorer
    page, events = browser_page
    ((ds_id, downloads),) = _duck(
        store, today,
        "SELECT dataset, downloads FROM LAKE WHERE dataset <> 'evil-org/xss-dataset' "
        "ORDER BY downloads DESC, dataset LIMIT 1",
    )  # fmt: skip
    croissant = store.read_table("hf_croissant", today).to_pylist()
    status = next(r["status"] for r in croissant if r["dataset"] == ds_id)
    page.goto(f"{base}/explorer/datasets?_sort_desc=downloads")
    page.locator("td.col-dataset a", has_text=ds_id).first.click()
    page.wait_for_selector("#history")
    assert page.inner_text("#dataset-title") == ds_id
    badge = page.inner_text("#croissant-status")
    assert (f"({status})" in badge) if status is not None else ("not fetched" in badge)
    cells = page.locator("#history tbody tr").all_inner_texts()
    assert len(cells) == 2 and cells[1].split("\t")[:2] == [today, str(downloads)], cells
    assert page.locator("#history-chart polyline").count() >= 1
    assert f"lake.history('{ds_id}')" in page.inner_text("body")
    assert (
        page.locator("#hub-link").get_attribute("href")
        == f"https://huggingface.co/datasets/{ds_id}"
    )
    page.screenshot(path=str(ARTIFACTS / "dataset_page.png"), full_page=True)
    assert events["dialogs"] == [] and events["errors"] == []


def test_hostile_description_is_shown_as_text(explorer, browser_page):
    base, _, _ = explorer
    page, events = browser_page
    for url in (
        f"{base}/explorer/datasets?_search=quokkaword",
        f"{base}/dataset?id={EVIL_ID}",
        f"{base}/explorer/hf_datasets?dataset={EVIL_ID}",
    ):
        page.goto(url)
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)
        text = page.inner_text("body")
        assert "<script>alert('xss')</script>" in text, url
        assert "[click me](javascript:alert(1)) **bold**" in text, url
        assert page.locator("a[href^='javascript:']").count() == 0, url
        assert page.locator("img[src='x']").count() == 0, url
    page.screenshot(path=str(ARTIFACTS / "hostile.png"), full_page=False)
    assert events["dialogs"] == [], events
    assert events["errors"] == [], events


def test_server_is_read_only(explorer):
    base, _, _ = explorer
    sql = "DELETE FROM datasets"
    url = f"{base}/explorer.json?sql={urllib.parse.quote(sql)}"
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(url, timeout=10)
    assert exc.value.code == 400
    request = urllib.request.Request(
        f"{base}/explorer/datasets/-/insert", data=b'{"row": {"dataset": "x"}}', method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as exc:  # Datasette 0.65 has no write API
        urllib.request.urlopen(request, timeout=10)
    assert exc.value.code >= 400
    count = json.loads(
        urllib.request.urlopen(
            f"{base}/explorer.json?sql=select+count(*)+as+n+from+datasets&_shape=array"
        ).read()
    )[0]["n"]
    assert count == 301  # 300 emulated datasets + the hostile one, unchanged


def test_validity_and_data_type_facets_and_the_validation_on_the_page(explorer, browser_page):
    """Issue 14's tables in the explorer: the validity facet and the field data-type facet narrow
    to DuckDB's counts over the lake; an invalid document's page shows its first errors."""
    base, store, today = explorer
    page, events = browser_page
    verdicts = f"read_parquet('{store.part_path('croissant_validation', today)}')"
    fields = f"read_parquet('{store.part_path('hf_croissant_fields', today)}')"
    ((valid,),) = duckdb.sql(f"SELECT count(*) FROM {verdicts} WHERE valid").fetchall()
    assert valid > 0
    page.goto(f"{base}/explorer/datasets")
    page.locator("#facet-croissant_valid a", has_text=re.compile(r"^1$")).first.click()
    page.wait_for_url(re.compile(r"croissant_valid=1"))
    heading = page.locator("h3").first.inner_text()
    assert re.match(rf"^{valid:,} rows? where croissant_valid = 1", heading), heading

    ((data_type, datasets),) = duckdb.sql(
        f"SELECT t, count(DISTINCT dataset) AS n FROM {fields}, UNNEST(data_types) AS u(t) "
        "GROUP BY t ORDER BY n DESC, t LIMIT 1"
    ).fetchall()
    page.goto(f"{base}/explorer/datasets")
    facet = page.locator("#facet-croissant_field_data_types")
    facet.locator("a", has_text=re.compile(rf"^{re.escape(data_type)}$")).first.click()
    page.wait_for_url(re.compile(r"croissant_field_data_types__arraycontains="))
    heading = page.locator("h3").first.inner_text()
    assert re.match(rf"^{datasets:,} rows? where ", heading), heading
    page.locator("#facet-croissant_field_data_types").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "facet_data_types.png"), full_page=False)

    invalid = duckdb.sql(
        f"SELECT dataset, errors FROM {verdicts} WHERE NOT valid AND len(errors) > 0 "
        "ORDER BY dataset LIMIT 1"
    ).fetchall()
    assert invalid, "the emulator serves some documents the validator rejects"
    ((ds_id, errors),) = invalid
    page.goto(f"{base}/dataset?{urllib.parse.urlencode({'id': ds_id})}")
    page.wait_for_selector("#validation-errors")
    assert page.inner_text("#croissant-valid") == "invalid"
    shown = page.locator("#validation-errors li").all_inner_texts()
    assert shown == errors[: len(shown)] and 1 <= len(shown) <= 10
    page.locator("#validation-errors").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "dataset_validation.png"), full_page=False)
    assert events["dialogs"] == [] and events["errors"] == []
