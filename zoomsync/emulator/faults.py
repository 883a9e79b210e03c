"""Seeded fault injection, as pure ASGI middleware in front of the emulator's routes.

Each API request (HTTP, path not under `exclude_prefixes`) takes exactly three draws from
`random.Random(seed)`: one for "slow", one for the exclusive fault, one for the 5xx status.
The draws do not depend on the config, so for one seed request n always gets the same
numbers and a given config always turns them into the same faults. Concurrent requests
draw in the order they reach the middleware, so only sequential clients are reproducible.

Faults, decided in this order:
- revoke_every (counted, not drawn): every n-th API request since the config was set
  revokes every token first, so that request itself gets 401 code 124.
- slow (independent): sleep `slow_ms`, then carry on with whatever else was drawn.
- at most one of error_5xx, rate_429, reset, revoke_token (their rates must sum to <= 1).
- targets (matched, not drawn): a request whose path (and query) a `FaultTarget` matches
  gets the target's mode instead of a plain pass to the app. A drawn fault above answers
  first; the draws are taken whether or not a target matches, so adding targets does not
  shift which requests get the seeded faults.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zoomsync.emulator.limits import QPS_MESSAGE

EXCLUSIVE_FAULTS = ("error_5xx", "rate_429", "reset", "revoke_token")
RANDOM_FAULTS = ("slow", *EXCLUSIVE_FAULTS)
# Deterministic faults: how many requests a target answered or rewrote, and how many
# times revoke_every revoked the tokens.
DETERMINISTIC_FAULTS = ("targeted", "revoke_every")
COUNTED = (*RANDOM_FAULTS, *DETERMINISTIC_FAULTS)
ERROR_STATUSES = (500, 502, 503, 504)

_STRIPPED_PREFIX = b"x-ratelimit-"
_RETRY_AFTER = b"retry-after"

# Targeted modes, each a way a list endpoint or a partition has been seen to misbehave.
TARGET_MODES = ("repeat_token", "endless_tokens", "always_503", "not_json", "no_list_key",
                "repeat_rows")
# Modes that ask the app for page 1 whatever token the client sent.
_FIRST_PAGE = frozenset({"repeat_token", "endless_tokens"})
REPEAT_TOKEN = "emu-repeat-token"
_API_PREFIX = "/v2"


class InjectedConnectionReset(Exception):
    """Raised after a truncated response so the server drops the connection.

    Under uvicorn (h11), a client sees the status line and headers, then EOF before
    `Content-Length` bytes: httpx raises `httpx.RemoteProtocolError("peer closed connection
    without sending complete message body (received N bytes, expected M)")`. Through
    `httpx.ASGITransport` this exception itself reaches the caller.
    """


@dataclass(frozen=True)
class FaultTarget:
    """Answer requests whose path matches `path` (and whose query has every `query` item)
    with `mode` (one of TARGET_MODES).

    `path` is an `fnmatch` glob over the request path without its query string, tried with
    and without the `/v2` prefix: `/users`, `/v2/users` and `*/users` all match
    `GET /v2/users`. (`*` also crosses `/`.)
    """

    path: str
    mode: str
    # Left out of the hash: a dict is not hashable, and path and mode tell targets apart.
    query: dict[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.mode not in TARGET_MODES:
            raise ValueError(f"unknown fault target mode {self.mode!r}; "
                             f"use one of {', '.join(TARGET_MODES)}")
        if not self.path.startswith("/"):
            raise ValueError(f"fault target path {self.path!r} must start with /")
        # A copy, so the caller's dict cannot change a target after it was checked.
        object.__setattr__(self, "query", dict(self.query))

    def matches(self, path: str, query: dict[str, str]) -> bool:
        if not any(fnmatchcase(p, self.path) for p in _path_forms(path)):
            return False
        return all(query.get(k) == v for k, v in self.query.items())


def _path_forms(path: str) -> tuple[str, ...]:
    # Zoom documents its paths without the base URL's /v2; accept either spelling.
    if path == _API_PREFIX or path.startswith(_API_PREFIX + "/"):
        return (path, path[len(_API_PREFIX):] or "/")
    return (path,)


@dataclass
class FaultConfig:
    """Per-request probabilities of each fault (0 disables it), plus deterministic faults:
    `targets` for matching paths and `revoke_every` n-th request."""

    error_5xx: float = 0
    rate_429: float = 0
    reset: float = 0
    slow: float = 0
    slow_ms: int = 2000
    revoke_token: float = 0
    omit_ratelimit_headers: bool = False
    # Token minting and the admin API must keep working whatever the chaos settings.
    exclude_prefixes: tuple[str, ...] = ("/oauth", "/_emulator")
    targets: tuple[FaultTarget, ...] = ()
    revoke_every: int = 0

    def __post_init__(self) -> None:
        for name in RANDOM_FAULTS:
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
        if sum(getattr(self, name) for name in EXCLUSIVE_FAULTS) > 1:
            raise ValueError(f"{' + '.join(EXCLUSIVE_FAULTS)} must not exceed 1")
        if self.slow_ms < 0:
            raise ValueError("slow_ms must be >= 0")
        if isinstance(self.revoke_every, bool) or not isinstance(self.revoke_every, int):
            raise ValueError(f"revoke_every must be an integer, got {self.revoke_every!r}")
        if self.revoke_every < 0:
            raise ValueError(f"revoke_every must be >= 0, got {self.revoke_every}")
        self.exclude_prefixes = tuple(p.rstrip("/") for p in self.exclude_prefixes)
        self.targets = tuple(self.targets)
        for target in self.targets:
            # FaultTarget checks its own mode and path; this catches anything else passed in.
            if not isinstance(target, FaultTarget):
                raise ValueError(f"targets must be FaultTarget objects, got {target!r}")

    def target_for(self, path: str, query_string: bytes) -> FaultTarget | None:
        """The first target that matches the request, if any."""
        if not self.targets:
            return None
        query = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
        return next((t for t in self.targets if t.matches(path, query)), None)

    def excludes(self, path: str) -> bool:
        # Whole path segments only: "/oauth" covers "/oauth/token", not "/oauthx".
        return any(path == p or path.startswith(p + "/") for p in self.exclude_prefixes)


@dataclass(frozen=True)
class _Plan:
    config: FaultConfig
    slow: bool
    fault: str | None
    status: int
    revoke: bool = False  # revoke_every: this is the n-th request


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
        # API requests since the config was set: revoke_every counts from there.
        self._since_configure = 0

    def configure(self, config: FaultConfig, *, seed: int | None = None) -> None:
        """Swap the config at run time; with `seed`, also restart the random sequence.

        revoke_every starts counting again from the next request.
        """
        with self._lock:
            self.config = replace(config)
            self._since_configure = 0
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
            self._since_configure += 1
            revoke = cfg.revoke_every > 0 and self._since_configure % cfg.revoke_every == 0
            if slow:
                self._counts["slow"] += 1
            if fault:
                self._counts[fault] += 1
            if revoke:
                self._counts["revoke_every"] += 1
        status = ERROR_STATUSES[int(u_status * len(ERROR_STATUSES))]
        return _Plan(cfg, slow, fault, status, revoke)

    def count(self, name: str) -> None:
        """Count one deterministic fault the middleware applied (see DETERMINISTIC_FAULTS)."""
        with self._lock:
            self._counts[name] += 1


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
        # endless_tokens: a new token per page, numbered rather than random so that runs
        # (and their logs) are reproducible. next() on itertools.count is atomic.
        self._serial = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.injector.config.excludes(scope["path"]):
            await self.app(scope, receive, send)
            return
        plan = self.injector.plan()
        cfg = plan.config
        if plan.revoke and self.injector.on_revoke is not None:
            # Before anything else, so this very request meets the revoked token.
            self.injector.on_revoke()
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
        target = cfg.target_for(scope["path"], scope.get("query_string", b""))
        if target is None:
            # The usual path: the app's response streams through untouched.
            await self.app(scope, receive, send)
            return
        self.injector.count("targeted")
        await self._targeted(target.mode, scope, receive, send)

    async def _targeted(self, mode: str, scope: Scope, receive: Receive, send: Send) -> None:
        if mode == "always_503":
            await _error_response(503)(scope, receive, send)
            return
        if mode == "not_json":
            await HTMLResponse(_PORTAL_HTML)(scope, receive, send)
            return
        if mode in _FIRST_PAGE:
            scope = _without_page_token(scope)
        rewrite: Callable[[dict[str, Any]], dict[str, Any]] = {
            "repeat_token": _repeat_token,
            "endless_tokens": self._endless_page,
            "no_list_key": _without_lists,
            "repeat_rows": _repeated_rows,
        }[mode]
        await _rewrite_json(self.app, scope, receive, send, rewrite)

    def _endless_page(self, body: dict[str, Any]) -> dict[str, Any]:
        # Empty lists but always another page: a client that trusts the token never stops.
        page = {k: [] if isinstance(v, list) else v for k, v in body.items()}
        page["next_page_token"] = f"emu-endless-{next(self._serial):08d}"
        return page


# What a captive portal or a misconfigured proxy answers: 200, but a web page, not JSON.
_PORTAL_HTML = (
    "<!DOCTYPE html>\n<html>\n<head><title>Network Login</title></head>\n<body>\n"
    "<h1>Sign in to continue</h1>\n<p>This network requires you to sign in before you can "
    "reach the internet.</p>\n</body>\n</html>\n"
)


def _repeat_token(body: dict[str, Any]) -> dict[str, Any]:
    # What Zoom's spec served by a mock (Prism) does: the same token on every page.
    return {**body, "next_page_token": REPEAT_TOKEN}


def _repeated_rows(body: dict[str, Any]) -> dict[str, Any]:
    # A list that shifted while it was read: each page's first record again at its end.
    return {k: [*v, v[0]] if isinstance(v, list) and v and isinstance(v[0], dict) else v
            for k, v in body.items()}


def _without_lists(body: dict[str, Any]) -> dict[str, Any]:
    # The counts stay (total_records says there are rows) but the list key is gone.
    return {k: v for k, v in body.items() if not isinstance(v, list)}


def _without_page_token(scope: Scope) -> Scope:
    """`scope` with any `next_page_token` query parameter removed, so the app answers page 1.

    Works on the raw bytes so every other parameter reaches the app exactly as sent.
    """
    query = _drop_param(scope.get("query_string", b""), b"next_page_token")
    changed = {**scope, "query_string": query}
    raw_path = scope.get("raw_path")
    if raw_path and b"?" in raw_path:
        # httpx.ASGITransport puts the query string in raw_path too; keep the two agreeing.
        changed["raw_path"] = raw_path.split(b"?", 1)[0] + (b"?" + query if query else b"")
    return changed


def _drop_param(query: bytes, name: bytes) -> bytes:
    return b"&".join(p for p in query.split(b"&") if p and p.split(b"=", 1)[0] != name)


async def _rewrite_json(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    rewrite: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    """Run the app with its response held back, rewrite a 200 JSON object body, then send it.

    Anything else (an error, a non-JSON body) is sent on as the app made it: the fault is
    about what a successful list looks like, and the token check must still bite.
    """
    start: Message | None = None
    chunks: list[bytes] = []

    async def hold(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, hold)
    if start is None:
        return
    body = b"".join(chunks)
    if start["status"] == 200 and _is_json(start):
        body = _rewritten(body, rewrite)
    # The body's length changed, so the app's Content-Length would be wrong.
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode("latin-1")))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _is_json(start: Message) -> bool:
    return any(
        k.lower() == b"content-type" and v.lower().startswith(b"application/json")
        for k, v in start.get("headers", [])
    )


def _rewritten(body: bytes, rewrite: Callable[[dict[str, Any]], dict[str, Any]]) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict):
        return body
    # Serialised as Starlette's JSONResponse does, so only the rewritten fields differ.
    return json.dumps(rewrite(data), ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")
