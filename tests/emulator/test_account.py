"""Account and user settings, H.323/SIP devices and roles."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.emulator import asgi
from tests.emulator.asgi import ANCHOR, AsgiApi
from tests.spec_validator import SpecValidator
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import Dataset, DatasetConfig
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS

SECTIONS = {"schedule_meeting", "in_meeting", "email_notification", "recording", "telephony",
            "feature", "tsp", "profile"}


def config(seed: int = 42) -> EmulatorConfig:
    return asgi.config(dataset=DatasetConfig(anchor=ANCHOR, seed=seed, h323_devices=5))


@pytest.fixture(scope="module")
def api() -> AsgiApi:
    return AsgiApi(config())


# -- account settings -----------------------------------------------------------------------


def test_account_settings_for_me_and_for_the_account_id(api: AsgiApi, spec: SpecValidator) -> None:
    me = api.ok("/accounts/me/settings")
    spec.validate("GET", "/accounts/{accountId}/settings", 200, me)
    assert SECTIONS | {"security", "zoom_rooms", "integration", "other_options"} <= set(me)
    assert api.ok(f"/accounts/{DEFAULT_CREDENTIALS.account_id}/settings") == me
    assert AsgiApi(config()).ok("/accounts/me/settings") == me  # same seed, same settings
    assert AsgiApi(config(seed=7)).ok("/accounts/me/settings") != me
    assert api.error("/accounts/another_account/settings") == (
        404, 2001, "Account does not exist: another_account.")


@pytest.mark.parametrize(("option", "keys"), [
    ("meeting_authentication", {"meeting_authentication", "authentication_options",
                                "allow_authentication_exception"}),
    ("recording_authentication", {"recording_authentication", "authentication_options"}),
    ("security", {"security"}),
    ("meeting_security", {"meeting_security"}),
])
def test_account_settings_options(api: AsgiApi, spec: SpecValidator, option: str,
                                  keys: set[str]) -> None:
    body = api.ok("/accounts/me/settings", option=option)
    spec.validate("GET", "/accounts/{accountId}/settings", 200, body)
    assert set(body) == keys
    if option == "security":
        assert body["security"] == api.ok("/accounts/me/settings")["security"]
    assert api.error("/accounts/me/settings", option="everything")[:2] == (400, 300)


def test_custom_query_fields_keep_only_the_named_fields(api: AsgiApi) -> None:
    full = api.ok("/accounts/me/settings")
    body = api.ok("/accounts/me/settings", custom_query_fields="host_video,cloud_recording")
    assert body == {"schedule_meeting": {"host_video": full["schedule_meeting"]["host_video"]},
                    "recording": {"cloud_recording": full["recording"]["cloud_recording"]}}


# -- user settings --------------------------------------------------------------------------


def test_user_settings_are_per_user_and_deterministic(api: AsgiApi, ds: Dataset,
                                                      spec: SpecValidator) -> None:
    again = AsgiApi(config())
    seen = []
    for user in ds.live_users():
        if user.status == "pending":
            continue
        body = api.ok(f"/users/{user.id}/settings")
        spec.validate("GET", "/users/{userId}/settings", 200, body)
        assert set(body) >= SECTIONS
        assert body == again.ok(f"/users/{user.id}/settings")
        assert body == api.ok(f"/users/{user.email}/settings")  # an email works as the id
        capacity = 300 if user.record["type"] == 2 else 100
        assert body["feature"]["meeting_capacity"] == capacity
        seen.append(body)
    assert len({repr(b) for b in seen}) > 1  # users differ


def test_webinar_feature_follows_who_hosts_webinars(api: AsgiApi, ds: Dataset) -> None:
    hosts = {d.host_id for d in ds.definitions.values() if d.kind == "webinar"}
    assert hosts
    for user in ds.live_users():
        if user.status != "pending":
            feature = api.ok(f"/users/{user.id}/settings")["feature"]
            assert feature["webinar"] is (user.id in hosts)


@pytest.mark.parametrize("option", ["meeting_authentication", "recording_authentication",
                                    "meeting_security"])
def test_user_settings_options(api: AsgiApi, ds: Dataset, spec: SpecValidator,
                               option: str) -> None:
    user = next(u for u in ds.live_users() if u.status == "active")
    body = api.ok(f"/users/{user.id}/settings", option=option)
    spec.validate("GET", "/users/{userId}/settings", 200, body)
    assert option in body
    assert api.error(f"/users/{user.id}/settings", option="security")[:2] == (400, 300)


def test_pending_and_unknown_users(api: AsgiApi, ds: Dataset) -> None:
    pending = next(u for u in ds.live_users() if u.status == "pending")
    status, code, _ = api.error(f"/users/{pending.email}/settings")
    assert (status, code) == (400, 1120)
    assert api.error("/users/nobody@example.com/settings")[:2] == (404, 1001)


# -- devices and roles ----------------------------------------------------------------------


def test_devices_page_both_ways(api: AsgiApi, ds: Dataset, spec: SpecValidator) -> None:
    body = api.ok("/h323/devices")
    spec.validate("GET", "/h323/devices", 200, body)
    assert body["devices"] == ds.devices and body["total_records"] == len(ds.devices) == 5
    assert api.all_pages("/h323/devices", "devices", page_size=2) == ds.devices
    second = api.ok("/h323/devices", page_size=2, page_number=2)
    assert second["devices"] == ds.devices[2:4] and second["page_count"] == 3


def test_roles_match_the_users_roles(api: AsgiApi, ds: Dataset, spec: SpecValidator) -> None:
    body = api.ok("/roles")
    spec.validate("GET", "/roles", 200, body)
    assert [(r["id"], r["name"]) for r in body["roles"]] == [
        ("0", "Owner"), ("1", "Admin"), ("2", "Member")]
    assert "next_page_token" not in body and body["total_records"] == 3
    counts = Counter(u.record["role_id"] for u in ds.live_users())
    assert {r["id"]: r["total_members"] for r in body["roles"]} == {
        rid: counts[rid] for rid in ("0", "1", "2")}
    names = {r["id"]: r["name"] for r in body["roles"]}
    for user in ds.live_users():
        assert user.record["role_name"] == names[user.record["role_id"]]
        if user.status != "pending":
            assert api.ok(f"/users/{user.id}")["role_name"] == names[user.record["role_id"]]
    assert api.ok("/roles", type="iq") == {"total_records": 0, "roles": []}
    assert api.error("/roles", type="custom")[:2] == (400, 300)
