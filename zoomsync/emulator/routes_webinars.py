"""Webinars: the scheduled objects, panelists, registrants and polls, and what happened at each
instance (participants, absentees, poll answers, Q&A).

https://developers.zoom.us/docs/api/meetings/#tag/webinars

Zoom's rules kept here (research note §4, §7.6, §10–11):
- Every webinar endpoint needs the Webinar add-on. Without it Zoom answers 400 code 200, which
  clients easily mistake for a missing scope. The emulator reads `webinar_plan` from its config
  (default: the add-on is there).
- `GET /users/{userId}/webinars` lists only unexpired webinars. Its spec declares only
  `page_number`, yet the response carries `next_page_token`; both are honoured.
- Registrants default to `status=approved`; pending and denied ones need their own calls.
- Absentees are the approved registrants who did not join that instance. A numeric id means
  the latest instance, and `occurrence_id` picks one occurrence of a recurring webinar.
"""

from __future__ import annotations

from datetime import datetime

from zoomsync.emulator import people
from zoomsync.emulator.clock import iso
from zoomsync.emulator.dataset import Dataset, Definition, Instance
from zoomsync.emulator.routes_meetings import (
    definition_or_404,
    expired,
    full_view,
    require_registration,
    summary_view,
)
from zoomsync.emulator.routes_past import (
    PAST_FIELDS,
    instance_or_404,
    instances_view,
    questions_body,
)
from zoomsync.emulator.routes_reports import choice
from zoomsync.emulator.routes_users import user_or_404
from zoomsync.emulator.routing import Ctx, ZoomHTTPError, decode_meeting_key, paginate, route

# The spec's 400 texts: "for this user" on most webinar endpoints, "for user {userId}" on
# GET /webinars/{webinarId}; the past_webinars endpoints document only "No permission.".
PLAN_MISSING = ("Webinar plan is missing. You must subscribe to the webinar plan and enable "
                "webinars for this user in order to perform this action.")
NO_PERMISSION = "No permission."
# Fields of the full meeting object that a webinar does not have (its passcodes have other
# names: `h323_passcode`, `encrypted_passcode`).
_MEETING_ONLY = ("assistant_id", "status", "h323_password", "pstn_password",
                 "encrypted_password", "pre_schedule")
REGISTRANT_STATUSES = ("approved", "pending", "denied")


def require_webinar_plan(ctx: Ctx, message: str = PLAN_MISSING) -> None:
    """400 code 200 when the account has no Webinar add-on.

    https://developers.zoom.us/docs/api/meetings/#tag/webinars/GET/users/{userId}/webinars
    """
    if not ctx.emu.config.webinar_plan:
        raise ZoomHTTPError(400, 200, message)


def webinar_or_404(ctx: Ctx) -> Definition:
    return definition_or_404(ctx, ctx.path["webinarId"], "webinar")


def _bad_occurrence(occurrence: str) -> ZoomHTTPError:
    # The spec's text for absentees; registrants document no error for it, so use the same.
    return ZoomHTTPError(400, 300, "The request could not be completed because you have "
                         f"provided an invalid occurrence ID: {occurrence}.")


def occurrences(ds: Dataset, d: Definition, now: datetime) -> dict[str, datetime]:
    """Occurrence id → scheduled start, for past (attended) and future occurrences."""
    out = {}
    for inst in ds.instances_of(d.id):
        when = people.occurrence_of(d, inst)
        if when is not None and inst.ended(now):
            out[people.occurrence_id(when)] = when
    for when in d.occurrences:
        out[people.occurrence_id(when)] = when
    return out


def webinar_view(ds: Dataset, d: Definition, now: datetime) -> dict:
    """The object `GET /webinars/{webinarId}` returns: the meeting object with webinar fields."""
    body = full_view(ds, d, now)
    for key in _MEETING_ONLY:
        body.pop(key, None)
    host = ds.users.get(d.host_id)
    body.update({
        "h323_passcode": "",
        "encrypted_passcode": "",
        "is_simulive": False,
        "transition_to_live": False,
        "settings": _settings(d, host.record["display_name"] if host else "",
                              host.email if host else ""),
    })
    if d.registration:
        body["registration_url"] = people.registration_url(ds, d)
    return body


