"""Opt-in: the whole Synapse path against a real dedicated SQL pool and storage account.

Runs only when AZURE_SYNAPSE_SERVER is set; every run loads into a fresh schema and drops it
(and its `_staging` schema) at the end. Variables (docs/destinations/synapse.md, "Testing
against your pool"):

    AZURE_SYNAPSE_SERVER       myworkspace.sql.azuresynapse.net
    AZURE_SYNAPSE_DATABASE     the pool's database
    AZURE_SYNAPSE_AUTH         sql (default), service-principal, managed-identity, default
    AZURE_SYNAPSE_USER / AZURE_SYNAPSE_PASSWORD     for sql
    AZURE_SYNAPSE_DRIVER       mssql-python (default) or pyodbc
    AZURE_SYNAPSE_CONTAINER    the staging container
    AZURE_SYNAPSE_COPY_AUTHS   COPY credentials to try, e.g. generated-sas,managed-identity
    AZURE_STORAGE_ACCOUNT_NAME plus AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_TOKEN,
    or AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET for Entra ID.

    AZURE_SYNAPSE_SERVER=... pytest tests/live/test_synapse_live.py -m synapse_live
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import UNLIMITED
from tests.sync.compare import PAIRS, comparable, differences, truth_rows
from zoomsync.config import Settings
from zoomsync.destinations import resolve
from zoomsync.destinations.probe import check_target, read_table
from zoomsync.destinations.synapse import target as synapse_target
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.server import RunningEmulator
from zoomsync.sync.runner import pipeline_for, run

pytestmark = [
    pytest.mark.synapse_live,
    pytest.mark.skipif(not os.environ.get("AZURE_SYNAPSE_SERVER"),
                       reason="AZURE_SYNAPSE_SERVER is not set: no pool to test against"),
]
STREAMS = ["users", "groups", "past_meetings", "meeting_participants", "recordings"]
COPY_AUTHS = [a.strip() for a in os.environ.get("AZURE_SYNAPSE_COPY_AUTHS",
                                                "generated-sas").split(",") if a.strip()]


def pool_settings(dataset: str, **extra: Any) -> dict[str, Any]:
    env = os.environ.get
    return {"destination": "synapse", "dataset_name": dataset,
            "synapse_server": env("AZURE_SYNAPSE_SERVER"),
            "synapse_database": env("AZURE_SYNAPSE_DATABASE"),
            "synapse_auth": env("AZURE_SYNAPSE_AUTH", "sql"),
            "synapse_user": env("AZURE_SYNAPSE_USER"),
            "synapse_password": env("AZURE_SYNAPSE_PASSWORD"),
            "synapse_driver": env("AZURE_SYNAPSE_DRIVER", "mssql-python"),
            "synapse_container": env("AZURE_SYNAPSE_CONTAINER"), **extra}


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(dataset=DatasetConfig(anchor=datetime.now(UTC).replace(microsecond=0),
                                                  users=5),
                            plan="business", limits=UNLIMITED, frozen_clock=True)
    with RunningEmulator(config) as running:
        yield running


@pytest.fixture
def dataset() -> Iterator[str]:
    name = f"zoomsync_live_{secrets.token_hex(4)}"
    yield name
    target = resolve(Settings(**pool_settings(name)))
    import dlt

    pipeline = dlt.pipeline(pipeline_name=f"drop_{name}", destination=target.destination,
                            dataset_name=name)
    with pipeline.destination_client() as client:
        client.drop_storage()


def test_check_connects_creates_writes_reads_and_drops() -> None:
    assert check_target(resolve(Settings(**pool_settings("unused")))) == "ok"


@pytest.mark.parametrize("copy_auth", COPY_AUTHS)
def test_sync_twice_equals_the_truth_and_is_exactly_once(
        copy_auth: str, emu: RunningEmulator, dataset: str, tmp_path: Path) -> None:
    settings = Settings(account_id=CREDS.account_id, client_id=CREDS.client_id,
                        client_secret=CREDS.client_secret, api_url=emu.api_url,
                        oauth_url=emu.oauth_url, pipelines_dir=tmp_path, plan="business",
                        budget=1.0, mask_pii=True,
                        **pool_settings(dataset, synapse_copy_auth=copy_auth))
    reports = [run(settings, streams=STREAMS) for _ in range(2)]
    assert all(r.ok for r in reports), [r.reasons() for r in reports]
    target = resolve(settings)
    pipeline = pipeline_for(settings, target)
    for table in ("users", "past_meetings", "meeting_participants", "recordings"):
        truth_table, key = PAIRS[table]
        rows = comparable(read_table(pipeline, target, table))
        assert differences(truth_rows(emu.emulator, truth_table, key), rows, key) == []
    ledger = read_table(pipeline, target, "zoomsync_loads")
    pairs = [(r["load_id"], r["table_family"]) for r in ledger]
    assert len(pairs) == len(set(pairs)) and len({p[0] for p in pairs}) == 2
    area = target.destination.loader.area
    assert area.list(f"{settings.synapse_prefix}/{dataset}/") == []


def test_a_failure_inside_the_merge_rolls_back_and_the_retry_loads_once(
        emu: RunningEmulator, dataset: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A statement fails inside a family's transaction on the real pool: Synapse must roll
    the transaction back entirely, and dlt's retry of the job must load it once."""
    real = synapse_target.CONNECTORS[os.environ.get("AZURE_SYNAPSE_DRIVER", "mssql-python")]
    failed: list[str] = []

    class Cursor:
        def __init__(self, cursor: Any) -> None:
            self._cursor = cursor

        def execute(self, sql: str, *args: Any) -> Any:
            if not failed and sql.startswith(f"INSERT INTO [{dataset}].[meeting_participants]"):
                failed.append(sql)
                raise RuntimeError("08S01", "Communication link failure (injected)")
            return self._cursor.execute(sql, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._cursor, name)

    class Connection:
        def __init__(self, connection: Any) -> None:
            self._connection = connection

        def cursor(self) -> Cursor:
            return Cursor(self._connection.cursor())

        def __getattr__(self, name: str) -> Any:
            return getattr(self._connection, name)

    monkeypatch.setitem(synapse_target.CONNECTORS, "live-wrapped",
                        lambda config: Connection(real(config)))
    settings = Settings(account_id=CREDS.account_id, client_id=CREDS.client_id,
                        client_secret=CREDS.client_secret, api_url=emu.api_url,
                        oauth_url=emu.oauth_url, pipelines_dir=tmp_path, plan="business",
                        budget=1.0, **pool_settings(dataset, synapse_driver="live-wrapped"))
    report = run(settings, streams=["past_meetings", "meeting_participants"])
    assert failed and report.ok, report.reasons()
    target = resolve(settings)
    rows = read_table(pipeline_for(settings, target), target, "meeting_participants")
    keys = [(r["meeting_uuid"], r["user_id"], r["join_time"]) for r in rows]
    assert len(keys) == len(set(keys)) > 0


def test_long_strings_and_case_sensitive_keys_round_trip(dataset: str, tmp_path: Path) -> None:
    """Values over 4,000 characters land in nvarchar(max); keys differing only by case stay
    two rows (binary collation) — the two things a default Synapse set-up gets wrong."""
    import dlt

    target = resolve(Settings(**pool_settings(dataset)))
    long_text = "x" * 20_000
    rows = [{"uuid": "aDYl+Q==", "topic": long_text}, {"uuid": "adyl+Q==", "topic": "short"}]
    pipeline = dlt.pipeline(pipeline_name=f"long_{dataset}", destination=target.destination,
                            dataset_name=dataset, pipelines_dir=str(tmp_path))
    resource = dlt.resource(rows, name="sessions", primary_key="uuid",
                            write_disposition="merge")
    for _ in range(2):
        pipeline.run(resource, loader_file_format="parquet")
    got = {r["uuid"]: r["topic"] for r in read_table(pipeline, target, "sessions")}
    assert got == {"aDYl+Q==": long_text, "adyl+Q==": "short"}
