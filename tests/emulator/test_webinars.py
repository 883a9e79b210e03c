"""Webinars: scheduled objects, panelists, registrants, past instances, absentees, the plan."""

from __future__ import annotations

import pytest

from tests.emulator import asgi
from tests.emulator.asgi import ANCHOR, AsgiApi
from tests.emulator.crawl import encode_uuid
from tests.spec_validator import SpecValidator
from zoomsync.emulator import people
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.clock import iso
from zoomsync.emulator.dataset import Dataset, DatasetConfig, Definition, Instance
from zoomsync.emulator.routes_meetings import expired
from zoomsync.emulator.routes_past import PAST_FIELDS


def config() -> EmulatorConfig:
    # More webinar hosts than the default two, so that every webinar type and state shows up.
    return asgi.config(dataset=DatasetConfig(anchor=ANCHOR, webinar_hosts=5))


@pytest.fixture(scope="module")
def api() -> AsgiApi:
    return AsgiApi(config())


def webinars(ds: Dataset) -> list[Definition]:
    found = [d for d in ds.definitions.values() if d.kind == "webinar"]
    assert found, "the dataset has no webinars"
    return found


def recurring(ds: Dataset) -> Definition:
    return next(d for d in webinars(ds) if d.type == 9 and len(ended(ds, d)) > 3)


def ended(ds: Dataset, d: Definition) -> list[Instance]:
    return sorted((i for i in ds.instances_of(d.id) if i.ended(ANCHOR)), key=lambda i: i.start)


def checked(api: AsgiApi, spec: SpecValidator, template: str, path: str, **params: object) -> dict:
    body = api.ok(path, **params)
    spec.validate("GET", template, 200, body)
    return body


# -- scheduled webinars ---------------------------------------------------------------------


def test_user_webinars_lists_only_unexpired_webinars(api: AsgiApi, ds: Dataset,
                                                     spec: SpecValidator) -> None:
    listed_any = expired_any = False
    for user in ds.live_users():
        if user.status == "pending":
            continue
        body = checked(api, spec, "/users/{userId}/webinars", f"/users/{user.id}/webinars")
        want = {d.id for d in webinars(ds) if d.host_id == user.id and not expired(d, ANCHOR)}
        assert {w["id"] for w in body["webinars"]} == want
        assert body["total_records"] == len(want)
        # The deprecated page_number envelope is there, and the token marks the end.
        assert body["page_number"] == 1 and body["next_page_token"] == ""
        listed_any |= bool(want)
        expired_any |= any(d.host_id == user.id and expired(d, ANCHOR) for d in webinars(ds))
    assert listed_any and expired_any  # both sides of the rule were exercised


def test_user_webinars_type_is_checked_and_upcoming_is_a_subset(api: AsgiApi, ds: Dataset) -> None:
    d = recurring(ds)
    scheduled = api.ok(f"/users/{d.host_id}/webinars")["webinars"]
    upcoming = api.ok(f"/users/{d.host_id}/webinars", type="upcoming")["webinars"]
    assert {w["id"] for w in upcoming} <= {w["id"] for w in scheduled}
    assert d.id in {w["id"] for w in upcoming}  # it still has occurrences ahead
    assert api.error(f"/users/{d.host_id}/webinars", type="live")[:2] == (400, 300)
    assert api.error("/users/nobody@example.com/webinars")[:2] == (404, 1001)


def test_webinar_object_has_webinar_fields_not_meeting_ones(api: AsgiApi, ds: Dataset,
                                                            spec: SpecValidator) -> None:
    for d in webinars(ds):
        body = checked(api, spec, "/webinars/{webinarId}", f"/webinars/{d.id}")
        assert body["id"] == d.id and body["type"] == d.type and body["host_id"] == d.host_id
        assert body["is_simulive"] is False
        for meeting_only in ("status", "h323_password", "pstn_password", "assistant_id"):
            assert meeting_only not in body
        assert {"h323_passcode", "encrypted_passcode"} <= set(body)
        assert "panelists_video" in body["settings"] and "join_before_host" not in body["settings"]
        assert body["registration_url"].startswith("https://zoom.us/webinar/register/WN_")
    d = recurring(ds)
    body = api.ok(f"/webinars/{d.id}")
    assert [o["start_time"] for o in body["occurrences"]] == [iso(o) for o in d.occurrences]


