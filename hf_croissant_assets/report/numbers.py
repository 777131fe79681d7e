"""The daily report's numbers: what the lake says as of one day, computed without drawing anything.

Plain Python (no Dagster, no matplotlib): `compute_numbers(store, date)` counts the datasets of
every snapshot up to and including `date` from the parquet footers and answers the rest with DuckDB
over the lake's tables as `lake.access.connect` registers them (pyarrow datasets on `store.fs`, so
a local folder and S3 share one code path). Every query filters on `date`, which DuckDB pushes into
the datasets: only the days a query needs (`date` and the movers' base snapshots) are opened.

The numbers: datasets per snapshot (growth), top licenses on D (the listing's license tag vs. the
Croissant document's license), Croissant availability by HTTP status on D, gated share on D, and
the largest changes of `downloads` between D and the snapshot 7 / 30 snapshots earlier (or the
oldest one). `report.charts` draws them; `report.build` writes both beside the lake.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hf_croissant_assets.lake.access import connect
from hf_croissant_assets.lake.store import LakeStore, validate_date
from hf_croissant_assets.report.croissant_numbers import croissant_depth_numbers

if TYPE_CHECKING:
    import duckdb

#: Movers windows, in snapshots (not days: the lake may have gaps).
MOVER_WINDOWS: tuple[int, ...] = (7, 30)
TOP_LICENSES = 10
TOP_MOVERS = 10
#: Croissant status buckets, in chart order; null status = the document was not fetched yet.
STATUS_BUCKETS: tuple[str, ...] = ("200", "400", "401", "404", "other", "not fetched")
GATED_VALUES: tuple[str, ...] = ("false", "auto", "manual")


@dataclass
class ReportNumbers:
    """The numbers behind the charts, as of `date`."""

    date: str
    #: `hf_datasets` snapshot dates up to and including `date`, ascending.
    snapshots: list[str]
    #: Datasets per snapshot: [{"date", "datasets"}].
    growth: list[dict[str, Any]]
    #: {"tags": [{"license", "datasets"}], "croissant": [...], "tags_total", "croissant_total",
    #: "other_tags", "other_croissant"} — top licenses on `date`; None licenses are "(none)".
    licenses: dict[str, Any]
    #: Datasets on `date` per bucket of STATUS_BUCKETS (every bucket present, zeros included).
    croissant_status: dict[str, int]
    #: {"counts": {gated: n}, "share_pct": {gated: pct}, "total": n} on `date`.
    gated: dict[str, Any]
    #: Per window ("7", "30"): {"window", "base_date", "snapshots_back", "full_window", "title",
    #: "compared", "top": [{"dataset", "downloads_base", "downloads", "change"}], "note"}.
    movers: dict[str, dict[str, Any]]
    #: Notes on what could not be computed (e.g. no hf_croissant snapshot for the day).
    notes: list[str] = field(default_factory=list)
    #: The day's `hf_dataset_changes`: {"previous_date", "counts": {kind: n}, "total",
    #: "license_changes": [{"before", "after", "datasets"}], "new_with_croissant": [ids],
    #: "new_with_croissant_total"}; empty counts when the day has no such partition.
    changes: dict[str, Any] = field(default_factory=dict)
    #: The Croissant in depth on `date` (`report.croissant_numbers`): field types, declared
    #: bytes by format, validity and top errors, license agreement.
    croissant_depth: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The key numbers, for a quick look (Dagster metadata)."""
        datasets = self.growth[-1]["datasets"] if self.growth else 0
        previous = self.growth[-2]["datasets"] if len(self.growth) > 1 else None
        return {
            "date": self.date,
            "snapshots": len(self.snapshots),
            "datasets": datasets,
            "datasets_change_vs_previous": None if previous is None else datasets - previous,
            "croissant_status": self.croissant_status,
            "gated_share_pct": self.gated["share_pct"],
            "top_tag_license": self.licenses["tags"][0] if self.licenses["tags"] else None,
            "top_croissant_license": (
                self.licenses["croissant"][0] if self.licenses["croissant"] else None
            ),
            "changes": self.changes.get("counts"),
            "top_mover_7": _first(self.movers.get("7")),
            "top_mover_30": _first(self.movers.get("30")),
        }


def _first(window: dict[str, Any] | None) -> dict[str, Any] | None:
    return window["top"][0] if window and window["top"] else None


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[tuple]:
    return con.execute(sql, params).fetchall()


