"""The daily report: its numbers (`report.numbers`) charted (`report.charts`) and written beside the lake.

Plain Python (no Dagster): `build_report(store, date)` computes the numbers for `date`, renders
the charts and writes them, with `report.json` (every number behind the charts), to
`<lake>/reports/date=D/` through `store.fs` (local folder or S3 alike), each file atomically and
`report.json` last.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from hf_croissant_assets.lake.store import LakeStore, validate_date
from hf_croissant_assets.report.charts import CHARTS, render_charts
from hf_croissant_assets.report.numbers import ReportNumbers, compute_numbers

__all__ = [
    "CHARTS",
    "REPORT_HTML",
    "REPORT_JSON",
    "Report",
    "build_report",
    "render_html",
    "report_dir",
]

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"

_CHART_TITLES = {
    "growth.png": "Datasets per snapshot",
    "licenses.png": "Top licenses: listing tag vs. Croissant",
    "croissant_status.png": "Croissant availability",
    "gated.png": "Gated share",
    "movers_7.png": "Download movers, 7 snapshots",
    "movers_30.png": "Download movers, 30 snapshots",
    "changes.png": "What changed since the previous snapshot",
    "field_types.png": "Croissant field data types",
    "declared_bytes.png": "Bytes declared in Croissant, by format",
    "validity.png": "Croissant validity (mlcroissant)",
    "license_agreement.png": "License tag vs. Croissant license (SPDX)",
}


@dataclass
class Report(ReportNumbers):
    """The numbers behind the charts, and where the files were written (URLs)."""

    #: The report folder and every written file, as URLs (s3://... or a local path).
    folder: str = ""
    paths: dict[str, str] = field(default_factory=dict)
    #: The PNG bytes by file name (not part of report.json).
    pngs: dict[str, bytes] = field(default_factory=dict, repr=False)

    def numbers(self) -> dict[str, Any]:
        """Everything in report.json (all but the PNG bytes)."""
        out = asdict(self)
        out.pop("pngs")
        return out


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
        with contextlib.suppress(OSError):
            store.fs.delete_file(tmp)
        raise
    return final


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{html.escape(str(k))}: {_cell(v)}" for k, v in value.items())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,}"
    return html.escape("—" if value is None else str(value))


def render_html(report: ReportNumbers) -> str:
    """One static page: the summary numbers and every chart (relative links to the PNGs beside
    it). No script, no remote resource; every value from the lake is HTML-escaped (dataset ids,
    licenses and notes are untrusted text)."""
    day = html.escape(report.date)
    rows = "\n".join(
        f"<tr><th>{html.escape(str(key))}</th><td>{_cell(value)}</td></tr>"
        for key, value in report.summary().items()
    )
    charts = "\n".join(
        f'<figure><img src="{name}" width="1200" height="600" alt="{html.escape(title)}">'
        f"<figcaption>{html.escape(title)}</figcaption></figure>"
        for name, title in ((n, _CHART_TITLES.get(n, n)) for n in CHARTS)
    )
    notes = "".join(f"<li>{html.escape(str(n))}</li>" for n in report.notes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self'; style-src 'unsafe-inline'">
<title>Hub datasets report {day}</title>
<style>body{{font-family:sans-serif;max-width:1240px;margin:1em auto;padding:0 1em}}
table{{border-collapse:collapse}}th,td{{text-align:left;padding:2px 10px;border-bottom:1px solid #ddd}}
img{{max-width:100%;height:auto;border:1px solid #eee}}figure{{margin:1.5em 0}}</style>
</head><body>
<h1>Hugging Face Hub datasets on {day}</h1>
<p>{len(report.snapshots)} snapshot(s) up to {day}; every number is in <a href="{REPORT_JSON}">{REPORT_JSON}</a>.</p>
<table>
{rows}
</table>
{f"<ul>{notes}</ul>" if notes else ""}
{charts}
</body></html>
"""


def build_report(store: LakeStore, date: str, out_dir: str | None = None) -> Report:
    """Compute the report for `date` from the lake, write its PNGs and report.json.

    `out_dir` (a folder on the store's filesystem; `s3://bucket/prefix` or a local path) defaults
    to `<lake>/reports/date=D/`. Needs the day's `hf_datasets` partition; a missing
    `hf_croissant` partition only empties the Croissant charts (noted in `notes`).
    """
    numbers = compute_numbers(store, date)
    report = Report(**{f.name: getattr(numbers, f.name) for f in fields(numbers)})
    report.pngs = render_charts(report)

    folder = _fs_path(store, out_dir) if out_dir else report_dir(store, date)
    if not store.is_s3:
        store.fs.create_dir(folder, recursive=True)
    report.folder = store.url(folder)
    names = (*CHARTS, REPORT_HTML, REPORT_JSON)
    report.paths = {name: store.url(f"{folder}/{name}") for name in names}
    for name in CHARTS:
        _write_atomic(store, folder, name, report.pngs[name])
    _write_atomic(store, folder, REPORT_HTML, render_html(report).encode())
    # Last: a complete report.json means every chart of this run is in place.
    body = json.dumps(report.numbers(), indent=1, sort_keys=True, ensure_ascii=False)
    _write_atomic(store, folder, REPORT_JSON, body.encode())
    return report
