"""`zoomsync run` as a user runs it: a real process against the emulator on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.conftest import small_account
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.server import RunningEmulator, free_port

STREAMS = "users,groups,past_meetings,meeting_participants,recordings"


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with small_account(users=5) as running:
        yield running


def env_for(emu: RunningEmulator, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ZOOM_", "ZOOMSYNC_"))}
    env.update(HOME=str(home), ZOOM_ACCOUNT_ID=CREDS.account_id, ZOOM_CLIENT_ID=CREDS.client_id,
               ZOOM_CLIENT_SECRET=CREDS.client_secret, ZOOM_API_URL=emu.api_url,
               ZOOM_OAUTH_URL=emu.oauth_url, ZOOMSYNC_PLAN="business", ZOOMSYNC_BUDGET="1")
    env.update(extra)
    return env


def zoomsync(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zoomsync", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def test_run_loads_the_tables_and_reports(emu: RunningEmulator, tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    r = zoomsync(env_for(emu, tmp_path), "run", "--streams", STREAMS, "--duckdb-path", str(db),
                 cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Rows loaded" in r.stderr and "Zoom API calls" in r.stderr
    assert "Run complete" in r.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        users = con.execute("select count(*) from zoom.users").fetchone()[0]
        segments = con.execute("select count(*) from zoom.meeting_participants").fetchone()[0]
    ds = emu.emulator.dataset
    assert users == len(ds.live_users())
    assert segments > 50

    # No secret anywhere: output, logs, the warehouse, dlt's state and trace.
    secrets = {CREDS.client_secret, *emu.emulator.issuer._tokens}
    assert secrets
    haystacks = [r.stdout, r.stderr]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            haystacks.append(path.read_bytes().decode("latin-1"))
    leaks = [s for s in secrets for h in haystacks if s in h]
    assert not leaks, "a secret was written out"


def test_json_report_and_rerun_changes_nothing(emu: RunningEmulator, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    env = env_for(emu, tmp_path)
    first = zoomsync(env, "run", "--streams", STREAMS, "--duckdb-path", str(db), "--json",
                     cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    import json

    report = json.loads(first.stdout)
    assert report["ok"] is True and report["rows"]["meeting_participants"] > 50
    with duckdb.connect(str(db), read_only=True) as con:
        before = con.execute("select count(*), count(distinct (meeting_uuid, user_id, "
                             "join_time)) from zoom.meeting_participants").fetchone()
    second = zoomsync(env, "run", "--streams", STREAMS, "--duckdb-path", str(db), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        after = con.execute("select count(*), count(distinct (meeting_uuid, user_id, "
                            "join_time)) from zoom.meeting_participants").fetchone()
    assert before == after and before[0] == before[1]


@pytest.mark.parametrize(("change", "args", "expected"), [
    ({"ZOOM_CLIENT_SECRET": ""}, (), "ZOOM_CLIENT_SECRET not set"),
    ({"ZOOM_CLIENT_SECRET": "wrong-secret-123"}, (), "client id or secret"),
    # (An OAuth URL nothing answers on is a network matter, exit 1: test_run_failures.py.)
    ({}, ("--streams", "users,meetingz"), "unknown stream meetingz"),
    ({}, ("--start-date", "2026-13-01"), "--start-date '2026-13-01' is not a date"),
    ({}, ("--duckdb-path", "/proc/zoom/x.duckdb"), "cannot write the DuckDB file"),
    ({"ZOOMSYNC_BUDGET": "7"}, (), "invalid setting budget"),
    # Input that would lose data in silence: a future start moves every bookmark past days
    # never read; a blank list would sync everything; a typo would leave a stream on the
    # default.
    ({}, ("--start-date", "2999-01-01"), "--start-date 2999-01-01 is in the future"),
    ({"ZOOMSYNC_START_DATE": "2999-01-01"}, (), "invalid setting start_date"),
    ({}, ("--streams", " , "), "--streams ' , ' names no stream"),
    ({"ZOOMSYNC_STREAM_LOOKBACK_DAYS": '{{"meetingz": 3}}'}, (), "unknown stream 'meetingz'"),
    ({"ZOOMSYNC_STREAM_RECONCILE_HOURS": '{{"userz": 1}}'}, (), "unknown stream 'userz'"),
])
def test_bad_input_is_one_line_and_exit_code_2(emu: RunningEmulator, tmp_path: Path,
                                                 change: dict[str, str], args: tuple[str, ...],
                                                 expected: str) -> None:
    change = {k: v.format(port=free_port()) for k, v in change.items()}
    env = env_for(emu, tmp_path, **change)
    r = zoomsync(env, "run", "--streams", "users", *args, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert expected in lines[0]
    assert "Traceback" not in r.stderr
    assert "wrong-secret-123" not in r.stderr
    assert not list(tmp_path.glob("*.duckdb"))  # nothing half-written


@pytest.mark.parametrize("name", ["data.csv", "export.parquet", "zoom.duckdb"])
def test_a_duckdb_path_that_holds_other_data_is_refused(emu: RunningEmulator, tmp_path: Path,
                                                        name: str) -> None:
    """DuckDB would open such a file as an in-memory database with the file as a view: the
    run would report success and store nothing. Decided by content, not by the name."""
    target = tmp_path / name
    target.write_text("id,topic\n1,standup\n")
    r = zoomsync(env_for(emu, tmp_path), "run", "--streams", "users", "--duckdb-path",
                 str(target), cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.strip().splitlines() == [
        f"error: --duckdb-path {target} is not a DuckDB database (it holds other data): give "
        "a new file name or an existing DuckDB file"]
    assert target.read_text() == "id,topic\n1,standup\n"  # untouched


def test_an_empty_duckdb_file_is_refused_in_one_line(emu: RunningEmulator,
                                                      tmp_path: Path) -> None:
    """`touch zoom.duckdb` first: DuckDB refuses to open an empty file as a database."""
    target = tmp_path / "warehouse.duckdb"
    target.touch()
    r = zoomsync(env_for(emu, tmp_path), "run", "--streams", "users", "--duckdb-path",
                 str(target), cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.strip().splitlines() == [
        f"error: --duckdb-path {target} is an empty file, not a DuckDB database: delete it "
        "(DuckDB then creates the database) or give another name"]
    assert target.stat().st_size == 0
