"""Dashboards (`/metrics/*`): live and past meetings and webinars, with per-join-segment
participant rows that carry device, network and quality detail.

https://developers.zoom.us/docs/api/accounts/#tag/dashboards

Zoom's rules kept here (research note §7.8, §10–11):
- Business plan or higher only. On a lower plan every dashboard endpoint answers HTTP 400
  `{"code": 200, "message": "This API is only available for ZMP and Business or higher
  accounts that have enabled the Dashboard feature."}`. The message is the spec's; the spec
  lists it under "Error Code: 400", but responses captured from real accounts carry code 200.
- `type` defaults to `live`: forgetting `type=past` silently lists only meetings in progress.
- `type=past` covers meetings with two or more participants, `pastOne` one-person ones; a
  meeting that is unknown, still running (for `past`), not running (for `live`) or of the
  other kind answers 404 code 3001.
- `from`/`to` follow the report rules (`routes_reports.window`) and also take
  `yyyy-MM-dd HH:mm:ss`; the response echoes them as given.
"""

from __future__ import annotations

import random
from typing import Any

from zoomsync.emulator import ids, people
from zoomsync.emulator.clock import iso
from zoomsync.emulator.dataset import Instance
from zoomsync.emulator.routes_past import instance_or_404
from zoomsync.emulator.routes_reports import (
    Window,
    attendee_ids,
    choice,
    ended_in,
    features,
    head_count,
    window,
    with_page_count,
)
from zoomsync.emulator.routing import Ctx, ZoomHTTPError, decode_meeting_key, paginate, route

BELOW_BUSINESS = frozenset({"free", "basic", "pro"})
PLAN_MESSAGE = ("This API is only available for ZMP and Business or higher accounts that have "
                "enabled the Dashboard feature.")

# What each endpoint's 200 schema lists, in the order the emulator writes them.
_MEETING_COMMON = ("uuid", "id", "topic", "host", "email", "user_type", "start_time",
                   "end_time", "duration", "participants", "has_pstn", "has_voip",
                   "has_3rd_party_audio", "has_video", "has_screen_share", "has_recording",
                   "has_sip", "has_archiving", "has_manual_captions", "has_automated_captions",
                   "has_poll", "has_survey", "dept", "custom_keys")
MEETING_LIST_FIELDS = (*_MEETING_COMMON, "has_qa", "audio_quality", "video_quality",
                       "screen_share_quality", "avg_jointime_cost")
MEETING_DETAIL_FIELDS = (*_MEETING_COMMON, "has_qa", "in_room_participants",
                         "has_meeting_summary", "avg_jointime_cost")
WEBINAR_LIST_FIELDS = (*_MEETING_COMMON, "audio_quality", "video_quality",
                       "screen_share_quality")
_PARTICIPANT_COMMON = (
    "id", "participant_user_id", "user_id", "participant_uuid", "user_name", "email",
    "registrant_id", "device", "device_name", "os", "os_version", "version", "ip_address",
    "internal_ip_addresses", "location", "network_type", "data_center", "full_data_center",
    "connection_type", "video_connection_type", "as_connection_type", "join_time",
    "leave_time", "leave_reason", "role", "audio_quality", "video_quality",
    "screen_share_quality", "share_application", "share_desktop", "share_whiteboard",
    "recording", "pc_name", "domain", "mac_addr", "harddisk_id", "microphone", "speaker",
    "audio_call", "sip_uri", "from_sip_uri", "customer_key", "bo_mtg_id", "has_archiving",
)
MEETING_PARTICIPANT_FIELDS = (*_PARTICIPANT_COMMON, "status", "camera", "total_jointime_cost")
WEBINAR_PARTICIPANT_FIELDS = _PARTICIPANT_COMMON
# Fields the spec says are "" for users outside the host's account (external users).
_BLANK_FOR_EXTERNAL = ("device", "camera", "microphone", "speaker", "domain", "harddisk_id",
                       "mac_addr")

DEVICES = {  # device: (weight, os, os_version, network types)
    "Mac": (35, "Mac", "14.5", ("Wired", "Wifi")),
    "Windows": (35, "Windows", "11", ("Wired", "Wifi")),
    "iOS": (10, "iOS", "17.5", ("Wifi", "Cellular")),
    "Android": (8, "Android", "14", ("Wifi", "Cellular")),
    "Phone": (7, "", "", ("Others",)),
    "H.323/SIP": (5, "", "", ("Wired",)),
}
PLACES = {"US": ("United States", "United States (SC Top)"), "DE": ("Germany", "Germany (FR)"),
          "JP": ("Japan", "Japan (TY)"), "NG": ("Nigeria", "Europe (AMS)"),
          "BR": ("Brazil", "Brazil (SP)"), "IN": ("India", "India (MB)"),
          "GB": ("United Kingdom", "Europe (LON)")}
