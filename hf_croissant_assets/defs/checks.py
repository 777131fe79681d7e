"""Asset checks of the curated tables, evaluated write-audit-publish style.

The curated assets audit their new file before publishing it: every check is *blocking*.
A failed check leaves the previous version of the partition in place (the new file is kept under
`_staging/rejected/`), fails the asset, and so stops the table assets downstream. Why blocking:

- `schema_matches`: a file whose schema differs from the declaration breaks Athena and DuckDB
  readers of *every* day (they read all partitions with one schema).
- `dataset_unique`: duplicates double counts in every query; nulls mean a corrupt row.
- `rows_match_listing` (hf_croissant): the table must be complete — one row per listed dataset.
- `row_count_vs_previous`: a drop beyond the tolerance (HF_CROISSANT_ROW_DROP_TOLERANCE) almost
  always means a truncated listing, not a real mass deletion; publishing it would also make the
  next day's Croissant carry-forward lose rows. Raise the tolerance to accept a real drop.

The checks themselves (names, descriptions, logic) live in `curate/checks.py`, without Dagster.
"""

from collections.abc import Callable, Iterator
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    MetadataValue,
)

from hf_croissant_assets.curate import checks as quality
from hf_croissant_assets.defs.metadata import table_metadata
from hf_croissant_assets.lake.store import LakeStore, WriteResult
from hf_croissant_assets.schema import TABLES


def check_specs(table: str) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(check.name, asset=table, blocking=True, description=check.description)
        for check in quality.CHECKS[table]
    ]


class Auditor:
    """The `audit` callback for `LakeStore.writer`, remembering the outcomes for Dagster."""

    def __init__(self, store: LakeStore, table: str, date: str, tolerance: float) -> None:
        self.store, self.table, self.date, self.tolerance = store, table, date, tolerance
        self.outcomes: list[quality.CheckOutcome] = []

    def __call__(self, parquet) -> None:
        self.outcomes = quality.audit(self.store, self.table, self.date, parquet, self.tolerance)
        if not all(o.passed for o in self.outcomes):
            raise quality.AuditFailed(self.outcomes)

    def results(self) -> list[AssetCheckResult]:
        return [
            AssetCheckResult(
                check_name=o.name,
                asset_key=self.table,
                passed=o.passed,
                severity=AssetCheckSeverity.ERROR,
                description=o.description,
                metadata={k: v for k, v in o.metadata.items() if v is not None},
            )
            for o in self.outcomes
        ]

    def fail(self, exc: quality.AuditFailed) -> Iterator[AssetCheckResult]:
        """Report every check, then fail the step: the day is not published."""
        yield from self.results()
        raise Failure(
            description=f"{self.table} {self.date}: {exc}",
            metadata={
                "rejected_file": MetadataValue.path(
                    self.store.url(
                        self.store.path("_staging", "rejected", self.table, f"date={self.date}")
                    )
                )
            },
        )


def curate_audited(
    context: AssetExecutionContext,
    store: LakeStore,
    table: str,
    curate: Callable[..., WriteResult],
    tolerance: float,
    extra_metadata: Callable[[], dict[str, Any]] | None = None,
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Write-audit-publish one curated day: report every check, publish only if all passed."""
    date = context.partition_key
    auditor = Auditor(store, table, date, tolerance)
    try:
        result = curate(store, date, audit=auditor)
    except quality.AuditFailed as exc:
        yield from auditor.fail(exc)
        return
    context.log.info(f"{table} {date}: {result.rows} rows -> {result.path}")
    metadata = table_metadata(store, table, date, result, TABLES[table])
    if extra_metadata is not None:
        metadata |= extra_metadata()
    yield MaterializeResult(
        metadata=metadata,
        check_results=auditor.results(),
    )
