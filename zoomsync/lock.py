"""One run at a time per destination: an advisory lock file named after the destination.

Two runs that load into the same place must not overlap, however each was started (another
`ZOOMSYNC_PIPELINES_DIR`, another account of the config file): both would extract for
minutes, then one would fail at load, or both would rewrite the same tables. So the lock's
name comes from the destination itself, never from the pipelines directory
(`destination_lock`):

* a DuckDB file: `<file>.zoomsync.lock` beside it. Whoever can write the file can write
  there, so runs of different users, homes or containers sharing the volume all meet.
* any other destination: `~/.zoomsync/locks/<place>-<hash>.lock`, keyed by the storage a
  load writes (`Target.place`: host, port, database or bucket; no user or secret) and the
  dataset. The home directory is the same for every run of one user whatever the pipelines
  directory, exists under cron and systemd (unlike `$XDG_RUNTIME_DIR`), is not made private
  per service (unlike `/tmp` under systemd's PrivateTmp), and no other user can create,
  hold or swap a file in it to block or fool a run (as they could in a shared `/tmp`).
  Runs of two users into one warehouse therefore do not meet. For a user whose home cannot
  be written (a container's user without one), `$TMPDIR/zoomsync-<uid>/locks`, checked to
  be that user's own.

The lock is `fcntl.flock` on that file. The kernel releases it when the holder's process
ends in any way (exit, crash, `kill -9`), so a crash never leaves a stale lock behind and
there is nothing to "recover" by hand. The file's content — pid, host, start time, command
line, destination — is only for messages: a second zoomsync reads it to say in one line who
holds the lock. The content may be stale after a crash; the flock never is. The holder
removes the file as it lets go (an acquirer checks it locked the file still at that path),
so nothing is left next to a DuckDB file.

flock is local to one machine: two hosts loading into one warehouse do not see each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoomsync.errors import EXIT_LOCKED, DestinationBusy

if TYPE_CHECKING:
    from zoomsync.config import Settings
    from zoomsync.destinations.target import Target

LOCKED_EXIT_CODE = EXIT_LOCKED  # what `zoomsync` exits with on LockHeld (errors.exit_code)


class LockHeld(DestinationBusy):
    """Another zoomsync process holds the run lock."""

    def __init__(self, path: Path, holder: dict[str, Any], what: str | None = None) -> None:
        self.path = path
        self.holder = holder
        into = f" into {what}" if what else ""
        super().__init__(f"another zoomsync is running{into} ({describe(holder)}); it holds "
                         f"{path}: wait for it, stop it, or pass --wait")


def lock_dir() -> Path:
    """Where the locks of destinations other than a local file live (module docstring):
    `~/.zoomsync/locks`, or for a user whose home cannot be written (a container's user
    without one: HOME=/), a folder of that user's own in the temporary directory."""
    try:
        home = Path.home() / ".zoomsync" / "locks"
    except RuntimeError:  # no home directory can be found at all
        return _private_temp_dir() / "locks"
    # Decided without creating anything: `zoomsync status` only reads; a run creates it.
    existing = home
    try:
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
            return home
    except OSError:  # a folder on the way that cannot even be looked into
        pass
    return _private_temp_dir() / "locks"


def _private_temp_dir() -> Path:
    """`$TMPDIR/zoomsync-<uid>`, made 0700 and checked to be this user's own directory,
    not a symlink: in a shared /tmp, someone else's folder there could hold or swap a lock."""
    import stat
    import tempfile

    from zoomsync.errors import ConfigError

    folder = Path(tempfile.gettempdir()) / f"zoomsync-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise ConfigError(f"{folder} is not a private folder of this user: remove it, or give "
                          "zoomsync a writable home directory (HOME) for its run locks")
    (folder / "locks").mkdir(mode=0o700, exist_ok=True)
    return folder


