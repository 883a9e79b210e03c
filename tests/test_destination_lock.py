"""The run lock belongs to the destination: runs into one DuckDB file or one warehouse dataset
exclude each other whatever their pipelines directories; runs into different ones do not."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import small_account
from tests.sync.test_run_cli import env_for
from zoomsync.config import Settings
from zoomsync.destinations import resolve
from zoomsync.emulator.server import RunningEmulator
from zoomsync.lock import LOCKED_EXIT_CODE, RunLock, holder, lock_for
from zoomsync.status import files

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with small_account(users=4) as running:
        yield running


def tokens_issued(emu: RunningEmulator) -> int:
    """Every zoomsync run asks for a token before its first Zoom call."""
    counters = httpx.get(f"{emu.base_url}/_emulator/counters", timeout=10).json()
    return int(counters["tokens"]["tokens_issued"])


class Run:
    """`zoomsync run --streams users ...` whose stderr is read line by line as it comes; with
    `--every 1h` it holds its destination's lock while it sleeps."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zoomsync", "run", "--streams", "users", *args],
            env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.proc.poll() is None, "\n".join(self.lines)
            assert time.monotonic() < deadline, "\n".join(self.lines[-20:])
            time.sleep(0.05)

    def finish(self, *, stop: bool = False) -> int:
        """The exit code; `stop`: ask it to stop first (SIGTERM), as a scheduler is."""
        if stop and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=40)
        self._reader.join(timeout=5)  # the reader drains the pipe to its end
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return code


def zoomsync(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zoomsync", "run", "--streams", "users", *args],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=50)


def test_one_duckdb_file_one_run_whatever_the_pipelines_dir(emu: RunningEmulator,
                                                            tmp_path: Path) -> None:
    db, other_db = tmp_path / "w.duckdb", tmp_path / "other.duckdb"
    first = Run(env_for(emu, tmp_path, ZOOMSYNC_PIPELINES_DIR=str(tmp_path / "a"),
                        ZOOMSYNC_DUCKDB_PATH=str(db)), tmp_path, "--every", "1h")
    try:
        first.wait_for("next run")  # its run is over; it sleeps, holding the lock
        lock = tmp_path / "w.duckdb.zoomsync.lock"
        assert holder(lock)["pid"] == first.proc.pid  # type: ignore[index]
        tokens = tokens_issued(emu)

        # Another pipelines folder, same file: refused before any Zoom call, in one line.
        began = time.monotonic()
        second = zoomsync(env_for(emu, tmp_path, ZOOMSYNC_PIPELINES_DIR=str(tmp_path / "b"),
                                  ZOOMSYNC_DUCKDB_PATH=str(db)), tmp_path)
        took = time.monotonic() - began
        assert second.returncode == LOCKED_EXIT_CODE, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert f"another zoomsync is running into the DuckDB file {db}" in lines[0]
        assert f"pid {first.proc.pid} on " in lines[0] and "--every 1h" in lines[0]
        assert tokens_issued(emu) == tokens and took < 15
        assert not (tmp_path / "b").exists()  # not even a pipeline was set up

        # `zoomsync status` from the other folder sees the run into that file too.
        shown = subprocess.run([sys.executable, "-m", "zoomsync", "status"], env=env_for(
            emu, tmp_path, ZOOMSYNC_PIPELINES_DIR=str(tmp_path / "b"),
            ZOOMSYNC_DUCKDB_PATH=str(db)), cwd=tmp_path, capture_output=True, text=True,
            timeout=30)
        assert f"running (pid {first.proc.pid} on " in shown.stdout, shown.stdout + shown.stderr

        # Another file, same pipelines folder: runs beside the first, to the end.
        third = zoomsync(env_for(emu, tmp_path, ZOOMSYNC_PIPELINES_DIR=str(tmp_path / "a"),
                                 ZOOMSYNC_DUCKDB_PATH=str(other_db)), tmp_path, "--json")
        assert third.returncode == 0, third.stderr
        assert json.loads(third.stdout)["rows"]["users"] == len(emu.emulator.dataset.live_users())
        assert first.proc.poll() is None
    finally:
        code = first.finish(stop=True)
    assert code == 0, "\n".join(first.lines)
    status_file, _ = files(Settings.model_validate({"pipelines_dir": tmp_path / "a",
                                                    "duckdb_path": db}))
    assert json.loads(status_file.read_text())["last_run"]["ok"] is True
    assert not lock.exists()  # released and removed: nothing left beside the file


def test_a_warehouse_lock_is_keyed_by_place_and_dataset_never_by_login(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch
                                                                    ) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # the postgres extra is in [test]: no skip

    def lock(url: str, dataset: str = "zoom") -> tuple[Path, str]:
        settings = Settings.model_validate({"destination": "postgres", "postgres_url": url,
                                            "dataset_name": dataset})
        return lock_for(resolve(settings), settings.dataset_name)

    path, what = lock("postgresql://loader:pw-one-123@DB.example.com/analytics")
    # Another login, the port spelled out: the same tables, so the same lock.
    assert lock("postgres://admin:pw-two-456@db.example.com:5432/analytics")[0] == path
    assert lock("postgresql://loader:pw-one-123@db.example.com/analytics", "zoom_emea")[0] != path
    assert lock("postgresql://loader:pw-one-123@db.example.com/other")[0] != path
    assert lock("postgresql://loader:pw-one-123@db2.example.com/analytics")[0] != path
    assert path.parent == tmp_path / ".zoomsync" / "locks"
    assert what == "dataset zoom of postgres://db.example.com:5432/analytics"
    held = RunLock(path, what=what)
    assert held.acquire()
    try:
        text = path.read_text()
        assert "db.example.com" in text
        assert not any(s in f"{path}{text}" for s in ("pw-one-123", "loader", "admin"))
    finally:
        held.release()
    assert not path.exists()


def test_a_bucket_lock_ignores_credentials_and_query(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from zoomsync.destinations.target import Target

    monkeypatch.setenv("HOME", str(tmp_path))

    plain = Target("delta", "delta:s3://Bucket/zoom/", None, None)
    secret = Target("delta", "delta:s3://key:secret-789@bucket/zoom?sig=secret-789", None, None)
    assert lock_for(plain, "zoom") == lock_for(secret, "zoom")
    assert "secret-789" not in str(lock_for(secret, "zoom"))
    local = Target("duckdb", f"duckdb:{tmp_path / 'w.duckdb'}", None, None,
                   local_file=tmp_path / "w.duckdb")
    assert lock_for(local, "zoom")[0] == tmp_path / "w.duckdb.zoomsync.lock"


def test_a_lock_released_while_another_waits_is_not_held_twice(tmp_path: Path) -> None:
    """The holder removes the file as it lets go: a waiter that opened the old file must lock
    the new one, or a third process creating it would hold a lock at the same time."""
    path = tmp_path / "w.duckdb.zoomsync.lock"
    first = RunLock(path)
    assert first.acquire()
    waiter = RunLock(path)
    got: list[bool] = []
    thread = threading.Thread(target=lambda: got.append(waiter.acquire(wait=True, poll=0.02)))
    thread.start()
    time.sleep(0.2)  # the waiter has opened the file and polls its flock
    first.release()
    thread.join(timeout=10)
    assert got == [True] and waiter.held
    assert path.exists() and holder(path) is not None  # what it holds is the file at the path
    third = RunLock(path)
    with pytest.raises(Exception, match="another zoomsync is running"):
        third.acquire()
    waiter.release()


def test_without_a_writable_home_the_locks_go_to_a_private_temp_folder(tmp_path: Path) -> None:
    """A container's user often has no home (HOME=/): a folder of its own in $TMPDIR, made
    0700; one that is not private (another user could hold or swap a lock there) is refused."""
    (tmp_path / "not-a-home").write_text("")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {"HOME": str(tmp_path / "not-a-home"), "TMPDIR": str(temp), "PATH": "/usr/bin:/bin"}
    code = "from zoomsync.lock import lock_dir; print(lock_dir())"

    def where() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", code], env={**env, "PYTHONPATH":
                              str(Path(__file__).resolve().parents[1])}, capture_output=True,
                              text=True, timeout=30)

    r = where()
    mine = temp / f"zoomsync-{os.getuid()}"
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(mine / "locks")
    assert mine.stat().st_mode & 0o777 == 0o700
    mine.chmod(0o777)
    r = where()
    assert r.returncode != 0 and "is not a private folder of this user" in r.stderr


