"""Reports: meeting history per user and per account, instance details, participants, polls,
Q&A, daily usage and active/inactive hosts. Every `/report/*` endpoint is HEAVY.

https://developers.zoom.us/docs/api/meetings/#tag/reports

Zoom's rules kept here (research note §7.7 and §10):
- `from`/`to` cover at most one month and must fall within the past six months; otherwise
  400 code 300. Zoom does not say how it counts a month (§12). The emulator allows `to - from`
  of at most 30 days (31 days counted inclusively, the longest calendar month), so any whole
  calendar month passes. If Zoom counted calendar months, it would be stricter in short
  months (1 Feb–3 Mar passes here), so clients should keep to 30-day windows or calendar
  months. "Within the past six months" is read as `from` no earlier than the same day six
  calendar months before today (UTC, on the emulator's clock).
- A meeting is in `[from, to]` when its start date (UTC) is between the two, inclusive
  (`/report/history_meetings` can use the end date instead, with `date_type=end_time`).
- Per-user reports list only meetings with two or more participants; `type=pastOne` lists the
  one-person ones. The per-instance reports answer 404 code 3001 for a one-person meeting,
  as for one that never happened or has not ended.
"""

from __future__ import annotations

import calendar
import math
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from zoomsync.emulator import ids, people
from zoomsync.emulator.clock import iso
from zoomsync.emulator.dataset import Instance, User
from zoomsync.emulator.routes_past import (
    duration_minutes,
    instance_or_404,
    questions_body,
    total_minutes,
    unique_count,
)
from zoomsync.emulator.routes_users import user_or_404
from zoomsync.emulator.routing import Ctx, Handler, ZoomHTTPError, paginate, route

MAX_SPAN = timedelta(days=30)  # `to - from`; see the module docstring
RETENTION_MONTHS = 6
# The participant report row (reportMeetingParticipants / reportWebinarParticipants);
# `registrant_id` only comes with `include_fields=registrant_id`.
REPORT_PARTICIPANT_FIELDS = ("id", "participant_user_id", "user_id", "name", "user_email",
                             "join_time", "leave_time", "duration", "failover", "status",
                             "customer_key", "bo_mtg_id")
NOUN = {"meeting": "Meeting", "webinar": "Webinar"}


# -- query parameters ------------------------------------------------------------------------


def choice(ctx: Ctx, name: str, allowed: Iterable[str], default: str | None) -> str | None:
    """An enum query parameter; Zoom answers a value outside the enum with 400 code 300."""
    value = ctx.arg(name, default)
    if value is not None and value not in allowed:
        raise ZoomHTTPError(400, 300, f"Invalid parameter: {name}.")
    return value


@dataclass(frozen=True)
class Window:
    """The `[from, to]` range of a report or dashboard query, both ends inclusive."""

    start: datetime
    end: datetime
    raw_from: str
    raw_to: str

    def __contains__(self, when: datetime) -> bool:
        return self.start <= when <= self.end


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _bound(ctx: Ctx, name: str, *, with_time: bool, end: bool) -> datetime:
    raw = ctx.arg(name)
    if raw is None:
        raise ZoomHTTPError(400, 300, f"Invalid parameter: {name}.")
    formats = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d"] if with_time else ["%Y-%m-%d"]
    for fmt in formats:
        try:
            parsed = datetime.strptime(raw.strip(), fmt)
        except ValueError:
            continue
        if fmt == "%Y-%m-%d":  # a bare date covers the whole (UTC) day
            parsed = datetime.combine(parsed.date(), time.max if end else time.min)
        return parsed.replace(tzinfo=UTC)
    raise ZoomHTTPError(400, 300, f"Invalid parameter: {name}.")


def window(ctx: Ctx, *, with_time: bool = False) -> Window:
    """Read and check `from`/`to`: one month at most, within the past six months.

    Dashboards also take `yyyy-MM-dd HH:mm:ss` (`with_time=True`).
    https://developers.zoom.us/docs/api/meetings/#tag/reports/GET/report/users/{userId}/meetings
    """
    start = _bound(ctx, "from", with_time=with_time, end=False)
    end = _bound(ctx, "to", with_time=with_time, end=True)
    if end < start:
        raise ZoomHTTPError(400, 300, "The 'to' date must not be earlier than the 'from' date.")
    if end.date() - start.date() > MAX_SPAN:
        raise ZoomHTTPError(400, 300, "The date range defined by the from and to parameters "
                            "should only be one month.")
    if start.date() < months_before(ctx.now.date(), RETENTION_MONTHS):
        raise ZoomHTTPError(400, 300, "The month must fall within the past six months.")
    return Window(start, end, ctx.query["from"], ctx.query["to"])


