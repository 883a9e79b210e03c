"""Settings -> the Synapse destination: connection, staging storage, COPY credential, options.

Every setting is checked here, before any connection, so a missing or contradictory one is a
single ConfigError naming the variable (docs/destinations/synapse.md lists them all).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from pydantic import SecretStr

from zoomsync.config import Settings
from zoomsync.destinations.synapse import driver
from zoomsync.destinations.synapse.client import Loader
from zoomsync.destinations.synapse.storage import (
    CopyAuth,
    StagingArea,
    StorageAuth,
    StorageConfig,
    connection_field,
)
from zoomsync.destinations.target import Target, require_driver, required
from zoomsync.errors import ConfigError

# How a ConnectionConfig becomes a DB-API connection, by ZOOMSYNC_SYNAPSE_DRIVER. The test
# suite adds its pool stand-in here; nothing else should.
CONNECTORS: dict[str, Callable[[driver.ConnectionConfig], Any]] = {
    "mssql-python": driver.connect,
    "pyodbc": driver.connect,
}
AUTHS = ("sql", "service-principal", "managed-identity", "default")
STORAGE_AUTHS = ("connection-string", "account-key", "sas", "service-principal",
                 "managed-identity", "default")
COPY_AUTHS = ("generated-sas", "sas", "service-principal", "managed-identity", "account-key",
              "none")


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _choice(value: str | None, allowed: tuple[str, ...], variable: str) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if value not in allowed:
        raise ConfigError(f"{variable}={value!r}: use one of {', '.join(allowed)}")
    return value


def connection_config(settings: Settings) -> driver.ConnectionConfig:
    server = required(settings.synapse_server, "ZOOMSYNC_SYNAPSE_SERVER",
                      "myworkspace.sql.azuresynapse.net")
    database = required(settings.synapse_database, "ZOOMSYNC_SYNAPSE_DATABASE", "zoompool")
    auth = _choice(settings.synapse_auth, AUTHS, "ZOOMSYNC_SYNAPSE_AUTH") or "sql"
    name = settings.synapse_driver.strip().lower()
    if name not in CONNECTORS:
        raise ConfigError(f"ZOOMSYNC_SYNAPSE_DRIVER={name!r}: use mssql-python or pyodbc")
    if auth == "sql":
        user, password = settings.synapse_user, _secret(settings.synapse_password)
    else:  # Entra ID: the app's (or a user-assigned identity's) client id
        user = settings.synapse_user or settings.azure_client_id
        password = _secret(settings.azure_client_secret) if auth == "service-principal" else None
    config = driver.ConnectionConfig(server=server, database=database, auth=auth,  # type: ignore[arg-type]
                                     user=user, password=password, port=settings.synapse_port,
                                     driver=name,  # type: ignore[arg-type]
                                     odbc_driver=settings.synapse_odbc_driver)
    if name in ("mssql-python", "pyodbc"):
        driver.check(config)
    return config


def storage_config(settings: Settings) -> StorageConfig:
    connection = _secret(settings.azure_storage_connection_string)
    account = (settings.azure_storage_account_name
               or connection_field(connection, "AccountName"))
    if not account:
        raise ConfigError("AZURE_STORAGE_ACCOUNT_NAME is not set: the storage account Synapse "
                          "loads from, e.g. AZURE_STORAGE_ACCOUNT_NAME=zoomsyncstage")
    container = required(settings.synapse_container, "ZOOMSYNC_SYNAPSE_CONTAINER", "loads")
    key = _secret(settings.azure_storage_account_key)
    sas = _secret(settings.azure_storage_sas_token)
    entra = "service-principal" if settings.azure_client_secret else "default"
    storage_auth = _choice(settings.synapse_storage_auth, STORAGE_AUTHS,
                           "ZOOMSYNC_SYNAPSE_STORAGE_AUTH") or (
        "connection-string" if connection else "account-key" if key else "sas" if sas
        else entra)
    copy_auth = _choice(settings.synapse_copy_auth, COPY_AUTHS,
                        "ZOOMSYNC_SYNAPSE_COPY_AUTH") or (
        "sas" if storage_auth == "sas" else "generated-sas")
    config = StorageConfig(
        account=account, container=container, auth=cast(StorageAuth, storage_auth),
        copy_auth=cast(CopyAuth, copy_auth), prefix=settings.synapse_prefix,
        endpoint=settings.synapse_storage_endpoint, blob_url=settings.synapse_storage_url,
        account_key=key, sas_token=sas, connection_string=connection,
        tenant_id=settings.azure_tenant_id, client_id=settings.azure_client_id,
        client_secret=_secret(settings.azure_client_secret))
    # The COPY location and credential are checked now (account, container, endpoint rules).
    area_storage_check(config)
    return config


def area_storage_check(config: StorageConfig) -> None:
    from zoomsync.destinations.synapse.stage import (
        CallerIdentity,
        Credential,
        ManagedIdentity,
        SharedAccessSignature,
        Storage,
    )

    credential: Credential = CallerIdentity()
    if config.copy_auth == "managed-identity":
        credential = ManagedIdentity()
    elif config.copy_auth in ("sas", "generated-sas"):
        credential = SharedAccessSignature("")
    Storage(config.account, config.container, credential, prefix=config.prefix,
            endpoint=config.endpoint, suffix=config.suffix)


def check_copy_identity(connection: driver.ConnectionConfig, storage: StorageConfig) -> None:
    """COPY without a credential reads storage as the Entra identity that is connected:
    "Connect to your SQL pool using Active Directory where you can now run the COPY
    statement without specifying any credentials". A SQL login has no such identity, so
    every COPY would fail at load time; say so now.
    https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/quickstart-bulk-load-copy-tsql-examples
    """
    if storage.copy_auth == "none" and connection.auth == "sql":
        raise ConfigError("ZOOMSYNC_SYNAPSE_COPY_AUTH=none makes the pool read the staged files "
                          "as the Entra ID identity connected to it, and a SQL login has none: "
                          "connect with ZOOMSYNC_SYNAPSE_AUTH=service-principal, "
                          "managed-identity or default, or pick another COPY credential "
                          "(generated-sas, the default)")


def layout_overrides(value: str | None) -> dict[str, dict[str, Any]]:
    """ZOOMSYNC_SYNAPSE_LAYOUT: JSON, inline or in a file, table -> distribution/index/lengths."""
    if not value:
        return {}
    text = value
    if not value.lstrip().startswith("{"):
        try:
            text = Path(value).expanduser().read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read ZOOMSYNC_SYNAPSE_LAYOUT file {value}: "
                              f"{exc.strerror}") from None
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"ZOOMSYNC_SYNAPSE_LAYOUT is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict) or not all(isinstance(v, dict) for v in parsed.values()):
        raise ConfigError('ZOOMSYNC_SYNAPSE_LAYOUT must map tables to settings, e.g. '
                          '{"meeting_participants": {"index": "HEAP"}}')
    return parsed


def synapse_target(settings: Settings) -> Target:
    require_driver("synapse", "azure.storage.blob", "azure.identity", "pyarrow")
    connection = connection_config(settings)
    storage = storage_config(settings)
    check_copy_identity(connection, storage)
    layout = layout_overrides(settings.synapse_layout)
    connector = CONNECTORS[connection.driver]
    loader = Loader(connect=lambda: connector(connection),
                    staging_area=lambda: StagingArea(storage), layout=layout,
                    mask_pii=settings.mask_pii)
    from zoomsync.destinations.synapse.factory import SynapseLoaderDestination

    where = f"synapse:{connection.where}"
    return Target("synapse", where, SynapseLoaderDestination(loader, where), "parquet")
