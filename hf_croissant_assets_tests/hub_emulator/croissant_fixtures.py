"""Real Croissant documents saved from the Hub, turned into templates for the old-style answers.

The documents live in the repository, in `hf_croissant_assets_tests/fixtures/croissant/`
(`DEFAULT_FIXTURES_DIR`, found relative to this package). The one way to use other documents is
`EmulatorConfig.fixtures_dir` (CLI `--fixtures-dir`).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hf_croissant_assets_tests.hub_emulator.templates import Template

#: The in-repo folder of real Hub documents (`*.json`).
DEFAULT_FIXTURES_DIR: Path = Path(__file__).resolve().parent.parent / "fixtures" / "croissant"


def fixtures_dir(setting: str | Path | None) -> Path:
    """The fixtures folder for `EmulatorConfig.fixtures_dir`: the setting, else the in-repo one."""
    return Path(setting) if setting else DEFAULT_FIXTURES_DIR


def conforms_to(doc: dict[str, Any]) -> str | None:
    """The first `conformsTo` value of a document as a string (None when it has none)."""
    value = doc.get("conformsTo", doc.get("dct:conformsTo"))
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@id")
    return value if isinstance(value, str) else None


def fixture_template(doc: dict[str, Any], with_license: bool) -> Template:
    """A real document with its identity replaced by slots: `ID` (in `url`, `sameAs` and wherever
    the original id appeared), `NAME`, `LICENSE` (a choosealicense.com URL, or no license at all
    when `with_license` is false) and `SHA` / `PAD` at the end of the description."""
    doc = copy.deepcopy(doc)
    url = str(doc.get("url", ""))
    orig_id = url.rsplit("/datasets/", 1)[-1] if "/datasets/" in url else None
    doc["name"] = "@@NAME@@"
    doc["url"] = "https://huggingface.co/datasets/@@ID@@"
    if "sameAs" in doc:
        doc["sameAs"] = "https://huggingface.co/datasets/@@ID@@"
    desc = str(doc.get("description", ""))
    doc["description"] = desc + "@@PAD@@\n\nRevision: @@SHA@@"
    if with_license:
        doc["license"] = "https://choosealicense.com/licenses/@@LICENSE@@/"
    else:
        doc.pop("license", None)
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    if orig_id:
        text = text.replace(orig_id, "@@ID@@")
    return Template(text, conforms_to(doc))


def load_fixture_templates(folder: Path) -> list[tuple[Template, Template]]:
    """(with license, without license) templates of every `*.json` in `folder`, sorted by name."""
    files = sorted(folder.glob("*.json"))
    if not files:
        raise FileNotFoundError(
            f"no Croissant fixtures (*.json) in {folder} (EmulatorConfig.fixtures_dir, "
            f"default {DEFAULT_FIXTURES_DIR})"
        )
    out = []
    for f in files:
        doc = json.loads(f.read_text(encoding="utf-8"))
        out.append((fixture_template(doc, with_license=True), fixture_template(doc, False)))
    return out
