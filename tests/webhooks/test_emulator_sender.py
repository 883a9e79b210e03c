"""The emulator's own webhook sender (real signed deliveries, Zoom's event shapes) against
the receiver: every event it sends is accepted and spooled once, and its URL validation
passes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import UNLIMITED
from tests.webhooks.helpers import SECRET, receiver
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.server import RunningEmulator

pytestmark = pytest.mark.timeout(60)


def test_the_emulator_sender_is_accepted(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)  # signed timestamps must be fresh
    with receiver(tmp_path / "spool.sqlite") as served:
        config = EmulatorConfig(dataset=DatasetConfig(anchor=now, users=4, meetings_per_user=1),
                                limits=UNLIMITED, webhook_url=served.url, webhook_secret=SECRET)
        with RunningEmulator(config) as emu, httpx.Client(
                base_url=emu.base_url + "/_emulator", timeout=10) as admin:
            assert admin.post("/webhooks/validate").json()["valid"] is True
            host = next(iter(emu.emulator.dataset.users))
            meeting = admin.post("/meetings", json={"host_id": host, "topic": "Hooked",
                                                    "type": 2, "duration": 30}).json()
            admin.patch(f"/meetings/{meeting['id']}", json={"topic": "Hooked again"})
            live = admin.post(f"/meetings/{meeting['id']}/start", json={"people": 2}).json()
            # Double-encoded, as Zoom wants UUIDs that may hold "/".
            uuid = quote(quote(live["uuid"], safe=""), safe="")
            admin.post(f"/instances/{uuid}/participants", json={"participants": [
                {"name": "Ann", "email": "ann@example.com"},
                {"name": "Guest"}]}).raise_for_status()
            admin.post(f"/meetings/{meeting['id']}/end").raise_for_status()
            admin.delete(f"/meetings/{meeting['id']}").raise_for_status()
            assert admin.post("/webhooks/flush").status_code == 200
            counters = admin.get("/webhooks").json()["counters"]
        events = Counter(e.event for e in served.spool.pending())
    assert counters["failed_attempts"] == 0
    assert counters["delivered"] == sum(events.values())
    assert events["meeting.created"] == events["meeting.updated"] == 1
    assert events["meeting.ended"] == events["meeting.deleted"] == 1
    assert events["meeting.started"] == 1
    assert events["meeting.participant_joined"] == events["meeting.participant_left"] == 2
