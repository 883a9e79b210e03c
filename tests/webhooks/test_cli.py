"""The `zoomsync webhooks` commands as a user runs them: serve --apply end to end, apply
once, stats, and one clear line for bad input, with the secret never printed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.conftest import small_account
from tests.webhooks.helpers import SECRET, encode, env_for
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.server import RunningEmulator
from zoomsync.webhooks.server import free_port
from zoomsync.webhooks.spool import Spool

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with small_account(users=4, webhook_secret=SECRET) as running:
        yield running


def zoomsync(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zoomsync", "webhooks", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def topics(db: Path, mid: int) -> list[str]:
    if not db.exists():
        return []
    try:
        with duckdb.connect(str(db), read_only=True) as conn:
            return [r[0] for r in conn.execute(
                f"select topic from zoom.meetings where id = {mid}").fetchall()]
    except duckdb.Error:  # not created yet, or the applier holds the file
        return []


def test_serve_with_apply_loads_a_new_meeting(emu: RunningEmulator, tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoomsync", "webhooks", "serve", "--port", str(port), "--apply"],
        env=env_for(emu, tmp_path), cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    admin = httpx.Client(base_url=emu.base_url + "/_emulator", timeout=30)
    try:
        url = f"http://127.0.0.1:{port}/zoom/webhooks"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        admin.put("/webhooks", json={"url": url}).raise_for_status()
        assert admin.post("/webhooks/validate").json()["valid"] is True
        host = next(u.id for u in emu.emulator.dataset.users.values() if u.status == "active")
        mid = admin.post("/meetings", json={"host_id": host, "topic": "Served and applied",
                                            "type": 2}).json()["id"]
        admin.post("/webhooks/flush")
        deadline = time.monotonic() + 30
        while topics(tmp_path / "warehouse.duckdb", mid) != ["Served and applied"]:
            assert time.monotonic() < deadline, "the meeting never reached DuckDB"
            time.sleep(0.2)
        # The row commits just before the applier counts the event applied: wait for it.
        while "zoomsync_webhook_events_applied_total 1" not in (
                metrics := httpx.get(f"http://127.0.0.1:{port}/metrics").text):
            assert time.monotonic() < deadline, metrics
            time.sleep(0.1)
    finally:
        admin.put("/webhooks", json={"url": None})
        admin.close()
        proc.terminate()
        out, err = proc.communicate(timeout=60)
    assert SECRET not in out + err


def test_apply_once_and_stats(emu: RunningEmulator, tmp_path: Path) -> None:
    spool = tmp_path / "spool.sqlite"
    host = next(u.id for u in emu.emulator.dataset.users.values() if u.status == "active")
    body = encode({"event": "user.updated", "event_ts": 1,
                   "payload": {"account_id": CREDS.account_id, "object": {"id": host}}})
    with Spool(spool) as opened:
        opened.accept(body, event="user.updated", event_ts=1, signature="v0=x",
                      signature_expires=time.time() + 60)
    r = zoomsync(env_for(emu, tmp_path), "apply", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("applied 1 events, ")  # rows include the child tables
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as db:
        assert db.execute("select id from zoom.users").fetchall() == [(host,)]
    stats = json.loads(zoomsync(env_for(emu, tmp_path), "stats", cwd=tmp_path).stdout)
    assert (stats["spooled"], stats["applied"], stats["pending"]) == (1, 1, 0)
    # A second drain has nothing to do.
    again = zoomsync(env_for(emu, tmp_path), "apply", cwd=tmp_path)
    assert again.stdout.strip() == "applied 0 events, 0 rows loaded"


@pytest.mark.parametrize(("args", "env", "message"), [
    (("serve",), {"ZOOMSYNC_WEBHOOK_SECRET_TOKEN": ""}, "ZOOMSYNC_WEBHOOK_SECRET_TOKEN not set"),
    (("serve", "--path", "hooks"), {}, "--path 'hooks' must start with /"),
    (("apply", "--spool", "missing.sqlite"), {}, "no webhook spool at missing.sqlite"),
    (("stats", "--spool", "missing.sqlite"), {}, "no webhook spool at missing.sqlite"),
    (("apply",), {"ZOOMSYNC_DESTINATION": "filesystem", "ZOOMSYNC_BUCKET_URL": "out"},
     "rewrites whole tables"),
])
def test_bad_input_is_one_line_and_exit_code_2(emu: RunningEmulator, tmp_path: Path,
                                               args: tuple[str, ...], env: dict[str, str],
                                               message: str) -> None:
    Spool(tmp_path / "spool.sqlite").close()
    r = zoomsync(env_for(emu, tmp_path, **env), *args, cwd=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert SECRET not in r.stderr + r.stdout
