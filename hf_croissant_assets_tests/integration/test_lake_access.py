"""One-line analyst access (`hf_croissant_assets.lake`): read / scan / sql / dates / connect on a
30-day lake, local and S3 (moto's server on loopback), and proof that reading one day opens only
that day's file — counted at the filesystem (every open through `LakeStore.fs`) and, for S3, at
the HTTP level (every GET reaching the S3 endpoint, through a counting proxy)."""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
import pytest

from hf_croissant_assets import lake, schema
from hf_croissant_assets.lake.store import LakeStore

FIRST = date(2026, 11, 1)
DAYS = [FIRST + timedelta(days=i) for i in range(30)]
DAY = date(2026, 11, 20)
LICENSES = ["mit", "apache-2.0", "cc-by-4.0"]


def _n(i: int) -> int:
    """Rows on day i: distinct per day, so every count identifies its day."""
    return i + 1


def _datasets_rows(i: int) -> list[dict]:
    return [
        {
            "request_time": f"{DAYS[i]}T01:00:00Z",
            "dataset": f"org/ds-{j}",
            "license": LICENSES[(i + j) % 3],
            "downloads": 100 * i + j,
            "tags": [f"day:{i}"],
            "created_at": datetime(2026, 1, 1, j % 24),
        }
        for j in range(_n(i))
    ]


def _croissant_rows(i: int) -> list[dict]:
    return [
        {"dataset": f"org/ds-{j}", "status": 200 if j % 2 else 404, "name": f"ds-{j}@{i}"}
        for j in range(_n(i))
    ]


def _expected_licenses(i: int) -> dict[str, int]:
    return dict(Counter(r["license"] for r in _datasets_rows(i)))


def _fill(store: LakeStore, days: range | list[int] = range(30)) -> None:
    for i in days:
        store.write_table(
            "hf_datasets",
            DAYS[i].isoformat(),
            pa.Table.from_pylist(_datasets_rows(i), schema=schema.HF_DATASETS),
        )
        store.write_table(
            "hf_croissant",
            DAYS[i].isoformat(),
            pa.Table.from_pylist(_croissant_rows(i), schema=schema.HF_CROISSANT),
        )


@pytest.fixture(scope="module")
def lake30(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("access") / "lake")
    _fill(LakeStore(root))
    return root


# -- counting every file opened through the store's filesystem ---------------------------


class CountingHandler(pafs.FileSystemHandler):
    """Delegates to a real pyarrow filesystem and records every file opened for reading."""

    def __init__(self, fs: pafs.FileSystem) -> None:
        self.fs = fs
        self.opened: list[str] = []
        self._lock = threading.Lock()

    def _opening(self, path: str) -> None:
        with self._lock:
            self.opened.append(path)

    def get_type_name(self):
        return f"counting+{self.fs.type_name}"

    def normalize_path(self, path):
        return self.fs.normalize_path(path)

    def equals(self, other):
        return self is other

    def get_file_info(self, paths):
        return self.fs.get_file_info(paths)

    def get_file_info_selector(self, selector):
        return self.fs.get_file_info(selector)

    def create_dir(self, path, recursive):
        self.fs.create_dir(path, recursive=recursive)

    def delete_dir(self, path):
        self.fs.delete_dir(path)

    def delete_dir_contents(self, path, missing_dir_ok=False):
        self.fs.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self):
        raise NotImplementedError

    def delete_file(self, path):
        self.fs.delete_file(path)

    def move(self, src, dest):
        self.fs.move(src, dest)

    def copy_file(self, src, dest):
        self.fs.copy_file(src, dest)

    def open_input_stream(self, path):
        self._opening(path)
        return self.fs.open_input_stream(path)

    def open_input_file(self, path):
        self._opening(path)
        return self.fs.open_input_file(path)

    def open_output_stream(self, path, metadata):
        return self.fs.open_output_stream(path, metadata=metadata)

    def open_append_stream(self, path, metadata):
        return self.fs.open_append_stream(path, metadata=metadata)


def counting(uri: str) -> tuple[LakeStore, CountingHandler]:
    store = LakeStore(uri)
    handler = CountingHandler(store.fs)
    store.fs = pafs.PyFileSystem(handler)
    return store, handler


def _opened_days(handler: CountingHandler, store: LakeStore, table: str) -> set[str]:
    """Which files were opened, as `<table>/date=D` (anything else opened shows up whole)."""
    prefix = store.dataset_dir(table) + "/"
    return {
        p[len(store.root) + 1 :].removesuffix("/part-0.parquet") if p.startswith(prefix) else p
        for p in handler.opened
    }


