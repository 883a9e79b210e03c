"""`kill -9` of a receiver process in the middle of a burst of real signed deliveries, then a
restart: every event the sender saw acknowledged is in the spool, and every event is there
exactly once after the sender's retries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.webhooks.helpers import SECRET
from zoomsync.emulator.clock import Clock
from zoomsync.emulator.webhooks import WebhookSender
from zoomsync.webhooks.server import free_port
from zoomsync.webhooks.spool import Spool

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

BURST = 200
# Retries soon enough to ride over the restart (Zoom's own wait 5, 20 and 60 minutes).
RETRIES = (0.3, 0.6, 1.2, 2.5, 5.0, 5.0, 5.0)


def start_receiver(port: int, spool: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOOM_", "ZOOMSYNC_"))}
    env["ZOOMSYNC_WEBHOOK_SECRET_TOKEN"] = SECRET
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoomsync", "webhooks", "serve", "--port", str(port),
         "--spool", str(spool)], env=env, cwd=spool.parent, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
    raise AssertionError("the receiver did not start")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


@pytest.mark.parametrize("senders", [1, 4], ids=["one-sender", "four-senders"])
def test_kill_9_mid_burst_loses_nothing_acknowledged_and_stores_no_duplicate(
        tmp_path: Path, processes: list[subprocess.Popen[bytes]], senders: int) -> None:
    """Zoom delivers concurrently: `senders` senders share the burst, each one event at a
    time, each with its own retries."""
    spool, port = tmp_path / "spool.sqlite", free_port()
    url = f"http://127.0.0.1:{port}/zoom/webhooks"
    processes.append(start_receiver(port, spool))
    with ExitStack() as stack:
        pool = [stack.enter_context(WebhookSender(Clock(), url=url, secret_token=SECRET,
                                                  retry_delays=RETRIES, timeout=3.0))
                for _ in range(senders)]
        for i in range(BURST):
            event = {"event": "meeting.updated", "event_ts": 1_700_000_000_000 + i,
                     "payload": {"account_id": "acct", "object": {"id": i, "topic": f"t{i}"}}}
            pool[i % senders].emit(event)
        deadline = time.monotonic() + 30
        while (sum(sender.counters()["delivered"] for sender in pool) < BURST // 3
               and time.monotonic() < deadline):
            time.sleep(0.002)
        processes[0].kill()  # SIGKILL: no shutdown, no flush
        processes[0].wait(10)
        acked_before_kill = [d["body"] for sender in pool for d in sender.deliveries()
                             if d["status"] == "delivered"]
        assert BURST // 3 <= len(acked_before_kill) < BURST  # killed mid-burst
        processes.append(start_receiver(port, spool))
        assert all(sender.flush(60) for sender in pool)
        bodies = [d["body"] for sender in pool for d in sender.deliveries()]
        counters = [sender.counters() for sender in pool]
    with Spool(spool) as opened:
        in_spool = [e.body for e in opened.pending(limit=10 * BURST)]
        stats = opened.stats()
    assert sum(c["dropped"] for c in counters) == 0
    assert sum(c["delivered"] for c in counters) == BURST
    # Nothing acknowledged was lost; everything sent is there exactly once.
    assert all(b in in_spool for b in acked_before_kill)
    assert sorted(in_spool, key=lambda b: b["event_ts"]) == sorted(
        bodies, key=lambda b: b["event_ts"])
    assert len(in_spool) == BURST and stats["spooled"] == BURST
