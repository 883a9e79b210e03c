"""What the loader reads from the pool itself: its settings, each table's index, the widths
its columns are declared with. Queries only the catalog views Synapse documents
(https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-reference-tsql-system-views),
with their column names in the catalog's own case, so they also run on a pool created with a
case-sensitive collation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from zoomsync.destinations.synapse.names import literal
from zoomsync.errors import ConfigError

SETTINGS = ("SELECT [name], [collation_name], [is_read_committed_snapshot_on] "
            "FROM sys.databases WHERE [name] = DB_NAME()")
COLUMNSTORE = "CLUSTERED COLUMNSTORE"  # sys.indexes.type_desc of a columnstore table
# Types whose declared length bounds the values (CHARACTER_MAXIMUM_LENGTH; -1: max). zoomsync
# declares only nvarchar and varbinary; limits.check_widths counts characters and bytes.
_BOUNDED = frozenset({"nvarchar", "nchar", "varchar", "char", "varbinary", "binary"})


@dataclass(frozen=True)
class PoolSettings:
    database: str
    collation: str
    read_committed_snapshot: bool


def settings(rows: Sequence[Sequence[Any]]) -> PoolSettings:
    name, collation, rcsi = rows[0]
    return PoolSettings(str(name), str(collation or ""), bool(rcsi))


def require_snapshot_reads(found: PoolSettings) -> None:
    """Refuse a pool that reads uncommitted data.

    A dedicated pool defaults to READ UNCOMMITTED. The ledger check (plan.py) runs outside
    the family's transaction; reading uncommitted, a retry could see the ledger row of a
    transaction that is being rolled back, skip the load and delete its files: lost rows.
    Readers would also see a family between its DELETE and INSERT.
    https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-develop-transactions
    """
    if not found.read_committed_snapshot:
        raise ConfigError(
            f"the Synapse pool {found.database} reads uncommitted data "
            "(READ_COMMITTED_SNAPSHOT is OFF), so a load could not be made exactly once: "
            f"connected to master, run ALTER DATABASE [{found.database}] SET "
            "READ_COMMITTED_SNAPSHOT ON (docs/destinations/synapse.md, step 5)")


def index_kind(schema: str, table: str) -> str:
    """One row: the table's index type (HEAP, CLUSTERED, CLUSTERED COLUMNSTORE)."""
    return ("SELECT i.[type_desc] FROM sys.tables AS t JOIN sys.indexes AS i "
            "ON i.[object_id] = t.[object_id] "
            f"WHERE SCHEMA_NAME(t.[schema_id]) = {literal(schema)} "
            f"AND t.[name] = {literal(table)} AND i.[index_id] < 2")


def columns(schema: str, table: str | None = None) -> str:
    """(table, column, type, declared length) rows of the schema's tables, or of one."""
    where = f"TABLE_SCHEMA = {literal(schema)}"
    if table is not None:
        where += f" AND TABLE_NAME = {literal(table)}"
    return ("SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH "
            f"FROM INFORMATION_SCHEMA.COLUMNS WHERE {where} "
            "ORDER BY TABLE_NAME, ORDINAL_POSITION")


Widths = dict[str, dict[str, int]]  # table -> column -> the most characters/bytes it holds


def widths(rows: Iterable[Sequence[Any]]) -> tuple[dict[str, list[str]], Widths]:
    """The tables' columns (in order) and the declared widths of their bounded ones (every
    table listed, with no widths if it has no bounded column)."""
    tables: dict[str, list[str]] = {}
    bounded: Widths = {}
    for table, column, data_type, length in rows:
        tables.setdefault(table, []).append(column)
        declared = bounded.setdefault(table, {})
        if str(data_type).lower() in _BOUNDED and length is not None and int(length) > 0:
            declared[column] = int(length)
    return tables, bounded
