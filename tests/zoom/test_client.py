"""ZoomClient: UUID paths, errors mapped by what the caller must do, retries, stats."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import httpx
import pytest

from tests.zoom.conftest import CREDS, client_for
from zoomsync.emulator.faults import FaultConfig
from zoomsync.emulator.server import RunningEmulator
from zoomsync.errors import (
    AuthError,
    EntitlementError,
    FatalAPIError,
    RetryableAPIError,
    ScopeError,
    SkippableAPIError,
    ZoomAPIError,
)
from zoomsync.zoom import ZoomClient, path_for
from zoomsync.zoom.client import error_for


@pytest.mark.parametrize(("value", "expected"), [
    ("aDYlohsHRtCd4ii1uC2+hA==", "aDYlohsHRtCd4ii1uC2%2BhA%3D%3D"),
    ("ab/cd==", "ab%2Fcd%3D%3D"),  # one inner slash: encoded once
    ("/ajXp112QmuoKj4854875==", "%252FajXp112QmuoKj4854875%253D%253D"),
    ("et4D9K///Dlmkl58OWMnSw==", "et4D9K%252F%252F%252FDlmkl58OWMnSw%253D%253D"),
    ("jane.doe+zoom@example.com", "jane.doe%2Bzoom%40example.com"),
    (85746065432, "85746065432"),
])
def test_path_for_encodes_values(value: str | int, expected: str) -> None:
    assert path_for("/past_meetings/{meetingId}/participants", meetingId=value) == (
        f"/past_meetings/{expected}/participants")


def test_path_for_refuses_missing_and_unused_values() -> None:
    with pytest.raises(ValueError, match="meetingId"):
        path_for("/past_meetings/{meetingId}")
    with pytest.raises(ValueError, match="userId"):
        path_for("/users", userId="me")


def test_uuids_with_slashes_are_fetched(emu: RunningEmulator) -> None:
    now = emu.emulator.clock.now()
    uuids = [i.uuid for i in emu.emulator.dataset.instances.values()
             if "/" in i.uuid and i.kind == "meeting" and i.ended(now)]
    tricky = [u for u in uuids if u.startswith("/") or "//" in u]
    assert len(tricky) >= 2 and len(uuids) > len(tricky)
    with client_for(emu) as zoom:
        for uuid in uuids:
            body = zoom.get(path_for("/past_meetings/{meetingId}", meetingId=uuid),
                            label="LIGHT")
            assert body["uuid"] == uuid
        # Encoded only once, a UUID that begins with "/" is not found: the rule matters.
        once = f"/past_meetings/{quote(tricky[0], safe='')}"
        with pytest.raises(SkippableAPIError) as caught:
            zoom.get(once, label="LIGHT")
    assert caught.value.code == 3001


def test_unfinished_meeting_is_skippable(emu: RunningEmulator) -> None:
    now = emu.emulator.clock.now()
    live = next(i for i in emu.emulator.dataset.instances.values() if i.live(now))
    path = path_for("/past_meetings/{meetingId}/participants", meetingId=live.uuid)
    with client_for(emu) as zoom, pytest.raises(SkippableAPIError) as caught:
        zoom.get(path, label="MEDIUM")
    exc = caught.value
    assert (exc.status, exc.code, exc.method, exc.path) == (404, 3001, "GET", path)
    assert "\n" not in str(exc) and "skipped" in str(exc)


def test_missing_webinar_plan_is_an_entitlement_error(
    start_emulator: Callable[..., RunningEmulator]
) -> None:
    emu = start_emulator(webinar_plan=False)
    host = next(d.host_id for d in emu.emulator.dataset.definitions.values()
                if d.kind == "webinar")
    with client_for(emu) as zoom, pytest.raises(EntitlementError) as caught:
        zoom.get(path_for("/users/{userId}/webinars", userId=host), label="MEDIUM")
    assert (caught.value.status, caught.value.code) == (400, 200)
    assert "Webinar plan is missing" in str(caught.value)


def test_unknown_endpoint_is_fatal(emu: RunningEmulator) -> None:
    with client_for(emu) as zoom, pytest.raises(FatalAPIError) as caught:
        zoom.get("/no/such/endpoint", label="LIGHT")
    assert (caught.value.status, caught.value.code) == (404, 2300)


def zoom_error(status: int, code: int, message: str = "msg") -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message})


@pytest.mark.parametrize(("response", "kind"), [
    (zoom_error(401, 124, "Invalid access token."), AuthError),
    (zoom_error(400, 4700, "Invalid access token, does not contain scopes."), ScopeError),
    (zoom_error(401, 4700), ScopeError),
    (zoom_error(400, 200, "Only available for paid account"), EntitlementError),
    (zoom_error(404, 3001), SkippableAPIError),
    (zoom_error(404, 3301, "There is no recording for this meeting."), SkippableAPIError),
    (zoom_error(404, 1001, "User does not exist."), SkippableAPIError),
    (zoom_error(400, 12702, "Can not access a meeting a year ago."), SkippableAPIError),
    (zoom_error(400, 300, "Invalid parameter: from."), FatalAPIError),
    (zoom_error(403, 12703), FatalAPIError),
    (zoom_error(404, 2300), FatalAPIError),
    (httpx.Response(502, html="<html><h1>502 Bad Gateway</h1></html>"), RetryableAPIError),
])
def test_errors_are_grouped_by_what_to_do(response: httpx.Response,
                                          kind: type[ZoomAPIError]) -> None:
    exc = error_for(response, "GET", "/x")
    assert type(exc) is kind
    assert "\n" not in str(exc) and "<html>" not in str(exc)


def test_errors_survive_pickling() -> None:
    import pickle

    exc = error_for(zoom_error(404, 3001, "Meeting does not exist."), "GET", "/past_meetings/1")
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is SkippableAPIError and str(again) == str(exc) and again.code == 3001


def test_server_errors_resets_and_timeouts_are_retried(emu: RunningEmulator) -> None:
    # A seeded mix of 5xx (JSON and load-balancer HTML) and connection resets mid-body.
    emu.emulator.faults.configure(FaultConfig(error_5xx=0.2, reset=0.2), seed=7)
    with client_for(emu) as zoom:
        for _ in range(15):
            assert "users" in zoom.get("/users", label="MEDIUM")
        stats = zoom.stats()["MEDIUM"]
    faults = emu.emulator.faults.counters()
    assert faults["error_5xx"] > 0 and faults["reset"] > 0
    assert stats.retries == faults["error_5xx"] + faults["reset"]
    assert stats.calls == faults["requests"] and stats.bytes > 0


def test_retries_are_bounded(emu: RunningEmulator) -> None:
    emu.emulator.faults.configure(FaultConfig(error_5xx=1.0))
    with client_for(emu, max_retries=2) as zoom, pytest.raises(RetryableAPIError) as caught:
        zoom.get("/users", label="MEDIUM")
    assert emu.emulator.faults.counters()["requests"] == 3
    assert "gave up after 3 attempts (0 throttled)" in str(caught.value)
    assert caught.value.status in (500, 502, 503, 504)


def test_timeouts_are_retried_then_reported() -> None:
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3599})
        attempts.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    zoom = ZoomClient(CREDS, api_url="https://zoom.test/v2",
                      oauth_url="https://zoom.test/oauth/token",
                      transport=httpx.MockTransport(handler), max_retries=3, backoff=0.001)
    with zoom, pytest.raises(RetryableAPIError, match="ReadTimeout") as caught:
        zoom.get("/users", label="MEDIUM")
    assert len(attempts) == 4 and caught.value.status == 0


def test_token_endpoint_outage_is_retried() -> None:
    token_calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            token_calls.append(request)
            if len(token_calls) == 1:
                return httpx.Response(503, json={"code": 503, "message": "Service Unavailable"})
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3599})
        return httpx.Response(200, json={"users": []})

    zoom = ZoomClient(CREDS, api_url="https://zoom.test/v2",
                      oauth_url="https://zoom.test/oauth/token",
                      transport=httpx.MockTransport(handler), backoff=0.001)
    with zoom:
        assert zoom.get("/users", label="MEDIUM") == {"users": []}
    assert len(token_calls) == 2


def test_429_is_paced_and_retried(emu: RunningEmulator) -> None:
    # Zoom allows 1 Light call a second here, and (as it sometimes does) sends no
    # X-RateLimit-* headers to warn of it: the second call meets a 429 with Retry-After: 1.
    emu.emulator.limiter.limits["LIGHT"] = 1
    emu.emulator.faults.configure(FaultConfig(omit_ratelimit_headers=True))
    user = next(iter(emu.emulator.dataset.users))
    with client_for(emu) as zoom:
        zoom.get(f"/users/{user}", label="LIGHT")
        emu.emulator.faults.configure(FaultConfig())
        zoom.get(f"/users/{user}", label="LIGHT")
        stats = zoom.stats()["LIGHT"]
    assert stats.throttled == 1 and stats.retries == 1
    assert stats.wait_seconds == pytest.approx(1.0, abs=0.1)


def test_empty_bucket_in_headers_avoids_the_429(emu: RunningEmulator) -> None:
    # The same, with headers: `X-RateLimit-Remaining: 0` makes the pacer wait instead.
    emu.emulator.limiter.limits["LIGHT"] = 1
    user = next(iter(emu.emulator.dataset.users))
    with client_for(emu) as zoom:
        zoom.get(f"/users/{user}", label="LIGHT")
        zoom.get(f"/users/{user}", label="LIGHT")
        stats = zoom.stats()["LIGHT"]
    assert stats.throttled == 0 and stats.calls == 2
    assert stats.wait_seconds == pytest.approx(1.0, abs=0.1)


def test_throttling_has_its_own_bound() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3599})
        return httpx.Response(429, headers={"Retry-After": "0"},
                              json={"code": 429, "message": "per-second rate limit"})

    zoom = ZoomClient(CREDS, api_url="https://zoom.test/v2",
                      oauth_url="https://zoom.test/oauth/token",
                      transport=httpx.MockTransport(handler), max_retries=0, max_throttled=3)
    with zoom, pytest.raises(RetryableAPIError, match=r"gave up after 4 attempts \(4 throttled\)"):
        zoom.get("/items", label="LIGHT")
    assert zoom.stats()["LIGHT"].throttled == 4
