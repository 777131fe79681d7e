"""The daily report's charts: PNGs drawn from `ReportNumbers`, with no access to the lake.

Plain Python (no Dagster): matplotlib's headless Agg backend through `FigureCanvasAgg` (no pyplot,
no GUI state). Charts: `growth.png` (datasets per snapshot), `licenses.png` (top licenses on D:
the listing's license tag vs. the Croissant document's license), `croissant_status.png` (Croissant
availability by HTTP status on D), `gated.png` (gated share on D), `movers_7.png` /
`movers_30.png` (largest changes of `downloads` over the last 7 / 30 snapshots).

Dataset ids and licenses are untrusted text: they are drawn as plain text (mathtext and TeX off,
control characters replaced, truncated), never interpreted.
"""

from __future__ import annotations

import io
import warnings
from datetime import date as Date
from datetime import timedelta
from typing import Any

from hf_croissant_assets.report.numbers import STATUS_BUCKETS, ReportNumbers

#: The chart files, in display order.
CHARTS: tuple[str, ...] = (
    "growth.png",
    "licenses.png",
    "croissant_status.png",
    "gated.png",
    "movers_7.png",
    "movers_30.png",
    "changes.png",
    # the Croissant in depth (report.croissant_charts)
    "field_types.png",
    "declared_bytes.png",
    "validity.png",
    "license_agreement.png",
)
LABEL_MAX = 40
#: Longest title: what fits the figure's width at its font size (longer ones are cut with "…").
TITLE_MAX = 110

#: 1200 x 600 px: an 8 x 4 in figure at 150 dpi, so the text is crisp on a high-density
#: ("retina") screen shown at half size, and readable at full size.
FIGSIZE = (8.0, 4.0)
DPI = 150

_RC: dict[str, Any] = {
    # Untrusted text must never be parsed: no mathtext ($...$), no TeX.
    "text.usetex": False,
    "text.parse_math": False,
    "axes.formatter.use_mathtext": False,
    "font.size": 8,
    "axes.titlesize": 8,
}

