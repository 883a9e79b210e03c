"""The durable spool between the webhook receiver and the applier: one SQLite file.

Why SQLite and not files of our own: one transaction records the event, the signature
that brought it (replay memory) and the counters, and it is durable when `COMMIT` returns
(WAL journal, `synchronous=FULL`: the WAL is fsync'd on every commit; SQLite fsyncs the
directory when it creates the WAL, and we fsync it once after creating the database). It
also lets the receiver and an applier in another process share the spool safely.

Tables:
- `events`: one row per distinct event. The key is the SHA-256 of the raw body: Zoom
  re-sends the same bytes when it retries, so a retry after a crash (the event stored, the
  200 never sent) finds its row and adds nothing. `applied_at` is NULL while pending; an
  applied row is kept for `keep` seconds so that late retries are still recognised.
- `signatures`: signatures seen, until their timestamp leaves the freshness window; the
  same signature twice is a replay.
- `counters`: totals that survive restarts (spooled, duplicate, applied, failed).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

# Zoom retries for about 85 minutes (5, 20, 60 min); remember applied events a bit longer.
KEEP_SECONDS = 2 * 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    digest TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    event_ts INTEGER,
    received_at REAL NOT NULL,
    body TEXT NOT NULL,
    applied_at REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS events_pending ON events(seq) WHERE applied_at IS NULL;
CREATE TABLE IF NOT EXISTS signatures (digest TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Outcome(StrEnum):
    """What `Spool.accept` did with a request."""

    SPOOLED = "spooled"  # new event, now durable
    DUPLICATE = "duplicate"  # the same event (body) again, freshly signed: already stored
    REPLAY = "replay"  # the same signed request again: stored before, nothing stored now


@dataclass(frozen=True)
class SpooledEvent:
    """One pending event as the applier sees it."""

    seq: int
    event: str
    event_ts: int | None
    received_at: float
    body: dict[str, Any]


def digest(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """A spool file; safe to use from several threads and several processes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        # isolation_level=None: we write BEGIN IMMEDIATE ... COMMIT ourselves.
        self._db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None,
                                   check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        if created:
            _fsync_dir(self.path.parent)  # the new file's directory entry is durable too

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- receiver side ---------------------------------------------------------------------

    def accept(self, body: bytes, *, event: str, event_ts: int | None, signature: str,
               signature_expires: float, now: float | None = None) -> Outcome:
        """Store one verified event durably, unless it is a replay or already stored.

        Returns only after the commit, so a caller that acknowledges afterwards never
        acknowledges an event a crash could lose.
        """
        now = time.time() if now is None else now
        sig = digest(signature)
        with self._lock, self._transaction() as db:
            row = db.execute("SELECT expires_at FROM signatures WHERE digest = ?",
                             (sig,)).fetchone()
            if row is not None and row[0] >= now:
                return Outcome.REPLAY
            db.execute("INSERT OR REPLACE INTO signatures VALUES (?, ?)",
                       (sig, signature_expires))
            cursor = db.execute(
                "INSERT OR IGNORE INTO events (digest, event, event_ts, received_at, body) "
                "VALUES (?, ?, ?, ?, ?)",
                (digest(body), event, event_ts, now, body.decode("utf-8")))
            outcome = Outcome.SPOOLED if cursor.rowcount == 1 else Outcome.DUPLICATE
            _bump(db, outcome.value)
            return outcome

    # -- applier side ----------------------------------------------------------------------

    def pending(self, limit: int = 500) -> list[SpooledEvent]:
        """The oldest pending events, in arrival order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event, event_ts, received_at, body FROM events "
                "WHERE applied_at IS NULL ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [SpooledEvent(seq, event, ts, received, json.loads(body))
                for seq, event, ts, received, body in rows]

    def mark_applied(self, seqs: Iterable[int], *, at: float | None = None,
                     error: str | None = None) -> int:
        """Take events off the queue; call only after their load has committed. With
        `error`, the events are set aside instead (Zoom refused their refresh for good)."""
        at = time.time() if at is None else at
        changed = 0
        with self._lock, self._transaction() as db:
            for seq in seqs:
                changed += db.execute("UPDATE events SET applied_at = ?, error = ? WHERE seq = ? "
                                      "AND applied_at IS NULL", (at, error, seq)).rowcount
            _bump(db, "failed" if error else "applied", changed)
        return changed

    def purge(self, *, keep: float = KEEP_SECONDS, now: float | None = None) -> int:
        """Forget applied events older than `keep` seconds and expired signatures."""
        now = time.time() if now is None else now
        with self._lock, self._transaction() as db:
            gone = db.execute("DELETE FROM events WHERE applied_at IS NOT NULL "
                              "AND received_at < ?", (now - keep,)).rowcount
            db.execute("DELETE FROM signatures WHERE expires_at < ?", (now,))
        return gone

    # -- observation -----------------------------------------------------------------------

    def stats(self, now: float | None = None) -> dict[str, float]:
        """Totals, what is pending and how old the oldest pending event is (seconds)."""
        now = time.time() if now is None else now
        with self._lock:
            counters = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
            pending, oldest = self._db.execute(
                "SELECT count(*), min(received_at) FROM events WHERE applied_at IS NULL"
            ).fetchone()
            lag = self._db.execute(
                "SELECT max(applied_at - received_at) FROM events WHERE applied_at IS NOT NULL "
                "AND error IS NULL AND applied_at >= ?", (now - 300,)).fetchone()[0]
        return {
            "spooled": counters.get("spooled", 0),
            "duplicate": counters.get("duplicate", 0),
            "applied": counters.get("applied", 0),
            "failed": counters.get("failed", 0),
            "pending": pending,
            "oldest_pending_age": 0.0 if oldest is None else max(0.0, now - oldest),
            "apply_lag_max_5m": lag or 0.0,
        }

    def bodies(self) -> list[bytes]:
        """Every stored event body, pending or applied (for tests and audits)."""
        with self._lock:
            return [b.encode() for (b,) in self._db.execute("SELECT body FROM events ORDER BY seq")]

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error): the write lock is taken up front."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _bump(db: sqlite3.Connection, name: str, by: int = 1) -> None:
    db.execute("INSERT INTO counters VALUES (?, ?) "
               "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (name, by))
