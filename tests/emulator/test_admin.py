"""The admin API (`/_emulator/...`), judged by what a Zoom client then sees under `/v2`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.emulator import asgi
from tests.emulator.asgi import ANCHOR, asgi_client, fetch_token
from tests.emulator.webhook_receiver import SECRET, Receiver, expected_signature
from zoomsync.emulator import recurrence
from zoomsync.emulator.app import Emulator, EmulatorConfig
from zoomsync.emulator.clock import iso
from zoomsync.emulator.dataset import DatasetConfig

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Client:
    """The app behind one AsyncClient: `admin` for /_emulator, `api` for /v2 with a token."""

    emu: Emulator
    http: httpx.AsyncClient
    token: str = ""

    async def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.http.request(method, "/_emulator" + path, json=body)

    async def api(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get("/v2" + path, params=params,
                                   headers={"Authorization": f"Bearer {self.token}"})

    async def login(self) -> str:
        self.token = await fetch_token(self.http)
        return self.token


def config(**overrides: Any) -> EmulatorConfig:
    """A small account on a frozen clock, limits out of the way unless a test sets them."""
    small = DatasetConfig(anchor=ANCHOR, users=6, meetings_per_user=1)
    return asgi.config(**{"dataset": small, **overrides})


async def open_client(cfg: EmulatorConfig) -> Client:
    emu = Emulator(cfg)
    client = Client(emu, asgi_client(emu))
    await client.login()
    return client


async def close_client(client: Client) -> None:
    await client.http.aclose()
    client.emu.webhooks.close()


@pytest.fixture
async def zc() -> AsyncIterator[Client]:
    client = await open_client(config())
    yield client
    await close_client(client)


def double(uuid: str) -> str:
    """Zoom's rule for UUIDs in paths: double-encode (harmless for the others)."""
    return quote(quote(uuid, safe=""), safe="")


def events(zc: Client, name: str) -> list[dict]:
    return [d["body"] for d in zc.emu.webhooks.deliveries() if d["event"] == name]


async def new_host(zc: Client, email: str = "host.new@example.com") -> str:
    r = await zc.admin("POST", "/users", {"email": email, "first_name": "Host",
                                          "last_name": "New", "type": 2})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def new_meeting(zc: Client, **fields: Any) -> dict:
    host = fields.pop("host_id", None) or await new_host(zc)
    body = {"host_id": host, "topic": "Planning", "type": 2,
            "start_time": iso(ANCHOR + timedelta(days=1)), "duration": 45, **fields}
    r = await zc.admin("POST", "/meetings", body)
    assert r.status_code == 201, r.text
    return r.json()


# -- users ------------------------------------------------------------------------------------

async def test_created_user_is_listed_and_announced(zc: Client) -> None:
    uid = await new_host(zc, "ada.new@example.com")
    listed = (await zc.api("/users", page_size=300)).json()["users"]
    assert "ada.new@example.com" in {u["email"] for u in listed}
    profile = (await zc.api(f"/users/{uid}")).json()
    seeded = next(iter(zc.emu.dataset.users.values())).record
    assert profile["display_name"] == "Host New" and set(profile) == set(seeded)
    [event] = events(zc, "user.created")
    assert event["payload"]["object"]["id"] == uid


async def test_pending_user_is_listed_without_id(zc: Client) -> None:
    r = await zc.admin("POST", "/users", {"email": "invitee@example.com", "status": "pending"})
    assert r.status_code == 201
    pending = (await zc.api("/users", status="pending")).json()["users"]
    row = next(u for u in pending if u["email"] == "invitee@example.com")
    assert "id" not in row


async def test_user_status_changes_are_deactivate_and_activate_events(zc: Client) -> None:
    uid = await new_host(zc)
    r = await zc.admin("PATCH", f"/users/{uid}", {"status": "inactive", "first_name": "Ex"})
    assert r.json()["display_name"] == "Ex New"
    inactive = (await zc.api("/users", status="inactive")).json()["users"]
    assert uid in {u["id"] for u in inactive}
    await zc.admin("PATCH", f"/users/{uid}", {"status": "active"})
    assert [e["payload"]["object"]["id"] for e in events(zc, "user.deactivated")] == [uid]
    assert [e["payload"]["object"]["id"] for e in events(zc, "user.activated")] == [uid]
    [updated] = events(zc, "user.updated")
    assert updated["payload"]["object"] == {"id": uid, "first_name": "Ex",
                                            "display_name": "Ex New"}


