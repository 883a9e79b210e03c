"""The webhook receiver: an ASGI app that checks Zoom's signature and spools each event.

    POST {path}     Zoom's event deliveries and its endpoint.url_validation challenge
    GET  /metrics   Prometheus text (metrics.py)

A request is acknowledged (204) only after its event is committed to the spool, so a crash
at any moment loses nothing acknowledged: Zoom re-sends what it did not see acknowledged,
and the spool recognises the re-sent event. Answers:

    204  event stored, or stored before: a re-delivery, or this exact signed request again
         (stored then, its answer lost in a crash; a replay stores nothing either way)
    200  url_validation answered
    400  not JSON, or no event/event_ts/payload, or a body no event can be (an event_ts
         beyond 64 bits, nesting too deep to read)           401  unsigned, forged or stale
    404  another path       405  another method              408  body too slow to arrive
    413  body over the size cap                              503  the spool could not be written
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from zoomsync.webhooks.metrics import Metrics
from zoomsync.webhooks.signature import url_validation_response, verify
from zoomsync.webhooks.spool import Outcome, Spool

log = logging.getLogger("zoomsync.webhooks")

DEFAULT_PATH = "/zoom/webhooks"


@dataclass(frozen=True)
class ReceiverConfig:
    """What the receiver checks: the secret token, freshness, size and time limits."""

    secret_token: SecretStr
    path: str = DEFAULT_PATH
    max_age: float = 300.0  # seconds a timestamp may be off, either way (Zoom: 5 minutes)
    max_body: int = 1_048_576  # bytes; Zoom's largest events are a few kilobytes
    # Zoom gives up on an answer after 3 s; a body still arriving after 2 s is not Zoom.
    read_timeout: float = 2.0


class _TooLarge(Exception):
    pass


class _Rejected(Exception):
    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.reason, self.detail = status, reason, detail


def make_app(config: ReceiverConfig, spool: Spool, *, metrics: Metrics | None = None,
             on_spooled: Callable[[], None] | None = None) -> Starlette:
    """The receiver as a Starlette app. `on_spooled` is called after each new event is stored
    (the in-process applier uses it to wake up)."""
    metrics = metrics or Metrics()

    async def receive(request: Request) -> Response:
        metrics.receive()
        try:
            return await _handle(request, config, spool, metrics, on_spooled)
        except _Rejected as rejected:
            metrics.reject(rejected.reason)
            client = request.client.host if request.client else "?"
            log.warning("webhook rejected: HTTP %s %s from %s: %s", rejected.status,
                        rejected.reason, client, rejected.detail)
            return JSONResponse({"error": rejected.detail}, status_code=rejected.status)

    async def scrape(request: Request) -> Response:
        text = await run_in_threadpool(metrics.render, spool)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    app = Starlette(routes=[Route(config.path, receive, methods=["POST"]),
                            Route("/metrics", scrape, methods=["GET"])])
    app.state.metrics = metrics
    return app


async def _handle(request: Request, config: ReceiverConfig, spool: Spool, metrics: Metrics,
                  on_spooled: Callable[[], None] | None) -> Response:
    body = await _body(request, config)
    timestamp = request.headers.get("x-zm-request-timestamp", "")
    signature = request.headers.get("x-zm-signature", "")
    if not timestamp or not signature:
        raise _Rejected(401, "unsigned", "x-zm-request-timestamp or x-zm-signature missing")
    secret = config.secret_token.get_secret_value()
    if not verify(secret, timestamp, body, signature):
        raise _Rejected(401, "forged", "x-zm-signature does not match the body")
    now = time.time()
    if not timestamp.isdigit() or abs(now - int(timestamp)) > config.max_age:
        raise _Rejected(401, "stale", f"x-zm-request-timestamp is more than "
                                      f"{config.max_age:g} s away from now")
    event = _parse(body)
    if event["event"] == "endpoint.url_validation":
        plain = event["payload"].get("plainToken")
        if not isinstance(plain, str) or not plain:
            raise _Rejected(400, "malformed", "endpoint.url_validation without plainToken")
        metrics.validated()
        return JSONResponse(url_validation_response(secret, plain))
    try:
        outcome = await run_in_threadpool(
            spool.accept, body, event=event["event"], event_ts=event["event_ts"],
            signature=signature, signature_expires=int(timestamp) + config.max_age, now=now)
    except Exception as exc:  # disk full, a locked or broken spool: let Zoom retry
        log.error("webhook spool write failed: %s", exc)
        return JSONResponse({"error": "spool unavailable"}, status_code=503)
    if outcome is Outcome.REPLAY:
        # This exact request was stored before (its signature is only remembered with its
        # event): if our 204 was lost to a crash, Zoom's retry must not be refused, and a
        # captured request sent again stores nothing. Either way: acknowledged.
        log.info("webhook: a signed request seen before, stored then; acknowledged again")
    if outcome is Outcome.SPOOLED and on_spooled is not None:
        on_spooled()
    return Response(status_code=204)


async def _body(request: Request, config: ReceiverConfig) -> bytes:
    """The raw body, refusing more than `max_body` bytes without reading them."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > config.max_body):
        raise _Rejected(413, "oversized", f"body over {config.max_body} bytes")

    async def read() -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > config.max_body:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        return await asyncio.wait_for(read(), config.read_timeout)
    except _TooLarge:
        raise _Rejected(413, "oversized", f"body over {config.max_body} bytes") from None
    except TimeoutError:
        raise _Rejected(408, "timeout", "body not received in time") from None


def _parse(body: bytes) -> dict[str, Any]:
    """The event, with the fields every Zoom event has, or a 400."""
    try:
        event = json.loads(body.decode("utf-8"))  # Zoom sends UTF-8; the spool stores text
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _Rejected(400, "malformed", "body is not JSON") from None
    except (ValueError, RecursionError):  # an integer of over 4,300 digits; deep nesting
        raise _Rejected(400, "malformed", "body is not JSON Zoom would send") from None
    if not isinstance(event, dict):
        raise _Rejected(400, "malformed", "body is not a JSON object")
    missing = [name for name, ok in (
        ("event", isinstance(event.get("event"), str) and bool(event.get("event"))),
        ("event_ts", isinstance(event.get("event_ts"), int)
         and not isinstance(event.get("event_ts"), bool)
         and 0 <= event["event_ts"] < 2**63),  # milliseconds; the spool holds 64 bits
        ("payload", isinstance(event.get("payload"), dict)),
    ) if not ok]
    if missing:
        raise _Rejected(400, "malformed", f"missing or invalid {', '.join(missing)}")
    return event
