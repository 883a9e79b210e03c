"""Deterministic faults: targeted modes for matching paths, and revoke_every n-th request.

Each test drives a whole emulator through its ASGI app and judges what a Zoom client sees.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.conftest import api_client, small_account
from tests.emulator import asgi
from tests.emulator.asgi import ANCHOR, asgi_client, fetch_token
from zoomsync.emulator.app import Emulator
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.faults import (
    REPEAT_TOKEN,
    FaultConfig,
    FaultInjector,
    FaultMiddleware,
    FaultTarget,
)
from zoomsync.errors import ConfigError

Call = tuple[str, dict[str, Any]]  # (path below /v2, query)


@contextmanager
def emulator(faults: FaultConfig) -> Iterator[Emulator]:
    """A small account on a frozen clock with `faults`, limits out of the way."""
    small = DatasetConfig(anchor=ANCHOR, users=8, meetings_per_user=1)
    emu = Emulator(asgi.config(dataset=small, faults=faults))
    try:
        yield emu
    finally:
        emu.webhooks.close()


def targets(*pairs: tuple[str, str]) -> FaultConfig:
    return FaultConfig(targets=tuple(FaultTarget(path, mode) for path, mode in pairs))


async def _get(client: httpx.AsyncClient, token: str, path: str,
               params: dict[str, Any]) -> httpx.Response:
    r = await client.get("/v2" + path, params=params, headers={"Authorization": f"Bearer {token}"})
    await r.aread()
    return r


def get(emu: Emulator, path: str, **params: Any) -> httpx.Response:
    """One API call with a fresh token (minting is never faulted nor counted)."""
    return calls(emu, [(path, params)])[0]


def calls(emu: Emulator, requests: list[Call]) -> list[httpx.Response]:
    """`requests` one after another, each with a token minted just before it."""

    async def go() -> list[httpx.Response]:
        async with asgi_client(emu) as client:
            return [await _get(client, await fetch_token(client), path, params)
                    for path, params in requests]

    return asyncio.run(go())


def follow(emu: Emulator, path: str, pages: int, **params: Any) -> list[dict[str, Any]]:
    """Up to `pages` pages, each asked for with the token the one before it gave."""
    bodies: list[dict[str, Any]] = []
    token = ""
    for _ in range(pages):
        r = get(emu, path, **({**params, "next_page_token": token} if token else params))
        assert r.status_code == 200, r.text
        bodies.append(r.json())
        token = bodies[-1]["next_page_token"]
        if not token:
            break
    return bodies


# -- targeted modes ---------------------------------------------------------------------------

def test_repeat_token_serves_page_one_again_under_the_same_token() -> None:
    with emulator(targets(("/users", "repeat_token"))) as emu:
        first, second = follow(emu, "/users", 2, page_size=2)
        assert first["next_page_token"] == second["next_page_token"] == REPEAT_TOKEN
        assert len(first["users"]) == 2
        assert second["users"] == first["users"]
        assert emu.faults.counters()["targeted"] == 2


def test_repeat_rows_ends_each_page_with_its_first_record_again() -> None:
    with emulator(targets(("/users", "repeat_rows"))) as emu:
        first, second = follow(emu, "/users", 2, page_size=2)
        assert [len(p["users"]) for p in (first, second)] == [3, 3]
        assert first["users"][2] == first["users"][0]
        assert second["users"][2] == second["users"][0] != first["users"][0]
        assert first["next_page_token"] and first["total_records"] > 2  # paging unchanged


def test_endless_tokens_page_forever_with_no_rows() -> None:
    with emulator(targets(("/users", "endless_tokens"))) as emu:
        pages = follow(emu, "/users", 5, page_size=2)
        assert len(pages) == 5
        assert [len(p["users"]) for p in pages] == [0] * 5
        tokens = [p["next_page_token"] for p in pages]
        assert all(tokens) and len(set(tokens)) == 5
        assert all(p["total_records"] > 0 for p in pages)  # the count still promises rows


def test_always_503_only_on_the_matched_path() -> None:
    with emulator(targets(("/users", "always_503"))) as emu:
        user_id = emu.dataset.live_users()[0].id
        users, groups, one = calls(emu, [("/users", {}), ("/groups", {}),
                                         (f"/users/{user_id}", {})])
        assert (users.status_code, users.json()) == (
            503, {"code": 503, "message": "Service Unavailable"})
        assert groups.status_code == 200 and "groups" in groups.json()
        assert one.status_code == 200 and one.json()["id"] == user_id  # a glob, not a prefix
        assert emu.faults.counters()["targeted"] == 1


def test_globs_match_with_or_without_the_v2_prefix() -> None:
    target = FaultTarget("/users/*/meetings", "always_503")
    assert target.matches("/v2/users/abc/meetings", {})
    assert not target.matches("/v2/users/abc", {})
    assert FaultTarget("/v2/users", "always_503").matches("/v2/users", {})
    assert not FaultTarget("/users", "always_503").matches("/v2/groups", {})


def test_not_json_answers_200_with_a_web_page() -> None:
    with emulator(targets(("/users", "not_json"))) as emu:
        r = get(emu, "/users")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        with pytest.raises(ValueError):
            json.loads(r.text)


def test_no_list_key_keeps_the_counts_and_drops_the_list() -> None:
    with emulator(targets(("/users", "no_list_key"))) as emu:
        body = get(emu, "/users", page_size=2).json()
        assert body["total_records"] > 0
        assert "users" not in body
        assert not any(isinstance(v, list) for v in body.values())


def test_query_narrows_a_target() -> None:
    inactive = FaultTarget("/users", "no_list_key", {"status": "inactive"})
    with emulator(FaultConfig(targets=(inactive,))) as emu:
        faulted, normal = calls(emu, [("/users", {"status": "inactive"}), ("/users", {})])
        assert "users" not in faulted.json()
        assert "users" in normal.json()
        assert emu.faults.counters()["targeted"] == 1


def test_errors_from_the_app_pass_through_a_rewriting_target() -> None:
    # The token check still bites: a rewrite applies to successful lists only.
    with emulator(targets(("/users", "repeat_token"))) as emu:
        async def go() -> httpx.Response:
            async with asgi_client(emu) as client:
                return await _get(client, "not-a-token", "/users", {})

        r = asyncio.run(go())
        assert (r.status_code, r.json()) == (401, {"code": 124, "message": "Invalid access token."})


def test_only_targeted_responses_are_buffered() -> None:
    """An unmatched request streams chunk by chunk; a rewritten one comes in one piece with
    a Content-Length that fits the new body."""

    async def chunked(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"40")]})
        await send({"type": "http.response.body", "body": b'{"total_records":2,',
                    "more_body": True})
        await send({"type": "http.response.body", "body": b'"users":[{"id":"a"}]}'})

    app = FaultMiddleware(chunked, FaultInjector(1, targets(("/v2/users", "no_list_key"))))

    def sent(path: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: Any) -> None:
            messages.append(message)

        scope = {"type": "http", "method": "GET", "path": path, "query_string": b"",
                 "headers": []}
        asyncio.run(app(scope, receive, send))
        return messages

    plain = sent("/v2/groups")
    assert [m["type"] for m in plain] == ["http.response.start", *["http.response.body"] * 2]
    start, body = sent("/v2/users")
    assert body["body"] == b'{"total_records":2}'
    assert dict(start["headers"])[b"content-length"] == b"19"


def test_rewritten_pages_over_a_real_socket() -> None:
    # uvicorn (h11) refuses a body that disagrees with its Content-Length, so this checks
    # the rewritten responses are well-formed HTTP, not only what ASGITransport accepts.
    faults = targets(("/users", "no_list_key"), ("/groups", "endless_tokens"))
    with small_account(faults=faults) as emu, api_client(emu) as client:
        users = client.get("/users")
        assert users.status_code == 200 and "users" not in users.json()
        groups = client.get("/groups", params={"next_page_token": "anything"})
        assert groups.json()["groups"] == [] and groups.json()["next_page_token"]


# -- revoke_every -----------------------------------------------------------------------------

def test_revoke_every_third_request_meets_a_revoked_token() -> None:
    with emulator(FaultConfig(revoke_every=3)) as emu:
        responses = calls(emu, [("/users", {})] * 6)
        assert [r.status_code for r in responses] == [200, 200, 401, 200, 200, 401]
        for r in (responses[2], responses[5]):
            assert r.json() == {"code": 124, "message": "Invalid access token."}
        assert emu.faults.counters()["revoke_every"] == 2


def test_revoke_every_counts_from_when_it_was_configured() -> None:
    with emulator(FaultConfig()) as emu:
        calls(emu, [("/users", {})] * 2)
        emu.faults.configure(FaultConfig(revoke_every=2))
        assert [r.status_code for r in calls(emu, [("/users", {})] * 4)] == [200, 401, 200, 401]


# -- the seeded sequence ----------------------------------------------------------------------

MIXED = FaultConfig(error_5xx=0.2, rate_429=0.2, revoke_token=0.1)


def statuses(faults: FaultConfig, requests: list[Call]) -> list[int]:
    with emulator(faults) as emu:
        return [r.status_code for r in calls(emu, requests)]


def test_targets_do_not_shift_the_seeded_faults() -> None:
    plain = statuses(MIXED, [("/users", {})] * 30)
    targeted = FaultConfig(error_5xx=0.2, rate_429=0.2, revoke_token=0.1,
                           targets=(FaultTarget("/groups", "always_503"),))
    assert statuses(targeted, [("/users", {})] * 30) == plain
    assert {200, 429} <= set(plain) and set(plain) & {500, 502, 503, 504}
    # Requests a target matches still take their draws, so the requests between them
    # get the faults they would get with no targets at all.
    mixed: list[Call] = [("/users", {}), ("/groups", {})] * 15
    assert statuses(targeted, mixed)[::2] == statuses(MIXED, mixed)[::2]


# -- validation, admin API, CLI ---------------------------------------------------------------

@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: FaultTarget("/users", "meteor"), "use one of repeat_token, endless_tokens"),
        (lambda: FaultTarget("users", "always_503"), "must start with /"),
        (lambda: FaultConfig(revoke_every=-1), "revoke_every must be >= 0"),
        (lambda: FaultConfig(targets=({"path": "/users"},)), "FaultTarget"),  # type: ignore[arg-type]
    ],
)
def test_invalid_deterministic_config(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


async def _admin(emu: Emulator, calls: list[tuple[str, Any]]) -> list[httpx.Response]:
    async with asgi_client(emu) as client:
        return [await client.request(method, "/_emulator/faults", json=body)
                for method, body in calls]


def test_admin_api_round_trip() -> None:
    # The first target that matches a request is the one applied.
    body = {"targets": [{"path": "/users", "mode": "no_list_key",
                         "query": {"status": "inactive"}},
                        {"path": "/users", "mode": "repeat_token"}],
            "revoke_every": 4}
    with emulator(FaultConfig()) as emu:
        put, got = asyncio.run(_admin(emu, [("PUT", body), ("GET", None)]))
        assert put.status_code == 200, put.text
        assert got.json() == put.json()
        assert got.json()["targets"] == body["targets"]
        assert got.json()["revoke_every"] == 4
        # What GET answers can be sent back as it is.
        (again,) = asyncio.run(_admin(emu, [("PUT", got.json())]))
        assert again.json() == got.json()
        assert emu.faults.config.targets[0] == FaultTarget("/users", "no_list_key",
                                                           {"status": "inactive"})
        assert "users" not in get(emu, "/users", status="inactive").json()
        assert get(emu, "/users").json()["next_page_token"] == REPEAT_TOKEN
        assert asyncio.run(_counters(emu))["targeted"] == 2


async def _counters(emu: Emulator) -> dict[str, int]:
    async with asgi_client(emu) as client:
        faults: dict[str, int] = (await client.get("/_emulator/counters")).json()["faults"]
        return faults


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"targets": [{"path": "/users", "mode": "meteor"}]},
         "targets[0]: unknown fault target mode 'meteor'; use one of repeat_token, "
         "endless_tokens, always_503, not_json, no_list_key"),
        ({"targets": [{"path": "users", "mode": "not_json"}]}, "must start with /"),
        ({"targets": {"path": "/users", "mode": "not_json"}}, "targets must be a list"),
        ({"targets": ["/users=not_json"]}, "targets[0] must be an object"),
        ({"targets": [{"path": "/users"}]}, "path and mode must be strings"),
        ({"targets": [{"path": "/u", "mode": "not_json", "when": 1}]}, "unknown fields: when"),
        ({"targets": [{"path": "/u", "mode": "not_json", "query": {"a": 1}}]}, "query must be"),
        ({"revoke_every": -1}, "revoke_every must be a non-negative integer"),
        ({"revoke_every": "3"}, "revoke_every must be a non-negative integer"),
        ({"revoke_every": True}, "revoke_every must be a non-negative integer"),
    ],
)
def test_admin_api_refuses_bad_targets(body: dict[str, Any], message: str) -> None:
    with emulator(FaultConfig()) as emu:
        (r,) = asyncio.run(_admin(emu, [("PUT", body)]))
        assert r.status_code == 400
        assert message in r.json()["error"]
        assert emu.faults.config == FaultConfig()  # nothing changed


def test_cli_parses_targets_and_revoke_every() -> None:
    from zoomsync.cli.emulator import _faults

    config = _faults("revoke_every=5,error_5xx=0.1",
                     ["/users=repeat_token", "/report/*=endless_tokens"])
    assert config.revoke_every == 5 and config.error_5xx == 0.1
    assert config.targets == (FaultTarget("/users", "repeat_token"),
                              FaultTarget("/report/*", "endless_tokens"))
    assert _faults(None, None) == FaultConfig()


@pytest.mark.parametrize(
    ("spec", "targets", "message"),
    [
        (None, ["/users=meteor"], "--fault-target '/users=meteor': unknown fault target mode "
                                  "'meteor'; use one of repeat_token, endless_tokens, "
                                  "always_503, not_json, no_list_key"),
        (None, ["/users"], "use PATH_GLOB=MODE, MODE one of repeat_token"),
        (None, ["users=not_json"], "must start with /"),
        ("revoke_every=x", None, "--faults: revoke_every='x' is not an integer"),
        ("revoke_every=-2", None, "--faults: revoke_every must be >= 0, got -2"),
    ],
)
def test_cli_refuses_bad_values(spec: str | None, targets: list[str] | None,
                                message: str) -> None:
    from zoomsync.cli.emulator import _faults

    with pytest.raises(ConfigError) as caught:
        _faults(spec, targets)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
