"""`kill -9` of `zoomsync webhooks serve --apply` while it applies a burst, then a restart:
every event is applied in effect (the warehouse equals Zoom), none is lost, and the spool
ends empty. Events leave the spool only after the load that carries them has committed."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import duckdb
import httpx
import pytest

from tests.conftest import UNLIMITED
from tests.sync.compare import comparable, differences, flatten
from tests.webhooks.helpers import SECRET, env_for
from zoomsync.emulator import truth
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.server import RunningEmulator
from zoomsync.webhooks.server import free_port
from zoomsync.webhooks.spool import Spool

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

MEETINGS = 20
# Retries soon enough to ride over the restart (Zoom's own wait 5, 20 and 60 minutes).
RETRIES = (0.3, 0.6, 1.2, 2.5, 5.0, 5.0, 5.0)


def serve(emu: RunningEmulator, tmp: Path, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoomsync", "webhooks", "serve", "--port", str(port), "--apply"],
        env=env_for(emu, tmp), cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("the receiver did not start")


def counts(spool: Path) -> tuple[int, int]:
    """(applied, pending) events."""
    with sqlite3.connect(f"file:{spool}?mode=ro", uri=True, timeout=5) as db:
        return db.execute("SELECT count(applied_at), count(*) - count(applied_at) "
                          "FROM events").fetchone()


def table(path: Path, name: str) -> list[dict[str, object]]:
    with duckdb.connect(str(path), read_only=True) as db:
        cursor = db.execute(f"select * from zoom.{name}")
        names = [c[0] for c in cursor.description]
        return comparable(dict(zip(names, r, strict=True)) for r in cursor.fetchall())


def test_kill_9_while_applying_then_restart_converges(tmp_path: Path) -> None:
    port = free_port()
    config = EmulatorConfig(
        dataset=DatasetConfig(anchor=datetime.now(UTC).replace(microsecond=0), users=4,
                              meetings_per_user=1, months=1, large_meetings=0),
        plan="business", limits=UNLIMITED, daily_cap=10_000_000,
        webhook_url=f"http://127.0.0.1:{port}/zoom/webhooks", webhook_secret=SECRET)
    with RunningEmulator(config) as emu, httpx.Client(
            base_url=emu.base_url + "/_emulator", timeout=30) as admin:
        # The sender takes Zoom's 5/20/60-minute retry delays from no setting: shorten them.
        emu.emulator.webhooks._retry_delays = RETRIES
        first = serve(emu, tmp_path, port)
        try:
            host = next(u.id for u in emu.emulator.dataset.users.values()
                        if u.status == "active")
            ids, uuids = set(), set()
            for i in range(MEETINGS):
                mid = admin.post("/meetings", json={"host_id": host, "topic": f"m{i}",
                                                    "type": 2}).json()["id"]
                admin.patch(f"/meetings/{mid}", json={"topic": f"m{i} renamed"})
                live = admin.post(f"/meetings/{mid}/start", json={"people": 2}).json()
                ids.add(mid)
                uuids.add(live["uuid"])
                uuid = quote(quote(live["uuid"], safe=""), safe="")
                admin.post(f"/instances/{uuid}/participants",
                           json={"participants": [{"name": f"P{i}"}]})
                admin.post(f"/meetings/{mid}/end")
            deadline = time.monotonic() + 60
            while counts(tmp_path / "spool.sqlite")[0] == 0:  # the first load committed
                assert time.monotonic() < deadline
                time.sleep(0.01)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        assert counts(tmp_path / "spool.sqlite")[0] >= 1
        second = serve(emu, tmp_path, port)
        try:
            assert admin.post("/webhooks/flush").status_code == 200
            deadline = time.monotonic() + 120
            while counts(tmp_path / "spool.sqlite")[1]:
                assert time.monotonic() < deadline, counts(tmp_path / "spool.sqlite")
                time.sleep(0.1)
            sent = admin.get("/webhooks").json()["counters"]
        finally:
            second.send_signal(signal.SIGINT)
            second.wait(60)
        now = emu.emulator.clock.now()
        expected = {name: [flatten(r) for r in truth.iter_table(emu.emulator.dataset, name, now)]
                    for name in ("meetings", "past_meetings", "meeting_participants")}
        delivered = {json.dumps(d["body"], sort_keys=True)
                     for d in admin.get("/webhooks").json()["deliveries"]}
    assert sent["dropped"] == 0
    with Spool(tmp_path / "spool.sqlite") as spool:
        stored = {json.dumps(json.loads(b), sort_keys=True) for b in spool.bodies()}
        stats = spool.stats()
    assert stored == delivered and stats["pending"] == 0
    assert stats["spooled"] == len(delivered) == stats["applied"]
    db = tmp_path / "warehouse.duckdb"
    burst = {"meetings": ("id", ids), "past_meetings": ("uuid", uuids),
             "meeting_participants": ("meeting_uuid", uuids)}
    keys = {"meetings": ("id",), "past_meetings": ("uuid",),
            "meeting_participants": ("meeting_uuid", "user_id", "join_time")}
    for name, (column, values) in burst.items():
        ours = [r for r in table(db, name) if r[column] in values]
        want = [r for r in expected[name] if r[column] in values]
        assert want and differences(want, ours, keys[name]) == [], name
