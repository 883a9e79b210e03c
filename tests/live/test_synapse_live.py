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


@pytest.mark.parametrize(("when", "head"), [
    ("before", "INSERT INTO [{ds}].[meeting_participants]"),  # inside the transaction
    ("after", "COPY INTO [{ds}_staging].[meeting_participants__"),  # the COPY went through
    ("after", "COMMIT TRANSACTION"),  # the commit went through
])
def test_a_connection_lost_mid_load_loads_exactly_once(
        emu: RunningEmulator, dataset: str, tmp_path: Path, when: str, head: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection drops before a statement inside a family's transaction (Synapse must
    roll it all back), or after a COPY or COMMIT took effect (zoomsync cannot know it did):
    the family is loaded again whole and exactly once."""
    real = synapse_target.CONNECTORS[os.environ.get("AZURE_SYNAPSE_DRIVER", "mssql-python")]
    failed: list[str] = []
    head = head.format(ds=dataset)

    class Cursor:
        def __init__(self, cursor: Any) -> None:
            self._cursor = cursor

        def execute(self, sql: str, *args: Any) -> Any:
            strike = not failed and sql.startswith(head)
            if strike and when == "before":
                failed.append(sql)
                raise RuntimeError("08S01", "Communication link failure (injected)")
            result = self._cursor.execute(sql, *args)
            if strike:
                failed.append(sql)
                raise RuntimeError("08S01", "Communication link failure (injected)")
            return result

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
    ledger = read_table(pipeline_for(settings, target), target, "zoomsync_loads")
    pairs = [(r["load_id"], r["table_family"]) for r in ledger]
    assert len(pairs) == len(set(pairs))


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


def test_the_pool_suits_our_loads(dataset: str) -> None:
    """What `zoomsync check --destination synapse` reports, on the real pool and account:
    READ_COMMITTED_SNAPSHOT on, the collation read, the account's kind fits the COPY
    credential, and the probe's COPY ran."""
    from zoomsync.destinations.synapse.compat import report

    target = resolve(Settings(**pool_settings(dataset)))
    findings = {f.what: f for f in report(target.destination.loader, check_target(target))}
    assert all(f.ok for f in findings.values()), findings
    assert findings["collation"].detail


def test_a_row_over_a_megabyte_and_a_new_field_on_a_columnstore_table(
        dataset: str, tmp_path: Path) -> None:
    """Two things only a real pool can settle: a row over COPY's 1 MB lands (by INSERT),
    and a field added to a columnstore table gets a column the pool accepts."""
    import json

    import dlt

    layout = {"sessions": {"index": "CLUSTERED COLUMNSTORE INDEX", "lengths": {"topic": 100}}}
    target = resolve(Settings(**pool_settings(dataset, synapse_layout=json.dumps(layout))))
    pipeline = dlt.pipeline(pipeline_name=f"wide_{dataset}", destination=target.destination,
                            dataset_name=dataset, pipelines_dir=str(tmp_path))
    first = [{"uuid": "a", "topic": "one"}]
    second = [{"uuid": "a", "topic": "two", "agenda": "é" * 3000},
              {"uuid": "b", "topic": "big", "agenda": "x" * 10}]
    pipeline.run(dlt.resource(first, name="sessions", primary_key="uuid",
                              write_disposition="merge"), loader_file_format="parquet")
    pipeline.run(dlt.resource(second, name="sessions", primary_key="uuid",
                              write_disposition="merge"), loader_file_format="parquet")
    got = {r["uuid"]: (r["topic"], r["agenda"]) for r in read_table(pipeline, target, "sessions")}
    assert got == {"a": ("two", "é" * 3000), "b": ("big", "x" * 10)}
    big = [{"uuid": "c", "notes": "😀" * 300_000}]  # 1.2 MB as nvarchar: loaded by INSERT
    pipeline.run(dlt.resource(big, name="notes", primary_key="uuid",
                              write_disposition="merge"), loader_file_format="parquet")
    rows = read_table(pipeline, target, "notes")
    assert [(r["uuid"], r["notes"]) for r in rows] == [("c", "😀" * 300_000)]
