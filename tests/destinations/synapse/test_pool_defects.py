"""Loads a real dedicated pool would fail or corrupt, each shown through the strict stand-in
(standin.py), which refuses what Synapse refuses: a new field on a columnstore table, a value
longer than its column, a COPY retried on its own, a pool reading uncommitted data, COPY
without a credential on a SQL login, a row over COPY's 1 MB, and masking without
`sys.masked_columns`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.destinations.synapse.standin import PoolStandIn
from tests.destinations.synapse.syncs import (
    SMALL,
    Pool,
    settings_for,
    sync,
)
from tests.destinations.synapse.test_pool_faults import FirstOf
from tests.services import AZURITE_BLOB_URL, service
from zoomsync.config import Settings
from zoomsync.destinations.synapse import target as synapse_target
from zoomsync.emulator.server import RunningEmulator
from zoomsync.errors import ConfigError


def load(settings: Settings, tmp_path: Path, rows: list[dict[str, Any]], **hints: Any) -> Any:
    """One dlt load of `rows` as table `meetings` through zoomsync's Synapse destination."""
    import dlt

    from zoomsync.destinations import resolve

    target = resolve(settings)
    pipeline = dlt.pipeline(pipeline_name="defects", destination=target.destination,
                            dataset_name=settings.dataset_name,
                            pipelines_dir=str(tmp_path / "pipelines"))
    resource = dlt.resource(rows, name="meetings", primary_key="id",
                            write_disposition="merge", **hints)
    return pipeline.run(target.adapt_resource(resource),
                        loader_file_format=target.loader_file_format)


def tsql(pool: PoolStandIn, sql: str) -> list[tuple[Any, ...]]:
    """A query sent to the stand-in as T-SQL, as the loader sends it."""
    cursor = pool.connect().cursor()
    cursor.execute(sql)
    return list(cursor.fetchall())


@pytest.fixture
def pool_with() -> Iterator[Callable[..., PoolStandIn]]:
    """Makes a stand-in with the given options and makes it the `standin` connector."""
    with pytest.MonkeyPatch.context() as patch:
        def make(**options: Any) -> PoolStandIn:
            pool = PoolStandIn(service(AZURITE_BLOB_URL, "Azurite"), **options)
            patch.setitem(synapse_target.CONNECTORS, "standin", pool.connector)
            return pool

        yield make


def test_a_new_field_on_a_columnstore_table_gets_a_bounded_column(
        emulator: RunningEmulator, standin: PoolStandIn, tmp_path: Path) -> None:
    """Columnstore tables cannot hold nvarchar(max) (R10): the new column is nvarchar(4000)."""
    dataset = f"zoom_{secrets.token_hex(3)}"
    layout = {"meetings": {"index": "CLUSTERED COLUMNSTORE INDEX", "lengths": {"topic": 200}}}
    settings = settings_for(emulator, tmp_path, dataset, synapse_layout=json.dumps(layout))
    load(settings, tmp_path, [{"id": 1, "topic": "first"}])
    load(settings, tmp_path, [{"id": 1, "topic": "again", "agenda": "a new Zoom field"}])
    assert [(r["topic"], r["agenda"]) for r in Pool(standin, dataset).rows("meetings")] == [
        ("again", "a new Zoom field")]
    declared = tsql(standin, "SELECT DATA_TYPE, CHARACTER_MAXIMUM_LENGTH FROM "
                    f"INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = '{dataset}' AND "
                    "TABLE_NAME = 'meetings' AND COLUMN_NAME = 'agenda'")
    assert declared == [("nvarchar", 4000)]


def test_a_value_longer_than_its_column_is_refused_before_upload(
        emulator: RunningEmulator, standin: PoolStandIn, tmp_path: Path) -> None:
    dataset = f"zoom_{secrets.token_hex(3)}"
    layout = {"meetings": {"lengths": {"topic": 10}}}
    settings = settings_for(emulator, tmp_path, dataset, synapse_layout=json.dumps(layout))
    load(settings, tmp_path, [{"id": 1, "topic": "short"}])
    with pytest.raises(Exception) as caught:
        load(settings, tmp_path, [{"id": 2, "topic": "fits"}, {"id": 3, "topic": "x" * 11}])
    message = str(caught.value)
    assert "table meetings, column topic: the value in row 2" in message
    assert "is 11 characters long, more than the 10 the column holds" in message
    copies = [s for s in standin.log if s.startswith(f"COPY INTO [{dataset}_staging].[meetings")]
    assert len(copies) == 1  # the first load's only: the bad file never reached the pool
    assert [r["topic"] for r in Pool(standin, dataset).rows("meetings")] == ["short"]


