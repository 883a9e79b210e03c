"""Zoom webhooks: signing, event bodies shaped like Zoom's webhook specs, and a sender.

Zoom's rules (https://developers.zoom.us/docs/api/webhooks/):
- every POST carries `x-zm-request-timestamp` (epoch seconds) and
  `x-zm-signature: v0=<hex HMAC-SHA256(secret_token, "v0:<timestamp>:<raw body>")>`;
- when a subscription is saved, Zoom POSTs `endpoint.url_validation` and expects
  `{"plainToken", "encryptedToken": hex HMAC-SHA256(secret_token, plainToken)}` within 3 s;
- a non-2xx answer, or none within 3 s, is a failure: Zoom retries 3 more times (about
  5, 20 and 60 minutes apart), then drops the event. Events may come twice or out of order.

Each event's schema is `webhooks.<event>.post.requestBody.content["application/json"].schema`
in Zoom's meetings and users webhook documents.
"""

from __future__ import annotations

import enum
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import random
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from zoomsync.emulator.clock import Clock

logger = logging.getLogger("zoomsync.emulator.webhooks")

Json = dict[str, Any]

USER_AGENT = "Zoom Marketplace/1.0a"
ZOOM_RETRY_DELAYS = (300.0, 1200.0, 3600.0)  # seconds before retries 1, 2 and 3


# --- signing ---------------------------------------------------------------------------


def _hmac_hex(secret_token: str, message: bytes) -> str:
    return hmac.new(secret_token.encode(), message, hashlib.sha256).hexdigest()


def sign(secret_token: str, timestamp: str, body: bytes) -> str:
    """The `x-zm-signature` of the raw `body` sent with `x-zm-request-timestamp: timestamp`."""
    return "v0=" + _hmac_hex(secret_token, b"v0:" + timestamp.encode() + b":" + body)


