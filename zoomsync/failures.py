"""A failure from deep inside dlt or a driver, as one line that names its cause.

dlt wraps what went wrong: `PipelineStepFailed` holds the step's exception, a load job's
`LoadClientJobRetry` holds the driver's exception (and its message repeats that exception's
whole traceback as text), and a connection failure wraps the driver's error in a paragraph
of advice. The reason — `No space left on device`, `Could not set lock on file ...` — comes
last, where a first line cut at a few hundred characters never reached it. `explain` walks
to the innermost cause and makes it a `ZoomSyncError` whose class gives the exit code
(errors.exit_code):

* one of our own errors raised inside a step: itself;
* a full disk (ENOSPC, EDQUOT): `DiskFullError`, naming the file or folder it was writing;
* permission denied, a read-only file system, a path through a file: `ConfigError`;
* a DuckDB file another program holds open: `DestinationBusy`, naming its pid;
* anything else: `DestinationError` with the innermost message.

Lines are capped at `MAX_LINE` characters by cutting the middle, never the end, where the
reason is.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path
from typing import TYPE_CHECKING

from zoomsync.errors import (
    ConfigError,
    DestinationBusy,
    DestinationError,
    DiskFullError,
    ZoomSyncError,
)

if TYPE_CHECKING:
    from zoomsync.config import Settings

MAX_LINE = 1000
TRACEBACK = "Traceback (most recent call last):"
DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}
NOT_A_DIRECTORY = {errno.ENOTDIR}
# strerror(ENOSPC) and strerror(EDQUOT), as drivers quote them in their own errors.
DISK_FULL_TEXT = ("No space left on device", "Disk quota exceeded")
# DuckDB 1.x: 'IO Error: Could not set lock on file "/x.duckdb": Conflicting lock is held in
# /usr/bin/python3.11 (PID 4242) by user ann. See also https://duckdb.org/...'
DUCKDB_LOCK = re.compile(r'Could not set lock on file "(?P<file>[^"]+)": Conflicting lock is '
                         r"held in (?P<program>.+?) \(PID (?P<pid>\d+)\)(?: by user "
                         r"(?P<user>[^ .]+))?")
QUOTED_PATH = re.compile(r"""["'](/[^"']+)["']""")
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


def explain(exc: BaseException, *, step: str | None = None,
            settings: Settings | None = None) -> ZoomSyncError:
    """`exc` as the ZoomSyncError that says what went wrong and what to do, in one line.

    `step` is the dlt step that failed (extract, normalize, load, ...), `settings` the run's,
    for the hint (which setting moves which files) and to mask secrets.
    """
    causes = chain(exc)
    for cause in causes:
        if isinstance(cause, ZoomSyncError):
            return cause
    for cause in reversed(causes):  # innermost first
        if isinstance(cause, OSError) and cause.errno is not None:
            found = _os_error(cause, step, settings)
            if found is not None:
                return found
    text = reason(exc)
    locked = DUCKDB_LOCK.search(text)
    if locked:
        return duckdb_locked(locked)
    if any(s in text for s in DISK_FULL_TEXT):
        quoted = QUOTED_PATH.search(text)
        path = Path(quoted.group(1)) if quoted else _working_dir(step, settings)
        return DiskFullError(disk_full(path, settings))
    what = f"the {step} step failed: " if step else ""
    return DestinationError(f"{what}{mask(text, settings)}")


def chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps, outermost first: the explicit cause, dlt's `exception` and
    `client_exception` attributes, else the exception being handled when it was raised."""
    out: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        out.append(current)
        seen.add(id(current))
        inner = (current.__cause__ or getattr(current, "exception", None)
                 or getattr(current, "client_exception", None) or current.__context__)
        current = inner if isinstance(inner, BaseException) else None
    return out


def reason(exc: BaseException) -> str:
    """The innermost cause's message in one line, any password in a URL masked; a traceback
    quoted in it (dlt puts a job's into its message) is reduced to its last line, the
    exception that ended it."""
    for cause in reversed(chain(exc)):
        text = str(cause).strip()
        if TRACEBACK in text:  # the quoted exception's line is the innermost cause
            text = _last_exception(text)
        if text:
            return clip(mask(text, None))
    return type(exc).__name__


