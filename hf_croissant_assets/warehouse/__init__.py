"""SQL engines over the lake: DuckDB views, Athena DDL and its runner, the example queries."""
