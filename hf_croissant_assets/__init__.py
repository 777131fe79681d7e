"""hf_croissant_assets: a daily snapshot of every Hugging Face Hub dataset (listing + Croissant).

Two layers: plain code without Dagster (`hub`, `ingest`, `curate`, `lake`, `warehouse`, `share`,
`report`, `schema`, `settings`) and the Dagster definitions built on it (`defs`, `definitions`).
Analysts start with ``from hf_croissant_assets import lake``.
"""