def test_previous_occurrences_name_the_past_instances(api: AsgiApi, ds: Dataset) -> None:
    d = recurring(ds)
    body = api.ok(f"/webinars/{d.id}", show_previous_occurrences="true")
    ids = [o["occurrence_id"] for o in body["occurrences"]]
    past = [people.occurrence_id(people.occurrence_of(d, i)) for i in ended(ds, d)]  # type: ignore[arg-type]
    assert ids[: len(past)] == past and len(ids) == len(past) + len(d.occurrences)
    picked = api.ok(f"/webinars/{d.id}", occurrence_id=past[0])
    assert picked["start_time"] == iso(people.occurrence_of(d, ended(ds, d)[0]))  # type: ignore[arg-type]


def test_unknown_webinar_and_meeting_ids_are_404_3001(api: AsgiApi, ds: Dataset) -> None:
    meeting = next(d for d in ds.definitions.values() if d.kind == "meeting" and d.type == 2)
    for path in ("/webinars/{}", "/webinars/{}/panelists", "/webinars/{}/registrants",
                 "/webinars/{}/polls", "/past_webinars/{}/instances"):
        for key in (meeting.id, 12345678901):
            status, code, message = api.error(path.format(key))
            assert (status, code) == (404, 3001) and message.startswith("Webinar does not exist")


def test_panelists_are_deterministic_and_not_paginated(api: AsgiApi, ds: Dataset,
                                                       spec: SpecValidator) -> None:
    again = AsgiApi(config())
    for d in webinars(ds):
        body = checked(api, spec, "/webinars/{webinarId}/panelists", f"/webinars/{d.id}/panelists")
        assert body["panelists"] == people.panelists(ds, d) == again.ok(
            f"/webinars/{d.id}/panelists")["panelists"]
        assert 1 <= body["total_records"] == len(body["panelists"])
        assert "next_page_token" not in body


# -- registrants ----------------------------------------------------------------------------


def test_registrants_default_to_approved_and_every_status_adds_up(api: AsgiApi, ds: Dataset,
                                                                   spec: SpecValidator) -> None:
    for d in webinars(ds):
        every = people.registrants(ds, d)
        default = api.all_pages(f"/webinars/{d.id}/registrants", "registrants")
        assert {r["status"] for r in default} <= {"approved"}
        assert [r["id"] for r in default] == [r["id"] for r in every if r["status"] == "approved"]
        seen = []
        for status in ("approved", "pending", "denied"):
            body = checked(api, spec, "/webinars/{webinarId}/registrants",
                           f"/webinars/{d.id}/registrants", status=status, page_size=300)
            assert all(r["status"] == status for r in body["registrants"])
            assert all("participant_pin_code" not in r for r in body["registrants"])
            seen += [r["id"] for r in body["registrants"]]
        assert sorted(seen) == sorted(r["id"] for r in every)
    assert api.error(f"/webinars/{d.id}/registrants", status="cancelled")[:2] == (400, 300)


def test_registrants_page_by_token_and_by_page_number_alike(api: AsgiApi, ds: Dataset) -> None:
    d = max(webinars(ds), key=lambda d: len(people.registrants(ds, d)))
    by_token = api.all_pages(f"/webinars/{d.id}/registrants", "registrants", page_size=3)
    first = api.ok(f"/webinars/{d.id}/registrants", page_size=3)
    assert first["page_count"] >= 2 and first["next_page_token"]
    by_number = []
    for n in range(1, first["page_count"] + 1):
        by_number += api.ok(f"/webinars/{d.id}/registrants", page_size=3,
                            page_number=n)["registrants"]
    assert by_number == by_token and len(by_token) == first["total_records"]


