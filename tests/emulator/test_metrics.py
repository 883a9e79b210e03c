"""`/metrics/*` dashboards: Business plan only, `type=live` by default, per-segment rows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.emulator.asgi import ANCHOR, TODAY, WINDOWS, AsgiApi, config, ended, window_params
from tests.emulator.crawl import encode_uuid
from zoomsync.emulator import people
from zoomsync.emulator.clock import iso
from zoomsync.emulator.dataset import Dataset, Instance
from zoomsync.emulator.routes_metrics import PLAN_MESSAGE

DURATION = re.compile(r"(\d{2}:)?\d{2}:\d{2}")


@pytest.fixture(scope="module")
def api() -> AsgiApi:
    return AsgiApi(config())


def live_meeting(ds: Dataset) -> Instance:
    return next(i for i in ds.instances.values() if i.live(ANCHOR) and i.kind == "meeting")


def seconds(text: str) -> int:
    parts = [int(p) for p in text.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


# -- /metrics/meetings -----------------------------------------------------------------------


def test_type_defaults_to_live(api, ds) -> None:
    params = window_params(*WINDOWS[0])
    default = api.ok("/metrics/meetings", **params)
    assert default == api.ok("/metrics/meetings", type="live", **params)
    live = live_meeting(ds)
    assert [m["uuid"] for m in default["meetings"]] == [live.uuid]
    row = default["meetings"][0]
    assert "end_time" not in row  # still running
    assert seconds(row["duration"]) == int((ANCHOR - live.start).total_seconds())


def test_past_and_past_one_split_the_window_by_head_count(api, ds) -> None:
    for start, end in WINDOWS[:3]:
        params = window_params(start, end)
        past = api.all_pages("/metrics/meetings", "meetings", type="past", page_size=9, **params)
        one = api.all_pages("/metrics/meetings", "meetings", type="pastOne", **params)
        mine = [i for i in ended(ds) if i.kind == "meeting"
                and start <= i.start.date() <= end]
        assert sorted(r["uuid"] for r in past) == sorted(i.uuid for i in mine if i.people >= 2)
        assert sorted(r["uuid"] for r in one) == sorted(i.uuid for i in mine if i.people == 1)
        for row in past:
            inst = ds.instances[row["uuid"]]
            assert inst.end is not None
            assert DURATION.fullmatch(row["duration"])
            assert seconds(row["duration"]) == int((inst.end - inst.start).total_seconds())
            assert row["participants"] == inst.people
            assert row["end_time"] == iso(inst.end)


def test_query_date_type_and_times_of_day(api, ds) -> None:
    start, end = WINDOWS[0]
    by_end = api.all_pages("/metrics/meetings", "meetings", type="past",
                           query_date_type="end_time", **window_params(start, end))
    assert sorted(r["uuid"] for r in by_end) == sorted(
        i.uuid for i in ended(ds) if i.kind == "meeting" and i.people >= 2
        and i.end is not None and start <= i.end.date() <= end)
    inst = next(i for i in ended(ds) if i.kind == "meeting" and i.people >= 2
                and i.start.date() >= start)
    lo = (inst.start - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
    hi = (inst.start + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
    body = api.ok("/metrics/meetings", type="past", **{"from": lo, "to": hi})
    assert (body["from"], body["to"]) == (lo, hi)  # echoed as given
    assert inst.uuid in {m["uuid"] for m in body["meetings"]}
    assert all(lo <= m["start_time"].replace("T", " ")[:19] <= hi for m in body["meetings"])


def test_window_rules(api) -> None:
    assert api.error("/metrics/meetings", type="past", to=TODAY.isoformat())[:2] == (400, 300)
    too_long = {"from": "2026-09-01", "to": "2026-10-15"}
    assert api.error("/metrics/meetings", type="past", **too_long)[:2] == (400, 300)
    too_old = {"from": "2026-04-01", "to": "2026-04-20"}
    assert api.error("/metrics/webinars", type="past", **too_old)[:2] == (400, 300)
    assert api.error("/metrics/webinars", type="pastOne",
                     **window_params(*WINDOWS[0]))[:2] == (400, 300)


# -- one meeting -----------------------------------------------------------------------------


def test_meeting_detail_follows_type(api, ds) -> None:
    live = live_meeting(ds)
    past = next(i for i in ended(ds) if i.kind == "meeting" and i.people >= 2)
    alone = next(i for i in ended(ds) if i.kind == "meeting" and i.people == 1)
    assert api.ok(f"/metrics/meetings/{encode_uuid(live.uuid)}")["uuid"] == live.uuid
    assert api.ok(f"/metrics/meetings/{live.meeting_id}")["uuid"] == live.uuid
    body = api.ok(f"/metrics/meetings/{encode_uuid(past.uuid)}", type="past")
    assert body["participants"] == past.people and "end_time" in body
    assert api.ok(f"/metrics/meetings/{encode_uuid(alone.uuid)}",
                  type="pastOne")["participants"] == 1
    for key, type_ in ((past.uuid, None), (live.uuid, "past"), (alone.uuid, "past"),
                       (past.uuid, "pastOne"), ("abcdefghijklmnopqrstuv==", "past")):
        params = {"type": type_} if type_ else {}
        assert api.error(f"/metrics/meetings/{encode_uuid(key)}", **params)[:2] == (404, 3001)


def test_participants_are_per_segment_with_device_detail(api, ds) -> None:
    inst = max(ds.instances.values(), key=lambda i: i.people)
    path = f"/metrics/meetings/{encode_uuid(inst.uuid)}/participants"
    rows = api.all_pages(path, "participants", type="past", page_size=300)
    segments = people.participants(ds, inst)
    assert [r["user_id"] for r in rows] == [s["user_id"] for s in segments]
    assert len(rows) > 300
    assert rows == api.all_pages(path, "participants", type="past", page_size=100)  # stable
    first = api.ok(path, type="past")
    assert first["meeting_number"] == str(inst.meeting_id)
    for row, seg in zip(rows, segments, strict=True):
        assert row["join_time"] == seg["join_time"] and row["leave_time"] == seg["leave_time"]
        assert row["leave_reason"]
        assert "registrant_id" not in row
        if seg["internal_user"]:
            assert row["device"] in {"Mac", "Windows", "iOS", "Android", "Phone", "H.323/SIP"}
        else:
            assert row["device"] == "" and row.get("mac_addr", "") == ""
        if seg["user_email"]:
            assert row["email"] == seg["user_email"]
        else:  # `format: email` in the spec: a hidden email is left out
            assert "email" not in row
    assert any("email" not in r for r in rows)
    host_rows = [r for r in rows if r["role"] == "host"]
    assert host_rows and host_rows[-1]["leave_reason"] == "Host ended the meeting."


def test_live_participants_are_those_who_have_joined(api, ds) -> None:
    live = live_meeting(ds)
    path = f"/metrics/meetings/{encode_uuid(live.uuid)}/participants"
    rows = api.all_pages(path, "participants")  # type defaults to live
    now = iso(ANCHOR)
    expected = [s for s in people.participants(ds, live) if s["join_time"] <= now]
    assert [r["user_id"] for r in rows] == [s["user_id"] for s in expected]
    for row, seg in zip(rows, expected, strict=True):
        if seg["leave_time"] <= now:
            assert row["leave_time"] == seg["leave_time"]
        else:  # still in the meeting: no leave time (nor reason) yet
            assert "leave_time" not in row and "leave_reason" not in row
    assert any("leave_time" not in r for r in rows)
    assert api.error(path, type="past")[:2] == (404, 3001)  # 3001 until it has ended
    ended_one = next(i for i in ended(ds) if i.kind == "meeting" and i.people >= 2)
    assert api.error(f"/metrics/meetings/{encode_uuid(ended_one.uuid)}/participants")[:2] == (
        404, 3001)


def test_one_person_meeting_has_its_host_row_with_past_one(api, ds) -> None:
    alone = next(i for i in ended(ds) if i.kind == "meeting" and i.people == 1)
    path = f"/metrics/meetings/{encode_uuid(alone.uuid)}/participants"
    rows = api.ok(path, type="pastOne")["participants"]
    assert len(rows) == 1 and rows[0]["role"] == "host"
    assert rows[0]["id"] == alone.host_id
    assert rows[0]["join_time"] == iso(alone.start)
    assert api.error(path, type="past")[:2] == (404, 3001)


# -- webinars --------------------------------------------------------------------------------


def test_webinars(api, ds) -> None:
    start, end = WINDOWS[0]
    rows = api.all_pages("/metrics/webinars", "webinars", type="past",
                         **window_params(start, end))
    assert sorted(r["uuid"] for r in rows) == sorted(
        i.uuid for i in ended(ds) if i.kind == "webinar" and start <= i.start.date() <= end)
    # No webinar is running at the anchor, and `live` is the default.
    assert api.ok("/metrics/webinars", **window_params(start, end))["webinars"] == []
    inst = next(i for i in ended(ds) if i.kind == "webinar" and i.people >= 3)
    path = f"/metrics/webinars/{encode_uuid(inst.uuid)}/participants"
    body = api.ok(path, type="past", include_fields="registrant_id", page_size=300)
    assert body["webinar_number"] == str(inst.meeting_id)
    segments = people.participants(ds, inst)
    assert [r["user_id"] for r in body["participants"]] == [s["user_id"] for s in segments]
    assert [r["registrant_id"] for r in body["participants"]] == [
        s["registrant_id"] for s in segments]
    assert all("status" not in r for r in body["participants"])  # not in the webinar schema
    assert api.error(path)[:2] == (404, 3001)  # live by default, and it is over


# -- plan ------------------------------------------------------------------------------------


def test_pro_plan_is_refused_everywhere() -> None:
    pro = AsgiApi(config(plan="pro"))
    ds = pro.emulator.dataset
    inst = next(i for i in ended(ds) if i.kind == "meeting" and i.people >= 2)
    webinar = next(i for i in ended(ds) if i.kind == "webinar")
    params = window_params(*WINDOWS[0])
    for path, extra in (("/metrics/meetings", {**params, "type": "past"}),
                        ("/metrics/meetings", {}),
                        (f"/metrics/meetings/{encode_uuid(inst.uuid)}", {"type": "past"}),
                        (f"/metrics/meetings/{encode_uuid(inst.uuid)}/participants", {}),
                        ("/metrics/webinars", params),
                        (f"/metrics/webinars/{encode_uuid(webinar.uuid)}/participants", {})):
        assert pro.error(path, **extra) == (400, 200, PLAN_MESSAGE)
    # Reports stay available on Pro.
    pro.ok(f"/report/meetings/{encode_uuid(inst.uuid)}")