def with_page_count(body: dict[str, Any]) -> dict[str, Any]:
    """Add `page_count` where the spec's envelope has it but the endpoint takes no page_number."""
    total, size = body["total_records"], body["page_size"]
    body["page_count"] = max(1, math.ceil(total / size)) if total else 0
    return body


# -- instances -------------------------------------------------------------------------------


def head_count(ctx: Ctx, inst: Instance) -> int:
    """How many people attended; cheap unless people were added to the instance later."""
    return unique_count(ctx, inst) if inst.extra_segments else inst.people


def minutes(ctx: Ctx, inst: Instance) -> int:
    """Participant minutes. A one-person meeting has no participant rows, yet its host sat
    through all of it."""
    if head_count(ctx, inst) < 2:
        return duration_minutes(inst)
    return total_minutes(ctx, inst)


def ended_in(ctx: Ctx, win: Window, *, by: str = "start_time") -> list[Instance]:
    """Ended instances (meetings and webinars) whose start (or end) time is in the window."""
    found = [i for i in ctx.emu.dataset.ended_instances(ctx.now)
             if (i.end if by == "end_time" else i.start) in win]
    found.sort(key=lambda i: (i.start, i.uuid))
    return found


def attendee_ids(ctx: Ctx, inst: Instance) -> set[str]:
    """Zoom user ids of the signed-in people in an instance, host included."""
    found = {p["id"] for p in people.people(ctx.emu.dataset, inst)}
    found.update(s.get("id", "") for s in inst.extra_segments)
    found.discard("")
    return found


def group_hosts(ctx: Ctx, group_id: str | None) -> set[str] | None:
    """Members of `group_id` (None: no filter). Unknown groups filter everything out."""
    if group_id is None:
        return None
    return set(ctx.emu.dataset.group_members.get(group_id, []))


def features(ctx: Ctx, inst: Instance) -> dict[str, bool]:
    """Which features an instance used, shared by history_meetings (`feature_used`), the
    per-user report (`has_*`) and the dashboards so the three agree."""
    rng = random.Random(f"{ctx.emu.dataset.config.seed}/features/{inst.uuid}")
    d = ctx.emu.dataset.definitions.get(inst.meeting_id)
    draws = {name: rng.random() < p for name, p in (
        ("screen_sharing", 0.6), ("video_on", 0.85), ("remote_control", 0.05),
        ("closed_caption", 0.1), ("telephone_usage", 0.2), ("in_meeting_chat", 0.5),
        ("join_by_room", 0.1), ("live_transcription", 0.15), ("reaction", 0.5),
        ("annotation", 0.1), ("raise_hand", 0.3), ("virtual_background", 0.4),
        ("whiteboard", 0.1), ("switch_to_mobile", 0.1), ("file_sharing", 0.1),
    )}
    return {
        **draws,
        # Participant rows never carry a breakout room id (`bo_mtg_id` is empty), so none.
        "breakout_room": False,
        "language_interpretation": False,
        "poll": inst.has_polls,
        "waiting_room": d is not None and d.id % 2 == 0,  # as GET /meetings/{id} settings say
        "zoom_apps": False, "immersive_scene": False, "avatar": False,
        "meeting_summary": False, "meeting_questions": False,
        "record_to_computer": False,
        "record_to_cloud": inst.has_recording,
        "live_translation": False,
        "registration": d is not None and d.registration,
        "smart_recording": False, "multi_speaker": False, "meeting_wallpaper": False,
        "gen_ai_virtual_background": False, "multi_share": False,
        "document_collaboration": False, "portrait_lighting": False,
        "personalized_audio_isolation": False, "color_themes": False,
    }


def _host(ctx: Ctx, inst: Instance) -> User | None:
    return ctx.emu.dataset.users.get(inst.host_id)