def _settings(d: Definition, host_name: str, host_email: str) -> dict:
    """Webinar settings; the meeting settings (`join_before_host`, `waiting_room`, …) differ."""
    return {
        "host_video": True,
        "panelists_video": True,
        "practice_session": d.id % 2 == 0,
        "hd_video": False,
        "hd_video_for_attendees": False,
        "send_1080p_video_to_attendees": False,
        "approval_type": 0 if d.registration else 2,
        "registration_type": 1,
        "audio": "both",
        "auto_recording": "cloud" if d.id % 3 == 0 else "none",
        "alternative_hosts": "",
        "alternative_host_update_polls": False,
        "close_registration": False,
        "show_share_button": True,
        "allow_multiple_devices": False,
        "on_demand": False,
        "global_dial_in_countries": ["US"],
        "global_dial_in_numbers": [{"country": "US", "country_name": "US", "city": "New York",
                                    "number": "+1 6465588656", "type": "toll"}],
        "contact_name": host_name,
        "contact_email": host_email,
        "registrants_restrict_number": 0,
        "registrants_confirmation_email": True,
        "registrants_email_notification": True,
        "panelists_invitation_email_notification": True,
        "meeting_authentication": False,
        "panelist_authentication": False,
        "add_watermark": False,
        "add_audio_watermark": False,
        "post_webinar_survey": False,
        "survey_url": "",
        "email_language": "en-US",
        "email_in_attendee_report": False,
        "request_permission_to_unmute_participants": False,
        "language_interpretation": {"enable": False, "interpreters": []},
        "question_and_answer": {
            "enable": True, "allow_submit_questions": True, "allow_anonymous_questions": True,
            "answer_questions": "all", "attendees_can_comment": True,
            "attendees_can_upvote": True,
        },
        "attendees_and_panelists_reminder_email_notification": {"enable": True, "type": 1},
        "follow_up_attendees_email_notification": {"enable": False, "type": 0},
        "follow_up_absentees_email_notification": {"enable": d.registration, "type": 1},
    }


def registrant_view(r: dict) -> dict:
    """A webinar registrant: the meeting registrant without the meeting-only PIN."""
    return {k: v for k, v in r.items() if k != "participant_pin_code"}


# -- scheduled webinars -------------------------------------------------------------------


@route("/users/{userId}/webinars")
def list_webinars(ctx: Ctx) -> dict:
    user = user_or_404(ctx)
    require_webinar_plan(ctx)
    kind = choice(ctx, "type", ("scheduled", "upcoming"), "scheduled")
    ds = ctx.emu.dataset
    # Zoom: "This API only returns a user's unexpired webinars."
    rows = [d for d in ds.definitions.values()
            if d.host_id == user.id and d.kind == "webinar" and not d.deleted
            and not expired(d, ctx.now)]
    if kind == "upcoming":
        rows = [d for d in rows if d.type == 6 or d.occurrences
                or (d.start is not None and d.start >= ctx.now)]
    rows.sort(key=lambda d: (d.created_at, d.id))
    return paginate(ctx, [{**summary_view(ds, d), "is_simulive": False} for d in rows])


@route("/webinars/{webinarId}")
def get_webinar(ctx: Ctx) -> dict:
    d = webinar_or_404(ctx)
    require_webinar_plan(ctx, "Webinar plan is missing. You must subscribe to the webinar plan "
                              f"and enable webinars for user {d.host_id} to perform this action.")
    ds = ctx.emu.dataset
    body = webinar_view(ds, d, ctx.now)
    known = occurrences(ds, d, ctx.now)
    if ctx.arg("show_previous_occurrences", "false").lower() == "true" and known:
        body["occurrences"] = [
            {"occurrence_id": oid, "start_time": iso(when), "duration": d.duration,
             "status": "available"}
            for oid, when in sorted(known.items(), key=lambda kv: kv[1])
        ]
    occurrence = ctx.arg("occurrence_id")
    if occurrence is not None and occurrence in known:
        body["start_time"] = iso(known[occurrence])
    return body


@route("/webinars/{webinarId}/panelists")
def list_panelists(ctx: Ctx) -> dict:
    d = webinar_or_404(ctx)
    require_webinar_plan(ctx)
    rows = people.panelists(ctx.emu.dataset, d)
    return {"total_records": len(rows), "panelists": rows}  # not paginated