def test_registrants_by_tracking_source_and_occurrence(api: AsgiApi, ds: Dataset) -> None:
    d = max(webinars(ds), key=lambda d: len(people.tracking_sources(ds, d)))
    sources = people.tracking_sources(ds, d)
    assert sources
    approved = api.ok(f"/webinars/{d.id}/registrants", page_size=300)["registrants"]
    via = people.registrant_sources(ds, d)
    total = 0
    for s in sources:
        rows = api.ok(f"/webinars/{d.id}/registrants", page_size=300,
                      tracking_source_id=s["id"])["registrants"]
        assert {r["id"] for r in rows} == {r["id"] for r in approved if via.get(r["id"]) == s["id"]}
        total += len(rows)
    assert total <= len(approved)
    assert api.ok(f"/webinars/{d.id}/registrants", tracking_source_id="nope")["registrants"] == []
    r = recurring(ds)
    future = people.occurrence_id(r.occurrences[0])
    assert api.ok(f"/webinars/{r.id}/registrants", occurrence_id=future)["total_records"] == len(
        [x for x in people.registrants(ds, r) if x["status"] == "approved"])
    assert api.error(f"/webinars/{r.id}/registrants", occurrence_id="1")[:2] == (400, 300)


def test_polls_are_the_definitions(api: AsgiApi, ds: Dataset, spec: SpecValidator) -> None:
    for d in webinars(ds):
        body = checked(api, spec, "/webinars/{webinarId}/polls", f"/webinars/{d.id}/polls")
        assert body["polls"] == people.poll_definitions(ds, d)
        assert body["total_records"] == d.polls
        assert api.ok(f"/webinars/{d.id}/polls", anonymous="true")["polls"] == []


# -- past webinars --------------------------------------------------------------------------


def test_instances_are_the_ended_ones_oldest_first(api: AsgiApi, ds: Dataset,
                                                   spec: SpecValidator) -> None:
    for d in webinars(ds):
        body = checked(api, spec, "/past_webinars/{webinarId}/instances",
                       f"/past_webinars/{d.id}/instances")
        assert body["webinars"] == [{"uuid": i.uuid, "start_time": iso(i.start)}
                                    for i in ended(ds, d)]


def test_participants_are_join_segments_with_spec_fields_only(api: AsgiApi, ds: Dataset,
                                                              spec: SpecValidator) -> None:
    segments = 0
    for d in webinars(ds):
        for inst in ended(ds, d):
            path = f"/past_webinars/{encode_uuid(inst.uuid)}/participants"
            rows = api.all_pages(path, "participants", page_size=4)
            spec.validate("GET", "/past_webinars/{webinarId}/participants", 200,
                          api.ok(path, page_size=300))
            want = people.participants(ds, inst)
            assert rows == [{k: p[k] for k in PAST_FIELDS} for p in want]
            assert all(set(r) == set(PAST_FIELDS) for r in rows)
            segments += len(rows) - len({p["participant_uuid"] for p in want})
        latest = ended(ds, d)[-1]
        by_id = api.ok(f"/past_webinars/{d.id}/participants", page_size=300)["participants"]
        assert by_id == api.ok(f"/past_webinars/{encode_uuid(latest.uuid)}/participants",
                               page_size=300)["participants"]
    assert segments > 0  # some attendees rejoined: more rows than people


