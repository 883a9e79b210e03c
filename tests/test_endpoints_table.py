"""The spec-derived endpoint table, and the spec validator the emulator tests rely on."""

from __future__ import annotations

import copy
import importlib.util
from importlib.resources import files
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.spec_validator import PATCHES, SpecValidator, default_validator, spec_dir
from zoomsync.emulator.endpoints import ENDPOINTS, endpoint

REPO = Path(__file__).resolve().parent.parent
NO_SPECS = f"Zoom OpenAPI specs not found in {spec_dir()} (set ZOOMSYNC_OPENAPI_DIR)"
needs_specs = pytest.mark.skipif(not (spec_dir() / "meetings.endpoints.json").exists(),
                                 reason=NO_SPECS)


def _generator() -> ModuleType:
    path = REPO / "scripts" / "gen_emulator_endpoints.py"
    spec = importlib.util.spec_from_file_location("gen_emulator_endpoints", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the table ----------------------------------------------------------------------------


@needs_specs
def test_committed_table_is_what_the_spec_generates() -> None:
    gen = _generator()
    warnings: list[str] = []
    fresh = gen.render(gen.build_table(spec_dir(), warn=warnings.append))
    committed = files("zoomsync.emulator").joinpath("endpoints.json").read_text("utf-8")
    assert fresh == committed, (
        "zoomsync/emulator/endpoints.json differs from the spec; "
        "run .venv/bin/python scripts/gen_emulator_endpoints.py"
    )
    assert warnings == []


@needs_specs
def test_generator_leaves_out_what_the_spec_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    gen = _generator()
    monkeypatch.setattr(gen, "IN_SCOPE", ("/users", "/no/such/endpoint"))
    warnings: list[str] = []
    table = gen.build_table(spec_dir(), warn=warnings.append)
    assert list(table) == ["/users"]
    assert warnings == [f"warning: GET /no/such/endpoint is not in any spec in {spec_dir()}; "
                        "left out"]


@pytest.mark.parametrize(("path", "label"), [
    ("/users", "MEDIUM"),
    ("/report/meetings/{meetingId}/participants", "HEAVY"),
    ("/metrics/meetings", "RESOURCE_INTENSIVE"),
    ("/meetings/{meetingId}", "LIGHT"),
    ("/past_webinars/{webinarId}/absentees", "HEAVY"),
    ("/roles", "MEDIUM"),  # spelled `Medium` in the spec
    ("/report/meetings/{meetingId}/polls", "HEAVY"),  # spelled `Heavy`
])
def test_labels(path: str, label: str) -> None:
    assert endpoint(path).label == label


@pytest.mark.parametrize(("path", "maximum", "default"), [
    ("/users", 2000, 30),
    ("/groups/{groupId}/members", 2000, 30),
    ("/past_meetings/{meetingId}/participants", 300, 30),
    ("/groups", 300, None),  # the spec gives no default here
    ("/roles", None, None),  # not paginated
])
def test_page_sizes(path: str, maximum: int | None, default: int | None) -> None:
    ep = endpoint(path)
    assert (ep.page_size_max, ep.page_size_default) == (maximum, default)


@pytest.mark.parametrize(("path", "key"), [
    ("/users", "users"),
    ("/report/history_meetings", "history_meetings"),
    ("/past_webinars/{webinarId}/absentees", "registrants"),
    ("/past_meetings/{meetingId}/instances", "meetings"),
    ("/past_meetings/{meetingId}/polls", "questions"),
    ("/meetings/{meetingId}", None),
    ("/meetings/{meetingId}/recordings", None),
    ("/accounts/{accountId}/settings", None),
])
def test_list_keys(path: str, key: str | None) -> None:
    assert endpoint(path).list_key == key


def test_paging_params_and_query_defaults() -> None:
    users = endpoint("/users")
    assert users.next_page_token and users.page_number
    assert users.params["status"].default == "active"
    assert users.params["status"].enum == ("active", "inactive", "pending")
    assert "user:read:list_users:admin" in users.granular_scopes
    # The spec lists only page_number here (zoom-api.md §4).
    webinars = endpoint("/users/{userId}/webinars")
    assert (webinars.next_page_token, webinars.page_number) == (False, True)
    assert endpoint("/metrics/meetings").params["type"].default == "live"
    assert endpoint("/report/users/{userId}/meetings").params["from"].required


def test_every_label_is_normalised() -> None:
    assert {ep.label for ep in ENDPOINTS.values()} == {
        "LIGHT", "MEDIUM", "HEAVY", "RESOURCE_INTENSIVE"}


def test_unknown_template_names_itself() -> None:
    with pytest.raises(KeyError, match=r"/users/\{id\}"):
        endpoint("/users/{id}")


def test_generator_normalises_label_spellings() -> None:
    gen = _generator()
    assert gen.normalise_label("Resource-intensive") == "RESOURCE_INTENSIVE"
    assert gen.normalise_label("RESOURCE-INTENSIVE") == "RESOURCE_INTENSIVE"
    assert gen.normalise_label("Heavy") == "HEAVY"
    with pytest.raises(gen.GenerationError):
        gen.rate_label({"description": "no label here"}, "GET /x")


# --- the validator ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> SpecValidator:
    if not (spec_dir() / "meetings.endpoints.json").exists():
        pytest.skip(NO_SPECS)
    return default_validator()


def _user(n: int) -> dict[str, Any]:
    return {
        "id": f"user{n}AbCdEfGhIjKlMn",
        "email": f"user{n}@example.com",
        "first_name": "Jill",
        "last_name": "Chill",
        "type": 2,
        "status": "active",
        "pmi": 3542471135,
        "timezone": "Asia/Shanghai",
        "verified": 1,
        "user_created_at": "2024-01-02T03:04:05Z",
        "last_login_time": "2024-03-01T10:00:00Z",
        "group_ids": [],
    }


def _users_page(count: int = 2) -> dict[str, Any]:
    return {"next_page_token": "", "page_count": 1, "page_number": 1, "page_size": 30,
            "total_records": count, "users": [_user(n) for n in range(count)]}


def test_valid_users_page_passes(validator: SpecValidator) -> None:
    validator.validate("GET", "/users", 200, _users_page())


def test_bad_timestamp_is_named(validator: SpecValidator) -> None:
    body = _users_page()
    body["users"][1]["user_created_at"] = "2024-01-02 03:04:05"
    with pytest.raises(AssertionError) as info:
        validator.validate("GET", "/users", 200, body)
    assert "$.users[1].user_created_at: format:" in str(info.value)
    assert '"2024-01-02 03:04:05" is not a valid \'date-time\'' in str(info.value)


def test_offset_timestamp_is_not_zoom_style(validator: SpecValidator) -> None:
    body = _users_page(1)
    body["users"][0]["last_login_time"] = "2024-03-01T10:00:00+00:00"
    with pytest.raises(AssertionError, match=r"\$\.users\[0\]\.last_login_time: format"):
        validator.validate("GET", "/users", 200, body)


def test_missing_required_field_is_named(validator: SpecValidator) -> None:
    body = _users_page()
    del body["users"][0]["email"]
    with pytest.raises(AssertionError) as info:
        validator.validate("GET", "/users", 200, body)
    assert "$.users[0]: required: 'email' is a required property" in str(info.value)


def test_errors_are_capped(validator: SpecValidator) -> None:
    body = _users_page(8)
    for user in body["users"]:
        user["type"] = "licensed"
    with pytest.raises(AssertionError) as info:
        validator.validate("GET", "/users", 200, body)
    message = str(info.value)
    assert "8 schema error(s)" in message
    assert "$.users[4].type: type:" in message and "$.users[5]" not in message
    assert "… and 3 more" in message


def test_error_envelope(validator: SpecValidator) -> None:
    validator.validate("GET", "/users/{userId}", 404, {"code": 1001, "message": "No user."})
    validator.validate("GET", "/metrics/meetings", 429, {"code": 429, "message": "Slow down."})
    with pytest.raises(AssertionError, match=r"\$: required: 'message' is a required property"):
        validator.validate("GET", "/users", 400, {"code": 300})
    with pytest.raises(AssertionError, match=r"\$\.code: type"):
        validator.validate("GET", "/users", 401, {"code": "124", "message": "Invalid token."})


def test_other_success_statuses_use_the_200_schema(validator: SpecValidator) -> None:
    validator.validate("GET", "/users", 201, _users_page())
    with pytest.raises(AssertionError, match=r"(?s)GET /users 201: .*\$\.users\[0\]: required"):
        validator.validate("GET", "/users", 201, {"users": [{"type": 1}]})
    with pytest.raises(AssertionError, match="documents no 302 response"):
        validator.validate("GET", "/users", 302, None)


def test_concrete_paths_match_templates(validator: SpecValidator) -> None:
    assert (validator.match("/past_meetings/abc%2Fdef/participants")
            == "/past_meetings/{meetingId}/participants")
    assert validator.match("/v2/users/me?page_size=10") == "/users/{userId}"
    assert validator.match("/users/summary") == "/users/summary"  # a literal beats {userId}
    assert (validator.match("/report/meetings/%252Fab%253D%253D/qa")
            == "/report/meetings/{meetingId}/qa")
    with pytest.raises(AssertionError, match="no Zoom endpoint"):
        validator.match("/past_meetings/abc/def/participants")
    validator.validate("GET", "/users?status=active", 200, _users_page())


def test_every_patch_applies_and_says_why(validator: SpecValidator) -> None:
    # SpecValidator() applies every patch and fails on a stale one; here: each is explained.
    assert len({p.name for p in PATCHES}) == len(PATCHES)
    assert all(len(p.why) > 40 for p in PATCHES)


def test_guest_participant_may_have_blank_email(validator: SpecValidator) -> None:
    row = {"id": "", "name": "Guest", "user_email": "", "join_time": "2024-01-02T03:04:05Z",
           "leave_time": "2024-01-02T03:34:05Z", "duration": 1800}
    page = {"page_count": 1, "page_size": 30, "total_records": 1, "next_page_token": "",
            "participants": [row]}
    validator.validate("GET", "/past_webinars/{webinarId}/participants", 200, page)
    row["user_email"] = "not-an-email"
    with pytest.raises(AssertionError, match=r"participants\[0\]\.user_email: anyOf"):
        validator.validate("GET", "/past_webinars/{webinarId}/participants", 200, page)


def test_settings_branches_are_told_apart(validator: SpecValidator) -> None:
    full = {"in_meeting": {"chat": True}, "recording": {"cloud_recording": False}}
    validator.validate("GET", "/users/{userId}/settings", 200, full)
    validator.validate("GET", "/users/{userId}/settings", 200,
                       {"meeting_security": {"waiting_room": True}})
    broken = copy.deepcopy(full)
    broken["in_meeting"]["chat"] = "yes"
    with pytest.raises(AssertionError, match=r"closest: \$\.in_meeting\.chat: type"):
        validator.validate("GET", "/users/{userId}/settings", 200, broken)
