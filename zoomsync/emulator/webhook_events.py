"""Zoom webhook event bodies, built from the REST shapes Zoom's API returns.

Each event's schema is `webhooks.<event>.post.requestBody.content["application/json"].schema`
in Zoom's meetings and users webhook documents. Builders keep the fields the event schema
names: most started/ended/participant/user/recording schemas set `additionalProperties: false`,
so a REST dict passed through would not look like what Zoom sends. Signing and delivery are
in `webhooks.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

Json = dict[str, Any]

# fmt: off
_MEETING_CREATED = (
    "uuid", "id", "host_id", "topic", "type", "start_time", "duration", "timezone",
    "join_url", "password", "pmi", "occurrences", "recurrence", "tracking_fields",
)
_CREATED_SETTINGS = (
    "use_pmi", "alternative_hosts", "meeting_invitees", "join_before_host", "jbh_time",
)
_MEETING_UPDATED = (
    "host_id", "topic", "type", "start_time", "duration", "timezone", "join_url",
    "password", "agenda", "registration_url", "occurrences", "recurrence", "tracking_fields",
)
_DELETED = (
    "uuid", "id", "host_id", "topic", "type", "start_time", "duration", "timezone",
    "occurrences",
)
_INSTANCE = ("uuid", "host_id", "topic", "type", "start_time", "timezone", "duration")
_PARTICIPANT_EXTRA = ("participant_uuid", "registrant_id", "customer_key", "phone_number")
_RECORDING = (
    "uuid", "host_id", "account_id", "topic", "start_time", "password", "timezone",
    "duration", "share_url", "total_size", "recording_count", "on_prem",
    "recording_play_passcode", "auto_delete", "auto_delete_date",
)
_RECORDING_FILE = (
    "id", "meeting_id", "recording_start", "recording_end", "file_type", "file_size",
    "file_extension", "file_name", "play_url", "download_url", "file_path", "status",
    "recording_type",
)
_AUDIO_FILE = (
    "id", "recording_start", "recording_end", "file_type", "file_name", "file_size",
    "file_extension", "play_url", "download_url", "file_path", "status",
)
_USER_UPDATED = (
    "first_name", "last_name", "display_name", "email", "type", "phone_number", "company",
    "pmi", "use_pmi", "timezone", "pic_url", "vanity_name", "host_key", "role", "dept",
    "language", "primary_group_id",
)
_WEBINAR_CREATED = (
    "uuid", "id", "host_id", "topic", "type", "start_time", "duration", "timezone",
    "join_url", "password", "creation_source", "occurrences", "recurrence",
)
_WEBINAR_UPDATED = (
    "host_id", "topic", "type", "start_time", "duration", "timezone", "password",
    "agenda", "registration_url", "occurrences", "recurrence",
)
# fmt: on


def epoch_ms(when: datetime) -> int:
    """Zoom's `event_ts` and `time_stamp`: epoch milliseconds."""
    return int(when.timestamp() * 1000)


# --- shared parts ----------------------------------------------------------------------


def _pick(source: Mapping[str, Any], keys: Iterable[str]) -> Json:
    # Absent and null fields are left out: the schemas type them and none allows null.
    return {k: source[k] for k in keys if source.get(k) is not None}


def _body(event: str, now: datetime, payload: Json, **top: Any) -> Json:
    return {"event": event, "event_ts": epoch_ms(now), "payload": payload, **top}


def _by(account_id: str, operator: Mapping[str, Any], obj: Json, **extra: Any) -> Json:
    """A payload for events a user caused; `operator` is that user as GET /users returns it."""
    return {
        "account_id": account_id,
        "operator": operator["email"],
        "operator_id": operator["id"],
        **extra,
        "object": obj,
    }


def _account_event(event: str, now: datetime, account_id: str, obj: Json, **top: Any) -> Json:
    """An event nobody caused (a meeting started, a recording finished): no operator."""
    return _body(event, now, {"account_id": account_id, "object": obj}, **top)


def _changed(old: Mapping[str, Any], new: Mapping[str, Any], keys: Iterable[str]) -> list[str]:
    return [k for k in keys if new.get(k) is not None and new.get(k) != old.get(k)]


# --- meetings and webinars -------------------------------------------------------------


def _scheduled(item: Mapping[str, Any], keys: Iterable[str]) -> Json:
    obj = _pick(item, keys)
    # The schema requires these two settings; REST may leave them out when they are off.
    settings = _pick(item.get("settings") or {}, _CREATED_SETTINGS)
    obj["settings"] = {"use_pmi": False, "alternative_hosts": "", **settings}
    return obj