def _report_instance(ctx: Ctx, param: str, kind: str) -> Instance:
    """`instance_or_404`, and also 404 code 3001 for a one-person meeting: the reports cover
    only meetings with two or more participants ("To return a report for past meeting with
    only one participant, use the List meeting participants API" [the dashboard]).
    https://developers.zoom.us/docs/api/meetings/#tag/reports/GET/report/meetings/{meetingId}/participants
    """
    message = f"{NOUN[kind]} {ctx.path[param]} not found or has expired."  # the spec's words
    try:
        inst = instance_or_404(ctx, param, kind)
    except ZoomHTTPError as exc:
        if exc.code == 3001:
            raise ZoomHTTPError(404, 3001, message) from exc
        raise
    if head_count(ctx, inst) < 2:
        raise ZoomHTTPError(404, 3001, message)
    return inst


def _zoom_time(dt: datetime) -> str:
    """The `MM/dd/yyyy HH:mm` strings of the per-user report (e.g. `schedule_time`)."""
    return dt.astimezone(UTC).strftime("%m/%d/%Y %H:%M")


def _email(row: dict[str, Any], key: str, value: str) -> None:
    """Set an email field that the spec declares `format: email`: a hidden (blank) email is
    left out rather than sent as `""`, which is not an email."""
    if value:
        row[key] = value


# -- per-user meetings -----------------------------------------------------------------------


def _report_user(ctx: Ctx) -> User:
    try:
        return user_or_404(ctx)
    except ZoomHTTPError as exc:  # the spec's wording for this endpoint
        raise ZoomHTTPError(404, 1001, f"User {ctx.path['userId']} not exist or not belong "
                            "to this account.") from exc


@route("/report/users/{userId}/meetings")
def report_user_meetings(ctx: Ctx) -> dict:
    """`type=past` (default): meetings and webinars the user hosted with 2+ participants;
    `pastOne`: the one-person ones; `pastJoined`: 2+ person ones the user hosted or joined.
    https://developers.zoom.us/docs/api/meetings/#tag/reports/GET/report/users/{userId}/meetings
    """
    user = _report_user(ctx)
    kind = choice(ctx, "type", ("past", "pastOne", "pastJoined"), "past")
    win = window(ctx)
    found = []
    for inst in ended_in(ctx, win):
        n = head_count(ctx, inst)
        if kind == "pastOne":
            keep = inst.host_id == user.id and n == 1
        elif kind == "past":
            keep = inst.host_id == user.id and n >= 2
        else:
            keep = n >= 2 and user.id in attendee_ids(ctx, inst)
        if keep:
            found.append(inst)
    body = paginate(ctx, found, extra={"from": win.start.date().isoformat(),
                                       "to": win.end.date().isoformat()})
    # Only the page is expanded: the participant rows behind each count are generated.
    body["meetings"] = [_user_meeting_row(ctx, i, user, joined=kind == "pastJoined")
                        for i in body["meetings"]]
    return with_page_count(body)


def _user_meeting_row(ctx: Ctx, inst: Instance, user: User, *, joined: bool) -> dict:
    assert inst.end is not None
    ds = ctx.emu.dataset
    host = _host(ctx, inst)
    used = features(ctx, inst)
    crowd = people.people(ds, inst)
    row: dict[str, Any] = {
        "uuid": inst.uuid, "id": inst.meeting_id, "type": inst.type, "topic": inst.topic,
        "user_name": host.record["display_name"] if host else "",
    }
    if host is not None:
        _email(row, "user_email", host.email)
    row.update({
        "host_name": host.record["display_name"] if host else "",
        "start_time": iso(inst.start), "end_time": iso(inst.end),
        "duration": duration_minutes(inst), "total_minutes": minutes(ctx, inst),
        "participants_count": head_count(ctx, inst),
        "participants_count_my_account": sum(1 for p in crowd if p["internal"]),
        "source": "Zoom", "custom_keys": [],
        "has_screen_share": used["screen_sharing"], "has_recording": used["record_to_cloud"],
        "has_chat": used["in_meeting_chat"], "meeting_encryption_status": 2,
    })
    d = ds.definitions.get(inst.meeting_id)
    if d is not None and d.type in (2, 5) and d.start is not None:
        row["schedule_time"] = _zoom_time(d.start)
    if joined:
        mine = [p for p in people.participants(ds, inst) if p.get("id") == user.id]
        if mine:
            row["join_time"] = _zoom_time(_parse_iso(mine[0]["join_time"]))
            row["leave_time"] = _zoom_time(_parse_iso(mine[-1]["leave_time"]))
    return row


