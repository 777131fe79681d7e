"""The Dagster layer: assets by domain, checks, resources, partitions, jobs, schedules."""
