"""Which ids and streams a batch of Zoom events asks the applier to refresh."""

from __future__ import annotations

from datetime import date

from zoomsync.webhooks.events import plan


def ev(name: str, **obj: object) -> dict[str, object]:
    return {"event": name, "event_ts": 1, "payload": {"account_id": "a", "object": obj}}


def test_meeting_ids_are_normalised_whether_zoom_sends_an_int_or_a_string() -> None:
    refresh = plan([
        ev("meeting.created", id=85746065432, type=2),
        ev("meeting.started", id="85746065432", uuid="abc==", type=2),
        ev("meeting.updated", id=91234567890),
    ])
    assert refresh.meetings == {85746065432, 91234567890}
    assert refresh.instances == set()  # started: the instance is live, nothing to read yet
    assert refresh.streams() == ["meetings"]


def test_an_ended_meeting_refreshes_its_instance_and_participants() -> None:
    refresh = plan([
        ev("meeting.participant_joined", id="1", uuid="u/1==", participant={"user_id": "9"}),
        ev("meeting.ended", id="1", uuid="u/1==", type=2),
    ])
    assert refresh.meetings == {1}
    assert refresh.instances == {"u/1=="}
    # Polls and Q&A are final once the meeting ends: read with the participants.
    assert refresh.streams() == ["meetings", "past_meetings", "meeting_participants",
                                 "meeting_poll_results", "meeting_qa"]


def test_participants_alone_do_not_read_polls_and_qa() -> None:
    refresh = plan([ev("meeting.participant_left", id="1", uuid="u/1==",
                       participant={"user_id": "9"})])
    assert refresh.streams() == ["past_meetings", "meeting_participants"]


def test_registration_events_refresh_the_definitions_registrants() -> None:
    refresh = plan([
        ev("meeting.registration_created", id=777, registrant={"id": "r1"}),
        ev("webinar.registration_cancelled", id="888", registrant={"id": "r2"}),
        ev("webinar.ended", id="888", uuid="w==", type=5),
    ])
    assert refresh.registrations == {777} and refresh.webinar_registrations == {888}
    assert refresh.streams() == ["meetings", "meeting_registrants", "webinars",
                                 "webinar_registrants", "past_webinars",
                                 "webinar_participants", "webinar_absentees",
                                 "webinar_poll_results", "webinar_qa"]


def test_instant_meetings_have_no_definition_to_refresh() -> None:
    refresh = plan([ev("meeting.ended", id="5", uuid="i==", type=1)])
    assert refresh.meetings == set() and refresh.instances == {"i=="}


def test_users_recordings_groups_and_unknown_events() -> None:
    refresh = plan([
        ev("user.deactivated", id="U1", email="a@b.c"),
        ev("user.settings_updated", id="U2"),
        ev("recording.completed", uuid="r==", host_id="H1", start_time="2026-11-20T10:00:00Z"),
        ev("recording.trashed", uuid="old==", host_id="H1", start_time="2026-10-01T10:00:00Z"),
        ev("group.member_added", id="G1"),
        ev("chat_message.sent", id="x"),
        {"event": "meeting.updated", "event_ts": 1, "payload": {"object": {"id": "not-a-number"}}},
    ])
    assert refresh.users == {"U1", "U2"} and refresh.user_settings == {"U2"}
    assert refresh.recording_hosts == {"H1"} and refresh.gone_recordings == {"old=="}
    assert refresh.recordings_since == date(2026, 9, 30)
    assert refresh.groups == {"G1"}
    assert refresh.ignored == 2
    assert refresh.streams() == ["users", "groups", "group_members", "user_settings",
                                 "recordings"]
