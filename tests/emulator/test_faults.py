"""Seeded fault injection: determinism, each fault's observable effect, exclusions."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from zoomsync.emulator.clock import Clock
from zoomsync.emulator.faults import (
    FaultConfig,
    FaultInjector,
    FaultMiddleware,
    InjectedConnectionReset,
)
from zoomsync.emulator.limits import QPS_MESSAGE, RateLimiter
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS, TokenIssuer

CREDS = DEFAULT_CREDENTIALS
GRANT = {"grant_type": "account_credentials", "account_id": CREDS.account_id}


class Stack:
    """A tiny emulator: OAuth, an admin ping and a rate-limited /v2/ping behind the faults."""

    def __init__(self, seed: int, config: FaultConfig, *, limits: dict[str, float] | None = None):
        self.clock = Clock(datetime(2026, 5, 30, 12, 0, tzinfo=UTC), frozen=True)
        self.issuer = TokenIssuer(self.clock, CREDS, api_url="http://emu")
        self.limiter = RateLimiter(self.clock, limits=limits)
        self.injector = FaultInjector(seed, config, on_revoke=self.issuer.revoke_all)
        self.app: ASGIApp = FaultMiddleware(self._inner(), self.injector)

    def _inner(self) -> Starlette:
        async def ping(request: Request) -> Response:
            who = self.issuer.authenticate(request.headers.get("authorization"))
            if isinstance(who, Response):
                return who
            decision = self.limiter.check(who, "LIGHT")
            if not decision.allowed:
                return decision.response()
            return JSONResponse({"ok": True}, headers=decision.headers)

        async def admin(request: Request) -> Response:
            return JSONResponse({"admin": True})

        return Starlette(
            routes=[
                Route("/oauth/token", self.issuer.token_endpoint, methods=["POST"]),
                Route("/_emulator/ping", admin),
                Route("/v2/ping", ping),
            ]
        )


def run(app: ASGIApp, requests: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
    """Send `requests` one after another through httpx.ASGITransport."""

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emu") as client:
            out = []
            for method, url, kwargs in requests:
                r = await client.request(method, url, **kwargs)
                await r.aread()
                out.append(r)
            return out

    return asyncio.run(go())


def api_calls(stack: Stack, n: int) -> list[httpx.Response]:
    token = stack.issuer.issue(CREDS.account_id)
    auth = {"headers": {"Authorization": f"Bearer {token}"}}
    return run(stack.app, [("GET", "/v2/ping", auth)] * n)


def mint_request() -> tuple[str, str, dict[str, Any]]:
    return ("POST", "/oauth/token", {"data": GRANT, "auth": (CREDS.client_id, CREDS.client_secret)})


def limit_headers(r: httpx.Response) -> dict[str, str]:
    return {
        k: v for k, v in r.headers.items() if k.startswith("x-ratelimit-") or k == "retry-after"
    }


MIXED = FaultConfig(error_5xx=0.2, rate_429=0.2, revoke_token=0.1)


def test_same_seed_same_sequence() -> None:
    first = [r.status_code for r in api_calls(Stack(7, MIXED), 40)]
    again = [r.status_code for r in api_calls(Stack(7, MIXED), 40)]
    other = [r.status_code for r in api_calls(Stack(8, MIXED), 40)]
    assert first == again
    assert first != other
    assert {200, 401, 429} <= set(first)
    assert set(first) & {500, 502, 503, 504}


def test_plans_are_reproducible_and_config_independent_in_draws() -> None:
    a, b = FaultInjector(3, MIXED), FaultInjector(3, MIXED)
    assert [a.plan() for _ in range(50)] == [b.plan() for _ in range(50)]
    # Every request takes the same three draws, so a slow setting does not reshuffle
    # which requests get the other faults.
    c = FaultInjector(3, FaultConfig(error_5xx=0.2, rate_429=0.2, revoke_token=0.1, slow=0.5))
    d = FaultInjector(3, MIXED)
    assert [p.fault for p in (c.plan() for _ in range(50))] == [
        p.fault for p in (d.plan() for _ in range(50))
    ]


def test_configure_at_run_time_and_reseed() -> None:
    stack = Stack(1, FaultConfig())
    assert {r.status_code for r in api_calls(stack, 5)} == {200}
    stack.injector.configure(FaultConfig(rate_429=1))
    assert {r.status_code for r in api_calls(stack, 3)} == {429}
    stack.injector.configure(MIXED, seed=11)
    first = [p.fault for p in (stack.injector.plan() for _ in range(20))]
    stack.injector.configure(MIXED, seed=11)
    assert [p.fault for p in (stack.injector.plan() for _ in range(20))] == first


def test_error_5xx_statuses_and_bodies() -> None:
    stack = Stack(5, FaultConfig(error_5xx=1))
    responses = api_calls(stack, 40)
    by_status = {r.status_code: r for r in responses}
    assert set(by_status) == {500, 502, 503, 504}
    assert by_status[500].json() == {"code": 500, "message": "Internal Server Error"}
    assert by_status[503].json() == {"code": 503, "message": "Service Unavailable"}
    # Gateways answer in HTML; a client must not expect JSON.
    for status, title in ((502, "502 Bad Gateway"), (504, "504 Gateway Time-out")):
        r = by_status[status]
        assert r.headers["content-type"].startswith("text/html")
        assert f"<title>{title}</title>" in r.text
    assert stack.injector.counters() == {
        "requests": 40,
        "slow": 0,
        "error_5xx": 40,
        "rate_429": 0,
        "reset": 0,
        "revoke_token": 0,
        "targeted": 0,
        "revoke_every": 0,
    }
    assert stack.limiter.counters()["calls"] == 0  # the route never ran


def test_rate_429_storm() -> None:
    stack = Stack(5, FaultConfig(rate_429=1))
    (r,) = api_calls(stack, 1)
    assert r.status_code == 429
    assert r.json() == {"code": 429, "message": QPS_MESSAGE}
    assert limit_headers(r) == {
        "x-ratelimit-type": "QPS",
        "x-ratelimit-remaining": "0",
        "retry-after": "1",
    }
    stack.injector.configure(FaultConfig(rate_429=1, omit_ratelimit_headers=True))
    (r,) = api_calls(stack, 1)
    assert r.status_code == 429
    assert limit_headers(r) == {}


def test_revoke_token_forces_124_then_a_new_token_works() -> None:
    stack = Stack(5, FaultConfig(revoke_token=1))
    (mint,) = run(stack.app, [mint_request()])  # /oauth is never faulted
    token = mint.json()["access_token"]
    auth = {"headers": {"Authorization": f"Bearer {token}"}}
    (r,) = run(stack.app, [("GET", "/v2/ping", auth)])
    assert (r.status_code, r.json()) == (401, {"code": 124, "message": "Invalid access token."})
    assert stack.injector.counters()["revoke_token"] == 1
    stack.injector.configure(FaultConfig())
    fresh = run(stack.app, [mint_request()])[0].json()["access_token"]
    (r,) = run(stack.app, [("GET", "/v2/ping", {"headers": {"Authorization": f"Bearer {fresh}"}})])
    assert r.status_code == 200


def test_slow_delays_then_passes_through() -> None:
    stack = Stack(5, FaultConfig(slow=1, slow_ms=150))
    started = time.monotonic()
    responses = api_calls(stack, 2)
    assert time.monotonic() - started >= 0.3
    assert [r.status_code for r in responses] == [200, 200]
    assert stack.injector.counters()["slow"] == 2


def test_omit_ratelimit_headers_strips_them_from_real_responses() -> None:
    stack = Stack(5, FaultConfig(), limits={"LIGHT": 1})
    ok, limited = api_calls(stack, 2)
    assert limit_headers(ok) == {
        "x-ratelimit-category": "Light",
        "x-ratelimit-limit": "1",
        "x-ratelimit-remaining": "0",
    }
    assert limit_headers(limited)["retry-after"] == "1"
    stack.injector.configure(FaultConfig(omit_ratelimit_headers=True))
    stack.clock.advance(1)
    ok, limited = api_calls(stack, 2)
    assert (ok.status_code, limited.status_code) == (200, 429)
    assert limit_headers(ok) == {}
    assert limit_headers(limited) == {}
    assert limited.json()["message"] == QPS_MESSAGE  # only the headers go


def test_excluded_prefixes_are_never_faulted() -> None:
    stack = Stack(5, FaultConfig(error_5xx=1, slow=1, slow_ms=1000))
    started = time.monotonic()
    minted, admin = run(stack.app, [mint_request(), ("GET", "/_emulator/ping", {})])
    assert time.monotonic() - started < 0.5
    assert minted.status_code == 200
    assert admin.json() == {"admin": True}
    assert stack.injector.counters()["requests"] == 0
    config = FaultConfig(exclude_prefixes=("/oauth/",))
    assert config.excludes("/oauth") and config.excludes("/oauth/token")
    assert not config.excludes("/oauthx") and not config.excludes("/v2/users")


@pytest.mark.parametrize(
    "kwargs",
    [{"error_5xx": 1.5}, {"slow": -0.1}, {"error_5xx": 0.6, "reset": 0.5}, {"slow_ms": -1}],
)
def test_invalid_config(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        FaultConfig(**kwargs)


def test_reset_in_process_raises() -> None:
    # httpx.ASGITransport re-raises app exceptions, so in-process callers see ours.
    with pytest.raises(InjectedConnectionReset):
        api_calls(Stack(5, FaultConfig(reset=1)), 1)


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Serve `app` with uvicorn on a free 127.0.0.1 port in a thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # log_config=None leaves the process's logging alone (records reach caplog).
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None, http="h11"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


def test_reset_over_a_real_socket(caplog: pytest.LogCaptureFixture) -> None:
    stack = Stack(5, FaultConfig(reset=1))
    token = stack.issuer.issue(CREDS.account_id)
    headers = {"Authorization": f"Bearer {token}"}
    with (
        caplog.at_level(logging.ERROR, logger="uvicorn.error"),
        serve(stack.app) as base,
        httpx.Client(base_url=base, timeout=5) as client,
    ):
        # Status line and headers arrive, then EOF before Content-Length bytes.
        with pytest.raises(httpx.RemoteProtocolError, match="peer closed connection"):
            client.get("/v2/ping", headers=headers)
        # The server survives; the client's next connection is fine.
        stack.injector.configure(FaultConfig())
        assert client.get("/v2/ping", headers=headers).status_code == 200
    assert stack.injector.counters()["reset"] == 1
    assert any("Exception in ASGI application" in r.getMessage() for r in caplog.records)
