"""One-line analyst access to the lake, plain Python outside Dagster.

::

    from hf_croissant_assets import lake

    lake.read("hf_croissant", date="latest")          # polars DataFrame of the newest day
    lake.scan("hf_datasets").filter(pl.col("date") == date(2026, 11, 20))   # lazy, pruned
    lake.sql("select license, count(*) from hf_datasets_latest group by 1")  # DuckDB -> polars

Why it is built this way:

- **One code path for a local folder and S3.** Everything goes through `LakeStore.fs` (a
  `pyarrow.fs` filesystem) and `pyarrow.dataset`: polars scans the dataset with
  `scan_pyarrow_dataset`, DuckDB scans it as a registered Arrow object. Neither engine's own S3
  client is used, so no DuckDB `httpfs` extension (a download, unavailable offline) and no second
  set of credentials/endpoint settings: whatever `LakeStore` honours (`AWS_ENDPOINT_URL_S3`,
  `AWS_REGION`, the standard credential chain) applies here too.
- **Reading one day reads one file.** A day is one `date=D/part-0.parquet`. Asking for a day
  builds a dataset over that single file; asking for all days builds one over every day's file and
  lets the engine push `date` predicates down, so pyarrow prunes the other days' files before
  opening them. Every day is a complete snapshot (a day of `hf_croissant` holds every dataset's
  JSON-LD document), so reading 30 days to answer a question about one would cost 30 times the
  I/O — on S3, 30 times the GETs and the transfer. Listing the table's keys is the only whole-table
  operation, one LIST on S3.
- **The schema is the declared one** (`schema.TABLES`), not inferred from some file: discovery
  never opens a file, a day written before a column was added reads with nulls in it, and an
  empty table still has its columns.
- **`date` comes from the path** (Hive style; the files do not contain it), typed `Date`, last.
"""

from __future__ import annotations

import os
import re
from datetime import date as Date
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from hf_croissant_assets.lake.store import PART_FILE, LakeStore, PartitionKeyError, validate_date
from hf_croissant_assets.schema import TABLES
from hf_croissant_assets.settings import DEFAULT_LAKE, env_name

if TYPE_CHECKING:
    import duckdb
    import polars as pl

__all__ = [
    "LakeStore",
    "NoPartitionError",
    "connect",
    "dataset",
    "dates",
    "get_store",
    "history",
    "history_events",
    "read",
    "scan",
    "sql",
    "tables",
]

#: How a `date` argument may be given: "latest", "YYYY-MM-DD", a `datetime.date`, or None (all).
DateArg = str | Date | None
#: How a `lake` argument may be given: a URI/path, a ready `LakeStore`, or None (the setting).
LakeArg = str | os.PathLike[str] | LakeStore | None

#: The Hive partitioning of every table: `date=YYYY-MM-DD` directories, typed as dates.
PARTITIONING = ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive")

_PART_RE = re.compile(r"date=([^/]+)/" + re.escape(PART_FILE))


class NoPartitionError(FileNotFoundError):
    """The requested day (or, for "latest", any day) has no partition file in the lake."""


# -- arguments ------------------------------------------------------------------------------


def tables() -> list[str]:
    """The lake tables readable here (`schema.TABLES`)."""
    return list(TABLES)


def get_store(lake: LakeArg = None) -> LakeStore:
    """The `LakeStore` for `lake`: a `LakeStore` as is, a local folder or `s3://bucket/prefix`,
    or by default `HF_CROISSANT_LAKE` (else `./data/lake`) — the setting the pipeline writes to,
    so an analyst on the same machine or with the same environment needs no argument."""
    if isinstance(lake, LakeStore):
        return lake
    if lake is None:
        lake = os.environ.get(env_name("lake"), "").strip() or DEFAULT_LAKE
    return LakeStore(os.fspath(lake))


def _table(table: str) -> str:
    if table not in TABLES:
        raise ValueError(f"unknown lake table {table!r}; tables: {', '.join(TABLES)}")
    return table


def _schema(table: str) -> pa.Schema:
    """The declared schema plus the partition column, as every reader here returns it."""
    return TABLES[table].append(pa.field("date", pa.date32()))


