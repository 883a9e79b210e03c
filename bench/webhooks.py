"""How fresh do webhooks keep the warehouse, and how many events per second do they carry?

A bounded burst of real changes made through the emulator's admin API — per meeting:
created, updated, started, two participants joining, ended (they leave), recording
completed — sent by the emulator's own webhook sender (signed, Zoom's shapes) to the
receiver (`zoomsync.webhooks`), spooled, and applied into DuckDB in a temporary directory
by the applier in micro-batches, through the paced client at the plan's real limits.

Latency is per event, from its receipt by the receiver to the commit of the load that
carries its refresh (the spool's `received_at` → `applied_at`: an event leaves the spool
only after its load committed); Zoom's own delivery delay is outside zoomsync and not in
it. Sustained rate: events / (last applied − first received). At the end every changed
object is checked in DuckDB. Prints one table; exits 0 whatever the targets say, 1 only if
the warehouse is missing rows or the applier did not catch up.

From the repository root:

    .venv/bin/python -m bench.webhooks                 # 40 meetings, ~360 events
    .venv/bin/python -m bench.webhooks --meetings 10   # a quick look
    .venv/bin/python -m bench.webhooks --json
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import httpx
from pydantic import SecretStr

from bench._harness import render_table
from zoomsync.config import Settings
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.server import RunningEmulator
from zoomsync.webhooks.apply import Applier
from zoomsync.webhooks.receiver import ReceiverConfig
from zoomsync.webhooks.server import RunningReceiver

SECRET = "bench-webhook-secret"
TARGET_MEDIAN_S = 5.0  # receipt → row committed, median: at most
TARGET_P99_S = 15.0  # and p99: at most
TARGET_RATE = 20.0  # events applied per second, sustained over the burst: at least
CATCH_UP_S = 300.0


def burst(admin: httpx.Client, host: str, meetings: int) -> None:
    """The changes; each admin call makes the emulator send its events."""
    for i in range(meetings):
        mid = admin.post("/meetings", json={"host_id": host, "topic": f"bench {i}", "type": 2,
                                            "duration": 30}).json()["id"]
        admin.patch(f"/meetings/{mid}", json={"topic": f"bench {i} (updated)"})
        live = admin.post(f"/meetings/{mid}/start", json={"people": 2}).json()
        uuid = quote(quote(live["uuid"], safe=""), safe="")
        admin.post(f"/instances/{uuid}/participants", json={"participants": [
            {"name": f"Guest {i}a"}, {"name": f"Guest {i}b", "email": f"b{i}@example.com"}]})
        admin.post(f"/meetings/{mid}/end", json={"recording": True})


def wait_applied(spool: Path, expected: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(f"file:{spool}?mode=ro", uri=True, timeout=5) as db:
            total, pending = db.execute("SELECT count(*), count(*) - count(applied_at) "
                                        "FROM events").fetchone()
        if total >= expected and pending == 0:
            return True
        time.sleep(0.1)
    return False


def timings(spool: Path) -> list[tuple[str, float, float]]:
    with sqlite3.connect(f"file:{spool}?mode=ro", uri=True) as db:
        return db.execute("SELECT event, received_at, applied_at FROM events "
                          "WHERE applied_at IS NOT NULL ORDER BY seq").fetchall()


def check_rows(path: Path, meetings: int) -> dict[str, int]:
    """Rows of the burst's objects in DuckDB (0 where one is missing)."""
    with duckdb.connect(str(path), read_only=True) as db:
        def one(sql: str) -> int:
            return int(db.execute(sql).fetchone()[0])
        return {
            "meetings updated": one("select count(*) from zoom.meetings "
                                    "where topic like 'bench % (updated)'"),
            "past meetings": one("select count(*) from zoom.past_meetings "
                                 "where topic like 'bench % (updated)'"),
            "participants": one("select count(*) from zoom.meeting_participants "
                                "where name like 'Guest %'"),
            "recordings": one("select count(*) from zoom.recordings "
                              "where topic like 'bench % (updated)'"),
        }