def _parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# -- account-wide history --------------------------------------------------------------------


@route("/report/history_meetings")
def history_meetings(ctx: Ctx) -> dict:
    """Every ended meeting and webinar of the account in the window, one-person ones included
    (the endpoint is the "History Meetings" report, which does not apply the 2+ rule).

    `meeting_type` has no documented default; the endpoint is described as "a list of history
    meetings and webinars", so the default is `all`.
    https://developers.zoom.us/docs/api/meetings/#tag/reports/GET/report/history_meetings
    """
    by = choice(ctx, "date_type", ("start_time", "end_time"), "start_time")
    kind = choice(ctx, "meeting_type", ("meeting", "webinar", "all"), "all")
    report = choice(ctx, "report_type", ("all", "poll", "survey", "qa", "resource", "reaction"),
                    "all")
    wanted = {f.strip() for f in (ctx.arg("meeting_feature") or "").split(",") if f.strip()}
    search = (ctx.arg("search_key") or "").lower()
    group_id = ctx.arg("group_id")
    if group_id is not None and group_id not in ctx.emu.dataset.group_members:
        raise ZoomHTTPError(403, 12703, f"No permission for the group: {group_id}.")
    hosts = group_hosts(ctx, group_id)
    win = window(ctx)
    found = []
    for inst in ended_in(ctx, win, by=by or "start_time"):
        if kind != "all" and inst.kind != kind:
            continue
        if hosts is not None and inst.host_id not in hosts:
            continue
        if search and search not in inst.topic.lower() and search not in str(inst.meeting_id):
            continue
        if report in ("survey", "resource"):
            continue  # the emulator generates no surveys or resource links
        has = {"poll": inst.has_polls, "qa": inst.has_qa}
        if report in ("poll", "qa") and not has[report]:
            continue
        if report == "reaction" and not features(ctx, inst)["reaction"]:
            continue
        if wanted and not any(features(ctx, inst).get(f, False) for f in wanted):
            continue
        found.append(inst)
    body = paginate(ctx, found)
    body.pop("total_records", None)  # not in this endpoint's envelope
    body["history_meetings"] = [_history_row(ctx, i) for i in body["history_meetings"]]
    return body


def _history_row(ctx: Ctx, inst: Instance) -> dict:
    assert inst.end is not None
    ds = ctx.emu.dataset
    host = _host(ctx, inst)
    d = ds.definitions.get(inst.meeting_id)
    row: dict[str, Any] = {
        "meeting_uuid": inst.uuid, "meeting_id": inst.meeting_id,
        "type": NOUN[inst.kind],
        "host_display_name": host.record["display_name"] if host else "",
        "host_email": host.email if host else "",
        "start_time": iso(inst.start), "end_time": iso(inst.end), "topic": inst.topic,
        "participants": head_count(ctx, inst), "duration": duration_minutes(inst),
        "total_participant_minutes": minutes(ctx, inst),
        "department": host.record["dept"] if host else "",
        "group": [g["name"] for g in ds.groups if inst.host_id in ds.group_members[g["id"]]],
        "source": "Zoom",
    }
    if inst.kind == "webinar":
        row["unique_viewers"] = max(0, head_count(ctx, inst) - 1)  # panelists and host aside
        row["max_concurrent_views"] = _max_concurrent(ctx, inst)
    if d is not None:
        row["create_time"] = iso(d.created_at)
    row.update({"custom_fields": [], "tracking_fields": [], "feature_used": features(ctx, inst)})
    return row


def _max_concurrent(ctx: Ctx, inst: Instance) -> int:
    """The most attendees (host aside) in the session at one moment."""
    events: list[tuple[str, int]] = []
    for p in people.participants(ctx.emu.dataset, inst):
        if p.get("role") != "host":
            events += [(p["join_time"], 1), (p["leave_time"], -1)]
    best = level = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):  # leaves before joins at a tie
        level += step
        best = max(best, level)
    return best


# -- per-instance reports --------------------------------------------------------------------


