"""Syncs into the pool stand-in, shared by the Synapse tests: settings for a dataset of its
own in the package's stand-in (conftest.py), a sync, the pool read back as dicts, and the
plumbing of the `kill -9` tests (crash_child.py runs `run_against` in its own process on a
stand-in kept in a DuckDB file).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.destinations.synapse.standin import PoolStandIn
from tests.services import AZURITE_BLOB_URL, AZURITE_CONNECTION_STRING, service
from tests.sync import contents
from zoomsync.config import Settings
from zoomsync.destinations.synapse import target as synapse_target
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.server import RunningEmulator
from zoomsync.sync.report import RunReport
from zoomsync.sync.runner import run
from zoomsync.zoom import Pacer, ZoomClient, ZoomCredentials

FAST = {"LIGHT": 2000, "MEDIUM": 2000, "HEAVY": 2000, "RESOURCE_INTENSIVE": 2000}
SMALL = ["users", "groups", "group_members", "recordings", "past_meetings",
         "meeting_participants"]


@dataclass
class Pool:
    """The stand-in pool holding one dataset, read back as dicts."""

    standin: PoolStandIn
    dataset: str

    def tables(self) -> list[str]:
        rows = self.standin.rows("SELECT table_name FROM information_schema.tables "
                                 f"WHERE table_schema = '{self.dataset}'")
        return sorted(r[0] for r in rows if not r[0].startswith("_dlt")
                      and r[0] != "zoomsync_loads")

    def rows(self, table: str) -> list[dict[str, Any]]:
        cursor = self.standin.db.cursor().execute(f'SELECT * FROM "{self.dataset}"."{table}"')
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    def counts(self) -> dict[str, int]:
        return {t: len(self.rows(t)) for t in self.tables()}


def settings_for(emu: RunningEmulator, tmp: Path, dataset: str, **extra: Any) -> Settings:
    from azure.storage.blob import BlobServiceClient

    connection = service(AZURITE_CONNECTION_STRING, "Azurite")
    container = f"synapse-{secrets.token_hex(4)}"
    BlobServiceClient.from_connection_string(connection).create_container(container)
    return Settings(account_id=CREDS.account_id, client_id=CREDS.client_id,
                    client_secret=CREDS.client_secret, api_url=emu.api_url,
                    oauth_url=emu.oauth_url, dataset_name=dataset,
                    pipelines_dir=tmp / "pipelines", plan="business", budget=1.0,
                    destination="synapse", synapse_server="pool.sql.azuresynapse.net",
                    synapse_database="zoompool", synapse_user="loader",
                    synapse_password="not-a-secret", synapse_driver="standin",
                    synapse_container=container,
                    azure_storage_connection_string=connection, **extra)


def sync(emu: RunningEmulator, settings: Settings, streams: list[str] | None = None) -> RunReport:
    client = ZoomClient(ZoomCredentials(CREDS.account_id, CREDS.client_id, CREDS.client_secret),
                        api_url=emu.api_url, oauth_url=emu.oauth_url,
                        pacer=Pacer(plan="business", budget=1.0, limits=FAST),
                        backoff=0.05, max_retries=8)
    with client:
        return run(settings, client=client, streams=streams)


def run_against(args: dict[str, Any]) -> RunReport:
    """One sync described by plain values (the crash child's entry): SMALL's streams, or
    `args["streams"]`."""
    settings = Settings(account_id=CREDS.account_id, client_id=CREDS.client_id,
                        client_secret=CREDS.client_secret, api_url=args["api_url"],
                        oauth_url=args["oauth_url"], dataset_name=args["dataset"],
                        pipelines_dir=Path(args["pipelines"]), plan="business", budget=1.0,
                        destination="synapse", synapse_server="pool.sql.azuresynapse.net",
                        synapse_database="zoompool", synapse_user="loader",
                        synapse_password="not-a-secret", synapse_driver="standin",
                        synapse_container=args["container"],
                        azure_storage_connection_string=args["connection"])
    client = ZoomClient(ZoomCredentials(CREDS.account_id, CREDS.client_id, CREDS.client_secret),
                        api_url=args["api_url"], oauth_url=args["oauth_url"],
                        pacer=Pacer(plan="business", budget=1.0, limits=FAST),
                        backoff=0.05, max_retries=8)
    with client:
        return run(settings, client=client, streams=args.get("streams", SMALL))


def crash_args(emu: RunningEmulator, tmp: Path, name: str) -> dict[str, Any]:
    from azure.storage.blob import BlobServiceClient

    connection = service(AZURITE_CONNECTION_STRING, "Azurite")
    container = f"crash-{secrets.token_hex(4)}"
    BlobServiceClient.from_connection_string(connection).create_container(container)
    return {"api_url": emu.api_url, "oauth_url": emu.oauth_url, "dataset": "zoom",
            "pipelines": str(tmp / name / "pipelines"), "container": container,
            "connection": connection, "blob_url": service(AZURITE_BLOB_URL, "Azurite"),
            "database": str(tmp / f"{name}.duckdb"), "marker": str(tmp / f"{name}.killed")}


def contents_of(args: dict[str, Any]) -> tuple[contents.Contents, list[tuple[Any, ...]]]:
    pool = PoolStandIn(args["blob_url"], args["database"])
    try:
        ledger = pool.rows("SELECT load_id, table_family FROM zoom.zoomsync_loads")
        return contents.contents(Pool(pool, "zoom")), ledger
    finally:
        pool.db.close()


def rerun(args: dict[str, Any]) -> None:
    pool = PoolStandIn(args["blob_url"], args["database"])
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(synapse_target.CONNECTORS, "standin", pool.connector)
            report = run_against(args)
        assert report.ok, report.reasons()
    finally:
        pool.db.close()