# -- local lake: results ------------------------------------------------------------------------


def test_read_latest_is_the_newest_day_with_a_date_column(lake30):
    df = lake.read("hf_croissant", date="latest", lake=lake30)
    assert isinstance(df, pl.DataFrame)
    assert df.columns == [*schema.HF_CROISSANT.names, "date"]
    assert df.schema["date"] == pl.Date
    assert df["date"].unique().to_list() == [DAYS[-1]]
    assert sorted(df["name"].to_list()) == sorted(r["name"] for r in _croissant_rows(29))
    # "latest" is the default of the eager read
    assert lake.read("hf_croissant", lake=lake30).equals(df)


def test_read_one_day_with_columns(lake30):
    i = DAYS.index(DAY)
    df = lake.read("hf_datasets", date="2026-11-20", columns=["dataset", "license"], lake=lake30)
    assert df.columns == ["dataset", "license"]
    assert sorted(df.rows()) == sorted((r["dataset"], r["license"]) for r in _datasets_rows(i))
    # a datetime.date is the same day; "date" is returned when asked for
    same = lake.read("hf_datasets", date=DAY, columns=["date", "downloads"], lake=lake30)
    assert same.schema == {"date": pl.Date, "downloads": pl.Int32}
    assert same["date"].unique().to_list() == [DAY]
    assert sorted(same["downloads"]) == [100 * i + j for j in range(_n(i))]
    typed = lake.read("hf_datasets", date=DAY, lake=lake30)
    assert typed.schema["created_at"] == pl.Datetime("ms", "UTC")
    assert typed.schema["tags"] == pl.List(pl.String)


def test_read_all_days(lake30):
    df = lake.read("hf_datasets", date=None, lake=lake30)
    assert df.height == sum(_n(i) for i in range(30))
    per_day = dict(df.group_by("date").len().iter_rows())
    assert per_day == {d: _n(i) for i, d in enumerate(DAYS)}


def test_dates(lake30):
    assert lake.dates("hf_croissant", lake=lake30) == DAYS
    assert lake.dates("hf_datasets", lake=Path(lake30)) == DAYS


def test_default_lake_is_the_setting(lake30, monkeypatch):
    monkeypatch.setenv("HF_CROISSANT_LAKE", lake30)
    assert lake.dates("hf_datasets") == DAYS
    assert lake.read("hf_datasets", date=DAY).height == _n(DAYS.index(DAY))
    assert lake.sql("select count(*) as n from hf_croissant").item() == sum(map(_n, range(30)))
    # unset: ./data/lake, relative to the working directory
    monkeypatch.delenv("HF_CROISSANT_LAKE")
    monkeypatch.chdir(Path(lake30).parent)
    (Path(lake30).parent / "data").mkdir(exist_ok=True)
    assert lake.get_store().root == str(Path(lake30).parent / "data" / "lake")
    assert lake.dates("hf_datasets") == []


def test_scan_is_lazy_and_filters(lake30):
    lf = lake.scan("hf_datasets", lake=lake30)
    assert isinstance(lf, pl.LazyFrame)
    one = lf.filter(pl.col("date") == DAY).select("dataset", "date").collect()
    assert one.height == _n(DAYS.index(DAY)) and one["date"].unique().to_list() == [DAY]
    week = (
        lf.filter(pl.col("date").is_between(date(2026, 11, 24), date(2026, 11, 30)))
        .group_by("date")
        .agg(pl.len())
        .collect()
    )
    assert dict(week.iter_rows()) == {DAYS[i]: _n(i) for i in range(23, 30)}
    latest = lake.scan("hf_datasets", date="latest", lake=lake30).collect()
    assert latest["date"].unique().to_list() == [DAYS[-1]] and latest.height == _n(29)
    assert lake.scan("hf_datasets", date=DAY, lake=lake30).collect().height == _n(19)


