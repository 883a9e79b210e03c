"""Run outcomes in a small JSON file next to the pipeline state, and `zoomsync status`.

`<pipelines_dir>/<pipeline>.status.json` keeps the last run, the last success, the last error
(one line, secrets removed), the count of failures in a row and the scheduler's next run. It is
written atomically (a temporary file renamed over it), so a reader or a crash never sees half
a file. Bookmarks are not copied here: they live in dlt's state, committed with the data, and
`zoomsync.sync.state.bookmarks` reads them from there.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zoomsync.config import Settings
from zoomsync.sync import state as sync_state
from zoomsync.sync.report import RunReport

NONE = "—"


def files(settings: Settings) -> tuple[Path, Path]:
    """The account's (status file, lock file): the status next to its pipeline's state, the
    lock named after its destination (lock.py)."""
    from zoomsync.destinations import resolve
    from zoomsync.lock import lock_for
    from zoomsync.sync.runner import pipeline_name, pipelines_dir

    target = resolve(settings)
    base = pipelines_dir(settings).expanduser() / pipeline_name(settings, target)
    return (base.with_name(base.name + ".status.json"),
            lock_for(target, settings.dataset_name)[0])


def read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write(path: Path, data: dict[str, Any]) -> None:
    """Replace the file in one step: write a temporary file beside it, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2, default=str)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def record_run(settings: Settings, path: Path, *, started: float, finished: float,
               report: RunReport | None, error: str | None) -> dict[str, Any]:
    """Add one run's outcome; `error` is why it failed (an exception), if it did."""
    data = read(path)
    ok = error is None and report is not None and report.ok
    if error is None and report is not None and not report.ok:
        error = "partial run: " + "; ".join(report.reasons())
    run = {"started_at": _iso(started), "finished_at": _iso(finished), "ok": ok,
           "rows": sum(report.rows.values()) if report else 0,
           "error": one_line(error, settings) if error else None}
    data.update(account=settings.account_name, last_run=run)
    if ok:
        data["last_success"] = run
        data["consecutive_failures"] = 0
    else:
        data["last_error"] = {"at": run["finished_at"], "message": run["error"]}
        data["consecutive_failures"] = int(data.get("consecutive_failures") or 0) + 1
    write(path, data)
    return data


def record_next(path: Path, at: float | None) -> None:
    data = read(path)
    data["next_run_at"] = _iso(at) if at is not None else None
    write(path, data)


def one_line(text: str, settings: Settings) -> str:
    """The first line of `text` with every secret value masked, then capped (failures.clip:
    the middle gives way, not the end, which holds the reason). Masked first, so a cap never
    cuts a secret in two and leaves half of it."""
    from zoomsync.failures import clip, mask

    lines = str(text).strip().splitlines() or [""]
    return clip(mask(lines[0], settings))


def bookmarks(settings: Settings) -> dict[str, sync_state.StreamState]:
    """Per stream incremental state (sync/state.py); empty when there is none to read."""
    try:
        return sync_state.bookmarks(settings)
    except Exception:  # no pipeline yet, or state from an older version: show "—"
        return {}


def lag(bookmark: datetime | None, now: datetime) -> str:
    """`now - bookmark` as `3d 4h`, `2h 5m`, `4m` or `12s`."""
    if bookmark is None:
        return NONE
    if bookmark.tzinfo is None:
        bookmark = bookmark.replace(tzinfo=UTC)
    seconds = max(0, int((now - bookmark).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{secs}s"


def snapshot(settings: Settings, now: datetime) -> dict[str, Any]:
    """Everything `zoomsync status` shows for one account, as plain data."""
    from zoomsync.lock import holder

    status_file, lock_file = files(settings)
    data = read(status_file)
    streams = {}
    for name, state in bookmarks(settings).items():
        streams[name] = {"bookmark": _text(state.bookmark), "lag": lag(state.bookmark, now),
                         "reconciled_at": _text(state.reconciled_at)}
    return {"account": settings.account_name or settings.account_id,
            "running": holder(lock_file), "last_success": data.get("last_success"),
            "last_error": data.get("last_error"), "last_run": data.get("last_run"),
            "consecutive_failures": data.get("consecutive_failures", 0),
            "next_run_at": data.get("next_run_at"), "streams": streams,
            "status_file": str(status_file)}


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(snapshots: list[dict[str, Any]], console: Any) -> None:
    """`zoomsync status` for people: one block per account."""
    from rich.table import Table

    from zoomsync.lock import describe

    for snap in snapshots:
        running = snap["running"]
        title = f"account {snap['account'] or 'default'}: " + (
            f"running ({describe(running)})" if running is not None else "not running")
        console.print(title, markup=False)
        success, error = snap["last_success"], snap["last_error"]
        console.print("  last success: " + (
            f"{success['finished_at']} ({success['rows']} rows loaded)" if success else NONE),
            markup=False)
        console.print("  last error:   " + (
            f"{error['at']}: {error['message']}" if error else NONE), markup=False)
        if snap["consecutive_failures"]:
            console.print(f"  failures in a row: {snap['consecutive_failures']}", markup=False)
        if snap["next_run_at"]:
            console.print(f"  next run:     {snap['next_run_at']}", markup=False)
        if not snap["streams"]:
            console.print(f"  bookmarks:    {NONE} (no incremental state yet)", markup=False)
            continue
        table = Table(title_justify="left", box=None, padding=(0, 2))
        for col in ("stream", "bookmark", "lag", "reconciled"):
            table.add_column(col, no_wrap=True)
        for name, s in sorted(snap["streams"].items()):
            table.add_row(name, s["bookmark"] or NONE, s["lag"], s["reconciled_at"] or NONE)
        console.print(table)
