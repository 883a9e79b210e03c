"""A dedicated-SQL-pool stand-in: the DB-API connection the Synapse destination gets in tests.

Every statement the destination sends arrives here as T-SQL text and runs on one in-memory
DuckDB database:
- DML and queries (the merge, ledger checks, dlt's `_dlt_*` statements) are transpiled by
  sqlglot from T-SQL to DuckDB (tsql.py bridges `IF OBJECT_ID ... DROP TABLE`);
- CREATE TABLE / ALTER TABLE ADD are translated column by column (DuckDB has neither
  distributions nor collations, and sqlglot maps T-SQL `bit`/`float` to DuckDB types that
  mean something else); the WITH (DISTRIBUTION ..., index) clause is recorded, not applied;
- ADD MASKED is recorded (DuckDB has no masking);
- COPY INTO reads what the pool would: it lists the folder and GETs each Parquet file over
  HTTP from Azurite with the statement's own SAS — a wrong or expired SAS fails the COPY as
  it would on Synapse — refuses the Parquet types COPY documents as unsupported (MICROS or
  NANOS timestamps, TIME), and inserts the rows by column position, as COPY does.
- a dropped connection can be injected before any statement (`fail_before`); a test may
  also kill the process there (the database can live in a file for the rerun).

What this proves: the SQL the destination sends is coherent end to end (DDL, staging, COPY
credential and location, merge, ledger, dlt's state tables) and the rows that result are
right. What only a real pool proves: T-SQL acceptance by Synapse itself, collations,
distributions, transaction isolation, COPY's own Parquet type mapping, driver behaviour.
"""

from __future__ import annotations

import re
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import httpx

from tests.destinations.synapse.tsql import to_duckdb

AZURE_HOST = re.compile(r"^https://([a-z0-9]+)\.(?:blob|dfs)\.core\.windows\.net/")
_COPY = re.compile(r"^COPY INTO (\S+)\nFROM (.+)\nWITH \((.*)\)$", re.DOTALL)
_SECRET = re.compile(r"SECRET = '((?:[^']|'')*)'")
_CREATE = re.compile(r"^CREATE TABLE (\S+) \(\n(.*)\n\)\n(WITH \(.*\))$", re.DOTALL)
_ALTER_ADD = re.compile(r"^ALTER TABLE (\S+) ADD (.*)$", re.DOTALL)
_COLUMN = re.compile(r"^\s*(\[(?:[^\]]|\]\])+\]) (\w+(?:\([^)]*\))?)(?: COLLATE \w+)? "
                     r"(NULL|NOT NULL)\s*$")
_MASK = re.compile(r"^ALTER TABLE (\[[^\]]+\])\.(\[[^\]]+\]) ALTER COLUMN (\[[^\]]+\]) ADD MASKED")
TYPES = {"nvarchar": "VARCHAR", "varchar": "VARCHAR", "bit": "BOOLEAN", "float": "DOUBLE",
         "datetime2": "TIMESTAMP", "varbinary": "BLOB", "bigint": "BIGINT", "int": "INTEGER",
         "smallint": "SMALLINT", "date": "DATE", "decimal": "DECIMAL"}


class PoolError(Exception):
    """An error worded as the ODBC driver words Synapse's: SQLSTATE, message, (number)."""


