"""Schemas and tables: CREATE and ALTER statements, run outside any transaction.

Dedicated SQL pools allow no DDL inside a user transaction, so every statement here runs on
its own before a family's merge transaction begins (or after it, for the staging drop).
https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-develop-transactions

Synapse has no `CREATE ... IF NOT EXISTS`: dlt's schema diff decides which tables and
columns are missing, and the job client (client.py) sends `create_table` / `add_columns` for
them. Dropping uses `IF OBJECT_ID(...) IS NOT NULL` because dlt found `DROP TABLE IF EXISTS`
refused by dedicated pools.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zoomsync.destinations.synapse.layout import (
    STAGING,
    Distribution,
    Index,
    Layout,
    resolve_layout,
    table_lengths,
)
from zoomsync.destinations.synapse.names import (
    LEDGER,
    SEQ,
    literal,
    quote,
    staging_table,
    table_ref,
)
from zoomsync.destinations.synapse.types import KEY_COLLATION, SqlColumn, sql_column


@dataclass(frozen=True)
class TableSpec:
    """A production table: its columns in order, its layout, its family.

    `root` is the family's root table (the table itself for a root); `primary_key` is empty
    for child tables, which are matched through `_dlt_root_id`.
    """

    name: str
    columns: tuple[SqlColumn, ...]
    layout: Layout
    root: str
    primary_key: tuple[str, ...] = ()


def table_spec(name: str, columns: Mapping[str, Mapping[str, Any]], *, root: str | None = None,
               overrides: Mapping[str, Mapping[str, Any]] | None = None) -> TableSpec:
    """A TableSpec from a dlt table's columns (name -> dlt column schema, in table order).

    Raises ConfigError for a type or layout Synapse would refuse, naming the fix.
    """
    overrides = overrides or {}
    sql_columns = table_columns(name, columns, overrides)
    primary_key = tuple(n for n, c in columns.items() if c.get("primary_key"))
    root = root or name
    layout = resolve_layout(name, sql_columns, root=root, primary_key=primary_key,
                            overrides=overrides)
    return TableSpec(name, sql_columns, layout, root, primary_key)


def table_columns(name: str, columns: Mapping[str, Mapping[str, Any]],
                  overrides: Mapping[str, Mapping[str, Any]] | None = None
                  ) -> tuple[SqlColumn, ...]:
    """A table's columns as Synapse types, configured lengths applied; no layout check (a
    staging table is a heap: it holds what the files hold)."""
    lengths = table_lengths(overrides or {}, name)
    return tuple(sql_column({"name": col_name, **col}, length=lengths.get(col_name))
                 for col_name, col in columns.items())


def create_schema(schema: str) -> str:
    return f"CREATE SCHEMA {quote(schema)}"


def schema_exists(schema: str) -> str:
    """One row when the schema exists; CREATE SCHEMA must be sent only when it does not."""
    return f"SELECT 1 FROM sys.schemas WHERE name = {literal(schema)}"


def create_table(schema: str, spec: TableSpec) -> str:
    return _create(table_ref(schema, spec.name), spec.columns, spec.layout)


def add_columns(schema: str, table: str, columns: Sequence[SqlColumn]) -> str:
    """Schema evolution: new columns arrive NULL for the rows already there.

    One ALTER adds them all, as dlt does on Synapse. A column that changes type is not
    altered (dlt keeps a column's first type and routes differing values to a variant column).
    """
    added = ", ".join(c.ddl(force_nullable=True) for c in columns)
    return f"ALTER TABLE {table_ref(schema, table)} ADD {added}"


def create_staging(staging_schema: str, table: str, load_id: str,
                   columns: Sequence[SqlColumn]) -> str:
    """The per-load staging table: the Parquet file's columns in the file's order, then
    `_zoomsync_seq`, the uploader's row counter that decides which duplicate wins.

    COPY maps Parquet columns to table columns by position, so this order is the file's.
    ROUND_ROBIN + HEAP is Microsoft's recommendation for staging tables. Key columns keep
    their binary collation: the dedup's PARTITION BY and the merge's joins compare them.
    https://learn.microsoft.com/sql/t-sql/statements/copy-into-transact-sql
    """
    seq = SqlColumn(SEQ, "bigint", nullable=False, nbytes=8, data_type="bigint")
    return _create(table_ref(staging_schema, staging_table(table, load_id)),
                   (*columns, seq), STAGING)


def drop_staging(staging_schema: str, table: str, load_id: str) -> str:
    ref = table_ref(staging_schema, staging_table(table, load_id))
    return f"IF OBJECT_ID({literal(ref)}, 'U') IS NOT NULL DROP TABLE {ref}"


def create_ledger(schema: str) -> str:
    """The load ledger: one row per (load id, table family) whose merge committed.

    Its row is written inside the family's merge transaction, so it exists exactly when the
    merge's changes do; a retried load that finds it does nothing more.
    """
    columns = (
        SqlColumn("load_id", "nvarchar(64)", False, KEY_COLLATION, 128),
        SqlColumn("table_family", "nvarchar(128)", False, KEY_COLLATION, 256),
        SqlColumn("rows", "bigint", False, None, 8, "bigint"),
        SqlColumn("committed_at", "datetime2(3)", False, None, 8, "timestamp"),
    )
    layout = Layout(Distribution("ROUND_ROBIN"),
                    Index("CLUSTERED INDEX", ("load_id", "table_family")))
    return _create(table_ref(schema, LEDGER), columns, layout)


def _create(ref: str, columns: Sequence[SqlColumn], layout: Layout) -> str:
    body = ",\n".join(f"    {c.ddl()}" for c in columns)
    return f"CREATE TABLE {ref} (\n{body}\n)\n{layout.sql()}"
