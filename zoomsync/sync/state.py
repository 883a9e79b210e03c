"""Incremental state per stream: bookmark, last full compare, row hashes, pending deletes.

Each stream keeps one JSON document in dlt's resource state. dlt writes that state into
the same load package as the rows extracted with it and commits both together, so a crash
can never record a bookmark without the data it describes (or the reverse): a killed run
leaves the local state as it was, or a package that the next run loads first.

The document (`Tracker` reads and writes it; only the stream's own resource changes it):

    bookmark       ISO start time of the last run that finished the stream; never later
                   than that run's start, so what changed during a run is read again
    reconciled_at  ISO start time of the last run that compared every partition
    hashes_packed  {scope: {key: hash}}, a short content hash per row by partition ("*"
                   for account-wide lists), what lets a run load only changed rows; stored
                   packed (`pack_hashes`): dlt decodes, hashes and rewrites its state
                   several times per load, and one string costs a fraction of 250k nodes.
                   A run unpacks it into `hashes` on first use and packs it back when the
                   stream ends (`Tracker.pack`); a document of older versions holding
                   only `hashes` is read as is and stored packed by its next run.
    rows_tracked   how many keys `hashes_packed` holds (`zoomsync state show`)
    versions       {scope: hash}: the parent's version a partition was fetched for
                   (e.g. a user's list row for their settings), to refetch only changed ones
    pending        [{"at": ISO, "keys": [[pk values]]}]: rows seen vanishing, marked deleted
                   after the load (deletes.apply_pending) and again, harmlessly, next run
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoomsync.config import Settings

ACCOUNT_SCOPE = "*"
DIGEST_HEX = 12  # row_hash's length: 6 bytes
ZLIB_LEVEL = 1  # level 6 saves 10% more for 40% more time (250k rows: 3.8 vs 4.2 MB)


def row_hash(row: dict[str, Any]) -> str:
    """48 bits of a row's content: enough to notice a change, small enough to keep."""
    text = json.dumps(row, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def key_of(row: dict[str, Any], primary_key: tuple[str, ...]) -> str:
    return json.dumps([row.get(k) for k in primary_key], default=str, separators=(",", ":"))


def pack_hashes(hashes: dict[str, dict[str, str]]) -> str:
    """{scope: {key: hash}} as one ASCII string, about 30% of its JSON (measured).

    Hand-made because nothing generic knows our redundancy: most keys begin with their
    scope (a participant's key starts with its instance's UUID), and digests are random
    bytes that compress not at all. Layout "b": base64 of zlib(text) + the raw digests in
    row order; text lines per scope: its JSON, its row count, then one line per key with
    the scope stripped (`_strip`). Digests that are not row_hash's (never written by
    zoomsync): layout "j", base64 of zlib(JSON).
    """
    lines: list[str] = []
    digests: list[str] = []
    for scope, rows in hashes.items():
        lines += (json.dumps(scope), str(len(rows)))
        prefixes = _prefixes(scope)
        lines += (_strip(key, prefixes) for key in rows)
        digests += rows.values()
    hexed = "".join(digests)
    try:
        raw = bytes.fromhex(hexed)
    except ValueError:
        raw = b""
    if raw.hex() != hexed or len(hexed) != DIGEST_HEX * len(digests):
        text = json.dumps(hashes, separators=(",", ":")).encode()
        return "j" + base64.b64encode(zlib.compress(text, ZLIB_LEVEL)).decode()
    body = zlib.compress("\n".join(lines).encode(), ZLIB_LEVEL) + raw
    return "b" + base64.b64encode(body).decode()


def unpack_hashes(packed: str) -> dict[str, dict[str, str]]:
    """The inverse of `pack_hashes`."""
    body = base64.b64decode(packed[1:])
    if packed[:1] == "j":
        return json.loads(zlib.decompress(body))
    inflate = zlib.decompressobj()
    text = inflate.decompress(body).decode()
    hexed = inflate.unused_data.hex()
    lines = text.split("\n") if text else []
    out: dict[str, dict[str, str]] = {}
    i = at = 0
    while i < len(lines):
        scope, count = json.loads(lines[i]), int(lines[i + 1])
        keys = lines[i + 2:i + 2 + count]
        prefixes = _prefixes(scope)
        out[scope] = {_restore(k, prefixes): hexed[at + n * DIGEST_HEX:at + (n + 1) * DIGEST_HEX]
                      for n, k in enumerate(keys)}
        i, at = i + 2 + count, at + count * DIGEST_HEX
    return out


def _prefixes(scope: str) -> tuple[str, str]:
    # How key_of writes the scope as a key's first value: a string, or a number (ids).
    return "[" + json.dumps(scope), "[" + scope


def _strip(key: str, prefixes: tuple[str, str]) -> str:
    """One line: "s"/"n" + the key after its scope (as a string/number), the key itself
    (key_of's JSON arrays start with "["), or "v" + any other key as JSON."""
    if "\n" not in key:
        for mark, prefix in zip("sn", prefixes, strict=True):
            if key.startswith(prefix) and key[len(prefix):len(prefix) + 1] in (",", "]"):
                return mark + key[len(prefix):]
        if key.startswith("["):
            return key
    return "v" + json.dumps(key)


def _restore(line: str, prefixes: tuple[str, str]) -> str:
    mark = line[:1]
    if mark == "s":
        return prefixes[0] + line[1:]
    if mark == "n":
        return prefixes[1] + line[1:]
    return json.loads(line[1:]) if mark == "v" else line


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

    def _hashes(self) -> dict[str, dict[str, str]]:
        """Every scope's hashes, unpacked into the document on first use (once)."""
        if "hashes_packed" in self.doc:
            self.doc.pop("rows_tracked", None)
            self.doc["hashes"] = unpack_hashes(self.doc.pop("hashes_packed"))
        return self.doc.setdefault("hashes", {})

    def pack(self) -> None:
        """Store the hashes packed (the module docstring): the run calls this before dlt
        commits the document; the next use unpacks them again."""
        hashes = self.doc.pop("hashes", None)
        if hashes is None:
            return
        self.doc.pop("hashes_packed", None)
        self.doc.pop("rows_tracked", None)
        if hashes:
            self.doc["hashes_packed"] = pack_hashes(hashes)
            self.doc["rows_tracked"] = sum(len(h) for h in hashes.values())

    def hashes(self, scope: str) -> dict[str, str]:
        return self._hashes().setdefault(scope, {})

    def scopes(self) -> list[str]:
        return list(self._hashes())

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
        keys = list(self._hashes().pop(scope, {}))
        self.doc.get("versions", {}).pop(scope, None)
        return keys

    def keep_seen(self) -> None:
        """Forget every row not seen this run (rows that left the look-back)."""
        hashes = self._hashes()
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
        """Without unpacking: the count stored with the packed form."""
        if "hashes" in self.doc:
            return sum(len(h) for h in self.doc["hashes"].values())
        return int(self.doc.get("rows_tracked", 0))

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


def reset(settings: Settings, streams: list[str] | None = None, *,
          locked: bool = False) -> list[str]:
    """Clear the state of `streams` (every stream if None), here and in the warehouse.

    The next run reads them in full again. Tables keep their rows: the warehouse is the
    long-term copy of what Zoom has forgotten. Returns the streams whose state was cleared.
    `locked`: the caller holds the destination's run lock already (`run --full-refresh`).
    """
    from dlt.pipeline.helpers import pipeline_drop

    from zoomsync.lock import destination_lock

    # Never under a running sync: it would commit the state it read before the reset.
    lock = None if locked else destination_lock(settings)
    if lock is not None:
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
        if lock is not None:
            lock.release()


def _pipeline(settings: Settings) -> Any:
    from zoomsync.destinations import resolve
    from zoomsync.sync.runner import pipeline_for

    return pipeline_for(settings, resolve(settings))
