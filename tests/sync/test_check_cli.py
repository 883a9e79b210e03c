"""`zoomsync check` tells, per stream, whether the app can read it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import UNLIMITED
from tests.sync.test_run_cli import env_for, zoomsync
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.server import RunningEmulator


@pytest.fixture(scope="module")
def no_webinars() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(dataset=DatasetConfig(anchor=datetime.now(UTC), users=5),
                            limits=UNLIMITED, webinar_plan=False)
    with RunningEmulator(config) as emu:
        yield emu


def test_check_reports_each_stream_and_the_destination(no_webinars: RunningEmulator,
                                                       tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    r = zoomsync(env_for(no_webinars, tmp_path), "check", "--duckdb-path", str(db), cwd=tmp_path)
    assert r.returncode == 1, r.stderr  # webinar streams cannot be served
    out = r.stdout
    assert "credentials: ok (account emu_account_0001" in out
    lines = {line.split("│")[1].strip(): line for line in out.splitlines()
             if line.count("│") >= 3}
    assert "yes" in lines["meeting_participants"] and "scope granted" in lines["users"]
    assert "NO" in lines["webinar_registrants"] and "Webinar add-on" in lines["webinars"]
    assert f"destination duckdb {db}: ok" in " ".join(out.split())


def test_check_passes_when_everything_is_readable(no_webinars: RunningEmulator,
                                                  tmp_path: Path) -> None:
    r = zoomsync(env_for(no_webinars, tmp_path), "check", "--streams",
                 "users,past_meetings,meeting_participants", "--duckdb-path",
                 str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "rate limits used for pacing" in r.stdout


def test_run_without_the_webinar_add_on_is_partial_and_says_why(no_webinars: RunningEmulator,
                                                                tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    r = zoomsync(env_for(no_webinars, tmp_path), "run", "--streams", "users,webinars",
                 "--duckdb-path", str(db), cwd=tmp_path)
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: partial run: webinars:") and "Webinar plan is missing" in last
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:  # the other streams still loaded
        assert con.execute("select count(*) from zoom.users").fetchone()[0] == 5
