"""Staged files in Blob Storage / ADLS Gen2: upload, list, sign for COPY, delete after commit.

A load's files live under `<container>/<prefix>/<schema>/<load id>/<table>/`, so one prefix
holds everything a load staged (deleted once its families committed) and one folder per
table is what a COPY reads.

How zoomsync itself reaches storage (`connect`) and how the pool's COPY reads it
(`copy_credential`) are separate choices:
- zoomsync: a connection string, an account key, a SAS token, or an Entra credential
  (service principal, managed identity, or azure-identity's DefaultAzureCredential chain).
- COPY: a short-lived, container-scoped READ+LIST SAS that zoomsync signs for each load
  (with the account key, or as a user-delegation SAS with Entra credentials); the SAS
  token given; the service principal; the pool's managed identity; or the account key.
  A generated SAS is the default: it needs no secret in the pool and expires within hours.
https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from zoomsync.destinations.synapse.stage import (
    CallerIdentity,
    Credential,
    ManagedIdentity,
    ServicePrincipal,
    SharedAccessSignature,
    Storage,
    StorageAccountKey,
)
from zoomsync.errors import ConfigError, DestinationError

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient, ContainerClient

log = logging.getLogger("zoomsync.synapse.storage")

StorageAuth = Literal["connection-string", "account-key", "sas", "service-principal",
                      "managed-identity", "default"]
CopyAuth = Literal["generated-sas", "sas", "service-principal", "managed-identity",
                   "account-key", "none"]
SAS_LIFETIME = timedelta(hours=6)  # a load's COPYs run within minutes; a retry within hours
CLOCK_SKEW = timedelta(minutes=10)  # start the SAS a little in the past: clocks drift


@dataclass(frozen=True)
class StorageConfig:
    """Where and how to stage. Secrets are plain strings here: this never prints or logs."""

    account: str
    container: str
    auth: StorageAuth
    copy_auth: CopyAuth = "generated-sas"
    prefix: str = "zoomsync"
    endpoint: Literal["auto", "blob", "dfs"] = "auto"
    suffix: str = "core.windows.net"
    blob_url: str | None = None  # zoomsync's own endpoint, when not https://<account>.blob...
    account_key: str | None = None
    sas_token: str | None = None
    connection_string: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None

    def __repr__(self) -> str:  # never show a secret, even in a traceback's locals
        return f"StorageConfig(account={self.account!r}, container={self.container!r})"


class StagingArea:
    """The container a load stages into, reached with zoomsync's own credential."""

    def __init__(self, config: StorageConfig) -> None:
        self.config = config
        self._service = _service_client(config)
        self._container: ContainerClient = self._service.get_container_client(config.container)

    @property
    def url(self) -> str:
        return self.config.blob_url or f"https://{self.config.account}.blob.{self.config.suffix}"

    def load_prefix(self, schema: str, load_id: str) -> str:
        """`<prefix>/<schema>/<load id>/`: everything one load staged."""
        return self.storage(CallerIdentity()).folder(schema, "", load_id) + "/"

    def folder(self, schema: str, table: str, load_id: str) -> str:
        return self.storage(CallerIdentity()).folder(schema, table, load_id)

    def storage(self, credential: Credential) -> Storage:
        """What COPY needs: account, container, prefix, endpoint and the credential."""
        return Storage(self.config.account, self.config.container, credential,
                       prefix=self.config.prefix, endpoint=self.config.endpoint,
                       suffix=self.config.suffix)

    def upload(self, name: str, data: Any, *, length: int | None = None) -> None:
        """Write one blob (bytes or a binary file object), replacing any earlier attempt's."""
        with _storage_errors(f"upload {name}"):
            self._container.upload_blob(name, data, length=length, overwrite=True)

    def list(self, prefix: str) -> list[str]:
        with _storage_errors(f"list {prefix}"):
            return sorted(b.name for b in self._container.list_blobs(name_starts_with=prefix))

    def account_information(self) -> dict[str, Any]:
        """The account's kind, SKU and whether it has a hierarchical namespace (ADLS Gen2)."""
        with _storage_errors("read the account's kind"):
            return dict(self._container.get_account_information())

    def download(self, name: str) -> bytes:
        with _storage_errors(f"read {name}"):
            return bytes(self._container.download_blob(name).readall())

    def delete(self, prefix: str) -> int:
        """Delete every blob under `prefix`; how many there were."""
        names = self.list(prefix)
        with _storage_errors(f"delete {prefix}"):
            for start in range(0, len(names), 256):  # a batch takes at most 256 blobs
                batch = names[start:start + 256]
                if len(batch) == 1:
                    self._container.delete_blob(batch[0])
                else:
                    self._container.delete_blobs(*batch)
        return len(names)

    def sas_token(self, lifetime: timedelta = SAS_LIFETIME) -> str:
        """A READ+LIST token for this container only, valid for `lifetime`.

        Signed with the account key when zoomsync has one; otherwise a user-delegation SAS,
        which the Entra identity may sign if it holds a role with
        `generateUserDelegationKey` (Storage Blob Delegator, or any Storage Blob Data role).
        """
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        now = datetime.now(UTC)
        start, expiry = now - CLOCK_SKEW, now + lifetime
        permission = ContainerSasPermissions(read=True, list=True)
        key = self.config.account_key or connection_field(self.config.connection_string,
                                                            "AccountKey")
        if key:
            return generate_container_sas(self.config.account, self.config.container,
                                          account_key=key, permission=permission,
                                          start=start, expiry=expiry)
        if self.config.auth in ("service-principal", "managed-identity", "default"):
            with _storage_errors("get a user delegation key"):
                delegation = self._service.get_user_delegation_key(start, expiry)
            return generate_container_sas(self.config.account, self.config.container,
                                          user_delegation_key=delegation,
                                          permission=permission, start=start, expiry=expiry)
        raise ConfigError("cannot sign a SAS for COPY without an account key or an Entra "
                          "credential: set ZOOMSYNC_SYNAPSE_COPY_AUTH to sas (with "
                          "AZURE_STORAGE_SAS_TOKEN) or managed-identity")

    def sas_url(self, name: str, token: str) -> str:
        """zoomsync's URL of one blob with a SAS, e.g. to hand to a reader."""
        return f"{self.url}/{self.config.container}/{name}?{token.lstrip('?')}"

    def copy_credential(self) -> Credential:
        """The CREDENTIAL clause COPY INTO will use, per `copy_auth`."""
        c = self.config
        if c.copy_auth == "generated-sas":
            return SharedAccessSignature(self.sas_token())
        if c.copy_auth == "sas":
            return SharedAccessSignature(_need(c.sas_token, "AZURE_STORAGE_SAS_TOKEN"))
        if c.copy_auth == "service-principal":
            return ServicePrincipal(_need(c.tenant_id, "AZURE_TENANT_ID"),
                                    _need(c.client_id, "AZURE_CLIENT_ID"),
                                    _need(c.client_secret, "AZURE_CLIENT_SECRET"))
        if c.copy_auth == "managed-identity":
            return ManagedIdentity()
        if c.copy_auth == "account-key":
            key = c.account_key or connection_field(c.connection_string, "AccountKey")
            return StorageAccountKey(_need(key, "AZURE_STORAGE_ACCOUNT_KEY"))
        return CallerIdentity()


