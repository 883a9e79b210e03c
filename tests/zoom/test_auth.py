"""Server-to-Server OAuth: one shared token, early renewal, one retry on 401, clear failures."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import closing

import httpx
import pytest

from tests.zoom.conftest import CREDS, client_for
from zoomsync.emulator.server import RunningEmulator
from zoomsync.errors import AuthError, ConfigError
from zoomsync.zoom import Pacer, ZoomClient, ZoomCredentials
from zoomsync.zoom.auth import ServerToServerAuth

SECRET = "wrong-secret-3f9a1c"


def a_user(emu: RunningEmulator) -> str:
    return next(u.id for u in emu.emulator.dataset.users.values() if u.status == "active")


def issued(emu: RunningEmulator) -> int:
    return emu.emulator.issuer.tokens_issued


def test_credentials_never_show_the_secret() -> None:
    creds = ZoomCredentials("acct", "client", SECRET)
    assert SECRET not in repr(creds) and SECRET not in str(creds)
    assert creds.client_secret.get_secret_value() == SECRET
    with pytest.raises(ConfigError, match="ZOOM_CLIENT_SECRET"):
        ZoomCredentials("acct", "client", "")


def test_many_threads_share_one_token(emu: RunningEmulator) -> None:
    user = a_user(emu)
    before = issued(emu)
    start = threading.Barrier(16)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            for _ in range(4):
                zoom.get(f"/users/{user}", label="LIGHT")
        except BaseException as exc:  # reported by the assert below
            errors.append(exc)

    with client_for(emu) as zoom:
        threads = [threading.Thread(target=work) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert issued(emu) - before == 1
        assert zoom.auth.tokens_fetched == 1
        assert zoom.stats()["LIGHT"].calls == 64


def statuses_client(emu: RunningEmulator, auth: httpx.Auth, seen: list[int]) -> httpx.Client:
    return httpx.Client(base_url=emu.api_url, auth=auth,
                        event_hooks={"response": [lambda r: seen.append(r.status_code)]})


# Due 5 minutes before expiry, or at half-life when the token lives less than 10 minutes.
@pytest.mark.parametrize(("ttl", "due"), [(3599, 3599 - 300), (60, 30)])
def test_token_is_renewed_before_it_expires(
    start_emulator: Callable[..., RunningEmulator], ttl: int, due: int
) -> None:
    emu = start_emulator(token_ttl=ttl)
    clock = emu.emulator.clock
    auth = ServerToServerAuth(CREDS, emu.oauth_url, clock=clock.timestamp)
    seen: list[int] = []
    with closing(auth), statuses_client(emu, auth, seen) as http:
        assert http.get("/users").status_code == 200
        first = auth.token()
        clock.advance(due - 2)
        assert http.get("/users").status_code == 200
        assert auth.token() == first  # not due yet
        clock.advance(2)
        assert http.get("/users").status_code == 200
    # Renewed ahead of time: the old token still worked, and no request met a 401.
    assert auth.tokens_fetched == 2 and auth.token() != first
    assert seen == [200, 200, 200]


def test_revoked_token_is_renewed_once(emu: RunningEmulator) -> None:
    user = a_user(emu)
    with client_for(emu) as zoom:
        zoom.get(f"/users/{user}", label="LIGHT")
        emu.emulator.issuer.revoke_all()
        before = issued(emu)
        assert zoom.get(f"/users/{user}", label="LIGHT")["id"] == user
        assert issued(emu) - before == 1
        assert zoom.stats()["LIGHT"].retries == 0  # the auth flow resent it, not a retry


def _refusing(refusals: int) -> tuple[httpx.MockTransport, list[httpx.Request], list[str]]:
    """Zoom refusing the first `refusals` API requests' tokens (code 124), as it does when
    another client of the same app keeps minting tokens; then serving."""
    token_calls: list[httpx.Request] = []
    served: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            token_calls.append(request)
            return httpx.Response(200, json={"access_token": f"t{len(token_calls)}",
                                             "expires_in": 3599})
        if len(served) < refusals:
            served.append("refused")
            return httpx.Response(401, json={"code": 124, "message": "Invalid access token."})
        served.append(request.headers["Authorization"])
        return httpx.Response(200, json={"users": []})

    return httpx.MockTransport(handler), token_calls, served


def test_tokens_invalidated_by_another_client_are_renewed_with_backoff() -> None:
    transport, token_calls, served = _refusing(5)
    waits: list[float] = []
    zoom = ZoomClient(CREDS, api_url="https://zoom.test/v2",
                      oauth_url="https://zoom.test/oauth/token", transport=transport,
                      pacer=Pacer(sleep=waits.append), max_renewals=3, backoff=0.5)
    with zoom:
        assert zoom.get("/users", label="MEDIUM") == {"users": []}
    # Each attempt sends, renews once in the auth flow and resends: 5 refusals take three
    # attempts (two backed off), the first token and three renewals.
    assert len(token_calls) == 4 and served[-1] == "Bearer t4"
    assert zoom.stats()["MEDIUM"].retries == 2  # two attempts backed off, then served


def test_token_refused_through_every_renewal_raises_auth_error() -> None:
    transport, token_calls, _ = _refusing(10**6)
    waits: list[float] = []
    zoom = ZoomClient(CREDS, api_url="https://zoom.test/v2",
                      oauth_url="https://zoom.test/oauth/token", transport=transport,
                      pacer=Pacer(sleep=waits.append), max_renewals=2, backoff=0.5)
    with zoom, pytest.raises(AuthError, match="refused 3 fresh access tokens") as caught:
        zoom.get("/users", label="MEDIUM")
    assert len(token_calls) == 4  # the first token, and one renewal per attempt (3)
    assert zoom.stats()["MEDIUM"].retries == 2  # backed off between attempts, bounded
    assert caught.value.status == 401 and caught.value.code == 124


def test_wrong_secret_is_a_clear_auth_error(emu: RunningEmulator,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    creds = ZoomCredentials(CREDS.account_id, CREDS.client_id, SECRET)
    with client_for(emu, credentials=creds) as zoom, pytest.raises(AuthError) as caught:
        zoom.get("/users", label="MEDIUM")
    text = str(caught.value)
    assert "check ZOOM_CLIENT_ID / ZOOM_CLIENT_SECRET" in text
    assert "\n" not in text
    for shown in (text, repr(caught.value), repr(caught.value.args), caplog.text):
        assert SECRET not in shown


def test_wrong_account_id_names_the_setting(emu: RunningEmulator) -> None:
    creds = ZoomCredentials("not-this-account", CREDS.client_id,
                            CREDS.client_secret.get_secret_value())
    with client_for(emu, credentials=creds) as zoom, \
            pytest.raises(AuthError, match="ZOOM_ACCOUNT_ID"):
        zoom.get("/users", label="MEDIUM")


def test_no_secret_or_token_in_any_log_line(emu: RunningEmulator,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    with client_for(emu) as zoom:
        zoom.get("/users", label="MEDIUM")
        emu.emulator.issuer.revoke_all()
        zoom.get("/users", label="MEDIUM")
        token = zoom.auth.token()
    assert "fetched a Zoom access token" in caplog.text
    assert token not in caplog.text
    assert CREDS.client_secret.get_secret_value() not in caplog.text
