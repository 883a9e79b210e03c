"""Identifiers and literals as Synapse reads them, and the names zoomsync gives its own objects.

Everything zoomsync writes into T-SQL text passes through here: names are bracket-quoted and
checked against Synapse's 128-character limit, string values become escaped literals, and
load ids are checked before they become part of a table name.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from zoomsync.errors import ConfigError

# sysname: identifiers are at most 128 characters.
# https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-service-capacity-limits
MAX_IDENTIFIER = 128

LEDGER = "zoomsync_loads"  # one row per (load id, table family) that committed
SEQ = "_zoomsync_seq"  # staging only: the row's position in the load, written by the uploader
ROW_NUMBER = "_zoomsync_rn"  # a derived column inside the merge's dedup query

# dlt's load ids are Unix timestamps ("1718000000.123456"); anything else in a table name
# would be a surprise, so refuse it rather than quote it.
_LOAD_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")


def quote(name: str) -> str:
    """`name` as a bracket-quoted identifier: `[meetings]`, `[a]]b]` for `a]b`."""
    if not name or len(name) > MAX_IDENTIFIER or "\x00" in name:
        raise ConfigError(f"{name!r} is not a valid Synapse identifier (1 to {MAX_IDENTIFIER} "
                          "characters)")
    return "[" + name.replace("]", "]]") + "]"


def table_ref(schema: str, table: str) -> str:
    """A schema-qualified table: COPY INTO cancels itself when the schema is left to the
    user's default and that default differs, so every reference names its schema.
    https://learn.microsoft.com/sql/t-sql/statements/copy-into-transact-sql
    """
    return f"{quote(schema)}.{quote(table)}"


def literal(value: str) -> str:
    """A T-SQL string literal; the values zoomsync writes (load ids, names) are ASCII."""
    return "'" + value.replace("'", "''") + "'"


def check_load_id(load_id: str) -> str:
    if not _LOAD_ID.match(load_id):
        raise ConfigError(f"load id {load_id!r} cannot name a staging table: expected letters, "
                          "digits, '.', '_' or '-' (at most 64)")
    return load_id


def staging_table(table: str, load_id: str) -> str:
    """The per-load staging table's name: `<table>__<load id>`, e.g. `users__1718000000_123456`.

    One staging table per table and load keeps a retried load's files and rows apart from
    every other load's. Names that would pass 128 characters keep their start and gain a
    hash of the full table name, so two long names never meet.
    """
    suffix = "__" + check_load_id(load_id).replace(".", "_").replace("-", "_")
    if len(table) + len(suffix) <= MAX_IDENTIFIER:
        return table + suffix
    digest = hashlib.sha256(table.encode("utf-8")).hexdigest()[:10]
    keep = MAX_IDENTIFIER - len(suffix) - len(digest) - 1
    return f"{table[:keep]}_{digest}{suffix}"


def sql_value(value: Any) -> str:
    """A Python value (from a driver parameter or a Parquet row) as a T-SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return repr(value) if not isinstance(value, Decimal) else str(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:  # datetime2 columns hold UTC
            value = value.astimezone(UTC).replace(tzinfo=None)
        return literal(value.isoformat(sep=" ", timespec="milliseconds"))
    if isinstance(value, date):
        return literal(value.isoformat())
    if isinstance(value, bytes | bytearray | memoryview):
        return "0x" + bytes(value).hex()
    return "N" + literal(str(value))
