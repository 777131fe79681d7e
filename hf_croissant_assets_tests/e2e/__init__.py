"""End to end: the Dagster UI driven in Chromium."""
