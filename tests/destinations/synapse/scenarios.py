"""The golden scenarios: what zoomsync sends to Synapse for each situation, as T-SQL text.

Tables come from the stream catalog (the same column types dlt is given), with the columns
dlt adds itself, so the golden files show the real DDL for `users` and its child tables and
for `meeting_participants`. Regenerate the files after an intended change with

    .venv/bin/python -m tests.destinations.synapse.golden
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zoomsync.catalog import CATALOG
from zoomsync.catalog.columns import spec_columns
from zoomsync.destinations.synapse import ddl, masking
from zoomsync.destinations.synapse.ddl import TableSpec, table_spec
from zoomsync.destinations.synapse.plan import FamilyLoad, StagedTable
from zoomsync.destinations.synapse.stage import (
    ManagedIdentity,
    ServicePrincipal,
    SharedAccessSignature,
    Storage,
)
from zoomsync.destinations.synapse.types import sql_column

SCHEMA = "zoom"
STAGING = "zoom_staging"
FIRST, SECOND, THIRD = "1767225600.000001", "1767229200.000002", "1767232800.000003"
# Placeholders, never real secrets: the golden files are public.
SAS = Storage("zoomsyncstage", "loads", SharedAccessSignature("?sv=2024-11-04&sig=PLACEHOLDER"))
MSI = Storage("zoomsyncstage", "loads", ManagedIdentity())
SP = Storage("zoomsyncstage", "loads", ServicePrincipal(
    "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002",
    "PLACEHOLDER"))

ROOT_DLT = {"_dlt_load_id": {"data_type": "text", "nullable": False},
            "_dlt_id": {"data_type": "text", "nullable": False, "unique": True, "row_key": True}}
CHILD_DLT = {"_dlt_parent_id": {"data_type": "text", "nullable": False, "parent_key": True},
             "_dlt_list_idx": {"data_type": "bigint", "nullable": False},
             "_dlt_id": {"data_type": "text", "nullable": False, "unique": True, "row_key": True},
             "_dlt_root_id": {"data_type": "text", "nullable": False, "root_key": True}}


def dlt_columns(stream: str, table: str | None = None) -> dict[str, dict[str, Any]]:
    """A table's columns as dlt's schema holds them: the spec's, then dlt's own."""
    spec = spec_columns(stream)
    if table is None or table == stream:
        key = CATALOG[stream].primary_key
        cols: dict[str, dict[str, Any]] = {
            n: {"data_type": t, "nullable": n not in key, "primary_key": n in key}
            for n, t in spec.columns.items()}
        return {**cols, **ROOT_DLT}
    return {**{n: {"data_type": t} for n, t in spec.nested[table].items()}, **CHILD_DLT}


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


def load_statements(family: FamilyLoad, storage: Storage) -> list[str]:
    """A family's statements in run order when its ledger row is absent."""
    return [family.check(), *family.stage(storage), *family.publish(), *family.cleanup()]


def first_load() -> list[str]:
    """An empty pool: schema and tables (dlt's diff), staging schema, ledger, two families."""
    tables = [spec("users"), *(spec("users", c) for c in USERS_CHILDREN),
              spec("meeting_participants")]
    # The order of client.update_stored_schema: dlt's DDL, then _ensure_loader_objects.
    return [ddl.schema_exists(SCHEMA), ddl.create_schema(SCHEMA),
            *(ddl.create_table(SCHEMA, t) for t in tables),
            ddl.schema_exists(STAGING), ddl.create_schema(STAGING), ddl.existing_columns(SCHEMA),
            ddl.create_ledger(SCHEMA),
            *load_statements(users_family(FIRST), SAS),
            *load_statements(participants_family(FIRST), SAS)]


def merge() -> list[str]:
    """A second load replacing keys: no DDL, the family's merge only (managed identity)."""
    return [ddl.existing_columns(SCHEMA), *load_statements(users_family(SECOND), MSI)]


def schema_change() -> list[str]:
    """Zoom adds a field to users (one new column) and a list appears (a new child table)."""
    users = spec("users")
    new_field = {"name": "zoom_workplace_plan", "data_type": "text"}
    evolved = TableSpec("users", (*users.columns, sql_column(new_field)), users.layout,
                        "users", users.primary_key)
    family = FamilyLoad(SCHEMA, STAGING, THIRD, "users", ("id",),
                        (StagedTable("users", evolved.columns),
                         StagedTable("users__phone_numbers",
                                     spec("users", "users__phone_numbers").columns)),
                        USERS_CHILDREN)
    # dlt's schema diff finds the new column and the new table; the job client sends these.
    return [ddl.add_columns(SCHEMA, "users", [sql_column(new_field)]),
            ddl.create_table(SCHEMA, spec("users", "users__phone_numbers")),
            ddl.existing_columns(SCHEMA), *load_statements(family, SP)]


def masking_() -> list[str]:
    """--mask-pii: masks on the personal columns of users (and children) and participants."""
    out: list[str] = []
    for stream, tables in (("users", ("users", *USERS_CHILDREN)),
                           ("meeting_participants", ("meeting_participants",))):
        present = {t: {c.name: c.data_type for c in spec(stream, t).columns} for t in tables}
        out += masking.mask_statements(SCHEMA, present, masking.personal_columns(stream))
    return [*out, masking.grant_unmask("zoom_analysts")]


def retry_after_crash() -> list[str]:
    """The process died after COMMIT: the ledger row is there, so only staging is dropped."""
    family = users_family(SECOND)
    return [family.check(), *family.cleanup()]


SCENARIOS = {
    "first_load": first_load,
    "merge": merge,
    "schema_change": schema_change,
    "masking": masking_,
    "retry_after_crash": retry_after_crash,
}


def render(name: str) -> str:
    doc = (SCENARIOS[name].__doc__ or "").strip()
    body = ";\n\n".join(SCENARIOS[name]())
    header = f"-- {name}: {doc}\n-- Generated by tests/destinations/synapse/golden.py; do not edit."
    return f"{header}\n\n{body};\n"