class PoolStandIn:
    """One database; `connect()` gives DB-API connections to it (one per dlt job client)."""

    def __init__(self, blob_url: str, path: str = ":memory:") -> None:
        self.blob_url = blob_url.rstrip("/")  # Azurite: http://127.0.0.1:PORT/devstoreaccount1
        self.db = duckdb.connect(path)
        self.db.execute("CREATE OR REPLACE MACRO sysutcdatetime() AS now()::TIMESTAMP")
        self.lock = threading.RLock()  # one transaction (or statement) at a time, like a load
        self.log: list[str] = []
        self.layouts: dict[str, str] = {}
        self.masks: list[str] = []
        self.copies: list[tuple[str, int]] = []
        self.fail_before: Callable[[str], bool] | None = None

    def connect(self) -> Connection:
        return Connection(self)

    def execute(self, db: duckdb.DuckDBPyConnection, sql: str) -> Any:
        self.log.append(sql)
        if self.fail_before and self.fail_before(sql):
            # The connection drops, as when the pool restarts: SQLSTATE 08S01 (transient).
            raise PoolError("[08S01] Communication link failure")
        if sql == "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION":
            try:
                return db.execute("ROLLBACK")
            except duckdb.TransactionException:
                return db.execute("SELECT 1 WHERE false")
        if "ADD MASKED WITH" in sql:
            self.masks.append(sql)
            return db.execute("SELECT 1 WHERE false")
        if "FROM sys.masked_columns" in sql:  # DuckDB has no masks: answer from the record
            found = re.search(r"SCHEMA_NAME\(t.schema_id\) = '([^']+)'", sql)
            schema = found.group(1) if found else ""
            pairs = [m.groups() for m in map(_MASK.match, self.masks)
                     if m and m.group(1) == f"[{schema}]"]
            values = ", ".join(f"('{t[1:-1]}', '{c[1:-1]}')" for _, t, c in pairs)
            return db.execute(f"SELECT * FROM (VALUES {values}) AS m(t, c)" if values
                              else "SELECT NULL AS t, NULL AS c WHERE false")
        if match := _CREATE.match(sql):
            self.layouts[match.group(1)] = match.group(3)
            columns = ", ".join(_column(c) for c in match.group(2).split(",\n"))
            return db.execute(f"CREATE TABLE {_ident(match.group(1))} ({columns})")
        if match := _ALTER_ADD.match(sql):
            table = _ident(match.group(1))
            for column in re.split(r", (?=\[)", match.group(2)):
                db.execute(f"ALTER TABLE {table} ADD COLUMN {_column(column)}")
            return db.execute("SELECT 1 WHERE false")
        if match := _COPY.match(sql):
            return self.copy(db, match.group(1), match.group(2), match.group(3))
        sql = sql.replace("FROM sys.schemas WHERE name =",
                          "FROM information_schema.schemata WHERE schema_name =")
        return db.execute(to_duckdb(sql))

    def copy(self, db: duckdb.DuckDBPyConnection, target: str, sources: str,
             options: str) -> Any:
        secret = _SECRET.search(options)
        sas = secret.group(1).replace("''", "'") if secret else ""
        urls = [u.strip().strip("'") for u in sources.split(", ")]
        with tempfile.TemporaryDirectory(prefix="standin-copy-") as tmp, httpx.Client() as http:
            files: list[str] = []
            for url in urls:
                for i, blob in enumerate(self._expand(http, url, sas)):
                    response = http.get(f"{blob}?{sas}")
                    if response.status_code != 200:
                        raise RuntimeError(f"COPY INTO: cannot read {blob}: HTTP "
                                           f"{response.status_code} (like Msg 105200)")
                    path = Path(tmp) / f"{len(files)}-{i}.parquet"
                    path.write_bytes(response.content)
                    _check_parquet_types(str(path), blob)
                    files.append(str(path))
            if not files:
                raise RuntimeError("COPY INTO: no files found at the location (Msg 105200)")
            listing = ", ".join(f"'{f}'" for f in files)
            before = db.execute(f"SELECT COUNT(*) FROM {_ident(target)}").fetchone()[0]
            db.execute(f"INSERT INTO {_ident(target)} SELECT * FROM read_parquet([{listing}])")
            after = db.execute(f"SELECT COUNT(*) FROM {_ident(target)}").fetchone()[0]
        self.copies.append((target, after - before))
        return db.execute("SELECT 1 WHERE false")

    def _expand(self, http: httpx.Client, url: str, sas: str) -> list[str]:
        match = AZURE_HOST.match(url)
        assert match, f"COPY location is not an Azure storage URL: {url}"
        path = url[match.end():]
        if not path.endswith("*.parquet"):
            return [f"{self.blob_url}/{path}"]
        container, _, prefix = path.partition("/")
        prefix = prefix.removesuffix("*.parquet")
        response = http.get(f"{self.blob_url}/{container}?restype=container&comp=list"
                            f"&prefix={quote(prefix)}&{sas}")
        if response.status_code != 200:
            raise RuntimeError(f"COPY INTO: cannot list {url}: HTTP {response.status_code}")
        names = [e.text or "" for e in ET.fromstring(response.content).iter("Name")]
        return [f"{self.blob_url}/{container}/{n}" for n in names if n.endswith(".parquet")]

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.db.cursor().execute(sql).fetchall()


def _check_parquet_types(path: str, blob: str) -> None:
    """Refuse what COPY documents as unsupported from Parquet: MICROS/NANOS timestamps and
    TIME columns (https://learn.microsoft.com/azure/synapse-analytics/sql/design-elt-data-loading)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for field in pq.read_schema(path):
        if pa.types.is_timestamp(field.type) and field.type.unit != "ms":
            raise RuntimeError(f"COPY INTO: {blob}: column {field.name} is a Parquet "
                               f"TIMESTAMP in {field.type.unit}; dedicated pools load MILLIS")
        if pa.types.is_time(field.type):
            raise RuntimeError(f"COPY INTO: {blob}: column {field.name} is a Parquet TIME")


def _ident(bracketed: str) -> str:
    return ".".join('"' + p.replace('"', '""') + '"'
                    for p in re.findall(r"\[((?:[^\]]|\]\])+)\]", bracketed))


def _column(text: str) -> str:
    match = _COLUMN.match(text)
    assert match, f"stand-in cannot read column definition {text!r}"
    name, sql_type, null = match.groups()
    base, _, args = sql_type.partition("(")
    duck = TYPES[base.lower()]
    if duck == "DECIMAL" and args:
        duck = f"DECIMAL({args}"
    return f"{_ident(name)} {duck} {null}"


class Connection:
    def __init__(self, pool: PoolStandIn) -> None:
        self.pool = pool
        self.db = pool.db.cursor()
        self.in_transaction = False

    def cursor(self) -> Cursor:
        return Cursor(self)

    def close(self) -> None:
        if self.in_transaction:  # a dropped connection rolls its transaction back
            self.db.execute("ROLLBACK")
            self.in_transaction = False
            self.pool.lock.release()
        self.db.close()


class Cursor:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.description: Any = None
        self._result: Any = None
        self.rowcount = -1

    def execute(self, sql: str) -> None:
        conn, pool = self.connection, self.connection.pool
        starting = sql == "BEGIN TRANSACTION"
        if starting:
            pool.lock.acquire()  # held until COMMIT / ROLLBACK
        with pool.lock:
            try:
                self._result = pool.execute(conn.db, sql)
            except duckdb.CatalogException as exc:
                if starting:
                    pool.lock.release()
                if "does not exist" in str(exc):  # Synapse: Msg 208, SQLSTATE 42S02
                    raise PoolError(f"[42S02] Invalid object name: {exc} (208)") from None
                raise
            except BaseException:
                if starting:
                    pool.lock.release()
                raise
        if starting:
            conn.in_transaction = True
        elif conn.in_transaction and (sql == "COMMIT TRANSACTION" or "ROLLBACK" in sql):
            conn.in_transaction = False
            pool.lock.release()
        self.description = self._result.description if self._result is not None else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._result.fetchall()

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._result.fetchone()

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        return self._result.fetchmany(size)

    def close(self) -> None:
        self._result = None
