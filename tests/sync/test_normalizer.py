"""zoomsync's JSON normalizer (zoomsync/sync/normalizer.py) gives the schema exactly what dlt's
relational normalizer gives it, extending each root once; zoomsync's source schema uses it."""

from __future__ import annotations

from typing import Any

import pytest
from dlt.common.normalizers.json.relational import DataItemNormalizer as RelationalNormalizer
from dlt.common.schema import Schema
from dlt.common.schema.utils import new_table

from zoomsync.sync.normalizer import MODULE


def _schema(module: str | None) -> Schema:
    """Merge roots with nested tables (two levels), an append root, and a table of dlt's."""
    schema = Schema("zoom", normalizers={"json": {"module": module}} if module else None)
    # What zoomsync's source sets (`dlt.source(root_key=True)`), before any table.
    RelationalNormalizer.update_normalizer_config(schema, {"root_key_propagation": True})
    schema = Schema.from_dict(schema.to_dict())  # its normalizer made with that setting
    key: Any = {"id": {"name": "id", "data_type": "bigint", "primary_key": True,
                       "nullable": False}}
    for root in ("meetings", "users"):
        schema.update_table(new_table(root, write_disposition="merge", columns=list(
            key.values())))
        schema.update_table(new_table(f"{root}__tags", parent_table_name=root))
        schema.update_table(new_table(f"{root}__tags__links",
                                      parent_table_name=f"{root}__tags"))
    schema.update_table(new_table("events", write_disposition="append"))
    schema.update_table(new_table("events__items", parent_table_name="events"))
    return schema


def test_the_schema_gets_what_dlts_normalizer_gives_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from dlt.common.schema import utils

    ours, theirs = _schema(MODULE), _schema(None)
    copies = {"n": 0}
    clone = utils.fill_hints_from_parent_and_clone_table

    def counted(*args: Any) -> Any:
        copies["n"] += 1
        return clone(*args)

    # Counted where dlt's merge-strategy resolution looks it up (dlt.common.destination.utils).
    from dlt.common.destination import utils as destination_utils

    monkeypatch.setattr(destination_utils, "fill_hints_from_parent_and_clone_table", counted)
    counts = []
    for schema in (ours, theirs):
        copies["n"] = 0
        schema.data_item_normalizer.extend_schema()
        counts.append(copies["n"])
    assert ours._normalizers_config["json"].get("config") == \
        theirs._normalizers_config["json"].get("config")
    propagation = ours._normalizers_config["json"]["config"]["propagation"]["tables"]
    assert set(propagation) == {"meetings", "users", "events"}  # every root's key propagates
    assert counts[0] < counts[1]  # once per merge root, not once per table of its family
    assert type(ours.data_item_normalizer).__module__ == MODULE


def test_a_stored_schema_keeps_our_normalizer() -> None:
    restored = Schema.from_dict(_schema(MODULE).to_dict())
    assert type(restored.data_item_normalizer).__module__ == MODULE
    assert restored._normalizers_config["json"]["module"] == MODULE