QUALITIES = ("good", "good", "good", "fair", "poor", "")
CONNECTIONS = ("UDP", "UDP", "UDP", "TCP", "SSL")


def _require_business(ctx: Ctx) -> None:
    if ctx.emu.config.plan in BELOW_BUSINESS:
        raise ZoomHTTPError(400, 200, PLAN_MESSAGE)


def clock_duration(seconds: int) -> str:
    """The dashboards' `duration`: `mm:ss`, or `hh:mm:ss` from an hour up ("`16:08` for 16
    minutes and 8 seconds")."""
    hours, rest = divmod(max(0, seconds), 3600)
    mins, secs = divmod(rest, 60)
    return f"{hours:02d}:{mins:02d}:{secs:02d}" if hours else f"{mins:02d}:{secs:02d}"


# -- finding instances -----------------------------------------------------------------------


def _live_instance(ctx: Ctx, param: str, kind: str, message: str) -> Instance:
    """The instance in progress that `{meetingId}` names (a numeric id: its running one)."""
    ds = ctx.emu.dataset
    key = decode_meeting_key(ctx.raw_params[param])
    inst: Instance | None = None
    if key is not None and key.replace(" ", "").isdigit():
        running = [i for i in ds.instances_of(int(key.replace(" ", ""))) if i.live(ctx.now)]
        inst = max(running, key=lambda i: i.start) if running else None
    elif key is not None:
        inst = ds.instances.get(key)
    if inst is None or inst.kind != kind or not inst.live(ctx.now):
        raise ZoomHTTPError(404, 3001, message)
    return inst


def _dashboard_instance(ctx: Ctx, param: str, kind: str, type_: str, message: str) -> Instance:
    if type_ == "live":
        return _live_instance(ctx, param, kind, message)
    try:
        inst = instance_or_404(ctx, param, kind)
    except ZoomHTTPError as exc:
        if exc.code == 3001:  # the same 404, in this endpoint's words
            raise ZoomHTTPError(404, 3001, message) from exc
        raise
    if (type_ == "past") != (head_count(ctx, inst) >= 2):
        raise ZoomHTTPError(404, 3001, message)
    return inst


def _listed(ctx: Ctx, kind: str, type_: str, by: str, win: Window, *,
            split_one: bool = True) -> list[Instance]:
    """The instances a dashboard list shows. Live ones are those running now, whatever the
    window says; past ones are filtered by start (or, for `past`, end) time, and split into
    `past` (2+ people) and `pastOne` unless `split_one` is off (webinars have no pastOne)."""
    if type_ == "live":
        found = [i for i in ctx.emu.dataset.instances.values() if i.live(ctx.now)]
        found.sort(key=lambda i: (i.start, i.uuid))
    else:
        found = ended_in(ctx, win, by=by if type_ == "past" else "start_time")
        if split_one:
            found = [i for i in found if (head_count(ctx, i) >= 2) == (type_ == "past")]
    found = [i for i in found if i.kind == kind]
    groups = {g for g in (ctx.arg("group_id") or "").split(",") if g}
    if groups:
        members = {uid for g in groups for uid in ctx.emu.dataset.group_members.get(g, [])}
        with_people = (ctx.arg("group_include_participant") or "").lower() == "true"
        found = [i for i in found if i.host_id in members
                 or (with_people and attendee_ids(ctx, i) & members)]
    return found


# -- meeting and webinar rows ----------------------------------------------------------------


def _joined(ctx: Ctx, inst: Instance) -> list[dict]:
    """Participant rows so far: for a live meeting, only those who have joined, with leave
    times only for those who have left. A one-person meeting gets its host's single row,
    which the dashboards (`pastOne`) show although past_meetings and reports do not."""
    ds = ctx.emu.dataset
    rows = people.participants(ds, inst)
    if not rows:
        rows = [_solo_row(ctx, inst)]
    if not inst.live(ctx.now):
        return rows
    now = iso(ctx.now)
    out = []
    for row in rows:
        if row["join_time"] <= now:  # same ISO format: string order is time order
            out.append(row if row["leave_time"] <= now else
                       {k: v for k, v in row.items() if k not in ("leave_time", "duration")})
    return out


