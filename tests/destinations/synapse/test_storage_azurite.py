"""Staging against Azurite: upload, listing, SAS URLs a plain HTTP GET can (or cannot) read,
the Parquet rewrite COPY needs, and cleanup of a load's folder."""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.services import AZURITE_BLOB_URL, AZURITE_CONNECTION_STRING, service
from zoomsync.destinations.synapse.names import SEQ
from zoomsync.destinations.synapse.stage import SharedAccessSignature
from zoomsync.destinations.synapse.storage import StagingArea, StorageConfig
from zoomsync.destinations.synapse.upload import ROW_BITS, stage_file
from zoomsync.errors import ConfigError, DestinationError

LOAD = "1767225600.000001"


def _fields(connection: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in connection.split(";") if "=" in p)


@pytest.fixture
def area() -> StagingArea:
    connection = service(AZURITE_CONNECTION_STRING, "Azurite")
    from azure.storage.blob import BlobServiceClient

    container = f"stage-{secrets.token_hex(4)}"
    BlobServiceClient.from_connection_string(connection).create_container(container)
    fields = _fields(connection)
    # An account key, as a customer would give it (not the connection string).
    return StagingArea(StorageConfig(
        account=fields["AccountName"], container=container, auth="account-key",
        account_key=fields["AccountKey"], blob_url=service(AZURITE_BLOB_URL, "Azurite")))


def test_upload_list_and_delete_a_loads_folder(area: StagingArea) -> None:
    for table in ("users", "users__phone_numbers"):
        for part in ("a", "b"):
            area.upload(f"{area.folder('zoom', table, LOAD)}/{part}.parquet", b"x")
    area.upload(f"{area.folder('zoom', 'users', '2.0')}/a.parquet", b"other load")
    prefix = area.load_prefix("zoom", LOAD)
    assert prefix == f"zoomsync/zoom/{LOAD}/"
    assert area.list(prefix) == [f"zoomsync/zoom/{LOAD}/users/a.parquet",
                                 f"zoomsync/zoom/{LOAD}/users/b.parquet",
                                 f"zoomsync/zoom/{LOAD}/users__phone_numbers/a.parquet",
                                 f"zoomsync/zoom/{LOAD}/users__phone_numbers/b.parquet"]
    assert area.delete(area.folder("zoom", "users", LOAD) + "/") == 2
    assert area.delete(prefix) == 2
    assert area.list(prefix) == []
    assert area.list("zoomsync/zoom/2.0/") == ["zoomsync/zoom/2.0/users/a.parquet"]


def test_a_generated_sas_reads_and_lists_but_a_wrong_or_expired_one_cannot(
        area: StagingArea) -> None:
    name = f"{area.folder('zoom', 'users', LOAD)}/part.parquet"
    area.upload(name, b"parquet bytes")
    token = area.sas_token()
    assert "sp=rl" in token  # read + list, nothing else
    got = httpx.get(area.sas_url(name, token))
    assert got.status_code == 200 and got.content == b"parquet bytes"
    listing = httpx.get(f"{area.url}/{area.config.container}?restype=container&comp=list"
                        f"&prefix={area.folder('zoom', 'users', LOAD)}&{token}")
    assert listing.status_code == 200 and name.encode() in listing.content
    assert httpx.get(area.sas_url(name, "")).status_code in (403, 404)  # no SAS
    tampered = token.replace("sig=", "sig=AAAA")
    assert httpx.get(area.sas_url(name, tampered)).status_code == 403
    expired = area.sas_token(lifetime=timedelta(minutes=-5))
    assert httpx.get(area.sas_url(name, expired)).status_code == 403
    # The SAS cannot write: COPY needs read + list only.
    put = httpx.put(area.sas_url(f"{name}.evil", token), content=b"x",
                    headers={"x-ms-blob-type": "BlockBlob"})
    assert put.status_code == 403


def test_copy_credential_is_the_generated_sas(area: StagingArea) -> None:
    credential = area.copy_credential()
    assert isinstance(credential, SharedAccessSignature)
    assert "sig=" in credential.token and "sp=rl" in credential.token


def test_a_sas_needs_a_key_or_an_entra_identity() -> None:
    area = StagingArea(StorageConfig(account="acct", container="loads", auth="sas",
                                     sas_token="sv=1&sig=x",
                                     blob_url="http://127.0.0.1:9/acct"))
    with pytest.raises(ConfigError, match="cannot sign a SAS"):
        area.sas_token()


def test_a_storage_error_is_one_line_without_the_secret(area: StagingArea) -> None:
    wrong_key = StagingArea(StorageConfig(
        account=area.config.account, container=area.config.container, auth="account-key",
        account_key="d3Jvbmcga2V5", blob_url=area.config.blob_url))
    with pytest.raises(DestinationError) as caught:
        wrong_key.list("zoomsync/")
    message = str(caught.value)
    assert "d3Jvbmcga2V5" not in message and "\n" not in message
    assert message.startswith("Synapse staging storage: cannot list zoomsync/: ")


def test_files_are_rewritten_for_copy_and_staged(area: StagingArea, tmp_path: Path) -> None:
    source = tmp_path / "users.abc.0.parquet"
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    pq.write_table(pa.table({"email": ["b@x", "a@x"], "id": ["B", "b"],
                             "created_at": pa.array([stamp, stamp], pa.timestamp("ms", "UTC"))}),
                   source)
    columns = ["id", "email", "created_at", "dept"]  # table order; dept arrived later
    name = stage_file(area, "zoom", "users", LOAD, str(source), columns,
                      {"dept": pa.string()}, "abc", 3)
    assert name == f"zoomsync/zoom/{LOAD}/users/abc.parquet"
    body = httpx.get(area.sas_url(name, area.sas_token())).content
    table = pq.read_table(io.BytesIO(body))
    assert table.column_names == ["id", "email", "created_at", "dept", SEQ]
    assert table.column("id").to_pylist() == ["B", "b"]
    assert table.column("dept").to_pylist() == [None, None]
    assert table.schema.field("created_at").type == pa.timestamp("ms", "UTC")
    base = 3 << ROW_BITS  # the file's place among the table's: rows of later files come after
    assert table.column(SEQ).to_pylist() == [base, base + 1]
    # A retried job overwrites its own blob instead of adding a second copy.
    stage_file(area, "zoom", "users", LOAD, str(source), columns, {"dept": pa.string()}, "abc",
               3)
    assert area.list(area.folder("zoom", "users", LOAD)) == [name]


def test_zoomsync_can_stage_with_a_sas_token_alone(area: StagingArea) -> None:
    """AZURE_STORAGE_SAS_TOKEN (read, write, delete, list): uploads and cleanup work, and COPY
    gets the same token, since zoomsync cannot sign one without a key."""
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    token = generate_container_sas(
        area.config.account, area.config.container, account_key=area.config.account_key,
        permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1))
    with_sas = StagingArea(StorageConfig(account=area.config.account,
                                         container=area.config.container, auth="sas",
                                         copy_auth="sas", sas_token=token,
                                         blob_url=area.config.blob_url))
    name = f"{with_sas.folder('zoom', 'users', LOAD)}/a.parquet"
    with_sas.upload(name, b"x")
    assert area.list(with_sas.load_prefix("zoom", LOAD)) == [name]
    assert with_sas.copy_credential() == SharedAccessSignature(token)
    assert with_sas.delete(with_sas.load_prefix("zoom", LOAD)) == 1
