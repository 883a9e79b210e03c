"""Hand-built catalog tables and family loads for unit tests of the SQL builders.

Tables come from the stream catalog (the same column types dlt is given) with the columns
dlt adds itself. The golden files are not built from these: they are recorded from the real
client (scenarios.py); these serve tests that call plan.py / ddl.py / layout.py directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zoomsync.catalog import CATALOG
from zoomsync.catalog.columns import spec_columns
from zoomsync.destinations.synapse.ddl import TableSpec, table_spec
from zoomsync.destinations.synapse.plan import FamilyLoad, StagedTable
from zoomsync.destinations.synapse.stage import SharedAccessSignature, Storage

SCHEMA = "zoom"
STAGING = "zoom_staging"
# A placeholder, never a real secret.
SAS = Storage("zoomsyncstage", "loads", SharedAccessSignature("?sv=2024-11-04&sig=PLACEHOLDER"))

ROOT_DLT = {"_dlt_load_id": {"data_type": "text", "nullable": False},
            "_dlt_id": {"data_type": "text", "nullable": False, "unique": True, "row_key": True}}
CHILD_DLT = {"_dlt_parent_id": {"data_type": "text", "nullable": False, "parent_key": True},
             "_dlt_list_idx": {"data_type": "bigint", "nullable": False},
             "_dlt_id": {"data_type": "text", "nullable": False, "unique": True, "row_key": True},
             "_dlt_root_id": {"data_type": "text", "nullable": False, "root_key": True}}


def dlt_columns(stream: str, table: str | None = None) -> dict[str, dict[str, Any]]:
    """A table's columns as dlt's schema holds them: the spec's, then dlt's own."""
    spec_ = spec_columns(stream)
    if table is None or table == stream:
        key = CATALOG[stream].primary_key
        cols: dict[str, dict[str, Any]] = {
            n: {"data_type": t, "nullable": n not in key, "primary_key": n in key}
            for n, t in spec_.columns.items()}
        return {**cols, **ROOT_DLT}
    return {**{n: {"data_type": t} for n, t in spec_.nested[table].items()}, **CHILD_DLT}


def spec(stream: str, table: str | None = None,
         overrides: Mapping[str, Mapping[str, Any]] | None = None) -> TableSpec:
    return table_spec(table or stream, dlt_columns(stream, table), root=stream,
                      overrides=overrides)


USERS_CHILDREN = ("users__group_ids", "users__phone_numbers")


def users_family(load_id: str, children: tuple[str, ...] = USERS_CHILDREN,
                 staged_children: tuple[str, ...] = USERS_CHILDREN) -> FamilyLoad:
    def staged(table: str) -> StagedTable:
        return StagedTable(table, spec("users", table).columns)

    return FamilyLoad(SCHEMA, STAGING, load_id, "users", ("id",),
                      (staged("users"), *(staged(c) for c in staged_children)), children)


def participants_family(load_id: str) -> FamilyLoad:
    table = spec("meeting_participants")
    return FamilyLoad(SCHEMA, STAGING, load_id, "meeting_participants",
                      CATALOG["meeting_participants"].primary_key,
                      (StagedTable("meeting_participants", table.columns,
                                   ("part-0000.parquet", "part-0001.parquet")),))
