"""The emulator's contract as a Zoom client sees it, over real sockets on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import ANCHOR, UNLIMITED, api_client, token_for
from tests.emulator.crawl import encode_uuid
from zoomsync.emulator import people, truth
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.clock import iso
from zoomsync.emulator.dataset import Dataset, DatasetConfig
from zoomsync.emulator.server import RunningEmulator


def all_pages(client: httpx.Client, path: str, key: str, **params: object) -> list[dict]:
    rows: list[dict] = []
    token = ""
    while True:
        body = client.get(path, params={**params, "next_page_token": token} if token else params)
        body.raise_for_status()
        data = body.json()
        rows.extend(data[key])
        token = data["next_page_token"]
        if not token:
            return rows


# -- pagination ------------------------------------------------------------------------------

def test_next_page_token_walks_every_user_exactly_once(emulator, api) -> None:
    ds = emulator.emulator.dataset
    for status in ("active", "inactive", "pending"):
        rows = all_pages(api, "/users", "users", status=status, page_size=2)
        expected = [u.email for u in ds.live_users() if u.status == status]
        assert sorted(r["email"] for r in rows) == sorted(expected)
        assert len({r["email"] for r in rows}) == len(rows)
    assert all("id" not in r for r in all_pages(api, "/users", "users", status="pending"))


def test_users_default_to_active_only(emulator, api) -> None:
    body = api.get("/users", params={"page_size": 300}).json()
    assert {u["status"] for u in body["users"]} == {"active"}
    assert body["total_records"] == sum(
        u.status == "active" for u in emulator.emulator.dataset.live_users())


def test_page_number_style_matches_token_style(emulator, api) -> None:
    by_token = all_pages(api, "/users", "users", status="active", page_size=3)
    first = api.get("/users", params={"status": "active", "page_size": 3}).json()
    assert first["page_number"] == 1
    pages = first["page_count"]
    assert pages == -(-len(by_token) // 3)
    by_number = []
    for n in range(1, pages + 1):
        page = api.get("/users", params={"status": "active", "page_size": 3, "page_number": n})
        assert page.json()["page_number"] == n
        by_number.extend(page.json()["users"])
    assert by_number == by_token


def test_page_size_is_clamped_to_the_endpoint_maximum(emulator, api) -> None:
    inst = max(emulator.emulator.dataset.instances.values(), key=lambda i: i.people)
    body = api.get(f"/past_meetings/{encode_uuid(inst.uuid)}/participants",
                   params={"page_size": 5000}).json()
    assert body["page_size"] == 300
    assert len(body["participants"]) == 300
    assert body["total_records"] > 300
    assert body["next_page_token"]


def test_large_meeting_participants_arrive_complete_with_rejoins_and_guests(emulator, api) -> None:
    ds = emulator.emulator.dataset
    inst = max(ds.instances.values(), key=lambda i: i.people)
    rows = all_pages(api, f"/report/meetings/{encode_uuid(inst.uuid)}/participants",
                     "participants", page_size=300)
    assert len(rows) == len(people.participants(ds, inst)) > 300
    keys = {(r["user_id"], r["join_time"]) for r in rows}
    assert len(keys) == len(rows)  # one row per join segment, none lost or repeated
    assert any(r["id"] == "" for r in rows)  # guests who were not signed in
    per_person: dict[str, int] = {}
    for r in rows:
        if r["participant_user_id"]:
            per_person[r["participant_user_id"]] = per_person.get(r["participant_user_id"], 0) + 1
    assert max(per_person.values()) > 1  # rejoins are separate rows


def test_expired_or_foreign_page_token_is_refused_with_code_300() -> None:
    config = EmulatorConfig(dataset=DatasetConfig(anchor=ANCHOR), limits=UNLIMITED)
    with RunningEmulator(config) as emu, api_client(emu) as client:
        first = client.get("/users", params={"page_size": 2}).json()
        token = first["next_page_token"]
        assert client.get("/users", params={"page_size": 2, "next_page_token": token}).is_success
        other = client.get("/users", params={"status": "inactive", "next_page_token": token})
        assert (other.status_code, other.json()["code"]) == (400, 300)
        emu.emulator.clock.advance(15 * 60 + 1)
        late = client.get("/users", params={"page_size": 2, "next_page_token": token})
        assert late.status_code == 400
        assert late.json() == {"code": 300, "message": "The next page token is invalid or expired."}


# -- rate limits and tokens -----------------------------------------------------------------

def test_burst_above_a_label_gets_429_while_other_labels_are_served() -> None:
    config = EmulatorConfig(dataset=DatasetConfig(anchor=ANCHOR), plan="pro", frozen_clock=True)
    with RunningEmulator(config) as emu, api_client(emu) as client:
        user = next(u for u in emu.emulator.dataset.live_users() if u.status == "active")
        medium = [client.get("/users") for _ in range(25)]  # Pro: Medium is 20 requests/s
        codes = [r.status_code for r in medium]
        assert codes.count(200) == 20 and codes.count(429) == 5
        throttled = medium[-1]
        assert throttled.json() == {
            "code": 429,
            "message": "You have reached the maximum per-second rate limit for this API. "
                       "Try again later."}
        assert throttled.headers["X-RateLimit-Category"] == "Medium"
        assert throttled.headers["X-RateLimit-Type"] == "QPS"
        assert throttled.headers["X-RateLimit-Limit"] == "20"
        assert throttled.headers["X-RateLimit-Remaining"] == "0"
        assert int(throttled.headers["Retry-After"]) >= 1
        light = client.get(f"/users/{user.id}")  # Light has its own budget
        assert light.status_code == 200
        assert light.headers["X-RateLimit-Category"] == "Light"


def test_expired_token_gives_code_124_and_a_new_token_works() -> None:
    config = EmulatorConfig(dataset=DatasetConfig(anchor=ANCHOR), token_ttl=60)
    with RunningEmulator(config) as emu, api_client(emu) as client:
        assert client.get("/users").status_code == 200
        emu.emulator.clock.advance(61)
        expired = client.get("/users")
        assert expired.status_code == 401
        assert expired.json()["code"] == 124
        fresh = client.get("/users", headers={"Authorization": f"Bearer {token_for(emu.base_url)}"})
        assert fresh.status_code == 200


def test_unknown_token_is_refused(emulator) -> None:
    r = httpx.get(f"{emulator.api_url}/users", headers={"Authorization": "Bearer nope"})
    assert (r.status_code, r.json()["code"]) == (401, 124)


# -- meeting UUIDs ---------------------------------------------------------------------------

def test_uuids_with_slashes_need_double_encoding(emulator, api) -> None:
    ds = emulator.emulator.dataset
    traps = [i for i in ds.instances.values() if i.uuid.startswith("/") or "//" in i.uuid]
    assert len(traps) >= 2
    for inst in traps:
        once = quote(inst.uuid, safe="")
        wrong = api.get(f"/past_meetings/{once}")
        assert (wrong.status_code, wrong.json()["code"]) == (404, 3001)
        right = api.get(f"/past_meetings/{quote(once, safe='')}")
        assert right.status_code == 200 and right.json()["uuid"] == inst.uuid
        raw = api.get(f"/past_meetings/{inst.uuid}/participants")
        assert raw.status_code == 404  # an unencoded `/` splits the path
    plain = next(i for i in ds.ended_instances(ANCHOR) if "/" in i.uuid and "//" not in i.uuid
                 and not i.uuid.startswith("/"))
    assert api.get(f"/past_meetings/{quote(plain.uuid, safe='')}").json()["uuid"] == plain.uuid


def test_uuids_that_differ_only_by_case_are_different_meetings(emulator, api) -> None:
    ds = emulator.emulator.dataset
    twins = [i for i in ds.instances.values() if i.uuid.swapcase() in ds.instances]
    assert twins
    a, b = twins[0].uuid, twins[0].uuid.swapcase()
    assert api.get(f"/past_meetings/{encode_uuid(a)}").json()["uuid"] == a
    assert api.get(f"/past_meetings/{encode_uuid(b)}").json()["uuid"] == b


def test_meeting_in_progress_answers_3001_and_numeric_id_means_latest_instance(
        emulator, api) -> None:
    ds = emulator.emulator.dataset
    now = emulator.emulator.clock.now()
    live = next(i for i in ds.instances.values() if i.live(now))
    r = api.get(f"/report/meetings/{encode_uuid(live.uuid)}/participants")
    assert (r.status_code, r.json()["code"]) == (404, 3001)
    latest = ds.latest_instance(live.meeting_id, now)
    assert api.get(f"/past_meetings/{live.meeting_id}").json()["uuid"] == latest.uuid
    instances = api.get(f"/past_meetings/{live.meeting_id}/instances").json()["meetings"]
    assert len(instances) == sum(i.ended(now) for i in ds.instances_of(live.meeting_id)) > 10
    assert live.uuid not in {i["uuid"] for i in instances}


# -- determinism -----------------------------------------------------------------------------

def _export(tmp: Path, seed: int) -> dict[str, str]:
    ds = Dataset(DatasetConfig(seed=seed, anchor=ANCHOR))
    truth.export(ds, ANCHOR, tmp)
    return {p.name: p.read_text() for p in sorted(tmp.iterdir())}


def test_same_seed_gives_the_same_account_and_another_seed_does_not(tmp_path: Path) -> None:
    a = _export(tmp_path / "a", 7)
    b = _export(tmp_path / "b", 7)
    c = _export(tmp_path / "c", 8)
    assert a == b
    assert a["users.jsonl"] != c["users.jsonl"]
    assert a["meeting_participants.jsonl"] != c["meeting_participants.jsonl"]
    manifest = json.loads(a["manifest.json"])
    assert manifest["counts"]["meeting_participants"] > 1000
    assert manifest["now"] == iso(ANCHOR)


def test_reads_do_not_change_what_later_reads_see(emulator, api) -> None:
    ds = emulator.emulator.dataset
    inst = next(i for i in ds.ended_instances(ANCHOR) if i.people > 3)
    url = f"/past_meetings/{encode_uuid(inst.uuid)}/participants"
    assert api.get(url).json()["participants"] == api.get(url).json()["participants"]


@pytest.mark.parametrize("when", [datetime(2025, 3, 1, tzinfo=UTC), ANCHOR])
def test_dataset_is_anchored_to_its_clock(when: datetime) -> None:
    ds = Dataset(DatasetConfig(anchor=when))
    ended = [i for i in ds.instances.values() if i.ended(when)]
    assert ended and max(i.end for i in ended) <= when  # type: ignore[type-var]
    assert sum(i.live(when) for i in ds.instances.values()) == 1