def _service_client(config: StorageConfig) -> BlobServiceClient:
    from azure.storage.blob import BlobServiceClient

    if config.auth == "connection-string":
        return BlobServiceClient.from_connection_string(
            _need(config.connection_string, "AZURE_STORAGE_CONNECTION_STRING"))
    credential: Any
    if config.auth == "account-key":
        credential = {"account_name": config.account,
                      "account_key": _need(config.account_key, "AZURE_STORAGE_ACCOUNT_KEY")}
    elif config.auth == "sas":
        credential = _need(config.sas_token, "AZURE_STORAGE_SAS_TOKEN").lstrip("?")
    else:
        credential = entra_credential(config)
    url = config.blob_url or f"https://{config.account}.blob.{config.suffix}"
    return BlobServiceClient(url, credential=credential)


def entra_credential(config: StorageConfig) -> Any:
    """An azure-identity credential: a service principal, a managed identity, or the chain."""
    from azure.identity import (
        ClientSecretCredential,
        DefaultAzureCredential,
        ManagedIdentityCredential,
    )

    if config.auth == "service-principal":
        return ClientSecretCredential(_need(config.tenant_id, "AZURE_TENANT_ID"),
                                      _need(config.client_id, "AZURE_CLIENT_ID"),
                                      _need(config.client_secret, "AZURE_CLIENT_SECRET"))
    if config.auth == "managed-identity":
        # A user-assigned identity is named by its client id; none means system-assigned.
        return ManagedIdentityCredential(client_id=config.client_id)
    return DefaultAzureCredential()


def _need(value: str | None, variable: str) -> str:
    if not value:
        raise ConfigError(f"{variable} is not set: the chosen Synapse storage or COPY "
                          "credential needs it (docs/destinations/synapse.md)")
    return value


def connection_field(connection_string: str | None, field: str) -> str | None:
    """One field (`AccountName`, `AccountKey`, ...) of an Azure Storage connection string."""
    for part in (connection_string or "").split(";"):
        name, _, value = part.partition("=")
        if name.strip() == field:
            return value.strip()
    return None


class _storage_errors:
    """Azure SDK errors as one DestinationError line, never with a URL's SAS in it."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: Any) -> Literal[False]:
        if exc is None or isinstance(exc, ConfigError):
            return False
        from azure.core.exceptions import AzureError

        if isinstance(exc, AzureError):
            reason = getattr(exc, "reason", None) or type(exc).__name__
            code = getattr(exc, "error_code", None)
            raise DestinationError(f"Synapse staging storage: cannot {self.what}: "
                                   f"{code or reason}") from None
        return False
