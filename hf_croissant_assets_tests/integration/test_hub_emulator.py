"""The Hub emulator behaves like the parts of the Hub that the project relies on: listing,
Croissant documents (their mix and shape), rate limit, faults, churn, CLI and fixtures setting."""

from __future__ import annotations

import asyncio
import collections
import json
import re
import subprocess
import sys
import time
import tracemalloc
import urllib.error
import urllib.request
from itertools import islice
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

import hf_croissant_assets_tests.hub_emulator as hub_emulator_package
from hf_croissant_assets.schema import LISTING_EXPAND, VALID_LISTING_EXPAND
from hf_croissant_assets_tests.hub_emulator import (
    CONTEXT_1_1,
    CROISSANT_1_1,
    DEFAULT_FIELDS,
    DEFAULT_FIXTURES_DIR,
    EmulatorConfig,
    HubEmulator,
    running_emulator,
    spawn_emulator_process,
    stop_emulator_process,
)

LINK_RE = re.compile(r'<([^>]+)>;\s*rel="next"')
RATELIMIT_RE = re.compile(r'^"api";r=(\d+);t=(\d+)$')
POLICY_RE = re.compile(r'^"fixed window";"api";q=(\d+);w=(\d+)$')
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def http(
    url: str, method: str = "GET", body: dict | None = None, headers: dict | None = None
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one request; non-2xx answers are returned, not raised."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def next_link(headers: dict[str, str]) -> str | None:
    m = LINK_RE.search(headers.get("Link", ""))
    return m.group(1) if m else None


def crawl(base_url: str, query: str) -> tuple[list[dict], list[dict[str, str]]]:
    url: str | None = f"{base_url}/api/datasets?{query}"
    items: list[dict] = []
    page_headers = []
    while url:
        status, headers, body = http(url)
        assert status == 200, body
        items.extend(json.loads(body))
        page_headers.append(headers)
        url = next_link(headers)
    return items, page_headers


def expand_query(fields) -> str:
    return "&".join(f"expand={f}" for f in fields)


# --------------------------------------------------------------------------------------------
# listing


def test_pagination_covers_every_id_once():
    with running_emulator(datasets=1100) as emu:
        query = "limit=200&" + expand_query(LISTING_EXPAND)
        items, pages = crawl(emu.base_url, query)
        ids = [it["id"] for it in items]
        assert len(pages) == 6
        assert ids == emu.dataset_ids()
        assert len(ids) == len(set(ids)) == 1100
        assert next_link(pages[-1]) is None and "Link" not in pages[-1]
        for headers in pages[:-1]:
            link = next_link(headers)
            assert link is not None and link.startswith(emu.base_url + "/api/datasets?")
            params = parse_qs(urlsplit(link).query)
            assert params["limit"] == ["200"]
            assert params["expand"] == list(LISTING_EXPAND)  # every original parameter kept
            assert len(params["cursor"]) == 1  # the old cursor replaced, not repeated
        for headers in pages:
            assert RATELIMIT_RE.match(headers["RateLimit"])
            assert POLICY_RE.match(headers["RateLimit-Policy"])
        assert items == [
            {k: v for k, v in full.items() if k in {"_id", "id", *LISTING_EXPAND}}
            for full in emu.catalog()
        ]
        stats = emu.stats
        assert stats["list_pages"] == 6 and stats["by_endpoint"] == {"list": 6, "croissant": 0}
        assert stats["by_status"] == {"200": 6}


def test_cursor_is_stateless_and_resumable():
    with running_emulator(datasets=300) as emu:
        _, headers, _ = http(f"{emu.base_url}/api/datasets?limit=100&expand=sha")
        second = next_link(headers)
        assert second is not None
        # the same next URL gives the same page, any number of times
        a = http(second)
        b = http(second)
        assert a[0] == b[0] == 200 and a[2] == b[2]
        assert [it["id"] for it in json.loads(a[2])] == emu.dataset_ids()[100:200]


def test_expand_returns_only_the_requested_fields():
    with running_emulator(datasets=50) as emu:
        _, _, body = http(f"{emu.base_url}/api/datasets?expand=sha&expand=gated&limit=10")
        items = json.loads(body)
        assert len(items) == 10
        assert all(set(it) == {"_id", "id", "sha", "gated"} for it in items)
        _, _, body = http(f"{emu.base_url}/api/datasets?full=true&limit=10")
        assert all(set(it) == {"_id", "id", *VALID_LISTING_EXPAND} for it in json.loads(body))
        _, _, body = http(f"{emu.base_url}/api/datasets?limit=10")
        assert all(set(it) == {"_id", "id", *DEFAULT_FIELDS} for it in json.loads(body))


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("expand=sha&expand=bogusField", "bogusField"),
        ("expand=", "''"),
        ("expand=sha&full=true", "full"),
        ("cursor=not-a-cursor!", "cursor"),
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
    ],
)
def test_bad_listing_requests_are_400(query, needle):
    with running_emulator(datasets=20) as emu:
        status, headers, body = http(f"{emu.base_url}/api/datasets?{query}")
        assert status == 400
        assert "RateLimit" in headers
        assert needle in json.loads(body)["error"]


