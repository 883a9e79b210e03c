"""One run at a time per pipeline: an advisory lock file next to the pipeline's state.

The lock is `fcntl.flock` on `<pipelines_dir>/<pipeline>.lock`. The kernel releases it when
the holder's process ends in any way (exit, crash, `kill -9`), so a crash never leaves a
stale lock behind and there is nothing to "recover" by hand. The file's content — pid, host,
start time, command line — is only for messages: a second zoomsync reads it to say in one
line who holds the lock. The content may be stale after a crash; the flock never is.

flock is local to one machine: keep the pipelines directory on a local disk (or one pod's
volume), not on NFS shared by several hosts.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zoomsync.errors import EXIT_LOCKED, DestinationBusy

LOCKED_EXIT_CODE = EXIT_LOCKED  # what `zoomsync` exits with on LockHeld (errors.exit_code)


class LockHeld(DestinationBusy):
    """Another zoomsync process holds the run lock."""

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        self.path = path
        self.holder = holder
        super().__init__(f"another zoomsync is running ({describe(holder)}); it holds {path}: "
                         "wait for it, stop it, or pass --wait")


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

    def __init__(self, path: Path, *, command: str | None = None) -> None:
        self.path = path
        self.command = command if command is not None else _command_line()
        self._fd: int | None = None

    def acquire(self, *, wait: bool = False, poll: float = 1.0,
                should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Take the lock; raise `LockHeld` if taken and not `wait`. False if stopped waiting."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        # Without --wait, still retry for a moment: `zoomsync status` takes a shared lock
        # for an instant to see whether anyone holds it.
        give_up = time.monotonic() + 1.0
        try:
            while not self._try(fd):
                if not wait and time.monotonic() > give_up:
                    raise LockHeld(self.path, read_holder(self.path))
                if wait and should_stop():
                    os.close(fd)
                    return False
                time.sleep(poll if wait else 0.05)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        self._fd = fd
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "command": self.command}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        return True

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
        # Emptied first, so a reader never shows a finished run as the holder.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
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
