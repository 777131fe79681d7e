"""The SQL tables over the lake (embedded: DuckDB views)."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from hf_croissant_assets.assets.croissant import hf_croissant
from hf_croissant_assets.assets.listing import hf_datasets
from hf_croissant_assets.partitions import daily_partitions
from hf_croissant_assets.resources import DuckDBResource, LakeResource
from hf_croissant_assets.schema import TABLES
from hf_croissant_assets.warehouse.duckdb import register_views


@asset(
    partitions_def=daily_partitions,
    deps=[hf_datasets, hf_croissant],
    group_name="warehouse",
    kinds={"duckdb"},
    description="DuckDB views `hf_datasets`, `hf_croissant` over every partition of the lake, in "
    "the file HF_CROISSANT_DUCKDB. Views read the parquet files, so a new day is visible as "
    "soon as it is written; materializing re-registers them and counts the day's rows.",
)
def duckdb_tables(
    context: AssetExecutionContext, lake: LakeResource, duckdb: DuckDBResource
) -> MaterializeResult:
    store = lake.store()
    date = context.partition_key
    with duckdb.connect() as con:
        register_views(con, store)
        counts = {
            table: con.execute(
                f'SELECT count(*) FROM "{table}" WHERE "date" = CAST(? AS DATE)', [date]
            ).fetchone()[0]
            for table in TABLES
        }
    context.log.info(f"DuckDB views registered in {duckdb.path}; rows on {date}: {counts}")
    return MaterializeResult(
        metadata={
            "database": MetadataValue.path(duckdb.path),
            "rows_on_date": MetadataValue.json(counts),
            "dagster/row_count": counts["hf_datasets"],
            "query_example": MetadataValue.md(
                f"```sql\n-- duckdb {duckdb.path}\nSELECT license, count(*) FROM hf_datasets "
                f"WHERE \"date\" = DATE '{date}' GROUP BY 1 ORDER BY 2 DESC;\n```"
            ),
        }
    )
