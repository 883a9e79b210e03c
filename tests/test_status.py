"""The status file (atomic, no secrets) and `zoomsync status` after real runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from tests.conftest import small_account
from tests.sync.test_run_cli import env_for
from zoomsync import status
from zoomsync.config import Settings
from zoomsync.emulator.server import RunningEmulator
from zoomsync.sync.report import RunReport

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def settings(tmp_path: Path, **extra: object) -> Settings:
    return Settings(pipelines_dir=tmp_path / "p", duckdb_path=tmp_path / "w.duckdb",
                    client_secret="sup3r-secret", **extra)  # type: ignore[arg-type]


def test_runs_are_recorded_atomically_with_failures_counted(tmp_path: Path) -> None:
    s = settings(tmp_path)
    path, _ = status.files(s)
    ok = RunReport(rows={"users": 5, "meetings": 7})
    status.record_run(s, path, started=1e9, finished=1e9 + 4, report=ok, error=None)
    status.record_run(s, path, started=2e9, finished=2e9 + 1, report=None,
                      error="POST /oauth/token: HTTP 401\nTraceback ... sup3r-secret")
    partial = RunReport()
    partial.stop("recordings", "GET /users/x/recordings: HTTP 400 code 200: no plan")
    data = status.record_run(s, path, started=3e9, finished=3e9 + 1, report=partial,
                             error=None)
    assert data == json.loads(path.read_text())
    assert data["last_success"] == {"started_at": "2001-09-09T01:46:40Z",
                                    "finished_at": "2001-09-09T01:46:44Z", "ok": True,
                                    "rows": 12, "error": None}
    assert data["consecutive_failures"] == 2
    assert data["last_error"]["message"] == ("partial run: recordings: GET /users/x/"
                                             "recordings: HTTP 400 code 200: no plan")
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    status.record_run(s, path, started=4e9, finished=4e9, report=RunReport(rows={"users": 1}),
                      error=None)
    assert status.read(path)["consecutive_failures"] == 0


def test_error_lines_carry_no_secret(tmp_path: Path) -> None:
    s = settings(tmp_path, postgres_url="postgresql://loader:pg-pass-123@db:5432/zoom")
    text = ("connection to postgresql://loader:pg-pass-123@db:5432/zoom failed, secret "
            "sup3r-secret\nsecond line")
    line = status.one_line(text, s)
    assert line == "connection to *** failed, secret ***"  # the whole URL is a secret
    other = status.one_line("s3://key:other-pass@bucket/x", s)
    assert "other-pass" not in other


@pytest.mark.parametrize(("age", "text"), [
    (timedelta(seconds=12), "12s"), (timedelta(minutes=4, seconds=5), "4m"),
    (timedelta(hours=2, minutes=5), "2h 5m"), (timedelta(days=3, hours=4), "3d 4h"),
])
def test_lag(age: timedelta, text: str) -> None:
    assert status.lag(NOW - age, NOW) == text
    assert status.lag(None, NOW) == "—"


@dataclass
class FakeState:
    bookmark: datetime | None
    reconciled_at: datetime | None


def test_status_shows_bookmarks_and_lag_per_stream(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from zoomsync.sync import state

    s = settings(tmp_path)
    monkeypatch.setattr(state, "bookmarks", lambda _: {
        "past_meetings": FakeState(NOW - timedelta(minutes=16), NOW - timedelta(days=1)),
        "users": FakeState(None, NOW - timedelta(hours=3))})
    snap = status.snapshot(s, NOW)
    assert snap["streams"] == {
        "past_meetings": {"bookmark": "2026-11-02T11:44:00Z", "lag": "16m",
                          "reconciled_at": "2026-11-01T12:00:00Z"},
        "users": {"bookmark": None, "lag": "—", "reconciled_at": "2026-11-02T09:00:00Z"}}
    console = Console(record=True, width=120)
    status.render([snap], console)
    out = console.export_text()
    assert "not running" in out and "last success: —" in out
    assert re.search(r"past_meetings\s+2026-11-02T11:44:00Z\s+16m\s+2026-11-01T12:00:00Z", out)
    assert re.search(r"users\s+—\s+—\s+2026-11-02T09:00:00Z", out)


def test_status_before_any_run_shows_a_dash(tmp_path: Path) -> None:
    # No pipeline exists yet: the real state reader finds nothing to show.
    snap = status.snapshot(settings(tmp_path), NOW)
    assert snap["streams"] == {}
    console = Console(record=True, width=120)
    status.render([snap], console)
    assert "bookmarks:    — (no incremental state yet)" in console.export_text()


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with small_account(users=4) as running:
        yield running


def zoomsync(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zoomsync", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=50)


@pytest.mark.timeout(60)
def test_status_command_after_a_success_and_after_a_failure(emu: RunningEmulator,
                                                             tmp_path: Path) -> None:
    env = env_for(emu, tmp_path, ZOOMSYNC_DUCKDB_PATH=str(tmp_path / "w.duckdb"))
    assert zoomsync(env, tmp_path, "run", "--streams", "users,past_meetings").returncode == 0
    r = zoomsync(env, tmp_path, "status", "--json")
    assert r.returncode == 0, r.stderr
    snap = json.loads(r.stdout)
    assert snap["running"] is None and snap["last_error"] is None
    assert snap["last_success"]["ok"] is True and snap["last_success"]["rows"] > 0
    for name, stream in snap["streams"].items():  # filled once incremental state exists
        assert stream["lag"] == "—" or stream["bookmark"], name

    bad = dict(env, ZOOM_CLIENT_SECRET="wrong-secret-456")
    failed = zoomsync(bad, tmp_path, "run", "--streams", "users")
    assert failed.returncode == 2
    r = zoomsync(env, tmp_path, "status")
    assert r.returncode == 1  # the last run failed
    assert "last error:" in r.stdout and "HTTP 401" in r.stdout
    assert "wrong-secret-456" not in r.stdout
    assert "last success: 20" in r.stdout  # the earlier success is still shown
    assert "wrong-secret-456" not in "".join(
        p.read_text() for p in (tmp_path / ".zoomsync").rglob("*.status.json"))