def test_sql_over_all_partitions(lake30):
    per_day = lake.sql(
        'select "date", count(*) as n from hf_datasets group by 1 order by 1', lake=lake30
    )
    assert isinstance(per_day, pl.DataFrame)
    assert per_day.rows() == [(d, _n(i)) for i, d in enumerate(DAYS)]
    both = lake.sql(
        """select c."date", count(*) as n from hf_croissant c
           join hf_datasets d using ("date", dataset) where c.status = 200 group by 1 order by 1""",
        lake=lake30,
    )
    assert both.rows() == [(d, _n(i) // 2) for i, d in enumerate(DAYS) if _n(i) // 2]
    licenses = lake.sql(
        "select license, count(*) from hf_datasets where \"date\" = DATE '2026-11-20' group by 1",
        lake=lake30,
    )
    assert dict(licenses.rows()) == _expected_licenses(DAYS.index(DAY))
    param = lake.sql('select count(*) from hf_datasets where "date" = ?', [DAY], lake=lake30).item()
    assert param == _n(DAYS.index(DAY))
    latest = lake.sql('select max("date"), count(*) from hf_croissant_latest', lake=lake30)
    assert latest.rows() == [(DAYS[-1], _n(29))]


def test_connect_for_repeated_queries(lake30):
    con = lake.connect(lake=lake30)
    try:
        tables = {row[0] for row in con.sql("show tables").fetchall()}
        assert {
            "hf_datasets",
            "hf_croissant",
            "hf_datasets_latest",
            "hf_croissant_latest",
        } <= tables
        for i in (0, 19, 29):
            rows = con.execute(
                'select count(*) from hf_croissant where "date" = ?', [DAYS[i]]
            ).fetchall()
            assert rows == [(_n(i),)]
        assert con.sql("select current_setting('TimeZone')").fetchall() == [("UTC",)]
    finally:
        con.close()


# -- local lake: errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda root: lake.read("hf_nope", lake=root),
        lambda root: lake.scan("hf_nope", lake=root),
        lambda root: lake.dates("hf_nope", lake=root),
        lambda root: lake.read("croissant_records", lake=root),  # raw data is not a table here
    ],
)
def test_unknown_table_is_a_value_error_naming_it(lake30, call):
    with pytest.raises(ValueError, match=r"unknown lake table '(hf_nope|croissant_records)'"):
        call(lake30)


@pytest.mark.parametrize(
    "bad", ["2026-13-01", "2026-11-31", "yesterday", "20261120", 20261120, datetime(2026, 11, 20)]
)
def test_bad_date_is_a_value_error_naming_it(lake30, bad):
    with pytest.raises(ValueError, match=re.escape(f"date={bad!r}")):
        lake.read("hf_datasets", date=bad, lake=lake30)
    with pytest.raises(ValueError, match="date="):
        lake.scan("hf_datasets", date=bad, lake=lake30)


def test_unknown_column_and_missing_day(lake30):
    with pytest.raises(ValueError, match=r"unknown column\(s\) \['licence'\]"):
        lake.read("hf_datasets", date=DAY, columns=["dataset", "licence"], lake=lake30)
    with pytest.raises(lake.NoPartitionError, match=r"no hf_datasets partition for 2026-12-25"):
        lake.read("hf_datasets", date="2026-12-25", lake=lake30)
    with pytest.raises(
        FileNotFoundError, match=r"available: 2026-11-01 \.\. 2026-11-30 \(30 days\)"
    ):
        lake.scan("hf_datasets", date=date(2025, 1, 1), lake=lake30)


def test_empty_lake(tmp_path):
    empty = str(tmp_path / "nothing-here")
    with pytest.raises(
        lake.NoPartitionError, match=r"date='latest': hf_croissant has no partition"
    ):
        lake.read("hf_croissant", date="latest", lake=empty)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        lake.scan("hf_datasets", date="latest", lake=empty)
    assert lake.dates("hf_croissant", lake=empty) == []
    # all days of an empty lake: empty, with the declared columns and types
    df = lake.read("hf_datasets", date=None, lake=empty)
    assert df.height == 0 and df.columns == [*schema.HF_DATASETS.names, "date"]
    assert df.schema["date"] == pl.Date
    assert lake.scan("hf_croissant", lake=empty).collect().height == 0
    assert lake.sql("select count(*) from hf_croissant_latest", lake=empty).item() == 0


