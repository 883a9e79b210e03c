"""Checking T-SQL text with sqlglot (pinned at 29.0.1), and running merge SQL on DuckDB.

Two documented gaps of sqlglot, bridged here and nowhere else:

1. Parsing: sqlglot's T-SQL parser does not know the Synapse table options
   `CLUSTERED COLUMNSTORE INDEX` and `CLUSTERED INDEX (cols)` inside CREATE TABLE's WITH
   (it tokenises "CLUSTERED INDEX" as INDEX and then expects a property). `parseable`
   replaces exactly those two options by `HEAP` — which it parses — for the parse check
   only; the golden files keep the real text. ALTER ... ADD MASKED and GRANT parse as
   opaque `Command`s (sqlglot has no grammar for them); `OPAQUE` lists what may.
2. Running on DuckDB: `IF OBJECT_ID(...) IS NOT NULL DROP TABLE t` has no DuckDB
   transpilation ("Unsupported If block syntax"), so it becomes `DROP TABLE IF EXISTS t`;
   `SYSUTCDATETIME()` passes through transpilation unchanged, so DuckDB gets a macro of that
   name. Staging DDL and COPY never reach DuckDB: tests create and fill staging tables.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

_INDEX_OPTION = re.compile(
    r"(?<=, )(CLUSTERED COLUMNSTORE INDEX|CLUSTERED INDEX \((?:\[[^\]]+\](?:, )?)+\))(?=\)$)")
OPAQUE = ("ALTER TABLE", "GRANT")  # statements sqlglot keeps as Command


def parseable(sql: str) -> str:
    """`sql` with the Synapse index options sqlglot cannot parse replaced by HEAP."""
    return _INDEX_OPTION.sub("HEAP", sql)


def parse_tsql(sql: str) -> exp.Expression:
    """Parse one statement in sqlglot's T-SQL dialect; raises sqlglot.errors.ParseError."""
    parsed = [e for e in sqlglot.parse(parseable(sql), read="tsql") if e is not None]
    assert len(parsed) == 1, f"expected one statement, got {len(parsed)}: {sql[:80]}"
    return parsed[0]


def to_duckdb(sql: str) -> str:
    tree = sqlglot.parse_one(sql, read="tsql")
    if isinstance(tree, exp.IfBlock):
        block = tree.args.get("true")
        drop = block.expressions[0] if isinstance(block, exp.Block) else block
        if isinstance(drop, exp.Drop):
            return f"DROP TABLE IF EXISTS {drop.this.sql('duckdb')}"
        raise AssertionError(f"no DuckDB rewrite for IF block: {sql[:80]}")
    return tree.sql("duckdb")


class DuckSynapse:
    """An in-memory DuckDB standing in for the pool's DML: `execute(tsql) -> rows`."""

    def __init__(self) -> None:
        self.db = duckdb.connect()
        self.db.execute("CREATE MACRO sysutcdatetime() AS now()")
        self.log: list[str] = []

    def execute(self, sql: str) -> Sequence[Sequence[Any]]:
        self.log.append(sql)
        cursor = self.db.execute(to_duckdb(sql))
        return cursor.fetchall() if cursor.description else []

    def rows(self, table: str, columns: str = "*") -> list[tuple[Any, ...]]:
        return sorted(self.db.execute(f"SELECT {columns} FROM {table}").fetchall(),
                      key=repr)
