"""Publishing a day to a Hub dataset repo, and bootstrapping a new lake from it.

Offline: the real huggingface_hub client talks to the Hub emulator on 127.0.0.1, which hosts the
dataset repo in memory (whoami, create, pre-upload, commit, tree, download).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from dagster import materialize
from huggingface_hub import DatasetCard, HfApi

from hf_croissant_assets.defs.resources import CrawlSettings, HfPublishResource
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import CROISSANT_RECORDS, HF_CROISSANT, SCHEMA_VERSION, TABLES
from hf_croissant_assets.share import publish
from hf_croissant_assets.share.bootstrap import (
    BootstrapError,
    bootstrap_croissant_records,
    choose_day,
)
from hf_croissant_assets.share.publish import PublishTokenError, check_write_access, publish_day
from hf_croissant_assets_tests.hub_emulator import running_emulator
from hf_croissant_assets_tests.support import (
    croissant_records,
    croissant_validation,
    failure_text,
    hf_croissant,
    hf_croissant_fields,
    hf_croissant_files,
    hf_dataset_changes,
    hf_dataset_listing,
    hf_datasets,
    hf_hub_export,
    make_resources,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REPO = "hf-org/hf-datasets-croissant"
WRITE, READ = "hf_emulator_write_token", "hf_emulator_read_token"
DAY1, DAY2 = "2026-11-19", "2026-11-20"
FETCHING = [
    hf_dataset_listing,
    croissant_records,
    hf_datasets,
    hf_croissant,
    hf_dataset_changes,
    hf_croissant_fields,
    hf_croissant_files,
    croissant_validation,
]
EXPECTED_DAY1_FILES = {
    ".gitattributes",
    "README.md",
    *(f"data/{table}/date={DAY1}/part-0.parquet" for table in TABLES),
    "explorer/explorer.db",
}


def _hub(**overrides):
    """An emulator that also hosts repos: a write and a read token of `hf-user` (in `hf-org`)."""
    config = {
        "write_tokens": {WRITE},
        "read_tokens": {READ},
        "token_user": "hf-user",
        "token_orgs": ("hf-org",),
    }
    return running_emulator(**(config | overrides))


def _resources(emu, lake_dir, date, *, token=WRITE, bootstrap_repo=None, publish_to=REPO):
    resources = make_resources(emu.base_url, lake_dir, now=f"{date}T12:00:00+00:00")
    resources["crawl"] = CrawlSettings(
        max_duration_s=600, batch_size=200, bootstrap_repo=bootstrap_repo
    )
    if publish_to:
        resources["hf_publish"] = HfPublishResource(
            repo_id=publish_to, token=token, endpoint=emu.base_url
        )
    return resources


def _run(assets, emu, lake_dir, date, selection=None, **kwargs):
    result = materialize(
        assets,
        partition_key=date,
        resources=_resources(emu, lake_dir, date, **kwargs),
        selection=selection,
        raise_on_error=False,
    )
    meta = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    return result, meta


def _by_dataset(store: LakeStore, table: str, date: str) -> dict[str, dict]:
    rows = store.read_table(table, date).to_pylist()
    out = {r["dataset"]: r for r in rows}
    assert len(out) == len(rows)
    return out


def _churn(emu, day_a: int, day_b: int) -> tuple[set, set]:
    a = {d["id"]: (d["sha"], d["lastModified"]) for d in emu.catalog(day_a)}
    b = {d["id"]: (d["sha"], d["lastModified"]) for d in emu.catalog(day_b)}
    return set(b) - set(a), {i for i in set(a) & set(b) if a[i] != b[i]}


def _api(emu, token=WRITE) -> HfApi:
    return HfApi(endpoint=emu.base_url, token=token)


# -- the round trip -----------------------------------------------------------------------------


def test_publish_then_bootstrap_a_new_lake_fetches_only_what_changed(tmp_path):
    lake_a, lake_b = tmp_path / "a" / "lake", tmp_path / "b" / "lake"
    store_a, store_b = LakeStore(str(lake_a)), LakeStore(str(lake_b))
    with _hub(datasets=1000, seed=11) as emu:
        # Lake A crawls day 1 and publishes it, after the day's blocking checks passed.
        result, meta = _run([*FETCHING, hf_hub_export], emu, lake_a, DAY1)
        assert result.success, failure_text(result)
        exported = meta["hf_hub_export"]
        files = emu.repo_files(REPO)
        assert set(files) == EXPECTED_DAY1_FILES
        for table in publish.PUBLISHED_TABLES:
            local = Path(store_a.part_path(table, DAY1)).read_bytes()
            assert files[f"data/{table}/date={DAY1}/part-0.parquet"] == local
        assert exported["bytes_published"].value == sum(
            len(files[f"data/{t}/date={DAY1}/part-0.parquet"]) for t in publish.PUBLISHED_TABLES
        )
        assert exported["rows"].value == {t: store_a.num_rows(t, DAY1) for t in TABLES}
        assert exported["rows"].value["hf_datasets"] == 1000
        assert exported["rows"].value["hf_croissant"] == 1000
        assert exported["rows"].value["hf_dataset_changes"] == 0  # first day: nothing to compare
        assert [c["title"] for c in emu.repo_commits(REPO)] == [
            "initial commit",
            f"Snapshot {DAY1}",
        ]

        # The card parses back with huggingface_hub and shows both tables to the viewer.
        card = DatasetCard(files["README.md"].decode())
        configs = {c["config_name"]: c for c in card.data.configs}
        assert set(configs) == set(TABLES)
        assert configs["hf_croissant"]["data_files"] == [
            {"split": "train", "path": "data/hf_croissant/*/*.parquet"}
        ]
        assert card.data.license == "other"
        for table, schema in TABLES.items():
            assert f"### `{table}`" in card.text
            assert all(f"| `{name}` |" in card.text for name in schema.names)
        for caveat in ("Carried-forward rows", "request_time", "401: gated"):
            assert caveat in card.text

        # Day 2 with churn: lake A carries on normally (and publishes day 2 too).
        emu.set_day(1)
        new, changed = _churn(emu, 0, 1)
        assert new and changed
        result, _ = _run([*FETCHING, hf_hub_export], emu, lake_a, DAY2)
        assert result.success, failure_text(result)

        # Lake B is new: it imports the newest published day before day 2, then fetches only
        # the datasets that are new or changed since.
        emu.reset_stats()
        result, meta = _run(FETCHING, emu, lake_b, DAY2, bootstrap_repo=REPO, publish_to=None)
        assert result.success, failure_text(result)
        fetched = emu.stats["croissant_fetches"]
        assert set(fetched) == new | changed
        assert set(fetched.values()) == {1}
        boot = meta["croissant_records"]["bootstrap"].value
        assert boot["status"] == "imported"
        assert boot["published_date"] == boot["imported_as"] == DAY1
        assert boot["rows"] == 1000 and boot["schema_version"] == SCHEMA_VERSION
        assert meta["croissant_records"]["previous_snapshot"].value == DAY1
        assert store_b.dates("croissant_records") == [DAY1, DAY2]
        assert store_b.dates("hf_croissant") == [DAY2]  # only the raw records were imported
        # ... and the same day's validator verdicts, so lake B validates only what changed
        assert boot["validation_rows"] == store_a.num_rows("croissant_validation", DAY1) > 0
        assert store_b.dates("croissant_validation") == [DAY1, DAY2]
        verdicts = meta["croissant_validation"]
        assert verdicts["carried_forward"].value > 0
        assert verdicts["validated"].value <= len(new | changed)

        # Lake B's day 2 equals lake A's: same rows and values, apart from the request time of
        # the documents fetched today (each lake fetched them itself).
        a2, b2 = (
            _by_dataset(store_a, "hf_croissant", DAY2),
            _by_dataset(store_b, "hf_croissant", DAY2),
        )
        assert set(a2) == set(b2) == set(emu.dataset_ids())
        for dataset, row in a2.items():
            other = b2[dataset]
            if dataset in new | changed:
                assert other["request_time"] >= row["request_time"] > f"{DAY1}T"
                row, other = dict(row, request_time=None), dict(other, request_time=None)
            assert other == row, dataset

        # Lake B's imported rows keep their original request_time, sha and status.
        a1 = _by_dataset(store_a, "croissant_records", DAY1)
        assert _by_dataset(store_b, "croissant_records", DAY1) == a1

        # Lake B again: it has its own snapshot now, so no bootstrap.
        emu.reset_stats()
        result, meta = _run(
            FETCHING,
            emu,
            lake_b,
            DAY2,
            selection=[croissant_records],
            bootstrap_repo=REPO,
            publish_to=None,
        )
        assert result.success
        assert meta["croissant_records"]["bootstrap"].value["status"] == "not_needed"
        assert emu.stats["repo"]["requests"] == 0  # the published repo is not even asked


def test_dataset_card_front_matter_and_body():
    days = [DAY1, DAY2]
    card = publish.dataset_card(REPO, "odc-by", days, 12_345, refresh_days=7)
    text = str(card)
    assert text == str(publish.dataset_card(REPO, "odc-by", days, 12_345, refresh_days=7))
    front, body = text.removeprefix("---\n").split("\n---\n", 1)
    assert yaml.safe_load(front) == {
        "license": "odc-by",
        "pretty_name": "Hugging Face Hub datasets and their Croissant metadata (daily snapshots)",
        "tags": ["croissant", "metadata", "dataset-catalog", "huggingface-hub", "snapshot"],
        "size_categories": ["10K<n<100K"],
        "configs": [
            {
                "config_name": "hf_datasets",
                "data_files": [{"split": "train", "path": "data/hf_datasets/*/*.parquet"}],
                "default": True,
            },
            *(
                {
                    "config_name": table,
                    "data_files": [{"split": "train", "path": f"data/{table}/*/*.parquet"}],
                }
                for table in list(TABLES)[1:]
            ),
        ],
    }
    assert body.startswith("\n# Hugging Face Hub datasets and their Croissant metadata")
    assert f"Snapshots published: 2 day(s), {DAY1} to {DAY2}." in body
    assert f"hf://datasets/{REPO}/data/hf_croissant/date={DAY2}/*.parquet" in body
    assert "older than 7 days" in body
    for section in ("Layout and use", "Schema", "How the data was collected", "Caveats"):
        assert f"\n## {section}\n" in body
    assert "\n## Licence\n\nThis compilation is published under `odc-by`." in body


# -- publishing: replace, never duplicate, never more than the two tables + the card ------------


@pytest.fixture(scope="module")
def small_lake(tmp_path_factory) -> Path:
    """A lake with day 1 of a 60-dataset Hub (hf_datasets + hf_croissant), nothing published."""
    lake = tmp_path_factory.mktemp("small") / "lake"
    with _hub(datasets=60, seed=5) as emu:
        result, _ = _run(FETCHING, emu, lake, DAY1, publish_to=None)
        assert result.success, failure_text(result)
    return lake


def test_republishing_a_day_replaces_it_and_uploads_nothing_else(small_lake):
    store = LakeStore(str(small_lake))
    assert (small_lake / "_staging").exists()  # there is lake bookkeeping that must stay local
    with _hub(datasets=0) as emu:
        api = _api(emu)
        for _ in range(2):
            result, meta = _run([hf_hub_export], emu, small_lake, DAY1)
            assert result.success, failure_text(result)
        assert meta["hf_hub_export"]["commit"].value == "none (files unchanged)"
        assert sorted(api.list_repo_files(REPO, repo_type="dataset")) == sorted(EXPECTED_DAY1_FILES)
        assert len(emu.repo_commits(REPO)) == 2  # the repo's initial commit + day 1, once

        # A stale file under the day's folders (e.g. an older layout) goes with the next publish.
        stale = f"data/hf_croissant/date={DAY1}/part-1.parquet"
        api.upload_file(
            path_or_fileobj=b"old", path_in_repo=stale, repo_id=REPO, repo_type="dataset"
        )
        other_day = "data/hf_croissant/date=2026-11-01/part-0.parquet"
        api.upload_file(
            path_or_fileobj=b"x", path_in_repo=other_day, repo_id=REPO, repo_type="dataset"
        )
        emu.reset_stats()
        result, meta = _run([hf_hub_export], emu, small_lake, DAY1)
        assert result.success, failure_text(result)
        assert meta["hf_hub_export"]["deleted_stale_files"].value == [stale]
        assert sorted(api.list_repo_files(REPO, repo_type="dataset")) == sorted(
            EXPECTED_DAY1_FILES | {other_day}
        )
        repo_stats = emu.stats["repo"]
        assert repo_stats["commits"] == 1 and repo_stats["files_deleted"] == 1
        # only the card changed (it now lists two published days)
        assert repo_stats["files_written"] == 1
        assert meta["hf_hub_export"]["published_days"].value == 2

        # Every commit ever made holds only the two tables' day files, the card and .gitattributes.
        allowed = EXPECTED_DAY1_FILES | {stale, other_day}
        for commit in emu.repo_commits(REPO):
            assert set(emu.repo_files(REPO, commit["oid"])) <= allowed
        assert store.exists("hf_croissant", DAY1)


def test_read_only_token_fails_clearly_before_any_upload(small_lake):
    with _hub(datasets=0) as emu:
        result, _ = _run([hf_hub_export], emu, small_lake, DAY1, token=READ)
        assert not result.success
        assert "HF_CROISSANT_PUBLISH_REPO needs a write token; HF_TOKEN is read-only" in (
            failure_text(result)
        )
        repo_stats = emu.stats["repo"]
        assert repo_stats["whoami"] == 1 and repo_stats["requests"] == 1  # nothing after whoami
        assert repo_stats["commits"] == repo_stats["preuploads"] == repo_stats["repos_created"] == 0
        assert emu.repo_ids() == []

        store = LakeStore(str(small_lake))
        for token, message in [
            (None, "needs a write token; HF_TOKEN is not set"),
            ("hf_not_a_token", "HF_TOKEN is not a valid token"),
        ]:
            with pytest.raises(PublishTokenError, match=message):
                publish_day(store, DAY1, repo_id=REPO, token=token, endpoint=emu.base_url)
        with pytest.raises(PublishTokenError, match="cannot write to the namespace 'someone-else'"):
            publish_day(store, DAY1, repo_id="someone-else/x", token=WRITE, endpoint=emu.base_url)
        assert emu.stats["repo"]["commits"] == 0 and emu.repo_ids() == []


def test_fine_grained_tokens_need_repo_write_on_the_namespace_or_repo():
    class FakeApi:
        endpoint = "http://127.0.0.1:1"

        def __init__(self, scoped):
            self.scoped = scoped

        def whoami(self, token):
            access = {"role": "fineGrained", "fineGrained": {"scoped": self.scoped}}
            return {"name": "alice", "orgs": [], "auth": {"accessToken": access}}

    org = {"entity": {"type": "org", "name": "hf-org"}, "permissions": ["repo.write"]}
    repo = {"entity": {"type": "dataset", "name": REPO}, "permissions": ["repo.write"]}
    read = {"entity": {"type": "org", "name": "hf-org"}, "permissions": ["repo.content.read"]}
    assert check_write_access(FakeApi([org]), REPO, "t")["role"] == "fineGrained"
    assert check_write_access(FakeApi([read, repo]), REPO, "t")["user"] == "alice"
    with pytest.raises(PublishTokenError, match=r"without the repo\.write permission"):
        check_write_access(FakeApi([read]), REPO, "t")


# -- bootstrap: which day, and refusing what cannot be read ------------------------------------


def test_choose_day():
    assert choose_day([], DAY2) is None
    assert choose_day(["2026-11-01", DAY1, DAY2], DAY2)[:2] == (DAY1, DAY1)
    assert choose_day([DAY2], DAY2)[:2] == (DAY2, DAY1)  # today itself, imported as yesterday
    assert choose_day(["2026-11-30"], DAY2) is None  # never a day after the one being built


def _published_table(version: str | None, drop: tuple[str, ...] = (), extra: bool = False) -> bytes:
    table = pa.table(
        {
            "dataset": ["a/one", "b/two"],
            "request_time": ["2026-11-18T10:00:00.000Z", "2026-11-18T10:00:01.000Z"],
            "status": pa.array([200, 401], pa.int32()),
            "reason": [None, '{"error":"gated"}'],
            "croissant": ['{"name":"one"}', None],
            "sha": ["1" * 40, "2" * 40],
            "last_modified": pa.array([1_700_000_000_000, None], pa.timestamp("ms", tz="UTC")),
        }
    )
    for name in HF_CROISSANT.names[len(CROISSANT_RECORDS) :]:
        table = table.append_column(name, pa.nulls(2, HF_CROISSANT.field(name).type))
    if extra:
        table = table.append_column("future_column", pa.array(["x", "y"]))
    table = table.drop_columns(list(drop))
    if version is not None:
        table = table.replace_schema_metadata({publish.SCHEMA_VERSION_KEY: version.encode()})
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("2", "has schema version '2', but this build of hf_croissant_assets reads schema version"),
        (None, "has no hf_croissant_assets.schema_version metadata"),
    ],
)
def test_bootstrap_refuses_another_schema_version(tmp_path, version, message):
    store = LakeStore(str(tmp_path / "lake"))
    with _hub(datasets=0) as emu:
        api = _api(emu)
        api.create_repo(REPO, repo_type="dataset")
        api.upload_file(
            path_or_fileobj=_published_table(version),
            path_in_repo=f"data/hf_croissant/date={DAY1}/part-0.parquet",
            repo_id=REPO,
            repo_type="dataset",
        )
        with pytest.raises(BootstrapError, match=message):
            bootstrap_croissant_records(store, DAY2, repo_id=REPO, endpoint=emu.base_url)
    assert store.dates("croissant_records") == []  # nothing was written


def test_bootstrap_accepts_an_additive_change(tmp_path):
    store = LakeStore(str(tmp_path / "lake"))
    with _hub(datasets=0) as emu:
        api = _api(emu)
        api.create_repo(REPO, repo_type="dataset")
        api.upload_file(
            path_or_fileobj=_published_table(SCHEMA_VERSION, drop=("reason",), extra=True),
            path_in_repo=f"data/hf_croissant/date={DAY1}/part-0.parquet",
            repo_id=REPO,
            repo_type="dataset",
        )
        result = bootstrap_croissant_records(store, DAY2, repo_id=REPO, endpoint=emu.base_url)
    assert result.status == "imported" and result.rows == 2
    assert result.columns_added == ["reason"] and result.columns_dropped == ["future_column"]
    rows = store.read_table("croissant_records", DAY1).to_pylist()
    assert [r["status"] for r in rows] == [200, 401] and rows[1]["reason"] is None
    assert rows[0]["request_time"] == "2026-11-18T10:00:00.000Z"
    assert store.read_json(f"_bootstrap/croissant_records-{DAY1}.json")["repo_id"] == REPO


def test_bootstrap_with_nothing_published_or_not_needed(tmp_path):
    store = LakeStore(str(tmp_path / "lake"))
    with _hub(datasets=0) as emu:
        _api(emu).create_repo(REPO, repo_type="dataset")
        result = bootstrap_croissant_records(store, DAY2, repo_id=REPO, endpoint=emu.base_url)
        assert result.status == "nothing_published"
        with pytest.raises(BootstrapError, match="no such dataset repo"):
            bootstrap_croissant_records(store, DAY2, repo_id="hf-org/nope", endpoint=emu.base_url)
    store.write_table("croissant_records", DAY1, CROISSANT_RECORDS.empty_table())
    result = bootstrap_croissant_records(store, DAY2, repo_id=REPO, endpoint="http://127.0.0.1:1")
    assert result.status == "not_needed" and result.previous_snapshot == DAY1


# -- configuration ------------------------------------------------------------------------------


def _definitions(**env) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("HF_")} | env
    code = (
        "from hf_croissant_assets.definitions import defs\n"
        "d = defs()\n"
        "keys = {k.to_user_string() for k in d.resolve_asset_graph().get_all_asset_keys()}\n"
        "print('hf_hub_export' in keys, repr(d.resources.get('hf_publish')))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=full,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_hf_hub_export_exists_only_with_a_publish_repo_and_never_shows_the_token():
    assert _definitions().stdout.startswith("False None")
    proc = _definitions(HF_CROISSANT_PUBLISH_REPO=REPO, HF_TOKEN="hf_secret_write_token")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("True HfPublishResource(repo_id='hf-org/hf-datasets-croissant'")
    assert "hf_secret_write_token" not in proc.stdout + proc.stderr
    bad = _definitions(HF_CROISSANT_PUBLISH_REPO="not a repo")
    assert (
        bad.returncode != 0
        and "HF_CROISSANT_PUBLISH_REPO='not a repo': 'not a repo' is not" in bad.stderr
    )
    bad = _definitions(HF_CROISSANT_BOOTSTRAP_REPO="a/b/c")
    assert bad.returncode != 0 and "HF_CROISSANT_BOOTSTRAP_REPO='a/b/c'" in bad.stderr