# -- the numbers ------------------------------------------------------------------------------


def _growth(store: LakeStore, snapshots: list[str]) -> list[dict[str, Any]]:
    """Datasets per snapshot from the parquet footers (row counts): one small read per day
    instead of scanning a column of every day's file (which on S3 would grow with history)."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        counts = list(pool.map(lambda d: store.num_rows("hf_datasets", d), snapshots))
    return [{"date": d, "datasets": int(n)} for d, n in zip(snapshots, counts, strict=True)]


def _top_licenses(con, table: str, column: str, date: str, where: str = "") -> dict[str, Any]:
    rows = _rows(
        con,
        f"""SELECT coalesce({column}, '(none)') AS license, count(*) AS n
            FROM {table} WHERE "date" = ?::DATE {where}
            GROUP BY 1 ORDER BY n DESC, license""",
        [date],
    )
    top = [{"license": lic, "datasets": int(n)} for lic, n in rows[:TOP_LICENSES]]
    total = sum(int(n) for _, n in rows)
    return {"top": top, "total": total, "other": total - sum(r["datasets"] for r in top)}


def _licenses(con, date: str) -> dict[str, Any]:
    tags = _top_licenses(con, "hf_datasets", "license", date)
    croissant = _top_licenses(con, "hf_croissant", "license_url", date, "AND status = 200")
    return {
        "tags": tags["top"],
        "tags_total": tags["total"],
        "other_tags": tags["other"],
        "croissant": croissant["top"],
        "croissant_total": croissant["total"],
        "other_croissant": croissant["other"],
        "croissant_basis": "Croissant documents fetched with status 200",
    }


def _croissant_status(con, date: str) -> dict[str, int]:
    rows = _rows(
        con,
        """SELECT CASE WHEN status IS NULL THEN 'not fetched'
                       WHEN status IN (200, 400, 401, 404) THEN CAST(status AS VARCHAR)
                       ELSE 'other' END AS bucket, count(*)
           FROM hf_croissant WHERE "date" = ?::DATE GROUP BY 1""",
        [date],
    )
    counts = dict.fromkeys(STATUS_BUCKETS, 0)
    counts.update({bucket: int(n) for bucket, n in rows})
    return counts


def _gated(con, date: str) -> dict[str, Any]:
    rows = _rows(
        con,
        """SELECT coalesce(gated, '(unknown)'), count(*)
           FROM hf_datasets WHERE "date" = ?::DATE GROUP BY 1 ORDER BY 1""",
        [date],
    )
    counts = dict.fromkeys(GATED_VALUES, 0)
    counts.update({g: int(n) for g, n in rows})
    total = sum(counts.values())
    share = {g: (round(100.0 * n / total, 2) if total else 0.0) for g, n in counts.items()}
    return {"counts": counts, "share_pct": share, "total": total}


def _movers(con, snapshots: list[str], date: str, window: int) -> dict[str, Any]:
    """Largest |change| of `downloads` between `date` and the snapshot `window` snapshots
    earlier (or the oldest one). Datasets present in both snapshots with downloads in both."""
    idx = snapshots.index(date)
    if idx == 0:
        return {
            "window": window,
            "base_date": None,
            "snapshots_back": 0,
            "full_window": False,
            "title": f"Top movers in downloads, last {window} snapshots: needs ≥2 snapshots",
            "compared": 0,
            "top": [],
            "note": f"needs ≥2 snapshots (none before {date})",
        }
    base_idx = max(0, idx - window)
    base = snapshots[base_idx]
    back = idx - base_idx
    full = back == window
    if full:
        title = f"Top movers in downloads, last {window} snapshots ({base} → {date})"
    else:
        title = (
            f"Top movers in downloads since the oldest snapshot ({base} → {date}, "
            f"{back} of {window} snapshots)"
        )
    sql = """
        WITH cur AS (SELECT dataset, downloads FROM hf_datasets WHERE "date" = ?::DATE),
             base AS (SELECT dataset, downloads FROM hf_datasets WHERE "date" = ?::DATE),
             joined AS (
               SELECT cur.dataset, base.downloads AS downloads_base, cur.downloads,
                      CAST(cur.downloads AS BIGINT) - base.downloads AS change
               FROM cur JOIN base USING (dataset)
               WHERE cur.downloads IS NOT NULL AND base.downloads IS NOT NULL)
        SELECT dataset, downloads_base, downloads, change, count(*) OVER () AS compared
        FROM joined ORDER BY abs(change) DESC, dataset LIMIT ?"""
    rows = _rows(con, sql, [date, base, TOP_MOVERS])
    top = [
        {"dataset": d, "downloads_base": int(b), "downloads": int(c), "change": int(ch)}
        for d, b, c, ch, _ in rows
    ]
    return {
        "window": window,
        "base_date": base,
        "snapshots_back": back,
        "full_window": full,
        "title": title,
        "compared": int(rows[0][4]) if rows else 0,
        "top": top,
        "note": None if full else f"only {back} earlier snapshot(s): compared with the oldest",
    }


TOP_LICENSE_CHANGES = 10
NEW_WITH_CROISSANT_LISTED = 20


def _changes(con, store: LakeStore, date: str) -> dict[str, Any]:
    """The day's change counts by kind, top license changes (before -> after) and the new
    datasets that already have a Croissant document."""
    from hf_croissant_assets.schema import CHANGE_KINDS

    counts = dict.fromkeys(CHANGE_KINDS, 0)
    out: dict[str, Any] = {
        "previous_date": None, "counts": counts, "total": 0, "license_changes": [],
        "new_with_croissant": [], "new_with_croissant_total": 0,
    }  # fmt: skip
    if not store.exists("hf_dataset_changes", date):
        return out
    day = '"date" = ?::DATE'
    for kind, n, prev in _rows(
        con,
        f"SELECT change, count(*), max(previous_date) FROM hf_dataset_changes WHERE {day} "
        "GROUP BY 1",
        [date],
    ):
        counts[kind] = int(n)
        out["previous_date"] = str(prev) if prev else out["previous_date"]
    out["total"] = sum(counts.values())
    out["license_changes"] = [
        {"before": b, "after": a, "datasets": int(n)}
        for b, a, n in _rows(
            con,
            f"""SELECT coalesce(before, '(none)'), coalesce(after, '(none)'), count(*) AS n
                FROM hf_dataset_changes WHERE {day} AND change = 'license_changed'
                GROUP BY 1, 2 ORDER BY n DESC, 1, 2 LIMIT {TOP_LICENSE_CHANGES}""",
            [date],
        )
    ]
    if store.exists("hf_croissant", date):
        new = [
            r[0]
            for r in _rows(
                con,
                f"""SELECT c.dataset FROM hf_dataset_changes c
                    JOIN hf_croissant h ON h.dataset = c.dataset
                    WHERE c.{day} AND h.{day} AND c.change = 'created' AND h.status = 200
                    ORDER BY 1""",
                [date, date],
            )
        ]
        out["new_with_croissant_total"] = len(new)
        out["new_with_croissant"] = new[:NEW_WITH_CROISSANT_LISTED]
    return out


# -- entry point ------------------------------------------------------------------------------


def compute_numbers(store: LakeStore, date: str) -> ReportNumbers:
    """The report's numbers for `date` from the lake (reads only; nothing is written).

    Needs the day's `hf_datasets` partition (FileNotFoundError otherwise); a missing
    `hf_croissant` partition only empties the Croissant numbers (noted in `notes`).
    """
    validate_date(date)
    snapshots = [d for d in store.dates("hf_datasets") if d <= date]
    if date not in snapshots:
        raise FileNotFoundError(
            f"report {date}: no hf_datasets partition for that day "
            f"({store.url(store.part_path('hf_datasets', date))}); materialize hf_datasets for "
            f"{date} first (it needs the raw listing stored for that day)"
        )
    notes: list[str] = []
    if not store.exists("hf_croissant", date):
        notes.append(f"no hf_croissant partition for {date}: Croissant charts are empty")
    if not store.exists("hf_dataset_changes", date):
        notes.append(f"no hf_dataset_changes partition for {date}: the changes chart is empty")

    con = connect(store)
    try:
        movers = {str(w): _movers(con, snapshots, date, w) for w in MOVER_WINDOWS}
        notes.extend(f"movers {k}: {m['note']}" for k, m in movers.items() if m["note"])
        return ReportNumbers(
            date=date,
            snapshots=snapshots,
            growth=_growth(store, snapshots),
            licenses=_licenses(con, date),
            croissant_status=_croissant_status(con, date),
            gated=_gated(con, date),
            movers=movers,
            notes=notes,
            changes=_changes(con, store, date),
            croissant_depth=croissant_depth_numbers(con, store, date, notes),
        )
    finally:
        con.close()
