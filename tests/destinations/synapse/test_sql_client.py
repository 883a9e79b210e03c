"""dlt's SQL client over a DB-API connection: retries on a lost connection reconnect; inside
a transaction nothing is retried; errors reach dlt as its exception types, redacted."""

from __future__ import annotations

import pytest
from dlt.destinations.exceptions import (
    DatabaseTerminalException,
    DatabaseTransientException,
    DatabaseUndefinedRelation,
)

from zoomsync.destinations.synapse.factory import SynapseLoaderDestination
from zoomsync.destinations.synapse.sql_client import SynapseSqlClient


class Cursor:
    def __init__(self, conn: Connection) -> None:
        self.conn, self.description, self.rows = conn, None, []

    def execute(self, sql: str) -> None:
        self.conn.pool.statements.append((self.conn.number, sql))
        if self.conn.pool.errors:
            raise self.conn.pool.errors.pop(0)
        self.description = [("x",)]
        self.rows = [(1,)]

    def fetchall(self) -> list[tuple[int]]:
        return self.rows

    def close(self) -> None:
        pass


class Connection:
    def __init__(self, pool: Pool, number: int) -> None:
        self.pool, self.number, self.closed = pool, number, False

    def cursor(self) -> Cursor:
        return Cursor(self)

    def close(self) -> None:
        self.closed = True


class Pool:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.statements: list[tuple[int, str]] = []
        self.connections: list[Connection] = []

    def connect(self) -> Connection:
        self.connections.append(Connection(self, len(self.connections)))
        return self.connections[-1]


def client(pool: Pool) -> SynapseSqlClient:
    caps = SynapseLoaderDestination.__new__(SynapseLoaderDestination)._raw_capabilities()
    sql = SynapseSqlClient("zoom", "zoom_staging", caps, pool.connect)
    sql.open_connection()
    return sql


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("zoomsync.destinations.synapse.driver.time.sleep", lambda _s: None)


def lost() -> Exception:
    return RuntimeError("08S01", "[Microsoft]Communication link failure")


def test_a_lost_connection_is_retried_on_a_new_one() -> None:
    pool = Pool(lost())
    assert client(pool).execute_sql("SELECT 1") == [(1,)]
    assert pool.statements == [(0, "SELECT 1"), (1, "SELECT 1")]
    assert pool.connections[0].closed


def test_nothing_is_retried_inside_a_transaction() -> None:
    pool = Pool()
    sql = client(pool)
    with pytest.raises(DatabaseTransientException), sql.begin_transaction():
        pool.errors.append(lost())
        sql.execute_sql("DELETE FROM [zoom].[users]")
    assert [s for _, s in pool.statements] == [
        "BEGIN TRANSACTION", "DELETE FROM [zoom].[users]",
        "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION"]


@pytest.mark.parametrize(("error", "kind"), [
    (RuntimeError("42S02", "Invalid object name 'zoom.x'. (208)"), DatabaseUndefinedRelation),
    (RuntimeError("42000", "User does not have permission (229)"), DatabaseTerminalException),
])
def test_errors_become_dlt_exceptions_with_one_redacted_line(error: Exception,
                                                             kind: type[Exception]) -> None:
    with pytest.raises(kind) as caught:
        client(Pool(error)).execute_sql("COPY INTO x FROM 'u' WITH (CREDENTIAL = "
                                        "(IDENTITY = 'Storage Account Key', SECRET = 'k=='))")
    assert "k==" not in str(caught.value)


def test_permission_errors_carry_the_hint() -> None:
    with pytest.raises(DatabaseTerminalException, match="grants a loader needs"):
        client(Pool(RuntimeError("42000", "permission denied (229)"))).execute_sql("SELECT 1")


def test_parameters_are_sent_as_literals() -> None:
    pool = Pool()
    client(pool).execute_sql("SELECT %s, %s", "a'b", None)
    assert pool.statements == [(0, "SELECT N'a''b', NULL")]


def test_a_transaction_begun_by_statement_is_never_retried_on_a_new_connection() -> None:
    """plan.run_family sends BEGIN/COMMIT as statements: a connection lost in between must
    fail the family (to be redone whole), not continue in autocommit on a new connection."""
    pool = Pool()
    sql = client(pool)
    sql.execute("BEGIN TRANSACTION")
    pool.errors.append(lost())
    with pytest.raises(DatabaseTransientException):
        sql.execute("DELETE FROM [zoom].[users]")
    assert len(pool.connections) == 1  # no reconnect, no retry
    sql.execute("ROLLBACK TRANSACTION")
    pool.errors.append(lost())
    assert sql.execute("SELECT 1") == [(1,)]  # autocommit again: retried on a new connection
    assert len(pool.connections) == 2