def _day(value: DateArg) -> str | None:
    """Normalise a date argument to "latest", "YYYY-MM-DD" or None; ValueError names a bad one.

    A `datetime` is refused rather than truncated: partitions are UTC days and a datetime's day
    depends on its time zone, so the caller has to say which day they mean.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        raise ValueError(
            f"date={value!r} is a datetime; pass the UTC day as a datetime.date or 'YYYY-MM-DD'"
        )
    if isinstance(value, Date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "latest":
            return "latest"
        try:
            return validate_date(text)
        except PartitionKeyError:
            pass
    raise ValueError(
        f"date={value!r} is not 'latest', a 'YYYY-MM-DD' day, a datetime.date or None (all days)"
    )


def _where(s: LakeStore) -> str:
    return f"lake {s.uri!r}"


# -- listing --------------------------------------------------------------------------------


def _part_files(s: LakeStore, table: str) -> dict[str, str]:
    """{day: path} of every complete partition file of `table`, from one recursive listing.

    One LIST request on S3 (instead of a HEAD per day), and the same list serves `dates()`,
    "latest" and the all-days dataset, so they always agree. Files being written live under
    `_staging/`, outside the table's prefix, so only published days are seen.
    """
    prefix = s.dataset_dir(table) + "/"
    selector = pafs.FileSelector(prefix, allow_not_found=True, recursive=True)
    try:
        infos = s.fs.get_file_info(selector)
    except OSError as exc:
        hint = " (check AWS credentials, region and endpoint)" if s.is_s3 else ""
        raise OSError(f"cannot list {table} in {_where(s)}: {exc}{hint}") from exc
    found: dict[str, str] = {}
    for info in infos:
        if info.type != pafs.FileType.File or not info.path.startswith(prefix):
            continue
        match = _PART_RE.fullmatch(info.path[len(prefix) :])
        if not match:
            continue
        try:
            found[validate_date(match.group(1))] = info.path
        except PartitionKeyError:
            continue  # not a day directory; never written by the pipeline
    return dict(sorted(found.items()))


def dates(table: str, *, lake: LakeArg = None) -> list[Date]:
    """The days `table` has a partition for, ascending, as `datetime.date` (the `date` column's
    type, so they compare directly in polars filters and DuckDB parameters)."""
    s = get_store(lake)
    return [Date.fromisoformat(d) for d in _part_files(s, _table(table))]


def _latest(s: LakeStore, table: str, files: dict[str, str]) -> str:
    if not files:
        missing = ""
        if not s.is_s3 and not os.path.isdir(s.root):
            missing = f"; the folder {s.root} does not exist"
        raise NoPartitionError(
            f"date='latest': {table} has no partition yet in {_where(s)}{missing}; "
            "run the daily snapshot (hf-croissant-snapshot), or pass lake=... / set "
            "HF_CROISSANT_LAKE to an existing lake"
        )
    return next(reversed(files))


def dataset(table: str, date: DateArg = None, *, lake: LakeArg = None) -> ds.Dataset:
    """The `pyarrow.dataset` over `table` for one day (`date`) or every day (None).

    The building block of `read`, `scan` and `connect`; useful for any other Arrow consumer.
    For one day the dataset holds only that day's file (its existence checked with one
    metadata request, no listing); for all days, every day's file with Hive partitioning, so a
    filter on `date` skips the other files without opening them.
    """
    s = get_store(lake)
    table = _table(table)
    day = _day(date)
    if day is None:
        return _files_dataset(s, table, list(_part_files(s, table).values()))
    if day == "latest":
        files = _part_files(s, table)
        return _files_dataset(s, table, [files[_latest(s, table, files)]])
    path = s.part_path(table, day)
    if s.fs.get_file_info(path).type != pafs.FileType.File:
        known = list(_part_files(s, table))
        span = f"{known[0]} .. {known[-1]} ({len(known)} days)" if known else "none yet"
        raise NoPartitionError(f"no {table} partition for {day} in {_where(s)}; available: {span}")
    return _files_dataset(s, table, [path])


def _files_dataset(s: LakeStore, table: str, paths: list[str]) -> ds.Dataset:
    """A dataset over exactly these partition files, with the declared schema (no file is opened
    to infer one) and `date` parsed from each path below the table's directory."""
    return ds.dataset(
        paths,
        schema=_schema(table),
        format="parquet",
        filesystem=s.fs,
        partitioning=PARTITIONING,
        partition_base_dir=s.dataset_dir(table),
    )