def _solo_row(ctx: Ctx, inst: Instance) -> dict:
    ds = ctx.emu.dataset
    rng = random.Random(f"{ds.config.seed}/solo/{inst.uuid}")
    person = people.people(ds, inst)[0]
    end = inst.end or ctx.now
    return {
        "id": person["id"], "participant_user_id": person["id"], "user_id": ids.join_id(rng),
        "participant_uuid": ids.opaque(rng, 22), "name": person["name"],
        "user_email": person["email"], "registrant_id": person["registrant_id"],
        "join_time": iso(inst.start), "leave_time": iso(end),
        "duration": int((end - inst.start).total_seconds()), "failover": False,
        "status": "in_meeting", "internal_user": person["internal"], "customer_key": "",
        "bo_mtg_id": "", "role": "host",
    }


def _dashboard_row(ctx: Ctx, inst: Instance, fields: tuple[str, ...]) -> dict:
    ds = ctx.emu.dataset
    host = ds.users.get(inst.host_id)
    used = features(ctx, inst)
    rng = random.Random(f"{ds.config.seed}/dashboard/{inst.uuid}")
    live = inst.live(ctx.now)
    end = ctx.now if live or inst.end is None else inst.end
    if live:
        count = len({r["participant_uuid"] for r in _joined(ctx, inst)})
    else:
        count = head_count(ctx, inst)
    full: dict[str, Any] = {
        "uuid": inst.uuid, "id": inst.meeting_id, "topic": inst.topic,
        "host": host.record["display_name"] if host else "",
        "email": host.email if host else "",
        "user_type": "Licensed" if host and host.record["type"] == 2 else "Basic",
        "start_time": iso(inst.start),
        "duration": clock_duration(int((end - inst.start).total_seconds())),
        "participants": count,
        "has_pstn": used["telephone_usage"], "has_voip": True, "has_3rd_party_audio": False,
        "has_video": used["video_on"], "has_screen_share": used["screen_sharing"],
        "has_recording": used["record_to_cloud"] or used["record_to_computer"],
        "has_sip": used["join_by_room"], "has_archiving": False,
        "has_manual_captions": used["closed_caption"],
        "has_automated_captions": used["live_transcription"],
        "has_poll": inst.has_polls, "has_survey": False, "has_qa": inst.has_qa,
        "dept": host.record["dept"] if host else "", "custom_keys": [],
        "audio_quality": rng.choice(QUALITIES[:-1]), "video_quality": rng.choice(QUALITIES[:-1]),
        "screen_share_quality": rng.choice(QUALITIES[:-1]),
        "avg_jointime_cost": round(rng.uniform(1.5, 6.0), 2),
        "in_room_participants": 1 if used["join_by_room"] else 0,
        "has_meeting_summary": used["meeting_summary"],
    }
    if not live and inst.end is not None:
        full["end_time"] = iso(inst.end)
    return {k: full[k] for k in fields if k in full}


