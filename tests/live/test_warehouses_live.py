"""Opt-in: a small sync from the emulator into a real cloud warehouse, when its credentials
are set (docs/destinations.md names them). Each run loads into a fresh dataset and drops it.

    ZOOMSYNC_SNOWFLAKE_URL=snowflake://... pytest tests/live -m warehouse_live
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import UNLIMITED
from zoomsync.config import Settings
from zoomsync.destinations import resolve
from zoomsync.destinations.probe import check_target
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.server import RunningEmulator
from zoomsync.sync.runner import pipeline_for, run

# destination -> the variable without which its test skips
WAREHOUSES = {
    "snowflake": "ZOOMSYNC_SNOWFLAKE_URL",
    "bigquery": "ZOOMSYNC_BIGQUERY_PROJECT",
    "redshift": "ZOOMSYNC_REDSHIFT_URL",
    "panoply": "ZOOMSYNC_PANOPLY_URL",
}
STREAMS = ["users", "groups", "past_meetings", "meeting_participants"]

pytestmark = pytest.mark.warehouse_live


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(dataset=DatasetConfig(anchor=datetime.now(UTC), users=5),
                            limits=UNLIMITED, frozen_clock=True)
    with RunningEmulator(config) as running:
        yield running


@pytest.mark.parametrize("name", sorted(WAREHOUSES))
def test_sync_twice_into_the_real_warehouse(name: str, emu: RunningEmulator,
                                            tmp_path: Path) -> None:
    if not os.environ.get(WAREHOUSES[name]):
        pytest.skip(f"set {WAREHOUSES[name]} (docs/destinations.md) to run against {name}")
    settings = Settings(destination=name, account_id=CREDS.account_id,
                        client_id=CREDS.client_id, client_secret=CREDS.client_secret,
                        api_url=emu.api_url, oauth_url=emu.oauth_url,
                        dataset_name=f"zoomsync_live_{secrets.token_hex(3)}",
                        pipelines_dir=tmp_path / "pipelines", budget=1.0)
    target = resolve(settings)
    assert check_target(target) == "ok"
    try:
        first = run(settings, streams=STREAMS)
        second = run(settings, streams=STREAMS)
        assert first.ok and second.ok, first.reasons() + second.reasons()
        pipeline = pipeline_for(settings, target)
        with pipeline.sql_client() as sql:
            for table in ("users", "meeting_participants"):
                name_sql = sql.make_qualified_table_name(table)
                rows = sql.execute_sql(f"SELECT COUNT(*) FROM {name_sql}")
                assert rows[0][0] == first.rows[table] > 0  # merged, not appended
    finally:
        with pipeline_for(settings, target).destination_client() as client:
            client.drop_storage()
