"""A run that fails on its environment — a full disk, a folder it may not write, a server
that does not answer — ends in one line naming the cause, whole, with no traceback, and
the exit code README's table gives (real `zoomsync run` processes against the emulator)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import small_account
from tests.sync.test_run_cli import env_for
from zoomsync.emulator.server import RunningEmulator, free_port
from zoomsync.errors import DestinationError, DiskFullError, exit_code
from zoomsync.failures import MAX_LINE, clip, explain

pytestmark = pytest.mark.timeout(60)

STREAMS = "users,groups,past_meetings,meeting_participants,recordings"


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with small_account(users=4) as running:
        yield running


def run(env: dict[str, str], cwd: Path, *args: str, tmpfs: tuple[Path, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    """`zoomsync run`; with `tmpfs=(folder, size)`, a tmpfs of that size is mounted on the
    folder in a mount namespace of the process's own (`unshare`, no root needed): a disk
    that really fills up, seen by that process only and gone when it exits."""
    command = [sys.executable, "-m", "zoomsync", "run", *args]
    if tmpfs is not None:
        folder, size = tmpfs
        command = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                   f'mount -t tmpfs -o size={size} tmpfs "{folder}" && exec "$@"', "sh",
                   *command]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=50)


def error_line(r: subprocess.CompletedProcess[str]) -> str:
    """The one `error:` line; nothing else on stderr may be a traceback."""
    assert "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, r.stderr
    return errors[0]


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            "mount -t tmpfs -o size=4k tmpfs /mnt"], capture_output=True,
                           timeout=10)
    return probe.returncode == 0


# Where user namespaces are refused (many containers), no small disk can be mounted: the
# cases below then take the kernel's own ENOSPC from /dev/full instead. Never a skip.
TMPFS = _can_mount_tmpfs()


def _enospc() -> OSError:
    """A real `No space left on device` from the kernel: every write to /dev/full."""
    try:
        with open("/dev/full", "w") as full:
            full.write("x")
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
        return exc
    raise AssertionError("/dev/full took a write")


def test_a_full_disk_while_extracting_names_the_pipelines_folder(emu: RunningEmulator,
                                                                 tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    if not TMPFS:  # the same mapping the run makes, of a real ENOSPC during extraction
        from zoomsync.config import Settings
        from zoomsync.failures import explain

        settings = Settings(pipelines_dir=pipelines)
        assert str(explain(_enospc(), step="extract", settings=settings)) == (
            f"disk full: no space left on device writing {pipelines}: free space or set "
            "ZOOMSYNC_PIPELINES_DIR to a bigger disk")
        return
    r = run(env_for(emu, tmp_path, ZOOMSYNC_PIPELINES_DIR=str(pipelines)), tmp_path,
            "--streams", "users", "--duckdb-path", str(tmp_path / "w.duckdb"),
            tmpfs=(pipelines, "8k"))
    assert r.returncode == 1, r.stderr
    assert error_line(r) == (
        f"error: disk full: no space left on device writing {pipelines}: free space or set "
        "ZOOMSYNC_PIPELINES_DIR to a bigger disk")
    # The status file is on that disk too: one warning says it could not be written.
    assert "could not update the status file" in r.stderr


def test_a_full_disk_while_loading_names_the_file_and_logs_no_traceback(
        emu: RunningEmulator, tmp_path: Path) -> None:
    """dlt retries each load job five times, logging every failure with the driver's
    traceback quoted in its message: dozens of tracebacks before. Its log lines now end
    with the exception line, and the run with one line naming the file."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if TMPFS:
        full, tmpfs = f"{disk}/w.duckdb", (disk, "64k")
    else:  # DuckDB's write-ahead log on /dev/full fails every load write alike
        (disk / "w.duckdb.wal").symlink_to("/dev/full")
        full, tmpfs = f"{disk}/w.duckdb.wal", None
    r = run(env_for(emu, tmp_path, ZOOMSYNC_PIPELINES_DIR=str(tmp_path / "p")), tmp_path,
            "--streams", STREAMS, "--duckdb-path", str(disk / "w.duckdb"), tmpfs=tmpfs)
    assert r.returncode == 1, r.stderr
    line = error_line(r)
    assert line.startswith(f"error: disk full: no space left on device writing {full}")
    assert line.endswith("free space or set --duckdb-path (ZOOMSYNC_DUCKDB_PATH) to a bigger "
                         "disk")
    retried = [x for x in r.stderr.splitlines() if "retried in load" in x]
    # On /dev/full the file fails as DuckDB opens it, before any job to retry.
    assert retried or not TMPFS, r.stderr
    assert all(x.endswith("No space left on device") for x in retried), r.stderr


def test_a_full_disk_under_the_duckdb_file_via_dev_full(emu: RunningEmulator,
                                                        tmp_path: Path) -> None:
    """/dev/full answers every write with ENOSPC: DuckDB's write-ahead log linked to it
    fails at the load as on a full disk, wherever the tests run."""
    db = tmp_path / "w.duckdb"
    (tmp_path / "w.duckdb.wal").symlink_to("/dev/full")
    r = run(env_for(emu, tmp_path, ZOOMSYNC_PIPELINES_DIR=str(tmp_path / "p")), tmp_path,
            "--streams", "users", "--duckdb-path", str(db))
    assert r.returncode == 1, r.stderr
    assert error_line(r) == (
        f"error: disk full: no space left on device writing {db}.wal: free space or set "
        "--duckdb-path (ZOOMSYNC_DUCKDB_PATH) to a bigger disk")


