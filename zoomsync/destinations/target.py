"""A destination made ready for a run: the dlt destination and what a run does for it."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

from zoomsync.errors import ConfigError

if TYPE_CHECKING:
    from dlt.common.destination import TLoaderFileFormat
    from dlt.extract.resource import DltResource
    from dlt.extract.source import DltSource


# A server URL without a port means this one (`Target.place`).
DEFAULT_PORTS = {"postgres": 5432, "redshift": 5439, "panoply": 5439, "synapse": 1433}


@dataclass(frozen=True)
class Target:
    """`destination` (and `staging`) go to `dlt.pipeline`; `loader_file_format` to its run.

    `where` names the warehouse without secrets: it is shown to the user and, hashed, names
    the local pipeline state, so two warehouses never share it. `table_format="delta"` makes
    every table a Delta table (merged); `replaces_tables` marks plain files, which dlt
    cannot merge into: each run then rewrites whole tables (see `adapt`). `local_file` is
    the database file of a destination that is one (DuckDB), resolved.
    """

    name: str
    where: str
    destination: Any
    loader_file_format: TLoaderFileFormat | None
    staging: Any = None
    table_format: Literal["delta"] | None = None
    replaces_tables: bool = False
    local_file: Path | None = None

    @property
    def label(self) -> str:
        """`where` without the destination's name: a path, a URL, user@host/database."""
        return self.where.removeprefix(f"{self.name}:")

    @property
    def place(self) -> str:
        """The storage a load writes, whoever logs in to it: `where` without the user, any
        credentials or query of a URL, with the host lower-cased and the server's default
        port spelled out — so two spellings of one warehouse give one run lock (lock.py).

        `postgres://db.example.com:5432/analytics`, `s3://bucket/zoom`, `bigquery:project`.
        """
        label = self.label
        if "://" in label:  # a bucket URL (filesystem, delta)
            parts = urlsplit(label)
            netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
            return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        if self.local_file is not None:
            return str(self.local_file)
        authority, slash, rest = label.partition("/")
        host = authority.rpartition("@")[2].lower()  # user@server:port
        if host and ":" not in host and self.name in DEFAULT_PORTS:
            host += f":{DEFAULT_PORTS[self.name]}"
        return f"{self.name}://{host}{slash}{rest}" if slash else f"{self.name}:{host}"

    def adapt(self, source: DltSource) -> DltSource:
        """The source's hints for this destination (the source itself declares merges)."""
        for resource in source.resources.values():
            self.adapt_resource(resource)
        return source

    def adapt_resource(self, resource: DltResource) -> DltResource:
        if self.table_format is not None:
            resource.apply_hints(table_format=self.table_format)
        if self.replaces_tables:
            # dlt would fall back to appending, duplicating every row on the next run.
            resource.apply_hints(write_disposition="replace")
        return resource


def require_driver(name: str, *modules: str, extra: str | None = None) -> None:
    """One line naming the pip extra when a destination's driver is not installed."""
    missing = [m for m in modules if not _installed(m)]
    if missing:
        raise ConfigError(f"the {name} destination's driver is not installed "
                          f"({', '.join(missing)}): pip install 'zoomsync[{extra or name}]'")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # the parent package of a dotted name is missing
        return False


def required(value: SecretStr | str | None, variable: str, example: str) -> str:
    """The setting's value, or one line saying which variable to set and how."""
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not text or not text.strip():
        raise ConfigError(f"{variable} is not set: give it, e.g. {variable}={example}")
    return text.strip()


def server_url(url: str, variable: str, schemes: tuple[str, ...], example: str) -> str:
    """Check a `scheme://user:password@host[:port]/database` URL; return where it points.

    The result names user, host, port and database but never the password, so it can be
    printed and hashed.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(f"{variable} is not a valid URL: use {example}") from None
    if parts.scheme not in schemes:
        raise ConfigError(f"{variable} must start with {' or '.join(s + '://' for s in schemes)}"
                          f": use {example}")
    if not parts.hostname or not parts.username:
        raise ConfigError(f"{variable} needs a user and a host: use {example}")
    database = parts.path.strip("/")
    if not database:
        raise ConfigError(f"{variable} names no database: use {example}")
    if not parts.password:
        # dlt refuses credentials without a password even where the server would not ask.
        raise ConfigError(f"{variable} has no password: use {example}")
    return f"{parts.username}@{parts.hostname}{f':{port}' if port else ''}/{database}"
