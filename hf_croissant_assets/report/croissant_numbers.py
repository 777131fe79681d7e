"""The report's Croissant-in-depth numbers: field data types, declared bytes by format,
validity and the top validation errors, license agreement (tag vs. Croissant) -- as of one day.

Plain Python over the DuckDB connection `report.numbers` opens (every query filters on `date`,
pushed into the scans). A table without a partition for the day gives empty numbers and a note.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hf_croissant_assets.lake.store import LakeStore

if TYPE_CHECKING:
    import duckdb

TOP_TYPES = 12
TOP_FORMATS = 8
TOP_ERRORS = 8
#: Verdict buckets of `croissant_validation`, in chart order.
VERDICTS: tuple[str, ...] = ("valid", "invalid", "not validated")
#: License agreement buckets, in chart order (see `license_agreement_latest` in query.sql).
AGREEMENT: tuple[str, ...] = ("agree", "disagree", "tag only", "Croissant only", "neither is SPDX")


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[tuple]:
    return con.execute(sql, params).fetchall()


def _field_types(con, date: str) -> list[dict[str, Any]]:
    rows = _rows(
        con,
        """SELECT data_type, count(*) AS n FROM hf_croissant_fields,
                  UNNEST(data_types) AS t(data_type)
           WHERE "date" = ?::DATE GROUP BY 1 ORDER BY n DESC, data_type LIMIT ?""",
        [date, TOP_TYPES],
    )
    return [{"data_type": t, "fields": int(n)} for t, n in rows]


def _bytes_by_format(con, date: str) -> list[dict[str, Any]]:
    rows = _rows(
        con,
        """SELECT coalesce(encoding_format, '(none)') AS fmt, count(*) AS files,
                  coalesce(sum(content_size_bytes), 0) AS bytes
           FROM hf_croissant_files WHERE "date" = ?::DATE
           GROUP BY 1 ORDER BY bytes DESC, fmt LIMIT ?""",
        [date, TOP_FORMATS],
    )
    return [{"encoding_format": f, "files": int(n), "bytes": int(b)} for f, n, b in rows]


def _validity(con, date: str) -> dict[str, Any]:
    rows = _rows(
        con,
        """SELECT CASE WHEN valid THEN 'valid' WHEN NOT valid THEN 'invalid'
                       ELSE 'not validated' END, count(*)
           FROM croissant_validation WHERE "date" = ?::DATE GROUP BY 1""",
        [date],
    )
    counts = dict.fromkeys(VERDICTS, 0)
    counts.update({v: int(n) for v, n in rows})
    errors = _rows(
        con,
        """SELECT regexp_replace(error, '^"[^"]*"', '"…"') AS kind,
                  count(DISTINCT dataset) AS n
           FROM croissant_validation, UNNEST(errors) AS t(error)
           WHERE "date" = ?::DATE GROUP BY 1 ORDER BY n DESC, kind LIMIT ?""",
        [date, TOP_ERRORS],
    )
    return {"counts": counts, "top_errors": [{"error": e, "documents": int(n)} for e, n in errors]}


def _license_agreement(con, date: str) -> dict[str, int]:
    rows = _rows(
        con,
        """SELECT CASE
                    WHEN d.license_spdx IS NULL AND c.license_spdx IS NULL THEN 'neither is SPDX'
                    WHEN d.license_spdx = c.license_spdx THEN 'agree'
                    WHEN d.license_spdx IS NULL THEN 'Croissant only'
                    WHEN c.license_spdx IS NULL THEN 'tag only'
                    ELSE 'disagree' END, count(*)
           FROM hf_datasets d JOIN hf_croissant c ON c.dataset = d.dataset
           WHERE d."date" = ?::DATE AND c."date" = ?::DATE AND c.status = 200
           GROUP BY 1""",
        [date, date],
    )
    counts = dict.fromkeys(AGREEMENT, 0)
    counts.update({a: int(n) for a, n in rows})
    return counts


def croissant_depth_numbers(
    con: duckdb.DuckDBPyConnection, store: LakeStore, date: str, notes: list[str]
) -> dict[str, Any]:
    """{"field_types", "bytes_by_format", "validity", "license_agreement"} on `date`; a missing
    partition is noted in `notes` and gives empty numbers."""
    for table in ("hf_croissant_fields", "hf_croissant_files", "croissant_validation"):
        if not store.exists(table, date):
            notes.append(f"no {table} partition for {date}: its chart is empty")
    return {
        "field_types": _field_types(con, date),
        "bytes_by_format": _bytes_by_format(con, date),
        "validity": _validity(con, date),
        "license_agreement": _license_agreement(con, date)
        if store.exists("hf_croissant", date)
        else dict.fromkeys(AGREEMENT, 0),
    }


def empty_depth() -> dict[str, Any]:
    """The numbers of a day with none of the tables (every chart then says "no data")."""
    return {
        "field_types": [],
        "bytes_by_format": [],
        "validity": {"counts": dict.fromkeys(VERDICTS, 0), "top_errors": []},
        "license_agreement": dict.fromkeys(AGREEMENT, 0),
    }
