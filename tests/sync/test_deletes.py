"""Deletes reach PostgreSQL, Delta tables and our Synapse destination (on the pool stand-in)
as `_zoomsync_deleted_at` (child tables kept), filesystem copies drop them, and
`mark_deleted` is the call the webhook applier makes."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import UNLIMITED
from tests.destinations.places import CASES, Place
from tests.destinations.synapse.standin import PoolStandIn
from tests.destinations.synapse.syncs import Pool
from tests.destinations.synapse.syncs import settings_for as synapse_settings
from tests.services import AZURITE_BLOB_URL, service
from zoomsync.config import Settings
from zoomsync.destinations import resolve
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.routes_meetings import expired
from zoomsync.emulator.server import RunningEmulator
from zoomsync.sync.deletes import DELETED_AT, mark_deleted
from zoomsync.sync.runner import pipeline_for, run

STREAMS = ["users", "meetings", "meeting_registrants"]
ANCHOR = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(dataset=DatasetConfig(anchor=ANCHOR), plan="business",
                            limits=UNLIMITED, daily_cap=10_000_000, frozen_clock=True)
    with RunningEmulator(config) as running:
        yield running


def settings_for(emu: RunningEmulator, tmp: Path, place: Place) -> Settings:
    return Settings(account_id=CREDS.account_id, client_id=CREDS.client_id,
                    client_secret=CREDS.client_secret, api_url=emu.api_url,
                    oauth_url=emu.oauth_url, pipelines_dir=tmp / "pipelines", plan="business",
                    budget=1.0, dataset_name=f"z_{secrets.token_hex(4)}", **place.settings)


def sync(emu: RunningEmulator, settings: Settings) -> None:
    report = run(settings, streams=STREAMS, now=emu.emulator.clock.now())
    assert report.ok, report.reasons()


def delete_a_listed_meeting(emu: RunningEmulator) -> int:
    ds = emu.emulator.dataset
    now = emu.emulator.clock.now()
    victim = next(d for d in ds.definitions.values() if d.kind == "meeting" and not d.deleted
                  and d.type in (2, 8) and d.registration and not expired(d, now)
                  and not any(i.live(now) for i in ds.instances_of(d.id)))
    with httpx.Client(base_url=emu.base_url + "/_emulator") as admin:
        admin.delete(f"/meetings/{victim.id}").raise_for_status()
        admin.post("/clock", json={"advance_seconds": 60}).raise_for_status()
    return victim.id


@pytest.mark.parametrize("case", ["postgres", "delta-local"])
def test_a_deleted_meeting_is_marked_with_its_registrants_and_children_kept(
        emu: RunningEmulator, tmp_path: Path, case: str) -> None:
    place = CASES[case](tmp_path, "unused")
    settings = settings_for(emu, tmp_path, place)
    place = CASES[case](tmp_path, settings.dataset_name)
    sync(emu, settings)
    occurrences = len(place.reader.rows("meetings__occurrences"))
    victim = delete_a_listed_meeting(emu)
    sync(emu, settings)
    meetings = {r["id"]: r for r in place.reader.rows("meetings")}
    assert meetings[victim][DELETED_AT] is not None
    assert [m for m in meetings.values() if m[DELETED_AT] is not None] == [meetings[victim]]
    registrants = [r for r in place.reader.rows("meeting_registrants")
                   if r["meeting_id"] == victim]
    assert registrants and all(r[DELETED_AT] is not None for r in registrants)
    # Marked in place: the meeting's child-table rows are still there.
    assert len(place.reader.rows("meetings__occurrences")) == occurrences
    # The webhook applier's call: marks once, keeps the first mark.
    pipeline = pipeline_for(settings, resolve(settings))
    target = resolve(settings)
    other = next(i for i, m in meetings.items() if m[DELETED_AT] is None)
    at = emu.emulator.clock.now()
    assert mark_deleted(pipeline, target, "meetings", [{"id": other}], at) == 1
    assert mark_deleted(pipeline, target, "meetings", [{"id": other}, {"id": victim}], at) == 0


def test_filesystem_copies_leave_a_deleted_meeting_out(emu: RunningEmulator,
                                                      tmp_path: Path) -> None:
    place = CASES["filesystem-local"](tmp_path, "unused")
    settings = settings_for(emu, tmp_path, place)
    place = CASES["filesystem-local"](tmp_path, settings.dataset_name)
    sync(emu, settings)
    victim = delete_a_listed_meeting(emu)
    sync(emu, settings)
    ids = {r["id"] for r in place.reader.rows("meetings")}
    assert ids and victim not in ids
    assert mark_deleted(pipeline_for(settings, resolve(settings)), resolve(settings),
                        "meetings", [{"id": next(iter(ids))}], ANCHOR) == 0


@pytest.fixture
def pool_standin() -> Iterator[PoolStandIn]:
    from zoomsync.destinations.synapse import target as synapse_target

    pool = PoolStandIn(service(AZURITE_BLOB_URL, "Azurite"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(synapse_target.CONNECTORS, "standin", pool.connector)
        yield pool


def test_a_deleted_meeting_is_marked_in_synapse(emu: RunningEmulator, tmp_path: Path,
                                                pool_standin: PoolStandIn) -> None:
    """Through our Synapse destination's SQL client, on the pool stand-in (T-SQL on DuckDB)."""
    settings = synapse_settings(emu, tmp_path, f"z_{secrets.token_hex(4)}")
    pool = Pool(pool_standin, settings.dataset_name)
    sync(emu, settings)
    victim = delete_a_listed_meeting(emu)
    sync(emu, settings)
    marked = {r["id"] for r in pool.rows("meetings") if r[DELETED_AT] is not None}
    assert marked == {victim}
    registrants = [r for r in pool.rows("meeting_registrants") if r["meeting_id"] == victim]
    assert registrants and all(r[DELETED_AT] is not None for r in registrants)