def _columns(table: str, columns: list[str] | tuple[str, ...] | str | None) -> list[str] | None:
    if columns is None:
        return None
    if isinstance(columns, str):
        columns = [columns]
    known = _schema(table).names
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise ValueError(f"unknown column(s) {unknown} of {table}; columns: {', '.join(known)}")
    return list(columns)


# -- polars -------------------------------------------------------------------------------------


def read(
    table: str,
    date: DateArg = "latest",
    columns: list[str] | tuple[str, ...] | str | None = None,
    *,
    lake: LakeArg = None,
) -> pl.DataFrame:
    """`table` as a polars DataFrame: the newest day by default, a given day, or None = all days.

    `columns` selects (and orders) columns, exactly as given — include "date" to keep it; by
    default every column with `date` (Date, from the path) last. Only the chosen day's file is
    opened, and only the chosen columns are read from it. The default is "latest" rather than
    all days because this is eager and every day is a complete snapshot: all days of
    `hf_croissant` (each with every dataset's JSON-LD) rarely fit in memory. Use `scan` (lazy,
    filters pushed down) or `sql` for questions across days.
    """
    import polars as pl

    cols = _columns(table, columns)
    frame = pl.from_arrow(dataset(table, date, lake=lake).to_table(columns=cols))
    assert isinstance(frame, pl.DataFrame)  # a Table always converts to a DataFrame
    return frame


def scan(table: str, date: DateArg = None, *, lake: LakeArg = None) -> pl.LazyFrame:
    """`table` as a polars LazyFrame over every day (default), one day, or "latest".

    Projections and filters push down into the pyarrow dataset: `.select(...)` reads only those
    columns, and a comparison on `date` (`==`, `<`, `is_between`, `is_in`, ...) opens only the
    matching days' files. A predicate polars cannot hand to pyarrow (e.g. on
    `pl.col("date").dt.weekday()`) is applied after the scan: still correct, just not pruned.
    "latest" is resolved when `scan` is called, not at `collect()`.
    """
    import polars as pl

    return pl.scan_pyarrow_dataset(dataset(table, date, lake=lake))


# -- one dataset over time -------------------------------------------------------------------

#: What `history` reports of a dataset per snapshot, from `hf_datasets`.
HISTORY_COLUMNS: tuple[str, ...] = (
    "downloads",
    "likes",
    "license",
    "gated",
    "disabled",
    "sha",
    "last_modified",
)
#: And from `hf_croissant` (never the document itself: a history reads one row group per day).
HISTORY_CROISSANT_COLUMNS: dict[str, str] = {
    "status": "croissant_status",
    "request_time": "croissant_fetched",
}


def _range_files(s: LakeStore, table: str, start: DateArg, end: DateArg) -> dict[str, str]:
    """{day: path} of `table`'s partitions within [start, end] (either bound may be None)."""
    lo, hi = _day(start), _day(end)
    for name, value in (("start", lo), ("end", hi)):
        if value == "latest":
            raise ValueError(f"{name}='latest' is not a range bound; give a day or None")
    files = _part_files(s, table)
    return {d: p for d, p in files.items() if (lo is None or d >= lo) and (hi is None or d <= hi)}


def _dataset_id(dataset: str) -> str:
    if not isinstance(dataset, str) or not dataset.strip() or len(dataset) > 300:
        raise ValueError(f"dataset={dataset!r} is not a dataset id such as 'owner/name'")
    return dataset.strip()


def _lookup(s: LakeStore, table: str, files: dict[str, str], dataset: str, columns: list[str]):
    """The rows of `dataset` in these day files: pyarrow skips every row group whose min/max
    statistics exclude the id (the files are sorted by `dataset`), so each day costs its footer
    and one row group of the requested columns."""
    data = _files_dataset(s, table, list(files.values()))
    return data.to_table(columns=[*columns, "date"], filter=ds.field("dataset") == dataset)