def _detail(ctx: Ctx, inst: Instance) -> dict:
    """reportMeetingDetails / reportWebinarDetails."""
    assert inst.end is not None
    host = _host(ctx, inst)
    return {
        "uuid": inst.uuid, "id": inst.meeting_id, "type": inst.type, "topic": inst.topic,
        "user_name": host.record["display_name"] if host else "",
        "user_email": host.email if host else "",
        "start_time": iso(inst.start), "end_time": iso(inst.end),
        "duration": duration_minutes(inst), "total_minutes": minutes(ctx, inst),
        "participants_count": head_count(ctx, inst),
        "dept": host.record["dept"] if host else "",
        "custom_keys": [], "tracking_fields": [],
    }


def _participants(ctx: Ctx, inst: Instance) -> dict:
    """One row per join segment, straight from `people.participants`, projected to the spec's
    fields; `registrant_id` only on request.
    https://developers.zoom.us/docs/api/meetings/#tag/reports/GET/report/meetings/{meetingId}/participants
    """
    choice(ctx, "include_fields", ("registrant_id",), None)
    fields = REPORT_PARTICIPANT_FIELDS
    if ctx.arg("include_fields") == "registrant_id":
        fields = (*fields, "registrant_id")
    rows = [{k: p[k] for k in fields if k in p}
            for p in people.participants(ctx.emu.dataset, inst)]
    return with_page_count(paginate(ctx, rows))


def _polls(ctx: Ctx, inst: Instance) -> dict:
    """reportMeetingPolls / reportWebinarPolls: answers per respondent."""
    questions = []
    for answer in people.poll_answers(ctx.emu.dataset, inst):
        first, _, last = answer["name"].partition(" ")
        row: dict[str, Any] = {"name": answer["name"]}
        _email(row, "email", answer["email"])
        row.update({"first_name": first, "last_name": last,
                    "question_details": answer["question_details"]})
        questions.append(row)
    return questions_body(inst, questions)


def _qa(ctx: Ctx, inst: Instance) -> dict:
    """reportMeetingQA / reportWebinarQA. Askers' and answerers' `user_id`s are blank for
    people outside the account, as the spec says."""
    assert inst.end is not None
    ds = ctx.emu.dataset
    rng = random.Random(f"{ds.config.seed}/report-qa/{inst.uuid}")
    who = {(p["name"], p["email"]): p for p in people.people(ds, inst)}
    host = _host(ctx, inst)
    span = max(60, int((inst.end - inst.start).total_seconds()))
    questions = []
    for entry in people.qa(ds, inst):
        person = who.get((entry["name"], entry["email"]), {})
        details = []
        for q in entry["question_details"]:
            asked = inst.start + timedelta(seconds=rng.randint(30, span - 20))
            answered = q["answer"] != ""
            item: dict[str, Any] = {
                "question": q["question"], "answer": q["answer"],
                "question_id": ids.opaque(rng, 11),
                "create_time": iso(asked),
                "question_status": "answered" if answered else "open",
                "answer_details": [],
            }
            if answered and host is not None:
                item["answer_details"].append({
                    "user_id": host.id, "name": host.record["display_name"],
                    "email": host.email, "content": q["answer"],
                    "create_time": iso(min(inst.end, asked + timedelta(seconds=rng.randint(
                        10, 300)))),
                    "type": "host_answered_publicly",
                })
            details.append(item)
        questions.append({
            "user_id": person.get("id", "") if person.get("internal") else "",
            "email": entry["email"], "name": entry["name"], "question_details": details,
        })
    return questions_body(inst, questions)


def _per_instance(kind: str, param: str, build: Callable[[Ctx, Instance], dict]) -> Handler:
    """A handler answering `build` for the instance the path parameter `param` names."""

    def handler(ctx: Ctx) -> dict:
        return build(ctx, _report_instance(ctx, param, kind))

    return handler


# The four per-instance reports, the same for meetings and webinars:
# /report/meetings/{meetingId}[/participants,/polls,/qa], likewise /report/webinars/{webinarId}.
for _kind, _param in (("meeting", "meetingId"), ("webinar", "webinarId")):
    for _suffix, _build in (("", _detail), ("/participants", _participants), ("/polls", _polls),
                            ("/qa", _qa)):
        route(f"/report/{_kind}s/{{{_param}}}{_suffix}")(_per_instance(_kind, _param, _build))