def lock_for(target: Target, dataset: str) -> tuple[Path, str]:
    """The lock file of a run loading into `dataset` of `target`, and what it guards (for
    messages; it names no user and no secret)."""
    if target.local_file is not None:
        # The whole file: DuckDB lets one process at a time write any of its schemas.
        file = target.local_file
        return file.with_name(file.name + ".zoomsync.lock"), f"the DuckDB file {file}"
    key = f"{target.place}/{dataset}"
    # Readable for whoever lists the folder; the digest keeps distinct keys distinct.
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", key.split("://", 1)[-1]).strip("-")[:80]
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    place = target.place if target.place.startswith(target.name) else (
        f"{target.name} {target.place}")
    return lock_dir() / f"{target.name}-{slug}-{digest}.lock", f"dataset {dataset} of {place}"


def destination_lock(settings: Settings, *, command: str | None = None) -> RunLock:
    """The run lock of the destination `settings` load into (ConfigError if it is invalid)."""
    from zoomsync.destinations import resolve

    path, what = lock_for(resolve(settings), settings.dataset_name)
    return RunLock(path, command=command, what=what)


def describe(holder: dict[str, Any]) -> str:
    """`pid 123 on host since 2026-11-01T12:00:00Z: zoomsync run --every 15m`."""
    if not holder:
        return "holder unknown"
    text = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
    if holder.get("started_at"):
        text += f" since {holder['started_at']}"
    if holder.get("command"):
        text += f": {holder['command']}"
    return text


class RunLock:
    """An exclusive, non-blocking flock; `acquire(wait=True)` polls until it is free.

    Polling (rather than a blocking flock) keeps a waiting process responsive to SIGTERM.
    """

    def __init__(self, path: Path, *, command: str | None = None,
                 what: str | None = None) -> None:
        self.path = path
        self.command = command if command is not None else _command_line()
        self.what = what
        self._fd: int | None = None
        self._writable = False

    def acquire(self, *, wait: bool = False, poll: float = 1.0,
                should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Take the lock; raise `LockHeld` if taken and not `wait`. False if stopped waiting."""
        # Without --wait, still retry for a moment: `zoomsync status` takes a shared lock
        # for an instant to see whether anyone holds it.
        give_up = time.monotonic() + 1.0
        while True:
            fd = self._open()
            try:
                while not self._try(fd):
                    if not wait and time.monotonic() > give_up:
                        raise LockHeld(self.path, read_holder(self.path), self.what)
                    if wait and should_stop():
                        os.close(fd)
                        return False
                    time.sleep(poll if wait else 0.05)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.close(fd)
                raise
            if self._still_there(fd):
                break
            # The holder removed the file as it let go, after we opened it: lock the file
            # now at the path, or two runs would each hold a lock on a different file.
            os.close(fd)
        self._fd = fd
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "command": self.command, "destination": self.what}
        if self._writable:
            # Only for messages: a full disk must not stop a run that holds the lock.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(info).encode(), 0)
        return True

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            self._writable = True
            return fd
        except PermissionError:
            # Another user's lock file beside a shared DuckDB file: a read-only descriptor
            # takes the flock just as well; only the holder's details cannot be written.
            self._writable = False
            return os.open(self.path, os.O_RDONLY)

    def _still_there(self, fd: int) -> bool:
        try:
            here = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)

    @staticmethod
    def _try(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        # Emptied first, so a reader never shows a finished run as the holder; removed while
        # still locked, so a waiting acquirer sees it went and locks a new file (acquire).
        if self._writable:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
        with contextlib.suppress(OSError):  # not ours to remove (a sticky /tmp): leave it
            if self._still_there(fd):
                os.unlink(self.path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(path: Path) -> dict[str, Any] | None:
    """Who holds the lock now, or None if no process does (the file may still exist)."""
    if not path.exists():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        # A shared lock is refused only while someone holds the exclusive one; taking it
        # for a moment never blocks a holder (a scheduler starting now retries briefly).
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return read_holder(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def read_holder(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _command_line() -> str:
    args = [Path(sys.argv[0]).name if sys.argv else "zoomsync", *sys.argv[1:]]
    if args[0] in ("__main__.py", "-m"):
        args[0] = "zoomsync"
    return " ".join(args)[:200]