def history(
    dataset: str,
    start: DateArg = None,
    end: DateArg = None,
    *,
    lake: LakeArg = None,
) -> pl.DataFrame:
    """One dataset's timeline: a row per snapshot day (within [start, end], default all) on
    which it was listed, oldest first.

    Columns: `date`, then `HISTORY_COLUMNS` from `hf_datasets` (downloads, likes, license, gated,
    disabled, sha, last_modified), `croissant_status` and `croissant_fetched` from
    `hf_croissant`, and `changes`: the kinds of that day's `hf_dataset_changes` events (see
    `history_events` for their before/after values). A day the dataset was not listed has no
    row (its `deleted` / `created` events say when). Works the same on a local and an S3 lake.
    """
    import polars as pl

    s = get_store(lake)
    dataset = _dataset_id(dataset)
    listing = pl.from_arrow(
        _lookup(s, "hf_datasets", _range_files(s, "hf_datasets", start, end), dataset,
                list(HISTORY_COLUMNS))
    )  # fmt: skip
    croissant = pl.from_arrow(
        _lookup(s, "hf_croissant", _range_files(s, "hf_croissant", start, end), dataset,
                list(HISTORY_CROISSANT_COLUMNS))
    )  # fmt: skip
    assert isinstance(listing, pl.DataFrame) and isinstance(croissant, pl.DataFrame)
    croissant = croissant.rename(HISTORY_CROISSANT_COLUMNS)
    events = history_events(dataset, start, end, lake=s)
    kinds = events.group_by("date").agg(pl.col("change").alias("changes"))
    frame = (
        listing.unique("date", keep="first")
        .join(croissant.unique("date", keep="first"), on="date", how="left")
        .join(kinds, on="date", how="left")
        .with_columns(pl.col("changes").fill_null(pl.lit([], pl.List(pl.String))))
        .sort("date")
    )
    return frame.select("date", *HISTORY_COLUMNS, *HISTORY_CROISSANT_COLUMNS.values(), "changes")


def history_events(
    dataset: str,
    start: DateArg = None,
    end: DateArg = None,
    *,
    lake: LakeArg = None,
) -> pl.DataFrame:
    """Every `hf_dataset_changes` event of one dataset within [start, end] (default all days):
    columns `date`, `change`, `before`, `after`, `previous_date`, oldest first."""
    import polars as pl

    s = get_store(lake)
    dataset = _dataset_id(dataset)
    files = _range_files(s, "hf_dataset_changes", start, end)
    table = _lookup(s, "hf_dataset_changes", files, dataset,
                    ["change", "before", "after", "previous_date"])  # fmt: skip
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.select("date", "change", "before", "after", "previous_date").sort("date", "change")


# -- DuckDB -------------------------------------------------------------------------------------


def connect(lake: LakeArg = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the lake's tables registered, for repeated queries.

    Registered per table (as pyarrow datasets, so DuckDB pushes projections and `date` filters
    into them and S3 needs no httpfs extension):

    - `hf_datasets`, `hf_croissant`: every day, `date` column last;
    - `hf_datasets_latest`, `hf_croissant_latest`: the newest day only. Prefer them to
      `WHERE "date" = (SELECT max("date") ...)`, which DuckDB cannot push into the scan (it
      would read every day's file).

    The day list is taken when connecting: call `connect()` again to see days written since.
    The session time zone is UTC, so timestamps come back as stored.
    """
    import duckdb

    s = get_store(lake)
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        for table in TABLES:
            paths = list(_part_files(s, table).values())
            con.register(table, _files_dataset(s, table, paths))
            con.register(f"{table}_latest", _files_dataset(s, table, paths[-1:]))
    except BaseException:
        con.close()
        raise
    return con


def sql(query: str, params: Any = None, *, lake: LakeArg = None) -> pl.DataFrame:
    """Run one DuckDB query over all days of both tables (see `connect` for what is registered)
    and return the result as a polars DataFrame.

    `params` are DuckDB's prepared-statement parameters (`?` or `$name`), e.g.
    `lake.sql('select count(*) from hf_datasets where "date" = ?', [date(2026, 11, 20)])`.
    A filter on `date` by constant or parameter prunes the other days' files. A new connection
    per call (listing both tables once); use `connect()` to run many queries on one listing.
    """
    import polars as pl

    con = connect(lake)
    try:
        relation = con.sql(query, params=params)
        return relation.pl() if relation is not None else pl.DataFrame()
    finally:
        con.close()
