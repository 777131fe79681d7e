"""`python -m hf_croissant_assets.cli_backfill --from A --to B` (= `hf-croissant-backfill`)."""

from hf_croissant_assets.cli import backfill

if __name__ == "__main__":
    raise SystemExit(backfill())
