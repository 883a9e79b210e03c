"""Scheduled meetings: the definitions, their registrants and polls.

https://developers.zoom.us/docs/api/meetings/#tag/meetings
"""

from __future__ import annotations

from datetime import datetime, timedelta

from zoomsync.emulator import people
from zoomsync.emulator.clock import iso
from zoomsync.emulator.dataset import Dataset, Definition
from zoomsync.emulator.routes_users import user_or_404
from zoomsync.emulator.routing import Ctx, ZoomHTTPError, paginate, route


def definition_or_404(ctx: Ctx, key: str, kind: str = "meeting") -> Definition:
    """A meeting or webinar definition by its numeric id (spaces tolerated, as users paste them)."""
    try:
        mid = int(key.replace(" ", ""))
    except ValueError:
        mid = -1
    d = ctx.emu.dataset.definitions.get(mid)
    if d is None or d.deleted or d.kind != kind or _instant_gone(ctx, d):
        noun = "Meeting" if kind == "meeting" else "Webinar"
        raise ZoomHTTPError(404, 3001, f"{noun} does not exist: {key}.")
    return d


def _instant_gone(ctx: Ctx, d: Definition) -> bool:
    """Instant meetings cannot be looked up once they have ended."""
    if d.type != 1:
        return False
    return ended_instant(ctx.emu.dataset, d, ctx.now)


def ended_instant(ds: Dataset, d: Definition, now: datetime) -> bool:
    """An instant meeting exists until it has run and ended; then Zoom forgets the definition."""
    instances = ds.instances_of(d.id)
    return d.type == 1 and bool(instances) and all(i.ended(now) for i in instances)


def expired(d: Definition, now: datetime) -> bool:
    """A one-off meeting whose time has passed no longer shows in the user's meeting list."""
    if d.type in (2, 5) and d.start is not None:
        return d.start + timedelta(minutes=d.duration) < now
    if d.type in (8, 9):
        return not d.occurrences or d.occurrences[-1] < now
    return False


def summary_view(ds: Dataset, d: Definition) -> dict:
    """The row `GET /users/{userId}/meetings` shows for a meeting."""
    row = {
        "uuid": d.uuid, "id": d.id, "host_id": d.host_id, "topic": d.topic, "type": d.type,
        "duration": d.duration, "timezone": d.timezone, "created_at": iso(d.created_at),
        "join_url": f"https://zoom.us/j/{d.id}",
    }
    if d.agenda:
        row["agenda"] = d.agenda[:250]
    if d.start is not None and d.type not in (3, 6):
        row["start_time"] = iso(d.start)
    return row


def full_view(ds: Dataset, d: Definition, now: datetime) -> dict:
    """The object `GET /meetings/{meetingId}` returns (webinars share most of it)."""
    host = ds.users.get(d.host_id)
    live = any(i.live(now) for i in ds.instances_of(d.id))
    body = summary_view(ds, d)
    body.update({
        "host_email": host.email if host else "",
        "assistant_id": "",
        "status": "started" if live else "waiting",
        "agenda": d.agenda,
        "password": "",
        "h323_password": "",
        "pstn_password": "",
        "encrypted_password": "",
        "start_url": f"https://zoom.us/s/{d.id}?zak=emulated",
        "pre_schedule": False,
        "creation_source": "web_portal",
        "settings": {
            "host_video": True, "participant_video": False, "join_before_host": False,
            "mute_upon_entry": True, "waiting_room": d.id % 2 == 0, "audio": "both",
            "auto_recording": "cloud" if d.id % 3 == 0 else "none",
            "approval_type": 0 if d.registration else 2, "registration_type": 1,
            "alternative_hosts": "", "meeting_authentication": False,
            "global_dial_in_countries": ["US"],
            "global_dial_in_numbers": [{"country": "US", "country_name": "US", "city": "New York",
                                        "number": "+1 6465588656", "type": "toll"}],
        },
        "tracking_fields": [],
    })
    if d.registration:
        body["registration_url"] = f"https://zoom.us/meeting/register/{d.uuid[:20]}"
    if d.recurrence is not None:
        body["recurrence"] = dict(d.recurrence)
    if d.occurrences:
        body["occurrences"] = [
            {"occurrence_id": str(int(o.timestamp() * 1000)), "start_time": iso(o),
             "duration": d.duration, "status": "available"}
            for o in d.occurrences
        ]
    return body


def require_registration(d: Definition) -> None:
    """400 code 200 for a meeting or webinar that takes no registration."""
    if not d.registration:
        raise ZoomHTTPError(400, 200,
                            f"Registration has not been enabled for this {d.kind}: {d.id}.")


@route("/users/{userId}/meetings")
def list_meetings(ctx: Ctx) -> dict:
    user = user_or_404(ctx)
    kind = ctx.arg("type", "scheduled")
    ds = ctx.emu.dataset
    mine = [d for d in ds.definitions.values()
            if d.host_id == user.id and d.kind == "meeting" and not d.deleted]
    if kind in ("scheduled", "upcoming", "upcoming_meetings"):
        # Zoom: "only supports scheduled meetings" and "only returns a user's unexpired meetings".
        rows = [d for d in mine if d.type in (2, 3, 8) and not expired(d, ctx.now)]
        if kind != "scheduled":
            rows = [d for d in rows if d.type == 3 or (d.start or ctx.now) >= ctx.now
                    or d.occurrences]
    elif kind == "live":
        rows = [d for d in mine if any(i.live(ctx.now) for i in ds.instances_of(d.id))]
    elif kind == "previous_meetings":
        horizon = ctx.now - timedelta(days=183)
        rows = [d for d in mine if d.type in (2, 3, 8) and expired(d, ctx.now)
                and d.start is not None and d.start >= horizon]
    else:
        raise ZoomHTTPError(400, 300, f"Invalid field: type={kind}.")
    rows.sort(key=lambda d: (d.created_at, d.id))
    return paginate(ctx, [summary_view(ds, d) for d in rows])


@route("/meetings/{meetingId}")
def get_meeting(ctx: Ctx) -> dict:
    d = definition_or_404(ctx, ctx.path["meetingId"])
    return full_view(ctx.emu.dataset, d, ctx.now)


@route("/meetings/{meetingId}/registrants")
def list_registrants(ctx: Ctx) -> dict:
    d = definition_or_404(ctx, ctx.path["meetingId"])
    require_registration(d)
    status = ctx.arg("status", "approved")  # the default hides pending and denied registrants
    rows = [r for r in people.registrants(ctx.emu.dataset, d) if r["status"] == status]
    return paginate(ctx, rows)


@route("/meetings/{meetingId}/registrants/questions")
def registrant_questions(ctx: Ctx) -> dict:
    d = definition_or_404(ctx, ctx.path["meetingId"])
    require_registration(d)
    return {"questions": [{"field_name": "last_name", "required": True}],
            "custom_questions": [{"title": "How did you hear about us?", "type": "short",
                                  "required": False, "answers": []}]}


@route("/meetings/{meetingId}/polls")
def list_polls(ctx: Ctx) -> dict:
    d = definition_or_404(ctx, ctx.path["meetingId"])
    polls = people.poll_definitions(ctx.emu.dataset, d)
    return {"total_records": len(polls), "polls": polls}
