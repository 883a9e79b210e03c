"""Past meetings: instances, their details, participants, poll answers and Q&A.

https://developers.zoom.us/docs/api/meetings/#tag/meetings/GET/past_meetings/{meetingId}
"""

from __future__ import annotations

from datetime import timedelta

from zoomsync.emulator import people
from zoomsync.emulator.clock import iso
from zoomsync.emulator.dataset import Instance
from zoomsync.emulator.routing import Ctx, ZoomHTTPError, decode_meeting_key, paginate, route

PAST_FIELDS = ("id", "name", "user_id", "registrant_id", "user_email", "join_time", "leave_time",
               "duration", "failover", "status", "internal_user")
YEAR = timedelta(days=365)


def instance_or_404(ctx: Ctx, param: str = "meetingId", kind: str = "meeting") -> Instance:
    """The instance a `{meetingId}` names: a UUID, or a numeric id meaning its latest instance.

    Zoom answers 404 code 3001 for a meeting that does not exist, has not ended yet, or whose
    UUID needed double encoding, and 400 code 12702 beyond its one-year retention.
    """
    ds = ctx.emu.dataset
    noun = "Meeting" if kind == "meeting" else "Webinar"
    key = decode_meeting_key(ctx.raw_params[param])
    inst: Instance | None = None
    if key is not None and key.replace(" ", "").isdigit():
        inst = ds.latest_instance(int(key.replace(" ", "")), ctx.now)
    elif key is not None:
        inst = ds.instances.get(key)
    if inst is None or inst.kind != kind:
        raise ZoomHTTPError(404, 3001, f"{noun} does not exist: {key or ctx.path[param]}.")
    if not inst.ended(ctx.now):
        raise ZoomHTTPError(404, 3001, f"{noun} ID is invalid or not end.")
    if inst.start < ctx.now - YEAR:
        raise ZoomHTTPError(400, 12702, f"Can not access a {kind} a year ago.")
    return inst


def duration_minutes(inst: Instance) -> int:
    assert inst.end is not None
    return max(1, round((inst.end - inst.start).total_seconds() / 60))


def total_minutes(ctx: Ctx, inst: Instance) -> int:
    return sum(p["duration"] for p in people.participants(ctx.emu.dataset, inst)) // 60


def unique_count(ctx: Ctx, inst: Instance) -> int:
    rows = people.participants(ctx.emu.dataset, inst)
    return len({p["participant_uuid"] for p in rows}) if rows else inst.people


@route("/past_meetings/{meetingId}")
def past_meeting(ctx: Ctx) -> dict:
    inst = instance_or_404(ctx)
    host = ctx.emu.dataset.users.get(inst.host_id)
    return {
        "id": inst.meeting_id, "uuid": inst.uuid, "host_id": inst.host_id, "type": inst.type,
        "topic": inst.topic, "user_name": host.record["display_name"] if host else "",
        "user_email": host.email if host else "", "start_time": iso(inst.start),
        "end_time": iso(inst.end), "duration": duration_minutes(inst),  # type: ignore[arg-type]
        "total_minutes": total_minutes(ctx, inst), "participants_count": unique_count(ctx, inst),
        "dept": host.record["dept"] if host else "", "source": "Zoom",
        "has_meeting_summary": False,
    }


@route("/past_meetings/{meetingId}/instances")
def past_instances(ctx: Ctx) -> dict:
    return {"meetings": instances_view(ctx, "meeting")}


def instances_view(ctx: Ctx, kind: str) -> list[dict]:
    """Ended instances of a meeting or webinar id, oldest first, within 15 months."""
    ds = ctx.emu.dataset
    key = ctx.path["meetingId" if kind == "meeting" else "webinarId"].replace(" ", "")
    if not key.isdigit() or int(key) not in ds.definitions or ds.definitions[int(key)].kind != kind:
        noun = "Meeting" if kind == "meeting" else "Webinar"
        raise ZoomHTTPError(404, 3001, f"{noun} does not exist: {key}.")
    horizon = ctx.now - timedelta(days=456)  # "more than 15 months ago" are not returned
    found = [i for i in ds.instances_of(int(key)) if i.ended(ctx.now) and i.start >= horizon]
    found.sort(key=lambda i: i.start)
    return [{"uuid": i.uuid, "start_time": iso(i.start)} for i in found]


@route("/past_meetings/{meetingId}/participants")
def past_participants(ctx: Ctx) -> dict:
    inst = instance_or_404(ctx)
    rows = [{k: p[k] for k in PAST_FIELDS} for p in people.participants(ctx.emu.dataset, inst)]
    return paginate(ctx, rows)


def questions_body(inst: Instance, questions: list[dict]) -> dict:
    """The envelope of an instance's poll answers or Q&A, past and report endpoints alike."""
    return {"id": inst.meeting_id, "uuid": inst.uuid, "start_time": iso(inst.start),
            "questions": questions}


@route("/past_meetings/{meetingId}/polls")
def past_polls(ctx: Ctx) -> dict:
    inst = instance_or_404(ctx)
    return questions_body(inst, people.poll_answers(ctx.emu.dataset, inst))


@route("/past_meetings/{meetingId}/qa")
def past_qa(ctx: Ctx) -> dict:
    inst = instance_or_404(ctx)
    return questions_body(inst, people.qa(ctx.emu.dataset, inst))
