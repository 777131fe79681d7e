"""Datasette plugin of the explorer: a page per dataset and links to it.

Loaded with `datasette --plugins-dir` by `hf-croissant explore`. Everything shown comes from the
Hub and is untrusted: the page is rendered by Datasette's Jinja environment (autoescape on), the
history chart is an SVG drawn from numbers only, and no cell is ever rendered as HTML or Markdown.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.facets import ArrayFacet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from hf_croissant_assets.explore.page import (
    ARRAY_SET_FACET,
    PLUGIN,
    dataset_context,
    dataset_href,
)


def _config(datasette: Any) -> dict[str, Any]:
    return datasette.plugin_config(PLUGIN) or {}


def _database(datasette: Any) -> Any:
    name = _config(datasette).get("database")
    return datasette.get_database(name) if name else datasette.get_database()


async def dataset_page(datasette: Any, request: Any) -> Response:
    dataset_id = request.args.get("id") or ""
    db = _database(datasette)
    context = await db.execute_fn(
        lambda conn: dataset_context(conn, dataset_id, _config(datasette))
    )
    context["database"] = db.name
    status = 200 if context["found"] else 404
    html = await datasette.render_template(["hf_dataset.html"], context, request=request)
    return Response.html(html, status=status)


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [(r"^/dataset$", dataset_page)]


@hookimpl
def render_cell(value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
    """Dataset ids link to their page (in tables, views and canned queries of the explorer)."""
    if column != "dataset" or not isinstance(value, str):
        return None
    if database != _config(datasette).get("database"):
        return None
    href = datasette.urls.path(dataset_href(value))
    return Markup('<a href="{}">{}</a>').format(href, escape(value))


class ArraySetFacet(ArrayFacet):
    """Facet a JSON-array column whose arrays hold distinct values (a set per row).

    Datasette's `array` facet de-duplicates (value, whole row) pairs first: on 500k wide rows
    that takes seconds and times out. Where each array already holds distinct values (the
    explorer builds `croissant_encoding_formats` and `croissant_field_data_types` so), counting
    `json_each` values of the one column gives the same counts, and a page filtered on a facet
    column reads only a covering facet index. Selecting a value filters with Datasette's own
    `column__arraycontains=value`, as the `array` facet does.
    """

    type = ARRAY_SET_FACET

    async def suggest(self) -> list[Any]:
        return []

    async def facet_results(self) -> tuple[list[Any], list[str]]:
        results: list[Any] = []
        timed_out: list[str] = []
        size = self.get_facet_size()
        pairs = self.get_querystring_pairs()
        for item in self.get_configs():
            config, source = item["config"], item["source"]
            column = config.get("column") or config["simple"]
            col = escape_sqlite(column)
            # Rows grouped by their whole array first (few distinct arrays: one json_each per
            # array, not per row), then each value weighted by its arrays' row counts.
            sql = (
                f"select j.value as value, sum(s.n) as count from ("
                f"select {col} as v, count(*) as n from ({self.sql}) "
                f"where {col} is not null group by {col}"
                f") s, json_each(s.v) j "
                f"group by j.value order by count desc, value limit {size + 1}"
            )
            try:
                rows = await self.ds.execute(
                    self.database, sql, self.params, truncate=False,
                    custom_time_limit=self.ds.setting("facet_time_limit_ms"),
                )  # fmt: skip
            except (QueryInterrupted, sqlite3.OperationalError):
                timed_out.append(column)
                continue
            values = []
            for row in rows.rows[:size]:
                value = str(row["value"])
                arg = {f"{column}__arraycontains": value}
                selected = (f"{column}__arraycontains", value) in pairs
                path = (
                    path_with_removed_args(self.request, arg)
                    if selected
                    else path_with_added_args(self.request, arg)
                )
                values.append(
                    {
                        "value": value,
                        "label": value,
                        "count": row["count"],
                        "toggle_url": self.ds.absolute_url(self.request, path),
                        "selected": selected,
                    }
                )
            results.append(
                {
                    "name": column,
                    "type": self.type,
                    "results": values,
                    "hideable": source != "metadata",
                    "toggle_url": self.ds.urls.path(
                        path_with_removed_args(self.request, {f"_facet_{self.type}": column})
                    ),
                    "truncated": len(rows) > size,
                }
            )
        return results, timed_out


@hookimpl
def register_facet_classes() -> list[type]:
    return [ArraySetFacet]
