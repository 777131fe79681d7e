"""The daily report: PNGs exist and are valid, and report.json matches SQL over the lake."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from dagster import materialize
from matplotlib import image as mpimg

from hf_croissant_assets.defs.resources import HubResource, LakeResource
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.report.build import CHARTS, REPORT_HTML, REPORT_JSON, build_report
from hf_croissant_assets.report.charts import DPI, FIGSIZE, safe_label
from hf_croissant_assets.schema import HF_CROISSANT, HF_DATASETS
from hf_croissant_assets_tests.support import (
    daily_report,
    hf_croissant,
    hf_dataset_listing,
    hf_datasets,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
D1, D2, D3 = "2026-01-01", "2026-01-02", "2026-01-03"
MIT = "https://choosealicense.com/licenses/mit/"
APACHE = "https://www.apache.org/licenses/LICENSE-2.0"

#: dataset -> (license tag, gated, {day: downloads}, croissant status on D3, croissant license)
DATASETS = {
    "org/alpha": ("mit", "false", {D1: 100, D2: 150, D3: 400}, 200, MIT),
    "org/beta": ("apache-2.0", "auto", {D1: 1000, D2: 900, D3: 200}, 401, None),
    "org/gamma": ("mit", "manual", {D1: 10, D2: 10, D3: 10}, 200, MIT),
    "org/zeta": ("mit", "false", {D1: 7, D2: 7}, None, None),  # gone on D3
    "org/delta": (None, "false", {D2: 5, D3: 55}, 400, None),  # new on D2
    "org/eps": ("cc-by-4.0", "false", {D3: 3}, 404, None),
    "org/eta": ("mit", "auto", {D3: 0}, None, None),  # not fetched yet
    "org/theta": ("apache-2.0", "false", {D3: 20}, 500, None),
    "org/iota": ("apache-2.0", "false", {D3: 1}, 200, APACHE),
    "org/kappa": ("mit", "false", {D3: None}, 200, None),  # document without a license
}


def _rows_for(day: str, datasets: dict) -> tuple[list[dict], list[dict]]:
    listing, croissant = [], []
    for name, (lic, gated, downloads, status, lic_url) in datasets.items():
        if day not in downloads:
            continue
        listing.append(
            {"dataset": name, "license": lic, "gated": gated, "downloads": downloads[day]}
        )
        # Croissant status/licenses vary only on D3; earlier days: everything fetched and OK.
        if day == D3:
            croissant.append({"dataset": name, "status": status, "license_url": lic_url})
        else:
            croissant.append({"dataset": name, "status": 200, "license_url": MIT})
    return listing, croissant


def _write_lake(store: LakeStore, days: list[str], datasets: dict = DATASETS) -> None:
    for day in days:
        listing, croissant = _rows_for(day, datasets)
        store.write_table("hf_datasets", day, pa.Table.from_pylist(listing, schema=HF_DATASETS))
        store.write_table("hf_croissant", day, pa.Table.from_pylist(croissant, schema=HF_CROISSANT))


@pytest.fixture
def lake(tmp_path: Path) -> tuple[LakeStore, Path]:
    root = tmp_path / "lake"
    store = LakeStore(str(root))
    _write_lake(store, [D1, D2, D3])
    return store, root


def _assert_pngs(folder: Path) -> None:
    width, height = (round(v * DPI) for v in FIGSIZE)
    assert (width, height) == (1200, 600)
    for name in CHARTS:
        data = (folder / name).read_bytes()
        assert len(data) > 1000, name
        assert data.startswith(PNG_MAGIC), name
        pixels = mpimg.imread(io.BytesIO(data), format="png")
        assert pixels.shape[:2] == (height, width), name


def _sql(root: Path, query: str, params: list | None = None) -> list[tuple]:
    """Independent of the report: DuckDB reading the local lake's parquet files directly."""
    con = duckdb.connect()
    for table in ("hf_datasets", "hf_croissant"):
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet("
            f"'{root}/{table}/date=*/*.parquet', hive_partitioning=true)"
        )
    return con.execute(query, params or []).fetchall()


