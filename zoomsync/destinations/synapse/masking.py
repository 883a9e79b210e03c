"""Optional dynamic data masking (`--mask-pii`) of the columns the source marks personal.

    ALTER TABLE [zoom].[users] ALTER COLUMN [email] ADD MASKED WITH (FUNCTION = 'email()')

Emails get `email()` (aXXX@XXXX.com), names `partial(1,"xxxx",0)` (first letter kept), and
everything else personal — phone numbers, addresses, IP and MAC addresses, device names,
non-text values — `default()`. Users without UNMASK (analysts, unless granted) see masks;
the loader's merge never reads masked production columns (it copies from unmasked staging),
so masks cannot leak into the data. Masks belong to the column, and zoomsync never re-creates
a production table, so they stay; ADD MASKED on a masked column just sets its function again,
which makes these statements safe to repeat after every schema change.
https://learn.microsoft.com/sql/relational-databases/security/dynamic-data-masking
https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-overview-manage-security
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zoomsync import hints
from zoomsync.destinations.synapse.names import literal, quote, table_ref

EMAIL = "email()"
NAME = 'partial(1,"xxxx",0)'
DEFAULT = "default()"
_TEXT = ("text", "json")


def mask_function(column: str, kind: str | None, data_type: str = "text") -> str:
    """The masking function for a personal column: by its marked kind, else its name."""
    if data_type not in _TEXT:
        return DEFAULT  # email() and partial() apply to strings only
    name = column.lower()
    if kind == "email" or (kind is None and "email" in name):
        return EMAIL
    if kind == "name" or (kind is None and _is_name(name)):
        return NAME
    return DEFAULT


def _is_name(column: str) -> bool:
    return column in ("name", "host") or (column.endswith("_name") and column != "pc_name")


def personal_columns(tables: Mapping[str, Mapping[str, Any]]
                     ) -> dict[str, dict[str, str | None]]:
    """table -> {column: kind} of the columns the source marked personal (`hints.PERSONAL`)
    in a dlt schema's `tables`; kind None: judged by the column's name."""
    out: dict[str, dict[str, str | None]] = {}
    for table, schema in tables.items():
        for column, hint in (schema.get("columns") or {}).items():
            kind = hint.get(hints.PERSONAL)
            if kind:
                out.setdefault(table, {})[column] = None if kind == hints.OTHER else kind
    return out


def mask_column(schema: str, table: str, column: str, function: str) -> str:
    return (f"ALTER TABLE {table_ref(schema, table)} ALTER COLUMN {quote(column)} "
            f"ADD MASKED WITH (FUNCTION = {literal(function)})")


def mask_statements(schema: str, tables: Mapping[str, Mapping[str, str]],
                    personal: Mapping[str, Mapping[str, str | None]]) -> list[str]:
    """ADD MASKED for each personal column present. `tables`: table -> {column: dlt type}
    of the production tables (a column the catalog names but Zoom never sent has no mask)."""
    out: list[str] = []
    for table, columns in personal.items():
        present = tables.get(table) or {}
        for column, kind in sorted(columns.items()):
            if column in present:
                out.append(mask_column(schema, table, column,
                                       mask_function(column, kind, present[column])))
    return out


def grant_unmask(principal: str) -> str:
    """For the set-up docs: who may read personal data in clear."""
    return f"GRANT UNMASK TO {quote(principal)}"


def masked_columns(schema: str) -> str:
    """(table, column) of every column of `schema` that already has a mask."""
    return ("SELECT t.name, c.name FROM sys.masked_columns AS c "
            "JOIN sys.tables AS t ON c.object_id = t.object_id "
            f"WHERE SCHEMA_NAME(t.schema_id) = {literal(schema)}")
