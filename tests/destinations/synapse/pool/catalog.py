"""The pool's catalog: schemas and tables as Synapse records them, mirrored into real DuckDB
tables so that any catalog query runs (joins, filters, functions), not a canned answer.

T-SQL name          DuckDB table
sys.databases       tsql_sys.databases   (name, database_id, collation_name,
                                          is_read_committed_snapshot_on)
sys.schemas         tsql_sys.schemas     (name, schema_id, principal_id)
sys.tables          tsql_sys.tables      (name, object_id, schema_id, type, type_desc, ...)
sys.columns         tsql_sys.columns     (object_id, name, column_id, max_length, precision,
                                          scale, collation_name, is_nullable, type_name)
sys.indexes         tsql_sys.indexes     (object_id, name, index_id, type, type_desc)
sys.masked_columns  tsql_sys.masked_columns (only with masked_columns_view=True: R16b says
                                          Synapse does not list it)
INFORMATION_SCHEMA.{TABLES,COLUMNS,SCHEMATA} -> tsql_info.* with upper-case column names.
System views supported in Synapse SQL pool:
https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-reference-tsql-system-views
Functions: DB_NAME(), SCHEMA_NAME(id), SCHEMA_ID(name), OBJECT_ID(name[, type]) are macros
over these tables (R21).
"""

from __future__ import annotations

from typing import Any

import duckdb

from tests.destinations.synapse.pool.rules import Column, Table

SYS_SCHEMA, INFO_SCHEMA = "tsql_sys", "tsql_info"
BUILTIN_SCHEMAS = {"dbo": 1, "guest": 2, "INFORMATION_SCHEMA": 3, "sys": 4}