def _instance(instance: Mapping[str, Any]) -> Json:
    # The spec types the meeting id as a string in started/ended/participant events,
    # but as an integer in created/updated/deleted.
    return {"id": str(instance["id"]), **_pick(instance, _INSTANCE)}


def _meeting_object(meeting: Mapping[str, Any]) -> Json:
    """`meeting.created`'s object, from a meeting as GET /meetings/{meetingId} returns it."""
    return _scheduled(meeting, _MEETING_CREATED)


def _webinar_object(webinar: Mapping[str, Any]) -> Json:
    """`webinar.created`'s object, from GET /webinars/{webinarId} (with `creation_source`)."""
    obj = {"creation_source": "open_api", "timezone": "", **_scheduled(webinar, _WEBINAR_CREATED)}
    obj["settings"] = _pick(obj["settings"], ["use_pmi", "alternative_hosts"])
    return obj


def _deleted_object(item: Mapping[str, Any]) -> Json:
    return _pick(item, _DELETED)


def _operated(
    event: str,
    to_object: Callable[[Mapping[str, Any]], Json],
    item: Mapping[str, Any],
    *,
    account_id: str,
    operator: Mapping[str, Any],
    now: datetime,
    operation: str = "single",
) -> Json:
    """A meeting/webinar created or deleted event: `to_object(item)` and who did it.

    `operation` says whether one occurrence or all of them (single/all).
    """
    return _body(event, now, _by(account_id, operator, to_object(item), operation=operation))


meeting_created = partial(_operated, "meeting.created", _meeting_object)
meeting_deleted = partial(_operated, "meeting.deleted", _deleted_object)
webinar_created = partial(_operated, "webinar.created", _webinar_object)
webinar_deleted = partial(_operated, "webinar.deleted", _deleted_object)


def _updated(
    event: str,
    keys: Iterable[str],
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    account_id: str,
    operator: Mapping[str, Any],
    now: datetime,
    scope: str = "single",
) -> Json:
    """A meeting.updated/webinar.updated event from the object before and after the change:
    the id plus only what changed.

    The `*.updated` events name the single/all field `scope`, not `operation`.
    """
    changed = _changed(old, new, keys)
    obj: Json = {"id": new["id"], **_pick(new, ["uuid", *changed])}
    old_obj: Json = {"id": new["id"], **_pick(old, changed)}
    # Every REST setting is writable through PATCH and the schema allows settings it does
    # not name, so report whichever setting changed.
    old_settings, new_settings = old.get("settings") or {}, new.get("settings") or {}
    if changed_settings := _changed(old_settings, new_settings, new_settings):
        obj["settings"] = _pick(new_settings, changed_settings)
        old_obj["settings"] = _pick(old_settings, changed_settings)
    payload = _by(account_id, operator, obj, scope=scope)
    return _body(event, now, {**payload, "old_object": old_obj, "time_stamp": epoch_ms(now)})


meeting_updated = partial(_updated, "meeting.updated", _MEETING_UPDATED)
webinar_updated = partial(_updated, "webinar.updated", _WEBINAR_UPDATED)


def meeting_started(instance: Mapping[str, Any], *, account_id: str, now: datetime) -> Json:
    """`meeting.started` from a past instance as GET /past_meetings/{meetingUUID} returns it."""
    return _account_event("meeting.started", now, account_id, _instance(instance))


def meeting_ended(instance: Mapping[str, Any], *, account_id: str, now: datetime) -> Json:
    obj = {**_instance(instance), "end_time": instance["end_time"]}
    return _account_event("meeting.ended", now, account_id, obj)


def webinar_ended(instance: Mapping[str, Any], *, account_id: str, now: datetime) -> Json:
    """`webinar.ended` from a past webinar instance; unlike meeting.ended, timezone is required."""
    obj = {"timezone": "", **_instance(instance), **_pick(instance, ["end_time"])}
    return _account_event("webinar.ended", now, account_id, obj)


# --- participants ----------------------------------------------------------------------


def _participant(segment: Mapping[str, Any]) -> Json:
    # REST `id` is the participant's Zoom user id ("" for guests); the event repeats it
    # as `participant_user_id`, which the spec tells readers to use.
    zoom_user_id = segment.get("id") or ""
    return {
        "user_id": str(segment["user_id"]),
        "user_name": segment.get("name") or "",
        "id": zoom_user_id,
        "participant_user_id": zoom_user_id,
        # Required with format `email` by the spec, yet Zoom sends "" for most guests.
        "email": segment.get("user_email") or "",
        **_pick(segment, _PARTICIPANT_EXTRA),
    }


