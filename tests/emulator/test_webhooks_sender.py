"""The emulator's webhook sender against a tiny local receiver, and its event bodies
against Zoom's webhook specs."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.emulator.webhook_receiver import SECRET, Receiver, expected_signature
from tests.spec_validator import spec_dir
from zoomsync.emulator import webhook_events, webhooks
from zoomsync.emulator.clock import Clock
from zoomsync.emulator.webhooks import WebhookSender

pytestmark = pytest.mark.timeout(20)

FAST = (0.05, 0.1, 0.2)
START = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def make_sender() -> Iterator[Callable[..., WebhookSender]]:
    senders: list[WebhookSender] = []

    def make(url: str | None, **kwargs: Any) -> WebhookSender:
        kwargs.setdefault("retry_delays", FAST)
        kwargs.setdefault("timeout", 1.0)
        sender = WebhookSender(
            kwargs.pop("clock", Clock(START)), url=url, secret_token=SECRET, **kwargs
        )
        senders.append(sender)
        return sender

    yield make
    for sender in senders:
        sender.close()


# --- Zoom-shaped REST objects ----------------------------------------------------------

ACCOUNT = "lAAAAAAAAAAAAAAAAAAAAA"
ADMIN = {"id": "z8yCxjabcdEFGHfp8uQAAA", "email": "admin@example.com", "type": 2}
HOST = {
    "id": "KDcuGIm1QgePTO8WbOqwIQ",
    "first_name": "Jill",
    "last_name": "Chill",
    "display_name": "Jill Chill",
    "email": "jill@example.com",
    "type": 2,
    "pmi": 3542471135,
    "use_pmi": False,
    "timezone": "America/Los_Angeles",
    "verified": 1,
    "dept": "Sales",
    "created_at": "2023-05-01T10:00:00Z",
    "last_login_time": "2024-01-01T09:00:00Z",
    "pic_url": "https://example.com/p.jpg",
    "language": "en-US",
    "phone_number": "",
    "status": "active",
    "role_id": "2",
    "role_name": "Member",
    "account_id": ACCOUNT,
    "group_ids": [],
    "im_group_ids": [],
    "login_types": [100],
    "personal_meeting_url": "",
}
MEETING = {
    "uuid": "aDYlohsHRtCd4ii1uC2+hA==",
    "id": 85746065432,
    "host_id": HOST["id"],
    "host_email": HOST["email"],
    "assistant_id": "",
    "topic": "Weekly sync",
    "type": 8,
    "status": "waiting",
    "start_time": "2024-01-02T15:00:00Z",
    "duration": 60,
    "timezone": "America/Los_Angeles",
    "agenda": "Numbers",
    "created_at": "2024-01-01T10:00:00Z",
    "join_url": "https://us06web.zoom.us/j/85746065432?pwd=abc",
    "password": "abc123",
    "h323_password": "123456",
    "pstn_password": "123456",
    "encrypted_password": "abc",
    "pre_schedule": False,
    "occurrences": [
        {
            "occurrence_id": "1704207600000",
            "start_time": "2024-01-02T15:00:00Z",
            "duration": 60,
            "status": "available",
        }
    ],
    "recurrence": {"type": 2, "repeat_interval": 1, "weekly_days": "3", "end_times": 4},
    "settings": {
        "host_video": True,
        "participant_video": False,
        "join_before_host": False,
        "jbh_time": 0,
        "mute_upon_entry": True,
        "use_pmi": False,
        "approval_type": 2,
        "audio": "both",
        "auto_recording": "cloud",
        "alternative_hosts": "",
        "waiting_room": True,
        "focus_mode": False,
        "email_notification": True,
    },
    "tracking_fields": [{"field": "cost center", "value": "42", "visible": True}],
}
INSTANCE = {
    "uuid": MEETING["uuid"],
    "id": MEETING["id"],
    "host_id": HOST["id"],
    "topic": "Weekly sync",
    "type": 8,
    "start_time": "2024-01-02T15:01:10Z",
    "end_time": "2024-01-02T15:59:40Z",
    "duration": 59,
    "timezone": "America/Los_Angeles",
    "total_minutes": 120,
    "participants_count": 3,
    "user_email": HOST["email"],
    "user_name": "Jill Chill",
    "dept": "Sales",
    "source": "Zoom",
}
MEMBER = {
    "id": HOST["id"],
    "user_id": "16778240",
    "name": "Jill Chill",
    "user_email": HOST["email"],
    "join_time": "2024-01-02T15:01:10Z",
    "leave_time": "2024-01-02T15:59:40Z",
    "duration": 3510,
    "registrant_id": "",
    "failover": False,
    "status": "in_meeting",
    "internal_user": True,
}
GUEST = {
    **MEMBER,
    "id": "",
    "user_id": "16779264",
    "name": "Visitor",
    "user_email": "",
    "internal_user": False,
}
RECORDING = {
    "uuid": MEETING["uuid"],
    "id": MEETING["id"],
    "account_id": ACCOUNT,
    "host_id": HOST["id"],
    "topic": "Weekly sync",
    "type": "8",
    "start_time": "2024-01-02T15:01:10Z",
    "duration": 59,
    "total_size": 246560,
    "recording_count": 2,
    "password": "",
    "share_url": "https://us06web.zoom.us/rec/share/abc",
    "recording_play_passcode": "yNYIS4",
    "download_access_token": "eyJ0eXAiOiJKV1QifQ.e30.sig",
    "recording_files": [
        {
            "id": "ed6c2f27-2ae7-42f4-b3d0-835b493e4fa8",
            "meeting_id": MEETING["uuid"],
            "recording_start": "2024-01-02T15:01:12Z",
            "recording_end": "2024-01-02T15:59:40Z",
            "file_type": "M4A",
            "file_extension": "M4A",
            "file_size": 246560.0,
            "play_url": "https://us06web.zoom.us/rec/play/a",
            "download_url": "https://us06web.zoom.us/rec/download/a",
            "status": "completed",
            "recording_type": "audio_only",
        },
        {
            "id": "388ffb46-1541-460d-8447-4624451a1db7",
            "meeting_id": MEETING["uuid"],
            "recording_start": "2024-01-02T15:01:12Z",
            "recording_end": "2024-01-02T15:59:40Z",
            "file_type": "MP4",
            "file_extension": "MP4",
            "file_size": 282825,
            "play_url": "https://us06web.zoom.us/rec/play/b",
            "download_url": "https://us06web.zoom.us/rec/download/b",
            "status": "completed",
            "recording_type": "shared_screen_with_speaker_view",
            "deleted_time": "",
        },
    ],
}
WEBINAR = {
    "uuid": "Bb3kY7nPQbu0eW8lDY4QzA==",
    "id": 97871060099,
    "host_id": HOST["id"],
    "host_email": HOST["email"],
    "topic": "Launch",
    "type": 5,
    "start_time": "2024-02-01T17:00:00Z",
    "duration": 90,
    "timezone": "UTC",
    "agenda": "",
    "created_at": "2024-01-05T10:00:00Z",
    "join_url": "https://us06web.zoom.us/j/97871060099",
    "password": "w1",
    "creation_source": "web_portal",
    "is_simulive": False,
    "settings": {
        "host_video": True,
        "panelists_video": True,
        "practice_session": False,
        "approval_type": 2,
        "audio": "both",
        "auto_recording": "none",
    },
}
WEBINAR_INSTANCE = {
    "uuid": WEBINAR["uuid"],
    "id": WEBINAR["id"],
    "host_id": HOST["id"],
    "topic": "Launch",
    "type": 5,
    "start_time": "2024-02-01T17:00:05Z",
    "end_time": "2024-02-01T18:31:00Z",
    "duration": 91,
    "timezone": "UTC",
}


def _changed(item: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(item)
    out.update({k: v for k, v in changes.items() if k != "settings"})
    out["settings"] = {**item.get("settings", {}), **changes.get("settings", {})}
    return out


NOW = datetime(2024, 1, 2, 16, 0, tzinfo=UTC)
OP = {"account_id": ACCOUNT, "operator": ADMIN, "now": NOW}
EV = {"account_id": ACCOUNT, "now": NOW}

BUILT: dict[str, Callable[[], dict[str, Any]]] = {
    "meeting.created": lambda: webhook_events.meeting_created(MEETING, **OP),
    "meeting.updated": lambda: webhook_events.meeting_updated(
        MEETING,
        _changed(
            MEETING,
            topic="Weekly sync (moved)",
            duration=45,
            settings={"waiting_room": False, "focus_mode": True},
        ),
        **OP,
    ),
    "meeting.deleted": lambda: webhook_events.meeting_deleted(MEETING, **OP),
    "meeting.started": lambda: webhook_events.meeting_started(INSTANCE, **EV),
    "meeting.ended": lambda: webhook_events.meeting_ended(INSTANCE, **EV),
    "meeting.participant_joined": lambda: webhook_events.participant_joined(INSTANCE, MEMBER, **EV),
    "meeting.participant_left": lambda: webhook_events.participant_left(INSTANCE, MEMBER, **EV),
    "recording.completed": lambda: webhook_events.recording_completed(
        RECORDING, host_email=HOST["email"], download_token="eyJhbGciOi.e30.sig", **EV
    ),
    "user.created": lambda: webhook_events.user_created(HOST, **OP),
    "user.updated": lambda: webhook_events.user_updated(
        HOST, {**HOST, "last_name": "Hill", "dept": "Ops", "role_name": "Admin"}, **OP
    ),
    "user.deleted": lambda: webhook_events.user_deleted(HOST, **OP),
    "user.deactivated": lambda: webhook_events.user_deactivated(HOST, **OP),
    "user.activated": lambda: webhook_events.user_activated(HOST, **OP),
    "webinar.created": lambda: webhook_events.webinar_created(WEBINAR, **OP),
    "webinar.updated": lambda: webhook_events.webinar_updated(
        WEBINAR, _changed(WEBINAR, topic="Launch 2", settings={"practice_session": True}), **OP
    ),
    "webinar.deleted": lambda: webhook_events.webinar_deleted(WEBINAR, **OP),
    "webinar.ended": lambda: webhook_events.webinar_ended(WEBINAR_INSTANCE, **EV),
}


# --- the webhook specs -----------------------------------------------------------------


def _fix_dangling_refs(node: Any) -> int:
    """Point `#/paths/...` refs at `#/webhooks/...`, where the targets really are."""
    fixed = 0
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/paths/"):
            node["$ref"] = "#/webhooks/" + ref.removeprefix("#/paths/")
            fixed += 1
        fixed += sum(_fix_dangling_refs(v) for v in node.values())
    elif isinstance(node, list):
        fixed += sum(_fix_dangling_refs(v) for v in node)
    return fixed


@pytest.fixture(scope="module")
def event_schemas() -> Callable[[str], Draft202012Validator]:
    directory = spec_dir()
    if not (directory / "meetings.webhooks.json").exists():
        pytest.skip(f"Zoom webhook specs not found in {directory} (set ZOOMSYNC_OPENAPI_DIR)")
    registry: Registry[Any] = Registry()
    owner: dict[str, str] = {}
    for name in ("meetings.webhooks.json", "users.webhooks.json"):
        doc = json.loads((directory / name).read_text())
        fixed = _fix_dangling_refs(doc)
        assert fixed == (6 if name == "meetings.webhooks.json" else 0), (name, fixed)
        uri = f"urn:zoom:{name}"
        registry = registry.with_resource(uri, DRAFT202012.create_resource(doc))
        owner.update(dict.fromkeys(doc["webhooks"], uri))

    def validator(event: str) -> Draft202012Validator:
        # Where the body schema lives; responses["200"] repeats the same schema.
        pointer = f"#/webhooks/{event}/post/requestBody/content/application~1json/schema"
        return Draft202012Validator(
            {"$ref": owner[event] + pointer},
            registry=registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    return validator


def _errors(validator: Draft202012Validator, body: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]


# --- signing ---------------------------------------------------------------------------


def test_sign_and_url_validation_match_the_documented_formulas() -> None:
    body = b'{"event":"meeting.started"}'
    assert webhooks.sign(SECRET, "1704164645", body) == expected_signature(
        SECRET, "1704164645", body
    )
    assert webhooks.verify(
        SECRET, "1704164645", body, expected_signature(SECRET, "1704164645", body)
    )
    assert not webhooks.verify(
        SECRET, "1704164646", body, webhooks.sign(SECRET, "1704164645", body)
    )
    digest = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert webhooks.url_validation_response(SECRET, "qgg8vlvZRS6UYooatFL8Aw") == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": digest,
    }


def test_delivery_is_signed_over_the_raw_bytes(receiver: Receiver, make_sender: Any) -> None:
    sender = make_sender(receiver.url, clock=Clock(START, frozen=True))
    event = BUILT["meeting.started"]()
    sender.emit(event)
    assert sender.flush(5)

    [hit] = receiver.hits
    timestamp = hit.headers["x-zm-request-timestamp"]
    assert timestamp == str(int(START.timestamp())) == "1704164645"  # epoch seconds, not ms
    assert hit.headers["x-zm-signature"] == expected_signature(SECRET, timestamp, hit.body)
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["user-agent"] == "Zoom Marketplace/1.0a"
    assert json.loads(hit.body) == event
    # Re-serialising the parsed body (the classic receiver bug) gives other bytes.
    assert json.dumps(json.loads(hit.body)).encode() != hit.body
    assert sender.deliveries()[0] | {"body": None} == {
        "id": 1,
        "event": "meeting.started",
        "status": "delivered",
        "attempts": 1,
        "status_code": 200,
        "last_error": None,
        "duplicate_of": None,
        "body": None,
    }


def test_url_validation_round_trip(receiver: Receiver, make_sender: Any) -> None:
    sender = make_sender(receiver.url)
    assert sender.validate_endpoint()
    [hit] = receiver.hits
    challenge = json.loads(hit.body)
    assert challenge["event"] == "endpoint.url_validation"
    assert isinstance(challenge["event_ts"], int)
    assert challenge["payload"]["plainToken"]
    receiver.validation_secret = "some other app's secret"
    assert not sender.validate_endpoint()
    assert sender.counters()["validations_passed"] == 1
    assert sender.counters()["validations_failed"] == 1
    assert not make_sender(None).validate_endpoint()


def test_url_validation_fails_on_an_error_status(receiver: Receiver, make_sender: Any) -> None:
    receiver.answer = lambda headers, body: (500, b"{}")  # type: ignore[method-assign]
    assert not make_sender(receiver.url).validate_endpoint()


# --- retries ---------------------------------------------------------------------------


def test_retries_on_500_until_success_re_signing_each_attempt(
    receiver: Receiver, make_sender: Any
) -> None:
    clock = Clock(START, frozen=True)
    receiver.statuses = [500, 500]
    receiver.on_hit = lambda: clock.advance(61)  # so each attempt has its own timestamp
    sender = make_sender(receiver.url, clock=clock)
    sender.emit(BUILT["meeting.ended"]())
    assert sender.flush(5)

    assert len(receiver.hits) == 3
    assert len({hit.body for hit in receiver.hits}) == 1
    timestamps = [hit.headers["x-zm-request-timestamp"] for hit in receiver.hits]
    assert len(set(timestamps)) == 3
    for hit, timestamp in zip(receiver.hits, timestamps, strict=True):
        assert hit.headers["x-zm-signature"] == expected_signature(SECRET, timestamp, hit.body)
    [delivery] = sender.deliveries()
    assert (delivery["status"], delivery["attempts"], delivery["status_code"]) == (
        "delivered",
        3,
        200,
    )
    counters = sender.counters()
    assert (counters["retries"], counters["delivered"], counters["dropped"]) == (2, 1, 0)


def test_event_is_dropped_and_counted_after_three_retries(
    receiver: Receiver, make_sender: Any
) -> None:
    receiver.statuses = [500] * 10
    sender = make_sender(receiver.url)
    started = time.monotonic()
    sender.emit(BUILT["meeting.deleted"]())
    assert sender.flush(5)
    assert time.monotonic() - started >= sum(FAST)  # the retry delays were honoured

    time.sleep(0.3)
    assert len(receiver.hits) == 4  # the first attempt and 3 retries, then nothing
    [delivery] = sender.deliveries()
    assert delivery["status"] == "dropped"
    assert delivery["attempts"] == 4
    assert delivery["status_code"] == 500
    assert delivery["last_error"] == "HTTP 500"
    counters = sender.counters()
    assert (counters["dropped"], counters["attempts"], counters["pending"]) == (1, 4, 0)


def test_a_slow_answer_counts_as_a_failure(receiver: Receiver, make_sender: Any) -> None:
    receiver.delays = [0.5]  # only the first answer is slow
    sender = make_sender(receiver.url, timeout=0.2)
    sender.emit(BUILT["user.created"]())
    assert sender.flush(5)
    [delivery] = sender.deliveries()
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 2


def test_unreachable_endpoint_is_retried_then_dropped(make_sender: Any) -> None:
    sender = make_sender("http://127.0.0.1:9/nothing-listens-here")
    sender.emit(BUILT["user.deleted"]())
    assert sender.flush(5)
    [delivery] = sender.deliveries()
    assert delivery["status"] == "dropped"
    assert delivery["status_code"] is None
    assert delivery["last_error"].startswith("ConnectError")


# --- recording, configuration and faults -----------------------------------------------


def test_without_url_events_are_recorded_not_sent(receiver: Receiver, make_sender: Any) -> None:
    sender = make_sender(None)
    sender.emit(BUILT["user.updated"]())
    assert sender.flush(1)
    [recorded] = sender.deliveries()
    assert recorded["status"] == "recorded"
    assert recorded["body"]["event"] == "user.updated"

    sender.configure(url=receiver.url, secret_token="rotated")
    sender.emit(BUILT["user.activated"]())
    assert sender.flush(5)
    [hit] = receiver.hits  # the recorded event is not sent late
    timestamp = hit.headers["x-zm-request-timestamp"]
    assert hit.headers["x-zm-signature"] == expected_signature("rotated", timestamp, hit.body)
    assert sender.counters()["recorded"] == 1
    assert sender.counters()["delivered"] == 1


def test_duplicates(receiver: Receiver, make_sender: Any) -> None:
    sender = make_sender(receiver.url, duplicate_rate=1.0, seed=7)
    sender.emit(BUILT["meeting.participant_joined"]())
    assert sender.flush(5)
    assert len(receiver.hits) == 2
    assert receiver.hits[0].body == receiver.hits[1].body
    original, duplicate = sender.deliveries()
    assert duplicate["duplicate_of"] == original["id"]
    assert sender.counters()["duplicated"] == 1


def test_reorder(receiver: Receiver, make_sender: Any) -> None:
    sender = make_sender(receiver.url, reorder=0.5, reorder_delay=0.3, seed=3)
    for n in range(10):
        sender.emit({**BUILT["meeting.started"](), "event_ts": n})
    assert sender.flush(5)
    arrived = [json.loads(hit.body)["event_ts"] for hit in receiver.hits]
    assert sorted(arrived) == list(range(10))
    assert arrived != sorted(arrived)
    assert 0 < sender.counters()["reordered"] < 10


def test_emit_after_close_is_an_error(make_sender: Any) -> None:
    sender = make_sender(None)
    sender.close()
    sender.close()
    with pytest.raises(RuntimeError):
        sender.emit(BUILT["user.created"]())


# --- event bodies against the specs ----------------------------------------------------


@pytest.mark.parametrize("event", sorted(BUILT))
def test_event_body_matches_its_webhook_schema(event: str, event_schemas: Any) -> None:
    body = BUILT[event]()
    assert body["event"] == event
    assert isinstance(body["event_ts"], int)
    assert body["payload"]["account_id"] == ACCOUNT
    assert _errors(event_schemas(event), body) == []
    assert json.loads(json.dumps(body)) == body  # plain JSON, nothing that needs a default


def test_meeting_id_type_follows_the_spec_quirk(event_schemas: Any) -> None:
    created, started = BUILT["meeting.created"](), BUILT["meeting.started"]()
    assert created["payload"]["object"]["id"] == 85746065432
    assert started["payload"]["object"]["id"] == "85746065432"
    # The other way round the schemas reject them.
    created["payload"]["object"]["id"] = "85746065432"
    started["payload"]["object"]["id"] = 85746065432
    assert _errors(event_schemas("meeting.created"), created)
    assert _errors(event_schemas("meeting.started"), started)


def test_updated_events_carry_only_what_changed() -> None:
    payload = BUILT["meeting.updated"]()["payload"]
    assert payload["scope"] == "single" and "operation" not in payload
    assert payload["time_stamp"] == webhook_events.epoch_ms(NOW)
    assert payload["object"] == {
        "id": MEETING["id"],
        "uuid": MEETING["uuid"],
        "topic": "Weekly sync (moved)",
        "duration": 45,
        "settings": {"waiting_room": False, "focus_mode": True},
    }
    assert payload["old_object"] == {
        "id": MEETING["id"],
        "topic": "Weekly sync",
        "duration": 60,
        "settings": {"waiting_room": True, "focus_mode": False},
    }
    user = BUILT["user.updated"]()["payload"]
    assert user["object"] == {"id": HOST["id"], "last_name": "Hill", "role": "Admin", "dept": "Ops"}
    assert user["old_object"] == {
        "id": HOST["id"],
        "last_name": "Chill",
        "role": "Member",
        "dept": "Sales",
    }


def test_recording_completed_shape() -> None:
    body = BUILT["recording.completed"]()
    assert body["download_token"] == "eyJhbGciOi.e30.sig"
    obj = body["payload"]["object"]
    assert (obj["id"], obj["type"], obj["host_email"]) == (MEETING["id"], 8, HOST["email"])
    assert [f["file_size"] for f in obj["recording_files"]] == [246560, 282825]
    assert "download_access_token" not in obj


def test_guest_participant_has_blank_ids_and_email(event_schemas: Any) -> None:
    body = webhook_events.participant_left(INSTANCE, GUEST, **EV, leave_reason="Removed by host.")
    participant = body["payload"]["object"]["participant"]
    assert (participant["id"], participant["participant_user_id"], participant["email"]) == (
        "",
        "",
        "",
    )
    assert participant["leave_reason"] == "Removed by host."
    # What Zoom really sends for a guest breaks the spec's `format: email`, and only that.
    assert _errors(event_schemas("meeting.participant_left"), body) == [
        "['payload', 'object', 'participant', 'email']: '' is not a 'email'"
    ]
