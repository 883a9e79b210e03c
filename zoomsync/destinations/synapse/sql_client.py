"""dlt's SqlClientBase over any DB-API connection to a dedicated SQL pool.

dlt's own mssql/synapse client imports pyodbc at module level and binds parameters through
the driver; ours takes a `connect()` callable (mssql-python, pyodbc, or the test suite's
pool stand-in) and differs in three Synapse-specific ways:
- parameters become T-SQL literals before a statement is sent (`inline`). dlt passes few
  and small ones, except the schema JSON into `_dlt_version`, which drivers bind as the
  legacy `ntext` type that Synapse refuses — and mssql-python cannot set ODBC's LongAsMax.
- a statement is retried on its own after a transient error only when repeating it is
  safe (`repeatable`): reads, and DDL whose first attempt may already have taken effect
  ("already exists" on the retry then means done). COPY INTO and DML are never retried
  alone: a COPY that committed before the connection dropped would stage its rows twice.
  The job client redoes a whole family load instead (plan.py), which the ledger makes
  exactly once; inside a transaction a failure dooms it and the caller starts over.
- errors reach dlt as its terminal/transient exception types with one redacted line.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, AnyStr, cast

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
from zoomsync.destinations.synapse.names import literal, sql_value
from zoomsync.destinations.synapse.retry import Classification, classify_exception
from zoomsync.destinations.synapse.stage import redact
from zoomsync.failures import clip

log = logging.getLogger("zoomsync.synapse.sql")


def inline(sql: str, args: Sequence[Any]) -> str:
    """`sql` with each `%s` replaced by the matching argument as a T-SQL literal."""
    if not args:
        return sql
    return sql % tuple(sql_value(a) for a in args)


# Errors a repeated DDL statement gets when its first attempt took effect: an object (a
# table or schema) already exists (2714), a column is already there (2705).
# https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-2000-to-2999
DONE_ALREADY = frozenset({2714, 2705})
_READS = ("SELECT ", "SELECT\n", "WITH ")
_GUARDED_DROP = re.compile(r"^IF OBJECT_ID\(.*\) IS NOT NULL DROP TABLE ", re.DOTALL)
_DDL = re.compile(r"^(CREATE (SCHEMA|TABLE) |ALTER TABLE \S+ (ADD |ALTER COLUMN \S+ ADD MASKED))",
                  re.IGNORECASE)


def repeatable(sql: str) -> str | None:
    """How a statement may be retried on its own: "read" (runs again as it is), "ddl"
    (runs again; "already exists" then means the first attempt took effect), or None
    (never alone: COPY INTO appends, DML may have committed)."""
    text = sql.lstrip()
    if text.upper().startswith(_READS) and " INTO " not in text.upper().split(" FROM ")[0]:
        return "read"
    if _GUARDED_DROP.match(text):
        return "read"
    if _DDL.match(text):
        return "ddl"
    return None


class _NoResult:
    """The cursor of a statement found done already: no rows."""

    description = None

    def close(self) -> None:
        pass


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
        """Run one statement. `repeatable=True` marks a statement the caller made safe to
        repeat (an idempotent insert), so it is retried like a read."""
        assert isinstance(query, str)
        marked = bool(kwargs.pop("repeatable", False))
        if kwargs:
            raise NotImplementedError("named parameters are not supported")
        sql = inline(query, args)
        log.debug("synapse: %s", redact(sql)[:500])
        kind = "read" if marked else repeatable(sql)
        cursors: list[Any] = []
        done_before: list[int] = []

        def run() -> None:
            cursors.append(self._conn.cursor())
            try:
                cursors[-1].execute(sql)
            except Exception as exc:
                number = classify_exception(exc).number
                if len(cursors) > 1 and kind == "ddl" and number in DONE_ALREADY:
                    # The attempt the connection dropped under had taken effect.
                    log.info("synapse: %s took effect before the connection dropped",
                             sql.split("(")[0][:80])
                    done_before.append(number or 0)
                    return
                raise

        def reconnect(classification: Classification) -> None:
            # A lost connection (SQLSTATE class 08) is gone for good: retry on a new one.
            if (classification.sqlstate or "").startswith("08"):
                self.reconnect()

        head = sql.lstrip()[:40].upper()
        ends = head.startswith(("COMMIT", "ROLLBACK", "IF @@TRANCOUNT > 0 ROLLBACK"))
        try:
            if self._in_transaction or ends or kind is None:
                # Inside a transaction a failure dooms it, and a retry on a new connection
                # would run the rest outside it; a COPY or DML statement may have taken
                # effect before the error. Either way the caller must start over.
                try:
                    run()
                finally:
                    if ends:
                        self._in_transaction = False
            else:
                with_retries(run, what="a statement", before_retry=reconnect)
            if head.startswith("BEGIN TRAN"):
                self._in_transaction = True
            yield DBApiCursorImpl(cast(Any, _NoResult()) if done_before else cursors[-1])
        finally:
            for cursor in cursors:
                with contextlib.suppress(Exception):
                    cursor.close()

    def reconnect(self) -> None:
        """A new connection in place of one that failed; its transaction, if any, is gone."""
        with contextlib.suppress(Exception):
            self._conn.close()
        self._in_transaction = False
        self._conn = self._connect()

    def execute(self, sql: str) -> Sequence[Sequence[Any]]:
        """plan.run_family's executor: rows, or [] for a statement without a result."""
        return self.execute_sql(sql) or []

    @staticmethod
    def _make_database_exception(ex: Exception) -> Exception:
        if isinstance(ex, DatabaseTerminalException | DatabaseTransientException):
            return ex
        classification = classify_exception(ex)
        # Capped in the middle: the server's reason follows ODBC's long prefixes.
        text = clip(redact(" ".join(str(getattr(ex, "ddbc_error", "") or ex).split())))
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