def verify(secret_token: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether `signature` matches the raw `body`, compared in constant time."""
    return hmac.compare_digest(sign(secret_token, timestamp, body), signature)


def url_validation_response(secret_token: str, plain_token: str) -> dict[str, str]:
    """The answer Zoom expects to an `endpoint.url_validation` challenge."""
    return {
        "plainToken": plain_token,
        "encryptedToken": _hmac_hex(secret_token, plain_token.encode()),
    }


# --- event bodies ----------------------------------------------------------------------
#
# Builders take Zoom's REST shapes and keep the fields the event schema names. Most
# started/ended/participant/user/recording schemas set `additionalProperties: false`,
# so a REST dict passed through would not look like what Zoom sends.

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


def _changed(old: Mapping[str, Any], new: Mapping[str, Any], keys: Iterable[str]) -> list[str]:
    return [k for k in keys if new.get(k) is not None and new.get(k) != old.get(k)]


def _scheduled(item: Mapping[str, Any], keys: Iterable[str]) -> Json:
    obj = _pick(item, keys)
    # The schema requires these two settings; REST may leave them out when they are off.
    settings = _pick(item.get("settings") or {}, _CREATED_SETTINGS)
    obj["settings"] = {"use_pmi": False, "alternative_hosts": "", **settings}
    return obj


def _update(
    account_id: str,
    operator: Mapping[str, Any],
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    keys: Iterable[str],
    now: datetime,
    scope: str,
) -> Json:
    """A meeting.updated/webinar.updated payload: the id plus only what changed.

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
    return {**payload, "old_object": old_obj, "time_stamp": epoch_ms(now)}


def _instance(instance: Mapping[str, Any]) -> Json:
    # The spec types the meeting id as a string in started/ended/participant events,
    # but as an integer in created/updated/deleted.
    return {"id": str(instance["id"]), **_pick(instance, _INSTANCE)}


def meeting_created(
    meeting: Mapping[str, Any],
    *,
    account_id: str,
    operator: Mapping[str, Any],
    now: datetime,
    operation: str = "single",
) -> Json:
    """`meeting.created` from a meeting as GET /meetings/{meetingId} returns it."""
    obj = _scheduled(meeting, _MEETING_CREATED)
    return _body("meeting.created", now, _by(account_id, operator, obj, operation=operation))


def meeting_updated(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    account_id: str,
    operator: Mapping[str, Any],
    now: datetime,
    scope: str = "single",
) -> Json:
    """`meeting.updated` from the meeting before and after the change."""
    payload = _update(account_id, operator, old, new, _MEETING_UPDATED, now, scope)
    return _body("meeting.updated", now, payload)


def meeting_deleted(
    meeting: Mapping[str, Any],
    *,
    account_id: str,
    operator: Mapping[str, Any],
    now: datetime,
    operation: str = "single",
) -> Json:
    obj = _pick(meeting, _DELETED)
    return _body("meeting.deleted", now, _by(account_id, operator, obj, operation=operation))


def meeting_started(instance: Mapping[str, Any], *, account_id: str, now: datetime) -> Json:
    """`meeting.started` from a past instance as GET /past_meetings/{meetingUUID} returns it."""
    return _body("meeting.started", now, {"account_id": account_id, "object": _instance(instance)})


def meeting_ended(instance: Mapping[str, Any], *, account_id: str, now: datetime) -> Json:
    obj = {**_instance(instance), "end_time": instance["end_time"]}
    return _body("meeting.ended", now, {"account_id": account_id, "object": obj})


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


def participant_joined(
    instance: Mapping[str, Any], segment: Mapping[str, Any], *, account_id: str, now: datetime
) -> Json:
    """`meeting.participant_joined` from one join segment of GET .../participants."""
    participant = {**_participant(segment), "join_time": segment["join_time"]}
    obj = {**_instance(instance), "participant": participant}
    return _body("meeting.participant_joined", now, {"account_id": account_id, "object": obj})


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
    obj = {**_instance(instance), "participant": participant}
    return _body("meeting.participant_left", now, {"account_id": account_id, "object": obj})


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
    payload = {"account_id": account_id, "object": obj}
    return _body("recording.completed", now, payload, download_token=download_token)


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


def user_deleted(
    user: Mapping[str, Any], *, account_id: str, operator: Mapping[str, Any], now: datetime
) -> Json:
    return _body("user.deleted", now, _by(account_id, operator, _user(user)))


def user_deactivated(
    user: Mapping[str, Any], *, account_id: str, operator: Mapping[str, Any], now: datetime
) -> Json:
    return _body("user.deactivated", now, _by(account_id, operator, _user(user)))


def user_activated(
    user: Mapping[str, Any], *, account_id: str, operator: Mapping[str, Any], now: datetime
) -> Json:
    return _body("user.activated", now, _by(account_id, operator, _user(user)))


def webinar_created(
    webinar: Mapping[str, Any],
    *,
    account_id: str,
    operator: Mapping[str, Any],
    now: datetime,
    operation: str = "single",
) -> Json:
    """`webinar.created` from GET /webinars/{webinarId}, which also has `creation_source`."""
    obj = {"creation_source": "open_api", "timezone": "", **_scheduled(webinar, _WEBINAR_CREATED)}
    obj["settings"] = _pick(obj["settings"], ["use_pmi", "alternative_hosts"])
    return _body("webinar.created", now, _by(account_id, operator, obj, operation=operation))


def webinar_updated(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    account_id: str,
    operator: Mapping[str, Any],
    now: datetime,
    scope: str = "single",
) -> Json:
    payload = _update(account_id, operator, old, new, _WEBINAR_UPDATED, now, scope)
    return _body("webinar.updated", now, payload)


def webinar_deleted(
    webinar: Mapping[str, Any],
    *,
    account_id: str,
    operator: Mapping[str, Any],
    now: datetime,
    operation: str = "single",
) -> Json:
    obj = _pick(webinar, _DELETED)
    return _body("webinar.deleted", now, _by(account_id, operator, obj, operation=operation))


def webinar_ended(instance: Mapping[str, Any], *, account_id: str, now: datetime) -> Json:
    """`webinar.ended` from a past webinar instance; unlike meeting.ended, timezone is required."""
    obj = {"timezone": "", **_instance(instance), **_pick(instance, ["end_time"])}
    return _body("webinar.ended", now, {"account_id": account_id, "object": obj})


# --- delivery --------------------------------------------------------------------------


class _Unset(enum.Enum):
    TOKEN = enum.auto()


_UNSET = _Unset.TOKEN

_COUNTERS = (
    "emitted",
    "recorded",
    "attempts",
    "delivered",
    "failed_attempts",
    "retries",
    "dropped",
    "duplicated",
    "reordered",
    "validations_passed",
    "validations_failed",
)


@dataclass
class _Delivery:
    id: int
    event: str
    body: bytes  # serialised once, so every attempt sends and signs the same bytes
    duplicate_of: int | None = None
    status: str = "pending"  # pending, retrying, delivered, dropped or recorded
    attempts: int = 0
    status_code: int | None = None
    last_error: str | None = None

    def as_dict(self) -> Json:
        return {
            "id": self.id,
            "event": self.event,
            "status": self.status,
            "attempts": self.attempts,
            "status_code": self.status_code,
            "last_error": self.last_error,
            "duplicate_of": self.duplicate_of,
            "body": json.loads(self.body),
        }


class WebhookSender:
    """Delivers events to one endpoint the way Zoom does, from a background thread.

    `emit` only queues. Retry delays run on real (monotonic) time rather than the
    emulator clock, so a retry fires even when nobody moves the clock; the clock gives
    the `x-zm-request-timestamp`. With `url=None` events are recorded, not sent.

    Fault knobs, drawn from `random.Random(seed)`: `duplicate_rate` is the chance that
    an event is delivered twice; `reorder` is the chance that it is held back
    `reorder_delay` seconds, so that events emitted just after it overtake it.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        url: str | None,
        secret_token: str,
        retry_delays: tuple[float, ...] = ZOOM_RETRY_DELAYS,
        timeout: float = 3.0,
        duplicate_rate: float = 0.0,
        reorder: float = 0.0,
        reorder_delay: float = 0.5,
        seed: int | None = None,
        history: int = 1000,
    ) -> None:
        self._clock = clock
        self._url = url
        self._secret_token = secret_token
        self._retry_delays = tuple(retry_delays)
        self._timeout = timeout
        self._duplicate_rate = duplicate_rate
        self._reorder = reorder
        self._reorder_delay = reorder_delay
        self._rng = random.Random(seed)
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, _Delivery]] = []  # a heap ordered by due time
        self._in_flight = 0
        self._closed = False
        self._history: deque[_Delivery] = deque(maxlen=history)
        self._counts: Counter[str] = Counter(dict.fromkeys(_COUNTERS, 0))
        self._client = httpx.Client(timeout=timeout)
        self._thread = threading.Thread(target=self._run, name="zoom-webhooks", daemon=True)
        self._thread.start()

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # public API

    def configure(
        self,
        *,
        url: str | _Unset | None = _UNSET,
        secret_token: str | _Unset = _UNSET,
    ) -> None:
        """Change the endpoint or the secret; queued events and retries use the new ones."""
        with self._cond:
            if not isinstance(url, _Unset):
                self._url = url
            if not isinstance(secret_token, _Unset):
                self._secret_token = secret_token

    def emit(self, event_body: Json) -> None:
        body = json.dumps(event_body, separators=(",", ":")).encode()
        event = str(event_body["event"])
        with self._cond:
            if self._closed:
                raise RuntimeError("the webhook sender is closed")
            self._counts["emitted"] += 1
            delivery = self._record(event, body)
            if self._url is None:
                delivery.status = "recorded"
                self._counts["recorded"] += 1
                return
            delay = 0.0
            if self._rng.random() < self._reorder:
                delay = self._reorder_delay
                self._counts["reordered"] += 1
            self._schedule(delivery, delay)
            if self._rng.random() < self._duplicate_rate:
                self._counts["duplicated"] += 1
                self._schedule(self._record(event, body, duplicate_of=delivery.id), delay)

    def validate_endpoint(self) -> bool:
        """Send Zoom's `endpoint.url_validation` challenge and check the answer."""
        with self._cond:
            url, secret_token = self._url, self._secret_token
        if url is None:
            return False
        plain_token = secrets.token_urlsafe(16)
        body = json.dumps(
            {
                "payload": {"plainToken": plain_token},
                "event_ts": epoch_ms(self._clock.now()),
                "event": "endpoint.url_validation",
            },
            separators=(",", ":"),
        ).encode()
        expected = url_validation_response(secret_token, plain_token)
        try:
            with httpx.Client(timeout=self._timeout) as client:
                response = client.post(url, content=body, headers=self._headers(secret_token, body))
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("url validation of %s failed: %s", url, exc)
            ok = False
        else:
            ok = (
                response.status_code == 200
                and isinstance(answer, dict)
                and answer.get("plainToken") == plain_token
                and hmac.compare_digest(
                    str(answer.get("encryptedToken", "")), expected["encryptedToken"]
                )
            )
            if not ok:
                logger.warning("url validation of %s failed: HTTP %s", url, response.status_code)
        with self._cond:
            self._counts["validations_passed" if ok else "validations_failed"] += 1
        return ok

    def flush(self, timeout: float) -> bool:
        """Wait until nothing is queued, retrying or in flight; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._in_flight, timeout)

    def deliveries(self) -> list[Json]:
        with self._cond:
            return [d.as_dict() for d in self._history]

    def counters(self) -> dict[str, int]:
        with self._cond:
            return {**self._counts, "pending": len(self._queue) + self._in_flight}

    def close(self) -> None:
        """Stop the thread; events still queued are abandoned (call flush first)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._thread.join(self._timeout + 1.0)
        self._client.close()

    # internals; callers of _record and _schedule hold the lock

    def _record(self, event: str, body: bytes, duplicate_of: int | None = None) -> _Delivery:
        delivery = _Delivery(next(self._ids), event, body, duplicate_of)
        self._history.append(delivery)
        return delivery

    def _schedule(self, delivery: _Delivery, delay: float) -> None:
        heapq.heappush(self._queue, (time.monotonic() + delay, delivery.id, delivery))
        self._cond.notify_all()

    def _headers(self, secret_token: str, body: bytes) -> dict[str, str]:
        # Each attempt gets a fresh timestamp, so it is signed afresh.
        timestamp = str(int(self._clock.timestamp()))
        return {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "x-zm-request-timestamp": timestamp,
            "x-zm-signature": sign(secret_token, timestamp, body),
        }

    def _run(self) -> None:
        while (delivery := self._next_due()) is not None:
            try:
                status_code, error = self._attempt(delivery)
            except Exception as exc:  # a bug here must not stop the thread and hang flush()
                logger.exception("webhook delivery %s crashed", delivery.id)
                status_code, error = None, f"internal error: {exc!r}"
            self._settle(delivery, status_code, error)

    def _next_due(self) -> _Delivery | None:
        with self._cond:
            while not self._closed:
                wait = self._queue[0][0] - time.monotonic() if self._queue else None
                if wait is not None and wait <= 0:
                    self._in_flight += 1
                    return heapq.heappop(self._queue)[2]
                self._cond.wait(wait)
            return None

    def _attempt(self, delivery: _Delivery) -> tuple[int | None, str | None]:
        with self._cond:
            url, secret_token = self._url, self._secret_token
        if url is None:  # the endpoint was removed while this event waited
            return None, None
        headers = self._headers(secret_token, delivery.body)
        try:
            response = self._client.post(url, content=delivery.body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        if response.is_success:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    def _settle(self, delivery: _Delivery, status_code: int | None, error: str | None) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()
            if status_code is None and error is None:
                delivery.status = "recorded"
                self._counts["recorded"] += 1
                return
            delivery.attempts += 1
            delivery.status_code = status_code
            delivery.last_error = error
            self._counts["attempts"] += 1
            if error is None:
                delivery.status = "delivered"
                self._counts["delivered"] += 1
                return
            self._counts["failed_attempts"] += 1
            if delivery.attempts <= len(self._retry_delays):
                delivery.status = "retrying"
                self._counts["retries"] += 1
                self._schedule(delivery, self._retry_delays[delivery.attempts - 1])
                return
            delivery.status = "dropped"
            self._counts["dropped"] += 1
            logger.warning(
                "dropped %s (delivery %s) after %s attempts: %s",
                delivery.event,
                delivery.id,
                delivery.attempts,
                error,
            )
