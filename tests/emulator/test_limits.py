"""Per-account, per-label rate limits: buckets, the shared daily cap, headers and counters."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zoomsync.emulator.clock import Clock
from zoomsync.emulator.limits import DAILY_MESSAGE, QPS_MESSAGE, RateLimiter, normalize_label
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS, TokenIssuer

ACCOUNT = DEFAULT_CREDENTIALS.account_id
# The documented daily-limit example answers "Retry-After: 2020-05-31T00:00:00Z".
LATE = datetime(2020, 5, 30, 23, 59, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 5, 30, 12, 0, tzinfo=UTC), frozen=True)


def make_app(issuer: TokenIssuer, limiter: RateLimiter) -> Starlette:
    async def ping(request: Request) -> Response:
        who = issuer.authenticate(request.headers.get("authorization"))
        if isinstance(who, Response):
            return who
        decision = limiter.check(who, request.query_params.get("label", "LIGHT"))
        if not decision.allowed:
            return decision.response()
        return JSONResponse({"ok": True}, headers=decision.headers)

    return Starlette(
        routes=[
            Route("/oauth/token", issuer.token_endpoint, methods=["POST"]),
            Route("/v2/ping", ping),
        ]
    )


def get_many(app: Starlette, token: str, labels: list[str]) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://emu") as client:
            out = []
            for label in labels:
                r = await client.get("/v2/ping", params={"label": label}, headers=headers)
                await r.aread()
                out.append(r)
            return out

    return asyncio.run(go())


def ratelimit_headers(r: httpx.Response) -> dict[str, str]:
    return {
        k.lower(): v
        for k, v in r.headers.items()
        if k.lower().startswith("x-ratelimit-") or k.lower() == "retry-after"
    }


def test_burst_over_one_label_is_throttled_while_another_is_served(clock: Clock) -> None:
    issuer = TokenIssuer(clock, api_url="http://emu")
    limiter = RateLimiter(clock, "pro", limits={"HEAVY": 3})
    app = make_app(issuer, limiter)
    token = issuer.issue(ACCOUNT)
    r = get_many(app, token, ["HEAVY"] * 4 + ["LIGHT"])
    assert [x.status_code for x in r] == [200, 200, 200, 429, 200]
    assert r[3].json() == {"code": 429, "message": QPS_MESSAGE}
    assert ratelimit_headers(r[3]) == {
        "x-ratelimit-category": "Heavy",
        "x-ratelimit-type": "QPS",
        "x-ratelimit-limit": "3",
        "x-ratelimit-remaining": "0",
        "retry-after": "1",
    }
    # Light has no daily budget: its headers show the per-second bucket (Pro: 30/s).
    assert ratelimit_headers(r[4]) == {
        "x-ratelimit-category": "Light",
        "x-ratelimit-limit": "30",
        "x-ratelimit-remaining": "29",
    }
    # Heavy successes report the daily budget shared with Resource-intensive.
    assert ratelimit_headers(r[2]) == {
        "x-ratelimit-category": "Heavy",
        "x-ratelimit-limit": "30000",
        "x-ratelimit-remaining": "29997",
    }


def test_pro_and_business_tables(clock: Clock) -> None:
    expected = {
        "pro": {"LIGHT": 30, "MEDIUM": 20, "HEAVY": 10},
        "business": {"LIGHT": 80, "MEDIUM": 60, "HEAVY": 40},
    }
    for plan, table in expected.items():
        limiter = RateLimiter(clock, plan)
        for label, limit in table.items():
            verdicts = [limiter.check(ACCOUNT, label).allowed for _ in range(limit + 1)]
            assert verdicts == [True] * limit + [False], (plan, label)
        assert limiter.daily_cap == {"pro": 30_000, "business": 60_000}[plan]


def test_resource_intensive_is_per_minute(clock: Clock) -> None:
    limiter = RateLimiter(clock, "pro")  # 10 per minute
    assert all(limiter.check(ACCOUNT, "RESOURCE_INTENSIVE").allowed for _ in range(10))
    denied = limiter.check(ACCOUNT, "RESOURCE_INTENSIVE")
    assert not denied.allowed
    assert denied.headers["X-RateLimit-Category"] == "Resource-intensive"
    assert denied.headers["X-RateLimit-Limit"] == "10"
    assert denied.headers["Retry-After"] == "6"  # one token per 6 s
    clock.advance(5)
    assert limiter.check(ACCOUNT, "RESOURCE_INTENSIVE").headers["Retry-After"] == "1"
    clock.advance(1)
    assert limiter.check(ACCOUNT, "RESOURCE_INTENSIVE").allowed
    assert not limiter.check(ACCOUNT, "RESOURCE_INTENSIVE").allowed


def test_bucket_refills_and_rejections_consume_nothing(clock: Clock) -> None:
    limiter = RateLimiter(clock, limits={"MEDIUM": 4})
    assert all(limiter.check(ACCOUNT, "MEDIUM").allowed for _ in range(4))
    assert not any(limiter.check(ACCOUNT, "MEDIUM").allowed for _ in range(20))
    clock.advance(0.25)  # exactly one token back, however many calls were refused
    assert limiter.check(ACCOUNT, "MEDIUM").allowed
    assert not limiter.check(ACCOUNT, "MEDIUM").allowed
    clock.advance(10)  # refill is capped at the bucket's capacity
    assert [limiter.check(ACCOUNT, "MEDIUM").allowed for _ in range(5)] == [True] * 4 + [False]


def test_buckets_are_per_account(clock: Clock) -> None:
    limiter = RateLimiter(clock, limits={"HEAVY": 1})
    assert limiter.check("a", "HEAVY").allowed
    assert not limiter.check("a", "HEAVY").allowed
    assert limiter.check("b", "HEAVY").allowed


def test_daily_cap_shared_by_heavy_and_resource_intensive(clock: Clock) -> None:
    clock.set(LATE)
    limiter = RateLimiter(
        clock, "pro", limits={"HEAVY": 100, "RESOURCE_INTENSIVE": 100}, daily_cap=5
    )
    labels = ["HEAVY", "RESOURCE_INTENSIVE", "HEAVY", "RESOURCE_INTENSIVE", "HEAVY"]
    assert all(limiter.check(ACCOUNT, label).allowed for label in labels)
    for label, category in (("HEAVY", "Heavy"), ("RESOURCE_INTENSIVE", "Resource-intensive")):
        d = limiter.check(ACCOUNT, label)
        assert not d.allowed
        assert d.body == {"code": 429, "message": DAILY_MESSAGE}
        assert d.headers == {
            "X-RateLimit-Category": category,
            "X-RateLimit-Type": "Daily-limit",
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "Retry-After": "2020-05-31T00:00:00Z",
        }
    assert limiter.check(ACCOUNT, "LIGHT").allowed  # Light and Medium have no daily cap
    assert limiter.check("other_account", "HEAVY").allowed
    clock.set(datetime(2020, 5, 31, 0, 0, 0, tzinfo=UTC))  # 00:00 UTC resets the cap
    d = limiter.check(ACCOUNT, "HEAVY")
    assert d.allowed
    assert d.headers["X-RateLimit-Remaining"] == "4"


def test_daily_limit_over_http(clock: Clock) -> None:
    clock.set(LATE)
    issuer = TokenIssuer(clock, api_url="http://emu")
    limiter = RateLimiter(clock, "pro", daily_cap=2)
    app = make_app(issuer, limiter)
    r = get_many(app, issuer.issue(ACCOUNT), ["HEAVY", "RESOURCE_INTENSIVE", "HEAVY"])
    assert [x.status_code for x in r] == [200, 200, 429]
    assert r[2].json()["message"] == DAILY_MESSAGE
    assert ratelimit_headers(r[2])["retry-after"] == "2020-05-31T00:00:00Z"
    assert ratelimit_headers(r[2])["x-ratelimit-type"] == "Daily-limit"


def test_counters_and_reset(clock: Clock) -> None:
    limiter = RateLimiter(clock, limits={"HEAVY": 2}, daily_cap=3)
    for _ in range(3):
        limiter.check(ACCOUNT, "HEAVY")  # 2 allowed, 1 QPS 429
    limiter.check(ACCOUNT, "LIGHT")
    clock.advance(1)
    limiter.check(ACCOUNT, "RESOURCE_INTENSIVE")  # 3rd daily unit
    limiter.check(ACCOUNT, "HEAVY")  # daily 429
    c = limiter.counters()
    assert c["labels"]["HEAVY"] == {"calls": 2, "throttled": 2, "throttled_daily": 1}
    assert c["labels"]["LIGHT"] == {"calls": 1, "throttled": 0, "throttled_daily": 0}
    assert c["labels"]["RESOURCE_INTENSIVE"]["calls"] == 1
    assert c["daily_used"] == {ACCOUNT: 3}
    assert (c["calls"], c["throttled"], c["daily_cap"], c["plan"]) == (4, 2, 3, "pro")
    limiter.reset()
    c = limiter.counters()
    assert (c["calls"], c["throttled"], c["daily_used"]) == (0, 0, {})
    assert limiter.check(ACCOUNT, "HEAVY").allowed  # budget restored too


def test_emit_headers_false_omits_all_ratelimit_headers(clock: Clock) -> None:
    issuer = TokenIssuer(clock, api_url="http://emu")
    limiter = RateLimiter(clock, limits={"LIGHT": 1}, emit_headers=False)
    app = make_app(issuer, limiter)
    r = get_many(app, issuer.issue(ACCOUNT), ["LIGHT", "LIGHT"])
    assert [x.status_code for x in r] == [200, 429]
    assert r[1].json() == {"code": 429, "message": QPS_MESSAGE}
    assert ratelimit_headers(r[0]) == {}
    assert ratelimit_headers(r[1]) == {}


def test_labels_are_normalised_and_validated(clock: Clock) -> None:
    assert normalize_label("Resource-intensive") == "RESOURCE_INTENSIVE"
    assert normalize_label(" heavy ") == "HEAVY"
    with pytest.raises(ValueError, match="unknown rate limit label"):
        normalize_label("EXTREME")
    with pytest.raises(ValueError, match="unknown plan"):
        RateLimiter(clock, "free")
    limiter = RateLimiter(clock, limits={"light": 0})
    d = limiter.check(ACCOUNT, "Light")
    assert not d.allowed


def test_response_only_for_rejections(clock: Clock) -> None:
    d: Any = RateLimiter(clock).check(ACCOUNT, "LIGHT")
    with pytest.raises(ValueError):
        d.response()
