"""Connecting to a dedicated SQL pool: Microsoft's mssql-python, or pyodbc with ODBC Driver 18.

mssql-python (the default) installs from PyPI with the ODBC driver bundled; on Debian and
Ubuntu it needs three system libraries, `apt-get install libltdl7 libkrb5-3 libgssapi-krb5-2`
(https://learn.microsoft.com/sql/connect/python/mssql-python/installation). Without libltdl7
it fails with "Failed to load the driver"; we turn that into one line naming the package.
pyodbc needs Microsoft's msodbcsql18 package from Microsoft's apt repository.

Authentication (`auth`): `sql` (user and password), `service-principal` (Entra app: client
id and secret), `managed-identity` (the machine's identity; a client id picks a
user-assigned one) and `default` (azure-identity's DefaultAzureCredential chain: environment,
workload identity, managed identity, Azure CLI ...). The connection string holds the
password or secret: it is built here, handed to the driver and never logged or shown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from zoomsync.destinations.synapse.retry import Classification, classify_exception
from zoomsync.destinations.synapse.stage import redact
from zoomsync.errors import ConfigError, DestinationError

log = logging.getLogger("zoomsync.synapse")

Auth = Literal["sql", "service-principal", "managed-identity", "default"]
DriverName = Literal["mssql-python", "pyodbc"]
AUTH_KEYWORDS = {"service-principal": "ActiveDirectoryServicePrincipal",
                 "managed-identity": "ActiveDirectoryMsi",
                 "default": "ActiveDirectoryDefault"}
LTDL_HINT = ("mssql-python cannot load its bundled ODBC driver: on Debian/Ubuntu run "
             "`apt-get install libltdl7 libkrb5-3 libgssapi-krb5-2` (RHEL: libtool-ltdl "
             "krb5-libs), or set ZOOMSYNC_SYNAPSE_DRIVER=pyodbc")
T = TypeVar("T")


@dataclass(frozen=True)
class ConnectionConfig:
    server: str
    database: str
    auth: Auth = "sql"
    user: str | None = None  # SQL login; for Entra auth, the client id
    password: str | None = None  # SQL password or the service principal's secret
    port: int = 1433
    driver: DriverName = "mssql-python"
    odbc_driver: str = "ODBC Driver 18 for SQL Server"
    login_timeout: int = 30

    def __repr__(self) -> str:
        return f"ConnectionConfig({self.where!r}, auth={self.auth!r}, driver={self.driver!r})"

    @property
    def where(self) -> str:
        """user@server:port/database — what to show; no secret."""
        user = f"{self.user}@" if self.user else ""
        return f"{user}{self.server}:{self.port}/{self.database}"


def _value(text: str) -> str:
    # ODBC connection-string escaping: braces around values with ; { } or spaces.
    if any(ch in text for ch in ";{}= ") or text != text.strip():
        return "{" + text.replace("}", "}}") + "}"
    return text


def connection_string(config: ConnectionConfig) -> str:
    """The driver's connection string. Holds the secret: never log it."""
    parts: dict[str, str] = {}
    if config.driver == "pyodbc":
        parts["Driver"] = "{" + config.odbc_driver + "}"
    parts["Server"] = f"tcp:{config.server},{config.port}"
    parts["Database"] = config.database
    parts["Encrypt"] = "yes"  # Synapse requires TLS; ODBC 18 also checks the certificate
    parts["TrustServerCertificate"] = "no"
    if config.auth != "sql":
        parts["Authentication"] = AUTH_KEYWORDS[config.auth]
    if config.user:
        parts["UID"] = config.user
    if config.password:
        parts["PWD"] = config.password
    if config.driver == "pyodbc":
        # Synapse refuses the legacy ntext/image types ODBC binds long values as.
        parts["LongAsMax"] = "yes"
    return ";".join(f"{k}={v if k == 'Driver' else _value(v)}" for k, v in parts.items())


def check(config: ConnectionConfig) -> None:
    """What each authentication needs, as one line at configuration time."""
    if config.auth == "sql" and not (config.user and config.password):
        raise ConfigError("Synapse SQL authentication needs ZOOMSYNC_SYNAPSE_USER and "
                          "ZOOMSYNC_SYNAPSE_PASSWORD (or set ZOOMSYNC_SYNAPSE_AUTH to "
                          "service-principal, managed-identity or default)")
    if config.auth == "service-principal" and not (config.user and config.password):
        raise ConfigError("Synapse service-principal authentication needs AZURE_CLIENT_ID "
                          "and AZURE_CLIENT_SECRET")
    from zoomsync.destinations.target import _installed, require_driver

    if config.driver == "mssql-python":
        require_driver("synapse", "mssql_python")
    elif not _installed("pyodbc"):
        raise ConfigError("ZOOMSYNC_SYNAPSE_DRIVER=pyodbc needs pyodbc and Microsoft's ODBC "
                          "Driver 18 (msodbcsql18 from Microsoft's package repository): "
                          "pip install pyodbc, or use the default driver, mssql-python")


def connect(config: ConnectionConfig, *, attempts: int = 5) -> Any:
    """A DB-API connection in autocommit mode; ConfigError/DestinationError in one line."""
    if config.driver == "mssql-python":
        import mssql_python as dbapi

        def open_() -> Any:
            return dbapi.connect(connection_string(config), autocommit=True,
                                 timeout=config.login_timeout)
    else:
        import pyodbc as dbapi  # type: ignore[import-not-found,no-redef]

        def open_() -> Any:
            return dbapi.connect(connection_string(config), autocommit=True,
                                 timeout=config.login_timeout)
    try:
        return with_retries(open_, what=f"connect to {config.where}", attempts=attempts)
    except DestinationError:
        raise
    except Exception as exc:
        raise DestinationError(f"cannot connect to Synapse {config.where}: "
                               f"{describe(exc)}") from None


def describe(exc: BaseException) -> str:
    """One line for a driver error, with Microsoft's hint; secrets redacted."""
    text = " ".join(str(getattr(exc, "ddbc_error", "") or exc).split())
    if "Failed to load the driver" in text or "Can't open lib" in text:
        raise ConfigError(LTDL_HINT if "Failed to load" in text else
                          f"pyodbc cannot find the ODBC driver: {text[:200]}") from None
    from zoomsync.failures import clip

    hint = classify_exception(exc).hint
    # Capped in the middle: the server's reason follows ODBC's long prefixes.
    return clip(redact(text)) + (f" ({hint})" if hint else "")


def with_retries(call: Callable[[], T], *, what: str, attempts: int = 5,
                 backoff: float = 2.0, sleep: Callable[[float], None] | None = None,
                 before_retry: Callable[[Classification], None] | None = None) -> T:
    """Run `call`, again after a transient error (retry.py's list), with doubling waits.

    `before_retry` runs before each new attempt (to reconnect after a lost connection).
    Safe for any statement zoomsync sends: the ledger makes a family's load exactly once.
    """
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:
            classification = classify_exception(exc)
            if not classification.transient or attempt == attempts:
                raise
            wait = backoff * 2 ** (attempt - 1)
            log.warning("transient Synapse error (%s) on %s; retrying in %.0f s",
                        classification.number or classification.sqlstate, what, wait)
            (sleep or time.sleep)(wait)
            if before_retry is not None:
                before_retry(classification)
    raise AssertionError("unreachable")
