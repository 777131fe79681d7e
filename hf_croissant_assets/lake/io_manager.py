"""An IO manager that persists a partitioned asset's rows at its Hive key in the lake.

The output is a stream of record batches (`PartitionOutput`), not a table in memory: the day's
listing is ~500k rows. It is written through `LakeStore.writer`, so the day is replaced
atomically, on a local folder or S3 alike. Downstream assets get a `LakePartition` handle and
read the rows in batches when they need them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa
from dagster import ConfigurableIOManager, InputContext, MetadataValue, OutputContext
from pydantic import Field, PrivateAttr

from hf_croissant_assets.lake.store import LakeStore

DATASET_METADATA_KEY = "lake/dataset"


@dataclass
class PartitionOutput:
    """What an asset returns: the rows (streamed) and what to do once they are published."""

    batches: Iterable[pa.RecordBatch | pa.Table]
    schema: pa.Schema
    on_published: Callable[[], None] | None = None


@dataclass(frozen=True)
class LakePartition:
    """A handle on one stored partition; nothing is read until asked."""

    store: LakeStore
    dataset: str
    date: str

    @property
    def path(self) -> str:
        return self.store.url(self.store.part_path(self.dataset, self.date))

    @property
    def num_rows(self) -> int:
        return self.store.num_rows(self.dataset, self.date)

    def iter_batches(
        self, columns: list[str] | None = None, batch_size: int = 8192
    ) -> Iterator[pa.RecordBatch]:
        return self.store.iter_batches(self.dataset, self.date, columns, batch_size)

    def read(self, columns: list[str] | None = None) -> pa.Table:
        return self.store.read_table(self.dataset, self.date, columns)


class LakeIOManager(ConfigurableIOManager):
    """Writes `PartitionOutput`s to `<lake>/<dataset>/date=D/part-0.parquet`; loads handles.

    The lake dataset name comes from the asset's definition metadata `lake/dataset`.
    """

    uri: str = Field(default="./data/lake", description="HF_CROISSANT_LAKE")

    _store: LakeStore | None = PrivateAttr(default=None)

    def store(self) -> LakeStore:
        if self._store is None:
            self._store = LakeStore(self.uri)
        return self._store

    def _target(self, context: OutputContext | InputContext) -> tuple[LakeStore, str, str]:
        meta = context.definition_metadata or {}
        if isinstance(context, InputContext) and context.upstream_output is not None:
            meta = context.upstream_output.definition_metadata or {}
        dataset = meta.get(DATASET_METADATA_KEY)
        if dataset is None:
            raise ValueError(
                f"asset {context.asset_key.to_user_string()} has no '{DATASET_METADATA_KEY}' metadata"
            )
        keys = context.asset_partition_keys
        if len(keys) != 1:
            raise ValueError(
                f"{context.asset_key.to_user_string()}: one partition per run is supported "
                f"(got {len(keys)}); run a backfill as one run per day"
            )
        return self.store(), str(dataset), keys[0]

    def handle_output(self, context: OutputContext, obj: PartitionOutput) -> None:
        store, dataset, date = self._target(context)
        with store.writer(dataset, date, obj.schema) as writer:
            for batch in obj.batches:
                writer.write(batch)
        if obj.on_published is not None:
            obj.on_published()
        context.add_output_metadata(
            {
                "dagster/row_count": writer.rows,
                "path": MetadataValue.path(writer.result.path),
                "bytes_written": writer.result.bytes,
            }
        )

    def load_input(self, context: InputContext) -> LakePartition:
        store, dataset, date = self._target(context)
        if not store.exists(dataset, date):
            raise FileNotFoundError(
                f"no {dataset} partition stored for {date} "
                f"({store.url(store.part_path(dataset, date))}): {context.upstream_output.asset_key.to_user_string() if context.upstream_output else dataset} "
                "can only be fetched for today, so this day cannot be produced"
            )
        return LakePartition(store, dataset, date)
