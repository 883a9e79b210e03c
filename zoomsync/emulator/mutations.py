"""Changes to the account made through the admin API (`/_emulator/...`, see admin.py).

Each function holds the dataset's lock, checks its whole input and raises `MutationError`
(carrying the HTTP status the admin API answers) before it changes anything. The ids it
makes come from `random.Random(f"{seed}/mutation/{n}")`, n counting the mutations so far,
so the same admin calls against the same seed make the same ids.

Generated data is never reshuffled: an instance keeps its `people` count and seed (they
drive `people.participants`), and added join segments go to `Instance.extra_segments`.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from zoomsync.emulator import ids, people, recurrence
from zoomsync.emulator.clock import iso
from zoomsync.emulator.dataset import Dataset, Definition, Instance, User
from zoomsync.emulator.recurrence import ScheduleError
from zoomsync.emulator.routes_meetings import full_view

USER_STATUSES = ("active", "inactive", "pending")
USER_TYPES = (1, 2, 4, 99)  # Basic, Licensed, Unassigned without Meetings Basic, None
ROLE_NAMES = {"0": "Owner", "1": "Admin", "2": "Member"}
MEETING_TYPES = (1, 2, 3, 8)  # instant, scheduled, recurring without / with a fixed time
MAX_PEOPLE = 1000

# What the admin API accepts, with the JSON type of each field.
USER_FIELDS: dict[str, type | tuple[type, ...]] = {
    "email": str, "first_name": str, "last_name": str, "display_name": str, "type": int,
    "status": str, "role_id": str, "dept": str, "job_title": str, "location": str,
    "timezone": str, "language": str, "phone_number": str, "pic_url": str, "use_pmi": bool,
}
MEETING_FIELDS: dict[str, type | tuple[type, ...]] = {
    "topic": str, "type": int, "start_time": str, "duration": int, "timezone": str,
    "agenda": str, "recurrence": dict, "registration": bool,
}
PARTICIPANT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str, "email": str, "id": str, "join_time": str, "leave_time": str,
    "participant_uuid": str, "registrant_id": str,
}


class MutationError(Exception):
    """A change the admin API refuses: `status` is 400, 404 or 409."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Ended:
    """What `end_instance` did: which instance ended, and what that implies for events."""

    instance: Instance
    created: bool  # no instance was live, so one that ran until now was made
    closed: list[dict] = field(default_factory=list)  # open join segments closed at the end


@dataclass
class Added:
    """Join segments added by `add_participants`: finished ones, and ones still open."""

    instance: Instance
    finished: list[dict]
    opened: list[dict]


# -- users ----------------------------------------------------------------------------------

def create_user(ds: Dataset, fields: Mapping[str, Any], now: datetime) -> User:
    """A new user, `active` unless told otherwise; as `POST /users` with `action=create`."""
    check_fields(fields, USER_FIELDS, "user")
    with ds.lock:
        email = _email(ds, fields.get("email"))
        status = _choice(fields.get("status", "active"), USER_STATUSES, "status")
        type_ = _choice(fields.get("type", 1), USER_TYPES, "type")
        role_id = _choice(fields.get("role_id", "2"), ("1", "2"), "role_id")
        timezone = fields.get("timezone") or owner(ds).record["timezone"]
        _zone(timezone)
        rng = _next_rng(ds)
        uid = ids.user_id(rng)
        while uid in ds.users:
            uid = ids.user_id(rng)
        record = _user_record(ds, rng, uid, now)
        record.update(fields)
        record.update(email=email, status=status, type=type_, role_id=role_id,
                      role_name=ROLE_NAMES[role_id], timezone=timezone,
                      verified=0 if status == "pending" else 1)
        record["display_name"] = fields.get("display_name") or _full_name(record)
        user = User(id=uid, record=record)
        ds.add_user(user)
        return user


def update_user(ds: Dataset, key: str, fields: Mapping[str, Any]) -> tuple[dict, User]:
    """Change profile fields or the status; returns the record as it was, and the user."""
    check_fields(fields, USER_FIELDS, "user")
    with ds.lock:
        user = find_user(ds, key)
        old = copy.deepcopy(user.record)
        changes = dict(fields)
        if "email" in changes and changes["email"].lower() != user.email.lower():
            changes["email"] = _email(ds, changes["email"])
        if "status" in changes:
            _check_status_change(user, changes["status"])
        if "type" in changes:
            _choice(changes["type"], USER_TYPES, "type")
        if "role_id" in changes:
            _check_role_change(user, changes["role_id"])
        if "timezone" in changes:
            _zone(changes["timezone"])
        _apply_user_changes(user, changes)
        return old, user