def test_report_files_and_numbers_match_sql(lake):
    store, root = lake
    report = build_report(store, D3)

    folder = root / "reports" / f"date={D3}"
    assert report.folder == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*CHARTS, REPORT_HTML, REPORT_JSON])
    _assert_pngs(folder)
    for name in CHARTS:
        assert report.pngs[name] == (folder / name).read_bytes()
        assert report.paths[name] == str(folder / name)
    numbers = json.loads((folder / REPORT_JSON).read_text())
    assert numbers == json.loads(json.dumps(report.numbers()))

    # Growth: datasets per snapshot, every day up to D3.
    growth = _sql(
        root,
        'SELECT CAST("date" AS VARCHAR), count(*) FROM hf_datasets GROUP BY 1 ORDER BY 1',
    )
    assert [(g["date"], g["datasets"]) for g in numbers["growth"]] == growth
    assert [g["datasets"] for g in numbers["growth"]] == [4, 5, 9]
    assert numbers["snapshots"] == [D1, D2, D3]

    # Croissant availability by status on D3.
    status = _sql(
        root,
        """SELECT CASE WHEN status IS NULL THEN 'not fetched'
                       WHEN status IN (200, 400, 401, 404) THEN status::VARCHAR
                       ELSE 'other' END, count(*)
           FROM hf_croissant WHERE "date" = ?::DATE GROUP BY 1""",
        [D3],
    )
    assert {k: v for k, v in numbers["croissant_status"].items() if v} == dict(status)
    assert numbers["croissant_status"] == {
        "200": 4,
        "400": 1,
        "401": 1,
        "404": 1,
        "other": 1,
        "not fetched": 1,
    }

    # Gated share on D3.
    gated = dict(
        _sql(
            root,
            'SELECT gated, count(*) FROM hf_datasets WHERE "date" = ?::DATE GROUP BY 1',
            [D3],
        )
    )
    assert numbers["gated"]["counts"] == gated == {"false": 6, "auto": 2, "manual": 1}
    assert numbers["gated"]["total"] == 9
    assert numbers["gated"]["share_pct"] == {"false": 66.67, "auto": 22.22, "manual": 11.11}

    # Licenses on D3: tags over every dataset, Croissant over status-200 documents.
    tags = _sql(
        root,
        """SELECT coalesce(license, '(none)') l, count(*) n FROM hf_datasets
           WHERE "date" = ?::DATE GROUP BY 1 ORDER BY n DESC, l""",
        [D3],
    )
    assert [(r["license"], r["datasets"]) for r in numbers["licenses"]["tags"]] == tags
    assert tags == [("mit", 4), ("apache-2.0", 3), ("(none)", 1), ("cc-by-4.0", 1)]
    croissant = _sql(
        root,
        """SELECT coalesce(license_url, '(none)') l, count(*) n FROM hf_croissant
           WHERE "date" = ?::DATE AND status = 200 GROUP BY 1 ORDER BY n DESC, l""",
        [D3],
    )
    assert [(r["license"], r["datasets"]) for r in numbers["licenses"]["croissant"]] == croissant
    assert croissant == [(MIT, 2), ("(none)", 1), (APACHE, 1)]
    assert numbers["licenses"]["croissant_total"] == 4

    # Movers: only 3 snapshots, so both windows compare with the oldest (D1).
    movers_sql = _sql(
        root,
        """SELECT c.dataset, c.downloads - b.downloads AS change
           FROM hf_datasets c JOIN hf_datasets b ON b.dataset = c.dataset
           WHERE c."date" = ?::DATE AND b."date" = ?::DATE
             AND c.downloads IS NOT NULL AND b.downloads IS NOT NULL
           ORDER BY abs(change) DESC, c.dataset""",
        [D3, D1],
    )
    assert movers_sql == [("org/beta", -800), ("org/alpha", 300), ("org/gamma", 0)]
    for window in ("7", "30"):
        m = numbers["movers"][window]
        assert m["base_date"] == D1 and m["snapshots_back"] == 2 and not m["full_window"]
        assert "oldest" in m["title"] and D1 in m["title"]
        assert [(t["dataset"], t["change"]) for t in m["top"]] == movers_sql
        assert m["compared"] == 3


def test_report_for_an_earlier_day_ignores_later_snapshots(lake):
    store, root = lake
    report = build_report(store, D2)
    assert report.snapshots == [D1, D2]
    assert [g["datasets"] for g in report.growth] == [4, 5]
    assert report.croissant_status["200"] == 5
    assert report.movers["7"]["base_date"] == D1
    assert [(t["dataset"], t["change"]) for t in report.movers["7"]["top"]] == [
        ("org/beta", -100),
        ("org/alpha", 50),
        ("org/gamma", 0),
        ("org/zeta", 0),
    ]
    _assert_pngs(root / "reports" / f"date={D2}")
    assert not (root / "reports" / f"date={D3}").exists()


def test_report_opens_only_the_days_it_needs(lake):
    """The queries' `date` filters reach the lake's datasets: a later day's files are never
    opened (here they are not even parquet), so the report's I/O does not grow with history."""
    store, root = lake
    for table in ("hf_datasets", "hf_croissant"):
        (root / table / f"date={D3}" / "part-0.parquet").write_bytes(b"not parquet" * 100)
    report = build_report(store, D2)
    assert report.snapshots == [D1, D2]
    assert report.croissant_status["200"] == 5
    assert report.gated["total"] == 5


