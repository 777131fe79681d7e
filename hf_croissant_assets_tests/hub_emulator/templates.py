"""Croissant documents pre-serialised once into literal text and `@@SLOT@@` placeholders, so that
serving one is a string join, plus the filler that pads documents to a target size."""

from __future__ import annotations

import re

PLACEHOLDER_RE = re.compile(r"@@([A-Z_]+)@@")


class Template:
    """Serialised JSON text cut at its `@@SLOT@@` placeholders.

    Slot values are inserted raw: they must already be JSON-escaped for where they stand."""

    def __init__(self, text: str, conforms_to: str | None = None) -> None:
        pieces = PLACEHOLDER_RE.split(text)
        # pieces alternate literal, placeholder name, literal, ...
        self.literals = pieces[0::2]
        self.slots = pieces[1::2]
        self.base_len = sum(len(p.encode()) for p in self.literals)
        #: the document's `conformsTo` (None when it has none)
        self.conforms_to = conforms_to

    def render(self, values: dict[str, str]) -> str:
        out = [self.literals[0]]
        for slot, lit in zip(self.slots, self.literals[1:], strict=True):
            out.append(values[slot])
            out.append(lit)
        return "".join(out)

    def render_padded(self, values: dict[str, str], target_bytes: int | None) -> str:
        """`render` with the `PAD` slot (inside a JSON string) filled so that the document is about
        `target_bytes` long (no padding when it is already that long, or when `target_bytes` is
        None)."""
        pad = ""
        if target_bytes and "PAD" in self.slots:
            dynamic = sum(len(values[s].encode()) for s in self.slots if s != "PAD")
            n = target_bytes - self.base_len - dynamic - 4
            if n > 0:
                pad = "\\n\\n" + filler(n)  # JSON-escaped newlines: this goes in raw
        return self.render({**values, "PAD": pad})


_FILLER = (
    "This padding sentence stands in for a long dataset card; it carries no information. " * 64
)


def filler(n: int) -> str:
    """`n` characters of plain ASCII text (safe inside a JSON string)."""
    global _FILLER
    while len(_FILLER) < n:
        _FILLER = _FILLER * 2
    return _FILLER[:n]
