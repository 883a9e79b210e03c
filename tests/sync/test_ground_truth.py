"""A full sync of the emulator's default dataset equals its ground truth, table by table,
with and without faults."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tests.conftest import UNLIMITED
from tests.sync.compare import PAIRS, differences, truth_rows, warehouse
from zoomsync.config import Settings
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.faults import FaultConfig
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.server import RunningEmulator
from zoomsync.sync.report import RunReport
from zoomsync.sync.runner import run
from zoomsync.zoom import Pacer, ZoomClient, ZoomCredentials

# "Now" for both runs, so the fault-free and the faulty account are the same account. The
# emulator's clock starts here and runs in real time, as Zoom's does for a real client.
ANCHOR = datetime.now(UTC).replace(microsecond=0)
FAST = {"LIGHT": 2000, "MEDIUM": 2000, "HEAVY": 2000, "RESOURCE_INTENSIVE": 2000}


@dataclass
class Synced:
    emulator: RunningEmulator
    report: RunReport
    db: duckdb.DuckDBPyConnection


def sync(tmp: Path, faults: FaultConfig | None = None) -> Iterator[Synced]:
    config = EmulatorConfig(dataset=DatasetConfig(anchor=ANCHOR), plan="business",
                            limits=UNLIMITED, daily_cap=10_000_000,
                            faults=faults or FaultConfig())
    with RunningEmulator(config) as emu:
        settings = Settings(account_id=CREDS.account_id, client_id=CREDS.client_id,
                            client_secret=CREDS.client_secret, api_url=emu.api_url,
                            oauth_url=emu.oauth_url, duckdb_path=tmp / "warehouse.duckdb",
                            pipelines_dir=tmp / "pipelines", plan="business", budget=1.0)
        client = ZoomClient(ZoomCredentials(CREDS.account_id, CREDS.client_id,
                                            CREDS.client_secret),
                            api_url=emu.api_url, oauth_url=emu.oauth_url,
                            pacer=Pacer(plan="business", budget=1.0, limits=FAST),
                            backoff=0.05, max_retries=8)
        with client:
            report = run(settings, client=client)
        emu.emulator.faults.configure(FaultConfig())  # read the truth without faults
        with duckdb.connect(str(tmp / "warehouse.duckdb"), read_only=True) as db:
            yield Synced(emu, report, db)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    yield from sync(tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    faults = FaultConfig(error_5xx=0.10, rate_429=0.005, reset=0.02, slow=0.02, slow_ms=300,
                         revoke_token=0.002)
    yield from sync(tmp_path_factory.mktemp("faulty"), faults)


@pytest.mark.parametrize("table", sorted(PAIRS))
def test_table_equals_ground_truth(clean: Synced, table: str) -> None:
    truth_table, key = PAIRS[table]
    expected = truth_rows(clean.emulator.emulator, truth_table, key)
    if table == "past_webinars":
        # Zoom's webinar report leaves out webinars with fewer than two people (3001);
        # those instances are listed as skipped in the run report.
        expected = [r for r in expected if r["participant_segments"] >= 2]
    actual = warehouse(clean.db, "zoom", table)
    assert expected, f"the truth has no {truth_table} rows: the test would prove nothing"
    assert differences(expected, actual, key) == []


def test_recording_files_are_a_child_table_of_recordings(clean: Synced) -> None:
    emu = clean.emulator.emulator
    expected = {(r["recording_uuid"], r["id"]) for r in truth_rows(emu, "recording_files", ())}
    actual = set(clean.db.execute(
        "select r.uuid, f.id from zoom.recordings r join zoom.recordings__recording_files f "
        "on f._dlt_parent_id = r._dlt_id").fetchall())
    assert actual == expected and len(expected) > 20


def test_zoom_traps_are_all_handled(clean: Synced) -> None:
    ds = clean.emulator.emulator.dataset
    db = clean.db
    recurring = max(ds.definitions.values(), key=lambda d: len(ds.instances_of(d.id)))
    n = db.execute("select count(*) from zoom.past_meetings where id = ?",
                   [recurring.id]).fetchone()[0]
    assert n == sum(i.ended(clean.emulator.emulator.clock.now())
                    for i in ds.instances_of(recurring.id)) > 20
    big = max(ds.instances.values(), key=lambda i: i.people)
    rows = db.execute("select count(*) from zoom.meeting_participants where meeting_uuid = ?",
                      [big.uuid]).fetchone()[0]
    assert rows > 300
    slashed = [i.uuid for i in ds.instances.values() if i.uuid.startswith("/") or "//" in i.uuid]
    got = {r[0] for r in db.execute("select uuid from zoom.past_meetings").fetchall()}
    assert set(slashed) <= got
    twins = [u for u in got if u.swapcase() in got and u != u.swapcase()]
    assert twins  # UUIDs equal but for case are two rows
    guests = db.execute("select count(*) from zoom.meeting_participants where id = ''"
                        ).fetchone()[0]
    assert guests > 0
    instant = [d.id for d in ds.definitions.values() if d.type == 1]
    found = db.execute(f"select count(*) from zoom.past_meetings where type = 1 and id in "
                       f"({','.join(map(str, instant))})").fetchone()[0]
    assert found == len(instant)


def test_report_lists_skipped_partitions_with_their_zoom_error(clean: Synced) -> None:
    report = clean.report
    assert report.ok, report.reasons()
    emu = clean.emulator.emulator
    solo = {r["uuid"] for r in truth_rows(emu, "past_webinars", ("uuid",))
            if r["participant_segments"] < 2}
    skipped = {s.partition for s in report.skipped
               if (s.stream, s.status, s.code) == ("past_webinars", 404, 3001)}
    assert solo and skipped == solo
    live = next(i for i in emu.dataset.instances.values() if i.live(emu.clock.now()))
    assert clean.db.execute("select count(*) from zoom.past_meetings where uuid = ?",
                            [live.uuid]).fetchone()[0] == 0  # not ended: not loaded yet
    assert report.rows["meeting_participants"] > 1000
    assert report.calls["MEDIUM"]["calls"] > 0 and report.calls["HEAVY"]["calls"] > 0


def test_faults_do_not_change_the_tables(clean: Synced, faulty: Synced) -> None:
    report = faulty.report
    assert report.ok, report.reasons()
    retries = sum(stats["retries"] for stats in report.calls.values())
    assert retries > 50  # the faults really happened
    counters = faulty.emulator.emulator.faults.counters()
    assert counters["error_5xx"] > 0 and counters["reset"] > 0
    assert counters["revoke_token"] > 0
    for table, (_, key) in PAIRS.items():
        expected = warehouse(clean.db, "zoom", table)
        actual = warehouse(faulty.db, "zoom", table)
        assert differences(expected, actual, key) == [], table