def test_out_dir_overrides_the_folder(lake, tmp_path):
    store, root = lake
    out = tmp_path / "elsewhere"
    report = build_report(store, D3, out_dir=str(out))
    assert report.folder == str(out)
    _assert_pngs(out)
    assert json.loads((out / REPORT_JSON).read_text())["date"] == D3
    assert not (root / "reports").exists()
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_full_window_uses_the_snapshot_n_snapshots_back(tmp_path):
    store = LakeStore(str(tmp_path / "lake"))
    days = [f"2026-02-{i:02d}" for i in range(1, 10)]  # 9 snapshots
    for i, day in enumerate(days):
        rows = [{"dataset": "a/b", "gated": "false", "downloads": 10 * i}]
        store.write_table("hf_datasets", day, pa.Table.from_pylist(rows, schema=HF_DATASETS))
    report = build_report(store, days[-1])
    m7 = report.movers["7"]
    assert m7["full_window"] and m7["base_date"] == days[1] and m7["snapshots_back"] == 7
    assert m7["title"].startswith("Top movers in downloads, last 7 snapshots")
    assert m7["top"] == [{"dataset": "a/b", "downloads_base": 10, "downloads": 80, "change": 70}]
    assert report.movers["30"]["base_date"] == days[0] and not report.movers["30"]["full_window"]
    # No hf_croissant at all: the Croissant charts are empty, the report still complete.
    assert report.croissant_status["200"] == 0
    assert any("no hf_croissant partition" in n for n in report.notes)
    _assert_pngs(tmp_path / "lake" / "reports" / f"date={days[-1]}")


def test_one_snapshot_degrades_movers(tmp_path):
    store = LakeStore(str(tmp_path / "lake"))
    _write_lake(store, [D1])
    report = build_report(store, D1)
    assert [g["datasets"] for g in report.growth] == [4]
    for window in ("7", "30"):
        m = report.movers[window]
        assert m["base_date"] is None and m["top"] == []
        assert "needs ≥2 snapshots" in m["title"]
    _assert_pngs(tmp_path / "lake" / "reports" / f"date={D1}")


def test_missing_day_fails_clearly(lake):
    store, _ = lake
    with pytest.raises(FileNotFoundError, match="no hf_datasets partition"):
        build_report(store, "2026-01-05")


HOSTILE = [
    "evil/$\\alpha$",
    "evil/$\\sqrt{$ unbalanced",  # invalid mathtext: crashes the draw if it were parsed
    "x/<script>alert(1)</script>",
    "x/" + "long" * 50,
    "ctl/tab\there\nnewline\x00nul",
    "中文/数据集",
    "$$",
]


def test_hostile_ids_and_licenses_are_drawn_as_plain_text(tmp_path):
    datasets = {
        name: ("$\\frac{$" if i % 2 else "<b>x</b>", "false", {D2: i, D3: 100 * i}, 200, "$x^2$")
        for i, name in enumerate(HOSTILE)
    }
    store = LakeStore(str(tmp_path / "lake"))
    _write_lake(store, [D2, D3], datasets)  # D3: Croissant licenses are hostile too
    report = build_report(store, D3)
    _assert_pngs(tmp_path / "lake" / "reports" / f"date={D3}")
    assert report.licenses["croissant"] == [{"license": "$x^2$", "datasets": len(HOSTILE)}]
    assert {t["dataset"] for t in report.movers["7"]["top"]} == set(HOSTILE)
    numbers = json.loads((tmp_path / "lake" / "reports" / f"date={D3}" / REPORT_JSON).read_text())
    assert "x/<script>alert(1)</script>" in {t["dataset"] for t in numbers["movers"]["7"]["top"]}

    label = safe_label("ctl/tab\there\nnewline\x00nul")
    assert "\n" not in label and "\x00" not in label
    assert len(safe_label("x" * 200)) == 40 and safe_label("x" * 200).endswith("…")
    assert safe_label("evil/$\\alpha$") == "evil/$\\alpha$"