def delete_user(ds: Dataset, key: str) -> tuple[User, list[Definition]]:
    """Delete a user with their scheduled meetings, as Zoom's `action=delete` does.

    Past instances stay (reports keep them). Returns the user and the meetings deleted.
    """
    with ds.lock:
        user = find_user(ds, key)
        if user.record.get("role_id") == "0":
            raise MutationError(400, "the account owner cannot be deleted")
        user.deleted = True
        for members in ds.group_members.values():
            if user.id in members:
                members.remove(user.id)
        gone = [d for d in ds.definitions.values() if d.host_id == user.id and not d.deleted]
        for d in gone:
            d.deleted = True
        return user, gone


# -- meetings -------------------------------------------------------------------------------

def create_meeting(
    ds: Dataset, host_key: str, fields: Mapping[str, Any], now: datetime
) -> Definition:
    """A meeting scheduled by `host_key` (id or email), as `POST /users/{userId}/meetings`."""
    check_fields(fields, MEETING_FIELDS, "meeting")
    with ds.lock:
        host = find_user(ds, host_key)
        if host.status != "active":
            raise MutationError(400, f"user {host_key} is {host.status} and cannot host meetings")
        type_ = _choice(fields.get("type", 2), MEETING_TYPES, "type")
        timezone = fields.get("timezone") or host.record["timezone"]
        duration = _duration(fields.get("duration", 60))
        start, rec, occurrences = _schedule(type_, fields, timezone, duration, None, now)
        topic = _topic(fields.get("topic", "Zoom Meeting"))
        rng = _next_rng(ds)
        mid = ids.meeting_id(rng)
        while mid in ds.definitions:
            mid = ids.meeting_id(rng)
        d = Definition(
            id=mid, kind="meeting", type=type_, host_id=host.id, topic=topic, created_at=now,
            start=start, duration=duration, timezone=timezone, uuid=_new_uuid(ds, rng),
            registration=bool(fields.get("registration", False)), recurrence=rec,
            occurrences=occurrences, agenda=fields.get("agenda", ""),
            seed=rng.randrange(1 << 30),
        )
        ds.definitions[mid] = d
        ds.instances_by_meeting.setdefault(mid, [])
        return d


def update_meeting(
    ds: Dataset, key: str, fields: Mapping[str, Any], now: datetime
) -> Definition:
    """Change a meeting as `PATCH /meetings/{meetingId}` does; past instances keep their topic."""
    check_fields(fields, MEETING_FIELDS, "meeting")
    with ds.lock:
        d = find_meeting(ds, key)
        type_ = _choice(fields.get("type", d.type), (*MEETING_TYPES, 4), "type")
        if type_ != d.type and (d.type in (1, 4) or type_ in (1, 4)):
            raise MutationError(400, f"a type {d.type} meeting cannot become type {type_}")
        timezone = fields.get("timezone", d.timezone)
        duration = _duration(fields.get("duration", d.duration))
        topic = _topic(fields.get("topic", d.topic))
        schedule = {"type", "start_time", "timezone", "recurrence", "duration"} & set(fields)
        if schedule - {"duration"} and d.type in (1, 4):
            raise MutationError(400, f"a type {d.type} meeting has no schedule to change")
        if schedule and d.type not in (1, 4):
            d.start, d.recurrence, d.occurrences = _schedule(
                type_, fields, timezone, duration, d, now)
        d.type, d.timezone, d.duration, d.topic = type_, timezone, duration, topic
        d.agenda = fields.get("agenda", d.agenda)
        d.registration = bool(fields.get("registration", d.registration))
        return d


def delete_meeting(ds: Dataset, key: str, now: datetime) -> Definition:
    with ds.lock:
        d = find_meeting(ds, key)
        if live_instance(ds, d, now) is not None:
            raise MutationError(409, f"meeting {d.id} is in progress; end it first")
        d.deleted = True
        return d


# -- instances ------------------------------------------------------------------------------

def start_instance(
    ds: Dataset, key: str, now: datetime, *, people_count: Any = None, recording: Any = None
) -> Instance:
    """A new live instance of a meeting, started now, with a new UUID and no end yet."""
    with ds.lock:
        d = find_meeting(ds, key)
        if live_instance(ds, d, now) is not None:
            raise MutationError(409, f"meeting {d.id} is already in progress")
        return _new_instance(ds, d, _second(now), None, people_count, recording)