async def test_deleted_user_is_gone_with_their_meetings(zc: Client) -> None:
    meeting = await new_meeting(zc)
    r = await zc.admin("DELETE", f"/users/{meeting['host_id']}")
    assert r.json()["meetings_deleted"] == [meeting["id"]]
    gone = await zc.api(f"/users/{meeting['host_id']}")
    assert (gone.status_code, gone.json()["code"]) == (404, 1001)
    assert (await zc.api(f"/meetings/{meeting['id']}")).status_code == 404
    assert len(events(zc, "user.deleted")) == 1


async def test_user_errors_are_one_line(zc: Client) -> None:
    owner = next(iter(zc.emu.dataset.users.values()))
    cases = [
        ("POST", "/users", {"email": owner.email}, 409),
        ("POST", "/users", {"email": "not-an-email"}, 400),
        ("POST", "/users", {"email": "x@example.com", "colour": "red"}, 400),
        ("POST", "/users", {"email": "x@example.com", "type": "2"}, 400),
        ("PATCH", "/users/nobody", {"first_name": "A"}, 404),
        ("PATCH", f"/users/{owner.id}", {"status": "inactive"}, 400),
        ("PATCH", f"/users/{owner.id}", {"status": "pending"}, 400),
        ("DELETE", f"/users/{owner.id}", None, 400),
    ]
    for method, path, body, status in cases:
        r = await zc.admin(method, path, body)
        assert r.status_code == status, (path, body, r.text)
        assert list(r.json()) == ["error"] and "\n" not in r.json()["error"]
    bad = await zc.http.post("/_emulator/users", content=b"{nope")
    assert bad.status_code == 400
    assert zc.emu.dataset.mutations == 0  # nothing refused counted as a change


# -- meetings ---------------------------------------------------------------------------------

async def test_created_meeting_reads_back_and_deleting_gives_3001(zc: Client) -> None:
    meeting = await new_meeting(zc)
    got = await zc.api(f"/meetings/{meeting['id']}")
    assert got.json() == meeting
    upcoming = (await zc.api(f"/users/{meeting['host_id']}/meetings")).json()["meetings"]
    assert [m["id"] for m in upcoming] == [meeting["id"]]
    assert (await zc.admin("DELETE", f"/meetings/{meeting['id']}")).status_code == 200
    gone = await zc.api(f"/meetings/{meeting['id']}")
    assert (gone.status_code, gone.json()["code"]) == (404, 3001)
    [created] = events(zc, "meeting.created")
    [deleted] = events(zc, "meeting.deleted")
    assert created["payload"]["object"]["id"] == deleted["payload"]["object"]["id"] == meeting["id"]


async def test_update_meeting_sends_only_what_changed(zc: Client) -> None:
    meeting = await new_meeting(zc)
    r = await zc.admin("PATCH", f"/meetings/{meeting['id']}", {"topic": "Renamed",
                                                                "duration": 90})
    assert (await zc.api(f"/meetings/{meeting['id']}")).json() == r.json()
    assert r.json()["topic"] == "Renamed" and r.json()["start_time"] == meeting["start_time"]
    [event] = events(zc, "meeting.updated")
    assert event["payload"]["object"] == {"id": meeting["id"], "uuid": meeting["uuid"],
                                          "topic": "Renamed", "duration": 90}
    assert event["payload"]["old_object"] == {"id": meeting["id"], "topic": "Planning",
                                              "duration": 45}


