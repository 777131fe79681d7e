"""The Croissant-in-depth assets in Dagster: derived from hf_croissant, audited by blocking
checks (key uniqueness, rows of the day), re-derivable for a past day, validation apart."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from dagster import materialize

from hf_croissant_assets.curate.checks import audit
from hf_croissant_assets.curate.listing_rows import dataset_row
from hf_croissant_assets.curate.tables import croissant_table
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import (
    CROISSANT_RECORDS,
    HF_CROISSANT_FIELDS,
    HF_CROISSANT_FILES,
    HF_DATASETS,
)
from hf_croissant_assets_tests.hub_emulator import DEFAULT_FIXTURES_DIR
from hf_croissant_assets_tests.support import (
    croissant_validation,
    hf_croissant_fields,
    hf_croissant_files,
    make_resources,
)

pytestmark = pytest.mark.slow

D1 = "2026-11-19"
FIXTURES = {p.stem: p.read_text() for p in sorted(DEFAULT_FIXTURES_DIR.glob("*.json"))}


def _seed_day(store: LakeStore, date: str) -> dict[str, str]:
    """hf_datasets + hf_croissant for a past day: the three real documents, one 404."""
    docs = {f"org/{name}": text for name, text in FIXTURES.items()}
    ids = [*docs, "org/gone"]
    listing = [dataset_row({"id": d, "tags": ["license:mit"]}, f"{date}T01:00:00Z") for d in ids]
    store.write_table("hf_datasets", date, pa.Table.from_pylist(listing, schema=HF_DATASETS))
    records = [{"dataset": d, "status": 200, "croissant": t} for d, t in docs.items()]
    records.append({"dataset": "org/gone", "status": 404, "reason": "gone"})
    store.write_table(
        "hf_croissant",
        date,
        croissant_table(pa.Table.from_pylist(records, schema=CROISSANT_RECORDS)),
    )
    return docs


def _run(lake_dir, assets, date=D1):
    return materialize(
        assets,
        partition_key=date,
        resources=make_resources("http://127.0.0.1:9", lake_dir, now=f"{date}T12:00:00+00:00"),
        raise_on_error=False,
    )


def test_depth_assets_rederive_a_past_day_with_passing_checks(lake_dir, store):
    docs = _seed_day(store, D1)
    result = _run(lake_dir, [hf_croissant_fields, hf_croissant_files, croissant_validation])
    assert result.success
    checks = {
        (c.asset_key.to_user_string(), c.check_name): c.passed
        for c in result.get_asset_check_evaluations()
    }
    assert checks == {
        ("hf_croissant_fields", "schema_matches"): True,
        ("hf_croissant_fields", "key_unique"): True,
        ("hf_croissant_fields", "rows_belong_to_day"): True,
        ("hf_croissant_files", "schema_matches"): True,
        ("hf_croissant_files", "key_unique"): True,
        ("hf_croissant_files", "rows_belong_to_day"): True,
        ("croissant_validation", "schema_matches"): True,
        ("croissant_validation", "dataset_unique"): True,
        ("croissant_validation", "rows_belong_to_day"): True,
    }
    hf = store.read_table("hf_croissant", D1).to_pylist()
    fields = store.read_table("hf_croissant_fields", D1).to_pylist()
    files = store.read_table("hf_croissant_files", D1).to_pylist()
    for row in hf:
        if row["status"] != 200:
            continue
        assert sum(f["dataset"] == row["dataset"] for f in fields) == row["field_count"]
        assert sum(f["dataset"] == row["dataset"] for f in files) == (
            row["file_object_count"] + row["file_set_count"]
        )
    verdicts = {r["dataset"]: r for r in store.read_table("croissant_validation", D1).to_pylist()}
    assert set(verdicts) == set(docs)  # the 404 has no document and no verdict
    assert verdicts["org/ibm_duorc"]["valid"] is False
    assert verdicts["org/squad_v2"]["valid"] is True
    meta = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert meta["croissant_validation"]["validated"].value == 3
    assert meta["hf_croissant_fields"]["dagster/row_count"].value == len(fields)


def test_checks_catch_duplicate_keys_and_strangers(store):
    _seed_day(store, D1)
    row = {"dataset": "org/squad_v2", "record_set": "rs", "field_path": "a"}
    bad_fields = pa.Table.from_pylist(
        [row, row, {**row, "dataset": "not/listed"}], schema=HF_CROISSANT_FIELDS
    )
    store.write_table("hf_croissant_fields", D1, bad_fields)
    outcomes = {
        o.name: o
        for o in audit(
            store, "hf_croissant_fields", D1, store.parquet_file("hf_croissant_fields", D1), 0.2
        )
    }
    assert outcomes["key_unique"].passed is False
    assert "1 duplicated" in outcomes["key_unique"].description
    assert outcomes["rows_belong_to_day"].passed is False
    assert "not/listed" in outcomes["rows_belong_to_day"].description
    files = pa.Table.from_pylist(
        [{"dataset": "org/squad_v2", "file_id": None}], schema=HF_CROISSANT_FILES
    )
    store.write_table("hf_croissant_files", D1, files)
    (schema, key, belongs) = audit(
        store, "hf_croissant_files", D1, store.parquet_file("hf_croissant_files", D1), 0.2
    )
    assert schema.passed and belongs.passed and not key.passed and key.metadata["nulls"] == 1


def test_without_hf_croissant_the_day_fails_clearly(lake_dir):
    result = _run(lake_dir, [hf_croissant_fields])
    assert not result.success
    text = json.dumps([str(e.event_specific_data) for e in result.all_events if e.is_failure])
    assert "no hf_croissant partition" in text