def test_listing_items_look_like_the_hub():
    emu = HubEmulator(datasets=3000)
    items = list(emu.catalog())
    assert len(items) == 3000
    ids = [it["id"] for it in items]
    assert len(set(ids)) == 3000
    legacy = [i for i in ids if "/" not in i]
    assert 5 <= len(legacy) <= 80  # ~1%
    gated = collections.Counter(str(it["gated"]) for it in items)
    assert set(gated) == {"False", "auto", "manual"}
    assert 0.02 < (gated["auto"] + gated["manual"]) / 3000 < 0.07
    licensed = sum(any(t.startswith("license:") for t in it["tags"]) for it in items)
    assert 0.78 < licensed / 3000 < 0.92
    assert any(it["downloadsAllTime"] > 2**31 for it in items)
    assert {type(it["trendingScore"]) for it in items} == {int, float}
    descriptions = [it["description"] for it in items]
    assert any("{{7*7}}" in d for d in descriptions)
    assert any("<script>" in d for d in descriptions)
    assert any(len(d) > 15_000 for d in descriptions)
    for it in items:
        assert re.fullmatch(r"[0-9a-f]{24}", it["_id"])
        assert re.fullmatch(r"[0-9a-f]{40}", it["sha"])
        assert ISO_RE.match(it["createdAt"]) and ISO_RE.match(it["lastModified"])
        assert it["lastModified"] >= it["createdAt"]
        assert it["private"] is False and it["resourceGroup"] is None
        assert all(set(s) == {"rfilename"} for s in it["siblings"])
        assert "region:us" in it["tags"]
    # deterministic per seed
    assert list(islice(HubEmulator(datasets=3000).catalog(), 50)) == items[:50]
    other = list(islice(HubEmulator(datasets=3000, seed=1).catalog(), 50))
    assert [it["id"] for it in other] != ids[:50]


# --------------------------------------------------------------------------------------------
# croissant


async def fetch_all(base_url: str, ids: list[str], headers: dict | None = None):
    sem = asyncio.Semaphore(32)
    out: dict[str, tuple[int, str, str]] = {}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def one(ds_id: str) -> None:
            async with sem, session.get(f"{base_url}/api/datasets/{ds_id}/croissant") as r:
                out[ds_id] = (r.status, r.headers.get("Content-Type", ""), await r.text())

        await asyncio.gather(*(one(i) for i in ids))
    return out


