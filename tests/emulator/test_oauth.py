"""Server-to-Server OAuth in the emulator: the token endpoint and Bearer checks."""

from __future__ import annotations

import asyncio
import base64
import threading
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zoomsync.emulator.clock import Clock
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS, DEFAULT_SCOPES, TokenIssuer

CREDS = DEFAULT_CREDENTIALS
START = datetime(2026, 5, 30, 12, 0, tzinfo=UTC)
API_URL = "http://127.0.0.1:9999"
GRANT = {"grant_type": "account_credentials", "account_id": CREDS.account_id}


def make_app(issuer: TokenIssuer) -> Starlette:
    async def ping(request: Request) -> Response:
        who = issuer.authenticate(request.headers.get("authorization"))
        if isinstance(who, Response):
            return who
        return JSONResponse({"account_id": who})

    return Starlette(
        routes=[
            Route("/oauth/token", issuer.token_endpoint, methods=["POST"]),
            Route("/v2/ping", ping),
        ]
    )


def call(app: Starlette, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emu") as client:
            r = await client.request(method, url, **kwargs)
            await r.aread()
            return r

    return asyncio.run(go())


def mint(app: Starlette, **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("auth", (CREDS.client_id, CREDS.client_secret))
    return call(app, "POST", "/oauth/token", **kwargs)


def ping(app: Starlette, token: str) -> httpx.Response:
    return call(app, "GET", "/v2/ping", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def clock() -> Clock:
    return Clock(START, frozen=True)


@pytest.fixture
def issuer(clock: Clock) -> TokenIssuer:
    return TokenIssuer(clock, CREDS, api_url=API_URL)


@pytest.fixture
def app(issuer: TokenIssuer) -> Starlette:
    return make_app(issuer)


def test_token_from_form_body(app: Starlette, issuer: TokenIssuer) -> None:
    r = mint(app, data=GRANT)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "api_url"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3599
    assert body["scope"] == " ".join(DEFAULT_SCOPES)
    assert body["api_url"] == API_URL
    assert r.headers["cache-control"] == "no-store"
    assert len(body["access_token"]) >= 40
    assert ping(app, body["access_token"]).json() == {"account_id": CREDS.account_id}
    assert issuer.tokens_issued == 1


def test_token_from_query_string(app: Starlette) -> None:
    # Zoom's own examples: POST /oauth/token?grant_type=account_credentials&account_id=...
    r = mint(app, params=GRANT)
    assert r.status_code == 200
    assert ping(app, r.json()["access_token"]).status_code == 200


def test_custom_ttl_and_scopes(clock: Clock) -> None:
    issuer = TokenIssuer(clock, CREDS, ttl=3600, api_url=API_URL, scopes=["user:read:admin"])
    body = mint(make_app(issuer), data=GRANT).json()
    assert (body["expires_in"], body["scope"]) == (3600, "user:read:admin")


@pytest.mark.parametrize(
    "auth",
    [
        (CREDS.client_id, "wrong-secret"),
        ("wrong-client", CREDS.client_secret),
        None,
    ],
)
def test_bad_client_credentials(app: Starlette, issuer: TokenIssuer, auth: Any) -> None:
    r = mint(app, data=GRANT, auth=auth)
    assert r.status_code == 401
    assert r.json() == {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}
    assert issuer.tokens_issued == 0


def test_malformed_basic_header(app: Starlette) -> None:
    for header in ("Basic not-base64!", "Basic " + base64.b64encode(b"no-colon").decode()):
        r = call(app, "POST", "/oauth/token", data=GRANT, headers={"Authorization": header})
        assert r.status_code == 401
        assert r.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "data",
    [
        {"account_id": CREDS.account_id},
        {"grant_type": "client_credentials", "account_id": CREDS.account_id},
    ],
)
def test_missing_or_unsupported_grant(app: Starlette, data: dict[str, str]) -> None:
    r = mint(app, data=data)
    assert r.status_code == 400
    assert r.json() == {"reason": "unsupported grant type", "error": "unsupported_grant_type"}


@pytest.mark.parametrize("account_id", [None, "", "someone_elses_account"])
def test_missing_or_wrong_account(app: Starlette, account_id: str | None) -> None:
    data = {"grant_type": "account_credentials"}
    if account_id is not None:
        data["account_id"] = account_id
    r = mint(app, data=data)
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "invalid_request"
    assert "account_id" in body["reason"]


def test_token_expires_on_the_emulator_clock(app: Starlette, clock: Clock) -> None:
    token = mint(app, data=GRANT).json()["access_token"]
    clock.advance(3598)
    assert ping(app, token).status_code == 200
    clock.advance(2)  # now 3600 s after minting; the token lived 3599
    r = ping(app, token)
    assert r.status_code == 401
    assert r.json() == {"code": 124, "message": "Access token is expired."}
    # A fresh token works again.
    assert ping(app, mint(app, data=GRANT).json()["access_token"]).status_code == 200


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer unknown-token", "Basic abc"])
def test_invalid_bearer(issuer: TokenIssuer, header: str | None) -> None:
    issuer.issue(CREDS.account_id)
    r = issuer.authenticate(header)
    assert isinstance(r, Response)
    assert r.status_code == 401
    assert r.body == b'{"code":124,"message":"Invalid access token."}'


def test_bearer_scheme_is_case_insensitive(issuer: TokenIssuer) -> None:
    token = issuer.issue(CREDS.account_id)
    assert issuer.authenticate(f"bearer {token}") == CREDS.account_id


def test_revoke_one_and_all(app: Starlette, issuer: TokenIssuer) -> None:
    first = mint(app, data=GRANT).json()["access_token"]
    second = mint(app, data=GRANT).json()["access_token"]
    assert issuer.revoke(first) is True
    assert issuer.revoke(first) is False
    r = ping(app, first)
    assert (r.status_code, r.json()) == (401, {"code": 124, "message": "Invalid access token."})
    assert ping(app, second).status_code == 200
    assert issuer.revoke_all() == 1
    assert ping(app, second).json()["code"] == 124
    assert issuer.counters() == {"tokens_issued": 2, "tokens_live": 0}


def test_multiple_tokens_stay_valid_by_default(app: Starlette) -> None:
    tokens = [mint(app, data=GRANT).json()["access_token"] for _ in range(3)]
    assert len(set(tokens)) == 3
    assert all(ping(app, t).status_code == 200 for t in tokens)


def test_invalidate_previous_mimics_2022_behaviour(clock: Clock) -> None:
    issuer = TokenIssuer(clock, CREDS, api_url=API_URL, invalidate_previous=True)
    app = make_app(issuer)
    old = mint(app, data=GRANT).json()["access_token"]
    new = mint(app, data=GRANT).json()["access_token"]
    r = ping(app, old)
    assert (r.status_code, r.json()) == (401, {"code": 124, "message": "Invalid access token."})
    assert ping(app, new).status_code == 200
    assert issuer.tokens_issued == 2


def test_concurrent_minting_is_thread_safe(issuer: TokenIssuer) -> None:
    tokens: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(50):
            token = issuer.issue(CREDS.account_id)
            with lock:
                tokens.append(token)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert issuer.tokens_issued == 400
    assert len(set(tokens)) == 400
    assert all(issuer.authenticate(f"Bearer {t}") == CREDS.account_id for t in tokens)