@pytest.fixture
def holder_of() -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    """Starts a Python process that opens a DuckDB file for writing and keeps it open, as
    the duckdb shell or a notebook would; terminated after the test."""
    started: list[subprocess.Popen[str]] = []

    def hold(db: Path) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
             "print('held', flush=True); time.sleep(120)", str(db)],
            stdout=subprocess.PIPE, text=True)
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        return proc

    yield hold
    for proc in started:
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()


def test_a_duckdb_file_another_program_holds_exits_75_before_any_zoom_call(
        emu: RunningEmulator, tmp_path: Path,
        holder_of: Callable[[Path], subprocess.Popen[str]]) -> None:
    import duckdb

    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    other = holder_of(db)
    tokens = tokens_issued(emu)
    r = zoomsync(env_for(emu, tmp_path, ZOOMSYNC_PIPELINES_DIR=str(tmp_path / "p"),
                         ZOOMSYNC_DUCKDB_PATH=str(db)), tmp_path)
    assert r.returncode == LOCKED_EXIT_CODE, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"error: the DuckDB file {db} is locked by pid {other.pid} (")
    assert lines[0].endswith("); close it or run again")
    assert tokens_issued(emu) == tokens  # found before asking Zoom for anything


def test_a_duckdb_file_taken_during_extraction_exits_75_at_the_load(
        emu: RunningEmulator, tmp_path: Path,
        holder_of: Callable[[Path], subprocess.Popen[str]]) -> None:
    """The check before extraction passed; the file was opened by someone else while the
    run read Zoom (slowed down by the emulator): the load says who holds it, in one line."""
    import duckdb

    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    faults = f"{emu.base_url}/_emulator/faults"
    httpx.put(faults, json={"slow": 1, "slow_ms": 1000}, timeout=10).raise_for_status()
    try:
        run = Run(env_for(emu, tmp_path, ZOOMSYNC_PIPELINES_DIR=str(tmp_path / "p"),
                          ZOOMSYNC_DUCKDB_PATH=str(db)), tmp_path)
        run.wait_for("step=extract started")
        other = holder_of(db)
        code = run.finish()
    finally:
        httpx.put(faults, json={}, timeout=10).raise_for_status()
    assert code == LOCKED_EXIT_CODE, "\n".join(run.lines)
    assert not any("Traceback" in line for line in run.lines), "\n".join(run.lines)
    errors = [line for line in run.lines if line.startswith("error:")]
    assert errors == [errors[0]] and errors[0].startswith(
        f"error: the DuckDB file {db} is locked by pid {other.pid} ("), "\n".join(run.lines)