#: Hub `license:` tags (and URL tails) that are no SPDX id as written, and the short name a chart
#: shows for them; every SPDX id itself is found by `curate.licenses` (the SPDX License List).
_CHART_LICENSE_NAMES = {
    "license-2.0": "Apache-2.0",  # apache.org/licenses/LICENSE-2.0
    "odbl": "ODbL-1.0",
    "odc-by": "ODC-By-1.0",
    "pddl": "PDDL-1.0",
    "openrail": "OpenRAIL",
    "other": "other",
    "unknown": "unknown",
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
    fig.suptitle(safe_label(title, TITLE_MAX), x=0.01, ha="left", fontsize=10, parse_math=False)
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

    axis.set_major_locator(MaxNLocator(nbins=5, integer=True))  # few ticks: labels never touch
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def _labels(ax, positions: list[int], labels: list[str], limit: int = LABEL_MAX) -> None:
    ax.set_yticks(positions, labels=[safe_label(s, limit) for s in labels])
    for label in ax.get_yticklabels():
        label.set_parse_math(False)
    ax.tick_params(axis="y", labelsize=7)


def _placeholder(ax, message: str) -> None:
    ax.set_axis_off()
    _text(ax, 0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)


def spdx_short(value: Any) -> str:
    """A license as its SPDX short identifier when it is a known one, from a Hub tag id
    (`cc-by-4.0`) or a Croissant license URL (`https://choosealicense.com/licenses/mit/`,
    `https://creativecommons.org/licenses/by-sa/4.0/`); anything else as plain text.

    The same mapping as the lake's `license_spdx` columns (`curate.licenses`), plus readable
    names for the Hub's few non-SPDX tags."""
    from hf_croissant_assets.curate.licenses import spdx_from_license

    if (found := spdx_from_license(value)) is not None:
        return found
    text = safe_label(value, limit=200)
    low = text.lower().strip().rstrip("/")
    if "://" in low:
        low = low.rsplit("/", 1)[-1]
    if low in _CHART_LICENSE_NAMES:
        return _CHART_LICENSE_NAMES[low]
    return safe_label(low if "://" in text else text)


def _barh(ax, labels: list[str], values: list[int], color: str, title: str) -> None:
    ax.set_title(title, loc="left", fontsize=8, parse_math=False)
    if not values:
        _placeholder(ax, "no data")
        return
    pos = list(range(len(values)))[::-1]  # the largest on top
    ax.barh(pos, values, color=color)
    _labels(ax, pos, labels, limit=24)
    top = max(values) or 1
    for p, v in zip(pos, values, strict=True):
        _text(ax, v + top * 0.01, p, f"{v:,}", va="center", fontsize=7)
    ax.set_xlim(0, top * 1.2)
    _count_axis(ax.xaxis)


def _chart_growth(numbers: ReportNumbers) -> bytes:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    growth = numbers.growth
    fig = _figure(f"Datasets per snapshot ({len(growth)} snapshot(s) up to {numbers.date})")
    ax = fig.add_subplot()
    if not growth:
        _placeholder(ax, "no hf_datasets snapshot")
        return _png(fig)
    xs = [Date.fromisoformat(g["date"]) for g in growth]
    ys = [g["datasets"] for g in growth]
    ax.plot(xs, ys, marker="o", markersize=3, color="#1f77b4")
    if len(xs) == 1:  # a single day: no date range for a locator to work with
        ax.set_xlim(xs[0] - timedelta(days=1), xs[0] + timedelta(days=1))
        ax.set_xticks(xs, labels=[growth[0]["date"]])
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


def _chart_licenses(numbers: ReportNumbers) -> bytes:
    fig = _figure(f"Top licenses on {numbers.date}: listing tag vs. Croissant document (SPDX ids)")
    left, right = fig.subplots(1, 2, gridspec_kw={"wspace": 0.15})
    lic = numbers.licenses
    _barh(
        left,
        [spdx_short(r["license"]) for r in lic["tags"]],
        [r["datasets"] for r in lic["tags"]],
        "#4c72b0",
        f"license: tag ({lic['tags_total']:,} datasets)",
    )
    _barh(
        right,
        [spdx_short(r["license"]) for r in lic["croissant"]],
        [r["datasets"] for r in lic["croissant"]],
        "#55a868",
        f"Croissant ({lic['croissant_total']:,} documents, status 200)",
    )
    return _png(fig)


def _chart_status(numbers: ReportNumbers) -> bytes:
    counts = numbers.croissant_status
    total = sum(counts.values())
    fig = _figure(f"Croissant availability by HTTP status on {numbers.date} ({total:,} datasets)")
    ax = fig.add_subplot()
    if not total:
        _placeholder(ax, f"no hf_croissant snapshot for {numbers.date}")
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


def _chart_gated(numbers: ReportNumbers) -> bytes:
    gated = numbers.gated
    fig = _figure(f"Gated share on {numbers.date} ({gated['total']:,} datasets)")
    ax = fig.add_subplot()
    if not gated["total"]:
        _placeholder(ax, f"no hf_datasets snapshot for {numbers.date}")
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


def _chart_movers(numbers: ReportNumbers, window: int) -> bytes:
    movers = numbers.movers[str(window)]
    fig = _figure(movers["title"])
    ax = fig.add_subplot()
    if movers["base_date"] is None:
        _placeholder(ax, f"needs ≥2 snapshots (none before {numbers.date})")
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


def _chart_changes(numbers: ReportNumbers) -> bytes:
    """Events by kind on the day, and the top license changes (before -> after)."""
    changes = numbers.changes or {}
    counts: dict[str, int] = changes.get("counts") or {}
    since = changes.get("previous_date")
    title = f"What changed on {numbers.date}" + (f" (vs {since})" if since else "")
    fig = _figure(title)
    ax1, ax2 = fig.subplots(1, 2)
    kinds = [k for k, n in counts.items() if n]
    _barh(ax1, kinds, [counts[k] for k in kinds], "#4c72b0", f"events ({sum(counts.values()):,})")
    lic = changes.get("license_changes") or []
    _barh(
        ax2,
        [f"{spdx_short(r['before'])} > {spdx_short(r['after'])}" for r in lic],
        [r["datasets"] for r in lic],
        "#dd8452",
        f"license changes; new with Croissant: {changes.get('new_with_croissant_total', 0):,}",
    )
    return _png(fig)


def render_charts(numbers: ReportNumbers) -> dict[str, bytes]:
    """Every chart of CHARTS as PNG bytes (headless; untrusted text never parsed)."""
    import matplotlib

    with matplotlib.rc_context(_RC), warnings.catch_warnings():  # type: ignore[arg-type]
        # Glyphs missing from the bundled font (e.g. CJK dataset names) are not errors.
        warnings.filterwarnings("ignore", message=r".*[Gg]lyph .* missing.*")
        return {
            "growth.png": _chart_growth(numbers),
            "licenses.png": _chart_licenses(numbers),
            "croissant_status.png": _chart_status(numbers),
            "gated.png": _chart_gated(numbers),
            "movers_7.png": _chart_movers(numbers, 7),
            "movers_30.png": _chart_movers(numbers, 30),
            "changes.png": _chart_changes(numbers),
            **_croissant_charts(numbers),
        }


def _croissant_charts(numbers: ReportNumbers) -> dict[str, bytes]:
    from hf_croissant_assets.report.croissant_charts import (
        CROISSANT_CHARTS,
        render_croissant_charts,
    )
    from hf_croissant_assets.report.croissant_numbers import empty_depth

    charts = render_croissant_charts(numbers.croissant_depth or empty_depth(), numbers.date)
    assert tuple(charts) == CROISSANT_CHARTS
    return charts


def history_chart(dataset: str, timeline: list[dict[str, Any]]) -> bytes:
    """One dataset's downloads (30-day) and likes per snapshot, as PNG (`hf-croissant history
    --chart`); `timeline` is `lake.history(...)` as dicts."""
    import matplotlib

    with matplotlib.rc_context(_RC), warnings.catch_warnings():  # type: ignore[arg-type]
        warnings.filterwarnings("ignore", message=r".*[Gg]lyph .* missing.*")
        fig = _figure(f"{safe_label(dataset, 80)}: downloads and likes per snapshot")
        ax = fig.add_subplot()
        if not timeline:
            _placeholder(ax, "in no snapshot")
            return _png(fig)
        days = [r["date"] for r in timeline]
        ax.plot(days, [r["downloads"] for r in timeline], color="#4c72b0", marker=".",
                label="downloads (30 days)")  # fmt: skip
        ax.set_ylabel("downloads")
        _count_axis(ax.yaxis)
        ax2 = ax.twinx()
        ax2.plot(days, [r["likes"] for r in timeline], color="#dd8452", marker=".", label="likes")
        ax2.set_ylabel("likes")
        _count_axis(ax2.yaxis)
        fig.legend(loc="upper right", fontsize=7)
        fig.autofmt_xdate()
        return _png(fig)
