"""Finding every partition a stream fans out over: users, meetings, instances, windows.

This is where the data loss of existing connectors is avoided:
- users of every status, and pending users' ids looked up by email;
- meeting ids from each user's scheduled list *and* from the account's meeting history,
  so expired one-off meetings and PMIs are not missed;
- instances from the history report (instant and one-person meetings included) and from
  `/past_meetings/{id}/instances` for every meeting id (every occurrence of a recurring
  meeting, up to 15 months back): a numeric id alone would give only the latest instance.
Every list is computed once per run and shared by the streams that need it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from zoomsync.errors import SkippableAPIError
from zoomsync.sync.fanout import FanOut
from zoomsync.sync.report import RunReport
from zoomsync.zoom.client import ZoomClient, path_for

log = logging.getLogger("zoomsync.sync")

REPORT_DAYS = 183  # Zoom's reports reach back six months
WINDOW_DAYS = 30  # and take at most a month per request
RECURRING_TYPES = {3, 4, 8}  # recurring without/with fixed time, PMI


class Discovery:
    """Memoised partition lists for one run. Safe to call from several threads."""

    def __init__(self, client: ZoomClient, fanout: FanOut, report: RunReport, *,
                 start: date | None = None, now: datetime | None = None) -> None:
        self.client = client
        self.fanout = fanout
        self.report = report
        self.now = now or datetime.now(UTC)
        self.requested_start = start
        self._cache: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _memo(self, key: str, compute: Callable[[], Any]) -> Any:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache:
                self._cache[key] = compute()
            return self._cache[key]

    # -- windows -------------------------------------------------------------------------
    def start(self, days: int = REPORT_DAYS) -> date:
        """The first day to ask for: the requested start, but no further back than `days`."""
        earliest = self.now.date() - timedelta(days=days - 1)
        return max(self.requested_start or earliest, earliest)

    def windows(self, days: int = REPORT_DAYS) -> list[tuple[str, str]]:
        """Windows of at most 30 days covering [start, today], oldest first."""
        out = []
        day = self.start(days)
        today = self.now.date()
        while day <= today:
            end = min(day + timedelta(days=WINDOW_DAYS - 1), today)
            out.append((day.isoformat(), end.isoformat()))
            day = end + timedelta(days=1)
        return out

    def months(self) -> list[tuple[int, int]]:
        """(year, month) of every month touching [start, today], oldest first."""
        out: list[tuple[int, int]] = []
        day = self.start().replace(day=1)
        while day <= self.now.date():
            out.append((day.year, day.month))
            day = (day + timedelta(days=32)).replace(day=1)
        return out

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
        # by email where the id is missing.
        for user, future in self.fanout.map(self._profile, rows):
            try:
                user.update(future.result())
            except SkippableAPIError as exc:
                self.report.skip("users", user.get("id") or user.get("email", "?"), exc)
        return [u for u in rows if u.get("id")]

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

    def _history(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for (start, end), future in self.fanout.map(self._history_window, self.windows()):
            try:
                rows.extend(future.result())
            except SkippableAPIError as exc:
                self.report.skip("history", f"{start}..{end}", exc)
        return rows

    def _history_window(self, window: tuple[str, str]) -> list[dict[str, Any]]:
        start, end = window
        return list(self.client.paginate(
            "/report/history_meetings", {"from": start, "to": end, "meeting_type": "all"},
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
            except SkippableAPIError as exc:
                self.report.skip(template, uid, exc)
        return rows

    def meeting_instances(self) -> list[str]:
        """UUIDs of every ended meeting instance we can reach, sorted."""
        return self._memo("meeting_instances", lambda: self._instances(
            "meeting", "/past_meetings/{meetingId}/instances", "meetings", "MEDIUM",
            {int(m["id"]) for m in self.scheduled_meetings()}))

    def past_meeting(self, uuid: str) -> dict[str, Any] | None:
        """GET /past_meetings/{uuid}, memoised (it is also the `past_meetings` row)."""
        return self.past_meetings().get(uuid)

    def past_meetings(self) -> dict[str, dict[str, Any]]:
        return self._memo("past_meetings", lambda: self._details(
            "past_meetings", "/past_meetings/{meetingId}", "LIGHT", self.meeting_instances()))

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
            "meetings", "/meetings/{meetingId}", "LIGHT", [str(i) for i in self.meeting_ids()]))

    def meetings_with_registration(self) -> list[str]:
        return [k for k, m in self.meetings().items() if _registration(m)]

    # -- webinars ------------------------------------------------------------------------
    def webinar_ids(self) -> list[int]:
        def compute() -> list[int]:
            listed = self._per_user("/users/{userId}/webinars", {}, "webinars", "MEDIUM",
                                    paging="page_number")
            return sorted({int(w["id"]) for w in listed} | self._history_ids("Webinar"))
        return self._memo("webinar_ids", compute)

    def webinars(self) -> dict[str, dict[str, Any]]:
        return self._memo("webinars", lambda: self._details(
            "webinars", "/webinars/{webinarId}", "LIGHT", [str(i) for i in self.webinar_ids()]))

    def webinars_with_registration(self) -> list[str]:
        return [k for k, w in self.webinars().items() if _registration(w)]

    def webinar_instances(self) -> list[str]:
        return self._memo("webinar_instances", lambda: self._instances(
            "webinar", "/past_webinars/{webinarId}/instances", "webinars", "LIGHT",
            set(self.webinar_ids())))

    # -- shared machinery ----------------------------------------------------------------
    def _instances(self, kind: str, template: str, list_key: str, label: str,
                   ids: set[int]) -> list[str]:
        noun = "Meeting" if kind == "meeting" else "Webinar"
        uuids = set(self._history_uuids(noun))
        ids |= self._history_ids(noun)
        placeholder = "meetingId" if kind == "meeting" else "webinarId"

        def fetch(mid: int) -> list[dict[str, Any]]:
            body = self.client.get(path_for(template, **{placeholder: mid}), label=label)
            return body.get(list_key) or []

        for mid, future in self.fanout.map(fetch, sorted(ids)):
            try:
                uuids.update(i["uuid"] for i in future.result() if i.get("uuid"))
            except SkippableAPIError as exc:
                self.report.skip(f"{kind}_instances", str(mid), exc)
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
            except SkippableAPIError as exc:
                self.report.skip(stream, key, exc)
        return dict(sorted(found.items()))

    def partitions(self, name: str) -> Iterator[str]:
        """The values a stream's `{placeholder}` takes for a partition name."""
        lists: dict[str, Callable[[], Any]] = {
            "users": self.user_ids,
            "groups": lambda: [g["id"] for g in self.groups()],
            "meetings": lambda: list(self.meetings()),
            "meetings_with_registration": self.meetings_with_registration,
            # Children need only the UUID: waiting for every instance's details (Light
            # calls) would leave the Medium budget idle meanwhile. An instance Zoom will
            # not serve yet answers 3001 on its children and is reported as skipped.
            "meeting_instances": self.meeting_instances,
            "webinars": lambda: list(self.webinars()),
            "webinars_with_registration": self.webinars_with_registration,
            "webinar_instances": self.webinar_instances,
        }
        yield from lists[name]()


def _registration(definition: dict[str, Any]) -> bool:
    """Registration is on unless approval_type is 2 ("no registration required")."""
    settings = definition.get("settings") or {}
    return settings.get("approval_type", 2) in (0, 1)