SYS_COLUMNS: dict[str, tuple[str, ...]] = {
    "databases": ("name", "database_id", "collation_name", "is_read_committed_snapshot_on"),
    "schemas": ("name", "schema_id", "principal_id"),
    "tables": ("name", "object_id", "principal_id", "schema_id", "parent_object_id", "type",
               "type_desc", "create_date", "modify_date"),
    "columns": ("object_id", "name", "column_id", "system_type_id", "user_type_id",
                "max_length", "precision", "scale", "collation_name", "is_nullable",
                "is_identity", "is_masked"),
    "indexes": ("object_id", "name", "index_id", "type", "type_desc", "is_unique",
                "is_primary_key"),
    "masked_columns": ("object_id", "name", "column_id", "is_masked", "masking_function"),
}
INFO_COLUMNS: dict[str, tuple[str, ...]] = {
    "TABLES": ("TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "TABLE_TYPE"),
    "COLUMNS": ("TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "COLUMN_NAME",
                "ORDINAL_POSITION", "COLUMN_DEFAULT", "IS_NULLABLE", "DATA_TYPE",
                "CHARACTER_MAXIMUM_LENGTH", "CHARACTER_OCTET_LENGTH", "NUMERIC_PRECISION",
                "NUMERIC_SCALE", "DATETIME_PRECISION", "COLLATION_NAME"),
    "SCHEMATA": ("CATALOG_NAME", "SCHEMA_NAME", "SCHEMA_OWNER"),
}
_DDL = {
    "databases": "name VARCHAR, database_id INTEGER, collation_name VARCHAR, "
                 "is_read_committed_snapshot_on BOOLEAN",
    "schemas": "name VARCHAR, schema_id INTEGER, principal_id INTEGER",
    "tables": "name VARCHAR, object_id BIGINT, principal_id INTEGER, schema_id INTEGER, "
              "parent_object_id BIGINT, type VARCHAR, type_desc VARCHAR, create_date TIMESTAMP, "
              "modify_date TIMESTAMP",
    "columns": "object_id BIGINT, name VARCHAR, column_id INTEGER, system_type_id INTEGER, "
               "user_type_id INTEGER, max_length SMALLINT, precision TINYINT, scale TINYINT, "
               "collation_name VARCHAR, is_nullable BOOLEAN, is_identity BOOLEAN, "
               "is_masked BOOLEAN, type_name VARCHAR",
    "indexes": "object_id BIGINT, name VARCHAR, index_id INTEGER, type TINYINT, "
               "type_desc VARCHAR, is_unique BOOLEAN, is_primary_key BOOLEAN",
    "masked_columns": "object_id BIGINT, name VARCHAR, column_id INTEGER, is_masked BOOLEAN, "
                      "masking_function VARCHAR",
    "TABLES": '"TABLE_CATALOG" VARCHAR, "TABLE_SCHEMA" VARCHAR, "TABLE_NAME" VARCHAR, '
              '"TABLE_TYPE" VARCHAR',
    "COLUMNS": '"TABLE_CATALOG" VARCHAR, "TABLE_SCHEMA" VARCHAR, "TABLE_NAME" VARCHAR, '
               '"COLUMN_NAME" VARCHAR, "ORDINAL_POSITION" INTEGER, "COLUMN_DEFAULT" VARCHAR, '
               '"IS_NULLABLE" VARCHAR, "DATA_TYPE" VARCHAR, "CHARACTER_MAXIMUM_LENGTH" INTEGER, '
               '"CHARACTER_OCTET_LENGTH" INTEGER, "NUMERIC_PRECISION" TINYINT, '
               '"NUMERIC_SCALE" INTEGER, "DATETIME_PRECISION" SMALLINT, "COLLATION_NAME" VARCHAR',
    "SCHEMATA": '"CATALOG_NAME" VARCHAR, "SCHEMA_NAME" VARCHAR, "SCHEMA_OWNER" VARCHAR',
}
TYPE_IDS = {"bigint": 127, "int": 56, "smallint": 52, "tinyint": 48, "bit": 104, "float": 62,
            "real": 59, "date": 40, "datetime": 61, "smalldatetime": 58, "money": 60,
            "smallmoney": 122, "uniqueidentifier": 36, "datetime2": 42, "datetimeoffset": 43,
            "time": 41, "decimal": 106, "numeric": 108, "nvarchar": 231, "nchar": 239,
            "varchar": 167, "char": 175, "varbinary": 165, "binary": 173}
INDEX_TYPES = {"HEAP": (0, 0), "CLUSTERED INDEX": (1, 1), "CLUSTERED COLUMNSTORE INDEX": (1, 5)}


class Catalog:
    """Schemas and tables (Python side, authoritative) and their DuckDB mirror."""

    def __init__(self, db: duckdb.DuckDBPyConnection, *, database: str, collation: str,
                 case_sensitive: bool, rcsi: bool, masked_columns_view: bool) -> None:
        self.database, self.collation, self.cs = database, collation, case_sensitive
        self.masked_view = masked_columns_view
        self.schemas: dict[str, int] = {}
        self.tables: dict[tuple[str, str], Table] = {}
        self._next_schema, self._next_object = 5, 100_000_000
        self._setup(db, rcsi)
        self._load(db)

    def _setup(self, db: duckdb.DuckDBPyConnection, rcsi: bool) -> None:
        db.execute(f"CREATE SCHEMA IF NOT EXISTS {SYS_SCHEMA}")
        db.execute(f"CREATE SCHEMA IF NOT EXISTS {INFO_SCHEMA}")
        db.execute('CREATE SCHEMA IF NOT EXISTS "dbo"')
        for name, ddl in _DDL.items():
            if name == "masked_columns" and not self.masked_view:
                db.execute(f"DROP TABLE IF EXISTS {SYS_SCHEMA}.masked_columns")
                continue
            where = INFO_SCHEMA if name.isupper() else SYS_SCHEMA
            db.execute(f'CREATE TABLE IF NOT EXISTS {where}."{name}" ({ddl})')
        db.execute(f"DELETE FROM {SYS_SCHEMA}.databases")
        db.execute(f"INSERT INTO {SYS_SCHEMA}.databases VALUES (?, 5, ?, ?)",
                   [self.database, self.collation, rcsi])
        eq = "=" if self.cs else "ILIKE"  # a CI database compares names case-insensitively
        db.execute(f"CREATE OR REPLACE MACRO tsql_db_name() AS '{self.database}'")
        db.execute(f"CREATE OR REPLACE MACRO tsql_schema_name(sid) AS "
                   f"(SELECT name FROM {SYS_SCHEMA}.schemas WHERE schema_id = sid)")
        db.execute(f"CREATE OR REPLACE MACRO tsql_schema_id(sname) AS "
                   f"(SELECT schema_id FROM {SYS_SCHEMA}.schemas WHERE name {eq} sname)")
        parts = "string_split(replace(replace(replace(obj_name, '[', ''), ']', ''), '\"', ''), '.')"
        db.execute(
            "CREATE OR REPLACE MACRO tsql_object_id(obj_name, obj_type := NULL) AS "
            f"(SELECT t.object_id FROM {SYS_SCHEMA}.tables AS t JOIN {SYS_SCHEMA}.schemas AS s "
            f"ON s.schema_id = t.schema_id WHERE t.name {eq} list_extract({parts}, -1) "
            f"AND s.name {eq} CASE WHEN len({parts}) > 1 THEN list_extract({parts}, -2) "
            "ELSE 'dbo' END AND (obj_type IS NULL OR trim(obj_type) = trim(t.type)))")
        db.execute("CREATE OR REPLACE MACRO sysutcdatetime() AS now()::TIMESTAMP")
        # nvarchar(n) counts UTF-16 code units: characters, plus one per astral character.
        db.execute("CREATE OR REPLACE MACRO tsql_utf16_len(s) AS length(s) + "
                   "length(regexp_replace(s, '[\\x{0000}-\\x{FFFF}]', '', 'g'))")

    def _load(self, db: duckdb.DuckDBPyConnection) -> None:
        """A database file reopened (crash tests): the catalog comes back from the mirror."""
        import json

        rows = db.execute(f"SELECT name, schema_id FROM {SYS_SCHEMA}.schemas").fetchall()
        if not rows:
            for name, sid in BUILTIN_SCHEMAS.items():
                self._insert_schema(db, name, sid)
            db.execute("CREATE TABLE IF NOT EXISTS tsql_sys.standin_tables "
                       "(object_id BIGINT, definition VARCHAR)")
            return
        self.schemas = dict(rows)
        self._next_schema = max(self.schemas.values()) + 1
        stored = db.execute("SELECT definition FROM tsql_sys.standin_tables").fetchall()
        for (definition,) in stored:
            data = json.loads(definition)
            data["columns"] = [Column(**c) for c in data["columns"]]
            data["index_columns"] = tuple(data["index_columns"])
            table = Table(**data)
            self.tables[(table.schema, table.name)] = table
            self._next_object = max(self._next_object, table.object_id + 1)

    # -- lookups ---------------------------------------------------------------------------
    def same(self, a: str, b: str) -> bool:
        return a == b if self.cs else a.lower() == b.lower()

    def schema(self, name: str) -> str | None:
        return next((s for s in self.schemas if self.same(s, name)), None)

    def table(self, schema: str, name: str) -> Table | None:
        if not self.cs:
            return next((t for (s, n), t in self.tables.items()
                         if s.lower() == schema.lower() and n.lower() == name.lower()), None)
        return self.tables.get((schema, name))

    # -- changes ---------------------------------------------------------------------------
    def _insert_schema(self, db: duckdb.DuckDBPyConnection, name: str, sid: int) -> None:
        self.schemas[name] = sid
        db.execute(f"INSERT INTO {SYS_SCHEMA}.schemas VALUES (?, ?, 1)", [name, sid])
        db.execute(f"INSERT INTO {INFO_SCHEMA}.SCHEMATA VALUES (?, ?, 'dbo')",
                   [self.database, name])

    def add_schema(self, db: duckdb.DuckDBPyConnection, name: str) -> None:
        self._insert_schema(db, name, self._next_schema)
        self._next_schema += 1

    def drop_schema(self, db: duckdb.DuckDBPyConnection, name: str) -> None:
        del self.schemas[name]
        db.execute(f"DELETE FROM {SYS_SCHEMA}.schemas WHERE name = ?", [name])
        db.execute(f'DELETE FROM {INFO_SCHEMA}."SCHEMATA" WHERE "SCHEMA_NAME" = ?', [name])

    def put_table(self, db: duckdb.DuckDBPyConnection, table: Table) -> None:
        """Add or replace a table's rows in every catalog table."""
        import dataclasses
        import json

        if not table.object_id:
            table.object_id = self._next_object
            self._next_object += 1
        self.tables[(table.schema, table.name)] = table
        self._delete_rows(db, table)
        oid, sid = table.object_id, self.schemas[table.schema]
        db.execute(f"INSERT INTO {SYS_SCHEMA}.tables VALUES (?, ?, NULL, ?, 0, 'U ', "
                   "'USER_TABLE', now()::TIMESTAMP, now()::TIMESTAMP)", [table.name, oid, sid])
        index_id, index_type = INDEX_TYPES[table.index]
        db.execute(f"INSERT INTO {SYS_SCHEMA}.indexes VALUES (?, ?, ?, ?, ?, false, false)",
                   [oid, None if table.index == "HEAP" else f"ClusteredIndex_{oid}", index_id,
                    index_type, table.index.removesuffix(" INDEX")])
        db.execute(f"INSERT INTO {INFO_SCHEMA}.\"TABLES\" VALUES (?, ?, ?, 'BASE TABLE')",
                   [self.database, table.schema, table.name])
        insert(db, f"{SYS_SCHEMA}.columns",
               [self._sys_column(oid, i, c, table) for i, c in enumerate(table.columns)])
        insert(db, f'{INFO_SCHEMA}."COLUMNS"',
               [self._info_column(i, c, table) for i, c in enumerate(table.columns)])
        if self.masked_view and table.masks:
            insert(db, f"{SYS_SCHEMA}.masked_columns",
                   [[oid, c.name, i + 1, True, table.masks[c.name]]
                    for i, c in enumerate(table.columns) if c.name in table.masks])
        definition = dataclasses.asdict(table)
        db.execute("INSERT INTO tsql_sys.standin_tables VALUES (?, ?)",
                   [oid, json.dumps(definition)])

    def drop_table(self, db: duckdb.DuckDBPyConnection, table: Table) -> None:
        del self.tables[(table.schema, table.name)]
        self._delete_rows(db, table)

    def _delete_rows(self, db: duckdb.DuckDBPyConnection, table: Table) -> None:
        for name in ("tables", "columns", "indexes") + (("masked_columns",)
                                                        if self.masked_view else ()):
            db.execute(f"DELETE FROM {SYS_SCHEMA}.{name} WHERE object_id = ?", [table.object_id])
        db.execute("DELETE FROM tsql_sys.standin_tables WHERE object_id = ?", [table.object_id])
        for view in ("TABLES", "COLUMNS"):
            db.execute(f'DELETE FROM {INFO_SCHEMA}."{view}" WHERE "TABLE_SCHEMA" = ? '
                       'AND "TABLE_NAME" = ?', [table.schema, table.name])

    def _sys_column(self, oid: int, i: int, c: Column, table: Table) -> list[Any]:
        return [oid, c.name, i + 1, TYPE_IDS[c.type], TYPE_IDS[c.type], c.max_bytes(),
                c.precision or 0, c.scale or 0, self._collation(c), c.nullable, c.identity,
                c.name in table.masks, c.type]

    def _info_column(self, i: int, c: Column, table: Table) -> list[Any]:
        chars = c.chars()
        octets = None if chars is None else -1 if chars == -1 else c.max_bytes()
        return [self.database, table.schema, table.name, c.name, i + 1, c.default,
                "YES" if c.nullable else "NO", c.type, chars, octets,
                c.precision if c.type in ("decimal", "numeric") else None,
                c.scale if c.type in ("decimal", "numeric") else None,
                c.precision if c.type in ("datetime2", "time", "datetimeoffset") else None,
                self._collation(c)]

    def _collation(self, c: Column) -> str | None:
        if c.type in ("nvarchar", "nchar", "varchar", "char"):
            return c.collation or self.collation
        return None


def _sql(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def insert(db: duckdb.DuckDBPyConnection, table: str, rows: list[list[Any]]) -> None:
    """Rows as one multi-row INSERT (DuckDB's executemany is far slower)."""
    if rows:
        values = ", ".join("(" + ", ".join(_sql(v) for v in row) + ")" for row in rows)
        db.execute(f"INSERT INTO {table} VALUES {values}")
