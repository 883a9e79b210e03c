"""`zoomsync run --destination synapse --mask-pii` as a user runs it, in its own process,
configured only by environment variables; the pool is the stand-in (standin_cli.py)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.conftest import small_account
from tests.services import AZURITE_BLOB_URL, AZURITE_CONNECTION_STRING, service
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.server import RunningEmulator


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with small_account(users=5) as running:
        yield running


def env_for(emu: RunningEmulator, home: Path) -> dict[str, str]:
    from azure.storage.blob import BlobServiceClient

    connection = service(AZURITE_CONNECTION_STRING, "Azurite")
    container = f"cli-{secrets.token_hex(4)}"
    BlobServiceClient.from_connection_string(connection).create_container(container)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ZOOM_", "ZOOMSYNC_", "AZURE_"))}
    env.update(HOME=str(home), ZOOM_ACCOUNT_ID=CREDS.account_id, ZOOM_CLIENT_ID=CREDS.client_id,
               ZOOM_CLIENT_SECRET=CREDS.client_secret, ZOOM_API_URL=emu.api_url,
               ZOOM_OAUTH_URL=emu.oauth_url, ZOOMSYNC_PLAN="business", ZOOMSYNC_BUDGET="1",
               ZOOMSYNC_TEST_AZURITE_BLOB_URL=service(AZURITE_BLOB_URL, "Azurite"),
               ZOOMSYNC_SYNAPSE_SERVER="ws.sql.azuresynapse.net",
               ZOOMSYNC_SYNAPSE_DATABASE="zoompool", ZOOMSYNC_SYNAPSE_USER="loader",
               ZOOMSYNC_SYNAPSE_PASSWORD="pw-not-to-be-printed",
               ZOOMSYNC_SYNAPSE_DRIVER="standin", ZOOMSYNC_SYNAPSE_CONTAINER=container,
               AZURE_STORAGE_CONNECTION_STRING=connection,
               PYTHONPATH=str(Path(__file__).resolve().parents[3]))  # for tests.*
    return env


def test_run_with_masking_loads_and_masks(emu: RunningEmulator, tmp_path: Path) -> None:
    database = tmp_path / "pool.duckdb"
    r = subprocess.run([sys.executable, "-m", "tests.destinations.synapse.standin_cli",
                        str(database), "run", "--destination", "synapse", "--mask-pii",
                        "--streams", "users,past_meetings,meeting_participants"],
                       capture_output=True, text=True, env=env_for(emu, tmp_path),
                       cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "pw-not-to-be-printed" not in r.stderr + r.stdout
    with duckdb.connect(str(database), read_only=True) as db:
        users = db.execute("SELECT count(*) FROM zoom.users").fetchone()[0]
        families = {row[0] for row in db.execute(
            "SELECT table_family FROM zoom.zoomsync_loads").fetchall()}
    assert users == len(emu.emulator.dataset.live_users())
    assert {"users", "past_meetings", "meeting_participants"} <= families


def test_mask_pii_elsewhere_is_refused_in_one_line(emu: RunningEmulator, tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "zoomsync", "run", "--mask-pii",
                        "--destination", "duckdb"], capture_output=True, text=True,
                       env=env_for(emu, tmp_path), cwd=tmp_path, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip() == ("error: --mask-pii (ZOOMSYNC_MASK_PII) applies to the synapse "
                                "destination only: masking is a Synapse feature")


def test_a_value_longer_than_its_column_stops_the_run_in_one_line(emu: RunningEmulator,
                                                                   tmp_path: Path) -> None:
    env = env_for(emu, tmp_path)
    env["ZOOMSYNC_SYNAPSE_LAYOUT"] = '{"users": {"lengths": {"email": 5}}}'
    r = subprocess.run([sys.executable, "-m", "tests.destinations.synapse.standin_cli",
                        str(tmp_path / "pool.duckdb"), "run", "--destination", "synapse",
                        "--streams", "users"], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=300)
    assert r.returncode == 2, r.stderr[-3000:]  # a setting or a column to fix, then rerun
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: table users, column email: the value in row 1 of users.")
    assert "characters long, more than the 5 the column holds" in last
    assert "Traceback" not in r.stderr and "pw-not-to-be-printed" not in r.stderr
