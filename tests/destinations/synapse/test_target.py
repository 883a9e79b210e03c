"""Settings -> the Synapse destination: what each setting becomes, one-line errors, the
literals our SQL client sends, and `zoomsync check` against the pool stand-in."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.destinations.synapse.standin import PoolStandIn
from tests.services import AZURITE_BLOB_URL, AZURITE_CONNECTION_STRING, service
from zoomsync.config import Settings
from zoomsync.destinations import resolve
from zoomsync.destinations.synapse import target as synapse_target
from zoomsync.destinations.synapse.sql_client import inline
from zoomsync.destinations.synapse.stage import ManagedIdentity, ServicePrincipal
from zoomsync.destinations.synapse.target import connection_config, storage_config
from zoomsync.errors import ConfigError

BASE: dict[str, Any] = {
    "destination": "synapse", "synapse_server": "ws.sql.azuresynapse.net",
    "synapse_database": "pool", "synapse_user": "loader", "synapse_password": "pw",
    "azure_storage_account_name": "zoomstage", "azure_storage_account_key": "a2V5",
    "synapse_container": "loads"}


def settings(**kwargs: Any) -> Settings:
    return Settings(**{**BASE, **kwargs})


def test_a_complete_configuration_names_no_secret() -> None:
    target = resolve(settings())
    assert target.where == "synapse:loader@ws.sql.azuresynapse.net:1433/pool"
    assert target.loader_file_format == "parquet" and target.staging is None
    assert "pw" not in repr(target) and "a2V5" not in repr(target)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"synapse_server": None}, "ZOOMSYNC_SYNAPSE_SERVER is not set"),
    ({"synapse_database": None}, "ZOOMSYNC_SYNAPSE_DATABASE is not set"),
    ({"synapse_password": None}, "ZOOMSYNC_SYNAPSE_PASSWORD"),
    ({"synapse_auth": "kerberos"}, "ZOOMSYNC_SYNAPSE_AUTH='kerberos'"),
    ({"synapse_driver": "freetds"}, "use mssql-python or pyodbc"),
    ({"synapse_container": None}, "ZOOMSYNC_SYNAPSE_CONTAINER is not set"),
    ({"azure_storage_account_name": None}, "AZURE_STORAGE_ACCOUNT_NAME is not set"),
    ({"synapse_copy_auth": "magic"}, "ZOOMSYNC_SYNAPSE_COPY_AUTH='magic'"),
    ({"synapse_copy_auth": "managed-identity", "synapse_storage_endpoint": "blob"}, r"\.dfs"),
    ({"synapse_layout": '{"users": {"index": "CLUSTERED COLUMNSTORE INDEX"}}'},
     "cannot hold \\(max\\) columns"),
    ({"synapse_layout": "{not json"}, "not valid JSON"),
])
def test_bad_settings_are_one_line(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        target = resolve(settings(**kwargs))
        # Layouts are checked against a table's columns when the table is created.
        from zoomsync.destinations.synapse.ddl import table_spec

        table_spec("users", {"email": {"data_type": "text"}},
                   overrides=target.destination.loader.layout)


def test_entra_authentication_uses_the_azure_variables() -> None:
    c = connection_config(settings(synapse_auth="service-principal", synapse_user=None,
                                   azure_client_id="app-id", azure_client_secret="s3cret",
                                   azure_tenant_id="tenant"))
    assert (c.auth, c.user, c.password) == ("service-principal", "app-id", "s3cret")
    msi = connection_config(settings(synapse_auth="managed-identity", synapse_user=None))
    assert (msi.auth, msi.user, msi.password) == ("managed-identity", None, None)


def test_storage_and_copy_credentials_follow_what_is_given() -> None:
    assert storage_config(settings()).auth == "account-key"
    assert storage_config(settings()).copy_auth == "generated-sas"
    sas = storage_config(settings(azure_storage_account_key=None,
                                  azure_storage_sas_token="sv=1&sig=x"))
    assert (sas.auth, sas.copy_auth) == ("sas", "sas")
    entra = storage_config(settings(azure_storage_account_key=None, azure_tenant_id="t",
                                    azure_client_id="c", azure_client_secret="s",
                                    synapse_copy_auth="service-principal"))
    assert entra.auth == "service-principal"
    from zoomsync.destinations.synapse.storage import StagingArea

    credential = StagingArea(entra).copy_credential()
    assert credential == ServicePrincipal("t", "c", "s")
    msi = storage_config(settings(synapse_copy_auth="managed-identity"))
    assert StagingArea(msi).copy_credential() == ManagedIdentity()


def test_parameters_become_literals() -> None:
    stamp = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert inline("INSERT INTO t VALUES (%s, %s, %s, %s, %s)",
                  ["it's", 3, stamp, None, True]) == (
        "INSERT INTO t VALUES (N'it''s', 3, '2026-01-02 03:04:05.678', NULL, 1)")
    assert inline("SELECT 1", []) == "SELECT 1"


def test_check_writes_reads_and_drops_on_the_stand_in() -> None:
    from azure.storage.blob import BlobServiceClient

    from zoomsync.destinations.probe import check_target

    connection = service(AZURITE_CONNECTION_STRING, "Azurite")
    container = f"check-{secrets.token_hex(4)}"
    BlobServiceClient.from_connection_string(connection).create_container(container)
    pool = PoolStandIn(service(AZURITE_BLOB_URL, "Azurite"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(synapse_target.CONNECTORS, "standin", pool.connector)
        target = resolve(settings(synapse_driver="standin", azure_storage_account_name=None,
                                  azure_storage_account_key=None, synapse_container=container,
                                  azure_storage_connection_string=connection))
        assert check_target(target) == "ok"
    schemas = {r[0] for r in pool.rows("SELECT schema_name FROM information_schema.schemata")}
    assert not any(s.startswith("zoomsync_check_") for s in schemas)  # dropped, staging too
    assert any(s.startswith("COPY INTO [zoomsync_check_") for s in pool.log)
    # the probe's two keys differ only by case: both arrived
    assert any("COLLATE Latin1_General_100_BIN2" in s for s in pool.log
               if s.startswith("CREATE TABLE [zoomsync_check_"))


def test_a_new_field_is_added_by_alter_table_and_masked(tmp_path: Any) -> None:
    """Schema evolution through dlt: a field that appears in a later load becomes a column
    (ALTER TABLE ADD, NULL for the rows already there), masked when it is personal."""
    import dlt
    from azure.storage.blob import BlobServiceClient

    from zoomsync import hints

    connection = service(AZURITE_CONNECTION_STRING, "Azurite")
    container = f"evolve-{secrets.token_hex(4)}"
    BlobServiceClient.from_connection_string(connection).create_container(container)
    pool = PoolStandIn(service(AZURITE_BLOB_URL, "Azurite"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(synapse_target.CONNECTORS, "standin", pool.connector)
        target = resolve(settings(synapse_driver="standin", azure_storage_account_name=None,
                                  azure_storage_account_key=None, synapse_container=container,
                                  azure_storage_connection_string=connection, mask_pii=True))
        pipeline = dlt.pipeline(pipeline_name="evolve", destination=target.destination,
                                dataset_name="zoom", pipelines_dir=str(tmp_path))
        first = [{"id": "u1", "first_name": "Ada"}]
        second = [{"id": "u2", "first_name": "Bob", "email": "bob@example.com"}]
        # What marks a column personal is the source's hint, not the destination's
        # knowledge of Zoom: zoomsync's source sets it from the catalog (columns.py).
        marks: Any = {"first_name": {"name": "first_name", hints.PERSONAL: "name"},
                      "email": {"name": "email", hints.PERSONAL: "email"}}
        for rows in (first, second):
            pipeline.run(dlt.resource(rows, name="users", primary_key="id", columns=marks,
                                      write_disposition="merge"), loader_file_format="parquet")
    assert "ALTER TABLE [zoom].[users] ADD [email] nvarchar(max) NULL" in pool.log
    assert sorted(pool.rows("SELECT id, first_name, email FROM zoom.users")) == [
        ("u1", "Ada", None), ("u2", "Bob", "bob@example.com")]
    assert ("ALTER TABLE [zoom].[users] ALTER COLUMN [email] ADD MASKED WITH "
            "(FUNCTION = 'email()')") in pool.masks
    assert ("ALTER TABLE [zoom].[users] ALTER COLUMN [first_name] ADD MASKED WITH "
            "(FUNCTION = 'partial(1,\"xxxx\",0)')") in pool.masks


def test_mask_pii_turned_on_later_masks_the_existing_columns_once(tmp_path: Any) -> None:
    import dlt
    from azure.storage.blob import BlobServiceClient

    from zoomsync import hints

    connection = service(AZURITE_CONNECTION_STRING, "Azurite")
    container = f"later-{secrets.token_hex(4)}"
    BlobServiceClient.from_connection_string(connection).create_container(container)
    pool = PoolStandIn(service(AZURITE_BLOB_URL, "Azurite"))
    rows = [{"id": "u1", "email": "ada@example.com"}]
    marks: Any = {"email": {"name": "email", hints.PERSONAL: "email"}}  # as the source marks
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(synapse_target.CONNECTORS, "standin", pool.connector)
        for mask in (False, True, True):
            target = resolve(settings(synapse_driver="standin", azure_storage_account_name=None,
                                      azure_storage_account_key=None,
                                      synapse_container=container, mask_pii=mask,
                                      azure_storage_connection_string=connection))
            pipeline = dlt.pipeline(pipeline_name="later", destination=target.destination,
                                    dataset_name="zoom", pipelines_dir=str(tmp_path))
            pipeline.run(dlt.resource(rows, name="users", primary_key="id", columns=marks,
                                      write_disposition="merge"), loader_file_format="parquet")
    email = [m for m in pool.masks if "[email]" in m]
    assert email == ["ALTER TABLE [zoom].[users] ALTER COLUMN [email] ADD MASKED WITH "
                     "(FUNCTION = 'email()')"]  # added by the first masked run, not repeated
