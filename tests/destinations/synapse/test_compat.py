"""`zoomsync check --destination synapse`: what it reports about the pool and the staging
account, against the strict stand-in and Azurite (a Blob account, no hierarchical
namespace)."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.destinations.synapse.standin import PoolStandIn
from tests.destinations.synapse.test_cli_synapse import emu, env_for  # noqa: F401
from tests.services import AZURITE_BLOB_URL, AZURITE_CONNECTION_STRING, service
from zoomsync.config import Settings
from zoomsync.destinations import resolve
from zoomsync.destinations.synapse import target as synapse_target
from zoomsync.destinations.synapse.compat import Finding, report
from zoomsync.emulator.server import RunningEmulator


@pytest.fixture
def findings() -> Iterator[Callable[..., dict[str, Finding]]]:
    """The report for a stand-in with the given options and settings."""
    from azure.storage.blob import BlobServiceClient

    connection = service(AZURITE_CONNECTION_STRING, "Azurite")
    container = f"compat-{secrets.token_hex(4)}"
    BlobServiceClient.from_connection_string(connection).create_container(container)
    with pytest.MonkeyPatch.context() as patch:
        def make(probe: str = "ok", pool: dict[str, Any] | None = None,
                 **settings: Any) -> dict[str, Finding]:
            standin = PoolStandIn(service(AZURITE_BLOB_URL, "Azurite"), **(pool or {}))
            patch.setitem(synapse_target.CONNECTORS, "standin", standin.connector)
            target = resolve(Settings(
                destination="synapse", synapse_server="ws.sql.azuresynapse.net",
                synapse_database="zoompool", synapse_user="loader",
                synapse_password="not-a-secret", synapse_driver="standin",
                synapse_container=container, azure_storage_connection_string=connection,
                **settings))
            return {f.what: f for f in report(target.destination.loader, probe)}

        yield make


def test_a_suitable_pool_and_account(findings: Callable[..., dict[str, Finding]]) -> None:
    found = findings()
    assert all(f.ok for f in found.values()), found
    assert found["collation"].detail.startswith("SQL_Latin1_General_CP1_CS_AS (identifiers "
                                                "compare case-sensitively")
    assert found["READ_COMMITTED_SNAPSHOT"].detail == "on"
    assert found["storage account"].detail == (
        "Blob storage (no hierarchical namespace), StorageV2; COPY reads the .blob endpoint "
        "with generated-sas")


def test_snapshot_reads_off_is_reported_with_the_fix(
        findings: Callable[..., dict[str, Finding]]) -> None:
    found = findings(pool={"read_committed_snapshot": False})["READ_COMMITTED_SNAPSHOT"]
    assert not found.ok
    assert "ALTER DATABASE [zoompool] SET READ_COMMITTED_SNAPSHOT ON" in found.detail


def test_a_credential_a_blob_account_cannot_serve_is_reported(
        findings: Callable[..., dict[str, Finding]]) -> None:
    found = findings(synapse_copy_auth="service-principal", azure_tenant_id="t",
                     azure_client_id="c", azure_client_secret="s")["storage account"]
    assert not found.ok
    assert "with a service principal needs an ADLS Gen2 account" in found.detail


def test_the_copy_permission_comes_from_the_probe(
        findings: Callable[..., dict[str, Finding]]) -> None:
    missing = findings(probe="failed: [42000] You do not have permission to use the bulk "
                             "load statement. (4834)")["COPY permission"]
    assert not missing.ok and "GRANT ADMINISTER DATABASE BULK OPERATIONS" in missing.detail


def test_check_prints_the_report_and_fails_on_a_pool_without_snapshot_reads(
        emu: RunningEmulator, tmp_path: Path) -> None:  # noqa: F811
    env = env_for(emu, tmp_path)
    env["ZOOMSYNC_TEST_STANDIN_OPTIONS"] = json.dumps({"read_committed_snapshot": False})
    r = subprocess.run([sys.executable, "-m", "tests.destinations.synapse.standin_cli",
                        str(tmp_path / "pool.duckdb"), "check", "--destination", "synapse",
                        "--streams", "users"], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=300)
    assert r.returncode == 1, r.stderr[-2000:]
    out = " ".join(r.stdout.split())
    assert "failed: the Synapse pool zoompool reads uncommitted data" in out
    assert "READ_COMMITTED_SNAPSHOT │ NO" in out
    assert "COPY permission │ NO" in out
    assert "pw-not-to-be-printed" not in r.stdout + r.stderr