def _participant_event(
    event: str, instance: Mapping[str, Any], participant: Json, account_id: str, now: datetime
) -> Json:
    obj = {**_instance(instance), "participant": participant}
    return _account_event(event, now, account_id, obj)


def participant_joined(
    instance: Mapping[str, Any], segment: Mapping[str, Any], *, account_id: str, now: datetime
) -> Json:
    """`meeting.participant_joined` from one join segment of GET .../participants."""
    participant = {**_participant(segment), "join_time": segment["join_time"]}
    return _participant_event("meeting.participant_joined", instance, participant, account_id, now)


def participant_left(
    instance: Mapping[str, Any],
    segment: Mapping[str, Any],
    *,
    account_id: str,
    now: datetime,
    leave_reason: str | None = None,
) -> Json:
    """`meeting.participant_left`; `leave_reason` is free text such as "Removed by host."."""
    name = segment.get("name") or ""
    participant = {
        **_participant(segment),
        "leave_time": segment["leave_time"],
        "leave_reason": leave_reason or f"{name} left the meeting.",
    }
    return _participant_event("meeting.participant_left", instance, participant, account_id, now)


# --- recordings ------------------------------------------------------------------------


def _file(item: Mapping[str, Any], keys: Iterable[str]) -> Json:
    out = _pick(item, keys)
    if "file_size" in out:  # a `number` in REST, an `integer` in the event
        out["file_size"] = int(out["file_size"])
    return out


def recording_completed(
    recording: Mapping[str, Any],
    *,
    account_id: str,
    host_email: str,
    download_token: str,
    now: datetime,
) -> Json:
    """`recording.completed` from GET /meetings/{meetingId}/recordings.

    The event requires `host_email`, which that response lacks, and carries a top-level
    `download_token` with which the receiver may fetch the files without OAuth.
    """
    obj: Json = {
        "account_id": account_id,
        "password": "",
        "share_url": "",
        **_pick(recording, _RECORDING),
        "id": int(recording["id"]),
        "type": int(recording["type"]),  # a string ("2") in REST, an integer in the event
        "host_email": host_email,
        "recording_files": [_file(f, _RECORDING_FILE) for f in recording["recording_files"]],
    }
    if audio := recording.get("participant_audio_files"):
        obj["participant_audio_files"] = [_file(f, _AUDIO_FILE) for f in audio]
    return _account_event("recording.completed", now, account_id, obj,
                          download_token=download_token)


# --- users -----------------------------------------------------------------------------


def _user(user: Mapping[str, Any]) -> Json:
    # user.activated/deactivated require both names; Zoom keeps "" for an unset one.
    names = {"first_name": user.get("first_name") or "", "last_name": user.get("last_name") or ""}
    return {"id": user["id"], **names, "email": user["email"], "type": user["type"]}


def _profile(user: Mapping[str, Any]) -> Json:
    # The event says `role` where GET /users/{userId} says `role_name`.
    if "role" not in user and "role_name" in user:
        return {**user, "role": user["role_name"]}
    return dict(user)


def user_created(
    user: Mapping[str, Any],
    *,
    account_id: str,
    operator: Mapping[str, Any],
    now: datetime,
    creation_type: str = "create",
) -> Json:
    """`user.created`; `creation_type` is create, ssoCreate, autoCreate or custCreate."""
    obj = {**_user(user), **_pick(user, ["display_name"])}
    payload = _by(account_id, operator, obj, creation_type=creation_type)
    return _body("user.created", now, payload)


def user_updated(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    account_id: str,
    operator: Mapping[str, Any],
    now: datetime,
    operation: str | None = None,
) -> Json:
    """`user.updated` with the id and only the changed profile fields.

    `operation` is set only for change_password and sign_out_from_all_devices.
    """
    old_p, new_p = _profile(old), _profile(new)
    changed = _changed(old_p, new_p, _USER_UPDATED)
    extra = {"operation": operation} if operation else {}
    payload = _by(account_id, operator, {"id": new["id"], **_pick(new_p, changed)}, **extra)
    old_obj = {"id": old["id"], **_pick(old_p, changed)}
    return _body(
        "user.updated", now, {**payload, "time_stamp": epoch_ms(now), "old_object": old_obj}
    )


def _user_event(
    event: str,
    user: Mapping[str, Any],
    *,
    account_id: str,
    operator: Mapping[str, Any],
    now: datetime,
) -> Json:
    """user.deleted, user.deactivated and user.activated: the user's id, names, email, type."""
    return _body(event, now, _by(account_id, operator, _user(user)))


user_deleted = partial(_user_event, "user.deleted")
user_deactivated = partial(_user_event, "user.deactivated")
user_activated = partial(_user_event, "user.activated")