# -- account usage ---------------------------------------------------------------------------


def _int_arg(ctx: Ctx, name: str, default: int) -> int:
    raw = ctx.arg(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ZoomHTTPError(400, 300, f"Invalid parameter: {name}.") from None


def _days(first: date) -> Iterator[date]:
    for n in range(calendar.monthrange(first.year, first.month)[1]):
        yield first + timedelta(days=n)


@route("/report/daily")
def report_daily(ctx: Ctx) -> dict:
    """New users, meetings, participants and meeting minutes for every day of a month.

    The month defaults to the current one. "Daily report can only be provided for a month that
    falls within the recent 6 months": the emulator takes that as a month with at least one day
    on or after the earliest `from` the range reports accept (six months back) and not in the
    future, so with a clock on 1 November, May to November.
    https://developers.zoom.us/docs/api/meetings/#tag/reports/GET/report/daily
    """
    today = ctx.now.date()
    year, month = _int_arg(ctx, "year", today.year), _int_arg(ctx, "month", today.month)
    if not 1 <= month <= 12 or not 1 <= year <= 9999:
        raise ZoomHTTPError(400, 300, "Invalid parameter: month.")
    first = date(year, month, 1)
    last = first.replace(day=calendar.monthrange(year, month)[1])
    if first > today or last < months_before(today, RETENTION_MONTHS):
        raise ZoomHTTPError(400, 300, "Daily report can only be provided for a month that falls "
                            "within the recent 6 months.")
    ds = ctx.emu.dataset
    hosts = group_hosts(ctx, ctx.arg("group_id"))
    per_day = {d: {"date": d.isoformat(), "new_users": 0, "meetings": 0, "participants": 0,
                   "meeting_minutes": 0} for d in _days(first)}
    for user in ds.users.values():
        created = _parse_iso(user.record["user_created_at"]).date()
        if created in per_day and (hosts is None or user.id in hosts):
            per_day[created]["new_users"] += 1
    for inst in ds.ended_instances(ctx.now):
        day = per_day.get(inst.start.astimezone(UTC).date())
        if day is None or (hosts is not None and inst.host_id not in hosts):
            continue
        day["meetings"] += 1
        day["participants"] += head_count(ctx, inst)
        day["meeting_minutes"] += minutes(ctx, inst)
    return {"year": year, "month": month, "dates": list(per_day.values())}


@route("/report/users")
def report_users(ctx: Ctx) -> dict:
    """Active hosts (hosted at least one meeting or webinar that ended in the window) with
    their meetings, participants and minutes, or inactive hosts (hosted none). Pending users
    are not hosts and appear in neither. `type` has no documented default; `active` is used.
    https://developers.zoom.us/docs/api/meetings/#tag/reports/GET/report/users
    """
    kind = choice(ctx, "type", ("active", "inactive"), "active")
    win = window(ctx)
    ds = ctx.emu.dataset
    hosts = group_hosts(ctx, ctx.arg("group_id"))
    stats: dict[str, list[int]] = {}
    for inst in ended_in(ctx, win):
        s = stats.setdefault(inst.host_id, [0, 0, 0])
        s[0] += 1
        s[1] += head_count(ctx, inst)
        s[2] += minutes(ctx, inst)
    users = [u for u in ds.live_users() if u.status != "pending"
             and (hosts is None or u.id in hosts) and (u.id in stats) == (kind == "active")]
    users.sort(key=lambda u: (u.record["user_created_at"], u.id))
    rows = []
    for u in users:
        meetings, participants, used = stats.get(u.id, [0, 0, 0])
        rows.append({"id": u.id, "email": u.email, "user_name": u.record["display_name"],
                     "type": u.record["type"], "dept": u.record["dept"], "meetings": meetings,
                     "participants": participants, "meeting_minutes": used,
                     "custom_attributes": []})
    body = paginate(ctx, rows, extra={"from": win.start.date().isoformat(),
                                      "to": win.end.date().isoformat()})
    body["total_meetings"] = sum(r["meetings"] for r in rows)
    body["total_participants"] = sum(r["participants"] for r in rows)
    body["total_meeting_minutes"] = sum(r["meeting_minutes"] for r in rows)
    return body
