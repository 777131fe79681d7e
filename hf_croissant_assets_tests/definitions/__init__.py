"""Dagster definitions: assets materialized in-process, schedules, the CLIs, the daemon."""