async def test_recurring_meeting_occurrences_follow_local_time(zc: Client) -> None:
    # Every Tuesday and Thursday 09:00 in Berlin, 4 times, across the end of DST (Oct 25).
    meeting = await new_meeting(
        zc, type=8, start_time="2026-10-20T09:00:00", timezone="Europe/Berlin",
        recurrence={"type": 2, "weekly_days": "3,5", "end_times": 4})
    r = await zc.api(f"/meetings/{meeting['id']}")
    assert r.json()["recurrence"] == {"type": 2, "repeat_interval": 1, "weekly_days": "3,5",
                                      "end_times": 4}
    # Oct 20 and 22 (UTC+2) have finished at the frozen clock (Nov 1); Oct 27 and 29 (UTC+1)
    # too; so none is upcoming and the meeting has expired from the user's list.
    assert r.json().get("occurrences") is None
    starts = recurrence.occurrences(datetime(2026, 10, 20, 7, tzinfo=UTC), "Europe/Berlin",
                                    r.json()["recurrence"])
    assert [iso(s) for s in starts] == ["2026-10-20T07:00:00Z", "2026-10-22T07:00:00Z",
                                        "2026-10-27T08:00:00Z", "2026-10-29T08:00:00Z"]


async def test_upcoming_occurrences_are_listed(zc: Client) -> None:
    meeting = await new_meeting(zc, type=8, start_time="2026-11-02T15:00:00Z",
                                recurrence={"type": 1, "repeat_interval": 2, "end_times": 3})
    assert [o["start_time"] for o in meeting["occurrences"]] == [
        "2026-11-02T15:00:00Z", "2026-11-04T15:00:00Z", "2026-11-06T15:00:00Z"]


async def test_recurring_meeting_can_become_a_single_one(zc: Client) -> None:
    meeting = await new_meeting(zc, type=8, start_time="2026-11-02T15:00:00Z",
                                recurrence={"type": 1, "end_times": 3})
    r = await zc.admin("PATCH", f"/meetings/{meeting['id']}", {"type": 2})
    got = (await zc.api(f"/meetings/{meeting['id']}")).json()
    assert got == r.json() and got["type"] == 2 and got["start_time"] == "2026-11-02T15:00:00Z"
    assert "recurrence" not in got and "occurrences" not in got


async def test_instant_meeting_is_readable_while_live_only(zc: Client) -> None:
    meeting = await new_meeting(zc, type=1)
    await zc.admin("POST", f"/meetings/{meeting['id']}/start", {"people": 3})
    assert (await zc.api(f"/meetings/{meeting['id']}")).json()["status"] == "started"
    await zc.admin("POST", "/clock", {"advance_seconds": 600})
    await zc.admin("POST", f"/meetings/{meeting['id']}/end")
    # Zoom cannot look an instant meeting up once it has ended; its instance stays.
    assert (await zc.api(f"/meetings/{meeting['id']}")).json()["code"] == 3001
    assert len((await zc.api(f"/past_meetings/{meeting['id']}/instances")).json()["meetings"]) == 1


async def test_meeting_errors(zc: Client) -> None:
    host = await new_host(zc)
    cases = [
        ({"topic": "x"}, 400),  # no host
        ({"host_id": "nobody@example.com"}, 404),
        ({"host_id": host, "type": 5}, 400),
        ({"host_id": host, "type": 8}, 400),  # no recurrence
        ({"host_id": host, "type": 2, "recurrence": {"type": 1}}, 400),
        ({"host_id": host, "type": 8, "recurrence": {"type": 2}}, 400),  # no weekly_days
        ({"host_id": host, "duration": 0}, 400),
        ({"host_id": host, "start_time": "tomorrow"}, 400),
        ({"host_id": host, "timezone": "Mars/Olympus"}, 400),
    ]
    for body, status in cases:
        r = await zc.admin("POST", "/meetings", body)
        assert r.status_code == status, (body, r.text)
    assert (await zc.admin("DELETE", "/meetings/123")).status_code == 404


# -- instances and participants ---------------------------------------------------------------

