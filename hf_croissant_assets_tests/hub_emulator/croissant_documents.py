"""Which Croissant document a dataset's 200 answer is, and its text.

The mix follows the Hub: nearly every document is the Hub's generated Croissant 1.1
(`croissant_generator`); a configurable share (`EmulatorConfig.old_croissant_share`, default
2%) are old-style documents, the real fixture documents that do not conform to 1.1 (with
`conformsTo` 1.0 or none at all; the MLCommons validator rejects the latter). Which datasets get
an old-style document is a per-dataset draw, so the share holds over any set of datasets.
"""

from __future__ import annotations

import json
from pathlib import Path

from hf_croissant_assets_tests.hub_emulator.croissant_fixtures import (
    fixtures_dir,
    load_fixture_templates,
)
from hf_croissant_assets_tests.hub_emulator.croissant_generator import (
    CROISSANT_1_1,
    VARIANTS,
    generated_template,
)
from hf_croissant_assets_tests.hub_emulator.hashing import unit
from hf_croissant_assets_tests.hub_emulator.templates import Template
from hf_croissant_assets_tests.hub_emulator.universe import Universe

#: Longest card text kept in a generated document's description (the Hub cuts it similarly).
CARD_EXCERPT_CHARS = 400

#: Licenses that give no choosealicense.com URL (the document then has no `license`).
_NO_LICENSE_URL = ("other", "unknown")


class CroissantDocuments:
    """The Croissant documents of one emulator: fixtures loaded once from `fixtures_setting`
    (`EmulatorConfig.fixtures_dir`), generated documents built per shape on first use."""

    def __init__(self, fixtures_setting: str | Path | None) -> None:
        self.fixtures_setting = fixtures_setting
        self.folder = fixtures_dir(fixtures_setting)
        fixtures = load_fixture_templates(self.folder)
        old = [pair for pair in fixtures if pair[0].conforms_to != CROISSANT_1_1]
        #: (with license, without license) templates of the old-style documents
        self.old_style = old or fixtures

    def template(self, u: Universe, i: int, licensed: bool, old_share: float) -> Template:
        """The template of index `i`'s document."""
        task, fmt, hd = u.croissant_traits(i)
        if unit(hd) < old_share:
            pair = self.old_style[(hd & 0xFFFF) % len(self.old_style)]
            return pair[0] if licensed else pair[1]
        return generated_template(task, fmt, (hd >> 16) % VARIANTS)

    def render(
        self,
        u: Universe,
        i: int,
        dataset_id: str,
        day: int,
        old_share: float,
        doc_kb: float | None,
    ) -> str:
        """The body of index `i`'s 200 answer at `day` (padded to about `doc_kb` KiB)."""
        lic = u.license(i)
        licensed = lic is not None and lic not in _NO_LICENSE_URL
        tpl = self.template(u, i, licensed, old_share)
        sha = u.sha(i, u.version(i, u.creation_day(i), day))
        values = slot_values(
            dataset_id,
            sha,
            lic if licensed else None,
            u.card_description(i, dataset_id) if "DESC" in tpl.slots else "",
        )
        return tpl.render_padded(values, int(doc_kb * 1024) if doc_kb else None)


def slot_values(dataset_id: str, sha: str, license_id: str | None, card: str) -> dict[str, str]:
    """Every slot value but PAD for one dataset, for fixture and generated templates alike
    (`license_id`: None when the document has no license)."""
    namespace, _, name = dataset_id.rpartition("/")
    if len(card) > CARD_EXCERPT_CHARS:
        card = (
            card[:CARD_EXCERPT_CHARS] + "… See the full description on the dataset page: "
            f"https://huggingface.co/datasets/{dataset_id}."
        )
    creator = ""
    if namespace:
        kind = "sc:Person" if namespace.startswith("lerobot-user") else "sc:Organization"
        creator = (
            f',"creator":{{"@type":"{kind}","name":"{namespace}",'
            f'"url":"https://huggingface.co/{namespace}"}}'
        )
    return {
        "ID": dataset_id,
        "NAME": name,
        "SHA": sha,
        "LICENSE": license_id or "",
        "DESC": json.dumps(card, ensure_ascii=False)[1:-1],
        "CREATOR": creator,
        "LICENSE_PROP": (
            f',"license":"https://choosealicense.com/licenses/{license_id}/"' if license_id else ""
        ),
        "LICENSE_KW": f',"{license_id}"' if license_id else "",
    }