def test_absentees_are_approved_registrants_who_did_not_come(api: AsgiApi, ds: Dataset,
                                                             spec: SpecValidator) -> None:
    checked_some = False
    for d in webinars(ds):
        approved = {r["id"] for r in people.registrants(ds, d) if r["status"] == "approved"}
        for inst in ended(ds, d):
            path = f"/past_webinars/{encode_uuid(inst.uuid)}/absentees"
            absent = {r["id"] for r in api.all_pages(path, "registrants", page_size=2)}
            spec.validate("GET", "/past_webinars/{webinarId}/absentees", 200, api.ok(path))
            came = {p["registrant_id"] for p in api.all_pages(
                f"/past_webinars/{encode_uuid(inst.uuid)}/participants", "participants",
                page_size=300) if p["registrant_id"]}
            assert absent | came == approved and not absent & came
            checked_some |= bool(absent) and bool(came)
    assert checked_some


def test_absentees_by_id_mean_the_latest_instance_or_the_named_occurrence(api: AsgiApi,
                                                                          ds: Dataset) -> None:
    d = recurring(ds)
    instances = ended(ds, d)
    latest = api.ok(f"/past_webinars/{d.id}/absentees", page_size=300)["registrants"]
    assert latest == api.ok(f"/past_webinars/{encode_uuid(instances[-1].uuid)}/absentees",
                            page_size=300)["registrants"]
    first = instances[0]
    occurrence = people.occurrence_id(people.occurrence_of(d, first))  # type: ignore[arg-type]
    by_occurrence = api.ok(f"/past_webinars/{d.id}/absentees", occurrence_id=occurrence,
                           page_size=300)["registrants"]
    assert by_occurrence == api.ok(f"/past_webinars/{encode_uuid(first.uuid)}/absentees",
                                   page_size=300)["registrants"]
    status, code, message = api.error(f"/past_webinars/{d.id}/absentees", occurrence_id="42")
    assert (status, code) == (400, 300) and "invalid occurrence ID: 42" in message
    status, code, message = api.error("/past_webinars/12345678901/absentees")
    assert (status, code, message) == (404, 3001, "Webinar 12345678901 not found or expired.")


def test_past_polls_and_qa_are_the_instance_answers(api: AsgiApi, ds: Dataset,
                                                    spec: SpecValidator) -> None:
    answered = asked = 0
    for d in webinars(ds):
        for inst in ended(ds, d):
            u = encode_uuid(inst.uuid)
            polls = checked(api, spec, "/past_webinars/{webinarId}/polls",
                            f"/past_webinars/{u}/polls")
            qa = checked(api, spec, "/past_webinars/{webinarId}/qa", f"/past_webinars/{u}/qa")
            assert polls["uuid"] == qa["uuid"] == inst.uuid
            assert polls["questions"] == people.poll_answers(ds, inst)
            assert qa["questions"] == people.qa(ds, inst)
            answered += len(polls["questions"])
            asked += len(qa["questions"])
    assert asked > 0


# -- the Webinar add-on ---------------------------------------------------------------------


def test_without_the_webinar_plan_every_webinar_endpoint_is_400_code_200() -> None:
    api = AsgiApi(config())
    api.emulator.config.webinar_plan = False
    ds = api.emulator.dataset
    d = recurring(ds)
    u = encode_uuid(ended(ds, d)[-1].uuid)
    plan_missing = [f"/users/{d.host_id}/webinars", f"/webinars/{d.id}",
                    f"/webinars/{d.id}/panelists", f"/webinars/{d.id}/registrants",
                    f"/webinars/{d.id}/polls"]
    no_permission = [f"/past_webinars/{d.id}/instances", f"/past_webinars/{u}/participants",
                     f"/past_webinars/{u}/absentees", f"/past_webinars/{u}/polls",
                     f"/past_webinars/{u}/qa"]
    for path in plan_missing:
        status, code, message = api.error(path)
        assert (status, code) == (400, 200) and message.startswith("Webinar plan is missing"), path
    for path in no_permission:
        assert api.error(path) == (400, 200, "No permission."), path
    # Meetings are not affected, and the user's settings say webinars are off.
    assert api.get(f"/users/{d.host_id}/meetings").status_code == 200
    assert api.ok(f"/users/{d.host_id}/settings")["feature"]["webinar"] is False