def test_importing_the_lake_does_not_import_dagster():
    code = (
        "import sys\n"
        "from hf_croissant_assets import lake\n"
        "assert callable(lake.read) and callable(lake.sql)\n"
        "heavy = [m for m in ('dagster', 'polars', 'duckdb') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- local lake: one day opens one file ---------------------------------------------------------


def test_reading_one_day_opens_only_that_days_file(lake30):
    store, handler = counting(lake30)
    df = lake.read("hf_datasets", date=DAY, columns=["dataset"], lake=store)
    assert df.height == _n(19)
    assert _opened_days(handler, store, "hf_datasets") == {"hf_datasets/date=2026-11-20"}

    handler.opened.clear()
    lake.read("hf_croissant", date="latest", lake=store)
    assert _opened_days(handler, store, "hf_croissant") == {"hf_croissant/date=2026-11-30"}


def test_scan_filter_on_date_opens_only_that_days_file(lake30):
    store, handler = counting(lake30)
    lf = lake.scan("hf_datasets", lake=store)
    assert handler.opened == []  # building the LazyFrame reads nothing
    out = lf.filter(pl.col("date") == DAY).select("license").collect()
    assert dict(out.group_by("license").len().iter_rows()) == _expected_licenses(19)
    assert _opened_days(handler, store, "hf_datasets") == {"hf_datasets/date=2026-11-20"}

    handler.opened.clear()
    lf.filter(pl.col("date").is_in([DAYS[0], DAYS[-1]])).collect()
    assert _opened_days(handler, store, "hf_datasets") == {
        "hf_datasets/date=2026-11-01",
        "hf_datasets/date=2026-11-30",
    }

    # the counter is not blind: an unfiltered scan opens all 30 files
    handler.opened.clear()
    assert lf.select(pl.len()).collect().item() == sum(map(_n, range(30)))
    assert len(_opened_days(handler, store, "hf_datasets")) == 30


def test_sql_where_date_opens_only_that_days_file(lake30):
    store, handler = counting(lake30)
    out = lake.sql(
        "select license, count(*) from hf_datasets where \"date\" = DATE '2026-11-20' group by 1",
        lake=store,
    )
    assert dict(out.rows()) == _expected_licenses(19)
    assert _opened_days(handler, store, "hf_datasets") == {"hf_datasets/date=2026-11-20"}

    handler.opened.clear()
    lake.sql('select count(*) from hf_croissant where "date" = ?', [DAY], lake=store)
    assert _opened_days(handler, store, "hf_croissant") == {"hf_croissant/date=2026-11-20"}

    handler.opened.clear()
    lake.sql("select count(*) from hf_datasets_latest", lake=store)
    assert _opened_days(handler, store, "hf_datasets") == {"hf_datasets/date=2026-11-30"}

    handler.opened.clear()
    lake.sql("select count(*) from hf_datasets where \"date\" >= DATE '2026-11-29'", lake=store)
    assert _opened_days(handler, store, "hf_datasets") == {
        "hf_datasets/date=2026-11-29",
        "hf_datasets/date=2026-11-30",
    }


# -- S3 lake (moto server on loopback) ----------------------------------------------------------


class CountingProxy:
    """A reverse proxy on loopback in front of the S3 endpoint, recording every request.

    The S3 client talks HTTP to it exactly as to S3, so what it records are the real requests
    (ListObjects, HeadObject, GetObject with their ranges), not what the Python layer thinks it
    asked for.
    """

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.requests: list[tuple[str, str, str]] = []  # (method, path, query)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                url = urlsplit(self.path)
                proxy.requests.append((self.command, unquote(url.path), url.query))
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("connection", "keep-alive", "proxy-connection")
                }
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                self.send_response(resp.status, resp.reason)
                for key, value in resp.getheaders():
                    if key.lower() not in (
                        "connection",
                        "transfer-encoding",
                        "content-length",
                        "date",
                        "server",
                    ):
                        self.send_header(key, value)
                if self.command == "HEAD":
                    self.send_header("Content-Length", resp.getheader("Content-Length", "0"))
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def object_gets(self, bucket: str) -> list[str]:
        """Keys fetched with GetObject (a GET on a key; a GET on the bucket is a listing)."""
        return [
            path[len(f"/{bucket}/") :]
            for method, path, _ in self.requests
            if method == "GET" and path.startswith(f"/{bucket}/") and path != f"/{bucket}/"
        ]


@pytest.fixture
def s3_lake30(s3_bucket) -> Iterator[str]:
    """A 30-day lake on S3 written through `LakeStore.write_table` (as the pipeline writes)."""
    uri = f"s3://{s3_bucket}/lake"
    _fill(LakeStore(uri))
    return uri


@pytest.fixture
def s3_copy30(s3_bucket, lake30) -> str:
    """The local 30-day lake's files copied to S3 through the S3 store's filesystem: the same
    bytes at the same keys, in a fraction of the requests of writing them one by one."""
    uri = f"s3://{s3_bucket}/lake"
    target = LakeStore(uri)
    for table in schema.TABLES:
        if not LakeStore(lake30).dates(table):
            continue  # a table this lake never wrote (e.g. hf_dataset_changes)
        pafs.copy_files(
            LakeStore(lake30).dataset_dir(table),
            target.dataset_dir(table),
            source_filesystem=pafs.LocalFileSystem(),
            destination_filesystem=target.fs,
        )
    return uri