def test_a_copy_that_went_through_before_the_connection_dropped_is_not_doubled(
        emulator: RunningEmulator, standin: PoolStandIn, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """COPY appends: retried alone, it staged the child rows twice; now the family is
    redone whole (drop, create, COPY)."""
    monkeypatch.setattr("zoomsync.destinations.synapse.client.FAMILY_BACKOFF", 0.01, raising=False)
    dataset = f"zoom_{secrets.token_hex(3)}"
    standin.fail_after = after_copy = FirstOf("after COPY", dataset)
    try:
        report = sync(emulator, settings_for(emulator, tmp_path, dataset), ["users"])
    finally:
        standin.fail_after = None
    assert after_copy.hit and report.ok, report.reasons()
    rows = Pool(standin, dataset).rows("users__group_ids")
    ids = [r["_dlt_id"] for r in rows]
    assert len(ids) == len(set(ids)) > 0


def test_a_pool_reading_uncommitted_data_is_refused_in_one_line(
        emulator: RunningEmulator, pool_with: Callable[..., PoolStandIn],
        tmp_path: Path) -> None:
    other_pool = pool_with(read_committed_snapshot=False)
    settings = settings_for(emulator, tmp_path, f"zoom_{secrets.token_hex(3)}")
    with pytest.raises(ConfigError) as caught:
        sync(emulator, settings, ["users"])
    assert "READ_COMMITTED_SNAPSHOT is OFF" in str(caught.value)
    assert "SET READ_COMMITTED_SNAPSHOT ON" in str(caught.value)
    assert not any(s.startswith(("CREATE", "COPY", "INSERT")) for s in other_pool.log)


def test_copy_without_a_credential_on_a_sql_login_is_refused_before_anything_runs(
        emulator: RunningEmulator, standin: PoolStandIn, tmp_path: Path) -> None:
    before = len(standin.log)
    settings = settings_for(emulator, tmp_path, f"zoom_{secrets.token_hex(3)}",
                            synapse_copy_auth="none")
    with pytest.raises(ConfigError, match="ZOOMSYNC_SYNAPSE_COPY_AUTH=none"):
        sync(emulator, settings, ["users"])
    assert len(standin.log) == before


def test_a_row_over_one_megabyte_is_loaded_by_insert(
        emulator: RunningEmulator, standin: PoolStandIn, tmp_path: Path) -> None:
    """COPY refuses rows over 1,000,000 bytes (R12): that row is set aside and INSERTed."""
    dataset = f"zoom_{secrets.token_hex(3)}"
    settings = settings_for(emulator, tmp_path, dataset)
    agenda = "é" * 300_000 + "😀" * 100_000  # 500,000 characters, 1.0 MB as nvarchar
    rows = [{"id": 1, "topic": "small", "agenda": None}, {"id": 2, "topic": "big",
                                                          "agenda": agenda}]
    load(settings, tmp_path, rows)
    loaded = {r["id"]: r["agenda"] for r in Pool(standin, dataset).rows("meetings")}
    assert loaded == {1: None, 2: agenda}
    inserts = [s for s in standin.log
               if s.startswith(f"INSERT INTO [{dataset}_staging].[meetings__")]
    assert len(inserts) == 1 and "N'small'" not in inserts[0]


def test_masks_are_applied_again_without_sys_masked_columns(
        emulator: RunningEmulator, pool_with: Callable[..., PoolStandIn],
        tmp_path: Path) -> None:
    other_pool = pool_with(masked_columns_view=False)
    dataset = f"zoom_{secrets.token_hex(3)}"
    settings = settings_for(emulator, tmp_path, dataset, mask_pii=True)
    for _ in range(2):
        report = sync(emulator, settings, SMALL[:1])
        assert report.ok, report.reasons()
    email = (f"ALTER TABLE [{dataset}].[users] ALTER COLUMN [email] ADD MASKED WITH "
             "(FUNCTION = 'email()')")
    assert other_pool.masks.count(email) == 2  # once per load: nothing tells what is masked
    assert Pool(other_pool, dataset).counts()["users"] > 0