def end_instance(
    ds: Dataset, key: str, now: datetime, *, duration: Any = None, people_count: Any = None,
    recording: Any = None,
) -> Ended:
    """End the live instance now; with none live, make one that ran `duration` minutes until now.

    `duration` (default: the scheduled one) counts only when none is live. Join segments
    still open in the live instance are closed at its end.
    """
    with ds.lock:
        d = find_meeting(ds, key)
        end = _second(now)
        inst = live_instance(ds, d, now)
        if inst is None:
            minutes = _duration(d.duration if duration is None else duration)
            start = end - timedelta(minutes=minutes)
            return Ended(_new_instance(ds, d, start, end, people_count, recording), created=True)
        count = inst.people if people_count is None else _people(people_count)
        recorded = inst.has_recording if recording is None else _bool(recording, "recording")
        inst.people, inst.has_recording = count, recorded
        # Keep the dataset's rule: polls and Q&A need someone besides the host.
        inst.has_polls = d.polls > 0 and count > 1
        inst.has_qa = inst.has_qa and count > 1
        inst.end = max(end, inst.start)
        closed = [_close(seg, inst.end) for seg in ds.open_segments.pop(inst.uuid, [])]
        inst.extra_segments.extend(closed)
        return Ended(inst, created=False, closed=closed)


def add_participants(
    ds: Dataset, uuid: str, rows: Any, now: datetime
) -> Added:
    """Add join segments to a live or ended instance (late-arriving participant data).

    Each row takes `name` and optionally `email`, `id` (blank for guests), `join_time`,
    `leave_time`, `participant_uuid` and `registrant_id`. In an ended instance the times
    default to its start and end; in a live one `join_time` defaults to now, and a row
    without `leave_time` stays open until the instance ends.
    """
    if not isinstance(rows, list) or not rows:
        raise MutationError(400, "participants must be a non-empty list")
    with ds.lock:
        inst = ds.instances.get(uuid)
        if inst is None:
            raise MutationError(404, f"instance {uuid} does not exist")
        if inst.start > now:
            raise MutationError(400, f"instance {uuid} has not started yet")
        timed = [_segment_times(inst, row, now) for row in rows]
        rng = _next_rng(ds)
        earlier = [*inst.extra_segments, *ds.open_segments.get(uuid, [])]
        taken = {r["user_id"] for r in people.participants(ds, inst)}
        taken |= {r["user_id"] for r in earlier}
        # The same person rejoining keeps one participant_uuid within the instance.
        known = {_person(r): r["participant_uuid"] for r in earlier}
        added = Added(inst, [], [])
        for row, join, leave in timed:
            seg = _segment(ds, rng, row, join, leave, taken, known)
            (added.finished if leave is not None else added.opened).append(seg)
        inst.extra_segments.extend(added.finished)
        ds.open_segments.setdefault(uuid, []).extend(added.opened)
        return added


# -- lookups --------------------------------------------------------------------------------

def find_user(ds: Dataset, key: str) -> User:
    user = ds.find_user(key)
    if user is None:
        raise MutationError(404, f"user {key} does not exist")
    return user


def find_meeting(ds: Dataset, key: str) -> Definition:
    """A meeting (not a webinar) by its numeric id; deleted meetings do not exist."""
    try:
        mid = int(str(key).replace(" ", ""))
    except ValueError:
        mid = -1
    d = ds.definitions.get(mid)
    if d is None or d.deleted or d.kind != "meeting":
        raise MutationError(404, f"meeting {key} does not exist")
    return d


def owner(ds: Dataset) -> User:
    """The account owner: who the admin API acts as, in events' `operator`."""
    found = next((u for u in ds.users.values() if u.record.get("role_id") == "0"), None)
    return found or next(iter(ds.users.values()))


def live_instance(ds: Dataset, d: Definition, now: datetime) -> Instance | None:
    live = [i for i in ds.instances_of(d.id) if i.live(now)]
    return max(live, key=lambda i: i.start) if live else None


def check_fields(
    fields: Any, allowed: Mapping[str, type | tuple[type, ...]], what: str
) -> None:
    """Unknown fields and wrong JSON types are errors rather than silently ignored."""
    if not isinstance(fields, Mapping):
        raise MutationError(400, f"a {what} must be a JSON object")
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise MutationError(400, f"unknown {what} fields: {', '.join(unknown)}")
    for name, value in fields.items():
        kind = allowed[name]
        # bool is an int subclass in Python, but JSON `true` is not a number.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise MutationError(400, f"{what} field {name} has the wrong type")


# -- helpers --------------------------------------------------------------------------------

def _next_rng(ds: Dataset) -> random.Random:
    ds.mutations += 1
    return random.Random(f"{ds.config.seed}/mutation/{ds.mutations}")


