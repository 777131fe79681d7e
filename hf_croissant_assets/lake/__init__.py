"""The lake: partitioned parquet on a local folder or S3 (`store`), and analyst access (`access`).

``from hf_croissant_assets import lake`` then ``lake.read(...)``, ``lake.scan(...)``,
``lake.sql(...)``, ``lake.dates(...)``, ``lake.connect()``, ``lake.history("owner/name")`` — see `access`.

The names are loaded on first use (PEP 562): importing this package stays light (no polars,
DuckDB or Dagster), and the pipeline's own ``import hf_croissant_assets.lake.store`` does not
pay for the analyst tools it never calls.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hf_croissant_assets.lake.access import (
        LakeStore,
        NoPartitionError,
        connect,
        dataset,
        dates,
        get_store,
        history,
        history_events,
        read,
        scan,
        sql,
        tables,
    )

__all__ = [
    "LakeStore",
    "NoPartitionError",
    "connect",
    "dataset",
    "dates",
    "get_store",
    "history",
    "history_events",
    "read",
    "scan",
    "sql",
    "tables",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        value = getattr(importlib.import_module("hf_croissant_assets.lake.access"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
