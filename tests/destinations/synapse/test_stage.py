"""COPY INTO text: locations, endpoints, credentials, and keeping secrets out of logs."""

from __future__ import annotations

import pytest

from zoomsync.destinations.synapse.stage import (
    CallerIdentity,
    ManagedIdentity,
    ServicePrincipal,
    SharedAccessSignature,
    Storage,
    StorageAccountKey,
    copy_into,
    redact,
)
from zoomsync.errors import ConfigError

LOAD = "1767225600.000001"


def copy(storage: Storage, files: tuple[str, ...] = ()) -> str:
    return copy_into("zoom_staging", "users", LOAD, storage, "zoom", files)


def test_sas_reads_from_the_blob_endpoint() -> None:
    sql = copy(Storage("acct", "loads", SharedAccessSignature("?sv=1&sig=abc")))
    assert sql == (
        "COPY INTO [zoom_staging].[users__1767225600_000001]\n"
        "FROM 'https://acct.blob.core.windows.net/loads/zoomsync/zoom/1767225600.000001/"
        "users/*.parquet'\n"
        "WITH (FILE_TYPE = 'PARQUET', CREDENTIAL = (IDENTITY = 'Shared Access Signature', "
        "SECRET = 'sv=1&sig=abc'), AUTO_CREATE_TABLE = 'OFF')")


def test_managed_identity_reads_from_the_dfs_endpoint() -> None:
    sql = copy(Storage("acct", "loads", ManagedIdentity(), prefix=""))
    assert "FROM 'https://acct.dfs.core.windows.net/loads/zoom/1767225600.000001/users/" in sql
    assert "CREDENTIAL = (IDENTITY = 'Managed Identity')" in sql


def test_service_principal_uses_the_v1_token_endpoint() -> None:
    sql = copy(Storage("acct", "loads", ServicePrincipal("tenant", "client", "s3cret")))
    assert ("IDENTITY = 'client@https://login.microsoftonline.com/tenant/oauth2/token', "
            "SECRET = 's3cret'") in sql


def test_account_key_and_caller_identity() -> None:
    assert "IDENTITY = 'Storage Account Key', SECRET = 'k=='" in copy(
        Storage("acct", "loads", StorageAccountKey("k==")))
    assert "CREDENTIAL" not in copy(Storage("acct", "loads", CallerIdentity()))


def test_named_files_and_other_clouds() -> None:
    storage = Storage("acct", "loads", ManagedIdentity(), endpoint="dfs",
                      suffix="core.chinacloudapi.cn")
    sql = copy(storage, ("part-0.parquet", "/part-1.parquet"))
    assert ("FROM 'https://acct.dfs.core.chinacloudapi.cn/loads/zoomsync/zoom/1767225600.000001/"
            "users/part-0.parquet', 'https://acct.dfs.core.chinacloudapi.cn/loads/"
            "zoomsync/zoom/1767225600.000001/users/part-1.parquet'") in sql


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"account": "Bad_Account"}, "storage account"),
    ({"container": "-x"}, "container"),
    ({"credential": ManagedIdentity(), "endpoint": "blob"}, r"\.dfs"),
    ({"credential": SharedAccessSignature("x"), "endpoint": "dfs"}, r"\.blob"),
])
def test_bad_storage_settings(kwargs: dict[str, object], message: str) -> None:
    settings: dict[str, object] = {"account": "acct", "container": "loads",
                                   "credential": CallerIdentity(), **kwargs}
    with pytest.raises(ConfigError, match=message):
        Storage(**settings)  # type: ignore[arg-type]


def test_redact_hides_every_secret() -> None:
    sql = copy(Storage("acct", "loads", ServicePrincipal("t", "c", "it''s secret")))
    assert "secret'" not in redact(sql)
    assert "SECRET = '***'" in redact(sql)
    assert redact("SELECT 1") == "SELECT 1"