def clip(text: str, limit: int = MAX_LINE) -> str:
    """One line of at most `limit` characters: whitespace runs become one space and an
    over-long middle gives way ("..."), never the end, which holds the reason."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    head = limit // 3
    tail = limit - head - 5
    return f"{line[:head]} ... {line[-tail:]}"


def mask(text: str, settings: Settings | None) -> str:
    """`text` with every secret of `settings` and any password in a URL replaced by ***."""
    from pydantic import SecretStr

    if settings is not None:
        for name in type(settings).model_fields:
            value = getattr(settings, name)
            if isinstance(value, SecretStr) and len(value.get_secret_value()) >= 4:
                text = text.replace(value.get_secret_value(), "***")
    return _URL_PASSWORD.sub(r"\1***@", text)


def duckdb_locked(match: re.Match[str]) -> DestinationBusy:
    """DuckDB lets one process at a time write a file: another holds it (exit 75)."""
    user = f", user {match.group('user')}" if match.group("user") else ""
    return DestinationBusy(f"the DuckDB file {match.group('file')} is locked by pid "
                           f"{match.group('pid')} ({match.group('program')}{user}); close it "
                           "or run again")


def disk_full(path: Path | None, settings: Settings | None) -> str:
    where = f" writing {path}" if path is not None else ""
    return (f"disk full: no space left on device{where}: free space or "
            f"{_move_hint(path, settings, 'to a bigger disk')}")


def _os_error(exc: OSError, step: str | None, settings: Settings | None) -> ZoomSyncError | None:
    path = _path_of(exc) or (_working_dir(step, settings) if exc.errno in DISK_FULL else None)
    if exc.errno in DISK_FULL:
        return DiskFullError(disk_full(path, settings))
    if exc.errno in DENIED:
        what = ("read-only file system" if exc.errno == errno.EROFS else "permission denied")
        return ConfigError(f"{what}: {path or exc.strerror}: give zoomsync write access or "
                           f"{_move_hint(path, settings, 'to a writable place')}")
    if exc.errno in NOT_A_DIRECTORY:
        return ConfigError(f"not a directory: {path or exc.strerror} (a part of the path is a "
                           f"file): {_move_hint(path, settings, 'to a directory')}")
    return None


def _path_of(exc: OSError) -> Path | None:
    name = exc.filename2 or exc.filename
    return Path(name) if isinstance(name, str) and name else None


def _working_dir(step: str | None, settings: Settings | None) -> Path | None:
    """Where a step that names no file was writing: every dlt step but the load (sync,
    extract, normalize, and run's own bookkeeping) writes only the pipelines directory."""
    if step is None or step == "load" or settings is None:
        return None
    from zoomsync.sync.runner import pipelines_dir

    return pipelines_dir(settings).expanduser()


def _move_hint(path: Path | None, settings: Settings | None, where: str) -> str:
    """Which setting puts the files written at `path` somewhere else (`where`)."""
    if path is not None and settings is not None:
        from zoomsync.sync.runner import pipelines_dir

        if _related(path, pipelines_dir(settings).expanduser()):
            return f"set ZOOMSYNC_PIPELINES_DIR {where}"
        duckdb = settings.duckdb_path.expanduser().resolve()
        if settings.destination.strip().lower() == "duckdb" and (
                path.name.startswith(duckdb.name) and _related(path, duckdb.parent)):
            return f"set --duckdb-path (ZOOMSYNC_DUCKDB_PATH) {where}"
    return f"choose another place in the settings ({where.removeprefix('to ')})"


def _related(path: Path, folder: Path) -> bool:
    """`path` is in `folder`, or is one of the folders it takes to create `folder`."""
    path, folder = path.expanduser().absolute(), folder.absolute()
    return path == folder or folder in path.parents or path in folder.parents


def without_traceback(text: str) -> str:
    """`text` with a traceback quoted in it (and any chained before it) reduced to the
    `Type: message` line that ends it: what happened, without the frames."""
    if TRACEBACK not in text:
        return text
    head = text[:text.index(TRACEBACK)].rstrip()
    return f"{head} {_last_exception(text)}".strip()


def _last_exception(text: str) -> str:
    """The `Type: message` line that ends the last traceback quoted in `text`."""
    tail = text[text.rindex(TRACEBACK) + len(TRACEBACK):]
    lines = [line for line in tail.splitlines() if line.strip()]
    # Frames are indented ('  File ...', '    code', '    ^^^'); the exception line is not.
    body = [line for line in lines if not line.startswith((" ", "\t"))]
    return " ".join(body) if body else text.replace(TRACEBACK, " ")
