"""The daily report: a few numbers about the lake as of one day, charted as PNGs.

Plain Python (no Dagster): `build_report(store, date)` queries the lake with DuckDB over pyarrow
datasets on `store.fs` (registered in an in-memory connection; only the days a query needs), counts
the datasets of every snapshot up to and including `date` from the parquet footers, renders six
charts with matplotlib's headless Agg backend and writes them, with `report.json` (every number
behind the charts), to `<lake>/reports/date=D/` through `store.fs` (local folder or S3 alike),
each file atomically.

Charts: `growth.png` (datasets per snapshot), `licenses.png` (top licenses on D: the listing's
license tag vs. the Croissant document's license), `croissant_status.png` (Croissant availability
by HTTP status on D), `gated.png` (gated share on D), `movers_7.png` / `movers_30.png` (largest
changes of `downloads` between D and the snapshot 7 / 30 snapshots earlier, or the oldest one).

Dataset ids and licenses are untrusted text: they are drawn as plain text (mathtext and TeX off,
control characters replaced, truncated), never interpreted.
"""

from __future__ import annotations

import io
import json
import os
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date as Date
from datetime import timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from hf_croissant_assets.lake.store import LakeStore, validate_date
from hf_croissant_assets.schema import TABLES

#: The chart files, in display order.
CHARTS: tuple[str, ...] = (
    "growth.png",
    "licenses.png",
    "croissant_status.png",
    "gated.png",
    "movers_7.png",
    "movers_30.png",
)
REPORT_JSON = "report.json"
#: Movers windows, in snapshots (not days: the lake may have gaps).
MOVER_WINDOWS: tuple[int, ...] = (7, 30)
TOP_LICENSES = 10
TOP_MOVERS = 10
LABEL_MAX = 40
#: Croissant status buckets, in chart order; null status = the document was not fetched yet.
STATUS_BUCKETS: tuple[str, ...] = ("200", "400", "401", "404", "other", "not fetched")
GATED_VALUES: tuple[str, ...] = ("false", "auto", "manual")

#: Small PNGs: they are also embedded (base64) in the Dagster materialization metadata.
FIGSIZE = (7.0, 3.5)
DPI = 80

_DATE_PARTITIONING = ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive")


@dataclass
class Report:
    """The numbers behind the charts, and where the files were written (URLs)."""

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
    #: The report folder and every written file, as URLs (s3://... or a local path).
    folder: str
    paths: dict[str, str]
    #: Notes on what could not be computed (e.g. no hf_croissant snapshot for the day).
    notes: list[str] = field(default_factory=list)
    #: The PNG bytes by file name (not part of report.json).
    pngs: dict[str, bytes] = field(default_factory=dict, repr=False)

    def numbers(self) -> dict[str, Any]:
        """Everything in report.json (all but the PNG bytes)."""
        out = asdict(self)
        out.pop("pngs")
        return out

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
            "top_mover_7": _first(self.movers.get("7")),
            "top_mover_30": _first(self.movers.get("30")),
        }


def _first(window: dict[str, Any] | None) -> dict[str, Any] | None:
    return window["top"][0] if window and window["top"] else None


# -- lake access ------------------------------------------------------------------------------


def _register(con: duckdb.DuckDBPyConnection, store: LakeStore, table: str, dates: list[str]):
    """Register `table` (only the given days' complete part files) as a DuckDB view.

    A pyarrow dataset on `store.fs` keeps one code path for local and S3 lakes (DuckDB's httpfs
    is not needed); `date` comes from the Hive path, and DuckDB pushes its filters down, so a
    query on one day reads only that day's file.
    """
    schema = pa.schema(list(TABLES[table]) + [pa.field("date", pa.date32())])
    if dates:
        dataset = ds.dataset(
            [store.part_path(table, d) for d in dates],
            schema=schema,
            filesystem=store.fs,
            format="parquet",
            partitioning=_DATE_PARTITIONING,
            partition_base_dir=store.dataset_dir(table),
        )
    else:
        dataset = ds.dataset(schema.empty_table())
    con.register(table, dataset)


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