def _user_record(ds: Dataset, rng: random.Random, uid: str, now: datetime) -> dict:
    """A record with every field `Dataset._new_user` gives, for a user created at `now`."""
    pmi = ids.pmi(rng)
    created = iso(now)
    return {
        "id": uid, "email": "", "first_name": "", "last_name": "", "display_name": "",
        "type": 1, "status": "active", "role_id": "2", "role_name": "Member", "pmi": pmi,
        "use_pmi": False, "timezone": "", "dept": "", "verified": 1, "language": "en-US",
        "group_ids": [], "im_group_ids": [], "user_created_at": created, "created_at": created,
        # Never signed in: Zoom reports the creation time, as for the seeded pending users.
        "last_login_time": created, "last_client_version": "",
        "account_id": ds.config.account_id,
        "account_number": owner(ds).record.get("account_number", 0),
        "job_title": "", "location": "", "phone_number": "", "pic_url": "",
        "personal_meeting_url": f"https://zoom.us/j/{pmi}", "cluster": "us05",
        "login_types": [100],
    }


def _full_name(record: Mapping[str, Any]) -> str:
    return f"{record['first_name']} {record['last_name']}".strip()


def _email(ds: Dataset, value: Any) -> str:
    if not isinstance(value, str) or value.count("@") != 1 or value.startswith("@"):
        raise MutationError(400, "email must be an address such as ada@example.com")
    if any(u.email.lower() == value.lower() for u in ds.live_users()):
        raise MutationError(409, f"email {value} has already been used")  # Zoom: code 1005
    return value


def _check_status_change(user: User, status: str) -> None:
    _choice(status, ("active", "inactive"), "status")
    if user.record.get("role_id") == "0" and status != user.status:
        raise MutationError(400, "the account owner cannot be deactivated")


def _check_role_change(user: User, role_id: str) -> None:
    _choice(role_id, ("1", "2"), "role_id")
    if user.record.get("role_id") == "0":
        raise MutationError(400, "the account owner's role cannot be changed")


def _apply_user_changes(user: User, changes: Mapping[str, Any]) -> None:
    record = user.record
    record.update(changes)
    if "role_id" in changes:
        record["role_name"] = ROLE_NAMES[changes["role_id"]]
    if changes.get("status") == "active":
        record["verified"] = 1  # an invitation accepted, or a reactivation
    if "display_name" not in changes and {"first_name", "last_name"} & set(changes):
        # Zoom derives the display name from the names when it is not given.
        record["display_name"] = _full_name(record)


def _choice(value: Any, allowed: Sequence[Any], name: str) -> Any:
    if isinstance(value, bool) or value not in allowed:
        raise MutationError(400, f"{name} must be one of {', '.join(map(str, allowed))}")
    return value


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise MutationError(400, f"{name} must be true or false")
    return value