def test_croissant_statuses_bodies_and_proportions():
    with running_emulator(datasets=2000, accepted_tokens={"hf_good"}) as emu:
        ids = emu.dataset_ids()
        truth = {i: emu.croissant_status(i) for i in ids}
        counts = collections.Counter(truth.values())
        assert set(counts) == {200, 400, 401}
        assert 0.12 < counts[400] / 2000 < 0.20  # ~16%
        assert 0.02 < counts[401] / 2000 < 0.07  # ~4%

        answers = asyncio.run(fetch_all(emu.base_url, ids))
        assert {i: a[0] for i, a in answers.items()} == truth
        shas = {it["id"]: it["sha"] for it in emu.catalog()}
        for ds_id, (status, ctype, body) in answers.items():
            assert ctype.startswith("application/json")
            doc = json.loads(body)
            if status == 200:
                assert body == emu.croissant_document(ds_id)
                assert doc["url"] == f"https://huggingface.co/datasets/{ds_id}"
                assert doc["name"] == ds_id.rsplit("/", 1)[-1]
                assert doc["@type"] == "sc:Dataset" and doc["recordSet"]
                assert shas[ds_id] in doc["description"]
                assert all(
                    d["contentUrl"].startswith(f"https://huggingface.co/datasets/{ds_id}/")
                    for d in doc["distribution"]
                    if "contentUrl" in d
                )
            elif status == 400:
                assert json.loads(body) == {
                    "error": "The croissant format is not available for this dataset."
                }
            elif status == 401:
                assert json.loads(body)["error"].startswith(
                    f"Access to dataset {ds_id} is restricted"
                )
        legacy = [i for i in ids if "/" not in i and truth[i] == 200]
        assert legacy, "a legacy id without namespace is served by the short route"
        assert answers[legacy[0]][0] == 200

        gated = [i for i in ids if truth[i] == 401]
        with_token = asyncio.run(
            fetch_all(emu.base_url, gated, headers={"Authorization": "Bearer hf_good"})
        )
        assert {a[0] for a in with_token.values()} <= {200, 400}
        wrong = asyncio.run(
            fetch_all(emu.base_url, gated[:3], headers={"Authorization": "Bearer hf_bad"})
        )
        assert {a[0] for a in wrong.values()} == {401}

        namespaced = next(i for i in ids if "/" in i)
        for unknown in ("nobody/nothing-1", "nobody/" + namespaced.split("/")[1], "no-such-thing"):
            status, headers, body = http(f"{emu.base_url}/api/datasets/{unknown}/croissant")
            assert status == 404 and json.loads(body) == {"error": "Repository not found"}
            assert "RateLimit" in headers
        stats = emu.stats
        assert stats["croissant_fetches"][ids[0]] == 1
        assert stats["by_endpoint"]["croissant"] == 2000 + len(gated) + 3 + 3


def test_croissant_doc_kb_padding():
    emu = HubEmulator(datasets=300, doc_kb=64, old_croissant_share=0.3)
    ok = [i for i in emu.dataset_ids() if emu.croissant_status(i) == 200]
    conforms = set()
    for ds_id in ok[:60]:
        text = emu.croissant_document(ds_id)
        assert 60 * 1024 < len(text.encode()) < 68 * 1024
        doc = json.loads(text)
        assert doc["description"].rstrip().endswith(emu.dataset(ds_id)["sha"])
        conforms.add(str(doc.get("conformsTo")))
    assert conforms == {CROISSANT_1_1, "http://mlcommons.org/croissant/1.0", "None"}


def ok_documents(emu: HubEmulator) -> dict[str, dict]:
    """id -> parsed 200 document of every dataset that has one."""
    out = {}
    for ds_id in emu.dataset_ids():
        if emu.croissant_status(ds_id) == 200:
            out[ds_id] = json.loads(emu.croissant_document(ds_id))
    return out


@pytest.mark.parametrize("share", [0.0, 0.1, 0.25, 1.0])
def test_croissant_mix_share_is_as_configured(share):
    docs = ok_documents(HubEmulator(datasets=3000, seed=5, old_croissant_share=share))
    assert len(docs) > 2000
    old = [d for d in docs.values() if d.get("conformsTo") != CROISSANT_1_1]
    assert {d.get("conformsTo") for d in old} <= {None, "http://mlcommons.org/croissant/1.0"}
    if share in (0.0, 1.0):
        assert len(old) == share * len(docs)
    else:
        assert abs(len(old) / len(docs) - share) < 0.03
    for doc in docs.values():
        assert isinstance(doc["@context"], dict)  # inline, never a URL to fetch


def test_croissant_mix_default_is_nearly_all_generated_1_1():
    assert EmulatorConfig().old_croissant_share == 0.02
    docs = ok_documents(HubEmulator(datasets=4000))
    share_1_1 = sum(d.get("conformsTo") == CROISSANT_1_1 for d in docs.values()) / len(docs)
    assert 0.96 < share_1_1 < 1.0
    # the mix is a per-dataset draw: the same dataset keeps its style across days
    emu = HubEmulator(datasets=4000)
    ds_id = next(i for i, d in docs.items() if d.get("conformsTo") != CROISSANT_1_1)
    later = json.loads(emu.croissant_document(ds_id, day=3))
    assert later.get("conformsTo") == docs[ds_id].get("conformsTo")


CONTENT_SIZE_RE = re.compile(r"^\d+(\.\d)? (B|kB|MB|GB|TB)$")


def _fields(fields: list[dict]):
    for f in fields:
        yield f
        yield from _fields(f.get("subField", []))


