"""Cloud recordings: the default-today window, the one-month cap, and one meeting's recording."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from urllib.parse import quote

import pytest

from tests.emulator.asgi import ANCHOR, TODAY, AsgiApi, config
from tests.emulator.crawl import encode_uuid
from tests.spec_validator import SpecValidator
from zoomsync.emulator import people
from zoomsync.emulator.dataset import Dataset, Instance


@pytest.fixture(scope="module")
def api() -> AsgiApi:
    return AsgiApi(config())


def recorded(ds: Dataset, start: date, end: date, host: str | None = None) -> list[Instance]:
    """Ended instances with a recording that started (UTC) from `start` to `end`."""
    return [i for i in ds.ended_instances(ANCHOR)
            if people.recording(ds, i) is not None and start <= i.start.date() <= end
            and (host is None or i.host_id == host)]


def hosts(ds: Dataset) -> list[str]:
    return [u.id for u in ds.live_users() if u.status != "pending"]


# -- GET /users/{userId}/recordings ---------------------------------------------------------


def test_without_dates_only_todays_recordings_come_back(api: AsgiApi, ds: Dataset,
                                                        spec: SpecValidator) -> None:
    today = 0
    for host in hosts(ds):
        body = api.ok(f"/users/{host}/recordings")
        spec.validate("GET", "/users/{userId}/recordings", 200, body)
        # Zoom's documented defaults: from = today, to = the day after.
        assert (body["from"], body["to"]) == (TODAY.isoformat(), (TODAY + timedelta(1)).isoformat())
        want = recorded(ds, TODAY, TODAY, host)
        assert {m["uuid"] for m in body["meetings"]} == {i.uuid for i in want}
        today += len(want)
    assert today > 0  # the dataset records something on the anchor day
    older = recorded(ds, TODAY - timedelta(days=29), TODAY - timedelta(days=1))
    assert older  # …and before it, which the default window leaves out


def test_a_month_window_lists_every_recording_newest_first(api: AsgiApi, ds: Dataset,
                                                           spec: SpecValidator) -> None:
    start, end = TODAY - timedelta(days=30), TODAY
    total = 0
    for host in hosts(ds):
        params = {"from": start.isoformat(), "to": end.isoformat()}
        rows = api.all_pages(f"/users/{host}/recordings", "meetings", page_size=2, **params)
        want = recorded(ds, start, end, host)
        assert [r["uuid"] for r in rows] == [i.uuid for i in sorted(
            want, key=lambda i: (i.start, i.uuid), reverse=True)]
        for r in rows:
            inst = ds.instances[r["uuid"]]
            assert r == people.recording(ds, inst)
            assert r["recording_count"] == len(r["recording_files"]) > 0
            assert all(f["meeting_id"] == r["uuid"] for f in r["recording_files"])
        body = api.ok(f"/users/{host}/recordings", page_size=300, **params)
        spec.validate("GET", "/users/{userId}/recordings", 200, body)
        assert (body["from"], body["to"], body["total_records"]) == (
            start.isoformat(), end.isoformat(), len(want))
        total += len(want)
    assert total > 2


@pytest.mark.parametrize(("start", "end"), [
    (TODAY - timedelta(days=61), TODAY),  # two months
    (TODAY - timedelta(days=31), TODAY),  # one day over
    (TODAY - timedelta(days=45), None),  # `to` defaults to tomorrow: still too long
])
def test_more_than_a_month_is_400_code_300(api: AsgiApi, ds: Dataset, start: date,
                                           end: date | None) -> None:
    params = {"from": start.isoformat()} | ({"to": end.isoformat()} if end else {})
    status, code, message = api.error(f"/users/{hosts(ds)[0]}/recordings", **params)
    assert (status, code) == (400, 300) and "one month" in message


@pytest.mark.parametrize("params", [
    {"from": "2026-10-20", "to": "2026-10-01"},  # backwards
    {"from": "20261001"},  # not yyyy-mm-dd
    {"from": "2026-02-30"},  # no such day
    {"meeting_id": "abc"},
    {"trash": "maybe"},
    {"trash_type": "everything"},
])
def test_bad_parameters_are_400_code_300(api: AsgiApi, ds: Dataset, params: dict) -> None:
    assert api.error(f"/users/{hosts(ds)[0]}/recordings", **params)[:2] == (400, 300)


def test_meeting_id_filter_trash_and_unknown_user(api: AsgiApi, ds: Dataset) -> None:
    start, end = TODAY - timedelta(days=30), TODAY
    inst = max(recorded(ds, start, end), key=lambda i: len(recorded(ds, start, end, i.host_id)))
    params = {"from": start.isoformat(), "to": end.isoformat()}
    rows = api.ok(f"/users/{inst.host_id}/recordings", meeting_id=inst.meeting_id,
                  page_size=300, **params)["meetings"]
    assert rows and {r["id"] for r in rows} == {inst.meeting_id}
    assert len(rows) == len([i for i in recorded(ds, start, end, inst.host_id)
                             if i.meeting_id == inst.meeting_id])
    assert api.ok(f"/users/{inst.host_id}/recordings", trash="true", **params)["meetings"] == []
    assert api.error("/users/nobody@example.com/recordings")[:2] == (404, 1001)


def test_account_listing_is_every_hosts_recordings(api: AsgiApi, ds: Dataset,
                                                   spec: SpecValidator) -> None:
    start, end = TODAY - timedelta(days=30), TODAY
    params = {"from": start.isoformat(), "to": end.isoformat()}
    body = api.ok("/accounts/me/recordings", page_size=300, **params)
    spec.validate("GET", "/accounts/{accountId}/recordings", 200, body)
    assert {m["uuid"] for m in body["meetings"]} == {i.uuid for i in recorded(ds, start, end)}
    assert all(isinstance(m["type"], int) for m in body["meetings"])  # a string per user
    assert api.error("/accounts/someone_else/recordings")[:2] == (404, 2001)


# -- GET /meetings/{meetingId}/recordings ---------------------------------------------------


def test_every_recording_by_uuid_with_double_encoding(api: AsgiApi, ds: Dataset,
                                                      spec: SpecValidator) -> None:
    seen = 0
    for inst in ds.ended_instances(ANCHOR):
        rec = people.recording(ds, inst)
        r = api.get(f"/meetings/{encode_uuid(inst.uuid)}/recordings")
        if rec is None:
            assert (r.status_code, r.json()) == (404, {
                "code": 3301, "message": "This recording does not exist."})
            continue
        assert r.status_code == 200 and r.json() == rec
        spec.validate("GET", "/meetings/{meetingId}/recordings", 200, r.json())
        seen += 1
    assert seen > 10


def test_a_uuid_needing_double_encoding_sent_once_finds_nothing(api: AsgiApi, ds: Dataset) -> None:
    slashed = [i for i in ds.ended_instances(ANCHOR) if i.uuid.startswith("/") or "//" in i.uuid]
    assert any(people.recording(ds, i) is not None for i in slashed)  # found when sent twice
    for inst in slashed:
        r = api.get(f"/meetings/{quote(inst.uuid, safe='')}/recordings")
        assert (r.status_code, r.json()["code"]) == (404, 3301)


def test_an_id_means_the_latest_instance_even_without_a_recording(api: AsgiApi,
                                                                  ds: Dataset) -> None:
    with_rec = without = 0
    for mid in {i.meeting_id for i in ds.ended_instances(ANCHOR)}:
        latest = ds.latest_instance(mid, ANCHOR)
        assert latest is not None
        r = api.get(f"/meetings/{mid}/recordings")
        if people.recording(ds, latest) is None:
            # Even when an earlier occurrence was recorded: only the latest one counts.
            assert (r.status_code, r.json()["code"]) == (404, 3301)
            without += 1
        else:
            assert r.status_code == 200 and r.json()["uuid"] == latest.uuid
            with_rec += 1
    assert with_rec and without
    assert api.error("/meetings/12345678901/recordings")[:2] == (404, 3301)


def test_download_access_token_on_request_with_its_ttl(api: AsgiApi, ds: Dataset) -> None:
    inst = recorded(ds, TODAY - timedelta(days=30), TODAY)[0]
    path = f"/meetings/{encode_uuid(inst.uuid)}/recordings"
    assert "download_access_token" not in api.ok(path)
    token = api.ok(path, include_fields="download_access_token", ttl=600)["download_access_token"]
    _header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["exp"] - claims["iat"] == 600 and claims["meeting_uuid"] == inst.uuid
    assert signature
    assert api.error(path, include_fields="download_access_token", ttl=604_801)[:2] == (400, 300)
