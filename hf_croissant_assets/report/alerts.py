"""Alert messages for a team: a produced day's change summary, or a failed run, posted to a webhook.

Plain code (no Dagster): the sensors in `defs/alerts.py` call `day_message` / `failure_message`
and `post`. The payload is Slack's incoming-webhook JSON (`{"text": ...}`), which Mattermost,
Rocket.Chat, Discord's `/slack` endpoint and most chat tools accept as well.

The webhook URL is a secret (it alone authorizes posting): it is passed to `post` and nowhere
else, never put in a message, an exception or a log line.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc

from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.schema import CHANGE_KINDS

#: An owner (user/org) or an owner/name dataset id, as the Hub allows them.
_WATCH_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?$")
#: Events listed by name in a message, at most (the counts are always complete).
MAX_LISTED = 20
#: Untrusted text (ids, values) is cut to this length in a message.
MAX_VALUE_CHARS = 80


class AlertError(RuntimeError):
    """The webhook refused or could not be reached (the message never contains the URL)."""


def parse_watch(value: str) -> list[str]:
    """Watch-list entries from a comma-separated setting; ValueError names a bad entry."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    bad = [item for item in items if not _WATCH_RE.match(item)]
    if bad:
        raise ValueError(
            f"{bad[:3]} are not dataset ids (owner/name) or authors (owner); separate entries "
            "with commas"
        )
    return items


@dataclass
class DaySummary:
    """The events of one day that a message reports (all, or the watch list's)."""

    date: str
    previous_date: str | None
    counts: dict[str, int]
    #: (dataset, change, before, after) of the listed events, at most MAX_LISTED.
    examples: list[tuple[str, str, str | None, str | None]]
    watched: list[str]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _watch_mask(datasets: pa.ChunkedArray, watch: list[str]) -> pa.ChunkedArray:
    ids = [w for w in watch if "/" in w]
    authors = [w + "/" for w in watch if "/" not in w]
    mask = pc.is_in(datasets, value_set=pa.array(ids, pa.string()))
    for prefix in authors:
        mask = pc.or_(mask, pc.starts_with(datasets, prefix))
    # An author also owns a legacy id without a namespace only if it is that id itself.
    owners = [w for w in watch if "/" not in w]
    if owners:
        mask = pc.or_(mask, pc.is_in(datasets, value_set=pa.array(owners, pa.string())))
    return pc.fill_null(mask, False)


def summarize_day(store: LakeStore, date: str, watch: list[str] | None = None) -> DaySummary:
    """The day's `hf_dataset_changes`, filtered to the watch list if one is given."""
    events = store.read_table("hf_dataset_changes", date)
    if watch:
        events = events.filter(_watch_mask(events.column("dataset"), watch))
    counts = dict.fromkeys(CHANGE_KINDS, 0)
    for item in events.column("change").value_counts().to_pylist():
        counts[item["values"]] = item["counts"]
    prev = (
        events.column("previous_date").drop_null().unique().to_pylist() if events.num_rows else []
    )
    previous = prev[0].isoformat() if prev else None
    if previous is None and not events.num_rows:
        full = store.read_table("hf_dataset_changes", date, columns=["previous_date"])
        values = full.column("previous_date").drop_null().unique().to_pylist()
        previous = values[0].isoformat() if values else None
    rows = events.slice(0, MAX_LISTED).to_pylist()
    examples = [(r["dataset"], r["change"], r["before"], r["after"]) for r in rows]
    return DaySummary(date, previous, counts, examples, list(watch or []))


def _plain(value: object) -> str:
    """Untrusted text as one short line with Slack's control characters neutralised."""
    if value is None:
        return "-"
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def day_message(summary: DaySummary) -> dict[str, str]:
    """The Slack-compatible payload for a produced day."""
    scope = f" (watching {', '.join(summary.watched)})" if summary.watched else ""
    since = f" since {summary.previous_date}" if summary.previous_date else " (first snapshot)"
    lines = [f"Hub datasets {summary.date}: {summary.total} change(s){since}{scope}"]
    nonzero = [f"{kind}: {n}" for kind, n in summary.counts.items() if n]
    lines.append(", ".join(nonzero) if nonzero else "no changes")
    for dataset, change, before, after in summary.examples:
        detail = "" if before is None and after is None else f" {_plain(before)} -> {_plain(after)}"
        lines.append(f"• {_plain(dataset)} {change}{detail}")
    if summary.total > len(summary.examples):
        lines.append(f"… and {summary.total - len(summary.examples)} more")
    return {"text": "\n".join(lines)}


def failure_message(job: str, run_id: str, partition: str | None, error: str) -> dict[str, str]:
    """The payload for a failed run (the error's first lines, never a secret we hold)."""
    day = f" for {partition}" if partition else ""
    first = "\n".join(error.strip().splitlines()[:5])[:1000]
    return {"text": f"Run FAILED: {job}{day} (run {run_id})\n{first}"}


def validate_webhook_url(url: str) -> str:
    """An http(s) URL; the error says what is wrong without repeating the URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AlertError(
            "HF_CROISSANT_ALERT_WEBHOOK_URL is not an http(s) URL (value not shown: it is secret)"
        )
    return url.strip()


def post(url: str, payload: dict[str, str], timeout_s: float = 10.0) -> int:
    """POST `payload` as JSON; the HTTP status. AlertError (without the URL) on any failure."""
    # validate_webhook_url admits http(s) only, so neither call can open file: or custom schemes
    request = urllib.request.Request(  # noqa: S310
        validate_webhook_url(url),
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise AlertError(f"webhook answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AlertError(f"webhook not reachable: {type(reason).__name__}") from None
