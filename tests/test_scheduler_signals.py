"""Signals and crashes against a real scheduler process: never a half-applied load.

* kill -9 in the middle of a scheduled run's load, then a restarted scheduler: the next
  run completes the package and the tables equal an uninterrupted run; the lock is free.
* SIGTERM during a load: the load completes, the process exits 0, the tables are complete.
* SIGTERM twice during extraction: the extraction is aborted, exit 143, nothing loaded; a
  later run is complete.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tests.conftest import UNLIMITED
from tests.sync.compare import PAIRS, differences, warehouse
from tests.sync.test_run_cli import env_for
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.server import RunningEmulator

STREAMS = "users,meetings,past_meetings,meeting_participants,recordings"
TABLES = STREAMS.split(",")
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    # A frozen clock: every run, interrupted or not, sees the same account.
    config = EmulatorConfig(dataset=DatasetConfig(anchor=datetime.now(UTC).replace(
        microsecond=0)), plan="business", limits=UNLIMITED, daily_cap=10_000_000,
        latency_ms=5, frozen_clock=True)
    with RunningEmulator(config) as running:
        yield running


class Zoomsync:
    """A `zoomsync` process whose stderr is read line by line as it comes."""

    def __init__(self, emu: RunningEmulator, home: Path, *args: str) -> None:
        env = env_for(emu, home, ZOOMSYNC_PIPELINES_DIR=str(home / "pipelines"),
                      ZOOMSYNC_DUCKDB_PATH=str(home / "w.duckdb"))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zoomsync", "run", "--streams", STREAMS, *args], env=env,
            cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, text: str, *, count: int = 1, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while sum(text in line for line in self.lines) < count:
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._changed.wait(0.5)):
                    raise AssertionError(f"no {text!r} in:\n" + "\n".join(self.lines[-30:]))
                self._changed.wait(min(left, 0.5))

    def signal(self, sig: int) -> None:
        os.killpg(self.proc.pid, sig) if sig == signal.SIGKILL else self.proc.send_signal(sig)

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)  # the reader drains the pipe to its end
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return code

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)


def tables(db: Path) -> dict[str, list[dict]]:
    with duckdb.connect(str(db), read_only=True) as con:
        present = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'zoom'"
        ).fetchall()}
        return {t: warehouse(con, "zoom", t) if t in present else [] for t in TABLES}


def assert_same(expected: dict[str, list[dict]], actual: dict[str, list[dict]]) -> None:
    for table in TABLES:
        key = PAIRS[table][1]
        assert differences(expected[table], actual[table], key) == [], table
        assert len(actual[table]) == len(expected[table]) > 0, table


def pending_packages(home: Path) -> list[Path]:
    return list((home / "pipelines").glob("*/load/normalized/*"))


def status_file(home: Path) -> dict:
    files = list((home / "pipelines").glob("*.status.json"))
    return json.loads(files[0].read_text()) if files else {}


@pytest.fixture(scope="module")
def reference(emu: RunningEmulator, tmp_path_factory: pytest.TempPathFactory
              ) -> dict[str, list[dict]]:
    home = tmp_path_factory.mktemp("reference")
    run = Zoomsync(emu, home)
    assert run.finish(timeout=110) == 0, run.stderr
    return tables(home / "w.duckdb")


def test_kill_9_mid_load_then_restart_completes_with_no_loss_or_duplicate(
        emu: RunningEmulator, reference: dict[str, list[dict]], tmp_path: Path) -> None:
    from zoomsync.lock import holder

    first = Zoomsync(emu, tmp_path, "--every", "1h")
    first.wait_for("step=load started")
    first.signal(signal.SIGKILL)
    assert first.finish() == -signal.SIGKILL
    # The kill landed inside the load: its package is still pending.
    assert pending_packages(tmp_path), first.stderr
    lock = tmp_path / "w.duckdb.zoomsync.lock"  # beside the DuckDB file (lock.py)
    assert lock.exists() and holder(lock) is None  # left behind by the kill, but not held

    again = Zoomsync(emu, tmp_path, "--every", "1h")
    again.wait_for("next run")  # its first run is over; it now sleeps for an hour
    assert status_file(tmp_path)["last_run"]["ok"] is True
    assert not pending_packages(tmp_path)
    again.signal(signal.SIGTERM)
    assert again.finish() == 0, again.stderr
    assert "another zoomsync is running" not in again.stderr  # the crash left no stale lock
    assert_same(reference, tables(tmp_path / "w.duckdb"))
    assert holder(lock) is None and not lock.exists()  # released and removed on exit
    assert status_file(tmp_path)["next_run_at"] is None


def test_sigterm_during_a_load_lets_it_complete_and_exits_0(
        emu: RunningEmulator, reference: dict[str, list[dict]], tmp_path: Path) -> None:
    run = Zoomsync(emu, tmp_path)
    run.wait_for("step=load started")
    run.signal(signal.SIGTERM)
    time.sleep(0.05)  # two signals sent at once may reach the process as one
    run.signal(signal.SIGTERM)  # a second one never interrupts a load either
    assert run.finish() == 0, run.stderr
    text = run.stderr
    assert text.index("stopping after the current run") < text.index("step=load finished")
    assert "step is never interrupted" in text
    assert not pending_packages(tmp_path)
    assert_same(reference, tables(tmp_path / "w.duckdb"))


def test_one_sigterm_during_extraction_finishes_the_run(
        emu: RunningEmulator, reference: dict[str, list[dict]], tmp_path: Path) -> None:
    run = Zoomsync(emu, tmp_path, "--every", "10s")
    run.wait_for("step=extract started")
    run.signal(signal.SIGTERM)
    assert run.finish() == 0, run.stderr
    assert run.stderr.count("Run complete") == 1 and "next run" not in run.stderr
    assert_same(reference, tables(tmp_path / "w.duckdb"))


def test_two_sigterms_during_extraction_abort_it_and_load_nothing(
        emu: RunningEmulator, reference: dict[str, list[dict]], tmp_path: Path) -> None:
    run = Zoomsync(emu, tmp_path, "--every", "10s")
    run.wait_for("step=extract started")
    time.sleep(0.3)
    run.signal(signal.SIGTERM)
    time.sleep(0.05)
    run.signal(signal.SIGTERM)
    assert run.finish() == 143, run.stderr
    assert "aborting the extraction" in run.stderr
    assert "step=load started" not in run.stderr
    db = tmp_path / "w.duckdb"
    if db.exists():
        assert all(rows == [] for rows in tables(db).values())
    last = status_file(tmp_path)["last_run"]
    assert last["ok"] is False and "aborted by a signal" in last["error"]

    # Nothing was damaged: the next run is complete.
    again = Zoomsync(emu, tmp_path)
    assert again.finish() == 0, again.stderr
    assert_same(reference, tables(db))
