"""`checks.count_keys`: the uniqueness checks stream a sorted partition batch by batch, carrying
only the rows of the value that straddles a boundary, and agree with a plain count whatever the
batch size, the file's order or its nulls."""

from __future__ import annotations

import random
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hf_croissant_assets.curate.checks import count_keys, dataset_unique, key_unique

KEY = ("dataset", "record_set", "field_path")


def _rows(seed: int, n: int, null_share: float) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        row = {
            "dataset": f"owner/d{rng.randrange(40):02d}",
            "record_set": rng.choice(["default", "train", "é"]),
            "field_path": rng.choice(["a", "b", "c/d", "😀"]),
        }
        for name in KEY:
            if rng.random() < null_share:
                row[name] = None
        rows.append(row)
    return rows


def _expected(rows: list[dict], key: tuple[str, ...]) -> tuple[int, int, int]:
    nulls = sum(1 for r in rows if any(r[k] is None for k in key))
    counter = Counter(tuple(r[k] for k in key) for r in rows if all(r[k] is not None for k in key))
    return len(counter), sum(c - 1 for c in counter.values()), nulls


def _write(tmp_path, rows: list[dict], sort: bool) -> pq.ParquetFile:
    if sort:  # the lake's order: byte order of the first key column, nulls last
        rows = sorted(rows, key=lambda r: (r["dataset"] is None, (r["dataset"] or "").encode()))
    path = tmp_path / f"part-{random.random()}.parquet"
    schema = pa.schema([(k, pa.string()) for k in KEY])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, row_group_size=37)
    return pq.ParquetFile(path)


@pytest.mark.parametrize("sort", [True, False])
@pytest.mark.parametrize("batch_size", [1, 7, 64, 65_536])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counts_equal_a_plain_count(tmp_path, sort, batch_size, seed):
    rows = _rows(seed, 600, null_share=0.02 if seed else 0.0)
    parquet = _write(tmp_path, rows, sort)
    for key in (KEY, ("dataset",)):
        counts = count_keys(parquet, key, batch_size=batch_size)
        assert (counts.distinct, counts.duplicates, counts.nulls) == _expected(rows, key)


def test_a_duplicate_split_across_batches_is_found(tmp_path):
    rows = [{"dataset": f"d{i:03d}", "record_set": "r", "field_path": "f"} for i in range(100)]
    rows.insert(51, dict(rows[50]))  # d050 twice, on both sides of a batch boundary at 51
    parquet = _write(tmp_path, rows, sort=True)
    counts = count_keys(parquet, KEY, batch_size=51)
    assert (counts.distinct, counts.duplicates, counts.nulls) == (100, 1, 0)
    assert counts.examples == ["d050 / r / f"]
    outcome = key_unique(parquet, KEY)
    assert not outcome.passed and "1 duplicated" in outcome.description
    outcome = dataset_unique(parquet)
    assert not outcome.passed and outcome.metadata["examples"] == "d050"


def test_a_clean_sorted_file_passes(tmp_path):
    rows = [{"dataset": f"d{i:03d}", "record_set": "r", "field_path": "f"} for i in range(300)]
    parquet = _write(tmp_path, rows, sort=True)
    assert key_unique(parquet, KEY).passed
    assert dataset_unique(parquet).description == "300 distinct non-null dataset values"
