"""The SQL tables over the lake: DuckDB views (embedded) or Athena tables (AWS mode)."""

import hashlib

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from hf_croissant_assets.defs.resources import AthenaResource, DuckDBResource, LakeResource
from hf_croissant_assets.schema import TABLES
from hf_croissant_assets.settings import env_name
from hf_croissant_assets.warehouse.duckdb_views import refresh_views

#: The SQL tables wait for the lake tables they expose, except the validator's (its own pace:
#: its view reads whatever days exist, so it needs no re-registration to show a new day).
_TABLE_DEPS = [t for t in TABLES if t != "croissant_validation"]

#: Where the Athena setup is remembered, so the DDL runs once (and again only when it changes).
ATHENA_STATE = "_warehouse/athena.json"


def build_warehouse_assets(partitions: PartitionsDefinition) -> list[AssetsDefinition]:
    @asset(
        partitions_def=partitions,
        deps=_TABLE_DEPS,
        group_name="warehouse",
        kinds={"duckdb"},
        description="DuckDB views (one per lake table: `hf_datasets`, `hf_croissant`, ...) over "
        "every partition of the lake, in "
        "the file HF_CROISSANT_DUCKDB. Views read the parquet files, so a new day is visible as "
        "soon as it is written; materializing re-registers them and counts the day's rows. A file "
        "held open by a reader is replaced by a fresh one; an S3 lake is queried through pyarrow "
        "(`hf-croissant sql`) instead of file views.",
    )
    def duckdb_tables(
        context: AssetExecutionContext, lake: LakeResource, duckdb: DuckDBResource
    ) -> MaterializeResult:
        store = lake.store()
        date = context.partition_key
        counts = {
            table: store.num_rows(table, date) if store.exists(table, date) else 0
            for table in TABLES
        }
        if store.is_s3:
            # DuckDB file views over S3 would need the httpfs extension (a download); the lake is
            # queried embedded through pyarrow instead (`hf-croissant sql`, `lake.sql`).
            context.log.info(
                f"{env_name('lake')} is on S3: query it with `hf-croissant sql` or lake.sql "
                f"(no views in {duckdb.path}); rows on {date}: {counts}"
            )
            where = f"hf-croissant sql (lake {store.uri})"
        else:
            refresh = refresh_views(duckdb.path, store)
            swapped = " (file was open elsewhere: new file swapped in)" if refresh.swapped else ""
            context.log.info(
                f"DuckDB views registered in {duckdb.path}{swapped}; rows on {date}: {counts}"
            )
            where = f"duckdb {duckdb.path}"
        return MaterializeResult(
            metadata={
                "database": MetadataValue.path(duckdb.path)
                if not store.is_s3
                else "none (S3 lake)",
                "rows_on_date": MetadataValue.json(counts),
                "dagster/row_count": counts["hf_datasets"],
                "query_example": MetadataValue.md(
                    f"```sql\n-- {where}\nSELECT license, count(*) FROM hf_datasets "
                    f"WHERE \"date\" = DATE '{date}' GROUP BY 1 ORDER BY 2 DESC;\n```"
                ),
            }
        )

    @asset(
        partitions_def=partitions,
        deps=_TABLE_DEPS,
        group_name="warehouse",
        kinds={"athena"},
        description="Athena tables (one per lake table) over the S3 lake (AWS mode). The "
        "database and tables are created once, with partition projection on `date`, so a new day "
        "is queryable as soon as its file exists; with HF_CROISSANT_ATHENA_PROJECTION=false the day "
        "is added with ALTER TABLE ... ADD IF NOT EXISTS PARTITION. Never MSCK REPAIR TABLE.",
    )
    def athena_tables(
        context: AssetExecutionContext, lake: LakeResource, athena: AthenaResource
    ) -> MaterializeResult:
        store = lake.store()
        date = context.partition_key
        if not store.is_s3:
            raise ValueError(
                f"{env_name('athena_database')} is set but {env_name('lake')}={store.uri!r} is not an "
                "s3:// lake: Athena can only read S3"
            )
        client = athena.client()
        tables = list(TABLES)
        start = partitions.start.strftime("%Y-%m-%d")  # type: ignore[attr-defined]
        statements = client.statements_for_setup(
            store.uri, tables, projection=athena.projection, start_date=start
        )
        digest = hashlib.sha256("\n".join(statements).encode()).hexdigest()
        state = store.read_json(ATHENA_STATE) or {}
        ran: list[str] = []
        if state.get("digest") != digest or state.get("database") != athena.database:
            if state.get("database") == athena.database:
                # The DDL changed (new column, projection switched): external tables hold no data,
                # so dropping and re-creating them is safe and cheap.
                for table in tables:
                    sql = f"DROP TABLE IF EXISTS `{athena.database}`.`{table}`"
                    client.execute(sql)
                    ran.append(sql)
            ran += client.setup(store.uri, tables, projection=athena.projection, start_date=start)
            store.write_json(ATHENA_STATE, {"digest": digest, "database": athena.database})
            context.log.info(f"Athena tables (re)created in {athena.database}")
        ran += client.register_day(store.uri, tables, date, projection=athena.projection)
        counts = {table: client.count_rows(table, date) for table in tables}
        context.log.info(f"Athena rows on {date}: {counts}")
        return MaterializeResult(
            metadata={
                "database": athena.database,
                "workgroup": athena.workgroup,
                "projection": athena.projection,
                "statements_run": MetadataValue.md(
                    "\n\n".join(f"```sql\n{sql}\n```" for sql in ran) or "none (tables exist)"
                ),
                "rows_on_date": MetadataValue.json(counts),
                "dagster/row_count": counts["hf_datasets"],
            }
        )

    return [duckdb_tables, athena_tables]
