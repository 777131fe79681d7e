"""`python -m hf_croissant_assets.cli <command>` = `hf-croissant <command>`."""

from hf_croissant_assets.cli import hf_croissant

raise SystemExit(hf_croissant())
