"""The two layers stay visible: plain code never imports Dagster; only `defs/`, `definitions.py`
and the command line that drives them do."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import hf_croissant_assets

PACKAGE = Path(hf_croissant_assets.__file__).parent
#: Sub-packages and modules of the plain layer (everything but the Dagster layer and the CLI).
PLAIN = (
    "hub",
    "ingest",
    "curate",
    "lake",
    "warehouse",
    "share",
    "report",
    "explore",
    "schema",
    "settings",
    "preflight",
)
DAGSTER_LAYER = ("defs", "definitions", "cli", "cli_backfill")


def _modules(name: str) -> list[Path]:
    path = PACKAGE / name
    return sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]


def _imports_dagster(path: Path, root: Path = PACKAGE) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"{path.relative_to(root)}:{node.lineno} imports {n}" for n in names
                  if n == "dagster" or n.startswith(("dagster.", "dagster_"))]  # fmt: skip
    return found


def test_every_package_module_is_in_one_layer():
    top = {p.stem for p in PACKAGE.glob("*.py")} | {
        p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()
    }
    top.discard("__init__")
    assert top == set(PLAIN) | set(DAGSTER_LAYER), "classify new modules in PLAIN or DAGSTER_LAYER"


def test_plain_modules_do_not_import_dagster():
    offenders = [
        line for name in PLAIN for path in _modules(name) for line in _imports_dagster(path)
    ]
    assert offenders == []


def test_importing_every_plain_module_loads_no_dagster():
    """The import graph too: no plain module pulls Dagster in indirectly."""
    modules = sorted(
        ".".join(
            ("hf_croissant_assets", *path.relative_to(PACKAGE).with_suffix("").parts)
        ).removesuffix(".__init__")
        for name in PLAIN
        for path in _modules(name)
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'dagster' or m.startswith('dagster.'))\n"
        "print(len(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0", (
        "a plain module imports Dagster (directly or through another)"
    )


def test_the_check_catches_a_dagster_import(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("import os\nfrom dagster import asset\nimport dagster_aws\nfrom . import y\n")
    assert _imports_dagster(bad, tmp_path) == [
        "x.py:2 imports dagster",
        "x.py:3 imports dagster_aws",
    ]