async def test_start_then_end_makes_a_past_instance_with_participants(zc: Client) -> None:
    meeting = await new_meeting(zc)
    mid = meeting["id"]
    started = (await zc.admin("POST", f"/meetings/{mid}/start", {"people": 4})).json()
    uuid = started["uuid"]
    assert started["status"] == "live" and started["end_time"] is None
    assert (await zc.api(f"/meetings/{mid}")).json()["status"] == "started"
    live = await zc.api(f"/past_meetings/{double(uuid)}/participants")
    assert (live.status_code, live.json()["code"]) == (404, 3001)
    assert (await zc.admin("POST", f"/meetings/{mid}/start")).status_code == 409

    await zc.admin("POST", "/clock", {"advance_seconds": 40 * 60})
    ended = (await zc.admin("POST", f"/meetings/{mid}/end")).json()
    assert ended["status"] == "ended" and ended["end_time"] == iso(ANCHOR + timedelta(minutes=40))
    instances = (await zc.api(f"/past_meetings/{mid}/instances")).json()["meetings"]
    assert instances == [{"uuid": uuid, "start_time": iso(ANCHOR)}]
    past = (await zc.api(f"/past_meetings/{double(uuid)}")).json()
    assert (past["start_time"], past["end_time"]) == (iso(ANCHOR), ended["end_time"])
    rows = (await zc.api(f"/past_meetings/{double(uuid)}/participants")).json()["participants"]
    assert len({(r["id"], r["name"]) for r in rows}) == 4
    assert events(zc, "meeting.started")[0]["payload"]["object"]["uuid"] == uuid
    assert events(zc, "meeting.ended")[0]["payload"]["object"]["end_time"] == ended["end_time"]


async def test_end_without_live_instance_makes_one_that_just_ran(zc: Client) -> None:
    meeting = await new_meeting(zc)
    ended = (await zc.admin("POST", f"/meetings/{meeting['id']}/end",
                             {"duration": 25, "recording": True})).json()
    assert ended["start_time"] == iso(ANCHOR - timedelta(minutes=25))
    assert ended["end_time"] == iso(ANCHOR)
    recording = await zc.api(f"/meetings/{double(ended['uuid'])}/recordings")
    assert recording.status_code == 200
    assert [e["event"] for e in (d["body"] for d in zc.emu.webhooks.deliveries())][-3:] == [
        "meeting.started", "meeting.ended", "recording.completed"]


async def test_late_participants_appear_in_an_ended_instance(zc: Client) -> None:
    ds = zc.emu.dataset
    inst = next(i for i in ds.ended_instances(ANCHOR) if i.people > 2)
    path = f"/past_meetings/{double(inst.uuid)}/participants"
    before = (await zc.api(path, page_size=300)).json()["participants"]
    join = inst.start + timedelta(minutes=1)
    rows = [
        {"name": "Late Lee", "email": "lee@partner.example.net", "join_time": iso(join),
         "leave_time": iso(join + timedelta(minutes=2))},
        {"name": "Late Lee", "email": "lee@partner.example.net",
         "join_time": iso(join + timedelta(minutes=3))},
    ]
    r = await zc.admin("POST", f"/instances/{quote(inst.uuid, safe='')}/participants",
                       {"participants": rows})
    assert r.status_code == 201, r.text
    added = r.json()["participants"]
    assert added[1]["leave_time"] == iso(inst.end)  # type: ignore[arg-type]
    assert added[0]["participant_uuid"] == added[1]["participant_uuid"]
    assert added[0]["user_id"] != added[1]["user_id"]
    after = (await zc.api(path, page_size=300)).json()["participants"]
    assert len(after) == len(before) + 2
    assert {r["user_id"] for r in added} <= {r["user_id"] for r in after}
    assert len(events(zc, "meeting.participant_joined")) == 2
    assert len(events(zc, "meeting.participant_left")) == 2


