"""End to end: admin changes in the emulator → its signed webhook deliveries → receiver →
spool → applier → DuckDB rows that equal the emulator's ground truth, within a bound."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import duckdb
import pytest

from tests.sync.compare import differences, flatten, scalar
from tests.webhooks.conftest import Live
from zoomsync.emulator import truth

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

BOUND = 20.0  # seconds from the last change to every row in the warehouse


def truth_of(live: Live, table: str) -> list[dict[str, Any]]:
    emu = live.emulator.emulator
    return [flatten(r) for r in truth.iter_table(emu.dataset, table, emu.clock.now())]


def rows(live: Live, table: str, where: str = "") -> list[dict[str, Any]]:
    with duckdb.connect(str(live.settings.duckdb_path)) as db:
        cursor = db.execute(f"select * from zoom.{table} {where}")
        names = [c[0] for c in cursor.description]
        return [{n: scalar(v) for n, v in zip(names, r, strict=True) if not n.startswith("_dlt")}
                for r in cursor.fetchall()]


def test_meeting_lifecycle_reaches_the_warehouse(live: Live) -> None:
    admin = live.admin
    host = next(iter(live.emulator.emulator.dataset.users))
    created = admin.post("/meetings", json={"host_id": host, "topic": "Webhooked", "type": 2,
                                            "duration": 30}).json()
    mid = created["id"]
    admin.patch(f"/meetings/{mid}", json={"topic": "Webhooked, renamed"}).raise_for_status()
    started = admin.post(f"/meetings/{mid}/start", json={"people": 2}).json()
    uuid = quote(quote(started["uuid"], safe=""), safe="")
    admin.post(f"/instances/{uuid}/participants", json={"participants": [
        {"name": "Ann", "email": "ann@example.com"}, {"name": "Guest"}]}).raise_for_status()
    admin.post(f"/meetings/{mid}/end", json={"recording": True}).raise_for_status()
    elapsed = live.drain()
    assert elapsed < BOUND

    [meeting] = rows(live, "meetings", f"where id = {mid}")
    [expected] = [m for m in truth_of(live, "meetings") if m["id"] == mid]
    assert meeting["topic"] == "Webhooked, renamed"
    assert differences([expected], [meeting], ("id",)) == []

    instance = started["uuid"]
    past = rows(live, "past_meetings")
    assert differences([p for p in truth_of(live, "past_meetings") if p["uuid"] == instance],
                       past, ("uuid",)) == []
    key = ("meeting_uuid", "user_id", "join_time")
    participants = rows(live, "meeting_participants")
    want = [p for p in truth_of(live, "meeting_participants") if p["meeting_uuid"] == instance]
    assert {p["name"] for p in participants} >= {"Ann", "Guest"}
    assert differences(want, participants, key) == []
    recordings = rows(live, "recordings")
    assert instance in {r["uuid"] for r in recordings}
    assert live.receiver.spool.stats()["applied"] == live.receiver.spool.stats()["spooled"]


def test_a_deleted_meeting_ends_deleted_even_after_a_later_update_event(live: Live) -> None:
    admin = live.admin
    host = next(iter(live.emulator.emulator.dataset.users))
    mid = admin.post("/meetings", json={"host_id": host, "topic": "Doomed", "type": 2}).json()["id"]
    live.drain()
    assert [r["topic"] for r in rows(live, "meetings", f"where id = {mid}")] == ["Doomed"]
    # Out of order: the update event is applied after the delete; Zoom answers 404 now.
    live.applier.batch_size = 10_000
    admin.patch(f"/meetings/{mid}", json={"topic": "Doomed, renamed"}).raise_for_status()
    admin.delete(f"/meetings/{mid}").raise_for_status()
    live.drain()
    [row] = rows(live, "meetings", f"where id = {mid}")
    assert row.get("_zoomsync_deleted_at") is not None


def test_users_created_updated_and_deleted(live: Live) -> None:
    admin = live.admin
    user = admin.post("/users", json={"email": "new.person@example.com", "first_name": "New",
                                      "last_name": "Person", "type": 1}).json()
    admin.patch(f"/users/{user['id']}", json={"dept": "Research"}).raise_for_status()
    live.drain()
    [row] = rows(live, "users", f"where id = '{user['id']}'")
    [expected] = [u for u in truth_of(live, "users") if u["id"] == user["id"]]
    assert row["dept"] == "Research"
    assert differences([expected], [row], ("id",)) == []
    admin.delete(f"/users/{user['id']}").raise_for_status()
    live.drain()
    [row] = rows(live, "users", f"where id = '{user['id']}'")
    assert row.get("_zoomsync_deleted_at") is not None


def test_after_a_full_sync_applied_events_keep_every_table_equal_to_zoom(live: Live) -> None:
    """The targeted refresh touches only what events name: the rest of each table, loaded
    by a full sync, stays as it was, and the whole table equals the ground truth."""
    from zoomsync.sync.runner import run

    report = run(live.settings, client=live.applier.client)
    assert report.ok, report.reasons()
    admin, ds = live.admin, live.emulator.emulator.dataset
    candidates = sorted(d.id for d in ds.definitions.values()
                        if d.kind == "meeting" and d.type in (2, 3, 8))
    existing = candidates.pop(0)
    admin.patch(f"/meetings/{existing}", json={"topic": "Renamed by webhook"}).raise_for_status()
    # A meeting in progress cannot be deleted (409): the first one that is not.
    doomed = next(m for m in candidates if admin.delete(f"/meetings/{m}").status_code == 200)
    host = ds.definitions[existing].host_id
    mid = admin.post("/meetings", json={"host_id": host, "topic": "Fresh", "type": 2}
                     ).json()["id"]
    admin.post(f"/meetings/{mid}/end", json={"duration": 15, "people": 3, "recording": True}
               ).raise_for_status()
    other = next(u.id for u in ds.users.values() if u.id != host and u.status != "pending")
    admin.patch(f"/users/{other}", json={"dept": "Moved"}).raise_for_status()
    elapsed = live.drain()
    assert elapsed < BOUND
    keys = {"users": ("id",), "meetings": ("id",), "past_meetings": ("uuid",),
            "meeting_participants": ("meeting_uuid", "user_id", "join_time"),
            "recordings": ("uuid",)}
    for table, key in keys.items():
        actual = rows(live, table)
        live_rows = [r for r in actual if r.get("_zoomsync_deleted_at") is None]
        assert differences(truth_of(live, table), live_rows, key) == [], table
    [gone] = [r for r in rows(live, "meetings") if r["id"] == doomed]
    assert gone["_zoomsync_deleted_at"] is not None
