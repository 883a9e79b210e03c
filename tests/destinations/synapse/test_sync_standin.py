"""`zoomsync run --destination synapse` end to end without a pool: emulator -> dlt -> Parquet
staged in Azurite -> the pool stand-in (standin.py), whose COPY reads Azurite through the SAS
the destination signed. Tables equal the emulator's ground truth, a second run changes
nothing, and a crash between staging and publishing, then a rerun, gives the same rows.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.destinations.synapse.standin import PoolStandIn
from tests.destinations.synapse.syncs import (
    SMALL,
    Pool,
    contents_of,
    crash_args,
    rerun,
    settings_for,
    sync,
)
from tests.sync import contents
from tests.sync.compare import PAIRS, comparable, differences, truth_rows
from zoomsync.config import Settings
from zoomsync.emulator.server import RunningEmulator
from zoomsync.sync.report import RunReport


@dataclass
class Loaded:
    pool: Pool
    reports: tuple[RunReport, RunReport]
    counts: tuple[dict[str, int], dict[str, int]]
    settings: Settings
    first: contents.Contents  # every row after the first run


@pytest.fixture(scope="module")
def loaded(emulator: RunningEmulator, standin: PoolStandIn,
           tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    dataset = f"zoom_{secrets.token_hex(3)}"
    settings = settings_for(emulator, tmp_path_factory.mktemp("synapse"), dataset,
                            mask_pii=True)
    pool = Pool(standin, dataset)
    reports, counts, snapshots = [], [], []
    for _ in range(2):
        reports.append(sync(emulator, settings))
        counts.append(pool.counts())
        snapshots.append(contents.contents(pool))
    return Loaded(pool, (reports[0], reports[1]), (counts[0], counts[1]), settings,
                  snapshots[0])


@pytest.mark.parametrize("table", sorted(PAIRS))
def test_table_equals_ground_truth(loaded: Loaded, emulator: RunningEmulator,
                                   table: str) -> None:
    truth_table, key = PAIRS[table]
    expected = truth_rows(emulator.emulator, truth_table, key)
    if table == "past_webinars":  # Zoom leaves out webinars with fewer than two people
        expected = [r for r in expected if r["participant_segments"] >= 2]
    actual = comparable(loaded.pool.rows(table))
    assert expected
    assert differences(expected, actual, key) == []


def test_second_run_changes_nothing(loaded: Loaded) -> None:
    first, second = loaded.reports
    assert first.ok and second.ok, first.reasons() + second.reasons()
    before, after = loaded.counts
    assert set(PAIRS) <= set(before)
    assert any("__" in t for t in before)
    assert before == after
    # Every row of every table, child tables included, not only the counts.
    assert contents.differences(contents.contents(loaded.pool), loaded.first) == []
    assert first.rows["meeting_participants"] == before["meeting_participants"] > 1000


def test_every_family_committed_once_per_load_and_staging_is_gone(loaded: Loaded) -> None:
    pool, dataset = loaded.pool, loaded.pool.dataset
    ledger = pool.standin.rows(f'SELECT load_id, table_family FROM "{dataset}".zoomsync_loads')
    assert len(ledger) == len(set(ledger))
    loads = {r[0] for r in ledger}
    assert len(loads) == 2  # two runs, two loads
    assert {r[1] for r in ledger} >= {"users", "meeting_participants", "_dlt_pipeline_state"}
    staging = pool.standin.rows("SELECT table_name FROM information_schema.tables "
                                f"WHERE table_schema = '{dataset}_staging'")
    assert staging == []
    from azure.storage.blob import BlobServiceClient

    container = BlobServiceClient.from_connection_string(
        loaded.settings.azure_storage_connection_string.get_secret_value()  # type: ignore[union-attr]
    ).get_container_client(loaded.settings.synapse_container)  # type: ignore[arg-type]
    assert list(container.list_blobs()) == []  # every load's files deleted after commit


def test_layout_keys_and_masks_reach_the_pool(loaded: Loaded) -> None:
    layouts, dataset = loaded.pool.standin.layouts, loaded.pool.dataset
    assert layouts[f"[{dataset}].[meeting_participants]"] == (
        "WITH (DISTRIBUTION = HASH([meeting_uuid]), HEAP)")
    assert layouts[f"[{dataset}].[users]"] == (
        "WITH (DISTRIBUTION = REPLICATE, CLUSTERED INDEX ([id]))")
    creates = [s for s in loaded.pool.standin.log
               if s.startswith(f"CREATE TABLE [{dataset}].[past_meetings]")]
    assert "[uuid] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL" in creates[0]
    masks = [s for s in loaded.pool.standin.masks if f"[{dataset}].[users]" in s]
    assert (f"ALTER TABLE [{dataset}].[users] ALTER COLUMN [email] ADD MASKED WITH "
            "(FUNCTION = 'email()')") in masks


def test_the_pipeline_state_restores_from_the_pool(loaded: Loaded) -> None:
    import dlt

    from zoomsync.destinations import resolve
    from zoomsync.sync.runner import pipeline_for

    pipeline = pipeline_for(loaded.settings, resolve(loaded.settings))
    pipeline.drop()  # forget the local state: it must come back from the pool
    pipeline = pipeline_for(loaded.settings, resolve(loaded.settings))
    pipeline.sync_destination()
    assert pipeline.state["_state_version"] >= 1
    assert pipeline.state.get("sources")
    assert isinstance(pipeline, dlt.Pipeline)


# dlt says "will now load the pending load packages" through a deprecated logger method.
@pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning")
def test_kill_9_between_stage_and_publish_then_a_rerun_loads_exactly_once(
        emulator: RunningEmulator, clean: contents.Contents, tmp_path: Path) -> None:
    import subprocess
    import sys

    crashed = crash_args(emulator, tmp_path, "crashed")
    child = subprocess.run([sys.executable, "-m", "tests.destinations.synapse.crash_child",
                            json.dumps(crashed)], capture_output=True, timeout=300)
    assert child.returncode == -9, child.stderr.decode()[-2000:]
    assert "[meeting_participants__" in Path(crashed["marker"]).read_text()
    _, ledger = contents_of(crashed)
    assert "meeting_participants" not in {family for _, family in ledger}
    rerun(crashed)  # finishes the pending load: the family's ledger row is missing, so it runs

    after_crash, ledger = contents_of(crashed)
    assert contents.differences(clean, after_crash) == []
    assert sum(after_crash["meeting_participants"].values()) > 1000
    assert len(ledger) == len(set(ledger))  # every family of every load committed once


def test_a_connection_lost_inside_the_merge_is_retried_exactly_once(
        emulator: RunningEmulator, standin: PoolStandIn, tmp_path: Path) -> None:
    dataset = f"zoom_{secrets.token_hex(3)}"
    settings = settings_for(emulator, tmp_path, dataset)
    failed: list[str] = []

    def drop_once(sql: str) -> bool:
        if not failed and sql.startswith(f"INSERT INTO [{dataset}].[meeting_participants]"):
            failed.append(sql)
            return True
        return False

    standin.fail_before = drop_once
    try:
        report = sync(emulator, settings, SMALL)
    finally:
        standin.fail_before = None
    assert failed and report.ok, report.reasons()
    pool = Pool(standin, dataset)
    rows = pool.rows("meeting_participants")
    keys = [(r["meeting_uuid"], r["user_id"], r["join_time"]) for r in rows]
    assert len(keys) == len(set(keys)) > 1000
    ledger = standin.rows(f'SELECT table_family FROM "{dataset}".zoomsync_loads')
    assert ledger.count(("meeting_participants",)) == 1


def test_a_copy_the_pool_cannot_read_fails_the_run_in_one_line(
        emulator: RunningEmulator, standin: PoolStandIn, tmp_path: Path) -> None:
    from zoomsync.errors import DestinationError

    secret = "sv=2024-11-04&sp=rl&sig=Zm9yZ2Vk"
    settings = settings_for(emulator, tmp_path, f"zoom_{secrets.token_hex(3)}",
                            synapse_copy_auth="sas", azure_storage_sas_token=secret)
    with pytest.raises(DestinationError) as caught:
        sync(emulator, settings, ["users"])
    message = str(caught.value)
    assert "\n" not in message and "Zm9yZ2Vk" not in message
    # The pool's own reason, whole, not dlt's wrapper text around it (failures.py).
    assert message == ("the load step failed: [42000] Not able to validate external location "
                       "because The remote server returned an error: (403) Server failed to "
                       "authenticate the request. (105019)")


def test_the_last_row_of_a_repeated_key_wins_across_files(
        emulator: RunningEmulator, standin: PoolStandIn, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two rows per file, in files dlt names at random: the merge keeps the row read last,
    by the table's dedup sort column (`_zoomsync_read_order`, as zoomsync's source sets it),
    and only its nested rows."""
    import dlt

    from zoomsync.destinations import resolve
    from zoomsync.sync.read_order import HINT, READ_ORDER, stamp

    monkeypatch.setenv("NORMALIZE__DATA_WRITER__FILE_MAX_ITEMS", "2")
    dataset = f"zoom_{secrets.token_hex(3)}"
    settings = settings_for(emulator, tmp_path, dataset)
    target = resolve(settings)
    pipeline = dlt.pipeline(pipeline_name="synapse_files", destination=target.destination,
                            staging=target.staging, dataset_name=dataset,
                            pipelines_dir=str(tmp_path / "pipelines"))
    rows = [{"id": i % 3, "topic": f"v{i}", "tags": [{"t": f"t{i}"}]} for i in range(12)]
    stamp(rows)
    resource = dlt.resource(rows, name="meetings", write_disposition="merge", primary_key="id",
                            columns={READ_ORDER: HINT.copy()})
    info = pipeline.run(target.adapt_resource(resource),
                        loader_file_format=target.loader_file_format)
    (package,) = info.load_packages
    assert len([j for j in package.jobs["completed_jobs"]
                if j.job_file_info.table_name == "meetings"
                and j.job_file_info.file_format == "parquet"]) == 6
    pool = Pool(standin, dataset)
    assert {r["id"]: r["topic"] for r in pool.rows("meetings")} == {0: "v9", 1: "v10", 2: "v11"}
    assert sorted(r["t"] for r in pool.rows("meetings__tags")) == ["t10", "t11", "t9"]


def test_declared_widths_are_read_once_per_load_not_per_file(loaded: Loaded) -> None:
    """Each upload checks values against the pool's declared widths: read once per load for
    the whole dataset (when its tables are set up), never again table by table per file."""
    dataset = loaded.pool.dataset
    whole = [s for s in loaded.pool.standin.log
             if s.startswith("SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM")
             and f"TABLE_SCHEMA = '{dataset}'" in s]
    per_table = [s for s in whole if "AND TABLE_NAME =" in s]
    assert per_table == []
    assert len(whole) == 2  # one per run