def _participant_rows(ctx: Ctx, inst: Instance, fields: tuple[str, ...]) -> list[dict]:
    """Dashboard participant rows: one per join segment, enriched from seeded generators (a
    person keeps one device across rejoins; network and quality vary per segment)."""
    ds = ctx.emu.dataset
    seed = ds.config.seed
    noun = inst.kind
    rows = _joined(ctx, inst)
    last_join = {}
    for r in rows:
        last_join[r["participant_uuid"]] = max(last_join.get(r["participant_uuid"], ""),
                                               r["join_time"])
    with_registrant = (ctx.arg("include_fields") == "registrant_id"
                       and not inst.live(ctx.now))  # "not supported for live meeting types"
    out = []
    for r in rows:
        person = random.Random(f"{seed}/metrics-person/{inst.uuid}/{r['participant_uuid']}")
        seg = random.Random(f"{seed}/metrics-row/{inst.uuid}/{r['user_id']}")
        names = list(DEVICES)
        device = person.choices(names, [DEVICES[n][0] for n in names])[0]
        _, os_name, os_version, networks = DEVICES[device]
        client = device not in ("Phone", "H.323/SIP")
        country = person.choice(list(PLACES))
        location, data_center = PLACES[country]
        internal = bool(r.get("internal_user"))
        full: dict[str, Any] = {
            "id": r.get("id", ""), "participant_user_id": r.get("participant_user_id", ""),
            "user_id": r["user_id"], "participant_uuid": r["participant_uuid"],
            "user_name": r.get("name", ""),
            "device": device, "os": os_name, "os_version": os_version,
            "version": (f"6.{person.randint(0, 3)}.{person.randint(0, 9)}."
                        f"{person.randint(1000, 9999)}" if client else ""),
            "ip_address": f"{seg.choice(['192.0.2', '198.51.100', '203.0.113'])}."
                          f"{seg.randint(1, 254)}",
            "location": location, "network_type": seg.choice(networks),
            "data_center": data_center, "full_data_center": f"{data_center};",
            "connection_type": seg.choice(CONNECTIONS),
            "video_connection_type": seg.choice(CONNECTIONS),
            "as_connection_type": seg.choice(CONNECTIONS),
            "join_time": r["join_time"],
            "role": r.get("role", "attendee"),
            "audio_quality": seg.choice(QUALITIES), "video_quality": seg.choice(QUALITIES),
            "screen_share_quality": seg.choice(QUALITIES),
            "share_application": False, "share_desktop": seg.random() < 0.2,
            "share_whiteboard": seg.random() < 0.05,
            "recording": inst.has_recording and r.get("role") == "host",
            "customer_key": r.get("customer_key", ""), "bo_mtg_id": r.get("bo_mtg_id", ""),
            "has_archiving": False, "status": r.get("status", "in_meeting"),
            "total_jointime_cost": round(seg.uniform(1.0, 8.0), 2),
        }
        email = r.get("user_email", "")
        if noun == "webinar":
            full["email"] = email  # a plain string here: blank for hidden emails, as documented
        elif email:
            full["email"] = email  # `format: email`: a hidden email is left out, not ""
        if with_registrant:
            full["registrant_id"] = r.get("registrant_id", "")
        if client:
            full.update({
                "internal_ip_addresses": [f"10.{person.randint(0, 255)}.{person.randint(0, 255)}"
                                          f".{person.randint(1, 254)}"],
                "pc_name": f"EMU-{person.randint(1000, 9999)}",
                "domain": ds.config.domain,
                "mac_addr": "-".join(f"{person.randrange(1 << 16):04x}" for _ in range(3)),
                "harddisk_id": f"{person.randrange(1 << 32):08X}",
                "microphone": person.choice(["MacBook Pro Microphone", "Jabra Evolve2 65",
                                             "Microphone (Realtek(R) Audio)"]),
                "speaker": person.choice(["MacBook Pro Speakers", "Jabra Evolve2 65",
                                          "Speakers (Realtek(R) Audio)"]),
                "camera": person.choice(["FaceTime HD Camera", "Logitech C920", ""]),
            })
            if device in ("iOS", "Android"):
                full["device_name"] = "iPhone 15" if device == "iOS" else "Pixel 8"
        elif device == "Phone":
            full["audio_call"] = [{"call_number": f"{person.randint(1000, 9999)}",
                                   "call_type": "call-in", "zoom_number": "16465588656"}]
        else:
            full["sip_uri"] = full["from_sip_uri"] = f"sip:room{person.randint(100, 999)}@" \
                                                     f"{ds.config.domain}"
        if "leave_time" in r:
            full["leave_time"] = r["leave_time"]
            full["leave_reason"] = _leave_reason(inst, r, last_join, noun)
        if not internal:
            for key in _BLANK_FOR_EXTERNAL:
                if key in full:
                    full[key] = ""
        out.append({k: full[k] for k in fields if k in full})
    return out


def _leave_reason(inst: Instance, row: dict, last_join: dict[str, str], noun: str) -> str:
    """One of the spec's reasons, `$name` filled in: a segment followed by a rejoin was a
    disconnection; the host's last segment ends the meeting."""
    name = row.get("name", "")
    if row["join_time"] < last_join.get(row["participant_uuid"], ""):
        return f"{name} got disconnected from the {noun}."
    if inst.end is not None and row["leave_time"] >= iso(inst.end):
        return f"Host ended the {noun}."
    return f"{name} left the {noun}."


def _participants_page(ctx: Ctx, inst: Instance, fields: tuple[str, ...], number_key: str,
                       ) -> dict:
    body = paginate(ctx, _participant_rows(ctx, inst, fields),
                    extra={number_key: str(inst.meeting_id)})
    return with_page_count(body)


# -- routes ----------------------------------------------------------------------------------


