"""Real servers on loopback: the Hub emulator, moto's S3 server, DuckDB, parquet files."""
