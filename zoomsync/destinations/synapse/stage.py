"""COPY INTO: loading a load's Parquet files from Blob Storage or ADLS Gen2 into staging.

https://learn.microsoft.com/sql/t-sql/statements/copy-into-transact-sql

- Locations are `https://<account>.blob.core.windows.net/<container>/<path>` or the ADLS Gen2
  `.dfs.` form. Microsoft: ".blob ... currently yields the best performance. Use the .blob
  endpoint when .dfs isn't required for your authentication method" — and for Parquet,
  managed identity requires `.dfs`, a SAS requires `.blob`. `endpoint="auto"` follows that.
- Credentials: SAS (`IDENTITY = 'Shared Access Signature'`, READ + LIST suffice), service
  principal (`IDENTITY = '<client id>@<OAuth 2.0 v1 token endpoint>'`), storage account key,
  managed identity (no secret; required when the storage account sits behind a VNet), or
  none (the Entra user's own identity).
- `AUTO_CREATE_TABLE = 'OFF'`: the staging table is ours, created with binary-collated keys;
  COPY must load into it, not guess a schema.
- Secrets end up in the statement text: log statements only through `redact`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from zoomsync.destinations.synapse.names import (
    check_load_id,
    literal,
    quote,
    sql_value,
    staging_table,
    table_ref,
)
from zoomsync.errors import ConfigError

Endpoint = Literal["auto", "blob", "dfs"]
_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")  # Azure storage account names
_CONTAINER = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")


@dataclass(frozen=True)
class SharedAccessSignature:
    token: str
    identity = "Shared Access Signature"
    endpoint = "blob"

    def clause(self) -> str:
        return f"IDENTITY = {literal(self.identity)}, SECRET = {literal(self.token.lstrip('?'))}"


@dataclass(frozen=True)
class ServicePrincipal:
    tenant_id: str
    client_id: str
    client_secret: str
    endpoint = "blob"

    def clause(self) -> str:
        # COPY wants the OAuth 2.0 *v1* token endpoint here.
        identity = f"{self.client_id}@https://login.microsoftonline.com/{self.tenant_id}/oauth2/token"
        return f"IDENTITY = {literal(identity)}, SECRET = {literal(self.client_secret)}"


@dataclass(frozen=True)
class StorageAccountKey:
    key: str
    endpoint = "blob"

    def clause(self) -> str:
        return f"IDENTITY = 'Storage Account Key', SECRET = {literal(self.key)}"


@dataclass(frozen=True)
class ManagedIdentity:
    """The workspace's (or logical server's) managed identity; it needs Storage Blob Data
    Reader (or Contributor) on the account."""

    endpoint = "dfs"

    def clause(self) -> str:
        return "IDENTITY = 'Managed Identity'"


@dataclass(frozen=True)
class CallerIdentity:
    """No CREDENTIAL clause: storage is read as the Entra user running the load."""

    endpoint = "blob"

    def clause(self) -> str:
        return ""


Credential = (SharedAccessSignature | ServicePrincipal | StorageAccountKey | ManagedIdentity
              | CallerIdentity)


@dataclass(frozen=True)
class Storage:
    """Where staged files live: an account, a container, a path prefix under it."""

    account: str
    container: str
    credential: Credential
    prefix: str = "zoomsync"
    endpoint: Endpoint = "auto"
    suffix: str = "core.windows.net"  # other clouds: core.chinacloudapi.cn, ...

    def __post_init__(self) -> None:
        if not _ACCOUNT.match(self.account):
            raise ConfigError(f"storage account {self.account!r}: 3-24 lowercase letters/digits")
        if not _CONTAINER.match(self.container):
            raise ConfigError(f"container {self.container!r}: 3-63 lowercase letters, digits, "
                              "single hyphens")
        if self.endpoint == "blob" and isinstance(self.credential, ManagedIdentity):
            raise ConfigError("COPY from Parquet with a managed identity needs the ADLS Gen2 "
                              "endpoint (.dfs): set endpoint to 'dfs' or 'auto'")
        if self.endpoint == "dfs" and isinstance(self.credential, SharedAccessSignature):
            raise ConfigError("COPY from Parquet with a SAS needs the .blob endpoint: set "
                              "endpoint to 'blob' or 'auto'")

    def folder(self, schema: str, table: str, load_id: str) -> str:
        """`<prefix>/<schema>/<load id>/<table>`: one folder per table and load, so a COPY
        never picks up another load's files (COPY reads folders recursively), and one
        folder per load, deleted whole once the load committed."""
        parts = [p for p in (self.prefix.strip("/"), schema, check_load_id(load_id), table) if p]
        return "/".join(parts)

    def url(self, path: str) -> str:
        endpoint = self.credential.endpoint if self.endpoint == "auto" else self.endpoint
        return f"https://{self.account}.{endpoint}.{self.suffix}/{self.container}/{path}"


def copy_into(staging_schema: str, table: str, load_id: str, storage: Storage, schema: str,
              files: Sequence[str] = ()) -> str:
    """COPY one table's files of one load into its staging table.

    Without `files`, all `*.parquet` under the load's folder; with them, each named file
    (Microsoft prefers a list to a wildcard over many files; all must share one account and
    container, which they do).
    """
    folder = storage.folder(schema, table, load_id)
    names = [f"{folder}/{f.lstrip('/')}" for f in files] or [f"{folder}/*.parquet"]
    sources = ", ".join(literal(storage.url(n)) for n in names)
    options = ["FILE_TYPE = 'PARQUET'"]
    clause = storage.credential.clause()
    if clause:
        options.append(f"CREDENTIAL = ({clause})")
    options.append("AUTO_CREATE_TABLE = 'OFF'")
    target = table_ref(staging_schema, staging_table(table, load_id))
    return f"COPY INTO {target}\nFROM {sources}\nWITH ({', '.join(options)})"


def insert_rows(staging_schema: str, table: str, load_id: str,
                rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """One single-row INSERT per row COPY cannot take (over 1 MB, see limits.py), into the
    table's staging table after its COPY. Synapse has no multi-row VALUES, and one row per
    statement keeps each statement near its row's size.
    https://learn.microsoft.com/sql/t-sql/queries/table-value-constructor-transact-sql
    """
    target = table_ref(staging_schema, staging_table(table, load_id))
    out = []
    for row in rows:
        names = ", ".join(quote(c) for c in row)
        values = ", ".join(sql_value(v) for v in row.values())
        out.append(f"INSERT INTO {target} ({names}) VALUES ({values})")
    return out


_SECRET = re.compile(r"(SECRET\s*=\s*)'(?:[^']|'')*'", re.IGNORECASE)


def redact(sql: str) -> str:
    """`sql` with every SECRET = '...' replaced, for logs and error messages."""
    return _SECRET.sub(r"\1'***'", sql)
