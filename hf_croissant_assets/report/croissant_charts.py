"""The report's Croissant-in-depth charts, drawn from `ReportNumbers.croissant_depth`.

`field_types.png` (field data types), `declared_bytes.png` (declared bytes by file format),
`validity.png` (validator verdicts and the most common errors), `license_agreement.png` (the
listing's license tag vs. the Croissant license, as SPDX ids). Same conventions as
`report.charts`: headless Agg, untrusted text drawn as plain text.
"""

from __future__ import annotations

import textwrap
from typing import Any

from hf_croissant_assets.report import charts as base
from hf_croissant_assets.report.croissant_numbers import AGREEMENT, VERDICTS

#: The chart files, in display order (appended to `report.charts.CHARTS`).
CROISSANT_CHARTS: tuple[str, ...] = (
    "field_types.png",
    "declared_bytes.png",
    "validity.png",
    "license_agreement.png",
)


def _human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def _field_types(depth: dict[str, Any], date: str) -> bytes:
    fig = base._figure(f"Croissant field data types on {date} (fields)")
    ax = fig.add_subplot()
    rows = depth["field_types"]
    base._barh(
        ax,
        [r["data_type"] for r in rows],
        [r["fields"] for r in rows],
        "#4c72b0",
        "most used dataType values",
    )
    return base._png(fig)


def _declared_bytes(depth: dict[str, Any], date: str) -> bytes:
    fig = base._figure(f"Bytes declared in Croissant (contentSize) by format on {date}")
    ax = fig.add_subplot()
    rows = list(depth["bytes_by_format"])
    ax.set_title("files that declare no size count 0 bytes", loc="left", fontsize=8)
    if not rows:
        base._placeholder(ax, "no data")
        return base._png(fig)
    pos = list(range(len(rows)))[::-1]
    values = [r["bytes"] for r in rows]
    ax.barh(pos, values, color="#dd8452")
    base._labels(ax, pos, [r["encoding_format"] for r in rows], limit=30)
    top = max(values) or 1
    for p, r in zip(pos, rows, strict=True):
        label = f"{_human_bytes(r['bytes'])} ({r['files']:,} files)"
        base._text(ax, r["bytes"] + top * 0.01, p, label, va="center", fontsize=7)
    ax.set_xlim(0, top * 1.45)
    ax.set_xticks([])
    return base._png(fig)


def _validity(depth: dict[str, Any], date: str) -> bytes:
    fig = base._figure(f"Croissant validity (mlcroissant, offline) on {date}")
    left, right = fig.subplots(1, 2, width_ratios=[1, 2.6])
    counts = depth["validity"]["counts"]
    base._barh(
        left, list(VERDICTS), [counts[v] for v in VERDICTS], "#55a868", "documents by verdict"
    )
    left.set_xticks([])  # every bar carries its count
    left.set_xlim(0, (max(counts.values()) or 1) * 1.5)  # room for the count beside a narrow bar
    errors = depth["validity"]["top_errors"][:6]
    right.set_title("most common errors (documents)", loc="left", fontsize=8)
    if not errors:
        base._placeholder(right, "no validation errors")
        return base._png(fig)
    # Long messages: each drawn as a line of text above its bar, not as a clipped tick label.
    pos = list(range(len(errors)))[::-1]
    values = [e["documents"] for e in errors]
    right.barh(pos, values, height=0.35, color="#c44e52")
    top = max(values) or 1
    for p, e in zip(pos, errors, strict=True):
        # Wrapped, not cut: the end of a message ("Got … instead") is often what tells two apart.
        label = "\n".join(textwrap.wrap(base.safe_label(e["error"], 240), 80)[:3])
        base._text(right, 0, p + 0.22, label, fontsize=6.5, va="bottom", in_layout=False)
        base._text(right, e["documents"] + top * 0.01, p, f"{e['documents']:,}", va="center",
                   fontsize=7)  # fmt: skip
    right.set_yticks([])
    right.set_xticks([])
    right.set_xlim(0, top * 1.15)
    right.set_ylim(-0.5, len(errors) - 0.2)
    return base._png(fig)


def _license_agreement(depth: dict[str, Any], date: str) -> bytes:
    fig = base._figure(f"license: tag vs. Croissant license (SPDX ids) on {date}")
    ax = fig.add_subplot()
    counts = depth["license_agreement"]
    base._barh(
        ax,
        list(AGREEMENT),
        [counts[a] for a in AGREEMENT],
        "#8172b3",
        "datasets with a served Croissant document",
    )
    return base._png(fig)


def render_croissant_charts(depth: dict[str, Any], date: str) -> dict[str, bytes]:
    """The CROISSANT_CHARTS as PNG bytes (call inside `report.charts.render_charts`' context)."""
    return {
        "field_types.png": _field_types(depth, date),
        "declared_bytes.png": _declared_bytes(depth, date),
        "validity.png": _validity(depth, date),
        "license_agreement.png": _license_agreement(depth, date),
    }