async def test_participants_still_in_a_live_meeting_leave_when_it_ends(zc: Client) -> None:
    meeting = await new_meeting(zc)
    started = await zc.admin("POST", f"/meetings/{meeting['id']}/start", {"people": 2})
    uuid = started.json()["uuid"]
    await zc.admin("POST", "/clock", {"advance_seconds": 300})
    r = await zc.admin("POST", f"/instances/{double(uuid)}/participants",
                       {"participants": [{"name": "Walk-in"}]})
    assert r.json()["participants"][0]["leave_time"] is None
    assert len(events(zc, "meeting.participant_left")) == 0
    await zc.admin("POST", "/clock", {"advance_seconds": 600})
    await zc.admin("POST", f"/meetings/{meeting['id']}/end")
    rows = (await zc.api(f"/past_meetings/{double(uuid)}/participants")).json()["participants"]
    walk_in = next(r for r in rows if r["name"] == "Walk-in")
    assert (walk_in["join_time"], walk_in["leave_time"], walk_in["duration"]) == (
        iso(ANCHOR + timedelta(minutes=5)), iso(ANCHOR + timedelta(minutes=15)), 600)
    assert len(events(zc, "meeting.participant_left")) == 1


async def test_participant_errors(zc: Client) -> None:
    inst = next(zc.emu.dataset.ended_instances(ANCHOR))
    path = f"/instances/{double(inst.uuid)}/participants"
    late = iso(inst.end + timedelta(hours=1))  # type: ignore[operator]
    for body, status in [
        ({"participants": []}, 400),
        ({"participants": [{"email": "no-name@example.com"}]}, 400),
        ({"participants": [{"name": "A", "join_time": late}]}, 400),
        ({"participants": [{"name": "A", "shoe_size": 9}]}, 400),
    ]:
        assert (await zc.admin("POST", path, body)).status_code == status, body
    assert (await zc.admin("POST", "/instances/nope/participants",
                           {"participants": [{"name": "A"}]})).status_code == 404


# -- clock, counters, faults, tokens, reset --------------------------------------------------

async def test_moving_the_clock_16_minutes_expires_a_page_token(zc: Client) -> None:
    first = (await zc.api("/users", page_size=1)).json()
    token = first["next_page_token"]
    assert token
    assert (await zc.api("/users", page_size=1, next_page_token=token)).status_code == 200
    r = await zc.admin("POST", "/clock", {"advance_seconds": 16 * 60})
    assert r.json() == {"now": iso(ANCHOR + timedelta(minutes=16))}
    expired = await zc.api("/users", page_size=1, next_page_token=token)
    assert (expired.status_code, expired.json()["code"]) == (400, 300)


async def test_clock_set_and_errors(zc: Client) -> None:
    r = await zc.admin("POST", "/clock", {"set": "2027-01-02T03:04:05Z"})
    assert r.json() == {"now": "2027-01-02T03:04:05Z"}
    assert (await zc.admin("GET", "/clock")).json() == r.json()
    for body in [{}, {"advance_seconds": "1"}, {"set": "soon"},
                 {"advance_seconds": 1, "set": "2027-01-01T00:00:00Z"}]:
        assert (await zc.admin("POST", "/clock", body)).status_code == 400, body


async def test_counters_count_a_429_burst_and_reset_zeroes_them() -> None:
    zc = await open_client(config(limits={"MEDIUM": 3}))
    try:
        statuses = [(await zc.api("/users")).status_code for _ in range(8)]
        counters = (await zc.admin("GET", "/counters")).json()
        medium = counters["rate_limits"]["labels"]["MEDIUM"]
        assert medium == {"calls": statuses.count(200), "throttled": statuses.count(429),
                          "throttled_daily": 0}
        assert statuses.count(429) >= 5
        assert counters["tokens"]["tokens_issued"] == 1
        assert counters["faults"]["requests"] == 8
        await zc.admin("POST", "/reset")
        again = (await zc.admin("GET", "/counters")).json()
        assert again["rate_limits"]["throttled"] == 0 and again["faults"]["requests"] == 0
        assert again["tokens"] == {"tokens_issued": 0, "tokens_live": 1}
        assert (await zc.api("/users")).status_code == 200  # the buckets are full again
    finally:
        await close_client(zc)