def test_generated_documents_have_the_hubs_1_1_shape():
    emu = HubEmulator(datasets=3000, old_croissant_share=0.0)
    docs = ok_documents(emu)
    real = json.loads((DEFAULT_FIXTURES_DIR / "squad_v2.json").read_text(encoding="utf-8"))
    assert real["@context"] == CONTEXT_1_1  # the Hub's own 1.1 context
    data_types, encodings, units, shapes, configs = set(), set(), set(), set(), set()
    for ds_id, doc in docs.items():
        assert doc["@context"] == CONTEXT_1_1 and doc["@type"] == "sc:Dataset"
        assert doc["conformsTo"] == CROISSANT_1_1
        assert list(doc)[:5] == ["@context", "@type", "distribution", "recordSet", "conformsTo"]
        assert doc["url"] == f"https://huggingface.co/datasets/{ds_id}"
        assert doc["alternateName"][0] == ds_id
        if "/" in ds_id:
            assert doc["creator"]["url"] == f"https://huggingface.co/{ds_id.split('/')[0]}"
        else:
            assert "creator" not in doc
        if "license" in doc:
            lic = doc["license"].rsplit("/", 2)[-2]
            assert lic in doc["keywords"] and f"license:{lic}" in emu.dataset(ds_id)["tags"]
        ids = [d["@id"] for d in doc["distribution"]]
        for dist in doc["distribution"]:
            assert dist["@type"] in ("cr:FileObject", "cr:FileSet")
            encodings.add(dist["encodingFormat"])
            if dist["@type"] == "cr:FileObject":
                assert dist["contentUrl"].startswith(f"https://huggingface.co/datasets/{ds_id}/")
                assert dist["sha256"]
            else:
                assert dist["containedIn"]["@id"] in ids and dist["includes"]
            if "contentSize" in dist:
                assert CONTENT_SIZE_RE.match(dist["contentSize"]), dist["contentSize"]
                units.add(dist["contentSize"].split()[1])
        for rs in doc["recordSet"]:
            assert rs["@type"] == "cr:RecordSet" and rs["field"]
            ids.append(rs["@id"])
            if rs.get("dataType") == "cr:Split":
                assert rs["data"] and rs["key"]["@id"] == rs["field"][0]["@id"]
                continue
            configs.add(rs["@id"])
            for f in _fields(rs["field"]):
                assert f["@type"] == "cr:Field"
                ids.append(f["@id"])
                assert ("dataType" in f) != ("subField" in f)
                if "dataType" in f:
                    data_types.add(f["dataType"])
                    source = f["source"]
                    (ref,) = [source[k] for k in ("fileSet", "fileObject") if k in source]
                    assert ref["@id"] in ids
                    assert set(source["extract"]) & {"column", "fileProperty"}
                if f.get("isArray"):
                    shapes.add(f["arrayShape"])
        assert len(ids) == len(set(ids))  # every @id unique
    assert {
        "sc:Text",
        "sc:Integer",
        "sc:Boolean",
        "sc:Date",
        "sc:ImageObject",
        "sc:AudioObject",
        "cr:Int64",
        "cr:Float32",
        "cr:Float64",
    } <= data_types
    assert {"-1", "-1,4"} <= shapes  # lists, and bounding boxes
    assert encodings == {
        "git+https",
        "application/x-parquet",
        "text/csv",
        "application/json",
        "application/jsonlines",
    }
    assert {"B", "kB", "MB", "GB"} <= units
    assert {"default", "en", "fr"} <= configs
    assert max(len(d["recordSet"]) for d in docs.values()) >= 4  # several configs
    assert len({json.dumps(d["recordSet"])[:2000] for d in docs.values()}) > 500  # varied


def test_old_style_documents_are_the_real_pre_1_1_fixtures():
    emu = HubEmulator(datasets=400, old_croissant_share=1.0)
    fixtures = {
        p.name: json.loads(p.read_text(encoding="utf-8"))
        for p in DEFAULT_FIXTURES_DIR.glob("*.json")
    }
    old = {
        tuple(r.get("name", r["@id"]) for r in d["recordSet"])
        for d in fixtures.values()
        if d.get("conformsTo") != CROISSANT_1_1
    }
    seen = set()
    for ds_id, doc in ok_documents(emu).items():
        seen.add(tuple(r.get("name", r["@id"]) for r in doc["recordSet"]))
        assert doc["name"] == ds_id.rsplit("/", 1)[-1]
        assert doc["url"] == f"https://huggingface.co/datasets/{ds_id}"
    assert seen == old and len(old) == 2


