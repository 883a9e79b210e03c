"""Connecting: connection strings per authentication and driver, configuration errors,
transient-error retries, and one clear line when mssql-python's system library is missing."""

from __future__ import annotations

import ctypes.util

import pytest

from zoomsync.destinations.synapse import driver
from zoomsync.destinations.synapse.driver import ConnectionConfig, connection_string
from zoomsync.errors import ConfigError, DestinationError

SERVER = "ws.sql.azuresynapse.net"


def config(**kwargs: object) -> ConnectionConfig:
    return ConnectionConfig(**{"server": SERVER, "database": "pool", **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"user": "loader", "password": "p;w}d"},
     f"Server=tcp:{SERVER},1433;Database=pool;Encrypt=yes;TrustServerCertificate=no;"
     "UID=loader;PWD={p;w}}d}"),
    ({"auth": "service-principal", "user": "app-id", "password": "secret"},
     f"Server=tcp:{SERVER},1433;Database=pool;Encrypt=yes;TrustServerCertificate=no;"
     "Authentication=ActiveDirectoryServicePrincipal;UID=app-id;PWD=secret"),
    ({"auth": "managed-identity"},
     f"Server=tcp:{SERVER},1433;Database=pool;Encrypt=yes;TrustServerCertificate=no;"
     "Authentication=ActiveDirectoryMsi"),
    ({"auth": "default"},
     f"Server=tcp:{SERVER},1433;Database=pool;Encrypt=yes;TrustServerCertificate=no;"
     "Authentication=ActiveDirectoryDefault"),
])
def test_mssql_python_connection_strings(kwargs: dict[str, object], expected: str) -> None:
    from mssql_python.connection_string_parser import _ConnectionStringParser

    text = connection_string(config(**kwargs))
    assert text == expected
    # mssql-python refuses keywords outside its allow-list (LongAsMax, Connection Timeout).
    parsed = _ConnectionStringParser(validate_keywords=True)._parse(text)
    assert parsed["server"] == f"tcp:{SERVER},1433"


def test_pyodbc_names_the_driver_and_asks_for_long_values_as_max() -> None:
    text = connection_string(config(driver="pyodbc", user="u", password="p"))
    assert text.startswith("Driver={ODBC Driver 18 for SQL Server};Server=")
    assert text.endswith(";UID=u;PWD=p;LongAsMax=yes")


def test_repr_and_where_hold_no_secret() -> None:
    c = config(user="loader", password="hunter2")
    assert "hunter2" not in repr(c) and c.where == f"loader@{SERVER}:1433/pool"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"user": "u"}, "ZOOMSYNC_SYNAPSE_PASSWORD"),
    ({"auth": "service-principal", "user": "app"}, "AZURE_CLIENT_SECRET"),
])
def test_missing_credentials_are_one_line(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        driver.check(config(**kwargs))


def test_a_connection_failure_is_one_line_without_the_password() -> None:
    """Here mssql-python either cannot load its driver (no libltdl7: the hint says which
    package) or, with it, cannot reach the closed port (a DestinationError)."""
    c = config(server="127.0.0.1", port=9, user="loader", password="hunter2", login_timeout=2)
    with pytest.raises((ConfigError, DestinationError)) as caught:
        driver.connect(c, attempts=1)
    message = str(caught.value)
    assert "hunter2" not in message and "\n" not in message
    if ctypes.util.find_library("ltdl") is None:
        assert message == driver.LTDL_HINT
        assert "apt-get install libltdl7" in message
    else:
        assert message.startswith("cannot connect to Synapse loader@127.0.0.1:9/pool: ")


class Transient(Exception):
    def __init__(self) -> None:
        super().__init__("08S01", "[Microsoft][ODBC Driver 18 for SQL Server]Communication link "
                         "failure (40613)")


def test_transient_errors_are_retried_with_doubling_waits() -> None:
    waits: list[float] = []
    calls = iter([Transient(), Transient(), "ok"])

    def call() -> str:
        result = next(calls)
        if isinstance(result, Exception):
            raise result
        return result

    assert driver.with_retries(call, what="x", sleep=waits.append) == "ok"
    assert waits == [2.0, 4.0]


def test_permanent_errors_are_not_retried() -> None:
    waits: list[float] = []

    def call() -> None:
        raise RuntimeError("42000", "Login failed for user 'loader'. (18456)")

    with pytest.raises(RuntimeError):
        driver.with_retries(call, what="x", sleep=waits.append)
    assert waits == []
    assert "login failed: check the user" in driver.describe(
        RuntimeError("42000", "Login failed for user 'loader'. (18456)"))


def test_pyodbc_without_pyodbc_names_what_to_install() -> None:
    import importlib.util

    if importlib.util.find_spec("pyodbc") is not None:
        pytest.skip("pyodbc is installed here")
    with pytest.raises(ConfigError, match="pip install pyodbc"):
        driver.check(config(driver="pyodbc", user="u", password="p"))