def test_hostile_mathtext_would_crash_if_parsed():
    """Sanity check of the test above: the same label with mathtext on does fail to draw."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, HOSTILE[1], parse_math=True)
    with pytest.raises(ValueError):
        fig.savefig(io.BytesIO(), format="png")


def test_report_on_s3(s3_bucket):
    store = LakeStore(f"s3://{s3_bucket}/lake")
    _write_lake(store, [D1, D2])
    report = build_report(store, D2)
    folder = f"s3://{s3_bucket}/lake/reports/date={D2}"
    assert report.folder == folder
    for name in (*CHARTS, REPORT_JSON):
        assert report.paths[name] == f"{folder}/{name}"
        with store.fs.open_input_stream(f"{s3_bucket}/lake/reports/date={D2}/{name}") as f:
            data = f.read()
        assert data.startswith(PNG_MAGIC) if name.endswith(".png") else json.loads(data)
    # Nothing left behind but the report files.
    from pyarrow.fs import FileSelector

    names = {
        i.base_name
        for i in store.fs.get_file_info(FileSelector(f"{s3_bucket}/lake/reports", recursive=True))
        if i.type.name == "File"
    }
    assert names == {*CHARTS, REPORT_HTML, REPORT_JSON}


def test_dagster_asset_shows_the_charts(lake):
    _store, root = lake
    result = materialize(
        [hf_dataset_listing, hf_datasets, hf_croissant, daily_report],
        partition_key=D3,
        # The upstream assets are only in the graph (not selected, never run): their resources
        # must exist, but no Hub is ever called.
        resources={
            "lake": LakeResource(uri=str(root)),
            "hub": HubResource(endpoint="http://127.0.0.1:9"),
        },
        selection=[daily_report.key],
    )
    assert result.success
    (mat,) = result.asset_materializations_for_node("daily_report")
    meta = mat.metadata
    for name in CHARTS:
        md = meta[f"chart_{name.removesuffix('.png')}"].value
        prefix = f"![{name.removesuffix('.png')}](data:image/png;base64,"
        assert md.startswith(prefix) and md.endswith(")")
        png = base64.b64decode(md[len(prefix) : -1])
        assert png.startswith(PNG_MAGIC)
        assert png == (root / "reports" / f"date={D3}" / name).read_bytes()
    assert meta["report_folder"].value == str(root / "reports" / f"date={D3}")
    assert meta["summary"].value["datasets"] == 9
    assert meta["croissant_status"].value["200"] == 4


def test_croissant_depth_numbers_and_charts(tmp_path):
    """Fields, files, validity and license agreement on a lake built from the real fixtures."""
    from hf_croissant_assets.curate.listing_rows import dataset_row
    from hf_croissant_assets.curate.tables import (
        croissant_table,
        curate_croissant_fields,
        curate_croissant_files,
    )
    from hf_croissant_assets.schema import CROISSANT_RECORDS, CROISSANT_VALIDATION
    from hf_croissant_assets_tests.hub_emulator import DEFAULT_FIXTURES_DIR

    store = LakeStore(str(tmp_path / "lake"))
    docs = {
        "ibm/duorc": ("mit", "ibm_duorc.json"),  # Croissant says mit: agree
        "rajpurkar/squad_v2": ("mit", "squad_v2.json"),  # Croissant says cc-by-sa-4.0
        "pollen-robotics/apple_storage": ("other", "pollen-robotics_apple_storage.json"),
    }
    listing = [dataset_row({"id": d, "tags": [f"license:{t}"]}, None) for d, (t, _) in docs.items()]
    store.write_table("hf_datasets", D3, pa.Table.from_pylist(listing, schema=HF_DATASETS))
    records = [
        {"dataset": d, "status": 200, "croissant": (DEFAULT_FIXTURES_DIR / f).read_text()}
        for d, (_, f) in docs.items()
    ]
    store.write_table(
        "hf_croissant", D3, croissant_table(pa.Table.from_pylist(records, schema=CROISSANT_RECORDS))
    )
    curate_croissant_fields(store, D3)
    curate_croissant_files(store, D3)
    verdicts = [
        {
            "dataset": "ibm/duorc",
            "valid": False,
            "errors": ['"repo" should be x', '"a" should be x'],
        },
        {"dataset": "rajpurkar/squad_v2", "valid": True, "errors": []},
        {"dataset": "pollen-robotics/apple_storage", "valid": None, "errors": []},
    ]
    store.write_table(
        "croissant_validation", D3, pa.Table.from_pylist(verdicts, schema=CROISSANT_VALIDATION)
    )

    report = build_report(store, D3)
    depth = report.croissant_depth
    # 12 + 9 + 9 fields; sc:Text is the most common type in all three documents
    assert sum(t["fields"] for t in depth["field_types"]) <= 30
    assert depth["field_types"][0]["data_type"] == "sc:Text"
    # every fixture has one git repo FileObject and parquet FileSets without sizes
    formats = {r["encoding_format"]: r for r in depth["bytes_by_format"]}
    assert formats["git+https"]["files"] == 3 and formats["application/x-parquet"]["files"] == 4
    assert all(r["bytes"] == 0 for r in depth["bytes_by_format"])
    assert depth["validity"]["counts"] == {"valid": 1, "invalid": 1, "not validated": 1}
    assert depth["validity"]["top_errors"] == [{"error": '"…" should be x', "documents": 1}]
    assert depth["license_agreement"] == {
        "agree": 1, "disagree": 1, "tag only": 0, "Croissant only": 1, "neither is SPDX": 0
    }  # fmt: skip
    _assert_pngs(Path(report.folder))