async def test_faults_are_configured_and_counted(zc: Client) -> None:
    r = await zc.admin("PUT", "/faults", {"rate_429": 1.0})
    assert r.json()["rate_429"] == 1.0 and r.json()["error_5xx"] == 0
    assert (await zc.admin("GET", "/faults")).json() == r.json()
    assert (await zc.api("/users")).status_code == 429
    assert (await zc.admin("GET", "/counters")).json()["faults"]["rate_429"] == 1
    assert (await zc.admin("PUT", "/faults", {"rate_429": 2})).status_code == 400
    assert (await zc.admin("PUT", "/faults", {"gremlins": 1})).status_code == 400
    # Even told to exclude nothing, the admin API stays out of reach of the faults.
    r = await zc.admin("PUT", "/faults", {"error_5xx": 1.0, "exclude_prefixes": []})
    assert r.json()["exclude_prefixes"] == ["/_emulator"]
    assert (await zc.api("/users")).status_code >= 500
    await zc.admin("PUT", "/faults", {})
    assert (await zc.api("/users")).status_code == 200


async def test_revoked_tokens_get_124(zc: Client) -> None:
    assert (await zc.admin("POST", "/tokens/revoke")).json() == {"revoked": 1}
    r = await zc.api("/users")
    assert (r.status_code, r.json()["code"]) == (401, 124)


async def test_reset_with_dataset_drops_changes(zc: Client) -> None:
    uid = await new_host(zc)
    r = await zc.admin("POST", "/reset", {"dataset": True})
    assert r.json()["reset"] == ["counters", "dataset"]
    assert (await zc.api(f"/users/{uid}")).status_code == 404
    assert zc.emu.dataset.mutations == 0


async def test_same_calls_on_same_seed_make_same_ids() -> None:
    ids = []
    for _ in range(2):
        zc = await open_client(config())
        try:
            meeting = await new_meeting(zc)
            started = (await zc.admin("POST", f"/meetings/{meeting['id']}/start")).json()
            ids.append((meeting["host_id"], meeting["id"], started["uuid"], started["people"]))
        finally:
            await close_client(zc)
    assert ids[0] == ids[1]


async def test_unknown_admin_route_is_a_json_404(zc: Client) -> None:
    r = await zc.admin("GET", "/nothing/here")
    assert r.status_code == 404 and "error" in r.json()


# -- ground truth -----------------------------------------------------------------------------

async def test_truth_manifest_and_tables_include_changes(zc: Client) -> None:
    uid = await new_host(zc)
    manifest = (await zc.admin("GET", "/truth")).json()
    assert "users" in manifest["tables"] and manifest["now"] == iso(ANCHOR)
    r = await zc.admin("GET", "/truth/users")
    assert r.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert uid in {row["id"] for row in rows}
    assert (await zc.admin("GET", "/truth/no_such_table")).status_code == 404


# -- webhooks to a real receiver --------------------------------------------------------------

async def test_events_reach_a_receiver_signed(zc: Client, receiver: Receiver) -> None:
    r = await zc.admin("PUT", "/webhooks", {"url": receiver.url, "secret_token": SECRET})
    assert r.json() == {"url": receiver.url, "secret_token_changed": True}
    assert (await zc.admin("POST", "/webhooks/validate")).json()["valid"] is True

    meeting = await new_meeting(zc)
    await zc.admin("POST", f"/meetings/{meeting['id']}/end", {"recording": True})
    flushed = (await zc.admin("POST", "/webhooks/flush", {"timeout": 10})).json()
    assert flushed["flushed"] is True and flushed["counters"]["delivered"] == 5

    names = []
    for headers, body in receiver.hits[1:]:
        timestamp = headers["x-zm-request-timestamp"]
        assert headers["x-zm-signature"] == expected_signature(SECRET, timestamp, body)
        names.append(json.loads(body)["event"])
    assert names == ["user.created", "meeting.created", "meeting.started", "meeting.ended",
                     "recording.completed"]
    listed = (await zc.admin("GET", "/webhooks", None)).json()
    assert [d["status"] for d in listed["deliveries"]] == ["delivered"] * 5


async def test_webhook_config_errors(zc: Client) -> None:
    assert (await zc.admin("POST", "/webhooks/validate")).status_code == 400
    assert (await zc.admin("PUT", "/webhooks", {"url": "ftp://x"})).status_code == 400
    assert (await zc.admin("PUT", "/webhooks", {"secret_token": ""})).status_code == 400