def test_s3_read_scan_sql_dates(s3_lake30, monkeypatch):
    assert lake.dates("hf_datasets", lake=s3_lake30) == DAYS
    df = lake.read("hf_croissant", date="latest", lake=s3_lake30)
    assert df["date"].unique().to_list() == [DAYS[-1]] and df.height == _n(29)
    cols = lake.read(
        "hf_datasets", date="2026-11-20", columns=["dataset", "license"], lake=s3_lake30
    )
    assert sorted(cols.rows()) == sorted((r["dataset"], r["license"]) for r in _datasets_rows(19))
    assert lake.read("hf_datasets", date=None, lake=s3_lake30).height == sum(map(_n, range(30)))
    week = lake.scan("hf_datasets", lake=s3_lake30).filter(pl.col("date") > date(2026, 11, 27))
    assert dict(week.group_by("date").len().collect().iter_rows()) == {
        DAYS[i]: _n(i) for i in (27, 28, 29)
    }
    per_day = lake.sql(
        'select "date", count(*) from hf_croissant group by 1 order by 1', lake=s3_lake30
    )
    assert per_day.rows() == [(d, _n(i)) for i, d in enumerate(DAYS)]
    # the default lake from the setting, on S3 too
    monkeypatch.setenv("HF_CROISSANT_LAKE", s3_lake30)
    licenses = lake.sql(
        "select license, count(*) from hf_datasets where \"date\" = DATE '2026-11-20' group by 1"
    )
    assert dict(licenses.rows()) == _expected_licenses(19)
    with pytest.raises(lake.NoPartitionError, match="2026-12-01"):
        lake.read("hf_datasets", date="2026-12-01")


def test_s3_empty_lake_latest(s3_bucket):
    with pytest.raises(lake.NoPartitionError, match=r"hf_datasets has no partition yet"):
        lake.read("hf_datasets", date="latest", lake=f"s3://{s3_bucket}/empty")


def test_s3_one_day_opens_only_that_days_file(s3_copy30):
    assert lake.dates("hf_croissant", lake=s3_copy30) == DAYS
    store, handler = counting(s3_copy30)
    assert lake.read("hf_datasets", date=DAY, lake=store).height == _n(19)
    assert _opened_days(handler, store, "hf_datasets") == {"hf_datasets/date=2026-11-20"}

    handler.opened.clear()
    lake.scan("hf_croissant", lake=store).filter(pl.col("date") == DAY).collect()
    assert _opened_days(handler, store, "hf_croissant") == {"hf_croissant/date=2026-11-20"}

    handler.opened.clear()
    lake.sql("select count(*) from hf_datasets where \"date\" = DATE '2026-11-20'", lake=store)
    assert _opened_days(handler, store, "hf_datasets") == {"hf_datasets/date=2026-11-20"}


def test_s3_one_day_gets_only_that_days_key(s3_copy30, s3_bucket, aws_env, monkeypatch):
    """Counted on the wire: every GET that reaches the S3 endpoint goes through the proxy."""
    key = "lake/hf_datasets/date=2026-11-20/part-0.parquet"
    with CountingProxy(aws_env) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)  # read through the proxy
        uri = s3_copy30

        assert lake.read("hf_datasets", date=DAY, lake=uri).height == _n(19)
        assert proxy.object_gets(s3_bucket) and set(proxy.object_gets(s3_bucket)) == {key}

        proxy.requests.clear()
        assert lake.read("hf_datasets", date="latest", lake=uri).height == _n(29)
        assert set(proxy.object_gets(s3_bucket)) == {key.replace("2026-11-20", "2026-11-30")}

        proxy.requests.clear()
        out = lake.sql(
            "select license, count(*) from hf_datasets where \"date\" = DATE '2026-11-20' "
            "group by 1",
            lake=uri,
        )
        assert dict(out.rows()) == _expected_licenses(19)
        assert set(proxy.object_gets(s3_bucket)) == {key}

        proxy.requests.clear()
        out = lake.scan("hf_datasets", lake=uri).filter(pl.col("date") == DAY).collect()
        assert out.height == _n(19)
        assert set(proxy.object_gets(s3_bucket)) == {key}

        # the proxy is not blind: all days GET all 30 keys
        proxy.requests.clear()
        assert lake.sql("select count(*) from hf_datasets", lake=uri).item() == sum(
            map(_n, range(30))
        )
        assert len(set(proxy.object_gets(s3_bucket))) == 30
