"""The applier into a real PostgreSQL (scripts/services.sh): merged rows and soft deletes,
from the emulator's own event bodies."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import UNLIMITED
from tests.destinations import readers
from tests.services import POSTGRES_URL, service
from tests.sync.compare import comparable, differences, flatten
from tests.webhooks.conftest import client_for, settings_for
from zoomsync.emulator import truth
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.server import RunningEmulator
from zoomsync.webhooks.apply import Applier
from zoomsync.webhooks.spool import Spool

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


def spool_recorded(admin: httpx.Client, spool: Spool, skip: int) -> int:
    """Put the events the emulator recorded (after the first `skip`) into the spool."""
    bodies = [d["body"] for d in admin.get("/webhooks").json()["deliveries"]][skip:]
    for i, body in enumerate(bodies, start=skip):
        spool.accept(json.dumps(body).encode(), event=body["event"], event_ts=body["event_ts"],
                     signature=f"v0={i}", signature_expires=time.time() + 60)
    return len(bodies)


def test_events_applied_into_postgres(tmp_path: Path) -> None:
    url = service(POSTGRES_URL, "PostgreSQL")
    dataset = "webhooks_" + secrets.token_hex(4)
    config = EmulatorConfig(dataset=DatasetConfig(anchor=datetime.now(UTC).replace(
        microsecond=0), users=4, meetings_per_user=1, large_meetings=0), plan="business",
        limits=UNLIMITED, daily_cap=10_000_000)  # no webhook URL: events are recorded
    with RunningEmulator(config) as emu, httpx.Client(
            base_url=emu.base_url + "/_emulator", timeout=30) as admin:
        host = next(u.id for u in emu.emulator.dataset.users.values() if u.status == "active")
        kept = admin.post("/meetings", json={"host_id": host, "topic": "Kept", "type": 2}
                          ).json()["id"]
        admin.patch(f"/meetings/{kept}", json={"topic": "Kept, renamed"}).raise_for_status()
        live = admin.post(f"/meetings/{kept}/start", json={"people": 2}).json()
        uuid = quote(quote(live["uuid"], safe=""), safe="")
        admin.post(f"/instances/{uuid}/participants", json={"participants": [
            {"name": "Ann", "email": "ann@example.com"}]}).raise_for_status()
        admin.post(f"/meetings/{kept}/end").raise_for_status()
        gone = admin.post("/meetings", json={"host_id": host, "topic": "Gone", "type": 2}
                          ).json()["id"]
        settings = settings_for(emu, tmp_path).model_copy(update={
            "destination": "postgres", "postgres_url": url, "dataset_name": dataset})
        with Spool(tmp_path / "spool.sqlite") as spool, client_for(emu) as client, Applier(
                settings, spool, client=client) as applier:
            first = spool_recorded(admin, spool, 0)
            result = applier.apply_batch()
            assert result is not None and result.events == first
            admin.delete(f"/meetings/{gone}").raise_for_status()
            assert spool_recorded(admin, spool, first) == 1
            applier.apply_batch()
        now = emu.emulator.clock.now()
        want = [flatten(r) for r in truth.iter_table(emu.emulator.dataset,
                                                     "meeting_participants", now)
                if r["meeting_uuid"] == live["uuid"]]
    read = readers.postgres(url.replace("postgres://", "postgresql://"), dataset)
    meetings = {r["id"]: r for r in read.rows("meetings")}
    assert meetings[kept]["topic"] == "Kept, renamed"
    assert meetings[kept]["_zoomsync_deleted_at"] is None
    assert meetings[gone]["topic"] == "Gone"
    assert meetings[gone]["_zoomsync_deleted_at"] is not None  # deleted later: Zoom says 404
    participants = comparable(read.rows("meeting_participants"))
    assert differences(want, participants, ("meeting_uuid", "user_id", "join_time")) == []
