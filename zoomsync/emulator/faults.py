"""Seeded fault injection, as pure ASGI middleware in front of the emulator's routes.

Each API request (HTTP, path not under `exclude_prefixes`) takes exactly three draws from
`random.Random(seed)`: one for "slow", one for the exclusive fault, one for the 5xx status.
The draws do not depend on the config, so for one seed request n always gets the same
numbers and a given config always turns them into the same faults. Concurrent requests
draw in the order they reach the middleware, so only sequential clients are reproducible.

Faults, decided in this order:
- slow (independent): sleep `slow_ms`, then carry on with whatever else was drawn.
- at most one of error_5xx, rate_429, reset, revoke_token (their rates must sum to <= 1).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zoomsync.emulator.limits import QPS_MESSAGE

EXCLUSIVE_FAULTS = ("error_5xx", "rate_429", "reset", "revoke_token")
COUNTED = ("slow", *EXCLUSIVE_FAULTS)
ERROR_STATUSES = (500, 502, 503, 504)

_STRIPPED_PREFIX = b"x-ratelimit-"
_RETRY_AFTER = b"retry-after"


class InjectedConnectionReset(Exception):
    """Raised after a truncated response so the server drops the connection.

    Under uvicorn (h11), a client sees the status line and headers, then EOF before
    `Content-Length` bytes: httpx raises `httpx.RemoteProtocolError("peer closed connection
    without sending complete message body (received N bytes, expected M)")`. Through
    `httpx.ASGITransport` this exception itself reaches the caller.
    """


@dataclass
class FaultConfig:
    """Per-request probabilities of each fault (0 disables it)."""

    error_5xx: float = 0
    rate_429: float = 0
    reset: float = 0
    slow: float = 0
    slow_ms: int = 2000
    revoke_token: float = 0
    omit_ratelimit_headers: bool = False
    # Token minting and the admin API must keep working whatever the chaos settings.
    exclude_prefixes: tuple[str, ...] = ("/oauth", "/_emulator")

    def __post_init__(self) -> None:
        for name in COUNTED:
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
        if sum(getattr(self, name) for name in EXCLUSIVE_FAULTS) > 1:
            raise ValueError(f"{' + '.join(EXCLUSIVE_FAULTS)} must not exceed 1")
        if self.slow_ms < 0:
            raise ValueError("slow_ms must be >= 0")
        self.exclude_prefixes = tuple(p.rstrip("/") for p in self.exclude_prefixes)

    def excludes(self, path: str) -> bool:
        # Whole path segments only: "/oauth" covers "/oauth/token", not "/oauthx".
        return any(path == p or path.startswith(p + "/") for p in self.exclude_prefixes)


@dataclass(frozen=True)
class _Plan:
    config: FaultConfig
    slow: bool
    fault: str | None
    status: int


class FaultInjector:
    """Decides, from a seed and the current config, what happens to each API request.

    Thread-safe: the admin API may reconfigure it while requests are in flight.
    """

    def __init__(
        self,
        seed: int,
        config: FaultConfig | None = None,
        *,
        on_revoke: Callable[[], object] | None = None,
    ) -> None:
        self.seed = seed
        self.config = replace(config) if config is not None else FaultConfig()
        # The app wires this to `TokenIssuer.revoke_all`.
        self.on_revoke = on_revoke
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._counts = dict.fromkeys(("requests", *COUNTED), 0)

    def configure(self, config: FaultConfig, *, seed: int | None = None) -> None:
        """Swap the config at run time; with `seed`, also restart the random sequence."""
        with self._lock:
            self.config = replace(config)
            if seed is not None:
                self.seed = seed
                self._rng = random.Random(seed)

    def counters(self) -> dict[str, int]:
        """How many API requests were seen and how many of each fault was injected."""
        with self._lock:
            return dict(self._counts)

    def plan(self) -> _Plan:
        """Draw the fate of the next API request and count it."""
        with self._lock:
            cfg = self.config
            u_slow, u_fault, u_status = (self._rng.random() for _ in range(3))
            slow = u_slow < cfg.slow
            fault = None
            edge = 0.0
            for name in EXCLUSIVE_FAULTS:
                edge += getattr(cfg, name)
                if u_fault < edge:
                    fault = name
                    break
            self._counts["requests"] += 1
            if slow:
                self._counts["slow"] += 1
            if fault:
                self._counts[fault] += 1
        return _Plan(cfg, slow, fault, ERROR_STATUSES[int(u_status * len(ERROR_STATUSES))])


def _error_response(status: int) -> Response:
    if status in (502, 504):
        # What a load balancer in front of the API sends when the backend is gone or slow:
        # HTML, not JSON, which a client must not try to parse as a Zoom error.
        title = {502: "502 Bad Gateway", 504: "504 Gateway Time-out"}[status]
        html = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
        )
        return HTMLResponse(html, status_code=status)
    # Zoom's error envelope; the message text for server errors is not documented.
    message = {500: "Internal Server Error", 503: "Service Unavailable"}[status]
    return JSONResponse({"code": status, "message": message}, status_code=status)


def _rate_limited(omit_headers: bool) -> Response:
    # The storm does not know the route's label, so no Category/Limit headers are sent.
    headers = (
        {}
        if omit_headers
        else {"X-RateLimit-Type": "QPS", "X-RateLimit-Remaining": "0", "Retry-After": "1"}
    )
    return JSONResponse({"code": 429, "message": QPS_MESSAGE}, status_code=429, headers=headers)


def _strip_ratelimit_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = dict(message)
            message["headers"] = [
                (k, v)
                for k, v in message.get("headers", [])
                if not (k.lower().startswith(_STRIPPED_PREFIX) or k.lower() == _RETRY_AFTER)
            ]
        await send(message)

    return wrapped


async def _reset(send: Send) -> None:
    # Promise a body, send part of it, then fail: uvicorn closes the socket mid-body.
    # (Failing before `http.response.start` would make uvicorn answer a clean 500.)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"1024")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"page_size":', "more_body": True})
    raise InjectedConnectionReset("fault injection: connection reset mid-response")


class FaultMiddleware:
    """Applies the injector's plan to each API request before (or instead of) the app."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.injector.config.excludes(scope["path"]):
            await self.app(scope, receive, send)
            return
        plan = self.injector.plan()
        cfg = plan.config
        if plan.slow:
            await asyncio.sleep(cfg.slow_ms / 1000)
        response: Response | None = None
        if plan.fault == "error_5xx":
            response = _error_response(plan.status)
        elif plan.fault == "rate_429":
            response = _rate_limited(cfg.omit_ratelimit_headers)
        elif plan.fault == "reset":
            await _reset(send)
        elif plan.fault == "revoke_token" and self.injector.on_revoke is not None:
            self.injector.on_revoke()
        if response is not None:
            await response(scope, receive, send)
            return
        if cfg.omit_ratelimit_headers:
            send = _strip_ratelimit_headers(send)
        await self.app(scope, receive, send)