def test_a_pipelines_dir_that_cannot_be_written_is_bad_input(emu: RunningEmulator,
                                                             tmp_path: Path) -> None:
    """Permission denied (EACCES/EPERM) is for the user to fix: exit 2, before any Zoom call.
    root ignores permission bits, so as root a folder the kernel refuses to anyone is used:
    /sys refuses new directories with EPERM."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o500)
        pipelines, what = folder / "p", "permission denied"
    else:  # sysfs refuses new folders (EPERM); a container mounts it read-only (EROFS)
        what = _refusal("/sys/zoomsync-test")
        pipelines = Path("/sys/zoomsync-test/p")
    r = run(env_for(emu, tmp_path, ZOOMSYNC_PIPELINES_DIR=str(pipelines)), tmp_path,
            "--streams", "users", "--duckdb-path", str(tmp_path / "w.duckdb"))
    assert r.returncode == 2, r.stderr
    line = error_line(r)
    assert line.startswith(f"error: {what}: {pipelines.parent}"), line
    assert line.endswith("give zoomsync write access or set ZOOMSYNC_PIPELINES_DIR to a "
                         "writable place"), line
    assert "fetched a Zoom access token" not in r.stderr  # failed before calling Zoom


def _refusal(path: str) -> str:
    """How the kernel refuses root a new folder at `path`, as the error line words it."""
    try:
        os.mkdir(path)
    except PermissionError:
        return "permission denied"
    except OSError as exc:
        assert exc.errno == errno.EROFS, exc
        return "read-only file system"
    os.rmdir(path)
    raise AssertionError(f"{path} took a new folder: this machine refuses root nothing there")


def test_a_pipelines_dir_through_a_file_is_bad_input(emu: RunningEmulator,
                                                     tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    pipelines = tmp_path / "afile" / "pipelines"
    r = run(env_for(emu, tmp_path, ZOOMSYNC_PIPELINES_DIR=str(pipelines)), tmp_path,
            "--streams", "users", "--duckdb-path", str(tmp_path / "w.duckdb"))
    assert r.returncode == 2, r.stderr
    line = error_line(r)
    assert line.startswith(f"error: not a directory: {pipelines}"), line
    assert line.endswith("(a part of the path is a file): set ZOOMSYNC_PIPELINES_DIR to a "
                         "directory"), line


def test_an_oauth_endpoint_that_does_not_answer_is_transient(emu: RunningEmulator,
                                                            tmp_path: Path) -> None:
    """Nothing listens on the port: a network matter a later run may outlive (exit 1), not
    bad input; the line still says which URL and setting to check."""
    url = f"http://127.0.0.1:{free_port()}/oauth/token"
    r = run(env_for(emu, tmp_path, ZOOM_OAUTH_URL=url), tmp_path, "--streams", "users")
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines() == [error_line(r)]
    assert error_line(r) == (f"error: cannot reach Zoom's OAuth endpoint {url} (ConnectError): "
                             "check ZOOM_OAUTH_URL and the network")
    assert not list(tmp_path.glob("*.duckdb"))


@pytest.mark.parametrize("status", [503, 429])
def test_a_token_endpoint_answering_5xx_or_429_is_transient(emu: RunningEmulator,
                                                            tmp_path: Path, status: int) -> None:
    with answering(status) as url:
        r = run(env_for(emu, tmp_path, ZOOM_OAUTH_URL=url), tmp_path, "--streams", "users")
    assert r.returncode == 1, r.stderr
    line = error_line(r)
    assert r.stderr.strip().splitlines() == [line]
    assert line.startswith(f"error: POST /oauth/token: HTTP {status}: "), line
    assert line.endswith("(Zoom or the network is having trouble; run again later)"), line


@contextmanager
def answering(status: int) -> Iterator[str]:
    """A token endpoint on 127.0.0.1 that answers every request with `status`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"reason": "try later"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/oauth/token"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_root_cause_is_kept_whole_and_long_lines_lose_their_middle() -> None:
    from dlt.load.exceptions import LoadClientJobRetry

    cause = OSError("IO Error: Could not set lock on file \"/data/w.duckdb\": " + "x" * 400
                    + " the reason at the end")
    try:
        raise RuntimeError("wrapped") from cause
    except RuntimeError as wrapped:
        retry = LoadClientJobRetry("1", "users.parquet", 5, 5, "Traceback ...", wrapped)
    error = explain(retry, step="load")
    assert isinstance(error, DestinationError) and exit_code(error) == 1
    assert str(error).startswith("the load step failed: IO Error: Could not set lock on file")
    assert str(error).endswith("the reason at the end")

    text = "head " + "y" * 3000 + " No space left on device"
    line = clip(text)
    assert len(line) <= MAX_LINE and line.startswith("head ") and line.endswith("device")

    quoted = ("Job failed with message Traceback (most recent call last):\n  File \"x.py\", "
              "line 1, in f\n    f()\n_duckdb.TransactionException: TransactionContext Error: "
              "Failed to commit: Could not write file \"/d/w.duckdb.wal\": No space left on "
              "device\n")
    full = explain(RuntimeError(quoted), step="load")
    assert isinstance(full, DiskFullError) and exit_code(full) == 1
    assert "writing /d/w.duckdb.wal" in str(full)
    assert "Traceback" not in str(full)

    disk = explain(OSError(errno.ENOSPC, "No space left on device", "/var/p/x.parquet"))
    assert str(disk).startswith("disk full: no space left on device writing /var/p/x.parquet")
