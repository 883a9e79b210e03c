"""docs/tables.md is generated from the catalog: it must be current."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from zoomsync.catalog import CATALOG

REPO = Path(__file__).resolve().parents[2]


def _render() -> str:
    name = "gen_tables_doc"
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return str(module.render())


def test_tables_doc_is_current() -> None:
    assert _render() == (REPO / "docs" / "tables.md").read_text("utf-8"), (
        "docs/tables.md is stale; run .venv/bin/python scripts/gen_tables_doc.py")


def test_tables_doc_covers_every_stream_and_dlt_columns() -> None:
    text = (REPO / "docs" / "tables.md").read_text("utf-8")
    for name in CATALOG:
        assert f"\n## {name}\n" in text
    for column in ("_dlt_id", "_dlt_load_id", "_dlt_parent_id", "_dlt_list_idx", "_dlt_root_id"):
        assert f"`{column}`" in text
    assert "### meetings__settings__global_dial_in_numbers" in text
    assert "| `settings__host_video` | bool |" in text