@route("/metrics/meetings")
def dashboard_meetings(ctx: Ctx) -> dict:
    """https://developers.zoom.us/docs/api/accounts/#tag/dashboards/GET/metrics/meetings"""
    _require_business(ctx)
    type_ = choice(ctx, "type", ("past", "pastOne", "live"), "live") or "live"
    by = choice(ctx, "query_date_type", ("start_time", "end_time"), "start_time") or "start_time"
    tracking = choice(ctx, "include_fields", ("tracking_fields",), None) is not None
    win = window(ctx, with_time=True)
    body = paginate(ctx, _listed(ctx, "meeting", type_, by, win),
                    extra={"from": win.raw_from, "to": win.raw_to})
    rows = []
    for inst in body["meetings"]:
        row = _dashboard_row(ctx, inst, MEETING_LIST_FIELDS)
        if tracking:
            row["tracking_fields"] = []
        rows.append(row)
    body["meetings"] = rows
    return with_page_count(body)


@route("/metrics/meetings/{meetingId}")
def dashboard_meeting(ctx: Ctx) -> dict:
    """https://developers.zoom.us/docs/api/accounts/#tag/dashboards/GET/metrics/meetings/{meetingId}"""
    _require_business(ctx)
    type_ = choice(ctx, "type", ("past", "pastOne", "live"), "live") or "live"
    inst = _dashboard_instance(ctx, "meetingId", "meeting", type_,
                               "Meeting ID is invalid or the meeting has not ended yet.")
    return _dashboard_row(ctx, inst, MEETING_DETAIL_FIELDS)


@route("/metrics/meetings/{meetingId}/participants")
def dashboard_meeting_participants(ctx: Ctx) -> dict:
    """https://developers.zoom.us/docs/api/accounts/#tag/dashboards/GET/metrics/meetings/{meetingId}/participants"""
    _require_business(ctx)
    type_ = choice(ctx, "type", ("past", "pastOne", "live"), "live") or "live"
    choice(ctx, "include_fields", ("registrant_id",), None)
    inst = _dashboard_instance(ctx, "meetingId", "meeting", type_,
                               "Meeting ID is invalid or has not ended.")
    return _participants_page(ctx, inst, MEETING_PARTICIPANT_FIELDS, "meeting_number")


@route("/metrics/webinars")
def dashboard_webinars(ctx: Ctx) -> dict:
    """https://developers.zoom.us/docs/api/accounts/#tag/dashboards/GET/metrics/webinars"""
    _require_business(ctx)
    type_ = choice(ctx, "type", ("past", "live"), "live") or "live"
    by = choice(ctx, "query_date_type", ("start_time", "end_time"), "start_time") or "start_time"
    win = window(ctx, with_time=True)
    # Webinars have no pastOne: `past` lists every ended webinar, one-person ones included.
    found = _listed(ctx, "webinar", type_, by, win, split_one=False)
    body = paginate(ctx, found, extra={"from": win.raw_from, "to": win.raw_to})
    body["webinars"] = [_dashboard_row(ctx, i, WEBINAR_LIST_FIELDS) for i in body["webinars"]]
    return with_page_count(body)


@route("/metrics/webinars/{webinarId}")
def dashboard_webinar(ctx: Ctx) -> dict:
    """https://developers.zoom.us/docs/api/accounts/#tag/dashboards/GET/metrics/webinars/{webinarId}"""
    _require_business(ctx)
    type_ = choice(ctx, "type", ("past", "live"), "live") or "live"
    inst = _dashboard_instance(ctx, "webinarId", "webinar", type_,
                               "This webinar's detail information is not available or the ID "
                               "is not valid.")
    return _dashboard_row(ctx, inst, WEBINAR_LIST_FIELDS)


@route("/metrics/webinars/{webinarId}/participants")
def dashboard_webinar_participants(ctx: Ctx) -> dict:
    """https://developers.zoom.us/docs/api/accounts/#tag/dashboards/GET/metrics/webinars/{webinarId}/participants"""
    _require_business(ctx)
    type_ = choice(ctx, "type", ("past", "live"), "live") or "live"
    choice(ctx, "include_fields", ("registrant_id",), None)
    message = "This webinar's detail information is not available or the ID is not valid."
    if type_ == "live":
        inst = _live_instance(ctx, "webinarId", "webinar", message)
    else:
        try:
            inst = instance_or_404(ctx, "webinarId", "webinar")
        except ZoomHTTPError as exc:
            if exc.code == 3001:
                raise ZoomHTTPError(404, 3001, message) from exc
            raise
    return _participants_page(ctx, inst, WEBINAR_PARTICIPANT_FIELDS, "webinar_number")
