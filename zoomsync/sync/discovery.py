"""Finding every partition a stream fans out over: users, meetings, instances, windows.

This is where the data loss of existing connectors is avoided:
- users of every status, and pending users' ids looked up by email;
- meeting ids from each user's scheduled list *and* from the account's meeting history,
  so expired one-off meetings and PMIs are not missed;
- instances from the history report (instant and one-person meetings included) and from
  `/past_meetings/{id}/instances` for every meeting id (every occurrence of a recurring
  meeting, up to 15 months back): a numeric id alone would give only the latest instance.
Every list is computed once per run and shared by the streams that need it. A list that
fails (Zoom's errors outlive the retries, its answer breaks the API's rules) fails once: it
is reported, every stream that needs it is told so without asking Zoom again, and the run
goes on. A list missing some parts (one user's meetings failed) is reported with its
parts; each stream that read it learns so from `incomplete`, and keeps its bookmark.

Incremental runs (docs/incremental.md) ask for less: instances that ended since a day
(the history report by end time, account-wide), definitions whose list row changed, which
vanished from their list, or which had a new instance, and every known one only when the
stream is due for a full compare. What was known is read from a snapshot of the streams'
state taken when the first resource starts (`attach`). Subclass to restrict the lists to
given ids (the webhook applier's targeted refresh).
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from zoomsync.errors import (
    InternalError,
    SkippableAPIError,
    ZoomSyncError,
    stops,
)
from zoomsync.sync import windows as dates
from zoomsync.sync.fanout import FanOut
from zoomsync.sync.incremental import Policy
from zoomsync.sync.report import RunReport
from zoomsync.sync.state import Tracker, row_hash
from zoomsync.zoom.client import ZoomClient, path_for
from zoomsync.zoom.pagination import records

log = logging.getLogger("zoomsync.sync")

REPORT_DAYS = 183  # Zoom's reports reach back six months
RECURRING_TYPES = {3, 4, 8}  # recurring without/with fixed time, PMI
UNLISTED = "unlisted"  # the version of a definition no user's list shows (expired, PMI)
DEFINITIONS = {"meeting": "meetings", "webinar": "webinars"}
ROW_HASHES = ("hashes", "hashes_packed", "rows_tracked")  # state.py's document


class Discovery:
    """Memoised partition lists for one run. Safe to call from several threads."""

    def __init__(self, client: ZoomClient, fanout: FanOut, report: RunReport, *,
                 start: date | None = None, now: datetime | None = None,
                 policy: Policy | None = None) -> None:
        self.client = client
        self.fanout = fanout
        self.report = report
        self.now = now or datetime.now(UTC)
        self.requested_start = start
        self.policy = policy or Policy()
        self._prior: dict[str, dict[str, Any]] | None = None
        self._gone: dict[str, set[str]] = {"meeting": set(), "webinar": set()}
        self._cache: dict[str, Any] = {}
        self._failed: dict[str, ZoomSyncError] = {}
        self._partial: dict[str, list[str]] = {}  # list -> its parts that failed
        self._incomplete: dict[str, list[str]] = {}  # stream -> failed parts it read
        self._local = threading.local()  # computing: lists being computed; reader: stream
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    # -- what earlier runs left ----------------------------------------------------------
    def attach(self, resources_state: dict[str, Any], *, forget: tuple[str, ...] = ()) -> None:
        """Snapshot every stream's state once, before any resource changes its own.

        Row hashes are left out: they are most of the state, and only the stream's own
        resource reads them (from its live state)."""
        with self._guard:
            if self._prior is None:
                self._prior = {
                    name: copy.deepcopy({k: v for k, v in doc.items() if k not in ROW_HASHES})
                    for name, doc in resources_state.items() if name not in forget}

    def prior(self, stream: str) -> Tracker:
        """The stream's state as the run found it, without row hashes (empty when not
        incremental)."""
        return Tracker(copy.deepcopy((self._prior or {}).get(stream, {})))

    def since(self, stream: str, lookback_days: int) -> date | None:
        """The first day the stream reads this run; None: everything (no bookmark)."""
        return dates.since(self.prior(stream).bookmark, lookback_days)

    def due(self, stream: str, hours: float) -> bool:
        """True when the stream compares every partition this run (or never did)."""
        done = self.prior(stream).reconciled_at
        return done is None or (self.now - done).total_seconds() >= hours * 3600

    def gone(self, kind: str) -> set[str]:
        """Definition ids Zoom answered 404 for this run: deleted (or ended instant ones)."""
        return set(self._gone[kind])

    def _memo(self, key: str, compute: Callable[[], Any]) -> Any:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache and key not in self._failed:
                self._compute(key, compute)
        self._pass_on(key)
        if key in self._failed:
            raise copy.copy(self._failed[key])  # each reader its own traceback
        return self._cache[key]

    def _compute(self, key: str, compute: Callable[[], Any]) -> None:
        computing = self._computing()
        computing.append(key)
        try:
            self._cache[key] = compute()
        except ZoomSyncError as exc:
            self._failed[key] = exc
        except Exception as exc:  # a bug on something Zoom sent: this list, not the run
            log.debug("reading the %s list failed", key, exc_info=True)
            self._failed[key] = InternalError(
                f"reading the {_list_name(key)} list: {type(exc).__name__}: {exc} "
                "(a zoomsync bug; please report it)")
        finally:
            computing.pop()
        failure = self._failed.get(key)
        # Reported once, where it arose; the lists built on it fail with the same error.
        if failure is not None and stops(failure) == "partition" and not failure.reported:
            failure.reported = True
            self.report.fail_partition(f"{_list_name(key)} list", "", failure)

    def _computing(self) -> list[str]:
        if not hasattr(self._local, "computing"):
            self._local.computing = []
        stack: list[str] = self._local.computing
        return stack

    def _part_failed(self, name: str, part: str, exc: BaseException, *,
                     whole: bool = False) -> bool:
        """One part of the list being computed failed: report it, skip it, carry on; unless
        the list is `whole` without it, its readers learn it is incomplete. False for a part
        Zoom will not serve (skipped, not failed)."""
        if isinstance(exc, SkippableAPIError):
            self.report.skip(name, part, exc)
            return False
        if stops(exc) != "partition":
            raise exc
        self.report.fail_partition(name, part, exc)
        computing = self._computing()
        if computing and not whole:
            with self._guard:
                self._partial.setdefault(computing[-1], []).append(f"{part}: {exc}")
        return True

    def _pass_on(self, key: str) -> None:
        """A list's failed parts go to the list being computed from it, or to the stream
        reading it."""
        notes = self._partial.get(key)
        if not notes:
            return
        computing = self._computing()
        reader = computing[-1] if computing else getattr(self._local, "reader", None)
        if reader is None:
            return
        with self._guard:
            into = (self._partial if computing else self._incomplete).setdefault(reader, [])
            into.extend(n for n in notes if n not in into)

    def reading(self, stream: str, steps: Iterator[Any]) -> Iterator[Any]:
        """`steps`, with the lists each step reads noted as read by `stream` (`incomplete`).

        A step runs on one thread, but dlt may run the next on another: the reader is set
        around each step, not once."""
        try:
            while True:
                before = getattr(self._local, "reader", None)
                self._local.reader = stream
                try:
                    item = next(steps)
                except StopIteration:
                    return
                finally:
                    self._local.reader = before
                yield item
        finally:
            close = getattr(steps, "close", None)
            if close is not None:
                close()

    def incomplete(self, stream: str) -> list[str]:
        """Failed parts of the lists `stream` read (inside `reading`): it missed their rows."""
        with self._guard:
            return list(self._incomplete.get(stream, ()))

    # -- windows -------------------------------------------------------------------------
    def start(self, days: int = REPORT_DAYS) -> date:
        """The first day to ask for: the requested start, but no further back than `days`."""
        earliest = self.now.date() - timedelta(days=days - 1)
        return max(self.requested_start or earliest, earliest)

    def windows(self, days: int = REPORT_DAYS, since: date | None = None
                ) -> list[tuple[str, str]]:
        """Windows of at most 30 days covering [start or since, today], oldest first."""
        first = self.start(days)
        return dates.windows(max(first, since) if since else first, self.now.date())

    def months(self, since: date | None = None) -> list[tuple[int, int]]:
        """(year, month) of every month touching [start or since, today], oldest first."""
        first = self.start()
        return dates.months(max(first, since) if since else first, self.now.date())

    # -- users and groups ----------------------------------------------------------------
    def users(self) -> list[dict[str, Any]]:
        return self._memo("users", self._users)

    def _users(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for status in ("active", "inactive", "pending"):
            rows.extend(self.client.paginate("/users", {"status": status}, label="MEDIUM",
                                             list_key="users", page_size=2000,
                                             key=lambda u: u.get("id") or u.get("email")))
        # The list shows a subset of each profile (no account_id, job_title, phone numbers,
        # ...) and no id at all for pending users: read every full profile (a Light call),
        # by email where the id is missing. Incrementally, only for users whose list row
        # changed, unless the users stream is due for a full compare.
        versions = self.prior("users").versions()
        every = not versions or self.due("users", self.policy.reconcile_hours_for("users"))
        for user in rows:
            user["_list_version"] = row_hash(user)
        stale = [u for u in rows if every or not u.get("id")
                 or versions.get(str(u["id"])) != u["_list_version"]]
        for user, future in self.fanout.map(self._profile, stale):
            try:
                user.update(future.result())
                user["_profiled"] = True
            except ZoomSyncError as exc:
                # The list itself is whole: only the users stream misses a failed profile
                # (one Zoom will not serve, 1001, is skipped as before).
                user["_unread"] = self._part_failed(
                    "users", user.get("id") or user.get("email", "?"), exc, whole=True)
        return [u for u in rows if u.get("id")]

    def user_version(self, uid: str) -> str | None:
        """The user's list row hash: what their settings were last fetched for."""
        versions = self._memo("user_versions", lambda: {
            str(u["id"]): u["_list_version"] for u in self.users()})
        return versions.get(uid)

    def _profile(self, user: dict[str, Any]) -> dict[str, Any]:
        key = user.get("id") or user["email"]
        return self.client.get(path_for("/users/{userId}", userId=key), label="LIGHT")

    def user_ids(self) -> list[str]:
        """Users who can own meetings, recordings and settings: not pending ones."""
        return [u["id"] for u in self.users() if u.get("status") != "pending"]

    def groups(self) -> list[dict[str, Any]]:
        return self._memo("groups", lambda: list(self.client.paginate(
            "/groups", label="MEDIUM", list_key="groups", page_size=300, key=lambda g: g["id"])))

    # -- meeting and webinar history -----------------------------------------------------
    def history(self) -> list[dict[str, Any]]:
        """The account's meetings and webinars that happened, from the history report."""
        return self._memo("history", self._history)

    def _history(self, since: date | None = None) -> list[dict[str, Any]]:
        # Incrementally by end time: an instance appears once it has ended, whenever it began.
        by = "end_time" if since else "start_time"
        rows: list[dict[str, Any]] = []
        for (start, end), future in self.fanout.map(lambda w: self._history_window(w, by),
                                                    self.windows(since=since)):
            try:
                rows.extend(future.result())
            except ZoomSyncError as exc:
                self._part_failed("history", f"{start}..{end}", exc)
        return rows

    def history_since(self, since: date) -> list[dict[str, Any]]:
        """Meetings and webinars that ended on or after `since` (history report)."""
        return self._memo(f"history:{since}", lambda: self._history(since))

    def _history_window(self, window: tuple[str, str], by: str = "start_time"
                        ) -> list[dict[str, Any]]:
        start, end = window
        return list(self.client.paginate(
            "/report/history_meetings", {"from": start, "to": end, "meeting_type": "all",
                                         "date_type": by},
            label="HEAVY", list_key="history_meetings", page_size=300,
            key=lambda r: r.get("meeting_uuid")))

    def _history_ids(self, kind: str) -> set[int]:
        return {int(r["meeting_id"]) for r in self.history() if r.get("type") == kind
                and r.get("meeting_id")}

    def _history_uuids(self, kind: str) -> set[str]:
        return {r["meeting_uuid"] for r in self.history() if r.get("type") == kind
                and r.get("meeting_uuid")}

    # -- meetings ------------------------------------------------------------------------
    def scheduled_meetings(self) -> list[dict[str, Any]]:
        """Each user's scheduled (unexpired) meetings, the list rows."""
        return self._memo("scheduled", lambda: self._per_user(
            "/users/{userId}/meetings", {"type": "scheduled"}, "meetings", "MEDIUM"))

    def _per_user(self, template: str, params: dict[str, Any], list_key: str, label: str,
                  paging: str = "token") -> list[dict[str, Any]]:
        def fetch(uid: str) -> list[dict[str, Any]]:
            return list(self.client.paginate(path_for(template, userId=uid), params,
                                             label=label, list_key=list_key, page_size=300,
                                             paging=paging))  # type: ignore[arg-type]

        rows: list[dict[str, Any]] = []
        for uid, future in self.fanout.map(fetch, self.user_ids()):
            try:
                rows.extend(future.result())
            except ZoomSyncError as exc:
                self._part_failed(template, uid, exc)
        return rows

    def meeting_instances(self, since: date | None = None) -> list[str]:
        """UUIDs of every ended meeting instance we can reach (since a day: that ended since)."""
        if since is not None:
            return self._ended_since("Meeting", since)
        return self._memo("meeting_instances", lambda: self._instances(
            "meeting", "/past_meetings/{meetingId}/instances", "meetings", "MEDIUM",
            {int(m["id"]) for m in self.scheduled_meetings()}))

    def past_meeting(self, uuid: str) -> dict[str, Any] | None:
        """GET /past_meetings/{uuid}, memoised (it is also the `past_meetings` row)."""
        return self.past_meetings().get(uuid)

    def past_meetings(self, since: date | None = None) -> dict[str, dict[str, Any]]:
        return self._memo(f"past_meetings:{since}", lambda: self._details(
            "past_meetings", "/past_meetings/{meetingId}", "LIGHT",
            self.meeting_instances(since)))

    def meeting_ids(self) -> list[int]:
        """Every meeting definition id: scheduled ones and those seen in instances.

        Instant meetings (type 1) are left out: Zoom forgets them once they end.
        """
        def compute() -> list[int]:
            ids = {int(m["id"]) for m in self.scheduled_meetings()}
            ids |= {int(p["id"]) for p in self.past_meetings().values() if p.get("type") != 1}
            return sorted(ids)
        return self._memo("meeting_ids", compute)

    def meetings(self) -> dict[str, dict[str, Any]]:
        return self._memo("meetings", lambda: self._details(
            "meetings", "/meetings/{meetingId}", "LIGHT", self.definition_ids("meeting")))

    def meetings_with_registration(self) -> list[str]:
        return [k for k, m in self.meetings().items() if _registration(m)]

    # -- webinars ------------------------------------------------------------------------
    def listed_webinars(self) -> list[dict[str, Any]]:
        return self._memo("listed_webinars", lambda: self._per_user(
            "/users/{userId}/webinars", {}, "webinars", "MEDIUM", paging="page_number"))

    def webinar_ids(self) -> list[int]:
        return self._memo("webinar_ids", lambda: sorted(
            {int(w["id"]) for w in self.listed_webinars()} | self._history_ids("Webinar")))

    def webinars(self) -> dict[str, dict[str, Any]]:
        return self._memo("webinars", lambda: self._details(
            "webinars", "/webinars/{webinarId}", "LIGHT", self.definition_ids("webinar")))

    def webinars_with_registration(self) -> list[str]:
        return [k for k, w in self.webinars().items() if _registration(w)]

    def webinar_instances(self, since: date | None = None) -> list[str]:
        if since is not None:
            return self._ended_since("Webinar", since)
        return self._memo("webinar_instances", lambda: self._instances(
            "webinar", "/past_webinars/{webinarId}/instances", "webinars", "LIGHT",
            set(self.webinar_ids())))

    # -- incremental: what changed since the last run ------------------------------------
    def _ended_since(self, noun: str, since: date) -> list[str]:
        return sorted({r["meeting_uuid"] for r in self.history_since(since)
                       if r.get("type") == noun and r.get("meeting_uuid")})

    def listed(self, kind: str) -> dict[str, str]:
        """Definition id -> hash of its row in the users' lists (scheduled, unexpired)."""
        def compute() -> dict[str, str]:
            rows = self.scheduled_meetings() if kind == "meeting" else self.listed_webinars()
            return {str(r["id"]): row_hash(r) for r in rows}
        return self._memo(f"listed:{kind}", compute)

    def definition_version(self, kind: str, key: str) -> str:
        """Its list row's hash; for one no list shows, `unlisted:` and its host's id, so a
        deleted host's expired meetings and PMI are checked again."""
        if key in self.listed(kind):
            return self.listed(kind)[key]
        details = self.meetings() if kind == "meeting" else self.webinars()
        return f"{UNLISTED}:{(details.get(key) or {}).get('host_id', '')}"

    def definition_ids(self, kind: str) -> list[str]:
        """Definitions whose details this run reads: every one on a first run; then those
        new or changed in a list, gone from one, or with a newly ended instance, and every
        known one when the stream is due for a full compare."""
        name = DEFINITIONS[kind]
        return self._memo(f"definition_ids:{kind}", lambda: self._definition_ids(kind, name))

    def _definition_ids(self, kind: str, name: str) -> list[str]:
        prior = self.prior(name)
        if prior.bookmark is None:
            every = self.meeting_ids() if kind == "meeting" else self.webinar_ids()
            return [str(i) for i in every]
        listed = self.listed(kind)
        ids = {i for i, h in listed.items() if prior.version(i) != h}
        hosts = set(self.user_ids())
        ids |= {i for i, v in prior.versions().items() if i not in listed and (
            not v.startswith(UNLISTED) or v.partition(":")[2] not in hosts)}
        since = self.since(name, self.policy.lookback_days_for(name))
        noun = "Meeting" if kind == "meeting" else "Webinar"
        ids |= {str(r["meeting_id"]) for r in self.history_since(since or self.start())
                if r.get("type") == noun and r.get("meeting_id")}
        if self.due(name, self.policy.reconcile_hours_for(name)):
            ids |= set(listed) | set(prior.versions())
        return sorted(ids, key=int)

    # -- shared machinery ----------------------------------------------------------------
    def _instances(self, kind: str, template: str, list_key: str, label: str,
                   ids: set[int]) -> list[str]:
        noun = "Meeting" if kind == "meeting" else "Webinar"
        uuids = set(self._history_uuids(noun))
        ids |= self._history_ids(noun)
        placeholder = "meetingId" if kind == "meeting" else "webinarId"

        def fetch(mid: int) -> list[dict[str, Any]]:
            path = path_for(template, **{placeholder: mid})
            return records(self.client.get(path, label=label), list_key, path)

        for mid, future in self.fanout.map(fetch, sorted(ids)):
            try:
                uuids.update(i["uuid"] for i in future.result() if i.get("uuid"))
            except ZoomSyncError as exc:
                self._part_failed(f"{kind}_instances", str(mid), exc)
        return sorted(uuids)

    def _details(self, stream: str, template: str, label: str,
                 keys: list[str]) -> dict[str, dict[str, Any]]:
        placeholder = template[template.index("{") + 1:template.index("}")]

        def fetch(key: str) -> dict[str, Any]:
            return self.client.get(path_for(template, **{placeholder: key}), label=label)

        found: dict[str, dict[str, Any]] = {}
        for key, future in self.fanout.map(fetch, keys):
            try:
                found[key] = future.result()
            except ZoomSyncError as exc:
                if (isinstance(exc, SkippableAPIError) and stream in ("meetings", "webinars")
                        and exc.status == 404):
                    # 3001: deleted, or an instant meeting Zoom forgot once it ended.
                    self._gone[stream[:-1]].add(key)
                    continue
                self._part_failed(stream, key, exc)
        return dict(sorted(found.items()))

    def partitions(self, name: str, since: date | None = None) -> Iterator[str]:
        """The values a stream's `{placeholder}` takes for a partition name (instances:
        those that ended on or after `since`, when given)."""
        lists: dict[str, Callable[[], Any]] = {
            "users": self.user_ids,
            "groups": lambda: [g["id"] for g in self.groups()],
            "meetings": lambda: list(self.meetings()),
            "meetings_with_registration": self.meetings_with_registration,
            # Children need only the UUID: waiting for every instance's details (Light
            # calls) would leave the Medium budget idle meanwhile. An instance Zoom will
            # not serve yet answers 3001 on its children and is reported as skipped.
            "meeting_instances": lambda: self.meeting_instances(since),
            "webinars": lambda: list(self.webinars()),
            "webinars_with_registration": self.webinars_with_registration,
            "webinar_instances": lambda: self.webinar_instances(since),
        }
        yield from lists[name]()


def _list_name(key: str) -> str:
    """`past_meetings:2026-01-01` -> `past_meetings`: the list a memo key holds."""
    return key.split(":", 1)[0]


def _registration(definition: dict[str, Any]) -> bool:
    """Registration is on unless approval_type is 2 ("no registration required")."""
    settings = definition.get("settings") or {}
    return settings.get("approval_type", 2) in (0, 1)
