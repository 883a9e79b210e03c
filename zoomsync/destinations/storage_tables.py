"""Which tables a dataset holds, asked of INFORMATION_SCHEMA.TABLES before any column is read.

dlt learns a dataset's tables from INFORMATION_SCHEMA.COLUMNS (`get_storage_tables`):
every column of every table it asks about. On PostgreSQL that view is slow: 14-19 ms for
the benchmark's 48 tables in a nearly empty database (bench/load.py), more in a database
holding many schemas; INFORMATION_SCHEMA.TABLES answers which of them exist in ~1 ms.
A first load asks about tables none of which exist yet, and asks twice: dlt before it
creates them, direct.py after, to find the empty ones.

`read_columns_of_existing(cls)` wraps a job client class's `get_storage_tables`: when none
of the tables asked about exists, it answers as dlt does then (each table, no columns)
without reading the columns view; otherwise dlt reads them as before (one ~1 ms query
more). dlt has no option for this.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


def existing_tables(client: Any, names: Iterable[str]) -> set[str]:
    """Which of `names` (dlt's normalized table names) are tables in the client's dataset,
    matched as dlt matches them in the information schema (casefolded, in its catalog)."""
    listed = sorted(set(names))
    if not listed:
        return set()
    sql, literal = client.sql_client, client.capabilities.escape_literal
    catalog, schema, folded = sql._get_information_schema_components(*listed)
    by_folded = dict(zip(folded, listed, strict=True))
    where = f"table_catalog = {literal(catalog)} AND " if catalog else ""
    rows = sql.execute_sql(
        f"SELECT table_name FROM {sql._qualify_info_schema_table_name('TABLES')} WHERE "
        f"{where}table_schema = {literal(schema)} AND table_name IN "
        f"({', '.join(literal(n) for n in folded)})")
    return {by_folded[row[0]] for row in rows or () if row[0] in by_folded}


def read_columns_of_existing(cls: Any) -> None:
    """Skip dlt's column query on `cls` when no table asked about exists (idempotent)."""
    original = cls.get_storage_tables
    if getattr(original, "_zoomsync_existing_first", False):
        return

    def get_storage_tables(self: Any, table_names: Iterable[str]
                           ) -> Iterator[tuple[str, dict[str, Any]]]:
        table_names = list(table_names)
        if table_names and not existing_tables(self, table_names):
            # What dlt yields when the columns view has no row for them (the dataset's
            # schema may not even exist yet).
            for name in table_names:
                yield name, {}
            return
        yield from original(self, table_names)

    get_storage_tables._zoomsync_existing_first = True  # type: ignore[attr-defined]
    cls.get_storage_tables = get_storage_tables

