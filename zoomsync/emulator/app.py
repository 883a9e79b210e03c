"""The emulator as one ASGI app: OAuth, the Zoom API under /v2, and the admin API.

    POST /oauth/token              Server-to-Server OAuth (oauth.py)
    GET  /v2/...                   Zoom's API (routes_*.py), rate-limited per label (limits.py)
    *    /_emulator/...            admin API: clock, faults, counters, mutations (admin.py)
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zoomsync.emulator.clock import Clock
from zoomsync.emulator.dataset import Dataset, DatasetConfig
from zoomsync.emulator.endpoints import ENDPOINTS
from zoomsync.emulator.faults import FaultConfig, FaultInjector, FaultMiddleware
from zoomsync.emulator.limits import RateLimiter
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS, Credentials, TokenIssuer
from zoomsync.emulator.paging import PageTokens
from zoomsync.emulator.responses import zoom_error
from zoomsync.emulator.routing import ROUTES, Ctx, ZoomHTTPError, match
from zoomsync.emulator.webhooks import WebhookSender

log = logging.getLogger("zoomsync.emulator")

ROUTE_MODULES = ("users", "meetings", "past", "reports", "webinars", "recordings", "metrics",
                 "account")
# Classic scopes a Server-to-Server app with read access to everything we sync is granted.
SCOPES = ["user:read:admin", "group:read:admin", "meeting:read:admin", "webinar:read:admin",
          "report:read:admin", "recording:read:admin", "dashboard:read:admin",
          "account:read:admin", "role:read:admin", "h323:read:admin"]


@dataclass
class EmulatorConfig:
    """Everything `zoomsync emulator` can be told."""

    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    plan: str = "pro"
    webinar_plan: bool = True  # False: every webinar endpoint answers 400 code 200, as on Zoom
    credentials: Credentials = DEFAULT_CREDENTIALS
    token_ttl: int = 3599
    latency_ms: int = 0
    base_url: str = "http://127.0.0.1:8765"
    webhook_url: str | None = None
    webhook_secret: str = "emu_webhook_secret_token"
    faults: FaultConfig = field(default_factory=FaultConfig)
    limits: dict[str, float] | None = None
    daily_cap: int | None = None
    start: datetime | None = None  # the clock's start; default: the dataset's anchor
    frozen_clock: bool = False


class Emulator:
    """The emulator's state and its ASGI app (`emulator.app`)."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = cfg = config or EmulatorConfig()
        for name in ROUTE_MODULES:
            importlib.import_module(f"zoomsync.emulator.routes_{name}")
        self.clock = Clock(cfg.start or cfg.dataset.anchor, frozen=cfg.frozen_clock)
        self.dataset = Dataset(cfg.dataset)
        self.issuer = TokenIssuer(self.clock, cfg.credentials, ttl=cfg.token_ttl,
                                  api_url=cfg.base_url, scopes=SCOPES)
        self.limiter = RateLimiter(self.clock, cfg.plan, limits=cfg.limits, daily_cap=cfg.daily_cap)
        self.page_tokens = PageTokens(hashlib.sha256(f"pages/{cfg.dataset.seed}".encode()).digest())
        self.faults = FaultInjector(cfg.dataset.seed, cfg.faults, on_revoke=self.issuer.revoke_all)
        self.webhooks = WebhookSender(self.clock, url=cfg.webhook_url,
                                      secret_token=cfg.webhook_secret)
        from zoomsync.emulator.admin import admin_routes

        inner = Starlette(routes=[
            Route("/oauth/token", self.issuer.token_endpoint, methods=["POST"]),
            *admin_routes(self),
            Route("/v2/{rest:path}", self.api, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
        ])
        self.app = FaultMiddleware(inner, self.faults)

    @property
    def account_id(self) -> str:
        return self.config.credentials.account_id

    async def api(self, request: Request) -> Response:
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        who = self.issuer.authenticate(request.headers.get("authorization"))
        if isinstance(who, Response):
            return who
        raw = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        raw = raw.split("?", 1)[0].removeprefix("/v2")
        found = match(raw, ROUTES) if request.method == "GET" else None
        if found is None:
            return zoom_error(404, 2300, "This API endpoint is not recognized.")
        template, raw_params = found
        decision = self.limiter.check(who, ENDPOINTS[template].label)
        if not decision.allowed:
            return JSONResponse(decision.body, status_code=429, headers=decision.headers)
        ctx = Ctx(emu=self, template=template, raw_params=raw_params,
                  query=dict(request.query_params), account_id=who, now=self.clock.now())
        try:
            with self.dataset.lock:
                result = ROUTES[template](ctx)
        except ZoomHTTPError as exc:
            return zoom_error(exc.status, exc.code, exc.message, headers=decision.headers)
        if isinstance(result, Response):
            result.headers.update(decision.headers)
            return result
        return JSONResponse(result, headers=decision.headers)