def run(meetings: int, plan: str, batch_size: int) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="zoomsync-bench-webhooks-") as tmp:
        root = Path(tmp)
        spool = root / "spool.sqlite"
        wake, stop = threading.Event(), threading.Event()
        config = ReceiverConfig(secret_token=SecretStr(SECRET))
        with RunningReceiver(config, spool, on_spooled=wake.set) as receiver:
            emu_config = EmulatorConfig(
                dataset=DatasetConfig(anchor=now, users=4, meetings_per_user=1, months=1,
                                      large_meetings=0),
                plan=plan, webhook_url=receiver.url, webhook_secret=SECRET)
            with RunningEmulator(emu_config) as emu, httpx.Client(
                    base_url=emu.base_url + "/_emulator", timeout=30) as admin:
                settings = Settings(
                    account_id=CREDS.account_id, client_id=CREDS.client_id,
                    client_secret=CREDS.client_secret, api_url=emu.api_url,
                    oauth_url=emu.oauth_url, duckdb_path=root / "warehouse.duckdb",
                    pipelines_dir=root / "pipelines", plan=plan, budget=0.8,
                    webhook_secret_token=SecretStr(SECRET), webhook_spool=spool)
                host = next(u.id for u in emu.emulator.dataset.users.values()
                            if u.status == "active")
                with Applier(settings, receiver.spool, batch_size=batch_size) as applier:
                    thread = threading.Thread(target=applier.run, args=(stop, wake),
                                              kwargs={"idle": 0.5, "linger": 0.2}, daemon=True)
                    thread.start()
                    started = time.monotonic()
                    burst(admin, host, meetings)
                    changes_s = time.monotonic() - started
                    admin.post("/webhooks/flush")
                    sent = admin.get("/webhooks").json()["counters"]
                    caught_up = wait_applied(spool, sent["delivered"], CATCH_UP_S)
                    stop.set()
                    thread.join(60)
        rows = check_rows(root / "warehouse.duckdb", meetings)
        measured = timings(spool)
    latencies = sorted(applied - received for _, received, applied in measured)
    span = (max(a for _, _, a in measured) - min(r for _, r, _ in measured)) if measured else 0
    return {
        "meetings": meetings, "events": len(measured), "delivered": sent["delivered"],
        "failed_deliveries": sent["failed_attempts"], "by_event": dict(Counter(
            e for e, _, _ in measured)), "changes_seconds": round(changes_s, 2),
        "median_s": statistics.median(latencies) if latencies else None,
        "p99_s": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        if latencies else None,
        "max_s": latencies[-1] if latencies else None,
        "events_per_s": len(measured) / span if span else None,
        "caught_up": caught_up, "rows": rows,
        "rows_ok": (rows["meetings updated"] == rows["past meetings"] == rows["recordings"]
                    == meetings and rows["participants"] >= 2 * meetings),
    }


def render(r: dict[str, Any]) -> str:
    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    def secs(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f} s"

    rate = r["events_per_s"] or 0.0
    table = [
        ("events applied", str(r["events"]), f"= delivered ({r['delivered']})",
         verdict(r["events"] == r["delivered"])),
        ("latency median", secs(r["median_s"]), f"<= {TARGET_MEDIAN_S:g} s",
         verdict((r["median_s"] or 1e9) <= TARGET_MEDIAN_S)),
        ("latency p99", secs(r["p99_s"]), f"<= {TARGET_P99_S:g} s",
         verdict((r["p99_s"] or 1e9) <= TARGET_P99_S)),
        ("latency max", secs(r["max_s"]), "", ""),
        ("sustained rate", f"{rate:.1f} events/s", f">= {TARGET_RATE:g}",
         verdict(rate >= TARGET_RATE)),
    ]
    for name, count in r["rows"].items():
        want = 2 * r["meetings"] if name == "participants" else r["meetings"]
        table.append((f"rows: {name}", str(count), f"{'>=' if want > r['meetings'] else '='}"
                      f" {want}", verdict(count >= want if want > r["meetings"] else
                                          count == want)))
    head = (f"webhooks: {r['meetings']} meetings changed in {r['changes_seconds']} s, "
            f"{r['delivered']} events delivered ({r['failed_deliveries']} failed attempts)")
    return head + "\n\n" + render_table(("measure", "value", "target", ""), table,
                                        right=[False, True, False, False])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meetings", type=int, default=40, help="meetings in the burst")
    parser.add_argument("--plan", default="business", choices=("pro", "business"))
    parser.add_argument("--batch-size", type=int, default=500, help="events per micro-batch")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args.meetings, args.plan, args.batch_size)
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0 if result["caught_up"] and result["rows_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
