"""`hf-croissant snapshot --dry-run`: the day's Croissant plan, without fetching a document.

The plan is `ingest.plan.plan_day` on the day's stored listing (or, before today's listing is
fetched, on the newest stored one, marked as an estimate). The duration is estimated from the
quota the Hub announces (`RateLimit-Policy`), read from one `GET /api/datasets?limit=1`.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request

from hf_croissant_assets.cli.common import EXIT_OK
from hf_croissant_assets.settings import Settings, env_name


def announced_quota(settings: Settings, timeout_s: float = 15.0) -> tuple[int | None, float | None]:
    """(requests per window, window seconds) from the Hub's headers; (None, None) if absent."""
    from hf_croissant_assets.hub.ratelimit import parse_ratelimit_headers

    # the endpoint was validated in Settings: http(s) only
    request = urllib.request.Request(  # noqa: S310
        settings.hf_endpoint.rstrip("/") + "/api/datasets?limit=1",
        headers={"User-Agent": "hf_croissant_assets/0.1 (+dry-run)"},
    )
    token = os.environ.get(env_name("hf_token_set"), "").strip()
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - validated http(s)
            headers = response.headers
    except urllib.error.HTTPError as exc:
        headers = exc.headers
    except (urllib.error.URLError, OSError):
        return None, None
    state = parse_ratelimit_headers(dict(headers.items()))
    return state.quota, state.window


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def print_plan(settings: Settings, day: str) -> int:
    from hf_croissant_assets.ingest.croissant_crawl import Budget, staged_ids
    from hf_croissant_assets.ingest.plan import PRIORITY_NAMES, plan_day
    from hf_croissant_assets.lake.store import LakeStore

    store = LakeStore(settings.lake)
    listings = [d for d in store.dates("raw_listing") if d <= day]
    quota, window = announced_quota(settings)
    rate = f"{quota} requests / {window:g} s" if quota and window else "not announced"
    if not listings:
        print(f"plan {day}: no listing stored yet in {settings.lake}")
        print("  the run first lists every dataset (GET /api/datasets, 1,000 per page), then")
        print("  fetches the Croissant document of each (all are new), within the budget")
        print(f"  announced quota: {rate}")
        print("dry run: nothing fetched")
        return EXIT_OK
    listing_day = listings[-1]
    plan = plan_day(store, listing_day, refresh_after_days=settings.refresh_days)
    estimate = "" if listing_day == day else f" (estimate: {day}'s listing is not fetched yet)"
    print(
        f"plan {day}: listing of {listing_day}{estimate}, previous snapshot "
        f"{plan.previous_date or 'none'}"
    )
    counts = plan.counts
    print(f"  {'listed':<24}{counts['listed']:>10,}")
    for name in PRIORITY_NAMES.values():
        print(f"  {name:<24}{counts.get(name, 0):>10,}")
    done = staged_ids(store, day) if listing_day == day else set()
    todo = plan.candidates.height - len(done & set(plan.candidates["dataset"].to_list()))
    if done:
        print(f"  {'already fetched today':<24}{len(done):>10,}")
    budget = Budget(max_requests=settings.max_requests, max_duration_s=settings.max_duration_s)
    limit = budget.limit(quota, window)
    will = min(todo, limit) if limit is not None else todo
    source = (
        f"{env_name('max_requests')}"
        if settings.max_requests is not None
        else f"derived from the quota over {env_name('max_duration_s')}"
    )
    budget_text = f"budget {limit:,}: {source}" if limit is not None else "no request budget"
    print(f"  {'to fetch this run':<24}{will:>10,}  ({budget_text})")
    print(f"  {'carried forward':<24}{counts['listed'] - will:>10,}")
    if quota and window:
        print(
            f"  announced quota: {rate} -> about {_duration(will / (quota / window))} of fetching"
        )
    else:
        print("  announced quota: not announced; duration unknown")
    print("dry run: nothing fetched")
    return EXIT_OK
