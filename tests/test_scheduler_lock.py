"""One run at a time: the flock, what a second zoomsync says, --wait, and crash release."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import small_account
from tests.sync.test_run_cli import env_for
from zoomsync.config import Settings
from zoomsync.emulator.server import RunningEmulator
from zoomsync.lock import LOCKED_EXIT_CODE, LockHeld, RunLock, holder
from zoomsync.status import files

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with small_account(users=4) as running:
        yield running


def lock_path(home: Path) -> Path:
    settings = Settings(pipelines_dir=home / "pipelines", duckdb_path=home / "w.duckdb")
    return files(settings)[1]


def zoomsync_env(emu: RunningEmulator, home: Path) -> dict[str, str]:
    return env_for(emu, home, ZOOMSYNC_PIPELINES_DIR=str(home / "pipelines"),
                   ZOOMSYNC_DUCKDB_PATH=str(home / "w.duckdb"))


def test_second_lock_is_refused_with_the_holders_details(tmp_path: Path) -> None:
    path = tmp_path / "p.lock"
    first = RunLock(path, command="zoomsync run --every 15m")
    assert first.acquire()
    info = holder(path)
    assert info is not None
    assert info["pid"] == os.getpid() and info["command"] == "zoomsync run --every 15m"
    with pytest.raises(LockHeld) as caught:
        RunLock(path).acquire()
    message = str(caught.value)
    assert f"pid {os.getpid()}" in message and "zoomsync run --every 15m" in message
    assert "\n" not in message
    first.release()
    assert holder(path) is None
    second = RunLock(path)
    assert second.acquire()
    second.release()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    path = tmp_path / "p.lock"
    code = ("import sys, time; from pathlib import Path; from zoomsync.lock import RunLock; "
            f"RunLock(Path({str(path)!r})).acquire(); print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    assert holder(path)["pid"] == proc.pid  # type: ignore[index]
    proc.kill()
    proc.wait(timeout=10)
    proc.stdout.close()
    # The kernel released the flock with the process; the file's stale text does not matter.
    assert holder(path) is None
    lock = RunLock(path)
    assert lock.acquire()
    lock.release()


def test_wait_gives_up_when_asked_to_stop(tmp_path: Path) -> None:
    path = tmp_path / "p.lock"
    with RunLock(path):
        began = time.monotonic()
        polls = iter([False, False, True])
        assert RunLock(path).acquire(wait=True, poll=0.01,
                                     should_stop=lambda: next(polls)) is False
        assert time.monotonic() - began < 2


def test_cli_run_while_another_holds_the_lock_exits_75_in_one_line(
        emu: RunningEmulator, tmp_path: Path) -> None:
    with RunLock(lock_path(tmp_path), command="zoomsync run --cron '*/5 * * * *'"):
        r = subprocess.run([sys.executable, "-m", "zoomsync", "run", "--streams", "users"],
                           env=zoomsync_env(emu, tmp_path), cwd=tmp_path, capture_output=True,
                           text=True, timeout=50)
    assert r.returncode == LOCKED_EXIT_CODE, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "another zoomsync is running" in lines[0], r.stderr
    assert f"pid {os.getpid()}" in lines[0] and "--cron '*/5 * * * *'" in lines[0]
    assert not (tmp_path / "w.duckdb").exists()


def test_cli_run_with_wait_runs_once_the_lock_is_free(emu: RunningEmulator,
                                                      tmp_path: Path) -> None:
    lock = RunLock(lock_path(tmp_path))
    lock.acquire()
    proc = subprocess.Popen([sys.executable, "-m", "zoomsync", "run", "--streams", "users",
                             "--wait", "--json"], env=zoomsync_env(emu, tmp_path), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    assert proc.poll() is None  # still waiting
    assert not (tmp_path / "w.duckdb").exists()
    lock.release()
    out, err = proc.communicate(timeout=50)
    assert proc.returncode == 0, err
    assert json.loads(out)["rows"]["users"] == len(emu.emulator.dataset.live_users())


def test_sigterm_while_waiting_exits_0_without_running(emu: RunningEmulator,
                                                       tmp_path: Path) -> None:
    with RunLock(lock_path(tmp_path)):
        proc = subprocess.Popen([sys.executable, "-m", "zoomsync", "run", "--every", "1m",
                                 "--wait"], env=zoomsync_env(emu, tmp_path), cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert not (tmp_path / "w.duckdb").exists()


def test_state_reset_waits_for_no_one_and_never_races_a_run(emu: RunningEmulator,
                                                             tmp_path: Path) -> None:
    held = RunLock(lock_path(tmp_path), command="zoomsync run --every 15m")
    assert held.acquire()
    try:
        for args in (["state", "reset", "--yes"], ["run", "--full-refresh", "users"]):
            r = subprocess.run([sys.executable, "-m", "zoomsync", *args],
                               env=zoomsync_env(emu, tmp_path), capture_output=True, text=True,
                               timeout=30)
            assert r.returncode == LOCKED_EXIT_CODE, r.stderr
            assert "zoomsync run --every 15m" in r.stderr
            assert "Traceback" not in r.stderr
    finally:
        held.release()


def test_full_refresh_with_wait_waits_then_resets(emu: RunningEmulator, tmp_path: Path) -> None:
    """`run --full-refresh users --wait` under a held lock waits, and only then forgets the
    users' state: the run after the wait reads and loads every user again."""
    env = zoomsync_env(emu, tmp_path)
    first = subprocess.run([sys.executable, "-m", "zoomsync", "run", "--streams", "users"],
                           env=env, cwd=tmp_path, capture_output=True, text=True, timeout=50)
    assert first.returncode == 0, first.stderr
    pipelines = tmp_path / "pipelines"
    state_files = sorted(pipelines.glob("*/state.json"))
    before = [p.read_text() for p in state_files]
    lock = RunLock(lock_path(tmp_path))
    lock.acquire()
    proc = subprocess.Popen([sys.executable, "-m", "zoomsync", "run", "--streams", "users",
                             "--full-refresh", "users", "--wait", "--json"], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(2.5)
    assert proc.poll() is None  # still waiting
    assert [p.read_text() for p in state_files] == before  # and nothing reset meanwhile
    lock.release()
    out, err = proc.communicate(timeout=50)
    assert proc.returncode == 0, err
    # Reset: every user loads again (an unchanged account would load none otherwise).
    assert json.loads(out)["rows"]["users"] == len(emu.emulator.dataset.live_users())
