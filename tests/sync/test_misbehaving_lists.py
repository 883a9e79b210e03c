"""A list or partition that misbehaves is skipped with what depends on it; the run goes on.

Each case runs the real `zoomsync run` process against the emulator with one of its
deterministic faults (docs/emulator.md): the tables the fault does not touch equal the
ground truth, the report names the request and Zoom's answer, the exit code is 1, nothing
prints a traceback, the process ends promptly after its last line, and the next run,
without the fault, recovers what was skipped.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import small_account
from tests.sync.compare import PAIRS, differences, truth_rows, warehouse
from tests.sync.test_run_cli import env_for
from zoomsync.emulator.faults import FaultConfig, FaultTarget
from zoomsync.emulator.server import RunningEmulator

STREAMS = ("users", "groups", "past_meetings", "meeting_participants", "recordings",
           "h323_devices")


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with small_account(users=5) as running:
        yield running


@pytest.fixture
def faults(emu: RunningEmulator) -> Iterator[Any]:
    def configure(**config: Any) -> None:
        emu.emulator.faults.configure(FaultConfig(**config))

    yield configure
    configure()


@dataclass
class Ended:
    code: int
    report: dict[str, Any]
    stderr: str
    lingered: float  # seconds from the last line on stderr to the process's end


def sync(emu: RunningEmulator, home: Path, db: Path, *, streams: str = ",".join(STREAMS),
         retries: str = "1", backoff: str = "0.05") -> Ended:
    """`zoomsync run --json`, timing its last line against its exit."""
    env = env_for(emu, home, ZOOMSYNC_MAX_RETRIES=retries, ZOOMSYNC_RETRY_BACKOFF=backoff)
    args = [sys.executable, "-m", "zoomsync", "run", "--duckdb-path", str(db), "--json"]
    if streams:
        args += ["--streams", streams]
    last = [time.monotonic()]
    err: list[str] = []
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env, cwd=home) as proc:

        def read_stderr() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                err.append(line)
                last[0] = time.monotonic()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        assert proc.stdout is not None
        out = proc.stdout.read()  # the JSON report; stderr is the reader's alone
        proc.wait(timeout=240)
        ended = time.monotonic()
        reader.join(10)
    return Ended(proc.returncode, json.loads(out) if out.strip() else {}, "".join(err),
                 ended - last[0])


def table(db: Path, name: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(db), read_only=True) as con:
        exists = con.execute("select count(*) from information_schema.tables where "
                             "table_schema = 'zoom' and table_name = ?", [name]).fetchone()
        return warehouse(con, "zoom", name) if exists and exists[0] else []


def truth(emu: RunningEmulator, name: str) -> list[dict[str, Any]]:
    return truth_rows(emu.emulator, *PAIRS[name])


def assert_equal(emu: RunningEmulator, db: Path, name: str,
                 expected: list[dict[str, Any]] | None = None) -> None:
    key = PAIRS[name][1]
    rows = truth(emu, name) if expected is None else expected
    assert rows, f"the emulator has no {name}: the case proves nothing"
    assert differences(rows, table(db, name), key) == [], name


def assert_failed_cleanly(ended: Ended) -> None:
    assert ended.code == 1, ended.stderr
    assert ended.report["ok"] is False
    assert "Traceback" not in ended.stderr
    assert ended.lingered < 10, f"the process lived {ended.lingered:.1f} s past its last line"


def recovered(emu: RunningEmulator, home: Path, db: Path) -> None:
    """The next run, without the fault, reads what was skipped: every table is whole."""
    ended = sync(emu, home, db)
    assert ended.code == 0 and ended.report["ok"], ended.stderr
    for name in STREAMS:
        assert_equal(emu, db, name)


def failures(ended: Ended) -> dict[str, dict[str, Any]]:
    return {f"{f['stream']}|{f['partition']}": f for f in ended.report["failures"]}


def test_bad_partitions_and_lists_are_skipped_and_read_next_run(
        emu: RunningEmulator, faults: Any, tmp_path: Path) -> None:
    ds = emu.emulator.dataset
    user = sorted(u.id for u in ds.live_users() if u.status == "active")[1]
    # A meeting instance whose UUID is a plain glob (base64 without `/`), with participants.
    uuid = next(u for u in sorted({r["meeting_uuid"] for r in truth(emu, "meeting_participants")})
                if re.fullmatch(r"[A-Za-z0-9+=]+", u))
    faults(targets=(
        FaultTarget(f"/users/{user}", "always_503"),  # one profile fails through its retries
        FaultTarget(f"/past_meetings/{uuid}/participants", "not_json"),  # 200, a web page
        FaultTarget("/h323/devices", "endless_tokens"),  # pages without rows, without end
        FaultTarget("/groups", "no_list_key"),  # total_records but no list
    ))
    db = tmp_path / "w.duckdb"
    first = sync(emu, tmp_path, db)
    assert_failed_cleanly(first)

    failed = failures(first)
    profile = failed[f"users|{user}"]
    assert profile["request"] == f"GET /users/{user}" and profile["status"] == 503
    assert "Service Unavailable" in profile["answer"]
    page = failed[f"meeting_participants|{uuid}"]
    assert page["request"].startswith("GET /past_meetings/") and page["status"] == 200
    assert "not a JSON object" in page["answer"]
    [devices] = [f for k, f in failed.items() if k.startswith("h323_devices|")]
    # Empty pages with new tokens: past what total_records allows (or 5 empty in a row).
    assert re.search(r"after \d+ pages of a list of \d+ records|pages in a row with no",
                     devices["answer"])
    assert devices["request"].startswith("GET /h323/devices?page_size=")
    [groups] = [f for k, f in failed.items() if k.startswith("groups|")]
    assert "no 'groups' list in a page of" in groups["answer"]
    assert set(first.report["failed"]) == {"users", "meeting_participants", "h323_devices",
                                           "groups"}

    # What the faults did not touch is all there; what they touched, all but that part.
    assert_equal(emu, db, "past_meetings")
    assert_equal(emu, db, "recordings")
    assert_equal(emu, db, "users", [u for u in truth(emu, "users") if u["id"] != user])
    assert_equal(emu, db, "meeting_participants", [
        p for p in truth(emu, "meeting_participants") if p["meeting_uuid"] != uuid])
    assert table(db, "h323_devices") == [] and table(db, "groups") == []

    faults()
    recovered(emu, tmp_path, db)


def test_a_failed_list_fails_its_dependants_once_and_the_rest_loads(
        emu: RunningEmulator, faults: Any, tmp_path: Path) -> None:
    # Zoom's spec served by a mock repeats the example next_page_token forever.
    faults(targets=(FaultTarget("/users", "repeat_token"),))
    db = tmp_path / "w.duckdb"
    before = emu.emulator.faults.counters()["targeted"]
    first = sync(emu, tmp_path, db)
    assert_failed_cleanly(first)
    [listed] = [f for f in first.report["failures"] if f["stream"] == "users list"]
    assert "next_page_token it had sent before" in listed["answer"]
    assert listed["request"].startswith("GET /users?status=active&page_size=2000&next_page_token=")
    # Every stream built on users failed with it, without asking Zoom for the list again:
    # page 1 and the repeat, once.
    assert emu.emulator.faults.counters()["targeted"] - before == 2
    needs_users = {"users", "past_meetings", "meeting_participants", "recordings"}
    assert set(first.report["failed"]) == needs_users | {"users list"}
    assert all("not read" in first.report["failed"][s] for s in needs_users)
    assert_equal(emu, db, "groups")
    assert_equal(emu, db, "h323_devices")

    faults()
    recovered(emu, tmp_path, db)


def test_tokens_revoked_mid_run_are_renewed_and_nothing_is_lost(
        emu: RunningEmulator, faults: Any, tmp_path: Path) -> None:
    # Another client of the same app minting tokens: ours dies every 7th call.
    faults(revoke_every=7)
    db = tmp_path / "w.duckdb"
    before = emu.emulator.faults.counters()["revoke_every"]
    ended = sync(emu, tmp_path, db)
    assert ended.code == 0 and ended.report["ok"], ended.stderr
    assert emu.emulator.faults.counters()["revoke_every"] - before >= 5
    for name in STREAMS:
        assert_equal(emu, db, name)


def test_credentials_refused_through_every_renewal_stop_the_run_at_once(
        emu: RunningEmulator, faults: Any, tmp_path: Path) -> None:
    # Every call meets a revoked token: after its renewals, the run stops (exit 2), and
    # the streams still extracting end with it instead of keeping the process alive.
    faults(revoke_every=1)
    ended = sync(emu, tmp_path, tmp_path / "w.duckdb")
    assert ended.code == 2, ended.stderr
    [line] = [x for x in ended.stderr.splitlines() if x.startswith("error:")]
    assert "refused 6 fresh access tokens in a row" in line
    assert "Traceback" not in ended.stderr
    assert ended.lingered < 10, f"the process lived {ended.lingered:.1f} s past its last line"


def test_the_report_shows_each_failure_with_request_and_answer() -> None:
    from rich.console import Console

    from zoomsync.errors import InvalidAnswerError, RetryableAPIError
    from zoomsync.render import render_report
    from zoomsync.sync.report import RunReport

    report = RunReport()
    report.fail_partition("users list", "", InvalidAnswerError(
        200, None, "Zoom sent a next_page_token it had sent before", "GET", "/users",
        query="status=active&page_size=2000&next_page_token=x"))
    report.fail_partition("meeting_participants", "abc==", RetryableAPIError(
        503, 503, "gave up after 7 attempts (0 throttled); last: HTTP 503: Service Unavailable",
        "GET", "/past_meetings/abc%3D%3D/participants", query="page_size=300"))
    console = Console(record=True, width=100)
    render_report(report, console)
    text = console.export_text()
    assert ("users list: GET /users?status=active&page_size=2000&next_page_token=x -> HTTP 200: "
            "Zoom sent a next_page_token it had sent before") in " ".join(text.split("\n"))
    assert ("meeting_participants abc==: GET /past_meetings/abc%3D%3D/participants?page_size=300"
            " -> HTTP 503 code 503: gave up after 7 attempts") in " ".join(text.split("\n"))
    assert "Run PARTIAL" in text