# --------------------------------------------------------------------------------------------
# fixtures setting


def test_fixtures_default_is_the_in_repo_folder(monkeypatch):
    here = Path(__file__).resolve().parents[1]
    assert here / "fixtures" / "croissant" == DEFAULT_FIXTURES_DIR
    assert {p.name for p in DEFAULT_FIXTURES_DIR.glob("*.json")} == {
        "ibm_duorc.json",
        "pollen-robotics_apple_storage.json",
        "squad_v2.json",
    }
    # the old environment variable is not a setting any more: the default needs nothing
    monkeypatch.setenv("HUB_EMULATOR_FIXTURES", "/nonexistent")
    emu = HubEmulator(datasets=200, old_croissant_share=1.0)
    assert emu.config.fixtures_dir is None
    assert ok_documents(emu)


def _custom_fixtures(folder: Path) -> Path:
    doc = json.loads((DEFAULT_FIXTURES_DIR / "pollen-robotics_apple_storage.json").read_text())
    doc["keywords"] = ["custom-fixture-marker"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "custom.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


def test_fixtures_dir_overrides_the_default(tmp_path):
    folder = _custom_fixtures(tmp_path / "fixtures")
    emu = HubEmulator(datasets=100, old_croissant_share=1.0, fixtures_dir=str(folder))
    docs = ok_documents(emu)
    assert docs and all(d["keywords"] == ["custom-fixture-marker"] for d in docs.values())
    # changed at runtime: documents follow
    emu.update_config(fixtures_dir=None)
    assert all(d["keywords"] != ["custom-fixture-marker"] for d in ok_documents(emu).values())
    with pytest.raises(FileNotFoundError, match="fixtures_dir"):
        HubEmulator(datasets=1, fixtures_dir=str(tmp_path / "empty"))


def test_cli_fixtures_dir_and_old_share_flags(tmp_path):
    folder = _custom_fixtures(tmp_path / "fixtures")
    args = ["--datasets", "60", "--old-croissant-share", "1", "--fixtures-dir", str(folder)]
    proc, base_url = spawn_emulator_process(args)
    try:
        twin = HubEmulator(datasets=60)
        ds = next(i for i in twin.dataset_ids() if twin.croissant_status(i) == 200)
        status, _, body = http(f"{base_url}/api/datasets/{ds}/croissant")
        assert status == 200 and json.loads(body)["keywords"] == ["custom-fixture-marker"]
        config = json.loads(http(f"{base_url}/_emulator/config")[2])
        assert config["old_croissant_share"] == 1.0 and config["fixtures_dir"] == str(folder)
    finally:
        assert stop_emulator_process(proc) == 0


def test_cli_help_lists_the_flags():
    out = subprocess.run(
        [sys.executable, "-m", "hf_croissant_assets_tests.hub_emulator", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for flag in ("--datasets", "--quota", "--fixtures-dir", "--old-croissant-share"):
        assert flag in out


def test_package_exports_and_sources():
    for name in hub_emulator_package.__all__:
        assert getattr(hub_emulator_package, name) is not None
    package_dir = Path(hub_emulator_package.__file__).parent
    assert not (package_dir.parent / "hub_emulator.py").exists()
    banned = ("/" + "work", ".." + "/shared", "shared/" + "fixtures", "ARCHI" + "TECTURE", "\u00a7")
    for path in package_dir.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for needle in banned:
            assert needle not in text, f"{path.name} mentions {needle!r}"


def test_fail_always():
    with running_emulator(datasets=30) as emu:
        target = emu.dataset_ids()[3]
        emu.config.fail_always = {target: 503}
        for _ in range(3):
            status, headers, _ = http(f"{emu.base_url}/api/datasets/{target}/croissant")
            assert status == 503 and "RateLimit" in headers
        assert emu.stats["croissant_fetches"][target] == 3


# --------------------------------------------------------------------------------------------
# churn


def test_day_churn_new_deleted_modified_unchanged():
    with running_emulator(datasets=3000) as emu:
        day0 = {it["id"]: it for it in crawl(emu.base_url, "full=true")[0]}
        docs0 = {i: emu.croissant_document(i) for i in day0 if emu.croissant_status(i) == 200}
        emu.set_day(1)
        day1 = {it["id"]: it for it in crawl(emu.base_url, "full=true")[0]}
        assert day1 == {it["id"]: it for it in emu.catalog()}

        new = set(day1) - set(day0)
        deleted = set(day0) - set(day1)
        kept = set(day0) & set(day1)
        modified = {i for i in kept if day0[i]["sha"] != day1[i]["sha"]}
        unchanged = kept - modified
        assert 20 <= len(new) <= 40  # 1% of 3000
        assert 2 <= len(deleted) <= 40  # ~0.5%
        assert 40 <= len(modified) <= 150  # ~3%
        assert all(day1[i]["createdAt"] > max(x["createdAt"] for x in day0.values()) for i in new)

        for ds_id in list(deleted)[:5]:
            status, _, _ = http(f"{emu.base_url}/api/datasets/{ds_id}/croissant")
            assert status == 404
            assert emu.croissant_status(ds_id, day=0) != 404
        stable = ("_id", "sha", "lastModified", "createdAt", "gated", "tags", "description")
        for ds_id in modified:
            assert day1[ds_id]["lastModified"] > day0[ds_id]["lastModified"]
            if ds_id in docs0:
                assert emu.croissant_document(ds_id) != docs0[ds_id]
        for ds_id in unchanged:
            assert all(day1[ds_id][k] == day0[ds_id][k] for k in stable)
            if ds_id in docs0:
                assert emu.croissant_document(ds_id) == docs0[ds_id]

        # deletion is permanent, versions only move forward
        day5 = {it["id"]: it for it in emu.catalog(day=5)}
        assert not deleted & set(day5)
        assert all(day5[i]["lastModified"] >= day1[i]["lastModified"] for i in set(day5) & kept)


# --------------------------------------------------------------------------------------------
# rate limit


def test_fixed_window_rate_limit():
    with running_emulator(datasets=20, quota=5, window=2) as emu:
        url = f"{emu.base_url}/api/datasets?limit=5"
        remaining = []
        for _ in range(5):
            status, headers, _ = http(url)
            assert status == 200
            r, t = map(int, RATELIMIT_RE.match(headers["RateLimit"]).groups())
            assert 1 <= t <= 2
            remaining.append(r)
            assert POLICY_RE.match(headers["RateLimit-Policy"]).groups() == ("5", "2")
        assert remaining == [4, 3, 2, 1, 0]
        status, headers, body = http(f"{emu.base_url}/api/datasets/x/y-1/croissant")
        assert status == 429  # both endpoints share the bucket
        assert "rate-limited" in json.loads(body)["error"]
        assert 1 <= int(headers["Retry-After"]) <= 2
        r, t = map(int, RATELIMIT_RE.match(headers["RateLimit"]).groups())
        assert r == 0 and 1 <= t <= 2
        status, _, _ = http(url)
        assert status == 429  # a 429 does not consume quota but the window is still spent
        stats = emu.stats
        assert stats["rate_limited"] == 2 and stats["served_ok_in_quota"] == 5
        assert stats["by_status"] == {"200": 5, "429": 2}

        time.sleep(t + 0.05)
        status, headers, _ = http(url)
        assert status == 200 and RATELIMIT_RE.match(headers["RateLimit"]).group(1) == "4"

        emu.config.retry_after = False
        emu.config.quota = 1
        emu.config.window = 60
        statuses = [http(url) for _ in range(3)]
        limited = [h for s, h, _ in statuses if s == 429]
        assert limited and all("Retry-After" not in h for h in limited)


def test_unlimited_quota_still_sends_headers():
    with running_emulator(datasets=5) as emu:
        _, headers, _ = http(f"{emu.base_url}/api/datasets")
        r, _ = map(int, RATELIMIT_RE.match(headers["RateLimit"]).groups())
        q, w = map(int, POLICY_RE.match(headers["RateLimit-Policy"]).groups())
        assert q >= 10**6 and r == q - 1 and w == 300


# --------------------------------------------------------------------------------------------
# faults


async def _fault_probe(base_url: str, path: str, **kwargs):
    """(outcome, detail): 'ok' with (status, content type, body) or 'error' with the exception."""
    timeout = aiohttp.ClientTimeout(total=kwargs.pop("timeout", 5))
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            async with session.get(base_url + path) as r:
                body = await r.read()
                return "ok", (r.status, r.headers.get("Content-Type", ""), body, r.headers)
        except Exception as exc:
            return "error", exc


def test_injected_faults_behave_like_the_wild():
    with running_emulator(datasets=40, timeout_s=0.6) as emu:
        ds = next(i for i in emu.dataset_ids() if emu.croissant_status(i) == 200)
        cpath = f"/api/datasets/{ds}/croissant"

        def probe(path, **kw):
            return asyncio.run(_fault_probe(emu.base_url, path, **kw))

        emu.inject("list", "429", "500", "502", "503", "504")
        outcome, (status, _, body, headers) = probe("/api/datasets?limit=3")
        assert (outcome, status, headers["Retry-After"]) == ("ok", 429, "1")
        assert "RateLimit" in headers and "RateLimit-Policy" in headers
        for code in (500, 502, 503, 504):
            outcome, (status, ctype, body, headers) = probe("/api/datasets?limit=3")
            assert status == code and ctype.startswith("application/json")
            assert "error" in json.loads(body) and "RateLimit" in headers

        # aiohttp silently retries an idempotent request once after a dropped connection:
        # two resets in a row reach the caller
        emu.inject("croissant", "reset", "reset")
        outcome, exc = probe(cpath)
        assert outcome == "error"
        assert isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError), exc

        emu.inject("croissant", "truncate")
        outcome, exc = probe(cpath)
        assert outcome == "error" and isinstance(exc, aiohttp.ClientPayloadError), exc
        emu.inject("list", "truncate")
        outcome, exc = probe("/api/datasets?limit=20")
        assert outcome == "error" and isinstance(exc, aiohttp.ClientPayloadError), exc

        emu.inject("croissant", "nonjson")
        outcome, (status, ctype, body, _) = probe(cpath)
        assert status == 200 and ctype.startswith("text/html") and b"Bad Gateway" in body
        with pytest.raises(ValueError):
            json.loads(body)

        emu.inject("croissant", "timeout", "timeout")
        outcome, exc = probe(cpath, timeout=0.2)
        assert outcome == "error" and isinstance(exc, asyncio.TimeoutError), exc
        started = time.monotonic()
        outcome, (status, _, body, _) = probe(cpath, timeout=5)
        assert status == 200 and time.monotonic() - started >= 0.55
        assert body.decode() == emu.croissant_document(ds)

        # the queue is empty again: normal answers
        assert probe(cpath)[1][0] == 200
        stats = emu.stats
        assert stats["faults"] == {
            "429": 1,
            "500": 1,
            "502": 1,
            "503": 1,
            "504": 1,
            "reset": 2,
            "truncate": 2,
            "nonjson": 1,
            "timeout": 2,
        }
        assert stats["croissant_fetches"][ds] == 2 + 1 + 1 + 2 + 1


def test_random_faults_are_seeded_and_scoped():
    def run() -> tuple[list[int], dict]:
        with running_emulator(datasets=10, fault_rate={"503": 0.3, "500": 0.1}, seed=7) as emu:
            statuses = [http(f"{emu.base_url}/api/datasets?limit=1")[0] for _ in range(150)]
            # admin and unknown endpoints are not subject to random faults
            assert http(f"{emu.base_url}/_emulator/stats")[0] == 200
            assert http(f"{emu.base_url}/api/nothing")[0] == 404
            return statuses, emu.stats

    statuses, stats = run()
    counts = collections.Counter(statuses)
    assert 25 <= counts[503] <= 70 and 5 <= counts[500] <= 30 and counts[200] >= 70
    assert stats["faults"] == {"503": counts[503], "500": counts[500]}
    assert run()[0] == statuses  # same seed, same sequence


def test_latency():
    with running_emulator(datasets=5, latency_ms=150) as emu:
        started = time.monotonic()
        assert http(f"{emu.base_url}/api/datasets")[0] == 200
        assert time.monotonic() - started >= 0.14


# --------------------------------------------------------------------------------------------
# admin, CLI, scale, compatibility


def test_admin_endpoints_drive_the_emulator_and_are_not_counted():
    with running_emulator(datasets=200) as emu:
        base = emu.base_url
        http(f"{base}/api/datasets?limit=10")
        status, _, body = http(f"{base}/_emulator/stats")
        assert status == 200 and json.loads(body)["requests"] == 1
        status, _, body = http(f"{base}/_emulator/config", "POST", {"day": 2, "quota": 100})
        assert status == 200 and json.loads(body)["day"] == 2
        assert emu.config.day == 2 and emu.config.quota == 100
        assert http(f"{base}/_emulator/config", "POST", {"nope": 1})[0] == 400
        assert (
            http(f"{base}/_emulator/inject", "POST", {"endpoint": "list", "kinds": ["x"]})[0] == 400
        )
        assert (
            http(f"{base}/_emulator/inject", "POST", {"endpoint": "list", "kinds": ["503"]})[0]
            == 200
        )
        status, headers, _ = http(f"{base}/api/datasets?limit=10")
        assert status == 503 and RATELIMIT_RE.match(headers["RateLimit"]).group(1) == "98"
        stats = json.loads(http(f"{base}/_emulator/stats")[2])
        assert stats["requests"] == 2 and stats["by_status"] == {"200": 1, "503": 1}
        log = json.loads(http(f"{base}/_emulator/requests?n=5")[2])
        assert [entry[3] for entry in log] == [200, 503]
        assert http(f"{base}/_emulator/reset-stats", "POST", {})[0] == 200
        assert emu.stats["requests"] == 0 and not emu.request_log


def test_cli_subprocess_serves_500k_and_stops_on_sigterm():
    proc, base_url = spawn_emulator_process(
        ["--datasets", "500000", "--seed", "3", "--quota", "1000", "--window", "60"]
    )
    try:
        assert base_url.startswith("http://127.0.0.1:")
        url = f"{base_url}/api/datasets?limit=1000&" + expand_query(LISTING_EXPAND)
        status, headers, body = http(url)
        assert status == 200
        items = json.loads(body)
        assert len(items) == 1000 and next_link(headers)
        assert POLICY_RE.match(headers["RateLimit-Policy"]).groups() == ("1000", "60")
        # ground truth from an in-process twin (same configuration, never started)
        twin = HubEmulator(datasets=500_000, seed=3)
        keep = {"_id", "id", *LISTING_EXPAND}
        assert items == [
            {k: v for k, v in it.items() if k in keep} for it in islice(twin.catalog(), 1000)
        ]
        # far into the catalogue
        status, _, body = http(next_link(headers))
        assert status == 200 and len(json.loads(body)) == 1000
        ds = items[0]["id"]
        status, _, _ = http(f"{base_url}/api/datasets/{ds}/croissant")
        assert status == twin.croissant_status(ds)
        stats = json.loads(http(f"{base_url}/_emulator/stats")[2])
        assert stats["by_endpoint"] == {"list": 2, "croissant": 1}
    finally:
        assert stop_emulator_process(proc) == 0


def test_construction_at_500k_is_lazy_and_pages_are_cheap():
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        emu = HubEmulator(datasets=500_000)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 2_000_000, f"construction allocated {grown} bytes"
    with running_emulator(emu.config) as live:
        live.set_day(3)
        started = time.perf_counter()
        status, headers, body = http(f"{live.base_url}/api/datasets?limit=1000&full=true")
        elapsed = time.perf_counter() - started
        assert status == 200 and next_link(headers)
        items = json.loads(body)
        assert len(items) == 1000
        assert elapsed < 5  # generous: typically ~30 ms; a per-request precompute would fail it
        for it in items[:20]:
            assert live.croissant_status(it["id"]) == emu.croissant_status(it["id"], day=3)


def test_huggingface_hub_client_lists_everything():
    from huggingface_hub import HfApi

    with running_emulator(datasets=2500) as emu:
        api = HfApi(endpoint=emu.base_url, token=False)
        listed = list(api.list_datasets(expand=list(LISTING_EXPAND), limit=None))
        assert [d.id for d in listed] == emu.dataset_ids()
        assert emu.stats["list_pages"] == 3
        first = next(emu.catalog())
        assert listed[0].sha == first["sha"] and listed[0].gated == first["gated"]
        info = api.dataset_info(listed[7].id)
        assert info.sha == listed[7].sha


def test_config_validation_and_inject_arguments():
    with pytest.raises(ValueError, match="fault_rate"):
        EmulatorConfig(fault_rate={"teapot": 0.1})
    with pytest.raises(ValueError, match="window"):
        HubEmulator(window=0)
    emu = HubEmulator(datasets=1)
    with pytest.raises(ValueError):
        emu.inject("listing", "503")
    with pytest.raises(ValueError):
        emu.inject("list", "418")