@route("/webinars/{webinarId}/registrants")
def list_registrants(ctx: Ctx) -> dict:
    d = webinar_or_404(ctx)
    require_webinar_plan(ctx)
    require_registration(d)
    ds = ctx.emu.dataset
    status = choice(ctx, "status", REGISTRANT_STATUSES, "approved")  # default hides the rest
    occurrence = ctx.arg("occurrence_id")
    if occurrence is not None and occurrence not in occurrences(ds, d, ctx.now):
        raise _bad_occurrence(occurrence)
    # Registration type 1: one registration covers every occurrence, so the occurrence only
    # has to exist.
    rows = [r for r in people.registrants(ds, d) if r["status"] == status]
    source = ctx.arg("tracking_source_id")
    if source is not None:
        via = people.registrant_sources(ds, d)
        rows = [r for r in rows if via.get(r["id"]) == source]
    return paginate(ctx, [registrant_view(r) for r in rows])


@route("/webinars/{webinarId}/polls")
def list_polls(ctx: Ctx) -> dict:
    d = webinar_or_404(ctx)
    require_webinar_plan(ctx)
    polls = people.poll_definitions(ctx.emu.dataset, d)
    anonymous = ctx.arg("anonymous")
    if anonymous is not None:
        polls = [p for p in polls if p["anonymous"] == (anonymous.lower() == "true")]
    return {"total_records": len(polls), "polls": polls}


# -- past webinars --------------------------------------------------------------------------


@route("/past_webinars/{webinarId}/instances")
def past_instances(ctx: Ctx) -> dict:
    require_webinar_plan(ctx, NO_PERMISSION)
    return {"webinars": instances_view(ctx, "webinar")}


@route("/past_webinars/{webinarId}/participants")
def past_participants(ctx: Ctx) -> dict:
    require_webinar_plan(ctx, NO_PERMISSION)
    inst = instance_or_404(ctx, "webinarId", "webinar")
    # One row per join segment, spec fields only (duration in seconds per segment).
    rows = [{k: p[k] for k in PAST_FIELDS} for p in people.participants(ctx.emu.dataset, inst)]
    return paginate(ctx, rows)


def _absentee_instance(ctx: Ctx) -> Instance:
    """The instance whose absentees are asked for: by UUID, by id (latest) or by occurrence."""
    raw = ctx.path["webinarId"]
    try:
        inst = instance_or_404(ctx, "webinarId", "webinar")
    except ZoomHTTPError as exc:
        if exc.code == 3001:  # the spec's text for this endpoint
            raise ZoomHTTPError(404, 3001, f"Webinar {raw} not found or expired.") from None
        raise
    occurrence = ctx.arg("occurrence_id")
    if occurrence is None:
        return inst
    ds = ctx.emu.dataset
    d = ds.definitions[inst.meeting_id]
    by_id = (decode_meeting_key(ctx.raw_params["webinarId"]) or "").replace(" ", "").isdigit()
    candidates = ds.instances_of(d.id) if by_id else [inst]
    for cand in candidates:
        when = people.occurrence_of(d, cand)
        if cand.ended(ctx.now) and when is not None and people.occurrence_id(when) == occurrence:
            return cand
    raise _bad_occurrence(occurrence)


@route("/past_webinars/{webinarId}/absentees")
def past_absentees(ctx: Ctx) -> dict:
    require_webinar_plan(ctx, NO_PERMISSION)
    inst = _absentee_instance(ctx)
    ds = ctx.emu.dataset
    d = ds.definitions[inst.meeting_id]
    if not d.registration:
        raise ZoomHTTPError(400, 3000, "This webinar doesn't have registration required: "
                            f"{inst.uuid}.")
    return paginate(ctx, [registrant_view(r) for r in people.absentees(ds, inst)])


@route("/past_webinars/{webinarId}/polls")
def past_polls(ctx: Ctx) -> dict:
    require_webinar_plan(ctx, NO_PERMISSION)
    inst = instance_or_404(ctx, "webinarId", "webinar")
    return questions_body(inst, people.poll_answers(ctx.emu.dataset, inst))


@route("/past_webinars/{webinarId}/qa")
def past_qa(ctx: Ctx) -> dict:
    require_webinar_plan(ctx, NO_PERMISSION)
    inst = instance_or_404(ctx, "webinarId", "webinar")
    return questions_body(inst, people.qa(ctx.emu.dataset, inst))
