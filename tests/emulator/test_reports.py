"""`/report/*`: windows, the two-participant rule, per-instance reports and account usage."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from urllib.parse import quote

import pytest

from tests.emulator.asgi import (
    ANCHOR,
    TODAY,
    WINDOWS,
    AsgiApi,
    config,
    ended,
    in_window,
    window_params,
)
from tests.emulator.crawl import encode_uuid
from zoomsync.emulator import people
from zoomsync.emulator.clock import iso
from zoomsync.emulator.dataset import Dataset
from zoomsync.emulator.routes_reports import REPORT_PARTICIPANT_FIELDS


@pytest.fixture(scope="module")
def api() -> AsgiApi:
    return AsgiApi(config())


def hosts(ds: Dataset) -> list[str]:
    return [u.id for u in ds.live_users() if u.status == "active"]


# -- /report/users/{userId}/meetings ---------------------------------------------------------


def test_past_lists_each_hosted_instance_with_two_or_more_people_exactly_once(api, ds) -> None:
    kinds = set()
    for uid in hosts(ds):
        for start, end in WINDOWS[:3]:
            rows = api.all_pages(f"/report/users/{uid}/meetings", "meetings", page_size=4,
                                 **window_params(start, end))
            expected = sorted(i.uuid for i in ended(ds) if i.host_id == uid
                              and in_window(i, start, end) and i.people >= 2)
            assert sorted(r["uuid"] for r in rows) == expected
            kinds.update(r["type"] for r in rows)
    assert {8, 9} <= kinds  # webinars come with meetings, told apart by `type`


def test_past_is_the_default_and_rows_carry_the_instance_numbers(api, ds) -> None:
    uid = hosts(ds)[0]
    start, end = WINDOWS[0]
    body = api.ok(f"/report/users/{uid}/meetings", page_size=300, **window_params(start, end))
    assert body == api.ok(f"/report/users/{uid}/meetings", page_size=300, type="past",
                          **window_params(start, end))
    assert (body["from"], body["to"]) == (start.isoformat(), end.isoformat())
    assert body["total_records"] == len(body["meetings"]) > 0
    for row in body["meetings"]:
        inst = ds.instances[row["uuid"]]
        segments = people.participants(ds, inst)
        assert row["participants_count"] == len({p["participant_uuid"] for p in segments})
        assert row["total_minutes"] == sum(p["duration"] for p in segments) // 60
        assert row["start_time"] == iso(inst.start) and row["end_time"] == iso(inst.end)
        assert row["user_email"] == ds.users[uid].email


def test_one_person_meetings_appear_only_with_past_one(api, ds) -> None:
    seen = 0
    for uid in hosts(ds):
        for start, end in WINDOWS[:3]:
            rows = api.all_pages(f"/report/users/{uid}/meetings", "meetings", type="pastOne",
                                 **window_params(start, end))
            expected = sorted(i.uuid for i in ended(ds) if i.host_id == uid
                              and in_window(i, start, end) and i.people == 1)
            assert sorted(r["uuid"] for r in rows) == expected
            assert all(r["participants_count"] == 1 for r in rows)
            seen += len(rows)
    assert seen > 0


def test_past_joined_adds_meetings_the_user_attended(api, ds) -> None:
    start, end = WINDOWS[0]
    grew = False
    for uid in hosts(ds):
        hosted = {r["uuid"] for r in api.all_pages(f"/report/users/{uid}/meetings", "meetings",
                                                   **window_params(start, end))}
        joined = api.all_pages(f"/report/users/{uid}/meetings", "meetings", type="pastJoined",
                               **window_params(start, end))
        expected = {i.uuid for i in ended(ds) if in_window(i, start, end) and i.people >= 2
                    and uid in {p["id"] for p in people.people(ds, i)}}
        assert {r["uuid"] for r in joined} == expected
        assert hosted <= expected
        grew = grew or len(expected) > len(hosted)
        for row in joined:  # when this user was there, as the report's "MM/dd/yyyy HH:mm"
            datetime.strptime(row["join_time"], "%m/%d/%Y %H:%M")
    assert grew


def test_window_rules(api, ds) -> None:
    uid = hosts(ds)[0]
    path = f"/report/users/{uid}/meetings"
    # 31 days counted inclusively is the longest month: allowed; one more day is not.
    api.ok(path, **{"from": "2026-10-01", "to": "2026-10-31"})
    assert api.error(path, **{"from": "2026-09-30", "to": "2026-10-31"})[:2] == (400, 300)
    # From six months back (2026-05-01) on; earlier is refused.
    api.ok(path, **{"from": "2026-05-01", "to": "2026-05-20"})
    status, code, message = api.error(path, **{"from": "2026-04-30", "to": "2026-05-20"})
    assert (status, code) == (400, 300) and "six months" in message
    assert api.error(path, to="2026-10-31")[:2] == (400, 300)
    assert api.error(path, **{"from": "2026/10/01", "to": "2026-10-31"})[:2] == (400, 300)
    assert api.error(path, **{"from": "2026-10-10", "to": "2026-10-01"})[:2] == (400, 300)
    assert api.error(path, type="upcoming", **window_params(*WINDOWS[0]))[:2] == (400, 300)
    assert api.error("/report/users/nobody@example.com/meetings",
                     **window_params(*WINDOWS[0]))[:2] == (404, 1001)


def test_bounds_are_inclusive_start_dates(api, ds) -> None:
    inst = next(i for i in ended(ds) if i.people >= 2 and i.kind == "meeting"
                and i.start.date() >= TODAY - timedelta(days=60))
    day = inst.start.date().isoformat()
    rows = api.all_pages(f"/report/users/{inst.host_id}/meetings", "meetings",
                         **{"from": day, "to": day})
    assert inst.uuid in {r["uuid"] for r in rows}
    after = (inst.start.date() + timedelta(days=1)).isoformat()
    rows = api.all_pages(f"/report/users/{inst.host_id}/meetings", "meetings",
                         **{"from": after, "to": after})
    assert inst.uuid not in {r["uuid"] for r in rows}


# -- /report/history_meetings ----------------------------------------------------------------


def test_history_lists_every_ended_instance_of_the_account(api, ds) -> None:
    for start, end in WINDOWS[:2]:
        rows = api.all_pages("/report/history_meetings", "history_meetings", page_size=7,
                             **window_params(start, end))
        expected = sorted(i.uuid for i in ended(ds) if in_window(i, start, end))
        assert sorted(r["meeting_uuid"] for r in rows) == expected
        assert {r["type"] for r in rows} == {"Meeting", "Webinar"}
    body = api.ok("/report/history_meetings", **window_params(*WINDOWS[0]))
    assert "total_records" not in body  # not part of this endpoint's envelope


def test_history_filters(api, ds) -> None:
    start, end = WINDOWS[0]
    by_end = api.all_pages("/report/history_meetings", "history_meetings", date_type="end_time",
                           **window_params(start, end))
    assert sorted(r["meeting_uuid"] for r in by_end) == sorted(
        i.uuid for i in ended(ds) if in_window(i, start, end, by_end=True))
    webinars = api.all_pages("/report/history_meetings", "history_meetings",
                             meeting_type="webinar", **window_params(start, end))
    assert webinars and {r["type"] for r in webinars} == {"Webinar"}
    assert all("unique_viewers" in r and "max_concurrent_views" in r for r in webinars)
    polls = api.all_pages("/report/history_meetings", "history_meetings", report_type="poll",
                          **window_params(start, end))
    assert sorted(r["meeting_uuid"] for r in polls) == sorted(
        i.uuid for i in ended(ds) if in_window(i, start, end) and i.has_polls)
    assert all(r["feature_used"]["poll"] for r in polls)
    assert api.error("/report/history_meetings", group_id="nope",
                     **window_params(start, end))[:2] == (403, 12703)


# -- per-instance reports --------------------------------------------------------------------


def test_meeting_report_matches_past_meeting(api, ds) -> None:
    inst = next(i for i in ended(ds) if i.people >= 3 and i.kind == "meeting")
    body = api.ok(f"/report/meetings/{encode_uuid(inst.uuid)}")
    segments = people.participants(ds, inst)
    assert body["uuid"] == inst.uuid and body["id"] == inst.meeting_id
    assert body["participants_count"] == len({p["participant_uuid"] for p in segments})
    assert body["total_minutes"] == sum(p["duration"] for p in segments) // 60
    assert body["user_email"] == ds.users[inst.host_id].email


def test_instances_that_are_live_unknown_alone_or_misencoded_are_3001(api, ds) -> None:
    live = next(i for i in ds.instances.values() if i.live(ANCHOR))
    alone = next(i for i in ended(ds) if i.people == 1 and i.kind == "meeting")
    slash = next(i for i in ds.instances.values() if i.uuid.startswith("/"))
    for key in (encode_uuid(live.uuid), encode_uuid(alone.uuid), "abcdefghijklmnopqrstuv==",
                quote(slash.uuid, safe="")):
        for suffix in ("", "/participants", "/polls", "/qa"):
            assert api.error(f"/report/meetings/{key}{suffix}")[:2] == (404, 3001)
    # Double-encoded as Zoom requires, the same UUID is found.
    assert api.ok(f"/report/meetings/{encode_uuid(slash.uuid)}")["uuid"] == slash.uuid
    # A webinar is not a meeting, nor the other way round.
    webinar = next(i for i in ended(ds) if i.kind == "webinar" and i.people >= 2)
    assert api.error(f"/report/meetings/{encode_uuid(webinar.uuid)}")[:2] == (404, 3001)
    assert api.ok(f"/report/webinars/{encode_uuid(webinar.uuid)}")["uuid"] == webinar.uuid


def test_numeric_id_means_the_latest_ended_instance(api, ds) -> None:
    live = next(i for i in ds.instances.values() if i.live(ANCHOR))
    latest = max((i for i in ds.instances_of(live.meeting_id) if i.ended(ANCHOR)),
                 key=lambda i: i.start)
    assert api.ok(f"/report/meetings/{live.meeting_id}")["uuid"] == latest.uuid


def test_large_meeting_participants_arrive_over_pages_one_row_per_segment(api, ds) -> None:
    inst = max(ds.instances.values(), key=lambda i: i.people)
    assert inst.people > 300
    first = api.ok(f"/report/meetings/{encode_uuid(inst.uuid)}/participants", page_size=5000)
    assert first["page_size"] == 300 and first["next_page_token"]
    rows = api.all_pages(f"/report/meetings/{encode_uuid(inst.uuid)}/participants",
                         "participants", page_size=300)
    segments = people.participants(ds, inst)
    assert len(rows) == len(segments) == first["total_records"] > 300
    assert [r["user_id"] for r in rows] == [s["user_id"] for s in segments]
    assert len({r["participant_user_id"] for r in rows}) < len(rows)  # rejoins and guests
    assert all(set(r) == set(REPORT_PARTICIPANT_FIELDS) for r in rows)
    assert first["page_count"] == -(-len(rows) // 300)


def test_registrant_id_only_on_request(api, ds) -> None:
    inst = next(i for i in ended(ds) if i.kind == "webinar" and i.people >= 4)
    path = f"/report/webinars/{encode_uuid(inst.uuid)}/participants"
    plain = api.all_pages(path, "participants")
    asked = api.all_pages(path, "participants", include_fields="registrant_id")
    assert all("registrant_id" not in r for r in plain)
    assert all("registrant_id" in r for r in asked)
    assert [dict(r, registrant_id=None) for r in asked] == [
        dict(r, registrant_id=None) for r in plain]


def test_polls_and_qa(api, ds) -> None:
    polled = [i for i in ended(ds) if i.has_polls and i.kind == "meeting"]
    assert polled
    blank_seen = False
    for inst in polled:
        body = api.ok(f"/report/meetings/{encode_uuid(inst.uuid)}/polls")
        answers = people.poll_answers(ds, inst)
        assert [q["name"] for q in body["questions"]] == [a["name"] for a in answers]
        for q, a in zip(body["questions"], answers, strict=True):
            # `email` is `format: email`: a hidden email is left out, never "".
            assert q.get("email", None) == (a["email"] or None)
            blank_seen = blank_seen or not a["email"]
    assert blank_seen, "the dataset has no poll answer with a hidden email to check"
    inst = next(i for i in ended(ds) if i.has_qa and people.qa(ds, i) and i.kind == "webinar")
    body = api.ok(f"/report/webinars/{encode_uuid(inst.uuid)}/qa")
    internal = {p["id"] for p in people.people(ds, inst) if p["internal"]}
    assert len(body["questions"]) == len(people.qa(ds, inst))
    for q in body["questions"]:
        assert q["user_id"] == "" or q["user_id"] in internal
        for detail in q["question_details"]:
            assert detail["question_status"] == ("answered" if detail["answer"] else "open")
            assert bool(detail["answer_details"]) == bool(detail["answer"])


def test_year_old_instances_are_12702() -> None:
    late = AsgiApi(config(start=ANCHOR + timedelta(days=300)))
    ds = late.emulator.dataset
    old = min(ds.instances.values(), key=lambda i: i.start)
    assert old.start < ANCHOR + timedelta(days=300) - timedelta(days=365)
    kind = "meetings" if old.kind == "meeting" else "webinars"
    assert late.error(f"/report/{kind}/{encode_uuid(old.uuid)}")[:2] == (400, 12702)


# -- account usage ---------------------------------------------------------------------------


def test_daily_report_covers_every_day_of_the_month(api, ds) -> None:
    body = api.ok("/report/daily", year=2026, month=10)
    assert (body["year"], body["month"]) == (2026, 10)
    assert [d["date"] for d in body["dates"]] == [
        date(2026, 10, n).isoformat() for n in range(1, calendar.monthrange(2026, 10)[1] + 1)]
    october = [i for i in ended(ds) if (i.start.year, i.start.month) == (2026, 10)]
    assert sum(d["meetings"] for d in body["dates"]) == len(october)
    assert sum(d["participants"] for d in body["dates"]) == sum(i.people for i in october)
    assert sum(d["meeting_minutes"] for d in body["dates"]) > 0
    assert api.ok("/report/daily")["month"] == 11  # defaults to the current month


def test_daily_report_only_for_recent_months(api) -> None:
    api.ok("/report/daily", year=2026, month=5)
    for year, month in ((2026, 4), (2025, 11), (2026, 12)):
        status, code, message = api.error("/report/daily", year=year, month=month)
        assert (status, code) == (400, 300) and "6 months" in message


def test_active_and_inactive_hosts(api, ds) -> None:
    start, end = WINDOWS[0]
    body = api.ok("/report/users", type="active", page_size=300, **window_params(start, end))
    hosted = {}
    for inst in ended(ds):
        if in_window(inst, start, end):
            hosted[inst.host_id] = hosted.get(inst.host_id, 0) + 1
    assert {u["id"]: u["meetings"] for u in body["users"]} == hosted
    assert body["total_meetings"] == sum(hosted.values())
    assert body["total_participants"] == sum(u["participants"] for u in body["users"])
    inactive = api.all_pages("/report/users", "users", type="inactive", page_size=2,
                             **window_params(start, end))
    expected = {u.id for u in ds.live_users() if u.status != "pending" and u.id not in hosted}
    assert {u["id"] for u in inactive} == expected
    assert all(u["meetings"] == 0 for u in inactive)
