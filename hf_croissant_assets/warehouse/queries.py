"""The example queries of `analytics/query.sql`, and their DuckDB translation.

The file is written in Athena's dialect (what users run on AWS); sqlglot translates each query
for the embedded DuckDB, so the same file serves both engines and is tested on DuckDB.

It ships inside the package (`warehouse/sql/query.sql`, so an installed wheel or the Docker image
has it); `analytics/query.sql` at the repository root is a symlink to it, for readers.
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlglot

SQL_DIR = Path(__file__).resolve().parent / "sql"
QUERY_FILE = SQL_DIR / "query.sql"

_MARK = re.compile(r"^--\s*name:\s*([a-z0-9_]+)\s*$", re.MULTILINE)


def load_statements(path: Path = QUERY_FILE) -> dict[str, str]:
    """`-- name: x` sections of the file, each one SQL statement without its trailing `;`."""
    text = path.read_text()
    marks = list(_MARK.finditer(text))
    out = {}
    for mark, nxt in zip(marks, [*marks[1:], None], strict=True):
        body = text[mark.end() : nxt.start() if nxt else len(text)].strip()
        out[mark.group(1)] = body.rstrip().rstrip(";").strip()
    return out


def ddl_statements(path: Path = QUERY_FILE) -> dict[str, str]:
    return {k: v for k, v in load_statements(path).items() if k.startswith("create_")}


def example_queries(path: Path = QUERY_FILE) -> dict[str, str]:
    return {k: v for k, v in load_statements(path).items() if not k.startswith("create_")}


def to_duckdb(sql: str) -> str:
    return sqlglot.transpile(sql, read="athena", write="duckdb")[0]
