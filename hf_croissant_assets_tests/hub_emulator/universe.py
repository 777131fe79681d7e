"""The synthetic dataset universe: which datasets exist on a day, their ids, versions and listing
items, all pure functions of `(seed, index, day)` (splitmix64), so 500k datasets cost nothing at
start-up and two emulators with the same configuration agree."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from hf_croissant_assets.schema import VALID_LISTING_EXPAND
from hf_croissant_assets_tests.hub_emulator.hashing import U53, mix, salt, sha_hex, unit
from hf_croissant_assets_tests.hub_emulator.timestamps import epoch_seconds, iso
from hf_croissant_assets_tests.hub_emulator.vocabulary import (
    AUTHOR_PREFIXES,
    FORMATS,
    HOSTILE,
    LANGUAGES,
    LEGACY_STEMS,
    LICENSES,
    LONG_DESCRIPTIONS,
    SENTENCES,
    SIZES,
    STEMS,
    TASKS,
)

#: Every listing field, in the order the emulator writes them (derived from the one list).
ALL_FIELDS: tuple[str, ...] = tuple(sorted(VALID_LISTING_EXPAND))

#: Fields of a listing request with neither `expand` nor `full`.
DEFAULT_FIELDS: frozenset[str] = frozenset(
    {
        "author",
        "createdAt",
        "description",
        "disabled",
        "downloads",
        "gated",
        "lastModified",
        "likes",
        "private",
        "sha",
        "tags",
        "trendingScore",
    }
)


def card_description(h2: int, ds_id: str) -> str:
    """The card text of a dataset from its `s_more` hash: mostly one plain sentence, ~3% hostile
    text, ~2% empty, ~0.2% about 20 KB."""
    d = (h2 >> 23) & 0x3FF
    if d < 2:  # ~0.2%: ~20 KB
        return LONG_DESCRIPTIONS[((h2 >> 33) & 7) % len(LONG_DESCRIPTIONS)]
    if d < 32:  # ~3%: hostile text
        return HOSTILE[((h2 >> 33) & 0xF) % len(HOSTILE)]
    if d < 52:  # ~2%: empty card
        return ""
    return f"Dataset card for {ds_id.rpartition('/')[2]}. {SENTENCES[(h2 >> 33) & 7]}"


class Universe:
    """Pure functions of a configuration: existence, versions and items of dataset indices."""

    def __init__(
        self,
        seed: int,
        datasets: int,
        new_per_day: float,
        modify_rate: float,
        delete_rate: float,
        epoch: str,
    ) -> None:
        self.datasets = datasets
        new = round(datasets * new_per_day)
        if new == 0 and new_per_day > 0 and datasets > 0:
            new = 1
        self.new_count = new
        self.epoch_ts = epoch_seconds(epoch)
        self.s_core = salt(seed, "core")
        self.s_more = salt(seed, "more")
        self.s_num = salt(seed, "num")
        self.s_dyn = salt(seed, "dyn")
        self.s_del = salt(seed, "del")
        self.s_mod = salt(seed, "mod")
        self.s_sha = salt(seed, "sha")
        self.s_ts = salt(seed, "ts")
        self.s_doc = salt(seed, "doc")
        self.log_keep_del = log_keep(delete_rate)
        self.log_keep_mod = log_keep(modify_rate)

    # -- existence ---------------------------------------------------------------------------
    def total(self, day: int) -> int:
        """Number of indices created up to `day` (some may be deleted)."""
        return self.datasets + day * self.new_count

    def creation_day(self, i: int) -> int:
        if i < self.datasets:
            return 0
        return 1 + (i - self.datasets) // self.new_count

    def deletion_day(self, i: int, creation: int) -> float:
        """First day on which the dataset is gone (a geometric draw: per-day Bernoulli)."""
        lk = self.log_keep_del
        if lk is None:
            return math.inf
        if lk == -math.inf:
            return creation + 1
        u = ((mix(self.s_del ^ i) >> 11) + 1) * U53  # (0, 1]
        return creation + 1 + int(math.log(u) / lk)

    def exists(self, i: int, day: int) -> bool:
        if i < 0 or i >= self.total(day):
            return False
        c = self.creation_day(i)
        return c <= day and self.deletion_day(i, c) > day

    def version(self, i: int, creation: int, day: int) -> int:
        """Last day <= `day` on which the dataset changed (its creation day if never)."""
        lk = self.log_keep_mod
        k = creation
        if lk is None:
            return k
        if lk == -math.inf:
            return max(creation, day)
        h = mix(self.s_mod ^ i)
        while True:
            u = ((h >> 11) + 1) * U53
            k2 = k + 1 + int(math.log(u) / lk)
            if k2 > day:
                return k
            k = k2
            h = mix(h)

    # -- identity ----------------------------------------------------------------------------
    def dataset_id(self, i: int) -> str:
        h = mix(self.s_core ^ i)
        if (h & 0x3FF) < 10:  # ~1% legacy ids without a namespace
            return f"{LEGACY_STEMS[(h >> 22) & 15]}{i}"
        a = (h >> 10) & 0xFFF
        return f"{AUTHOR_PREFIXES[a & 15]}-{a >> 4}/{STEMS[(h >> 22) % len(STEMS)]}-{i}"

    def index_of(self, dataset_id: str) -> int | None:
        """The index that would carry `dataset_id`, or None (no lookup table needed)."""
        m = ID_INDEX_RE.search(dataset_id)
        if m is None:
            return None
        digits = m.group(1)
        if len(digits) > 1 and digits[0] == "0":
            return None
        i = int(digits)
        if self.dataset_id(i) != dataset_id:
            return None
        return i

    # -- attributes --------------------------------------------------------------------------
    def is_gated(self, i: int) -> str | bool:
        h = mix(self.s_core ^ i)
        g = (h >> 30) & 0x3FF
        if g < 41:  # ~4%
            return "manual" if (h >> 40) & 1 else "auto"
        return False

    def croissant_unavailable(self, i: int) -> bool:
        h = mix(self.s_core ^ i)
        return ((h >> 41) & 0x3FF) < 164  # ~16%

    def croissant_traits(self, i: int) -> tuple[int, int, int]:
        """(task index into `TASKS`, format index into `FORMATS`, document hash) of index `i`:
        what its Croissant document is made from. Task and format are the ones its listing
        tags show; the document hash picks the document style and variant."""
        h2 = mix(self.s_more ^ i)
        h3 = mix(self.s_num ^ i)
        task = ((h2 >> 13) & 0xF) % len(TASKS)
        fmt = ((h3 >> 12) & 0xF) % len(FORMATS)
        return task, fmt, mix(self.s_doc ^ i)

    def card_description(self, i: int, dataset_id: str) -> str:
        """The listing `description` of index `i` (also the text of its Croissant description)."""
        return card_description(mix(self.s_more ^ i), dataset_id)

    def license(self, i: int) -> str | None:
        h2 = mix(self.s_more ^ i)
        if (h2 & 0x3FF) < 870:  # ~85% carry a license tag
            return LICENSES[(h2 >> 10) & 7]
        return None

    def _version_hash(self, i: int, version: int) -> int:
        # (i, version) -> 64 bits; versions are days (< 2**16)
        return mix(self.s_sha ^ ((i << 16) + version))

    def sha(self, i: int, version: int) -> str:
        return sha_hex(self._version_hash(i, version))

    def item(self, i: int, creation: int, day: int, fields: frozenset[str]) -> dict[str, Any]:
        """The listing JSON object of index `i` at `day` with `fields` (plus `_id`, `id`).

        Hot path (a page is 1000 calls): one splitmix64 per independent group of attributes,
        bit fields sliced from it, and only the requested fields computed."""
        h = mix(self.s_core ^ i)  # identity, gating, croissant availability
        h2 = mix(self.s_more ^ i)  # license, task, language, text fields
        h3 = mix(self.s_num ^ i)  # popularity and sizes
        ht = mix(self.s_ts ^ i)  # timestamps, _id
        epoch = self.epoch_ts
        legacy = (h & 0x3FF) < 10
        if legacy:
            ds_id = f"{LEGACY_STEMS[(h >> 22) & 15]}{i}"
        else:
            a = (h >> 10) & 0xFFF
            ds_id = f"{AUTHOR_PREFIXES[a & 15]}-{a >> 4}/{STEMS[(h >> 22) % len(STEMS)]}-{i}"
        if creation == 0:
            created_ts = epoch - 86_400 - int(unit(ht) * (4 * 365 * 86_400))
        else:
            created_ts = epoch + creation * 86_400 + (ht & 0xFFFF) % 86_400
        created_ms = (ht >> 16) % 1000
        out: dict[str, Any] = {
            "_id": f"{created_ts & 0xFFFFFFFF:08x}{(ht ^ h3) & 0xFFFFFFFFFFFFFFFF:016x}",
            "id": ds_id,
        }
        need = fields.__contains__
        lic = LICENSES[(h2 >> 10) & 7] if (h2 & 0x3FF) < 870 else None
        task, modality = TASKS[((h2 >> 13) & 0xF) % len(TASKS)]
        lang = LANGUAGES[((h2 >> 17) & 0xF) % len(LANGUAGES)]
        if need("author"):
            out["author"] = None if legacy else ds_id.partition("/")[0]
        if need("cardData"):
            card: dict[str, Any] = {}
            if lic is not None:
                card["license"] = lic
            card["language"] = [lang]
            card["task_categories"] = [task]
            out["cardData"] = card
        if need("citation"):
            out["citation"] = (
                f"@misc{{ds{i},\n  title={{{ds_id}}},\n  year={{2024}}\n}}"
                if (h2 >> 21) & 3 == 0
                else None
            )
        if need("createdAt"):
            out["createdAt"] = iso(created_ts, created_ms)
        if need("description"):
            out["description"] = card_description(h2, ds_id)
        if need("disabled"):
            out["disabled"] = ((h2 >> 36) & 0x3FF) < 2
        base_dl = int(1_000_000 * unit(h3) ** 12)
        dyn = 0
        if need("downloads") or need("trendingScore"):
            dyn = mix(self.s_dyn ^ ((i << 16) + day))
        if need("downloads"):
            out["downloads"] = int(base_dl * (0.9 + 0.2 * unit(dyn)))
        if need("downloadsAllTime"):
            if (h3 & 0xFF) < 2:  # ~0.8% beyond int32
                all_time = 2**31 + (h3 >> 8) % (2**33)
            else:
                all_time = base_dl * (1 + (h3 & 0x3F))
            out["downloadsAllTime"] = all_time + (base_dl * day) // 30
        if need("gated"):
            out["gated"] = (
                ("manual" if (h >> 40) & 1 else "auto") if ((h >> 30) & 0x3FF) < 41 else False
            )
        if need("lastModified") or need("sha"):
            version = self.version(i, creation, day)
            hv = self._version_hash(i, version)
            if need("lastModified"):
                if version != creation:
                    lm = iso(epoch + version * 86_400 + hv % 86_400, (hv >> 20) % 1000)
                elif creation == 0:
                    frac = ((ht >> 26) & 0xFFFFFF) / 16_777_216.0
                    lm = iso(created_ts + int(frac * (epoch - created_ts)), (hv >> 20) % 1000)
                else:
                    lm = iso(created_ts, created_ms)
                out["lastModified"] = lm
        if need("likes"):
            likes_base = int(5000 * (((h3 >> 24) & 0xFFFFFF) / 16_777_216.0) ** 10)
            out["likes"] = likes_base + (likes_base * day) // 100
        used = int(10 ** (3 + 9 * (((h >> 59) << 16) | (ht & 0xFFFF)) / 2_097_152.0))
        if need("mainSize"):
            out["mainSize"] = int(used * 0.8)
        if need("paperswithcode_id"):
            pw = (h2 >> 46) & 0x3F
            out["paperswithcode_id"] = f"{STEMS[pw % len(STEMS)]}-{i}" if pw < 6 else None
        if need("private"):
            out["private"] = False
        if need("resourceGroup"):
            out["resourceGroup"] = None
        if need("sha"):
            out["sha"] = sha_hex(hv)
        if need("siblings"):
            n = 1 + ((h2 >> 50) & 3) % 3
            sib = [{"rfilename": ".gitattributes"}, {"rfilename": "README.md"}]
            sib.extend({"rfilename": f"data/train-{j:05d}-of-{n:05d}.parquet"} for j in range(n))
            out["siblings"] = sib
        if need("tags"):
            tags = [f"task_categories:{task}", f"language:{lang}"]
            if (h2 >> 52) & 7 == 0:
                lang2 = LANGUAGES[((h2 >> 55) & 0xF) % len(LANGUAGES)]
                if lang2 != lang:
                    tags.append(f"language:{lang2}")
            if lic is not None:
                tags.append(f"license:{lic}")
            tags.append(f"size_categories:{SIZES[((h3 >> 8) & 0xF) % len(SIZES)]}")
            tags.append(f"format:{FORMATS[((h3 >> 12) & 0xF) % len(FORMATS)]}")
            tags.append(f"modality:{modality}")
            tags.append("library:datasets")
            tags.append("region:us")
            out["tags"] = tags
        if need("trendingScore"):
            out["trendingScore"] = 0 if (dyn & 3) != 0 else round(50 * unit(dyn) ** 3, 3)
        if need("usedStorage"):
            out["usedStorage"] = used
        return out

    def iter_indices(self, day: int, start: int = 0) -> Iterator[tuple[int, int]]:
        """(index, creation day) of every dataset listed at `day`, from index `start` on."""
        total = self.total(day)
        datasets = self.datasets
        for i in range(max(0, start), total):
            c = 0 if i < datasets else 1 + (i - datasets) // self.new_count
            if c > day:
                break
            if self.deletion_day(i, c) <= day:
                continue
            yield i, c


ID_INDEX_RE = re.compile(r"(\d+)$")


def log_keep(p: float) -> float | None:
    """log(1 - p): None when the event never happens, -inf when it happens every day."""
    if p <= 0:
        return None
    if p >= 1:
        return -math.inf
    return math.log1p(-p)
