"""dlt's SqlClientBase over any DB-API connection to a dedicated SQL pool.

dlt's own mssql/synapse client imports pyodbc at module level and binds parameters through
the driver; ours takes a `connect()` callable (mssql-python, pyodbc, or the test suite's
pool stand-in) and differs in three Synapse-specific ways:
- parameters become T-SQL literals before a statement is sent (`inline`). dlt passes few
  and small ones, except the schema JSON into `_dlt_version`, which drivers bind as the
  legacy `ntext` type that Synapse refuses — and mssql-python cannot set ODBC's LongAsMax.
- every statement runs through retry.py's transient-error retries (outside transactions;
  inside one, the failure dooms the transaction and the caller must start over).
- errors reach dlt as its terminal/transient exception types with one redacted line.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, AnyStr

from dlt.common.destination import DestinationCapabilitiesContext
from dlt.common.destination.dataset import DBApiCursor
from dlt.destinations.exceptions import (
    DatabaseTerminalException,
    DatabaseTransientException,
    DatabaseUndefinedRelation,
)
from dlt.destinations.sql_client import DBApiCursorImpl, SqlClientBase, raise_database_error
from dlt.destinations.typing import DBTransaction

from zoomsync.destinations.synapse.driver import with_retries
from zoomsync.destinations.synapse.names import literal
from zoomsync.destinations.synapse.retry import Classification, classify_exception
from zoomsync.destinations.synapse.stage import redact

log = logging.getLogger("zoomsync.synapse.sql")


def inline(sql: str, args: Sequence[Any]) -> str:
    """`sql` with each `%s` replaced by the matching argument as a T-SQL literal."""
    if not args:
        return sql
    return sql % tuple(_literal(a) for a in args)


def _literal(value: Any) -> str:
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
    return "N" + literal(str(value))


class SynapseSqlClient(SqlClientBase[Any], DBTransaction):
    """Statements one at a time, in autocommit unless between BEGIN and COMMIT/ROLLBACK
    (sent through `begin_transaction` or as statements, as plan.run_family does)."""

    def __init__(self, dataset_name: str, staging_dataset_name: str,
                 capabilities: DestinationCapabilitiesContext,
                 connect: Callable[[], Any], database: str | None = None) -> None:
        super().__init__(database, dataset_name, staging_dataset_name, capabilities)
        self._connect = connect
        self._conn: Any = None
        self._in_transaction = False

    def open_connection(self) -> Any:
        self._conn = self._connect()
        return self._conn

    def close_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    @property
    def native_connection(self) -> Any:
        return self._conn

    @contextmanager
    def begin_transaction(self) -> Iterator[DBTransaction]:
        self.execute_sql("BEGIN TRANSACTION")
        try:
            yield self
            self.commit_transaction()
        except Exception:
            self.rollback_transaction()
            raise

    def commit_transaction(self) -> None:
        self.execute_sql("COMMIT TRANSACTION")

    def rollback_transaction(self) -> None:
        try:
            self.execute_sql("IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION")
        except Exception as exc:  # the connection may be gone, and the transaction with it
            log.warning("rollback failed: %s", redact(str(exc))[:200])

    def has_dataset(self) -> bool:
        rows = self.execute_sql("SELECT 1 FROM sys.schemas WHERE name = %s", self.dataset_name)
        return bool(rows)

    def create_dataset(self) -> None:
        self.execute_sql(f"CREATE SCHEMA {self.fully_qualified_dataset_name()}")

    def drop_dataset(self) -> None:
        if not self.has_dataset():
            raise DatabaseUndefinedRelation(f"schema {self.dataset_name} does not exist")
        rows = self.execute_sql("SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES "
                                "WHERE TABLE_SCHEMA = %s", self.dataset_name) or []
        self.drop_tables(*(r[0] for r in rows))
        self.execute_sql(f"DROP SCHEMA {self.fully_qualified_dataset_name()}")

    def drop_tables(self, *tables: str) -> None:
        # Dedicated pools refuse DROP TABLE IF EXISTS.
        for table in tables:
            name = self.make_qualified_table_name(table)
            self.execute_sql(f"IF OBJECT_ID({literal(name)}, 'U') IS NOT NULL DROP TABLE {name}")

    def truncate_tables(self, *tables: str) -> None:
        for table in tables:
            self.execute_sql(f"DELETE FROM {self.make_qualified_table_name(table)}")

    def execute_sql(self, sql: AnyStr, *args: Any, **kwargs: Any) -> Sequence[Sequence[Any]] | None:
        with self.execute_query(sql, *args, **kwargs) as cursor:
            if cursor.description is None:
                return None
            return cursor.fetchall()

    @contextmanager
    @raise_database_error
    def execute_query(self, query: AnyStr, *args: Any, **kwargs: Any) -> Iterator[DBApiCursor]:
        assert isinstance(query, str)
        if kwargs:
            raise NotImplementedError("named parameters are not supported")
        sql = inline(query, args)
        log.debug("synapse: %s", redact(sql)[:500])
        cursors: list[Any] = []

        def run() -> None:
            cursors.append(self._conn.cursor())
            cursors[-1].execute(sql)

        def reconnect(classification: Classification) -> None:
            # A lost connection (SQLSTATE class 08) is gone for good: retry on a new one.
            if (classification.sqlstate or "").startswith("08"):
                with contextlib.suppress(Exception):
                    self._conn.close()
                self._conn = self._connect()

        head = sql.lstrip()[:40].upper()
        ends = head.startswith(("COMMIT", "ROLLBACK", "IF @@TRANCOUNT > 0 ROLLBACK"))
        try:
            if self._in_transaction or ends:
                # Inside a transaction a failure dooms it, and a retry on a new connection
                # would run the rest outside it: the caller must start the family over.
                try:
                    run()
                finally:
                    if ends:
                        self._in_transaction = False
            else:
                with_retries(run, what="a statement", before_retry=reconnect)
                if head.startswith("BEGIN TRAN"):
                    self._in_transaction = True
            yield DBApiCursorImpl(cursors[-1])
        finally:
            for cursor in cursors:
                with contextlib.suppress(Exception):
                    cursor.close()

    def execute(self, sql: str) -> Sequence[Sequence[Any]]:
        """plan.run_family's executor: rows, or [] for a statement without a result."""
        return self.execute_sql(sql) or []

    @staticmethod
    def _make_database_exception(ex: Exception) -> Exception:
        if isinstance(ex, DatabaseTerminalException | DatabaseTransientException):
            return ex
        classification = classify_exception(ex)
        text = redact(" ".join(str(getattr(ex, "ddbc_error", "") or ex).split()))[:300]
        if classification.hint:
            text += f" ({classification.hint})"
        if classification.number in (208, 2706, 15151) or "Invalid object name" in text:
            return DatabaseUndefinedRelation(Exception(text))
        if classification.transient:
            return DatabaseTransientException(Exception(text))
        return DatabaseTerminalException(Exception(text))

    @staticmethod
    def is_dbapi_exception(ex: Exception) -> bool:
        return hasattr(ex, "args") and type(ex).__module__.split(".")[0] in (
            "mssql_python", "pyodbc", "duckdb")

    def _limit_clause_sql(self, limit: int) -> tuple[str, str]:
        return f"TOP ({limit})", ""
