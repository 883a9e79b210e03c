"""Incremental state per stream: bookmark, last full compare, row hashes, pending deletes.

Each stream keeps one JSON document in dlt's resource state. dlt writes that state into
the same load package as the rows extracted with it and commits both together, so a crash
can never record a bookmark without the data it describes (or the reverse): a killed run
leaves the local state as it was, or a package that the next run loads first.

The document (`Tracker` reads and writes it; only the stream's own resource changes it):

    bookmark       ISO start time of the last run that finished the stream; never later
                   than that run's start, so what changed during a run is read again
    reconciled_at  ISO start time of the last run that compared every partition
    hashes         {scope: {key: hash}}: a short content hash per row, by partition
                   ("*" for account-wide lists); what lets a run load only changed rows
    versions       {scope: hash}: the parent's version a partition was fetched for
                   (e.g. a user's list row for their settings), to refetch only changed ones
    pending        [{"at": ISO, "keys": [[pk values]]}]: rows seen vanishing, marked deleted
                   after the load (deletes.apply_pending) and again, harmlessly, next run
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoomsync.config import Settings

ACCOUNT_SCOPE = "*"


def row_hash(row: dict[str, Any]) -> str:
    """48 bits of a row's content: enough to notice a change, small enough to keep."""
    text = json.dumps(row, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def key_of(row: dict[str, Any], primary_key: tuple[str, ...]) -> str:
    return json.dumps([row.get(k) for k in primary_key], default=str, separators=(",", ":"))


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


class Tracker:
    """One stream's state document (see the module docstring)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.seen: dict[str, set[str]] = {}

    @property
    def bookmark(self) -> datetime | None:
        return _when(self.doc.get("bookmark"))

    @bookmark.setter
    def bookmark(self, value: datetime) -> None:
        self.doc["bookmark"] = value.isoformat()

    @property
    def reconciled_at(self) -> datetime | None:
        return _when(self.doc.get("reconciled_at"))

    @reconciled_at.setter
    def reconciled_at(self, value: datetime) -> None:
        self.doc["reconciled_at"] = value.isoformat()

    def hashes(self, scope: str) -> dict[str, str]:
        return self.doc.setdefault("hashes", {}).setdefault(scope, {})

    def scopes(self) -> list[str]:
        return list(self.doc.get("hashes", {}))

    def changed(self, scope: str, key: str, row: dict[str, Any]) -> bool:
        """Record the row as seen; True if it is new or differs from what was loaded."""
        self.seen.setdefault(scope, set()).add(key)
        digest = row_hash(row)
        known = self.hashes(scope)
        if known.get(key) == digest:
            return False
        known[key] = digest
        return True

    def vanished(self, scope: str) -> list[str]:
        """Keys loaded before but not seen in this run's complete read of `scope`; forgotten."""
        seen = self.seen.get(scope, set())
        known = self.hashes(scope)
        gone = [k for k in known if k not in seen]
        for k in gone:
            del known[k]
        if not known:
            self.drop_scope(scope)
        return gone

    def drop_scope(self, scope: str) -> list[str]:
        """Forget a whole partition (its parent is gone); returns the keys it held."""
        keys = list(self.doc.get("hashes", {}).pop(scope, {}))
        self.doc.get("versions", {}).pop(scope, None)
        return keys

    def keep_seen(self) -> None:
        """Forget every row not seen this run (rows that left the look-back)."""
        hashes = self.doc.get("hashes", {})
        for scope in list(hashes):
            keep = self.seen.get(scope)
            if not keep:
                del hashes[scope]
                continue
            hashes[scope] = {k: v for k, v in hashes[scope].items() if k in keep}

    def version(self, scope: str) -> str | None:
        return self.doc.get("versions", {}).get(scope)

    def set_version(self, scope: str, version: str) -> None:
        self.doc.setdefault("versions", {})[scope] = version

    def versions(self) -> dict[str, str]:
        return dict(self.doc.get("versions", {}))

    @property
    def rows_tracked(self) -> int:
        return sum(len(h) for h in self.doc.get("hashes", {}).values())

    # -- deletes waiting to be marked in the warehouse ---------------------------------
    def add_pending(self, keys: Iterable[str], at: datetime) -> None:
        decoded = [json.loads(k) for k in keys]
        if decoded:
            self.doc.setdefault("pending", []).append({"at": at.isoformat(), "keys": decoded})

    def pending(self) -> list[tuple[datetime, list[list[Any]]]]:
        return [(datetime.fromisoformat(p["at"]), p["keys"]) for p in self.doc.get("pending", [])]

    def clear_pending(self) -> None:
        self.doc.pop("pending", None)


@dataclass(frozen=True)
class StreamState:
    """What `zoomsync state show` and `zoomsync status` show for one stream."""

    stream: str
    bookmark: datetime | None
    reconciled_at: datetime | None
    rows_tracked: int
    pending_deletes: int = 0


def resource_states(pipeline: Any) -> dict[str, dict[str, Any]]:
    """Every stream's state document in the pipeline's local state."""
    out: dict[str, dict[str, Any]] = {}
    for source in pipeline.state.get("sources", {}).values():
        out.update(source.get("resources", {}))
    return out


def bookmarks(settings: Settings) -> dict[str, StreamState]:
    """Stream name -> its incremental state, from the local pipeline state of the configured
    destination; calls neither Zoom nor the warehouse."""
    from zoomsync.catalog import CATALOG

    docs = resource_states(_pipeline(settings))
    out = {}
    for name, doc in docs.items():
        if name not in CATALOG:
            continue
        t = Tracker(doc)
        out[name] = StreamState(name, t.bookmark, t.reconciled_at, t.rows_tracked,
                                sum(len(keys) for _, keys in t.pending()))
    return out


def reset(settings: Settings, streams: list[str] | None = None) -> list[str]:
    """Clear the state of `streams` (every stream if None), here and in the warehouse.

    The next run reads them in full again. Tables keep their rows: the warehouse is the
    long-term copy of what Zoom has forgotten. Returns the streams whose state was cleared.
    """
    from dlt.pipeline.helpers import pipeline_drop

    from zoomsync import status
    from zoomsync.lock import RunLock

    # Never under a running sync: it would commit the state it read before the reset.
    lock = RunLock(status.files(settings)[1])
    lock.acquire()  # LockHeld: one line naming the running zoomsync
    try:
        pipeline = _pipeline(settings)
        known = [n for n in resource_states(pipeline) if streams is None or n in streams]
        if not known:
            return []
        # A state-only drop is a small load of its own: the cleared state reaches the
        # warehouse, so a later run restoring state from there does not bring bookmarks back.
        pipeline_drop(pipeline, resources=[f"re:^{n}$" for n in known], state_only=True)()
        return known
    finally:
        lock.release()


def _pipeline(settings: Settings) -> Any:
    from zoomsync.destinations import resolve
    from zoomsync.sync.runner import pipeline_for

    return pipeline_for(settings, resolve(settings))
