"""Datasette plugin of the explorer: a page per dataset and links to it.

Loaded with `datasette --plugins-dir` by `hf-croissant explore`. Everything shown comes from the
Hub and is untrusted: the page is rendered by Datasette's Jinja environment (autoescape on), the
history chart is an SVG drawn from numbers only, and no cell is ever rendered as HTML or Markdown.
"""

from __future__ import annotations

from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from hf_croissant_assets.explore.page import PLUGIN, dataset_context, dataset_href


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