def _duration(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1440:
        raise MutationError(400, "duration must be 1-1440 minutes")
    return value


def _people(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PEOPLE:
        raise MutationError(400, f"people must be 1-{MAX_PEOPLE}")
    return value


def _topic(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 200:
        raise MutationError(400, "topic must be a string of at most 200 characters")
    return value


def _zone(name: str) -> None:
    try:
        recurrence.zone(name)
    except ScheduleError as exc:
        raise MutationError(400, str(exc)) from None


def _schedule(
    type_: int, fields: Mapping[str, Any], timezone: str, duration: int,
    old: Definition | None, now: datetime,
) -> tuple[datetime | None, dict | None, list[datetime]]:
    """Start, recurrence and upcoming occurrences for a meeting of `type_`."""
    try:
        _zone(timezone)
        # A meeting that stops recurring drops its recurrence; one given anew is checked.
        kept = old.recurrence if old and type_ in (3, 8) else None
        rec = fields.get("recurrence", kept)
        if rec is not None and type_ not in (3, 8):
            raise MutationError(400, "recurrence is only for meetings of type 3 or 8")
        if type_ == 1:
            return _second(now), None, []
        if type_ == 3:
            return None, recurrence.normalize(rec) if rec is not None else None, []
        default = old.start if old and old.start else _second(now)
        start = recurrence.parse_time(fields.get("start_time", iso(default)), timezone)
        if type_ == 2:
            return start, None, []
        if rec is None:
            raise MutationError(400, "a type 8 meeting needs a recurrence")
        rec = recurrence.normalize(rec)
        every = recurrence.occurrences(start, timezone, rec)
    except ScheduleError as exc:
        raise MutationError(400, str(exc)) from None
    if not every:
        raise MutationError(400, "the recurrence has no occurrence")
    # Like the seeded meetings, keep only occurrences that have not finished yet.
    upcoming = [o for o in every if o + timedelta(minutes=duration) >= now]
    return every[0], rec, upcoming


def _second(now: datetime) -> datetime:
    # Zoom's times have whole seconds; rounding down keeps `start <= now` true.
    return now.replace(microsecond=0)


def _new_uuid(ds: Dataset, rng: random.Random) -> str:
    uuid = ids.meeting_uuid(rng)
    while uuid in ds.instances:
        uuid = ids.meeting_uuid(rng)
    return uuid


def _new_instance(
    ds: Dataset, d: Definition, start: datetime, end: datetime | None, people_count: Any,
    recording: Any,
) -> Instance:
    count = None if people_count is None else _people(people_count)
    has_recording = _auto_recording(ds, d, start) if recording is None else _bool(
        recording, "recording")
    rng = _next_rng(ds)
    if count is None:
        # The same draw as the seeded instances: a skewed size around participants_mean.
        count = max(1, int(rng.expovariate(1 / ds.config.participants_mean)) + 1)
    inst = Instance(
        uuid=_new_uuid(ds, rng), meeting_id=d.id, kind=d.kind, type=d.type, host_id=d.host_id,
        topic=d.topic, start=start, end=end, people=count, has_recording=has_recording,
        has_polls=d.polls > 0 and count > 1, has_qa=count > 1 and rng.random() < 0.2,
        seed=rng.randrange(1 << 30),
    )
    ds.instances[inst.uuid] = inst
    ds.instances_by_meeting.setdefault(d.id, []).append(inst.uuid)
    return inst


def _auto_recording(ds: Dataset, d: Definition, now: datetime) -> bool:
    """Recorded when the meeting's settings (as GET /meetings/{id} shows them) say cloud."""
    return full_view(ds, d, now)["settings"].get("auto_recording") == "cloud"


def _segment_times(
    inst: Instance, row: Any, now: datetime
) -> tuple[Mapping[str, Any], datetime, datetime | None]:
    """A row's join and leave times, defaulted and checked against the instance's span."""
    check_fields(row, PARTICIPANT_FIELDS, "participant")
    if not row.get("name"):
        raise MutationError(400, "every participant needs a name")
    live = not inst.ended(now)
    last = _second(now) if live else inst.end
    assert last is not None
    try:
        join = (recurrence.parse_time(row["join_time"], "UTC", "join_time")
                if "join_time" in row else (last if live else inst.start))
        leave = (recurrence.parse_time(row["leave_time"], "UTC", "leave_time")
                 if "leave_time" in row else (None if live else inst.end))
    except ScheduleError as exc:
        raise MutationError(400, str(exc)) from None
    if not inst.start <= join <= last:
        raise MutationError(400, f"join_time must be between {iso(inst.start)} and {iso(last)}")
    if leave is not None and not join <= leave <= last:
        raise MutationError(400, f"leave_time must be between join_time and {iso(last)}")
    return row, join, leave


def _segment(
    ds: Dataset, rng: random.Random, row: Mapping[str, Any], join: datetime,
    leave: datetime | None, taken: set[str], known: dict[tuple[str, str, str], str],
) -> dict:
    """A participant row shaped like `people.participants` makes them."""
    user_id = ids.join_id(rng)
    while user_id in taken:  # per-join ids are unique inside a meeting
        user_id = ids.join_id(rng)
    taken.add(user_id)
    zoom_id = row.get("id", "")
    person = (zoom_id, row.get("email", ""), row["name"])
    puid = row.get("participant_uuid") or known.get(person) or ids.opaque(rng, 22)
    known.setdefault(person, puid)
    return {
        "id": zoom_id,
        "participant_user_id": zoom_id,
        "user_id": user_id,
        "participant_uuid": puid,
        "name": row["name"],
        "user_email": row.get("email", ""),
        "registrant_id": row.get("registrant_id", ""),
        "join_time": iso(join),
        "leave_time": iso(leave) if leave is not None else None,
        "duration": int((leave - join).total_seconds()) if leave is not None else None,
        "failover": False,
        "status": "in_meeting",
        "internal_user": ds.find_user(zoom_id) is not None if zoom_id else False,
        "customer_key": "",
        "bo_mtg_id": "",
        "role": "attendee",
    }


def _person(seg: Mapping[str, Any]) -> tuple[str, str, str]:
    return (seg["id"], seg["user_email"], seg["name"])


def _close(seg: dict, end: datetime) -> dict:
    join = datetime.fromisoformat(seg["join_time"])
    leave = max(join, end)
    return {**seg, "leave_time": iso(leave), "duration": int((leave - join).total_seconds())}
