"""One stream's incremental run: which partitions to read, which rows to load, what vanished.

Zoom has no "modified since" filter, so each sync mode of the catalog (`Stream.sync`) reads
as little as still sees every change (docs/incremental.md):

- reconciled: account-wide lists are read every run; per-parent lists (a user's settings,
  a meeting's registrants) only for parents whose version changed, and all of them when
  the stream is due for a full compare. Rows are compared with their hashes in state:
  only new or changed rows are loaded, and rows gone from a complete read are marked
  deleted after the load (deletes.py), never dropped.
- children: the partitions of instances that ended since the bookmark minus the look-back
  (every instance on a first run); rows loaded only when new or changed.
- windowed: date windows from the bookmark minus the look-back; same row comparison.

The bookmark moves to the run's start only when the stream finished without failures: a
partition that failed, or a list its partitions come from that failed in full or in part
(discovery.py), is read again next run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from zoomsync.errors import InternalError, SkippableAPIError, ZoomSyncError, stops
from zoomsync.sync.state import ACCOUNT_SCOPE, Tracker, key_of, row_hash

if TYPE_CHECKING:
    from zoomsync.catalog import Stream
    from zoomsync.config import Settings
    from zoomsync.sync.discovery import Discovery
    from zoomsync.sync.fanout import FanOut
    from zoomsync.sync.report import RunReport

Rows = list[dict[str, Any]]
# Which definition a partition's values name, for parents that can disappear.
PARENT_KIND = {"meetings": "meeting", "meetings_with_registration": "meeting",
               "webinars": "webinar", "webinars_with_registration": "webinar"}
LISTED_PARENTS = ("users", "groups")  # parents whose whole list is read every run


@dataclass(frozen=True)
class Policy:
    """Look-back and full-compare frequency per stream: settings, then catalog, then global."""

    lookback_days: int = 3
    reconcile_hours: float = 24
    stream_lookback_days: Mapping[str, int] = field(default_factory=dict)
    stream_reconcile_hours: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(settings.lookback_days, settings.reconcile_hours,
                   dict(settings.stream_lookback_days), dict(settings.stream_reconcile_hours))

    def lookback_days_for(self, name: str) -> int:
        from zoomsync.catalog import CATALOG

        if name in self.stream_lookback_days:
            return self.stream_lookback_days[name]
        declared = CATALOG[name].lookback_days if name in CATALOG else None
        return self.lookback_days if declared is None else declared

    def reconcile_hours_for(self, name: str) -> float:
        from zoomsync.catalog import CATALOG

        if name in self.stream_reconcile_hours:
            return self.stream_reconcile_hours[name]
        declared = CATALOG[name].reconcile_hours if name in CATALOG else None
        return self.reconcile_hours if declared is None else declared


class StreamRun:
    """Rows of one stream for one run, compared with and recorded in its `Tracker`."""

    def __init__(self, stream: Stream, discovery: Discovery, tracker: Tracker, *,
                 fanout: FanOut, report: RunReport, prepare: Callable[..., dict[str, Any]],
                 fetch: Callable[[Any, date | None], Rows], account_id: str) -> None:
        self.stream, self.d, self.tracker = stream, discovery, tracker
        self.fanout, self.report = fanout, report
        self.prepare, self.fetch, self.account_id = prepare, fetch, account_id
        policy = discovery.policy
        self.first = tracker.bookmark is None
        self.since = None if self.first else discovery.since(
            stream.name, policy.lookback_days_for(stream.name))
        self.due = discovery.due(stream.name, policy.reconcile_hours_for(stream.name))
        self.failed = False

    def rows(self) -> Iterator[Rows]:
        # Deletes recorded by the previous run were marked after its load (and again at
        # this run's start); what this run finds vanished is recorded anew.
        self.tracker.clear_pending()
        mode, name = self.stream.mode, self.stream.name
        try:
            try:
                yield from self.d.reading(name, self._read())
            except ZoomSyncError as exc:
                if stops(exc) != "partition":
                    raise
                if exc.reported:  # a list it needs failed (discovery.py)
                    self.report.fail(name, f"not read: {exc}")
                else:
                    self.report.fail_partition(name, "", exc)
                self.failed = True
            missed = self.d.incomplete(name)
            if missed:
                self.report.fail(name, f"{len(missed)} part(s) of the lists it reads failed, "
                                       f"e.g. {missed[0]}")
                self.failed = True
            if not self.failed:
                self.tracker.bookmark = self.d.now
                if mode == "reconciled" and (self.due or self.first):
                    self.tracker.reconciled_at = self.d.now
        finally:
            # dlt commits the document after the last batch: the hashes go in packed,
            # also when the stream stops early or fails (state.py's module docstring).
            self.tracker.pack()

    def _read(self) -> Iterator[Rows]:
        name = self.stream.name
        if name in ("users", "meetings", "webinars", "past_meetings"):
            yield from getattr(self, f"_{name}")()
        else:
            yield from self._partitioned()
        if self.stream.mode != "reconciled":
            self.tracker.keep_seen()  # rows outside the look-back are not read again

    def _prepared(self, records: Rows, parent: Any, partition: str, start: int = 0) -> Rows:
        """The records as rows; a record our code cannot take is an error naming it."""
        out = []
        for i, record in enumerate(records, start):
            try:
                out.append(self.prepare(record, parent, i))
            except Exception as exc:
                which = _record_id(record, self.stream.primary_key) or f"#{i}"
                raise InternalError(
                    f"{self.stream.name}: record {which} of {partition or 'the list'}: "
                    f"{type(exc).__name__}: {exc} (a zoomsync bug; please report it)") from exc
        return out

    def _failed_part(self, partition: str, exc: BaseException) -> None:
        """A partition or record failed: report it and read it again next run; or, for an
        error that ends more than a partition, raise it."""
        if isinstance(exc, ZoomSyncError) and stops(exc) != "partition":
            raise exc
        if not isinstance(exc, ZoomSyncError):
            exc = InternalError(f"{self.stream.name}: partition {partition}: "
                                f"{type(exc).__name__}: {exc} (a zoomsync bug; please report it)")
        self.report.fail_partition(self.stream.name, partition, exc)
        self.failed = True

    # -- rows discovery has read anyway ---------------------------------------------------
    def _changed(self, scope: str, records: Rows) -> Rows:
        """The new or changed rows, one per key: the last, as the table's merge keeps it.

        Zoom (or a mock of it) may send a key twice; loading both would count rows that
        merge into one. A key repeated across batches cannot be taken back: the report
        counts it as replacing a row of this run (RunReport.replaced)."""
        pk = self.stream.primary_key
        latest = {key_of(r, pk): r for r in records}
        seen = self.tracker.seen.get(scope, set())
        again = {k for k in latest if k in seen}
        rows, replaced = [], 0
        for key, row in latest.items():
            if self.tracker.changed(scope, key, row):
                rows.append(row)
                replaced += key in again
        if replaced:
            self.report.replace(self.stream.name, replaced)
        return rows

    def _users(self) -> Iterator[Rows]:
        out: Rows = []
        for i, user in enumerate(self.d.users()):
            row = {k: v for k, v in user.items()
                   if k not in ("_list_version", "_profiled", "_unread")}
            if user.get("_unread"):
                self.failed = True  # its profile failed (reported): read again next run
            prepared = None
            if user.get("_profiled"):
                try:
                    [prepared] = self._prepared([row], None, str(row.get("id")), i)
                except InternalError as exc:
                    self._failed_part(str(row.get("id")), exc)
            if prepared is None:
                # Unchanged in the list and not due, or unreadable this run: the loaded
                # profile stands (and is not taken for deleted).
                self.tracker.seen.setdefault(ACCOUNT_SCOPE, set()).add(
                    key_of(row, self.stream.primary_key))
                continue
            out.append(prepared)
            self.tracker.set_version(str(prepared["id"]), user["_list_version"])
        yield from self._emit(self._changed(ACCOUNT_SCOPE, out))
        self._vanished(ACCOUNT_SCOPE)

    def _definitions(self, kind: str) -> Iterator[Rows]:
        details = self.d.meetings() if kind == "meeting" else self.d.webinars()
        out: Rows = []
        for i, (key, detail) in enumerate(details.items()):
            try:
                [row] = self._prepared([dict(detail)], None, key, i)
            except InternalError as exc:
                self._failed_part(key, exc)
                continue
            if self.tracker.changed(ACCOUNT_SCOPE, key_of(row, self.stream.primary_key), row):
                out.append(row)
            self.tracker.set_version(key, self.d.definition_version(kind, key))
        yield from self._emit(out)
        gone = []
        known = self.tracker.hashes(ACCOUNT_SCOPE)
        for key in self.d.gone(kind):
            encoded = json.dumps([int(key)])
            if known.pop(encoded, None) is not None:
                gone.append(encoded)
            self.tracker.doc.get("versions", {}).pop(key, None)
        self.tracker.add_pending(gone, self.d.now)

    def _meetings(self) -> Iterator[Rows]:
        return self._definitions("meeting")

    def _webinars(self) -> Iterator[Rows]:
        return self._definitions("webinar")

    def _past_meetings(self) -> Iterator[Rows]:
        for i, (uuid, detail) in enumerate(self.d.past_meetings(self.since).items()):
            try:
                rows = self._prepared([dict(detail)], None, uuid, i)
            except InternalError as exc:
                self._failed_part(uuid, exc)
                continue
            yield from self._emit(self._changed(uuid, rows))

    # -- rows fetched per partition -------------------------------------------------------
    def _partitioned(self) -> Iterator[Rows]:
        stream = self.stream
        values = self._values()
        self.report.plan(stream.name, len(values))
        for value, future in self.fanout.map(lambda v: self.fetch(v, self.since), values):
            self.report.advance(stream.name)
            parent = self.account_id if stream.partition == "account" else value
            try:
                prepared = self._prepared(future.result(), parent, str(value))
            except SkippableAPIError as exc:
                self.report.skip(stream.name, str(value), exc)
                continue
            except Exception as exc:  # reported, read again next run; the others go on
                self._failed_part("" if value is None else str(value), exc)
                continue
            scope = self._scope(value)
            yield from self._emit(self._changed(scope, prepared))
            if stream.mode == "reconciled":
                self._vanished(scope)
                version = self._version(value)
                if version is not None:
                    self.tracker.set_version(scope, version)
        if stream.mode == "reconciled" and stream.partition != "account":
            self._parents_gone()

    def _scope(self, value: Any) -> str:
        if self.stream.partition in ("account", "months", "windows"):
            return ACCOUNT_SCOPE
        return str(value)

    def _values(self) -> list[Any]:
        stream, d = self.stream, self.d
        if stream.partition == "account":
            return [None]
        if stream.partition == "months":
            return d.months(self.since)
        if stream.partition == "windows":
            return d.windows(since=self.since)
        if stream.mode == "children":
            return list(d.partitions(stream.partition, self.since))
        now = list(d.partitions(stream.partition))
        if stream.mode == "windowed" or self.first:
            return now
        if self.due:  # every current parent, and every known one Zoom may still serve
            gone = self._gone_parents(now)
            known = [v for v in self.tracker.versions() if v not in gone]
            return list(dict.fromkeys([*map(str, now), *known]))
        return [v for v in now if self.tracker.version(str(v)) != self._version(v)]

    def _version(self, value: Any) -> str | None:
        """The parent's version the partition's rows were read for."""
        d, partition = self.d, self.stream.partition
        if partition not in (*LISTED_PARENTS, *PARENT_KIND):
            return None
        if partition == "users":
            return d.user_version(str(value))
        if partition == "groups":
            group = next((g for g in d.groups() if str(g["id"]) == str(value)), None)
            return row_hash(group) if group else None
        details = d.meetings() if PARENT_KIND.get(partition) == "meeting" else d.webinars()
        detail = details.get(str(value))
        return row_hash(detail) if detail else None

    def _gone_parents(self, now: list[Any]) -> set[str]:
        partition = self.stream.partition
        if partition in LISTED_PARENTS:
            current = {str(v) for v in now}
            return {s for s in {*self.tracker.scopes(), *self.tracker.versions()}
                    if s not in current}
        return self.d.gone(PARENT_KIND[partition]) if partition in PARENT_KIND else set()

    def _parents_gone(self) -> None:
        """Rows of parents that are gone (deleted users, meetings) are deleted with them."""
        for scope in self._gone_parents(list(self.d.partitions(self.stream.partition))):
            self.tracker.add_pending(self.tracker.drop_scope(scope), self.d.now)

    def _vanished(self, scope: str) -> None:
        self.tracker.add_pending(self.tracker.vanished(scope), self.d.now)

    def _emit(self, rows: Rows) -> Iterator[Rows]:
        if rows:
            self.report.count(self.stream.name, len(rows))
            yield rows


def _record_id(record: Any, keys: tuple[str, ...]) -> str:
    """The record's key fields Zoom sent, `id=123`, to name it in an error."""
    if not isinstance(record, dict):
        return ""
    names = [k for k in dict.fromkeys((*keys, "id", "uuid", "email"))
             if record.get(k) is not None]
    return ", ".join(f"{k}={record[k]}" for k in names[:2])