# -- rendering --------------------------------------------------------------------------------

_RC = {
    # Untrusted text must never be parsed: no mathtext ($...$), no TeX.
    "text.usetex": False,
    "text.parse_math": False,
    "axes.formatter.use_mathtext": False,
    "font.size": 8,
    "axes.titlesize": 9,
}


def safe_label(value: Any, limit: int = LABEL_MAX) -> str:
    """Untrusted text as a short single-line label (drawn with mathtext off)."""
    text = "(none)" if value is None else str(value)
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip() or "(empty)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _figure(title: str):
    """A small figure with its title at the top left (never clipped by long tick labels)."""
    from matplotlib.figure import Figure  # Agg via FigureCanvasAgg: no pyplot, no GUI state

    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    fig.suptitle(title, x=0.01, ha="left", fontsize=9, parse_math=False)
    return fig


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _text(ax, x, y, s: str, **kwargs) -> None:
    ax.text(x, y, s, parse_math=False, usetex=False, **kwargs)


def _count_axis(axis) -> None:
    """Whole numbers with thousands separators (no 1e6 offset text)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def _labels(ax, positions: list[int], labels: list[str], limit: int = LABEL_MAX) -> None:
    ax.set_yticks(positions, labels=[safe_label(s, limit) for s in labels])
    for label in ax.get_yticklabels():
        label.set_parse_math(False)
    ax.tick_params(axis="y", labelsize=7)


def _placeholder(ax, message: str) -> None:
    ax.set_axis_off()
    _text(ax, 0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)


def _short_license(value: str) -> str:
    """A license URL without its scheme and www., so the telling end fits the label."""
    for prefix in ("https://", "http://"):
        value = value.removeprefix(prefix)
    return value.removeprefix("www.")


def _barh(ax, labels: list[str], values: list[int], color: str, title: str) -> None:
    ax.set_title(title, loc="left", fontsize=8, parse_math=False)
    if not values:
        _placeholder(ax, "no data")
        return
    pos = list(range(len(values)))[::-1]  # the largest on top
    ax.barh(pos, values, color=color)
    _labels(ax, pos, labels, limit=34)
    top = max(values) or 1
    for p, v in zip(pos, values, strict=True):
        _text(ax, v + top * 0.01, p, f"{v:,}", va="center", fontsize=7)
    ax.set_xlim(0, top * 1.2)
    _count_axis(ax.xaxis)


def _chart_growth(report: Report) -> bytes:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    fig = _figure(f"Datasets per snapshot ({len(report.growth)} snapshot(s) up to {report.date})")
    ax = fig.add_subplot()
    if not report.growth:
        _placeholder(ax, "no hf_datasets snapshot")
        return _png(fig)
    xs = [Date.fromisoformat(g["date"]) for g in report.growth]
    ys = [g["datasets"] for g in report.growth]
    ax.plot(xs, ys, marker="o", markersize=3, color="#1f77b4")
    if len(xs) == 1:  # a single day: no date range for a locator to work with
        ax.set_xlim(xs[0] - timedelta(days=1), xs[0] + timedelta(days=1))
        ax.set_xticks(xs, labels=[report.growth[0]["date"]])
    else:
        locator = AutoDateLocator(minticks=2, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_ylabel("datasets")
    ax.set_ylim(bottom=0, top=max(ys) * 1.15 or 1)
    _count_axis(ax.yaxis)
    _text(ax, xs[-1], ys[-1], f" {ys[-1]:,}", va="bottom", fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)


def _chart_licenses(report: Report) -> bytes:
    fig = _figure(f"Top licenses on {report.date}: listing tag vs. Croissant document")
    left, right = fig.subplots(1, 2)
    lic = report.licenses
    _barh(
        left,
        [r["license"] for r in lic["tags"]],
        [r["datasets"] for r in lic["tags"]],
        "#4c72b0",
        f"license: tag ({lic['tags_total']:,} datasets)",
    )
    _barh(
        right,
        [_short_license(r["license"]) for r in lic["croissant"]],
        [r["datasets"] for r in lic["croissant"]],
        "#55a868",
        f"Croissant ({lic['croissant_total']:,} documents, status 200)",
    )
    return _png(fig)


def _chart_status(report: Report) -> bytes:
    counts = report.croissant_status
    total = sum(counts.values())
    fig = _figure(f"Croissant availability by HTTP status on {report.date} ({total:,} datasets)")
    ax = fig.add_subplot()
    if not total:
        _placeholder(ax, f"no hf_croissant snapshot for {report.date}")
        return _png(fig)
    colors = ["#55a868", "#dd8452", "#8172b3", "#c44e52", "#937860", "#8c8c8c"]
    values = [counts[b] for b in STATUS_BUCKETS]
    ax.bar(list(STATUS_BUCKETS), values, color=colors)
    for i, v in enumerate(values):
        _text(ax, i, v, f"{v:,}\n{100.0 * v / total:.1f}%", ha="center", va="bottom", fontsize=7)
    ax.set_ylim(0, max(values) * 1.3 or 1)
    ax.set_ylabel("datasets")
    _count_axis(ax.yaxis)
    return _png(fig)


def _chart_gated(report: Report) -> bytes:
    gated = report.gated
    fig = _figure(f"Gated share on {report.date} ({gated['total']:,} datasets)")
    ax = fig.add_subplot()
    if not gated["total"]:
        _placeholder(ax, f"no hf_datasets snapshot for {report.date}")
        return _png(fig)
    names = list(gated["counts"])
    pos = list(range(len(names)))[::-1]
    palette = {"false": "#55a868", "auto": "#dd8452", "manual": "#c44e52"}
    ax.barh(
        pos,
        [gated["share_pct"][n] for n in names],
        color=[palette.get(n, "#8c8c8c") for n in names],
    )
    _labels(ax, pos, names)
    ax.tick_params(axis="y", labelsize=8)
    for p, n in zip(pos, names, strict=True):
        label = f"{gated['share_pct'][n]:.1f}% ({gated['counts'][n]:,})"
        _text(ax, gated["share_pct"][n] + 1, p, label, va="center", fontsize=7)
    ax.set_xlim(0, 118)
    ax.set_xticks([0, 20, 40, 60, 80, 100])
    ax.set_xlabel("% of datasets")
    return _png(fig)


def _chart_movers(report: Report, window: int) -> bytes:
    movers = report.movers[str(window)]
    fig = _figure(movers["title"])
    ax = fig.add_subplot()
    if movers["base_date"] is None:
        _placeholder(ax, f"needs ≥2 snapshots (none before {report.date})")
        return _png(fig)
    if not movers["top"]:
        _placeholder(ax, "no dataset with downloads in both snapshots")
        return _png(fig)
    top = movers["top"]
    pos = list(range(len(top)))[::-1]
    changes = [m["change"] for m in top]
    ax.barh(pos, changes, color=["#55a868" if c >= 0 else "#c44e52" for c in changes])
    _labels(ax, pos, [m["dataset"] for m in top])
    ax.axvline(0, color="#444444", linewidth=0.6)
    lo, hi = min(0, *changes), max(0, *changes)
    pad = (hi - lo or 1) * 0.2
    ax.set_xlim(lo - (pad if lo < 0 else pad / 10), hi + (pad if hi > 0 else pad / 10))
    for p, c in zip(pos, changes, strict=True):
        ha = "left" if c >= 0 else "right"
        _text(ax, c, p, f" {c:+,} ", va="center", ha=ha, fontsize=7)
    ax.set_xlabel("change of downloads (the Hub's 30-day count)")
    _count_axis(ax.xaxis)
    return _png(fig)


def render_charts(report: Report) -> dict[str, bytes]:
    """Every chart of CHARTS as PNG bytes (headless; untrusted text never parsed)."""
    import matplotlib

    with matplotlib.rc_context(_RC), warnings.catch_warnings():
        # Glyphs missing from the bundled font (e.g. CJK dataset names) are not errors.
        warnings.filterwarnings("ignore", message=r".*[Gg]lyph .* missing.*")
        return {
            "growth.png": _chart_growth(report),
            "licenses.png": _chart_licenses(report),
            "croissant_status.png": _chart_status(report),
            "gated.png": _chart_gated(report),
            "movers_7.png": _chart_movers(report, 7),
            "movers_30.png": _chart_movers(report, 30),
        }


# -- writing ----------------------------------------------------------------------------------


def report_dir(store: LakeStore, date: str) -> str:
    """`<lake>/reports/date=D` as a path on `store.fs`."""
    return store.path("reports", f"date={validate_date(date)}")


def _fs_path(store: LakeStore, out_dir: str) -> str:
    if store.is_s3:
        return out_dir.removeprefix("s3://").rstrip("/")
    return os.path.abspath(os.path.expanduser(out_dir))


def _write_atomic(store: LakeStore, folder: str, name: str, data: bytes) -> str:
    """Write one file so a reader sees the old version or the new one, never half a file.

    S3: a single PUT (an object becomes visible whole). Local: a temp file in the same folder,
    then a rename onto the name.
    """
    final = f"{folder}/{name}"
    if store.is_s3:
        with store.fs.open_output_stream(final) as out:
            out.write(data)
        return final
    tmp = f"{folder}/.{name}.{uuid.uuid4().hex}.tmp"
    try:
        with store.fs.open_output_stream(tmp) as out:
            out.write(data)
        store.fs.move(tmp, final)
    except BaseException:
        try:
            store.fs.delete_file(tmp)
        except OSError:
            pass
        raise
    return final


# -- entry point ------------------------------------------------------------------------------


def build_report(store: LakeStore, date: str, out_dir: str | None = None) -> Report:
    """Compute the report for `date` from the lake, write its PNGs and report.json.

    `out_dir` (a folder on the store's filesystem; `s3://bucket/prefix` or a local path) defaults
    to `<lake>/reports/date=D/`. Needs the day's `hf_datasets` partition; a missing
    `hf_croissant` partition only empties the Croissant charts (noted in `notes`).
    """
    validate_date(date)
    snapshots = [d for d in store.dates("hf_datasets") if d <= date]
    if date not in snapshots:
        raise FileNotFoundError(
            f"report {date}: no hf_datasets partition for that day "
            f"({store.url(store.part_path('hf_datasets', date))}); materialize hf_datasets for "
            f"{date} first (it needs the raw listing stored for that day)"
        )
    croissant_days = [d for d in store.dates("hf_croissant") if d <= date]
    notes: list[str] = []
    if date not in croissant_days:
        notes.append(f"no hf_croissant partition for {date}: Croissant charts are empty")

    con = duckdb.connect(":memory:")
    try:
        # Only the days the queries read: `date` and the movers' base snapshots.
        bases = {snapshots[max(0, len(snapshots) - 1 - w)] for w in MOVER_WINDOWS}
        _register(con, store, "hf_datasets", sorted(bases | {date}))
        _register(con, store, "hf_croissant", [date] if date in croissant_days else [])
        movers = {str(w): _movers(con, snapshots, date, w) for w in MOVER_WINDOWS}
        notes.extend(f"movers {k}: {m['note']}" for k, m in movers.items() if m["note"])
        report = Report(
            date=date,
            snapshots=snapshots,
            growth=_growth(store, snapshots),
            licenses=_licenses(con, date),
            croissant_status=_croissant_status(con, date),
            gated=_gated(con, date),
            movers=movers,
            folder="",
            paths={},
            notes=notes,
        )
    finally:
        con.close()

    report.pngs = render_charts(report)

    folder = _fs_path(store, out_dir) if out_dir else report_dir(store, date)
    if not store.is_s3:
        store.fs.create_dir(folder, recursive=True)
    report.folder = store.url(folder)
    report.paths = {name: store.url(f"{folder}/{name}") for name in (*CHARTS, REPORT_JSON)}
    for name in CHARTS:
        _write_atomic(store, folder, name, report.pngs[name])
    # Last: a complete report.json means every chart of this run is in place.
    body = json.dumps(report.numbers(), indent=1, sort_keys=True, ensure_ascii=False)
    _write_atomic(store, folder, REPORT_JSON, body.encode())
    return report
